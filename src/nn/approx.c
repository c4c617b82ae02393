/* The two approximation sets and the fixed-point plans derived from f.
 * docs/APPROXIMATIONS.md documents every constant here with its error. */
#include <string.h>
#include "nn_impl.h"

/* ---- PUMA (arXiv 2307.12533 §4; docs/APPROXIMATIONS.md), constants verbatim --------- */
static const cc_approx_set puma_set = {
    .gelu = {
        .nbreaks = 3, .brk = { -4.0, -1.95, 3.0 }, .var_sq_log2 = -1, .var_extra_bits = 0,
        .seg = {
            { .kind = CC_SEG_ZERO },
            { .kind = CC_SEG_POLY, .deg = 3,
              .c = { -0.5054031199708174, -0.42226581151983866, -0.11807612951181953,
                     -0.011034134030615728 } },
            { .kind = CC_SEG_POLY, .deg = 6,
              .c = { 0.008526321541038084, 0.5, 0.3603292692789629, 0.0,
                     -0.037688200365904236, 0.0, 0.0018067462606141187 } },
            { .kind = CC_SEG_IDENTITY },
        } },
    .silu = {
        .nbreaks = 3, .brk = { -8.0, -4.0, 4.0 }, .var_sq_log2 = -1, .var_extra_bits = 0,
        .seg = {
            { .kind = CC_SEG_ZERO },
            { .kind = CC_SEG_POLY, .deg = 2,
              .c = { -0.3067541139982155, -0.0819767021525476, -0.0055465625580307 } },
            { .kind = CC_SEG_POLY, .deg = 6,
              .c = { 0.0085064025895951, 0.5, 0.2281430841728270, 0.0,
                     -0.011113046708173, 0.0, 0.0002743776353465 } },
            { .kind = CC_SEG_IDENTITY },
        } },
    /* exp: (1 + x/2^5)^(2^5), zero below -14 */
    .exp = { .t = 5, .taylor2 = false, .threshold = -14.0 },
    /* Goldschmidt: w0 = 2.9142 - 2c, two iterations (SPU's default) */
    .recip_iters = 2,
    /* rsqrt guess on [0.25, 0.5) as in SPU's f_rsqrt, no Newton step */
    .rsqrt_c = { 4.14285016, -15.47994394, 38.4714796, -49.86605845, 26.02942339 },
    .rsqrt_newton = 0,
};

/* ---- precise: our fits (perf/plot_approx_fit.c) ----------------------------------
 * GeLU = x/2 + E(x) with E even, fitted on [-4, 4] as a polynomial in
 * w = (x/4)^2 under the continuity constraint E(4) = 2, so the pieces
 * 0 | x/2 + E | x meet exactly at ±4.  Two comparisons instead of three.
 * SiLU through y = |x| in three pieces (cc_silu_abs): minimax fits of
 * E(y) = y/2·tanh(y/2) on [0, 4), degree 6 in w = (y/4)^2 (error 1.08e-4),
 * and of E(y) - y/2 = -y/(1+e^y) on [4, 12), degree 6 in z = (y-8)/4
 * (2.2e-5), both written in affine variables t that give them the same
 * t^5 and t^6 coefficients 4 and -1; E = y/2 beyond 12 (7.4e-5). */
static const cc_approx_set precise_set = {
    .gelu = {
        .nbreaks = 2, .brk = { -4.0, 4.0 }, .var_sq_log2 = 2, .var_extra_bits = 8,
        .seg = {
            { .kind = CC_SEG_ZERO },
            { .kind = CC_SEG_POLY, .lin = 0.5, .deg = 6,
              .c = { 0.00077200078620087709, 6.2960232334918205, -15.399347118517676,
                     29.057272152253365, -33.510946405592428, 20.999858208004699,
                     -5.4436320704259824 } },
            { .kind = CC_SEG_IDENTITY },
        } },
    .silu_abs = {
        .on = true, .a_log2 = 2, .var_extra_bits = 8, .top = { 4, -1 },
        .lam_q = 64796, .nu = 0.0076999724603828605,
        .kappa_q = 23, .mu = 0.4330309460477732,
        .c_in = { -0.031258391333435068, 4.1144927232885635, -5.3720984535770162,
                  7.148554047119819, -6.9277678741641102 },
        .c_out = { -0.12913123892387213, 0.99070966268320593, -3.3385974507848721,
                   6.2474936633165248, -6.7727677050396107 },
    },
    /* exp: (1 + u + u^2/2)^(2^5), u = x/2^5: error ~e^x |x|^3 / 6144 */
    .exp = { .t = 5, .taylor2 = true, .threshold = -14.0 },
    .recip_iters = 3,
    .rsqrt_c = { 4.14285016, -15.47994394, 38.4714796, -49.86605845, 26.02942339 },
    .rsqrt_newton = 1,
    .bucket_cubic = true,
};

