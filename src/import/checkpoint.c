/* Lazy checkpoints: the plan every format fills, and the format table. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_impl.h"
#include "core.h"

/* ---- lazy checkpoints ------------------------------------------------------- */

cc_status ckpt_add(cc_checkpoint *ck, int layer, bool is_linear, int64_t d0, int64_t d1,
                   ckpt_entry **e, const char *fmt, ...)
{
    ckpt_entry n;
    memset(&n, 0, sizeof n);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(n.meta.name, sizeof n.meta.name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof n.meta.name)
        return cc_error_set(CC_ERR_ARG, "tensor name too long: %s...", n.meta.name);
    if (d0 <= 0 || d1 < 0)
        return cc_error_set(CC_ERR_FORMAT, "tensor %s: bad shape [%lld][%lld]", n.meta.name,
                            (long long)d0, (long long)d1);
    n.meta.ndim = d1 ? 2 : 1;
    n.meta.shape[0] = d0;
    n.meta.shape[1] = d1;
    if (!cc_mul_size((size_t)d0, d1 ? (size_t)d1 : 1, &n.meta.numel))
        return cc_error_set(CC_ERR_RANGE, "tensor %s: size overflows", n.meta.name);
    n.meta.layer = layer;
    n.meta.is_linear = is_linear;
    if (ck->n == ck->cap) {
        size_t cap = ck->cap ? 2 * ck->cap : 64;
        ckpt_entry *grown = cc_calloc(cap, sizeof *grown);
        if (!grown) return cc_error_wrap(CC_ERR_NOMEM, "checkpoint plan");
        if (ck->n) memcpy(grown, ck->e, ck->n * sizeof *grown);
        cc_free(ck->e);
        ck->e = grown;
        ck->cap = cap;
    }
    ck->e[ck->n] = n;
    *e = &ck->e[ck->n++];
    return CC_OK;
}

float *ckpt_scratch(cc_checkpoint *ck, size_t n)
{
    if (n > ck->tmp_cap) {
        cc_free(ck->tmp);
        ck->tmp = cc_alloc(n * sizeof(float));
        ck->tmp_cap = ck->tmp ? n : 0;
        if (!ck->tmp) cc_error_set(CC_ERR_NOMEM, "conversion buffer of %zu floats", n);
    }
    return ck->tmp;
}

static const ckpt_format *const formats[] = { &ckpt_format_hf, &ckpt_format_llama2c };

/* Opens `path` as `format`, or as the first format whose probe accepts it. */
static cc_status open_as(const char *path, const ckpt_format *format, cc_checkpoint **out)
{
    *out = NULL;
    if (!format) {
        struct stat st;
        if (stat(path, &st) != 0)
            return cc_error_set(CC_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
        for (size_t i = 0; !format && i < CC_ARRAY_LEN(formats); i++)
            if (formats[i]->probe(path, S_ISDIR(st.st_mode))) format = formats[i];
        if (!format) return cc_error_set(CC_ERR_FORMAT, "%s: not a checkpoint format Caracal reads",
                                         path);
    }
    cc_checkpoint *ck = cc_calloc(1, sizeof *ck);
    if (!ck) return cc_error_wrap(CC_ERR_NOMEM, "checkpoint");
    ck->fd = -1;
    ck->format = format;
    snprintf(ck->path, sizeof ck->path, "%s", path);
    cc_status s = format->open(ck, path);
    if (s != CC_OK) {
        cc_checkpoint_close(ck);
        return s;
    }
    *out = ck;
    return CC_OK;
}

cc_status cc_checkpoint_open(const char *path, cc_checkpoint **out) { return open_as(path, NULL, out); }

const cc_model_config *cc_checkpoint_config(const cc_checkpoint *ck) { return &ck->config; }
size_t cc_checkpoint_count(const cc_checkpoint *ck) { return ck->n; }

const cc_tensor_f32 *cc_checkpoint_describe(const cc_checkpoint *ck, size_t i)
{
    return i < ck->n ? &ck->e[i].meta : NULL;
}

cc_status cc_checkpoint_read(cc_checkpoint *ck, size_t i, float *out)
{
    if (i >= ck->n)
        return cc_error_set(CC_ERR_ARG, "checkpoint tensor %zu of %zu", i, ck->n);
    return ck->format->read(ck, &ck->e[i], out);
}

void cc_checkpoint_close(cc_checkpoint *ck)
{
    if (!ck) return;
    ck->format->close(ck);
    cc_free(ck->e);
    cc_free(ck->tmp);
    cc_free(ck);
}

/* ---- eager loading: every tensor of the plan read into memory ---------------- */

static cc_status load_as(const char *path, const ckpt_format *format, cc_model_weights *out)
{
    memset(out, 0, sizeof *out);
    cc_checkpoint *ck;
    CC_TRY(open_as(path, format, &ck));
    out->config = ck->config;
    cc_status s = CC_OK;
    for (size_t i = 0; i < ck->n && s == CC_OK; i++) {
        const cc_tensor_f32 *m = &ck->e[i].meta;
        float *dst;
        s = cc_weights_add(out, m->layer, m->is_linear, m->shape[0], m->shape[1], &dst, "%s", m->name);
        if (s == CC_OK) s = cc_checkpoint_read(ck, i, dst);
    }
    cc_checkpoint_close(ck);
    if (s != CC_OK) cc_weights_free(out);
    return s;
}

cc_status cc_checkpoint_load(const char *path, cc_model_weights *out) { return load_as(path, NULL, out); }
cc_status cc_checkpoint_load_llama2c(const char *path, cc_model_weights *out)
{
    return load_as(path, &ckpt_format_llama2c, out);
}
cc_status cc_checkpoint_load_hf(const char *path, cc_model_weights *out)
{
    return load_as(path, &ckpt_format_hf, out);
}
