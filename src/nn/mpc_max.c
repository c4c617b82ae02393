/* Row maximum with few rounds, for softmax (PUMA arXiv 2307.12533 §4.2 needs
 * max_j x_j for stability) and argmax.  A binary tournament costs 8 rounds
 * per level (compare 6 + select 2): 56 rounds for 128 columns.  Here each
 * level splits the row into groups of k and settles a whole group at once:
 *   all k(k-1)/2 pairwise comparisons of all groups   one narrow batch  4 rounds
 *   (4-bit digits; 3 on 8-bit digits for rows of one group and argmax
 *   after its first level, nn_max_level_site)
 *   win_i = AND_j (x_i beats x_j), ties to the first: the k-1 bits of
 *   each candidate packed in one word, AND-tree w & (w >> s)   ⌈log2(k-1)⌉ rounds
 *   group max = Σ_i win_i · x_i (exactly one winner)  mul_bit       2 rounds
 * 128 columns = groups of 8, then one group of 16: (5+3+2) + (5+4+2) = 21
 * rounds instead of 56, for 568 comparisons per row instead of 127 (the
 * AND tree costs 8 B per candidate and level: the bits travel packed).
 *
 * Domain: |x| < 2^(31-f) - CC_NN_LOGIT_MARGIN (nn_impl.h; 8184 at f = 18).
 * Then every comparison operand x_i - x_j (and softmax's x_i - x_j - thr)
 * lies in [-2^32, 2^32), where the narrow MSB (≈ 11 B per comparison instead
 * of 21.6 for the 64-bit one) is exact, and the result is the exact maximum,
 * as in the plaintext model.  Masked entries and padding enter as
 * cc_nn_logit_floor(f), the domain's lower edge.  Outside the domain the
 * result is unspecified. */
#include <string.h>
#include "nn_impl.h"

/* One level: x holds groups × k values (group-major); out gets the groups
 * maxima.  k ≤ 64.  narrow: every difference is known to lie in
 * [-2^32, 2^32). */
