/* plot_approx_fit — derives the coefficients of the `precise` GeLU and SiLU
 * approximations (src/nn/approx.c) by weighted least squares with Lawson
 * reweighting, which converges towards the minimax (equi-ripple) fit.
 *
 * Both functions split as f(x) = x/2 + E(x) with E even:
 *   GeLU: E(x) = x/2 · erf(x/√2)      SiLU: E(x) = x/2 · tanh(x/2)
 *
 * GeLU: one central piece [-a, a], E as a polynomial in w = (x/a)^2 ∈ [0, 1]
 * (a a power of two, so w is one multiply and one truncation in MPC).
 * Continuity with the outer pieces (0 below -a, x above a) needs E(a) = a/2,
 * i.e. Σ c_k = a/2; we impose it by eliminating c_0.
 *
 * SiLU: pieces in y = |x| (cc_silu_abs in src/nn/nn_impl.h), minimax:
 *   y < 4:       E(y)        degree 6 in w = (y/4)^2 ∈ [0, 1]
 *   4 ≤ y < 12:  E(y) - y/2  (= -y/(1+e^y)) degree 6 in z = (y - 8)/4
 *   y ≥ 12:      E(y) = y/2, error 12/(1+e^12) = 7.4e-5
 * with the two pieces' t^5 and t^6 coefficients equal in their affine
 * variables t (report_silu below).  The jumps at 4 and 12 stay below the
 * sum of the neighbouring errors.
 *
 * Build and run:  cc -O2 -o /tmp/fit perf/plot_approx_fit.c -lm && /tmp/fit
 * Prints the coefficients (to paste into src/nn/approx.c) and the max error
 * of each real-valued fit.  --scan prints GeLU's other degrees too. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#define GRID 4001
#define MAXDEG 10

static double gelu_even(double x) { return 0.5 * x * erf(x / sqrt(2.0)); }
static double silu_even(double x) { return 0.5 * x * tanh(0.5 * x); }

/* Solve the (deg)×(deg) normal equations A c = b in long double, Gauss–Jordan
 * with partial pivoting. */
static void solve(int n, long double A[MAXDEG][MAXDEG], long double *b, long double *c)
{
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int r = col + 1; r < n; r++)
            if (fabsl(A[r][col]) > fabsl(A[piv][col])) piv = r;
        for (int k = 0; k < n; k++) { long double t = A[col][k]; A[col][k] = A[piv][k]; A[piv][k] = t; }
        long double t = b[col]; b[col] = b[piv]; b[piv] = t;
        for (int r = 0; r < n; r++) {
            if (r == col) continue;
            long double m = A[r][col] / A[col][col];
            for (int k = col; k < n; k++) A[r][k] -= m * A[col][k];
            b[r] -= m * b[col];
        }
    }
    for (int r = 0; r < n; r++) c[r] = b[r] / A[r][r];
}

/* Fit E(x) on x ∈ [0, a] with c_0 + Σ_{k=1..deg} c_k w^k, Σ c_k = a/2. */
static double fit(double (*E)(double), double a, int deg, double *coef)
{
    static double xs[GRID], weight[GRID];
    for (int i = 0; i < GRID; i++) { xs[i] = a * i / (GRID - 1); weight[i] = 1.0; }
    long double c[MAXDEG];
    double maxerr = 0;
    for (int iter = 0; iter < 400; iter++) {
        long double A[MAXDEG][MAXDEG] = {{0}}, b[MAXDEG] = {0};
        for (int i = 0; i < GRID; i++) {
            double w = (xs[i] / a) * (xs[i] / a);
            long double phi[MAXDEG];
            for (int k = 1; k <= deg; k++) phi[k - 1] = powl(w, k) - 1.0L; /* c_0 eliminated */
            long double target = E(xs[i]) - 0.5L * a;
            for (int r = 0; r < deg; r++) {
                b[r] += weight[i] * phi[r] * target;
                for (int s = 0; s < deg; s++) A[r][s] += weight[i] * phi[r] * phi[s];
            }
        }
        solve(deg, A, b, c);
        /* Lawson: weights grow where the error is large. */
        double err[GRID], sum = 0;
        maxerr = 0;
        for (int i = 0; i < GRID; i++) {
            double w = (xs[i] / a) * (xs[i] / a), p = 0.5 * a;
            for (int k = 1; k <= deg; k++) p += (double)c[k - 1] * (pow(w, k) - 1.0);
            err[i] = fabs(p - E(xs[i]));
            if (err[i] > maxerr) maxerr = err[i];
        }
        for (int i = 0; i < GRID; i++) { weight[i] *= err[i] + 1e-300; sum += weight[i]; }
        for (int i = 0; i < GRID; i++) weight[i] /= sum;
    }
    double c0 = 0.5 * a;
    for (int k = 1; k <= deg; k++) { coef[k] = (double)c[k - 1]; c0 -= coef[k]; }
    coef[0] = c0;
    return maxerr;
}

static void report(const char *name, double (*E)(double), double (*tail)(double), double a, int deg)
{
    double coef[MAXDEG + 1];
    double e = fit(E, a, deg, coef);
    printf("%s: a = %g, degree %d in w = (x/a)^2: max |fit - exact| on [-a, a] = %.3g, tail error at a = %.3g\n",
           name, a, deg, e, tail(a));
    for (int k = 0; k <= deg; k++) printf("    %.17g,\n", coef[k]);
}

static double silu_outer(double y) { return silu_even(y) - 0.5 * y; }   /* -y/(1+e^y) */

/* Minimax fit of target[i] by Σ_{k≤deg} c_k v[i]^k, no constraint
 * (deg < MAXDEG).  Every iteration solves the weighted normal equations and
 * multiplies each weight by its point's error, which moves the weight onto
 * the error's extrema. */
