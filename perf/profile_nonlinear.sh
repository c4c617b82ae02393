#!/bin/sh
# Profiles one bench_nonlinear benchmark (all three party processes: perf
# follows the forks) with `perf record` and prints the top symbols.
#   perf/profile_nonlinear.sh [filter] [build-dir]
#   default filter: BM_gelu_128x3072/precise:0 (PUMA GeLU on 128×3072)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-'BM_gelu_128x3072/precise:0'}
build=${2:-$root/build}
bin=$build/bin/bench_nonlinear
[ -x "$bin" ] || { echo "profile_nonlinear: $bin not built (cmake --build $build --target bench_nonlinear)" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile_nonlinear: perf not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf record -q -g -F 999 -o "$out/perf.data" -- "$bin" --benchmark_filter="$filter" >&2
perf report -i "$out/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9]+\.[0-9]+%' | head -${TOP:-25}
