/* The model owner's converter: float tensors -> fixed point -> stored layout
 * -> seed-compressed shares -> three party files + one w2 data file
 * (DESIGN.md §7, docs/BUNDLES.md).
 *
 * Per tensor t (index t is also its PRG stream id), in stored element order:
 *     w0 = PRG(s0, t), w1 = PRG(s1, t), w2 = W - w0 - w1   (mod 2^64)
 * Only w2 is written.  Working memory is a few buffers of the largest tensor,
 * so a model never has to be in memory at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "bundle_impl.h"
#include "core.h"
#include "prg.h"
#include "ring.h"

#define DEFAULT_FRAC_BITS 18u
#define SPLIT_CHUNK ((size_t)1 << 20)   /* PRG elements per pass (8 MiB) */

/* How one stored tensor is produced from the source. */
typedef struct plan_item {
    size_t src;                 /* source tensor index */
    bool transpose;             /* linear [out][in] -> op(B) = Wᵀ */
    ccb_entry e;
    size_t numel;
} plan_item;

static cc_status plan_entry(const cc_tensor_f32 *m, size_t src, const cc_model_config *c,
                            plan_item *p)
{
    memset(p, 0, sizeof *p);
    p->src = src;
    p->numel = m->numel;
    ccb_entry *e = &p->e;
    if (strnlen(m->name, CC_TENSOR_NAME_MAX) >= CCB_NAME_FIELD || m->name[0] == 0)
        return cc_error_set(CC_ERR_ARG, "tensor name is empty or too long");
    memcpy(e->name, m->name, strnlen(m->name, CCB_NAME_FIELD - 1));
    if (m->layer < -1 || m->layer > c->n_layers)
        return cc_error_set(CC_ERR_ARG, "tensor %s: layer %d outside -1..%d", m->name, m->layer,
                            c->n_layers);
    if (m->ndim < 1 || m->ndim > CC_TENSOR_MAX_DIMS)
        return cc_error_set(CC_ERR_ARG, "tensor %s: %d dimensions", m->name, m->ndim);
    uint64_t numel = 1;
    for (int d = 0; d < m->ndim; d++) {
        if (m->shape[d] <= 0) return cc_error_set(CC_ERR_ARG, "tensor %s: empty dimension", m->name);
        numel *= (uint64_t)m->shape[d];
        e->shape[d] = m->shape[d];
    }
    if (numel != m->numel)
        return cc_error_set(CC_ERR_ARG, "tensor %s: numel %zu does not match its shape", m->name,
                            m->numel);
    e->layer = m->layer;
    e->ndim = (uint32_t)m->ndim;
    bool embedding = strcmp(m->name, "embed.tokens") == 0;
    if (m->ndim == 2 && (m->is_linear || embedding)) {
        /* linear [out][in]: y = x·Wᵀ, so op(B) = Wᵀ is in×out.
         * token embedding [V][d]: one-hot × E, op(B) = E is V×d. */
        e->layout = CC_LAYOUT_PACKED_B;
        p->transpose = !embedding;
        e->K = (uint64_t)(embedding ? m->shape[0] : m->shape[1]);
        e->N = (uint64_t)(embedding ? m->shape[1] : m->shape[0]);
        size_t bytes = cc_ring_packed_size((size_t)e->K, (size_t)e->N);
        if (bytes % 8 != 0)
            return cc_error_set(CC_ERR_INTERNAL, "packed size %zu is not whole words", bytes);
        e->n_elems = bytes / 8;
    } else {
        e->layout = CC_LAYOUT_PLAIN;
        e->n_elems = numel;
    }
    e->bytes = e->n_elems * 8;
    return CC_OK;
}

