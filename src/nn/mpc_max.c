/* Row maximum with few rounds, for softmax (PUMA arXiv 2307.12533 §4.2 needs
 * max_j x_j for stability).  A binary tournament costs 8 rounds per level
 * (compare 6 + select 2): 56 rounds for 128 columns.  Here each level splits
 * the row into groups of k and settles a whole group at once:
 *   all k(k-1)/2 pairwise comparisons of all groups   one msb batch   6 rounds
 *   win_i = AND_j (x_i beats x_j), ties to the first: the k-1 bits of
 *   each candidate packed in one word, AND-tree w & (w >> s)   ⌈log2(k-1)⌉ rounds
 *   group max = Σ_i win_i · x_i (exactly one winner)  mul_bit       2 rounds
 * 128 columns = groups of 8, then one group of 16: (6+3+2) + (6+4+2) = 23
 * rounds instead of 56, for 568 comparisons per row instead of 127 (the
 * AND tree costs 8 B per candidate and level: the bits travel packed).
 * The result is the exact maximum, as in the plaintext model. */
#include <string.h>
#include "nn_impl.h"

/* One level: x holds groups × k values (group-major); out gets the groups
 * maxima.  k ≤ 64. */
static cc_status max_level(cc_proto *p, const cc_ashare *x, size_t groups, size_t k,
                           cc_ashare *out)
{
    const size_t pairs = k * (k - 1) / 2, npair = groups * pairs, ncand = groups * k;
    cc_ashare d = { 0 }, sel = { 0 }, xc = { 0 };
    cc_bshare lt = { 0 }, w = { 0 }, t = { 0 };
    cc_status s = nn_ash_alloc_raw(&d, npair);
    if (s == CC_OK) s = nn_bsh_alloc(&lt, npair);
    if (s == CC_OK) s = nn_bsh_alloc(&w, ncand);
    if (s == CC_OK) s = nn_bsh_alloc(&t, ncand);
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
    s = cc_proto_msb(p, &d, &lt);
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
    if (s == CC_OK) s = cc_proto_mul_bit(p, &w, &xc, &sel);
    if (s != CC_OK) goto done;
    for (int h = 0; h < 2; h++)
        for (size_t g = 0; g < groups; g++) {
            uint64_t acc = 0;
            for (size_t i = 0; i < k; i++) acc += sel.s[h][i * groups + g];
            out->s[h][g] = acc;
        }
done:
    nn_ash_free(&d); nn_ash_free(&sel); nn_ash_free(&xc);
    nn_bsh_free(&lt); nn_bsh_free(&w); nn_bsh_free(&t);
    return s;
}

/* Group size of the next level: rows of ≤ 16 are settled in one group,
 * longer ones in groups of 8. */
static size_t next_k(size_t len) { return len <= 16 ? len : 8; }

cc_status nn_max_rows(cc_proto *p, const cc_ashare *x, size_t rows, size_t cols, cc_ashare *out)
{
    if (cols == 1) { nn_copy(out, x); return CC_OK; }
    cc_ashare cur = { 0 }, nxt = { 0 };
    size_t len = cols;
    cc_status s = CC_OK;
    const cc_ashare *in = x;
    while (s == CC_OK && len > 1) {
        size_t k = next_k(len), groups_per_row = (len + k - 1) / k;
        size_t padded = groups_per_row * k;
        cc_ashare grp = { 0 };
        s = nn_ash_alloc_raw(&grp, rows * padded);
        if (s == CC_OK) s = nn_ash_alloc(&nxt, rows * groups_per_row);
        if (s != CC_OK) { nn_ash_free(&grp); break; }
        /* copy rows, pad each with the public masked value */
        for (int h = 0; h < 2; h++)
            for (size_t r = 0; r < rows; r++)
                memcpy(grp.s[h] + r * padded, in->s[h] + r * len, len * sizeof(uint64_t));
        for (size_t r = 0; s == CC_OK && r < rows && padded > len; r++) {
            cc_ashare tail = cc_ashare_slice(&grp, r * padded + len, padded - len);
            for (int h = 0; h < 2; h++) memset(tail.s[h], 0, tail.n * sizeof(uint64_t));
            s = cc_proto_add_public(p, &tail, CC_NN_MASKED_LOGIT, &tail);
        }
        if (s == CC_OK) s = max_level(p, &grp, rows * groups_per_row, k, &nxt);
        nn_ash_free(&grp);
        nn_ash_free(&cur);
        cur = nxt;
        nxt = (cc_ashare){ 0 };
        in = &cur;
        len = groups_per_row;
    }
    if (s == CC_OK) nn_copy(out, &cur);
    nn_ash_free(&cur);
    return s;
}
