/* Portable reference kernels: plain C, the definition every SIMD variant is
 * tested against bit-exactly.  Unsigned arithmetic wraps mod 2^64 by the C
 * standard, which is exactly the ring. */
#include "kern.h"
#include "kern_impl.h"

#include <string.h>

#define REF_MR 4
#define NR CC_KERN_NR

static void ref_pack_a(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                       uint64_t *Ap)
{
    for (size_t p = 0; p < k; p++)
        for (size_t i = 0; i < REF_MR; i++)
            Ap[p * REF_MR + i] = i < m ? A[i * rs + p * cs] : 0;
}

static void ref_gemm_ukr(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                         uint64_t *C, size_t ldc, bool accumulate)
{
    uint64_t acc[REF_MR][NR];
    memset(acc, 0, sizeof acc);
    for (size_t p = 0; p < k; p++)
        for (size_t i = 0; i < REF_MR; i++)
            for (size_t j = 0; j < NR; j++)
                acc[i][j] += Ap[p * REF_MR + i] * Bp[p * ldb + j];
    for (size_t i = 0; i < REF_MR; i++)
        for (size_t j = 0; j < NR; j++)
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc[i][j] : acc[i][j];
}

/* m rows exactly (no padding): element (i, p) at Ap[p*m + i]. */
static void ref_pack_a_rows(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                            uint64_t *Ap)
{
    for (size_t p = 0; p < k; p++)
        for (size_t i = 0; i < m; i++)
            Ap[p * m + i] = A[i * rs + p * cs];
}

static void ref_gemm_small(size_t m, size_t np, size_t k, const uint64_t *Ap,
                           const uint64_t *Bp, size_t ldb, size_t pstride, uint64_t *C,
                           size_t ldc, bool accumulate)
{
    for (size_t q = 0; q < np; q++) {
        const uint64_t *B = Bp + q * pstride;
        for (size_t i = 0; i < m; i++) {
            uint64_t acc[NR] = { 0 };
            for (size_t p = 0; p < k; p++)
                for (size_t j = 0; j < NR; j++) acc[j] += Ap[p * m + i] * B[p * ldb + j];
            uint64_t *c = C + i * ldc + q * NR;
            for (size_t j = 0; j < NR; j++) c[j] = accumulate ? c[j] + acc[j] : acc[j];
        }
    }
}

static void ref_add(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i]; }
static void ref_sub(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] - b[i]; }
static void ref_mul(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i]; }
static void ref_xor(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] ^ b[i]; }
static void ref_and(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] & b[i]; }
static void ref_neg(size_t n, const uint64_t *a, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = 0 - a[i]; }
static void ref_not(size_t n, const uint64_t *a, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = ~a[i]; }
static void ref_mul_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] * s; }
static void ref_add_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] + s; }
static void ref_shl(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] << bits; }
static void ref_shr_logic(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{ for (size_t i = 0; i < n; i++) out[i] = a[i] >> bits; }

/* Arithmetic shift written without relying on the implementation-defined
 * right shift of negative signed values: shift logically, then fill the
 * vacated top bits with copies of the sign bit. */
static void ref_shr_arith(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t sign_fill = bits ? (0 - (a[i] >> 63)) << (63 - bits) << 1 : 0;
        out[i] = (a[i] >> bits) | sign_fill;
    }
}

static uint64_t ref_sum(size_t n, const uint64_t *a)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
}

static size_t ref_fxp_from_f32(size_t n, const float *x, unsigned f, uint64_t *out)
{
    return kern_fxp_tail(0, n, x, f, out);
}

const cc_kern cc_kern_ref = {
    .name = "ref",
    .mr = REF_MR, .a_words = 1, .mc = 128, .kc = 256, .nc = 2048,
    .pack_a = ref_pack_a, .gemm_ukr = ref_gemm_ukr,
    .pack_a_rows = ref_pack_a_rows, .gemm_small = ref_gemm_small,
    .add = ref_add, .sub = ref_sub, .mul = ref_mul, .xor_ = ref_xor, .and_ = ref_and,
    .neg = ref_neg, .not_ = ref_not,
    .mul_scalar = ref_mul_scalar, .add_scalar = ref_add_scalar,
    .shr_arith = ref_shr_arith, .shr_logic = ref_shr_logic, .shl = ref_shl,
    .sum = ref_sum,
    .fxp_from_f32 = ref_fxp_from_f32,
};
