/* net faults: a killed party, a silent party, wrong keys, an impostor,
 * mismatched encryption modes, garbage and malformed frames, peers that
 * never connect.  Every case must end with a clear error naming the peer,
 * quickly, on every process — never a hang, a crash or a huge allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_internal.h"
#include "net_test_util.h"

/* ---- killed / silent party (launcher) -------------------------------------------- */
typedef struct fault_arg {
    shared_page *page;
    int victim;
    bool kill;    /* SIGKILL itself, else fall silent */
} fault_arg;

static int fault_main(cc_net *net, void *p)
{
    fault_arg *a = p;
    int me = cc_net_party(net);
    party_report *r = &a->page->party[me];
    size_t n = 1u << 20;
    uint8_t *out = calloc(1, n), *in1 = malloc(n), *in2 = malloc(n);
    cc_status s = CC_OK;
    cc_net_op_begin(net, "victim-op");
    for (int it = 0; it < 1000 && s == CC_OK; it++) {
        if (me == a->victim && it == 5) {
            a->page->t_fault = cc_now_ns();
            if (a->kill) raise(SIGKILL);
            sleep(4); /* silent, longer than the others' io timeout */
            break;
        }
        s = cc_net_send(net, CC_NEXT, out, n);
        if (s == CC_OK) s = cc_net_send(net, CC_PREV, out, n);
        if (s == CC_OK) s = cc_net_recv(net, CC_PREV, in1, n);
        if (s == CC_OK) s = cc_net_recv(net, CC_NEXT, in2, n);
        if (s == CC_OK) s = cc_net_flush(net);
    }
    cc_net_op_end(net);
    r->elapsed_ns = cc_now_ns() - a->page->t_fault;
    report(r, s);
    free(out);
    free(in1);
    free(in2);
    return s == CC_OK ? 0 : 3;
}

static void check_survivors(shared_page *page, int victim, cc_status want)
{
    for (int i = 0; i < 3; i++) {
        if (i == victim) continue;
        party_report *r = &page->party[i];
        print_message("P%d (%.2f s after the fault): %s\n", i, r->elapsed_ns * 1e-9, r->msg);
        assert_int_not_equal(r->status, CC_OK);
        if (want != CC_OK) assert_true(r->status == (int)want || r->status == CC_ERR_PEER);
        assert_non_null(strstr(r->msg, "P1"));         /* names the victim */
        assert_non_null(strstr(r->msg, "victim-op"));  /* names the op */
        assert_true(r->elapsed_ns < WITHIN_NS(5000000000ull));
    }
}

static void killed_party(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    fault_arg a = {page, 1, true};
    cc_launch_result res;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_launch_local(fault_main, &a, NULL, NULL, NULL, &res);
    assert_int_equal(s, CC_ERR_PEER);
    assert_non_null(strstr(cc_error_message(), "P1"));
    assert_int_equal(res.exit_code[1], 128 + SIGKILL);
    assert_int_equal(res.exit_code[0], 3);
    assert_int_equal(res.exit_code[2], 3);
    check_survivors(page, 1, CC_ERR_PEER);
    assert_true(cc_now_ns() - t0 < WITHIN_NS(8000000000ull));
    shared_page_free(page);
}

static void silent_party(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    fault_arg a = {page, 1, false};
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 1000;
    cc_launch_result res;
    cc_status s = cc_net_launch_local(fault_main, &a, NULL, NULL, &o, &res);
    assert_int_not_equal(s, CC_OK);
    check_survivors(page, 1, CC_ERR_TIMEOUT);
    /* at least one survivor saw the timeout itself */
    assert_true(page->party[0].status == CC_ERR_TIMEOUT || page->party[2].status == CC_ERR_TIMEOUT);
    shared_page_free(page);
}

/* ---- the launcher leaves nothing running ------------------------------------------ */
static int straggler_main(cc_net *net, void *p)
{
    (void)p;
    if (cc_net_party(net) == 0) return 7; /* fails at once */
    sleep(60);                            /* the others ignore the network entirely */
    return 0;
}

