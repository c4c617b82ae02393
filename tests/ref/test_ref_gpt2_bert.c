/* GPT-2 and BERT reference forward passes on tiny random models written here
 * as Hugging Face safetensors (f32, f16, bf16), against a naive double-
 * precision implementation that reads the HF layout directly (Conv1D
 * [in][out], fused c_attn), so the importer's transposes and splits are
 * checked too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "import.h"
#include "import/test_checkpoint_writer.h"
#include "model.h"
#include "ref.h"

static const char *const dtypes[] = {"F32", "F16", "BF16"};

/* ---- naive helpers (double) ------------------------------------------------ */

static void layernorm(double *x, const float *w, const float *b, int d, double eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < d; i++) mean += x[i];
    mean /= d;
    for (int i = 0; i < d; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= d;
    for (int i = 0; i < d; i++) x[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i];
}

/* attention for one head-slice: out[t] = softmax(q[t]·k[p] / √hs) v[p] */
static void attend(const double *q, const double *k, const double *v, double *out, int n, int d,
                   int heads, bool causal)
{
    const int hs = d / heads;
    double *s = malloc((size_t)n * sizeof *s);
    for (int h = 0; h < heads; h++)
        for (int t = 0; t < n; t++) {
            const int len = causal ? t + 1 : n;
            double mx = -1e300, sum = 0;
            for (int p = 0; p < len; p++) {
                double dot = 0;
                for (int e = 0; e < hs; e++) dot += q[t * d + h * hs + e] * k[p * d + h * hs + e];
                s[p] = dot / sqrt((double)hs);
                if (s[p] > mx) mx = s[p];
            }
            for (int p = 0; p < len; p++) { s[p] = exp(s[p] - mx); sum += s[p]; }
            for (int e = 0; e < hs; e++) {
                double acc = 0;
                for (int p = 0; p < len; p++) acc += s[p] / sum * v[p * d + h * hs + e];
                out[t * d + h * hs + e] = acc;
            }
        }
    free(s);
}

static void check_close(const float *got, const double *want, size_t n, const char *what)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (err > worst) worst = err;
    }
    printf("%s: max rel err %.3g over %zu values\n", what, worst, n);
    assert_true(worst < 1e-4);
}

/* ---- GPT-2 ------------------------------------------------------------------- */

enum { G_D = 16, G_HEADS = 4, G_H = 64, G_L = 2, G_V = 50, G_S = 32 };

typedef struct gpt2_w {
    float wte[G_V * G_D], wpe[G_S * G_D];
    float ln1w[G_L][G_D], ln1b[G_L][G_D], attn_w[G_L][G_D * 3 * G_D], attn_b[G_L][3 * G_D];
    float proj_w[G_L][G_D * G_D], proj_b[G_L][G_D], ln2w[G_L][G_D], ln2b[G_L][G_D];
    float fc_w[G_L][G_D * G_H], fc_b[G_L][G_H], fc2_w[G_L][G_H * G_D], fc2_b[G_L][G_D];
    float lnfw[G_D], lnfb[G_D];
} gpt2_w;

static void gpt2_random(gpt2_w *w)
{
    uint64_t st = 42;
    tw_fill((float *)w, sizeof *w / sizeof(float), &st, 9);
    /* norm gains near 1 */
    for (int l = 0; l < G_L; l++)
        for (int i = 0; i < G_D; i++) { w->ln1w[l][i] += 1; w->ln2w[l][i] += 1; }
    for (int i = 0; i < G_D; i++) w->lnfw[i] += 1;
    tw_round_bf16((float *)w, sizeof *w / sizeof(float));
}

