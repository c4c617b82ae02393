/* net units: frame header encoding, AEAD binding (header, sequence, tag),
 * key files (mode 0600, tamper checks), cluster config parsing and errors. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_impl.h"

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/caracal_net_unit_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static void frame_header_roundtrip(void **state)
{
    (void)state;
    cc_frame_hdr h = {.type = CC_FRAME_DATA, .flags = CC_FRAME_FIRST, .op_hash = 0xdeadbeef,
                      .seq = 0x0102030405060708ull, .msg_len = 1ull << 40, .chunk_len = 65536};
    uint8_t b[CC_FRAME_HDR_BYTES];
    cc_frame_encode(&h, b);
    assert_int_equal(b[8], 0x08); /* little-endian on the wire */
    cc_frame_hdr g;
    assert_true(cc_frame_decode(b, &g));
    assert_int_equal(g.type, h.type);
    assert_int_equal(g.flags, h.flags);
    assert_int_equal(g.op_hash, h.op_hash);
    assert_true(g.seq == h.seq && g.msg_len == h.msg_len);
    assert_int_equal(g.chunk_len, h.chunk_len);
    b[2] = 1; /* reserved bits must be zero */
    assert_false(cc_frame_decode(b, &g));
    b[2] = 0;
    b[0] = 9; /* unknown type */
    assert_false(cc_frame_decode(b, &g));
    b[0] = CC_FRAME_DATA;
    b[1] = 0x80; /* unknown flag */
    assert_false(cc_frame_decode(b, &g));
    assert_int_not_equal(cc_op_hash("mul"), cc_op_hash("trunc"));
}

static void aead_binds_header_and_sequence(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    cc_cipher ciphers[2] = {CC_CIPHER_XCHACHA, CC_CIPHER_AESGCM};
    for (int c = 0; c < 2; c++) {
        if (ciphers[c] == CC_CIPHER_AESGCM && !crypto_aead_aes256gcm_is_available()) {
            print_message("AES-256-GCM not available on this CPU: skipped\n");
            continue;
        }
        cc_aead *a = cc_alloc(sizeof *a);
        cc_aead_init(a, ciphers[c], key);
        uint8_t hdr[CC_FRAME_HDR_BYTES] = {1, 3}, tag[16], msg[1000], buf[1000];
        randombytes_buf(msg, sizeof msg);
        memcpy(buf, msg, sizeof buf);
        cc_aead_seal(a, 7, hdr, buf, sizeof buf, buf, tag); /* in place */
        assert_memory_not_equal(buf, msg, sizeof msg);
        uint8_t copy[1000];
        memcpy(copy, buf, sizeof copy);
        assert_false(cc_aead_open(a, 8, hdr, copy, sizeof copy, tag)); /* other sequence number */
        memcpy(copy, buf, sizeof copy);
        hdr[1] ^= 1;
        assert_false(cc_aead_open(a, 7, hdr, copy, sizeof copy, tag)); /* edited header */
        hdr[1] ^= 1;
        memcpy(copy, buf, sizeof copy);
        copy[500] ^= 4;
        assert_false(cc_aead_open(a, 7, hdr, copy, sizeof copy, tag)); /* edited payload */
        assert_true(cc_aead_open(a, 7, hdr, buf, sizeof buf, tag));
        assert_memory_equal(buf, msg, sizeof msg);
        cc_aead_wipe(a);
        cc_free(a);
    }
}

/* The VAES AES-256-GCM must be byte-identical to libsodium's (the two ends
 * of a link may use different implementations). */
