/* Worker team: hwloc topology, cpuset binding, team size, partitioning. */
#include "thread.h"
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hwloc_topology_t topo;
static bool topo_ok;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static _Atomic int team_size;          /* 0 = not decided yet */
static _Atomic bool team_bound;

static void load_topology(void)
{
    if (hwloc_topology_init(&topo) != 0) return;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    topo_ok = true;
}

static bool topology(void)
{
    pthread_once(&topo_once, load_topology);
    return topo_ok;
}

int cc_thread_machine_pus(void)
{
    if (!topology()) return 1;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    return n > 0 ? n : 1;
}

int cc_thread_machine_cores(void)
{
    if (!topology()) return 1;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    return n > 0 ? n : cc_thread_machine_pus();
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool cpu_exists(int id)
{
    if (!topology()) return id >= 0 && id < CPU_SETSIZE;
    return hwloc_get_pu_obj_by_os_index(topo, (unsigned)id) != NULL;
}

static cc_status parse_number(const char **s, const char *list, int *out)
{
    if (!isdigit((unsigned char)**s))
        return cc_error_set(CC_ERR_ARG, "cpu list '%s': expected a cpu number at '%s'", list, *s);
    errno = 0;
    char *end;
    long v = strtol(*s, &end, 10);
    if (errno || v > 1 << 20)
        return cc_error_set(CC_ERR_ARG, "cpu list '%s': cpu number too large at '%s'", list, *s);
    *out = (int)v;
    *s = end;
    return CC_OK;
}

cc_status cc_thread_parse_cpus(const char *list, int *ids, int cap, int *n)
{
    *n = 0;
    if (!list || !*list) return cc_error_set(CC_ERR_ARG, "empty cpu list");
    int count = 0;
    const char *s = list;
    for (;;) {
        int lo, hi;
        CC_TRY(parse_number(&s, list, &lo));
        hi = lo;
        if (*s == '-') {
            s++;
            CC_TRY(parse_number(&s, list, &hi));
            if (hi < lo)
                return cc_error_set(CC_ERR_ARG, "cpu list '%s': range %d-%d is backwards", list, lo, hi);
        }
        for (int c = lo; c <= hi; c++) {
            if (!cpu_exists(c))
                return cc_error_set(CC_ERR_RANGE, "cpu list '%s': cpu %d does not exist on this machine "
                                    "(%d logical cpus)", list, c, cc_thread_machine_pus());
            if (count >= cap)
                return cc_error_set(CC_ERR_RANGE, "cpu list '%s': more than %d cpus", list, cap);
            ids[count++] = c;
        }
        if (*s == '\0') break;
        if (*s != ',')
            return cc_error_set(CC_ERR_ARG, "cpu list '%s': unexpected '%c' (use e.g. 0-3,8)", list, *s);
        s++;
    }
    qsort(ids, (size_t)count, sizeof *ids, cmp_int);
    int unique = 0;
    for (int i = 0; i < count; i++)
        if (unique == 0 || ids[unique - 1] != ids[i]) ids[unique++] = ids[i];
    *n = unique;
    return CC_OK;
}

/* OS index of the first PU of each core, in hwloc (topological) order. */
static int core_pus(int *ids, int cap)
{
    if (!topology()) {
        ids[0] = 0;
        return 1;
    }
    int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE), n = 0;
    for (int c = 0; c < cores && n < cap; c++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)c);
        hwloc_obj_t pu = core ? hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset,
                                                                     HWLOC_OBJ_PU, 0) : NULL;
        if (pu) ids[n++] = (int)pu->os_index;
    }
    if (n == 0) {                       /* no core objects: fall back to PUs */
        int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        for (int p = 0; p < pus && n < cap; p++)
            ids[n++] = (int)hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)p)->os_index;
    }
    return n > 0 ? n : (ids[0] = 0, 1);
}

