/* Plaintext fixed-point models of reciprocal, rsqrt, softmax, LayerNorm,
 * RMSNorm and argmax (same scales and truncation points as mpc_*.c). */
#include <string.h>
#include "nn_impl.h"


/* Goldschmidt after normalising by the highest set bit (SPU fxp_base.cc's
 * method): c = x·2^-(p+1) ∈ [0.5, 1), w0 = 2.9142 - 2c, e0 = 1 - c·w0,
 * r ← r(1+e), e ← e^2; finally 1/x = r · 2^-(p+1). */
static uint64_t recip1(const cc_approx_set *set, const cc_norm_plan *np, unsigned f, uint64_t x)
{
    uint64_t c = cc_nn_mul_floor(x, cc_norm_eval(np->norm_delta, np->L, x), np->norm_shift);
    uint64_t w = cc_nn_enc(2.9142, f) - 2 * c;
    uint64_t e = (1ull << f) - cc_nn_mul_floor(c, w, f);
    uint64_t r = w;
    for (unsigned it = 0; it < set->recip_iters; it++) {
        uint64_t r_next = cc_nn_mul_floor(r, (1ull << f) + e, f);
        if (it + 1 < set->recip_iters) e = cc_nn_mul_floor(e, e, f);
        r = r_next;
    }
    return cc_nn_mul_floor(r, cc_norm_eval(np->comp_delta, np->L, x), np->comp_shift);
}

/* rsqrt: u = x·2^-(p+2) ∈ [0.25, 0.5), quartic guess, optional Newton step
 * r ← r(3 - u r^2)/2 on u, then the exact factor 2^-(p+2-f)/2. */
static uint64_t rsqrt1(const cc_approx_set *set, const cc_norm_plan *np, unsigned f, uint64_t x,
                       unsigned extra)
{
    uint64_t u = cc_nn_mul_floor(x, cc_norm_eval(np->norm_delta, np->L, x), np->norm_shift);
    uint64_t u2 = cc_nn_mul_floor(u, u, f);
    uint64_t u3 = cc_nn_mul_floor(u, u2, f);
    uint64_t u4 = cc_nn_mul_floor(u2, u2, f);
    const double *c = set->rsqrt_c;
    uint64_t acc = (cc_nn_enc(c[0], f) << f) + cc_nn_enc(c[1], f) * u + cc_nn_enc(c[2], f) * u2 +
                   cc_nn_enc(c[3], f) * u3 + cc_nn_enc(c[4], f) * u4;
    uint64_t r = cc_nn_floor(acc, f);
    for (unsigned it = 0; it < set->rsqrt_newton; it++) {
        uint64_t r2 = cc_nn_mul_floor(r, r, f);
        uint64_t t = cc_nn_mul_floor(u, r2, f);
        r = cc_nn_mul_floor(r, (3ull << f) - t, f + 1);
    }
    return cc_nn_mul_floor(r, cc_norm_eval(np->comp_delta, np->L, x), np->comp_shift - extra);
}

/* Bucketed cubic (precise set): u = x·N >> norm_shift, w = u - U, then
 * the three product levels of cc_bucket_poly. */
static uint64_t bucket1(const cc_bucket_plan *bp, uint64_t x)
{
    uint64_t comb[CC_BK_NCOMB];
    cc_bucket_comb(bp, x, comb);
    uint64_t w = cc_nn_mul_floor(x, comb[CC_BK_N], bp->norm_shift) - comb[CC_BK_U];
    return cc_bucket_poly(comb, w);
}

cc_status cc_nnref_reciprocal(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    cc_norm_plan np;
    cc_norm_plan_recip(cfg->f, &np);
    if (set->bucket_cubic) {
        unsigned lo = 0, hi = 64;
        nn_recip_window(cfg->f, &lo, &hi);
        cc_bucket_plan *bp = cc_bucket_plan_new(CC_BK_RECIP, cfg->f, lo, hi, 1.0, true, cfg->f, 0);
        if (!bp) return CC_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) out[i] = bucket1(bp, x[i]);
        cc_free(bp);
        return CC_OK;
    }
    for (size_t i = 0; i < n; i++) out[i] = recip1(set, &np, cfg->f, x[i]);
    return CC_OK;
}

