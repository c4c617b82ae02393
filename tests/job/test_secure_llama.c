/* Secure LLaMA end to end (issue 7 acceptance, docs/ARCHITECTURE.md):
 *  - --all-logits on the golden sequence vs stories260K.golden.bin: top-1
 *    equal wherever the reference margin >= 0.05; mean |d| <= 0.02 and
 *    max |d| <= 0.15 with the default (precise) set; puma figures reported;
 *  - greedy generation of 32 tokens from BOS equals plaintext greedy
 *    generation (a near-tie < 0.05 in the plaintext logits is reported);
 *  - token mode reveals one ring element per generated token;
 *  - parties holding bundles of different models refuse to run;
 *  - a client sending the parties different jobs is refused by all three;
 *  - the parties' reveal policy (allow_reveal) refuses logits unless allowed;
 *  - a bundle rewritten or truncated between two jobs is refused at the
 *    second one, with the cause named, on every party;
 *  - a client message longer than the job's limit is refused by name;
 *  - weights opened once (caracal-party) serve jobs and notice a bundle
 *    replaced, rewritten or truncated since they were opened. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <ftw.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core.h"
#include "bundle.h"
#include "import.h"
#include "job.h"
#include "job_impl.h"   /* WHITEBOX job: a client that sends each party its own job */
#include "model.h"
#include "ref.h"
#include "secure.h"
#include "tokenizer.h"
#include "net.h"
#include "nn.h"
#include "thread.h"
#include "test_data.h"

static char models[512];
static char bundle_dir[256], other_dir[256];
/* Each party's error message, written by the forked party processes into a
 * shared mapping so a test can check that every party names the cause. */
typedef char party_errors[3][512];
static party_errors *perr;
static int golden_L, golden_V;
static int golden_tokens[64];
static float *golden_logits;

static const char *models_dir(void)
{
    return cc_test_models_dir();
}

static int load_golden(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/stories260K.golden.bin", models);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int ok = fread(&golden_L, 4, 1, f) == 1 && fread(&golden_V, 4, 1, f) == 1 &&
             golden_L > 0 && golden_L <= 64 && golden_V == 512 &&
             fread(golden_tokens, 4, (size_t)golden_L, f) == (size_t)golden_L;
    if (ok) {
        golden_logits = malloc((size_t)golden_L * golden_V * sizeof(float));
        ok = fread(golden_logits, sizeof(float), (size_t)golden_L * golden_V, f) ==
             (size_t)golden_L * golden_V;
    }
    fclose(f);
    return ok ? 0 : -1;
}

