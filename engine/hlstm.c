/* engine/hlstm: see hlstm.h for the equations and layouts.  Only the gate DNNs live here; the LSTM
 * memory (activations, c/h update, window loop, truncated BPTT) is engine/lstm's. */
#include "hlstm.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

TpStatus hlstm_cache_init(HlstmCache *c, int I, int H, int M, int T, int B)
{
    memset(c, 0, sizeof *c);
    if (M <= 0) return err_set(TP_EINVAL, "hlstm: bad gate hidden size M=%d", M);
    TpStatus s = lstm_cache_init(&c->cell, I, H, T, B);
    if (s != TP_OK) return s;
    size_t n = (size_t)T * B * 4 * (size_t)M;
    c->M = M;
    c->keep = 1.0f;
    c->u = backend_alloc(n, sizeof(float));
    c->du = backend_alloc(n, sizeof(float));
    if (!c->u || !c->du) {
        hlstm_cache_free(c);
        return err_set(TP_ENOMEM, "hlstm: out of memory for activations (T=%d B=%d M=%d)", T, B, M);
    }
    return TP_OK;
}

void hlstm_cache_free(HlstmCache *c)
{
    lstm_cache_free(&c->cell);
    free(c->u);
    free(c->du);
    memset(c, 0, sizeof *c);
}

typedef struct {
    HlstmCache *c;
    const HlstmWeights *w;
    float p;       /* dropout probability, 0 = none */
    Rng *rng;
} Step;

/* Gate pre-activations of step t: U = (x-part, precomputed) + h_{t-1} W1h^T, ReLU, dropout; then
 * a_q = b2_q + u_q W2_q^T per gate. */
static void hlstm_pre(void *ctx, float *a, const float *h_prev, int t, int B)
{
    const Step *s = ctx;
    const HlstmWeights *w = s->w;
    const int I = w->I, H = w->H, M = w->M, Q = 4 * M, G = 4 * H, Z = I + H;
    float *U = s->c->u + (size_t)t * B * Q;
    backend_sgemm(0, 1, B, Q, H, 1.0f, h_prev, H, w->w1 + I, Z, 1.0f, U, Q);
    const size_t n = (size_t)B * Q;
    if (s->p > 0.0f) {
        /* one draw per unit whether or not it is active, so the stream does not depend on the values */
        const float keep = s->c->keep, p = s->p;
        for (size_t k = 0; k < n; k++) {
            float r = rng_uniform(s->rng);
            U[k] = (U[k] > 0.0f && r >= p) ? U[k] * keep : 0.0f;
        }
    } else {
#pragma omp simd
        for (size_t k = 0; k < n; k++) U[k] = U[k] > 0.0f ? U[k] : 0.0f;
    }
    for (int b = 0; b < B; b++) memcpy(a + (size_t)b * G, w->b2, (size_t)G * sizeof(float));
    for (int q = 0; q < 4; q++)
        backend_sgemm(0, 1, B, H, M, 1.0f, U + q * M, Q, w->w2 + (size_t)q * H * M, M, 1.0f, a + q * H, G);
}

/* dU_t = dA_q W2_q per gate, through ReLU and dropout (u > 0 iff active and kept, see hlstm.h);
 * dh_{t-1} += dU_t W1h. */
static void hlstm_back(void *ctx, float *dh_prev, const float *dA, int t, int B)
{
    const Step *s = ctx;
    const HlstmWeights *w = s->w;
    const int I = w->I, H = w->H, M = w->M, Q = 4 * M, G = 4 * H, Z = I + H;
    const size_t off = (size_t)t * B * Q, n = (size_t)B * Q;
    float *dU = s->c->du + off;
    const float *U = s->c->u + off, keep = s->c->keep;
    for (int q = 0; q < 4; q++)
        backend_sgemm(0, 0, B, M, H, 1.0f, dA + q * H, G, w->w2 + (size_t)q * H * M, M, 0.0f, dU + q * M, Q);
#pragma omp simd
    for (size_t k = 0; k < n; k++) dU[k] = U[k] > 0.0f ? dU[k] * keep : 0.0f;
    if (dh_prev) backend_sgemm(0, 0, B, H, Q, 1.0f, dU, Q, w->w1 + I, Z, 1.0f, dh_prev, H);
}

void hlstm_forward(HlstmCache *c, const HlstmWeights *w, const float *x, int Tw, int B, float p_drop, Rng *rng)
{
    const int I = w->I, H = w->H, Q = 4 * w->M, Z = I + H;
    const size_t N = (size_t)Tw * B;
    Step s = {c, w, (p_drop > 0.0f && rng) ? p_drop : 0.0f, rng};
    c->keep = s.p > 0.0f ? 1.0f / (1.0f - s.p) : 1.0f;
    /* x-part of all four fc1 layers for the whole window: U = x W1x^T + b1 */
    for (size_t r = 0; r < N; r++) memcpy(c->u + r * Q, w->b1, (size_t)Q * sizeof(float));
    backend_sgemm(0, 1, (int)N, Q, I, 1.0f, x, I, w->w1, Z, 1.0f, c->u, Q);
    lstm_window_forward(&c->cell, hlstm_pre, &s, Tw, B);
}

void hlstm_backward(HlstmCache *c, HlstmWeights *dw, float *dx, const HlstmWeights *w, const float *x,
                    float *dh_out, int Tw, int B)
{
    const int I = w->I, H = w->H, M = w->M, Q = 4 * M, G = 4 * H, Z = I + H;
    const int N = Tw * B;
    Step s = {c, w, 0.0f, NULL};
    lstm_window_backward(&c->cell, hlstm_back, &s, dh_out, Tw, B);
    const float *dA = c->cell.dgates;
    /* weight gradients for the whole window: fc2 per gate, fc1 in two GEMMs (h-part, x-part) */
    for (int q = 0; q < 4; q++)
        backend_sgemm(1, 0, H, M, N, 1.0f, dA + q * H, G, c->u + q * M, Q, 1.0f, dw->w2 + (size_t)q * H * M, M);
    lstm_colsum_add(dw->b2, dA, (size_t)N, G, G);
    backend_sgemm(1, 0, Q, H, N, 1.0f, c->du, Q, c->cell.h, H, 1.0f, dw->w1 + I, Z);
    backend_sgemm(1, 0, Q, I, N, 1.0f, c->du, Q, x, I, 1.0f, dw->w1, Z);
    lstm_colsum_add(dw->b1, c->du, (size_t)N, Q, Q);
    if (dx) backend_sgemm(0, 0, N, I, Q, 1.0f, c->du, Q, w->w1, Z, 0.0f, dx, I);
}
