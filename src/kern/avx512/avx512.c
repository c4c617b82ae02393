/* AVX-512 kernels (compiled with -mavx512f -mavx512dq; selected only when
 * cpuid reports AVX512F and AVX512DQ with OS zmm support).
 *
 * The GEMM micro-kernel uses the same two-multiply split as the AVX2 one
 * (see avx2.c): vpmuludq for al·bl and vpmulld on (b) × (a rotated by 32) for
 * the two cross products, because vpmullq decodes to three multiply uops on
 * current Intel cores, i.e. 1.5× the multiply work of the split.  One zmm
 * holds a full packed-B row (NR = 8), so MR = 8 rows use 16 accumulators.
 * Elementwise mul uses vpmullq: there is no B reuse to amortise the split.
 * Only AVX512F/DQ intrinsics that SIMDe also implements are used, so
 * tests/kern can run this file's logic under emulation here on Zen 3. */
#include "kern.h"
#include "kern_impl.h"

#ifdef CARACAL_KERN_SIMDE
/* Test build (tests/kern): the same source on SIMDe's portable AVX-512, so
 * the logic is exercised on CPUs without AVX-512; table renamed. */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define cc_kern_avx512 cc_kern_avx512_simde
#else
#include <immintrin.h>
#endif

#define MR 8
#define NR CC_KERN_NR

static inline uint64_t rot32(uint64_t x) { return (x >> 32) | (x << 32); }

