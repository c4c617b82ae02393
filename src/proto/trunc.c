/* Exact probabilistic truncation (Dalskov–Escudero–Keller, arXiv 1910.12435
 * §3.2.2; docs/PROTOCOLS.md) and the fused multiply-then-truncate ops.
 *
 * Roles per call: helper Ph = P_h with h = call counter mod 3, openers
 * Pa = next of Ph and Pb = prev of Ph.  x = Σ z_i is given either as a
 * replicated share (Pa takes x_{h+1}+x_{h+2}, Pb takes x_h, Ph nothing) or as
 * 3-out-of-3 product terms z_i.  With k = 64:
 *   ra (Ph,Pa PRG), rb (Ph,Pb PRG), r = ra + rb − z_h  (so the openers never
 *   need Ph's term: c = z_a + z_b + 2^62 + ra + rb = x + 2^62 + r).
 *   Ph deals 2-of-2 shares of rmsb = r_63 and rc = (r<<1)>>(d+1): Pa's half
 *   from the Ph,Pa PRG, Pb's half sent.                              [round 1]
 *   Pa, Pb exchange the high parts of ca = z_a + 2^62 + ra and
 *   cb = z_b + rb → C.                                               [round 1]
 *   b = rmsb ⊕ C_63 = rmsb + C_63 − 2·C_63·rmsb (linear in the shares),
 *   y = C' − rc + b·2^(63−d) − 2^(62−d), C' = (C<<1)>>(d+1), which splits as
 *   K + ρ − rc with K = C' + C_63·2^(63−d) − 2^(62−d) known to both openers
 *   and ρ = rmsb·(1 − 2·C_63)·2^(63−d) a multiple of 2^(63−d).
 *   Re-share y without a full-width message: y_{h+1} = −rc_a − ωa·2^(63−d)
 *   (Ph, Pa both know it), y_h = −rc_b − ωb·2^(63−d) (Ph, Pb), with ωa, ωb
 *   from the Ph,Pa resp. Pb,Ph PRG; Pa sends Pb (rmsb_a·(1 − 2C_63) + ωa)
 *   and Pb sends Pa (rmsb_b·(1 − 2C_63) + ωb), each mod 2^(d+1) —
 *   uniform to the receiver, ω being unknown to it — and both take
 *   y_{h+2} = K + (sum)·2^(63−d).                                    [round 2]
 * Why exact: for x'' ∈ [0, 2^63) and C = x'' + r, ⌊x''/2^d⌋ = C' − rc +
 * b·2^(63−d) − [C mod 2^d < r mod 2^d] (DEK), so y = ⌊x''/2^d⌋ − 2^(62−d) + e,
 * e ∈ {0, 1}: never a wrap-around error.
 * Message sizes (issue 11): only what the formula reads is sent, every
 * field packed to its bit width (pr_pack_bits), per segment of one shift d.
 *   - The openers send ca, cb rounded to nearest at k = d − 2 bits:
 *     ⌊(ca + 2^(k−1)) / 2^k⌋, 66 − d bits (48 at d = 18 instead of 64),
 *     and C = (ca_k + cb_k)·2^k.  That is DEK's opening of
 *     x'' = x + 2^62 − δ, −2^k ≤ δ < 2^k = 2^(d−2) (δ = what the rounding
 *     dropped from both terms), and DEK rounds x''/2^d stochastically to
 *     one of its two neighbours, so the result lies within 1.25 ulps of
 *     x/2^d (DEK alone: within 1) and stays unbiased, δ being rounded, not
 *     floored: ⌊x/2^d⌋ + {−1, 0, 1, 2}.  Domain |x| < 2^62 − 2^(d−2).
 *   - Pb's share of rmsb only enters as rmsb_b·2^(63−d) mod 2^64, so Ph sends
 *     it mod 2^(d+1), d + 1 bits beside the 64 of rc_b; the openers'
 *     round-2 values are d + 1 bits too.
 * Cost per element: Ph 64 + d + 1 bits, 1 round (send); Pa and Pb
 * 66 − d + d + 1 = 67 bits, 2 rounds (d = 18: 10.4 / 8.4 / 8.4 = 27.1 bytes
 * in total; 29 with byte-wide fields, 39 with a full-width round 2 before
 * issue 11's sixth pass, 48 before its third).  Fusing with a
 * multiplication removes the product's reshare. */
#include <string.h>
#include "proto_impl.h"

