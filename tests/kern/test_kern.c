/* kern: dispatch rules, and every ISA this CPU runs bit-exact against the
 * portable reference (micro-kernel against a naive product, elementwise
 * against ref) on random data, extreme values, odd lengths, unaligned
 * pointers and in-place operation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "kern.h"

#ifdef CARACAL_KERN_SIMDE
/* src/kern/avx512/avx512.c compiled on SIMDe's portable AVX-512 (this
 * test binary only): checks the AVX-512 kernels' logic on any CPU. */
extern const cc_kern cc_kern_avx512_simde;
#endif

/* The tables to check: every ISA this CPU runs, plus the emulated one. */
static size_t tables_to_check(const cc_kern **out, size_t cap)
{
    size_t n = 0;
    for (const char *const *name = cc_kern_all_names(); *name && n < cap; name++) {
        const cc_kern *k = cc_kern_lookup(*name);
        if (k) out[n++] = k;
        else print_message("[  SKIP    ] ISA %s not supported by this CPU\n", *name);
    }
#ifdef CARACAL_KERN_SIMDE
    if (n < cap) out[n++] = &cc_kern_avx512_simde;
#endif
    return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t splitmix(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Random words with the ring's extremes mixed in. */
static uint64_t sample(void)
{
    static const uint64_t extremes[] = { 0, 1, UINT64_MAX, 1ull << 63, (1ull << 63) - 1,
                                         1ull << 32, (1ull << 32) - 1, 0xffffffff00000000ull };
    uint64_t r = splitmix();
    return (r & 3) == 0 ? extremes[(r >> 2) % CC_ARRAY_LEN(extremes)] : splitmix();
}

static void fill(uint64_t *p, size_t n) { for (size_t i = 0; i < n; i++) p[i] = sample(); }

/* Run `fn` in a child process with CARACAL_ISA=value; returns cc_kern_init's status. */
static int init_status_with_env(const char *value)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("CARACAL_ISA", value, 1);
        cc_status s = cc_kern_init();
        if (s == CC_OK && strcmp(cc_kern_active()->name, value) != 0) _exit(100);
        _exit((int)s);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

static void dispatch_rules(void **state)
{
    (void)state;
    const cc_cpu *cpu = cc_cpu_features();
    assert_int_equal(init_status_with_env("ref"), CC_OK);
    assert_int_equal(init_status_with_env("bogus"), CC_ERR_ARG);
    assert_int_equal(init_status_with_env("avx2"), cpu->avx2 ? CC_OK : CC_ERR_UNSUPPORTED);
    assert_int_equal(init_status_with_env("avx512"),
                     cpu->avx512f && cpu->avx512dq ? CC_OK : CC_ERR_UNSUPPORTED);

    assert_null(cc_kern_lookup("sse9"));
    assert_non_null(strstr(cc_error_message(), "unknown kernel ISA 'sse9'"));
    assert_int_equal(cc_kern_select("sse9"), CC_ERR_ARG);
    /* With no override the best supported ISA is active. */
    if (!getenv("CARACAL_ISA")) {
        const char *best = cpu->avx512f && cpu->avx512dq ? "avx512" : cpu->avx2 ? "avx2" : "ref";
        assert_string_equal(cc_kern_active()->name, best);
    }
    for (const char *const *n = cc_kern_all_names(); *n; n++) {
        const cc_kern *k = cc_kern_lookup(*n);
        if (!k) {
            print_message("[  SKIP    ] ISA %s: %s\n", *n, cc_error_message());
            assert_int_equal(cc_kern_select(*n), CC_ERR_UNSUPPORTED);
            continue;
        }
        assert_string_equal(k->name, *n);
        assert_true(k->mr >= 1 && k->mr <= CC_KERN_MR_MAX);
        assert_int_equal(k->mc % k->mr, 0);
        assert_int_equal(k->nc % CC_KERN_NR, 0);
    }
}

/* Micro-kernel of one ISA against a naive product of the unpacked operands,
 * with B packed (ldb = NR) and read in place from a wider matrix. */
static void check_ukr(const cc_kern *k, size_t depth, size_t ldb)
{
    const size_t mr = k->mr, NR = CC_KERN_NR, ldc = NR + 3;
    /* A given transposed (column stride 1 across rows) to exercise rs/cs. */
    uint64_t *A = malloc((mr * depth + 1) * sizeof *A);
    uint64_t *Ap = malloc((mr * depth * k->a_words + 1) * sizeof *Ap);
    uint64_t *Bp = malloc((depth * ldb + 1) * sizeof *Bp);
    uint64_t *C = malloc((mr * ldc + 1) * sizeof *C), *C0 = malloc(mr * ldc * sizeof *C0);
    fill(A, mr * depth + 1);
    fill(Bp, depth * ldb + 1);
    const uint64_t *a = A + 1;                 /* 8-byte, not 32-byte, aligned */
    const uint64_t *b = Bp + 1;
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        for (int trans = 0; trans < 2; trans++) {
            size_t rs = trans ? 1 : depth, cs = trans ? mr : 1;
            k->pack_a(mr, depth, a, rs, cs, Ap + 1);
            fill(C0, mr * ldc);
            memcpy(C + 1, C0, mr * ldc * sizeof *C);
            k->gemm_ukr(depth, Ap + 1, b, ldb, C + 1, ldc, accumulate);
            for (size_t i = 0; i < mr; i++) {
                for (size_t j = 0; j < ldc; j++) {
                    uint64_t want = C0[i * ldc + j];
                    if (j < NR) {
                        uint64_t s = accumulate ? want : 0;
                        for (size_t p = 0; p < depth; p++) s += a[i * rs + p * cs] * b[p * ldb + j];
                        want = s;
                    }
                    if (C[1 + i * ldc + j] != want)
                        fail_msg("%s ukr k=%zu ldb=%zu acc=%d trans=%d: C[%zu][%zu] differs",
                                 k->name, depth, ldb, accumulate, trans, i, j);
                }
            }
        }
    }
    /* A partial panel (m < mr) is zero-padded: padded rows produce zeros. */
    if (mr > 1 && depth > 0) {
        k->pack_a(1, depth, a, depth, 1, Ap);
        k->gemm_ukr(depth, Ap, b, ldb, C, ldc, false);
        for (size_t i = 1; i < mr; i++)
            for (size_t j = 0; j < NR; j++) assert_int_equal(C[i * ldc + j], 0);
    }
    free(A); free(Ap); free(Bp); free(C); free(C0);
}

static void ukr_all_isas(void **state)
{
    (void)state;
    static const size_t depths[] = { 0, 1, 2, 3, 7, 8, 64, 255, 256, 1000 };
    const cc_kern *tables[8];
    size_t nt = tables_to_check(tables, 8);
    for (size_t t = 0; t < nt; t++) {
        const cc_kern *k = tables[t];
        for (size_t d = 0; d < CC_ARRAY_LEN(depths); d++) {
            check_ukr(k, depths[d], CC_KERN_NR);
            check_ukr(k, depths[d], CC_KERN_NR + 5);
        }
        if (strcmp(k->name, "avx2") == 0) {
            /* the intrinsic twin of the assembly kernel */
            cc_kern twin = *k;
            twin.name = "avx2 (intrinsics)";
            twin.gemm_ukr = cc_gemm_avx2_ukr_4x8_c;
            for (size_t d = 0; d < CC_ARRAY_LEN(depths); d++) {
                check_ukr(&twin, depths[d], CC_KERN_NR);
                check_ukr(&twin, depths[d], 2 * CC_KERN_NR + 1);
            }
        }
    }
}

/* Small-M kernel of one ISA against a naive product: m rows packed without
 * padding, np panels `pstride` apart with row stride ldb, unaligned pointers,
 * C rows ldc apart with guard words that must stay untouched. */
static void check_small(const cc_kern *k, size_t m, size_t np, size_t depth, size_t ldb,
                        size_t pstride)
{
    const size_t NR = CC_KERN_NR, ldc = np * NR + 5;
    size_t bwords = np ? (np - 1) * pstride + depth * ldb + 1 : 1;
    uint64_t *A = malloc((m * depth + 2) * sizeof *A);
    uint64_t *Ap = malloc((m * depth * k->a_words + 2) * sizeof *Ap);
    uint64_t *B = malloc((bwords + 1) * sizeof *B);
    uint64_t *C = malloc((m * ldc + 1) * sizeof *C), *C0 = malloc((m * ldc + 1) * sizeof *C0);
    fill(A, m * depth + 2);
    fill(B, bwords + 1);
    const uint64_t *a = A + 1, *b = B + 1;
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        for (int trans = 0; trans < 2; trans++) {
            size_t rs = trans ? 1 : depth, cs = trans ? m : 1;
            k->pack_a_rows(m, depth, a, rs, cs, Ap + 1);
            fill(C0, m * ldc);
            memcpy(C + 1, C0, m * ldc * sizeof *C);
            k->gemm_small(m, np, depth, Ap + 1, b, ldb, pstride, C + 1, ldc, accumulate);
            for (size_t i = 0; i < m; i++) {
                for (size_t j = 0; j < ldc; j++) {
                    uint64_t want = C0[i * ldc + j];
                    if (j < np * NR) {
                        const uint64_t *bq = b + (j / NR) * pstride + j % NR;
                        uint64_t s = accumulate ? want : 0;
                        for (size_t p = 0; p < depth; p++) s += a[i * rs + p * cs] * bq[p * ldb];
                        want = s;
                    }
                    if (C[1 + i * ldc + j] != want)
                        fail_msg("%s small m=%zu np=%zu k=%zu ldb=%zu pstride=%zu acc=%d "
                                 "trans=%d: C[%zu][%zu] differs", k->name, m, np, depth, ldb,
                                 pstride, accumulate, trans, i, j);
                }
            }
        }
    }
    /* for m == mr the unpadded format is pack_a's */
    if (m == k->mr && depth > 0) {
        uint64_t *Ap2 = malloc(m * depth * k->a_words * sizeof *Ap2);
        k->pack_a(m, depth, a, depth, 1, Ap2);
        k->pack_a_rows(m, depth, a, depth, 1, Ap);
        assert_memory_equal(Ap, Ap2, m * depth * k->a_words * sizeof *Ap2);
        free(Ap2);
    }
    free(A); free(Ap); free(B); free(C); free(C0);
}

