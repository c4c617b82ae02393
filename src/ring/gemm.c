/* Blocked, packed, threaded GEMM over Z_2^64 (BLIS-style loop nest).
 *
 *   for jc in N step nc            (B block columns, per thread range)
 *     for pc in K step kc          (depth block: B block kc×nc fits L3/L2)
 *       pack/locate B panels
 *       for ic in M step mc        (A block mc×kc packed into L2)
 *         for jr over NR panels    (B micro-panel kc×NR stays in L1)
 *           for ir over mr panels  -> micro-kernel
 *
 * B panels are packed here from op(B), or come pre-packed (the on-disk
 * layout of pack.c, full-K panels: a depth block is a contiguous slice of
 * each panel), or — for row-major B and few rows of A — are read in place
 * (the micro-kernel takes a B row stride).  Threads split C by columns (whole NR panels), or by
 * rows when there are too few panels; each C element is written by exactly
 * one thread, so results never depend on the thread count. */
#include "ring.h"
#include "ring_impl.h"
#include "core.h"
#include "kern.h"
#include "thread.h"

#include <omp.h>
#include <pthread.h>
#include <string.h>

#define NR CC_KERN_NR

typedef struct gemm_job {
    const cc_kern *kern;
    size_t M, N, K;
    const uint64_t *A; size_t a_rs, a_cs;   /* op(A)[i][p] = A[i*a_rs + p*a_cs] */
    const uint64_t *B; size_t b_rs, b_cs;   /* op(B)[p][j] = B[p*b_rs + j*b_cs] */
    const uint64_t *Bpacked;                /* or full-K packed panels */
    bool direct_b;                          /* read row-major B in place */
    uint64_t *C; size_t ldc;
    bool accumulate;
} gemm_job;

#ifndef GEMM_DIRECT_KC
#define GEMM_DIRECT_KC 64
#endif

/* Per-thread packing buffers, kept between calls so a GEMM does not pay for
 * page faults on fresh buffers every time.  Held through a pthread key whose
 * destructor frees them when a thread exits (libgomp retires workers when a
 * team shrinks), so nothing leaks. */
typedef struct pack_buffers {
    uint64_t *a, *b;
    size_t acap, bcap;     /* words */
} pack_buffers;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void buffers_free(void *p)
{
    pack_buffers *pb = p;
    cc_free(pb->a);
    cc_free(pb->b);
    cc_free(pb);
}

static void buffers_key_create(void)
{
    if (pthread_key_create(&buffers_key, buffers_free) != 0)
        cc_panic(__FILE__, __LINE__, "pthread_key_create failed for GEMM buffers");
}

/* Out of memory in a void API: there is no way to report it to the caller,
 * and continuing would compute garbage, so it is fatal. */
static void *must_alloc(size_t bytes)
{
    void *p = cc_alloc(bytes);
    if (!p) cc_panic(__FILE__, __LINE__, "out of memory for GEMM packing buffers");
    return p;
}

static pack_buffers *thread_buffers(void)
{
    pthread_once(&buffers_once, buffers_key_create);
    pack_buffers *pb = pthread_getspecific(buffers_key);
    if (!pb) {
        pb = must_alloc(sizeof *pb);
        *pb = (pack_buffers){ 0 };
        if (pthread_setspecific(buffers_key, pb) != 0)
            cc_panic(__FILE__, __LINE__, "pthread_setspecific failed for GEMM buffers");
    }
    return pb;
}

static uint64_t *scratch(uint64_t **buf, size_t *cap, size_t words)
{
    if (*cap >= words) return *buf;
    cc_free(*buf);
    *buf = must_alloc(words * sizeof(uint64_t));
    *cap = words;
    return *buf;
}

/* Pack panels of op(B) rows [pc, pc+kb), columns [jc, jc+nb) into `out`
 * (panel j at out + j*kb*NR), zero-padding the last panel. */
