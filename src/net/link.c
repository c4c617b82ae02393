/* One authenticated link: a sender thread draining a queue of zero-copy send
 * items, a receiver thread that reads frames eagerly (so two parties that
 * both send before receiving never deadlock on full socket buffers), and the
 * user-side calls that hand out messages in order.
 *
 * Where received bytes go: if the user already posted a buffer for the
 * message (cc_net_recv_begin), the receiver decrypts straight into it;
 * otherwise into a per-message buffer that grows with the bytes actually
 * received (never with the length the peer announces) and is copied over
 * when the user posts.  Such unrequested bytes are charged to a per-link
 * budget (max_unrequested_bytes): a peer cannot make us buffer without
 * bound. */
#include "net_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

void (*cc_net_test_fail_walk)(void);

/* ---- hub ------------------------------------------------------------------- */
void cc_hub_init(cc_hub *h, const cc_net_options *opt, const char *self_name)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->opt = *opt;
    snprintf(h->self_name, sizeof h->self_name, "%s", self_name);
}

void cc_hub_destroy(cc_hub *h)
{
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
}

/* Best effort: tell the peer why we stop, so its error names the real cause
 * (a third party's death, a timeout) rather than just "P0 hung up".  Only
 * when the sender thread is between frames (tx_seq is then ours to use). */
