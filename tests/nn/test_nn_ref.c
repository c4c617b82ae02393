/* nn plaintext fixed-point models vs libm (double) over each function's whole
 * input range, including the extremes, 0 and the breakpoints ± 1 ulp.  The
 * bounds are the errors documented in docs/APPROXIMATIONS.md (measured max
 * plus a small margin), so a changed constant or scale fails here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "nn.h"

#define F 18u
static const cc_nn_cfg PUMA = { F, CC_APPROX_PUMA };
static const cc_nn_cfg PRECISE = { F, CC_APPROX_PRECISE };

static uint64_t enc(double x) { return (uint64_t)(int64_t)llround(ldexp(x, F)); }
static double dec(uint64_t v) { return ldexp((double)(int64_t)v, -(int)F); }

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double silu(double x) { return x / (1.0 + exp(-x)); }

/* xorshift so the sweep is reproducible without global state */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}
static double rng_unif(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

typedef cc_status (*elem_fn)(const cc_nn_cfg *, size_t, const uint64_t *, uint64_t *);

/* Inputs: a dense grid of [lo, hi], the extremes, 0 and each breakpoint ± 1 ulp. */
static size_t build_inputs(double lo, double hi, size_t grid, const double *brk, size_t nbrk,
                           const double *extra, size_t nextra, uint64_t *x)
{
    size_t n = 0;
    for (size_t i = 0; i < grid; i++) x[n++] = enc(lo + (hi - lo) * (double)i / (double)(grid - 1));
    for (size_t j = 0; j < nbrk; j++)
        for (int d = -1; d <= 1; d++) x[n++] = enc(brk[j]) + (uint64_t)(int64_t)d;
    for (size_t j = 0; j < nextra; j++) x[n++] = enc(extra[j]);
    return n;
}

static double max_abs_err(elem_fn fn, const cc_nn_cfg *cfg, double (*ref)(double), size_t n,
                          const uint64_t *x, double *mean_out)
{
    uint64_t *y = malloc(n * sizeof *y);
    assert_non_null(y);
    assert_int_equal(fn(cfg, n, x, y), CC_OK);
    double mx = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(dec(y[i]) - ref(dec(x[i])));
        sum += e;
        if (e > mx) mx = e;
    }
    free(y);
    if (mean_out) *mean_out = sum / (double)n;
    return mx;
}

static void check_activation(const char *name, elem_fn fn, double (*ref)(double),
                             const cc_nn_cfg *cfg, const double *brk, size_t nbrk, double bound)
{
    static const double extremes[] = { -1e4, 1e4, -16, 16, 0.0, -100, 100 };
    uint64_t *x = malloc((200001 + 64) * sizeof *x);
    assert_non_null(x);
    size_t n = build_inputs(-16, 16, 200001, brk, nbrk, extremes, CC_ARRAY_LEN(extremes), x);
    double mean, mx = max_abs_err(fn, cfg, ref, n, x, &mean);
    printf("  %-5s %-7s max |err| %.3g  mean %.3g  (bound %.3g)\n", name,
           cc_approx_name(cfg->approx), mx, mean, bound);
    assert_true(mx <= bound);
    free(x);
}

static void gelu_vs_libm(void **state)
{
    (void)state;
    const double bp[] = { -4, -1.95, 3 }, bq[] = { -4, 4 };
    check_activation("gelu", cc_nnref_gelu, gelu, &PUMA, bp, 3, 0.021);
    check_activation("gelu", cc_nnref_gelu, gelu, &PRECISE, bq, 2, 0.005);
}

static void silu_vs_libm(void **state)
{
    (void)state;
    const double bp[] = { -8, -4, 4 }, bq[] = { -12, -4, 0, 4, 12 };
    check_activation("silu", cc_nnref_silu, silu, &PUMA, bp, 3, 0.075);
    /* fit errors 1.08e-4 (|x| < 4), 6.9e-5 (4..12), 7.4e-5 (beyond), plus
     * coefficient rounding (≤ 0.5 ulp each) and the power truncations */
    check_activation("silu", cc_nnref_silu, silu, &PRECISE, bq, 5, 1.5e-4);
}

static void exp_vs_libm(void **state)
{
    (void)state;
    static const double brk[] = { -14 }, ext[] = { -1e4, -32, -33, -64, -100, 0 };
    uint64_t *x = malloc((100001 + 16) * sizeof *x);
    assert_non_null(x);
    size_t n = build_inputs(-20, 0, 100001, brk, 1, ext, CC_ARRAY_LEN(ext), x);
    double mean, e1 = max_abs_err(cc_nnref_exp, &PUMA, exp, n, x, &mean);
    printf("  exp   puma    max |err| %.3g  mean %.3g\n", e1, mean);
    double e2 = max_abs_err(cc_nnref_exp, &PRECISE, exp, n, x, &mean);
    printf("  exp   precise max |err| %.3g  mean %.3g\n", e2, mean);
    assert_true(e1 <= 0.009);
    assert_true(e2 <= 0.0005);
    free(x);
}

