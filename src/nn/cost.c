/* Declared cost of each nn function: the sum of the proto ops it calls, in
 * the order it calls them (mpc_*.c), priced by cc_proto_op_cost.  Bytes are
 * exact; rounds are the ops' rounds added up (the network layer counts a
 * send that follows a send as the same round, so it measures up to a few
 * fewer), with every truncation priced in a non-helper role (2 rounds).
 * tests/nn/test_nn_mpc.c checks both against the measured traffic. */
#include "nn_impl.h"

/* The truncation helper rotates with every truncation call (trunc.c), and
 * a truncation's bytes depend on the party's role and on its shifts, so the
 * tally follows the helper from the phase the function starts at. */
typedef struct tally { uint64_t rounds, bytes; int party; unsigned phase, f; } tally;

/* aux: the digit MSBs' thresholds per element (cc_proto_lt_public_multi) */
static void op_aux(tally *t, cc_proto_op o, size_t n, size_t aux)
{
    int role = 0;
    if (o == CC_OP_MSB || o == CC_OP_MSB_NARROW || o == CC_OP_MSB_DIGITS ||
        o == CC_OP_MSB_NARROW_DIGITS || o == CC_OP_MSB_DIGITS8 || o == CC_OP_MSB_NARROW_DIGITS8 ||
        o == CC_OP_MSB_DIGITS16 ||
        o == CC_OP_B2A_BIT)
        role = t->party;
    cc_proto_cost c = cc_proto_op_cost(o, n, aux, role);
    t->rounds += c.rounds;
    t->bytes += c.bytes_sent;
}

static void op(tally *t, cc_proto_op o, size_t n) { op_aux(t, o, n, 0); }

/* m thresholds on each of n elements (cc_proto_lt_public_multi): the digit
 * variants in one call, the bit-pair ones as m·n plain comparisons */
static void lt_multi(tally *t, cc_msb_kind kind, size_t n, size_t m)
{
    if (m == 0) return;
    if (kind != CC_MSB_FULL && kind != CC_MSB_NARROW) op_aux(t, cc_proto_msb_op(kind), n, m);
    else op(t, cc_proto_msb_op(kind), m * n);
}

/* One truncation of segments len[q] shifted by d[q] (trunc_terms_seg; one
 * segment: a plain truncation): bytes in this party's role, rounds as a
 * non-helper (2). */
static void trunc_segs(tally *t, cc_proto_op o, size_t nseg, const size_t *len, const unsigned *d)
{
    int role = (t->party - (int)t->phase + 3) % 3;
    t->rounds += cc_proto_trunc_seg_cost(o, nseg, len, d, 1).rounds;
    t->bytes += cc_proto_trunc_seg_cost(o, nseg, len, d, role).bytes_sent;
    t->phase = (t->phase + 1) % 3;
}

static void trunc2(tally *t, cc_proto_op o, size_t n1, unsigned d1, size_t n2, unsigned d2)
{
    const size_t len[2] = { n1, n2 };
    const unsigned d[2] = { d1, d2 };
    trunc_segs(t, o, 2, len, d);
}

static void trunc1(tally *t, cc_proto_op o, size_t n, unsigned d) { trunc_segs(t, o, 1, &n, &d); }

static void mul_bit(tally *t, size_t n) { op(t, CC_OP_B2A_BIT, n); op(t, CC_OP_MUL, n); }

static void pw_cost(tally *t, const cc_pw *pw, size_t n)
{
    cc_pow_plan plan;
    cc_pow_plan_make(pw, &plan);
    unsigned nseg = 0;
    for (unsigned s = 0; s <= pw->nbreaks; s++) nseg += pw->seg[s].kind != CC_SEG_ZERO;
    lt_multi(t, nn_msb_kind(true, NN_CMP_FEW), n, pw->nbreaks);
    const unsigned f = t->f, vb = cc_pw_var_bits(pw, f);
    if (plan.maxdeg >= 1 && pw->var_sq_log2 >= 0) trunc1(t, CC_OP_MUL_TRUNC, n, cc_pw_var_shift(pw, f));
    for (unsigned lvl = 1; lvl <= plan.nlevels; lvl++) {
        size_t m = 0;
        for (unsigned k = 2; k <= plan.maxdeg; k++) m += plan.need[k] && plan.level[k] == lvl;
        trunc1(t, CC_OP_MUL_TRUNC, m * n, vb);
    }
    op(t, CC_OP_B2A_BIT, nseg * n);
    trunc1(t, CC_OP_MUL_TRUNC, n, vb);   /* Σ_s b_s·piece_s, one truncation */
}

