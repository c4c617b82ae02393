/* proto: every op against plaintext with three real parties over TCP on
 * loopback (cc_net_launch_local).  Inputs are public test data every party
 * derives from a fixed seed, shared locally, then the result is revealed and
 * compared.  Every run ends with declared == measured rounds and bytes per
 * op tag; one test checks that message sizes and sequences do not depend on
 * the secret values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "proto_test_util.h"

#define F 18
static const size_t sizes[] = {0, 1, 7, 1000, 100003};

/* edge values every elementwise test includes (n ≥ 8 gets them at the front) */
static const uint64_t edges[] = {0, 1, UINT64_C(0) - 1, UINT64_C(1) << 61,
                                 UINT64_C(0) - (UINT64_C(1) << 61), (UINT64_C(1) << 62) - 1,
                                 UINT64_C(0) - ((UINT64_C(1) << 62) - 1), UINT64_C(1) << F};

static void fill(uint64_t seed, size_t n, unsigned maxbits, uint64_t *out)
{
    pt_rng r = {seed};
    for (size_t j = 0; j < n; j++) out[j] = pt_spread(&r, maxbits);
    for (size_t j = 0; j < n && j < CC_ARRAY_LEN(edges) && n >= 8; j++) {
        uint64_t e = edges[j];
        /* keep edges inside the op's valid range */
        int64_t lim = maxbits >= 63 ? INT64_MAX : (INT64_C(1) << maxbits);
        if ((int64_t)e < lim && (int64_t)e > -lim) out[j] = e;
    }
}

typedef int (*pt_body)(cc_proto *ctx);

static int party_entry(cc_net *net, void *arg)
{
    pt_page *page = ((void **)arg)[0];
    pt_body body = (pt_body)((void **)arg)[1];
    pt_me = &page->party[cc_net_party(net)];
    cc_proto ctx;
    cc_status s = cc_proto_init(&ctx, net, F);
    if (s != CC_OK) {
        pt_me->status = s;
        snprintf(pt_me->msg, sizeof pt_me->msg, "init: %s", cc_error_message());
        return 1;
    }
    pt_me->checks++;   /* the body ran */
    int rc = body(&ctx);
    if (rc == 0) pt_check_costs(&ctx);
    cc_proto_free(&ctx);
    return rc != 0 || pt_me->failures ? 1 : 0;
}

static void run3(pt_body body, cc_client_main client, void *client_arg)
{
    pt_page *page = pt_page_new();
    assert_non_null(page);
    void *arg[2] = {page, (void *)body};
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 20000;
    cc_launch_result res;
    cc_status s = cc_net_launch_local(party_entry, arg, client, client_arg, &o, &res);
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        pt_report *r = &page->party[i];
        if (r->status || r->failures || res.exit_code[i]) {
            print_error("P%d: status %d, %" PRIu64 "/%" PRIu64 " checks failed, exit %d: %s\n", i,
                        r->status, r->failures, r->checks, res.exit_code[i], r->msg);
            bad++;
        }
    }
    if (s != CC_OK) print_error("launch: %s\n", cc_error_message());
    assert_int_equal(bad, 0);
    assert_int_equal(s, CC_OK);
    for (int i = 0; i < 3; i++) assert_true(page->party[i].checks > 0);
    if (getenv("PT_VERBOSE")) print_message("checks per party: %" PRIu64 "\n", page->party[0].checks);
    munmap(page, sizeof *page);
}

/* reveal x and compare with want[]: reports the first mismatch */
static int expect_a(cc_proto *ctx, const char *what, const cc_ashare *x, const uint64_t *want)
{
    uint64_t *got = malloc(8 * (x->n + 1));
    PT_TRY(cc_proto_reveal(ctx, x, got));
    size_t bad = x->n;
    for (size_t j = 0; j < x->n && bad == x->n; j++)
        if (got[j] != want[j]) bad = j;
    pt_check(bad == x->n, "%s n=%zu: element %zu is %" PRId64 ", want %" PRId64, what, x->n, bad,
             bad < x->n ? (int64_t)got[bad] : 0, bad < x->n ? (int64_t)want[bad] : 0);
    free(got);
    return 0;
}

static int expect_b(cc_proto *ctx, const char *what, const cc_bshare *x, const uint64_t *want)
{
    uint64_t *got = malloc(8 * (x->n + 1));
    PT_TRY(cc_proto_reveal_bool(ctx, x, got));
    size_t bad = x->n;
    for (size_t j = 0; j < x->n && bad == x->n; j++)
        if (got[j] != want[j]) bad = j;
    pt_check(bad == x->n, "%s n=%zu: element %zu is %#" PRIx64 ", want %#" PRIx64, what, x->n,
             bad, bad < x->n ? got[bad] : 0, bad < x->n ? want[bad] : 0);
    free(got);
    return 0;
}

