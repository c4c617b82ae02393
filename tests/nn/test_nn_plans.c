/* White-box checks of nn's fixed-point plans (nn_impl.h): the softmax
 * row-sum reciprocal's quadratic buckets (cc_recip_quad_plan_new,
 * cc_recip_quad_fold) against 1/s and against the bucket cubic it
 * replaced, at every supported f; softmax's exp by segments
 * (cc_smexp_plan, cc_nnref_smexp1) against exp() and its segment bits at
 * every boundary; the precise norms' 1/32-octave rsqrt (nn_norm_quad1)
 * against libm over rows of very different scales. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nn_impl.h"

/* Worst |y − 2^(2f)/s| in output ulps over the window [2^lo, 2^hi) (every
 * `step`-th s, plus the last one), with e = 1: the quadratic fold, and the
 * cubic (the normalised bucket plan) when `cubic` is given. */
static double quad_worst(unsigned f, unsigned lo, unsigned hi, uint64_t step, double *cubic)
{
    cc_bucket_plan *bq = cc_recip_quad_plan_new(f, lo, hi);
    cc_bucket_plan *bc = cubic ? cc_bucket_plan_new(CC_BK_RECIP, f, lo, hi, 1.0, true, f, 0) : NULL;
    assert_non_null(bq);
    double worst = 0, worst_c = 0;
    for (uint64_t s = 1ull << lo;; s += step) {
        if (s >= 1ull << hi) s = (1ull << hi) - 1;
        uint64_t comb[CC_BK_NCOMB];
        double exact = ldexp(1.0, 2 * (int)f) / (double)s;
        cc_bucket_comb(bq, s, comb);
        double y = (double)(int64_t)cc_recip_quad_fold(comb, f, s, 1ull << f);
        worst = fmax(worst, fabs(y - exact));
        if (bc) {
            cc_bucket_comb(bc, s, comb);
            uint64_t w = cc_nn_mul_floor(s, comb[CC_BK_N], bc->norm_shift) - comb[CC_BK_U];
            worst_c = fmax(worst_c, fabs((double)(int64_t)cc_bucket_poly(comb, w) - exact));
        }
        if (s == (1ull << hi) - 1) break;
    }
    if (cubic) *cubic = worst_c;
    cc_free(bq);
    cc_free(bc);
    return worst;
}

static void recip_quad_plan_shape(void **state)
{
    (void)state;
    const unsigned f = 18, lo = f - 1, hi = f + 4;
    cc_bucket_plan *bp = cc_recip_quad_plan_new(f, lo, hi);
    assert_non_null(bp);
    /* every 1/32-octave bucket start but the window's own, ascending */
    assert_int_equal(bp->nt, (size_t)(hi - lo) * 32 - 1);
    for (size_t t = 1; t < bp->nt; t++) assert_true(bp->thr[t] > bp->thr[t - 1]);
    assert_true(bp->thr[0] > 1ull << lo);
    assert_true(bp->thr[bp->nt - 1] < 1ull << hi);
    /* the base is the first bucket: c = 2^lo (s = 0.5), E0 ≈ 1/c = 2 at
     * f + 12 bits (the interpolant's value at the bucket's edge, within
     * its 9.1e-7 relative error) */
    const int F = (int)(f + CC_NN_RQ_EXTRA);
    assert_int_equal(bp->base[CC_BK_U], 1ull << lo);
    assert_true(llabs((long long)(int64_t)bp->base[CC_BK_A0] - (long long)llround(ldexp(2.0, F))) <
                llround(ldexp(2.0 * 1e-6, F)));
    cc_free(bp);
    /* windows the plan cannot hold are refused, not truncated; the widest
     * one it can (every octave from 2^5) fits */
    assert_null(cc_recip_quad_plan_new(f, 2, 4));          /* below 2^5: no 1/32 steps */
    bp = cc_recip_quad_plan_new(f, 5, 62);
    assert_non_null(bp);
    assert_int_equal(bp->nt, 57 * 32 - 1);
    cc_free(bp);
}

/* Precise norms' plan: 1/32-octave buckets of S over [n·2^f, 2^62), and
 * the model's y = v·γ·rsqrt(S/n) against libm for rows of very different
 * scales (rms 2^-6 .. 2^6), at every f: within 3 ulps + 1e-6 relative. */
static void norm_quad_plan(void **state)
{
    (void)state;
    const size_t cols = 4096;
    cc_bucket_plan *bp = nn_norm_quad_plan_new(18, cols);
    assert_non_null(bp);
    assert_int_equal(bp->lo, 18 + 12);
    assert_int_equal(bp->nt, (size_t)(62 - 30) * 32 - 1);
    for (size_t t = 1; t < bp->nt; t++) assert_true(bp->thr[t] > bp->thr[t - 1]);
    cc_free(bp);
    assert_null(nn_norm_quad_plan_new(18, (size_t)1 << 50));   /* S's window is empty */
    for (unsigned f = CC_NN_F_MIN; f <= CC_NN_F_MAX; f++) {
        const size_t n = 64;
        bp = nn_norm_quad_plan_new(f, n);
        assert_non_null(bp);
        double worst = 0;
        for (int e = -6; e <= 6; e++)
            for (int k = 0; k < 200; k++) {
                /* a row with entries ±a (mean square a²), eps = 1 ulp */
                const double a = ldexp(1.0 + k / 200.0, e), g = 0.75;
                const uint64_t v = cc_nn_enc(a, f), gm = cc_nn_enc(g, f);
                const uint64_t S = (uint64_t)n * v * v + ((uint64_t)n << f);
                uint64_t comb[CC_BK_NCOMB];
                cc_bucket_comb(bp, S, comb);
                double Sr = ldexp((double)S, -2 * (int)f) / (double)n;
                double want = ldexp((double)(int64_t)v * ldexp((double)gm, -(int)f) / sqrt(Sr), -0);
                double got = (double)(int64_t)nn_norm_quad1(bp, f, comb, S, v, gm);
                worst = fmax(worst, fabs(got - want) - 1e-6 * fabs(want));
            }
        if (f == 18) printf("  norm quad: %.3f ulps beyond 1e-6 relative (f = 18)\n", worst);
        if (worst > 3.0) fail_msg("f = %u: norm off by %.3f ulps", f, worst);
        cc_free(bp);
    }
}

