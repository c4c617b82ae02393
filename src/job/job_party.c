/* The party side of one secure inference job (wire protocol: job_impl.h):
 * receive the job, open the weights, check the job against the reveal
 * policy, agree with both peers on the weights and the job, run the engine of
 * the model's architecture over the prompt and each generated token, reveal
 * each step's output to the client, send the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "job_impl.h"
#include "nn.h"
#include "secure.h"

/* ---- party side ------------------------------------------------------------- */

static void party_progress(void *ctx, int layer, int n_layers, double seconds)
{
    const char *phase = ctx;
    if (layer < 0)
        cc_info("%s: embedding %.2f s", phase, seconds);
    else if (layer == n_layers)
        cc_info("%s: final norm + LM head %.2f s", phase, seconds);
    else
        cc_info("%s: layer %d/%d %.2f s", phase, layer + 1, n_layers, seconds);
}

/* Every party must hold shares of the same model and run the same job: a
 * client could otherwise send each party a different reveal mode or
 * approximation set and mix their outputs.  Each party sends both
 * neighbours its weights hash and its job hash and compares theirs, before
 * any secret is touched.  Every party checks both neighbours, so all three
 * (and, through the aborts, the client) see the failure. */
static cc_status check_peers(cc_net *net, const cc_wire_job *job, unsigned f,
                             const uint8_t weights[CC_BUNDLE_HASH_BYTES])
{
    cc_wire_agree mine = { .magic = CC_AGREE_MAGIC, .version = CC_JOB_VERSION }, from[2];
    memcpy(mine.weights, weights, CC_BUNDLE_HASH_BYTES);
    cc_wire_job_hash(job, f, weights, mine.job);
    cc_net_op_begin(net, "setup");
    cc_status s = cc_net_send(net, CC_NEXT, &mine, sizeof mine);
    if (s == CC_OK) s = cc_net_send(net, CC_PREV, &mine, sizeof mine);
    if (s == CC_OK) s = cc_net_recv(net, CC_PREV, &from[0], sizeof from[0]);
    if (s == CC_OK) s = cc_net_recv(net, CC_NEXT, &from[1], sizeof from[1]);
    if (s == CC_OK) s = cc_net_flush(net);
    cc_net_op_end(net);
    CC_TRY(s);
    int me = cc_net_party(net);
    for (int i = 0; i < 2; i++) {
        int peer = (me + (i == 0 ? 2 : 1)) % 3;
        if (from[i].magic != CC_AGREE_MAGIC || from[i].version != CC_JOB_VERSION)
            return cc_error_set(CC_ERR_MISMATCH, "P%d speaks another job protocol version than "
                                "P%d (%u): update the parties together", peer, me, CC_JOB_VERSION);
        if (memcmp(weights, from[i].weights, CC_BUNDLE_HASH_BYTES) != 0)
            return cc_error_set(CC_ERR_MISMATCH, "P%d holds shares of a different model than P%d "
                                "(weights hash differs)", peer, me);
        if (memcmp(mine.job, from[i].job, CC_BUNDLE_HASH_BYTES) != 0) {
            char desc[160];
            cc_wire_job_describe(job, desc, sizeof desc);
            return cc_error_set(CC_ERR_MISMATCH, "the client sent P%d a different job than P%d "
                                "(P%d's: %s, f %u): refused on every party", peer, me, me, desc, f);
        }
    }
    return CC_OK;
}

/* The party's reveal policy (--allow-reveal): logits, of the last position
 * or of every prompt position, tell the client far more about the weights
 * than one token id, so an operator has to allow them explicitly. */
static cc_status check_policy(const cc_wire_job *job, cc_reveal_mode allow, int me)
{
    if (allow >= CC_REVEAL_LOGITS || (job->reveal == CC_REVEAL_TOKEN && !job->all_logits))
        return CC_OK;
    return cc_error_set(CC_ERR_ARG, "P%d refuses the job: it asks to reveal %s, and this party "
                        "allows only the token id (start it with --allow-reveal logits to permit "
                        "that)", me, job->all_logits ? "the logits of every prompt position"
                                                     : "logits");
}

static cc_status recv_job(cc_net *net, cc_wire_job *job)
{
    cc_net_op_begin(net, "setup");
    cc_status s = cc_net_recv(net, CC_CLIENT, job, sizeof *job);
    cc_net_op_end(net);
    CC_TRY(s);
    return cc_wire_job_check(job);
}

/* Reveal one step's output to the client: the token id (secure argmax) or
 * the logits rows. */
static cc_status reveal_output(cc_proto *p, const cc_nn_cfg *nn, cc_reveal_mode mode,
                               const cc_ashare *logits, size_t vocab, cc_ashare *index)
{
    cc_status s;
    if (mode == CC_REVEAL_TOKEN) {
        cc_proto_scope_begin(p, "argmax");
        cc_ashare last = cc_ashare_slice(logits, logits->n - vocab, vocab);
        s = cc_nn_argmax(p, nn, 1, vocab, &last, index);
        cc_proto_scope_end(p);
        CC_TRY(s);
        cc_proto_scope_begin(p, "output");
        s = cc_proto_reveal_client(p, index);
    } else {
        cc_proto_scope_begin(p, "output");
        s = cc_proto_reveal_client(p, logits);
    }
    cc_proto_scope_end(p);
    return s;
}

