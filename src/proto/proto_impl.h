/* proto internals shared by the protocol files (not installed). */
#ifndef CARACAL_PROTO_IMPL_H
#define CARACAL_PROTO_IMPL_H

#include <stdint.h>
#include <string.h>
#include "core.h"
#include "proto.h"
#include "thread.h"

/* Element loops run on cc_thread_count() OpenMP threads from PR_PAR_MIN
 * elements up (every element is independent, so results never depend on
 * the thread count); below that the fork/join costs more than it saves. */
#define PR_PAR_MIN 32768
#define PR_OMP_FOR(n) _Pragma("omp parallel for schedule(static) if ((n) >= PR_PAR_MIN) num_threads(cc_thread_count())")

/* Party index arithmetic, only used to derive roles, never to address peers. */
static inline int pr_mod3(int v) { return ((v % 3) + 3) % 3; }

/* Helper-role rotation.  Ops where one party re-shares (msb, b2a_bit) split
 * their n elements into three contiguous thirds; third t = [pr_third_lo(n, t),
 * pr_third_lo(n, t + 1)) runs with P_t in the re-sharing role, so every party
 * does the extra work for a third of the elements and the per-party bytes
 * differ by at most one element's worth.  A party's role on third t is
 * pr_mod3(party - t) (0 = re-sharer).  The thirds share the op's rounds:
 * their messages on one link are concatenated in t order. */
static inline size_t pr_third_lo(size_t n, int t)
{
    return n / 3 * (size_t)t + CC_MIN((size_t)t, n % 3);
}

/* Open the op's accounting scope (net tag + ledger entry); nests. */
void pr_enter(cc_proto *ctx, const char *tag);
void pr_exit(cc_proto *ctx);
/* Add this party's declared cost for one sub-step to the current scope. */
void pr_book(cc_proto *ctx, cc_proto_cost c);
void pr_book_op(cc_proto *ctx, cc_proto_op op, size_t n, size_t aux, int role);
/* The same with the cost already priced (segmented truncations). */
void pr_book_cost(cc_proto *ctx, cc_proto_op op, size_t n, cc_proto_cost c, int role);

/* Scratch: 64-byte aligned u64 buffers from a per-thread cache (context.c);
 * NULL sets an error.  pr_free(NULL) is a no-op. */
uint64_t *pr_alloc(size_t n_words);
void pr_free(void *p);

/* A share tensor the caller fully overwrites (not zeroed); cc_ashare_free. */
cc_status pr_ashare_tmp(cc_ashare *t, size_t n);

/* Shape checks that produce "<op>: <what> has n=.. but .. expects n=.." */
cc_status pr_check_n(const char *op, const char *what, size_t have, size_t want);

/* Pairwise randomness (the PRSS common-counter rule): the two parties of a
 * pair fill `out`, the third only reserves the same n.  `pair_lo` is the
 * party whose next is the other member. */
void pr_pair_rand(cc_proto *ctx, int pair_lo, size_t n, uint64_t *out);

/* Public constant as a replicated share: added to x_0 (held by P0 as s[0]
 * and by P2 as s[1]). */
void pr_add_public_plane(const cc_proto *ctx, size_t n, uint64_t c, const uint64_t *cv,
                         uint64_t *s0, uint64_t *s1);

/* 3-out-of-3 → replicated reshare: z_i (+ zero share) goes to prev, z_{i+1}
 * comes from next.  z may be out->s[0]. 1 round, 8 bytes/elem. */
cc_status pr_reshare(cc_proto *ctx, const uint64_t *z, cc_ashare *out);
cc_status pr_reshare_xor(cc_proto *ctx, const uint64_t *z, size_t n, uint64_t *o0, uint64_t *o1);

/* One round with both neighbours: send[0] (snd[0] bytes) to next and
 * send[1] to prev, then receive rcv[0] bytes from next into recv[0] and
 * rcv[1] from prev into recv[1], then flush; zero lengths are skipped. */
cc_status pr_exchange_both(cc_proto *ctx, const void *const send[2], const size_t snd[2],
                           void *const recv[2], const size_t rcv[2]);

/* DEK truncation (trunc.c) of x given either as 3-out-of-3 terms z3 (every
 * party passes its term) or, when z3 is NULL, as the replicated share x;
 * books `op`'s declared cost.  Result replicated in out (may alias x).
 * Segment q (len[q] consecutive elements) is shifted by d[q] (public,
 * 1..62); every segment's message fields have their own widths. */
#define PR_TRUNC_MAX_SEG 8
cc_status pr_trunc_core_seg(cc_proto *ctx, cc_proto_op op, size_t nseg, const size_t *len,
                            const unsigned *d, const uint64_t *z3, const cc_ashare *x,
                            cc_ashare *out);
/* Fields of w bits (1..64) back to back, little-endian within the stream
 * (bitpack.c): n values take pr_bits_bytes(n, w) = ⌈n·w/8⌉ bytes; packing
 * keeps the low w bits of each value, unpacking zero-extends them. */
size_t pr_bits_bytes(size_t n, unsigned w);
void pr_pack_bits(size_t n, unsigned w, const uint64_t *v, unsigned char *out);
void pr_unpack_bits(size_t n, unsigned w, const unsigned char *in, uint64_t *v);

/* The truncation's compressed message fields at shift d (trunc.c), in bits
 * per element, packed back to back (pr_pack_bits): each opener's rounded
 * masked term, 66 − d bits (64 for d = 1), and Pb's share of r_63 mod
 * 2^(d+1), d + 1 bits — the width of the openers' round-2 values too. */
void pr_trunc_widths(unsigned d, unsigned *open_bits, unsigned *msb_bits);