static void avx512_pack_a(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
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

static void avx512_gemm_ukr(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                            uint64_t *C, size_t ldc, bool accumulate)
{
    __m512i lo[MR], cr[MR];
    for (int i = 0; i < MR; i++) lo[i] = cr[i] = _mm512_setzero_si512();
    for (size_t p = 0; p < k; p++) {
        __m512i b = _mm512_loadu_si512((const void *)(Bp + p * ldb));
        const long long *a = (const long long *)(Ap + p * MR * 2);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            lo[i] = _mm512_add_epi64(lo[i], _mm512_mul_epu32(_mm512_set1_epi64(a[2 * i]), b));
            cr[i] = _mm512_add_epi32(cr[i], _mm512_mullo_epi32(_mm512_set1_epi64(a[2 * i + 1]), b));
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        __m512i c = _mm512_add_epi64(cr[i], _mm512_srli_epi64(cr[i], 32));
        __m512i v = _mm512_add_epi64(lo[i], _mm512_slli_epi64(c, 32));
        if (accumulate) v = _mm512_add_epi64(v, _mm512_loadu_si512((const void *)(C + i * ldc)));
        _mm512_storeu_si512((void *)(C + i * ldc), v);
    }
}

/* ---- small M: m < MR rows, several B panels per pass ----------------------
 * A decode step multiplies one (or a few) activation rows by every weight
 * column: each B element is used m times, so the cost is the B stream plus
 * two multiplies per B vector and row.  Padding m to the 8-row tile would
 * multiply that work by 8/m; instead the row count is a compile-time
 * constant of an inlined block, and for m <= 4 several panels share each A
 * broadcast (accumulators: 2·m·np <= 16 zmm). */
#define SMALL_NP_MAX 4

static void avx512_pack_a_rows(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
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
    __m512i lo[MR][SMALL_NP_MAX], cr[MR][SMALL_NP_MAX];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 4
        for (int q = 0; q < np; q++) lo[i][q] = cr[i][q] = _mm512_setzero_si512();
    for (size_t p = 0; p < k; p++) {
        __m512i b[SMALL_NP_MAX];
#pragma GCC unroll 4
        for (int q = 0; q < np; q++)
            b[q] = _mm512_loadu_si512((const void *)(Bp + q * pstride + p * ldb));
        const long long *a = (const long long *)(Ap + p * (size_t)m * 2);
#pragma GCC unroll 8
        for (int i = 0; i < m; i++) {
            __m512i av = _mm512_set1_epi64(a[2 * i]), rv = _mm512_set1_epi64(a[2 * i + 1]);
#pragma GCC unroll 4
            for (int q = 0; q < np; q++) {
                lo[i][q] = _mm512_add_epi64(lo[i][q], _mm512_mul_epu32(av, b[q]));
                cr[i][q] = _mm512_add_epi32(cr[i][q], _mm512_mullo_epi32(rv, b[q]));
            }
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
#pragma GCC unroll 4
        for (int q = 0; q < np; q++) {
            uint64_t *c = C + i * ldc + q * NR;
            __m512i x = _mm512_add_epi64(cr[i][q], _mm512_srli_epi64(cr[i][q], 32));
            __m512i v = _mm512_add_epi64(lo[i][q], _mm512_slli_epi64(x, 32));
            if (accumulate) v = _mm512_add_epi64(v, _mm512_loadu_si512((const void *)c));
            _mm512_storeu_si512((void *)c, v);
        }
    }
}

static void avx512_gemm_small(size_t m, size_t np, size_t k, const uint64_t *Ap,
                              const uint64_t *Bp, size_t ldb, size_t pstride, uint64_t *C,
                              size_t ldc, bool accumulate)
{
    size_t q = 0;
#define RUN(M, NP)                                                                         \
    for (; q + (NP) <= np; q += (NP))                                                      \
        small_block((M), (NP), k, Ap, Bp + q * pstride, ldb, pstride, C + q * NR, ldc,      \
                    accumulate)
    switch (m) {
    case 1: RUN(1, 4); RUN(1, 1); break;
    case 2: RUN(2, 2); RUN(2, 1); break;
    case 3: RUN(3, 2); RUN(3, 1); break;
    case 4: RUN(4, 2); RUN(4, 1); break;
    case 5: RUN(5, 1); break;
    case 6: RUN(6, 1); break;
    case 7: RUN(7, 1); break;
    default:                  /* m == MR: the full tile, one panel at a time */
        for (; q < np; q++)
            avx512_gemm_ukr(k, Ap, Bp + q * pstride, ldb, C + q * NR, ldc, accumulate);
    }
#undef RUN
}

/* ---- elementwise: 8 lanes per step, scalar tail ------------------------- */

#define LOAD(p) _mm512_loadu_si512((const void *)(p))
#define STORE(p, v) _mm512_storeu_si512((void *)(p), (v))

#define BINOP(name, vexpr, sexpr)                                                   \
    static void avx512_##name(size_t n, const uint64_t *a, const uint64_t *b,       \
                              uint64_t *out)                                        \
    {                                                                               \
        size_t i = 0;                                                               \
        for (; i + 8 <= n; i += 8) {                                                \
            __m512i x = LOAD(a + i), y = LOAD(b + i);                               \
            STORE(out + i, vexpr);                                                  \
        }                                                                           \
        for (; i < n; i++) {                                                        \
            uint64_t x = a[i], y = b[i];                                            \
            out[i] = sexpr;                                                         \
        }                                                                           \
    }
BINOP(add, _mm512_add_epi64(x, y), x + y)
BINOP(sub, _mm512_sub_epi64(x, y), x - y)
BINOP(mul, _mm512_mullo_epi64(x, y), x * y)
BINOP(xor, _mm512_xor_si512(x, y), x ^ y)
BINOP(and, _mm512_and_si512(x, y), x & y)

/* Unary ops with one broadcast parameter p (vector y). */
#define PARAMOP(name, ptype, vexpr, sexpr)                                          \
    static void avx512_##name(size_t n, const uint64_t *a, ptype p, uint64_t *out)  \
    {                                                                               \
        __m512i y = _mm512_set1_epi64((long long)p);                                \
        size_t i = 0;                                                               \
        for (; i + 8 <= n; i += 8) {                                                \
            __m512i x = LOAD(a + i);                                                \
            STORE(out + i, vexpr);                                                  \
        }                                                                           \
        for (; i < n; i++) {                                                        \
            uint64_t x = a[i];                                                      \
            out[i] = sexpr;                                                         \
        }                                                                           \
    }
PARAMOP(mul_scalar, uint64_t, _mm512_mullo_epi64(x, y), x * p)
PARAMOP(add_scalar, uint64_t, _mm512_add_epi64(x, y), x + p)
PARAMOP(shl, unsigned, _mm512_sllv_epi64(x, y), x << p)
PARAMOP(shr_logic, unsigned, _mm512_srlv_epi64(x, y), x >> p)

/* Arithmetic shift as logical shift OR sign fill (the fill is the
 * all-ones-if-negative mask shifted left by 64-bits; vpsllvq gives 0 for a
 * count of 64, i.e. bits == 0).  Written without vpsraq so the same source
 * runs under the SIMDe emulation test on CPUs without AVX-512. */
static void avx512_shr_arith(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{
    __m512i cnt = _mm512_set1_epi64(bits), fill_cnt = _mm512_set1_epi64(64 - (long long)bits);
    __m512i zero = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i x = LOAD(a + i);
        __m512i sign = _mm512_sub_epi64(zero, _mm512_srli_epi64(x, 63));
        STORE(out + i, _mm512_or_si512(_mm512_srlv_epi64(x, cnt), _mm512_sllv_epi64(sign, fill_cnt)));
    }
    for (; i < n; i++) {
        uint64_t fill = bits ? (0 - (a[i] >> 63)) << (63 - bits) << 1 : 0;
        out[i] = (a[i] >> bits) | fill;
    }
}

static void avx512_neg(size_t n, const uint64_t *a, uint64_t *out)
{
    __m512i zero = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) STORE(out + i, _mm512_sub_epi64(zero, LOAD(a + i)));
    for (; i < n; i++) out[i] = 0 - a[i];
}

