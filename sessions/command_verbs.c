/* sessions/command_verbs: the implementations of the verbs of the command language (the table that
 * names them, the parser and command_execute are in command.c). */
#include "sessions/command.h"
#include "sessions/average.h"
#include "sessions/distill.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/mask.h"
#include "plots/gnuplot.h"
#include "base/fsutil.h"
#include "sessions/session_charts.h"
#include "sessions/compress.h"
#include "sessions/evaluate.h"
#include "sessions/events.h"
#include "sessions/export.h"
#include "sessions/journal.h"
#include "sessions/profile.h"
#include "sessions/recommend.h"
#include "sessions/snapshot.h"
#include "sessions/trainloop.h"

/* ---- verbs ---- */

typedef struct {
    Session *s;
    long total;
    char events[2048];  /* the schedule's events of this run, one line each (the first ones) */
    int n_events;
} TrainCtx;

/* *v = the value of key= in c; TP_EINVAL with the message `usage` when c has none. */
static TpStatus require_arg(const Command *c, const char *key, const char *usage, const char **v)
{
    *v = command_arg(c, key);
    return *v ? TP_OK : err_set(TP_EINVAL, "%s", usage);
}

static int train_progress(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run,
                          const SessionMetrics *row)
{
    TrainCtx *tc = ctx;
    if (ev == TRAINLOOP_SAVE) return command_journal_progress() != TP_OK; /* the save commits these steps */
    if (ev == TRAINLOOP_SCHEDULE) {
        size_t used = strlen(tc->events);
        if (tc->n_events++ < 12) snprintf(tc->events + used, sizeof tc->events - used, "\n  schedule: %s", run->event);
        return command_train_event(ev, s, run, row);
    }
    int stop = command_train_event(ev, s, run, row);
    if (ev == TRAINLOOP_EVAL) return command_progress("validation", run->eval_fraction, s, NULL) || stop;
    double f = tc->total > 0 ? (double)run->steps_done / (double)tc->total : train_epoch_progress(&s->trainer);
    return command_progress(ev == TRAINLOOP_EPOCH ? "epoch" : "train", f, s, row) || stop;
}

TpStatus command_verb_train(Session *s, const Command *c, CommandResult *r)
{
    const char *steps = command_arg(c, "steps"), *epochs = command_arg(c, "epochs"), *limit = command_arg(c, "limit");
    if (steps && epochs) return err_set(TP_EINVAL, "train: give one of steps=N or epochs=N");
    if (limit && (steps || epochs)) return err_set(TP_EINVAL, "train: limit=N goes with the bare form (no steps= or epochs=)");
    /* the parser accepted any whole number strtod reads ("1e3", "0x10"): convert it the same way */
    long n_steps = steps ? (long)strtod(steps, NULL) : limit ? (long)strtod(limit, NULL) : 0;
    int n_epochs = epochs ? (int)strtod(epochs, NULL) : 0;
    Trainer *t = &s->trainer;
    long total = n_steps; /* the work of this run, for the progress fraction */
    if (steps || epochs) {
        /* an explicit request may go past the session's --epochs: extend it */
        if (n_epochs && t->epoch + n_epochs - 1 > t->cfg.epochs) t->cfg.epochs = s->task.train.epochs = t->epoch + n_epochs - 1;
        if (n_steps && train_finished(t)) t->cfg.epochs = s->task.train.epochs = t->epoch;
        if (n_epochs) total = 0;
    } else {
        /* bare: to the end of the session's epochs (topiary train), at most `limit` steps */
        if (train_finished(t)) {
            command_say(r, "nothing to train: the session's %d epoch(s) are complete (step %ld)", t->cfg.epochs, t->step);
            return TP_OK;
        }
        long left = (long)(t->n_windows - t->window) + (long)(t->cfg.epochs - t->epoch) * (long)t->n_windows;
        if (!total || left < total) total = left;
    }
    TrainCtx tc = {s, total, "", 0};
    TrainRun run;
    TpStatus st = trainloop_run(s, n_steps, n_epochs, train_progress, &tc, &run);
    r->changed = run.steps_done > 0;
    if (st != TP_OK) return st;
    if (task_is_asr(&s->task)) {
        command_say(r, "trained %ld step(s) to step %ld (epoch %d): CTC loss %.3f per utterance, %.1f utt/s", run.steps_done,
                    t->step, t->epoch, run.window_loss, run.steps_done ? run.tokens / run.train_seconds : 0.0);
        if (isfinite(s->valid_wer) && run.epochs_done)
            command_say(r, ", valid WER %.2f %%, CER %.2f %%", 100.0 * s->valid_wer, 100.0 * s->valid_cer);
    } else
        command_say(r, "trained %ld step(s) to step %ld (epoch %d): loss %.4f (ppl %.2f), %.0f tok/s", run.steps_done,
                    t->step, t->epoch, run.window_loss, exp(run.window_loss), run.steps_done ? run.tokens / run.train_seconds : 0.0);
    if (isfinite(run.last_valid_ppl)) command_say(r, ", valid ppl %.2f", run.last_valid_ppl);
    if (run.stopped) command_say(r, " (stopped)");
    command_say(r, "%s", tc.events);
    if (tc.n_events > 12) command_say(r, "\n  schedule: ... %d more event(s): see events.tsv", tc.n_events - 12);
    return TP_OK;
}

