/* llama2.c checkpoint import (format: tests/data/README.md, docs/MODELS.md).
 *
 * Header: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len); a negative vocab_size means a separate classifier.
 * Then float32 tables, each grouped over all layers: token embedding,
 * rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the legacy RoPE
 * tables (seq_len * head_size/2 floats twice, skipped), then wcls if not
 * shared.  The plan records each tensor's file offset; reads are pread()s
 * straight into the caller's buffer. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_impl.h"
#include "core.h"

/* One llama2.c table covering every layer: layer l's tensor is the l-th
 * [d0][d1] slab starting at *offset. */
static cc_status plan_layered(cc_checkpoint *ck, uint64_t *offset, const char *name, int64_t d0,
                              int64_t d1, bool linear)
{
    for (int l = 0; l < ck->config.n_layers; l++) {
        ckpt_entry *e;
        CC_TRY(ckpt_add(ck, l, linear, d0, d1, &e, "layers.%d.%s", l, name));
        e->offset = *offset;
        *offset += 4 * (uint64_t)e->meta.numel;
    }
    return CC_OK;
}

static cc_status plan_one(cc_checkpoint *ck, uint64_t *offset, const char *name, int layer,
                          int64_t d0, int64_t d1, bool linear)
{
    ckpt_entry *e;
    CC_TRY(ckpt_add(ck, layer, linear, d0, d1, &e, "%s", name));
    e->offset = *offset;
    *offset += 4 * (uint64_t)e->meta.numel;
    return CC_OK;
}

/* llama2.c groups tensors by kind; the plan is sorted stably by layer
 * (-1 .. n_layers): a counting sort, linear in the number of tensors (an
 * insertion sort took seconds on a header claiming 4096 layers). */
static cc_status sort_by_layer(cc_checkpoint *ck)
{
    const size_t slots = (size_t)ck->config.n_layers + 2;
    size_t *start = cc_calloc(slots + 1, sizeof *start);
    ckpt_entry *sorted = cc_calloc(ck->n ? ck->n : 1, sizeof *sorted);
    if (!start || !sorted) {
        cc_free(start);
        cc_free(sorted);
        return cc_error_wrap(CC_ERR_NOMEM, "checkpoint plan");
    }
    for (size_t i = 0; i < ck->n; i++) start[(size_t)(ck->e[i].meta.layer + 1) + 1]++;
    for (size_t k = 1; k <= slots; k++) start[k] += start[k - 1];
    for (size_t i = 0; i < ck->n; i++) sorted[start[(size_t)(ck->e[i].meta.layer + 1)]++] = ck->e[i];
    cc_free(start);
    cc_free(ck->e);
    ck->e = sorted;
    ck->cap = ck->n ? ck->n : 1;
    return CC_OK;
}

cc_status l2c_plan(cc_checkpoint *ck, const uint8_t header[L2C_HEADER_BYTES], uint64_t file_size,
                   const char *path)
{
    int32_t h[7];
    memcpy(h, header, sizeof h);   /* little-endian int32, as llama2.c writes them */
    cc_model_config *c = &ck->config;
    memset(c, 0, sizeof *c);
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

    const int64_t d = c->dim, hd = c->hidden_dim, kv = cc_config_kv_dim(c), V = c->vocab_size;
    const int nl = c->n_layers;
    uint64_t off = L2C_HEADER_BYTES;
    CC_TRY(plan_one(ck, &off, "embed.tokens", -1, V, d, false));
    CC_TRY(plan_layered(ck, &off, "attn_norm.weight", d, 0, false));
    CC_TRY(plan_layered(ck, &off, "attn.q.weight", d, d, true));
    CC_TRY(plan_layered(ck, &off, "attn.k.weight", kv, d, true));
    CC_TRY(plan_layered(ck, &off, "attn.v.weight", kv, d, true));
    CC_TRY(plan_layered(ck, &off, "attn.o.weight", d, d, true));
    CC_TRY(plan_layered(ck, &off, "ffn_norm.weight", d, 0, false));
    CC_TRY(plan_layered(ck, &off, "ffn.gate.weight", hd, d, true));    /* w1 */
    CC_TRY(plan_layered(ck, &off, "ffn.down.weight", d, hd, true));    /* w2 */
    CC_TRY(plan_layered(ck, &off, "ffn.up.weight", hd, d, true));      /* w3 */
    CC_TRY(plan_one(ck, &off, "final_norm.weight", nl, d, 0, false));
    off += 4 * (uint64_t)c->max_seq_len * (uint64_t)cc_config_head_size(c);   /* legacy RoPE tables */
    if (!c->tied_embeddings) CC_TRY(plan_one(ck, &off, "lm_head.weight", nl, V, d, true));

    /* The exact size follows from the header: anything else is truncation or
     * the wrong kind of file, reported before any weight is read. */
    if (file_size != off)
        return cc_error_set(CC_ERR_FORMAT, "%s: %s (%llu bytes, header says %llu: dim %d, "
                            "hidden %d, layers %d, heads %d/%d, vocab %d%s, seq %d)", path,
                            file_size < off ? "truncated file" : "trailing bytes",
                            (unsigned long long)file_size, (unsigned long long)off, c->dim,
                            c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                            c->tied_embeddings ? " shared" : " separate", c->max_seq_len);
    return sort_by_layer(ck);
}

static cc_status open_llama2c(cc_checkpoint *ck, const char *path)
{
    ck->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (ck->fd < 0) return cc_error_set(CC_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(ck->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    uint8_t h[L2C_HEADER_BYTES];
    if (st.st_size < (off_t)sizeof h || pread(ck->fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        return cc_error_set(CC_ERR_FORMAT, "%s: truncated header (%lld bytes, need 28)", path,
                            (long long)st.st_size);
    return l2c_plan(ck, h, (uint64_t)st.st_size, path);
}

static cc_status read_llama2c(cc_checkpoint *ck, const ckpt_entry *e, float *out)
{
    size_t left = e->meta.numel * sizeof(float), done = 0;
    while (left > 0) {
        ssize_t r = pread(ck->fd, (char *)out + done, CC_MIN(left, (size_t)1 << 30),
                          (off_t)(e->offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return cc_error_set(CC_ERR_IO, "%s: reading %s: %s", ck->path, e->meta.name,
                                r < 0 ? strerror(errno) : "file shrank");
        done += (size_t)r;
        left -= (size_t)r;
    }
    return CC_OK;
}

static void close_llama2c(cc_checkpoint *ck)
{
    if (ck->fd >= 0) close(ck->fd);
    ck->fd = -1;
}

/* Anything that is not a Hugging Face layout is tried as llama2.c; its open
 * checks the header and the exact file size. */
static bool probe_llama2c(const char *path, bool is_dir) { (void)path; return !is_dir; }

const ckpt_format ckpt_format_llama2c = {
    .name = "llama2.c", .probe = probe_llama2c, .open = open_llama2c, .read = read_llama2c,
    .close = close_llama2c,
};
