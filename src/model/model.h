/* model — model configs, checkpoint import, tokenizer, plaintext reference
 * forward pass, share bundles and the streaming loader (DESIGN.md §6, §7).
 *
 * This header is shared by two parts of the module; each keeps its
 * declarations in its own clearly marked section below. */
#ifndef CARACAL_MODEL_H
#define CARACAL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"
#include "net.h"

/* ===========================================================================
 * Section: model config, in-memory weights, checkpoint import
 * (config*.c, checkpoint*.c, safetensors*.c)
 * ======================================================================== */

typedef enum cc_arch {
    CC_ARCH_LLAMA = 1,  /* RMSNorm, RoPE, GQA, SwiGLU, causal */
    CC_ARCH_GPT2  = 2,  /* pre-LayerNorm, GeLU (tanh), learned positions, causal */
    CC_ARCH_BERT  = 3,  /* post-LayerNorm, GeLU (erf), bidirectional, pooler + classifier */
} cc_arch;

/* Geometry and hyper-parameters.  All sizes are public (DESIGN.md §1). */
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
/* Named geometries for synthetic runs: "llama-7b", "stories260k" (the
 * shape of ../shared/models/stories260K.bin), "gpt2-base".  CC_ERR_ARG names
 * unknown ones. */
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

/* llama2.c checkpoint (models README): 7 int32 header, float32 tables. */
cc_status cc_checkpoint_load_llama2c(const char *path, cc_model_weights *out);
/* Hugging Face: `path` is a model directory holding config.json and
 * model.safetensors (or model.safetensors.index.json + shards), or a
 * .safetensors file with config.json next to it.  f32 / f16 / bf16. */
cc_status cc_checkpoint_load_hf(const char *path, cc_model_weights *out);
/* Picks the importer: directory or *.safetensors -> HF, else llama2.c. */
cc_status cc_checkpoint_load(const char *path, cc_model_weights *out);

/* Lazy access to the same checkpoints, one tensor at a time, for
 * converting models larger than memory (LLaMA-7B as float32 is 27 GB).
 * Open validates the whole file (header, every tensor's presence, shape,
 * dtype and bounds) and reads no weights; describe() gives the canonical
 * tensor list of cc_checkpoint_load (same names, order, shapes, flags;
 * .data is NULL); read() converts one tensor into out[numel] (one thread
 * per checkpoint: reads share a conversion buffer). */
typedef struct cc_checkpoint cc_checkpoint;
cc_status cc_checkpoint_open(const char *path, cc_checkpoint **out);
const cc_model_config *cc_checkpoint_config(const cc_checkpoint *ck);
size_t cc_checkpoint_count(const cc_checkpoint *ck);
const cc_tensor_f32 *cc_checkpoint_describe(const cc_checkpoint *ck, size_t i);
cc_status cc_checkpoint_read(cc_checkpoint *ck, size_t i, float *out);
void cc_checkpoint_close(cc_checkpoint *ck);
/* The checkpoint as a bundle-converter tensor source (see the bundle
 * section); the source reads through `ck`, which must stay open. */
struct cc_tensor_source;
cc_status cc_checkpoint_source(cc_checkpoint *ck, struct cc_tensor_source *out);

/* ===========================================================================
 * Section: LLaMA tokenizer (tokenizer*.c)
 * SentencePiece BPE with byte fallback, loaded from llama2.c `tokenizer.bin`
 * or Hugging Face `tokenizer.json`.
 * ======================================================================== */

typedef struct cc_tokenizer cc_tokenizer;
enum { CC_TOKEN_UNK = 0, CC_TOKEN_BOS = 1, CC_TOKEN_EOS = 2 };

cc_status cc_tokenizer_load_bin(const char *path, cc_tokenizer **out);
cc_status cc_tokenizer_load_json(const char *path, cc_tokenizer **out);
/* By extension: *.json -> tokenizer.json, else tokenizer.bin. */
cc_status cc_tokenizer_load(const char *path, cc_tokenizer **out);
void cc_tokenizer_free(cc_tokenizer *t);
int cc_tokenizer_vocab_size(const cc_tokenizer *t);

