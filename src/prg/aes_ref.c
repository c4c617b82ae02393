/* Portable AES-128 (FIPS-197): key expansion and a clear byte-oriented
 * encryption used as the reference every SIMD path must match bit-exactly,
 * and as the fallback on CPUs without AES-NI.
 *
 * Side channels: the key expansion scans the whole S-box for every lookup,
 * so it leaks nothing through the cache.  The block encryption uses a plain
 * 256-byte S-box table indexed by secret state bytes — NOT constant time on
 * a machine with a shared cache.  Only CPUs without AES-NI ever run it in
 * production; the dispatcher logs a warning when it does. */
#include "aes_impl.h"

#include <string.h>

/* FIPS-197 §5.1.1: multiplicative inverse in GF(2^8) followed by the affine
 * map (tests/prg recomputes it from that definition). */
static const uint8_t sbox[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16,
};

/* Multiply by x in GF(2^8) mod x^8+x^4+x^3+x+1, without branches. */
static inline uint8_t xtime(uint8_t v)
{
    return (uint8_t)((v << 1) ^ (0x1b & -(v >> 7)));
}

/* S-box lookup that touches every entry, for secret key bytes. */
static uint8_t sbox_scan(uint8_t x)
{
    uint8_t r = 0;
    for (unsigned i = 0; i < 256; i++) {
        unsigned hit = ((i ^ x) - 1u) >> 31;          /* 1 iff i == x */
        r |= (uint8_t)(sbox[i] & (uint8_t)-hit);
    }
    return r;
}

/* FIPS-197 §5.2 for Nk = 4: 44 words, round constants x^(i-1) in GF(2^8). */
void cc_aes_ref_expand(const uint8_t key[16], uint8_t rk[11 * 16])
{
    memcpy(rk, key, 16);
    uint8_t rcon = 1;
    for (unsigned i = 4; i < 44; i++) {
        uint8_t t[4];
        memcpy(t, rk + 4 * (i - 1), 4);
        if (i % 4 == 0) {                       /* SubWord(RotWord(t)) ^ Rcon */
            uint8_t t0 = t[0];
            t[0] = (uint8_t)(sbox_scan(t[1]) ^ rcon);
            t[1] = sbox_scan(t[2]);
            t[2] = sbox_scan(t[3]);
            t[3] = sbox_scan(t0);
            rcon = xtime(rcon);
        }
        for (unsigned j = 0; j < 4; j++) rk[4 * i + j] = rk[4 * (i - 4) + j] ^ t[j];
    }
}

/* State byte s[4c + r] is row r of column c (FIPS-197 §3.4 input order). */
static void sub_shift(uint8_t s[16])
{
    uint8_t t[16];
    for (unsigned c = 0; c < 4; c++)
        for (unsigned r = 0; r < 4; r++)
            t[4 * c + r] = sbox[s[4 * ((c + r) % 4) + r]];   /* row r rotates left by r */
    memcpy(s, t, 16);
}

static void mix_columns(uint8_t s[16])
{
    for (unsigned c = 0; c < 4; c++) {
        uint8_t *a = s + 4 * c;
        uint8_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        uint8_t all = a0 ^ a1 ^ a2 ^ a3;
        /* b_r = 2a_r ^ 3a_{r+1} ^ a_{r+2} ^ a_{r+3} = a_r ^ all ^ 2(a_r ^ a_{r+1}) */
        a[0] = a0 ^ all ^ xtime(a0 ^ a1);
        a[1] = a1 ^ all ^ xtime(a1 ^ a2);
        a[2] = a2 ^ all ^ xtime(a2 ^ a3);
        a[3] = a3 ^ all ^ xtime(a3 ^ a0);
    }
}

static void add_round_key(uint8_t s[16], const uint8_t *k)
{
    for (unsigned i = 0; i < 16; i++) s[i] ^= k[i];
}

static void encrypt_block(const cc_aes128 *k, const uint8_t in[16], uint8_t out[16])
{
    uint8_t s[16];
    memcpy(s, in, 16);
    add_round_key(s, k->rk);
    for (unsigned round = 1; round < 10; round++) {
        sub_shift(s);
        mix_columns(s);
        add_round_key(s, k->rk + 16 * round);
    }
    sub_shift(s);
    add_round_key(s, k->rk + 160);
    memcpy(out, s, 16);
}

static void ecb_ref(const cc_aes128 *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    for (size_t b = 0; b < nblocks; b++) encrypt_block(k, in + 16 * b, out + 16 * b);
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void ctr_ref(const cc_aes128 *k, uint64_t stream, uint64_t block,
                           size_t nblocks, uint64_t *out, aes_ctr_mode mode)
{
    uint8_t in[16], ks[16];
    store_le64(in + 8, stream);
    for (size_t b = 0; b < nblocks; b++) {
        store_le64(in, block + b);
        encrypt_block(k, in, ks);
        out[2 * b]     = aes_ctr_combine(mode, out[2 * b], load_le64(ks));
        out[2 * b + 1] = aes_ctr_combine(mode, out[2 * b + 1], load_le64(ks + 8));
    }
    memset(ks, 0, sizeof ks);
}

#define CTR_VARIANT(m, M) \
    static void ctr_ref_##m(const cc_aes128 *k, uint64_t s, uint64_t b, size_t n, uint64_t *o) \
    { ctr_ref(k, s, b, n, o, M); }
CTR_VARIANT(store, AES_CTR_STORE)
CTR_VARIANT(xor, AES_CTR_XOR)
CTR_VARIANT(add, AES_CTR_ADD)
CTR_VARIANT(sub, AES_CTR_SUB)

const aes_kernels cc_aes_kernels_ref = {
    .name = "ref",
    .ecb = ecb_ref,
    .ctr = { ctr_ref_store, ctr_ref_xor, ctr_ref_add, ctr_ref_sub },
};
