/* The secure LLaMA forward pass on replicated shares.
 *
 * Reads like llama2.c's forward(): per layer, RMSNorm -> Q,K,V -> RoPE ->
 * causal grouped-query attention -> output projection -> residual, then
 * RMSNorm -> SwiGLU FFN -> residual; final RMSNorm and the LM head.  Every
 * weight is looked up once, at creation (llama_weights); activations and
 * the KV cache are allocated once.  Per layer and n new positions (bits
 * sent per party; docs/PROTOCOLS.md has every op's cost):
 *   RMSNorm ×2          cc_nn_rmsnorm
 *   Q, K, V + RoPE      one grouped share×weight, RoPE applied to the q and
 *                       k terms before their one truncation (2 rounds)
 *   attention           cc_sblk_attend (scores, causal softmax, context)
 *   O, down             share×weight + truncation each
 *   gate, up            one grouped share×weight + truncation
 *   SwiGLU              cc_nn_silu, one mul+trunc */
#include <math.h>

#include "core.h"
#include "ring.h"
#include "secure_impl.h"

/* RoPE is folded into the Q, K, V truncation: the rotation by public cos/sin
 * is linear, so it is applied to the q and k products' 3-out-of-3 terms
 * (2f fractional bits) with cos/sin at ROPE_BITS bits, and q, k are then
 * truncated by f + ROPE_BITS, v by f, in one protocol.  The rotated values
 * sit at 2f + ROPE_BITS ≤ 52 bits inside the truncation's domain
 * |x| < 2^62 − 2^(d−2) (d = f + ROPE_BITS: 2^62 − 2^32 at f = 18), which
 * leaves |rotated q, k| < 2^10 − 2^-20 ≈ 1024 (a rotation keeps each pair's
 * norm, so √(k_2i² + k_2i+1²) < 1024 suffices; q's tables carry 1/√hs, which
 * gives q √hs times more room).  ROPE_BITS = 16 at f ≤ 18, 52 − 2f above
 * (12 at f = 20).  Precision: cos and sin are rounded to ROPE_BITS bits
 * instead of f, an absolute error ≤ 2^-(ROPE_BITS+1) per coefficient, so a
 * rotated element is off by ≤ √2·|pair|·2^-17 + 1 ulp at f = 18 (before the
 * fold: q and k rounded to f bits, coefficients at f, two truncations). */
#define ROPE_BITS 16u
#define ROPE_MAX_F 20u

/* One layer's weights (llama2.c's TransformerWeights, per layer). */
typedef struct llama_layer {
    cc_wref attn_norm, q, k, v, o;
    cc_wref ffn_norm, gate, up, down;
} llama_layer;

typedef struct llama {
    cc_proto *p;
    cc_sweights *w;
    cc_model_config c;
    cc_nn_cfg nn;
    int max_seq, max_batch, pos;
    size_t d, kv, hs, hidden, vocab;
    cc_wref tokens, final_norm, lm_head;
    llama_layer *layers;
    /* activations, max_batch rows each */
    cc_ashare x, xb, q, k, v, att, o, gate, up, ffn;
    cc_sblk_attn attn;                             /* per-head attention tensors */
    cc_ashare *k_cache, *v_cache;                  /* [layer]: [kv_head][max_seq][hs] */
    /* RoPE: [max_seq][hs/2] at rope_bits fractional bits; q's tables carry
     * 1/sqrt(head size) */
    uint64_t *cos_k, *sin_k, *cos_q, *sin_q;
    unsigned rope_bits;
    size_t linear_block;                           /* see cc_sblk_linear_block */
    cc_secure_progress progress;
    void *progress_ctx;
} llama;

static void llama_free(void *engine)
{
    llama *m = engine;
    if (!m) return;
    cc_ashare *all[] = { &m->x, &m->xb, &m->q, &m->k, &m->v, &m->att, &m->o,
                         &m->gate, &m->up, &m->ffn };
    for (size_t i = 0; i < CC_ARRAY_LEN(all); i++) cc_ashare_free(all[i]);
    for (int l = 0; m->k_cache && l < m->c.n_layers; l++) {
        cc_ashare_free(&m->k_cache[l]);
        cc_ashare_free(&m->v_cache[l]);
    }
    cc_free(m->k_cache);
    cc_free(m->v_cache);
    cc_free(m->cos_k);
    cc_free(m->sin_k);
    cc_free(m->cos_q);
    cc_free(m->sin_q);
    cc_free(m->layers);
    cc_sblk_attn_free(&m->attn);
    cc_free(m);
}

