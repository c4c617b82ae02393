/* The parallel converter (white box: bundle_write.c's test hooks):
 *   - its float -> fixed point encoder gives exactly cc_fxp_encode_f32's
 *     values and the same accept/refuse decision;
 *   - the same seeds give the same four files, byte for byte, whatever the
 *     thread count (chunks are counter-addressed, hashing is per tensor);
 *   - a write the file system refuses fails with a clear message and leaves
 *     nothing behind, under either name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "kern.h"
#include "bundle.h"
#include "bundle_impl.h"
#include "model.h"
#include "prg.h"
#include "ring.h"

static const char *const files[] = { "w2.ccw", "party0.ccb", "party1.ccb", "party2.ccb" };

static void make_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/caracal-write-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
    char p[16384];
    for (size_t i = 0; i < CC_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s.tmp", dir, files[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(dir), 0);
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    uint8_t *buf = NULL;
    assert_int_equal(cc_read_file(p, &buf, len), CC_OK);
    return buf;
}

/* ---- the encoder ---------------------------------------------------------- */

static void check_values(const float *x, size_t n, unsigned f)
{
    uint64_t *ref = malloc(n * 8), *fast = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        bool ref_ok = cc_fxp_encode_f32(1, &x[i], f, &ref[i]) == CC_OK;
        bool fast_ok = ccb_encode_f32(1, &x[i], f, &fast[i]);
        if (ref_ok != fast_ok || (ref_ok && ref[i] != fast[i]))
            fail_msg("f = %u, x = %a: reference %s %llu, converter %s %llu", f, (double)x[i],
                     ref_ok ? "ok" : "refuses", (unsigned long long)ref[i],
                     fast_ok ? "ok" : "refuses", (unsigned long long)fast[i]);
    }
    /* and a whole run at once (the converter's fast path) */
    bool all_ref = cc_fxp_encode_f32(n, x, f, ref) == CC_OK;
    assert_int_equal(ccb_encode_f32(n, x, f, fast), all_ref);
    if (all_ref) assert_memory_equal(ref, fast, n * 8);
    free(ref);
    free(fast);
}

/* The cases for one f: every bit pattern class, the rounding ties, the
 * range limit and the extremes, and a run of valid values only. */
static void encoder_cases(float *x, const uint64_t *bits, size_t n_random, unsigned f)
{
    /* random bits (all exponents, subnormals, inf and nan included) ... */
    memcpy(x, bits, n_random * sizeof *x);
    check_values(x, n_random, f);
    /* ... small values around every rounding tie: (i + 1/2)·2^-f ± ulp */
    size_t n = 0;
    for (int i = -2000; i < 2000 && n + 3 <= n_random; i++) {
        float t = ldexpf((float)i + 0.5f, -(int)f);
        x[n++] = t;
        x[n++] = nextafterf(t, INFINITY);
        x[n++] = nextafterf(t, -INFINITY);
    }
    /* ... the range limit 2^(62-f), zeros, extremes */
    float lim = ldexpf(1.0f, 62 - (int)f);
    float edge[] = { 0.0f, -0.0f, lim, -lim, nextafterf(lim, 0), -nextafterf(lim, 0),
                     1e-45f, -1e-45f, 1.17549435e-38f, 3.4028235e38f, -3.4028235e38f,
                     INFINITY, -INFINITY, NAN, 1.0f, -1.0f, 0.5f, -0.5f };
    for (size_t i = 0; i < CC_ARRAY_LEN(edge); i++) x[n++] = edge[i];
    check_values(x, n, f);
    /* a run of valid values only, so the whole-run comparison is exercised */
    for (size_t i = 0; i < 4096; i++) x[i] = ldexpf((float)((int)(bits[i] % 20001) - 10000), -7);
    check_values(x, 4096, f);
}

/* The converter's encoder (the kernel table's fxp_from_f32) against the
 * libm reference, on every kernel set this CPU runs. */
static void encoder_matches_reference(void **state)
{
    (void)state;
    enum { N_RANDOM = 1 << 18 };
    float *x = malloc(N_RANDOM * sizeof *x);
    uint64_t *bits = malloc(N_RANDOM / 2 * sizeof *bits);
    static const uint8_t seed[16] = { 7 };
    cc_prg prg;
    cc_prg_init(&prg, seed, 0);
    cc_prg_u64(&prg, 0, N_RANDOM / 2, bits);
    cc_prg_wipe(&prg);
    static const unsigned fs[] = { 1, 8, 16, 18, 24, 31, 40 };
    const char *active = cc_kern_active()->name;
    for (const char *const *isa = cc_kern_all_names(); *isa; isa++) {
        if (!cc_kern_lookup(*isa)) continue;
        assert_int_equal(cc_kern_select(*isa), CC_OK);
        for (size_t k = 0; k < CC_ARRAY_LEN(fs); k++) encoder_cases(x, bits, N_RANDOM, fs[k]);
    }
    assert_int_equal(cc_kern_select(active), CC_OK);
    free(bits);
    free(x);
}

