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

#include "net_impl.h"
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

/* ---- keep-alive ----------------------------------------------------------------------
 * P1 freezes (SIGSTOP: alive to the kernel, silent on the wire) while P0, P2
 * and the client wait for it with a 30 s I/O timeout: keep-alives (200 ms,
 * dead after 5 missed) let every one of them declare P1 dead within about a
 * second, naming it.  And a party busy with 2.5 s of local work, longer than
 * the dead time, is kept alive by its keep-alives, which appear in no
 * statistics. */
typedef struct ka_arg {
    shared_page *page;
    bool freeze;
} ka_arg;

static void ka_options(cc_net_options *o)
{
    cc_net_options_default(o);
    o->io_timeout_ms = 30000;
    o->keepalive_ms = 200;
    o->keepalive_misses = 5;
}

static int ka_party(cc_net *net, void *p)
{
    ka_arg *a = p;
    int me = cc_net_party(net);
    party_report *r = &a->page->party[me];
    uint8_t out[4096] = {0}, in[4096];
    cc_net_op_begin(net, "ka-op");
    cc_status s = cc_net_exchange(net, CC_NEXT, out, CC_PREV, in, sizeof in);
    if (s == CC_OK && a->freeze) {
        if (me == 1) {
            a->page->t_fault = cc_now_ns();
            raise(SIGSTOP);
        }
        s = cc_net_recv(net, me == 0 ? CC_NEXT : CC_PREV, in, sizeof in); /* from P1 */
    } else if (s == CC_OK) {
        if (me == 1) usleep(2500000); /* long local work */
        s = cc_net_exchange(net, CC_NEXT, out, CC_PREV, in, sizeof in);
    }
    cc_net_op_end(net);
    r->elapsed_ns = cc_now_ns() - a->page->t_fault;
    report(r, s);
    cc_net_stat st[8];
    size_t n = cc_net_stats(net, st, 8);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(st[i].tag, "ka-op")) {
            r->values[0] = st[i].rounds;
            r->values[1] = st[i].bytes_sent;
            r->values[2] = st[i].bytes_recv;
        }
    r->values[3] = net->dir[CC_NEXT]->pings_recv + net->dir[CC_PREV]->pings_recv;
    return s == CC_OK ? 0 : 3;
}

static int ka_client(cc_client *c, void *p)
{
    ka_arg *a = p;
    uint8_t b[16];
    cc_status s = cc_client_recv(c, 1, b, sizeof b); /* P1 never sends it */
    a->page->client.elapsed_ns = cc_now_ns() - a->page->t_fault;
    report(&a->page->client, s);
    return s == CC_OK ? 0 : 3;
}

static void keepalive_detects_frozen_party(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    ka_arg a = {page, true};
    cc_net_options o;
    ka_options(&o);
    cc_launch_result res;
    cc_status s = cc_net_launch_local(ka_party, &a, ka_client, &a, &o, &res);
    assert_int_not_equal(s, CC_OK);
    for (int i = 0; i < 4; i++) {
        if (i == 1) continue;
        party_report *r = i < 3 ? &page->party[i] : &page->client;
        print_message("%s (%.2f s after the freeze): %s\n", i < 3 ? (i ? "P2" : "P0") : "client",
                      r->elapsed_ns * 1e-9, r->msg);
        assert_int_not_equal(r->status, CC_OK);
        assert_non_null(strstr(r->msg, "P1"));
        assert_true(r->elapsed_ns < 3000000000ull); /* not the 30 s I/O timeout */
    }
    /* the neighbours saw it themselves */
    assert_non_null(strstr(page->party[0].msg, "not even a keep-alive"));
    assert_non_null(strstr(page->party[2].msg, "not even a keep-alive"));
    shared_page_free(page);
}

static void keepalive_spans_long_local_work(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    ka_arg a = {page, false};
    cc_net_options o;
    ka_options(&o);
    cc_launch_result res;
    page->t_fault = cc_now_ns();
    cc_status s = cc_net_launch_local(ka_party, &a, NULL, NULL, &o, &res);
    for (int i = 0; i < 3; i++) print_message("P%d: %s\n", i, page->party[i].msg);
    assert_int_equal(s, CC_OK);
    for (int i = 0; i < 3; i++) {
        party_report *r = &page->party[i];
        assert_int_equal(r->status, CC_OK);
        assert_int_equal(r->values[0], 2);    /* rounds: keep-alives are not rounds */
        assert_int_equal(r->values[1], 8192); /* nor bytes */
        assert_int_equal(r->values[2], 8192);
    }
    /* P2 waited for P1 all along: P1 kept pinging while it worked */
    print_message("keep-alives P2 received: %llu\n", (unsigned long long)page->party[2].values[3]);
    assert_true(page->party[2].values[3] >= 5);
    shared_page_free(page);
}

/* ---- limits ----------------------------------------------------------------------------
 * P0 sends P1 three 512 KiB messages P1 has not asked for, with a 1 MiB
 * budget for unrequested bytes: P1 ends the run with an error naming P0 and
 * the budget (before: it buffered whatever came).  A send over
 * max_message_bytes fails at once, naming the limit. */
