/* Plaintext float32 forward pass for LLaMA, GPT-2 and BERT (docs/ARCHITECTURE.md).
 *
 * One routine processes a chunk of n consecutive positions; n = 1 is the
 * token-at-a-time step of generation, larger n the batched prefill.  The
 * structure follows the math of each block, architecture differences are a
 * handful of branches:
 *   LLaMA: x += Wo·Attn(RoPE(Wq·rms(x)), RoPE(Wk·rms(x)), Wv·rms(x))
 *          x += W2·(silu(W1·rms(x)) ⊙ W3·rms(x))
 *   GPT-2: x += Wo·Attn(LN1(x)) + bo;  x += W2·gelu_tanh(W1·LN2(x) + b1) + b2
 *   BERT:  x = LN1(x + Wo·Attn(x) + bo); x = LN2(x + W2·gelu_erf(W1·x + b1) + b2)
 * Attention is causal for the decoders and bidirectional for BERT. */
#include <math.h>
#include <string.h>

#include "core.h"
#include "ref_impl.h"

static void add_rows(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* Rotates the pairs (2i, 2i+1) of each of n_heads heads by pos·θ_i. */
static void rope(const cc_ref_model *m, float *vec, int n_heads, int pos)
{
    const int hs = cc_config_head_size(&m->c), half = hs / 2;
    const float *cs = m->rope_cos + (size_t)pos * half, *sn = m->rope_sin + (size_t)pos * half;
    for (int h = 0; h < n_heads; h++) {
        float *v = vec + (size_t)h * hs;
        for (int i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * cs[i] - b * sn[i];
            v[2 * i + 1] = a * sn[i] + b * cs[i];
        }
    }
}

/* Scaled dot-product attention of the chunk's queries (rows of m->q, at
 * positions pos0..pos0+n-1) against the cached keys/values of layer l.
 * Grouped-query: query head h reads KV head h / (n_heads / n_kv_heads). */
static void attention(cc_ref_model *m, int l, int n, int pos0, bool causal)
{
    const cc_model_config *c = &m->c;
    const int d = c->dim, hs = cc_config_head_size(c), kv = cc_config_kv_dim(c);
    const int group = c->n_heads / c->n_kv_heads;
    const size_t S = (size_t)c->max_seq_len;
    const float *kc = m->key_cache + (size_t)l * S * kv, *vc = m->value_cache + (size_t)l * S * kv;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int t = 0; t < n; t++) {
        const int len = causal ? pos0 + t + 1 : pos0 + n;
        float *att = m->att + (size_t)t * S;
        for (int h = 0; h < c->n_heads; h++) {
            const float *q = m->q + (size_t)t * d + (size_t)h * hs;
            const size_t koff = (size_t)(h / group) * hs;
            for (int p = 0; p < len; p++) {
                const float *k = kc + (size_t)p * kv + koff;
                float dot = 0.0f;
                for (int i = 0; i < hs; i++) dot += q[i] * k[i];
                att[p] = dot * scale;
            }
            ref_softmax(att, len);
            float *o = m->xb2 + (size_t)t * d + (size_t)h * hs;
            memset(o, 0, (size_t)hs * sizeof *o);
            for (int p = 0; p < len; p++) {
                const float *v = vc + (size_t)p * kv + koff;
                for (int i = 0; i < hs; i++) o[i] += att[p] * v[i];
            }
        }
    }
}

static void norm(const cc_ref_model *m, float *out, const float *x, const float *w,
                 const float *b, int n)
{
    if (m->c.arch == CC_ARCH_LLAMA) ref_rmsnorm(out, x, w, n, m->c.dim, m->c.norm_eps);
    else ref_layernorm(out, x, w, b, n, m->c.dim, m->c.norm_eps);
}

static void embed(cc_ref_model *m, const int *tokens, const int *types, int n, int pos0)
{
    const int d = m->c.dim;
    for (int t = 0; t < n; t++) {
        float *x = m->x + (size_t)t * d;
        memcpy(x, m->tok_emb + (size_t)tokens[t] * d, (size_t)d * sizeof *x);
        if (m->pos_emb) add_rows(x, m->pos_emb + (size_t)(pos0 + t) * d, (size_t)d);
        if (m->type_emb) add_rows(x, m->type_emb + (size_t)(types ? types[t] : 0) * d, (size_t)d);
    }
    if (m->emb_norm_w)
        ref_layernorm(m->x, m->x, m->emb_norm_w, m->emb_norm_b, n, d, m->c.norm_eps);
}