/* ---- sharing and local ops ---------------------------------------------------------------- */
static int body_sharing(cc_proto *ctx)
{
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        uint64_t *x = calloc(n + 1, 8), *y = calloc(n + 1, 8), *w = calloc(n + 1, 8);
        fill(100 + n, n, 63, x);
        fill(200 + n, n, 63, y);
        cc_ashare a, b, c;
        cc_bshare bb;
        PT_TRY(cc_ashare_alloc(&a, n));
        PT_TRY(cc_ashare_alloc(&c, n));
        PT_TRY(cc_bshare_alloc(&bb, n));
        for (int owner = 0; owner < 3; owner++) {
            const uint64_t *mine = ctx->party == owner ? x : NULL;
            PT_TRY(cc_proto_input(ctx, owner, mine, &a));
            if (expect_a(ctx, "input", &a, x)) return 1;
            PT_TRY(cc_proto_input_seeded(ctx, owner, mine, &a));
            if (expect_a(ctx, "input_seeded", &a, x)) return 1;
            PT_TRY(cc_proto_input_bool(ctx, owner, ctx->party == owner ? y : NULL, &bb));
            if (expect_b(ctx, "input_bool", &bb, y)) return 1;
            /* reveal to one party */
            uint64_t *got = calloc(n + 1, 8);
            PT_TRY(cc_proto_reveal_to(ctx, owner, &a, ctx->party == owner ? got : NULL));
            if (ctx->party == owner)
                pt_check(n == 0 || memcmp(got, x, 8 * n) == 0, "reveal_to P%d n=%zu wrong", owner, n);
            free(got);
        }
        /* local ops */
        PT_TRY(pt_ashare(ctx, 7, y, n, &b));
        PT_TRY(cc_proto_add(ctx, &a, &b, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] + y[j];
        if (expect_a(ctx, "add", &c, w)) return 1;
        PT_TRY(cc_proto_sub(ctx, &a, &b, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] - y[j];
        if (expect_a(ctx, "sub", &c, w)) return 1;
        PT_TRY(cc_proto_neg(ctx, &a, &c));
        for (size_t j = 0; j < n; j++) w[j] = (uint64_t)0 - x[j];
        if (expect_a(ctx, "neg", &c, w)) return 1;
        PT_TRY(cc_proto_add_public(ctx, &a, 12345, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] + 12345;
        if (expect_a(ctx, "add_public", &c, w)) return 1;
        PT_TRY(cc_proto_add_public_vec(ctx, &a, y, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] + y[j];
        if (expect_a(ctx, "add_public_vec", &c, w)) return 1;
        PT_TRY(cc_proto_mul_public(ctx, &a, (uint64_t)-77, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] * (uint64_t)-77;
        if (expect_a(ctx, "mul_public", &c, w)) return 1;
        PT_TRY(cc_proto_mul_public_vec(ctx, &a, y, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] * y[j];
        if (expect_a(ctx, "mul_public_vec", &c, w)) return 1;
        PT_TRY(cc_proto_shl(ctx, &a, 5, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] << 5;
        if (expect_a(ctx, "shl", &c, w)) return 1;
        /* in-place (output aliases input) */
        PT_TRY(cc_proto_add(ctx, &a, &b, &a));
        for (size_t j = 0; j < n; j++) w[j] = x[j] + y[j];
        if (expect_a(ctx, "add in place", &a, w)) return 1;
        /* boolean local ops on bb = y */
        cc_bshare bc, bd;
        PT_TRY(cc_bshare_alloc(&bc, n));
        PT_TRY(pt_bshare(ctx, 9, x, n, &bd));
        PT_TRY(cc_proto_xor(ctx, &bb, &bd, &bc));
        for (size_t j = 0; j < n; j++) w[j] = x[j] ^ y[j];
        if (expect_b(ctx, "xor", &bc, w)) return 1;
        PT_TRY(cc_proto_xor_public(ctx, &bb, 0xF0F0, &bc));
        for (size_t j = 0; j < n; j++) w[j] = y[j] ^ 0xF0F0;
        if (expect_b(ctx, "xor_public", &bc, w)) return 1;
        PT_TRY(cc_proto_and_public(ctx, &bb, 0xFF00FF, &bc));
        for (size_t j = 0; j < n; j++) w[j] = y[j] & 0xFF00FF;
        if (expect_b(ctx, "and_public", &bc, w)) return 1;
        PT_TRY(cc_proto_not(ctx, &bb, &bc));
        for (size_t j = 0; j < n; j++) w[j] = ~y[j];
        if (expect_b(ctx, "not", &bc, w)) return 1;
        PT_TRY(cc_proto_bshl(ctx, &bb, 3, &bc));
        for (size_t j = 0; j < n; j++) w[j] = y[j] << 3;
        if (expect_b(ctx, "bshl", &bc, w)) return 1;
        PT_TRY(cc_proto_bshr(ctx, &bb, 60, &bc));
        for (size_t j = 0; j < n; j++) w[j] = y[j] >> 60;
        if (expect_b(ctx, "bshr", &bc, w)) return 1;
        cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
        cc_bshare_free(&bb); cc_bshare_free(&bc); cc_bshare_free(&bd);
        free(x); free(y); free(w);
    }
    /* sum rows: 3 x 5 and 0 x 4 */
    uint64_t x[15], w[3];
    fill(5, 15, 63, x);
    cc_ashare a, r;
    PT_TRY(pt_ashare(ctx, 3, x, 15, &a));
    PT_TRY(cc_ashare_alloc(&r, 3));
    PT_TRY(cc_proto_sum_rows(ctx, &a, 3, 5, &r));
    for (int i = 0; i < 3; i++) {
        w[i] = 0;
        for (int j = 0; j < 5; j++) w[i] += x[i * 5 + j];
    }
    if (expect_a(ctx, "sum_rows", &r, w)) return 1;
    /* shape errors name the op and the sizes */
    cc_status s = cc_proto_sum_rows(ctx, &a, 4, 5, &r);
    pt_check(s == CC_ERR_ARG && strstr(cc_error_message(), "sum_rows"),
             "sum_rows with a wrong shape: status %d, '%s'", s, cc_error_message());
    cc_ashare_free(&a);
    cc_ashare_free(&r);
    return 0;
}

/* ---- multiplication and matmul ------------------------------------------------------------------ */
static void plain_gemm(size_t M, size_t N, size_t K, cc_trans ta, const uint64_t *A, cc_trans tb,
                       const uint64_t *B, uint64_t *C)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            uint64_t s = 0;
            for (size_t k = 0; k < K; k++)
                s += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = s;
        }
}

static int body_mul(cc_proto *ctx)
{
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        uint64_t *x = calloc(n + 1, 8), *y = calloc(n + 1, 8), *w = calloc(n + 1, 8);
        fill(300 + n, n, 63, x);
        fill(400 + n, n, 63, y);
        cc_ashare a, b, c;
        PT_TRY(pt_ashare(ctx, 1, x, n, &a));
        PT_TRY(pt_ashare(ctx, 2, y, n, &b));
        PT_TRY(cc_ashare_alloc(&c, n));
        PT_TRY(cc_proto_mul(ctx, &a, &b, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] * y[j];
        if (expect_a(ctx, "mul", &c, w)) return 1;
        PT_TRY(cc_proto_square(ctx, &a, &c));
        for (size_t j = 0; j < n; j++) w[j] = x[j] * x[j];
        if (expect_a(ctx, "square", &c, w)) return 1;
        PT_TRY(cc_proto_mul(ctx, &a, &b, &a));   /* in place */
        for (size_t j = 0; j < n; j++) w[j] = x[j] * y[j];
        if (expect_a(ctx, "mul in place", &a, w)) return 1;
        cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
        free(x); free(y); free(w);
    }
    /* matmul: shapes incl. zero dims, transposed variants, batches */
    static const size_t shapes[][4] = {{1, 1, 1, 1}, {1, 3, 4, 5}, {3, 5, 7, 9}, {2, 0, 3, 4},
                                       {1, 4, 0, 3}, {2, 4, 3, 0}, {4, 16, 16, 8},
                                       {1, 128, 96, 200}};
    for (size_t si = 0; si < CC_ARRAY_LEN(shapes); si++)
        for (int t = 0; t < 3; t++) {
            size_t B_ = shapes[si][0], M = shapes[si][1], N = shapes[si][2], K = shapes[si][3];
            cc_trans ta = t == 2 ? CC_TRANS : CC_NOTRANS, tb = t == 1 ? CC_TRANS : CC_NOTRANS;
            size_t na = B_ * M * K, nb = B_ * K * N, nc = B_ * M * N;
            uint64_t *x = calloc(na + 1, 8), *y = calloc(nb + 1, 8), *w = calloc(nc + 1, 8);
            fill(500 + si, na, 63, x);
            fill(600 + si, nb, 63, y);
            for (size_t h = 0; h < B_; h++)
                plain_gemm(M, N, K, ta, x + h * M * K, tb, y + h * K * N, w + h * M * N);
            cc_ashare a, b, c;
            PT_TRY(pt_ashare(ctx, 11, x, na, &a));
            PT_TRY(pt_ashare(ctx, 12, y, nb, &b));
            PT_TRY(cc_ashare_alloc(&c, nc));
            PT_TRY(cc_proto_matmul(ctx, B_, M, N, K, ta, &a, tb, &b, &c));
            char what[64];
            snprintf(what, sizeof what, "matmul %zux%zux%zux%zu t%d", B_, M, N, K, t);
            if (expect_a(ctx, what, &c, w)) return 1;
            if (B_ == 1 && ta == CC_NOTRANS) {
                /* the same product with B as a prepared weight */
                cc_proto_weight wt;
                PT_TRY(cc_proto_weight_from_share(&wt, &b, K, N, tb));
                PT_TRY(cc_proto_matmul_weight(ctx, M, &a, &wt, &c));
                snprintf(what, sizeof what, "matmul_weight %zux%zux%zu t%d", M, N, K, t);
                if (expect_a(ctx, what, &c, w)) return 1;
                /* in two column halves: local terms side by side, one reshare */
                uint64_t *z = calloc(nc + 1, 8);
                size_t half = N / 2;
                cc_proto_weight lo = wt, hi = wt;
                lo.N = half;
                hi.N = N - half;
                if (half % 8 == 0) {   /* whole packed panels: the halves are operands */
                    hi.packed_sum = wt.packed_sum + half * K;
                    hi.packed_self = wt.packed_self + half * K;
                    PT_TRY(cc_proto_matmul_weight_term(ctx, M, &a, &lo, z, N));
                    PT_TRY(cc_proto_matmul_weight_term(ctx, M, &a, &hi, z + half, N));
                } else {
                    PT_TRY(cc_proto_matmul_weight_term(ctx, M, &a, &wt, z, N));
                }
                PT_TRY(cc_proto_finish_terms(ctx, z, false, &c));
                snprintf(what, sizeof what, "matmul_weight_term %zux%zux%zu t%d", M, N, K, t);
                if (expect_a(ctx, what, &c, w)) return 1;
                free(z);
                cc_proto_weight_free(&wt);
            }
            if (B_ == 1 && t == 0 && M * N * K > 0) {
                /* seed-derived planes W = Σ_j PRG_j (stream elements from 5 on),
                 * generated inside the GEMM; whole, and in column blocks of two
                 * panels against one packed X */
                size_t words = cc_ring_packed_size(K, N) / 8;
                uint64_t *sum = calloc(words + 1, 8), *tmp = calloc(words + 1, 8);
                uint64_t *W = calloc(K * N + 1, 8), *wz = calloc(nc + 1, 8);
                cc_prg g[3];
                for (int j = 0; j < 3; j++) {
                    uint8_t seed[16] = { 's', (uint8_t)j };
                    cc_prg_init(&g[j], seed, 99);
                    cc_prg_u64(&g[j], 5, words, tmp);
                    cc_ring_add(words, sum, tmp, sum);
                }
                cc_ring_unpack_b(K, N, sum, W, N);
                plain_gemm(M, N, K, CC_NOTRANS, x, CC_NOTRANS, W, wz);
                int i = ctx->party;
                cc_proto_weight gw = { .K = K, .N = N, .gen_self = &g[i],
                                       .gen_next = &g[(i + 1) % 3], .gen_first = 5 };
                PT_TRY(cc_proto_matmul_weight(ctx, M, &a, &gw, &c));
                snprintf(what, sizeof what, "matmul_weight generated %zux%zux%zu", M, N, K);
                if (expect_a(ctx, what, &c, wz)) return 1;
                cc_proto_xpack xp = { 0 };
                PT_TRY(cc_proto_xpack_init(&xp, M, K, &a));
                uint64_t *z = calloc(nc + 1, 8);
                for (size_t c0 = 0; c0 < N; c0 += 16) {
                    cc_proto_weight blk = gw;
                    blk.N = CC_MIN((size_t)16, N - c0);
                    blk.gen_first = 5 + c0 * K;
                    PT_TRY(cc_proto_matmul_weight_term_x(ctx, &xp, &blk, z + c0, N));
                }
                PT_TRY(cc_proto_finish_terms(ctx, z, false, &c));
                snprintf(what, sizeof what, "term_x generated blocks %zux%zux%zu", M, N, K);
                if (expect_a(ctx, what, &c, wz)) return 1;
                /* the same planes stored (packed_next form), same packed X */
                uint64_t *self = calloc(words + 1, 8), *next = calloc(words + 1, 8);
                cc_prg_u64(&g[i], 5, words, self);
                cc_prg_u64(&g[(i + 1) % 3], 5, words, next);
                cc_proto_weight sw = { .K = K, .N = N, .packed_self = self, .packed_next = next };
                memset(z, 0, nc * 8);
                PT_TRY(cc_proto_matmul_weight_term_x(ctx, &xp, &sw, z, N));
                PT_TRY(cc_proto_finish_terms(ctx, z, false, &c));
                snprintf(what, sizeof what, "term_x stored planes %zux%zux%zu", M, N, K);
                if (expect_a(ctx, what, &c, wz)) return 1;
                cc_proto_xpack_free(&xp);
                free(sum); free(tmp); free(W); free(wz); free(z); free(self); free(next);
            }
            cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
            free(x); free(y); free(w);
        }
    return 0;
}

/* ---- truncation ----------------------------------------------------------------------------- */
static int64_t floor_shift(int64_t x, unsigned d) { return x >> d; }   /* arithmetic = floor */

static int check_trunc(const char *what, const cc_ashare *y, const int64_t *exact_floor,
                       cc_proto *ctx)
{
    uint64_t *got = malloc(8 * (y->n + 1));
    PT_TRY(cc_proto_reveal(ctx, y, got));
    size_t bad = 0, first = y->n;
    for (size_t j = 0; j < y->n; j++) {
        int64_t e = (int64_t)got[j] - exact_floor[j];
        if (e < -1 || e > 2) {      /* trunc.c: within 1.25 ulps of x/2^d */
            if (!bad++) first = j;
        }
    }
    pt_check(bad == 0, "%s n=%zu: %zu results outside floor - 1 .. floor + 2, first at %zu: %" PRId64
             " vs floor %" PRId64, what, y->n, bad, first, first < y->n ? (int64_t)got[first] : 0,
             first < y->n ? exact_floor[first] : 0);
    free(got);
    return 0;
}

static int body_trunc(cc_proto *ctx)
{
    static const unsigned ds[] = {1, 18, 40, 61};
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++)
        for (size_t di = 0; di < CC_ARRAY_LEN(ds); di++) {
            size_t n = sizes[si];
            unsigned d = ds[di];
            uint64_t *x = calloc(n + 1, 8);
            int64_t *w = calloc(n + 1, 8);
            fill(700 + n + d, n, 62, x);     /* |x| < 2^62 - 2^(d-2), trunc.c */
            const int64_t lim = (INT64_C(1) << 62) - (d >= 2 ? INT64_C(1) << (d - 2) : 0) - 1;
            for (size_t j = 0; j < n; j++) {
                if ((int64_t)x[j] < -lim) x[j] = (uint64_t)-lim;
                if ((int64_t)x[j] > lim) x[j] = (uint64_t)lim;
                w[j] = floor_shift((int64_t)x[j], d);
            }
            cc_ashare a, c;
            PT_TRY(pt_ashare(ctx, 21, x, n, &a));
            PT_TRY(cc_ashare_alloc(&c, n));
            PT_TRY(cc_proto_trunc(ctx, &a, d, &c));
            char what[48];
            snprintf(what, sizeof what, "trunc d=%u", d);
            if (check_trunc(what, &c, w, ctx)) return 1;
            PT_TRY(cc_proto_trunc(ctx, &a, d, &a));    /* in place */
            if (check_trunc("trunc in place", &a, w, ctx)) return 1;
            cc_ashare_free(&a); cc_ashare_free(&c);
            free(x); free(w);
        }
    /* fixed-point multiply with one truncation: a·b/2^f for |a·b| < 2^62 */
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        uint64_t *x = calloc(n + 1, 8), *y = calloc(n + 1, 8);
        int64_t *w = calloc(n + 1, 8);
        fill(800 + n, n, 31, x);
        fill(900 + n, n, 30, y);
        for (size_t j = 0; j < n; j++) w[j] = floor_shift((int64_t)(x[j] * y[j]), F);
        cc_ashare a, b, c;
        PT_TRY(pt_ashare(ctx, 31, x, n, &a));
        PT_TRY(pt_ashare(ctx, 32, y, n, &b));
        PT_TRY(cc_ashare_alloc(&c, n));
        PT_TRY(cc_proto_mul_fxp(ctx, &a, &b, &c));
        if (check_trunc("mul_fxp", &c, w, ctx)) return 1;
        for (size_t j = 0; j < n; j++) w[j] = floor_shift((int64_t)(x[j] * x[j]), F);
        PT_TRY(cc_proto_square_fxp(ctx, &a, &c));
        if (check_trunc("square_fxp", &c, w, ctx)) return 1;
        for (size_t j = 0; j < n; j++) w[j] = floor_shift((int64_t)(x[j] * (uint64_t)-3000), F);
        PT_TRY(cc_proto_mul_public_fxp(ctx, &a, (uint64_t)-3000, &c));
        if (check_trunc("mul_public_fxp", &c, w, ctx)) return 1;
        /* sum of three products plus an addend, one truncation by d:
         * [u | v | u] ⊙ [v | v | u] + 5u with |u|, |v| < 2^29 */
        {
            uint64_t *u = calloc(n + 1, 8), *v = calloc(n + 1, 8);
            fill(1000 + n, n, 29, u);
            fill(1100 + n, n, 29, v);
            cc_ashare au, av, L, R, A5;
            PT_TRY(pt_ashare(ctx, 33, u, n, &au));
            PT_TRY(pt_ashare(ctx, 34, v, n, &av));
            PT_TRY(cc_ashare_alloc(&L, 3 * n));
            PT_TRY(cc_ashare_alloc(&R, 3 * n));
            PT_TRY(cc_ashare_alloc(&A5, n));
            for (int k = 0; k < 2; k++) {
                memcpy(L.s[k], au.s[k], 8 * n); memcpy(L.s[k] + n, av.s[k], 8 * n);
                memcpy(L.s[k] + 2 * n, au.s[k], 8 * n);
                memcpy(R.s[k], av.s[k], 8 * n); memcpy(R.s[k] + n, av.s[k], 8 * n);
                memcpy(R.s[k] + 2 * n, au.s[k], 8 * n);
            }
            PT_TRY(cc_proto_mul_public(ctx, &au, 5, &A5));
            for (unsigned d = 7; d <= 40; d += 33) {
                for (size_t j = 0; j < n; j++)
                    w[j] = floor_shift((int64_t)(u[j] * v[j] + v[j] * v[j] + u[j] * u[j] + 5 * u[j]), d);
                PT_TRY(cc_proto_mul_sum_trunc(ctx, 3, &L, &R, &A5, d, &c));
                if (check_trunc("mul_sum_trunc", &c, w, ctx)) return 1;
            }
            {
                /* untruncated: exact */
                uint64_t *ex = calloc(n + 1, 8);
                for (size_t j = 0; j < n; j++) ex[j] = u[j] * v[j] + v[j] * v[j] + u[j] * u[j] + 5 * u[j];
                PT_TRY(cc_proto_mul_sum(ctx, 3, &L, &R, &A5, &c));
                if (expect_a(ctx, "mul_sum", &c, ex)) return 1;
                free(ex);
            }
            for (size_t j = 0; j < n; j++) w[j] = floor_shift((int64_t)(u[j] * v[j]), F);
            cc_ashare L1 = cc_ashare_slice(&L, 0, n), R1 = cc_ashare_slice(&R, 0, n);
            PT_TRY(cc_proto_mul_sum_trunc(ctx, 1, &L1, &R1, NULL, F, &c));
            if (check_trunc("mul_sum_trunc 1 term", &c, w, ctx)) return 1;
            pt_check(n == 0 || cc_proto_mul_sum_trunc(ctx, 2, &L, &R, NULL, F, &c) == CC_ERR_ARG,
                     "mul_sum_trunc accepted 3n operands for 2 terms");
            cc_ashare_free(&au); cc_ashare_free(&av);
            cc_ashare_free(&L); cc_ashare_free(&R); cc_ashare_free(&A5);
            free(u); free(v);
        }
        cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
        free(x); free(y); free(w);
    }
    /* fixed-point matmul, truncated once after accumulation */
    static const size_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 8, 16, 64}, {1, 0, 2, 2}};
    for (size_t si = 0; si < CC_ARRAY_LEN(shapes); si++)
        for (int t = 0; t < 2; t++) {
            size_t B_ = shapes[si][0], M = shapes[si][1], N = shapes[si][2], K = shapes[si][3];
            cc_trans tb = t ? CC_TRANS : CC_NOTRANS;
            size_t na = B_ * M * K, nb = B_ * K * N, nc = B_ * M * N;
            uint64_t *x = calloc(na + 1, 8), *y = calloc(nb + 1, 8), *p = calloc(nc + 1, 8);
            int64_t *w = calloc(nc + 1, 8);
            fill(1000 + si, na, 28, x);
            fill(1100 + si, nb, 28, y);
            for (size_t h = 0; h < B_; h++)
                plain_gemm(M, N, K, CC_NOTRANS, x + h * M * K, tb, y + h * K * N, p + h * M * N);
            for (size_t j = 0; j < nc; j++) w[j] = floor_shift((int64_t)p[j], F);
            cc_ashare a, b, c;
            PT_TRY(pt_ashare(ctx, 41, x, na, &a));
            PT_TRY(pt_ashare(ctx, 42, y, nb, &b));
            PT_TRY(cc_ashare_alloc(&c, nc));
            PT_TRY(cc_proto_matmul_fxp(ctx, B_, M, N, K, CC_NOTRANS, &a, tb, &b, &c));
            if (check_trunc("matmul_fxp", &c, w, ctx)) return 1;
            if (B_ == 1) {
                cc_proto_weight wt;
                PT_TRY(cc_proto_weight_from_share(&wt, &b, K, N, tb));
                PT_TRY(cc_proto_matmul_weight_fxp(ctx, M, &a, &wt, &c));
                if (check_trunc("matmul_weight_fxp", &c, w, ctx)) return 1;
                /* a group in one truncation (Q, K, V): the terms of X·W twice,
                 * side by side, finished once: [X·W | X·W] */
                cc_ashare c2;
                int64_t *w2 = calloc(2 * nc + 1, 8);
                uint64_t *z2 = calloc(2 * nc + 1, 8);
                memcpy(w2, w, nc * 8);
                memcpy(w2 + nc, w, nc * 8);
                PT_TRY(cc_ashare_alloc(&c2, 2 * nc));
                PT_TRY(cc_proto_matmul_weight_term(ctx, M, &a, &wt, z2, N));
                PT_TRY(cc_proto_matmul_weight_term(ctx, M, &a, &wt, z2 + nc, N));
                PT_TRY(cc_proto_finish_terms(ctx, z2, true, &c2));
                if (check_trunc("matmul_weight_term + finish_terms (fxp)", &c2, w2, ctx)) return 1;
                cc_ashare_free(&c2);
                free(w2);
                free(z2);
                /* the planes as stored (bundles): pack(W_i), pack(W_{i+1}) */
                size_t ld = tb == CC_TRANS ? K : N;
                uint64_t *self = cc_alloc(cc_ring_packed_size(K, N) + 8);
                uint64_t *next = cc_alloc(cc_ring_packed_size(K, N) + 8);
                cc_ring_pack_b(tb, K, N, b.s[0], ld, self);
                cc_ring_pack_b(tb, K, N, b.s[1], ld, next);
                cc_proto_weight planes = { .K = K, .N = N, .packed_self = self,
                                           .packed_next = next };
                PT_TRY(cc_proto_matmul_weight_fxp(ctx, M, &a, &planes, &c));
                if (check_trunc("matmul_weight_fxp", &c, w, ctx)) return 1;
                cc_free(self);
                cc_free(next);
                cc_proto_weight_free(&wt);
            }
            cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
            free(x); free(y); free(p); free(w);
        }
    /* 3-out-of-3 terms (proto_terms.h): a·b + c·c + (x << 5) + public,
     * truncated once; with a second segment truncated by another shift; and
     * reshared without truncation.  Every helper position (3 rounds). */
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++)
        for (int rep = 0; rep < 3; rep++) {
            size_t n = sizes[si];
            uint64_t *x = calloc(n + 1, 8), *y = calloc(n + 1, 8), *q = calloc(n + 1, 8);
            uint64_t *z = calloc(2 * n + 1, 8), *sum = calloc(2 * n + 1, 8);
            int64_t *w = calloc(2 * n + 1, 8);
            fill(1300 + n + rep, n, 28, x);
            fill(1400 + n + rep, n, 28, y);
            fill(1500 + n + rep, n, 40, q);
            const uint64_t pub = (uint64_t)-123456789;
            for (size_t j = 0; j < n; j++) {
                sum[j] = x[j] * y[j] + y[j] * y[j] + (q[j] << 5) + (pub << 3);
                sum[n + j] = x[j] * x[j];
            }
            cc_ashare a, b, c, o, o2;
            PT_TRY(pt_ashare(ctx, 81, x, n, &a));
            PT_TRY(pt_ashare(ctx, 82, y, n, &b));
            PT_TRY(pt_ashare(ctx, 83, q, n, &c));
            PT_TRY(cc_ashare_alloc(&o, n));
            PT_TRY(cc_ashare_alloc(&o2, 2 * n));
            cc_proto_terms_mul_acc(ctx, &a, &b, z);
            cc_proto_terms_mul_acc(ctx, &b, &b, z);
            cc_proto_terms_add_share(ctx, &c, 5, z);
            cc_proto_terms_add_public(ctx, n, pub, 3, z);
            cc_proto_terms_mul_acc(ctx, &a, &a, z + n);
            for (size_t j = 0; j < n; j++) w[j] = floor_shift((int64_t)sum[j], 20);
            PT_TRY(cc_proto_trunc_terms(ctx, z, 20, &o));
            if (check_trunc("trunc_terms d=20", &o, w, ctx)) return 1;
            size_t len[2] = { n, n };
            unsigned ds2[2] = { 7, 33 };
            for (size_t j = 0; j < n; j++) {
                w[j] = floor_shift((int64_t)sum[j], 7);
                w[n + j] = floor_shift((int64_t)sum[n + j], 33);
            }
            PT_TRY(cc_proto_trunc_terms_seg(ctx, z, 2, len, ds2, &o2));
            if (check_trunc("trunc_terms_seg d=7|33", &o2, w, ctx)) return 1;
            /* an empty segment between them changes nothing; each segment's
             * message fields have its own widths (the declared bytes, priced
             * per segment, are checked against the measured ones at the end) */
            size_t len3[3] = { n, 0, n };
            unsigned ds3[3] = { 7, 62, 33 };
            PT_TRY(cc_proto_trunc_terms_seg(ctx, z, 3, len3, ds3, &o2));
            if (check_trunc("trunc_terms_seg d=7|-|33", &o2, w, ctx)) return 1;
            cc_proto_cost c7 = cc_proto_trunc_seg_cost(CC_OP_MUL_TRUNC, 1, &len[0], &ds2[0], 1);
            cc_proto_cost c33 = cc_proto_trunc_seg_cost(CC_OP_MUL_TRUNC, 1, &len[1], &ds2[1], 1);
            cc_proto_cost c2 = cc_proto_trunc_seg_cost(CC_OP_MUL_TRUNC, 3, len3, ds3, 1);
            pt_check(c2.bytes_sent == c7.bytes_sent + c33.bytes_sent && c2.rounds == (n ? 2u : 0u),
                     "segmented truncation cost %llu B, %llu rounds",
                     (unsigned long long)c2.bytes_sent, (unsigned long long)c2.rounds);
            pt_check(c7.bytes_sent == (59 * n + 7) / 8 + n,   /* an opener: 59 + 8 bits each */
                     "opener bytes at d = 7: %llu", (unsigned long long)c7.bytes_sent);
            PT_TRY(cc_proto_reshare_terms(ctx, z, &o));
            if (expect_a(ctx, "reshare_terms", &o, sum)) return 1;
            cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c);
            cc_ashare_free(&o); cc_ashare_free(&o2);
            free(x); free(y); free(q); free(z); free(sum); free(w);
        }
    /* a scope mixing send-only roles (truncation helper, input owner,
     * reveal_to sender) with exchanges: declared rounds must still equal
     * the measured ones (checked with every other tag at the end) */
    {
        uint64_t v[64];
        fill(4242, 64, 40, v);
        cc_ashare sa, sb;
        PT_TRY(pt_ashare(ctx, 71, v, 64, &sa));
        PT_TRY(cc_ashare_alloc(&sb, 64));
        cc_bshare bt;
        PT_TRY(cc_bshare_alloc(&bt, 64));
        uint64_t got[64];
        for (int rep = 0; rep < 3; rep++) {          /* every helper position */
            cc_proto_scope_begin(ctx, "scope_test");
            PT_TRY(cc_proto_trunc(ctx, &sa, 3, &sb));
            PT_TRY(cc_proto_trunc(ctx, &sb, 2, &sb));
            PT_TRY(cc_proto_input(ctx, rep, ctx->party == rep ? v : NULL, &sb));
            PT_TRY(cc_proto_input(ctx, (rep + 1) % 3, ctx->party == (rep + 1) % 3 ? v : NULL, &sb));
            PT_TRY(cc_proto_reveal_to(ctx, rep, &sb, ctx->party == rep ? got : NULL));
            PT_TRY(cc_proto_mul_fxp(ctx, &sa, &sb, &sb));
            PT_TRY(cc_proto_eq(ctx, &sa, &sb, &bt));
            PT_TRY(cc_proto_select(ctx, &bt, &sa, &sb, &sb));
            PT_TRY(cc_proto_mul(ctx, &sa, &sb, &sb));
            cc_proto_scope_end(ctx);
        }
        cc_ashare_free(&sa);
        cc_ashare_free(&sb);
        cc_bshare_free(&bt);
    }
    /* bad shift */
    cc_ashare a;
    PT_TRY(cc_ashare_alloc(&a, 4));
    cc_status s = cc_proto_trunc(ctx, &a, 0, &a);
    pt_check(s == CC_ERR_ARG, "trunc by 0 bits: status %d", s);
    {   /* too many segments, a segment shifted by 63 */
        uint64_t z[4] = { 0 };
        size_t len9[9] = { 1, 1, 1, 1, 0, 0, 0, 0, 0 };
        unsigned d9[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        s = cc_proto_trunc_terms_seg(ctx, z, 9, len9, d9, &a);
        pt_check(s == CC_ERR_ARG, "trunc_terms_seg with 9 segments: status %d", s);
        d9[1] = 63;
        s = cc_proto_trunc_terms_seg(ctx, z, 4, len9, d9, &a);
        pt_check(s == CC_ERR_ARG, "trunc_terms_seg by 63 bits: status %d", s);
    }
    cc_ashare_free(&a);
    return 0;
}

