/* Link emulation: named and custom profiles, and the departure schedule the
 * sender follows (docs/NETWORK.md "Emulated links").
 *
 * The kernel of the benchmark machines has no netem, so the link layer
 * emulates a network itself, in the sender: a frame is written to the socket
 * only at its departure time.  Delaying in the sender needs no extra copies
 * or threads (the frame is still the caller's zero-copy buffer, sealed into
 * the existing scratch) and treats encrypted and plaintext links alike.
 *
 * Schedule, per link and direction:
 *   depart = max(queued + rtt/2, previous depart) + wire bytes / rate
 * `queued` is when cc_net_send took the message, so messages queued
 * back-to-back overlap their delays (a latency, not a throughput cap); the
 * rate term charges each frame its own serialisation time, so a message of
 * B bytes arrives no earlier than rtt/2 + B / rate after it was sent — what
 * a store-and-forward link of that rate and delay would give. */
#include "net_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The issue 11 profiles: per link and direction. */
static const struct { const char *name; double rtt_ms, gbps; } named[] = {
    {"lan", 1.0, 10.0},
    {"wan", 40.0, 0.4},
};

#define PROFILE_HELP "none, lan (1 ms round trip, 10 Gbit/s), wan (40 ms, 0.4 Gbit/s) or " \
                     "RTT_MS,GBPS such as 20,1.5"

static bool parse_number(const char *s, const char *end, double *out)
{
    if (s == end || end - s > 31) return false;
    char buf[32];
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    char *stop;
    errno = 0;
    double v = strtod(buf, &stop);
    if (*stop || errno || !isfinite(v)) return false;
    *out = v;
    return true;
}

cc_status cc_link_profile_parse(const char *text, cc_link_profile *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return cc_error_set(CC_ERR_ARG, "--link-profile: empty; use " PROFILE_HELP);
    if (strcmp(text, "none") == 0) return CC_OK;
    double rtt_ms = -1, gbps = -1;
    for (size_t i = 0; i < CC_ARRAY_LEN(named); i++)
        if (strcmp(text, named[i].name) == 0) {
            rtt_ms = named[i].rtt_ms;
            gbps = named[i].gbps;
        }
    if (rtt_ms < 0) {
        const char *comma = strchr(text, ',');
        if (!comma || !parse_number(text, comma, &rtt_ms) ||
            !parse_number(comma + 1, comma + strlen(comma), &gbps))
            return cc_error_set(CC_ERR_ARG, "--link-profile '%s': unknown; use " PROFILE_HELP, text);
        /* Beyond these a frame could sit longer than the links' silence
         * timeouts; 0 ms with a rate is fine (a rate limit alone). */
        if (rtt_ms < 0 || rtt_ms > 10000)
            return cc_error_set(CC_ERR_ARG, "--link-profile '%s': round trip %g ms is not in "
                                "0..10000", text, rtt_ms);
        if (gbps < 0.001 || gbps > 10000)
            return cc_error_set(CC_ERR_ARG, "--link-profile '%s': rate %g Gbit/s is not in "
                                "0.001..10000", text, gbps);
    }
    snprintf(out->name, sizeof out->name, "%.31s", text);
    out->rtt_ns = (uint64_t)llround(rtt_ms * 1e6);
    out->gbps = gbps;
    return CC_OK;
}

bool cc_link_profile_active(const cc_link_profile *p) { return p->rtt_ns > 0 || p->gbps > 0; }

const char *cc_link_profile_name(const cc_link_profile *p)
{
    return cc_link_profile_active(p) ? p->name : "none";
}

void cc_shaper_init(cc_shaper *s, const cc_link_profile *p)
{
    memset(s, 0, sizeof *s);
    s->on = cc_link_profile_active(p);
    s->half_rtt_ns = p->rtt_ns / 2;
    s->ns_per_byte = p->gbps > 0 ? 8.0 / p->gbps : 0.0; /* 1 Gbit/s = 8 ns per byte */
}

uint64_t cc_shaper_depart(cc_shaper *s, uint64_t queued_ns, uint64_t wire_bytes)
{
    uint64_t t = CC_MAX(queued_ns + s->half_rtt_ns, s->last_depart_ns);
    /* rounded up: the emulated link is never faster than its rate */
    t += (uint64_t)ceil((double)wire_bytes * s->ns_per_byte);
    s->last_depart_ns = t;
    return t;
}