/* Bits of the two compressed fields (pr_trunc_widths in proto_impl.h). */
void pr_trunc_widths(unsigned d, unsigned *open_bits, unsigned *msb_bits)
{
    *open_bits = d >= 2 ? 66 - d : 64;
    *msb_bits = d + 1;
}

/* The opener's masked term rounded to nearest at k bits, k = d − 2. */
static inline uint64_t open_part(uint64_t c, unsigned k)
{
    return k == 0 ? c : (c + (UINT64_C(1) << (k - 1))) >> k;
}

/* One segment of a call: elements [lo, lo + n) shifted by d, and the
 * widths of its message fields in bits. */
typedef struct trunc_seg {
    size_t lo, n;
    unsigned d, k, ow, mw;
} trunc_seg;

/* Pack / unpack one field of every segment, each at its own width in bits,
 * one after the other (every segment starts on a byte). */
static void pack_segs(size_t nseg, const trunc_seg *sg, bool msb_field, const uint64_t *v,
                      unsigned char *out)
{
    size_t off = 0;
    for (size_t q = 0; q < nseg; q++) {
        unsigned w = msb_field ? sg[q].mw : sg[q].ow;
        pr_pack_bits(sg[q].n, w, v + sg[q].lo, out + off);
        off += pr_bits_bytes(sg[q].n, w);
    }
}

static void unpack_segs(size_t nseg, const trunc_seg *sg, bool msb_field,
                        const unsigned char *in, uint64_t *v)
{
    size_t off = 0;
    for (size_t q = 0; q < nseg; q++) {
        unsigned w = msb_field ? sg[q].mw : sg[q].ow;
        pr_unpack_bits(sg[q].n, w, in + off, v + sg[q].lo);
        off += pr_bits_bytes(sg[q].n, w);
    }
}

static size_t field_bytes(size_t nseg, const trunc_seg *sg, bool msb_field)
{
    size_t b = 0;
    for (size_t q = 0; q < nseg; q++) b += pr_bits_bytes(sg[q].n, msb_field ? sg[q].mw : sg[q].ow);
    return b;
}

cc_proto_cost cc_proto_trunc_seg_cost(cc_proto_op op, size_t nseg, const size_t *len,
                                      const unsigned *d, int role)
{
    cc_proto_cost c = { 0, 0 };
    for (size_t q = 0; q < nseg; q++) {
        if (len[q] == 0) continue;
        cc_proto_cost cq = cc_proto_op_cost(op, len[q], cc_proto_trunc_aux(d[q]), role);
        if (cq.rounds > c.rounds) c.rounds = cq.rounds;
        c.bytes_sent += cq.bytes_sent;
    }
    return c;
}

