/* Local helpers for the MPC nonlinear functions: argument checks, linear
 * combinations of shares, broadcasts, and the highest-set-bit factors. */
#include <string.h>
#include "nn_impl.h"

cc_status nn_shape(const char *fn, size_t rows, size_t cols, size_t *n)
{
    if (!cc_mul_size(rows, cols, n))
        return cc_error_set(CC_ERR_ARG, "nn %s: %zu x %zu elements overflow", fn, rows, cols);
    return CC_OK;
}

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

cc_msb_kind nn_msb_kind(bool narrow, nn_cmp_site site)
{
    static const cc_msb_kind kinds[2][4] = {
        { CC_MSB_FULL, CC_MSB_DIGITS, CC_MSB_DIGITS8, CC_MSB_DIGITS16 },                   /* full */
        { CC_MSB_NARROW, CC_MSB_NARROW_DIGITS, CC_MSB_NARROW_DIGITS8, CC_MSB_NARROW_DIGITS8 }, /* narrow */
    };
    return kinds[narrow][site];
}

/* g_i = [x ≥ 2^i] = NOT [x < 2^i] for all i < L in one lt_public_multi call;
 * after bit injection both factors are public linear combinations of the
 * g_i (see cc_norm_plan).  Rounds: 4 (8-bit digits; narrow 3) + 1 (b2a_bit).  When the caller
 * knows 2^lo ≤ x < 2^hi (softmax row sums), the bits below lo are public
 * ones and those from hi up public zeros: only hi - lo comparisons. */
cc_status nn_highbit_factors(cc_proto *p, const cc_norm_plan *np, const cc_ashare *x,
                             unsigned lo, unsigned hi, bool narrow, cc_ashare *norm_out,
                             cc_ashare *comp_out)
{
    if (hi > np->L) hi = np->L;
    if (lo > hi) lo = hi;
    size_t n = x->n, W = hi - lo, m = W * n;
    cc_ashare g = { 0 };
    cc_bshare below = { 0 };
    uint64_t pow2[64];
    cc_status s = nn_ash_alloc(&g, m);
    if (s == CC_OK) s = nn_bsh_alloc(&below, m);
    if (s != CC_OK) goto done;
    for (size_t i = 0; i < W; i++) pow2[i] = 1ull << (lo + i);
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, nn_row_site(n)), x, W, pow2, &below);
    if (s == CC_OK) s = cc_proto_xor_public(p, &below, 1, &below);
    if (s == CC_OK) s = cc_proto_b2a_bit(p, &below, &g);
    if (s != CC_OK) goto done;
    memset(norm_out->s[0], 0, n * 8); memset(norm_out->s[1], 0, n * 8);
    memset(comp_out->s[0], 0, n * 8); memset(comp_out->s[1], 0, n * 8);
    uint64_t norm_pub = 0, comp_pub = 0;
    for (unsigned i = 0; i < lo; i++) { norm_pub += np->norm_delta[i]; comp_pub += np->comp_delta[i]; }
    s = cc_proto_add_public(p, norm_out, norm_pub, norm_out);
    if (s == CC_OK) s = cc_proto_add_public(p, comp_out, comp_pub, comp_out);
    for (size_t i = 0; s == CC_OK && i < W; i++) {
        cc_ashare gi = cc_ashare_slice(&g, i * n, n);
        nn_axpy(norm_out, np->norm_delta[lo + i], &gi);
        nn_axpy(comp_out, np->comp_delta[lo + i], &gi);
    }
done:
    nn_ash_free(&g);
    nn_bsh_free(&below);
    return s;
}

/* ---- scratch tensors ------------------------------------------------------------
 * The functions above need several temporaries of a few times the input
 * size per call.  Fresh allocations of that size come from mmap and cost a
 * page fault (and a page clear) per 4 KiB on every call — a third of the
 * GeLU time in perf.  A small per-thread pool keeps released blocks for the
 * next call; cc_nn_scratch_release() returns them to the system. */
#define NN_POOL_SLOTS 24
typedef struct nn_block { uint64_t *p; size_t words; } nn_block;
static _Thread_local nn_block nn_pool[NN_POOL_SLOTS];

static uint64_t *pool_get(size_t words)
{
    int best = -1;
    for (int i = 0; i < NN_POOL_SLOTS; i++)
        if (nn_pool[i].p && nn_pool[i].words >= words &&
            (best < 0 || nn_pool[i].words < nn_pool[best].words))
            best = i;
    if (best >= 0) {
        uint64_t *p = nn_pool[best].p;
        nn_pool[best].p = NULL;
        return p;
    }
    return cc_alloc(words * sizeof(uint64_t));
}

static void pool_put(uint64_t *p, size_t words)
{
    if (!p) return;
    int slot = -1;
    for (int i = 0; i < NN_POOL_SLOTS && slot < 0; i++)
        if (!nn_pool[i].p) slot = i;
    if (slot < 0) {   /* full: evict the smallest block if this one is larger */
        slot = 0;
        for (int i = 1; i < NN_POOL_SLOTS; i++)
            if (nn_pool[i].words < nn_pool[slot].words) slot = i;
        if (nn_pool[slot].words >= words) { cc_free(p); return; }
        cc_free(nn_pool[slot].p);
    }
    nn_pool[slot].p = p;
    nn_pool[slot].words = words;
}

void cc_nn_scratch_release(void)
{
    for (int i = 0; i < NN_POOL_SLOTS; i++) {
        cc_free(nn_pool[i].p);
        nn_pool[i].p = NULL;
        nn_pool[i].words = 0;
    }
}

/* Both planes in one block, zeroed (like cc_ashare_alloc) unless the caller
 * overwrites every element anyway. */
static cc_status ash_alloc(cc_ashare *t, size_t n, bool zero)
{
    memset(t, 0, sizeof *t);
    size_t words = 2 * n + 8;   /* + 8: 64-byte alignment of the second plane */
    uint64_t *p = pool_get(words);
    if (!p) return cc_error_set(CC_ERR_NOMEM, "nn: cannot allocate a %zu-element share tensor", n);
    size_t off = (n + 7) & ~(size_t)7;
    if (zero) memset(p, 0, (off + n) * sizeof *p);
    t->s[0] = p;
    t->s[1] = p + off;
    t->n = n;
    t->rows = 1;
    t->cols = n;
    return CC_OK;
}

cc_status nn_ash_alloc(cc_ashare *t, size_t n) { return ash_alloc(t, n, true); }
cc_status nn_ash_alloc_raw(cc_ashare *t, size_t n) { return ash_alloc(t, n, false); }

void nn_ash_free(cc_ashare *t)
{
    if (t->s[0]) pool_put(t->s[0], 2 * t->n + 8);
    memset(t, 0, sizeof *t);
}

cc_status nn_bsh_alloc(cc_bshare *t, size_t n)
{
    cc_ashare a;
    CC_TRY(ash_alloc(&a, n, true));
    memcpy(t, &a, sizeof *t);
    return CC_OK;
}

void nn_bsh_free(cc_bshare *t)
{
    if (t->s[0]) pool_put(t->s[0], 2 * t->n + 8);
    memset(t, 0, sizeof *t);
}
