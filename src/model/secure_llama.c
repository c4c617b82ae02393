/* The secure LLaMA forward pass (DESIGN.md §6) on replicated shares.
 *
 * Reads like llama2.c's forward(): per layer, RMSNorm -> Q,K,V -> RoPE ->
 * causal grouped-query attention -> output projection -> residual, then
 * RMSNorm -> SwiGLU FFN -> residual; final RMSNorm and the LM head.  Every
 * step is a whole-tensor protocol call over all positions and heads at once,
 * so the number of rounds does not grow with sequence length or head count.
 * Weights come from cc_sweights one matrix at a time (streamed bundles or
 * synthetic seeds); activations and the KV cache are allocated once. */
#include "secure_llama.h"
#include "secure_blocks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct cc_secure_llama {
    cc_proto *p;
    cc_sweights *w;
    cc_model_config c;
    cc_nn_cfg nn;
    int max_seq, max_batch, pos;
    size_t d, kv, hs, hidden, vocab, heads, kv_heads;
    /* activations, max_batch rows each */
    cc_ashare x, xb, qk, q, k, v, att, o, gate, up, ffn;
    cc_sblk_attn attn;                             /* per-head attention tensors */
    cc_ashare *k_cache, *v_cache;                  /* [layer]: [kv_head][max_seq][hs] */
    uint64_t *rope_cos, *rope_sin;                 /* [max_seq][hs/2], fixed point */
    uint64_t *rope_cos_q, *rope_sin_q;             /* the same / sqrt(head size), for q */
    size_t linear_block;                           /* see cc_sblk_linear_block */
    cc_secure_progress progress;
    void *progress_ctx;
};

static uint64_t fxp(double v, unsigned f) { return (uint64_t)(int64_t)llround(v * (double)(1ull << f)); }

cc_status cc_secure_llama_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                                 int max_batch, cc_secure_llama **out)
{
    const cc_model_config *c = cc_sweights_config(w);
    if (c->arch != CC_ARCH_LLAMA)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure engine: model is %s, not llama",
                            cc_arch_name(c->arch));
    if (max_seq < 1 || max_batch < 1 || max_batch > max_seq)
        return cc_error_set(CC_ERR_ARG, "secure engine: bad max_seq %d / max_batch %d", max_seq,
                            max_batch);
    if (cc_sweights_frac_bits(w) != p->f)
        return cc_error_set(CC_ERR_MISMATCH, "weights use f = %u, the protocol f = %u",
                            cc_sweights_frac_bits(w), p->f);
    cc_secure_llama *m = cc_calloc(1, sizeof *m);
    if (!m) return CC_ERR_NOMEM;
    m->p = p;
    m->w = w;
    m->c = *c;
    m->nn = (cc_nn_cfg){ .f = p->f, .approx = approx };
    m->max_seq = max_seq;
    m->max_batch = max_batch;
    m->linear_block = cc_sblk_linear_block(w);
    m->d = (size_t)c->dim;
    m->kv = (size_t)cc_config_kv_dim(c);
    m->hs = (size_t)cc_config_head_size(c);
    m->hidden = (size_t)c->hidden_dim;
    m->vocab = (size_t)c->vocab_size;
    m->heads = (size_t)c->n_heads;
    m->kv_heads = (size_t)c->n_kv_heads;
    size_t B = (size_t)max_batch, S = (size_t)max_seq, L = (size_t)c->n_layers;
    cc_status s = CC_OK;
#define ALLOC(t, r, cl) if (s == CC_OK) s = cc_ashare_alloc_2d(&m->t, r, cl)
    ALLOC(x, B, m->d); ALLOC(xb, B, m->d); ALLOC(qk, B, m->d + m->kv);
    ALLOC(q, B, m->d); ALLOC(k, B, m->kv); ALLOC(v, B, m->kv);
    ALLOC(att, B, m->d); ALLOC(o, B, m->d);
    ALLOC(gate, B, m->hidden); ALLOC(up, B, m->hidden); ALLOC(ffn, B, m->hidden);
    if (s == CC_OK) s = cc_sblk_attn_init(&m->attn, m->heads, m->kv_heads, m->hs, B, S);