static void launcher_kills_stragglers(void **state)
{
    (void)state;
    cc_launch_result res;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_launch_local(straggler_main, NULL, NULL, NULL, NULL, &res);
    uint64_t dt = cc_now_ns() - t0;
    assert_int_equal(s, CC_ERR_PEER);
    assert_non_null(strstr(cc_error_message(), "P0 exited with code 7"));
    assert_int_equal(res.exit_code[0], 7);
    assert_int_equal(res.exit_code[1], 128 + SIGKILL);
    assert_int_equal(res.exit_code[2], 128 + SIGKILL);
    assert_true(dt < WITHIN_NS(8000000000ull)); /* grace period 5 s, then killed */
}

/* ---- hand-made clusters (fork helper) ----------------------------------------------- */
typedef struct trio {
    cc_cluster cl[3];        /* each party's own view of the cluster */
    cc_keypair key[3];       /* what each party loads as its key */
    cc_net_options opt[3];
    int lfd[3];
    bool no_aes[3];          /* party runs with CARACAL_NET_CIPHER=xchacha */
} trio;

static void trio_init(trio *t)
{
    memset(t->no_aes, 0, sizeof t->no_aes);
    cc_cluster base;
    memset(&base, 0, sizeof base);
    for (int i = 0; i < 3; i++) {
        cc_net_options_default(&t->opt[i]);
        t->opt[i].connect_timeout_ms = 3000;
        assert_int_equal(cc_keypair_generate(&t->key[i]), CC_OK);
        strcpy(base.party[i].host, "127.0.0.1");
        base.party[i].port = 0;
        assert_int_equal(cc_net_listen("127.0.0.1", &base.party[i].port, &t->lfd[i]), CC_OK);
        memcpy(base.party[i].pk, t->key[i].pk, 32);
    }
    for (int i = 0; i < 3; i++) t->cl[i] = base;
}

/* Fork the three parties; each opens its net, exchanges 1 KiB with both
 * neighbours and reports.  Returns when all have exited (killed after 15 s). */
static void trio_run(trio *t, shared_page *page)
{
    pid_t pid[3];
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (int j = 0; j < 3; j++)
                if (j != i) close(t->lfd[j]);
            if (t->no_aes[i]) setenv("CARACAL_NET_CIPHER", "xchacha", 1);
            cc_net *net;
            party_report *r = &page->party[i];
            cc_status s = cc_net_open_fd(&t->cl[i], i, &t->key[i], &t->opt[i], t->lfd[i], &net);
            if (s == CC_OK) {
                uint8_t out[1024] = {1}, in1[1024], in2[1024];
                s = cc_net_send(net, CC_NEXT, out, sizeof out);
                if (s == CC_OK) s = cc_net_send(net, CC_PREV, out, sizeof out);
                if (s == CC_OK) s = cc_net_recv(net, CC_PREV, in1, sizeof in1);
                if (s == CC_OK) s = cc_net_recv(net, CC_NEXT, in2, sizeof in2);
                if (s == CC_OK) s = cc_net_flush(net);
                report(r, s);
                if (s == CC_OK) snprintf(r->msg, sizeof r->msg, "%s", cc_net_cipher_name(net));
                cc_net_close(net);
            } else {
                report(r, s);
            }
            _exit(s == CC_OK ? 0 : 1);
        }
    }
    for (int i = 0; i < 3; i++) close(t->lfd[i]);
    uint64_t deadline = cc_now_ns() + 15000000000ull;
    for (int i = 0; i < 3; i++) {
        int st;
        while (waitpid(pid[i], &st, WNOHANG) == 0) {
            if (cc_now_ns() > deadline) {
                for (int j = 0; j < 3; j++) kill(pid[j], SIGKILL);
                fail_msg("parties still running after 15 s");
            }
            usleep(2000);
        }
    }
    for (int i = 0; i < 3; i++) print_message("P%d: %s\n", i, page->party[i].msg);
}

