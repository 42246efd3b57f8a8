/* cli/cmd_train: `topiary train` — create or resume a session and run the `train` verb of the command
 * language on it (so the undo point and the journal entry are the verb's), with a progress bar on a
 * TTY, per-epoch lines, --json lines, and a save on SIGINT/SIGTERM/SIGHUP. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/signals.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"
#include "sessions/runtime.h"
#include "sessions/view.h"


static int is_resume_option(const char *o)
{
    return !strcmp(o, "--epochs") || !strcmp(o, "--max-steps") || !strcmp(o, "--threads") || !strcmp(o, "--data") ||
           !strcmp(o, "--log-every");
}

typedef struct {
    int json, tty;
    long max_steps;
    double ema_loss, last_draw;
    TrainRun run;              /* the run's counters at the last event */
} TrainCli;

static void progress_bar(const ViewProgress *v, double run_loss, double tok_s, double eta)
{
    char bar[40], e[32];
    cli_bar(bar, 30, v->epoch_fraction);
    cli_duration(e, sizeof e, eta);
    fprintf(stderr, "\r%s %3.0f%% epoch %d/%d step %ld loss %.3f ppl %.1f %.0f tok/s ETA %s   ", bar,
            v->epoch_fraction * 100.0, v->epoch, v->epochs, v->step, run_loss, exp(run_loss), tok_s, e);
    fflush(stderr);
}

/* Progress bar, per-epoch lines and plain log lines; stops on a signal. */
static int on_train(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run, const SessionMetrics *m)
{
    TrainCli *cl = ctx;
    ViewProgress v;
    view_progress(s, &v);
    cl->run = *run;
    if (ev == TRAINLOOP_EVAL) return 0; /* a signal waits for the validation: the epoch's row needs it */
    if (ev == TRAINLOOP_STEP) {
        double loss = run->window_loss; /* running mean since the last row: good enough for the bar */
        cl->ema_loss = isfinite(cl->ema_loss) ? 0.95 * cl->ema_loss + 0.05 * loss : loss;
        double now = clock_now();
        if (cl->tty && now - cl->last_draw > 0.2) {
            double per_step = run->train_seconds / (double)run->steps_done;
            double left = v.windows_left;
            if (cl->max_steps > 0 && cl->max_steps - run->steps_done < left) left = (double)(cl->max_steps - run->steps_done);
            progress_bar(&v, cl->ema_loss, run->tokens_per_s, left * per_step);
            cl->last_draw = now;
        }
    } else if (ev == TRAINLOOP_EPOCH && isfinite(m->valid_wer)) { /* the speech task */
        if (cl->json)
            printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_loss\":%.4f,\"valid_loss\":%.4f,\"valid_wer\":%.6f,"
                   "\"valid_cer\":%.6f,\"utterances_per_s\":%.1f,\"seconds\":%.2f}\n",
                   v.step, m->epoch, m->lr, m->train_loss, m->valid_loss, m->valid_wer, m->valid_cer, m->tokens_per_s,
                   s->wall_seconds);
        else
            fprintf(stderr, "%sepoch %d: train CTC loss %.3f, valid loss %.3f, valid WER %.2f %%, CER %.2f %%, lr %.4g, "
                    "%.1f utt/s, %.1f s\n", cl->tty ? "\r\033[K" : "", m->epoch, m->train_loss, m->valid_loss,
                    100.0 * m->valid_wer, 100.0 * m->valid_cer, m->lr, m->tokens_per_s, s->wall_seconds);
        fflush(stdout);
    } else if (ev == TRAINLOOP_EPOCH) {
        if (cl->json)
            printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
                   "\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n",
                   v.step, m->epoch, m->lr, m->train_ppl, m->valid_ppl, m->tokens_per_s, s->wall_seconds);
        else
            fprintf(stderr, "%sepoch %d: train ppl %.2f, valid ppl %.2f, lr %.4g, %.0f tok/s, %.1f s\n",
                    cl->tty ? "\r\033[K" : "", m->epoch, m->train_ppl, m->valid_ppl, m->lr, m->tokens_per_s,
                    s->wall_seconds);
        fflush(stdout);
    } else if (ev == TRAINLOOP_SCHEDULE) { /* a prune/grow the schedule made: one log line */
        fprintf(stderr, "%sschedule: %s\n", cl->tty ? "\r\033[K" : "", run->event);
    } else if (ev == TRAINLOOP_LOG && !cl->tty && !cl->json && !isfinite(m->train_ppl) && isfinite(m->train_loss)) {
        fprintf(stderr, "step %ld epoch %d: CTC loss %.3f, %.1f utt/s\n", v.step, v.epoch, m->train_loss, m->tokens_per_s);
    } else if (ev == TRAINLOOP_LOG && !cl->tty && !cl->json) {
        fprintf(stderr, "step %ld epoch %d: loss %.4f ppl %.2f, %.0f tok/s\n", v.step, v.epoch, m->train_loss,
                m->train_ppl, m->tokens_per_s);
    }
    return signals_stop_requested() != 0;
}

