/* Round-trip check shared by the bundle tests (see test_bundle_check.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "ring.h"
#include "test_bundle_check.h"

cc_bundle *open_party(const char *dir, int party, int f, bool verify)
{
    cc_bundle_open_options o = { .party = party, .frac_bits = f, .verify = verify };
    cc_bundle *b = NULL;
    cc_status s = cc_bundle_open(dir, &o, &b);
    if (s != CC_OK) print_error("open party %d: %s\n", party, cc_error_message());
    assert_int_equal(s, CC_OK);
    assert_int_equal(cc_bundle_party(b), party);
    return b;
}

/* Source tensor index by name (the tied LM head is the embedding). */
static size_t source_index(const cc_tensor_source *src, const char *name)
{
    const char *want = name;
    if (strcmp(name, "lm_head.weight") == 0 && src->config.tied_embeddings) want = "embed.tokens";
    for (size_t i = 0; i < src->n_tensors; i++) {
        cc_tensor_f32 m;
        assert_int_equal(src->describe(src->ctx, i, &m), CC_OK);
        if (strcmp(m.name, want) == 0) return i;
    }
    fail_msg("tensor %s is not in the source", name);
    return 0;
}

/* W (fixed point) of one stored tensor, in its logical orientation:
 * plain -> row-major as in the source; packed -> op(B) K×N row-major. */
static uint64_t *expected_logical(const cc_tensor_source *src, const cc_share_tensor *t, unsigned f)
{
    size_t i = source_index(src, t->name);
    cc_tensor_f32 m;
    assert_int_equal(src->describe(src->ctx, i, &m), CC_OK);
    float *x = malloc(m.numel * sizeof *x);
    uint64_t *v = malloc(m.numel * 8), *out = malloc(m.numel * 8);
    assert_int_equal(src->read(src->ctx, i, x), CC_OK);
    /* independent of the library encoder: round(x * 2^f), ties away from zero (docs/KERNELS.md) */
    for (size_t j = 0; j < m.numel; j++) v[j] = (uint64_t)(int64_t)llround(ldexp((double)x[j], (int)f));
    if (t->layout == CC_LAYOUT_PLAIN) {
        memcpy(out, v, m.numel * 8);
    } else if (strcmp(t->name, "embed.tokens") == 0) {
        assert_int_equal(t->K, m.shape[0]);   /* one-hot × E: op(B) = E, V×d */
        assert_int_equal(t->N, m.shape[1]);
        memcpy(out, v, m.numel * 8);
    } else {
        assert_int_equal(t->K, m.shape[1]);   /* x·Wᵀ: op(B) = Wᵀ, in×out */
        assert_int_equal(t->N, m.shape[0]);
        for (size_t k = 0; k < t->K; k++)
            for (size_t n = 0; n < t->N; n++) out[k * t->N + n] = v[n * t->K + k];
    }
    free(x);
    free(v);
    return out;
}

/* Opens all three parties, walks every layer, checks the replicated pairs
 * and the reconstruction against the source. */
void check_round_trip(const char *dir, const cc_tensor_source *src, unsigned f)
{
    cc_bundle *p[3];
    for (int i = 0; i < 3; i++) p[i] = open_party(dir, i, (int)f, true);
    for (int i = 1; i < 3; i++)
        assert_int_equal(cc_bundle_check_peer(p[0], cc_bundle_content_hash(p[i]), "P"), CC_OK);
    const int L = src->config.n_layers;
    size_t seen = 0;
    for (int layer = -1; layer <= L; layer++) {
        cc_bundle_layer l[3];
        for (int i = 0; i < 3; i++)
            if (cc_bundle_acquire(p[i], layer, &l[i]) != CC_OK)
                fail_msg("P%d acquire layer %d: %s", i, layer, cc_error_message());
        assert_int_equal(l[0].n_tensors, l[1].n_tensors);
        assert_int_equal(l[0].n_tensors, l[2].n_tensors);
        for (size_t t = 0; t < l[0].n_tensors; t++) {
            const cc_share_tensor *a = &l[0].tensors[t], *b = &l[1].tensors[t], *c = &l[2].tensors[t];
            assert_string_equal(a->name, b->name);
            assert_string_equal(a->name, c->name);
            assert_int_equal(a->layer, layer);
            size_t n = a->n_elems;
            /* P_i holds (w_i, w_{i+1}): w1 at P0 and P1, w2 at P1 and P2, w0 at P2 and P0 */
            assert_memory_equal(a->share[1], b->share[0], n * 8);
            assert_memory_equal(b->share[1], c->share[0], n * 8);
            assert_memory_equal(c->share[1], a->share[0], n * 8);
            for (int i = 0; i < 3; i++)
                for (int s = 0; s < 2; s++) assert_int_equal((uintptr_t)l[i].tensors[t].share[s] % 64, 0);
            uint64_t *w = malloc(n * 8);
            size_t same = 0;
            for (size_t j = 0; j < n; j++) {
                w[j] = a->share[0][j] + b->share[0][j] + c->share[0][j];
                same += b->share[1][j] == w[j];
            }
            assert_true(same <= 2 + n / 100);   /* the stored share is not the weight */
            uint64_t *want = expected_logical(src, a, f);
            size_t numel = 1;
            for (int d = 0; d < a->ndim; d++) numel *= (size_t)a->shape[d];
            if (a->layout == CC_LAYOUT_PACKED_B) {
                uint64_t *logical = malloc(numel * 8), *repacked = calloc(n, 8);
                cc_ring_unpack_b(a->K, a->N, w, logical, a->N);
                assert_memory_equal(logical, want, numel * 8);
                /* and the padding of the stored layout reconstructs to zero */
                cc_ring_pack_b(CC_NOTRANS, a->K, a->N, want, a->N, repacked);
                assert_memory_equal(w, repacked, n * 8);
                free(logical);
                free(repacked);
            } else {
                assert_int_equal(n, numel);
                assert_memory_equal(w, want, numel * 8);
            }
            free(want);
            free(w);
            seen++;
        }
        for (int i = 0; i < 3; i++) assert_int_equal(cc_bundle_release(p[i], layer), CC_OK);
    }
    /* every source tensor made it (the tied head adds one) */
    assert_int_equal(seen, src->n_tensors + (src->config.tied_embeddings ? 1 : 0));
    for (int i = 0; i < 3; i++) cc_bundle_close(p[i]);
}

