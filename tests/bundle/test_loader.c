/* Streaming loader behaviour: a layer is resident while held and gone from
 * the page cache after release, the prefetch thread reads the next layer
 * (wrapping from the head to the embedding), resident memory stays near one
 * layer, and re-acquiring a layer gives the same shares; files replaced or
 * truncated under an open bundle are errors that name the cause, never a
 * SIGBUS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "core.h"
#include "bundle.h"
#include "model.h"

typedef struct fixture {
    char dir[4096];
    cc_model_config cfg;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const char *base = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/caracal-loader-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fx->dir)) return -1;
    /* ~14 MB per plane per layer: big enough that RSS bounds mean something */
    cc_model_config c = {
        .arch = CC_ARCH_LLAMA, .dim = 384, .hidden_dim = 1024, .n_layers = 4, .n_heads = 6,
        .n_kv_heads = 2, .vocab_size = 512, .max_seq_len = 64, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f, .tied_embeddings = false,
    };
    fx->cfg = c;
    static const uint8_t seed[16] = { 42 };
    cc_tensor_source src;
    if (cc_tensor_source_synthetic(&c, seed, &src) != CC_OK) return -1;
    cc_status s = cc_bundle_write(&src, fx->dir, NULL);
    cc_tensor_source_free(&src);
    if (s != CC_OK) { fprintf(stderr, "%s\n", cc_error_message()); return -1; }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    static const char *names[] = { "party0.ccb", "party1.ccb", "party2.ccb", "w2.ccw" };
    char p[4200];
    for (size_t i = 0; i < CC_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", fx->dir, names[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static uint64_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Fraction of the pages of [p, p+len) that are in the page cache. */
static double resident_fraction(const void *p, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t n = (len + ((uintptr_t)p - a) + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = malloc(n);
    assert_int_equal(mincore((void *)a, n * (size_t)page, vec), 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++) in += vec[i] & 1;
    free(vec);
    return (double)in / (double)n;
}

/* The stored plane of a layer: contiguous from its first to its last tensor. */
static void stored_range(const cc_bundle_layer *l, int plane, const uint8_t **p, size_t *len)
{
    const cc_share_tensor *a = &l->tensors[0], *z = &l->tensors[l->n_tensors - 1];
    *p = (const uint8_t *)a->share[plane];
    *len = (size_t)((const uint8_t *)(z->share[plane] + z->n_elems) - *p);
}

static bool wait_resident(const void *p, size_t len, double want, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (resident_fraction(p, len) >= want) return true;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

static void stream_layers(void **state)
{
    fixture *fx = *state;
    /* P2's stored plane is plane 0 (w2), its seed plane is plane 1 (w0) */
    cc_bundle_open_options o = { .party = 2, .frac_bits = 18 };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(fx->dir, &o, &b), CC_OK);
    const int L = fx->cfg.n_layers;
    uint64_t max_layer = cc_bundle_max_layer_bytes(b);
    assert_true(max_layer > 20u << 20);
    uint64_t base = rss_now();
    uint64_t peak = 0;

    /* the embedding was never prefetched: acquire reads it itself */
    const uint8_t *prev_p = NULL;
    size_t prev_len = 0;
    for (int layer = -1; layer <= L; layer++) {
        cc_bundle_layer l;
        assert_int_equal(cc_bundle_acquire(b, layer, &l), CC_OK);
        const uint8_t *p;
        size_t len;
        stored_range(&l, 0, &p, &len);
        assert_true(resident_fraction(p, len) > 0.999);
        uint64_t rss = rss_now() - base;
        peak = CC_MAX(peak, rss);
        /* the whole layer is mapped in (POPULATE_READ) and not much more */
        assert_true(rss >= cc_bundle_layer_bytes(b, layer) * 9 / 10);
        assert_true(rss <= max_layer * 3 / 2);
        assert_int_equal(cc_bundle_release(b, layer), CC_OK);
        /* released: still in the page cache (for a peer on this host), and
         * the layer released before it is gone from there */
        assert_true(resident_fraction(p, len) > 0.99);
        if (prev_p) assert_true(resident_fraction(prev_p, prev_len) < 0.01);
        prev_p = p;
        prev_len = len;
    }
    print_message("  largest layer (both planes) %.1f MB, peak RSS above baseline %.1f MB (%.2fx)\n",
                  (double)max_layer / 1e6, (double)peak / 1e6, (double)peak / (double)max_layer);
    cc_bundle_close(b);
}

static void prefetch_reads_ahead(void **state)
{
    fixture *fx = *state;
    cc_bundle_open_options o = { .party = 1, .frac_bits = -1 };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(fx->dir, &o, &b), CC_OK);
    const int L = fx->cfg.n_layers;
    /* find where each layer's stored plane lives (acquire/release, dropping) */
    const uint8_t *p[16];
    size_t len[16];
    for (int layer = -1; layer <= L; layer++) {
        cc_bundle_layer l;
        assert_int_equal(cc_bundle_acquire(b, layer, &l), CC_OK);
        stored_range(&l, 1, &p[layer + 1], &len[layer + 1]);   /* P1: plane 1 is w2 */
        assert_int_equal(cc_bundle_release(b, layer), CC_OK);
    }
    for (int layer = 0; layer < L; layer++) {
        /* every layer was dropped from the page cache, one release late
         * (the head, released last above, at the release of layer 0 here) */
        assert_true(resident_fraction(p[layer + 2], len[layer + 2]) < 0.01);
        cc_bundle_layer l;
        assert_int_equal(cc_bundle_acquire(b, layer, &l), CC_OK);
        /* while layer is held, layer+1 arrives in the page cache without
         * anyone touching it */
        if (!wait_resident(p[layer + 2], len[layer + 2], 0.99, 5000))
            fail_msg("layer %d was not prefetched while layer %d was held", layer + 1, layer);
        assert_int_equal(cc_bundle_release(b, layer), CC_OK);
    }
    /* after the head comes the embedding again (next generated token) */
    cc_bundle_layer e;
    assert_int_equal(cc_bundle_acquire(b, -1, &e), CC_OK);
    assert_int_equal(cc_bundle_release(b, -1), CC_OK);
    assert_int_equal(cc_bundle_acquire(b, 0, &e), CC_OK);
    assert_int_equal(cc_bundle_release(b, 0), CC_OK);   /* drops the embedding */
    assert_true(resident_fraction(p[0], len[0]) < 0.01);
    cc_bundle_layer l;
    assert_int_equal(cc_bundle_acquire(b, L, &l), CC_OK);
    if (!wait_resident(p[0], len[0], 0.99, 5000))
        fail_msg("the embedding was not prefetched after the head (generation wrap-around)");
    assert_int_equal(cc_bundle_release(b, L), CC_OK);
    cc_bundle_close(b);
}

/* P1 and P2 on one host map the same w2.ccw.  Whichever of them releases a
 * layer first, the other still finds it in the page cache, even before it
 * has mapped it (no second read from disk); the pass leaves at most the
 * layer released last behind. */
static void peers_share_the_page_cache(void **state)
{
    fixture *fx = *state;
    cc_bundle *b[2] = { NULL, NULL };
    for (int k = 0; k < 2; k++) {
        cc_bundle_open_options o = { .party = 1 + k, .frac_bits = -1 };
        assert_int_equal(cc_bundle_open(fx->dir, &o, &b[k]), CC_OK);
    }
    const int L = fx->cfg.n_layers;
    const uint8_t *p[16];
    size_t len[16];
    for (int layer = -1; layer <= L; layer++) {
        /* the worst interleaving in step: P1 is done with the layer before
         * P2 has even acquired it */
        cc_bundle_layer l1, l2;
        assert_int_equal(cc_bundle_acquire(b[0], layer, &l1), CC_OK);
        stored_range(&l1, 1, &p[layer + 1], &len[layer + 1]);   /* P1: plane 1 is w2 */
        assert_int_equal(cc_bundle_release(b[0], layer), CC_OK);
        if (resident_fraction(p[layer + 1], len[layer + 1]) < 0.99)
            fail_msg("layer %d left the page cache before P2 used it", layer);
        assert_int_equal(cc_bundle_acquire(b[1], layer, &l2), CC_OK);
        assert_int_equal(cc_bundle_release(b[1], layer), CC_OK);
        /* the layer before is gone: the cache holds a window, not the model */
        if (layer >= 0) assert_true(resident_fraction(p[layer], len[layer]) < 0.01);
    }
    cc_bundle_close(b[0]);
    cc_bundle_close(b[1]);
}

static void keep_cached_leaves_page_cache(void **state)
{
    fixture *fx = *state;
    cc_bundle_open_options o = { .party = 1, .frac_bits = -1, .keep_cached = true };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(fx->dir, &o, &b), CC_OK);
    uint64_t base = rss_now();
    cc_bundle_layer l;
    assert_int_equal(cc_bundle_acquire(b, 1, &l), CC_OK);
    const uint8_t *p;
    size_t len;
    stored_range(&l, 1, &p, &len);
    assert_true(rss_now() - base >= len);
    assert_int_equal(cc_bundle_release(b, 1), CC_OK);
    /* unmapped from the process (RSS back down by the stored plane) ... */
    assert_true(rss_now() < base + cc_bundle_layer_bytes(b, 1) / 2 + (4u << 20));
    /* ... but still in the page cache for the next pass */
    assert_true(resident_fraction(p, len) > 0.99);
    cc_bundle_close(b);
}

