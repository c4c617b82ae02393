/* nn internals shared by the plaintext models (ref_*.c) and the MPC versions
 * (mpc_*.c): the approximation tables and the fixed-point bookkeeping, so
 * both sides evaluate literally the same constants at the same scales. */
#ifndef CARACAL_NN_IMPL_H
#define CARACAL_NN_IMPL_H

#include <math.h>
#include <stdint.h>
#include "core.h"
#include "nn.h"

#define CC_NN_F_MIN 8u
#define CC_NN_F_MAX 20u

/* ---- piecewise polynomial activations (GeLU, SiLU) -------------------------
 * Breakpoints brk[0] < ... < brk[nbreaks-1] split the line into nbreaks + 1
 * segments; segment s is [brk[s-1], brk[s]).  Each segment is 0, x, or
 * lin·x + Σ_k c[k] v^k where the polynomial variable v is
 *   x              (var_sq_log2 < 0, PUMA: powers of x at f bits), or
 *   w = (x/2^a)^2  (var_sq_log2 = a ≥ 0, precise: powers of w kept at
 *                   var_bits > f fractional bits, because the fitted
 *                   coefficients are large and alternate in sign).
 * Segment values are accumulated at f + var_bits bits and truncated once,
 * after the selection. */
enum { CC_SEG_ZERO, CC_SEG_IDENTITY, CC_SEG_POLY };
#define CC_PW_MAXBREAKS 3
#define CC_PW_MAXDEG 8

typedef struct cc_pw_seg {
    int kind;
    double lin;
    unsigned deg;
    double c[CC_PW_MAXDEG + 1];
} cc_pw_seg;

typedef struct cc_pw {
    unsigned nbreaks;
    double brk[CC_PW_MAXBREAKS];
    int var_sq_log2;           /* < 0: v = x; else v = (x / 2^var_sq_log2)^2 */
    unsigned var_extra_bits;   /* v's fractional bits = f + var_extra_bits */
    cc_pw_seg seg[CC_PW_MAXBREAKS + 1];
} cc_pw;

/* ---- SiLU through |x| (precise set) -----------------------------------------
 * SiLU(x) = x/2 + E(y), y = |x|, E(y) = y/2 · tanh(y/2) even.  With a = 2^a_log2:
 *   y < a:        E ≈ P(t),          t = λ·w + ν,  w = (y/a)^2       ∈ [0, 1]
 *   a ≤ y < 3a:   E ≈ y/2 + P(t),    t = κ·z + μ,  z = (y - 2a)/a    ∈ [-1, 1)
 *   y ≥ 3a:       E = y/2            (error 3a/(1+e^(3a)))
 * so SiLU = relu(x) + [y < a]·(P - y/2) + [a ≤ y < 3a]·P.  On both pieces
 * P(t) = Σ_{k≤4} E_k t^k + top[0]·t^5 + top[1]·t^6: the pieces' own
 * coefficients E_0..E_4 (c_in, c_out) and two public ones they share, which
 * the affine maps t(w), t(z) make possible (perf/plot_approx_fit.c).
 * λ = lam_q / 2^CC_SILU_LAM_BITS, κ = kappa_q / 2^CC_SILU_KAPPA_BITS: the
 * inner t is one multiplication by the integer lam_q and one truncation,
 * the outer one is exact (κ·z at vb bits is (y - 2a)·kappa_q at f bits
 * shifted by vb - f - a_log2 - CC_SILU_KAPPA_BITS ≥ 0). */
typedef struct cc_silu_abs {
    bool on;                   /* false: the set uses its cc_pw SiLU */
    unsigned a_log2;
    unsigned var_extra_bits;   /* t at vb = f + var_extra_bits bits */
    int top[2];                /* public t^5, t^6 coefficients */
    uint32_t lam_q, kappa_q;
    double nu, mu;
    double c_in[5];            /* E_0..E_4 of the inner piece */
    double c_out[5];           /* of the outer piece */
} cc_silu_abs;

/* The precise SiLU evaluates P with per-element E_k in three product
 * levels (ref_act.c, mpc_act.c):
 *   t², then C = E2 + E3·t + E4·t² + top0·t²·t + top1·t²·t² at 2vb bits
 *   rounded to f + CC_SILU_GUARD bits, then E0 + E1·t + t²·C.
 * E_k's encoding (cc_silu_abs_coef): E0 at f + vb + g bits, E1 at f + g,
 * E2 at 2vb, E3 and E4 at vb (g = CC_SILU_GUARD). */
