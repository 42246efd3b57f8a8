/* engine/conv2d: a 2-D convolution over (time, frequency) with strides and zero padding, followed
 * by DeepSpeech2's clipped ReLU (hardtanh to [0, 20]) [Amodei et al., "Deep Speech 2", 2016, §3.1].
 * The ASR model's front end (engine/asr) stacks one or two of these.
 *
 * Layout (letters: T frames, F frequency bins, C input channels, K filters, kh x kw kernel in
 * time x frequency, strides st, sf, padding pt, pf):
 *   x   [T][C][F]          one frame after the other, channels, then frequency (C = 1: [T][F])
 *   w   [K][C][kh][kw]     PyTorch's Conv2d weight with input (N, C, T, F); a [K, C kh kw] matrix
 *   b   [K]
 *   y   [T'][K][F']        T' = (T + 2 pt - kh) / st + 1, F' likewise: each output frame is the
 *                          flattened (channels x frequency) vector the next layer reads
 *   y[t'][k][f'] = clip(b_k + Σ_{c,i,j} w[k][c][i][j] x[t' st + i - pt][c][f' sf + j - pf]),
 *   clip(z) = min(max(z, 0), 20); its derivative is 1 on (0, 20), 0 elsewhere.
 * The convolution is an im2col (rows (t', f'), columns (c, i, j)) and one GEMM; the backward is
 * three GEMMs and a col2im scatter.  Weight gradients accumulate (+=); dx is written (=).
 */
#ifndef TP_CONV2D_H
#define TP_CONV2D_H

#include "base/status.h"

#define CONV2D_CLIP 20.0f

typedef struct {
    int C, F;           /* input channels, frequency bins     */
    int K, kh, kw;      /* filters, kernel (time x frequency)  */
    int st, sf, pt, pf; /* strides, zero padding               */
} Conv2dShape;

typedef struct {
    Conv2dShape s;
    int T_cap;          /* input frames the buffers hold              */
    float *col;         /* [T' F', C kh kw] im2col of the last forward */
    float *pre;         /* [T' F', K] pre-activations; dpre in backward */
    float *dcol;        /* [T' F', C kh kw] backward scratch            */
} Conv2dCache;

/* Check a shape (all sizes > 0, kernel within the padded input's frequency span, F' >= 1). */
TpStatus conv2d_shape_check(const Conv2dShape *s);
/* Output length along one axis: (n + 2 p - k) / s + 1, or 0 when the kernel does not fit. */
int conv2d_out_len(int n, int k, int stride, int pad);
int conv2d_out_freq(const Conv2dShape *s);
int conv2d_out_frames(const Conv2dShape *s, int T);

TpStatus conv2d_cache_init(Conv2dCache *c, const Conv2dShape *s);
/* Grow the buffers for inputs of up to T frames (no-op when they already suffice). */
TpStatus conv2d_reserve(Conv2dCache *c, int T);
void conv2d_cache_free(Conv2dCache *c);

/* Forward over x [T][C][F] into y [T'][K][F'] (T' = conv2d_out_frames >= 1, else TP_EINVAL).
 * Reserves as needed. */
TpStatus conv2d_forward(Conv2dCache *c, const float *w, const float *b, const float *x, int T, float *y);
/* Backward of the last forward: dy [T'][K][F'] (read only); dw, db accumulate; dx [T][C][F] written
 * when not NULL. */
void conv2d_backward(Conv2dCache *c, const float *w, float *dw, float *db, const float *dy, int T, float *dx);

#endif
