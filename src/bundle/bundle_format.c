/* Share bundle byte layout: encode, decode-and-validate, content hash.
 * The layout is documented field by field in docs/BUNDLES.md. */
#include <string.h>
#include <sodium.h>

#include "bundle_impl.h"
#include "core.h"
#include "ring.h"

/* ---- little-endian field access ------------------------------------------ */
static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get_u32(const uint8_t *p)
{ uint32_t v = 0; for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i); return v; }
static uint64_t get_u64(const uint8_t *p)
{ uint64_t v = 0; for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i); return v; }
static void put_f32(uint8_t *p, float f) { uint32_t v; memcpy(&v, &f, 4); put_u32(p, v); }
static float get_f32(const uint8_t *p) { uint32_t v = get_u32(p); float f; memcpy(&f, &v, 4); return f; }

/* ---- header field offsets (docs/BUNDLES.md, "party file") ---------------- */
enum {
    OFF_MAGIC = 0, OFF_VERSION = 8, OFF_PARTY = 12, OFF_RING = 16, OFF_FRAC = 20,
    OFF_NTENSORS = 24, OFF_ENTRY_BYTES = 28, OFF_CONFIG = 32, CONFIG_BYTES = 64,
    OFF_CONTENT = 96, OFF_SALT = 128, OFF_KIND = 160, OFF_SEED = 168,
    OFF_PACKFP = 200, OFF_DATA_BYTES = 208, OFF_DATA_FILE = 216, OFF_CHECKSUM = 280,
};
_Static_assert(OFF_CHECKSUM == CCB_OFF_CHECKSUM, "checksum offset");
_Static_assert(OFF_VERSION == CCB_OFF_VERSION && OFF_PARTY == CCB_OFF_PARTY &&
               OFF_FRAC == CCB_OFF_FRAC, "patched field offsets");

/* entry field offsets */
enum {
    E_NAME = 0, E_LAYER = 64, E_LAYOUT = 68, E_NDIM = 72, E_SHAPE = 80, E_K = 112,
    E_N = 120, E_NELEMS = 128, E_OFFSET = 136, E_BYTES = 144, E_STREAM = 152, E_SUM = 160,
};
_Static_assert(E_SUM + 32 == CCB_ENTRY_BYTES, "entry size");

static void encode_config(const cc_model_config *c, uint8_t *p)
{
    memset(p, 0, CONFIG_BYTES);
    const int32_t ints[] = { (int32_t)c->arch, c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                             c->n_kv_heads, c->vocab_size, c->max_seq_len, c->type_vocab_size,
                             c->n_classes, c->tied_embeddings ? 1 : 0 };
    for (size_t i = 0; i < CC_ARRAY_LEN(ints); i++) put_u32(p + 4 * i, (uint32_t)ints[i]);
    put_f32(p + 44, c->norm_eps);
    put_f32(p + 48, c->rope_theta);
}

static void decode_config(const uint8_t *p, cc_model_config *c)
{
    memset(c, 0, sizeof *c);
    c->arch = (cc_arch)get_u32(p);
    c->dim = (int32_t)get_u32(p + 4);
    c->hidden_dim = (int32_t)get_u32(p + 8);
    c->n_layers = (int32_t)get_u32(p + 12);
    c->n_heads = (int32_t)get_u32(p + 16);
    c->n_kv_heads = (int32_t)get_u32(p + 20);
    c->vocab_size = (int32_t)get_u32(p + 24);
    c->max_seq_len = (int32_t)get_u32(p + 28);
    c->type_vocab_size = (int32_t)get_u32(p + 32);
    c->n_classes = (int32_t)get_u32(p + 36);
    c->tied_embeddings = get_u32(p + 40) != 0;
    c->norm_eps = get_f32(p + 44);
    c->rope_theta = get_f32(p + 48);
}

static void encode_entry(const ccb_entry *e, uint8_t *p)
{
    memset(p, 0, CCB_ENTRY_BYTES);
    memcpy(p + E_NAME, e->name, strnlen(e->name, CCB_NAME_FIELD - 1));
    put_u32(p + E_LAYER, (uint32_t)e->layer);
    put_u32(p + E_LAYOUT, e->layout);
    put_u32(p + E_NDIM, e->ndim);
    for (int d = 0; d < CC_TENSOR_MAX_DIMS; d++) put_u64(p + E_SHAPE + 8 * d, (uint64_t)e->shape[d]);
    put_u64(p + E_K, e->K);
    put_u64(p + E_N, e->N);
    put_u64(p + E_NELEMS, e->n_elems);
    put_u64(p + E_OFFSET, e->offset);
    put_u64(p + E_BYTES, e->bytes);
    put_u64(p + E_STREAM, e->stream);
    memcpy(p + E_SUM, e->checksum, 32);
}