#define CC_SILU_NCOEF 5
#define CC_SILU_GUARD 3u
#define CC_SILU_LAM_BITS 16u
#define CC_SILU_KAPPA_BITS 6u
static inline unsigned cc_silu_abs_coef_bits(const cc_silu_abs *sa, unsigned k, unsigned f)
{
    const unsigned vb = f + sa->var_extra_bits, g = CC_SILU_GUARD;
    switch (k) {
    case 0: return f + vb + g;
    case 1: return f + g;
    case 2: return 2 * vb;
    default: return vb;
    }
}
/* Coefficient k of the inner or outer piece at its encoding. */
static inline uint64_t cc_silu_abs_coef(const cc_silu_abs *sa, bool inner, unsigned k, unsigned f)
{
    double c = inner ? sa->c_in[k] : sa->c_out[k];
    return (uint64_t)(int64_t)llround(ldexp(c, (int)cc_silu_abs_coef_bits(sa, k, f)));
}

/* exp(x) for x ≤ 0: 0 below `threshold`, else (start(x / 2^t))^(2^t) where
 * start(u) = 1 + u (PUMA) or 1 + u + u^2/2 (taylor2). */
typedef struct cc_exp_params {
    unsigned t;
    bool taylor2;
    double threshold;
} cc_exp_params;

typedef struct cc_approx_set {
    cc_pw gelu, silu;
    cc_silu_abs silu_abs;      /* when .on, replaces silu */
    cc_exp_params exp;
    unsigned recip_iters;      /* Goldschmidt iterations */
    double rsqrt_c[5];         /* initial guess on [0.25, 0.5): Σ c[k] u^k */
    unsigned rsqrt_newton;     /* Newton steps after the guess */
    /* true: reciprocal and rsqrt by a cubic per mantissa bucket
     * (cc_bucket_plan) instead of Goldschmidt / quartic + Newton, and the
     * norms in the matching short schedule (mpc_norm.c) */
    bool bucket_cubic;
} cc_approx_set;

/* NULL with an error message for an unknown set or unsupported f. */
const cc_approx_set *cc_nn_set(const cc_nn_cfg *cfg);

/* ---- fixed-point helpers --------------------------------------------------- */
/* round(c · 2^bits) in the ring */
static inline uint64_t cc_nn_enc(double c, unsigned bits)
{
    return (uint64_t)(int64_t)llround(ldexp(c, (int)bits));
}
/* Deterministic truncation: floor(v / 2^d) in the signed view. */
static inline uint64_t cc_nn_floor(uint64_t v, unsigned d)
{
    return (uint64_t)((int64_t)v >> d);
}
static inline uint64_t cc_nn_mul_floor(uint64_t a, uint64_t b, unsigned d)
{
    return cc_nn_floor(a * b, d);
}

/* Power schedule for v^2..v^deg: v^k = v^lhs[k] · v^rhs[k], evaluated level
 * by level (level[k] = multiplication depth, v itself is level 0). */
typedef struct cc_pow_plan {
    unsigned maxdeg;
    bool need[CC_PW_MAXDEG + 1];
    unsigned lhs[CC_PW_MAXDEG + 1], rhs[CC_PW_MAXDEG + 1], level[CC_PW_MAXDEG + 1];
    unsigned nlevels;
} cc_pow_plan;
void cc_pow_plan_make(const cc_pw *pw, cc_pow_plan *plan);

/* Truncation that brings x·x to v's scale when v = (x/2^a)^2. */
static inline unsigned cc_pw_var_shift(const cc_pw *pw, unsigned f)
{
    return 2 * f + 2 * (unsigned)pw->var_sq_log2 - (f + pw->var_extra_bits);
}
static inline unsigned cc_pw_var_bits(const cc_pw *pw, unsigned f)
{
    return f + pw->var_extra_bits;
}

/* ---- highest-set-bit normalisation (reciprocal, rsqrt) -------------------------
 * With g_i = [x ≥ 2^i] for i < L (monotone) and p = floor(log2 x), any
 * function of p is Σ_i g_i (F(i) - F(i-1)) (F(-1) = 0): linear in the bits,
 * so the MPC version gets it locally once the g_i are arithmetic. */
