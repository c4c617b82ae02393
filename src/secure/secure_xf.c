/* The transformer core the secure GPT-2 and BERT engines share (PUMA,
 * arXiv 2307.12533: its one-hot embedding and the GeLU/softmax/LayerNorm of
 * src/nn), on replicated shares: linear layers with bias, LayerNorm with
 * gain and shift, multi-head attention (causal with a KV cache, or
 * bidirectional), the GeLU feed-forward block, learned position rows.
 * Positions are public, so adding the position rows is local; biases and
 * residuals are local additions.  Costs per layer for n new positions over
 * T cached ones (bits sent per party; "fxp linear" = one fused
 * matmul+trunc, 2 rounds, 128 bits per output):
 *   LayerNorm ×2           cc_nn_layernorm (see src/nn)
 *   Q                      matmul 1 round 64·n·d + trunc 2 rounds 128·n·d
 *   K and V                one grouped fxp linear: 2 rounds, 2·128·n·d
 *   O                      fxp linear: 2 rounds, 128·n·d
 *   scores, context        matmul_fxp: 2 rounds, 128·H·n·T and 128·n·d
 *   softmax                cc_nn_softmax on H·n × T (causal mask)
 *   FFN                    fxp linear 128·n·h, GeLU on n·h, fxp linear 128·n·d */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "secure_impl.h"

/* Extra bits of the public q scale 1/√hs when it is not a power of two: the
 * scaled product is held at 2f + bits ≤ 50 bits (leaving |q| < 2^12) before
 * the one truncation: bits = 14 at f ≤ 18, 10 at f = 20 (the largest f the
 * nonlinear functions support); the scale's relative rounding error is below
 * 2^-(bits+1)·√hs. */
#define Q_SCALE_BITS 14u
#define Q_SCALE_MAX_F 20u

static void set_q_scale(cc_sxf *m)
{
    /* √hs = 2^k exactly (hs = 4^k: 64 for the base models): a pure shift */
    unsigned k = 0;
    while ((size_t)1 << (2 * k) < m->hs) k++;
    if ((size_t)1 << (2 * k) == m->hs) {
        m->q_mul = 1;
        m->q_shift = k;
        return;
    }
    unsigned bits = CC_MIN(Q_SCALE_BITS, 50 - 2 * m->p->f);
    m->q_mul = (uint64_t)llround(ldexp(1.0 / sqrt((double)m->hs), (int)bits));
    m->q_shift = bits;
}

cc_status cc_sxf_ref_linear(cc_sxf *m, cc_sxf_linear_w *lin, size_t K, size_t N,
                            const char *prefix)
{
    CC_TRY(cc_sblk_ref(m->w, &lin->w, true, K, N, "%s.weight", prefix));
    return cc_sblk_ref(m->w, &lin->b, false, 1, N, "%s.bias", prefix);
}

cc_status cc_sxf_ref_norm(cc_sxf *m, cc_sxf_norm_w *norm, const char *prefix)
{
    CC_TRY(cc_sblk_ref(m->w, &norm->g, false, 1, m->d, "%s.weight", prefix));
    return cc_sblk_ref(m->w, &norm->b, false, 1, m->d, "%s.bias", prefix);
}

/* Every weight the blocks use, looked up once. */
static cc_status resolve_weights(cc_sxf *m)
{
    size_t d = m->d, h = m->hidden;
    CC_TRY(cc_sblk_ref(m->w, &m->tokens, true, m->vocab, d, "embed.tokens"));
    CC_TRY(cc_sblk_ref(m->w, &m->positions, false, 1, (size_t)m->c.max_seq_len * d,
                       "embed.positions"));
    m->layers = cc_calloc((size_t)m->c.n_layers, sizeof *m->layers);
    if (!m->layers) return CC_ERR_NOMEM;
    for (int l = 0; l < m->c.n_layers; l++) {
        cc_sxf_layer *lw = &m->layers[l];
        char p[CC_TENSOR_NAME_MAX];
#define PREFIX(leaf) (snprintf(p, sizeof p, "layers.%d.%s", l, leaf), p)
        CC_TRY(cc_sxf_ref_norm(m, &lw->attn_norm, PREFIX("attn_norm")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->q, d, d, PREFIX("attn.q")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->k, d, d, PREFIX("attn.k")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->v, d, d, PREFIX("attn.v")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->o, d, d, PREFIX("attn.o")));
        CC_TRY(cc_sxf_ref_norm(m, &lw->ffn_norm, PREFIX("ffn_norm")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->up, d, h, PREFIX("ffn.up")));
        CC_TRY(cc_sxf_ref_linear(m, &lw->down, h, d, PREFIX("ffn.down")));
#undef PREFIX
    }
    return CC_OK;
}

