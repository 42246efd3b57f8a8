/* engine/vmath: see vmath.h.  Loops are written in shapes GCC vectorises (no calls, no branches in
 * the body); the Makefile compiles this file with -O3. */
#include "vmath.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VMATH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VMATH_CLONES
#endif

/* exp(x) = 2^n * p(r), x = n ln2 + r, |r| <= ln2/2; the polynomial is Cephes expf's. */
static inline float exp_poly(float x)
{
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.72283f ? 88.72283f : x;
    float fl = floorf(x * 1.44269504088896341f + 0.5f);
    x = x - fl * 0.693359375f + fl * 2.12194440e-4f;
    float z = x * x;
    float y = 1.9875691500e-4f;
    y = y * x + 1.3981999507e-3f;
    y = y * x + 8.3334519073e-3f;
    y = y * x + 4.1665795894e-2f;
    y = y * x + 1.6666665459e-1f;
    y = y * x + 5.0000001201e-1f;
    y = y * z + x + 1.0f;
    int32_t n = (int32_t)fl;
    /* 2^n for n in [-126, 128]: build the exponent in two halves so n = 128 and -126..-127 stay exact */
    int32_t n1 = n >> 1, n2 = n - n1;
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    return y * s1 * s2;
}

VMATH_CLONES void vmath_exp(float *y, const float *x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = exp_poly(x[i]);
}

VMATH_CLONES void vmath_sigmoid(float *y, const float *x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_poly(-x[i]));
}

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no cancellation for large |x|, and for small
 * |x| the absolute error stays below 1e-7, which is what the gradient checks need. */
VMATH_CLONES void vmath_tanh(float *y, const float *x, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        float e = exp_poly(-2.0f * a);
        float t = (1.0f - e) / (1.0f + e);
        y[i] = x[i] < 0.0f ? -t : t;
    }
}

VMATH_CLONES static float row_max(const float *x, int V)
{
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (int v = 1; v < V; v++) m = x[v] > m ? x[v] : m;
    return m;
}

/* e = exp(x - m) in place, then the sum: two simple loops vectorise where a fused one did not */
VMATH_CLONES static float row_exp_sum(float *restrict x, float m, int V, int store)
{
    float s = 0.0f;
    if (store) {
#pragma omp simd
        for (int v = 0; v < V; v++) x[v] = exp_poly(x[v] - m);
#pragma omp simd reduction(+ : s)
        for (int v = 0; v < V; v++) s += x[v];
    } else {
#pragma omp simd reduction(+ : s)
        for (int v = 0; v < V; v++) s += exp_poly(x[v] - m);
    }
    return s;
}

VMATH_CLONES static void row_scale(float *x, float a, int V)
{
    for (int v = 0; v < V; v++) x[v] *= a;
}

void vmath_softmax_rows(float *x, int N, int V)
{
    for (int r = 0; r < N; r++) {
        float *row = x + (size_t)r * V;
        float s = row_exp_sum(row, row_max(row, V), V, 1);
        row_scale(row, 1.0f / s, V);
    }
}

double vmath_softmax_xent(float *logits, const int32_t *targets, int N, int V, float grad_scale,
                          long *n_correct)
{
    double nll = 0.0;
    long correct = 0;
    for (int r = 0; r < N; r++) {
        float *x = logits + (size_t)r * V;
        int y = targets[r];
        float m = row_max(x, V);
        /* argmax: the first index holding the max (a cheap scan: the max is known) */
        int am = 0;
        while (am < V - 1 && x[am] != m) am++; /* bounded: a NaN row matches nothing */
        correct += (am == y);
        float xy = x[y];
        float s = row_exp_sum(x, m, V, grad_scale != 0.0f);
        nll += (double)logf(s) - (double)(xy - m);
        if (grad_scale != 0.0f) {
            row_scale(x, grad_scale / s, V);
            x[y] -= grad_scale;
        }
    }
    if (n_correct) *n_correct += correct;
    return nll;
}
