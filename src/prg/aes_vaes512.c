/* AES-128 counter mode with VAES on 512-bit registers (compiled with
 * -mavx512f -maes -mvaes; selected only when cpuid reports AVX-512F + VAES
 * and the OS saves zmm state).  One vaesenc does a round on four blocks;
 * 8 registers (32 blocks) are in flight per round key. */
#include "prg_impl.h"

#include <immintrin.h>

#define LANES 8   /* zmm registers per iteration, 4 blocks each */

static inline __attribute__((always_inline))
__m512i combine(aes_ctr_mode mode, __m512i old, __m512i w)
{
    switch (mode) {
    case AES_CTR_XOR: return _mm512_xor_si512(old, w);
    case AES_CTR_ADD: return _mm512_add_epi64(old, w);
    case AES_CTR_SUB: return _mm512_sub_epi64(old, w);
    default:          return w;
    }
}

static inline __attribute__((always_inline))
void put(aes_ctr_mode mode, uint64_t *out, __m512i w)
{
    if (mode == AES_CTR_STORE) _mm512_storeu_si512(out, w);
    else _mm512_storeu_si512(out, combine(mode, _mm512_loadu_si512(out), w));
}

static inline __attribute__((always_inline))
__m512i encrypt4(const __m512i rk[11], __m512i x)
{
    x = _mm512_xor_si512(x, rk[0]);
    for (int r = 1; r < 10; r++) x = _mm512_aesenc_epi128(x, rk[r]);
    return _mm512_aesenclast_epi128(x, rk[10]);
}

static inline __attribute__((always_inline))
__m128i encrypt1(const __m512i rk[11], __m128i x)
{
    x = _mm_xor_si128(x, _mm512_castsi512_si128(rk[0]));
    for (int r = 1; r < 10; r++) x = _mm_aesenc_si128(x, _mm512_castsi512_si128(rk[r]));
    return _mm_aesenclast_si128(x, _mm512_castsi512_si128(rk[10]));
}

static inline __attribute__((always_inline))
void load_keys(const cc_aes128 *k, __m512i rk[11])
{
    for (int r = 0; r < 11; r++)
        rk[r] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(k->rk + 16 * r)));
}

static inline __attribute__((always_inline))
void ctr_vaes512(const cc_aes128 *k, uint64_t stream, uint64_t block, size_t nblocks,
                 uint64_t *out, aes_ctr_mode mode)
{
    __m512i rk[11];
    load_keys(k, rk);
    /* each 128-bit lane: low qword = block counter, high qword = stream id */
    const long long s = (long long)stream;
    __m512i ctr = _mm512_set_epi64(s, (long long)(block + 3), s, (long long)(block + 2),
                                   s, (long long)(block + 1), s, (long long)block);
    const __m512i four = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
    size_t b = 0;
    for (; b + 4 * LANES <= nblocks; b += 4 * LANES) {
        __m512i x[LANES];
        for (int i = 0; i < LANES; i++) {
            x[i] = _mm512_xor_si512(ctr, rk[0]);
            ctr = _mm512_add_epi64(ctr, four);
        }
        for (int r = 1; r < 10; r++)
            for (int i = 0; i < LANES; i++) x[i] = _mm512_aesenc_epi128(x[i], rk[r]);
        for (int i = 0; i < LANES; i++) x[i] = _mm512_aesenclast_epi128(x[i], rk[10]);
        for (int i = 0; i < LANES; i++) put(mode, out + 2 * b + 8 * i, x[i]);
    }
    for (; b + 4 <= nblocks; b += 4) {
        put(mode, out + 2 * b, encrypt4(rk, ctr));
        ctr = _mm512_add_epi64(ctr, four);
    }
    __m128i c1 = _mm512_castsi512_si128(ctr);
    const __m128i one = _mm_set_epi64x(0, 1);
    for (; b < nblocks; b++) {
        __m128i x = encrypt1(rk, c1);
        __m128i *p = (__m128i *)(out + 2 * b);
        __m128i old = _mm_loadu_si128(p);
        switch (mode) {
        case AES_CTR_XOR: x = _mm_xor_si128(old, x); break;
        case AES_CTR_ADD: x = _mm_add_epi64(old, x); break;
        case AES_CTR_SUB: x = _mm_sub_epi64(old, x); break;
        default: break;
        }
        _mm_storeu_si128(p, x);
        c1 = _mm_add_epi64(c1, one);
    }
}

static void ecb_vaes512(const cc_aes128 *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    __m512i rk[11];
    load_keys(k, rk);
    size_t b = 0;
    for (; b + 4 <= nblocks; b += 4)
        _mm512_storeu_si512(out + 16 * b, encrypt4(rk, _mm512_loadu_si512(in + 16 * b)));
    for (; b < nblocks; b++)
        _mm_storeu_si128((__m128i *)(out + 16 * b),
                         encrypt1(rk, _mm_loadu_si128((const __m128i *)(in + 16 * b))));
}

#define CTR_VARIANT(m, M) \
    static void ctr_vaes512_##m(const cc_aes128 *k, uint64_t s, uint64_t b, size_t n, uint64_t *o) \
    { ctr_vaes512(k, s, b, n, o, M); }
CTR_VARIANT(store, AES_CTR_STORE)
CTR_VARIANT(xor, AES_CTR_XOR)
CTR_VARIANT(add, AES_CTR_ADD)
CTR_VARIANT(sub, AES_CTR_SUB)

const aes_kernels cc_aes_kernels_vaes512 = {
    .name = "vaes512",
    .ecb = ecb_vaes512,
    .ctr = { ctr_vaes512_store, ctr_vaes512_xor, ctr_vaes512_add, ctr_vaes512_sub },
};
