#!/usr/bin/env python3
"""Scores a logits dump against a golden file, as acceptance does.

    compare_logits.py GOLDEN LOGITS [--margin 0.05] [--mean 0.02] [--max 0.15]

GOLDEN (stories260K.golden.bin layout, little-endian): int32 L, int32 V,
int32 tokens[L], float32 logits[L][V].  LOGITS: float32 [L][V].
Passes when the top-1 token agrees at every position whose golden margin
(best minus second best) is at least --margin, and the mean and largest
absolute logit differences stay within --mean and --max.
"""
import argparse
import struct
import sys


def floats(raw, count, offset=0):
    return struct.unpack_from("<%df" % count, raw, offset)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("golden")
    ap.add_argument("logits")
    ap.add_argument("--margin", type=float, default=0.05)
    ap.add_argument("--mean", type=float, default=0.02)
    ap.add_argument("--max", type=float, default=0.15)
    opt = ap.parse_args()

    gold = open(opt.golden, "rb").read()
    rows, vocab = struct.unpack_from("<ii", gold)
    want = floats(gold, rows * vocab, 8 + 4 * rows)
    got_raw = open(opt.logits, "rb").read()
    if len(got_raw) != 4 * rows * vocab:
        sys.exit("%s: %d bytes, expected %d x %d float32" % (opt.logits, len(got_raw), rows, vocab))
    got = floats(got_raw, rows * vocab)

    total = worst = 0.0
    checked = disagree = 0
    for r in range(rows):
        w = want[r * vocab:(r + 1) * vocab]
        g = got[r * vocab:(r + 1) * vocab]
        for a, b in zip(w, g):
            d = abs(a - b)
            total += d
            worst = max(worst, d)
        top = max(range(vocab), key=w.__getitem__)
        second = max((w[j] for j in range(vocab) if j != top), default=w[top])
        if w[top] - second >= opt.margin:
            checked += 1
            if max(range(vocab), key=g.__getitem__) != top:
                disagree += 1
    mean = total / (rows * vocab)
    ok = disagree == 0 and mean <= opt.mean and worst <= opt.max
    print("positions %d, top-1 checked %d, disagree %d, mean |d| %.5f, max |d| %.5f: %s"
          % (rows, checked, disagree, mean, worst, "PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
