/* caracal-share end to end: exit codes, plain progress lines when stderr is
 * not a terminal, a bundle the loader accepts, --inspect catching a mixed
 * set and a corrupt file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "bundle.h"
#include "import.h"
#include "model.h"
#include "test_bundle_check.h"
#include "test_data.h"

static char tmp[4096], log_path[4200];
static const char *env_prefix = "";   /* e.g. "CARACAL_ISA=ref " */

/* Runs caracal-share with `args`; returns its exit status, output in log. */
static int run(const char *fmt, ...)
{
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s%s/caracal-share %s >%s 2>&1", env_prefix, CARACAL_BIN_DIR, args,
             log_path);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static bool log_has(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    if (!f) return false;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    if (!strstr(buf, needle)) {
        print_message("log does not contain \"%s\":\n%s\n", needle, buf);
        return false;
    }
    return true;
}

static void rm_bundle(const char *dir)
{
    static const char *names[] = { "party0.ccb", "party1.ccb", "party2.ccb", "w2.ccw" };
    char p[4400];
    for (size_t i = 0; i < CC_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run(""), 2);
    assert_true(log_has("exactly one of --checkpoint or --synthetic"));
    assert_int_equal(run("--synthetic llama-3b --out %s/x", tmp), 2);
    assert_true(log_has("unknown model geometry 'llama-3b'"));
    assert_int_equal(run("--synthetic stories260k --out %s/x -f 99", tmp), 2);
    assert_true(log_has("fractional bits must be 1..40"));
    assert_int_equal(run("--synthetic stories260k --out %s/x --dim abc", tmp), 2);
    assert_true(log_has("--dim abc"));
    assert_int_equal(run("--checkpoint a.bin --synthetic llama-7b --out %s/x", tmp), 2);
    assert_int_equal(run("--help"), 0);
    assert_true(log_has("usage: caracal-share"));
}

static void bad_inputs(void **state)
{
    (void)state;
    assert_int_equal(run("--checkpoint %s/does-not-exist.bin --out %s/x", tmp, tmp), 1);
    assert_true(log_has("does-not-exist.bin"));
    /* heads that do not divide dim */
    assert_int_equal(run("--synthetic stories260k --heads 7 --out %s/x", tmp), 1);
    assert_true(log_has("inconsistent geometry"));
    assert_int_equal(run("--inspect %s/nothing-here", tmp), 1);
}

static void synthetic_share_and_inspect(void **state)
{
    (void)state;
    char a[4200], b[4200], p[4400], q[4400];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    assert_int_equal(run("--synthetic stories260k --layers 3 -f 16 --out %s", a), 0);
    assert_true(log_has("caracal-share: 100%"));      /* plain lines: stderr is a file */
    assert_true(log_has("content hash"));
    assert_int_equal(run("--inspect %s --verify", a), 0);
    assert_true(log_has("P2: llama, dim 64, hidden 172, 3 layers, 8/4 heads, vocab 512; f = 16"));
    assert_true(log_has("checksums verified"));

    /* the loader agrees: f and geometry as asked */
    cc_bundle_open_options o = { .party = 0, .frac_bits = 16 };
    cc_bundle *bd = NULL;
    assert_int_equal(cc_bundle_open(a, &o, &bd), CC_OK);
    assert_int_equal(cc_bundle_config(bd)->n_layers, 3);
    cc_bundle_close(bd);

    /* a party file from another run in the set */
    assert_int_equal(run("--synthetic stories260k --layers 3 -f 16 --out %s --quiet", b), 0);
    snprintf(p, sizeof p, "%s/party2.ccb", b);
    snprintf(q, sizeof q, "%s/party2.ccb", a);
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(run("--inspect %s", a), 1);
    assert_true(log_has("different model"));

    /* a corrupt data byte is caught by --verify only */
    snprintf(p, sizeof p, "%s/w2.ccw", b);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 4096 + 100, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 4096 + 100, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
    assert_int_equal(run("--inspect %s --verify", b), 1);
    assert_true(log_has("embed.tokens: checksum mismatch"));
    rm_bundle(a);
    rm_bundle(b);
}

static void checkpoint_share(void **state)
{
    (void)state;
    const char *mdir = cc_test_models_dir();
    char path[4096], out[4200];
    snprintf(path, sizeof path, "%s/stories260K.bin", mdir);
    if (access(path, R_OK) != 0) CC_TEST_MISSING_DATA(path);
    snprintf(out, sizeof out, "%s/ck", tmp);
    assert_int_equal(run("--checkpoint %s --out %s", path, out), 0);
    assert_int_equal(run("--inspect %s --verify", out), 0);
    assert_true(log_has("P1: llama, dim 64, hidden 172, 5 layers, 8/4 heads, vocab 512; f = 18"));
    rm_bundle(out);
}

/* Bundles are a file format, not a build artefact: shares written with the
 * portable PRG and packing reconstruct exactly when loaded with the native
 * (AES-NI/VAES, AVX2) ones, and the other way round. */
static void portable_across_isas(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/isa", tmp);
    static const uint8_t seed[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    env_prefix = "CARACAL_ISA=ref ";
    int rc = run("--synthetic stories260k --layers 2 --seed 00112233445566778899aabbccddeeff "
                 "--out %s --quiet", dir);
    env_prefix = "";
    assert_int_equal(rc, 0);
    cc_model_config c = {
        .arch = CC_ARCH_LLAMA, .dim = 64, .hidden_dim = 172, .n_layers = 2, .n_heads = 8,
        .n_kv_heads = 4, .vocab_size = 512, .max_seq_len = 512, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f, .tied_embeddings = true,
    };
    cc_tensor_source src;
    assert_int_equal(cc_tensor_source_synthetic(&c, seed, &src), CC_OK);
    check_round_trip(dir, &src, 18);   /* this process: native kernels */
    rm_bundle(dir);

    /* written natively, checked (fingerprint, checksums) by a portable build */
    cc_bundle_write_options wo = { .frac_bits = 18 };
    assert_int_equal(cc_bundle_write(&src, dir, &wo), CC_OK);
    env_prefix = "CARACAL_ISA=ref ";
    rc = run("--inspect %s --verify", dir);
    env_prefix = "";
    assert_int_equal(rc, 0);
    assert_true(log_has("checksums verified"));
    cc_tensor_source_free(&src);
    rm_bundle(dir);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/caracal-share-cli-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) return 1;
    snprintf(log_path, sizeof log_path, "%s/log.txt", tmp);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(synthetic_share_and_inspect),
        cmocka_unit_test(checkpoint_share),
        cmocka_unit_test(portable_across_isas),
    };
    int fails = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(log_path);
    rmdir(tmp);
    return fails;
}
