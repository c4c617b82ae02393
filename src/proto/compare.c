/* Comparisons on replicated shares: MSB / less-than and equality, both
 * with their first circuit level inside P0's re-sharing round (docs/PROTOCOLS.md,
 * Appendix A; ABY3 ePrint 2018/403 §5.3; derivations in docs/PROTOCOLS.md). */
#include "proto_impl.h"

/* ---- MSB (ABY3 §5.3; docs/PROTOCOLS.md) ---------------------------------------------
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
 * (4, 2, 1 bytes; the 4-bit and 1-bit levels bit-packed, 2 resp. 8
 * elements per byte).  Rounds: 6.  Bytes/elem: P0 2·13 + 7 + 1/2 + 1/8
 * = 33.625, P1/P2 8 + 7.625 = 15.625 (each level's message is rounded up
 * to whole bytes once, not per element).  "P0" is a role, not a party: the elements are split
 * into thirds and P_t re-shares on third t (pr_third_lo), all thirds in the
 * same round-1 messages, so every party sends 14 + 7.625 = 21.625 B/elem
 * (±1 element) and the total is 64.9 B/elem.  The tree levels after round 1
 * are the same for every role. */
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

/* The low `bits` (1 or 4) of each byte-per-element message, 8 / bits
 * elements per byte (little-endian within the byte); pack zero-fills the
 * `words` words of its output. */
static void pack_bits(size_t n, unsigned bits, const void *in, uint64_t *out, size_t words)
{
    const uint8_t *b = in;
    uint8_t *o = (uint8_t *)out;
    const unsigned per = 8 / bits;
    const uint8_t mask = (uint8_t)((1u << bits) - 1);
    memset(out, 0, 8 * words);
    for (size_t j = 0; j < n; j++)
        o[j / per] |= (uint8_t)((b[j] & mask) << (bits * (j % per)));
}

static void unpack_bits(size_t n, unsigned bits, const uint64_t *in, void *out)
{
    const uint8_t *p = (const uint8_t *)in;
    uint8_t *o = out;
    const unsigned per = 8 / bits;
    const uint8_t mask = (uint8_t)((1u << bits) - 1);
    for (size_t j = 0; j < n; j++) o[j] = (p[j / per] >> (bits * (j % per))) & mask;
}

/* Round 1 of the MSB for one third of the elements (pointers already offset
 * to it, nt elements), in this party's role r for that third.  Role 0 (the
 * re-sharer, "P0" above) writes W, Y shares a2 into msg (8·nt then 5·nt
 * bytes, sent to next and prev); role 1 ("P1") writes its masked cross term
 * q to msg (8·nt, to prev), role 2 ("P2") likewise (to next). */
/* Narrow MSB (|x| < 2^32): the 32 low bits pair up into 16 spans, unzipped
 * as hi | lo << 16; T16 is msb_T on 16-bit halves. */
static inline uint64_t even16(uint64_t x)
{
    x &= 0x55555555u;
    x = (x | (x >> 1)) & 0x33333333u;
    x = (x | (x >> 2)) & 0x0F0F0F0Fu;
    x = (x | (x >> 4)) & 0x00FF00FFu;
    x = (x | (x >> 8)) & 0x0000FFFFu;
    return x;
}
static inline uint64_t unzip16(uint64_t w) { return even16(w >> 1) | (even16(w) << 16); }

static inline uint64_t msb_T16(uint64_t w, uint64_t y, uint64_t vz)
{
    uint64_t x1 = w & 0xFFFFu, x2 = (w >> 16) & 0xFFFFu, x3 = y & 0xFFFFu;
    uint64_t vh = vz & 0xFFFFu, vl = (vz >> 16) & 0xFFFFu;
    uint64_t g = (x1 & vh) ^ (x3 & vl) ^ (x2 & vh & vl);
    uint64_t pc = (x1 & vl) ^ (x2 & vh);
    return g | (pc << 16);
}

/* Round-1 message sizes per element: role 0's W and Y shares, the others' q. */
static inline size_t r1_wy_bytes(bool narrow) { return narrow ? 7 : 13; }
static inline size_t r1_q_bytes(bool narrow) { return narrow ? 4 : 8; }