/* Relative error of reciprocal and rsqrt on a log grid of their domains. */
static double max_rel_err(elem_fn fn, const cc_nn_cfg *cfg, double (*ref)(double), double lo,
                          double hi, double *mean_out)
{
    enum { N = 20001 };
    uint64_t *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_non_null(x); assert_non_null(y);
    for (size_t i = 0; i < N; i++) x[i] = enc(lo * pow(hi / lo, (double)i / (N - 1)));
    assert_int_equal(fn(cfg, N, x, y), CC_OK);
    double mx = 0, sum = 0;
    for (size_t i = 0; i < N; i++) {
        double want = ref(dec(x[i]));
        /* relative error beyond the 2 output ulps that fixed point cannot avoid */
        double e = fmax(0.0, fabs(dec(y[i]) - want) - 2 * ldexp(1.0, -(int)F)) / want;
        sum += e;
        if (e > mx) mx = e;
    }
    free(x); free(y);
    *mean_out = sum / N;
    return mx;
}

static double inv(double x) { return 1.0 / x; }
static double rsq(double x) { return 1.0 / sqrt(x); }

static void reciprocal_vs_libm(void **state)
{
    (void)state;
    double mean;
    double e1 = max_rel_err(cc_nnref_reciprocal, &PUMA, inv, 0.01, 3e7, &mean);
    printf("  recip puma    max rel err %.3g  mean %.3g\n", e1, mean);
    assert_true(e1 <= 1e-4);
    double e2 = max_rel_err(cc_nnref_reciprocal, &PRECISE, inv, 0.01, 3e7, &mean);
    printf("  recip precise max rel err %.3g  mean %.3g\n", e2, mean);
    assert_true(e2 <= 3e-5);
}

static void rsqrt_vs_libm(void **state)
{
    (void)state;
    double mean;
    double e1 = max_rel_err(cc_nnref_rsqrt, &PUMA, rsq, 1e-4, 4e9, &mean);
    printf("  rsqrt puma    max rel err %.3g  mean %.3g\n", e1, mean);
    assert_true(e1 <= 4e-4);
    double e2 = max_rel_err(cc_nnref_rsqrt, &PRECISE, rsq, 1e-4, 4e9, &mean);
    printf("  rsqrt precise max rel err %.3g  mean %.3g\n", e2, mean);
    assert_true(e2 <= 1e-5);
}

/* Softmax of random logit rows (spread up to 40: some entries fall below the
 * -14 threshold), with and without a causal mask. */
static double softmax_err(const cc_nn_cfg *cfg, size_t rows, size_t cols, double spread,
                          bool causal)
{
    uint64_t s = 0x9e3779b97f4a7c15ull + cols;
    size_t n = rows * cols;
    uint64_t *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *mask = causal ? malloc(rows * cols) : NULL;
    double *xd = malloc(n * sizeof *xd);
    assert_non_null(x); assert_non_null(y); assert_non_null(xd);
    for (size_t i = 0; i < n; i++) { x[i] = enc(rng_unif(&s, -spread / 2, spread / 2)); xd[i] = dec(x[i]); }
    if (causal) cc_nn_causal_mask(rows, cols, cols - rows, mask);
    assert_int_equal(cc_nnref_softmax(cfg, rows, cols, x, mask, rows, y), CC_OK);
    double mx = 0;
    for (size_t r = 0; r < rows; r++) {
        double m = -INFINITY, sum = 0;
        for (size_t c = 0; c < cols; c++)
            if (!mask || mask[r * cols + c]) m = fmax(m, xd[r * cols + c]);
        for (size_t c = 0; c < cols; c++)
            if (!mask || mask[r * cols + c]) sum += exp(xd[r * cols + c] - m);
        for (size_t c = 0; c < cols; c++) {
            bool live = !mask || mask[r * cols + c];
            double want = live ? exp(xd[r * cols + c] - m) / sum : 0.0;
            if (!live) assert_int_equal(y[r * cols + c], 0);   /* exactly 0 */
            mx = fmax(mx, fabs(dec(y[r * cols + c]) - want));
        }
    }
    free(x); free(y); free(mask); free(xd);
    return mx;
}

