/* Weight provider of --synthetic mode: plane j of every tensor is the PRG
 * stream of a public seed j, addressed by a hash of the tensor's name.
 * Identical computation and communication to a real bundle, meaningless
 * output.  Linear planes are never written out: the GEMM generates each
 * depth slice from the two streams while it uses it (cc_proto_weight.gen_*),
 * so a decode step costs the AES expansion and the multiply, not a round
 * trip of every plane through memory. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "core.h"
#include "prg.h"
#include "secure_impl.h"

typedef struct synth {
    cc_prg seed_self, seed_next;
    cc_prg gen_self, gen_next;       /* the streams of the last linear weight */
    uint64_t *vec_planes;            /* the current layer's vectors */
    size_t vec_cap, vec_used;
} synth;

/* Public seeds.  They are not secret (the weights are meaningless by
 * construction); they only make every party derive the same replicated
 * pairs as a real bundle would provide. */
static void synthetic_seed(int j, uint8_t seed[16])
{
    static const char label[] = "caracal-synth-w";
    memcpy(seed, label, 15);
    seed[15] = (uint8_t)j;
}

/* Stream id of a tensor: a hash of its canonical name, so a tensor's planes
 * do not depend on the order tensors are asked for. */
static uint64_t synthetic_stream(const char *name)
{
    uint64_t h = 1469598103934665603ull;           /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* The layer a canonical name belongs to (see cc_tensor_f32.layer). */
static int synthetic_layer(const cc_model_config *c, const char *name)
{
    int l;
    if (sscanf(name, "layers.%d.", &l) == 1) return l;
    return strncmp(name, "embed.", 6) == 0 ? -1 : c->n_layers;
}

/* K×N of a linear weight, from its canonical name. */
static bool linear_shape(const cc_model_config *c, const char *name, size_t *K, size_t *N)
{
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, kv = (size_t)cc_config_kv_dim(c);
    size_t V = (size_t)c->vocab_size;
    const struct { const char *pattern; size_t K, N; } shapes[] = {
        { "embed.tokens", V, d }, { "lm_head.weight", d, V }, { "pooler.weight", d, d },
        { "classifier.weight", d, (size_t)c->n_classes },
        { ".attn.q.weight", d, d }, { ".attn.o.weight", d, d }, { ".attn.k.weight", d, kv },
        { ".attn.v.weight", d, kv }, { ".ffn.gate.weight", d, h }, { ".ffn.up.weight", d, h },
        { ".ffn.down.weight", h, d },
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(shapes); i++) {
        bool layer_leaf = shapes[i].pattern[0] == '.';
        if (layer_leaf ? cc_str_ends_with(name, shapes[i].pattern) && strncmp(name, "layers.", 7) == 0
                       : strcmp(name, shapes[i].pattern) == 0) {
            *K = shapes[i].K;
            *N = shapes[i].N;
            return *N > 0;
        }
    }
    return false;
}

/* Length of a vector, from its canonical name: norm gains and shifts,
 * biases, the position and token-type tables. */
static bool vector_len(const cc_model_config *c, const char *name, size_t *n)
{
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, kv = (size_t)cc_config_kv_dim(c);
    const struct { const char *pattern; size_t n; } lens[] = {
        { "embed.positions", (size_t)c->max_seq_len * d },
        { "embed.token_types", (size_t)c->type_vocab_size * d },
        { "classifier.bias", (size_t)c->n_classes },
        { ".attn.k.bias", kv }, { ".attn.v.bias", kv }, { ".ffn.up.bias", h },
        { ".weight", d }, { ".bias", d },            /* every other gain, shift and bias */
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(lens); i++)
        if (lens[i].pattern[0] == '.' ? cc_str_ends_with(name, lens[i].pattern)
                                      : strcmp(name, lens[i].pattern) == 0) {
            *n = lens[i].n;
            return *n > 0;
        }
    return false;
}

static cc_status synth_ref(cc_sweights *w, cc_wref *r)
{
    const cc_model_config *c = &w->config;
    bool ok = r->linear ? linear_shape(c, r->name, &r->K, &r->N)
                        : (r->K = 1, vector_len(c, r->name, &r->N));
    if (!ok)
        return cc_error_set(CC_ERR_ARG, "synthetic %s weights: no %s named '%s'",
                            cc_arch_name(c->arch), r->linear ? "linear tensor" : "vector",
                            r->name);
    r->layer = synthetic_layer(c, r->name);
    r->slot = synthetic_stream(r->name);
    return CC_OK;
}

static cc_status synth_begin(cc_sweights *w, int layer)
{
    ((synth *)w->state)->vec_used = 0;
    return CC_OK;
}

static cc_status synth_end(cc_sweights *w, int layer) { return CC_OK; }

/* Elements [off, off + n) of both planes of stream `stream` into dst0, dst1. */
static void expand(const synth *s, uint64_t stream, size_t off, size_t n, uint64_t *dst0,
                   uint64_t *dst1)
{
    cc_prg a = s->seed_self, b = s->seed_next;
    a.stream = b.stream = stream;
    cc_prg_u64(&a, off, n, dst0);
    cc_prg_u64(&b, off, n, dst1);
    cc_wipe(&a, sizeof a);
    cc_wipe(&b, sizeof b);
}

static cc_status synth_linear(cc_sweights *w, const cc_wref *r, size_t off, size_t elems,
                              cc_proto_weight *out)
{
    synth *s = w->state;
    s->gen_self = s->seed_self;
    s->gen_next = s->seed_next;
    s->gen_self.stream = s->gen_next.stream = r->slot;
    out->gen_self = &s->gen_self;
    out->gen_next = &s->gen_next;
    out->gen_first = off;
    return CC_OK;
}

/* Vectors live in one scratch area, reset per layer. */
static cc_status synth_vector(cc_sweights *w, const cc_wref *r, const uint64_t **self,
                              const uint64_t **next)
{
    synth *s = w->state;
    size_t n = r->N;
    if (s->vec_used + 2 * n > s->vec_cap)
        return cc_error_set(CC_ERR_INTERNAL, "synthetic vector scratch too small for '%s'",
                            r->name);
    uint64_t *p0 = s->vec_planes + s->vec_used, *p1 = p0 + n;
    s->vec_used += 2 * n;
    expand(s, r->slot, 0, n, p0, p1);
    *self = p0;
    *next = p1;
    return CC_OK;
}

static void synth_close(cc_sweights *w)
{
    synth *s = w->state;
    if (!s) return;
    cc_free(s->vec_planes);
    cc_prg_wipe(&s->seed_self);
    cc_prg_wipe(&s->seed_next);
    cc_prg_wipe(&s->gen_self);
    cc_prg_wipe(&s->gen_next);
    cc_free(s);
}

static const cc_sweights_impl synthetic_impl = {
    .name = "synthetic", .ref = synth_ref, .begin_layer = synth_begin, .end_layer = synth_end,
    .linear_planes = synth_linear, .vector_planes = synth_vector, .close = synth_close,
    .block_hint = SIZE_MAX,   /* generated inside the GEMM: no buffer to bound */
};

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
    synth *s = cc_calloc(1, sizeof *s);
    if (!s) return CC_ERR_NOMEM;
    uint8_t seed[16];
    synthetic_seed(party, seed);
    cc_prg_init(&s->seed_self, seed, 0);
    synthetic_seed((party + 1) % 3, seed);
    cc_prg_init(&s->seed_next, seed, 0);
    cc_wipe(seed, sizeof seed);
    s->vec_cap = synthetic_vector_cap(c);
    s->vec_planes = cc_alloc(s->vec_cap * sizeof(uint64_t));
    cc_sweights *w = NULL;
    cc_status st = s->vec_planes ? cc_sweights_new(&synthetic_impl, c, party, f, &w) : CC_ERR_NOMEM;
    if (st != CC_OK) {
        cc_sweights tmp = { .state = s };
        synth_close(&tmp);
        return st;
    }
    w->state = s;
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
