/* Row maximum of rows settled in one group, with threshold bits, for
 * softmax (nn_impl.h, nn_max_rows_th; the grouped maximum of long rows and
 * argmax are in mpc_max.c).
 *
 * Per row of k ≤ 16 columns, only the live (unmasked) entries take part:
 *   all pairs of live entries, d = x_i − x_j (i < j), compared with 0 and
 *   with every thr_t and 1 − thr_t in one call (one shared round-1
 *   message; narrow 8-bit digits)                                 3 rounds
 *   per live candidate i one word per kind (win, thr_0, ...): bit j holds
 *   "i beats j" resp. [x_i − x_j ≥ thr_t]; against a masked opponent both
 *   are public ones (a masked entry sits at the domain's floor, below every
 *   live one), so pairs with a masked entry are never compared
 *   AND tree over each word, words packed lw = 2^levels bits per lane, so
 *   64/lw words travel in one 64-bit message              ⌈log2(k−1)⌉ rounds
 *   one bit injection for all words                               1 round
 *   max = Σ_i win_i · x_i (one multiplication)                    1 round
 * A causal 8×8 block compares 84 pairs instead of 224, and with seven
 * thresholds its AND tree sends 36·8/8 words per level instead of 64·8.
 * Ties go to the first entry; win_i · x_i needs exactly one winner per row
 * with a live entry (rows without one get 0).  Masked entries get zero
 * threshold bits. */
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

/* Lane width of the packed AND tree: 2^levels bits (at least 1). */
static unsigned lane_bits(size_t k)
{
    return 1u << nn_max_and_levels(k);
}

size_t nn_max_th_words(size_t k, size_t nl, size_t nth)
{
    const size_t lanes = 64 / lane_bits(k);
    return ((1 + nth) * nl + lanes - 1) / lanes;
}

