/* Model configuration: architecture names, consistency checks and the
 * preset table. */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "model.h"

const char *cc_arch_name(cc_arch a)
{
    switch (a) {
    case CC_ARCH_LLAMA: return "llama";
    case CC_ARCH_GPT2:  return "gpt2";
    case CC_ARCH_BERT:  return "bert";
    }
    return "unknown";
}
cc_status cc_config_validate(const cc_model_config *c)
{
    if (c->arch != CC_ARCH_LLAMA && c->arch != CC_ARCH_GPT2 && c->arch != CC_ARCH_BERT)
        return cc_error_set(CC_ERR_FORMAT, "model config: unknown architecture %d", (int)c->arch);
    const struct { const char *name; int v; } pos[] = {
        {"dim", c->dim}, {"hidden_dim", c->hidden_dim}, {"n_layers", c->n_layers},
        {"n_heads", c->n_heads}, {"n_kv_heads", c->n_kv_heads},
        {"vocab_size", c->vocab_size}, {"max_seq_len", c->max_seq_len},
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(pos); i++)
        if (pos[i].v <= 0)
            return cc_error_set(CC_ERR_FORMAT, "model config: %s = %d must be positive",
                                pos[i].name, pos[i].v);
    /* Keep every tensor size comfortably inside int (BLAS uses int). */
    if (c->dim > (1 << 20) || c->hidden_dim > (1 << 22) || c->vocab_size > (1 << 22) ||
        c->max_seq_len > (1 << 22) || c->n_layers > 4096)
        return cc_error_set(CC_ERR_FORMAT, "model config: implausibly large geometry "
                            "(dim %d, hidden %d, vocab %d, seq %d, layers %d)", c->dim,
                            c->hidden_dim, c->vocab_size, c->max_seq_len, c->n_layers);
    if (c->dim % c->n_heads != 0)
        return cc_error_set(CC_ERR_FORMAT, "model config: dim %d not divisible by n_heads %d",
                            c->dim, c->n_heads);
    if (c->n_heads % c->n_kv_heads != 0)
        return cc_error_set(CC_ERR_FORMAT, "model config: n_heads %d not divisible by n_kv_heads %d",
                            c->n_heads, c->n_kv_heads);
    if (!(c->norm_eps > 0.0f && c->norm_eps < 1.0f))
        return cc_error_set(CC_ERR_FORMAT, "model config: norm_eps %g out of (0, 1)", c->norm_eps);
    if (c->arch == CC_ARCH_LLAMA) {
        if (cc_config_head_size(c) % 2 != 0)
            return cc_error_set(CC_ERR_FORMAT, "model config: RoPE needs an even head size, got %d",
                                cc_config_head_size(c));
        if (!(c->rope_theta > 1.0f))
            return cc_error_set(CC_ERR_FORMAT, "model config: rope_theta %g must exceed 1",
                                c->rope_theta);
    } else if (c->n_kv_heads != c->n_heads) {
        return cc_error_set(CC_ERR_FORMAT, "model config: %s has no grouped-query attention "
                            "(n_kv_heads %d != n_heads %d)", cc_arch_name(c->arch),
                            c->n_kv_heads, c->n_heads);
    }
    if (c->arch == CC_ARCH_BERT) {
        if (c->type_vocab_size <= 0)
            return cc_error_set(CC_ERR_FORMAT, "model config: BERT type_vocab_size %d must be positive",
                                c->type_vocab_size);
        if (c->n_classes < 0)
            return cc_error_set(CC_ERR_FORMAT, "model config: n_classes %d negative", c->n_classes);
    }
    return CC_OK;
}

/* Every named geometry in one place.  All sizes are public. */
static const struct preset {
    const char *name;
    cc_model_config config;
} presets[] = {
    { "llama-7b", { .arch = CC_ARCH_LLAMA, .dim = 4096, .hidden_dim = 11008, .n_layers = 32,
                    .n_heads = 32, .n_kv_heads = 32, .vocab_size = 32000, .max_seq_len = 2048,
                    .norm_eps = 1e-5f, .rope_theta = 10000.0f } },
    { "stories260k", { .arch = CC_ARCH_LLAMA, .dim = 64, .hidden_dim = 172, .n_layers = 5,
                       .n_heads = 8, .n_kv_heads = 4, .vocab_size = 512, .max_seq_len = 512,
                       .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = true } },
    { "gpt2-base", { .arch = CC_ARCH_GPT2, .dim = 768, .hidden_dim = 3072, .n_layers = 12,
                     .n_heads = 12, .n_kv_heads = 12, .vocab_size = 50257, .max_seq_len = 1024,
                     .norm_eps = 1e-5f, .tied_embeddings = true } },
    { "bert-base", { .arch = CC_ARCH_BERT, .dim = 768, .hidden_dim = 3072, .n_layers = 12,
                     .n_heads = 12, .n_kv_heads = 12, .vocab_size = 30522, .max_seq_len = 512,
                     .norm_eps = 1e-12f, .type_vocab_size = 2, .n_classes = 2 } },
};

cc_status cc_config_preset(const char *name, cc_model_config *out)
{
    for (size_t i = 0; name && i < CC_ARRAY_LEN(presets); i++)
        if (strcmp(name, presets[i].name) == 0) {
            *out = presets[i].config;
            return CC_OK;
        }
    char known[128] = "";
    for (size_t i = 0; i < CC_ARRAY_LEN(presets); i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 presets[i].name);
    return cc_error_set(CC_ERR_ARG, "unknown model geometry '%s' (%s)", name ? name : "(null)",
                        known);
}
