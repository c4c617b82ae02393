/* caracal-party — one compute party of a Caracal cluster.
 *
 *   caracal-party --party I --config cluster.conf --key pI.key
 *                 [--insecure-plaintext-links] [--link-profile P] [--connect-timeout-ms N]
 *                 [--io-timeout-ms N] [--stats-json FILE] [--quiet]
 *   caracal-party --party client --config cluster.conf --key client.key
 *
 * With weights (--shares DIR or --synthetic GEOM) the party is a service: it
 * serves secure inference jobs from the client (llama7b_token --config ...),
 * each one mesh session — connect, serve, report, close — --jobs times, or
 * with --jobs 0 (the default) until SIGTERM/SIGINT.  Between jobs it waits
 * for the client without a time limit (a restarted peer party rejoins at
 * the next job); a failed, aborted or timed-out job is logged with its cause
 * and the party goes back to waiting.  The first SIGTERM/SIGINT lets the
 * current job finish (a second one aborts it) and the party exits 0.
 * Without weights it sets up its authenticated links,
 * runs a self-check with its neighbours (and the client, when the config
 * names one) and exits; `--party client` runs the client's half of the
 * self-check, so a whole cluster can be tried with four commands
 * (docs/NETWORK.md).  Exit status: 0 ok, 1 failure, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "core.h"
#include "kern.h"
#include "bundle.h"
#include "job.h"
#include "model.h"
#include "net.h"
#include "secure.h"
#include "thread.h"

typedef struct party_args {
    int party;              /* 0..2, or 3 for the client */
    const char *config, *key, *stats_json;
    uint32_t rotate_mib;    /* optional throughput probe after the self-check */
    cc_net_options opt;
    bool quiet;
    /* serving */
    const char *shares, *synthetic, *cpus;
    cc_model_config synth;
    uint32_t jobs, threads;
    int frac_bits;
    bool verify;
    bool io_timeout_given;         /* --io-timeout-ms on the command line */
    cc_reveal_mode allow_reveal;   /* --allow-reveal (default token) */
} party_args;

static void usage(FILE *f)
{
    fputs("usage: caracal-party --party {0|1|2|client} --config FILE --key FILE\n"
          "                     [--insecure-plaintext-links] [--link-profile P] [--connect-timeout-ms N]\n"
          "                     [--io-timeout-ms N] [--stats-json FILE] [--rotate-mib N] [--quiet]\n"
          "                     [--shares DIR | --synthetic GEOM] [--frac-bits N] [--verify]\n"
          "                     [--jobs N] [--threads N] [--cpus LIST]\n"
          "                     [--allow-reveal token|logits]\n"
          "  --link-profile P  emulate a network on this party's outgoing links: none\n"
          "                  (default), lan (1 ms round trip, 10 Gbit/s), wan (40 ms,\n"
          "                  0.4 Gbit/s) or RTT_MS,GBPS; give every party (and the\n"
          "                  client) the same profile (docs/NETWORK.md)\n"
          "  --rotate-mib N  after the self-check, send N MiB to next while receiving\n"
          "                  N MiB from prev, 3 times, and print the throughput per link\n"
          "  --shares DIR    serve secure inference from this party's share bundle\n"
          "  --synthetic G   serve with seed-derived weights of geometry G (llama-7b,\n"
          "                  stories260k): benchmarks, meaningless output\n"
          "  --jobs N        serve N client jobs, then exit (default 0: until SIGTERM/SIGINT)\n"
          "  --allow-reveal token|logits\n"
          "                  the most a client may learn: the token id (default) or\n"
          "                  logits too (--reveal logits, --all-logits); jobs asking\n"
          "                  for more are refused\n"
          "  --io-timeout-ms N  how long a party waits for a message from a peer that is\n"
          "                  alive (keep-alive) but silent: default 60000, serving 86400000\n"
          "                  (local work can take minutes; dead peers are found in 10 s)\n"
          "  --threads N     worker threads (default: all CPUs of --cpus or the machine)\n", f);
}

