/* LLaMA reference forward on the real stories260K checkpoint against the
 * llama2.c golden logits, token-at-a-time and batched; llama2.c import
 * errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "import.h"
#include "model.h"
#include "ref.h"
#include "test_data.h"

static char model_path[4096], golden_path[4096];

typedef struct golden {
    int L, V;
    int *tokens;
    float *logits;
} golden;

static bool models_available(void)
{
    const char *dir = cc_test_models_dir();
    snprintf(model_path, sizeof model_path, "%s/stories260K.bin", dir);
    snprintf(golden_path, sizeof golden_path, "%s/stories260K.golden.bin", dir);
    return access(model_path, R_OK) == 0 && access(golden_path, R_OK) == 0;
}

static void load_golden(golden *g)
{
    FILE *f = fopen(golden_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(&g->L, 4, 1, f), 1);
    assert_int_equal(fread(&g->V, 4, 1, f), 1);
    assert_true(g->L > 0 && g->L <= 512 && g->V == 512);
    g->tokens = malloc((size_t)g->L * sizeof(int));
    g->logits = malloc((size_t)g->L * g->V * sizeof(float));
    assert_int_equal(fread(g->tokens, 4, (size_t)g->L, f), (size_t)g->L);
    assert_int_equal(fread(g->logits, 4, (size_t)g->L * g->V, f), (size_t)g->L * g->V);
    fclose(f);
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

static void import_header(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load_llama2c(model_path, &w), CC_OK);
    const cc_model_config *c = &w.config;
    assert_int_equal(c->arch, CC_ARCH_LLAMA);
    assert_int_equal(c->dim, 64);
    assert_int_equal(c->hidden_dim, 172);
    assert_int_equal(c->n_layers, 5);
    assert_int_equal(c->n_heads, 8);
    assert_int_equal(c->n_kv_heads, 4);
    assert_int_equal(c->vocab_size, 512);
    assert_int_equal(c->max_seq_len, 512);
    assert_true(c->tied_embeddings);
    assert_null(cc_weights_find(&w, "lm_head.weight"));
    /* 1 embedding + 9 per layer + final norm, ordered by layer */
    assert_int_equal(w.n_tensors, 1 + 9 * 5 + 1);
    for (size_t i = 1; i < w.n_tensors; i++)
        assert_true(w.tensors[i - 1].layer <= w.tensors[i].layer);
    const cc_tensor_f32 *k = cc_weights_find(&w, "layers.4.attn.k.weight");
    assert_non_null(k);
    assert_int_equal(k->shape[0], 32);
    assert_int_equal(k->shape[1], 64);
    assert_true(k->is_linear);
    cc_weights_free(&w);
}

/* Token at a time through the KV cache: logits after feeding tokens[0..i]. */
static void golden_token_at_a_time(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    golden g;
    load_golden(&g);
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load_llama2c(model_path, &w), CC_OK);
    cc_ref_model *m;
    assert_int_equal(cc_ref_create(&w, 1, &m), CC_OK);
    float *logits = malloc((size_t)g.V * sizeof(float));
    float worst = 0.0f;
    for (int i = 0; i < g.L; i++) {
        assert_int_equal(cc_ref_forward(m, &g.tokens[i], 1, i, logits), CC_OK);
        worst = fmaxf(worst, max_abs_diff(logits, g.logits + (size_t)i * g.V, (size_t)g.V));
    }
    printf("token-at-a-time: %d positions, max |dlogit| %.3g\n", g.L, worst);
    assert_true(worst <= 1e-4f);
    free(logits);
    cc_ref_free(m);
    cc_weights_free(&w);
    free(g.tokens);
    free(g.logits);
}

/* Batched prefill of all positions at once, and in uneven chunks. */
static void golden_batched_prefill(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    golden g;
    load_golden(&g);
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load_llama2c(model_path, &w), CC_OK);
    float *logits = malloc((size_t)g.L * g.V * sizeof(float));
    const int batches[] = {0, 7};
    for (size_t b = 0; b < CC_ARRAY_LEN(batches); b++) {
        cc_ref_model *m;
        assert_int_equal(cc_ref_create(&w, batches[b], &m), CC_OK);
        memset(logits, 0, (size_t)g.L * g.V * sizeof(float));
        assert_int_equal(cc_ref_forward(m, g.tokens, g.L, 0, logits), CC_OK);
        float worst = max_abs_diff(logits, g.logits, (size_t)g.L * g.V);
        printf("prefill (max_batch %d): max |dlogit| %.3g\n", batches[b], worst);
        assert_true(worst <= 1e-4f);
        /* continue token-at-a-time after a prefill of the first half */
        assert_int_equal(cc_ref_forward(m, g.tokens, 20, 0, NULL), CC_OK);
        assert_int_equal(cc_ref_forward(m, g.tokens + 20, 1, 20, logits), CC_OK);
        assert_true(max_abs_diff(logits, g.logits + (size_t)20 * g.V, (size_t)g.V) <= 1e-4f);
        cc_ref_free(m);
    }
    free(logits);
    cc_weights_free(&w);
    free(g.tokens);
    free(g.logits);
}

