/* engine/cuda/ops_cuda: the CUDA implementation of the table of operations (engine/backend_ops.h).
 *
 * Every CUDA, cuBLAS and cuSPARSE call goes through one of three macros that turn a failure into a
 * TpStatus whose message names the call and the library's own error text; nothing prints, nothing
 * falls back to the CPU.  Every kernel launch is followed by cudaGetLastError (launch errors) and
 * ops that return host values synchronise through cudaMemcpy (execution errors surface there).
 * All work is queued on the legacy default stream, so the ops run in the order they are called.
 *
 * Kernels use grid-stride loops over size_t indices (any n fits, however large, with a bounded grid);
 * the per-row kernels (softmax) take one block per row.  Row-major products go to cuBLAS as the
 * column-major product of the transposes: C^T = op(B)^T op(A)^T.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_check.h"

static void *scratch;        /* softmax rows (double nll + int hits), sums, counts; grown on demand */
static size_t scratch_bytes;

/* ---- memory ---- */

static TpStatus d_alloc(void **p, size_t bytes)
{
    *p = NULL;
    CK(cudaMalloc(p, bytes ? bytes : 1));
    cudaError_t e = cudaMemset(*p, 0, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaFree(*p);
        *p = NULL;
        return err_set(cuda_status(e), "CUDA: cudaMemset: %s", cudaGetErrorString(e));
    }
    return TP_OK;
}
static void d_free(void *p)
{
    if (p) cudaFree(p);
}
static TpStatus d_upload(void *dst, const void *src, size_t bytes)
{
    if (bytes) CK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return TP_OK;
}
static TpStatus d_download(void *dst, const void *src, size_t bytes)
{
    if (bytes) CK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return TP_OK;
}
static TpStatus d_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
    return TP_OK;
}
static TpStatus d_zero(void *p, size_t bytes)
{
    if (bytes) CK(cudaMemsetAsync(p, 0, bytes, 0));
    return TP_OK;
}
static TpStatus d_sync(void)
{
    CK(cudaDeviceSynchronize());
    return TP_OK;
}

/* ---- BLAS ---- */

static TpStatus d_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                        int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return TP_OK;
    CKB(cublasSgemm(cuda_blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A,
                    lda, &beta, C, ldc));
    return TP_OK;
}

/* row-major A [M0, N0] is column-major A^T [N0, M0] with the same leading dimension */
static TpStatus d_sgemv(int ta, int M0, int N0, float alpha, const float *A, int lda, const float *x, float beta,
                        float *y)
{
    if (M0 <= 0 || N0 <= 0) return TP_OK;
    CKB(cublasSgemv(cuda_blas, ta ? CUBLAS_OP_N : CUBLAS_OP_T, N0, M0, &alpha, A, lda, x, 1, &beta, y, 1));
    return TP_OK;
}

/* ---- elementwise ---- */

/* i over N*n: row i / n, column i % n */
__global__ void k_rows_set(float *dst, const float *row, size_t total, int n)
{
    GRID_STRIDE(i, total) dst[i] = row[i % (size_t)n];
}
static TpStatus d_rows_set(float *dst, const float *row, int N, int n)
{
    size_t total = (size_t)N * n;
    if (!total) return TP_OK;
    k_rows_set<<<cuda_blocks(total), CUDA_THREADS>>>(dst, row, total, n);
    LAUNCHED(k_rows_set);
    return TP_OK;
}

/* one thread per column k < n, rows in order from db[k] (the CPU's order, so the sums agree exactly) */
__global__ void k_colsum_add(float *db, const float *D, int N, int n, int ld)
{
    GRID_STRIDE(k, (size_t)n)
    {
        float s = db[k];
        for (int r = 0; r < N; r++) s += D[(size_t)r * ld + k];
        db[k] = s;
    }
}
static TpStatus d_colsum_add(float *db, const float *D, int N, int n, int ld)
{
    if (n <= 0 || N <= 0) return TP_OK;
    k_colsum_add<<<cuda_blocks((size_t)n), CUDA_THREADS>>>(db, D, N, n, ld);
    LAUNCHED(k_colsum_add);
    return TP_OK;
}