/* ---- boolean circuits, comparisons, conversions ---------------------------------------------------- */
static int body_bool(cc_proto *ctx)
{
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++) {
        size_t n = sizes[si];
        uint64_t *x = calloc(n + 1, 8), *y = calloc(n + 1, 8), *w = calloc(n + 1, 8);
        fill(1200 + n, n, 62, x);
        fill(1300 + n, n, 62, y);
        for (size_t j = 0; j < n; j += 3) y[j] = x[j];      /* ties / equal pairs */
        cc_ashare a, b, c, d;
        cc_bshare ba, bb, bc;
        PT_TRY(pt_ashare(ctx, 51, x, n, &a));
        PT_TRY(pt_ashare(ctx, 52, y, n, &b));
        PT_TRY(cc_ashare_alloc(&c, n));
        PT_TRY(cc_ashare_alloc(&d, n));
        PT_TRY(pt_bshare(ctx, 53, x, n, &ba));
        PT_TRY(pt_bshare(ctx, 54, y, n, &bb));
        PT_TRY(cc_bshare_alloc(&bc, n));

        PT_TRY(cc_proto_and(ctx, &ba, &bb, &bc));
        for (size_t j = 0; j < n; j++) w[j] = x[j] & y[j];
        if (expect_b(ctx, "and", &bc, w)) return 1;

        /* a2b over the whole ring */
        uint64_t *full = calloc(n + 1, 8);
        fill(1400 + n, n, 64, full);
        cc_ashare af;
        PT_TRY(pt_ashare(ctx, 55, full, n, &af));
        PT_TRY(cc_proto_a2b(ctx, &af, &bc));
        if (expect_b(ctx, "a2b", &bc, full)) return 1;
        PT_TRY(cc_proto_msb(ctx, &af, &bc));
        for (size_t j = 0; j < n; j++) w[j] = full[j] >> 63;
        if (expect_b(ctx, "msb full range", &bc, w)) return 1;
        /* equality over the whole ring: equal, off by 2^63, by 1, by a high bit */
        {
            uint64_t *other = calloc(n + 1, 8);
            for (size_t j = 0; j < n; j++)
                other[j] = j % 4 == 0 ? full[j] : j % 4 == 1 ? full[j] ^ (UINT64_C(1) << 63)
                         : j % 4 == 2 ? full[j] + 1 : full[j] ^ (UINT64_C(1) << (j % 64));
            cc_ashare ao;
            PT_TRY(pt_ashare(ctx, 56, other, n, &ao));
            PT_TRY(cc_proto_eq(ctx, &af, &ao, &bc));
            for (size_t j = 0; j < n; j++) w[j] = full[j] == other[j];
            if (expect_b(ctx, "eq full range", &bc, w)) return 1;
            cc_ashare_free(&ao);
            free(other);
        }
        /* the digit first level over the whole ring: random values plus
         * every digit-boundary pattern (carry chains through all-ones digits) */
        {
            static const uint64_t edge[] = {0, 1, ~UINT64_C(0), UINT64_C(1) << 63,
                                            (UINT64_C(1) << 63) - 1, UINT64_C(0x0FFFFFFFFFFFFFFF),
                                            UINT64_C(0xF000000000000000), UINT64_C(0x7FFFFFFFFFFFFFF0),
                                            UINT64_C(0x8000000000000001), UINT64_C(0x7000000000000000),
                                            UINT64_C(0x00FFFFFFFFFFFFFF), UINT64_C(0xFF00000000000000),
                                            UINT64_C(0x7FFFFFFFFFFFFF00), UINT64_C(0x80000000000000FF)};
            for (size_t j = 0; j < n && j < CC_ARRAY_LEN(edge); j++) full[j] = edge[j];
            cc_ashare_free(&af);
            PT_TRY(pt_ashare(ctx, 59, full, n, &af));
            PT_TRY(cc_proto_msb_kind(ctx, CC_MSB_DIGITS, &af, &bc));
            for (size_t j = 0; j < n; j++) w[j] = full[j] >> 63;
            if (expect_b(ctx, "msb digits full range", &bc, w)) return 1;
            PT_TRY(cc_proto_msb_kind(ctx, CC_MSB_DIGITS8, &af, &bc));
            if (expect_b(ctx, "msb 8-bit digits full range", &bc, w)) return 1;
            if (n <= 1000) {   /* 64 KB of one-hot per element: a per-row variant */
                PT_TRY(cc_proto_msb_kind(ctx, CC_MSB_DIGITS16, &af, &bc));
                if (expect_b(ctx, "msb 16-bit digits full range", &bc, w)) return 1;
            }
        }
        cc_ashare_free(&af);
        free(full);

        /* narrow MSB / lt over [-2^32, 2^32): random values of every
         * magnitude up to 2^32 plus the range's edges */
        {
            uint64_t *nv = calloc(n + 1, 8), *thr = calloc(n + 1, 8);
            fill(1450 + n, n, 32, nv);
            static const int64_t nedge[] = {0, -1, 1, INT64_C(1) << 31, -(INT64_C(1) << 31),
                                            (INT64_C(1) << 32) - 1, -(INT64_C(1) << 32),
                                            (INT64_C(1) << 31) - 1};
            for (size_t j = 0; j < n && j < CC_ARRAY_LEN(nedge); j++) nv[j] = (uint64_t)nedge[j];
            for (size_t j = 0; j < n; j++) {
                if ((int64_t)nv[j] >= (INT64_C(1) << 32)) nv[j] = (INT64_C(1) << 32) - 1;
                if ((int64_t)nv[j] < -(INT64_C(1) << 32)) nv[j] = (uint64_t)-(INT64_C(1) << 32);
            }
            cc_ashare an;
            PT_TRY(pt_ashare(ctx, 57, nv, n, &an));
            PT_TRY(cc_proto_msb_narrow(ctx, &an, &bc));
            for (size_t j = 0; j < n; j++) w[j] = (int64_t)nv[j] < 0;
            if (expect_b(ctx, "msb_narrow", &bc, w)) return 1;
            PT_TRY(cc_proto_msb_kind(ctx, CC_MSB_NARROW_DIGITS, &an, &bc));
            if (expect_b(ctx, "msb narrow digits", &bc, w)) return 1;
            PT_TRY(cc_proto_msb_kind(ctx, CC_MSB_NARROW_DIGITS8, &an, &bc));
            if (expect_b(ctx, "msb narrow 8-bit digits", &bc, w)) return 1;
            /* thresholds within 2^31 of values within 2^31 */
            for (size_t j = 0; j < n; j++) {
                nv[j] = (uint64_t)((int64_t)nv[j] >> 1);
                thr[j] = (uint64_t)(((int64_t)(nv[j] * 0x9E3779B97F4A7C15u) >> 33));
                if (j % 5 == 0) thr[j] = nv[j];                 /* equal: not less */
                if (j % 7 == 0) thr[j] = nv[j] + 1;             /* one above */
            }
            cc_ashare_free(&an);
            PT_TRY(pt_ashare(ctx, 58, nv, n, &an));
            PT_TRY(cc_proto_lt_public_vec_narrow(ctx, &an, thr, &bc));
            for (size_t j = 0; j < n; j++) w[j] = (int64_t)nv[j] < (int64_t)thr[j];
            if (expect_b(ctx, "lt_public_vec_narrow", &bc, w)) return 1;
            PT_TRY(cc_proto_lt_public_vec_kind(ctx, CC_MSB_NARROW_DIGITS, &an, thr, &bc));
            if (expect_b(ctx, "lt_public_vec narrow digits", &bc, w)) return 1;
            /* several thresholds per element: the shared round-1 message of
             * the digit variants, and the batched copies of the pair ones */
            {
                static const int64_t tk[4] = {-(INT64_C(3) << 20) + 1, -(INT64_C(1) << 20) + 1,
                                              INT64_C(1) << 20, INT64_C(3) << 20};
                uint64_t *wm = calloc(4 * n + 1, 8);
                cc_bshare bm;
                PT_TRY(cc_bshare_alloc(&bm, 4 * n));
                for (size_t j = 0; j < n; j++)      /* around the thresholds, too */
                    if (j % 3 == 1) nv[j] = (uint64_t)(tk[j % 4] + (int64_t)(j % 5) - 2);
                cc_ashare_free(&an);
                PT_TRY(pt_ashare(ctx, 60, nv, n, &an));
                for (size_t k = 0; k < 4; k++)
                    for (size_t j = 0; j < n; j++) wm[k * n + j] = (int64_t)nv[j] < tk[k];
                static const cc_msb_kind kinds[] = {CC_MSB_FULL, CC_MSB_NARROW, CC_MSB_DIGITS,
                                                    CC_MSB_NARROW_DIGITS, CC_MSB_DIGITS8,
                                                    CC_MSB_NARROW_DIGITS8, CC_MSB_DIGITS16};
                for (size_t q = 0; q < CC_ARRAY_LEN(kinds); q++) {
                    if (kinds[q] == CC_MSB_DIGITS16 && n > 1000) continue;   /* per-row variant */
                    PT_TRY(cc_proto_lt_public_multi(ctx, kinds[q], &an, 4, (const uint64_t *)tk, &bm));
                    if (expect_b(ctx, "lt_public_multi", &bm, wm)) return 1;
                }
                cc_bshare_free(&bm);
                free(wm);
            }
            cc_ashare_free(&an);
            free(nv); free(thr);
        }

        PT_TRY(cc_proto_lt(ctx, &a, &b, &bc));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < (int64_t)y[j];
        if (expect_b(ctx, "lt", &bc, w)) return 1;
        PT_TRY(cc_proto_lt_public(ctx, &a, (uint64_t)-5, &bc));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < -5;
        if (expect_b(ctx, "lt_public", &bc, w)) return 1;
        PT_TRY(cc_proto_lt_public_vec(ctx, &a, y, &bc));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < (int64_t)y[j];
        if (expect_b(ctx, "lt_public_vec", &bc, w)) return 1;
        PT_TRY(cc_proto_lt_public_vec_kind(ctx, CC_MSB_DIGITS, &a, y, &bc));
        if (expect_b(ctx, "lt_public_vec digits", &bc, w)) return 1;
        PT_TRY(cc_proto_gt_public(ctx, &a, 0, &bc));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] > 0;
        if (expect_b(ctx, "gt_public", &bc, w)) return 1;
        PT_TRY(cc_proto_eq(ctx, &a, &b, &bc));
        for (size_t j = 0; j < n; j++) w[j] = x[j] == y[j];
        if (expect_b(ctx, "eq", &bc, w)) return 1;
        PT_TRY(cc_proto_eq_public(ctx, &a, n ? x[n / 2] : 0, &bc));
        for (size_t j = 0; j < n; j++) w[j] = x[j] == x[n / 2];
        if (expect_b(ctx, "eq_public", &bc, w)) return 1;

        /* bit tensor from lt, then injection / select / mul_bit */
        PT_TRY(cc_proto_lt(ctx, &a, &b, &bc));
        PT_TRY(cc_proto_b2a_bit(ctx, &bc, &c));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < (int64_t)y[j];
        if (expect_a(ctx, "b2a_bit", &c, w)) return 1;
        PT_TRY(cc_proto_select(ctx, &bc, &a, &b, &d));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < (int64_t)y[j] ? x[j] : y[j];
        if (expect_a(ctx, "select", &d, w)) return 1;
        PT_TRY(cc_proto_mul_bit(ctx, &bc, &a, &d));
        for (size_t j = 0; j < n; j++) w[j] = (int64_t)x[j] < (int64_t)y[j] ? x[j] : 0;
        if (expect_a(ctx, "mul_bit", &d, w)) return 1;

        cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c); cc_ashare_free(&d);
        cc_bshare_free(&ba); cc_bshare_free(&bb); cc_bshare_free(&bc);
        free(x); free(y); free(w);
    }
    /* max / argmax over rows (ties resolved to the first column) */
    static const size_t shapes[][2] = {{0, 3}, {1, 1}, {3, 7}, {5, 8}, {2, 1000}};
    /* the declared-cost table for composite ops must match what their parts
     * booked (which pt_check_costs compares with the net stats) */
    cc_proto_cost want_max = {0, 0}, want_sel = {0, 0};
    for (size_t si = 0; si < CC_ARRAY_LEN(shapes); si++) {
        cc_proto_cost c = cc_proto_op_cost(CC_OP_MAX_ROWS, shapes[si][0] * shapes[si][1],
                                           shapes[si][1], ctx->party);
        want_max.rounds += c.rounds;
        want_max.bytes_sent += c.bytes_sent;
    }
    for (size_t si = 0; si < CC_ARRAY_LEN(sizes); si++) {
        cc_proto_cost c = cc_proto_op_cost(CC_OP_MUX, sizes[si], 0, ctx->party);
        want_sel.rounds += c.rounds;
        want_sel.bytes_sent += c.bytes_sent;
    }
    cc_proto_ledger_entry led[CC_PROTO_LEDGER_MAX];
    size_t nl = cc_proto_declared(ctx, led, CC_PROTO_LEDGER_MAX);
    for (size_t i = 0; i < nl; i++)
        if (!strcmp(led[i].tag, "select") || !strcmp(led[i].tag, "mul_bit"))
            pt_check(led[i].rounds == want_sel.rounds && led[i].bytes_sent == want_sel.bytes_sent,
                     "P%d %s: table says %" PRIu64 " rounds %" PRIu64 " bytes, booked %" PRIu64
                     " / %" PRIu64, ctx->party, led[i].tag, want_sel.rounds, want_sel.bytes_sent,
                     led[i].rounds, led[i].bytes_sent);
    for (size_t si = 0; si < CC_ARRAY_LEN(shapes); si++) {
        size_t rows = shapes[si][0], cols = shapes[si][1], n = rows * cols;
        uint64_t *x = calloc(n + 1, 8), *wm = calloc(rows + 1, 8), *wi = calloc(rows + 1, 8);
        fill(1500 + si, n, 40, x);
        for (size_t j = 0; j + 5 < n; j += 11) x[j + 5] = x[j];   /* ties */
        for (size_t r = 0; r < rows; r++) {
            wm[r] = x[r * cols];
            wi[r] = 0;
            for (size_t c = 1; c < cols; c++)
                if ((int64_t)x[r * cols + c] > (int64_t)wm[r]) {
                    wm[r] = x[r * cols + c];
                    wi[r] = c;
                }
        }
        cc_ashare a, m, idx;
        PT_TRY(pt_ashare(ctx, 61, x, n, &a));
        PT_TRY(cc_ashare_alloc(&m, rows));
        PT_TRY(cc_ashare_alloc(&idx, rows));
        PT_TRY(cc_proto_max_rows(ctx, &a, rows, cols, &m));
        if (expect_a(ctx, "max_rows", &m, wm)) return 1;
        PT_TRY(cc_proto_argmax_rows(ctx, &a, rows, cols, &m, &idx));
        if (expect_a(ctx, "argmax_rows value", &m, wm)) return 1;
        if (expect_a(ctx, "argmax_rows index", &idx, wi)) return 1;
        cc_ashare_free(&a); cc_ashare_free(&m); cc_ashare_free(&idx);
        free(x); free(wm); free(wi);
    }
    nl = cc_proto_declared(ctx, led, CC_PROTO_LEDGER_MAX);
    int seen = 0;
    for (size_t i = 0; i < nl; i++)
        if (!strcmp(led[i].tag, "max_rows")) {
            seen++;
            pt_check(led[i].rounds == want_max.rounds && led[i].bytes_sent == want_max.bytes_sent,
                     "P%d max_rows: table says %" PRIu64 " rounds %" PRIu64 " bytes, booked %" PRIu64
                     " / %" PRIu64, ctx->party, want_max.rounds, want_max.bytes_sent,
                     led[i].rounds, led[i].bytes_sent);
        }
    pt_check(seen == 1, "max_rows missing from the ledger");
    return 0;
}