cc_status nn_max_rows_th(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t k,
                         const uint8_t *live, size_t nth, const uint64_t *thr, cc_ashare *out,
                         cc_ashare *th_out)
{
    if (k < 2 || nn_max_next_k(k) != k)
        return cc_error_set(CC_ERR_ARG, "nn max: threshold bits need one group per row (%zu columns)",
                            k);
    if (nth > NN_MAX_TH)
        return cc_error_set(CC_ERR_ARG, "nn max: %zu thresholds, at most %d", nth, NN_MAX_TH);
    bool narrow = true;
    for (size_t t = 0; t < nth; t++) narrow = narrow && nn_max_th_narrow(thr[t], f);
    uint64_t thrs[1 + 2 * NN_MAX_TH] = { 0 };
    for (size_t t = 0; t < nth; t++) {
        thrs[1 + 2 * t] = thr[t];
        thrs[2 + 2 * t] = 1 - thr[t];
    }
    const size_t nthr = 1 + 2 * nth, nk = 1 + nth;            /* comparisons per pair, word kinds */
    const unsigned lw = lane_bits(k), lanes = 64 / lw;
    const uint64_t lane_mask = lw == 64 ? ~0ull : (1ull << lw) - 1;

    rows_plan rp;
    cc_ashare d = { 0 }, xc = { 0 }, wa = { 0 }, sel = { 0 };
    cc_bshare lt = { 0 }, w = { 0 }, t = { 0 }, bits = { 0 };
    uint64_t *pub = NULL;
    cc_status s = rows_plan_make(rows, k, live, &rp);
    const size_t nl = rp.nl, np = rp.np, nwords = nn_max_th_words(k, nl, nth);
    for (int h = 0; h < 2; h++) {
        memset(out->s[h], 0, rows * 8);
        memset(th_out->s[h], 0, nth * rows * k * 8);
    }
    if (s == CC_OK) s = nn_ash_alloc_raw(&d, np);
    if (s == CC_OK) s = nn_bsh_alloc(&lt, nthr * np);
    if (s == CC_OK) s = nn_bsh_alloc(&w, nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&t, nwords);
    if (s == CC_OK) s = nn_bsh_alloc(&bits, nk * nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&wa, nk * nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&xc, nl);
    if (s == CC_OK) s = nn_ash_alloc_raw(&sel, nl);
    if (s == CC_OK && !(pub = cc_alloc(nwords * 8 + 8))) s = CC_ERR_NOMEM;
    if (s != CC_OK || nl == 0) goto done;
    for (int h = 0; h < 2; h++) {
        for (size_t c = 0; c < nl; c++) xc.s[h][c] = x->s[h][rp.cand[c]];
        for (size_t q = 0; q < np; q++) d.s[h][q] = xc.s[h][rp.pi[q]] - xc.s[h][rp.pj[q]];
    }
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, NN_CMP_ROW), &d, nthr, thrs, &lt);
    if (s != CC_OK) goto done;
    /* Word (kind u, candidate c) is lane (u·nl + c) of the packed words; an
     * opponent in column j sits at bit j (j < i) or j − 1 (j > i).  Shared
     * bits: "i beats j" = NOT [x_i < x_j] for j > i (ties to the first) and
     * [x_j < x_i] for j < i; [x_i − x_j ≥ thr] = NOT [x_i − x_j < thr] for
     * j > i and [x_j − x_i < 1 − thr] for j < i.  So every kind has its NOTs
     * at the opponents after i; they, the public ones of masked opponents
     * and the unused high bits go into one public XOR word. */
    memset(pub, 0, nwords * 8);
    for (size_t c = 0; c < nl; c++) {
        const size_t e = rp.cand[c], r = e / k, i = e % k;
        uint64_t word = ~0ull & lane_mask;               /* public ones everywhere ... */
        for (size_t j = 0; j < k; j++) {
            if (j == i || rp.slot[r * k + j] == SIZE_MAX) continue;
            word &= ~(1ull << (j < i ? j : j - 1));     /* ... but at live opponents */
        }
        for (size_t j = i + 1; j < k; j++)                /* the NOTs: opponents after i */
            if (rp.slot[r * k + j] != SIZE_MAX) word |= 1ull << (j - 1);
        for (size_t u = 0; u < nk; u++) {
            const size_t lane = u * nl + c;
            pub[lane / lanes] |= word << (lane % lanes * lw);
        }
    }
    for (int h = 0; h < 2; h++) {
        for (size_t q = 0; q < np; q++) {
            const size_t a = rp.pi[q], b = rp.pj[q];
            const size_t ia = rp.cand[a] % k, ib = rp.cand[b] % k;      /* ia < ib */
            for (size_t u = 0; u < nk; u++) {
                /* a's word: bit ib − 1 from [d < thr_u]; b's word: bit ia from
                 * [d < 0] (win) resp. [d < 1 − thr_u] */
                const uint64_t ba = lt.s[h][(u ? 2 * u - 1 : 0) * np + q] & 1;
                const uint64_t bb = lt.s[h][(u ? 2 * u : 0) * np + q] & 1;
                const size_t la = u * nl + a, lb = u * nl + b;
                w.s[h][la / lanes] |= ba << (la % lanes * lw + ib - 1);
                w.s[h][lb / lanes] |= bb << (lb % lanes * lw + ia);
            }
        }
    }
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
        for (size_t l = 0; l < nk * nl; l++)
            bits.s[h][l] = (w.s[h][l / lanes] >> (l % lanes * lw)) & 1;
    s = cc_proto_b2a_bit(p, &bits, &wa);
    cc_ashare W = cc_ashare_slice(&wa, 0, nl);
    if (s == CC_OK) s = cc_proto_mul(p, &W, &xc, &sel);
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++) {
        for (size_t c = 0; c < nl; c++) out->s[h][rp.cand[c] / k] += sel.s[h][c];
        for (size_t u = 0; u < nth; u++)
            for (size_t c = 0; c < nl; c++)
                th_out->s[h][u * rows * k + rp.cand[c]] = wa.s[h][(1 + u) * nl + c];
    }
done:
    rows_plan_free(&rp);
    nn_ash_free(&d); nn_ash_free(&xc); nn_ash_free(&wa); nn_ash_free(&sel);
    nn_bsh_free(&lt); nn_bsh_free(&w); nn_bsh_free(&t); nn_bsh_free(&bits);
    cc_free(pub);
    return s;
}
