/* Small helpers shared by the libFuzzer harnesses (tests/fuzz). */
#ifndef CARACAL_FUZZ_UTIL_H
#define CARACAL_FUZZ_UTIL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A harness found a broken invariant: say which and crash (libFuzzer
 * records the input). */
#define FUZZ_CHECK(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* A connected pair of stream sockets: sv[0] for the code under test (made
 * non-blocking, as the net module's sockets are), sv[1] for the harness. */
static inline void fuzz_socketpair(int sv[2])
{
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int fl = fcntl(sv[0], F_GETFL);
    FUZZ_CHECK(fl >= 0 && fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) == 0);
}

/* Write the peer's bytes, then end the stream (EOF for the reader).  Stops
 * early when the reader has hung up (it refused the input). */
static inline void fuzz_feed(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        p += w;
        n -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
}

#endif