const char *cc_approx_name(cc_approx a)
{
    switch (a) {
    case CC_APPROX_PUMA: return "puma";
    case CC_APPROX_PRECISE: return "precise";
    }
    return "unknown";
}

cc_status cc_approx_parse(const char *name, cc_approx *out)
{
    if (name && strcmp(name, "puma") == 0) { *out = CC_APPROX_PUMA; return CC_OK; }
    if (name && strcmp(name, "precise") == 0) { *out = CC_APPROX_PRECISE; return CC_OK; }
    return cc_error_set(CC_ERR_ARG, "unknown approximation set '%s' (expected puma or precise)",
                        name ? name : "(null)");
}

const cc_approx_set *cc_nn_set(const cc_nn_cfg *cfg)
{
    if (!cfg) { cc_error_set(CC_ERR_ARG, "nn: missing configuration"); return NULL; }
    if (cfg->f < CC_NN_F_MIN || cfg->f > CC_NN_F_MAX) {
        cc_error_set(CC_ERR_ARG, "nn: fractional bits f = %u unsupported (need %u..%u)",
                     cfg->f, CC_NN_F_MIN, CC_NN_F_MAX);
        return NULL;
    }
    switch (cfg->approx) {
    case CC_APPROX_PUMA: return &puma_set;
    case CC_APPROX_PRECISE: return &precise_set;
    }
    cc_error_set(CC_ERR_ARG, "nn: unknown approximation set %d", (int)cfg->approx);
    return NULL;
}

static unsigned ceil_log2(size_t n)
{
    unsigned lg = 0;
    while (((size_t)1 << lg) < n) lg++;
    return lg;
}

/* v^k for k ≥ 2 as the product of two lower powers at depth ⌈log2 k⌉, so
 * all powers of one level go out in one batched round. */
void cc_pow_plan_make(const cc_pw *pw, cc_pow_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    for (unsigned s = 0; s <= pw->nbreaks; s++) {
        const cc_pw_seg *sg = &pw->seg[s];
        if (sg->kind != CC_SEG_POLY) continue;
        for (unsigned k = 1; k <= sg->deg; k++)
            if (sg->c[k] != 0.0) plan->need[k] = true;
        if (sg->deg > plan->maxdeg) plan->maxdeg = sg->deg;
    }
    /* v^k = v^i · v^(k-i) at the least depth ⌈log2 k⌉, choosing among the
     * splits of that depth the one that adds the fewest powers nobody needs
     * yet (PUMA SiLU: v^6 = v^2·v^4 rather than v^3·v^3 saves v^3), the most
     * balanced on ties. */
    for (unsigned k = plan->maxdeg; k >= 2; k--) {
        if (!plan->need[k]) continue;
        unsigned best = k / 2, best_new = 3;
        for (unsigned i = k / 2; i >= 1; i--) {
            if (ceil_log2(k - i) + 1 > ceil_log2(k)) break;
            unsigned fresh = !plan->need[i] + (i != k - i && !plan->need[k - i]);
            if (fresh < best_new) { best = i; best_new = fresh; }
        }
        plan->lhs[k] = best;
        plan->rhs[k] = k - best;
        plan->need[best] = plan->need[k - best] = true;
    }
    plan->need[1] = plan->maxdeg >= 1;
    plan->level[1] = 0;
    plan->nlevels = 0;
    for (unsigned k = 2; k <= plan->maxdeg; k++) {
        if (!plan->need[k]) continue;
        unsigned a = plan->level[plan->lhs[k]], b = plan->level[plan->rhs[k]];
        plan->level[k] = 1 + (a > b ? a : b);
        if (plan->level[k] > plan->nlevels) plan->nlevels = plan->level[k];
    }
}

