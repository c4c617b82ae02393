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
 * values, scales and truncation points as silu_abs_mpc in mpc_act.c.  Both
 * pieces run on one variable t (λw + ν on the inner piece, κz + μ on the
 * outer one, 0 beyond) and their coefficients E_0..E_4 are selected per
 * element, E_k = [in]·c_in[k] + [out]·c_out[k]; t^5 and t^6 have public
 * coefficients, so one polynomial of degree 6 takes three product levels
 * and three truncations:
 *   t², C = E2 + E3·t + E4·t² + top0·t²·t + top1·t²·t² (at 2vb bits, rounded
 *   to f + g), P(t) = E0 + E1·t + t²·C.
 * Beyond 3a every E_k and t are 0, so the products there are exactly 0. */
static uint64_t silu_abs_eval(const cc_silu_abs *sa, unsigned f, uint64_t x)
{
    const unsigned a = sa->a_log2, vb = f + sa->var_extra_bits, g = CC_SILU_GUARD;
    const unsigned wshift = 2 * f + 2 * a + CC_SILU_LAM_BITS - vb;
    const unsigned cshift = 2 * vb - f - g;
    const uint64_t A = 1ull << (f + a);
    uint64_t m = (int64_t)x < 0 ? x : 0;              /* mul_bit([x < 0], x) */
    uint64_t y = x - 2 * m;                           /* |x| */
    uint64_t in = (int64_t)(y - A) < 0;
    uint64_t out = !in && (int64_t)(y - 3 * A) < 0;

    /* λw at vb bits (garbage where |x| ≥ a, multiplied by in = 0 there);
     * κz at vb bits is exact */
    uint64_t tin = cc_nn_mul_floor(x, (uint64_t)sa->lam_q * x, wshift) + cc_nn_enc(sa->nu, vb);
    uint64_t tout = ((y - 2 * A) * sa->kappa_q << (vb - f - a - CC_SILU_KAPPA_BITS)) + cc_nn_enc(sa->mu, vb);
    uint64_t t = in * tin + out * tout;
    uint64_t E[CC_SILU_NCOEF];
    for (unsigned k = 0; k < CC_SILU_NCOEF; k++)
        E[k] = in * cc_silu_abs_coef(sa, true, k, f) + out * cc_silu_abs_coef(sa, false, k, f);

    uint64_t t2 = cc_nn_mul_floor(t, t, vb);
    uint64_t C = E[2] + E[3] * t + E[4] * t2 + (uint64_t)(int64_t)sa->top[0] * t2 * t +
                 (uint64_t)(int64_t)sa->top[1] * t2 * t2 + (1ull << (cshift - 1));
    C = cc_nn_floor(C, cshift);                       /* at f + g bits, rounded */

    /* at f + vb + g bits: P(t), x/2 on the inner piece (relu(x) - y/2),
     * x from a on (relu), half an ulp for rounding to nearest */
    uint64_t acc = E[0] + E[1] * t + t2 * C;
    acc += in * (x << (vb + g - 1)) + (uint64_t)((int64_t)(x - A) >= 0) * (x << (vb + g));
    acc += 1ull << (vb + g - 1);
    return cc_nn_floor(acc, vb + g);
}

cc_status cc_nnref_silu(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out)
{
    const cc_approx_set *set = cc_nn_set(cfg);
    if (!set) return CC_ERR_ARG;
    if (!set->silu_abs.on) return pw_run(&set->silu, cfg->f, n, x, out);
    for (size_t i = 0; i < n; i++) out[i] = silu_abs_eval(&set->silu_abs, cfg->f, x[i]);
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
