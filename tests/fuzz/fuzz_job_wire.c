/* Fuzz the job protocol's receive checks (src/job/wire.c) on arbitrary
 * bytes: the input is cut into a cc_wire_job, a cc_wire_hello and a
 * cc_party_report (missing bytes are zero).  Invariants: an accepted job or
 * hello is in range; a sanitized report has n_tags <= CC_REPORT_TAGS and
 * every tag prints with %s (as the llama7b report does) within its field. */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "job_impl.h"

static void take(void *dst, size_t n, const uint8_t **p, size_t *left)
{
    memset(dst, 0, n);
    size_t k = *left < n ? *left : n;
    memcpy(dst, *p, k);
    *p += k;
    *left -= k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_wire_job job;
    cc_wire_hello hello;
    cc_party_report *rep = malloc(sizeof *rep);
    FUZZ_CHECK(rep);
    take(&job, sizeof job, &data, &size);
    take(&hello, sizeof hello, &data, &size);
    take(rep, sizeof *rep, &data, &size);

    if (cc_wire_job_check(&job) == CC_OK) {
        FUZZ_CHECK(job.magic == CC_JOB_MAGIC && job.version == CC_JOB_VERSION);
        FUZZ_CHECK(job.n_prompt >= 1 && (uint64_t)job.n_prompt + job.n_new <= CC_JOB_MAX_POSITIONS);
        char d[256];
        cc_wire_job_describe(&job, d, sizeof d);
        FUZZ_CHECK(memchr(d, 0, sizeof d));
    }
    for (int from = 0; from < 3; from++)
        if (cc_wire_hello_check(&hello, from) == CC_OK)
            FUZZ_CHECK(hello.magic == CC_HELLO_MAGIC && hello.vocab > 0 && hello.f >= 8);

    cc_wire_report_sanitize(rep);
    FUZZ_CHECK(rep->n_tags <= CC_REPORT_TAGS);
    char line[128];
    for (uint32_t i = 0; i < rep->n_tags; i++) {
        int w = snprintf(line, sizeof line, "%-24s %8llu calls", rep->tags[i].tag,
                         (unsigned long long)rep->tags[i].calls);
        FUZZ_CHECK(w > 0);
        FUZZ_CHECK(strlen(rep->tags[i].tag) < sizeof rep->tags[i].tag);
    }
    free(rep);
    return 0;
}
