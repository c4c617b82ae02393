/* Packed AND messages of the comparison trees: element j of a message with
 * wb bytes per element (1, 2, 4 or 8, little-endian). */
#ifndef CARACAL_PROTO_MSB_WIRE_H
#define CARACAL_PROTO_MSB_WIRE_H
#include <stddef.h>
#include <stdint.h>

static inline uint64_t msb_ld(const void *p, size_t wb, size_t j)
{
    switch (wb) {
    case 8: return ((const uint64_t *)p)[j];
    case 4: return ((const uint32_t *)p)[j];
    case 2: return ((const uint16_t *)p)[j];
    default: return ((const uint8_t *)p)[j];
    }
}

static inline void msb_st(void *p, size_t wb, size_t j, uint64_t v)
{
    switch (wb) {
    case 8: ((uint64_t *)p)[j] = v; break;
    case 4: ((uint32_t *)p)[j] = (uint32_t)v; break;
    case 2: ((uint16_t *)p)[j] = (uint16_t)v; break;
    default: ((uint8_t *)p)[j] = (uint8_t)v; break;
    }
}
#endif
