/* sessions/trainloop: see trainloop.h. */
#include "trainloop.h"

#include <math.h>
#include <string.h>

#include "sessions/compress.h"
#include "sessions/distill.h"

typedef struct {
    TrainloopFn fn;
    void *ctx;
    Session *s;
    TrainRun *run;
} EvalHook;

static int eval_hook(void *p, double fraction)
{
    EvalHook *h = p;
    h->run->eval_fraction = fraction;
    return h->fn ? h->fn(h->ctx, TRAINLOOP_EVAL, h->s, h->run, NULL) : 0;
}

/* The epoch-end validation into row m: perplexity for the LM; CTC loss, WER and CER (greedy) for the
 * speech task. */
static TpStatus validate(Session *s, SessionMetrics *m, EvalHook *hook)
{
    if (task_is_asr(&s->task)) {
        SpeechEval ev;
        TpStatus st = speech_evaluate(s->speech, &s->model, CORPUS_VALID, 1, &ev, eval_hook, hook);
        if (st != TP_OK) return st;
        m->train_ppl = NAN;
        m->valid_loss = ev.loss;
        s->valid_wer = m->valid_wer = ev.wer;
        s->valid_cer = m->valid_cer = ev.cer;
        return TP_OK;
    }
    EvalResult ev;
    TpStatus st = train_evaluate_backend(&s->trainer, s->corpus.ids[CORPUS_VALID], s->corpus.n_ids[CORPUS_VALID],
                                         s->task.eval_batch, 64, &ev, eval_hook, hook);
    if (st != TP_OK) return st;
    s->valid_ppl = m->valid_ppl = hook->run->last_valid_ppl = ev.ppl;
    return TP_OK;
}

/* Training through a backend's table (train_use_backend) keeps the model there: the host's copy is
 * pulled back only where host code reads it (a schedule's actions and its growth accumulator, the
 * epoch's evaluation and save, the end of the run) and pushed after the schedule changed it. */
static TpStatus loop(Session *s, long max_steps, int max_epochs, TrainloopFn fn, void *ctx, TrainRun *run);

TpStatus trainloop_run(Session *s, long max_steps, int max_epochs, TrainloopFn fn, void *ctx, TrainRun *run)
{
    /* between runs the host's copy is the model (verbs may have pruned, grown or restored it): send it */
    TpStatus st = train_pull(&s->trainer);
    if (st == TP_OK && s->trainer.dev) st = train_push(&s->trainer);
    if (st == TP_OK && !task_is_asr(&s->task)) {
        DistillSlot d = session_distill_slot(s);
        st = distill_attach(&d);
    } /* the teacher, if the session has one */
    if (st != TP_OK) {
        memset(run, 0, sizeof *run);
        return st;
    }
    st = loop(s, max_steps, max_epochs, fn, ctx, run);
    TpStatus back = train_pull(&s->trainer);
    return st != TP_OK ? st : back;
}

static TpStatus loop(Session *s, long max_steps, int max_epochs, TrainloopFn fn, void *ctx, TrainRun *run)
{
    memset(run, 0, sizeof *run);
    run->last_valid_ppl = NAN;
    Trainer *t = &s->trainer;
    if (task_is_asr(&s->task) && t->dev)
        return err_set(TP_ENOTAVAIL, "the speech task trains on the CPU only (the device table has no ASR model): use --backend cpu");
    double win_nll = 0.0, win_t = 0.0;
    long win_tok = 0;
    TpStatus st = TP_OK;
    while (!train_finished(t) && !(max_steps > 0 && run->steps_done >= max_steps) &&
           !(max_epochs > 0 && run->epochs_done >= max_epochs)) {
        int changed = 0;
        int notes = s->n_notes; /* the schedule's events are queued there (sessions/events) */
        int sched = s->gp.sched.cfg.kind != SCHEDULE_OFF;
        if (sched && (st = train_pull(t)) != TP_OK) return st;
        if ((st = compress_schedule_tick(s, &changed)) != TP_OK) return st;
        if (changed && t->dev && (st = train_push(t)) != TP_OK) return st;
        for (int i = notes; i < s->n_notes; i++, run->n_events++) {
            run->event = s->notes[i].text;
            if (fn) fn(ctx, TRAINLOOP_SCHEDULE, s, run, NULL);
            run->event = NULL;
        }
        TrainStepInfo info;
        float lr_used = t->opt.lr; /* an epoch end moves opt.lr to the next epoch's rate */
        st = task_is_asr(&s->task) ? speech_train_step(s->speech, t, &info) : train_step(t, &info);
        if (st == TP_ENAN) {
            run->diverged = 1;
            return err_set(TP_ENAN, "training diverged at step %ld (%s); the update was not applied: lower the "
                                    "learning rate or the clip and continue", t->step + 1, err_msg());
        }
        if (st != TP_OK) return st;
        if (sched && schedule_wants_grad(&s->gp.sched) && (st = train_pull(t)) != TP_OK) return st;
        if ((st = compress_after_step(s, &info)) != TP_OK) return st;
        run->steps_done++;
        run->tokens += info.tokens;
        run->nll += info.loss * info.tokens;
        run->train_seconds += info.seconds;
        s->wall_seconds += info.seconds;
        win_nll += info.loss * info.tokens;
        win_tok += info.tokens;
        win_t += info.seconds;
        run->window_loss = win_nll / (double)win_tok;
        run->tokens_per_s = win_t > 0 ? (double)win_tok / win_t : 0.0;
        int stop = fn && fn(ctx, TRAINLOOP_STEP, s, run, NULL);
        if (t->step % s->task.log_every == 0 || info.epoch_done) {
            SessionMetrics m;
            session_metrics_now(s, &m);
            m.lr = lr_used;
            m.train_loss = run->window_loss;
            m.train_ppl = exp(m.train_loss);
            m.tokens_per_s = run->tokens_per_s;
            m.seconds = s->wall_seconds;
            m.state_sparsity = train_state_sparsity(t, 1); /* NaN unless state tau > 0 */
            if (task_is_asr(&s->task)) m.train_ppl = NAN; /* a CTC loss per utterance: no perplexity */
            if (info.epoch_done) {
                if ((st = train_pull(t)) != TP_OK) return st; /* the save reads the host's copy */
                m.epoch = t->epoch - 1;
                m.train_loss = t->last_epoch_loss;
                m.train_ppl = exp(t->last_epoch_loss);
                EvalHook hook = {fn, ctx, s, run};
                if ((st = validate(s, &m, &hook)) != TP_OK) return st;
                run->epochs_done++;
            }
            if ((st = session_log_metrics(s, &m)) != TP_OK) return st;
            if (fn && fn(ctx, info.epoch_done ? TRAINLOOP_EPOCH : TRAINLOOP_LOG, s, run, &m)) stop = 1;
            win_nll = 0.0;
            win_tok = 0;
            win_t = 0.0;
            if (info.epoch_done) {
                if (fn && fn(ctx, TRAINLOOP_SAVE, s, run, &m)) return err_wrap(TP_EIO, "epoch-end save: ");
                if ((st = session_save(s)) != TP_OK) return st;
            }
        }
        if (stop) {
            run->stopped = 1;
            break;
        }
    }
    return TP_OK;
}
