/* import — reading trained models: llama2.c checkpoints and Hugging Face
 * safetensors (config.json, index, shards; f32/f16/bf16) into canonical
 * named float tensors, eagerly or one tensor at a time.  Each file format is
 * one entry of a format table (import_impl.h): probe, open, read, close. */
#ifndef CARACAL_IMPORT_H
#define CARACAL_IMPORT_H

#include "model.h"

/* llama2.c checkpoint (docs/MODELS.md): 7 int32 header, float32 tables. */
cc_status cc_checkpoint_load_llama2c(const char *path, cc_model_weights *out);
/* Hugging Face: `path` is a model directory holding config.json and
 * model.safetensors (or model.safetensors.index.json + shards), or a
 * .safetensors file with config.json next to it.  f32 / f16 / bf16. */
cc_status cc_checkpoint_load_hf(const char *path, cc_model_weights *out);
/* Picks the importer: directory or *.safetensors -> HF, else llama2.c. */
cc_status cc_checkpoint_load(const char *path, cc_model_weights *out);

/* Lazy access to the same checkpoints, one tensor at a time, for
 * converting models larger than memory (LLaMA-7B as float32 is 27 GB).
 * Open validates the whole file (header, every tensor's presence, shape,
 * dtype and bounds) and reads no weights; describe() gives the canonical
 * tensor list of cc_checkpoint_load (same names, order, shapes, flags;
 * .data is NULL); read() converts one tensor into out[numel] (one thread
 * per checkpoint: reads share a conversion buffer). */
typedef struct cc_checkpoint cc_checkpoint;
cc_status cc_checkpoint_open(const char *path, cc_checkpoint **out);
const cc_model_config *cc_checkpoint_config(const cc_checkpoint *ck);
size_t cc_checkpoint_count(const cc_checkpoint *ck);
const cc_tensor_f32 *cc_checkpoint_describe(const cc_checkpoint *ck, size_t i);
cc_status cc_checkpoint_read(cc_checkpoint *ck, size_t i, float *out);
void cc_checkpoint_close(cc_checkpoint *ck);
/* The checkpoint as a tensor source (for the bundle converter); the source
 * reads through `ck`, which must stay open. */
cc_status cc_checkpoint_source(cc_checkpoint *ck, cc_tensor_source *out);

#endif
