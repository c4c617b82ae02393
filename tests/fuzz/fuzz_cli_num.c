/* Fuzz the programs' numeric option parsers (src/cli/cli_num.c) and the
 * --cpus list parser (cc_thread_parse_cpus), with strtol as an independent
 * oracle for the integers.
 *
 * Input: byte 0 picks the parser and its bounds, the rest is the option
 * text (cut at the first NUL, as argv would be). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "core.h"
#include "fuzz_util.h"
#include "thread.h"

/* What a strict decimal parser must accept: optional '-', digits only, in
 * range (strtol also takes spaces and '+', which options must not). */
static bool oracle_long(const char *s, long lo, long hi, long *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)d[0])) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static const long bounds[][2] = {
    {LONG_MIN, LONG_MAX}, {0, INT_MAX}, {1, 65535}, {8, 30}, {-5, 5}, {1, 86400000}, {0, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    int which = data[0] & 7;
    const long *b = bounds[(data[0] >> 3) % CC_ARRAY_LEN(bounds)];
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';

    switch (which) {
    case 0: { /* long: exactly the oracle */
        long v = 12345, w = 0;
        bool ok = cc_cli_long(s, b[0], b[1], &v);
        FUZZ_CHECK(ok == oracle_long(s, b[0], b[1], &w));
        FUZZ_CHECK(ok ? v == w : v == 12345);
        break;
    }
    case 1: { /* int */
        long lo = CC_MAX(b[0], (long)INT_MIN), hi = CC_MIN(b[1], (long)INT_MAX), w;
        int v;
        bool ok = cc_cli_int(s, (int)lo, (int)hi, &v);
        FUZZ_CHECK(ok == oracle_long(s, lo, hi, &w));
        FUZZ_CHECK(!ok || v == w);
        break;
    }
    case 2: { /* u32 */
        long lo = CC_MAX(b[0], 0L), hi = CC_MIN(b[1], (long)UINT32_MAX), w;
        uint32_t v;
        bool ok = cc_cli_u32(s, (uint32_t)lo, (uint32_t)hi, &v);
        FUZZ_CHECK(ok == oracle_long(s, lo, hi, &w));
        FUZZ_CHECK(!ok || v == (uint32_t)w);
        break;
    }
    case 3: { /* list: every element must pass the scalar parser */
        int ids[8];
        long lo = CC_MAX(b[0], (long)INT_MIN), hi = CC_MIN(b[1], (long)INT_MAX);
        int n = cc_cli_int_list(s, (int)lo, (int)hi, ids, 8);
        FUZZ_CHECK(n == -1 || (n >= 1 && n <= 8));
        char *save = NULL, *copy = strdup(s);
        int k = 0;
        for (char *t = strtok_r(copy, ",", &save); n > 0 && t; t = strtok_r(NULL, ",", &save)) {
            long w;
            FUZZ_CHECK(oracle_long(t, lo, hi, &w) && w == ids[k]);
            k++;
        }
        FUZZ_CHECK(n <= 0 || k == n);
        free(copy);
        break;
    }
    case 4: { /* hex */
        uint8_t out[16];
        size_t n = (size_t)(b[1] & 15) + 1;
        if (cc_cli_hex(s, out, n)) {
            char again[33];
            static const char dig[] = "0123456789abcdef";
            for (size_t i = 0; i < n; i++) {
                again[2 * i] = dig[out[i] >> 4];
                again[2 * i + 1] = dig[out[i] & 15];
            }
            again[2 * n] = '\0';
            FUZZ_CHECK(strlen(s) == 2 * n);
            for (size_t i = 0; i < 2 * n; i++) FUZZ_CHECK(tolower((unsigned char)s[i]) == again[i]);
        }
        break;
    }
    case 5: { /* host:port */
        char host[16];
        uint16_t port = 0;
        if (cc_cli_hostport(s, host, sizeof host, &port)) {
            size_t hl = strnlen(host, sizeof host);
            FUZZ_CHECK(hl > 0 && hl < sizeof host && port != 0);
            FUZZ_CHECK(!strchr(host, '[') && !strchr(host, ']'));
        }
        break;
    }
    default: { /* --cpus lists */
        int ids[64], n = -1;
        if (cc_thread_parse_cpus(s, ids, (int)CC_ARRAY_LEN(ids), &n) == CC_OK) {
            FUZZ_CHECK(n >= 1 && n <= (int)CC_ARRAY_LEN(ids));
            for (int i = 1; i < n; i++) FUZZ_CHECK(ids[i - 1] < ids[i]);
            FUZZ_CHECK(ids[0] >= 0 && ids[n - 1] < cc_thread_machine_pus() + 1024);
        } else {
            FUZZ_CHECK(n == 0);
        }
        break;
    }
    }
    free(s);
    return 0;
}
