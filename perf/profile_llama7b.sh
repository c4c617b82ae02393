#!/usr/bin/env bash
# Profile the main job (three local parties, LLaMA-7B geometry, synthetic
# weights) with `perf record` and print the hottest symbols over all three
# party processes.  Extra arguments go to llama7b_token, e.g.
#   perf/profile_llama7b.sh --approx puma
#   perf/profile_llama7b.sh --synthetic stories260k -n 16
# Needs linux-perf (apt-get install linux-perf).  Where the VM exposes no
# hardware counters, perf falls back to the cpu-clock software event.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CARACAL_BUILD_DIR:-build}
out=${PERF_OUT:-perf/out}
mkdir -p "$out"
command -v perf >/dev/null || { echo "perf not found: apt-get install linux-perf" >&2; exit 2; }
[ -x "$build/bin/llama7b_token" ] || { echo "build first: third_party/bootstrap" >&2; exit 2; }
event=cycles
perf stat -e cycles true >/dev/null 2>&1 || event=cpu-clock
perf record -e "$event" -F 499 -g -o "$out/llama7b.perf.data" -- \
    "$build/bin/llama7b_token" -q --json "$out/llama7b.json" "$@" >"$out/llama7b.txt"
cat "$out/llama7b.txt"
echo
echo "== hottest symbols ($event, all processes) =="
perf report -i "$out/llama7b.perf.data" --no-children --sort symbol --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -25
