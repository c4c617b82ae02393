/* Fuzz the link handshake over a socketpair: the harness is the remote end
 * and sends the input's bytes (HELLO, CONFIRM, anything), then EOF.
 *
 * Input: byte 0 = mode, the rest goes on the wire.
 *   mode bit 0: 0 = we are the responder (P1 accepting), 1 = the initiator
 *               (P1 dialling P0)
 *   mode bit 1: --insecure-plaintext-links on our side
 * Keys are fixed (seeded), so a seed corpus can carry a well-formed HELLO
 * from a pinned peer; the CONFIRM MAC depends on our fresh nonce and never
 * verifies, so every input must end in a clean refusal. */
#include <sodium.h>
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "net_impl.h"

static cc_keypair key[4]; /* P0, P1 (us), P2, client */
static const uint8_t *pinned[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FUZZ_CHECK(sodium_init() >= 0);
    for (int r = 0; r < 4; r++) {
        uint8_t seed[crypto_kx_SEEDBYTES] = {(uint8_t)(r + 1)};
        FUZZ_CHECK(crypto_kx_seed_keypair(key[r].pk, key[r].sk, seed) == 0);
        pinned[r] = r == 1 ? NULL : key[r].pk;
    }
    cc_log_set_level(CC_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0];
    bool insecure = (mode & 2) != 0;
    int sv[2];
    fuzz_socketpair(sv);
    /* the handshake reads at most 112 bytes; more would only fill the pipe */
    fuzz_feed(sv[1], data + 1, CC_MIN(size - 1, (size_t)4096));
    cc_session_keys keys;
    memset(&keys, 0, sizeof keys);
    uint64_t deadline = cc_now_ns() + 2000000000u;
    cc_status s;
    if (mode & 1) {
        s = cc_handshake_initiate(sv[0], 1, &key[1], 0, key[0].pk, insecure, deadline, &keys);
    } else {
        int role = -1;
        s = cc_handshake_respond(sv[0], 1, &key[1], pinned, insecure, deadline, &role, &keys);
        FUZZ_CHECK(s != CC_OK || (role >= 0 && role <= 3 && role != 1));
    }
    /* Nobody but the holder of a pinned secret key can confirm, and the
     * harness has none of them on the wire: success would be a forgery. */
    FUZZ_CHECK(s != CC_OK);
    FUZZ_CHECK(s != CC_ERR_TIMEOUT); /* every byte and the EOF are already there */
    close(sv[0]);
    close(sv[1]);
    return 0;
}
