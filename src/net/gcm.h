/* AES-256-GCM with VAES + VPCLMULQDQ on 256-bit registers (8 blocks per
 * step), for the link AEAD.  Standard GCM (96-bit nonce), byte-identical to
 * libsodium's crypto_aead_aes256gcm, so the two ends of a link may use
 * either; tests check it against libsodium.  Only used when cpuid reports
 * AVX2 + AES-NI + PCLMULQDQ + VAES + VPCLMULQDQ (cc_gcm_available). */
#ifndef CARACAL_NET_GCM_H
#define CARACAL_NET_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define CC_GCM_ALIGN alignas(32)
extern "C" {
#else
#define CC_GCM_ALIGN _Alignas(32)
#endif

typedef struct cc_gcm {
    CC_GCM_ALIGN uint8_t rk[15][16];  /* AES-256 round keys */
    CC_GCM_ALIGN uint8_t hpow[8][16]; /* H^1..H^8 in the POLYVAL domain */
} cc_gcm;

bool cc_gcm_available(void);
void cc_gcm_init(cc_gcm *g, const uint8_t key[32]);
void cc_gcm_seal(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
/* In place allowed (buf_in == buf_out).  On a bad tag the output is zeroed. */
bool cc_gcm_open(const cc_gcm *g, const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[16]);

#ifdef __cplusplus
}
#endif
#endif
