/* Float32 building blocks of the reference forward pass. */
#include <cblas.h>
#include <math.h>

#include "ref_impl.h"

void ref_linear(float *out, int ldo, const float *in, int n, int in_dim,
                const float *W, const float *bias, int out_dim)
{
    if (n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, W, in_dim, in, 1,
                    0.0f, out, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_dim, in_dim, 1.0f, in,
                    in_dim, W, in_dim, 0.0f, out, ldo);
    }
    if (bias)
        for (int t = 0; t < n; t++)
            for (int i = 0; i < out_dim; i++) out[(size_t)t * ldo + i] += bias[i];
}

/* RMSNorm: x / sqrt(mean(x²) + eps) · w, row by row. */
void ref_rmsnorm(float *out, const float *x, const float *w, int n, int dim, float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xr = x + (size_t)t * dim;
        float *o = out + (size_t)t * dim;
        float ss = 0.0f;
        for (int i = 0; i < dim; i++) ss += xr[i] * xr[i];
        float scale = 1.0f / sqrtf(ss / dim + eps);
        for (int i = 0; i < dim; i++) o[i] = w[i] * (scale * xr[i]);
    }
}

/* LayerNorm: (x - mean) / sqrt(var + eps) · w + b, biased variance. */
void ref_layernorm(float *out, const float *x, const float *w, const float *b, int n, int dim,
                   float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xr = x + (size_t)t * dim;
        float *o = out + (size_t)t * dim;
        float mean = 0.0f;
        for (int i = 0; i < dim; i++) mean += xr[i];
        mean /= dim;
        float var = 0.0f;
        for (int i = 0; i < dim; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= dim;
        float scale = 1.0f / sqrtf(var + eps);
        for (int i = 0; i < dim; i++) o[i] = (xr[i] - mean) * scale * w[i] + b[i];
    }
}

void ref_softmax(float *x, int len)
{
    float max = x[0];
    for (int i = 1; i < len; i++) if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int i = 0; i < len; i++) { x[i] = expf(x[i] - max); sum += x[i]; }
    for (int i = 0; i < len; i++) x[i] /= sum;
}

/* GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
float ref_gelu_tanh(float x)
{
    const float k = 0.7978845608028654f;  /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* BERT's exact GeLU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
float ref_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }

float ref_silu(float x) { return x / (1.0f + expf(-x)); }
