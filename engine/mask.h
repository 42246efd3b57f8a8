/* engine/mask: what the masks of the parameter registry say, and which tensors a command touches.
 *
 * Owns: sparsity statistics per tensor and per model (nnz, density, per-row nnz, effective width,
 * dense-equivalent and non-zero parameter counts), the parameter-name glob of `grow`/`prune`
 * (DESIGN 2.2 params=GLOB) with its protection rule, the shared "scope" switch, and the selection
 * primitive (k-th smallest key) that growth and pruning both rank with.  The masks themselves live in
 * Model.mask (engine/model); this module only reads them.
 *
 * Counting rules (so every number the workbench shows means one thing):
 *   - n          dense-equivalent entries of a tensor: rows * cols (the registry's alignment padding is
 *                never counted, so per-model sums differ from Model.n_params);
 *   - nnz        live entries (mask 1).  A live entry may hold 0.0 (grown with init=zero and not yet
 *                trained); those are still counted in nnz and, separately, in n_zero_live;
 *   - density    nnz / n; sparsity = 1 - density.
 *
 * Effective width of layer l: hidden unit j of layer l is ALIVE if any live entry of a weight matrix
 * (PARAM_WEIGHT) lies in a row or a column that indexes unit j according to the registry's axes
 * (ModelParam.axis, model_axis_unit), i.e. if the unit has any live connection in or out:
 *   LSTM    in:  rows j, H+j, 2H+j, 3H+j (its four gates, order i,f,g,o) of l{l}.w_ih and l{l}.w_hh;
 *           out: column j of l{l}.w_hh (its own recurrent input to every gate), and column j of
 *                l{l+1}.w_ih, or of decoder.weight when l is the last layer;
 *   H-LSTM  in:  rows j, H+j, 2H+j, 3H+j of l{l}.fc2.weight;
 *           out: column I+j of l{l}.fc1.weight (h part of [x; h]), and column j of l{l+1}.fc1.weight
 *                or of decoder.weight.
 * Biases are not connections and do not keep a unit alive.  The effective width is the number of
 * alive units; a unit with no live entry in any of those rows or columns can be removed without
 * changing the network (up to its bias-only constant output, which nothing reads).
 */
#ifndef TP_MASK_H
#define TP_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "base/status.h"

/* Where a ranking happens: each matrix on its own, or all selected matrices against one threshold. */
typedef enum { MASK_SCOPE_MATRIX = 0, MASK_SCOPE_GLOBAL = 1 } MaskScope; /* persisted: append only */

typedef struct {
    size_t n;            /* rows * cols                                  */
    size_t nnz;          /* live entries                                 */
    size_t n_zero_live;  /* live entries whose value is exactly 0.0      */
    double density;      /* nnz / n                                      */
    int rows, cols;
    int row_nnz_min;     /* fewest live entries in a row (row balance)   */
    int row_nnz_max;     /* most live entries in a row                   */
} MaskTensorStats;

typedef struct {
    int n_tensors;
    MaskTensorStats t[MODEL_MAX_TENSORS];   /* in registry order (Model.p)           */
    size_t n, nnz;                          /* all tensors                           */
    size_t weight_n, weight_nnz;            /* PARAM_WEIGHT tensors (decoder too)    */
    size_t cell_n, cell_nnz;                /* PARAM_WEIGHT tensors of the recurrent layers (layer >= 0) */
    double sparsity;                        /* 1 - nnz / n over all tensors          */
    double weight_sparsity;                 /* over PARAM_WEIGHT                     */
    double cell_sparsity;                   /* over the recurrent layers' matrices   */
    int n_layers;
    int hidden[MODEL_MAX_LAYERS];           /* nominal H of each layer               */
    int width[MODEL_MAX_LAYERS];            /* effective width (definition above)    */
} MaskStats;

/* Statistics of tensor `tensor` (index into m->p). */
void mask_tensor_stats(const Model *m, MaskTensorStats *st, int tensor);
/* Statistics of the whole model (TP_ENOMEM only). */
TpStatus mask_stats(const Model *m, MaskStats *st);
/* alive[j] = 1 if unit j of layer `layer` is alive (definition above), for j < hidden[layer];
 * *width = the count.  TP_ERANGE for a bad layer, TP_ENOMEM. */
TpStatus mask_layer_alive(const Model *m, uint8_t *alive, int *width, int layer);

/* fnmatch-like match of a whole name: '*' any run of characters (also empty, also '.'), '?' one
 * character; everything else literal.  Returns 1 on a match. */
int mask_glob_match(const char *glob, const char *name);

/* Does the params=GLOB selection of grow/prune include tensor p?
 *   - params NULL or "": exactly the PARAM_WEIGHT tensors (never the embedding nor a bias);
 *   - otherwise a comma-separated list of globs (no spaces); p is selected if one alternative
 *     matches its name, with PROTECTION: the embedding is selected only by an alternative that
 *     contains the text "embed", a bias only by one that contains "bias" or "b_".  So `*` and
 *     `l0.*` mean weight matrices only, while `*.b_*`, `decoder.bias`, `embed.weight` name the
 *     protected tensors explicitly. */
