/* engine/lstm: see lstm.h for the equations and layouts.  Compiled with -O3 -fopenmp-simd so the
 * fused elementwise loops vectorise. */
#include "lstm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "backend.h"
#include "vmath.h"

TpStatus lstm_cache_init(LstmCache *c, int I, int H, int T, int B)
{
    memset(c, 0, sizeof *c);
    if (I <= 0 || H <= 0 || T <= 0 || B <= 0)
        return err_set(TP_EINVAL, "lstm: bad sizes I=%d H=%d T=%d B=%d", I, H, T, B);
    size_t G = 4 * (size_t)H, TB = (size_t)T * B;
    c->I = I;
    c->H = H;
    c->T = T;
    c->B = B;
    c->gates = backend_alloc(TB * G, sizeof(float));
    c->dgates = backend_alloc(TB * G, sizeof(float));
    c->h = backend_alloc((TB + B) * H, sizeof(float));
    c->c = backend_alloc((TB + B) * H, sizeof(float));
    c->tc = backend_alloc(TB * H, sizeof(float));
    c->dc_next = backend_alloc((size_t)B * H, sizeof(float));
    c->bias = backend_alloc(G, sizeof(float));
    if (!c->gates || !c->dgates || !c->h || !c->c || !c->tc || !c->dc_next || !c->bias) {
        lstm_cache_free(c);
        return err_set(TP_ENOMEM, "lstm: out of memory for activations (T=%d B=%d H=%d)", T, B, H);
    }
    return TP_OK;
}

void lstm_cache_free(LstmCache *c)
{
    MEM_FREE_ALL(c->gates, c->dgates, c->h, c->c, c->tc, c->dc_next, c->bias);
    memset(c, 0, sizeof *c);
}

void lstm_cell_forward(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H)
{
    size_t G = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        float *g = a + b * G;
        vmath_sigmoid(g, g, 2 * (size_t)H);               /* i, f */
        vmath_tanh(g + 2 * H, g + 2 * H, (size_t)H);       /* g    */
        vmath_sigmoid(g + 3 * H, g + 3 * H, (size_t)H);    /* o    */
        const float *cp = c_prev + (size_t)b * H;
        float *cn = c_out + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) cn[j] = g[H + j] * cp[j] + g[j] * g[2 * H + j];
    }
    vmath_tanh(tc_out, c_out, (size_t)B * H);
    for (int b = 0; b < B; b++) {
        const float *o = a + b * G + 3 * H;
        const float *t = tc_out + (size_t)b * H;
        float *h = h_out + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) h[j] = o[j] * t[j];
    }
}

void lstm_cell_backward(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                        const float *c_prev, int B, int H)
{
    size_t G = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const float *gi = gates + b * G, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        float *di = dA + b * G, *df = di + H, *dg = di + 2 * H, *dO = di + 3 * H;
        const float *t = tc + (size_t)b * H, *cp = c_prev + (size_t)b * H, *d = dh + (size_t)b * H;
        float *dcn = dc_next + (size_t)b * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            float o = go[j], i = gi[j], f = gf[j], g = gg[j], tcj = t[j];
            float dc = dcn[j] + d[j] * o * (1.0f - tcj * tcj);
            dO[j] = d[j] * tcj * o * (1.0f - o);
            di[j] = dc * g * i * (1.0f - i);
            df[j] = dc * cp[j] * f * (1.0f - f);
            dg[j] = dc * i * (1.0f - g * g);
            dcn[j] = dc * f;
        }
    }
}

void lstm_colsum_add(float *db, const float *D, size_t N, int n, int ld)
{
    for (size_t r = 0; r < N; r++) {
        const float *d = D + r * (size_t)ld;
#pragma omp simd
        for (int k = 0; k < n; k++) db[k] += d[k];
    }
}

long lstm_state_threshold(float *h, size_t n, float tau)
{
    long zeros = 0;
#pragma omp simd reduction(+ : zeros)
    for (size_t i = 0; i < n; i++) {
        float v = fabsf(h[i]) > tau ? h[i] : 0.0f;
        h[i] = v;
        zeros += v == 0.0f;
    }
    return zeros;
}

