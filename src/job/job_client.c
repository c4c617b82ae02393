/* The client side of a secure inference job (wire protocol: job_impl.h).
 * The client knows its token ids, so it builds one-hot rows itself and
 * secret-shares them (PUMA's secure embedding); it is the only one who
 * reconstructs outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "job_impl.h"
#include "proto.h"
#include "ring.h"

static cc_status handshake(cc_client *c, const cc_secure_request *r, cc_wire_hello *agreed)
{
    cc_wire_job job = { .magic = CC_JOB_MAGIC, .version = CC_JOB_VERSION, .n_prompt = (uint32_t)r->n_prompt,
                     .n_new = (uint32_t)r->n_new, .reveal = (uint32_t)r->reveal,
                     .all_logits = r->all_logits, .approx = (uint32_t)r->approx };
    for (int i = 0; i < 3; i++) CC_TRY(cc_client_send(c, i, &job, sizeof job));
    CC_TRY(cc_client_flush(c));
    cc_wire_hello h[3];
    for (int i = 0; i < 3; i++) {
        cc_status s = cc_client_recv(c, i, &h[i], sizeof h[i]);
        if (s != CC_OK) return cc_error_wrap(s, "waiting for P%d to accept the job", i);
        CC_TRY(cc_wire_hello_check(&h[i], i));
    }
    for (int i = 1; i < 3; i++)
        if (memcmp(&h[0], &h[i], sizeof h[0]) != 0)
            return cc_error_set(CC_ERR_MISMATCH, "P0 and P%d serve different models "
                                "(config or weights hash differ)", i);
    *agreed = h[0];
    return CC_OK;
}

/* Share n one-hot rows with the parties (seed-compressed, cc_proto). */
static cc_status send_onehot(cc_client *c, const int *ids, int n, size_t V, uint64_t *scratch)
{
    memset(scratch, 0, (size_t)n * V * sizeof(uint64_t));
    for (int r = 0; r < n; r++) scratch[(size_t)r * V + (size_t)ids[r]] = 1;
    return cc_proto_client_input(c, (size_t)n * V, scratch);
}

/* Receive one step's output; returns the next token. */
static cc_status receive_output(cc_client *c, cc_reveal_mode mode, size_t rows, size_t V,
                                unsigned f, uint64_t *scratch, float *logits_out,
                                cc_secure_result *res, int *token)
{
    if (mode == CC_REVEAL_TOKEN) {
        uint64_t id;
        CC_TRY(cc_proto_client_reveal(c, 1, &id));
        res->ring_elems_received += 1;
        if (id >= V) return cc_error_set(CC_ERR_FORMAT, "parties revealed token %llu >= vocab %zu",
                                         (unsigned long long)id, V);
        *token = (int)id;
        return CC_OK;
    }
    CC_TRY(cc_proto_client_reveal(c, rows * V, scratch));
    res->ring_elems_received += rows * V;
    cc_fxp_decode_f32(rows * V, scratch, f, logits_out);
    *token = (int)cc_argmax_f32(logits_out + (rows - 1) * V, V);
    return CC_OK;
}

static cc_status client_run(cc_client *c, const cc_secure_request *r, cc_secure_result *res);

cc_status cc_secure_client_run(cc_client *c, const cc_secure_request *r, cc_secure_result *res)
{
    cc_status s = client_run(c, r, res);
    if (s != CC_OK) {
        /* the parties would otherwise wait for input that never comes */
        char reason[256];
        snprintf(reason, sizeof reason, "client gave up: %s", cc_error_message());
        cc_client_abort(c, reason);
    }
    return s;
}

static cc_status client_run(cc_client *c, const cc_secure_request *r, cc_secure_result *res)
{
    memset(res, 0, sizeof *res);
    if (r->n_prompt < 1 || r->n_new < 0 || r->n_new > (int)CC_ARRAY_LEN(res->tokens))
        return cc_error_set(CC_ERR_ARG, "prompt of %d tokens, %d new: out of range", r->n_prompt,
                            r->n_new);
    uint64_t t_start = cc_now_ns();
    cc_wire_hello h = {0};
    CC_TRY(handshake(c, r, &h));
    size_t V = h.vocab;
    for (int i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || (size_t)r->prompt[i] >= V)
            return cc_error_set(CC_ERR_RANGE, "prompt token %d at position %d is outside the "
                                "model's vocabulary of %zu", r->prompt[i], i, V);
    res->vocab = (int)V;
    size_t rows = r->all_logits ? (size_t)r->n_prompt : 1;
    uint64_t *scratch = cc_alloc((size_t)r->n_prompt * V * sizeof(uint64_t));
    float *step_logits = cc_alloc(rows * V * sizeof(float));
    if (!scratch || !step_logits) {
        cc_free(scratch);
        cc_free(step_logits);
        return CC_ERR_NOMEM;
    }
    if (r->all_logits) res->all_logits = malloc(rows * V * sizeof(float));
    if (r->reveal == CC_REVEAL_LOGITS && r->n_new > 0)
        res->last_logits = malloc((size_t)r->n_new * V * sizeof(float));
    if ((r->all_logits && !res->all_logits) ||
        (r->reveal == CC_REVEAL_LOGITS && r->n_new > 0 && !res->last_logits)) {
        cc_free(scratch);
        cc_free(step_logits);
        cc_secure_result_free(res);
        return cc_error_set(CC_ERR_NOMEM, "logits of %zu positions", rows + (size_t)r->n_new);
    }

    /* prefill */
    uint64_t t0 = cc_now_ns();
    int token = 0;
    cc_status s = send_onehot(c, r->prompt, r->n_prompt, V, scratch);
    if (s == CC_OK)
        s = receive_output(c, r->all_logits ? CC_REVEAL_LOGITS : r->reveal, rows, V, h.f, scratch,
                           step_logits, res, &token);
    if (s == CC_OK && r->all_logits) memcpy(res->all_logits, step_logits, rows * V * sizeof(float));
    if (s == CC_OK && r->n_new > 0) {
        res->tokens[res->n_tokens++] = token;
        if (res->last_logits)
            memcpy(res->last_logits, step_logits + (rows - 1) * V, V * sizeof(float));
    }
    res->prefill_s = cc_ns_to_s(cc_now_ns() - t0);

    /* generation: feed each revealed token back as a fresh one-hot row */
    t0 = cc_now_ns();
    while (s == CC_OK && res->n_tokens < r->n_new) {
        s = send_onehot(c, &token, 1, V, scratch);
        if (s == CC_OK)
            s = receive_output(c, r->reveal, 1, V, h.f, scratch, step_logits, res, &token);
        if (s == CC_OK) {
            if (res->last_logits)
                memcpy(res->last_logits + (size_t)res->n_tokens * V, step_logits, V * sizeof(float));
            res->tokens[res->n_tokens++] = token;
        }
    }
    res->generate_s = cc_ns_to_s(cc_now_ns() - t0);
    for (int i = 0; s == CC_OK && i < 3; i++) {
        s = cc_client_recv(c, i, &res->party[i], sizeof res->party[i]);
        if (s != CC_OK) s = cc_error_wrap(s, "waiting for P%d's report", i);
        cc_wire_report_sanitize(&res->party[i]);
    }
    res->wall_s = cc_ns_to_s(cc_now_ns() - t_start);
    cc_free(scratch);
    cc_free(step_logits);
    return s;
}

void cc_secure_result_free(cc_secure_result *r)
{
    free(r->all_logits);
    free(r->last_logits);
    r->all_logits = r->last_logits = NULL;
}
