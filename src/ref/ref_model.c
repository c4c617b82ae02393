/* Plaintext reference model: binds weights by name, allocates every buffer
 * once (activations for max_batch positions, the KV cache, RoPE tables). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "ref_impl.h"

/* Optional tensor (biases): NULL when absent, but a wrong shape is an error. */
static cc_status get_opt(const cc_model_weights *w, const char *name, int64_t d0, int64_t d1,
                         const float **out)
{
    *out = NULL;
    if (!cc_weights_find(w, name)) return CC_OK;
    return cc_weights_get(w, name, d0, d1, out);
}

static cc_status get_layer(const cc_model_weights *w, int l, const char *what, bool required,
                           int64_t d0, int64_t d1, const float **out)
{
    char name[CC_TENSOR_NAME_MAX];
    snprintf(name, sizeof name, "layers.%d.%s", l, what);
    return required ? cc_weights_get(w, name, d0, d1, out) : get_opt(w, name, d0, d1, out);
}

static cc_status bind_weights(cc_ref_model *m, const cc_model_weights *w)
{
    const cc_model_config *c = &m->c;
    const int d = c->dim, h = c->hidden_dim, kv = cc_config_kv_dim(c);
    const bool llama = c->arch == CC_ARCH_LLAMA, bert = c->arch == CC_ARCH_BERT;
    const bool has_bias = !llama;   /* GPT-2 and BERT: biases and LayerNorm shifts */

    CC_TRY(cc_weights_get(w, "embed.tokens", c->vocab_size, d, &m->tok_emb));
    if (!llama) CC_TRY(cc_weights_get(w, "embed.positions", c->max_seq_len, d, &m->pos_emb));
    if (bert) {
        CC_TRY(cc_weights_get(w, "embed.token_types", c->type_vocab_size, d, &m->type_emb));
        CC_TRY(cc_weights_get(w, "embed.norm.weight", d, 0, &m->emb_norm_w));
        CC_TRY(cc_weights_get(w, "embed.norm.bias", d, 0, &m->emb_norm_b));
    }
    for (int l = 0; l < c->n_layers; l++) {
        ref_layer *L = &m->layers[l];
        CC_TRY(get_layer(w, l, "attn_norm.weight", true, d, 0, &L->attn_norm_w));
        CC_TRY(get_layer(w, l, "attn_norm.bias", has_bias, d, 0, &L->attn_norm_b));
        CC_TRY(get_layer(w, l, "attn.q.weight", true, d, d, &L->wq));
        CC_TRY(get_layer(w, l, "attn.k.weight", true, kv, d, &L->wk));
        CC_TRY(get_layer(w, l, "attn.v.weight", true, kv, d, &L->wv));
        CC_TRY(get_layer(w, l, "attn.o.weight", true, d, d, &L->wo));
        CC_TRY(get_layer(w, l, "attn.q.bias", has_bias, d, 0, &L->bq));
        CC_TRY(get_layer(w, l, "attn.k.bias", has_bias, kv, 0, &L->bk));
        CC_TRY(get_layer(w, l, "attn.v.bias", has_bias, kv, 0, &L->bv));
        CC_TRY(get_layer(w, l, "attn.o.bias", has_bias, d, 0, &L->bo));
        CC_TRY(get_layer(w, l, "ffn_norm.weight", true, d, 0, &L->ffn_norm_w));
        CC_TRY(get_layer(w, l, "ffn_norm.bias", has_bias, d, 0, &L->ffn_norm_b));
        if (llama) CC_TRY(get_layer(w, l, "ffn.gate.weight", true, h, d, &L->w_gate));
        CC_TRY(get_layer(w, l, "ffn.up.weight", true, h, d, &L->w_up));
        CC_TRY(get_layer(w, l, "ffn.up.bias", has_bias, h, 0, &L->b_up));
        CC_TRY(get_layer(w, l, "ffn.down.weight", true, d, h, &L->w_down));
        CC_TRY(get_layer(w, l, "ffn.down.bias", has_bias, d, 0, &L->b_down));
    }
    if (bert) {
        if (c->n_classes > 0) {
            CC_TRY(cc_weights_get(w, "pooler.weight", d, d, &m->pooler_w));
            CC_TRY(cc_weights_get(w, "pooler.bias", d, 0, &m->pooler_b));
            CC_TRY(cc_weights_get(w, "classifier.weight", c->n_classes, d, &m->cls_w));
            CC_TRY(cc_weights_get(w, "classifier.bias", c->n_classes, 0, &m->cls_b));
        }
    } else {
        CC_TRY(cc_weights_get(w, "final_norm.weight", d, 0, &m->final_norm_w));
        if (has_bias) CC_TRY(cc_weights_get(w, "final_norm.bias", d, 0, &m->final_norm_b));
        if (c->tied_embeddings) m->lm_head = m->tok_emb;
        else CC_TRY(cc_weights_get(w, "lm_head.weight", c->vocab_size, d, &m->lm_head));
    }
    return CC_OK;
}

