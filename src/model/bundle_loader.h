/* The loader's state, shared by loader.c (open, verify, close) and
 * loader_stream.c (acquire, release, prefetch thread).  Private. */
#ifndef CARACAL_MODEL_BUNDLE_LOADER_H
#define CARACAL_MODEL_BUNDLE_LOADER_H

#include <pthread.h>
#include <stdbool.h>
#include "bundle_format.h"

#define CCB_NO_LAYER (-1000)

/* Tensors of one layer are contiguous in the table and in the data file. */
typedef struct ccb_group {
    size_t first, count;       /* table range */
    uint64_t lo, hi;           /* byte range of the stored data, page-aligned (lo == hi: none) */
    uint64_t seed_elems;       /* u64 slots this layer needs in the seed buffer */
    uint64_t plane_bytes;      /* both planes, all tensors */
} ccb_group;

struct cc_bundle {
    ccb_header h;              /* seeds wiped from here; see seed[] */
    ccb_entry *e;
    cc_share_tensor *views;
    size_t n_groups;           /* n_layers + 2: group g is layer g - 1 */
    ccb_group *groups;
    uint8_t *seed;             /* [2][16], cc_alloc'ed, wiped at close */
    char *data_path;
    int data_fd;
    const uint8_t *map;        /* whole data file, read-only */
    size_t map_len;
    uint64_t *buf;             /* reusable seed-expansion buffer */
    size_t buf_bytes;
    int held;                  /* layer currently acquired, or CCB_NO_LAYER */
    bool keep_cached;          /* release: no POSIX_FADV_DONTNEED */

    /* prefetch thread: madvise(WILLNEED) on the group it is handed */
    bool prefetch_on;
    pthread_t prefetch_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long pending;              /* group index to prefetch, or -1 */
    bool stop;
};

cc_status ccb_stream_start(cc_bundle *b);
void ccb_stream_stop(cc_bundle *b);
/* Drop [lo, hi) of the data file from this process and the page cache. */
void ccb_drop_range(cc_bundle *b, uint64_t lo, uint64_t hi);

#endif
