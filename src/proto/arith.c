/* Arithmetic ops on replicated shares: local linear ops, multiplication,
 * matrix products (docs/PROTOCOLS.md; ABY3 §3.1). */
#include "proto_impl.h"

/* ---- local ops: 0 rounds, 0 bytes ------------------------------------------------ */

#define CHECK2(op, a, b, out)                                                 \
    do {                                                                      \
        CC_TRY(pr_check_n(op, "second operand", (b)->n, (a)->n));             \
        CC_TRY(pr_check_n(op, "output", (out)->n, (a)->n));                   \
    } while (0)

cc_status cc_proto_add(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out)
{
    (void)ctx;
    CHECK2("add", a, b, out);
    for (int k = 0; k < 2; k++) cc_ring_add(a->n, a->s[k], b->s[k], out->s[k]);
    return CC_OK;
}

cc_status cc_proto_sub(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out)
{
    (void)ctx;
    CHECK2("sub", a, b, out);
    for (int k = 0; k < 2; k++) cc_ring_sub(a->n, a->s[k], b->s[k], out->s[k]);
    return CC_OK;
}

cc_status cc_proto_neg(cc_proto *ctx, const cc_ashare *a, cc_ashare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("neg", "output", out->n, a->n));
    for (int k = 0; k < 2; k++) cc_ring_neg(a->n, a->s[k], out->s[k]);
    return CC_OK;
}

static void copy_planes(const cc_ashare *a, cc_ashare *out)
{
    for (int k = 0; k < 2; k++)
        if (out->s[k] != a->s[k]) memmove(out->s[k], a->s[k], 8 * a->n);
}

cc_status cc_proto_add_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out)
{
    CC_TRY(pr_check_n("add_public", "output", out->n, a->n));
    copy_planes(a, out);
    pr_add_public_plane(ctx, a->n, c, NULL, out->s[0], out->s[1]);
    return CC_OK;
}

cc_status cc_proto_add_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                  cc_ashare *out)
{
    CC_TRY(pr_check_n("add_public_vec", "output", out->n, a->n));
    copy_planes(a, out);
    pr_add_public_plane(ctx, a->n, 0, c, out->s[0], out->s[1]);
    return CC_OK;
}

cc_status cc_proto_mul_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_ashare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("mul_public", "output", out->n, a->n));
    for (int k = 0; k < 2; k++) cc_ring_mul_scalar(a->n, a->s[k], c, out->s[k]);
    return CC_OK;
}

cc_status cc_proto_mul_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                  cc_ashare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("mul_public_vec", "output", out->n, a->n));
    for (int k = 0; k < 2; k++) cc_ring_mul(a->n, a->s[k], c, out->s[k]);
    return CC_OK;
}

cc_status cc_proto_shl(cc_proto *ctx, const cc_ashare *a, unsigned bits, cc_ashare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("shl", "output", out->n, a->n));
    if (bits > 63) return cc_error_set(CC_ERR_ARG, "shl: shift %u is not 0..63", bits);
    for (int k = 0; k < 2; k++) cc_ring_shl(a->n, a->s[k], bits, out->s[k]);
    return CC_OK;
}

cc_status cc_proto_sum_rows(cc_proto *ctx, const cc_ashare *a, size_t rows, size_t cols,
                            cc_ashare *out)
{
    (void)ctx;
    size_t n;
    if (!cc_mul_size(rows, cols, &n)) return cc_error_set(CC_ERR_ARG, "sum_rows: shape overflows");
    CC_TRY(pr_check_n("sum_rows", "input", a->n, n));
    CC_TRY(pr_check_n("sum_rows", "output", out->n, rows));
    for (int k = 0; k < 2; k++) cc_ring_row_sum(rows, cols, a->s[k], cols, out->s[k]);
    return CC_OK;
}

/* ---- reshare -----------------------------------------------------------------------
 * 3-out-of-3 z → replicated: z_i + a_i (PRSS zero share) to prev, receive
 * z_{i+1} + a_{i+1} from next.  1 round, 8 bytes/elem. */