static void softmax_vs_libm(void **state)
{
    (void)state;
    const double spreads[] = { 1, 4, 10, 40 };
    for (size_t i = 0; i < CC_ARRAY_LEN(spreads); i++) {
        double p = softmax_err(&PUMA, 64, 128, spreads[i], false);
        double q = softmax_err(&PRECISE, 64, 128, spreads[i], false);
        double pc = softmax_err(&PUMA, 8, 8, spreads[i], true);
        double qc = softmax_err(&PRECISE, 8, 8, spreads[i], true);
        printf("  softmax spread %4.0f: puma %.3g (causal 8x8 %.3g)  precise %.3g (causal %.3g)\n",
               spreads[i], p, pc, q, qc);
        assert_true(q <= 0.002 && qc <= 0.002);
        assert_true(p <= 0.025 && pc <= 0.025);
    }
    /* a fully masked row is all zero, not a division by zero */
    uint64_t x[4] = { enc(1), enc(2), enc(3), enc(4) }, y[4];
    uint8_t mask[4] = { 0, 0, 0, 0 };
    assert_int_equal(cc_nnref_softmax(&PUMA, 1, 4, x, mask, 1, y), CC_OK);
    for (int i = 0; i < 4; i++) assert_int_equal(y[i], 0);
}

static void norms_vs_libm(void **state)
{
    (void)state;
    enum { R = 16, C = 768 };
    uint64_t s = 12345;
    uint64_t *x = malloc(R * C * 8), *y = malloc(R * C * 8), g[C], b[C];
    double gd[C], bd[C];
    assert_non_null(x); assert_non_null(y);
    for (size_t c = 0; c < C; c++) {
        g[c] = enc(rng_unif(&s, 0.5, 1.5)); gd[c] = dec(g[c]);
        b[c] = enc(rng_unif(&s, -0.2, 0.2)); bd[c] = dec(b[c]);
    }
    for (size_t i = 0; i < R * C; i++) x[i] = enc(rng_unif(&s, -3, 5) * (1 + (double)(i / C)));
    const cc_nn_cfg *cfgs[2] = { &PUMA, &PRECISE };
    for (int k = 0; k < 2; k++) {
        double eln = 0, erms = 0;
        assert_int_equal(cc_nnref_layernorm(cfgs[k], R, C, x, g, b, 1e-5, y), CC_OK);
        for (size_t r = 0; r < R; r++) {
            double mean = 0, var = 0;
            for (size_t c = 0; c < C; c++) mean += dec(x[r * C + c]);
            mean /= C;
            for (size_t c = 0; c < C; c++) var += pow(dec(x[r * C + c]) - mean, 2);
            var /= C;
            for (size_t c = 0; c < C; c++) {
                double want = (dec(x[r * C + c]) - mean) / sqrt(var + 1e-5) * gd[c] + bd[c];
                eln = fmax(eln, fabs(dec(y[r * C + c]) - want));
            }
        }
        assert_int_equal(cc_nnref_rmsnorm(cfgs[k], R, C, x, g, 1e-6, y), CC_OK);
        for (size_t r = 0; r < R; r++) {
            double ms = 0;
            for (size_t c = 0; c < C; c++) ms += pow(dec(x[r * C + c]), 2);
            ms /= C;
            for (size_t c = 0; c < C; c++) {
                double want = dec(x[r * C + c]) / sqrt(ms + 1e-6) * gd[c];
                erms = fmax(erms, fabs(dec(y[r * C + c]) - want));
            }
        }
        printf("  %-7s layernorm max |err| %.3g  rmsnorm %.3g\n", cc_approx_name(cfgs[k]->approx),
               eln, erms);
        assert_true(eln <= (k == 0 ? 1e-3 : 1e-4));
        assert_true(erms <= (k == 0 ? 1e-3 : 1e-4));
    }
    free(x); free(y);
}

/* Other fractional bit counts: the scales are derived from f, so the errors
 * stay those of the approximation plus a few ulps of the chosen f. */
