/* GeLU, SiLU (PUMA arXiv 2307.12533 §4.1 piecewise polynomials) and exp
 * (§4.2, (1 + x/2^t)^(2^t)) on replicated shares.
 *
 * Piecewise activation with B breakpoints and polynomial powers up to v^D:
 *   1. all B comparisons x < brk_j in ONE lt_public_vec batch     msb rounds
 *   2. the powers of v, one fused mul+trunc batch per level
 *      (⌈log2 D⌉ levels, + 1 for the precise variable w = (x/a)^2)  2 rounds each
 *   3. each segment accumulated locally at f + var bits (public
 *      coefficients times powers, no truncation yet)
 *   4. segment indicators b_s XOR b_{s-1} (local), one mul_bit
 *      batch for the non-zero segments                              2 rounds
 *   5. one truncation of the selected sum                           2 rounds
 * Declared cost per element, in proto ops: B·msb + (#powers)·mul_trunc +
 * (#segments)·mul_bit + trunc.  With proto's costs at the time of writing
 * (msb 6 rounds, P0 35 B / P1,P2 17 B; mul_trunc 16 B; mul_bit 24 / 16 B;
 * trunc 16 B): PUMA GeLU/SiLU 16 rounds, P0 257 B, P1/P2 179 B; precise
 * GeLU 18 rounds, 230 / 194 B; precise SiLU 18 rounds, 262 / 226 B.  The
 * network layer measures 1–3 rounds fewer (adjacent ops share rounds).
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

    /* 5. select (one batch), sum, truncate once */
    s = cc_proto_mul_bit(p, &ind, &acc, &sel);
    if (s != CC_OK) goto done;
    {
        cc_ashare total = cc_ashare_slice(&sel, 0, n);
        for (unsigned j = 1; j < nseg; j++) {
            cc_ashare part = cc_ashare_slice(&sel, j * n, n);
            nn_axpy(&total, 1, &part);
        }
        s = cc_proto_trunc(p, &total, vb, out);
    }
done:
    nn_ash_free(&rep); nn_ash_free(&powbuf); nn_ash_free(&lhs);
    nn_ash_free(&rhs); nn_ash_free(&prod); nn_ash_free(&acc);
    nn_ash_free(&sel); nn_bsh_free(&below); nn_bsh_free(&ind);
    cc_free(brk);
    return s;
}

static cc_status run_pw(cc_proto *p, const cc_nn_cfg *cfg, const char *name, bool silu,
                        const cc_ashare *x, cc_ashare *out)
{
    const cc_approx_set *set;
    CC_TRY(nn_check(p, cfg, name, x, x ? x->n : 0, out, x ? x->n : 0, &set));
    cc_proto_scope_begin(p, name);
    cc_status s = pw_mpc(p, silu ? &set->silu : &set->gelu, cfg->f, x, out);
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
