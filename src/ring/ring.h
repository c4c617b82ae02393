/* ring — plaintext tensors over Z_2^64 and the blocked, packed, threaded u64
 * GEMM.  All arithmetic wraps mod 2^64; the signed view is two's complement.
 *
 * This header is the contract the protocol layer (src/proto) and the model
 * loader (src/model, pre-packed weights on disk) build on.  The kernels behind
 * it are chosen once at start-up (src/kern dispatch: avx512 | avx2 | ref,
 * override with CARACAL_ISA) and must agree bit-exactly. */
#ifndef CARACAL_RING_H
#define CARACAL_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "caracal/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cc_trans { CC_NOTRANS = 0, CC_TRANS = 1 } cc_trans;

/* ---- GEMM -------------------------------------------------------------------
 * C = op(A)·op(B) (or C += when accumulate) mod 2^64, row-major with leading
 * dimensions (strides in elements).  op(A) is M×K, op(B) is K×N.  Any of
 * M, N, K may be 0.  Threads: the count set with cc_thread_* (src/thread). */
void cc_ring_gemm(cc_trans ta, cc_trans tb, size_t M, size_t N, size_t K,
                  const uint64_t *A, size_t lda, const uint64_t *B, size_t ldb,
                  uint64_t *C, size_t ldc, bool accumulate);

/* Pre-packed right operand.  The packed layout is a stable on-disk contract
 * (docs/KERNELS.md): weights are stored in it by caracal-share and used in
 * place from an mmap.  cc_ring_packed_size() gives the exact byte size
 * (ceil(N/8)·8·K·8; SIZE_MAX if that overflows).  cc_ring_gemm_packed needs
 * the same K and N the panels were packed with. */
size_t cc_ring_packed_size(size_t K, size_t N);
void cc_ring_pack_b(cc_trans tb, size_t K, size_t N, const uint64_t *B, size_t ldb,
                    uint64_t *packed);
/* Inverse of cc_ring_pack_b (tests, reconstruction tools). */
void cc_ring_unpack_b(size_t K, size_t N, const uint64_t *packed, uint64_t *B, size_t ldb);
void cc_ring_gemm_packed(cc_trans ta, size_t M, size_t N, size_t K,
                         const uint64_t *A, size_t lda, const uint64_t *Bpacked,
                         uint64_t *C, size_t ldc, bool accumulate);

/* ---- left operand packed once ---------------------------------------------
 * A decoder step multiplies the same few activation rows by many weight
 * blocks.  cc_ring_apack_make packs op(A) (M×K) once, in the active kernel
 * table's format (so it must be used under the same table), and the
 * products below reuse it for any number of right operands or column blocks.
 * Rows are not padded to the micro-kernel's tile: M < mr rows (M = 1: GEMV)
 * run on the small-M kernels (docs/KERNELS.md).  Any M works; the loop nest
 * (depth slice outside, groups of 4 B panels inside) is meant for small M.
 *
 * `ap` must be zero-initialised before its first use; make reuses its buffer
 * when large enough (CC_ERR_NOMEM otherwise).  Results are bit-identical to
 * cc_ring_gemm_packed and independent of the thread count. */
typedef struct cc_ring_apack {
    size_t M, K;
    const void *kern;       /* the cc_kern table it was packed for */
    uint64_t *data;         /* mr-row panels over the full depth */
    size_t cap;             /* words allocated */
} cc_ring_apack;

cc_status cc_ring_apack_make(cc_ring_apack *ap, cc_trans ta, size_t M, size_t K,
                             const uint64_t *A, size_t lda);
void cc_ring_apack_free(cc_ring_apack *ap);
/* C (+)= op(A)·B, B pre-packed K×N (cc_ring_pack_b layout, K = ap->K). */
void cc_ring_gemm_apacked(const cc_ring_apack *ap, size_t N, const uint64_t *Bpacked,
                          uint64_t *C, size_t ldc, bool accumulate);
/* The same with B generated while it is consumed: fill(ctx, first, n, out)
 * must write words [first, first + n) of the packed K×N operand (the layout
 * of cc_ring_pack_b) to out.  It is called from the GEMM's threads on
 * disjoint ranges (each one a contiguous depth slice of one panel, a few
 * thousand words, into a per-thread cache-resident buffer), so it must be
 * thread-safe and single-threaded itself; words are addressed by position
 * only, so results do not depend on the thread count.  For seed-expanded
 * weights (AES-CTR, src/prg) this never writes the plane to memory. */
