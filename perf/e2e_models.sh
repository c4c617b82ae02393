#!/bin/sh
# Runs the end-to-end GPT-2 base / BERT-base rows of bench_models RUNS times
# each and prints one JSON object per row: best and median wall time (the
# machine is shared, so single runs swing), the three parties' CPU seconds,
# bytes per party and in total, rounds, peak RSS, and every run's wall time.
#   perf/e2e_models.sh [runs] [build-dir] [row filter]
#   default: 3 runs, build/, both rows (gpt2_base, bert_base)
# Environment: CARACAL_BENCH_INSECURE=1 / CARACAL_BENCH_THREADS=N as in
# bench/bench_models.cpp.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
build=${2:-$root/build}
rows=${3:-"gpt2_base bert_base"}
bin=$build/bin/bench_models
[ -x "$bin" ] || { echo "e2e_models: $bin not built (cmake --build $build --target bench_models)" >&2; exit 1; }
case $runs in ''|*[!0-9]*|0) echo "e2e_models: runs must be a positive integer, got '$runs'" >&2; exit 2;; esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for row in $rows; do
  i=1
  while [ "$i" -le "$runs" ]; do
    echo "e2e_models: $row run $i/$runs" >&2
    "$bin" --benchmark_filter="BM_$row" --benchmark_format=json >"$out/$row.$i.json" 2>"$out/$row.$i.err" ||
      { echo "e2e_models: $row run $i failed:" >&2; tail -5 "$out/$row.$i.err" >&2; exit 1; }
    i=$((i + 1))
  done
  python3 - "$row" "$out"/"$row".*.json <<'EOF'
import json, statistics, sys
row, files = sys.argv[1], sys.argv[2:]
runs = []
for f in files:
    b = json.load(open(f))["benchmarks"][0]
    if "error_message" in b:
        sys.exit("e2e_models: %s: %s" % (row, b["error_message"]))
    runs.append(b)
walls = sorted(b["wall_s"] for b in runs)
best = min(runs, key=lambda b: b["wall_s"])
print(json.dumps({
    "row": row, "label": best.get("label", ""), "runs": len(runs),
    "wall_s_best": walls[0], "wall_s_median": statistics.median(walls), "wall_s_all": walls,
    "cpu_s_sum_best_run": best.get("cpu_s_sum"),
    "total_GB": best["total_GB"],
    "per_party_GB": [best["P%d_GB" % i] for i in range(3)],
    "rounds": best["rounds"],
    "peak_rss_GB": [best["P%d_peak_rss_GB" % i] for i in range(3)],
    "x_matmul_best_run": best.get("x_matmul"),
    "x_matmul_cpu_all": [b.get("x_matmul_cpu") for b in sorted(runs, key=lambda b: b["wall_s"])],
    "insecure_links": bool(best.get("insecure_links")),
    "threads_per_party": best.get("threads_per_party"),
    "per_op_best_run": {c: {"s": best[c + "_s"], "GB": best[c + "_GB"], "rounds": best[c + "_rounds"]}
                        for c in ["weights", "input", "embedding", "matmul", "attention", "softmax",
                                  "norms", "activations", "lm_head", "argmax", "output"]},
}))
EOF
done
