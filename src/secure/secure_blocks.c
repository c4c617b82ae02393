/* Building blocks shared by the secure transformer engines: views, the
 * column-blocked weight matmul, and multi-head attention on shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "secure_impl.h"

cc_ashare cc_sblk_rows(const cc_ashare *t, size_t rows, size_t cols)
{
    cc_ashare v = cc_ashare_slice(t, 0, rows * cols);
    v.rows = rows;
    v.cols = cols;
    return v;
}

cc_status cc_sblk_check_step(const char *engine, int n_in, int out_rows, int pos, int max_batch,
                             int max_seq, size_t vocab, const cc_ashare *onehot,
                             const cc_ashare *logits)
{
    if (n_in < 1 || n_in > max_batch || pos + n_in > max_seq)
        return cc_error_set(CC_ERR_ARG, "secure %s: %d positions at %d exceed the %d/%d "
                            "allocated", engine, n_in, pos, max_batch, max_seq);
    if (out_rows < 1 || out_rows > n_in || onehot->n != (size_t)n_in * vocab ||
        logits->n != (size_t)out_rows * vocab)
        return cc_error_set(CC_ERR_ARG, "secure %s: tensor sizes do not match %d positions",
                            engine, n_in);
    return CC_OK;
}

size_t cc_sblk_linear_block(cc_sweights *w)
{
    const char *blk = getenv("CARACAL_LINEAR_BLOCK_ELEMS");
    if (blk && atoll(blk) > 0) return (size_t)atoll(blk);
    return cc_sweights_block_hint(w);
}

cc_status cc_sblk_ref(cc_sweights *w, cc_wref *r, bool linear, size_t K, size_t N,
                      const char *fmt, ...)
{
    char name[CC_TENSOR_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    CC_TRY(cc_sweights_ref(w, linear, r, "%s", name));
    if (r->K != K || r->N != N)
        return cc_error_set(CC_ERR_FORMAT, "tensor '%s' is %zu×%zu, the %s engine expects "
                            "%zu×%zu", name, r->K, r->N, cc_arch_name(cc_sweights_config(w)->arch),
                            K, N);
    return CC_OK;
}

cc_status cc_sblk_group_terms(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                              const cc_wref *const *weights, size_t count, const cc_ashare *x,
                              size_t n, uint64_t **terms)
{
    size_t K[CC_SBLK_GROUP_MAX], N[CC_SBLK_GROUP_MAX], total = 0;
    *terms = NULL;
    if (count == 0 || count > CC_SBLK_GROUP_MAX)
        return cc_error_set(CC_ERR_INTERNAL, "secure engine: group of %zu weights", count);
    for (size_t j = 0; j < count; j++) {
        K[j] = weights[j]->K;
        N[j] = weights[j]->N;
        total += n * N[j];
    }
    cc_status s = CC_OK;
    /* every weight's 3-out-of-3 terms side by side in z, block by block:
     * a block's planes are consumed while still in cache */
    uint64_t *z = cc_alloc((total ? total : 1) * sizeof(uint64_t));
    if (!z) return CC_ERR_NOMEM;
    size_t nr = cc_sweights_panel_cols();
    cc_proto_xpack xp = { 0 };            /* X packed once per input width, not per block */
    for (size_t j = 0, off = 0; s == CC_OK && j < count; off += n * N[j], j++) {
        cc_ashare xin = cc_sblk_rows(x, n, K[j]);
        if (j == 0 || K[j] != K[j - 1]) s = cc_proto_xpack_init(&xp, n, K[j], &xin);
        size_t cols = K[j] * N[j] <= block ? N[j] : CC_MAX(nr, block / K[j] / nr * nr);
        for (size_t c0 = 0; s == CC_OK && c0 < N[j]; c0 += cols) {
            cc_proto_weight W;
            cc_proto_scope_begin(p, "weights");
            s = cc_sweights_linear_cols(w, weights[j], c0, CC_MIN(cols, N[j] - c0), &W);
            cc_proto_scope_end(p);
            if (s != CC_OK) break;
            cc_proto_scope_begin(p, tag);
            if (s == CC_OK) s = cc_proto_matmul_weight_term_x(p, &xp, &W, z + off + c0, N[j]);
            cc_proto_scope_end(p);
        }
    }
    cc_proto_xpack_free(&xp);
    if (s != CC_OK) {
        cc_free(z);
        return s;
    }
    *terms = z;
    return CC_OK;
}

