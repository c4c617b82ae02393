/* Reciprocal (Goldschmidt), rsqrt, LayerNorm and RMSNorm on shares
 * (PUMA arXiv 2307.12533 §4.3 LayerNorm; SPU fxp_base.cc / fxp_approx.cc
 * for the normalise-by-highest-bit method).  Same steps and scales as
 * ref_norm.c.
 *
 * Highest-bit normalisation: all L comparisons x < 2^i in one call sharing
 * the re-sharer's message (8-bit digits: 4 rounds, narrow 3) + one bit
 * injection (1 round); the normalising and the
 * compensating factors are then local linear combinations (cc_norm_plan).
 *   reciprocal: 7 + c (2) + e (2) + iterations (2 each) + scale (2)
 *               PUMA 17 rounds, precise 19
 *   rsqrt:      7 + u (2) + u^2 (2) + u^3,u^4 (2) + poly trunc (2)
 *               [+ Newton 6] + scale (2): PUMA 17 rounds, precise 23
 * Bytes per input: L comparisons (L = 61 - f for the reciprocal, fewer when
 * the caller gives bounds; min(60, f+2K) for rsqrt) and L bit injections
 * dominate (P0 ≈ 51·L B), so these run once per row (softmax, norms). */
#include <string.h>
#include "nn_impl.h"

/* Precise set: the bucketed cubic (mpc_bucket.c), result folded to
 * 1/x at f bits resp. rsqrt(x) at f + extra bits; 13 rounds. */
static cc_status bucket_fn(cc_proto *p, cc_bk_fn fn, unsigned f, const cc_ashare *x,
                           unsigned lo, unsigned hi, unsigned out_bits, bool narrow,
                           cc_ashare *out)
{
    cc_bucket_plan *bp = cc_bucket_plan_new(fn, f, lo, hi, 1.0, true, out_bits, 0);
    if (!bp) return cc_error_set(CC_ERR_NOMEM, "nn: bucket plan");
    cc_status s = nn_bucket_eval(p, bp, x, narrow, out);
    cc_free(bp);
    return s;
}

/* The windows of the standalone functions (the domains of nn.h). */
void nn_recip_window(unsigned f, unsigned *lo, unsigned *hi)
{
    cc_norm_plan np;
    cc_norm_plan_recip(f, &np);
    if (*hi > np.L) *hi = np.L;
    if (*lo >= *hi) *lo = *hi - 1;
}

cc_status nn_recip_core(cc_proto *p, const cc_approx_set *set, unsigned f, const cc_ashare *x,
                        unsigned lo, unsigned hi, bool narrow, cc_ashare *out)
{
    if (set->bucket_cubic) {
        nn_recip_window(f, &lo, &hi);
        return bucket_fn(p, CC_BK_RECIP, f, x, lo, hi, f, narrow, out);
    }
    size_t n = x->n;
    cc_norm_plan np;
    cc_norm_plan_recip(f, &np);
    cc_ashare nf = { 0 }, cf = { 0 }, c = { 0 }, w = { 0 }, lhs = { 0 }, rhs = { 0 }, prod = { 0 };
    cc_status s = nn_ash_alloc(&nf, n);
    if (s == CC_OK) s = nn_ash_alloc(&cf, n);
    if (s == CC_OK) s = nn_ash_alloc(&c, n);
    if (s == CC_OK) s = nn_ash_alloc(&w, n);
    if (s == CC_OK) s = nn_ash_alloc(&lhs, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc(&rhs, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc(&prod, 2 * n);
    if (s != CC_OK) goto done;
    s = nn_highbit_factors(p, &np, x, lo, hi, narrow, &nf, &cf);
    /* c = x · 2^-(p+1) ∈ [0.5, 1);  w = 2.9142 - 2c */
    if (s == CC_OK) s = cc_proto_mul_trunc(p, x, &nf, np.norm_shift, &c);
    if (s != CC_OK) goto done;
    memset(w.s[0], 0, 8 * n); memset(w.s[1], 0, 8 * n);
    nn_axpy(&w, (uint64_t)-2, &c);
    s = cc_proto_add_public(p, &w, cc_nn_enc(2.9142, f), &w);
    /* e = 1 - c·w, kept in rhs[n..2n) so the loop can square it in place */
    cc_ashare r = cc_ashare_slice(&lhs, 0, n), e_sq = cc_ashare_slice(&lhs, n, n);
    cc_ashare one_e = cc_ashare_slice(&rhs, 0, n), e = cc_ashare_slice(&rhs, n, n);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &c, &w, f, &e);
    if (s != CC_OK) goto done;
    memset(one_e.s[0], 0, 8 * n); memset(one_e.s[1], 0, 8 * n);
    nn_axpy(&one_e, (uint64_t)-1, &e);                     /* one_e = -(c·w) */
    s = cc_proto_add_public(p, &one_e, 1ull << f, &e);     /* e = 1 - c·w */
    nn_copy(&r, &w);
    for (unsigned it = 0; s == CC_OK && it < set->recip_iters; it++) {
        bool last = it + 1 == set->recip_iters;
        /* r ← r·(1+e) and, unless last, e ← e·e — one batch */
        s = cc_proto_add_public(p, &e, 1ull << f, &one_e);
        nn_copy(&e_sq, &e);
        cc_ashare L = cc_ashare_slice(&lhs, 0, last ? n : 2 * n);
        cc_ashare R = cc_ashare_slice(&rhs, 0, last ? n : 2 * n);
        cc_ashare P = cc_ashare_slice(&prod, 0, last ? n : 2 * n);
        if (s == CC_OK) s = cc_proto_mul_trunc(p, &L, &R, f, &P);
        if (s != CC_OK) break;
        cc_ashare pr = cc_ashare_slice(&prod, 0, n), pe = cc_ashare_slice(&prod, n, n);
        nn_copy(&r, &pr);
        if (!last) nn_copy(&e, &pe);
    }
    /* 1/x = r · 2^-(p+1) */
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &r, &cf, np.comp_shift, out);
done:
    nn_ash_free(&nf); nn_ash_free(&cf); nn_ash_free(&c); nn_ash_free(&w);
    nn_ash_free(&lhs); nn_ash_free(&rhs); nn_ash_free(&prod);
    return s;
}

