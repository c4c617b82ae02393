// bench_nonlinear: the nonlinear functions of src/nn with three real parties
// on loopback (cc_net_launch_local), for both approximation sets.
//
// Per benchmark one launch: each party shares the (public, seeded) inputs
// locally, runs the function once to warm up, synchronises, then times
// `reps` calls; the reported time is P0's median call.  In the same run the
// parties time one fused mul+trunc on the same number of elements — the
// baseline: `x_mul_trunc` = function time / mul_trunc time.  P0 reveals the
// last output and reports the max |error| against libm in double precision
// (relative error for rsqrt).  Bytes are per element per party (P0 and the
// max over parties), rounds as measured by the network layer.
//
// Links are plain TCP (--insecure-plaintext-links, the setting of the
// MP-SPDZ reference figures in issue 5) unless CARACAL_BENCH_SECURE=1;
// CARACAL_BENCH_THREADS sets worker threads per party (default 1; also the
// OpenMP team size, or idle libgomp threads spin on the shared cores).
#include <benchmark/benchmark.h>

#include "bench_parties.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <vector>

extern "C" {
// libgomp is linked through the ring/prg libraries; the PRG sizes its teams
// with omp_get_max_threads(), so the harness caps OpenMP here as well.
void omp_set_num_threads(int);
#include "core.h"
#include "nn.h"
#include "thread.h"
}

namespace {

constexpr unsigned F = 18;

enum Fn { GELU, SILU, SOFTMAX, SOFTMAX_CAUSAL, EXP, RSQRT, LAYERNORM, ARGMAX };

const char *fn_tag(Fn fn)
{
    switch (fn) {
    case GELU: return "gelu";
    case SILU: return "silu";
    case SOFTMAX: case SOFTMAX_CAUSAL: return "softmax";
    case EXP: return "exp";
    case RSQRT: return "rsqrt";
    case LAYERNORM: return "layernorm";
    case ARGMAX: return "argmax";
    }
    return "?";
}

struct PartyResult {
    int status;
    double median_s, base_s;
    double bytes_per_call, rounds_per_call;
    double max_err;
    char msg[256];
};

struct Job {
    Fn fn;
    cc_approx approx;
    size_t rows, cols;       // elementwise: rows·cols elements
    int reps, threads;
    PartyResult res[3];
};

uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}
double unif(uint64_t i, double lo, double hi)
{
    return lo + (hi - lo) * (double)(mix(i) >> 11) / 9007199254740992.0;
}
uint64_t enc(double x) { return (uint64_t)(int64_t)llround(ldexp(x, F)); }
double dec(uint64_t v) { return ldexp((double)(int64_t)v, -(int)F); }

// Realistic input ranges: FFN pre-activations, attention logits, variances.
double input_value(Fn fn, size_t i)
{
    switch (fn) {
    case GELU: return unif(i, -8, 8);
    case SILU: return unif(i, -12, 12);
    case SOFTMAX: case SOFTMAX_CAUSAL: return unif(i, -10, 10);
    case EXP: return unif(i, -20, 0);
    case RSQRT: return exp(unif(i, log(1e-2), log(1e4)));
    case LAYERNORM: return unif(i, -4, 4) * (1 + (double)(i % 7));
    case ARGMAX: return unif(i, -20, 20);
    }
    return 0;
}

void share(const cc_proto *ctx, uint64_t seed, const uint64_t *plain, size_t n, cc_ashare *out)
{
    for (size_t j = 0; j < n; j++) {
        uint64_t x[3];
        x[0] = mix(seed ^ (3 * j + 1));
        x[1] = mix(seed ^ (3 * j + 2));
        x[2] = plain[j] - x[0] - x[1];
        out->s[0][j] = x[ctx->party];
        out->s[1][j] = x[(ctx->party + 1) % 3];
    }
}

