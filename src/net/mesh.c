/* The compute party's mesh: start-up (listen, dial lower parties, accept
 * higher parties and the client, handshake each link) and the next/prev API.
 *
 * Who dials whom: a party dials every party with a lower id and accepts the
 * rest plus the client, so the start-up order has no cycle.  Accepted
 * connections are unauthenticated until their handshake completes: each runs
 * in its own thread under a short deadline, several at a time, and any
 * failure (garbage, truncated or slow handshake, port scan, wrong key,
 * replay, plaintext/encrypted mismatch) drops that connection with a warning
 * naming its address and cause while accepting goes on.  If the claimed peer
 * never arrives, the start-up timeout error repeats that cause. */
#include "net_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A single bad connection may hold start-up for at most this long. */
#define CC_HANDSHAKE_MS 5000u

void cc_net_options_default(cc_net_options *o)
{
    o->insecure_plaintext = false;
    o->connect_timeout_ms = 30000;
    o->io_timeout_ms = 60000;
    o->chunk_bytes = 256u << 10;
    o->max_message_bytes = 4ull << 30;
    o->max_unrequested_bytes = 4ull << 30;
    o->keepalive_ms = 1000;
    o->keepalive_misses = 10;
    o->idle_until_client = false;
    o->cancel_fd = 0;
    memset(&o->link_profile, 0, sizeof o->link_profile); /* real links only */
}

void cc_net_fill_defaults(cc_net_options *dst, const cc_net_options *src)
{
    cc_net_options_default(dst);
    if (src) *dst = *src;
    cc_net_options d;
    cc_net_options_default(&d);
    if (!dst->connect_timeout_ms) dst->connect_timeout_ms = d.connect_timeout_ms;
    if (!dst->io_timeout_ms) dst->io_timeout_ms = d.io_timeout_ms;
    if (!dst->max_message_bytes) dst->max_message_bytes = d.max_message_bytes;
    if (!dst->max_unrequested_bytes) dst->max_unrequested_bytes = d.max_unrequested_bytes;
    if (!dst->chunk_bytes) dst->chunk_bytes = d.chunk_bytes;
    if (!dst->keepalive_ms) dst->keepalive_ms = d.keepalive_ms;
    if (!dst->keepalive_misses) dst->keepalive_misses = d.keepalive_misses;
    dst->chunk_bytes = CC_MAX(dst->chunk_bytes, (size_t)4096);
    dst->chunk_bytes = CC_MIN(dst->chunk_bytes, (size_t)CC_NET_MAX_CHUNK);
}

static cc_dir dir_of(int me, int role)
{
    if (role == CC_ROLE_CLIENT) return CC_CLIENT;
    return role == (me + 1) % 3 ? CC_NEXT : CC_PREV;
}

static cc_status add_link(cc_net *net, int fd, int role, cc_session_keys *k)
{
    cc_link *l = NULL;
    cc_status s = cc_link_create(&net->hub, fd, role, k, &l);
    cc_wipe(k, sizeof *k);
    if (s != CC_OK) {
        close(fd);
        return s;
    }
    net->hub.links[role] = l;
    net->dir[dir_of(net->me, role)] = l;
    return CC_OK;
}

/* Dial party j and handshake (idle: retry connecting until it answers). */
static cc_status dial_one(cc_net *net, const cc_cluster *c, const cc_keypair *key, int j,
                          uint64_t deadline, bool idle)
{
    const cc_net_options *o = &net->hub.opt;
    const cc_endpoint *ep = &c->party[j];
    int fd;
    cc_status s = cc_sock_connect(ep->host, ep->port, idle ? 0 : deadline, o->cancel_fd, &fd);
    if (s != CC_OK) return cc_error_wrap(s, "P%d: connecting to P%d", net->me, j);
    uint64_t hs = idle ? cc_now_ns() + (uint64_t)o->connect_timeout_ms * 1000000u : deadline;
    cc_session_keys k;
    s = cc_handshake_initiate(fd, net->me, key, j, ep->pk, o->insecure_plaintext, hs, &k);
    if (s != CC_OK) {
        close(fd);
        return cc_error_wrap(s, "P%d", net->me);
    }
    return add_link(net, fd, j, &k);
}

