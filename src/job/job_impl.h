/* job (private) — the wire messages of the job protocol and their checks
 * (wire.c), shared by the party session (job_party.c) and the client
 * (job_client.c).
 *
 * On the client links, all fields public (sizes, modes, hashes; nothing
 * secret):
 *   client -> party   job     cc_wire_job
 *   party  -> client  hello   cc_wire_hello (model geometry, f, weights hash)
 *   then per forward step: the client's one-hot rows (cc_proto_client_input),
 *   the parties' revealed outputs (cc_proto_reveal_client): one token id in
 *   token mode, logits rows otherwise;
 *   party  -> client  report  cc_party_report.
 * Between the parties, after the job and before the hello:
 *   party  -> peers   agree   cc_wire_agree (weights hash, job hash)
 * Messages are the structs' bytes, little-endian (every field is a fixed-size
 * integer).  Prompt tokens never reach a party in the clear. */
#ifndef CARACAL_JOB_IMPL_H
#define CARACAL_JOB_IMPL_H

#include <stdint.h>
#include "bundle.h"
#include "job.h"

#define CC_JOB_MAGIC 0x4a524143u     /* "CARJ" */
#define CC_HELLO_MAGIC 0x48524143u   /* "CARH" */
#define CC_AGREE_MAGIC 0x41524143u   /* "CARA" */
/* 2: the parties compare a job hash (cc_wire_agree), not the weights alone */
#define CC_JOB_VERSION 2u
#define CC_JOB_MAX_POSITIONS 4096

typedef struct cc_wire_job {
    uint32_t magic, version, n_prompt, n_new, reveal, all_logits, approx, reserved;
} cc_wire_job;

typedef struct cc_wire_hello {
    uint32_t magic, vocab, dim, n_layers, f, reserved;
    uint8_t hash[CC_BUNDLE_HASH_BYTES];
} cc_wire_hello;

/* What each party sends both peers before any secret is touched: they must
 * hold the same model and have received the same job. */
typedef struct cc_wire_agree {
    uint32_t magic, version;
    uint8_t weights[CC_BUNDLE_HASH_BYTES];
    uint8_t job[CC_BUNDLE_HASH_BYTES];     /* cc_wire_job_hash */
} cc_wire_agree;

/* BLAKE2b-256 of everything that shapes a run: the job's fields (prompt
 * length, n_new, reveal, all_logits, approx), the fixed-point f and the
 * weights hash, in a fixed little-endian layout. */
void cc_wire_job_hash(const cc_wire_job *job, unsigned f,
                      const uint8_t weights[CC_BUNDLE_HASH_BYTES],
                      uint8_t out[CC_BUNDLE_HASH_BYTES]);
/* "prompt 8, new 1, reveal token, all_logits 0, approx precise" */
void cc_wire_job_describe(const cc_wire_job *job, char *buf, size_t cap);

/* A job as a party receives it: magic, version and every field in range. */
cc_status cc_wire_job_check(const cc_wire_job *job);
/* A hello as the client receives it from party `from`. */
cc_status cc_wire_hello_check(const cc_wire_hello *h, int from);
/* A report as the client receives it: at most CC_REPORT_TAGS tags, every
 * tag NUL-terminated, so it can be printed as text. */
void cc_wire_report_sanitize(cc_party_report *r);

#endif
