/* nn — the nonlinear functions of PUMA (arXiv 2307.12533 §4) and LLaMA on
 * replicated shares, and their plaintext fixed-point models.
 *
 * Every function exists twice:
 *   cc_nnref_*  a plaintext model over Z_2^64 fixed point: the same ring
 *               arithmetic, the same truncation points and the same constants
 *               as the MPC version, with deterministic truncation (floor).
 *               Tests predict MPC outputs with it.
 *   cc_nn_*     the MPC version on the proto API (src/proto/proto.h); every
 *               protocol truncation may be one ulp below floor, so outputs
 *               agree with the model within a documented number of ulps.
 *
 * Two approximation sets (docs/APPROXIMATIONS.md has methods, constants,
 * measured errors and costs):
 *   CC_APPROX_PUMA     PUMA's constants and iteration counts exactly.
 *   CC_APPROX_PRECISE  our fits: GeLU max error 7.8e-4 on [-16, 16]
 *                      (continuous at the breakpoints), SiLU 1.1e-4 (three
 *                      pieces in |x|, 1.37x PUMA's bytes), exp with a
 *                      second-order start (degree 4 inside softmax rows of
 *                      ≤ 16 columns), reciprocal and rsqrt as a cubic per
 *                      mantissa bucket (8 per octave; 13 rounds).
 *
 * Values are fixed point with f fractional bits (cfg->f, 8..20: above 20 the
 * rsqrt window 2^(L-f) shrinks below 2^12; below 16 PUMA's small GeLU/SiLU
 * coefficients lose their precision, e.g. SiLU error 0.15 at f = 12); index
 * outputs (argmax) are plain integers.  Domains (outside them the output is
 * unspecified but the call still succeeds and costs the same — the parties
 * cannot see the values):
 *   gelu, silu   |x| < 2^(32-f) - 8 (f = 18: 16376): the breakpoint
 *                comparisons run on 32 bits (issue 11; before: 2^(62-2f) puma,
 *                2^(54-2f) precise GeLU, where the identity piece's 2f resp.
 *                2f+8 bits bind)
 *   exp          x ≤ 0 (entries below -14 give exactly 0)
 *   reciprocal   0 < x < 2^(61-2f)     (f = 18: 2^25)
 *   rsqrt        0 < x < 2^(L-f), L = min(60, f + 2K), K = 60-2f-(f-1)/2
 *   softmax      rows of logits with |x| < 2^(31-f) - 8 (f = 18: 8184; the
 *                row maximum compares on 32 bits, nn_impl.h); masked
 *                entries give 0
 *   argmax       the same |x| < 2^(31-f) - 8
 *   layernorm    |mean| < 2^(42-f-⌈log2 n⌉), variance < 2^(40-f),
 *                Σ (x-mean)^2 < 2^(62-2f), |(x-mean)·rstd·gamma| < 2^10
 *                (precise; puma 2^(32-f))
 *   rmsnorm      mean square < 2^(40-f), Σ x^2 < 2^(62-2f),
 *                |x·rstd·weight| < 2^10 (precise; puma 2^(32-f), f = 18:
 *                2^14) */
#ifndef CARACAL_NN_H
#define CARACAL_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"
#include "proto.h"

typedef enum cc_approx { CC_APPROX_PUMA = 0, CC_APPROX_PRECISE = 1 } cc_approx;

const char *cc_approx_name(cc_approx a);                    /* "puma", "precise" */
cc_status cc_approx_parse(const char *name, cc_approx *out); /* CC_ERR_ARG names it */

typedef struct cc_nn_cfg {
    unsigned f;        /* fractional bits, must equal the proto context's f */
    cc_approx approx;
} cc_nn_cfg;

/* ---- plaintext fixed-point models ------------------------------------------
 * n elements (or rows × cols, row-major); out may alias x.  CC_ERR_ARG for an
 * unsupported f or set; CC_ERR_NOMEM if scratch allocation fails. */
cc_status cc_nnref_gelu(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out);
cc_status cc_nnref_silu(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out);
cc_status cc_nnref_exp(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out);
cc_status cc_nnref_reciprocal(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out);
cc_status cc_nnref_rsqrt(const cc_nn_cfg *cfg, size_t n, const uint64_t *x, uint64_t *out);
/* Row-wise softmax.  mask (public, may be NULL = attend everywhere) has
 * mask_rows × cols bytes, nonzero = attend; row r uses mask row
 * r % mask_rows (so the heads of an attention layer share one mask).  Masked
 * entries are exactly 0; a row with no unmasked entry is all 0. */
