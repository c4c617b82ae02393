/* model — what a transformer model is, independent of where it comes from
 * or how it is computed: the architecture and geometry (with the named
 * presets), named float32 tensors under canonical names, and the
 * tensor-source interface through which converters read a model one tensor
 * at a time.  Importers (src/import), the float reference (src/ref), share
 * bundles (src/bundle) and the secure engines (src/secure) all speak it. */
#ifndef CARACAL_MODEL_H
#define CARACAL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

typedef enum cc_arch {
    CC_ARCH_LLAMA = 1,  /* RMSNorm, RoPE, GQA, SwiGLU, causal */
    CC_ARCH_GPT2  = 2,  /* pre-LayerNorm, GeLU (tanh), learned positions, causal */
    CC_ARCH_BERT  = 3,  /* post-LayerNorm, GeLU (erf), bidirectional, pooler + classifier */
} cc_arch;

/* Geometry and hyper-parameters.  All sizes are public (docs/ARCHITECTURE.md). */
typedef struct cc_model_config {
    cc_arch arch;
    int dim;              /* model width d */
    int hidden_dim;       /* FFN inner width */
    int n_layers;
    int n_heads;
    int n_kv_heads;       /* = n_heads except for grouped-query attention */
    int vocab_size;
    int max_seq_len;      /* KV cache length; learned position table size */
    float norm_eps;       /* RMSNorm / LayerNorm epsilon */
    float rope_theta;     /* LLaMA only */
    int type_vocab_size;  /* BERT token types (0 otherwise) */
    int n_classes;        /* BERT classifier outputs (0: no classifier head) */
    bool tied_embeddings; /* LM head = token embedding (no "lm_head.weight") */
} cc_model_config;

static inline int cc_config_head_size(const cc_model_config *c) { return c->dim / c->n_heads; }
static inline int cc_config_kv_dim(const cc_model_config *c)
{ return c->dim / c->n_heads * c->n_kv_heads; }

const char *cc_arch_name(cc_arch a);               /* "llama", "gpt2", "bert" */
/* Checks that the numbers are positive and consistent (heads divide dim,
 * kv heads divide heads, even head size for RoPE, ...). */
cc_status cc_config_validate(const cc_model_config *c);
/* Named geometries, one table (config.c): "llama-7b" (dim 4096, hidden
 * 11008, 32 layers, 32 heads, vocab 32000), "stories260k" (the shape of
 * tests/data/stories260K.bin), "gpt2-base" and "bert-base" (PUMA's GPT-2 and
 * BERT workloads: 12 layers, 768, 12 heads, 3072).  CC_ERR_ARG names unknown
 * ones and lists the known. */
cc_status cc_config_preset(const char *name, cc_model_config *out);

/* One float32 tensor, row-major.  Every linear layer is stored [out][in]
 * (y = W·x), whatever the source format (GPT-2's Conv1D is transposed and
 * its fused c_attn split on import; HF LLaMA's rotate-half q/k rows are
 * un-permuted so RoPE always rotates pairs (2i, 2i+1) within a head).
 *
 * Canonical names (docs/MODELS.md has the full table):
 *   embed.tokens [V][d]   embed.positions [S][d] (GPT-2, BERT)
 *   embed.token_types [T][d], embed.norm.weight/.bias (BERT)
 *   layers.N.attn_norm.weight (.bias)         pre-attention norm (post-attention for BERT)
 *   layers.N.attn.{q,k,v,o}.weight (.bias)    q [d][d], k/v [kv_dim][d], o [d][d]
 *   layers.N.ffn_norm.weight (.bias)          pre-FFN norm (post-FFN for BERT)
 *   layers.N.ffn.gate.weight [h][d]           LLaMA w1 (SiLU branch)
 *   layers.N.ffn.up.weight [h][d] (.bias)     LLaMA w3; GPT-2/BERT first FFN layer
 *   layers.N.ffn.down.weight [d][h] (.bias)   LLaMA w2; GPT-2/BERT second FFN layer
 *   final_norm.weight (.bias)                 LLaMA, GPT-2
 *   lm_head.weight [V][d]                     only when !tied_embeddings
 *   pooler.weight [d][d], pooler.bias, classifier.weight [C][d], classifier.bias (BERT)
 */
#define CC_TENSOR_NAME_MAX 64
#define CC_TENSOR_MAX_DIMS 4
typedef struct cc_tensor_f32 {
    char name[CC_TENSOR_NAME_MAX];
    int ndim;
    int64_t shape[CC_TENSOR_MAX_DIMS];
    size_t numel;
    /* -1: before the first layer (embeddings); 0..n_layers-1: that layer;
     * n_layers: after the last (final norm, heads).  Tensors are stored in
     * this order. */
    int layer;
    /* true for matrices used as the right operand of a matmul (x·Wᵀ),
     * including the LM head; false for embeddings tables, norms, biases. */
    bool is_linear;
    float *data;
} cc_tensor_f32;

typedef struct cc_model_weights {
    cc_model_config config;
    size_t n_tensors;
    cc_tensor_f32 *tensors;   /* ordered by layer, see cc_tensor_f32.layer;
                                 each owns its data (cc_alloc) */
    size_t capacity;          /* internal: allocated length of tensors[] */
} cc_model_weights;

/* Looks a tensor up by canonical name; NULL when absent. */
const cc_tensor_f32 *cc_weights_find(const cc_model_weights *w, const char *name);
/* Same, but a missing tensor or a shape other than [d0] / [d0][d1] (d1 = 0
 * for a vector) is an error naming the tensor. */
cc_status cc_weights_get(const cc_model_weights *w, const char *name,
                         int64_t d0, int64_t d1, const float **out);
void cc_weights_free(cc_model_weights *w);   /* safe on a zeroed struct */
/* Appends a zero-filled tensor [d0] (d1 == 0) or [d0][d1] named `name`
 * (printf format) and returns its data.  Errors: name too long, overflow,
 * out of memory. */
cc_status cc_weights_add(cc_model_weights *w, int layer, bool is_linear,
                         int64_t d0, int64_t d1, float **data, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Index of the largest of x[0..n) (the first on ties): greedy decoding. */
size_t cc_argmax_f32(const float *x, size_t n);

/* ---- tensor sources ---------------------------------------------------------- */

/* Where a converter reads float tensors from, one at a time, so a 7B model
 * never has to be in memory at once.  describe() fills everything but .data;
 * read() writes the numel values row-major.  Tensors come in layer order. */
typedef struct cc_tensor_source {
    void *ctx;
    cc_model_config config;
    size_t n_tensors;
    cc_status (*describe)(void *ctx, size_t i, cc_tensor_f32 *meta);
    cc_status (*read)(void *ctx, size_t i, float *out);
    void (*destroy)(void *ctx);   /* may be NULL */
} cc_tensor_source;

/* A source over imported weights (not copied: w must outlive the source). */
cc_status cc_tensor_source_weights(const cc_model_weights *w, cc_tensor_source *out);
void cc_tensor_source_free(cc_tensor_source *s);

#endif
