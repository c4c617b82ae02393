/* The model owner's converter: float tensors -> fixed point -> stored layout
 * -> seed-compressed shares -> three party files + one w2 data file
 * (docs/BUNDLES.md).
 *
 * Per tensor t (index t is also its PRG stream id), in stored element order:
 *     w0 = PRG(s0, t), w1 = PRG(s1, t), w2 = W - w0 - w1   (mod 2^64)
 * Only w2 is written.
 *
 * Three stages run at once, tensor by tensor:
 *
 *   reader thread   src->read(t) into one of two float buffers (a
 *                   checkpoint's f16/bf16 decode, or the synthetic generator)
 *   calling thread  float -> fixed point -> stored (packed) order -> minus
 *                   both PRG streams, in independent chunks of whole panels
 *                   spread over the OpenMP team
 *   sink threads    (one per conversion thread, at most 4) each take a
 *                   converted tensor, BLAKE2b it (the format's checksum is one
 *                   sequential hash per tensor, so tensors are hashed side by
 *                   side) and write it at its offset, O_DIRECT where possible
 *
 * Every chunk's bytes depend only on the tensor and the chunk index (the PRG
 * is counter-addressed), so the file is byte-identical for any thread count.
 * Working memory: two float buffers and sinks + 1 stored buffers of the
 * largest tensor (LLaMA-7B, 2 threads: up to 1 + 3 GB, 2.4 GB peak RSS). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <omp.h>
#include <sodium.h>

#include "bundle_impl.h"
#include "core.h"
#include "kern.h"
#include "prg.h"
#include "ring.h"
#include "thread.h"

#define DEFAULT_FRAC_BITS 18u
#define NR 8u                            /* columns per packed panel (cc_ring_pack_b) */
#define CHUNK_ELEMS ((size_t)1 << 17)    /* stored u64 per conversion chunk (1 MiB) */
#define PRG_PIECE ((size_t)1 << 16)      /* below cc_prg's own threading threshold */
#define DEPTH 2u                         /* buffers between two stages */

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
        if (w < 0)
            return cc_error_set(CC_ERR_IO, "writing %s at byte %llu: %s", path,
                                (unsigned long long)off, strerror(errno));
        if (w == 0)
            return cc_error_set(CC_ERR_IO, "writing %s at byte %llu: short write (disk full?)",
                                path, (unsigned long long)off);
        p += w; len -= (size_t)w; off += (uint64_t)w;
    }
    return CC_OK;
}

/* ---- float -> fixed point ----------------------------------------------------
 * Exactly cc_fxp_encode_f32 (round(x·2^f), ties away from zero, |x| < 2^(62-f)),
 * by the kernel table's fxp_from_f32 (AVX-512 / AVX2 / portable, bit-identical;
 * tests/kern and test_bundle_write compare them with the reference). */

/* false at the first value that does not fit; *bad is its index. */
static bool encode_f32(size_t n, const float *x, unsigned f, uint64_t *out, size_t *bad)
{
    *bad = cc_kern_active()->fxp_from_f32(n, x, f, out);
    return *bad == n;
}

bool ccb_encode_f32(size_t n, const float *x, unsigned f, uint64_t *out)
{
    size_t bad;
    return encode_f32(n, x, f, out, &bad);
}

/* ---- the conversion of one tensor ---------------------------------------------
 * Chunk c of a packed tensor is panels [c·ppc, c·ppc + ppc): the float rows
 * (Wᵀ) or column slices (E) they come from are encoded into a scratch buffer
 * and packed by cc_ring_pack_b into their place; any run of panels is a
 * contiguous range of the packed array.  Chunk c of a plain tensor is a range
 * of elements.  Each chunk then subtracts both PRG streams in place. */

typedef struct convert_job {
    const plan_item *it;
    const float *src;
    uint64_t *out;
    unsigned f;
    const cc_prg *g[2];
    size_t unit;            /* stored elements per unit: 8·K (a panel) or 1 */
    size_t per_chunk;       /* units per chunk */
    size_t n_chunks;
    atomic_size_t bad;      /* smallest failing source index + 1, or 0 */
} convert_job;