static int eval_progress(void *ctx, double fraction) { return command_progress("eval", fraction, ctx, NULL); }

TpStatus command_verb_eval(Session *s, const Command *c, CommandResult *r)
{
    const char *sp = command_arg(c, "split");
    int split = !sp || !strcmp(sp, "valid") ? CORPUS_VALID : !strcmp(sp, "test") ? CORPUS_TEST : CORPUS_TRAIN;
    if (command_arg(c, "average") && strtod(command_arg(c, "average"), NULL) != 0.0) {
        if (command_arg(c, "beam") || command_arg(c, "runtime"))
            return err_set(TP_EINVAL, "eval average=1: greedy decoding with the training code (no beam=, no runtime=)");
        EvalResult e;
        SpeechEval se;
        TpStatus st = average_evaluate(s, split, &e, &se, eval_progress, s);
        if (st != TP_OK) return st;
        char what[400];
        average_status(s, what, sizeof what);
        if (task_is_asr(&s->task))
            command_say(r, "%s WER %.2f %%, CER %.2f %% (greedy; CTC loss %.4f) with the %s", corpus_split_name(split),
                        100.0 * se.wer, 100.0 * se.cer, se.loss, what);
        else
            command_say(r, "%s ppl %.2f (loss %.4f, %ld tokens, accuracy %.2f%%) with the %s%s", corpus_split_name(split),
                        e.ppl, e.loss, e.tokens, 100.0 * e.accuracy, what,
                        s->task.eval_batch > 1 ? "; eval_batch > 1: not the batch-1 protocol" : "");
        return TP_OK;
    }
    if (task_is_asr(&s->task)) {
        int beam = command_arg(c, "beam") ? (int)strtod(command_arg(c, "beam"), NULL) : 1;
        int rt = command_arg(c, "runtime") && strtod(command_arg(c, "runtime"), NULL) != 0.0;
        SpeechEval e;
        char note[600] = "";
        TpStatus st = rt ? evaluate_speech_runtime(s, split, beam, &e, note, sizeof note, eval_progress, s)
                         : speech_evaluate(s->speech, &s->model, split, beam, &e, eval_progress, s);
        if (st != TP_OK) return st;
        if (!rt && split == CORPUS_VALID && beam <= 1) s->valid_wer = e.wer, s->valid_cer = e.cer;
        command_say(r, "%s WER %.2f %%, CER %.2f %% (%s; CTC loss %.4f, %d utterances; %.2f ms per audio second%s)",
                    corpus_split_name(split), 100.0 * e.wer, 100.0 * e.cer, beam > 1 ? "beam search" : "greedy", e.loss,
                    e.utterances, e.ms_per_audio_s, rt ? ", runtime" : "");
        if (rt) command_say(r, "\nkernels: %s%s%s", e.kernels, note[0] ? "\n" : "", note);
        return TP_OK;
    }
    if (command_arg(c, "beam")) return err_set(TP_EINVAL, "eval: beam=W is for a speech (an4) session");
    if (command_arg(c, "runtime") && strtod(command_arg(c, "runtime"), NULL) != 0.0)
        return err_set(TP_EINVAL, "eval: runtime=1 is for a speech (an4) session; a language model runs through the "
                                  "runtime with `topiary eval --model EXPORTDIR` (after export)");
    EvalResult e;
    TpStatus st = train_evaluate_progress(&s->model, s->corpus.ids[split], s->corpus.n_ids[split], s->task.eval_batch,
                                          64, &e, eval_progress, s);
    if (st != TP_OK) return st;
    if (split == CORPUS_VALID) s->valid_ppl = e.ppl;
    command_say(r, "%s ppl %.2f (loss %.4f, %ld tokens, accuracy %.2f%%%s)", corpus_split_name(split), e.ppl, e.loss, e.tokens,
        100.0 * e.accuracy, s->task.eval_batch > 1 ? ", eval_batch > 1: not the batch-1 protocol" : "");
    return TP_OK;
}

