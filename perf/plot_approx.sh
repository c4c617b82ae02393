#!/bin/sh
# Renders docs/img/approx_<fn>.png: each nonlinear approximation of src/nn
# (puma and precise sets, plaintext fixed-point models, f = 18) against the
# exact function, and its error.  Prints the max/mean error table used in
# docs/APPROXIMATIONS.md.
#   perf/plot_approx.sh [build-dir]      (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
lib=$build/src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src/core" -I"$root/src/nn" \
   -I"$root/src/proto" -I"$root/src/net" -I"$root/src/prg" -I"$root/src/ring" \
   "$root/perf/plot_approx_data.c" -o "$work/gen" \
   "$lib/nn/libcaracal_nn.a" "$lib/core/libcaracal_core.a" -lm
"$work/gen" "$work"
mkdir -p "$root/docs/img"
for fn in gelu silu exp reciprocal rsqrt; do
  gnuplot -e "datafile='$work/$fn.dat'; outfile='$root/docs/img/approx_$fn.png'; fname='$fn'" \
          "$root/perf/plot_approx.gp"
done
echo "wrote $root/docs/img/approx_{gelu,silu,exp,reciprocal,rsqrt}.png" >&2
