/* Fuzz the Hugging Face shard index parser (hf_parse_index: the text of a
 * model.safetensors.index.json, as open_hf reads it for a sharded
 * checkpoint).  Invariants on success: at least one shard, each listed once,
 * each a plain file name directly inside the checkpoint directory (an index
 * we did not write must not point the importer at other files). */
#include <string.h>

#include "core.h"
#include "fuzz_util.h"
#include "import_impl.h"

#define DIR "/models/x"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);   /* exact size, not terminated */
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    static hf_paths p;                      /* 4 KiB dir + 1024 pointers */
    memset(&p, 0, sizeof p);
    snprintf(p.dir, sizeof p.dir, "%s", DIR);
    if (hf_parse_index(text, size, &p) == CC_OK) {
        FUZZ_CHECK(p.n_files >= 1 && p.n_files <= (int)CC_ARRAY_LEN(p.files));
        for (int i = 0; i < p.n_files; i++) {
            const char *f = p.files[i];
            FUZZ_CHECK(strncmp(f, DIR "/", sizeof DIR) == 0);
            const char *name = f + sizeof DIR;
            FUZZ_CHECK(name[0] != '\0' && !strchr(name, '/'));
            FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
            for (int j = 0; j < i; j++) FUZZ_CHECK(strcmp(p.files[j], f) != 0);
        }
    } else {
        FUZZ_CHECK(cc_error_message()[0] != '\0');
    }
    hf_paths_free(&p);
    FUZZ_CHECK(p.n_files == 0);
    free(text);
    return 0;
}
