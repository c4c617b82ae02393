/* Hugging Face import: stories260K re-exported here as an HF LLaMA
 * checkpoint (rotate-half q/k permutation, "model." names; f32, bf16,
 * sharded) must give the same weights and golden logits as the llama2.c
 * file; half-precision conversion; bad files. */
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
#include "import_impl.h"   /* white-box: the f16/bf16 converters */
#include "model.h"
#include "ref.h"
#include "test_checkpoint_writer.h"
#include "test_data.h"

static char model_path[4096], golden_path[4096];

static bool models_available(void)
{
    const char *dir = cc_test_models_dir();
    snprintf(model_path, sizeof model_path, "%s/stories260K.bin", dir);
    snprintf(golden_path, sizeof golden_path, "%s/stories260K.golden.bin", dir);
    return access(model_path, R_OK) == 0 && access(golden_path, R_OK) == 0;
}

/* HF's export permutes q/k rows: w.view(heads, hs/2, 2, in).transpose(1, 2),
 * i.e. element [h][i][j][c] moves to [h][j][i][c]. */
static float *hf_permute(const float *w, int heads, int rows, int cols)
{
    const int half = rows / heads / 2;
    float *out = malloc((size_t)rows * cols * sizeof *out);
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(out + ((size_t)(h * 2 + j) * half + i) * cols,
                       w + ((size_t)(h * half + i) * 2 + j) * cols, (size_t)cols * sizeof *out);
    return out;
}

/* Writes the llama2.c weights as an HF checkpoint; shards > 1 splits the
 * tensors over files listed in model.safetensors.index.json. */
static void export_hf(const cc_model_weights *w, const char *dir, const char *dtype, int shards)
{
    const cc_model_config *c = &w->config;
    tw_tensor *t = calloc(w->n_tensors, sizeof *t);
    char (*names)[96] = calloc(w->n_tensors, sizeof *names);
    float **owned = calloc(w->n_tensors, sizeof *owned);
    static const struct { const char *canon, *hf; } map[] = {
        {"attn_norm.weight", "input_layernorm.weight"}, {"attn.q.weight", "self_attn.q_proj.weight"},
        {"attn.k.weight", "self_attn.k_proj.weight"}, {"attn.v.weight", "self_attn.v_proj.weight"},
        {"attn.o.weight", "self_attn.o_proj.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"ffn.gate.weight", "mlp.gate_proj.weight"}, {"ffn.up.weight", "mlp.up_proj.weight"},
        {"ffn.down.weight", "mlp.down_proj.weight"},
    };
    for (size_t i = 0; i < w->n_tensors; i++) {
        const cc_tensor_f32 *src = &w->tensors[i];
        t[i] = (tw_tensor){names[i], src->ndim, {src->shape[0], src->shape[1]}, src->data};
        int layer;
        char rest[64];
        if (strcmp(src->name, "embed.tokens") == 0) snprintf(names[i], 96, "model.embed_tokens.weight");
        else if (strcmp(src->name, "final_norm.weight") == 0) snprintf(names[i], 96, "model.norm.weight");
        else {
            assert_int_equal(sscanf(src->name, "layers.%d.%63s", &layer, rest), 2);
            size_t k = 0;
            while (k < CC_ARRAY_LEN(map) && strcmp(map[k].canon, rest) != 0) k++;
            assert_true(k < CC_ARRAY_LEN(map));
            snprintf(names[i], 96, "model.layers.%d.%s", layer, map[k].hf);
            const bool q = strcmp(rest, "attn.q.weight") == 0, kk = strcmp(rest, "attn.k.weight") == 0;
            if (q || kk) {
                owned[i] = hf_permute(src->data, q ? c->n_heads : c->n_kv_heads, (int)src->shape[0],
                                      (int)src->shape[1]);
                t[i].data = owned[i];
            }
        }
    }
    char path[4096], index[65536];
    size_t per = (w->n_tensors + (size_t)shards - 1) / (size_t)shards, il = 0;
    il += (size_t)snprintf(index + il, sizeof index - il, "{\"metadata\":{},\"weight_map\":{");
    for (int s = 0; s < shards; s++) {
        size_t begin = (size_t)s * per, end = CC_MIN(w->n_tensors, begin + per);
        char file[64];
        if (shards == 1) snprintf(file, sizeof file, "model.safetensors");
        else snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        assert_int_equal(tw_write_safetensors(path, dtype, t + begin, end - begin), 0);
        for (size_t i = begin; i < end; i++)
            il += (size_t)snprintf(index + il, sizeof index - il, "%s\"%s\":\"%s\"",
                                   i ? "," : "", names[i], file);
    }
    snprintf(index + il, sizeof index - il, "}}");
    if (shards > 1) {
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        tw_write_text(path, index);
    }
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
             "\"hidden_size\":%d,\"intermediate_size\":%d,\"num_hidden_layers\":%d,"
             "\"num_attention_heads\":%d,\"num_key_value_heads\":%d,\"vocab_size\":%d,"
             "\"max_position_embeddings\":%d,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
             "\"tie_word_embeddings\":true,\"hidden_act\":\"silu\",\"rope_scaling\":null}",
             c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
             c->max_seq_len);
    snprintf(path, sizeof path, "%s/config.json", dir);
    tw_write_text(path, cfg);
    for (size_t i = 0; i < w->n_tensors; i++) free(owned[i]);
    free(owned);
    free(names);
    free(t);
}

