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

/* ---- A packed once: small M, B packed or generated ------------------------
 *
 *   for pc in K step APACK_KC                  (depth slice; per thread range)
 *     [pack this slice of A, when A was not packed beforehand]
 *     for each group of APACK_GROUP panels
 *       [generate the group's slice into a per-thread buffer]
 *       for each mr-row panel of A             (its slice stays in L1/L2)
 *         small-M kernel over the group's panels
 *
 * With the depth loop outside, A's slice stays in cache while the slices of
 * all panels stream past it; C (M × the thread's columns) is re-read once
 * per slice, M/128 of the B traffic.  Packed-A panel r holds rows
 * [r·mr, r·mr + rows), rows = min(mr, M - r·mr), in the unpadded pack_a_rows
 * format: over the full depth at data + r·mr·K·a_words (slice [pc, ..) at
 * + pc·rows·a_words) when packed beforehand, or per slice at
 * buf + r·mr·kb·a_words when packed here. */

#define APACK_KC 256      /* depth slice: 16 rows of A (64 KiB) or 4 B panels (64 KiB) */
#define APACK_GROUP 4     /* B panels per kernel call (the kernel's widest pass) */

typedef struct apack_job {
    const cc_kern *kern;
    size_t M, N, K;
    const cc_ring_apack *ap;               /* A packed beforehand, or: */
    const uint64_t *A; size_t a_rs, a_cs;  /* packed per slice here */
    const uint64_t *Bpacked;               /* B pre-packed, or generated: */
    cc_ring_bfill fill;
    void *fill_ctx;
    uint64_t *C; size_t ldc;
    bool accumulate;
} apack_job;

/* Panels [q0, q1) of C, all rows, one thread. */
static void apack_region(const apack_job *g, size_t q0, size_t q1)
{
    const cc_kern *kern = g->kern;
    const size_t mr = kern->mr, aw = kern->a_words, M = g->M, K = g->K;
    const size_t panels = (g->N + NR - 1) / NR, edge_cols = g->N % NR;
    uint64_t tile[CC_KERN_MR_MAX * NR];
    pack_buffers *pb = thread_buffers();
    uint64_t *bbuf = g->fill ? scratch(&pb->b, &pb->bcap, APACK_GROUP * APACK_KC * NR) : NULL;
    const bool pack_here = g->ap == NULL;   /* else A was packed once by the caller */
    uint64_t *abuf = pack_here ? scratch(&pb->a, &pb->acap, M * APACK_KC * aw) : NULL;
    for (size_t pc = 0; pc < K; pc += APACK_KC) {
        size_t kb = CC_MIN((size_t)APACK_KC, K - pc);
        bool acc = g->accumulate || pc > 0;
        if (pack_here)
            for (size_t r = 0; r < M; r += mr)
                kern->pack_a_rows(CC_MIN(mr, M - r), kb, g->A + r * g->a_rs + pc * g->a_cs,
                                  g->a_rs, g->a_cs, abuf + r * kb * aw);
        for (size_t q = q0; q < q1; q += APACK_GROUP) {
            size_t np = CC_MIN((size_t)APACK_GROUP, q1 - q);
            size_t full = q + np == panels && edge_cols ? np - 1 : np;
            const uint64_t *bp;
            size_t pstride;
            if (g->fill) {
                for (size_t t = 0; t < np; t++)
                    g->fill(g->fill_ctx, ((uint64_t)(q + t) * K + pc) * NR, kb * NR,
                            bbuf + t * kb * NR);
                bp = bbuf;
                pstride = kb * NR;
            } else {
                bp = g->Bpacked + (q * K + pc) * NR;
                pstride = K * NR;
            }
            for (size_t r = 0; r < M; r += mr) {
                size_t rows = CC_MIN(mr, M - r);
                const uint64_t *a = pack_here ? abuf + r * kb * aw
                                              : g->ap->data + r * K * aw + pc * rows * aw;
                uint64_t *c = g->C + r * g->ldc + q * NR;
                kern->gemm_small(rows, full, kb, a, bp, NR, pstride, c, g->ldc, acc);
                if (full < np) {                       /* ragged last panel */
                    kern->gemm_small(rows, 1, kb, a, bp + full * pstride, NR, pstride, tile,
                                     NR, false);
                    store_edge(tile, rows, edge_cols, c + full * NR, g->ldc, acc);
                }
            }
        }
    }
}

static void apack_run(const apack_job *g)
{
    const size_t M = g->M, K = g->K, N = g->N;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        if (!g->accumulate)
            for (size_t i = 0; i < M; i++) memset(g->C + i * g->ldc, 0, N * sizeof(uint64_t));
        return;
    }
    size_t panels = (N + NR - 1) / NR, macs;
    if (__builtin_mul_overflow(M, N, &macs) || __builtin_mul_overflow(macs, K, &macs))
        macs = SIZE_MAX;
    int threads = cc_thread_count();
    if ((size_t)threads > macs / GEMM_MIN_MACS_PER_THREAD)
        threads = (int)CC_MAX(1, macs / GEMM_MIN_MACS_PER_THREAD);
    if ((size_t)threads > panels) threads = (int)panels;
    if (threads <= 1) {
        apack_region(g, 0, panels);
        return;
    }
    /* whole panels per thread; every C element is computed by one thread in
     * the same order whatever the split */
