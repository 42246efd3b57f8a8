/* engine/cuda/backend_cuda: what the process knows of CUDA (compiled in, devices, a description for
 * fingerprints).  The work itself is the table of operations in ops_cuda.cu and ops_cuda_more.cu. */
#include "backend_cuda.h"

#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int cuda_compiled(void) { return 1; }

extern "C" int cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
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
