/* The secure GPT-2 forward pass on replicated shares, built from the
 * transformer core (secure_xf.c).  Reads like its plaintext reference
 * (src/ref/ref_forward.c):
 *   x = onehot·E + P[pos]
 *   per layer:  x += Wo·Attn(LN1(x)) + bo;  x += W2·gelu(W1·LN2(x) + b1) + b2
 *   logits = LN_f(x)·Eᵀ (tied head, stored as its own packed "lm_head.weight") */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "secure_impl.h"

typedef struct gpt2 {
    cc_sxf core;
    cc_sxf_norm_w final_norm;
    cc_wref lm_head;
} gpt2;

static void gpt2_free(void *g)
{
    if (!g) return;
    cc_sxf_free(&((gpt2 *)g)->core);
    cc_free(g);
}

static cc_status gpt2_create(cc_proto *p, cc_sweights *w, cc_approx approx, int max_seq,
                             int max_batch, void **out)
{
    gpt2 *g = cc_calloc(1, sizeof *g);
    if (!g) return CC_ERR_NOMEM;
    cc_status s = cc_sxf_init(&g->core, p, w, approx, CC_ARCH_GPT2, max_seq, max_batch);
    if (s != CC_OK) {
        cc_free(g);
        return s;
    }
    cc_sxf *m = &g->core;
    s = cc_sxf_ref_norm(m, &g->final_norm, "final_norm");
    if (s == CC_OK) s = cc_sblk_ref(w, &g->lm_head, true, m->d, m->vocab, "lm_head.weight");
    if (s != CC_OK) {
        gpt2_free(g);
        return s;
    }
    *out = g;
    return CC_OK;
}

static void gpt2_on_progress(void *g, cc_secure_progress fn, void *ctx)
{
    ((gpt2 *)g)->core.progress = fn;
    ((gpt2 *)g)->core.progress_ctx = ctx;
}

static int gpt2_pos(const void *g) { return ((const gpt2 *)g)->core.pos; }

static cc_status gpt2_layer(cc_sxf *m, int l, size_t n)
{
    const cc_sxf_layer *lw = &m->layers[l];
    CC_TRY(cc_sxf_layernorm(m, &lw->attn_norm, &m->x, n, &m->xb));
    CC_TRY(cc_sxf_attention(m, l, &m->xb, n));
    CC_TRY(cc_sxf_residual(m, &m->x, &m->o, n));
    CC_TRY(cc_sxf_layernorm(m, &lw->ffn_norm, &m->x, n, &m->xb));
    CC_TRY(cc_sxf_ffn(m, l, &m->xb, n));
    return cc_sxf_residual(m, &m->x, &m->o, n);
}

static cc_status gpt2_forward(void *engine, const cc_ashare *onehot, const cc_ashare *types,
                              int n_in, int out_rows, cc_ashare *logits)
{
    gpt2 *g = engine;
    cc_sxf *m = &g->core;
    if (types) return cc_error_set(CC_ERR_ARG, "secure gpt2: no token types");
    CC_TRY(cc_sblk_check_step("gpt2", n_in, out_rows, m->pos, m->max_batch, m->max_seq, m->vocab,
                              onehot, logits));
    size_t n = (size_t)n_in;
    uint64_t t0 = cc_now_ns();

    /* embedding: one-hot (integer) × E needs no truncation; positions are
     * public, so their rows are added locally */
    CC_TRY(cc_sxf_begin_layer(m, -1));
    CC_TRY(cc_sxf_matmul(m, "embedding", &m->tokens, onehot, n, false, &m->x));
    CC_TRY(cc_sxf_add_positions(m, &m->x, n, (size_t)m->pos));
    CC_TRY(cc_sxf_end_layer(m, -1));
    cc_sxf_report(m, -1, t0);

    for (int l = 0; l < m->c.n_layers; l++) {
        t0 = cc_now_ns();
        CC_TRY(cc_sxf_begin_layer(m, l));
        cc_status s = gpt2_layer(m, l, n);
        if (s != CC_OK) return cc_error_wrap(s, "gpt2 layer %d", l);
        CC_TRY(cc_sxf_end_layer(m, l));
        cc_sxf_report(m, l, t0);
    }

    /* final LayerNorm and the (tied) LM head on the wanted rows only */
    t0 = cc_now_ns();
    size_t first = n - (size_t)out_rows;
    CC_TRY(cc_sxf_begin_layer(m, m->c.n_layers));
    cc_ashare tail = cc_ashare_slice(&m->x, first * m->d, (size_t)out_rows * m->d);
    tail.rows = (size_t)out_rows;
    tail.cols = m->d;
    CC_TRY(cc_sxf_layernorm(m, &g->final_norm, &tail, (size_t)out_rows, &m->xb));
    CC_TRY(cc_sxf_matmul(m, "lm_head", &g->lm_head, &m->xb, (size_t)out_rows, true, logits));
    CC_TRY(cc_sxf_end_layer(m, m->c.n_layers));
    cc_sxf_report(m, m->c.n_layers, t0);
    m->pos += n_in;
    return CC_OK;
}

const cc_engine_impl cc_engine_gpt2 = {
    .arch = CC_ARCH_GPT2, .generates = true, .create = gpt2_create, .forward = gpt2_forward,
    .pos = gpt2_pos, .on_progress = gpt2_on_progress, .free = gpt2_free,
};