/* silu_abs_mpc (mpc_act.c), op for op */
static void silu_abs_cost(tally *t, const cc_silu_abs *sa, size_t n)
{
    const unsigned f = t->f, vb = f + sa->var_extra_bits, g = CC_SILU_GUARD;
    lt_multi(t, nn_msb_kind(true, NN_CMP_FEW), n, 4);      /* x vs ±a, ±3a */
    trunc1(t, CC_OP_MUL_TRUNC, n, 2 * f + 2 * sa->a_log2 + CC_SILU_LAM_BITS - vb);   /* λw */
    op(t, CC_OP_B2A_BIT, 4 * n);         /* the four bits */
    op(t, CC_OP_MUL, n);                 /* t: one sum of three products */
    trunc1(t, CC_OP_MUL_TRUNC, n, vb);                  /* t² */
    trunc1(t, CC_OP_MUL_TRUNC, n, 2 * vb - f - g);      /* C */
    trunc1(t, CC_OP_MUL_TRUNC, n, vb + g);              /* P + relu terms */
}

/* nn_exp_core's chain: a² >> (f + 2t [+1]), then squarings >> f */
static void exp_squarings_cost(tally *t, const cc_exp_params *ep, size_t n)
{
    unsigned squarings = ep->taylor2 ? ep->t : ep->t - 1;
    trunc1(t, CC_OP_MUL_TRUNC, n, t->f + 2 * ep->t + (ep->taylor2 ? 1 : 0));
    for (unsigned i = 0; i < squarings; i++) trunc1(t, CC_OP_MUL_TRUNC, n, t->f);
}

/* the op a comparison site books (nn_msb_kind) */
static cc_proto_op msb_op(bool narrow, nn_cmp_site site)
{
    return cc_proto_msb_op(nn_msb_kind(narrow, site));
}

static void exp_cost(tally *t, const cc_exp_params *ep, size_t n, bool narrow, nn_cmp_site site)
{
    op(t, msb_op(narrow, site), n);
    exp_squarings_cost(t, ep, n);
    mul_bit(t, n);
}

static void highbit_cost(tally *t, const cc_norm_plan *np, unsigned lo, unsigned hi, size_t n,
                         bool narrow)
{
    if (hi > np->L) hi = np->L;
    if (lo > hi) lo = hi;
    lt_multi(t, nn_msb_kind(narrow, nn_row_site(n)), n, hi - lo);
    op(t, CC_OP_B2A_BIT, (hi - lo) * n);
}

/* nn_bucket_bits + nn_bucket_eval / the precise norms (mpc_bucket.c) */
static void bucket_bits_cost(tally *t, size_t nt, size_t n, bool narrow)
{
    lt_multi(t, nn_msb_kind(narrow, nn_row_site(n)), n, nt);
    op(t, CC_OP_B2A_BIT, nt * n);
}

/* nn_bucket_eval with the plan bucket_fn makes (mpc_norm.c) */
static void bucket_eval_cost(tally *t, cc_bk_fn fn, unsigned lo, unsigned hi, unsigned out_bits,
                             size_t n, bool narrow)
{
    cc_bucket_plan *bp = cc_bucket_plan_new(fn, t->f, lo, hi, 1.0, true, out_bits, 0);
    if (!bp) return;
    bucket_bits_cost(t, bp->nt, n, narrow);
    trunc1(t, CC_OP_MUL_TRUNC, n, bp->norm_shift);                 /* u */
    trunc1(t, CC_OP_TRUNC, 3 * n, CC_NN_BK_FW);                   /* t1, w2, t3 */
    trunc1(t, CC_OP_TRUNC, n, CC_NN_BK_FW + CC_NN_BK_GUARD);      /* cubic */
    cc_free(bp);
}

static void recip_cost(tally *t, const cc_approx_set *set, unsigned f, unsigned lo, unsigned hi,
                       size_t n, bool narrow)
{
    if (set->bucket_cubic) {
        nn_recip_window(f, &lo, &hi);
        bucket_eval_cost(t, CC_BK_RECIP, lo, hi, f, n, narrow);
        return;
    }
    cc_norm_plan np;
    cc_norm_plan_recip(f, &np);
    highbit_cost(t, &np, lo, hi, n, narrow);
    trunc1(t, CC_OP_MUL_TRUNC, n, np.norm_shift);   /* c */
    trunc1(t, CC_OP_MUL_TRUNC, n, f);               /* e */
    for (unsigned it = 0; it < set->recip_iters; it++)
        trunc1(t, CC_OP_MUL_TRUNC, it + 1 == set->recip_iters ? n : 2 * n, f);
    trunc1(t, CC_OP_MUL_TRUNC, n, np.comp_shift);   /* scale */
}