/* Encodes UTF-8 text as llama2.c's encode(): a dummy space is prepended to
 * non-empty text, characters missing from the vocabulary fall back to byte
 * tokens <0xNN>, then the best-scoring pair merge is applied until none is
 * left.  Writes at most `cap` ids; *n_out is the count (an error if cap is
 * too small: strlen(text) + 3 always suffices). */
cc_status cc_tokenizer_encode(const cc_tokenizer *t, const char *text, bool bos, bool eos,
                              int *ids, size_t cap, size_t *n_out);
/* The bytes of one token as it is printed after `prev`: byte tokens become
 * their byte, the leading space after BOS is dropped.  *len_out bytes, not
 * NUL-terminated (a byte token can be 0). */
cc_status cc_tokenizer_piece(const cc_tokenizer *t, int prev, int id,
                             const char **bytes, size_t *len_out);
/* Decodes a sequence into buf (NUL-terminated, truncation is an error). */
cc_status cc_tokenizer_decode(const cc_tokenizer *t, const int *ids, size_t n,
                              char *buf, size_t cap, size_t *len_out);

/* ===========================================================================
 * Section: plaintext float32 reference forward pass (ref_*.c)
 * The accuracy oracle for the secure engine (DESIGN.md §6), OpenBLAS sgemm.
 * ======================================================================== */

typedef struct cc_ref_model cc_ref_model;

/* Allocates every activation and the KV cache once.  `max_batch` is the most
 * positions one call processes at once (prefill chunks; BERT sequences
 * longer than it are an error); 0 means max_seq_len.  The weights must
 * outlive the model. */
cc_status cc_ref_create(const cc_model_weights *w, int max_batch, cc_ref_model **out);
void cc_ref_free(cc_ref_model *m);

/* Decoder models (LLaMA, GPT-2).  Feeds tokens[0..n) at positions
 * pos0..pos0+n-1, appending to the KV cache (positions before pos0 must
 * already be in it), and writes the logits of every fed position to
 * logits[n][vocab] (may be NULL).  n = 1 is the token-at-a-time step;
 * larger n is the batched prefill (split into max_batch chunks). */
cc_status cc_ref_forward(cc_ref_model *m, const int *tokens, int n, int pos0, float *logits);
/* Greedy decoding: prefill `prompt`, then append argmax tokens until n_new
 * are generated (or max_seq_len is reached).  out[] gets the new tokens. */
cc_status cc_ref_generate(cc_ref_model *m, const int *prompt, int n_prompt, int n_new,
                          int *out, int *n_out);

/* BERT: bidirectional encoding of tokens[0..n) (token_types may be NULL ->
 * all 0).  Writes the final hidden states hidden[n][dim] (may be NULL) and
 * the classifier logits class_logits[n_classes] computed from the pooled
 * first token (may be NULL; an error if the model has no classifier). */
cc_status cc_ref_bert_forward(cc_ref_model *m, const int *tokens, const int *token_types, int n,
                              float *hidden, float *class_logits);

/* ===========================================================================
 * Section: share bundles and the streaming loader (bundle*.c, loader*.c)
 * DESIGN.md §7; the file format, the seed compression and the security
 * argument are in docs/BUNDLES.md.
 *
 * Party i holds the replicated pair (w_i, w_{i+1}) of every weight W =
 * w0 + w1 + w2 (mod 2^64, fixed point with f fractional bits).  w0 and w1 are
 * PRG outputs of seeds s0, s1 (one PRG stream per tensor, in stored order);
 * only w2 is written out.  A bundle directory holds party0.ccb (s0, s1),
 * party1.ccb (s1 + table), party2.ccb (s0 + table) and w2.ccw (the one
 * explicit share, used by P1 and P2).
 * ======================================================================== */

#define CC_BUNDLE_VERSION 1u
#define CC_BUNDLE_HASH_BYTES 32

/* How a tensor's elements are stored.  PACKED_B: the right operand of the
 * ring GEMM in cc_ring_pack_b's layout, op(B) = K×N (a linear layer [out][in]
 * has K = in, N = out; the token embedding [V][d], used as one-hot × E, has
 * K = V, N = d).  PLAIN: row-major in the tensor's own shape. */