int mask_param_selected(const ModelParam *p, const char *params);
/* TP_EINVAL (naming the known tensors) if params selects no tensor of m. */
TpStatus mask_params_check(const Model *m, const char *params);

/* Block grid of block pruning and growth (engine/prune PRUNE_BLOCK, engine/grow): an R x C block is
 * R consecutive rows and C consecutive columns starting at a multiple of R and of C; the last block
 * row (column) is shorter when R (C) does not divide rows (cols).  Blocks are numbered row-major:
 * block b covers rows [b / nbc * R, ..) and columns [b % nbc * C, ..).  A tensor's mask is BLOCKED
 * when every block is all live or all dormant, what block pruning and growth keep (training applies
 * the mask per entry, so it stays blocked).
 * A grid may take its rows in another order (mask_block_grid_order): position k of the order is row
 * order[k], and the R rows of a block are R consecutive positions, so a block is R rows that need not
 * be adjacent in the tensor, e.g. the vocabulary's rows sorted by word frequency
 * (mask_vocab_frequency_order), where a block groups words of similar frequency instead of four
 * unrelated neighbours of the corpus' first-occurrence order.  The iterator follows the order;
 * mask_block_bounds gives positions, which are rows only in the natural order. */
enum { MASK_BLOCK_MAX = 64 };   /* R and C are 1..MASK_BLOCK_MAX */
typedef struct {
    int rows, cols, R, C;
    int nbr, nbc;               /* block rows ceil(rows/R), block columns ceil(cols/C) */
    const int32_t *order;       /* [rows]: the row at each position; NULL: the natural order */
} MaskBlockGrid;

void mask_block_grid(MaskBlockGrid *g, int rows, int cols, int R, int C);
/* Take g's rows in `order` (a permutation of 0..rows-1, kept by reference; NULL: natural). */
void mask_block_grid_order(MaskBlockGrid *g, const int32_t *order);
/* The order in which a block grid takes the rows of a tensor indexed by the vocabulary (embedding,
 * decoder): ids by descending count of `ids` (a training split), ties by the lower id; order gets
 * n_vocab entries.  Ids outside 0..n_vocab-1 are ignored.  TP_ENOMEM. */
TpStatus mask_vocab_frequency_order(int32_t *order, int n_vocab, const int32_t *ids, size_t n_ids);
/* 1 when tensor p of m has the vocabulary as its rows (the embedding, an untied decoder's weight and
 * bias): what a vocabulary row order applies to. */
int mask_param_vocab_rows(const Model *m, const ModelParam *p);
size_t mask_block_count(const MaskBlockGrid *g);
/* The entries of block b: rows [*r0, *r1), columns [*c0, *c1). */
void mask_block_bounds(const MaskBlockGrid *g, size_t b, int *r0, int *r1, int *c0, int *c1);
/* The entries of block b one by one, row-major, as flat indices off + row * cols + column:
 *     MaskBlockIter it;
 *     size_t i;
 *     for (mask_block_begin(&it, g, b, p->off); mask_block_next(&it, &i);) ...  */
typedef struct {
    size_t off;
    int cols, r, r1, c, c0, c1;  /* r, r1: positions in the grid's order */
    const int32_t *order;
} MaskBlockIter;
void mask_block_begin(MaskBlockIter *it, const MaskBlockGrid *g, size_t b, size_t off);
int mask_block_next(MaskBlockIter *it, size_t *i);
/* "16x1" -> R 16, C 1 (TP_EINVAL naming the text unless both are 1..MASK_BLOCK_MAX). */
TpStatus mask_block_parse(const char *text, int *R, int *C);
/* 1 if tensor `tensor`'s mask is blocked on the R x C grid; *bad (may be NULL) = the first block
 * that is partly live, or (size_t)-1. */
int mask_tensor_blocked(const Model *m, int tensor, int R, int C, size_t *bad);
/* The block shape a SPARSE tensor's mask follows: the first of 16x1, 8x1, 4x4 (the runtime's BSR
 * layouts, engine/sparse) under which it is blocked; 0 (and R = C = 0) when none, or when the
 * tensor has no dormant entry (a dense mask is blocked under every shape and says nothing). */
int mask_tensor_block_shape(const Model *m, int tensor, int *R, int *C);
/* Make every partly live block of the R x C grid of tensor `tensor` all live, the new entries with
 * w = 0 (outputs unchanged, like growth with init=zero); returns the entries made live.  For edits
 * that move rows and columns (engine/resize), so a blocked mask stays blocked. */
size_t mask_tensor_complete_blocks(Model *m, int tensor, int R, int C);

/* The k-th smallest (0-based, k < n) of keys[0..n), which it reorders.  Expected O(n)
 * (three-way quickselect, so runs of equal keys cost nothing).  Keys must not be NaN. */
float mask_select_kth(float *keys, size_t n, size_t k);
/* ceil(x) forgiving the last bits of float noise: ceil(0.2 * 10) is 2, not 3.  For counts. */
size_t mask_count_ceil(double x);

#endif
