#!/usr/bin/env bash
# llama7b_token --checkpoint converts the checkpoint and then forks the three
# local parties.  The conversion runs OpenMP regions (PRG expansion, packing
# of tensors of >= 2^17 elements) and libgomp keeps its worker threads; a
# fork after that would hand each party a thread pool that exists only in
# its bookkeeping.  llama7b_token converts in a child process and refuses to
# fork the parties from a multi-threaded process, so this run, with a
# checkpoint large enough for the converter to start OpenMP threads, fails
# if the conversion ever moves back into the launching process.
set -euo pipefail
bin=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# a llama2.c checkpoint (format: src/import/checkpoint_llama2c.c): dim 512,
# hidden 512, 1 layer, 8 heads, vocab 512 (shared), seq 32, small weights
python3 - "$work/m.bin" <<'PY'
import array, random, struct, sys
dim, hidden, layers, heads, vocab, seq = 512, 512, 1, 8, 512, 32
rng = random.Random(13)
def tensor(n, scale=0.05):
    return array.array('f', (rng.uniform(-scale, scale) for _ in range(n))).tobytes()
def ones(n):
    return array.array('f', [1.0] * n).tobytes()
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('7i', dim, hidden, layers, heads, heads, vocab, seq))
    f.write(tensor(vocab * dim))                       # token embedding (= classifier)
    f.write(ones(layers * dim))                        # attention RMSNorm
    for _ in range(4): f.write(tensor(layers * dim * dim))   # wq wk wv wo
    f.write(ones(layers * dim))                        # FFN RMSNorm
    for _ in range(3): f.write(tensor(layers * dim * hidden)) # w1 w2 w3
    f.write(ones(dim))                                 # final RMSNorm
    f.write(bytes(4 * seq * (dim // heads)))           # legacy RoPE tables
PY
OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive TMPDIR="$work" timeout 120 \
    "$bin/llama7b_token" --checkpoint "$work/m.bin" --ids 1,7,42 -n 2 --threads 1 -q \
    >"$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: local run after --checkpoint"; exit 1; }
grep -q "threads before forking" "$work/out" && { cat "$work/out"; exit 1; }
# the temporary bundle is removed after the run
if ls -d "$work"/caracal-shares-* >/dev/null 2>&1; then echo "FAIL: shares left behind"; exit 1; fi
echo "checkpoint conversion ran apart from the forked parties"
