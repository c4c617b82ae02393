/* bundle — seed-compressed weight shares on disk: the format, the converter
 * (any cc_tensor_source -> three party bundles), a synthetic tensor source,
 * and the mmap loader that streams one layer at a time.  The file format,
 * the seed compression and the security argument are in docs/BUNDLES.md.
 *
 * Party i holds the replicated pair (w_i, w_{i+1}) of every weight W =
 * w0 + w1 + w2 (mod 2^64, fixed point with f fractional bits).  w0 and w1 are
 * PRG outputs of seeds s0, s1 (one PRG stream per tensor, in stored order);
 * only w2 is written out.  A bundle directory holds party0.ccb (s0, s1),
 * party1.ccb (s1 + table), party2.ccb (s0 + table) and w2.ccw (the one
 * explicit share, used by P1 and P2). */
#ifndef CARACAL_BUNDLE_H
#define CARACAL_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "prg.h"

#define CC_BUNDLE_VERSION 1u
#define CC_BUNDLE_HASH_BYTES 32

/* How a tensor's elements are stored.  PACKED_B: the right operand of the
 * ring GEMM in cc_ring_pack_b's layout, op(B) = K×N (a linear layer [out][in]
 * has K = in, N = out; the token embedding [V][d], used as one-hot × E, has
 * K = V, N = d).  PLAIN: row-major in the tensor's own shape. */
typedef enum cc_bundle_layout { CC_LAYOUT_PLAIN = 0, CC_LAYOUT_PACKED_B = 1 } cc_bundle_layout;

/* LLaMA-shaped pseudo-random weights of realistic magnitude: linear layers
 * and embeddings ~ N(0, 1/dim) (std 1/sqrt(dim)), norm gains ~ 1 ± 0.05.
 * Deterministic in `seed`.  Only CC_ARCH_LLAMA geometries. */
cc_status cc_tensor_source_synthetic(const cc_model_config *c, const uint8_t seed[16],
                                     cc_tensor_source *out);

typedef struct cc_bundle_write_options {
    unsigned frac_bits;          /* f; 0 means the default 18 */
    int threads;                 /* conversion threads; 0: cc_thread_count().  The
                                    output is byte-identical for any count. */
    /* Called after each tensor is written, from the writer's own thread (one
     * call at a time): bytes of w2 written so far, of the total. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total, const char *tensor);
    void *progress_ctx;
} cc_bundle_write_options;

/* Converts `src` to fixed point, splits it into seed-compressed shares and
 * writes the bundle directory `out_dir` (created if missing; files are
 * written under temporary names, synced, renamed at the end and the
 * directory synced; on any error nothing is left under the final names, and
 * a disk too small for the data file is refused before converting).
 * Reading, converting and hashing/writing overlap (src->read is called from
 * a worker thread, one call at a time).  Seeds come from
 * the OS RNG and are wiped.  A weight outside the fixed-point range is
 * CC_ERR_RANGE naming the tensor.  Packed tensors: see cc_bundle_layout; a
 * tied LM head becomes its own packed tensor "lm_head.weight". */
cc_status cc_bundle_write(const cc_tensor_source *src, const char *out_dir,
                          const cc_bundle_write_options *opt);
/* File names inside a bundle directory (party 0..2). */
const char *cc_bundle_party_file(int party);   /* "party0.ccb", ... */

/* ---- loader ----------------------------------------------------------------
 * A cc_bundle is used by one thread at a time (its own prefetch thread aside). */
typedef struct cc_bundle cc_bundle;

/* A file as the file system names it.  A serving party records its bundle's
 * identity when it validates the bundle at start-up and requires the same
 * identity at every job: replacing a bundle means restarting the party
 * (docs/DEPLOY.md), and a file truncated or rewritten under it is refused
 * with a clear error instead of being mapped (a mapping of a truncated file
 * faults with SIGBUS). */
typedef struct cc_bundle_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
} cc_bundle_file_id;
typedef struct cc_bundle_identity {
    cc_bundle_file_id party_file, data_file;   /* data_file: zero for P0 (no w2) */
} cc_bundle_identity;

typedef struct cc_bundle_open_options {
    int party;            /* the party this process is; the bundle must match */
    int frac_bits;        /* expected f; -1 accepts the bundle's */
    bool verify;          /* BLAKE2b every stored tensor at open (reads all data) */
    bool no_prefetch;     /* no prefetch thread (tests, measurements) */
    bool keep_cached;     /* release unmaps but leaves pages in the page cache:
                             for models that fit in RAM and are streamed again
                             and again (the default drops them: 54 GB would not) */
    bool generate_packed; /* packed (linear) planes that come from a seed are not
                             expanded at acquire: share[pl] stays NULL and the
                             user generates them where they are consumed
                             (cc_bundle_plane_prg), as the GEMM does */
    bool direct_read;     /* read each layer's stored plane with O_DIRECT into one of
                             two buffers (the next layer read ahead) instead of
                             mapping it through the page cache: faster where
                             filling the page cache is slow; costs two layers of
                             resident memory (bundle_direct.c) */
    const char *data_path;/* the w2 data file; NULL: next to the party file */
    const cc_bundle_identity *expect; /* non-NULL: the files must still be these
                                         (device, inode, size, mtime) */
} cc_bundle_open_options;

