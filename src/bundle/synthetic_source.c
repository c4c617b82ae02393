/* A tensor source of synthetic LLaMA-shaped weights generated tensor by
 * tensor (LLaMA-7B does not fit in this machine's memory as floats, so
 * nothing is materialised up front). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "bundle.h"
#include "prg.h"
#include "thread.h"

/* ---- synthetic LLaMA -------------------------------------------------------- */

typedef enum { FILL_GAUSS, FILL_GAIN } fill_kind;

typedef struct synth_tensor {
    cc_tensor_f32 meta;
    fill_kind fill;
} synth_tensor;

typedef struct synth_ctx {
    uint8_t seed[16];
    float std;                 /* 1/sqrt(dim) */
    size_t n;
    synth_tensor *t;
} synth_ctx;

static void add_tensor(synth_ctx *s, const char *name, int layer, int64_t d0, int64_t d1,
                       bool is_linear, fill_kind fill)
{
    synth_tensor *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->meta.name, sizeof t->meta.name, "%s", name);
    t->meta.layer = layer;
    t->meta.ndim = d1 ? 2 : 1;
    t->meta.shape[0] = d0;
    t->meta.shape[1] = d1;
    t->meta.numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->meta.is_linear = is_linear;
    t->fill = fill;
}

static cc_status synth_describe(void *ctx, size_t i, cc_tensor_f32 *meta)
{
    synth_ctx *s = ctx;
    *meta = s->t[i].meta;
    return CC_OK;
}

/* Approximately normal values from the sum of four 16-bit uniforms
 * (Irwin–Hall, variance 4/12 before scaling): realistic magnitudes, bounded
 * at ±3.46 sigma, one PRG word per value, no libm in the hot loop.  Element j
 * comes from PRG word j alone, so chunks are filled by any thread, in any
 * order, with the same result. */
static void synth_fill(const cc_prg *prg, float sd, float mean,
                       size_t base, size_t n, uint64_t *words, float *out)
{
    const float scale = sd * (float)(sqrt(3.0) / 65536.0);
    cc_prg_u64(prg, base, n, words);
    for (size_t j = 0; j < n; j++) {
        uint64_t w = words[j];
        int32_t sum = (int32_t)(w & 0xffff) + (int32_t)((w >> 16) & 0xffff) +
                      (int32_t)((w >> 32) & 0xffff) + (int32_t)(w >> 48) - 2 * 65536 + 2;
        out[base + j] = mean + scale * (float)sum;
    }
}

static cc_status synth_read(void *ctx, size_t i, float *out)
{
    synth_ctx *s = ctx;
    const synth_tensor *t = &s->t[i];
    enum { CHUNK = 1 << 16 };
    cc_prg prg;
    cc_prg_init(&prg, s->seed, i);
    const float mean = t->fill == FILL_GAIN ? 1.0f : 0.0f;
    const float sd = t->fill == FILL_GAIN ? 0.05f : s->std;
    const size_t numel = t->meta.numel, chunks = (numel + CHUNK - 1) / CHUNK;
    const int threads = chunks > 1 ? cc_thread_count() : 1;
    bool nomem = false;
#pragma omp parallel num_threads(threads) reduction(||: nomem)
    {
        uint64_t *words = cc_alloc(CHUNK * sizeof *words);
        nomem = words == NULL;
#pragma omp for schedule(dynamic, 4)
        for (size_t c = 0; c < chunks; c++)
            if (words) synth_fill(&prg, sd, mean, c * CHUNK, CC_MIN((size_t)CHUNK, numel - c * CHUNK),
                                  words, out);
        cc_free(words);
    }
    cc_prg_wipe(&prg);
    if (nomem) return cc_error_wrap(CC_ERR_NOMEM, "synthetic tensor %s", t->meta.name);
    return CC_OK;
}

static void synth_destroy(void *ctx)
{
    synth_ctx *s = ctx;
    if (!s) return;
    cc_wipe(s->seed, sizeof s->seed);
    cc_free(s->t);
    cc_free(s);
}

cc_status cc_tensor_source_synthetic(const cc_model_config *c, const uint8_t seed[16],
                                     cc_tensor_source *out)
{
    memset(out, 0, sizeof *out);
    if (c->arch != CC_ARCH_LLAMA)
        return cc_error_set(CC_ERR_UNSUPPORTED, "synthetic weights: only LLaMA geometries (got %s)",
                            cc_arch_name(c->arch));
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->max_seq_len <= 0 ||
        c->dim % c->n_heads != 0 || c->n_heads % c->n_kv_heads != 0 || c->n_layers > 10000)
        return cc_error_set(CC_ERR_ARG, "synthetic weights: inconsistent geometry (dim %d, hidden %d, "
                            "layers %d, heads %d, kv heads %d, vocab %d, seq %d)",
                            c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                            c->vocab_size, c->max_seq_len);
    synth_ctx *s = cc_calloc(1, sizeof *s);
    size_t cap = 3 + 9 * (size_t)c->n_layers;
    if (s) s->t = cc_calloc(cap, sizeof *s->t);
    if (!s || !s->t) {
        synth_destroy(s);
        return cc_error_wrap(CC_ERR_NOMEM, "synthetic weights");
    }
    memcpy(s->seed, seed, 16);
    s->std = 1.0f / sqrtf((float)c->dim);

    const int64_t d = c->dim, h = c->hidden_dim, kv = (int64_t)cc_config_kv_dim(c);
    char name[CC_TENSOR_NAME_MAX];
    add_tensor(s, "embed.tokens", -1, c->vocab_size, d, false, FILL_GAUSS);
    for (int l = 0; l < c->n_layers; l++) {
#define LAYER_TENSOR(suffix, d0, d1, lin, fill) \
        (snprintf(name, sizeof name, "layers.%d." suffix, l), add_tensor(s, name, l, d0, d1, lin, fill))
        LAYER_TENSOR("attn_norm.weight", d, 0, false, FILL_GAIN);
        LAYER_TENSOR("attn.q.weight", d, d, true, FILL_GAUSS);
        LAYER_TENSOR("attn.k.weight", kv, d, true, FILL_GAUSS);
        LAYER_TENSOR("attn.v.weight", kv, d, true, FILL_GAUSS);
        LAYER_TENSOR("attn.o.weight", d, d, true, FILL_GAUSS);
        LAYER_TENSOR("ffn_norm.weight", d, 0, false, FILL_GAIN);
        LAYER_TENSOR("ffn.gate.weight", h, d, true, FILL_GAUSS);
        LAYER_TENSOR("ffn.up.weight", h, d, true, FILL_GAUSS);
        LAYER_TENSOR("ffn.down.weight", d, h, true, FILL_GAUSS);
#undef LAYER_TENSOR
    }
    add_tensor(s, "final_norm.weight", c->n_layers, d, 0, false, FILL_GAIN);
    if (!c->tied_embeddings)
        add_tensor(s, "lm_head.weight", c->n_layers, c->vocab_size, d, true, FILL_GAUSS);

    out->ctx = s;
    out->config = *c;
    out->n_tensors = s->n;
    out->describe = synth_describe;
    out->read = synth_read;
    out->destroy = synth_destroy;
    return CC_OK;
}
