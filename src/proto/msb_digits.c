/* MSB with a 4-bit-digit first level (proto.h: CC_MSB_DIGITS,
 * CC_MSB_NARROW_DIGITS; docs/PROTOCOLS.md "Comparisons").
 *
 * As in msb_core (compare.c), on the elements of one third the re-sharer R
 * knows u = x_R + x_{R+1} and the other two know v = x_{R+2}, x = u + v.
 * Cut u and v into digits a_i, b_i.  The sign bit of x is the group
 * generate of the carry chain over the digits, where digit i contributes
 *   lower digits:  G_i = [a_i + b_i ≥ 2^w],   P_i = [a_i + b_i = 2^w − 1]
 *   top digit:     G_t = bit w−1 of s = (a_t + b_t) mod 2^w,
 *                  P_t = [s mod 2^(w−1) = 2^(w−1) − 1]
 * (the top digit holds the sign bit itself: the carry coming in flips it
 * exactly when the bits below it in the digit are all ones, so
 * sign = G_t ⊕ P_t·carry_in, the same combine as a carry).  Full range: 16
 * digits of 4 bits, the top one bits 60..63.  Narrow (|x| < 2^32, sign =
 * bit 32): seven digits of 4 bits and a top digit of 5 bits (28..32).
 *
 * Round 1.  R shares the one-hot vectors e(a_i) (16 bits per digit, 32 for
 * the 5-bit one) as XOR shares: a0, a1 from PRSS, a2 sent to both others.
 * For a fixed b_i, G_i and P_i are GF(2)-linear in e(a_i): the parity of
 * e(a_i) AND a column mask that depends on b_i only.  So the two who know
 * v evaluate T(share) = [G bits | P bits] on the shares they hold, and one
 * message each way gives a replicated sharing, exactly as in msb_core: the
 * next party sends T(a1) ⊕ σA and the prev party T(a0) ⊕ σB to R, and both
 * add T(a2) ⊕ σA ⊕ σB (σA, σB from the key R does not hold).  Then the
 * carry tree from 16 (narrow: 8) spans, 4 (3) levels (pr_msb_tree).
 * Rounds: 5 (narrow 4), one fewer than the bit-pair first level, because
 * a digit settles four bits where a pair settles two.
 * Bytes/elem: R 2·32 (narrow 2·18), the others 4 (2) in round 1, then
 * 2 + 1 + 1/2 + 1/8 (1 + 1/2 + 1/8) for everyone; rotated over thirds like
 * msb_core: 27.6 (15.0) B per party on average instead of 21.6 (11.0).
 * Wider digits (8 bits: 256-bit one-hots, 16 bits: 65536-bit ones; the
 * table in proto.h) shorten the tree further for per-row use: 4 / 3 rounds
 * full range, 3 narrow with 8 bits.
 *
 * Many thresholds, one message (pr_msb_digits_multi): x < c_k for k < m is
 * the sign of u + (v − c_k).  With the constant on v's side the re-sharer's
 * one-hot message is the same for every k, so it travels once; only the
 * others' T values (2·nd bits, own masks σ per k) and the tree are per
 * threshold.  The four SiLU breakpoints then cost R 2·18 + the others
 * 4·2 B in round 1 instead of 4·(2·7) + 4·4 with bit pairs. */
#include "proto_impl.h"

#define MD_MAX_DIGITS 16
#define MD_MAX_FW 4096                 /* feature words: 4 digits × 65536 bits */

typedef struct digit_layout digit_layout;
/* T(share) for the digits of v: one evaluator per digit width */
typedef uint64_t (*eval_fn)(const digit_layout *L, const uint64_t *f, uint64_t v);
/* Once per element, before the thresholds: the evaluator's view of the share */
typedef void (*prep_fn)(const digit_layout *L, const uint64_t *f, uint64_t *out);
struct digit_layout {
    prep_fn prep;
    eval_fn eval;
    unsigned nd;                       /* digits = spans after round 1 */
    unsigned fw, fb;                   /* one-hot feature words / wire bytes */
    unsigned qb;                       /* T wire bytes (2·nd bits) */
    unsigned shift[MD_MAX_DIGITS], width[MD_MAX_DIGITS], off[MD_MAX_DIGITS];
};