static void fill_deltas(uint64_t *delta, unsigned L, double (*F)(unsigned, unsigned, unsigned),
                        unsigned f, unsigned extra)
{
    uint64_t prev = 0;
    for (unsigned i = 0; i < L; i++) {
        uint64_t cur = (uint64_t)llround(F(i, f, extra));
        delta[i] = cur - prev;
        prev = cur;
    }
}

static double recip_norm(unsigned i, unsigned f, unsigned extra) { (void)f; (void)extra; return ldexp(1.0, 60 - (int)i); }
static double recip_comp(unsigned i, unsigned f, unsigned extra) { (void)extra; return ldexp(1.0, (61 - 2 * (int)f) + (int)f - 1 - (int)i); }
static double rsqrt_norm(unsigned i, unsigned f, unsigned extra) { (void)f; (void)extra; return ldexp(1.0, 59 - (int)i); }
static double rsqrt_comp(unsigned i, unsigned f, unsigned K)
{
    return ldexp(pow(2.0, -((double)i + 2.0 - (double)f) / 2.0), (int)(f + K));
}

void cc_norm_plan_recip(unsigned f, cc_norm_plan *np)
{
    memset(np, 0, sizeof *np);
    np->L = 61 - f;
    np->norm_shift = 61 - f;
    np->comp_shift = 61 - 2 * f;
    fill_deltas(np->norm_delta, np->L, recip_norm, f, 0);
    fill_deltas(np->comp_delta, np->L, recip_comp, f, 0);
}

void cc_norm_plan_rsqrt(unsigned f, cc_norm_plan *np)
{
    memset(np, 0, sizeof *np);
    int K = 60 - 2 * (int)f - ((int)f - 1) / 2;
    if (K < 0) K = 0;
    np->L = CC_MIN(60u, f + 2 * (unsigned)K);
    np->norm_shift = 61 - f;
    np->comp_shift = f + (unsigned)K;
    fill_deltas(np->norm_delta, np->L, rsqrt_norm, f, 0);
    fill_deltas(np->comp_delta, np->L, rsqrt_comp, f, (unsigned)K);
}

uint64_t cc_norm_eval(const uint64_t *delta, unsigned L, uint64_t x)
{
    uint64_t acc = 0;
    for (unsigned i = 0; i < L; i++)
        if ((int64_t)(x - (1ull << i)) >= 0) acc += delta[i];
    return acc;
}

void cc_rowmean_plan_make(size_t n, cc_rowmean_plan *rp)
{
    unsigned lg = ceil_log2(n);
    rp->mean_k = lg + 20;
    rp->mean_c = (uint64_t)llround(ldexp(1.0, (int)rp->mean_k) / (double)n);
    rp->sq_shift = lg;      /* + f, added by the caller who knows f */
    rp->var_k = 21;
    rp->var_c = (uint64_t)llround(ldexp(1.0, 21 + (int)lg) / (double)n);
}

uint64_t cc_nn_eps(double eps, unsigned f)
{
    int64_t e = llround(ldexp(eps, (int)f));
    return (uint64_t)(e < 1 ? 1 : e);
}

void cc_nn_causal_mask(size_t rows, size_t cols, size_t offset, uint8_t *mask)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) mask[r * cols + c] = c <= r + offset;
}

/* ---- bucketed cubic ---------------------------------------------------------------- */
static double bk_g(cc_bk_fn fn, double u) { return fn == CC_BK_RECIP ? 1.0 / u : 1.0 / sqrt(u); }

/* The cubic in w ∈ [0, 1] through g(u_lo + width·w) at the four Chebyshev
 * nodes (within a factor ~1.5 of the minimax error), monomial coefficients. */
static void bk_fit(cc_bk_fn fn, double u_lo, double width, double a[4])
{
    double m[4][5];
    for (int k = 0; k < 4; k++) {
        double w = 0.5 - 0.5 * cos((2.0 * k + 1.0) * 3.14159265358979323846 / 8.0), pw = 1.0;
        for (int c = 0; c < 4; c++) { m[k][c] = pw; pw *= w; }
        m[k][4] = bk_g(fn, u_lo + width * w);
    }
    for (int c = 0; c < 4; c++) {            /* Gauss-Jordan, partial pivoting */
        int piv = c;
        for (int r = c + 1; r < 4; r++) if (fabs(m[r][c]) > fabs(m[piv][c])) piv = r;
        for (int k = 0; k < 5; k++) { double t = m[c][k]; m[c][k] = m[piv][k]; m[piv][k] = t; }
        for (int r = 0; r < 4; r++) {
            if (r == c) continue;
            double q = m[r][c] / m[c][c];
            for (int k = c; k < 5; k++) m[r][k] -= q * m[c][k];
        }
    }
    for (int c = 0; c < 4; c++) a[c] = m[c][4] / m[c][c];
}