cc_status cc_nnref_rsqrt(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    cc_norm_plan np;
    cc_norm_plan_rsqrt(cfg->f, &np);
    if (set->bucket_cubic) {
        cc_bucket_plan *bp = cc_bucket_plan_new(CC_BK_RSQRT, cfg->f, 0, np.L, 1.0, true, cfg->f, 0);
        if (!bp) return CC_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) out[i] = bucket1(bp, x[i]);
        cc_free(bp);
        return CC_OK;
    }
    for (size_t i = 0; i < n; i++) out[i] = rsqrt1(set, &np, cfg->f, x[i], 0);
    return CC_OK;
}

uint64_t cc_nnref_smexp1(const cc_smexp_plan *pl, uint64_t d)
{
    const unsigned f = pl->f, F = pl->F, fK = pl->fK, n = pl->nseg;
    if (!cc_smexp_g(pl, n - 1, d)) return 0;                 /* below the threshold */
    unsigned s = 0;
    while (!cc_smexp_g(pl, s, d)) s++;                       /* d ∈ [c_s, c_(s−1)) */
    const uint64_t dl = d - pl->mid[s];
    uint64_t P[CC_NN_SMSEG_DEG + 1];
    const uint64_t d2 = cc_nn_mul_floor(dl, dl, 2 * f - F);
    for (unsigned k = 1; k <= CC_NN_SMSEG_DEG; k++) P[k] = cc_nn_mul_floor(pl->K[k][s], dl, fK + f - F);
    const uint64_t d3 = cc_nn_mul_floor(dl, d2, f);
    const uint64_t A2 = cc_nn_mul_floor(P[2], dl, f), A4 = cc_nn_mul_floor(P[4], dl, f);
    const uint64_t A3 = cc_nn_mul_floor(P[3], d2, F), A5 = cc_nn_mul_floor(P[5], d2, F);
    const uint64_t A6 = cc_nn_mul_floor(P[6], d2, F);
    const uint64_t z = (pl->K[0][s] << (2 * F - fK)) + ((P[1] + A2 + A3) << F) + A4 * d2 + A5 * d2 +
                       A6 * d3 + (1ull << (2 * F - f - 1));
    return cc_nn_floor(z, 2 * F - f);
}

cc_status cc_nnref_softmax(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                           const uint8_t *mask, size_t mask_rows, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    if (mask && mask_rows == 0)
        return cc_error_set(CC_ERR_ARG, "softmax: mask given with 0 rows");
    unsigned f = cfg->f;
    cc_norm_plan np;
    cc_norm_plan_recip(f, &np);
    cc_bucket_plan *bp = NULL;
    /* precise set, rows settled in one group of the maximum: the softmax exp
     * and the folded final product (cc_nn_softmax) */
    const bool fold = set->bucket_cubic && cols >= 2 && nn_max_next_k(cols) == cols;
    cc_smexp_plan sp;
    if (fold && !cc_smexp_plan_make(f, set->exp.threshold, &sp)) return CC_ERR_ARG;
    if (set->bucket_cubic) {
        /* the row sum's window, as in cc_nn_softmax */
        unsigned lg = 0, lo, hi;
        while (((size_t)1 << lg) < cols) lg++;
        lo = f - 1, hi = f + lg + 1;
        nn_recip_window(f, &lo, &hi);
        bp = fold ? cc_recip_quad_plan_new(f, lo, hi)
                  : cc_bucket_plan_new(CC_BK_RECIP, f, lo, hi, 1.0, true, f, 0);
        if (!bp) return CC_ERR_NOMEM;
    }
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *xr = x + r * cols;
        const uint8_t *mr = mask ? mask + (r % mask_rows) * cols : NULL;
        uint64_t *yr = out + r * cols;
        int64_t m = (int64_t)CC_NN_MASKED_LOGIT;
        size_t live = 0;
        for (size_t c = 0; c < cols; c++)
            if (!mr || mr[c]) { live++; if ((int64_t)xr[c] > m) m = (int64_t)xr[c]; }
        if (live == 0) { memset(yr, 0, cols * sizeof *yr); continue; }
        uint64_t s = 0;
        for (size_t c = 0; c < cols; c++) {
            uint64_t d = xr[c] - (uint64_t)m, e = 0;
            if (!mr || mr[c]) e = fold ? cc_nnref_smexp1(&sp, d) : cc_nnref_exp1(&set->exp, f, d);
            yr[c] = e;
            s += e;
        }
        if (fold) {
            uint64_t comb[CC_BK_NCOMB];
            cc_bucket_comb(bp, s, comb);
            for (size_t c = 0; c < cols; c++)
                yr[c] = (!mr || mr[c]) ? cc_recip_quad_fold(comb, f, s, yr[c]) : 0;
            continue;
        }
        uint64_t inv = bp ? bucket1(bp, s) : recip1(set, &np, f, s);
        for (size_t c = 0; c < cols; c++)
            yr[c] = (!mr || mr[c]) ? cc_nn_mul_floor(yr[c], inv, f) : 0;
    }
    cc_free(bp);
    return CC_OK;
}

