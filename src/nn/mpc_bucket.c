/* Bucketed cubic on shares (nn_impl.h, cc_bucket_plan): the precise set's
 * reciprocal and rsqrt, and the rsqrt inside the norms.  Same steps and
 * scales as the model (cc_bucket_comb, cc_bucket_poly).
 *
 * The normalise-by-highest-bit idea is SPU's / PUMA's (arXiv 2307.12533
 * §4.3); here the same single comparison batch also finds the mantissa's
 * top three bits, which makes the starting approximation good enough that
 * no Newton or Goldschmidt iteration follows (docs/APPROXIMATIONS.md). */
#include <string.h>
#include "nn_impl.h"

cc_status nn_bucket_bits(cc_proto *p, const cc_bucket_plan *bp, const cc_ashare *x, bool narrow,
                         cc_ashare *comb)
{
    size_t n = x->n, m = bp->nt * n;
    cc_ashare g = { 0 };
    cc_bshare below = { 0 };
    cc_status s = nn_ash_alloc_raw(&g, m);
    if (s == CC_OK) s = nn_bsh_alloc(&below, m);
    if (s != CC_OK) goto done;
    /* [x ≥ t] = NOT [x < t], all thresholds in one comparison sharing the
     * re-sharer's message, then one bit injection: 4 + 1 rounds on 8-bit
     * digits (narrow: 3 + 1) */
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, nn_row_site(n)), x, bp->nt, bp->thr, &below);
    if (s == CC_OK) s = cc_proto_xor_public(p, &below, 1, &below);
    if (s == CC_OK) s = cc_proto_b2a_bit(p, &below, &g);
    if (s != CC_OK) goto done;
    for (int k = 0; k < CC_BK_NCOMB && s == CC_OK; k++) {
        cc_ashare ck = cc_ashare_slice(comb, (size_t)k * n, n);
        memset(ck.s[0], 0, n * 8);
        memset(ck.s[1], 0, n * 8);
        s = cc_proto_add_public(p, &ck, bp->base[k], &ck);
        for (size_t t = 0; t < bp->nt; t++) {
            if (!bp->delta[k][t]) continue;
            cc_ashare gt = cc_ashare_slice(&g, t * n, n);
            nn_axpy(&ck, bp->delta[k][t], &gt);
        }
    }
done:
    nn_ash_free(&g);
    nn_bsh_free(&below);
    return s;
}

void nn_bucket_l2_terms(const cc_proto *p, const cc_ashare *comb, const cc_ashare *w, uint64_t *z)
{
    size_t n = w->n;
    cc_ashare a1 = cc_ashare_slice(comb, CC_BK_A1 * n, n), a3 = cc_ashare_slice(comb, CC_BK_A3 * n, n);
    memset(z, 0, 3 * n * sizeof *z);
    cc_proto_terms_mul_acc(p, &a1, w, z);            /* t1 = A1·w */
    cc_proto_terms_mul_acc(p, w, w, z + n);          /* w2 = w·w  */
    cc_proto_terms_mul_acc(p, &a3, w, z + 2 * n);    /* t3 = A3·w */
}

cc_status nn_bucket_l3(cc_proto *p, const cc_ashare *comb, const cc_ashare *t, cc_ashare *out)
{
    size_t n = out->n;
    uint64_t *z = cc_alloc(n * sizeof *z + 8);
    if (!z) return CC_ERR_NOMEM;
    memset(z, 0, n * sizeof *z);
    cc_ashare a0 = cc_ashare_slice(comb, CC_BK_A0 * n, n), a2 = cc_ashare_slice(comb, CC_BK_A2 * n, n);
    cc_ashare t1 = cc_ashare_slice(t, 0, n), w2 = cc_ashare_slice(t, n, n), t3 = cc_ashare_slice(t, 2 * n, n);
    /* A2·w2 + t3·w2 + (A0 + t1)·2^FW, one truncation */
    cc_proto_terms_mul_acc(p, &a2, &w2, z);
    cc_proto_terms_mul_acc(p, &t3, &w2, z);
    cc_proto_terms_add_share(p, &a0, CC_NN_BK_FW, z);
    cc_proto_terms_add_share(p, &t1, CC_NN_BK_FW, z);
    cc_proto_terms_add_public(p, n, 1, CC_NN_BK_FW + CC_NN_BK_GUARD - 1, z);   /* round to nearest */
    cc_status s = cc_proto_trunc_terms(p, z, CC_NN_BK_FW + CC_NN_BK_GUARD, out);
    cc_free(z);
    return s;
}

cc_status nn_bucket_eval(cc_proto *p, const cc_bucket_plan *bp, const cc_ashare *x, bool narrow,
                         cc_ashare *out)
{
    size_t n = x->n;
    cc_ashare comb = { 0 }, w = { 0 }, t = { 0 };
    uint64_t *z = NULL;
    cc_status s = nn_ash_alloc_raw(&comb, CC_BK_NCOMB * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&w, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&t, 3 * n);
    if (s == CC_OK && !(z = cc_alloc(3 * n * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s == CC_OK) s = nn_bucket_bits(p, bp, x, narrow, &comb);
    /* u = x·N >> norm_shift; w = u - U */
    cc_ashare N = cc_ashare_slice(&comb, CC_BK_N * n, n), U = cc_ashare_slice(&comb, CC_BK_U * n, n);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, x, &N, bp->norm_shift, &w);
    if (s == CC_OK) s = cc_proto_sub(p, &w, &U, &w);
    if (s == CC_OK) {
        nn_bucket_l2_terms(p, &comb, &w, z);
        s = cc_proto_trunc_terms(p, z, CC_NN_BK_FW, &t);
    }
    if (s == CC_OK) s = nn_bucket_l3(p, &comb, &t, out);
    nn_ash_free(&comb); nn_ash_free(&w); nn_ash_free(&t);
    cc_free(z);
    return s;
}
