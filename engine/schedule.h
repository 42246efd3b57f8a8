/* engine/schedule: pruning schedules driven from the training loop one step at a time (DESIGN 3.2),
 * so a front end can show them happening and interleave keys, redraws and saves.
 *
 * Owns: when to prune, grow and evaluate, and the "last good" copy of weights+masks of GP.  It does
 * not prune, grow or evaluate itself: schedule_step() returns what is due and the caller does it
 * with engine/prune, engine/grow and train_evaluate.
 *
 * Driving protocol (step = minibatches trained so far, Trainer.step):
 *     for (;;) {                                      // before each minibatch
 *         ScheduleAction a = schedule_step(&s, step);  // repeat at the same step until NONE/DONE
 *         NONE: train one minibatch; if schedule_wants_grad(&s) grow_accum_add_clipped(...); step++
 *         PRUNE: prune_apply with mode a.prune_mode, amount a.value; optim_sync_mask
 *         GROW: grow_apply with ratio a.value from the accumulated gradients; grow_accum_reset
 *         EVAL_NEEDED: evaluate validation perplexity; schedule_report_ppl (returned again until
 *                      reported, so evaluation may be spread over several slices)
 *         RESTORE_LAST_GOOD: schedule_restore(&s, model); optim_sync_mask
 *         DONE: the schedule is over (returned once; NONE afterwards)
 *     }
 *
 * AGP [Zhu & Gupta 2017, "To prune, or not to prune"; Distiller]: target sparsity
 *     s(t) = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))^3   for t0 <= t <= t0 + n·Δt,
 * s_i before t0 and s_f after.  Here t0 = start, n·Δt = end − start, Δt = every.  A PRUNE action with
 * mode PRUNE_SPARSITY and value s(t) is due at start, start+every, ... and at `end` itself (so the
 * last step reaches s_f even when every does not divide end−start).  If the caller skips steps, a
 * due pruning happens once at the next call with s of that step.
 *
 * GP [NeST; Dai, Yin, Jha, H-LSTM]: cycles of a growth phase and a pruning phase:
 *   start   EVAL_NEEDED: the baseline perplexity; the current model becomes the last good copy.
 *   growth  (skipped if grow=0) K = grow_batches minibatches with schedule_wants_grad() true, then
 *           GROW(grow), then `every` minibatches of retraining and EVAL_NEEDED.
 *   pruning PRUNE(ratio) (PRUNE_RATIO: that fraction of the live entries), `every` minibatches of
 *           retraining, EVAL_NEEDED; repeated while ppl <= best + tolerance, at most max_prunes
 *           times (a guard: a ratio that removes nothing any more would otherwise loop forever).
 * Every evaluation with ppl <= best + tolerance (best = lowest ppl reported so far) is ACCEPTED: the
 * model becomes the last good copy.  One above it (or not finite) is REJECTED: the next action is
 * RESTORE_LAST_GOOD; after a rejected growth the pruning phase starts from the restored model, after
 * a rejected pruning step the cycle ends.  After `cycles` cycles: DONE (the model is then the last
 * good one).
 * Block pattern (block_r, block_c > 0): the caller prunes with PRUNE_BLOCK and grows with that block
 * (engine/prune, engine/grow); the schedule itself counts the same (AGP's target sparsity then
 * counts blocks of the grid).
 */
#ifndef TP_SCHEDULE_H
#define TP_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "prune.h"
#include "base/status.h"

typedef enum { SCHEDULE_OFF = 0, SCHEDULE_AGP = 1, SCHEDULE_GP = 2 } ScheduleKind; /* persisted: append only */

typedef enum {
    SCHEDULE_NONE = 0,
    SCHEDULE_PRUNE,              /* prune: mode prune_mode, amount value            */
    SCHEDULE_GROW,               /* grow ratio = value                              */
    SCHEDULE_EVAL_NEEDED,        /* report a validation perplexity                  */
    SCHEDULE_RESTORE_LAST_GOOD,  /* schedule_restore()                              */
    SCHEDULE_DONE,
} ScheduleActionKind;