static void decode_entry(const uint8_t *p, ccb_entry *e)
{
    memset(e, 0, sizeof *e);
    memcpy(e->name, p + E_NAME, CCB_NAME_FIELD);
    e->layer = (int32_t)get_u32(p + E_LAYER);
    e->layout = get_u32(p + E_LAYOUT);
    e->ndim = get_u32(p + E_NDIM);
    for (int d = 0; d < CC_TENSOR_MAX_DIMS; d++) e->shape[d] = (int64_t)get_u64(p + E_SHAPE + 8 * d);
    e->K = get_u64(p + E_K);
    e->N = get_u64(p + E_N);
    e->n_elems = get_u64(p + E_NELEMS);
    e->offset = get_u64(p + E_OFFSET);
    e->bytes = get_u64(p + E_BYTES);
    e->stream = get_u64(p + E_STREAM);
    memcpy(e->checksum, p + E_SUM, 32);
}

size_t ccb_file_bytes(uint32_t n_tensors)
{
    return CCB_HEADER_BYTES + (size_t)n_tensors * CCB_ENTRY_BYTES;
}

void ccb_encode(const ccb_header *h, const ccb_entry *e, uint8_t *buf)
{
    size_t len = ccb_file_bytes(h->n_tensors);
    memset(buf, 0, CCB_HEADER_BYTES);
    memcpy(buf + OFF_MAGIC, CCB_MAGIC, 8);
    put_u32(buf + OFF_VERSION, h->version);
    put_u32(buf + OFF_PARTY, h->party);
    put_u32(buf + OFF_RING, h->ring_bits);
    put_u32(buf + OFF_FRAC, h->frac_bits);
    put_u32(buf + OFF_NTENSORS, h->n_tensors);
    put_u32(buf + OFF_ENTRY_BYTES, CCB_ENTRY_BYTES);
    encode_config(&h->config, buf + OFF_CONFIG);
    memcpy(buf + OFF_CONTENT, h->content_hash, 32);
    memcpy(buf + OFF_SALT, h->salt, 32);
    put_u32(buf + OFF_KIND, h->plane_kind[0]);
    put_u32(buf + OFF_KIND + 4, h->plane_kind[1]);
    memcpy(buf + OFF_SEED, h->seed, 32);
    put_u64(buf + OFF_PACKFP, h->pack_fingerprint);
    put_u64(buf + OFF_DATA_BYTES, h->data_bytes);
    memcpy(buf + OFF_DATA_FILE, h->data_file, strnlen(h->data_file, sizeof h->data_file - 1));
    for (uint32_t i = 0; i < h->n_tensors; i++)
        encode_entry(&e[i], buf + CCB_HEADER_BYTES + (size_t)i * CCB_ENTRY_BYTES);
    /* checksum field is zero while hashing */
    crypto_generichash(buf + OFF_CHECKSUM, 32, buf, len, NULL, 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

/* Every byte the writer leaves zero (unused header and config space, the
 * pad after ndim, unused dimensions, the bytes after a name's NUL) must read
 * zero: a file with anything there was not written by this format version,
 * so it is refused instead of being half understood. */
static bool padding_is_zero(const uint8_t *buf, uint32_t n_tensors)
{
    const uint8_t *cfg = buf + OFF_CONFIG;
    const char *file = (const char *)buf + OFF_DATA_FILE;
    size_t flen = strnlen(file, OFF_CHECKSUM - OFF_DATA_FILE);
    if (!all_zero(buf + OFF_CHECKSUM + 32, CCB_HEADER_BYTES - OFF_CHECKSUM - 32) ||
        !all_zero(cfg + 52, CONFIG_BYTES - 52) || get_u32(cfg + 40) > 1 ||
        !all_zero(buf + OFF_DATA_FILE + flen, OFF_CHECKSUM - OFF_DATA_FILE - flen))
        return false;
    for (uint32_t i = 0; i < n_tensors; i++) {
        const uint8_t *p = buf + CCB_HEADER_BYTES + (size_t)i * CCB_ENTRY_BYTES;
        size_t nlen = strnlen((const char *)p + E_NAME, CCB_NAME_FIELD);
        uint32_t ndim = get_u32(p + E_NDIM);
        if (!all_zero(p + E_NAME + nlen, CCB_NAME_FIELD - nlen) || !all_zero(p + E_NDIM + 4, 4))
            return false;
        if (ndim <= CC_TENSOR_MAX_DIMS &&
            !all_zero(p + E_SHAPE + 8 * ndim, 8 * (CC_TENSOR_MAX_DIMS - ndim)))
            return false;
    }
    return true;
}

/* Which planes each party stores: P0 none, P1 plane 1 (= w2), P2 plane 0 (= w2). */
static uint32_t expected_kind(uint32_t party, unsigned plane)
{
    return ccb_share_of_plane(party, plane) == 2 ? CCB_PLANE_STORED : CCB_PLANE_SEED;
}

static cc_status check_entry(const ccb_header *h, const ccb_entry *e, uint32_t i,
                             const ccb_entry *prev, const char *what)
{
    if (memchr(e->name, 0, CCB_NAME_FIELD) == NULL || e->name[0] == 0)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %u has no valid name", what, i);
    if (e->layer < -1 || e->layer > h->config.n_layers)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: layer %d outside -1..%d",
                            what, e->name, e->layer, h->config.n_layers);
    if (prev && e->layer < prev->layer)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s is not ordered by layer", what, e->name);
    if (e->ndim < 1 || e->ndim > CC_TENSOR_MAX_DIMS)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: %u dimensions", what, e->name, e->ndim);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < e->ndim; d++) {
        if (e->shape[d] <= 0 || e->shape[d] > (int64_t)1 << 40 ||
            numel > UINT64_MAX / (uint64_t)e->shape[d])
            return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: bad shape", what, e->name);
        numel *= (uint64_t)e->shape[d];
    }
    if (e->layout == CC_LAYOUT_PLAIN) {
        if (e->n_elems != numel)
            return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: %llu stored elements for %llu values",
                                what, e->name, (unsigned long long)e->n_elems,
                                (unsigned long long)numel);
    } else if (e->layout == CC_LAYOUT_PACKED_B) {
        if (e->K == 0 || e->N == 0 || e->K > numel || e->N > numel || e->K * e->N != numel)
            return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: packed %llux%llu does not match its shape",
                                what, e->name, (unsigned long long)e->K, (unsigned long long)e->N);
        size_t want = cc_ring_packed_size((size_t)e->K, (size_t)e->N);
        if (want % 8 != 0 || e->n_elems != want / 8)
            return cc_error_set(CC_ERR_FORMAT,
                                "%s: tensor %s: %llu stored elements, the packed layout needs %zu",
                                what, e->name, (unsigned long long)e->n_elems, want / 8);
    } else {
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: unknown layout %u", what, e->name, e->layout);
    }
    if (e->n_elems > UINT64_MAX / 8 || e->bytes != e->n_elems * 8)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: byte length is not 8 per element",
                            what, e->name);
    uint64_t min_off = prev ? ccb_round_up_page(prev->offset + prev->bytes) : CCW_DATA_START;
    if (e->offset % CCB_PAGE != 0 || e->offset < min_off || e->offset > h->data_bytes ||
        e->bytes > h->data_bytes - e->offset)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: data range [%llu, +%llu) is misplaced "
                            "(data file has %llu bytes)", what, e->name,
                            (unsigned long long)e->offset, (unsigned long long)e->bytes,
                            (unsigned long long)h->data_bytes);
    if (e->stream != i)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s: PRG stream %llu, expected %u",
                            what, e->name, (unsigned long long)e->stream, i);
    return CC_OK;
}

