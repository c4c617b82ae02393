// Ring kernels: u64 GEMM against OpenBLAS DGEMM on the same shape, per ISA,
// 1 and 2 threads, packed and unpacked B, the DGEMM limb route; elementwise
// throughput.  Args are M/N/K.  Counters: MACs = multiply-adds per second.
//
//   BM_ring_gemm/M/N/K          dispatched ISA, 1 thread, B packed per call
//   BM_ring_gemm_packed/M/N/K   dispatched ISA, 1 thread, B pre-packed (weights)
//   BM_ring_gemm_<isa>/M/N/K    one ISA, 1 thread (skipped if unsupported)
//   BM_ring_gemm_2t/M/N/K       dispatched, 2 threads, B pre-packed
//   BM_ring_gemm_packed_1t/..   same as _2t with 1 thread (the 2t baseline)
//   BM_ring_gemm_dgemm/M/N/K    the OpenBLAS limb route, 1 thread
//   BM_dgemm_openblas/M/N/K     cblas_dgemm, 1 thread (the baseline)
//   BM_dgemm_openblas_2t/M/N/K  cblas_dgemm, 2 threads (+ _1t_wall baseline)
//   BM_ring_<op>/n              elementwise, bytes/s read+written, 1 thread
//
// Decode shapes (M = 1 or 8 rows against a LLaMA-7B weight, K×N), wall time,
// threads 1 and 2 (…/threads:T), old path and new in the same run:
//   BM_decode_packed_old/M/N/K/T    B pre-packed in memory, blocked mr-row path
//                                   (cc_ring_gemm_packed_blocked, main's path)
//   BM_decode_packed_new/M/N/K/T    same B, cc_ring_gemm_packed (small-M route)
//   BM_decode_synth_old/M/N/K/T     one synthetic plane as main's engine does it:
//                                   AES-expand 512 Ki-element column blocks into
//                                   a buffer, then the blocked GEMM per block
//   BM_decode_synth_fused/M/N/K/T   A packed once, plane generated per depth
//                                   slice inside the GEMM (cc_ring_gemm_apacked_gen)
//   BM_decode_synth_aes/M/N/K/T     the AES expansion alone (the bound)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

extern "C" {
#include "core.h"
}
#include "kern.h"
#include "prg.h"
#include "ring.h"
#include "thread.h"