/* C(i): g(x) = g(u)·C(i) for x at in_bits fractional bits in octave i */
static double bk_comp(cc_bk_fn fn, unsigned in_bits, unsigned i)
{
    if (fn == CC_BK_RECIP) return ldexp(1.0, (int)in_bits - (int)i - 1);
    return pow(2.0, ((double)in_bits - (double)i - 2.0) / 2.0);
}

cc_bucket_plan *cc_bucket_plan_new(cc_bk_fn fn, unsigned in_bits, unsigned lo, unsigned hi,
                                   double scale, bool fold, unsigned out_bits,
                                   unsigned comp_bits)
{
    return cc_bucket_plan_new_m(fn, in_bits, lo, hi, scale, fold, out_bits, comp_bits,
                                CC_NN_BK_LGM);
}

cc_bucket_plan *cc_bucket_plan_new_m(cc_bk_fn fn, unsigned in_bits, unsigned lo, unsigned hi,
                                     double scale, bool fold, unsigned out_bits,
                                     unsigned comp_bits, unsigned lgm)
{
    if (hi > 62) hi = 62;
    if (lo >= hi) lo = hi - 1;
    cc_bucket_plan *bp = cc_alloc(sizeof *bp);
    if (!bp) return NULL;
    memset(bp, 0, sizeof *bp);
    if (lgm > CC_NN_BK_LGM) lgm = CC_NN_BK_LGM;
    const unsigned M = 1u << lgm, e = fn == CC_BK_RECIP ? 1u : 2u;
    const unsigned Fu = CC_NN_BK_FW + lgm + e;
    unsigned Nb = hi - 1 > Fu - e + 1 ? hi - 1 : Fu - e + 1;
    bp->lo = lo;
    bp->hi = hi;
    bp->nt = (size_t)(hi - lo) * M;
    bp->lgm = lgm;
    bp->fu = Fu;
    bp->norm_shift = Nb - Fu + e;
    bp->out_bits = out_bits;
    bp->comp_bits = comp_bits;
    double a[CC_NN_BK_M][4];
    const double u0 = ldexp(1.0, -(int)e);
    for (unsigned j = 0; j < M; j++) bk_fit(fn, u0 * (1.0 + (double)j / M), u0 / M, a[j]);
    /* F(i, j) of each combination; the first threshold's predecessor is
     * (lo - 1, M - 1), or nothing when lo = 0 (x ≥ 1 = 2^0 always) */
    uint64_t prev[CC_BK_NCOMB] = { 0 };
    for (int pass = lo > 0 ? -1 : 0; pass < (int)bp->nt; pass++) {
        unsigned i = pass < 0 ? lo - 1 : lo + (unsigned)pass / M;
        unsigned j = pass < 0 ? M - 1 : (unsigned)pass % M;
        double c = bk_comp(fn, in_bits, i) * scale;
        uint64_t F[CC_BK_NCOMB];
        F[CC_BK_N] = 1ull << (Nb - i);
        F[CC_BK_U] = (1ull << (Fu - e)) + ((uint64_t)j << (Fu - e - lgm));
        for (int k = 0; k < 4; k++)
            F[CC_BK_A0 + k] = cc_nn_enc(a[j][k] * (fold ? c : 1.0), out_bits + CC_NN_BK_GUARD);
        F[CC_BK_C] = fold ? 0 : cc_nn_enc(c, comp_bits);
        if (pass < 0) {
            memcpy(bp->base, F, sizeof F);
        } else {
            /* ceil(2^i (1 + j/M)): x ≥ it exactly when x ≥ 2^i (1 + j/M) */
            bp->thr[pass] = (1ull << i) + (i >= lgm ? (uint64_t)j << (i - lgm)
                                                 : (((uint64_t)j << i) + M - 1) / M);
            for (int k = 0; k < CC_BK_NCOMB; k++) bp->delta[k][pass] = F[k] - prev[k];
        }
        memcpy(prev, F, sizeof F);
    }
    return bp;
}