#define CC_NN_MAXWIN 61
typedef struct cc_norm_plan {
    unsigned L;                          /* window: x < 2^L */
    unsigned norm_shift;                 /* u = x · N(p) >> norm_shift */
    uint64_t norm_delta[CC_NN_MAXWIN];   /* N(i) - N(i-1) */
    unsigned comp_shift;                 /* y = r · C(p) >> comp_shift */
    uint64_t comp_delta[CC_NN_MAXWIN];   /* C(i) - C(i-1) */
} cc_norm_plan;
/* reciprocal: N(p) = 2^(60-p), u ∈ [0.5, 1); C(p) = 2^(S+f-1-p), S = 61-2f */
void cc_norm_plan_recip(unsigned f, cc_norm_plan *np);
/* rsqrt: N(p) = 2^(59-p), u ∈ [0.25, 0.5); C(p) = 2^(f+K) · 2^(-(p+2-f)/2) */
void cc_norm_plan_rsqrt(unsigned f, cc_norm_plan *np);
/* Σ_i [x ≥ 2^i] · delta[i], computed directly (the model). */
uint64_t cc_norm_eval(const uint64_t *delta, unsigned L, uint64_t x);

/* One element of exp (model), used by the softmax model too. */
uint64_t cc_nnref_exp1(const cc_exp_params *ep, unsigned f, uint64_t x);

/* ---- bucketed cubic (precise reciprocal and rsqrt) ----------------------------
 * The highest-bit comparisons g = [x ≥ 2^i] are refined to M = 8 per octave,
 * t_{i,j} = 2^i (1 + j/M): still monotone, still one comparison batch, and
 * any function of the bucket (i, j) is a local linear combination of the
 * bits (Σ_t g_t (F(t) - F(t-1))).  With u = x / 2^(i+e) ∈ [u0, 2u0)
 * (u0 = 2^-e; e = 1 reciprocal, 2 rsqrt) the bucket is
 * u ∈ [u0 (1 + j/M), u0 (1 + (j+1)/M)), and w = (u - u_j)·M/u0 ∈ [0, 1).
 * g(u) (1/u or u^-1/2) is a cubic in w per bucket (interpolated at the
 * Chebyshev nodes; 1.9e-6 / 3.6e-7 relative), whose coefficients — and,
 * when `fold`, the exact factor C(i) that turns g(u) into g(x) — come out of
 * the same linear combination:
 *   bits (msb + bit injection)                              7 rounds
 *   u = x·N >> norm_shift, w = u - U                        2 rounds
 *   t1 = A1·w, w2 = w·w, t3 = A3·w  (>> FW, one batch)      2 rounds
 *   y = (A2·w2 + t3·w2 + (A0 + t1)·2^FW + half) >> (FW + GUARD)   2 rounds
 * (half = 2^(FW+GUARD-1): the result is rounded to nearest, not floored)
 * 13 rounds instead of 19 (Goldschmidt, 3 iterations) resp. 23 (quartic +
 * Newton), for M comparisons per octave instead of one. */
#define CC_NN_BK_M 8u
#define CC_NN_BK_LGM 3u
#define CC_NN_BK_FW 16u
#define CC_NN_BK_GUARD 3u
#define CC_NN_BK_MAXT (62 * 32)            /* the 1/32-octave quadratic plans */
enum { CC_BK_N, CC_BK_U, CC_BK_A0, CC_BK_A1, CC_BK_A2, CC_BK_A3, CC_BK_C, CC_BK_NCOMB };
typedef enum cc_bk_fn { CC_BK_RECIP, CC_BK_RSQRT } cc_bk_fn;
typedef struct cc_bucket_plan {
    unsigned lo, hi;                      /* the caller knows 2^lo ≤ x < 2^hi */
    size_t nt;                            /* (hi - lo)·M thresholds */
    uint64_t thr[CC_NN_BK_MAXT];          /* ascending */
    uint64_t base[CC_BK_NCOMB];           /* value below the first threshold */
    uint64_t delta[CC_BK_NCOMB][CC_NN_BK_MAXT];
    unsigned lgm;                         /* log2 of the buckets per octave */
    unsigned fu;                          /* u's fractional bits, FW + lgm + e */
    unsigned norm_shift;                  /* u (fu bits) = x·N >> norm_shift */
    unsigned out_bits;                    /* result (fold) or mantissa g(u) bits */
    unsigned comp_bits;                   /* !fold: C at comp_bits + ... see make */
} cc_bucket_plan;
/* in_bits: fractional bits of x.  fold: the result is g(x)·scale at
 * out_bits; otherwise it is the mantissa g(u) at out_bits and the C
 * combination holds round(C(i)·scale·2^comp_bits), g(x)·scale = g(u)·C.
 * 0 ≤ lo < hi ≤ 61.  Returns NULL (error set) on allocation failure; free
 * with cc_free. */
