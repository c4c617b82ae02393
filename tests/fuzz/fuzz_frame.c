/* Fuzz the frame receiver of a link (header checks, sequencing, message
 * reassembly, BYE/ABORT) on a plaintext link over a socketpair.  The link's
 * own receiver thread parses; the harness is the remote peer writing the
 * input's bytes and then EOF, while the user side receives messages.
 *
 * Input: 3 bytes of harness control, the rest goes on the wire.
 *   byte 0 bits 0-1: how many messages the user side receives (0..3)
 *          bit 2:    post the receive buffers before the bytes arrive
 *                    (the receiver then writes straight into them)
 *   bytes 1-2:       the length each receive expects (little-endian)
 * Wire format: docs/NETWORK.md (32-byte header, payload; no tag in
 * plaintext).  Invariants: every call returns (EOF ends every wait), a
 * completed receive holds exactly what the frames carried, teardown joins
 * both link threads and frees everything (LeakSanitizer). */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "net_impl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cc_log_set_level(CC_LOG_ERROR);
    return 0;
}

/* Payload bytes of the DATA frames of the first message on the wire, in
 * order, as far as they parse (the harness's own reading of the format, to
 * check what a successful receive delivered). */
static size_t first_message(const uint8_t *w, size_t n, uint8_t *out, size_t cap)
{
    size_t got = 0;
    for (size_t off = 0; off + CC_FRAME_HDR_BYTES <= n;) {
        cc_frame_hdr h;
        if (!cc_frame_decode(w + off, &h) || h.type != CC_FRAME_DATA) break;
        off += CC_FRAME_HDR_BYTES;
        size_t take = CC_MIN((size_t)h.chunk_len, n - off);
        memcpy(out + got, w + off, CC_MIN(take, cap - got));
        got += CC_MIN(take, cap - got);
        off += take;
        if (h.flags & CC_FRAME_LAST) break;
    }
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    int nrecv = data[0] & 3;
    bool pre_post = (data[0] & 4) != 0;
    size_t len = (size_t)data[1] | (size_t)data[2] << 8;
    const uint8_t *wire = data + 3;
    size_t wire_len = size - 3;

    cc_net_options opt;
    cc_net_options_default(&opt);
    opt.insecure_plaintext = true;
    opt.io_timeout_ms = 5000;         /* never reached: EOF ends every wait */
    opt.max_message_bytes = 1u << 20; /* keeps announced-length allocations small */
    opt.chunk_bytes = 4096;
    cc_hub hub;
    cc_hub_init(&hub, &opt, "P1");
    int sv[2];
    fuzz_socketpair(sv);
    cc_session_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.cipher = CC_CIPHER_NONE;
    cc_link *l = NULL;
    FUZZ_CHECK(cc_link_create(&hub, sv[0], 0, &keys, &l) == CC_OK);
    hub.links[0] = l;
    FUZZ_CHECK(cc_link_start(l) == CC_OK);

    uint8_t *buf[3] = {NULL, NULL, NULL};
    struct cc_net_rx *rx[3] = {NULL, NULL, NULL};
    cc_status s = CC_OK;
    for (int i = 0; i < nrecv; i++) buf[i] = malloc(len ? len : 1);
    for (int i = 0; pre_post && s == CC_OK && i < nrecv; i++)
        s = cc_link_recv_begin(l, buf[i], len, "fuzz", &rx[i]);
    fuzz_feed(sv[1], wire, wire_len);
    for (int i = 0; s == CC_OK && i < nrecv; i++) {
        if (!pre_post) s = cc_link_recv_begin(l, buf[i], len, "fuzz", &rx[i]);
        if (s == CC_OK) s = cc_link_recv_end(rx[i], "fuzz");
        if (s == CC_OK && i == 0) {
            uint8_t *want = malloc(len ? len : 1);
            size_t got = first_message(wire, wire_len, want, len);
            FUZZ_CHECK(got == len && memcmp(want, buf[0], len) == 0);
            free(want);
        }
    }
    FUZZ_CHECK(s != CC_ERR_TIMEOUT);
    cc_hub_close_links(&hub); /* joins the link's threads, frees the link */
    cc_hub_destroy(&hub);
    for (int i = 0; i < nrecv; i++) free(buf[i]);
    close(sv[1]);
    return 0;
}