/* Round 1 of the MSB for one third of the elements (pointers already offset
 * to it, n elements), in this party's role r for that third.  Role 0 (the
 * re-sharer, "P0" above) writes W, Y shares a2 into msg (8·n then 5·n
 * bytes; narrow: 4·n then 3·n), sent to next and prev; role 1 ("P1") writes
 * its masked cross term q to msg (8·n, narrow 4·n; to prev), role 2 ("P2")
 * likewise (to next). */
static void msb_r1_send(int r, bool narrow, size_t n, const uint64_t *x0, const uint64_t *x1,
                        const uint64_t *W0, const uint64_t *W1, const uint64_t *Y0,
                        const uint64_t *Y1, uint64_t *G0, uint64_t *G1, uint64_t *Z, uint8_t *msg)
{
    void (*unzip)(size_t, const uint64_t *, const uint64_t *, uint64_t *) =
        pr_use_bmi2() ? pr_msb_unzip_bmi2 : pr_msb_unzip_portable;
    if (r == 0) {
        if (narrow) {
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                uint64_t u = x0[j] + x1[j], w = unzip16(u & 0xFFFFFFFFu);
                uint64_t y = (w & (w >> 16) & 0xFFFFu) | (((u >> 32) & 1) << 16);
                Z[j] = w;
                uint32_t wm = (uint32_t)(w ^ W0[j] ^ W1[j]);
                uint64_t ym = y ^ Y0[j] ^ Y1[j];
                memcpy(msg + 4 * j, &wm, 4);
                memcpy(msg + 4 * n + 3 * j, &ym, 3);   /* little-endian: 17 bits */
            }
            return;
        }
        unzip(n, x0, x1, Z);
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) {
            uint64_t u63 = (x0[j] + x1[j]) >> 63;
            uint64_t w = Z[j], y = (w & (w >> 32)) | (u63 << 32);
            memcpy(msg + 8 * j, &(uint64_t){w ^ W0[j] ^ W1[j]}, 8);
            st5(msg + 8 * n + 5 * j, y ^ Y0[j] ^ Y1[j]);
        }
        return;
    }
    /* role 1: (W1, w2), σA = W1 slot 1; role 2: (w2, W0), σA = slot 0 of rand #1 */
    const bool r1 = r == 1;
    const uint64_t *v = r1 ? x1 : x0;
    if (narrow) {
        PR_OMP_FOR(n)
        for (size_t j = 0; j < n; j++) Z[j] = unzip16(v[j] & 0xFFFFFFFFu);
    } else {
        unzip(n, v, NULL, Z);
    }
    const uint64_t *wmine = r1 ? W0 : W1, *ymine = r1 ? Y0 : Y1;   /* a1 (r1) or a0 (r2) */
    const uint64_t *mask = r1 ? W1 : Y0;                           /* σA (r1) or σB (r2) */
    uint64_t *qmine = r1 ? G0 : G1;
    const size_t qb = r1_q_bytes(narrow);
    PR_OMP_FOR(n)
    for (size_t j = 0; j < n; j++) {
        uint64_t q = narrow ? (msb_T16(wmine[j], ymine[j], Z[j]) ^ mask[j]) & 0xFFFFFFFFu
                            : msb_T(wmine[j], ymine[j], Z[j]) ^ mask[j];
        qmine[j] = q;
        memcpy(msg + qb * j, &q, qb);
    }
}

/* The receiving half: role 0 takes q from next (→ G1) or prev (→ G0); roles
 * 1 and 2 take the index-2 shares w2, y2, form q2 and keep w2, y2 in the σ
 * slots (no longer needed once q2 is formed). */
static void msb_r1_recv(int r, bool narrow, bool from_next, size_t n, uint64_t *W0,
                        uint64_t *W1, uint64_t *Y0, uint64_t *Y1, uint64_t *G0, uint64_t *G1,
                        const uint64_t *Z, const uint8_t *msg)
{
    if (r == 0) {
        uint64_t *q = from_next ? G1 : G0;
        if (!narrow) { memcpy(q, msg, 8 * n); return; }
        for (size_t j = 0; j < n; j++) {
            uint32_t v;
            memcpy(&v, msg + 4 * j, 4);
            q[j] = v;
        }
        return;
    }
    const bool r1 = r == 1;
    uint64_t *sigA = r1 ? W1 : W0, *sigB = r1 ? Y1 : Y0, *q2 = r1 ? G1 : G0;
    PR_OMP_FOR(n)
    for (size_t j = 0; j < n; j++) {
        uint64_t w2 = 0, y2 = 0;
        if (narrow) {
            memcpy(&w2, msg + 4 * j, 4);
            memcpy(&y2, msg + 4 * n + 3 * j, 3);
            q2[j] = (msb_T16(w2, y2, Z[j]) ^ sigA[j] ^ sigB[j]) & 0xFFFFFFFFu;
        } else {
            y2 = ld5(msg + 8 * n + 5 * j);
            memcpy(&w2, msg + 8 * j, 8);
            q2[j] = msb_T(w2, y2, Z[j]) ^ sigA[j] ^ sigB[j];
        }
        sigA[j] = w2;
        sigB[j] = y2;
    }
}

