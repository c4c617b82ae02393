/* AES-256-GCM, VAES/VPCLMULQDQ (AVX2 width).  Compiled with its own ISA
 * flags; callers check cc_gcm_available() first.
 *
 * GHASH is computed through POLYVAL (RFC 8452 appendix A):
 *   GHASH(H, X1..Xn) = rev(POLYVAL(mulX(rev(H)), rev(X1), ..., rev(Xn)))
 * where rev reverses the 16 bytes and POLYVAL's product is
 * dot(a, b) = a*b*x^-128 mod x^128+x^127+x^126+x^121+1, reduced with two
 * folding multiplications by 0xC2<<56 (no bit shifts needed).  Eight blocks
 * are folded per reduction: S' = (S^X1)H^8 + X2 H^7 + ... + X8 H^1. */
#include "net_impl.h"

#include <immintrin.h>
#include <string.h>

#include "core.h"

bool cc_gcm_available(void)
{
    const cc_cpu *c = cc_cpu_features();
    /* VAES/VPCLMULQDQ imply AES-NI/PCLMULQDQ on every shipping CPU */
    return c->avx2 && c->aesni && c->vaes && c->vpclmulqdq;
}

/* ---- GF(2^128), POLYVAL domain ----------------------------------------------- */
static inline __m128i poly_const(void) { return _mm_set_epi32((int)0xc2000000, 0, 0, 1); }

static inline __m128i rev16(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

static inline __m128i reduce(__m128i lo, __m128i hi)
{
    const __m128i p = poly_const();
    __m128i t = _mm_clmulepi64_si128(lo, p, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 78), t);
    t = _mm_clmulepi64_si128(lo, p, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 78), t);
    return _mm_xor_si128(lo, hi);
}

static inline __m128i dot(__m128i a, __m128i b)
{
    __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
    __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01));
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    return reduce(lo, hi);
}

/* v * x in the POLYVAL field */
static __m128i mulx(__m128i v)
{
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(v), hi = (uint64_t)_mm_extract_epi64(v, 1);
    uint64_t carry = hi >> 63;
    hi = hi << 1 | lo >> 63;
    lo <<= 1;
    if (carry) {
        lo ^= 1;
        hi ^= 0xc200000000000000ull;
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* ---- AES-256 ------------------------------------------------------------------ */
static inline __m128i expand_even(__m128i k, __m128i assist)
{
    assist = _mm_shuffle_epi32(assist, 0xff);
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, assist);
}

static inline __m128i expand_odd(__m128i k, __m128i prev_even)
{
    __m128i assist = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(prev_even, 0), 0xaa);
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, assist);
}

#define EVEN(i, rcon) rk[i] = expand_even(rk[i - 2], _mm_aeskeygenassist_si128(rk[i - 1], rcon))
#define ODD(i) rk[i] = expand_odd(rk[i - 2], rk[i - 1])

static void aes256_expand(const uint8_t key[32], __m128i rk[15])
{
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
    EVEN(2, 0x01); ODD(3); EVEN(4, 0x02); ODD(5); EVEN(6, 0x04); ODD(7); EVEN(8, 0x08); ODD(9);
    EVEN(10, 0x10); ODD(11); EVEN(12, 0x20); ODD(13); EVEN(14, 0x40);
}

static inline __m128i aes_block(const __m128i *rk, __m128i b)
{
    b = _mm_xor_si128(b, rk[0]);
    for (int r = 1; r < 14; r++) b = _mm_aesenc_si128(b, rk[r]);
    return _mm_aesenclast_si128(b, rk[14]);
}

void cc_gcm_init(cc_gcm *g, const uint8_t key[32])
{
    __m128i rk[15];
    aes256_expand(key, rk);
    for (int i = 0; i < 15; i++) _mm_store_si128((__m128i *)g->rk[i], rk[i]);
    __m128i h = mulx(rev16(aes_block(rk, _mm_setzero_si128())));
    __m128i p = h;
    for (int i = 0; i < 8; i++) {
        _mm_store_si128((__m128i *)g->hpow[i], p);
        p = dot(p, h);
    }
    cc_wipe(rk, sizeof rk);
}

/* ---- the 8-block kernel --------------------------------------------------------- */
typedef struct gcm_state {
    __m256i rk[15];     /* round keys broadcast to both lanes */
    __m256i hp[4];      /* [H^8,H^7], [H^6,H^5], [H^4,H^3], [H^2,H^1] */
    __m128i h1, s;      /* H^1 and the running POLYVAL value */
    __m128i ctr;        /* counter block, counter dword kept little-endian */
} gcm_state;