#undef ALLOC
    m->k_cache = cc_calloc(L, sizeof(cc_ashare));
    m->v_cache = cc_calloc(L, sizeof(cc_ashare));
    m->rope_cos = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_sin = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_cos_q = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_sin_q = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    if (s == CC_OK && (!m->k_cache || !m->v_cache || !m->rope_cos || !m->rope_sin ||
                      !m->rope_cos_q || !m->rope_sin_q))
        s = CC_ERR_NOMEM;
    for (size_t l = 0; s == CC_OK && l < L; l++) {
        s = cc_ashare_alloc_2d(&m->k_cache[l], m->kv_heads * S, m->hs);
        if (s == CC_OK) s = cc_ashare_alloc_2d(&m->v_cache[l], m->kv_heads * S, m->hs);
    }
    if (s != CC_OK) {
        cc_secure_llama_free(m);
        return s;
    }
    /* RoPE over pairs (2i, 2i+1) within each head: public tables. */
    double qscale = 1.0 / sqrt((double)m->hs);
    for (size_t pos = 0; pos < S; pos++)
        for (size_t i = 0; i < m->hs / 2; i++) {
            double freq = pow((double)c->rope_theta, -2.0 * (double)i / (double)m->hs);
            double ang = (double)pos * freq;
            m->rope_cos[pos * (m->hs / 2) + i] = fxp(cos(ang), p->f);
            m->rope_sin[pos * (m->hs / 2) + i] = fxp(sin(ang), p->f);
            m->rope_cos_q[pos * (m->hs / 2) + i] = fxp(cos(ang) * qscale, p->f);
            m->rope_sin_q[pos * (m->hs / 2) + i] = fxp(sin(ang) * qscale, p->f);
        }
    *out = m;
    return CC_OK;
}

void cc_secure_llama_free(cc_secure_llama *m)
{
    if (!m) return;
    cc_ashare *all[] = { &m->x, &m->xb, &m->qk, &m->q, &m->k, &m->v, &m->att, &m->o,
                         &m->gate, &m->up, &m->ffn };
    for (size_t i = 0; i < CC_ARRAY_LEN(all); i++) cc_ashare_free(all[i]);
    for (int l = 0; m->k_cache && l < m->c.n_layers; l++) {
        cc_ashare_free(&m->k_cache[l]);
        cc_ashare_free(&m->v_cache[l]);
    }
    cc_free(m->k_cache);
    cc_free(m->v_cache);
    cc_free(m->rope_cos);
    cc_free(m->rope_sin);
    cc_free(m->rope_cos_q);
    cc_free(m->rope_sin_q);
    cc_sblk_attn_free(&m->attn);
    cc_free(m);
}

void cc_secure_llama_on_progress(cc_secure_llama *m, cc_secure_progress fn, void *ctx)
{
    m->progress = fn;
    m->progress_ctx = ctx;
}

int cc_secure_llama_pos(const cc_secure_llama *m) { return m->pos; }

/* ---- building blocks ------------------------------------------------------ */

static cc_status linear(cc_secure_llama *m, const char *tag, const char *name, const cc_ashare *x,
                        size_t n, cc_ashare *out)
{
    return cc_sblk_matmul(m->p, m->w, m->linear_block, tag, name, x, n, true, out, NULL);
}

/* Independent projections of the same input (Q, K, V; gate and up) in ONE
 * truncation round. */
static cc_status linear_group(cc_secure_llama *m, const char *const *names, size_t count,
                              const cc_ashare *x, size_t n, cc_ashare *const *outs)
{
    return cc_sblk_matmul_group(m->p, m->w, m->linear_block, "matmul", names, count, x, n, true,
                                outs);
}