void pr_msb_r1_plan(int party, size_t n, size_t resharer_bytes, size_t other_bytes,
                    size_t lo[4], int role[3], size_t snd[2], size_t rcv[2])
{
    snd[0] = snd[1] = rcv[0] = rcv[1] = 0;
    for (int t = 0; t <= 3; t++) lo[t] = pr_third_lo(n, t);
    for (int t = 0; t < 3; t++) {
        const size_t nt = lo[t + 1] - lo[t], r = resharer_bytes * nt, o = other_bytes * nt;
        role[t] = pr_mod3(party - t);
        if (role[t] == 0) { snd[0] += r; snd[1] += r; rcv[0] += o; rcv[1] += o; }
        if (role[t] == 1) { snd[1] += o; rcv[1] += r; }
        if (role[t] == 2) { snd[0] += o; rcv[0] += r; }
    }
}

/* The carry tree after a one-round first level (shared by both first
 * levels, msb_core here and the digit one in msb_digits.c): G and P hold
 * `spans` span generates / propagates per element (bit i = span i, spans
 * a power of two, 4..32), out the bits the final carry is XORed into.
 * Levels halve the spans, both ANDs of a level in one word; the last two
 * levels' bits travel packed.  log2(spans) rounds.  msg: two pairs of
 * buffers of at least n·pr_width_bytes(spans) bytes, pk: 2·((n+15)/16+1)
 * words. */
cc_status pr_msb_tree(cc_proto *ctx, size_t n, unsigned spans, uint64_t *G0, uint64_t *G1,
                      uint64_t *P0, uint64_t *P1, void *msg[2][2], uint64_t *pk, cc_bshare *out)
{
    cc_status s = CC_OK;
    const unsigned hb = spans;
    msb_level_fn level = pr_use_bmi2() ? pr_msb_level_bmi2 : pr_msb_level_portable;
    unsigned prev_m = 0;
    size_t wb_in = 0;
    int cur = 0;
    for (unsigned m = hb; m >= 2; m /= 2) {
        size_t wb = pr_width_bytes(m > 2 ? m : 1), words = (n * wb + 7) / 8;
        void **in = msg[cur ^ 1], **outm = msg[cur];
        level_chunks(level, n, m, prev_m, in[0], in[1], wb_in, G0, G1, P0, P1, outm[0], wb);
        const unsigned bits = m > 2 ? m : 1;    /* significant bits per element */
        if (bits < 8) {
            /* the last two levels carry 4 and 1 bits: several elements per
             * byte on the wire, unpacked to bytes for the next level */
            size_t pb = (n * bits + 7) / 8, pw = (pb + 7) / 8;
            uint64_t *mine = pk, *theirs = pk + pw;
            pack_bits(n, bits, outm[0], mine, pw);
            cc_prss_zero_xor(&ctx->prss, pw, theirs);
            cc_ring_xor(pw, mine, theirs, mine);
            s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, theirs, pb);
            if (s != CC_OK) return s;
            unpack_bits(n, bits, mine, outm[0]);
            unpack_bits(n, bits, theirs, outm[1]);
            prev_m = bits;
            wb_in = wb;
            cur ^= 1;
            continue;
        }
        /* XOR-zero mask on the packed message (linear), then the AND's reshare */
        uint64_t *mine = outm[0], *zero = outm[1];
        if ((n * wb) % 8) memset((uint8_t *)mine + n * wb, 0, 8 * words - n * wb);
        cc_prss_zero_xor(&ctx->prss, words, zero);
        cc_ring_xor(words, mine, zero, mine);
        s = cc_net_exchange(ctx->net, CC_PREV, mine, CC_NEXT, outm[1], n * wb);
        if (s != CC_OK) return s;
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
    return CC_OK;
}