cc_status ccb_decode(const uint8_t *buf, size_t len, const char *what,
                     ccb_header *h, ccb_entry **entries)
{
    *entries = NULL;
    memset(h, 0, sizeof *h);
    if (len < 16 || memcmp(buf, CCB_MAGIC, 8) != 0)
        return cc_error_set(CC_ERR_FORMAT, "%s is not a Caracal share bundle (bad magic)", what);
    h->version = get_u32(buf + OFF_VERSION);
    if (h->version != CC_BUNDLE_VERSION)
        return cc_error_set(CC_ERR_MISMATCH, "%s: bundle format version %u, this build reads version %u",
                            what, h->version, CC_BUNDLE_VERSION);
    if (len < CCB_HEADER_BYTES)
        return cc_error_set(CC_ERR_FORMAT, "%s is truncated: %zu bytes, the header alone has %u",
                            what, len, CCB_HEADER_BYTES);
    h->n_tensors = get_u32(buf + OFF_NTENSORS);
    h->entry_bytes = get_u32(buf + OFF_ENTRY_BYTES);
    if (h->entry_bytes != CCB_ENTRY_BYTES || h->n_tensors == 0 || h->n_tensors > CCB_MAX_TENSORS)
        return cc_error_set(CC_ERR_FORMAT, "%s: corrupt header (%u tensors of %u bytes)",
                            what, h->n_tensors, h->entry_bytes);
    size_t want = ccb_file_bytes(h->n_tensors);
    if (len < want)
        return cc_error_set(CC_ERR_FORMAT, "%s is truncated: %zu bytes, expected %zu", what, len, want);
    if (len > want)
        return cc_error_set(CC_ERR_FORMAT, "%s has %zu trailing bytes after the tensor table",
                            what, len - want);

    /* whole-file checksum, computed with the checksum field zeroed */
    uint8_t stored[32], actual[32];
    memcpy(stored, buf + OFF_CHECKSUM, 32);
    crypto_generichash_state st;
    static const uint8_t zeros[32];
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, buf, OFF_CHECKSUM);
    crypto_generichash_update(&st, zeros, 32);
    crypto_generichash_update(&st, buf + OFF_CHECKSUM + 32, len - OFF_CHECKSUM - 32);
    crypto_generichash_final(&st, actual, 32);
    if (sodium_memcmp(stored, actual, 32) != 0)
        return cc_error_set(CC_ERR_FORMAT, "%s: header checksum mismatch (the file is corrupt)", what);
    memcpy(h->header_checksum, stored, 32);
    if (!padding_is_zero(buf, h->n_tensors))
        return cc_error_set(CC_ERR_FORMAT, "%s: reserved bytes are not zero (not written by "
                            "this format version)", what);

    h->party = get_u32(buf + OFF_PARTY);
    h->ring_bits = get_u32(buf + OFF_RING);
    h->frac_bits = get_u32(buf + OFF_FRAC);
    decode_config(buf + OFF_CONFIG, &h->config);
    memcpy(h->content_hash, buf + OFF_CONTENT, 32);
    memcpy(h->salt, buf + OFF_SALT, 32);
    h->plane_kind[0] = get_u32(buf + OFF_KIND);
    h->plane_kind[1] = get_u32(buf + OFF_KIND + 4);
    memcpy(h->seed, buf + OFF_SEED, 32);
    h->pack_fingerprint = get_u64(buf + OFF_PACKFP);
    h->data_bytes = get_u64(buf + OFF_DATA_BYTES);
    memcpy(h->data_file, buf + OFF_DATA_FILE, sizeof h->data_file);

    if (h->party > 2)
        return cc_error_set(CC_ERR_FORMAT, "%s: party %u is not 0, 1 or 2", what, h->party);
    if (h->ring_bits != 64)
        return cc_error_set(CC_ERR_MISMATCH, "%s: ring Z_2^%u, this build computes in Z_2^64",
                            what, h->ring_bits);
    if (h->frac_bits == 0 || h->frac_bits > 40)
        return cc_error_set(CC_ERR_FORMAT, "%s: fixed-point f = %u is out of range", what, h->frac_bits);
    for (unsigned pl = 0; pl < 2; pl++)
        if (h->plane_kind[pl] != expected_kind(h->party, pl))
            return cc_error_set(CC_ERR_FORMAT, "%s: plane %u of party %u has the wrong kind",
                                what, pl, h->party);
    if (memchr(h->data_file, 0, sizeof h->data_file) == NULL || h->data_file[0] == 0 ||
        strchr(h->data_file, '/') != NULL)
        return cc_error_set(CC_ERR_FORMAT, "%s: bad data file name", what);
    if (cc_config_validate(&h->config) != CC_OK)
        return cc_error_wrap(CC_ERR_FORMAT, "%s", what);
    if (h->party == 0 && !all_zero(h->salt, 32))
        return cc_error_set(CC_ERR_FORMAT, "%s: P0's bundle must not carry the salt", what);

    ccb_entry *e = cc_calloc(h->n_tensors, sizeof *e);
    if (!e) return cc_error_wrap(CC_ERR_NOMEM, "%s: tensor table", what);
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        decode_entry(buf + CCB_HEADER_BYTES + (size_t)i * CCB_ENTRY_BYTES, &e[i]);
        cc_status s = check_entry(h, &e[i], i, i ? &e[i - 1] : NULL, what);
        if (s != CC_OK) { cc_free(e); return s; }
        if (h->party == 0 && !all_zero(e[i].checksum, 32)) {
            cc_free(e);
            return cc_error_set(CC_ERR_FORMAT, "%s: P0's bundle must not carry w2 checksums", what);
        }
    }
    *entries = e;
    return CC_OK;
}