static cc_status dial_lower(cc_net *net, const cc_cluster *c, const cc_keypair *key,
                            uint64_t deadline)
{
    const cc_net_options *o = &net->hub.opt;
    /* serving between jobs: a party that is down (restarting) is waited for */
    bool idle = o->idle_until_client && c->has_client;
    for (int j = 0; j < net->me; j++) CC_TRY(dial_one(net, c, key, j, deadline, idle));
    return CC_OK;
}

/* ---- accepting: every unauthenticated connection in its own handshake ----------
 * Each accepted socket gets a worker thread that runs the responder
 * handshake under its own short deadline, up to CC_ACCEPT_PARALLEL at a
 * time, so a port scanner, a slow or garbage HELLO, a wrong key or a replay
 * costs one slot for at most CC_HANDSHAKE_MS and never stops start-up: it is
 * logged with its cause and the listener keeps waiting for the real peers.
 * Only the accept loop's thread touches the mesh; workers report through a
 * pipe. */
#define CC_ACCEPT_PARALLEL 8

typedef struct hs_slot {
    pthread_t th;
    bool busy, done;
    int fd;
    char addr[80];
    /* inputs (read-only for the worker) */
    int me;
    const cc_keypair *key;
    const uint8_t *pinned[4];
    bool insecure;
    uint64_t deadline;
    int wake_fd;
    /* results */
    cc_status status;
    int role;
    cc_session_keys keys;
    char msg[512];
} hs_slot;

static void *hs_worker(void *arg)
{
    hs_slot *w = arg;
    w->status = cc_handshake_respond(w->fd, w->me, w->key, w->pinned, w->insecure, w->deadline,
                                     &w->role, &w->keys);
    snprintf(w->msg, sizeof w->msg, "%s", w->status == CC_OK ? "" : cc_error_message());
    __atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
    uint8_t one = 1;
    while (write(w->wake_fd, &one, 1) < 0 && errno == EINTR) {}
    return NULL;
}

/* Start a worker with every signal blocked, so signals reach the caller's
 * threads rather than a short-lived handshake thread. */
static bool hs_start(hs_slot *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->th, NULL, hs_worker, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0;
}

/* A rejected connection: what to say if the peer it claimed never comes. */
typedef struct reject_note {
    cc_status status;
    char msg[600];
} reject_note;

static void who_is_missing(const uint8_t *const pinned[4], char *out, size_t cap)
{
    out[0] = '\0';
    for (int r = 0; r < 4; r++)
        if (pinned[r])
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? ", " : "",
                     cc_role_name(r));
}

static const uint8_t *key_of(const cc_cluster *c, int role)
{
    return role == CC_ROLE_CLIENT ? c->client_pk : c->party[role].pk;
}

