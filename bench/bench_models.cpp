// bench_models: end-to-end secure inference of PUMA's GPT-2 and BERT workloads
// (issue 7 performance rows) with three real parties on loopback
// (cc_net_launch_local) and synthetic weights (identical computation and
// communication to real bundles, meaningless output):
//   gpt2_base/32  GPT-2 base, 32 prompt tokens in, 1 token out (secure argmax,
//                 only the token id is revealed to the client)
//   bert_base/128 BERT-base, 128 tokens (secret one-hot token types),
//                 classifier logits revealed to the client
// One launch per row (Iterations(1)): the client shares the one-hot rows,
// the parties run the forward pass, the client reconstructs the output.
// Reported (JSON with --benchmark_format=json): wall seconds at the client
// (input sharing to output), bytes sent per party and the total over all
// three, rounds (max over parties), peak RSS per party, and per op class
// P0's seconds and the total bytes over all parties.
//
// The baseline in the same run: `bare_matmul_s`, the time of the model's
// linear layers alone (one fused matmul+trunc per weight, same shapes, same
// parties) — the part no protocol can avoid; `x_matmul` = wall / baseline,
// `x_matmul_cpu` the same in CPU seconds summed over the parties (the
// steadier of the two on a shared machine).
//
// Links are encrypted (AES-256-GCM) unless CARACAL_BENCH_INSECURE=1;
// CARACAL_BENCH_THREADS sets worker threads per party (default 1: three
// parties share this machine's cores).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>

extern "C" {
#include "core.h"
#include "model.h"
#include "nn.h"
#include "proto.h"
#include "secure.h"
#include "thread.h"
}

#include "bench_link_profile.h"

