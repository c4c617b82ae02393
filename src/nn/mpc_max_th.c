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

/* Public layout of one call: live candidates, compared pairs and the lanes
 * of the packed AND tree. */
typedef struct th_plan {
    size_t rows, k, nth, nl, np;
    bool fold;
    size_t *cand;             /* [nl]: flat index r·k + c of each live candidate */
    size_t *slot;             /* [rows·k]: candidate number, or SIZE_MAX if masked */
    size_t *pi, *pj;          /* [np]: candidates of pair q, pi's column before pj's */
    size_t *poff;             /* [nl + 1], folded: first pair lane of each candidate */
    size_t *rank;             /* [nl]: place among the live entries of its row */
    size_t row_pairs;         /* Σ over rows of live², self-pairs included */
    unsigned lw;              /* lane width: 2^levels bits */
    size_t per, nlane, nwords;
    size_t thr_lane, pair_lane; /* first lane of the threshold words / pair words */
    size_t nthw;              /* threshold kinds that keep their own words */
} th_plan;

static void th_plan_free(th_plan *tp)
{
    cc_free(tp->cand); cc_free(tp->slot); cc_free(tp->pi); cc_free(tp->pj);
    cc_free(tp->poff); cc_free(tp->rank);
}

/* AND-tree levels: a word holds k − 1 opponent bits, folded one more bit. */
unsigned nn_max_th_levels(size_t k, bool fold)
{
    return nn_max_and_levels(fold ? k + 1 : k);
}

static void lanes_of(size_t k, size_t nl, size_t row_pairs, size_t nth, bool fold, unsigned *lw,
                     size_t *nlane)
{
    *lw = 1u << nn_max_th_levels(k, fold);
    *nlane = fold ? (nth - 1) * nl + row_pairs : (1 + nth) * nl;
}

size_t nn_max_th_words(size_t k, size_t nl, size_t row_pairs, size_t nth, bool fold)
{
    unsigned lw;
    size_t nlane;
    lanes_of(k, nl, row_pairs, nth, fold, &lw, &nlane);
    return (nlane + 64 / lw - 1) / (64 / lw);
}

static cc_status th_plan_make(size_t rows, size_t k, const uint8_t *live, size_t nth, bool fold,
                              th_plan *tp)
{
    const size_t n = rows * k, maxp = rows * (k * (k - 1) / 2);
    *tp = (th_plan){ .rows = rows, .k = k, .nth = nth, .fold = fold };
    tp->cand = cc_alloc(n * sizeof(size_t) + 8);
    tp->slot = cc_alloc(n * sizeof(size_t) + 8);
    tp->pi = cc_alloc(maxp * sizeof(size_t) + 8);
    tp->pj = cc_alloc(maxp * sizeof(size_t) + 8);
    tp->poff = cc_alloc((n + 1) * sizeof(size_t));
    tp->rank = cc_alloc(n * sizeof(size_t) + 8);
    if (!tp->cand || !tp->slot || !tp->pi || !tp->pj || !tp->poff || !tp->rank)
        return CC_ERR_NOMEM;
    for (size_t e = 0; e < n; e++) {
        tp->slot[e] = SIZE_MAX;
        if (!live || live[e]) { tp->slot[e] = tp->nl; tp->cand[tp->nl++] = e; }
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++) {
                size_t a = tp->slot[r * k + i], b = tp->slot[r * k + j];
                if (a == SIZE_MAX || b == SIZE_MAX) continue;
                tp->pi[tp->np] = a;
                tp->pj[tp->np++] = b;
            }
    for (size_t c = 0; c < tp->nl; c++) {
        const size_t e = tp->cand[c], r = e / k;
        tp->poff[c] = tp->row_pairs;
        tp->rank[c] = 0;
        for (size_t j = 0; j < k; j++) {
            const bool on = tp->slot[r * k + j] != SIZE_MAX;
            tp->row_pairs += on;
            if (j < e % k) tp->rank[c] += on;
        }
    }
    tp->poff[tp->nl] = tp->row_pairs;
    lanes_of(k, tp->nl, tp->row_pairs, nth, fold, &tp->lw, &tp->nlane);
    tp->per = 64 / tp->lw;
    tp->nwords = (tp->nlane + tp->per - 1) / tp->per;
    tp->nthw = fold ? nth - 1 : nth;
    tp->thr_lane = fold ? 0 : tp->nl;
    tp->pair_lane = tp->nthw * tp->nl;
    return CC_OK;
}