static cc_status share_model(const char *dir)
{
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/stories260K.bin", models);
    cc_model_weights w = {0};
    CC_TRY(cc_checkpoint_load(ckpt, &w));
    cc_tensor_source src;
    cc_status s = cc_tensor_source_weights(&w, &src);
    if (s == CC_OK) {
        cc_bundle_write_options o = { .frac_bits = 18 };
        s = cc_bundle_write(&src, dir, &o);
        cc_tensor_source_free(&src);
    }
    cc_weights_free(&w);
    return s;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(models, sizeof models, "%s", models_dir());
    if (load_golden() != 0) return 0;   /* tests skip */
    snprintf(bundle_dir, sizeof bundle_dir, "/tmp/cc-secure-test-XXXXXX");
    snprintf(other_dir, sizeof other_dir, "/tmp/cc-secure-other-XXXXXX");
    if (!mkdtemp(bundle_dir) || !mkdtemp(other_dir)) return -1;
    perr = mmap(NULL, sizeof *perr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (perr == MAP_FAILED) return -1;
    if (share_model(bundle_dir) != CC_OK || share_model(other_dir) != CC_OK) {
        fprintf(stderr, "sharing stories260K failed: %s\n", cc_error_message());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (bundle_dir[0] && bundle_dir[0] != 'X') nftw(bundle_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (other_dir[0]) nftw(other_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(golden_logits);
    return 0;
}

#define SKIP_WITHOUT_MODELS() do { if (!golden_logits) { \
    CC_TEST_MISSING_DATA(models); } } while (0)

/* ---- running a job on three local parties ------------------------------------ */

typedef struct job {
    const char *shares[3];       /* per party */
    cc_secure_request req;
    cc_secure_result res;
    cc_status client_status;
    char client_error[512];
    cc_reveal_mode allow;                     /* the parties' reveal policy */
    const cc_bundle_identity *expect[3];      /* per party, NULL: not checked */
    const cc_wire_job *raw[3];                /* skewed_client: each party's job */
    bool kept_open;   /* the party opens its weights first and passes them as .weights */
    int party_exit[3];
} job;

static int party_main(cc_net *net, void *arg)
{
    job *j = arg;
    int me = cc_net_party(net);
    cc_thread_init(NULL, 1);
    cc_secure_party_options o = { .shares = j->shares[me], .frac_bits = -1,
                                  .allow_reveal = j->allow, .expect_bundle = j->expect[me] };
    cc_sweights *w = NULL;
    cc_status s = CC_OK;
    if (j->kept_open) {   /* as caracal-party does: opened before the job, borrowed by it */
        s = cc_sweights_open_bundle(j->shares[me], me, -1, false, NULL, &w);
        o = (cc_secure_party_options){ .weights = w, .allow_reveal = j->allow };
    }
    if (s == CC_OK) s = cc_secure_party_serve(net, &o);
    cc_sweights_close(w);
    snprintf((*perr)[me], sizeof (*perr)[me], "%s", s == CC_OK ? "" : cc_error_message());
    return s == CC_OK ? 0 : 1;
}

static int client_main(cc_client *c, void *arg)
{
    job *j = arg;
    j->client_status = cc_secure_client_run(c, &j->req, &j->res);
    snprintf(j->client_error, sizeof j->client_error, "%s", cc_error_message());
    return j->client_status == CC_OK ? 0 : 1;
}

static cc_status run_job(job *j)
{
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 20000;
    cc_launch_result lr;
    memset(*perr, 0, sizeof *perr);
    cc_status s = cc_net_launch_local(party_main, j, client_main, j, &o, &lr);
    memcpy(j->party_exit, lr.exit_code, sizeof j->party_exit);
    return s;
}

/* The job failed on every party and the client, each naming `cause`. */
static void assert_refused_everywhere(const job *j, cc_status s, const char *cause)
{
    assert_int_not_equal(s, CC_OK);
    assert_int_not_equal(j->client_status, CC_OK);
    /* The client reads the ABORT frame with the reason before any party's
     * hang-up (the teardown race of issue 13 is fixed in src/net). */
    if (!strstr(j->client_error, cause))
        fail_msg("client: '%s' lacks '%s'", j->client_error, cause);
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(j->party_exit[i], 0);
        if (!strstr((*perr)[i], cause)) fail_msg("P%d: '%s' lacks '%s'", i, (*perr)[i], cause);
    }
}

/* ---- accuracy against the golden logits ---------------------------------------- */

typedef struct accuracy { int checked, mismatches; double mean, max; } accuracy;

static accuracy compare(const float *got)
{
    accuracy a = {0};
    size_t n = (size_t)golden_L * golden_V;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)golden_logits[i]);
        a.mean += d;
        if (d > a.max) a.max = d;
    }
    a.mean /= (double)n;
    for (int r = 0; r < golden_L; r++) {
        const float *ref = golden_logits + (size_t)r * golden_V, *g = got + (size_t)r * golden_V;
        int b1 = 0, b2 = -1, bg = 0;
        for (int v = 1; v < golden_V; v++) {
            if (ref[v] > ref[b1]) { b2 = b1; b1 = v; }
            else if (b2 < 0 || ref[v] > ref[b2]) b2 = v;
            if (g[v] > g[bg]) bg = v;
        }
        if (ref[b1] - ref[b2] >= 0.05f) {
            a.checked++;
            if (bg != b1) a.mismatches++;
        }
    }
    return a;
}