static void gpt2_naive(const gpt2_w *w, const int *tok, int n, double *logits)
{
    const int d = G_D;
    double *x = calloc((size_t)n * d, 8), *a = calloc((size_t)n * d, 8);
    double *q = calloc((size_t)n * d, 8), *k = calloc((size_t)n * d, 8), *v = calloc((size_t)n * d, 8);
    double *o = calloc((size_t)n * d, 8), *f = calloc((size_t)n * G_H, 8);
    for (int t = 0; t < n; t++)
        for (int i = 0; i < d; i++) x[t * d + i] = (double)w->wte[tok[t] * d + i] + w->wpe[t * d + i];
    for (int l = 0; l < G_L; l++) {
        memcpy(a, x, (size_t)n * d * 8);
        for (int t = 0; t < n; t++) layernorm(a + t * d, w->ln1w[l], w->ln1b[l], d, 1e-5);
        for (int t = 0; t < n; t++)
            for (int j = 0; j < 3 * d; j++) {
                double acc = w->attn_b[l][j];
                for (int i = 0; i < d; i++) acc += a[t * d + i] * w->attn_w[l][i * 3 * d + j];
                double *dst = j < d ? q : j < 2 * d ? k : v;
                dst[t * d + j % d] = acc;
            }
        attend(q, k, v, o, n, d, G_HEADS, true);
        for (int t = 0; t < n; t++)
            for (int j = 0; j < d; j++) {
                double acc = w->proj_b[l][j];
                for (int i = 0; i < d; i++) acc += o[t * d + i] * w->proj_w[l][i * d + j];
                x[t * d + j] += acc;
            }
        memcpy(a, x, (size_t)n * d * 8);
        for (int t = 0; t < n; t++) layernorm(a + t * d, w->ln2w[l], w->ln2b[l], d, 1e-5);
        for (int t = 0; t < n; t++)
            for (int j = 0; j < G_H; j++) {
                double acc = w->fc_b[l][j];
                for (int i = 0; i < d; i++) acc += a[t * d + i] * w->fc_w[l][i * G_H + j];
                f[t * G_H + j] = 0.5 * acc * (1 + tanh(sqrt(2 / M_PI) * (acc + 0.044715 * acc * acc * acc)));
            }
        for (int t = 0; t < n; t++)
            for (int j = 0; j < d; j++) {
                double acc = w->fc2_b[l][j];
                for (int i = 0; i < G_H; i++) acc += f[t * G_H + i] * w->fc2_w[l][i * d + j];
                x[t * d + j] += acc;
            }
    }
    for (int t = 0; t < n; t++) {
        layernorm(x + t * d, w->lnfw, w->lnfb, d, 1e-5);
        for (int vv = 0; vv < G_V; vv++) {
            double acc = 0;
            for (int i = 0; i < d; i++) acc += x[t * d + i] * w->wte[vv * d + i];
            logits[t * G_V + vv] = acc;
        }
    }
    free(x); free(a); free(q); free(k); free(v); free(o); free(f);
}

static void gpt2_write(const char *dir, const gpt2_w *w, const char *dtype, const char *prefix)
{
    tw_tensor t[4 + 12 * G_L];
    char names[4 + 12 * G_L][64];
    size_t n = 0;
#define ADD(nm, data, nd, d0, d1) do { snprintf(names[n], 64, "%s%s", prefix, nm); \
        t[n] = (tw_tensor){names[n], nd, {d0, d1}, data}; n++; } while (0)
    ADD("wte.weight", w->wte, 2, G_V, G_D);
    ADD("wpe.weight", w->wpe, 2, G_S, G_D);
    for (int l = 0; l < G_L; l++) {
        char nm[64];
#define ADDL(fmt, data, nd, d0, d1) do { snprintf(nm, sizeof nm, fmt, l); ADD(nm, data, nd, d0, d1); } while (0)
        ADDL("h.%d.ln_1.weight", w->ln1w[l], 1, G_D, 0);
        ADDL("h.%d.ln_1.bias", w->ln1b[l], 1, G_D, 0);
        ADDL("h.%d.attn.c_attn.weight", w->attn_w[l], 2, G_D, 3 * G_D);
        ADDL("h.%d.attn.c_attn.bias", w->attn_b[l], 1, 3 * G_D, 0);
        ADDL("h.%d.attn.c_proj.weight", w->proj_w[l], 2, G_D, G_D);
        ADDL("h.%d.attn.c_proj.bias", w->proj_b[l], 1, G_D, 0);
        ADDL("h.%d.ln_2.weight", w->ln2w[l], 1, G_D, 0);
        ADDL("h.%d.ln_2.bias", w->ln2b[l], 1, G_D, 0);
        ADDL("h.%d.mlp.c_fc.weight", w->fc_w[l], 2, G_D, G_H);
        ADDL("h.%d.mlp.c_fc.bias", w->fc_b[l], 1, G_H, 0);
        ADDL("h.%d.mlp.c_proj.weight", w->fc2_w[l], 2, G_H, G_D);
        ADDL("h.%d.mlp.c_proj.bias", w->fc2_b[l], 1, G_D, 0);
#undef ADDL
    }
    ADD("ln_f.weight", w->lnfw, 1, G_D, 0);
    ADD("ln_f.bias", w->lnfb, 1, G_D, 0);