TpStatus command_verb_set(Session *s, const Command *c, CommandResult *r)
{
    if (c->n_args == 0) return err_set(TP_EINVAL, "set: expected KEY=VALUE (see 'help set')");
    int fm[2], tm[2]; /* the speech task's masks: checked before anything changes */
    memcpy(fm, s->task.freq_mask, sizeof fm);
    memcpy(tm, s->task.time_mask, sizeof tm);
    for (int i = 0; i < c->n_args; i++) {
        const char *k = c->args[i].key;
        int is_f = !strcmp(k, "freq_mask");
        if (!is_f && strcmp(k, "time_mask")) continue;
        if (!task_is_asr(&s->task)) return err_set(TP_EINVAL, "set %s: SpecAugment is a speech (an4) session's", k);
        TpStatus st = task_asr_parse_mask(k, c->args[i].value, is_f ? fm : tm);
        if (st != TP_OK) return err_wrap(st, "set: ");
    }
    for (int i = 0; i < c->n_args; i++) {
        const char *k = c->args[i].key;
        double v = strtod(c->args[i].value, NULL);
        if (!strcmp(k, "lr")) s->trainer.opt.lr = s->trainer.cfg.lr = s->task.train.lr = (float)v;
        else if (!strcmp(k, "clip")) s->trainer.cfg.clip = s->task.train.clip = (float)v;
        else if (!strcmp(k, "epochs")) s->trainer.cfg.epochs = s->task.train.epochs = (int)v;
        else if (!strcmp(k, "threads")) {
            TpStatus st = backend_set_threads((int)v);
            if (st != TP_OK) return st;
            s->task.threads = (int)v;
        } else if (!strcmp(k, "log_every")) s->task.log_every = (int)v;
        else if (!strcmp(k, "eval_batch")) s->task.eval_batch = (int)v;
        else if (!strcmp(k, "undo_confirm")) s->task.undo_confirm = (int)v;
        else if (!strcmp(k, "lr_decay")) s->trainer.cfg.lr_decay = s->task.train.lr_decay = (float)v;
        else if (!strcmp(k, "decay_start")) s->trainer.cfg.decay_start = s->task.train.decay_start = (int)v;
        else if (!strcmp(k, "dropout")) s->model.cfg.dropout = s->task.model.dropout = (float)v;
        else if (!strcmp(k, "state.tau")) s->model.cfg.state_tau = s->task.model.state_tau = (float)v;
        else if (!strcmp(k, "freq_mask") || !strcmp(k, "time_mask")) {
            memcpy(s->task.freq_mask, fm, sizeof fm);
            memcpy(s->task.time_mask, tm, sizeof tm);
            speech_set_masks(s->speech, fm, tm);
        }
        command_say(r, "%s%s = %s", i ? ", " : "", k, c->args[i].value);
    }
    r->changed = 1;
    return TP_OK;
}

/* Hidden-state thresholding [Ardakani et al.; DESIGN 3.4]: from now on every forward (training,
 * evaluation, export) uses h~ = h 1(|h| > tau); the backward is straight-through (engine/lstm.h). */
TpStatus command_verb_state(Session *s, const Command *c, CommandResult *r)
{
    const char *t;
    TpStatus st = require_arg(c, "tau", "state: expected tau=T (T > 0 zeroes |h| <= T; 0 turns it off)", &t);
    if (st != TP_OK) return st;
    float tau = (float)strtod(t, NULL);
    s->model.cfg.state_tau = s->task.model.state_tau = tau;
    model_state_sparsity(&s->model, 1);
    if (tau > 0.0f)
        command_say(r, "state tau=%g: h = 0 where |h| <= %g, in training and evaluation (straight-through backward); "
               "state sparsity goes to metrics.tsv", (double)tau, (double)tau);
    else
        command_say(r, "state tau=0: hidden-state thresholding off");
    r->changed = 1;
    return TP_OK;
}

/* Weight averaging (sessions/average): start, apply, off; bare, the average's state.  The journal
 * records `average start every=N` with N resolved, so a replay samples the same steps. */
TpStatus command_verb_average(Session *s, const Command *c, CommandResult *r)
{
    const char *ev = command_arg(c, "every");
    char what[400];
    TpStatus st;
    if (!c->word[0]) {
        if (ev) return err_set(TP_EINVAL, "average: every= goes with `average start`");
        average_status(s, what, sizeof what);
        command_say(r, "%s", what[0] ? what : "no weight average: `average start [every=N]` begins one");
        return TP_OK;
    }
    if (strcmp(c->word, "start") && ev) return err_set(TP_EINVAL, "average %s: takes no keys", c->word);
    if (!strcmp(c->word, "start")) {
        int every = ev ? (int)strtod(ev, NULL) : AVERAGE_EVERY_DEFAULT;
        if ((st = average_start(s, every, what, sizeof what)) != TP_OK) return st;
        command_record("average start every=%d", every);
    } else if (!strcmp(c->word, "apply")) {
        if ((st = average_apply(s, what, sizeof what)) != TP_OK) return st;
        command_record("average apply");
    } else {
        if ((st = average_off(s, what, sizeof what)) != TP_OK) return st;
        command_record("average off");
    }
    command_say(r, "%s", what);
    r->changed = 1;
    return TP_OK;
}

/* Knowledge distillation (sessions/distill, engine/train.h): the journal records the teacher as an
 * absolute path with its CRC32, so a replay distils from the same model or refuses. */
