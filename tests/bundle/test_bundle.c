/* Share bundles: share -> load the three parties' bundles -> reconstruct
 * equals the fixed-point weights exactly (synthetic models and the real
 * stories260K), the replicated pairs line up, and every bad input named in
 * issue 6 gives its own clear error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "core.h"
#include "bundle.h"
#include "import.h"
#include "model.h"
#include "ring.h"
#include "test_bundle_check.h"
#include "test_data.h"

/* ---- scratch directories ---------------------------------------------------- */

static void make_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/caracal-bundle-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
    static const char *names[] = { "party0.ccb", "party1.ccb", "party2.ccb", "w2.ccw",
                                   "party0.ccb.tmp", "party1.ccb.tmp", "party2.ccb.tmp", "w2.ccw.tmp" };
    char p[4200];
    for (size_t i = 0; i < CC_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(dir), 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

static void copy_bundle(const char *from, const char *to)
{
    static const char *names[] = { "party0.ccb", "party1.ccb", "party2.ccb", "w2.ccw" };
    char a[4200], b[4200];
    for (size_t i = 0; i < CC_ARRAY_LEN(names); i++) {
        snprintf(a, sizeof a, "%s/%s", from, names[i]);
        snprintf(b, sizeof b, "%s/%s", to, names[i]);
        copy_file(a, b);
    }
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    if (off < 0) { fseek(f, 0, SEEK_END); off += ftell(f); }
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void put_u32_at(const char *path, long off, uint32_t v)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    assert_int_equal(fwrite(b, 1, 4, f), 4);
    fclose(f);
}

static void truncate_by(const char *path, off_t by)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - by), 0);
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* ---- reconstruction check -------------------------------------------------- */

static cc_model_config tiny_config(bool tied)
{
    cc_model_config c = {
        .arch = CC_ARCH_LLAMA, .dim = 48, .hidden_dim = 100, .n_layers = 2, .n_heads = 4,
        .n_kv_heads = 2, .vocab_size = 37, .max_seq_len = 16, .norm_eps = 1e-5f,
        .rope_theta = 10000.0f, .tied_embeddings = tied,
    };
    return c;
}

static const uint8_t synth_seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void round_trip_synthetic(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++) {
        cc_model_config c = tiny_config(tied);
        cc_tensor_source src;
        assert_int_equal(cc_tensor_source_synthetic(&c, synth_seed, &src), CC_OK);
        char dir[4096];
        make_tmpdir(dir, sizeof dir);
        unsigned f = tied ? 18 : 12;
        cc_bundle_write_options wo = { .frac_bits = f };
        assert_int_equal(cc_bundle_write(&src, dir, &wo), CC_OK);
        check_round_trip(dir, &src, f);
        cc_tensor_source_free(&src);
        remove_dir(dir);
    }
}

/* ---- GPT-2 and BERT geometries (biases, positions, token types, pooler,
 * classifier, tied GPT-2 head), built in memory with the canonical names --- */

typedef struct wbuild {
    cc_model_weights w;
    uint64_t rng;
} wbuild;

static void wadd(wbuild *b, int layer, bool linear, int64_t d0, int64_t d1, const char *fmt, ...)
{
    cc_model_weights *w = &b->w;
    assert_true(w->n_tensors < w->capacity);
    cc_tensor_f32 *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->layer = layer;
    t->is_linear = linear;
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->data = cc_alloc(t->numel * sizeof(float));
    assert_non_null(t->data);
    for (size_t i = 0; i < t->numel; i++) {
        b->rng = b->rng * 6364136223846793005ull + 1442695040888963407ull;
        t->data[i] = (float)((int64_t)(b->rng >> 40) - (1 << 23)) / (float)(1 << 26);
    }
}