static void wrong_public_key_refused(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    cc_keypair other;
    cc_keypair_generate(&other);
    memcpy(t.cl[0].party[1].pk, other.pk, 32); /* P0 pins a different key for P1 */
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    assert_int_equal(page->party[0].status, CC_ERR_AUTH);
    assert_non_null(strstr(page->party[0].msg, "P1 presented public key"));
    assert_int_equal(page->party[1].status, CC_ERR_AUTH);
    assert_non_null(strstr(page->party[1].msg, "P0 refused us"));
    assert_int_not_equal(page->party[2].status, CC_OK);
    shared_page_free(page);
}

static void impostor_without_secret_key(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    cc_keypair other;
    cc_keypair_generate(&other);
    memcpy(t.key[1].sk, other.sk, 32); /* P1 claims its pinned key but lacks the secret */
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    assert_int_equal(page->party[0].status, CC_ERR_AUTH);
    assert_non_null(strstr(page->party[0].msg, "P1 failed key confirmation"));
    assert_int_not_equal(page->party[1].status, CC_OK);
    assert_int_not_equal(page->party[2].status, CC_OK);
    shared_page_free(page);
}

static void plaintext_mismatch_refused(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    t.opt[2].insecure_plaintext = true;
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    for (int i = 0; i < 3; i++) assert_int_not_equal(page->party[i].status, CC_OK);
    assert_int_equal(page->party[2].status, CC_ERR_MISMATCH);
    assert_non_null(strstr(page->party[2].msg, "insecure-plaintext"));
    shared_page_free(page);
}

/* P1 cannot do AES-GCM (e.g. no AES-NI): its links fall back to XChaCha20,
 * the P0-P2 link keeps AES-256-GCM, and the run works. */
static void mixed_cipher_cluster_works(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    t.no_aes[1] = true;
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(page->party[i].status, CC_OK);
        assert_string_equal(page->party[i].msg, "XChaCha20-Poly1305"); /* weakest link reported */
    }
    shared_page_free(page);
}

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Junk sent to P0's port before the real peers arrive is dropped and the
 * run goes on. */
static void garbage_connections_rejected(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    uint16_t port = t.cl[0].party[0].port;
    int junk[4];
    uint8_t buf[4096];
    randombytes_buf(buf, sizeof buf);
    junk[0] = raw_connect(port); /* random bytes */
    assert_int_equal(write(junk[0], buf, sizeof buf), (ssize_t)sizeof buf);
    junk[1] = raw_connect(port); /* truncated hello */
    assert_int_equal(write(junk[1], "CARACAL1\x01\x01", 10), 10);
    shutdown(junk[1], SHUT_WR);
    junk[2] = raw_connect(port); /* right magic, nonsense fields */
    memcpy(buf, "CARACAL1", 8);
    assert_int_equal(write(junk[2], buf, 80), 80);
    junk[3] = raw_connect(port); /* connect and hang up */
    close(junk[3]);
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    for (int i = 0; i < 3; i++) assert_int_equal(page->party[i].status, CC_OK);
    for (int i = 0; i < 3; i++) close(junk[i]);
    shared_page_free(page);
}

/* ---- peers that never connect -------------------------------------------------------- */
static void nobody_connects(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    cc_net_options o;
    cc_net_options_default(&o);
    o.connect_timeout_ms = 600;
    /* P0 only accepts: waits for P1 and P2 */
    cc_net *net;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_open_fd(&t.cl[0], 0, &t.key[0], &o, t.lfd[0], &net);
    uint64_t dt = cc_now_ns() - t0;
    assert_int_equal(s, CC_ERR_TIMEOUT);
    assert_non_null(strstr(cc_error_message(), "P1, P2 did not connect"));
    assert_true(dt >= 500000000ull && dt < WITHIN_NS(3000000000ull));
    /* P2 dials P0, whose port is now closed */
    close(t.lfd[1]);
    t0 = cc_now_ns();
    s = cc_net_open_fd(&t.cl[2], 2, &t.key[2], &o, t.lfd[2], &net);
    dt = cc_now_ns() - t0;
    assert_int_equal(s, CC_ERR_TIMEOUT);
    print_message("%s\n", cc_error_message());
    assert_non_null(strstr(cc_error_message(), "connecting to P0"));
    assert_true(dt >= 500000000ull && dt < WITHIN_NS(3000000000ull));
}

