/* proto: truncation on 10^7 random values spread over the whole allowed
 * range |x| < 2^62 - 2^(d-2) (every bit length equally likely, plus the
 * range limits), three parties over loopback, in batches of 10^6.  No result
 * may lie 1.25 ulps or more from x / 2^d (trunc.c: DEK's stochastic rounding
 * of x/2^d moved by less than a quarter ulp by the openers' rounded
 * messages), i.e. it is floor(x / 2^d) + {-1, 0, 1, 2}; the fused
 * multiply-truncate path gets another 10^6 products. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto_test_util.h"

#define BATCH 1000000u
#define BATCHES 10u

static const unsigned shifts[BATCHES] = {18, 18, 1, 18, 30, 18, 61, 18, 12, 18};

static int bulk_main(cc_net *net, void *arg)
{
    pt_page *page = arg;
    pt_me = &page->party[cc_net_party(net)];
    cc_proto ctx;
    PT_TRY(cc_proto_init(&ctx, net, 18));
    uint64_t *x = malloc(8 * BATCH), *got = malloc(8 * BATCH), *y = malloc(8 * BATCH);
    cc_ashare a, b, out;
    PT_TRY(cc_ashare_alloc(&a, BATCH));
    PT_TRY(cc_ashare_alloc(&b, BATCH));
    PT_TRY(cc_ashare_alloc(&out, BATCH));
    uint64_t off = 0, total = 0, max_err = 0;
    for (unsigned k = 0; k <= BATCHES; k++) {
        pt_rng r = {UINT64_C(0xC0FFEE) + k * BATCH};
        const bool fused = k == BATCHES;
        const unsigned d = fused ? 18 : shifts[k];
        const int64_t lim = (INT64_C(1) << 62) - (d >= 2 ? INT64_C(1) << (d - 2) : 0) - 1;
        for (size_t j = 0; j < BATCH; j++) {
            if (fused) {                      /* |x·y| < 2^62 */
                x[j] = pt_spread(&r, 31);
                y[j] = pt_spread(&r, 30);
            } else {
                x[j] = pt_spread(&r, 62);
                if ((int64_t)x[j] < -lim) x[j] = (uint64_t)-lim;
                if ((int64_t)x[j] > lim) x[j] = (uint64_t)lim;
            }
        }
        if (!fused) { x[0] = (uint64_t)lim; x[1] = (uint64_t)-lim; x[2] = 0; x[3] = (uint64_t)-1; }
        pt_share(&ctx, 31 * k + 7, x, BATCH, a.s[0], a.s[1], false);
        if (fused) {
            pt_share(&ctx, 31 * k + 8, y, BATCH, b.s[0], b.s[1], false);
            PT_TRY(cc_proto_mul_fxp(&ctx, &a, &b, &out));
        } else {
            PT_TRY(cc_proto_trunc(&ctx, &a, d, &out));
        }
        PT_TRY(cc_proto_reveal(&ctx, &out, got));
        for (size_t j = 0; j < BATCH; j++) {
            int64_t v = fused ? (int64_t)(x[j] * y[j]) : (int64_t)x[j];
            int64_t e = (int64_t)got[j] - (v >> d);
            /* |got - v/2^d| < 5/4, in integers: |4·got·2^d - 4v| < 5·2^d */
            __int128 dev = (__int128)(int64_t)got[j] * ((__int128)4 << d) - (__int128)v * 4;
            if (dev < 0) dev = -dev;
            if (dev >= (__int128)5 << d) {
                if (!off) pt_check(false, "batch %u (d=%u): x=%" PRId64 " gave %" PRId64, k, d, v,
                                   (int64_t)got[j]);
                off++;
            }
            uint64_t ae = (uint64_t)(e < 0 ? -e : e);
            if (ae > max_err) max_err = ae;
        }
        total += BATCH;
    }
    pt_check(off == 0, "%" PRIu64 " of %" PRIu64 " results 1.25 ulps or more from x/2^d", off, total);
    pt_check_costs(&ctx);
    pt_me->values[0] = total;
    pt_me->values[1] = off;
    pt_me->values[2] = max_err;
    cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&out);
    free(x); free(y); free(got);
    cc_proto_free(&ctx);
    return pt_me->failures ? 1 : 0;
}

static void trunc_ten_million(void **state)
{
    (void)state;
    pt_page *page = pt_page_new();
    assert_non_null(page);
    cc_net_options o;
    cc_net_options_default(&o);
    cc_launch_result res;
    cc_status s = cc_net_launch_local(bulk_main, page, NULL, NULL, &o, &res);
    for (int i = 0; i < 3; i++)
        if (page->party[i].failures || page->party[i].status || res.exit_code[i])
            print_error("P%d: %s\n", i, page->party[i].msg);
    assert_int_equal(s, CC_OK);
    print_message("%" PRIu64 " truncations, %" PRIu64 " 1.25 ulps or more from x/2^d, max |result - floor| %" PRIu64
                  " ulp\n", page->party[0].values[0], page->party[0].values[1],
                  page->party[0].values[2]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(page->party[i].failures, 0);
        assert_true(page->party[i].values[0] >= 10000000u);
    }
    munmap(page, sizeof *page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(trunc_ten_million)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