TpStatus command_verb_distill(Session *s, const Command *c, CommandResult *r)
{
    const char *t = command_arg(c, "teacher"), *a = command_arg(c, "alpha"), *crc = command_arg(c, "crc32");
    if (!strcmp(c->word, "off")) {
        if (t || a || crc) return err_set(TP_EINVAL, "distill off: takes no keys");
        int had = s->task.teacher[0] != '\0';
        DistillSlot d = session_distill_slot(s);
        distill_off(&d);
        command_say(r, had ? "distillation off: the targets are the next words again" : "distillation was off");
        if (had) command_record("distill off");
        r->changed = had;
        return TP_OK;
    }
    if (!t) {
        if (a || crc) return err_set(TP_EINVAL, "distill: alpha= and crc32= go with teacher=EXPORTDIR");
        char line[700];
        distill_status(&s->task, line, sizeof line);
        command_say(r, "%s", line[0] ? line : "no teacher: `distill teacher=EXPORTDIR [alpha=A]` chooses one");
        return TP_OK;
    }
    float alpha = a ? (float)strtod(a, NULL) : 0.5f;
    char said[1200];
    DistillSlot d = session_distill_slot(s);
    TpStatus st = distill_choose(&d, t, alpha, crc, said, sizeof said);
    if (st != TP_OK) return st;
    command_say(r, "%s", said);
    command_record("distill teacher=\"%s\" alpha=%g crc32=%08x", s->task.teacher, (double)alpha, (unsigned)s->task.teacher_crc);
    r->changed = 1;
    return TP_OK;
}

TpStatus command_verb_snapshot(Session *s, const Command *c, CommandResult *r)
{
    char name[64];
    const char *n = command_arg(c, "name");
    if (n) snprintf(name, sizeof name, "%s", n);
    else snprintf(name, sizeof name, "step-%ld", s->trainer.step);
    TpStatus st = snapshot_take(s, name);
    if (st != TP_OK) return st;
    command_say(r, "snapshot %s at step %ld", name, s->trainer.step);
    return command_commit(s, r->text); /* saved with its journal line at once: a later restore replays */
}

