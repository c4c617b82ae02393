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
 * layer measures a few fewer (adjacent ops share rounds).
 * Rows of ≤ 16 columns (attention over a short context) are settled in one
 * group (nn_max_rows_th, mpc_max_th.c: live pairs only, packed AND tree)
 * whose comparison batch also yields exp's threshold bit and, for the
 * precise set, its segment bits: max 3 + 3 + 1 + 1 (returning
 * (x − max)·th), exp by segments 6 (exp_seg), 1/s folded into the product
 * 8 (recip_fold): 22 rounds for 8 columns (27 with the T4(d/8)^8 exp of
 * the fourth pass).  Every party sends
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

/* Precise exp on one-group rows by segments (nn_impl.h, cc_smexp_plan):
 * d = (x − max)·th (the maximum applies the threshold bit, so d is 0
 * below thr), G the nseg segment bits per entry (arithmetic 0/1, G_l at
 * G[l·n..], the last one th); δ and the K_k are local, then three product
 * levels: 6 rounds.  Below thr every b_s and K_k is 0 and δ = 0, so the
 * levels carry only truncation noise: y within 2 ulps of 0. */
static cc_status exp_seg(cc_proto *p, const cc_smexp_plan *pl, const cc_ashare *d,
                         const cc_ashare *G, cc_ashare *out)
{
    const size_t n = d->n;
    const unsigned f = pl->f, F = pl->F, fK = pl->fK, ns = pl->nseg, D = CC_NN_SMSEG_DEG;
    cc_ashare b = { 0 }, dl = { 0 }, K = { 0 }, l1 = { 0 }, l2 = { 0 };
    uint64_t *z = NULL;
    cc_status s = nn_ash_alloc_raw(&b, ns * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&dl, n);
    if (s == CC_OK) s = nn_ash_alloc(&K, (D + 1) * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&l1, (1 + D) * n);        /* δ2 | P_1..P_6 */
    if (s == CC_OK) s = nn_ash_alloc_raw(&l2, 6 * n);              /* δ3 A2 A4 | A3 A5 A6 */
    if (s == CC_OK && !(z = cc_alloc((1 + D) * n * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    /* one-hot b_s = G_s − G_(s−1), δ = d − Σ b_s m_s, K_k = Σ b_s K[k][s] */
    nn_copy(&dl, d);
    for (unsigned sg = 0; sg < ns && s == CC_OK; sg++) {
        cc_ashare bs = cc_ashare_slice(&b, sg * n, n), g = cc_ashare_slice(G, sg * n, n);
        nn_copy(&bs, &g);
        if (sg > 0) {
            cc_ashare gp = cc_ashare_slice(G, (sg - 1) * n, n);
            s = cc_proto_sub(p, &bs, &gp, &bs);
        }
        nn_axpy(&dl, (uint64_t)0 - pl->mid[sg], &bs);
        for (unsigned k = 0; k <= D; k++) {
            cc_ashare Kk = cc_ashare_slice(&K, k * n, n);
            nn_axpy(&Kk, pl->K[k][sg], &bs);
        }
    }
    if (s != CC_OK) goto done;
    /* L1: δ2 = δ² >> (2f − F) ‖ P_k = K_k·δ >> (fK + f − F) */
    memset(z, 0, (1 + D) * n * sizeof *z);
    cc_proto_terms_mul_acc(p, &dl, &dl, z);
    for (unsigned k = 1; k <= D; k++) {
        cc_ashare Kk = cc_ashare_slice(&K, k * n, n);
        cc_proto_terms_mul_acc(p, &Kk, &dl, z + k * n);
    }
    {
        size_t len[2] = { n, D * n };
        unsigned sh[2] = { 2 * f - F, fK + f - F };
        s = cc_proto_trunc_terms_seg(p, z, 2, len, sh, &l1);
    }
    if (s != CC_OK) goto done;
    cc_ashare d2 = cc_ashare_slice(&l1, 0, n), P[CC_NN_SMSEG_DEG + 1];
    for (unsigned k = 1; k <= D; k++) P[k] = cc_ashare_slice(&l1, k * n, n);
    /* L2: δ3 = δ·δ2, A2 = P2·δ, A4 = P4·δ (>> f) ‖ A3, A5, A6 = P·δ2 (>> F) */
    memset(z, 0, 6 * n * sizeof *z);
    cc_proto_terms_mul_acc(p, &dl, &d2, z);
    cc_proto_terms_mul_acc(p, &P[2], &dl, z + n);
    cc_proto_terms_mul_acc(p, &P[4], &dl, z + 2 * n);
    cc_proto_terms_mul_acc(p, &P[3], &d2, z + 3 * n);
    cc_proto_terms_mul_acc(p, &P[5], &d2, z + 4 * n);
    cc_proto_terms_mul_acc(p, &P[6], &d2, z + 5 * n);
    {
        size_t len[2] = { 3 * n, 3 * n };
        unsigned sh[2] = { f, F };
        s = cc_proto_trunc_terms_seg(p, z, 2, len, sh, &l2);
    }
    if (s != CC_OK) goto done;
    /* L3: y = K_0 + P1 + A2 + A3 + A4·δ2 + A5·δ2 + A6·δ3, at 2F bits, >> (2F − f) */
    {
        cc_ashare d3 = cc_ashare_slice(&l2, 0, n), A2 = cc_ashare_slice(&l2, n, n);
        cc_ashare A4 = cc_ashare_slice(&l2, 2 * n, n), A3 = cc_ashare_slice(&l2, 3 * n, n);
        cc_ashare A5 = cc_ashare_slice(&l2, 4 * n, n), A6 = cc_ashare_slice(&l2, 5 * n, n);
        cc_ashare K0 = cc_ashare_slice(&K, 0, n);
        memset(z, 0, n * sizeof *z);
        cc_proto_terms_add_share(p, &K0, 2 * F - fK, z);
        cc_proto_terms_add_share(p, &P[1], F, z);
        cc_proto_terms_add_share(p, &A2, F, z);
        cc_proto_terms_add_share(p, &A3, F, z);
        cc_proto_terms_mul_acc(p, &A4, &d2, z);
        cc_proto_terms_mul_acc(p, &A5, &d2, z);
        cc_proto_terms_mul_acc(p, &A6, &d3, z);
        cc_proto_terms_add_public(p, n, 1, 2 * F - f - 1, z);    /* round to nearest */
        s = cc_proto_trunc_terms(p, z, 2 * F - f, out);
    }
done:
    nn_ash_free(&b); nn_ash_free(&dl); nn_ash_free(&K); nn_ash_free(&l1);
    nn_ash_free(&l2);
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
    cc_ashare th = { 0 }, thl = { 0 }, mfold = { 0 };
    cc_smexp_plan sp;
    uint8_t *live_flag = NULL;
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
    s = nn_ash_alloc(&xm, n);
    if (s == CC_OK) s = nn_ash_alloc(&m, rows);
    if (s == CC_OK) s = nn_ash_alloc(&d, live);
    if (s == CC_OK) s = nn_ash_alloc(&e, live);
    if (s == CC_OK) s = nn_ash_alloc(&srow, live_rows);
    if (s == CC_OK) s = nn_ash_alloc(&inv, live_rows);
    if (s == CC_OK) s = nn_ash_alloc(&invb, live);
    /* long rows: masked logits become the domain's floor, not above any
     * real one (one-group rows leave masked entries out of the maximum) */
    if (s == CC_OK && !fused) s = cc_proto_mul_public_vec(p, x, keep, &xm);
    if (s == CC_OK && !fused) s = cc_proto_add_public_vec(p, &xm, fill, &xm);
    /* one-group rows: exp's threshold bit (puma) or its segment bits
     * (precise, the last one being the threshold) come with the maximum */
    size_t nth = 0;
    uint64_t thr[CC_NN_SMSEG_MAX];
    if (s == CC_OK && fused && set->bucket_cubic) {
        if (!cc_smexp_plan_make(f, set->exp.threshold, &sp)) s = CC_ERR_ARG;
        nth = sp.nseg;
        memcpy(thr, sp.c, nth * sizeof *thr);
    } else if (fused) {
        nth = 1;
        thr[0] = cc_nn_enc(set->exp.threshold, f);
    }
    if (s == CC_OK && fused) s = nn_ash_alloc_raw(&th, nth * n);
    if (s == CC_OK && fused) s = nn_ash_alloc_raw(&thl, nth * live);
    if (s == CC_OK && fused && mask && !(live_flag = cc_alloc(n + 8))) s = CC_ERR_NOMEM;
    for (size_t q = 0; s == CC_OK && live_flag && q < n; q++) live_flag[q] = (uint8_t)keep[q];
    /* the precise set's maximum returns (x − max)·th per entry */
    const bool fold = fused && set->bucket_cubic;
    if (s == CC_OK && fold) s = nn_ash_alloc(&mfold, n);
    if (s == CC_OK)
        s = fused ? nn_max_rows_th(p, f, x, rows, cols, live_flag, nth, thr, fold,
                                   fold ? &mfold : &m, &th)
                  : nn_max_rows(p, f, &xm, rows, cols, &m);
    if (s != CC_OK) goto scoped;
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < live; j++) {
            d.s[k][j] = fold ? mfold.s[k][idx[j]] : x->s[k][idx[j]] - m.s[k][idx[j] / cols];
            for (size_t t = 0; t < nth; t++) thl.s[k][t * live + j] = th.s[k][t * n + idx[j]];
        }
    if (fold) s = exp_seg(p, &sp, &d, &thl, &e);
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
    nn_ash_free(&th); nn_ash_free(&thl); nn_ash_free(&mfold);
    cc_free(keep); cc_free(fill); cc_free(idx); cc_free(row_of); cc_free(live_flag);
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