/* A --schedule for a new session, checked on the session built in memory before anything is written
 * (journal off), then set back: the initial snapshot is the state before the schedule, which is
 * executed (and journaled) once the session exists. */
static TpStatus check_schedule(Session *s, const char *schedule)
{
    char line[1024];
    CommandResult cr;
    snprintf(line, sizeof line, "schedule %s", schedule);
    command_set_journal(0);
    TpStatus st = command_execute(s, line, &cr);
    if (st == TP_OK) st = command_execute(s, "schedule none", &cr);
    command_set_journal(1);
    return st;
}

/* Open (resume) or create the session as its one writer (w); the resume rules of DESIGN 2.1. */
static int open_session(Session *s, SessionWriter *w, const char *dir, const Task *given, const char *fixed_opt,
                        const char *schedule, int *resumed)
{
    writer_init(w);
    *resumed = session_exists(dir);
    if (!*resumed) { /* everything is checked before the first byte is written */
        TpStatus st = session_create_prepare(s, dir, given);
        if (st != TP_OK) return cli_fail(NULL, st);
        if (schedule && (st = check_schedule(s, schedule)) != TP_OK) {
            fprintf(stderr, "topiary: --schedule: %s\n", err_msg());
            session_free(s);
            return exitcode_from_status(st);
        }
        if ((st = writer_create_commit(w, s, "topiary train")) != TP_OK) return cli_fail(NULL, st);
        cli_writer_note(w, "train");
        return 0;
    }
    if (fixed_opt) {
        fprintf(stderr, "topiary: train: session %s exists; %s cannot change when resuming (only --epochs, "
                        "--max-steps, --threads, --data and --log-every may)\n", dir, fixed_opt);
        return EXIT_CODE_USAGE;
    }
    TpStatus st = writer_open(w, s, dir, given->data[0] ? given->data : NULL, "topiary train");
    if (st != TP_OK) return cli_fail(NULL, st);
    cli_writer_note(w, "train");
    /* resume overrides that change the session are commands of the language, so they are journaled
     * and replay repeats them: compare against defaults to see what was given */
    Task d;
    task_defaults(&d);
    char line[160] = "set";
    size_t n = strlen(line);
    if (given->train.epochs != d.train.epochs && given->train.epochs != s->task.train.epochs)
        n += (size_t)snprintf(line + n, sizeof line - n, " epochs=%d", given->train.epochs);
    if (given->threads != d.threads && given->threads != s->task.threads)
        n += (size_t)snprintf(line + n, sizeof line - n, " threads=%d", given->threads);
    if (given->log_every != d.log_every && given->log_every != s->task.log_every)
        snprintf(line + n, sizeof line - n, " log_every=%d", given->log_every);
    CommandResult cr;
    if (strcmp(line, "set") && (st = command_execute(s, line, &cr)) != TP_OK) {
        session_free(s);
        writer_close(w);
        return cli_fail(NULL, st);
    }
    return 0;
}

static void print_final(const Session *s, const TrainCli *cl, const char *dir, double el)
{
    ViewProgress v;
    view_progress(s, &v);
    const TrainRun *run = &cl->run;
    ViewStatus vs;
    view_status(s, &vs);
    if (cl->json && vs.speech) /* the speech task: CTC loss, the last validation's WER and CER (-1: none) */
        printf("{\"final\":true,\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_loss\":%.4f,\"valid_wer\":%.6f,"
               "\"valid_cer\":%.6f,\"steps_run\":%ld,\"utterances_per_s\":%.1f,\"seconds\":%.2f}\n", v.step,
               v.epoch > v.epochs ? v.epochs : v.epoch, v.lr, run->tokens > 0 ? run->nll / (double)run->tokens : -1.0,
               isfinite(vs.valid_wer) ? vs.valid_wer : -1.0, isfinite(vs.valid_cer) ? vs.valid_cer : -1.0,
               run->steps_done, run->train_seconds > 0 ? run->tokens / run->train_seconds : 0.0, el);
    else if (cl->json)
        /* train_ppl: over this run's minibatches (DESIGN 2.1 asks for it on every line) */
        printf("{\"final\":true,\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
               "\"steps_run\":%ld,\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n", v.step,
               v.epoch > v.epochs ? v.epochs : v.epoch, v.lr,
               run->tokens > 0 ? exp(run->nll / (double)run->tokens) : -1.0,
               isfinite(s->valid_ppl) ? s->valid_ppl : -1.0, run->steps_done,
               run->train_seconds > 0 ? run->tokens / run->train_seconds : 0.0, el);
    else
        fprintf(stderr, "topiary: %ld step(s) in %.1f s; session %s saved at step %ld%s\n", run->steps_done, el, dir,
                v.step, v.finished ? " (training complete)" : "");
}

