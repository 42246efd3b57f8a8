/* engine/train: the training loop one minibatch at a time (so front ends can interleave key polls,
 * redraws and saves), the evaluation protocol of DESIGN 2.5, and the metrics of both.
 *
 * Loss scaling follows Zaremba et al. (and the TensorFlow PTB tutorial): the gradient is that of the
 * NLL summed over the T steps of a window and averaged over the B streams, then clipped to a global
 * norm; reported losses are per token.  The recurrent state is carried across windows (detached)
 * and reset to zero at the start of each epoch.
 */
#ifndef TP_TRAIN_H
#define TP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "backend_ops.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "base/status.h"

typedef struct {
    int bptt;            /* T                                                       */
    int batch;           /* B                                                       */
    int epochs;          /* stop after this many epochs                             */
    long max_steps;      /* stop after this many minibatches (0 = no limit)         */
    float lr;            /* initial learning rate                                   */
    float lr_decay;      /* factor applied per epoch after decay_start              */
    int decay_start;     /* epochs at the initial rate                              */
    float clip;          /* global gradient-norm limit (0 = off)                    */
    OptimKind optim;
    uint64_t seed;       /* dropout stream (the model init has its own)             */
} TrainConfig;

typedef struct {
    double loss;         /* mean NLL per token of this minibatch   */
    double grad_norm;    /* before clipping                        */
    int tokens;
    double seconds;
    int epoch_done;      /* this step finished an epoch           */
} TrainStepInfo;

/* Word-level knowledge distillation (Hinton et al. 2015 at temperature 1; Kim & Rush 2016): a trained
 * teacher LM over the same vocabulary scores every training window, and the student's target becomes
 * the mixture t = (1 - alpha) onehot(y) + alpha softmax(teacher logits), i.e. the loss
 *     L = (1 - alpha) NLL(y) + alpha CE(q_teacher, p_student)
 * summed like the NLL (engine/train's scaling), whose gradient w.r.t. the student's logits is p - t.
 * The reported loss stays the NLL of the true next words (perplexity means what it always meant).
 * The teacher's recurrent state for window w is rebuilt from zero over window w - 1 (a burn-in of T
 * steps, no decoder) instead of being carried: the teacher is then a function of the window index
 * alone, so a resume, an undo or a replay sees the same targets as the run it repeats. */
typedef struct {
    Model *model;          /* borrowed: evaluated only, never changed (its activation buffers aside) */
    ModelState state;      /* [B] scratch state of the burn-in and the window                         */
    int32_t *prev;         /* [T*B] the previous window's inputs                                     */
    float alpha;           /* weight of the teacher's distribution in the target, 0..1               */
} TrainTeacher;

/* Check that teacher is a language model over student's vocabulary, reserve its buffers for windows
 * of T x B and set alpha (0..1). */
TpStatus train_teacher_init(TrainTeacher *tt, Model *teacher, const Model *student, int T, int B, float alpha);
void train_teacher_free(TrainTeacher *tt);
/* The distillation gradient on top of vmath_softmax_xent's: for each of the N rows, tlogits (the
 * teacher's logits, replaced by its softmax q) and dlogits (grad_scale (p - onehot(y)) on entry)
 * become grad_scale (p - (1 - alpha) onehot(y) - alpha q). */
void train_distill_grad(float *dlogits, float *tlogits, const int32_t *y, int N, int V, float alpha, float grad_scale);
/* The distillation loss of N rows of student and teacher logits (unchanged): the sum over rows of
 * -sum_v t_v log p_v with t as above (what train_distill_grad differentiates; for the tests). */
double train_distill_loss(const float *slogits, const float *tlogits, const int32_t *y, int N, int V, float alpha);

/* Weight averaging (Polyak & Juditsky 1992; the averaged SGD of AWD-LSTM, Merity et al. 2018; SWA,
 * Izmailov et al. 2018): from step `start` on, every `every`-th step adds the weights as they are
 * (pruned entries are exact zeros) to a running mean
 *     mean += (w - mean) / (count + 1),   count += 1,
 * and train_average_apply makes the mean the model (pruned entries stay zero).  Averaging the
 * iterates of SGD at a constant rate finds a point nearer the centre of the basin they wander in than
 * any single iterate.  A connection grown while averaging has its mean pulled toward zero by the
 * samples taken while it was pruned; a change of the layout (resize, tie) must end the average. */
typedef struct {
    float *mean;           /* [n] running mean of the weights; NULL: averaging is off */
    size_t n;              /* the model's n_params when it began                      */
    long count;            /* samples in the mean                                     */
    long start;            /* the step it began at: samples at start + every, + 2 every, ... */
    int every;             /* steps between samples, >= 1                             */
} TrainAverage;