cc_status pr_reshare(cc_proto *ctx, const uint64_t *z, cc_ashare *out)
{
    size_t n = out->n;
    if (n == 0) return CC_OK;
    uint64_t *mine = out->s[0];
    cc_prss_zero(&ctx->prss, n, mine == z ? out->s[1] : mine);
    if (mine == z) {
        cc_ring_add(n, z, out->s[1], mine);
    } else {
        cc_ring_add(n, z, mine, mine);
    }
    return cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, out->s[1], 8 * n);
}

cc_status pr_reshare_xor(cc_proto *ctx, const uint64_t *z, size_t n, uint64_t *o0, uint64_t *o1)
{
    if (n == 0) return CC_OK;
    cc_prss_zero_xor(&ctx->prss, n, o1);
    cc_ring_xor(n, z, o1, o0);
    return cc_net_exchange(ctx->net, CC_PREV, o0, CC_NEXT, o1, 8 * n);
}

/* ---- multiplication (ABY3 §3.1; docs/PROTOCOLS.md) ------------------------------------------
 * z_i = x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i = x_i·(y_i + y_{i+1}) + x_{i+1}·y_i.
 * 1 round, 8 bytes/elem. */
void pr_mul_local(size_t n, const cc_ashare *a, const cc_ashare *b, uint64_t *z)
{
    const uint64_t *a0 = a->s[0], *a1 = a->s[1], *b0 = b->s[0], *b1 = b->s[1];
    PR_OMP_FOR(n)
    for (size_t j = 0; j < n; j++) z[j] = a0[j] * (b0[j] + b1[j]) + a1[j] * b0[j];
}

cc_status cc_proto_mul(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_ashare *out)
{
    CHECK2("mul", a, b, out);
    pr_enter(ctx, "mul");
    pr_book_op(ctx, CC_OP_MUL, a->n, 0, 0);
    uint64_t *z = pr_alloc(a->n);
    cc_status s = z ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        pr_mul_local(a->n, a, b, z);
        s = pr_reshare(ctx, z, out);
    }
    pr_free(z);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto mul");
}

cc_status cc_proto_square(cc_proto *ctx, const cc_ashare *a, cc_ashare *out)
{
    return cc_proto_mul(ctx, a, a, out);
}

/* ---- matmul (Appendix A) ---------------------------------------------------------------
 * Per head: Z_i = A_i·(B_i + B_{i+1}) + A_{i+1}·B_i, two local ring GEMMs,
 * then one reshare of batch·M·N elements: 1 round, 8 bytes per output. */
static cc_status check_matmul(const char *op, size_t batch, size_t M, size_t N, size_t K,
                              const cc_ashare *a, const cc_ashare *b, const cc_ashare *out)
{
    size_t na, nb, nc;
    if (!cc_mul_size(batch, M * K, &na) || !cc_mul_size(batch, K * N, &nb) ||
        !cc_mul_size(batch, M * N, &nc))
        return cc_error_set(CC_ERR_ARG, "%s: shape overflows", op);
    CC_TRY(pr_check_n(op, "left operand", a->n, na));
    CC_TRY(pr_check_n(op, "right operand", b->n, nb));
    CC_TRY(pr_check_n(op, "output", out->n, nc));
    if (out->s[0] == a->s[0] || out->s[0] == b->s[0])
        return cc_error_set(CC_ERR_ARG, "%s: output aliases an operand", op);
    return CC_OK;
}

/* z (batch·M·N) = the 3-out-of-3 product terms. */
cc_status pr_matmul_local(size_t batch, size_t M, size_t N, size_t K, cc_trans ta,
                          const cc_ashare *a, cc_trans tb, const cc_ashare *b, uint64_t *z)
{
    uint64_t *bsum = pr_alloc(K * N);
    if (!bsum) return CC_ERR_NOMEM;
    size_t lda = ta == CC_NOTRANS ? K : M, ldb = tb == CC_NOTRANS ? N : K;
    for (size_t h = 0; h < batch; h++) {
        const uint64_t *A0 = a->s[0] + h * M * K, *A1 = a->s[1] + h * M * K;
        const uint64_t *B0 = b->s[0] + h * K * N, *B1 = b->s[1] + h * K * N;
        uint64_t *Z = z + h * M * N;
        cc_ring_add(K * N, B0, B1, bsum);
        cc_ring_gemm(ta, tb, M, N, K, A0, lda, bsum, ldb, Z, N, false);
        cc_ring_gemm(ta, tb, M, N, K, A1, lda, B0, ldb, Z, N, true);
    }
    pr_free(bsum);
    return CC_OK;
}

