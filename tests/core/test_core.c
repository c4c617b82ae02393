/* core: error messages, allocation alignment, wiping, cpuid sanity. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

static void error_set_and_wrap(void **state)
{
    (void)state;
    assert_int_equal(cc_error_set(CC_ERR_IO, "open %s failed", "x.bin"), CC_ERR_IO);
    assert_string_equal(cc_error_message(), "open x.bin failed");
    assert_int_equal(cc_error_wrap(CC_ERR_IO, "loading layer %d", 3), CC_ERR_IO);
    assert_string_equal(cc_error_message(), "loading layer 3: open x.bin failed");
    cc_error_clear();
    assert_string_equal(cc_error_message(), "no error message");
    assert_string_equal(cc_status_str(CC_ERR_PEER), "peer failure");
    assert_string_equal(cc_status_str((cc_status)999), "unknown status");
}

static void alloc_is_aligned(void **state)
{
    (void)state;
    for (size_t n = 0; n < 300; n += 7) {
        unsigned char *p = cc_alloc(n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xab, n);
        cc_free(p);
    }
    size_t out;
    assert_false(cc_mul_size(SIZE_MAX / 2, 3, &out));
    assert_null(cc_calloc(SIZE_MAX / 2, 3));
    assert_int_equal(cc_mul_size(1000, 8, &out), true);
    assert_int_equal(out, 8000);
}

static void wipe_zeroes(void **state)
{
    (void)state;
    unsigned char key[32];
    memset(key, 0x5a, sizeof key);
    cc_wipe(key, sizeof key);
    for (size_t i = 0; i < sizeof key; i++) assert_int_equal(key[i], 0);
}

static void cpuid_consistent(void **state)
{
    (void)state;
    const cc_cpu *c = cc_cpu_features();
    /* AVX-512 sub-features imply the foundation; VAES implies wide registers */
    if (c->avx512dq || c->avx512bw || c->avx512vl) assert_true(c->avx512f);
    assert_ptr_equal(c, cc_cpu_features());
    assert_true(cc_peak_rss_bytes() > 0);
    uint64_t t0 = cc_now_ns(), t1 = cc_now_ns();
    assert_true(t1 >= t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_and_wrap),
        cmocka_unit_test(alloc_is_aligned),
        cmocka_unit_test(wipe_zeroes),
        cmocka_unit_test(cpuid_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