/* Norms (norm_bucket_mpc): S = Σ v² + n·eps at 2f bits; precise: the
 * 1/32-octave quadratic with the weight first (nn_norm_quad1); puma:
 * PUMA's quartic mantissa P and the octave factor C from the plan,
 * y = ((v·C >> 24)·weight >> f)·P >> 30. */
static void norm_bucket_row(const cc_approx_set *set, const cc_bucket_plan *bp, unsigned f,
                            size_t cols, const uint64_t *v,
                            const uint64_t *weight, const uint64_t *beta, uint64_t eps_f,
                            uint64_t *y)
{
    uint64_t S = ((uint64_t)cols * eps_f) << f;
    for (size_t c = 0; c < cols; c++) S += v[c] * v[c];
    uint64_t comb[CC_BK_NCOMB];
    cc_bucket_comb(bp, S, comb);
    if (set->bucket_cubic) {
        for (size_t c = 0; c < cols; c++)
            y[c] = nn_norm_quad1(bp, f, comb, S, v[c], weight[c]) + (beta ? beta[c] : 0);
        return;
    }
    uint64_t u = cc_nn_mul_floor(S, comb[CC_BK_N], bp->norm_shift);
    uint64_t P = nn_norm_puma_p(set, bp->fu, u);
    for (size_t c = 0; c < cols; c++) {
        uint64_t vC = cc_nn_mul_floor(v[c], comb[CC_BK_C], CC_NN_NORM_VCS);
        uint64_t vCw = cc_nn_mul_floor(vC, weight[c], f);
        y[c] = cc_nn_mul_floor(vCw, P, CC_NN_NORM_VCX + CC_NN_NORM_FP) + (beta ? beta[c] : 0);
    }
}

cc_status cc_nnref_layernorm(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                             const uint64_t *gamma, const uint64_t *beta, double eps,
                             uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    if (cols == 0) return CC_OK;
    unsigned f = cfg->f;
    cc_rowmean_plan rp;
    cc_rowmean_plan_make(cols, &rp);
    uint64_t e = cc_nn_eps(eps, f);
    cc_bucket_plan *bp = nn_norm_plan(set, f, cols);
    if (!bp) return CC_ERR_NOMEM;
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *xr = x + r * cols;
        uint64_t *yr = out + r * cols;
        uint64_t sum = 0;
        for (size_t c = 0; c < cols; c++) sum += xr[c];
        uint64_t mean = cc_nn_mul_floor(sum, rp.mean_c, rp.mean_k);
        for (size_t c = 0; c < cols; c++) yr[c] = xr[c] - mean;
        norm_bucket_row(set, bp, f, cols, yr, gamma, beta, e, yr);
    }
    cc_free(bp);
    return CC_OK;
}

cc_status cc_nnref_rmsnorm(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                           const uint64_t *weight, double eps, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    if (cols == 0) return CC_OK;
    unsigned f = cfg->f;
    uint64_t e = cc_nn_eps(eps, f);
    cc_bucket_plan *bp = nn_norm_plan(set, f, cols);
    if (!bp) return CC_ERR_NOMEM;
    for (size_t r = 0; r < rows; r++)
        norm_bucket_row(set, bp, f, cols, x + r * cols, weight, NULL, e, out + r * cols);
    cc_free(bp);
    return CC_OK;
}

cc_status cc_nnref_argmax(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                          uint64_t *index_out)
{
    if (!cc_nn_set(cfg)) return CC_ERR_ARG;
    if (cols == 0) return cc_error_set(CC_ERR_ARG, "argmax: rows of 0 columns");
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *xr = x + r * cols;
        size_t best = 0;
        for (size_t c = 1; c < cols; c++)
            if ((int64_t)xr[c] > (int64_t)xr[best]) best = c;
        index_out[r] = best;
    }
    return CC_OK;
}
