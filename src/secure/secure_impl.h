/* secure (private) — the provider and engine implementation tables, the
 * building blocks the engines share (secure_blocks.c) and the GPT-2/BERT
 * transformer core (secure_xf.c). */
#ifndef CARACAL_SECURE_IMPL_H
#define CARACAL_SECURE_IMPL_H

#include "secure.h"

/* ---- weight providers: one table per provider ---------------------------------
 * ref() fills r's layer, K, N and slot from r->name and r->linear (an error
 * names a missing tensor); linear_planes() hands out `elems` elements of
 * both planes from packed offset `off` (as packed_self/packed_next, or as
 * the PRG streams the GEMM generates them from), vector_planes() a whole
 * vector, valid until the next call / end of layer. */
typedef struct cc_sweights_impl {
    const char *name;
    cc_status (*ref)(cc_sweights *w, cc_wref *r);
    cc_status (*begin_layer)(cc_sweights *w, int layer);
    cc_status (*end_layer)(cc_sweights *w, int layer);
    cc_status (*linear_planes)(cc_sweights *w, const cc_wref *r, size_t off, size_t elems,
                               cc_proto_weight *out);
    cc_status (*vector_planes)(cc_sweights *w, const cc_wref *r, const uint64_t **self,
                               const uint64_t **next);
    void (*close)(cc_sweights *w);   /* releases state, not w */
    /* Optional: the provider's backing is still what was opened (files
     * not replaced, truncated or rewritten); see cc_sweights_job_begin. */
    cc_status (*check)(const cc_sweights *w);
    size_t block_hint;
} cc_sweights_impl;

#define CC_SWEIGHTS_NO_LAYER (-1000)

struct cc_sweights {
    const cc_sweights_impl *impl;
    void *state;                     /* the provider's own */
    cc_model_config config;
    unsigned f;
    int party;
    int layer;                       /* begun layer, or CC_SWEIGHTS_NO_LAYER */
    uint8_t hash[CC_BUNDLE_HASH_BYTES];
};

/* A provider shell for `impl` (state and hash are the caller's to fill). */
cc_status cc_sweights_new(const cc_sweights_impl *impl, const cc_model_config *c, int party,
                          unsigned f, cc_sweights **out);

/* ---- engines: one table per architecture ---------------------------------------- */
typedef struct cc_engine_impl {
    cc_arch arch;
    bool generates;
    cc_status (*create)(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                        int max_batch, void **out);
    cc_status (*forward)(void *m, const cc_ashare *onehot, const cc_ashare *type_onehot, int n,
                         int out_rows, cc_ashare *out);
    int (*pos)(const void *m);
    void (*on_progress)(void *m, cc_secure_progress fn, void *ctx);
    void (*free)(void *m);
} cc_engine_impl;

extern const cc_engine_impl cc_engine_llama, cc_engine_gpt2, cc_engine_bert;

/* ---- building blocks (secure_blocks.c) ------------------------------------------ */

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

/* Looks a weight up at engine creation (cc_sweights_ref) and checks its
 * shape: K×N for a linear weight, K = 1 and N elements for a vector. */
