/* thread: cpu-list parsing and its errors, partitioning invariants, binding
 * the team to a cpuset (checked with sched_getaffinity in every worker). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <omp.h>
#include <cmocka.h>

#include "core.h"
#include "thread.h"

static void parse_lists(void **state)
{
    (void)state;
    int ids[64], n;
    int pus = cc_thread_machine_pus();
    assert_true(pus >= 1);
    assert_true(cc_thread_machine_cores() >= 1 && cc_thread_machine_cores() <= pus);
    assert_int_equal(cc_thread_parse_cpus("0", ids, 64, &n), CC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 0);
    if (pus >= 2) {
        assert_int_equal(cc_thread_parse_cpus("1,0-1,0", ids, 64, &n), CC_OK);
        assert_int_equal(n, 2);                       /* sorted, duplicates dropped */
        assert_true(ids[0] == 0 && ids[1] == 1);
    }
    assert_int_equal(cc_thread_parse_cpus("", ids, 64, &n), CC_ERR_ARG);
    assert_int_equal(cc_thread_parse_cpus("0,", ids, 64, &n), CC_ERR_ARG);
    assert_int_equal(cc_thread_parse_cpus("a", ids, 64, &n), CC_ERR_ARG);
    assert_int_equal(cc_thread_parse_cpus("0;1", ids, 64, &n), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "unexpected ';'"));
    assert_int_equal(cc_thread_parse_cpus("3-1", ids, 64, &n), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "backwards"));
    assert_int_equal(cc_thread_parse_cpus("100000", ids, 64, &n), CC_ERR_RANGE);
    assert_non_null(strstr(cc_error_message(), "cpu 100000 does not exist"));
}

static void partition_covers_exactly(void **state)
{
    (void)state;
    static const size_t ns[] = { 0, 1, 7, 8, 9, 100, 4096, 4097 };
    static const size_t grains[] = { 1, 3, 8 };
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t g = 0; g < 3; g++)
            for (int parts = 1; parts <= 5; parts++) {
                size_t next = 0, maxlen = 0, minlen = SIZE_MAX;
                for (int i = 0; i < parts; i++) {
                    size_t b, e;
                    cc_thread_partition(ns[a], grains[g], parts, i, &b, &e);
                    assert_true(b == next && e >= b);
                    if (e < ns[a]) assert_int_equal(e % grains[g], 0);
                    next = e;
                    maxlen = CC_MAX(maxlen, e - b);
                    minlen = CC_MIN(minlen, e - b);
                }
                assert_int_equal(next, ns[a]);
                /* balanced to within one grain (the ragged end may be shorter) */
                assert_true(maxlen - minlen <= grains[g] || ns[a] % grains[g]);
            }
}

static int my_cpu_mask_single(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) return c;
    return -1;
}

static void binding(void **state)
{
    (void)state;
    cpu_set_t original;
    assert_int_equal(sched_getaffinity(0, sizeof original, &original), 0);
    int pus = cc_thread_machine_pus();
    const char *list = pus >= 2 ? "0-1" : "0";
    int want = pus >= 2 ? 2 : 1;
    assert_int_equal(cc_thread_init(list, 0), CC_OK);
    assert_int_equal(cc_thread_count(), want);
    assert_true(cc_thread_bound());
    int seen[2] = { -1, -1 };
#pragma omp parallel num_threads(want)
    seen[omp_get_thread_num()] = my_cpu_mask_single();
    for (int t = 0; t < want; t++) assert_int_equal(seen[t], t);

    assert_int_equal(cc_thread_init("0-99999", 0), CC_ERR_RANGE);
    assert_non_null(strstr(cc_error_message(), "--cpus"));
    assert_int_equal(cc_thread_init(NULL, 3), CC_OK);
    assert_int_equal(cc_thread_count(), 3);
    assert_false(cc_thread_bound());
    cc_thread_set_count(0);
    assert_int_equal(cc_thread_count(), 1);
    assert_int_equal(cc_thread_init(NULL, -1), CC_ERR_ARG);
    sched_setaffinity(0, sizeof original, &original);
}

static void shares(void **state)
{
    (void)state;
    char buf[256];
    int cores = cc_thread_machine_cores(), ids[256], n, seen = 0;
    for (int i = 0; i < cores && i < 4; i++) {
        assert_int_equal(cc_thread_share(i, cores < 4 ? cores : 4, buf, sizeof buf), CC_OK);
        assert_int_equal(cc_thread_parse_cpus(buf, ids, 256, &n), CC_OK);   /* valid list */
        assert_true(n >= 1);
        seen += n;
    }
    if (cores <= 4) assert_int_equal(seen, cores);        /* shares cover the cores once */
    /* more shares than cores: still one cpu each */
    assert_int_equal(cc_thread_share(cores + 2, cores + 3, buf, sizeof buf), CC_OK);
    assert_int_equal(cc_thread_parse_cpus(buf, ids, 256, &n), CC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cc_thread_share(3, 3, buf, sizeof buf), CC_ERR_ARG);
    assert_int_equal(cc_thread_share(0, 0, buf, sizeof buf), CC_ERR_ARG);
    assert_int_equal(cc_thread_share(0, 1, buf, 1), CC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_lists),
        cmocka_unit_test(partition_covers_exactly),
        cmocka_unit_test(binding),
        cmocka_unit_test(shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
