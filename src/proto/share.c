/* Sharing and reconstruction (docs/PROTOCOLS.md; ABY3 ePrint 2018/403 §2.2).
 *
 * Replicated sharing: P_i holds (x_i, x_{i+1}).  Shares that two parties can
 * derive from a common PRSS key never travel; only the one share that
 * carries the secret is sent, to the two parties that hold it. */
#include "proto_impl.h"

/* Element j of a seeded stream (fresh 16-byte seeds per call). */
#define CC_SEEDED_STREAM UINT64_C(0x5345454445440000)   /* "SEEDED" */

void pr_pair_rand(cc_proto *ctx, int pair_lo, size_t n, uint64_t *out)
{
    int rel = pr_mod3(ctx->party - pair_lo);
    if (rel == 0)
        cc_prss_with_next(&ctx->prss, n, out);
    else if (rel == 1)
        cc_prss_with_prev(&ctx->prss, n, out);
    else
        cc_prss_reserve(&ctx->prss, n);
}

void pr_add_public_plane(const cc_proto *ctx, size_t n, uint64_t c, const uint64_t *cv,
                         uint64_t *s0, uint64_t *s1)
{
    /* x_0 is s[0] at P0 and s[1] at P2 (its prev-of-owner copy). */
    uint64_t *dst = ctx->party == 0 ? s0 : ctx->party == 2 ? s1 : NULL;
    if (!dst) return;
    if (cv)
        for (size_t j = 0; j < n; j++) dst[j] += cv[j];
    else
        for (size_t j = 0; j < n; j++) dst[j] += c;
}

static cc_status net_fail(cc_proto *ctx, cc_status s, const char *op)
{
    (void)ctx;
    return cc_error_wrap(s, "proto %s", op);
}

/* ---- input from a party ---------------------------------------------------------
 * Owner o: x_o = F(k_o) (shared with prev), x_{o+1} = F(k_{o+1}) (shared
 * with next), x_{o+2} = x − x_o − x_{o+1} sent to next and prev.
 * 1 round; owner sends 16 bytes/elem, the others nothing. */
static cc_status input_impl(cc_proto *ctx, int owner, const uint64_t *plain, uint64_t *s0,
                            uint64_t *s1, size_t n, bool boolean, const char *op)
{
    if (owner < 0 || owner > 2) return cc_error_set(CC_ERR_ARG, "%s: owner %d is not 0..2", op, owner);
    int role = pr_mod3(ctx->party - owner);
    if (role == 0 && !plain && n) return cc_error_set(CC_ERR_ARG, "%s: owner has no plaintext", op);
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_INPUT, n, 0, role);
    cc_status s = CC_OK;
    if (n == 0) goto out;
    /* the common-counter order: key k_o first, then k_{o+1} */
    uint64_t *k_o = role == 0 ? s0 : role == 2 ? s1 : NULL;
    uint64_t *k_o1 = role == 0 ? s1 : role == 1 ? s0 : NULL;
    pr_pair_rand(ctx, owner + 2, n, k_o);
    pr_pair_rand(ctx, owner, n, k_o1);
    if (role == 0) {
        uint64_t *x2 = pr_alloc(n);
        if (!x2) { s = CC_ERR_NOMEM; goto out; }
        if (boolean)
            for (size_t j = 0; j < n; j++) x2[j] = plain[j] ^ s0[j] ^ s1[j];
        else
            for (size_t j = 0; j < n; j++) x2[j] = plain[j] - s0[j] - s1[j];
        s = cc_net_send(ctx->net, CC_NEXT, x2, 8 * n);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, x2, 8 * n);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        cc_wipe(x2, 8 * n);
        pr_free(x2);
    } else if (role == 1) {
        s = cc_net_recv(ctx->net, CC_PREV, s1, 8 * n);
    } else {
        s = cc_net_recv(ctx->net, CC_NEXT, s0, 8 * n);
    }
out:
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

cc_status cc_proto_input(cc_proto *ctx, int owner, const uint64_t *plain, cc_ashare *out)
{
    return input_impl(ctx, owner, plain, out->s[0], out->s[1], out->n, false, "input");
}

cc_status cc_proto_input_bool(cc_proto *ctx, int owner, const uint64_t *plain, cc_bshare *out)
{
    return input_impl(ctx, owner, plain, out->s[0], out->s[1], out->n, true, "input_bool");
}

/* ---- seed-compressed input from a party -------------------------------------------
 * x_o = G(sa), x_{o+1} = G(sb) for fresh seeds; next gets (sb, x_{o+2}),
 * prev gets (sa, x_{o+2}).  1 round; owner sends 16 bytes/elem + 32 bytes. */
