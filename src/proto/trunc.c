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
 *   from the Ph,Pa PRG, Pb's half sent (16 bytes/elem).          [round 1]
 *   Pa, Pb exchange ca = z_a + 2^62 + ra, cb = z_b + rb → c.       [round 1]
 *   b = rmsb ⊕ c_63 = rmsb + c_63 − 2·c_63·rmsb (linear in the shares),
 *   y = c' − rc + b·2^(63−d) − 2^(62−d), c' = (c<<1)>>(d+1).
 *   Re-share y: y_h (Ph,Pb PRG), y_{h+1} (Ph,Pa PRG), and Pa, Pb exchange
 *   their halves of y_{h+2}.                                       [round 2]
 * For |x| < 2^62: x + 2^62 ∈ [0, 2^63), so the carry into bit 63 of c is
 * exactly b and y = ⌊x / 2^d⌋ + e with e ∈ {0, 1} (e = 1 when the low d
 * bits of c are below those of r) — never a wrap-around error.
 * Cost per element: Ph 16 bytes, 1 round (send); Pa and Pb 16 bytes,
 * 2 rounds.  Fusing with a multiplication removes the product's reshare. */
#include "proto_impl.h"

cc_status pr_trunc_core_shifts(cc_proto *ctx, cc_proto_op op, size_t n, unsigned d,
                               const unsigned char *dj, const uint64_t *z3, const cc_ashare *x,
                               cc_ashare *out)
{
    if (!dj && (d < 1 || d > 62)) return cc_error_set(CC_ERR_ARG, "trunc: shift %u is not 1..62", d);
    int h = (int)(ctx->trunc_calls++ % 3);
    int rel = pr_mod3(ctx->party - h);
    pr_book_op(ctx, op, n, 0, rel);
    if (n == 0) return CC_OK;

    cc_status s = CC_OK;
    uint64_t *A = NULL, *B = NULL, *m1 = NULL, *m2 = NULL;
    /* PRSS order: Ph–Pa stream (4n: ra, rc_a, rmsb_a, y_{h+1}), then the
     * Pb–Ph stream (2n: rb, y_h); the third party only reserves. */
    if (rel != 2 && !(A = pr_alloc(4 * n))) { s = CC_ERR_NOMEM; goto out; }
    if (rel != 1 && !(B = pr_alloc(2 * n))) { s = CC_ERR_NOMEM; goto out; }
    pr_pair_rand(ctx, h, 4 * n, A);
    pr_pair_rand(ctx, h + 2, 2 * n, B);

    const uint64_t top = UINT64_C(1) << 62;
#define SHIFT(j) (dj ? (unsigned)dj[j] : d)      /* public, 1..62 */
    if (rel == 0) {                       /* helper */
        const uint64_t *ra = A, *rc_a = A + n, *rmsb_a = A + 2 * n, *rb = B;
        if (!(m1 = pr_alloc(2 * n))) { s = CC_ERR_NOMEM; goto out; }
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t r = ra[j] + rb[j] - (z3 ? z3[j] : 0);
            m1[j] = ((r << 1) >> (SHIFT(j) + 1)) - rc_a[j];
            m1[n + j] = (r >> 63) - rmsb_a[j];
        }
        s = cc_net_send(ctx->net, CC_PREV, m1, 16 * n);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        memcpy(out->s[0], B + n, 8 * n);       /* y_h */
        memcpy(out->s[1], A + 3 * n, 8 * n);   /* y_{h+1} */
    } else {
        /* opener: my additive term of x */
        const bool is_a = rel == 1;
        const cc_dir peer = is_a ? CC_NEXT : CC_PREV;
        if (!(m1 = pr_alloc(n)) || !(m2 = pr_alloc(3 * n))) { s = CC_ERR_NOMEM; goto out; }
        const uint64_t *mask = is_a ? A : B;   /* ra or rb */
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t z = z3 ? z3[j] : is_a ? x->s[0][j] + x->s[1][j] : x->s[1][j];
            m1[j] = z + mask[j] + (is_a ? top : 0);
        }
        /* round 1: exchange masked terms; Pb also gets the dealt shares */
        s = cc_net_exchange(ctx->net, peer, m1, peer, m2, 8 * n);
        if (s == CC_OK && !is_a) s = cc_net_recv(ctx->net, CC_NEXT, m2 + n, 16 * n);
        if (s != CC_OK) goto out;
        /* m2 := c, then my half of y minus my PRG share of y */
        uint64_t *y_mine = m1;   /* reuse */
        if (is_a) {
            const uint64_t *rc_a = A + n, *rmsb_a = A + 2 * n, *y_next = A + 3 * n;
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                uint64_t c = m1[j] + m2[j], c63 = c >> 63, neg = (uint64_t)0 - c63;
                uint64_t b = ((rmsb_a[j] ^ neg) - neg) + c63;    /* rmsb_a·(1−2c63) + c63 */
                unsigned dd = SHIFT(j);
                uint64_t y = ((c << 1) >> (dd + 1)) - rc_a[j] + b * (UINT64_C(1) << (63 - dd)) -
                             (UINT64_C(1) << (62 - dd));
                y_mine[j] = y - y_next[j];
            }
        } else {
            /* m2 layout: [ca | rc_b (n) | rmsb_b (n)] after the dealer recv;
             * ca is in m2[0..n), the dealt shares were received at m2 + n. */
            const uint64_t *rc_b = m2 + n, *rmsb_b = m2 + 2 * n, *y_h = B + n;
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                uint64_t c = m1[j] + m2[j], c63 = c >> 63, neg = (uint64_t)0 - c63;
                uint64_t b = (rmsb_b[j] ^ neg) - neg;            /* rmsb_b·(1−2c63) */
                uint64_t y = b * (UINT64_C(1) << (63 - SHIFT(j))) - rc_b[j];
                y_mine[j] = y - y_h[j];
            }
        }
        /* round 2: y_{h+2} = (y_a − y_{h+1}) + (y_b − y_h) */
        s = cc_net_exchange(ctx->net, peer, y_mine, peer, m2, 8 * n);
        if (s != CC_OK) goto out;
        if (is_a) {
            memcpy(out->s[0], A + 3 * n, 8 * n);                 /* y_{h+1} */
            cc_ring_add(n, y_mine, m2, out->s[1]);               /* y_{h+2} */
        } else {
            memcpy(out->s[1], B + n, 8 * n);                     /* y_h */
            cc_ring_add(n, y_mine, m2, out->s[0]);               /* y_{h+2} */
        }
    }
#undef SHIFT
out:
    pr_free(A);
    pr_free(B);
    pr_free(m1);
    pr_free(m2);
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
