/* The client's view: one authenticated link to each compute party.  The
 * client dials every party (role "client", id 3 in the handshake). */
#include "net_impl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct cc_client {
    cc_hub hub;
};

cc_status cc_client_open(const cc_cluster *cluster, const cc_keypair *client_key,
                         const cc_net_options *opt, cc_client **out)
{
    *out = NULL;
    if (sodium_init() < 0) return cc_error_set(CC_ERR_INTERNAL, "libsodium failed to initialise");
    cc_client *c = cc_calloc(1, sizeof *c);
    if (!c) return CC_ERR_NOMEM;
    cc_net_options o;
    cc_net_fill_defaults(&o, opt);
    cc_hub_init(&c->hub, &o, "client");
    uint64_t deadline = cc_now_ns() + (uint64_t)o.connect_timeout_ms * 1000000u;
    cc_status s = CC_OK;
    for (int p = 0; s == CC_OK && p < CC_NET_PARTIES; p++) {
        const cc_endpoint *ep = &cluster->party[p];
        int fd;
        s = cc_sock_connect(ep->host, ep->port, deadline, o.cancel_fd, &fd);
        if (s != CC_OK) {
            cc_error_wrap(s, "client: connecting to P%d", p);
            break;
        }
        cc_session_keys k;
        s = cc_handshake_initiate(fd, CC_ROLE_CLIENT, client_key, p, ep->pk, o.insecure_plaintext,
                                  deadline, &k);
        if (s != CC_OK) {
            close(fd);
            cc_error_wrap(s, "client");
            break;
        }
        s = cc_link_create(&c->hub, fd, p, &k, &c->hub.links[p]);
        cc_wipe(&k, sizeof k);
        if (s != CC_OK) close(fd);
    }
    for (int p = 0; s == CC_OK && p < CC_NET_PARTIES; p++) s = cc_link_start(c->hub.links[p]);
    if (s != CC_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cc_error_message());
        cc_hub_fail(&c->hub, s, "start-up failed");
        cc_hub_close_links(&c->hub);
        cc_hub_destroy(&c->hub);
        cc_free(c);
        return cc_error_set(s, "%s", msg);
    }
    *out = c;
    return CC_OK;
}

void cc_client_close(cc_client *c)
{
    if (!c) return;
    if (__atomic_load_n(&c->hub.fail_status, __ATOMIC_RELAXED) == CC_OK) /* threads may set it */
        cc_hub_flush(&c->hub, "close");
    cc_hub_close_links(&c->hub);
    cc_hub_destroy(&c->hub);
    cc_free(c);
}

void cc_client_abort(cc_client *c, const char *reason)
{
    if (c) cc_hub_fail(&c->hub, CC_ERR_PEER, "%s", reason && *reason ? reason : "aborted");
}

static cc_status party_link(cc_client *c, int party, cc_link **l)
{
    if (party < 0 || party >= CC_NET_PARTIES)
        return cc_error_set(CC_ERR_ARG, "client: party %d is not 0, 1 or 2", party);
    *l = c->hub.links[party];
    return CC_OK;
}

cc_status cc_client_send(cc_client *c, int party, const void *buf, size_t len)
{
    cc_link *l = NULL;
    CC_TRY(party_link(c, party, &l));
    cc_status s = cc_link_send(l, buf, len, cc_op_hash("client"), "client");
    return s == CC_OK ? s : cc_error_wrap(s, "client: send to P%d", party);
}

cc_status cc_client_recv(cc_client *c, int party, void *buf, size_t len)
{
    cc_link *l = NULL;
    CC_TRY(party_link(c, party, &l));
    cc_net_rx *rx;
    cc_status s = cc_link_recv_begin(l, buf, len, "client", &rx);
    if (s == CC_OK) s = cc_link_recv_end(rx, "client");
    return s == CC_OK ? s : cc_error_wrap(s, "client: recv from P%d", party);
}

cc_status cc_client_flush(cc_client *c)
{
    cc_status s = cc_hub_flush(&c->hub, "client");
    return s == CC_OK ? s : cc_error_wrap(s, "client: flush");
}

/* Test hook (net_impl.h): the raw socket to one party, for injecting
 * malformed frames. */
int cc_client_raw_fd(cc_client *c, int party) { return c->hub.links[party]->fd; }