/* ---- secret independence -------------------------------------------------------------------------
 * The same op sequence on two different secret inputs of the same shapes
 * (role rotation restarted) must give identical per-tag stats: calls,
 * rounds, bytes sent and received. */
static int op_sequence(cc_proto *ctx, uint64_t seed)
{
    size_t n = 257;
    uint64_t *x = calloc(n, 8), *y = calloc(n, 8);
    fill(seed, n, 40, x);
    fill(seed + 1, n, 40, y);
    cc_ashare a, b, c;
    cc_bshare bt;
    PT_TRY(pt_ashare(ctx, seed, x, n, &a));
    PT_TRY(pt_ashare(ctx, seed + 2, y, n, &b));
    PT_TRY(cc_ashare_alloc(&c, n));
    PT_TRY(cc_bshare_alloc(&bt, n));
    PT_TRY(cc_proto_input(ctx, 1, ctx->party == 1 ? x : NULL, &c));
    PT_TRY(cc_proto_mul(ctx, &a, &b, &c));
    PT_TRY(cc_proto_mul_fxp(ctx, &a, &b, &c));
    PT_TRY(cc_proto_trunc(ctx, &a, 12, &c));
    PT_TRY(cc_proto_lt(ctx, &a, &b, &bt));
    PT_TRY(cc_proto_eq(ctx, &a, &b, &bt));
    PT_TRY(cc_proto_select(ctx, &bt, &a, &b, &c));
    PT_TRY(cc_proto_a2b(ctx, &a, &bt));
    cc_ashare m, idx;
    PT_TRY(cc_ashare_alloc(&m, 1));
    PT_TRY(cc_ashare_alloc(&idx, 1));
    PT_TRY(cc_proto_argmax_rows(ctx, &a, 1, n, &m, &idx));
    PT_TRY(cc_proto_reveal(ctx, &c, x));
    cc_ashare_free(&a); cc_ashare_free(&b); cc_ashare_free(&c); cc_ashare_free(&m);
    cc_ashare_free(&idx); cc_bshare_free(&bt);
    free(x); free(y);
    return 0;
}