static void send_abort(cc_link *l, const char *why)
{
    if (!l->threads_started || l->tx_busy || l->tx_done) return;
    size_t n = CC_MIN(strlen(why), (size_t)CC_ABORT_MAX);
    uint8_t hdr[CC_FRAME_HDR_BYTES], body[CC_ABORT_MAX], tag[CC_AEAD_TAG_BYTES];
    cc_frame_hdr f = {.type = CC_FRAME_ABORT, .flags = CC_FRAME_FIRST | CC_FRAME_LAST,
                      .seq = l->tx_seq++, .msg_len = n, .chunk_len = (uint32_t)n};
    cc_frame_encode(&f, hdr);
    cc_aead_seal(&l->tx, f.seq, hdr, (const uint8_t *)why, n, body, tag);
    struct iovec iov[3] = {{hdr, sizeof hdr}, {body, n}, {tag, cc_aead_tag_bytes(&l->tx)}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
    (void)sendmsg(l->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void hub_vfail(cc_hub *h, cc_status s, const char *fmt, va_list ap)
{
    if (h->fail_status != CC_OK) return; /* the first cause is the one to report */
    /* atomic: send_frames polls it without the lock between frames (TSan) */
    __atomic_store_n(&h->fail_status, s, __ATOMIC_RELAXED);
    vsnprintf(h->fail_msg, sizeof h->fail_msg, fmt, ap);
    cc_debug("%s: link failure: %s", h->self_name, h->fail_msg);
    for (int r = 0; r < 4; r++) {
        cc_link *l = h->links[r];
        if (!l) continue;
        if (cc_net_test_fail_walk) cc_net_test_fail_walk();
        if (l->tx_busy) { /* mid-frame: the writer sends ABORT after this frame */
            l->abort_pending = true;
            shutdown(l->fd, SHUT_RD); /* but stop receiving now */
        } else {
            send_abort(l, h->fail_msg);
            shutdown(l->fd, SHUT_RDWR); /* wakes our threads; peers see EOF at once */
        }
        pthread_cond_broadcast(&l->send_cv);
    }
    pthread_cond_broadcast(&h->cv);
}

void cc_hub_fail_locked(cc_hub *h, cc_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hub_vfail(h, s, fmt, ap);
    va_end(ap);
}

void cc_hub_fail(cc_hub *h, cc_status s, const char *fmt, ...)
{
    pthread_mutex_lock(&h->mu);
    va_list ap;
    va_start(ap, fmt);
    hub_vfail(h, s, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&h->mu);
}

/* Copy the hub's failure into this thread's error message (user threads,
 * hub->mu held).  Before returning an error, wait until no network thread is
 * still inside a user buffer: callers free their buffers on error, flushed or
 * not.  Bounded: failed links are shut down (a link finishing its current
 * frame for an ABORT is bounded by the write's idle timeout). */
static cc_status hub_error(cc_hub *h)
{
    for (int r = 0; r < 4; r++) {
        cc_link *l = h->links[r];
        while (l && l->threads_started && ((l->tx_busy && !l->tx_done) ||
                                           (l->rx_writing && !l->rx_done)))
            pthread_cond_wait(&h->cv, &h->mu);
    }
    return cc_error_set(h->fail_status, "%s", h->fail_msg);
}

/* How long a hang-up waits for a failure reason on another link (see
 * receive_frame); far below any timeout, far above loopback latency. */
#define HANGUP_GRACE_NS (300 * 1000000ull)

static void deadline_ts(uint64_t abs_ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(abs_ns / 1000000000u);
    ts->tv_nsec = (long)(abs_ns % 1000000000u);
}

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static void add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

/* ---- link lifetime ------------------------------------------------------------ */
cc_status cc_link_create(cc_hub *hub, int fd, int role, const cc_session_keys *keys, cc_link **out)
{
    cc_link *l = cc_calloc(1, sizeof *l);
    if (!l) return CC_ERR_NOMEM;
    l->hub = hub;
    l->fd = fd;
    l->role = role;
    snprintf(l->name, sizeof l->name, "%s", cc_role_name(role));
    cc_cipher c = keys->cipher;
    cc_aead_init(&l->tx, c, keys->tx);
    cc_aead_init(&l->rx, c, keys->rx);
    memcpy(l->prss_root, keys->prss_root, 32);
    l->chunk = hub->opt.chunk_bytes;
    cc_shaper_init(&l->shape, &hub->opt.link_profile);
    if (c != CC_CIPHER_NONE) {
        l->seal_buf = cc_alloc(l->chunk);
        if (!l->seal_buf) {
            cc_link_free(l);
            return CC_ERR_NOMEM;
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->send_cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = l;
    return CC_OK;
}

void cc_link_free(cc_link *l)
{
    if (!l) return;
    for (struct cc_net_rx *e = l->head, *n; e; e = n) {
        n = e->next;
        free(e->internal);
        free(e);
    }
    if (l->fd >= 0) close(l->fd);
    cc_free(l->seal_buf);
    cc_aead_wipe(&l->tx);
    cc_aead_wipe(&l->rx);
    cc_wipe(l->prss_root, sizeof l->prss_root);
    pthread_cond_destroy(&l->send_cv);
    cc_free(l);
}

/* ---- sender thread --------------------------------------------------------------- */
/* Emulated link: sleep until the frame's departure time.  A timed wait on
 * send_cv rather than a plain sleep, so a failing run (which broadcasts it)
 * is not held up by a long emulated delay.  Only the sender thread gets
 * here (emulated links never write inline), and never with hub->mu held. */
static cc_status wait_departure(cc_link *l, uint64_t depart_ns)
{
    cc_hub *h = l->hub;
    pthread_mutex_lock(&h->mu);
    while (h->fail_status == CC_OK && cc_now_ns() < depart_ns) {
        struct timespec ts;
        deadline_ts(depart_ns, &ts);
        pthread_cond_timedwait(&l->send_cv, &h->mu, &ts);
    }
    bool failed = h->fail_status != CC_OK;
    pthread_mutex_unlock(&h->mu);
    return failed ? cc_error_set(CC_ERR_PEER, "run failed") : CC_OK;
}

/* Idle limit inside a frame (header, payload, tag) on either side.  A live
 * peer never pauses mid-frame for long: its sender writes a sealed frame in
 * one go and its receiver thread reads eagerly, whatever the protocol is
 * doing.  So a frame stalled for as long as keep-alive tolerates silence
 * means the peer is dead or frozen, even when io_timeout_ms (which bounds a
 * wait for a whole message, and so a peer's long local computation) is
 * hours: without this a peer frozen mid-frame would hold the link for
 * io_timeout_ms. */
static uint32_t frame_idle_ms(const cc_hub *h)
{
    uint64_t dead = (uint64_t)h->opt.keepalive_ms * h->opt.keepalive_misses;
    return (uint32_t)CC_MIN((uint64_t)h->opt.io_timeout_ms, dead);
}

static cc_status send_frames(cc_link *l, const cc_send_item *it)
{
    uint32_t idle = frame_idle_ms(l->hub);
    size_t tagn = cc_aead_tag_bytes(&l->tx);
    uint64_t off = 0;
    do {
        size_t n = (size_t)CC_MIN((uint64_t)l->chunk, it->len - off);
        cc_frame_hdr h = {.type = it->type, .op_hash = it->op_hash, .seq = l->tx_seq++,
                          .msg_len = it->len, .chunk_len = (uint32_t)n,
                          .flags = (uint8_t)((off == 0 ? CC_FRAME_FIRST : 0) |
                                             (off + n == it->len ? CC_FRAME_LAST : 0))};
        uint8_t hdr[CC_FRAME_HDR_BYTES], tag[CC_AEAD_TAG_BYTES];
        cc_frame_encode(&h, hdr);
        /* a BYE or 0-byte message may have buf == NULL: NULL + 0 is UB */
        const uint8_t *src = n ? it->buf + off : it->buf;
        struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)src, n}, {tag, tagn}};
        if (tagn) {
            cc_aead_seal(&l->tx, h.seq, hdr, src, n, l->seal_buf, tag);
            iov[1].iov_base = l->seal_buf;
        }
        if (l->shape.on) /* sealed first, so the write itself leaves on time */
            CC_TRY(wait_departure(l, cc_shaper_depart(&l->shape, it->queued_ns, sizeof hdr + n + tagn)));
        CC_TRY(cc_sock_writev(l->fd, iov, 3, 0, idle));
        add(&l->tx_progress, n + sizeof hdr + tagn);
        off += n;
        if (__atomic_load_n(&l->hub->fail_status, __ATOMIC_RELAXED) != CC_OK && off < it->len)
            return cc_error_set(CC_ERR_PEER, "run failed"); /* stop between frames */
    } while (off < it->len);
    return CC_OK;
}

/* After a write (hub->mu held, tx_busy just cleared): if the run failed
 * meanwhile, the frame went out whole, so the ABORT can follow it. */
static void finish_pending_abort(cc_link *l)
{
    if (!l->abort_pending) return;
    l->abort_pending = false;
    send_abort(l, l->hub->fail_msg);
    shutdown(l->fd, SHUT_RDWR);
}

/* A write failed because the peer went away.  Its receiving side usually
 * knows why (an ABORT frame carrying the cause, or an orderly EOF): give the
 * receiver thread a moment to report that first (hub->mu held). */
static void let_receiver_explain(cc_link *l)
{
    cc_hub *h = l->hub;
    struct timespec ts;
    deadline_ts(cc_now_ns() + 250000000u, &ts);
    while (h->fail_status == CC_OK && !l->rx_done && l->threads_started)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT) break;
}

/* ---- keep-alive ------------------------------------------------------------------ */
static uint64_t keepalive_ns(const cc_link *l) { return (uint64_t)l->hub->opt.keepalive_ms * 1000000u; }

/* One empty PING frame (hub->mu held, link idle; released while writing). */
static cc_status send_ping(cc_link *l)
{
    cc_hub *h = l->hub;
    l->tx_busy = true;
    pthread_mutex_unlock(&h->mu);
    cc_frame_hdr f = {.type = CC_FRAME_PING, .seq = l->tx_seq++};
    uint8_t hdr[CC_FRAME_HDR_BYTES], tag[CC_AEAD_TAG_BYTES];
    cc_frame_encode(&f, hdr);
    cc_aead_seal(&l->tx, f.seq, hdr, NULL, 0, NULL, tag);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {tag, cc_aead_tag_bytes(&l->tx)}};
    cc_status s = cc_sock_writev(l->fd, iov, 2, 0, frame_idle_ms(h));
    pthread_mutex_lock(&h->mu);
    l->tx_busy = false;
    l->tx_last_ns = cc_now_ns();
    l->pings_sent++;
    finish_pending_abort(l);
    return s;
}

