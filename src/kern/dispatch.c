/* Kernel dispatch: pick the best table this CPU runs, once, unless the
 * environment variable CARACAL_ISA forces one. */
#include "kern.h"
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const all_names[] = { "avx512", "avx2", "ref", NULL };

static const cc_kern *_Atomic active;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cc_status init_status = CC_OK;
static char init_message[256];

static bool supported(const char *name)
{
    const cc_cpu *cpu = cc_cpu_features();
    if (strcmp(name, "ref") == 0) return true;
    if (strcmp(name, "avx2") == 0) return cpu->avx2;
    /* vpmullq is AVX512DQ; the rest of the kernel needs only AVX512F. */
    if (strcmp(name, "avx512") == 0) return cpu->avx512f && cpu->avx512dq;
    return false;
}

static const cc_kern *table(const char *name)
{
    if (strcmp(name, "ref") == 0) return &cc_kern_ref;
    if (strcmp(name, "avx2") == 0) return &cc_kern_avx2;
    if (strcmp(name, "avx512") == 0) return &cc_kern_avx512;
    return NULL;
}

const cc_kern *cc_kern_lookup(const char *name)
{
    if (!name || !table(name)) {
        cc_error_set(CC_ERR_ARG, "unknown kernel ISA '%s' (expected avx512, avx2 or ref)",
                     name ? name : "(null)");
        return NULL;
    }
    if (!supported(name)) {
        cc_error_set(CC_ERR_UNSUPPORTED, "kernel ISA '%s' is not supported by this CPU", name);
        return NULL;
    }
    return table(name);
}

static void init(void)
{
    const char *forced = getenv("CARACAL_ISA");
    if (forced && *forced) {
        const cc_kern *k = cc_kern_lookup(forced);
        if (!k) {
            init_status = cc_error_wrap(strcmp(forced, "ref") && table(forced)
                                            ? CC_ERR_UNSUPPORTED : CC_ERR_ARG,
                                        "CARACAL_ISA=%s", forced);
            snprintf(init_message, sizeof init_message, "%s", cc_error_message());
            return;
        }
        atomic_store(&active, k);
        return;
    }
    for (const char *const *n = all_names; *n; n++) {
        if (supported(*n)) {
            atomic_store(&active, table(*n));
            return;
        }
    }
}

cc_status cc_kern_init(void)
{
    pthread_once(&init_once, init);
    if (init_status != CC_OK) return cc_error_set(init_status, "%s", init_message);
    return CC_OK;
}

const cc_kern *cc_kern_active(void)
{
    const cc_kern *k = atomic_load_explicit(&active, memory_order_acquire);
    if (k) return k;
    if (cc_kern_init() != CC_OK) {
        fprintf(stderr, "caracal: %s\n", cc_error_message());
        abort();
    }
    return atomic_load(&active);
}

cc_status cc_kern_select(const char *name)
{
    pthread_once(&init_once, init);
    const cc_kern *k = cc_kern_lookup(name);
    if (!k) return cc_error_wrap(name && table(name) ? CC_ERR_UNSUPPORTED : CC_ERR_ARG,
                                 "selecting kernels");
    atomic_store(&active, k);
    return CC_OK;
}

void cc_kern_install(const cc_kern *k)
{
    pthread_once(&init_once, init);
    atomic_store(&active, k);
}

const char *const *cc_kern_all_names(void) { return all_names; }
