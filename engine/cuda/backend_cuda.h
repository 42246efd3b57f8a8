/* engine/cuda: the CUDA backend (cuBLAS).  Built from backend_cuda.cu when nvcc is found at build
 * time, otherwise from cuda_none.c, whose functions all answer TP_ENOTAVAIL.  With the toolkit but no
 * device (or no driver) at run time, every call answers TP_ENODEV with the reason; callers use the CPU.
 * Nothing here prints or exits. */
#ifndef TP_BACKEND_CUDA_H
#define TP_BACKEND_CUDA_H

#include <stddef.h>

#include "base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

int cuda_compiled(void);          /* 1 if built with nvcc                                    */
int cuda_device_count(void);      /* usable devices now (0 without driver or device)         */
TpStatus cuda_init(void);         /* create the cuBLAS handle on device 0; TP_ENODEV if none */
/* "CUDA: no device (cudaGetDeviceCount: ...)" or "CUDA: NVIDIA ... (sm_90, 80 GiB)" */
void cuda_describe(char *buf, size_t n);
/* Row-major C = alpha op(A) op(B) + beta C on host buffers (copied to and from the device). */
/* The table of operations (engine/backend_ops.h) on device 0, probed once: TP_ENODEV "no device" or
 * "driver too old", TP_ENOMEM "out of memory", TP_EDEVICE otherwise, TP_ENOTAVAIL without nvcc. */
struct BackendOps;
TpStatus cuda_ops(const struct BackendOps **out);
TpStatus cuda_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
