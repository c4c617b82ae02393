/* Private: building blocks shared by the secure LLaMA, GPT-2 and BERT
 * engines (secure_llama.c, secure_gpt2.c, secure_bert.c). */
#ifndef CARACAL_SECURE_BLOCKS_H
#define CARACAL_SECURE_BLOCKS_H

#include "nn.h"
#include "secure_internal.h"

/* The first `rows` rows of a row-major activation buffer (a view). */
cc_ashare cc_sblk_rows(const cc_ashare *t, size_t rows, size_t cols);

/* The checks every decoder step makes: n_in new positions fit the
 * allocation, out_rows logits rows are 1..n_in, the tensors have the sizes
 * of n_in one-hot rows and out_rows logits rows over `vocab`. */
cc_status cc_sblk_check_step(const char *engine, int n_in, int out_rows, int pos, int max_batch,
                             int max_seq, size_t vocab, const cc_ashare *onehot,
                             const cc_ashare *logits);

/* Weights above this many elements per plane are applied in column blocks:
 * the provider's hint (cache-sized for seed-expanded planes, whole tensors
 * for planes used in place), or CARACAL_LINEAR_BLOCK_ELEMS (tests). */
size_t cc_sblk_linear_block(cc_sweights *w);

/* outs[j] (n × N_j) = x (n × K) · W_j for `count` weights of the same input
 * (Q, K, V; gate and up), truncated once by f (fxp: fixed-point activations)
 * or exact (one-hot rows × embedding): ONE protocol call for the group,
 * booked under `tag` (weight access under "weights").  A weight above
 * `block` elements per plane goes through in column blocks of whole packed
 * panels, each block's local terms computed while its planes are in cache;
 * the communication is the same as for whole weights. */
#define CC_SBLK_GROUP_MAX 4
cc_status cc_sblk_matmul_group(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                               const char *const *names, size_t count, const cc_ashare *x,
                               size_t n, bool fxp, cc_ashare *const *outs);
/* The group of one; *n_out = N if non-NULL. */
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