cc_status cc_sxf_init(cc_sxf *m, cc_proto *p, cc_sweights *w, cc_approx approx, cc_arch arch,
                      int max_seq, int max_batch)
{
    memset(m, 0, sizeof *m);
    const cc_model_config *c = cc_sweights_config(w);
    if (c->arch != arch)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure engine: model is %s, not %s",
                            cc_arch_name(c->arch), cc_arch_name(arch));
    if (max_seq < 1 || max_batch < 1 || max_batch > max_seq || max_seq > c->max_seq_len)
        return cc_error_set(CC_ERR_ARG, "secure %s: bad max_seq %d / max_batch %d (the position "
                            "table has %d rows)", cc_arch_name(arch), max_seq, max_batch,
                            c->max_seq_len);
    if (cc_sweights_frac_bits(w) != p->f)
        return cc_error_set(CC_ERR_MISMATCH, "weights use f = %u, the protocol f = %u",
                            cc_sweights_frac_bits(w), p->f);
    if (p->f > Q_SCALE_MAX_F)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure %s: f = %u, at most %u fractional bits",
                            cc_arch_name(arch), p->f, Q_SCALE_MAX_F);
    if (c->n_kv_heads != c->n_heads)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure %s: grouped-query attention",
                            cc_arch_name(arch));
    m->p = p;
    m->w = w;
    m->c = *c;
    m->nn = (cc_nn_cfg){ .f = p->f, .approx = approx };
    m->causal = arch != CC_ARCH_BERT;
    m->max_seq = max_seq;
    m->max_batch = max_batch;
    m->d = (size_t)c->dim;
    m->hs = (size_t)cc_config_head_size(c);
    m->heads = (size_t)c->n_heads;
    m->hidden = (size_t)c->hidden_dim;
    m->vocab = (size_t)c->vocab_size;
    m->cache_layers = m->causal ? c->n_layers : 1;
    /* column blocks bounded by the largest layer matrix (tests override) */
    m->linear_block = cc_sblk_linear_block(w);
    set_q_scale(m);
    size_t B = (size_t)max_batch, S = (size_t)max_seq, H = m->heads;
    cc_status s = CC_OK;
#define ALLOC(t, r, cl) if (s == CC_OK) s = cc_ashare_alloc_2d(&m->t, r, cl)
    ALLOC(x, B, m->d); ALLOC(xb, B, m->d); ALLOC(q, B, m->d); ALLOC(k, B, m->d);
    ALLOC(v, B, m->d); ALLOC(att, B, m->d); ALLOC(o, B, m->d);
    ALLOC(up, B, m->hidden); ALLOC(act, B, m->hidden);
    if (s == CC_OK) s = cc_sblk_attn_init(&m->attn, H, H, m->hs, B, S);
#undef ALLOC
    if (s == CC_OK) {
        m->k_cache = cc_calloc((size_t)m->cache_layers, sizeof(cc_ashare));
        m->v_cache = cc_calloc((size_t)m->cache_layers, sizeof(cc_ashare));
        if (!m->k_cache || !m->v_cache) s = CC_ERR_NOMEM;
    }
    for (int l = 0; s == CC_OK && l < m->cache_layers; l++) {
        s = cc_ashare_alloc_2d(&m->k_cache[l], H * S, m->hs);
        if (s == CC_OK) s = cc_ashare_alloc_2d(&m->v_cache[l], H * S, m->hs);
    }
    if (s != CC_OK) {
        cc_sxf_free(m);
        return cc_error_wrap(s, "secure %s: allocating activations", cc_arch_name(arch));
    }
    s = resolve_weights(m);
    if (s != CC_OK) cc_sxf_free(m);
    return s;
}

