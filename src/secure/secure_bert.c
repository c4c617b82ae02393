/* The secure BERT forward pass (PUMA, arXiv 2307.12533) on replicated
 * shares, built from the transformer core (secure_xf.c).  Reads like its
 * plaintext reference (src/ref/ref_forward.c, cc_ref_bert_forward):
 *   x = LN_e(onehot·E + P[0..n) + types·T)
 *   per layer:  x = LN1(x + Wo·Attn(x) + bo);  x = LN2(x + W2·gelu(W1·x + b1) + b2)
 *   pooled = tanh(Wp·x[0] + bp);  logits = Wc·pooled + bc
 * Attention is bidirectional over the whole sequence (no mask: the sequence
 * has exactly n tokens, no padding).  Costs beyond the shared blocks: the
 * token-type embedding (one share×share matmul, 1 round, 64·n·d bits) when
 * the client sends one-hot types, the embedding LayerNorm, and the pooler
 * (two fxp linears on one row, one tanh on d elements; see cc_nn_tanh). */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "secure_impl.h"

typedef struct bert {
    cc_sxf core;
    cc_wref token_types;
    cc_sxf_norm_w embed_norm;
    cc_sxf_linear_w pooler, classifier;
} bert;

static void bert_free(void *b)
{
    if (!b) return;
    cc_sxf_free(&((bert *)b)->core);
    cc_free(b);
}

/* Sequences of up to max_seq tokens; max_batch is not used (the whole
 * sequence is one batch). */
static cc_status bert_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                             int max_batch, void **out)
{
    const cc_model_config *c = cc_sweights_config(w);
    if (c->arch == CC_ARCH_BERT && c->n_classes <= 0)
        return cc_error_set(CC_ERR_UNSUPPORTED, "secure bert: the model has no classifier head "
                            "(n_classes = 0)");
    bert *b = cc_calloc(1, sizeof *b);
    if (!b) return CC_ERR_NOMEM;
    cc_status s = cc_sxf_init(&b->core, p, w, approx, CC_ARCH_BERT, max_seq, max_seq);
    if (s != CC_OK) {
        cc_free(b);
        return s;
    }
    cc_sxf *m = &b->core;
    size_t d = m->d;
    s = cc_sblk_ref(w, &b->token_types, false, 1, (size_t)c->type_vocab_size * d,
                    "embed.token_types");
    if (s == CC_OK) s = cc_sxf_ref_norm(m, &b->embed_norm, "embed.norm");
    if (s == CC_OK) s = cc_sxf_ref_linear(m, &b->pooler, d, d, "pooler");
    if (s == CC_OK) s = cc_sxf_ref_linear(m, &b->classifier, d, (size_t)c->n_classes, "classifier");
    if (s != CC_OK) {
        bert_free(b);
        return s;
    }
    *out = b;
    return CC_OK;
}

static void bert_on_progress(void *b, cc_secure_progress fn, void *ctx)
{
    ((bert *)b)->core.progress = fn;
    ((bert *)b)->core.progress_ctx = ctx;
}

static int bert_pos(const void *b) { return 0; }

static void swap_shares(cc_ashare *a, cc_ashare *b)
{
    cc_ashare t = *a;
    *a = *b;
    *b = t;
}

/* x = onehot·E + types + positions, then the embedding LayerNorm. */
static cc_status embed(bert *b, const cc_ashare *onehot, const cc_ashare *type_onehot, size_t n)
{
    cc_sxf *m = &b->core;
    size_t d = m->d, T = (size_t)m->c.type_vocab_size;
    cc_status s = cc_sxf_matmul(m, "embedding", &m->tokens, onehot, n, false, &m->x);
    CC_TRY(s);
    cc_ashare types;
    CC_TRY(cc_sxf_vector(m, &b->token_types, &types));
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
    CC_TRY(cc_sxf_layernorm(m, &b->embed_norm, &m->x, n, &m->xb));
    swap_shares(&m->x, &m->xb);
    return CC_OK;
}

static cc_status bert_layer(cc_sxf *m, int l, size_t n)
{
    const cc_sxf_layer *lw = &m->layers[l];
    CC_TRY(cc_sxf_attention(m, l, &m->x, n));
    CC_TRY(cc_sxf_residual(m, &m->o, &m->x, n));
    CC_TRY(cc_sxf_layernorm(m, &lw->attn_norm, &m->o, n, &m->x));
    CC_TRY(cc_sxf_ffn(m, l, &m->x, n));
    CC_TRY(cc_sxf_residual(m, &m->o, &m->x, n));
    return cc_sxf_layernorm(m, &lw->ffn_norm, &m->o, n, &m->x);
}

/* pooled = tanh(Wp·x[CLS] + bp); logits = Wc·pooled + bc (one row). */
static cc_status head(bert *b, cc_ashare *class_logits)
{
    cc_sxf *m = &b->core;
    cc_ashare pre = cc_sblk_rows(&m->xb, 1, m->d), pooled = cc_sblk_rows(&m->att, 1, m->d);
    CC_TRY(cc_sxf_linear(m, &b->pooler, &m->x, 1, &pre));
    cc_proto_scope_begin(m->p, "activations");
    cc_status s = cc_nn_tanh(m->p, &m->nn, &pre, &pooled);
    cc_proto_scope_end(m->p);
    CC_TRY(s);
    return cc_sxf_linear(m, &b->classifier, &pooled, 1, class_logits);
}

static cc_status bert_forward(void *engine, const cc_ashare *onehot,
                              const cc_ashare *type_onehot, int n_in, int out_rows,
                              cc_ashare *class_logits)
{
    bert *b = engine;
    cc_sxf *m = &b->core;
    if (out_rows != 1)
        return cc_error_set(CC_ERR_ARG, "secure bert: one classification row per sequence, "
                            "not %d", out_rows);
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
    CC_TRY(embed(b, onehot, type_onehot, n));
    CC_TRY(cc_sxf_end_layer(m, -1));
    cc_sxf_report(m, -1, t0);
    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sxf_begin_layer(m, l));
        cc_status s = bert_layer(m, l, n);
        if (s != CC_OK) return cc_error_wrap(s, "bert layer %d", l);
        CC_TRY(cc_sxf_end_layer(m, l));
        cc_sxf_report(m, l, t0);
    }
    t0 = cc_now_ns();
    CC_TRY(cc_sxf_begin_layer(m, m->c.n_layers));
    CC_TRY(head(b, class_logits));
    CC_TRY(cc_sxf_end_layer(m, m->c.n_layers));
    cc_sxf_report(m, m->c.n_layers, t0);
    return CC_OK;
}

const cc_engine_impl cc_engine_bert = {
    .arch = CC_ARCH_BERT, .generates = false, .create = bert_create, .forward = bert_forward,
    .pos = bert_pos, .on_progress = bert_on_progress, .free = bert_free,
};