static accuracy all_logits_run(cc_approx approx)
{
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir }, .allow = CC_REVEAL_LOGITS };
    j.req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = golden_L, .n_new = 0,
                                 .reveal = CC_REVEAL_TOKEN, .all_logits = true, .approx = approx };
    cc_status s = run_job(&j);
    if (s != CC_OK) fail_msg("secure run failed: %s / client: %s", cc_error_message(), j.client_error);
    assert_non_null(j.res.all_logits);
    accuracy a = compare(j.res.all_logits);
    printf("secure stories260K, %s: top-1 mismatches %d/%d (margin >= 0.05), mean |d| %.5f, "
           "max |d| %.5f\n", cc_approx_name(approx), a.mismatches, a.checked, a.mean, a.max);
    cc_secure_result_free(&j.res);
    return a;
}

static void all_logits_precise(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    accuracy a = all_logits_run(CC_APPROX_PRECISE);
    assert_true(a.checked >= golden_L / 2);
    assert_int_equal(a.mismatches, 0);
    assert_true(a.mean <= 0.02);
    assert_true(a.max <= 0.15);
}

/* LLaMA-7B's embedding and LM head go through in column blocks; force tiny
 * blocks here so that path is exercised on the real model. */
static void all_logits_in_column_blocks(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    setenv("CARACAL_LINEAR_BLOCK_ELEMS", "4096", 1);
    accuracy a = all_logits_run(CC_APPROX_PRECISE);
    unsetenv("CARACAL_LINEAR_BLOCK_ELEMS");
    assert_int_equal(a.mismatches, 0);
    assert_true(a.mean <= 0.02);
    assert_true(a.max <= 0.15);
}

/* The big-bundle read path (direct reads into two buffers, the next layer
 * read ahead) on the real model: forced here, since stories260K is small
 * enough for the mapped one; and a bad CARACAL_BUNDLE_IO is named. */
static void all_logits_direct_reads(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    setenv("CARACAL_BUNDLE_IO", "direct", 1);
    accuracy a = all_logits_run(CC_APPROX_PRECISE);
    assert_int_equal(a.mismatches, 0);
    assert_true(a.mean <= 0.02);
    assert_true(a.max <= 0.15);
    setenv("CARACAL_BUNDLE_IO", "sometimes", 1);
    cc_sweights *w = NULL;
    assert_int_equal(cc_sweights_open_bundle(bundle_dir, 1, -1, false, NULL, &w), CC_ERR_ARG);
    assert_null(w);
    assert_non_null(strstr(cc_error_message(), "CARACAL_BUNDLE_IO=sometimes"));
    unsetenv("CARACAL_BUNDLE_IO");
}

static void all_logits_puma_reported(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    accuracy a = all_logits_run(CC_APPROX_PUMA);
    /* PUMA's own constants are coarser; the figures are reported, and the
     * model must still be recognisably the same network. */
    assert_true(a.checked >= golden_L / 2);
    assert_true(a.mismatches <= a.checked / 4);
}

/* ---- greedy generation vs plaintext -------------------------------------------- */

static void greedy_generation_matches_plaintext(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    enum { N_NEW = 32 };
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/stories260K.bin", models);
    cc_model_weights w = {0};
    assert_int_equal(cc_checkpoint_load(ckpt, &w), CC_OK);
    cc_ref_model *ref;
    assert_int_equal(cc_ref_create(&w, 0, &ref), CC_OK);
    int bos = CC_TOKEN_BOS, seq[N_NEW + 1] = { bos };
    /* plaintext greedy with the margin of every step */
    float *logits = malloc((size_t)w.config.vocab_size * sizeof(float));
    double min_margin = 1e9;
    for (int t = 0; t < N_NEW; t++) {
        assert_int_equal(cc_ref_forward(ref, &seq[t], 1, t, logits), CC_OK);
        int b1 = 0, b2 = 1;
        if (logits[b2] > logits[b1]) { b1 = 1; b2 = 0; }
        for (int v = 2; v < w.config.vocab_size; v++) {
            if (logits[v] > logits[b1]) { b2 = b1; b1 = v; }
            else if (logits[v] > logits[b2]) b2 = v;
        }
        if (logits[b1] - logits[b2] < min_margin) min_margin = logits[b1] - logits[b2];
        seq[t + 1] = b1;
    }
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir } };
    j.req = (cc_secure_request){ .prompt = &bos, .n_prompt = 1, .n_new = N_NEW,
                                 .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    cc_status s = run_job(&j);
    if (s != CC_OK) fail_msg("secure run failed: %s / client: %s", cc_error_message(), j.client_error);
    assert_int_equal(j.res.n_tokens, N_NEW);
    int first_diff = -1;
    for (int t = 0; t < N_NEW && first_diff < 0; t++)
        if (j.res.tokens[t] != seq[t + 1]) first_diff = t;
    printf("greedy 32 tokens: plaintext min top-1/top-2 margin %.4f, first difference at %d\n",
           min_margin, first_diff);
    if (first_diff >= 0 && min_margin < 0.05)
        printf("NOTE: a near-tie (< 0.05) was met; sequences may diverge there\n");
    else
        assert_int_equal(first_diff, -1);
    /* token mode: exactly one revealed ring element per generated token */
    assert_int_equal(j.res.ring_elems_received, N_NEW);
    cc_secure_result_free(&j.res);
    cc_ref_free(ref);
    cc_weights_free(&w);
    free(logits);
}

