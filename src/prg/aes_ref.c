/* Portable AES-128 (FIPS-197), bitsliced and table-free, so it runs in
 * constant time: no memory access or branch depends on key or data.  It is
 * the reference every SIMD path must match bit-exactly and the fallback on
 * CPUs without AES-NI (far slower than AES-NI; see docs/BENCHMARKS.md).
 *
 * Representation.  Four blocks are processed together as 64 state bytes.
 * Byte i (= 4*column + row, FIPS-197 §3.4) of block b sits at bit position
 * p = 4*i + b, so a column is one 16-bit lane and a row one nibble inside
 * it.  Plane q[k] holds bit k of all 64 bytes.  ShiftRows and MixColumns are
 * then rotations and masks of each plane; SubBytes is GF(2^8) arithmetic
 * done with AND/XOR across the eight planes (64 S-boxes at once). */
#include "prg_impl.h"

#include <string.h>

typedef uint64_t plane;

/* ---- SubBytes: inversion in GF(2^8), then the affine map (FIPS-197 §5.1.1) ----
 * The inversion runs in the isomorphic tower field GF((2^4)^2) =
 * GF(2^4)[y]/(y^2 + y + 0xe), GF(2^4) = GF(2)[z]/(z^4 + z + 1), where
 *   (a1 y + a0)^-1 = (a1 d) y + (a0 + a1) d,   d = (0xe a1^2 + a0 a1 + a0^2)^-1
 * costs five GF(2^4) multiplications instead of the four GF(2^8) ones of
 * x^254.  The basis changes below (AES polynomial basis -> tower, and tower
 * -> AES fused with the affine matrix) were derived and checked on all 256
 * inputs by tower_sbox.py; tests/prg checks the S-box against its definition. */

/* r = a * b in GF(2^4) mod z^4 + z + 1. */
static inline void gf16_mul(const plane a[4], const plane b[4], plane r[4])
{
    plane t0 = a[0] & b[0];
    plane t1 = (a[0] & b[1]) ^ (a[1] & b[0]);
    plane t2 = (a[0] & b[2]) ^ (a[1] & b[1]) ^ (a[2] & b[0]);
    plane t3 = (a[0] & b[3]) ^ (a[1] & b[2]) ^ (a[2] & b[1]) ^ (a[3] & b[0]);
    plane t4 = (a[1] & b[3]) ^ (a[2] & b[2]) ^ (a[3] & b[1]);
    plane t5 = (a[2] & b[3]) ^ (a[3] & b[2]);
    plane t6 = a[3] & b[3];
    /* z^4 = z + 1, z^5 = z^2 + z, z^6 = z^3 + z^2 */
    r[0] = t0 ^ t4;
    r[1] = t1 ^ t4 ^ t5;
    r[2] = t2 ^ t5 ^ t6;
    r[3] = t3 ^ t6;
}

static inline void gf16_square(const plane a[4], plane r[4])
{
    plane a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    r[0] = a0 ^ a2;
    r[1] = a2;
    r[2] = a1 ^ a3;
    r[3] = a3;
}

/* x^14 = x^-1 in GF(2^4) (and 0 for 0). */
static inline void gf16_inverse(const plane x[4], plane r[4])
{
    plane x2[4], x3[4], x12[4];
    gf16_square(x, x2);
    gf16_mul(x2, x, x3);
    gf16_square(x3, x12);
    gf16_square(x12, x12);
    gf16_mul(x12, x2, r);
}

static void sub_bytes(plane q[8])
{
    const plane *x = q;
    /* AES basis -> tower: a0 = t[0..3], a1 = t[4..7] */
    plane a0[4] = { x[0] ^ x[1] ^ x[6], x[2] ^ x[3] ^ x[6] ^ x[7],
                    x[2] ^ x[4] ^ x[7], x[1] ^ x[2] ^ x[6] ^ x[7] };
    plane a1[4] = { x[1] ^ x[2] ^ x[3] ^ x[5] ^ x[7], x[1] ^ x[4] ^ x[5] ^ x[6],
                    x[2] ^ x[3], x[5] ^ x[7] };
    /* delta = 0xe * a1^2 + a0 * a1 + a0^2 */
    plane lam_sq[4] = { a1[1] ^ a1[2], a1[0], a1[0] ^ a1[1] ^ a1[3], a1[0] ^ a1[1] };
    plane prod[4], sq[4], delta[4], d[4];
    gf16_mul(a0, a1, prod);
    gf16_square(a0, sq);
    for (int i = 0; i < 4; i++) delta[i] = lam_sq[i] ^ prod[i] ^ sq[i];
    gf16_inverse(delta, d);
    plane sum[4] = { a0[0] ^ a1[0], a0[1] ^ a1[1], a0[2] ^ a1[2], a0[3] ^ a1[3] };
    plane u[8];
    gf16_mul(sum, d, u);         /* low half of the inverse */
    gf16_mul(a1, d, u + 4);      /* high half */
    /* tower -> AES basis, affine matrix applied, then ^ 0x63 (bits 0, 1, 5, 6) */
    const plane one = ~(plane)0;
    q[0] = u[0] ^ u[1] ^ u[5] ^ u[6] ^ one;
    q[1] = u[0] ^ u[7] ^ one;
    q[2] = u[0] ^ u[1] ^ u[2] ^ u[4] ^ u[5];
    q[3] = u[0] ^ u[1];
    q[4] = u[0] ^ u[2] ^ u[3] ^ u[4] ^ u[7];
    q[5] = u[1] ^ u[2] ^ u[3] ^ u[7] ^ one;
    q[6] = u[4] ^ u[5] ^ u[7] ^ one;
    q[7] = u[1] ^ u[2] ^ u[7];
}

