/* GeLU, SiLU (PUMA arXiv 2307.12533 §4.1 piecewise polynomials) and exp
 * (§4.2, (1 + x/2^t)^(2^t)) on replicated shares.
 *
 * Piecewise activation with B breakpoints and polynomial powers up to v^D:
 *   1. all B comparisons x < brk_j in ONE lt_public_vec batch     msb rounds
 *   2. the powers of v, one fused mul+trunc batch per level
 *      (⌈log2 D⌉ levels, + 1 for the precise variable w = (x/a)^2)  2 rounds each
 *   3. each segment accumulated locally at f + var bits (public
 *      coefficients times powers, no truncation yet)
 *   4. segment indicators b_s XOR b_{s-1} (local), one b2a_bit
 *      batch for the non-zero segments                              1 round
 *   5. Σ_s b_s·piece_s as one sum of products truncated once
 *      (cc_proto_mul_sum_trunc: the products' 3-out-of-3 terms add
 *      up locally, no re-share per segment)                         2 rounds
 * Declared cost per element, in proto ops: B·msb + (#powers)·mul_trunc +
 * (#segments)·b2a_bit + mul_trunc.  With proto's costs at the time of
 * writing (msb 6 rounds, 23 B per party; mul_trunc 16 B; b2a_bit 10.7 B per
 * party): PUMA GeLU/SiLU 15 rounds, 69 + 64 + 32 + 16 = 181 B (GeLU; SiLU
 * has 3 powers: 165 B); precise GeLU 17 rounds, 46 + 96 + 21.3 + 16 =
 * 179.3 B.  (Before: mul_bit per segment then a truncation, 8 B more per
 * segment and one more round.)  The network layer measures 1–3 rounds
 * fewer (adjacent ops share rounds).  The precise SiLU has its own evaluation
 * through |x| (silu_abs_mpc below).
 * MPC truncation is floor or one below, so outputs match cc_nnref_* within a
 * few ulps (the test derives the bound per function). */
#include <string.h>
#include "nn_impl.h"