void cc_sxf_free(cc_sxf *m)
{
    cc_ashare *all[] = { &m->x, &m->xb, &m->q, &m->k, &m->v, &m->att, &m->o, &m->up,
                         &m->act };
    for (size_t i = 0; i < CC_ARRAY_LEN(all); i++) cc_ashare_free(all[i]);
    for (int l = 0; m->k_cache && l < m->cache_layers; l++) cc_ashare_free(&m->k_cache[l]);
    for (int l = 0; m->v_cache && l < m->cache_layers; l++) cc_ashare_free(&m->v_cache[l]);
    cc_free(m->k_cache);
    cc_free(m->v_cache);
    cc_free(m->layers);
    cc_sblk_attn_free(&m->attn);
    m->k_cache = m->v_cache = NULL;
    m->layers = NULL;
}

void cc_sxf_report(cc_sxf *m, int layer, uint64_t t0)
{
    if (m->progress)
        m->progress(m->progress_ctx, layer, m->c.n_layers, cc_ns_to_s(cc_now_ns() - t0));
}

cc_status cc_sxf_begin_layer(cc_sxf *m, int layer)
{
    cc_proto_scope_begin(m->p, "weights");
    cc_status s = cc_sweights_begin_layer(m->w, layer);
    cc_proto_scope_end(m->p);
    return s;
}

cc_status cc_sxf_end_layer(cc_sxf *m, int layer)
{
    cc_proto_scope_begin(m->p, "weights");
    cc_status s = cc_sweights_end_layer(m->w, layer);
    cc_proto_scope_end(m->p);
    return s;
}

cc_status cc_sxf_vector(cc_sxf *m, const cc_wref *r, cc_ashare *out)
{
    cc_proto_scope_begin(m->p, "weights");
    cc_status s = cc_sweights_vector(m->w, r, out);
    cc_proto_scope_end(m->p);
    return s;
}

/* x[r][j] += b[j] << shift for n rows (local: shares add share-wise). */
static void add_bias(cc_ashare *x, const cc_ashare *b, size_t n, size_t cols, unsigned shift)
{
    for (int pl = 0; pl < 2; pl++)
        for (size_t r = 0; r < n; r++) {
            uint64_t *row = x->s[pl] + r * cols;
            const uint64_t *bias = b->s[pl];
            for (size_t j = 0; j < cols; j++) row[j] += bias[j] << shift;
        }
}

/* out (n × N) = x (n × K) · W, truncated once by f (fxp, fixed-point
 * activations) or exact (one-hot rows × embedding); big weights in column
 * blocks (cc_sblk_matmul_group). */
cc_status cc_sxf_matmul(cc_sxf *m, const char *tag, const cc_wref *w, const cc_ashare *x,
                        size_t n, bool fxp, cc_ashare *out)
{
    return cc_sblk_matmul(m->p, m->w, m->linear_block, tag, w, x, n, fxp, out);
}

cc_status cc_sxf_linear(cc_sxf *m, const cc_sxf_linear_w *lin, const cc_ashare *x, size_t n,
                        cc_ashare *out)
{
    CC_TRY(cc_sxf_matmul(m, "matmul", &lin->w, x, n, true, out));
    cc_ashare b;
    CC_TRY(cc_sxf_vector(m, &lin->b, &b));
    add_bias(out, &b, n, lin->w.N, 0);
    return CC_OK;
}

cc_status cc_sxf_layernorm(cc_sxf *m, const cc_sxf_norm_w *norm, const cc_ashare *x, size_t n,
                           cc_ashare *out)
{
    cc_ashare g, b;
    CC_TRY(cc_sxf_vector(m, &norm->g, &g));
    CC_TRY(cc_sxf_vector(m, &norm->b, &b));
    cc_ashare xin = cc_sblk_rows(x, n, m->d), y = cc_sblk_rows(out, n, m->d);
    cc_proto_scope_begin(m->p, "norms");
    cc_status s = cc_nn_layernorm(m->p, &m->nn, n, m->d, &xin, &g, &b, m->c.norm_eps, &y);
    cc_proto_scope_end(m->p);
    return s;
}

