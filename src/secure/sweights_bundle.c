/* Weight provider over a share bundle, one layer at a time.  A stored plane
 * is used in place (the read-only mapping of w2.ccw).  A seed plane of a
 * linear weight is generated inside the GEMM, as the synthetic provider
 * does, so it never reaches memory (the loader runs with generate_packed);
 * the small seed planes of vectors come from the loader's expansion buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "secure_impl.h"

typedef struct bundle_state {
    cc_bundle *b;
    cc_prg gen[2];   /* streams of the last linear weight's seed planes */
} bundle_state;

static cc_bundle *bundle_of(const cc_sweights *w) { return ((bundle_state *)w->state)->b; }

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

/* Elements [off, off + elems) of plane pl of tensor t, in place (NULL when
 * the loader left it to be generated). */
static const uint64_t *held_plane(const cc_share_tensor *t, unsigned pl, size_t off)
{
    return t->share[pl] ? t->share[pl] + off : NULL;
}

static cc_status bundle_linear(cc_sweights *w, const cc_wref *r, size_t off, size_t elems,
                               cc_proto_weight *out)
{
    bundle_state *st = w->state;
    const cc_share_tensor *t = cc_bundle_tensor(st->b, r->slot);
    if (off + elems > t->n_elems)
        return cc_error_set(CC_ERR_INTERNAL, "bundle tensor '%s': elements past its end", r->name);
    const cc_prg **gen[2] = { &out->gen_self, &out->gen_next };
    const uint64_t **held[2] = { &out->packed_self, &out->packed_next };
    for (unsigned pl = 0; pl < 2; pl++) {
        if ((*held[pl] = held_plane(t, pl, off)) != NULL) continue;
        if (!cc_bundle_plane_prg(st->b, r->slot, pl, &st->gen[pl]))
            return cc_error_set(CC_ERR_INTERNAL, "bundle tensor '%s' not available", r->name);
        *gen[pl] = &st->gen[pl];
    }
    out->gen_first = off;
    return CC_OK;
}

static cc_status bundle_vector(cc_sweights *w, const cc_wref *r, const uint64_t **self,
                               const uint64_t **next)
{
    const cc_share_tensor *t = cc_bundle_tensor(bundle_of(w), r->slot);
    if (!t->share[0] || !t->share[1])
        return cc_error_set(CC_ERR_INTERNAL, "bundle tensor '%s' not available", r->name);
    *self = t->share[0];
    *next = t->share[1];
    return CC_OK;
}

static void bundle_close(cc_sweights *w)
{
    bundle_state *st = w->state;
    if (!st) return;
    cc_bundle_close(st->b);
    cc_prg_wipe(&st->gen[0]);
    cc_prg_wipe(&st->gen[1]);
    cc_free(st);
}

static cc_status bundle_check(const cc_sweights *w) { return cc_bundle_check_files(bundle_of(w)); }

static const cc_sweights_impl bundle_impl = {
    .name = "bundle", .ref = bundle_ref, .begin_layer = bundle_begin, .end_layer = bundle_end,
    .linear_planes = bundle_linear, .vector_planes = bundle_vector, .close = bundle_close,
    .check = bundle_check,
    .block_hint = SIZE_MAX,   /* planes used in place or generated: no buffer to bound */
};

/* Small models are streamed again for every generated token; keeping their
 * pages cached costs little.  Big ones (LLaMA-7B: 54 GB) are read past the
 * page cache (direct_read: two layers of buffers, no page-cache cost). */
static bool model_fits_in_cache(const char *path)
{
    char data[4096];
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    snprintf(data, sizeof data, "%s/w2.ccw", path);
    return stat(data, &st) == 0 && st.st_size < (off_t)(1u << 30);
}

/* How the stored plane is read: CARACAL_BUNDLE_IO=mapped|direct overrides
 * the size rule (auto).  mapped suits P1 and P2 on one host whose page cache
 * fills faster than two direct readers share the disk (they then read each
 * layer once between them); direct suits a party alone on its host, and
 * hosts where filling the page cache is the bottleneck (docs/BUNDLES.md). */
static cc_status read_mode(bool small, bool *direct)
{
    const char *io = getenv("CARACAL_BUNDLE_IO");
    if (!io || !*io || !strcmp(io, "auto")) *direct = !small;
    else if (!strcmp(io, "direct")) *direct = true;
    else if (!strcmp(io, "mapped")) *direct = false;
    else return cc_error_set(CC_ERR_ARG, "CARACAL_BUNDLE_IO=%.32s: expected auto, mapped or direct", io);
    return CC_OK;
}

cc_status cc_sweights_open_bundle(const char *path, int party, int frac_bits, bool verify,
                                  const cc_bundle_identity *expect, cc_sweights **out)
{
    const bool small = model_fits_in_cache(path);
    bool direct = false;
    CC_TRY(read_mode(small, &direct));
    cc_bundle_open_options o = { .party = party, .frac_bits = frac_bits, .verify = verify,
                                 .keep_cached = small, .direct_read = direct,
                                 .expect = expect, .generate_packed = true };
    bundle_state *st = cc_calloc(1, sizeof *st);
    if (!st) return cc_error_wrap(CC_ERR_NOMEM, "bundle weights");
    cc_status s = cc_bundle_open(path, &o, &st->b);
    if (s == CC_OK)
        s = cc_sweights_new(&bundle_impl, cc_bundle_config(st->b), party,
                            cc_bundle_frac_bits(st->b), out);
    if (s != CC_OK) {
        if (st->b) cc_bundle_close(st->b);
        cc_free(st);
        return s;
    }
    (*out)->state = st;
    memcpy((*out)->hash, cc_bundle_content_hash(st->b), CC_BUNDLE_HASH_BYTES);
    return CC_OK;
}