namespace {

constexpr unsigned F = 18;
constexpr int MAX_TAGS = 32;

struct PartyReport {
    int ok;
    double forward_s, cpu_s, bare_matmul_s, bare_matmul_cpu_s;
    uint64_t bytes_sent, rounds, peak_rss;
    int n_tags;
    cc_net_stat tags[MAX_TAGS];
    char error[256];
};

struct Job {
    bool bert;
    int n_tokens;
    int threads;
    cc_model_config config;
    PartyReport rep[3];          // written by the forked parties (MAP_SHARED)
    double client_wall_s;
    uint64_t client_token;
    char client_error[256];
};

void progress(void *ctx, int layer, int n_layers, double seconds)
{
    (void)ctx;
    if (layer < 0) fprintf(stderr, "  P0 embedding %.2f s\n", seconds);
    else if (layer == n_layers) fprintf(stderr, "  P0 head %.2f s\n", seconds);
    else fprintf(stderr, "  P0 layer %d/%d %.2f s\n", layer + 1, n_layers, seconds);
}

// CPU time of this party process (all its threads, user + system): on a
// machine shared with other jobs this is far steadier than wall time.
double cpu_seconds()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// The baseline: every linear layer of the model as one fused matmul+trunc on
// an input of the same shape (weights from the same synthetic provider).
cc_status bare_linears(cc_proto *p, cc_sweights *w, const Job *job, double *seconds)
{
    const cc_model_config &c = job->config;
    size_t n = (size_t)job->n_tokens, d = (size_t)c.dim, h = (size_t)c.hidden_dim;
    cc_ashare x{}, y{};
    cc_status s = cc_ashare_alloc(&x, n * h);
    if (s == CC_OK) s = cc_ashare_alloc(&y, n * h);
    uint64_t t0 = cc_now_ns();
    static const char *leaf[] = { "attn.q", "attn.k", "attn.v", "attn.o", "ffn.up", "ffn.down" };
    for (int l = 0; s == CC_OK && l < c.n_layers; l++) {
        s = cc_sweights_begin_layer(w, l);
        for (const char *lf : leaf) {
            cc_wref ref;
            cc_proto_weight W;
            if (s == CC_OK) s = cc_sweights_ref(w, true, &ref, "layers.%d.%s.weight", l, lf);
            if (s == CC_OK) s = cc_sweights_linear(w, &ref, &W);
            if (s != CC_OK) break;
            cc_ashare xin = cc_ashare_slice(&x, 0, n * W.K), yout = cc_ashare_slice(&y, 0, n * W.N);
            s = cc_proto_matmul_weight_fxp(p, n, &xin, &W, &yout);
        }
        if (s == CC_OK) s = cc_sweights_end_layer(w, l);
    }
    (void)d;
    *seconds = cc_ns_to_s(cc_now_ns() - t0);
    cc_ashare_free(&x);
    cc_ashare_free(&y);
    return s;
}

cc_status run_party(cc_net *net, Job *job, PartyReport *r)
{
    int me = cc_net_party(net);
    cc_sweights *w = nullptr;
    CC_TRY(cc_sweights_open_synthetic(&job->config, me, F, &w));
    cc_proto p;
    cc_status s = cc_proto_init(&p, net, F);
    if (s != CC_OK) {
        cc_sweights_close(w);
        return s;
    }
    const cc_model_config &c = job->config;
    size_t n = (size_t)job->n_tokens, V = (size_t)c.vocab_size, T = (size_t)c.type_vocab_size;
    cc_nn_cfg nn{F, CC_APPROX_PUMA};
    cc_ashare onehot{}, types{}, out{}, index{};
    cc_engine *e = nullptr;
    s = cc_engine_create(&p, w, nn.approx, job->n_tokens + (job->bert ? 0 : 1), job->n_tokens, &e);
    if (s == CC_OK && me == 0) cc_engine_on_progress(e, progress, nullptr);
    if (job->bert) {
        if (s == CC_OK) s = cc_ashare_alloc(&types, n * T);
        if (s == CC_OK) s = cc_ashare_alloc(&out, (size_t)c.n_classes);
    } else {
        if (s == CC_OK) s = cc_ashare_alloc(&out, V);
        if (s == CC_OK) s = cc_ashare_alloc(&index, 1);
    }
    if (s == CC_OK) s = cc_ashare_alloc(&onehot, n * V);

    uint64_t t0 = cc_now_ns();
    double cpu0 = cpu_seconds();
    if (s == CC_OK) {
        cc_proto_scope_begin(&p, "input");
        s = cc_proto_input_client(&p, &onehot);
        if (s == CC_OK && job->bert) s = cc_proto_input_client(&p, &types);
        cc_proto_scope_end(&p);
    }
    if (s == CC_OK && job->bert) {
        s = cc_engine_forward(e, &onehot, &types, job->n_tokens, 1, &out);
        cc_proto_scope_begin(&p, "output");
        if (s == CC_OK) s = cc_proto_reveal_client(&p, &out);
        cc_proto_scope_end(&p);
    } else if (s == CC_OK) {
        s = cc_engine_forward(e, &onehot, nullptr, job->n_tokens, 1, &out);
        cc_proto_scope_begin(&p, "argmax");
        if (s == CC_OK) s = cc_nn_argmax(&p, &nn, 1, V, &out, &index);
        cc_proto_scope_end(&p);
        cc_proto_scope_begin(&p, "output");
        if (s == CC_OK) s = cc_proto_reveal_client(&p, &index);
        cc_proto_scope_end(&p);
    }
    r->forward_s = cc_ns_to_s(cc_now_ns() - t0);
    r->cpu_s = cpu_seconds() - cpu0;
    // per-tag figures of the inference only (the baseline below is excluded)
    if (s == CC_OK) {
        cc_net_stat st[MAX_TAGS];
        size_t k = std::min(cc_net_stats(net, st, MAX_TAGS), (size_t)MAX_TAGS);
        r->n_tags = (int)k;
        for (size_t i = 0; i < k; i++) {
            r->tags[i] = st[i];
            r->bytes_sent += st[i].bytes_sent;
            r->rounds += st[i].rounds;
        }
        r->peak_rss = cc_peak_rss_bytes();
    }
    cc_engine_free(e);
    cc_ashare_free(&onehot);
    cc_ashare_free(&types);
    cc_ashare_free(&out);
    cc_ashare_free(&index);
    cc_proto_release_cache();
    double cpu1 = cpu_seconds();
    if (s == CC_OK) s = bare_linears(&p, w, job, &r->bare_matmul_s);
    r->bare_matmul_cpu_s = cpu_seconds() - cpu1;
    // keep the client's links open until the baseline is done (it waits for this)
    uint8_t done = 1;
    if (s == CC_OK && me == 0) s = cc_net_send(net, CC_CLIENT, &done, 1);
    if (s == CC_OK && me == 0) s = cc_net_flush(net);
    cc_proto_free(&p);
    cc_sweights_close(w);
    return s;
}

int party_main(cc_net *net, void *arg)
{
    Job *job = static_cast<Job *>(arg);
    PartyReport *r = &job->rep[cc_net_party(net)];
    cc_thread_init(nullptr, job->threads);
    cc_status s = run_party(net, job, r);
    if (s != CC_OK) snprintf(r->error, sizeof r->error, "%s", cc_error_message());
    r->ok = s == CC_OK;
    return s == CC_OK ? 0 : 1;
}

int client_main(cc_client *c, void *arg)
{
    Job *job = static_cast<Job *>(arg);
    const cc_model_config &cfg = job->config;
    size_t n = (size_t)job->n_tokens, V = (size_t)cfg.vocab_size, T = (size_t)cfg.type_vocab_size;
    uint64_t *v = (uint64_t *)calloc(n * V, sizeof(uint64_t));
    if (!v) return 1;
    // a fixed public-looking prompt: token ids spread over the vocabulary
    for (size_t r = 0; r < n; r++) v[r * V + (r * 7919 + 101) % V] = 1;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_proto_client_input(c, n * V, v);
    if (s == CC_OK && job->bert) {
        memset(v, 0, n * T * sizeof *v);
        for (size_t r = 0; r < n; r++) v[r * T + (r < n / 2 ? 0 : 1)] = 1;
        s = cc_proto_client_input(c, n * T, v);
    }
    if (s == CC_OK) s = cc_proto_client_reveal(c, job->bert ? (size_t)cfg.n_classes : 1, v);
    job->client_wall_s = cc_ns_to_s(cc_now_ns() - t0);
    job->client_token = v[0];
    uint8_t done = 0;
    if (s == CC_OK) s = cc_client_recv(c, 0, &done, 1);   // P0: baseline finished
    if (s != CC_OK) snprintf(job->client_error, sizeof job->client_error, "%s", cc_error_message());
    free(v);
    return s == CC_OK ? 0 : 1;
}

// Op classes of the report (net tags as booked by the engine's scopes).
const char *const kClasses[] = { "weights", "input", "embedding", "matmul", "attention", "softmax",
                                 "norms", "activations", "lm_head", "argmax", "output" };

void BM_model(benchmark::State &state, bool bert)
{
    Job *job = static_cast<Job *>(mmap(nullptr, sizeof(Job), PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (job == MAP_FAILED) {
        state.SkipWithError("mmap failed");
        return;
    }
    memset(job, 0, sizeof *job);
    job->bert = bert;
    job->n_tokens = (int)state.range(0);
    const char *th = getenv("CARACAL_BENCH_THREADS");
    job->threads = th && atoi(th) > 0 ? atoi(th) : 1;
    if (cc_config_preset(bert ? "bert-base" : "gpt2-base", &job->config) != CC_OK) {
        state.SkipWithError(cc_error_message());
        return;
    }
    const char *ins = getenv("CARACAL_BENCH_INSECURE");
    bool insecure = ins && ins[0] == '1';
    for (auto _ : state) {
        cc_net_options o;
        cc_net_options_default(&o);
        o.insecure_plaintext = insecure;
        o.link_profile = bench_link_profile();
        o.io_timeout_ms = 600000;
        cc_launch_result res;
        cc_status s = cc_net_launch_local(party_main, job, client_main, job, &o, &res);
        if (s != CC_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "launch: %s | client: %s | P0: %s | P1: %s | P2: %s",
                     cc_error_message(), job->client_error, job->rep[0].error, job->rep[1].error,
                     job->rep[2].error);
            state.SkipWithError(msg);
            break;
        }
        state.SetIterationTime(job->client_wall_s);
    }
    uint64_t total = 0, rounds = 0;
    double cpu_sum = 0, bare_cpu_sum = 0;
    for (int i = 0; i < 3; i++) {
        const PartyReport &r = job->rep[i];
        total += r.bytes_sent;
        rounds = std::max(rounds, r.rounds);
        std::string p = "P" + std::to_string(i);
        state.counters[p + "_GB"] = (double)r.bytes_sent / 1e9;
        state.counters[p + "_peak_rss_GB"] = (double)r.peak_rss / 1e9;
        state.counters[p + "_cpu_s"] = r.cpu_s;
        cpu_sum += r.cpu_s;
        bare_cpu_sum += r.bare_matmul_cpu_s;
    }
    // The three parties' CPU seconds over the machine's cores: the wall time
    // this run would take with the cores to itself (communication overlaps).
    state.counters["cpu_s_sum"] = cpu_sum;
    // The same ratio in CPU seconds (all parties): steadier than wall time,
    // which depends on what else the shared machine runs at each moment.
    state.counters["bare_matmul_cpu_s_sum"] = bare_cpu_sum;
    if (bare_cpu_sum > 0) state.counters["x_matmul_cpu"] = cpu_sum / bare_cpu_sum;
    state.counters["wall_s"] = job->client_wall_s;
    state.counters["total_GB"] = (double)total / 1e9;
    state.counters["rounds"] = (double)rounds;
    state.counters["bare_matmul_s"] = job->rep[0].bare_matmul_s;
    if (job->rep[0].bare_matmul_s > 0)
        state.counters["x_matmul"] = job->client_wall_s / job->rep[0].bare_matmul_s;
    state.counters["threads_per_party"] = job->threads;
    state.counters["insecure_links"] = insecure ? 1 : 0;
    for (const char *cls : kClasses) {
        double sec = 0, gb = 0, rnd = 0;
        for (int i = 0; i < 3; i++)
            for (int t = 0; t < job->rep[i].n_tags; t++)
                if (strcmp(job->rep[i].tags[t].tag, cls) == 0) {
                    gb += (double)job->rep[i].tags[t].bytes_sent / 1e9;
                    if (i == 0) {
                        sec = cc_ns_to_s(job->rep[i].tags[t].ns);
                        rnd = (double)job->rep[i].tags[t].rounds;
                    }
                }
        state.counters[std::string(cls) + "_s"] = sec;
        state.counters[std::string(cls) + "_GB"] = gb;
        state.counters[std::string(cls) + "_rounds"] = rnd;
    }
    state.SetLabel(bert ? "bert-base synthetic, puma approximations"
                        : "gpt2-base synthetic, puma approximations, 1 token out");
    munmap(job, sizeof(Job));
}

void BM_gpt2_base(benchmark::State &state) { BM_model(state, false); }
void BM_bert_base(benchmark::State &state) { BM_model(state, true); }

}  // namespace

BENCHMARK(BM_gpt2_base)->ArgName("tokens")->Arg(32)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_bert_base)->ArgName("tokens")->Arg(128)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kSecond);

CARACAL_BENCH_MAIN()
