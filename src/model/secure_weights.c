/* Per-party weight provider for the secure engine: bundles or synthetic.
 * See secure_internal.h for the contract. */
#include "secure_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>

#include "core.h"
#include "prg.h"
#include "ring.h"

struct cc_sweights {
    cc_model_config config;
    unsigned f;
    int party;
    uint8_t hash[CC_BUNDLE_HASH_BYTES];
    /* synthetic mode: one reusable buffer pair, sized for the largest block
     * asked for (bundles hand out both planes in place) */
    uint64_t *lin_self, *lin_next;   /* synthetic mode's expanded W_i, W_{i+1} */
    size_t lin_cap;
    /* bundle provider */
    cc_bundle *bundle;
    cc_bundle_layer layer;
    bool have_layer;
    /* synthetic provider: plane j of every tensor is PRG(seed_j) */
    cc_prg seed_self, seed_next;
    uint64_t *vec_planes;          /* norm vectors of the current layer */
    size_t vec_cap, vec_used;
};

/* Public seeds of --synthetic mode.  They are not secret (the weights are
 * meaningless by construction); they only make every party derive the same
 * replicated pairs as a real bundle would provide. */
static void synthetic_seed(int j, uint8_t seed[16])
{
    static const char label[] = "caracal-synth-w";
    memcpy(seed, label, 15);
    seed[15] = (uint8_t)j;
}

static void free_linear(cc_sweights *w)
{
    cc_free_huge(w->lin_self, w->lin_cap * sizeof(uint64_t));
    cc_free_huge(w->lin_next, w->lin_cap * sizeof(uint64_t));
    w->lin_self = w->lin_next = NULL;
    w->lin_cap = 0;
}

static cc_status reserve_linear(cc_sweights *w, size_t elems)
{
    if (elems <= w->lin_cap) return CC_OK;
    size_t bytes;
    if (!cc_mul_size(elems, sizeof(uint64_t), &bytes))
        return cc_error_set(CC_ERR_NOMEM, "linear buffer size overflow");
    free_linear(w);
    w->lin_self = cc_alloc_huge(bytes);
    w->lin_next = cc_alloc_huge(bytes);
    if (!w->lin_self || !w->lin_next) return CC_ERR_NOMEM;
    w->lin_cap = elems;
    return CC_OK;
}

/* Small models are streamed again for every generated token; keeping their
 * pages cached costs little.  Big ones (LLaMA-7B: 54 GB) must be dropped. */
static bool model_fits_in_cache(const char *path)
{
    char data[4096];
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    snprintf(data, sizeof data, "%s/w2.ccw", path);
    return stat(data, &st) == 0 && st.st_size < (off_t)(1u << 30);
}

cc_status cc_sweights_open_bundle(const char *path, int party, int frac_bits, bool verify,
                                  cc_sweights **out)
{
    cc_sweights *w = cc_calloc(1, sizeof *w);
    if (!w) return CC_ERR_NOMEM;
    cc_bundle_open_options o = { .party = party, .frac_bits = frac_bits, .verify = verify,
                                 .keep_cached = model_fits_in_cache(path) };
    cc_status s = cc_bundle_open(path, &o, &w->bundle);
    if (s != CC_OK) {
        cc_free(w);
        return s;
    }
    w->config = *cc_bundle_config(w->bundle);
    w->f = cc_bundle_frac_bits(w->bundle);
    w->party = party;
    memcpy(w->hash, cc_bundle_content_hash(w->bundle), CC_BUNDLE_HASH_BYTES);
    *out = w;
    return CC_OK;
}

/* Elements (both planes) of the vectors one layer asks for: LLaMA two norm
 * gains; GPT-2/BERT per block two LayerNorms (gain + shift), the q/k/v/o,
 * up and down biases; the embeddings layer the position table (read by
 * public row index), the token-type table and the embedding LayerNorm; the
 * head layer the final norm or the pooler and classifier biases. */
static size_t synthetic_vector_cap(const cc_model_config *c)
{
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim;
    if (c->arch == CC_ARCH_LLAMA) return 8 * d;
    size_t block = 4 * d + 3 * (size_t)cc_config_kv_dim(c) + d + h + d;
    size_t embed = (size_t)c->max_seq_len * d + (size_t)c->type_vocab_size * d + 2 * d;
    size_t head = 2 * d + d + (size_t)c->n_classes;
    return 2 * CC_MAX(block, CC_MAX(embed, head));
}

