/* prg — AES-128 counter-mode streams and replicated correlated randomness.
 *
 * Stream layout (fixed, tests pin it): block number c of the stream with id
 * `stream` is AES_k(LE64(c) || LE64(stream)); u64 element j of a stream is the
 * little-endian word (j & 1) of block j >> 1.  Any thread can fill any range,
 * so output never depends on the thread count.  AES-NI, VAES and a portable
 * fallback are selected once at start-up (CARACAL_ISA=ref forces portable). */
#ifndef CARACAL_PRG_H
#define CARACAL_PRG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

#ifdef __cplusplus
extern "C" {
#define CC_PRG_ALIGN16 alignas(16)
#else
#define CC_PRG_ALIGN16 _Alignas(16)
#endif

typedef struct cc_aes128 {
    CC_PRG_ALIGN16 uint8_t rk[11 * 16];   /* expanded round keys (FIPS-197 byte order) */
} cc_aes128;                               /* secret: cc_wipe() it when done */

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
/* out[i] = element (first + i) of the stream, i < n (the range may end at
 * element 2^64 - 1 but not wrap past it).  Random packed bits are the same
 * words.  Multi-threaded (OpenMP) for n >= 131072, identical bytes for any
 * thread count; out needs only uint64_t alignment. */
void cc_prg_u64(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
/* Same words, XOR-accumulated / added into out (saves a pass). */
void cc_prg_u64_xor(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
void cc_prg_u64_add(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
/* out[i] -= element (first + i): with _add this builds F(k) - F(k') in place. */
void cc_prg_u64_sub(const cc_prg *p, uint64_t first, size_t n, uint64_t *out);
/* Fresh random seed from the OS (libsodium randombytes). */
void cc_prg_random_seed(uint8_t seed[16]);

/* ---- implementation selection -------------------------------------------
 * Chosen once at start-up: the widest the CPU supports, unless CARACAL_ISA
 * says otherwise (ref -> portable; avx2 -> VAES-256, or AES-NI without VAES;
 * avx512 -> VAES-512).  A forced ISA the CPU lacks falls back to the best
 * available one below it with a warning.  Every path gives identical bytes. */
typedef enum cc_prg_impl {
    CC_PRG_REF = 0,     /* portable C, bitsliced, constant time, slow */
    CC_PRG_AESNI,       /* AES-NI, 8 blocks interleaved */
    CC_PRG_VAES256,     /* VAES on ymm, 16 blocks per iteration */
    CC_PRG_VAES512,     /* VAES on zmm (avx512f + vaes), 32 blocks per iteration */
    CC_PRG_IMPL_COUNT
} cc_prg_impl;

cc_prg_impl cc_prg_active_impl(void);
const char *cc_prg_impl_name(cc_prg_impl impl);   /* "ref", "aesni", ... */
bool cc_prg_impl_supported(cc_prg_impl impl);
/* Test/benchmark hook: switch the process-wide path.  CC_ERR_UNSUPPORTED if
 * this CPU lacks it.  Not safe while other threads are generating. */
cc_status cc_prg_select_impl(cc_prg_impl impl);

/* ---- PRSS: pseudo-random secret sharing (docs/PROTOCOLS.md) ----------------------
 * Party i holds k_i (shared with prev) and k_{i+1} (shared with next).  Each
 * call consumes n elements of one common counter.  Rule: all three parties
 * make the same sequence of cc_prss_* calls with the same n (they run the same
 * program on the same public shapes); a party that does not need a call's
 * output (e.g. a truncation opener vs the helper) calls cc_prss_reserve(n).
 * For pairwise randomness between P_i and P_{i+1}, P_i calls with_next,
 * P_{i+1} calls with_prev and the third party calls reserve, all with the
 * same n, so the counters stay in step.  F(k, c..c+n) is cc_prg_u64 on the
 * key's stream CC_PRSS_STREAM.  Local cost only: 0 rounds, 0 bytes. */
#define CC_PRSS_STREAM UINT64_C(0x5353525000000000)   /* "PRSS" */

typedef struct cc_prss {
    cc_prg with_prev;   /* k_i     — also known to prev */
    cc_prg with_next;   /* k_{i+1} — also known to next */
    cc_prg own;         /* private to this party (fresh OS seed at init) */
    uint64_t counter;   /* next unused element index of the common counter */
    uint64_t own_counter; /* next unused element of the private stream */
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
/* Random replicated value: (r_i, r_{i+1}) = (F(k_i), F(k_{i+1})).  The same
 * words are a random boolean sharing (r = r_0 ^ r_1 ^ r_2) as well as an
 * arithmetic one (r = r_0 + r_1 + r_2). */
void cc_prss_rand(cc_prss *s, size_t n, uint64_t *r_self, uint64_t *r_next);
/* Randomness shared with exactly one neighbour (same counter discipline). */
void cc_prss_with_prev(cc_prss *s, size_t n, uint64_t *out);
void cc_prss_with_next(cc_prss *s, size_t n, uint64_t *out);
/* Randomness only this party knows; does not touch the common counter. */
void cc_prss_private(cc_prss *s, size_t n, uint64_t *out);

/* The same values at an explicit counter range, without advancing the
 * counter: reserve a range once (first = cc_prss_reserve(s, n)), then fill
 * pieces of it in any order, from any thread (e.g. per pipelined chunk);
 * piece [first + a, first + a + m) equals elements a..a+m of the whole. */
void cc_prss_zero_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *z);
void cc_prss_zero_xor_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *z);
void cc_prss_rand_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *r_self,
                     uint64_t *r_next);
void cc_prss_with_prev_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *out);
void cc_prss_with_next_at(const cc_prss *s, uint64_t first, size_t n, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