cc_bucket_plan *cc_bucket_plan_new(cc_bk_fn fn, unsigned in_bits, unsigned lo, unsigned hi,
                                   double scale, bool fold, unsigned out_bits,
                                   unsigned comp_bits);
/* Same with 2^lgm buckets per octave (lgm ≤ CC_NN_BK_LGM); lgm = 0 is the
 * plain highest-bit normalisation (the puma norms use it for N and C). */
cc_bucket_plan *cc_bucket_plan_new_m(cc_bk_fn fn, unsigned in_bits, unsigned lo, unsigned hi,
                                     double scale, bool fold, unsigned out_bits,
                                     unsigned comp_bits, unsigned lgm);
/* The combinations for one x (the model's side of the bit injection). */
void cc_bucket_comb(const cc_bucket_plan *bp, uint64_t x, uint64_t comb[CC_BK_NCOMB]);
/* The model of the three product levels, given u and the combinations. */
uint64_t cc_bucket_poly(const uint64_t comb[CC_BK_NCOMB], uint64_t w);

/* ---- softmax's row-sum reciprocal, folded (precise set, one-group rows) ----
 * s ∈ [2^lo, 2^hi) at f bits (cc_nn_softmax's bound).  2^CC_NN_RQ_LGM = 32
 * buckets per octave, starts c = 2^i (1 + j/32) as above; per bucket a
 * quadratic in t = s − c itself (no normalisation: the window is a few
 * octaves, so the coefficients stay in range), 1/s ≈ E0 + E1·t + E2·t²
 * through the bucket's three Chebyshev nodes (9.1e-7 relative, the cubic
 * on 8 buckets: 1.9e-6), with e folded in:
 *   bits (narrow 8-bit-digit msb + bit injection)             3 + 1 rounds
 *   t2 = t² >> (f − G) (rows) ‖ eE_k = e·E_k >> f (3 per entry)    2 rounds
 *   y = (eE0·2^(f+G) + eE1·t·2^G + eE2·t2 + half) >> (F + G)       2 rounds
 * 8 rounds instead of 10, for 4× the bucket bits per row and 4 instead of
 * 7 truncations per entry.  E_k at F = f + CC_NN_RQ_EXTRA bits; the plan
 * uses the cc_bucket_plan slots U (= c) and A0..A2 (= E0..E2). */
#define CC_NN_RQ_LGM 5u
#define CC_NN_RQ_EXTRA 12u
/* G: t2's bits beyond f (8; fewer for small f, so that f - G ≥ 1) */
static inline unsigned cc_nn_rq_g(unsigned f) { return f >= 16 ? 8u : f / 2; }
cc_bucket_plan *cc_recip_quad_plan_new(unsigned f, unsigned lo, unsigned hi);
/* The model of the two product levels for one entry e of a row with sum s. */
uint64_t cc_recip_quad_fold(const uint64_t comb[CC_BK_NCOMB], unsigned f, uint64_t s, uint64_t e);

/* Precise norms' plan (mpc_norm.c): rsqrt of S = Σ v² + n·eps at 2f bits,
 * mantissa P at CC_NN_NORM_FP bits, C·sqrt(n) at CC_NN_NORM_CB bits so that
 * v·C >> CC_NN_NORM_VCS is at f + CC_NN_NORM_VCX bits. */
#define CC_NN_NORM_FP 24u
#define CC_NN_NORM_VCX 6u
#define CC_NN_NORM_VCS 24u
#define CC_NN_NORM_CB (CC_NN_NORM_VCS + CC_NN_NORM_VCX)
cc_bucket_plan *nn_norm_plan(const cc_approx_set *set, unsigned f, size_t cols);
/* Precise norms (issue 11, fifth pass): rsqrt(S/n) per 1/32-octave bucket
 * of S as a quadratic in t = u − U, u = S·N >> ns ∈ [1, 2) at
 * CC_NN_NQ_FU bits (N = 2^(61−i) for octave i), with the octave factor
 * folded into the coefficients Q_k = C_i·q_k (at cc_nn_nq_fq(f) bits, in
 * the A0..A2 slots; U in U, N in N).  The weight goes in first, at
 * f + gv bits, so that no product of four factors is needed:
 *   L1  u = S·N >> ns (rows)   ‖  vγ = v·γ >> (f − gv)
 *   L2  Y = Q2·t >> Fu (rows)  ‖  X = vγ·t >> Fu
 *   L3  y = (vγ·Q0 + X·Q1 + X·Y + half) >> (gv + fq)
 * Three product levels instead of four (u ‖ vC, cubic ‖ vC·γ, P, y); the
 * same three truncations per element.  1/sqrt(u) within 3.2e-7 relative
 * per bucket.  |y| < 2^(51 − f − gv − fq + f) = 2^10 keeps the last sum
 * below 2^61 (|γ| ≤ 16 at 4096 columns). */