cc_status nn_rsqrt_core(cc_proto *p, const cc_approx_set *set, unsigned f, const cc_ashare *x,
                        unsigned extra, cc_ashare *out)
{
    size_t n = x->n;
    cc_norm_plan np;
    cc_norm_plan_rsqrt(f, &np);
    if (set->bucket_cubic) return bucket_fn(p, CC_BK_RSQRT, f, x, 0, np.L, f + extra, false, out);
    cc_ashare nf = { 0 }, cf = { 0 }, pw = { 0 }, lhs = { 0 }, rhs = { 0 }, acc = { 0 }, r = { 0 };
    cc_status s = nn_ash_alloc(&nf, n);
    if (s == CC_OK) s = nn_ash_alloc(&cf, n);
    if (s == CC_OK) s = nn_ash_alloc(&pw, 5 * n);      /* u^0 unused, u .. u^4 */
    if (s == CC_OK) s = nn_ash_alloc(&lhs, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc(&rhs, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc(&acc, n);
    if (s == CC_OK) s = nn_ash_alloc(&r, n);
    if (s != CC_OK) goto done;
    cc_ashare u[5];
    for (int k = 0; k < 5; k++) u[k] = cc_ashare_slice(&pw, (size_t)k * n, n);
    s = nn_highbit_factors(p, &np, x, 0, 64, false, &nf, &cf);
    /* u = x · 2^-(p+2) ∈ [0.25, 0.5) */
    if (s == CC_OK) s = cc_proto_mul_trunc(p, x, &nf, np.norm_shift, &u[1]);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &u[1], &u[1], f, &u[2]);
    if (s == CC_OK) {
        cc_ashare l0 = cc_ashare_slice(&lhs, 0, n), l1 = cc_ashare_slice(&lhs, n, n);
        cc_ashare r0 = cc_ashare_slice(&rhs, 0, n), r1 = cc_ashare_slice(&rhs, n, n);
        nn_copy(&l0, &u[1]); nn_copy(&r0, &u[2]);   /* u^3 = u·u^2 */
        nn_copy(&l1, &u[2]); nn_copy(&r1, &u[2]);   /* u^4 = u^2·u^2 */
        cc_ashare u34 = cc_ashare_slice(&pw, 3 * n, 2 * n);
        s = cc_proto_mul_trunc(p, &lhs, &rhs, f, &u34);
    }
    if (s != CC_OK) goto done;
    s = cc_proto_add_public(p, &acc, cc_nn_enc(set->rsqrt_c[0], f) << f, &acc);
    for (int k = 1; k <= 4; k++) nn_axpy(&acc, cc_nn_enc(set->rsqrt_c[k], f), &u[k]);
    if (s == CC_OK) s = cc_proto_trunc(p, &acc, f, &r);
    for (unsigned it = 0; s == CC_OK && it < set->rsqrt_newton; it++) {
        /* r ← r·(3 - u·r^2)/2 */
        cc_ashare t = cc_ashare_slice(&lhs, 0, n);
        s = cc_proto_mul_trunc(p, &r, &r, f, &t);
        if (s == CC_OK) s = cc_proto_mul_trunc(p, &u[1], &t, f, &t);
        if (s != CC_OK) break;
        cc_ashare three_t = cc_ashare_slice(&rhs, 0, n);
        memset(three_t.s[0], 0, 8 * n); memset(three_t.s[1], 0, 8 * n);
        nn_axpy(&three_t, (uint64_t)-1, &t);
        s = cc_proto_add_public(p, &three_t, 3ull << f, &three_t);
        if (s == CC_OK) s = cc_proto_mul_trunc(p, &r, &three_t, f + 1, &r);
    }
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &r, &cf, np.comp_shift - extra, out);
done:
    nn_ash_free(&nf); nn_ash_free(&cf); nn_ash_free(&pw); nn_ash_free(&lhs);
    nn_ash_free(&rhs); nn_ash_free(&acc); nn_ash_free(&r);
    return s;
}

