/* Bit injection (B2A of a bit), bit × arithmetic select, and row reductions
 * (max, argmax) built from compare + select (docs/PROTOCOLS.md
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
    /* The roles rotate over thirds of the elements (pr_third_lo): on third t
     * P_t plays "P0" above, P_{t+1} "P1", P_{t+2} "P2". */
    size_t lo[4], snd[2] = {0, 0};               /* [0]: next link, [1]: prev link */
    int role[3];
    for (int t = 0; t <= 3; t++) lo[t] = pr_third_lo(n, t);
    for (int t = 0; t < 3; t++) {
        size_t nt = lo[t + 1] - lo[t];
        role[t] = pr_mod3(ctx->party - t);
        if (role[t] != 1) snd[0] += 8 * nt;      /* roles 0 and 2 send to next */
        if (role[t] != 2) snd[1] += 8 * nt;      /* roles 0 and 1 send to prev */
    }
    /* what arrives mirrors what the neighbours send: next sends to its prev
     * on thirds where its role (mine + 1) is 0 or 1, i.e. mine is 2 or 0 */
    size_t rcv[2] = {0, 0};
    for (int t = 0; t < 3; t++) {
        size_t nt = lo[t + 1] - lo[t];
        if (role[t] != 1) rcv[0] += 8 * nt;
        if (role[t] != 2) rcv[1] += 8 * nt;
    }
    uint64_t *buf = pr_alloc(9 * n);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *r1s = buf, *r1n = buf + n, *r2s = buf + 2 * n, *r2n = buf + 3 * n;
    uint64_t *b = buf + 4 * n;                   /* c (role 0) or b2 (roles 1, 2) */
    uint64_t *sm[2] = {buf + 5 * n, buf + 6 * n}, *rm[2] = {buf + 7 * n, buf + 8 * n};
    cc_prss_rand(&ctx->prss, n, r1s, r1n);
    cc_prss_rand(&ctx->prss, n, r2s, r2n);
    /* bit may alias the output planes: take what each role needs before writing */
    for (int t = 0; t < 3; t++)
        for (size_t j = lo[t]; j < lo[t + 1]; j++)
            b[j] = (role[t] == 0 ? bit->s[0][j] ^ bit->s[1][j]
                                 : role[t] == 1 ? bit->s[1][j] : bit->s[0][j]) & 1;
    size_t off[2] = {0, 0};
    for (int t = 0; t < 3; t++) {
        size_t a = lo[t], nt = lo[t + 1] - a;
        if (role[t] == 0) {
            /* c0 = r1s (shared with prev), c1 = r1n (shared with next) */
            for (size_t j = 0; j < nt; j++)
                sm[0][off[0] + j] = sm[1][off[1] + j] = b[a + j] - r1s[a + j] - r1n[a + j];
            off[0] += nt; off[1] += nt;
        } else {
            /* role 1: c1 = r1s, σ1 = r1n; role 2: σ1 = r1s, c0 = r1n.  Sends
             * y1 = c1·t + σ1 to prev (role 1) or y0 = c0·t + σ0 to next (role 2),
             * σ0 = r2n (role 1) / r2s (role 2). */
            const bool p1 = role[t] == 1;
            const uint64_t *cm = p1 ? r1s : r1n, *sg = p1 ? r1n : r2s;
            int d = p1 ? 1 : 0;
            for (size_t j = 0; j < nt; j++)
                sm[d][off[d] + j] = cm[a + j] * (1 - 2 * b[a + j]) + sg[a + j];
            off[d] += nt;
        }
    }
    s = pr_exchange_both(ctx, (const void *const[2]){ sm[0], sm[1] }, snd,
                         (void *const[2]){ rm[0], rm[1] }, rcv);
    if (s == CC_OK) {
        size_t in[2] = {0, 0};
        uint64_t *o0 = out->s[0], *o1 = out->s[1];
        for (int t = 0; t < 3; t++) {
            size_t a = lo[t], nt = lo[t + 1] - a;
            if (role[t] == 0) {
                /* (y0, y1): y1 from next, y0 from prev */
                for (size_t j = 0; j < nt; j++) {
                    o1[a + j] = rm[0][in[0] + j];
                    o0[a + j] = rm[1][in[1] + j];
                }
                in[0] += nt; in[1] += nt;
            } else {
                /* role 1 holds (y1, y2), role 2 (y2, y0); c2 arrives from the
                 * re-sharer (prev for role 1, next for role 2) */
                const bool p1 = role[t] == 1;
                int d = p1 ? 1 : 0;
                const uint64_t *cm = p1 ? r1s : r1n, *sig1 = p1 ? r1n : r1s,
                               *sig0 = p1 ? r2n : r2s;
                uint64_t *ymine = p1 ? o0 : o1, *y2 = p1 ? o1 : o0;
                for (size_t j = 0; j < nt; j++) {
                    uint64_t bb = b[a + j], tt = 1 - 2 * bb;
                    ymine[a + j] = cm[a + j] * tt + (p1 ? sig1 : sig0)[a + j];
                    y2[a + j] = rm[d][in[d] + j] * tt + bb - sig0[a + j] - sig1[a + j];
                }
                in[d] += nt;
            }
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
