/* engine/backend: the linear-algebra backend every engine module calls (row-major BLAS wrappers), its
 * thread count, its description for hardware fingerprints, and the choice of CPU or CUDA.
 *
 * CPU = OpenBLAS: sgemm for batches, sgemv when one side is a single row.  These wrappers take host
 * memory and always run on the CPU: host buffers are never copied to a device behind the caller's
 * back (that made every product slower than the CPU).  Device work goes through a table of
 * operations on device-resident buffers (engine/backend_ops.h; CUDA in engine/cuda/, compiled in when
 * nvcc and its runtime link at build time).
 */
#ifndef TP_BACKEND_H
#define TP_BACKEND_H

#include <stddef.h>

#include "base/status.h"

typedef enum { BACKEND_CPU = 0, BACKEND_CUDA = 1 } BackendKind;

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; ta/tb = 1 means transposed. */
void backend_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
/* y[M] = alpha * op(A) x + beta * y for A [M0, N0] row-major (M = N0 when ta). */
void backend_sgemv(int ta, int M0, int N0, float alpha, const float *A, int lda, const float *x,
                   float beta, float *y);

TpStatus backend_set_threads(int n);   /* 1..256 */
int backend_threads(void);
/* Human-readable description: "OpenBLAS 0.3.21 (SkylakeX), 2 threads". */
void backend_describe(char *buf, size_t n);

/* Record the process's backend (shown by backend_describe): BACKEND_CUDA succeeds only when the CUDA
 * table is usable (else TP_ENODEV / TP_ENOMEM / TP_ENOTAVAIL / TP_EDEVICE saying why, and the CPU is
 * kept).  It moves no work by itself: the products above stay on the CPU. */
TpStatus backend_select(BackendKind k);
BackendKind backend_current(void);
const char *backend_name(BackendKind k);

/* Aligned (64-byte) zeroed allocation for big float buffers; NULL on overflow or failure. */
void *backend_alloc(size_t n_elems, size_t elem_size);

#endif