#pragma omp parallel num_threads(threads)
    {
        size_t b, e;
        cc_thread_partition(panels, 1, omp_get_num_threads(), omp_get_thread_num(), &b, &e);
        if (b < e) apack_region(g, b, e);
    }
}

cc_status cc_ring_apack_make(cc_ring_apack *ap, cc_trans ta, size_t M, size_t K,
                             const uint64_t *A, size_t lda)
{
    const cc_kern *kern = cc_kern_active();
    size_t words;
    if (__builtin_mul_overflow(M, K, &words) ||
        __builtin_mul_overflow(words, (size_t)kern->a_words, &words) ||
        words > SIZE_MAX / sizeof(uint64_t))
        return cc_error_set(CC_ERR_NOMEM, "packed A of %zu x %zu overflows", M, K);
    if (M && K) CC_ASSERT(lda >= (ta == CC_NOTRANS ? K : M));
    if (words > ap->cap || !ap->data) {
        cc_free(ap->data);
        ap->cap = 0;
        ap->data = cc_alloc(CC_MAX(words, (size_t)1) * sizeof(uint64_t));
        if (!ap->data) return cc_error_set(CC_ERR_NOMEM, "packed A of %zu x %zu", M, K);
        ap->cap = CC_MAX(words, (size_t)1);
    }
    ap->M = M;
    ap->K = K;
    ap->kern = kern;
    size_t rs = ta == CC_NOTRANS ? lda : 1, cs = ta == CC_NOTRANS ? 1 : lda;
    for (size_t r = 0; r < M && K; r += kern->mr)
        kern->pack_a_rows(CC_MIN((size_t)kern->mr, M - r), K, A + r * rs, rs, cs,
                          ap->data + r * K * kern->a_words);
    return CC_OK;
}

void cc_ring_apack_free(cc_ring_apack *ap)
{
    cc_free(ap->data);
    memset(ap, 0, sizeof *ap);
}

static const cc_kern *apack_kern(const cc_ring_apack *ap)
{
    const cc_kern *kern = cc_kern_active();
    if (ap->kern != kern)
        cc_panic(__FILE__, __LINE__, "packed A used under another kernel table than it was "
                 "packed for");
    return kern;
}

void cc_ring_gemm_apacked(const cc_ring_apack *ap, size_t N, const uint64_t *Bpacked,
                          uint64_t *C, size_t ldc, bool accumulate)
{
    if (ap->M && N) CC_ASSERT(ldc >= N);
    apack_job g = { .kern = apack_kern(ap), .M = ap->M, .N = N, .K = ap->K, .ap = ap,
                    .Bpacked = Bpacked, .C = C, .ldc = ldc, .accumulate = accumulate };
    apack_run(&g);
}

void cc_ring_gemm_apacked_gen(const cc_ring_apack *ap, size_t N, cc_ring_bfill fill, void *ctx,
                              uint64_t *C, size_t ldc, bool accumulate)
{
    if (ap->M && N) CC_ASSERT(ldc >= N);
    apack_job g = { .kern = apack_kern(ap), .M = ap->M, .N = N, .K = ap->K, .ap = ap,
                    .fill = fill, .fill_ctx = ctx, .C = C, .ldc = ldc, .accumulate = accumulate };
    apack_run(&g);
}

void cc_ring_gemm_packed_blocked(cc_trans ta, size_t M, size_t N, size_t K, const uint64_t *A,
                                 size_t lda, const uint64_t *Bpacked, uint64_t *C, size_t ldc,
                                 bool accumulate)
{
    gemm_job g = { .kern = cc_kern_active(), .M = M, .N = N, .K = K, .Bpacked = Bpacked,
                   .C = C, .ldc = ldc, .accumulate = accumulate };
    set_a(&g, ta, A, lda);
    if (M && N) CC_ASSERT(ldc >= N);
    gemm_run(&g);
}

void cc_ring_gemm_packed(cc_trans ta, size_t M, size_t N, size_t K,
                         const uint64_t *A, size_t lda, const uint64_t *Bpacked,
                         uint64_t *C, size_t ldc, bool accumulate)
{
    if (M == 0 || N == 0 || K == 0 || !cc_ring_small_m(M)) {
        cc_ring_gemm_packed_blocked(ta, M, N, K, A, lda, Bpacked, C, ldc, accumulate);
        return;
    }
    /* Few rows: the small-M kernels (no padding to the tile), each thread
     * packing the depth slice of A it is about to use. */
    if (M && N) CC_ASSERT(ldc >= N);
    CC_ASSERT(lda >= (ta == CC_NOTRANS ? K : M));
    apack_job g = { .kern = cc_kern_active(), .M = M, .N = N, .K = K, .A = A,
                    .a_rs = ta == CC_NOTRANS ? lda : 1, .a_cs = ta == CC_NOTRANS ? 1 : lda,
                    .Bpacked = Bpacked, .C = C, .ldc = ldc, .accumulate = accumulate };
    apack_run(&g);
}

/* Below the tile height the blocked path pads every row panel to mr rows
 * (8/M times the work); from mr rows on, both routes run the same tile
 * kernel and the blocked one, with its long sequential B streams, measured
 * as fast or faster on pre-packed weights (docs/BENCHMARKS.md). */
bool cc_ring_small_m(size_t M) { return M >= 1 && M < cc_kern_active()->mr; }

const char *cc_ring_isa(void) { return cc_kern_active()->name; }
