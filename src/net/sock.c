/* TCP plumbing: non-blocking sockets where every wait has a deadline, so no
 * call can hang on a dead or silent peer. */
#include "net_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Socket buffers: 4 MiB if the kernel allows it (net.core.[rw]mem_max);
 * setting a smaller value would switch off autotuning and hurt. */
#define CC_SOCK_BUF (4 << 20)

static long read_sysctl(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

void cc_sock_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* TCP keep-alive for connections that sit idle while a party waits for
     * its next job (link keep-alive frames start only with the job): keeps
     * NAT/firewall state alive and lets the kernel notice a peer that
     * vanished without a FIN (about 60 s), which the idle watch then sees. */
    int idle_s = 30, intvl_s = 10, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s, sizeof intvl_s);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    static int rmax = -2, wmax = -2; /* racy but idempotent */
    if (rmax == -2) rmax = (int)read_sysctl("/proc/sys/net/core/rmem_max");
    if (wmax == -2) wmax = (int)read_sysctl("/proc/sys/net/core/wmem_max");
    int sz = CC_SOCK_BUF;
    if (rmax >= sz) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (wmax >= sz) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ms until the deadline (-1 = forever, 0 = passed), capped by idle_ms. */
static int wait_ms(uint64_t deadline_ns, uint32_t idle_ms)
{
    int64_t ms = -1;
    if (deadline_ns) {
        uint64_t now = cc_now_ns();
        ms = now >= deadline_ns ? 0 : (int64_t)((deadline_ns - now + 999999) / 1000000);
    }
    if (idle_ms && (ms < 0 || ms > (int64_t)idle_ms)) ms = idle_ms;
    if (ms > 1 << 30) ms = 1 << 30;
    return (int)ms;
}

/* Wait for `events`; CC_ERR_TIMEOUT when the deadline/idle period passes. */
static cc_status wait_fd(int fd, short events, uint64_t deadline_ns, uint32_t idle_ms)
{
    for (;;) {
        int ms = wait_ms(deadline_ns, idle_ms);
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, ms);
        if (r > 0) return CC_OK; /* includes POLLHUP/POLLERR: the I/O call reports it */
        if (r == 0) return cc_error_set(CC_ERR_TIMEOUT, "no progress for %d ms", ms);
        if (errno != EINTR) return cc_error_set(CC_ERR_IO, "poll failed: %s", strerror(errno));
    }
}

static cc_status listen_on(const char *host, uint16_t *port, int *listen_fd, int *err_out);

/* The configured address may not be local (a name that resolves to a NAT'd
 * public address): then listen on every interface of that port, which is
 * safe because every connection is authenticated by the handshake. */
cc_status cc_net_listen(const char *host, uint16_t *port, int *listen_fd)
{
    int err = 0;
    cc_status s = listen_on(host, port, listen_fd, &err);
    if (s != CC_OK && err == EADDRNOTAVAIL) {
        bool v6 = strchr(host, ':') != NULL;
        cc_warn("%s is not an address of this machine: listening on %s port %u instead", host,
                v6 ? "every IPv6 interface" : "every interface", *port);
        s = listen_on(v6 ? "::" : "0.0.0.0", port, listen_fd, &err);
    }
    return s;
}

static cc_status listen_on(const char *host, uint16_t *port, int *listen_fd, int *err_out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", *port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) return cc_error_set(CC_ERR_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) { err = errno; continue; }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    *err_out = err;
    if (fd < 0) return cc_error_set(CC_ERR_IO, "cannot listen on %s:%u: %s", host, *port, strerror(err));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        *err_out = err = errno;
        close(fd);
        return cc_error_set(CC_ERR_IO, "cannot listen on %s:%u: %s", host, *port, strerror(err));
    }
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    set_nonblock(fd);
    *listen_fd = fd;
    return CC_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* One connect attempt to one address, bounded by the deadline. */
static int try_connect(const struct addrinfo *ai, uint64_t deadline_ns, int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { *err = errno; return -1; }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) { *err = errno; close(fd); return -1; }
    if (wait_fd(fd, POLLOUT, deadline_ns, 0) != CC_OK) { *err = ETIMEDOUT; close(fd); return -1; }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) { *err = soerr; close(fd); return -1; }
    return fd;
}

/* Sleep `ms`, or less if cancel_fd (> 0) becomes readable: true if cancelled. */
static bool sleep_or_cancel(unsigned ms, int cancel_fd)
{
    if (cancel_fd <= 0) {
        sleep_ms(ms);
        return false;
    }
    struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
    int r = poll(&p, 1, (int)ms);
    return r > 0;
}