cc_status cc_nnref_softmax(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                           const uint8_t *mask, size_t mask_rows, uint64_t *out);
/* LayerNorm over each row: (x - mean) · rsqrt(var + eps) · gamma + beta
 * (gamma, beta: cols fixed-point values). */
cc_status cc_nnref_layernorm(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                             const uint64_t *gamma, const uint64_t *beta, double eps,
                             uint64_t *out);
/* RMSNorm (LLaMA): x · rsqrt(mean(x^2) + eps) · weight. */
cc_status cc_nnref_rmsnorm(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                           const uint64_t *weight, double eps, uint64_t *out);
/* Index of the first maximal entry of each row (rows outputs). */
cc_status cc_nnref_argmax(const cc_nn_cfg *cfg, size_t rows, size_t cols, const uint64_t *x,
                          uint64_t *index_out);

/* ---- MPC versions (all three parties call them with the same shapes) -------
 * Inputs and outputs are arithmetic shares; out is caller-allocated with the
 * input's element count and must not alias the input.  Every call books its
 * traffic under one proto scope named after the function ("gelu", ...). */
cc_status cc_nn_gelu(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
cc_status cc_nn_silu(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
cc_status cc_nn_exp(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
cc_status cc_nn_reciprocal(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
cc_status cc_nn_rsqrt(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
/* softmax: mask as in cc_nnref_softmax.  Domain |x| < 2^(31-f) - 8 for every
 * unmasked entry (8184 at f = 18; masked ones may hold anything): the row
 * maximum compares on 32 bits (narrow MSB); outside it the output is
 * unspecified. */
cc_status cc_nn_softmax(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                        const cc_ashare *x, const uint8_t *mask, size_t mask_rows,
                        cc_ashare *out);
cc_status cc_nn_layernorm(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                          const cc_ashare *x, const cc_ashare *gamma, const cc_ashare *beta,
                          double eps, cc_ashare *out);
cc_status cc_nn_rmsnorm(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                        const cc_ashare *x, const cc_ashare *weight, double eps,
                        cc_ashare *out);
/* tanh (BERT's pooler): tanh(x) = sign(x)·(1 - u)/(1 + u), u = exp(-|x|)²,
 * exp on the non-positive input -|x| (the domain of cc_nn_exp), one
 * squaring, one reciprocal of 1 + u ∈ [1, 2], sign restored by a select.
 * Measured max |error| against libm on [-8, 8] (tests/secure): 0.0069 with
 * the puma set, 0.00013 with precise.  out must not alias x. */
cc_status cc_nn_tanh(cc_proto *p, const cc_nn_cfg *cfg, const cc_ashare *x, cc_ashare *out);
/* index_out: rows shares of the integer column index.  Logits in the
 * softmax domain |x| < 2^(31-f) - 8 (the comparisons are narrow). */
cc_status cc_nn_argmax(cc_proto *p, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                       const cc_ashare *x, cc_ashare *index_out);

/* Declared cost of one call for `party` (0..2), from the proto ops the
 * function calls: bytes sent exactly; rounds as the sum of the ops' rounds
 * (the network layer may merge adjacent ones, so it measures up to a few
 * fewer).  Elementwise functions: rows = 1, cols = n.  softmax: mask as in
 * cc_nn_softmax (masked entries cost nothing).  trunc_phase: the context's
 * cc_proto_trunc_phase when the call starts (a truncation's bytes depend on
 * whether the party is its helper).  {0, 0} for bad arguments. */
typedef enum cc_nn_fn {
    CC_NN_GELU, CC_NN_SILU, CC_NN_EXP, CC_NN_RECIPROCAL, CC_NN_RSQRT, CC_NN_SOFTMAX,
    CC_NN_LAYERNORM, CC_NN_RMSNORM, CC_NN_ARGMAX
} cc_nn_fn;
cc_proto_cost cc_nn_cost(cc_nn_fn fn, const cc_nn_cfg *cfg, size_t rows, size_t cols,
                         const uint8_t *mask, size_t mask_rows, int party,
                         unsigned trunc_phase);

/* The MPC functions keep their temporaries in a per-thread pool between
 * calls (no page faults on the next call); this returns the pool's memory. */
void cc_nn_scratch_release(void);

/* Fill a causal mask (rows × cols, row r attends to columns ≤ r + offset;
 * offset = cols - rows when the rows are the last queries of a KV cache). */
void cc_nn_causal_mask(size_t rows, size_t cols, size_t offset, uint8_t *mask);

#endif
