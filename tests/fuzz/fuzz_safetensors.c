/* Fuzz the safetensors header + tensor table check (st_parse_buffer, what
 * st_source_open runs on each mapped shard), then convert every accepted
 * tensor to float32.  Invariants on success: each tensor's bytes lie inside
 * the input, and converting them reads nothing else (ASan, exact-size copy). */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "import_impl.h"

typedef struct span { const uint8_t *p; size_t n; } span;

static void each(void *ctx, const char *name, const st_tensor *t)
{
    const span *in = ctx;
    FUZZ_CHECK(name != NULL);
    FUZZ_CHECK(t->ndim >= 0 && t->ndim <= CC_TENSOR_MAX_DIMS);
    size_t bytes = t->numel * (t->dtype == ST_F32 ? 4 : 2);
    FUZZ_CHECK(t->data >= in->p && t->data <= in->p + in->n);
    FUZZ_CHECK(bytes <= (size_t)(in->p + in->n - t->data));
    if (t->numel > 0) {
        float *out = malloc(t->numel * sizeof *out);
        FUZZ_CHECK(out);
        st_to_f32(t, out);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);   /* exact size: ASan sees any over-read */
    FUZZ_CHECK(b);
    memcpy(b, data, size);
    span in = {b, size};
    if (st_parse_buffer(b, size, "fuzz", each, &in) != CC_OK)
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    free(b);
    return 0;
}
