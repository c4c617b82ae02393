#!/bin/sh
# Renders docs/img/approx_<fn>.png: each nonlinear approximation of src/nn
# (puma and precise sets, plaintext fixed-point models, f = 18) against the
# exact function, and its error.  Prints the max/mean error table used in
# docs/APPROXIMATIONS.md.
#   perf/plot_approx.sh [build-dir]      (default: build)
# Also prints the declared per-party cost table (cc_nn_cost) of the
# bench_nonlinear shapes.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
lib=$build/src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src/core" -I"$root/src/nn" \
   -I"$root/src/proto" -I"$root/src/net" -I"$root/src/prg" -I"$root/src/ring" -I"$root/src/thread" \
   "$root/perf/plot_approx_data.c" -o "$work/gen" \
   "$lib/nn/libcaracal_nn.a" "$lib/proto/libcaracal_proto.a" "$lib/net/libcaracal_net.a" \
   "$lib/prg/libcaracal_prg.a" "$lib/ring/libcaracal_ring.a" "$lib/thread/libcaracal_thread.a" \
   "$lib/kern/libcaracal_kern.a" "$lib/core/libcaracal_core.a" \
   $(pkg-config --libs libsodium json-c hwloc openblas) -fopenmp -lpthread -lm
"$work/gen" "$work"
echo
"$work/gen" --costs
mkdir -p "$root/docs/img"
for fn in gelu silu exp reciprocal rsqrt; do
  gnuplot -e "datafile='$work/$fn.dat'; outfile='$root/docs/img/approx_$fn.png'; fname='$fn'" \
          "$root/perf/plot_approx.gp"
done
echo "wrote $root/docs/img/approx_{gelu,silu,exp,reciprocal,rsqrt}.png" >&2