static inline __m128i ctr_be(__m128i c)
{
    /* bytes 0..11 as is, counter dword byte-swapped to big-endian */
    return _mm_shuffle_epi8(c, _mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

static inline __m256i rev16x2(__m256i x)
{
    const __m256i m = _mm256_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm256_shuffle_epi8(x, m);
}

static void state_init(gcm_state *st, const cc_gcm *g, const uint8_t nonce[12])
{
    for (int i = 0; i < 15; i++)
        st->rk[i] = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)g->rk[i]));
    for (int i = 0; i < 4; i++) {
        __m128i hi_pow = _mm_load_si128((const __m128i *)g->hpow[7 - 2 * i]); /* lane 0 */
        __m128i lo_pow = _mm_load_si128((const __m128i *)g->hpow[6 - 2 * i]); /* lane 1 */
        st->hp[i] = _mm256_set_m128i(lo_pow, hi_pow);
    }
    st->h1 = _mm_load_si128((const __m128i *)g->hpow[0]);
    st->s = _mm_setzero_si128();
    uint8_t j[16];
    memcpy(j, nonce, 12);
    memset(j + 12, 0, 4);
    st->ctr = _mm_loadu_si128((const __m128i *)j); /* counter dword = 0 (LE) */
}

/* keystream for 16 blocks starting at counter st->ctr; advances it.  Eight
 * independent VAES chains: enough to cover the instruction's latency. */
static inline void keystream16(gcm_state *st, __m256i k[8])
{
    __m256i c = _mm256_set_m128i(_mm_add_epi32(st->ctr, _mm_set_epi32(1, 0, 0, 0)), st->ctr);
    const __m256i two = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
    const __m256i m = _mm256_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                                      12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int i = 0; i < 8; i++) {
        k[i] = _mm256_xor_si256(_mm256_shuffle_epi8(c, m), st->rk[0]);
        c = _mm256_add_epi32(c, two);
    }
    for (int r = 1; r < 14; r++)
        for (int i = 0; i < 8; i++) k[i] = _mm256_aesenc_epi128(k[i], st->rk[r]);
    for (int i = 0; i < 8; i++) k[i] = _mm256_aesenclast_epi128(k[i], st->rk[14]);
    st->ctr = _mm_add_epi32(st->ctr, _mm_set_epi32(16, 0, 0, 0));
}

/* keystream for 8 blocks starting at counter st->ctr; advances it */
static inline void keystream8(gcm_state *st, __m256i k[4])
{
    __m256i c = _mm256_set_m128i(_mm_add_epi32(st->ctr, _mm_set_epi32(1, 0, 0, 0)), st->ctr);
    const __m256i two = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
    const __m256i m = _mm256_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                                      12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int i = 0; i < 4; i++) {
        k[i] = _mm256_xor_si256(_mm256_shuffle_epi8(c, m), st->rk[0]);
        c = _mm256_add_epi32(c, two);
    }
    for (int r = 1; r < 14; r++)
        for (int i = 0; i < 4; i++) k[i] = _mm256_aesenc_epi128(k[i], st->rk[r]);
    for (int i = 0; i < 4; i++) k[i] = _mm256_aesenclast_epi128(k[i], st->rk[14]);
    st->ctr = _mm_add_epi32(st->ctr, _mm_set_epi32(8, 0, 0, 0));
}

/* absorb 8 ciphertext blocks (as loaded, 4 ymm) into the POLYVAL state */
static inline void ghash8(gcm_state *st, const __m256i x[4])
{
    __m256i lo = _mm256_setzero_si256(), hi = lo, mid = lo;
    for (int i = 0; i < 4; i++) {
        __m256i d = rev16x2(x[i]);
        if (i == 0) d = _mm256_xor_si256(d, _mm256_zextsi128_si256(st->s));
        lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(d, st->hp[i], 0x00));
        hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(d, st->hp[i], 0x11));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(d, st->hp[i], 0x10));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(d, st->hp[i], 0x01));
    }
    __m128i l = _mm_xor_si128(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
    __m128i h = _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
    __m128i m = _mm_xor_si128(_mm256_castsi256_si128(mid), _mm256_extracti128_si256(mid, 1));
    l = _mm_xor_si128(l, _mm_slli_si128(m, 8));
    h = _mm_xor_si128(h, _mm_srli_si128(m, 8));
    st->s = reduce(l, h);
}

static inline void ghash1(gcm_state *st, __m128i block)
{
    st->s = dot(_mm_xor_si128(st->s, rev16(block)), st->h1);
}

static void ghash_bytes(gcm_state *st, const uint8_t *p, size_t n)
{
    for (; n >= 16; p += 16, n -= 16) ghash1(st, _mm_loadu_si128((const __m128i *)p));
    if (n) {
        uint8_t b[16] = {0};
        memcpy(b, p, n);
        ghash1(st, _mm_loadu_si128((const __m128i *)b));
    }
}

