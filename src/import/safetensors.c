/* Hugging Face safetensors reader.
 *
 * Layout: u64 (LE) header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *    "__metadata__": {...}}
 * then the data; offsets are relative to the first data byte.  Files are
 * mapped read-only and every entry is validated up front, so a bad file
 * fails at open with the tensor's name rather than at first use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "import_impl.h"
#include "core.h"

struct st_file {
    char path[4096];             /* for messages */
    unsigned char *map;
    size_t len;
    const unsigned char *data;   /* first data byte */
    size_t data_len;
    struct json_object *header;
};

static size_t dtype_size(st_dtype d) { return d == ST_F32 ? 4 : 2; }

static cc_status parse_dtype(const char *s, const char *path, const char *name, st_dtype *out)
{
    if (strcmp(s, "F32") == 0) { *out = ST_F32; return CC_OK; }
    if (strcmp(s, "F16") == 0) { *out = ST_F16; return CC_OK; }
    if (strcmp(s, "BF16") == 0) { *out = ST_BF16; return CC_OK; }
    static const char *known[] = {"F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3",
                                  "F8_E5M2", "U16", "U32", "U64"};
    for (size_t i = 0; i < CC_ARRAY_LEN(known); i++)
        if (strcmp(s, known[i]) == 0)
            return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s has dtype %s; only F32, F16 and "
                                "BF16 weights are supported", path, name, s);
    return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s has unknown dtype \"%s\"", path, name, s);
}

/* Parses and checks one header entry. */
static cc_status parse_entry(const st_file *f, const char *name, struct json_object *e,
                             st_tensor *t)
{
    struct json_object *dt, *shape, *offs;
    if (!json_object_is_type(e, json_type_object) ||
        !json_object_object_get_ex(e, "dtype", &dt) || !json_object_is_type(dt, json_type_string) ||
        !json_object_object_get_ex(e, "shape", &shape) || !json_object_is_type(shape, json_type_array) ||
        !json_object_object_get_ex(e, "data_offsets", &offs) ||
        !json_object_is_type(offs, json_type_array) || json_object_array_length(offs) != 2)
        return cc_error_set(CC_ERR_FORMAT, "%s: header entry %s lacks dtype/shape/data_offsets",
                            f->path, name);
    CC_TRY(parse_dtype(json_object_get_string(dt), f->path, name, &t->dtype));
    const size_t nd = json_object_array_length(shape);
    if (nd > CC_TENSOR_MAX_DIMS)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s has %zu dimensions (at most %d)", f->path,
                            name, nd, CC_TENSOR_MAX_DIMS);
    t->ndim = (int)nd;
    t->numel = 1;
    for (size_t i = 0; i < nd; i++) {
        struct json_object *v = json_object_array_get_idx(shape, i);
        int64_t d = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (d < 0 || !cc_mul_size(t->numel, (size_t)d, &t->numel))
            return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s has a bad shape", f->path, name);
        t->shape[i] = d;
    }
    struct json_object *b = json_object_array_get_idx(offs, 0), *e2 = json_object_array_get_idx(offs, 1);
    int64_t begin = json_object_is_type(b, json_type_int) ? json_object_get_int64(b) : -1;
    int64_t end = json_object_is_type(e2, json_type_int) ? json_object_get_int64(e2) : -1;
    size_t bytes;
    if (!cc_mul_size(t->numel, dtype_size(t->dtype), &bytes))
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s is too large", f->path, name);
    if (begin < 0 || end < begin || (uint64_t)end > f->data_len)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s data [%lld, %lld) lies outside the %zu "
                            "data bytes (truncated file?)", f->path, name, (long long)begin,
                            (long long)end, f->data_len);
    if ((uint64_t)(end - begin) != bytes)
        return cc_error_set(CC_ERR_FORMAT, "%s: tensor %s holds %lld bytes, its shape and dtype "
                            "need %zu", f->path, name, (long long)(end - begin), bytes);
    t->data = f->data + begin;
    return CC_OK;
}

