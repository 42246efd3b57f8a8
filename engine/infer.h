/* engine/infer: the step-by-step batch-1 inference runtime of a trained, exported or compact model:
 * embedding lookup → per layer the cell with a kernel chosen per matrix → decoder → logits.
 *
 * Why its own runtime: training runs windows through sgemm; inference of a language model (or any
 * streaming use) runs one token at a time, where a step is a handful of matrix-vector products and
 * a pruned matrix only pays off through a sparse kernel (engine/sparse) past its measured break-even
 * (engine/breakeven).  So, per weight matrix, infer_init predicts the time of every kernel variant
 * (layout x vector path x threads) from the measured cost model and keeps the fastest (dense sgemv,
 * CSR, SELL, row-balanced, BSR blocks, or the column-major kernel, which on small matrices can beat a
 * threaded sgemv even on a dense x); threaded variants run on a sparse_pool the runtime owns, with as
 * many threads as BLAS, between BLAS calls (never both at once); with hidden-state thresholding
 * (cfg.state_tau > 0, DESIGN 3.4) the recurrent matrix also gets a sparse-state copy (column-major,
 * or CSC when it is sparse) and each step uses it when the current h~'s density predicts it faster
 * [Ardakani, Ji, Gross, DATE 2019].
 *
 * Grouped rows (kernel names "bsr16x1g", "bsr8x1g"): a BSR kernel is fast only when the non-zeros
 * come in blocks of R consecutive rows sharing a column.  A matrix pruned in 16x1 blocks over another
 * row order (the vocabulary matrices, pruned in blocks of words sorted by frequency) has groups of 16
 * rows with identical support scattered over its rows, which natural-order BSR stores mostly as
 * zeros.  So for BSR16X1 and BSR8X1 the runtime also costs W' = W[perm], its rows sorted by their
 * support (the set of non-zero columns; found from the matrix alone, no order is passed in), with the
 * fill of W' plus the scatter of the output (InferMatrix.perm): a matrix blocked over any row order
 * then runs as fast as one blocked in natural order, for one pass over y more.  A product is
 * infer_matrix_gemv / infer_matrix_gemm, never the SparseMatrix alone: tmp = W' x, then
 * y[perm[i]] (=|+=) tmp[i].  The sparse-state copy of a recurrent matrix stays in natural order.
 *
 * Trimming: before the kernels are built the model is cut to the units whose output is read.  Unit j
 * of layer l is kept if a non-zero weight in a kept row reads it (a column of w_hh/w_ih of a kept
 * unit, of the decoder, or of an H-LSTM fc1), starting from the decoder's rows and iterating to the
 * fixpoint; every other unit influences no logit and goes (hidden sizes shrink to at most the
 * effective width of engine/mask, which counts a unit with any live connection).  A layer keeps at
 * least one unit.  The cut reuses model_relayout, so it follows the registry's axes for both cells.
 *
 * The cell maths is engine/lstm's own (lstm_cell_forward, lstm_state_threshold), so the runtime and
 * training compute the same function; only summation orders differ (tests/test_infer.c: the runtime's
 * perplexity equals train_evaluate's within 1e-5 relative).  Letters: V vocab, E embed, I input,
 * H hidden, M gate hidden (H-LSTM), Q = 4M, G = 4H.
 */
#ifndef TP_INFER_H
#define TP_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "breakeven.h"
#include "model.h"
#include "sparse.h"
#include "sparse_pool.h"
#include "base/status.h"
#include "hlstm.h"
#include "lstm.h"
#include "train.h"

typedef struct {
    int trim;                /* cut units nothing reads (default 1)                              */
    int force;               /* -1: choose by the cost model; else a SparseKind for every matrix  */
    int state_kernel;        /* tau > 0: allow the sparse-state kernel on recurrent matrices (1)   */
    const Breakeven *cost;   /* the cost model; NULL: breakeven_default (nothing measured)        */
    int threads;             /* most threads a sparse product may use (0: the cost model's)       */
    double tie;              /* a measured cost model's variants predicted within this fraction of
                                the best are timed on the matrix itself and the fastest kept
                                (default 0.15; 0: the prediction alone decides)                    */
    int directions;          /* speech runtime (engine/infer_asr), the two directions of a layer:
                                -1 choose by timing both plans at init (default), 0 one after the
                                other (threaded products), 1 at once, one thread each              */
} InferOptions;

/* A grouped matrix's scratch holds this many outputs of a batch: infer_matrix_gemm runs a larger
 * batch in chunks (a sparse batch is one product per column anyway, sparse_gemm); the decoder of
 * infer_evaluate's 64-step batches then costs 4 pool dispatches instead of 1, and its scratch is
 * 16 V floats (640 KB for V = 10000), not 64 V. */
