/* engine/conv2d: see conv2d.h. */
#include "conv2d.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

int conv2d_out_len(int n, int k, int stride, int pad)
{
    int span = n + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

int conv2d_out_freq(const Conv2dShape *s) { return conv2d_out_len(s->F, s->kw, s->sf, s->pf); }
int conv2d_out_frames(const Conv2dShape *s, int T) { return conv2d_out_len(T, s->kh, s->st, s->pt); }

TpStatus conv2d_shape_check(const Conv2dShape *s)
{
    if (s->C < 1 || s->F < 1 || s->K < 1 || s->kh < 1 || s->kw < 1 || s->st < 1 || s->sf < 1)
        return err_set(TP_EINVAL, "conv2d: sizes must be >= 1 (channels %d, bins %d, filters %d, kernel %dx%d, "
                                  "stride %dx%d)", s->C, s->F, s->K, s->kh, s->kw, s->st, s->sf);
    if (s->pt < 0 || s->pf < 0 || s->pt >= s->kh || s->pf >= s->kw)
        return err_set(TP_EINVAL, "conv2d: padding %dx%d: expected 0 <= padding < kernel %dx%d", s->pt, s->pf, s->kh,
                       s->kw);
    if (conv2d_out_freq(s) < 1)
        return err_set(TP_EINVAL, "conv2d: a kernel %d bins wide does not fit %d bins (padding %d)", s->kw, s->F, s->pf);
    return TP_OK;
}

TpStatus conv2d_cache_init(Conv2dCache *c, const Conv2dShape *s)
{
    memset(c, 0, sizeof *c);
    TpStatus st = conv2d_shape_check(s);
    if (st != TP_OK) return st;
    c->s = *s;
    return TP_OK;
}

void conv2d_cache_free(Conv2dCache *c)
{
    free(c->col);
    free(c->pre);
    free(c->dcol);
    memset(c, 0, sizeof *c);
}

TpStatus conv2d_reserve(Conv2dCache *c, int T)
{
    if (T <= c->T_cap) return TP_OK;
    const Conv2dShape *s = &c->s;
    size_t rows = (size_t)conv2d_out_frames(s, T) * conv2d_out_freq(s), ckk = (size_t)s->C * s->kh * s->kw;
    float *col = backend_alloc(rows * ckk, sizeof(float)), *pre = backend_alloc(rows * s->K, sizeof(float));
    float *dcol = backend_alloc(rows * ckk, sizeof(float));
    if (!col || !pre || !dcol) {
        free(col);
        free(pre);
        free(dcol);
        return err_set(TP_ENOMEM, "conv2d: out of memory for %d frames", T);
    }
    free(c->col);
    free(c->pre);
    free(c->dcol);
    c->col = col;
    c->pre = pre;
    c->dcol = dcol;
    c->T_cap = T;
    return TP_OK;
}

TpStatus conv2d_forward(Conv2dCache *c, const float *w, const float *b, const float *x, int T, float *y)
{
    const Conv2dShape *s = &c->s;
    const int To = conv2d_out_frames(s, T), Fo = conv2d_out_freq(s), K = s->K, ckk = s->C * s->kh * s->kw;
    if (To < 1)
        return err_set(TP_EINVAL, "conv2d: %d frames are fewer than the kernel's %d (padding %d)", T, s->kh, s->pt);
    TpStatus st = conv2d_reserve(c, T);
    if (st != TP_OK) return st;
    /* im2col: row (t', f'), column (ch, i, j) */
    for (int t = 0; t < To; t++)
        for (int f = 0; f < Fo; f++) {
            float *row = c->col + ((size_t)t * Fo + f) * ckk;
            for (int ch = 0; ch < s->C; ch++)
                for (int i = 0; i < s->kh; i++) {
                    int ti = t * s->st + i - s->pt;
                    for (int j = 0; j < s->kw; j++) {
                        int fj = f * s->sf + j - s->pf;
                        int in = ti >= 0 && ti < T && fj >= 0 && fj < s->F;
                        *row++ = in ? x[((size_t)ti * s->C + ch) * s->F + fj] : 0.0f;
                    }
                }
        }
    const int R = To * Fo;
    for (int r = 0; r < R; r++) memcpy(c->pre + (size_t)r * K, b, (size_t)K * sizeof(float));
    backend_sgemm(0, 1, R, K, ckk, 1.0f, c->col, ckk, w, ckk, 1.0f, c->pre, K);
    for (int t = 0; t < To; t++)
        for (int k = 0; k < K; k++)
            for (int f = 0; f < Fo; f++) {
                float z = c->pre[((size_t)t * Fo + f) * K + k];
                y[((size_t)t * K + k) * Fo + f] = z < 0.0f ? 0.0f : z > CONV2D_CLIP ? CONV2D_CLIP : z;
            }
    return TP_OK;
}

void conv2d_backward(Conv2dCache *c, const float *w, float *dw, float *db, const float *dy, int T, float *dx)
{
    const Conv2dShape *s = &c->s;
    const int To = conv2d_out_frames(s, T), Fo = conv2d_out_freq(s), K = s->K, ckk = s->C * s->kh * s->kw;
    const int R = To * Fo;
    /* dpre (in place of pre): dy through the clip, in the (t', f') x k layout */
    for (int t = 0; t < To; t++)
        for (int f = 0; f < Fo; f++) {
            float *p = c->pre + ((size_t)t * Fo + f) * K;
            for (int k = 0; k < K; k++) {
                float z = p[k];
                p[k] = z > 0.0f && z < CONV2D_CLIP ? dy[((size_t)t * K + k) * Fo + f] : 0.0f;
            }
        }
    backend_sgemm(1, 0, K, ckk, R, 1.0f, c->pre, K, c->col, ckk, 1.0f, dw, ckk);
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++) db[k] += c->pre[(size_t)r * K + k];
    if (!dx) return;
    backend_sgemm(0, 0, R, ckk, K, 1.0f, c->pre, K, w, ckk, 0.0f, c->dcol, ckk);
    memset(dx, 0, (size_t)T * s->C * s->F * sizeof(float));
    for (int t = 0; t < To; t++)
        for (int f = 0; f < Fo; f++) {
            const float *row = c->dcol + ((size_t)t * Fo + f) * ckk;
            for (int ch = 0; ch < s->C; ch++)
                for (int i = 0; i < s->kh; i++) {
                    int ti = t * s->st + i - s->pt;
                    for (int j = 0; j < s->kw; j++, row++) {
                        int fj = f * s->sf + j - s->pf;
                        if (ti >= 0 && ti < T && fj >= 0 && fj < s->F) dx[((size_t)ti * s->C + ch) * s->F + fj] += *row;
                    }
                }
        }
}