/* Bit `pos` of lane `lane` of the packed words arr. */
static inline void lane_put(const th_plan *tp, uint64_t *arr, size_t lane, uint64_t v, unsigned pos)
{
    arr[lane / tp->per] |= v << (lane % tp->per * tp->lw + pos);
}

/* Bit position of opponent column j in column i's word. */
static inline unsigned opp_pos(size_t i, size_t j) { return (unsigned)(j < i ? j : j - 1); }

/* Shared bits of column i's word against column j: "i beats j" =
 * NOT [x_i < x_j] for j > i (ties to the first) and [x_j < x_i] for j < i;
 * [x_i − x_j ≥ thr] = NOT [x_i − x_j < thr] for j > i and
 * [x_j − x_i < 1 − thr] for j < i.  Every word has its NOTs at the live
 * opponents after its column; they, the public ones of masked opponents and
 * of unused positions go into one public XOR word per packed word.
 * Folded, the word of pair (i, c) is c's win word with bit k − 1 =
 * [x_i − x_c ≥ thr_last] (NOT for i before c, public 1 for i = c): its AND
 * is win_c · th_i. */
static void words_public(const th_plan *tp, uint64_t *pub)
{
    const size_t k = tp->k, nl = tp->nl;
    const uint64_t lane_mask = tp->lw == 64 ? ~0ull : (1ull << tp->lw) - 1;
    memset(pub, 0, tp->nwords * 8);
    for (size_t c = 0; c < nl; c++) {
        const size_t e = tp->cand[c], r = e / k, i = e % k;
        uint64_t word = lane_mask;
        for (size_t j = 0; j < k; j++)
            if (j != i && tp->slot[r * k + j] != SIZE_MAX) word &= ~(1ull << opp_pos(i, j));
        for (size_t j = i + 1; j < k; j++)
            if (tp->slot[r * k + j] != SIZE_MAX) word |= 1ull << (j - 1);
        if (!tp->fold) lane_put(tp, pub, c, word, 0);
        for (size_t u = 0; u < tp->nthw; u++) lane_put(tp, pub, tp->thr_lane + u * nl + c, word, 0);
        if (!tp->fold) continue;
        size_t q = tp->poff[c];
        for (size_t j = 0; j < k; j++) {
            if (tp->slot[r * k + j] == SIZE_MAX) continue;
            lane_put(tp, pub, tp->pair_lane + q, word & ~(1ull << (k - 1)), 0);
            if (j <= i) lane_put(tp, pub, tp->pair_lane + q, 1, (unsigned)(k - 1));
            q++;
        }
    }
}

/* The comparison bits lt (block 0: [x_a < x_b]; block 1 + 2t: [x_a − x_b <
 * thr_t]; block 2 + 2t: [x_a − x_b < 1 − thr_t]) into the words' planes. */
static void words_shared(const th_plan *tp, const cc_bshare *lt, cc_bshare *w)
{
    const size_t k = tp->k, nl = tp->nl, np = tp->np, tl = 1 + 2 * (tp->nth - 1);
    for (int h = 0; h < 2; h++) {
        uint64_t *ws = w->s[h];
        const uint64_t *ls = lt->s[h];
        for (size_t q = 0; q < np; q++) {
            const size_t a = tp->pi[q], b = tp->pj[q];
            const unsigned ia = (unsigned)(tp->cand[a] % k), ib = (unsigned)(tp->cand[b] % k);
            const uint64_t win = ls[q] & 1;
            if (!tp->fold) {
                lane_put(tp, ws, a, win, ib - 1);
                lane_put(tp, ws, b, win, ia);
            } else {
                for (size_t l = tp->poff[a]; l < tp->poff[a + 1]; l++)
                    lane_put(tp, ws, tp->pair_lane + l, win, ib - 1);
                for (size_t l = tp->poff[b]; l < tp->poff[b + 1]; l++)
                    lane_put(tp, ws, tp->pair_lane + l, win, ia);
                /* partner b of candidate a: [x_b − x_a ≥ thr] = [x_a − x_b < 1 − thr];
                 * partner a of candidate b: NOT [x_a − x_b < thr] */
                lane_put(tp, ws, tp->pair_lane + tp->poff[a] + tp->rank[b], ls[(tl + 1) * np + q] & 1,
                         (unsigned)(k - 1));
                lane_put(tp, ws, tp->pair_lane + tp->poff[b] + tp->rank[a], ls[tl * np + q] & 1,
                         (unsigned)(k - 1));
            }
            for (size_t u = 0; u < tp->nthw; u++) {
                lane_put(tp, ws, tp->thr_lane + u * nl + a, ls[(1 + 2 * u) * np + q] & 1, ib - 1);
                lane_put(tp, ws, tp->thr_lane + u * nl + b, ls[(2 + 2 * u) * np + q] & 1, ia);
            }
        }
    }
}