/* ---- parties with bundles of different models refuse --------------------------- */

static void mismatched_bundles_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    int bos = CC_TOKEN_BOS;
    job j = { .shares = { bundle_dir, other_dir, other_dir } };
    j.req = (cc_secure_request){ .prompt = &bos, .n_prompt = 1, .n_new = 1 };
    cc_status s = run_job(&j);
    assert_int_not_equal(s, CC_OK);
    assert_int_not_equal(j.client_status, CC_OK);
}

/* Logits mode: the client gets each step's logits (and picks the token
 * itself); the first step's row is the golden row of the last prompt token. */
static void logits_mode_reveals_rows(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    enum { N = 8, NEW = 3 };
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir }, .allow = CC_REVEAL_LOGITS };
    j.req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = N, .n_new = NEW,
                                 .reveal = CC_REVEAL_LOGITS, .approx = CC_APPROX_PRECISE };
    cc_status s = run_job(&j);
    if (s != CC_OK) fail_msg("secure run failed: %s / client: %s", cc_error_message(), j.client_error);
    assert_int_equal(j.res.n_tokens, NEW);
    assert_non_null(j.res.last_logits);
    assert_int_equal(j.res.ring_elems_received, (uint64_t)NEW * golden_V);
    double maxd = 0;
    const float *want = golden_logits + (size_t)(N - 1) * golden_V;
    for (int v = 0; v < golden_V; v++) {
        double d = fabs((double)j.res.last_logits[v] - want[v]);
        if (d > maxd) maxd = d;
    }
    printf("logits mode: first step max |d| %.4f vs golden row %d\n", maxd, N - 1);
    assert_true(maxd <= 0.15);
    for (int t = 0; t < NEW; t++) {
        const float *row = j.res.last_logits + (size_t)t * golden_V;
        int best = 0;
        for (int v = 1; v < golden_V; v++)
            if (row[v] > row[best]) best = v;
        assert_int_equal(j.res.tokens[t], best);
    }
    cc_secure_result_free(&j.res);
}

/* A prompt the model cannot take is refused by the client, and the parties
 * learn it at once (client abort) instead of waiting for input. */
static void bad_prompt_ends_every_party_quickly(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    int ids[2] = { CC_TOKEN_BOS, 9999 };
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir } };
    j.req = (cc_secure_request){ .prompt = ids, .n_prompt = 2, .n_new = 1 };
    uint64_t t0 = cc_now_ns();
    cc_status s = run_job(&j);
    double secs = cc_ns_to_s(cc_now_ns() - t0);
    assert_int_not_equal(s, CC_OK);
    assert_int_equal(j.client_status, CC_ERR_RANGE);
    assert_non_null(strstr(j.client_error, "outside the model's vocabulary"));
    assert_true(secs < 5.0);
}

/* ---- the parties agree on the job ---------------------------------------------- */