cc_status cc_nn_reciprocal(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, "reciprocal", x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, "reciprocal");
    cc_status s = nn_recip_core(p, set, cfg->f, x, 0, 64, false, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn reciprocal");
}

cc_status cc_nn_rsqrt(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, "rsqrt", x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, "rsqrt");
    cc_status s = nn_rsqrt_core(p, set, cfg->f, x, 0, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn rsqrt");
}

/* LayerNorm / RMSNorm (rows × cols), y = v · rsqrt(mean square + eps) ·
 * weight (+ beta), v = x - mean (LN) or x, with S = Σ v² + n·eps =
 * n·(mean square + eps) at 2f bits:
 *   [LN] mean = rowsum · round(2^k/n) >> k              trunc      2 rounds
 *   S: squares summed as local terms                     reshare    1 round
 *   bucket bits of S (one message per row: 16-bit digits
 *   on ≤ 8 rows, 8-bit digits on more)              msb + b2a  4 / 5 rounds
 * precise (nn_impl.h, nn_norm_quad_plan_new: 1/32-octave quadratic in
 * t = u − U with the octave factor in its coefficients, the weight first):
 *   u = S·N >> ns  ‖  vγ = v·γ >> (f − gv)               one trunc  2 rounds
 *   Y = Q2·t  ‖  X = vγ·t  (>> Fu)                       one trunc  2 rounds
 *   y = (vγ·Q0 + X·Q1 + X·Y) >> (gv + fq)                one trunc  2 rounds
 * RMSNorm 11 / 12 rounds, LayerNorm 13 / 14 (issue 11's fifth pass; with
 * the 1/8-octave cubic four levels: 13 / 14, 15 / 16; before issue 11 32 /
 * 34 declared precise, 26 / 28 puma).  Per element three truncations; per
 * row the comparisons (32 per octave of S's window).
 * The puma set takes P from PUMA's quartic on u ∈ [0.25, 0.5) with the
 * octave factor C applied to v first (one comparison per octave, no Newton
 * step, as in PUMA): u ‖ vC = v·C >> 24, u² ‖ vCw = vC·γ >> f, u³ and u⁴ in
 * one batch, Σ c_k u^k >> fu — the truncation points of the old schedule,
 * whose floors the puma error figures include — then y = vCw·P >> 30:
 * RMSNorm 16, LayerNorm 18 rounds. */
/* The precise set's three levels after the bucket bits (nn_impl.h,
 * nn_norm_quad_plan_new): u ‖ vγ, Y ‖ X, y. */
