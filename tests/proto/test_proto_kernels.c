/* proto kernels: the BMI2 (PEXT) MSB tree level and pair unzips match the
 * portable ones bit-exactly on random inputs for every level of the tree; skipped, with a
 * message, when the CPU has no BMI2.  The bit packer of the truncation's
 * messages round-trips every width and length and writes exactly its bytes.
 * Local, no parties. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "proto_test_util.h"
#include "proto_impl.h"

static void msb_level_bmi2_matches_portable(void **state)
{
    (void)state;
    if (!cc_cpu_features()->bmi2) {
        print_message("SKIPPED: this CPU has no BMI2; only the portable level runs\n");
        skip();
    }
    static const unsigned ms[] = {32, 16, 8, 4, 2};
    const size_t n = 4099;
    pt_rng r = {42};
    uint64_t *in0 = malloc(8 * n), *in1 = malloc(8 * n), *P0 = malloc(8 * n), *P1 = malloc(8 * n);
    uint64_t *Ga0 = malloc(8 * n), *Ga1 = malloc(8 * n), *Gb0 = malloc(8 * n), *Gb1 = malloc(8 * n);
    uint64_t *oa = malloc(8 * n), *ob = malloc(8 * n);
    for (size_t li = 0; li < CC_ARRAY_LEN(ms); li++) {
        unsigned m = ms[li], prev_m = li ? ms[li - 1] : 0;
        size_t wb_in = li ? pr_width_bytes(prev_m > 2 ? prev_m : 1) : 0;
        size_t wb_out = pr_width_bytes(m > 2 ? m : 1);
        for (size_t j = 0; j < n; j++) {
            in0[j] = pt_next(&r); in1[j] = pt_next(&r);
            P0[j] = pt_next(&r) >> 32; P1[j] = pt_next(&r) >> 32;
            Ga0[j] = Gb0[j] = pt_next(&r) >> (64 - m);
            Ga1[j] = Gb1[j] = pt_next(&r) >> (64 - m);
        }
        memset(oa, 0x11, 8 * n);
        memset(ob, 0x11, 8 * n);
        pr_msb_level_portable(n, m, prev_m, in0, in1, wb_in, Ga0, Ga1, P0, P1, oa, wb_out);
        pr_msb_level_bmi2(n, m, prev_m, in0, in1, wb_in, Gb0, Gb1, P0, P1, ob, wb_out);
        assert_memory_equal(oa, ob, n * wb_out);
        assert_memory_equal(Ga0, Gb0, 8 * n);
        assert_memory_equal(Ga1, Gb1, 8 * n);
    }
    /* the pair unzip of the first level */
    pr_msb_unzip_portable(n, in0, in1, oa);
    pr_msb_unzip_bmi2(n, in0, in1, ob);
    assert_memory_equal(oa, ob, 8 * n);
    pr_msb_unzip_portable(n, in0, NULL, oa);
    pr_msb_unzip_bmi2(n, in0, NULL, ob);
    assert_memory_equal(oa, ob, 8 * n);
    for (int inv = 0; inv < 2; inv++) {          /* equality's unshifted unzip */
        pr_eq_unzip_portable(n, in0, inv ? in1 : NULL, inv, oa);
        pr_eq_unzip_bmi2(n, in0, inv ? in1 : NULL, inv, ob);
        assert_memory_equal(oa, ob, 8 * n);
    }
    free(in0); free(in1); free(P0); free(P1); free(Ga0); free(Ga1); free(Gb0); free(Gb1);
    free(oa); free(ob);
}

static void bit_fields_round_trip(void **state)
{
    (void)state;
    enum { NMAX = 41, SLACK = 16 };
    pt_rng r = {7};
    uint64_t v[NMAX], back[NMAX];
    unsigned char buf[8 * NMAX + SLACK];
    for (unsigned w = 1; w <= 64; w++) {
        const uint64_t mask = w == 64 ? ~UINT64_C(0) : (UINT64_C(1) << w) - 1;
        for (size_t n = 0; n <= NMAX; n++) {
            for (size_t j = 0; j < n; j++) v[j] = pt_next(&r);      /* high bits set too */
            const size_t nb = pr_bits_bytes(n, w);
            assert_int_equal(nb, (n * w + 7) / 8);
            memset(buf, 0xA5, sizeof buf);
            pr_pack_bits(n, w, v, buf);
            for (size_t b = nb; b < sizeof buf; b++) assert_int_equal(buf[b], 0xA5);
            if (nb && (n * w) % 8) /* the last byte's unused bits are zero */
                assert_int_equal(buf[nb - 1] >> ((n * w) % 8), 0);
            memset(back, 0xFF, sizeof back);
            pr_unpack_bits(n, w, buf, back);
            for (size_t j = 0; j < n; j++) assert_true(back[j] == (v[j] & mask));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(msb_level_bmi2_matches_portable),
                                       cmocka_unit_test(bit_fields_round_trip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