cc_status cc_proto_matmul(cc_proto *ctx, size_t batch, size_t M, size_t N, size_t K,
                          cc_trans ta, const cc_ashare *a, cc_trans tb, const cc_ashare *b,
                          cc_ashare *out)
{
    CC_TRY(check_matmul("matmul", batch, M, N, K, a, b, out));
    pr_enter(ctx, "matmul");
    pr_book_op(ctx, CC_OP_MATMUL, out->n, 0, 0);
    cc_status s = CC_OK;
    if (out->n) {
        s = pr_matmul_local(batch, M, N, K, ta, a, tb, b, out->s[0]);
        if (s == CC_OK) s = pr_reshare(ctx, out->s[0], out);
    }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto matmul");
}

/* ---- share × prepared weight ---------------------------------------------------------- */
cc_status cc_proto_weight_from_share(cc_proto_weight *w, const cc_ashare *W, size_t K,
                                     size_t N, cc_trans tb)
{
    memset(w, 0, sizeof *w);
    size_t kn;
    if (!cc_mul_size(K, N, &kn)) return cc_error_set(CC_ERR_ARG, "weight: shape overflows");
    CC_TRY(pr_check_n("weight", "share", W->n, kn));
    size_t bytes = cc_ring_packed_size(K, N);
    uint64_t *sum = cc_alloc(bytes ? bytes : 8), *self = cc_alloc(bytes ? bytes : 8);
    uint64_t *tmp = pr_alloc(kn);
    if (!sum || !self || !tmp) {
        cc_free(sum); cc_free(self); pr_free(tmp);
        return cc_error_wrap(CC_ERR_NOMEM, "weight %zu x %zu", K, N);
    }
    size_t ldb = tb == CC_NOTRANS ? N : K;
    cc_ring_add(kn, W->s[0], W->s[1], tmp);
    cc_ring_pack_b(tb, K, N, tmp, ldb, sum);
    cc_ring_pack_b(tb, K, N, W->s[0], ldb, self);
    pr_free(tmp);
    w->K = K;
    w->N = N;
    w->packed_sum = sum;
    w->packed_self = self;
    w->owned = true;
    return CC_OK;
}

void cc_proto_weight_free(cc_proto_weight *w)
{
    if (w->owned) {
        cc_free((void *)w->packed_sum);
        cc_free((void *)w->packed_self);
    }
    memset(w, 0, sizeof *w);
}

/* ---- share × weight, local part ------------------------------------------
 * z (M×N) = X_i·pack(W_i + W_{i+1}) + X_{i+1}·pack(W_i), or with the planes
 * as stored (or generated), (X_i + X_{i+1})·pack(W_i) + X_i·pack(W_{i+1}). */

enum { XP_SELF = 0, XP_NEXT = 1, XP_SUM = 2 };

cc_status cc_proto_xpack_init(cc_proto_xpack *xp, size_t M, size_t K, const cc_ashare *x)
{
    CC_TRY(pr_check_n("matmul_weight", "input", x->n, M * K));
    cc_proto_xpack_free(xp);
    xp->M = M;
    xp->K = K;
    xp->x = *x;
    return CC_OK;
}

void cc_proto_xpack_free(cc_proto_xpack *xp)
{
    for (int i = 0; i < 3; i++) cc_ring_apack_free(&xp->op[i]);
    memset(xp, 0, sizeof *xp);
}

