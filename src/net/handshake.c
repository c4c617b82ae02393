/* Link handshake: pinned static X25519 keys for authentication, fresh
 * ephemeral X25519 keys for forward secrecy, key confirmation.  Messages
 * (fixed size, so nothing is allocated from what an unauthenticated peer
 * says):
 *
 *   initiator -> responder  HELLO  (112 B)
 *   responder -> initiator  HELLO  (112 B; status != 0 means "refused")
 *   both ways               CONFIRM (32 B HMAC over the transcript)
 *
 * HELLO = "CARACAL1" | version | role | target role | flags | status | 3 x 0 |
 *         static public key (32) | fresh random nonce (32) |
 *         ephemeral public key (32)
 * flags: bit 0 = --insecure-plaintext-links, bit 1 = can do AES-256-GCM.  The
 * link uses AES-256-GCM when both ends can, else XChaCha20-Poly1305; the
 * flags are in the transcript, so nobody in between can downgrade it.
 *
 * Keys: crypto_kx on the static keys (lower role = kx client) gives
 * K_lo->hi, K_hi->lo; X25519 of the two ephemeral keys gives ee; the
 * transcript hash th = BLAKE2b(HELLO_i || HELLO_r) binds everything to this
 * session:
 *   master = BLAKE2b(key = K_lo->hi || K_hi->lo, "caracal link v2" || th || ee)
 *   crypto_kdf(master, ctx "cclink02"): 1 lo->hi traffic, 2 hi->lo traffic,
 *   3 lo confirm, 4 hi confirm, 5 PRSS root (cc_net_shared_key).
 * Static-static DH authenticates both ends (and, through th, both ephemeral
 * keys); CONFIRM makes it explicit, so a peer lacking the secret key is
 * refused at start-up.  The ephemeral secrets are wiped as soon as ee is
 * computed, and ee once master is: a static secret key stolen later does not
 * decrypt recorded traffic (forward secrecy). */
#include "net_impl.h"

#include <string.h>

#define HELLO_BYTES CC_HELLO_BYTES
#define HELLO_VERSION CC_HELLO_VERSION
static const char HELLO_MAGIC[8] = {'C', 'A', 'R', 'A', 'C', 'A', 'L', '1'};
static const char KDF_CTX[crypto_kdf_CONTEXTBYTES] = {'c', 'c', 'l', 'i', 'n', 'k', '0', '2'};

enum { REFUSE_NONE = 0, REFUSE_KEY = 1, REFUSE_ROLE = 2, REFUSE_MODE = 3 };

const char *cc_role_name(int role)
{
    static const char *const names[] = {"P0", "P1", "P2", "client"};
    return role >= 0 && role <= 3 ? names[role] : "unknown peer";
}

typedef struct hello {
    int role, target, status;
    bool insecure, aes;
    uint8_t pk[32], nonce[32], epk[32];
} hello;

static void hello_encode(const hello *h, uint8_t out[HELLO_BYTES])
{
    memset(out, 0, HELLO_BYTES);
    memcpy(out, HELLO_MAGIC, 8);
    out[8] = HELLO_VERSION;
    out[9] = (uint8_t)h->role;
    out[10] = (uint8_t)h->target;
    out[11] = (uint8_t)((h->insecure ? 1 : 0) | (h->aes ? 2 : 0));
    out[12] = (uint8_t)h->status;
    memcpy(out + 16, h->pk, 32);
    memcpy(out + 48, h->nonce, 32);
    memcpy(out + 80, h->epk, 32);
}

static cc_status hello_decode(const uint8_t in[HELLO_BYTES], hello *h)
{
    if (memcmp(in, HELLO_MAGIC, 8) != 0)
        return cc_error_set(CC_ERR_FORMAT, "not a caracal peer (bad handshake magic)");
    if (in[8] != HELLO_VERSION)
        return cc_error_set(CC_ERR_FORMAT, "handshake version %u, we speak %u", in[8], HELLO_VERSION);
    if (in[9] > 3 || in[10] > 3 || (in[11] & ~3) || in[13] || in[14] || in[15])
        return cc_error_set(CC_ERR_FORMAT, "malformed handshake");
    h->role = in[9];
    h->target = in[10];
    h->insecure = in[11] & 1;
    h->aes = (in[11] & 2) != 0;
    h->status = in[12];
    memcpy(h->pk, in + 16, 32);
    memcpy(h->nonce, in + 48, 32);
    memcpy(h->epk, in + 80, 32);
    return CC_OK;
}