static cc_status accept_rest(cc_net *net, const cc_cluster *c, const cc_keypair *key,
                             int listen_fd, uint64_t deadline)
{
    const cc_net_options *o = &net->hub.opt;
    const uint8_t *pinned[4] = {NULL, NULL, NULL, NULL};
    int missing = 0;
    for (int j = net->me + 1; j < CC_NET_PARTIES; j++) {
        pinned[j] = c->party[j].pk;
        missing++;
    }
    if (c->has_client) {
        pinned[CC_ROLE_CLIENT] = c->client_pk;
        missing++;
    }
    /* whom handshakes accept: everybody expected, connected or not (a
     * restarted peer may connect again; see below) */
    const uint8_t *expect[4];
    memcpy(expect, pinned, sizeof expect);
    /* Serving between jobs: no deadline until the client is here. */
    bool idle = o->idle_until_client && pinned[CC_ROLE_CLIENT];
    if (idle) deadline = 0;
    int wake[2];
    if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return cc_error_set(CC_ERR_IO, "P%d: pipe failed: %s", net->me, strerror(errno));
    hs_slot *slot = cc_calloc(CC_ACCEPT_PARALLEL, sizeof *slot);
    if (!slot) {
        close(wake[0]);
        close(wake[1]);
        return CC_ERR_NOMEM;
    }
    reject_note last[4];
    memset(last, 0, sizeof last);
    cc_status s = CC_OK;
    bool quiet_ok[3] = {false, false, false}; /* link already carries data: not watched */
    while (missing > 0 && s == CC_OK) {
        int nbusy = 0;
        for (int i = 0; i < CC_ACCEPT_PARALLEL; i++) nbusy += slot[i].busy;
        struct pollfd pf[3 + CC_NET_PARTIES] = {
            {.fd = wake[0], .events = POLLIN},
            {.fd = nbusy < CC_ACCEPT_PARALLEL ? listen_fd : -1, .events = POLLIN},
            {.fd = o->cancel_fd > 0 ? o->cancel_fd : -1, .events = POLLIN}};
        /* While idle (no client yet), links set up for the coming job carry
         * nothing: a readable one was closed by its peer (it crashed or
         * restarted).  Watch them, to set them up again before the job. */
        int watched[CC_NET_PARTIES], nw = 0;
        for (int r = 0; idle && !deadline && r < CC_NET_PARTIES; r++)
            if (net->hub.links[r] && !quiet_ok[r]) {
                pf[3 + nw] = (struct pollfd){.fd = net->hub.links[r]->fd, .events = POLLIN};
                watched[nw++] = r;
            }
        int ms = -1;
        if (deadline) {
            uint64_t now = cc_now_ns();
            ms = now >= deadline ? 0 : (int)CC_MIN((deadline - now + 999999) / 1000000, 1u << 30);
        }
        int rc = poll(pf, (nfds_t)(3 + nw), ms);
        if (rc < 0 && errno == EINTR) continue;
        for (int i = 0; rc > 0 && i < nw && s == CC_OK; i++) {
            int r = watched[i];
            if (!pf[3 + i].revents) continue;
            uint8_t b;
            ssize_t n = recv(pf[3 + i].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n > 0) { quiet_ok[r] = true; continue; } /* the peer started already */
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            cc_info("P%d: %s closed its connection while we waited for the job; %s", net->me,
                    cc_role_name(r), r < net->me ? "dialing it again" : "waiting for it again");
            cc_link_free(net->hub.links[r]);
            net->hub.links[r] = NULL;
            net->dir[dir_of(net->me, r)] = NULL;
            if (r < net->me) {
                s = dial_one(net, c, key, r, 0, true);
            } else {
                pinned[r] = key_of(c, r);
                missing++;
            }
        }
        if (s != CC_OK) break;
        if (rc < 0) {
            s = cc_error_set(CC_ERR_IO, "P%d: poll failed: %s", net->me, strerror(errno));
            break;
        }
        if (pf[2].revents) {
            s = cc_error_set(CC_ERR_IO, "P%d: start-up cancelled", net->me);
            break;
        }
        if (pf[0].revents) {
            uint8_t drain[64];
            while (read(wake[0], drain, sizeof drain) > 0) {}
            for (int i = 0; i < CC_ACCEPT_PARALLEL && s == CC_OK; i++) {
                hs_slot *w = &slot[i];
                if (!w->busy || !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) continue;
                pthread_join(w->th, NULL);
                w->busy = false;
                if (w->status == CC_OK && !pinned[w->role] && net->hub.links[w->role]) {
                    /* The peer proved its key again: a restarted process
                     * whose earlier connection (not yet in use) is dead. */
                    cc_info("P%d: %s connected again from %s: replacing its earlier connection",
                            net->me, cc_role_name(w->role), w->addr);
                    cc_link_free(net->hub.links[w->role]);
                    net->hub.links[w->role] = NULL;
                    net->dir[dir_of(net->me, w->role)] = NULL;
                    pinned[w->role] = key_of(c, w->role);
                    missing++;
                }
                if (w->status != CC_OK) {
                    cc_wipe(&w->keys, sizeof w->keys);
                    close(w->fd);
                    cc_warn("P%d: rejected a connection from %s: %s", net->me, w->addr, w->msg);
                    /* remembered for the error if the claimed peer never comes */
                    int claimed = w->role >= 0 && w->role < 4 ? w->role : -1;
                    if (claimed >= 0 && pinned[claimed] && w->status != CC_ERR_PEER) {
                        last[claimed].status = w->status;
                        snprintf(last[claimed].msg, sizeof last[claimed].msg,
                                 "a connection from %s was rejected: %s", w->addr, w->msg);
                    }
                    continue;
                }
                s = add_link(net, w->fd, w->role, &w->keys);
                if (s != CC_OK) break;
                if (w->role == CC_ROLE_CLIENT && idle) /* the job starts: now bounded */
                    deadline = cc_now_ns() + (uint64_t)o->connect_timeout_ms * 1000000u;
                pinned[w->role] = NULL;
                missing--;
            }
        }
        if (s == CC_OK && pf[1].fd >= 0 && pf[1].revents) {
            hs_slot *w = NULL;
            for (int i = 0; i < CC_ACCEPT_PARALLEL && !w; i++)
                if (!slot[i].busy) w = &slot[i];
            int fd;
            char addr[80];
            if (cc_sock_accept(listen_fd, 1, &fd, addr, sizeof addr) == CC_OK) {
                uint64_t hs = cc_now_ns() + CC_HANDSHAKE_MS * 1000000ull;
                *w = (hs_slot){.busy = true, .fd = fd, .me = net->me, .key = key,
                               .insecure = o->insecure_plaintext, .role = -1, .wake_fd = wake[1],
                               .deadline = deadline ? CC_MIN(deadline, hs) : hs};
                snprintf(w->addr, sizeof w->addr, "%s", addr);
                memcpy(w->pinned, expect, sizeof expect);
                if (!hs_start(w)) {
                    w->busy = false;
                    close(fd);
                    cc_warn("P%d: cannot start a handshake thread; dropped a connection", net->me);
                }
            }
        }
        if (s == CC_OK && missing > 0 && deadline && cc_now_ns() >= deadline) {
            char who[64];
            who_is_missing(pinned, who, sizeof who);
            /* a peer that tried with the wrong key or mode: say so */
            cc_status why = CC_ERR_TIMEOUT;
            char detail[700] = "";
            for (int r = 0; r < 4; r++)
                if (pinned[r] && last[r].status != CC_OK) {
                    why = last[r].status;
                    snprintf(detail, sizeof detail, "; meanwhile %.600s", last[r].msg);
                }
            s = cc_error_set(why, "P%d: %s did not connect within the start-up timeout (%u ms)%s",
                             net->me, who, o->connect_timeout_ms, detail);
        }
    }
    /* unfinished handshakes: cut them short and wait for their threads */
    for (int i = 0; i < CC_ACCEPT_PARALLEL; i++) {
        hs_slot *w = &slot[i];
        if (!w->busy) continue;
        shutdown(w->fd, SHUT_RDWR);
        pthread_join(w->th, NULL);
        cc_wipe(&w->keys, sizeof w->keys);
        close(w->fd);
    }
    cc_free(slot);
    close(wake[0]);
    close(wake[1]);
    return s;
}

