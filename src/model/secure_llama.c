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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Weights above this many elements per plane (LLaMA-7B's embedding and LM
 * head: 131M) are applied in column blocks, so a party never holds more than
 * one FFN-sized matrix: one protocol call per block, same bytes, a few more
 * rounds.  CARACAL_LINEAR_BLOCK_ELEMS overrides it (tests use tiny blocks). */
#define LINEAR_BLOCK_ELEMS (48u << 20)

struct cc_secure_llama {
    cc_proto *p;
    cc_sweights *w;
    cc_model_config c;
    cc_nn_cfg nn;
    int max_seq, max_batch, pos;
    size_t d, kv, hs, hidden, vocab, heads, kv_heads;
    /* activations, max_batch rows each */
    cc_ashare x, xb, qk, q, k, v, att, o, gate, up, ffn, grp;
    cc_ashare qh, kh, vh, scores, probs, ctxh;     /* per-head attention tensors */
    cc_ashare *k_cache, *v_cache;                  /* [layer]: [kv_head][max_seq][hs] */
    uint64_t *rope_cos, *rope_sin;                 /* [max_seq][hs/2], fixed point */
    uint64_t *rope_cos_q, *rope_sin_q;             /* the same / sqrt(head size), for q */
    uint8_t *mask;
    size_t linear_block;                           /* see LINEAR_BLOCK_ELEMS */
    cc_secure_progress progress;
    void *progress_ctx;
};

/* The first `rows` rows of a rows-major activation buffer. */
static cc_ashare rows_of(const cc_ashare *t, size_t rows, size_t cols)
{
    cc_ashare v = cc_ashare_slice(t, 0, rows * cols);
    v.rows = rows;
    v.cols = cols;
    return v;
}

static cc_status alloc2(cc_ashare *t, size_t rows, size_t cols)
{
    return cc_ashare_alloc_2d(t, rows, cols);
}

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
    const char *blk = getenv("CARACAL_LINEAR_BLOCK_ELEMS");
    m->linear_block = blk && atoll(blk) > 0 ? (size_t)atoll(blk) : LINEAR_BLOCK_ELEMS;
    m->d = (size_t)c->dim;
    m->kv = (size_t)cc_config_kv_dim(c);
    m->hs = (size_t)cc_config_head_size(c);
    m->hidden = (size_t)c->hidden_dim;
    m->vocab = (size_t)c->vocab_size;
    m->heads = (size_t)c->n_heads;
    m->kv_heads = (size_t)c->n_kv_heads;
    size_t B = (size_t)max_batch, S = (size_t)max_seq, L = (size_t)c->n_layers;
    cc_status s = CC_OK;
#define ALLOC(t, r, cl) if (s == CC_OK) s = alloc2(&m->t, r, cl)
    ALLOC(x, B, m->d); ALLOC(xb, B, m->d); ALLOC(qk, B, m->d + m->kv);
    ALLOC(q, B, m->d); ALLOC(k, B, m->kv); ALLOC(v, B, m->kv);
    ALLOC(att, B, m->d); ALLOC(o, B, m->d);
    ALLOC(gate, B, m->hidden); ALLOC(up, B, m->hidden); ALLOC(ffn, B, m->hidden);
    ALLOC(grp, B, CC_MAX(m->d + 2 * m->kv, 2 * m->hidden));
    ALLOC(qh, m->heads * B, m->hs); ALLOC(kh, m->heads * S, m->hs); ALLOC(vh, m->heads * S, m->hs);
    ALLOC(scores, m->heads * B, S); ALLOC(probs, m->heads * B, S); ALLOC(ctxh, m->heads * B, m->hs);