static cc_status pw_mpc(cc_proto *p, const cc_pw *pw, unsigned f, const cc_ashare *x,
                        cc_ashare *out)
{
    const size_t n = x->n;
    const unsigned nb = pw->nbreaks, vb = cc_pw_var_bits(pw, f);
    cc_pow_plan plan;
    cc_pow_plan_make(pw, &plan);

    cc_ashare rep = { 0 }, powbuf = { 0 }, lhs = { 0 }, rhs = { 0 }, prod = { 0 };
    cc_ashare acc = { 0 }, sel = { 0 };
    cc_bshare below = { 0 }, ind = { 0 };
    uint64_t *brk = NULL;
    cc_ashare v[CC_PW_MAXDEG + 1];
    memset(v, 0, sizeof v);
    unsigned nseg = 0;
    for (unsigned s = 0; s <= nb; s++) nseg += pw->seg[s].kind != CC_SEG_ZERO;

    cc_status s = nn_ash_alloc_raw(&rep, nb * n);
    if (s == CC_OK) s = nn_bsh_alloc(&below, nb * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&powbuf, (plan.maxdeg + 1) * n);
    if (s == CC_OK) s = nn_ash_alloc(&acc, nseg * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&sel, nseg * n);
    if (s == CC_OK) s = nn_bsh_alloc(&ind, nseg * n);
    if (s == CC_OK && !(brk = cc_alloc(nb * n * sizeof *brk + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;

    /* 1. comparisons, one batch */
    for (unsigned j = 0; j < nb; j++) {
        cc_ashare blk = cc_ashare_slice(&rep, j * n, n);
        nn_copy(&blk, x);
        uint64_t c = cc_nn_enc(pw->brk[j], f);
        for (size_t i = 0; i < n; i++) brk[j * n + i] = c;
    }
    s = cc_proto_lt_public_vec(p, &rep, brk, &below);
    if (s != CC_OK) goto done;

    /* 2. powers, level by level */
    for (unsigned k = 0; k <= plan.maxdeg; k++) v[k] = cc_ashare_slice(&powbuf, k * n, n);
    if (plan.maxdeg >= 1) {
        if (pw->var_sq_log2 < 0) nn_copy(&v[1], x);
        else s = cc_proto_mul_trunc(p, x, x, cc_pw_var_shift(pw, f), &v[1]);
    }
    for (unsigned lvl = 1; s == CC_OK && lvl <= plan.nlevels; lvl++) {
        unsigned ks[CC_PW_MAXDEG + 1], m = 0;
        for (unsigned k = 2; k <= plan.maxdeg; k++)
            if (plan.need[k] && plan.level[k] == lvl) ks[m++] = k;
        nn_ash_free(&lhs); nn_ash_free(&rhs); nn_ash_free(&prod);
        s = nn_ash_alloc_raw(&lhs, m * n);
        if (s == CC_OK) s = nn_ash_alloc_raw(&rhs, m * n);
        if (s == CC_OK) s = nn_ash_alloc_raw(&prod, m * n);
        if (s != CC_OK) break;
        for (unsigned q = 0; q < m; q++) {
            cc_ashare l = cc_ashare_slice(&lhs, q * n, n), r = cc_ashare_slice(&rhs, q * n, n);
            nn_copy(&l, &v[plan.lhs[ks[q]]]);
            nn_copy(&r, &v[plan.rhs[ks[q]]]);
        }
        s = cc_proto_mul_trunc(p, &lhs, &rhs, vb, &prod);
        for (unsigned q = 0; s == CC_OK && q < m; q++) {
            cc_ashare pr = cc_ashare_slice(&prod, q * n, n);
            nn_copy(&v[ks[q]], &pr);
        }
    }
    if (s != CC_OK) goto done;

    /* 3. segment values at f + vb bits, 4. indicators */
    unsigned q = 0;
    for (unsigned sg = 0; sg <= nb && s == CC_OK; sg++) {
        const cc_pw_seg *seg = &pw->seg[sg];
        if (seg->kind == CC_SEG_ZERO) continue;
        cc_ashare a = cc_ashare_slice(&acc, q * n, n);
        if (seg->kind == CC_SEG_IDENTITY) {
            nn_shl(&a, x, vb);
        } else {
            s = cc_proto_add_public(p, &a, cc_nn_enc(seg->c[0], f) << vb, &a);
            nn_axpy(&a, cc_nn_enc(seg->lin, f) << (vb - f), x);
            for (unsigned k = 1; k <= seg->deg; k++)
                if (seg->c[k] != 0.0) nn_axpy(&a, cc_nn_enc(seg->c[k], f), &v[k]);
        }
        /* indicator of [brk_{sg-1}, brk_sg): below_sg XOR below_{sg-1} */
        cc_bshare b = cc_bshare_slice(&ind, q * n, n);
        if (sg == nb) {
            cc_bshare hi = cc_bshare_slice(&below, (nb - 1) * n, n);
            if (s == CC_OK) s = cc_proto_xor_public(p, &hi, 1, &b);
        } else {
            cc_bshare hi = cc_bshare_slice(&below, sg * n, n);
            if (sg == 0) { if (s == CC_OK) s = cc_proto_xor_public(p, &hi, 0, &b); }
            else {
                cc_bshare lo = cc_bshare_slice(&below, (sg - 1) * n, n);
                if (s == CC_OK) s = cc_proto_xor(p, &hi, &lo, &b);
            }
        }
        q++;
    }
    if (s != CC_OK) goto done;

    /* 5. indicators to arithmetic (one batch), then Σ_s b_s·piece_s truncated
     * once: the products never need their own re-share */
    s = cc_proto_b2a_bit(p, &ind, &sel);
    if (s == CC_OK) s = cc_proto_mul_sum_trunc(p, nseg, &sel, &acc, NULL, vb, out);
done:
    nn_ash_free(&rep); nn_ash_free(&powbuf); nn_ash_free(&lhs);
    nn_ash_free(&rhs); nn_ash_free(&prod); nn_ash_free(&acc);
    nn_ash_free(&sel); nn_bsh_free(&below); nn_bsh_free(&ind);
    cc_free(brk);
    return s;
}

/* Precise SiLU through y = |x| (cc_silu_abs in nn_impl.h; PUMA §4.1 style
 * piecewise polynomials, our pieces and fits — docs/APPROXIMATIONS.md).
 * The inner piece is a polynomial in w = (y/4)^2, the outer one in
 * z = (y-8)/4; only one of them is ever selected, so both are evaluated on
 * ONE variable t = [4 ≤ y < 12] ? z : w and its powers serve both pieces
 * (6 powers instead of 6 + 5):
 * Domain |x| < 2^(32-f) = 16384 (f = 18): x and y - c then lie in
 * [-2^32, 2^32), so the comparisons use the 32-bit narrow MSB.
 *   1. s = [x < 0] (narrow msb), m = s·x (mul_bit),
 *      y = x - 2m                                           5 + 2 rounds
 *   2. y < a and y < 3a, one narrow lt batch of 2n          5 rounds
 *   3. w = y·y >> (2f + 2a - vb) (mul_trunc)                2 rounds
 *   4. indicators b_in = [y < a], b_out = [y < 3a] XOR b_in
 *      to arithmetic (one b2a_bit batch of 2n)              1 round
 *   5. t = w + b_out·(z - w) (mul; z = (y-2a) << (vb-f-a)
 *      is exact) — t = z on the outer piece, w elsewhere    1 round
 *   6. t^2..t^6 level by level (mul_trunc, shift vb)        6 rounds
 *   7. at f + vb bits: P_in(t) - y/2 and P_out(t); then
 *      relu(x)·2^vb + half + b_in·P_in + b_out·P_out as one
 *      sum of products truncated once by vb                 2 rounds
 * Unselected pieces and t itself may hold garbage for large y; a 0
 * indicator removes it exactly.  Declared per element (narrow msb 11 B,
 * b2a_bit 10.7 B per party, rotated): msb_narrow (n) + mul_bit (n) +
 * msb_narrow (2n) + mul_trunc (n) + b2a_bit (2n) + mul (n) + mul_trunc (n,
 * 2n, 2n) + mul_trunc (n): 24 rounds, 11 + 18.7 + 22 + 16 + 21.3 + 8 + 80
 * + 16 = 193 B per party (before this design: 26 rounds, P0 353 / P1, P2
 * 275 B). */
static cc_status silu_abs_mpc(cc_proto *p, const cc_silu_abs *sa, unsigned f, const cc_ashare *x,
                              cc_ashare *out)
{
    const size_t n = x->n;
    const unsigned a = sa->a_log2, vb = f + sa->var_extra_bits, shift = 2 * f + 2 * a - vb;
    const unsigned deg = sa->deg_in > sa->deg_out ? sa->deg_in : sa->deg_out;
    cc_pow_plan pt;
    cc_pow_plan_dense(deg, false, &pt);

    cc_ashare m = { 0 }, y = { 0 }, rep = { 0 }, tbuf = { 0 }, d = { 0 };
    cc_ashare lhs = { 0 }, rhs = { 0 }, prod = { 0 }, acc = { 0 }, bits = { 0 };
    cc_bshare sign = { 0 }, below = { 0 }, ind = { 0 };
    uint64_t *brk = NULL;
    cc_ashare t[CC_PW_MAXDEG + 1];
    memset(t, 0, sizeof t);

    cc_status s = nn_ash_alloc_raw(&m, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&y, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&rep, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&tbuf, (deg + 1) * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&d, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&lhs, deg * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&rhs, deg * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&prod, deg * n);
    if (s == CC_OK) s = nn_ash_alloc(&acc, 2 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&bits, 2 * n);
    if (s == CC_OK) s = nn_bsh_alloc(&sign, n);
    if (s == CC_OK) s = nn_bsh_alloc(&below, 2 * n);
    if (s == CC_OK) s = nn_bsh_alloc(&ind, 2 * n);
    if (s == CC_OK && !(brk = cc_alloc(2 * n * sizeof *brk + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    for (unsigned k = 0; k <= deg; k++) t[k] = cc_ashare_slice(&tbuf, k * n, n);

    /* 1. y = |x| = x - 2·[x < 0]·x, exact.  The domain |x| < 2^(32-f)
     * (16384 at f = 18) lets every comparison run on 32 bits (narrow msb) */
    s = cc_proto_msb_narrow(p, x, &sign);
    if (s == CC_OK) s = cc_proto_mul_bit(p, &sign, x, &m);
    if (s != CC_OK) goto done;
    nn_copy(&y, x);
    nn_axpy(&y, (uint64_t)-2, &m);

    /* 2. y < a, y < 3a in one batch (y < 2^32: narrow) */
    {
        cc_ashare r0 = cc_ashare_slice(&rep, 0, n), r1 = cc_ashare_slice(&rep, n, n);
        nn_copy(&r0, &y);
        nn_copy(&r1, &y);
        for (size_t i = 0; i < n; i++) { brk[i] = 1ull << (f + a); brk[n + i] = 3ull << (f + a); }
        s = cc_proto_lt_public_vec_narrow(p, &rep, brk, &below);
        if (s != CC_OK) goto done;
    }

    /* 3. w at vb bits */
    s = cc_proto_mul_trunc(p, &y, &y, shift, &t[1]);
    if (s != CC_OK) goto done;

    /* 4. indicators, arithmetic: bits = [b_in | b_out] */
    {
        cc_bshare b_in = cc_bshare_slice(&below, 0, n), b_out = cc_bshare_slice(&below, n, n);
        cc_bshare i0 = cc_bshare_slice(&ind, 0, n), i1 = cc_bshare_slice(&ind, n, n);
        s = cc_proto_xor_public(p, &b_in, 0, &i0);
        if (s == CC_OK) s = cc_proto_xor(p, &b_out, &b_in, &i1);
        if (s == CC_OK) s = cc_proto_b2a_bit(p, &ind, &bits);
        if (s != CC_OK) goto done;
    }

    /* 5. t = w + b_out·(z - w); z = (y - 2a) at f + a bits, shifted to vb */
    {
        cc_ashare b_out = cc_ashare_slice(&bits, n, n);
        s = cc_proto_add_public(p, &y, -(2ull << (f + a)), &d);
        if (s != CC_OK) goto done;
        nn_shl(&d, &d, vb - f - a);
        nn_axpy(&d, (uint64_t)-1, &t[1]);
        s = cc_proto_mul(p, &b_out, &d, &d);
        if (s != CC_OK) goto done;
        nn_axpy(&t[1], 1, &d);
    }

    /* 6. t^2..t^deg, one batch per level */
    for (unsigned lvl = 1; lvl <= pt.nlevels; lvl++) {
        cc_ashare *dst[CC_PW_MAXDEG];
        unsigned q = 0;
        for (unsigned k = 2; k <= pt.maxdeg; k++) {
            if (pt.level[k] != lvl) continue;
            cc_ashare l = cc_ashare_slice(&lhs, q * n, n), r = cc_ashare_slice(&rhs, q * n, n);
            nn_copy(&l, &t[pt.lhs[k]]);
            nn_copy(&r, &t[pt.rhs[k]]);
            dst[q++] = &t[k];
        }
        cc_ashare L = cc_ashare_slice(&lhs, 0, q * n), R = cc_ashare_slice(&rhs, 0, q * n);
        cc_ashare P = cc_ashare_slice(&prod, 0, q * n);
        s = cc_proto_mul_trunc(p, &L, &R, vb, &P);
        if (s != CC_OK) goto done;
        for (unsigned j = 0; j < q; j++) {
            cc_ashare pr = cc_ashare_slice(&prod, j * n, n);
            nn_copy(dst[j], &pr);
        }
    }

    /* 7. pieces at f + vb bits; relu(x) + half + Σ b·piece, one truncation */
    {
        cc_ashare inner = cc_ashare_slice(&acc, 0, n), outer = cc_ashare_slice(&acc, n, n);
        s = cc_proto_add_public(p, &inner, cc_nn_enc(sa->c_in[0], f) << vb, &inner);
        nn_axpy(&inner, (uint64_t)-(1ull << (vb - 1)), &y);
        for (unsigned k = 1; k <= sa->deg_in; k++) nn_axpy(&inner, cc_nn_enc(sa->c_in[k], f), &t[k]);
        if (s == CC_OK) s = cc_proto_add_public(p, &outer, cc_nn_enc(sa->c_out[0], f) << vb, &outer);
        for (unsigned k = 1; k <= sa->deg_out; k++) nn_axpy(&outer, cc_nn_enc(sa->c_out[k], f), &t[k]);
        cc_ashare total = cc_ashare_slice(&y, 0, n);   /* y is no longer needed */
        nn_shl(&total, x, vb);
        nn_axpy(&total, (uint64_t)-(1ull << vb), &m);
        if (s == CC_OK) s = cc_proto_add_public(p, &total, 1ull << (vb - 1), &total);
        if (s == CC_OK) s = cc_proto_mul_sum_trunc(p, 2, &bits, &acc, &total, vb, out);
    }
done:
    nn_ash_free(&m); nn_ash_free(&y); nn_ash_free(&rep); nn_ash_free(&tbuf);
    nn_ash_free(&d); nn_ash_free(&lhs); nn_ash_free(&rhs); nn_ash_free(&prod);
    nn_ash_free(&acc); nn_ash_free(&bits);
    nn_bsh_free(&sign); nn_bsh_free(&below); nn_bsh_free(&ind);
    cc_free(brk);
    return s;
}

static cc_status run_pw(cc_proto *p, const cc_nn_cfg *cfg, const char *name, bool silu,
                        const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, name, x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, name);
    cc_status s = silu && set->silu_abs.on ? silu_abs_mpc(p, &set->silu_abs, cfg->f, x, out)
                                           : pw_mpc(p, silu ? &set->silu : &set->gelu, cfg->f, x, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn %s", name);
}

cc_status cc_nn_gelu(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    return run_pw(p, cfg, "gelu", false, x, out);
}

cc_status cc_nn_silu(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    return run_pw(p, cfg, "silu", true, x, out);
}

/* exp(x), x ≤ 0 — the model's steps (cc_nnref_exp1) on shares:
 *   below = x < threshold                    lt_public      msb rounds
 *   a = x + 2^(f+t); v = a^2 >> (f+2t[+1])   mul_trunc      2 rounds
 *   (taylor2: v += 2^(f-1))
 *   t-1 (PUMA) or t (taylor2) squarings      mul_trunc      2 rounds each
 *   out = NOT below · v                      mul_bit        2 rounds
 * Declared: msb + t (PUMA) / t+1 (precise) mul_trunc + mul_bit; with the
 * costs above PUMA 18 rounds, P0 35 + 5·16 + 24 = 139 B/elem; precise
 * 20 rounds, 155 B/elem. */
cc_status nn_exp_core(cc_proto *p, const cc_exp_params *ep, unsigned f, const cc_ashare *x,
                      cc_ashare *out)
{
    size_t n = x->n;
    cc_ashare a = { 0 };
    cc_bshare below = { 0 };
    cc_status s = nn_ash_alloc_raw(&a, n);
    if (s == CC_OK) s = nn_bsh_alloc(&below, n);
    if (s == CC_OK) s = cc_proto_lt_public(p, x, cc_nn_enc(ep->threshold, f), &below);
    if (s == CC_OK) s = cc_proto_add_public(p, x, 1ull << (f + ep->t), &a);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &a, &a, f + 2 * ep->t + (ep->taylor2 ? 1 : 0), &a);
    if (s == CC_OK && ep->taylor2) s = cc_proto_add_public(p, &a, 1ull << (f - 1), &a);
    unsigned squarings = ep->taylor2 ? ep->t : ep->t - 1;
    for (unsigned i = 0; s == CC_OK && i < squarings; i++) s = cc_proto_mul_trunc(p, &a, &a, f, &a);
    if (s == CC_OK) s = cc_proto_xor_public(p, &below, 1, &below);
    if (s == CC_OK) s = cc_proto_mul_bit(p, &below, &a, out);
    nn_ash_free(&a);
    nn_bsh_free(&below);
    return s;
}

cc_status cc_nn_exp(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, "exp", x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, "exp");
    cc_status s = nn_exp_core(p, &set->exp, cfg->f, x, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn exp");
}