/* Every weight the pass uses, looked up once with its shape checked. */
static cc_status resolve_weights(llama *m)
{
    size_t d = m->d, kv = m->kv, h = m->hidden;
    cc_sweights *w = m->w;
    CC_TRY(cc_sblk_ref(w, &m->tokens, true, m->vocab, d, "embed.tokens"));
    CC_TRY(cc_sblk_ref(w, &m->final_norm, false, 1, d, "final_norm.weight"));
    CC_TRY(cc_sblk_ref(w, &m->lm_head, true, d, m->vocab, "lm_head.weight"));
    m->layers = cc_calloc((size_t)m->c.n_layers, sizeof *m->layers);
    if (!m->layers) return CC_ERR_NOMEM;
    for (int l = 0; l < m->c.n_layers; l++) {
        llama_layer *L = &m->layers[l];
        CC_TRY(cc_sblk_ref(w, &L->attn_norm, false, 1, d, "layers.%d.attn_norm.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->q, true, d, d, "layers.%d.attn.q.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->k, true, d, kv, "layers.%d.attn.k.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->v, true, d, kv, "layers.%d.attn.v.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->o, true, d, d, "layers.%d.attn.o.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->ffn_norm, false, 1, d, "layers.%d.ffn_norm.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->gate, true, d, h, "layers.%d.ffn.gate.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->up, true, d, h, "layers.%d.ffn.up.weight", l));
        CC_TRY(cc_sblk_ref(w, &L->down, true, h, d, "layers.%d.ffn.down.weight", l));
    }
    return CC_OK;
}

/* RoPE over pairs (2i, 2i+1) within each head: public cos/sin tables at
 * m->rope_bits fractional bits, with the attention scale 1/√hs folded into
 * q's. */
static cc_status rope_tables(llama *m)
{
    unsigned f = m->rope_bits;
    size_t half = m->hs / 2, S = (size_t)m->max_seq;
    double *ang = cc_alloc(4 * half * sizeof(double));
    if (!ang) return CC_ERR_NOMEM;
    double qscale = 1.0 / sqrt((double)m->hs);
    cc_status s = CC_OK;
    for (size_t pos = 0; s == CC_OK && pos < S; pos++) {
        for (size_t i = 0; i < half; i++) {
            double freq = pow((double)m->c.rope_theta, -2.0 * (double)i / (double)m->hs);
            double a = (double)pos * freq;
            ang[i] = cos(a);
            ang[half + i] = sin(a);
            ang[2 * half + i] = cos(a) * qscale;
            ang[3 * half + i] = sin(a) * qscale;
        }
        size_t t = pos * half;
        s = cc_fxp_encode_f64(half, ang, f, m->cos_k + t);
        if (s == CC_OK) s = cc_fxp_encode_f64(half, ang + half, f, m->sin_k + t);
        if (s == CC_OK) s = cc_fxp_encode_f64(half, ang + 2 * half, f, m->cos_q + t);
        if (s == CC_OK) s = cc_fxp_encode_f64(half, ang + 3 * half, f, m->sin_q + t);
    }
    cc_free(ang);
    return s;
}

static cc_status llama_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                              int max_batch, void **out)
{
    const cc_model_config *c = cc_sweights_config(w);
    if (max_seq < 1 || max_batch < 1 || max_batch > max_seq)
        return cc_error_set(CC_ERR_ARG, "secure engine: bad max_seq %d / max_batch %d", max_seq,
                            max_batch);
    if (cc_sweights_frac_bits(w) != p->f)
        return cc_error_set(CC_ERR_MISMATCH, "weights use f = %u, the protocol f = %u",
                            cc_sweights_frac_bits(w), p->f);
    if (p->f > ROPE_MAX_F)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure llama: f = %u, at most %u fractional "
                            "bits", p->f, ROPE_MAX_F);
    llama *m = cc_calloc(1, sizeof *m);
    if (!m) return CC_ERR_NOMEM;
    *m = (llama){ .p = p, .w = w, .c = *c, .nn = { .f = p->f, .approx = approx },
                  .max_seq = max_seq, .max_batch = max_batch,
                  .linear_block = cc_sblk_linear_block(w), .d = (size_t)c->dim,
                  .kv = (size_t)cc_config_kv_dim(c), .hs = (size_t)cc_config_head_size(c),
                  .hidden = (size_t)c->hidden_dim, .vocab = (size_t)c->vocab_size,
                  .rope_bits = CC_MIN(ROPE_BITS, 52 - 2 * p->f) };
    size_t B = (size_t)max_batch, S = (size_t)max_seq, L = (size_t)c->n_layers;
    size_t heads = (size_t)c->n_heads, kv_heads = (size_t)c->n_kv_heads, half = m->hs / 2;
    cc_status s = CC_OK;
#define ALLOC(t, r, cl) if (s == CC_OK) s = cc_ashare_alloc_2d(&m->t, r, cl)
    ALLOC(x, B, m->d); ALLOC(xb, B, m->d);
    ALLOC(q, B, m->d); ALLOC(k, B, m->kv); ALLOC(v, B, m->kv);
    ALLOC(att, B, m->d); ALLOC(o, B, m->d);
    ALLOC(gate, B, m->hidden); ALLOC(up, B, m->hidden); ALLOC(ffn, B, m->hidden);
#undef ALLOC
    if (s == CC_OK) s = cc_sblk_attn_init(&m->attn, heads, kv_heads, m->hs, B, S);
    m->k_cache = cc_calloc(L, sizeof(cc_ashare));
    m->v_cache = cc_calloc(L, sizeof(cc_ashare));
    m->cos_k = cc_alloc(S * half * sizeof(uint64_t));
    m->sin_k = cc_alloc(S * half * sizeof(uint64_t));
    m->cos_q = cc_alloc(S * half * sizeof(uint64_t));
    m->sin_q = cc_alloc(S * half * sizeof(uint64_t));
    if (s == CC_OK && (!m->k_cache || !m->v_cache || !m->cos_k || !m->sin_k || !m->cos_q ||
                       !m->sin_q))
        s = CC_ERR_NOMEM;
    for (size_t l = 0; s == CC_OK && l < L; l++) {
        s = cc_ashare_alloc_2d(&m->k_cache[l], kv_heads * S, m->hs);
        if (s == CC_OK) s = cc_ashare_alloc_2d(&m->v_cache[l], kv_heads * S, m->hs);
    }
    if (s == CC_OK) s = rope_tables(m);
    if (s == CC_OK) s = resolve_weights(m);
    if (s != CC_OK) {
        llama_free(m);
        return s;
    }
    *out = m;
    return CC_OK;
}

