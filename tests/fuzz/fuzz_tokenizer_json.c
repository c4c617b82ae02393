/* Fuzz the Hugging Face tokenizer.json parser (cc_tokenizer_parse_json), then use
 * the vocabulary (tokenizer_fuzz.h). */
#include "tokenizer_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);   /* exact size: ASan sees any over-read */
    FUZZ_CHECK(b);
    memcpy(b, data, size);
    cc_tokenizer *t = NULL;
    if (cc_tokenizer_parse_json((const char *)b, size, &t) == CC_OK) fuzz_tokenizer_use(t);
    else FUZZ_CHECK(t == NULL && cc_error_message()[0] != '\0');
    free(b);
    return 0;
}
