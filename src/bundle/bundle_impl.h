/* bundle (private) — the on-disk layout of share bundles (docs/BUNDLES.md)
 * and the loader's state.
 *
 * The converter (bundle_write.c) and the loader (bundle_loader.c,
 * bundle_stream.c) both go through the encoders/decoders below so the byte
 * layout is written down exactly once.  All integers are little-endian. */
#ifndef CARACAL_BUNDLE_IMPL_H
#define CARACAL_BUNDLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "bundle.h"

#define CCB_MAGIC           "CARACALB"   /* party file */
#define CCW_MAGIC           "CARACALW"   /* explicit-share data file */
#define CCB_HEADER_BYTES    512u
#define CCB_ENTRY_BYTES     192u
#define CCW_DATA_START      4096u        /* first tensor in the data file */
#define CCB_PAGE            4096u        /* tensor alignment in the data file */
#define CCB_MAX_TENSORS     (1u << 20)
#define CCB_DATA_FILE_NAME  "w2.ccw"
#define CCB_NAME_FIELD      64u          /* = CC_TENSOR_NAME_MAX */

/* What a party holds for one of its two share planes. */
enum { CCB_PLANE_SEED = 0, CCB_PLANE_STORED = 1 };

typedef struct ccb_entry {
    char name[CCB_NAME_FIELD];
    int32_t layer;               /* -1 .. n_layers */
    uint32_t layout;             /* cc_bundle_layout */
    uint32_t ndim;
    int64_t shape[CC_TENSOR_MAX_DIMS];
    uint64_t K, N;               /* packed-B: op(B) is K×N; plain: 0, 0 */
    uint64_t n_elems;            /* stored u64 elements (packed size incl. padding) */
    uint64_t offset;             /* byte offset in the data file (page-aligned) */
    uint64_t bytes;              /* n_elems * 8 */
    uint64_t stream;             /* PRG stream id of the seed-derived shares */
    uint8_t checksum[32];        /* BLAKE2b-256 of the stored w2 bytes (zero in P0's file) */
} ccb_entry;

typedef struct ccb_header {
    uint32_t version;
    uint32_t party;
    uint32_t ring_bits;
    uint32_t frac_bits;
    uint32_t n_tensors;
    uint32_t entry_bytes;
    cc_model_config config;
    uint8_t content_hash[32];
    uint8_t salt[32];            /* zero in P0's file (docs/BUNDLES.md, "what P0 must not see") */
    uint32_t plane_kind[2];      /* plane 0 = w_i, plane 1 = w_{i+1} */
    uint8_t seed[2][16];         /* for CCB_PLANE_SEED planes; zero otherwise */
    uint64_t pack_fingerprint;   /* cc_ring_pack_b layout check, see ccb_pack_fingerprint */
    uint64_t data_bytes;         /* exact size of the data file (0 for P0) */
    char data_file[64];
    uint8_t header_checksum[32]; /* BLAKE2b-256 of the whole party file, this field zeroed */
} ccb_header;

/* Offsets of the fields the tests patch (version, checksum). */
#define CCB_OFF_VERSION   8u
#define CCB_OFF_PARTY     12u
#define CCB_OFF_FRAC      20u
#define CCB_OFF_CHECKSUM  280u

/* Serialise header + table into buf (CCB_HEADER_BYTES + n*CCB_ENTRY_BYTES),
 * computing header_checksum over the result. */
size_t ccb_file_bytes(uint32_t n_tensors);
void ccb_encode(const ccb_header *h, const ccb_entry *e, uint8_t *buf);
/* Checks the magic and version first (an older/newer file is reported as
 * such, not as corrupt), then sizes and the header checksum, then decodes.
 * `what` names the file in errors.  *entries is cc_alloc'ed. */
cc_status ccb_decode(const uint8_t *buf, size_t len, const char *what,
                     ccb_header *h, ccb_entry **entries);

/* Data file header: magic, version, total bytes, content hash. */
void ccw_encode_header(uint64_t file_bytes, const uint8_t content_hash[32],
                       uint8_t out[CCW_DATA_START]);
cc_status ccw_check_header(const uint8_t *buf, size_t len, const char *what,
                           uint64_t expect_bytes, const uint8_t expect_hash[32]);

/* The model identity all three parties agree on: BLAKE2b-256 over a domain
 * tag, the salt, ring bits, f, the config, the pack fingerprint and every
 * table entry (including the w2 checksums).  Only P1 and P2 can recompute
 * it; P0 carries it (its file has neither salt nor checksums). */
void ccb_content_hash(const ccb_header *h, const ccb_entry *e, uint8_t out[32]);

/* A 64-bit fingerprint of cc_ring_pack_b's layout (packs a fixed odd-sized
 * matrix of distinct values and hashes the result), so a bundle made by a
 * build with another packed layout is refused instead of computing garbage. */