/* A client that sends each party its own job (j->raw) and reads the hellos. */
static int skewed_client_main(cc_client *c, void *arg)
{
    job *j = arg;
    cc_status s = CC_OK;
    for (int i = 0; s == CC_OK && i < 3; i++) s = cc_client_send(c, i, j->raw[i], sizeof *j->raw[i]);
    if (s == CC_OK) s = cc_client_flush(c);
    cc_wire_hello h;
    for (int i = 0; s == CC_OK && i < 3; i++) s = cc_client_recv(c, i, &h, sizeof h);
    if (s == CC_OK) s = cc_error_set(CC_ERR_INTERNAL, "the parties accepted skewed jobs");
    j->client_status = s;
    snprintf(j->client_error, sizeof j->client_error, "%s", cc_error_message());
    return 1;
}

static cc_status run_skewed(job *j)
{
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 20000;
    cc_launch_result lr;
    memset(*perr, 0, sizeof *perr);
    cc_status s = cc_net_launch_local(party_main, j, skewed_client_main, j, &o, &lr);
    memcpy(j->party_exit, lr.exit_code, sizeof j->party_exit);
    return s;
}

static void different_jobs_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    cc_wire_job base = { .magic = CC_JOB_MAGIC, .version = CC_JOB_VERSION, .n_prompt = 2,
                         .n_new = 1, .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    /* one field at a time differs on one party: approximation set (P1),
     * prompt length (P2), reveal mode (P0; the policy allows it) */
    cc_wire_job approx = base, len = base, reveal = base;
    approx.approx = CC_APPROX_PUMA;
    len.n_prompt = 3;
    reveal.reveal = CC_REVEAL_LOGITS;
    const cc_wire_job *cases[3][3] = { { &base, &approx, &base }, { &base, &base, &len },
                                       { &reveal, &base, &base } };
    for (int c = 0; c < 3; c++) {
        job j = { .shares = { bundle_dir, bundle_dir, bundle_dir }, .allow = CC_REVEAL_LOGITS,
                  .raw = { cases[c][0], cases[c][1], cases[c][2] } };
        uint64_t t0 = cc_now_ns();
        cc_status s = run_skewed(&j);
        assert_refused_everywhere(&j, s, "different job");
        assert_true(cc_ns_to_s(cc_now_ns() - t0) < 10.0);
    }
}

/* A client of the previous protocol (parties compared only weights then) is
 * told the versions differ, by every party. */
static void old_client_version_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    cc_wire_job v1 = { .magic = CC_JOB_MAGIC, .version = 1, .n_prompt = 2, .n_new = 1 };
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir }, .raw = { &v1, &v1, &v1 } };
    cc_status s = run_skewed(&j);
    assert_refused_everywhere(&j, s, "client speaks job protocol version 1");
}

/* ---- link limits from the job ---------------------------------------------------- */

/* A client that sends P1 a prefill message far longer than the job it
 * announced (1 prompt token: 16 + 8 x vocab bytes) is refused by P1 before
 * the bytes are buffered, and every party names the limit. */
static int oversized_client_main(cc_client *c, void *arg)
{
    job *j = arg;
    cc_wire_job w = { .magic = CC_JOB_MAGIC, .version = CC_JOB_VERSION, .n_prompt = 1,
                      .n_new = 1, .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    cc_status s = CC_OK;
    for (int i = 0; s == CC_OK && i < 3; i++) s = cc_client_send(c, i, &w, sizeof w);
    if (s == CC_OK) s = cc_client_flush(c);
    cc_wire_hello h;
    for (int i = 0; s == CC_OK && i < 3; i++) s = cc_client_recv(c, i, &h, sizeof h);
    size_t big = (size_t)1 << 24;
    uint8_t *junk = calloc(1, big), seeds[32] = {0};
    if (s == CC_OK) s = cc_client_send(c, 0, seeds, sizeof seeds);
    if (s == CC_OK) s = cc_client_send(c, 1, junk, big);
    if (s == CC_OK) s = cc_client_flush(c);
    /* the parties' output never comes: the run ends with P1's reason */
    uint64_t token;
    if (s == CC_OK) s = cc_client_recv(c, 1, &token, sizeof token);
    if (s == CC_OK) s = cc_error_set(CC_ERR_INTERNAL, "a party accepted a 16 MiB input");
    free(junk);
    j->client_status = s;
    snprintf(j->client_error, sizeof j->client_error, "%s", cc_error_message());
    return 1;
}

static void oversized_client_message_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    job j = { .shares = { bundle_dir, bundle_dir, bundle_dir } };
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 20000;
    cc_launch_result lr;
    memset(*perr, 0, sizeof *perr);
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_launch_local(party_main, &j, oversized_client_main, &j, &o, &lr);
    memcpy(j.party_exit, lr.exit_code, sizeof j.party_exit);
    printf("P1: %s\n", (*perr)[1]);
    assert_refused_everywhere(&j, s, "max_message_bytes");
    assert_non_null(strstr((*perr)[1], "client sent a message longer than max_message_bytes"));
    assert_true(cc_ns_to_s(cc_now_ns() - t0) < 10.0);
}