static void small_all_isas(void **state)
{
    (void)state;
    static const size_t depths[] = { 0, 1, 2, 3, 7, 64, 255, 513 };
    static const size_t panels[] = { 0, 1, 2, 3, 4, 5, 7, 9 };
    const cc_kern *tables[8];
    size_t nt = tables_to_check(tables, 8);
    for (size_t t = 0; t < nt; t++) {
        const cc_kern *k = tables[t];
        for (size_t m = 1; m <= k->mr; m++)
            for (size_t d = 0; d < CC_ARRAY_LEN(depths); d++)
                for (size_t q = 0; q < CC_ARRAY_LEN(panels); q++) {
                    size_t depth = depths[d], np = panels[q];
                    /* packed panels (ldb = NR, panels depth·NR apart) */
                    check_small(k, m, np, depth, CC_KERN_NR, depth * CC_KERN_NR);
                    /* in place from a row-major matrix: panels NR apart */
                    if (q % 3 == 0)
                        check_small(k, m, np, depth, np * CC_KERN_NR + 3, CC_KERN_NR);
                    /* panels with a gap (a depth slice of full-K panels) */
                    if (d % 2 == 1)
                        check_small(k, m, np, depth, CC_KERN_NR, depth * CC_KERN_NR + 40);
                }
    }
}