static void plan_chunks(convert_job *j)
{
    const ccb_entry *e = &j->it->e;
    size_t units = e->layout == CC_LAYOUT_PACKED_B ? (size_t)((e->N + NR - 1) / NR) : (size_t)e->n_elems;
    j->unit = e->layout == CC_LAYOUT_PACKED_B ? NR * (size_t)e->K : 1;
    j->per_chunk = CC_MAX((size_t)1, CHUNK_ELEMS / j->unit);
    j->n_chunks = (units + j->per_chunk - 1) / j->per_chunk;
}

static void note_bad(convert_job *j, size_t index)
{
    size_t cur = atomic_load(&j->bad);
    while ((cur == 0 || index + 1 < cur) && !atomic_compare_exchange_weak(&j->bad, &cur, index + 1)) {}
}

/* scratch: at least per_chunk·unit u64 */
static void convert_chunk(convert_job *j, size_t c, uint64_t *scratch)
{
    const ccb_entry *e = &j->it->e;
    const size_t K = (size_t)e->K, N = (size_t)e->N;
    size_t o0, o1, bad;
    if (e->layout == CC_LAYOUT_PACKED_B) {
        size_t q0 = c * j->per_chunk, q1 = CC_MIN((N + NR - 1) / NR, q0 + j->per_chunk);
        size_t c0 = q0 * NR, c1 = CC_MIN(N, q1 * NR), w = c1 - c0;
        o0 = q0 * j->unit;
        o1 = q1 * j->unit;
        if (j->it->transpose) {
            /* op(B) = Wᵀ: columns c0..c1 are rows c0..c1 of W [N][K] */
            if (!encode_f32(w * K, j->src + c0 * K, j->f, scratch, &bad))
                note_bad(j, c0 * K + bad);
            cc_ring_pack_b(CC_TRANS, K, w, scratch, K, j->out + o0);
        } else {
            /* op(B) = E [K][N]: columns c0..c1 of every row */
            for (size_t p = 0; p < K; p++)
                if (!encode_f32(w, j->src + p * N + c0, j->f, scratch + p * w, &bad))
                    note_bad(j, p * N + c0 + bad);
            cc_ring_pack_b(CC_NOTRANS, K, w, scratch, w, j->out + o0);
        }
    } else {
        o0 = c * j->per_chunk;
        o1 = CC_MIN((size_t)e->n_elems, o0 + j->per_chunk);
        if (!encode_f32(o1 - o0, j->src + o0, j->f, j->out + o0, &bad)) note_bad(j, o0 + bad);
    }
    for (size_t a = o0; a < o1; a += PRG_PIECE) {
        size_t n = CC_MIN(PRG_PIECE, o1 - a);
        cc_prg_u64_sub(j->g[0], a, n, j->out + a);
        cc_prg_u64_sub(j->g[1], a, n, j->out + a);
    }
}

/* w2 of one tensor into out, on `threads` threads. */
static cc_status convert_tensor(const plan_item *it, const float *src, unsigned f,
                                const uint8_t seeds[2][16], int threads, uint64_t *out)
{
    cc_prg g0, g1;
    cc_prg_init(&g0, seeds[0], it->e.stream);
    cc_prg_init(&g1, seeds[1], it->e.stream);
    convert_job j = { .it = it, .src = src, .out = out, .f = f, .g = { &g0, &g1 } };
    atomic_init(&j.bad, 0);
    plan_chunks(&j);
    const size_t scratch_elems = it->e.layout == CC_LAYOUT_PACKED_B ? j.per_chunk * j.unit : 0;
    atomic_bool nomem = false;
#pragma omp parallel num_threads(threads)
    {
        uint64_t *scratch = scratch_elems ? cc_alloc(scratch_elems * 8) : NULL;
        if (scratch_elems && !scratch) atomic_store(&nomem, true);
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < j.n_chunks; c++)
            if (!atomic_load(&nomem)) convert_chunk(&j, c, scratch);
        if (scratch) {
            sodium_memzero(scratch, scratch_elems * 8);   /* plaintext fixed point */
            cc_free(scratch);
        }
    }
    cc_prg_wipe(&g0);
    cc_prg_wipe(&g1);
    if (atomic_load(&nomem)) return cc_error_wrap(CC_ERR_NOMEM, "conversion scratch for %s", it->e.name);
    size_t bad = atomic_load(&j.bad);
    if (bad) {
        float v = src[bad - 1];
        if (!isfinite(v))
            return cc_error_set(CC_ERR_RANGE, "tensor %s: non-finite value at element %zu",
                                it->e.name, bad - 1);
        return cc_error_set(CC_ERR_RANGE, "tensor %s does not fit fixed point with f = %u: value "
                            "%g at element %zu (|x| must be < 2^%u)", it->e.name, f, (double)v,
                            bad - 1, 62 - f);
    }
    return CC_OK;
}