static inline __m128i keystream1(gcm_state *st)
{
    __m128i b = _mm_xor_si128(ctr_be(st->ctr), _mm256_castsi256_si128(st->rk[0]));
    for (int r = 1; r < 14; r++) b = _mm_aesenc_si128(b, _mm256_castsi256_si128(st->rk[r]));
    b = _mm_aesenclast_si128(b, _mm256_castsi256_si128(st->rk[14]));
    st->ctr = _mm_add_epi32(st->ctr, _mm_set_epi32(1, 0, 0, 0));
    return b;
}

/* CTR over `len` bytes from counter 2 on, hashing the ciphertext: before
 * encrypting when decrypting (hash_input), after when encrypting. */
static void ctr_ghash(gcm_state *st, const uint8_t *in, size_t len, uint8_t *out, bool hash_input)
{
    size_t off = 0;
    for (; len - off >= 256; off += 256) {
        __m256i x[8], k[8];
        for (int i = 0; i < 8; i++) x[i] = _mm256_loadu_si256((const __m256i *)(in + off + 32 * i));
        if (hash_input) {
            ghash8(st, x);
            ghash8(st, x + 4);
        }
        keystream16(st, k);
        for (int i = 0; i < 8; i++) {
            k[i] = _mm256_xor_si256(k[i], x[i]);
            _mm256_storeu_si256((__m256i *)(out + off + 32 * i), k[i]);
        }
        if (!hash_input) {
            ghash8(st, k);
            ghash8(st, k + 4);
        }
    }
    for (; len - off >= 128; off += 128) {
        __m256i x[4], k[4];
        for (int i = 0; i < 4; i++) x[i] = _mm256_loadu_si256((const __m256i *)(in + off + 32 * i));
        keystream8(st, k);
        if (hash_input) ghash8(st, x);
        for (int i = 0; i < 4; i++) {
            k[i] = _mm256_xor_si256(k[i], x[i]);
            _mm256_storeu_si256((__m256i *)(out + off + 32 * i), k[i]);
        }
        if (!hash_input) ghash8(st, k);
    }
    for (; len - off >= 16; off += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + off));
        if (hash_input) ghash1(st, x);
        __m128i c = _mm_xor_si128(x, keystream1(st));
        _mm_storeu_si128((__m128i *)(out + off), c);
        if (!hash_input) ghash1(st, c);
    }
    if (off < len) {
        uint8_t b[16] = {0};
        size_t n = len - off;
        memcpy(b, in + off, n);
        if (hash_input) ghash1(st, _mm_loadu_si128((const __m128i *)b));
        __m128i c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)b), keystream1(st));
        _mm_storeu_si128((__m128i *)b, c);
        memset(b + n, 0, 16 - n);
        if (!hash_input) ghash1(st, _mm_loadu_si128((const __m128i *)b));
        memcpy(out + off, b, n);
    }
}

static __m128i finish(gcm_state *st, size_t adlen, size_t len)
{
    /* length block, byte-reversed: high qword = AD bits, low qword = C bits */
    __m128i lens = _mm_set_epi64x((long long)((uint64_t)adlen * 8), (long long)((uint64_t)len * 8));
    st->s = dot(_mm_xor_si128(st->s, lens), st->h1);
    __m128i ghash = rev16(st->s);
    st->ctr = _mm_and_si128(st->ctr, _mm_set_epi32(0, -1, -1, -1));
    st->ctr = _mm_or_si128(st->ctr, _mm_set_epi32(1, 0, 0, 0)); /* J0: counter 1 */
    return _mm_xor_si128(ghash, keystream1(st));
}

static void start(gcm_state *st, const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad,
                  size_t adlen)
{
    state_init(st, g, nonce);
    ghash_bytes(st, ad, adlen);
    st->ctr = _mm_add_epi32(st->ctr, _mm_set_epi32(2, 0, 0, 0)); /* data starts at counter 2 */
}

void cc_gcm_seal(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    gcm_state st;
    start(&st, g, nonce, ad, adlen);
    ctr_ghash(&st, in, len, out, false);
    _mm_storeu_si128((__m128i *)tag, finish(&st, adlen, len));
    cc_wipe(&st, sizeof st);
}

bool cc_gcm_open(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[16])
{
    gcm_state st;
    start(&st, g, nonce, ad, adlen);
    ctr_ghash(&st, in, len, out, true);
    __m128i want = finish(&st, adlen, len);
    __m128i got = _mm_loadu_si128((const __m128i *)tag);
    bool ok = _mm_testz_si128(_mm_xor_si128(want, got), _mm_xor_si128(want, got)); /* constant time */
    cc_wipe(&st, sizeof st);
    if (!ok && len) memset(out, 0, len);
    return ok;
}