static bool parse_u32(const char *s, uint32_t *out) { return cc_cli_u32(s, 1, 86400000u, out); }


/* 0 = ok, 2 = usage error (message printed) */
static int parse_args(int argc, char **argv, party_args *a)
{
    memset(a, 0, sizeof *a);
    a->party = -1;
    cc_net_options_default(&a->opt);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) { usage(stdout); exit(0); }
        else if (!strcmp(o, "--insecure-plaintext-links")) a->opt.insecure_plaintext = true;
        else if (!strcmp(o, "--quiet")) a->quiet = true;
        else if (!strcmp(o, "--verify")) a->verify = true;
        else if (!v) { fprintf(stderr, "caracal-party: %s needs a value\n", o); return 2; }
        else if (!strcmp(o, "--party")) {
            i++;
            if (!strcmp(v, "client")) a->party = 3;
            else if (!strcmp(v, "0") || !strcmp(v, "1") || !strcmp(v, "2")) a->party = v[0] - '0';
            else { fprintf(stderr, "caracal-party: --party must be 0, 1, 2 or client\n"); return 2; }
        } else if (!strcmp(o, "--config")) { a->config = v; i++; }
        else if (!strcmp(o, "--key")) { a->key = v; i++; }
        else if (!strcmp(o, "--stats-json")) { a->stats_json = v; i++; }
        else if (!strcmp(o, "--link-profile")) {
            if (cc_link_profile_parse(v, &a->opt.link_profile) != CC_OK) {
                fprintf(stderr, "caracal-party: %s\n", cc_error_message());
                return 2;
            }
            i++;
        }
        else if (!strcmp(o, "--shares")) { a->shares = v; i++; }
        else if (!strcmp(o, "--cpus")) { a->cpus = v; i++; }
        else if (!strcmp(o, "--allow-reveal")) {
            i++;
            if (!strcmp(v, "token")) a->allow_reveal = CC_REVEAL_TOKEN;
            else if (!strcmp(v, "logits")) a->allow_reveal = CC_REVEAL_LOGITS;
            else { fprintf(stderr, "caracal-party: --allow-reveal must be token or logits\n"); return 2; }
        }
        else if (!strcmp(o, "--synthetic")) {
            if (cc_config_preset(v, &a->synth) != CC_OK) {
                fprintf(stderr, "caracal-party: --synthetic: %s\n", cc_error_message());
                return 2;
            }
            a->synthetic = v;
            i++;
        } else if (!strcmp(o, "--frac-bits")) {
            if (!cc_cli_int(v, 8, 30, &a->frac_bits)) {
                fprintf(stderr, "caracal-party: --frac-bits wants 8..30\n");
                return 2;
            }
            i++;
        } else if (!strcmp(o, "--jobs")) {
            if (!cc_cli_u32(v, 0, 86400000u, &a->jobs)) {
                fprintf(stderr, "caracal-party: --jobs wants a count (0: serve until SIGTERM)\n");
                return 2;
            }
            i++;
        } else if (!strcmp(o, "--threads")) {
            if (!parse_u32(v, &a->threads)) {
                fprintf(stderr, "caracal-party: --threads wants a positive count\n");
                return 2;
            }
            i++;
        }
        else if (!strcmp(o, "--rotate-mib")) {
            if (!parse_u32(v, &a->rotate_mib) || a->rotate_mib > 4096) {
                fprintf(stderr, "caracal-party: --rotate-mib wants 1..4096\n");
                return 2;
            }
            i++;
        }
        else if (!strcmp(o, "--connect-timeout-ms") || !strcmp(o, "--io-timeout-ms")) {
            uint32_t *dst = o[2] == 'c' ? &a->opt.connect_timeout_ms : &a->opt.io_timeout_ms;
            if (!parse_u32(v, dst)) {
                fprintf(stderr, "caracal-party: %s wants milliseconds (1..86400000)\n", o);
                return 2;
            }
            a->io_timeout_given |= dst == &a->opt.io_timeout_ms;
            i++;
        } else {
            fprintf(stderr, "caracal-party: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
    }
    if (a->shares && a->synthetic) {
        fprintf(stderr, "caracal-party: --shares and --synthetic exclude each other\n");
        return 2;
    }
    if (a->party == 3 && (a->shares || a->synthetic)) {
        fprintf(stderr, "caracal-party: the client has no weights (use llama7b_token)\n");
        return 2;
    }
    a->frac_bits = a->frac_bits ? a->frac_bits : -1;
    if (a->party < 0 || !a->config || !a->key) {
        fprintf(stderr, "caracal-party: --party, --config and --key are required\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* ---- self-check ----------------------------------------------------------------
 * 1. Each link's shared key: a party sends next a hash of the key it shares
 *    with next and compares what prev sends with its own hash of the prev key
 *    (a hash, never the key), then the same the other way round.
 * 2. Round-trip latency: 200 exchanges of 8 bytes around the ring.
 * 3. With a client: each party sends it a 32-byte "ready" record and waits
 *    for a 32-byte acknowledgement. */
#define READY_BYTES 32

static void key_digest(cc_net *net, cc_dir d, uint8_t out[32])
{
    uint8_t k[16];
    if (cc_net_shared_key(net, d, "selfchck", 0, k) != CC_OK) memset(k, 0, sizeof k);
    crypto_generichash(out, 32, k, sizeof k, (const uint8_t *)"caracal-selfcheck", 17);
    cc_wipe(k, sizeof k);
}

static void ready_record(int party, uint8_t out[READY_BYTES])
{
    memset(out, 0, READY_BYTES);
    snprintf((char *)out, READY_BYTES, "caracal P%d ready", party);
}

static cc_status party_selfcheck(cc_net *net, const cc_cluster *cl, double *round_us)
{
    int me = cc_net_party(net);
    uint8_t mine_next[32], mine_prev[32], got[32];
    key_digest(net, CC_NEXT, mine_next);
    key_digest(net, CC_PREV, mine_prev);
    cc_net_op_begin(net, "selfcheck/keys");
    CC_TRY(cc_net_exchange(net, CC_NEXT, mine_next, CC_PREV, got, 32));
    if (sodium_memcmp(got, mine_prev, 32) != 0)
        return cc_error_set(CC_ERR_AUTH, "P%d: the key shared with %s does not match", me,
                            cc_net_peer_name(net, CC_PREV));
    CC_TRY(cc_net_exchange(net, CC_PREV, mine_prev, CC_NEXT, got, 32));
    if (sodium_memcmp(got, mine_next, 32) != 0)
        return cc_error_set(CC_ERR_AUTH, "P%d: the key shared with %s does not match", me,
                            cc_net_peer_name(net, CC_NEXT));
    cc_net_op_end(net);

    cc_net_op_begin(net, "selfcheck/ping");
    uint64_t x = (uint64_t)me, y;
    enum { PINGS = 200 };
    uint64_t t0 = cc_now_ns();
    for (int i = 0; i < PINGS; i++) CC_TRY(cc_net_exchange(net, CC_NEXT, &x, CC_PREV, &y, 8));
    *round_us = (double)(cc_now_ns() - t0) / PINGS / 1000.0;
    cc_net_op_end(net);

    if (cl->has_client) {
        cc_net_op_begin(net, "selfcheck/client");
        uint8_t ready[READY_BYTES], ack[READY_BYTES];
        ready_record(me, ready);
        CC_TRY(cc_net_send(net, CC_CLIENT, ready, sizeof ready));
        CC_TRY(cc_net_recv(net, CC_CLIENT, ack, sizeof ack));
        CC_TRY(cc_net_flush(net));
        if (memcmp(ack, "caracal client ack", 18) != 0)
            return cc_error_set(CC_ERR_PEER, "P%d: the client's acknowledgement is malformed", me);
        cc_net_op_end(net);
    }
    return CC_OK;
}

/* Throughput probe: rotate `mib` MiB three times (one warm-up). */
static cc_status rotate_probe(cc_net *net, uint32_t mib)
{
    size_t n = (size_t)mib << 20;
    uint8_t *out = cc_calloc(1, n), *in = cc_alloc(n);
    cc_status s = out && in ? CC_OK : CC_ERR_NOMEM;
    cc_net_op_begin(net, "probe/rotate");
    uint64_t t0 = 0;
    for (int i = 0; s == CC_OK && i < 4; i++) {
        if (i == 1) t0 = cc_now_ns();
        s = cc_net_exchange(net, CC_NEXT, out, CC_PREV, in, n);
    }
    cc_net_op_end(net);
    if (s == CC_OK) {
        double secs = cc_ns_to_s(cc_now_ns() - t0);
        cc_info("rotate %u MiB: %.1f MB/s per link (%s)", mib, 3.0 * (double)n / secs / 1e6,
                cc_net_cipher_name(net));
    }
    cc_free(out);
    cc_free(in);
    return s;
}

static cc_status write_stats_json(cc_net *net, const char *path)
{
    char *json;
    CC_TRY(cc_net_stats_json(net, &json));
    FILE *f = fopen(path, "w");
    cc_status s = CC_OK;
    if (!f || fputs(json, f) < 0 || fclose(f) != 0)
        s = cc_error_set(CC_ERR_IO, "cannot write %s", path);
    free(json);
    return s;
}

/* Log tag, cluster config and this party's key, which must be the one the
 * config pins for it. */
static cc_status load_identity(const party_args *a, cc_cluster *cl, cc_keypair *key)
{
    char tag[8];
    snprintf(tag, sizeof tag, "P%d", a->party);
    cc_log_set_tag(tag);
    CC_TRY(cc_cluster_load(a->config, cl));
    CC_TRY(cc_keypair_load(a->key, key));
    if (sodium_memcmp(key->pk, cl->party[a->party].pk, CC_NET_PUBKEY_BYTES) != 0) {
        cc_keypair_wipe(key);
        return cc_error_set(CC_ERR_AUTH, "%s is not P%d's key according to %s", a->key, a->party,
                            a->config);
    }
    return CC_OK;
}

static int run_party(const party_args *a)
{
    cc_cluster cl;
    cc_keypair key;
    cc_status s = load_identity(a, &cl, &key);
    cc_net *net = NULL;
    if (s == CC_OK) s = cc_net_open(&cl, a->party, &key, &a->opt, &net);
    cc_keypair_wipe(&key);
    double round_us = 0;
    if (s == CC_OK) s = party_selfcheck(net, &cl, &round_us);
    if (s == CC_OK) {
        cc_info("self-check passed: links %s, ring round trip %.1f us", cc_net_cipher_name(net),
                round_us);
        if (a->rotate_mib) s = rotate_probe(net, a->rotate_mib);
    }
    if (net && !a->quiet) cc_net_stats_print(net, stderr);
    if (s == CC_OK && net && a->stats_json) s = write_stats_json(net, a->stats_json);
    if (s != CC_OK) cc_error_log("%s", cc_error_message());
    cc_net_close(net);
    return s == CC_OK ? 0 : 1;
}

/* ---- serving lifecycle ------------------------------------------------------------
 * SIGTERM/SIGINT/SIGHUP are blocked in every thread and taken by one signal
 * thread (sigwait), so no handler runs in the middle of network code.  The
 * first signal sets `stopping` and makes the stop pipe readable: a party
 * waiting for its next job (cc_net_open with opt.cancel_fd) gives up at
 * once; a job in progress is allowed to finish.  A second signal aborts the
 * job in progress through cc_net_abort (its peers and the client fail at
 * once, naming this party). */
typedef struct service {
    pthread_mutex_t mu;
    cc_net *current;        /* the job's net while one runs */
    int stop_pipe[2];
    int signals;            /* how many stop signals arrived */
    int party;
} service;

static service svc = {.mu = PTHREAD_MUTEX_INITIALIZER, .stop_pipe = {-1, -1}};

static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0) continue;
        pthread_mutex_lock(&svc.mu);
        int n = ++svc.signals;
        if (n == 1) {
            cc_info("%s: stopping%s", strsignal(sig),
                    svc.current ? " after the current job (signal again to abort it)" : "");
            uint8_t one = 1;
            while (write(svc.stop_pipe[1], &one, 1) < 0 && errno == EINTR) {}
        } else if (svc.current) {
            char why[96];
            snprintf(why, sizeof why, "P%d is shutting down (%s)", svc.party, strsignal(sig));
            cc_warn("%s again: aborting the current job", strsignal(sig));
            cc_net_abort(svc.current, why);
        }
        pthread_mutex_unlock(&svc.mu);
    }
    return NULL;
}