/* Elementwise: each op of each ISA against ref, out-of-place and in-place. */
static void elementwise_all_isas(void **state)
{
    (void)state;
    static const size_t lens[] = { 0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1027 };
    static const unsigned shifts[] = { 0, 1, 17, 18, 31, 32, 33, 46, 62, 63 };
    const cc_kern *ref = &cc_kern_ref;
    enum { MAXN = 1027 + 8 };
    uint64_t *a = malloc(MAXN * 8), *b = malloc(MAXN * 8), *want = malloc(MAXN * 8),
             *got = malloc(MAXN * 8), *inplace = malloc(MAXN * 8);
    const cc_kern *tables[8];
    size_t nt = tables_to_check(tables, 8);
    for (size_t t = 0; t < nt; t++) {
        const cc_kern *k = tables[t];
        for (size_t li = 0; li < CC_ARRAY_LEN(lens); li++) {
            for (size_t off = 0; off < 4; off += 3) {        /* aligned and +3 words */
                size_t n = lens[li];
                fill(a, MAXN);
                fill(b, MAXN);
                uint64_t s = sample();
                const uint64_t *x = a + off, *y = b + off;
#define CHECK(desc, call_ref, call_k, call_inplace)                                     \
                do {                                                                    \
                    memset(want, 0xa5, MAXN * 8);                                       \
                    memset(got, 0xa5, MAXN * 8);                                        \
                    call_ref;                                                           \
                    call_k;                                                             \
                    memcpy(inplace, x, MAXN * 8 - off * 8);                             \
                    call_inplace;                                                       \
                    if (memcmp(want, got, MAXN * 8) || memcmp(want + off, inplace, n * 8)) \
                        fail_msg("%s %s n=%zu off=%zu differs from ref", k->name, desc, n, off); \
                } while (0)
#define BIN(op) CHECK(#op, ref->op(n, x, y, want + off), k->op(n, x, y, got + off), \
                      k->op(n, inplace, y, inplace))
#define UN(op) CHECK(#op, ref->op(n, x, want + off), k->op(n, x, got + off), k->op(n, inplace, inplace))
#define PAR(op, p) CHECK(#op, ref->op(n, x, p, want + off), k->op(n, x, p, got + off), \
                         k->op(n, inplace, p, inplace))
                BIN(add); BIN(sub); BIN(mul); BIN(xor_); BIN(and_);
                UN(neg); UN(not_);
                PAR(mul_scalar, s); PAR(add_scalar, s);
                for (size_t si = 0; si < CC_ARRAY_LEN(shifts); si++) {
                    unsigned sh = shifts[si];
                    PAR(shl, sh); PAR(shr_logic, sh); PAR(shr_arith, sh);
                }
                assert_true(k->sum(n, x) == ref->sum(n, x));
            }
        }
    }
    free(a); free(b); free(want); free(got); free(inplace);
}

