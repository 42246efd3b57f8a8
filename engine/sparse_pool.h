/* engine/sparse_pool: threaded sparse products.  A small persistent pool of worker threads, owned by
 * its caller (engine/infer owns one per runtime), runs one product of engine/sparse over the parts
 * sparse_split made: thread t (the caller is thread 0) computes parts t, t + T, t + 2T, ... with the
 * single-threaded kernel of the matrix's ISA, so every row is computed by exactly one thread in the
 * same order as without threads, and the result is bit-identical whatever the thread count.
 *
 * Why its own pool, and not OpenMP or OpenBLAS's: the build has no OpenMP runtime (only
 * -fopenmp-simd), and a batch-1 product lasts 5-500 us, so a product must not pay a thread wake-up
 * (tens of us): workers spin (a pause loop) for SPARSE_POOL_SPIN_US after their last part, then
 * sleep on a condition variable until the next product.  The pool is sized to the BLAS thread count
 * and sparse products run between BLAS calls (never at the same time: the caller waits for both), so
 * the machine has one busy thread per BLAS thread, no more.  One product at a time per pool; the
 * matrices must not be STATE kinds with a shared scratch in use elsewhere.
 */
#ifndef TP_SPARSE_POOL_H
#define TP_SPARSE_POOL_H

#include "sparse.h"
#include "base/status.h"

#define SPARSE_POOL_SPIN_US 200.0

typedef struct SparsePool SparsePool;

/* A pool of `threads` (1..SPARSE_MAX_PARTS) threads, the caller's included (threads - 1 workers).
 * TP_EINVAL, TP_ENOMEM, TP_EIO (a thread could not start). */
TpStatus sparse_pool_create(SparsePool **out, int threads);
void sparse_pool_free(SparsePool *p);
int sparse_pool_threads(const SparsePool *p); /* 1 for NULL */

/* sparse_gemv / sparse_gemm over the pool's threads, in m's parts (sparse_split; unsplit, or a NULL
 * pool: on the calling thread alone).  DENSE runs its BLAS call (threaded by BLAS). */
void sparse_pool_gemv(SparsePool *p, const SparseMatrix *m, float *y, const float *x, int acc);
void sparse_pool_gemm(SparsePool *p, const SparseMatrix *m, float *Y, const float *X, int B, int acc);

/* Run fn(arg, t) once on each of the pool's threads t = 0 .. threads - 1 (t = 0 on the caller) and
 * return when all have: independent work of one call each, such as the two directions of a
 * bidirectional layer (engine/infer_asr).  fn must not use this pool (one job at a time); a NULL
 * pool runs fn(arg, 0) alone. */
typedef void (*SparsePoolTask)(void *arg, int t);
void sparse_pool_run(SparsePool *p, SparsePoolTask fn, void *arg);

#endif