/* Greedy generation continues with the golden argmax where the golden
 * prompt itself was greedy-free; here: the first generated token after the
 * whole prompt equals argmax of the last golden row. */
static void greedy_generation(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    golden g;
    load_golden(&g);
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load_llama2c(model_path, &w), CC_OK);
    cc_ref_model *m;
    assert_int_equal(cc_ref_create(&w, 16, &m), CC_OK);
    int out[8], n_out = 0;
    assert_int_equal(cc_ref_generate(m, g.tokens, g.L, 8, out, &n_out), CC_OK);
    assert_int_equal(n_out, 8);
    const float *last = g.logits + (size_t)(g.L - 1) * g.V;
    int best = 0;
    for (int j = 1; j < g.V; j++) if (last[j] > last[best]) best = j;
    assert_int_equal(out[0], best);
    /* the same continuation from a second run through a fresh cache */
    int again[8], n_again = 0;
    assert_int_equal(cc_ref_generate(m, g.tokens, g.L, 8, again, &n_again), CC_OK);
    assert_memory_equal(out, again, sizeof out);
    printf("greedy continuation:");
    for (int i = 0; i < n_out; i++) printf(" %d", out[i]);
    printf("\n");
    /* bad inputs */
    int bad = 512;
    assert_int_equal(cc_ref_forward(m, &bad, 1, 0, NULL), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "outside the vocabulary"));
    int ok = 1;
    assert_int_equal(cc_ref_forward(m, &ok, 1, 512, NULL), CC_ERR_RANGE);
    assert_int_equal(cc_ref_bert_forward(m, &ok, NULL, 1, NULL, NULL), CC_ERR_ARG);
    cc_ref_free(m);
    cc_weights_free(&w);
    free(g.tokens);
    free(g.logits);
}

static void write_prefix(const char *src, const char *dst, long bytes, const void *extra,
                         size_t extra_len)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    long left = bytes;
    while (left > 0) {
        size_t n = fread(buf, 1, (size_t)CC_MIN(left, (long)sizeof buf), in);
        assert_true(n > 0);
        fwrite(buf, 1, n, out);
        left -= (long)n;
    }
    if (extra_len) fwrite(extra, 1, extra_len, out);
    fclose(in);
    fclose(out);
}

static void llama2c_bad_files(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    cc_model_weights w;
    char path[] = "/tmp/cc_test_ckpt_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);

    assert_int_equal(cc_checkpoint_load_llama2c("/nonexistent/x.bin", &w), CC_ERR_IO);
    assert_non_null(strstr(cc_error_message(), "/nonexistent/x.bin"));

    write_prefix(model_path, path, 1000, NULL, 0);                 /* truncated */
    assert_int_equal(cc_checkpoint_load_llama2c(path, &w), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "truncated"));

    write_prefix(model_path, path, 12, NULL, 0);                   /* header cut */
    assert_int_equal(cc_checkpoint_load_llama2c(path, &w), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "header"));

    write_prefix(model_path, path, 1056540, "xyzw", 4);            /* trailing bytes */
    assert_int_equal(cc_checkpoint_load_llama2c(path, &w), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "trailing"));

    int32_t hdr[7] = {64, 172, 5, 7, 4, 512, 512};                 /* 7 heads ∤ 64 */
    FILE *f = fopen(path, "wb");
    fwrite(hdr, sizeof hdr, 1, f);
    fclose(f);
    assert_int_equal(cc_checkpoint_load_llama2c(path, &w), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "n_heads"));

    int32_t neg[7] = {64, 172, 5, 8, 4, -512, 512};                /* claims separate wcls */
    f = fopen(path, "wb");
    fwrite(neg, sizeof neg, 1, f);
    fclose(f);
    write_prefix(model_path, path, 0, NULL, 0);
    f = fopen(path, "wb");
    fwrite(neg, sizeof neg, 1, f);
    FILE *in = fopen(model_path, "rb");
    fseek(in, 28, SEEK_SET);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, f);
    fclose(in);
    fclose(f);
    assert_int_equal(cc_checkpoint_load_llama2c(path, &w), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "separate"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(import_header),
        cmocka_unit_test(golden_token_at_a_time),
        cmocka_unit_test(golden_batched_prefill),
        cmocka_unit_test(greedy_generation),
        cmocka_unit_test(llama2c_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
