/* engine/sparse: matrix-vector kernels of batch-1 (and small-batch) inference, y = W x (+ y), with W
 * held in one of five layouts, so that a pruned LSTM is faster as well as smaller.
 *
 * Why several: a sparse kernel beats dense sgemv only below a break-even density, which depends on
 * the layout, the matrix size (which cache level holds it) and the CPU, so the runtime (engine/infer)
 * picks per matrix from measurements (engine/breakeven), never from a guess.
 *
 *   SPARSE_DENSE      row-major [rows, cols]; OpenBLAS sgemv (sgemm for a batch).
 *   SPARSE_CSR        compressed sparse rows: values and column indices of the non-zeros row after row,
 *                     row_ptr [rows+1].  Column indices are 16-bit when cols <= 65536 (6 bytes per
 *                     non-zero instead of 8: the kernel is bound by the bytes it reads), else 32-bit.
 *   SPARSE_ROW        row-balanced [BRDS: Ghasemzadeh et al., "BRDS: an FPGA-based LSTM accelerator
 *                     with row-balanced dual-ratio sparsification"]: every row holds exactly k entries
 *                     (values [rows, k], column indices [rows, k]).  In memory the rows are interleaved
 *                     in blocks of 16 (SELL-16: entry j of rows 16b..16b+15 are contiguous), so one
 *                     vector gathers x for 16 rows at once and no horizontal sum is needed; equal work
 *                     per row is what makes that layout free of padding.
 *   SPARSE_STATE      the sparse-state kernel on a dense W [Ardakani, Ji, Gross, "Learning to skip
 *                     ineffectual recurrent computations in LSTMs", DATE 2019]: W is stored column-major
 *                     and y += x_j W[:, j] runs only for the columns whose x_j != 0, so a thresholded
 *                     hidden state h~ (DESIGN 3.4) skips whole columns of W_hh.
 *   SPARSE_STATE_CSC  the same over compressed sparse columns (CSC): skips zero x_j and pruned weights.
 *   SPARSE_SELL       SELL-16-sigma [Kreutzer, Hager, Wellein, Fehske, Bishop, "A unified sparse matrix
 *                     data format for efficient general sparse matrix-vector multiplication on modern
 *                     processors with wide SIMD units", SIAM J. Sci. Comput. 2014] for an unbalanced
 *                     pruned matrix: the rows sorted by non-zero count within windows of
 *                     SPARSE_SELL_SIGMA rows, cut into blocks of 16, each block padded to its longest
 *                     row and stored like ROW (entry j of the 16 rows contiguous).  Sorting keeps the
 *                     padding small (5.4 % on the pruned 10000 x 200 PTB decoder; 0.1 % sorted over
 *                     all rows), and the kernel has no per-row loop, branch or horizontal sum: CSR's
 *                     costs at short rows.  The window keeps the rows a thread writes together:
 *                     sorted over all rows, every cache line of y held rows of both threads of a
 *                     2-thread product, and that false sharing made the decoder's 2-thread product
 *                     no faster than one thread inside the runtime (Intel Xeon VM: the whole model
 *                     62-66 us a token at 2 threads with windows, 103-108 without, 107 at one).  perm [16 * blocks] maps a sorted row to its row of W.
 *   SPARSE_SELL_SEG   SELL without gathers: SELL's row order and blocks of 16, and in each block the
 *                     entries cut by column segment of SPARSE_SEG_W = 32 columns; segment s of block b
 *                     is seglen[b * k + s] steps (k = segments), each step 16 values and 16 one-byte
 *                     offsets into the segment (padding: value 0, offset 0).  The AVX-512 kernel holds
 *                     the segment's 32 x's in two registers and looks them up with one permute
 *                     (vpermt2ps) per step instead of a gather: gathers are microcoded and slow on
 *                     CPUs with the Gather Data Sampling mitigation (Intel) and on AMD Zen, where the
 *                     runtime ran SELL scalar.  The price is padding per segment (about 2x the
 *                     non-zeros at 8 % density, against 1.02x for SELL) in 5 bytes per entry instead
 *                     of 6; measured on the pruned PTB decoder [10000, 200] at 7.6 % (Intel Xeon VM,
 *                     one thread on each half, the 2-thread share): 10.7 us against 31.9 for scalar
 *                     SELL.  The AVX2 kernel does the same with four 8-float tables (vpermps and two
 *                     blends), the scalar one reads x[32 s + offset].
 *   SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4
 *                     block sparse rows (BSR) with R x C blocks (R consecutive rows, C consecutive
 *                     columns, on the grid of multiples of R and C) [Narang et al., "Block-sparse
 *                     recurrent neural networks", 2017; Kalchbrenner et al., WaveRNN, 2018: 16x1]:
 *                     per block row the column index of each stored block (its first column) and
 *                     the block's R*C values, column after column (a column of the block = R
 *                     consecutive rows = one vector).  A block is stored when any of its entries is
 *                     non-zero, its zeros explicitly, so any W is exact; a matrix pruned in blocks
 *                     stores no zero.  The kernel loads a block column as one vector and FMAs it with
 *                     a broadcast of x[c] (the idea of LPCNet's sparse_sgemv_accum16): no gather, one
 *                     x load per block column, R multiply-adds per FMA lane group.  sparse_bsr.c.
 *
 * Every kernel computes the same sum as the dense product (in another order): |y - W x| is within a
 * few float ulps of sum_j |W_ij x_j| (tests/test_sparse.c checks 1e-5 of that).  Vector paths:
 * AVX-512 (F+BW+VL), AVX2+FMA and portable C; each matrix runs the path in its `isa` field, set at
 * construction to sparse_isa() (the CPU's best, or the one sparse_isa_set forces, for tests and
 * benchmarks) and changed by sparse_use_isa: the runtime takes the path measured fastest on this
 * machine (engine/breakeven), since a gather (the inner loop of CSR, ROW and SELL) can be slower than
 * scalar loads (AMD Zen 4/5).  Threads: sparse_split cuts the rows (CSR) or row blocks (ROW, SELL,
 * BSR) into parts of equal stored entries, and engine/sparse_pool runs one part per thread; each
 * row is computed by exactly one thread with the single-threaded code, so the result does not
 * depend on the thread count.  STATE and STATE_CSC run whole; their scratch makes a matrix usable by
 * one product at a time.
 *
 * Letters: R rows, C cols, B batch, k entries per row (ROW).
 */
