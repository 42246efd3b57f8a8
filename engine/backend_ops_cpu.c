/* engine/backend_ops_cpu: the CPU implementation of the table (backend_ops.h), on the engine's own
 * kernels (engine/lstm, engine/vmath, OpenBLAS through engine/backend), so that training through the
 * table on the CPU computes what engine/train computes. */
#include "backend_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "lstm.h"
#include "optim.h"
#include "vmath.h"

static TpStatus cpu_alloc(void **p, size_t bytes)
{
    *p = backend_alloc(bytes, 1);
    return *p ? TP_OK : err_set(TP_ENOMEM, "cpu: out of memory for %zu bytes", bytes);
}
static void cpu_free(void *p) { free(p); }
static TpStatus cpu_memcpy(void *dst, const void *src, size_t bytes)
{
    if (bytes) memmove(dst, src, bytes);
    return TP_OK;
}
static TpStatus cpu_zero(void *p, size_t bytes)
{
    if (bytes) memset(p, 0, bytes);
    return TP_OK;
}
static TpStatus cpu_sync(void) { return TP_OK; }

static TpStatus cpu_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                          int ldb, float beta, float *C, int ldc)
{
    backend_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return TP_OK;
}
static TpStatus cpu_sgemv(int ta, int M0, int N0, float alpha, const float *A, int lda, const float *x, float beta,
                          float *y)
{
    backend_sgemv(ta, M0, N0, alpha, A, lda, x, beta, y);
    return TP_OK;
}

static TpStatus cpu_rows_set(float *dst, const float *row, int N, int n)
{
    for (size_t r = 0; r < (size_t)N; r++) memcpy(dst + r * n, row, (size_t)n * sizeof(float));
    return TP_OK;
}
static TpStatus cpu_colsum_add(float *db, const float *D, int N, int n, int ld)
{
    lstm_colsum_add(db, D, (size_t)N, n, ld);
    return TP_OK;
}
static TpStatus cpu_axpy(float *y, float a, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
    return TP_OK;
}
static TpStatus cpu_mul(float *x, const float *m, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= m[i];
    return TP_OK;
}
static TpStatus cpu_scale(float *x, float k, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= k;
    return TP_OK;
}
static TpStatus cpu_sumsq(const float *x, size_t n, double *out)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    *out = s;
    return TP_OK;
}

static TpStatus cpu_cell_fwd(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H)
{
    lstm_cell_forward(a, c_out, h_out, tc_out, c_prev, B, H);
    return TP_OK;
}
static TpStatus cpu_cell_bwd(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                             const float *c_prev, int B, int H)
{
    lstm_cell_backward(dA, dc_next, dh, gates, tc, c_prev, B, H);
    return TP_OK;
}
static TpStatus cpu_threshold(float *h, size_t n, float tau, long *zeros)
{
    *zeros = lstm_state_threshold(h, n, tau);
    return TP_OK;
}

static TpStatus cpu_gather(float *dst, const float *table, const int32_t *idx, int N, int E)
{
    for (size_t r = 0; r < (size_t)N; r++)
        memcpy(dst + r * E, table + (size_t)idx[r] * E, (size_t)E * sizeof(float));
    return TP_OK;
}
static TpStatus cpu_scatter_add(float *table, const float *src, const int32_t *idx, int N, int E)
{
    for (size_t r = 0; r < (size_t)N; r++) {
        float *t = table + (size_t)idx[r] * E;
        const float *s = src + r * E;
        for (int e = 0; e < E; e++) t[e] += s[e];
    }
    return TP_OK;
}

static TpStatus cpu_softmax_xent(float *logits, const int32_t *y, int N, int V, float grad_scale, double *nll,
                                 long *hits)
{
    long h = 0;
    *nll = vmath_softmax_xent(logits, y, N, V, grad_scale, &h);
    if (hits) *hits = h;
    return TP_OK;
}

static TpStatus cpu_dropout(float *out, float *mask, const float *in, size_t n, float p, uint64_t seed,
                            uint64_t counter)
{
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = backend_ops_uniform(seed, counter + i) < p ? 0.0f : keep;
        out[i] = in[i] * mask[i];
    }
    return TP_OK;
}

static TpStatus cpu_sgd(float *w, const float *g, const uint8_t *mask, size_t n, float lr)
{
    Optim o = {.kind = OPTIM_SGD, .lr = lr, .n = n};
    optim_step(&o, w, g, mask);
    return TP_OK;
}
static TpStatus cpu_adam(float *w, const float *g, float *m, float *v, const uint8_t *mask, size_t n, float lr,
                         float b1, float b2, float eps, float c1, float c2)
{
    /* optim_step's loop with the bias corrections given (engine/optim.c) */
    for (size_t i = 0; i < n; i++) {
        float live = mask ? (float)mask[i] : 1.0f;
        float gi = g[i] * live;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] = (w[i] - lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps)) * live;
    }
    return TP_OK;
}

static TpStatus cpu_csr(const BackendCsr *A, float alpha, const float *x, float beta, float *y)
{
    for (int r = 0; r < A->rows; r++) {
        float s = 0.0f;
        for (int k = A->row_ptr[r]; k < A->row_ptr[r + 1]; k++) s += A->val[k] * x[A->col[k]];
        y[r] = alpha * s + (beta != 0.0f ? beta * y[r] : 0.0f);
    }
    return TP_OK;
}
static TpStatus cpu_bsr(const BackendBsr *A, float alpha, const float *x, float beta, float *y)
{
    const int R = A->R, C = A->C;
    for (int i = 0; i < A->rows; i++) {
        int br = i / R, r = i % R;
        float s = 0.0f;
        for (int b = A->bptr[br]; b < A->bptr[br + 1]; b++)
            for (int c = 0; c < C; c++) {
                int col = A->bcol[b] + c;
                if (col < A->cols) s += A->val[(size_t)b * R * C + (size_t)c * R + r] * x[col];
            }
        y[i] = alpha * s + (beta != 0.0f ? beta * y[i] : 0.0f);
    }
    return TP_OK;
}

static TpStatus cpu_timer_start(void **timer)
{
    double *t = malloc(sizeof *t);
    if (!t) return err_set(TP_ENOMEM, "cpu: out of memory for a timer");
    *t = clock_now();
    *timer = t;
    return TP_OK;
}
static TpStatus cpu_timer_stop(void *timer, double *seconds)
{
    *seconds = clock_now() - *(double *)timer;
    free(timer);
    return TP_OK;
}

static const BackendOps CPU_OPS = {
    .name = "cpu",
    .kind = BACKEND_CPU,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .copy = cpu_memcpy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .sgemm = cpu_sgemm,
    .sgemv = cpu_sgemv,
    .rows_set = cpu_rows_set,
    .colsum_add = cpu_colsum_add,
    .axpy = cpu_axpy,
    .mul = cpu_mul,
    .scale = cpu_scale,
    .sumsq = cpu_sumsq,
    .lstm_cell_fwd = cpu_cell_fwd,
    .lstm_cell_bwd = cpu_cell_bwd,
    .threshold = cpu_threshold,
    .gather_rows = cpu_gather,
    .scatter_add_rows = cpu_scatter_add,
    .softmax_xent = cpu_softmax_xent,
    .dropout = cpu_dropout,
    .sgd_step = cpu_sgd,
    .adam_step = cpu_adam,
    .csr_spmv = cpu_csr,
    .bsr_spmv = cpu_bsr,
    .timer_start = cpu_timer_start,
    .timer_stop = cpu_timer_stop,
};

const BackendOps *backend_ops_cpu(void) { return &CPU_OPS; }