cc_status cc_sblk_group_finish(cc_proto *p, const char *tag, const uint64_t *z,
                               const cc_wref *const *weights, size_t count, size_t n, bool fxp,
                               const unsigned *shift, cc_ashare *const *outs)
{
    size_t len[CC_SBLK_GROUP_MAX], total = 0;
    if (count == 0 || count > CC_SBLK_GROUP_MAX)
        return cc_error_set(CC_ERR_INTERNAL, "secure engine: group of %zu weights", count);
    for (size_t j = 0; j < count; j++) {
        len[j] = n * weights[j]->N;
        if (outs[j]->n < len[j])
            return cc_error_set(CC_ERR_INTERNAL, "secure engine: output of '%s' too small",
                                weights[j]->name);
        total += len[j];
    }
    /* one reshare (or fused truncation) for the whole group */
    cc_ashare res = {0};
    cc_status s = CC_OK;
    if (count == 1) res = cc_sblk_rows(outs[0], n, weights[0]->N);
    else s = cc_ashare_alloc(&res, total);
    if (s == CC_OK) {
        cc_proto_scope_begin(p, tag);
        if (shift) s = cc_proto_trunc_terms_seg(p, z, count, len, shift, &res);
        else s = cc_proto_finish_terms(p, z, fxp, &res);
        cc_proto_scope_end(p);
    }
    for (size_t j = 0, off = 0; s == CC_OK && count > 1 && j < count; off += len[j], j++)
        for (int pl = 0; pl < 2; pl++)
            memcpy(outs[j]->s[pl], res.s[pl] + off, len[j] * sizeof(uint64_t));
    if (count > 1) cc_ashare_free(&res);
    return s;
}

cc_status cc_sblk_matmul_group(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                               const cc_wref *const *weights, size_t count, const cc_ashare *x,
                               size_t n, bool fxp, cc_ashare *const *outs)
{
    uint64_t *z;
    CC_TRY(cc_sblk_group_terms(p, w, block, tag, weights, count, x, n, &z));
    cc_status s = cc_sblk_group_finish(p, tag, z, weights, count, n, fxp, NULL, outs);
    cc_free(z);
    return s;
}

cc_status cc_sblk_matmul(cc_proto *p, cc_sweights *w, size_t block, const char *tag,
                         const cc_wref *weight, const cc_ashare *x, size_t n, bool fxp,
                         cc_ashare *out)
{
    return cc_sblk_matmul_group(p, w, block, tag, &weight, 1, x, n, fxp, &out);
}

cc_status cc_sblk_attn_init(cc_sblk_attn *a, size_t heads, size_t kv_heads, size_t hs,
                            size_t max_batch, size_t max_seq)
{
    memset(a, 0, sizeof *a);
    *a = (cc_sblk_attn){ .heads = heads, .kv_heads = kv_heads, .hs = hs,
                         .max_batch = max_batch, .max_seq = max_seq };
    size_t H = heads, B = max_batch, S = max_seq;
    cc_status s = cc_ashare_alloc_2d(&a->qh, H * B, hs);
    if (s == CC_OK) s = cc_ashare_alloc_2d(&a->kh, H * S, hs);
    if (s == CC_OK) s = cc_ashare_alloc_2d(&a->vh, H * S, hs);
    if (s == CC_OK) s = cc_ashare_alloc_2d(&a->scores, H * B, S);
    if (s == CC_OK) s = cc_ashare_alloc_2d(&a->probs, H * B, S);
    if (s == CC_OK) s = cc_ashare_alloc_2d(&a->ctxh, H * B, hs);
    if (s == CC_OK && !(a->mask = cc_alloc(B * S))) s = CC_ERR_NOMEM;
    if (s != CC_OK) cc_sblk_attn_free(a);
    return s;
}

