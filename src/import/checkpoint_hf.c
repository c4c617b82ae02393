/* Hugging Face checkpoint import: config.json + safetensors (one file or an
 * index of shards), LLaMA / GPT-2 / BERT tensor names, f32/f16/bf16.
 *
 * Everything is converted to the canonical layout of model.h:
 *  - linear weights [out][in] (GPT-2's Conv1D stores [in][out]: transposed;
 *    its fused c_attn [d][3d] is split into q, k, v);
 *  - HF LLaMA q/k rows are permuted for the rotate-half RoPE convention
 *    (row h2·hs/2 + i of a head holds Meta's row 2i + h2); they are put
 *    back so RoPE rotates pairs (2i, 2i+1) like llama2.c. */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "import_impl.h"
#include "core.h"

/* ---- config.json ------------------------------------------------------------ */

static cc_status cfg_int(struct json_object *cfg, const char *key, bool required, int dflt, int *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || json_object_is_type(v, json_type_null)) {
        if (required) return cc_error_set(CC_ERR_FORMAT, "config.json: missing \"%s\"", key);
        *out = dflt;
        return CC_OK;
    }
    if (!json_object_is_type(v, json_type_int))
        return cc_error_set(CC_ERR_FORMAT, "config.json: \"%s\" is not an integer", key);
    int64_t x = json_object_get_int64(v);
    if (x <= 0 || x > (1 << 30))
        return cc_error_set(CC_ERR_FORMAT, "config.json: \"%s\" = %lld out of range", key, (long long)x);
    *out = (int)x;
    return CC_OK;
}

static float cfg_float(struct json_object *cfg, const char *key, float dflt)
{
    struct json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return dflt;
    return (float)json_object_get_double(v);
}

static bool cfg_bool(struct json_object *cfg, const char *key, bool dflt)
{
    struct json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || !json_object_is_type(v, json_type_boolean))
        return dflt;
    return json_object_get_boolean(v);
}