__global__ void k_axpy(float *y, float a, const float *x, size_t n) { GRID_STRIDE(i, n) y[i] += a * x[i]; }
__global__ void k_mul(float *x, const float *m, size_t n) { GRID_STRIDE(i, n) x[i] *= m[i]; }
__global__ void k_scale(float *x, float k, size_t n) { GRID_STRIDE(i, n) x[i] *= k; }

static TpStatus d_axpy(float *y, float a, const float *x, size_t n)
{
    if (!n) return TP_OK;
    k_axpy<<<cuda_blocks(n), CUDA_THREADS>>>(y, a, x, n);
    LAUNCHED(k_axpy);
    return TP_OK;
}
static TpStatus d_mul(float *x, const float *m, size_t n)
{
    if (!n) return TP_OK;
    k_mul<<<cuda_blocks(n), CUDA_THREADS>>>(x, m, n);
    LAUNCHED(k_mul);
    return TP_OK;
}
static TpStatus d_scale(float *x, float k, size_t n)
{
    if (!n) return TP_OK;
    k_scale<<<cuda_blocks(n), CUDA_THREADS>>>(x, k, n);
    LAUNCHED(k_scale);
    return TP_OK;
}

/* block partial sums of squares in double (shared-memory tree, CUDA_THREADS a power of two), then one
 * atomicAdd per block into *out (double atomics: sm_60 and later) */
