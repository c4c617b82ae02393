/* LLaMA tokenizer: reference tokenizations with the real 32000-token
 * vocabulary (tokenizer.bin), UTF-8 edge cases, decode round trips, a
 * tokenizer.json written here, and bad files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "tokenizer.h"
#include "test_data.h"

static char vocab_path[4096];

static bool vocab_available(void)
{
    const char *dir = cc_test_models_dir();
    snprintf(vocab_path, sizeof vocab_path, "%s/llama2_tokenizer.bin", dir);
    return access(vocab_path, R_OK) == 0;
}

static void expect_ids(const cc_tokenizer *t, const char *text, bool bos, const int *want, size_t n_want)
{
    int ids[256];
    size_t n = 0;
    assert_int_equal(cc_tokenizer_encode(t, text, bos, false, ids, 256, &n), CC_OK);
    if (n != n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
        printf("encode(\"%s\") gave", text);
        for (size_t i = 0; i < n; i++) printf(" %d", ids[i]);
        printf("\n");
    }
    assert_int_equal(n, n_want);
    assert_memory_equal(ids, want, n * sizeof *ids);
}

static void roundtrip(const cc_tokenizer *t, const char *text)
{
    int ids[512];
    size_t n = 0, len = 0;
    char back[1024];
    assert_int_equal(cc_tokenizer_encode(t, text, true, true, ids, 512, &n), CC_OK);
    assert_int_equal(cc_tokenizer_decode(t, ids, n, back, sizeof back, &len), CC_OK);
    assert_int_equal(len, strlen(text));
    assert_string_equal(back, text);
    /* without BOS too */
    assert_int_equal(cc_tokenizer_encode(t, text, false, false, ids, 512, &n), CC_OK);
    assert_int_equal(cc_tokenizer_decode(t, ids, n, back, sizeof back, &len), CC_OK);
    assert_string_equal(back, text);
}

static void llama_reference_tokenizations(void **state)
{
    (void)state;
    if (!vocab_available()) CC_TEST_MISSING_DATA(vocab_path);
    cc_tokenizer *t;
    assert_int_equal(cc_tokenizer_load(vocab_path, &t), CC_OK);
    assert_int_equal(cc_tokenizer_vocab_size(t), 32000);
    const int once[] = {1, 9038, 2501, 263, 931};
    expect_ids(t, "Once upon a time", true, once, 5);
    const int capital[] = {1, 450, 7483, 310, 3444, 338};
    expect_ids(t, "The capital of France is", true, capital, 6);
    /* empty string: no dummy prefix, only the requested specials */
    const int bos_only[] = {1};
    expect_ids(t, "", true, bos_only, 1);
    int ids[4];
    size_t n = 99;
    assert_int_equal(cc_tokenizer_encode(t, "", false, false, ids, 4, &n), CC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cc_tokenizer_encode(t, "", true, true, ids, 4, &n), CC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 2);
    cc_tokenizer_free(t);
}

