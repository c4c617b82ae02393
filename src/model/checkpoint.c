/* In-memory named weights shared by every importer, and the format switch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_internal.h"
#include "core.h"

const cc_tensor_f32 *cc_weights_find(const cc_model_weights *w, const char *name)
{
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return &w->tensors[i];
    return NULL;
}

cc_status cc_weights_get(const cc_model_weights *w, const char *name,
                         int64_t d0, int64_t d1, const float **out)
{
    const cc_tensor_f32 *t = cc_weights_find(w, name);
    if (!t) return cc_error_set(CC_ERR_FORMAT, "missing tensor %s", name);
    int want_ndim = d1 ? 2 : 1;
    if (t->ndim != want_ndim || t->shape[0] != d0 || (d1 && t->shape[1] != d1))
        return cc_error_set(CC_ERR_FORMAT, "tensor %s has shape [%lld%s%lld], expected [%lld%s%lld]",
                            name, (long long)t->shape[0], t->ndim > 1 ? "][" : "",
                            t->ndim > 1 ? (long long)t->shape[1] : 0LL, (long long)d0,
                            d1 ? "][" : "", (long long)d1);
    *out = t->data;
    return CC_OK;
}

void cc_weights_free(cc_model_weights *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_tensors; i++) cc_free(w->tensors[i].data);
    cc_free(w->tensors);
    memset(w, 0, sizeof *w);
}

cc_status cc_weights_add(cc_model_weights *w, int layer, bool is_linear,
                         int64_t d0, int64_t d1, float **data, const char *fmt, ...)
{
    cc_tensor_f32 t;
    memset(&t, 0, sizeof t);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(t.name, sizeof t.name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof t.name)
        return cc_error_set(CC_ERR_ARG, "tensor name too long: %s...", t.name);
    if (d0 <= 0 || d1 < 0)
        return cc_error_set(CC_ERR_FORMAT, "tensor %s: bad shape [%lld][%lld]", t.name,
                            (long long)d0, (long long)d1);
    t.ndim = d1 ? 2 : 1;
    t.shape[0] = d0;
    t.shape[1] = d1;
    if (!cc_mul_size((size_t)d0, d1 ? (size_t)d1 : 1, &t.numel))
        return cc_error_set(CC_ERR_RANGE, "tensor %s: size overflows", t.name);
    t.layer = layer;
    t.is_linear = is_linear;
    t.data = cc_calloc(t.numel, sizeof(float));
    if (!t.data) return cc_error_wrap(CC_ERR_NOMEM, "tensor %s", t.name);
    if (w->n_tensors == w->capacity) {
        size_t cap = w->capacity ? 2 * w->capacity : 32;
        cc_tensor_f32 *grown = cc_calloc(cap, sizeof *grown);
        if (!grown) { cc_free(t.data); return cc_error_wrap(CC_ERR_NOMEM, "tensor table"); }
        if (w->n_tensors) memcpy(grown, w->tensors, w->n_tensors * sizeof *grown);
        cc_free(w->tensors);
        w->tensors = grown;
        w->capacity = cap;
    }
    w->tensors[w->n_tensors++] = t;
    *data = t.data;
    return CC_OK;
}

cc_status cc_read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cc_error_set(CC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = cc_alloc(n ? n : 1);
    if (!buf) { fclose(f); return cc_error_wrap(CC_ERR_NOMEM, "reading %s (%zu bytes)", path, n); }
    if (n && fread(buf, 1, n, f) != n) {
        cc_free(buf);
        fclose(f);
        return cc_error_set(CC_ERR_IO, "short read on %s", path);
    }
    fclose(f);
    *data = buf;
    *len = n;
    return CC_OK;
}

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

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static cc_status open_kind(const char *path, int kind, cc_checkpoint **out)
{
    *out = NULL;
    cc_checkpoint *ck = cc_calloc(1, sizeof *ck);
    if (!ck) return cc_error_wrap(CC_ERR_NOMEM, "checkpoint");
    ck->fd = -1;
    snprintf(ck->path, sizeof ck->path, "%s", path);
    if (kind == 0) {
        struct stat st;
        if (stat(path, &st) != 0) {
            cc_checkpoint_close(ck);
            return cc_error_set(CC_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
        }
        kind = S_ISDIR(st.st_mode) || ends_with(path, ".safetensors") || ends_with(path, ".json")
             ? CKPT_HF : CKPT_LLAMA2C;
    }
    cc_status s = kind == CKPT_HF ? ckpt_open_hf(ck, path) : ckpt_open_llama2c(ck, path);
    if (s != CC_OK) {
        cc_checkpoint_close(ck);
        return s;
    }
    *out = ck;
    return CC_OK;
}

cc_status cc_checkpoint_open(const char *path, cc_checkpoint **out) { return open_kind(path, 0, out); }

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
    return ck->kind == CKPT_HF ? ckpt_read_hf(ck, &ck->e[i], out)
                               : ckpt_read_llama2c(ck, &ck->e[i], out);
}

void cc_checkpoint_close(cc_checkpoint *ck)
{
    if (!ck) return;
    if (ck->fd >= 0) close(ck->fd);
    if (ck->kind == CKPT_HF) ckpt_close_hf(ck);
    cc_free(ck->e);
    cc_free(ck->tmp);
    cc_free(ck);
}

/* ---- eager loading: every tensor of the plan read into memory ---------------- */

static cc_status load_kind(const char *path, int kind, cc_model_weights *out)
{
    memset(out, 0, sizeof *out);
    cc_checkpoint *ck;
    CC_TRY(open_kind(path, kind, &ck));
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

cc_status cc_checkpoint_load(const char *path, cc_model_weights *out) { return load_kind(path, 0, out); }
cc_status cc_checkpoint_load_llama2c(const char *path, cc_model_weights *out)
{
    return load_kind(path, CKPT_LLAMA2C, out);
}
cc_status cc_checkpoint_load_hf(const char *path, cc_model_weights *out)
{
    return load_kind(path, CKPT_HF, out);
}
