/* AVX2 kernels (compiled with -mavx2 -mbmi2; selected only when cpuid has AVX2).
 *
 * AVX2 has no 64×64→64 vector multiply.  Writing a = ah·2^32 + al and
 * b = bh·2^32 + bl,
 *     a·b mod 2^64 = al·bl + 2^32·(ah·bl + al·bh mod 2^32).
 * The GEMM micro-kernel spends exactly two multiplies per 4 multiply-adds:
 *   - vpmuludq (al·bl, full 64-bit product) into a 64-bit accumulator, and
 *   - vpmulld on 32-bit lanes of (b) × (a rotated by 32 bits): lane 2j gets
 *     bl·ah and lane 2j+1 gets bh·al (low 32 bits each, which is all the
 *     cross term needs), summed into a second accumulator with vpaddd.
 * At the end cross = lane_lo + lane_hi (mod 2^32) is shifted up and added.
 * Both multiplies issue two per cycle on Zen 3, so the ceiling is 4 MAC per
 * cycle (half of DGEMM's 8 FMA lanes per cycle); see docs/BENCHMARKS.md.
 * Packed A therefore stores each element twice: a, then a rotated by 32. */
#include "kern.h"

#include <immintrin.h>

#define MR 3
#define NR CC_KERN_NR

static inline uint64_t rot32(uint64_t x) { return (x >> 32) | (x << 32); }

static void avx2_pack_a(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                        uint64_t *Ap)
{
    for (size_t p = 0; p < k; p++) {
        for (size_t i = 0; i < MR; i++) {
            uint64_t a = i < m ? A[i * rs + p * cs] : 0;
            Ap[(p * MR + i) * 2] = a;
            Ap[(p * MR + i) * 2 + 1] = rot32(a);
        }
    }
}

static inline __m256i fold(__m256i lo, __m256i cross)
{
    /* cross holds two 32-bit partial cross products per 64-bit lane */
    __m256i c = _mm256_add_epi64(cross, _mm256_srli_epi64(cross, 32));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(c, 32));
}

static inline void store_row(uint64_t *c, __m256i v0, __m256i v1, bool accumulate)
{
    if (accumulate) {
        v0 = _mm256_add_epi64(v0, _mm256_loadu_si256((const __m256i *)c));
        v1 = _mm256_add_epi64(v1, _mm256_loadu_si256((const __m256i *)(c + 4)));
    }
    _mm256_storeu_si256((__m256i *)c, v0);
    _mm256_storeu_si256((__m256i *)(c + 4), v1);
}

/* The intrinsic form of the micro-kernel: the readable statement of what
 * asm/x86_64/gemm_avx2_3x8.S computes (the table uses the assembly, which
 * keeps all 12 accumulators in registers; tests check both). */
void cc_gemm_avx2_ukr_3x8_c(size_t k, const uint64_t *Ap, const uint64_t *Bp,
                          uint64_t *C, size_t ldc, bool accumulate)
{
    __m256i lo00 = _mm256_setzero_si256(), lo01 = lo00, lo10 = lo00, lo11 = lo00,
            lo20 = lo00, lo21 = lo00;
    __m256i cr00 = lo00, cr01 = lo00, cr10 = lo00, cr11 = lo00, cr20 = lo00, cr21 = lo00;
    for (size_t p = 0; p < k; p++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(Bp + p * NR));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(Bp + p * NR + 4));
        const long long *a = (const long long *)(Ap + p * MR * 2);
        __m256i a0 = _mm256_set1_epi64x(a[0]), r0 = _mm256_set1_epi64x(a[1]);
        lo00 = _mm256_add_epi64(lo00, _mm256_mul_epu32(a0, b0));
        lo01 = _mm256_add_epi64(lo01, _mm256_mul_epu32(a0, b1));
        cr00 = _mm256_add_epi32(cr00, _mm256_mullo_epi32(r0, b0));
        cr01 = _mm256_add_epi32(cr01, _mm256_mullo_epi32(r0, b1));
        __m256i a1 = _mm256_set1_epi64x(a[2]), r1 = _mm256_set1_epi64x(a[3]);
        lo10 = _mm256_add_epi64(lo10, _mm256_mul_epu32(a1, b0));
        lo11 = _mm256_add_epi64(lo11, _mm256_mul_epu32(a1, b1));
        cr10 = _mm256_add_epi32(cr10, _mm256_mullo_epi32(r1, b0));
        cr11 = _mm256_add_epi32(cr11, _mm256_mullo_epi32(r1, b1));
        __m256i a2 = _mm256_set1_epi64x(a[4]), r2 = _mm256_set1_epi64x(a[5]);
        lo20 = _mm256_add_epi64(lo20, _mm256_mul_epu32(a2, b0));
        lo21 = _mm256_add_epi64(lo21, _mm256_mul_epu32(a2, b1));
        cr20 = _mm256_add_epi32(cr20, _mm256_mullo_epi32(r2, b0));
        cr21 = _mm256_add_epi32(cr21, _mm256_mullo_epi32(r2, b1));
    }
    store_row(C, fold(lo00, cr00), fold(lo01, cr01), accumulate);
    store_row(C + ldc, fold(lo10, cr10), fold(lo11, cr11), accumulate);
    store_row(C + 2 * ldc, fold(lo20, cr20), fold(lo21, cr21), accumulate);
}

/* ---- elementwise ---------------------------------------------------------- */

#define LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define STORE(p, v) _mm256_storeu_si256((__m256i *)(p), (v))