static void fill_report(cc_net *net, cc_party_report *r)
{
    cc_net_stat st[CC_REPORT_TAGS];
    size_t n = cc_net_stats(net, st, CC_REPORT_TAGS);
    if (n > CC_REPORT_TAGS) n = CC_REPORT_TAGS;
    r->n_tags = (uint32_t)n;
    r->insecure = cc_net_insecure(net);
    for (size_t i = 0; i < n; i++) {
        snprintf(r->tags[i].tag, sizeof r->tags[i].tag, "%.47s", st[i].tag);
        r->tags[i].calls = st[i].calls;
        r->tags[i].rounds = st[i].rounds;
        r->tags[i].bytes_sent = st[i].bytes_sent;
        r->tags[i].bytes_recv = st[i].bytes_recv;
        r->tags[i].ns = st[i].ns;
        r->bytes_sent += st[i].bytes_sent;
        r->bytes_recv += st[i].bytes_recv;
        r->rounds += st[i].rounds;
    }
    r->peak_rss = cc_peak_rss_bytes();
}

/* ---- link limits from the job -------------------------------------------------
 * Once the job and the geometry are known, no honest peer or client sends
 * more than a few times the job's largest tensor in one message, so the
 * links' 4 GiB defaults (which let anyone who completed the handshake make a
 * party buffer gigabytes) shrink to what this job can produce:
 *   client:  the prefill's one-hot rows, 16 + 8 x n_prompt x vocab bytes to
 *            P1 and P2 (cc_proto_input_client), then one row per token;
 *   parties: the widest step of the forward pass.  Measured on stories260K
 *            (issue 13): gate/up activations send 4 words per n x hidden
 *            element (fused pair, two words each), softmax about 3 words per
 *            n_heads x n x ctx score, norms and the LM head less.  The bound
 *            takes 8 words per element of the largest of those tensors (and
 *            of the revealed output rows, n x vocab), twice the measured
 *            worst case at least, plus 64 KiB for headers and small steps.
 * A peer may run ahead of us by one round: it sends before we post the
 * receive, and such unrequested bytes are buffered.  Four largest messages
 * per link bound that without letting a peer queue gigabytes. */
#define LIMIT_WORDS_PER_ELEM 8u
#define LIMIT_SLACK_BYTES (64u << 10)

static uint64_t umax(uint64_t a, uint64_t b) { return a > b ? a : b; }

static void job_limits(const cc_model_config *c, const cc_wire_job *job, uint64_t *max_message,
                       uint64_t *max_unrequested)
{
    uint64_t n = job->n_prompt, ctx = (uint64_t)job->n_prompt + umax(job->n_new, 1);
    uint64_t V = (uint64_t)c->vocab_size;
    uint64_t client = 16 + 8 * n * V;
    uint64_t elems = umax(n * (uint64_t)umax((uint64_t)c->hidden_dim, 3u * (uint64_t)c->dim),
                          (uint64_t)c->n_heads * n * ctx);
    elems = umax(elems, n * V);
    uint64_t party = LIMIT_WORDS_PER_ELEM * 8 * elems + LIMIT_SLACK_BYTES;
    *max_message = umax(client, party);
    *max_unrequested = 4 * *max_message;
}