/* Operand `which` of xp, packed on first use. */
static cc_status xp_operand(cc_proto_xpack *xp, int which, const cc_ring_apack **out)
{
    if (!xp->have[which]) {
        const uint64_t *a = xp->x.s[which == XP_NEXT];
        uint64_t *sum = NULL;
        if (which == XP_SUM) {
            sum = pr_alloc(xp->M * xp->K);
            if (!sum) return CC_ERR_NOMEM;
            cc_ring_add(xp->M * xp->K, xp->x.s[0], xp->x.s[1], sum);
            a = sum;
        }
        cc_status s = cc_ring_apack_make(&xp->op[which], CC_NOTRANS, xp->M, xp->K, a, xp->K);
        pr_free(sum);
        CC_TRY(s);
        xp->have[which] = true;
    }
    *out = &xp->op[which];
    return CC_OK;
}

/* fill callback of cc_ring_gemm_apacked_gen: a range of a stream (one depth
 * slice of a panel, far below cc_prg_u64's threading threshold) */
typedef struct gen_plane { const cc_prg *prg; uint64_t first; } gen_plane;
static void gen_plane_fill(void *ctx, uint64_t first, size_t n, uint64_t *out)
{
    const gen_plane *g = ctx;
    cc_prg_u64(g->prg, g->first + first, n, out);
}

/* One plane's product, accumulated or not: from its stream when it is
 * generated, else from its packed words. */
static void gemm_plane(const cc_ring_apack *a, size_t N, const cc_prg *gen, uint64_t first,
                       const uint64_t *packed, uint64_t *z, size_t ldz, bool accumulate)
{
    if (gen) {
        gen_plane g = { gen, first };
        cc_ring_gemm_apacked_gen(a, N, gen_plane_fill, &g, z, ldz, accumulate);
    } else {
        cc_ring_gemm_apacked(a, N, packed, z, ldz, accumulate);
    }
}

static bool any_generated(const cc_proto_weight *w) { return w->gen_self || w->gen_next; }

/* Stored planes with M at or above the tile height go through the blocked
 * GEMM (cc_ring_small_m); a generated plane always through the packed-A
 * nest. */
cc_status cc_proto_matmul_weight_term_x(cc_proto *ctx, cc_proto_xpack *xp,
                                        const cc_proto_weight *w, uint64_t *z, size_t ldz)
{
    (void)ctx;
    const size_t M = xp->M, N = w->N;
    if (w->K != xp->K)
        return cc_error_set(CC_ERR_ARG, "matmul_weight_term: weight depth %zu, input %zu",
                            w->K, xp->K);
    if (ldz < N)
        return cc_error_set(CC_ERR_ARG, "matmul_weight_term: row stride %zu < %zu columns", ldz,
                            N);
    if (M == 0 || N == 0) return CC_OK;
    const cc_ring_apack *a, *b;
    if (any_generated(w)) {
        if (!(w->gen_self || w->packed_self) || !(w->gen_next || w->packed_next))
            return cc_error_set(CC_ERR_ARG, "matmul_weight_term: a generated plane needs the "
                                "other plane, generated or stored");
        CC_TRY(xp_operand(xp, XP_SUM, &a));
        CC_TRY(xp_operand(xp, XP_SELF, &b));
        gemm_plane(a, N, w->gen_self, w->gen_first, w->packed_self, z, ldz, false);
        gemm_plane(b, N, w->gen_next, w->gen_first, w->packed_next, z, ldz, true);
        return CC_OK;
    }
    if (!cc_ring_small_m(M)) {
        cc_ashare x = xp->x;
        x.n = M * xp->K;
        return pr_matmul_weight_local_ld(M, &x, w, z, ldz);
    }
    if (w->packed_next) {
        CC_TRY(xp_operand(xp, XP_SUM, &a));
        CC_TRY(xp_operand(xp, XP_SELF, &b));
        cc_ring_gemm_apacked(a, N, w->packed_self, z, ldz, false);
        cc_ring_gemm_apacked(b, N, w->packed_next, z, ldz, true);
    } else {
        CC_TRY(xp_operand(xp, XP_SELF, &a));
        CC_TRY(xp_operand(xp, XP_NEXT, &b));
        cc_ring_gemm_apacked(a, N, w->packed_sum, z, ldz, false);
        cc_ring_gemm_apacked(b, N, w->packed_self, z, ldz, true);
    }
    return CC_OK;
}

