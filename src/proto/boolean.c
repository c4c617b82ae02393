/* Boolean circuits on replicated XOR shares: AND, A2B, MSB / less-than,
 * equality (DESIGN.md §4 and Appendix A; ABY3 ePrint 2018/403 §5.3). */
#include <stdlib.h>
#include "proto_internal.h"

size_t pr_width_bytes(unsigned width)
{
    return width > 32 ? 8 : width > 16 ? 4 : width > 8 ? 2 : 1;
}

static inline uint64_t low_mask(unsigned width)
{
    return width >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << width) - 1;
}

/* Pack the low wb bytes of each word (little-endian) / unpack and mask. */
static void pack(size_t n, size_t wb, const uint64_t *z, uint64_t *msg)
{
    uint8_t *m = (uint8_t *)msg;
    switch (wb) {
    case 8: memcpy(m, z, 8 * n); break;
    case 4: for (size_t j = 0; j < n; j++) ((uint32_t *)msg)[j] = (uint32_t)z[j]; break;
    case 2: for (size_t j = 0; j < n; j++) ((uint16_t *)msg)[j] = (uint16_t)z[j]; break;
    default: for (size_t j = 0; j < n; j++) m[j] = (uint8_t)z[j]; break;
    }
}

static void unpack(size_t n, size_t wb, const uint64_t *msg, uint64_t mask, uint64_t *z)
{
    const uint8_t *m = (const uint8_t *)msg;
    switch (wb) {
    case 8: for (size_t j = 0; j < n; j++) z[j] = msg[j] & mask; break;
    case 4: for (size_t j = 0; j < n; j++) z[j] = ((const uint32_t *)msg)[j] & mask; break;
    case 2: for (size_t j = 0; j < n; j++) z[j] = ((const uint16_t *)msg)[j] & mask; break;
    default: for (size_t j = 0; j < n; j++) z[j] = m[j] & mask; break;
    }
}

/* AND over GF(2)^64 (ABY3 §3.1 with XOR): z_i = a_i b_i ⊕ a_i b_{i+1} ⊕
 * a_{i+1} b_i, masked with a PRSS XOR-zero share *on the packed message*
 * (the packing is linear, so the masks still cancel), sent to prev.  Only
 * the low `width` bits of each word travel: 1 round, pr_width_bytes(width)
 * bytes/elem.  Outputs are masked to `width` bits and may alias inputs. */
cc_status pr_and_width(cc_proto *ctx, size_t n, unsigned width, const uint64_t *a0,
                       const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                       uint64_t *o0, uint64_t *o1)
{
    if (n == 0) return CC_OK;
    size_t wb = pr_width_bytes(width), words = (n * wb + 7) / 8;
    uint64_t *z = pr_alloc(n), *mine = pr_alloc(words), *theirs = pr_alloc(words);
    cc_status s = (z && mine && theirs) ? CC_OK : CC_ERR_NOMEM;
    if (s == CC_OK) {
        for (size_t j = 0; j < n; j++) z[j] = (a0[j] & (b0[j] ^ b1[j])) ^ (a1[j] & b0[j]);
        mine[words - 1] = 0;
        pack(n, wb, z, mine);
        cc_prss_zero_xor(&ctx->prss, words, theirs);
        cc_ring_xor(words, mine, theirs, mine);
        s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, theirs, n * wb);
    }
    if (s == CC_OK) {
        uint64_t mask = low_mask(width);
        unpack(n, wb, mine, mask, o0);
        unpack(n, wb, theirs, mask, o1);
    }
    pr_free(z);
    pr_free(mine);
    pr_free(theirs);
    return s;
}

cc_status cc_proto_and(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out)
{
    CC_TRY(pr_check_n("and", "second operand", b->n, a->n));
    CC_TRY(pr_check_n("and", "output", out->n, a->n));
    pr_enter(ctx, "and");
    pr_book_op(ctx, CC_OP_AND, a->n, 0, 0);
    cc_status s = pr_and_width(ctx, a->n, 64, a->s[0], a->s[1], b->s[0], b->s[1], out->s[0],
                               out->s[1]);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto and");
}