#define CC_NN_NQ_LGM 5u
#define CC_NN_NQ_FU 20u
/* vγ's guard bits: 8, fewer at f ≥ 19 where fq = 51 − f − gv would
 * otherwise round the coefficients of high-variance rows too coarsely */
static inline unsigned cc_nn_nq_gv(unsigned f)
{
    unsigned g = f > 18 ? 26 - f : 8u;
    return g < f ? g : f - 1;
}
static inline unsigned cc_nn_nq_fq(unsigned f) { return 51 - f - cc_nn_nq_gv(f); }
cc_bucket_plan *nn_norm_quad_plan_new(unsigned f, size_t cols);
/* The model of the three levels for one element v (weight γ) of a row whose
 * combinations are comb and whose S is given. */
uint64_t nn_norm_quad1(const cc_bucket_plan *bp, unsigned f, const uint64_t comb[CC_BK_NCOMB],
                       uint64_t S, uint64_t v, uint64_t gamma);
/* puma norms: PUMA's quartic rsqrt guess P(u) (u at fu bits; u², u³, u⁴
 * and the sum truncated to fu bits as before), at CC_NN_NORM_FP bits. */
uint64_t nn_norm_puma_p(const cc_approx_set *set, unsigned fu, uint64_t u);

/* ---- norms -------------------------------------------------------------------- */
/* mean = floor(rowsum · c / 2^k) with c = round(2^k / n), k = lg n + 20 */
typedef struct cc_rowmean_plan {
    uint64_t mean_c; unsigned mean_k;     /* for a row sum at f bits */
    unsigned sq_shift;                    /* Σ squares (2f bits) >> (f + lg n) */
    uint64_t var_c; unsigned var_k;       /* then · round(2^(21+lg n)/n) >> 21 */
} cc_rowmean_plan;
void cc_rowmean_plan_make(size_t n, cc_rowmean_plan *rp);
/* LayerNorm/RMSNorm keep 1/std at f + 8 bits (|x - mean|/std ≤ sqrt(n) < 2^8
 * keeps (x - mean)·r below 2^62). */
#define CC_NN_NORM_EXTRA 8u
/* eps at f bits, at least one ulp so rsqrt never sees 0 */
uint64_t cc_nn_eps(double eps, unsigned f);

/* ---- softmax ------------------------------------------------------------------
 * Precise set, rows of ≤ 16 columns: exp(d), d = x − max ∈ [thr, 0], by
 * segments.  [thr, 0] is cut into nseg = ⌈−thr/2⌉ segments of width
 * w = −thr/nseg ≤ 2 (seven of width 2 for thr = −14); the maximum's
 * comparison batch also yields G_l = [d ≥ c_l], c_l = −(l+1)·w, so the
 * segment one-hot b_s (b_0 = G_0, b_s = G_s − G_(s−1)) costs no round.
 * On segment s with midpoint m_s, δ = d − m_s ∈ [−w/2, w/2] and
 *   exp(d) = e^(m_s) · q(δ),  q = Σ_k a_k δ^k  (degree 6, Chebyshev nodes
 *   on [−1, 1], |q − e^δ| ≤ 3.7e-6)
 * with K_k = Σ_s b_s · round(a_k e^(m_s) 2^fK) and δ = d − Σ_s b_s m_s
 * local.  Three product levels at F bits (all terms ≤ 1 in magnitude):
 *   L1  δ2 = δ², P_k = K_k·δ (k = 1..6)
 *   L2  δ3 = δ·δ2, A2 = P2·δ, A4 = P4·δ, A3 = P3·δ2, A5 = P5·δ2, A6 = P6·δ2
 *   L3  y = K_0 + P1 + A2 + A3 + A4·δ2 + A5·δ2 + A6·δ3  (one truncation to f)
 * then e = G_(nseg−1)·y (the threshold bit; below thr the δ powers are
 * garbage and the exact product with 0 removes them).  6 + 1 rounds after
 * the maximum instead of 10 + 1 for T4(d/8)^8 (before issue 11's fifth
 * pass), and q's error 3.7e-6·e^(m_s) ≤ 1.4e-6 instead of up to 1e-4. */
