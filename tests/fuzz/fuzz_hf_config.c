/* Fuzz the HF config.json parser (hf_parse_config) and the geometry check
 * behind it (cc_config_validate), as open_hf runs them.  Invariants on
 * success: an architecture was recognised and every dimension is positive. */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "import_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);   /* exact size, not terminated */
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    cc_model_config c;
    if (hf_parse_config(text, size, &c) == CC_OK) {
        FUZZ_CHECK(c.arch == CC_ARCH_LLAMA || c.arch == CC_ARCH_GPT2 || c.arch == CC_ARCH_BERT);
        FUZZ_CHECK(c.dim > 0 && c.hidden_dim > 0 && c.n_layers > 0 && c.n_heads > 0);
        FUZZ_CHECK(c.n_kv_heads > 0 && c.vocab_size > 0 && c.max_seq_len > 0);
        if (cc_config_validate(&c) != CC_OK)
            FUZZ_CHECK(cc_error_message()[0] != '\0');
    } else {
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    }
    free(text);
    return 0;
}