static void feed_forward(cc_ref_model *m, const ref_layer *L, const float *in, int n)
{
    const int d = m->c.dim, h = m->c.hidden_dim;
    const size_t nh = (size_t)n * h;
    ref_linear(m->hb, h, in, n, d, L->w_up, L->b_up, h);
    switch (m->c.arch) {
    case CC_ARCH_LLAMA:  /* SwiGLU: silu(W1·x) ⊙ W3·x (hb holds W3·x) */
        ref_linear(m->hb2, h, in, n, d, L->w_gate, NULL, h);
        for (size_t i = 0; i < nh; i++) m->hb[i] *= ref_silu(m->hb2[i]);
        break;
    case CC_ARCH_GPT2:
        for (size_t i = 0; i < nh; i++) m->hb[i] = ref_gelu_tanh(m->hb[i]);
        break;
    case CC_ARCH_BERT:
        for (size_t i = 0; i < nh; i++) m->hb[i] = ref_gelu_erf(m->hb[i]);
        break;
    }
    ref_linear(m->xb, d, m->hb, n, h, L->w_down, L->b_down, d);
}

/* The transformer body for n ≤ max_batch positions starting at pos0; leaves
 * the final residual stream in m->x. */
static void forward_chunk(cc_ref_model *m, const int *tokens, const int *types, int n, int pos0)
{
    const cc_model_config *c = &m->c;
    const int d = c->dim, kv = cc_config_kv_dim(c);
    const size_t S = (size_t)c->max_seq_len, nd = (size_t)n * d;
    const bool post_norm = c->arch == CC_ARCH_BERT;

    embed(m, tokens, types, n, pos0);
    for (int l = 0; l < c->n_layers; l++) {
        const ref_layer *L = &m->layers[l];
        const float *in = m->x;          /* BERT normalises after the block */
        if (!post_norm) {
            norm(m, m->xb, m->x, L->attn_norm_w, L->attn_norm_b, n);
            in = m->xb;
        }
        /* q for this chunk; k and v go straight into the cache rows */
        float *kc = m->key_cache + ((size_t)l * S + (size_t)pos0) * kv;
        float *vc = m->value_cache + ((size_t)l * S + (size_t)pos0) * kv;
        ref_linear(m->q, d, in, n, d, L->wq, L->bq, d);
        ref_linear(kc, kv, in, n, d, L->wk, L->bk, kv);
        ref_linear(vc, kv, in, n, d, L->wv, L->bv, kv);
        if (c->arch == CC_ARCH_LLAMA)
            for (int t = 0; t < n; t++) {
                rope(m, m->q + (size_t)t * d, c->n_heads, pos0 + t);
                rope(m, kc + (size_t)t * kv, c->n_kv_heads, pos0 + t);
            }
        attention(m, l, n, pos0, c->arch != CC_ARCH_BERT);
        ref_linear(m->xb, d, m->xb2, n, d, L->wo, L->bo, d);
        add_rows(m->x, m->xb, nd);
        if (post_norm) {
            norm(m, m->x, m->x, L->attn_norm_w, L->attn_norm_b, n);
            feed_forward(m, L, m->x, n);
            add_rows(m->x, m->xb, nd);
            norm(m, m->x, m->x, L->ffn_norm_w, L->ffn_norm_b, n);
        } else {
            norm(m, m->xb2, m->x, L->ffn_norm_w, L->ffn_norm_b, n);
            feed_forward(m, L, m->xb2, n);
            add_rows(m->x, m->xb, nd);
        }
    }
}

static cc_status check_tokens(const cc_ref_model *m, const int *tokens, int n)
{
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= m->c.vocab_size)
            return cc_error_set(CC_ERR_ARG, "token %d at index %d is outside the vocabulary [0, %d)",
                                tokens[t], t, m->c.vocab_size);
    return CC_OK;
}

