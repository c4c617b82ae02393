/* kern (private) — what the per-ISA tables share. */
#ifndef CARACAL_KERN_IMPL_H
#define CARACAL_KERN_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One float to fixed point, exactly as cc_fxp_encode_f32: round(x·2^f),
 * ties away from zero, two's complement; false for inf, nan and |x| ≥
 * 2^(62-f).  In integer arithmetic on the float's bits: x = m·2^e exactly,
 * so x·2^f is m shifted by e + f, and rounding a right shift is adding half
 * its unit.  The reference of fxp_from_f32 and the SIMD versions' tail. */
static inline bool kern_fxp_one(float x, unsigned f, uint64_t *out)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t ex = (u >> 23) & 0xffu;
    if (ex == 0xffu) return false;                                /* inf, nan */
    const uint64_t m = ex ? (u & 0x7fffffu) | 0x800000u : (u & 0x7fffffu);
    const int sh = (ex ? (int)ex - 150 : -149) + (int)f;          /* x·2^f = m·2^sh */
    uint64_t mag;
    if (sh >= 0) {
        if (sh > 38) return false;           /* m >= 2^23 (normal): m·2^39 >= 2^62 */
        mag = m << sh;                        /* < 2^24 · 2^38 = 2^62 */
    } else {
        const int s = -sh;
        mag = s > 40 ? 0 : (m + ((uint64_t)1 << (s - 1))) >> s;
    }
    *out = (u >> 31) ? (uint64_t)0 - mag : mag;
    return true;
}

/* fxp_from_f32 over [i, n) one value at a time: n, or the first index that
 * does not fit. */
static inline size_t kern_fxp_tail(size_t i, size_t n, const float *x, unsigned f, uint64_t *out)
{
    for (; i < n; i++)
        if (!kern_fxp_one(x[i], f, &out[i])) return i;
    return n;
}

#endif