#define CC_NN_SMSEG_MAX 8
#define CC_NN_SMSEG_DEG 6
typedef struct cc_smexp_plan {
    unsigned nseg, f, F, fK;
    uint64_t c[CC_NN_SMSEG_MAX];                      /* c_l at f bits; c[nseg−1] = thr */
    uint64_t mid[CC_NN_SMSEG_MAX];                    /* m_s at f bits */
    uint64_t K[CC_NN_SMSEG_DEG + 1][CC_NN_SMSEG_MAX]; /* a_k e^(m_s) at fK bits */
} cc_smexp_plan;
/* thr ∈ [−2·CC_NN_SMSEG_MAX, 0), f ≥ 8; false (error set) otherwise. */
bool cc_smexp_plan_make(unsigned f, double thr, cc_smexp_plan *pl);
/* The segment bits' model: G_l(d) = [d ≥ c_l]. */
static inline bool cc_smexp_g(const cc_smexp_plan *pl, unsigned l, uint64_t d)
{
    return (int64_t)(d - pl->c[l]) >= 0;
}
/* The model of one entry (floors where the MPC truncates). */
uint64_t cc_nnref_smexp1(const cc_smexp_plan *pl, uint64_t d);
/* The model's starting value for a row maximum (below any logit). */
#define CC_NN_MASKED_LOGIT ((uint64_t)(-(int64_t)(1ull << 61)))

/* ---- row maximum on shares: the narrow domain ---------------------------------
 * The maximum's comparisons (mpc_max.c) run on the narrow MSB, exact only
 * for operands in [-2^32, 2^32).  Its operands are x_i - x_j and, for
 * softmax rows of one group, x_i - x_j - thr (thr = exp's threshold, -14).
 * So softmax and argmax inputs must satisfy
 *   |x| < 2^(31-f) - CC_NN_LOGIT_MARGIN      (real units; f = 18: 8184)
 * which keeps |x_i - x_j| below 2^32 - 2·MARGIN·2^f and leaves room for any
 * |thr| ≤ 2·MARGIN (nn_max_th_narrow; a larger threshold falls back to the
 * full MSB).  Masked entries and the padding of partial groups enter the
 * comparisons as the domain's lower edge cc_nn_logit_floor(f): never above
 * a real entry, and inside the same bounds.  Outside the domain the
 * maximum (and so softmax / argmax) is unspecified. */
#define CC_NN_LOGIT_MARGIN 8u
static inline uint64_t cc_nn_logit_floor(unsigned f)
{
    return (uint64_t)0 - ((1ull << 31) - ((uint64_t)CC_NN_LOGIT_MARGIN << f));
}
/* x_i - x_j - thr stays in [-2^32, 2^32) for inputs in the domain */
static inline bool nn_max_th_narrow(uint64_t thr, unsigned f)
{
    int64_t t = (int64_t)thr;
    uint64_t mag = t < 0 ? (uint64_t)0 - thr : thr;
    return mag <= ((uint64_t)2 * CC_NN_LOGIT_MARGIN << f);
}

/* ---- MPC helpers (mpc_util.c) ------------------------------------------------
 * Local linear algebra on replicated shares (both planes, no communication)
 * and the argument checks every cc_nn_* entry point performs. */
cc_status nn_check(const cc_proto *p, const cc_nn_cfg *cfg, const char *fn,
                   const cc_ashare *x, size_t n_in, const cc_ashare *out, size_t n_out,
                   const cc_approx_set **set);
/* rows × cols with an overflow check (CC_ERR_ARG naming fn). */
cc_status nn_shape(const char *fn, size_t rows, size_t cols, size_t *n);
/* Zeroed scratch tensors from a per-thread pool (freed with nn_*_free, never
 * with cc_ashare_free). */
