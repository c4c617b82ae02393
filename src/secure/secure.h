/* secure — the transformer forward pass on replicated shares, one party's
 * side: where a party's weight shares come from (weight providers) and the
 * LLaMA, GPT-2 and BERT engines behind one interface.
 *
 * Weight providers: share bundles streamed from disk (src/bundle; planes are
 * used where the loader maps or expands them), or synthetic planes derived
 * from public seeds (identical computation and communication, meaningless
 * output).  Both are one implementation table each (secure_impl.h); an
 * engine never asks which one it has.  Resident memory stays near a few
 * weights, not the model.
 *
 * Engines: every step is a whole-tensor protocol call over all positions and
 * heads at once, so the number of rounds does not grow with sequence length
 * or head count (docs/PROTOCOLS.md lists each call's rounds and bytes). */
#ifndef CARACAL_SECURE_H
#define CARACAL_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bundle.h"
#include "model.h"
#include "nn.h"
#include "proto.h"

/* ---- weight providers ------------------------------------------------------ */

typedef struct cc_sweights cc_sweights;

/* `path`: a bundle directory or party file; the bundle must be for `party`
 * and use f = frac_bits (-1: the bundle's); with `expect`, its files must
 * still be the ones validated earlier (cc_bundle_open_options.expect). */
cc_status cc_sweights_open_bundle(const char *path, int party, int frac_bits, bool verify,
                                  const cc_bundle_identity *expect, cc_sweights **out);
/* Synthetic planes for geometry c, f fractional bits. */
cc_status cc_sweights_open_synthetic(const cc_model_config *c, int party, unsigned f,
                                     cc_sweights **out);
void cc_sweights_close(cc_sweights *w);
/* Weights opened once and used for job after job (a serving party): call
 * before each job.  Releases a layer an earlier, failed job left held, and
 * checks the provider's files are still the ones opened and validated (a
 * bundle replaced, truncated or rewritten since is an error naming the file:
 * restart the party to serve it). */
cc_status cc_sweights_job_begin(cc_sweights *w);

const cc_model_config *cc_sweights_config(const cc_sweights *w);
unsigned cc_sweights_frac_bits(const cc_sweights *w);
/* Identity all parties must agree on (bundle content hash, or a hash of the
 * synthetic geometry). */
const uint8_t *cc_sweights_hash(const cc_sweights *w);

/* A weight looked up once, when an engine is created: its canonical name
 * (for messages), its layer, its shape and where the provider finds it.
 * Linear weights have op(B) = K×N in the GEMM's packed layout; vectors
 * (norm gains, biases, tables read by public index) have K = 1, N elements. */
typedef struct cc_wref {
    char name[CC_TENSOR_NAME_MAX];
    int layer;
    bool linear;
    size_t K, N;
    uint64_t slot;         /* the provider's own locator */
} cc_wref;

/* Resolves `name` (a printf format) as a linear weight or a vector: a
 * missing tensor or a wrong kind is an error naming it, at creation time,
 * not in the middle of a pass. */
cc_status cc_sweights_ref(cc_sweights *w, bool linear, cc_wref *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Layer -1 (embeddings), 0..n_layers-1, n_layers (final norm, LM head):
 * a weight is available between begin and end of its layer. */
cc_status cc_sweights_begin_layer(cc_sweights *w, int layer);
cc_status cc_sweights_end_layer(cc_sweights *w, int layer);
/* The whole linear weight as the protocol's (W_i, W_{i+1}) pair; valid until
 * the next linear call. */
cc_status cc_sweights_linear(cc_sweights *w, const cc_wref *r, cc_proto_weight *out);
/* Columns [col0, col0 + ncols) only (col0 a multiple of
 * cc_sweights_panel_cols()): big matrices go through in blocks so the
 * buffers stay small.  Same validity as cc_sweights_linear. */
cc_status cc_sweights_linear_cols(cc_sweights *w, const cc_wref *r, size_t col0, size_t ncols,
                                  cc_proto_weight *out);
size_t cc_sweights_panel_cols(void);
/* Column-block size (elements per plane) that suits this provider:
 * cache-sized for synthetic planes, which are expanded block by block and
 * consumed at once; whole tensors for bundle planes used in place. */
size_t cc_sweights_block_hint(const cc_sweights *w);
/* A vector as a share view, valid until end_layer. */
cc_status cc_sweights_vector(cc_sweights *w, const cc_wref *r, cc_ashare *out);

/* ---- engines ----------------------------------------------------------------- */

typedef struct cc_engine cc_engine;

/* Called after each layer (-1 = embedding, n_layers = head) with the wall
 * time the layer took; used for progress output. */
typedef void (*cc_secure_progress)(void *ctx, int layer, int n_layers, double seconds);

/* The engine of the provider's architecture.  Everything (activations for
 * max_batch positions, a KV cache of max_seq positions, every weight
 * reference) is allocated and resolved here, once.  An encoder (BERT) takes
 * whole sequences of up to max_seq tokens and ignores max_batch. */
cc_status cc_engine_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                           int max_batch, cc_engine **out);
void cc_engine_free(cc_engine *e);
void cc_engine_on_progress(cc_engine *e, cc_secure_progress fn, void *ctx);
/* Causal decoders with a KV cache (LLaMA, GPT-2) can serve generation jobs;
 * encoders (BERT) classify whole sequences. */
bool cc_engine_generates(const cc_engine *e);
/* Positions already in the KV cache (decoders; 0 for encoders). */
int cc_engine_pos(const cc_engine *e);

/* Decoders: feeds n one-hot rows (n × vocab share, integer 1 at the token)
 * at the next n positions, extending the KV cache, and writes the logits of
 * the last out_rows positions (out_rows × vocab share, caller-allocated);
 * type_onehot must be NULL.
 * Encoders: encodes the n tokens as one sequence (type_onehot: n ×
 * type_vocab_size one-hot token types from the client, or NULL: every token
 * has type 0, a public fact), out_rows = 1, and writes the classifier
 * logits computed from the pooled first token (n_classes share). */
cc_status cc_engine_forward(cc_engine *e, const cc_ashare *onehot, const cc_ashare *type_onehot,
                            int n, int out_rows, cc_ashare *out);

#endif
