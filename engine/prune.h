/* engine/prune: magnitude pruning of the masked parameter registry (DESIGN 3.2).
 *
 * Owns: the pruning policy (which live entries to remove) and the dry-run preview of it.  Removing an
 * entry sets mask 0 AND w 0, so model_apply_mask's invariant (pruned entries are exact zeros) holds
 * without another pass, and records it in the caller's "ever pruned" history (uint8 [n_params],
 * zero-initialised by the caller) that non-recoverable growth reads.
 *
 * Modes (amount means):
 *   PRUNE_RATIO      remove the bottom `amount` fraction of the LIVE entries by |w|: of L live
 *                    entries, keep ceil((1-amount)·L) and remove the rest [NeST, H-LSTM papers];
 *   PRUNE_THRESHOLD  remove live entries with |w| < amount;
 *   PRUNE_SPARSITY   prune until the sparsity reaches `amount`: of n entries keep at most
 *                    ceil((1-amount)·n) live ones (nothing happens if already sparser).  This is the
 *                    target form Zhu & Gupta's AGP schedule produces each pruning step.
 * Dual ratio [BRDS, Ghanbari et al.]: amount_ih / amount_hh (when >= 0) replace `amount` for tensors
 * named *.w_ih / *.w_hh, since the recurrent matrices are usually more sensitive.
 * Scope: MASK_SCOPE_MATRIX ranks each tensor on its own; MASK_SCOPE_GLOBAL ranks together all
 * selected tensors that get the same amount (one threshold for them all).
 * Pattern PRUNE_ROW (row-balanced [BRDS]): for a [rows, cols] matrix whose target sparsity is s, every
 * row keeps exactly its k = ceil((1-s)·cols) largest-|w| live entries, so every row has the same
 * work and a fixed-size index list.  s is `amount` in PRUNE_SPARSITY mode, and in PRUNE_RATIO mode
 * the sparsity the ratio produces, s = 1 - (1-amount)·L/n, i.e. k = ceil((1-amount)·L/rows).  A row
 * that already holds fewer than k live entries keeps them all (only possible if the matrix was not
 * row-balanced before; mask_tensor_stats shows it as row_nnz_min < row_nnz_max).  Row balance is a
 * per-matrix property: PRUNE_ROW needs scope=matrix and a ratio or sparsity.
 * Pattern PRUNE_BLOCK [Narang et al., "Block-sparse recurrent neural networks", 2017; WaveRNN 16x1]:
 * the unit of removal is an R x C block of the grid of engine/mask (mask_block_grid: edge blocks
 * partial), whose score is the L2 norm of its live entries; a block is live when any entry is.
 * Ratio: of L live blocks keep ceil((1-amount)·L); sparsity: of N blocks keep at most
 * ceil((1-amount)·N) live ones (with R | rows and C | cols that is the entry sparsity); threshold:
 * remove the live blocks whose L2 norm is below amount.  A removed block loses all its entries, so
 * a blocked mask (every block all live or all dormant) stays blocked; a mask that was not blocked
 * before keeps its partly live blocks or loses them whole.  Dual ratios and both scopes (global:
 * blocks of all the tensors with the same amount ranked together) work as for entries; ties: the
 * lower block (lower tensor, then lower block number) is kept.
 * Protection: the selection is mask_param_selected(params): by default every PARAM_WEIGHT tensor,
 * the embedding and biases only when params names them explicitly (engine/mask.h).
 * Ties: entries are ranked by |w| and, at equal |w|, the LOWER flat index counts as more important
 * (the same order growth uses), so among equal magnitudes the higher index is pruned first; the
 * result never depends on the platform's sort.
 * Non-finite live weights in a selected tensor refuse the call (TP_ENAN) before anything changes.
 *
 * After pruning, call optim_sync_mask() so the Adam moments of the removed entries are zero (masked
 * training, DESIGN 3.2: pruned entries and their moments stay exactly zero).
 */
#ifndef TP_PRUNE_H
#define TP_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "mask.h"
#include "model.h"
#include "base/status.h"

typedef enum { PRUNE_RATIO = 0, PRUNE_THRESHOLD = 1, PRUNE_SPARSITY = 2 } PruneMode;  /* persisted: append only */
typedef enum { PRUNE_UNSTRUCTURED = 0, PRUNE_ROW = 1, PRUNE_BLOCK = 2 } PrunePattern; /* persisted: append only */

typedef struct {
    PruneMode mode;
    double amount;        /* ratio or target sparsity in [0, 1]; threshold >= 0         */
    double amount_ih;     /* < 0: use amount; else the amount for *.w_ih tensors         */
    double amount_hh;     /* < 0: use amount; else the amount for *.w_hh tensors         */
    PrunePattern pattern;
    int block_r, block_c; /* PRUNE_BLOCK: the R x C block (1..MASK_BLOCK_MAX each)       */
    const int32_t *vocab_order; /* PRUNE_BLOCK: [n_vocab] the order of the grid's rows for the
                           tensors indexed by the vocabulary (mask_block_grid_order,
                           mask_param_vocab_rows); NULL: natural                         */
    MaskScope scope;
    const char *params;   /* GLOB list (mask_param_selected); NULL = all PARAM_WEIGHT    */
} PruneConfig;

typedef struct {
    int selected;         /* the tensor is in the selection                               */
    double amount;        /* the amount applied to it                                     */
    size_t n;             /* rows * cols                                                  */
    size_t live_before;
    size_t removed;       /* live after = live_before - removed                           */
    int row_k;            /* PRUNE_ROW: live entries kept per row; else -1                */
    size_t blocks;        /* PRUNE_BLOCK: blocks of the grid, live ones before, removed;  */
    size_t blocks_live, blocks_removed;   /* else 0                                       */
} PruneTensorResult;

typedef struct {
    int applied;          /* 0 for a preview: nothing was changed                          */
    int n_tensors;
    PruneTensorResult t[MODEL_MAX_TENSORS];   /* registry order */
    size_t n_selected;    /* entries (dense-equivalent) of the selected tensors           */
    size_t live_before, removed;
    double sparsity_before, sparsity_after;   /* over the selected tensors                 */
} PruneResult;

/* ratio mode, amount 0, no dual ratios, unstructured (block 16x1 if set to PRUNE_BLOCK), per matrix,
 * all weight matrices */
PruneConfig prune_config_default(void);
TpStatus prune_config_check(const PruneConfig *c);
/* Dry run: what prune_apply would do (the same counts), changing nothing. */
TpStatus prune_preview(const Model *m, PruneResult *r, const PruneConfig *cfg);
/* Prune m; ever_pruned [m->n_params] (may be NULL) gets 1 for each removed entry.  On failure m,
 * ever_pruned and *r are unchanged. */
TpStatus prune_apply(Model *m, uint8_t *ever_pruned, PruneResult *r, const PruneConfig *cfg);

#endif
