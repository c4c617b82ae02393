/* Arithmetic → boolean conversion: a full Kogge–Stone adder of x0 + x1 and
 * x2 whose first level comes out of P0's re-sharing round (ABY3 ePrint
 * 2018/403 §5.3; docs/PROTOCOLS.md). */
#include "proto_impl.h"

/* ---- A2B: full Kogge–Stone adder (ABY3 §5.3) ----------------------------------------------
 * x = u + v (u = x0 + x1 at P0, v = x2 at P1, P2).  The first prefix level
 * (span 2) is bilinear in (functions of u) × (functions of v), so it is
 * computed inside P0's re-sharing round, as for MSB:
 *   G1 = (U ∧ V) ⊕ ((U ∧ U≪1) ∧ V≪1) ⊕ (U≪1 ∧ (V ∧ V≪1))
 *   P1 = (U ∧ U≪1) ⊕ (V ∧ V≪1) ⊕ (U ∧ V≪1) ⊕ (U≪1 ∧ V)
 * P0 shares U and U ∧ U≪1 (a2 of both to next and prev: 16 B each); P1 and
 * P2 send their [G1 | P1] cross terms (16 B) masked with k2 randomness that
 * P0 lacks (σA, σB from the two PRSS draws for P1; σC, σD from the P1–P2
 * pair stream for P2), and add the a2 terms once they arrive.  Then
 * s = 2, 4, 8, 16, 32:  G ⊕= P ∧ (G ≪ s),  P = P ∧ (P ≪ s)  (both ANDs in
 * one message built in one pass; the last level needs only G);
 * sum = p ⊕ (G ≪ 1) with p = U ⊕ V.
 * Rounds: 6.  Bytes/elem: P0 32 + 4·16 + 8 = 104, P1/P2 16 + 72 = 88. */
static inline void a2b_T(uint64_t a, uint64_t b, uint64_t v, uint64_t *tg, uint64_t *tp)
{
    uint64_t a1 = a << 1, v1 = v << 1;
    *tg = (a & v) ^ (b & v1) ^ (a1 & v & v1);
    *tp = (a & v1) ^ (a1 & v);
}

