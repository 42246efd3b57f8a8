/* sessions/average: see average.h. */
#include "average.h"

#include <stdio.h>
#include <string.h>

void average_status(const Session *s, char *buf, size_t n)
{
    const TrainAverage *a = &s->trainer.avg;
    if (!a->mean) {
        if (n) buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "weight average: %ld sample%s, one every %d step%s since step %ld", a->count, a->count == 1 ? "" : "s",
             a->every, a->every == 1 ? "" : "s", a->start);
}

TpStatus average_start(Session *s, int every, char *what, size_t n)
{
    long had = s->trainer.avg.mean ? s->trainer.avg.count : -1;
    TpStatus st = train_average_begin(&s->trainer, every);
    if (st != TP_OK) return st;
    char dropped[96] = "";
    if (had >= 0) snprintf(dropped, sizeof dropped, " (the previous average, %ld sample%s, was dropped)", had,
                             had == 1 ? "" : "s");
    snprintf(what, n, "weight averaging from step %ld: every %d-th training step adds the weights to the mean%s",
             s->trainer.step, every, dropped);
    return TP_OK;
}

TpStatus average_apply(Session *s, char *what, size_t n)
{
    long count = s->trainer.avg.count, since = s->trainer.avg.start;
    TpStatus st = train_average_apply(&s->trainer);
    if (st != TP_OK) return st;
    snprintf(what, n, "the weights are now the mean of %ld sample%s taken since step %ld (pruned weights stay 0); "
             "averaging ended", count, count == 1 ? "" : "s", since);
    return TP_OK;
}

TpStatus average_off(Session *s, char *what, size_t n)
{
    if (!s->trainer.avg.mean) return err_set(TP_EINVAL, "average off: no weight average is running");
    long count = s->trainer.avg.count;
    train_average_end(&s->trainer);
    snprintf(what, n, "weight average of %ld sample%s dropped; the weights are as trained", count, count == 1 ? "" : "s");
    return TP_OK;
}

TpStatus average_evaluate(Session *s, int split, EvalResult *r, SpeechEval *sp, TrainEvalProgress fn, void *ctx)
{
    float *saved = NULL;
    TpStatus st = train_average_lend(&s->trainer, &saved);
    if (st != TP_OK) return st;
    if (task_is_asr(&s->task))
        st = speech_evaluate(s->speech, &s->model, split, 1, sp, fn, ctx);
    else
        st = train_evaluate_progress(&s->model, s->corpus.ids[split], s->corpus.n_ids[split], s->task.eval_batch, 64, r,
                                     fn, ctx);
    train_average_return(&s->trainer, saved);
    return st;
}