#ifndef TP_SPARSE_H
#define TP_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "base/status.h"

typedef enum {
    SPARSE_DENSE = 0,
    SPARSE_CSR = 1,
    SPARSE_ROW = 2,
    SPARSE_STATE = 3,
    SPARSE_STATE_CSC = 4,
    SPARSE_SELL = 5,
    SPARSE_BSR16X1 = 6,
    SPARSE_BSR8X1 = 7,
    SPARSE_BSR4X4 = 8,
    SPARSE_SELL_SEG = 9,
    SPARSE_N_KINDS = 10
} SparseKind;

enum { SPARSE_N_ISAS = 3, SPARSE_MAX_PARTS = 64 };
/* SELL's sort window (rows; a multiple of 16, so a block never spans two windows) */
#define SPARSE_SELL_SIGMA 512
/* SELL_SEG's column segment: the x's two AVX-512 registers hold */
#define SPARSE_SEG_W 32

typedef enum { SPARSE_ISA_SCALAR = 0, SPARSE_ISA_AVX2 = 1, SPARSE_ISA_AVX512 = 2 } SparseIsa;

typedef struct {
    SparseKind kind;
    int rows, cols;
    size_t nnz;      /* stored entries: rows*cols (DENSE, STATE); non-zeros (CSR, CSC, SELL); rows*k (ROW) */
    int idx16;       /* indices are uint16_t (else int32_t)                                          */
    int k;           /* ROW: entries per row; SELL_SEG: column segments (ceil(cols / SPARSE_SEG_W))  */
    int ld;          /* STATE: stride of a column (rows rounded up to 16, so columns stay aligned)   */
    float *val;      /* DENSE [R*C] row-major; STATE [C*ld] column-major; CSR/CSC [nnz];
                        ROW [ceil(R/16)][k][16]; SELL [ptr[blocks]][16]                               */
    void *idx;       /* CSR: column of each value; CSC: row of each value; ROW, SELL: like val     */
    int32_t *ptr;    /* CSR [R+1] row starts; CSC [C+1] column starts; SELL, SELL_SEG [blocks+1] block starts
                        in steps of 16 entries (block b's length is ptr[b+1] - ptr[b])              */
    int32_t *perm;   /* SELL, SELL_SEG [16 * blocks]: the row of W of each sorted row (padding: a real row) */
    uint8_t *seglen; /* SELL_SEG [blocks * k]: steps of block b in segment s (idx: uint8_t offsets)   */
    int32_t *scratch;/* STATE, STATE_CSC: [C] list of the non-zero x_j of the current product         */
    int br, bc;      /* BSR: block shape (rows x cols); ptr [ceil(R/br)+1] block starts per block row,
                        idx the first column of each block, val [blocks][bc][br]                      */
    SparseIsa isa;   /* the vector path of this matrix (sparse_use_isa)                               */
    int n_parts;     /* sparse_split: parts for threads (0/1: one)                                    */
    int32_t part[SPARSE_MAX_PARTS + 1]; /* part p = split units [part[p], part[p+1]) (sparse_units) */
} SparseMatrix;

/* Build m in layout `kind` from the dense row-major W [rows, cols] with leading dimension ld >= cols.
 * Sparse layouts store exactly the entries != 0 (a pruned entry is an exact zero); ROW stores
 * k = the largest row count, padding shorter rows with explicit zeros (exact, but k per row).
 * TP_EINVAL for bad sizes, TP_ENOMEM.  On failure m is empty. */
TpStatus sparse_from_dense(SparseMatrix *m, SparseKind kind, const float *w, int rows, int cols, int ld);