static int body_independence(cc_proto *ctx)
{
    cc_net_stat s1[64], s2[64];
    size_t n1, n2;
    ctx->trunc_calls = 0;
    cc_net_stats_reset(ctx->net);
    cc_proto_declared_reset(ctx);
    if (op_sequence(ctx, 1000)) return 1;
    n1 = cc_net_stats(ctx->net, s1, 64);
    ctx->trunc_calls = 0;
    cc_net_stats_reset(ctx->net);
    cc_proto_declared_reset(ctx);
    if (op_sequence(ctx, 987654321)) return 1;
    n2 = cc_net_stats(ctx->net, s2, 64);
    pt_check(n1 == n2 && n1 > 5, "stats have %zu vs %zu tags", n1, n2);
    for (size_t i = 0; i < n1 && i < n2 && i < 64; i++)
        pt_check(strcmp(s1[i].tag, s2[i].tag) == 0 && s1[i].calls == s2[i].calls &&
                     s1[i].rounds == s2[i].rounds && s1[i].bytes_sent == s2[i].bytes_sent &&
                     s1[i].bytes_recv == s2[i].bytes_recv,
                 "P%d tag %s: run 1 (%" PRIu64 " rounds, %" PRIu64 "/%" PRIu64
                 " bytes) vs run 2 %s (%" PRIu64 ", %" PRIu64 "/%" PRIu64 ")",
                 ctx->party, s1[i].tag, s1[i].rounds, s1[i].bytes_sent, s1[i].bytes_recv,
                 s2[i].tag, s2[i].rounds, s2[i].bytes_sent, s2[i].bytes_recv);
    return 0;
}