/* The reference itself against hand-checked values (signed view). */
static void ref_known_values(void **state)
{
    (void)state;
    uint64_t a[4] = { (uint64_t)-8, 8, 1ull << 63, UINT64_MAX }, out[4];
    cc_kern_ref.shr_arith(4, a, 2, out);
    assert_true(out[0] == (uint64_t)-2 && out[1] == 2 && out[2] == 0xe000000000000000ull &&
                out[3] == UINT64_MAX);
    cc_kern_ref.shr_logic(4, a, 2, out);
    assert_true(out[2] == 1ull << 61 && out[3] == UINT64_MAX >> 2);
    cc_kern_ref.mul(4, a, a, out);
    assert_true(out[0] == 64 && out[1] == 64 && out[2] == 0 && out[3] == 1);
    cc_kern_ref.neg(4, a, out);
    assert_true(out[0] == 8 && out[2] == 1ull << 63 && out[3] == 1);
    assert_true(cc_kern_ref.sum(4, a) == (uint64_t)-1 + (1ull << 63));
}

/* Float samples for fxp_from_f32: random bit patterns (every exponent,
 * subnormals, inf, nan), values on either side of the 2^(62-f) limit, and
 * exact halves (ties round away from zero), both signs. */
static float fxp_sample(unsigned f)
{
    uint64_t r = splitmix();
    uint32_t u;
    float x;
    switch (r & 7) {
    case 0: {   /* just below / at / above the limit 2^(62-f) */
        float lim = ldexpf(1.0f, 62 - (int)f);
        static const float scale[] = { 0.99999994f, 1.0f, 1.0000001f, 0.5f };
        x = lim * scale[(r >> 3) & 3];
        break;
    }
    case 1:     /* k + 1/2 ulps of the fixed-point grid: a tie */
        x = ldexpf((float)((r >> 3) % 4096) + 0.5f, -(int)f);
        break;
    case 2:     /* small exponents and subnormals */
        u = (uint32_t)(r >> 8) & 0x0fffffffu;
        memcpy(&x, &u, 4);
        break;
    default:
        u = (uint32_t)(r >> 16);
        memcpy(&x, &u, 4);
    }
    return (r >> 40) & 1 ? -x : x;
}

