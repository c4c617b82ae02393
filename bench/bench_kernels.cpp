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
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "core.h"
}
#include "kern.h"
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
