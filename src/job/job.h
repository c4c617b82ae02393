/* job — one secure inference job between a client and the three parties:
 * the party session (receive the job, agree on the weights, run the engine,
 * reveal outputs to the client, report), the client that drives it, and the
 * wire messages of that protocol (docs/ARCHITECTURE.md, "Job protocol").
 * The parties run the forward pass on replicated shares; the client
 * secret-shares one-hot token rows and alone reconstructs outputs. */
#ifndef CARACAL_JOB_H
#define CARACAL_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bundle.h"
#include "model.h"
#include "net.h"

typedef enum cc_reveal_mode {
    CC_REVEAL_TOKEN = 0,   /* secure argmax; the client learns only the token id */
    CC_REVEAL_LOGITS = 1,  /* the client learns the last position's logits */
} cc_reveal_mode;

typedef struct cc_sweights cc_sweights;   /* src/secure: a party's weight shares */

/* How a compute party gets its weights and runs. */
typedef struct cc_secure_party_options {
    /* Weights the caller opened once and keeps for job after job (a serving
     * party: opening and validating 7B shares per job would cost minutes).
     * Borrowed, not closed.  Each job first checks the files behind them are
     * still the ones opened (cc_sweights_job_begin) and is refused naming
     * the file otherwise.  NULL: open `shares` or `synthetic` for this job. */
    cc_sweights *weights;
    const char *shares;                 /* bundle directory or party file ... */
    const cc_model_config *synthetic;   /* ... or, when shares is NULL, this geometry */
    int frac_bits;                      /* expected f (-1: the bundle's; synthetic: 18) */
    bool verify;                        /* check every tensor checksum at open */
    bool progress;                      /* per-layer progress lines on stderr */
    /* The most this party lets a client learn: CC_REVEAL_TOKEN (the default,
     * zero) refuses jobs that reveal logits (reveal mode or all_logits),
     * which tell the client far more about the weights than a token id. */
    cc_reveal_mode allow_reveal;
    /* With `shares`: non-NULL means the bundle's files must still be these
     * (recorded when the party validated them), else the job is refused. */
    const cc_bundle_identity *expect_bundle;
} cc_secure_party_options;

/* One party: open the weights (or check o->weights), serve one job from
 * the client, send it this party's report.  Before any secret is touched the job must be allowed by
 * allow_reveal and the three parties must agree on it: each sends both
 * peers its weights hash and a hash of the job as it received it (sizes,
 * modes, approximation set, f, weights), and any difference ends the run on
 * every party and the client. */
cc_status cc_secure_party_serve(cc_net *net, const cc_secure_party_options *o);

typedef struct cc_secure_request {
    const int *prompt;        /* token ids; BOS included by the caller */
    int n_prompt;
    int n_new;                /* tokens to generate (≥ 0) */
    cc_reveal_mode reveal;
    bool all_logits;          /* reveal the logits of every prompt position */
    int approx;               /* cc_approx of src/nn: 0 puma, 1 precise */
} cc_secure_request;

/* Per-party figures, sent to the client at the end of a job (all public:
 * sizes, counts and times). */
#define CC_REPORT_TAGS 24
typedef struct cc_party_report_tag {
    char tag[48];
    uint64_t calls, rounds, bytes_sent, bytes_recv, ns;
} cc_party_report_tag;
typedef struct cc_party_report {
    uint64_t wall_ns, prefill_ns, generate_ns;
    uint64_t bytes_sent, bytes_recv, rounds, peak_rss;
    uint32_t n_tags, insecure;
    cc_party_report_tag tags[CC_REPORT_TAGS];
} cc_party_report;

typedef struct cc_secure_result {
    int vocab;
    int tokens[1024];         /* generated ids (n_new of them, ≤ 1024) */
    int n_tokens;
    float *all_logits;        /* [n_prompt][vocab] when requested (free()) */
    float *last_logits;       /* [n_new][vocab] in logits mode (free()) */
    uint64_t ring_elems_received;  /* output elements the client received */
    double wall_s, prefill_s, generate_s;
    cc_party_report party[3];
} cc_secure_result;

/* The client side of one job over an open client link set. */
cc_status cc_secure_client_run(cc_client *c, const cc_secure_request *r, cc_secure_result *out);
void cc_secure_result_free(cc_secure_result *r);

#endif