static bool stopping(void)
{
    pthread_mutex_lock(&svc.mu);
    bool s = svc.signals > 0;
    pthread_mutex_unlock(&svc.mu);
    return s;
}

static void set_current(cc_net *net)
{
    pthread_mutex_lock(&svc.mu);
    svc.current = net;
    pthread_mutex_unlock(&svc.mu);
}

/* Block the stop signals here (before any thread exists, so every thread
 * inherits the mask) and start the thread that takes them. */
static cc_status service_start(int party)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "cannot block signals");
    if (pipe2(svc.stop_pipe, O_CLOEXEC) != 0)
        return cc_error_set(CC_ERR_IO, "pipe: %s", strerror(errno));
    svc.party = party;
    pthread_t t;
    if (pthread_create(&t, NULL, signal_thread, &set) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "cannot start the signal thread");
    pthread_detach(t);
    return CC_OK;
}

/* After a failed job: a short pause (ended early by a stop signal), so a
 * persistent fault (a peer refusing us) does not become a busy loop. */
static void pause_after_failure(void)
{
    struct pollfd p = {.fd = svc.stop_pipe[0], .events = POLLIN};
    while (poll(&p, 1, 1000) < 0 && errno == EINTR) {}
}

/* --io-timeout-ms of a serving party unless given (see run_serving) */
#define SERVING_IO_TIMEOUT_MS 86400000u