static void vaes_gcm_matches_libsodium(void **state)
{
    (void)state;
    if (!cc_gcm_available() || !crypto_aead_aes256gcm_is_available()) {
        print_message("VAES/VPCLMULQDQ or AES-NI not available on this CPU: variant skipped\n");
        skip();
    }
    static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 112, 127, 128, 129, 143, 144,
                                  255, 256, 257, 1000, 4103, (1u << 20) + 3};
    size_t maxn = (1u << 20) + 3;
    uint8_t *m = malloc(maxn), *c1 = malloc(maxn), *c2 = malloc(maxn), *p = malloc(maxn);
    cc_gcm *g = cc_alloc(sizeof *g);
    for (int trial = 0; trial < 3; trial++) {
        uint8_t key[32], nonce[12], ad[45];
        randombytes_buf(key, sizeof key);
        randombytes_buf(nonce, sizeof nonce);
        randombytes_buf(ad, sizeof ad);
        cc_gcm_init(g, key);
        for (size_t li = 0; li < CC_ARRAY_LEN(lens); li++) {
            size_t n = lens[li], adn = (size_t)(trial * 16 + (trial == 2 ? 13 : 0)) % 46;
            randombytes_buf(m, n);
            uint8_t t1[16], t2[16];
            unsigned long long tl;
            crypto_aead_aes256gcm_encrypt_detached(c1, t1, &tl, m, n, ad, adn, NULL, nonce, key);
            cc_gcm_seal(g, nonce, ad, adn, m, n, c2, t2);
            if (memcmp(c1, c2, n) != 0 || memcmp(t1, t2, 16) != 0)
                fail_msg("mismatch with libsodium at length %zu, AD %zu", n, adn);
            memcpy(p, c2, n); /* in place */
            assert_true(cc_gcm_open(g, nonce, ad, adn, p, n, p, t2));
            assert_memory_equal(p, m, n);
            if (n) {
                memcpy(p, c2, n);
                p[n / 2] ^= 0x10;
                assert_false(cc_gcm_open(g, nonce, ad, adn, p, n, p, t2));
            }
            t2[3] ^= 1;
            assert_false(cc_gcm_open(g, nonce, ad, adn, c2, n, p, t2));
        }
    }
    cc_free(g);
    free(m);
    free(c1);
    free(c2);
    free(p);
}

