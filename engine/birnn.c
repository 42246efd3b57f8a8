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
    c->len = malloc((size_t)B * sizeof(int));
    if (!c->xr || !c->dr || !c->dh || !c->len) {
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
    free(c->len);
    memset(c, 0, sizeof *c);
}

LstmCache *birnn_dir_cache(BirnnCache *c, int dir) { return c->hlstm ? &c->hc[dir].cell : &c->lc[dir]; }

/* dst[s] = src[len_b - 1 - s] for each sequence b (blocks of n floats per sequence and step), zero
 * for s >= len_b; the same mapping reverses back (it is its own inverse on the valid steps). */
static void reverse_seqs(float *dst, const float *src, int T, int B, const int *len, size_t n)
{
    for (int s = 0; s < T; s++)
        for (int b = 0; b < B; b++) {
            float *o = dst + ((size_t)s * B + b) * n;
            if (s < len[b]) memcpy(o, src + ((size_t)(len[b] - 1 - s) * B + b) * n, n * sizeof(float));
            else memset(o, 0, n * sizeof(float));
        }
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

void birnn_forward_len(BirnnCache *c, const BirnnWeights *w, const float *x, int T, int B, const int *len, float *y,
                       float p_drop, Rng *rng)
{
    const size_t BH = (size_t)B * c->H, H = (size_t)c->H;
    for (int b = 0; b < B; b++) c->len[b] = len ? len[b] : T;
    c->n_zero = 0;
    run_dir(c, w, BIRNN_FW, x, T, B, p_drop, rng);
    reverse_seqs(c->xr, x, T, B, c->len, (size_t)c->I);
    run_dir(c, w, BIRNN_BW, c->xr, T, B, p_drop, rng);
    const float *hf = lstm_cache_out(birnn_dir_cache(c, BIRNN_FW), B);
    const float *hb = lstm_cache_out(birnn_dir_cache(c, BIRNN_BW), B);
    long zeros = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *o = y + t * BH + b * H;
            if (t >= c->len[b]) {
                memset(o, 0, H * sizeof(float));
                continue;
            }
            const float *fa = hf + t * BH + b * H, *fb = hb + (size_t)(c->len[b] - 1 - t) * BH + b * H;
            for (size_t k = 0; k < H; k++) o[k] = fa[k] + fb[k];
            if (len && c->tau > 0.0f)
                for (size_t k = 0; k < H; k++) zeros += (fa[k] == 0.0f) + (fb[k] == 0.0f);
        }
    if (len) c->n_zero = zeros; /* the valid positions only (the padding's h~ is nobody's output) */
}

void birnn_forward(BirnnCache *c, const BirnnWeights *w, const float *x, int T, int B, float *y, float p_drop,
                   Rng *rng)
{
    birnn_forward_len(c, w, x, T, B, NULL, y, p_drop, rng);
}

void birnn_backward_len(BirnnCache *c, BirnnWeights *dw, float *dx, const BirnnWeights *w, const float *x,
                        const float *dy, int T, int B)
{
    const size_t N = (size_t)T * B, H = (size_t)c->H, I = (size_t)c->I;
    /* forward direction: dy at the valid positions, 0 at the padding (the layer code overwrites its
     * dh argument) */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *o = c->dh + ((size_t)t * B + b) * H;
            if (t < c->len[b]) memcpy(o, dy + ((size_t)t * B + b) * H, H * sizeof(float));
            else memset(o, 0, H * sizeof(float));
        }
    (void)N;
    if (c->hlstm)
        hlstm_backward(&c->hc[BIRNN_FW], &dw->h[BIRNN_FW], dx, &w->h[BIRNN_FW], x, c->dh, T, B);
    else
        lstm_backward(&c->lc[BIRNN_FW], &dw->l[BIRNN_FW], dx, &w->l[BIRNN_FW], x, c->dh, T, B);
    /* backward direction: each sequence's dy reversed in its own time, over the reversed input; its
     * dx is reversed back */
    reverse_seqs(c->dh, dy, T, B, c->len, H);
    float *dxr = dx ? c->dr : NULL;
    if (c->hlstm)
        hlstm_backward(&c->hc[BIRNN_BW], &dw->h[BIRNN_BW], dxr, &w->h[BIRNN_BW], c->xr, c->dh, T, B);
    else
        lstm_backward(&c->lc[BIRNN_BW], &dw->l[BIRNN_BW], dxr, &w->l[BIRNN_BW], c->xr, c->dh, T, B);
    if (!dx) return;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *o = dx + ((size_t)t * B + b) * I;
            if (t >= c->len[b]) {
                memset(o, 0, I * sizeof(float));
                continue;
            }
            const float *r = dxr + ((size_t)(c->len[b] - 1 - t) * B + b) * I;
            for (size_t k = 0; k < I; k++) o[k] += r[k];
        }
}

void birnn_backward(BirnnCache *c, BirnnWeights *dw, float *dx, const BirnnWeights *w, const float *x,
                    const float *dy, int T, int B)
{
    birnn_backward_len(c, dw, dx, w, x, dy, T, B);
}