TpStatus command_verb_snapshots(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    SnapshotInfo list[64];
    int n = 0;
    TpStatus st = snapshot_list(s->dir, list, 64, &n);
    if (st != TP_OK) return st;
    command_say(r, "%-24s %10s %12s %10s  %s\n", "name", "step", "valid ppl", "size", "taken before");
    for (int i = 0; i < n; i++) {
        char ppl[32];
        if (isfinite(list[i].valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", list[i].valid_ppl);
        else snprintf(ppl, sizeof ppl, "-");
        command_say(r, "%-24s %10ld %12s %9.1fM  %s\n", list[i].name, list[i].step, ppl, list[i].bytes / 1048576.0,
            list[i].reason);
    }
    if (!n) command_say(r, "(no snapshots)\n");
    snprintf(r->summary, sizeof r->summary, "%d snapshot(s)", n);
    return TP_OK;
}

TpStatus command_verb_plot(Session *s, const Command *c, CommandResult *r)
{
    const char *chart = command_arg(c, "chart") ? command_arg(c, "chart") : "ppl";
    char out[4400];
    if (command_arg(c, "out")) {
        snprintf(out, sizeof out, "%s", command_arg(c, "out"));
    } else {
        snprintf(out, sizeof out, "%s/plots", s->dir);
        TpStatus mk = fsutil_mkdir_p(out);
        if (mk != TP_OK) return mk;
        snprintf(out, sizeof out, "%s/plots/%s.png", s->dir, chart);
    }
    SessionChart sc;
    TpStatus st = session_charts_load(&sc, s->dir, chart);
    if (st != TP_OK) return st;
    GnuplotFiles gf;
    st = gnuplot_plot(&gf, out, &sc.spec, sc.series, sc.n_series);
    session_charts_free(&sc);
    if (st != TP_OK) return st;
    command_say(r, "wrote %s (script %s)", out, gf.script);
    return TP_OK;
}

TpStatus command_verb_save(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    TpStatus st = session_save(s);
    if (st != TP_OK) return st;
    command_say(r, "saved %s at step %ld", s->dir, s->trainer.step);
    return TP_OK;
}

TpStatus command_verb_export(Session *s, const Command *c, CommandResult *r)
{
    const char *out;
    TpStatus st = require_arg(c, "out", "export: out=DIR is required", &out);
    if (st == TP_OK) st = export_write(s, out);
    if (st != TP_OK) return st;
    command_say(r, "exported step %ld to %s (%s)", s->trainer.step, out, task_is_asr(&s->task)
        ? "model.safetensors with PyTorch names, check.safetensors, config.json, vocab.json"
        : "model.safetensors, model.compact.safetensors, config.json, vocab.json");
    return TP_OK;
}

TpStatus command_verb_quit(Session *s, const Command *c, CommandResult *r)
{
    TpStatus st = command_verb_save(s, c, r);
    if (st != TP_OK) return st;
    r->quit = 1;
    return TP_OK;
}


static double num(const Command *c, const char *key, double dflt)
{
    const char *v = command_arg(c, key);
    return v ? strtod(v, NULL) : dflt;
}

/* pattern=block [block=RxC] of prune, grow and schedule: *R x *C (default 16x1), or 0 x 0 without
 * pattern=block; block= alone is refused. */
static TpStatus block_args(const Command *c, const char *verb, int *R, int *C)
{
    const char *pat = command_arg(c, "pattern"), *blk = command_arg(c, "block");
    *R = *C = 0;
    if (!pat || strcmp(pat, "block")) {
        if (blk) return err_set(TP_EINVAL, "%s: block=%s needs pattern=block", verb, blk);
        return TP_OK;
    }
    if (!blk) blk = "16x1";
    TpStatus st = mask_block_parse(blk, R, C);
    return st == TP_OK ? TP_OK : err_wrap(st, "%s: ", verb);
}

/* rows=natural|freq of prune and grow: *order = the vocabulary's frequency order for rows=freq
 * (compress_vocab_order; the caller frees it), NULL otherwise.  rows= needs pattern=block. */
static TpStatus rows_arg(const Session *s, const Command *c, const char *verb, int R, int32_t **order)
{
    const char *rows = command_arg(c, "rows");
    *order = NULL;
    if (!rows || !strcmp(rows, "natural")) return TP_OK;
    if (R <= 0) return err_set(TP_EINVAL, "%s: rows=%s needs pattern=block", verb, rows);
    TpStatus st = compress_vocab_order(s, order);
    return st == TP_OK ? TP_OK : err_wrap(st, "%s: ", verb);
}

static void say_tensor_table(CommandResult *r, const Session *s, const size_t *before, const size_t *after,
                             const int *selected)
{
    command_say(r, "\n  %-16s %10s %10s %9s\n", "tensor", "live", "of", "density");
    for (int i = 0; i < s->model.n_tensors; i++) {
        if (!selected[i]) continue;
        const ModelParam *p = &s->model.p[i];
        command_say(r, "  %-16s %10zu %10zu %8.1f%%%s\n", p->name, after[i], p->n, 100.0 * after[i] / (double)p->n,
            before[i] != after[i] ? "" : " (unchanged)");
    }
}

TpStatus command_verb_prune(Session *s, const Command *c, CommandResult *r)
{
    PruneConfig p = prune_config_default();
    int modes = !!command_arg(c, "ratio") + !!command_arg(c, "threshold") + !!command_arg(c, "sparsity");
    if (modes > 1) return err_set(TP_EINVAL, "prune: give one of ratio=, threshold= or sparsity=");
    if (!modes && !command_arg(c, "ih") && !command_arg(c, "hh"))
        return err_set(TP_EINVAL, "prune: give ratio=R, threshold=T, sparsity=S or ih=R/hh=R");
    p.mode = command_arg(c, "threshold") ? PRUNE_THRESHOLD : command_arg(c, "sparsity") ? PRUNE_SPARSITY : PRUNE_RATIO;
    p.amount = num(c, p.mode == PRUNE_THRESHOLD ? "threshold" : p.mode == PRUNE_SPARSITY ? "sparsity" : "ratio", 0.0);
    p.amount_ih = num(c, "ih", -1.0);
    p.amount_hh = num(c, "hh", -1.0);
    if (command_arg(c, "pattern") && !strcmp(command_arg(c, "pattern"), "row")) p.pattern = PRUNE_ROW;
    int br, bc;
    TpStatus st = block_args(c, "prune", &br, &bc);
    if (st != TP_OK) return st;
    if (br > 0) p.pattern = PRUNE_BLOCK, p.block_r = br, p.block_c = bc;
    int32_t *order = NULL;
    if ((st = rows_arg(s, c, "prune", br, &order)) != TP_OK) return st;
    p.vocab_order = order;
    if (command_arg(c, "scope") && !strcmp(command_arg(c, "scope"), "global")) p.scope = MASK_SCOPE_GLOBAL;
    p.params = command_arg(c, "params");
    int dry = num(c, "dry", 0) == 1;
    PruneResult res;
    SessionEvent ev;
    SessionMetrics m0;
    session_metrics_now(s, &m0);
    if (!dry && (st = events_begin(s, &ev, "prune", "command")) != TP_OK) {
        free(order);
        return st;
    }
    st = compress_prune(s, &p, dry, &res);
    free(order);
    if (st != TP_OK) return st;
    r->changed = !dry && res.removed > 0;
    /* what it did, plainly: ratio= removes a share of what is live; the two sparsity figures by name */
    command_say(r, "%s %.1f %% of the live weights of the selected matrices (%zu of %zu): their sparsity %.2f %% -> %.2f %%",
        dry ? "would prune" : "pruned", res.live_before ? 100.0 * res.removed / res.live_before : 0.0, res.removed,
        res.live_before, 100 * res.sparsity_before, 100 * res.sparsity_after);
    if (p.pattern == PRUNE_BLOCK) {
        size_t bl = 0, bx = 0;
        for (int i = 0; i < res.n_tensors; i++) bl += res.t[i].blocks_live, bx += res.t[i].blocks_removed;
        command_say(r, " (%zu of %zu live %dx%d blocks%s)", bx, bl, p.block_r, p.block_c,
                    p.vocab_order ? ", vocabulary rows by frequency" : "");
    }
    if (p.mode == PRUNE_RATIO && res.sparsity_before > 0)
        command_say(r, "\n  (ratio=R removes R of what is live, not down to sparsity R: sparsity=S prunes to S)");
    char detail[120];
    snprintf(detail, sizeof detail, "pruned %zu (selected matrices %.1f %% -> %.1f %% sparse)", res.removed,
             100 * res.sparsity_before, 100 * res.sparsity_after);
    if (!dry && res.removed > 0 && (st = events_end(s, &ev, detail)) != TP_OK) return st;
    if (!dry && res.removed > 0) {
        char d[256];
        events_describe(&ev, d, sizeof d);
        command_say(r, "\n  sparsity: model %.1f %% -> %.1f %% (prunable matrices %.1f %% -> %.1f %%); %s", 100 * m0.sparsity,
            100 * ev.sparsity, 100 * m0.matrix_sparsity, 100 * ev.matrix_sparsity, d);
    }
    snprintf(r->summary, sizeof r->summary, "%s %zu: selected matrices %.2f %% -> %.2f %% sparse", dry ? "would prune" : "pruned",
             res.removed, 100 * res.sparsity_before, 100 * res.sparsity_after);
    size_t before[MODEL_MAX_TENSORS], after[MODEL_MAX_TENSORS];
    int sel[MODEL_MAX_TENSORS];
    for (int i = 0; i < res.n_tensors; i++) {
        sel[i] = res.t[i].selected;
        before[i] = res.t[i].live_before;
        after[i] = res.t[i].live_before - res.t[i].removed;
    }
    say_tensor_table(r, s, before, after, sel);
    return TP_OK;
}

TpStatus command_verb_grow(Session *s, const Command *c, CommandResult *r)
{
    if (!command_arg(c, "ratio")) return err_set(TP_EINVAL, "grow: ratio=R is required");
    GrowConfig g = grow_config_default();
    g.ratio = num(c, "ratio", 0);
    if (command_arg(c, "init") && !strcmp(command_arg(c, "init"), "grad")) g.init = GROW_INIT_GRAD;
    if (command_arg(c, "scope") && !strcmp(command_arg(c, "scope"), "global")) g.scope = MASK_SCOPE_GLOBAL;
    g.recoverable = (int)num(c, "recoverable", 1);
    g.params = command_arg(c, "params");
    int br, bc;
    TpStatus st = block_args(c, "grow", &br, &bc);
    if (st != TP_OK) return st;
    if (br > 0) g.block_r = br, g.block_c = bc;
    int32_t *order = NULL;
    if ((st = rows_arg(s, c, "grow", br, &order)) != TP_OK) return st;
    g.vocab_order = order;
    int dry = num(c, "dry", 0) == 1;
    GrowResult res;
    SessionEvent ev;
    if (!dry && (st = events_begin(s, &ev, "grow", "command")) != TP_OK) {
        free(order);
        return st;
    }
    st = compress_grow(s, &g, (int)num(c, "batches", 20), dry, &res);
    free(order);
    if (st != TP_OK) return st;
    r->changed = !dry && res.grown > 0;
    command_say(r, "%s %zu of %zu dormant connections (scored over %d minibatch%s)", dry ? "would grow" : "grew", res.grown,
        res.eligible, res.n_batches, res.n_batches == 1 ? "" : "es");
    if (br > 0) {
        size_t be = 0, bg = 0;
        for (int i = 0; i < res.n_tensors; i++) be += res.t[i].blocks_eligible, bg += res.t[i].blocks_grown;
        command_say(r, " (%zu of %zu dormant %dx%d blocks%s)", bg, be, br, bc,
                    g.vocab_order ? ", vocabulary rows by frequency" : "");
    }
    if (!dry && res.grown > 0) {
        char d[256];
        snprintf(d, sizeof d, "grew %zu of %zu dormant connections", res.grown, res.eligible);
        if ((st = events_end(s, &ev, d)) != TP_OK) return st;
        events_describe(&ev, d, sizeof d);
        command_say(r, "\n  %s", d);
    }
    snprintf(r->summary, sizeof r->summary, "%s %zu of %zu", dry ? "would grow" : "grew", res.grown, res.eligible);
    size_t before[MODEL_MAX_TENSORS], after[MODEL_MAX_TENSORS];
    int sel[MODEL_MAX_TENSORS];
    for (int i = 0; i < res.n_tensors; i++) {
        MaskTensorStats ts;
        mask_tensor_stats(&s->model, &ts, i);
        sel[i] = res.t[i].selected;
        after[i] = ts.nnz + (dry ? res.t[i].grown : 0);
        before[i] = after[i] - res.t[i].grown;
    }
    say_tensor_table(r, s, before, after, sel);
    return TP_OK;
}

TpStatus command_verb_resize(Session *s, const Command *c, CommandResult *r)
{
    if (!command_arg(c, "layer") || !command_arg(c, "hidden")) return err_set(TP_EINVAL, "resize: layer=L and hidden=H are required");
    const char *in = command_arg(c, "init");
    ResizeInitKind k = !in || !strcmp(in, "fanin") ? RESIZE_INIT_FANIN : !strcmp(in, "grad") ? RESIZE_INIT_GRAD
                                                                                                : RESIZE_INIT_ZERO;
    char what[200], d[256];
    SessionEvent ev;
    TpStatus st = events_begin(s, &ev, "resize", "command");
    if (st == TP_OK)
        st = compress_resize(s, (int)num(c, "layer", 0), (int)num(c, "hidden", 1), k, (int)num(c, "batches", 10), what,
                             sizeof what);
    if (st == TP_OK) st = events_end(s, &ev, what);
    if (st != TP_OK) return st;
    r->changed = 1;
    SessionMetrics m;
    session_metrics_now(s, &m);
    events_describe(&ev, d, sizeof d);
    command_say(r, "resized %s; %zu non-zeros of %zu parameters\n  %s", what, m.nnz, m.params, d);
    return TP_OK;
}

TpStatus command_verb_tie(Session *s, const Command *c, CommandResult *r)
{
    const char *from = command_arg(c, "from");
    char what[240], d[256];
    SessionEvent ev;
    TpStatus st = events_begin(s, &ev, "tie", "command");
    if (st == TP_OK) st = compress_tie(s, from ? from : "decoder", what, sizeof what);
    if (st == TP_OK) st = events_end(s, &ev, what);
    if (st != TP_OK) return st;
    r->changed = 1;
    events_describe(&ev, d, sizeof d);
    command_say(r, "tied: %s\n  %s", what, d);
    return TP_OK;
}

static TpStatus st_check_params(const Session *s, const char *glob) { return mask_params_check(&s->model, glob); }

TpStatus command_verb_schedule(Session *s, const Command *c, CommandResult *r)
{
    if (!strcmp(c->word, "hwgp") && task_is_asr(&s->task))
        return speech_refuse("schedule hwgp", "its budget is the latency of one step of the language model's "
                                              "unidirectional layers; the speech model's cost per second of audio "
                                              "(profile) is not wired into the method yet");
    if (!strcmp(c->word, "hwgp")) return command_verb_hwgp(s, c, r);
    static const char *const HWGP_ONLY[] = {"target", "budget_us", "speedup", "phases", "min_hidden", "max_hidden", "sizes",
                                            "average"};
    for (size_t i = 0; i < sizeof HWGP_ONLY / sizeof HWGP_ONLY[0]; i++)
        if (command_arg(c, HWGP_ONLY[i])) return err_set(TP_EINVAL, "schedule %s: %s= goes with schedule hwgp", c->word, HWGP_ONLY[i]);
    ScheduleKind k = !strcmp(c->word, "agp") ? SCHEDULE_AGP : !strcmp(c->word, "gp") ? SCHEDULE_GP : SCHEDULE_OFF;
    ScheduleConfig sc = schedule_config_default(k);
    if (k == SCHEDULE_AGP) {
        sc.from = num(c, "from", sc.from);
        sc.to = num(c, "to", sc.to);
        /* steps are absolute; without start= the schedule starts now */
        sc.start = (long)num(c, "start", (double)s->trainer.step);
        if (command_arg(c, "end") && command_arg(c, "span")) return err_set(TP_EINVAL, "schedule agp: give end= or span=, not both");
        sc.end = command_arg(c, "end") ? (long)num(c, "end", 0) : sc.start + (long)num(c, "span", (double)sc.end);
        sc.every = (long)num(c, "every", (double)sc.every);
    } else if (k == SCHEDULE_GP) {
        sc.grow_ratio = num(c, "grow", sc.grow_ratio);
        sc.prune_ratio = num(c, "prune", sc.prune_ratio);
        sc.every = (long)num(c, "every", (double)sc.every);
        sc.tolerance = num(c, "tolerance", sc.tolerance);
        sc.grow_batches = (int)num(c, "batches", sc.grow_batches);
        sc.cycles = (int)num(c, "cycles", sc.cycles);
    } else if (c->n_args) {
        return err_set(TP_EINVAL, "schedule none takes no keys");
    }
    TpStatus bst = block_args(c, "schedule", &sc.block_r, &sc.block_c);
    if (bst != TP_OK) return bst;
    const char *pg = command_arg(c, "params");
    if (pg && (st_check_params(s, pg)) != TP_OK) return err_wrap(TP_EINVAL, "schedule: ");
    TpStatus st = compress_schedule_set(s, &sc);
    if (st != TP_OK) return st;
    snprintf(s->gp.params, sizeof s->gp.params, "%s", pg ? pg : "");
    char d[256];
    command_say(r, "schedule %s", compress_schedule_describe(s, d, sizeof d));
    r->changed = 1;
    return TP_OK;
}

TpStatus command_verb_status(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    SessionMetrics m;
    session_metrics_now(s, &m);
    int done = train_finished(&s->trainer);
    command_say(r, "session %s: step %ld, epoch %d/%d%s, lr %.4g, clip %g; ", s->dir, m.step, done ? s->trainer.cfg.epochs : m.epoch,
        s->trainer.cfg.epochs, done ? " (done)" : "", m.lr, (double)s->trainer.cfg.clip);
    command_say(r, "layers");
    for (int l = 0; l < s->model.cfg.n_layers; l++) command_say(r, " %d", s->model.cfg.hidden[l]);
    command_say(r, ", %zu non-zeros of %zu; sparsity: model %.1f %% (prunable matrices %.1f %%)", m.nnz, m.params,
        100.0 * m.sparsity, 100.0 * m.matrix_sparsity);
    if (isfinite(s->valid_ppl)) command_say(r, ", valid ppl %.2f", s->valid_ppl);
    if (task_is_asr(&s->task) && isfinite(s->valid_wer))
        command_say(r, ", valid WER %.2f %%, CER %.2f %%", 100.0 * s->valid_wer, 100.0 * s->valid_cer);
    char d[256];
    command_say(r, "; schedule %s", compress_schedule_describe(s, d, sizeof d));
    if (s->gp.last_event[0]) command_say(r, "; last: %s", s->gp.last_event);
    char dl[700];
    distill_status(&s->task, dl, sizeof dl);
    if (dl[0]) command_say(r, "; %s", dl);
    average_status(s, dl, sizeof dl);
    if (dl[0]) command_say(r, "; %s", dl);
    return TP_OK;
}

static int profile_cancel(void *ctx, double fraction)
{
    return command_progress("profile", fraction, ctx, NULL);
}

TpStatus command_verb_profile(Session *s, const Command *c, CommandResult *r)
{
    const char *k[COMMAND_MAX_ARGS], *v[COMMAND_MAX_ARGS];
    for (int i = 0; i < c->n_args; i++) k[i] = c->args[i].key, v[i] = c->args[i].value;
    return profile_verb(s, c->n_args, k, v, profile_cancel, s, r->text, sizeof r->text, r->summary, sizeof r->summary);
}

TpStatus command_verb_recommend(Session *s, const Command *c, CommandResult *r)
{
    const char *l = command_arg(c, "layer"), *b = command_arg(c, "budget_us"), *ap = command_arg(c, "apply");
    /* strtod, as the parser read it: "layer=1e0" is layer 1 */
    int layer = l ? (int)strtod(l, NULL) : 0;
    double budget = b ? strtod(b, NULL) : 0.0;
    TpStatus st = profile_verb_recommend(s, layer, budget, r->text, sizeof r->text);
    if (st != TP_OK || !ap || strcmp(ap, "1")) return st;
    /* apply=1: resize to the recommendation, as `resize layer=L hidden=H` with its defaults; the
     * journal records that resize, so replay does not depend on this machine's latency.tsv */
    RecommendPick p;
    if ((st = recommend_pick(s, layer, budget, &p)) != TP_OK) return st;
    if (p.target == p.current) {
        command_say(r, "\nnothing to apply: layer %d stays at %d", layer, p.current);
        snprintf(r->summary, sizeof r->summary, "recommend layer=%d: nothing to apply (hidden %d)", layer, p.current);
        return TP_OK;
    }
    char what[200];
    if ((st = command_undo_point(s)) != TP_OK) return st;
    SessionEvent ev;
    char d[256];
    if ((st = events_begin(s, &ev, "resize", "command")) == TP_OK)
        st = compress_resize(s, layer, p.target, RESIZE_INIT_FANIN, 10, what, sizeof what);
    if (st == TP_OK) st = events_end(s, &ev, what);
    if (st != TP_OK) return err_wrap(st, "recommend apply=1: ");
    r->changed = 1;
    command_record("resize layer=%d hidden=%d", layer, p.target);
    events_describe(&ev, d, sizeof d);
    command_say(r, "\napplied: resized %s (undo goes back)\n  %s", what, d);
    snprintf(r->summary, sizeof r->summary, "applied the recommendation: layer %d %d -> %d", layer, p.current, p.target);
    return TP_OK;
}

TpStatus command_verb_help(Session *s, const Command *c, CommandResult *r)
{
    (void)s;
    command_say(r, "%s", command_help(c->word[0] ? c->word : NULL));
    snprintf(r->summary, sizeof r->summary, "help");
    return TP_OK;
}
