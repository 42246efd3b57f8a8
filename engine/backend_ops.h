/* engine/backend_ops: the backend as a table of operations (as ggml's backend interface): memory,
 * transfers, BLAS, and the fused kernels of LSTM training, so that one piece of code (engine/devtrain)
 * runs the whole training step on whichever backend owns the memory.  The CPU implements the table
 * (backend_ops_cpu.c, on the engine's own kernels); CUDA implements it in engine/cuda/ops_cuda.cu.
 *
 * Pointers: every float / int32 / uint8 pointer an op takes is a BUFFER ADDRESS of that backend (a
 * host pointer for the CPU, a device pointer for CUDA), obtained from ->alloc and offset with ordinary
 * pointer arithmetic; only ->upload/->download and the outputs typed double / long (sums, counts)
 * touch host memory.  Ops never print; every failure is a TpStatus with the call and its error text
 * (CUDA: "cudaMemcpy: out of memory" ...).  Device ops are asynchronous on one stream; an op that
 * returns a host value (sums, softmax) synchronises.
 *
 * Layouts are row-major and match engine/lstm.h (gates i, f, g, o; G = 4H) exactly, so the CPU table
 * agrees with engine/train to rounding (tests/test_backend_ops.c, tests/test_devtrain.c) and every
 * device op is checked against the CPU table (tests/cuda/test_cuda.c, `make test-cuda`).
 */
#ifndef TP_BACKEND_OPS_H
#define TP_BACKEND_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "base/status.h"

#ifdef __CUDACC__
#define BACKEND_OPS_HD __host__ __device__
#else
#define BACKEND_OPS_HD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Compressed sparse rows in a backend's memory: row_ptr [rows+1], col [nnz], val [nnz] (int32). */
typedef struct {
    int rows, cols, nnz;
    int32_t *row_ptr, *col;
    float *val;
} BackendCsr;

/* Block sparse rows of R x C blocks on the grid of multiples of R and C (the layout of engine/sparse's
 * BSR kinds): block row br holds blocks bptr[br] .. bptr[br+1]-1; block b starts at column bcol[b]
 * and its R*C values are stored column after column (val[b*R*C + c*R + r]).  The last block row and
 * block column may reach past rows / cols: those entries are zero and never read into y. */
typedef struct {
    int rows, cols, R, C, n_brows, n_blocks;
    int32_t *bptr, *bcol;
    float *val;
} BackendBsr;