/* ---- weights opened once, used job after job --------------------------------------- */

/* A job on weights the party opened before it (caracal-party's way) gives
 * the same tokens as one that opens its own. */
static void kept_open_weights_serve(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    job a = { .shares = { bundle_dir, bundle_dir, bundle_dir } }, b = a;
    b.kept_open = true;
    a.req = b.req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = 4, .n_new = 3,
                                         .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    if (run_job(&a) != CC_OK) fail_msg("job: %s", a.client_error);
    if (run_job(&b) != CC_OK) fail_msg("job on kept-open weights: %s", b.client_error);
    assert_int_equal(b.res.n_tokens, 3);
    assert_memory_equal(a.res.tokens, b.res.tokens, 3 * sizeof(int));
    cc_secure_result_free(&a.res);
    cc_secure_result_free(&b.res);
}

/* Weights kept open: each job's check finds a bundle file that was replaced
 * (renamed over), rewritten in place or truncated since they were opened. */
static void kept_open_weights_detect_changes(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    char dir[64] = "/tmp/cc-secure-kept-XXXXXX", w2[128], p1[128], tmp[128];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(share_model(dir), CC_OK);
    snprintf(w2, sizeof w2, "%s/w2.ccw", dir);
    snprintf(p1, sizeof p1, "%s/party1.ccb", dir);
    snprintf(tmp, sizeof tmp, "%s/party1.ccb.new", dir);
    cc_sweights *w;
    assert_int_equal(cc_sweights_open_bundle(dir, 1, -1, false, NULL, &w), CC_OK);
    assert_int_equal(cc_sweights_job_begin(w), CC_OK);
    /* a layer left held by a job that failed midway is released */
    assert_int_equal(cc_sweights_begin_layer(w, 0), CC_OK);
    assert_int_equal(cc_sweights_job_begin(w), CC_OK);
    assert_int_equal(cc_sweights_begin_layer(w, 0), CC_OK);
    assert_int_equal(cc_sweights_end_layer(w, 0), CC_OK);

    /* party file replaced by a copy (same bytes, another inode) */
    char cmd[1024];
    int len = snprintf(cmd, sizeof cmd, "cp %s %s && mv %s %s", p1, tmp, tmp, p1);
    assert_true(len > 0 && (size_t)len < sizeof cmd);
    assert_int_equal(system(cmd), 0);
    assert_int_not_equal(cc_sweights_job_begin(w), CC_OK);
    assert_non_null(strstr(cc_error_message(), "replaced by another file"));
    cc_sweights_close(w);

    assert_int_equal(cc_sweights_open_bundle(dir, 1, -1, false, NULL, &w), CC_OK);
    int fd = open(w2, O_RDWR);
    assert_true(fd >= 0);
    struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = time(NULL) + 60 } };
    assert_int_equal(futimens(fd, later), 0);
    assert_int_not_equal(cc_sweights_job_begin(w), CC_OK);
    assert_non_null(strstr(cc_error_message(), "modified since this party validated it"));
    cc_sweights_close(w);

    assert_int_equal(cc_sweights_open_bundle(dir, 1, -1, false, NULL, &w), CC_OK);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(ftruncate(fd, st.st_size / 2), 0);
    close(fd);
    assert_int_not_equal(cc_sweights_job_begin(w), CC_OK);
    assert_non_null(strstr(cc_error_message(), "truncated since this party validated it"));
    cc_sweights_close(w);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- reveal policy -------------------------------------------------------------- */