int cmd_train(int argc, char **argv)
{
    const char *dir = NULL, *schedule = NULL, *backend = NULL;
    int json = 0, id;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"json", no_argument, .flag = &json},
                              {"schedule", required_argument, .value = &schedule},
                              {"backend", required_argument, .value = &backend}, {NULL}};
    const char *fixed_opt = NULL; /* first option that cannot change when resuming */
    char fixed[48];
    Task given;
    CliParser p;
    cli_parser_init(&p, "train", argc, argv, opts, &given);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == CLI_TASK && !fixed_opt && !is_resume_option(p.name))
            fixed_opt = strcpy(fixed, p.name);
        else if (id == CLI_ARG) return cli_usage("train: unknown option '%s'", p.value);
    }
    if (!dir) return cli_usage("train: --session DIR is required");
    /* --backend cuda without a usable device: exit 2 with the reason, before anything is opened */
    if (cli_backend_check(backend)) return EXIT_CODE_USAGE;
    Session s;
    SessionWriter w;
    int resumed, rc = open_session(&s, &w, dir, &given, fixed_opt, schedule, &resumed);
    if (rc) return rc;
    CommandResult cr;
    TpStatus st;
    if (schedule) {
        /* the schedule is a command of the language, so it is journaled and replayable */
        char line[1024];
        snprintf(line, sizeof line, "schedule %s", schedule);
        if ((st = command_execute(&s, line, &cr)) != TP_OK) {
            fprintf(stderr, "topiary: --schedule: %s\n", err_msg());
            session_free(&s);
            writer_close(&w);
            return exitcode_from_status(st);
        }
        if (!json) fprintf(stderr, "topiary: %s\n", cr.text);
    }
    if (cli_backend_apply(&s, backend)) {
        session_free(&s);
        writer_close(&w);
        return EXIT_CODE_USAGE;
    }
    signals_catch_stop();
    TrainCli cl = {.json = json, .tty = isatty(STDERR_FILENO) && !json, .max_steps = given.train.max_steps, .ema_loss = NAN};
    if (!json) {
        char desc[512];
        ViewStatus vs; /* its params excludes the alignment padding that model.n_params counts */
        view_status(&s, &vs);
        runtime_describe(desc, sizeof desc);
        if (vs.speech)
            fprintf(stderr, "topiary: %s session %s: speech (an4) %s, %d classes, %d bidirectional layer(s) of %d, "
                    "%zu parameters\n", resumed ? "resuming" : "new", dir, s.task.data, vs.n_vocab, vs.n_layers,
                    vs.hidden[0], vs.params);
        else
            fprintf(stderr, "topiary: %s session %s: %s, %s level, vocab %d, %d layer(s) of %d, %zu parameters\n",
                    resumed ? "resuming" : "new", dir, s.task.data, vs.level, vs.n_vocab, vs.n_layers, vs.hidden[0],
                    vs.params);
        fprintf(stderr, "topiary: %s\n", desc);
    }
    /* the train verb: an undo point before, the steps it really ran in the journal */
    char line[64] = "train";
    if (cl.max_steps > 0) snprintf(line, sizeof line, "train limit=%ld", cl.max_steps);
    double t0 = clock_now();
    command_set_train_hook(on_train, &cl);
    st = command_execute(&s, line, &cr);
    command_set_train_hook(NULL, NULL);
    if (cl.tty) fprintf(stderr, "\r\033[K");
    if (st == TP_ENAN) {
        fprintf(stderr, "topiary: %s\n", err_msg());
        rc = EXIT_CODE_RUNTIME;
    } else if (st != TP_OK) {
        rc = cli_fail(NULL, st);
    }
    /* Always save what we have: after a signal, a divergence (weights untouched) or the end. */
    if (session_save(&s) != TP_OK) {
        fprintf(stderr, "topiary: could not save: %s\n", err_msg());
        rc = EXIT_CODE_RUNTIME;
    }
    int sig = signals_stop_requested();
    if (sig && rc == 0) {
        fprintf(stderr, "topiary: interrupted by signal %d at step %ld; session saved\n", sig, view_step(&s));
        rc = EXIT_CODE_RUNTIME;
    }
    if (rc == 0) print_final(&s, &cl, dir, clock_now() - t0);
    session_free(&s);
    writer_close(&w);
    return rc;
}