/* Folded: (x_i − max)·th_i = Σ_c (win_c·th_i)(x_i − x_c) as summed
 * 3-out-of-3 terms z[i] (the re-share follows), th_i = Σ_c win_c·th_i. */
static cc_status fold_terms(cc_proto *p, const th_plan *tp, const cc_ashare *wa,
                            const cc_ashare *xc, uint64_t *z, cc_ashare *th_last)
{
    const size_t k = tp->k, m = tp->row_pairs - tp->nl;    /* pairs (c, i), i ≠ c */
    memset(z, 0, tp->nl * sizeof *z);
    for (int h = 0; h < 2; h++) memset(th_last->s[h], 0, tp->nl * 8);
    cc_ashare A = { 0 }, B = { 0 };
    size_t *to = NULL, o = 0;
    uint64_t *zz = NULL;
    cc_status s = CC_OK;
    if (m > 0) {                               /* else every row has one live entry */
        to = cc_alloc(m * sizeof *to);
        zz = cc_alloc(m * sizeof *zz);
        s = zz && to ? CC_OK : CC_ERR_NOMEM;
        if (s == CC_OK) s = nn_ash_alloc_raw(&A, m);
        if (s == CC_OK) s = nn_ash_alloc_raw(&B, m);
    }
    for (size_t c = 0; s == CC_OK && c < tp->nl; c++) {
        const size_t r = tp->cand[c] / k;
        size_t q = tp->poff[c];
        for (size_t j = 0; j < k; j++) {
            const size_t ci = tp->slot[r * k + j];
            if (ci == SIZE_MAX) continue;
            for (int h = 0; h < 2; h++) th_last->s[h][ci] += wa->s[h][tp->pair_lane + q];
            if (ci != c && o < m) {
                for (int h = 0; h < 2; h++) {
                    A.s[h][o] = wa->s[h][tp->pair_lane + q];
                    B.s[h][o] = xc->s[h][ci] - xc->s[h][c];
                }
                to[o++] = ci;
            }
            q++;
        }
    }
    if (s == CC_OK && o > 0) {
        memset(zz, 0, o * sizeof *zz);
        cc_proto_terms_mul_acc(p, &A, &B, zz);
        for (size_t q = 0; q < o; q++) z[to[q]] += zz[q];
    }
    nn_ash_free(&A); nn_ash_free(&B);
    cc_free(zz); cc_free(to);
    return s;
}