static cc_status norm_quad_tail(cc_proto *p, const cc_bucket_plan *bp, unsigned f, size_t rows,
                                size_t cols, const cc_ashare *v, const cc_ashare *S,
                                const cc_ashare *comb, const cc_ashare *weight, cc_ashare *full,
                                uint64_t *z, cc_ashare *out)
{
    /* full (n elements) and z (rows + n terms) are the caller's scratch */
    const size_t n = rows * cols;
    const unsigned Fu = bp->fu, fq = bp->out_bits, gv = cc_nn_nq_gv(f);
    cc_ashare l1 = { 0 }, l2 = { 0 }, tb = { 0 }, qb = { 0 };
    cc_status s = nn_ash_alloc_raw(&l1, rows + n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&l2, n + rows);
    if (s == CC_OK) s = nn_ash_alloc_raw(&tb, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&qb, n);
    if (s != CC_OK) goto done;
    /* L1: u = S·N >> ns (rows) ‖ vγ = v·weight >> (f − gv) (n) */
    {
        cc_ashare N = cc_ashare_slice(comb, CC_BK_N * rows, rows);
        memset(z, 0, (rows + n) * sizeof *z);
        cc_proto_terms_mul_acc(p, S, &N, z);
        nn_tile_rows(rows, cols, weight, full);
        cc_proto_terms_mul_acc(p, v, full, z + rows);
        size_t len[2] = { rows, n };
        unsigned d[2] = { bp->norm_shift, f - gv };
        s = cc_proto_trunc_terms_seg(p, z, 2, len, d, &l1);
    }
    if (s != CC_OK) goto done;
    cc_ashare t = cc_ashare_slice(&l1, 0, rows), vg = cc_ashare_slice(&l1, rows, n);
    {
        cc_ashare U = cc_ashare_slice(comb, CC_BK_U * rows, rows);
        s = cc_proto_sub(p, &t, &U, &t);
    }
    if (s != CC_OK) goto done;
    /* L2: X = vγ·t (n) ‖ Y = Q2·t (rows), both >> Fu */
    {
        cc_ashare Q2 = cc_ashare_slice(comb, CC_BK_A2 * rows, rows);
        nn_bcast_rows(rows, cols, &t, &tb);
        memset(z, 0, (n + rows) * sizeof *z);
        cc_proto_terms_mul_acc(p, &vg, &tb, z);
        cc_proto_terms_mul_acc(p, &Q2, &t, z + n);
        s = cc_proto_trunc_terms(p, z, Fu, &l2);
    }
    if (s != CC_OK) goto done;
    /* L3: y = (vγ·Q0 + X·Q1 + X·Y + half) >> (gv + fq) */
    {
        cc_ashare X = cc_ashare_slice(&l2, 0, n), Y = cc_ashare_slice(&l2, n, rows);
        cc_ashare Q0 = cc_ashare_slice(comb, CC_BK_A0 * rows, rows);
        cc_ashare Q1 = cc_ashare_slice(comb, CC_BK_A1 * rows, rows);
        memset(z, 0, n * sizeof *z);
        nn_bcast_rows(rows, cols, &Q0, &qb);
        cc_proto_terms_mul_acc(p, &vg, &qb, z);
        nn_bcast_rows(rows, cols, &Q1, &qb);
        cc_proto_terms_mul_acc(p, &X, &qb, z);
        nn_bcast_rows(rows, cols, &Y, &qb);
        cc_proto_terms_mul_acc(p, &X, &qb, z);
        cc_proto_terms_add_public(p, n, 1, gv + fq - 1, z);     /* round to nearest */
        s = cc_proto_trunc_terms(p, z, gv + fq, out);
    }
done:
    nn_ash_free(&l1); nn_ash_free(&l2); nn_ash_free(&tb); nn_ash_free(&qb);
    return s;
}