cc_status pr_trunc_core_seg(cc_proto *ctx, cc_proto_op op, size_t nseg, const size_t *len,
                            const unsigned *d, const uint64_t *z3, const cc_ashare *x,
                            cc_ashare *out)
{
    if (nseg > PR_TRUNC_MAX_SEG)
        return cc_error_set(CC_ERR_ARG, "trunc: %zu segments (at most %d)", nseg, PR_TRUNC_MAX_SEG);
    trunc_seg sg[PR_TRUNC_MAX_SEG];
    size_t n = 0, ns = 0;
    for (size_t q = 0; q < nseg; q++) {
        if (d[q] < 1 || d[q] > 62) return cc_error_set(CC_ERR_ARG, "trunc: shift %u is not 1..62", d[q]);
        if (len[q] == 0) continue;
        trunc_seg *t = &sg[ns++];
        t->lo = n;
        t->n = len[q];
        t->d = d[q];
        t->k = d[q] >= 2 ? d[q] - 2 : 0;
        pr_trunc_widths(d[q], &t->ow, &t->mw);
        n += len[q];
    }
    int h = (int)(ctx->trunc_calls++ % 3);
    int rel = pr_mod3(ctx->party - h);
    pr_book_cost(ctx, op, n, cc_proto_trunc_seg_cost(op, nseg, len, d, rel), rel);
    if (n == 0) return CC_OK;
    const size_t obytes = field_bytes(ns, sg, false), mbytes = field_bytes(ns, sg, true);

    cc_status s = CC_OK;
    uint64_t *A = NULL, *B = NULL, *m1 = NULL, *m2 = NULL, *w1 = NULL;
    unsigned char *bytes = NULL;
    /* PRSS order: Ph–Pa stream (4n: ra, rc_a, rmsb_a, ωa), then the
     * Pb–Ph stream (2n: rb, ωb); the third party only reserves. */
    if (rel != 2 && !(A = pr_alloc(4 * n))) { s = CC_ERR_NOMEM; goto out; }
    if (rel != 1 && !(B = pr_alloc(2 * n))) { s = CC_ERR_NOMEM; goto out; }
    pr_pair_rand(ctx, h, 4 * n, A);
    pr_pair_rand(ctx, h + 2, 2 * n, B);

    const uint64_t top = UINT64_C(1) << 62;
    if (rel == 0) {                       /* helper: [rc_b (8n) | rmsb_b (mbytes)] to Pb */
        const uint64_t *ra = A, *rc_a = A + n, *rmsb_a = A + 2 * n, *rb = B;
        if (!(m1 = pr_alloc(2 * n)) || !(bytes = (unsigned char *)pr_alloc(2 * n))) {   /* 8n + mbytes ≤ 16n */
            s = CC_ERR_NOMEM;
            goto out;
        }
        for (size_t q = 0; q < ns; q++) {
            const size_t lo = sg[q].lo, nq = sg[q].n;
            const unsigned dq = sg[q].d;
            PR_OMP_FOR(nq)
            for (size_t j = lo; j < lo + nq; j++) {
                uint64_t r = ra[j] + rb[j] - (z3 ? z3[j] : 0);
                m1[j] = ((r << 1) >> (dq + 1)) - rc_a[j];
                m1[n + j] = (r >> 63) - rmsb_a[j];
            }
        }
        memcpy(bytes, m1, 8 * n);
        pack_segs(ns, sg, true, m1 + n, bytes + 8 * n);
        s = cc_net_send(ctx->net, CC_PREV, bytes, 8 * n + mbytes);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        /* y_h = −rc_b − ωb·2^(63−d), y_{h+1} = −rc_a − ωa·2^(63−d) */
        for (size_t q = 0; q < ns; q++) {
            const size_t lo = sg[q].lo, nq = sg[q].n;
            const unsigned sh = 63 - sg[q].d;
            PR_OMP_FOR(nq)
            for (size_t j = lo; j < lo + nq; j++) {
                out->s[0][j] = (uint64_t)0 - m1[j] - (B[n + j] << sh);
                out->s[1][j] = (uint64_t)0 - rc_a[j] - (A[3 * n + j] << sh);
            }
        }
    } else {
        /* opener: my additive term of x, masked, rounded at k bits */
        const bool is_a = rel == 1;
        const cc_dir peer = is_a ? CC_NEXT : CC_PREV;
        const size_t dealt = is_a ? 0 : 8 * n + mbytes, wide = obytes > mbytes ? obytes : mbytes;
        if (!(m1 = pr_alloc(n)) || !(m2 = pr_alloc(3 * n)) || !(w1 = pr_alloc(n)) ||
            !(bytes = (unsigned char *)pr_alloc((2 * wide + dealt + 7) / 8))) {
            s = CC_ERR_NOMEM;
            goto out;
        }
        const uint64_t *mask = is_a ? A : B;   /* ra or rb */
        for (size_t q = 0; q < ns; q++) {
            const size_t lo = sg[q].lo, nq = sg[q].n;
            const unsigned kq = sg[q].k;
            PR_OMP_FOR(nq)
            for (size_t j = lo; j < lo + nq; j++) {
                uint64_t z = z3 ? z3[j] : is_a ? x->s[0][j] + x->s[1][j] : x->s[1][j];
                m1[j] = open_part(z + mask[j] + (is_a ? top : 0), kq);
            }
        }
        /* round 1: exchange the rounded masked terms; Pb also gets the dealt
         * shares */
        unsigned char *mine = bytes, *theirs = bytes + wide, *deal = bytes + 2 * wide;
        pack_segs(ns, sg, false, m1, mine);
        s = cc_net_exchange(ctx->net, peer, mine, peer, theirs, obytes);
        if (s == CC_OK && !is_a) s = cc_net_recv(ctx->net, CC_NEXT, deal, dealt);
        if (s != CC_OK) goto out;
        unpack_segs(ns, sg, false, theirs, m2);
        if (!is_a) {
            memcpy(m2 + n, deal, 8 * n);                             /* rc_b */
            unpack_segs(ns, sg, true, deal + 8 * n, m2 + 2 * n);     /* rmsb_b mod 2^(8·mw) */
        }
        /* C = (mine + theirs)·2^k.  y = K + ρ − rc with K public to both
         * openers and ρ = rmsb·(1 − 2c63)·2^(63−d) their 2-of-2 secret:
         * −rc_a − ωa and −rc_b − ωb are the shares Ph holds with Pa resp.
         * Pb, and each opener sends only its (ρ_x + ωx)/2^(63−d), mw bits. */
        const uint64_t *rmsb = is_a ? A + 2 * n : m2 + 2 * n;
        const uint64_t *omega = is_a ? A + 3 * n : B + n;
        uint64_t *K = w1;
        for (size_t q = 0; q < ns; q++) {
            const size_t lo = sg[q].lo, nq = sg[q].n;
            const unsigned kq = sg[q].k, dq = sg[q].d;
            PR_OMP_FOR(nq)
            for (size_t j = lo; j < lo + nq; j++) {
                uint64_t c = (m1[j] + m2[j]) << kq, c63 = c >> 63, neg = (uint64_t)0 - c63;
                K[j] = ((c << 1) >> (dq + 1)) + (c63 << (63 - dq)) - (UINT64_C(1) << (62 - dq));
                m1[j] = ((rmsb[j] ^ neg) - neg) + omega[j];      /* rmsb·(1−2c63) + ω */
            }
        }
        /* round 2: y_{h+2} = K + (m_a + m_b)·2^(63−d) */
        pack_segs(ns, sg, true, m1, mine);
        s = cc_net_exchange(ctx->net, peer, mine, peer, theirs, mbytes);
        if (s != CC_OK) goto out;
        unpack_segs(ns, sg, true, theirs, m2);
        uint64_t *own = is_a ? out->s[0] : out->s[1], *y2 = is_a ? out->s[1] : out->s[0];
        const uint64_t *rc = is_a ? A + n : m2 + n;
        for (size_t q = 0; q < ns; q++) {
            const size_t lo = sg[q].lo, nq = sg[q].n;
            const unsigned sh = 63 - sg[q].d;
            PR_OMP_FOR(nq)
            for (size_t j = lo; j < lo + nq; j++) {
                own[j] = (uint64_t)0 - rc[j] - (omega[j] << sh);   /* y_{h+1} resp. y_h */
                y2[j] = K[j] + ((m1[j] + m2[j]) << sh);
            }
        }
    }
out:
    pr_free(A);
    pr_free(B);
    pr_free(m1);
    pr_free(m2);
    pr_free(w1);
    pr_free(bytes);
    return s;
}