static cc_status msb_core(cc_proto *ctx, const cc_ashare *x, bool narrow, cc_bshare *out)
{
    size_t n = x->n;
    pr_book_op(ctx, narrow ? CC_OP_MSB_NARROW : CC_OP_MSB, n, 0, ctx->party);
    if (n == 0) return CC_OK;
    const size_t wy = r1_wy_bytes(narrow), qb = r1_q_bytes(narrow);
    cc_status s = CC_OK;
    const int me = ctx->party;
    size_t lo[4], snd[2], rcv[2];                      /* [0]: next link, [1]: prev link */
    int role[3];
    pr_msb_r1_plan(me, n, wy, qb, lo, role, snd, rcv);
    const size_t mw = (13 * n + 7) / 8;          /* words of one round-1 message buffer */
    const size_t kw = (n + 15) / 16 + 1;         /* words of a 4-bit packed level message */
    uint64_t *buf = pr_alloc(9 * n + 4 * mw + 2 * kw);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *W0 = buf, *W1 = buf + n, *Y0 = buf + 2 * n, *Y1 = buf + 3 * n;
    uint64_t *G0 = buf + 4 * n, *G1 = buf + 5 * n, *P0 = buf + 6 * n, *P1 = buf + 7 * n;
    uint64_t *Z = buf + 8 * n;                  /* unzipped u or v */
    uint8_t *sm[2] = {(uint8_t *)(void *)(buf + 9 * n), (uint8_t *)(void *)(buf + 9 * n + mw)};
    uint8_t *rm[2] = {(uint8_t *)(void *)(buf + 9 * n + 2 * mw),
                      (uint8_t *)(void *)(buf + 9 * n + 3 * mw)};
    uint64_t *pk = buf + 9 * n + 4 * mw;        /* bit-packed level messages (2 × kw) */
    /* the tree levels' messages reuse the round-1 buffers (≤ 4 bytes/elem each) */
    void *msg[2][2] = {{sm[0], sm[1]}, {rm[0], rm[1]}};
    /* rand #1 → W shares (roles 1, 2 also get σA = F(k of the pair without
     * the re-sharer)); rand #2 → Y shares, σB */
    cc_prss_rand(&ctx->prss, n, W0, W1);
    cc_prss_rand(&ctx->prss, n, Y0, Y1);
    {
        size_t off[2] = {0, 0};
        for (int t = 0; t < 3; t++) {
            size_t a = lo[t], nt = lo[t + 1] - a;
            if (nt == 0) continue;
            const int r = role[t];
            int d = r == 1 ? 1 : 0;              /* role 1 writes to the prev message */
            msb_r1_send(r, narrow, nt, x->s[0] + a, x->s[1] + a, W0 + a, W1 + a, Y0 + a, Y1 + a,
                        G0 + a, G1 + a, Z + a, sm[d] + off[d]);
            if (r == 0) memcpy(sm[1] + off[1], sm[0] + off[0], wy * nt);
            if (r == 0) { off[0] += wy * nt; off[1] += wy * nt; }
            else off[d] += qb * nt;
        }
        s = pr_exchange_both(ctx, (const void *const[2]){ sm[0], sm[1] }, snd,
                             (void *const[2]){ rm[0], rm[1] }, rcv);
        if (s != CC_OK) goto out;
        off[0] = off[1] = 0;
        for (int t = 0; t < 3; t++) {
            size_t a = lo[t], nt = lo[t + 1] - a;
            if (nt == 0) continue;
            const int r = role[t];
            /* role 0 hears from both links; role 1 from prev, role 2 from next */
            for (int d = 0; d < 2; d++) {
                if ((r == 1 && d == 0) || (r == 2 && d == 1)) continue;
                msb_r1_recv(r, narrow, d == 0, nt, W0 + a, W1 + a, Y0 + a, Y1 + a, G0 + a, G1 + a,
                            Z + a, rm[d] + off[d]);
                off[d] += (r == 0 ? qb : wy) * nt;
            }
        }
    }
    /* Now every party has, for its slots k = 0, 1: Y_k and Q_k (Q in G0/G1).
     * Slot layout: P0 (idx 0, 1), P1 (idx 1, 2), P2 (idx 2, 0).  Narrow:
     * the same on 16-bit halves, and the result bit is bit 32. */
    const unsigned hb = narrow ? 16 : 32, topbit = narrow ? 32 : 63;
    const uint64_t hm = (UINT64_C(1) << hb) - 1;
    {
        uint64_t *Ys[2] = {Y0, Y1}, *Gs[2] = {G0, G1}, *Ps[2] = {P0, P1};
        for (int k = 0; k < 2; k++) {
            uint64_t *Yk = Ys[k], *Gk = Gs[k], *Pk = Ps[k];
            PR_OMP_FOR(n)
            for (size_t j = 0; j < n; j++) {
                const int r = role[j < lo[1] ? 0 : j < lo[2] ? 1 : 2];
                const bool idx2 = (r == 1 && k == 1) || (r == 2 && k == 0);
                uint64_t q = Gk[j], y = Yk[j];
                uint64_t vv = idx2 ? (Z[j] & (Z[j] >> hb) & hm) : 0;   /* vh ∧ vl */
                uint64_t vtop = idx2 ? (x->s[k][j] >> topbit) & 1 : 0;
                Gk[j] = q & hm;
                Pk[j] = ((q >> hb) ^ y ^ vv) & hm;
                out->s[k][j] = ((y >> hb) & 1) ^ vtop;
            }
        }
    }
    s = pr_msb_tree(ctx, n, hb, G0, G1, P0, P1, msg, pk, out);
out:
    pr_free(buf);
    return s;
}