/* ---- malformed frames from an authenticated client ------------------------------------ */
enum { BAD_HUGE_MESSAGE, BAD_HUGE_CHUNK, BAD_TRUNCATED, BAD_GARBAGE, BAD_TAG, BAD_SEQ, BAD_COUNT };
static const char *const bad_expect[BAD_COUNT] = {
    "longer than max_message_bytes", "oversized frame", "client", "malformed frame header",
    "failed authentication", "out of sequence"};

typedef struct bad_arg {
    shared_page *page;
    int kind;
} bad_arg;

static int victim_party(cc_net *net, void *p)
{
    bad_arg *a = p;
    int me = cc_net_party(net);
    uint8_t buf[64];
    cc_status s = CC_OK;
    if (me == 0) s = cc_net_recv(net, CC_CLIENT, buf, sizeof buf);
    report(&a->page->party[me], s);
    a->page->party[me].values[0] = cc_peak_rss_bytes();
    return s == CC_OK ? 0 : 1;
}

static int attacker_client(cc_client *c, void *p)
{
    bad_arg *a = p;
    int fd = cc_client_raw_fd(c, 0);
    cc_frame_hdr h = {.type = CC_FRAME_DATA, .flags = CC_FRAME_FIRST | CC_FRAME_LAST, .seq = 0,
                      .msg_len = 64, .chunk_len = 64};
    uint8_t frame[CC_FRAME_HDR_BYTES + 64 + CC_AEAD_TAG_BYTES];
    size_t n = sizeof frame;
    randombytes_buf(frame, sizeof frame);
    switch (a->kind) {
    case BAD_HUGE_MESSAGE: h.msg_len = 1ull << 63; h.chunk_len = 16; break;
    case BAD_HUGE_CHUNK: h.msg_len = 1ull << 40; h.chunk_len = 0xffffffffu; break;
    case BAD_TRUNCATED: n = CC_FRAME_HDR_BYTES + 10; break;
    case BAD_SEQ: h.seq = 5; break;
    default: break;
    }
    if (a->kind != BAD_GARBAGE) cc_frame_encode(&h, frame);
    if (write(fd, frame, n) != (ssize_t)n) return 2;
    if (a->kind == BAD_TRUNCATED) shutdown(fd, SHUT_WR);
    return 0;
}

static void malformed_frames_rejected(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 2000;
    for (int kind = 0; kind < BAD_COUNT; kind++) {
        memset(page, 0, sizeof *page);
        bad_arg a = {page, kind};
        cc_launch_result res;
        uint64_t t0 = cc_now_ns();
        cc_status s = cc_net_launch_local(victim_party, &a, attacker_client, &a, &o, &res);
        uint64_t dt = cc_now_ns() - t0;
        party_report *r = &page->party[0];
        print_message("kind %d (%.2f s): %s\n", kind, dt * 1e-9, r->msg);
        assert_int_not_equal(s, CC_OK);
        assert_int_equal(res.exit_code[0], 1);
        assert_int_not_equal(r->status, CC_OK);
        assert_non_null(strstr(r->msg, "client"));
        assert_non_null(strstr(r->msg, bad_expect[kind]));
        assert_true(r->values[0] < (1ull << 30)); /* no huge allocation */
        assert_true(dt < WITHIN_NS(6000000000ull));
    }
    shared_page_free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_party),
        cmocka_unit_test(silent_party),
        cmocka_unit_test(launcher_kills_stragglers),
        cmocka_unit_test(wrong_public_key_refused),
        cmocka_unit_test(impostor_without_secret_key),
        cmocka_unit_test(plaintext_mismatch_refused),
        cmocka_unit_test(mixed_cipher_cluster_works),
        cmocka_unit_test(garbage_connections_rejected),
        cmocka_unit_test(nobody_connects),
        cmocka_unit_test(malformed_frames_rejected),
    };
    const char *filter = getenv("CARACAL_NET_TEST_FILTER");
    if (filter) cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
