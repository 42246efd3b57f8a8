/* engine/cuda/ops_cuda_more: the rest of the CUDA table (dropout, the masked optimizer updates, the
 * sparse products, the event timers) and cuda_ops(), which probes the device once and says why it is
 * not usable: no device, a driver older than the runtime, no memory, or another CUDA error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

cublasHandle_t cuda_blas;
cusparseHandle_t cuda_sparse;
static void *spbuf; /* cuSPARSE's work buffer, grown on demand */
static size_t spbuf_bytes;

/* ---- dropout: i < n, the counter-based uniform of backend_ops.h (the CPU's very function) ---- */
__global__ void k_dropout(float *out, float *mask, const float *in, size_t n, float p, float keep, uint64_t seed,
                          uint64_t counter)
{
    GRID_STRIDE(i, n)
    {
        float m = backend_ops_uniform(seed, counter + i) < p ? 0.0f : keep;
        mask[i] = m;
        out[i] = in[i] * m;
    }
}
static TpStatus d_dropout(float *out, float *mask, const float *in, size_t n, float p, uint64_t seed,
                          uint64_t counter)
{
    if (!n) return TP_OK;
    k_dropout<<<cuda_blocks(n), CUDA_THREADS>>>(out, mask, in, n, p, 1.0f / (1.0f - p), seed, counter);
    LAUNCHED(k_dropout);
    return TP_OK;
}

/* ---- engine/optim.c's masked updates, elementwise over i < n ---- */
__global__ void k_sgd(float *w, const float *g, const uint8_t *mask, size_t n, float lr)
{
    GRID_STRIDE(i, n)
    {
        float v = w[i] - lr * g[i];
        w[i] = mask ? v * (float)mask[i] : v;
    }
}
__global__ void k_adam(float *w, const float *g, float *m, float *v, const uint8_t *mask, size_t n, float lr,
                       float b1, float b2, float eps, float c1, float c2)
{
    GRID_STRIDE(i, n)
    {
        float live = mask ? (float)mask[i] : 1.0f;
        float gi = g[i] * live;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = (w[i] - lr * (mi * c1) / (sqrtf(vi * c2) + eps)) * live;
    }
}
static TpStatus d_sgd(float *w, const float *g, const uint8_t *mask, size_t n, float lr)
{
    if (!n) return TP_OK;
    k_sgd<<<cuda_blocks(n), CUDA_THREADS>>>(w, g, mask, n, lr);
    LAUNCHED(k_sgd);
    return TP_OK;
}
static TpStatus d_adam(float *w, const float *g, float *m, float *v, const uint8_t *mask, size_t n, float lr,
                       float b1, float b2, float eps, float c1, float c2)
{
    if (!n) return TP_OK;
    k_adam<<<cuda_blocks(n), CUDA_THREADS>>>(w, g, m, v, mask, n, lr, b1, b2, eps, c1, c2);
    LAUNCHED(k_adam);
    return TP_OK;
}

/* ---- sparse products ---- */