cc_status pr_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return msb_core(ctx, x, false, out);
}

/* The MSB variants (proto.h, cc_msb_kind): one entry each, chosen by the
 * caller per call site. */
static cc_status run_full(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return msb_core(ctx, x, false, out);
}
static cc_status run_narrow(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return msb_core(ctx, x, true, out);
}
static cc_status run_digits(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return pr_msb_digits(ctx, x, false, 4, out);
}
static cc_status run_narrow_digits(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return pr_msb_digits(ctx, x, true, 4, out);
}
static cc_status run_digits8(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return pr_msb_digits(ctx, x, false, 8, out);
}
static cc_status run_narrow_digits8(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return pr_msb_digits(ctx, x, true, 8, out);
}
static cc_status run_digits16(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return pr_msb_digits(ctx, x, false, 16, out);
}

typedef struct msb_variant {
    const char *msb_tag, *lt_tag;
    cc_proto_op op;
    cc_status (*run)(cc_proto *ctx, const cc_ashare *x, cc_bshare *out);
    unsigned digit_bits;       /* 0: bit pairs (no shared multi-threshold round 1) */
    bool narrow;
} msb_variant;

static const msb_variant msb_variants[CC_MSB_KIND_COUNT] = {
    [CC_MSB_FULL] = { "msb", "lt_public", CC_OP_MSB, run_full, 0, false },
    [CC_MSB_NARROW] = { "msb_narrow", "lt_public_narrow", CC_OP_MSB_NARROW, run_narrow, 0, true },
    [CC_MSB_DIGITS] = { "msb_digits", "lt_public_digits", CC_OP_MSB_DIGITS, run_digits, 4, false },
    [CC_MSB_NARROW_DIGITS] = { "msb_narrow_digits", "lt_public_narrow_digits",
                               CC_OP_MSB_NARROW_DIGITS, run_narrow_digits, 4, true },
    [CC_MSB_DIGITS8] = { "msb_digits8", "lt_public_digits8", CC_OP_MSB_DIGITS8, run_digits8, 8,
                         false },
    [CC_MSB_NARROW_DIGITS8] = { "msb_narrow_digits8", "lt_public_narrow_digits8",
                                CC_OP_MSB_NARROW_DIGITS8, run_narrow_digits8, 8, true },
    [CC_MSB_DIGITS16] = { "msb_digits16", "lt_public_digits16", CC_OP_MSB_DIGITS16, run_digits16,
                          16, false },
};

static const msb_variant *msb_variant_of(cc_msb_kind kind)
{
    if ((unsigned)kind >= CC_MSB_KIND_COUNT) {
        cc_error_set(CC_ERR_ARG, "proto msb: unknown variant %d", (int)kind);
        return NULL;
    }
    return &msb_variants[kind];
}

cc_proto_op cc_proto_msb_op(cc_msb_kind kind)
{
    return (unsigned)kind < CC_MSB_KIND_COUNT ? msb_variants[kind].op : CC_OP_MSB;
}

