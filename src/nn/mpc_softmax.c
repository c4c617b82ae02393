/* Softmax over rows with a public mask (PUMA arXiv 2307.12533 §4.2) and
 * argmax (tournament of compare + select), on shares.
 *
 * softmax, per row of `cols` logits, |x| < 2^(31-f) - CC_NN_LOGIT_MARGIN
 * (8184 at f = 18; nn_impl.h: the maximum's comparisons are narrow):
 *   m = max over unmasked entries        nn_max_rows      21 rounds for 128 cols
 *   d = x - m, only for unmasked entries (the mask is public, so masked
 *       entries are dropped before any work and come out exactly 0)
 *   e = exp(d)                            17 (PUMA) / 19 (precise) rounds
 *   s = Σ e (local); inv = 1/s            16 / 12 rounds (one per row)
 *   y = e · inv                           mul_trunc        2 rounds
 * (exp's threshold comparison and the highest-bit / bucket comparisons of
 * 1/s are narrow too: d = x - max and s lie within the 32-bit range.)
 * Declared 51 / 49 rounds (puma / precise) for 128 columns (56 / 54 before
 * the digit comparisons of issue 11's fourth pass); the network
 * layer measures a few fewer (adjacent ops share rounds).  Every party sends
 * ≈ 208 / 230 B per entry, most of it the 4.4 comparisons per entry of the
 * grouped max.
 * A row whose every entry is masked gives 0 and costs nothing. */
#include <string.h>
#include "nn_impl.h"

/* exp's squaring chain (nn_exp_core in mpc_act.c, same ops and scales)
 * without its comparison: the threshold bit th (arithmetic 0/1, from
 * nn_max_rows_th) multiplies the result, 1 round, 8 B/elem. */
static cc_status exp_chain_th(cc_proto *p, const cc_exp_params *ep, unsigned f, const cc_ashare *d,
                              const cc_ashare *th, cc_ashare *out)
{
    cc_ashare a = { 0 };
    cc_status s = nn_ash_alloc_raw(&a, d->n);
    if (s == CC_OK) s = cc_proto_add_public(p, d, 1ull << (f + ep->t), &a);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &a, &a, f + 2 * ep->t + (ep->taylor2 ? 1 : 0), &a);
    if (s == CC_OK && ep->taylor2) s = cc_proto_add_public(p, &a, 1ull << (f - 1), &a);
    unsigned squarings = ep->taylor2 ? ep->t : ep->t - 1;
    for (unsigned i = 0; s == CC_OK && i < squarings; i++) s = cc_proto_mul_trunc(p, &a, &a, f, &a);
    if (s == CC_OK) s = cc_proto_mul(p, &a, th, out);
    nn_ash_free(&a);
    return s;
}

/* Precise exp on one-group rows (nn_impl.h, CC_NN_SMEXP_T): u² (2 rounds),
 * the degree-4 start as one sum of products (2), three squarings (6), then
 * the threshold bit (1): 11 rounds.  The threshold bits come with the
 * maximum: each pair difference d = x_i − x_j is compared with 0, thr and
 * 1 − thr in one call (mpc_max.c). */
