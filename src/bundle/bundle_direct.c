/* Loader, part 3: the stored plane read into buffers (open option
 * direct_read; docs/BUNDLES.md, "Streaming").
 *
 * Why: filling the page cache is not free.  On the development VM a
 * buffered sequential read of w2.ccw runs at 0.41 GB/s while O_DIRECT reads
 * of 16 MiB run at 1.3 GB/s (two readers at once: 0.66 GB/s each), so a
 * 54 GB pass through the mapping is bound by the page cache, not the disk.
 * In direct mode each layer's stored bytes are read with O_DIRECT into one
 * of two slots the size of the largest layer: the reader thread fills the
 * next layer's slot while the caller computes on the current one.
 *
 * Costs: two layers of the stored plane stay resident (3.2 GB for
 * LLaMA-7B), and parties sharing a host no longer share the page cache (each
 * reads the file itself).  Gain besides speed: bytes come from pread, so a
 * file truncated under a running party is an error naming the cause at the
 * next read, never a SIGBUS in the middle of a layer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle_impl.h"
#include "core.h"

#define DIRECT_PIECE ((size_t)16 << 20)   /* bytes per pread */

cc_status ccb_direct_setup(cc_bundle *b)
{
    b->direct_fd = -1;
    b->held_slot = -1;
    b->dwant = -1;
    for (int k = 0; k < 2; k++) b->dgroup[k] = -1;
    uint64_t largest = 0;
    for (size_t g = 0; g < b->n_groups; g++)
        largest = CC_MAX(largest, b->groups[g].hi - b->groups[g].lo);
    if (largest == 0) return CC_OK;                 /* P0: nothing stored */
    /* O_DIRECT wants aligned buffers, offsets and lengths: cc_alloc_huge is
     * 2 MiB aligned, and every group starts and ends on a 4 KiB page. */
    b->direct_fd = open(b->data_path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (b->direct_fd < 0 && errno == EINVAL)        /* tmpfs and the like */
        b->direct_fd = open(b->data_path, O_RDONLY | O_CLOEXEC);
    if (b->direct_fd < 0)
        return cc_error_set(CC_ERR_IO, "opening %s for reading: %s", b->data_path, strerror(errno));
    if (largest > SIZE_MAX) return cc_error_set(CC_ERR_NOMEM, "layer too large to buffer");
    b->dbuf_bytes = (size_t)largest;
    for (int k = 0; k < 2; k++) {
        b->dbuf[k] = cc_alloc_huge(b->dbuf_bytes);
        if (!b->dbuf[k])
            return cc_error_wrap(CC_ERR_NOMEM, "read buffer of %zu bytes", b->dbuf_bytes);
    }
    b->direct = true;
    return CC_OK;
}

void ccb_direct_free(cc_bundle *b)
{
    for (int k = 0; k < 2; k++)
        if (b->dbuf[k]) cc_free_huge(b->dbuf[k], b->dbuf_bytes);
    if (b->direct_fd >= 0) close(b->direct_fd);
    b->direct_fd = -1;
}

/* Group g's bytes into slot k.  Called without the lock (the slot is ours
 * while it is LOADING); a failure is described in derr[k]. */
static bool read_group(cc_bundle *b, size_t g, int k)
{
    const ccb_group *gr = &b->groups[g];
    const uint64_t end = CC_MIN(gr->hi, (uint64_t)b->map_len);   /* the file may end mid-page */
    uint64_t pos = gr->lo;
    while (pos < end) {
        size_t n = (size_t)CC_MIN((uint64_t)DIRECT_PIECE, gr->hi - pos);
        ssize_t r = pread(b->direct_fd, b->dbuf[k] + (pos - gr->lo), n, (off_t)pos);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(b->derr[k], sizeof b->derr[k], "reading layer %d of %s at byte %llu: %s",
                     (int)g - 1, b->data_path, (unsigned long long)pos, strerror(errno));
            return false;
        }
        if (r == 0) {
            snprintf(b->derr[k], sizeof b->derr[k], "%s ends at byte %llu while in use (the bundle "
                     "needs %zu): it was truncated; restart the party with an intact bundle",
                     b->data_path, (unsigned long long)pos, b->map_len);
            return false;
        }
        pos += (uint64_t)r;
    }
    return true;
}