void cc_bucket_comb(const cc_bucket_plan *bp, uint64_t x, uint64_t comb[CC_BK_NCOMB])
{
    for (int k = 0; k < CC_BK_NCOMB; k++) comb[k] = bp->base[k];
    for (size_t t = 0; t < bp->nt; t++)
        if ((int64_t)(x - bp->thr[t]) >= 0)
            for (int k = 0; k < CC_BK_NCOMB; k++) comb[k] += bp->delta[k][t];
}

uint64_t cc_bucket_poly(const uint64_t comb[CC_BK_NCOMB], uint64_t w)
{
    const unsigned FW = CC_NN_BK_FW;
    uint64_t t1 = cc_nn_mul_floor(comb[CC_BK_A1], w, FW);
    uint64_t w2 = cc_nn_mul_floor(w, w, FW);
    uint64_t t3 = cc_nn_mul_floor(comb[CC_BK_A3], w, FW);
    uint64_t acc = comb[CC_BK_A2] * w2 + t3 * w2 + ((comb[CC_BK_A0] + t1) << FW) +
                   (1ull << (FW + CC_NN_BK_GUARD - 1));   /* round to nearest */
    return cc_nn_floor(acc, FW + CC_NN_BK_GUARD);
}

/* The quadratic through g(x) at the Chebyshev nodes of [c, c + w), as
 * coefficients of τ = x − c (Newton's divided differences). */
static void quad_fit(double (*g)(double), double c, double w, double q[3])
{
    double x[3], y[3];
    for (int k = 0; k < 3; k++) {
        x[k] = w * (1.0 - cos((2.0 * k + 1.0) * 3.14159265358979323846 / 6.0)) / 2.0;
        y[k] = g(c + x[k]);
    }
    double d01 = (y[1] - y[0]) / (x[1] - x[0]), d12 = (y[2] - y[1]) / (x[2] - x[1]);
    double d012 = (d12 - d01) / (x[2] - x[0]);
    q[2] = d012;
    q[1] = d01 - d012 * (x[0] + x[1]);
    q[0] = y[0] - d01 * x[0] + d012 * x[0] * x[1];
}

static double recip(double x) { return 1.0 / x; }

/* A plan of 2^lgm quadratic buckets per octave over [2^lo, 2^hi): every
 * bucket start c = 2^i + j·2^(i−lgm) but the window's is a threshold, and
 * fill gives bucket (i, j)'s combinations. */
typedef void (*quad_fill_fn)(const void *ctx, unsigned i, unsigned j, uint64_t F[CC_BK_NCOMB]);

static cc_bucket_plan *quad_plan_new(const char *what, unsigned lo, unsigned hi, unsigned lgm,
                                     quad_fill_fn fill, const void *ctx)
{
    const unsigned M = 1u << lgm;
    if (lo < lgm || lo >= hi || (size_t)(hi - lo) * M - 1 > CC_NN_BK_MAXT) {
        cc_error_set(CC_ERR_ARG, "nn: %s window [2^%u, 2^%u) unsupported", what, lo, hi);
        return NULL;
    }
    cc_bucket_plan *bp = cc_alloc(sizeof *bp);
    if (!bp) return NULL;
    memset(bp, 0, sizeof *bp);
    bp->lo = lo;
    bp->hi = hi;
    bp->lgm = lgm;
    bp->nt = (size_t)(hi - lo) * M - 1;
    uint64_t prev[CC_BK_NCOMB] = { 0 };
    for (size_t b = 0; b <= bp->nt; b++) {
        const unsigned i = lo + (unsigned)(b / M), j = (unsigned)(b % M);
        uint64_t F[CC_BK_NCOMB] = { 0 };
        fill(ctx, i, j, F);
        if (b == 0) {
            memcpy(bp->base, F, sizeof F);
        } else {
            bp->thr[b - 1] = (1ull << i) + ((uint64_t)j << (i - lgm));
            for (int k = 0; k < CC_BK_NCOMB; k++) bp->delta[k][b - 1] = F[k] - prev[k];
        }
        memcpy(prev, F, sizeof F);
    }
    return bp;
}

