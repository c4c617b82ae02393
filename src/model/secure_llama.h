/* Private: the secure LLaMA forward pass on one party (secure_llama.c). */
#ifndef CARACAL_SECURE_LLAMA_H
#define CARACAL_SECURE_LLAMA_H

#include "nn.h"
#include "secure_internal.h"

typedef struct cc_secure_llama cc_secure_llama;

/* Called after each layer (-1 = embedding, n_layers = head) with the wall
 * time the layer took; used for progress output. */
typedef void (*cc_secure_progress)(void *ctx, int layer, int n_layers, double seconds);

/* Everything (activations for max_batch positions, a KV cache of max_seq
 * positions) is allocated here, once. */
cc_status cc_secure_llama_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                                 int max_batch, cc_secure_llama **out);
void cc_secure_llama_free(cc_secure_llama *m);
void cc_secure_llama_on_progress(cc_secure_llama *m, cc_secure_progress fn, void *ctx);
int cc_secure_llama_pos(const cc_secure_llama *m);

/* Feeds n one-hot rows (n × vocab arithmetic share, integer 1 at the token)
 * at the next n positions, extending the KV cache.  Writes logits for the
 * last `out_rows` positions (1 ≤ out_rows ≤ n) into logits (out_rows ×
 * vocab share, caller-allocated). */
cc_status cc_secure_llama_forward(cc_secure_llama *m, const cc_ashare *onehot, int n,
                                  int out_rows, cc_ashare *logits);

#endif
