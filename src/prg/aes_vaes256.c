/* AES-128 counter mode with VAES on 256-bit registers (compiled with
 * -mavx2 -maes -mvaes; run only when cpuid reports AVX2 + AES-NI + VAES).
 *
 * One vaesenc on a ymm register does a round on two blocks.  Zen 3 issues
 * two of them per cycle with a latency of 4, so 8 registers (16 blocks) are
 * in flight per round key to keep both AES units busy. */
#include "prg_impl.h"

#include <immintrin.h>

#ifndef LANES
#define LANES 8   /* ymm registers per iteration, 2 blocks each */
#endif

static inline __attribute__((always_inline))
__m256i combine(aes_ctr_mode mode, __m256i old, __m256i w)
{
    switch (mode) {
    case AES_CTR_XOR: return _mm256_xor_si256(old, w);
    case AES_CTR_ADD: return _mm256_add_epi64(old, w);
    case AES_CTR_SUB: return _mm256_sub_epi64(old, w);
    default:          return w;
    }
}

static inline __attribute__((always_inline))
void put(aes_ctr_mode mode, uint64_t *out, __m256i w)
{
    __m256i *p = (__m256i *)out;
    if (mode == AES_CTR_STORE) _mm256_storeu_si256(p, w);
    else _mm256_storeu_si256(p, combine(mode, _mm256_loadu_si256(p), w));
}

static inline __attribute__((always_inline))
__m256i encrypt2(const __m256i rk[11], __m256i x)
{
    x = _mm256_xor_si256(x, rk[0]);
    for (int r = 1; r < 10; r++) x = _mm256_aesenc_epi128(x, rk[r]);
    return _mm256_aesenclast_epi128(x, rk[10]);
}

static inline __attribute__((always_inline))
void ctr_vaes256(const cc_aes128 *k, uint64_t stream, uint64_t block, size_t nblocks,
                 uint64_t *out, aes_ctr_mode mode)
{
    __m256i rk[11];
    for (int r = 0; r < 11; r++)
        rk[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(k->rk + 16 * r)));
    /* each 128-bit lane: low qword = block counter, high qword = stream id */
    __m256i ctr = _mm256_set_epi64x((long long)stream, (long long)(block + 1),
                                    (long long)stream, (long long)block);
    const __m256i two = _mm256_set_epi64x(0, 2, 0, 2);
    size_t b = 0;
    for (; b + 2 * LANES <= nblocks; b += 2 * LANES) {
        __m256i x[LANES];
        for (int i = 0; i < LANES; i++) {
            x[i] = _mm256_xor_si256(ctr, rk[0]);
            ctr = _mm256_add_epi64(ctr, two);
        }
        for (int r = 1; r < 10; r++)
            for (int i = 0; i < LANES; i++) x[i] = _mm256_aesenc_epi128(x[i], rk[r]);
        for (int i = 0; i < LANES; i++) x[i] = _mm256_aesenclast_epi128(x[i], rk[10]);
        for (int i = 0; i < LANES; i++) put(mode, out + 2 * b + 4 * i, x[i]);
    }
    for (; b + 2 <= nblocks; b += 2) {
        put(mode, out + 2 * b, encrypt2(rk, ctr));
        ctr = _mm256_add_epi64(ctr, two);
    }
    if (b < nblocks) {                       /* one last block: low lane only */
        __m128i x = _mm256_castsi256_si128(encrypt2(rk, ctr));
        __m128i *p = (__m128i *)(out + 2 * b);
        __m128i old = _mm_loadu_si128(p);
        switch (mode) {
        case AES_CTR_XOR: x = _mm_xor_si128(old, x); break;
        case AES_CTR_ADD: x = _mm_add_epi64(old, x); break;
        case AES_CTR_SUB: x = _mm_sub_epi64(old, x); break;
        default: break;
        }
        _mm_storeu_si128(p, x);
    }
}

static void ecb_vaes256(const cc_aes128 *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    __m256i rk[11];
    for (int r = 0; r < 11; r++)
        rk[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(k->rk + 16 * r)));
    size_t b = 0;
    for (; b + 2 <= nblocks; b += 2) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(in + 16 * b));
        _mm256_storeu_si256((__m256i *)(out + 16 * b), encrypt2(rk, x));
    }
    if (b < nblocks) {
        __m256i x = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(in + 16 * b)));
        _mm_storeu_si128((__m128i *)(out + 16 * b), _mm256_castsi256_si128(encrypt2(rk, x)));
    }
}

#define CTR_VARIANT(m, M) \
    static void ctr_vaes256_##m(const cc_aes128 *k, uint64_t s, uint64_t b, size_t n, uint64_t *o) \
    { ctr_vaes256(k, s, b, n, o, M); }
CTR_VARIANT(store, AES_CTR_STORE)
CTR_VARIANT(xor, AES_CTR_XOR)
CTR_VARIANT(add, AES_CTR_ADD)
CTR_VARIANT(sub, AES_CTR_SUB)

const aes_kernels cc_aes_kernels_vaes256 = {
    .name = "vaes256",
    .ecb = ecb_vaes256,
    .ctr = { ctr_vaes256_store, ctr_vaes256_xor, ctr_vaes256_add, ctr_vaes256_sub },
};