/* ---- client input and output ---------------------------------------------------------------------- */
#define CLIENT_N 333
static int body_client(cc_proto *ctx)
{
    cc_ashare a;
    PT_TRY(cc_ashare_alloc(&a, CLIENT_N));
    PT_TRY(cc_proto_input_client(ctx, &a));
    uint64_t x[CLIENT_N];
    fill(77, CLIENT_N, 63, x);
    if (expect_a(ctx, "input_client", &a, x)) return 1;
    PT_TRY(cc_proto_mul_public(ctx, &a, 3, &a));
    PT_TRY(cc_proto_reveal_client(ctx, &a));
    cc_ashare_free(&a);
    return 0;
}

static int client_main(cc_client *cl, void *arg)
{
    pt_page *page = arg;
    pt_me = &page->client;
    uint64_t x[CLIENT_N], got[CLIENT_N];
    fill(77, CLIENT_N, 63, x);
    PT_TRY(cc_proto_client_input(cl, CLIENT_N, x));
    PT_TRY(cc_proto_client_reveal(cl, CLIENT_N, got));
    size_t bad = 0;
    for (size_t j = 0; j < CLIENT_N; j++) bad += got[j] != x[j] * 3;
    pt_check(bad == 0, "client reveal: %zu wrong", bad);
    return bad ? 1 : 0;
}

