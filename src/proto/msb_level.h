/* One level of the MSB carry tree, fused into a single pass, and the bit-pair
 * unzips of the MSB / equality first levels (included by boolean.c with
 * portable bit gathering and by span_bmi2.c with PEXT; the includer defines
 * MSB_LEVEL_NAME, MSB_LEVEL_BODY, MSB_UNZIP_NAME, EQ_UNZIP_NAME, EVEN(x)
 * and ODD(x)).
 *
 * Per element and share plane k: take the previous level's AND result r_k
 * (from the packed messages rin_k, masked to prev_m bits) and update
 *   g_k = G_k ⊕ (r_k ∧ lo),  p_k = r_k ≫ prev_half
 * (first level, prev_m = 0: g_k = G_k, p_k = P_k as given), split the
 * m-bit spans into high (odd) and low (even) halves, keep G_k = G_hi and form the AND operands
 *   a = P_hi | P_hi ≪ half,  b = G_lo | P_lo ≪ half   (m = 2: a = P_hi, b = G_lo)
 * then the local AND term z = a0 (b0 ⊕ b1) ⊕ a1 b0, stored in wb_out bytes
 * of msg_out.  One pass instead of six keeps the tree memory-light. */
#include "msb_wire.h"

/* The level body; always inlined with constant m / widths so every level
 * gets its own branch-free loop. */
static inline __attribute__((always_inline)) void
MSB_LEVEL_BODY(size_t n, const unsigned m, const unsigned prev_m, const void *rin0,
               const void *rin1, const size_t wb_in, uint64_t *G0, uint64_t *G1,
               const uint64_t *P0, const uint64_t *P1, void *msg_out, const size_t wb_out)
{
    const unsigned half = m / 2, prev_half = prev_m / 2;
    const uint64_t in_mask = prev_m >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << prev_m) - 1;
    const uint64_t lo = prev_half ? (UINT64_C(1) << prev_half) - 1 : 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t g0, g1, p0, p1;
        if (prev_m == 0) {
            g0 = G0[j]; g1 = G1[j];
            p0 = P0[j]; p1 = P1[j];
        } else {
            uint64_t r0 = msb_ld(rin0, wb_in, j) & in_mask, r1 = msb_ld(rin1, wb_in, j) & in_mask;
            g0 = G0[j] ^ (r0 & lo); g1 = G1[j] ^ (r1 & lo);
            p0 = r0 >> prev_half;   p1 = r1 >> prev_half;
        }
        uint64_t phi0 = ODD(p0), phi1 = ODD(p1), glo0 = EVEN(g0), glo1 = EVEN(g1);
        uint64_t a0, a1, b0, b1;
        if (m > 2) {
            a0 = phi0 | (phi0 << half); a1 = phi1 | (phi1 << half);
            b0 = glo0 | (EVEN(p0) << half); b1 = glo1 | (EVEN(p1) << half);
        } else {
            a0 = phi0; a1 = phi1; b0 = glo0; b1 = glo1;
        }
        G0[j] = ODD(g0);
        G1[j] = ODD(g1);
        msb_st(msg_out, wb_out, j, (a0 & (b0 ^ b1)) ^ (a1 & b0));
    }
}

/* The levels of the tree after the one-round first level (m = 64 → 32 is
 * done while re-sharing, see compare.c): (m, prev_m, wire bytes in → out) =
 * (32, 0, – → 4), (16, 32, 4 → 2), (8, 16, 2 → 1), (4, 8, 1 → 1), (2, 4, 1 → 1);
 * the narrow MSB starts at (16, 0, – → 2). */
void MSB_LEVEL_NAME(size_t n, unsigned m, unsigned prev_m, const void *rin0, const void *rin1,
                    size_t wb_in, uint64_t *G0, uint64_t *G1, const uint64_t *P0,
                    const uint64_t *P1, void *msg_out, size_t wb_out)
{
    (void)prev_m; (void)wb_in; (void)wb_out;
    switch (m) {
    case 32: MSB_LEVEL_BODY(n, 32, 0, rin0, rin1, 0, G0, G1, P0, P1, msg_out, 4); break;
    case 16:   /* after round 1 of the narrow MSB (prev_m = 0) or after m = 32 */
        if (prev_m == 0) MSB_LEVEL_BODY(n, 16, 0, rin0, rin1, 0, G0, G1, P0, P1, msg_out, 2);
        else MSB_LEVEL_BODY(n, 16, 32, rin0, rin1, 4, G0, G1, P0, P1, msg_out, 2);
        break;
    case 8: MSB_LEVEL_BODY(n, 8, 16, rin0, rin1, 2, G0, G1, P0, P1, msg_out, 1); break;
    case 4: MSB_LEVEL_BODY(n, 4, 8, rin0, rin1, 1, G0, G1, P0, P1, msg_out, 1); break;
    default: MSB_LEVEL_BODY(n, 2, 4, rin0, rin1, 1, G0, G1, P0, P1, msg_out, 1); break;
    }
}

/* out[j] = ODD(w) | EVEN(w) << 32 with w = in[j] << 1 (plus add[j] first,
 * when given): the high / low bits of the 32 bit pairs of bits 0..62. */
void MSB_UNZIP_NAME(size_t n, const uint64_t *in, const uint64_t *add, uint64_t *out)
{
    if (add)
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w = (in[j] + add[j]) << 1;
            out[j] = ODD(w) | (EVEN(w) << 32);
        }
    else
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w = in[j] << 1;
            out[j] = ODD(w) | (EVEN(w) << 32);
        }
}

/* out[j] = ODD(w) | EVEN(w) << 32 with w = in[j], complemented first when
 * `invert` (equality's first level pairs all 64 bits, no shift). */
void EQ_UNZIP_NAME(size_t n, const uint64_t *in, const uint64_t *add, bool invert, uint64_t *out)
{
    const uint64_t flip = invert ? ~UINT64_C(0) : 0;
    PR_OMP_FOR(n)
    for (size_t j = 0; j < n; j++) {
        uint64_t w = ((add ? in[j] + add[j] : in[j])) ^ flip;
        out[j] = ODD(w) | (EVEN(w) << 32);
    }
}