#undef ALLOC
    m->k_cache = cc_calloc(L, sizeof(cc_ashare));
    m->v_cache = cc_calloc(L, sizeof(cc_ashare));
    m->rope_cos = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_sin = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_cos_q = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->rope_sin_q = cc_alloc(S * (m->hs / 2) * sizeof(uint64_t));
    m->mask = cc_alloc(B * S);
    if (s == CC_OK && (!m->k_cache || !m->v_cache || !m->rope_cos || !m->rope_sin ||
                      !m->rope_cos_q || !m->rope_sin_q || !m->mask))
        s = CC_ERR_NOMEM;
    for (size_t l = 0; s == CC_OK && l < L; l++) {
        s = alloc2(&m->k_cache[l], m->kv_heads * S, m->hs);
        if (s == CC_OK) s = alloc2(&m->v_cache[l], m->kv_heads * S, m->hs);
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
                         &m->gate, &m->up, &m->ffn, &m->grp, &m->qh, &m->kh, &m->vh, &m->scores,
                         &m->probs, &m->ctxh };
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
    cc_free(m->mask);
    cc_free(m);
}

void cc_secure_llama_on_progress(cc_secure_llama *m, cc_secure_progress fn, void *ctx)
{
    m->progress = fn;
    m->progress_ctx = ctx;
}

int cc_secure_llama_pos(const cc_secure_llama *m) { return m->pos; }

/* ---- building blocks ------------------------------------------------------ */


/* out (n × N) = x (n × K) · W; fxp: truncate once by f after accumulation
 * (fixed-point activations), else exact (one-hot rows × embedding). */
static cc_status linear_op(cc_secure_llama *m, const char *name, const cc_ashare *x, size_t n,
                           bool fxp, cc_ashare *out)
{
    size_t K, N;
    CC_TRY(cc_sweights_linear_shape(m->w, name, &K, &N));
    size_t nr = cc_sweights_panel_cols();
    size_t lim = m->linear_block;
    size_t block = K * N <= lim ? N : CC_MAX(nr, lim / K / nr * nr);
    cc_ashare y = rows_of(out, n, N), part = {0};
    if (block < N) CC_TRY(cc_ashare_alloc_2d(&part, n, block));
    cc_status s = CC_OK;
    for (size_t c0 = 0; s == CC_OK && c0 < N; c0 += block) {
        size_t nc = CC_MIN(block, N - c0);
        cc_proto_weight W;
        s = cc_sweights_linear_cols(m->w, name, c0, nc, &W);
        if (s != CC_OK) break;
        cc_ashare dst = nc == N ? y : rows_of(&part, n, nc);
        s = fxp ? cc_proto_matmul_weight_fxp(m->p, n, x, &W, &dst)
                : cc_proto_matmul_weight(m->p, n, x, &W, &dst);
        for (int pl = 0; s == CC_OK && nc != N && pl < 2; pl++)
            for (size_t r = 0; r < n; r++)
                memcpy(y.s[pl] + r * N + c0, dst.s[pl] + r * nc, nc * sizeof(uint64_t));
    }
    cc_ashare_free(&part);
    return s;
}

static cc_status linear(cc_secure_llama *m, const char *name, const cc_ashare *x, size_t n,
                        cc_ashare *out)
{
    return linear_op(m, name, x, n, true, out);
}

/* Independent projections of the same input (Q, K, V; gate and up) in ONE
 * truncation round: each weight in its own slot, the products side by side
 * in m->grp, then split into the outputs. */
static cc_status linear_group(cc_secure_llama *m, const char *const *names, size_t count,
                              const cc_ashare *x, size_t n, cc_ashare *const *outs)
{
    cc_proto_weight W[CC_SWEIGHTS_SLOTS];
    const cc_proto_weight *wp[CC_SWEIGHTS_SLOTS];
    size_t total = 0;
    CC_ASSERT(count <= CC_SWEIGHTS_SLOTS);
    for (size_t j = 0; j < count; j++) {
        size_t K, N;
        CC_TRY(cc_sweights_linear_shape(m->w, names[j], &K, &N));
        CC_TRY(cc_sweights_linear_slot(m->w, (int)j, names[j], 0, N, &W[j]));
        wp[j] = &W[j];
        total += n * N;
    }
    if (total > m->grp.n)
        return cc_error_set(CC_ERR_INTERNAL, "projection group of %zu outputs exceeds %zu", total,
                            m->grp.n);
    cc_ashare grp = cc_ashare_slice(&m->grp, 0, total);
    CC_TRY(cc_proto_matmul_weights_fxp(m->p, n, x, wp, count, &grp));
    for (size_t j = 0, off = 0; j < count; off += n * W[j].N, j++)
        for (int pl = 0; pl < 2; pl++)
            memcpy(outs[j]->s[pl], grp.s[pl] + off, n * W[j].N * sizeof(uint64_t));
    return CC_OK;
}

