/* Line-buffered logging to stderr with a party tag and elapsed time. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static cc_log_level log_level = CC_LOG_INFO;
static char log_tag[32] = "caracal";
static uint64_t log_t0;

void cc_log_set_level(cc_log_level lvl) { log_level = lvl; }

void cc_log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag);
}

void cc_log(cc_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (lvl > log_level) return;
    if (!log_t0) log_t0 = cc_now_ns();
    char line[2048];
    int n = snprintf(line, sizeof line, "[%8.3f %s %s] ",
                     cc_ns_to_s(cc_now_ns() - log_t0), log_tag, names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* one fputs per line so lines from the three parties do not interleave */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) { line[len] = '\n'; line[len + 1] = '\0'; }
    fputs(line, stderr);
}
