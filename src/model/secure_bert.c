/* The secure BERT forward pass (DESIGN.md §5-6; PUMA, arXiv 2307.12533)
 * on replicated shares, built on
 * the transformer blocks of secure_gpt2.c.  Reads like its plaintext
 * reference (ref_forward.c, cc_ref_bert_forward):
 *   x = LN_e(onehot·E + P[0..n) + types·T)
 *   per layer:  x = LN1(x + Wo·Attn(x) + bo);  x = LN2(x + W2·gelu(W1·x + b1) + b2)
 *   pooled = tanh(Wp·x[0] + bp);  logits = Wc·pooled + bc
 * Attention is bidirectional over the whole sequence (no mask: the sequence
 * has exactly n tokens, no padding).  Costs beyond the shared blocks: the
 * token-type embedding (one share×share matmul, 1 round, 64·n·d bits) when
 * the client sends one-hot types, the embedding LayerNorm, and the pooler
 * (two fxp linears on one row, one tanh on d elements; see cc_secure_tanh). */
#include "secure_arch.h"

#include <stdio.h>
#include <string.h>

#include "core.h"

struct cc_secure_bert {
    cc_sxf core;
};

cc_status cc_secure_bert_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                                cc_secure_bert **out)
{
    const cc_model_config *c = cc_sweights_config(w);
    if (c->arch == CC_ARCH_BERT && c->n_classes <= 0)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure bert: the model has no classifier head "
                            "(n_classes = 0)");
    cc_secure_bert *m = cc_calloc(1, sizeof *m);
    if (!m) return CC_ERR_NOMEM;
    cc_status s = cc_sxf_init(&m->core, p, w, approx, CC_ARCH_BERT, max_seq, max_seq);
    if (s != CC_OK) {
        cc_free(m);
        return s;
    }
    *out = m;
    return CC_OK;
}

void cc_secure_bert_free(cc_secure_bert *m)
{
    if (!m) return;
    cc_sxf_free(&m->core);
    cc_free(m);
}

void cc_secure_bert_on_progress(cc_secure_bert *m, cc_secure_progress fn, void *ctx)
{
    m->core.progress = fn;
    m->core.progress_ctx = ctx;
}

/* tanh(x) = sign(x)·(1 - u)/(1 + u), u = exp(-|x|)^2.  Squaring exp(-|x|)
 * instead of evaluating exp(-2|x|) halves the relative error of PUMA's
 * (1 + x/2^t)^(2^t) (it is the same as one more squaring step).
 * Rounds: MSB 7, select 2, exp (see src/nn), square 2, reciprocal (src/nn),
 * mul 2, select 2; all on the n elements. */
cc_status cc_secure_tanh(cc_proto *p, const cc_nn_cfg *nn, const cc_ashare *x, cc_ashare *out)
{
    size_t n = x->n;
    uint64_t one = 1ull << p->f;
    cc_bshare neg = {0};
    cc_ashare a = {0}, b = {0}, u = {0};
    cc_status s = cc_bshare_alloc(&neg, n);
    if (s == CC_OK) s = cc_ashare_alloc(&a, n);
    if (s == CC_OK) s = cc_ashare_alloc(&b, n);
    if (s == CC_OK) s = cc_ashare_alloc(&u, n);
    if (s == CC_OK) s = cc_proto_msb(p, x, &neg);                  /* x < 0 */
    if (s == CC_OK) s = cc_proto_neg(p, x, &a);
    if (s == CC_OK) s = cc_proto_select(p, &neg, x, &a, &b);       /* b = -|x| */
    if (s == CC_OK) s = cc_nn_exp(p, nn, &b, &u);                  /* exp(-|x|) */
    if (s == CC_OK) s = cc_proto_square_fxp(p, &u, &u);            /* u = exp(-2|x|) */
    if (s == CC_OK) s = cc_proto_add_public(p, &u, one, &a);       /* 1 + u ∈ [1, 2] */
    if (s == CC_OK) s = cc_nn_reciprocal(p, nn, &a, &b);
    if (s == CC_OK) s = cc_proto_neg(p, &u, &a);
    if (s == CC_OK) s = cc_proto_add_public(p, &a, one, &a);       /* 1 - u */
    if (s == CC_OK) s = cc_proto_mul_fxp(p, &a, &b, &u);           /* tanh(|x|) */
    if (s == CC_OK) s = cc_proto_neg(p, &u, &a);
    if (s == CC_OK) s = cc_proto_select(p, &neg, &a, &u, out);
    cc_bshare_free(&neg);
    cc_ashare_free(&a);
    cc_ashare_free(&b);
    cc_ashare_free(&u);
    return s;
}

static void swap_shares(cc_ashare *a, cc_ashare *b)
{
    cc_ashare t = *a;
    *a = *b;
    *b = t;
}