/* Serve secure inference jobs: one mesh session per client job. */
static int run_serving(const party_args *a)
{
    cc_cluster cl;
    cc_keypair key;
    cc_status s = service_start(a->party);
    if (s == CC_OK) s = load_identity(a, &cl, &key);
    bool have_key = s == CC_OK;
    if (s == CC_OK && !cl.has_client)
        s = cc_error_set(CC_ERR_ARG, "%s names no client: serving needs its public key", a->config);
    if (s == CC_OK) s = cc_thread_init(a->cpus, (int)a->threads);
    /* The weights are opened (and, with --verify, checked) once, here: a bad
     * bundle is a start-up error, not a job error, and a 7B bundle is not
     * re-validated for every job.  Each job re-checks that the files are
     * still these (cc_sweights_job_begin): a bundle replaced or truncated
     * under the running party is refused by name. */
    cc_sweights *weights = NULL;
    if (s == CC_OK && a->shares)
        s = cc_sweights_open_bundle(a->shares, a->party, a->frac_bits, a->verify, NULL, &weights);
    else if (s == CC_OK)
        s = cc_sweights_open_synthetic(&a->synth, a->party,
                                       a->frac_bits > 0 ? (unsigned)a->frac_bits : 18u, &weights);
    if (s != CC_OK) {
        cc_error_log("%s", cc_error_message());
        if (have_key) cc_keypair_wipe(&key);
        return 1;
    }
    cc_secure_party_options po = { .weights = weights, .progress = !a->quiet,
                                   .allow_reveal = a->allow_reveal };
    cc_net_options opt = a->opt;
    /* A job's phases of local work (a LLaMA-7B layer on a slow machine: minutes)
     * must not look like a dead peer to a party waiting for the next message.
     * Liveness is keep-alive's job (a peer that crashes, freezes or is cut
     * off is declared dead within keepalive_ms x keepalive_misses, 10 s,
     * also mid-frame), so the wait for a message from a live peer is bounded
     * only by a day, which catches nothing but a protocol deadlock.
     * --io-timeout-ms still sets it (tests). */
    if (!a->io_timeout_given) opt.io_timeout_ms = SERVING_IO_TIMEOUT_MS;
    opt.idle_until_client = true;          /* between jobs: wait as long as it takes */
    opt.cancel_fd = svc.stop_pipe[0];      /* ... unless told to stop */
    uint32_t failed = 0;
    for (uint32_t job = 1; (a->jobs == 0 || job <= a->jobs) && !stopping(); job++) {
        cc_net *net = NULL;
        cc_info("waiting for job %u (%s weights)", job, a->shares ? a->shares : a->synthetic);
        s = cc_net_open(&cl, a->party, &key, &opt, &net);
        if (s != CC_OK && stopping()) break;   /* the wait was cancelled */
        set_current(net);
        if (s == CC_OK) s = cc_secure_party_serve(net, &po);
        set_current(NULL);
        if (net && !a->quiet) cc_net_stats_print(net, stderr);
        if (s == CC_OK && a->stats_json) s = write_stats_json(net, a->stats_json);
        cc_net_close(net);
        /* a long job's buffers (KV cache, activations) must not stay
         * resident while the party idles or serves small jobs */
        cc_release_free_memory();
        if (s == CC_OK) {
            cc_info("job %u done", job);
        } else {
            failed++;
            cc_error_log("job %u failed: %s", job, cc_error_message());
            if (a->jobs == 0 || job < a->jobs) {
                cc_info("back to waiting for the next job");
                pause_after_failure();
            }
        }
    }
    cc_keypair_wipe(&key);
    cc_sweights_close(weights);
    if (stopping()) cc_info("stopped");
    /* --jobs N (tests): 1 if any job failed; serving until stopped: 0 */
    return a->jobs && failed ? 1 : 0;
}

