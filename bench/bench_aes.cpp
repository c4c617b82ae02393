// AES-CTR PRG throughput.  BM_aes_ctr_<path>: one thread, one AES path, bytes
// of keystream per second written into an L2-sized (64 KiB) or large (8 MiB)
// buffer.  BM_prg_u64/<threads>: the dispatched path through cc_prg_u64 on
// 8 MiB with 1 and 2 OpenMP threads.  Paths this CPU lacks report an error
// row instead of a number.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "core.h"
}
#include "prg.h"

namespace {

void run_ctr(benchmark::State &state, cc_prg_impl impl)
{
    if (!cc_prg_impl_supported(impl)) {
        state.SkipWithError("AES path not supported by this CPU");
        return;
    }
    cc_prg_impl saved = cc_prg_active_impl();
    cc_prg_select_impl(impl);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const size_t n = static_cast<size_t>(state.range(0)) / 8;
    std::vector<uint64_t> out(n);
    uint8_t seed[16];
    cc_prg_random_seed(seed);
    cc_prg p;
    cc_prg_init(&p, seed, 1);
    uint64_t first = 0;
    for (auto _ : state) {
        cc_prg_u64(&p, first, n, out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
        first += n;
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 8));
    cc_prg_wipe(&p);
    cc_wipe(seed, sizeof seed);
    omp_set_num_threads(threads);
    cc_prg_select_impl(saved);
}

void BM_aes_ctr_ref(benchmark::State &s) { run_ctr(s, CC_PRG_REF); }
void BM_aes_ctr_aesni(benchmark::State &s) { run_ctr(s, CC_PRG_AESNI); }
void BM_aes_ctr_vaes256(benchmark::State &s) { run_ctr(s, CC_PRG_VAES256); }
void BM_aes_ctr_vaes512(benchmark::State &s) { run_ctr(s, CC_PRG_VAES512); }

BENCHMARK(BM_aes_ctr_ref)->Arg(64 << 10);
BENCHMARK(BM_aes_ctr_aesni)->Arg(64 << 10)->Arg(8 << 20);
BENCHMARK(BM_aes_ctr_vaes256)->Arg(64 << 10)->Arg(8 << 20);
BENCHMARK(BM_aes_ctr_vaes512)->Arg(64 << 10)->Arg(8 << 20);

// The dispatched path with 1 or 2 threads (arg), 8 MiB per call.
void BM_prg_u64(benchmark::State &state)
{
    int threads = omp_get_max_threads();
    omp_set_num_threads(static_cast<int>(state.range(0)));
    const size_t n = (8u << 20) / 8;
    std::vector<uint64_t> out(n);
    uint8_t seed[16];
    cc_prg_random_seed(seed);
    cc_prg p;
    cc_prg_init(&p, seed, 2);
    uint64_t first = 0;
    for (auto _ : state) {
        cc_prg_u64(&p, first, n, out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
        first += n;
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 8));
    state.SetLabel(cc_prg_impl_name(cc_prg_active_impl()));
    cc_prg_wipe(&p);
    cc_wipe(seed, sizeof seed);
    omp_set_num_threads(threads);
}
BENCHMARK(BM_prg_u64)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

namespace {

// PRSS arithmetic zero sharing of 8 MiB (two AES streams fused per 32 KiB
// chunk) vs the same two streams as two full passes (cc_prg_u64 + _sub).
void BM_prss_zero(benchmark::State &state)
{
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const size_t n = (8u << 20) / 8;
    std::vector<uint64_t> z(n);
    uint8_t k0[16], k1[16];
    cc_prg_random_seed(k0);
    cc_prg_random_seed(k1);
    cc_prss s;
    cc_prss_init(&s, k0, k1);
    cc_prg a, b;
    cc_prg_init(&a, k0, 3);
    cc_prg_init(&b, k1, 3);
    uint64_t first = 0;
    for (auto _ : state) {
        if (state.range(0) == 0) {
            cc_prss_zero(&s, n, z.data());
        } else {
            cc_prg_u64(&a, first, n, z.data());
            cc_prg_u64_sub(&b, first, n, z.data());
            first += n;
        }
        benchmark::DoNotOptimize(z.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 8));
    state.SetLabel(state.range(0) == 0 ? "fused" : "two passes");
    cc_prss_wipe(&s);
    cc_prg_wipe(&a);
    cc_prg_wipe(&b);
    cc_wipe(k0, sizeof k0);
    cc_wipe(k1, sizeof k1);
    omp_set_num_threads(threads);
}
BENCHMARK(BM_prss_zero)->Arg(0)->Arg(1);

}  // namespace