/* RoPE angles pos·θ^(-2i/head_size), computed like llama2.c (float powf)
 * so the reference matches its golden logits closely. */
static void fill_rope_tables(cc_ref_model *m)
{
    const int hs = cc_config_head_size(&m->c), half = hs / 2;
    for (int pos = 0; pos < m->c.max_seq_len; pos++)
        for (int i = 0; i < half; i++) {
            float freq = 1.0f / powf(m->c.rope_theta, (float)(2 * i) / (float)hs);
            float angle = (float)pos * freq;
            m->rope_cos[(size_t)pos * half + i] = cosf(angle);
            m->rope_sin[(size_t)pos * half + i] = sinf(angle);
        }
}

static float *alloc_floats(size_t a, size_t b, cc_status *s)
{
    size_t n;
    if (*s != CC_OK) return NULL;
    if (!cc_mul_size(a, b, &n) || !cc_mul_size(n, sizeof(float), &n)) {
        *s = cc_error_set(CC_ERR_RANGE, "reference model: buffer size overflows");
        return NULL;
    }
    float *p = cc_calloc(n ? n : 1, 1);
    if (!p) *s = cc_error_wrap(CC_ERR_NOMEM, "reference model buffers");
    return p;
}

cc_status cc_ref_create(const cc_model_weights *w, int max_batch, cc_ref_model **out)
{
    *out = NULL;
    CC_TRY(cc_config_validate(&w->config));
    const cc_model_config *c = &w->config;
    if (max_batch < 0)
        return cc_error_set(CC_ERR_ARG, "reference model: max_batch %d negative", max_batch);
    if (max_batch == 0 || max_batch > c->max_seq_len) max_batch = c->max_seq_len;

    cc_ref_model *m = cc_calloc(1, sizeof *m);
    if (!m) return cc_error_wrap(CC_ERR_NOMEM, "reference model");
    m->c = *c;
    m->max_batch = max_batch;
    cc_status s = CC_OK;
    m->layers = cc_calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) s = cc_error_wrap(CC_ERR_NOMEM, "reference model");
    if (s == CC_OK) s = bind_weights(m, w);

    const size_t B = (size_t)max_batch, S = (size_t)c->max_seq_len, d = (size_t)c->dim;
    const size_t kv = (size_t)cc_config_kv_dim(c), hid = (size_t)c->hidden_dim;
    m->x = alloc_floats(B, d, &s);
    m->xb = alloc_floats(B, d, &s);
    m->xb2 = alloc_floats(B, d, &s);
    m->q = alloc_floats(B, d, &s);
    m->att = alloc_floats(B, S, &s);
    m->hb = alloc_floats(B, hid, &s);
    m->hb2 = alloc_floats(B, hid, &s);
    m->pooled = alloc_floats(d, 1, &s);
    m->key_cache = alloc_floats((size_t)c->n_layers * S, kv, &s);
    m->value_cache = alloc_floats((size_t)c->n_layers * S, kv, &s);
    if (c->arch == CC_ARCH_LLAMA) {
        m->rope_cos = alloc_floats(S, (size_t)cc_config_head_size(c) / 2, &s);
        m->rope_sin = alloc_floats(S, (size_t)cc_config_head_size(c) / 2, &s);
        if (s == CC_OK) fill_rope_tables(m);
    }
    if (s != CC_OK) {
        cc_ref_free(m);
        return s;
    }
    *out = m;
    return CC_OK;
}

void cc_ref_free(cc_ref_model *m)
{
    if (!m) return;
    float *bufs[] = {m->x, m->xb, m->xb2, m->q, m->att, m->hb, m->hb2, m->pooled,
                     m->key_cache, m->value_cache, m->rope_cos, m->rope_sin};
    for (size_t i = 0; i < CC_ARRAY_LEN(bufs); i++) cc_free(bufs[i]);
    cc_free(m->layers);
    cc_free(m);
}
