/* Named float32 tensors in memory, and the tensor source over them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "model.h"

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

/* ---- the tensor source over imported weights -------------------------------- */

static cc_status weights_describe(void *ctx, size_t i, cc_tensor_f32 *meta)
{
    const cc_model_weights *w = ctx;
    *meta = w->tensors[i];
    meta->data = NULL;
    return CC_OK;
}

static cc_status weights_read(void *ctx, size_t i, float *out)
{
    const cc_model_weights *w = ctx;
    memcpy(out, w->tensors[i].data, w->tensors[i].numel * sizeof(float));
    return CC_OK;
}

cc_status cc_tensor_source_weights(const cc_model_weights *w, cc_tensor_source *out)
{
    memset(out, 0, sizeof *out);
    if (!w || w->n_tensors == 0)
        return cc_error_set(CC_ERR_ARG, "tensor source: no weights");
    out->ctx = (void *)w;
    out->config = w->config;
    out->n_tensors = w->n_tensors;
    out->describe = weights_describe;
    out->read = weights_read;
    return CC_OK;
}

void cc_tensor_source_free(cc_tensor_source *s)
{
    if (s && s->destroy) s->destroy(s->ctx);
    if (s) memset(s, 0, sizeof *s);
}

size_t cc_argmax_f32(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
