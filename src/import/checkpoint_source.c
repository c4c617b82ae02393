/* A lazy checkpoint as the bundle converter's tensor source: describe()
 * copies the planned metadata, read() converts one tensor. */
#include <string.h>

#include "import_impl.h"
#include "core.h"

static cc_status source_describe(void *ctx, size_t i, cc_tensor_f32 *meta)
{
    const cc_tensor_f32 *m = cc_checkpoint_describe(ctx, i);
    if (!m) return cc_error_set(CC_ERR_ARG, "checkpoint source: tensor %zu out of range", i);
    *meta = *m;
    return CC_OK;
}

static cc_status source_read(void *ctx, size_t i, float *out)
{
    return cc_checkpoint_read(ctx, i, out);
}

cc_status cc_checkpoint_source(cc_checkpoint *ck, cc_tensor_source *out)
{
    memset(out, 0, sizeof *out);
    if (!ck || ck->n == 0) return cc_error_set(CC_ERR_ARG, "checkpoint source: empty checkpoint");
    out->ctx = ck;
    out->config = ck->config;
    out->n_tensors = ck->n;
    out->describe = source_describe;
    out->read = source_read;
    out->destroy = NULL;          /* the caller closes the checkpoint */
    return CC_OK;
}