cc_status nn_ash_alloc(cc_ashare *t, size_t n);
/* Same, not zeroed: for tensors the caller overwrites completely. */
cc_status nn_ash_alloc_raw(cc_ashare *t, size_t n);
void nn_ash_free(cc_ashare *t);
cc_status nn_bsh_alloc(cc_bshare *t, size_t n);
void nn_bsh_free(cc_bshare *t);
/* acc += c · v (c public, ring product) */
void nn_axpy(cc_ashare *acc, uint64_t c, const cc_ashare *v);
/* dst = src (same n) */
void nn_copy(cc_ashare *dst, const cc_ashare *src);
/* dst = src << bits */
void nn_shl(cc_ashare *dst, const cc_ashare *src, unsigned bits);
/* out[r*cols + c] = v[r] */
void nn_bcast_rows(size_t rows, size_t cols, const cc_ashare *v, cc_ashare *out);
/* out[r*cols + c] = v[c] */
void nn_tile_rows(size_t rows, size_t cols, const cc_ashare *v, cc_ashare *out);
/* The MSB variant of a comparison site (proto.h, cc_msb_kind): narrow when
 * every operand is known to lie in [-2^32, 2^32); the first level by what
 * the site has many of:
 *   NN_CMP_SINGLE  one threshold per element over many elements (exp's
 *                  threshold): bit pairs, the fewest bytes
 *   NN_CMP_FEW     a few thresholds per element (activation breakpoints,
 *                  shared round 1: fewer bytes than bit pairs) or few
 *                  comparisons per row over many rows (softmax's long
 *                  rows, argmax's first level): 4-bit digits, one round
 *                  fewer
 *   NN_CMP_ROW     per-row work on few rows: dozens of thresholds on one
 *                  value (the norms' and reciprocals' buckets, the
 *                  one-hot message shared by all of them), the pairs of
 *                  a softmax row settled in one group, argmax after its
 *                  first level: 8-bit digits, two rounds fewer
 *   NN_CMP_ROW_FEW  the buckets of at most NN_CMP_FEW_ROWS rows (LLaMA's
 *                  prefill and decode): 16-bit digits on the full range,
 *                  three rounds fewer than bit pairs for a 64 KB one-hot
 *                  message per row (the narrow range keeps 8-bit digits) */
typedef enum nn_cmp_site { NN_CMP_SINGLE, NN_CMP_FEW, NN_CMP_ROW, NN_CMP_ROW_FEW } nn_cmp_site;
cc_msb_kind nn_msb_kind(bool narrow, nn_cmp_site site);
#define NN_CMP_FEW_ROWS 8
/* The site of a per-row comparison batch over `rows` rows. */
static inline nn_cmp_site nn_row_site(size_t rows)
{
    return rows <= NN_CMP_FEW_ROWS ? NN_CMP_ROW_FEW : NN_CMP_ROW;
}
/* out[j] = Σ_i [x ≥ 2^i] · delta[i] for the L bits of x: (L·n) comparisons
 * in one batch (7 rounds) and one bit injection (1 round).  Computes both
 * the normalisation and the compensation factor (norm_out, comp_out: n).
 * [lo, hi): the bits that can be the highest one (public bounds on x);
 * narrow: the comparisons on 32 bits (x < 2^32 known; 5 rounds). */
cc_status nn_highbit_factors(cc_proto *p, const cc_norm_plan *np, const cc_ashare *x,
                             unsigned lo, unsigned hi, bool narrow, cc_ashare *norm_out,
                             cc_ashare *comp_out);
/* MPC cores shared between entry points (no scope, no checks). */
/* Group size of the next level of the row-max tournament (mpc_max.c): rows
 * of ≤ 16 are settled in one group, up to 4096 in groups of 8; longer rows
 * (the vocabulary in argmax) first halve with pairs (k = 2: one comparison
 * per pair, 8 rounds) until 4096 remain, which keeps the bytes near a binary
 * tournament's and still roughly halves its rounds (1×32000: 68 rounds
 * instead of 120). */
static inline size_t nn_max_next_k(size_t len) { return len <= 16 ? len : len <= 4096 ? 8 : 2; }
/* argmax runs on a few rows (the logits of the next token), so its bytes
 * hardly matter and it takes groups of 16 at every level: 1×32000 settles
 * in 4 levels (32000 → 2000 → 125 → 8 → 1), 43 rounds instead of 61, for
 * about 3 MB per party instead of 0.6. */
static inline size_t nn_argmax_next_k(size_t len) { return len <= 16 ? len : 16; }
/* The comparison variant of a level of the grouped maximum: argmax (one
 * row, the next token's) after its first level has few groups left, so
 * 8-bit digits (one round fewer); softmax's long rows (many rows) and
 * argmax's first level keep 4-bit digits.  Rows settled in one group
 * (nn_max_rows_th) use NN_CMP_ROW. */
static inline nn_cmp_site nn_max_level_site(bool argmax, bool first_level)
{
    return argmax && !first_level ? NN_CMP_ROW : NN_CMP_FEW;
}
/* AND-tree depth for k candidates: ⌈log2(k-1)⌉. */
static inline unsigned nn_max_and_levels(size_t k)
{
    unsigned lv = 0;
    while (((size_t)1 << lv) < k - 1) lv++;
    return lv;
}
/* Softmax's row sum s lies in [2^(f-1), 2^(f + ⌈log2 cols⌉ + 1)) (see
 * cc_nn_softmax): the bucket comparisons of 1/s may be narrow while that
 * upper bound is ≤ 2^31. */