/* Describes every source tensor, adds the tied LM head, assigns offsets. */
static cc_status build_plan(const cc_tensor_source *src, plan_item **out, size_t *n_out,
                            uint64_t *data_bytes)
{
    const cc_model_config *c = &src->config;
    size_t cap = src->n_tensors + 1;
    plan_item *plan = cc_calloc(cap, sizeof *plan);
    if (!plan) return cc_error_wrap(CC_ERR_NOMEM, "bundle plan");
    size_t n = 0;
    long embed_src = -1;
    bool have_head = false;
    cc_status s = CC_OK;
    for (size_t i = 0; i < src->n_tensors && s == CC_OK; i++) {
        cc_tensor_f32 m;
        memset(&m, 0, sizeof m);
        s = src->describe(src->ctx, i, &m);
        if (s == CC_OK) s = plan_entry(&m, i, c, &plan[n]);
        if (s == CC_OK && n > 0 && plan[n].e.layer < plan[n - 1].e.layer)
            s = cc_error_set(CC_ERR_ARG, "tensor %s comes after layer %d: the source is not in "
                             "layer order", m.name, plan[n - 1].e.layer);
        if (s != CC_OK) break;
        for (size_t j = 0; j < n; j++)
            if (strcmp(plan[j].e.name, plan[n].e.name) == 0)
                s = cc_error_set(CC_ERR_ARG, "tensor %s appears twice", m.name);
        if (strcmp(m.name, "embed.tokens") == 0) embed_src = (long)i;
        if (strcmp(m.name, "lm_head.weight") == 0) have_head = true;
        n++;
    }
    /* A tied LM head is the embedding used as x·Eᵀ: a different packed
     * operand, so it is stored once more in that layout. */
    if (s == CC_OK && c->tied_embeddings && !have_head) {
        if (embed_src < 0) {
            s = cc_error_set(CC_ERR_ARG, "tied embeddings but no embed.tokens tensor");
        } else {
            cc_tensor_f32 m;
            s = src->describe(src->ctx, (size_t)embed_src, &m);
            if (s == CC_OK) {
                snprintf(m.name, sizeof m.name, "lm_head.weight");
                m.layer = c->n_layers;
                m.is_linear = true;
                s = plan_entry(&m, (size_t)embed_src, c, &plan[n]);
                if (s == CC_OK) n++;
            }
        }
    }
    if (s != CC_OK) { cc_free(plan); return s; }
    uint64_t off = CCW_DATA_START;
    for (size_t i = 0; i < n; i++) {
        plan[i].e.offset = off;
        plan[i].e.stream = i;
        off = ccb_round_up_page(off + plan[i].e.bytes);
    }
    *out = plan;
    *n_out = n;
    *data_bytes = off;
    return CC_OK;
}

static cc_status write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, CC_MIN(len, (size_t)1 << 30), (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return cc_error_set(CC_ERR_IO, "writing %s: %s", path, strerror(errno));
        p += w; len -= (size_t)w; off += (uint64_t)w;
    }
    return CC_OK;
}

typedef struct work_buffers {
    float *f;          /* source floats */
    uint64_t *v;       /* fixed point, row-major */
    uint64_t *p;       /* stored order (packed), becomes w2 in place */
    uint64_t *tmp;     /* w0 + w1 for one chunk */
} work_buffers;

/* Produces the w2 bytes of one tensor into wb->p (or wb->v for plain) and
 * returns a pointer to them. */
static cc_status make_share(const cc_tensor_source *src, const plan_item *it, unsigned f,
                            const uint8_t seeds[2][16], work_buffers *wb, const uint64_t **w2)
{
    const ccb_entry *e = &it->e;
    CC_TRY(src->read(src->ctx, it->src, wb->f));
    cc_status s = cc_fxp_encode_f32(it->numel, wb->f, f, wb->v);
    if (s != CC_OK)
        return cc_error_wrap(s, "tensor %s does not fit fixed point with f = %u", e->name, f);
    uint64_t *stored = wb->v;
    if (e->layout == CC_LAYOUT_PACKED_B) {
        /* cc_ring_pack_b zero-fills the padding columns of the last panel */
        if (it->transpose)
            cc_ring_pack_b(CC_TRANS, e->K, e->N, wb->v, e->K, wb->p);
        else
            cc_ring_pack_b(CC_NOTRANS, e->K, e->N, wb->v, e->N, wb->p);
        stored = wb->p;
    }
    cc_prg g0, g1;
    cc_prg_init(&g0, seeds[0], e->stream);
    cc_prg_init(&g1, seeds[1], e->stream);
    for (size_t base = 0; base < e->n_elems; base += SPLIT_CHUNK) {
        size_t n = CC_MIN(SPLIT_CHUNK, (size_t)e->n_elems - base);
        cc_prg_u64(&g0, base, n, wb->tmp);
        cc_prg_u64_add(&g1, base, n, wb->tmp);
        cc_ring_sub(n, stored + base, wb->tmp, stored + base);
    }
    cc_prg_wipe(&g0);
    cc_prg_wipe(&g1);
    sodium_memzero(wb->tmp, SPLIT_CHUNK * sizeof *wb->tmp);
    *w2 = stored;
    return CC_OK;
}

