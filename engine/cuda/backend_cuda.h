/* engine/cuda: the CUDA backend: the table of operations of engine/backend_ops.h on cuBLAS, cuSPARSE
 * and topiary's kernels (ops_cuda.cu, ops_cuda_more.cu), and what the process knows of CUDA
 * (backend_cuda.cu).  Built when nvcc and its runtime link at build time, otherwise cuda_none.c
 * answers TP_ENOTAVAIL.  With the toolkit but no usable device at run time, cuda_ops answers with the
 * reason; nothing falls back silently.  Nothing here prints or exits. */
#ifndef TP_BACKEND_CUDA_H
#define TP_BACKEND_CUDA_H

#include <stddef.h>

#include "base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

int cuda_compiled(void);          /* 1 if built with nvcc                                    */
int cuda_device_count(void);      /* usable devices now (0 without driver or device)         */
/* "CUDA: no device (cudaGetDeviceCount: ...)" or "CUDA: NVIDIA ... (sm_90, 80 GiB)" */
void cuda_describe(char *buf, size_t n);
/* The table of operations (engine/backend_ops.h) on device 0, probed once: TP_ENODEV "no device" or
 * "driver too old", TP_ENOMEM "out of memory", TP_EDEVICE otherwise, TP_ENOTAVAIL without nvcc. */
struct BackendOps;
TpStatus cuda_ops(const struct BackendOps **out);

#ifdef __cplusplus
}
#endif
#endif
