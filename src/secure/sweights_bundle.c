/* Weight provider over a share bundle: both planes stay where the loader
 * puts them (the read-only mapping of w2.ccw, or its seed-expansion buffer),
 * one layer at a time. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "secure_impl.h"

static cc_bundle *bundle_of(const cc_sweights *w) { return w->state; }

static cc_status bundle_ref(cc_sweights *w, cc_wref *r)
{
    size_t index;
    CC_TRY(cc_bundle_find(bundle_of(w), r->name, &index));
    const cc_share_tensor *t = cc_bundle_tensor(bundle_of(w), index);
    cc_bundle_layout want = r->linear ? CC_LAYOUT_PACKED_B : CC_LAYOUT_PLAIN;
    if (t->layout != want)
        return cc_error_set(CC_ERR_FORMAT, "bundle tensor '%s' is not stored %s", r->name,
                            r->linear ? "packed" : "plain");
    r->layer = t->layer;
    r->K = r->linear ? t->K : 1;
    r->N = r->linear ? t->N : t->n_elems;
    r->slot = index;
    return CC_OK;
}

static cc_status bundle_begin(cc_sweights *w, int layer)
{
    cc_bundle_layer l;
    return cc_bundle_acquire(bundle_of(w), layer, &l);
}

static cc_status bundle_end(cc_sweights *w, int layer)
{
    return cc_bundle_release(bundle_of(w), layer);
}

/* Elements [off, off + elems) of both planes of tensor r, in place. */
static cc_status bundle_planes(cc_sweights *w, const cc_wref *r, size_t off, size_t elems,
                               const uint64_t **self, const uint64_t **next)
{
    const cc_share_tensor *t = cc_bundle_tensor(bundle_of(w), r->slot);
    if (off + elems > t->n_elems || !t->share[0] || !t->share[1])
        return cc_error_set(CC_ERR_INTERNAL, "bundle tensor '%s' not available", r->name);
    *self = t->share[0] + off;
    *next = t->share[1] + off;
    return CC_OK;
}

static cc_status bundle_linear(cc_sweights *w, const cc_wref *r, size_t off, size_t elems,
                               cc_proto_weight *out)
{
    return bundle_planes(w, r, off, elems, &out->packed_self, &out->packed_next);
}

static cc_status bundle_vector(cc_sweights *w, const cc_wref *r, const uint64_t **self,
                               const uint64_t **next)
{
    return bundle_planes(w, r, 0, r->N, self, next);
}

static void bundle_close(cc_sweights *w) { cc_bundle_close(bundle_of(w)); }

static cc_status bundle_check(const cc_sweights *w) { return cc_bundle_check_files(bundle_of(w)); }

static const cc_sweights_impl bundle_impl = {
    .name = "bundle", .ref = bundle_ref, .begin_layer = bundle_begin, .end_layer = bundle_end,
    .linear_planes = bundle_linear, .vector_planes = bundle_vector, .close = bundle_close,
    .check = bundle_check,
    .block_hint = SIZE_MAX,   /* planes used in place: no reason to split a weight */
};

/* Small models are streamed again for every generated token; keeping their
 * pages cached costs little.  Big ones (LLaMA-7B: 54 GB) must be dropped. */
static bool model_fits_in_cache(const char *path)
{
    char data[4096];
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    snprintf(data, sizeof data, "%s/w2.ccw", path);
    return stat(data, &st) == 0 && st.st_size < (off_t)(1u << 30);
}

cc_status cc_sweights_open_bundle(const char *path, int party, int frac_bits, bool verify,
                                  const cc_bundle_identity *expect, cc_sweights **out)
{
    cc_bundle_open_options o = { .party = party, .frac_bits = frac_bits, .verify = verify,
                                 .keep_cached = model_fits_in_cache(path), .expect = expect };
    cc_bundle *b;
    CC_TRY(cc_bundle_open(path, &o, &b));
    cc_status s = cc_sweights_new(&bundle_impl, cc_bundle_config(b), party,
                                  cc_bundle_frac_bits(b), out);
    if (s != CC_OK) {
        cc_bundle_close(b);
        return s;
    }
    (*out)->state = b;
    memcpy((*out)->hash, cc_bundle_content_hash(b), CC_BUNDLE_HASH_BYTES);
    return CC_OK;
}
