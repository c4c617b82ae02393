/* 3-out-of-3 terms and their single truncation (see proto_terms.h). */
#include "proto_impl.h"

void cc_proto_terms_mul_acc(const cc_proto *ctx, const cc_ashare *a, const cc_ashare *b,
                            uint64_t *z)
{
    (void)ctx;
    const uint64_t *a0 = a->s[0], *a1 = a->s[1], *b0 = b->s[0], *b1 = b->s[1];
    size_t n = a->n;
    PR_OMP_FOR(n)
    for (size_t j = 0; j < n; j++) z[j] += a0[j] * (b0[j] + b1[j]) + a1[j] * b0[j];
}

void cc_proto_terms_add_share(const cc_proto *ctx, const cc_ashare *x, unsigned shift,
                              uint64_t *z)
{
    (void)ctx;
    for (size_t j = 0; j < x->n; j++) z[j] += x->s[0][j] << shift;
}

void cc_proto_terms_add_public(const cc_proto *ctx, size_t n, uint64_t c, unsigned shift,
                               uint64_t *z)
{
    /* party 0's term, as cc_proto_add_public puts a constant on x_0 */
    if (ctx->party != 0) return;
    for (size_t j = 0; j < n; j++) z[j] += c << shift;
}

cc_status cc_proto_trunc_terms(cc_proto *ctx, const uint64_t *z, unsigned d, cc_ashare *out)
{
    pr_enter(ctx, "mul_trunc");
    cc_status s = pr_trunc_core_ex(ctx, CC_OP_MUL_TRUNC, out->n, d, z, NULL, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto trunc_terms");
}

/* DEK truncation of 3-out-of-3 terms with a public shift per element: the
 * protocol of trunc.c (pr_trunc_core_ex, whose comment derives it) with d
 * looked up per element.  The shifts are public, so nothing about the
 * message sizes or their order changes. */
cc_status cc_proto_trunc_terms_seg(cc_proto *ctx, const uint64_t *z3, size_t nseg,
                                   const size_t *len, const unsigned *d, cc_ashare *out)
{
    size_t n = out->n, tot = 0;
    for (size_t k = 0; k < nseg; k++) {
        if (d[k] < 1 || d[k] > 62)
            return cc_error_set(CC_ERR_ARG, "trunc_terms_seg: shift %u is not 1..62", d[k]);
        tot += len[k];
    }
    CC_TRY(pr_check_n("trunc_terms_seg", "output", n, tot));
    pr_enter(ctx, "mul_trunc");
    int h = (int)(ctx->trunc_calls++ % 3);
    int rel = pr_mod3(ctx->party - h);
    pr_book_op(ctx, CC_OP_MUL_TRUNC, n, 0, rel);
    cc_status s = CC_OK;
    uint64_t *A = NULL, *B = NULL, *m1 = NULL, *m2 = NULL;
    unsigned char *dj = NULL;
    if (n == 0) goto out;
    if (!(dj = (unsigned char *)pr_alloc((n + 7) / 8))) { s = CC_ERR_NOMEM; goto out; }
    for (size_t k = 0, j = 0; k < nseg; k++)
        for (size_t i = 0; i < len[k]; i++) dj[j++] = (unsigned char)d[k];
    /* PRSS order as in trunc.c: Ph–Pa stream (ra, rc_a, rmsb_a, y_{h+1}),
     * then the Pb–Ph stream (rb, y_h). */
    if (rel != 2 && !(A = pr_alloc(4 * n))) { s = CC_ERR_NOMEM; goto out; }
    if (rel != 1 && !(B = pr_alloc(2 * n))) { s = CC_ERR_NOMEM; goto out; }
    pr_pair_rand(ctx, h, 4 * n, A);
    pr_pair_rand(ctx, h + 2, 2 * n, B);
    const uint64_t top = UINT64_C(1) << 62;
    if (rel == 0) {                       /* helper: deal rc and rmsb */
        const uint64_t *ra = A, *rc_a = A + n, *rmsb_a = A + 2 * n, *rb = B;
        if (!(m1 = pr_alloc(2 * n))) { s = CC_ERR_NOMEM; goto out; }
        for (size_t j = 0; j < n; j++) {
            uint64_t r = ra[j] + rb[j] - z3[j];
            m1[j] = ((r << 1) >> (dj[j] + 1)) - rc_a[j];
            m1[n + j] = (r >> 63) - rmsb_a[j];
        }
        s = cc_net_send(ctx->net, CC_PREV, m1, 16 * n);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        memcpy(out->s[0], B + n, 8 * n);       /* y_h */
        memcpy(out->s[1], A + 3 * n, 8 * n);   /* y_{h+1} */
    } else {
        const bool is_a = rel == 1;
        const cc_dir peer = is_a ? CC_NEXT : CC_PREV;
        if (!(m1 = pr_alloc(n)) || !(m2 = pr_alloc(3 * n))) { s = CC_ERR_NOMEM; goto out; }
        const uint64_t *mask = is_a ? A : B;
        for (size_t j = 0; j < n; j++) m1[j] = z3[j] + mask[j] + (is_a ? top : 0);
        s = cc_net_exchange(ctx->net, peer, m1, peer, m2, 8 * n);                 /* round 1 */
        if (s == CC_OK && !is_a) s = cc_net_recv(ctx->net, CC_NEXT, m2 + n, 16 * n);
        if (s != CC_OK) goto out;
        uint64_t *y_mine = m1;
        if (is_a) {
            const uint64_t *rc_a = A + n, *rmsb_a = A + 2 * n, *y_next = A + 3 * n;
            for (size_t j = 0; j < n; j++) {
                unsigned dd = dj[j];
                uint64_t c = m1[j] + m2[j], c63 = c >> 63, neg = (uint64_t)0 - c63;
                uint64_t b = ((rmsb_a[j] ^ neg) - neg) + c63;
                uint64_t y = ((c << 1) >> (dd + 1)) - rc_a[j] + b * (UINT64_C(1) << (63 - dd)) -
                             (UINT64_C(1) << (62 - dd));
                y_mine[j] = y - y_next[j];
            }
        } else {
            const uint64_t *rc_b = m2 + n, *rmsb_b = m2 + 2 * n, *y_h = B + n;
            for (size_t j = 0; j < n; j++) {
                uint64_t c = m1[j] + m2[j], c63 = c >> 63, neg = (uint64_t)0 - c63;
                uint64_t b = (rmsb_b[j] ^ neg) - neg;
                y_mine[j] = b * (UINT64_C(1) << (63 - dj[j])) - rc_b[j] - y_h[j];
            }
        }
        s = cc_net_exchange(ctx->net, peer, y_mine, peer, m2, 8 * n);             /* round 2 */
        if (s != CC_OK) goto out;
        if (is_a) {
            memcpy(out->s[0], A + 3 * n, 8 * n);
            cc_ring_add(n, y_mine, m2, out->s[1]);
        } else {
            memcpy(out->s[1], B + n, 8 * n);
            cc_ring_add(n, y_mine, m2, out->s[0]);
        }
    }
out:
    pr_free(A); pr_free(B); pr_free(m1); pr_free(m2); pr_free(dj);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto trunc_terms_seg");
}

cc_status cc_proto_reshare_terms(cc_proto *ctx, const uint64_t *z, cc_ashare *out)
{
    pr_enter(ctx, "mul");
    pr_book_op(ctx, CC_OP_MUL, out->n, 0, 0);
    cc_status s = pr_reshare(ctx, z, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto reshare_terms");
}
