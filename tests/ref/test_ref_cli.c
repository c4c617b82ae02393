/* caracal-ref end to end: its --all-logits output for the golden prompt
 * matches stories260K.golden.bin; bad arguments give non-zero exits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_data.h"

static char models[4096];

static bool models_available(void)
{
    snprintf(models, sizeof models, "%s", cc_test_models_dir());
    char p[4200];
    snprintf(p, sizeof p, "%s/stories260K.golden.bin", models);
    return access(p, R_OK) == 0;
}

static int run(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s/caracal-ref %s >/dev/null 2>&1", CARACAL_BIN_DIR, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void all_logits_match_golden(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(models);
    char out[] = "/tmp/cc_test_cli_XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    char args[12000];
    for (int step = 0; step < 2; step++) {
        snprintf(args, sizeof args, "--model %s/stories260K.bin --ids-from %s/stories260K.golden.bin "
                 "--all-logits %s --generate 3%s", models, models, out, step ? " --step" : "");
        assert_int_equal(run(args), 0);
        char golden[4200];
        snprintf(golden, sizeof golden, "%s/stories260K.golden.bin", models);
        FILE *g = fopen(golden, "rb"), *o = fopen(out, "rb");
        int32_t L, V;
        assert_int_equal(fread(&L, 4, 1, g), 1);
        assert_int_equal(fread(&V, 4, 1, g), 1);
        fseek(g, 8 + 4L * L, SEEK_SET);
        float worst = 0, a, b;
        size_t count = 0;
        while (fread(&a, 4, 1, g) == 1) {
            assert_int_equal(fread(&b, 4, 1, o), 1);
            worst = fmaxf(worst, fabsf(a - b));
            count++;
        }
        assert_int_equal(fread(&b, 4, 1, o), 0);       /* exactly L*V floats */
        assert_int_equal(count, (size_t)L * V);
        fclose(g);
        fclose(o);
        printf("caracal-ref%s: max |dlogit| %.3g\n", step ? " --step" : "", worst);
        assert_true(worst <= 1e-4f);
    }
    unlink(out);
}

static void bad_arguments(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(models);
    char args[12000];
    assert_int_equal(run("--ids 1,2"), 2);                               /* no model */
    snprintf(args, sizeof args, "--model %s/stories260K.bin --ids 1,x", models);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "--model %s/stories260K.bin --ids 1,512", models);
    assert_int_equal(run(args), 1);                                      /* id out of vocab */
    snprintf(args, sizeof args, "--model %s/stories260K.bin --ids-from %s/stories260K.bin", models, models);
    assert_int_equal(run(args), 1);                                      /* not a reference file */
    assert_int_equal(run("--model /nonexistent.bin --ids 1"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_logits_match_golden),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