void cc_sblk_attn_free(cc_sblk_attn *a)
{
    cc_ashare *all[] = { &a->qh, &a->kh, &a->vh, &a->scores, &a->probs, &a->ctxh };
    for (size_t i = 0; i < CC_ARRAY_LEN(all); i++) cc_ashare_free(all[i]);
    cc_free(a->mask);
    a->mask = NULL;
}

cc_status cc_sblk_attend(cc_proto *p, const cc_nn_cfg *nn, cc_sblk_attn *a, bool causal,
                         size_t pos0, size_t n, const cc_ashare *q, const cc_ashare *k,
                         const cc_ashare *v, cc_ashare *kc, cc_ashare *vc, cc_ashare *att)
{
    size_t H = a->heads, G = a->kv_heads, hs = a->hs, S = a->max_seq, T = pos0 + n;
    size_t d = H * hs, kvd = G * hs, group = H / G;
    if (n > a->max_batch || T > S)
        return cc_error_set(CC_ERR_INTERNAL, "attention: %zu positions at %zu exceed %zu/%zu", n,
                            pos0, a->max_batch, S);
    for (int pl = 0; pl < 2; pl++) {
        /* append the new keys and values to the cache */
        for (size_t r = 0; r < n; r++)
            for (size_t g = 0; g < G; g++) {
                size_t dst = (g * S + pos0 + r) * hs, src = r * kvd + g * hs;
                memcpy(kc->s[pl] + dst, k->s[pl] + src, hs * sizeof(uint64_t));
                memcpy(vc->s[pl] + dst, v->s[pl] + src, hs * sizeof(uint64_t));
            }
        /* gather per-head operands: Q_h [n][hs], K_h and V_h [T][hs] */
        for (size_t h = 0; h < H; h++) {
            for (size_t r = 0; r < n; r++)
                memcpy(a->qh.s[pl] + (h * n + r) * hs, q->s[pl] + r * d + h * hs,
                       hs * sizeof(uint64_t));
            size_t g = h / group;
            memcpy(a->kh.s[pl] + h * T * hs, kc->s[pl] + g * S * hs, T * hs * sizeof(uint64_t));
            memcpy(a->vh.s[pl] + h * T * hs, vc->s[pl] + g * S * hs, T * hs * sizeof(uint64_t));
        }
    }
    cc_ashare qh = cc_sblk_rows(&a->qh, H * n, hs), kh = cc_sblk_rows(&a->kh, H * T, hs);
    cc_ashare vh = cc_sblk_rows(&a->vh, H * T, hs), ctxh = cc_sblk_rows(&a->ctxh, H * n, hs);
    cc_ashare scores = cc_sblk_rows(&a->scores, H * n, T), probs = cc_sblk_rows(&a->probs, H * n, T);

    cc_proto_scope_begin(p, "attention");
    cc_status s = cc_proto_matmul_fxp(p, H, n, T, hs, CC_NOTRANS, &qh, CC_TRANS, &kh, &scores);
    cc_proto_scope_end(p);
    CC_TRY(s);
    if (causal) cc_nn_causal_mask(n, T, pos0, a->mask);
    cc_proto_scope_begin(p, "softmax");
    s = cc_nn_softmax(p, nn, H * n, T, &scores, causal ? a->mask : NULL, n, &probs);
    cc_proto_scope_end(p);
    CC_TRY(s);
    cc_proto_scope_begin(p, "attention");
    s = cc_proto_matmul_fxp(p, H, n, hs, T, CC_NOTRANS, &probs, CC_NOTRANS, &vh, &ctxh);
    cc_proto_scope_end(p);
    CC_TRY(s);
    /* back to [n][d]: head h occupies columns h*hs .. h*hs+hs-1 */
    for (int pl = 0; pl < 2; pl++)
        for (size_t h = 0; h < H; h++)
            for (size_t r = 0; r < n; r++)
                memcpy(att->s[pl] + r * d + h * hs, a->ctxh.s[pl] + (h * n + r) * hs,
                       hs * sizeof(uint64_t));
    return CC_OK;
}