/* Row-balanced conversion with a given k (BRDS): every row keeps exactly its k largest |w| entries
 * (ties: the lower column), zeros included when a row has fewer non-zeros; 1 <= k <= cols.
 * sparse_to_dense of the result is W with everything else pruned. */
TpStatus sparse_row_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld, int k);

/* A random matrix in layout `kind`, values U(-0.1, 0.1) (never 0): CSR and CSC hold each entry with
 * probability `density`, independently (positions drawn by geometric gaps, so the cost is that of the
 * stored entries), SELL is such a CSR matrix converted; ROW holds exactly k = max(1, ceil(density
 * cols)) per row, one in each of k equal column ranges at a random place (row-balanced, as BRDS prunes); DENSE and STATE are full.  For
 * benchmarks and the latency profiler, where only the layout and the count matter. */
TpStatus sparse_random(SparseMatrix *m, SparseKind kind, int rows, int cols, double density, Rng *rng);

void sparse_free(SparseMatrix *m);

/* Run m on vector path `isa` from now on.  TP_ENOTAVAIL if the CPU lacks it (m unchanged). */
TpStatus sparse_use_isa(SparseMatrix *m, SparseIsa isa);

/* Split m's work into `parts` (1..SPARSE_MAX_PARTS) ranges of whole split units (sparse_units) with
 * about equal stored entries each, for sparse_pool_gemv; fewer when there are fewer units.  STATE,
 * STATE_CSC and DENSE stay whole (DENSE is threaded by BLAS).  Returns the parts made. */
int sparse_split(SparseMatrix *m, int parts);
/* Units the rows are split in: rows (CSR), blocks of 16 rows (ROW, SELL), block rows (BSR); 1 for
 * the layouts that run whole. */
int sparse_units(const SparseMatrix *m);
/* The product restricted to split units [lo, hi): y of their rows only (the rest of y untouched). */
void sparse_gemv_range(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);

/* BSR: is k a block layout, and its block shape. */
int sparse_kind_is_bsr(SparseKind k);
void sparse_bsr_shape(SparseKind k, int *br, int *bc);
/* Fraction of W's entries a BSR of shape k stores (blocks with any non-zero, times R C / (rows cols)):
 * the work of its kernel; 1 for a full matrix, the density for a block-pruned one. */
double sparse_bsr_fill(const float *w, int rows, int cols, int ld, SparseKind k);

/* y[rows] = W x[cols] (acc = 0) or y += W x (acc = 1).  x and y must not overlap. */
void sparse_gemv(const SparseMatrix *m, float *y, const float *x, int acc);
/* Small batch: Y [B, rows] (=|+=) X [B, cols] W^T, row b of X and Y one input/output. */
void sparse_gemm(const SparseMatrix *m, float *Y, const float *X, int B, int acc);

/* The matrix back as dense row-major w [rows*cols] (tests, round trips). */
void sparse_to_dense(const SparseMatrix *m, float *w);

/* Bytes one product y = W x reads: the matrix data it touches (values, indices, pointers) plus x
 * (the write of y is not counted).  Only the STATE kinds depend on x (they touch the columns of its
 * non-zeros); x = NULL means a dense x.  The bandwidth bound of a kernel is this over the machine's
 * streaming bandwidth (bench/bench_sparse.c). */
double sparse_bytes(const SparseMatrix *m, const float *x);
/* Multiply-adds one product does (padding of ROW included), for the same x. */
double sparse_macs(const SparseMatrix *m, const float *x);

/* Non-zero entries of x[0..n). */
int sparse_count_nonzero(const float *x, int n);
/* Density of a dense row-major matrix: entries != 0 over rows*cols. */
double sparse_density(const float *w, int rows, int cols, int ld);

/* "dense", "csr", "row", "state", "state-csc", "sell", "bsr16x1", "bsr8x1", "bsr4x4", "sell-seg" */
const char *sparse_kind_name(SparseKind k);
TpStatus sparse_kind_parse(const char *s, SparseKind *k);

/* The vector path in use: the best this CPU has, unless forced.  TP_ENOTAVAIL if the CPU (or the
 * build) lacks `isa`. */
SparseIsa sparse_isa(void);
TpStatus sparse_isa_set(SparseIsa isa);
int sparse_isa_available(SparseIsa isa);
const char *sparse_isa_name(SparseIsa isa);

/* ---- internal: the per-ISA kernels (sparse_simd.c, sparse_bsr.c), called by sparse_gemv_range over
 * split units [lo, hi) (STATE, CSC: the whole matrix) ---- */
void sparse_csr_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
void sparse_row_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
void sparse_state_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc);
void sparse_csc_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc);
void sparse_sell_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
void sparse_seg_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
void sparse_bsr_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
/* BSR conversion (sparse_bsr.c): m->kind, rows, cols set; sizes checked. */
TpStatus sparse_bsr_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld);
void sparse_bsr_to_dense(const SparseMatrix *m, float *w);

#endif