/* x = onehot·E + types + positions, then the embedding LayerNorm. */
static cc_status embed(cc_sxf *m, const cc_ashare *onehot, const cc_ashare *type_onehot,
                       size_t n)
{
    size_t d = m->d, T = (size_t)m->c.type_vocab_size;
    cc_status s = cc_sxf_matmul(m, "embedding", "embed.tokens", onehot, n, false, &m->x, NULL);
    CC_TRY(s);
    cc_ashare types;
    CC_TRY(cc_sxf_vector(m, "embed.token_types", T * d, &types));
    if (type_onehot) {
        /* secret types: one-hot (integer) × table, no truncation */
        cc_ashare table = types, tt = cc_sblk_rows(&m->xb, n, d);
        table.rows = T;
        table.cols = d;
        cc_proto_scope_begin(m->p, "embedding");
        s = cc_proto_matmul(m->p, 1, n, d, T, CC_NOTRANS, type_onehot, CC_NOTRANS, &table, &tt);
        cc_proto_scope_end(m->p);
        CC_TRY(s);
        CC_TRY(cc_sxf_residual(m, &m->x, &m->xb, n));
    } else {
        /* every token has type 0 (public): add row 0 locally */
        for (int pl = 0; pl < 2; pl++)
            for (size_t r = 0; r < n; r++)
                for (size_t j = 0; j < d; j++) m->x.s[pl][r * d + j] += types.s[pl][j];
    }
    CC_TRY(cc_sxf_add_positions(m, &m->x, n, 0));
    CC_TRY(cc_sxf_layernorm(m, "embed.norm", &m->x, n, &m->xb));
    swap_shares(&m->x, &m->xb);
    return CC_OK;
}

static cc_status bert_layer(cc_sxf *m, int l, size_t n)
{
    char prefix[64];
    CC_TRY(cc_sxf_attention(m, l, &m->x, n));
    CC_TRY(cc_sxf_residual(m, &m->o, &m->x, n));
    snprintf(prefix, sizeof prefix, "layers.%d.attn_norm", l);
    CC_TRY(cc_sxf_layernorm(m, prefix, &m->o, n, &m->x));
    CC_TRY(cc_sxf_ffn(m, l, &m->x, n));
    CC_TRY(cc_sxf_residual(m, &m->o, &m->x, n));
    snprintf(prefix, sizeof prefix, "layers.%d.ffn_norm", l);
    return cc_sxf_layernorm(m, prefix, &m->o, n, &m->x);
}

/* pooled = tanh(Wp·x[CLS] + bp); logits = Wc·pooled + bc (one row). */
static cc_status head(cc_sxf *m, cc_ashare *class_logits)
{
    cc_ashare pre = cc_sblk_rows(&m->xb, 1, m->d), pooled = cc_sblk_rows(&m->att, 1, m->d);
    CC_TRY(cc_sxf_linear(m, "pooler", &m->x, 1, &pre));
    cc_proto_scope_begin(m->p, "activations");
    cc_status s = cc_secure_tanh(m->p, &m->nn, &pre, &pooled);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    return cc_sxf_linear(m, "classifier", &pooled, 1, class_logits);
}

cc_status cc_secure_bert_forward(cc_secure_bert *b, const cc_ashare *onehot,
                                 const cc_ashare *type_onehot, int n_in, cc_ashare *class_logits)
{
    cc_sxf *m = &b->core;
    if (n_in < 1 || n_in > m->max_seq)
        return cc_error_set(CC_ERR_ARG, "secure bert: a sequence of %d tokens, the engine holds "
                            "1..%d", n_in, m->max_seq);
    size_t n = (size_t)n_in;
    if (onehot->n != n * m->vocab ||
        (type_onehot && type_onehot->n != n * (size_t)m->c.type_vocab_size) ||
        class_logits->n != (size_t)m->c.n_classes)
        return cc_error_set(CC_ERR_ARG, "secure bert: tensor sizes do not match %d tokens, "
                            "%d types, %d classes", n_in, m->c.type_vocab_size, m->c.n_classes);
    m->pos = 0;
    uint64_t t0 = cc_now_ns();
    CC_TRY(cc_sxf_begin_layer(m, -1));
    CC_TRY(embed(m, onehot, type_onehot, n));
    CC_TRY(cc_sweights_end_layer(m->w, -1));
    cc_sxf_report(m, -1, t0);
    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sxf_begin_layer(m, l));
        cc_status s = bert_layer(m, l, n);
        if (s != CC_OK) return cc_error_wrap(s, "bert layer %d", l);
        CC_TRY(cc_sweights_end_layer(m->w, l));
        cc_sxf_report(m, l, t0);
    }
    t0 = cc_now_ns();
    CC_TRY(cc_sxf_begin_layer(m, m->c.n_layers));
    CC_TRY(head(m, class_logits));
    CC_TRY(cc_sweights_end_layer(m->w, m->c.n_layers));
    cc_sxf_report(m, m->c.n_layers, t0);
    return CC_OK;
}

cc_model_config cc_config_bert_base(void)
{
    return (cc_model_config){ .arch = CC_ARCH_BERT, .dim = 768, .hidden_dim = 3072,
                              .n_layers = 12, .n_heads = 12, .n_kv_heads = 12,
                              .vocab_size = 30522, .max_seq_len = 512, .norm_eps = 1e-12f,
                              .type_vocab_size = 2, .n_classes = 2 };
}
