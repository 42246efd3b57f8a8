/* engine/cuda/backend_cuda: cuBLAS backend.  Every CUDA call is checked (CUDA_CHECK) and turned into
 * a TpStatus with file:line; nothing prints or exits.  Row-major products are computed as the
 * column-major product of the transposes: C^T = op(B)^T op(A)^T. */
#include "backend_cuda.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>

static cublasHandle_t handle;
static int ready;
static float *dbuf;       /* one device buffer for A, B and C, grown on demand */
static size_t dbuf_elems;

#define CUDA_CHECK(call)                                                                          \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess)                                                                    \
            return err_set(e_ == cudaErrorNoDevice || e_ == cudaErrorInsufficientDriver           \
                               ? TP_ENODEV : TP_EDEVICE,                                          \
                           "CUDA: %s: %s (%s:%d)", #call, cudaGetErrorString(e_), __FILE__,       \
                           __LINE__);                                                             \
    } while (0)

#define CUBLAS_CHECK(call)                                                                        \
    do {                                                                                          \
        cublasStatus_t s_ = (call);                                                               \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                          \
            return err_set(TP_EDEVICE, "cuBLAS: %s failed with status %d (%s:%d)", #call,        \
                           (int)s_, __FILE__, __LINE__);                                          \
    } while (0)

extern "C" int cuda_compiled(void) { return 1; }

extern "C" int cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
}

extern "C" TpStatus cuda_init(void)
{
    if (ready) return TP_OK;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0)
        return err_set(TP_ENODEV, "CUDA: no device (%s); using the CPU",
                       e != cudaSuccess ? cudaGetErrorString(e) : "device count is 0");
    CUDA_CHECK(cudaSetDevice(0));
    CUBLAS_CHECK(cublasCreate(&handle));
    ready = 1;
    return TP_OK;
}

extern "C" void cuda_describe(char *buf, size_t n)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(buf, n, "CUDA: no device (%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "device count is 0");
        return;
    }
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        snprintf(buf, n, "CUDA: %d device(s), properties unavailable", count);
        return;
    }
    snprintf(buf, n, "CUDA: %s (sm_%d%d, %.0f GiB)%s", p.name, p.major, p.minor,
             (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), count > 1 ? " +more" : "");
}

static size_t span(int rows, int cols, int ld) { return rows > 0 ? (size_t)(rows - 1) * ld + cols : 0; }

extern "C" TpStatus cuda_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                               int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (!ready) {
        TpStatus s = cuda_init();
        if (s != TP_OK) return s;
    }
    size_t na = ta ? span(K, M, lda) : span(M, K, lda);
    size_t nb = tb ? span(N, K, ldb) : span(K, N, ldb);
    size_t nc = span(M, N, ldc);
    size_t need = na + nb + nc;
    if (need > dbuf_elems) {
        if (dbuf) cudaFree(dbuf);
        dbuf = NULL;
        dbuf_elems = 0;
        CUDA_CHECK(cudaMalloc((void **)&dbuf, need * sizeof(float)));
        dbuf_elems = need;
    }
    float *dA = dbuf, *dB = dbuf + na, *dC = dbuf + na + nb;
    CUDA_CHECK(cudaMemcpy(dA, A, na * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dB, B, nb * sizeof(float), cudaMemcpyHostToDevice));
    if (beta != 0.0f) CUDA_CHECK(cudaMemcpy(dC, C, nc * sizeof(float), cudaMemcpyHostToDevice));
    CUBLAS_CHECK(cublasSgemm(handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N,
                             M, K, &alpha, dB, ldb, dA, lda, &beta, dC, ldc));
    CUDA_CHECK(cudaMemcpy(C, dC, nc * sizeof(float), cudaMemcpyDeviceToHost));
    return TP_OK;
}
