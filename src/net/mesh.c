/* The compute party's mesh: start-up (listen, dial lower parties, accept
 * higher parties and the client, handshake each link) and the next/prev API.
 *
 * Who dials whom: a party dials every party with a lower id and accepts the
 * rest plus the client, so the start-up order has no cycle.  A connection
 * that is not a caracal peer (garbage, truncated handshake, port scan) is
 * dropped with a warning and accepting goes on; a known peer presenting the
 * wrong key, or a plaintext/encrypted mismatch, ends start-up with an error
 * naming that peer. */
#include "net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A single bad connection may hold start-up for at most this long. */
#define CC_HANDSHAKE_MS 5000u

void cc_net_options_default(cc_net_options *o)
{
    o->insecure_plaintext = false;
    o->connect_timeout_ms = 30000;
    o->io_timeout_ms = 60000;
    o->chunk_bytes = 256u << 10;
    o->max_message_bytes = 64ull << 30;
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
    if (!dst->chunk_bytes) dst->chunk_bytes = d.chunk_bytes;
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

static cc_status dial_lower(cc_net *net, const cc_cluster *c, const cc_keypair *key,
                            uint64_t deadline)
{
    for (int j = 0; j < net->me; j++) {
        const cc_endpoint *ep = &c->party[j];
        int fd;
        cc_status s = cc_sock_connect(ep->host, ep->port, deadline, &fd);
        if (s != CC_OK) return cc_error_wrap(s, "P%d: connecting to P%d", net->me, j);
        cc_session_keys k;
        s = cc_handshake_initiate(fd, net->me, key, j, ep->pk, net->hub.opt.insecure_plaintext,
                                  deadline, &k);
        if (s != CC_OK) {
            close(fd);
            return cc_error_wrap(s, "P%d", net->me);
        }
        CC_TRY(add_link(net, fd, j, &k));
    }
    return CC_OK;
}

static cc_status accept_rest(cc_net *net, const cc_cluster *c, const cc_keypair *key,
                             int listen_fd, uint64_t deadline)
{
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
    while (missing > 0) {
        int fd;
        char addr[80];
        cc_status s = cc_sock_accept(listen_fd, deadline, &fd, addr, sizeof addr);
        if (s == CC_ERR_TIMEOUT) {
            char who[64] = "";
            for (int r = 0; r < 4; r++)
                if (pinned[r]) {
                    strcat(who, who[0] ? ", " : "");
                    strcat(who, cc_role_name(r));
                }
            return cc_error_set(CC_ERR_TIMEOUT, "P%d: %s did not connect within the start-up "
                                "timeout (%u ms)", net->me, who, net->hub.opt.connect_timeout_ms);
        }
        if (s != CC_OK) return cc_error_wrap(s, "P%d", net->me);
        uint64_t hs_deadline = CC_MIN(deadline, cc_now_ns() + CC_HANDSHAKE_MS * 1000000ull);
        int role = -1;
        cc_session_keys k;
        s = cc_handshake_respond(fd, net->me, key, pinned, net->hub.opt.insecure_plaintext,
                                 hs_deadline, &role, &k);
        if (s == CC_ERR_AUTH || s == CC_ERR_MISMATCH) {
            close(fd);
            return cc_error_wrap(s, "P%d", net->me);
        }
        if (s != CC_OK) {
            cc_warn("P%d: rejected a connection from %s: %s", net->me, addr, cc_error_message());
            close(fd);
            continue;
        }
        CC_TRY(add_link(net, fd, role, &k));
        pinned[role] = NULL;
        missing--;
    }
    return CC_OK;
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

/* rx handles carry no net pointer; errors name the link's peer. */
cc_status cc_net_recv_wait(cc_net_rx *rx, size_t bytes)
{
    cc_status s = cc_link_recv_wait(rx, bytes, NULL);
    return s == CC_OK ? s : cc_error_wrap(s, "%s: recv from %s in op '%s'", rx->link->hub->self_name,
                                          rx->link->name, rx->op ? rx->op : "?");
}

cc_status cc_net_recv_end(cc_net_rx *rx)
{
    cc_link *l = rx->link;
    const char *op = rx->op ? rx->op : "?";
    cc_status s = cc_link_recv_end(rx, NULL);
    return s == CC_OK ? s : cc_error_wrap(s, "%s: recv from %s in op '%s'", l->hub->self_name,
                                          l->name, op);
}

cc_status cc_net_recv(cc_net *net, cc_dir from, void *buf, size_t len)
{
    cc_net_rx *rx;
    CC_TRY(cc_net_recv_begin(net, from, buf, len, &rx));
    cc_status s = cc_link_recv_end(rx, NULL);
    return s == CC_OK ? s : WRAP(s, "recv", from);
}

cc_status cc_net_flush(cc_net *net)
{
    cc_status s = cc_hub_flush(&net->hub, cc_net_current_op(net));
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