/* ---- local boolean ops -------------------------------------------------------------- */
#define BCHECK(op, a, out) CC_TRY(pr_check_n(op, "output", (out)->n, (a)->n))

cc_status cc_proto_xor(cc_proto *ctx, const cc_bshare *a, const cc_bshare *b, cc_bshare *out)
{
    (void)ctx;
    CC_TRY(pr_check_n("xor", "second operand", b->n, a->n));
    BCHECK("xor", a, out);
    for (int k = 0; k < 2; k++) cc_ring_xor(a->n, a->s[k], b->s[k], out->s[k]);
    return CC_OK;
}

/* A public constant lives in share x_0 (P0's s[0], P2's s[1]). */
static uint64_t *x0_plane(const cc_proto *ctx, uint64_t *s0, uint64_t *s1)
{
    return ctx->party == 0 ? s0 : ctx->party == 2 ? s1 : NULL;
}

static void bshare_copy(const cc_bshare *a, cc_bshare *out)
{
    for (int k = 0; k < 2; k++)
        if (out->s[k] != a->s[k]) memmove(out->s[k], a->s[k], 8 * a->n);
}

cc_status cc_proto_xor_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out)
{
    BCHECK("xor_public", a, out);
    bshare_copy(a, out);
    uint64_t *p = x0_plane(ctx, out->s[0], out->s[1]);
    if (p)
        for (size_t j = 0; j < a->n; j++) p[j] ^= c;
    return CC_OK;
}

cc_status cc_proto_not(cc_proto *ctx, const cc_bshare *a, cc_bshare *out)
{
    return cc_proto_xor_public(ctx, a, ~UINT64_C(0), out);
}

cc_status cc_proto_and_public(cc_proto *ctx, const cc_bshare *a, uint64_t c, cc_bshare *out)
{
    (void)ctx;
    BCHECK("and_public", a, out);
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < a->n; j++) out->s[k][j] = a->s[k][j] & c;
    return CC_OK;
}

cc_status cc_proto_bshl(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out)
{
    (void)ctx;
    BCHECK("bshl", a, out);
    if (bits > 63) return cc_error_set(CC_ERR_ARG, "bshl: shift %u is not 0..63", bits);
    for (int k = 0; k < 2; k++) cc_ring_shl(a->n, a->s[k], bits, out->s[k]);
    return CC_OK;
}

cc_status cc_proto_bshr(cc_proto *ctx, const cc_bshare *a, unsigned bits, cc_bshare *out)
{
    (void)ctx;
    BCHECK("bshr", a, out);
    if (bits > 63) return cc_error_set(CC_ERR_ARG, "bshr: shift %u is not 0..63", bits);
    for (int k = 0; k < 2; k++) cc_ring_shr_logic(a->n, a->s[k], bits, out->s[k]);
    return CC_OK;
}

/* Gather the even / odd bits of a word into its low half (GF(2)-linear). */
static inline uint64_t even_bits(uint64_t x)
{
    x &= UINT64_C(0x5555555555555555);
    x = (x | (x >> 1)) & UINT64_C(0x3333333333333333);
    x = (x | (x >> 2)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    x = (x | (x >> 4)) & UINT64_C(0x00FF00FF00FF00FF);
    x = (x | (x >> 8)) & UINT64_C(0x0000FFFF0000FFFF);
    x = (x | (x >> 16)) & UINT64_C(0x00000000FFFFFFFF);
    return x;
}
static inline uint64_t odd_bits(uint64_t x) { return even_bits(x >> 1); }

/* PEXT when the CPU has BMI2, unless CARACAL_ISA=ref forces the portable
 * kernels (the tests run both). */
static bool use_bmi2(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *isa = getenv("CARACAL_ISA");
        cached = cc_cpu_features()->bmi2 && !(isa && strcmp(isa, "ref") == 0);
    }
    return cached == 1;
}

/* Portable instance of the fused tree level. */
#define MSB_LEVEL_NAME pr_msb_level_portable
#define EVEN(x) even_bits(x)
#define ODD(x) odd_bits(x)
#define MSB_LEVEL_BODY msb_body_portable
#define MSB_UNZIP_NAME pr_msb_unzip_portable
#define EQ_UNZIP_NAME pr_eq_unzip_portable
#include "msb_level.h"
#undef EVEN
#undef ODD

