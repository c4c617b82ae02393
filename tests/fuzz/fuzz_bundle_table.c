/* Fuzz the party-file decoder (ccb_decode: header + tensor table).
 * Input: one mode byte, then the file.  Mode bit 0 set: the harness
 * recomputes the header checksum first, so mutations reach the field checks
 * behind it (a fuzzer cannot forge BLAKE2b).  Invariants on success: the
 * table has n_tensors entries, names and the data file name are terminated,
 * and ccb_encode of the decoded header and table gives back the input
 * byte for byte (reserved bytes must be zero). */
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

static void fix_checksum(uint8_t *b, size_t n)
{
    if (n < CCB_HEADER_BYTES) return;
    memset(b + CCB_OFF_CHECKSUM, 0, 32);
    uint8_t h[32];
    crypto_generichash(h, 32, b, n, NULL, 0);
    memcpy(b + CCB_OFF_CHECKSUM, h, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *b = malloc(n ? n : 1);   /* exact size: ASan sees any over-read */
    FUZZ_CHECK(b);
    memcpy(b, data + 1, n);
    if (data[0] & 1) fix_checksum(b, n);
    ccb_header h;
    ccb_entry *e = NULL;
    if (ccb_decode(b, n, "fuzz", &h, &e) == CC_OK) {
        FUZZ_CHECK(e && h.n_tensors > 0 && n == ccb_file_bytes(h.n_tensors));
        FUZZ_CHECK(memchr(h.data_file, 0, sizeof h.data_file));
        for (uint32_t i = 0; i < h.n_tensors; i++) FUZZ_CHECK(memchr(e[i].name, 0, sizeof e[i].name));
        /* every reserved byte must be zero, so an accepted file is exactly
         * what ccb_encode writes for the decoded header and table */
        uint8_t *again = malloc(n);
        FUZZ_CHECK(again);
        ccb_encode(&h, e, again);
        FUZZ_CHECK(memcmp(again, b, n) == 0);
        ccb_header h2;
        ccb_entry *e2 = NULL;
        FUZZ_CHECK(ccb_decode(again, n, "re-encoded", &h2, &e2) == CC_OK);
        FUZZ_CHECK(memcmp(&h, &h2, sizeof h) == 0);
        FUZZ_CHECK(memcmp(e, e2, h.n_tensors * sizeof *e) == 0);
        cc_free(e2);
        free(again);
        cc_free(e);
    } else {
        FUZZ_CHECK(e == NULL);
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    }
    free(b);
    return 0;
}
