/* engine/cuda/cuda_none: the CUDA backend when the build had no nvcc, or nvcc but no CUDA runtime that
 * links (see engine/cuda/probe.sh and `make info`). */
#include "backend_cuda.h"

#include <stdio.h>

int cuda_compiled(void) { return 0; }
int cuda_device_count(void) { return 0; }
void cuda_describe(char *buf, size_t n) { snprintf(buf, n, "CUDA: not compiled in"); }
TpStatus cuda_ops(const struct BackendOps **out)
{
    *out = NULL;
    return err_set(TP_ENOTAVAIL, "CUDA: not compiled in (no nvcc, or no CUDA runtime that links, at build time: "
                                 "see `make info`)");
}
