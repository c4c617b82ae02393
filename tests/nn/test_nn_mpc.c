/* nn MPC functions with three real parties over TCP on loopback: the revealed
 * output must equal the plaintext fixed-point model (cc_nnref_*) within the
 * documented per-function tolerance (MPC truncation is within 1.25 ulps of
 * the quotient, and later multiplications amplify those ulps), and the
 * traffic each party measures under the function's tag must equal what the
 * protocol layer declared for it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "core.h"
#include "nn.h"

#define F 18u

typedef struct party_report {
    int status;
    unsigned checks, failures;
    char msg[1024];
    char summary[4096];
} party_report;

static party_report *reports;   /* shared page, one per party */
static party_report *me;

static void report_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report_fail(const char *fmt, ...)
{
    if (me->failures++ < 4) {   /* keep the first few, one per line */
        size_t len = strlen(me->msg);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(me->msg + len, sizeof me->msg - len, fmt, ap);
        va_end(ap);
        len = strlen(me->msg);
        snprintf(me->msg + len, sizeof me->msg - len, "\n");
    }
}

#define TRY(expr)                                                                      \
    do {                                                                               \
        cc_status s_ = (expr);                                                         \
        if (s_ != CC_OK) {                                                             \
            me->status = s_;                                                           \
            snprintf(me->msg, sizeof me->msg, "line %d: %s: %s", __LINE__, #expr,      \
                     cc_error_message());                                              \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static double unif(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(mix((*s)++) >> 11) / 9007199254740992.0;
}
static uint64_t enc(double x) { return (uint64_t)(int64_t)llround(ldexp(x, F)); }

/* Sharing of public test data without communication (every party derives
 * the same x0, x1 and takes its pair), so only the op under test talks. */
static cc_status share(const cc_proto *p, uint64_t seed, const uint64_t *plain, size_t n,
                       cc_ashare *out)
{
    CC_TRY(cc_ashare_alloc(out, n));
    for (size_t j = 0; j < n; j++) {
        uint64_t x[3];
        x[0] = mix(seed ^ (3 * j));
        x[1] = mix(seed ^ (3 * j + 1) ^ 0x5555);
        x[2] = plain[j] - x[0] - x[1];
        out->s[0][j] = x[p->party];
        out->s[1][j] = x[(p->party + 1) % 3];
    }
    return CC_OK;
}

/* cc_nn_cost (static declaration) == proto ledger (ops as booked) == measured
 * (net stats) in bytes; rounds measured ≤ booked ≤ declared. */
static void check_costs(cc_proto *p, const char *tag, cc_proto_cost want, uint64_t *rounds_out,
                        uint64_t *bytes_out)
{
    cc_proto_ledger_entry led[CC_PROTO_LEDGER_MAX];
    cc_net_stat st[64];
    size_t nl = cc_proto_declared(p, led, CC_PROTO_LEDGER_MAX);
    size_t ns = cc_net_stats(p->net, st, 64);
    const cc_proto_ledger_entry *d = NULL;
    const cc_net_stat *m = NULL;
    for (size_t i = 0; i < nl; i++) if (strcmp(led[i].tag, tag) == 0) d = &led[i];
    for (size_t i = 0; i < ns; i++) if (strcmp(st[i].tag, tag) == 0) m = &st[i];
    me->checks++;
    if (!d || !m) { report_fail("%s: no ledger (%p) or net stats (%p) entry", tag, (void *)d, (void *)m); return; }
    /* bytes add up exactly; rounds of consecutive ops can overlap (a send
     * that follows a send counts once), so measured ≤ declared */
    if (d->rounds < m->rounds || d->bytes_sent != m->bytes_sent)
        report_fail("%s: declared %llu rounds / %llu B, measured %llu rounds / %llu B", tag,
             (unsigned long long)d->rounds, (unsigned long long)d->bytes_sent,
             (unsigned long long)m->rounds, (unsigned long long)m->bytes_sent);
    me->checks++;
    if (want.bytes_sent != d->bytes_sent || want.rounds < d->rounds)
        report_fail("%s: cc_nn_cost declares %llu rounds / %llu B, the ops booked %llu / %llu B", tag,
                    (unsigned long long)want.rounds, (unsigned long long)want.bytes_sent,
                    (unsigned long long)d->rounds, (unsigned long long)d->bytes_sent);
    *rounds_out = m->rounds;
    *bytes_out = m->bytes_sent;
}

static void compare(const char *what, size_t n, const uint64_t *got, const uint64_t *want,
                    double abs_ulps, double rel, size_t elems)
{
    double worst = 0, worst_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)(int64_t)(got[i] - want[i]));
        double mag = fabs((double)(int64_t)want[i]);
        double tol = abs_ulps + rel * mag;
        me->checks++;
        if (diff > tol) {
            report_fail("%s[%zu]: MPC %lld vs model %lld (tolerance %.1f ulps)", what, i,
                 (long long)(int64_t)got[i], (long long)(int64_t)want[i], tol);
            return;
        }
        if (diff > worst) worst = diff;
        if (diff / tol > worst_rel) worst_rel = diff / tol;
    }
    (void)elems;
    size_t len = strlen(me->summary);
    snprintf(me->summary + len, sizeof me->summary - len,
             "  %-24s max |MPC - model| %6.0f ulps, at most %.2f of the tolerance\n",
             what, worst, worst_rel);
}