/* ---- MSB (ABY3 §5.3; DESIGN.md Appendix A) ---------------------------------------------
 * MSB(x) = u_63 ⊕ v_63 ⊕ carry_63(u, v), x = u + v with u = x0 + x1 (P0)
 * and v = x2 (P1, P2).  The carry into bit 63 is the group generate of bits
 * 0..62: shift left by one and reduce 64 spans → 1 with
 *   G = G_hi ⊕ P_hi G_lo,  P = P_hi P_lo.
 * Round 1 computes the whole first level (32 span pairs) at once, because
 * with g = u∧v, p = u⊕v its outputs are bilinear in (bits of u) × (bits of v):
 *   G1 = uh·vh ⊕ (uh ul)·vl ⊕ ul·(vh vl)
 *   P1 = uh ul ⊕ vh vl ⊕ uh·vl ⊕ ul·vh
 * (uh, ul = high / low bit of each pair of u≪1; same for v).  P0 shares
 * W = uh | ul≪32 and Y = (uh∧ul) | u_63≪32 (PRSS shares a0, a1; a2 to next
 * and prev, 8 + 5 bytes each), while P1 sends T(a1) ⊕ σA and P2 sends
 * T(a0) ⊕ σB to P0, where T(w, y) = [G1 part | P1 cross part ≪ 32] is the
 * bilinear form evaluated on one share (8 bytes); P1 and P2 add T(a2) ⊕ σA ⊕ σB
 * once a2 arrives.  σA, σB come from k2 (P1, P2 only).  Then five more
 * levels on 32 → 1 spans, both ANDs of a level in one word of m bits
 * (4, 2, 1, 1, 1 bytes).  Rounds: 6.  Bytes/elem: P0 2·13 + 9 = 35,
 * P1/P2 8 + 9 = 17. */
typedef void (*msb_level_fn)(size_t, unsigned, unsigned, const void *, const void *, size_t,
                             uint64_t *, uint64_t *, const uint64_t *, const uint64_t *, void *,
                             size_t);

/* Run a tree level over thread-sized chunks of the elements (each chunk is
 * the same kernel on offset pointers). */
static void level_chunks(msb_level_fn level, size_t n, unsigned m, unsigned prev_m,
                         const void *rin0, const void *rin1, size_t wb_in, uint64_t *G0,
                         uint64_t *G1, const uint64_t *P0, const uint64_t *P1, void *msg_out,
                         size_t wb_out)
{
    const size_t chunk = 16384, nchunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static) if (n >= PR_PAR_MIN) num_threads(cc_thread_count())
    for (size_t c = 0; c < nchunks; c++) {
        size_t j0 = c * chunk, len = CC_MIN(chunk, n - j0);
        level(len, m, prev_m, (const uint8_t *)rin0 + j0 * wb_in,
              (const uint8_t *)rin1 + j0 * wb_in, wb_in, G0 + j0, G1 + j0, P0 + j0, P1 + j0,
              (uint8_t *)msg_out + j0 * wb_out, wb_out);
    }
}

static inline uint64_t msb_T(uint64_t w, uint64_t y, uint64_t vz)
{
    uint64_t x1 = w & 0xFFFFFFFFu, x2 = w >> 32, x3 = y & 0xFFFFFFFFu;
    uint64_t vh = vz & 0xFFFFFFFFu, vl = vz >> 32;
    uint64_t g = (x1 & vh) ^ (x3 & vl) ^ (x2 & vh & vl);
    uint64_t pc = (x1 & vl) ^ (x2 & vh);
    return g | (pc << 32);
}

static inline void st5(uint8_t *p, uint64_t v) { memcpy(p, &v, 5); }   /* little-endian */
static inline uint64_t ld5(const uint8_t *p)
{
    uint64_t v = 0;
    memcpy(&v, p, 5);
    return v;
}