static float golden_max_diff(const cc_model_weights *w)
{
    FILE *f = fopen(golden_path, "rb");
    int32_t L, V;
    assert_int_equal(fread(&L, 4, 1, f), 1);
    assert_int_equal(fread(&V, 4, 1, f), 1);
    int *tok = malloc((size_t)L * sizeof *tok);
    float *want = malloc((size_t)L * V * 4), *got = malloc((size_t)L * V * 4);
    assert_int_equal(fread(tok, 4, (size_t)L, f), (size_t)L);
    assert_int_equal(fread(want, 4, (size_t)L * V, f), (size_t)L * V);
    fclose(f);
    cc_ref_model *m;
    assert_int_equal(cc_ref_create(w, 0, &m), CC_OK);
    assert_int_equal(cc_ref_forward(m, tok, L, 0, got), CC_OK);
    float worst = 0;
    for (size_t i = 0; i < (size_t)L * V; i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
    cc_ref_free(m);
    free(tok);
    free(want);
    free(got);
    return worst;
}

static void llama_hf_roundtrip(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    cc_model_weights ref;
    assert_int_equal(cc_checkpoint_load(model_path, &ref), CC_OK);
    const struct { const char *dtype; int shards; } cases[] = {{"F32", 1}, {"F32", 3}, {"BF16", 2}};
    for (size_t ci = 0; ci < CC_ARRAY_LEN(cases); ci++) {
        const char *dir = tw_tmpdir();
        export_hf(&ref, dir, cases[ci].dtype, cases[ci].shards);
        cc_model_weights hf;
        assert_int_equal(cc_checkpoint_load(dir, &hf), CC_OK);
        assert_memory_equal(&hf.config, &ref.config, sizeof hf.config);
        assert_int_equal(hf.n_tensors, ref.n_tensors);
        const bool bf16 = strcmp(cases[ci].dtype, "BF16") == 0;
        for (size_t i = 0; i < ref.n_tensors; i++) {
            const cc_tensor_f32 *a = &ref.tensors[i], *b = cc_weights_find(&hf, a->name);
            assert_non_null(b);
            assert_int_equal(b->numel, a->numel);
            assert_int_equal(b->layer, a->layer);
            assert_int_equal(b->is_linear, a->is_linear);
            for (size_t j = 0; j < a->numel; j++) {
                float want = a->data[j];
                if (bf16) { uint32_t bits = (uint32_t)tw_f32_to_bf16(want) << 16; memcpy(&want, &bits, 4); }
                if (b->data[j] != want) fail_msg("%s[%zu]: %g != %g", a->name, j, b->data[j], want);
            }
        }
        if (!bf16) {
            float worst = golden_max_diff(&hf);
            printf("HF f32 (%d shard(s)): golden max |dlogit| %.3g\n", cases[ci].shards, worst);
            assert_true(worst <= 1e-4f);
        }
        cc_weights_free(&hf);
        tw_rmdir(dir);
    }
    cc_weights_free(&ref);
}

/* Lazy access (one tensor at a time, for models larger than memory) gives
 * the same tensors as the eager load, directly and as a tensor source. */
static void lazy_matches_eager(void **state)
{
    (void)state;
    if (!models_available()) CC_TEST_MISSING_DATA(model_path);
    cc_model_weights ref;
    assert_int_equal(cc_checkpoint_load(model_path, &ref), CC_OK);
    const char *dir = tw_tmpdir();
    export_hf(&ref, dir, "F16", 2);
    cc_model_weights hf_eager;
    assert_int_equal(cc_checkpoint_load(dir, &hf_eager), CC_OK);
    const char *paths[2] = {model_path, dir};
    const cc_model_weights *eager[2] = {&ref, &hf_eager};
    for (int k = 0; k < 2; k++) {
        cc_checkpoint *ck;
        assert_int_equal(cc_checkpoint_open(paths[k], &ck), CC_OK);
        assert_memory_equal(cc_checkpoint_config(ck), &eager[k]->config, sizeof(cc_model_config));
        assert_int_equal(cc_checkpoint_count(ck), eager[k]->n_tensors);
        cc_tensor_source src;
        assert_int_equal(cc_checkpoint_source(ck, &src), CC_OK);
        assert_int_equal(src.n_tensors, eager[k]->n_tensors);
        float *buf = malloc(512 * 64 * sizeof *buf);
        /* read backwards: order must not matter */
        for (size_t i = eager[k]->n_tensors; i-- > 0;) {
            const cc_tensor_f32 *want = &eager[k]->tensors[i];
            const cc_tensor_f32 *m = cc_checkpoint_describe(ck, i);
            assert_string_equal(m->name, want->name);
            assert_int_equal(m->numel, want->numel);
            assert_int_equal(m->layer, want->layer);
            assert_int_equal(m->is_linear, want->is_linear);
            assert_null(m->data);
            assert_true(m->numel <= 512 * 64);
            memset(buf, 0xff, m->numel * sizeof *buf);
            assert_int_equal(cc_checkpoint_read(ck, i, buf), CC_OK);
            assert_memory_equal(buf, want->data, m->numel * sizeof *buf);
            cc_tensor_f32 meta;
            assert_int_equal(src.describe(src.ctx, i, &meta), CC_OK);
            assert_string_equal(meta.name, want->name);
            memset(buf, 0, m->numel * sizeof *buf);
            assert_int_equal(src.read(src.ctx, i, buf), CC_OK);
            assert_memory_equal(buf, want->data, m->numel * sizeof *buf);
        }
        assert_int_equal(cc_checkpoint_read(ck, eager[k]->n_tensors, buf), CC_ERR_ARG);
        assert_null(cc_checkpoint_describe(ck, eager[k]->n_tensors));
        free(buf);
        cc_checkpoint_close(ck);
    }
    /* a truncated llama2.c file fails at open, before any tensor is read */
    char trunc[4200];
    snprintf(trunc, sizeof trunc, "%s/short.bin", dir);
    FILE *in = fopen(model_path, "rb"), *out = fopen(trunc, "wb");
    char chunk[4096];
    size_t got = fread(chunk, 1, sizeof chunk, in);
    fwrite(chunk, 1, got, out);
    fclose(in);
    fclose(out);
    cc_checkpoint *ck = NULL;
    assert_int_equal(cc_checkpoint_open(trunc, &ck), CC_ERR_FORMAT);
    assert_null(ck);
    assert_non_null(strstr(cc_error_message(), "truncated"));
    cc_weights_free(&hf_eager);
    cc_weights_free(&ref);
    tw_rmdir(dir);
}

static void half_precision_conversion(void **state)
{
    (void)state;
    assert_true(cc_f16_to_f32(0x3C00) == 1.0f);
    assert_true(cc_f16_to_f32(0xC000) == -2.0f);
    assert_true(cc_f16_to_f32(0x7BFF) == 65504.0f);
    assert_true(cc_f16_to_f32(0x0001) == ldexpf(1.0f, -24));     /* smallest subnormal */
    assert_true(cc_f16_to_f32(0x03FF) == ldexpf(1023.0f, -24));  /* largest subnormal */
    assert_true(cc_f16_to_f32(0x0400) == ldexpf(1.0f, -14));     /* smallest normal */
    assert_true(cc_f16_to_f32(0x3555) == 0.25f + 0x155p-12f);
    assert_true(isinf(cc_f16_to_f32(0x7C00)) && cc_f16_to_f32(0xFC00) < 0);
    assert_true(isnan(cc_f16_to_f32(0x7E00)));
    assert_true(signbit(cc_f16_to_f32(0x8000)) && cc_f16_to_f32(0x8000) == 0.0f);
    assert_true(cc_bf16_to_f32(0x3F80) == 1.0f);
    assert_true(cc_bf16_to_f32(0xC049) == -3.140625f);
    assert_true(isinf(cc_bf16_to_f32(0x7F80)));
    /* every finite f16 survives f16 -> f32 -> f16 (the test's encoder) */
    for (uint32_t h = 0x0400; h < 0x7C00; h++) {
        assert_int_equal(tw_f32_to_f16(cc_f16_to_f32((uint16_t)h)), h);
        assert_int_equal(tw_f32_to_f16(cc_f16_to_f32((uint16_t)(h | 0x8000))), h | 0x8000);
    }
}

/* A small valid GPT-2 directory to corrupt in different ways. */
static void write_gpt2(const char *dir, const char *dtype, const char *skip_tensor,
                       int64_t wte_rows)
{
    enum { D = 8, V = 10, S = 6, H = 32 };
    static float zeros[3 * D * H];
    memset(zeros, 0, sizeof zeros);
    tw_tensor t[32];
    char names[32][64];
    size_t n = 0;
#define ADD(nd, d0, d1, ...) do { snprintf(names[n], 64, __VA_ARGS__); \
        if (!skip_tensor || strcmp(names[n], skip_tensor) != 0) \
            { t[n] = (tw_tensor){names[n], nd, {d0, d1}, zeros}; n++; } } while (0)
    ADD(2, wte_rows, D, "wte.weight");
    ADD(2, S, D, "wpe.weight");
    ADD(1, D, 0, "h.0.ln_1.weight");
    ADD(1, D, 0, "h.0.ln_1.bias");
    ADD(2, D, 3 * D, "h.0.attn.c_attn.weight");
    ADD(1, 3 * D, 0, "h.0.attn.c_attn.bias");
    ADD(2, D, D, "h.0.attn.c_proj.weight");
    ADD(1, D, 0, "h.0.attn.c_proj.bias");
    ADD(1, D, 0, "h.0.ln_2.weight");
    ADD(1, D, 0, "h.0.ln_2.bias");
    ADD(2, D, H, "h.0.mlp.c_fc.weight");
    ADD(1, H, 0, "h.0.mlp.c_fc.bias");
    ADD(2, H, D, "h.0.mlp.c_proj.weight");
    ADD(1, D, 0, "h.0.mlp.c_proj.bias");
    ADD(1, D, 0, "ln_f.weight");
    ADD(1, D, 0, "ln_f.bias");
#undef ADD
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(tw_write_safetensors(path, dtype, t, n), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    tw_write_text(path, "{\"model_type\":\"gpt2\",\"n_embd\":8,\"n_layer\":1,\"n_head\":2,"
                        "\"vocab_size\":10,\"n_positions\":6}");
}

static void expect_error(const char *path, cc_status want, const char *fragment)
{
    cc_model_weights w;
    cc_status s = cc_checkpoint_load(path, &w);
    if (s != want || !strstr(cc_error_message(), fragment))
        fail_msg("load %s: status %d, message \"%s\"; wanted %d with \"%s\"", path, s,
                 cc_error_message(), want, fragment);
    assert_null(w.tensors);
}

static void truncate_file(const char *path, long keep)
{
    assert_int_equal(truncate(path, keep), 0);
}

static void hf_bad_files(void **state)
{
    (void)state;
    const char *dir = tw_tmpdir();
    char st[4096], cfg[4096];
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);

    write_gpt2(dir, "F32", NULL, 10);
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load(dir, &w), CC_OK);      /* the valid baseline */
    cc_weights_free(&w);
    tw_write_text(cfg, "{\"model_type\":\"gpt2\",\"n_embd\":8,\"n_layer\":1,\"n_head\":2,"
                       "\"vocab_size\":10,\"n_ctx\":6}");            /* older key for n_positions */
    assert_int_equal(cc_checkpoint_load(dir, &w), CC_OK);
    assert_int_equal(w.config.max_seq_len, 6);
    cc_weights_free(&w);
    /* the default n_inner 4·n_embd overflowed int (fuzz_hf_config regression) */
    tw_write_text(cfg, "{\"model_type\":\"gpt2\",\"n_embd\":1073741824,\"n_layer\":1,"
                       "\"n_head\":1,\"vocab_size\":10,\"n_positions\":6}");
    expect_error(dir, CC_ERR_FORMAT, "\"n_embd\" = 1073741824 out of range");

    write_gpt2(dir, "F32", "h.0.mlp.c_fc.bias", 10);
    expect_error(dir, CC_ERR_FORMAT, "missing tensor h.0.mlp.c_fc.bias");
    write_gpt2(dir, "F32", NULL, 11);
    expect_error(dir, CC_ERR_FORMAT, "wte.weight has shape [11][8], expected [10][8]");
    write_gpt2(dir, "I64", NULL, 10);
    expect_error(dir, CC_ERR_FORMAT, "dtype I64");
    write_gpt2(dir, "F42", NULL, 10);
    expect_error(dir, CC_ERR_FORMAT, "unknown dtype \"F42\"");
    write_gpt2(dir, "F16", NULL, 10);
    truncate_file(st, 300);
    expect_error(dir, CC_ERR_FORMAT, "truncated");
    truncate_file(st, 5);
    expect_error(dir, CC_ERR_FORMAT, "too short");

    /* byte length that disagrees with shape x dtype */
    tw_write_text(st, "");
    FILE *f = fopen(st, "wb");
    const char hdr[] = "{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[10,8],\"data_offsets\":[0,316]}}";
    uint64_t hl = sizeof hdr - 1;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    static const char pad[400];
    fwrite(pad, 1, sizeof pad, f);
    fclose(f);
    expect_error(dir, CC_ERR_FORMAT, "holds 316 bytes, its shape and dtype need 320");
    f = fopen(st, "wb");
    hl = 1u << 30;
    fwrite(&hl, 8, 1, f);
    fclose(f);
    expect_error(dir, CC_ERR_FORMAT, "header length");
    f = fopen(st, "wb");
    hl = 8;
    fwrite(&hl, 8, 1, f);
    fwrite("{\"a\": [1", 1, 8, f);
    fclose(f);
    expect_error(dir, CC_ERR_FORMAT, "not a JSON object");

    write_gpt2(dir, "F32", NULL, 10);
    tw_write_text(cfg, "{\"model_type\":\"t5\"}");
    expect_error(dir, CC_ERR_UNSUPPORTED, "model_type \"t5\"");
    tw_write_text(cfg, "{\"model_type\":\"gpt2\",\"n_embd\":8,\"n_layer\":1,\"n_head\":3,"
                       "\"vocab_size\":10,\"n_positions\":6}");
    expect_error(dir, CC_ERR_FORMAT, "not divisible by n_heads 3");
    tw_write_text(cfg, "{\"model_type\":\"gpt2\",\"n_embd\":8,\"n_layer\":1,\"n_head\":2,"
                       "\"n_positions\":6}");
    expect_error(dir, CC_ERR_FORMAT, "missing \"vocab_size\"");
    tw_write_text(cfg, "{\"model_type\":\"gpt2\",");
    expect_error(dir, CC_ERR_FORMAT, "config.json");
    unlink(cfg);
    expect_error(dir, CC_ERR_FORMAT, "config.json");
    unlink(st);
    expect_error(dir, CC_ERR_IO, "neither model.safetensors");
    expect_error("/nonexistent/model.safetensors", CC_ERR_IO, "/nonexistent/model.safetensors");
    tw_rmdir(dir);
}