cc_status nn_max_rows_th(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t k,
                         const uint8_t *live, size_t nth, const uint64_t *thr, bool fold,
                         cc_ashare *out, cc_ashare *th_out)
{
    if (k < 2 || nn_max_next_k(k) != k)
        return cc_error_set(CC_ERR_ARG, "nn max: threshold bits need one group per row (%zu columns)",
                            k);
    if (nth < 1 || nth > NN_MAX_TH)
        return cc_error_set(CC_ERR_ARG, "nn max: %zu thresholds (1..%d)", nth, NN_MAX_TH);
    bool narrow = true;
    uint64_t thrs[1 + 2 * NN_MAX_TH] = { 0 };
    for (size_t t = 0; t < nth; t++) {
        narrow = narrow && nn_max_th_narrow(thr[t], f);
        thrs[1 + 2 * t] = thr[t];
        thrs[2 + 2 * t] = 1 - thr[t];
    }
    for (int h = 0; h < 2; h++) {
        memset(out->s[h], 0, (fold ? rows * k : rows) * 8);
        memset(th_out->s[h], 0, nth * rows * k * 8);
    }
    th_plan tp;
    cc_ashare d = { 0 }, xc = { 0 }, wa = { 0 }, res = { 0 }, thl = { 0 };
    cc_bshare lt = { 0 }, w = { 0 }, t = { 0 }, bits = { 0 };
    uint64_t *pub = NULL, *z = NULL;
    cc_status s = th_plan_make(rows, k, live, nth, fold, &tp);
    const size_t nl = tp.nl, np = tp.np;
    if (s != CC_OK || nl == 0) goto done;
    s = nn_ash_alloc_raw(&d, np);
    if (s == CC_OK) s = nn_bsh_alloc(&lt, (1 + 2 * nth) * np);
    if (s == CC_OK) s = nn_bsh_alloc(&w, tp.nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&t, tp.nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&bits, tp.nlane);
    if (s == CC_OK) s = nn_ash_alloc_raw(&wa, tp.nlane);
    if (s == CC_OK) s = nn_ash_alloc_raw(&xc, nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&res, nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&thl, nl);
    if (s == CC_OK && !(pub = cc_alloc(tp.nwords * 8 + 8))) s = CC_ERR_NOMEM;
    if (s == CC_OK && !(z = cc_alloc(nl * sizeof *z + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++) {
        for (size_t c = 0; c < nl; c++) xc.s[h][c] = x->s[h][tp.cand[c]];
        for (size_t q = 0; q < np; q++) d.s[h][q] = xc.s[h][tp.pi[q]] - xc.s[h][tp.pj[q]];
    }
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, NN_CMP_ROW), &d, 1 + 2 * nth, thrs, &lt);
    if (s != CC_OK) goto done;
    words_public(&tp, pub);
    words_shared(&tp, &lt, &w);
    s = cc_proto_xor_public_vec(p, &w, pub, &w);
    /* AND tree: bit 0 of each lane ← AND of the lane's lw bits (a shift
     * brings the next lane's low bits into the top of this one, but bit 0
     * only ever reads bits of its own lane) */
    for (unsigned sh = tp.lw / 2; s == CC_OK && sh >= 1; sh /= 2) {
        s = cc_proto_bshr(p, &w, sh, &t);
        if (s == CC_OK) s = cc_proto_and(p, &w, &t, &w);
    }
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++)
        for (size_t l = 0; l < tp.nlane; l++)
            bits.s[h][l] = (w.s[h][l / tp.per] >> (l % tp.per * tp.lw)) & 1;
    s = cc_proto_b2a_bit(p, &bits, &wa);
    if (s != CC_OK) goto done;
    if (fold) {
        s = fold_terms(p, &tp, &wa, &xc, z, &thl);
        if (s == CC_OK) s = cc_proto_reshare_terms(p, z, &res);
    } else {
        cc_ashare W = cc_ashare_slice(&wa, 0, nl);     /* max = Σ_c win_c · x_c */
        s = cc_proto_mul(p, &W, &xc, &res);
    }
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++)
        for (size_t c = 0; c < nl; c++) {
            const size_t e = tp.cand[c];
            if (fold) out->s[h][e] = res.s[h][c];
            else out->s[h][e / k] += res.s[h][c];
            for (size_t u = 0; u < tp.nthw; u++)
                th_out->s[h][u * rows * k + e] = wa.s[h][tp.thr_lane + u * nl + c];
            if (fold) th_out->s[h][(nth - 1) * rows * k + e] = thl.s[h][c];
        }
done:
    th_plan_free(&tp);
    nn_ash_free(&d); nn_ash_free(&xc); nn_ash_free(&wa); nn_ash_free(&res); nn_ash_free(&thl);
    nn_bsh_free(&lt); nn_bsh_free(&w); nn_bsh_free(&t); nn_bsh_free(&bits);
    cc_free(pub); cc_free(z);
    return s;
}