/* Full 64-bit lane product: al·bl + ((ah·bl + al·bh) << 32). */
static inline __m256i mul64(__m256i a, __m256i b)
{
    __m256i lo = _mm256_mul_epu32(a, b);
    __m256i cross = _mm256_mullo_epi32(_mm256_shuffle_epi32(a, 0xB1), b);
    return fold(lo, cross);
}

#define BINOP(name, vexpr, sexpr)                                                   \
    static void avx2_##name(size_t n, const uint64_t *a, const uint64_t *b,         \
                            uint64_t *out)                                          \
    {                                                                               \
        size_t i = 0;                                                               \
        for (; i + 4 <= n; i += 4) {                                                \
            __m256i x = LOAD(a + i), y = LOAD(b + i);                               \
            STORE(out + i, vexpr);                                                  \
        }                                                                           \
        for (; i < n; i++) {                                                        \
            uint64_t x = a[i], y = b[i];                                            \
            out[i] = sexpr;                                                         \
        }                                                                           \
    }
BINOP(add, _mm256_add_epi64(x, y), x + y)
BINOP(sub, _mm256_sub_epi64(x, y), x - y)
BINOP(mul, mul64(x, y), x * y)
BINOP(xor, _mm256_xor_si256(x, y), x ^ y)
BINOP(and, _mm256_and_si256(x, y), x & y)

static void avx2_neg(size_t n, const uint64_t *a, uint64_t *out)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) STORE(out + i, _mm256_sub_epi64(_mm256_setzero_si256(), LOAD(a + i)));
    for (; i < n; i++) out[i] = 0 - a[i];
}

static void avx2_not(size_t n, const uint64_t *a, uint64_t *out)
{
    size_t i = 0;
    __m256i ones = _mm256_set1_epi64x(-1);
    for (; i + 4 <= n; i += 4) STORE(out + i, _mm256_xor_si256(LOAD(a + i), ones));
    for (; i < n; i++) out[i] = ~a[i];
}

static void avx2_mul_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out)
{
    size_t i = 0;
    __m256i sv = _mm256_set1_epi64x((long long)s);
    for (; i + 4 <= n; i += 4) STORE(out + i, mul64(LOAD(a + i), sv));
    for (; i < n; i++) out[i] = a[i] * s;
}

static void avx2_add_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out)
{
    size_t i = 0;
    __m256i sv = _mm256_set1_epi64x((long long)s);
    for (; i + 4 <= n; i += 4) STORE(out + i, _mm256_add_epi64(LOAD(a + i), sv));
    for (; i < n; i++) out[i] = a[i] + s;
}

static void avx2_shl(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{
    size_t i = 0;
    __m128i cnt = _mm_cvtsi32_si128((int)bits);
    for (; i + 4 <= n; i += 4) STORE(out + i, _mm256_sll_epi64(LOAD(a + i), cnt));
    for (; i < n; i++) out[i] = a[i] << bits;
}

static void avx2_shr_logic(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{
    size_t i = 0;
    __m128i cnt = _mm_cvtsi32_si128((int)bits);
    for (; i + 4 <= n; i += 4) STORE(out + i, _mm256_srl_epi64(LOAD(a + i), cnt));
    for (; i < n; i++) out[i] = a[i] >> bits;
}

/* No vpsraq before AVX-512: shift logically and OR in the sign fill, which is
 * the all-ones-if-negative mask shifted left by 64-bits (a count of 64 gives 0,
 * exactly the bits == 0 case). */
static void avx2_shr_arith(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{
    size_t i = 0;
    __m128i cnt = _mm_cvtsi32_si128((int)bits);
    __m128i fill_cnt = _mm_cvtsi32_si128(64 - (int)bits);
    __m256i zero = _mm256_setzero_si256();
    for (; i + 4 <= n; i += 4) {
        __m256i x = LOAD(a + i);
        __m256i sign = _mm256_cmpgt_epi64(zero, x);
        STORE(out + i, _mm256_or_si256(_mm256_srl_epi64(x, cnt), _mm256_sll_epi64(sign, fill_cnt)));
    }
    for (; i < n; i++) {
        uint64_t fill = bits ? (0 - (a[i] >> 63)) << (63 - bits) << 1 : 0;
        out[i] = (a[i] >> bits) | fill;
    }
}

static uint64_t avx2_sum(size_t n, const uint64_t *a)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_add_epi64(s0, LOAD(a + i));
        s1 = _mm256_add_epi64(s1, LOAD(a + i + 4));
    }
    uint64_t lanes[4];
    STORE(lanes, _mm256_add_epi64(s0, s1));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; i++) s += a[i];
    return s;
}

void cc_gemm_avx2_ukr_3x8(size_t k, const uint64_t *Ap, const uint64_t *Bp, uint64_t *C,
                          size_t ldc, bool accumulate);

const cc_kern cc_kern_avx2 = {
    .name = "avx2",
    .mr = MR, .a_words = 2, .mc = 96, .kc = 256, .nc = 4096,
    .pack_a = avx2_pack_a, .gemm_ukr = cc_gemm_avx2_ukr_3x8,
    .add = avx2_add, .sub = avx2_sub, .mul = avx2_mul, .xor_ = avx2_xor, .and_ = avx2_and,
    .neg = avx2_neg, .not_ = avx2_not,
    .mul_scalar = avx2_mul_scalar, .add_scalar = avx2_add_scalar,
    .shr_arith = avx2_shr_arith, .shr_logic = avx2_shr_logic, .shl = avx2_shl,
    .sum = avx2_sum,
};
