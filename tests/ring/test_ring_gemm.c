/* ring GEMM: the reference kernels against a naive triple loop, then every
 * ISA this CPU runs bit-exact against the reference, over sampled edge
 * shapes (M, N, K from {0,1,3,7,8,15,16,17,31,33,64,127,129,768,4096}), all
 * transpose combinations, padded strides, 8-byte-aligned (not vector-aligned)
 * pointers, extreme values, accumulate on/off; packed B against unpacked,
 * pack/unpack roundtrip, 1 vs 2 threads identical, huge K. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "kern.h"
#include "ring.h"
#include "thread.h"

#ifdef CARACAL_KERN_SIMDE
/* The avx512 kernels on SIMDe's portable AVX-512 (this test binary only), so
 * the 8-row tile goes through the whole blocked GEMM on any CPU. */
extern const cc_kern cc_kern_avx512_simde;
#endif

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t splitmix(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t sample(void)
{
    static const uint64_t extremes[] = { 0, 1, UINT64_MAX, 1ull << 63, (1ull << 63) - 1,
                                         1ull << 32, (1ull << 32) - 1 };
    uint64_t r = splitmix();
    return (r & 7) == 0 ? extremes[(r >> 3) % CC_ARRAY_LEN(extremes)] : splitmix();
}

/* One GEMM problem with its own buffers (allocated one word past an aligned
 * base so operands are 8- but not 32-byte aligned). */
typedef struct problem {
    cc_trans ta, tb;
    size_t M, N, K, lda, ldb, ldc;
    uint64_t *Abuf, *Bbuf, *C0buf, *A, *B, *C0;
    bool accumulate;
} problem;

static size_t elems(size_t rows, size_t ld) { return rows ? (rows - 1) * ld + ld : 0; }

static void problem_make(problem *p, cc_trans ta, cc_trans tb, size_t M, size_t N, size_t K)
{
    p->ta = ta; p->tb = tb; p->M = M; p->N = N; p->K = K;
    size_t pad = splitmix() % 3;
    p->lda = (ta == CC_NOTRANS ? K : M) + pad;
    p->ldb = (tb == CC_NOTRANS ? N : K) + pad;
    p->ldc = N + (splitmix() % 3);
    if (p->lda == 0) p->lda = 1;
    if (p->ldb == 0) p->ldb = 1;
    if (p->ldc == 0) p->ldc = 1;
    size_t na = elems(ta == CC_NOTRANS ? M : K, p->lda);
    size_t nb = elems(tb == CC_NOTRANS ? K : N, p->ldb);
    size_t nc = elems(M, p->ldc);
    p->Abuf = malloc((na + 1) * 8); p->Bbuf = malloc((nb + 1) * 8); p->C0buf = malloc((nc + 1) * 8);
    p->A = p->Abuf + 1; p->B = p->Bbuf + 1; p->C0 = p->C0buf + 1;
    for (size_t i = 0; i < na; i++) p->A[i] = sample();
    for (size_t i = 0; i < nb; i++) p->B[i] = sample();
    for (size_t i = 0; i < nc; i++) p->C0[i] = sample();
    p->accumulate = splitmix() & 1;
}

static void problem_free(problem *p) { free(p->Abuf); free(p->Bbuf); free(p->C0buf); }
static size_t c_elems(const problem *p) { return elems(p->M, p->ldc); }

static uint64_t opA(const problem *p, size_t i, size_t k)
{ return p->ta == CC_NOTRANS ? p->A[i * p->lda + k] : p->A[k * p->lda + i]; }
static uint64_t opB(const problem *p, size_t k, size_t j)
{ return p->tb == CC_NOTRANS ? p->B[k * p->ldb + j] : p->B[j * p->ldb + k]; }

/* The definition: a naive triple loop (wrap-around is the ring). */
static uint64_t *naive(const problem *p)
{
    uint64_t *C = malloc((c_elems(p) + 1) * 8);
    memcpy(C, p->C0, c_elems(p) * 8);
    for (size_t i = 0; i < p->M; i++)
        for (size_t j = 0; j < p->N; j++) {
            uint64_t s = p->accumulate ? C[i * p->ldc + j] : 0;
            for (size_t k = 0; k < p->K; k++) s += opA(p, i, k) * opB(p, k, j);
            C[i * p->ldc + j] = s;
        }
    return C;
}

static uint64_t *run(const problem *p, bool packed)
{
    uint64_t *C = malloc((c_elems(p) + 1) * 8);
    memcpy(C, p->C0, c_elems(p) * 8);
    if (!packed) {
        cc_ring_gemm(p->ta, p->tb, p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, C, p->ldc,
                     p->accumulate);
    } else {
        size_t bytes = cc_ring_packed_size(p->K, p->N);
        uint64_t *Bp = malloc(bytes + 8);
        cc_ring_pack_b(p->tb, p->K, p->N, p->B, p->ldb, Bp + 1);   /* unaligned too */
        cc_ring_gemm_packed(p->ta, p->M, p->N, p->K, p->A, p->lda, Bp + 1, C, p->ldc,
                            p->accumulate);
        free(Bp);
    }
    return C;
}

static void expect_same(const problem *p, const uint64_t *want, const uint64_t *got,
                        const char *what)
{
    if (memcmp(want, got, c_elems(p) * 8) == 0) return;
    for (size_t i = 0; i < c_elems(p); i++)
        if (want[i] != got[i])
            fail_msg("%s: M=%zu N=%zu K=%zu ta=%d tb=%d acc=%d: first difference at C[%zu][%zu]",
                     what, p->M, p->N, p->K, p->ta, p->tb, p->accumulate, i / p->ldc, i % p->ldc);
}

static const size_t dims[] = { 0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 127, 129, 768, 4096 };

/* Shapes: every combination of small dims, a deterministic sample of the
 * rest under a work budget, and a few big ones named explicitly. */
typedef struct shape { size_t M, N, K; } shape;
static size_t shapes_make(shape *out, size_t cap)
{
    size_t n = 0;
    const size_t nd = CC_ARRAY_LEN(dims);
    for (size_t a = 0; a < nd; a++)
        for (size_t b = 0; b < nd; b++)
            for (size_t c = 0; c < nd; c++) {
                size_t M = dims[a], N = dims[b], K = dims[c];
                double work = (double)M * N * K;
                bool small = M <= 17 && N <= 17 && K <= 17;
                bool sampled = (work <= 3e5 && splitmix() % 3 == 0) ||
                               (work <= 4e6 && splitmix() % 16 == 0);
                if ((small || sampled) && n < cap) out[n++] = (shape){ M, N, K };
            }
    static const shape big[] = { { 8, 768, 768 }, { 1, 4096, 129 }, { 129, 33, 4096 },
                                 { 127, 129, 768 }, { 4096, 8, 17 }, { 3, 17, 11008 },
                                 { 16, 264, 1000 }, { 17, 100, 300 }, { 33, 4096, 31 } };
    for (size_t i = 0; i < CC_ARRAY_LEN(big) && n < cap; i++) out[n++] = big[i];
    return n;
}

static void ref_matches_naive_and_isas_match_ref(void **state)
{
    (void)state;
    const char *initial = cc_ring_isa();
    shape *shapes = malloc(4096 * sizeof *shapes);
    size_t ns = shapes_make(shapes, 4096);
    cc_thread_set_count(1);
    size_t checked = 0;
    for (size_t s = 0; s < ns; s++) {
        problem p;
        problem_make(&p, splitmix() & 1 ? CC_TRANS : CC_NOTRANS,
                     splitmix() & 1 ? CC_TRANS : CC_NOTRANS, shapes[s].M, shapes[s].N, shapes[s].K);
        uint64_t *want = naive(&p);
        assert_int_equal(cc_kern_select("ref"), CC_OK);
        uint64_t *ref = run(&p, false);
        expect_same(&p, want, ref, "ref vs naive");
        for (const char *const *n = cc_kern_all_names(); *n; n++) {
            if (!cc_kern_lookup(*n)) continue;
            assert_int_equal(cc_kern_select(*n), CC_OK);
            uint64_t *got = run(&p, false);
            expect_same(&p, ref, got, *n);
            free(got);
            got = run(&p, true);
            expect_same(&p, ref, got, "packed");
            free(got);
        }
#ifdef CARACAL_KERN_SIMDE
        if (s % 3 == 0) {                      /* emulation is slow: a third */
            cc_kern_install(&cc_kern_avx512_simde);
            uint64_t *got = run(&p, s % 2 == 0);
            expect_same(&p, ref, got, "avx512 (SIMDe emulation)");
            free(got);
        }
#endif
        free(want); free(ref);
        problem_free(&p);
        checked++;
    }
    for (const char *const *n = cc_kern_all_names(); *n; n++)
        if (!cc_kern_lookup(*n)) print_message("[  SKIP    ] ISA %s not supported by this CPU\n", *n);
    print_message("[  INFO    ] %zu shapes checked\n", checked);
    assert_true(checked > 200);
    free(shapes);
    assert_int_equal(cc_kern_select(initial), CC_OK);
}

static void pack_unpack_roundtrip(void **state)
{
    (void)state;
    static const size_t ks[] = { 1, 3, 8, 17 }, nsz[] = { 1, 7, 8, 9, 16, 33 };
    for (size_t a = 0; a < CC_ARRAY_LEN(ks); a++)
        for (size_t b = 0; b < CC_ARRAY_LEN(nsz); b++)
            for (int t = 0; t < 2; t++) {
                size_t K = ks[a], N = nsz[b];
                size_t ldb = (t ? K : N) + 1;
                uint64_t *B = malloc((t ? N : K) * ldb * 8);
                for (size_t i = 0; i < (t ? N : K) * ldb; i++) B[i] = sample();
                size_t bytes = cc_ring_packed_size(K, N);
                assert_int_equal(bytes, ((N + 7) / 8) * 8 * K * 8);
                uint64_t *P = malloc(bytes);
                cc_ring_pack_b(t ? CC_TRANS : CC_NOTRANS, K, N, B, ldb, P);
                /* the documented layout, element by element, padding zero */
                for (size_t k = 0; k < K; k++)
                    for (size_t j = 0; j < (N + 7) / 8 * 8; j++) {
                        uint64_t want = j < N ? (t ? B[j * ldb + k] : B[k * ldb + j]) : 0;
                        assert_true(P[((j / 8) * K + k) * 8 + j % 8] == want);
                    }
                uint64_t *U = malloc(K * (N + 2) * 8);
                cc_ring_unpack_b(K, N, P, U, N + 2);
                for (size_t k = 0; k < K; k++)
                    for (size_t j = 0; j < N; j++)
                        assert_true(U[k * (N + 2) + j] == (t ? B[j * ldb + k] : B[k * ldb + j]));
                free(B); free(P); free(U);
            }
    assert_int_equal(cc_ring_packed_size(0, 5), 0);
    assert_int_equal(cc_ring_packed_size(5, 0), 0);
    assert_true(cc_ring_packed_size(SIZE_MAX / 4, 16) == SIZE_MAX);
}

/* Same result with 1 and 2 threads, column split and row split, for every ISA. */
static void threads_do_not_change_results(void **state)
{
    (void)state;
    static const shape shapes[] = { { 64, 129, 300 }, { 129, 8, 600 }, { 17, 1000, 33 } };
    for (const char *const *n = cc_kern_all_names(); *n; n++) {
        if (!cc_kern_lookup(*n)) continue;
        assert_int_equal(cc_kern_select(*n), CC_OK);
        for (size_t s = 0; s < CC_ARRAY_LEN(shapes); s++) {
            for (int packed = 0; packed < 2; packed++) {
                problem p;
                problem_make(&p, CC_NOTRANS, s == 1 ? CC_TRANS : CC_NOTRANS, shapes[s].M,
                             shapes[s].N, shapes[s].K);
                cc_thread_set_count(1);
                uint64_t *one = run(&p, packed);
                cc_thread_set_count(2);
                uint64_t *two = run(&p, packed);
                cc_thread_set_count(3);
                uint64_t *three = run(&p, packed);
                expect_same(&p, one, two, "2 threads");
                expect_same(&p, one, three, "3 threads");
                uint64_t *want = naive(&p);
                expect_same(&p, want, one, "1 thread vs naive");
                free(one); free(two); free(three); free(want);
                problem_free(&p);
            }
        }
    }
    cc_thread_set_count(1);
}

/* fill callback for cc_ring_gemm_apacked_gen: copies from a packed buffer
 * and checks every requested range lies inside it */
typedef struct gen_src { const uint64_t *packed; size_t words; } gen_src;
static void gen_fill(void *ctx, uint64_t first, size_t n, uint64_t *out)
{
    const gen_src *g = ctx;
    if (first > g->words || n > g->words - first)
        fail_msg("fill [%llu, +%zu) beyond %zu words", (unsigned long long)first, n, g->words);
    memcpy(out, g->packed + first, n * sizeof *out);
}

/* The small-M routes (cc_ring_gemm_packed for M <= 16, packed-A reuse over
 * column blocks, generated B) against the reference's blocked GEMM, for
 * every ISA (and the avx512 table under SIMDe), M = 1..17, threads 1-3. */
static void small_m_routes(void **state)
{
    (void)state;
    const char *initial = cc_ring_isa();
    static const size_t Ns[] = { 1, 7, 8, 9, 31, 33, 64, 100 }, Ks[] = { 1, 3, 255, 256, 257, 600 };
    const cc_kern *tables[8];
    size_t nt = 0;
    for (const char *const *n = cc_kern_all_names(); *n; n++)
        if (cc_kern_lookup(*n)) tables[nt++] = cc_kern_lookup(*n);
#ifdef CARACAL_KERN_SIMDE
    tables[nt++] = &cc_kern_avx512_simde;
#endif
    size_t checked = 0;
    for (size_t M = 1; M <= 17; M++)
        for (size_t a = 0; a < CC_ARRAY_LEN(Ns); a++)
            for (size_t b = 0; b < CC_ARRAY_LEN(Ks); b++) {
                if (M > 8 && (a + b + M) % 3) continue;           /* sample past 8 rows */
                problem p;
                problem_make(&p, (M + a + b) & 1 ? CC_TRANS : CC_NOTRANS, (a + b) & 1 ? CC_TRANS : CC_NOTRANS,
                             M, Ns[a], Ks[b]);
                size_t words = cc_ring_packed_size(p.K, p.N) / 8;
                uint64_t *Bp = malloc((words + 1) * 8);
                cc_ring_pack_b(p.tb, p.K, p.N, p.B, p.ldb, Bp + 1);
                cc_kern_install(&cc_kern_ref);
                cc_thread_set_count(1);
                uint64_t *want = malloc((c_elems(&p) + 1) * 8), *got = malloc((c_elems(&p) + 1) * 8);
                memcpy(want, p.C0, c_elems(&p) * 8);
                cc_ring_gemm_packed_blocked(p.ta, M, p.N, p.K, p.A, p.lda, Bp + 1, want, p.ldc,
                                            p.accumulate);
                if (M <= 3 && b < 3) {
                    uint64_t *n = naive(&p);
                    expect_same(&p, n, want, "ref blocked vs naive");
                    free(n);
                }
                for (size_t t = 0; t < nt; t++) {
                    cc_kern_install(tables[t]);
                    cc_thread_set_count(1 + (int)((t + M + a) % 3));
                    memcpy(got, p.C0, c_elems(&p) * 8);
                    cc_ring_gemm_packed(p.ta, M, p.N, p.K, p.A, p.lda, Bp + 1, got, p.ldc,
                                        p.accumulate);
                    expect_same(&p, want, got, tables[t]->name);
                    /* A packed once, B in column blocks of 16 (2 panels) */
                    cc_ring_apack ap = { 0 };
                    assert_int_equal(cc_ring_apack_make(&ap, p.ta, M, p.K, p.A, p.lda), CC_OK);
                    memcpy(got, p.C0, c_elems(&p) * 8);
                    for (size_t c0 = 0; c0 < p.N; c0 += 16)
                        cc_ring_gemm_apacked(&ap, CC_MIN(16, p.N - c0), Bp + 1 + c0 * p.K,
                                             got + c0, p.ldc, p.accumulate);
                    expect_same(&p, want, got, "apacked column blocks");
                    /* B generated by a callback, whole width */
                    gen_src src = { Bp + 1, words };
                    memcpy(got, p.C0, c_elems(&p) * 8);
                    cc_ring_gemm_apacked_gen(&ap, p.N, gen_fill, &src, got, p.ldc, p.accumulate);
                    expect_same(&p, want, got, "apacked generated B");
                    cc_ring_apack_free(&ap);
                }
                free(want); free(got); free(Bp);
                problem_free(&p);
                checked++;
            }
    print_message("[  INFO    ] %zu small-M shapes checked on %zu tables\n", checked, nt);
    cc_thread_set_count(1);
    assert_int_equal(cc_kern_select(initial), CC_OK);
}

/* K = 0 writes zeros (or leaves C when accumulating); M or N = 0 touch nothing. */
static void degenerate_shapes(void **state)
{
    (void)state;
    uint64_t A[4] = { 1, 2, 3, 4 }, B[4] = { 5, 6, 7, 8 }, C[4] = { 9, 9, 9, 9 };
    cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, 2, 2, 0, A, 1, B, 2, C, 2, true);
    for (int i = 0; i < 4; i++) assert_int_equal(C[i], 9);
    cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, 2, 2, 0, A, 1, B, 2, C, 2, false);
    for (int i = 0; i < 4; i++) assert_int_equal(C[i], 0);
    C[0] = 7;
    cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, 0, 2, 2, A, 2, B, 2, C, 2, false);
    cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, 2, 0, 2, A, 2, B, 1, C, 1, false);
    assert_int_equal(C[0], 7);
    /* 2x2 by hand, with wrap: [1 2;3 4]·[5 6;7 8] = [19 22;43 50], then -1·x */
    cc_ring_gemm(CC_NOTRANS, CC_NOTRANS, 2, 2, 2, A, 2, B, 2, C, 2, false);
    assert_true(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50);
    uint64_t M1[1] = { UINT64_MAX }, X[1] = { 19 }, Y[1];
    cc_ring_gemm(CC_NOTRANS, CC_TRANS, 1, 1, 1, M1, 1, X, 1, Y, 1, false);
    assert_true(Y[0] == (uint64_t)-19);
    assert_non_null(cc_ring_isa());
}

