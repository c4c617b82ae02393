/* AES-128 with AES-NI (128-bit aesenc), compiled with -maes -msse4.1.
 *
 * aesenc has a latency of several cycles but a throughput of one or two per
 * cycle, so one block at a time leaves the AES units mostly idle.  The
 * counter kernel keeps 8 independent blocks in flight per round key. */
#include "prg_impl.h"

#include <immintrin.h>

#define LANES 8

static inline __attribute__((always_inline))
void load_keys(const cc_aes128 *k, __m128i rk[11])
{
    for (int r = 0; r < 11; r++) rk[r] = _mm_loadu_si128((const __m128i *)(k->rk + 16 * r));
}

static inline __attribute__((always_inline))
__m128i encrypt1(const __m128i rk[11], __m128i b)
{
    b = _mm_xor_si128(b, rk[0]);
    for (int r = 1; r < 10; r++) b = _mm_aesenc_si128(b, rk[r]);
    return _mm_aesenclast_si128(b, rk[10]);
}

static inline __attribute__((always_inline))
__m128i combine(aes_ctr_mode mode, __m128i old, __m128i w)
{
    switch (mode) {
    case AES_CTR_XOR: return _mm_xor_si128(old, w);
    case AES_CTR_ADD: return _mm_add_epi64(old, w);
    case AES_CTR_SUB: return _mm_sub_epi64(old, w);
    default:          return w;
    }
}

static inline __attribute__((always_inline))
void put(aes_ctr_mode mode, uint64_t *out, __m128i w)
{
    __m128i *p = (__m128i *)out;
    if (mode == AES_CTR_STORE) _mm_storeu_si128(p, w);
    else _mm_storeu_si128(p, combine(mode, _mm_loadu_si128(p), w));
}

static void ecb_aesni(const cc_aes128 *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    __m128i rk[11];
    load_keys(k, rk);
    for (size_t b = 0; b < nblocks; b++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + 16 * b));
        _mm_storeu_si128((__m128i *)(out + 16 * b), encrypt1(rk, x));
    }
}

static inline __attribute__((always_inline))
void ctr_aesni(const cc_aes128 *k, uint64_t stream, uint64_t block, size_t nblocks,
               uint64_t *out, aes_ctr_mode mode)
{
    __m128i rk[11];
    load_keys(k, rk);
    /* low qword = block counter, high qword = stream id */
    __m128i ctr = _mm_set_epi64x((long long)stream, (long long)block);
    const __m128i one = _mm_set_epi64x(0, 1);
    size_t b = 0;
    for (; b + LANES <= nblocks; b += LANES) {
        __m128i x[LANES];
        for (int i = 0; i < LANES; i++) {
            x[i] = _mm_xor_si128(ctr, rk[0]);
            ctr = _mm_add_epi64(ctr, one);
        }
        for (int r = 1; r < 10; r++)
            for (int i = 0; i < LANES; i++) x[i] = _mm_aesenc_si128(x[i], rk[r]);
        for (int i = 0; i < LANES; i++) x[i] = _mm_aesenclast_si128(x[i], rk[10]);
        for (int i = 0; i < LANES; i++) put(mode, out + 2 * (b + i), x[i]);
    }
    for (; b < nblocks; b++) {
        put(mode, out + 2 * b, encrypt1(rk, ctr));
        ctr = _mm_add_epi64(ctr, one);
    }
}

#define CTR_VARIANT(m, M) \
    static void ctr_aesni_##m(const cc_aes128 *k, uint64_t s, uint64_t b, size_t n, uint64_t *o) \
    { ctr_aesni(k, s, b, n, o, M); }
CTR_VARIANT(store, AES_CTR_STORE)
CTR_VARIANT(xor, AES_CTR_XOR)
CTR_VARIANT(add, AES_CTR_ADD)
CTR_VARIANT(sub, AES_CTR_SUB)

const aes_kernels cc_aes_kernels_aesni = {
    .name = "aesni",
    .ecb = ecb_aesni,
    .ctr = { ctr_aesni_store, ctr_aesni_xor, ctr_aesni_add, ctr_aesni_sub },
};
