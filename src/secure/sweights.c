/* Weight providers: the part every provider shares (reference lookup,
 * column-block checks, layer bookkeeping).  The providers themselves are
 * implementation tables: sweights_bundle.c and sweights_synthetic.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "ring.h"
#include "secure_impl.h"

cc_status cc_sweights_new(const cc_sweights_impl *impl, const cc_model_config *c, int party,
                          unsigned f, cc_sweights **out)
{
    cc_sweights *w = cc_calloc(1, sizeof *w);
    if (!w) return CC_ERR_NOMEM;
    w->impl = impl;
    w->config = *c;
    w->party = party;
    w->f = f;
    w->layer = CC_SWEIGHTS_NO_LAYER;
    *out = w;
    return CC_OK;
}

void cc_sweights_close(cc_sweights *w)
{
    if (!w) return;
    w->impl->close(w);
    cc_free(w);
}

cc_status cc_sweights_job_begin(cc_sweights *w)
{
    /* An engine of an earlier job that failed between begin and end of a
     * layer left it held: release it, or this job's first begin would fail. */
    if (w->layer != CC_SWEIGHTS_NO_LAYER) {
        int held = w->layer;
        w->layer = CC_SWEIGHTS_NO_LAYER;
        CC_TRY(w->impl->end_layer(w, held));
    }
    return w->impl->check ? w->impl->check(w) : CC_OK;
}

const cc_model_config *cc_sweights_config(const cc_sweights *w) { return &w->config; }
unsigned cc_sweights_frac_bits(const cc_sweights *w) { return w->f; }
const uint8_t *cc_sweights_hash(const cc_sweights *w) { return w->hash; }
size_t cc_sweights_block_hint(const cc_sweights *w) { return w->impl->block_hint; }

/* The packed layout's panel width: the size of a 1 × 1 operand is one panel. */
size_t cc_sweights_panel_cols(void) { return cc_ring_packed_size(1, 1) / sizeof(uint64_t); }

cc_status cc_sweights_ref(cc_sweights *w, bool linear, cc_wref *out, const char *fmt, ...)
{
    memset(out, 0, sizeof *out);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out->name, sizeof out->name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof out->name)
        return cc_error_set(CC_ERR_ARG, "tensor name too long: %s...", out->name);
    out->linear = linear;
    return w->impl->ref(w, out);
}

cc_status cc_sweights_begin_layer(cc_sweights *w, int layer)
{
    if (w->layer != CC_SWEIGHTS_NO_LAYER)
        return cc_error_set(CC_ERR_INTERNAL, "weights: layer %d begun while %d is held", layer,
                            w->layer);
    CC_TRY(w->impl->begin_layer(w, layer));
    w->layer = layer;
    return CC_OK;
}

cc_status cc_sweights_end_layer(cc_sweights *w, int layer)
{
    if (w->layer != layer)
        return cc_error_set(CC_ERR_INTERNAL, "weights: ending layer %d, %d is held", layer,
                            w->layer);
    w->layer = CC_SWEIGHTS_NO_LAYER;
    return w->impl->end_layer(w, layer);
}

/* A reference is usable only inside its own layer. */
static cc_status check_ref(const cc_sweights *w, const cc_wref *r, bool linear)
{
    if (r->linear != linear)
        return cc_error_set(CC_ERR_INTERNAL, "weights: '%s' is not a %s", r->name,
                            linear ? "linear weight" : "vector");
    if (r->layer != w->layer)
        return cc_error_set(CC_ERR_INTERNAL, "weights: '%s' of layer %d used while layer %d "
                            "is held", r->name, r->layer, w->layer);
    return CC_OK;
}

cc_status cc_sweights_linear_cols(cc_sweights *w, const cc_wref *r, size_t col0, size_t ncols,
                                  cc_proto_weight *out)
{
    CC_TRY(check_ref(w, r, true));
    if (col0 % cc_sweights_panel_cols() != 0 || ncols == 0 || col0 + ncols > r->N)
        return cc_error_set(CC_ERR_ARG, "tensor '%s': column block %zu+%zu of %zu is not "
                            "panel-aligned", r->name, col0, ncols, r->N);
    /* the packed layout keeps each NR-column panel contiguous (docs/KERNELS.md),
     * so a block of panels is itself a packed K × ncols operand */
    size_t off = col0 * r->K, elems = cc_ring_packed_size(r->K, ncols) / sizeof(uint64_t);
    /* (X_i + X_{i+1})·W_i + X_i·W_{i+1}: no W_i + W_{i+1} pass needed */
    *out = (cc_proto_weight){ .K = r->K, .N = ncols, .owned = false };
    return w->impl->linear_planes(w, r, off, elems, out);
}

cc_status cc_sweights_linear(cc_sweights *w, const cc_wref *r, cc_proto_weight *out)
{
    return cc_sweights_linear_cols(w, r, 0, r->N, out);
}

cc_status cc_sweights_vector(cc_sweights *w, const cc_wref *r, cc_ashare *out)
{
    CC_TRY(check_ref(w, r, false));
    const uint64_t *self = NULL, *next = NULL;
    CC_TRY(w->impl->vector_planes(w, r, &self, &next));
    *out = (cc_ashare){ .s = { (uint64_t *)self, (uint64_t *)next }, .n = r->N, .rows = 1,
                        .cols = r->N };
    return CC_OK;
}