cc_status cc_net_open_fd(const cc_cluster *cluster, int me, const cc_keypair *my_key,
                         const cc_net_options *opt, int listen_fd, cc_net **out)
{
    *out = NULL;
    if (me < 0 || me >= CC_NET_PARTIES) {
        close(listen_fd);
        return cc_error_set(CC_ERR_ARG, "party id %d is not 0, 1 or 2", me);
    }
    if (sodium_init() < 0) {
        close(listen_fd);
        return cc_error_set(CC_ERR_INTERNAL, "libsodium failed to initialise");
    }
    cc_net *net = cc_calloc(1, sizeof *net);
    if (!net) {
        close(listen_fd);
        return CC_ERR_NOMEM;
    }
    cc_net_options o;
    cc_net_fill_defaults(&o, opt);
    char self[8];
    snprintf(self, sizeof self, "P%d", me);
    cc_hub_init(&net->hub, &o, self);
    net->me = me;
    net->cipher = o.insecure_plaintext ? CC_CIPHER_NONE : CC_CIPHER_AESGCM; /* lowered below */
    cc_net_stats_init(net);
    uint64_t deadline = cc_now_ns() + (uint64_t)o.connect_timeout_ms * 1000000u;
    cc_status s = dial_lower(net, cluster, my_key, deadline);
    if (s == CC_OK) s = accept_rest(net, cluster, my_key, listen_fd, deadline);
    close(listen_fd);
    for (int r = 0; s == CC_OK && r < 4; r++)
        if (net->hub.links[r]) s = cc_link_start(net->hub.links[r]);
    if (s != CC_OK) {
        cc_status keep = s;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cc_error_message());
        cc_hub_fail(&net->hub, s, "start-up failed");
        cc_hub_close_links(&net->hub);
        cc_hub_destroy(&net->hub);
        cc_free(net);
        return cc_error_set(keep, "%s", msg);
    }
    /* report the weakest link: XChaCha20 if any peer cannot do AES-GCM */
    for (int r = 0; r < 4; r++)
        if (net->hub.links[r] && net->hub.links[r]->tx.cipher == CC_CIPHER_XCHACHA)
            net->cipher = CC_CIPHER_XCHACHA;
    cc_info("P%d: links up (%s)", me, cc_cipher_name(net->cipher));
    *out = net;
    return CC_OK;
}