static void llama_on_progress(void *engine, cc_secure_progress fn, void *ctx)
{
    llama *m = engine;
    m->progress = fn;
    m->progress_ctx = ctx;
}

static int llama_pos(const void *engine) { return ((const llama *)engine)->pos; }

/* ---- building blocks: each one protocol step, booked under its op class ---- */

/* out = x·W, fixed point (one reshare + truncation). */
static cc_status matmul(llama *m, const char *tag, const cc_wref *w, const cc_ashare *x, size_t n,
                        cc_ashare *out)
{
    return cc_sblk_matmul(m->p, m->w, m->linear_block, tag, w, x, n, true, out);
}

/* Projections of the same input (gate and up) in ONE truncation. */
static cc_status matmul_group(llama *m, size_t count, const cc_wref *const *w, const cc_ashare *x,
                              size_t n, cc_ashare *const *outs)
{
    cc_ashare xin = cc_sblk_rows(x, n, m->d);
    return cc_sblk_matmul_group(m->p, m->w, m->linear_block, "matmul", w, count, &xin, n, true,
                                outs);
}

static cc_status rmsnorm(llama *m, const cc_wref *weight, const cc_ashare *x, size_t n,
                         cc_ashare *out)
{
    cc_ashare g;
    CC_TRY(cc_sweights_vector(m->w, weight, &g));
    cc_ashare xin = cc_sblk_rows(x, n, m->d), y = cc_sblk_rows(out, n, m->d);
    cc_proto_scope_begin(m->p, "norms");
    cc_status s = cc_nn_rmsnorm(m->p, &m->nn, n, m->d, &xin, &g, m->c.norm_eps, &y);
    cc_proto_scope_end(m->p);
    return s;
}

