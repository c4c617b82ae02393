/* Format switch: which importer reads a checkpoint path. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "model.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

cc_status cc_checkpoint_load(const char *path, cc_model_weights *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cc_error_set(CC_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode) || ends_with(path, ".safetensors") || ends_with(path, ".json"))
        return cc_checkpoint_load_hf(path, out);
    return cc_checkpoint_load_llama2c(path, out);
}
