/* llama2.c checkpoint import (format: ../shared/models/README.md).
 *
 * Header: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len); a negative vocab_size means a separate classifier.
 * Then float32 tables, each grouped over all layers: token embedding,
 * rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the legacy RoPE
 * tables (seq_len * head_size/2 floats twice, skipped), then wcls if not
 * shared.  Tensors are read straight into their own buffers, so a 7B
 * checkpoint is never held twice. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint_internal.h"
#include "core.h"

/* Reads n floats; a short read means the file is truncated. */
static cc_status read_floats(FILE *f, float *dst, size_t n, const char *what, const char *path)
{
    if (fread(dst, sizeof(float), n, f) != n)
        return cc_error_set(CC_ERR_FORMAT, "%s: truncated while reading %s", path, what);
    return CC_OK;
}

/* One llama2.c table covers every layer: tensor `name` of layer l is the
 * l-th [d0][d1] slab. */
static cc_status read_layered(FILE *f, cc_model_weights *w, const char *path, const char *name,
                              int n_layers, int64_t d0, int64_t d1, bool linear)
{
    for (int l = 0; l < n_layers; l++) {
        float *dst;
        CC_TRY(cc_weights_add(w, l, linear, d0, d1, &dst, "layers.%d.%s", l, name));
        CC_TRY(read_floats(f, dst, (size_t)d0 * (size_t)(d1 ? d1 : 1), name, path));
    }
    return CC_OK;
}

/* Tensors must end up ordered by layer; llama2.c groups them by kind, so
 * sort stably by layer after reading. */
static void sort_by_layer(cc_model_weights *w)
{
    for (size_t i = 1; i < w->n_tensors; i++) {
        cc_tensor_f32 t = w->tensors[i];
        size_t j = i;
        while (j > 0 && w->tensors[j - 1].layer > t.layer) {
            w->tensors[j] = w->tensors[j - 1];
            j--;
        }
        w->tensors[j] = t;
    }
}

static cc_status load(FILE *f, const char *path, cc_model_weights *w)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    int32_t h[7];
    if (fread(h, sizeof h, 1, f) != 1)
        return cc_error_set(CC_ERR_FORMAT, "%s: truncated header (%lld bytes, need 28)", path,
                            (long long)st.st_size);
    cc_model_config *c = &w->config;
    c->arch = CC_ARCH_LLAMA;
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->tied_embeddings = h[5] > 0;
    c->vocab_size = h[5] > 0 ? h[5] : (h[5] == INT32_MIN ? 0 : -h[5]);
    c->max_seq_len = h[6];
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    cc_status s = cc_config_validate(c);
    if (s != CC_OK) return cc_error_wrap(s, "%s: llama2.c header", path);

    /* Exact file size from the header: anything else is truncation or the
     * wrong kind of file, reported before reading megabytes. */
    const uint64_t d = (uint64_t)c->dim, hd = (uint64_t)c->hidden_dim, L = (uint64_t)c->n_layers;
    const uint64_t kv = (uint64_t)cc_config_kv_dim(c), V = (uint64_t)c->vocab_size;
    const uint64_t hs = (uint64_t)cc_config_head_size(c), S = (uint64_t)c->max_seq_len;
    uint64_t floats = V * d + L * (2 * d + 2 * d * d + 2 * kv * d + 3 * hd * d) + d + S * hs;
    if (!c->tied_embeddings) floats += V * d;
    const uint64_t expected = 28 + 4 * floats;
    if ((uint64_t)st.st_size != expected)
        return cc_error_set(CC_ERR_FORMAT, "%s: %s (%lld bytes, header says %llu: dim %d, "
                            "hidden %d, layers %d, heads %d/%d, vocab %d%s, seq %d)", path,
                            (uint64_t)st.st_size < expected ? "truncated file" : "trailing bytes",
                            (long long)st.st_size, (unsigned long long)expected, c->dim,
                            c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                            c->tied_embeddings ? " shared" : " separate", c->max_seq_len);

    float *dst;
    CC_TRY(cc_weights_add(w, -1, false, c->vocab_size, c->dim, &dst, "embed.tokens"));
    CC_TRY(read_floats(f, dst, V * d, "token embedding", path));
    const int nl = c->n_layers;
    CC_TRY(read_layered(f, w, path, "attn_norm.weight", nl, c->dim, 0, false));
    CC_TRY(read_layered(f, w, path, "attn.q.weight", nl, c->dim, c->dim, true));
    CC_TRY(read_layered(f, w, path, "attn.k.weight", nl, (int64_t)kv, c->dim, true));
    CC_TRY(read_layered(f, w, path, "attn.v.weight", nl, (int64_t)kv, c->dim, true));
    CC_TRY(read_layered(f, w, path, "attn.o.weight", nl, c->dim, c->dim, true));
    CC_TRY(read_layered(f, w, path, "ffn_norm.weight", nl, c->dim, 0, false));
    CC_TRY(read_layered(f, w, path, "ffn.gate.weight", nl, c->hidden_dim, c->dim, true));
    CC_TRY(read_layered(f, w, path, "ffn.down.weight", nl, c->dim, c->hidden_dim, true));
    CC_TRY(read_layered(f, w, path, "ffn.up.weight", nl, c->hidden_dim, c->dim, true));
    CC_TRY(cc_weights_add(w, nl, false, c->dim, 0, &dst, "final_norm.weight"));
    CC_TRY(read_floats(f, dst, d, "final norm", path));
    if (fseeko(f, (off_t)(S * hs * sizeof(float)), SEEK_CUR) != 0)
        return cc_error_set(CC_ERR_IO, "%s: seek past RoPE tables: %s", path, strerror(errno));
    if (!c->tied_embeddings) {
        CC_TRY(cc_weights_add(w, nl, true, c->vocab_size, c->dim, &dst, "lm_head.weight"));
        CC_TRY(read_floats(f, dst, V * d, "classifier", path));
    }
    sort_by_layer(w);
    return CC_OK;
}

cc_status cc_checkpoint_load_llama2c(const char *path, cc_model_weights *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return cc_error_set(CC_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
    cc_status s = load(f, path, out);
    fclose(f);
    if (s != CC_OK) cc_weights_free(out);
    return s;
}