static void keypair_files(void **state)
{
    (void)state;
    char sk[300], pk[300];
    snprintf(sk, sizeof sk, "%s/p0.key", tmpdir);
    snprintf(pk, sizeof pk, "%s/p0.pub", tmpdir);
    cc_keypair kp, back;
    assert_int_equal(cc_keypair_generate(&kp), CC_OK);
    assert_int_equal(cc_keypair_save(&kp, sk, pk, false), CC_OK);
    /* never over an existing key without being asked to */
    cc_keypair other;
    assert_int_equal(cc_keypair_generate(&other), CC_OK);
    assert_int_equal(cc_keypair_save(&other, sk, pk, false), CC_ERR_IO);
    assert_non_null(strstr(cc_error_message(), "already exists"));
    struct stat st;
    assert_int_equal(stat(sk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cc_keypair_load(sk, &back), CC_OK);
    assert_memory_equal(&kp, &back, sizeof kp);
    assert_int_equal(cc_keypair_save(&other, sk, pk, true), CC_OK); /* asked to: replaced */
    assert_int_equal(stat(sk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cc_keypair_load(sk, &back), CC_OK);
    assert_memory_equal(&other, &back, sizeof other);
    assert_int_equal(cc_keypair_save(&kp, sk, pk, true), CC_OK);
    cc_keypair_wipe(&other);
    /* group-readable secret key: refused */
    chmod(sk, 0640);
    assert_int_equal(cc_keypair_load(sk, &back), CC_ERR_AUTH);
    assert_non_null(strstr(cc_error_message(), "chmod 600"));
    chmod(sk, 0600);
    /* a public half that does not belong to the secret half: refused (the
     * hex digit at offset 70 is changed, whatever it was: writing a fixed
     * "00" there left the key intact once in 256 runs) */
    FILE *f = fopen(sk, "r+");
    fseek(f, 70, SEEK_SET);
    int digit = fgetc(f);
    assert_true(isxdigit(digit));
    fseek(f, 70, SEEK_SET);
    fputc(digit == '0' ? '1' : '0', f);
    fclose(f);
    cc_status s = cc_keypair_load(sk, &back);
    assert_true(s == CC_ERR_FORMAT);
    assert_int_equal(cc_keypair_load("/nonexistent/key", &back), CC_ERR_IO);
    cc_keypair_wipe(&kp);
    for (size_t i = 0; i < sizeof kp.sk; i++) assert_int_equal(kp.sk[i], 0);
}

static cc_status load_text(const char *text, cc_cluster *c)
{
    char path[300];
    snprintf(path, sizeof path, "%s/cluster.conf", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return cc_cluster_load(path, c);
}

static void cluster_config(void **state)
{
    (void)state;
    const char *k = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char text[1024];
    snprintf(text, sizeof text,
             "# test\n\nparty 1 10.0.0.2:7401 %s\nparty 0 localhost:7400 %s  # P0\n"
             "party 2 [::1]:7402 %s\nclient %s\n", k, k, k, k);
    cc_cluster c;
    assert_int_equal(load_text(text, &c), CC_OK);
    assert_string_equal(c.party[0].host, "localhost");
    assert_int_equal(c.party[1].port, 7401);
    assert_string_equal(c.party[2].host, "::1");
    assert_true(c.has_client);
    assert_int_equal(c.client_pk[1], 0x11);
    /* save + load gives the same thing */
    char path[300];
    snprintf(path, sizeof path, "%s/saved.conf", tmpdir);
    assert_int_equal(cc_cluster_save(path, &c, true), CC_OK);
    cc_cluster d;
    assert_int_equal(cc_cluster_load(path, &d), CC_OK);
    assert_memory_equal(&c, &d, sizeof c);

    struct { const char *text, *expect; } bad[] = {
        {"party 0 h:1 %s\nparty 1 h:2 %s\n", "no line for party 2"},
        {"party 0 h:1 %s\nparty 0 h:2 %s\nparty 2 h:3 %s\n", "listed twice"},
        {"party 0 h:0 %s\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "bad port"},
        {"party 0 h:99999 %s\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "bad port"},
        {"party 0 h %s\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "expected host:port"},
        {"party 0 [[h]]:1 %s\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "bad host"},
        {"party 3 h:1 %s\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "party id must be"},
        {"party 0 h:1 abc\nparty 1 h:2 %s\nparty 2 h:3 %s\n", "64-hex-digit"},
        {"partay 0 h:1 %s\n", ":1: expected 'party"},
    };
    for (size_t i = 0; i < CC_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof text, bad[i].text, k, k, k);
        cc_status s = load_text(text, &c);
        assert_int_equal(s, CC_ERR_FORMAT);
        if (!strstr(cc_error_message(), bad[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, cc_error_message(), bad[i].expect);
    }
    assert_int_equal(cc_cluster_load("/nonexistent.conf", &c), CC_ERR_IO);
}

/* The (pointer, length) parsers behind the file loaders (and the fuzzers). */
static void parsers_from_memory(void **state)
{
    (void)state;
    const char *k = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char text[512];
    /* last line without a newline still counts */
    int n = snprintf(text, sizeof text, "party 0 a:1 %s\nparty 1 b:2 %s\nparty 2 c:3 %s", k, k, k);
    cc_cluster c;
    assert_int_equal(cc_cluster_parse(text, (size_t)n, "mem", &c), CC_OK);
    assert_string_equal(c.party[2].host, "c");
    /* the length bounds the text: cutting off the last line loses party 2 */
    assert_int_equal(cc_cluster_parse(text, (size_t)(strrchr(text, '\n') + 1 - text), "mem", &c),
                     CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "mem: no line for party 2"));
    /* a NUL byte is refused, not silently read as the end of the line */
    text[3] = '\0';
    assert_int_equal(cc_cluster_parse(text, (size_t)n, "mem", &c), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "mem:1: NUL byte"));

    cc_keypair kp, back;
    assert_int_equal(cc_keypair_generate(&kp), CC_OK);
    uint8_t both[64];
    memcpy(both, kp.sk, 32);
    memcpy(both + 32, kp.pk, 32);
    char hex[130];
    cc_hex_encode(both, sizeof both, hex);
    assert_int_equal(cc_keypair_parse(hex, 128, "k", &back), CC_OK);
    assert_memory_equal(&kp, &back, sizeof kp);
    assert_int_equal(cc_keypair_parse(hex, 127, "k", &back), CC_ERR_FORMAT);
    hex[128] = 'x'; /* trailing garbage right after the digits */
    assert_int_equal(cc_keypair_parse(hex, 129, "k", &back), CC_ERR_FORMAT);
    hex[128] = '\n';
    assert_int_equal(cc_keypair_parse(hex, 129, "k", &back), CC_OK);
    hex[5] = 'g';
    assert_int_equal(cc_keypair_parse(hex, 129, "k", &back), CC_ERR_FORMAT);
    assert_non_null(strstr(cc_error_message(), "not hexadecimal"));
    cc_keypair_wipe(&kp);
}

static void options_are_clamped(void **state)
{
    (void)state;
    cc_net_options o, f;
    cc_net_options_default(&o);
    assert_true(o.connect_timeout_ms > 0 && o.io_timeout_ms > 0 && o.chunk_bytes > 0);
    o.chunk_bytes = 1;
    o.io_timeout_ms = 0;
    cc_net_fill_defaults(&f, &o);
    assert_int_equal(f.chunk_bytes, 4096);
    assert_true(f.io_timeout_ms > 0);
    o.chunk_bytes = SIZE_MAX;
    cc_net_fill_defaults(&f, &o);
    assert_int_equal(f.chunk_bytes, CC_NET_MAX_CHUNK);
}

/* ---- teardown: a peer that never says goodbye ----------------------------------
 * Two links over socketpairs: the peer of link 0 says goodbye and hangs up,
 * the peer of link 1 stays silent.  Close waits out its timeout, shuts both
 * down and tears down; link 1's receiver, woken by the shutdown, fails the
 * hub, which walks every link, while teardown frees links.  The hook makes
 * that walk late, so under ASan a touch of a freed link is caught. */
static void slow_fail(void) { usleep(200000); }

static void teardown_never_touches_freed_links(void **state)
{
    (void)state;
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 300;
    cc_hub hub;
    cc_hub_init(&hub, &o, "P0");
    int sp[2][2];
    cc_session_keys k;
    memset(&k, 0, sizeof k);
    k.cipher = CC_CIPHER_NONE;
    for (int r = 0; r < 2; r++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[r]), 0);
        assert_int_equal(cc_link_create(&hub, sp[r][0], r + 1, &k, &hub.links[r + 1]), CC_OK);
    }
    for (int r = 0; r < 2; r++) assert_int_equal(cc_link_start(hub.links[r + 1]), CC_OK);
    /* link to P1: its peer says goodbye (plaintext BYE, seq 0) and hangs up */
    cc_frame_hdr bye = {.type = CC_FRAME_BYE, .flags = CC_FRAME_FIRST | CC_FRAME_LAST};
    uint8_t hdr[CC_FRAME_HDR_BYTES];
    cc_frame_encode(&bye, hdr);
    assert_int_equal(write(sp[0][1], hdr, sizeof hdr), (ssize_t)sizeof hdr);
    shutdown(sp[0][1], SHUT_WR);
    cc_net_test_fail_walk = slow_fail;
    uint64_t t0 = cc_now_ns();
    cc_hub_close_links(&hub);
    uint64_t dt = cc_now_ns() - t0;
    cc_net_test_fail_walk = NULL;
    assert_true(dt >= 250000000ull && dt < 3000000000ull); /* waited out the close timeout */
    for (int r = 0; r < 4; r++) assert_null(hub.links[r]);
    cc_hub_destroy(&hub);
    close(sp[0][1]);
    close(sp[1][1]);
}

/* ---- forward secrecy ----------------------------------------------------------------
 * A handshake between P0 and P1 through a recording relay.  An attacker who
 * later steals BOTH static secret keys and holds the recorded bytes must not
 * be able to compute the link keys: the key schedule mixes in an ephemeral
 * X25519 exchange whose secrets are gone.  The attacker tries the
 * static-only schedule (the old v1 one, and v2 without the ephemeral part). */
typedef struct hs_side {
    int fd;
    cc_keypair *me;
    const uint8_t *peer_pk;
    const uint8_t *pinned[4];
    int role;
    cc_session_keys keys;
    cc_status s;
} hs_side;

static void *hs_initiator(void *p)
{
    hs_side *h = p;
    h->s = cc_handshake_initiate(h->fd, 0, h->me, 1, h->peer_pk, false,
                                 cc_now_ns() + 5000000000ull, &h->keys);
    return NULL;
}

static void *hs_responder(void *p)
{
    hs_side *h = p;
    h->s = cc_handshake_respond(h->fd, 1, h->me, h->pinned, false, cc_now_ns() + 5000000000ull,
                                &h->role, &h->keys);
    return NULL;
}

static void static_only_key(const uint8_t k_lohi[64], const uint8_t th[32], const char *label,
                            const char ctx[8], uint8_t out[32])
{
    uint8_t master[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, k_lohi, 64, sizeof master);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&st, th, 32);
    crypto_generichash_final(&st, master, sizeof master);
    crypto_kdf_derive_from_key(out, 32, 1, ctx, master); /* lo->hi traffic */
}

static void handshake_has_forward_secrecy(void **state)
{
    (void)state;
    cc_keypair k0, k1;
    assert_int_equal(cc_keypair_generate(&k0), CC_OK);
    assert_int_equal(cc_keypair_generate(&k1), CC_OK);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    hs_side ini = {.fd = a[0], .me = &k0, .peer_pk = k1.pk};
    hs_side rsp = {.fd = b[0], .me = &k1, .pinned = {k0.pk, NULL, NULL, NULL}, .role = -1};
    pthread_t ti, tr;
    pthread_create(&ti, NULL, hs_initiator, &ini);
    pthread_create(&tr, NULL, hs_responder, &rsp);
    /* relay a[1] <-> b[1], recording both directions */
    enum { WANT = CC_HELLO_BYTES + 32 };
    uint8_t rec[2][WANT];
    size_t got[2] = {0, 0};
    uint64_t deadline = cc_now_ns() + 5000000000ull;
    while ((got[0] < WANT || got[1] < WANT) && cc_now_ns() < deadline) {
        struct pollfd pf[2] = {{.fd = a[1], .events = POLLIN}, {.fd = b[1], .events = POLLIN}};
        if (poll(pf, 2, 100) <= 0) continue;
        for (int d = 0; d < 2; d++) {
            if (!pf[d].revents) continue;
            ssize_t n = read(d ? b[1] : a[1], rec[d] + got[d], WANT - got[d]);
            if (n <= 0) continue;
            assert_int_equal(write(d ? a[1] : b[1], rec[d] + got[d], (size_t)n), n);
            got[d] += (size_t)n;
        }
    }
    pthread_join(ti, NULL);
    pthread_join(tr, NULL);
    assert_int_equal(ini.s, CC_OK);
    assert_int_equal(rsp.s, CC_OK);
    assert_int_equal(rsp.role, 0);
    assert_memory_equal(ini.keys.tx, rsp.keys.rx, 32);
    /* the attacker: both static secrets + the recorded transcript */
    uint8_t k_lohi[64], th[32], guess[32];
    assert_int_equal(crypto_kx_client_session_keys(k_lohi + 32, k_lohi, k0.pk, k0.sk, k1.pk), 0);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof th);
    crypto_generichash_update(&st, rec[0], CC_HELLO_BYTES);
    crypto_generichash_update(&st, rec[1], CC_HELLO_BYTES);
    crypto_generichash_final(&st, th, sizeof th);
    static_only_key(k_lohi, th, "caracal link v1", "cclink01", guess);
    assert_memory_not_equal(guess, ini.keys.tx, 32);
    static_only_key(k_lohi, th, "caracal link v2", "cclink02", guess);
    assert_memory_not_equal(guess, ini.keys.tx, 32);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_header_roundtrip),
        cmocka_unit_test(aead_binds_header_and_sequence),
        cmocka_unit_test(vaes_gcm_matches_libsodium),
        cmocka_unit_test(keypair_files),
        cmocka_unit_test(cluster_config),
        cmocka_unit_test(parsers_from_memory),
        cmocka_unit_test(options_are_clamped),
        cmocka_unit_test(teardown_never_touches_freed_links),
        cmocka_unit_test(handshake_has_forward_secrecy),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