cc_status cc_proto_trunc(cc_proto *ctx, const cc_ashare *x, unsigned d, cc_ashare *out)
{
    CC_TRY(pr_check_n("trunc", "output", out->n, x->n));
    pr_enter(ctx, "trunc");
    cc_status s = pr_trunc_core_ex(ctx, CC_OP_TRUNC, x->n, d, NULL, x, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto trunc");
}

cc_status cc_proto_mul_trunc(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b,
                             unsigned d, cc_ashare *out)
{
    CC_TRY(pr_check_n("mul_trunc", "second operand", b->n, a->n));
    CC_TRY(pr_check_n("mul_trunc", "output", out->n, a->n));
    pr_enter(ctx, "mul_trunc");
    uint64_t *z = pr_alloc(a->n);
    cc_status s = z ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        pr_mul_local(a->n, a, b, z);
        s = pr_trunc_core_ex(ctx, CC_OP_MUL_TRUNC, a->n, d, z, NULL, out);
    }
    pr_free(z);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto mul_trunc");
}

/* Sum of products with one truncation: the 3-out-of-3 terms of every
 * product a_k ⊙ b_k (and c's x_i, its own 3-out-of-3 split) add up locally,
 * so the whole sum is truncated and re-shared once — the cost of one
 * mul_trunc of n = out->n elements however many terms (DEK above; PUMA
 * arXiv 2307.12533 §4.1 evaluates a piecewise function as Σ_s b_s·P_s). */
/* d = 0: re-share the sum (1 round, 8 B/elem, booked as a mul); d ≥ 1:
 * truncate it (booked as a mul_trunc). */
