/* The job protocol's messages: what a receiver accepts (job_impl.h). */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "core.h"
#include "job_impl.h"
#include "nn.h"

cc_status cc_wire_job_check(const cc_wire_job *job)
{
    if (job->magic != CC_JOB_MAGIC)
        return cc_error_set(CC_ERR_FORMAT, "client sent a malformed job (bad magic)");
    if (job->version != CC_JOB_VERSION)
        return cc_error_set(CC_ERR_MISMATCH, "client speaks job protocol version %u, this party "
                            "version %u (update the client or the party)", job->version,
                            CC_JOB_VERSION);
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

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cc_wire_job_hash(const cc_wire_job *job, unsigned f,
                      const uint8_t weights[CC_BUNDLE_HASH_BYTES],
                      uint8_t out[CC_BUNDLE_HASH_BYTES])
{
    /* explicit layout rather than the struct's bytes: padding or a field
     * added later must not change what the parties compare */
    static const char tag[] = "caracal job v2";
    uint8_t buf[sizeof tag + 6 * 4 + CC_BUNDLE_HASH_BYTES], *p = buf;
    memcpy(p, tag, sizeof tag);
    p += sizeof tag;
    const uint32_t fields[6] = { job->n_prompt, job->n_new, job->reveal, job->all_logits,
                                 job->approx, f };
    for (int i = 0; i < 6; i++, p += 4) put_u32(p, fields[i]);
    memcpy(p, weights, CC_BUNDLE_HASH_BYTES);
    crypto_generichash(out, CC_BUNDLE_HASH_BYTES, buf, sizeof buf, NULL, 0);
}

void cc_wire_job_describe(const cc_wire_job *job, char *buf, size_t cap)
{
    snprintf(buf, cap, "prompt %u, new %u, reveal %s, all_logits %u, approx %s", job->n_prompt,
             job->n_new, job->reveal == CC_REVEAL_LOGITS ? "logits" : "token", job->all_logits,
             cc_approx_name((cc_approx)job->approx));
}