static void build_encoder_decoder(wbuild *b, cc_arch arch)
{
    memset(b, 0, sizeof *b);
    b->rng = (uint64_t)arch;
    cc_model_config c = {
        .arch = arch, .dim = 32, .hidden_dim = 72, .n_layers = 2, .n_heads = 4, .n_kv_heads = 4,
        .vocab_size = 29, .max_seq_len = 12, .norm_eps = 1e-5f,
        .type_vocab_size = arch == CC_ARCH_BERT ? 2 : 0,
        .n_classes = arch == CC_ARCH_BERT ? 3 : 0,
        .tied_embeddings = arch == CC_ARCH_GPT2,
    };
    b->w.config = c;
    b->w.capacity = 64;
    b->w.tensors = cc_calloc(b->w.capacity, sizeof *b->w.tensors);
    const int64_t d = c.dim, h = c.hidden_dim;
    wadd(b, -1, false, c.vocab_size, d, "embed.tokens");
    wadd(b, -1, false, c.max_seq_len, d, "embed.positions");
    if (arch == CC_ARCH_BERT) {
        wadd(b, -1, false, c.type_vocab_size, d, "embed.token_types");
        wadd(b, -1, false, d, 0, "embed.norm.weight");
        wadd(b, -1, false, d, 0, "embed.norm.bias");
    }
    for (int l = 0; l < c.n_layers; l++) {
        wadd(b, l, false, d, 0, "layers.%d.attn_norm.weight", l);
        wadd(b, l, false, d, 0, "layers.%d.attn_norm.bias", l);
        for (const char *m = "qkvo"; *m; m++) {
            wadd(b, l, true, d, d, "layers.%d.attn.%c.weight", l, *m);
            wadd(b, l, false, d, 0, "layers.%d.attn.%c.bias", l, *m);
        }
        wadd(b, l, false, d, 0, "layers.%d.ffn_norm.weight", l);
        wadd(b, l, false, d, 0, "layers.%d.ffn_norm.bias", l);
        wadd(b, l, true, h, d, "layers.%d.ffn.up.weight", l);
        wadd(b, l, false, h, 0, "layers.%d.ffn.up.bias", l);
        wadd(b, l, true, d, h, "layers.%d.ffn.down.weight", l);
        wadd(b, l, false, d, 0, "layers.%d.ffn.down.bias", l);
    }
    if (arch == CC_ARCH_GPT2) {
        wadd(b, c.n_layers, false, d, 0, "final_norm.weight");
        wadd(b, c.n_layers, false, d, 0, "final_norm.bias");
    } else {
        wadd(b, c.n_layers, true, d, d, "pooler.weight");
        wadd(b, c.n_layers, false, d, 0, "pooler.bias");
        wadd(b, c.n_layers, true, c.n_classes, d, "classifier.weight");
        wadd(b, c.n_layers, false, c.n_classes, 0, "classifier.bias");
    }
}

static void round_trip_gpt2_bert(void **state)
{
    (void)state;
    cc_arch arches[] = { CC_ARCH_GPT2, CC_ARCH_BERT };
    for (size_t a = 0; a < CC_ARRAY_LEN(arches); a++) {
        wbuild b;
        build_encoder_decoder(&b, arches[a]);
        cc_tensor_source src;
        assert_int_equal(cc_tensor_source_weights(&b.w, &src), CC_OK);
        char dir[4096];
        make_tmpdir(dir, sizeof dir);
        assert_int_equal(cc_bundle_write(&src, dir, NULL), CC_OK);
        check_round_trip(dir, &src, 18);
        /* layouts: linears and the token embedding packed, the rest plain */
        cc_bundle_open_options o = { .party = 1, .frac_bits = 18 };
        cc_bundle *bd = NULL;
        assert_int_equal(cc_bundle_open(dir, &o, &bd), CC_OK);
        cc_bundle_layer l;
        assert_int_equal(cc_bundle_acquire(bd, -1, &l), CC_OK);
        assert_int_equal(cc_bundle_layer_find(&l, "embed.tokens")->layout, CC_LAYOUT_PACKED_B);
        assert_int_equal(cc_bundle_layer_find(&l, "embed.positions")->layout, CC_LAYOUT_PLAIN);
        assert_int_equal(cc_bundle_release(bd, -1), CC_OK);
        assert_int_equal(cc_bundle_acquire(bd, 2, &l), CC_OK);
        const cc_share_tensor *head = cc_bundle_layer_find(&l, "lm_head.weight");
        if (arches[a] == CC_ARCH_GPT2) {
            assert_non_null(head);
            assert_int_equal(head->K, 32);
            assert_int_equal(head->N, 29);
        } else {
            assert_null(head);
            assert_int_equal(cc_bundle_layer_find(&l, "classifier.weight")->N, 3);
        }
        assert_int_equal(cc_bundle_release(bd, 2), CC_OK);
        cc_bundle_close(bd);
        cc_tensor_source_free(&src);
        cc_weights_free(&b.w);
        remove_dir(dir);
    }
}