cc_status cc_sweights_open_synthetic(const cc_model_config *c, int party, unsigned f,
                                     cc_sweights **out)
{
    CC_TRY(cc_config_validate(c));
    cc_sweights *w = cc_calloc(1, sizeof *w);
    if (!w) return CC_ERR_NOMEM;
    w->config = *c;
    w->f = f;
    w->party = party;
    uint8_t seed[16];
    synthetic_seed(party, seed);
    cc_prg_init(&w->seed_self, seed, 0);
    synthetic_seed((party + 1) % 3, seed);
    cc_prg_init(&w->seed_next, seed, 0);
    cc_wipe(seed, sizeof seed);
    w->vec_cap = synthetic_vector_cap(c);
    w->vec_planes = cc_alloc(w->vec_cap * sizeof(uint64_t));
    if (!w->vec_planes) {
        cc_sweights_close(w);
        return CC_ERR_NOMEM;
    }
    /* identity: hash of the geometry and f, the same on every party */
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof w->hash);
    crypto_generichash_update(&h, (const unsigned char *)"synthetic", 9);
    crypto_generichash_update(&h, (const unsigned char *)c, sizeof *c);
    crypto_generichash_update(&h, (const unsigned char *)&f, sizeof f);
    crypto_generichash_final(&h, w->hash, sizeof w->hash);
    *out = w;
    return CC_OK;
}

void cc_sweights_close(cc_sweights *w)
{
    if (!w) return;
    if (w->bundle) cc_bundle_close(w->bundle);
    free_linear(w);
    cc_free(w->vec_planes);
    cc_prg_wipe(&w->seed_self);
    cc_prg_wipe(&w->seed_next);
    cc_free(w);
}

const cc_model_config *cc_sweights_config(const cc_sweights *w) { return &w->config; }
unsigned cc_sweights_frac_bits(const cc_sweights *w) { return w->f; }
const uint8_t *cc_sweights_hash(const cc_sweights *w) { return w->hash; }

cc_status cc_sweights_begin_layer(cc_sweights *w, int layer)
{
    w->vec_used = 0;
    if (!w->bundle) return CC_OK;
    CC_TRY(cc_bundle_acquire(w->bundle, layer, &w->layer));
    w->have_layer = true;
    return CC_OK;
}

cc_status cc_sweights_end_layer(cc_sweights *w, int layer)
{
    if (!w->bundle) return CC_OK;
    w->have_layer = false;
    return cc_bundle_release(w->bundle, layer);
}

/* Synthetic stream id of a tensor: a hash of its canonical name, so a
 * tensor's planes do not depend on the order tensors are asked for. */