void lstm_window_forward(LstmCache *c, LstmPreFn pre, void *ctx, int Tw, int B)
{
    const int H = c->H;
    const size_t BH = (size_t)B * H, BG = 4 * BH;
    c->n_zero = 0;
    for (int t = 0; t < Tw; t++) {
        float *a = c->gates + t * BG;
        pre(ctx, a, c->h + t * BH, t, B);
        lstm_cell_forward(a, c->c + (t + 1) * BH, c->h + (t + 1) * BH, c->tc + t * BH, c->c + t * BH, B, H);
        /* h~ replaces h in place: the backward needs only gates, tc and c, so it is unchanged, which
         * is the straight-through estimator (lstm.h) */
        if (c->tau > 0.0f) c->n_zero += lstm_state_threshold(c->h + (t + 1) * BH, BH, c->tau);
    }
}

void lstm_window_backward(LstmCache *c, LstmBackFn back, void *ctx, float *dh_out, int Tw, int B)
{
    const int H = c->H;
    const size_t BH = (size_t)B * H, BG = 4 * BH;
    memset(c->dc_next, 0, BH * sizeof(float));
    for (int t = Tw - 1; t >= 0; t--) {
        float *dh = dh_out + t * BH;
        lstm_cell_backward(c->dgates + t * BG, c->dc_next, dh, c->gates + t * BG, c->tc + t * BH, c->c + t * BH,
                           B, H);
        /* the gradient into h_0 is dropped: truncated BPTT */
        back(ctx, t > 0 ? dh - BH : NULL, c->dgates + t * BG, t, B);
    }
}

/* The LSTM's recurrent part of a_t: a += h_{t-1} W_hh^T (the input part was added for the whole
 * window before the loop). */
static void lstm_pre(void *ctx, float *a, const float *h_prev, int t, int B)
{
    const LstmWeights *w = ctx;
    (void)t;
    backend_sgemm(0, 1, B, 4 * w->H, w->H, 1.0f, h_prev, w->H, w->w_hh, w->H, 1.0f, a, 4 * w->H);
}

/* dh_{t-1} += dA_t W_hh; the weight gradients are single GEMMs over the window afterwards. */
static void lstm_back(void *ctx, float *dh_prev, const float *dA, int t, int B)
{
    const LstmWeights *w = ctx;
    (void)t;
    if (dh_prev) backend_sgemm(0, 0, B, w->H, 4 * w->H, 1.0f, dA, 4 * w->H, w->w_hh, w->H, 1.0f, dh_prev, w->H);
}

void lstm_forward(LstmCache *c, const LstmWeights *w, const float *x, int Tw, int B)
{
    const int I = c->I, G = 4 * c->H;
    /* input projection of the whole window: gates = x W_ih^T + (b_ih + b_hh) */
    for (int k = 0; k < G; k++) c->bias[k] = w->b_ih[k] + w->b_hh[k];
    for (size_t r = 0; r < (size_t)Tw * B; r++) memcpy(c->gates + r * G, c->bias, (size_t)G * sizeof(float));
    backend_sgemm(0, 1, Tw * B, G, I, 1.0f, x, I, w->w_ih, I, 1.0f, c->gates, G);
    lstm_window_forward(c, lstm_pre, (void *)w, Tw, B);
}

void lstm_backward(LstmCache *c, LstmWeights *dw, float *dx, const LstmWeights *w, const float *x,
                   float *dh_out, int Tw, int B)
{
    const int H = c->H, I = c->I, G = 4 * H;
    lstm_window_backward(c, lstm_back, (void *)w, dh_out, Tw, B);
    const int N = Tw * B;
    /* weight gradients for the whole window in single GEMMs */
    backend_sgemm(1, 0, G, H, N, 1.0f, c->dgates, G, c->h, H, 1.0f, dw->w_hh, H);
    backend_sgemm(1, 0, G, I, N, 1.0f, c->dgates, G, x, I, 1.0f, dw->w_ih, I);
    float *db = c->bias; /* forward's scratch, free during backward */
    memset(db, 0, (size_t)G * sizeof(float));
    lstm_colsum_add(db, c->dgates, (size_t)N, G, G);
    for (int k = 0; k < G; k++) {
        dw->b_ih[k] += db[k];
        dw->b_hh[k] += db[k];
    }
    if (dx) backend_sgemm(0, 0, N, I, G, 1.0f, c->dgates, G, w->w_ih, I, 0.0f, dx, I);
}
