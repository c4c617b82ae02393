/* Private to the secure engine (secure_*.c): the per-party weight provider.
 *
 * A party needs, for every linear layer, its replicated pair (W_i, W_{i+1})
 * in the GEMM's packed layout, handed out as cc_proto_weight (packed_self,
 * packed_next), and for every norm its pair as an arithmetic share.  Two
 * providers: share bundles streamed from disk (src/model loader; the planes
 * are used where the loader maps or expands them) and --synthetic (every
 * plane derived from public seeds into one reusable buffer pair:
 * identical computation and communication, meaningless output).  Resident
 * memory stays near a few weights, not the model. */
#ifndef CARACAL_SECURE_INTERNAL_H
#define CARACAL_SECURE_INTERNAL_H

#include "model.h"
#include "proto.h"

typedef struct cc_sweights cc_sweights;

cc_status cc_sweights_open_bundle(const char *path, int party, int frac_bits, bool verify,
                                  cc_sweights **out);
cc_status cc_sweights_open_synthetic(const cc_model_config *c, int party, unsigned f,
                                     cc_sweights **out);
void cc_sweights_close(cc_sweights *w);

const cc_model_config *cc_sweights_config(const cc_sweights *w);
unsigned cc_sweights_frac_bits(const cc_sweights *w);
/* Identity all parties must agree on (bundle content hash, or a hash of the
 * synthetic geometry). */
const uint8_t *cc_sweights_hash(const cc_sweights *w);

/* Layer -1 (embeddings), 0..n_layers-1, n_layers (final norm, LM head). */
cc_status cc_sweights_begin_layer(cc_sweights *w, int layer);
cc_status cc_sweights_end_layer(cc_sweights *w, int layer);
/* The linear weight `name` (canonical name, e.g. "layers.3.attn.q.weight")
 * as op(B) = K×N; valid until the next cc_sweights_linear call. */
cc_status cc_sweights_linear(cc_sweights *w, const char *name, cc_proto_weight *out);
/* op(B) shape of a linear tensor without preparing it. */
cc_status cc_sweights_linear_shape(cc_sweights *w, const char *name, size_t *K, size_t *N);
/* Columns [col0, col0 + ncols) only (col0 a multiple of the packed panel
 * width, cc_sweights_panel_cols()): big matrices (embedding, LM head) go
 * through in blocks so the buffers stay small.  Same validity as
 * cc_sweights_linear. */
size_t cc_sweights_panel_cols(void);
/* Column-block size (elements per plane) that suits this provider:
 * cache-sized for synthetic planes, which are expanded block by block and
 * consumed at once; whole tensors for bundle planes used in place. */
size_t cc_sweights_block_hint(const cc_sweights *w);
cc_status cc_sweights_linear_cols(cc_sweights *w, const char *name, size_t col0, size_t ncols,
                                  cc_proto_weight *out);
/* A vector (norm gain) as a share view, valid until end_layer. */
cc_status cc_sweights_vector(cc_sweights *w, const char *name, size_t n, cc_ashare *out);

/* Client <-> party job protocol (secure_session.c, secure_client.c). */
#define CC_JOB_MAGIC 0x4a524143u     /* "CARJ" */
#define CC_HELLO_MAGIC 0x48524143u   /* "CARH" */
#define CC_JOB_VERSION 1u
#define CC_JOB_MAX_POSITIONS 4096

typedef struct cc_wire_job {
    uint32_t magic, version, n_prompt, n_new, reveal, all_logits, approx, reserved;
} cc_wire_job;

typedef struct cc_wire_hello {
    uint32_t magic, vocab, dim, n_layers, f, reserved;
    uint8_t hash[CC_BUNDLE_HASH_BYTES];
} cc_wire_hello;

#endif