typedef struct BackendOps {
    const char *name;   /* "cpu", "cuda" */
    BackendKind kind;

    /* memory: zeroed allocation of bytes (> 0); free(NULL) is a no-op */
    TpStatus (*alloc)(void **p, size_t bytes);
    void (*free)(void *p);
    TpStatus (*upload)(void *dst, const void *host_src, size_t bytes);
    TpStatus (*download)(void *host_dst, const void *src, size_t bytes);
    TpStatus (*copy)(void *dst, const void *src, size_t bytes);   /* within the backend */
    TpStatus (*zero)(void *p, size_t bytes);
    TpStatus (*sync)(void);                                         /* wait for queued work */

    /* C[M,N] = alpha op(A) op(B) + beta C (row-major; ta/tb transposed), y = alpha op(A) x + beta y */
    TpStatus (*sgemm)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);
    TpStatus (*sgemv)(int ta, int M0, int N0, float alpha, const float *A, int lda, const float *x, float beta,
                      float *y);

    /* dst[r, 0..n-1] = row[0..n-1] for r < N (ld = n) */
    TpStatus (*rows_set)(float *dst, const float *row, int N, int n);
    /* db[k] += sum_r D[r*ld + k], k < n, r < N */
    TpStatus (*colsum_add)(float *db, const float *D, int N, int n, int ld);
    /* y[i] += a * x[i];  x[i] *= m[i];  x[i] *= k */
    TpStatus (*axpy)(float *y, float a, const float *x, size_t n);
    TpStatus (*mul)(float *x, const float *m, size_t n);
    TpStatus (*scale)(float *x, float k, size_t n);
    /* *out = sum x[i]^2 in double */
    TpStatus (*sumsq)(const float *x, size_t n, double *out);

    /* engine/lstm.h's lstm_cell_forward / lstm_cell_backward for B rows of width H */
    TpStatus (*lstm_cell_fwd)(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H);
    TpStatus (*lstm_cell_bwd)(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                              const float *c_prev, int B, int H);
    /* h = h 1(|h| > tau) in place; *zeros = entries that are 0 afterwards */
    TpStatus (*threshold)(float *h, size_t n, float tau, long *zeros);

    /* dst[r] = table[idx[r]] (rows of width E); table[idx[r]] += src[r] (all r < N; any order) */
    TpStatus (*gather_rows)(float *dst, const float *table, const int32_t *idx, int N, int E);
    TpStatus (*scatter_add_rows)(float *table, const float *src, const int32_t *idx, int N, int E);

    /* vmath_softmax_xent: per row r < N of logits [N, V]: nll += log sum exp - (x_y - max); hits += argmax
     * (the first max) == y; grad_scale != 0 replaces the row by grad_scale (softmax - onehot(y)).
     * Summed in row order in double on the host, so the result is independent of the backend's order. */
    TpStatus (*softmax_xent)(float *logits, const int32_t *y, int N, int V, float grad_scale, double *nll,
                             long *hits);

    /* Inverted dropout from the counter-based stream (backend_ops_uniform): mask[i] = 0 when
     * u(seed, counter + i) < p else 1/(1-p); out[i] = in[i] mask[i].  Same masks on every backend. */
    TpStatus (*dropout)(float *out, float *mask, const float *in, size_t n, float p, uint64_t seed,
                        uint64_t counter);

    /* engine/optim.c's masked updates (mask may be NULL = all live); c1, c2 = Adam's bias corrections */
    TpStatus (*sgd_step)(float *w, const float *g, const uint8_t *mask, size_t n, float lr);
    TpStatus (*adam_step)(float *w, const float *g, float *m, float *v, const uint8_t *mask, size_t n, float lr,
                          float b1, float b2, float eps, float c1, float c2);

    /* y = alpha A x + beta y for a sparse A in this backend's memory (CUDA: cuSPARSE for CSR) */
    TpStatus (*csr_spmv)(const BackendCsr *A, float alpha, const float *x, float beta, float *y);
    TpStatus (*bsr_spmv)(const BackendBsr *A, float alpha, const float *x, float beta, float *y);

    /* timing of queued work (the profiler): a timer records a start and a stop in the stream;
     * elapsed synchronises and returns the seconds between them */
    TpStatus (*timer_start)(void **timer);
    TpStatus (*timer_stop)(void *timer, double *seconds);
} BackendOps;

/* The CPU table (always available). */
const BackendOps *backend_ops_cpu(void);
/* The CUDA table, or NULL with an error saying why no device is usable: TP_ENOTAVAIL (not compiled in),
 * TP_ENODEV (no device; driver older than the runtime), TP_ENOMEM (the device has no memory left),
 * TP_EDEVICE (another CUDA error). */
TpStatus backend_ops_cuda(const BackendOps **out);
/* By name: "cpu", "cuda", or "auto" (CUDA when usable, else the CPU; *why gets the reason CUDA was not
 * taken, "" when it was).  why may be NULL. */
TpStatus backend_ops_get(const char *name, const BackendOps **out, char *why, size_t why_n);

/* Sparse matrices from a dense row-major W [rows, cols] (host), placed in ops' memory.  Zeros are not
 * stored by CSR; BSR stores a block when any of its entries is non-zero. */
TpStatus backend_ops_csr_from_dense(const BackendOps *ops, BackendCsr *out, const float *W, int rows, int cols);
TpStatus backend_ops_bsr_from_dense(const BackendOps *ops, BackendBsr *out, const float *W, int rows, int cols,
                                    int R, int C);
void backend_ops_csr_free(const BackendOps *ops, BackendCsr *a);
void backend_ops_bsr_free(const BackendOps *ops, BackendBsr *a);

/* The counter-based stream of dropout: a uniform in [0, 1) (24 bits) from (seed, i) by splitmix64's
 * finaliser; the same function runs on the host and the device, so the masks agree bit for bit. */
static inline BACKEND_OPS_HD float backend_ops_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

#ifdef __cplusplus
}
#endif
#endif
