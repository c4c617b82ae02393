/* Private: building blocks shared by the secure LLaMA, GPT-2 and BERT
 * engines (secure_llama.c, secure_gpt2.c, secure_bert.c). */
#ifndef CARACAL_SECURE_BLOCKS_H
#define CARACAL_SECURE_BLOCKS_H

#include "nn.h"
#include "secure_internal.h"

/* The first `rows` rows of a row-major activation buffer (a view). */
cc_ashare cc_sblk_rows(const cc_ashare *t, size_t rows, size_t cols);

/* Weights above this many elements per plane (embedding, LM head) are
 * applied in column blocks: the largest layer matrix of the model, or
 * CARACAL_LINEAR_BLOCK_ELEMS (tests use tiny blocks). */
size_t cc_sblk_linear_block(const cc_model_config *c);

/* out (n × N) = x (n × K) · W, truncated once by f (fxp: fixed-point
 * activations) or exact (one-hot rows × embedding), booked under `tag`;
 * weight access is booked under "weights".  A weight above `block` elements
 * per plane goes through in column blocks of whole packed panels: one
 * protocol call per block, the same bytes, a few more rounds, and weight
 * buffers that never grow past one layer matrix.  *n_out = N if non-NULL. */
cc_status cc_sblk_matmul(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                         const char *wname, const cc_ashare *x, size_t n, bool fxp,
                         cc_ashare *out, size_t *n_out);

/* Multi-head attention buffers, allocated once. */
typedef struct cc_sblk_attn {
    size_t heads, kv_heads, hs, max_batch, max_seq;
    cc_ashare qh, kh, vh, scores, probs, ctxh;   /* per-head operands */
    uint8_t *mask;                               /* causal mask */
} cc_sblk_attn;

cc_status cc_sblk_attn_init(cc_sblk_attn *a, size_t heads, size_t kv_heads, size_t hs,
                            size_t max_batch, size_t max_seq);
void cc_sblk_attn_free(cc_sblk_attn *a);

/* Scaled dot-product attention of n new positions (grouped-query when
 * kv_heads < heads), every head in each protocol call:
 *   append k, v (n × kv_heads·hs) to the caches kc, vc ([kv_head][max_seq][hs])
 *   at pos0; scores = Q_h · K_hᵀ over the T = pos0 + n cached positions (the
 *   1/√hs scale is the caller's, folded into q); probs = softmax (causal
 *   mask, or none); att (n × heads·hs) = probs · V_h. */
cc_status cc_sblk_attend(cc_proto *p, const cc_nn_cfg *nn, cc_sblk_attn *a, bool causal,
                         size_t pos0, size_t n, const cc_ashare *q, const cc_ashare *k,
                         const cc_ashare *v, cc_ashare *kc, cc_ashare *vc, cc_ashare *att);

#endif