static void round_trip_stories260k(void **state)
{
    (void)state;
    const char *mdir = cc_test_models_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/stories260K.bin", mdir);
    if (access(path, R_OK) != 0) CC_TEST_MISSING_DATA(path);
    /* eager import (whole model in memory) */
    cc_model_weights w;
    memset(&w, 0, sizeof w);
    cc_status s = cc_checkpoint_load_llama2c(path, &w);
    if (s != CC_OK) fail_msg("import %s: %s", path, cc_error_message());
    cc_tensor_source src;
    assert_int_equal(cc_tensor_source_weights(&w, &src), CC_OK);
    char dir[4096];
    make_tmpdir(dir, sizeof dir);
    cc_bundle_write_options wo = { .frac_bits = 18 };
    assert_int_equal(cc_bundle_write(&src, dir, &wo), CC_OK);
    check_round_trip(dir, &src, 18);
    cc_tensor_source_free(&src);
    cc_weights_free(&w);
    remove_dir(dir);

    /* lazy checkpoint source (what caracal-share uses), f = 20 */
    cc_checkpoint *ck = NULL;
    if (cc_checkpoint_open(path, &ck) != CC_OK) fail_msg("open %s: %s", path, cc_error_message());
    assert_int_equal(cc_checkpoint_source(ck, &src), CC_OK);
    make_tmpdir(dir, sizeof dir);
    wo.frac_bits = 20;
    assert_int_equal(cc_bundle_write(&src, dir, &wo), CC_OK);
    check_round_trip(dir, &src, 20);
    cc_tensor_source_free(&src);
    cc_checkpoint_close(ck);
    remove_dir(dir);
}

/* ---- bad input ------------------------------------------------------------- */

typedef struct fixture {
    char good[4096];   /* a valid bundle, written once */
    char other[4096];  /* same model, another caracal-share run */
    char work[4096];   /* scratch copy each test may damage */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    cc_model_config c = tiny_config(true);
    cc_tensor_source src;
    if (cc_tensor_source_synthetic(&c, synth_seed, &src) != CC_OK) return -1;
    make_tmpdir(fx->good, sizeof fx->good);
    make_tmpdir(fx->other, sizeof fx->other);
    make_tmpdir(fx->work, sizeof fx->work);
    if (cc_bundle_write(&src, fx->good, NULL) != CC_OK) return -1;
    if (cc_bundle_write(&src, fx->other, NULL) != CC_OK) return -1;
    cc_tensor_source_free(&src);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    remove_dir(fx->good);
    remove_dir(fx->other);
    remove_dir(fx->work);
    free(fx);
    return 0;
}

/* Opens `dir` as `party` and expects status `want` and `needle` in the message. */
static void expect_open_error(const char *dir, int party, int f, bool verify, cc_status want,
                              const char *needle)
{
    cc_bundle_open_options o = { .party = party, .frac_bits = f, .verify = verify, .no_prefetch = true };
    cc_bundle *b = NULL;
    cc_status s = cc_bundle_open(dir, &o, &b);
    if (s != want || !strstr(cc_error_message(), needle))
        fail_msg("expected status %d with \"%s\", got %d: %s", want, needle, s, cc_error_message());
    assert_null(b);
    print_message("  ok: %s\n", cc_error_message());
}

static void default_loads(void **state)
{
    fixture *fx = *state;
    cc_bundle *b = open_party(fx->good, 2, 18, true);
    assert_int_equal(cc_bundle_frac_bits(b), 18);   /* the default f */
    assert_int_equal(cc_bundle_config(b)->dim, 48);
    cc_bundle_close(b);
}

static void truncated_files(void **state)
{
    fixture *fx = *state;
    char p[4200];
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "party1.ccb");
    truncate_by(p, 100);
    expect_open_error(fx->work, 1, -1, false, CC_ERR_FORMAT, "truncated");
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "w2.ccw");
    truncate_by(p, 4096);
    expect_open_error(fx->work, 2, -1, false, CC_ERR_FORMAT, "truncated");
    path_in(p, sizeof p, fx->work, "party0.ccb");
    truncate(p, 10);
    expect_open_error(fx->work, 0, -1, false, CC_ERR_FORMAT, "not a Caracal share bundle");
}

static void flipped_bytes(void **state)
{
    fixture *fx = *state;
    char p[4200];
    /* a byte of the last tensor's data: only the checksums see it */
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "w2.ccw");
    flip_byte(p, -4096 - 8);
    expect_open_error(fx->work, 1, -1, true, CC_ERR_FORMAT, "checksum mismatch");
    expect_open_error(fx->work, 2, -1, true, CC_ERR_FORMAT, "lm_head.weight");
    cc_bundle_open_options o = { .party = 1, .frac_bits = -1, .verify = false };
    cc_bundle *b = NULL;
    assert_int_equal(cc_bundle_open(fx->work, &o, &b), CC_OK);   /* documented: verify is opt-in */
    cc_bundle_close(b);
    /* a byte of a party file (here: inside the seeds) */
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "party0.ccb");
    flip_byte(p, 170);
    expect_open_error(fx->work, 0, -1, false, CC_ERR_FORMAT, "header checksum");
    /* a byte of the data file header (its content hash) */
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "w2.ccw");
    flip_byte(p, 30);
    expect_open_error(fx->work, 1, -1, false, CC_ERR_MISMATCH, "different model");
}

