/* The weight paths of a linear layer give bit-identical local products on
 * stories260K's real weights (docs/KERNELS.md, docs/BUNDLES.md).
 *
 * For every linear weight of the model (embedding table, the seven per
 * layer, the head) and every party, the party's 3-out-of-3 term of X·W for
 * 8 rows of X is computed
 *   - as the prefill does it: the 8 rows at once, both planes in memory
 *     (the blocked GEMM; the existing path, taken as the reference);
 *   - as a batch of 8 with the seed planes generated inside the GEMM (the
 *     loader's generate_packed: what the engines run on bundles);
 *   - as 8 decode steps: one row at a time through the packed-once
 *     activation (cc_proto_xpack, the one-row GEMV kernels), with stored
 *     and with generated seed planes.
 * Ring arithmetic is exact, so every path must agree to the bit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bundle.h"
#include "core.h"
#include "import.h"
#include "proto.h"
#include "test_data.h"

enum { ROWS = 8 };

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The weight of tensor `index` with both planes held (eager) or with its
 * seed planes generated from streams (lazy: gen[] receives the streams). */
static cc_proto_weight weight_of(const cc_bundle *b, size_t index, const cc_share_tensor *t,
                                 cc_prg gen[2])
{
    cc_proto_weight w = { .K = t->K, .N = t->N };
    w.packed_self = t->share[0];
    w.packed_next = t->share[1];
    if (!t->share[0]) {
        assert_true(cc_bundle_plane_prg(b, index, 0, &gen[0]));
        w.gen_self = &gen[0];
    }
    if (!t->share[1]) {
        assert_true(cc_bundle_plane_prg(b, index, 1, &gen[1]));
        w.gen_next = &gen[1];
    }
    return w;
}

/* Row r of x (ROWS × K) as a one-row share, decoded like a decode step. */
static void one_row_at_a_time(const cc_ashare *x, size_t K, const cc_proto_weight *w,
                              uint64_t *z)
{
    for (size_t r = 0; r < ROWS; r++) {
        cc_ashare row = { .s = { x->s[0] + r * K, x->s[1] + r * K }, .n = K, .rows = 1, .cols = K };
        cc_proto_xpack xp = { 0 };
        assert_int_equal(cc_proto_xpack_init(&xp, 1, K, &row), CC_OK);
        assert_int_equal(cc_proto_matmul_weight_term_x(NULL, &xp, w, z + r * w->N, w->N), CC_OK);
        cc_proto_xpack_free(&xp);
    }
}

static void check_party(const char *dir, int party, int *checked)
{
    cc_bundle_open_options eager = { .party = party, .frac_bits = -1, .no_prefetch = true };
    cc_bundle_open_options lazy = eager;
    lazy.generate_packed = true;
    cc_bundle *be = NULL, *bl = NULL;
    assert_int_equal(cc_bundle_open(dir, &eager, &be), CC_OK);
    assert_int_equal(cc_bundle_open(dir, &lazy, &bl), CC_OK);
    const int L = cc_bundle_config(be)->n_layers;
    for (int layer = -1; layer <= L; layer++) {
        cc_bundle_layer le, ll;
        assert_int_equal(cc_bundle_acquire(be, layer, &le), CC_OK);
        assert_int_equal(cc_bundle_acquire(bl, layer, &ll), CC_OK);
        for (size_t t = 0; t < le.n_tensors; t++) {
            const cc_share_tensor *te = &le.tensors[t];
            if (te->layout != CC_LAYOUT_PACKED_B) continue;
            size_t index;
            assert_int_equal(cc_bundle_find(bl, te->name, &index), CC_OK);
            const size_t K = te->K, N = te->N;
            uint64_t *x0 = malloc(ROWS * K * 8), *x1 = malloc(ROWS * K * 8);
            uint64_t *z[4];
            for (int k = 0; k < 4; k++) z[k] = malloc(ROWS * N * 8);
            assert_true(x0 && x1 && z[0] && z[1] && z[2] && z[3]);
            for (size_t i = 0; i < ROWS * K; i++) {
                x0[i] = next_u64();
                x1[i] = next_u64();
            }
            cc_ashare x = { .s = { x0, x1 }, .n = ROWS * K, .rows = ROWS, .cols = K };
            cc_prg none[2], gen[2];
            cc_proto_weight held = weight_of(be, index, te, none);
            cc_proto_weight made = weight_of(bl, index, &ll.tensors[t], gen);
            assert_true(held.gen_self == NULL && held.gen_next == NULL);
            /* which planes are generated: P0 both, P1 w_i, P2 w_{i+1} */
            assert_int_equal(made.gen_self != NULL, party != 2);
            assert_int_equal(made.gen_next != NULL, party != 1);

            assert_int_equal(cc_proto_matmul_weight_term(NULL, ROWS, &x, &held, z[0], N), CC_OK);
            assert_int_equal(cc_proto_matmul_weight_term(NULL, ROWS, &x, &made, z[1], N), CC_OK);
            one_row_at_a_time(&x, K, &held, z[2]);
            one_row_at_a_time(&x, K, &made, z[3]);
            static const char *path[] = { "", "batched, generated planes",
                                          "one row at a time, stored planes",
                                          "one row at a time, generated planes" };
            for (int k = 1; k < 4; k++)
                if (memcmp(z[0], z[k], ROWS * N * 8) != 0)
                    fail_msg("P%d %s (%zux%zu): %s differs from the 8-row stored path", party,
                             te->name, K, N, path[k]);
            (*checked)++;
            for (int pl = 0; pl < 2; pl++)
                if (pl == 0 ? made.gen_self : made.gen_next) cc_prg_wipe(&gen[pl]);
            for (int k = 0; k < 4; k++) free(z[k]);
            free(x0);
            free(x1);
        }
        assert_int_equal(cc_bundle_release(be, layer), CC_OK);
        assert_int_equal(cc_bundle_release(bl, layer), CC_OK);
    }
    cc_bundle_close(be);
    cc_bundle_close(bl);
}

static void paths_agree_on_stories260k(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/stories260K.bin", cc_test_models_dir());
    if (access(path, R_OK) != 0) CC_TEST_MISSING_DATA(path);
    cc_checkpoint *ck = NULL;
    if (cc_checkpoint_open(path, &ck) != CC_OK) fail_msg("open %s: %s", path, cc_error_message());
    cc_tensor_source src;
    assert_int_equal(cc_checkpoint_source(ck, &src), CC_OK);
    char dir[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/caracal-paths-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    cc_bundle_write_options wo = { .frac_bits = 18 };
    assert_int_equal(cc_bundle_write(&src, dir, &wo), CC_OK);
    cc_tensor_source_free(&src);
    cc_checkpoint_close(ck);

    int checked = 0;
    for (int party = 0; party < 3; party++) check_party(dir, party, &checked);
    /* 5 layers × 7 linear weights, the embedding table and the head, per party */
    assert_int_equal(checked, 3 * (5 * 7 + 2));
    print_message("  %d weights × 3 parties: batched, generated and one-row paths bit-identical\n",
                  checked / 3);

    static const char *names[] = { "party0.ccb", "party1.ccb", "party2.ccb", "w2.ccw" };
    for (size_t i = 0; i < CC_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_agree_on_stories260k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