cc_status cc_sock_connect(const char *host, uint16_t port, uint64_t deadline_ns, int cancel_fd,
                          int *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    unsigned backoff = 5; /* ms, doubling up to 500 */
    int err = 0;
    for (;;) {
        struct addrinfo *res;
        int rc = getaddrinfo(host, portstr, &hints, &res);
        if (rc == 0) {
            /* without a deadline, one attempt still gives up after 5 s */
            uint64_t attempt = deadline_ns ? deadline_ns : cc_now_ns() + 5000000000ull;
            for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int fd = try_connect(ai, attempt, &err);
                if (fd >= 0) {
                    freeaddrinfo(res);
                    cc_sock_tune(fd);
                    *out = fd;
                    return CC_OK;
                }
            }
            freeaddrinfo(res);
        } else if (rc != EAI_AGAIN) {
            return cc_error_set(CC_ERR_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
        }
        uint64_t now = cc_now_ns(), left_ms = 500;
        if (deadline_ns) {
            if (now >= deadline_ns) break;
            left_ms = (deadline_ns - now) / 1000000;
        }
        if (sleep_or_cancel((unsigned)CC_MIN((uint64_t)backoff, left_ms + 1), cancel_fd))
            return cc_error_set(CC_ERR_IO, "connecting to %s:%u: cancelled", host, port);
        backoff = CC_MIN(backoff * 2, 500u);
    }
    return cc_error_set(CC_ERR_TIMEOUT, "could not connect to %s:%u before the start-up timeout "
                        "(last error: %s)", host, port, err ? strerror(err) : "none");
}

cc_status cc_sock_accept(int listen_fd, uint64_t deadline_ns, int *out, char *peer, size_t cap)
{
    for (;;) {
        struct sockaddr_storage ss = {0}; /* family stays 0 if the kernel gives no address */
        socklen_t sl = sizeof ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            char addr[INET6_ADDRSTRLEN] = "?";
            uint16_t port = 0;
            if (ss.ss_family == AF_INET) {
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
                port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            }
            snprintf(peer, cap, "%s:%u", addr, port);
            cc_sock_tune(fd);
            *out = fd;
            return CC_OK;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return cc_error_set(CC_ERR_IO, "accept failed: %s", strerror(errno));
        if (cc_now_ns() >= deadline_ns)
            return cc_error_set(CC_ERR_TIMEOUT, "nobody connected before the start-up timeout");
        cc_status s = wait_fd(listen_fd, POLLIN, deadline_ns, 0);
        if (s == CC_ERR_TIMEOUT)
            return cc_error_set(CC_ERR_TIMEOUT, "nobody connected before the start-up timeout");
        CC_TRY(s);
    }
}

static void iov_advance(struct iovec **iov, int *n, size_t done)
{
    while (*n > 0 && done >= (*iov)->iov_len) {
        done -= (*iov)->iov_len;
        (*iov)++;
        (*n)--;
    }
    if (*n > 0) {
        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
        (*iov)->iov_len -= done;
    }
    /* skip empty trailing entries */
    while (*n > 0 && (*iov)->iov_len == 0) { (*iov)++; (*n)--; }
}

cc_status cc_sock_readv(int fd, struct iovec *iov, int n, uint64_t deadline_ns, uint32_t idle_ms)
{
    iov_advance(&iov, &n, 0);
    while (n > 0) {
        ssize_t r = readv(fd, iov, n);
        if (r > 0) { iov_advance(&iov, &n, (size_t)r); continue; }
        if (r == 0) return cc_error_set(CC_ERR_PEER, "connection closed");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return cc_error_set(CC_ERR_PEER, "connection lost: %s", strerror(errno));
        CC_TRY(wait_fd(fd, POLLIN, deadline_ns, idle_ms));
    }
    return CC_OK;
}

cc_status cc_sock_read(int fd, void *buf, size_t len, uint64_t deadline_ns, uint32_t idle_ms,
                       bool *eof_at_start)
{
    if (eof_at_start) *eof_at_start = false;
    size_t off = 0;
    while (off < len) {
        ssize_t r = read(fd, (uint8_t *)buf + off, len - off);
        if (r > 0) { off += (size_t)r; continue; }
        if (r == 0) {
            if (off == 0 && eof_at_start) *eof_at_start = true;
            return cc_error_set(CC_ERR_PEER, "connection closed");
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return cc_error_set(CC_ERR_PEER, "connection lost: %s", strerror(errno));
        /* before the first byte the idle timer does not run (the peer may be
         * computing); once a frame has started, it must finish promptly */
        CC_TRY(wait_fd(fd, POLLIN, deadline_ns, off ? idle_ms : 0));
    }
    return CC_OK;
}

cc_status cc_sock_writev(int fd, struct iovec *iov, int n, uint64_t deadline_ns, uint32_t idle_ms)
{
    iov_advance(&iov, &n, 0);
    while (n > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w > 0) { iov_advance(&iov, &n, (size_t)w); continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return cc_error_set(CC_ERR_PEER, "connection lost: %s", strerror(errno));
        CC_TRY(wait_fd(fd, POLLOUT, deadline_ns, idle_ms));
    }
    return CC_OK;
}