cc_status cc_proto_msb_kind(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *x, cc_bshare *out)
{
    const msb_variant *v = msb_variant_of(kind);
    if (!v) return CC_ERR_ARG;
    CC_TRY(pr_check_n(v->msb_tag, "output", out->n, x->n));
    pr_enter(ctx, v->msb_tag);
    cc_status s = v->run(ctx, x, out);
    pr_exit(ctx);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto %s", v->msb_tag);
}

cc_status cc_proto_msb(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return cc_proto_msb_kind(ctx, CC_MSB_FULL, x, out);
}

cc_status cc_proto_msb_narrow(cc_proto *ctx, const cc_ashare *x, cc_bshare *out)
{
    return cc_proto_msb_kind(ctx, CC_MSB_NARROW, x, out);
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
                                const uint64_t *cv, bool greater, cc_msb_kind kind,
                                cc_bshare *out, const char *op)
{
    const msb_variant *v = msb_variant_of(kind);
    if (!v) return CC_ERR_ARG;
    if (!op) op = v->lt_tag;
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
    if (s == CC_OK) s = v->run(ctx, &d, out);
    pr_exit(ctx);
    cc_ashare_free(&d);
    return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto %s", op);
}

cc_status cc_proto_lt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out)
{
    return lt_public_impl(ctx, a, c, NULL, false, CC_MSB_FULL, out, NULL);
}

cc_status cc_proto_lt_public_vec(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                 cc_bshare *out)
{
    return lt_public_impl(ctx, a, 0, c, false, CC_MSB_FULL, out, NULL);
}

cc_status cc_proto_lt_public_vec_narrow(cc_proto *ctx, const cc_ashare *a, const uint64_t *c,
                                        cc_bshare *out)
{
    return lt_public_impl(ctx, a, 0, c, false, CC_MSB_NARROW, out, NULL);
}

cc_status cc_proto_lt_public_vec_kind(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *a,
                                      const uint64_t *c, cc_bshare *out)
{
    return lt_public_impl(ctx, a, 0, c, false, kind, out, NULL);
}

/* m thresholds: the digit variants share round 1 (msb_digits.c), the
 * bit-pair ones compare m copies of a in one batch. */
cc_status cc_proto_lt_public_multi(cc_proto *ctx, cc_msb_kind kind, const cc_ashare *a, size_t m,
                                   const uint64_t *c, cc_bshare *out)
{
    const msb_variant *v = msb_variant_of(kind);
    if (!v) return CC_ERR_ARG;
    if (m == 0) return pr_check_n("lt_public_multi", "output", out->n, 0);
    if (!c) return cc_error_set(CC_ERR_ARG, "proto lt_public_multi: thresholds are NULL");
    if (m > SIZE_MAX / (a->n ? a->n : 1))
        return cc_error_set(CC_ERR_ARG, "proto lt_public_multi: %zu thresholds overflow", m);
    const size_t n = a->n, M = m * n;
    CC_TRY(pr_check_n("lt_public_multi", "output", out->n, M));
    if (v->digit_bits) {
        pr_enter(ctx, v->lt_tag);
        cc_status s = pr_msb_digits_multi(ctx, a, v->narrow, v->digit_bits, m, c, out);
        pr_exit(ctx);
        return s == CC_OK ? CC_OK : cc_error_wrap(s, "proto %s", v->lt_tag);
    }
    cc_ashare rep;
    uint64_t *cv = pr_alloc(M);
    if (!cv) return CC_ERR_NOMEM;
    cc_status s = pr_ashare_tmp(&rep, M);
    if (s != CC_OK) { pr_free(cv); return s; }
    for (size_t k = 0; k < m; k++) {
        memcpy(rep.s[0] + k * n, a->s[0], 8 * n);
        memcpy(rep.s[1] + k * n, a->s[1], 8 * n);
        for (size_t j = 0; j < n; j++) cv[k * n + j] = c[k];
    }
    s = lt_public_impl(ctx, &rep, 0, cv, false, kind, out, NULL);
    cc_ashare_free(&rep);
    pr_free(cv);
    return s;
}

cc_status cc_proto_gt_public(cc_proto *ctx, const cc_ashare *a, uint64_t c, cc_bshare *out)
{
    return lt_public_impl(ctx, a, c, NULL, true, CC_MSB_FULL, out, "gt_public");
}

/* ---- equality (docs/PROTOCOLS.md: masked re-sharing + log-depth AND tree) ------------------------
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
        pr_use_bmi2() ? pr_eq_unzip_bmi2 : pr_eq_unzip_portable;
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