cc_status cc_sxf_add_positions(cc_sxf *m, cc_ashare *x, size_t n, size_t pos0)
{
    cc_ashare P;
    size_t d = m->d;
    CC_TRY(cc_sxf_vector(m, &m->positions, &P));
    for (int pl = 0; pl < 2; pl++)
        for (size_t r = 0; r < n; r++) {
            uint64_t *row = x->s[pl] + r * d;
            const uint64_t *prow = P.s[pl] + (pos0 + r) * d;
            for (size_t j = 0; j < d; j++) row[j] += prow[j];
        }
    return CC_OK;
}

cc_status cc_sxf_residual(cc_sxf *m, cc_ashare *acc, const cc_ashare *delta, size_t n)
{
    cc_ashare a = cc_sblk_rows(acc, n, m->d), b = cc_sblk_rows(delta, n, m->d);
    return cc_proto_add(m->p, &a, &b, &a);
}

/* q = (x·Wq + bq)/√hs with ONE truncation: the product at 2f bits (matmul
 * without truncation, 1 round), the bias lifted to 2f bits, the public scale
 * q_mul/2^q_shift applied locally, then truncation by f + q_shift. */
static cc_status scaled_query(cc_sxf *m, const cc_sxf_linear_w *wq, const cc_ashare *in, size_t n)
{
    CC_TRY(cc_sxf_matmul(m, "matmul", &wq->w, in, n, false, &m->q));
    cc_ashare q = cc_sblk_rows(&m->q, n, m->d);
    cc_ashare b;
    CC_TRY(cc_sxf_vector(m, &wq->b, &b));
    add_bias(&q, &b, n, m->d, m->p->f);
    if (m->q_mul != 1) CC_TRY(cc_proto_mul_public(m->p, &q, m->q_mul, &q));
    cc_proto_scope_begin(m->p, "matmul");
    cc_status s = cc_proto_trunc(m->p, &q, m->p->f + m->q_shift, &q);
    cc_proto_scope_end(m->p);
    return s;
}

/* Scaled dot-product attention of the n new positions over all visible
 * ones (causal with the KV cache for GPT-2, bidirectional for BERT), the
 * scale folded into q. */
static cc_status attend(cc_sxf *m, int l, size_t n)
{
    int cache = m->causal ? l : 0;
    return cc_sblk_attend(m->p, &m->nn, &m->attn, m->causal, m->causal ? (size_t)m->pos : 0, n,
                          &m->q, &m->k, &m->v, &m->k_cache[cache], &m->v_cache[cache], &m->att);
}

/* K and V of the same input in ONE truncation round (2 rounds, 128 bits per
 * output), biases added locally.  Q has its own scaled truncation
 * (scaled_query), so it is not in the group. */
static cc_status key_value(cc_sxf *m, const cc_sxf_layer *lw, const cc_ashare *in, size_t n)
{
    const cc_sxf_linear_w *kv[2] = { &lw->k, &lw->v };
    const cc_wref *weights[2] = { &lw->k.w, &lw->v.w };
    cc_ashare *outs[2] = { &m->k, &m->v };
    CC_TRY(cc_sblk_matmul_group(m->p, m->w, m->linear_block, "matmul", weights, 2, in, n, true,
                                outs));
    for (int j = 0; j < 2; j++) {
        cc_ashare b;
        CC_TRY(cc_sxf_vector(m, &kv[j]->b, &b));
        add_bias(outs[j], &b, n, m->d, 0);
    }
    return CC_OK;
}

cc_status cc_sxf_attention(cc_sxf *m, int l, const cc_ashare *in, size_t n)
{
    const cc_sxf_layer *lw = &m->layers[l];
    CC_TRY(scaled_query(m, &lw->q, in, n));
    CC_TRY(key_value(m, lw, in, n));
    CC_TRY(attend(m, l, n));
    return cc_sxf_linear(m, &lw->o, &m->att, n, &m->o);
}

cc_status cc_sxf_ffn(cc_sxf *m, int l, const cc_ashare *in, size_t n)
{
    const cc_sxf_layer *lw = &m->layers[l];
    CC_TRY(cc_sxf_linear(m, &lw->up, in, n, &m->up));
    cc_ashare up = cc_sblk_rows(&m->up, n, m->hidden), act = cc_sblk_rows(&m->act, n, m->hidden);
    cc_proto_scope_begin(m->p, "activations");
    cc_status s = cc_nn_gelu(m->p, &m->nn, &up, &act);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    return cc_sxf_linear(m, &lw->down, &act, n, &m->o);
}
