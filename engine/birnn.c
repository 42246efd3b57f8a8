/* engine/birnn: see birnn.h.  Both directions run the cell's own layer code; this file only
 * reverses sequences and sums outputs. */
#include "birnn.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

TpStatus birnn_cache_init(BirnnCache *c, int hlstm, int I, int H, int M, int T, int B)
{
    memset(c, 0, sizeof *c);
    c->hlstm = hlstm;
    c->I = I;
    c->H = H;
    c->M = M;
    c->T = T;
    c->B = B;
    TpStatus s = TP_OK;
    for (int d = 0; d < 2 && s == TP_OK; d++)
        s = hlstm ? hlstm_cache_init(&c->hc[d], I, H, M, T, B) : lstm_cache_init(&c->lc[d], I, H, T, B);
    if (s != TP_OK) {
        birnn_cache_free(c);
        return s;
    }
    size_t N = (size_t)T * B, W = (size_t)(I > H ? I : H);
    c->xr = backend_alloc(N * I, sizeof(float));
    c->dr = backend_alloc(N * W, sizeof(float));
    c->dh = backend_alloc(N * H, sizeof(float));
    if (!c->xr || !c->dr || !c->dh) {
        birnn_cache_free(c);
        return err_set(TP_ENOMEM, "birnn: out of memory for activations (T=%d B=%d H=%d)", T, B, H);
    }
    return TP_OK;
}

void birnn_cache_free(BirnnCache *c)
{
    for (int d = 0; d < 2; d++) {
        lstm_cache_free(&c->lc[d]);
        hlstm_cache_free(&c->hc[d]);
    }
    free(c->xr);
    free(c->dr);
    free(c->dh);
    memset(c, 0, sizeof *c);
}

LstmCache *birnn_dir_cache(BirnnCache *c, int dir) { return c->hlstm ? &c->hc[dir].cell : &c->lc[dir]; }

/* dst block t = src block T-1-t, blocks of n floats */
static void reverse_blocks(float *dst, const float *src, int T, size_t n)
{
    for (int t = 0; t < T; t++) memcpy(dst + (size_t)t * n, src + (size_t)(T - 1 - t) * n, n * sizeof(float));
}

static void run_dir(BirnnCache *c, const BirnnWeights *w, int d, const float *x, int T, int B, float p, Rng *rng)
{
    LstmCache *lc = birnn_dir_cache(c, d);
    size_t BH = (size_t)B * c->H;
    memset(lc->h, 0, BH * sizeof(float)); /* h_0 = c_0 = 0 */
    memset(lc->c, 0, BH * sizeof(float));
    lc->tau = c->tau;
    if (c->hlstm)
        hlstm_forward(&c->hc[d], &w->h[d], x, T, B, p, rng);
    else
        lstm_forward(lc, &w->l[d], x, T, B);
    c->n_zero += lc->n_zero;
}

void birnn_forward(BirnnCache *c, const BirnnWeights *w, const float *x, int T, int B, float *y, float p_drop,
                   Rng *rng)
{
    const size_t BH = (size_t)B * c->H;
    c->n_zero = 0;
    run_dir(c, w, BIRNN_FW, x, T, B, p_drop, rng);
    reverse_blocks(c->xr, x, T, (size_t)B * c->I);
    run_dir(c, w, BIRNN_BW, c->xr, T, B, p_drop, rng);
    const float *hf = lstm_cache_out(birnn_dir_cache(c, BIRNN_FW), B);
    const float *hb = lstm_cache_out(birnn_dir_cache(c, BIRNN_BW), B);
    for (int t = 0; t < T; t++) {
        const float *a = hf + t * BH, *b = hb + (size_t)(T - 1 - t) * BH;
        float *o = y + t * BH;
        for (size_t k = 0; k < BH; k++) o[k] = a[k] + b[k];
    }
}

void birnn_backward(BirnnCache *c, BirnnWeights *dw, float *dx, const BirnnWeights *w, const float *x,
                    const float *dy, int T, int B)
{
    const size_t N = (size_t)T * B, BI = (size_t)B * c->I;
    /* forward direction: dy as is (the layer code overwrites its dh argument) */
    memcpy(c->dh, dy, N * c->H * sizeof(float));
    if (c->hlstm)
        hlstm_backward(&c->hc[BIRNN_FW], &dw->h[BIRNN_FW], dx, &w->h[BIRNN_FW], x, c->dh, T, B);
    else
        lstm_backward(&c->lc[BIRNN_FW], &dw->l[BIRNN_FW], dx, &w->l[BIRNN_FW], x, c->dh, T, B);
    /* backward direction: dy reversed in time, over the reversed input; its dx is reversed back */
    reverse_blocks(c->dh, dy, T, (size_t)B * c->H);
    float *dxr = dx ? c->dr : NULL;
    if (c->hlstm)
        hlstm_backward(&c->hc[BIRNN_BW], &dw->h[BIRNN_BW], dxr, &w->h[BIRNN_BW], c->xr, c->dh, T, B);
    else
        lstm_backward(&c->lc[BIRNN_BW], &dw->l[BIRNN_BW], dxr, &w->l[BIRNN_BW], c->xr, c->dh, T, B);
    if (!dx) return;
    for (int t = 0; t < T; t++) {
        float *o = dx + t * BI;
        const float *r = dxr + (size_t)(T - 1 - t) * BI;
        for (size_t k = 0; k < BI; k++) o[k] += r[k];
    }
}