// max |y - exact| (relative for rsqrt) over the revealed output
double max_error(const Job *job, const std::vector<uint64_t> &x, const std::vector<uint64_t> &y,
                 const std::vector<uint8_t> &mask, const std::vector<uint64_t> &g,
                 const std::vector<uint64_t> &b)
{
    double mx = 0;
    const size_t R = job->rows, C = job->cols;
    switch (job->fn) {
    case GELU: case SILU: case EXP: case RSQRT:
        for (size_t i = 0; i < x.size(); i++) {
            double v = dec(x[i]), want;
            if (job->fn == GELU) want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
            else if (job->fn == SILU) want = v / (1 + exp(-v));
            else if (job->fn == EXP) want = exp(v);
            else want = 1 / sqrt(v);
            double e = fabs(dec(y[i]) - want);
            mx = std::max(mx, job->fn == RSQRT ? e / want : e);
        }
        break;
    case SOFTMAX: case SOFTMAX_CAUSAL:
        for (size_t r = 0; r < R; r++) {
            const uint8_t *mr = mask.empty() ? nullptr : &mask[(r % C) * C];
            double m = -INFINITY, s = 0;
            for (size_t c = 0; c < C; c++) if (!mr || mr[c]) m = std::max(m, dec(x[r * C + c]));
            for (size_t c = 0; c < C; c++) if (!mr || mr[c]) s += exp(dec(x[r * C + c]) - m);
            for (size_t c = 0; c < C; c++) {
                double want = (!mr || mr[c]) ? exp(dec(x[r * C + c]) - m) / s : 0;
                mx = std::max(mx, fabs(dec(y[r * C + c]) - want));
            }
        }
        break;
    case ARGMAX:   /* index error: 0 when the revealed index is the true first maximum */
        for (size_t r = 0; r < R; r++) {
            size_t best = 0;
            for (size_t c = 1; c < C; c++) if ((int64_t)x[r * C + c] > (int64_t)x[r * C + best]) best = c;
            mx = std::max(mx, fabs((double)y[r] - (double)best));
        }
        break;
    case LAYERNORM:
        for (size_t r = 0; r < R; r++) {
            double mean = 0, var = 0;
            for (size_t c = 0; c < C; c++) mean += dec(x[r * C + c]);
            mean /= (double)C;
            for (size_t c = 0; c < C; c++) var += pow(dec(x[r * C + c]) - mean, 2);
            var /= (double)C;
            for (size_t c = 0; c < C; c++) {
                double want = (dec(x[r * C + c]) - mean) / sqrt(var + 1e-5) * dec(g[c]) + dec(b[c]);
                mx = std::max(mx, fabs(dec(y[r * C + c]) - want));
            }
        }
        break;
    }
    return mx;
}

int party_main(cc_net *net, void *arg)
{
    Job *job = static_cast<Job *>(arg);
    int me = cc_net_party(net);
    PartyResult *r = &job->res[me];
    cc_thread_set_count(job->threads);
    omp_set_num_threads(job->threads);
    cc_proto ctx;
    cc_status s = cc_proto_init(&ctx, net, F);
    const cc_nn_cfg cfg = {F, job->approx};
    const size_t R = job->rows, C = job->cols, n = R * C;
    std::vector<uint64_t> x(n), y(n), g(C), b(C);
    std::vector<uint8_t> mask;
    for (size_t i = 0; i < n; i++) x[i] = enc(input_value(job->fn, i));
    for (size_t c = 0; c < C; c++) { g[c] = enc(unif(c + 7777, 0.5, 1.5)); b[c] = enc(unif(c + 999, -0.5, 0.5)); }
    if (job->fn == SOFTMAX_CAUSAL) { mask.resize(C * C); cc_nn_causal_mask(C, C, 0, mask.data()); }
    cc_ashare xs{}, ys{}, gs{}, bs{}, base_out{}, idx{};
    if (s == CC_OK) s = cc_ashare_alloc(&xs, n);
    if (s == CC_OK) s = cc_ashare_alloc(&ys, n);
    if (s == CC_OK) s = cc_ashare_alloc(&gs, C);
    if (s == CC_OK) s = cc_ashare_alloc(&bs, C);
    if (s == CC_OK) s = cc_ashare_alloc(&base_out, n);
    if (s == CC_OK) s = cc_ashare_alloc(&idx, R);
    if (s == CC_OK) {
        share(&ctx, 1, x.data(), n, &xs);
        share(&ctx, 2, g.data(), C, &gs);
        share(&ctx, 3, b.data(), C, &bs);
    }
    auto run = [&]() -> cc_status {
        switch (job->fn) {
        case GELU: return cc_nn_gelu(&ctx, &cfg, &xs, &ys);
        case SILU: return cc_nn_silu(&ctx, &cfg, &xs, &ys);
        case EXP: return cc_nn_exp(&ctx, &cfg, &xs, &ys);
        case RSQRT: return cc_nn_rsqrt(&ctx, &cfg, &xs, &ys);
        case SOFTMAX: return cc_nn_softmax(&ctx, &cfg, R, C, &xs, nullptr, 0, &ys);
        case SOFTMAX_CAUSAL: return cc_nn_softmax(&ctx, &cfg, R, C, &xs, mask.data(), C, &ys);
        case LAYERNORM: return cc_nn_layernorm(&ctx, &cfg, R, C, &xs, &gs, &bs, 1e-5, &ys);
        case ARGMAX: return cc_nn_argmax(&ctx, &cfg, R, C, &xs, &idx);
        }
        return CC_ERR_INTERNAL;
    };
    std::vector<double> times, base;
    if (s == CC_OK) s = run();   // warm-up
    uint64_t token = 0, back = 0;
    if (s == CC_OK) s = cc_net_exchange(net, CC_NEXT, &token, CC_PREV, &back, 8);
    cc_net_stats_reset(net);
    for (int i = 0; s == CC_OK && i < job->reps; i++) {
        uint64_t t0 = cc_now_ns();
        s = run();
        times.push_back(cc_ns_to_s(cc_now_ns() - t0));
    }
    cc_net_stat st[64];
    size_t k = cc_net_stats(net, st, 64);
    for (size_t i = 0; i < k && i < 64; i++)
        if (strcmp(st[i].tag, fn_tag(job->fn)) == 0 && st[i].calls) {
            r->bytes_per_call = (double)st[i].bytes_sent / (double)st[i].calls;
            r->rounds_per_call = (double)st[i].rounds / (double)st[i].calls;
        }
    // baseline in the same run: one fused multiply + truncate on n elements
    for (int i = 0; s == CC_OK && i < job->reps; i++) {
        uint64_t t0 = cc_now_ns();
        s = cc_proto_mul_trunc(&ctx, &xs, &xs, F, &base_out);
        base.push_back(cc_ns_to_s(cc_now_ns() - t0));
    }
    if (s == CC_OK) s = job->fn == ARGMAX ? cc_proto_reveal(&ctx, &idx, y.data())
                                          : cc_proto_reveal(&ctx, &ys, y.data());
    r->status = s;
    if (s != CC_OK) {
        snprintf(r->msg, sizeof r->msg, "%s", cc_error_message());
    } else {
        std::sort(times.begin(), times.end());
        std::sort(base.begin(), base.end());
        r->median_s = times[times.size() / 2];
        r->base_s = base[base.size() / 2];
        if (me == 0) r->max_err = max_error(job, x, y, mask, g, b);
    }
    cc_ashare_free(&xs); cc_ashare_free(&ys); cc_ashare_free(&gs); cc_ashare_free(&bs);
    cc_ashare_free(&base_out);
    cc_ashare_free(&idx);
    cc_proto_free(&ctx);
    return s == CC_OK ? 0 : 1;
}