static double fit_points(const double *v, const double *target, int deg, double *coef)
{
    static double weight[GRID];
    static long double phi[GRID][MAXDEG];
    for (int i = 0; i < GRID; i++) {
        weight[i] = 1.0;
        for (int k = 0; k <= deg; k++) phi[i][k] = powl(v[i], k);
    }
    long double c[MAXDEG];
    double maxerr = 0;
    for (int iter = 0; iter < 600; iter++) {
        long double A[MAXDEG][MAXDEG] = {{0}}, b[MAXDEG] = {0};
        for (int i = 0; i < GRID; i++)
            for (int r = 0; r <= deg; r++) {
                b[r] += weight[i] * phi[i][r] * target[i];
                for (int q = 0; q <= deg; q++) A[r][q] += weight[i] * phi[i][r] * phi[i][q];
            }
        solve(deg + 1, A, b, c);
        double sum = 0;
        maxerr = 0;
        for (int i = 0; i < GRID; i++) {
            long double p = 0;
            for (int k = 0; k <= deg; k++) p += c[k] * phi[i][k];
            double e = fabs((double)(p - target[i]));
            if (e > maxerr) maxerr = e;
            weight[i] *= e + 1e-300;
            sum += weight[i];
        }
        for (int i = 0; i < GRID; i++) weight[i] /= sum;
    }
    for (int k = 0; k <= deg; k++) coef[k] = (double)c[k];
    return maxerr;
}

/* The precise SiLU's pieces share their top coefficients (cc_silu_abs in
 * src/nn/nn_impl.h): on each piece P(t) = Σ_{k≤4} E_k t^k + H5 t^5 + H6 t^6
 * with H5 = 4, H6 = -1 public, the piece's variable t an affine image of
 * its natural one:
 *   y < 4:       t = λ·w + ν,  w = (y/4)^2,   λ = lam_q / 2^16
 *   4 ≤ y < 12:  t = κ·z + μ,  z = (y - 8)/4, κ = kappa_q / 2^6
 * In the natural variable that is a degree-6 fit whose two top
 * coefficients are q6 = H6·λ^6 and q5 = λ^5·(H5 + 6νH6): for a given λ the
 * best fit has q6 fixed and q5 free, and ν is whatever makes q5 come out
 * (likewise κ, μ).  So per grid value of λ (κ): fit F - q6·v^6 with degree
 * 5 in v, solve for ν (μ), then fit F - H5 t^5 - H6 t^6 with degree 4 in t
 * (the same optimum, in the basis the engine uses).  λ is searched next to
 * the unconstrained fit's (q6/H6)^(1/6), κ over 16..32 / 64. */
static double silu_piece(int outer, double scale, double *off, double *E)
{
    static double ys[GRID], v[GRID], tg[GRID];
    const double H5 = 4, H6 = -1;
    double c[MAXDEG];
    for (int i = 0; i < GRID; i++) {
        ys[i] = outer ? 4 + 8.0 * i / (GRID - 1) : 4.0 * i / (GRID - 1);
        v[i] = outer ? (ys[i] - 8) / 4 : (ys[i] / 4) * (ys[i] / 4);
        tg[i] = (outer ? silu_outer(ys[i]) : silu_even(ys[i])) - H6 * pow(scale, 6) * pow(v[i], 6);
    }
    fit_points(v, tg, 5, c);
    *off = (c[5] / pow(scale, 5) - H5) / (6 * H6);
    for (int i = 0; i < GRID; i++) {
        double t = scale * v[i] + *off;
        v[i] = t;
        tg[i] = (outer ? silu_outer(ys[i]) : silu_even(ys[i])) - H5 * pow(t, 5) - H6 * pow(t, 6);
    }
    return fit_points(v, tg, 4, E);
}

static void report_silu(void)
{
    double best = 1e9, off = 0, E[MAXDEG], bE[MAXDEG], boff = 0;
    int bq = 0;
    /* the unconstrained inner fit's w^6 coefficient is -0.934 */
    const int q0 = (int)lround(pow(0.93416515341218642, 1.0 / 6) * 65536);
    for (int q = q0 - 3 * 64; q <= q0 + 3 * 64; q += 64) {
        double e = silu_piece(0, q / 65536.0, &off, E);
        if (e < best) { best = e; bq = q; boff = off; memcpy(bE, E, sizeof E); }
    }
    printf("silu |x| < 4: t = lam·(|x|/4)^2 + nu, lam_q = %d (/2^16), nu = %.17g, "
           "max |fit - exact| = %.4g; E_0..E_4:\n", bq, boff, best);
    for (int k = 0; k <= 4; k++) printf("    %.17g,\n", bE[k]);
    best = 1e9;
    for (int q = 16; q <= 32; q++) {
        double e = silu_piece(1, q / 64.0, &off, E);
        if (e < best) { best = e; bq = q; boff = off; memcpy(bE, E, sizeof E); }
    }
    printf("silu 4 <= |x| < 12: |x|/2 + P(t), t = kappa·(|x|-8)/4 + mu, kappa_q = %d (/2^6), "
           "mu = %.17g, max |fit - exact| = %.4g; E_0..E_4:\n", bq, boff, best);
    for (int k = 0; k <= 4; k++) printf("    %.17g,\n", bE[k]);
    printf("silu |x| >= 12: relu(x), max error %.3g\n", 12 / (1 + exp(12.0)));
}

static double gelu_tail(double a) { return fabs(0.5 * a * (1 + erf(-a / sqrt(2.0)))); }

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--scan") == 0) {
        for (int d = 3; d <= 8; d++) report("gelu", gelu_even, gelu_tail, 4.0, d);
        return 0;
    }
    report("gelu", gelu_even, gelu_tail, 4.0, 6);
    report_silu();
    return 0;
}
