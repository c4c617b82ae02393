/* Private: the secure GPT-2 and BERT forward passes on one party
 * (secure_gpt2.c, secure_bert.c), same shape as secure_llama.h.
 *
 * Both are built from the blocks of the "secure transformer" core below
 * (secure_gpt2.c): linear layers with bias, LayerNorm with gain and shift,
 * multi-head attention (causal with a KV cache, or bidirectional), the GeLU
 * feed-forward block, learned position rows.  Weights come from cc_sweights
 * (bundles or synthetic seeds) one matrix at a time. */
#ifndef CARACAL_SECURE_ARCH_H
#define CARACAL_SECURE_ARCH_H

#include "nn.h"
#include "secure_blocks.h"
#include "secure_internal.h"
#include "secure_llama.h"   /* cc_secure_progress */

/* Synthetic benchmark geometries (PUMA's workloads): "gpt2-base" (12 layers,
 * 768, 12 heads, 3072, vocab 50257, 1024 positions, tied head) and
 * "bert-base" (12 layers, 768, 12 heads, 3072, vocab 30522, 512 positions,
 * 2 token types, 2 classes). */
cc_model_config cc_config_gpt2_base(void);
cc_model_config cc_config_bert_base(void);

/* ---- GPT-2 (pre-LayerNorm, GeLU, learned positions, causal, tied head) ---- */
typedef struct cc_secure_gpt2 cc_secure_gpt2;

/* Activations for max_batch positions and a KV cache of max_seq positions
 * (max_seq ≤ the model's position table) are allocated here, once. */
cc_status cc_secure_gpt2_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                                int max_batch, cc_secure_gpt2 **out);
void cc_secure_gpt2_free(cc_secure_gpt2 *m);
void cc_secure_gpt2_on_progress(cc_secure_gpt2 *m, cc_secure_progress fn, void *ctx);
int cc_secure_gpt2_pos(const cc_secure_gpt2 *m);
/* Feeds n one-hot rows (n × vocab share, integer 1 at the token) at the next
 * n positions, extending the KV cache; writes the logits of the last
 * out_rows positions (out_rows × vocab share, caller-allocated). */
cc_status cc_secure_gpt2_forward(cc_secure_gpt2 *m, const cc_ashare *onehot, int n,
                                 int out_rows, cc_ashare *logits);

/* ---- BERT (post-LayerNorm, GeLU, token types, bidirectional, classifier) -- */
typedef struct cc_secure_bert cc_secure_bert;

/* Sequences of up to max_seq tokens (≤ the model's position table); the
 * model must have a classifier head (n_classes > 0). */
cc_status cc_secure_bert_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                                cc_secure_bert **out);
void cc_secure_bert_free(cc_secure_bert *m);
void cc_secure_bert_on_progress(cc_secure_bert *m, cc_secure_progress fn, void *ctx);
/* Encodes one sequence of n tokens: onehot is n × vocab, type_onehot is
 * n × type_vocab_size (one-hot token types from the client) or NULL (every
 * token has type 0, a public fact).  Writes the classifier logits computed
 * from the pooled first token into class_logits (n_classes share). */
cc_status cc_secure_bert_forward(cc_secure_bert *m, const cc_ashare *onehot,
                                 const cc_ashare *type_onehot, int n, cc_ashare *class_logits);

/* tanh on shares (BERT's pooler):
 *   tanh(x) = sign(x) · (1 - u) / (1 + u),  u = exp(-2|x|) = exp(-|x|)^2
 * exp on the non-positive input -|x| (the domain of cc_nn_exp), one squaring,
 * one reciprocal of 1 + u ∈ [1, 2], sign restored by a select.  Measured
 * max |error| against libm on [-8, 8] (tests/cli/test_secure_gpt2_bert.c):
 * 0.0069 with the puma set, 0.00013 with precise.
 * out must not alias x. */
cc_status cc_secure_tanh(cc_proto *p, const cc_nn_cfg *nn, const cc_ashare *x, cc_ashare *out);

/* ---- the shared core (secure_gpt2.c) ---------------------------------------- */
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
    size_t linear_block;   /* weights above this many elements go in column blocks */
    cc_secure_progress progress;
    void *progress_ctx;
} cc_sxf;

cc_status cc_sxf_init(cc_sxf *m, cc_proto *p, cc_sweights *w, cc_approx approx, cc_arch arch,
                      int max_seq, int max_batch);
void cc_sxf_free(cc_sxf *m);
/* cc_sweights_vector / _begin_layer booked under the "weights" tag. */
cc_status cc_sxf_vector(cc_sxf *m, const char *name, size_t n, cc_ashare *out);
cc_status cc_sxf_begin_layer(cc_sxf *m, int layer);
/* out (n × N) = x·W, truncated by f (fxp) or exact, booked under `tag`;
 * big weights in column blocks (see linear_block).  *n_out = N if non-NULL. */
cc_status cc_sxf_matmul(cc_sxf *m, const char *tag, const char *wname, const cc_ashare *x,
                        size_t n, bool fxp, cc_ashare *out, size_t *n_out);
/* out = x·W + b for n rows (W: "<prefix>.weight", b: "<prefix>.bias"). */
cc_status cc_sxf_linear(cc_sxf *m, const char *prefix, const cc_ashare *x, size_t n,
                        cc_ashare *out);
/* out = LayerNorm(x) · "<prefix>.weight" + "<prefix>.bias"; out ≠ x. */
cc_status cc_sxf_layernorm(cc_sxf *m, const char *prefix, const cc_ashare *x, size_t n,
                           cc_ashare *out);
/* x[r] += row (pos0 + r) of the public-indexed table "embed.positions". */
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