static cc_status norm_bucket_mpc(cc_proto *p, const cc_approx_set *set, unsigned f, size_t rows,
                                 size_t cols,
                                 const cc_ashare *x, bool center, const cc_ashare *weight,
                                 const cc_ashare *beta, double eps, cc_ashare *out)
{
    const size_t n = rows * cols;
    const uint64_t eps_f = cc_nn_eps(eps, f);
    cc_rowmean_plan rp;
    cc_rowmean_plan_make(cols, &rp);
    cc_bucket_plan *bp = nn_norm_plan(set, f, cols);
    cc_ashare v = { 0 }, full = { 0 }, rowv = { 0 }, rowt = { 0 }, comb = { 0 }, b1 = { 0 },
              b2 = { 0 }, S = { 0 };
    uint64_t *z = NULL;
    const size_t zn = rows + n;   /* the terms of every level: rows ‖ n */
    cc_status s = bp ? CC_OK : cc_error_set(CC_ERR_NOMEM, "nn: norm plan");
    if (s == CC_OK) s = nn_ash_alloc(&v, n);
    if (s == CC_OK) s = nn_ash_alloc(&full, n);
    if (s == CC_OK) s = nn_ash_alloc(&rowv, rows);
    if (s == CC_OK) s = nn_ash_alloc(&rowt, rows);
    if (s == CC_OK) s = nn_ash_alloc(&S, rows);
    if (s == CC_OK) s = nn_ash_alloc_raw(&comb, CC_BK_NCOMB * rows);
    if (s == CC_OK && !(z = cc_alloc(zn * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    nn_copy(&v, x);
    if (center) {
        s = cc_proto_sum_rows(p, x, rows, cols, &rowv);
        if (s == CC_OK) s = cc_proto_mul_public(p, &rowv, rp.mean_c, &rowv);
        if (s == CC_OK) s = cc_proto_trunc(p, &rowv, rp.mean_k, &rowt);
        if (s != CC_OK) goto done;
        nn_bcast_rows(rows, cols, &rowt, &full);
        s = cc_proto_sub(p, &v, &full, &v);
        if (s != CC_OK) goto done;
    }
    /* S: the terms of v·v summed per row (products of replicated shares are
     * local 3-out-of-3 terms), + n·eps at 2f bits, one reshare */
    memset(z, 0, n * sizeof *z);
    cc_proto_terms_mul_acc(p, &v, &v, z);
    for (size_t r = 0; r < rows; r++) {
        uint64_t acc = 0;
        for (size_t c = 0; c < cols; c++) acc += z[r * cols + c];
        z[r] = acc;   /* z[r] lies in a row already summed (or is row r itself) */
    }
    cc_proto_terms_add_public(p, rows, (uint64_t)cols * eps_f, f, z);
    s = cc_proto_reshare_terms(p, z, &S);
    /* S at 2f bits reaches 2^62: the full MSB */
    if (s == CC_OK) s = nn_bucket_bits(p, bp, &S, false, &comb);
    if (s != CC_OK) goto done;
    if (set->bucket_cubic) {
        s = norm_quad_tail(p, bp, f, rows, cols, &v, &S, &comb, weight, &full, z, out);
        goto finish;
    }
    s = nn_ash_alloc_raw(&b1, rows + n);        /* the puma levels' outputs */
    if (s == CC_OK) s = nn_ash_alloc_raw(&b2, 3 * rows + n);
    if (s != CC_OK) goto done;
    /* level 1: u = S·N >> norm_shift (rows) ‖ vC = v·C >> VCS (n) */
    {
        cc_ashare N = cc_ashare_slice(&comb, CC_BK_N * rows, rows);
        cc_ashare C = cc_ashare_slice(&comb, CC_BK_C * rows, rows);
        nn_bcast_rows(rows, cols, &C, &full);
        memset(z, 0, (rows + n) * sizeof *z);
        cc_proto_terms_mul_acc(p, &S, &N, z);
        cc_proto_terms_mul_acc(p, &v, &full, z + rows);
        size_t len[2] = { rows, n };
        unsigned d[2] = { bp->norm_shift, CC_NN_NORM_VCS };
        s = cc_proto_trunc_terms_seg(p, z, 2, len, d, &b1);
    }
    if (s != CC_OK) goto done;
    /* puma: level 2 u² (rows, >> fu) ‖ vCw; level 3 the quartic */
    {
        cc_ashare u = cc_ashare_slice(&b1, 0, rows), vC = cc_ashare_slice(&b1, rows, n);
        const unsigned fu = bp->fu;
        const double *c = set->rsqrt_c;
        memset(z, 0, (rows + n) * sizeof *z);
        cc_proto_terms_mul_acc(p, &u, &u, z);
        nn_tile_rows(rows, cols, weight, &full);
        cc_proto_terms_mul_acc(p, &vC, &full, z + rows);
        size_t len[2] = { rows, n };
        unsigned d[2] = { fu, f };
        cc_ashare b2r = cc_ashare_slice(&b2, 0, rows + n);
        s = cc_proto_trunc_terms_seg(p, z, 2, len, d, &b2r);
        if (s != CC_OK) goto done;
        cc_ashare u2 = cc_ashare_slice(&b2, 0, rows), vCw = cc_ashare_slice(&b2, rows, n);
        /* level 3: u³ = u·u², u⁴ = u²·u² (>> fu, one batch), as PUMA / the old
         * schedule truncate them; level 4: r = Σ c_k u^k >> fu */
        cc_ashare l = cc_ashare_slice(&comb, 0, 2 * rows), r = cc_ashare_slice(&comb, 2 * rows, 2 * rows);
        cc_ashare l0 = cc_ashare_slice(&l, 0, rows), l1 = cc_ashare_slice(&l, rows, rows);
        cc_ashare r0 = cc_ashare_slice(&r, 0, rows), r1 = cc_ashare_slice(&r, rows, rows);
        nn_copy(&l0, &u); nn_copy(&r0, &u2);
        nn_copy(&l1, &u2); nn_copy(&r1, &u2);
        cc_ashare u34 = cc_ashare_slice(&comb, 4 * rows, 2 * rows);   /* N, U, A0..A1 are spent */
        s = cc_proto_mul_trunc(p, &l, &r, fu, &u34);
        if (s != CC_OK) goto done;
        cc_ashare u3 = cc_ashare_slice(&u34, 0, rows), u4 = cc_ashare_slice(&u34, rows, rows);
        cc_ashare acc = cc_ashare_slice(&comb, 0, rows);
        memset(acc.s[0], 0, rows * 8); memset(acc.s[1], 0, rows * 8);
        s = cc_proto_add_public(p, &acc, cc_nn_enc(c[0], fu) << fu, &acc);
        nn_axpy(&acc, cc_nn_enc(c[1], fu), &u);
        nn_axpy(&acc, cc_nn_enc(c[2], fu), &u2);
        nn_axpy(&acc, cc_nn_enc(c[3], fu), &u3);
        nn_axpy(&acc, cc_nn_enc(c[4], fu), &u4);
        if (s == CC_OK) s = cc_proto_trunc(p, &acc, fu, &rowt);
        if (s != CC_OK) goto done;
        nn_shl(&rowt, &rowt, CC_NN_NORM_FP - fu);
        nn_bcast_rows(rows, cols, &rowt, &full);
        s = cc_proto_mul_trunc(p, &vCw, &full, CC_NN_NORM_VCX + CC_NN_NORM_FP, out);
        goto finish;
    }
finish:
    if (s == CC_OK && beta) {
        nn_tile_rows(rows, cols, beta, &full);
        s = cc_proto_add(p, out, &full, out);
    }
done:
    nn_ash_free(&v); nn_ash_free(&full); nn_ash_free(&rowv); nn_ash_free(&rowt);
    nn_ash_free(&S); nn_ash_free(&comb); nn_ash_free(&b1); nn_ash_free(&b2);
    cc_free(z);
    cc_free(bp);
    return s;
}

static cc_status check_vec(const char *fn, const char *what, const cc_ashare *v, size_t cols)
{
    if (!v) return cc_error_set(CC_ERR_ARG, "nn %s: %s is NULL", fn, what);
    if (v->n != cols)
        return cc_error_set(CC_ERR_ARG, "nn %s: %s has %zu elements, rows have %zu columns", fn,
                            what, v->n, cols);
    return CC_OK;
}

cc_status cc_nn_layernorm(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                          const cc_ashare *x, const cc_ashare *gamma, const cc_ashare *beta,
                          double eps, cc_ashare *out)
{
    const cc_approx_set *set;
    size_t n;
    CC_TRY(nn_shape("layernorm", rows, cols, &n));
    CC_TRY(nn_check(p, cfg, "layernorm", x, n, out, n, &set));
    CC_TRY(check_vec("layernorm", "gamma", gamma, cols));
    CC_TRY(check_vec("layernorm", "beta", beta, cols));
    if (cols == 0 || rows == 0) return CC_OK;
    cc_proto_scope_begin(p, "layernorm");
    cc_status s = norm_bucket_mpc(p, set, cfg->f, rows, cols, x, true, gamma, beta, eps, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn layernorm");
}

cc_status cc_nn_rmsnorm(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                        const cc_ashare *x, const cc_ashare *weight, double eps, cc_ashare *out)
{
    const cc_approx_set *set;
    size_t n;
    CC_TRY(nn_shape("rmsnorm", rows, cols, &n));
    CC_TRY(nn_check(p, cfg, "rmsnorm", x, n, out, n, &set));
    CC_TRY(check_vec("rmsnorm", "weight", weight, cols));
    if (cols == 0 || rows == 0) return CC_OK;
    cc_proto_scope_begin(p, "rmsnorm");
    cc_status s = norm_bucket_mpc(p, set, cfg->f, rows, cols, x, false, weight, NULL, eps, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn rmsnorm");
}