/* 1/s per bucket in t = s − c: U = c, E_k at f + CC_NN_RQ_EXTRA bits. */
static void recip_quad_fill(const void *ctx, unsigned i, unsigned j, uint64_t F[CC_BK_NCOMB])
{
    const unsigned f = *(const unsigned *)ctx, lgm = CC_NN_RQ_LGM;
    const uint64_t c = (1ull << i) + ((uint64_t)j << (i - lgm));
    double q[3];
    quad_fit(recip, ldexp((double)c, -(int)f), ldexp(1.0, (int)i - (int)f - (int)lgm), q);
    F[CC_BK_U] = c;
    for (int k = 0; k < 3; k++) F[CC_BK_A0 + k] = cc_nn_enc(q[k], f + CC_NN_RQ_EXTRA);
}

cc_bucket_plan *cc_recip_quad_plan_new(unsigned f, unsigned lo, unsigned hi)
{
    if (hi > 62) hi = 62;
    if (lo >= hi) lo = hi - 1;
    cc_bucket_plan *bp = quad_plan_new("reciprocal", lo, hi, CC_NN_RQ_LGM, recip_quad_fill, &f);
    if (bp) bp->out_bits = f;
    return bp;
}

uint64_t cc_recip_quad_fold(const uint64_t comb[CC_BK_NCOMB], unsigned f, uint64_t s, uint64_t e)
{
    const unsigned G = cc_nn_rq_g(f), FG = f + CC_NN_RQ_EXTRA + G;
    uint64_t t = s - comb[CC_BK_U], t2 = cc_nn_mul_floor(t, t, f - G);
    uint64_t e0 = cc_nn_mul_floor(e, comb[CC_BK_A0], f), e1 = cc_nn_mul_floor(e, comb[CC_BK_A1], f);
    uint64_t e2 = cc_nn_mul_floor(e, comb[CC_BK_A2], f);
    return cc_nn_floor((e0 << (f + G)) + e1 * (t << G) + e2 * t2 + (1ull << (FG - 1)), FG);
}

uint64_t nn_norm_puma_p(const cc_approx_set *set, unsigned fu, uint64_t u)
{
    const double *c = set->rsqrt_c;
    uint64_t u2 = cc_nn_mul_floor(u, u, fu);
    uint64_t u3 = cc_nn_mul_floor(u, u2, fu), u4 = cc_nn_mul_floor(u2, u2, fu);
    uint64_t acc = (cc_nn_enc(c[0], fu) << fu) + cc_nn_enc(c[1], fu) * u + cc_nn_enc(c[2], fu) * u2 +
                   cc_nn_enc(c[3], fu) * u3 + cc_nn_enc(c[4], fu) * u4;
    return cc_nn_floor(acc, fu) << (CC_NN_NORM_FP - fu);
}

static double inv_sqrt(double u) { return 1.0 / sqrt(u); }

/* rsqrt(S / n) = sqrt(n)·2^((2f − i)/2)·u^(−1/2), u = S / 2^i ∈ [1, 2):
 * N = 2^(61 − i), U = the bucket start in u at CC_NN_NQ_FU bits, Q_k = C_i·q_k. */
typedef struct norm_quad_ctx { unsigned f; size_t cols; } norm_quad_ctx;

static void norm_quad_fill(const void *ctx, unsigned i, unsigned j, uint64_t F[CC_BK_NCOMB])
{
    const norm_quad_ctx *nc = ctx;
    const unsigned M = 1u << CC_NN_NQ_LGM, Fu = CC_NN_NQ_FU;
    double q[3];
    quad_fit(inv_sqrt, 1.0 + (double)j / M, 1.0 / M, q);
    const double C = sqrt((double)nc->cols) * pow(2.0, ((double)(2 * nc->f) - (double)i) / 2.0);
    F[CC_BK_N] = 1ull << (61 - i);
    F[CC_BK_U] = (1ull << Fu) + ((uint64_t)j << (Fu - CC_NN_NQ_LGM));
    for (int k = 0; k < 3; k++) F[CC_BK_A0 + k] = cc_nn_enc(C * q[k], cc_nn_nq_fq(nc->f));
}

/* The low end of the norms' window of S = Σ v² + n·eps at 2f bits: at least
 * n·2^f (eps ≥ 1 ulp), whatever eps, so that cc_nn_cost need not know it. */
