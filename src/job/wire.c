/* The job protocol's messages: what a receiver accepts (job_impl.h). */
#include "core.h"
#include "job_impl.h"
#include "nn.h"

cc_status cc_wire_job_check(const cc_wire_job *job)
{
    if (job->magic != CC_JOB_MAGIC || job->version != CC_JOB_VERSION)
        return cc_error_set(CC_ERR_FORMAT, "client sent a malformed job (magic/version)");
    if (job->n_prompt < 1 || job->n_prompt > CC_JOB_MAX_POSITIONS ||
        job->n_new > CC_JOB_MAX_POSITIONS || job->n_prompt + job->n_new > CC_JOB_MAX_POSITIONS ||
        job->reveal > CC_REVEAL_LOGITS || job->all_logits > 1 || job->approx > CC_APPROX_PRECISE)
        return cc_error_set(CC_ERR_FORMAT, "client sent an out-of-range job "
                            "(prompt %u, new %u, reveal %u, approx %u)", job->n_prompt,
                            job->n_new, job->reveal, job->approx);
    return CC_OK;
}

cc_status cc_wire_hello_check(const cc_wire_hello *h, int from)
{
    if (h->magic != CC_HELLO_MAGIC)
        return cc_error_set(CC_ERR_FORMAT, "P%d answered with a malformed hello", from);
    if (h->f < 8 || h->f > 30 || h->vocab == 0 || h->vocab > (1u << 22))
        return cc_error_set(CC_ERR_FORMAT, "P%d announced an invalid model (f %u, vocab %u)",
                            from, h->f, h->vocab);
    return CC_OK;
}

void cc_wire_report_sanitize(cc_party_report *r)
{
    r->n_tags = CC_MIN(r->n_tags, (uint32_t)CC_REPORT_TAGS);
    for (size_t i = 0; i < CC_REPORT_TAGS; i++)
        r->tags[i].tag[sizeof r->tags[i].tag - 1] = '\0';
}