#undef ADD
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(tw_write_safetensors(path, dtype, t, n), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "{\"model_type\":\"gpt2\",\"n_embd\":%d,\"n_layer\":%d,\"n_head\":%d,"
             "\"n_inner\":null,\"vocab_size\":%d,\"n_positions\":%d,\"layer_norm_epsilon\":1e-05,"
             "\"activation_function\":\"gelu_new\"}", G_D, G_L, G_HEADS, G_V, G_S);
    tw_write_text(path, cfg);
}

static void gpt2_vs_naive(void **state)
{
    (void)state;
    gpt2_w *w = malloc(sizeof *w);
    gpt2_random(w);
    const int tok[] = {3, 17, 49, 0, 8, 8, 21, 33, 5, 40, 12, 1};
    const int n = (int)(sizeof tok / sizeof tok[0]);
    double *want = malloc((size_t)n * G_V * sizeof *want);
    gpt2_naive(w, tok, n, want);
    float *got = malloc((size_t)n * G_V * sizeof *got);
    for (size_t di = 0; di < 3; di++) {
        const char *dir = tw_tmpdir();
        assert_non_null(dir);
        gpt2_write(dir, w, dtypes[di], di == 1 ? "transformer." : "");
        cc_model_weights mw;
        assert_int_equal(cc_checkpoint_load(dir, &mw), CC_OK);
        assert_int_equal(mw.config.arch, CC_ARCH_GPT2);
        assert_int_equal(mw.config.hidden_dim, G_H);
        assert_true(mw.config.tied_embeddings);
        cc_ref_model *m;
        /* batched prefill (in chunks of 5) */
        assert_int_equal(cc_ref_create(&mw, 5, &m), CC_OK);
        assert_int_equal(cc_ref_forward(m, tok, n, 0, got), CC_OK);
        char what[64];
        snprintf(what, sizeof what, "gpt2 %s prefill", dtypes[di]);
        check_close(got, want, (size_t)n * G_V, what);
        /* token at a time */
        for (int t = 0; t < n; t++)
            assert_int_equal(cc_ref_forward(m, &tok[t], 1, t, got + (size_t)t * G_V), CC_OK);
        snprintf(what, sizeof what, "gpt2 %s token-at-a-time", dtypes[di]);
        check_close(got, want, (size_t)n * G_V, what);
        int gen[4], n_gen;
        assert_int_equal(cc_ref_generate(m, tok, n, 4, gen, &n_gen), CC_OK);
        int best = 0;
        for (int j = 1; j < G_V; j++) if (want[(n - 1) * G_V + j] > want[(n - 1) * G_V + best]) best = j;
        assert_int_equal(gen[0], best);
        /* positions past n_positions are an error, not a read past wpe */
        assert_int_equal(cc_ref_forward(m, tok, 1, G_S, NULL), CC_ERR_RANGE);
        cc_ref_free(m);
        cc_weights_free(&mw);
        tw_rmdir(dir);
    }
    free(got);
    free(want);
    free(w);
}

/* ---- BERT -------------------------------------------------------------------- */

enum { B_D = 16, B_HEADS = 2, B_H = 32, B_L = 2, B_V = 40, B_S = 24, B_T = 2, B_C = 3 };

typedef struct bert_w {
    float word[B_V * B_D], pos[B_S * B_D], type[B_T * B_D], eln_w[B_D], eln_b[B_D];
    float wq[B_L][B_D * B_D], bq[B_L][B_D], wk[B_L][B_D * B_D], bk[B_L][B_D];
    float wv[B_L][B_D * B_D], bv[B_L][B_D], wo[B_L][B_D * B_D], bo[B_L][B_D];
    float aln_w[B_L][B_D], aln_b[B_L][B_D];
    float wi[B_L][B_H * B_D], bi[B_L][B_H], wo2[B_L][B_D * B_H], bo2[B_L][B_D];
    float oln_w[B_L][B_D], oln_b[B_L][B_D];
    float pool_w[B_D * B_D], pool_b[B_D], cls_w[B_C * B_D], cls_b[B_C];
} bert_w;

static void linear_rows(const double *in, int n, int in_dim, const float *W, const float *b,
                        int out_dim, double *out)
{
    for (int t = 0; t < n; t++)
        for (int o = 0; o < out_dim; o++) {
            double acc = b[o];
            for (int i = 0; i < in_dim; i++) acc += in[t * in_dim + i] * W[o * in_dim + i];
            out[t * out_dim + o] = acc;
        }
}