namespace {

void fill(std::vector<uint64_t> &v, uint64_t seed)
{
    for (auto &x : v) {
        seed += 0x9e3779b97f4a7c15ull;
        uint64_t z = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = z ^ (z >> 27);
    }
}

void set_macs(benchmark::State &state, size_t M, size_t N, size_t K)
{
    state.counters["MACs"] = benchmark::Counter(double(M) * N * K * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

// Restores the ISA and thread count a benchmark changed.
struct Scope {
    const char *isa = cc_ring_isa();
    int threads = cc_thread_count();
    ~Scope() { cc_kern_select(isa); cc_thread_set_count(threads); }
};

void ring_gemm(benchmark::State &state, const char *isa, int threads, bool packed)
{
    Scope scope;
    if (isa && cc_kern_select(isa) != CC_OK) {
        state.SkipWithError(cc_error_message());
        return;
    }
    cc_thread_set_count(threads);
    const size_t M = state.range(0), N = state.range(1), K = state.range(2);
    std::vector<uint64_t> A(M * K), B(K * N), C(M * N);
    fill(A, 1);
    fill(B, 2);
    std::vector<uint64_t> Bp(packed ? cc_ring_packed_size(K, N) / 8 : 0);
    if (packed) cc_ring_pack_b(CC_NOTRANS, K, N, B.data(), N, Bp.data());
    for (auto _ : state) {
        if (packed)
            cc_ring_gemm_packed(CC_NOTRANS, M, N, K, A.data(), K, Bp.data(), C.data(), N, false);
        else
            cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, M, N, K, A.data(), K, B.data(), N, C.data(), N,
                         false);
        benchmark::DoNotOptimize(C.data());
        benchmark::ClobberMemory();
    }
    set_macs(state, M, N, K);
    state.SetLabel(cc_ring_isa());
}

void BM_ring_gemm(benchmark::State &s) { ring_gemm(s, nullptr, 1, false); }
void BM_ring_gemm_packed(benchmark::State &s) { ring_gemm(s, nullptr, 1, true); }
void BM_ring_gemm_packed_1t(benchmark::State &s) { ring_gemm(s, nullptr, 1, true); }
void BM_ring_gemm_2t(benchmark::State &s) { ring_gemm(s, nullptr, 2, true); }
void BM_ring_gemm_ref(benchmark::State &s) { ring_gemm(s, "ref", 1, true); }
void BM_ring_gemm_avx2(benchmark::State &s) { ring_gemm(s, "avx2", 1, true); }
void BM_ring_gemm_avx512(benchmark::State &s) { ring_gemm(s, "avx512", 1, true); }

void BM_ring_gemm_dgemm(benchmark::State &state)
{
    openblas_set_num_threads(1);
    const size_t M = state.range(0), N = state.range(1), K = state.range(2);
    std::vector<uint64_t> A(M * K), B(K * N), C(M * N);
    fill(A, 1);
    fill(B, 2);
    for (auto _ : state) {
        if (cc_ring_gemm_dgemm(CC_NOTRANS, CC_NOTRANS, M, N, K, A.data(), K, B.data(), N,
                               C.data(), N, false) != CC_OK) {
            state.SkipWithError(cc_error_message());
            return;
        }
        benchmark::DoNotOptimize(C.data());
    }
    set_macs(state, M, N, K);
}

void dgemm(benchmark::State &state, int threads)
{
    openblas_set_num_threads(threads);
    const int M = state.range(0), N = state.range(1), K = state.range(2);
    std::vector<double> A(size_t(M) * K, 0.5), B(size_t(K) * N, 0.25), C(size_t(M) * N);
    for (auto _ : state) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, A.data(), K,
                    B.data(), N, 0.0, C.data(), N);
        benchmark::DoNotOptimize(C.data());
        benchmark::ClobberMemory();
    }
    set_macs(state, M, N, K);
    openblas_set_num_threads(1);
}
void BM_dgemm_openblas(benchmark::State &s) { dgemm(s, 1); }
void BM_dgemm_openblas_2t(benchmark::State &s) { dgemm(s, 2); }
void BM_dgemm_openblas_1t_wall(benchmark::State &s) { dgemm(s, 1); }

// One-thread rates use CPU time (robust on a shared machine); the thread
// scaling group uses wall time for both its 1- and 2-thread members, and its
// CPU column is the whole process's CPU time (all threads), so on a busy
// machine the parallel overhead can still be read off: with
// OMP_WAIT_POLICY=passive (no spinning), 2t CPU ≈ 1t CPU means the work
// splits without loss.
void gemm_shapes(benchmark::internal::Benchmark *b)
{
    // Names are exactly BM_<name>/M/N/K (no arg labels), as scripts expect.
    b->Args({128, 768, 768});
    b->Args({128, 3072, 768});
    b->Args({8, 4096, 4096});
    b->Args({8, 11008, 4096});
    b->Unit(benchmark::kMillisecond);
}
void gemm_shapes_wall(benchmark::internal::Benchmark *b)
{
    gemm_shapes(b);
    b->UseRealTime();
    b->MeasureProcessCPUTime();
}

