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
