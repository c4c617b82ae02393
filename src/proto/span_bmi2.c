/* The MSB tree's per-level bit shuffle with BMI2 PEXT (compiled with
 * -mbmi2, called only when cpuid reports BMI2; boolean.c has the portable
 * version and the tests compare both through the protocol results). */
#include <immintrin.h>
#include "proto_internal.h"

void pr_span_split_bmi2(size_t n, unsigned m, uint64_t *G, const uint64_t *P, uint64_t *A,
                        uint64_t *B)
{
    const uint64_t even = UINT64_C(0x5555555555555555), odd = even << 1;
    const unsigned half = m / 2;
    if (m > 2) {
        for (size_t j = 0; j < n; j++) {
            uint64_t g = G[j], p = P[j];
            uint64_t phi = _pext_u64(p, odd);
            A[j] = phi | (phi << half);
            B[j] = _pext_u64(g, even) | (_pext_u64(p, even) << half);
            G[j] = _pext_u64(g, odd);
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            uint64_t g = G[j];
            A[j] = _pext_u64(P[j], odd);
            B[j] = _pext_u64(g, even);
            G[j] = _pext_u64(g, odd);
        }
    }
}