static int run_client(const party_args *a)
{
    cc_log_set_tag("client");
    cc_cluster cl;
    cc_keypair key;
    cc_status s = cc_cluster_load(a->config, &cl);
    if (s == CC_OK) s = cc_keypair_load(a->key, &key);
    if (s == CC_OK && (!cl.has_client || sodium_memcmp(key.pk, cl.client_pk, 32) != 0))
        s = cc_error_set(CC_ERR_AUTH, "%s is not the client key named in %s", a->key, a->config);
    cc_client *c = NULL;
    if (s == CC_OK) s = cc_client_open(&cl, &key, &a->opt, &c);
    cc_keypair_wipe(&key);
    uint8_t ready[READY_BYTES], want[READY_BYTES], ack[READY_BYTES] = "caracal client ack";
    for (int p = 0; s == CC_OK && p < CC_NET_PARTIES; p++) {
        s = cc_client_recv(c, p, ready, sizeof ready);
        ready_record(p, want);
        if (s == CC_OK && memcmp(ready, want, sizeof want) != 0)
            s = cc_error_set(CC_ERR_PEER, "P%d's ready record is malformed", p);
        if (s == CC_OK) s = cc_client_send(c, p, ack, sizeof ack);
    }
    if (s == CC_OK) s = cc_client_flush(c);
    if (s == CC_OK) cc_info("self-check passed with P0, P1, P2");
    else cc_error_log("%s", cc_error_message());
    cc_client_close(c);
    return s == CC_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    party_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (cc_kern_init() != CC_OK) {   /* e.g. CARACAL_ISA names a missing ISA */
        fprintf(stderr, "%s: %s\n", "caracal-party", cc_error_message());
        return 2;
    }
    if (a.opt.insecure_plaintext)
        cc_warn("--insecure-plaintext-links: links are NOT encrypted (benchmarks on a trusted "
                "network only)");
    if (cc_link_profile_active(&a.opt.link_profile))
        cc_info("--link-profile %s: emulating %.1f ms round trip, %g Gbit/s per link and "
                "direction", a.opt.link_profile.name, a.opt.link_profile.rtt_ns * 1e-6,
                a.opt.link_profile.gbps);
    if (a.party == 3) return run_client(&a);
    return a.shares || a.synthetic ? run_serving(&a) : run_party(&a);
}
