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
 * SiLU: pieces in y = |x| (cc_silu_abs in src/nn/nn_impl.h), each fitted
 * freely (minimax):
 *   y < 4:       E(y)        as a polynomial in w = (y/4)^2 ∈ [0, 1]
 *   4 ≤ y < 12:  E(y) - y/2  (= -y/(1+e^y)) in z = (y - 8)/4 ∈ [-1, 1]
 *   y ≥ 12:      E(y) = y/2, error 12/(1+e^12) = 7.4e-5
 * The jumps at 4 and 12 stay below the sum of the neighbouring errors.
 *
 * Build and run:  cc -O2 -o /tmp/fit perf/plot_approx_fit.c -lm && /tmp/fit
 * Prints the coefficients (to paste into src/nn/approx.c) and the max error
 * of each real-valued fit.  --scan prints the other degrees too. */
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

/* Minimax fit of F(y) on [lo, hi] as Σ_{k=0..deg} c_k v(y)^k, no constraint
 * (deg < MAXDEG).  Basis values and targets are computed once; every
 * iteration solves the weighted normal equations and multiplies each weight
 * by its point's error, which moves the weight onto the error's extrema. */
static double fit_free(double (*F)(double), double (*v)(double), double lo, double hi, int deg,
                       double *coef)
{
    static double ys[GRID], weight[GRID], target[GRID], vpow[GRID][MAXDEG];
    static long double phi[GRID][MAXDEG];
    for (int i = 0; i < GRID; i++) {
        ys[i] = lo + (hi - lo) * i / (GRID - 1);
        weight[i] = 1.0;
        target[i] = F(ys[i]);
        double t = v(ys[i]);
        for (int k = 0; k <= deg; k++) { phi[i][k] = powl(t, k); vpow[i][k] = pow(t, k); }
    }
    long double c[MAXDEG];
    double maxerr = 0;
    for (int iter = 0; iter < 500; iter++) {
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
            double p = 0;
            for (int k = 0; k <= deg; k++) p += (double)c[k] * vpow[i][k];
            double e = fabs(p - target[i]);
            if (e > maxerr) maxerr = e;
            weight[i] *= e + 1e-300;
            sum += weight[i];
        }
        for (int i = 0; i < GRID; i++) weight[i] /= sum;
    }
    for (int k = 0; k <= deg; k++) coef[k] = (double)c[k];
    return maxerr;
}

static double silu_outer(double y) { return silu_even(y) - 0.5 * y; }   /* -y/(1+e^y) */
static double w_of_y(double y) { return (y / 4) * (y / 4); }
static double z_of_y(double y) { return (y - 8) / 4; }

static void report_silu(int deg_in, int deg_out)
{
    double c[MAXDEG];
    double e = fit_free(silu_even, w_of_y, 0, 4, deg_in, c);
    printf("silu |x| < 4, degree %d in w = (|x|/4)^2: max |fit - exact| = %.3g\n", deg_in, e);
    for (int k = 0; k <= deg_in; k++) printf("    %.17g,\n", c[k]);
    e = fit_free(silu_outer, z_of_y, 4, 12, deg_out, c);
    printf("silu 4 <= |x| < 12, |x|/2 + degree %d in z = (|x|-8)/4: max |fit - exact| = %.3g\n",
           deg_out, e);
    for (int k = 0; k <= deg_out; k++) printf("    %.17g,\n", c[k]);
    printf("silu |x| >= 12: relu(x), max error %.3g\n", 12 / (1 + exp(12.0)));
}

static double gelu_tail(double a) { return fabs(0.5 * a * (1 + erf(-a / sqrt(2.0)))); }

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--scan") == 0) {
        for (int d = 3; d <= 8; d++) report("gelu", gelu_even, gelu_tail, 4.0, d);
        for (int d = 4; d <= 8; d++) report_silu(d, d - 1);
        return 0;
    }
    report("gelu", gelu_even, gelu_tail, 4.0, 6);
    report_silu(6, 5);
    return 0;
}
