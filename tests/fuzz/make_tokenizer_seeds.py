#!/usr/bin/env python3
"""Writes the tokenizer_bin and tokenizer_json seed corpora (run from the
repository root: python3 tests/fuzz/make_tokenizer_seeds.py).  Seeds are
small well-formed vocabularies: the head of tests/data/llama2_tokenizer.bin
cut at an entry boundary, a tiny synthetic tokenizer.bin, and a tiny
SentencePiece-style tokenizer.json in both merge notations."""
import json
import struct

OUT = "tests/fuzz/corpus/"


def llama_head(n_tokens):
    d = open("tests/data/llama2_tokenizer.bin", "rb").read()
    off = 4
    for _ in range(n_tokens):
        (plen,) = struct.unpack_from("<i", d, off + 4)
        off += 8 + plen
    return d[:off]


def synthetic_bin():
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)]
    pieces += [("<0x%02X>" % b, 0.0) for b in range(256)]
    pieces += [("\u2581", -1.0), ("a", -2.0), ("b", -3.0), ("\u2581a", -0.5), ("ab", -0.7)]
    out = struct.pack("<i", 8)
    for p, score in pieces:
        b = p.encode()
        out += struct.pack("<fi", score, len(b)) + b
    return out


def small_json(pair_arrays):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({"<0x%02X>" % b: b + 3 for b in range(256)})
    for i, p in enumerate(["\u2581", "a", "b", "c", "\u2581a", "ab", "\u2581ab", "bc"]):
        vocab[p] = 259 + i
    pairs = [["a", "b"], ["\u2581", "a"], ["\u2581a", "b"], ["b", "c"]]
    merges = pairs if pair_arrays else [" ".join(m) for m in pairs]
    doc = {"version": "1.0",
           "added_tokens": [{"id": 1, "content": "<s>", "special": True}],
           "model": {"type": "BPE", "byte_fallback": True, "vocab": vocab, "merges": merges}}
    return json.dumps(doc, ensure_ascii=False).encode()


open(OUT + "tokenizer_bin/llama2-head", "wb").write(llama_head(1200))
open(OUT + "tokenizer_bin/synthetic", "wb").write(synthetic_bin())
open(OUT + "tokenizer_json/small-strings", "wb").write(small_json(False))
open(OUT + "tokenizer_json/small-pairs", "wb").write(small_json(True))