typedef cc_status (*mpc_fn)(cc_proto *, const cc_nn_cfg *, const cc_ashare *, cc_ashare *);
typedef cc_status (*ref_fn)(const cc_nn_cfg *, size_t, const uint64_t *, uint64_t *);

/* Run one elementwise function on shares, reveal, compare with the model. */
static int elementwise(cc_proto *p, const cc_nn_cfg *cfg, const char *tag, cc_nn_fn fn, mpc_fn mf,
                       ref_fn rf, const uint64_t *plain, size_t n, double abs_ulps, double rel)
{
    cc_ashare x = { 0 }, y = { 0 };
    uint64_t *got = malloc(n * 8), *want = malloc(n * 8);
    if (!got || !want) return 1;
    TRY(share(p, 0x1234 + n, plain, n, &x));
    TRY(cc_ashare_alloc(&y, n));
    cc_proto_declared_reset(p);
    cc_net_stats_reset(p->net);
    const unsigned ph = cc_proto_trunc_phase(p);
    TRY(mf(p, cfg, &x, &y));
    uint64_t rounds = 0, bytes = 0;
    check_costs(p, tag, cc_nn_cost(fn, cfg, 1, n, NULL, 0, p->party, ph), &rounds, &bytes);
    TRY(cc_proto_reveal(p, &y, got));
    TRY(rf(cfg, n, plain, want));
    char what[64];
    snprintf(what, sizeof what, "%s/%s", tag, cc_approx_name(cfg->approx));
    compare(what, n, got, want, abs_ulps, rel, n);
    size_t len = strlen(me->summary);
    snprintf(me->summary + len, sizeof me->summary - len,
             "  %-18s %llu rounds, %.1f B/elem sent by P%d\n", what, (unsigned long long)rounds,
             (double)bytes / (double)n, p->party);
    cc_ashare_free(&x); cc_ashare_free(&y);
    free(got); free(want);
    return 0;
}

/* Inputs: random values plus each breakpoint ± 1 ulp and the extremes. */
static size_t act_inputs(uint64_t *x, size_t cap, double lo, double hi, const double *brk, size_t nb)
{
    size_t n = 0;
    uint64_t s = 99;
    for (size_t j = 0; j < nb; j++)
        for (int d = -1; d <= 1; d++) x[n++] = enc(brk[j]) + (uint64_t)(int64_t)d;
    x[n++] = enc(0); x[n++] = enc(-1e4); x[n++] = enc(1e4); x[n++] = enc(lo); x[n++] = enc(hi);
    while (n < cap) x[n++] = enc(unif(&s, lo, hi));
    return n;
}