static void other_f(void **state)
{
    (void)state;
    const unsigned fs[] = { 16, 20 };
    enum { N = 4001 };
    uint64_t *x = malloc(N * 8), *y = malloc(N * 8);
    assert_non_null(x); assert_non_null(y);
    for (size_t k = 0; k < CC_ARRAY_LEN(fs); k++) {
        unsigned f = fs[k];
        double ulp = ldexp(1.0, -(int)f);
        for (int set = 0; set < 2; set++) {
            cc_nn_cfg cfg = { f, set ? CC_APPROX_PRECISE : CC_APPROX_PUMA };
            double eg = 0, es = 0, ee = 0, er = 0, eq = 0;
            for (size_t i = 0; i < N; i++) x[i] = (uint64_t)(int64_t)llround(ldexp(-16 + 32.0 * i / (N - 1), (int)f));
            assert_int_equal(cc_nnref_gelu(&cfg, N, x, y), CC_OK);
            for (size_t i = 0; i < N; i++) {
                double v = ldexp((double)(int64_t)x[i], -(int)f);
                eg = fmax(eg, fabs(ldexp((double)(int64_t)y[i], -(int)f) - gelu(v)));
            }
            assert_int_equal(cc_nnref_silu(&cfg, N, x, y), CC_OK);
            for (size_t i = 0; i < N; i++) {
                double v = ldexp((double)(int64_t)x[i], -(int)f);
                es = fmax(es, fabs(ldexp((double)(int64_t)y[i], -(int)f) - silu(v)));
            }
            for (size_t i = 0; i < N; i++) x[i] = (uint64_t)(int64_t)llround(ldexp(-20.0 * i / (N - 1), (int)f));
            assert_int_equal(cc_nnref_exp(&cfg, N, x, y), CC_OK);
            for (size_t i = 0; i < N; i++) {
                double v = ldexp((double)(int64_t)x[i], -(int)f);
                ee = fmax(ee, fabs(ldexp((double)(int64_t)y[i], -(int)f) - exp(v)));
            }
            for (size_t i = 0; i < N; i++) x[i] = (uint64_t)llround(ldexp(0.05 * pow(400.0, (double)i / (N - 1)), (int)f));
            assert_int_equal(cc_nnref_reciprocal(&cfg, N, x, y), CC_OK);
            for (size_t i = 0; i < N; i++) {
                double v = ldexp((double)x[i], -(int)f), want = 1 / v;
                er = fmax(er, fmax(0, fabs(ldexp((double)(int64_t)y[i], -(int)f) - want) - 4 * ulp) / want);
            }
            assert_int_equal(cc_nnref_rsqrt(&cfg, N, x, y), CC_OK);
            for (size_t i = 0; i < N; i++) {
                double v = ldexp((double)x[i], -(int)f), want = 1 / sqrt(v);
                eq = fmax(eq, fmax(0, fabs(ldexp((double)(int64_t)y[i], -(int)f) - want) - 4 * ulp) / want);
            }
            printf("  f = %2u %-7s gelu %.3g silu %.3g exp %.3g recip %.3g rsqrt %.3g\n", f,
                   cc_approx_name(cfg.approx), eg, es, ee, er, eq);
            /* the approximation error plus what f bits can resolve: 64 ulps
             * covers the amplified rounding of squarings and powers */
            double slack = 64 * ulp;
            assert_true(eg <= (set ? 0.005 : 0.021) + slack);
            assert_true(es <= (set ? 1.5e-4 : 0.072) + slack);
            assert_true(ee <= (set ? 3e-4 : 0.0086) + slack);
            assert_true(er <= (set ? 3e-5 : 1e-4) + slack);
            assert_true(eq <= (set ? 1e-5 : 4e-4) + slack);
        }
    }
    free(x); free(y);
}

static void argmax_first_max(void **state)
{
    (void)state;
    uint64_t x[2 * 5] = { enc(1), enc(-3), enc(7), enc(7), enc(2),
                          enc(-1e4), enc(-2), enc(-2), enc(-5), enc(-1e4) };
    uint64_t idx[2];
    assert_int_equal(cc_nnref_argmax(&PUMA, 2, 5, x, idx), CC_OK);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[1], 1);
}

static void bad_arguments(void **state)
{
    (void)state;
    cc_nn_cfg bad = { 40, CC_APPROX_PUMA };
    uint64_t x = 0, y;
    assert_int_equal(cc_nnref_gelu(&bad, 1, &x, &y), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "f = 40"));
    cc_nn_cfg bad2 = { F, (cc_approx)7 };
    assert_int_equal(cc_nnref_exp(&bad2, 1, &x, &y), CC_ERR_ARG);
    cc_approx a;
    assert_int_equal(cc_approx_parse("fast", &a), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "fast"));
    assert_int_equal(cc_approx_parse("precise", &a), CC_OK);
    assert_int_equal(a, CC_APPROX_PRECISE);
    assert_string_equal(cc_approx_name(CC_APPROX_PUMA), "puma");
    assert_int_equal(cc_nnref_argmax(&PUMA, 1, 0, &x, &y), CC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gelu_vs_libm),     cmocka_unit_test(silu_vs_libm),
        cmocka_unit_test(exp_vs_libm),      cmocka_unit_test(reciprocal_vs_libm),
        cmocka_unit_test(rsqrt_vs_libm),    cmocka_unit_test(softmax_vs_libm),
        cmocka_unit_test(norms_vs_libm),    cmocka_unit_test(other_f),
        cmocka_unit_test(argmax_first_max),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