static uint64_t eval_T_word(const digit_layout *L, const uint64_t *f, uint64_t v);
static uint64_t eval_T_prefix(const digit_layout *L, const uint64_t *pp, uint64_t v);
static void prep_copy(const digit_layout *L, const uint64_t *f, uint64_t *out);
static void prep_prefix(const digit_layout *L, const uint64_t *f, uint64_t *out);

/* Digits of dw bits (4, 8 or 16) up to the sign bit (63, narrow 32); the top
 * digit runs from its shift up to and including the sign bit. */
static void layout_make(bool narrow, unsigned dw, digit_layout *L)
{
    if (dw != 8 && dw != 16) dw = 4;           /* the widths the variants use */
    const unsigned sign = narrow ? 32 : 63;
    L->nd = (narrow ? 32 : 64) / dw;
    unsigned off = 0;
    for (unsigned i = 0; i < L->nd; i++) {
        L->shift[i] = dw * i;
        L->width[i] = i + 1 < L->nd ? dw : sign - dw * i + 1;
        L->off[i] = off;
        off += 1u << L->width[i];
    }
    L->fw = (off + 63) / 64;
    L->fb = off / 8;
    L->qb = (2 * L->nd + 7) / 8;
    L->prep = dw == 4 ? prep_copy : prep_prefix;
    L->eval = dw == 4 ? eval_T_word : eval_T_prefix;
}

static inline void onehot(const digit_layout *L, uint64_t u, uint64_t *f)
{
    for (unsigned k = 0; k < L->fw; k++) f[k] = 0;
    for (unsigned i = 0; i < L->nd; i++) {
        unsigned size = 1u << L->width[i];
        unsigned bit = L->off[i] + ((unsigned)(u >> L->shift[i]) & (size - 1));
        f[bit / 64] |= UINT64_C(1) << (bit % 64);
    }
}

/* `size` (≤ 32) feature bits at bit offset off. */
static inline uint64_t feat_word(const uint64_t *f, unsigned off, unsigned size)
{
    unsigned w = off / 64, b = off % 64;
    uint64_t x = f[w] >> b;
    if (b + size > 64) x |= f[w + 1] << (64 - b);
    return x & ((UINT64_C(1) << size) - 1);
}

/* T(f) for the digits b of v: G bits 0..nd-1, P bits nd..2nd-1, each the
 * parity of the one-hot share over the set of a that gives G (P):
 *   lower digit:  G  a ∈ [2^w − b, 2^w),          P  a = 2^w − 1 − b
 *   top digit:    G  a ∈ [h − b, 2^w − b) mod 2^w, P  a ≡ h − 1 − b (mod h)
 * with h = 2^(w−1).  4-bit digits (one-hots of ≤ 32 bits, the per-element
 * comparisons of the activations) take the digit's bits as one word;
 * 8- and 16-bit digits (per-row use) read range parities off the share's
 * prefix parities (prep_prefix). */
static uint64_t eval_T_word(const digit_layout *L, const uint64_t *f, uint64_t v)
{
    uint64_t g = 0, p = 0;
    for (unsigned i = 0; i < L->nd; i++) {
        const unsigned size = 1u << L->width[i];
        const uint64_t all = (UINT64_C(1) << size) - 1;
        const unsigned b = (unsigned)(v >> L->shift[i]) & (size - 1);
        const uint64_t e = feat_word(f, L->off[i], size);
        uint64_t gm, pm;
        if (i + 1 < L->nd) {
            gm = (all << (size - b)) & all;                  /* a ≥ size − b */
            pm = UINT64_C(1) << (size - 1 - b);
        } else {
            const unsigned h = size / 2, p0 = (h - 1 - b) & (h - 1);
            const uint64_t hm = (UINT64_C(1) << h) - 1;      /* a in [h − b, h − b + h) mod size */
            gm = ((hm << ((h - b) & (size - 1))) | (hm >> (size - ((h - b) & (size - 1))))) & all;
            pm = (UINT64_C(1) << p0) | (UINT64_C(1) << (p0 + h));
        }
        g |= (uint64_t)__builtin_parityll(e & gm) << i;
        p |= (uint64_t)__builtin_parityll(e & pm) << i;
    }
    return g | p << L->nd;
}

