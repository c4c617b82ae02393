// bench_proto: protocol ops with three real parties on loopback
// (cc_net_launch_local): seconds per call, bytes per element per party,
// rounds.  One launch per benchmark; the parties run the op once to warm up
// and then `reps` times; the reported time is P0's median call.
//
// Links are plain TCP (--insecure-plaintext-links) by default, the setting of
// the MP-SPDZ reference figures in issue 4; CARACAL_BENCH_SECURE=1 uses the
// AEAD links.  CARACAL_BENCH_THREADS sets the worker threads per party
// (default 1: three parties share the machine's cores).
#include <benchmark/benchmark.h>

#include "bench_parties.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <time.h>
#include <vector>

extern "C" {
#include "core.h"
#include "proto.h"
#include "thread.h"
}

namespace {

enum Op {
    OP_MUL, OP_MUL_FXP, OP_TRUNC, OP_MSB, OP_LT, OP_EQ, OP_A2B, OP_AND, OP_B2A, OP_SELECT,
    OP_MAX_ROWS, OP_REVEAL, OP_INPUT, OP_EXCHANGE,
    // the MSB variants (cc_msb_kind) and 4 thresholds per element (SiLU's breakpoints)
    OP_MSB_NARROW, OP_MSB_DIGITS, OP_MSB_NARROW_DIGITS, OP_MSB_DIGITS8, OP_MSB_NARROW_DIGITS8,
    OP_MSB_DIGITS16,
    OP_LT4_NARROW, OP_LT4_NARROW_DIGITS,
    OP_MATMUL, OP_MATMUL_FXP, OP_MATMUL_W_FXP
};

// Op → MSB variant for the variant benchmarks
cc_msb_kind op_kind(Op op)
{
    switch (op) {
    case OP_MSB_NARROW: case OP_LT4_NARROW: return CC_MSB_NARROW;
    case OP_MSB_DIGITS: return CC_MSB_DIGITS;
    case OP_MSB_NARROW_DIGITS: case OP_LT4_NARROW_DIGITS: return CC_MSB_NARROW_DIGITS;
    case OP_MSB_DIGITS8: return CC_MSB_DIGITS8;
    case OP_MSB_NARROW_DIGITS8: return CC_MSB_NARROW_DIGITS8;
    case OP_MSB_DIGITS16: return CC_MSB_DIGITS16;
    default: return CC_MSB_FULL;
    }
}

const char *op_tag(Op op)
{
    switch (op) {
    case OP_MUL: return "mul";
    case OP_MUL_FXP: return "mul_trunc";
    case OP_TRUNC: return "trunc";
    case OP_MSB: return "msb";
    case OP_LT: return "lt";
    case OP_EQ: return "eq";
    case OP_A2B: return "a2b";
    case OP_AND: return "and";
    case OP_B2A: return "b2a_bit";
    case OP_SELECT: return "select";
    case OP_MAX_ROWS: return "max_rows";
    case OP_REVEAL: return "reveal";
    case OP_INPUT: return "input";
    case OP_EXCHANGE: return "raw_exchange";
    case OP_MATMUL: return "matmul";
    case OP_MATMUL_FXP: return "matmul_fxp";
    case OP_MATMUL_W_FXP: return "matmul_weight_fxp";
    case OP_MSB_NARROW: return "msb_narrow";
    case OP_MSB_DIGITS: return "msb_digits";
    case OP_MSB_NARROW_DIGITS: return "msb_narrow_digits";
    case OP_MSB_DIGITS8: return "msb_digits8";
    case OP_MSB_NARROW_DIGITS8: return "msb_narrow_digits8";
    case OP_MSB_DIGITS16: return "msb_digits16";
    case OP_LT4_NARROW: return "lt_public_narrow";
    case OP_LT4_NARROW_DIGITS: return "lt_public_narrow_digits";
    }
    return "?";
}

struct PartyResult {
    int status;
    double median_s, min_s;
    double cpu_s;          // process CPU time per call (all threads), median
    double bytes_per_call;
    double rounds_per_call;
    char msg[256];
};

struct Job {
    Op op;
    size_t n;             // elements (outputs for matmul)
    size_t M, N, K;       // matmul shape
    int reps;
    int threads;
    PartyResult res[3];
};

uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

// A replicated sharing of bounded public test values, made locally.
void share(const cc_proto *ctx, uint64_t seed, size_t n, unsigned bits, uint64_t *s0, uint64_t *s1)
{
    for (size_t j = 0; j < n; j++) {
        uint64_t x[3];
        uint64_t v = mix(seed * 1000003 + j);
        v = (uint64_t)((int64_t)v >> (64 - bits));
        x[0] = mix(seed ^ (3 * j + 1));
        x[1] = mix(seed ^ (3 * j + 2));
        x[2] = v - x[0] - x[1];
        s0[j] = x[ctx->party];
        s1[j] = x[(ctx->party + 1) % 3];
    }
}

int party_main(cc_net *net, void *arg)
{
    Job *job = static_cast<Job *>(arg);
    int me = cc_net_party(net);
    PartyResult *r = &job->res[me];
    cc_thread_init(nullptr, job->threads);   // also sizes the OpenMP team (PRG)
    cc_proto ctx;
    cc_status s = cc_proto_init(&ctx, net, 18);
    const size_t n = job->n;
    const size_t nin = (job->op >= OP_MATMUL) ? job->M * job->K : n;
    const size_t nw = job->K * job->N;
    cc_ashare a{}, b{}, c{};
    cc_bshare ba{}, bb{}, bc{};
    cc_proto_weight w{};
    std::vector<uint64_t> plain(n + 1);
    if (s == CC_OK) s = cc_ashare_alloc(&a, nin);
    if (s == CC_OK) s = cc_ashare_alloc(&b, job->op >= OP_MATMUL ? nw : n);
    if (s == CC_OK) s = cc_ashare_alloc(&c, n);
    if (s == CC_OK) s = cc_bshare_alloc(&ba, n);
    if (s == CC_OK) s = cc_bshare_alloc(&bb, n);
    if (s == CC_OK) s = cc_bshare_alloc(&bc, n);
    if (s == CC_OK) {
        unsigned bits = job->op >= OP_MATMUL ? 24 : 30;
        share(&ctx, 1, a.n, bits, a.s[0], a.s[1]);
        share(&ctx, 2, b.n, bits, b.s[0], b.s[1]);
        share(&ctx, 3, n, 62, ba.s[0], ba.s[1]);
        share(&ctx, 4, n, 62, bb.s[0], bb.s[1]);
        for (size_t j = 0; j < n; j++) { ba.s[0][j] &= 1; ba.s[1][j] &= 1; }
        if (job->op == OP_MATMUL_W_FXP) s = cc_proto_weight_from_share(&w, &b, job->K, job->N, CC_NOTRANS);
    }
    cc_ashare mx{};
    cc_bshare b4{};   // 4 thresholds per element
    const uint64_t thr4[4] = {(uint64_t)-(INT64_C(3) << 20), (uint64_t)-(INT64_C(1) << 20),
                              UINT64_C(1) << 20, UINT64_C(3) << 20};
    if (s == CC_OK && (job->op == OP_LT4_NARROW || job->op == OP_LT4_NARROW_DIGITS))
        s = cc_bshare_alloc(&b4, 4 * n);
    const size_t cols = 128;
    if (s == CC_OK && job->op == OP_MAX_ROWS) s = cc_ashare_alloc(&mx, n / cols);

    auto run = [&]() -> cc_status {
        switch (job->op) {
        case OP_MUL: return cc_proto_mul(&ctx, &a, &b, &c);
        case OP_MUL_FXP: return cc_proto_mul_fxp(&ctx, &a, &b, &c);
        case OP_TRUNC: return cc_proto_trunc(&ctx, &a, 18, &c);
        case OP_MSB: return cc_proto_msb(&ctx, &a, &bc);
        case OP_LT: return cc_proto_lt(&ctx, &a, &b, &bc);
        case OP_EQ: return cc_proto_eq(&ctx, &a, &b, &bc);
        case OP_A2B: return cc_proto_a2b(&ctx, &a, &bc);
        case OP_AND: return cc_proto_and(&ctx, &ba, &bb, &bc);
        case OP_B2A: return cc_proto_b2a_bit(&ctx, &ba, &c);
        case OP_SELECT: return cc_proto_select(&ctx, &ba, &a, &b, &c);
        case OP_MAX_ROWS: return cc_proto_max_rows(&ctx, &a, n / cols, cols, &mx);
        case OP_MSB_NARROW: case OP_MSB_DIGITS: case OP_MSB_NARROW_DIGITS: case OP_MSB_DIGITS8:
        case OP_MSB_NARROW_DIGITS8: case OP_MSB_DIGITS16:
            return cc_proto_msb_kind(&ctx, op_kind(job->op), &a, &bc);
        case OP_LT4_NARROW: case OP_LT4_NARROW_DIGITS:
            return cc_proto_lt_public_multi(&ctx, op_kind(job->op), &a, 4, thr4, &b4);
        case OP_REVEAL: return cc_proto_reveal(&ctx, &a, plain.data());
        case OP_INPUT: return cc_proto_input(&ctx, 0, plain.data(), &c);
        case OP_EXCHANGE: {    // baseline: one bare round of 8 bytes/elem, no protocol work
            cc_net_op_begin(net, "raw_exchange");
            cc_status e = cc_net_exchange(net, CC_NEXT, a.s[0], CC_PREV, c.s[0], 8 * n);
            cc_net_op_end(net);
            return e;
        }
        case OP_MATMUL:
            return cc_proto_matmul(&ctx, 1, job->M, job->N, job->K, CC_NOTRANS, &a, CC_NOTRANS, &b, &c);
        case OP_MATMUL_FXP:
            return cc_proto_matmul_fxp(&ctx, 1, job->M, job->N, job->K, CC_NOTRANS, &a, CC_NOTRANS,
                                       &b, &c);
        case OP_MATMUL_W_FXP: return cc_proto_matmul_weight_fxp(&ctx, job->M, &a, &w, &c);
        }
        return CC_ERR_INTERNAL;
    };

    std::vector<double> times, cpu;
    auto cpu_now = []() {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    };
    if (s == CC_OK) s = run();   // warm-up (page faults, thread pool)
    // One round trip so all parties start the timed loop together.
    uint64_t token = 0, back = 0;
    if (s == CC_OK) s = cc_net_exchange(net, CC_NEXT, &token, CC_PREV, &back, 8);
    cc_net_stats_reset(net);
    for (int i = 0; s == CC_OK && i < job->reps; i++) {
        uint64_t t0 = cc_now_ns();
        double c0 = cpu_now();
        s = run();
        times.push_back(cc_ns_to_s(cc_now_ns() - t0));
        cpu.push_back(cpu_now() - c0);
    }
    r->status = s;
    if (s != CC_OK) {
        snprintf(r->msg, sizeof r->msg, "%s", cc_error_message());
    } else {
        std::sort(times.begin(), times.end());
        r->median_s = times[times.size() / 2];
        r->min_s = times[0];
        std::sort(cpu.begin(), cpu.end());
        r->cpu_s = cpu[cpu.size() / 2];
        cc_net_stat st[64];
        size_t k = cc_net_stats(net, st, 64);
        for (size_t i = 0; i < k && i < 64; i++)
            if (strcmp(st[i].tag, op_tag(job->op)) == 0 && st[i].calls) {
                r->bytes_per_call = (double)st[i].bytes_sent / (double)st[i].calls;
                r->rounds_per_call = (double)st[i].rounds / (double)st[i].calls;
            }
    }
    cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c); cc_ashare_free(&mx);
    cc_bshare_free(&ba); cc_bshare_free(&bb); cc_bshare_free(&bc); cc_bshare_free(&b4);
    cc_proto_weight_free(&w);
    cc_proto_free(&ctx);
    return s == CC_OK ? 0 : 1;
}