typedef struct {
    TrainConfig cfg;
    Model *model;          /* borrowed */
    int32_t *data;         /* [B, L] batchified train stream */
    size_t L, n_windows;
    int32_t *x, *y;        /* [T*B] current window */
    ModelState state;
    Optim opt;
    Rng rng;
    long step;             /* minibatches done                          */
    int epoch;             /* current epoch, from 1                     */
    size_t window;         /* next window within the epoch              */
    double ep_nll;         /* current epoch so far: summed NLL, tokens, time */
    long ep_tokens;
    double ep_seconds;
    double last_epoch_loss;    /* mean NLL per token of the last complete epoch */
    struct Devtrain *dev;      /* training through a table of operations (train_use_backend), or NULL */
    int dev_ahead;             /* the backend's model is newer than the host's (train_pull)          */
    TrainTeacher *teacher;     /* borrowed: distil from it (CPU trainer only), or NULL               */
    TrainAverage avg;          /* weight averaging (CPU trainer only; train_average_begin)           */
} Trainer;

typedef struct {
    long tokens;           /* predictions scored */
    double loss;           /* mean NLL per token */
    double ppl;            /* exp(loss)          */
    double accuracy;       /* argmax hits / tokens */
    double seconds;
} EvalResult;

TpStatus train_config_check(const TrainConfig *c);
/* Borrow m; copy and batchify the training ids. */
TpStatus train_init(Trainer *t, Model *m, const int32_t *train_ids, size_t n, const TrainConfig *cfg);
void train_free(Trainer *t);
/* One minibatch: forward, backward, clip, masked update.  A non-finite loss or gradient returns
 * TP_ENAN without touching the weights. */
TpStatus train_step(Trainer *t, TrainStepInfo *info);
/* The bookkeeping after a minibatch whose summed loss over `units` scored units (tokens; for a
 * speech task, utterances) is `nll`, begun at clock time t0: the epoch sums, step and window, and at
 * the last window of an epoch its mean loss, the next epoch and its scheduled learning rate
 * (info->epoch_done); info->seconds.  Every task's step ends with it (engine/train, sessions/speech). */
void train_advance(Trainer *t, TrainStepInfo *info, double nll, long units, double t0);
int train_finished(const Trainer *t);

/* Weight averaging (TrainAverage above).  _begin starts an empty mean at the current step (TP_ERANGE
 * for every < 1; TP_EINVAL while a backend trains: the samples need the host's weights); a running
 * average is replaced; train_use_backend refuses a device while one runs (TP_ENOTAVAIL: `--backend
 * auto` then stays on the CPU).  _end drops it.  _sample adds the current weights (train_advance calls it on
 * schedule).  _apply sets every live weight to its mean (pruned ones stay 0) and ends averaging
 * (TP_EINVAL with no sample yet or when the layout changed since _begin).  _lend puts the masked
 * mean in the model's weights and hands their copy back in *saved; _return puts them back (and frees
 * saved): to evaluate the average without keeping it, the average itself untouched. */
TpStatus train_average_begin(Trainer *t, int every);
void train_average_end(Trainer *t);
void train_average_sample(Trainer *t);
TpStatus train_average_apply(Trainer *t);
TpStatus train_average_lend(Trainer *t, float **saved);
void train_average_return(Trainer *t, float *saved);

/* Train through a table of operations (engine/devtrain: everything resident in its memory) from the
 * next step on; ops NULL returns to the CPU trainer (after pulling the model back).  The CPU trainer
 * stays the default; the CPU table is for tests.  While a backend trains, the host's model, optimizer
 * and carried state are stale after a step: train_pull copies them back (a no-op when fresh), and
 * after any host-side change (prune, grow, restore) train_push sends them over. */
TpStatus train_use_backend(Trainer *t, const BackendOps *ops);
TpStatus train_pull(Trainer *t);
TpStatus train_push(Trainer *t);
const char *train_backend_name(const Trainer *t);   /* "cpu" for the CPU trainer */
/* model_state_sparsity of whichever trainer ran the steps */
double train_state_sparsity(Trainer *t, int reset);   /* epochs or max_steps reached */
double train_epoch_progress(const Trainer *t); /* 0..1 within the current epoch */

/* DESIGN 2.5: the split as one stream, zero initial state carried through, predictions for tokens
 * 1..N-1.  eval_batch > 1 cuts the stream into that many contiguous streams (faster, slightly
 * different number; callers must say so).  Uses windows of `window` steps (any value gives the same
 * result up to float rounding). */
TpStatus train_evaluate(Model *m, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r);
/* The same with a progress hook, called after every window with the fraction done; nonzero stops the
 * evaluation with TP_ECANCEL. */
typedef int (*TrainEvalProgress)(void *ctx, double fraction);
TpStatus train_evaluate_progress(Model *m, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r,
                                 TrainEvalProgress fn, void *ctx);
/* The same on whichever backend trains t: the CPU trainer's model, or the weights resident in its
 * backend (devtrain_evaluate: nothing copied back). */
TpStatus train_evaluate_backend(Trainer *t, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r,
                                TrainEvalProgress fn, void *ctx);


#endif
