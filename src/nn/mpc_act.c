/* GeLU, SiLU (PUMA arXiv 2307.12533 §4.1 piecewise polynomials) and exp
 * (§4.2, (1 + x/2^t)^(2^t)) on replicated shares.
 *
 * Piecewise activation with B breakpoints and polynomial powers up to v^D:
 *   1. all B comparisons x < brk_j in ONE call sharing the re-sharer's
 *      message (narrow 4-bit digits, cc_proto_lt_public_multi)      4 rounds
 *   2. the powers of v, one fused mul+trunc batch per level
 *      (⌈log2 D⌉ levels, + 1 for the precise variable w = (x/a)^2)  2 rounds each
 *   3. each segment accumulated locally at f + var bits (public
 *      coefficients times powers, no truncation yet)
 *   4. segment indicators b_s XOR b_{s-1} (local), one b2a_bit
 *      batch for the non-zero segments                              1 round
 *   5. Σ_s b_s·piece_s as one sum of products truncated once
 *      (cc_proto_mul_sum_trunc: the products' 3-out-of-3 terms add
 *      up locally, no re-share per segment)                         2 rounds
 * Declared cost per element, in proto ops: B·msb_narrow +
 * (#powers)·mul_trunc + (#segments)·b2a_bit + mul_trunc (cost.c has the
 * exact figures; docs/APPROXIMATIONS.md the table).  The narrow comparisons
 * need |x - brk| < 2^32, i.e. |x| < 2^(32-f) - 8 (nn.h; before issue 11 the
 * 64-bit MSB: 6 rounds and twice the bytes; until its fourth pass one
 * bit-pair comparison per breakpoint: 5 rounds, 11 B each).  (Before: mul_bit per segment
 * then a truncation, 8 B more per segment and one more round.)  The network
 * layer measures 1–3 rounds fewer (adjacent ops share rounds).  The precise SiLU has its own evaluation
 * through |x| (silu_abs_mpc below).
 * MPC truncation is within 1.25 ulps of the exact quotient (the model
 * floors), so outputs match cc_nnref_* within a few ulps (the test derives
 * the bound per function). */
#include <string.h>
#include "nn_impl.h"

