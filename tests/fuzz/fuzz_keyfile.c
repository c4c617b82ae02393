/* Fuzz the secret-key file parser (cc_keypair_parse, behind
 * cc_keypair_load).  Invariants: on success the public key belongs to the
 * secret key; on failure the output is wiped. */
#include <sodium.h>
#include <string.h>

#include "fuzz_util.h"
#include "net.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FUZZ_CHECK(sodium_init() >= 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_keypair kp;
    memset(&kp, 0xa5, sizeof kp);
    static const cc_keypair zero;
    if (cc_keypair_parse((const char *)data, size, "fuzz", &kp) == CC_OK) {
        uint8_t pk[CC_NET_PUBKEY_BYTES];
        FUZZ_CHECK(crypto_scalarmult_base(pk, kp.sk) == 0);
        FUZZ_CHECK(memcmp(pk, kp.pk, sizeof pk) == 0);
    } else {
        FUZZ_CHECK(memcmp(&kp, &zero, sizeof kp) == 0);
    }
    return 0;
}