/* ---- the pipeline ------------------------------------------------------------ */

#define MAX_SINKS 4

/* A stored buffer: free, holding tensor `tensor` converted, or being hashed
 * and written by a sink. */
enum { OBUF_FREE, OBUF_CONVERTED, OBUF_SINKING };

typedef struct pipeline {
    const cc_tensor_source *src;
    const plan_item *plan;
    size_t n;
    unsigned f;
    int threads;            /* conversion team */
    unsigned sinks;         /* hashing/writing threads */
    const cc_bundle_write_options *opt;
    int fd;
    bool direct;            /* fd is O_DIRECT: page-rounded writes from aligned buffers */
    const char *path;
    float *fbuf[DEPTH];
    size_t fbuf_bytes;
    uint64_t *obuf[MAX_SINKS + 1];
    size_t obuf_bytes;      /* largest tensor, rounded up to a page */
    int obuf_state[MAX_SINKS + 1];
    size_t obuf_tensor[MAX_SINKS + 1];
    ccb_entry *entries;
    uint64_t total, done_bytes;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n_read, n_converted, n_taken;   /* tensors read, converted, taken by a sink */
    bool failed;
    cc_status err;
    char msg[1024];
} pipeline;

static void pipe_fail(pipeline *p, cc_status s)
{
    pthread_mutex_lock(&p->mu);
    if (!p->failed) {
        p->failed = true;
        p->err = s;
        snprintf(p->msg, sizeof p->msg, "%s", cc_error_message());
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *reader_main(void *arg)
{
    pipeline *p = arg;
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->mu);   /* float buffer i % DEPTH free: tensor i - DEPTH converted */
        while (!p->failed && p->n_converted + DEPTH <= i) pthread_cond_wait(&p->cv, &p->mu);
        bool go = !p->failed;
        pthread_mutex_unlock(&p->mu);
        if (!go) break;
        cc_status s = p->src->read(p->src->ctx, p->plan[i].src, p->fbuf[i % DEPTH]);
        if (s != CC_OK) {
            cc_error_wrap(s, "reading tensor %s", p->plan[i].e.name);
            pipe_fail(p, s);
            break;
        }
        pthread_mutex_lock(&p->mu);
        p->n_read++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Buffered fallback (no O_DIRECT): write back and drop each tensor once
 * written, so 54 GB of output neither fill memory with dirty pages nor push
 * everything else out of the page cache. */
static void settle(pipeline *p, const ccb_entry *e)
{
    if (p->direct) return;
    sync_file_range(p->fd, (off_t)e->offset, (off_t)e->bytes,
                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    posix_fadvise(p->fd, (off_t)e->offset, (off_t)e->bytes, POSIX_FADV_DONTNEED);
}

/* Each sink takes the oldest converted tensor, hashes it (BLAKE2b is
 * sequential within a tensor, so tensors are hashed side by side) and writes
 * it at its offset. */
static void *sink_main(void *arg)
{
    pipeline *p = arg;
    const unsigned nbuf = p->sinks + 1;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        long k = -1;
        while (!p->failed && p->n_taken < p->n) {
            for (unsigned b = 0; b < nbuf; b++)
                if (p->obuf_state[b] == OBUF_CONVERTED &&
                    (k < 0 || p->obuf_tensor[b] < p->obuf_tensor[k])) k = (long)b;
            if (k >= 0) break;
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (k < 0) { pthread_mutex_unlock(&p->mu); break; }
        p->obuf_state[k] = OBUF_SINKING;
        p->n_taken++;
        const size_t i = p->obuf_tensor[k];
        pthread_mutex_unlock(&p->mu);

        ccb_entry *e = &p->entries[i];
        const uint8_t *w2 = (const uint8_t *)p->obuf[k];
        crypto_generichash(e->checksum, 32, w2, e->bytes, NULL, 0);
        /* O_DIRECT: whole pages; past the tensor the buffer holds zeros,
         * which is what the file holds up to the next page-aligned tensor */
        uint64_t len = p->direct ? ccb_round_up_page(e->bytes) : e->bytes;
        cc_status s = write_all(p->fd, w2, (size_t)len, e->offset, p->path);
        if (s != CC_OK) { pipe_fail(p, s); break; }
        settle(p, e);

        pthread_mutex_lock(&p->mu);
        p->obuf_state[k] = OBUF_FREE;
        p->done_bytes += e->bytes;
        /* under the lock: one progress call at a time, totals in order */
        if (p->opt && p->opt->progress)
            p->opt->progress(p->opt->progress_ctx, p->done_bytes, p->total, e->name);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Runs the stages over every tensor; fills p->entries (with checksums). */
static cc_status run_pipeline(pipeline *p, const uint8_t seeds[2][16])
{
    if (pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->cv, NULL) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "converter: mutex init failed");
    pthread_t reader, sink[MAX_SINKS];
    unsigned n_sinks = 0;
    bool have_reader = false;
    int rc = pthread_create(&reader, NULL, reader_main, p);
    have_reader = rc == 0;
    while (rc == 0 && n_sinks < p->sinks) {
        rc = pthread_create(&sink[n_sinks], NULL, sink_main, p);
        if (rc == 0) n_sinks++;
    }
    if (rc != 0) pipe_fail(p, cc_error_set(CC_ERR_INTERNAL, "converter threads: %s", strerror(rc)));
    const unsigned nbuf = p->sinks + 1;
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->mu);
        long k = -1;
        while (!p->failed) {
            for (unsigned b = 0; b < nbuf && k < 0; b++)
                if (p->obuf_state[b] == OBUF_FREE) k = (long)b;
            if (k >= 0 && p->n_read > i) break;
            k = -1;
            pthread_cond_wait(&p->cv, &p->mu);
        }
        bool go = !p->failed;
        pthread_mutex_unlock(&p->mu);
        if (!go) break;

        const plan_item *it = &p->plan[i];
        p->entries[i] = it->e;
        cc_status s = convert_tensor(it, p->fbuf[i % DEPTH], p->f, seeds, p->threads, p->obuf[k]);
        if (s != CC_OK) { pipe_fail(p, s); break; }
        memset((uint8_t *)p->obuf[k] + it->e.bytes, 0, (size_t)(ccb_round_up_page(it->e.bytes) - it->e.bytes));

        pthread_mutex_lock(&p->mu);
        p->obuf_state[k] = OBUF_CONVERTED;
        p->obuf_tensor[k] = i;
        p->n_converted++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    if (have_reader) pthread_join(reader, NULL);
    for (unsigned t = 0; t < n_sinks; t++) pthread_join(sink[t], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    if (p->failed) return cc_error_set(p->err, "%s", p->msg);
    return CC_OK;
}

/* ---- files ------------------------------------------------------------------- */

static cc_status path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return cc_error_set(CC_ERR_ARG, "path too long: %s/%s", dir, name);
    return CC_OK;
}

/* The whole data file's space up front: a full disk fails now, with the
 * numbers, not after an hour of conversion. */
static cc_status reserve_space(int fd, const char *path, uint64_t bytes)
{
    if (fallocate(fd, 0, 0, (off_t)bytes) == 0) return CC_OK;
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOSYS) {
        if (ftruncate(fd, (off_t)bytes) == 0) return CC_OK;
        err = errno;
    }
    if (err == ENOSPC) {
        struct statvfs v;
        double avail = fstatvfs(fd, &v) == 0 ? (double)v.f_bavail * (double)v.f_frsize / 1e9 : -1.0;
        return cc_error_set(CC_ERR_IO, "%s: not enough disk space for %.2f GB of shares (%.2f GB "
                            "available)", path, (double)bytes / 1e9, avail);
    }
    return cc_error_set(CC_ERR_IO, "sizing %s to %llu bytes: %s", path, (unsigned long long)bytes,
                        strerror(err));
}

/* A file complete under DIR/NAME.tmp, moved to DIR/NAME at commit. */
typedef struct out_file {
    char path[4096], tmp[4200];
    bool made, committed;
} out_file;

static cc_status out_file_init(out_file *o, const char *dir, const char *name)
{
    memset(o, 0, sizeof *o);
    CC_TRY(path_join(o->path, sizeof o->path, dir, name));
    size_t len = strlen(o->path);   /* < sizeof path, so ".tmp" fits */
    memcpy(o->tmp, o->path, len);
    memcpy(o->tmp + len, ".tmp", 5);
    return CC_OK;
}

static cc_status write_small(out_file *o, const uint8_t *buf, size_t len)
{
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return cc_error_set(CC_ERR_IO, "creating %s: %s", o->tmp, strerror(errno));
    o->made = true;
    cc_status s = write_all(fd, buf, len, 0, o->tmp);
    if (s == CC_OK && fsync(fd) != 0) s = cc_error_set(CC_ERR_IO, "fsync %s: %s", o->tmp, strerror(errno));
    if (close(fd) != 0 && s == CC_OK) s = cc_error_set(CC_ERR_IO, "closing %s: %s", o->tmp, strerror(errno));
    return s;
}

/* The three party files, under their temporary names. */
static cc_status write_party_files(out_file files[3], ccb_header *base, const ccb_entry *entries,
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
        s = write_small(&files[party], buf, len);
    }
    cc_wipe(buf, len);
    cc_free(buf);
    cc_free(pe);
    return s;
}

/* Renames every file into place and makes the renames durable; on any
 * failure removes what this conversion made, under either name, so no
 * half bundle is ever left under the final names. */
static cc_status commit(out_file *files, size_t n, const char *dir, cc_status s)
{
    for (size_t i = 0; i < n && s == CC_OK; i++) {
        if (rename(files[i].tmp, files[i].path) != 0)
            s = cc_error_set(CC_ERR_IO, "renaming %s: %s", files[i].tmp, strerror(errno));
        else
            files[i].committed = true;
    }
    if (s == CC_OK) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            s = cc_error_set(CC_ERR_IO, "fsync of directory %s: %s", dir, strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (s != CC_OK)
        for (size_t i = 0; i < n; i++) {
            if (files[i].committed) unlink(files[i].path);
            else if (files[i].made) unlink(files[i].tmp);
        }
    return s;
}

static void free_buffers(pipeline *p)
{
    /* plaintext weights: wipe at memset speed (cc_wipe is byte-wise, for keys) */
    for (unsigned k = 0; k < DEPTH; k++) {
        if (p->fbuf[k]) { sodium_memzero(p->fbuf[k], p->fbuf_bytes); cc_free_huge(p->fbuf[k], p->fbuf_bytes); }
        p->fbuf[k] = NULL;
    }
    for (unsigned k = 0; k < MAX_SINKS + 1; k++) {
        if (p->obuf[k]) { sodium_memzero(p->obuf[k], p->obuf_bytes); cc_free_huge(p->obuf[k], p->obuf_bytes); }
        p->obuf[k] = NULL;
    }
}

/* The data file, O_DIRECT where the file system has it: w2 goes from the
 * conversion buffers to the disk without a copy into the page cache (a
 * third of the old writer's time) and without evicting anyone's cache. */
static cc_status open_data_file(pipeline *p, out_file *o)
{
    p->direct = true;
    p->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0600);
    if (p->fd < 0 && errno == EINVAL) {
        p->direct = false;
        p->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (p->fd < 0) return cc_error_set(CC_ERR_IO, "creating %s: %s", o->tmp, strerror(errno));
    o->made = true;
    return CC_OK;
}

cc_status ccb_write(const cc_tensor_source *src, const char *out_dir,
                    const cc_bundle_write_options *opt, const uint8_t fixed[CCB_FIXED_RANDOM])
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
    pipeline p = {
        .src = src, .plan = plan, .n = n, .f = f, .opt = opt, .fd = -1, .total = total,
        .threads = opt && opt->threads > 0 ? opt->threads : cc_thread_count(),
        .fbuf_bytes = max_numel * sizeof(float),
        .obuf_bytes = (size_t)ccb_round_up_page((uint64_t)max_stored * 8),
    };
    p.sinks = (unsigned)CC_MIN(p.threads, MAX_SINKS);
    cc_status s = CC_OK;
    for (unsigned k = 0; k < DEPTH && s == CC_OK; k++)
        if (!(p.fbuf[k] = cc_alloc_huge(p.fbuf_bytes)))
            s = cc_error_wrap(CC_ERR_NOMEM, "conversion buffers for a %zu-element tensor", max_numel);
    for (unsigned k = 0; k < p.sinks + 1 && s == CC_OK; k++)
        if (!(p.obuf[k] = cc_alloc_huge(p.obuf_bytes)))
            s = cc_error_wrap(CC_ERR_NOMEM, "conversion buffers for a %zu-element tensor", max_stored);
    /* w2.ccw, then party0..2.ccb */
    out_file files[4];
    for (unsigned k = 0; k < 4 && s == CC_OK; k++)
        s = out_file_init(&files[k], out_dir, k == 0 ? CCB_DATA_FILE_NAME : cc_bundle_party_file((int)k - 1));
    if (s != CC_OK) memset(files, 0, sizeof files);
    p.path = files[0].tmp;
    if (s == CC_OK) s = open_data_file(&p, &files[0]);
    if (s == CC_OK) s = reserve_space(p.fd, files[0].tmp, data_bytes);

    uint8_t seeds[2][16];
    ccb_header h;
    memset(&h, 0, sizeof h);
    if (fixed) {
        memcpy(seeds, fixed, 32);
        memcpy(h.salt, fixed + 32, sizeof h.salt);
    } else {
        cc_prg_random_seed(seeds[0]);
        cc_prg_random_seed(seeds[1]);
        randombytes_buf(h.salt, sizeof h.salt);
    }
    p.entries = cc_calloc(n, sizeof *p.entries);
    if (s == CC_OK && !p.entries) s = cc_error_wrap(CC_ERR_NOMEM, "tensor table");
    if (s == CC_OK) s = run_pipeline(&p, (const uint8_t (*)[16])seeds);

    if (s == CC_OK) {
        h.version = CC_BUNDLE_VERSION;
        h.ring_bits = 64;
        h.frac_bits = f;
        h.n_tensors = (uint32_t)n;
        h.entry_bytes = CCB_ENTRY_BYTES;
        h.config = *c;
        h.pack_fingerprint = ccb_pack_fingerprint();
        h.data_bytes = data_bytes;
        snprintf(h.data_file, sizeof h.data_file, "%s", CCB_DATA_FILE_NAME);
        ccb_content_hash(&h, p.entries, h.content_hash);
        uint8_t *whead = aligned_alloc(CCB_PAGE, CCW_DATA_START);   /* O_DIRECT alignment */
        if (!whead) s = cc_error_set(CC_ERR_NOMEM, "data file header");
        if (s == CC_OK) {
            ccw_encode_header(data_bytes, h.content_hash, whead);
            s = write_all(p.fd, whead, CCW_DATA_START, 0, p.path);
        }
        free(whead);
    }
    if (s == CC_OK && fsync(p.fd) != 0) s = cc_error_set(CC_ERR_IO, "fsync %s: %s", p.path, strerror(errno));
    if (p.fd >= 0) {
        if (s == CC_OK) posix_fadvise(p.fd, 0, 0, POSIX_FADV_DONTNEED);   /* written and synced */
        if (close(p.fd) != 0 && s == CC_OK)
            s = cc_error_set(CC_ERR_IO, "closing %s: %s", p.path, strerror(errno));
    }
    if (s == CC_OK) s = write_party_files(files + 1, &h, p.entries, (const uint8_t (*)[16])seeds);
    s = commit(files, 4, out_dir, s);

    cc_wipe(seeds, sizeof seeds);
    cc_wipe(&h, sizeof h);
    free_buffers(&p);
    cc_free(p.entries);
    cc_free(plan);
    return s;
}

cc_status cc_bundle_write(const cc_tensor_source *src, const char *out_dir,
                          const cc_bundle_write_options *opt)
{
    return ccb_write(src, out_dir, opt, NULL);
}