#define INFER_GROUP_BATCH 16

typedef struct {
    char name[40];           /* registry name, with a part suffix for H-LSTM blocks               */
    SparseMatrix w;          /* the chosen layout (grouped: of W[perm], rows sorted by support)   */
    int32_t *perm;           /* grouped: row i of w is row perm[i] of W; NULL: natural order       */
    float *scratch;          /* grouped: [INFER_GROUP_BATCH * rows] the product before its scatter:
                                one product at a time per matrix (as a STATE kind's scratch)        */
    SparseMatrix st;         /* sparse-state copy (recurrent matrix, tau > 0), or empty          */
    double density;          /* non-zeros / (rows cols)                                          */
    double cost;             /* predicted time of w relative to dense sgemv                      */
    BreakevenChoice kernel;  /* w's variant: layout, vector path, threads, grouped (and cost)    */
    double dense_bytes;      /* 4 rows cols                                                      */
    int timed;               /* variants timed on this matrix to settle a near-tie (0: predicted)  */
} InferMatrix;

typedef struct {
    int I, H, M;
    InferMatrix *w_x;        /* LSTM: W_ih [G, I];     H-LSTM: fc1 x-part [Q, I]                 */
    InferMatrix *w_h;        /* LSTM: W_hh [G, H];     H-LSTM: fc1 h-part [Q, H]  (recurrent)    */
    InferMatrix *w2[4];      /* H-LSTM: fc2 of gate q [H, M]                                     */
    float *bias;             /* LSTM: b_ih + b_hh [G]; H-LSTM: fc2 biases [G]                   */
    float *b1;               /* H-LSTM: fc1 biases [Q]                                           */
    float *h, *c, *tc, *a, *u; /* state h~ and c [H]; scratch tanh(c) [H], gates [G], fc1 [Q]     */
} InferLayer;

/* What the kernels of a runtime share (engine/infer and engine/infer_asr): the cost model they were
 * chosen with (and the per-step sparse-state choice), the threads of the threaded variants, the
 * hidden-state threshold, and the counters since init / infer_stats_reset. */
typedef struct {
    Breakeven cost;          /* the cost model the kernels were chosen with                      */
    SparsePool *pool;        /* threads of the threaded variants (NULL: none chosen)             */
    int state_kernel;        /* InferOptions.state_kernel                                       */
    float tau;               /* cfg.state_tau: h~ = h 1(|h| > tau) after each cell step (0 off)   */
    double steps, state_zero, state_n, state_uses, rec_products;
} InferKernels;

typedef struct {
    ModelConfig cfg;         /* as run: trimmed hidden sizes                                     */
    int nominal[MODEL_MAX_LAYERS]; /* hidden sizes before trimming                               */
    int n_mat;
    InferMatrix mat[3 + 6 * MODEL_MAX_LAYERS];
    float *embed;            /* [V, E] */
    InferLayer layer[MODEL_MAX_LAYERS];
    InferMatrix *dec;        /* [V, H_last] */
    float *dec_b, *logits;   /* [V] */
    InferKernels k;
} InferModel;

void infer_options_defaults(InferOptions *o);
/* *o, or the defaults written into *def when *o is NULL (then *o = def); TP_EINVAL naming an
 * unknown forced kernel.  What infer_init and infer_asr_init start with. */
TpStatus infer_options_resolve(const InferOptions **o, InferOptions *def);

/* Build the runtime of model m (which it does not keep).  TP_ENOMEM, TP_EINVAL. */
TpStatus infer_init(InferModel *im, const Model *m, const InferOptions *o);
void infer_free(InferModel *im);
/* Zero the recurrent state (start of a stream). */
void infer_reset(InferModel *im);
/* Run every matrix's product `reps` times into scratch, the state and logits untouched: wakes the
 * pool's threads (and BLAS's) and brings the weights into cache, so that a timing taken after an idle
 * period measures the steady state of a stream, not the wake-up (bench_infer).  TP_ENOMEM. */
TpStatus infer_warm(InferModel *im, int reps);
/* One step: feed token x (0 <= x < V); returns the logits [V] (valid until the next step). */
const float *infer_step(InferModel *im, int32_t x);

/* The evaluation protocol of DESIGN 2.5 through the runtime (as train_evaluate: `streams` contiguous
 * streams, each from a zero state, predictions of tokens 1..L-1).  The recurrence runs step by step
 * as in infer_step; the decoder, whose logits feed nothing back, runs over 64 steps at once (one
 * sgemm for a dense decoder instead of 64 sgemv: a 10k-word vocabulary makes it most of the work). */