/* RoPE on the q and k terms (2f bits) of the n new rows, in place: every
 * pair (2i, 2i+1) of every head rotated by the position's public cos/sin
 * at rope_bits bits (q's carry 1/√hs).  Local: a party's term of a linear
 * function of the products is that function of its terms. */
static void rope_terms(llama *m, uint64_t *zq, uint64_t *zk, size_t n)
{
    size_t half = m->hs / 2;
    for (size_t r = 0; r < n; r++) {
        size_t t = ((size_t)m->pos + r) * half;
        uint64_t *rows[2] = { zq + r * m->d, zk + r * m->kv };
        size_t pairs[2] = { m->d / 2, m->kv / 2 };
        const uint64_t *ct[2] = { m->cos_q + t, m->cos_k + t };
        const uint64_t *st[2] = { m->sin_q + t, m->sin_k + t };
        for (int j = 0; j < 2; j++)
            for (size_t pr = 0; pr < pairs[j]; pr++) {
                uint64_t *z = rows[j] + 2 * pr, a = z[0], b = z[1];
                uint64_t c = ct[j][pr % half], s = st[j][pr % half];
                z[0] = a * c - b * s;
                z[1] = a * s + b * c;
            }
    }
}

/* q = rope(xb·Wq), k = rope(xb·Wk), v = xb·Wv: the three products' terms,
 * RoPE on q's and k's, then ONE truncation (q, k by f + rope_bits, v by f;
 * see ROPE_BITS for the domain). */
static cc_status attention_inputs(llama *m, const llama_layer *w, size_t n)
{
    const cc_wref *W[] = { &w->q, &w->k, &w->v };
    cc_ashare *outs[] = { &m->q, &m->k, &m->v };
    unsigned f = m->p->f, shift[] = { f + m->rope_bits, f + m->rope_bits, f };
    cc_ashare xb = cc_sblk_rows(&m->xb, n, m->d);
    uint64_t *z;
    CC_TRY(cc_sblk_group_terms(m->p, m->w, m->linear_block, "matmul", W, 3, &xb, n, &z));
    rope_terms(m, z, z + n * m->d, n);
    cc_status s = cc_sblk_group_finish(m->p, "matmul", z, W, 3, n, true, shift, outs);
    cc_free(z);
    return s;
}

/* Causal grouped-query attention of the n new positions over all cached
 * ones (the 1/√hs scale is already in q, see rope_tables()). */
static cc_status attention(llama *m, size_t layer, size_t n)
{
    return cc_sblk_attend(m->p, &m->nn, &m->attn, true, (size_t)m->pos, n, &m->q, &m->k, &m->v,
                          &m->k_cache[layer], &m->v_cache[layer], &m->att);
}

/* ffn = silu(gate) * up. */
static cc_status swiglu(llama *m, size_t n)
{
    cc_ashare gate = cc_sblk_rows(&m->gate, n, m->hidden), up = cc_sblk_rows(&m->up, n, m->hidden);
    cc_ashare act = cc_sblk_rows(&m->ffn, n, m->hidden);
    cc_proto_scope_begin(m->p, "activations");
    cc_status s = cc_nn_silu(m->p, &m->nn, &gate, &act);
    if (s == CC_OK) s = cc_proto_mul_fxp(m->p, &act, &up, &act);
    cc_proto_scope_end(m->p);
    return s;
}