static void client_io(void **state)
{
    (void)state;
    pt_page *page = pt_page_new();
    assert_non_null(page);
    void *arg[2] = {page, (void *)body_client};
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 20000;
    cc_launch_result res;
    cc_status s = cc_net_launch_local(party_entry, arg, client_main, page, &o, &res);
    for (int i = 0; i < 3; i++)
        if (page->party[i].failures || page->party[i].status)
            print_error("P%d: %s\n", i, page->party[i].msg);
    if (page->client.failures || page->client.status) print_error("client: %s\n", page->client.msg);
    assert_int_equal(s, CC_OK);
    assert_int_equal(res.client_code, 0);
    assert_int_equal(page->client.failures, 0);
    assert_true(page->client.checks > 0);
    munmap(page, sizeof *page);
}

/* ---- parties that disagree on a shape fail with an error, never hang ------------------------ */
static int body_shape_disagreement(cc_proto *ctx)
{
    size_t n = ctx->party == 2 ? 101 : 100;   /* P2 is misconfigured */
    cc_ashare a, c;
    PT_TRY(cc_ashare_alloc(&a, n));
    PT_TRY(cc_ashare_alloc(&c, n));
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_proto_mul(ctx, &a, &c, &c);
    if (s == CC_OK) s = cc_proto_mul_fxp(ctx, &a, &a, &c);
    pt_me->values[0] = (uint64_t)s;
    pt_me->values[1] = cc_now_ns() - t0;
    snprintf(pt_me->msg, sizeof pt_me->msg, "%s", s == CC_OK ? "" : cc_error_message());
    cc_ashare_free(&a);
    cc_ashare_free(&c);
    return 1;   /* the run is meant to fail; the test reads the page */
}