static void llama_utf8_and_byte_fallback(void **state)
{
    (void)state;
    if (!vocab_available()) CC_TEST_MISSING_DATA(vocab_path);
    cc_tokenizer *t;
    assert_int_equal(cc_tokenizer_load_bin(vocab_path, &t), CC_OK);
    /* U+1F9A4 (dodo) is not a piece: dummy space, then its four bytes as
     * <0xF0> <0x9F> <0xA6> <0xA4> = byte + 3 */
    const int dodo[] = {1, 29871, 0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0xA4 + 3};
    expect_ids(t, "\xF0\x9F\xA6\xA4", true, dodo, 6);
    /* a lone continuation byte and a truncated sequence fall back per byte */
    int ids[64];
    size_t n;
    assert_int_equal(cc_tokenizer_encode(t, "a\x80", false, false, ids, 64, &n), CC_OK);
    assert_int_equal(ids[n - 1], 0x80 + 3);
    assert_int_equal(cc_tokenizer_encode(t, "\xE4\xB8", false, false, ids, 64, &n), CC_OK);
    assert_int_equal(ids[n - 2], 0xE4 + 3);
    assert_int_equal(ids[n - 1], 0xB8 + 3);
    /* the byte tokens decode to their bytes, i.e. the original UTF-8 */
    const char *texts[] = {
        "Once upon a time", "naïve café, Straße", "日本語のテキスト", ("emoji \xF0\x9F\x98\x80 and "
        "\xF0\x9F\xA6\xA4!"), "  two leading spaces", "tabs\tand\nnewlines\n", "x", " ",
        "Ünïcödé 123 456.789",
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(texts); i++) roundtrip(t, texts[i]);
    /* pieces: the dummy space of the first word is dropped only after BOS */
    const char *p;
    size_t len;
    assert_int_equal(cc_tokenizer_piece(t, 1, 9038, &p, &len), CC_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "Once", 4);
    assert_int_equal(cc_tokenizer_piece(t, 9038, 2501, &p, &len), CC_OK);
    assert_memory_equal(p, " upon", 5);
    assert_int_equal(cc_tokenizer_piece(t, 5, 3, &p, &len), CC_OK);   /* <0x00> */
    assert_int_equal(len, 1);
    assert_int_equal(p[0], 0);
    /* bad inputs */
    assert_int_equal(cc_tokenizer_piece(t, 1, 32000, &p, &len), CC_ERR_ARG);
    assert_int_equal(cc_tokenizer_encode(t, "Once upon a time", true, false, ids, 3, &n), CC_ERR_RANGE);
    char small[4];
    const int once[] = {1, 9038, 2501};
    assert_int_equal(cc_tokenizer_decode(t, once, 3, small, sizeof small, &len), CC_ERR_RANGE);
    cc_tokenizer_free(t);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A tiny SentencePiece-style tokenizer.json: specials, 256 byte tokens,
 * then ▁ a b c ▁a ab ▁ab bc with merges ranked  a+b, ▁+a, ▁a+b, b+c. */
static void write_small_json(const char *path, bool pair_arrays, const char *type)
{
    char *buf = malloc(65536);
    size_t n = 0;
    n += (size_t)sprintf(buf + n, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":1,\"content\":\"<s>\",\"special\":true},"
                         "{\"id\":267,\"content\":\"<extra>\",\"special\":true}],\"model\":{\"type\":\"%s\","
                         "\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2", type);
    for (int b = 0; b < 256; b++) n += (size_t)sprintf(buf + n, ",\"<0x%02X>\":%d", b, b + 3);
    const char *pieces[] = {"\xE2\x96\x81", "a", "b", "c", "\xE2\x96\x81" "a", "ab",
                            "\xE2\x96\x81" "ab", "bc"};
    for (int i = 0; i < 8; i++) n += (size_t)sprintf(buf + n, ",\"%s\":%d", pieces[i], 259 + i);
    if (pair_arrays)
        n += (size_t)sprintf(buf + n, "},\"merges\":[[\"a\",\"b\"],[\"\xE2\x96\x81\",\"a\"],"
                             "[\"\xE2\x96\x81" "a\",\"b\"],[\"b\",\"c\"]]}}");
    else
        n += (size_t)sprintf(buf + n, "},\"merges\":[\"a b\",\"\xE2\x96\x81 a\",\"\xE2\x96\x81" "a b\","
                             "\"b c\"]}}");
    write_text(path, buf);
    free(buf);
}

static void small_tokenizer_json(void **state)
{
    (void)state;
    char path[] = "/tmp/cc_test_tok_XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    for (int variant = 0; variant < 2; variant++) {
        write_small_json(path, variant == 1, "BPE");
        cc_tokenizer *t;
        assert_int_equal(cc_tokenizer_load(path, &t), CC_OK);
        assert_int_equal(cc_tokenizer_vocab_size(t), 268);    /* + one added token */
        const char *piece;
        size_t plen;
        assert_int_equal(cc_tokenizer_piece(t, 5, 267, &piece, &plen), CC_OK);
        assert_int_equal(plen, 7);
        assert_memory_equal(piece, "<extra>", 7);
        /* ▁ a b c: a+b has rank 0, then (▁, ab) is no merge although "▁ab"
         * is a piece: merges go by pair rank, not by piece existence */
        const int abc[] = {1, 259, 264, 262};
        expect_ids(t, "abc", true, abc, 4);
        /* ▁ a ▁ b c: ▁+a (rank 1) before b+c (rank 3) */
        const int a_bc[] = {263, 259, 266};
        expect_ids(t, "a bc", false, a_bc, 3);
        /* ▁ a b: a+b first (rank 0) leaves ▁ ab */
        const int ab[] = {259, 264};
        expect_ids(t, "ab", false, ab, 2);
        /* "d" and "é" are not pieces: byte fallback */
        const int d[] = {259, 0x64 + 3};
        expect_ids(t, "d", false, d, 2);
        const int e_acute[] = {259, 0xC3 + 3, 0xA9 + 3};
        expect_ids(t, "\xC3\xA9", false, e_acute, 3);
        roundtrip(t, "abc a bc d \xC3\xA9 \xF0\x9F\x98\x80");
        cc_tokenizer_free(t);
    }
    /* bad files */
    cc_tokenizer *t = NULL;
    write_small_json(path, false, "Unigram");
    assert_int_equal(cc_tokenizer_load_json(path, &t), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "Unigram"));
    write_text(path, "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,"
                     "\"<s>\":1,\"</s>\":2,\"a\":3},\"merges\":[\"a zz\"]}}");
    assert_int_equal(cc_tokenizer_load_json(path, &t), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "missing from the vocabulary"));
    write_text(path, "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,"
                     "\"<s>\":1,\"</s>\":2,\"a\":5},\"merges\":[]}}");
    assert_int_equal(cc_tokenizer_load_json(path, &t), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "no piece"));
    write_text(path, "{\"model\":{\"type\":\"BPE\", \"vocab\": {");
    assert_int_equal(cc_tokenizer_load_json(path, &t), CC_ERR_FORMAT);
    assert_null(t);
    unlink(path);
}

static void bad_tokenizer_bin(void **state)
{
    (void)state;
    char path[] = "/tmp/cc_test_tokbin_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    cc_tokenizer *t = NULL;
    assert_int_equal(cc_tokenizer_load_bin("/nonexistent/tokenizer.bin", &t), CC_ERR_IO);
    FILE *f = fopen(path, "wb");
    int32_t max_len = 8, len = 5;
    float score = 0.0f;
    fwrite(&max_len, 4, 1, f);
    fwrite(&score, 4, 1, f);
    fwrite(&len, 4, 1, f);
    fwrite("ab", 1, 2, f);                 /* piece cut short */
    fclose(f);
    assert_int_equal(cc_tokenizer_load_bin(path, &t), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "truncated"));
    f = fopen(path, "wb");
    len = 99;                               /* longer than max_token_length */
    fwrite(&max_len, 4, 1, f);
    fwrite(&score, 4, 1, f);
    fwrite(&len, 4, 1, f);
    fclose(f);
    assert_int_equal(cc_tokenizer_load_bin(path, &t), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "length 99"));
    write_text(path, "{}");
    assert_int_equal(cc_tokenizer_load_bin(path, &t), CC_ERR_FORMAT);
    assert_null(t);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama_reference_tokenizations),
        cmocka_unit_test(llama_utf8_and_byte_fallback),
        cmocka_unit_test(small_tokenizer_json),
        cmocka_unit_test(bad_tokenizer_bin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