BENCHMARK(BM_ring_gemm)->Apply(gemm_shapes);
BENCHMARK(BM_dgemm_openblas)->Apply(gemm_shapes);
BENCHMARK(BM_ring_gemm_packed)->Apply(gemm_shapes);
BENCHMARK(BM_ring_gemm_avx512)->Apply(gemm_shapes);
BENCHMARK(BM_ring_gemm_avx2)->Apply(gemm_shapes);
BENCHMARK(BM_ring_gemm_ref)->Args({128, 768, 768})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ring_gemm_dgemm)->Apply(gemm_shapes);
BENCHMARK(BM_ring_gemm_packed_1t)->Apply(gemm_shapes_wall);
BENCHMARK(BM_ring_gemm_2t)->Apply(gemm_shapes_wall);
BENCHMARK(BM_dgemm_openblas_1t_wall)->Apply(gemm_shapes_wall);
BENCHMARK(BM_dgemm_openblas_2t)->Apply(gemm_shapes_wall);

// ---- decode shapes ----------------------------------------------------------

struct DecodeProblem {
    size_t M, N, K;
    std::vector<uint64_t> A, C;
    cc_prg prg;
    DecodeProblem(benchmark::State &state)
        : M(state.range(0)), N(state.range(1)), K(state.range(2)), A(M * K), C(M * N)
    {
        fill(A, 5);
        uint8_t seed[16] = { 1, 2, 3 };
        cc_prg_init(&prg, seed, 7);
    }
    void finish(benchmark::State &state)
    {
        set_macs(state, M, N, K);
        state.counters["threads"] = cc_thread_count();
        state.SetLabel(cc_ring_isa());
    }
};

void decode_packed(benchmark::State &state, bool small_route)
{
    Scope scope;
    cc_thread_set_count(state.range(3));
    DecodeProblem d(state);
    std::vector<uint64_t> Bp(cc_ring_packed_size(d.K, d.N) / 8);
    cc_prg_u64(&d.prg, 0, Bp.size(), Bp.data());
    for (auto _ : state) {
        if (small_route)
            cc_ring_gemm_packed(CC_NOTRANS, d.M, d.N, d.K, d.A.data(), d.K, Bp.data(),
                                d.C.data(), d.N, false);
        else
            cc_ring_gemm_packed_blocked(CC_NOTRANS, d.M, d.N, d.K, d.A.data(), d.K, Bp.data(),
                                        d.C.data(), d.N, false);
        benchmark::DoNotOptimize(d.C.data());
        benchmark::ClobberMemory();
    }
    d.finish(state);
}
void BM_decode_packed_old(benchmark::State &s) { decode_packed(s, false); }
void BM_decode_packed_new(benchmark::State &s) { decode_packed(s, true); }

// Column block of main's synthetic provider: 512 Ki elements, whole panels.
size_t synth_block_cols(size_t K, size_t N)
{
    const size_t block = size_t(1) << 19;
    return K * N <= block ? N : std::max<size_t>(8, block / K / 8 * 8);
}

enum class Synth { old_path, fused, aes_only };

struct GenCtx { const cc_prg *prg; uint64_t first; };
void gen_fill(void *ctx, uint64_t first, size_t n, uint64_t *out)
{
    const GenCtx *g = static_cast<const GenCtx *>(ctx);
    cc_prg_u64(g->prg, g->first + first, n, out);
}