static void key_prefix(const uint8_t pk[32], char out[17]) { cc_hex_encode(pk, 8, out); }

/* Read a HELLO: magic and version first, so a stranger or a peer of another
 * version is told apart at once instead of waiting for bytes that never come. */
static cc_status read_hello(int fd, uint8_t h[HELLO_BYTES], uint64_t deadline_ns)
{
    bool eof = false;
    cc_status s = cc_sock_read(fd, h, 16, deadline_ns, 0, &eof);
    if (s == CC_ERR_TIMEOUT)
        return cc_error_set(s, "no handshake within the handshake deadline");
    if (s == CC_ERR_PEER && eof) return cc_error_set(s, "it hung up without a handshake");
    CC_TRY(s);
    if (memcmp(h, HELLO_MAGIC, 8) != 0)
        return cc_error_set(CC_ERR_FORMAT, "not a caracal peer (bad handshake magic)");
    if (h[8] != HELLO_VERSION)
        return cc_error_set(CC_ERR_MISMATCH, "it speaks handshake version %u, we speak %u "
                            "(update the older side)", h[8], HELLO_VERSION);
    s = cc_sock_read(fd, h + 16, HELLO_BYTES - 16, deadline_ns, 0, NULL);
    if (s == CC_ERR_TIMEOUT) return cc_error_set(s, "handshake stalled (truncated HELLO)");
    return s;
}

/* A fresh ephemeral key pair (wipe eph->sk after use). */
static void ephemeral_new(cc_keypair *eph)
{
    randombytes_buf(eph->sk, sizeof eph->sk);
    crypto_scalarmult_base(eph->pk, eph->sk);
}

/* Our HELLO to `target`: static key, fresh nonce, and the public half of a
 * fresh ephemeral key pair (*eph, which the caller wipes once used). */
static hello my_hello(const cc_keypair *me, int my_role, int target, bool insecure,
                      cc_keypair *eph)
{
    hello h = {.role = my_role, .target = target, .insecure = insecure,
               .aes = cc_aead_local_aes()};
    memcpy(h.pk, me->pk, 32);
    randombytes_buf(h.nonce, sizeof h.nonce);
    ephemeral_new(eph);
    memcpy(h.epk, eph->pk, 32);
    return h;
}

/* Everything after the two HELLOs: static kx, ephemeral DH, key schedule,
 * confirmation.  Consumes (wipes) the ephemeral secret. */
