// Shared by the benchmarks that fork three local parties (bench_proto,
// bench_nonlinear): the job lives in MAP_SHARED memory so the forked parties
// can write their results back, then one launch per benchmark iteration.
// A Job has `PartyResult res[3]`, each with `int status` and `char msg[]`.
#pragma once

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include <benchmark/benchmark.h>

extern "C" {
#include "core.h"
#include "net.h"
}

#include "bench_link_profile.h"

// A value-initialised Job in memory the forked parties share; nullptr (and
// the benchmark marked as skipped) if it cannot be mapped.
template <class Job> Job *bench_shared_job(benchmark::State &state)
{
    void *page = mmap(nullptr, sizeof(Job), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        state.SkipWithError("mmap");
        return nullptr;
    }
    return new (page) Job{};
}

template <class Job> void bench_release_job(Job *job) { munmap(job, sizeof(Job)); }

// CARACAL_BENCH_THREADS: worker threads per party (default 1: three parties
// already share this machine's cores).
inline int bench_threads_per_party()
{
    const char *th = getenv("CARACAL_BENCH_THREADS");
    return th ? atoi(th) : 1;
}

// Plain TCP (the setting of the MP-SPDZ reference figures) unless
// CARACAL_BENCH_SECURE=1 asks for the AEAD links; --link-profile applies.
inline cc_net_options bench_net_options()
{
    cc_net_options o;
    cc_net_options_default(&o);
    const char *sec = getenv("CARACAL_BENCH_SECURE");
    o.insecure_plaintext = !(sec && atoi(sec));
    o.link_profile = bench_link_profile();
    return o;
}

// One launch of the three parties; false (benchmark skipped with every
// party's message) if the launch or any party failed.
template <class Job>
bool bench_run_parties(benchmark::State &state, cc_party_main party_main, Job *job,
                       const cc_net_options &o)
{
    cc_launch_result res;
    cc_status s = cc_net_launch_local(party_main, job, nullptr, nullptr, &o, &res);
    if (s == CC_OK && !job->res[0].status && !job->res[1].status && !job->res[2].status)
        return true;
    char msg[2048];
    snprintf(msg, sizeof msg, "launch: %s | P0: %s | P1: %s | P2: %s", cc_error_message(),
             job->res[0].msg, job->res[1].msg, job->res[2].msg);
    state.SkipWithError(msg);
    return false;
}
