/* Ring GEMM through OpenBLAS DGEMM (the "limb" route), kept as an
 * alternative to the native kernels so the benchmark can compare them.
 *
 * Every u64 is split into three signed ("balanced") limbs at bit offsets
 * 0, 22 and 43:  x ≡ l0 + l1·2^22 + l2·2^43 (mod 2^64) with
 * l0 ∈ [-2^21, 2^21) and l1, l2 ∈ [-2^20, 2^20).  Each limb is exact in a
 * double, each product of two limbs is below 2^42 in magnitude, so a dot
 * product over at most 2^11 terms stays within ±2^53 and DGEMM computes it
 * exactly.  Of the nine limb products the six with offset < 64 matter:
 *   C ≡ Σ_{s_i + s_j < 64} 2^(s_i+s_j) · A_i·B_j   (mod 2^64)
 * so the cost is six DGEMMs per depth block of 2048, plus the limb splits.
 * At DGEMM's 8 FMA lanes per cycle that is at best 1.33 ring MACs per cycle,
 * well under the native AVX2 kernel's 4: see docs/BENCHMARKS.md. */
#include "ring.h"
#include "core.h"

#include <cblas.h>
#include <string.h>

#define LIMB_DEPTH 2048            /* 2^11 terms of magnitude < 2^42: exact */
static const unsigned limb_shift[3] = { 0, 22, 43 };
static const unsigned limb_bits[3] = { 22, 21, 21 };

static inline int64_t sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

static inline void split(uint64_t x, double out[3])
{
    for (int i = 0; i < 3; i++) {
        int64_t l = sext(x, limb_bits[i]);
        out[i] = (double)l;
        x = (x - (uint64_t)l) >> limb_bits[i];
    }
}

cc_status cc_ring_gemm_dgemm(cc_trans ta, cc_trans tb, size_t M, size_t N, size_t K,
                             const uint64_t *A, size_t lda, const uint64_t *B, size_t ldb,
                             uint64_t *C, size_t ldc, bool accumulate)
{
    if (M == 0 || N == 0) return CC_OK;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return cc_error_set(CC_ERR_RANGE, "dgemm route: dimension beyond 32-bit BLAS indices");
    if (!accumulate)
        for (size_t i = 0; i < M; i++) memset(C + i * ldc, 0, N * sizeof *C);
    if (K == 0) return CC_OK;
    size_t kb_max = CC_MIN(K, (size_t)LIMB_DEPTH);
    double *Al = cc_alloc(3 * M * kb_max * sizeof(double));
    double *Bl = cc_alloc(3 * kb_max * N * sizeof(double));
    double *D = cc_alloc(M * N * sizeof(double));
    if (!Al || !Bl || !D) {
        cc_free(Al); cc_free(Bl); cc_free(D);
        return cc_error_wrap(CC_ERR_NOMEM, "dgemm route buffers");
    }
    for (size_t p0 = 0; p0 < K; p0 += LIMB_DEPTH) {
        size_t kb = CC_MIN((size_t)LIMB_DEPTH, K - p0);
        /* limb planes: Al[l] is M×kb row-major, Bl[l] is kb×N row-major */
        double l[3];
        for (size_t i = 0; i < M; i++)
            for (size_t p = 0; p < kb; p++) {
                split(ta == CC_NOTRANS ? A[i * lda + p0 + p] : A[(p0 + p) * lda + i], l);
                for (int t = 0; t < 3; t++) Al[(size_t)t * M * kb + i * kb + p] = l[t];
            }
        for (size_t p = 0; p < kb; p++)
            for (size_t j = 0; j < N; j++) {
                split(tb == CC_NOTRANS ? B[(p0 + p) * ldb + j] : B[j * ldb + p0 + p], l);
                for (int t = 0; t < 3; t++) Bl[(size_t)t * kb * N + p * N + j] = l[t];
            }
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                unsigned shift = limb_shift[a] + limb_shift[b];
                if (shift >= 64) continue;
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)kb,
                            1.0, Al + (size_t)a * M * kb, (int)kb, Bl + (size_t)b * kb * N, (int)N,
                            0.0, D, (int)N);
                for (size_t i = 0; i < M; i++)
                    for (size_t j = 0; j < N; j++)
                        C[i * ldc + j] += (uint64_t)(int64_t)D[i * N + j] << shift;
            }
    }
    cc_free(Al); cc_free(Bl); cc_free(D);
    return CC_OK;
}