void decode_synth(benchmark::State &state, Synth how)
{
    Scope scope;
    cc_thread_set_count(state.range(3));
    DecodeProblem d(state);
    size_t cols = synth_block_cols(d.K, d.N);
    std::vector<uint64_t> buf(how == Synth::fused ? 0 : cc_ring_packed_size(d.K, cols) / 8);
    cc_ring_apack ap = {};
    for (auto _ : state) {
        if (how == Synth::fused) {
            if (cc_ring_apack_make(&ap, CC_NOTRANS, d.M, d.K, d.A.data(), d.K) != CC_OK) {
                state.SkipWithError(cc_error_message());
                break;
            }
            GenCtx g = { &d.prg, 0 };
            cc_ring_gemm_apacked_gen(&ap, d.N, gen_fill, &g, d.C.data(), d.N, false);
        } else {
            for (size_t c0 = 0; c0 < d.N; c0 += cols) {
                size_t nb = std::min(cols, d.N - c0);
                cc_prg_u64(&d.prg, c0 * d.K, cc_ring_packed_size(d.K, nb) / 8, buf.data());
                if (how == Synth::old_path)
                    cc_ring_gemm_packed_blocked(CC_NOTRANS, d.M, nb, d.K, d.A.data(), d.K,
                                                buf.data(), d.C.data() + c0, d.N, false);
            }
        }
        benchmark::DoNotOptimize(d.C.data());
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    cc_ring_apack_free(&ap);
    d.finish(state);
}
void BM_decode_synth_old(benchmark::State &s) { decode_synth(s, Synth::old_path); }
void BM_decode_synth_fused(benchmark::State &s) { decode_synth(s, Synth::fused); }
void BM_decode_synth_aes(benchmark::State &s) { decode_synth(s, Synth::aes_only); }

void decode_shapes(benchmark::internal::Benchmark *b)
{
    for (int threads : { 1, 2 })
        for (int M : { 1, 8 }) {
            b->Args({ M, 11008, 4096, threads });
            b->Args({ M, 4096, 11008, threads });
        }
    b->ArgNames({ "M", "N", "K", "threads" });
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
}
BENCHMARK(BM_decode_packed_old)->Apply(decode_shapes);
BENCHMARK(BM_decode_packed_new)->Apply(decode_shapes);
BENCHMARK(BM_decode_synth_old)->Apply(decode_shapes);
BENCHMARK(BM_decode_synth_fused)->Apply(decode_shapes);
BENCHMARK(BM_decode_synth_aes)->Apply(decode_shapes);

// ---- elementwise ----------------------------------------------------------

template <typename F>
void elementwise(benchmark::State &state, int inputs, F op)
{
    Scope scope;
    cc_thread_set_count(1);
    const size_t n = state.range(0);
    std::vector<uint64_t> a(n), b(n), out(n);
    fill(a, 3);
    fill(b, 4);
    for (auto _ : state) {
        op(n, a.data(), b.data(), out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * n * 8 * (inputs + 1));
    state.SetLabel(cc_ring_isa());
}

void BM_ring_add(benchmark::State &s)
{ elementwise(s, 2, [](size_t n, const uint64_t *a, const uint64_t *b, uint64_t *o) { cc_ring_add(n, a, b, o); }); }
void BM_ring_mul(benchmark::State &s)
{ elementwise(s, 2, [](size_t n, const uint64_t *a, const uint64_t *b, uint64_t *o) { cc_ring_mul(n, a, b, o); }); }
void BM_ring_mul_scalar(benchmark::State &s)
{ elementwise(s, 1, [](size_t n, const uint64_t *a, const uint64_t *, uint64_t *o) { cc_ring_mul_scalar(n, a, 12345, o); }); }
void BM_ring_shr_arith(benchmark::State &s)
{ elementwise(s, 1, [](size_t n, const uint64_t *a, const uint64_t *, uint64_t *o) { cc_ring_shr_arith(n, a, 18, o); }); }
void BM_ring_xor(benchmark::State &s)
{ elementwise(s, 2, [](size_t n, const uint64_t *a, const uint64_t *b, uint64_t *o) { cc_ring_xor(n, a, b, o); }); }

// 4 Ki elements (L1), 1 Mi elements (24 MiB traffic: memory)
BENCHMARK(BM_ring_add)->Arg(4 << 10)->Arg(1 << 20);
BENCHMARK(BM_ring_mul)->Arg(4 << 10)->Arg(1 << 20);
BENCHMARK(BM_ring_mul_scalar)->Arg(4 << 10)->Arg(1 << 20);
BENCHMARK(BM_ring_shr_arith)->Arg(4 << 10)->Arg(1 << 20);
BENCHMARK(BM_ring_xor)->Arg(4 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