static const char *cfg_str(struct json_object *cfg, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static cc_status parse_config(struct json_object *cfg, cc_model_config *c)
{
    memset(c, 0, sizeof *c);
    const char *type = cfg_str(cfg, "model_type");
    if (!type) return cc_error_set(CC_ERR_FORMAT, "config.json: missing \"model_type\"");
    if (strcmp(type, "llama") == 0) {
        c->arch = CC_ARCH_LLAMA;
        CC_TRY(cfg_int(cfg, "hidden_size", true, 0, &c->dim));
        CC_TRY(cfg_int(cfg, "intermediate_size", true, 0, &c->hidden_dim));
        CC_TRY(cfg_int(cfg, "num_hidden_layers", true, 0, &c->n_layers));
        CC_TRY(cfg_int(cfg, "num_attention_heads", true, 0, &c->n_heads));
        CC_TRY(cfg_int(cfg, "num_key_value_heads", false, c->n_heads, &c->n_kv_heads));
        CC_TRY(cfg_int(cfg, "vocab_size", true, 0, &c->vocab_size));
        CC_TRY(cfg_int(cfg, "max_position_embeddings", true, 0, &c->max_seq_len));
        c->norm_eps = cfg_float(cfg, "rms_norm_eps", 1e-6f);
        c->rope_theta = cfg_float(cfg, "rope_theta", 10000.0f);
        c->tied_embeddings = cfg_bool(cfg, "tie_word_embeddings", false);
        const char *act = cfg_str(cfg, "hidden_act");
        if (act && strcmp(act, "silu") != 0)
            return cc_error_set(CC_ERR_FORMAT, "config.json: LLaMA hidden_act \"%s\" (only silu)", act);
        struct json_object *scaling;
        if (json_object_object_get_ex(cfg, "rope_scaling", &scaling) &&
            !json_object_is_type(scaling, json_type_null))
            return cc_error_set(CC_ERR_UNSUPPORTED, "config.json: rope_scaling is not supported");
    } else if (strcmp(type, "gpt2") == 0) {
        c->arch = CC_ARCH_GPT2;
        CC_TRY(cfg_int(cfg, "n_embd", true, 0, &c->dim));
        /* the default inner width 4·n_embd must itself be in range (and
         * must not overflow int: n_embd may be up to 2^30 here) */
        if (c->dim > (1 << 28))
            return cc_error_set(CC_ERR_FORMAT, "config.json: \"n_embd\" = %d out of range", c->dim);
        CC_TRY(cfg_int(cfg, "n_inner", false, 4 * c->dim, &c->hidden_dim));
        CC_TRY(cfg_int(cfg, "n_layer", true, 0, &c->n_layers));
        CC_TRY(cfg_int(cfg, "n_head", true, 0, &c->n_heads));
        c->n_kv_heads = c->n_heads;
        CC_TRY(cfg_int(cfg, "vocab_size", true, 0, &c->vocab_size));
        CC_TRY(cfg_int(cfg, "n_ctx", false, 0, &c->max_seq_len));          /* older configs */
        CC_TRY(cfg_int(cfg, "n_positions", c->max_seq_len == 0, c->max_seq_len, &c->max_seq_len));
        c->norm_eps = cfg_float(cfg, "layer_norm_epsilon", 1e-5f);
        c->tied_embeddings = cfg_bool(cfg, "tie_word_embeddings", true);
        const char *act = cfg_str(cfg, "activation_function");
        if (act && strcmp(act, "gelu_new") != 0 && strcmp(act, "gelu_pytorch_tanh") != 0)
            return cc_error_set(CC_ERR_FORMAT, "config.json: GPT-2 activation_function \"%s\" "
                                "(only the tanh GeLU gelu_new)", act);
    } else if (strcmp(type, "bert") == 0) {
        c->arch = CC_ARCH_BERT;
        CC_TRY(cfg_int(cfg, "hidden_size", true, 0, &c->dim));
        CC_TRY(cfg_int(cfg, "intermediate_size", true, 0, &c->hidden_dim));
        CC_TRY(cfg_int(cfg, "num_hidden_layers", true, 0, &c->n_layers));
        CC_TRY(cfg_int(cfg, "num_attention_heads", true, 0, &c->n_heads));
        c->n_kv_heads = c->n_heads;
        CC_TRY(cfg_int(cfg, "vocab_size", true, 0, &c->vocab_size));
        CC_TRY(cfg_int(cfg, "max_position_embeddings", true, 0, &c->max_seq_len));
        CC_TRY(cfg_int(cfg, "type_vocab_size", false, 2, &c->type_vocab_size));
        c->norm_eps = cfg_float(cfg, "layer_norm_eps", 1e-12f);
        const char *act = cfg_str(cfg, "hidden_act");
        if (act && strcmp(act, "gelu") != 0)
            return cc_error_set(CC_ERR_FORMAT, "config.json: BERT hidden_act \"%s\" (only the "
                                "erf GeLU \"gelu\")", act);
    } else {
        return cc_error_set(CC_ERR_UNSUPPORTED, "config.json: model_type \"%s\" is not supported "
                            "(llama, gpt2, bert)", type);
    }
    return CC_OK;
}

/* Parses `len` bytes of JSON text (no terminator needed) that must hold one
 * object; `what` names the file in messages. */
static cc_status parse_json_object(const char *text, size_t len, const char *what,
                                   struct json_object **out)
{
    *out = NULL;
    if (len > INT32_MAX)
        return cc_error_set(CC_ERR_FORMAT, "%s: %zu bytes is too large", what, len);
    struct json_tokener *tok = json_tokener_new();
    if (!tok) return cc_error_wrap(CC_ERR_NOMEM, "%s", what);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success || !json_object_is_type(obj, json_type_object)) {
        if (obj) json_object_put(obj);
        return cc_error_set(CC_ERR_FORMAT, "%s: not a JSON object (%s)", what,
                            json_tokener_error_desc(jerr));
    }
    *out = obj;
    return CC_OK;
}