static void recip_quad_accuracy(void **state)
{
    (void)state;
    /* within half an ulp of rounding plus the interpolation error (9.1e-7
     * relative, 1/s ≤ 2 in the window) at every f; measured 0.53–0.96 ulps
     * for f ≤ 18, 1.4 / 2.3 at f = 19 / 20 */
    for (unsigned f = CC_NN_F_MIN; f <= CC_NN_F_MAX; f++) {
        double worst = quad_worst(f, f - 1, f + 5, ((1ull << (f + 5)) / 100000) | 1, NULL);
        double bound = 0.75 + 1e-6 * ldexp(2.0, (int)f);
        if (worst > bound) fail_msg("f = %u: 1/s off by %.3f ulps (bound %.3f)", f, worst, bound);
    }
    /* and no worse than the bucket cubic it replaced (f = 18, LLaMA's rows) */
    double cubic = 0, quad = quad_worst(18, 17, 21, 37, &cubic);
    printf("  recip quad %.3f ulps, cubic %.3f ulps (f = 18, s in [2^17, 2^21))\n", quad, cubic);
    assert_true(quad <= cubic);
}

/* The segments tile [thr, 0]: boundaries descending, the last one exactly
 * exp's threshold, midpoints halfway; bad arguments refused. */
static void smexp_plan_shape(void **state)
{
    (void)state;
    cc_smexp_plan pl;
    assert_true(cc_smexp_plan_make(18, -14.0, &pl));
    assert_int_equal(pl.nseg, 7);
    assert_int_equal(pl.c[pl.nseg - 1], cc_nn_enc(-14.0, 18));
    for (unsigned s = 0; s < pl.nseg; s++) {
        uint64_t hi = s ? pl.c[s - 1] : 0;
        assert_true((int64_t)pl.c[s] < (int64_t)hi);
        assert_int_equal(pl.mid[s], pl.c[s] + (hi - pl.c[s]) / 2);
        /* K_0 = a_0 e^(m_s) ≈ e^(m_s) */
        double k0 = ldexp((double)pl.K[0][s], -(int)pl.fK);
        assert_true(fabs(k0 - exp(-(s + 0.5) * 2.0)) < 1e-8);
    }
    assert_true(pl.F <= 2 * 18 - 1 && 2 * pl.F >= pl.fK);
    assert_false(cc_smexp_plan_make(18, 0.0, &pl));
    assert_false(cc_smexp_plan_make(18, -40.0, &pl));
    assert_false(cc_smexp_plan_make(4, -14.0, &pl));
}

/* The model against exp(d) on a dense grid of [thr, 0] and at both sides
 * of every boundary, at every f: within 0.75 ulps (rounding and floors)
 * plus q's error 3.7e-6·e^(m_s) ≤ 1.4e-6 (measured 0.84 ulps at f = 18,
 * 1.9 at f = 20); 0 below the threshold. */
static void smexp_accuracy(void **state)
{
    (void)state;
    for (unsigned f = CC_NN_F_MIN; f <= CC_NN_F_MAX; f++) {
        cc_smexp_plan pl;
        assert_true(cc_smexp_plan_make(f, -14.0, &pl));
        double worst = 0;
        const uint64_t lo = pl.c[pl.nseg - 1], step = ((0 - lo) / 200000) | 1;
        for (uint64_t d = lo; (int64_t)d <= 0; d += step) {
            double want = ldexp(exp(ldexp((double)(int64_t)d, -(int)f)), (int)f);
            worst = fmax(worst, fabs((double)(int64_t)cc_nnref_smexp1(&pl, d) - want));
        }
        for (unsigned s = 0; s < pl.nseg; s++)
            for (int64_t o = -2; o <= 2; o++) {
                uint64_t d = pl.c[s] + (uint64_t)o;
                if ((int64_t)d > 0) continue;
                double want = ldexp(exp(ldexp((double)(int64_t)d, -(int)f)), (int)f);
                double got = (double)(int64_t)cc_nnref_smexp1(&pl, d);
                if (s == pl.nseg - 1 && o < 0) assert_true(got == 0.0);
                else worst = fmax(worst, fabs(got - want));
            }
        assert_true(llabs((long long)cc_nnref_smexp1(&pl, 0) - (1ll << f)) <= 1);
        assert_int_equal(cc_nnref_smexp1(&pl, cc_nn_enc(-40.0, f)), 0);
        if (f == 18) printf("  softmax exp by segments: %.3f ulps from exp() (f = 18)\n", worst);
        double bound = 0.75 + 1.4e-6 * ldexp(1.0, (int)f);
        if (worst > bound) fail_msg("f = %u: exp off by %.3f ulps (bound %.3f)", f, worst, bound);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recip_quad_plan_shape),
        cmocka_unit_test(recip_quad_accuracy),
        cmocka_unit_test(norm_quad_plan),
        cmocka_unit_test(smexp_plan_shape),
        cmocka_unit_test(smexp_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