/* CSR through cuSPARSE's generic SpMV; the descriptors live for one call. */
static TpStatus csr_run(cusparseSpMatDescr_t a, cusparseDnVecDescr_t vx, cusparseDnVecDescr_t vy, float alpha,
                        float beta)
{
    size_t need = 0;
    CKS(cusparseSpMV_bufferSize(cuda_sparse, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a, vx, &beta, vy, CUDA_R_32F,
                                CUSPARSE_SPMV_ALG_DEFAULT, &need));
    TpStatus s = cuda_grow(&spbuf, &spbuf_bytes, need ? need : 1);
    if (s != TP_OK) return s;
    CKS(cusparseSpMV(cuda_sparse, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a, vx, &beta, vy, CUDA_R_32F,
                     CUSPARSE_SPMV_ALG_DEFAULT, spbuf));
    return TP_OK;
}
static TpStatus d_csr(const BackendCsr *A, float alpha, const float *x, float beta, float *y)
{
    if (A->rows <= 0) return TP_OK;
    cusparseSpMatDescr_t a = NULL;
    cusparseDnVecDescr_t vx = NULL, vy = NULL;
    CKS(cusparseCreateCsr(&a, A->rows, A->cols, A->nnz, A->row_ptr, A->col, A->val, CUSPARSE_INDEX_32I,
                          CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    TpStatus s = TP_OK;
    cusparseStatus_t e = cusparseCreateDnVec(&vx, A->cols, (void *)x, CUDA_R_32F);
    if (e == CUSPARSE_STATUS_SUCCESS) e = cusparseCreateDnVec(&vy, A->rows, y, CUDA_R_32F);
    if (e != CUSPARSE_STATUS_SUCCESS)
        s = err_set(TP_EDEVICE, "cuSPARSE: cusparseCreateDnVec: %s", cusparseGetErrorString(e));
    else
        s = csr_run(a, vx, vy, alpha, beta);
    if (vx) cusparseDestroyDnVec(vx);
    if (vy) cusparseDestroyDnVec(vy);
    cusparseDestroySpMat(a);
    return s;
}

/* BSR: one thread per row i < rows; its block row br = i / R, its row r = i % R inside each block;
 * block b's value for (r, c) is val[b*R*C + c*R + r]; columns bcol[b] + c >= cols (the padded edge)
 * are skipped, so x is never read past cols.  Stored blocks are visited in order: the sum is the
 * CPU's, term for term. */
__global__ void k_bsr(int rows, int cols, int R, int C, const int32_t *bptr, const int32_t *bcol, const float *val,
                      float alpha, const float *x, float beta, float *y)
{
    GRID_STRIDE(i, (size_t)rows)
    {
        int br = (int)(i / R), r = (int)(i % R);
        float s = 0.0f;
        for (int b = bptr[br]; b < bptr[br + 1]; b++)
            for (int c = 0; c < C; c++) {
                int col = bcol[b] + c;
                if (col < cols) s += val[(size_t)b * R * C + (size_t)c * R + r] * x[col];
            }
        y[i] = alpha * s + (beta != 0.0f ? beta * y[i] : 0.0f);
    }
}
static TpStatus d_bsr(const BackendBsr *A, float alpha, const float *x, float beta, float *y)
{
    if (A->rows <= 0) return TP_OK;
    k_bsr<<<cuda_blocks((size_t)A->rows), CUDA_THREADS>>>(A->rows, A->cols, A->R, A->C, A->bptr, A->bcol, A->val,
                                                          alpha, x, beta, y);
    LAUNCHED(k_bsr);
    return TP_OK;
}

/* ---- timers: a pair of CUDA events on the default stream ---- */
typedef struct {
    cudaEvent_t start, stop;
} Timer;

static TpStatus d_timer_start(void **out)
{
    *out = NULL;
    Timer *t = (Timer *)calloc(1, sizeof *t);
    if (!t) return err_set(TP_ENOMEM, "cuda: out of memory for a timer");
    cudaError_t e = cudaEventCreate(&t->start);
    if (e == cudaSuccess) {
        e = cudaEventCreate(&t->stop);
        if (e != cudaSuccess) cudaEventDestroy(t->start);
    }
    if (e == cudaSuccess) {
        e = cudaEventRecord(t->start, 0);
        if (e != cudaSuccess) {
            cudaEventDestroy(t->start);
            cudaEventDestroy(t->stop);
        }
    }
    if (e != cudaSuccess) {
        free(t);
        return err_set(cuda_status(e), "CUDA: cudaEventCreate/Record: %s", cudaGetErrorString(e));
    }
    *out = t;
    return TP_OK;
}
static TpStatus d_timer_stop(void *timer, double *seconds)
{
    Timer *t = (Timer *)timer;
    float ms = 0.0f;
    cudaError_t e = cudaEventRecord(t->stop, 0);
    if (e == cudaSuccess) e = cudaEventSynchronize(t->stop);
    if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, t->start, t->stop);
    cudaEventDestroy(t->start);
    cudaEventDestroy(t->stop);
    free(t);
    *seconds = ms * 1e-3;
    CK(e);
    return TP_OK;
}

/* ---- the table, and the probe ---- */
static BackendOps table;
static int probed;
static TpStatus probe_status;
static char probe_msg[512];

static TpStatus probe(void)
{
    int drv = 0, rt = 0, n = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver && drv == 0)
        return err_set(TP_ENODEV, "CUDA: no device: no NVIDIA driver is loaded (cudaGetDeviceCount: %s)",
                       cudaGetErrorString(e));
    /* only the runtime's own verdict: a driver of an older minor version may still run this runtime */
    if (e == cudaErrorInsufficientDriver)
        return err_set(TP_ENODEV,
                       "CUDA: driver too old: %s (the driver supports CUDA %d.%d, this build's runtime is %d.%d)",
                       cudaGetErrorString(e), drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
        return err_set(TP_ENODEV, "CUDA: no device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    CK(e);
    CK(cudaSetDevice(0));
    size_t free_b = 0, total_b = 0;
    CK(cudaMemGetInfo(&free_b, &total_b));
    if (free_b < ((size_t)64 << 20))
        return err_set(TP_ENOMEM, "CUDA: out of memory: %zu MiB free of %zu MiB on device 0", free_b >> 20,
                       total_b >> 20);
    CKB(cublasCreate(&cuda_blas));
    CKB(cublasSetMathMode(cuda_blas, CUBLAS_DEFAULT_MATH)); /* full fp32: no TF32 tensor-op rounding */
    CKS(cusparseCreate(&cuda_sparse));
    return TP_OK;
}

extern "C" TpStatus cuda_ops(const BackendOps **out)
{
    *out = NULL;
    if (!probed) {
        probed = 1;
        probe_status = probe();
        snprintf(probe_msg, sizeof probe_msg, "%s", probe_status == TP_OK ? "" : err_msg());
        if (probe_status == TP_OK) {
            table.name = "cuda";
            table.kind = BACKEND_CUDA;
            cuda_ops_fill_core(&table);
            table.dropout = d_dropout;
            table.sgd_step = d_sgd;
            table.adam_step = d_adam;
            table.csr_spmv = d_csr;
            table.bsr_spmv = d_bsr;
            table.timer_start = d_timer_start;
            table.timer_stop = d_timer_stop;
        }
    }
    if (probe_status != TP_OK) return err_set(probe_status, "%s", probe_msg);
    *out = &table;
    return TP_OK;
}
