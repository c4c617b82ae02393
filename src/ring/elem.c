/* Elementwise ring ops: the dispatched kernel, split across the worker team
 * for large tensors (these are memory-bound; two cores double the
 * bandwidth one core can pull).  Chunks start on 8-element (cache line)
 * boundaries so threads never share a line of output. */
#include "ring.h"
#include "core.h"
#include "kern.h"
#include "thread.h"

#include <omp.h>

/* Below this many elements per thread, fork/join costs more than it saves. */
#define ELEM_MIN_PER_THREAD ((size_t)1 << 15)
#define ELEM_GRAIN 8

static int elem_threads(size_t n)
{
    int t = cc_thread_count();
    size_t useful = n / ELEM_MIN_PER_THREAD;
    if ((size_t)t > useful) t = useful ? (int)useful : 1;
    return t;
}

#define SPLIT(n, body)                                                              \
    do {                                                                            \
        int threads_ = elem_threads(n);                                             \
        if (threads_ <= 1) {                                                        \
            size_t b_ = 0, len_ = (n);                                              \
            body;                                                                   \
        } else {                                                                    \
            _Pragma("omp parallel num_threads(threads_)")                           \
            {                                                                       \
                size_t b_, e_;                                                      \
                cc_thread_partition((n), ELEM_GRAIN, omp_get_num_threads(),         \
                                    omp_get_thread_num(), &b_, &e_);                \
                size_t len_ = e_ - b_;                                              \
                if (len_) body;                                                     \
            }                                                                       \
        }                                                                           \
    } while (0)

#define BINARY(fn, op)                                                              \
    void fn(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)          \
    {                                                                               \
        const cc_kern *k = cc_kern_active();                                        \
        SPLIT(n, k->op(len_, a + b_, b + b_, out + b_));                            \
    }
BINARY(cc_ring_add, add)
BINARY(cc_ring_sub, sub)
BINARY(cc_ring_mul, mul)
BINARY(cc_ring_xor, xor_)
BINARY(cc_ring_and, and_)

#define UNARY(fn, op)                                                               \
    void fn(size_t n, const uint64_t *a, uint64_t *out)                             \
    {                                                                               \
        const cc_kern *k = cc_kern_active();                                        \
        SPLIT(n, k->op(len_, a + b_, out + b_));                                    \
    }
UNARY(cc_ring_neg, neg)
UNARY(cc_ring_not, not_)

#define WITH_PARAM(fn, op, ptype)                                                   \
    void fn(size_t n, const uint64_t *a, ptype s, uint64_t *out)                    \
    {                                                                               \
        const cc_kern *k = cc_kern_active();                                        \
        SPLIT(n, k->op(len_, a + b_, s, out + b_));                                 \
    }
WITH_PARAM(cc_ring_mul_scalar, mul_scalar, uint64_t)
WITH_PARAM(cc_ring_add_scalar, add_scalar, uint64_t)

/* Shifts by >= 64 are undefined in C and differ between SIMD and scalar
 * instructions; they are a caller bug. */
#define SHIFT(fn, op)                                                               \
    void fn(size_t n, const uint64_t *a, unsigned bits, uint64_t *out)              \
    {                                                                               \
        CC_ASSERT(bits < 64);                                                       \
        const cc_kern *k = cc_kern_active();                                        \
        SPLIT(n, k->op(len_, a + b_, bits, out + b_));                              \
    }
SHIFT(cc_ring_shr_arith, shr_arith)
SHIFT(cc_ring_shr_logic, shr_logic)
SHIFT(cc_ring_shl, shl)

void cc_ring_row_sum(size_t rows, size_t cols, const uint64_t *a, size_t lda, uint64_t *out)
{
    if (rows && cols) CC_ASSERT(lda >= cols);
    const cc_kern *k = cc_kern_active();
    int threads = elem_threads(rows * cols);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < rows; r++) out[r] = k->sum(cols, a + r * lda);
}

void cc_ring_row_broadcast_mul(size_t rows, size_t cols, const uint64_t *a, size_t lda,
                               const uint64_t *v, uint64_t *out, size_t ldo)
{
    if (rows && cols) CC_ASSERT(lda >= cols && ldo >= cols);
    const cc_kern *k = cc_kern_active();
    int threads = elem_threads(rows * cols);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < rows; r++) k->mul_scalar(cols, a + r * lda, v[r], out + r * ldo);
}

void cc_ring_row_broadcast_add(size_t rows, size_t cols, const uint64_t *a, size_t lda,
                               const uint64_t *v, uint64_t *out, size_t ldo)
{
    if (rows && cols) CC_ASSERT(lda >= cols && ldo >= cols);
    const cc_kern *k = cc_kern_active();
    int threads = elem_threads(rows * cols);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < rows; r++) k->add_scalar(cols, a + r * lda, v[r], out + r * ldo);
}