cc_status hf_parse_config(const char *text, size_t len, cc_model_config *c)
{
    memset(c, 0, sizeof *c);
    struct json_object *cfg;
    cc_status s = parse_json_object(text, len, "config.json", &cfg);
    if (s != CC_OK) return s;
    s = parse_config(cfg, c);
    json_object_put(cfg);
    return s;
}

/* ---- tensors: plan at open, convert on read ------------------------------------ */

typedef struct hf_ctx {
    cc_checkpoint *ck;
    st_source *src;
    const char *prefix;          /* "model.", "transformer.", "bert." or "" */
} hf_ctx;

/* Finds `name` with the model prefix, then without; fills the stored name. */
static cc_status find(hf_ctx *h, const char *name, bool required, st_tensor *t, bool *found,
                      char stored[192])
{
    snprintf(stored, 192, "%s%s", h->prefix, name);
    *found = st_source_find(h->src, stored, t);
    if (!*found) {
        snprintf(stored, 192, "%s", name);
        *found = st_source_find(h->src, stored, t);
    }
    if (!*found && required)
        return cc_error_set(CC_ERR_FORMAT, "missing tensor %s%s", h->prefix, name);
    return CC_OK;
}

static cc_status check_shape(const st_tensor *t, const char *name, int64_t d0, int64_t d1)
{
    const int nd = d1 ? 2 : 1;
    if (t->ndim == nd && t->shape[0] == d0 && (!d1 || t->shape[1] == d1)) return CC_OK;
    char got[96] = "";
    size_t n = 0;
    for (int i = 0; i < t->ndim && n < sizeof got - 24; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "[%lld]", (long long)t->shape[i]);
    return cc_error_set(CC_ERR_FORMAT, "tensor %s has shape %s, expected [%lld]%s%.0lld%s", name,
                        got, (long long)d0, d1 ? "[" : "", (long long)d1, d1 ? "]" : "");
}

/* Plans HF tensor `name` as canonical `cname` of shape [d0][d1] ([d0] if
 * d1 == 0), checking the stored shape.  An absent optional tensor adds
 * nothing. */
static cc_status plan(hf_ctx *h, const char *name, bool required, const char *cname, int layer,
                      bool linear, int64_t d0, int64_t d1, ckpt_xform x, int heads)
{
    st_tensor t;
    bool found;
    char stored[192];
    CC_TRY(find(h, name, required, &t, &found, stored));
    if (!found) return CC_OK;
    CC_TRY(check_shape(&t, stored, x == XF_TRANSPOSE ? d1 : d0, x == XF_TRANSPOSE ? d0 : d1));
    ckpt_entry *e;
    CC_TRY(ckpt_add(h->ck, layer, linear, d0, d1, &e, "%s", cname));
    memcpy(e->src, stored, sizeof e->src);
    e->xform = x;
    e->heads = heads;
    return CC_OK;
}

static cc_status plan_layer(hf_ctx *h, int l, const char *hf_fmt, bool required, const char *cname,
                            bool linear, int64_t d0, int64_t d1, ckpt_xform x, int heads)
{
    char name[160], canon[CC_TENSOR_NAME_MAX];
    snprintf(name, sizeof name, hf_fmt, l);
    snprintf(canon, sizeof canon, "layers.%d.%s", l, cname);
    return plan(h, name, required, canon, l, linear, d0, d1, x, heads);
}

static const char *pick_prefix(hf_ctx *h, const char *probe, const char *const *prefixes, int n)
{
    for (int i = 0; i < n; i++) {
        char full[256];
        st_tensor t;
        snprintf(full, sizeof full, "%s%s", prefixes[i], probe);
        if (st_source_find(h->src, full, &t)) return prefixes[i];
    }
    return prefixes[0];
}