cc_status pr_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    size_t n = x->n;
    pr_book_op(ctx, CC_OP_MSB, n, 0, ctx->party);
    if (n == 0) return CC_OK;
    cc_status s = CC_OK;
    const size_t mlen = 13 * n;                 /* a2 of W (8 B) and of Y (5 B) */
    uint64_t *buf = pr_alloc(12 * n + (mlen + 7) / 8);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *W0 = buf, *W1 = buf + n, *Y0 = buf + 2 * n, *Y1 = buf + 3 * n;
    uint64_t *G0 = buf + 4 * n, *G1 = buf + 5 * n, *P0 = buf + 6 * n, *P1 = buf + 7 * n;
    uint64_t *Z = buf + 8 * n;                  /* unzipped u or v */
    void *msg[2][2] = {{buf + 9 * n, buf + 10 * n}, {buf + 11 * n, buf + 12 * n}};
    uint8_t *m0 = (uint8_t *)(void *)(buf + 12 * n);   /* round-1 message (P0 out, P1/P2 in) */
    void (*unzip)(size_t, const uint64_t *, const uint64_t *, uint64_t *) =
        use_bmi2() ? pr_msb_unzip_bmi2 : pr_msb_unzip_portable;
    /* rand #1 → W shares (P1, P2 also get σA = F(k2)); rand #2 → Y shares, σB */
    cc_prss_rand(&ctx->prss, n, W0, W1);
    cc_prss_rand(&ctx->prss, n, Y0, Y1);
    const int me = ctx->party;
    if (me == 0) {
        unzip(n, x->s[0], x->s[1], Z);
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t u63 = (x->s[0][j] + x->s[1][j]) >> 63;
            uint64_t w = Z[j], y = (w & (w >> 32)) | (u63 << 32);
            memcpy(m0 + 8 * j, &(uint64_t){w ^ W0[j] ^ W1[j]}, 8);
            st5(m0 + 8 * n + 5 * j, y ^ Y0[j] ^ Y1[j]);
        }
        s = cc_net_send(ctx->net, CC_NEXT, m0, mlen);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, m0, mlen);
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_NEXT, G1, 8 * n);   /* q1 from P1 */
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_PREV, G0, 8 * n);   /* q0 from P2 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
    } else {
        /* P1: (W1, w2), σA = W1 slot 1; P2: (w2, W0), σA = slot 0 of rand #1 */
        const bool p1 = me == 1;
        const uint64_t *v = p1 ? x->s[1] : x->s[0];
        unzip(n, v, NULL, Z);
        uint64_t *wmine = p1 ? W0 : W1, *ymine = p1 ? Y0 : Y1;     /* a1 (P1) or a0 (P2) */
        uint64_t *sigA = p1 ? W1 : W0, *sigB = p1 ? Y1 : Y0;      /* the F(k2) halves */
        uint64_t *qmine = p1 ? G0 : G1, *q2 = p1 ? G1 : G0;
        const uint64_t *mask = p1 ? sigA : sigB;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) qmine[j] = msb_T(wmine[j], ymine[j], Z[j]) ^ mask[j];
        s = cc_net_send(ctx->net, p1 ? CC_PREV : CC_NEXT, qmine, 8 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, p1 ? CC_PREV : CC_NEXT, m0, mlen);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        /* index-2 shares arrive: w2, y2; put them in the σ slots (no longer needed
         * after q2 is formed) */
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w2, y2 = ld5(m0 + 8 * n + 5 * j);
            memcpy(&w2, m0 + 8 * j, 8);
            q2[j] = msb_T(w2, y2, Z[j]) ^ sigA[j] ^ sigB[j];
            sigA[j] = w2;
            sigB[j] = y2;
        }
    }
    /* Now every party has, for its slots k = 0, 1: Y_k and Q_k (Q in G0/G1).
     * Slot layout: P0 (idx 0, 1), P1 (idx 1, 2), P2 (idx 2, 0). */
    {
        uint64_t *Ys[2] = {Y0, Y1}, *Gs[2] = {G0, G1}, *Ps[2] = {P0, P1};
        for (int k = 0; k < 2; k++) {
            const bool idx2 = (me == 1 && k == 1) || (me == 2 && k == 0);
            uint64_t *Yk = Ys[k], *Gk = Gs[k], *Pk = Ps[k];
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                uint64_t q = Gk[j], y = Yk[j];
                uint64_t vv = idx2 ? ((Z[j] & (Z[j] >> 32)) & 0xFFFFFFFFu) : 0;   /* vh ∧ vl */
                uint64_t v63 = idx2 ? (k == 1 ? x->s[1][j] : x->s[0][j]) >> 63 : 0;
                Gk[j] = q & 0xFFFFFFFFu;
                Pk[j] = (q >> 32) ^ (y & 0xFFFFFFFFu) ^ vv;
                out->s[k][j] = ((y >> 32) & 1) ^ v63;
            }
        }
    }
    msb_level_fn level = use_bmi2() ? pr_msb_level_bmi2 : pr_msb_level_portable;
    unsigned prev_m = 0;
    size_t wb_in = 0;
    int cur = 0;
    for (unsigned m = 32; m >= 2; m /= 2) {
        size_t wb = pr_width_bytes(m > 2 ? m : 1), words = (n * wb + 7) / 8;
        void **in = msg[cur ^ 1], **outm = msg[cur];
        level_chunks(level, n, m, prev_m, in[0], in[1], wb_in, G0, G1, P0, P1, outm[0], wb);
        /* XOR-zero mask on the packed message (linear), then the AND's reshare */
        uint64_t *mine = outm[0], *zero = outm[1];
        if ((n * wb) % 8) memset((uint8_t *)mine + n * wb, 0, 8 * words - n * wb);
        cc_prss_zero_xor(&ctx->prss, words, zero);
        cc_ring_xor(words, mine, zero, mine);
        s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, outm[1], n * wb);
        if (s != CC_OK) goto out;
        prev_m = m > 2 ? m : 1;
        wb_in = wb;
        cur ^= 1;
    }
    /* carry = G_hi ⊕ (P_hi ∧ G_lo) of the last level */
    {
        void **in = msg[cur ^ 1];
        for (size_t j = 0; j < n; j++) {
            out->s[0][j] ^= (G0[j] ^ msb_ld(in[0], wb_in, j)) & 1;
            out->s[1][j] ^= (G1[j] ^ msb_ld(in[1], wb_in, j)) & 1;
        }
    }
