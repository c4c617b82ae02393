/* Small file and string helpers several modules need. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"

cc_status cc_read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cc_error_set(CC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = cc_alloc(n ? n : 1);
    if (!buf) { fclose(f); return cc_error_wrap(CC_ERR_NOMEM, "reading %s (%zu bytes)", path, n); }
    if (n && fread(buf, 1, n, f) != n) {
        cc_free(buf);
        fclose(f);
        return cc_error_set(CC_ERR_IO, "short read on %s", path);
    }
    fclose(f);
    *data = buf;
    *len = n;
    return CC_OK;
}

bool cc_str_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}