static void prep_copy(const digit_layout *L, const uint64_t *f, uint64_t *out)
{
    memcpy(out, f, 8 * (size_t)L->fw);
}

/* out bit i = parity of the share's bits 0..i (a running XOR scan), so the
 * parity of any range is two lookups: 8- and 16-bit digits have 256 and
 * 65536-bit one-hots and ≈ 480 thresholds per norm row. */
static void prep_prefix(const digit_layout *L, const uint64_t *f, uint64_t *out)
{
    uint64_t carry = 0;
    for (unsigned w = 0; w < L->fw; w++) {
        uint64_t y = f[w];
        y ^= y << 1; y ^= y << 2; y ^= y << 4; y ^= y << 8; y ^= y << 16; y ^= y << 32;
        y ^= carry;
        out[w] = y;
        carry = (uint64_t)0 - (y >> 63);
    }
}

static inline unsigned pp_bit(const uint64_t *pp, unsigned i) { return (unsigned)(pp[i / 64] >> (i % 64)) & 1; }
/* parity of the share's bits [lo, hi), lo < hi */
static inline unsigned pp_range(const uint64_t *pp, unsigned lo, unsigned hi)
{
    return pp_bit(pp, hi - 1) ^ (lo ? pp_bit(pp, lo - 1) : 0);
}

static uint64_t eval_T_prefix(const digit_layout *L, const uint64_t *pp, uint64_t v)
{
    uint64_t g = 0, p = 0;
    for (unsigned i = 0; i < L->nd; i++) {
        const unsigned size = 1u << L->width[i], o = L->off[i];
        const unsigned b = (unsigned)(v >> L->shift[i]) & (size - 1);
        unsigned gi, pi;
        if (i + 1 < L->nd) {
            gi = b ? pp_range(pp, o + size - b, o + size) : 0;
            pi = pp_range(pp, o + size - 1 - b, o + size - b);
        } else {
            const unsigned h = size / 2, lo = (h - b) & (size - 1), hi = (size - b) & (size - 1);
            gi = lo < hi ? pp_range(pp, o + lo, o + hi)
                         : pp_range(pp, o + lo, o + size) ^ (hi ? pp_range(pp, o, o + hi) : 0);
            const unsigned p0 = (h - 1 - b) & (h - 1);
            pi = pp_range(pp, o + p0, o + p0 + 1) ^ pp_range(pp, o + p0 + h, o + p0 + h + 1);
        }
        g |= (uint64_t)gi << i;
        p |= (uint64_t)pi << i;
    }
    return g | p << L->nd;
}