static cc_status rmsnorm(cc_secure_llama *m, const char *name, const cc_ashare *x, size_t n,
                         cc_ashare *out)
{
    cc_ashare g;
    CC_TRY(cc_sweights_vector(m->w, name, m->d, &g));
    cc_ashare xin = cc_sblk_rows(x, n, m->d), y = cc_sblk_rows(out, n, m->d);
    cc_proto_scope_begin(m->p, "norms");
    cc_status s = cc_nn_rmsnorm(m->p, &m->nn, n, m->d, &xin, &g, m->c.norm_eps, &y);
    cc_proto_scope_end(m->p);
    return s;
}

/* RoPE (public cos/sin) on q and k, with 1/sqrt(head size) folded into q's
 * tables: rotate locally at 2f fractional bits into qk = [q | k], then ONE
 * truncation for both (2 rounds instead of 4). */
static cc_status rope(cc_secure_llama *m, size_t n)
{
    size_t half = m->hs / 2, w = m->d + m->kv;
    for (int pl = 0; pl < 2; pl++)
        for (size_t r = 0; r < n; r++) {
            size_t t = ((size_t)m->pos + r) * half;
            const uint64_t *src[2] = { m->q.s[pl] + r * m->d, m->k.s[pl] + r * m->kv };
            const uint64_t *cs[2] = { m->rope_cos_q + t, m->rope_cos + t };
            const uint64_t *sn[2] = { m->rope_sin_q + t, m->rope_sin + t };
            size_t width[2] = { m->d, m->kv };
            uint64_t *dst = m->qk.s[pl] + r * w;
            for (int which = 0; which < 2; which++, dst += m->d)
                for (size_t j = 0; j < width[which]; j += 2) {
                    size_t i = (j % m->hs) / 2;
                    uint64_t a = src[which][j], b = src[which][j + 1];
                    uint64_t c = cs[which][i], s = sn[which][i];
                    dst[j] = a * c - b * s;
                    dst[j + 1] = a * s + b * c;
                }
        }
    cc_ashare qk = cc_sblk_rows(&m->qk, n, w);
    cc_proto_scope_begin(m->p, "rope");
    cc_status s = cc_proto_trunc(m->p, &qk, m->p->f, &qk);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    for (int pl = 0; pl < 2; pl++)
        for (size_t r = 0; r < n; r++) {
            memcpy(m->q.s[pl] + r * m->d, m->qk.s[pl] + r * w, m->d * sizeof(uint64_t));
            memcpy(m->k.s[pl] + r * m->kv, m->qk.s[pl] + r * w + m->d, m->kv * sizeof(uint64_t));
        }
    return CC_OK;
}

/* Causal grouped-query attention of the n new positions over all cached
 * ones (the 1/√hs scale is already in q, see rope()). */
static cc_status attention(cc_secure_llama *m, size_t layer, size_t n)
{
    return cc_sblk_attend(m->p, &m->nn, &m->attn, true, (size_t)m->pos, n, &m->q, &m->k, &m->v,
                          &m->k_cache[layer], &m->v_cache[layer], &m->att);
}

static cc_status add_into(cc_secure_llama *m, cc_ashare *acc, const cc_ashare *delta, size_t n,
                          size_t cols)
{
    cc_ashare a = cc_sblk_rows(acc, n, cols), b = cc_sblk_rows(delta, n, cols);
    return cc_proto_add(m->p, &a, &b, &a);
}

static void report(cc_secure_llama *m, int layer, uint64_t t0)
{
    if (m->progress)
        m->progress(m->progress_ctx, layer, m->c.n_layers, cc_ns_to_s(cc_now_ns() - t0));
}