/* ---- ShiftRows and MixColumns on the nibble/lane layout ------------------------ */

static inline plane rotr64(plane x, unsigned s) { return (x >> s) | (x << (64 - s)); }

/* Row r (nibble r of each lane) takes its bytes from column c + r: rotate the
 * plane right by 16r bits and keep row r. */
static void shift_rows(plane q[8])
{
    const plane row0 = 0x000f000f000f000fu;
    for (int k = 0; k < 8; k++) {
        plane x = q[k];
        q[k] = (x & row0) | (rotr64(x, 16) & row0 << 4) | (rotr64(x, 32) & row0 << 8) |
               (rotr64(x, 48) & row0 << 12);
    }
}

/* Nibble r of every lane <- nibble (r + 1) mod 4, resp. (r + 2) mod 4. */
static inline plane next_row(plane x)
{
    return ((x >> 4) & 0x0fff0fff0fff0fffu) | ((x << 12) & 0xf000f000f000f000u);
}
static inline plane row_after_next(plane x)
{
    return ((x >> 8) & 0x00ff00ff00ff00ffu) | ((x << 8) & 0xff00ff00ff00ff00u);
}

/* b_r = a_r ^ (a_0^a_1^a_2^a_3) ^ xtime(a_r ^ a_{r+1})  (= 2a_r^3a_{r+1}^a_{r+2}^a_{r+3}) */
static void mix_columns(plane q[8])
{
    plane d[8], all[8];
    for (int k = 0; k < 8; k++) {
        d[k] = q[k] ^ next_row(q[k]);
        all[k] = d[k] ^ row_after_next(d[k]);
    }
    /* xtime(d): multiply by x, reduce with 0x1b (bits 0, 1, 3, 4) */
    plane xt[8] = { d[7], d[0] ^ d[7], d[1], d[2] ^ d[7], d[3] ^ d[7], d[4], d[5], d[6] };
    for (int k = 0; k < 8; k++) q[k] ^= all[k] ^ xt[k];
}

/* ---- conversion between 4 blocks of bytes and 8 planes ------------------------ */

/* Transpose the 8x8 bit matrix whose row r is byte r of x. */
static inline uint64_t transpose8x8(uint64_t x)
{
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00aa00aa00aa00aau;  x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000cccc0000ccccu; x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000f0f0f0f0u; x ^= t ^ (t << 28);
    return x;
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* blocks: 4 x 16 bytes -> planes. */
static void to_planes(const uint8_t blocks[64], plane q[8])
{
    uint8_t x[64];                           /* x[p], p = 4i + b */
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 16; i++) x[4 * i + b] = blocks[16 * b + i];
    uint64_t w[8];                           /* byte k of w[j]: bit k of x[8j..8j+7] */
    for (int j = 0; j < 8; j++) w[j] = transpose8x8(load_le64(x + 8 * j));
    for (int k = 0; k < 8; k++) {
        plane v = 0;
        for (int j = 0; j < 8; j++) v |= ((w[j] >> (8 * k)) & 0xff) << (8 * j);
        q[k] = v;
    }
}

static void from_planes(const plane q[8], uint8_t blocks[64])
{
    uint8_t x[64];
    for (int j = 0; j < 8; j++) {
        uint64_t w = 0;
        for (int k = 0; k < 8; k++) w |= ((q[k] >> (8 * j)) & 0xff) << (8 * k);
        store_le64(x + 8 * j, transpose8x8(w));
    }
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 16; i++) blocks[16 * b + i] = x[4 * i + b];
}

/* Round key byte i broadcast to the four blocks (positions 4i..4i+3). */
static void round_key_planes(const uint8_t rk[16], plane q[8])
{
    for (int k = 0; k < 8; k++) {
        plane v = 0;
        for (int i = 0; i < 16; i++)
            v |= (plane)(-(uint64_t)((rk[i] >> k) & 1)) & ((plane)0xf << (4 * i));
        q[k] = v;
    }
}

