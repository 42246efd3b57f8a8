/* engine/cuda/cuda_none: the CUDA backend when the build had no nvcc, or nvcc but no CUDA runtime that
 * links (see engine/cuda/probe.sh and `make info`). */
#include "backend_cuda.h"

#include <stdio.h>

int cuda_compiled(void) { return 0; }
int cuda_device_count(void) { return 0; }
TpStatus cuda_init(void)
{
    return err_set(TP_ENOTAVAIL, "CUDA: not compiled in (no nvcc, or no CUDA runtime that links, at build time: see `make info`); using the CPU");
}
void cuda_describe(char *buf, size_t n) { snprintf(buf, n, "CUDA: not compiled in"); }
TpStatus cuda_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)B;
    (void)ldb; (void)beta; (void)C; (void)ldc;
    return err_set(TP_ENOTAVAIL, "CUDA: not compiled in");
}
TpStatus cuda_ops(const struct BackendOps **out)
{
    *out = NULL;
    return err_set(TP_ENOTAVAIL, "CUDA: not compiled in (no nvcc, or no CUDA runtime that links, at build time: "
                                 "see `make info`)");
}