TpStatus infer_evaluate(InferModel *im, const int32_t *ids, size_t n, int streams, EvalResult *r);

/* One line per matrix: name, shape, density, kernel, predicted relative time (", rows grouped by
 * support" for a grouped variant); then the trimmed sizes. */
void infer_describe(const InferModel *im, char *buf, size_t n);
/* The kernel of one matrix: "dense", "csr/scalar", "bsr16x1/avx512/2t" (layout/ISA[/threads]);
 * a grouped variant's layout ends in "g": "bsr16x1g/avx512". */
void infer_kernel_name(const InferMatrix *x, char *buf, size_t n);
/* Short form for one output line: "sell/scalar 4, dense 1, sparse-state on 2; hidden 30/32 32/32". */
void infer_summary(const InferModel *im, char *buf, size_t n);
/* State sparsity over the steps so far (NaN without thresholding), fraction of recurrent products
 * that used the sparse-state kernel. */
double infer_state_sparsity(const InferModel *im);
double infer_state_kernel_share(const InferModel *im);
void infer_stats_reset(InferModel *im);

/* ---- the pieces infer_init is made of, shared with engine/infer_asr (the ASR runtime) ---- */

/* Start k for options o (NULL: defaults) and threshold tau: the cost model, no pool yet. */
void infer_kernels_init(InferKernels *k, const InferOptions *o, float tau);
void infer_kernels_free(InferKernels *k);
/* x = the kernel of W [R, C] (leading dimension ld) chosen as for every matrix of the runtime: the
 * fastest variant by the cost model (grouped-row BSR variants included), or the forced layout's
 * fastest (in natural row order); a recurrent matrix of a thresholded model also gets its
 * sparse-state copy.  Starts k's pool when a threaded variant wins.  On failure the caller still
 * infer_matrix_free's x. */
TpStatus infer_matrix_init(InferKernels *k, InferMatrix *x, const char *name, const float *w, int R, int C, int ld,
                           const InferOptions *o, int recurrent);
/* Release x (its layouts, permutation and scratch; a half-built or zeroed x too). */
void infer_matrix_free(InferMatrix *x);
/* y [R] = W in [C] (acc = 0) or y += W in (acc = 1), through x's kernel on k's pool (a grouped
 * variant: the product of W', then its scatter through perm).  Each row is computed once, by one
 * thread: the result does not depend on the thread count.  Not x's sparse-state copy. */
void infer_matrix_gemv(InferKernels *k, InferMatrix *x, float *y, const float *in, int acc);
/* A batch: Y [B, R] (=|+=) X [B, C] W^T (row b of X and Y one input/output, as sparse_gemm). */
void infer_matrix_gemm(InferKernels *k, InferMatrix *x, float *Y, const float *X, int B, int acc);
/* One recurrent layer: an LSTM (lw; hw NULL) or an H-LSTM (hw; lw NULL) of input I, H units (M gate
 * hidden), its matrices built into slots[*n_mat..] (*n_mat advances; up to 6) named PREFIX.w_ih,
 * PREFIX.fc1.weight[:, x] ...  infer_layer_free releases its vectors (the matrices are the slots'). */
TpStatus infer_layer_init(InferKernels *k, InferLayer *ly, InferMatrix *slots, int *n_mat, const char *prefix, int I,
                          int H, const LstmWeights *lw, const HlstmWeights *hw, const InferOptions *o);
void infer_layer_free(InferLayer *ly);
void infer_layer_reset(InferLayer *ly);
/* One step of the layer on input x [I] (engine/lstm's cell, thresholded with k->tau): returns its
 * new h~ [H] (ly->h). */
const float *infer_layer_step(InferKernels *k, InferLayer *ly, const float *x);
/* infer_describe's table over any set of matrices and layer sizes; measured: the cost model's origin. */
void infer_matrices_describe(const InferMatrix *mat, int n_mat, const int *hidden, const int *nominal, int n_layers,
                             int measured, char *buf, size_t n);
/* The summary line of infer_summary over any set of matrices and layer sizes (run / nominal). */
void infer_matrices_summary(const InferMatrix *mat, int n_mat, const int *hidden, const int *nominal, int n_layers,
                            char *buf, size_t n);

/* A copy of m cut to the units whose output is read (above): out is model_init'ed here (model_free
 * it); kept[l] (if kept != NULL) receives a malloc'd list of the kept units' old indices, ascending,
 * out->cfg.hidden[l] of them. */
TpStatus infer_trim(Model *out, const Model *m, int *kept[MODEL_MAX_LAYERS]);

#endif