static void logits_refused_by_token_policy(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    for (int c = 0; c < 2; c++) {
        job j = { .shares = { bundle_dir, bundle_dir, bundle_dir }, .allow = CC_REVEAL_TOKEN };
        j.req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = 4, .n_new = 1,
                                     .reveal = c == 0 ? CC_REVEAL_LOGITS : CC_REVEAL_TOKEN,
                                     .all_logits = c == 1, .approx = CC_APPROX_PRECISE };
        cc_status s = run_job(&j);
        assert_refused_everywhere(&j, s, "--allow-reveal logits");
        assert_null(j.res.all_logits);
        assert_null(j.res.last_logits);
    }
    /* the default policy still serves token jobs */
    job ok = { .shares = { bundle_dir, bundle_dir, bundle_dir } };
    ok.req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = 4, .n_new = 1,
                                  .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    if (run_job(&ok) != CC_OK) fail_msg("token job refused: %s", ok.client_error);
    assert_int_equal(ok.res.n_tokens, 1);
}

/* ---- the bundle changes under a serving party ----------------------------------- */

static void identify(const char *dir, cc_bundle_identity id[3])
{
    for (int p = 0; p < 3; p++) {
        cc_bundle *b;
        cc_bundle_open_options bo = { .party = p, .frac_bits = -1, .no_prefetch = true };
        assert_int_equal(cc_bundle_open(dir, &bo, &b), CC_OK);
        cc_bundle_identity_of(b, &id[p]);
        cc_bundle_close(b);
    }
}

static cc_status token_job(const char *dir, const cc_bundle_identity id[3], job *j)
{
    *j = (job){ .shares = { dir, dir, dir }, .expect = { &id[0], &id[1], &id[2] } };
    j->req = (cc_secure_request){ .prompt = golden_tokens, .n_prompt = 4, .n_new = 1,
                                  .reveal = CC_REVEAL_TOKEN, .approx = CC_APPROX_PRECISE };
    return run_job(j);
}

static void bundle_changed_between_jobs_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_MODELS();
    char dir[256] = "/tmp/cc-secure-changed-XXXXXX", w2[300];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(share_model(dir), CC_OK);
    snprintf(w2, sizeof w2, "%s/w2.ccw", dir);
    cc_bundle_identity id[3];
    identify(dir, id);   /* what a serving party validated at start-up */
    job j;
    if (token_job(dir, id, &j) != CC_OK) fail_msg("first job: %s", j.client_error);

    /* one weight byte rewritten in place: same inode and size, a new mtime;
     * without the identity check the job would silently run on it */
    int fd = open(w2, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    off_t at = (off_t)id[1].data_file.size - 1;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 1;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = time(NULL) + 60 } };
    assert_int_equal(futimens(fd, later), 0);
    cc_status s = token_job(dir, id, &j);
    assert_refused_everywhere(&j, s, "modified since this party validated it");

    /* truncated to half: refused by name before anything is mapped (a
     * mapping of the lost half would fault with SIGBUS) */
    assert_int_equal(ftruncate(fd, (off_t)id[1].data_file.size / 2), 0);
    close(fd);
    s = token_job(dir, id, &j);
    assert_refused_everywhere(&j, s, "truncated since this party validated it");
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_logits_precise),
        cmocka_unit_test(all_logits_in_column_blocks),
        cmocka_unit_test(all_logits_direct_reads),
        cmocka_unit_test(all_logits_puma_reported),
        cmocka_unit_test(greedy_generation_matches_plaintext),
        cmocka_unit_test(mismatched_bundles_refused),
        cmocka_unit_test(logits_mode_reveals_rows),
        cmocka_unit_test(bad_prompt_ends_every_party_quickly),
        cmocka_unit_test(different_jobs_refused),
        cmocka_unit_test(old_client_version_refused),
        cmocka_unit_test(logits_refused_by_token_policy),
        cmocka_unit_test(bundle_changed_between_jobs_refused),
        cmocka_unit_test(oversized_client_message_refused),
        cmocka_unit_test(kept_open_weights_serve),
        cmocka_unit_test(kept_open_weights_detect_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