/* Sender thread, hub->mu held: wait for work; keep the link alive meanwhile. */
static cc_status wait_for_work(cc_link *l)
{
    cc_hub *h = l->hub;
    while ((l->q_head == l->q_tail || l->tx_busy) && !l->closing && h->fail_status == CC_OK) {
        uint64_t due = l->tx_last_ns + keepalive_ns(l), now = cc_now_ns();
        if (!l->tx_busy && now >= due) {
            cc_status s = send_ping(l);
            if (s != CC_OK) return s;
            continue;
        }
        if (l->tx_busy) due = now + keepalive_ns(l); /* the user thread is writing */
        struct timespec ts;
        deadline_ts(due, &ts);
        pthread_cond_timedwait(&l->send_cv, &h->mu, &ts);
    }
    return CC_OK;
}

static void *sender_main(void *arg)
{
    cc_link *l = arg;
    cc_hub *h = l->hub;
    /* Emulated links sleep to the microsecond; the default 50 us timer slack
     * would add a tenth to every lan delay. */
    if (l->shape.on) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    pthread_mutex_lock(&h->mu);
    l->tx_last_ns = cc_now_ns();
    for (;;) {
        cc_status ps = wait_for_work(l);
        if (ps != CC_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", ps == CC_ERR_TIMEOUT ? "it stopped reading" : cc_error_message());
            if (ps == CC_ERR_PEER) let_receiver_explain(l);
            cc_hub_fail_locked(h, ps, "sending a keep-alive to %s: %s", l->name, why);
            break;
        }
        if (h->fail_status != CC_OK || l->q_head == l->q_tail) break;
        cc_send_item it = l->q[l->q_head % CC_SENDQ_CAP];
        l->tx_busy = true;
        pthread_mutex_unlock(&h->mu);
        cc_status s = send_frames(l, &it);
        pthread_mutex_lock(&h->mu);
        l->tx_busy = false;
        l->tx_last_ns = cc_now_ns();
        finish_pending_abort(l);
        if (s != CC_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", s == CC_ERR_TIMEOUT ? "it stopped reading" : cc_error_message());
            if (s == CC_ERR_PEER) let_receiver_explain(l);
            cc_hub_fail_locked(h, s, "sending to %s: %s", l->name, why);
            break;
        }
        l->q_head++;
        pthread_cond_broadcast(&h->cv);
    }
    bool clean = h->fail_status == CC_OK && l->closing;
    l->tx_done = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (clean) shutdown(l->fd, SHUT_WR); /* after our goodbye frame */
    return NULL;
}

/* ---- receiver thread --------------------------------------------------------------- */
static struct cc_net_rx *new_entry(cc_link *l)
{
    struct cc_net_rx *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->link = l;
    if (l->tail) l->tail->next = e; else l->head = e;
    l->tail = e;
    if (!l->wire_next) l->wire_next = e;
    if (!l->user_next) l->user_next = e;
    return e;
}

