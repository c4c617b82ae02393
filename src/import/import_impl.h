/* import (private) — the format table and what the importers share. */
#ifndef CARACAL_IMPORT_IMPL_H
#define CARACAL_IMPORT_IMPL_H

#include <stdint.h>
#include "import.h"

/* ---- HF config.json (checkpoint_hf.c) ----------------------------------------
 * Parses the text of a config.json (`len` bytes, no terminator needed) into
 * *c: model_type and the geometry fields, each an integer in 1..2^30.  Not
 * yet cc_config_validate'd (open_hf does that). */
cc_status hf_parse_config(const char *text, size_t len, cc_model_config *c);

/* ---- HF shard list (checkpoint_hf.c) -----------------------------------------
 * The safetensors files of one checkpoint: dir/<name> for each name, once. */
typedef struct hf_paths {
    char dir[4096];
    char *files[1024];
    int n_files;
} hf_paths;

/* Parses the text of a model.safetensors.index.json (`len` bytes, no
 * terminator needed) and adds each distinct shard its "weight_map" names to
 * *p (p->dir set by the caller).  A name must be a plain file name in that
 * directory.  On failure *p may hold some files: hf_paths_free it. */
cc_status hf_parse_index(const char *text, size_t len, hf_paths *p);
void hf_paths_free(hf_paths *p);

/* ---- lazy checkpoints (checkpoint.c) -----------------------------------------
 * An importer builds a plan: one entry per canonical tensor saying where its
 * values come from; reading an entry converts just that tensor. */

typedef enum ckpt_xform {
    XF_AS_IS,           /* same layout */
    XF_TRANSPOSE,       /* source [d1][d0] (GPT-2 Conv1D) */
    XF_ROPE_UNPERMUTE,  /* HF LLaMA q/k rows back to interleaved pairs */
    XF_COLUMNS,         /* column block `part` of a source [d1][3·d0], transposed (GPT-2 c_attn) */
    XF_SLICE,           /* elements part·d0 .. (part+1)·d0 of a vector (GPT-2 c_attn bias) */
} ckpt_xform;

typedef struct ckpt_entry {
    cc_tensor_f32 meta;       /* .data stays NULL */
    uint64_t offset;          /* llama2.c: byte offset in the file */
    char src[192];            /* HF: tensor name as stored */
    ckpt_xform xform;
    int heads;                /* XF_ROPE_UNPERMUTE */
    int part;                 /* XF_COLUMNS / XF_SLICE */
} ckpt_entry;

/* One checkpoint file format.  probe() says whether `path` (already known to
 * exist, `is_dir` from stat) looks like this format; open() fills ck's
 * config, plan and format state, validating everything it can without
 * reading weights; read() converts one planned tensor; close() releases the
 * format state (also after a failed open). */
typedef struct ckpt_format {
    const char *name;
    bool (*probe)(const char *path, bool is_dir);
    cc_status (*open)(cc_checkpoint *ck, const char *path);
    cc_status (*read)(cc_checkpoint *ck, const ckpt_entry *e, float *out);
    void (*close)(cc_checkpoint *ck);
} ckpt_format;

/* The formats, in probing order (the last accepts any regular file). */
extern const ckpt_format ckpt_format_hf, ckpt_format_llama2c;

struct cc_checkpoint {
    const ckpt_format *format;
    cc_model_config config;
    ckpt_entry *e;
    size_t n, cap;
    char path[4096];          /* for messages */
    int fd;                   /* llama2.c file, -1 otherwise */
    void *hf;                 /* HF: the mapped safetensors (checkpoint_hf.c) */
    float *tmp;               /* conversion scratch, grown on demand */
    size_t tmp_cap;
};

/* Appends a plan entry [d0] (d1 == 0) or [d0][d1] named by `fmt`. */
cc_status ckpt_add(cc_checkpoint *ck, int layer, bool is_linear, int64_t d0, int64_t d1,
                   ckpt_entry **e, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
float *ckpt_scratch(cc_checkpoint *ck, size_t n);

/* ---- llama2.c (checkpoint_llama2c.c) -----------------------------------------
 * The plan of a llama2.c file from its 28-byte header (7 little-endian
 * int32) and its size: config validated, one entry per tensor with its byte
 * offset, sorted by layer; the size must be exactly what the header implies.
 * `path` names the file in messages.  ck->e may hold entries on failure. */
#define L2C_HEADER_BYTES 28u
cc_status l2c_plan(cc_checkpoint *ck, const uint8_t header[L2C_HEADER_BYTES], uint64_t file_size,
                   const char *path);

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
/* The header check of st_source_open on a buffer: `len` bytes of a whole
 * safetensors file (`what` names it in errors).  On success each(ctx, ...)
 * is called for every tensor (its data points into buf), if each is set. */
cc_status st_parse_buffer(const void *buf, size_t len, const char *what,
                          void (*each)(void *ctx, const char *name, const st_tensor *t), void *ctx);
/* Converts numel elements to float32. */
void st_to_f32(const st_tensor *t, float *dst);

float cc_f16_to_f32(uint16_t h);
float cc_bf16_to_f32(uint16_t b);

#endif
