/* Bit injection (B2A of a bit), bit × arithmetic select, and row reductions
 * (max, argmax) built from compare + select (DESIGN.md §4, Appendix A
 * "Bit × arithmetic"; ABY3 ePrint 2018/403 §5.4). */
#include "proto_impl.h"

/* ---- bit injection ------------------------------------------------------------------------
 * b = b0 ⊕ b1 ⊕ b2 (bit 0).  P0 knows c = b0 ⊕ b1, P1 and P2 know b2, and
 * b = c ⊕ b2 = c·t + b2 with t = 1 − 2·b2.  In ONE round:
 *   P0 shares c arithmetically: c0 = F(k0) (P0,P2), c1 = F(k1) (P0,P1),
 *   c2 = c − c0 − c1 sent to next and prev (16 bytes/elem);
 *   P1 sends y1 = c1·t + σ1 to P0, P2 sends y0 = c0·t + σ0 to P0 (8 bytes);
 *   P1 and P2, once c2 arrives: y2 = c2·t + b2 − σ0 − σ1.
 * σ0, σ1 come from k2 (P1,P2 only) and hide c_i·t from P0; the result
 * (y0, y1, y2) is replicated: P0 (y0, y1), P1 (y1, y2), P2 (y2, y0). */
static cc_status b2a_impl(cc_proto *ctx, const cc_bshare *bit, cc_ashare *out)
{
    size_t n = bit->n;
    pr_book_op(ctx, CC_OP_B2A_BIT, n, 0, ctx->party);
    if (n == 0) return CC_OK;
    cc_status s = CC_OK;
    uint64_t *buf = pr_alloc(5 * n);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *r1s = buf, *r1n = buf + n, *r2s = buf + 2 * n, *r2n = buf + 3 * n, *m = buf + 4 * n;
    cc_prss_rand(&ctx->prss, n, r1s, r1n);
    cc_prss_rand(&ctx->prss, n, r2s, r2n);
    if (ctx->party == 0) {
        const uint64_t *c0 = r1s, *c1 = r1n;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++)
            m[j] = ((bit->s[0][j] ^ bit->s[1][j]) & 1) - c0[j] - c1[j];
        s = cc_net_send(ctx->net, CC_NEXT, m, 8 * n);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, m, 8 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_NEXT, out->s[1], 8 * n);  /* y1 */
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_PREV, out->s[0], 8 * n);  /* y0 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
    } else {
        const bool p1 = ctx->party == 1;
        /* P1: c1 = r1s, σ1 = r1n, σ0 = r2n.  P2: σ1 = r1s, c0 = r1n, σ0 = r2s. */
        const uint64_t *cmine = p1 ? r1s : r1n, *sig1 = p1 ? r1n : r1s, *sig0 = p1 ? r2n : r2s;
        const uint64_t *bs = p1 ? bit->s[1] : bit->s[0];       /* b2 */
        uint64_t *ymine = p1 ? out->s[0] : out->s[1], *y2 = p1 ? out->s[1] : out->s[0];
        const uint64_t *sig_mine = p1 ? sig1 : sig0;
        /* bs may alias the output planes: take b2 before writing */
        uint64_t *b2 = r2s == sig0 ? r2n : r2s;   /* the unused rand#2 half */
        for (size_t j = 0; j < n; j++) b2[j] = bs[j] & 1;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) ymine[j] = cmine[j] * (1 - 2 * b2[j]) + sig_mine[j];
        s = cc_net_send(ctx->net, p1 ? CC_PREV : CC_NEXT, ymine, 8 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, p1 ? CC_PREV : CC_NEXT, m, 8 * n);  /* c2 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s == CC_OK) {
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++)
                y2[j] = m[j] * (1 - 2 * b2[j]) + b2[j] - sig0[j] - sig1[j];
        }
    }
    pr_free(buf);
    return s;
}

cc_status cc_proto_b2a_bit(cc_proto *ctx, const cc_bshare *bit, cc_ashare *out)
{
    CC_TRY(pr_check_n("b2a_bit", "output", out->n, bit->n));
    pr_enter(ctx, "b2a_bit");
    cc_status s = b2a_impl(ctx, bit, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto b2a_bit");
}

/* ---- bit × arithmetic: bit injection then one multiplication -----------------------------
 * 2 rounds; P0 16 + 8 = 24 bytes/elem, P1 and P2 8 + 8 = 16. */