static struct cc_net_rx *take_wire_entry(cc_link *l)
{
    if (!l->wire_next && !new_entry(l)) return NULL;
    struct cc_net_rx *e = l->wire_next;
    l->wire_next = e->next;
    return e;
}

static struct cc_net_rx *take_user_entry(cc_link *l)
{
    if (!l->user_next && !new_entry(l)) return NULL;
    struct cc_net_rx *e = l->user_next;
    l->user_next = e->next;
    return e;
}

/* For length-mismatch errors: were the two sides even in the same op? */
static const char *op_hint(const char *our_op, uint32_t their_hash, char *buf, size_t cap)
{
    if (!our_op) return "";
    snprintf(buf, cap, "; we are in op '%s', it sent from %s op", our_op,
             cc_op_hash(our_op) == their_hash ? "the same" : "another");
    return buf;
}

/* Decide where the frame's payload goes (hub->mu held).  Returns false and
 * fails the hub when the frame does not fit the message stream. */
static bool place_chunk(cc_link *l, const cc_frame_hdr *f, struct cc_net_rx **out, uint8_t **dest)
{
    cc_hub *h = l->hub;
    struct cc_net_rx *e;
    if (f->flags & CC_FRAME_FIRST) {
        if (l->wire_cur) {
            cc_hub_fail_locked(h, CC_ERR_FORMAT, "%s started a new message before finishing the "
                               "previous one", l->name);
            return false;
        }
        e = take_wire_entry(l);
        if (!e) {
            cc_hub_fail_locked(h, CC_ERR_NOMEM, "out of memory receiving from %s", l->name);
            return false;
        }
        if (e->len_known && e->len != f->msg_len) {
            char hint[128];
            cc_hub_fail_locked(h, CC_ERR_MISMATCH, "%s sent a %llu-byte message where we expect "
                               "%llu bytes (the parties disagree on the protocol%s)", l->name,
                               (unsigned long long)f->msg_len, (unsigned long long)e->len,
                               op_hint(e->op, f->op_hash, hint, sizeof hint));
            return false;
        }
        e->len = f->msg_len;
        e->len_known = e->wire_started = true;
        e->wire_op_hash = f->op_hash;
        l->wire_cur = e;
    } else {
        e = l->wire_cur;
        if (!e || e->len != f->msg_len) {
            cc_hub_fail_locked(h, CC_ERR_FORMAT, "%s sent a continuation frame that belongs to no "
                               "message", l->name);
            return false;
        }
    }
    bool last = f->chunk_len == e->len - e->have;
    if (f->chunk_len > e->len - e->have || last != !!(f->flags & CC_FRAME_LAST) ||
        (f->chunk_len == 0 && e->len != 0)) {
        cc_hub_fail_locked(h, CC_ERR_FORMAT, "%s sent a frame whose length does not match its "
                           "message", l->name);
        return false;
    }
    *out = e;
    if (e->user) {
        *dest = e->user + e->have;
        return true;
    }
    /* nobody asked for these bytes yet: charge them to the link's budget */
    if (l->unrequested + f->chunk_len > h->opt.max_unrequested_bytes) {
        cc_hub_fail_locked(h, CC_ERR_PEER, "%s sent more data than we asked for: %llu bytes "
                           "buffered for receives not yet posted would exceed this link's "
                           "budget of %llu bytes (max_unrequested_bytes)", l->name,
                           (unsigned long long)(l->unrequested + f->chunk_len),
                           (unsigned long long)h->opt.max_unrequested_bytes);
        return false;
    }
    l->unrequested += f->chunk_len;
    e->unrequested += f->chunk_len;
    size_t need = (size_t)(e->have + f->chunk_len);
    if (need > e->cap) {
        size_t cap = (size_t)CC_MIN((uint64_t)CC_MAX(need, 2 * e->cap), e->len);
        uint8_t *p = realloc(e->internal, cap ? cap : 1);
        if (!p) {
            cc_hub_fail_locked(h, CC_ERR_NOMEM, "out of memory buffering %llu bytes from %s",
                               (unsigned long long)cap, l->name);
            return false;
        }
        e->internal = p;
        e->cap = cap;
    }
    *dest = e->internal ? e->internal + e->have : NULL; /* NULL only for 0 bytes */
    return true;
}