void ccw_encode_header(uint64_t file_bytes, const uint8_t content_hash[32], uint8_t out[CCW_DATA_START])
{
    memset(out, 0, CCW_DATA_START);
    memcpy(out, CCW_MAGIC, 8);
    put_u32(out + 8, CC_BUNDLE_VERSION);
    put_u64(out + 16, file_bytes);
    memcpy(out + 24, content_hash, 32);
}

cc_status ccw_check_header(const uint8_t *buf, size_t len, const char *what,
                           uint64_t expect_bytes, const uint8_t expect_hash[32])
{
    if (len < CCW_DATA_START || memcmp(buf, CCW_MAGIC, 8) != 0)
        return cc_error_set(CC_ERR_FORMAT, "%s is not a Caracal share data file (bad magic)", what);
    uint32_t v = get_u32(buf + 8);
    if (v != CC_BUNDLE_VERSION)
        return cc_error_set(CC_ERR_MISMATCH, "%s: data file format version %u, this build reads %u",
                            what, v, CC_BUNDLE_VERSION);
    if (!all_zero(buf + 12, 4) || !all_zero(buf + 56, CCW_DATA_START - 56))
        return cc_error_set(CC_ERR_FORMAT, "%s: reserved header bytes are not zero (not written by "
                            "this format version)", what);
    if (get_u64(buf + 16) != expect_bytes)
        return cc_error_set(CC_ERR_FORMAT, "%s: data file header says %llu bytes, the bundle says %llu",
                            what, (unsigned long long)get_u64(buf + 16),
                            (unsigned long long)expect_bytes);
    if (sodium_memcmp(buf + 24, expect_hash, 32) != 0)
        return cc_error_set(CC_ERR_MISMATCH, "%s belongs to a different model than its bundle "
                            "(content hash mismatch)", what);
    return CC_OK;
}