typedef enum cc_bundle_layout { CC_LAYOUT_PLAIN = 0, CC_LAYOUT_PACKED_B = 1 } cc_bundle_layout;

/* Where the converter reads float tensors from, one at a time, so a 7B model
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
/* LLaMA-shaped pseudo-random weights of realistic magnitude: linear layers
 * and embeddings ~ N(0, 1/dim) (std 1/sqrt(dim)), norm gains ~ 1 ± 0.05.
 * Deterministic in `seed`.  Only CC_ARCH_LLAMA geometries. */
cc_status cc_tensor_source_synthetic(const cc_model_config *c, const uint8_t seed[16],
                                     cc_tensor_source *out);
/* LLaMA-7B geometry (dim 4096, hidden 11008, 32 layers, 32 heads, vocab 32000). */
cc_model_config cc_config_llama7b(void);
void cc_tensor_source_free(cc_tensor_source *s);

typedef struct cc_bundle_write_options {
    unsigned frac_bits;          /* f; 0 means the default 18 */
    /* Called after each tensor: bytes of w2 written so far, of the total. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total, const char *tensor);
    void *progress_ctx;
} cc_bundle_write_options;

/* Converts `src` to fixed point, splits it into seed-compressed shares and
 * writes the bundle directory `out_dir` (created if missing; files are
 * written under temporary names and renamed at the end).  Seeds come from
 * the OS RNG and are wiped.  A weight outside the fixed-point range is
 * CC_ERR_RANGE naming the tensor.  Packed tensors: see cc_bundle_layout; a
 * tied LM head becomes its own packed tensor "lm_head.weight". */
cc_status cc_bundle_write(const cc_tensor_source *src, const char *out_dir,
                          const cc_bundle_write_options *opt);
/* File names inside a bundle directory (party 0..2). */
const char *cc_bundle_party_file(int party);   /* "party0.ccb", ... */

/* ---- loader ----------------------------------------------------------------
 * A cc_bundle is used by one thread at a time (its own prefetch thread aside). */
typedef struct cc_bundle cc_bundle;

typedef struct cc_bundle_open_options {
    int party;            /* the party this process is; the bundle must match */
    int frac_bits;        /* expected f; -1 accepts the bundle's */
    bool verify;          /* BLAKE2b every stored tensor at open (reads all data) */
    bool no_prefetch;     /* no prefetch thread (tests, measurements) */
    bool keep_cached;     /* release unmaps but leaves pages in the page cache:
                             for models that fit in RAM and are streamed again
                             and again (the default drops them: 54 GB would not) */
    const char *data_path;/* the w2 data file; NULL: next to the party file */
} cc_bundle_open_options;

/* `path` is a party file, or a bundle directory (then party<p>.ccb in it).
 * Checks magic, version, header checksum, party, f, ring, the packed layout,
 * table sanity, data file size and its content hash (and every tensor
 * checksum with verify).  Each failure is a distinct, named error. */
cc_status cc_bundle_open(const char *path, const cc_bundle_open_options *opt, cc_bundle **out);
void cc_bundle_close(cc_bundle *b);

int cc_bundle_party(const cc_bundle *b);
unsigned cc_bundle_frac_bits(const cc_bundle *b);
const cc_model_config *cc_bundle_config(const cc_bundle *b);
/* The model identity all three parties agree on (config, f, tensor table and
 * w2 checksums, salted); exchange it at connect. */
const uint8_t *cc_bundle_content_hash(const cc_bundle *b);
/* CC_ERR_MISMATCH naming the peer when its hash differs from ours. */
cc_status cc_bundle_check_peer(const cc_bundle *b, const uint8_t peer_hash[CC_BUNDLE_HASH_BYTES],
                               const char *peer_name);

/* One tensor's two share planes as this party holds them. */
typedef struct cc_share_tensor {
    const char *name;
    int layer;
    int ndim;
    int64_t shape[CC_TENSOR_MAX_DIMS];
    cc_bundle_layout layout;
    size_t K, N;                 /* PACKED_B: op(B) is K×N */
    size_t n_elems;              /* u64 elements per plane (packed size incl. padding) */
    const uint64_t *share[2];    /* share[0] = w_i, share[1] = w_{i+1}; valid until release */
} cc_share_tensor;

typedef struct cc_bundle_layer {
    int layer;                   /* -1: embeddings, 0..n_layers-1, n_layers: final norm, head */
    size_t n_tensors;
    const cc_share_tensor *tensors;
} cc_bundle_layer;

/* Makes layer `layer` (-1 .. n_layers) available: stored planes point into
 * the read-only mapping (faulted in), seed-derived planes are expanded into
 * one reusable buffer.  One layer is held at a time; the prefetch thread
 * starts reading the next layer (n_layers wraps to -1) meanwhile. */
cc_status cc_bundle_acquire(cc_bundle *b, int layer, cc_bundle_layer *out);
/* Drops the layer's pages from this process and the page cache. */
cc_status cc_bundle_release(cc_bundle *b, int layer);
const cc_share_tensor *cc_bundle_layer_find(const cc_bundle_layer *l, const char *name);
/* Bytes of share planes (both planes) in layer `layer`, and the largest such
 * layer: what resident memory should stay near. */
uint64_t cc_bundle_layer_bytes(const cc_bundle *b, int layer);
uint64_t cc_bundle_max_layer_bytes(const cc_bundle *b);

/* ===========================================================================
 * Section: secure inference (secure_*.c) — DESIGN.md §1, §6, §10
 * The parties run the LLaMA forward pass on replicated shares; the client
 * secret-shares one-hot token rows and alone reconstructs outputs.
 * ======================================================================== */

typedef enum cc_reveal_mode {
    CC_REVEAL_TOKEN = 0,   /* secure argmax; the client learns only the token id */
    CC_REVEAL_LOGITS = 1,  /* the client learns the last position's logits */
} cc_reveal_mode;

/* How a compute party gets its weights and runs. */
typedef struct cc_secure_party_options {
    const char *shares;                 /* bundle directory or party file ... */
    const cc_model_config *synthetic;   /* ... or, when shares is NULL, this geometry */
    int frac_bits;                      /* expected f (-1: the bundle's; synthetic: 18) */
    bool verify;                        /* check every tensor checksum at open */
    bool progress;                      /* per-layer progress lines on stderr */
} cc_secure_party_options;

/* One party: open the weights, serve one job from the client, send it this
 * party's report.  The peers must have the same weights (hash compared). */
cc_status cc_secure_party_serve(cc_net *net, const cc_secure_party_options *o);

typedef struct cc_secure_request {
    const int *prompt;        /* token ids; BOS included by the caller */
    int n_prompt;
    int n_new;                /* tokens to generate (≥ 0) */
    cc_reveal_mode reveal;
    bool all_logits;          /* reveal the logits of every prompt position */
    int approx;               /* cc_approx of src/nn: 0 puma, 1 precise */
} cc_secure_request;

/* Per-party figures, sent to the client at the end of a job (all public:
 * sizes, counts and times). */
#define CC_REPORT_TAGS 24
typedef struct cc_party_report_tag {
    char tag[48];
    uint64_t calls, rounds, bytes_sent, bytes_recv, ns;
} cc_party_report_tag;
typedef struct cc_party_report {
    uint64_t wall_ns, prefill_ns, generate_ns;
    uint64_t bytes_sent, bytes_recv, rounds, peak_rss;
    uint32_t n_tags, insecure;
    cc_party_report_tag tags[CC_REPORT_TAGS];
} cc_party_report;

typedef struct cc_secure_result {
    int vocab;
    int tokens[1024];         /* generated ids (n_new of them, ≤ 1024) */
    int n_tokens;
    float *all_logits;        /* [n_prompt][vocab] when requested (free()) */
    float *last_logits;       /* [n_new][vocab] in logits mode (free()) */
    uint64_t ring_elems_received;  /* output elements the client received */
    double wall_s, prefill_s, generate_s;
    cc_party_report party[3];
} cc_secure_result;

/* The client side of one job over an open client link set. */
cc_status cc_secure_client_run(cc_client *c, const cc_secure_request *r, cc_secure_result *out);
void cc_secure_result_free(cc_secure_result *r);

#endif
