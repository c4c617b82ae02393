/* The MSB tree level (msb_level.inc) with BMI2 PEXT gathering; compiled with
 * -mbmi2 and called only when cpuid reports BMI2 (boolean.c holds the
 * portable instance; the tests run both via CARACAL_ISA=ref). */
#include <immintrin.h>
#include "proto_impl.h"

#define MSB_LEVEL_NAME pr_msb_level_bmi2
#define EVEN(x) _pext_u64((x), UINT64_C(0x5555555555555555))
#define ODD(x) _pext_u64((x), UINT64_C(0xAAAAAAAAAAAAAAAA))
#define MSB_LEVEL_BODY msb_body_bmi2
#define MSB_UNZIP_NAME pr_msb_unzip_bmi2
#define EQ_UNZIP_NAME pr_eq_unzip_bmi2
#include "msb_level.inc"