__global__ void k_sumsq(const float *x, size_t n, double *out)
{
    __shared__ double part[CUDA_THREADS];
    double s = 0.0;
    GRID_STRIDE(i, n) s += (double)x[i] * (double)x[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = CUDA_THREADS / 2; w > 0; w /= 2) {
        if (threadIdx.x < (unsigned)w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(out, part[0]);
}
static TpStatus d_sumsq(const float *x, size_t n, double *out)
{
    *out = 0.0;
    if (!n) return TP_OK;
    TpStatus s = cuda_grow(&scratch, &scratch_bytes, sizeof(double));
    if (s != TP_OK) return s;
    CK(cudaMemsetAsync(scratch, 0, sizeof(double), 0));
    k_sumsq<<<cuda_blocks(n), CUDA_THREADS>>>(x, n, (double *)scratch);
    LAUNCHED(k_sumsq);
    CK(cudaMemcpy(out, scratch, sizeof(double), cudaMemcpyDeviceToHost));
    return TP_OK;
}

/* ---- LSTM cell (engine/lstm.c's lstm_cell_forward/backward) ----
 * One thread per (b, j), b < B, j < H: it owns gate entries j, H+j, 2H+j, 3H+j of row b of a/dA
 * (G = 4H wide) and entry j of row b of c, h, tc, dh, dc_next (H wide), so no two threads write
 * the same word. */
__device__ static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void k_cell_fwd(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H)
{
    const size_t G = 4 * (size_t)H;
    GRID_STRIDE(idx, (size_t)B * H)
    {
        size_t b = idx / H, j = idx % H;
        float *g = a + b * G;
        float i = sigm(g[j]), f = sigm(g[H + j]), gg = tanhf(g[2 * H + j]), o = sigm(g[3 * H + j]);
        g[j] = i;
        g[H + j] = f;
        g[2 * H + j] = gg;
        g[3 * H + j] = o;
        float c = f * c_prev[idx] + i * gg;
        float t = tanhf(c);
        c_out[idx] = c;
        tc_out[idx] = t;
        h_out[idx] = o * t;
    }
}
static TpStatus d_cell_fwd(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H)
{
    size_t n = (size_t)B * H;
    if (!n) return TP_OK;
    k_cell_fwd<<<cuda_blocks(n), CUDA_THREADS>>>(a, c_out, h_out, tc_out, c_prev, B, H);
    LAUNCHED(k_cell_fwd);
    return TP_OK;
}

__global__ void k_cell_bwd(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                           const float *c_prev, int B, int H)
{
    const size_t G = 4 * (size_t)H;
    GRID_STRIDE(idx, (size_t)B * H)
    {
        size_t b = idx / H, j = idx % H;
        const float *gr = gates + b * G;
        float *d = dA + b * G;
        float i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j], t = tc[idx], dhj = dh[idx];
        float dc = dc_next[idx] + dhj * o * (1.0f - t * t);
        d[3 * H + j] = dhj * t * o * (1.0f - o);
        d[j] = dc * g * i * (1.0f - i);
        d[H + j] = dc * c_prev[idx] * f * (1.0f - f);
        d[2 * H + j] = dc * i * (1.0f - g * g);
        dc_next[idx] = dc * f;
    }
}
static TpStatus d_cell_bwd(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                           const float *c_prev, int B, int H)
{
    size_t n = (size_t)B * H;
    if (!n) return TP_OK;
    k_cell_bwd<<<cuda_blocks(n), CUDA_THREADS>>>(dA, dc_next, dh, gates, tc, c_prev, B, H);
    LAUNCHED(k_cell_bwd);
    return TP_OK;
}

__global__ void k_threshold(float *h, size_t n, float tau, unsigned long long *zeros)
{
    unsigned long long z = 0;
    GRID_STRIDE(i, n)
    {
        float v = fabsf(h[i]) > tau ? h[i] : 0.0f;
        h[i] = v;
        z += v == 0.0f;
    }
    if (z) atomicAdd(zeros, z);
}
static TpStatus d_threshold(float *h, size_t n, float tau, long *zeros)
{
    *zeros = 0;
    if (!n) return TP_OK;
    TpStatus s = cuda_grow(&scratch, &scratch_bytes, sizeof(unsigned long long));
    if (s != TP_OK) return s;
    unsigned long long z = 0;
    CK(cudaMemsetAsync(scratch, 0, sizeof z, 0));
    k_threshold<<<cuda_blocks(n), CUDA_THREADS>>>(h, n, tau, (unsigned long long *)scratch);
    LAUNCHED(k_threshold);
    CK(cudaMemcpy(&z, scratch, sizeof z, cudaMemcpyDeviceToHost));
    *zeros = (long)z;
    return TP_OK;
}

/* ---- embedding rows: i over N*E, row i / E, column i % E; idx[] were range-checked by the caller ---- */
__global__ void k_gather(float *dst, const float *table, const int32_t *idx, size_t total, int E)
{
    GRID_STRIDE(i, total) dst[i] = table[(size_t)idx[i / E] * E + i % E];
}
__global__ void k_scatter_add(float *table, const float *src, const int32_t *idx, size_t total, int E)
{
    GRID_STRIDE(i, total) atomicAdd(&table[(size_t)idx[i / E] * E + i % E], src[i]);
}
static TpStatus d_gather(float *dst, const float *table, const int32_t *idx, int N, int E)
{
    size_t total = (size_t)N * E;
    if (!total) return TP_OK;
    k_gather<<<cuda_blocks(total), CUDA_THREADS>>>(dst, table, idx, total, E);
    LAUNCHED(k_gather);
    return TP_OK;
}
static TpStatus d_scatter_add(float *table, const float *src, const int32_t *idx, int N, int E)
{
    size_t total = (size_t)N * E;
    if (!total) return TP_OK;
    k_scatter_add<<<cuda_blocks(total), CUDA_THREADS>>>(table, src, idx, total, E);
    LAUNCHED(k_scatter_add);
    return TP_OK;
}

/* ---- softmax + cross-entropy: one block per row r (gridDim.x = N), CUDA_THREADS threads stride the V
 * columns.  Three block reductions in shared memory: the max, the first index holding it (min over
 * indices), the sum of exp(x - max).  Row results go to nll_row[r] / hit_row[r]; the host sums them
 * in row order. */
__global__ void k_softmax_xent(float *logits, const int32_t *y, int V, float grad_scale, double *nll_row,
                               int *hit_row)
{
    __shared__ float red[CUDA_THREADS];
    __shared__ int ired[CUDA_THREADS];
    const size_t r = blockIdx.x;
    float *x = logits + r * (size_t)V;
    const unsigned t = threadIdx.x;
    const int yr = y[r];
    const float xy = x[yr]; /* read before the first barrier: nothing writes x until after it */
    float m = -INFINITY;
    for (int v = t; v < V; v += CUDA_THREADS) m = fmaxf(m, x[v]);
    red[t] = m;
    __syncthreads();
    for (int w = CUDA_THREADS / 2; w > 0; w /= 2) {
        if (t < (unsigned)w) red[t] = fmaxf(red[t], red[t + w]);
        __syncthreads();
    }
    m = red[0];
    __syncthreads();
    int am = V - 1; /* as the CPU: a row matching nothing (NaN) answers the last index */
    for (int v = t; v < V; v += CUDA_THREADS)
        if (x[v] == m) {
            am = v;
            break; /* v increases along this thread's stride: the first hit is its smallest */
        }
    ired[t] = am;
    float s = 0.0f;
    for (int v = t; v < V; v += CUDA_THREADS) {
        float e = expf(x[v] - m);
        if (grad_scale != 0.0f) x[v] = e;
        s += e;
    }
    red[t] = s;
    __syncthreads();
    for (int w = CUDA_THREADS / 2; w > 0; w /= 2) {
        if (t < (unsigned)w) {
            red[t] += red[t + w];
            ired[t] = min(ired[t], ired[t + w]);
        }
        __syncthreads();
    }
    s = red[0];
    if (t == 0) {
        nll_row[r] = (double)logf(s) - (double)(xy - m);
        hit_row[r] = ired[0] == yr;
    }
    if (grad_scale == 0.0f) return;
    const float k = grad_scale / s;
    for (int v = t; v < V; v += CUDA_THREADS) x[v] *= k;
    __syncthreads();
    if (t == 0) x[yr] -= grad_scale;
}

static TpStatus d_softmax_xent(float *logits, const int32_t *y, int N, int V, float grad_scale, double *nll,
                               long *hits)
{
    *nll = 0.0;
    if (hits) *hits = 0;
    if (N <= 0 || V <= 0) return TP_OK;
    size_t nb = (size_t)N * sizeof(double), ib = (size_t)N * sizeof(int);
    TpStatus s = cuda_grow(&scratch, &scratch_bytes, nb + ib);
    if (s != TP_OK) return s;
    double *dn = (double *)scratch;
    int *dh = (int *)((char *)scratch + nb);
    k_softmax_xent<<<(unsigned)N, CUDA_THREADS>>>(logits, y, V, grad_scale, dn, dh);
    LAUNCHED(k_softmax_xent);
    double *hn = (double *)malloc(nb);
    int *hh = (int *)malloc(ib);
    if (!hn || !hh) {
        free(hn);
        free(hh);
        return err_set(TP_ENOMEM, "softmax: out of host memory for %d rows", N);
    }
    cudaError_t e = cudaMemcpy(hn, dn, nb, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) e = cudaMemcpy(hh, dh, ib, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) {
        long h = 0;
        for (int r = 0; r < N; r++) {
            *nll += hn[r];
            h += hh[r];
        }
        if (hits) *hits = h;
    }
    free(hn);
    free(hh);
    CK(e);
    return TP_OK;
}

void cuda_ops_fill_core(BackendOps *t)
{
    t->alloc = d_alloc;
    t->free = d_free;
    t->upload = d_upload;
    t->download = d_download;
    t->copy = d_copy;
    t->zero = d_zero;
    t->sync = d_sync;
    t->sgemm = d_sgemm;
    t->sgemv = d_sgemv;
    t->rows_set = d_rows_set;
    t->colsum_add = d_colsum_add;
    t->axpy = d_axpy;
    t->mul = d_mul;
    t->scale = d_scale;
    t->sumsq = d_sumsq;
    t->lstm_cell_fwd = d_cell_fwd;
    t->lstm_cell_bwd = d_cell_bwd;
    t->threshold = d_threshold;
    t->gather_rows = d_gather;
    t->scatter_add_rows = d_scatter_add;
    t->softmax_xent = d_softmax_xent;
}