cc_status cc_thread_share(int index, int count, char *buf, size_t cap)
{
    if (count < 1 || index < 0 || index >= count)
        return cc_error_set(CC_ERR_ARG, "cpu share %d of %d is not a valid share", index, count);
    int total = cc_thread_machine_pus();
    int *ids = calloc((size_t)total, sizeof *ids);
    if (!ids) return cc_error_set(CC_ERR_NOMEM, "cpu share buffer");
    int cores = core_pus(ids, total);
    int first, n;
    if (cores >= count) {               /* contiguous, sizes differ by at most one */
        first = index * cores / count;
        n = (index + 1) * cores / count - first;
    } else {
        first = index % cores;
        n = 1;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + len, cap > len ? cap - len : 0, "%s%d", i ? "," : "", ids[first + i]);
        if (w < 0 || (size_t)w >= (cap > len ? cap - len : 0)) {
            free(ids);
            return cc_error_set(CC_ERR_ARG, "cpu share list does not fit in %zu bytes", cap);
        }
        len += (size_t)w;
    }
    free(ids);
    return CC_OK;
}

static int affinity_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

/* Bind the calling thread to one OS cpu. */
static bool bind_self(int cpu)
{
    if (!topology()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
    }
    hwloc_bitmap_t b = hwloc_bitmap_alloc();
    if (!b) return false;
    hwloc_bitmap_only(b, (unsigned)cpu);
    int rc = hwloc_set_cpubind(topo, b, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(b);
    return rc == 0;
}

cc_status cc_thread_init(const char *cpus, int nthreads)
{
    if (nthreads < 0) return cc_error_set(CC_ERR_ARG, "thread count %d is negative", nthreads);
    if (!cpus || !*cpus) {
        int n = nthreads ? nthreads : affinity_cpus();
        atomic_store(&team_size, n);
        atomic_store(&team_bound, false);
        omp_set_num_threads(n);
        return CC_OK;
    }
    int cap = cc_thread_machine_pus();
    int *ids = calloc((size_t)cap, sizeof *ids);
    if (!ids) return cc_error_set(CC_ERR_NOMEM, "cpu list buffer");
    int count;
    cc_status st = cc_thread_parse_cpus(cpus, ids, cap, &count);
    if (st != CC_OK) {
        free(ids);
        return cc_error_wrap(st, "--cpus");
    }
    int n = nthreads ? nthreads : count;
    /* Worker t of the OpenMP team runs on ids[t % count]; the calling thread
     * is worker 0, so it is bound too.  libgomp keeps its workers alive and
     * numbered between regions while the team size stays the same. */
    _Atomic int failures = 0;
    _Atomic int failed_cpu = -1;
    omp_set_num_threads(n);
#pragma omp parallel num_threads(n)
    {
        int t = omp_get_thread_num();
        if (!bind_self(ids[t % count])) {
            atomic_fetch_add(&failures, 1);
            atomic_store(&failed_cpu, ids[t % count]);
        }
    }
    free(ids);
    if (atomic_load(&failures))
        return cc_error_set(CC_ERR_UNSUPPORTED, "cannot bind a worker thread to cpu %d "
                            "(not in this process's allowed cpuset?)", atomic_load(&failed_cpu));
    atomic_store(&team_size, n);
    atomic_store(&team_bound, true);
    return CC_OK;
}

int cc_thread_count(void)
{
    int n = atomic_load(&team_size);
    if (n > 0) return n;
    n = affinity_cpus();
    int expected = 0;
    atomic_compare_exchange_strong(&team_size, &expected, n);
    return atomic_load(&team_size);
}

void cc_thread_set_count(int n)
{
    atomic_store(&team_size, n < 1 ? 1 : n);
}

bool cc_thread_bound(void) { return atomic_load(&team_bound); }

void cc_thread_partition(size_t n, size_t grain, int parts, int idx,
                         size_t *begin, size_t *end)
{
    if (grain == 0) grain = 1;
    if (parts < 1) parts = 1;
    size_t units = n / grain + (n % grain != 0);
    size_t base = units / (size_t)parts, extra = units % (size_t)parts;
    size_t u = (size_t)idx;
    size_t first = u * base + (u < extra ? u : extra);
    size_t count = base + (u < extra);
    size_t b = first * grain, e = (first + count) * grain;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}