typedef struct { plane k[11][8]; } sliced_keys;

static void slice_keys(const cc_aes128 *key, sliced_keys *sk)
{
    for (int r = 0; r < 11; r++) round_key_planes(key->rk + 16 * r, sk->k[r]);
}

static inline void add_round_key(plane q[8], const plane rk[8])
{
    for (int k = 0; k < 8; k++) q[k] ^= rk[k];
}

/* FIPS-197 §5.1: Cipher() on four blocks. */
static void encrypt4(const sliced_keys *sk, const uint8_t in[64], uint8_t out[64])
{
    plane q[8];
    to_planes(in, q);
    add_round_key(q, sk->k[0]);
    for (int r = 1; r < 10; r++) {
        sub_bytes(q);
        shift_rows(q);
        mix_columns(q);
        add_round_key(q, sk->k[r]);
    }
    sub_bytes(q);
    shift_rows(q);
    add_round_key(q, sk->k[10]);
    from_planes(q, out);
}

/* ---- key expansion (§5.2, Nk = 4) -------------------------------------------- */

/* SubWord on 4 bytes through the bitsliced S-box (bit positions 0..3). */
static void sub_word(uint8_t t[4])
{
    plane q[8];
    for (int k = 0; k < 8; k++) {
        q[k] = 0;
        for (int j = 0; j < 4; j++) q[k] |= (plane)((t[j] >> k) & 1) << j;
    }
    sub_bytes(q);
    for (int j = 0; j < 4; j++) {
        uint8_t v = 0;
        for (int k = 0; k < 8; k++) v |= (uint8_t)(((q[k] >> j) & 1) << k);
        t[j] = v;
    }
}

void cc_aes_ref_sbox_table(uint8_t table[256])
{
    for (int base = 0; base < 256; base += 64) {
        plane q[8] = { 0 };
        for (int p = 0; p < 64; p++)
            for (int k = 0; k < 8; k++) q[k] |= (plane)(((base + p) >> k) & 1) << p;
        sub_bytes(q);
        for (int p = 0; p < 64; p++) {
            uint8_t v = 0;
            for (int k = 0; k < 8; k++) v |= (uint8_t)(((q[k] >> p) & 1) << k);
            table[base + p] = v;
        }
    }
}

void cc_aes_ref_expand(const uint8_t key[16], uint8_t rk[11 * 16])
{
    memcpy(rk, key, 16);
    uint8_t rcon = 1;                       /* x^(i/4 - 1) in GF(2^8) */
    for (unsigned i = 4; i < 44; i++) {
        uint8_t t[4];
        memcpy(t, rk + 4 * (i - 1), 4);
        if (i % 4 == 0) {                   /* SubWord(RotWord(t)) ^ Rcon */
            uint8_t t0 = t[0];
            t[0] = t[1]; t[1] = t[2]; t[2] = t[3]; t[3] = t0;
            sub_word(t);
            t[0] ^= rcon;
            rcon = (uint8_t)((rcon << 1) ^ (rcon & 0x80 ? 0x1b : 0));   /* public */
        }
        for (unsigned j = 0; j < 4; j++) rk[4 * i + j] = rk[4 * (i - 4) + j] ^ t[j];
    }
}

/* ---- kernels ------------------------------------------------------------------ */

static void ecb_ref(const cc_aes128 *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    sliced_keys sk;
    slice_keys(k, &sk);
    uint8_t buf[64];
    for (size_t b = 0; b < nblocks; b += 4) {
        size_t nb = nblocks - b < 4 ? nblocks - b : 4;
        memset(buf, 0, sizeof buf);
        memcpy(buf, in + 16 * b, 16 * nb);
        encrypt4(&sk, buf, buf);
        memcpy(out + 16 * b, buf, 16 * nb);
    }
    memset(&sk, 0, sizeof sk);
    memset(buf, 0, sizeof buf);
}

static inline void ctr_ref(const cc_aes128 *k, uint64_t stream, uint64_t block,
                           size_t nblocks, uint64_t *out, aes_ctr_mode mode)
{
    sliced_keys sk;
    slice_keys(k, &sk);
    uint8_t ctr[64], ks[64];
    for (int b = 0; b < 4; b++) store_le64(ctr + 16 * b + 8, stream);
    for (size_t b = 0; b < nblocks; b += 4) {
        for (int j = 0; j < 4; j++) store_le64(ctr + 16 * j, block + b + (uint64_t)j);
        encrypt4(&sk, ctr, ks);
        size_t nb = nblocks - b < 4 ? nblocks - b : 4;
        for (size_t j = 0; j < 2 * nb; j++)
            out[2 * b + j] = aes_ctr_combine(mode, out[2 * b + j], load_le64(ks + 8 * j));
    }
    memset(&sk, 0, sizeof sk);
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