typedef struct {
    ScheduleActionKind kind;
    PruneMode prune_mode;        /* SCHEDULE_PRUNE: PRUNE_SPARSITY (AGP) or PRUNE_RATIO (GP) */
    double value;
} ScheduleAction;

typedef struct {
    ScheduleKind kind;
    /* AGP (schedule agp from=S to=S start=STEP end=STEP every=N) */
    double from, to;             /* s_i, s_f in 0..1                                 */
    long start, end;             /* t0, t0 + n·Δt (absolute steps)                  */
    /* shared: AGP pruning interval Δt; GP retraining minibatches after each change */
    long every;
    /* GP (schedule gp grow=R prune=R every=N tolerance=PPL [batches=K cycles=C]) */
    double grow_ratio, prune_ratio;
    double tolerance;            /* allowed validation-ppl rise over the best          */
    int grow_batches;            /* K minibatches of gradient accumulation per growth  */
    int cycles;                  /* growth+pruning cycles                              */
    int max_prunes;              /* accepted pruning steps per phase before it ends    */
    /* both: 0 x 0 prunes and grows entries; R x C (schedule ... pattern=block block=RxC) prunes
     * (PRUNE_BLOCK) and grows whole R x C blocks, so the masks stay blocked (engine/mask) */
    int block_r, block_c;
} ScheduleConfig;

typedef enum { GP_START = 0, GP_ACCUM, GP_RETRAIN_GROW, GP_PRUNE, GP_RETRAIN_PRUNE } GpPhase; /* persisted: append only */

typedef struct {
    ScheduleConfig cfg;
    int done_pending;            /* DONE is the next action                          */
    int finished;                /* DONE has been returned                           */
    /* AGP */
    long next_due;               /* next step a pruning is due                       */
    /* GP */
    GpPhase phase;
    long mark;                   /* step the current phase began (-1: at the next call) */
    int awaiting_eval, restore_pending;
    int cycle;                   /* completed cycles                                 */
    double best_ppl, last_ppl, good_ppl;
    int phase_prunes;            /* pruning steps in the current pruning phase       */
    long n_prunes, n_grows, n_evals, n_restores;
    size_t n_good;               /* = Model.n_params of the good copy (0: none yet) */
    float *good_w;               /* last good weights [n_good]                      */
    uint8_t *good_mask;          /* last good masks   [n_good]                      */
} Schedule;

/* Defaults for the command language: AGP 0 -> 0.8 over steps 0..10000 every 100; GP grow 0,
 * prune 0.1, every 200, tolerance 1.0, batches 20, cycles 1, max_prunes 100. */
ScheduleConfig schedule_config_default(ScheduleKind kind);
TpStatus schedule_config_check(const ScheduleConfig *c);
TpStatus schedule_init(Schedule *s, const ScheduleConfig *c);
void schedule_free(Schedule *s);

ScheduleAction schedule_step(Schedule *s, long step);
/* The validation perplexity asked for by SCHEDULE_EVAL_NEEDED, of the model as it is now (copied
 * when accepted).  TP_EINVAL if none was asked for; TP_ENAN if the first (baseline) ppl is not
 * finite; TP_ENOMEM if the copy cannot be made (nothing changes then: the ppl may be reported again). */
TpStatus schedule_report_ppl(Schedule *s, const Model *m, double ppl);
/* Copy the last good weights and masks back into m (TP_EINVAL if none, or the model was resized). */
TpStatus schedule_restore(Schedule *s, Model *m);
/* 1 while the minibatches being trained feed a growth step (GP growth phase). */
int schedule_wants_grad(const Schedule *s);

/* AGP target sparsity at step t (pure): s_i before t0, s_f from t0 + span on (span <= 0: a jump). */
double schedule_agp_value(double s_i, double s_f, long t0, long span, long t);
const char *schedule_action_name(ScheduleActionKind k);   /* "none", "prune", ... */
const char *schedule_phase_name(const Schedule *s);       /* "agp", "growth", "pruning", "done", ... */

#endif