cc_status cc_sblk_ref(cc_sweights *w, cc_wref *r, bool linear, size_t K, size_t N,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* outs[j] (n × N_j) = x (n × K) · W_j for `count` weights of the same input
 * (Q, K, V; gate and up), truncated once by f (fxp: fixed-point activations)
 * or exact (one-hot rows × embedding): ONE protocol call for the group,
 * booked under `tag` (weight access under "weights").  A weight above
 * `block` elements per plane goes through in column blocks of whole packed
 * panels, each block's local terms computed while its planes are in cache;
 * the communication is the same as for whole weights. */
#define CC_SBLK_GROUP_MAX 4
cc_status cc_sblk_matmul_group(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                               const cc_wref *const *weights, size_t count, const cc_ashare *x,
                               size_t n, bool fxp, cc_ashare *const *outs);
/* The two halves of cc_sblk_matmul_group, for a local linear step on the
 * products between them (LLaMA's RoPE).  _terms allocates *terms (cc_free)
 * and writes this party's 3-out-of-3 terms of every x·W_j at 2f fractional
 * bits, weight j's n × N_j block (row-major) after those of weights < j;
 * no communication.  _finish turns them into outs[j] in ONE protocol call
 * booked under `tag`: truncated by shift[j] per weight (one truncation
 * protocol, cc_proto_trunc_terms_seg) when shift is given, else as
 * cc_sblk_matmul_group does (by f when fxp, reshared exactly otherwise). */
cc_status cc_sblk_group_terms(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                              const cc_wref *const *weights, size_t count, const cc_ashare *x,
                              size_t n, uint64_t **terms);
cc_status cc_sblk_group_finish(cc_proto *p, const char *tag, const uint64_t *terms,
                               const cc_wref *const *weights, size_t count, size_t n, bool fxp,
                               const unsigned *shift, cc_ashare *const *outs);
/* The group of one. */
cc_status cc_sblk_matmul(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                         const cc_wref *weight, const cc_ashare *x, size_t n, bool fxp,
                         cc_ashare *out);

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

/* ---- the GPT-2 / BERT transformer core (secure_xf.c) -----------------------------
 * Linear layers with bias, LayerNorm with gain and shift, multi-head
 * attention (causal with a KV cache, or bidirectional), the GeLU
 * feed-forward block, learned position rows. */

/* A linear layer with bias, a LayerNorm's gain and shift. */
typedef struct cc_sxf_linear_w { cc_wref w, b; } cc_sxf_linear_w;
typedef struct cc_sxf_norm_w { cc_wref g, b; } cc_sxf_norm_w;

/* One block's weights, looked up once. */
typedef struct cc_sxf_layer {
    cc_sxf_norm_w attn_norm, ffn_norm;
    cc_sxf_linear_w q, k, v, o, up, down;
} cc_sxf_layer;

typedef struct cc_sxf {
    cc_proto *p;
    cc_sweights *w;
    cc_model_config c;
    cc_nn_cfg nn;
    bool causal;                 /* GPT-2: causal + KV cache; BERT: bidirectional */
    int max_seq, max_batch, pos;
    size_t d, hs, heads, hidden, vocab;
    /* q scaling: q = (x·Wq + bq) · q_mul / 2^(f + q_shift) ≈ (x·Wq + bq)/√hs */
    uint64_t q_mul;
    unsigned q_shift;
    /* activations, max_batch rows each */
    cc_ashare x, xb, q, k, v, att, o, up, act;
    cc_sblk_attn attn;                           /* per-head attention tensors */
    cc_ashare *k_cache, *v_cache;                /* [cache layer]: [head][max_seq][hs] */
    int cache_layers;                            /* n_layers (causal) or 1 */
    cc_wref tokens, positions;                   /* embedding tables */
    cc_sxf_layer *layers;                        /* [n_layers] */
    size_t linear_block;   /* weights above this many elements go in column blocks */
    cc_secure_progress progress;
    void *progress_ctx;
} cc_sxf;

cc_status cc_sxf_init(cc_sxf *m, cc_proto *p, cc_sweights *w, cc_approx approx, cc_arch arch,
                      int max_seq, int max_batch);
void cc_sxf_free(cc_sxf *m);
/* Weight lookups for the engines' own extra tensors: "<prefix>.weight" K×N
 * and "<prefix>.bias" N; a norm's "<prefix>.weight" and "<prefix>.bias" (d). */
cc_status cc_sxf_ref_linear(cc_sxf *m, cc_sxf_linear_w *lin, size_t K, size_t N,
                            const char *prefix);
cc_status cc_sxf_ref_norm(cc_sxf *m, cc_sxf_norm_w *norm, const char *prefix);
/* Weight access, booked under the "weights" tag. */
cc_status cc_sxf_begin_layer(cc_sxf *m, int layer);
cc_status cc_sxf_end_layer(cc_sxf *m, int layer);
cc_status cc_sxf_vector(cc_sxf *m, const cc_wref *r, cc_ashare *out);
/* out (n × N) = x·W, truncated by f (fxp) or exact, booked under `tag`. */
cc_status cc_sxf_matmul(cc_sxf *m, const char *tag, const cc_wref *w, const cc_ashare *x,
                        size_t n, bool fxp, cc_ashare *out);
/* out = x·W + b for n rows. */
cc_status cc_sxf_linear(cc_sxf *m, const cc_sxf_linear_w *lin, const cc_ashare *x, size_t n,
                        cc_ashare *out);
/* out = LayerNorm(x) · g + b; out ≠ x. */
cc_status cc_sxf_layernorm(cc_sxf *m, const cc_sxf_norm_w *norm, const cc_ashare *x, size_t n,
                           cc_ashare *out);
/* x[r] += row (pos0 + r) of the public-indexed position table. */
cc_status cc_sxf_add_positions(cc_sxf *m, cc_ashare *x, size_t n, size_t pos0);
/* Attention block of layer l on input `in` (n rows): Q, K, V with biases,
 * all heads at once, the output projection; result in m->o. */
cc_status cc_sxf_attention(cc_sxf *m, int l, const cc_ashare *in, size_t n);
/* Feed-forward block of layer l: down(gelu(up(in))) with biases, in m->o. */
cc_status cc_sxf_ffn(cc_sxf *m, int l, const cc_ashare *in, size_t n);
/* acc += delta (n rows of d). */
cc_status cc_sxf_residual(cc_sxf *m, cc_ashare *acc, const cc_ashare *delta, size_t n);
void cc_sxf_report(cc_sxf *m, int layer, uint64_t t0);

#endif