/* ---- same seeds, same files ------------------------------------------------- */

/* Odd sizes: several chunks per tensor, padded last panels, a tied head. */
static cc_model_config odd_config(void)
{
    cc_model_config c = {
        .arch = CC_ARCH_LLAMA, .dim = 264, .hidden_dim = 1000, .n_layers = 2, .n_heads = 6,
        .n_kv_heads = 2, .vocab_size = 1001, .max_seq_len = 16, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f, .tied_embeddings = true,
    };
    return c;
}

static void fixed_random(uint8_t out[CCB_FIXED_RANDOM])
{
    for (unsigned i = 0; i < CCB_FIXED_RANDOM; i++) out[i] = (uint8_t)(i * 37 + 11);
}

static void write_fixed(const char *dir, int threads)
{
    cc_model_config c = odd_config();
    static const uint8_t synth_seed[16] = { 3, 1, 4, 1, 5, 9, 2, 6 };
    cc_tensor_source src;
    assert_int_equal(cc_tensor_source_synthetic(&c, synth_seed, &src), CC_OK);
    uint8_t fixed[CCB_FIXED_RANDOM];
    fixed_random(fixed);
    cc_bundle_write_options o = { .threads = threads };
    cc_status s = ccb_write(&src, dir, &o, fixed);
    if (s != CC_OK) fail_msg("%s", cc_error_message());
    cc_tensor_source_free(&src);
}

static void same_seeds_same_files(void **state)
{
    (void)state;
    char dir[3][4096];
    static const int threads[3] = { 1, 2, 3 };
    for (int k = 0; k < 3; k++) {
        make_tmpdir(dir[k], sizeof dir[k]);
        write_fixed(dir[k], threads[k]);
    }
    for (size_t i = 0; i < CC_ARRAY_LEN(files); i++) {
        size_t len0, len;
        uint8_t *a = slurp(dir[0], files[i], &len0);
        for (int k = 1; k < 3; k++) {
            uint8_t *b = slurp(dir[k], files[i], &len);
            assert_int_equal(len, len0);
            if (memcmp(a, b, len) != 0)
                fail_msg("%s differs between %d and %d threads", files[i], threads[0], threads[k]);
            cc_free(b);
        }
        if (i == 0) print_message("  w2.ccw: %zu bytes, identical for 1, 2 and 3 threads\n", len0);
        cc_free(a);
    }
    /* the bundle is a valid one: every checksum verifies */
    cc_bundle_open_options o = { .party = 1, .frac_bits = -1, .verify = true, .no_prefetch = true };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(dir[1], &o, &b), CC_OK);
    cc_bundle_close(b);
    for (int k = 0; k < 3; k++) remove_dir(dir[k]);
}

/* ---- a file system that says no ---------------------------------------------
 * RLIMIT_FSIZE makes every write (or the up-front reservation) past 1 MB fail
 * with EFBIG, as a full disk fails with ENOSPC; in a child process so the
 * limit does not outlive the test. */
static void refused_write_leaves_nothing(void **state)
{
    (void)state;
    char dir[4096];
    make_tmpdir(dir, sizeof dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit r = { 1 << 20, 1 << 20 };
        if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(10);
        cc_model_config c = odd_config();
        static const uint8_t synth_seed[16] = { 1 };
        cc_tensor_source src;
        if (cc_tensor_source_synthetic(&c, synth_seed, &src) != CC_OK) _exit(11);
        cc_status s = cc_bundle_write(&src, dir, NULL);
        fprintf(stderr, "  refused: %s\n", cc_error_message());
        if (s != CC_ERR_IO) _exit(12);
        if (!strstr(cc_error_message(), "w2.ccw.tmp")) _exit(13);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char p[4200];
    for (size_t i = 0; i < CC_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (access(p, F_OK) == 0) fail_msg("%s was left behind", p);
        snprintf(p, sizeof p, "%s/%s.tmp", dir, files[i]);
        if (access(p, F_OK) == 0) fail_msg("%s was left behind", p);
    }
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoder_matches_reference),
        cmocka_unit_test(same_seeds_same_files),
        cmocka_unit_test(refused_write_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