static void shape_disagreement_fails_cleanly(void **state)
{
    (void)state;
    pt_page *page = pt_page_new();
    assert_non_null(page);
    void *arg[2] = {page, (void *)body_shape_disagreement};
    cc_net_options o;
    cc_net_options_default(&o);
    o.io_timeout_ms = 5000;
    cc_launch_result res;
    uint64_t t0 = cc_now_ns();
    cc_status s = cc_net_launch_local(party_entry, arg, NULL, NULL, &o, &res);
    double secs = cc_ns_to_s(cc_now_ns() - t0);
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        if (page->party[i].values[0] != CC_OK) failed++;
        if (getenv("PT_VERBOSE")) print_message("P%d: %s\n", i, page->party[i].msg);
    }
    assert_int_not_equal(s, CC_OK);
    /* at least the parties that received a wrong-length message report it,
     * naming the op; nobody hangs past the I/O timeout */
    assert_true(failed >= 2);
    bool named = false;
    for (int i = 0; i < 3; i++) named |= strstr(page->party[i].msg, "mul") != NULL;
    assert_true(named);
    assert_true(secs < 15.0);
    munmap(page, sizeof *page);
}

static void sharing_and_local(void **state) { (void)state; run3(body_sharing, NULL, NULL); }
static void mul_and_matmul(void **state) { (void)state; run3(body_mul, NULL, NULL); }
static void truncation(void **state) { (void)state; run3(body_trunc, NULL, NULL); }
static void boolean_and_compare(void **state) { (void)state; run3(body_bool, NULL, NULL); }
static void secret_independence(void **state) { (void)state; run3(body_independence, NULL, NULL); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sharing_and_local),
        cmocka_unit_test(mul_and_matmul),
        cmocka_unit_test(truncation),
        cmocka_unit_test(boolean_and_compare),
        cmocka_unit_test(secret_independence),
        cmocka_unit_test(client_io),
        cmocka_unit_test(shape_disagreement_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
