/* Fuzz the llama2.c checkpoint header (l2c_plan: the 7 int32 of the header
 * and the file's size become the config and the plan of tensor offsets).
 * Input: the 28 header bytes, then the file size as 8 little-endian bytes.
 * Invariants on success: the config validates; the plan has every tensor
 * once (9 per layer, the embedding, the final norm, the head unless tied),
 * sorted by layer; every tensor's bytes lie inside the file after the
 * header, no two overlap, and tensors plus the legacy RoPE tables fill the
 * file exactly. */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "import_impl.h"

static int by_offset(const void *a, const void *b)
{
    const ckpt_entry *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size != L2C_HEADER_BYTES + 8) return 0;
    uint64_t file_size = 0;
    for (int i = 7; i >= 0; i--) file_size = file_size << 8 | data[L2C_HEADER_BYTES + i];
    cc_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.fd = -1;
    if (l2c_plan(&ck, data, file_size, "fuzz") == CC_OK) {
        const cc_model_config *c = &ck.config;
        FUZZ_CHECK(cc_config_validate(c) == CC_OK);
        FUZZ_CHECK(ck.n == 9 * (size_t)c->n_layers + 2 + !c->tied_embeddings);
        for (size_t i = 1; i < ck.n; i++) FUZZ_CHECK(ck.e[i - 1].meta.layer <= ck.e[i].meta.layer);
        qsort(ck.e, ck.n, sizeof *ck.e, by_offset);
        uint64_t end = L2C_HEADER_BYTES, tensors = 0;
        for (size_t i = 0; i < ck.n; i++) {
            const uint64_t bytes = 4 * (uint64_t)ck.e[i].meta.numel;
            FUZZ_CHECK(bytes > 0 && ck.e[i].offset >= end);
            FUZZ_CHECK(ck.e[i].offset <= file_size && bytes <= file_size - ck.e[i].offset);
            end = ck.e[i].offset + bytes;
            tensors += bytes;
        }
        const uint64_t rope = 4 * (uint64_t)c->max_seq_len * (uint64_t)cc_config_head_size(c);
        FUZZ_CHECK(L2C_HEADER_BYTES + tensors + rope == file_size);
    } else {
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    }
    cc_free(ck.e);
    return 0;
}
