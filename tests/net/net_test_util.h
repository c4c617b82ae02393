/* Helpers shared by the net tests: deterministic payloads and a result
 * page shared between the forked parties and the test process. */
#ifndef CARACAL_NET_TEST_UTIL_H
#define CARACAL_NET_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"
#include "net.h"

/* Upper bounds on wall time stretch by the build's slowdown (sanitizer
 * builds run several times slower; tests/CMakeLists.txt sets it). */
#ifndef CARACAL_TEST_SLOWDOWN
#define CARACAL_TEST_SLOWDOWN 1
#endif
#define WITHIN_NS(ns) ((ns) * (uint64_t)CARACAL_TEST_SLOWDOWN)

/* Payload byte stream that depends on (sender, message id): the receiver
 * can check every byte without any extra communication. */
static inline void fill_payload(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    for (; i < n; i++) p[i] = (uint8_t)(x >> (8 * (i & 7)));
}

/* Index of the first differing byte, or n if equal. */
static inline size_t check_payload(const uint8_t *p, size_t n, uint64_t seed, uint8_t *scratch)
{
    fill_payload(scratch, n, seed);
    for (size_t i = 0; i < n; i++)
        if (p[i] != scratch[i]) return i;
    return n;
}

typedef struct party_report {
    int status;          /* cc_status of the interesting call */
    uint64_t elapsed_ns; /* e.g. from the fault until the error */
    uint64_t values[8];  /* test-specific numbers */
    char msg[512];
} party_report;

typedef struct shared_page {
    party_report party[3];
    party_report client;
    uint64_t t_fault;    /* cc_now_ns() at the injected fault (CLOCK_MONOTONIC is system-wide) */
} shared_page;

static inline shared_page *shared_page_new(void)
{
    void *p = mmap(NULL, sizeof(shared_page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    memset(p, 0, sizeof(shared_page));
    return p;
}

static inline void shared_page_free(shared_page *p) { munmap(p, sizeof *p); }

static inline void report(party_report *r, cc_status s)
{
    r->status = s;
    snprintf(r->msg, sizeof r->msg, "%s", s == CC_OK ? "" : cc_error_message());
}

#endif
