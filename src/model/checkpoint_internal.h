/* model (private) — helpers the checkpoint importers share. */
#ifndef CARACAL_MODEL_CHECKPOINT_INTERNAL_H
#define CARACAL_MODEL_CHECKPOINT_INTERNAL_H

#include "model.h"

/* Appends a zero-filled tensor [d0] (d1 == 0) or [d0][d1] named `name`
 * (printf format) and returns its data.  Errors: name too long, overflow,
 * out of memory. */
cc_status cc_weights_add(cc_model_weights *w, int layer, bool is_linear,
                         int64_t d0, int64_t d1, float **data, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Reads a whole file into a cc_alloc'd buffer. */
cc_status cc_read_file(const char *path, unsigned char **data, size_t *len);

#endif

/* ---- safetensors (safetensors.c) -------------------------------------------
 * A checkpoint as one or more mmap'd .safetensors files (shards). */
typedef enum st_dtype { ST_F32, ST_F16, ST_BF16 } st_dtype;

typedef struct st_tensor {
    st_dtype dtype;
    int ndim;
    int64_t shape[CC_TENSOR_MAX_DIMS];
    size_t numel;
    const unsigned char *data;   /* little-endian elements inside the mapping */
} st_tensor;

typedef struct st_file st_file;
typedef struct st_source {
    int n_files;
    st_file **files;
} st_source;

/* Opens `paths[0..n)`, validating every header entry (dtype known and
 * supported, shape, offsets inside the file, byte length = numel·size). */
cc_status st_source_open(st_source *src, const char *const *paths, int n);
void st_source_close(st_source *src);
/* Finds a tensor by its name in the file (not the canonical name); false
 * when no shard has it. */
bool st_source_find(const st_source *src, const char *name, st_tensor *out);
/* Converts numel elements to float32. */
void st_to_f32(const st_tensor *t, float *dst);

float cc_f16_to_f32(uint16_t h);
float cc_bf16_to_f32(uint16_t b);