void run_job(benchmark::State &state, Op op, size_t M, size_t N, size_t K)
{
    const bool matmul = op >= OP_MATMUL;
    size_t n = matmul ? M * N : (size_t)state.range(0);
    Job *job = bench_shared_job<Job>(state);
    if (!job) return;
    job->op = op;
    job->n = n;
    job->M = M; job->N = N; job->K = K;
    job->reps = n >= 1000000 || matmul ? 5 : n >= 100000 ? 10 : 30;
    job->threads = bench_threads_per_party();
    cc_net_options o = bench_net_options();
    for (auto _ : state) {
        if (!bench_run_parties(state, party_main, job, o)) break;
        state.SetIterationTime(job->res[0].median_s);
    }
    double en = matmul ? 1.0 : (double)n;   // matmul: bytes for the whole op
    state.counters["s"] = job->res[0].median_s;
    state.counters["s_min"] = job->res[0].min_s;
    state.counters["cpu_s_P0"] = job->res[0].cpu_s;
    state.counters["cpu_s_max"] = std::max({job->res[0].cpu_s, job->res[1].cpu_s, job->res[2].cpu_s});
    state.counters[matmul ? "bytes_P0" : "B/elem_P0"] = job->res[0].bytes_per_call / en;
    state.counters[matmul ? "bytes_P1" : "B/elem_P1"] = job->res[1].bytes_per_call / en;
    state.counters[matmul ? "bytes_P2" : "B/elem_P2"] = job->res[2].bytes_per_call / en;
    state.counters["rounds_P0"] = job->res[0].rounds_per_call;
    state.counters["rounds_max"] = std::max({job->res[0].rounds_per_call,
                                             job->res[1].rounds_per_call,
                                             job->res[2].rounds_per_call});
    state.SetLabel(o.insecure_plaintext ? "insecure-plaintext-links" : "AEAD links");
    bench_release_job(job);
}