cc_status cc_ref_forward(cc_ref_model *m, const int *tokens, int n, int pos0, float *logits)
{
    const cc_model_config *c = &m->c;
    if (c->arch == CC_ARCH_BERT)
        return cc_error_set(CC_ERR_ARG, "cc_ref_forward: BERT is an encoder, use cc_ref_bert_forward");
    if (n < 0 || pos0 < 0 || pos0 > c->max_seq_len - n)
        return cc_error_set(CC_ERR_RANGE, "positions %d..%d exceed the model's max_seq_len %d",
                            pos0, pos0 + n - 1, c->max_seq_len);
    CC_TRY(check_tokens(m, tokens, n));
    for (int done = 0; done < n; done += m->max_batch) {
        const int chunk = CC_MIN(m->max_batch, n - done);
        forward_chunk(m, tokens + done, NULL, chunk, pos0 + done);
        if (!logits) continue;
        norm(m, m->xb, m->x, m->final_norm_w, m->final_norm_b, chunk);
        ref_linear(logits + (size_t)done * c->vocab_size, c->vocab_size, m->xb, chunk, c->dim,
                   m->lm_head, NULL, c->vocab_size);
    }
    return CC_OK;
}

cc_status cc_ref_generate(cc_ref_model *m, const int *prompt, int n_prompt, int n_new,
                          int *out, int *n_out)
{
    *n_out = 0;
    const int V = m->c.vocab_size;
    if (n_prompt < 1)
        return cc_error_set(CC_ERR_ARG, "generation needs at least one prompt token");
    if (n_new < 0) return cc_error_set(CC_ERR_ARG, "n_new %d negative", n_new);
    if (n_prompt > m->c.max_seq_len)
        return cc_error_set(CC_ERR_RANGE, "prompt of %d tokens exceeds max_seq_len %d", n_prompt,
                            m->c.max_seq_len);
    float *logits = cc_alloc((size_t)V * sizeof *logits);
    if (!logits) return cc_error_wrap(CC_ERR_NOMEM, "generation logits");
    cc_status s = cc_ref_forward(m, prompt, n_prompt - 1, 0, NULL);
    if (s == CC_OK) s = cc_ref_forward(m, prompt + n_prompt - 1, 1, n_prompt - 1, logits);
    int pos = n_prompt;
    while (s == CC_OK && *n_out < n_new) {
        const int next = (int)cc_argmax_f32(logits, (size_t)V);
        out[(*n_out)++] = next;
        if (*n_out == n_new || pos >= m->c.max_seq_len) break;
        s = cc_ref_forward(m, &next, 1, pos++, logits);
    }
    cc_free(logits);
    return s;
}

cc_status cc_ref_bert_forward(cc_ref_model *m, const int *tokens, const int *token_types, int n,
                              float *hidden, float *class_logits)
{
    const cc_model_config *c = &m->c;
    if (c->arch != CC_ARCH_BERT)
        return cc_error_set(CC_ERR_ARG, "cc_ref_bert_forward: model is %s, not bert",
                            cc_arch_name(c->arch));
    if (n < 1 || n > m->max_batch)
        return cc_error_set(CC_ERR_RANGE, "BERT sequence of %d tokens outside [1, %d]", n,
                            m->max_batch);
    if (class_logits && !m->cls_w)
        return cc_error_set(CC_ERR_ARG, "model has no classifier head (n_classes = 0)");
    CC_TRY(check_tokens(m, tokens, n));
    for (int t = 0; token_types && t < n; t++)
        if (token_types[t] < 0 || token_types[t] >= c->type_vocab_size)
            return cc_error_set(CC_ERR_ARG, "token type %d at index %d outside [0, %d)",
                                token_types[t], t, c->type_vocab_size);
    forward_chunk(m, tokens, token_types, n, 0);
    if (hidden) memcpy(hidden, m->x, (size_t)n * c->dim * sizeof *hidden);
    if (class_logits) {
        /* pooled = tanh(Wp·h[CLS] + bp); logits = Wc·pooled + bc */
        ref_linear(m->pooled, c->dim, m->x, 1, c->dim, m->pooler_w, m->pooler_b, c->dim);
        for (int i = 0; i < c->dim; i++) m->pooled[i] = tanhf(m->pooled[i]);
        ref_linear(class_logits, c->n_classes, m->pooled, 1, c->dim, m->cls_w, m->cls_b,
                   c->n_classes);
    }
    return CC_OK;
}
