/* sessions/trainloop: run a session's training for a number of steps or epochs, with what every
 * front end needs around train_step: validation at each epoch end, metrics rows (every log_every
 * steps and at epoch ends), a save at each epoch end, a progress callback (progress bar, TUI redraw,
 * key polls) that can stop the run, and clean handling of a non-finite loss.
 * Used by `topiary train` and by the `train` verb of the command language. */
#ifndef TP_TRAINLOOP_H
#define TP_TRAINLOOP_H

#include "sessions/session.h"

typedef struct {
    long steps_done;        /* this run                                  */
    long tokens;            /* this run                                  */
    double nll;             /* summed NLL over this run's minibatches    */
    double train_seconds;   /* time inside train_step, this run          */
    int epochs_done;        /* epoch ends passed in this run             */
    double last_valid_ppl;  /* NaN if no epoch ended                     */
    double window_loss;     /* mean loss since the last metrics row      */
    double tokens_per_s;    /* since the last metrics row                */
    int stopped;            /* the callback asked to stop                */
    int diverged;           /* non-finite loss/gradient: update not applied */
    double eval_fraction;   /* TRAINLOOP_EVAL: share of the epoch-end validation done */
    int n_events;           /* schedule events (sessions/events) in this run           */
    const char *event;      /* TRAINLOOP_SCHEDULE: the event's log line                */
} TrainRun;

typedef enum { TRAINLOOP_STEP = 0, TRAINLOOP_EPOCH = 1, TRAINLOOP_LOG = 2, TRAINLOOP_EVAL = 3, TRAINLOOP_SAVE = 4,
               TRAINLOOP_SCHEDULE = 5 } TrainloopEvent;

/* Called after every step (event STEP), after a metrics row (LOG), during the epoch-end validation
 * (EVAL, with run->eval_fraction; nonzero cancels it: TP_ECANCEL) and after it (EPOCH, with the row
 * that was logged), and right before the epoch-end save (SAVE: the caller journals the work the save
 * commits; nonzero is a failure, err_msg() says which, and the run stops unsaved with TP_EIO), and
 * after each prune/grow/restore a schedule made before a step (SCHEDULE, with run->event: its line).
 * Return nonzero to stop after this step. */
typedef int (*TrainloopFn)(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run,
                           const SessionMetrics *row);

/* Train until `max_steps` steps (0 = no limit) or `max_epochs` epoch ends (0 = no limit) of this
 * run, or the session's --epochs are complete, or fn asks to stop.  TP_ENAN: the step was not
 * applied (run->diverged); other errors as they come.  The caller saves at the end. */
TpStatus trainloop_run(Session *s, long max_steps, int max_epochs, TrainloopFn fn, void *ctx, TrainRun *run);

#endif