static cc_status finish(int fd, int my_role, const cc_keypair *me, cc_keypair *eph, int peer_role,
                        const uint8_t peer_pk[32], const uint8_t peer_epk[32],
                        const uint8_t hello_i[HELLO_BYTES], const uint8_t hello_r[HELLO_BYTES],
                        uint64_t deadline_ns, cc_session_keys *keys)
{
    const char *peer = cc_role_name(peer_role);
    bool lo = my_role < peer_role;
    uint8_t ee[32];
    int erc = crypto_scalarmult(ee, eph->sk, peer_epk); /* fails on low-order points */
    cc_keypair_wipe(eph);
    if (erc != 0) {
        cc_wipe(ee, sizeof ee);
        return cc_error_set(CC_ERR_AUTH, "%s presented an invalid ephemeral key", peer);
    }
    uint8_t k_lohi[64]; /* K_lo->hi || K_hi->lo */
    int rc = lo ? crypto_kx_client_session_keys(k_lohi + 32, k_lohi, me->pk, me->sk, peer_pk)
                : crypto_kx_server_session_keys(k_lohi, k_lohi + 32, me->pk, me->sk, peer_pk);
    if (rc != 0) {
        cc_wipe(k_lohi, sizeof k_lohi);
        cc_wipe(ee, sizeof ee);
        return cc_error_set(CC_ERR_AUTH, "%s presented an invalid public key", peer);
    }
    uint8_t th[32], master[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof th);
    crypto_generichash_update(&st, hello_i, HELLO_BYTES);
    crypto_generichash_update(&st, hello_r, HELLO_BYTES);
    crypto_generichash_final(&st, th, sizeof th);
    crypto_generichash_init(&st, k_lohi, sizeof k_lohi, sizeof master);
    crypto_generichash_update(&st, (const uint8_t *)"caracal link v2", 15);
    crypto_generichash_update(&st, th, sizeof th);
    crypto_generichash_update(&st, ee, sizeof ee);
    crypto_generichash_final(&st, master, sizeof master);
    cc_wipe(k_lohi, sizeof k_lohi);
    cc_wipe(ee, sizeof ee);
    cc_wipe(&st, sizeof st);

    uint8_t conf_mine[32], conf_theirs[32];
    crypto_kdf_derive_from_key(keys->tx, 32, lo ? 1 : 2, KDF_CTX, master);
    crypto_kdf_derive_from_key(keys->rx, 32, lo ? 2 : 1, KDF_CTX, master);
    crypto_kdf_derive_from_key(conf_mine, 32, lo ? 3 : 4, KDF_CTX, master);
    crypto_kdf_derive_from_key(conf_theirs, 32, lo ? 4 : 3, KDF_CTX, master);
    crypto_kdf_derive_from_key(keys->prss_root, 32, 5, KDF_CTX, master);
    cc_wipe(master, sizeof master);

    uint8_t mac_mine[crypto_auth_BYTES], mac_theirs[crypto_auth_BYTES];
    crypto_auth(mac_mine, th, sizeof th, conf_mine);
    struct iovec iov = {.iov_base = mac_mine, .iov_len = sizeof mac_mine};
    cc_status s = cc_sock_writev(fd, &iov, 1, deadline_ns, 0);
    if (s == CC_OK) s = cc_sock_read(fd, mac_theirs, sizeof mac_theirs, deadline_ns, 0, NULL);
    if (s == CC_OK && crypto_auth_verify(mac_theirs, th, sizeof th, conf_theirs) != 0)
        s = cc_error_set(CC_ERR_AUTH, "%s failed key confirmation: it does not hold the secret "
                         "key for the public key pinned in the config", peer);
    else if (s != CC_OK)
        cc_error_wrap(s, "handshake with %s (key confirmation)", peer);
    cc_wipe(conf_mine, sizeof conf_mine);
    cc_wipe(conf_theirs, sizeof conf_theirs);
    if (s != CC_OK) cc_wipe(keys, sizeof *keys);
    return s;
}

/* The initiator's verdict on the responder's HELLO. */
static cc_status check_answer(const hello *h, int my_role, int peer_role, const uint8_t peer_pk[32])
{
    const hello theirs = *h;
    const char *peer = cc_role_name(peer_role);
    if (theirs.status == REFUSE_KEY)
        return cc_error_set(CC_ERR_AUTH, "%s refused us: our public key is not the one its config "
                            "pins for %s", peer, cc_role_name(my_role));
    if (theirs.status == REFUSE_ROLE)
        return cc_error_set(CC_ERR_AUTH, "%s refused us: it does not expect %s (or already has it)",
                            peer, cc_role_name(my_role));
    if (theirs.status == REFUSE_MODE)
        return cc_error_set(CC_ERR_MISMATCH, "%s refused us: one side uses "
                            "--insecure-plaintext-links and the other does not", peer);
    if (theirs.status != REFUSE_NONE || theirs.role != peer_role || theirs.target != my_role)
        return cc_error_set(CC_ERR_AUTH, "the process at %s's address answered as %s, not %s",
                            peer, cc_role_name(theirs.role), peer);
    if (sodium_memcmp(theirs.pk, peer_pk, 32) != 0) {
        char got[17], want[17];
        key_prefix(theirs.pk, got);
        key_prefix(peer_pk, want);
        return cc_error_set(CC_ERR_AUTH, "%s presented public key %s... but the config pins %s...",
                            peer, got, want);
    }
    return CC_OK;
}

