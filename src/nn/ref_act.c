/* Plaintext fixed-point models of the elementwise activations: piecewise
 * polynomial GeLU/SiLU and exp for x ≤ 0.  Same constants, scales and
 * truncation points as mpc_act.c; truncation here is exactly floor. */
#include "nn_impl.h"

/* One element of a piecewise activation (see cc_pw in nn_impl.h). */
static uint64_t pw_eval(const cc_pw *pw, const cc_pow_plan *plan, unsigned f, uint64_t x)
{
    unsigned vb = cc_pw_var_bits(pw, f);
    uint64_t v[CC_PW_MAXDEG + 1] = { 0 };
    v[1] = pw->var_sq_log2 < 0 ? x : cc_nn_mul_floor(x, x, cc_pw_var_shift(pw, f));
    for (unsigned k = 2; k <= plan->maxdeg; k++)
        if (plan->need[k]) v[k] = cc_nn_mul_floor(v[plan->lhs[k]], v[plan->rhs[k]], vb);

    /* below[j] = [x < brk_j]; segment s is selected by below[s] XOR below[s-1] */
    bool below[CC_PW_MAXBREAKS + 2];
    below[0] = false;
    for (unsigned j = 0; j < pw->nbreaks; j++)
        below[j + 1] = (int64_t)(x - cc_nn_enc(pw->brk[j], f)) < 0;
    below[pw->nbreaks + 1] = true;

    uint64_t acc = 0;
    for (unsigned s = 0; s <= pw->nbreaks; s++) {
        const cc_pw_seg *sg = &pw->seg[s];
        uint64_t ind = (uint64_t)(below[s + 1] ^ below[s]);
        uint64_t val = 0;
        if (sg->kind == CC_SEG_ZERO) continue;
        if (sg->kind == CC_SEG_IDENTITY) {
            val = x << vb;
        } else {
            val = cc_nn_enc(sg->c[0], f) << vb;
            val += (cc_nn_enc(sg->lin, f) * x) << (vb - f);
            for (unsigned k = 1; k <= sg->deg; k++)
                if (sg->c[k] != 0.0) val += cc_nn_enc(sg->c[k], f) * v[k];
        }
        acc += ind * val;
    }
    return cc_nn_floor(acc, vb);
}

static cc_status pw_run(const cc_pw *pw, unsigned f, size_t n, const uint64_t *x, uint64_t *out)
{
    cc_pow_plan plan;
    cc_pow_plan_make(pw, &plan);
    for (size_t i = 0; i < n; i++) out[i] = pw_eval(pw, &plan, f, x[i]);
    return CC_OK;
}

cc_status cc_nnref_gelu(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    return pw_run(&set->gelu, cfg->f, n, x, out);
}

/* One element of the precise SiLU (cc_silu_abs in nn_impl.h), with the same
 * values, scales and truncation points as silu_abs_mpc in mpc_act.c: both
 * pieces are evaluated on the one variable t (z on the outer piece, w
 * elsewhere).  The powers of t are exactly those of w resp. z (same plan,
 * and z·z >> vb equals the raw (y-8)^2 >> (2f + 2a - vb)).  t's powers may
 * be garbage for large y: they are multiplied by a 0 indicator, exactly as
 * in MPC. */
static uint64_t silu_abs_eval(const cc_silu_abs *sa, const cc_pow_plan *pt, unsigned f,
                              uint64_t x)
{
    const unsigned a = sa->a_log2, vb = f + sa->var_extra_bits, shift = 2 * f + 2 * a - vb;
    uint64_t m = (int64_t)x < 0 ? x : 0;              /* mul_bit([x < 0], x) */
    uint64_t y = x - 2 * m;                           /* |x| */
    bool below_in = (int64_t)(y - (1ull << (f + a))) < 0;
    bool below_out = (int64_t)(y - (3ull << (f + a))) < 0;
    uint64_t zraw = y - (2ull << (f + a));            /* z at f + a bits */

    uint64_t t[CC_PW_MAXDEG + 1] = { 0 };
    uint64_t w = cc_nn_mul_floor(y, y, shift), z = zraw << (vb - f - a);
    t[1] = (below_out && !below_in) ? z : w;
    for (unsigned k = 2; k <= pt->maxdeg; k++) t[k] = cc_nn_mul_floor(t[pt->lhs[k]], t[pt->rhs[k]], vb);

    /* at f + vb bits: inner piece minus y/2, outer piece */
    uint64_t inner = (cc_nn_enc(sa->c_in[0], f) << vb) - (y << (vb - 1));
    for (unsigned k = 1; k <= sa->deg_in; k++) inner += cc_nn_enc(sa->c_in[k], f) * t[k];
    uint64_t outer = cc_nn_enc(sa->c_out[0], f) << vb;
    for (unsigned k = 1; k <= sa->deg_out; k++) outer += cc_nn_enc(sa->c_out[k], f) * t[k];

    uint64_t acc = ((x - m) << vb) + (1ull << (vb - 1));   /* relu(x), + half for rounding */
    acc += (uint64_t)below_in * inner + (uint64_t)(below_out ^ below_in) * outer;
    return cc_nn_floor(acc, vb);
}

cc_status cc_nnref_silu(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    if (!set->silu_abs.on) return pw_run(&set->silu, cfg->f, n, x, out);
    const cc_silu_abs *sa = &set->silu_abs;
    cc_pow_plan pt;
    cc_pow_plan_dense(sa->deg_in > sa->deg_out ? sa->deg_in : sa->deg_out, false, &pt);
    for (size_t i = 0; i < n; i++) out[i] = silu_abs_eval(sa, &pt, cfg->f, x[i]);
    return CC_OK;
}

/* exp(x), x ≤ 0.  a = x + 2^(f+t) is 1 + x/2^t at f+t bits, so the first
 * squaring absorbs the division by 2^t:
 *   PUMA     v = a^2 >> (f+2t)                 = (1 + u)^2
 *   taylor2  v = a^2 >> (f+2t+1) + 2^(f-1)     = 1 + u + u^2/2
 * then squarings up to the 2^t-th power, and 0 below the threshold. */
uint64_t cc_nnref_exp1(const cc_exp_params *ep, unsigned f, uint64_t x)
{
    bool below = (int64_t)(x - cc_nn_enc(ep->threshold, f)) < 0;
    uint64_t a = x + (1ull << (f + ep->t));
    uint64_t v;
    unsigned squarings;
    if (ep->taylor2) {
        v = cc_nn_mul_floor(a, a, f + 2 * ep->t + 1) + (1ull << (f - 1));
        squarings = ep->t;
    } else {
        v = cc_nn_mul_floor(a, a, f + 2 * ep->t);
        squarings = ep->t - 1;
    }
    for (unsigned i = 0; i < squarings; i++) v = cc_nn_mul_floor(v, v, f);
    return below ? 0 : v;
}

cc_status cc_nnref_exp(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    for (size_t i = 0; i < n; i++) out[i] = cc_nnref_exp1(&set->exp, cfg->f, x[i]);
    return CC_OK;
}
