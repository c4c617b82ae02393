/* Private helpers shared by the ring module's files (not part of ring.h). */
#ifndef CARACAL_RING_IMPL_H
#define CARACAL_RING_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* One packed-B panel: rows [0, k) × columns [0, cols) (cols <= NR) of a
 * matrix with element (p, j) at src[p*rs + j*cs], written as k rows of NR
 * words (zero-padded past cols). */
void cc_ring_pack_panel(size_t k, size_t cols, const uint64_t *src, size_t rs, size_t cs,
                        uint64_t *dst);

#endif