out:
    pr_free(buf);
    return s;
}

cc_status cc_proto_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    CC_TRY(pr_check_n("msb", "output", out->n, x->n));
    pr_enter(ctx, "msb");
    cc_status s = pr_msb(ctx, x, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto msb");
}

/* Less-than = MSB(a − b), valid while |a − b| < 2^63. */
cc_status cc_proto_lt(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_bshare *out)
{
    CC_TRY(pr_check_n("lt", "second operand", b->n, a->n));
    CC_TRY(pr_check_n("lt", "output", out->n, a->n));
    cc_ashare d;
    CC_TRY(pr_ashare_tmp(&d, a->n));
    pr_enter(ctx, "lt");
    cc_status s = cc_proto_sub(ctx, a, b, &d);
    if (s == CC_OK) s = pr_msb(ctx, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto lt");
}

static cc_status lt_public_impl(cc_proto *ctx, const cc_ashare *a, uint64_t c,
                                const uint64_t *cv, bool greater, cc_bshare *out,
                                const char *op)
{
    CC_TRY(pr_check_n(op, "output", out->n, a->n));
    cc_ashare d;
    CC_TRY(pr_ashare_tmp(&d, a->n));
    pr_enter(ctx, op);
    cc_status s = CC_OK;
    /* a < c ⇔ MSB(a − c);  a > c ⇔ MSB(c − a) */
    if (greater) {
        s = cc_proto_neg(ctx, a, &d);
        if (s == CC_OK) pr_add_public_plane(ctx, a->n, c, cv, d.s[0], d.s[1]);
    } else {
        memcpy(d.s[0], a->s[0], 8 * a->n);
        memcpy(d.s[1], a->s[1], 8 * a->n);
        if (cv) {
            uint64_t *neg = pr_alloc(a->n);
            if (!neg) s = CC_ERR_NOMEM;
            else {
                for (size_t j = 0; j < a->n; j++) neg[j] = (uint64_t)0 - cv[j];
                pr_add_public_plane(ctx, a->n, 0, neg, d.s[0], d.s[1]);
                pr_free(neg);
            }
        } else {
            pr_add_public_plane(ctx, a->n, (uint64_t)0 - c, NULL, d.s[0], d.s[1]);
        }
    }
    if (s == CC_OK) s = pr_msb(ctx, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto %s", op);
}

cc_status cc_proto_lt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out)
{
    return lt_public_impl(ctx, a, c, NULL, false, out, "lt_public");
}

cc_status cc_proto_lt_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                 cc_bshare *out)
{
    return lt_public_impl(ctx, a, 0, c, false, out, "lt_public");
}

