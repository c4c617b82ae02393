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

/* DEK truncation of 3-out-of-3 terms with a public shift per segment: the
 * protocol of trunc.c (pr_trunc_core_seg, whose comment derives it), each
 * segment's message fields at the widths its own shift needs. */
cc_status cc_proto_trunc_terms_seg(cc_proto *ctx, const uint64_t *z3, size_t nseg,
                                   const size_t *len, const unsigned *d, cc_ashare *out)
{
    size_t tot = 0;
    for (size_t k = 0; k < nseg; k++) tot += len[k];
    CC_TRY(pr_check_n("trunc_terms_seg", "output", out->n, tot));
    pr_enter(ctx, "mul_trunc");
    cc_status s = pr_trunc_core_seg(ctx, CC_OP_MUL_TRUNC, nseg, len, d, z3, NULL, out);
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