cc_status pr_matmul_weight_local(size_t M, const cc_ashare *x, const cc_proto_weight *w,
                                 uint64_t *z)
{
    return pr_matmul_weight_local_ld(M, x, w, z, w->N);
}

cc_status pr_matmul_weight_local_ld(size_t M, const cc_ashare *x, const cc_proto_weight *w,
                                    uint64_t *z, size_t ldz)
{
    /* generated planes need the packed-A route; stored ones take
     * cc_ring_gemm_packed, which picks the small-M kernels itself and packs
     * A per depth slice without allocating */
    if (any_generated(w)) {
        cc_proto_xpack xp = { 0 };
        cc_status s = cc_proto_xpack_init(&xp, M, w->K, x);
        if (s == CC_OK) s = cc_proto_matmul_weight_term_x(NULL, &xp, w, z, ldz);
        cc_proto_xpack_free(&xp);
        return s;
    }
    if (w->packed_next) {
        uint64_t *xs = pr_alloc(M * w->K);
        if (!xs) return CC_ERR_NOMEM;
        cc_ring_add(M * w->K, x->s[0], x->s[1], xs);
        cc_ring_gemm_packed(CC_NOTRANS, M, w->N, w->K, xs, w->K, w->packed_self, z, ldz, false);
        cc_ring_gemm_packed(CC_NOTRANS, M, w->N, w->K, x->s[0], w->K, w->packed_next, z, ldz,
                            true);
        pr_free(xs);
        return CC_OK;
    }
    cc_ring_gemm_packed(CC_NOTRANS, M, w->N, w->K, x->s[0], w->K, w->packed_sum, z, ldz, false);
    cc_ring_gemm_packed(CC_NOTRANS, M, w->N, w->K, x->s[1], w->K, w->packed_self, z, ldz, true);
    return CC_OK;
}

cc_status cc_proto_matmul_weight_term(cc_proto *ctx, size_t M, const cc_ashare *x,
                                      const cc_proto_weight *w, uint64_t *z, size_t ldz)
{
    (void)ctx;
    CC_TRY(pr_check_n("matmul_weight_term", "input", x->n, M * w->K));
    if (ldz < w->N)
        return cc_error_set(CC_ERR_ARG, "matmul_weight_term: row stride %zu < %zu columns", ldz,
                            w->N);
    if (M == 0 || w->N == 0) return CC_OK;
    return pr_matmul_weight_local_ld(M, x, w, z, ldz);
}

cc_status cc_proto_finish_terms(cc_proto *ctx, const uint64_t *z, bool fxp, cc_ashare *out)
{
    cc_status s;
    if (fxp) {
        pr_enter(ctx, "matmul_weight_fxp");
        s = pr_trunc_core_ex(ctx, CC_OP_MATMUL_TRUNC, out->n, ctx->f, z, NULL, out);
    } else {
        pr_enter(ctx, "matmul_weight");
        pr_book_op(ctx, CC_OP_MATMUL, out->n, 0, 0);
        s = pr_reshare(ctx, z, out);
    }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto finish_terms");
}

cc_status pr_check_weight(const char *op, size_t M, const cc_ashare *x,
                          const cc_proto_weight *w, const cc_ashare *out)
{
    CC_TRY(pr_check_n(op, "input", x->n, M * w->K));
    CC_TRY(pr_check_n(op, "output", out->n, M * w->N));
    if (out->s[0] == x->s[0]) return cc_error_set(CC_ERR_ARG, "%s: output aliases the input", op);
    return CC_OK;
}

cc_status cc_proto_matmul_weight(cc_proto *ctx, size_t M, const cc_ashare *x,
                                 const cc_proto_weight *w, cc_ashare *out)
{
    CC_TRY(pr_check_weight("matmul_weight", M, x, w, out));
    pr_enter(ctx, "matmul_weight");
    pr_book_op(ctx, CC_OP_MATMUL, out->n, 0, 0);
    cc_status s = CC_OK;
    if (out->n) {
        s = pr_matmul_weight_local(M, x, w, out->s[0]);
        if (s == CC_OK) s = pr_reshare(ctx, out->s[0], out);
    }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto matmul_weight");
}
