/* core — the bottom layer: errors, logging, aligned allocation, clocks, cpuid.
 *
 * Nothing here knows about rings, shares or networks.  Library code never
 * exits; it returns cc_status and leaves a message with cc_error_set(). */
#ifndef CARACAL_CORE_H
#define CARACAL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "caracal/status.h"

/* ---- errors ---------------------------------------------------------------
 * A thread-local message describing the last error.  The setter returns its
 * status so call sites read `return cc_error_set(CC_ERR_IO, "...", ...);`. */
cc_status cc_error_set(cc_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix context to the current message: "loading layer 3: <old message>". */
cc_status cc_error_wrap(cc_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *cc_error_message(void);
void cc_error_clear(void);
#if defined(__clang_analyzer__) && !defined(CC_ERROR_IMPL)
/* For clang's static analyzer only: both return the status they are given,
 * which it cannot see across files; without this every `return
 * cc_error_set(CC_ERR_x, ...)` looks as if it could return CC_OK with the
 * caller's outputs unset (docs/TESTING.md). */
#define cc_error_set(s, ...) ((void)(cc_error_set)((s), __VA_ARGS__), (s))
#define cc_error_wrap(s, ...) ((void)(cc_error_wrap)((s), __VA_ARGS__), (s))
#endif

/* Propagate a failing status. */
#define CC_TRY(expr) do { cc_status cc_try_s_ = (expr); \
                          if (cc_try_s_ != CC_OK) return cc_try_s_; } while (0)

/* ---- logging ----------------------------------------------------------------
 * Never log shares, seeds, keys, weights or plaintext model data. */
typedef enum { CC_LOG_ERROR, CC_LOG_WARN, CC_LOG_INFO, CC_LOG_DEBUG } cc_log_level;
void cc_log_set_level(cc_log_level lvl);
/* A short tag printed before every line, e.g. "P1" or "client". */
void cc_log_set_tag(const char *tag);
void cc_log(cc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cc_error_log(...) cc_log(CC_LOG_ERROR, __VA_ARGS__)
#define cc_warn(...)      cc_log(CC_LOG_WARN, __VA_ARGS__)
#define cc_info(...)      cc_log(CC_LOG_INFO, __VA_ARGS__)
#define cc_debug(...)     cc_log(CC_LOG_DEBUG, __VA_ARGS__)

/* ---- memory -----------------------------------------------------------------
 * 64-byte aligned (one cache line, one zmm register); NULL on failure with an
 * error message set.  Large buffers use cc_alloc_huge (2 MiB aligned, THP). */
void *cc_alloc(size_t bytes);
void *cc_calloc(size_t n, size_t size);
void *cc_alloc_huge(size_t bytes);
void  cc_free(void *p);
void  cc_free_huge(void *p, size_t bytes);
/* Overflow-checked n*size; false on overflow. */
bool  cc_mul_size(size_t n, size_t size, size_t *out);
/* Wipe secrets (seeds, keys) so the compiler cannot elide it. */
void  cc_wipe(void *p, size_t bytes);
/* Peak resident set size of this process in bytes (from getrusage). */
uint64_t cc_peak_rss_bytes(void);
/* Return freed heap memory to the kernel (a long-running service between
 * jobs: one big job must not leave the process at its high-water mark). */
void cc_release_free_memory(void);
/* Threads this process has right now (Linux /proc/self/status), -1 when
 * unknown.  A process about to fork() workers checks it is 1: the child gets
 * the calling thread only, and a thread pool started earlier (libgomp's)
 * would be missing there. */
int cc_process_threads(void);

/* ---- files and strings ------------------------------------------------------ */
/* Reads a whole regular file into a cc_alloc'd buffer (*len bytes; the buffer
 * is never NULL on success, even for an empty file). */
cc_status cc_read_file(const char *path, unsigned char **data, size_t *len);
bool cc_str_ends_with(const char *s, const char *suffix);
/* n bytes as 2n lowercase hex digits and a NUL; and back: 2n hex digits
 * (either case) into n bytes, false at the first non-hex character (out
 * then partly written).  Decode reads exactly 2n characters. */
void cc_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);
bool cc_hex_decode(const char *in, uint8_t *out, size_t n);

/* ---- clocks ---------------------------------------------------------------- */
uint64_t cc_now_ns(void);            /* CLOCK_MONOTONIC */
static inline double cc_ns_to_s(uint64_t ns) { return (double)ns * 1e-9; }

/* ---- cpu features ---------------------------------------------------------
 * Read once (cpuid + xgetbv, so OS support for the wide registers counts). */
typedef struct cc_cpu {
    bool avx2, fma, bmi2;
    bool avx512f, avx512dq, avx512bw, avx512vl, avx512ifma;
    bool aesni, vaes, vpclmulqdq;
} cc_cpu;
const cc_cpu *cc_cpu_features(void);

/* ---- invariants ------------------------------------------------------------
 * A broken invariant is a bug: print where and abort (tests catch it). */
void cc_panic(const char *file, int line, const char *msg) __attribute__((noreturn));
#define CC_ASSERT(c) do { if (!(c)) cc_panic(__FILE__, __LINE__, #c); } while (0)

#define CC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
