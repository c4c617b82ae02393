/* Frame headers and per-direction AEAD.
 *
 * Nonce = the frame's sequence number (little-endian, zero-padded to the
 * cipher's nonce size).  Keys are per direction and per session (derived from
 * fresh handshake nonces), so a (key, nonce) pair never repeats.  The whole
 * header, including the sequence number, is the associated data: a replayed,
 * reordered or edited frame fails to verify even before the receiver's own
 * sequence check. */
#include "net_impl.h"

#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* layout: type u8 | flags u8 | reserved u16 | op_hash u32 | seq u64 |
 *         msg_len u64 | chunk_len u32 | reserved u32 */
void cc_frame_encode(const cc_frame_hdr *h, uint8_t out[CC_FRAME_HDR_BYTES])
{
    memset(out, 0, CC_FRAME_HDR_BYTES);
    out[0] = h->type;
    out[1] = h->flags;
    put32(out + 4, h->op_hash);
    put64(out + 8, h->seq);
    put64(out + 16, h->msg_len);
    put32(out + 24, h->chunk_len);
}

bool cc_frame_decode(const uint8_t in[CC_FRAME_HDR_BYTES], cc_frame_hdr *h)
{
    h->type = in[0];
    h->flags = in[1];
    h->op_hash = get32(in + 4);
    h->seq = get64(in + 8);
    h->msg_len = get64(in + 16);
    h->chunk_len = get32(in + 24);
    if (in[2] || in[3] || get32(in + 28)) return false;
    if (h->flags & ~(CC_FRAME_FIRST | CC_FRAME_LAST)) return false;
    return h->type == CC_FRAME_DATA || h->type == CC_FRAME_BYE || h->type == CC_FRAME_ABORT ||
           h->type == CC_FRAME_PING;
}

uint32_t cc_op_hash(const char *tag)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; tag && *tag; tag++) h = (h ^ (uint8_t)*tag) * 16777619u;
    return h;
}

bool cc_aead_local_aes(void)
{
    const char *force = getenv("CARACAL_NET_CIPHER");
    if (force && strcmp(force, "xchacha") == 0) return false;
    return crypto_aead_aes256gcm_is_available();
}

const char *cc_cipher_name(cc_cipher c)
{
    switch (c) {
    case CC_CIPHER_AESGCM: return "AES-256-GCM";
    case CC_CIPHER_XCHACHA: return "XChaCha20-Poly1305";
    default: return "INSECURE-PLAINTEXT";
    }
}

bool cc_aead_vaes_selected(void)
{
    const char *force = getenv("CARACAL_NET_GCM");
    if (force && strcmp(force, "sodium") == 0) return false;
    return cc_gcm_available();
}

void cc_aead_init(cc_aead *a, cc_cipher c, const uint8_t key[32])
{
    a->cipher = c;
    memcpy(a->key, key, 32);
    a->use_vaes = c == CC_CIPHER_AESGCM && cc_aead_vaes_selected();
    if (a->use_vaes) cc_gcm_init(&a->gcm, key);
    else if (c == CC_CIPHER_AESGCM) crypto_aead_aes256gcm_beforenm(&a->aes, key);
}

void cc_aead_wipe(cc_aead *a) { cc_wipe(a, sizeof *a); }

size_t cc_aead_tag_bytes(const cc_aead *a) { return a->cipher == CC_CIPHER_NONE ? 0 : CC_AEAD_TAG_BYTES; }

static void make_nonce(uint64_t seq, uint8_t nonce[24])
{
    memset(nonce, 0, 24);
    put64(nonce, seq);
}

void cc_aead_seal(const cc_aead *a, uint64_t seq, const uint8_t hdr[CC_FRAME_HDR_BYTES],
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[CC_AEAD_TAG_BYTES])
{
    uint8_t nonce[24], empty[1] = {0};
    if (!len) in = out = empty; /* libsodium wants non-NULL buffers even for 0 bytes */
    make_nonce(seq, nonce);
    unsigned long long tl;
    if (a->use_vaes)
        cc_gcm_seal(&a->gcm, nonce, hdr, CC_FRAME_HDR_BYTES, in, len, out, tag);
    else if (a->cipher == CC_CIPHER_AESGCM)
        crypto_aead_aes256gcm_encrypt_detached_afternm(out, tag, &tl, in, len, hdr, CC_FRAME_HDR_BYTES,
                                                       NULL, nonce, &a->aes);
    else if (a->cipher == CC_CIPHER_XCHACHA)
        crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, tag, &tl, in, len, hdr,
                                                            CC_FRAME_HDR_BYTES, NULL, nonce, a->key);
    else if (out != in)
        memcpy(out, in, len);
}

bool cc_aead_open(const cc_aead *a, uint64_t seq, const uint8_t hdr[CC_FRAME_HDR_BYTES],
                  uint8_t *buf, size_t len, const uint8_t tag[CC_AEAD_TAG_BYTES])
{
    uint8_t nonce[24], empty[1];
    if (!len) buf = empty; /* libsodium wants non-NULL buffers even for 0 bytes */
    make_nonce(seq, nonce);
    if (a->use_vaes) return cc_gcm_open(&a->gcm, nonce, hdr, CC_FRAME_HDR_BYTES, buf, len, buf, tag);
    if (a->cipher == CC_CIPHER_AESGCM)
        return crypto_aead_aes256gcm_decrypt_detached_afternm(buf, NULL, buf, len, tag, hdr,
                                                              CC_FRAME_HDR_BYTES, nonce, &a->aes) == 0;
    if (a->cipher == CC_CIPHER_XCHACHA)
        return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, tag, hdr,
                                                                   CC_FRAME_HDR_BYTES, nonce, a->key) == 0;
    return true;
}