static void reacquire_is_identical(void **state)
{
    fixture *fx = *state;
    for (int party = 0; party < 3; party++) {
        cc_bundle_open_options o = { .party = party, .frac_bits = -1, .no_prefetch = party == 1 };
        cc_bundle *b = NULL;
        assert_int_equal(cc_bundle_open(fx->dir, &o, &b), CC_OK);
        uint8_t h[2][32];
        for (int round = 0; round < 2; round++) {
            cc_bundle_layer l;
            assert_int_equal(cc_bundle_acquire(b, 1, &l), CC_OK);
            crypto_generichash_state st;
            crypto_generichash_init(&st, NULL, 0, 32);
            for (size_t t = 0; t < l.n_tensors; t++)
                for (int pl = 0; pl < 2; pl++)
                    crypto_generichash_update(&st, (const uint8_t *)l.tensors[t].share[pl],
                                              l.tensors[t].n_elems * 8);
            crypto_generichash_final(&st, h[round], 32);
            assert_int_equal(cc_bundle_release(b, 1), CC_OK);
            /* a different layer in between reuses the seed buffer */
            assert_int_equal(cc_bundle_acquire(b, 2, &l), CC_OK);
            assert_int_equal(cc_bundle_release(b, 2), CC_OK);
        }
        assert_memory_equal(h[0], h[1], 32);
        cc_bundle_close(b);
    }
}