void ccb_content_hash(const ccb_header *h, const ccb_entry *e, uint8_t out[32])
{
    static const char tag[] = "caracal share bundle content v1";
    uint8_t fixed[4 * 4 + CONFIG_BYTES + 8 + 8];
    put_u32(fixed, h->version);
    put_u32(fixed + 4, h->ring_bits);
    put_u32(fixed + 8, h->frac_bits);
    put_u32(fixed + 12, h->n_tensors);
    encode_config(&h->config, fixed + 16);
    put_u64(fixed + 16 + CONFIG_BYTES, h->pack_fingerprint);
    put_u64(fixed + 24 + CONFIG_BYTES, h->data_bytes);

    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag);
    crypto_generichash_update(&st, h->salt, 32);
    crypto_generichash_update(&st, fixed, sizeof fixed);
    uint8_t rec[CCB_ENTRY_BYTES];
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        encode_entry(&e[i], rec);
        crypto_generichash_update(&st, rec, sizeof rec);
    }
    crypto_generichash_final(&st, out, 32);
}

uint64_t ccb_pack_fingerprint(void)
{
    enum { K = 37, N = 29 };   /* odd sizes exercise every edge/padding rule */
    uint64_t B[K * N];
    for (size_t i = 0; i < K * N; i++) B[i] = 0x9e3779b97f4a7c15ull * (i + 1);
    size_t bytes = cc_ring_packed_size(K, N);
    uint64_t *packed = cc_alloc(bytes ? bytes : 8);
    CC_ASSERT(packed != NULL);
    memset(packed, 0, bytes);
    cc_ring_pack_b(CC_NOTRANS, K, N, B, N, packed);
    uint8_t h[8];
    crypto_generichash(h, sizeof h, (const uint8_t *)packed, bytes, NULL, 0);
    cc_free(packed);
    return get_u64(h) ^ (uint64_t)bytes;
}

const char *cc_bundle_party_file(int party)
{
    static const char *names[3] = { "party0.ccb", "party1.ccb", "party2.ccb" };
    return party >= 0 && party < 3 ? names[party] : "party?.ccb";
}