/* `path` is a party file, or a bundle directory (then party<p>.ccb in it).
 * Checks magic, version, header checksum, party, f, ring, the packed layout,
 * table sanity, data file size and its content hash (and every tensor
 * checksum with verify).  Each failure is a distinct, named error. */
cc_status cc_bundle_open(const char *path, const cc_bundle_open_options *opt, cc_bundle **out);
void cc_bundle_close(cc_bundle *b);
/* The identity of the files b was opened from (for open_options.expect). */
void cc_bundle_identity_of(const cc_bundle *b, cc_bundle_identity *out);
/* For a bundle kept open across jobs: the files at its paths, and the data
 * file it has mapped, must still be the ones opened (device, inode, size,
 * mtime).  CC_ERR_MISMATCH naming the file and what changed (replaced,
 * truncated, resized, modified), CC_ERR_IO when one is gone. */
cc_status cc_bundle_check_files(const cc_bundle *b);

int cc_bundle_party(const cc_bundle *b);
unsigned cc_bundle_frac_bits(const cc_bundle *b);
const cc_model_config *cc_bundle_config(const cc_bundle *b);
/* The model identity all three parties agree on (config, f, tensor table and
 * w2 checksums, salted); exchange it at connect. */
const uint8_t *cc_bundle_content_hash(const cc_bundle *b);
/* CC_ERR_MISMATCH naming the peer when its hash differs from ours. */
cc_status cc_bundle_check_peer(const cc_bundle *b, const uint8_t peer_hash[CC_BUNDLE_HASH_BYTES],
                               const char *peer_name);

/* One tensor's two share planes as this party holds them. */
typedef struct cc_share_tensor {
    const char *name;
    int layer;
    int ndim;
    int64_t shape[CC_TENSOR_MAX_DIMS];
    cc_bundle_layout layout;
    size_t K, N;                 /* PACKED_B: op(B) is K×N */
    size_t n_elems;              /* u64 elements per plane (packed size incl. padding) */
    const uint64_t *share[2];    /* share[0] = w_i, share[1] = w_{i+1}; valid until release;
                                    NULL for a seed plane left to the user
                                    (open option generate_packed) */
} cc_share_tensor;

typedef struct cc_bundle_layer {
    int layer;                   /* -1: embeddings, 0..n_layers-1, n_layers: final norm, head */
    size_t n_tensors;
    const cc_share_tensor *tensors;
} cc_bundle_layer;

/* Makes layer `layer` (-1 .. n_layers) available: stored planes point into
 * the read-only mapping (faulted in), seed-derived planes are expanded into
 * one reusable buffer.  One layer is held at a time; the prefetch thread
 * starts reading the next layer (n_layers wraps to -1) meanwhile. */
cc_status cc_bundle_acquire(cc_bundle *b, int layer, cc_bundle_layer *out);
/* Drops the layer's pages from this process and the page cache. */
cc_status cc_bundle_release(cc_bundle *b, int layer);
const cc_share_tensor *cc_bundle_layer_find(const cc_bundle_layer *l, const char *name);
/* Looking a tensor up once, by its position in the table: the index of
 * `name` (CC_ERR_FORMAT naming it when absent), and the tensor at an index
 * (metadata always; planes only while its layer is acquired, else NULL). */
cc_status cc_bundle_find(const cc_bundle *b, const char *name, size_t *index);
const cc_share_tensor *cc_bundle_tensor(const cc_bundle *b, size_t index);
/* Whether plane `plane` (0: w_i, 1: w_{i+1}) of tensor `index` is derived
 * from a seed.  If so and `prg` is non-NULL, *prg becomes the keyed stream
 * whose elements 0..n_elems-1 are that plane (exactly what acquire expands);
 * the caller wipes it (cc_prg_wipe) when done. */
bool cc_bundle_plane_prg(const cc_bundle *b, size_t index, unsigned plane, cc_prg *prg);
/* Bytes of share planes (both planes) in layer `layer`, and the largest such
 * layer: what resident memory should stay near. */
uint64_t cc_bundle_layer_bytes(const cc_bundle *b, int layer);
uint64_t cc_bundle_max_layer_bytes(const cc_bundle *b);

#endif