cc_status cc_proto_input_seeded(cc_proto *ctx, int owner, const uint64_t *plain, cc_ashare *out)
{
    const char *op = "input_seeded";
    size_t n = out->n;
    if (owner < 0 || owner > 2) return cc_error_set(CC_ERR_ARG, "%s: owner %d is not 0..2", op, owner);
    int role = pr_mod3(ctx->party - owner);
    if (role == 0 && !plain && n) return cc_error_set(CC_ERR_ARG, "%s: owner has no plaintext", op);
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_INPUT_SEEDED, n, 0, role);
    cc_status s = CC_OK;
    uint8_t *msg = NULL, *msg2 = NULL;
    cc_prg g;
    if (n == 0) goto out;
    size_t len = 16 + 8 * n;
    msg = cc_alloc(len);
    if (!msg) { s = CC_ERR_NOMEM; goto out; }
    if (role == 0) {
        msg2 = cc_alloc(len);
        if (!msg2) { s = CC_ERR_NOMEM; goto out; }
        uint8_t sa[16], sb[16];
        cc_prg_random_seed(sa);
        cc_prg_random_seed(sb);
        cc_prg_init(&g, sa, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, out->s[0]);
        cc_prg_init(&g, sb, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, out->s[1]);
        cc_prg_wipe(&g);
        uint64_t *x2 = (uint64_t *)(void *)(msg + 16);
        for (size_t j = 0; j < n; j++) x2[j] = plain[j] - out->s[0][j] - out->s[1][j];
        memcpy(msg2 + 16, msg + 16, 8 * n);
        memcpy(msg, sb, 16);      /* next needs x_{o+1} */
        memcpy(msg2, sa, 16);     /* prev needs x_o */
        cc_wipe(sa, 16);
        cc_wipe(sb, 16);
        s = cc_net_send(ctx->net, CC_NEXT, msg, len);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, msg2, len);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
    } else {
        /* role 1 holds (x_{o+1}, x_{o+2}), role 2 holds (x_{o+2}, x_o) */
        s = cc_net_recv(ctx->net, role == 1 ? CC_PREV : CC_NEXT, msg, len);
        if (s != CC_OK) goto out;
        uint64_t *seeded = role == 1 ? out->s[0] : out->s[1];
        uint64_t *explicit_share = role == 1 ? out->s[1] : out->s[0];
        cc_prg_init(&g, msg, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, seeded);
        cc_prg_wipe(&g);
        memcpy(explicit_share, msg + 16, 8 * n);
    }
out:
    if (msg) { cc_wipe(msg, 16); cc_free(msg); }
    if (msg2) { cc_wipe(msg2, 16); cc_free(msg2); }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

/* ---- input from the client (seed-compressed) ----------------------------------------
 * x_0 = G(s0), x_1 = G(s1), x_2 = x − x_0 − x_1.  P0 receives (s0, s1),
 * P1 (s1, x_2), P2 (s0, x_2).  Parties send nothing. */
cc_status cc_proto_input_client(cc_proto *ctx, cc_ashare *out)
{
    const char *op = "input_client";
    size_t n = out->n;
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_INPUT_CLIENT, n, 0, 0);
    cc_status s = CC_OK;
    uint8_t *msg = NULL;
    cc_prg g;
    if (n == 0) goto out;
    size_t len = ctx->party == 0 ? 32 : 16 + 8 * n;
    msg = cc_alloc(len);
    if (!msg) { s = CC_ERR_NOMEM; goto out; }
    s = cc_net_recv(ctx->net, CC_CLIENT, msg, len);
    if (s != CC_OK) goto out;
    if (ctx->party == 0) {
        cc_prg_init(&g, msg, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, out->s[0]);
        cc_prg_init(&g, msg + 16, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, out->s[1]);
    } else {
        uint64_t *seeded = ctx->party == 1 ? out->s[0] : out->s[1];
        uint64_t *explicit_share = ctx->party == 1 ? out->s[1] : out->s[0];
        cc_prg_init(&g, msg, CC_SEEDED_STREAM);
        cc_prg_u64(&g, 0, n, seeded);
        memcpy(explicit_share, msg + 16, 8 * n);
    }
    cc_prg_wipe(&g);
out:
    if (msg) { cc_wipe(msg, len < 32 ? len : 32); cc_free(msg); }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

cc_status cc_proto_client_input(cc_client *client, size_t n, const uint64_t *plain)
{
    if (n == 0) return CC_OK;
    size_t len = 16 + 8 * n;
    uint8_t *m1 = cc_alloc(len), *m2 = cc_alloc(len), m0[32];
    cc_status s = CC_OK;
    if (!m1 || !m2) { s = CC_ERR_NOMEM; goto out; }
    uint8_t s0[16], s1[16];
    cc_prg_random_seed(s0);
    cc_prg_random_seed(s1);
    uint64_t *x2 = (uint64_t *)(void *)(m1 + 16);
    cc_prg g;
    cc_prg_init(&g, s0, CC_SEEDED_STREAM);
    cc_prg_u64(&g, 0, n, x2);
    cc_prg_init(&g, s1, CC_SEEDED_STREAM);
    cc_prg_u64_add(&g, 0, n, x2);        /* x2 = x_0 + x_1 for now */
    cc_prg_wipe(&g);
    for (size_t j = 0; j < n; j++) x2[j] = plain[j] - x2[j];
    memcpy(m2 + 16, x2, 8 * n);
    memcpy(m0, s0, 16);
    memcpy(m0 + 16, s1, 16);
    memcpy(m1, s1, 16);
    memcpy(m2, s0, 16);
    cc_wipe(s0, 16);
    cc_wipe(s1, 16);
    s = cc_client_send(client, 0, m0, 32);
    if (s == CC_OK) s = cc_client_send(client, 1, m1, len);
    if (s == CC_OK) s = cc_client_send(client, 2, m2, len);
    cc_status f = cc_client_flush(client);
    if (s == CC_OK) s = f;
    cc_wipe(m0, 32);
out:
    if (m1) { cc_wipe(m1, 16); cc_free(m1); }
    if (m2) { cc_wipe(m2, 16); cc_free(m2); }
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "client input of %zu elements", n);
}