static cc_status max_level(cc_proto *p, const cc_ashare *x, size_t groups, size_t k,
                           const cc_ashare *idx_in, const uint64_t *pub_idx, cc_ashare *out,
                           cc_ashare *idx_out, bool narrow, nn_cmp_site site)
{
    const size_t pairs = k * (k - 1) / 2, ncand = groups * k, npair = groups * pairs;
    const size_t nthr = 1, nw = ncand;
    const uint64_t thrs[1] = { 0 };
    cc_ashare d = { 0 }, sel = { 0 }, xc = { 0 }, wa = { 0 }, pay = { 0 }, prod = { 0 };
    cc_bshare lt = { 0 }, w = { 0 }, t = { 0 };
    cc_status s = nn_ash_alloc_raw(&d, npair);
    if (s == CC_OK) s = nn_bsh_alloc(&lt, nthr * npair);
    if (s == CC_OK) s = nn_bsh_alloc(&w, nw);
    if (s == CC_OK) s = nn_bsh_alloc(&t, nw);
    if (s == CC_OK) s = nn_ash_alloc_raw(&sel, ncand);
    if (s == CC_OK) s = nn_ash_alloc_raw(&xc, ncand);
    if (s != CC_OK) goto done;
    /* Candidate-major layout xc[i·groups + g] = x[g·k + i], pair-major
     * d[pair·groups + g] = x_i - x_j (i < j): every loop below runs over
     * contiguous g.  msb(d) = [x_i < x_j]. */
    for (int h = 0; h < 2; h++) {
        for (size_t i = 0; i < k; i++)
            for (size_t g = 0; g < groups; g++) xc.s[h][i * groups + g] = x->s[h][g * k + i];
        size_t q = 0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++, q++) {
                const uint64_t *xi = xc.s[h] + i * groups, *xj = xc.s[h] + j * groups;
                uint64_t *dq = d.s[h] + q * groups;
                for (size_t g = 0; g < groups; g++) dq[g] = xi[g] - xj[g];
            }
    }
    s = cc_proto_lt_public_multi(p, nn_msb_kind(narrow, site), &d, nthr, thrs, &lt);
    if (s != CC_OK) goto done;
    /* candidate i beats j > i when NOT [x_i < x_j], and j < i when [x_j < x_i]:
     * opponents 0..i-1 at bit positions 0..i-1, opponents i+1..k-1 at
     * positions i..k-2 of w[i·groups + g] (w is zeroed) */
    for (int h = 0; h < 2; h++) {
        size_t q = 0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++, q++) {
                const uint64_t *bq = lt.s[h] + q * groups;
                uint64_t *wi = w.s[h] + i * groups, *wj = w.s[h] + j * groups;
                for (size_t g = 0; g < groups; g++) {
                    uint64_t bit = bq[g] & 1;
                    wi[g] |= bit << (j - 1);
                    wj[g] |= bit << i;
                }
            }
    }
    /* flip positions i..k-2 (i wins there iff [x_i < x_j] = 0) and set the
     * unused high bits to 1, one public XOR per candidate slot */
    const uint64_t used = (k - 1 >= 64) ? ~0ull : ((1ull << (k - 1)) - 1);
    for (size_t i = 0; s == CC_OK && i < k; i++) {
        cc_bshare wi = cc_bshare_slice(&w, i * groups, groups);
        s = cc_proto_xor_public(p, &wi, (used & ~((1ull << i) - 1)) | ~used, &wi);
    }
    /* AND tree: bit 0 ← AND of bits 0..k-2 */
    unsigned span = 1;
    while (span < k - 1) span <<= 1;
    for (unsigned sh = span / 2; s == CC_OK && sh >= 1; sh /= 2) {
        s = cc_proto_bshr(p, &w, sh, &t);
        if (s == CC_OK) s = cc_proto_and(p, &w, &t, &w);
    }
    if (s == CC_OK) s = cc_proto_and_public(p, &w, 1, &w);
    if (s != CC_OK) goto done;
    if (!idx_out) {
        s = cc_proto_mul_bit(p, &w, &xc, &sel);
    } else {
        /* argmax: the winner's index rides along.  Bit injection once, then
         * one multiplication batch for value and (secret) index; a public
         * index needs no multiplication at all (Σ_i W_i · i is local).
         * Same 2 rounds as mul_bit. */
        s = nn_ash_alloc_raw(&wa, (idx_in ? 2 : 1) * ncand);
        if (s == CC_OK) s = nn_ash_alloc_raw(&pay, (idx_in ? 2 : 1) * ncand);
        if (s == CC_OK) s = nn_ash_alloc_raw(&prod, (idx_in ? 2 : 1) * ncand);
        cc_ashare W = cc_ashare_slice(&wa, 0, ncand);
        if (s == CC_OK) s = cc_proto_b2a_bit(p, &w, &W);
        if (s != CC_OK) goto done;
        cc_ashare pv = cc_ashare_slice(&pay, 0, ncand);
        nn_copy(&pv, &xc);
        if (idx_in) {
            cc_ashare W2 = cc_ashare_slice(&wa, ncand, ncand), pi = cc_ashare_slice(&pay, ncand, ncand);
            nn_copy(&W2, &W);
            for (int h = 0; h < 2; h++)
                for (size_t i = 0; i < k; i++)
                    for (size_t g = 0; g < groups; g++) pi.s[h][i * groups + g] = idx_in->s[h][g * k + i];
        }
        s = cc_proto_mul(p, &wa, &pay, &prod);
        if (s != CC_OK) goto done;
        cc_ashare pr = cc_ashare_slice(&prod, 0, ncand);
        nn_copy(&sel, &pr);
        for (int h = 0; h < 2; h++)
            for (size_t g = 0; g < groups; g++) {
                uint64_t acc = 0;
                for (size_t i = 0; i < k; i++)
                    acc += idx_in ? prod.s[h][ncand + i * groups + g]
                                  : W.s[h][i * groups + g] * pub_idx[g * k + i];
                idx_out->s[h][g] = acc;
            }
    }
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++)
        for (size_t g = 0; g < groups; g++) {
            uint64_t acc = 0;
            for (size_t i = 0; i < k; i++) acc += sel.s[h][i * groups + g];
            out->s[h][g] = acc;
        }