cc_status cc_proto_a2b(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    CC_TRY(pr_check_n("a2b", "output", out->n, x->n));
    size_t n = x->n;
    pr_enter(ctx, "a2b");
    pr_book_op(ctx, CC_OP_A2B, n, 0, ctx->party);
    cc_status s = CC_OK;
    uint64_t *buf = NULL;
    if (n == 0) goto done;
    buf = pr_alloc(18 * n);
    if (!buf) { s = CC_ERR_NOMEM; goto done; }
    uint64_t *p[2] = {buf, buf + n};              /* p = u ⊕ v, kept for the sum */
    uint64_t *G[2] = {buf + 2 * n, buf + 3 * n};  /* running group generate */
    uint64_t *P[2] = {buf + 4 * n, buf + 5 * n};  /* running group propagate */
    uint64_t *mine = buf + 6 * n, *theirs = buf + 8 * n;   /* [G term | P term] */
    uint64_t *B[2] = {buf + 10 * n, buf + 11 * n};         /* shares of U ∧ U≪1 */
    uint64_t *sig = buf + 12 * n;                          /* σC | σD (P1, P2) */
    uint64_t *r1 = buf + 14 * n, *r2 = buf + 16 * n;       /* received messages */
    const int me = ctx->party;
    /* ---- round 1: re-share U, U ∧ U≪1 and compute the first level */
    cc_prss_rand(&ctx->prss, n, p[0], p[1]);               /* U shares (+ σA) */
    cc_prss_rand(&ctx->prss, n, B[0], B[1]);               /* U∧U≪1 shares (+ σB) */
    pr_pair_rand(ctx, 1, 2 * n, me == 0 ? NULL : sig);
    uint64_t *qs[2];                                       /* [G | P] per slot */
    if (me == 0) {
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t u = x->s[0][j] + x->s[1][j];
            mine[j] = u ^ p[0][j] ^ p[1][j];
            mine[n + j] = (u & (u << 1)) ^ B[0][j] ^ B[1][j];
        }
        s = cc_net_send(ctx->net, CC_NEXT, mine, 16 * n);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, mine, 16 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_PREV, r1, 16 * n);   /* q0 from P2 */
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_NEXT, r2, 16 * n);   /* q1 from P1 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto done;
        qs[0] = r1;
        qs[1] = r2;
    } else {
        const bool p1 = me == 1;
        const uint64_t *v = p1 ? x->s[1] : x->s[0];
        /* P1 slots (idx1, idx2): own share in slot 0, σA/σB in slot 1;
         * P2 slots (idx2, idx0): σA/σB in slot 0, own share in slot 1 */
        const int own = p1 ? 0 : 1, two = 1 - own;
        const uint64_t *a = p[own], *b = B[own];
        uint64_t *sA = p[two], *sB = B[two];
        const uint64_t *mg = p1 ? sA : sig, *mp = p1 ? sB : sig + n;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t tg, tp;
            a2b_T(a[j], b[j], v[j], &tg, &tp);
            mine[j] = tg ^ mg[j];
            mine[n + j] = tp ^ mp[j];
        }
        const cc_dir to_p0 = p1 ? CC_PREV : CC_NEXT;
        s = cc_net_send(ctx->net, to_p0, mine, 16 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, to_p0, r1, 16 * n);     /* a2 | b2 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto done;
        /* q2 = T(a2, b2) ⊕ σA ⊕ σC | ⊕ σB ⊕ σD; then slot `two` holds idx 2 */
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t tg, tp, a2 = r1[j], b2 = r1[n + j];
            a2b_T(a2, b2, v[j], &tg, &tp);
            r2[j] = tg ^ sA[j] ^ sig[j];
            r2[n + j] = tp ^ sB[j] ^ sig[n + j];
            sA[j] = a2;
            sB[j] = b2;
        }
        qs[own] = mine;
        qs[two] = r2;
    }
    /* slots → p, G, P (idx 2 adds the v-only terms) */
    for (int k = 0; k < 2; k++) {
        const bool idx2 = (me == 1 && k == 1) || (me == 2 && k == 0);
        const uint64_t *v = me == 1 ? x->s[1] : x->s[0];
        const uint64_t *q = qs[k];
        uint64_t *pk = p[k], *Gk = G[k], *Pk = P[k], *bk = B[k];
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t vv = idx2 ? v[j] : 0;
            Gk[j] = q[j];
            Pk[j] = q[n + j] ^ bk[j] ^ (vv & (vv << 1));
            pk[j] ^= vv;
        }
    }
    /* ---- levels s = 2 .. 32 */
    for (unsigned sh = 2; sh <= 32; sh *= 2) {
        /* both ANDs of the level, P ∧ (G ≪ s) and P ∧ (P ≪ s), in one message
         * (the last level needs only the first); one pass builds it */
        const bool last = sh == 32;
        const size_t words = last ? n : 2 * n;
        const uint64_t *g0 = G[0], *g1 = G[1], *p0 = P[0], *p1 = P[1];
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t bg0 = g0[j] << sh, bg1 = g1[j] << sh;
            mine[j] = (p0[j] & (bg0 ^ bg1)) ^ (p1[j] & bg0);
        }
        if (!last) {
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                uint64_t bp0 = p0[j] << sh, bp1 = p1[j] << sh;
                mine[n + j] = (p0[j] & (bp0 ^ bp1)) ^ (p1[j] & bp0);
            }
        }
        cc_prss_zero_xor(&ctx->prss, words, theirs);
        cc_ring_xor(words, mine, theirs, mine);
        s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, theirs, 8 * words);
        if (s != CC_OK) goto done;
        cc_ring_xor(n, G[0], mine, G[0]);
        cc_ring_xor(n, G[1], theirs, G[1]);
        if (!last) {
            memcpy(P[0], mine + n, 8 * n);
            memcpy(P[1], theirs + n, 8 * n);
        }
    }
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < n; j++) out->s[k][j] = p[k][j] ^ (G[k][j] << 1);
done:
    pr_free(buf);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto a2b");
}

