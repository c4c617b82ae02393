/* AVX2 kernels (compiled with -mavx2; selected only when cpuid has AVX2).
 *
 * AVX2 has no 64×64→64 vector multiply.  Writing a = ah·2^32 + al and
 * b = bh·2^32 + bl,
 *     a·b mod 2^64 = al·bl + 2^32·(ah·bl + al·bh mod 2^32).
 * The GEMM micro-kernel spends exactly two vector multiplies per 4
 * multiply-adds:
 *   - vpmuludq (al·bl, full 64-bit product) into a 64-bit accumulator, and
 *   - vpmulld on 32-bit lanes of (b) × (a rotated by 32 bits): lane 2j gets
 *     bl·ah and lane 2j+1 gets bh·al (low 32 bits each, which is all the
 *     cross term needs), summed into a second accumulator with vpaddd.
 * At the end cross = lane_lo + lane_hi (mod 2^32) is shifted up and added.
 * Packed A therefore stores each element twice: a, then a rotated by 32.
 *
 * The tile is 4×8: rows 0-2 use 12 ymm accumulators (all 16 registers are
 * live), row 3 runs on the scalar imul unit.  The table uses the assembly
 * version (asm/x86_64/gemm_avx2_4x8.S, which also explains the choice); the
 * intrinsic version below states the same computation readably and is tested
 * against it (GCC spills half the accumulators of this one). */
#include "kern.h"
#include "kern_impl.h"

#include <immintrin.h>

#define MR 4
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

void cc_gemm_avx2_ukr_4x8_c(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                            uint64_t *C, size_t ldc, bool accumulate)
{
    __m256i lo[3][2], cr[3][2];
    uint64_t row3[NR] = { 0 };
    for (int i = 0; i < 3; i++)
        lo[i][0] = lo[i][1] = cr[i][0] = cr[i][1] = _mm256_setzero_si256();
    for (size_t p = 0; p < k; p++) {
        const uint64_t *b = Bp + p * ldb;
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 4));
        const uint64_t *a = Ap + p * MR * 2;
        for (int i = 0; i < 3; i++) {
            __m256i av = _mm256_set1_epi64x((long long)a[2 * i]);
            __m256i rv = _mm256_set1_epi64x((long long)a[2 * i + 1]);
            lo[i][0] = _mm256_add_epi64(lo[i][0], _mm256_mul_epu32(av, b0));
            lo[i][1] = _mm256_add_epi64(lo[i][1], _mm256_mul_epu32(av, b1));
            cr[i][0] = _mm256_add_epi32(cr[i][0], _mm256_mullo_epi32(rv, b0));
            cr[i][1] = _mm256_add_epi32(cr[i][1], _mm256_mullo_epi32(rv, b1));
        }
        for (int j = 0; j < NR; j++) row3[j] += a[6] * b[j];
    }
    for (int i = 0; i < 3; i++) {
        __m256i v0 = fold(lo[i][0], cr[i][0]), v1 = fold(lo[i][1], cr[i][1]);
        uint64_t *c = C + i * ldc;
        if (accumulate) {
            v0 = _mm256_add_epi64(v0, _mm256_loadu_si256((const __m256i *)c));
            v1 = _mm256_add_epi64(v1, _mm256_loadu_si256((const __m256i *)(c + 4)));
        }
        _mm256_storeu_si256((__m256i *)c, v0);
        _mm256_storeu_si256((__m256i *)(c + 4), v1);
    }
    for (int j = 0; j < NR; j++) C[3 * ldc + j] = (accumulate ? C[3 * ldc + j] : 0) + row3[j];
}

/* ---- small M: m < MR rows without padding ----------------------------------
 * (see avx512.c).  m = 1 takes two panels per pass (8 ymm accumulators),
 * m = 2 and 3 one panel; m = MR is the assembly tile. */
#define SMALL_NP_MAX 2

static void avx2_pack_a_rows(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                             uint64_t *Ap)
{
    for (size_t p = 0; p < k; p++) {
        for (size_t i = 0; i < m; i++) {
            uint64_t a = A[i * rs + p * cs];
            Ap[(p * m + i) * 2] = a;
            Ap[(p * m + i) * 2 + 1] = rot32(a);
        }
    }
}