static inline bool nn_softmax_sum_narrow(unsigned f, size_t cols)
{
    unsigned lg = 0;
    while (((size_t)1 << lg) < cols) lg++;
    return f + lg + 1 <= 31;
}
/* Exact row maximum in few rounds (mpc_max.c), for x in the narrow domain
 * above (f: fractional bits, for the padding value). */
cc_status nn_max_rows(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t cols,
                      cc_ashare *out);
/* Rows settled in one group (2 ≤ cols ≤ 16; mpc_max_th.c), only each
 * row's live entries taking part (live: rows×cols flags, NULL = all):
 * th_out[t·rows·cols + r·cols + c] = [x_rc − max_r ≥ thr_t] as an
 * arithmetic 0/1 (= AND over the row of [x_rc − x_rj ≥ thr_t]; 0 at masked
 * entries) for each of the 1..NN_MAX_TH thresholds, in the rounds of the
 * maximum; and out = the row maxima (rows), or with fold (rows·cols)
 * (x_rc − max_r)·th_last — the softmax exp's input with its threshold
 * applied.  Narrow MSB when nn_max_th_narrow holds for every thr_t, the
 * full one otherwise. */
#define NN_MAX_TH 12
cc_status nn_max_rows_th(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t cols,
                         const uint8_t *live, size_t nth, const uint64_t *thr, bool fold,
                         cc_ashare *out, cc_ashare *th_out);
/* Its packed AND tree: 64-bit words for nl live entries whose rows hold
 * row_pairs ordered pairs (Σ live², self-pairs included), and levels. */
size_t nn_max_th_words(size_t cols, size_t nl, size_t row_pairs, size_t nth, bool fold);
unsigned nn_max_th_levels(size_t cols, bool fold);
/* Same tournament carrying the winner's column index (first one on ties). */
cc_status nn_argmax_rows(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t cols,
                         cc_ashare *max_out, cc_ashare *index_out);
/* narrow: the threshold comparison on 32 bits, for x known to lie within
 * 2^32 of the threshold (softmax's x - max); site: its variant (the
 * standalone exp NN_CMP_SINGLE, softmax rows NN_CMP_FEW: one round fewer
 * on softmax's critical path for 4 B more per entry and party). */
cc_status nn_exp_core(cc_proto *p, const cc_exp_params *ep, unsigned f, const cc_ashare *x,
                      bool narrow, nn_cmp_site site, cc_ashare *out);
/* x must lie in [2^lo, 2^hi) (pass 0, 64 when nothing better is known);
 * narrow: the highest-bit comparisons on 32 bits (needs x < 2^31). */
cc_status nn_recip_core(cc_proto *p, const cc_approx_set *set, unsigned f, const cc_ashare *x,
                        unsigned lo, unsigned hi, bool narrow, cc_ashare *out);
cc_status nn_rsqrt_core(cc_proto *p, const cc_approx_set *set, unsigned f, const cc_ashare *x,
                        unsigned extra, cc_ashare *out);
/* Bucketed cubic on shares (mpc_bucket.c).  bits: the CC_BK_NCOMB
 * combinations of the plan for x (comb: CC_BK_NCOMB·n, combination k at
 * k·n), 7 rounds.  narrow: the caller knows 0 ≤ x < 2^31 from public bounds
 * and bp->hi ≤ 31, so every x - threshold lies in [-2^32, 2^32) and the
 * comparisons run on the narrow MSB (6 rounds); false for the full MSB. */
cc_status nn_bucket_bits(cc_proto *p, const cc_bucket_plan *bp, const cc_ashare *x, bool narrow,
                         cc_ashare *comb);
/* Local terms of the second level (t1, w2, t3: 3n) into z (overwritten). */
void nn_bucket_l2_terms(const cc_proto *p, const cc_ashare *comb, const cc_ashare *w, uint64_t *z);
/* Third level: t (3n, the truncated second level) → out (n), 2 rounds. */
cc_status nn_bucket_l3(cc_proto *p, const cc_ashare *comb, const cc_ashare *t, cc_ashare *out);
/* The whole evaluation for a standalone x (13 rounds; narrow as in
 * nn_bucket_bits). */
cc_status nn_bucket_eval(cc_proto *p, const cc_bucket_plan *bp, const cc_ashare *x, bool narrow,
                         cc_ashare *out);
/* Clamp [lo, hi) to the reciprocal's domain window (mpc_norm.c). */
void nn_recip_window(unsigned f, unsigned *lo, unsigned *hi);

#endif