/* The peer reports its failure: end our run with its reason. */
static void receive_abort(cc_link *l, const cc_frame_hdr *f, const uint8_t hdr[CC_FRAME_HDR_BYTES])
{
    cc_hub *h = l->hub;
    char text[CC_ABORT_MAX + 1];
    uint8_t tag[CC_AEAD_TAG_BYTES];
    struct iovec iov[2] = {{text, f->chunk_len}, {tag, cc_aead_tag_bytes(&l->rx)}};
    cc_status s = cc_sock_readv(l->fd, iov, 2, 0, frame_idle_ms(h));
    bool ok = s == CC_OK && cc_aead_open(&l->rx, f->seq, hdr, (uint8_t *)text, f->chunk_len, tag);
    text[ok ? f->chunk_len : 0] = '\0';
    for (char *c = text; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    pthread_mutex_lock(&h->mu);
    if (ok)
        cc_hub_fail_locked(h, CC_ERR_PEER, "%s aborted the run: %s", l->name, text);
    else
        cc_hub_fail_locked(h, CC_ERR_PEER, "%s aborted the run (reason unreadable)", l->name);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Read and verify one frame.  Returns false when the receiver should stop. */
static bool receive_frame(cc_link *l)
{
    cc_hub *h = l->hub;
    const cc_net_options *o = &h->opt;
    uint8_t hdr[CC_FRAME_HDR_BYTES], tag[CC_AEAD_TAG_BYTES];
    size_t tagn = cc_aead_tag_bytes(&l->rx);
    bool eof = false;
    /* until the peer's goodbye, a frame (data or keep-alive) must start by
     * rx_alive_until, else the peer is dead, frozen or cut off */
    uint64_t alive_until = l->peer_bye ? 0 : l->rx_alive_until;
    cc_status s = cc_sock_read(l->fd, hdr, sizeof hdr, alive_until, frame_idle_ms(h), &eof);
    pthread_mutex_lock(&h->mu);
    if (s != CC_OK) {
        if (h->fail_status != CC_OK) {
            /* we are already failing: nothing to add */
        } else if (s == CC_ERR_TIMEOUT && alive_until && cc_now_ns() >= alive_until) {
            cc_hub_fail_locked(h, CC_ERR_TIMEOUT, "%s sent nothing, not even a keep-alive, for "
                               "%llu ms: declared dead (crashed, frozen or cut off)", l->name,
                               (unsigned long long)o->keepalive_ms * o->keepalive_misses);
        } else if (eof && l->peer_bye) {
            /* clean end of the peer's run */
        } else if (eof) {
            /* A party that hangs up without a goodbye has usually failed and
             * sent its reason (an ABORT frame) to everyone first; on another
             * link that reason may still be in flight.  Give it a moment to
             * arrive, so the error names the cause and not its echo. */
            struct timespec ts;
            deadline_ts(cc_now_ns() + HANGUP_GRACE_NS, &ts);
            while (h->fail_status == CC_OK && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0) {
            }
            if (h->fail_status == CC_OK)
                cc_hub_fail_locked(h, CC_ERR_PEER, "%s closed the connection without saying "
                                   "goodbye (it exited or crashed)", l->name);
        } else {
            cc_hub_fail_locked(h, s, "receiving from %s: %s", l->name, cc_error_message());
        }
        pthread_mutex_unlock(&h->mu);
        return false;
    }
    if (h->fail_status != CC_OK) {
        pthread_mutex_unlock(&h->mu);
        return false;
    }
    cc_frame_hdr f;
    const char *bad = NULL;
    char why[96];
    if (!cc_frame_decode(hdr, &f)) bad = "a malformed frame header";
    else if (f.seq != l->rx_seq) bad = "a frame out of sequence (replayed, reordered or dropped)";
    else if (f.chunk_len > CC_NET_MAX_CHUNK || f.chunk_len > f.msg_len)
        bad = "an oversized frame";
    else if (f.msg_len > o->max_message_bytes) {
        snprintf(why, sizeof why, "a message longer than max_message_bytes (%llu)",
                 (unsigned long long)o->max_message_bytes);
        bad = why;
    }
    else if (l->peer_bye) bad = "data after saying goodbye";
    else if (f.type == CC_FRAME_BYE && (f.msg_len || l->wire_cur))
        bad = "a goodbye in the middle of a message";
    else if (f.type == CC_FRAME_ABORT && (f.chunk_len != f.msg_len || f.msg_len > CC_ABORT_MAX))
        bad = "a malformed abort frame";
    else if (f.type == CC_FRAME_PING && (f.msg_len || f.chunk_len || f.flags))
        bad = "a malformed keep-alive";
    if (bad) {
        cc_hub_fail_locked(h, CC_ERR_FORMAT, "%s sent %s (seq %llu, length %llu)", l->name, bad,
                           (unsigned long long)f.seq, (unsigned long long)f.msg_len);
        pthread_mutex_unlock(&h->mu);
        return false;
    }
    if (f.type == CC_FRAME_ABORT) {
        pthread_mutex_unlock(&h->mu);
        receive_abort(l, &f, hdr);
        return false;
    }
    struct cc_net_rx *e = NULL;
    uint8_t *dest = NULL;
    if (f.type == CC_FRAME_DATA) {
        if (!place_chunk(l, &f, &e, &dest)) {
            pthread_mutex_unlock(&h->mu);
            return false;
        }
    }
    bool into_user = e && e->user;
    l->rx_writing = e;
    pthread_mutex_unlock(&h->mu);

    struct iovec iov[2] = {{dest, f.chunk_len}, {tag, tagn}};
    s = cc_sock_readv(l->fd, iov, 2, 0, frame_idle_ms(h));
    bool ok = s == CC_OK && cc_aead_open(&l->rx, f.seq, hdr, dest, f.chunk_len, tag);
    l->rx_seq++;
    l->rx_alive_until = cc_now_ns() + (uint64_t)o->keepalive_ms * o->keepalive_misses * 1000000u;
    if (f.type != CC_FRAME_PING) /* keep-alives are not progress of any message */
        add(&l->rx_progress, sizeof hdr + f.chunk_len + tagn);

    pthread_mutex_lock(&h->mu);
    l->rx_writing = NULL;
    if (!ok) {
        if (s != CC_OK)
            cc_hub_fail_locked(h, s, "receiving from %s: %s mid-frame", l->name,
                               s == CC_ERR_TIMEOUT ? "it went silent" : cc_error_message());
        else
            cc_hub_fail_locked(h, CC_ERR_AUTH, "a frame from %s failed authentication "
                               "(corrupted or forged; seq %llu)", l->name, (unsigned long long)f.seq);
    } else if (f.type == CC_FRAME_BYE) {
        l->peer_bye = true;
    } else if (f.type == CC_FRAME_PING) {
        l->pings_recv++;
    } else if (h->fail_status == CC_OK) {
        /* a DATA frame: place_chunk gave it an entry and, unless empty, bytes */
        CC_ASSERT(e && (dest || !f.chunk_len));
        /* posted while we were reading (0 bytes: dest may be NULL, no memcpy) */
        if (!into_user && e->user && f.chunk_len)
            memcpy(e->user + e->have, dest, f.chunk_len);
        e->have += f.chunk_len;
        if (e->have == e->len) {
            e->complete = true;
            l->wire_cur = NULL;
            if (e->user && !e->copying) {
                free(e->internal);
                e->internal = NULL;
            }
        }
    }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return ok;
}

static void *receiver_main(void *arg)
{
    cc_link *l = arg;
    while (receive_frame(l)) {}
    pthread_mutex_lock(&l->hub->mu);
    l->rx_done = true;
    pthread_cond_broadcast(&l->hub->cv);
    pthread_mutex_unlock(&l->hub->mu);
    return NULL;
}

cc_status cc_link_start(cc_link *l)
{
    /* the first frame may take up to a start-up timeout: the peer may still be
     * setting up its other links */
    const cc_net_options *o = &l->hub->opt;
    uint64_t dead_ms = (uint64_t)o->keepalive_ms * o->keepalive_misses;
    l->rx_alive_until = cc_now_ns() + CC_MAX(dead_ms, (uint64_t)o->connect_timeout_ms) * 1000000u;
    if (pthread_create(&l->sender, NULL, sender_main, l) != 0)
        return cc_error_set(CC_ERR_INTERNAL, "cannot start the sender thread for %s", l->name);
    if (pthread_create(&l->receiver, NULL, receiver_main, l) != 0) {
        cc_hub_fail(l->hub, CC_ERR_INTERNAL, "cannot start threads");
        pthread_join(l->sender, NULL);
        return cc_error_set(CC_ERR_INTERNAL, "cannot start the receiver thread for %s", l->name);
    }
    /* under the lock: another link's thread failing the hub reads it (TSan) */
    pthread_mutex_lock(&l->hub->mu);
    l->threads_started = true;
    pthread_mutex_unlock(&l->hub->mu);
    return CC_OK;
}

/* ---- user side ------------------------------------------------------------------------ */

/* Wait on the hub (mu held) until the predicate holds, the hub fails, or
 * `progress` stops moving for io_timeout_ms. */
typedef bool (*cc_pred)(void *ctx);
static cc_status wait_until(cc_hub *h, cc_pred done, void *ctx, const uint64_t *progress,
                            const char *what)
{
    uint64_t idle_ns = (uint64_t)h->opt.io_timeout_ms * 1000000u;
    uint64_t last = ld(progress), t_last = cc_now_ns();
    while (!done(ctx)) {
        if (h->fail_status != CC_OK) return hub_error(h);
        struct timespec ts;
        deadline_ts(t_last + idle_ns, &ts);
        int rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        uint64_t now = ld(progress);
        if (now != last) {
            last = now;
            t_last = cc_now_ns();
        } else if (rc == ETIMEDOUT && !done(ctx) && h->fail_status == CC_OK) {
            cc_hub_fail_locked(h, CC_ERR_TIMEOUT, "%s for %u ms (peer dead or stuck?)", what,
                               h->opt.io_timeout_ms);
        }
    }
    return CC_OK;
}

cc_status cc_link_send(cc_link *l, const void *buf, uint64_t len, uint32_t op_hash, const char *op)
{
    cc_hub *h = l->hub;
    if (len > h->opt.max_message_bytes)
        return cc_error_set(CC_ERR_ARG, "message of %llu bytes to %s exceeds max_message_bytes "
                            "(%llu)", (unsigned long long)len, l->name,
                            (unsigned long long)h->opt.max_message_bytes);
    pthread_mutex_lock(&h->mu);
    cc_status s = CC_OK;
    while (s == CC_OK && l->q_tail - l->q_head >= CC_SENDQ_CAP) {
        if (h->fail_status != CC_OK) s = hub_error(h);
        else pthread_cond_wait(&h->cv, &h->mu); /* the sender always progresses or fails */
    }
    if (s == CC_OK && h->fail_status != CC_OK) s = hub_error(h);
    if (s == CC_OK && l->peer_bye)
        s = cc_error_set(CC_ERR_PEER, "%s has already ended its run", l->name);
    cc_send_item it = {.buf = buf, .len = len, .op_hash = op_hash, .type = CC_FRAME_DATA,
                       .queued_ns = cc_now_ns()};
    if (s == CC_OK && len <= CC_INLINE_SEND_MAX && l->q_head == l->q_tail && !l->tx_busy &&
        !l->shape.on) {
        /* Small message, idle link: write it from this thread.  Saves waking
         * the sender thread, which is most of a small round's latency; the
         * bytes fit in the socket buffer, so this does not block.  Not on an
         * emulated link: its delay must not block the caller, whose next
         * send (to the other neighbour) travels at the same time. */
        l->tx_busy = true;
        pthread_mutex_unlock(&h->mu);
        s = send_frames(l, &it);
        pthread_mutex_lock(&h->mu);
        l->tx_busy = false;
        l->tx_last_ns = cc_now_ns();
        finish_pending_abort(l);
        if (s != CC_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", s == CC_ERR_TIMEOUT ? "it stopped reading" : cc_error_message());
            if (s == CC_ERR_PEER) let_receiver_explain(l);
            cc_hub_fail_locked(h, s, "sending to %s: %s", l->name, why);
            s = hub_error(h);
        }
        pthread_cond_broadcast(&h->cv);
    } else if (s == CC_OK) {
        l->q[l->q_tail % CC_SENDQ_CAP] = it;
        l->q_tail++;
        pthread_cond_signal(&l->send_cv);
    }
    pthread_mutex_unlock(&h->mu);
    return s;
}

cc_status cc_link_recv_begin(cc_link *l, void *buf, uint64_t len, const char *op,
                             struct cc_net_rx **rx)
{
    cc_hub *h = l->hub;
    pthread_mutex_lock(&h->mu);
    cc_status s = CC_OK;
    struct cc_net_rx *e = NULL;
    if (h->fail_status != CC_OK) s = hub_error(h);
    else if (!(e = take_user_entry(l))) s = cc_error_set(CC_ERR_NOMEM, "out of memory");
    else if (e->len_known && e->len != len) {
        char hint[128];
        cc_hub_fail_locked(h, CC_ERR_MISMATCH, "%s sent a %llu-byte message where we expect %llu "
                           "bytes (the parties disagree on the protocol%s)", l->name,
                           (unsigned long long)e->len, (unsigned long long)len,
                           op_hint(op, e->wire_op_hash, hint, sizeof hint));
        s = hub_error(h);
    } else {
        e->op = op;
        e->len = len;
        e->len_known = e->claimed = true;
        e->user = buf;
        l->unrequested -= e->unrequested; /* asked for now */
        e->unrequested = 0;
        if (e->have) {
            /* Copy what arrived early without holding the lock (it can be
             * hundreds of MiB; the link threads, keep-alives included, must
             * not wait for it).  From now on the receiver writes later
             * chunks straight to buf, past `have`, and leaves `internal`
             * alone while we copy. */
            uint64_t have = e->have;
            e->copying = true;
            pthread_mutex_unlock(&h->mu);
            memcpy(buf, e->internal, (size_t)have);
            pthread_mutex_lock(&h->mu);
            e->copying = false;
        }
        if (e->complete) {
            free(e->internal);
            e->internal = NULL;
        }
        *rx = e;
    }
    pthread_mutex_unlock(&h->mu);
    return s;
}

typedef struct have_ctx { struct cc_net_rx *e; uint64_t bytes; } have_ctx;
/* The whole message counts only once it is complete: a 0-byte message is
 * still a synchronisation point that must arrive. */
static bool have_enough(void *p)
{
    have_ctx *c = p;
    return c->e->have >= c->bytes && (c->bytes < c->e->len || c->e->complete);
}

/* Nothing follows a goodbye (receive_frame refuses it). */
static bool have_enough_or_bye(void *p)
{
    have_ctx *c = p;
    return have_enough(c) || c->e->link->peer_bye;
}

cc_status cc_link_recv_wait(struct cc_net_rx *e, uint64_t bytes, const char *op)
{
    cc_link *l = e->link;
    cc_hub *h = l->hub;
    pthread_mutex_lock(&h->mu);
    /* under the lock: the receiver thread writes e->len when the first
     * frame arrives (the same value, but unsynchronised it is a data race) */
    if (bytes > e->len) bytes = e->len;
    cc_status s = CC_OK;
    have_ctx c = {e, bytes};
    if (!have_enough(&c)) {
        char what[64];
        snprintf(what, sizeof what, "no data from %s", l->name);
        /* a goodbye arriving while we wait ends the wait at once, not
         * after io_timeout_ms with a misleading timeout (fuzz_frame) */
        s = wait_until(h, have_enough_or_bye, &c, &l->rx_progress, what);
        if (s == CC_OK && !have_enough(&c)) {
            cc_hub_fail_locked(h, CC_ERR_PEER, "%s has ended its run; the message we wait for "
                               "will never come", l->name);
            s = hub_error(h);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return s;
}

cc_status cc_link_recv_end(struct cc_net_rx *e, const char *op)
{
    cc_link *l = e->link;
    CC_TRY(cc_link_recv_wait(e, UINT64_MAX, op));   /* all of it (clamped under the lock) */
    pthread_mutex_lock(&l->hub->mu);
    e->ended = true;
    while (l->head && l->head->claimed && l->head->complete && l->head->ended) {
        struct cc_net_rx *d = l->head;
        l->head = d->next;
        if (l->tail == d) l->tail = NULL;
        free(d->internal);
        free(d);
    }
    pthread_mutex_unlock(&l->hub->mu);
    return CC_OK;
}

static bool all_sent(void *p)
{
    cc_hub *h = p;
    for (int r = 0; r < 4; r++)
        if (h->links[r] && h->links[r]->q_head != h->links[r]->q_tail) return false;
    return true;
}

static uint64_t tx_total(cc_hub *h)
{
    uint64_t t = 0;
    for (int r = 0; r < 4; r++)
        if (h->links[r]) t += ld(&h->links[r]->tx_progress);
    return t;
}

cc_status cc_hub_flush(cc_hub *h, const char *op)
{
    pthread_mutex_lock(&h->mu);
    /* progress = bytes written on any link, sampled into a local counter */
    uint64_t progress = tx_total(h);
    cc_status s = CC_OK;
    uint64_t idle_ns = (uint64_t)h->opt.io_timeout_ms * 1000000u, t_last = cc_now_ns();
    while (!all_sent(h)) {
        if (h->fail_status != CC_OK) {
            s = hub_error(h);
            break;
        }
        struct timespec ts;
        deadline_ts(t_last + idle_ns, &ts);
        int rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        uint64_t now = tx_total(h);
        if (now != progress) {
            progress = now;
            t_last = cc_now_ns();
        } else if (rc == ETIMEDOUT && !all_sent(h) && h->fail_status == CC_OK) {
            cc_hub_fail_locked(h, CC_ERR_TIMEOUT, "sending stalled for %u ms (a peer stopped "
                               "reading)", h->opt.io_timeout_ms);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return s;
}

/* ---- teardown ------------------------------------------------------------------------- */
static bool all_rx_done(void *p)
{
    cc_hub *h = p;
    for (int r = 0; r < 4; r++)
        if (h->links[r] && h->links[r]->threads_started && !h->links[r]->rx_done) return false;
    return true;
}

void cc_hub_close_links(cc_hub *h)
{
    pthread_mutex_lock(&h->mu);
    /* say goodbye on every healthy link: the goodbye is queued after all data */
    for (int r = 0; r < 4; r++) {
        cc_link *l = h->links[r];
        if (!l || !l->threads_started) continue;
        if (h->fail_status == CC_OK && l->q_tail - l->q_head < CC_SENDQ_CAP) {
            l->q[l->q_tail % CC_SENDQ_CAP] = (cc_send_item){.type = CC_FRAME_BYE,
                                                            .queued_ns = cc_now_ns()};
            l->q_tail++;
        }
        l->closing = true;
        pthread_cond_signal(&l->send_cv);
    }
    /* wait (bounded) for every peer's goodbye + EOF, so no data is cut off */
    uint64_t wait_ms = CC_MIN(h->opt.io_timeout_ms, 10000u);
    uint64_t deadline = cc_now_ns() + wait_ms * 1000000u;
    while (!all_rx_done(h) && h->fail_status == CC_OK) {
        struct timespec ts;
        deadline_ts(deadline, &ts);
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT) {
            cc_warn("%s: a peer did not close its link within %llu ms; closing anyway",
                    h->self_name, (unsigned long long)wait_ms);
            break;
        }
    }
    for (int r = 0; r < 4; r++)
        if (h->links[r]) shutdown(h->links[r]->fd, SHUT_RDWR);
    pthread_cond_broadcast(&h->cv);
    for (int r = 0; r < 4; r++)
        if (h->links[r]) pthread_cond_broadcast(&h->links[r]->send_cv);
    pthread_mutex_unlock(&h->mu);
    /* Join every link's threads before freeing any link: a thread still
     * winding down (e.g. a receiver woken by the shutdown above after the
     * close timeout) may fail the hub, which walks all links. */
    for (int r = 0; r < 4; r++) {
        cc_link *l = h->links[r];
        if (l && l->threads_started) {
            pthread_join(l->sender, NULL);
            pthread_join(l->receiver, NULL);
        }
    }
    for (int r = 0; r < 4; r++) {
        cc_link_free(h->links[r]);
        h->links[r] = NULL;
    }
}
