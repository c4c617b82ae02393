#!/usr/bin/env python3
"""Derive the linear maps of the tower-field AES S-box used by aes_ref.c.

GF(2^8) (AES, modulus x^8+x^4+x^3+x+1) is isomorphic to GF(2^4)[y]/(y^2+y+L)
with GF(2^4) = GF(2)[z]/(z^4+z+1).  A tower element is a1*y + a0, stored
with a0 in bits 0..3 and a1 in bits 4..7.  Inversion in the tower needs only
GF(2^4) arithmetic:  (a1 y + a0)^-1 = (a1 d) y + (a0 + a1) d,
d = (L a1^2 + a0 a1 + a0^2)^-1.  This script finds L, a root beta of the AES
modulus in the tower (giving the isomorphism x^i -> beta^i), and prints the
input map (AES basis -> tower) and the output map (tower -> AES basis, fused
with the S-box affine matrix) as XOR lists, after checking all 256 values.
"""

def gf256_mul(a, b):
    r = 0
    while b:
        if b & 1: r ^= a
        a <<= 1
        if a & 0x100: a ^= 0x11b
        b >>= 1
    return r

def gf16_mul(a, b):
    r = 0
    for i in range(4):
        if (b >> i) & 1: r ^= a << i
    for d in range(6, 3, -1):
        if (r >> d) & 1: r ^= 0x13 << (d - 4)
    return r

def tower_mul(a, b, L):
    a0, a1, b0, b1 = a & 15, a >> 4, b & 15, b >> 4
    hh = gf16_mul(a1, b1)
    hi = hh ^ gf16_mul(a1, b0) ^ gf16_mul(a0, b1)
    lo = gf16_mul(hh, L) ^ gf16_mul(a0, b0)
    return (hi << 4) | lo

def tower_pow(a, e, L):
    r = 1
    for _ in range(e): r = tower_mul(r, a, L)
    return r

def sbox(x):
    inv = 0 if x == 0 else next(y for y in range(1, 256) if gf256_mul(x, y) == 1)
    return affine(inv)

def affine(v):                 # FIPS-197 (5.1): b ^ rotl1..4(b) ^ 0x63
    rot = lambda w, n: ((w << n) | (w >> (8 - n))) & 0xff
    return v ^ rot(v, 1) ^ rot(v, 2) ^ rot(v, 3) ^ rot(v, 4) ^ 0x63

def apply(cols, x):            # matrix given by its columns (images of bit j)
    r = 0
    for j in range(8):
        if (x >> j) & 1: r ^= cols[j]
    return r

def rows_of(cols, n=8):
    return [[j for j in range(len(cols)) if (cols[j] >> i) & 1] for i in range(n)]

squares = {gf16_mul(t, t) ^ t for t in range(16)}
best = None
for L in range(1, 16):
    if L in squares: continue                  # y^2+y+L has a root: reducible
    for beta in range(2, 256):
        # beta must satisfy the AES modulus: beta^8 + beta^4 + beta^3 + beta + 1 = 0
        p = [tower_pow(beta, e, L) for e in range(9)]
        if p[8] ^ p[4] ^ p[3] ^ p[1] ^ p[0]: continue
        to_tower = p[:8]                       # column j = beta^j
        inv_map = {apply(to_tower, x): x for x in range(256)}
        from_tower = [inv_map[1 << j] for j in range(8)]
        aff = lambda v: affine(v) ^ 0x63
        out_cols = [aff(c) for c in from_tower]
        lam_sq = [gf16_mul(L, gf16_mul(1 << j, 1 << j)) for j in range(4)]
        cost = sum(len(r) for r in rows_of(to_tower) + rows_of(out_cols) + rows_of(lam_sq, 4))
        if best is None or cost < best[0]:
            best = (cost, L, beta, to_tower, out_cols, lam_sq)

cost, L, beta, to_tower, out_cols, lam_sq = best

def gf16_inv(a):
    return 0 if a == 0 else next(b for b in range(16) if gf16_mul(a, b) == 1)

for x in range(256):                           # the whole S-box, the C way
    t = apply(to_tower, x)
    a0, a1 = t & 15, t >> 4
    d = gf16_inv(apply(lam_sq, a1) ^ gf16_mul(a0, a1) ^ gf16_mul(a0, a0))
    u = (gf16_mul(a1, d) << 4) | gf16_mul(a0 ^ a1, d)
    assert apply(out_cols, u) ^ 0x63 == sbox(x), x

print(f"/* L = {L:#x}, beta = {beta:#04x}, {cost} XOR inputs */")
for name, cols, n in (("in", to_tower, 8), ("out", out_cols, 8), ("lam_sq", lam_sq, 4)):
    print(f"{name}:")
    for i, r in enumerate(rows_of(cols, n)):
        print(f"  r[{i}] = " + " ^ ".join(f"x[{j}]" for j in r) + ";")