uint64_t ccb_pack_fingerprint(void);

/* Planes party p holds: plane 0 is w_p, plane 1 is w_{p+1}. Share 2 is the
 * stored one, shares 0 and 1 come from seeds s0 and s1. */
static inline unsigned ccb_share_of_plane(unsigned party, unsigned plane)
{ return (party + plane) % 3; }

static inline uint64_t ccb_round_up_page(uint64_t x)
{ return (x + CCB_PAGE - 1) / CCB_PAGE * CCB_PAGE; }

/* ---- converter internals (bundle_write.c) -----------------------------------
 * cc_bundle_write with the seeds and salt given instead of drawn from the OS
 * RNG: s0, s1 (16 bytes each) then the salt (32).  For tests that need the
 * same bytes twice (thread-count independence); never for real bundles. */
#define CCB_FIXED_RANDOM 64u
cc_status ccb_write(const cc_tensor_source *src, const char *out_dir,
                    const cc_bundle_write_options *opt, const uint8_t fixed[CCB_FIXED_RANDOM]);
/* The converter's float -> fixed point: exactly cc_fxp_encode_f32's values;
 * false if any value does not fit (then out is unspecified). */
bool ccb_encode_f32(size_t n, const float *x, unsigned f, uint64_t *out);

/* ---- the loader's state: bundle_loader.c (open, verify, close),
 * bundle_stream.c (acquire, release, prefetch thread) and bundle_direct.c
 * (the stored plane read into two buffers instead of mapped) ------------- */

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
    char *party_path;          /* as opened, for cc_bundle_check_files */
    char *data_path;
    int data_fd;
    const uint8_t *map;        /* whole data file, read-only */
    size_t map_len;
    uint64_t *buf;             /* reusable seed-expansion buffer */
    size_t buf_bytes;
    int held;                  /* layer currently acquired, or CCB_NO_LAYER */
    long released;             /* group released last, still in the page cache, or -1 */
    bool keep_cached;          /* release: no POSIX_FADV_DONTNEED */
    bool generate_packed;      /* packed seed planes are left to the user */
    cc_bundle_identity id;     /* the files as opened (data_file zero for P0) */

    /* direct reads (bundle_direct.c): a buffer slot per layer in use and
     * the one being read ahead */
    bool direct;
    int direct_fd;
    uint8_t *dbuf[2];
    size_t dbuf_bytes;
    long dgroup[2];            /* group in (or being read into) each slot, or -1 */
    int dstate[2];             /* ccb_slot_state */
    char derr[2][320];         /* why a read failed (the reader thread's words) */
    int held_slot;
    long dwant;                /* read job for the thread: group, or -1 */
    int dwant_slot;

    /* prefetch thread: madvise(WILLNEED) on the group it is handed, or in
     * direct mode the reader of the slot it is handed */
    bool prefetch_on;
    pthread_t prefetch_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long pending;              /* group index to prefetch, or -1 */
    bool stop;
};

/* A tensor whose seed planes acquire leaves unexpanded (generate_packed). */
static inline bool ccb_generated(const cc_bundle *b, const ccb_entry *e)
{
    return b->generate_packed && e->layout == CC_LAYOUT_PACKED_B;
}

typedef enum ccb_slot_state { CCB_SLOT_FREE, CCB_SLOT_LOADING, CCB_SLOT_READY, CCB_SLOT_FAILED,
                               CCB_SLOT_HELD } ccb_slot_state;

/* Direct mode (bundle_direct.c).  setup opens the data file for O_DIRECT
 * (buffered if the file system refuses it) and allocates the two slots;
 * acquire returns the slot holding group g's bytes [lo, hi) (reading them
 * now if the reader did not), and starts reading group `next` into the
 * other slot; release frees the held slot for reuse. */
cc_status ccb_direct_setup(cc_bundle *b);
cc_status ccb_direct_acquire(cc_bundle *b, size_t g, size_t next, const uint8_t **bytes);
void ccb_direct_release(cc_bundle *b);
void ccb_direct_free(cc_bundle *b);
void *ccb_direct_main(void *arg);   /* the reader thread */

cc_status ccb_stream_start(cc_bundle *b);
void ccb_stream_stop(cc_bundle *b);
/* [lo, hi) of the data file: out of this process (MADV_DONTNEED), out of
 * the page cache (POSIX_FADV_DONTNEED; not with keep_cached), or both. */
void ccb_unmap_range(cc_bundle *b, uint64_t lo, uint64_t hi);
void ccb_uncache_range(cc_bundle *b, uint64_t lo, uint64_t hi);
void ccb_drop_range(cc_bundle *b, uint64_t lo, uint64_t hi);

#endif
