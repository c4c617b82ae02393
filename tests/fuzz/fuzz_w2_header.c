/* Fuzz the w2 data file header check (ccw_check_header).  Input: one mode
 * byte, then the header bytes.  Mode bit 0 set: the expected size and hash
 * are the ones the header itself carries (so the accepting path is reached);
 * clear: fixed values.  Invariant: accepted means the first CCW_DATA_START
 * bytes are exactly what ccw_encode_header writes for that size and hash. */
#include <sodium.h>
#include <string.h>

#include "bundle_impl.h"
#include "core.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    FUZZ_CHECK(sodium_init() >= 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *b = malloc(n ? n : 1);
    FUZZ_CHECK(b);
    memcpy(b, data + 1, n);
    uint64_t want = 1u << 20;
    uint8_t hash[32] = { 1 };
    if ((data[0] & 1) && n >= 56) {
        want = 0;
        for (int i = 7; i >= 0; i--) want = want << 8 | b[16 + i];
        memcpy(hash, b + 24, 32);
    }
    if (ccw_check_header(b, n, "fuzz", want, hash) == CC_OK) {
        uint8_t ref[CCW_DATA_START];
        FUZZ_CHECK(n >= CCW_DATA_START);
        ccw_encode_header(want, hash, ref);
        /* magic, version, size, hash, and zeros everywhere else */
        FUZZ_CHECK(memcmp(ref, b, CCW_DATA_START) == 0);
    } else {
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    }
    free(b);
    return 0;
}