static cc_status mul_sum_impl(cc_proto *ctx, const char *op, size_t terms, const cc_ashare *a,
                              const cc_ashare *b, const cc_ashare *c, unsigned d,
                              cc_ashare *out)
{
    const size_t n = out->n;
    size_t tn;
    if (!cc_mul_size(terms, n, &tn))
        return cc_error_set(CC_ERR_ARG, "%s: %zu terms of %zu overflow", op, terms, n);
    CC_TRY(pr_check_n(op, "first operand", a->n, tn));
    CC_TRY(pr_check_n(op, "second operand", b->n, tn));
    if (c) CC_TRY(pr_check_n(op, "addend", c->n, n));
    pr_enter(ctx, op);
    uint64_t *z = pr_alloc(n);
    cc_status s = z ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        if (c) memcpy(z, c->s[0], 8 * n);
        else memset(z, 0, 8 * n);
        for (size_t k = 0; k < terms; k++) {
            const uint64_t *a0 = a->s[0] + k * n, *a1 = a->s[1] + k * n;
            const uint64_t *b0 = b->s[0] + k * n, *b1 = b->s[1] + k * n;
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) z[j] += a0[j] * (b0[j] + b1[j]) + a1[j] * b0[j];
        }
        if (d == 0) {
            pr_book_op(ctx, CC_OP_MUL, n, 0, 0);
            s = pr_reshare(ctx, z, out);
        } else {
            s = pr_trunc_core_ex(ctx, CC_OP_MUL_TRUNC, n, d, z, NULL, out);
        }
    }
    pr_free(z);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto %s", op);
}

cc_status cc_proto_mul_sum_trunc(cc_proto *ctx, size_t terms, const cc_ashare *a,
                                 const cc_ashare *b, const cc_ashare *c, unsigned d,
                                 cc_ashare *out)
{
    if (d == 0) return cc_error_set(CC_ERR_ARG, "mul_sum_trunc: shift 0 (use mul_sum)");
    return mul_sum_impl(ctx, "mul_sum_trunc", terms, a, b, c, d, out);
}

cc_status cc_proto_mul_sum(cc_proto *ctx, size_t terms, const cc_ashare *a, const cc_ashare *b,
                           const cc_ashare *c, cc_ashare *out)
{
    return mul_sum_impl(ctx, "mul_sum", terms, a, b, c, 0, out);
}

cc_status cc_proto_mul_fxp(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out)
{
    return cc_proto_mul_trunc(ctx, a, b, ctx->f, out);
}

cc_status cc_proto_square_fxp(cc_proto *ctx, const cc_ashare *a, cc_ashare *out)
{
    return cc_proto_mul_trunc(ctx, a, a, ctx->f, out);
}

cc_status cc_proto_matmul_fxp(cc_proto *ctx, size_t batch, size_t M, size_t N, size_t K,
                              cc_trans ta, const cc_ashare *a, cc_trans tb, const cc_ashare *b,
                              cc_ashare *out)
{
    size_t na, nb, nc;
    if (!cc_mul_size(batch, M * K, &na) || !cc_mul_size(batch, K * N, &nb) ||
        !cc_mul_size(batch, M * N, &nc))
        return cc_error_set(CC_ERR_ARG, "matmul_fxp: shape overflows");
    CC_TRY(pr_check_n("matmul_fxp", "left operand", a->n, na));
    CC_TRY(pr_check_n("matmul_fxp", "right operand", b->n, nb));
    CC_TRY(pr_check_n("matmul_fxp", "output", out->n, nc));
    pr_enter(ctx, "matmul_fxp");
    uint64_t *z = pr_alloc(nc);
    cc_status s = z ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK && nc) s = pr_matmul_local(batch, M, N, K, ta, a, tb, b, z);
    if (s == CC_OK) s = pr_trunc_core_ex(ctx, CC_OP_MATMUL_TRUNC, nc, ctx->f, z, NULL, out);
    pr_free(z);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto matmul_fxp");
}

cc_status cc_proto_matmul_weight_fxp(cc_proto *ctx, size_t M, const cc_ashare *x,
                                     const cc_proto_weight *w, cc_ashare *out)
{
    CC_TRY(pr_check_weight("matmul_weight_fxp", M, x, w, out));
    pr_enter(ctx, "matmul_weight_fxp");
    uint64_t *z = pr_alloc(out->n);
    cc_status s = z ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        if (out->n) s = pr_matmul_weight_local(M, x, w, z);
        if (s == CC_OK) s = pr_trunc_core_ex(ctx, CC_OP_MATMUL_TRUNC, out->n, ctx->f, z, NULL, out);
    }
    pr_free(z);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto matmul_weight_fxp");
}

cc_status cc_proto_mul_public_fxp(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out)
{
    CC_TRY(pr_check_n("mul_public_fxp", "output", out->n, a->n));
    pr_enter(ctx, "mul_public_fxp");
    cc_status s = cc_proto_mul_public(ctx, a, c, out);
    if (s == CC_OK) s = pr_trunc_core_ex(ctx, CC_OP_TRUNC, a->n, ctx->f, NULL, out, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto mul_public_fxp");
}