static void rsqrt_cost(tally *t, const cc_approx_set *set, unsigned f, size_t n)
{
    cc_norm_plan np;
    cc_norm_plan_rsqrt(f, &np);
    if (set->bucket_cubic) {
        bucket_eval_cost(t, CC_BK_RSQRT, 0, np.L, f, n, false);
        return;
    }
    highbit_cost(t, &np, 0, 64, n, false);
    trunc1(t, CC_OP_MUL_TRUNC, n, np.norm_shift);   /* u */
    trunc1(t, CC_OP_MUL_TRUNC, n, f);               /* u^2 */
    trunc1(t, CC_OP_MUL_TRUNC, 2 * n, f);           /* u^3, u^4 */
    trunc1(t, CC_OP_TRUNC, n, f);                   /* polynomial */
    for (unsigned it = 0; it < set->rsqrt_newton; it++) {
        trunc1(t, CC_OP_MUL_TRUNC, n, f);
        trunc1(t, CC_OP_MUL_TRUNC, n, f);
        trunc1(t, CC_OP_MUL_TRUNC, n, f + 1);
    }
    trunc1(t, CC_OP_MUL_TRUNC, n, np.comp_shift);   /* scale */
}

/* nn_max_rows_th + exp_chain_th (mpc_max.c, mpc_softmax.c) */
/* nn_max_rows_th (mpc_max_th.c): nl live entries, np pairs of them in a
 * row, rp ordered pairs (self-pairs included) */
static void max_th_cost(tally *t, size_t k, size_t nl, size_t np, size_t rp, bool narrow,
                        size_t nth, bool fold)
{
    if (nl == 0) return;
    lt_multi(t, nn_msb_kind(narrow, NN_CMP_ROW), np, 1 + 2 * nth);   /* 0, thr_t, 1 - thr_t */
    for (unsigned l = 0; l < nn_max_th_levels(k, fold); l++)
        op(t, CC_OP_AND, nn_max_th_words(k, nl, rp, nth, fold));
    op(t, CC_OP_B2A_BIT, fold ? (nth - 1) * nl + rp : (1 + nth) * nl);
    op(t, CC_OP_MUL, nl);
}

static void exp_chain_th_cost(tally *t, const cc_exp_params *ep, size_t n)
{
    exp_squarings_cost(t, ep, n);
    op(t, CC_OP_MUL, n);
}

static void max_cost(tally *t, size_t rows, size_t cols, bool with_index)
{
    size_t len = cols;
    bool first = true;
    while (len > 1) {
        size_t k = with_index ? nn_argmax_next_k(len) : nn_max_next_k(len);
        size_t gpr = (len + k - 1) / k, G = rows * gpr;
        lt_multi(t, nn_msb_kind(true, nn_max_level_site(with_index, first)), G * (k * (k - 1) / 2),
                 1);   /* always in the domain */
        for (unsigned l = 0; l < nn_max_and_levels(k); l++) op(t, CC_OP_AND, G * k);
        if (!with_index) mul_bit(t, G * k);
        else { op(t, CC_OP_B2A_BIT, G * k); op(t, CC_OP_MUL, (first ? 1 : 2) * G * k); }
        len = gpr;
        first = false;
    }
}

