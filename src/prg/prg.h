/* prg — AES-128 counter-mode streams and replicated correlated randomness.
 *
 * Stream layout (fixed, tests pin it): block number c of the stream with id
 * `stream` is AES_k(LE64(c) || LE64(stream)); u64 element j of a stream is the
 * little-endian word (j & 1) of block j >> 1.  Any thread can fill any range,
 * so output never depends on the thread count.  AES-NI, VAES and a portable
 * fallback are selected once at start-up (CARACAL_ISA=ref forces portable). */
#ifndef CARACAL_PRG_H
#define CARACAL_PRG_H

#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

typedef struct cc_aes128 {
    _Alignas(16) uint8_t rk[11 * 16];   /* expanded round keys */
} cc_aes128;

void cc_aes128_init(cc_aes128 *k, const uint8_t key[16]);
void cc_aes128_encrypt_block(const cc_aes128 *k, const uint8_t in[16], uint8_t out[16]);
/* Standard SP 800-38A CTR (128-bit big-endian counter block incremented per
 * block), XORed into in -> out; used by the known-answer tests. */
void cc_aes128_ctr_be(const cc_aes128 *k, const uint8_t iv[16], const uint8_t *in,
                      uint8_t *out, size_t len);

/* A keyed stream.  Wipe with cc_prg_wipe() when done. */
typedef struct cc_prg {
    cc_aes128 key;
    uint64_t stream;
} cc_prg;

void cc_prg_init(cc_prg *p, const uint8_t seed[16], uint64_t stream);
void cc_prg_wipe(cc_prg *p);
/* out[i] = element (first + i) of the stream, i < n.  Multi-threaded for
 * large n, identical bytes for any thread count. */
void cc_prg_u64(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
/* Same words, XOR-accumulated / added into out (saves a pass). */
void cc_prg_u64_xor(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
void cc_prg_u64_add(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
/* Fresh random seed from the OS (libsodium randombytes). */
void cc_prg_random_seed(uint8_t seed[16]);

/* ---- PRSS: pseudo-random secret sharing (DESIGN.md §3) ----------------------
 * Party i holds k_i (shared with prev) and k_{i+1} (shared with next).  Each
 * call consumes n elements of one common counter.  Rule: all three parties
 * make the same sequence of cc_prss_* calls with the same n (they run the same
 * program on the same public shapes); a party that does not need a call's
 * output (e.g. a truncation opener vs the helper) calls cc_prss_reserve(n). */
typedef struct cc_prss {
    cc_prg with_prev;   /* k_i     — also known to prev */
    cc_prg with_next;   /* k_{i+1} — also known to next */
    cc_prg own;         /* private to this party */
    uint64_t counter;   /* next unused element index */
} cc_prss;

/* Keys are the 16-byte secrets this party shares with prev and next (from the
 * authenticated key exchange, src/net); they are copied, callers wipe theirs. */
void cc_prss_init(cc_prss *s, const uint8_t key_prev[16], const uint8_t key_next[16]);
void cc_prss_wipe(cc_prss *s);
/* Reserve n counter positions; returns the first. */
uint64_t cc_prss_reserve(cc_prss *s, size_t n);
/* Arithmetic zero sharing: z = F(k_i) - F(k_{i+1}), Σ z over parties = 0. */
void cc_prss_zero(cc_prss *s, size_t n, uint64_t *z);
/* Boolean zero sharing: z = F(k_i) ^ F(k_{i+1}). */
void cc_prss_zero_xor(cc_prss *s, size_t n, uint64_t *z);
/* Random replicated value: (r_i, r_{i+1}) = (F(k_i), F(k_{i+1})). */
void cc_prss_rand(cc_prss *s, size_t n, uint64_t *r_self, uint64_t *r_next);
/* Randomness shared with exactly one neighbour (same counter discipline). */
void cc_prss_with_prev(cc_prss *s, size_t n, uint64_t *out);
void cc_prss_with_next(cc_prss *s, size_t n, uint64_t *out);

#endif
