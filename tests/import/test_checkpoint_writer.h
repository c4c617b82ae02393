/* Test helper: writes Hugging Face safetensors files and config.json. */
#ifndef CARACAL_TEST_CHECKPOINT_WRITER_H
#define CARACAL_TEST_CHECKPOINT_WRITER_H

#include <stdint.h>
#include <stddef.h>

typedef struct tw_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    const float *data;       /* float32 values, encoded to the file's dtype */
} tw_tensor;

/* dtype "F32", "F16" or "BF16" (rounded to nearest even); any other string
 * is written as-is with 4-byte elements (for bad-input tests).  Returns 0. */
int tw_write_safetensors(const char *path, const char *dtype, const tw_tensor *t, size_t n);
void tw_write_text(const char *path, const char *text);
uint16_t tw_f32_to_f16(float f);
uint16_t tw_f32_to_bf16(float f);
/* Deterministic weights with 8 significant bits, exact in f16 and bf16:
 * k / 2^shift for k uniform in [-255, 255]. */
void tw_fill(float *p, size_t n, uint64_t *state, int shift);
/* Rounds every value to bfloat16 precision (then exact in all three dtypes). */
void tw_round_bf16(float *p, size_t n);
/* Makes a fresh temporary directory; returns its path (static buffer). */
const char *tw_tmpdir(void);
void tw_rmdir(const char *dir);

#endif