/* generate_packed: the seed planes of packed (linear) tensors are not
 * expanded, and cc_bundle_plane_prg generates exactly what the eager loader
 * expands; stored planes and plain tensors are held as before; the seed
 * buffer only holds the plain tensors. */
static void generated_planes_match_expanded(void **state)
{
    fixture *fx = *state;
    for (int party = 0; party < 3; party++) {
        cc_bundle_open_options eager = { .party = party, .frac_bits = -1, .no_prefetch = true };
        cc_bundle_open_options lazy = eager;
        lazy.generate_packed = true;
        cc_bundle *e = NULL, *g = NULL;
        assert_int_equal(cc_bundle_open(fx->dir, &eager, &e), CC_OK);
        assert_int_equal(cc_bundle_open(fx->dir, &lazy, &g), CC_OK);
        int generated = 0;
        for (int layer = -1; layer <= fx->cfg.n_layers; layer++) {
            cc_bundle_layer le, lg;
            assert_int_equal(cc_bundle_acquire(e, layer, &le), CC_OK);
            assert_int_equal(cc_bundle_acquire(g, layer, &lg), CC_OK);
            assert_int_equal(le.n_tensors, lg.n_tensors);
            for (size_t t = 0; t < le.n_tensors; t++) {
                const cc_share_tensor *te = &le.tensors[t], *tg = &lg.tensors[t];
                size_t index;
                assert_int_equal(cc_bundle_find(g, tg->name, &index), CC_OK);
                for (unsigned pl = 0; pl < 2; pl++) {
                    size_t bytes = te->n_elems * 8;
                    bool seed = cc_bundle_plane_prg(g, index, pl, NULL);
                    assert_int_equal(seed, party == 0 || (party == 1 ? pl == 0 : pl == 1));
                    if (!seed || tg->layout == CC_LAYOUT_PLAIN) {   /* held */
                        assert_non_null(tg->share[pl]);
                        assert_memory_equal(te->share[pl], tg->share[pl], bytes);
                        continue;
                    }
                    assert_null(tg->share[pl]);
                    cc_prg prg;
                    assert_true(cc_bundle_plane_prg(g, index, pl, &prg));
                    uint64_t *w = malloc(bytes);
                    assert_non_null(w);
                    cc_prg_u64(&prg, 0, te->n_elems, w);
                    cc_prg_wipe(&prg);
                    assert_memory_equal(te->share[pl], w, bytes);
                    free(w);
                    generated++;
                }
            }
            assert_int_equal(cc_bundle_release(e, layer), CC_OK);
            assert_int_equal(cc_bundle_release(g, layer), CC_OK);
        }
        /* LLaMA: 7 linear weights per layer, the embedding table and the head */
        int linear = 7 * fx->cfg.n_layers + 2;
        assert_int_equal(generated, party == 0 ? 2 * linear : linear);
        cc_bundle_close(e);
        cc_bundle_close(g);
    }
}