static uint64_t synthetic_stream(const char *name)
{
    uint64_t h = 1469598103934665603ull;           /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* K×N of a synthetic linear from its canonical name. */
static cc_status synthetic_shape(const cc_model_config *c, const char *name, size_t *K, size_t *N)
{
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, kv = (size_t)cc_config_kv_dim(c);
    size_t V = (size_t)c->vocab_size;
    const char *leaf = strrchr(name, '.');
    if (strcmp(name, "embed.tokens") == 0) { *K = V; *N = d; return CC_OK; }
    if (strcmp(name, "lm_head.weight") == 0) { *K = d; *N = V; return CC_OK; }
    if (strcmp(name, "pooler.weight") == 0) { *K = d; *N = d; return CC_OK; }
    if (strcmp(name, "classifier.weight") == 0 && c->n_classes > 0) {
        *K = d; *N = (size_t)c->n_classes; return CC_OK;
    }
    if (!leaf || strcmp(leaf, ".weight") != 0) goto unknown;
    if (strstr(name, ".attn.q.") || strstr(name, ".attn.o.")) { *K = d; *N = d; return CC_OK; }
    if (strstr(name, ".attn.k.") || strstr(name, ".attn.v.")) { *K = d; *N = kv; return CC_OK; }
    if (strstr(name, ".ffn.gate.") || strstr(name, ".ffn.up.")) { *K = d; *N = h; return CC_OK; }
    if (strstr(name, ".ffn.down.")) { *K = h; *N = d; return CC_OK; }
unknown:
    return cc_error_set(CC_ERR_ARG, "synthetic weights: no linear tensor named '%s'", name);
}

/* Locates a linear tensor: its op(B) shape and, for bundles, its planes. */
static cc_status find_linear(cc_sweights *w, const char *name, size_t *K, size_t *N,
                            const uint64_t **self, const uint64_t **next)
{
    if (!w->bundle) return synthetic_shape(&w->config, name, K, N);
    const cc_share_tensor *t = w->have_layer ? cc_bundle_layer_find(&w->layer, name) : NULL;
    if (!t) return cc_error_set(CC_ERR_FORMAT, "bundle has no tensor '%s' in layer %d", name,
                                w->layer.layer);
    if (t->layout != CC_LAYOUT_PACKED_B)
        return cc_error_set(CC_ERR_FORMAT, "tensor '%s' is not stored packed", name);
    *K = t->K;
    *N = t->N;
    *self = t->share[0];
    *next = t->share[1];
    return CC_OK;
}

cc_status cc_sweights_linear_shape(cc_sweights *w, const char *name, size_t *K, size_t *N)
{
    const uint64_t *self, *next;
    return find_linear(w, name, K, N, &self, &next);
}

/* 512 Ki elements: two 4 MB planes per party stay in the L2/L3 caches while
 * the GEMM consumes them. */
size_t cc_sweights_block_hint(const cc_sweights *w)
{
    return w->bundle ? SIZE_MAX : (size_t)1 << 19;
}

/* The packed layout's panel width: the size of a 1 × 1 operand is one panel. */
size_t cc_sweights_panel_cols(void) { return cc_ring_packed_size(1, 1) / sizeof(uint64_t); }

cc_status cc_sweights_linear_cols(cc_sweights *w, const char *name, size_t col0, size_t ncols,
                                  cc_proto_weight *out)
{
    size_t K = 0, N = 0;
    const uint64_t *self = NULL, *next = NULL;
    CC_TRY(find_linear(w, name, &K, &N, &self, &next));
    if (col0 % cc_sweights_panel_cols() != 0 || ncols == 0 || col0 + ncols > N)
        return cc_error_set(CC_ERR_ARG, "tensor '%s': column block %zu+%zu of %zu is not "
                            "panel-aligned", name, col0, ncols, N);
    /* the packed layout keeps each NR-column panel contiguous (docs/KERNELS.md),
     * so a block of panels is itself a packed K × ncols operand */
    size_t off = col0 * K, elems = cc_ring_packed_size(K, ncols) / sizeof(uint64_t);
    const uint64_t *next_plane;
    if (w->bundle) {
        /* both planes stay where the loader put them (mmap or its seed buffer) */
        self += off;
        next_plane = next + off;
    } else {
        CC_TRY(reserve_linear(w, elems));
        cc_prg a = w->seed_self, b = w->seed_next;
        a.stream = b.stream = synthetic_stream(name);
        cc_prg_u64(&a, off, elems, w->lin_self);
        cc_prg_u64(&b, off, elems, w->lin_next);
        self = w->lin_self;
        next_plane = w->lin_next;
        cc_wipe(&a, sizeof a);
        cc_wipe(&b, sizeof b);
    }
    /* (X_i + X_{i+1})·W_i + X_i·W_{i+1}: no W_i + W_{i+1} pass needed */
    *out = (cc_proto_weight){ .K = K, .N = ncols, .packed_self = self,
                              .packed_next = next_plane, .owned = false };
    return CC_OK;
}

cc_status cc_sweights_linear(cc_sweights *w, const char *name, cc_proto_weight *out)
{
    size_t K, N;
    CC_TRY(cc_sweights_linear_shape(w, name, &K, &N));
    return cc_sweights_linear_cols(w, name, 0, N, out);
}

cc_status cc_sweights_vector(cc_sweights *w, const char *name, size_t n, cc_ashare *out)
{
    if (w->bundle) {
        const cc_share_tensor *t = w->have_layer ? cc_bundle_layer_find(&w->layer, name) : NULL;
        if (!t) return cc_error_set(CC_ERR_FORMAT, "bundle has no tensor '%s'", name);
        if (t->layout != CC_LAYOUT_PLAIN || t->n_elems != n)
            return cc_error_set(CC_ERR_FORMAT, "tensor '%s': expected a plain vector of %zu", name, n);
        *out = (cc_ashare){ .s = { (uint64_t *)t->share[0], (uint64_t *)t->share[1] },
                            .n = n, .rows = 1, .cols = n };
        return CC_OK;
    }
    /* synthetic: the layer's vectors live in one scratch area, reset per layer */
    if (w->vec_used + 2 * n > w->vec_cap)
        return cc_error_set(CC_ERR_INTERNAL, "synthetic vector scratch too small for '%s'", name);
    uint64_t *p0 = w->vec_planes + w->vec_used, *p1 = p0 + n;
    w->vec_used += 2 * n;
    cc_prg a = w->seed_self, b = w->seed_next;
    a.stream = b.stream = synthetic_stream(name);
    cc_prg_u64(&a, 0, n, p0);
    cc_prg_u64(&b, 0, n, p1);
    cc_wipe(&a, sizeof a);
    cc_wipe(&b, sizeof b);
    *out = (cc_ashare){ .s = { p0, p1 }, .n = n, .rows = 1, .cols = n };
    return CC_OK;
}
