/* kern — leaf kernels over Z_2^64 behind one dispatch table.
 *
 * Three implementations (portable C "ref", "avx2", "avx512") fill the same
 * table; one is chosen once at start-up from cc_cpu_features(), overridable
 * with the environment variable CARACAL_ISA=ref|avx2|avx512 (forcing an ISA
 * the CPU lacks is an error, reported by cc_kern_init()).  All variants must
 * agree bit-exactly with "ref"; tests switch variants in-process with
 * cc_kern_select().
 *
 * GEMM micro-kernel contract (docs/KERNELS.md has the full text):
 *   C[0..mr)[0..NR) (+)= Ap · Bp  mod 2^64, for k >= 0 (k == 0 writes zeros
 *   or leaves C when accumulating) where
 *   - Bp holds k rows of NR = CC_KERN_NR words, row p at Bp + p*ldb: ldb = NR
 *     for a packed-B panel segment (the on-disk layout, same for every ISA),
 *     or the row stride of an unpacked row-major B read in place;
 *   - Ap is one packed-A panel in the ISA's own format made by its pack_a
 *     (a_words u64 words per element, element (i, p) at
 *     Ap[(p*mr + i)*a_words .. +a_words)); A is packed per call, never stored;
 *   - C is a full mr×NR tile with row stride ldc; the caller handles edge
 *     tiles (it passes a scratch tile and copies the valid part).
 *   No alignment is required of any pointer.
 *
 * Small-M kernel contract (decode steps, GEMV; docs/KERNELS.md):
 *   C[0..m)[0..np·NR) (+)= Ap · (np panels of Bp)  mod 2^64, 1 <= m <= mr,
 *   np >= 0, k >= 0, where
 *   - Ap is an m-row packed-A panel made by pack_a_rows(m, ...): element
 *     (i, p) at Ap[(p*m + i)*a_words] (no padding rows; for m == mr this is
 *     exactly pack_a's format);
 *   - panel q's row p is at Bp + q*pstride + p*ldb (NR words);
 *   - C row i, panel q, column j is C[i*ldc + q*NR + j]; exactly m rows and
 *     np·NR columns are read (when accumulating) and written. */
#ifndef CARACAL_KERN_H
#define CARACAL_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Width of a packed-B panel: fixed for all ISAs, part of the on-disk layout. */
#define CC_KERN_NR 8
/* Largest mr of any kernel (scratch tiles are sized with it). */
#define CC_KERN_MR_MAX 8

typedef void (*cc_kern_binop)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
typedef void (*cc_kern_unop)(size_t n, const uint64_t *a, uint64_t *out);
typedef void (*cc_kern_scalarop)(size_t n, const uint64_t *a, uint64_t s, uint64_t *out);
typedef void (*cc_kern_shiftop)(size_t n, const uint64_t *a, unsigned bits, uint64_t *out);

typedef struct cc_kern {
    const char *name;            /* "ref", "avx2", "avx512" */

    /* ---- GEMM ---- */
    unsigned mr;                 /* rows of a micro-tile (<= CC_KERN_MR_MAX) */
    unsigned a_words;            /* u64 words per packed-A element */
    size_t mc, kc, nc;           /* cache blocking: rows of A, depth, columns of B
                                    (mc multiple of mr, nc multiple of NR) */
    /* Pack rows [0, m) (m <= mr, zero-padded to mr) and depth [0, k) of
     * op(A), where op(A)[i][p] = A[i*rs + p*cs], into one packed-A panel. */
    void (*pack_a)(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                   uint64_t *Ap);
    void (*gemm_ukr)(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                     uint64_t *C, size_t ldc, bool accumulate);
    /* ---- small M (1 <= m <= mr rows, no padding; contract above) ---- */
    void (*pack_a_rows)(size_t m, size_t k, const uint64_t *A, size_t rs, size_t cs,
                        uint64_t *Ap);
    void (*gemm_small)(size_t m, size_t np, size_t k, const uint64_t *Ap, const uint64_t *Bp,
                       size_t ldb, size_t pstride, uint64_t *C, size_t ldc, bool accumulate);

    /* ---- elementwise (out may alias inputs; bits < 64) ---- */
    cc_kern_binop add, sub, mul, xor_, and_;
    cc_kern_unop neg, not_;
    cc_kern_scalarop mul_scalar, add_scalar;
    cc_kern_shiftop shr_arith, shr_logic, shl;
    uint64_t (*sum)(size_t n, const uint64_t *a);

    /* ---- float -> fixed point (the bundle converter) ----
     * out[i] = round(x[i]·2^f), ties away from zero, two's complement
     * (exactly cc_fxp_encode_f32), 1 <= f <= 40.  Returns n when every value
     * fits (finite, |x|·2^f < 2^62), else the index of the first that does
     * not; out is then unspecified. */
    size_t (*fxp_from_f32)(size_t n, const float *x, unsigned f, uint64_t *out);
} cc_kern;

/* Initialise the dispatch once (idempotent, thread-safe).  Honours
 * CARACAL_ISA; CC_ERR_UNSUPPORTED if it names an ISA this CPU lacks,
 * CC_ERR_ARG if it names no ISA at all. */
cc_status cc_kern_init(void);
/* The active table.  If cc_kern_init() failed (bad CARACAL_ISA), this
 * reports the error on stderr and aborts: running on a kernel the user did
 * not ask for would silently invalidate their measurement. */
const cc_kern *cc_kern_active(void);
/* The table of a named ISA if this CPU supports it, else NULL (error set). */
const cc_kern *cc_kern_lookup(const char *name);
/* Make the named ISA the active one (tests, benchmarks).  Not thread-safe
 * with respect to concurrent kernel calls. */
cc_status cc_kern_select(const char *name);
/* Make an arbitrary table the active one.  Tests only (e.g. the SIMDe
 * emulation build of the avx512 kernels); the table must outlive its use. */
void cc_kern_install(const cc_kern *k);
/* Names of all ISAs compiled in, best first; NULL-terminated. */
const char *const *cc_kern_all_names(void);

/* Per-ISA tables (only call the ones cc_kern_lookup() returns). */
extern const cc_kern cc_kern_ref;
extern const cc_kern cc_kern_avx2;
extern const cc_kern cc_kern_avx512;

/* Alternative micro-kernels kept for tests and benchmarks (same contract as
 * the table's gemm_ukr of the ISA named in the prefix). */
void cc_gemm_avx2_ukr_4x8_c(size_t k, const uint64_t *Ap, const uint64_t *Bp, size_t ldb,
                            uint64_t *C, size_t ldc, bool accumulate);

#ifdef __cplusplus
}
#endif
#endif