static cc_status exp4_th(cc_proto *p, unsigned f, const cc_ashare *d, const cc_ashare *th,
                         cc_ashare *out)
{
    const unsigned t = CC_NN_SMEXP_T, fc = cc_nn_smexp_fc(f);
    size_t n = d->n;
    cc_ashare u2 = { 0 }, q = { 0 }, a = { 0 };
    uint64_t *z = NULL;
    cc_status s = nn_ash_alloc_raw(&u2, n);
    if (s == CC_OK) s = nn_ash_alloc(&q, n);
    if (s == CC_OK) s = nn_ash_alloc(&a, n);
    if (s == CC_OK && !(z = cc_alloc(n * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s == CC_OK) s = cc_proto_mul_trunc(p, d, d, f + t, &u2);   /* u² at f + t bits */
    if (s != CC_OK) goto done;
    /* q = u/6 + u²/24 (at f + t + fc), a = 2(1 + u + u²/2) (at f + t) */
    nn_axpy(&q, cc_nn_enc(1.0 / 6, fc), d);
    nn_axpy(&q, cc_nn_enc(1.0 / 24, fc), &u2);
    nn_axpy(&a, 2, d);
    nn_axpy(&a, 1, &u2);
    s = cc_proto_add_public(p, &a, 1ull << (f + t + 1), &a);
    memset(z, 0, n * sizeof *z);
    cc_proto_terms_mul_acc(p, &u2, &q, z);
    cc_proto_terms_add_share(p, &a, f + t + fc - 1, z);
    if (s == CC_OK) s = cc_proto_trunc_terms(p, z, f + 2 * t + fc, &a);
    for (unsigned i = 0; s == CC_OK && i < t; i++) s = cc_proto_mul_trunc(p, &a, &a, f, &a);
    if (s == CC_OK) s = cc_proto_mul(p, &a, th, out);
done:
    nn_ash_free(&u2); nn_ash_free(&q); nn_ash_free(&a);
    cc_free(z);
    return s;
}

/* y = e · 1/s for one-group rows of the precise set (nn_impl.h,
 * cc_recip_quad_plan_new): the bucket bits of s (narrow 8-bit digits, 3 + 1
 * rounds), then t = s − c (local), t2 = t² >> (f − G) (rows) ‖ eE_k =
 * e·E_k >> f (3 per entry) in one truncation (2), and y = (eE0·2^(f+G) +
 * eE1·t·2^G + eE2·t2 + half) >> (F + G) (2): 8 rounds, the quadratic's
 * coefficients selected per row like the bucket cubic's, but with no
 * normalising product in front. */
static cc_status recip_fold(cc_proto *p, const cc_bucket_plan *bp, unsigned f, bool narrow,
                            const cc_ashare *srow, const cc_ashare *e, const size_t *row_of,
                            cc_ashare *y)
{
    const size_t R = srow->n, n = e->n;
    const unsigned G = cc_nn_rq_g(f), FG = f + CC_NN_RQ_EXTRA + G;
    cc_ashare comb = { 0 }, ab = { 0 }, t = { 0 }, tb = { 0 }, b1 = { 0 }, t2b = { 0 };
    uint64_t *z = NULL;
    size_t zn = R + 3 * n;
    cc_status s = nn_ash_alloc_raw(&comb, CC_BK_NCOMB * R);
    if (s == CC_OK) s = nn_ash_alloc_raw(&ab, 3 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&t, R);
    if (s == CC_OK) s = nn_ash_alloc_raw(&tb, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&b1, R + 3 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&t2b, n);
    if (s == CC_OK && !(z = cc_alloc(zn * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s == CC_OK) s = nn_bucket_bits(p, bp, srow, narrow, &comb);
    if (s != CC_OK) goto done;
    /* t = s − c per row (local), broadcast to the entries and shifted by G */
    {
        cc_ashare U = cc_ashare_slice(&comb, CC_BK_U * R, R);
        s = cc_proto_sub(p, srow, &U, &t);
        if (s != CC_OK) goto done;
        for (int h = 0; h < 2; h++)
            for (size_t j = 0; j < n; j++) tb.s[h][j] = t.s[h][row_of[j]] << G;
        for (int k = 0; k < 3; k++)
            for (int h = 0; h < 2; h++)
                for (size_t j = 0; j < n; j++)
                    ab.s[h][k * n + j] = comb.s[h][(CC_BK_A0 + k) * R + row_of[j]];
    }
    /* level 1: t2 = t² >> (f − G) (R) ‖ eE_k = e·E_k >> f (3n) */
    memset(z, 0, zn * sizeof *z);
    cc_proto_terms_mul_acc(p, &t, &t, z);
    for (int k = 0; k < 3; k++) {
        cc_ashare ak = cc_ashare_slice(&ab, (size_t)k * n, n);
        cc_proto_terms_mul_acc(p, e, &ak, z + R + (size_t)k * n);
    }
    {
        size_t len[2] = { R, 3 * n };
        unsigned d[2] = { f - G, f };
        s = cc_proto_trunc_terms_seg(p, z, 2, len, d, &b1);
    }
    if (s != CC_OK) goto done;
    /* level 2: y = eE0·2^(f+G) + eE1·(t·2^G) + eE2·t2 + half, >> F + G */
    {
        cc_ashare t2 = cc_ashare_slice(&b1, 0, R), e0 = cc_ashare_slice(&b1, R, n);
        cc_ashare e1 = cc_ashare_slice(&b1, R + n, n), e2 = cc_ashare_slice(&b1, R + 2 * n, n);
        for (int h = 0; h < 2; h++)
            for (size_t j = 0; j < n; j++) t2b.s[h][j] = t2.s[h][row_of[j]];
        memset(z, 0, n * sizeof *z);
        cc_proto_terms_add_share(p, &e0, f + G, z);
        cc_proto_terms_mul_acc(p, &e1, &tb, z);
        cc_proto_terms_mul_acc(p, &e2, &t2b, z);
        cc_proto_terms_add_public(p, n, 1, FG - 1, z);   /* round to nearest */
        s = cc_proto_trunc_terms(p, z, FG, y);
    }
done:
    nn_ash_free(&comb); nn_ash_free(&ab); nn_ash_free(&t); nn_ash_free(&tb);
    nn_ash_free(&b1); nn_ash_free(&t2b);
    cc_free(z);
    return s;
}

/* Domain |x| < 2^(31-f) - CC_NN_LOGIT_MARGIN (8184 at f = 18) for every
 * unmasked entry: the maximum's x_i - x_j and x_i - x_j - thr then stay in
 * [-2^32, 2^32) and its comparisons are narrow (mpc_max.c, nn_impl.h);
 * masked entries are replaced by cc_nn_logit_floor(f) before the maximum. */
cc_status cc_nn_softmax(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                        const cc_ashare *x, const uint8_t *mask, size_t mask_rows,
                        cc_ashare *out)
{
    const cc_approx_set *set;
    size_t n;
    CC_TRY(nn_shape("softmax", rows, cols, &n));
    CC_TRY(nn_check(p, cfg, "softmax", x, n, out, n, &set));
    if (mask && mask_rows == 0) return cc_error_set(CC_ERR_ARG, "nn softmax: mask given with 0 rows");
    const unsigned f = cfg->f;

    /* public bookkeeping: which entries are live, which rows are non-empty */
    size_t live = 0, live_rows = 0;
    size_t *row_of = NULL, *idx = NULL;
    uint64_t *keep = NULL, *fill = NULL;
    cc_ashare xm = { 0 }, m = { 0 }, d = { 0 }, e = { 0 }, srow = { 0 }, inv = { 0 }, invb = { 0 };
    cc_ashare th = { 0 }, thl = { 0 };
    /* rows settled in one group: exp's threshold comes with the maximum */
    const bool fused = cols >= 2 && nn_max_next_k(cols) == cols;
    cc_status s = CC_OK;
    if (!(keep = cc_alloc(n * 8 + 8)) || !(fill = cc_alloc(n * 8 + 8)) ||
        !(idx = cc_alloc(n * sizeof *idx + 8)) || !(row_of = cc_alloc(n * sizeof *row_of + 8))) {
        s = CC_ERR_NOMEM;
        goto done;
    }
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *mr = mask ? mask + (r % mask_rows) * cols : NULL;
        size_t before = live;
        for (size_t c = 0; c < cols; c++) {
            bool on = !mr || mr[c];
            keep[r * cols + c] = on;
            fill[r * cols + c] = on ? 0 : cc_nn_logit_floor(f);
            if (on) { idx[live] = r * cols + c; row_of[live] = live_rows; live++; }
        }
        if (live > before) live_rows++;
    }
    memset(out->s[0], 0, n * 8);
    memset(out->s[1], 0, n * 8);
    if (live == 0) goto done;

    cc_proto_scope_begin(p, "softmax");
    /* masked logits become the domain's floor, not above any real one */
    s = nn_ash_alloc(&xm, n);
    if (s == CC_OK) s = nn_ash_alloc(&m, rows);
    if (s == CC_OK) s = nn_ash_alloc(&d, live);
    if (s == CC_OK) s = nn_ash_alloc(&e, live);
    if (s == CC_OK) s = nn_ash_alloc(&srow, live_rows);
    if (s == CC_OK) s = nn_ash_alloc(&inv, live_rows);
    if (s == CC_OK) s = nn_ash_alloc(&invb, live);
    if (s == CC_OK) s = cc_proto_mul_public_vec(p, x, keep, &xm);
    if (s == CC_OK) s = cc_proto_add_public_vec(p, &xm, fill, &xm);
    if (s == CC_OK && fused) s = nn_ash_alloc_raw(&th, n);
    if (s == CC_OK && fused) s = nn_ash_alloc_raw(&thl, live);
    if (s == CC_OK)
        s = fused ? nn_max_rows_th(p, f, &xm, rows, cols, cc_nn_enc(set->exp.threshold, f), &m, &th)
                  : nn_max_rows(p, f, &xm, rows, cols, &m);
    if (s != CC_OK) goto scoped;
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < live; j++) {
            d.s[k][j] = x->s[k][idx[j]] - m.s[k][idx[j] / cols];
            if (fused) thl.s[k][j] = th.s[k][idx[j]];
        }
    if (fused && set->bucket_cubic) s = exp4_th(p, f, &d, &thl, &e);
    else if (fused) s = exp_chain_th(p, &set->exp, f, &d, &thl, &e);
    else s = nn_exp_core(p, &set->exp, f, &d, true, NN_CMP_FEW, &e);   /* narrow: x - max */
    if (s != CC_OK) goto scoped;
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < live; j++) srow.s[k][row_of[j]] += e.s[k][j];
    /* Public bounds on the row sum: the row's maximum contributes exp(0),
     * which is 1 minus at most 2^(t+1) ulps (≥ 1/2), and every term is ≤ 1,
     * so 2^(f-1) ≤ s < 2^(f + ⌈log2 cols⌉ + 1): only those bits can be the
     * highest one (9 comparisons per row for 128 columns instead of 43).
     * While that bound is ≤ 2^31 (f + ⌈log2 cols⌉ + 1 ≤ 31: f = 18 up to
     * 4096 columns), s and every threshold are below 2^31 and the bucket
     * comparisons run on the narrow MSB. */
    unsigned lg = 0;
    while (((size_t)1 << lg) < cols) lg++;
    if (fused && set->bucket_cubic) {
        unsigned lo = f - 1, hi = f + lg + 1;
        nn_recip_window(f, &lo, &hi);
        cc_bucket_plan *bp = cc_recip_quad_plan_new(f, lo, hi);
        s = bp ? recip_fold(p, bp, f, nn_softmax_sum_narrow(f, cols), &srow, &e, row_of, &e)
               : cc_error_set(CC_ERR_NOMEM, "nn: plan");
        cc_free(bp);
        if (s == CC_OK)
            for (int k = 0; k < 2; k++)
                for (size_t j = 0; j < live; j++) out->s[k][idx[j]] = e.s[k][j];
        goto scoped;
    }
    s = nn_recip_core(p, set, f, &srow, f - 1, f + lg + 1, nn_softmax_sum_narrow(f, cols), &inv);
    if (s != CC_OK) goto scoped;
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < live; j++) invb.s[k][j] = inv.s[k][row_of[j]];
    s = cc_proto_mul_trunc(p, &e, &invb, f, &e);
    if (s == CC_OK)
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < live; j++) out->s[k][idx[j]] = e.s[k][j];
scoped:
    cc_proto_scope_end(p);
done:
    nn_ash_free(&xm); nn_ash_free(&m); nn_ash_free(&d); nn_ash_free(&e);
    nn_ash_free(&srow); nn_ash_free(&inv); nn_ash_free(&invb);
    nn_ash_free(&th); nn_ash_free(&thl);
    cc_free(keep); cc_free(fill); cc_free(idx); cc_free(row_of);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn softmax");
}

cc_status cc_nn_argmax(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                       const cc_ashare *x, cc_ashare *index_out)
{
    const cc_approx_set *set;
    size_t n;
    CC_TRY(nn_shape("argmax", rows, cols, &n));
    CC_TRY(nn_check(p, cfg, "argmax", x, n, index_out, rows, &set));
    if (cols == 0) return cc_error_set(CC_ERR_ARG, "nn argmax: rows of 0 columns");
    cc_ashare mx = { 0 };
    CC_TRY(nn_ash_alloc(&mx, rows));
    cc_proto_scope_begin(p, "argmax");
    cc_status s = nn_argmax_rows(p, cfg->f, x, rows, cols, &mx, index_out);
    cc_proto_scope_end(p);
    nn_ash_free(&mx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn argmax");
}