cc_status pr_msb_digits_multi(cc_proto *ctx, const cc_ashare *x, bool narrow, unsigned dw,
                              size_t m, const uint64_t *thr, cc_bshare *out)
{
    const size_t n = x->n, M = m * n;
    static const cc_proto_op ops[3][2] = {
        { CC_OP_MSB_DIGITS, CC_OP_MSB_NARROW_DIGITS },        /* 4-bit digits */
        { CC_OP_MSB_DIGITS8, CC_OP_MSB_NARROW_DIGITS8 },      /* 8-bit digits */
        { CC_OP_MSB_DIGITS16, CC_OP_COUNT },                  /* 16-bit digits (full range) */
    };
    const int wi = dw == 16 ? 2 : dw == 8 ? 1 : 0;
    if (ops[wi][narrow] == CC_OP_COUNT)
        return cc_error_set(CC_ERR_ARG, "proto msb: no narrow variant with %u-bit digits", dw);
    pr_book_op(ctx, ops[wi][narrow], n, m, ctx->party);
    if (M == 0) return CC_OK;
    digit_layout L;
    layout_make(narrow, dw, &L);
    const size_t fw = L.fw, fb = L.fb, qb = L.qb, nd = L.nd;
    const uint64_t qmask = (UINT64_C(1) << (2 * nd)) - 1, smask = (UINT64_C(1) << nd) - 1;
    const int me = ctx->party;
    size_t lo[4], snd[2], rcv[2];                      /* [0]: next link, [1]: prev link */
    int role[3];
    pr_msb_r1_plan(me, n, fb, qb * m, lo, role, snd, rcv);
    /* one message buffer holds round 1 (fb·n or qb·M bytes) or a tree level (≤ 2·M) */
    size_t mb = CC_MAX(fb * n, qb * M);
    if (mb < 2 * M) mb = 2 * M;
    const size_t mw = (mb + 7) / 8;
    const size_t kw = (M + 15) / 16 + 1;         /* words of a 4-bit packed level message */
    uint64_t *buf = pr_alloc(2 * fw * n + 2 * M + 4 * M + 4 * mw + 2 * kw);
    if (!buf) return CC_ERR_NOMEM;
    uint64_t *R0 = buf, *R1 = buf + fw * n;      /* PRSS slots: one-hot shares */
    uint64_t *S0 = R1 + fw * n, *S1 = S0 + M;    /* PRSS slots: σA | σB ≪ 32 per threshold */
    uint64_t *G0 = S1 + M, *G1 = G0 + M, *P0 = G1 + M, *P1 = P0 + M;
    uint8_t *sm[2] = {(uint8_t *)(void *)(P1 + M), (uint8_t *)(void *)(P1 + M + mw)};
    uint8_t *rm[2] = {(uint8_t *)(void *)(P1 + M + 2 * mw), (uint8_t *)(void *)(P1 + M + 3 * mw)};
    uint64_t *pk = P1 + M + 4 * mw;
    void *msg[2][2] = {{sm[0], sm[1]}, {rm[0], rm[1]}};
    /* element j's fw words at j·fw: the re-sharer's a0 | a1, the next party's
     * a1 | F(k2), the prev party's F(k2) | a0; then per (threshold k, element
     * j) one word whose F(k2) slot gives σA (low half) and σB (high half) */
    cc_prss_rand(&ctx->prss, fw * n, R0, R1);
    cc_prss_rand(&ctx->prss, M, S0, S1);
    size_t off[2] = {0, 0};
    for (int t = 0; t < 3; t++) {
        const size_t a = lo[t], nt = lo[t + 1] - a;
        if (nt == 0) continue;
        const int r = role[t];
        if (r == 0) {
            uint8_t *msg0 = sm[0] + off[0];
            PR_OMP_FOR(nt)
            for (size_t i = 0; i < nt; i++) {
                const size_t j = a + i;
                uint64_t f[MD_MAX_FW];
                onehot(&L, x->s[0][j] + x->s[1][j], f);
                for (size_t k = 0; k < fw; k++) f[k] ^= R0[j * fw + k] ^ R1[j * fw + k];
                memcpy(msg0 + fb * i, f, fb);     /* little-endian: the low fb bytes */
            }
            memcpy(sm[1] + off[1], msg0, fb * nt);
            off[0] += fb * nt;
            off[1] += fb * nt;
            continue;
        }
        /* The thresholds go to v's side, v − c_k, so the re-sharer's one-hot
         * message serves them all.  Role 1 (next of R): T_k(a1) ⊕ σA, kept
         * as slot 0, sent to prev; role 2 (prev of R): T_k(a0) ⊕ σB, kept as
         * slot 1, sent to next.  Message order: element-major. */
        const bool r1 = r == 1;
        const int d = r1 ? 1 : 0;
        const uint64_t *v = r1 ? x->s[1] : x->s[0];
        const uint64_t *mine = r1 ? R0 : R1, *k2 = r1 ? S1 : S0;
        const unsigned sh = r1 ? 0 : 32;
        uint64_t *q = r1 ? G0 : G1;
        uint8_t *mo = sm[d] + off[d];
        PR_OMP_FOR(nt)
        for (size_t i = 0; i < nt; i++) {
            const size_t j = a + i;
            uint64_t pf[MD_MAX_FW];
            L.prep(&L, mine + j * fw, pf);
            for (size_t k = 0; k < m; k++) {
                uint64_t vk = v[j] - (thr ? thr[k] : 0);
                uint64_t qj = (L.eval(&L, pf, vk) ^ (k2[k * n + j] >> sh)) & qmask;
                q[k * n + j] = qj;
                memcpy(mo + qb * (i * m + k), &qj, qb);
            }
        }
        off[d] += qb * m * nt;
    }
    cc_status s = pr_exchange_both(ctx, (const void *const[2]){ sm[0], sm[1] }, snd,
                                   (void *const[2]){ rm[0], rm[1] }, rcv);
    if (s != CC_OK) goto out;
    off[0] = off[1] = 0;
    for (int t = 0; t < 3; t++) {
        const size_t a = lo[t], nt = lo[t + 1] - a;
        if (nt == 0) continue;
        const int r = role[t];
        if (r == 0) {
            /* q1 from next (slot 1), q0 from prev (slot 0) */
            for (size_t i = 0; i < nt; i++)
                for (size_t k = 0; k < m; k++) {
                    uint64_t q1 = 0, q0 = 0;
                    memcpy(&q1, rm[0] + off[0] + qb * (i * m + k), qb);
                    memcpy(&q0, rm[1] + off[1] + qb * (i * m + k), qb);
                    G1[k * n + a + i] = q1;
                    G0[k * n + a + i] = q0;
                }
            off[0] += qb * m * nt;
            off[1] += qb * m * nt;
            continue;
        }
        const bool r1 = r == 1;
        const int d = r1 ? 1 : 0;
        const uint64_t *v = r1 ? x->s[1] : x->s[0], *k2 = r1 ? S1 : S0;
        uint64_t *q = r1 ? G1 : G0;                      /* slot of index R+2 */
        const uint8_t *mi = rm[d] + off[d];
        PR_OMP_FOR(nt)
        for (size_t i = 0; i < nt; i++) {
            const size_t j = a + i;
            uint64_t f[MD_MAX_FW], pf[MD_MAX_FW];
            f[fw - 1] = 0;                               /* fb may end inside the last word */
            memcpy(f, mi + fb * i, fb);
            L.prep(&L, f, pf);
            for (size_t k = 0; k < m; k++) {
                uint64_t vk = v[j] - (thr ? thr[k] : 0), sg = k2[k * n + j];
                q[k * n + j] = (L.eval(&L, pf, vk) ^ sg ^ (sg >> 32)) & qmask;
            }
        }
        off[d] += fb * nt;
    }
    {
        uint64_t *Gs[2] = {G0, G1}, *Ps[2] = {P0, P1};
        for (int k = 0; k < 2; k++) {
            PR_OMP_FOR(M)
            for (size_t j = 0; j < M; j++) {
                uint64_t q = Gs[k][j];
                Gs[k][j] = q & smask;
                Ps[k][j] = (q >> nd) & smask;
                out->s[k][j] = 0;
            }
        }
    }
    s = pr_msb_tree(ctx, M, (unsigned)nd, G0, G1, P0, P1, msg, pk, out);
out:
    pr_free(buf);
    return s;
}

cc_status pr_msb_digits(cc_proto *ctx, const cc_ashare *x, bool narrow, unsigned dw,
                        cc_bshare *out)
{
    return pr_msb_digits_multi(ctx, x, narrow, dw, 1, NULL, out);
}
