/* CPU feature detection: cpuid leaves 1 and 7, plus XCR0 so that a CPU whose
 * OS does not save ymm/zmm state is treated as lacking AVX2/AVX-512. */
#include "core.h"

#include <cpuid.h>
#include <pthread.h>

static cc_cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = c & bit_OSXSAVE;
    cpu.aesni = c & bit_AES;
    bool fma = c & bit_FMA;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    bool ymm_ok = (xcr0 & 0x6) == 0x6;
    bool zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0;
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    cpu.avx2 = ymm_ok && (b & bit_AVX2);
    cpu.fma = ymm_ok && fma;
    cpu.bmi2 = b & bit_BMI2;
    cpu.avx512f = zmm_ok && (b & bit_AVX512F);
    cpu.avx512dq = cpu.avx512f && (b & bit_AVX512DQ);
    cpu.avx512bw = cpu.avx512f && (b & bit_AVX512BW);
    cpu.avx512vl = cpu.avx512f && (b & bit_AVX512VL);
    cpu.avx512ifma = cpu.avx512f && (b & bit_AVX512IFMA);
    cpu.vaes = ymm_ok && (c & bit_VAES);
    cpu.vpclmulqdq = ymm_ok && (c & bit_VPCLMULQDQ);
}

const cc_cpu *cc_cpu_features(void)
{
    pthread_once(&cpu_once, detect);
    return &cpu;
}
