#!/usr/bin/env python3
"""Writes the seed corpora of the file-format harnesses make_seeds.c does not
cover: tokenizer_bin, tokenizer_json, safetensors (run from the repository
root: python3 tests/fuzz/make_seeds.py).  Seeds are small well-formed
inputs: the head of tests/data/llama2_tokenizer.bin cut at an entry
boundary, a tiny synthetic tokenizer.bin, a tiny SentencePiece-style
tokenizer.json in both merge notations, and tiny safetensors files."""
import json
import os
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


def safetensors(tensors, metadata=None):
    """tensors: (name, dtype, shape, element size); data is a byte ramp."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, size in tensors:
        n = size
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes(i % 251 for i in range(n))
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


os.makedirs(OUT + "safetensors", exist_ok=True)
open(OUT + "safetensors/gpt2-like", "wb").write(safetensors(
    [("wte.weight", "F32", [10, 8], 4), ("h.0.ln_1.bias", "F32", [8], 4),
     ("h.0.attn.c_attn.weight", "F16", [8, 24], 2)], {"format": "pt"}))
open(OUT + "safetensors/bf16-scalar-empty", "wb").write(safetensors(
    [("a", "BF16", [3, 2], 2), ("scalar", "F32", [], 4), ("empty", "F16", [0, 4], 2)]))

open(OUT + "tokenizer_bin/llama2-head", "wb").write(llama_head(1200))
open(OUT + "tokenizer_bin/synthetic", "wb").write(synthetic_bin())
open(OUT + "tokenizer_json/small-strings", "wb").write(small_json(False))
open(OUT + "tokenizer_json/small-pairs", "wb").write(small_json(True))