/* Parses and validates the header of f->map (f->len >= 8 bytes). */
static cc_status parse_header(st_file *f)
{
    const char *path = f->path;
    uint64_t hlen;
    memcpy(&hlen, f->map, 8);
    if (hlen > f->len - 8 || hlen > (100u << 20))
        return cc_error_set(CC_ERR_FORMAT, "%s: header length %llu exceeds the file (%zu bytes); "
                            "truncated or not safetensors", path, (unsigned long long)hlen, f->len);
    f->data = f->map + 8 + hlen;
    f->data_len = f->len - 8 - (size_t)hlen;
    struct json_tokener *tok = json_tokener_new();
    if (!tok) return cc_error_set(CC_ERR_NOMEM, "json tokener");
    f->header = json_tokener_parse_ex(tok, (const char *)f->map + 8, (int)hlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!f->header || jerr != json_tokener_success || !json_object_is_type(f->header, json_type_object))
        return cc_error_set(CC_ERR_FORMAT, "%s: header is not a JSON object (%s)", path,
                            json_tokener_error_desc(jerr));
    json_object_object_foreach(f->header, name, entry) {
        if (strcmp(name, "__metadata__") == 0) continue;
        st_tensor t;
        CC_TRY(parse_entry(f, name, entry, &t));
    }
    return CC_OK;
}

static cc_status open_file(st_file *f, const char *path)
{
    snprintf(f->path, sizeof f->path, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cc_error_set(CC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cc_error_set(CC_ERR_IO, "%s is not a regular file", path);
    }
    f->len = (size_t)st.st_size;
    if (f->len < 8) {
        close(fd);
        return cc_error_set(CC_ERR_FORMAT, "%s: %zu bytes, too short for safetensors", path, f->len);
    }
    void *m = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return cc_error_set(CC_ERR_IO, "mmap %s: %s", path, strerror(errno));
    f->map = m;
    return parse_header(f);
}

static void close_file(st_file *f)
{
    if (!f) return;
    if (f->header) json_object_put(f->header);
    if (f->map) munmap(f->map, f->len);
    cc_free(f);
}

cc_status st_parse_buffer(const void *buf, size_t len, const char *what,
                          void (*each)(void *ctx, const char *name, const st_tensor *t), void *ctx)
{
    if (len < 8)
        return cc_error_set(CC_ERR_FORMAT, "%s: %zu bytes, too short for safetensors", what, len);
    st_file *f = cc_calloc(1, sizeof *f);
    if (!f) return cc_error_wrap(CC_ERR_NOMEM, "safetensors");
    snprintf(f->path, sizeof f->path, "%s", what);
    f->map = (unsigned char *)buf;   /* only read; not unmapped below */
    f->len = len;
    cc_status s = parse_header(f);
    if (s == CC_OK && each) {
        json_object_object_foreach(f->header, name, entry) {
            if (strcmp(name, "__metadata__") == 0) continue;
            st_tensor t;
            if ((s = parse_entry(f, name, entry, &t)) != CC_OK) break;
            each(ctx, name, &t);
        }
    }
    if (f->header) json_object_put(f->header);
    cc_free(f);
    return s;
}

cc_status st_source_open(st_source *src, const char *const *paths, int n)
{
    memset(src, 0, sizeof *src);
    src->files = cc_calloc((size_t)n, sizeof *src->files);
    if (!src->files) return cc_error_wrap(CC_ERR_NOMEM, "safetensors");
    for (int i = 0; i < n; i++) {
        st_file *f = cc_calloc(1, sizeof *f);
        if (!f) { st_source_close(src); return cc_error_wrap(CC_ERR_NOMEM, "safetensors"); }
        src->files[src->n_files++] = f;
        cc_status s = open_file(f, paths[i]);
        if (s != CC_OK) { st_source_close(src); return s; }
    }
    return CC_OK;
}

void st_source_close(st_source *src)
{
    for (int i = 0; i < src->n_files; i++) close_file(src->files[i]);
    cc_free(src->files);
    memset(src, 0, sizeof *src);
}

bool st_source_find(const st_source *src, const char *name, st_tensor *out)
{
    for (int i = 0; i < src->n_files; i++) {
        struct json_object *e;
        if (strcmp(name, "__metadata__") != 0 &&
            json_object_object_get_ex(src->files[i]->header, name, &e))
            return parse_entry(src->files[i], name, e, out) == CC_OK;   /* validated at open */
    }
    return false;
}

/* IEEE binary16 -> binary32, exact (subnormals, infinities, NaN). */
float cc_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);      /* rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;
    } else {                                                  /* subnormal: normalise */
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* bfloat16 is the top half of a binary32. */
float cc_bf16_to_f32(uint16_t b)
{
    const uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void st_to_f32(const st_tensor *t, float *dst)
{
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, t->data, t->numel * 4);
        break;
    case ST_F16:
    case ST_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * i, 2);
            dst[i] = t->dtype == ST_F16 ? cc_f16_to_f32(h) : cc_bf16_to_f32(h);
        }
        break;
    }
}