cc_status cc_proto_mul_bit(cc_proto *ctx, const cc_bshare *bit, const cc_ashare *x,
                           cc_ashare *out)
{
    CC_TRY(pr_check_n("mul_bit", "bit", bit->n, x->n));
    CC_TRY(pr_check_n("mul_bit", "output", out->n, x->n));
    cc_ashare b;
    CC_TRY(pr_ashare_tmp(&b, x->n));
    pr_enter(ctx, "mul_bit");
    cc_status s = b2a_impl(ctx, bit, &b);
    if (s == CC_OK) s = cc_proto_mul(ctx, &b, x, out);
    pr_exit(ctx);
    cc_ashare_free(&b);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto mul_bit");
}

/* select(b, x, y) = y + b·(x − y). */
cc_status cc_proto_select(cc_proto *ctx, const cc_bshare *bit, const cc_ashare *x,
                          const cc_ashare *y, cc_ashare *out)
{
    CC_TRY(pr_check_n("select", "bit", bit->n, x->n));
    CC_TRY(pr_check_n("select", "second value", y->n, x->n));
    CC_TRY(pr_check_n("select", "output", out->n, x->n));
    cc_ashare d, b;
    CC_TRY(pr_ashare_tmp(&d, x->n));
    cc_status s = pr_ashare_tmp(&b, x->n);
    if (s != CC_OK) { cc_ashare_free(&d); return s; }
    pr_enter(ctx, "select");
    s = cc_proto_sub(ctx, x, y, &d);
    if (s == CC_OK) s = b2a_impl(ctx, bit, &b);
    if (s == CC_OK) s = cc_proto_mul(ctx, &b, &d, &d);
    if (s == CC_OK) s = cc_proto_add(ctx, y, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    cc_ashare_free(&b);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto select");
}

/* ---- max / argmax over rows --------------------------------------------------------------------
 * Tournament tree: per level, pairs (2k, 2k+1) of every row are compared in
 * one batch (MSB of left − right: 7 rounds), the winners selected in one
 * batch (bit injection 1 round + one multiplication 1 round, index pairs
 * multiplied in the same message for argmax); an odd last column passes
 * through.  ⌈log2 cols⌉ levels × 9 rounds.  Ties keep the left (lower)
 * column, so argmax returns the first maximal index. */
static cc_status reduce_rows(cc_proto *ctx, const cc_ashare *x, size_t rows, size_t cols,
                             cc_ashare *max_out, cc_ashare *idx_out)
{
    const bool with_index = idx_out != NULL;
    cc_status s = CC_OK;
    size_t n = rows * cols;
    cc_ashare cur, ci, L, R, D, B, BB;
    cc_bshare bit;
    memset(&ci, 0, sizeof ci); memset(&L, 0, sizeof L); memset(&R, 0, sizeof R);
    memset(&D, 0, sizeof D); memset(&B, 0, sizeof B); memset(&BB, 0, sizeof BB);
    memset(&bit, 0, sizeof bit);
    CC_TRY(cc_ashare_alloc(&cur, n));
    memcpy(cur.s[0], x->s[0], 8 * n);
    memcpy(cur.s[1], x->s[1], 8 * n);
    if (with_index) {
        if ((s = cc_ashare_alloc(&ci, n)) != CC_OK) goto out;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                uint64_t v = c;
                /* public constant in x_0: P0's s[0], P2's s[1] */
                if (ctx->party == 0) ci.s[0][r * cols + c] = v;
                if (ctx->party == 2) ci.s[1][r * cols + c] = v;
            }
    }
    size_t c = cols;
    while (c > 1 && rows > 0) {
        size_t half = c / 2, pairs = rows * half, nc = half + (c & 1);
        size_t k2 = with_index ? 2 * pairs : pairs;
        if ((s = cc_ashare_alloc(&L, k2)) != CC_OK || (s = cc_ashare_alloc(&R, k2)) != CC_OK ||
            (s = cc_ashare_alloc(&D, k2)) != CC_OK || (s = cc_ashare_alloc(&B, pairs)) != CC_OK ||
            (s = cc_ashare_alloc(&BB, k2)) != CC_OK || (s = cc_bshare_alloc(&bit, pairs)) != CC_OK)
            goto out;
        /* gather left / right values (and indices after them) */
        for (int k = 0; k < 2; k++)
            for (size_t r = 0; r < rows; r++)
                for (size_t q = 0; q < half; q++) {
                    size_t src = r * c + 2 * q, dst = r * half + q;
                    L.s[k][dst] = cur.s[k][src];
                    R.s[k][dst] = cur.s[k][src + 1];
                    if (with_index) {
                        L.s[k][pairs + dst] = ci.s[k][src];
                        R.s[k][pairs + dst] = ci.s[k][src + 1];
                    }
                }
        cc_ashare Lv = cc_ashare_slice(&L, 0, pairs), Rv = cc_ashare_slice(&R, 0, pairs);
        cc_ashare Dv = cc_ashare_slice(&D, 0, pairs);
        if ((s = cc_proto_sub(ctx, &Lv, &Rv, &Dv)) != CC_OK) goto out;       /* L − R */
        if ((s = pr_msb(ctx, &Dv, &bit)) != CC_OK) goto out;        /* L < R */
        if ((s = b2a_impl(ctx, &bit, &B)) != CC_OK) goto out;
        for (int k = 0; k < 2; k++) {
            memcpy(BB.s[k], B.s[k], 8 * pairs);
            if (with_index) memcpy(BB.s[k] + pairs, B.s[k], 8 * pairs);
        }
        if ((s = cc_proto_sub(ctx, &R, &L, &D)) != CC_OK) goto out;          /* R − L */
        if ((s = cc_proto_mul(ctx, &BB, &D, &D)) != CC_OK) goto out;
        if ((s = cc_proto_add(ctx, &L, &D, &D)) != CC_OK) goto out;          /* winners */
        /* scatter winners back as the next level's columns */
        cc_ashare next, nexti;
        memset(&nexti, 0, sizeof nexti);
        if ((s = cc_ashare_alloc(&next, rows * nc)) != CC_OK) goto out;
        if (with_index && (s = cc_ashare_alloc(&nexti, rows * nc)) != CC_OK) {
            cc_ashare_free(&next);
            goto out;
        }
        for (int k = 0; k < 2; k++)
            for (size_t r = 0; r < rows; r++) {
                for (size_t q = 0; q < half; q++) {
                    next.s[k][r * nc + q] = D.s[k][r * half + q];
                    if (with_index) nexti.s[k][r * nc + q] = D.s[k][pairs + r * half + q];
                }
                if (c & 1) {
                    next.s[k][r * nc + half] = cur.s[k][r * c + c - 1];
                    if (with_index) nexti.s[k][r * nc + half] = ci.s[k][r * c + c - 1];
                }
            }
        cc_ashare_free(&cur);
        cur = next;
        if (with_index) {
            cc_ashare_free(&ci);
            ci = nexti;
        }
        cc_ashare_free(&L); cc_ashare_free(&R); cc_ashare_free(&D);
        cc_ashare_free(&B); cc_ashare_free(&BB); cc_bshare_free(&bit);
        c = nc;
    }
    for (int k = 0; k < 2; k++) {
        if (rows) memcpy(max_out->s[k], cur.s[k], 8 * rows);
        if (with_index && rows) memcpy(idx_out->s[k], ci.s[k], 8 * rows);
    }
out:
    cc_ashare_free(&cur); cc_ashare_free(&ci);
    cc_ashare_free(&L); cc_ashare_free(&R); cc_ashare_free(&D);
    cc_ashare_free(&B); cc_ashare_free(&BB); cc_bshare_free(&bit);
    return s;
}