/* A shard index we did not write: every shard must be a plain file name in
 * the checkpoint's directory, and the index itself well-formed JSON. */
static void hf_bad_index(void **state)
{
    (void)state;
    const char *dir = tw_tmpdir();
    char index[4096];
    write_gpt2(dir, "F32", NULL, 10);
    char st[4096];
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    tw_write_text(index, "{\"weight_map\":{\"wte.weight\":\"model.safetensors\"}}");
    cc_model_weights w;
    assert_int_equal(cc_checkpoint_load(index, &w), CC_OK);     /* the valid baseline */
    cc_weights_free(&w);
    static const struct { const char *text; const char *fragment; } bad[] = {
        { "{\"weight_map\":{\"wte.weight\":\"../model.safetensors\"}}", "must be a plain file name" },
        { "{\"weight_map\":{\"wte.weight\":\"..\"}}", "must be a plain file name" },
        { "{\"weight_map\":{\"wte.weight\":\"model.safetensors\\u0000x\"}}", "must be a plain file name" },
        { "{\"weight_map\":{\"wte.weight\":7}}", "not a file name" },
        { "{\"weight_map\":{}}", "no shards" },
        { "{\"metadata\":{}}", "no \"weight_map\" object" },
        { "{\"weight_map\":{\"a\":", "not a JSON object" },
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(bad); i++) {
        tw_write_text(index, bad[i].text);
        expect_error(index, CC_ERR_FORMAT, bad[i].fragment);
    }
    unlink(index);
    unlink(st);
    tw_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama_hf_roundtrip),
        cmocka_unit_test(lazy_matches_eager),
        cmocka_unit_test(half_precision_conversion),
        cmocka_unit_test(hf_bad_files),
        cmocka_unit_test(hf_bad_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
