/* Aligned allocation, secret wiping, resident-memory accounting. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/resource.h>

#define CC_ALIGN 64
#define CC_HUGE_ALIGN (2u << 20)

void *cc_alloc(size_t bytes)
{
    void *p = NULL;
    size_t rounded = (bytes + CC_ALIGN - 1) & ~(size_t)(CC_ALIGN - 1);
    if (rounded < bytes || posix_memalign(&p, CC_ALIGN, rounded ? rounded : CC_ALIGN) != 0) {
        cc_error_set(CC_ERR_NOMEM, "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    return p;
}

void *cc_calloc(size_t n, size_t size)
{
    size_t bytes;
    if (!cc_mul_size(n, size, &bytes)) {
        cc_error_set(CC_ERR_NOMEM, "allocation size overflow (%zu x %zu)", n, size);
        return NULL;
    }
    void *p = cc_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *cc_alloc_huge(size_t bytes)
{
    if (bytes == 0) bytes = 1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        cc_error_set(CC_ERR_NOMEM, "cannot map %zu bytes", bytes);
        return NULL;
    }
    if (bytes >= CC_HUGE_ALIGN) madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

void cc_free(void *p) { free(p); }

void cc_free_huge(void *p, size_t bytes)
{
    if (p) munmap(p, bytes ? bytes : 1);
}

bool cc_mul_size(size_t n, size_t size, size_t *out)
{
    return !__builtin_mul_overflow(n, size, out);
}

void cc_wipe(void *p, size_t bytes)
{
    if (!p) return;
    volatile unsigned char *v = p;
    while (bytes--) *v++ = 0;
    __asm__ __volatile__("" ::: "memory");
}

void cc_release_free_memory(void)
{
#ifdef __GLIBC__
    /* glibc keeps freed heap memory for reuse, and after a large buffer is
     * freed it raises its mmap threshold, so later large buffers come from
     * the heap and stay there too; malloc_trim hands free pages of every
     * arena back to the kernel. */
    malloc_trim(0);
#endif
}

uint64_t cc_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

int cc_process_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}