/* fxp_from_f32 of every table equals the reference bit for bit, including
 * the index of the first value that does not fit, for every length (tails),
 * offset and f; and the reference on hand-checked values. */
static void fxp_all_isas(void **state)
{
    (void)state;
    static const unsigned fs[] = { 1, 12, 16, 18, 20, 24, 40 };
    static const size_t lens[] = { 0, 1, 3, 7, 8, 9, 15, 16, 17, 100, 1027 };
    enum { MAXN = 1027 + 4 };
    float *x = malloc(MAXN * sizeof *x);
    uint64_t *want = malloc(MAXN * 8), *got = malloc(MAXN * 8);
    const cc_kern *tables[8];
    size_t nt = tables_to_check(tables, 8);
    for (size_t fi = 0; fi < CC_ARRAY_LEN(fs); fi++) {
        const unsigned f = fs[fi];
        for (size_t li = 0; li < CC_ARRAY_LEN(lens); li++) {
            for (int rep = 0; rep < 8; rep++) {
                const size_t n = lens[li], off = (size_t)rep % 3;
                /* half the runs all-valid (a few bad values make every
                 * long run stop early) */
                for (size_t i = 0; i < MAXN; i++) {
                    float v = fxp_sample(f);
                    uint64_t tmp;
                    while (rep & 1 && !cc_kern_ref.fxp_from_f32(1, &v, f, &tmp)) v = fxp_sample(f);
                    x[i] = v;
                }
                size_t wi = cc_kern_ref.fxp_from_f32(n, x + off, f, want);
                for (size_t t = 0; t < nt; t++) {
                    memset(got, 0xa5, MAXN * 8);
                    size_t gi = tables[t]->fxp_from_f32(n, x + off, f, got);
                    if (gi != wi || memcmp(want, got, wi * 8) != 0)
                        fail_msg("%s fxp_from_f32 f=%u n=%zu off=%zu: first bad %zu (ref %zu), "
                                 "values %s", tables[t]->name, f, n, off, gi, wi,
                                 gi != wi ? "-" : "differ");
                }
            }
        }
    }
    /* the reference, by hand (f = 18) */
    const float v[] = { 1.0f, -1.0f, 0.5f / 262144.0f, -0.5f / 262144.0f, 1.5f / 262144.0f, 0.0f,
                        -0.0f, 16383.999f };
    uint64_t o[8];
    assert_int_equal(cc_kern_ref.fxp_from_f32(8, v, 18, o), 8);
    assert_true(o[0] == 262144 && o[1] == (uint64_t)-262144 && o[2] == 1 &&
                o[3] == (uint64_t)-1 && o[4] == 2 && o[5] == 0 && o[6] == 0);
    const float bad[] = { 1.0f, INFINITY, NAN };
    assert_int_equal(cc_kern_ref.fxp_from_f32(3, bad, 18, o), 1);
    const float big[] = { 0.0f, 0.0f, ldexpf(1.0f, 44) };   /* = 2^(62-18) */
    assert_int_equal(cc_kern_ref.fxp_from_f32(3, big, 18, o), 2);
    free(x); free(want); free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_rules),
        cmocka_unit_test(ref_known_values),
        cmocka_unit_test(ukr_all_isas),
        cmocka_unit_test(small_all_isas),
        cmocka_unit_test(elementwise_all_isas),
        cmocka_unit_test(fxp_all_isas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
