/* Loader, part 1: open a party's bundle, check everything that can be
 * checked, map the explicit share read-only (docs/BUNDLES.md).
 * Streaming (acquire/release/prefetch) is in bundle_stream.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "bundle_impl.h"
#include "core.h"

#define VERIFY_CHUNK ((uint64_t)64 << 20)   /* hash and drop 64 MiB at a time */

static void file_id_of(const struct stat *st, cc_bundle_file_id *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A party that validated its bundle at start-up must serve exactly those
 * bytes: a file renamed over, rewritten in place or truncated since then is
 * refused here, before anything is read from or mapped over it. */
static cc_status check_file_id(const char *path, const struct stat *st,
                               const cc_bundle_file_id *want)
{
    cc_bundle_file_id got;
    file_id_of(st, &got);
    if (got.dev == want->dev && got.ino == want->ino && got.size == want->size &&
        got.mtime_ns == want->mtime_ns)
        return CC_OK;
    bool moved = got.dev != want->dev || got.ino != want->ino;
    char sizes[96] = "";
    if (got.size != want->size)
        snprintf(sizes, sizeof sizes, " (now %llu bytes, was %llu)", (unsigned long long)got.size,
                 (unsigned long long)want->size);
    return cc_error_set(CC_ERR_MISMATCH, "%s was %s since this party validated it%s: restart the "
                        "party to serve a new bundle", path,
                        moved ? "replaced by another file" : got.size < want->size ? "truncated"
                        : got.size != want->size ? "resized" : "modified", sizes);
}

static cc_status read_small_file(const char *path, const cc_bundle_file_id *want,
                                 cc_bundle_file_id *id, uint8_t **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cc_error_set(CC_ERR_IO, "opening %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    }
    file_id_of(&st, id);
    if (want) {
        cc_status s = check_file_id(path, &st, want);
        if (s != CC_OK) { close(fd); return s; }
    }
    size_t max = ccb_file_bytes(CCB_MAX_TENSORS);
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return cc_error_set(CC_ERR_FORMAT, "%s: %lld bytes is too large for a party file", path,
                            (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = cc_alloc(n ? n : 1);
    if (!buf) { close(fd); return cc_error_wrap(CC_ERR_NOMEM, "reading %s", path); }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            close(fd);
            cc_free(buf);
            return cc_error_set(CC_ERR_IO, "reading %s: %s", path, r ? strerror(errno) : "short read");
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return CC_OK;
}

/* Party file path: the argument itself, or party<p>.ccb inside a directory. */
static cc_status resolve_paths(const char *path, int party, const char *data_override,
                               const char *data_name, char **party_path, char **data_path)
{
    struct stat st;
    if (stat(path, &st) != 0) return cc_error_set(CC_ERR_IO, "bundle %s: %s", path, strerror(errno));
    size_t cap = strlen(path) + 80;
    char *pp = malloc(cap);
    if (!pp) return cc_error_set(CC_ERR_NOMEM, "path");
    if (S_ISDIR(st.st_mode)) snprintf(pp, cap, "%s/%s", path, cc_bundle_party_file(party));
    else snprintf(pp, cap, "%s", path);
    *party_path = pp;
    if (!data_name) return CC_OK;
    if (data_override) {
        *data_path = strdup(data_override);
    } else {
        const char *slash = strrchr(pp, '/');
        size_t dirlen = slash ? (size_t)(slash - pp) : 1;
        size_t dcap = dirlen + strlen(data_name) + 2;
        *data_path = malloc(dcap);
        if (*data_path) {
            if (slash) snprintf(*data_path, dcap, "%.*s/%s", (int)dirlen, pp, data_name);
            else snprintf(*data_path, dcap, "./%s", data_name);
        }
    }
    return *data_path ? CC_OK : cc_error_set(CC_ERR_NOMEM, "path");
}

static cc_status open_data_file(cc_bundle *b, const cc_bundle_file_id *want)
{
    const char *path = b->data_path;
    b->data_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->data_fd < 0)
        return cc_error_set(CC_ERR_IO, "opening the share data file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(b->data_fd, &st) != 0)
        return cc_error_set(CC_ERR_IO, "stat %s: %s", path, strerror(errno));
    file_id_of(&st, &b->id.data_file);
    if (want) CC_TRY(check_file_id(path, &st, want));
    uint64_t size = (uint64_t)st.st_size;
    if (size < b->h.data_bytes)
        return cc_error_set(CC_ERR_FORMAT, "%s is truncated: %llu bytes, the bundle needs %llu",
                            path, (unsigned long long)size, (unsigned long long)b->h.data_bytes);
    if (size > b->h.data_bytes)
        return cc_error_set(CC_ERR_FORMAT, "%s has %llu bytes, the bundle expects exactly %llu",
                            path, (unsigned long long)size, (unsigned long long)b->h.data_bytes);
    uint8_t head[CCW_DATA_START];
    ssize_t r = pread(b->data_fd, head, sizeof head, 0);
    if (r != (ssize_t)sizeof head)
        return cc_error_set(CC_ERR_IO, "reading the header of %s", path);
    CC_TRY(ccw_check_header(head, sizeof head, path, b->h.data_bytes, b->h.content_hash));
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, b->data_fd, 0);
    if (m == MAP_FAILED)
        return cc_error_set(CC_ERR_IO, "mapping %s: %s", path, strerror(errno));
    b->map = m;
    b->map_len = (size_t)size;
    /* The kernel's read-around on faults is a fallback only: the prefetch
     * thread reads whole layers ahead with WILLNEED. */
    posix_fadvise(b->data_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return CC_OK;
}

/* Hash every stored tensor, dropping pages behind us so a 54 GB check does
 * not fill memory. */
static cc_status verify_checksums(cc_bundle *b)
{
    for (uint32_t i = 0; i < b->h.n_tensors; i++) {
        const ccb_entry *e = &b->e[i];
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, 32);
        for (uint64_t pos = 0; pos < e->bytes; pos += VERIFY_CHUNK) {
            uint64_t len = CC_MIN(VERIFY_CHUNK, e->bytes - pos);
            crypto_generichash_update(&st, b->map + e->offset + pos, len);
            ccb_drop_range(b, e->offset + pos, e->offset + pos + len);
        }
        uint8_t sum[32];
        crypto_generichash_final(&st, sum, 32);
        if (sodium_memcmp(sum, e->checksum, 32) != 0)
            return cc_error_set(CC_ERR_FORMAT, "tensor %s: checksum mismatch in %s (the file is corrupt)",
                                e->name, b->data_path);
    }
    return CC_OK;
}

/* Layer groups, view skeletons and the seed buffer size. */
static cc_status build_groups(cc_bundle *b)
{
    const int L = b->h.config.n_layers;
    b->n_groups = (size_t)L + 2;
    b->groups = cc_calloc(b->n_groups, sizeof *b->groups);
    b->views = cc_calloc(b->h.n_tensors, sizeof *b->views);
    if (!b->groups || !b->views) return cc_error_wrap(CC_ERR_NOMEM, "bundle tables");
    unsigned n_seed_planes = (b->h.plane_kind[0] == CCB_PLANE_SEED) + (b->h.plane_kind[1] == CCB_PLANE_SEED);
    uint64_t max_seed = 0;
    size_t i = 0;
    for (size_t g = 0; g < b->n_groups; g++) {
        ccb_group *gr = &b->groups[g];
        gr->first = i;
        while (i < b->h.n_tensors && b->e[i].layer == (int)g - 1) {
            const ccb_entry *e = &b->e[i];
            cc_share_tensor *v = &b->views[i];
            v->name = e->name;
            v->layer = e->layer;
            v->ndim = (int)e->ndim;
            memcpy(v->shape, e->shape, sizeof v->shape);
            v->layout = (cc_bundle_layout)e->layout;
            v->K = (size_t)e->K;
            v->N = (size_t)e->N;
            v->n_elems = (size_t)e->n_elems;
            if (b->map) {   /* P0 maps nothing: its planes all come from seeds */
                if (gr->count == 0) gr->lo = e->offset;
                gr->hi = ccb_round_up_page(e->offset + e->bytes);
            }
            /* 64-byte aligned slots: kernels may use aligned loads */
            if (!ccb_generated(b, e))
                gr->seed_elems += n_seed_planes * ((e->n_elems + 7) / 8 * 8);
            gr->plane_bytes += 2 * e->bytes;
            gr->count++;
            i++;
        }
        max_seed = CC_MAX(max_seed, gr->seed_elems);
    }
    if (i != b->h.n_tensors)
        return cc_error_set(CC_ERR_INTERNAL, "bundle table grouping left tensors over");
    if (max_seed > 0) {
        if (max_seed > SIZE_MAX / 8) return cc_error_set(CC_ERR_NOMEM, "seed buffer too large");
        b->buf_bytes = (size_t)max_seed * 8;
        b->buf = cc_alloc_huge(b->buf_bytes);
        if (!b->buf)
            return cc_error_wrap(CC_ERR_NOMEM, "seed-expansion buffer of %zu bytes", b->buf_bytes);
    }
    return CC_OK;
}

static cc_status open_checked(cc_bundle *b, const char *path, const cc_bundle_open_options *opt)
{
    char *party_path = NULL;
    uint8_t *file = NULL;
    size_t len = 0;
    cc_status s = resolve_paths(path, opt->party, NULL, NULL, &party_path, NULL);
    const cc_bundle_identity *expect = opt->expect;
    if (s == CC_OK)
        s = read_small_file(party_path, expect ? &expect->party_file : NULL, &b->id.party_file, &file,
                            &len);
    if (s == CC_OK) s = ccb_decode(file, len, party_path, &b->h, &b->e);
    if (file) { cc_wipe(file, len); cc_free(file); }   /* it held seeds */
    b->seed = cc_alloc(32);
    if (s == CC_OK && !b->seed) s = cc_error_wrap(CC_ERR_NOMEM, "seeds");
    if (b->seed) memcpy(b->seed, b->h.seed, 32);
    cc_wipe(b->h.seed, sizeof b->h.seed);
    if (s != CC_OK) { free(party_path); return s; }

    if ((int)b->h.party != opt->party)
        s = cc_error_set(CC_ERR_MISMATCH, "%s is party %u's bundle, this is party %d",
                         party_path, b->h.party, opt->party);
    else if (opt->frac_bits >= 0 && (unsigned)opt->frac_bits != b->h.frac_bits)
        s = cc_error_set(CC_ERR_MISMATCH, "%s was made with f = %u fractional bits, this run uses f = %d",
                         party_path, b->h.frac_bits, opt->frac_bits);
    else if (b->h.pack_fingerprint != ccb_pack_fingerprint())
        s = cc_error_set(CC_ERR_MISMATCH, "%s was written for a different packed GEMM layout than "
                         "this build's (re-run caracal-share)", party_path);
    if (s == CC_OK && b->h.party != 0) {
        uint8_t want[32];
        ccb_content_hash(&b->h, b->e, want);
        if (sodium_memcmp(want, b->h.content_hash, 32) != 0)
            s = cc_error_set(CC_ERR_FORMAT, "%s: content hash does not match its tensor table", party_path);
    }
    if (s == CC_OK && b->h.party != 0) {
        char *dummy = NULL;
        s = resolve_paths(path, opt->party, opt->data_path, b->h.data_file, &dummy, &b->data_path);
        free(dummy);
        if (s == CC_OK) s = open_data_file(b, expect ? &expect->data_file : NULL);
        if (s == CC_OK && opt->verify) s = verify_checksums(b);
    }
    if (s == CC_OK) s = build_groups(b);
    b->party_path = party_path;   /* freed at close */
    return s;
}

cc_status cc_bundle_open(const char *path, const cc_bundle_open_options *opt, cc_bundle **out)
{
    *out = NULL;
    if (sodium_init() < 0) return cc_error_set(CC_ERR_INTERNAL, "libsodium failed to initialise");
    if (!path || !opt) return cc_error_set(CC_ERR_ARG, "cc_bundle_open: missing argument");
    if (opt->party < 0 || opt->party > 2)
        return cc_error_set(CC_ERR_ARG, "party %d is not 0, 1 or 2", opt->party);
    cc_bundle *b = cc_calloc(1, sizeof *b);
    if (!b) return cc_error_wrap(CC_ERR_NOMEM, "bundle");
    b->data_fd = -1;
    b->held = CCB_NO_LAYER;
    b->released = -1;
    b->pending = -1;
    b->keep_cached = opt->keep_cached;
    b->generate_packed = opt->generate_packed;
    b->direct_fd = -1;
    cc_status s = open_checked(b, path, opt);
    if (s == CC_OK && opt->direct_read && b->map) s = ccb_direct_setup(b);
    if (s == CC_OK && !opt->no_prefetch && b->map) s = ccb_stream_start(b);
    if (s != CC_OK) {
        cc_error_wrap(s, "loading bundle %s", path);
        cc_bundle_close(b);
        return s;
    }
    *out = b;
    return CC_OK;
}

void cc_bundle_identity_of(const cc_bundle *b, cc_bundle_identity *out)
{
    *out = b->id;
}

/* A party that keeps its bundle open across jobs serves what it validated
 * at start-up, through the descriptor and mapping it holds.  The open file
 * shrinking would make that mapping fault (SIGBUS); a file renamed over or
 * rewritten under the same path means the operator installed another
 * bundle, which this process has not validated and would not serve until
 * restarted.  Either way the job is refused with the cause named. */
cc_status cc_bundle_check_files(const cc_bundle *b)
{
    struct stat st;
    if (stat(b->party_path, &st) != 0)
        return cc_error_set(CC_ERR_IO, "%s: %s (it was there when this party validated it)",
                            b->party_path, strerror(errno));
    CC_TRY(check_file_id(b->party_path, &st, &b->id.party_file));
    if (b->data_fd < 0) return CC_OK;   /* P0: no data file */
    if (fstat(b->data_fd, &st) != 0)
        return cc_error_set(CC_ERR_IO, "stat %s: %s", b->data_path, strerror(errno));
    CC_TRY(check_file_id(b->data_path, &st, &b->id.data_file));
    if (stat(b->data_path, &st) != 0)
        return cc_error_set(CC_ERR_IO, "%s: %s (it was there when this party validated it)",
                            b->data_path, strerror(errno));
    return check_file_id(b->data_path, &st, &b->id.data_file);
}

void cc_bundle_close(cc_bundle *b)
{
    if (!b) return;
    ccb_stream_stop(b);
    ccb_direct_free(b);
    if (b->map) {
        ccb_drop_range(b, 0, b->map_len);
        munmap((void *)b->map, b->map_len);
    }
    if (b->data_fd >= 0) close(b->data_fd);
    /* The seed buffer is an anonymous mapping: munmap hands its pages back
     * to the kernel, which zeroes them before any reuse, so a byte-wise wipe
     * of up to a layer (1.6 GB for LLaMA-7B) would buy nothing. */
    if (b->buf) cc_free_huge(b->buf, b->buf_bytes);
    if (b->seed) { cc_wipe(b->seed, 32); cc_free(b->seed); }
    free(b->data_path);
    free(b->party_path);
    cc_free(b->views);
    cc_free(b->groups);
    cc_free(b->e);
    cc_wipe(b, sizeof *b);
    cc_free(b);
}

int cc_bundle_party(const cc_bundle *b) { return (int)b->h.party; }
unsigned cc_bundle_frac_bits(const cc_bundle *b) { return b->h.frac_bits; }
const cc_model_config *cc_bundle_config(const cc_bundle *b) { return &b->h.config; }
const uint8_t *cc_bundle_content_hash(const cc_bundle *b) { return b->h.content_hash; }

cc_status cc_bundle_check_peer(const cc_bundle *b, const uint8_t peer_hash[CC_BUNDLE_HASH_BYTES],
                               const char *peer_name)
{
    if (sodium_memcmp(b->h.content_hash, peer_hash, CC_BUNDLE_HASH_BYTES) == 0) return CC_OK;
    char mine[17], theirs[17];
    sodium_bin2hex(mine, sizeof mine, b->h.content_hash, 8);
    sodium_bin2hex(theirs, sizeof theirs, peer_hash, 8);
    return cc_error_set(CC_ERR_MISMATCH, "%s loaded a different model's bundle (content hash %s..., "
                        "ours %s...): all parties must use bundles from one caracal-share run",
                        peer_name ? peer_name : "peer", theirs, mine);
}

uint64_t cc_bundle_layer_bytes(const cc_bundle *b, int layer)
{
    long g = (long)layer + 1;
    if (g < 0 || (size_t)g >= b->n_groups) return 0;
    return b->groups[g].plane_bytes;
}

uint64_t cc_bundle_max_layer_bytes(const cc_bundle *b)
{
    uint64_t m = 0;
    for (size_t g = 0; g < b->n_groups; g++) m = CC_MAX(m, b->groups[g].plane_bytes);
    return m;
}