static cc_status check_rows(const char *op, const cc_ashare *x, size_t rows, size_t cols,
                            const cc_ashare *o1, const cc_ashare *o2)
{
    size_t n;
    if (!cc_mul_size(rows, cols, &n)) return cc_error_set(CC_ERR_ARG, "%s: shape overflows", op);
    if (cols == 0 && rows > 0) return cc_error_set(CC_ERR_ARG, "%s: rows with 0 columns have no max", op);
    CC_TRY(pr_check_n(op, "input", x->n, n));
    CC_TRY(pr_check_n(op, "output", o1->n, rows));
    if (o2) CC_TRY(pr_check_n(op, "index output", o2->n, rows));
    return CC_OK;
}

cc_status cc_proto_max_rows(cc_proto *ctx, const cc_ashare *x, size_t rows, size_t cols,
                            cc_ashare *out)
{
    CC_TRY(check_rows("max_rows", x, rows, cols, out, NULL));
    pr_enter(ctx, "max_rows");
    cc_status s = reduce_rows(ctx, x, rows, cols, out, NULL);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto max_rows");
}

cc_status cc_proto_argmax_rows(cc_proto *ctx, const cc_ashare *x, size_t rows, size_t cols,
                               cc_ashare *max_out, cc_ashare *index_out)
{
    CC_TRY(check_rows("argmax_rows", x, rows, cols, max_out, index_out));
    pr_enter(ctx, "argmax_rows");
    cc_status s = reduce_rows(ctx, x, rows, cols, max_out, index_out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto argmax_rows");
}