static void bert_naive(const bert_w *w, const int *tok, const int *types, int n, double *hidden,
                       double *cls)
{
    const int d = B_D;
    double *x = calloc((size_t)n * d, 8), *q = calloc((size_t)n * d, 8), *k = calloc((size_t)n * d, 8);
    double *v = calloc((size_t)n * d, 8), *o = calloc((size_t)n * d, 8), *y = calloc((size_t)n * d, 8);
    double *f = calloc((size_t)n * B_H, 8);
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < d; i++)
            x[t * d + i] = (double)w->word[tok[t] * d + i] + w->pos[t * d + i] + w->type[types[t] * d + i];
        layernorm(x + t * d, w->eln_w, w->eln_b, d, 1e-12);
    }
    for (int l = 0; l < B_L; l++) {
        linear_rows(x, n, d, w->wq[l], w->bq[l], d, q);
        linear_rows(x, n, d, w->wk[l], w->bk[l], d, k);
        linear_rows(x, n, d, w->wv[l], w->bv[l], d, v);
        attend(q, k, v, o, n, d, B_HEADS, false);
        linear_rows(o, n, d, w->wo[l], w->bo[l], d, y);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < d; i++) x[t * d + i] += y[t * d + i];
            layernorm(x + t * d, w->aln_w[l], w->aln_b[l], d, 1e-12);
        }
        linear_rows(x, n, d, w->wi[l], w->bi[l], B_H, f);
        for (int i = 0; i < n * B_H; i++) f[i] = 0.5 * f[i] * (1 + erf(f[i] / sqrt(2.0)));
        linear_rows(f, n, B_H, w->wo2[l], w->bo2[l], d, y);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < d; i++) x[t * d + i] += y[t * d + i];
            layernorm(x + t * d, w->oln_w[l], w->oln_b[l], d, 1e-12);
        }
    }
    memcpy(hidden, x, (size_t)n * d * 8);
    double pooled[B_D];
    linear_rows(x, 1, d, w->pool_w, w->pool_b, d, pooled);
    for (int i = 0; i < d; i++) pooled[i] = tanh(pooled[i]);
    linear_rows(pooled, 1, d, w->cls_w, w->cls_b, B_C, cls);
    free(x); free(q); free(k); free(v); free(o); free(y); free(f);
}

static void bert_write(const char *dir, const bert_w *w, const char *dtype, bool old_norm_names)
{
    tw_tensor t[16 + 16 * B_L];
    char names[16 + 16 * B_L][96];
    size_t n = 0;
    const char *gw = old_norm_names ? "gamma" : "weight", *gb = old_norm_names ? "beta" : "bias";
#define ADD(data, nd, d0, d1, ...) do { snprintf(names[n], 96, __VA_ARGS__); \
        t[n] = (tw_tensor){names[n], nd, {d0, d1}, data}; n++; } while (0)
    ADD(w->word, 2, B_V, B_D, "bert.embeddings.word_embeddings.weight");
    ADD(w->pos, 2, B_S, B_D, "bert.embeddings.position_embeddings.weight");
    ADD(w->type, 2, B_T, B_D, "bert.embeddings.token_type_embeddings.weight");
    ADD(w->eln_w, 1, B_D, 0, "bert.embeddings.LayerNorm.%s", gw);
    ADD(w->eln_b, 1, B_D, 0, "bert.embeddings.LayerNorm.%s", gb);
    for (int l = 0; l < B_L; l++) {
        const char *p = "bert.encoder.layer";
        ADD(w->wq[l], 2, B_D, B_D, "%s.%d.attention.self.query.weight", p, l);
        ADD(w->bq[l], 1, B_D, 0, "%s.%d.attention.self.query.bias", p, l);
        ADD(w->wk[l], 2, B_D, B_D, "%s.%d.attention.self.key.weight", p, l);
        ADD(w->bk[l], 1, B_D, 0, "%s.%d.attention.self.key.bias", p, l);
        ADD(w->wv[l], 2, B_D, B_D, "%s.%d.attention.self.value.weight", p, l);
        ADD(w->bv[l], 1, B_D, 0, "%s.%d.attention.self.value.bias", p, l);
        ADD(w->wo[l], 2, B_D, B_D, "%s.%d.attention.output.dense.weight", p, l);
        ADD(w->bo[l], 1, B_D, 0, "%s.%d.attention.output.dense.bias", p, l);
        ADD(w->aln_w[l], 1, B_D, 0, "%s.%d.attention.output.LayerNorm.%s", p, l, gw);
        ADD(w->aln_b[l], 1, B_D, 0, "%s.%d.attention.output.LayerNorm.%s", p, l, gb);
        ADD(w->wi[l], 2, B_H, B_D, "%s.%d.intermediate.dense.weight", p, l);
        ADD(w->bi[l], 1, B_H, 0, "%s.%d.intermediate.dense.bias", p, l);
        ADD(w->wo2[l], 2, B_D, B_H, "%s.%d.output.dense.weight", p, l);
        ADD(w->bo2[l], 1, B_D, 0, "%s.%d.output.dense.bias", p, l);
        ADD(w->oln_w[l], 1, B_D, 0, "%s.%d.output.LayerNorm.%s", p, l, gw);
        ADD(w->oln_b[l], 1, B_D, 0, "%s.%d.output.LayerNorm.%s", p, l, gb);
    }
    ADD(w->pool_w, 2, B_D, B_D, "bert.pooler.dense.weight");
    ADD(w->pool_b, 1, B_D, 0, "bert.pooler.dense.bias");
    ADD(w->cls_w, 2, B_C, B_D, "classifier.weight");
    ADD(w->cls_b, 1, B_C, 0, "classifier.bias");
