/* Loader, part 2: layer-by-layer streaming (docs/BUNDLES.md).  What follows
 * is the mapped mode; with direct_read, acquire and release hand the stored
 * bytes over to bundle_direct.c instead.
 *
 *   acquire(L): stored planes are faulted in from the mapping (already in the
 *               page cache if the prefetch thread got there first); seed
 *               planes are expanded by the PRG into the reusable buffer; the
 *               prefetch thread is pointed at layer L+1.
 *   release(L): MADV_DONTNEED drops L's pages from this process at once;
 *               POSIX_FADV_DONTNEED drops the layer released *before* L from
 *               the page cache.
 *
 * Why one layer behind: P1 and P2 on one host map the same w2.ccw and share
 * its page cache, so each layer should be read from disk once for both.  If
 * a party dropped L from the cache at its own release, a peer that has not
 * (fully) mapped L yet would read it again.  The parties move in step (no
 * party finishes layer L before every party has acquired it, since each
 * layer's protocols need all three), so when we release L every peer has
 * released L-1: dropping L-1 then never costs anyone a re-read, and pages a
 * peer still maps are kept by the kernel anyway.  The price is one more
 * layer in the page cache (not in any process).  Resident memory stays
 * about one layer's two planes, whatever the model. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bundle_impl.h"
#include "core.h"
#include "prg.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

void ccb_unmap_range(cc_bundle *b, uint64_t lo, uint64_t hi)
{
    if (!b->map || hi <= lo) return;
    madvise((void *)(b->map + lo), (size_t)(hi - lo), MADV_DONTNEED);
}

void ccb_uncache_range(cc_bundle *b, uint64_t lo, uint64_t hi)
{
    if (!b->map || hi <= lo || b->keep_cached) return;
    posix_fadvise(b->data_fd, (off_t)lo, (off_t)(hi - lo), POSIX_FADV_DONTNEED);
}

void ccb_drop_range(cc_bundle *b, uint64_t lo, uint64_t hi)
{
    ccb_unmap_range(b, lo, hi);
    ccb_uncache_range(b, lo, hi);
}

/* Start reading a layer into the page cache, asynchronously.  One WILLNEED
 * call over the whole range is not enough: the kernel caps each call at its
 * read-ahead window (max(read_ahead_kb, max_sectors_kb): 128 KB to a few MB),
 * so on a 1.6 GB layer it would read a few MB and the rest would be read
 * synchronously by acquire's POPULATE_READ, never overlapping compute.
 * Issued in small pieces, the whole layer is queued in a few thousand cheap
 * calls. */
#define WILLNEED_PIECE ((uint64_t)512 << 10)

static void will_need(cc_bundle *b, const ccb_group *g)
{
    for (uint64_t off = g->lo; off < g->hi; off += WILLNEED_PIECE)
        posix_fadvise(b->data_fd, (off_t)off, (off_t)CC_MIN(WILLNEED_PIECE, g->hi - off),
                      POSIX_FADV_WILLNEED);
}

