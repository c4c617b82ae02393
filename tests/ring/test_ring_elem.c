/* ring elementwise API (every ISA, 1 and 2 threads, large enough to split),
 * row helpers, and fixed-point encode/decode including range errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "kern.h"
#include "ring.h"
#include "thread.h"

static uint64_t rng_state = 0x13198a2e03707344ull;
static uint64_t splitmix(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Large enough (> 2 × 2^15) that the team splits it; odd so chunks are ragged. */
#define BIG ((1u << 17) + 13)

static void elementwise_matches_scalar_definition(void **state)
{
    (void)state;
    const char *initial = cc_ring_isa();
    uint64_t *a = malloc(BIG * 8), *b = malloc(BIG * 8), *out = malloc(BIG * 8);
    for (size_t i = 0; i < BIG; i++) { a[i] = splitmix(); b[i] = splitmix(); }
    a[0] = 1ull << 63; a[1] = UINT64_MAX; a[2] = 0;
    uint64_t s = splitmix();
    for (const char *const *n = cc_kern_all_names(); *n; n++) {
        if (!cc_kern_lookup(*n)) { print_message("[  SKIP    ] ISA %s not supported\n", *n); continue; }
        assert_int_equal(cc_kern_select(*n), CC_OK);
        for (int t = 1; t <= 2; t++) {
            cc_thread_set_count(t);
#define CHECK(call, expr)                                                              \
            do {                                                                       \
                call;                                                                  \
                for (size_t i = 0; i < BIG; i++)                                       \
                    if (out[i] != (uint64_t)(expr))                                    \
                        fail_msg("%s threads=%d %s: index %zu", *n, t, #call, i);      \
            } while (0)
            CHECK(cc_ring_add(BIG, a, b, out), a[i] + b[i]);
            CHECK(cc_ring_sub(BIG, a, b, out), a[i] - b[i]);
            CHECK(cc_ring_mul(BIG, a, b, out), a[i] * b[i]);
            CHECK(cc_ring_xor(BIG, a, b, out), a[i] ^ b[i]);
            CHECK(cc_ring_and(BIG, a, b, out), a[i] & b[i]);
            CHECK(cc_ring_neg(BIG, a, out), 0 - a[i]);
            CHECK(cc_ring_not(BIG, a, out), ~a[i]);
            CHECK(cc_ring_mul_scalar(BIG, a, s, out), a[i] * s);
            CHECK(cc_ring_add_scalar(BIG, a, s, out), a[i] + s);
            CHECK(cc_ring_shl(BIG, a, 18, out), a[i] << 18);
            CHECK(cc_ring_shr_logic(BIG, a, 18, out), a[i] >> 18);
            /* signed division by 2^18 rounding toward -inf */
            CHECK(cc_ring_shr_arith(BIG, a, 18, out),
                  (int64_t)a[i] >= 0 ? a[i] >> 18 : ~(~a[i] >> 18));
            /* in place */
            memcpy(out, a, BIG * 8);
            cc_ring_add(BIG, out, b, out);
            for (size_t i = 0; i < BIG; i++) assert_true(out[i] == a[i] + b[i]);
        }
    }
    cc_thread_set_count(1);
    assert_int_equal(cc_kern_select(initial), CC_OK);
    free(a); free(b); free(out);
}

static void row_helpers(void **state)
{
    (void)state;
    enum { R = 5, C = 13, LD = 16 };
    uint64_t a[R * LD], v[R], out[R * LD], sums[R];
    for (size_t i = 0; i < R * LD; i++) a[i] = splitmix();
    for (size_t r = 0; r < R; r++) v[r] = splitmix();
    cc_ring_row_sum(R, C, a, LD, sums);
    for (size_t r = 0; r < R; r++) {
        uint64_t s = 0;
        for (size_t c = 0; c < C; c++) s += a[r * LD + c];
        assert_true(sums[r] == s);
    }
    memset(out, 0, sizeof out);
    cc_ring_row_broadcast_mul(R, C, a, LD, v, out, LD);
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < LD; c++)
            assert_true(out[r * LD + c] == (c < C ? a[r * LD + c] * v[r] : 0));
    cc_ring_row_broadcast_add(R, C, a, LD, v, out, C);
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++) assert_true(out[r * C + c] == a[r * LD + c] + v[r]);
}

static void fixed_point(void **state)
{
    (void)state;
    const unsigned f = 18;
    double x[] = { 0.0, 1.0, -1.0, 0.5, -0.5, 3.14159, -2.75, 1.0 / 262144, 1.5 / 262144,
                   -1.5 / 262144, 1e6, -1e6, 16383.99 };
    uint64_t v[CC_ARRAY_LEN(x)];
    assert_int_equal(cc_fxp_encode_f64(CC_ARRAY_LEN(x), x, f, v), CC_OK);
    assert_true(v[1] == 1u << 18 && v[2] == (uint64_t)-(1 << 18));
    assert_true(v[7] == 1 && v[8] == 2 && v[9] == (uint64_t)-2);   /* half away from zero */
    double back[CC_ARRAY_LEN(x)];
    cc_fxp_decode_f64(CC_ARRAY_LEN(x), v, f, back);
    for (size_t i = 0; i < CC_ARRAY_LEN(x); i++) assert_true(fabs(back[i] - x[i]) <= 0.5 / 262144);
    float xf[] = { 0.25f, -7.5f, 1000.125f };
    float bf[3];
    uint64_t vf[3];
    assert_int_equal(cc_fxp_encode_f32(3, xf, f, vf), CC_OK);
    cc_fxp_decode_f32(3, vf, f, bf);
    for (int i = 0; i < 3; i++) assert_true(bf[i] == xf[i]);

    /* limits: |x| < 2^(62-f) */
    double edge[] = { ldexp(1, 44) - 1.0, -(ldexp(1, 44) - 1.0) };
    assert_int_equal(cc_fxp_encode_f64(2, edge, f, v), CC_OK);
    double bad[] = { 1.0, 2.0, ldexp(1, 44) };
    assert_int_equal(cc_fxp_encode_f64(3, bad, f, v), CC_ERR_RANGE);
    assert_non_null(strstr(cc_error_message(), "index 2"));
    double nonfinite[] = { 0.0, NAN };
    assert_int_equal(cc_fxp_encode_f64(2, nonfinite, f, v), CC_ERR_RANGE);
    assert_non_null(strstr(cc_error_message(), "index 1"));
    float inf[] = { -INFINITY };
    assert_int_equal(cc_fxp_encode_f32(1, inf, f, v), CC_ERR_RANGE);
    assert_int_equal(cc_fxp_encode_f64(1, x, 63, v), CC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elementwise_matches_scalar_definition),
        cmocka_unit_test(row_helpers),
        cmocka_unit_test(fixed_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