/* direct_read gives the same bytes as the mapping, for every layer and
 * party, with the reader thread (read ahead, wrapping from the head to the
 * embedding) and without; layers out of order and repeated too. */
static void direct_reads_match_mapped(void **state)
{
    fixture *fx = *state;
    const int L = fx->cfg.n_layers;
    const int order[] = { -1, 0, 1, 2, 3, 4, -1, 0, 2, 2, 4, 1 };
    for (int party = 1; party < 3; party++)
        for (int threaded = 0; threaded < 2; threaded++) {
            cc_bundle_open_options om = { .party = party, .frac_bits = -1, .no_prefetch = true };
            cc_bundle_open_options od = { .party = party, .frac_bits = -1, .direct_read = true,
                                          .no_prefetch = !threaded };
            cc_bundle *m = NULL, *d = NULL;
            assert_int_equal(cc_bundle_open(fx->dir, &om, &m), CC_OK);
            assert_int_equal(cc_bundle_open(fx->dir, &od, &d), CC_OK);
            for (size_t i = 0; i < CC_ARRAY_LEN(order); i++) {
                int layer = order[i];
                assert_true(layer <= L);
                cc_bundle_layer lm, ld;
                assert_int_equal(cc_bundle_acquire(m, layer, &lm), CC_OK);
                assert_int_equal(cc_bundle_acquire(d, layer, &ld), CC_OK);
                assert_int_equal(lm.n_tensors, ld.n_tensors);
                for (size_t t = 0; t < lm.n_tensors; t++)
                    for (int pl = 0; pl < 2; pl++)
                        assert_memory_equal(lm.tensors[t].share[pl], ld.tensors[t].share[pl],
                                            lm.tensors[t].n_elems * 8);
                assert_int_equal(cc_bundle_release(m, layer), CC_OK);
                assert_int_equal(cc_bundle_release(d, layer), CC_OK);
            }
            cc_bundle_close(m);
            cc_bundle_close(d);
        }
}