#define ELEMWISE(name, op)                                                              \
    void name(benchmark::State &st) { run_job(st, op, 0, 0, 0); }                       \
    BENCHMARK(name)->Arg(1000)->Arg(100000)->Arg(1000000)->Iterations(1)->UseManualTime() \
        ->Unit(benchmark::kMillisecond)

ELEMWISE(BM_baseline_exchange_8B, OP_EXCHANGE);
ELEMWISE(BM_mul, OP_MUL);
ELEMWISE(BM_mul_trunc_fxp, OP_MUL_FXP);
ELEMWISE(BM_trunc, OP_TRUNC);
ELEMWISE(BM_msb_lt_zero, OP_MSB);
ELEMWISE(BM_msb_narrow, OP_MSB_NARROW);
ELEMWISE(BM_msb_digits, OP_MSB_DIGITS);
ELEMWISE(BM_msb_narrow_digits, OP_MSB_NARROW_DIGITS);
ELEMWISE(BM_msb_digits8, OP_MSB_DIGITS8);
ELEMWISE(BM_msb_narrow_digits8, OP_MSB_NARROW_DIGITS8);
// 16-bit digits: a per-row variant (64 KB of one-hot messages per element)
void BM_msb_digits16(benchmark::State &st) { run_job(st, OP_MSB_DIGITS16, 0, 0, 0); }
BENCHMARK(BM_msb_digits16)->Arg(8)->Arg(1000)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kMillisecond);
ELEMWISE(BM_lt4_narrow_pairs, OP_LT4_NARROW);      // 4 thresholds per element, B/elem per x
ELEMWISE(BM_lt4_narrow_digits, OP_LT4_NARROW_DIGITS);
ELEMWISE(BM_lt, OP_LT);
ELEMWISE(BM_eq, OP_EQ);
ELEMWISE(BM_a2b, OP_A2B);
ELEMWISE(BM_and, OP_AND);
ELEMWISE(BM_b2a_bit, OP_B2A);
ELEMWISE(BM_select, OP_SELECT);
ELEMWISE(BM_reveal, OP_REVEAL);
ELEMWISE(BM_input, OP_INPUT);

void BM_max_rows128(benchmark::State &st) { run_job(st, OP_MAX_ROWS, 0, 0, 0); }
BENCHMARK(BM_max_rows128)->Arg(1024)->Arg(131072)->Arg(1048576)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_matmul_128x768x768(benchmark::State &st) { run_job(st, OP_MATMUL, 128, 768, 768); }
BENCHMARK(BM_matmul_128x768x768)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
void BM_matmul_fxp_128x768x768(benchmark::State &st) { run_job(st, OP_MATMUL_FXP, 128, 768, 768); }
BENCHMARK(BM_matmul_fxp_128x768x768)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
void BM_matmul_weight_fxp_128x768x768(benchmark::State &st)
{
    run_job(st, OP_MATMUL_W_FXP, 128, 768, 768);
}
BENCHMARK(BM_matmul_weight_fxp_128x768x768)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

CARACAL_BENCH_MAIN()