static cc_status rmsnorm(cc_secure_llama *m, const char *name, const cc_ashare *x, size_t n,
                         cc_ashare *out)
{
    cc_ashare g;
    CC_TRY(cc_sweights_vector(m->w, name, m->d, &g));
    cc_ashare xin = rows_of(x, n, m->d), y = rows_of(out, n, m->d);
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
    cc_ashare qk = rows_of(&m->qk, n, w);
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

/* Causal grouped-query attention of the n new positions over all T cached
 * ones.  All heads go through each protocol call together:
 *   scores = Q_h · K_hᵀ (scale already folded into q), probs = softmax with
 *   the causal mask, ctx = probs · V_h. */
static cc_status attention(cc_secure_llama *m, size_t layer, size_t n)
{
    size_t H = m->heads, G = m->kv_heads, hs = m->hs, S = (size_t)m->max_seq;
    size_t pos0 = (size_t)m->pos, T = pos0 + n, group = H / G;
    cc_ashare *kc = &m->k_cache[layer], *vc = &m->v_cache[layer];
    for (int pl = 0; pl < 2; pl++) {
        /* append the new keys and values to the cache */
        for (size_t r = 0; r < n; r++)
            for (size_t g = 0; g < G; g++) {
                size_t dst = (g * S + pos0 + r) * hs, src = r * m->kv + g * hs;
                memcpy(kc->s[pl] + dst, m->k.s[pl] + src, hs * sizeof(uint64_t));
                memcpy(vc->s[pl] + dst, m->v.s[pl] + src, hs * sizeof(uint64_t));
            }
        /* gather per-head operands: Q_h [n][hs], K_h and V_h [T][hs] */
        for (size_t h = 0; h < H; h++) {
            for (size_t r = 0; r < n; r++)
                memcpy(m->qh.s[pl] + (h * n + r) * hs, m->q.s[pl] + r * m->d + h * hs,
                       hs * sizeof(uint64_t));
            size_t g = h / group;
            memcpy(m->kh.s[pl] + h * T * hs, kc->s[pl] + g * S * hs, T * hs * sizeof(uint64_t));
            memcpy(m->vh.s[pl] + h * T * hs, vc->s[pl] + g * S * hs, T * hs * sizeof(uint64_t));
        }
    }
    cc_ashare qh = rows_of(&m->qh, H * n, hs), kh = rows_of(&m->kh, H * T, hs);
    cc_ashare vh = rows_of(&m->vh, H * T, hs), ctxh = rows_of(&m->ctxh, H * n, hs);
    cc_ashare scores = rows_of(&m->scores, H * n, T), probs = rows_of(&m->probs, H * n, T);

    cc_proto_scope_begin(m->p, "attention");
    cc_status s = cc_proto_matmul_fxp(m->p, H, n, T, hs, CC_NOTRANS, &qh, CC_TRANS, &kh, &scores);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    cc_nn_causal_mask(n, T, pos0, m->mask);
    cc_proto_scope_begin(m->p, "softmax");
    s = cc_nn_softmax(m->p, &m->nn, H * n, T, &scores, m->mask, n, &probs);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    cc_proto_scope_begin(m->p, "attention");
    s = cc_proto_matmul_fxp(m->p, H, n, hs, T, CC_NOTRANS, &probs, CC_NOTRANS, &vh, &ctxh);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    /* back to [n][d]: head h occupies columns h*hs .. h*hs+hs-1 */
    for (int pl = 0; pl < 2; pl++)
        for (size_t h = 0; h < H; h++)
            for (size_t r = 0; r < n; r++)
                memcpy(m->att.s[pl] + r * m->d + h * hs, m->ctxh.s[pl] + (h * n + r) * hs,
                       hs * sizeof(uint64_t));
    return CC_OK;
}

static cc_status add_into(cc_secure_llama *m, cc_ashare *acc, const cc_ashare *delta, size_t n,
                          size_t cols)
{
    cc_ashare a = rows_of(acc, n, cols), b = rows_of(delta, n, cols);
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
    cc_ashare xb = rows_of(&m->xb, n, d);
    char qn[96], kn[96], vn[96];
    snprintf(qn, sizeof qn, "layers.%d.attn.q.weight", l);
    snprintf(kn, sizeof kn, "layers.%d.attn.k.weight", l);
    snprintf(vn, sizeof vn, "layers.%d.attn.v.weight", l);
    const char *qkv_names[] = { qn, kn, vn };
    cc_ashare *qkv[] = { &m->q, &m->k, &m->v };
    cc_proto_scope_begin(m->p, "matmul");
    cc_status s = linear_group(m, qkv_names, 3, &xb, n, qkv);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    CC_TRY(rope(m, n));
    CC_TRY(attention(m, (size_t)l, n));
    cc_ashare att = rows_of(&m->att, n, d);
    cc_proto_scope_begin(m->p, "matmul");
    s = linear(m, W("attn.o.weight"), &att, n, &m->o);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    CC_TRY(add_into(m, &m->x, &m->o, n, d));

    /* SwiGLU feed-forward block: down(silu(gate(x)) * up(x)) */
    CC_TRY(rmsnorm(m, W("ffn_norm.weight"), &m->x, n, &m->xb));
    char gn[96], un[96];
    snprintf(gn, sizeof gn, "layers.%d.ffn.gate.weight", l);
    snprintf(un, sizeof un, "layers.%d.ffn.up.weight", l);
    const char *gu_names[] = { gn, un };
    cc_ashare *gu[] = { &m->gate, &m->up };
    cc_proto_scope_begin(m->p, "matmul");
    s = linear_group(m, gu_names, 2, &xb, n, gu);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    cc_ashare gate = rows_of(&m->gate, n, m->hidden), up = rows_of(&m->up, n, m->hidden);
    cc_ashare act = rows_of(&m->ffn, n, m->hidden);
    cc_proto_scope_begin(m->p, "activations");
    s = cc_nn_silu(m->p, &m->nn, &gate, &act);
    if (s == CC_OK) s = cc_proto_mul_fxp(m->p, &act, &up, &act);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    cc_proto_scope_begin(m->p, "matmul");
    s = linear(m, W("ffn.down.weight"), &act, n, &m->o);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    return add_into(m, &m->x, &m->o, n, d);
#undef W
}

cc_status cc_secure_llama_forward(cc_secure_llama *m, const cc_ashare *onehot, int n_in,
                                  int out_rows, cc_ashare *logits)
{
    if (n_in < 1 || n_in > m->max_batch || m->pos + n_in > m->max_seq)
        return cc_error_set(CC_ERR_ARG, "secure forward: %d positions at %d exceed the %d/%d "
                            "allocated", n_in, m->pos, m->max_batch, m->max_seq);
    if (out_rows < 1 || out_rows > n_in || onehot->n != (size_t)n_in * m->vocab ||
        logits->n != (size_t)out_rows * m->vocab)
        return cc_error_set(CC_ERR_ARG, "secure forward: tensor sizes do not match %d positions",
                            n_in);
    size_t n = (size_t)n_in;
    uint64_t t0 = cc_now_ns();

    /* embedding: one-hot (integer) × E (fixed point) needs no truncation */
    CC_TRY(cc_sweights_begin_layer(m->w, -1));
    cc_ashare x = rows_of(&m->x, n, m->d);
    cc_proto_scope_begin(m->p, "embedding");
    cc_status s = linear_op(m, "embed.tokens", onehot, n, false, &x);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    CC_TRY(cc_sweights_end_layer(m->w, -1));
    report(m, -1, t0);

    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sweights_begin_layer(m->w, l));
        s = layer_forward(m, l, n);
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
    cc_ashare xb = rows_of(&m->xb, (size_t)out_rows, m->d);
    cc_proto_scope_begin(m->p, "lm_head");
    s = linear(m, "lm_head.weight", &xb, (size_t)out_rows, logits);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    CC_TRY(cc_sweights_end_layer(m->w, m->c.n_layers));
    report(m, m->c.n_layers, t0);
    m->pos += n_in;
    return CC_OK;
}