typedef void (*cc_ring_bfill)(void *ctx, uint64_t first, size_t n, uint64_t *out);
void cc_ring_gemm_apacked_gen(const cc_ring_apack *ap, size_t N, cc_ring_bfill fill, void *ctx,
                              uint64_t *C, size_t ldc, bool accumulate);
/* Whether M rows take the small-M route under the active kernels (M below
 * the micro-tile height: 1..3 for avx2/ref, 1..7 for avx512).
 * cc_ring_gemm_packed uses it; callers holding a cc_ring_apack may too. */
bool cc_ring_small_m(size_t M);
/* cc_ring_gemm_packed without its small-M route (always the blocked loop
 * nest with mr-row tiles): benchmarks and tests compare the two. */
void cc_ring_gemm_packed_blocked(cc_trans ta, size_t M, size_t N, size_t K, const uint64_t *A,
                                 size_t lda, const uint64_t *Bpacked, uint64_t *C, size_t ldc,
                                 bool accumulate);

/* The same product through OpenBLAS DGEMM on 22/21/21-bit signed limbs (six
 * exact DGEMMs per depth block of 2048; src/ring/gemm_dgemm.c).  Bit-exact
 * with cc_ring_gemm; slower on every shape measured (docs/BENCHMARKS.md), kept
 * for comparison.  Threads: OpenBLAS's own setting.  CC_ERR_NOMEM or
 * CC_ERR_RANGE (dimension beyond BLAS int) on failure. */
cc_status cc_ring_gemm_dgemm(cc_trans ta, cc_trans tb, size_t M, size_t N, size_t K,
                             const uint64_t *A, size_t lda, const uint64_t *B, size_t ldb,
                             uint64_t *C, size_t ldc, bool accumulate);

/* ---- elementwise (n elements, out may alias inputs) ---------------------- */
void cc_ring_add(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
void cc_ring_sub(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
void cc_ring_neg(size_t n, const uint64_t *a, uint64_t *out);
void cc_ring_mul(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
void cc_ring_mul_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out);
void cc_ring_add_scalar(size_t n, const uint64_t *a, uint64_t s, uint64_t *out);
void cc_ring_shr_arith(size_t n, const uint64_t *a, unsigned bits, uint64_t *out);
void cc_ring_shr_logic(size_t n, const uint64_t *a, unsigned bits, uint64_t *out);
void cc_ring_shl(size_t n, const uint64_t *a, unsigned bits, uint64_t *out);
void cc_ring_xor(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
void cc_ring_and(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
void cc_ring_not(size_t n, const uint64_t *a, uint64_t *out);
/* out[r] = Σ_c a[r*lda + c] for c < cols */
void cc_ring_row_sum(size_t rows, size_t cols, const uint64_t *a, size_t lda, uint64_t *out);
/* out[r*ldo + c] = a[r*lda + c] (op) v[r]  — per-row broadcast */
void cc_ring_row_broadcast_mul(size_t rows, size_t cols, const uint64_t *a, size_t lda,
                               const uint64_t *v, uint64_t *out, size_t ldo);
void cc_ring_row_broadcast_add(size_t rows, size_t cols, const uint64_t *a, size_t lda,
                               const uint64_t *v, uint64_t *out, size_t ldo);

/* ---- fixed point (docs/KERNELS.md) -------------------------------------------
 * value = round(x · 2^f), valid while |x| < 2^(62-f); out-of-range or
 * non-finite input is CC_ERR_RANGE naming the first offending index. */
cc_status cc_fxp_encode_f32(size_t n, const float *x, unsigned f, uint64_t *out);
cc_status cc_fxp_encode_f64(size_t n, const double *x, unsigned f, uint64_t *out);
void cc_fxp_decode_f32(size_t n, const uint64_t *v, unsigned f, float *out);
void cc_fxp_decode_f64(size_t n, const uint64_t *v, unsigned f, double *out);
static inline int64_t cc_ring_signed(uint64_t v) { return (int64_t)v; }

/* Name of the kernel set in use ("avx512", "avx2", "ref"). */
const char *cc_ring_isa(void);

#ifdef __cplusplus
}
#endif
#endif