cc_proto_cost cc_nn_cost(cc_nn_fn fn, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                         const uint8_t *mask, size_t mask_rows, int party, unsigned trunc_phase)
{
    cc_proto_cost none = { 0, 0 };
    const cc_approx_set *set = cc_nn_set(cfg);
    size_t n;
    if (!set || !cc_mul_size(rows, cols, &n) || party < 0 || party > 2) return none;
    tally t = { 0, 0, party, trunc_phase % 3, cfg->f };
    unsigned f = cfg->f, lg = 0;
    while (((size_t)1 << lg) < cols) lg++;
    switch (fn) {
    case CC_NN_GELU: pw_cost(&t, &set->gelu, n); break;
    case CC_NN_SILU:
        if (set->silu_abs.on) silu_abs_cost(&t, &set->silu_abs, n);
        else pw_cost(&t, &set->silu, n);
        break;
    case CC_NN_EXP: exp_cost(&t, &set->exp, n, false, NN_CMP_SINGLE); break;
    case CC_NN_RECIPROCAL: recip_cost(&t, set, f, 0, 64, n, false); break;
    case CC_NN_RSQRT: rsqrt_cost(&t, set, f, n); break;
    case CC_NN_SOFTMAX: {
        size_t live = 0, live_rows = 0, live_pairs = 0, row_pairs = 0;
        for (size_t r = 0; r < rows; r++) {
            size_t before = live;
            for (size_t c = 0; c < cols; c++)
                live += !mask || !mask_rows || mask[(r % mask_rows) * cols + c];
            const size_t L = live - before;        /* this row's live entries */
            live_rows += L > 0;
            if (L > 0) live_pairs += L * (L - 1) / 2;
            row_pairs += L * L;
        }
        if (live == 0) break;
        const bool th_narrow = nn_max_th_narrow(cc_nn_enc(set->exp.threshold, f), f);
        if (cols >= 2 && nn_max_next_k(cols) == cols && set->bucket_cubic) {
            /* exp4_th and recip_fold (mpc_softmax.c) */
            unsigned lo = f - 1, hi = f + lg + 1;
            nn_recip_window(f, &lo, &hi);
            cc_smexp_plan sp;
            if (!cc_smexp_plan_make(f, set->exp.threshold, &sp)) return none;
            max_th_cost(&t, cols, live, live_pairs, row_pairs, th_narrow, sp.nseg, true);
            const unsigned F = sp.F, D = CC_NN_SMSEG_DEG, s1 = 2 * f - F, s2 = sp.fK + f - F;
            trunc2(&t, CC_OP_MUL_TRUNC, live, s1, D * live, s2);      /* δ2 ‖ P_k */
            trunc2(&t, CC_OP_MUL_TRUNC, 3 * live, f, 3 * live, F);    /* δ3, A2, A4 ‖ A3, A5, A6 */
            trunc1(&t, CC_OP_MUL_TRUNC, live, 2 * F - f);        /* y */
            cc_bucket_plan *bp = cc_recip_quad_plan_new(f, lo, hi);
            if (!bp) return none;
            const unsigned G = cc_nn_rq_g(f);
            bucket_bits_cost(&t, bp->nt, live_rows, nn_softmax_sum_narrow(f, cols));
            cc_free(bp);
            trunc2(&t, CC_OP_MUL_TRUNC, live_rows, f - G, 3 * live, f);      /* t2 ‖ eE_k */
            trunc1(&t, CC_OP_MUL_TRUNC, live, f + CC_NN_RQ_EXTRA + G);          /* y */
            break;
        }
        if (cols >= 2 && nn_max_next_k(cols) == cols) {
            max_th_cost(&t, cols, live, live_pairs, row_pairs, th_narrow, 1, false);
            exp_chain_th_cost(&t, &set->exp, live);
        } else {
            max_cost(&t, rows, cols, false);
            exp_cost(&t, &set->exp, live, true, NN_CMP_FEW);
        }
        recip_cost(&t, set, f, f - 1, f + lg + 1, live_rows, nn_softmax_sum_narrow(f, cols));
        trunc1(&t, CC_OP_MUL_TRUNC, live, f);                    /* e · 1/s */
        break;
    }
    case CC_NN_LAYERNORM:
    case CC_NN_RMSNORM:
        if (n == 0) break;
        {   /* norm_bucket_mpc (mpc_norm.c) */
            cc_bucket_plan *bp = nn_norm_plan(set, f, cols);
            if (!bp) return none;
            cc_rowmean_plan rp;
            cc_rowmean_plan_make(cols, &rp);
            const unsigned ns = bp->norm_shift, vcs = CC_NN_NORM_VCS, fu = bp->fu;
            if (fn == CC_NN_LAYERNORM) trunc1(&t, CC_OP_TRUNC, rows, rp.mean_k);   /* mean */
            op(&t, CC_OP_MUL, rows);                                 /* S: reshare */
            bucket_bits_cost(&t, bp->nt, rows, false);
            if (set->bucket_cubic) {   /* norm_quad_tail */
                const unsigned gv = cc_nn_nq_gv(f), s1 = f - gv;
                trunc2(&t, CC_OP_MUL_TRUNC, rows, ns, n, s1);                     /* u ‖ vγ */
                trunc1(&t, CC_OP_MUL_TRUNC, n + rows, bp->fu);                    /* X ‖ Y */
                trunc1(&t, CC_OP_MUL_TRUNC, n, gv + bp->out_bits);               /* y */
                cc_free(bp);
                break;
            }
            /* puma: u ‖ vC, u² ‖ vCw, u³ u⁴, the quartic, y */
            trunc2(&t, CC_OP_MUL_TRUNC, rows, ns, n, vcs);
            trunc2(&t, CC_OP_MUL_TRUNC, rows, fu, n, f);
            trunc1(&t, CC_OP_MUL_TRUNC, 2 * rows, fu);
            trunc1(&t, CC_OP_TRUNC, rows, fu);
            trunc1(&t, CC_OP_MUL_TRUNC, n, CC_NN_NORM_VCX + CC_NN_NORM_FP);
            cc_free(bp);
        }
        break;
    case CC_NN_ARGMAX: max_cost(&t, rows, cols, true); break;
    }
    cc_proto_cost c = { t.rounds, t.bytes };
    return c;
}