static void pack_b_block(const gemm_job *g, size_t pc, size_t kb, size_t jc, size_t nb,
                         uint64_t *out)
{
    for (size_t j0 = 0; j0 < nb; j0 += NR) {
        size_t cols = CC_MIN(NR, nb - j0);
        uint64_t *dst = out + (j0 / NR) * kb * NR;
        const uint64_t *src = g->B + pc * g->b_rs + (jc + j0) * g->b_cs;
        cc_ring_pack_panel(kb, cols, src, g->b_rs, g->b_cs, dst);
    }
}

static void store_edge(const uint64_t *tile, size_t rows, size_t cols, uint64_t *C,
                       size_t ldc, bool accumulate)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

/* C rows [m0, m1), columns [n0, n1) (n0 a multiple of NR), one thread. */
static void gemm_region(const gemm_job *g, size_t m0, size_t m1, size_t n0, size_t n1)
{
    const cc_kern *kern = g->kern;
    const size_t mr = kern->mr, aw = kern->a_words;
    const size_t mc = kern->mc, nc = kern->nc;
    /* In-place B: a depth block touches one cache line in each of kc rows
     * (pages) per panel; a short block keeps those pages in the L1 TLB and
     * the row streams few enough for the prefetchers. */
    const size_t kc = g->direct_b ? CC_MIN(kern->kc, (size_t)GEMM_DIRECT_KC) : kern->kc;
    uint64_t tile[CC_KERN_MR_MAX * NR];
    pack_buffers *pb = thread_buffers();
    uint64_t *abuf = scratch(&pb->a, &pb->acap, mc * kc * aw);
    uint64_t *bbuf = g->Bpacked ? NULL
                                : scratch(&pb->b, &pb->bcap, g->direct_b ? kc * NR : kc * nc);

    for (size_t jc = n0; jc < n1; jc += nc) {
        size_t nb = CC_MIN(nc, n1 - jc);
        for (size_t pc = 0; pc < g->K; pc += kc) {
            size_t kb = CC_MIN(kc, g->K - pc);
            bool acc = g->accumulate || pc > 0;
            const uint64_t *bblock = NULL;
            size_t panel_stride = 0;                   /* words between panels */
            if (g->Bpacked) {
                bblock = g->Bpacked + ((jc / NR) * g->K + pc) * NR;
                panel_stride = g->K * NR;
            } else if (!g->direct_b) {
                pack_b_block(g, pc, kb, jc, nb, bbuf);
                bblock = bbuf;
                panel_stride = kb * NR;
            }
            for (size_t ic = m0; ic < m1; ic += mc) {
                size_t mb = CC_MIN(mc, m1 - ic);
                for (size_t r = 0; r < mb; r += mr)
                    kern->pack_a(CC_MIN(mr, mb - r), kb,
                                 g->A + (ic + r) * g->a_rs + pc * g->a_cs, g->a_rs, g->a_cs,
                                 abuf + r * kb * aw);
                for (size_t j = 0; j < nb; j += NR) {
                    size_t cols = CC_MIN(NR, nb - j);
                    const uint64_t *bp;
                    size_t ldb = NR;
                    if (!g->direct_b) {
                        bp = bblock + (j / NR) * panel_stride;
                    } else if (cols == NR) {
                        bp = g->B + pc * g->b_rs + jc + j;
                        ldb = g->b_rs;
                    } else {                           /* ragged last panel */
                        cc_ring_pack_panel(kb, cols, g->B + pc * g->b_rs + jc + j, g->b_rs, 1,
                                           bbuf);
                        bp = bbuf;
                    }
                    for (size_t r = 0; r < mb; r += mr) {
                        size_t rows = CC_MIN(mr, mb - r);
                        uint64_t *c = g->C + (ic + r) * g->ldc + jc + j;
                        const uint64_t *ap = abuf + r * kb * aw;
                        if (rows == mr && cols == NR) {
                            kern->gemm_ukr(kb, ap, bp, ldb, c, g->ldc, acc);
                        } else {
                            kern->gemm_ukr(kb, ap, bp, ldb, tile, NR, false);
                            store_edge(tile, rows, cols, c, g->ldc, acc);
                        }
                    }
                }
            }
        }
    }
}