static void free_buffers(work_buffers *wb, size_t max_numel, size_t max_stored)
{
    /* plaintext weights: wipe at memset speed (cc_wipe is byte-wise, for keys) */
    if (wb->f) { sodium_memzero(wb->f, max_numel * sizeof(float)); cc_free(wb->f); }
    if (wb->v) { sodium_memzero(wb->v, max_numel * 8); cc_free(wb->v); }
    if (wb->p) { sodium_memzero(wb->p, max_stored * 8); cc_free(wb->p); }
    cc_free(wb->tmp);
    memset(wb, 0, sizeof *wb);
}

static cc_status path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return cc_error_set(CC_ERR_ARG, "path too long: %s/%s", dir, name);
    return CC_OK;
}

static cc_status write_party_files(const char *dir, ccb_header *base, const ccb_entry *entries,
                                   const uint8_t seeds[2][16])
{
    size_t len = ccb_file_bytes(base->n_tensors);
    uint8_t *buf = cc_alloc(len);
    ccb_entry *pe = cc_calloc(base->n_tensors, sizeof *pe);
    if (!buf || !pe) { cc_free(buf); cc_free(pe); return cc_error_wrap(CC_ERR_NOMEM, "party file"); }
    cc_status s = CC_OK;
    for (unsigned party = 0; party < 3 && s == CC_OK; party++) {
        ccb_header h = *base;
        h.party = party;
        memcpy(pe, entries, base->n_tensors * sizeof *pe);
        if (party == 0) {
            /* P0 knows w0 and w1: a hash of w2 would let it test guesses of W. */
            memset(h.salt, 0, sizeof h.salt);
            for (uint32_t i = 0; i < h.n_tensors; i++) memset(pe[i].checksum, 0, 32);
        }
        for (unsigned pl = 0; pl < 2; pl++) {
            unsigned share = ccb_share_of_plane(party, pl);
            h.plane_kind[pl] = share == 2 ? CCB_PLANE_STORED : CCB_PLANE_SEED;
            if (share == 2) memset(h.seed[pl], 0, 16);
            else memcpy(h.seed[pl], seeds[share], 16);
        }
        ccb_encode(&h, pe, buf);
        cc_wipe(h.seed, sizeof h.seed);
        char path[4096], tmp[4200];
        s = path_join(path, sizeof path, dir, cc_bundle_party_file((int)party));
        if (s != CC_OK) break;
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) { s = cc_error_set(CC_ERR_IO, "creating %s: %s", tmp, strerror(errno)); break; }
        s = write_all(fd, buf, len, 0, tmp);
        if (s == CC_OK && fsync(fd) != 0) s = cc_error_set(CC_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
        close(fd);
        if (s == CC_OK && rename(tmp, path) != 0)
            s = cc_error_set(CC_ERR_IO, "renaming %s: %s", tmp, strerror(errno));
        if (s != CC_OK) unlink(tmp);
    }
    cc_wipe(buf, len);
    cc_free(buf);
    cc_free(pe);
    return s;
}

