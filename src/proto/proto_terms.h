/* Sums of products with one truncation: 3-out-of-3 terms (proto_terms.c).
 *
 * A product a·b of replicated shares is, locally and without communication,
 * a 3-out-of-3 additive sharing: party i holds z_i = a_i b_i + a_i b_{i+1} +
 * a_{i+1} b_i (ABY3 ePrint 2018/403 §3; DESIGN.md §4).  Terms of several
 * products and of replicated shares (party i's term of x is x_i = s[0]) add
 * up locally, so a whole expression Σ a_k b_k + Σ c_m can be truncated once
 * with the DEK truncation of 3-out-of-3 terms (trunc.c, Dalskov–Escudero–
 * Keller arXiv 1910.12435 §3.2.2): 2 rounds, 16 bytes per element for every
 * party — the cost of one fused mul_trunc whatever the number of products.
 * The nn layer uses this to sum squares per row, and to evaluate a
 * polynomial's last level together with its lower-degree part. */
#ifndef CARACAL_PROTO_TERMS_H
#define CARACAL_PROTO_TERMS_H

#include "proto.h"

/* z[j] += this party's term of a[j]·b[j] (n = a->n = b->n).  Local. */
void cc_proto_terms_mul_acc(const cc_proto *ctx, const cc_ashare *a, const cc_ashare *b,
                            uint64_t *z);
/* z[j] += this party's term of x[j] << shift.  Local. */
void cc_proto_terms_add_share(const cc_proto *ctx, const cc_ashare *x, unsigned shift,
                              uint64_t *z);
/* z[j] += c << shift on exactly one party's term (a public constant).  Local. */
void cc_proto_terms_add_public(const cc_proto *ctx, size_t n, uint64_t c, unsigned shift,
                               uint64_t *z);
/* Re-share the terms as a replicated sharing of Σ z_i (no truncation):
 * 1 round, 8 bytes/elem, booked as CC_OP_MUL over out->n elements. */
cc_status cc_proto_reshare_terms(cc_proto *ctx, const uint64_t *z, cc_ashare *out);
/* out = floor(Σ_i z_i / 2^d) + e, e ∈ {0, 1}, for sums |Σ z_i| < 2^62;
 * n = out->n terms.  2 rounds, 16 bytes/elem for every role; booked as
 * CC_OP_MUL_TRUNC over n elements (same helper rotation). */
cc_status cc_proto_trunc_terms(cc_proto *ctx, const uint64_t *z, unsigned d, cc_ashare *out);

/* Same with a different shift per segment: segment k covers len[k]
 * consecutive elements of z and is truncated by d[k] (1..62); Σ len[k] =
 * out->n.  One truncation protocol for the whole batch (same 2 rounds and
 * 16 bytes/elem), so products that need different scales still share
 * their rounds.  Booked as CC_OP_MUL_TRUNC over out->n elements. */
cc_status cc_proto_trunc_terms_seg(cc_proto *ctx, const uint64_t *z, size_t nseg,
                                   const size_t *len, const unsigned *d, cc_ashare *out);

#endif