static void wrong_party(void **state)
{
    fixture *fx = *state;
    char p[4200];
    path_in(p, sizeof p, fx->good, "party1.ccb");
    expect_open_error(p, 2, -1, false, CC_ERR_MISMATCH, "party 1's bundle, this is party 2");
    path_in(p, sizeof p, fx->good, "party0.ccb");
    expect_open_error(p, 1, -1, false, CC_ERR_MISMATCH, "party 0's bundle, this is party 1");
    expect_open_error(fx->good, 3, -1, false, CC_ERR_ARG, "not 0, 1 or 2");
}

static void version_mismatch(void **state)
{
    fixture *fx = *state;
    char p[4200];
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "party2.ccb");
    put_u32_at(p, 8, CC_BUNDLE_VERSION + 1);
    expect_open_error(fx->work, 2, -1, false, CC_ERR_MISMATCH, "format version 2");
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "w2.ccw");
    put_u32_at(p, 8, CC_BUNDLE_VERSION + 1);
    expect_open_error(fx->work, 2, -1, false, CC_ERR_MISMATCH, "data file format version 2");
}

/* Sets byte `off` of a party file to `v` and recomputes its header checksum
 * (BLAKE2b-256 of the file with the checksum field zeroed), as a writer of
 * another format version would produce it. */
static void patch_party_file(const char *path, long off, uint8_t v)
{
    enum { CHECKSUM_AT = 280 };
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    uint8_t *b = malloc((size_t)n);
    assert_non_null(b);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[off] = v;
    memset(b + CHECKSUM_AT, 0, 32);
    crypto_generichash(b + CHECKSUM_AT, 32, b, (size_t)n, NULL, 0);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fwrite(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(b);
}

/* Bytes the writer leaves zero must read zero: a file with anything there
 * comes from another format version and is refused by name, even with a
 * valid checksum. */
static void reserved_bytes(void **state)
{
    fixture *fx = *state;
    char p[4200];
    static const long party_file_offsets[] = {
        400,               /* unused header space */
        32 + 60,           /* unused config space */
        512 + 63,          /* first tensor's name field, after its NUL */
        512 + 76,          /* pad after ndim */
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(party_file_offsets); i++) {
        copy_bundle(fx->good, fx->work);
        path_in(p, sizeof p, fx->work, "party1.ccb");
        patch_party_file(p, party_file_offsets[i], 0x5a);
        expect_open_error(fx->work, 1, -1, false, CC_ERR_FORMAT, "reserved bytes are not zero");
    }
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "party1.ccb");
    patch_party_file(p, 400, 0);                                  /* control: zero is fine */
    cc_bundle *b = open_party(fx->work, 1, -1, false);
    cc_bundle_close(b);
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->work, "w2.ccw");
    put_u32_at(p, 100, 7);
    expect_open_error(fx->work, 2, -1, false, CC_ERR_FORMAT, "reserved header bytes are not zero");
}

static void f_mismatch(void **state)
{
    fixture *fx = *state;
    expect_open_error(fx->good, 1, 16, false, CC_ERR_MISMATCH, "f = 18 fractional bits, this run uses f = 16");
    expect_open_error(fx->good, 0, 20, false, CC_ERR_MISMATCH, "f = 18");
}

static void different_models(void **state)
{
    fixture *fx = *state;
    cc_bundle *a = open_party(fx->good, 1, -1, false);
    cc_bundle *a0 = open_party(fx->good, 0, -1, false);
    cc_bundle *b = open_party(fx->other, 2, -1, false);
    /* same bundle set: agree, including P0 which cannot recompute the hash */
    assert_int_equal(cc_bundle_check_peer(a, cc_bundle_content_hash(a0), "P0"), CC_OK);
    /* two conversions of even the same weights are different share sets */
    assert_int_equal(cc_bundle_check_peer(a, cc_bundle_content_hash(b), "P2"), CC_ERR_MISMATCH);
    assert_non_null(strstr(cc_error_message(), "P2 loaded a different model's bundle"));
    print_message("  ok: %s\n", cc_error_message());
    cc_bundle_close(a);
    cc_bundle_close(a0);
    cc_bundle_close(b);
    /* a data file from the other run next to this run's party file */
    char p[4200], q[4200];
    copy_bundle(fx->good, fx->work);
    path_in(p, sizeof p, fx->other, "w2.ccw");
    path_in(q, sizeof q, fx->work, "w2.ccw");
    copy_file(p, q);
    expect_open_error(fx->work, 1, -1, false, CC_ERR_MISMATCH, "belongs to a different model");
}

