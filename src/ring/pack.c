/* Packed-B layout (the on-disk contract, docs/KERNELS.md "Packed B"):
 *
 *   op(B) is K×N.  Columns are cut into P = ceil(N/NR) panels of NR = 8
 *   columns; panel q holds columns [q*NR, q*NR+NR).  The packed array is the
 *   panels in order, each K rows × NR words, row-major:
 *       packed[(q*K + p)*NR + j] = op(B)[p][q*NR + j]   (0 past column N-1)
 *   Size: P*K*NR words.  Little-endian u64 on disk.  No header, no padding
 *   between panels; any depth slice [p0, p1) of a panel is contiguous, which
 *   is what lets the blocked GEMM use it in place. */
#include "ring.h"
#include "ring_impl.h"
#include "core.h"
#include "kern.h"
#include "thread.h"

#include <string.h>

#define NR CC_KERN_NR

size_t cc_ring_packed_size(size_t K, size_t N)
{
    size_t panels = N / NR + (N % NR != 0), words, bytes;
    if (!cc_mul_size(panels * NR, K, &words) || !cc_mul_size(words, sizeof(uint64_t), &bytes))
        return SIZE_MAX;
    return bytes;
}

void cc_ring_pack_panel(size_t k, size_t cols, const uint64_t *src, size_t rs, size_t cs,
                        uint64_t *dst)
{
    if (cols == NR && cs == 1) {
        for (size_t p = 0; p < k; p++) memcpy(dst + p * NR, src + p * rs, NR * sizeof *dst);
        return;
    }
    if (cols == NR && rs == 1) {
        /* Transposed source: walk each source row (a column of the panel)
         * contiguously, for locality on large K. */
        for (size_t j = 0; j < NR; j++) {
            const uint64_t *s = src + j * cs;
            for (size_t p = 0; p < k; p++) dst[p * NR + j] = s[p];
        }
        return;
    }
    for (size_t p = 0; p < k; p++)
        for (size_t j = 0; j < NR; j++)
            dst[p * NR + j] = j < cols ? src[p * rs + j * cs] : 0;
}

void cc_ring_pack_b(cc_trans tb, size_t K, size_t N, const uint64_t *B, size_t ldb,
                    uint64_t *packed)
{
    if (K == 0 || N == 0) return;
    size_t rs = tb == CC_NOTRANS ? ldb : 1, cs = tb == CC_NOTRANS ? 1 : ldb;
    CC_ASSERT(ldb >= (tb == CC_NOTRANS ? N : K));
    long panels = (long)(N / NR + (N % NR != 0));
    int threads = K * N >= (1u << 18) ? cc_thread_count() : 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long q = 0; q < panels; q++) {
        size_t j0 = (size_t)q * NR;
        cc_ring_pack_panel(K, CC_MIN(NR, N - j0), B + j0 * cs, rs, cs,
                           packed + (size_t)q * K * NR);
    }
}

void cc_ring_unpack_b(size_t K, size_t N, const uint64_t *packed, uint64_t *B, size_t ldb)
{
    if (K == 0 || N == 0) return;
    CC_ASSERT(ldb >= N);
    for (size_t p = 0; p < K; p++)
        for (size_t j = 0; j < N; j++)
            B[p * ldb + j] = packed[((j / NR) * K + p) * NR + j % NR];
}