static inline __attribute__((always_inline)) void
small_block(const int m, const int np, size_t k, const uint64_t *Ap, const uint64_t *Bp,
            size_t ldb, size_t pstride, uint64_t *C, size_t ldc, bool accumulate)
{
    /* [row][panel][half]: each 8-word panel row is two ymm */
    __m256i lo[MR - 1][SMALL_NP_MAX][2], cr[MR - 1][SMALL_NP_MAX][2];
#pragma GCC unroll 4
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int q = 0; q < np; q++)
            lo[i][q][0] = lo[i][q][1] = cr[i][q][0] = cr[i][q][1] = _mm256_setzero_si256();
    for (size_t p = 0; p < k; p++) {
        __m256i b[SMALL_NP_MAX][2];
#pragma GCC unroll 2
        for (int q = 0; q < np; q++) {
            const uint64_t *bq = Bp + q * pstride + p * ldb;
            b[q][0] = _mm256_loadu_si256((const __m256i *)bq);
            b[q][1] = _mm256_loadu_si256((const __m256i *)(bq + 4));
        }
        const uint64_t *a = Ap + p * (size_t)m * 2;
#pragma GCC unroll 4
        for (int i = 0; i < m; i++) {
            __m256i av = _mm256_set1_epi64x((long long)a[2 * i]);
            __m256i rv = _mm256_set1_epi64x((long long)a[2 * i + 1]);
#pragma GCC unroll 2
            for (int q = 0; q < np; q++) {
#pragma GCC unroll 2
                for (int h = 0; h < 2; h++) {
                    lo[i][q][h] = _mm256_add_epi64(lo[i][q][h], _mm256_mul_epu32(av, b[q][h]));
                    cr[i][q][h] = _mm256_add_epi32(cr[i][q][h], _mm256_mullo_epi32(rv, b[q][h]));
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < m; i++) {
#pragma GCC unroll 2
        for (int q = 0; q < np; q++) {
            uint64_t *c = C + i * ldc + q * NR;
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m256i v = fold(lo[i][q][h], cr[i][q][h]);
                if (accumulate) v = _mm256_add_epi64(v, _mm256_loadu_si256((const __m256i *)(c + 4 * h)));
                _mm256_storeu_si256((__m256i *)(c + 4 * h), v);
            }
        }
    }
}

void cc_gemm_avx2_ukr_4x8(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                          uint64_t *C, size_t ldc, bool accumulate);

static void avx2_gemm_small(size_t m, size_t np, size_t k, const uint64_t *Ap,
                            const uint64_t *Bp, size_t ldb, size_t pstride, uint64_t *C,
                            size_t ldc, bool accumulate)
{
    size_t q = 0;
#define RUN(M, NP)                                                                         \
    for (; q + (NP) <= np; q += (NP))                                                      \
        small_block((M), (NP), k, Ap, Bp + q * pstride, ldb, pstride, C + q * NR, ldc,      \
                    accumulate)
    switch (m) {
    case 1: RUN(1, 2); RUN(1, 1); break;
    case 2: RUN(2, 1); break;
    case 3: RUN(3, 1); break;
    default:                  /* m == MR: the assembly tile, one panel at a time */
        for (; q < np; q++)
            cc_gemm_avx2_ukr_4x8(k, Ap, Bp + q * pstride, ldb, C + q * NR, ldc, accumulate);
    }
#undef RUN
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

/* kern_fxp_one on 4 lanes, branch-free (see avx512_fxp_from_f32; AVX2 has
 * no 64-bit max or masks: max(e, 1) = e - [e == 0], selects by blendv). */
static size_t avx2_fxp_from_f32(size_t n, const float *x, unsigned f, uint64_t *out)
{
    const __m256i mant_mask = _mm256_set1_epi64x(0x7fffff), implicit = _mm256_set1_epi64x(0x800000);
    const __m256i ff = _mm256_set1_epi64x(0xff), one = _mm256_set1_epi64x(1);
    const __m256i bias = _mm256_set1_epi64x((long long)f - 150), max_sh = _mm256_set1_epi64x(38);
    const __m256i zero = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i u = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(x + i)));
        __m256i ex = _mm256_and_si256(_mm256_srli_epi64(u, 23), ff);
        __m256i subnormal = _mm256_cmpeq_epi64(ex, zero);                      /* all ones */
        __m256i m = _mm256_or_si256(_mm256_and_si256(u, mant_mask),
                                    _mm256_andnot_si256(subnormal, implicit));
        __m256i sh = _mm256_add_epi64(_mm256_sub_epi64(ex, subnormal), bias);
        __m256i bad = _mm256_or_si256(_mm256_cmpeq_epi64(ex, ff), _mm256_cmpgt_epi64(sh, max_sh));
        if (!_mm256_testz_si256(bad, bad)) return kern_fxp_tail(i, n, x, f, out);
        __m256i s = _mm256_sub_epi64(zero, sh);
        __m256i half = _mm256_srli_epi64(_mm256_sllv_epi64(one, s), 1);
        __m256i right = _mm256_srlv_epi64(_mm256_add_epi64(m, half), s);
        __m256i mag = _mm256_blendv_epi8(_mm256_sllv_epi64(m, sh), right,
                                         _mm256_cmpgt_epi64(zero, sh));
        __m256i neg = _mm256_sub_epi64(zero, _mm256_srli_epi64(u, 31));
        STORE(out + i, _mm256_sub_epi64(_mm256_xor_si256(mag, neg), neg));
    }
    return kern_fxp_tail(i, n, x, f, out);
}

const cc_kern cc_kern_avx2 = {
    .name = "avx2",
    .mr = MR, .a_words = 2, .mc = 64, .kc = 128, .nc = 4096,
    .pack_a = avx2_pack_a, .gemm_ukr = cc_gemm_avx2_ukr_4x8,
    .pack_a_rows = avx2_pack_a_rows, .gemm_small = avx2_gemm_small,
    .add = avx2_add, .sub = avx2_sub, .mul = avx2_mul, .xor_ = avx2_xor, .and_ = avx2_and,
    .neg = avx2_neg, .not_ = avx2_not,
    .mul_scalar = avx2_mul_scalar, .add_scalar = avx2_add_scalar,
    .shr_arith = avx2_shr_arith, .shr_logic = avx2_shr_logic, .shl = avx2_shl,
    .sum = avx2_sum,
    .fxp_from_f32 = avx2_fxp_from_f32,
};