/* A weight that does not fit the fixed-point range names its tensor. */
static cc_status huge_read(void *ctx, size_t i, float *out)
{
    const cc_tensor_source *inner = ctx;
    CC_TRY(inner->read(inner->ctx, i, out));
    cc_tensor_f32 m;
    CC_TRY(inner->describe(inner->ctx, i, &m));
    if (strcmp(m.name, "layers.1.ffn.up.weight") == 0) out[m.numel / 2] = 3e15f;
    return CC_OK;
}

static cc_status inner_describe(void *ctx, size_t i, cc_tensor_f32 *m)
{
    const cc_tensor_source *inner = ctx;
    return inner->describe(inner->ctx, i, m);
}

static void out_of_range_weight(void **state)
{
    (void)state;
    cc_model_config c = tiny_config(false);
    cc_tensor_source inner, src;
    assert_int_equal(cc_tensor_source_synthetic(&c, synth_seed, &inner), CC_OK);
    src = inner;
    src.ctx = &inner;
    src.describe = inner_describe;
    src.read = huge_read;
    src.destroy = NULL;
    char dir[4096];
    make_tmpdir(dir, sizeof dir);
    cc_status s = cc_bundle_write(&src, dir, NULL);
    assert_int_equal(s, CC_ERR_RANGE);
    assert_non_null(strstr(cc_error_message(), "layers.1.ffn.up.weight"));
    print_message("  ok: %s\n", cc_error_message());
    /* nothing half-written is left behind */
    char p[4200];
    path_in(p, sizeof p, dir, "w2.ccw");
    assert_int_not_equal(access(p, F_OK), 0);
    path_in(p, sizeof p, dir, "w2.ccw.tmp");
    assert_int_not_equal(access(p, F_OK), 0);
    cc_tensor_source_free(&inner);
    remove_dir(dir);
}

static void acquire_misuse(void **state)
{
    fixture *fx = *state;
    cc_bundle *b = open_party(fx->good, 0, -1, false);
    cc_bundle_layer l;
    assert_int_equal(cc_bundle_acquire(b, 5, &l), CC_ERR_ARG);
    assert_int_equal(cc_bundle_acquire(b, -2, &l), CC_ERR_ARG);
    assert_int_equal(cc_bundle_acquire(b, 0, &l), CC_OK);
    assert_non_null(cc_bundle_layer_find(&l, "layers.0.attn.q.weight"));
    assert_null(cc_bundle_layer_find(&l, "layers.1.attn.q.weight"));
    assert_int_equal(cc_bundle_acquire(b, 1, &l), CC_ERR_ARG);
    assert_non_null(strstr(cc_error_message(), "still held"));
    assert_int_equal(cc_bundle_release(b, 1), CC_ERR_ARG);
    assert_int_equal(cc_bundle_release(b, 0), CC_OK);
    assert_int_equal(cc_bundle_release(b, 0), CC_ERR_ARG);
    cc_bundle_close(b);
}

int main(void)
{
    const struct CMUnitTest round_trip[] = {
        cmocka_unit_test(round_trip_synthetic),
        cmocka_unit_test(round_trip_stories260k),
        cmocka_unit_test(round_trip_gpt2_bert),
        cmocka_unit_test(out_of_range_weight),
    };
    const struct CMUnitTest bad_input[] = {
        cmocka_unit_test(default_loads),
        cmocka_unit_test(truncated_files),
        cmocka_unit_test(flipped_bytes),
        cmocka_unit_test(wrong_party),
        cmocka_unit_test(version_mismatch),
        cmocka_unit_test(reserved_bytes),
        cmocka_unit_test(f_mismatch),
        cmocka_unit_test(different_models),
        cmocka_unit_test(acquire_misuse),
    };
    int fails = cmocka_run_group_tests(round_trip, NULL, NULL);
    fails += cmocka_run_group_tests(bad_input, setup, teardown);
    return fails;
}
