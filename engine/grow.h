/* engine/grow: gradient-based connection growth (DESIGN 3.2) [NeST, Dai, Yin, Jha; RigL for the
 * zero initialisation].
 *
 * Owns: the gradient accumulator of the growth phase and the growth policy.  The backward pass
 * computes the gradient of every entry, dormant ones (mask 0) included; an entry whose gradient is
 * consistently large would lower the loss if it existed, so growth activates the dormant entries of
 * largest accumulated |G|.
 *
 * Accumulator: G = Σ_k g_k, the SIGNED sum over K minibatches, and the score of an entry is |G|
 * (NeST: the gradient of the loss over many batches; noise of zero mean cancels out, which a sum
 * of |g_k| would not).  When to add:
 *   - your own loop: grow_accum_add() right after model_backward(), before optim_clip() (the clip
 *     rescales g in place) and before the optimizer step;
 *   - with the Trainer: train_step() runs backward, clip and step in one call; the optimizer never
 *     writes g, so right after train_step() g still holds this minibatch's gradient, but clipped.
 *     Call grow_accum_add_clipped(acc, model, info.grad_norm, trainer.cfg.clip), which undoes the
 *     clip (g was multiplied by clip/norm when norm > clip) and so adds the dense gradient as it was
 *     after backward.
 *
 * Growth (grow_apply): among the ELIGIBLE entries of the selected tensors (mask 0, and, when not
 * recoverable, never pruned before), activate the floor(ratio·n_eligible) of largest |G|: per
 * matrix, or with scope=global all selected tensors ranked together.  Ties at equal |G|: the lower
 * flat index is grown first.  A grown entry gets mask 1 and w = 0 (GROW_INIT_ZERO, RigL) or
 * w = -lr·G/K (GROW_INIT_GRAD, NeST: one SGD step along the mean gradient of the K batches).
 * Blocks (block_r x block_c > 1x1) [block-sparse RNNs, Narang et al. 2017]: the unit is an R x C
 * block of engine/mask's grid; a block is eligible when every entry is (all dormant, none ever
 * pruned when not recoverable), its score is the L2 norm of G over its entries (the block-summed
 * gradient), floor(ratio·eligible blocks) grow, and a block grows whole (every entry mask 1, each
 * initialised as above), so a blocked mask stays blocked.  Ties: the lower block first.
 * Selection: mask_param_selected(params) (by default all PARAM_WEIGHT tensors; the embedding and
 * biases only when named).  After growing, the Adam moments of grown entries are zero provided
 * optim_sync_mask() was called after the pruning that made them dormant (see engine/optim.h);
 * calling optim_sync_mask() just before grow_apply() guarantees it.
 */
#ifndef TP_GROW_H
#define TP_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "mask.h"
#include "model.h"
#include "base/status.h"

typedef struct {
    size_t n;          /* = Model.n_params when it was made                */
    float *sum;        /* [n] Σ g over the accumulated minibatches          */
    int n_batches;     /* K                                                 */
} GrowAccum;

typedef enum { GROW_INIT_ZERO = 0, GROW_INIT_GRAD = 1 } GrowInit;  /* persisted: append only */

typedef struct {
    double ratio;         /* fraction of the eligible dormant entries to activate, 0..1      */
    MaskScope scope;
    GrowInit init;
    float lr;             /* GROW_INIT_GRAD: w = -lr · G / K                                  */
    int recoverable;      /* 0: entries with ever_pruned set never regrow                     */
    const char *params;   /* GLOB list; NULL = all PARAM_WEIGHT tensors                       */
    int block_r, block_c; /* 1x1: entries; else whole R x C blocks (1..MASK_BLOCK_MAX each)   */
    const int32_t *vocab_order; /* [n_vocab]: the order of the block grid's rows for the tensors
                           indexed by the vocabulary (as engine/prune's); NULL: natural        */
} GrowConfig;

typedef struct {
    int selected;
    size_t eligible;      /* dormant entries that may grow (in eligible blocks)              */
    size_t grown;         /* entries grown                                                   */
    size_t blocks_eligible, blocks_grown;   /* units: = eligible, grown for 1x1              */
} GrowTensorResult;

typedef struct {
    int applied;          /* 0 for a preview                                                 */
    int n_batches;        /* K the scores came from                                          */
    int n_tensors;
    GrowTensorResult t[MODEL_MAX_TENSORS];   /* registry order */
    size_t eligible, grown;
} GrowResult;

TpStatus grow_accum_init(GrowAccum *a, const Model *m);   /* zeroed, K = 0 */
void grow_accum_free(GrowAccum *a);
void grow_accum_reset(GrowAccum *a);
/* G += g (as left by model_backward). */
TpStatus grow_accum_add(GrowAccum *a, const Model *m);
/* G += g / c where c = clip/grad_norm if clip > 0 and grad_norm > clip (else 1): for use right after
 * train_step(), whose optim_clip scaled g by c. */
TpStatus grow_accum_add_clipped(GrowAccum *a, const Model *m, double grad_norm, float clip);

/* ratio 0, per matrix, init zero, lr 0, recoverable, all weight matrices, 1x1 (entries) */
GrowConfig grow_config_default(void);
TpStatus grow_config_check(const GrowConfig *c);
/* Grow m from the scores in a.  ever_pruned [n_params] is needed (non-NULL) when !recoverable.
 * On failure m and *r are unchanged.  The accumulator is left as is (reset it to start a new phase). */
TpStatus grow_apply(Model *m, GrowResult *r, const GrowAccum *a, const uint8_t *ever_pruned,
                    const GrowConfig *cfg);
/* Dry run of grow_apply: the same counts, nothing changed. */
TpStatus grow_preview(const Model *m, GrowResult *r, const GrowAccum *a, const uint8_t *ever_pruned,
                      const GrowConfig *cfg);

#endif
