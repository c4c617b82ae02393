/* Thread-local error messages and status names. */
#define CC_ERROR_IMPL /* defines the real functions (see core.h) */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CC_ERROR_CAP 1024
static _Thread_local char error_buf[CC_ERROR_CAP];

static const char *const status_names[CC_STATUS_COUNT] = {
    [CC_OK] = "ok",
    [CC_ERR_ARG] = "invalid argument",
    [CC_ERR_RANGE] = "value out of range",
    [CC_ERR_NOMEM] = "out of memory",
    [CC_ERR_IO] = "I/O error",
    [CC_ERR_FORMAT] = "malformed data",
    [CC_ERR_MISMATCH] = "mismatch",
    [CC_ERR_AUTH] = "authentication failure",
    [CC_ERR_PEER] = "peer failure",
    [CC_ERR_TIMEOUT] = "timeout",
    [CC_ERR_UNSUPPORTED] = "unsupported",
    [CC_ERR_INTERNAL] = "internal error",
};

const char *cc_status_str(cc_status s)
{
    if ((unsigned)s >= CC_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

cc_status cc_error_set(cc_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buf, sizeof error_buf, fmt, ap);
    va_end(ap);
    return s;
}

cc_status cc_error_wrap(cc_status s, const char *fmt, ...)
{
    char prefix[CC_ERROR_CAP], old[CC_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_buf, sizeof old);
    /* the combined message is cut at the buffer's end, by design */
    int plen = (int)strnlen(prefix, sizeof prefix - 1);
    snprintf(error_buf, sizeof error_buf, "%.*s: %.*s", plen, prefix,
             (int)(sizeof error_buf - 3) - plen, old[0] ? old : cc_status_str(s));
    return s;
}

const char *cc_error_message(void)
{
    return error_buf[0] ? error_buf : "no error message";
}

void cc_error_clear(void) { error_buf[0] = '\0'; }

void cc_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "caracal: internal invariant failed at %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    __builtin_trap();
}