cc_status cc_bundle_write(const cc_tensor_source *src, const char *out_dir,
                          const cc_bundle_write_options *opt)
{
    if (sodium_init() < 0) return cc_error_set(CC_ERR_INTERNAL, "libsodium failed to initialise");
    if (!src || !out_dir) return cc_error_set(CC_ERR_ARG, "cc_bundle_write: missing argument");
    unsigned f = opt && opt->frac_bits ? opt->frac_bits : DEFAULT_FRAC_BITS;
    if (f > 40) return cc_error_set(CC_ERR_ARG, "fixed-point f = %u is out of range (1..40)", f);
    const cc_model_config *c = &src->config;
    if (cc_config_validate(c) != CC_OK) return cc_error_wrap(CC_ERR_ARG, "bundle");
    if (mkdir(out_dir, 0700) != 0 && errno != EEXIST)
        return cc_error_set(CC_ERR_IO, "creating %s: %s", out_dir, strerror(errno));

    plan_item *plan = NULL;
    size_t n = 0;
    uint64_t data_bytes = 0;
    CC_TRY(build_plan(src, &plan, &n, &data_bytes));

    size_t max_numel = 1, max_stored = 1;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        max_numel = CC_MAX(max_numel, plan[i].numel);
        max_stored = CC_MAX(max_stored, (size_t)plan[i].e.n_elems);
        total += plan[i].e.bytes;
    }
    work_buffers wb = {
        .f = cc_alloc(max_numel * sizeof(float)),
        .v = cc_alloc(max_numel * 8),
        .p = cc_alloc(max_stored * 8),
        .tmp = cc_alloc(SPLIT_CHUNK * 8),
    };
    char data_path[4096], data_tmp[4200];
    cc_status s = path_join(data_path, sizeof data_path, out_dir, CCB_DATA_FILE_NAME);
    snprintf(data_tmp, sizeof data_tmp, "%s.tmp", data_path);
    int fd = -1;
    if (s == CC_OK && (!wb.f || !wb.v || !wb.p || !wb.tmp))
        s = cc_error_wrap(CC_ERR_NOMEM, "conversion buffers for a %zu-element tensor", max_numel);
    if (s == CC_OK) {
        fd = open(data_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) s = cc_error_set(CC_ERR_IO, "creating %s: %s", data_tmp, strerror(errno));
    }
    if (s == CC_OK && ftruncate(fd, (off_t)data_bytes) != 0)
        s = cc_error_set(CC_ERR_IO, "sizing %s to %llu bytes: %s", data_tmp,
                         (unsigned long long)data_bytes, strerror(errno));

    uint8_t seeds[2][16];
    cc_prg_random_seed(seeds[0]);
    cc_prg_random_seed(seeds[1]);
    ccb_entry *entries = cc_calloc(n, sizeof *entries);
    if (s == CC_OK && !entries) s = cc_error_wrap(CC_ERR_NOMEM, "tensor table");

    uint64_t done = 0;
    for (size_t i = 0; i < n && s == CC_OK; i++) {
        const uint64_t *w2 = NULL;
        s = make_share(src, &plan[i], f, (const uint8_t (*)[16])seeds, &wb, &w2);
        if (s != CC_OK) break;
        entries[i] = plan[i].e;
        crypto_generichash(entries[i].checksum, 32, (const uint8_t *)w2, entries[i].bytes, NULL, 0);
        s = write_all(fd, w2, entries[i].bytes, entries[i].offset, data_tmp);
        done += entries[i].bytes;
        if (s == CC_OK && opt && opt->progress) opt->progress(opt->progress_ctx, done, total, entries[i].name);
    }

    ccb_header h;
    memset(&h, 0, sizeof h);
    if (s == CC_OK) {
        h.version = CC_BUNDLE_VERSION;
        h.ring_bits = 64;
        h.frac_bits = f;
        h.n_tensors = (uint32_t)n;
        h.entry_bytes = CCB_ENTRY_BYTES;
        h.config = *c;
        randombytes_buf(h.salt, sizeof h.salt);
        h.pack_fingerprint = ccb_pack_fingerprint();
        h.data_bytes = data_bytes;
        snprintf(h.data_file, sizeof h.data_file, "%s", CCB_DATA_FILE_NAME);
        ccb_content_hash(&h, entries, h.content_hash);
        uint8_t whead[CCW_DATA_START];
        ccw_encode_header(data_bytes, h.content_hash, whead);
        s = write_all(fd, whead, sizeof whead, 0, data_tmp);
    }
    if (s == CC_OK && fsync(fd) != 0) s = cc_error_set(CC_ERR_IO, "fsync %s: %s", data_tmp, strerror(errno));
    if (fd >= 0) close(fd);
    if (s == CC_OK && rename(data_tmp, data_path) != 0)
        s = cc_error_set(CC_ERR_IO, "renaming %s: %s", data_tmp, strerror(errno));
    if (s == CC_OK) s = write_party_files(out_dir, &h, entries, (const uint8_t (*)[16])seeds);
    if (s != CC_OK && fd >= 0) unlink(data_tmp);

    cc_wipe(seeds, sizeof seeds);
    cc_wipe(&h, sizeof h);
    free_buffers(&wb, max_numel, max_stored);
    cc_free(entries);
    cc_free(plan);
    return s;
}