static cc_status layer_forward(cc_secure_llama *m, int l, size_t n)
{
    char name[96];
    size_t d = m->d;
#define W(leaf) (snprintf(name, sizeof name, "layers.%d.%s", l, leaf), name)
    /* attention block */
    CC_TRY(rmsnorm(m, W("attn_norm.weight"), &m->x, n, &m->xb));
    cc_ashare xb = cc_sblk_rows(&m->xb, n, d);
    char qn[96], kn[96], vn[96];
    snprintf(qn, sizeof qn, "layers.%d.attn.q.weight", l);
    snprintf(kn, sizeof kn, "layers.%d.attn.k.weight", l);
    snprintf(vn, sizeof vn, "layers.%d.attn.v.weight", l);
    const char *qkv_names[] = { qn, kn, vn };
    cc_ashare *qkv[] = { &m->q, &m->k, &m->v };
    CC_TRY(linear_group(m, qkv_names, 3, &xb, n, qkv));
    CC_TRY(rope(m, n));
    CC_TRY(attention(m, (size_t)l, n));
    cc_ashare att = cc_sblk_rows(&m->att, n, d);
    CC_TRY(linear(m, "matmul", W("attn.o.weight"), &att, n, &m->o));
    CC_TRY(add_into(m, &m->x, &m->o, n, d));

    /* SwiGLU feed-forward block: down(silu(gate(x)) * up(x)) */
    CC_TRY(rmsnorm(m, W("ffn_norm.weight"), &m->x, n, &m->xb));
    char gn[96], un[96];
    snprintf(gn, sizeof gn, "layers.%d.ffn.gate.weight", l);
    snprintf(un, sizeof un, "layers.%d.ffn.up.weight", l);
    const char *gu_names[] = { gn, un };
    cc_ashare *gu[] = { &m->gate, &m->up };
    CC_TRY(linear_group(m, gu_names, 2, &xb, n, gu));
    cc_ashare gate = cc_sblk_rows(&m->gate, n, m->hidden), up = cc_sblk_rows(&m->up, n, m->hidden);
    cc_ashare act = cc_sblk_rows(&m->ffn, n, m->hidden);
    cc_proto_scope_begin(m->p, "activations");
    cc_status s = cc_nn_silu(m->p, &m->nn, &gate, &act);
    if (s == CC_OK) s = cc_proto_mul_fxp(m->p, &act, &up, &act);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    CC_TRY(linear(m, "matmul", W("ffn.down.weight"), &act, n, &m->o));
    return add_into(m, &m->x, &m->o, n, d);
#undef W
}

cc_status cc_secure_llama_forward(cc_secure_llama *m, const cc_ashare *onehot, int n_in,
                                  int out_rows, cc_ashare *logits)
{
    CC_TRY(cc_sblk_check_step("llama", n_in, out_rows, m->pos, m->max_batch, m->max_seq, m->vocab,
                              onehot, logits));
    size_t n = (size_t)n_in;
    uint64_t t0 = cc_now_ns();

    /* embedding: one-hot (integer) × E (fixed point) needs no truncation */
    CC_TRY(cc_sweights_begin_layer(m->w, -1));
    CC_TRY(cc_sblk_matmul(m->p, m->w, m->linear_block, "embedding", "embed.tokens", onehot, n,
                          false, &m->x, NULL));
    CC_TRY(cc_sweights_end_layer(m->w, -1));
    report(m, -1, t0);

    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sweights_begin_layer(m->w, l));
        cc_status s = layer_forward(m, l, n);
        if (s != CC_OK) return cc_error_wrap(s, "layer %d", l);
        CC_TRY(cc_sweights_end_layer(m->w, l));
        report(m, l, t0);
    }

    /* final norm and LM head on the rows whose logits are wanted */
    t0 = cc_now_ns();
    size_t first = n - (size_t)out_rows;
    CC_TRY(cc_sweights_begin_layer(m->w, m->c.n_layers));
    cc_ashare tail = cc_ashare_slice(&m->x, first * m->d, (size_t)out_rows * m->d);
    tail.rows = (size_t)out_rows;
    tail.cols = m->d;
    CC_TRY(rmsnorm(m, "final_norm.weight", &tail, (size_t)out_rows, &m->xb));
    cc_ashare xb = cc_sblk_rows(&m->xb, (size_t)out_rows, m->d);
    CC_TRY(linear(m, "lm_head", "lm_head.weight", &xb, (size_t)out_rows, logits));
    CC_TRY(cc_sweights_end_layer(m->w, m->c.n_layers));
    report(m, m->c.n_layers, t0);
    m->pos += n_in;
    return CC_OK;
}