cc_status cc_handshake_initiate(int fd, int my_role, const cc_keypair *me, int peer_role,
                                const uint8_t peer_pk[32], bool insecure,
                                uint64_t deadline_ns, cc_session_keys *keys)
{
    const char *peer = cc_role_name(peer_role);
    cc_keypair eph;
    hello mine = my_hello(me, my_role, peer_role, insecure, &eph);
    uint8_t hi[HELLO_BYTES], hr[HELLO_BYTES];
    hello_encode(&mine, hi);
    struct iovec iov = {.iov_base = hi, .iov_len = sizeof hi};
    cc_status s = cc_sock_writev(fd, &iov, 1, deadline_ns, 0);
    if (s == CC_OK) s = read_hello(fd, hr, deadline_ns);
    hello theirs;
    if (s == CC_OK) s = hello_decode(hr, &theirs);
    if (s != CC_OK) {
        cc_keypair_wipe(&eph);
        return cc_error_wrap(s, "handshake with %s", peer);
    }
    s = check_answer(&theirs, my_role, peer_role, peer_pk);
    if (s != CC_OK) {
        cc_keypair_wipe(&eph);
        return s;
    }
    keys->cipher = insecure ? CC_CIPHER_NONE
                 : mine.aes && theirs.aes ? CC_CIPHER_AESGCM : CC_CIPHER_XCHACHA;
    return finish(fd, my_role, me, &eph, peer_role, peer_pk, theirs.epk, hi, hr, deadline_ns, keys);
}

cc_status cc_handshake_respond(int fd, int my_role, const cc_keypair *me,
                               const uint8_t *const pinned[4], bool insecure,
                               uint64_t deadline_ns, int *peer_role, cc_session_keys *keys)
{
    uint8_t hi[HELLO_BYTES], hr[HELLO_BYTES];
    CC_TRY(read_hello(fd, hi, deadline_ns));
    hello theirs;
    CC_TRY(hello_decode(hi, &theirs));
    *peer_role = theirs.role; /* claimed; only trustworthy once this returns CC_OK */
    cc_keypair eph;
    hello mine = my_hello(me, my_role, theirs.role, insecure, &eph);
    const char *peer = cc_role_name(theirs.role);
    cc_status verdict = CC_OK;
    char got[17], want[17];
    if (theirs.target != my_role || !pinned[theirs.role]) {
        mine.status = REFUSE_ROLE;
        /* not fatal for us: the accept loop drops it and goes on */
        verdict = cc_error_set(CC_ERR_PEER, "a connection claiming to be %s was refused: %s",
                               peer, theirs.target != my_role ? "it wanted another party"
                                                              : "that peer is not expected here");
    } else if (sodium_memcmp(theirs.pk, pinned[theirs.role], 32) != 0) {
        mine.status = REFUSE_KEY;
        key_prefix(theirs.pk, got);
        key_prefix(pinned[theirs.role], want);
        verdict = cc_error_set(CC_ERR_AUTH, "%s presented public key %s... but the config pins %s...",
                               peer, got, want);
    } else if (theirs.insecure != insecure) {
        mine.status = REFUSE_MODE;
        verdict = cc_error_set(CC_ERR_MISMATCH, "%s %s --insecure-plaintext-links but we %s", peer,
                               theirs.insecure ? "uses" : "does not use", insecure ? "do" : "do not");
    }
    hello_encode(&mine, hr);
    struct iovec iov = {.iov_base = hr, .iov_len = sizeof hr};
    cc_status s = cc_sock_writev(fd, &iov, 1, deadline_ns, 0);
    if (verdict != CC_OK || s != CC_OK) {
        cc_keypair_wipe(&eph);
        return verdict != CC_OK ? verdict : cc_error_wrap(s, "handshake with %s", peer);
    }
    keys->cipher = insecure ? CC_CIPHER_NONE
                 : mine.aes && theirs.aes ? CC_CIPHER_AESGCM : CC_CIPHER_XCHACHA;
    return finish(fd, my_role, me, &eph, theirs.role, theirs.pk, theirs.epk, hi, hr, deadline_ns,
                  keys);
}