/* The OpenBLAS limb route agrees bit-exactly, across depth blocks (K > 2048). */
static void dgemm_route_matches(void **state)
{
    (void)state;
    static const shape shapes[] = { { 1, 1, 1 }, { 7, 9, 33 }, { 33, 17, 4100 }, { 3, 40, 2049 },
                                    { 0, 3, 3 }, { 5, 5, 0 } };
    for (size_t s = 0; s < CC_ARRAY_LEN(shapes); s++)
        for (int t = 0; t < 4; t++) {
            problem p;
            problem_make(&p, t & 1 ? CC_TRANS : CC_NOTRANS, t & 2 ? CC_TRANS : CC_NOTRANS,
                         shapes[s].M, shapes[s].N, shapes[s].K);
            uint64_t *want = naive(&p);
            uint64_t *got = malloc((c_elems(&p) + 1) * 8);
            memcpy(got, p.C0, c_elems(&p) * 8);
            assert_int_equal(cc_ring_gemm_dgemm(p.ta, p.tb, p.M, p.N, p.K, p.A, p.lda, p.B, p.ldb,
                                                got, p.ldc, p.accumulate), CC_OK);
            expect_same(&p, want, got, "dgemm route");
            free(want); free(got);
            problem_free(&p);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(degenerate_shapes),
        cmocka_unit_test(pack_unpack_roundtrip),
        cmocka_unit_test(threads_do_not_change_results),
        cmocka_unit_test(ref_matches_naive_and_isas_match_ref),
        cmocka_unit_test(dgemm_route_matches),
        cmocka_unit_test(small_m_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
