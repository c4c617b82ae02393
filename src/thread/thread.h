/* thread — how many worker threads, on which cores, and how to split work.
 *
 * Data-parallel kernels use OpenMP (libgomp); this module decides the team:
 * hwloc discovers the machine, cc_thread_init() binds the calling thread and
 * the OpenMP workers one-to-one to the cores of a cpuset (the `--cpus`
 * option), and every parallel region in Caracal uses cc_thread_count()
 * threads.  Network threads are separate and not managed here. */
#ifndef CARACAL_THREAD_H
#define CARACAL_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include "caracal/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Logical CPUs (PUs) and physical cores of the machine, from hwloc. */
int cc_thread_machine_pus(void);
int cc_thread_machine_cores(void);

/* Parse a Linux cpu-list string ("0-3,8,10-11") into a sorted, duplicate-free
 * list of CPU ids.  Returns the count via *n (up to cap ids are written).
 * CC_ERR_ARG with the offending text on a malformed list, CC_ERR_RANGE if an
 * id does not exist on this machine. */
cc_status cc_thread_parse_cpus(const char *list, int *ids, int cap, int *n);

/* The cpu-list of share `index` of `count` equal shares of the machine's
 * physical cores (one PU per core, hwloc order), for running several parties
 * on one host: e.g. 3 parties on 12 cores get "0-3", "4-7", "8-11".  With
 * fewer cores than shares every share still gets one core (shares then
 * overlap, wrapping around).  CC_ERR_ARG on a bad index/count or a buffer
 * too small for the list. */
cc_status cc_thread_share(int index, int count, char *buf, size_t cap);

/* Set up the worker team.
 *   cpus:     cpu-list to bind to, or NULL/"" for no binding (use the
 *             process's current affinity);
 *   nthreads: team size, 0 = one per CPU in the set (or per allowed PU).
 * With a cpuset, worker t is bound to the t-th CPU of the list (round robin
 * if nthreads exceeds the list).  May be called again to change the team. */
cc_status cc_thread_init(const char *cpus, int nthreads);

/* Team size used by every parallel kernel (>= 1).  Defaults to the number of
 * CPUs in the process's affinity mask if cc_thread_init() was never called. */
int cc_thread_count(void);
/* Change only the team size (no rebinding); n < 1 is clamped to 1. */
void cc_thread_set_count(int n);
/* Whether the current team is bound to a cpuset. */
bool cc_thread_bound(void);

/* Static partition of [0, n) into `parts` contiguous chunks whose
 * boundaries are multiples of `grain` (except the end): chunk `idx` is
 * [*begin, *end).  Chunks differ by at most one grain; empty chunks are
 * possible when n is small. */
void cc_thread_partition(size_t n, size_t grain, int parts, int idx,
                         size_t *begin, size_t *end);

#ifdef __cplusplus
}
#endif
#endif