done:
    nn_ash_free(&d); nn_ash_free(&sel); nn_ash_free(&xc);
    nn_ash_free(&wa); nn_ash_free(&pay); nn_ash_free(&prod);
    nn_bsh_free(&lt); nn_bsh_free(&w); nn_bsh_free(&t);
    return s;
}

/* The level loop shared by max and argmax: pad each row to whole groups
 * with the public floor of the domain (never a winner: real logits are
 * larger and ties go to the earlier, real, entries), settle groups, repeat.
 * Group maxima stay in the domain, so every level is narrow. */
static cc_status max_rows_impl(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows,
                               size_t cols, cc_ashare *out, cc_ashare *index_out)
{
    cc_ashare cur = { 0 }, nxt = { 0 }, cur_idx = { 0 }, nxt_idx = { 0 };
    uint64_t *pub_idx = NULL;
    size_t len = cols;
    cc_status s = CC_OK;
    const cc_ashare *in = x;
    bool first = true;
    if (cols == 1) {
        nn_copy(out, x);
        if (index_out) { memset(index_out->s[0], 0, rows * 8); memset(index_out->s[1], 0, rows * 8); }
        return CC_OK;
    }
    while (s == CC_OK && len > 1) {
        size_t k = index_out ? nn_argmax_next_k(len) : nn_max_next_k(len);
        size_t groups_per_row = (len + k - 1) / k;
        size_t padded = groups_per_row * k, G = rows * groups_per_row;
        cc_ashare grp = { 0 }, grp_idx = { 0 };
        s = nn_ash_alloc_raw(&grp, rows * padded);
        if (s == CC_OK) s = nn_ash_alloc(&nxt, G);
        if (s == CC_OK && index_out) s = nn_ash_alloc(&nxt_idx, G);
        if (s == CC_OK && index_out && !first) s = nn_ash_alloc(&grp_idx, rows * padded);
        if (s == CC_OK && index_out && first && !(pub_idx = cc_alloc(rows * padded * 8 + 8)))
            s = CC_ERR_NOMEM;
        if (s != CC_OK) { nn_ash_free(&grp); nn_ash_free(&grp_idx); break; }
        for (int h = 0; h < 2; h++)
            for (size_t r = 0; r < rows; r++) {
                memcpy(grp.s[h] + r * padded, in->s[h] + r * len, len * sizeof(uint64_t));
                if (grp_idx.n)
                    memcpy(grp_idx.s[h] + r * padded, cur_idx.s[h] + r * len, len * sizeof(uint64_t));
            }
        if (pub_idx && first)
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < padded; c++) pub_idx[r * padded + c] = c;
        for (size_t r = 0; s == CC_OK && r < rows && padded > len; r++) {
            cc_ashare tail = cc_ashare_slice(&grp, r * padded + len, padded - len);
            for (int h = 0; h < 2; h++) memset(tail.s[h], 0, tail.n * sizeof(uint64_t));
            s = cc_proto_add_public(p, &tail, cc_nn_logit_floor(f), &tail);
        }
        if (s == CC_OK)
            s = max_level(p, &grp, G, k, grp_idx.n ? &grp_idx : NULL, first ? pub_idx : NULL,
                          &nxt, index_out ? &nxt_idx : NULL, true,
                          nn_max_level_site(index_out != NULL, first));
        nn_ash_free(&grp);
        nn_ash_free(&grp_idx);
        nn_ash_free(&cur);
        nn_ash_free(&cur_idx);
        cur = nxt;
        cur_idx = nxt_idx;
        nxt = nxt_idx = (cc_ashare){ 0 };
        in = &cur;
        len = groups_per_row;
        first = false;
    }
    if (s == CC_OK) {
        nn_copy(out, &cur);
        if (index_out) nn_copy(index_out, &cur_idx);
    }
    nn_ash_free(&cur);
    nn_ash_free(&cur_idx);
    cc_free(pub_idx);
    return s;
}

cc_status nn_max_rows(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t cols,
                      cc_ashare *out)
{
    return max_rows_impl(p, f, x, rows, cols, out, NULL);
}

cc_status nn_argmax_rows(cc_proto *p, unsigned f, const cc_ashare *x, size_t rows, size_t cols,
                         cc_ashare *max_out, cc_ashare *index_out)
{
    return max_rows_impl(p, f, x, rows, cols, max_out, index_out);
}

