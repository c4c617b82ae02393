/* Row maximum of rows settled in one group, with threshold bits, for
 * softmax (nn_impl.h, nn_max_rows_th; the grouped maximum of long rows and
 * argmax are in mpc_max.c).
 *
 * Per row of k ≤ 16 columns, only the live (unmasked) entries take part:
 *   all pairs of live entries, d = x_i − x_j (i < j), compared with 0 and
 *   with every thr_t and 1 − thr_t in one call (one shared round-1
 *   message; narrow 8-bit digits)                                 3 rounds
 *   per live candidate c a win word (bit j: "c beats j") and a word per
 *   threshold (bit j: [x_c − x_j ≥ thr_t]); against a masked opponent both
 *   are public ones (a masked entry sits at the domain's floor, below every
 *   live one), so pairs with a masked entry are never compared
 *   AND tree over each word, words packed lw = 2^levels bits per lane, so
 *   64/lw words travel in one 64-bit message                ⌈log2 lw⌉ rounds
 *   one bit injection for all words                               1 round
 *   max = Σ_c win_c · x_c (one multiplication)                    1 round
 * Folded (the precise softmax): instead of the win words and the last
 * threshold's words, one word per ordered pair (i, c) of live entries of a
 * row: c's win bits and, at bit k − 1, [x_i − x_c ≥ thr_last].  Its AND is
 * win_c · th_i, so Σ_c (win_c·th_i)(x_i − x_c) = th_i·(x_i − max) costs the
 * same one re-share, and th_i = Σ_c win_c·th_i comes free: exp's threshold
 * product after the polynomial is gone (the AND tree needs ⌈log2 k⌉
 * levels, one more only when k − 1 is a power of two).
 * A causal 8×8 block compares 84 pairs instead of 224.  Ties go to the
 * first entry, so exactly one candidate wins a row with a live entry (rows
 * without one get 0).  Masked entries get zero threshold bits. */
#include <string.h>
#include "nn_impl.h"

typedef struct rows_plan {
    size_t nl, np;            /* live candidates, compared pairs */
    size_t *cand;             /* [nl]: flat index r·k + c of each live candidate */
    size_t *pi, *pj;          /* [np]: candidate numbers of pair q (column of pi < pj's) */
    size_t *slot;             /* [rows·k]: candidate number, or SIZE_MAX if masked */
} rows_plan;

static void rows_plan_free(rows_plan *rp)
{
    cc_free(rp->cand); cc_free(rp->pi); cc_free(rp->pj); cc_free(rp->slot);
}

static cc_status rows_plan_make(size_t rows, size_t k, const uint8_t *live, rows_plan *rp)
{
    memset(rp, 0, sizeof *rp);
    const size_t n = rows * k;
    rp->cand = cc_alloc(n * sizeof(size_t) + 8);
    rp->slot = cc_alloc(n * sizeof(size_t) + 8);
    rp->pi = cc_alloc(rows * (k * (k - 1) / 2) * sizeof(size_t) + 8);
    rp->pj = cc_alloc(rows * (k * (k - 1) / 2) * sizeof(size_t) + 8);
    if (!rp->cand || !rp->slot || !rp->pi || !rp->pj) return CC_ERR_NOMEM;
    for (size_t e = 0; e < n; e++) {
        rp->slot[e] = SIZE_MAX;
        if (!live || live[e]) { rp->slot[e] = rp->nl; rp->cand[rp->nl++] = e; }
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++) {
                size_t a = rp->slot[r * k + i], b = rp->slot[r * k + j];
                if (a == SIZE_MAX || b == SIZE_MAX) continue;
                rp->pi[rp->np] = a;
                rp->pj[rp->np++] = b;
            }
    return CC_OK;
}

/* Lane width of the packed AND tree: 2^levels bits for `bits` bits per word. */
static unsigned lane_bits(size_t bits)
{
    unsigned lv = 0;
    while (((size_t)1 << lv) < bits) lv++;
    return 1u << lv;
}

/* Words and lanes of the AND tree (nn_impl.h): per live candidate the win
 * word and nth threshold words; folded, nth − 1 threshold words per
 * candidate and one word per ordered pair of live entries of a row. */
static size_t th_words(size_t k, size_t nl, size_t row_pairs, size_t nth, bool fold,
                       unsigned *lw)
{
    *lw = lane_bits(fold ? k : k - 1);
    return fold ? (nth - 1) * nl + row_pairs : (1 + nth) * nl;
}