cc_status cc_proto_gt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out)
{
    return lt_public_impl(ctx, a, c, NULL, true, out, "gt_public");
}

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

/* ---- equality (DESIGN.md §4: masked re-sharing + log-depth AND tree) ------------------------
 * d = a − b = u + v with u = d0 + d1 (P0) and v = d2 (P1, P2); d = 0 iff
 * w = ¬u ⊕ (−v) is all ones, so EQ = AND of the 64 bits of w.  As in MSB,
 * the first AND level (32 bit pairs) is bilinear in P0's and P1/P2's data:
 *   w_hi w_lo = (ūh ūl) ⊕ (vh vl) ⊕ ūh·vl ⊕ ūl·vh      (ū = ¬u, v ← −v)
 * so it is computed while P0 re-shares W = ūh | ūl≪32 and Y = ūh ∧ ūl
 * (a2 to next and prev: 8 + 4 bytes each) and P1 / P2 send their cross terms
 * on a1 / a0 masked with σA / σB from k2 (4 bytes).  Then an AND tree
 * 32 → 1 (widths 16, 8, 4, 2, 1: 2+1+1+1+1 bytes).  No helper, no opening.
 * Rounds: 6.  Bytes/elem: P0 2·12 + 6 = 30, P1/P2 4 + 6 = 10. */
