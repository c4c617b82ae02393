/* tanh on shares (BERT's pooler), from the exp and reciprocal of this
 * module; its error table is in docs/APPROXIMATIONS.md. */
#include "core.h"
#include "nn_impl.h"

/* tanh(x) = sign(x)·(1 - u)/(1 + u), u = exp(-|x|)^2.  Squaring exp(-|x|)
 * instead of evaluating exp(-2|x|) halves the relative error of PUMA's
 * (1 + x/2^t)^(2^t) (it is the same as one more squaring step).
 * Rounds: MSB 7, select 2, exp (see src/nn), square 2, reciprocal (src/nn),
 * mul 2, select 2; all on the n elements. */
cc_status cc_nn_tanh(cc_proto *p, const cc_nn_cfg *nn, const cc_ashare *x, cc_ashare *out)
{
    size_t n = x->n;
    uint64_t one = 1ull << p->f;
    cc_bshare neg = {0};
    cc_ashare a = {0}, b = {0}, u = {0};
    cc_status s = cc_bshare_alloc(&neg, n);
    if (s == CC_OK) s = cc_ashare_alloc(&a, n);
    if (s == CC_OK) s = cc_ashare_alloc(&b, n);
    if (s == CC_OK) s = cc_ashare_alloc(&u, n);
    if (s == CC_OK) s = cc_proto_msb(p, x, &neg);                  /* x < 0 */
    if (s == CC_OK) s = cc_proto_neg(p, x, &a);
    if (s == CC_OK) s = cc_proto_select(p, &neg, x, &a, &b);       /* b = -|x| */
    if (s == CC_OK) s = cc_nn_exp(p, nn, &b, &u);                  /* exp(-|x|) */
    if (s == CC_OK) s = cc_proto_square_fxp(p, &u, &u);            /* u = exp(-2|x|) */
    if (s == CC_OK) s = cc_proto_add_public(p, &u, one, &a);       /* 1 + u ∈ [1, 2] */
    if (s == CC_OK) s = cc_nn_reciprocal(p, nn, &a, &b);
    if (s == CC_OK) s = cc_proto_neg(p, &u, &a);
    if (s == CC_OK) s = cc_proto_add_public(p, &a, one, &a);       /* 1 - u */
    if (s == CC_OK) s = cc_proto_mul_fxp(p, &a, &b, &u);           /* tanh(|x|) */
    if (s == CC_OK) s = cc_proto_neg(p, &u, &a);
    if (s == CC_OK) s = cc_proto_select(p, &neg, &a, &u, out);
    cc_bshare_free(&neg);
    cc_ashare_free(&a);
    cc_ashare_free(&b);
    cc_ashare_free(&u);
    return s;
}