static int budget_party(cc_net *net, void *p)
{
    shared_page *page = p;
    int me = cc_net_party(net);
    party_report *r = &page->party[me];
    size_t n = 512u << 10;
    uint8_t *buf = calloc(1, 2 * n);
    cc_status s = CC_OK;
    if (me == 0) {
        for (int i = 0; i < 3 && s == CC_OK; i++) s = cc_net_send(net, CC_NEXT, buf, n);
        if (s == CC_OK) s = cc_net_flush(net);
        if (s == CC_OK) s = cc_net_recv(net, CC_NEXT, buf, 1); /* never comes */
    } else if (me == 1) {
        usleep(500000); /* busy elsewhere while P0's data arrives */
        s = cc_net_recv(net, CC_PREV, buf, n);
    } else {
        cc_net_set_limits(net, 768u << 10, 0); /* the job knows its largest message */
        cc_status big = cc_net_send(net, CC_NEXT, buf, 2 * n); /* over max_message_bytes */
        r->values[0] = (uint64_t)big;
        snprintf(r->msg, sizeof r->msg, "%s", cc_error_message());
        s = cc_net_recv(net, CC_PREV, buf, 1); /* never comes */
    }
    if (me != 2) report(r, s);
    else r->status = s;
    r->values[1] = cc_peak_rss_bytes();
    free(buf);
    return s == CC_OK ? 0 : 3;
}

static void limits_are_enforced(void **state)
{
    (void)state;
    shared_page *page = shared_page_new();
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 5000;
    o.max_unrequested_bytes = 1u << 20;
    cc_launch_result res;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_launch_local(budget_party, page, NULL, NULL, &o, &res);
    uint64_t dt = cc_now_ns() - t0;
    for (int i = 0; i < 3; i++) print_message("P%d: %s\n", i, page->party[i].msg);
    assert_int_not_equal(s, CC_OK);
    assert_int_equal(page->party[1].status, CC_ERR_PEER);
    assert_non_null(strstr(page->party[1].msg, "P0 sent more data than we asked for"));
    assert_non_null(strstr(page->party[1].msg, "budget of 1048576 bytes"));
    assert_int_equal(page->party[2].values[0], CC_ERR_ARG);
    assert_non_null(strstr(page->party[2].msg, "exceeds max_message_bytes (786432)"));
    assert_true(dt < 5000000000ull);
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
            uint64_t t0 = cc_now_ns();
            cc_status s = cc_net_open_fd(&t->cl[i], i, &t->key[i], &t->opt[i], t->lfd[i], &net);
            r->elapsed_ns = cc_now_ns() - t0;
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

/* Strangers at P0's door before the real peers: silent connections (port
 * scanners, a HELLO that never comes), a HELLO claiming P1 with a random key,
 * a HELLO with P1's real public key (as a replay would have) followed by a
 * forged key confirmation, and a claimed client the cluster does not have.
 * Start-up must go on as if they were not there: every party succeeds, and
 * P0 is not held up by them (each gets its own short handshake deadline). */
static void fill_hello(uint8_t h[CC_HELLO_BYTES], int role, int target, const uint8_t pk[32])
{
    memset(h, 0, CC_HELLO_BYTES);
    memcpy(h, "CARACAL1", 8);
    h[8] = CC_HELLO_VERSION;
    h[9] = (uint8_t)role;
    h[10] = (uint8_t)target;
    h[11] = 2; /* encrypted, can do AES */
    memcpy(h + 16, pk, 32);
    randombytes_buf(h + 48, CC_HELLO_BYTES - 48);
}

static void strangers_never_stop_startup(void **state)
{
    (void)state;
    trio t;
    trio_init(&t);
    for (int i = 0; i < 3; i++) t.opt[i].connect_timeout_ms = 12000;
    uint16_t port = t.cl[0].party[0].port;
    int fd[6];
    uint8_t hello[CC_HELLO_BYTES], junk[32], rnd[32];
    for (int i = 0; i < 3; i++) fd[i] = raw_connect(port); /* silent */
    randombytes_buf(rnd, sizeof rnd);
    fd[3] = raw_connect(port); /* claims P1, random key */
    fill_hello(hello, 1, 0, rnd);
    assert_int_equal(write(fd[3], hello, sizeof hello), (ssize_t)sizeof hello);
    fd[4] = raw_connect(port); /* P1's public key, but cannot confirm it */
    fill_hello(hello, 1, 0, t.key[1].pk);
    assert_int_equal(write(fd[4], hello, sizeof hello), (ssize_t)sizeof hello);
    randombytes_buf(junk, sizeof junk);
    assert_int_equal(write(fd[4], junk, sizeof junk), (ssize_t)sizeof junk);
    fd[5] = raw_connect(port); /* a client, which this cluster does not have */
    fill_hello(hello, 3, 0, rnd);
    assert_int_equal(write(fd[5], hello, sizeof hello), (ssize_t)sizeof hello);
    usleep(100000); /* let P0's backlog hold them before the peers */
    shared_page *page = shared_page_new();
    trio_run(&t, page);
    for (int i = 0; i < 3; i++) {
        print_message("P%d open took %.2f s\n", i, page->party[i].elapsed_ns * 1e-9);
        assert_int_equal(page->party[i].status, CC_OK);
    }
    assert_true(page->party[0].elapsed_ns < 4000000000ull); /* below one handshake deadline */
    for (int i = 0; i < 6; i++) close(fd[i]);
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
        cmocka_unit_test(keepalive_detects_frozen_party),
        cmocka_unit_test(keepalive_spans_long_local_work),
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(launcher_kills_stragglers),
        cmocka_unit_test(wrong_public_key_refused),
        cmocka_unit_test(impostor_without_secret_key),
        cmocka_unit_test(plaintext_mismatch_refused),
        cmocka_unit_test(mixed_cipher_cluster_works),
        cmocka_unit_test(garbage_connections_rejected),
        cmocka_unit_test(strangers_never_stop_startup),
        cmocka_unit_test(nobody_connects),
        cmocka_unit_test(malformed_frames_rejected),
    };
    const char *filter = getenv("CARACAL_NET_TEST_FILTER");
    if (filter) cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