static int party_main(cc_net *net, void *arg)
{
    (void)arg;
    cc_proto p;
    me = &reports[cc_net_party(net)];
    me->status = 0;
    if (cc_proto_init(&p, net, F) != CC_OK) { me->status = 1; snprintf(me->msg, sizeof me->msg, "%s", cc_error_message()); return 1; }
    enum { N = 1500 };
    uint64_t *x = malloc(2 * 5001 * 8);
    if (!x) return 1;
    for (int set = 0; set < 2; set++) {
        cc_nn_cfg cfg = { F, set ? CC_APPROX_PRECISE : CC_APPROX_PUMA };
        /* Tolerances from error propagation.  A protocol truncation is floor
         * or one below, so a product whose inputs are exact is off by ≤ 1
         * ulp, and one whose inputs are off by δa, δb by ≤ |a|δb + |b|δa + 2.
         * PUMA: in F1 (|x| ≤ 3) x^2, x^3, x^4, x^6 carry ≤ 1, 5, 20, 272
         * ulps, times c ≈ 0.36, 0, 0.038, 0.0018, plus the final
         * truncation: < 4 ulps (SiLU's S1 on |x| ≤ 4: < 3), tolerance 8.
         * Precise: w ∈ [0, 1] and its powers at f + 8 bits carry ≤ 1, 4, 7,
         * 10, 13, 16, 19, 22 units (w .. w^8); Σ |c_k| δ_k / 2^8 + 2 is 5.8
         * ulps for GeLU: tolerance 8.
         * Precise SiLU (units u = 2^-(f+8)): the indicators and the
         * selection are exact, t carries λw's truncation (≤ 2u), t² ≤ 6u;
         * C (|E3|, |E4| ≤ 7.2, 4·t²·t, t²·t²) ≤ 100u before its rounding,
         * ≤ 5 units of 2^-(f+3) after; so before the final truncation
         * E1·δt + t²·δC + C·δt² ≤ 0.03 + 0.64 + 0.13 = 0.8 ulp, and the
         * protocol's −1..+2 around the floor makes it < 3 ulps: tolerance 3. */
        const double gb[] = { -4, -1.95, 3 }, gq[] = { -4, 4 }, sb[] = { -8, -4, 4 };
        const double sq[] = { -12, -4, 0, 4, 12 };
        size_t n = act_inputs(x, N, -10, 10, set ? gq : gb, set ? 2 : 3);
        if (elementwise(&p, &cfg, "gelu", CC_NN_GELU, cc_nn_gelu, cc_nnref_gelu, x, n, 8, 0)) return 1;
        n = act_inputs(x, N, set ? -16 : -12, set ? 16 : 12, set ? sq : sb, set ? 5 : 3);
        if (set) { x[n - 1] = enc(16372); x[n - 2] = enc(-16372); }   /* precise SiLU's domain edge */
        if (elementwise(&p, &cfg, "silu", CC_NN_SILU, cc_nn_silu, cc_nnref_silu, x, n, set ? 3 : 8, 0)) return 1;
        /* exp: v ≤ 1, so a squaring maps an error of d ulps to ≤ 2d + 2;
         * 1 ulp after the first step, then 4 (PUMA) or 5 (precise)
         * squarings: ≤ 3·2^4 - 2 = 46 resp. 3·2^5 - 2 = 94 ulps */
        const double eb[] = { -14 };
        n = act_inputs(x, N, -20, 0, eb, 1);
        for (size_t i = 0; i < n; i++) if ((int64_t)x[i] > 0) x[i] = 0;   /* domain x ≤ 0 */
        if (elementwise(&p, &cfg, "exp", CC_NN_EXP, cc_nn_exp, cc_nnref_exp, x, n, set ? 94 : 46, 0)) return 1;
        /* reciprocal, rsqrt: the final scaling by 2^-(p+1) multiplies the ulps
         * of r, so the tolerance is relative: one ulp of the normalised input
         * (≤ 2^(1-f) = 7.6e-6 relative, halved for rsqrt) plus the
         * truncations of the iterations (≤ 2 ulps each, amplified ≤ 2×, on
         * r ≥ 2^f: ≈ 3e-5): bound ≈ 3.8e-5, tolerance 5e-5 + 8 ulps */
        uint64_t s = 7;
        for (size_t i = 0; i < 400; i++) x[i] = enc(exp(unif(&s, log(0.01), log(1e6))));
        x[0] = enc(1); x[1] = 1; x[2] = enc(1e7);
        if (elementwise(&p, &cfg, "reciprocal", CC_NN_RECIPROCAL, cc_nn_reciprocal, cc_nnref_reciprocal, x, 400, 8, 5e-5)) return 1;
        for (size_t i = 0; i < 400; i++) x[i] = enc(exp(unif(&s, log(1e-3), log(1e7))));
        x[0] = enc(1); x[1] = 1; x[2] = enc(3e8);
        /* PUMA's quartic guess has coefficients up to 50, so the ulps of
         * u^2..u^4 add up to a few hundred ulps of r (~1e-3 relative); the
         * precise set's Newton step contracts them again */
        if (elementwise(&p, &cfg, "rsqrt", CC_NN_RSQRT, cc_nn_rsqrt, cc_nnref_rsqrt, x, 400, 8,
                        set ? 5e-5 : 1e-3)) return 1;

        /* softmax: 2 heads × 8×8 causal, and 6 rows × 37 unmasked; then the
         * same shapes with scores spanning ±8000 and entries at both edges
         * of the domain |x| < 2^(31-f) - 8 (8184: the maximum's
         * comparisons are narrow, nn_impl.h) */
        for (int v = 0; v < 4; v++) {
            const int causal = v & 1, edge = v >> 1;
            size_t rows = causal ? 16 : 6, cols = causal ? 8 : 37, nn = rows * cols;   /* 37: padded groups */
            uint8_t mask[64];
            cc_nn_causal_mask(8, 8, 0, mask);
            for (size_t i = 0; i < nn; i++) x[i] = enc(unif(&s, edge ? -8000 : -12, edge ? 8000 : 12));
            x[3] = enc(-40);   /* far below the max: exp input < -14 */
            x[4] = x[5] = x[7] = enc(12.5);   /* a three-way tie for the max (one group) */
            x[cols + 1] = x[cols + 9] = enc(12.5);   /* a tie across groups */
            if (edge) {
                /* one row (attending everywhere) topped by the largest value
                 * in the domain, with exp's threshold at, one ulp below and
                 * far below it and the smallest value in the domain; another
                 * row of the smallest values only (masked entries and
                 * padding sit one ulp below them) */
                const uint64_t top = (1ull << 31) - (8ull << F) - 1, bot = (uint64_t)0 - top;
                uint64_t *r = x + (causal ? 7 : 2) * cols, *b = x + (causal ? 11 : 3) * cols;
                r[0] = top; r[1] = bot; r[2] = top + enc(-14); r[3] = top + enc(-14) - 1;
                r[5] = top - enc(0.5);
                for (size_t c = 0; c < cols; c++) b[c] = bot + (uint64_t)(c % 3) * (uint64_t)enc(2);
            }
            if (causal) {
                /* ties for the maximum inside one-group rows (a second
                 * winner would double the maximum): row 1's two live
                 * entries, three of row 6's seven */
                x[8] = x[9] = enc(12.5);
                x[6 * 8 + 1] = x[6 * 8 + 3] = x[6 * 8 + 6] = enc(13.0);
            }
            if (causal && !edge) {
                /* row 7 attends everywhere: exp's threshold (-14 below the
                 * max) and the precise set's first segment boundary (-2;
                 * both decided by the maximum's comparisons when a row is
                 * one group) exactly at and one ulp below, the middle of
                 * the last segment, and far below */
                x[7 * 8 + 0] = enc(12.5);
                x[7 * 8 + 1] = enc(-40);
                x[7 * 8 + 2] = enc(12.5) + enc(-14);
                x[7 * 8 + 3] = enc(12.5) + enc(-14) - 1;
                x[7 * 8 + 4] = enc(12.5) + enc(-2);
                x[7 * 8 + 5] = enc(12.5) + enc(-2) - 1;
                x[7 * 8 + 6] = enc(12.5) + enc(-13);
            }
            cc_ashare xs = { 0 }, ys = { 0 };
            uint64_t *got = malloc(nn * 8), *want = malloc(nn * 8);
            TRY(share(&p, 77, x, nn, &xs));
            TRY(cc_ashare_alloc(&ys, nn));
            cc_proto_declared_reset(&p);
            cc_net_stats_reset(p.net);
            const unsigned ph = cc_proto_trunc_phase(&p);
            TRY(cc_nn_softmax(&p, &cfg, rows, cols, &xs, causal ? mask : NULL, 8, &ys));
            uint64_t rounds, bytes;
            check_costs(&p, "softmax",
                        cc_nn_cost(CC_NN_SOFTMAX, &cfg, rows, cols, causal ? mask : NULL, 8, p.party, ph),
                        &rounds, &bytes);
            TRY(cc_proto_reveal(&p, &ys, got));
            TRY(cc_nnref_softmax(&cfg, rows, cols, x, causal ? mask : NULL, 8, want));
            char what[64];
            snprintf(what, sizeof what, "softmax%s%s/%s", causal ? "-causal" : "", edge ? "-edge" : "",
                     cc_approx_name(cfg.approx));
            /* each e is within 94 ulps (exp above); the row sum adds the
             * errors of ≤ 37 terms, which moves 1/s relatively by ≤ 37·94
             * ulps / s (s ≥ 1) in the worst case; typical runs stay below
             * 6% of this tolerance (80 ulps + 0.2%) */
            compare(what, nn, got, want, 80, 2e-3, nn);
            /* the decisions of row 7 (above): at exp's threshold the
             * precise exp is e^-14 ≈ 0.2 ulps and PUMA's chain about as
             * small, so 0 or not is not visible after 1/s; at a segment
             * boundary both neighbouring segments' polynomials hold.  What
             * must hold is that every such entry matches the model within
             * a few ulps (MPC truncations), much tighter than the row
             * tolerance above: a wrong segment table, midpoint or
             * threshold bit moves them by thousands of ulps (precise set:
             * PUMA's squaring chain amplifies its truncations to ~5 ulps). */
            if (causal && set) {
                for (size_t q = 7 * cols + 1; q <= 7 * cols + 6; q++)
                    if (llabs((long long)(int64_t)(got[q] - want[q])) > 4)
                        report_fail("%s: boundary entry %zu is %lld, model %lld", what, q,
                                    (long long)(int64_t)got[q], (long long)(int64_t)want[q]);
            }
            for (size_t i = 0; causal && i < nn; i++)
                if (!mask[(i / 8 % 8) * 8 + i % 8] && got[i] != 0) report_fail("%s: masked entry %zu not 0", what, i);
            cc_ashare_free(&xs); cc_ashare_free(&ys); free(got); free(want);
        }

        /* layernorm and rmsnorm, 4 rows × 48 */
        {
            size_t rows = 4, cols = 48, nn = rows * cols;
            uint64_t g[48], b[48];
            for (size_t c = 0; c < cols; c++) { g[c] = enc(unif(&s, 0.5, 1.5)); b[c] = enc(unif(&s, -1, 1)); }
            for (size_t i = 0; i < nn; i++) x[i] = enc(unif(&s, -4, 6) * (double)(1 + i / cols * 3));
            cc_ashare xs = { 0 }, gs = { 0 }, bs = { 0 }, ys = { 0 };
            uint64_t *got = malloc(nn * 8), *want = malloc(nn * 8);
            TRY(share(&p, 5, x, nn, &xs));
            TRY(share(&p, 6, g, cols, &gs));
            TRY(share(&p, 8, b, cols, &bs));
            TRY(cc_ashare_alloc(&ys, nn));
            cc_proto_declared_reset(&p);
            cc_net_stats_reset(p.net);
            unsigned ph = cc_proto_trunc_phase(&p);
            TRY(cc_nn_layernorm(&p, &cfg, rows, cols, &xs, &gs, &bs, 1e-5, &ys));
            uint64_t rounds, bytes;
            check_costs(&p, "layernorm", cc_nn_cost(CC_NN_LAYERNORM, &cfg, rows, cols, NULL, 0, p.party, ph),
                        &rounds, &bytes);
            TRY(cc_proto_reveal(&p, &ys, got));
            TRY(cc_nnref_layernorm(&cfg, rows, cols, x, g, b, 1e-5, want));
            compare(set ? "layernorm/precise" : "layernorm/puma", nn, got, want, set ? 16 : 64, set ? 2e-4 : 1e-3, nn);
            cc_net_stats_reset(p.net);
            cc_proto_declared_reset(&p);
            ph = cc_proto_trunc_phase(&p);
            TRY(cc_nn_rmsnorm(&p, &cfg, rows, cols, &xs, &gs, 1e-6, &ys));
            check_costs(&p, "rmsnorm", cc_nn_cost(CC_NN_RMSNORM, &cfg, rows, cols, NULL, 0, p.party, ph),
                        &rounds, &bytes);
            TRY(cc_proto_reveal(&p, &ys, got));
            TRY(cc_nnref_rmsnorm(&cfg, rows, cols, x, g, 1e-6, want));
            compare(set ? "rmsnorm/precise" : "rmsnorm/puma", nn, got, want, set ? 16 : 64, set ? 2e-4 : 1e-3, nn);
            cc_ashare_free(&xs); cc_ashare_free(&gs); cc_ashare_free(&bs); cc_ashare_free(&ys);
            free(got); free(want);
        }
    }
    /* argmax: exact, ties go to the first column.  17 columns (padded
     * groups), 300 columns (three levels: 300 → 38 → 5 → 1), 5001 columns
     * (pairs first, padded), 1 column; then 3×300 at the edges of the
     * domain |x| < 2^(31-f) - 8 (the comparisons are narrow): a row topped
     * by the largest value among ±8000, a row of the smallest value only
     * (ties with the padding just below go to column 0), a row of it with
     * one ulp more in the last (padded) column. */
    {
        const size_t shapes[5][2] = { { 3, 17 }, { 2, 300 }, { 2, 5001 }, { 2, 1 }, { 3, 300 } };
        for (int t = 0; t < 5; t++) {
            size_t rows = shapes[t][0], cols = shapes[t][1], nn = rows * cols;
            uint64_t s = 3 + (uint64_t)t;
            for (size_t i = 0; i < nn; i++) x[i] = enc(floor(unif(&s, -5, 5)));
            if (cols > 1) x[cols + cols / 2] = x[cols + cols - 1] = enc(9);   /* tie across groups */
            if (cols > 8) x[2] = x[5] = enc(9);                               /* tie inside a group */
            if (t == 4) {
                const uint64_t top = (1ull << 31) - (8ull << F) - 1, bot = (uint64_t)0 - top;
                for (size_t c = 0; c < cols; c++) {
                    x[c] = enc(unif(&s, -8000, 8000));
                    x[cols + c] = x[2 * cols + c] = bot;
                }
                x[123] = top;
                x[7] = bot;
                x[3 * cols - 1] = bot + 1;
            }
            cc_nn_cfg cfg = { F, CC_APPROX_PUMA };
            cc_ashare xs = { 0 }, is = { 0 };
            uint64_t got[3], want[3];
            TRY(share(&p, 9, x, nn, &xs));
            TRY(cc_ashare_alloc(&is, rows));
            cc_proto_declared_reset(&p);
            cc_net_stats_reset(p.net);
            const unsigned ph = cc_proto_trunc_phase(&p);
            TRY(cc_nn_argmax(&p, &cfg, rows, cols, &xs, &is));
            uint64_t rounds = 0, bytes = 0;
            if (cols > 1)
                check_costs(&p, "argmax", cc_nn_cost(CC_NN_ARGMAX, &cfg, rows, cols, NULL, 0, p.party, ph),
                            &rounds, &bytes);
            TRY(cc_proto_reveal(&p, &is, got));
            TRY(cc_nnref_argmax(&cfg, rows, cols, x, want));
            for (size_t r = 0; r < rows; r++) {
                me->checks++;
                if (got[r] != want[r])
                    report_fail("argmax %zux%zu row %zu: MPC %llu, model %llu", rows, cols, r,
                                (unsigned long long)got[r], (unsigned long long)want[r]);
            }
            size_t len = strlen(me->summary);
            snprintf(me->summary + len, sizeof me->summary - len, "  argmax %zux%zu: %llu rounds\n",
                     rows, cols, (unsigned long long)rounds);
            cc_ashare_free(&xs); cc_ashare_free(&is);
        }
    }
    /* wrong f is a clear error, not garbage */
    {
        cc_nn_cfg bad = { F + 1, CC_APPROX_PUMA };
        cc_ashare a = { 0 }, b = { 0 };
        TRY(cc_ashare_alloc(&a, 4));
        TRY(cc_ashare_alloc(&b, 4));
        if (cc_nn_gelu(&p, &bad, &a, &b) != CC_ERR_MISMATCH) report_fail("f mismatch not reported");
        if (cc_nn_gelu(&p, &bad, &a, &a) == CC_OK) report_fail("aliasing accepted");
        cc_ashare_free(&a); cc_ashare_free(&b);
    }
    /* a shape whose element count overflows is refused before any traffic */
    {
        cc_nn_cfg cfg = { F, CC_APPROX_PUMA };
        cc_ashare a = { 0 }, b = { 0 };
        me->checks++;
        if (cc_nn_softmax(&p, &cfg, SIZE_MAX / 2, 3, &a, NULL, 0, &b) != CC_ERR_ARG)
            report_fail("softmax accepted an overflowing shape");
    }
    free(x);
    cc_nn_scratch_release();
    cc_proto_free(&p);
    return me->failures ? 1 : 0;
}

static void three_parties_match_model(void **state)
{
    (void)state;
    reports = mmap(NULL, 3 * sizeof *reports, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(reports != MAP_FAILED);
    memset(reports, 0, 3 * sizeof *reports);
    cc_net_options opt;
    cc_net_options_default(&opt);
    cc_launch_result res;
    cc_status s = cc_net_launch_local(party_main, NULL, NULL, NULL, &opt, &res);
    for (int i = 0; i < 3; i++) {
        if (reports[i].failures || reports[i].status)
            printf("P%d: %u/%u checks failed; first:\n%s", i, reports[i].failures,
                   reports[i].checks, reports[i].msg);
    }
    printf("%s", reports[0].summary);
    if (s != CC_OK) printf("launch: %s\n", cc_error_message());
    assert_int_equal(s, CC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(reports[i].status, 0);
        assert_int_equal(reports[i].failures, 0);
        assert_true(reports[i].checks > 1000);
    }
    munmap(reports, 3 * sizeof *reports);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(three_parties_match_model) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
