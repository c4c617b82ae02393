// --link-profile NAME|RTT_MS,GBPS for the benchmarks that open links
// (bench_net, bench_proto, bench_nonlinear, bench_models): taken out of argv
// before google-benchmark parses the rest, applied to every cc_net_options
// the benchmark builds (the forked parties inherit it), and recorded in the
// output's context.  docs/NETWORK.md "Emulated links".
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <benchmark/benchmark.h>

extern "C" {
#include "core.h"
#include "net.h"
}

inline cc_link_profile &bench_link_profile()
{
    static cc_link_profile profile{}; // zeroed: no emulation
    return profile;
}

// Removes "--link-profile X" / "--link-profile=X" from argv; a bad value
// ends the program with the parser's message (exit 2, as for other usage).
inline void bench_take_link_profile(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = nullptr;
        if (std::strcmp(a, "--link-profile") == 0) {
            if (i + 1 == *argc) {
                std::fprintf(stderr, "%s: --link-profile needs a value\n", argv[0]);
                std::exit(2);
            }
            v = argv[++i];
        } else if (std::strncmp(a, "--link-profile=", 15) == 0) {
            v = a + 15;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (cc_link_profile_parse(v, &bench_link_profile()) != CC_OK) {
            std::fprintf(stderr, "%s: %s\n", argv[0], cc_error_message());
            std::exit(2);
        }
    }
    *argc = out;
    argv[out] = nullptr;
}

#define CARACAL_BENCH_MAIN()                                                                \
    int main(int argc, char **argv)                                                         \
    {                                                                                       \
        bench_take_link_profile(&argc, argv);                                               \
        benchmark::AddCustomContext("link_profile", cc_link_profile_name(&bench_link_profile())); \
        benchmark::Initialize(&argc, argv);                                                 \
        if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                   \
        benchmark::RunSpecifiedBenchmarks();                                                \
        benchmark::Shutdown();                                                              \
        return 0;                                                                           \
    }
