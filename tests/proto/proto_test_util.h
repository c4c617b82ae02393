/* Helpers for the protocol tests: three real parties over loopback
 * (cc_net_launch_local), public test data every party derives from a fixed
 * seed, local sharing of that data, checks that report the first failure
 * to the test process through a shared page, and the declared == measured
 * cost check. */
#ifndef CARACAL_PROTO_TEST_UTIL_H
#define CARACAL_PROTO_TEST_UTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"
#include "proto.h"

typedef struct pt_report {
    int status;                 /* cc_status of the party's run */
    uint64_t checks, failures;
    char msg[1024];             /* first failure */
    uint64_t values[16];
} pt_report;

typedef struct pt_page {
    pt_report party[3];
    pt_report client;
} pt_page;

static inline pt_page *pt_page_new(void)
{
    void *p = mmap(NULL, sizeof(pt_page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) return NULL;
    memset(p, 0, sizeof(pt_page));
    return p;
}

/* The running party's report (set by pt_party_begin). */
static pt_report *pt_me;

__attribute__((format(printf, 2, 3))) static inline bool pt_check(bool ok, const char *fmt, ...)
{
    pt_me->checks++;
    if (ok) return true;
    if (pt_me->failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pt_me->msg, sizeof pt_me->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Abort the party on a failing call, recording the error. */
#define PT_TRY(expr)                                                                   \
    do {                                                                               \
        cc_status pt_s_ = (expr);                                                      \
        if (pt_s_ != CC_OK) {                                                          \
            pt_me->status = pt_s_;                                                     \
            snprintf(pt_me->msg, sizeof pt_me->msg, "%s:%d %s: %s", __FILE__, __LINE__, \
                     #expr, cc_error_message());                                       \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

/* ---- deterministic public test data ------------------------------------------------- */
static inline uint64_t pt_mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

typedef struct pt_rng { uint64_t s; } pt_rng;
static inline uint64_t pt_next(pt_rng *r) { return pt_mix(r->s++); }

/* Signed value with a random bit length in 0..maxbits (so every magnitude
 * up to 2^maxbits is covered, not only the top few bits). */
static inline uint64_t pt_spread(pt_rng *r, unsigned maxbits)
{
    unsigned bits = (unsigned)(pt_next(r) % (maxbits + 1));
    uint64_t v = bits ? pt_next(r) >> (64 - bits) : 0;
    return (pt_next(r) & 1) ? (uint64_t)0 - v : v;
}

/* Replicated sharing of public test data without communication: every
 * party derives x0, x1 from the same seed and takes (x_i, x_{i+1}). */
static inline void pt_share(const cc_proto *ctx, uint64_t seed, const uint64_t *plain, size_t n,
                            uint64_t *s0, uint64_t *s1, bool boolean)
{
    for (size_t j = 0; j < n; j++) {
        uint64_t x[3];
        x[0] = pt_mix(seed ^ (3 * j));
        x[1] = pt_mix(seed ^ (3 * j + 1) ^ UINT64_C(0x5555));
        x[2] = boolean ? plain[j] ^ x[0] ^ x[1] : plain[j] - x[0] - x[1];
        s0[j] = x[ctx->party];
        s1[j] = x[(ctx->party + 1) % 3];
    }
}

static inline cc_status pt_ashare(const cc_proto *ctx, uint64_t seed, const uint64_t *plain,
                                  size_t n, cc_ashare *out)
{
    CC_TRY(cc_ashare_alloc(out, n));
    pt_share(ctx, seed, plain, n, out->s[0], out->s[1], false);
    return CC_OK;
}

static inline cc_status pt_bshare(const cc_proto *ctx, uint64_t seed, const uint64_t *plain,
                                  size_t n, cc_bshare *out)
{
    CC_TRY(cc_bshare_alloc(out, n));
    pt_share(ctx, seed, plain, n, out->s[0], out->s[1], true);
    return CC_OK;
}

/* ---- declared == measured -------------------------------------------------------------
 * Every tag in the proto ledger must appear in the net stats with the same
 * call count, rounds and bytes sent; and vice versa. */
static inline void pt_check_costs(cc_proto *ctx)
{
    cc_proto_ledger_entry led[CC_PROTO_LEDGER_MAX];
    cc_net_stat st[128];
    size_t nl = cc_proto_declared(ctx, led, CC_PROTO_LEDGER_MAX);
    size_t ns = cc_net_stats(ctx->net, st, 128);
    for (size_t i = 0; i < nl; i++) {
        const cc_net_stat *m = NULL;
        for (size_t k = 0; k < ns && k < 128; k++)
            if (strcmp(st[k].tag, led[i].tag) == 0) m = &st[k];
        if (!m) {
            pt_check(led[i].bytes_sent == 0 && led[i].rounds == 0,
                     "P%d op %s: declared %" PRIu64 " rounds %" PRIu64 " bytes, nothing measured",
                     ctx->party, led[i].tag, led[i].rounds, led[i].bytes_sent);
            continue;
        }
        pt_check(m->calls == led[i].calls && m->rounds == led[i].rounds &&
                     m->bytes_sent == led[i].bytes_sent,
                 "P%d op %s: declared %" PRIu64 " calls %" PRIu64 " rounds %" PRIu64
                 " bytes, measured %" PRIu64 " calls %" PRIu64 " rounds %" PRIu64 " bytes",
                 ctx->party, led[i].tag, led[i].calls, led[i].rounds, led[i].bytes_sent,
                 m->calls, m->rounds, m->bytes_sent);
    }
    for (size_t k = 0; k < ns && k < 128; k++) {
        if (st[k].bytes_sent == 0) continue;
        bool found = false;
        for (size_t i = 0; i < nl; i++) found |= strcmp(st[k].tag, led[i].tag) == 0;
        pt_check(found, "P%d net tag %s sent %" PRIu64 " bytes no op declared", ctx->party,
                 st[k].tag, st[k].bytes_sent);
    }
}

#endif
