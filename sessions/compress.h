/* sessions/compress: the session's side of grow-and-prune (DESIGN 3.2): the "ever pruned" history
 * (non-recoverable growth), the gradient accumulator that scores dormant connections, the active
 * schedule (AGP or GP) and its driving from the training loop one minibatch at a time, and the
 * logic behind the grow / prune / schedule verbs.  The engine modules (grow, prune, schedule, mask)
 * hold the algorithms; this module holds their state inside a session and persists it. */
#ifndef TP_COMPRESS_H
#define TP_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/grow.h"
#include "engine/prune.h"
#include "engine/resize.h"
#include "engine/schedule.h"
#include "engine/train.h"
#include "sessions/gpstate.h"

struct Session;


/* The session-level forms of gpstate_init / gpstate_free / gpstate_schedule_set. */
TpStatus compress_init(struct Session *s);      /* after the model is built (zeroed history) */
void compress_free(struct Session *s);
/* The model was re-laid out (resize, restore of another architecture): history and accumulator are
 * reset to the new size; a GP schedule restarts its cycle (its good copy no longer fits); a weight
 * average in progress ends (its mean has the old layout). */
TpStatus compress_relayout(struct Session *s);

/* Prune (dry: only preview).  Adam moments of removed entries are zeroed. */
TpStatus compress_prune(struct Session *s, const PruneConfig *cfg, int dry, PruneResult *r);
/* The vocabulary's rows in descending order of their count in the training split (ties: the lower
 * id): the row order of block pruning and growth with rows=freq (mask_block_grid_order).  *order is
 * malloc'd [n_vocab].  TP_EINVAL when the session's training split has no tokens (speech). */
TpStatus compress_vocab_order(const struct Session *s, int32_t **order);
/* Grow from K minibatches of gradients: if fewer than K are accumulated, the missing ones are computed
 * on the next training windows WITHOUT updating the weights or moving the trainer (a peek with a
 * copy of the recurrent state and of the dropout stream), then the top `ratio` dormant entries are
 * activated and the accumulator reset (dry: preview only, nothing reset). */
TpStatus compress_grow(struct Session *s, const GrowConfig *cfg, int batches, int dry, GrowResult *r);

/* Resize a layer (engine/resize): shrink by importance, grow with kind (GRAD: NeST bridging
 * gradients from `batches` peeked minibatches).  History and accumulator are reset. */
/* Tie the embedding and the decoder (model_tie, from "decoder" or "embed"): the Adam moments follow the
 * kept matrix, the task records tie = 1, the GP state is laid out again.  *what says what was done. */
TpStatus compress_tie(struct Session *s, const char *from, char *what, size_t n);
TpStatus compress_resize(struct Session *s, int layer, int hidden, ResizeInitKind kind, int batches, char *what,
                         size_t n);

TpStatus compress_schedule_set(struct Session *s, const ScheduleConfig *cfg);  /* kind OFF = none */
/* Before a minibatch: carry out every schedule action due at this step (prune, grow, evaluate,
 * restore).  *changed is set when the model changed. */
TpStatus compress_schedule_tick(struct Session *s, int *changed);
/* After a minibatch (with its info): feed the growth accumulator when the schedule asks for it. */
TpStatus compress_after_step(struct Session *s, const TrainStepInfo *info);
const char *compress_schedule_describe(const struct Session *s, char *buf, size_t n);

#endif