/* Below this many multiply-adds a second thread costs more than it saves. */
#define GEMM_MIN_MACS_PER_THREAD (1u << 16)

static void gemm_run(const gemm_job *g)
{
    if (g->M == 0 || g->N == 0) return;
    if (g->K == 0) {
        if (!g->accumulate)
            for (size_t i = 0; i < g->M; i++) memset(g->C + i * g->ldc, 0, g->N * sizeof(uint64_t));
        return;
    }
    size_t panels = (g->N + NR - 1) / NR;
    size_t macs;
    if (__builtin_mul_overflow(g->M, g->N, &macs) || __builtin_mul_overflow(macs, g->K, &macs))
        macs = SIZE_MAX;
    int threads = cc_thread_count();
    if ((size_t)threads > macs / GEMM_MIN_MACS_PER_THREAD)
        threads = (int)CC_MAX(1, macs / GEMM_MIN_MACS_PER_THREAD);
    if (threads <= 1) {
        gemm_region(g, 0, g->M, 0, g->N);
        return;
    }
    /* Columns if every thread gets at least two panels, else rows. */
    bool by_cols = panels >= 2 * (size_t)threads || g->M < (size_t)threads * g->kern->mr;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t b, e;
        if (by_cols) {
            cc_thread_partition(g->N, NR, nt, t, &b, &e);
            if (b < e) gemm_region(g, 0, g->M, b, e);
        } else {
            cc_thread_partition(g->M, g->kern->mr, nt, t, &b, &e);
            if (b < e) gemm_region(g, b, e, 0, g->N);
        }
    }
}

/* Largest M for which row-major B is read in place instead of packed
 * (measured: docs/BENCHMARKS.md). */
#define GEMM_DIRECT_B_MAX_M 16

static void set_a(gemm_job *g, cc_trans ta, const uint64_t *A, size_t lda)
{
    g->A = A;
    if (ta == CC_NOTRANS) { g->a_rs = lda; g->a_cs = 1; }   /* A is M×K */
    else                  { g->a_rs = 1; g->a_cs = lda; }   /* A is K×M */
    if (g->M && g->K) CC_ASSERT(lda >= (ta == CC_NOTRANS ? g->K : g->M));
}

void cc_ring_gemm(cc_trans ta, cc_trans tb, size_t M, size_t N, size_t K,
                  const uint64_t *A, size_t lda, const uint64_t *B, size_t ldb,
                  uint64_t *C, size_t ldc, bool accumulate)
{
    gemm_job g = { .kern = cc_kern_active(), .M = M, .N = N, .K = K, .C = C, .ldc = ldc,
                   .accumulate = accumulate };
    set_a(&g, ta, A, lda);
    g.B = B;
    if (tb == CC_NOTRANS) { g.b_rs = ldb; g.b_cs = 1; }     /* B is K×N */
    else                  { g.b_rs = 1; g.b_cs = ldb; }     /* B is N×K */
    if (N && K) CC_ASSERT(ldb >= (tb == CC_NOTRANS ? N : K));
    /* With few rows of A, each B element is used by at most a few
     * micro-tiles, so copying B into panels costs about as much as the
     * multiply; row-major B is then read in place (rows ldb apart). */
    g.direct_b = tb == CC_NOTRANS && M <= GEMM_DIRECT_B_MAX_M;
    if (M && N) CC_ASSERT(ldc >= N);
    gemm_run(&g);
}

void cc_ring_gemm_packed(cc_trans ta, size_t M, size_t N, size_t K,
                         const uint64_t *A, size_t lda, const uint64_t *Bpacked,
                         uint64_t *C, size_t ldc, bool accumulate)
{
    gemm_job g = { .kern = cc_kern_active(), .M = M, .N = N, .K = K, .Bpacked = Bpacked,
                   .C = C, .ldc = ldc, .accumulate = accumulate };
    set_a(&g, ta, A, lda);
    if (M && N) CC_ASSERT(ldc >= N);
    gemm_run(&g);
}

const char *cc_ring_isa(void) { return cc_kern_active()->name; }
