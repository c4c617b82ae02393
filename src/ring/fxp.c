/* Fixed-point encoding (docs/KERNELS.md): value = round(x·2^f) in two's
 * complement, rounding half away from zero (C round()).  Valid inputs satisfy
 * |x| < 2^(62-f), which keeps two bits of headroom below the sign bit for
 * the truncation protocols; anything else is an error, never a silent wrap. */
#include "ring.h"
#include "core.h"

#include <math.h>

#define FXP_MAX_F 62

static cc_status encode_one(double x, size_t i, unsigned f, uint64_t *out)
{
    double limit = ldexp(1.0, (int)(FXP_MAX_F - f));
    if (!isfinite(x))
        return cc_error_set(CC_ERR_RANGE, "fixed-point encode: non-finite value at index %zu", i);
    if (!(fabs(x) < limit))
        return cc_error_set(CC_ERR_RANGE,
                            "fixed-point encode: value %g at index %zu is out of range "
                            "(|x| must be < 2^%u with f=%u)", x, i, FXP_MAX_F - f, f);
    /* |x·2^f| < 2^62: exact scaling by a power of two, the rounded value fits. */
    *out = (uint64_t)(int64_t)round(ldexp(x, (int)f));
    return CC_OK;
}

cc_status cc_fxp_encode_f64(size_t n, const double *x, unsigned f, uint64_t *out)
{
    if (f > FXP_MAX_F)
        return cc_error_set(CC_ERR_ARG, "fixed-point encode: f=%u fractional bits (at most %d)",
                            f, FXP_MAX_F);
    for (size_t i = 0; i < n; i++) CC_TRY(encode_one(x[i], i, f, &out[i]));
    return CC_OK;
}

cc_status cc_fxp_encode_f32(size_t n, const float *x, unsigned f, uint64_t *out)
{
    if (f > FXP_MAX_F)
        return cc_error_set(CC_ERR_ARG, "fixed-point encode: f=%u fractional bits (at most %d)",
                            f, FXP_MAX_F);
    for (size_t i = 0; i < n; i++) CC_TRY(encode_one((double)x[i], i, f, &out[i]));
    return CC_OK;
}

void cc_fxp_decode_f64(size_t n, const uint64_t *v, unsigned f, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = ldexp((double)(int64_t)v[i], -(int)f);
}

void cc_fxp_decode_f32(size_t n, const uint64_t *v, unsigned f, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)ldexp((double)(int64_t)v[i], -(int)f);
}