void *ccb_direct_main(void *arg)
{
    cc_bundle *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (b->dwant < 0 && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
        if (b->stop) break;
        size_t g = (size_t)b->dwant;
        int k = b->dwant_slot;
        b->dwant = -1;
        pthread_mutex_unlock(&b->mu);
        bool ok = read_group(b, g, k);
        pthread_mutex_lock(&b->mu);
        b->dstate[k] = ok ? CCB_SLOT_READY : CCB_SLOT_FAILED;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* With the lock held: start reading group g into slot k (k not held, not
 * loading).  Without a reader thread the read happens here and now. */
static void start_read(cc_bundle *b, size_t g, int k)
{
    b->dgroup[k] = (long)g;
    b->dstate[k] = CCB_SLOT_LOADING;
    if (b->prefetch_on) {
        b->dwant = (long)g;
        b->dwant_slot = k;
        pthread_cond_broadcast(&b->cv);
        return;
    }
    bool ok = read_group(b, g, k);   /* single-threaded: no lock is taken */
    b->dstate[k] = ok ? CCB_SLOT_READY : CCB_SLOT_FAILED;
}

static void lock(cc_bundle *b) { if (b->prefetch_on) pthread_mutex_lock(&b->mu); }
static void unlock(cc_bundle *b) { if (b->prefetch_on) pthread_mutex_unlock(&b->mu); }
static void wait_change(cc_bundle *b) { pthread_cond_wait(&b->cv, &b->mu); }

cc_status ccb_direct_acquire(cc_bundle *b, size_t g, size_t next, const uint8_t **bytes)
{
    lock(b);
    int k = b->dgroup[0] == (long)g ? 0 : b->dgroup[1] == (long)g ? 1 : -1;
    if (k < 0 || b->dstate[k] == CCB_SLOT_FAILED) {
        /* not read ahead (first layer, a jump, or a failed read to retry):
         * take a slot that is not being read into, waiting for one if both are */
        while (b->dstate[0] == CCB_SLOT_LOADING && b->dstate[1] == CCB_SLOT_LOADING) wait_change(b);
        if (k < 0) k = b->dstate[0] == CCB_SLOT_LOADING ? 1 : 0;
        if (b->dstate[k] == CCB_SLOT_LOADING) k = 1 - k;
        start_read(b, g, k);
    }
    while (b->dstate[k] == CCB_SLOT_LOADING) wait_change(b);
    if (b->dstate[k] == CCB_SLOT_FAILED) {
        char why[sizeof b->derr[0]];
        memcpy(why, b->derr[k], sizeof why);
        b->dstate[k] = CCB_SLOT_FREE;
        b->dgroup[k] = -1;
        unlock(b);
        return cc_error_set(CC_ERR_IO, "%s", why);
    }
    b->dstate[k] = CCB_SLOT_HELD;
    b->held_slot = k;
    /* read the next layer into the other slot while this one is used */
    int o = 1 - k;
    if (b->prefetch_on && next != g && b->dstate[o] != CCB_SLOT_LOADING &&
        !(b->dgroup[o] == (long)next && b->dstate[o] == CCB_SLOT_READY))
        start_read(b, next, o);
    unlock(b);
    *bytes = b->dbuf[k];
    return CC_OK;
}

void ccb_direct_release(cc_bundle *b)
{
    lock(b);
    if (b->held_slot >= 0) b->dstate[b->held_slot] = CCB_SLOT_READY;   /* still valid, reusable */
    b->held_slot = -1;
    unlock(b);
}