/* ---- reconstruction --------------------------------------------------------------
 * reveal: send x_i to next, receive x_{i-1} from prev.  1 round, 8 bytes/elem. */
static cc_status reveal_impl(cc_proto *ctx, const uint64_t *s0, const uint64_t *s1, size_t n,
                             uint64_t *out, bool boolean, const char *op)
{
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_REVEAL, n, 0, 0);
    cc_status s = CC_OK;
    if (n == 0) goto done;
    uint64_t *prev = pr_alloc(n);
    if (!prev) { s = CC_ERR_NOMEM; goto done; }
    s = cc_net_exchange(ctx->net, CC_NEXT, s0, CC_PREV, prev, 8 * n);
    if (s == CC_OK) {
        if (boolean)
            for (size_t j = 0; j < n; j++) out[j] = s0[j] ^ s1[j] ^ prev[j];
        else
            for (size_t j = 0; j < n; j++) out[j] = s0[j] + s1[j] + prev[j];
    }
    pr_free(prev);
done:
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

cc_status cc_proto_reveal(cc_proto *ctx, const cc_ashare *x, uint64_t *out)
{
    return reveal_impl(ctx, x->s[0], x->s[1], x->n, out, false, "reveal");
}

cc_status cc_proto_reveal_bool(cc_proto *ctx, const cc_bshare *x, uint64_t *out)
{
    return reveal_impl(ctx, x->s[0], x->s[1], x->n, out, true, "reveal_bool");
}

/* reveal to P_t: P_t lacks x_{t+2}, which its prev holds as s[0]. */
cc_status cc_proto_reveal_to(cc_proto *ctx, int to, const cc_ashare *x, uint64_t *out)
{
    const char *op = "reveal_to";
    if (to < 0 || to > 2) return cc_error_set(CC_ERR_ARG, "%s: target %d is not 0..2", op, to);
    int role = pr_mod3(ctx->party - to);
    size_t n = x->n;
    if (role == 0 && !out && n) return cc_error_set(CC_ERR_ARG, "%s: target has no output buffer", op);
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_REVEAL_TO, n, 0, role);
    cc_status s = CC_OK;
    if (n == 0) goto done;
    if (role == 2) {
        s = cc_net_send(ctx->net, CC_NEXT, x->s[0], 8 * n);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
    } else if (role == 0) {
        uint64_t *missing = pr_alloc(n);
        if (!missing) { s = CC_ERR_NOMEM; goto done; }
        s = cc_net_recv(ctx->net, CC_PREV, missing, 8 * n);
        if (s == CC_OK)
            for (size_t j = 0; j < n; j++) out[j] = x->s[0][j] + x->s[1][j] + missing[j];
        pr_free(missing);
    }
done:
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

cc_status cc_proto_reveal_client(cc_proto *ctx, const cc_ashare *x)
{
    const char *op = "reveal_client";
    size_t n = x->n;
    pr_enter(ctx, op);
    pr_book_op(ctx, CC_OP_REVEAL_CLIENT, n, 0, 0);
    cc_status s = CC_OK;
    if (n) {
        s = cc_net_send(ctx->net, CC_CLIENT, x->s[0], 8 * n);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
    }
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : net_fail(ctx, s, op);
}

cc_status cc_proto_client_reveal(cc_client *client, size_t n, uint64_t *out)
{
    if (n == 0) return CC_OK;
    uint64_t *buf = pr_alloc(n);
    if (!buf) return CC_ERR_NOMEM;
    cc_status s = CC_OK;
    memset(out, 0, 8 * n);
    for (int p = 0; p < 3 && s == CC_OK; p++) {
        s = cc_client_recv(client, p, buf, 8 * n);
        if (s == CC_OK)
            for (size_t j = 0; j < n; j++) out[j] += buf[j];
    }
    pr_free(buf);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "client reveal of %zu elements", n);
}

cc_status pr_exchange_both(cc_proto *ctx, const void *const send[2], const size_t snd[2],
                           void *const recv[2], const size_t rcv[2])
{
    static const cc_dir dir[2] = { CC_NEXT, CC_PREV };
    cc_status s = CC_OK;
    for (int k = 0; k < 2 && s == CC_OK; k++)
        if (snd[k]) s = cc_net_send(ctx->net, dir[k], send[k], snd[k]);
    for (int k = 0; k < 2 && s == CC_OK; k++)
        if (rcv[k]) s = cc_net_recv(ctx->net, dir[k], recv[k], rcv[k]);
    cc_status f = cc_net_flush(ctx->net);
    return s == CC_OK ? f : s;
}