static cc_status pw_mpc(cc_proto *p, const cc_pw *pw, unsigned f, const cc_ashare *x,
                        cc_ashare *out)
{
    const size_t n = x->n;
    const unsigned nb = pw->nbreaks, vb = cc_pw_var_bits(pw, f);
    cc_pow_plan plan;
    cc_pow_plan_make(pw, &plan);

    cc_ashare powbuf = { 0 }, lhs = { 0 }, rhs = { 0 }, prod = { 0 };
    cc_ashare acc = { 0 }, sel = { 0 };
    cc_bshare below = { 0 }, ind = { 0 };
    uint64_t *brk = NULL;
    cc_ashare v[CC_PW_MAXDEG + 1];
    memset(v, 0, sizeof v);
    unsigned nseg = 0;
    for (unsigned s = 0; s <= nb; s++) nseg += pw->seg[s].kind != CC_SEG_ZERO;

    cc_status s = nn_bsh_alloc(&below, nb * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&powbuf, (plan.maxdeg + 1) * n);
    if (s == CC_OK) s = nn_ash_alloc(&acc, nseg * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&sel, nseg * n);
    if (s == CC_OK) s = nn_bsh_alloc(&ind, nseg * n);
    if (s == CC_OK && !(brk = cc_alloc(nb * sizeof *brk + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;

    /* 1. comparisons, one batch sharing the re-sharer's message */
    for (unsigned j = 0; j < nb; j++) brk[j] = cc_nn_enc(pw->brk[j], f);
    s = cc_proto_lt_public_multi(p, nn_msb_kind(true, NN_CMP_FEW), x, nb, brk, &below);   /* |x - brk| < 2^32 */
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
    nn_ash_free(&powbuf); nn_ash_free(&lhs);
    nn_ash_free(&rhs); nn_ash_free(&prod); nn_ash_free(&acc);
    nn_ash_free(&sel); nn_bsh_free(&below); nn_bsh_free(&ind);
    cc_free(brk);
    return s;
}

/* Precise SiLU (cc_silu_abs in nn_impl.h; PUMA §4.1 style piecewise
 * polynomials, our pieces and fits — docs/APPROXIMATIONS.md).  The model
 * (ref_act.c) is written in y = |x|: SiLU = relu(x) + [y < a]·(P(t) - y/2)
 * + [a ≤ y < 3a]·P(t), t = λw + ν inside, κz + μ outside, w = (y/a)^2,
 * z = (y - 2a)/a.  The MPC computes the same integers with every
 * comparison on x itself, so no step waits for |x|:
 *   - with A = a at f bits, c1 = [x ≤ -3A], c2 = [x ≤ -A], c3 = [x < A],
 *     c4 = [x < 3A] (monotone): b_in = c3 - c2, b_op = c4 - c3 (outer,
 *     x > 0), b_on = c2 - c1 (outer, x < 0), b_out = b_op + b_on,
 *     b_pf = 1 - c3 = [x ≥ A];
 *   - both pieces run on ONE variable t = b_in·t_in + b_op·t+ + b_on·t-
 *     (t± = κ·(±x - 2A) << (vb - f - a - 6) + μ, exact): 0 beyond 3A;
 *   - the coefficients E_0..E_4 are selected per element, E_k =
 *     b_in·c_in[k] + b_out·c_out[k] (local), and t^5, t^6 have public
 *     coefficients shared by both pieces (the affine maps are fitted for
 *     that), so the degree-6 polynomial takes three truncations:
 *       P = E0 + E1·t + t²·C,  C = E2 + E3·t + E4·t² + 4·t²·t − t²·t²
 *     (C needs only t² from the level before: no product of three shares);
 *   - on the inner piece relu(x) - y/2 = x/2, elsewhere relu(x) = b_pf·x:
 *     SiLU·2^(vb+g) = P + b_in·x·2^(vb+g-1) + b_pf·x·2^(vb+g) (+ half).
 * Steps:
 *   1. c1..c4, one lt_public_multi call (narrow 4-bit digits,
 *      one re-sharing message for the four thresholds)      4 rounds
 *   2. λw = x·(lam_q·x) >> (2f + 2a + 16 - vb) (mul_trunc)  2 rounds
 *   3. c1..c4 to arithmetic (one b2a_bit batch of 4n)       1 round
 *   4. t (one mul_sum of three products)                    1 round
 *   5. t² (mul_trunc)                                       2 rounds
 *   6. C at 2vb bits, rounded to f + g (one truncation)     2 rounds
 *   7. P and the relu terms + half, one truncation          2 rounds
 * Domain: |x - c| < 2^32 for the thresholds c, i.e. |x| < 2^(32-f) - 3a
 * (16372 at f = 18, a = 4); the last sum stays below 2^(14 + f + vb + g) =
 * 2^61, C below 2^(2vb + 3).  Beyond 3A, t and every E_k are exactly 0, so
 * no product there can carry garbage: t² and C come out within an ulp or
 * two of 0 and their product vanishes in the last truncation (λw is
 * garbage for |x| ≥ a, where b_in = 0 removes it exactly).  Declared per
 * element and party (b2a_bit 10.7 B, truncations 9.6–9.7 B at these
 * shifts, rotated): 23.8 + 9.7 + 42.7 + 8 + 9.6 + 9.7 + 9.6 ≈ 113–115 B,
 * 14 rounds (issue 11 fifth pass: t², A | t⁴, B | P, five truncations
 * after w, 13 B each, 152.5 B; third pass four bit-pair comparisons, 15
 * rounds; before it the
 * powers t^2..t^6 then a selection, 206.7 B and 17 rounds; before issue
 * 11: 26 rounds, P0 353 / P1, P2 275 B). */
static cc_status silu_abs_mpc(cc_proto *p, const cc_silu_abs *sa, unsigned f, const cc_ashare *x,
                              cc_ashare *out)
{
    const size_t n = x->n;
    const unsigned a = sa->a_log2, vb = f + sa->var_extra_bits, g = CC_SILU_GUARD;
    const unsigned wshift = 2 * f + 2 * a + CC_SILU_LAM_BITS - vb, cshift = 2 * vb - f - g;
    const unsigned kshift = vb - f - a - CC_SILU_KAPPA_BITS;
    const uint64_t A = 1ull << (f + a);

    cc_ashare fac = { 0 }, val = { 0 }, C = { 0 }, E = { 0 };
    cc_ashare t = { 0 }, t2 = { 0 }, cC = { 0 }, tmp = { 0 };
    cc_bshare below = { 0 };
    uint64_t *z = NULL;

    cc_status s = nn_ash_alloc_raw(&fac, 3 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&val, 3 * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&C, 4 * n);
    if (s == CC_OK) s = nn_ash_alloc(&E, CC_SILU_NCOEF * n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&t, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&t2, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&cC, n);
    if (s == CC_OK) s = nn_ash_alloc_raw(&tmp, n);
    if (s == CC_OK) s = nn_bsh_alloc(&below, 4 * n);
    if (s == CC_OK && !(z = cc_alloc(n * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    cc_ashare C1 = cc_ashare_slice(&C, 0, n), C2 = cc_ashare_slice(&C, n, n);
    cc_ashare C3 = cc_ashare_slice(&C, 2 * n, n), C4 = cc_ashare_slice(&C, 3 * n, n);
    cc_ashare bin = cc_ashare_slice(&fac, 0, n), bop = cc_ashare_slice(&fac, n, n);
    cc_ashare bon = cc_ashare_slice(&fac, 2 * n, n);
    cc_ashare tin = cc_ashare_slice(&val, 0, n), tp = cc_ashare_slice(&val, n, n);
    cc_ashare tn = cc_ashare_slice(&val, 2 * n, n);
    cc_ashare Ek[CC_SILU_NCOEF];
    for (unsigned k = 0; k < CC_SILU_NCOEF; k++) Ek[k] = cc_ashare_slice(&E, k * n, n);

    /* 1. c1..c4: x < -3A + 1, x < -A + 1, x < A, x < 3A (x - c within 2^32) */
    {
        const uint64_t thr[4] = { 1 - 3 * A, 1 - A, A, 3 * A };
        s = cc_proto_lt_public_multi(p, nn_msb_kind(true, NN_CMP_FEW), x, 4, thr, &below);
    }
    /* 2. λw at vb bits; 3. the four bits, arithmetic */
    if (s == CC_OK) s = cc_proto_mul_public(p, x, sa->lam_q, &tmp);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, x, &tmp, wshift, &tin);
    if (s == CC_OK) s = cc_proto_b2a_bit(p, &below, &C);
    if (s != CC_OK) goto done;

    /* 4. t = b_in·t_in + b_op·t+ + b_on·t-: fac = [b_in | b_op | b_on],
     *    val = [t_in | t+ | t-] */
    nn_copy(&bin, &C3); nn_axpy(&bin, (uint64_t)-1, &C2);
    nn_copy(&bop, &C4); nn_axpy(&bop, (uint64_t)-1, &C3);
    nn_copy(&bon, &C2); nn_axpy(&bon, (uint64_t)-1, &C1);
    s = cc_proto_add_public(p, &tin, cc_nn_enc(sa->nu, vb), &tin);
    if (s == CC_OK) s = cc_proto_add_public(p, x, (uint64_t)0 - 2 * A, &tp);       /* x - 2A */
    if (s == CC_OK) s = cc_proto_neg(p, x, &tn);
    if (s == CC_OK) s = cc_proto_add_public(p, &tn, (uint64_t)0 - 2 * A, &tn);     /* -x - 2A */
    if (s == CC_OK) s = cc_proto_mul_public(p, &tp, (uint64_t)sa->kappa_q << kshift, &tp);
    if (s == CC_OK) s = cc_proto_mul_public(p, &tn, (uint64_t)sa->kappa_q << kshift, &tn);
    if (s == CC_OK) s = cc_proto_add_public(p, &tp, cc_nn_enc(sa->mu, vb), &tp);
    if (s == CC_OK) s = cc_proto_add_public(p, &tn, cc_nn_enc(sa->mu, vb), &tn);
    if (s == CC_OK) s = cc_proto_mul_sum(p, 3, &fac, &val, NULL, &t);
    if (s != CC_OK) goto done;

    /* E_k = b_in·c_in[k] + b_out·c_out[k] (local; E is zeroed) */
    for (unsigned k = 0; k < CC_SILU_NCOEF; k++) {
        nn_axpy(&Ek[k], cc_silu_abs_coef(sa, true, k, f), &bin);
        nn_axpy(&Ek[k], cc_silu_abs_coef(sa, false, k, f), &bop);
        nn_axpy(&Ek[k], cc_silu_abs_coef(sa, false, k, f), &bon);
    }

    /* 5. t² at vb bits */
    s = cc_proto_mul_trunc(p, &t, &t, vb, &t2);
    if (s != CC_OK) goto done;

    /* 6. C = E2 + E3·t + E4·t² + top0·t²·t + top1·t²·t² at 2vb bits,
     *    rounded to f + g bits */
    memset(z, 0, n * sizeof *z);
    cc_proto_terms_add_share(p, &Ek[2], 0, z);
    cc_proto_terms_mul_acc(p, &Ek[3], &t, z);
    cc_proto_terms_mul_acc(p, &Ek[4], &t2, z);
    s = cc_proto_mul_public(p, &t, (uint64_t)(int64_t)sa->top[0], &tmp);
    if (s == CC_OK) cc_proto_terms_mul_acc(p, &t2, &tmp, z);
    if (s == CC_OK) s = cc_proto_mul_public(p, &t2, (uint64_t)(int64_t)sa->top[1], &tmp);
    if (s == CC_OK) cc_proto_terms_mul_acc(p, &t2, &tmp, z);
    cc_proto_terms_add_public(p, n, 1, cshift - 1, z);
    if (s == CC_OK) s = cc_proto_trunc_terms(p, z, cshift, &cC);
    if (s != CC_OK) goto done;

    /* 7. at f + vb + g bits: E0 + E1·t + t²·C + b_in·x/2 + b_pf·x + half an
     *    ulp, one truncation by vb + g */
    {
        cc_ashare bpf = cc_ashare_slice(&fac, n, n);       /* b_op's slot, no longer needed */
        s = cc_proto_neg(p, &C3, &bpf);
        if (s == CC_OK) s = cc_proto_add_public(p, &bpf, 1, &bpf);
        if (s != CC_OK) goto done;
        memset(z, 0, n * sizeof *z);
        cc_proto_terms_add_share(p, &Ek[0], 0, z);
        cc_proto_terms_mul_acc(p, &Ek[1], &t, z);
        cc_proto_terms_mul_acc(p, &t2, &cC, z);
        nn_shl(&tmp, x, vb + g - 1);
        cc_proto_terms_mul_acc(p, &bin, &tmp, z);
        nn_shl(&tmp, x, vb + g);
        cc_proto_terms_mul_acc(p, &bpf, &tmp, z);
        cc_proto_terms_add_public(p, n, 1, vb + g - 1, z);
        s = cc_proto_trunc_terms(p, z, vb + g, out);
    }
done:
    nn_ash_free(&fac); nn_ash_free(&val); nn_ash_free(&C); nn_ash_free(&E);
    nn_ash_free(&t); nn_ash_free(&t2); nn_ash_free(&cC); nn_ash_free(&tmp);
    nn_bsh_free(&below);
    cc_free(z);
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
                      bool narrow, nn_cmp_site site, cc_ashare *out)
{
    size_t n = x->n;
    const uint64_t thr = cc_nn_enc(ep->threshold, f);
    cc_ashare a = { 0 };
    cc_bshare below = { 0 };
    uint64_t *thv = NULL;
    cc_status s = nn_ash_alloc_raw(&a, n);
    if (s == CC_OK) s = nn_bsh_alloc(&below, n);
    if (s == CC_OK && !(thv = cc_alloc(n * sizeof *thv + 8))) s = CC_ERR_NOMEM;
    for (size_t i = 0; s == CC_OK && i < n; i++) thv[i] = thr;
    if (s == CC_OK) s = cc_proto_lt_public_vec_kind(p, nn_msb_kind(narrow, site), x, thv, &below);
    if (s == CC_OK) s = cc_proto_add_public(p, x, 1ull << (f + ep->t), &a);
    if (s == CC_OK) s = cc_proto_mul_trunc(p, &a, &a, f + 2 * ep->t + (ep->taylor2 ? 1 : 0), &a);
    if (s == CC_OK && ep->taylor2) s = cc_proto_add_public(p, &a, 1ull << (f - 1), &a);
    unsigned squarings = ep->taylor2 ? ep->t : ep->t - 1;
    for (unsigned i = 0; s == CC_OK && i < squarings; i++) s = cc_proto_mul_trunc(p, &a, &a, f, &a);
    if (s == CC_OK) s = cc_proto_xor_public(p, &below, 1, &below);
    if (s == CC_OK) s = cc_proto_mul_bit(p, &below, &a, out);
    nn_ash_free(&a);
    nn_bsh_free(&below);
    cc_free(thv);
    return s;
}

cc_status cc_nn_exp(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, "exp", x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, "exp");
    cc_status s = nn_exp_core(p, &set->exp, cfg->f, x, false, NN_CMP_SINGLE, out);
    cc_proto_scope_end(p);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "nn exp");
}
