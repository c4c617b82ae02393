/* plot_approx_data — samples every plaintext fixed-point model of src/nn
 * (both approximation sets) against libm and writes gnuplot data files
 *   <outdir>/<fn>.dat: x exact puma precise err_puma err_precise
 * plus a Markdown table of max / mean absolute error (relative for
 * reciprocal and rsqrt) on stdout.  With --costs it prints instead the
 * declared cost (cc_nn_cost) of the benchmark shapes per party.  Built and
 * run by perf/plot_approx.sh. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn.h"

#define F 18u
typedef cc_status (*ref_fn)(const cc_nn_cfg *, size_t, const uint64_t *, uint64_t *);

static uint64_t enc(double x) { return (uint64_t)(int64_t)llround(ldexp(x, F)); }
static double dec(uint64_t v) { return ldexp((double)(int64_t)v, -(int)F); }
static double gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double silu(double x) { return x / (1 + exp(-x)); }
static double inv(double x) { return 1 / x; }
static double rsq(double x) { return 1 / sqrt(x); }

static int sample(const char *dir, const char *name, ref_fn fn, double (*ref)(double), double lo,
                  double hi, int logscale, int relative, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp) { perror(path); return 1; }
    uint64_t *x = malloc(n * 8), *yp = malloc(n * 8), *yq = malloc(n * 8);
    if (!x || !yp || !yq) return 1;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / (double)(n - 1);
        x[i] = enc(logscale ? lo * pow(hi / lo, t) : lo + (hi - lo) * t);
    }
    cc_nn_cfg puma = { F, CC_APPROX_PUMA }, precise = { F, CC_APPROX_PRECISE };
    if (fn(&puma, n, x, yp) != CC_OK || fn(&precise, n, x, yq) != CC_OK) return 1;
    double maxp = 0, maxq = 0, sump = 0, sumq = 0;
    for (size_t i = 0; i < n; i++) {
        double v = dec(x[i]), want = ref(v);
        double ep = dec(yp[i]) - want, eq = dec(yq[i]) - want;
        if (relative) { ep /= want; eq /= want; }
        fprintf(fp, "%.9g %.9g %.9g %.9g %.9g %.9g\n", v, want, dec(yp[i]), dec(yq[i]), ep, eq);
        maxp = fmax(maxp, fabs(ep)); maxq = fmax(maxq, fabs(eq));
        sump += fabs(ep); sumq += fabs(eq);
    }
    fclose(fp);
    printf("| %-10s | [%g, %g] | %s | %.3g | %.3g | %.3g | %.3g |\n", name, lo, hi,
           relative ? "relative" : "absolute", maxp, sump / (double)n, maxq, sumq / (double)n);
    free(x); free(yp); free(yq);
    return 0;
}

static void costs(void)
{
    static const struct { const char *name; cc_nn_fn fn; size_t rows, cols; int causal; } b[] = {
        { "GeLU 128×3072", CC_NN_GELU, 1, 128 * 3072, 0 },
        { "SiLU 8×11008", CC_NN_SILU, 1, 8 * 11008, 0 },
        { "exp 16384", CC_NN_EXP, 1, 16384, 0 },
        { "softmax 128×128", CC_NN_SOFTMAX, 128, 128, 0 },
        { "softmax 32×8×8 causal", CC_NN_SOFTMAX, 256, 8, 1 },
        { "reciprocal 128", CC_NN_RECIPROCAL, 1, 128, 0 },
        { "rsqrt 128", CC_NN_RSQRT, 1, 128, 0 },
        { "LayerNorm 128×768", CC_NN_LAYERNORM, 128, 768, 0 },
        { "RMSNorm 8×4096", CC_NN_RMSNORM, 8, 4096, 0 },
        { "argmax 1×32000", CC_NN_ARGMAX, 1, 32000, 0 },
    };
    uint8_t mask[64];
    cc_nn_causal_mask(8, 8, 0, mask);
    printf("| function | set | declared rounds | B/elem P0 | B/elem P1 | B/elem P2 |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        for (int set = 0; set < 2; set++) {
            cc_nn_cfg cfg = { F, set ? CC_APPROX_PRECISE : CC_APPROX_PUMA };
            double n = (double)(b[i].rows * b[i].cols);
            cc_proto_cost c[3];
            for (int p = 0; p < 3; p++)
                c[p] = cc_nn_cost(b[i].fn, &cfg, b[i].rows, b[i].cols, b[i].causal ? mask : NULL, 8, p, 0);
            printf("| %s | %s | %llu | %.1f | %.1f | %.1f |\n", b[i].name, cc_approx_name(cfg.approx),
                   (unsigned long long)c[0].rounds, c[0].bytes_sent / n, c[1].bytes_sent / n,
                   c[2].bytes_sent / n);
        }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--costs") == 0) { costs(); return 0; }
    const char *dir = argc > 1 ? argv[1] : ".";
    printf("| function | range | error | puma max | puma mean | precise max | precise mean |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int rc = 0;
    rc |= sample(dir, "gelu", cc_nnref_gelu, gelu, -16, 16, 0, 0, 64001);
    rc |= sample(dir, "silu", cc_nnref_silu, silu, -16, 16, 0, 0, 64001);
    rc |= sample(dir, "exp", cc_nnref_exp, exp, -20, 0, 0, 0, 40001);
    rc |= sample(dir, "reciprocal", cc_nnref_reciprocal, inv, 0.01, 1000, 1, 1, 40001);
    rc |= sample(dir, "rsqrt", cc_nnref_rsqrt, rsq, 0.001, 1e6, 1, 1, 40001);
    return rc;
}
