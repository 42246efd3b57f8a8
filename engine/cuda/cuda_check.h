/* engine/cuda/cuda_check: what the CUDA files of the table share (ops_cuda.cu, ops_cuda_more.cu): the
 * library handles, the error macros that every CUDA / cuBLAS / cuSPARSE call goes through, and the
 * launch shape of the grid-stride kernels.  Only .cu files include it. */
#ifndef TP_CUDA_CHECK_H
#define TP_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "backend_cuda.h"
#include "engine/backend_ops.h"

extern cublasHandle_t cuda_blas;     /* created by cuda_ops() (ops_cuda_more.cu) */
extern cusparseHandle_t cuda_sparse;

/* no device / driver too old: TP_ENODEV; out of memory: TP_ENOMEM; anything else: TP_EDEVICE */
static inline TpStatus cuda_status(cudaError_t e)
{
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) return TP_ENODEV;
    if (e == cudaErrorMemoryAllocation) return TP_ENOMEM;
    return TP_EDEVICE;
}

/* Each returns from the calling function with the call's text and the library's error string. */
#define CK(call)                                                                                        \
    do {                                                                                                \
        cudaError_t e_ = (call);                                                                        \
        if (e_ != cudaSuccess)                                                                          \
            return err_set(cuda_status(e_), "CUDA: %s: %s", #call, cudaGetErrorString(e_));             \
    } while (0)

#define CKB(call)                                                                                       \
    do {                                                                                                \
        cublasStatus_t s_ = (call);                                                                     \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                \
            return err_set(s_ == CUBLAS_STATUS_ALLOC_FAILED ? TP_ENOMEM : TP_EDEVICE, "cuBLAS: %s: %s", \
                           #call, cublasGetStatusString(s_));                                           \
    } while (0)

#define CKS(call)                                                                                       \
    do {                                                                                                \
        cusparseStatus_t s_ = (call);                                                                   \
        if (s_ != CUSPARSE_STATUS_SUCCESS)                                                              \
            return err_set(s_ == CUSPARSE_STATUS_ALLOC_FAILED ? TP_ENOMEM : TP_EDEVICE,                  \
                           "cuSPARSE: %s: %s", #call, cusparseGetErrorString(s_));                       \
    } while (0)

/* after a launch: its configuration errors, with the kernel's name */
#define LAUNCHED(name)                                                                                  \
    do {                                                                                                \
        cudaError_t e_ = cudaGetLastError();                                                            \
        if (e_ != cudaSuccess)                                                                          \
            return err_set(cuda_status(e_), "CUDA: launch of %s: %s", #name, cudaGetErrorString(e_));  \
    } while (0)

enum { CUDA_THREADS = 256, CUDA_MAX_BLOCKS = 4096 };

/* blocks of CUDA_THREADS for n items, at most CUDA_MAX_BLOCKS (the kernels stride over the rest) */
static inline unsigned cuda_blocks(size_t n)
{
    size_t b = (n + CUDA_THREADS - 1) / CUDA_THREADS;
    return (unsigned)(b < 1 ? 1 : b > CUDA_MAX_BLOCKS ? CUDA_MAX_BLOCKS : b);
}

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)blockDim.x * gridDim.x)

/* a device buffer of at least need bytes (contents lost when it grows) */
static inline TpStatus cuda_grow(void **buf, size_t *have, size_t need)
{
    if (need <= *have) return TP_OK;
    if (*buf) cudaFree(*buf);
    *buf = NULL;
    *have = 0;
    CK(cudaMalloc(buf, need));
    *have = need;
    return TP_OK;
}

/* ops_cuda.cu fills the memory, BLAS, elementwise, LSTM, embedding and softmax entries */
void cuda_ops_fill_core(BackendOps *t);

#endif