/* acc += delta (local). */
static cc_status residual(llama *m, cc_ashare *acc, const cc_ashare *delta, size_t n)
{
    cc_ashare a = cc_sblk_rows(acc, n, m->d), b = cc_sblk_rows(delta, n, m->d);
    return cc_proto_add(m->p, &a, &b, &a);
}

static void report(llama *m, int layer, uint64_t t0)
{
    if (m->progress)
        m->progress(m->progress_ctx, layer, m->c.n_layers, cc_ns_to_s(cc_now_ns() - t0));
}

/* ---- the forward pass --------------------------------------------------------- */

static cc_status layer_forward(llama *m, const llama_layer *w, size_t l, size_t n)
{
    /* attention: x += Wo · attn(rope(xb·Wq), rope(xb·Wk), xb·Wv),  xb = rmsnorm(x) */
    CC_TRY(rmsnorm(m, &w->attn_norm, &m->x, n, &m->xb));
    CC_TRY(attention_inputs(m, w, n));
    CC_TRY(attention(m, l, n));
    CC_TRY(matmul(m, "matmul", &w->o, &m->att, n, &m->o));
    CC_TRY(residual(m, &m->x, &m->o, n));

    /* feed-forward: x += (silu(xb·W1) * xb·W3) · W2,  xb = rmsnorm(x) */
    CC_TRY(rmsnorm(m, &w->ffn_norm, &m->x, n, &m->xb));
    CC_TRY(matmul_group(m, 2, (const cc_wref *[]){ &w->gate, &w->up }, &m->xb, n,
                        (cc_ashare *[]){ &m->gate, &m->up }));
    CC_TRY(swiglu(m, n));
    CC_TRY(matmul(m, "matmul", &w->down, &m->ffn, n, &m->o));
    return residual(m, &m->x, &m->o, n);
}

static cc_status llama_forward(void *engine, const cc_ashare *onehot, const cc_ashare *types,
                               int n_in, int out_rows, cc_ashare *logits)
{
    llama *m = engine;
    if (types) return cc_error_set(CC_ERR_ARG, "secure llama: no token types");
    CC_TRY(cc_sblk_check_step("llama", n_in, out_rows, m->pos, m->max_batch, m->max_seq, m->vocab,
                              onehot, logits));
    size_t n = (size_t)n_in;

    /* embedding: one-hot (integer) × E (fixed point) needs no truncation */
    uint64_t t0 = cc_now_ns();
    CC_TRY(cc_sweights_begin_layer(m->w, -1));
    CC_TRY(cc_sblk_matmul(m->p, m->w, m->linear_block, "embedding", &m->tokens, onehot, n, false,
                          &m->x));
    CC_TRY(cc_sweights_end_layer(m->w, -1));
    report(m, -1, t0);

    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sweights_begin_layer(m->w, l));
        cc_status s = layer_forward(m, &m->layers[l], (size_t)l, n);
        if (s != CC_OK) return cc_error_wrap(s, "layer %d", l);
        CC_TRY(cc_sweights_end_layer(m->w, l));
        report(m, l, t0);
    }

    /* final norm and LM head on the rows whose logits are wanted */
    t0 = cc_now_ns();
    size_t rows = (size_t)out_rows;
    cc_ashare tail = cc_ashare_slice(&m->x, (n - rows) * m->d, rows * m->d);
    tail.rows = rows;
    tail.cols = m->d;
    CC_TRY(cc_sweights_begin_layer(m->w, m->c.n_layers));
    CC_TRY(rmsnorm(m, &m->final_norm, &tail, rows, &m->xb));
    cc_ashare xb = cc_sblk_rows(&m->xb, rows, m->d);
    CC_TRY(matmul(m, "lm_head", &m->lm_head, &xb, rows, logits));
    CC_TRY(cc_sweights_end_layer(m->w, m->c.n_layers));
    report(m, m->c.n_layers, t0);
    m->pos += n_in;
    return CC_OK;
}

const cc_engine_impl cc_engine_llama = {
    .arch = CC_ARCH_LLAMA, .generates = true, .create = llama_create, .forward = llama_forward,
    .pos = llama_pos, .on_progress = llama_on_progress, .free = llama_free,
};
