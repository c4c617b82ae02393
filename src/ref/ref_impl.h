/* ref (private) — the plaintext reference model's state and its float
 * building blocks. */
#ifndef CARACAL_REF_IMPL_H
#define CARACAL_REF_IMPL_H

#include "ref.h"

/* Borrowed pointers into cc_model_weights; biases and LayerNorm shifts are
 * NULL for LLaMA. */
typedef struct ref_layer {
    const float *attn_norm_w, *attn_norm_b;
    const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
    const float *ffn_norm_w, *ffn_norm_b;
    const float *w_gate, *w_up, *b_up, *w_down, *b_down;
} ref_layer;

struct cc_ref_model {
    cc_model_config c;
    const float *tok_emb, *pos_emb, *type_emb, *emb_norm_w, *emb_norm_b;
    ref_layer *layers;
    const float *final_norm_w, *final_norm_b, *lm_head;
    const float *pooler_w, *pooler_b, *cls_w, *cls_b;

    int max_batch;   /* rows per forward call */
    /* Activations, allocated once: rows are positions of the current batch. */
    float *x;        /* [B][d]  residual stream */
    float *xb;       /* [B][d]  normed input / block output */
    float *xb2;      /* [B][d]  attention output before wo */
    float *q;        /* [B][d] */
    float *att;      /* [B][S]  attention scores of one head */
    float *hb, *hb2; /* [B][hidden] */
    float *pooled;   /* [d] */
    /* KV cache [layer][S][kv_dim]; BERT uses it for the current sequence. */
    float *key_cache, *value_cache;
    /* RoPE tables [S][head_size/2] (public: positions only). */
    float *rope_cos, *rope_sin;
};

/* out[n][out_dim] = in[n][in_dim] · Wᵀ (+ bias), W is [out_dim][in_dim].
 * `ldo` is the row stride of out. */
void ref_linear(float *out, int ldo, const float *in, int n, int in_dim,
                const float *W, const float *bias, int out_dim);
void ref_rmsnorm(float *out, const float *x, const float *w, int n, int dim, float eps);
void ref_layernorm(float *out, const float *x, const float *w, const float *b, int n, int dim,
                   float eps);
void ref_softmax(float *x, int len);
float ref_gelu_tanh(float x);
float ref_gelu_erf(float x);
float ref_silu(float x);

#endif
