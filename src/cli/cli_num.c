/* Strict parsers for the programs' numeric options (see cli.h). */
#include "cli.h"
#include "core.h"

#include <limits.h>
#include <string.h>

/* Decimal digits of s[0..len) into *out without overflow; false if empty,
 * not all digits, or larger than limit. */
static bool digits(const char *s, size_t len, unsigned long limit, unsigned long *out)
{
    if (len == 0) return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* s[0..len) as a long in [lo, hi]. */
static bool span_long(const char *s, size_t len, long lo, long hi, long *out)
{
    if (lo > hi) return false;
    bool neg = len > 0 && s[0] == '-';
    unsigned long mag;
    /* |LONG_MIN| = LONG_MAX + 1 fits in unsigned long */
    unsigned long limit = neg ? (unsigned long)LONG_MAX + 1u : (unsigned long)LONG_MAX;
    if (!digits(s + neg, len - neg, limit, &mag)) return false;
    long v;
    if (!neg) v = (long)mag;
    else if (mag == (unsigned long)LONG_MAX + 1u) v = LONG_MIN;
    else v = -(long)mag;
    if (v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool cc_cli_long(const char *s, long lo, long hi, long *out)
{
    return s && span_long(s, strlen(s), lo, hi, out);
}

bool cc_cli_int(const char *s, int lo, int hi, int *out)
{
    long v;
    if (!cc_cli_long(s, lo, hi, &v)) return false;
    *out = (int)v;
    return true;
}

bool cc_cli_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    long v;
    if (!cc_cli_long(s, (long)lo, (long)hi, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

int cc_cli_int_list(const char *s, int lo, int hi, int *out, int cap)
{
    if (!s || !*s) return -1;
    int n = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        long v;
        if (n == cap || !span_long(s, len, lo, hi, &v)) return -1;
        out[n++] = (int)v;
        if (!comma) return n;
        s = comma + 1;
    }
}

bool cc_cli_hex(const char *s, uint8_t *out, size_t n)
{
    return s && strlen(s) == 2 * n && cc_hex_decode(s, out, n);
}

bool cc_cli_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon) return false;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    long p;
    if (hlen == 0 || hlen >= host_cap || memchr(h, '[', hlen) || memchr(h, ']', hlen) ||
        !cc_cli_long(colon + 1, 1, 65535, &p))
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return true;
}