cc_status cc_net_open(const cc_cluster *cluster, int me, const cc_keypair *my_key,
                      const cc_net_options *opt, cc_net **out)
{
    *out = NULL;
    if (me < 0 || me >= CC_NET_PARTIES)
        return cc_error_set(CC_ERR_ARG, "party id %d is not 0, 1 or 2", me);
    uint16_t port = cluster->party[me].port;
    int fd;
    CC_TRY(cc_net_listen(cluster->party[me].host, &port, &fd));
    return cc_net_open_fd(cluster, me, my_key, opt, fd, out);
}

void cc_net_close(cc_net *net)
{
    if (!net) return;
    if (__atomic_load_n(&net->hub.fail_status, __ATOMIC_RELAXED) == CC_OK) /* threads may set it */
        cc_hub_flush(&net->hub, "close");
    cc_hub_close_links(&net->hub);
    cc_hub_destroy(&net->hub);
    cc_wipe(net, sizeof *net);
    cc_free(net);
}

void cc_net_abort(cc_net *net, const char *reason)
{
    if (net) cc_hub_fail(&net->hub, CC_ERR_PEER, "%s", reason && *reason ? reason : "aborted");
}

void cc_net_set_limits(cc_net *net, uint64_t max_message_bytes, uint64_t max_unrequested_bytes)
{
    pthread_mutex_lock(&net->hub.mu);
    if (max_message_bytes) net->hub.opt.max_message_bytes = max_message_bytes;
    if (max_unrequested_bytes) net->hub.opt.max_unrequested_bytes = max_unrequested_bytes;
    pthread_mutex_unlock(&net->hub.mu);
}

int cc_net_party(const cc_net *net) { return net->me; }
bool cc_net_insecure(const cc_net *net) { return net->cipher == CC_CIPHER_NONE; }
const char *cc_net_cipher_name(const cc_net *net) { return cc_cipher_name(net->cipher); }

const char *cc_net_peer_name(const cc_net *net, cc_dir d)
{
    if (d == CC_CLIENT) return "client";
    if (d != CC_PREV && d != CC_NEXT) return "nobody";
    return cc_role_name(d == CC_NEXT ? (net->me + 1) % 3 : (net->me + 2) % 3);
}

static const char *dir_word(cc_dir d)
{
    return d == CC_NEXT ? "next" : d == CC_PREV ? "prev" : "client";
}

static cc_status get_link(cc_net *net, cc_dir d, cc_link **l)
{
    if ((unsigned)d > CC_CLIENT || !net->dir[d])
        return cc_error_set(CC_ERR_ARG, "P%d: no link in direction %d%s", net->me, (int)d,
                            d == CC_CLIENT ? " (the cluster has no client)" : "");
    *l = net->dir[d];
    return CC_OK;
}