static inline cc_status pr_trunc_core_ex(cc_proto *ctx, cc_proto_op op, size_t n, unsigned d,
                                         const uint64_t *z3, const cc_ashare *x, cc_ashare *out)
{
    return pr_trunc_core_seg(ctx, op, 1, &n, &d, z3, x, out);
}

/* Replicated boolean AND keeping only the low `width` bits of each word on
 * the wire (width ∈ 1..64; message rounded up to 1, 2, 4 or 8 bytes/elem). */
cc_status pr_and_width(cc_proto *ctx, size_t n, unsigned width, const uint64_t *a0,
                       const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                       uint64_t *o0, uint64_t *o1);
size_t pr_width_bytes(unsigned width);

/* MSB tree level (msb_level.inc) with BMI2 PEXT (span_bmi2.c; only when
 * cpuid has BMI2) and portable (boolean.c). */
void pr_msb_level_bmi2(size_t n, unsigned m, unsigned prev_m, const void *rin0, const void *rin1,
                       size_t wb_in, uint64_t *G0, uint64_t *G1, const uint64_t *P0,
                       const uint64_t *P1, void *msg_out, size_t wb_out);
void pr_msb_unzip_bmi2(size_t n, const uint64_t *in, const uint64_t *add, uint64_t *out);
void pr_msb_unzip_portable(size_t n, const uint64_t *in, const uint64_t *add, uint64_t *out);
void pr_eq_unzip_bmi2(size_t n, const uint64_t *in, const uint64_t *add, bool invert,
                      uint64_t *out);
void pr_eq_unzip_portable(size_t n, const uint64_t *in, const uint64_t *add, bool invert,
                          uint64_t *out);
void pr_msb_level_portable(size_t n, unsigned m, unsigned prev_m, const void *rin0,
                           const void *rin1, size_t wb_in, uint64_t *G0, uint64_t *G1,
                           const uint64_t *P0, const uint64_t *P1, void *msg_out, size_t wb_out);

/* BMI2 kernels allowed: cpuid has BMI2 and CARACAL_ISA is not "ref". */
bool pr_use_bmi2(void);

/* Round 1 of an MSB over thirds (compare.c): the thirds' bounds lo[0..3],
 * this party's role on each (0 = re-sharer), and the bytes it sends to /
 * receives from [next, prev] when the re-sharer sends resharer_bytes per
 * element to both neighbours and the others other_bytes to it. */
void pr_msb_r1_plan(int party, size_t n, size_t resharer_bytes, size_t other_bytes,
                    size_t lo[4], int role[3], size_t snd[2], size_t rcv[2]);
/* The carry tree after a one-round first level (compare.c). */
cc_status pr_msb_tree(cc_proto *ctx, size_t n, unsigned spans, uint64_t *G0, uint64_t *G1,
                      uint64_t *P0, uint64_t *P1, void *msg[2][2], uint64_t *pk, cc_bshare *out);
/* MSB with a first level over dw-bit digits (dw = 4 or 8; msb_digits.c),
 * booked as CC_OP_MSB_[NARROW_]DIGITS resp. CC_OP_MSB_[NARROW_]DIGITS8. */
cc_status pr_msb_digits(cc_proto *ctx, const cc_ashare *x, bool narrow, unsigned dw,
                        cc_bshare *out);
/* out[k·n + j] = [x_j < thr[k]] for k < m (thr NULL: m = 1, the MSB),
 * valid while |x_j − thr[k]| is within the variant's range; the round-1
 * message of the re-sharer is shared by all m thresholds.  Booked with
 * aux = m. */
cc_status pr_msb_digits_multi(cc_proto *ctx, const cc_ashare *x, bool narrow, unsigned dw,
                              size_t m, const uint64_t *thr, cc_bshare *out);

/* MSB of x into a bit tensor, booked as CC_OP_MSB (boolean.c). */
cc_status pr_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out);

/* Local 3-out-of-3 product terms (arith.c). */
void pr_mul_local(size_t n, const cc_ashare *a, const cc_ashare *b, uint64_t *z);
cc_status pr_matmul_local(size_t batch, size_t M, size_t N, size_t K, cc_trans ta,
                          const cc_ashare *a, cc_trans tb, const cc_ashare *b, uint64_t *z);
cc_status pr_matmul_weight_local(size_t M, const cc_ashare *x, const cc_proto_weight *w,
                                 uint64_t *z);
cc_status pr_matmul_weight_local_ld(size_t M, const cc_ashare *x, const cc_proto_weight *w,
                                    uint64_t *z, size_t ldz);
cc_status pr_check_weight(const char *op, size_t M, const cc_ashare *x,
                          const cc_proto_weight *w, const cc_ashare *out);

/* ---- Packed AND messages of the comparison trees: element j of a message with
 * wb bytes per element (1, 2, 4 or 8, little-endian). */
static inline uint64_t msb_ld(const void *p, size_t wb, size_t j)
{
    switch (wb) {
    case 8: return ((const uint64_t *)p)[j];
    case 4: return ((const uint32_t *)p)[j];
    case 2: return ((const uint16_t *)p)[j];
    default: return ((const uint8_t *)p)[j];
    }
}

static inline void msb_st(void *p, size_t wb, size_t j, uint64_t v)
{
    switch (wb) {
    case 8: ((uint64_t *)p)[j] = v; break;
    case 4: ((uint32_t *)p)[j] = (uint32_t)v; break;
    case 2: ((uint16_t *)p)[j] = (uint16_t)v; break;
    default: ((uint8_t *)p)[j] = (uint8_t)v; break;
    }
}

#endif