static cc_status plan_llama(hf_ctx *h)
{
    const cc_model_config *c = &h->ck->config;
    const int d = c->dim, kv = cc_config_kv_dim(c), hd = c->hidden_dim;
    static const char *const prefixes[] = {"model.", ""};
    h->prefix = pick_prefix(h, "embed_tokens.weight", prefixes, 2);
    CC_TRY(plan(h, "embed_tokens.weight", true, "embed.tokens", -1, false, c->vocab_size, d, XF_AS_IS, 0));
    for (int l = 0; l < c->n_layers; l++) {
        CC_TRY(plan_layer(h, l, "layers.%d.input_layernorm.weight", true, "attn_norm.weight", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.self_attn.q_proj.weight", true, "attn.q.weight", true, d, d, XF_ROPE_UNPERMUTE, c->n_heads));
        CC_TRY(plan_layer(h, l, "layers.%d.self_attn.k_proj.weight", true, "attn.k.weight", true, kv, d, XF_ROPE_UNPERMUTE, c->n_kv_heads));
        CC_TRY(plan_layer(h, l, "layers.%d.self_attn.v_proj.weight", true, "attn.v.weight", true, kv, d, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.self_attn.o_proj.weight", true, "attn.o.weight", true, d, d, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.post_attention_layernorm.weight", true, "ffn_norm.weight", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.mlp.gate_proj.weight", true, "ffn.gate.weight", true, hd, d, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.mlp.up_proj.weight", true, "ffn.up.weight", true, hd, d, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "layers.%d.mlp.down_proj.weight", true, "ffn.down.weight", true, d, hd, XF_AS_IS, 0));
    }
    CC_TRY(plan(h, "norm.weight", true, "final_norm.weight", c->n_layers, false, d, 0, XF_AS_IS, 0));
    if (c->tied_embeddings) return CC_OK;
    h->prefix = "";   /* lm_head sits outside the "model." prefix */
    return plan(h, "lm_head.weight", true, "lm_head.weight", c->n_layers, true, c->vocab_size, d, XF_AS_IS, 0);
}

/* GPT-2's c_attn: Conv1D [d][3d] (+ bias [3d]) holding q | k | v columns. */
static cc_status plan_gpt2_qkv(hf_ctx *h, int l, int d)
{
    static const char part[3] = {'q', 'k', 'v'};
    char name[96], stored[192];
    st_tensor t;
    bool found;
    for (int is_bias = 0; is_bias < 2; is_bias++) {
        snprintf(name, sizeof name, "h.%d.attn.c_attn.%s", l, is_bias ? "bias" : "weight");
        CC_TRY(find(h, name, true, &t, &found, stored));
        CC_TRY(check_shape(&t, stored, is_bias ? 3 * (int64_t)d : d, is_bias ? 0 : 3 * (int64_t)d));
        for (int p = 0; p < 3; p++) {
            ckpt_entry *e;
            CC_TRY(ckpt_add(h->ck, l, !is_bias, d, is_bias ? 0 : d, &e, "layers.%d.attn.%c.%s", l,
                            part[p], is_bias ? "bias" : "weight"));
            memcpy(e->src, stored, sizeof e->src);
            e->xform = is_bias ? XF_SLICE : XF_COLUMNS;
            e->part = p;
        }
    }
    return CC_OK;
}

static cc_status plan_gpt2(hf_ctx *h)
{
    const cc_model_config *c = &h->ck->config;
    const int d = c->dim, hd = c->hidden_dim, L = c->n_layers;
    static const char *const prefixes[] = {"", "transformer."};
    h->prefix = pick_prefix(h, "wte.weight", prefixes, 2);
    CC_TRY(plan(h, "wte.weight", true, "embed.tokens", -1, false, c->vocab_size, d, XF_AS_IS, 0));
    CC_TRY(plan(h, "wpe.weight", true, "embed.positions", -1, false, c->max_seq_len, d, XF_AS_IS, 0));
    for (int l = 0; l < L; l++) {
        CC_TRY(plan_layer(h, l, "h.%d.ln_1.weight", true, "attn_norm.weight", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "h.%d.ln_1.bias", true, "attn_norm.bias", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_gpt2_qkv(h, l, d));
        CC_TRY(plan_layer(h, l, "h.%d.attn.c_proj.weight", true, "attn.o.weight", true, d, d, XF_TRANSPOSE, 0));
        CC_TRY(plan_layer(h, l, "h.%d.attn.c_proj.bias", true, "attn.o.bias", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "h.%d.ln_2.weight", true, "ffn_norm.weight", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "h.%d.ln_2.bias", true, "ffn_norm.bias", false, d, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "h.%d.mlp.c_fc.weight", true, "ffn.up.weight", true, hd, d, XF_TRANSPOSE, 0));
        CC_TRY(plan_layer(h, l, "h.%d.mlp.c_fc.bias", true, "ffn.up.bias", false, hd, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "h.%d.mlp.c_proj.weight", true, "ffn.down.weight", true, d, hd, XF_TRANSPOSE, 0));
        CC_TRY(plan_layer(h, l, "h.%d.mlp.c_proj.bias", true, "ffn.down.bias", false, d, 0, XF_AS_IS, 0));
    }
    CC_TRY(plan(h, "ln_f.weight", true, "final_norm.weight", L, false, d, 0, XF_AS_IS, 0));
    CC_TRY(plan(h, "ln_f.bias", true, "final_norm.bias", L, false, d, 0, XF_AS_IS, 0));
    if (c->tied_embeddings) return CC_OK;
    h->prefix = "";
    return plan(h, "lm_head.weight", true, "lm_head.weight", L, true, c->vocab_size, d, XF_AS_IS, 0);
}

/* BERT LayerNorms are "LayerNorm.weight/bias" (older exports: gamma/beta). */
static cc_status plan_bert_norm(hf_ctx *h, const char *hf_base, const char *cname, int layer, int d)
{
    char w[192], b[192], cw[CC_TENSOR_NAME_MAX], cb[CC_TENSOR_NAME_MAX], stored[192];
    st_tensor t;
    bool found;
    snprintf(w, sizeof w, "%s.weight", hf_base);
    CC_TRY(find(h, w, false, &t, &found, stored));
    if (found) snprintf(b, sizeof b, "%s.bias", hf_base);
    else { snprintf(w, sizeof w, "%s.gamma", hf_base); snprintf(b, sizeof b, "%s.beta", hf_base); }
    snprintf(cw, sizeof cw, "%s.weight", cname);
    snprintf(cb, sizeof cb, "%s.bias", cname);
    CC_TRY(plan(h, w, true, cw, layer, false, d, 0, XF_AS_IS, 0));
    return plan(h, b, true, cb, layer, false, d, 0, XF_AS_IS, 0);
}

static cc_status plan_bert(hf_ctx *h)
{
    cc_model_config *c = &h->ck->config;
    const int d = c->dim, hd = c->hidden_dim, L = c->n_layers;
    static const char *const prefixes[] = {"bert.", ""};
    h->prefix = pick_prefix(h, "embeddings.word_embeddings.weight", prefixes, 2);
    CC_TRY(plan(h, "embeddings.word_embeddings.weight", true, "embed.tokens", -1, false, c->vocab_size, d, XF_AS_IS, 0));
    CC_TRY(plan(h, "embeddings.position_embeddings.weight", true, "embed.positions", -1, false, c->max_seq_len, d, XF_AS_IS, 0));
    CC_TRY(plan(h, "embeddings.token_type_embeddings.weight", true, "embed.token_types", -1, false, c->type_vocab_size, d, XF_AS_IS, 0));
    CC_TRY(plan_bert_norm(h, "embeddings.LayerNorm", "embed.norm", -1, d));
    static const struct { const char *hf, *canon; } attn[] = {
        {"attention.self.query", "attn.q"}, {"attention.self.key", "attn.k"},
        {"attention.self.value", "attn.v"}, {"attention.output.dense", "attn.o"},
    };
    for (int l = 0; l < L; l++) {
        char hf[160], canon[CC_TENSOR_NAME_MAX];
        for (size_t i = 0; i < CC_ARRAY_LEN(attn); i++) {
            snprintf(hf, sizeof hf, "encoder.layer.%d.%s.weight", l, attn[i].hf);
            snprintf(canon, sizeof canon, "layers.%d.%s.weight", l, attn[i].canon);
            CC_TRY(plan(h, hf, true, canon, l, true, d, d, XF_AS_IS, 0));
            snprintf(hf, sizeof hf, "encoder.layer.%d.%s.bias", l, attn[i].hf);
            snprintf(canon, sizeof canon, "layers.%d.%s.bias", l, attn[i].canon);
            CC_TRY(plan(h, hf, true, canon, l, false, d, 0, XF_AS_IS, 0));
        }
        snprintf(hf, sizeof hf, "encoder.layer.%d.attention.output.LayerNorm", l);
        snprintf(canon, sizeof canon, "layers.%d.attn_norm", l);
        CC_TRY(plan_bert_norm(h, hf, canon, l, d));
        CC_TRY(plan_layer(h, l, "encoder.layer.%d.intermediate.dense.weight", true, "ffn.up.weight", true, hd, d, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "encoder.layer.%d.intermediate.dense.bias", true, "ffn.up.bias", false, hd, 0, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "encoder.layer.%d.output.dense.weight", true, "ffn.down.weight", true, d, hd, XF_AS_IS, 0));
        CC_TRY(plan_layer(h, l, "encoder.layer.%d.output.dense.bias", true, "ffn.down.bias", false, d, 0, XF_AS_IS, 0));
        snprintf(hf, sizeof hf, "encoder.layer.%d.output.LayerNorm", l);
        snprintf(canon, sizeof canon, "layers.%d.ffn_norm", l);
        CC_TRY(plan_bert_norm(h, hf, canon, l, d));
    }
    /* classifier head (BertForSequenceClassification): sits outside "bert." */
    const char *model_prefix = h->prefix;
    h->prefix = "";
    st_tensor t;
    bool has_cls;
    char stored[192];
    CC_TRY(find(h, "classifier.weight", false, &t, &has_cls, stored));
    if (!has_cls) return CC_OK;
    if (t.ndim != 2 || t.shape[0] < 1 || t.shape[0] > (1 << 20))
        return cc_error_set(CC_ERR_FORMAT, "tensor classifier.weight has a bad shape");
    c->n_classes = (int)t.shape[0];
    h->prefix = model_prefix;
    CC_TRY(plan(h, "pooler.dense.weight", true, "pooler.weight", L, true, d, d, XF_AS_IS, 0));
    CC_TRY(plan(h, "pooler.dense.bias", true, "pooler.bias", L, false, d, 0, XF_AS_IS, 0));
    h->prefix = "";
    CC_TRY(plan(h, "classifier.weight", true, "classifier.weight", L, true, c->n_classes, d, XF_AS_IS, 0));
    return plan(h, "classifier.bias", true, "classifier.bias", L, false, c->n_classes, 0, XF_AS_IS, 0);
}

static cc_status read_hf(cc_checkpoint *ck, const ckpt_entry *e, float *dst)
{
    st_tensor t;
    if (!st_source_find(ck->hf, e->src, &t))
        return cc_error_set(CC_ERR_INTERNAL, "%s: planned tensor %s vanished", ck->path, e->src);
    if (e->xform == XF_AS_IS) {
        st_to_f32(&t, dst);
        return CC_OK;
    }
    float *src = ckpt_scratch(ck, t.numel);
    if (!src) return cc_error_wrap(CC_ERR_NOMEM, "converting %s", e->src);
    st_to_f32(&t, src);
    const int64_t d0 = e->meta.shape[0], d1 = e->meta.shape[1];
    switch (e->xform) {
    case XF_TRANSPOSE:                       /* src [d1][d0] */
        for (int64_t i = 0; i < d1; i++)
            for (int64_t o = 0; o < d0; o++) dst[o * d1 + i] = src[i * d0 + o];
        break;
    case XF_COLUMNS:                         /* src [d1][3·d0], columns part·d0.. */
        for (int64_t i = 0; i < d1; i++)
            for (int64_t o = 0; o < d0; o++) dst[o * d1 + i] = src[i * 3 * d0 + e->part * d0 + o];
        break;
    case XF_SLICE:
        memcpy(dst, src + (size_t)e->part * (size_t)d0, (size_t)d0 * sizeof *dst);
        break;
    case XF_ROPE_UNPERMUTE: {                /* Meta row head·hs + 2i + h2 = HF row head·hs + h2·hs/2 + i */
        const int64_t hs = d0 / e->heads;
        for (int64_t hd = 0; hd < e->heads; hd++)
            for (int64_t i = 0; i < hs / 2; i++)
                for (int64_t h2 = 0; h2 < 2; h2++)
                    memcpy(dst + (hd * hs + 2 * i + h2) * d1, src + (hd * hs + h2 * hs / 2 + i) * d1,
                           (size_t)d1 * sizeof *dst);
        break;
    }
    case XF_AS_IS:
        break;
    }
    return CC_OK;
}

/* ---- paths ------------------------------------------------------------------ */

void hf_paths_free(hf_paths *p)
{
    for (int i = 0; i < p->n_files; i++) cc_free(p->files[i]);
    p->n_files = 0;
}

/* Adds dir/name once.  A shard name comes from an index file we did not
 * write, so it must name a file in `dir` itself: no '/', not "." or "..",
 * no NUL inside (`len` is the JSON string's length). */
static cc_status add_path(hf_paths *p, const char *name, size_t len)
{
    if (len == 0 || strlen(name) != len || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return cc_error_set(CC_ERR_FORMAT, "shard name \"%.64s\" must be a plain file name", name);
    for (int i = 0; i < p->n_files; i++) {
        const char *base = strrchr(p->files[i], '/');
        if (strcmp(base ? base + 1 : p->files[i], name) == 0) return CC_OK;   /* already listed */
    }
    if (p->n_files == (int)CC_ARRAY_LEN(p->files))
        return cc_error_set(CC_ERR_FORMAT, "more than %zu shards", CC_ARRAY_LEN(p->files));
    size_t n = strlen(p->dir) + len + 2;
    char *s = cc_alloc(n);
    if (!s) return cc_error_wrap(CC_ERR_NOMEM, "paths");
    snprintf(s, n, "%s/%s", p->dir, name);
    p->files[p->n_files++] = s;
    return CC_OK;
}

cc_status hf_parse_index(const char *text, size_t len, hf_paths *p)
{
    struct json_object *root, *map;
    cc_status s = parse_json_object(text, len, "shard index", &root);
    if (s != CC_OK) return s;
    if (!json_object_object_get_ex(root, "weight_map", &map) || !json_object_is_type(map, json_type_object)) {
        s = cc_error_set(CC_ERR_FORMAT, "shard index: no \"weight_map\" object");
    } else {
        json_object_object_foreach(map, tensor, file) {
            (void)tensor;
            if (!json_object_is_type(file, json_type_string)) {
                s = cc_error_set(CC_ERR_FORMAT, "shard index: a weight_map value is not a file name");
                break;
            }
            s = add_path(p, json_object_get_string(file), (size_t)json_object_get_string_len(file));
            if (s != CC_OK) break;
        }
    }
    json_object_put(root);
    if (s == CC_OK && p->n_files == 0) s = cc_error_set(CC_ERR_FORMAT, "shard index: no shards");
    return s;
}

static cc_status read_index(hf_paths *p, const char *index_path)
{
    unsigned char *text;
    size_t len;
    cc_status s = cc_read_file(index_path, &text, &len);
    if (s != CC_OK) return s;
    s = hf_parse_index((const char *)text, len, p);
    cc_free(text);
    if (s != CC_OK) return cc_error_wrap(s, "%s", index_path);
    return CC_OK;
}

static cc_status resolve_paths(const char *path, hf_paths *p)
{
    struct stat st;
    if (stat(path, &st) != 0) return cc_error_set(CC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (strlen(path) >= sizeof p->dir) return cc_error_set(CC_ERR_ARG, "path too long");
    if (S_ISDIR(st.st_mode)) {
        snprintf(p->dir, sizeof p->dir, "%s", path);
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/model.safetensors", path);
        if (stat(probe, &st) == 0) return add_path(p, "model.safetensors", strlen("model.safetensors"));
        snprintf(probe, sizeof probe, "%s/model.safetensors.index.json", path);
        if (stat(probe, &st) == 0) return read_index(p, probe);
        return cc_error_set(CC_ERR_IO, "%s holds neither model.safetensors nor "
                            "model.safetensors.index.json", path);
    }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(p->dir, sizeof p->dir, "%s", dirname(copy));
    if (cc_str_ends_with(path, ".json")) return read_index(p, path);
    const char *base = strrchr(path, '/');
    const char *name = base ? base + 1 : path;
    return add_path(p, name, strlen(name));
}

static void close_hf(cc_checkpoint *ck)
{
    if (!ck->hf) return;
    st_source_close(ck->hf);
    cc_free(ck->hf);
    ck->hf = NULL;
}

static cc_status open_hf(cc_checkpoint *ck, const char *path)
{
    hf_paths paths;
    memset(&paths, 0, sizeof paths);
    cc_status s = resolve_paths(path, &paths);
    char cfg_path[4200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", paths.dir);
    if (s == CC_OK) {
        unsigned char *text = NULL;
        size_t len = 0;
        s = cc_read_file(cfg_path, &text, &len);
        if (s != CC_OK)        /* a missing config.json is a malformed checkpoint, as before */
            s = cc_error_wrap(CC_ERR_FORMAT, "config.json");
        else if ((s = hf_parse_config((const char *)text, len, &ck->config)) != CC_OK)
            s = cc_error_wrap(s, "%s", cfg_path);
        cc_free(text);
    }
    /* n_classes comes from the tensors; validate the rest before planning */
    if (s == CC_OK) s = cc_config_validate(&ck->config);
    if (s == CC_OK) {
        ck->hf = cc_calloc(1, sizeof(st_source));
        if (!ck->hf) s = cc_error_wrap(CC_ERR_NOMEM, "safetensors");
    }
    if (s == CC_OK) s = st_source_open(ck->hf, (const char *const *)paths.files, paths.n_files);
    if (s == CC_OK) {
        hf_ctx h = {.ck = ck, .src = ck->hf, .prefix = ""};
        switch (ck->config.arch) {
        case CC_ARCH_LLAMA: s = plan_llama(&h); break;
        case CC_ARCH_GPT2:  s = plan_gpt2(&h); break;
        case CC_ARCH_BERT:  s = plan_bert(&h); break;
        }
    }
    hf_paths_free(&paths);
    if (s != CC_OK) return cc_error_wrap(s, "importing %s", path);
    return CC_OK;
}

/* A model directory, a .safetensors file or a shard index. */
static bool probe_hf(const char *path, bool is_dir)
{
    return is_dir || cc_str_ends_with(path, ".safetensors") || cc_str_ends_with(path, ".json");
}

const ckpt_format ckpt_format_hf = {
    .name = "huggingface", .probe = probe_hf, .open = open_hf, .read = read_hf, .close = close_hf,
};