static unsigned norm_window_lo(unsigned f, size_t cols)
{
    unsigned lo = f;
    for (uint64_t ne = (uint64_t)cols; ne > 1; ne >>= 1) lo++;
    return lo;
}

cc_bucket_plan *nn_norm_quad_plan_new(unsigned f, size_t cols)
{
    const unsigned lo = norm_window_lo(f, cols);
    const norm_quad_ctx nc = { f, cols };
    cc_bucket_plan *bp = quad_plan_new("norm", lo, 62, CC_NN_NQ_LGM, norm_quad_fill, &nc);
    if (!bp) return NULL;
    bp->fu = CC_NN_NQ_FU;
    bp->norm_shift = 61 - CC_NN_NQ_FU;
    bp->out_bits = cc_nn_nq_fq(f);
    return bp;
}

uint64_t nn_norm_quad1(const cc_bucket_plan *bp, unsigned f, const uint64_t comb[CC_BK_NCOMB],
                       uint64_t S, uint64_t v, uint64_t gamma)
{
    const unsigned Fu = bp->fu, fq = bp->out_bits, gv = cc_nn_nq_gv(f);
    const uint64_t t = cc_nn_mul_floor(S, comb[CC_BK_N], bp->norm_shift) - comb[CC_BK_U];
    const uint64_t vg = cc_nn_mul_floor(v, gamma, f - gv);
    const uint64_t X = cc_nn_mul_floor(vg, t, Fu), Y = cc_nn_mul_floor(comb[CC_BK_A2], t, Fu);
    return cc_nn_floor(vg * comb[CC_BK_A0] + X * comb[CC_BK_A1] + X * Y +
                       (1ull << (gv + fq - 1)), gv + fq);
}

cc_bucket_plan *nn_norm_plan(const cc_approx_set *set, unsigned f, size_t cols)
{
    if (set->bucket_cubic) return nn_norm_quad_plan_new(f, cols);
    /* puma: one bucket per octave (lgm 0) */
    return cc_bucket_plan_new_m(CC_BK_RSQRT, 2 * f, norm_window_lo(f, cols), 62,
                                sqrt((double)cols), false, CC_NN_NORM_FP, CC_NN_NORM_CB, 0);
}

/* q(δ) ≈ e^δ on [−1, 1]: the degree-6 polynomial through the seven
 * Chebyshev nodes cos(π(k + ½)/7) (fitted once, offline; max error 3.7e-6,
 * checked by test_nn_plans). */
static const double smexp_q[CC_NN_SMSEG_DEG + 1] = {
    0.9999999999999999, 1.0000222348895889, 0.5000027659225681, 0.16648909379189092,
    0.04164456982929609, 0.008686644402276789, 0.0014328995351580581,
};

bool cc_smexp_plan_make(unsigned f, double thr, cc_smexp_plan *pl)
{
    if (f < 8 || f > 30 || !(thr < 0) || thr < -2.0 * CC_NN_SMSEG_MAX) {
        cc_error_set(CC_ERR_ARG, "nn: softmax exp segments need f in 8..30 and a threshold in "
                     "[-%d, 0), got f = %u, %g", 2 * CC_NN_SMSEG_MAX, f, thr);
        return false;
    }
    memset(pl, 0, sizeof *pl);
    pl->nseg = (unsigned)ceil(-thr / 2.0);
    pl->f = f;
    pl->F = 2 * f - 1 < 29 ? 2 * f - 1 : 29;     /* δ² >> (2f − F) needs a shift ≥ 1 */
    pl->fK = 2 * pl->F < 30 ? 2 * pl->F : 30;     /* K_0 enters the sum << (2F − fK) */
    const double w = -thr / pl->nseg;
    for (unsigned s = 0; s < pl->nseg; s++) {
        pl->c[s] = cc_nn_enc(-(s + 1.0) * w, f);
        pl->mid[s] = cc_nn_enc(-(s + 0.5) * w, f);
        for (unsigned k = 0; k <= CC_NN_SMSEG_DEG; k++)
            pl->K[k][s] = cc_nn_enc(smexp_q[k] * exp(-(s + 0.5) * w), pl->fK);
    }
    pl->c[pl->nseg - 1] = cc_nn_enc(thr, f);     /* exactly exp's threshold */
    return true;
}