static void avx512_not(size_t n, const uint64_t *a, uint64_t *out)
{
    __m512i ones = _mm512_set1_epi64(-1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) STORE(out + i, _mm512_xor_si512(LOAD(a + i), ones));
    for (; i < n; i++) out[i] = ~a[i];
}

static uint64_t avx512_sum(size_t n, const uint64_t *a)
{
    __m512i s = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) s = _mm512_add_epi64(s, LOAD(a + i));
    uint64_t lanes[8], total = 0;
    STORE(lanes, s);
    for (int l = 0; l < 8; l++) total += lanes[l];
    for (; i < n; i++) total += a[i];
    return total;
}

/* kern_fxp_one on 8 lanes, branch-free: sh = max(e, 1) - 150 + f, then
 * m << sh or (m + half) >> -sh selected per lane (variable shifts give 0
 * for counts of 64 and more, which is exactly the scalar's s > 40 case),
 * negated where the sign bit is set.  A vector with a lane that does not
 * fit is redone by the scalar code to find the first such lane. */
/* 8 floats' bits, zero-extended to 64-bit lanes.  SIMDe has no vpmovzxdq:
 * the emulation test build widens with a plain loop (the rest of the
 * logic below is the same source either way). */
static inline __m512i widen_u32(const float *x)
{
#ifdef CARACAL_KERN_SIMDE
    uint64_t w[8];
    for (int l = 0; l < 8; l++) {
        uint32_t u;
        memcpy(&u, x + l, 4);
        w[l] = u;
    }
    return LOAD(w);
#else
    return _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)x));
#endif
}

static size_t avx512_fxp_from_f32(size_t n, const float *x, unsigned f, uint64_t *out)
{
    const __m512i mant_mask = _mm512_set1_epi64(0x7fffff), implicit = _mm512_set1_epi64(0x800000);
    const __m512i ff = _mm512_set1_epi64(0xff), one = _mm512_set1_epi64(1);
    const __m512i bias = _mm512_set1_epi64((long long)f - 150), max_sh = _mm512_set1_epi64(38);
    const __m512i zero = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i u = widen_u32(x + i);
        __m512i ex = _mm512_and_si512(_mm512_srli_epi64(u, 23), ff);
        uint8_t normal = (uint8_t)~_mm512_cmpeq_epi64_mask(ex, zero);   /* masks as plain bytes */
        __m512i m = _mm512_mask_or_epi64(_mm512_and_si512(u, mant_mask), normal,
                                         _mm512_and_si512(u, mant_mask), implicit);
        __m512i sh = _mm512_add_epi64(_mm512_max_epi64(ex, one), bias);
        uint8_t bad = _mm512_cmpeq_epi64_mask(ex, ff) | _mm512_cmpgt_epi64_mask(sh, max_sh);
        if (bad) return kern_fxp_tail(i, n, x, f, out);
        __m512i s = _mm512_sub_epi64(zero, sh);
        __m512i half = _mm512_srli_epi64(_mm512_sllv_epi64(one, s), 1);
        __m512i right = _mm512_srlv_epi64(_mm512_add_epi64(m, half), s);
        __m512i mag = _mm512_mask_blend_epi64(_mm512_cmpgt_epi64_mask(zero, sh),
                                              _mm512_sllv_epi64(m, sh), right);
        __m512i neg = _mm512_sub_epi64(zero, _mm512_srli_epi64(u, 31));   /* 0 or all ones */
        STORE(out + i, _mm512_sub_epi64(_mm512_xor_si512(mag, neg), neg));
    }
    return kern_fxp_tail(i, n, x, f, out);
}

const cc_kern cc_kern_avx512 = {
    .name = "avx512",
    .mr = MR, .a_words = 2, .mc = 128, .kc = 128, .nc = 4096,
    .pack_a = avx512_pack_a, .gemm_ukr = avx512_gemm_ukr,
    .pack_a_rows = avx512_pack_a_rows, .gemm_small = avx512_gemm_small,
    .add = avx512_add, .sub = avx512_sub, .mul = avx512_mul, .xor_ = avx512_xor, .and_ = avx512_and,
    .neg = avx512_neg, .not_ = avx512_not,
    .mul_scalar = avx512_mul_scalar, .add_scalar = avx512_add_scalar,
    .shr_arith = avx512_shr_arith, .shr_logic = avx512_shr_logic, .shl = avx512_shl,
    .sum = avx512_sum,
    .fxp_from_f32 = avx512_fxp_from_f32,
};