#define WRAP(s, verb, d) cc_error_wrap(s, "P%d: %s %s %s (%s) in op '%s'", net->me, verb, \
                                       (verb)[0] == 's' ? "to" : "from", cc_net_peer_name(net, d), \
                                       dir_word(d), cc_net_current_op(net))

cc_status cc_net_send(cc_net *net, cc_dir to, const void *buf, size_t len)
{
    cc_link *l = NULL;
    CC_TRY(get_link(net, to, &l));
    cc_net_account_send(net, len);
    cc_status s = cc_link_send(l, buf, len, cc_net_current_hash(net), cc_net_current_op(net));
    return s == CC_OK ? s : WRAP(s, "send", to);
}

cc_status cc_net_recv_begin(cc_net *net, cc_dir from, void *buf, size_t len, cc_net_rx **rx)
{
    cc_link *l = NULL;
    CC_TRY(get_link(net, from, &l));
    cc_net_account_recv(net, len);
    cc_status s = cc_link_recv_begin(l, buf, len, cc_net_current_op(net), rx);
    if (s == CC_OK) (*rx)->op = cc_net_current_op(net); /* points into the stats table */
    return s == CC_OK ? s : WRAP(s, "recv", from);
}

/* Time the user thread spends blocked on the network (CC_NET_WAIT_TAG): the
 * report's compute time is the wall time minus this. */
static void account_wait(cc_net *net, uint64_t t0)
{
    net->wait_ns += cc_now_ns() - t0;
    net->waits++;
}

/* rx handles of a party's net: their link's hub is the one inside cc_net. */
static cc_net *net_of(cc_net_rx *rx)
{
    return (cc_net *)((char *)rx->link->hub - offsetof(cc_net, hub));
}

/* rx handles carry no net pointer; errors name the link's peer. */
cc_status cc_net_recv_wait(cc_net_rx *rx, size_t bytes)
{
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_link_recv_wait(rx, bytes, NULL);
    account_wait(net_of(rx), t0);
    return s == CC_OK ? s : cc_error_wrap(s, "%s: recv from %s in op '%s'", rx->link->hub->self_name,
                                          rx->link->name, rx->op ? rx->op : "?");
}

cc_status cc_net_recv_end(cc_net_rx *rx)
{
    cc_link *l = rx->link;
    cc_net *net = net_of(rx);
    const char *op = rx->op ? rx->op : "?";
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_link_recv_end(rx, NULL);
    account_wait(net, t0);
    return s == CC_OK ? s : cc_error_wrap(s, "%s: recv from %s in op '%s'", l->hub->self_name,
                                          l->name, op);
}

cc_status cc_net_recv(cc_net *net, cc_dir from, void *buf, size_t len)
{
    cc_net_rx *rx;
    CC_TRY(cc_net_recv_begin(net, from, buf, len, &rx));
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_link_recv_end(rx, NULL);
    account_wait(net, t0);
    return s == CC_OK ? s : WRAP(s, "recv", from);
}

cc_status cc_net_flush(cc_net *net)
{
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_hub_flush(&net->hub, cc_net_current_op(net));
    account_wait(net, t0);
    return s == CC_OK ? s : cc_error_wrap(s, "P%d: flush in op '%s'", net->me, cc_net_current_op(net));
}

cc_status cc_net_exchange(cc_net *net, cc_dir to, const void *sbuf, cc_dir from, void *rbuf,
                          size_t len)
{
    CC_TRY(cc_net_send(net, to, sbuf, len));
    CC_TRY(cc_net_recv(net, from, rbuf, len));
    return cc_net_flush(net); /* sbuf is free again when we return */
}

cc_status cc_net_shared_key(cc_net *net, cc_dir with, const char ctx[8], uint64_t id,
                            uint8_t out[16])
{
    cc_link *l = NULL;
    CC_TRY(get_link(net, with, &l));
    if (crypto_kdf_derive_from_key(out, 16, id, ctx, l->prss_root) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "crypto_kdf failed");
    return CC_OK;
}
