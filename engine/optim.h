/* engine/optim: optimizers over flat arrays (they know nothing of the model): SGD and Adam with
 * masked updates, global-norm gradient clipping, and the per-epoch learning-rate schedule.
 *
 * Masked training (DESIGN 3.2): a pruned entry (mask 0) is never updated and stays exactly 0, its
 * Adam moments stay 0; its gradient is left in g untouched so growth can score it.
 */
#ifndef TP_OPTIM_H
#define TP_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef enum { OPTIM_SGD = 0, OPTIM_ADAM = 1 } OptimKind; /* persisted: append only */

typedef struct {
    OptimKind kind;
    float lr;           /* current learning rate                 */
    float beta1, beta2, eps;
    long t;             /* Adam steps taken                      */
    size_t n;
    float *m, *v;       /* [n] Adam moments (NULL for SGD)       */
} Optim;

TpStatus optim_init(Optim *o, OptimKind kind, float lr, size_t n);
void optim_free(Optim *o);
/* Global L2 norm of g; if it exceeds max_norm (> 0), scale g down to max_norm.  Returns TP_ENAN
 * (and leaves g alone) if the norm is not finite.  *norm gets the norm before clipping. */
TpStatus optim_clip(float *g, size_t n, float max_norm, double *norm);
/* One update of w from g where mask != 0 (mask may be NULL = all live). */
void optim_step(Optim *o, float *w, const float *g, const uint8_t *mask);
/* Zero the Adam moments of every entry whose mask is 0 (SGD: nothing to do).  Call after pruning
 * (so pruned entries' moments are exactly zero, as masked training promises) and after restoring
 * masks; since masked steps keep them at zero, an entry grown later starts from fresh moments
 * (as RigL does) rather than from stale ones of before it was pruned. */
void optim_sync_mask(Optim *o, const uint8_t *mask);
/* Zaremba schedule: lr0 for the first `decay_start` epochs, then multiplied by `decay` each epoch.
 * epoch counts from 1. */
float optim_schedule_lr(float lr0, float decay, int decay_start, int epoch);
const char *optim_name(OptimKind k);

#endif