static cc_status eq_impl(cc_proto *ctx, const cc_ashare *d, cc_bshare *out)
{
    size_t n = d->n;
    pr_book_op(ctx, CC_OP_EQ, n, 0, ctx->party);
    if (n == 0) return CC_OK;
    cc_status s = CC_OK;
    const size_t mlen = 12 * n;
    uint64_t *buf = pr_alloc(7 * n + (mlen + 7) / 8 + (4 * n + 7) / 8 * 2);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *W0 = buf, *W1 = buf + n, *Y0 = buf + 2 * n, *Y1 = buf + 3 * n, *Z = buf + 4 * n;
    uint64_t *A = buf + 5 * n;                         /* 2n: tree operands */
    uint8_t *m0 = (uint8_t *)(void *)(buf + 7 * n);    /* round-1 message */
    uint32_t *qa = (uint32_t *)(void *)(buf + 7 * n + (mlen + 7) / 8);
    uint32_t *qb = qa + ((4 * n + 7) / 8) * 2;
    uint64_t *w0 = out->s[0], *w1 = out->s[1];
    void (*unzip)(size_t, const uint64_t *, const uint64_t *, bool, uint64_t *) =
        use_bmi2() ? pr_eq_unzip_bmi2 : pr_eq_unzip_portable;
    cc_prss_rand(&ctx->prss, n, W0, W1);
    cc_prss_rand(&ctx->prss, n, Y0, Y1);
    const int me = ctx->party;
    if (me == 0) {
        unzip(n, d->s[0], d->s[1], true, Z);
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w = Z[j], y = w & (w >> 32) & 0xFFFFFFFFu;
            uint64_t w2 = w ^ W0[j] ^ W1[j];
            uint32_t y2 = (uint32_t)(y ^ Y0[j] ^ Y1[j]);
            memcpy(m0 + 8 * j, &w2, 8);
            memcpy(m0 + 8 * n + 4 * j, &y2, 4);
        }
        s = cc_net_send(ctx->net, CC_NEXT, m0, mlen);
        if (s == CC_OK) s = cc_net_send(ctx->net, CC_PREV, m0, mlen);
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_NEXT, qb, 4 * n);   /* q1 from P1 */
        if (s == CC_OK) s = cc_net_recv(ctx->net, CC_PREV, qa, 4 * n);   /* q0 from P2 */
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        for (size_t j = 0; j < n; j++) {
            w0[j] = (qa[j] ^ Y0[j]) & 0xFFFFFFFFu;
            w1[j] = (qb[j] ^ Y1[j]) & 0xFFFFFFFFu;
        }
    } else {
        const bool p1 = me == 1;
        const uint64_t *v = p1 ? d->s[1] : d->s[0];
        uint64_t *negv = A;
        for (size_t j = 0; j < n; j++) negv[j] = (uint64_t)0 - v[j];
        unzip(n, negv, NULL, false, Z);                /* vh | vl ≪ 32 */
        const uint64_t *wmine = p1 ? W0 : W1, *ymine = p1 ? Y0 : Y1;
        const uint64_t *sigA = p1 ? W1 : W0, *sigB = p1 ? Y1 : Y0;
        const uint64_t *mask = p1 ? sigA : sigB;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w = wmine[j], vz = Z[j];
            qa[j] = (uint32_t)(((w & (vz >> 32)) ^ ((w >> 32) & vz)) ^ mask[j]);
        }
        s = cc_net_send(ctx->net, p1 ? CC_PREV : CC_NEXT, qa, 4 * n);
        if (s == CC_OK) s = cc_net_recv(ctx->net, p1 ? CC_PREV : CC_NEXT, m0, mlen);
        cc_status f = cc_net_flush(ctx->net);
        if (s == CC_OK) s = f;
        if (s != CC_OK) goto out;
        /* slots: P1 (idx1, idx2), P2 (idx2, idx0) */
        uint64_t *emine = p1 ? w0 : w1, *e2 = p1 ? w1 : w0;
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t w2, vz = Z[j];
            uint32_t y2;
            memcpy(&w2, m0 + 8 * j, 8);
            memcpy(&y2, m0 + 8 * n + 4 * j, 4);
            uint64_t q2 = ((w2 & (vz >> 32)) ^ ((w2 >> 32) & vz)) ^ sigA[j] ^ sigB[j];
            uint64_t v3 = vz & (vz >> 32);              /* vh ∧ vl */
            emine[j] = ((uint64_t)qa[j] ^ ymine[j]) & 0xFFFFFFFFu;
            e2[j] = (q2 ^ y2 ^ v3) & 0xFFFFFFFFu;
        }
    }
    /* AND tree 32 → 1: fold the high half onto the low half */
    for (unsigned m = 32; m >= 2; m /= 2) {
        unsigned half = m / 2;
        uint64_t lo = (UINT64_C(1) << half) - 1;
        for (size_t j = 0; j < n; j++) {
            A[j] = w0[j] >> half;       A[n + j] = w1[j] >> half;
            w0[j] &= lo;                w1[j] &= lo;
        }
        s = pr_and_width(ctx, n, half, A, A + n, w0, w1, w0, w1);
        if (s != CC_OK) goto out;
    }
out:
    pr_free(buf);
    return s;
}

cc_status cc_proto_eq(cc_proto *ctx, const cc_ashare *a, const cc_ashare *b, cc_bshare *out)
{
    CC_TRY(pr_check_n("eq", "second operand", b->n, a->n));
    CC_TRY(pr_check_n("eq", "output", out->n, a->n));
    cc_ashare d;
    CC_TRY(pr_ashare_tmp(&d, a->n));
    pr_enter(ctx, "eq");
    cc_status s = cc_proto_sub(ctx, a, b, &d);
    if (s == CC_OK) s = eq_impl(ctx, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto eq");
}

cc_status cc_proto_eq_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out)
{
    CC_TRY(pr_check_n("eq_public", "output", out->n, a->n));
    cc_ashare d;
    CC_TRY(pr_ashare_tmp(&d, a->n));
    pr_enter(ctx, "eq_public");
    cc_status s = cc_proto_add_public(ctx, a, (uint64_t)0 - c, &d);
    if (s == CC_OK) s = eq_impl(ctx, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto eq_public");
}