static void *prefetch_main(void *arg)
{
    cc_bundle *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (b->pending < 0 && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
        if (b->stop) break;
        long g = b->pending;
        b->pending = -1;
        pthread_mutex_unlock(&b->mu);
        will_need(b, &b->groups[g]);   /* advisory: failures only cost speed */
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

cc_status ccb_stream_start(cc_bundle *b)
{
    if (pthread_mutex_init(&b->mu, NULL) != 0 || pthread_cond_init(&b->cv, NULL) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "prefetch thread: mutex init failed");
    b->pending = -1;
    b->stop = false;
    int rc = pthread_create(&b->prefetch_thread, NULL, b->direct ? ccb_direct_main : prefetch_main, b);
    if (rc != 0) return cc_error_set(CC_ERR_INTERNAL, "starting the prefetch thread: %s", strerror(rc));
    b->prefetch_on = true;
    return CC_OK;
}

void ccb_stream_stop(cc_bundle *b)
{
    if (!b->prefetch_on) return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->prefetch_thread, NULL);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    b->prefetch_on = false;
}

static void prefetch_group(cc_bundle *b, size_t g)
{
    if (!b->prefetch_on) return;
    pthread_mutex_lock(&b->mu);
    b->pending = (long)g;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

cc_status cc_bundle_acquire(cc_bundle *b, int layer, cc_bundle_layer *out)
{
    memset(out, 0, sizeof *out);
    const int L = b->h.config.n_layers;
    if (layer < -1 || layer > L)
        return cc_error_set(CC_ERR_ARG, "acquire: layer %d outside -1..%d", layer, L);
    if (b->held != CCB_NO_LAYER)
        return cc_error_set(CC_ERR_ARG, "acquire layer %d: layer %d is still held (release it first)",
                            layer, b->held);
    const size_t g = (size_t)(layer + 1);
    const ccb_group *gr = &b->groups[g];
    const size_t next = (g + 1) % b->n_groups;   /* after the head: the embedding again */
    /* the byte at file offset o is stored[o - stored_at] */
    const uint8_t *stored = b->map;
    uint64_t stored_at = 0;
    if (b->direct && gr->hi > gr->lo) {
        CC_TRY(ccb_direct_acquire(b, g, next, &stored));
        stored_at = gr->lo;
    } else if (gr->hi > gr->lo) {
        /* Reading a mapped page past the end of a file that shrank kills the
         * process (SIGBUS).  Check the file is still whole before handing
         * out its pages: a truncation while the party runs becomes an error
         * at the next layer.  (One truncated in the middle of a layer's
         * computation cannot be caught; DEPLOY.md: replace by rename.) */
        struct stat st;
        if (fstat(b->data_fd, &st) != 0)
            return cc_error_set(CC_ERR_IO, "stat %s: %s", b->data_path, strerror(errno));
        if ((uint64_t)st.st_size < (uint64_t)b->map_len)
            return cc_error_set(CC_ERR_IO, "%s was truncated to %lld bytes while in use (the "
                                "bundle needs %zu): restart the party with an intact bundle",
                                b->data_path, (long long)st.st_size, b->map_len);
        /* Fault the stored planes in now, in one call, so the caller's
         * kernels never stall on a page fault.  Older kernels lack
         * POPULATE_READ; then pages fault in on first touch. */
        void *p = (void *)(b->map + gr->lo);
        size_t n = (size_t)(gr->hi - gr->lo);
        will_need(b, gr);   /* no-op when the prefetch thread already read it */
        if (madvise(p, n, MADV_POPULATE_READ) != 0 && errno != EINVAL)
            return cc_error_set(CC_ERR_IO, "reading layer %d of %s: %s%s", layer, b->data_path,
                                strerror(errno), errno == EFAULT ? " (file truncated?)" : "");
    }
    /* Then start on the next layer in use order (after the head comes the
     * embedding again, for the next generated token), so the two reads do
     * not compete. */
    if (!b->direct) prefetch_group(b, next);

    uint64_t *slot = b->buf;
    for (size_t i = gr->first; i < gr->first + gr->count; i++) {
        const ccb_entry *e = &b->e[i];
        cc_share_tensor *v = &b->views[i];
        for (unsigned pl = 0; pl < 2; pl++) {
            if (b->h.plane_kind[pl] == CCB_PLANE_STORED) {
                v->share[pl] = (const uint64_t *)(stored + (e->offset - stored_at));
            } else if (ccb_generated(b, e)) {
                v->share[pl] = NULL;   /* the user generates it (cc_bundle_plane_prg) */
            } else {
                cc_prg prg;
                cc_prg_init(&prg, b->seed + 16 * pl, e->stream);
                cc_prg_u64(&prg, 0, (size_t)e->n_elems, slot);
                cc_prg_wipe(&prg);
                v->share[pl] = slot;
                slot += (e->n_elems + 7) / 8 * 8;
            }
        }
    }
    b->held = layer;
    out->layer = layer;
    out->n_tensors = gr->count;
    out->tensors = &b->views[gr->first];
    return CC_OK;
}

cc_status cc_bundle_release(cc_bundle *b, int layer)
{
    if (b->held != layer)
        return cc_error_set(CC_ERR_ARG, "release layer %d: it is not the layer held (%d)", layer,
                            b->held == CCB_NO_LAYER ? -2 : b->held);
    const size_t g = (size_t)(layer + 1);
    const ccb_group *gr = &b->groups[g];
    if (b->direct) {
        ccb_direct_release(b);   /* nothing of the file is mapped or cached */
    } else {
        ccb_unmap_range(b, gr->lo, gr->hi);
        /* the layer released before this one leaves the page cache now (see
         * the top of this file); never the one the prefetch thread is reading */
        long prev = b->released;
        if (prev >= 0 && (size_t)prev != g && (size_t)prev != (g + 1) % b->n_groups)
            ccb_uncache_range(b, b->groups[prev].lo, b->groups[prev].hi);
        b->released = (long)g;
    }
    for (size_t i = gr->first; i < gr->first + gr->count; i++)
        b->views[i].share[0] = b->views[i].share[1] = NULL;
    b->held = CCB_NO_LAYER;
    return CC_OK;
}

const cc_share_tensor *cc_bundle_layer_find(const cc_bundle_layer *l, const char *name)
{
    for (size_t i = 0; i < l->n_tensors; i++)
        if (strcmp(l->tensors[i].name, name) == 0) return &l->tensors[i];
    return NULL;
}

cc_status cc_bundle_find(const cc_bundle *b, const char *name, size_t *index)
{
    for (size_t i = 0; i < b->h.n_tensors; i++)
        if (strcmp(b->views[i].name, name) == 0) {
            *index = i;
            return CC_OK;
        }
    return cc_error_set(CC_ERR_FORMAT, "bundle has no tensor '%s'", name);
}

const cc_share_tensor *cc_bundle_tensor(const cc_bundle *b, size_t index)
{
    return index < b->h.n_tensors ? &b->views[index] : NULL;
}

bool cc_bundle_plane_prg(const cc_bundle *b, size_t index, unsigned plane, cc_prg *prg)
{
    if (index >= b->h.n_tensors || plane > 1 || b->h.plane_kind[plane] != CCB_PLANE_SEED)
        return false;
    if (prg) cc_prg_init(prg, b->seed + 16 * plane, b->e[index].stream);
    return true;
}