size_t nn_max_th_words(size_t k, size_t nl, size_t row_pairs, size_t nth, bool fold)
{
    unsigned lw;
    const size_t lanes = th_words(k, nl, row_pairs, nth, fold, &lw), per = 64 / lw;
    return (lanes + per - 1) / per;
}

unsigned nn_max_th_levels(size_t k, bool fold)
{
    unsigned lv = 0;
    while (((size_t)1 << lv) < (fold ? k : k - 1)) lv++;
    return lv;
}

/* Bit position of opponent column j in column i's word. */
static inline unsigned opp_pos(size_t i, size_t j) { return (unsigned)(j < i ? j : j - 1); }

cc_status nn_max_rows_th(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t k,
                         const uint8_t *live, size_t nth, const uint64_t *thr, bool fold,
                         cc_ashare *out, cc_ashare *th_out)
{
    if (k < 2 || nn_max_next_k(k) != k)
        return cc_error_set(CC_ERR_ARG, "nn max: threshold bits need one group per row (%zu columns)",
                            k);
    if (nth > NN_MAX_TH || (fold && nth == 0))
        return cc_error_set(CC_ERR_ARG, "nn max: %zu thresholds (1..%d)", nth, NN_MAX_TH);
    bool narrow = true;
    for (size_t t = 0; t < nth; t++) narrow = narrow && nn_max_th_narrow(thr[t], f);
    uint64_t thrs[1 + 2 * NN_MAX_TH] = { 0 };
    for (size_t t = 0; t < nth; t++) {
        thrs[1 + 2 * t] = thr[t];
        thrs[2 + 2 * t] = 1 - thr[t];
    }
    const size_t nthr = 1 + 2 * nth;

    rows_plan rp;
    cc_ashare d = { 0 }, xc = { 0 }, wa = { 0 }, res = { 0 };
    cc_bshare lt = { 0 }, w = { 0 }, t = { 0 }, bits = { 0 };
    uint64_t *pub = NULL, *z = NULL;
    size_t *poff = NULL;                 /* folded: first pair lane of each candidate */
    size_t *rank = NULL;                 /* a candidate's place among its row's live entries */
    cc_status s = rows_plan_make(rows, k, live, &rp);
    const size_t nl = rp.nl, np = rp.np;
    for (int h = 0; h < 2; h++) {
        memset(out->s[h], 0, (fold ? rows * k : rows) * 8);
        memset(th_out->s[h], 0, nth * rows * k * 8);
    }
    if (s != CC_OK || nl == 0) goto done;
    /* ordered pairs (i, c) of live entries of a row, the candidate c's own included */
    if (!(poff = cc_alloc((nl + 1) * sizeof *poff))) { s = CC_ERR_NOMEM; goto done; }
    size_t row_pairs = 0;
    for (size_t c = 0; c < nl; c++) {
        const size_t r = rp.cand[c] / k;
        poff[c] = row_pairs;
        for (size_t j = 0; j < k; j++) row_pairs += rp.slot[r * k + j] != SIZE_MAX;
    }
    poff[nl] = row_pairs;
    if (!(rank = cc_alloc(nl * sizeof *rank + 8))) { s = CC_ERR_NOMEM; goto done; }
    for (size_t c = 0; c < nl; c++) {
        const size_t e = rp.cand[c], r = e / k;
        rank[c] = 0;
        for (size_t j = 0; j < e % k; j++) rank[c] += rp.slot[r * k + j] != SIZE_MAX;
    }
    unsigned lw;
    const size_t nlane = th_words(k, nl, row_pairs, nth, fold, &lw), per = 64 / lw;
    const size_t nwords = (nlane + per - 1) / per, nthw = fold ? nth - 1 : nth;
    const size_t pair0 = fold ? nthw * nl : nl;          /* first pair lane (folded) */
    const uint64_t lane_mask = lw == 64 ? ~0ull : (1ull << lw) - 1;
#define LANE_PUT(arr, lane, v, pos) ((arr)[(lane) / per] |= (uint64_t)(v) << ((lane) % per * lw + (pos)))
    s = nn_ash_alloc_raw(&d, np);
    if (s == CC_OK) s = nn_bsh_alloc(&lt, nthr * np);
    if (s == CC_OK) s = nn_bsh_alloc(&w, nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&t, nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&bits, nlane);
    if (s == CC_OK) s = nn_ash_alloc_raw(&wa, nlane);
    if (s == CC_OK) s = nn_ash_alloc_raw(&xc, nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&res, nl);
    if (s == CC_OK && !(pub = cc_alloc(nwords * 8 + 8))) s = CC_ERR_NOMEM;
    if (s == CC_OK && fold && !(z = cc_alloc(nl * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++) {
        for (size_t c = 0; c < nl; c++) xc.s[h][c] = x->s[h][rp.cand[c]];
        for (size_t q = 0; q < np; q++) d.s[h][q] = xc.s[h][rp.pi[q]] - xc.s[h][rp.pj[q]];
    }
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, NN_CMP_ROW), &d, nthr, thrs, &lt);
    if (s != CC_OK) goto done;
    /* Shared bits of column i's word against column j: "i beats j" =
     * NOT [x_i < x_j] for j > i (ties to the first) and [x_j < x_i] for
     * j < i; [x_i − x_j ≥ thr] = NOT [x_i − x_j < thr] for j > i and
     * [x_j − x_i < 1 − thr] for j < i.  Every word has its NOTs at the live
     * opponents after its column; they, the public ones of masked opponents
     * and of unused positions go into one public XOR word.  Folded, the
     * word of pair (i, c) is c's win word with bit k − 1 = [x_i − x_c ≥
     * thr_last] (public 1 for i = c): its AND is win_c · th_i. */
    memset(pub, 0, nwords * 8);
    for (size_t c = 0; c < nl; c++) {
        const size_t e = rp.cand[c], r = e / k, i = e % k;
        uint64_t word = lane_mask;
        for (size_t j = 0; j < k; j++)
            if (j != i && rp.slot[r * k + j] != SIZE_MAX) word &= ~(1ull << opp_pos(i, j));
        for (size_t j = i + 1; j < k; j++)
            if (rp.slot[r * k + j] != SIZE_MAX) word |= 1ull << (j - 1);
        if (!fold) LANE_PUT(pub, c, word, 0);
        for (size_t u = 0; u < nthw; u++) LANE_PUT(pub, (fold ? 0 : nl) + u * nl + c, word, 0);
        for (size_t q = poff[c]; fold && q < poff[c + 1]; q++)
            LANE_PUT(pub, pair0 + q, word & ~(1ull << (k - 1)), 0);
    }
    if (fold)   /* the τ bits: NOT when the partner i is before c, public 1 for i = c */
        for (size_t c = 0; c < nl; c++) {
            const size_t e = rp.cand[c], r = e / k, ic = e % k;
            size_t q = poff[c];
            for (size_t j = 0; j < k; j++) {
                if (rp.slot[r * k + j] == SIZE_MAX) continue;
                if (j <= ic) LANE_PUT(pub, pair0 + q, 1, k - 1);
                q++;
            }
        }
    const size_t tl = nth ? 1 + 2 * (nth - 1) : 0;   /* lt block of the last threshold */
    for (int h = 0; h < 2; h++) {
        for (size_t q = 0; q < np; q++) {
            const size_t a = rp.pi[q], b = rp.pj[q];
            const size_t ia = rp.cand[a] % k, ib = rp.cand[b] % k;      /* ia < ib */
            const uint64_t win = lt.s[h][q] & 1;                         /* [x_a < x_b] */
            if (!fold) {
                LANE_PUT(w.s[h], a, win, ib - 1);
                LANE_PUT(w.s[h], b, win, ia);
            } else {
                /* win bits into every pair word of a and of b */
                for (size_t l = poff[a]; l < poff[a + 1]; l++) LANE_PUT(w.s[h], pair0 + l, win, ib - 1);
                for (size_t l = poff[b]; l < poff[b + 1]; l++) LANE_PUT(w.s[h], pair0 + l, win, ia);
                /* τ: pair (b, a) (partner b of candidate a): [x_b − x_a ≥ thr]
                 * = [x_a − x_b < 1 − thr]; pair (a, b): NOT [x_a − x_b < thr] */
                const uint64_t t_lo = lt.s[h][(tl + 1) * np + q] & 1, t_hi = lt.s[h][tl * np + q] & 1;
                LANE_PUT(w.s[h], pair0 + poff[a] + rank[b], t_lo, k - 1);   /* (i = b, c = a) */
                LANE_PUT(w.s[h], pair0 + poff[b] + rank[a], t_hi, k - 1);   /* (i = a, c = b) */
            }
            for (size_t u = 0; u < nthw; u++) {
                const uint64_t ba = lt.s[h][(1 + 2 * u) * np + q] & 1;
                const uint64_t bb = lt.s[h][(2 + 2 * u) * np + q] & 1;
                const size_t off = fold ? 0 : nl;
                LANE_PUT(w.s[h], off + u * nl + a, ba, ib - 1);
                LANE_PUT(w.s[h], off + u * nl + b, bb, ia);
            }
        }
    }
#undef LANE_PUT
    s = cc_proto_xor_public_vec(p, &w, pub, &w);
    /* AND tree: bit 0 of each lane ← AND of the lane's lw bits (a shift
     * brings the next lane's low bits into the top of this one, but bit 0
     * only ever reads bits of its own lane) */
    for (unsigned sh = lw / 2; s == CC_OK && sh >= 1; sh /= 2) {
        s = cc_proto_bshr(p, &w, sh, &t);
        if (s == CC_OK) s = cc_proto_and(p, &w, &t, &w);
    }
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++)
        for (size_t l = 0; l < nlane; l++) bits.s[h][l] = (w.s[h][l / per] >> (l % per * lw)) & 1;
    s = cc_proto_b2a_bit(p, &bits, &wa);
    if (s != CC_OK) goto done;
    if (!fold) {
        /* max = Σ_c win_c · x_c */
        cc_ashare W = cc_ashare_slice(&wa, 0, nl);
        s = cc_proto_mul(p, &W, &xc, &res);
        if (s != CC_OK) goto done;
        for (int h = 0; h < 2; h++) {
            for (size_t c = 0; c < nl; c++) out->s[h][rp.cand[c] / k] += res.s[h][c];
            for (size_t u = 0; u < nth; u++)
                for (size_t c = 0; c < nl; c++)
                    th_out->s[h][u * rows * k + rp.cand[c]] = wa.s[h][nl + u * nl + c];
        }
        goto done;
    }
    /* folded: (x_i − max)·th_i = Σ_c win_c·th_i·(x_i − x_c), one re-share of
     * the summed 3-out-of-3 terms; th_i = Σ_c win_c·th_i (local) */
    {
        const size_t m = row_pairs - nl;                 /* pairs (c, i), i ≠ c */
        cc_ashare A = { 0 }, B = { 0 };
        uint64_t *zz = cc_alloc(m * sizeof *zz + 8);
        size_t *to = cc_alloc(m * sizeof *to + 8);
        s = zz && to ? CC_OK : CC_ERR_NOMEM;
        if (s == CC_OK && m > 0) s = nn_ash_alloc_raw(&A, m);
        if (s == CC_OK && m > 0) s = nn_ash_alloc_raw(&B, m);
        memset(z, 0, nl * sizeof *z);
        if (s == CC_OK && m > 0) {
            size_t o = 0;
            for (size_t c = 0; c < nl; c++) {
                const size_t r = rp.cand[c] / k;
                size_t q = poff[c];
                for (size_t j = 0; j < k; j++) {
                    const size_t ci = rp.slot[r * k + j];
                    if (ci == SIZE_MAX) continue;
                    if (ci != c) {
                        for (int h = 0; h < 2; h++) {
                            A.s[h][o] = wa.s[h][pair0 + q];
                            B.s[h][o] = xc.s[h][ci] - xc.s[h][c];
                        }
                        to[o++] = ci;
                    }
                    q++;
                }
            }
            memset(zz, 0, m * sizeof *zz);
            cc_proto_terms_mul_acc(p, &A, &B, zz);
            for (size_t o2 = 0; o2 < m; o2++) z[to[o2]] += zz[o2];
        }
        nn_ash_free(&A); nn_ash_free(&B);
        cc_free(zz); cc_free(to);
        if (s != CC_OK) goto done;
    }
    s = cc_proto_reshare_terms(p, z, &res);
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++) {
        for (size_t c = 0; c < nl; c++) out->s[h][rp.cand[c]] = res.s[h][c];
        for (size_t u = 0; u + 1 < nth; u++)
            for (size_t c = 0; c < nl; c++)
                th_out->s[h][u * rows * k + rp.cand[c]] = wa.s[h][u * nl + c];
        for (size_t c = 0; c < nl; c++) {
            const size_t e = rp.cand[c], r = e / k;
            size_t q = poff[c];
            for (size_t j = 0; j < k; j++) {
                const size_t ci = rp.slot[r * k + j];
                if (ci == SIZE_MAX) continue;
                th_out->s[h][(nth - 1) * rows * k + rp.cand[ci]] += wa.s[h][pair0 + q];
                q++;
            }
        }
    }
done:
    rows_plan_free(&rp);
    nn_ash_free(&d); nn_ash_free(&xc); nn_ash_free(&wa); nn_ash_free(&res);
    nn_bsh_free(&lt); nn_bsh_free(&w); nn_bsh_free(&t); nn_bsh_free(&bits);
    cc_free(pub); cc_free(z); cc_free(poff); cc_free(rank);
    return s;
}