void run_job(benchmark::State &state, Fn fn, size_t rows, size_t cols)
{
    Job *job = bench_shared_job<Job>(state);
    if (!job) return;
    job->fn = fn;
    job->approx = state.range(0) ? CC_APPROX_PRECISE : CC_APPROX_PUMA;
    job->rows = rows;
    job->cols = cols;
    size_t n = rows * cols;
    job->reps = n >= 300000 ? 3 : n >= 50000 ? 5 : 10;
    job->threads = bench_threads_per_party();
    cc_net_options o = bench_net_options();
    for (auto _ : state) {
        if (!bench_run_parties(state, party_main, job, o)) break;
        state.SetIterationTime(job->res[0].median_s);
    }
    double en = (double)n;
    double bmax = std::max({job->res[0].bytes_per_call, job->res[1].bytes_per_call,
                            job->res[2].bytes_per_call});
    state.counters["s"] = job->res[0].median_s;
    state.counters["x_mul_trunc"] = job->res[0].median_s / job->res[0].base_s;
    state.counters["B/elem_P0"] = job->res[0].bytes_per_call / en;
    state.counters["B/elem_max"] = bmax / en;
    state.counters["B/elem_P1"] = job->res[1].bytes_per_call / en;
    state.counters["B/elem_P2"] = job->res[2].bytes_per_call / en;
    state.counters["rounds"] = std::max({job->res[0].rounds_per_call, job->res[1].rounds_per_call,
                                         job->res[2].rounds_per_call});
    state.counters["max_err"] = job->res[0].max_err;
    char label[96];
    snprintf(label, sizeof label, "%s, %s", cc_approx_name(job->approx),
             o.insecure_plaintext ? "insecure-plaintext-links" : "AEAD links");
    state.SetLabel(label);
    bench_release_job(job);
}

#define NL_BENCH(name, fn, rows, cols)                                                   \
    void name(benchmark::State &st) { run_job(st, fn, rows, cols); }                     \
    BENCHMARK(name)->ArgName("precise")->Arg(0)->Arg(1)->Iterations(1)->UseManualTime()  \
        ->Unit(benchmark::kMillisecond)

NL_BENCH(BM_gelu_128x3072, GELU, 128, 3072);
NL_BENCH(BM_silu_8x11008, SILU, 8, 11008);
NL_BENCH(BM_softmax_1x128x128, SOFTMAX, 128, 128);
NL_BENCH(BM_softmax_12x128x128, SOFTMAX, 12 * 128, 128);
NL_BENCH(BM_softmax_causal_32x8x8, SOFTMAX_CAUSAL, 32 * 8, 8);
NL_BENCH(BM_exp_16384, EXP, 1, 16384);
NL_BENCH(BM_rsqrt_128, RSQRT, 1, 128);
NL_BENCH(BM_layernorm_128x768, LAYERNORM, 128, 768);
// next-token selection over the LLaMA vocabulary (the set does not matter)
void BM_argmax_1x32000(benchmark::State &st) { run_job(st, ARGMAX, 1, 32000); }
BENCHMARK(BM_argmax_1x32000)->Arg(0)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

CARACAL_BENCH_MAIN()
