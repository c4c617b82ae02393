/* Internal interface between the PRG driver (prg.c) and the AES code paths
 * (aes_ref.c, aes_ni.c, aes_vaes256.c, aes_vaes512.c).  Each path is its own
 * translation unit compiled with its own ISA flags and is only called after
 * cpuid said the CPU has that ISA. */
#ifndef CARACAL_PRG_IMPL_H
#define CARACAL_PRG_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "prg.h"

/* What a counter-mode kernel does with each output word w at out[i]. */
typedef enum aes_ctr_mode {
    AES_CTR_STORE = 0,  /* out[i]  = w */
    AES_CTR_XOR,        /* out[i] ^= w */
    AES_CTR_ADD,        /* out[i] += w (mod 2^64) */
    AES_CTR_SUB,        /* out[i] -= w (mod 2^64) */
    AES_CTR_MODE_COUNT
} aes_ctr_mode;

/* ctr: for b < nblocks, block E = AES_k(LE64(block + b) || LE64(stream)) is
 * combined into out[2b] (low word) and out[2b+1] (high word).  out needs
 * only 8-byte alignment.  ecb: encrypt nblocks independent 16-byte blocks. */
typedef void (*aes_ctr_fn)(const cc_aes128 *k, uint64_t stream, uint64_t block,
                           size_t nblocks, uint64_t *out);
typedef void (*aes_ecb_fn)(const cc_aes128 *k, const uint8_t *in, uint8_t *out,
                           size_t nblocks);

typedef struct aes_kernels {
    const char *name;
    aes_ecb_fn ecb;
    aes_ctr_fn ctr[AES_CTR_MODE_COUNT];
} aes_kernels;

extern const aes_kernels cc_aes_kernels_ref;
extern const aes_kernels cc_aes_kernels_aesni;
extern const aes_kernels cc_aes_kernels_vaes256;
extern const aes_kernels cc_aes_kernels_vaes512;

/* Portable key expansion (constant-time S-box scan; run once per key). */
void cc_aes_ref_expand(const uint8_t key[16], uint8_t rk[11 * 16]);

/* Several streams combined into one range of words, chunk by chunk (so the
 * buffer is walked once): out = op_n(...op_1(op_0(out, F_0), F_1)..., F_n).
 * Same layout, threading and thread-count independence as cc_prg_u64. */
typedef struct cc_prg_op {
    const cc_prg *prg;
    aes_ctr_mode mode;
} cc_prg_op;
void cc_prg_apply(const cc_prg_op *ops, int nops, uint64_t first, size_t n, uint64_t *out);

/* The portable path's S-box evaluated on all 256 inputs (tests only). */
void cc_aes_ref_sbox_table(uint8_t table[256]);

/* Combine two words per mode; shared by the scalar tails of every path. */
static inline uint64_t aes_ctr_combine(aes_ctr_mode m, uint64_t old, uint64_t w)
{
    switch (m) {
    case AES_CTR_XOR: return old ^ w;
    case AES_CTR_ADD: return old + w;
    case AES_CTR_SUB: return old - w;
    default:          return w;
    }
}

#endif