static cc_status serve(cc_net *net, cc_sweights *w, const cc_wire_job *jobp,
                       const cc_secure_party_options *o, uint64_t t_start)
{
    const cc_model_config *c = cc_sweights_config(w);
    size_t V = (size_t)c->vocab_size;
    const cc_wire_job job = *jobp;
    uint64_t max_message, max_unrequested;
    job_limits(c, &job, &max_message, &max_unrequested);
    cc_net_set_limits(net, max_message, max_unrequested);
    CC_TRY(check_policy(&job, o->allow_reveal, cc_net_party(net)));
    CC_TRY(check_peers(net, &job, cc_sweights_frac_bits(w), cc_sweights_hash(w)));
    cc_wire_hello hello = { .magic = CC_HELLO_MAGIC, .vocab = (uint32_t)c->vocab_size,
                         .dim = (uint32_t)c->dim, .n_layers = (uint32_t)c->n_layers,
                         .f = cc_sweights_frac_bits(w) };
    memcpy(hello.hash, cc_sweights_hash(w), sizeof hello.hash);
    cc_net_op_begin(net, "setup");
    cc_status s = cc_net_send(net, CC_CLIENT, &hello, sizeof hello);
    if (s == CC_OK) s = cc_net_flush(net);
    cc_net_op_end(net);
    CC_TRY(s);

    cc_proto p;
    CC_TRY(cc_proto_init(&p, net, cc_sweights_frac_bits(w)));
    cc_nn_cfg nn = { .f = p.f, .approx = (cc_approx)job.approx };
    cc_engine *m = NULL;
    cc_ashare onehot = {0}, logits = {0}, index = {0};
    int n_prompt = (int)job.n_prompt, n_new = (int)job.n_new;
    int out_rows = job.all_logits ? n_prompt : 1;
    s = cc_engine_create(&p, w, nn.approx, n_prompt + CC_MAX(n_new, 1), n_prompt, &m);
    if (s == CC_OK && !cc_engine_generates(m))
        s = cc_error_set(CC_ERR_UNSUPPORTED, "a %s model cannot serve token generation jobs",
                         cc_arch_name(c->arch));
    if (s == CC_OK) s = cc_ashare_alloc(&onehot, (size_t)n_prompt * V);
    if (s == CC_OK) s = cc_ashare_alloc(&logits, (size_t)out_rows * V);
    if (s == CC_OK) s = cc_ashare_alloc(&index, 1);
    cc_party_report rep = {0};
    if (s == CC_OK && o->progress) cc_engine_on_progress(m, party_progress, "prefill");

    /* prefill: all prompt positions in one pass */
    uint64_t t0 = cc_now_ns();
    if (s == CC_OK) {
        cc_proto_scope_begin(&p, "input");
        s = cc_proto_input_client(&p, &onehot);
        cc_proto_scope_end(&p);
    }
    if (s == CC_OK) s = cc_engine_forward(m, &onehot, NULL, n_prompt, out_rows, &logits);
    if (s == CC_OK)
        s = reveal_output(&p, &nn, job.all_logits ? CC_REVEAL_LOGITS : (cc_reveal_mode)job.reveal,
                          &logits, V, &index);
    rep.prefill_ns = cc_now_ns() - t0;

    /* generation: one new position per token, the client feeds it back */
    t0 = cc_now_ns();
    if (s == CC_OK && o->progress) cc_engine_on_progress(m, party_progress, "generate");
    for (int t = 1; s == CC_OK && t < n_new; t++) {
        cc_ashare row = cc_ashare_slice(&onehot, 0, V), last = cc_ashare_slice(&logits, 0, V);
        cc_proto_scope_begin(&p, "input");
        s = cc_proto_input_client(&p, &row);
        cc_proto_scope_end(&p);
        if (s == CC_OK) s = cc_engine_forward(m, &row, NULL, 1, 1, &last);
        if (s == CC_OK) s = reveal_output(&p, &nn, (cc_reveal_mode)job.reveal, &last, V, &index);
    }
    rep.generate_ns = cc_now_ns() - t0;
    if (s == CC_OK) {
        rep.wall_ns = cc_now_ns() - t_start;
        fill_report(net, &rep);
        cc_net_op_begin(net, "report");
        s = cc_net_send(net, CC_CLIENT, &rep, sizeof rep);
        if (s == CC_OK) s = cc_net_flush(net);
        cc_net_op_end(net);
    }
    cc_ashare_free(&onehot);
    cc_ashare_free(&logits);
    cc_ashare_free(&index);
    cc_engine_free(m);
    cc_proto_free(&p);
    return s;
}

static cc_status open_weights(const cc_secure_party_options *o, int me, cc_sweights **w)
{
    if (o->shares)
        return cc_sweights_open_bundle(o->shares, me, o->frac_bits, o->verify, o->expect_bundle, w);
    if (o->synthetic)
        return cc_sweights_open_synthetic(o->synthetic, me,
                                          o->frac_bits > 0 ? (unsigned)o->frac_bits : 18u, w);
    return cc_error_set(CC_ERR_ARG, "party needs --shares DIR or --synthetic");
}

cc_status cc_secure_party_serve(cc_net *net, const cc_secure_party_options *o)
{
    cc_sweights *w = o->weights;
    int me = cc_net_party(net);
    uint64_t t_start = cc_now_ns();
    /* The job first, then the weights: every failure from here on (a bundle
     * changed since start-up, a refused job) reaches a client that has sent
     * its job and waits for the hellos, so it reads the reason instead of
     * racing a party that has already hung up. */
    cc_wire_job job;
    cc_status s = recv_job(net, &job);
    if (s == CC_OK && o->weights) {
        s = cc_sweights_job_begin(w);
        if (s != CC_OK) s = cc_error_wrap(s, "P%d checking its weights", me);
    } else if (s == CC_OK) {
        s = open_weights(o, me, &w);
        if (s != CC_OK) s = cc_error_wrap(s, "P%d opening weights", me);
    }
    if (s == CC_OK) s = serve(net, w, &job, o, t_start);
    if (!o->weights) cc_sweights_close(w);
    /* This thread's scratch pools keep the largest blocks the job needed,
     * for its next step; after the job they would pin its high-water mark
     * (a long generation's KV-sized scratch) in a party that serves on. */
    cc_nn_scratch_release();
    cc_proto_release_cache();
    /* whatever failed here, the other parties and the client learn it now
     * (with the reason) instead of waiting for messages that never come */
    if (s != CC_OK) cc_net_abort(net, cc_error_message());
    return s;
}
