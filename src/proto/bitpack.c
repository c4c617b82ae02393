/* Fields of w bits, packed back to back (proto_impl.h: pr_pack_bits).
 *
 * Eight w-bit fields fill exactly w bytes, so the stream is cut into
 * groups of eight elements that start on byte boundaries: groups are
 * independent (threads never share a byte) and each is packed with one
 * running accumulator.  A field wider than 32 bits goes in as two halves,
 * so the accumulator (fewer than 8 bits pending before each half) never
 * holds more than 39 bits. */
#include <string.h>
#include "proto_impl.h"

size_t pr_bits_bytes(size_t n, unsigned w) { return (n * w + 7) / 8; }

static inline void put(uint64_t *acc, unsigned *nb, unsigned char **o, uint64_t x, unsigned k)
{
    *acc |= x << *nb;
    *nb += k;
    while (*nb >= 8) {
        *(*o)++ = (unsigned char)*acc;
        *acc >>= 8;
        *nb -= 8;
    }
}

static inline uint64_t take(uint64_t *acc, unsigned *nb, const unsigned char **p, unsigned k)
{
    while (*nb < k) {
        *acc |= (uint64_t)*(*p)++ << *nb;
        *nb += 8;
    }
    uint64_t x = *acc & ((UINT64_C(1) << k) - 1);
    *acc >>= k;
    *nb -= k;
    return x;
}

void pr_pack_bits(size_t n, unsigned w, const uint64_t *v, unsigned char *out)
{
    if (w >= 64) {
        memcpy(out, v, 8 * n);
        return;
    }
    const uint64_t mask = (UINT64_C(1) << w) - 1;
    const size_t groups = (n + 7) / 8;
    PR_OMP_FOR(groups)
    for (size_t g = 0; g < groups; g++) {
        unsigned char *o = out + g * w;
        const size_t end = g * 8 + 8 < n ? g * 8 + 8 : n;
        uint64_t acc = 0;
        unsigned nb = 0;
        for (size_t j = g * 8; j < end; j++) {
            uint64_t x = v[j] & mask;
            if (w > 32) {
                put(&acc, &nb, &o, x & 0xffffffffu, 32);
                put(&acc, &nb, &o, x >> 32, w - 32);
            } else {
                put(&acc, &nb, &o, x, w);
            }
        }
        if (nb) *o = (unsigned char)acc;
    }
}

void pr_unpack_bits(size_t n, unsigned w, const unsigned char *in, uint64_t *v)
{
    if (w >= 64) {
        memcpy(v, in, 8 * n);
        return;
    }
    const size_t groups = (n + 7) / 8;
    PR_OMP_FOR(groups)
    for (size_t g = 0; g < groups; g++) {
        const unsigned char *p = in + g * w;
        const size_t end = g * 8 + 8 < n ? g * 8 + 8 : n;
        uint64_t acc = 0;
        unsigned nb = 0;
        for (size_t j = g * 8; j < end; j++) {
            if (w > 32) {
                uint64_t lo = take(&acc, &nb, &p, 32);
                v[j] = lo | take(&acc, &nb, &p, w - 32) << 32;
            } else {
                v[j] = take(&acc, &nb, &p, w);
            }
        }
    }
}
