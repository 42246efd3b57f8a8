/* engine/backend: see backend.h.  OpenBLAS's own pthread pool provides the threads; nothing else in
 * the engine spawns any. */
#include "backend.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/backend_cuda.h"

/* OpenBLAS extensions (declared in its cblas.h on Debian, repeated here for other layouts). */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

static BackendKind current = BACKEND_CPU;

void backend_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (M == 1) {
        /* one row of C: C = alpha * op(B)^T a + beta * C, a sgemv */
        if (!tb)  /* C[1,N] = a[K] B[K,N]  ->  y = B^T a */
            cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, A, ta ? lda : 1, beta, C, 1);
        else      /* B is [N,K]: y = B a */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, ta ? lda : 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void backend_sgemv(int ta, int M0, int N0, float alpha, const float *A, int lda, const float *x,
                   float beta, float *y)
{
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M0, N0, alpha, A, lda, x, 1, beta, y,
                1);
}

TpStatus backend_set_threads(int n)
{
    if (n < 1 || n > 256) return err_set(TP_ERANGE, "threads: expected 1..256, got %d", n);
    openblas_set_num_threads(n);
    return TP_OK;
}

int backend_threads(void) { return openblas_get_num_threads(); }

void backend_describe(char *buf, size_t n)
{
    const char *cfg = openblas_get_config();
    const char *core = openblas_get_corename();
    char cuda[160];
    cuda_describe(cuda, sizeof cuda);
    snprintf(buf, n, "%s (%s), %d thread%s; backend %s; %s", cfg ? cfg : "OpenBLAS",
             core ? core : "?", backend_threads(), backend_threads() == 1 ? "" : "s",
             backend_name(current), cuda);
}

TpStatus backend_select(BackendKind k)
{
    if (k == BACKEND_CPU) {
        current = BACKEND_CPU;
        return TP_OK;
    }
    if (k == BACKEND_CUDA) {
        const struct BackendOps *ops;
        TpStatus s = cuda_ops(&ops);
        if (s != TP_OK) {
            current = BACKEND_CPU;
            return s;
        }
        current = BACKEND_CUDA;
        return TP_OK;
    }
    return err_set(TP_EINVAL, "unknown backend %d", (int)k);
}

BackendKind backend_current(void) { return current; }

const char *backend_name(BackendKind k) { return k == BACKEND_CUDA ? "cuda" : "cpu"; }

void *backend_alloc(size_t n_elems, size_t elem_size)
{
    if (n_elems == 0) n_elems = 1;
    if (elem_size && n_elems > SIZE_MAX / elem_size - 64) return NULL;
    size_t bytes = (n_elems * elem_size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