#undef ADD
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(tw_write_safetensors(path, dtype, t, n), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "{\"model_type\":\"bert\",\"hidden_size\":%d,\"num_hidden_layers\":%d,"
             "\"num_attention_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,"
             "\"max_position_embeddings\":%d,\"type_vocab_size\":%d,\"layer_norm_eps\":1e-12,"
             "\"hidden_act\":\"gelu\",\"id2label\":{\"0\":\"a\",\"1\":\"b\",\"2\":\"c\"}}",
             B_D, B_L, B_HEADS, B_H, B_V, B_S, B_T);
    tw_write_text(path, cfg);
}

static void bert_vs_naive(void **state)
{
    (void)state;
    bert_w *w = malloc(sizeof *w);
    uint64_t st = 7;
    tw_fill((float *)w, sizeof *w / sizeof(float), &st, 8);
    for (int i = 0; i < B_D; i++) w->eln_w[i] += 1;
    for (int l = 0; l < B_L; l++)
        for (int i = 0; i < B_D; i++) { w->aln_w[l][i] += 1; w->oln_w[l][i] += 1; }
    tw_round_bf16((float *)w, sizeof *w / sizeof(float));
    const int tok[] = {1, 5, 39, 7, 7, 22, 0, 13, 2};
    const int types[] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
    const int n = 9;
    double want_h[9 * B_D], want_c[B_C];
    bert_naive(w, tok, types, n, want_h, want_c);
    float got_h[9 * B_D], got_c[B_C];
    for (size_t di = 0; di < 3; di++) {
        const char *dir = tw_tmpdir();
        bert_write(dir, w, dtypes[di], di == 2);
        char file[4096];
        snprintf(file, sizeof file, "%s/model.safetensors", dir);
        cc_model_weights mw;
        assert_int_equal(cc_checkpoint_load(file, &mw), CC_OK);   /* file path form */
        assert_int_equal(mw.config.arch, CC_ARCH_BERT);
        assert_int_equal(mw.config.n_classes, B_C);
        cc_ref_model *m;
        assert_int_equal(cc_ref_create(&mw, 0, &m), CC_OK);
        assert_int_equal(cc_ref_bert_forward(m, tok, types, n, got_h, got_c), CC_OK);
        char what[64];
        snprintf(what, sizeof what, "bert %s hidden", dtypes[di]);
        check_close(got_h, want_h, (size_t)n * B_D, what);
        snprintf(what, sizeof what, "bert %s classifier", dtypes[di]);
        check_close(got_c, want_c, B_C, what);
        /* bad inputs */
        int bad_types[9] = {0, 0, 0, 0, 2, 0, 0, 0, 0};
        assert_int_equal(cc_ref_bert_forward(m, tok, bad_types, n, NULL, got_c), CC_ERR_ARG);
        int long_seq[B_S + 1] = {0};
        assert_int_equal(cc_ref_bert_forward(m, long_seq, NULL, B_S + 1, NULL, NULL), CC_ERR_RANGE);
        assert_int_equal(cc_ref_forward(m, tok, 1, 0, NULL), CC_ERR_ARG);
        cc_ref_free(m);
        cc_weights_free(&mw);
        tw_rmdir(dir);
    }
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpt2_vs_naive),
        cmocka_unit_test(bert_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
