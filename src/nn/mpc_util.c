/* Local helpers for the MPC nonlinear functions: argument checks, linear
 * combinations of shares, broadcasts, and the highest-set-bit factors. */
#include <string.h>
#include "nn_impl.h"

cc_status nn_check(const cc_proto *p, const cc_nn_cfg *cfg, const char *fn,
                   const cc_ashare *x, size_t n_in, const cc_ashare *out, size_t n_out,
                   const cc_approx_set **set)
{
    if (!p || !x || !out) return cc_error_set(CC_ERR_ARG, "nn %s: NULL argument", fn);
    *set = cc_nn_set(cfg);
    if (!*set) return cc_error_wrap(CC_ERR_ARG, "nn %s", fn);
    if (cfg->f != p->f)
        return cc_error_set(CC_ERR_MISMATCH, "nn %s: cfg f = %u but the proto context uses f = %u",
                            fn, cfg->f, p->f);
    if (x->n != n_in)
        return cc_error_set(CC_ERR_ARG, "nn %s: input has %zu elements, expected %zu", fn, x->n, n_in);
    if (out->n != n_out)
        return cc_error_set(CC_ERR_ARG, "nn %s: output has %zu elements, expected %zu", fn,
                            out->n, n_out);
    if (n_out && out->s[0] == x->s[0])
        return cc_error_set(CC_ERR_ARG, "nn %s: output must not alias the input", fn);
    return CC_OK;
}

void nn_axpy(cc_ashare *acc, uint64_t c, const cc_ashare *v)
{
    for (int k = 0; k < 2; k++) {
        uint64_t *a = acc->s[k];
        const uint64_t *b = v->s[k];
        for (size_t j = 0; j < acc->n; j++) a[j] += c * b[j];
    }
}

void nn_copy(cc_ashare *dst, const cc_ashare *src)
{
    for (int k = 0; k < 2; k++) memmove(dst->s[k], src->s[k], src->n * sizeof(uint64_t));
}

void nn_shl(cc_ashare *dst, const cc_ashare *src, unsigned bits)
{
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < src->n; j++) dst->s[k][j] = src->s[k][j] << bits;
}

void nn_bcast_rows(size_t rows, size_t cols, const cc_ashare *v, cc_ashare *out)
{
    for (int k = 0; k < 2; k++)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) out->s[k][r * cols + c] = v->s[k][r];
}

void nn_tile_rows(size_t rows, size_t cols, const cc_ashare *v, cc_ashare *out)
{
    for (int k = 0; k < 2; k++)
        for (size_t r = 0; r < rows; r++)
            memcpy(out->s[k] + r * cols, v->s[k], cols * sizeof(uint64_t));
}

/* g_i = [x ≥ 2^i] = NOT [x < 2^i] for all i < L in one lt_public_vec call;
 * after bit injection both factors are public linear combinations of the
 * g_i (see cc_norm_plan).  Rounds: 7 (msb) + 1 (b2a_bit). */
cc_status nn_highbit_factors(cc_proto *p, const cc_norm_plan *np, const cc_ashare *x,
                             cc_ashare *norm_out, cc_ashare *comp_out)
{
    size_t n = x->n, L = np->L, m = L * n;
    cc_ashare rep = { 0 }, g = { 0 };
    cc_bshare below = { 0 };
    uint64_t *pow2 = NULL;
    cc_status s = cc_ashare_alloc(&rep, m);
    if (s == CC_OK) s = cc_ashare_alloc(&g, m);
    if (s == CC_OK) s = cc_bshare_alloc(&below, m);
    if (s == CC_OK && !(pow2 = cc_alloc(m * sizeof *pow2))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    for (size_t i = 0; i < L; i++) {
        cc_ashare blk = cc_ashare_slice(&rep, i * n, n);
        nn_copy(&blk, x);
        for (size_t j = 0; j < n; j++) pow2[i * n + j] = 1ull << i;
    }
    s = cc_proto_lt_public_vec(p, &rep, pow2, &below);
    if (s == CC_OK) s = cc_proto_xor_public(p, &below, 1, &below);
    if (s == CC_OK) s = cc_proto_b2a_bit(p, &below, &g);
    if (s != CC_OK) goto done;
    memset(norm_out->s[0], 0, n * 8); memset(norm_out->s[1], 0, n * 8);
    memset(comp_out->s[0], 0, n * 8); memset(comp_out->s[1], 0, n * 8);
    for (size_t i = 0; i < L; i++) {
        cc_ashare gi = cc_ashare_slice(&g, i * n, n);
        nn_axpy(norm_out, np->norm_delta[i], &gi);
        nn_axpy(comp_out, np->comp_delta[i], &gi);
    }
done:
    cc_ashare_free(&rep);
    cc_ashare_free(&g);
    cc_bshare_free(&below);
    cc_free(pow2);
    return s;
}