/* Runs last: it replaces P0's party file and truncates w2.ccw. */
static void changed_files_are_named_errors(void **state)
{
    fixture *fx = *state;
    char party0[4200], tmp[4200], w2[4200];
    snprintf(party0, sizeof party0, "%s/party0.ccb", fx->dir);
    snprintf(tmp, sizeof tmp, "%s/party0.ccb.new", fx->dir);
    snprintf(w2, sizeof w2, "%s/w2.ccw", fx->dir);
    cc_bundle_identity id[2];
    for (int p = 0; p < 2; p++) {
        cc_bundle_open_options o = { .party = p, .frac_bits = -1, .no_prefetch = true };
        cc_bundle *b = NULL;
        assert_int_equal(cc_bundle_open(fx->dir, &o, &b), CC_OK);
        cc_bundle_identity_of(b, &id[p]);
        cc_bundle_close(b);
    }
    /* the same files again: accepted */
    cc_bundle_open_options o0 = { .party = 0, .frac_bits = -1, .no_prefetch = true, .expect = &id[0] };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(fx->dir, &o0, &b), CC_OK);
    cc_bundle_close(b);

    /* P0's party file replaced by an identical copy (a rename, as an
     * operator installs a new bundle): another inode, refused by name */
    size_t len;
    uint8_t *bytes;
    assert_int_equal(cc_read_file(party0, &bytes, &len), CC_OK);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    cc_free(bytes);
    assert_int_equal(rename(tmp, party0), 0);
    b = NULL;
    assert_int_equal(cc_bundle_open(fx->dir, &o0, &b), CC_ERR_MISMATCH);
    assert_null(b);
    assert_non_null(strstr(cc_error_message(), "replaced by another file since this party validated it"));

    /* w2.ccw truncated while a bundle has it mapped: the next acquire is an
     * error naming the truncation (before the fstat check, touching the
     * layer's pages would have ended the process with SIGBUS) */
    cc_bundle_open_options o1 = { .party = 1, .frac_bits = -1, .no_prefetch = true };
    assert_int_equal(cc_bundle_open(fx->dir, &o1, &b), CC_OK);
    cc_bundle_layer l;
    assert_int_equal(cc_bundle_acquire(b, 0, &l), CC_OK);
    assert_int_equal(cc_bundle_release(b, 0), CC_OK);
    assert_int_equal(truncate(w2, (off_t)(id[1].data_file.size / 2)), 0);
    assert_int_equal(cc_bundle_acquire(b, fx->cfg.n_layers - 1, &l), CC_ERR_IO);
    assert_non_null(strstr(cc_error_message(), "truncated"));
    cc_bundle_close(b);
    /* the same in direct mode, where the reader thread meets the end of the
     * file: the acquire that needs the missing bytes names it */
    cc_bundle_open_options o1d = { .party = 1, .frac_bits = -1, .direct_read = true,
                                   .data_path = NULL };
    size_t wlen = (size_t)id[1].data_file.size;
    assert_int_equal(truncate(w2, (off_t)wlen), 0);                  /* whole again (zeros) */
    assert_int_equal(cc_bundle_open(fx->dir, &o1d, &b), CC_OK);
    assert_int_equal(cc_bundle_acquire(b, 0, &l), CC_OK);            /* reads layer 1 ahead */
    assert_int_equal(truncate(w2, (off_t)(wlen / 2)), 0);
    assert_int_equal(cc_bundle_release(b, 0), CC_OK);
    cc_status s = CC_OK;
    for (int layer = 1; layer <= fx->cfg.n_layers && s == CC_OK; layer++) {
        s = cc_bundle_acquire(b, layer, &l);
        if (s == CC_OK) assert_int_equal(cc_bundle_release(b, layer), CC_OK);
    }
    assert_int_equal(s, CC_ERR_IO);
    assert_non_null(strstr(cc_error_message(), "truncated"));
    print_message("  ok: %s\n", cc_error_message());
    cc_bundle_close(b);
    /* and a new open with the recorded identity names it too */
    cc_bundle_open_options o1e = { .party = 1, .frac_bits = -1, .no_prefetch = true,
                                   .expect = &id[1] };
    assert_int_equal(cc_bundle_open(fx->dir, &o1e, &b), CC_ERR_MISMATCH);
    assert_non_null(strstr(cc_error_message(), "truncated since this party validated it"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_layers),
        cmocka_unit_test(prefetch_reads_ahead),
        cmocka_unit_test(peers_share_the_page_cache),
        cmocka_unit_test(keep_cached_leaves_page_cache),
        cmocka_unit_test(reacquire_is_identical),
        cmocka_unit_test(generated_planes_match_expanded),
        cmocka_unit_test(direct_reads_match_mapped),
        cmocka_unit_test(changed_files_are_named_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
