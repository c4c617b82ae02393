/* White-box checks of nn's fixed-point plans (nn_impl.h): the softmax
 * row-sum reciprocal's quadratic buckets (cc_recip_quad_plan_new,
 * cc_recip_quad_fold) against 1/s and against the bucket cubic it
 * replaced, at every supported f. */
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
    /* windows the plan cannot hold are refused, not truncated */
    assert_null(cc_recip_quad_plan_new(f, 2, 4));          /* below 2^5: no 1/32 steps */
    assert_null(cc_recip_quad_plan_new(f, 20, 40));         /* too many buckets */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recip_quad_plan_shape),
        cmocka_unit_test(recip_quad_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
