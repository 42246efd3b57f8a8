/* tui/main: the `topiary` command line (DESIGN 2.1): argument parsing and the headless subcommands.
 * Everything it does goes through sessions/ and engine/; it only formats results for the terminal.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input (one-line reason on stderr). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend.h"
#include "base/clock.h"
#include "engine/breakeven.h"
#include "engine/cuda/backend_cuda.h"
#include "engine/infer.h"
#include "sessions/command.h"
#include "tui/cli.h"
#include "sessions/export.h"
#include "base/fsutil.h"
#include "sessions/journal.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"
#include "sessions/trainloop.h"
#include "tui/tui.h"
#include "plots/gnuplot.h"
#include "sessions/session_charts.h"
#include "tui/profile_cli.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int exit_code(TpStatus s) { return cli_exit_code(s); }
static int fail(TpStatus s) { return cli_fail(NULL, s); }

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "topiary: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try 'topiary help')\n");
    return EXIT_USAGE;
}

static const char SUBCOMMANDS[] =
    "usage: topiary <command> [options]\n"
    "\n"
    "  tui      [--session DIR] [task options] [--ascii] [--no-color]   the interactive workbench (default)\n"
    "  train    --session DIR [task options]      headless training (progress bar on a TTY)\n"
    "  eval     --session DIR|--model EXPORTDIR --split valid|test [--data PATH] [--eval-batch B] [--json]\n"
    "  run      SCRIPT --session DIR [task options] [--keep-going]   execute a command script\n"
    "  profile  [--backend cpu|cuda|accel] [--sizes A:B:STEP] [--threads N] [--batch B] ... [--out FILE.tsv]\n"
    "           [--json] | --analyze FILE.tsv ...   latency vs hidden size, hysteresis analysis ('help profile')\n"
    "  export   --session DIR --out EXPORTDIR     export the model (PyTorch names, config, vocabulary)\n"
    "  replay   --session DIR (--verify | --out DIR)  re-run the journal from the initial state\n"
    "  plot     --session DIR --chart NAME [--out FILE.png|.svg] [--ascii] [--size WxH]\n"
    "           charts of metrics.tsv/latency.tsv (" SESSION_CHART_NAMES "):\n"
    "           through gnuplot with --out, else as text on stdout\n"
    "  info                                       build and hardware summary\n"
    "  help     [COMMAND]                         this text, or one command's options\n";

static void print_help(const char *cmd)
{
    if (cmd && !strcmp(cmd, "profile")) { /* the subcommand, then the verb of the same name */
        printf("%s\nin a session (command language):\n", profile_cli_usage());
    }
    if (cmd && command_help(cmd)) { /* a verb of the command language */
        fputs(command_help(cmd), stdout);
        return;
    }
    if (cmd && (!strcmp(cmd, "train") || !strcmp(cmd, "eval"))) {
        if (!strcmp(cmd, "train"))
            printf("usage: topiary train --session DIR [task options] [--schedule 'agp|gp KEY=VALUE ...'] [--json]\n\n"
                   "Creates the session if DIR is new, otherwise resumes it (then only --epochs, --max-steps,\n"
                   "--threads, --data and --log-every may be given).  Saves atomically at every epoch end and on\n"
                   "SIGINT/SIGTERM/SIGHUP.  --max-steps counts minibatches of this run.\n\ntask options:\n%s",
                   task_options_help());
        else
            printf("usage: topiary eval --session DIR|--model EXPORTDIR [--split valid|test] [--data PATH] [--eval-batch B] [--json]\n\n"
                   "Perplexity of a split by the DESIGN 2.5 protocol: the split as one stream, batch 1, state\n"
                   "carried through.  --eval-batch B cuts it into B streams (faster; the output says so).\n"
                   "--model runs the batch-1 inference runtime (engine/infer) on model.compact.safetensors when the\n"
                   "export has one, else on model.safetensors, with a kernel per matrix chosen from the sparse\n"
                   "break-even measured once per machine (cached in $XDG_CACHE_HOME/topiary); it prints which.\n");
        return;
    }
    fputs(SUBCOMMANDS, stdout);
    printf("\ntask options (train, tui, run):\n%s\n%s", task_options_help(), command_help(NULL));
}

/* ---- progress ------------------------------------------------------------------------------ */

static void fmt_duration(char *b, size_t n, double s)
{
    if (!isfinite(s) || s < 0) snprintf(b, n, "--");
    else if (s < 60) snprintf(b, n, "%.0fs", s);
    else if (s < 3600) snprintf(b, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(b, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void progress_bar(const Session *s, double run_loss, double tok_s, double eta)
{
    const Trainer *t = &s->trainer;
    double frac = train_epoch_progress(t);
    char bar[31], e[32];
    int fill = (int)(frac * 30.0 + 0.5);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fmt_duration(e, sizeof e, eta);
    fprintf(stderr, "\r[%s] %3.0f%% epoch %d/%d step %ld loss %.3f ppl %.1f %.0f tok/s ETA %s   ", bar,
            frac * 100.0, t->epoch, t->cfg.epochs, t->step, run_loss, exp(run_loss), tok_s, e);
    fflush(stderr);
}

/* ---- train --------------------------------------------------------------------------------- */

static int is_resume_option(const char *o)
{
    return !strcmp(o, "--epochs") || !strcmp(o, "--max-steps") || !strcmp(o, "--threads") || !strcmp(o, "--data") ||
           !strcmp(o, "--log-every");
}

static TpStatus evaluate_split(Session *s, int split, EvalResult *r)
{
    return train_evaluate(&s->model, s->corpus.ids[split], s->corpus.n_ids[split], s->task.eval_batch, 64, r);
}

typedef struct {
    int json, tty;
    long max_steps;
    double ema_loss, last_draw;
} TrainCli;

/* Progress bar, per-epoch lines and plain log lines of `topiary train`; stops on a signal. */
static int train_cli_cb(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run, const SessionMetrics *m)
{
    TrainCli *cl = ctx;
    const Trainer *t = &s->trainer;
    if (ev == TRAINLOOP_EVAL) return 0; /* a signal waits for the validation: the epoch's row needs it */
    if (ev == TRAINLOOP_STEP) {
        double loss = run->window_loss; /* running mean since the last row: good enough for the bar */
        cl->ema_loss = isfinite(cl->ema_loss) ? 0.95 * cl->ema_loss + 0.05 * loss : loss;
        double now = clock_now();
        if (cl->tty && now - cl->last_draw > 0.2) {
            double per_step = run->train_seconds / (double)run->steps_done;
            double left = (double)(t->n_windows - t->window) + (double)(t->cfg.epochs - t->epoch) * t->n_windows;
            if (cl->max_steps > 0 && cl->max_steps - run->steps_done < left) left = (double)(cl->max_steps - run->steps_done);
            progress_bar(s, cl->ema_loss, run->tokens_per_s, left * per_step);
            cl->last_draw = now;
        }
        return stop_signal != 0;
    }
    if (ev == TRAINLOOP_EPOCH) {
        if (cl->json)
            printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
                   "\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n",
                   t->step, m->epoch, m->lr, m->train_ppl, m->valid_ppl, m->tokens_per_s, s->wall_seconds);
        else
            fprintf(stderr, "%sepoch %d: train ppl %.2f, valid ppl %.2f, lr %.4g, %.0f tok/s, %.1f s\n",
                    cl->tty ? "\r\033[K" : "", m->epoch, m->train_ppl, m->valid_ppl, m->lr, m->tokens_per_s,
                    s->wall_seconds);
        fflush(stdout);
    } else if (ev == TRAINLOOP_LOG && !cl->tty && !cl->json) {
        fprintf(stderr, "step %ld epoch %d: loss %.4f ppl %.2f, %.0f tok/s\n", t->step, t->epoch, m->train_loss,
                m->train_ppl, m->tokens_per_s);
    }
    return stop_signal != 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *dir = NULL, *schedule = NULL;
    int json = 0;
    const char *fixed_opt = NULL; /* first option that cannot change when resuming */
    Task task, cli;
    task_defaults(&task);
    task_defaults(&cli);
    for (int i = 2; i < argc;) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) { dir = argv[i + 1]; i += 2; continue; }
        if (!strcmp(argv[i], "--json")) { json = 1; i++; continue; }
        if (!strcmp(argv[i], "--schedule") && i + 1 < argc) { schedule = argv[i + 1]; i += 2; continue; }
        int matched, at = i;
        TpStatus st = task_parse_arg(&cli, argc, argv, &i, &matched);
        if (st != TP_OK) return fail(st);
        if (!matched) return usage_error("train: unknown option '%s'", argv[i]);
        if (!fixed_opt && !is_resume_option(argv[at])) fixed_opt = argv[at];
    }
    if (!dir) return usage_error("train: --session DIR is required%s", "");
    Session s;
    TpStatus st;
    int resumed = session_exists(dir);
    if (resumed) {
        if (fixed_opt) {
            fprintf(stderr, "topiary: train: session %s exists; %s cannot change when resuming (only --epochs, "
                            "--max-steps, --threads, --data and --log-every may)\n", dir, fixed_opt);
            return EXIT_USAGE;
        }
        st = session_open(&s, dir, cli.data[0] ? cli.data : NULL);
        if (st != TP_OK) return fail(st);
        /* resume overrides: compare against defaults to see what was given */
        Task d;
        task_defaults(&d);
        if (cli.train.epochs != d.train.epochs) s.task.train.epochs = s.trainer.cfg.epochs = cli.train.epochs;
        if (cli.threads != d.threads) { s.task.threads = cli.threads; backend_set_threads(cli.threads); }
        if (cli.log_every != d.log_every) s.task.log_every = cli.log_every;
    } else {
        task = cli;
        st = session_create(&s, dir, &task);
        if (st != TP_OK) return fail(st);
    }
    long max_steps = cli.train.max_steps;
    if (schedule) {
        /* the schedule is a command of the language, so it is journaled and replayable */
        char line[1024];
        CommandResult cr;
        snprintf(line, sizeof line, "schedule %s", schedule);
        st = command_execute(&s, line, &cr);
        if (st != TP_OK) {
            fprintf(stderr, "topiary: --schedule: %s\n", err_msg());
            session_free(&s);
            return exit_code(st);
        }
        if (!json) fprintf(stderr, "topiary: %s\n", cr.text);
    }
    install_signals();
    int tty = isatty(STDERR_FILENO) && !json;
    char desc[512];
    backend_describe(desc, sizeof desc);
    if (!json) {
        SessionMetrics m0; /* its params excludes the alignment padding that model.n_params counts */
        session_metrics_now(&s, &m0);
        fprintf(stderr, "topiary: %s session %s: %s, %s level, vocab %d, %d layer(s) of %d, %zu parameters\n",
                resumed ? "resuming" : "new", dir, s.task.data, s.task.level == CORPUS_WORD ? "word" : "char",
                s.corpus.n_vocab, s.model.cfg.n_layers, s.model.cfg.hidden[0], m0.params);
        fprintf(stderr, "topiary: %s\n", desc);
    }
    Trainer *t = &s.trainer;
    TrainCli cl = {.json = json, .tty = tty, .max_steps = max_steps, .ema_loss = NAN};
    double run_t0 = clock_now();
    int rc = 0;
    long step0 = t->step;
    TrainRun run;
    memset(&run, 0, sizeof run);
    /* an undo point before the run, as for the `train` verb */
    st = train_finished(t) ? TP_OK : snapshot_take_undo(&s, "train (topiary train)");
    if (st == TP_OK) st = trainloop_run(&s, max_steps, 0, train_cli_cb, &cl, &run);
    if (tty) fprintf(stderr, "\r\033[K");
    if (st == TP_ENAN) {
        fprintf(stderr, "topiary: %s\n", err_msg());
        rc = EXIT_RUNTIME;
    } else if (st != TP_OK) {
        rc = fail(st);
    }
    /* Always save what we have: after a signal, a divergence (weights untouched) or the end. */
    TpStatus sv = session_save(&s);
    if (sv != TP_OK) {
        fprintf(stderr, "topiary: could not save: %s\n", err_msg());
        rc = EXIT_RUNTIME;
    }
    if (t->step > step0) {
        char rec[64], res[128];
        snprintf(rec, sizeof rec, "train steps=%ld", t->step - step0);
        snprintf(res, sizeof res, "to step %ld (topiary train)", t->step);
        if (journal_append(s.dir, step0, rec, res) != TP_OK) {
            fprintf(stderr, "topiary: could not write the journal: %s\n", err_msg());
            rc = EXIT_RUNTIME;
        }
    }
    if (stop_signal && rc == 0) {
        fprintf(stderr, "topiary: interrupted by signal %d at step %ld; session saved\n", (int)stop_signal, t->step);
        rc = EXIT_RUNTIME;
    }
    if (rc == 0) {
        double el = clock_now() - run_t0;
        if (json)
            /* train_ppl: over this run's minibatches (DESIGN 2.1 asks for it on every line) */
            printf("{\"final\":true,\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
                   "\"steps_run\":%ld,\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n", t->step,
                   t->epoch > t->cfg.epochs ? t->cfg.epochs : t->epoch, t->opt.lr,
                   run.tokens > 0 ? exp(run.nll / (double)run.tokens) : -1.0,
                   isfinite(s.valid_ppl) ? s.valid_ppl : -1.0, run.steps_done,
                   run.train_seconds > 0 ? run.tokens / run.train_seconds : 0.0, el);
        else
            fprintf(stderr, "topiary: %ld step(s) in %.1f s; session %s saved at step %ld%s\n", run.steps_done, el, dir,
                    t->step, train_finished(t) ? " (training complete)" : "");
    }
    session_free(&s);
    return rc;
}

/* ---- eval ---------------------------------------------------------------------------------- */

/* extra_json (may be NULL): more "key":value fields for the JSON object; extra_text: a line after. */
static void print_eval_ex(const char *split_s, const EvalResult *r, int eval_batch, int json, const char *extra_json,
                          const char *extra_text)
{
    if (json)
        printf("{\"split\":\"%s\",\"tokens\":%ld,\"loss\":%.6f,\"ppl\":%.4f,\"accuracy\":%.6f,\"eval_batch\":%d,"
               "\"seconds\":%.2f%s%s}\n", split_s, r->tokens, r->loss, r->ppl, r->accuracy, eval_batch, r->seconds,
               extra_json ? "," : "", extra_json ? extra_json : "");
    else
        printf("%s: ppl %.2f (loss %.4f over %ld tokens, accuracy %.2f%%%s) in %.1f s\n%s", split_s, r->ppl, r->loss,
               r->tokens, 100.0 * r->accuracy, eval_batch > 1 ? ", NOTE: --eval-batch > 1, not the batch-1 protocol" : "",
               r->seconds, extra_text ? extra_text : "");
}

static void print_eval(const char *split_s, const EvalResult *r, int eval_batch, int json)
{
    print_eval_ex(split_s, r, eval_batch, json, NULL, NULL);
}

/* eval --model EXPORTDIR: the exported model on config.json's data (or --data), exported vocabulary,
 * through the step-by-step inference runtime (engine/infer): from model.compact.safetensors when the
 * export has one, else model.safetensors (trimmed in memory); kernels per matrix from the break-even
 * measured on this machine (engine/breakeven, cached).  The output says which file and kernels. */
static int eval_export(const char *dir, const char *data, int split, const char *split_s, int eval_batch, int json)
{
    ExportModel e;
    int compact = export_has_compact(dir);
    TpStatus st = compact ? export_open_compact(&e, dir, data) : export_open(&e, dir, data);
    if (st != TP_OK) return fail(st);
    if (eval_batch) e.info.task.eval_batch = eval_batch;
    Breakeven be;
    int cached = 0;
    double t0 = clock_now();
    if (breakeven_get(&be, NULL, &cached) != TP_OK) {
        fprintf(stderr, "topiary: sparse break-even not measured (%s); using the built-in model\n", err_msg());
        breakeven_default(&be);
    } else if (!cached) {
        char path[4200] = "";
        if (breakeven_cache_path(path, sizeof path, NULL) != TP_OK) err_clear();
        fprintf(stderr, "topiary: measured the sparse-kernel break-even on this machine in %.1f s (cached in %s)\n",
                clock_now() - t0, path);
    }
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferModel im;
    EvalResult r;
    if ((st = infer_init(&im, &e.model, &o)) != TP_OK) {
        export_close(&e);
        return fail(st);
    }
    st = infer_evaluate(&im, e.corpus.ids[split], e.corpus.n_ids[split], e.info.task.eval_batch, &r);
    if (st != TP_OK) {
        infer_free(&im);
        export_close(&e);
        return fail(st);
    }
    const char *file = compact ? "model.compact.safetensors" : "model.safetensors";
    char sum[256], xj[512], xt[600], ss[48] = "";
    infer_summary(&im, sum, sizeof sum);
    double sp = infer_state_sparsity(&im);
    if (isfinite(sp)) snprintf(ss, sizeof ss, ", state sparsity %.1f%%", 100.0 * sp);
    snprintf(xj, sizeof xj, "\"runtime\":\"%s\",\"kernels\":\"%s\"", file, sum);
    if (isfinite(sp)) snprintf(xj + strlen(xj), sizeof xj - strlen(xj), ",\"state_sparsity\":%.4f", sp);
    snprintf(xt, sizeof xt, "runtime: %s, batch-1 steps; kernels: %s%s\n", file, sum, ss);
    print_eval_ex(split_s, &r, e.info.task.eval_batch, json, xj, xt);
    infer_free(&im);
    export_close(&e);
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *model = NULL, *data = NULL, *split_s = "test";
    int json = 0, eval_batch = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) split_s = argv[++i];
        else if (!strcmp(argv[i], "--eval-batch") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 100000) return usage_error("--eval-batch: expected 1..100000, got '%s'", argv[i]);
            eval_batch = (int)v;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else return usage_error("eval: unknown option '%s'", argv[i]);
    }
    int split = !strcmp(split_s, "valid") ? CORPUS_VALID : !strcmp(split_s, "test") ? CORPUS_TEST
              : !strcmp(split_s, "train") ? CORPUS_TRAIN : -1;
    if (split < 0) return usage_error("--split: expected valid, test or train, got '%s'", split_s);
    if (model && dir) return usage_error("eval: give --session DIR or --model EXPORTDIR, not both%s", "");
    if (model) return eval_export(model, data, split, split_s, eval_batch, json);
    if (!dir) return usage_error("eval: --session DIR (or --model EXPORTDIR) is required%s", "");
    Session s;
    TpStatus st = session_open(&s, dir, data);
    if (st != TP_OK) return fail(st);
    if (eval_batch) s.task.eval_batch = eval_batch;
    EvalResult r;
    st = evaluate_split(&s, split, &r);
    if (st != TP_OK) {
        session_free(&s);
        return fail(st);
    }
    print_eval(split_s, &r, s.task.eval_batch, json);
    session_free(&s);
    return 0;
}

/* ---- export -------------------------------------------------------------------------------- */

static int cmd_export(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *data = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else return usage_error("export: unknown option '%s'", argv[i]);
    }
    if (!dir || !out) return usage_error("export: usage: topiary export --session DIR --out EXPORTDIR [--data PATH]%s", "");
    Session s;
    TpStatus st = session_open(&s, dir, data);
    if (st != TP_OK) return fail(st);
    st = export_write(&s, out);
    if (st != TP_OK) {
        session_free(&s);
        return fail(st);
    }
    SessionMetrics m;
    session_metrics_now(&s, &m);
    fprintf(stderr, "topiary: exported %s at step %ld (%zu of %zu parameters non-zero) to %s\n", dir, m.step, m.nnz,
            m.params, out);
    session_free(&s);
    return 0;
}

/* ---- run SCRIPT ---------------------------------------------------------------------------- */

/* Open DIR, or create it from the task options when it is new (shared by run and the TUI). */
static int open_or_create(Session *s, const char *dir, int argc, char **argv, int first, const char *verb)
{
    Task task;
    task_defaults(&task);
    int any = 0;
    for (int i = first; i < argc;) {
        int matched;
        TpStatus st = task_parse_arg(&task, argc, argv, &i, &matched);
        if (st != TP_OK) return fail(st);
        if (!matched) { i++; continue; } /* the caller's own options were checked already */
        any = 1;
    }
    TpStatus st;
    if (session_exists(dir)) {
        if (any && !task.data[0]) {
            fprintf(stderr, "topiary: %s: session %s exists; task options only create new sessions\n", verb, dir);
            return EXIT_USAGE;
        }
        st = session_open(s, dir, task.data[0] ? task.data : NULL);
    } else {
        st = session_create(s, dir, &task);
    }
    return st == TP_OK ? 0 : fail(st);
}

static int is_task_option(const char *a)
{
    Task t;
    task_defaults(&t);
    char *argv2[3] = {(char *)a, (char *)"1", NULL};
    int i = 0, matched = 0;
    task_parse_arg(&t, 2, argv2, &i, &matched);
    err_clear();
    return matched;
}

static int cmd_run(int argc, char **argv)
{
    const char *script = NULL, *dir = NULL;
    int keep_going = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--keep-going")) keep_going = 1;
        else if (is_task_option(argv[i]) && i + 1 < argc) i++;
        else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !script) script = argv[i];
        else return usage_error("run: unknown option '%s'", argv[i]);
    }
    if (!script || !dir) return usage_error("run: usage: topiary run SCRIPT --session DIR [task options] [--keep-going]%s", "");
    FILE *f = strcmp(script, "-") ? fopen(script, "r") : stdin;
    if (!f) {
        fprintf(stderr, "topiary: run: %s: %s\n", script, strerror(errno));
        return EXIT_USAGE;
    }
    Session s;
    int rc = open_or_create(&s, dir, argc, argv, 2, "run");
    if (rc) {
        if (f != stdin) fclose(f);
        return rc;
    }
    install_signals();
    char line[4096];
    int lineno = 0, errors = 0, quit = 0;
    while (!quit && !stop_signal && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        CommandResult r;
        Command c;
        if (command_parse(line, &c) == TP_OK && c.empty) continue;
        printf("%s:%d> %s\n", script, lineno, line);
        TpStatus st = command_execute(&s, line, &r);
        if (st != TP_OK) {
            fprintf(stderr, "%s:%d: %s\n", script, lineno, err_msg());
            errors++;
            if (!rc) rc = exit_code(st);
            if (!keep_going) break;
            continue;
        }
        if (r.text[0]) printf("%s%s", r.text, r.text[strlen(r.text) - 1] == '\n' ? "" : "\n");
        fflush(stdout);
        quit = r.quit;
    }
    if (f != stdin) fclose(f);
    TpStatus sv = session_save(&s);
    if (sv != TP_OK) {
        fprintf(stderr, "topiary: could not save: %s\n", err_msg());
        rc = EXIT_RUNTIME;
    }
    if (stop_signal) {
        fprintf(stderr, "topiary: interrupted by signal %d; session saved\n", (int)stop_signal);
        if (!rc) rc = EXIT_RUNTIME;
    }
    if (errors && keep_going) fprintf(stderr, "topiary: run: %d command(s) failed\n", errors);
    session_free(&s);
    return rc;
}

/* ---- replay ------------------------------------------------------------------------------- */

/* Compare the state of two sessions bit for bit; describe the first difference. */
static int same_state(const Session *a, const Session *b, char *why, size_t n)
{
    const Model *x = &a->model, *y = &b->model;
    if (x->n_params != y->n_params || x->n_tensors != y->n_tensors) {
        snprintf(why, n, "architectures differ");
        return 0;
    }
    for (int i = 0; i < x->n_tensors; i++) {
        const ModelParam *p = &x->p[i];
        if (memcmp(x->w + p->off, y->w + p->off, p->n * sizeof(float))) {
            double md = 0;
            for (size_t k = 0; k < p->n; k++) md = fmax(md, fabs((double)x->w[p->off + k] - y->w[p->off + k]));
            snprintf(why, n, "weights of %s differ (max |diff| %.3g)", p->name, md);
            return 0;
        }
        if (memcmp(x->mask + p->off, y->mask + p->off, p->n)) {
            snprintf(why, n, "mask of %s differs", p->name);
            return 0;
        }
    }
    const Trainer *s = &a->trainer, *t = &b->trainer;
    if (s->step != t->step || s->epoch != t->epoch || s->window != t->window || memcmp(&s->rng, &t->rng, sizeof s->rng)) {
        snprintf(why, n, "trainer position differs (step %ld vs %ld)", s->step, t->step);
        return 0;
    }
    if (s->opt.m && (memcmp(s->opt.m, t->opt.m, x->n_params * 4) || memcmp(s->opt.v, t->opt.v, x->n_params * 4))) {
        snprintf(why, n, "Adam moments differ");
        return 0;
    }
    return 1;
}

static int cmd_replay(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    int verify = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--verify")) verify = 1;
        else return usage_error("replay: unknown option '%s'", argv[i]);
    }
    if (!dir || (!verify && !out)) return usage_error("replay: usage: topiary replay --session DIR (--verify | --out NEWDIR)%s", "");
    Session cur, rep;
    TpStatus st = session_open(&cur, dir, NULL);
    if (st != TP_OK) return fail(st);
    char tmp[4200] = "", p1[4400], p2[4400];
    const char *target = out;
    if (!out) {
        snprintf(tmp, sizeof tmp, "/tmp/topiary-replay-XXXXXX");
        if (!mkdtemp(tmp)) {
            session_free(&cur);
            return fail(err_set(TP_EIO, "replay: mkdtemp: %s", strerror(errno)));
        }
        target = tmp;
    } else if (session_exists(out)) {
        session_free(&cur);
        return fail(err_set(TP_EINVAL, "replay: --out %s already holds a session", out));
    }
    int rc = 0;
    const char *names[] = {"manifest.json", "model.safetensors"};
    st = fsutil_mkdir_p(target);
    for (int i = 0; i < 2 && st == TP_OK; i++) {
        snprintf(p1, sizeof p1, "%s/snapshots/initial/%s", dir, names[i]);
        snprintf(p2, sizeof p2, "%s/%s", target, names[i]);
        st = fsutil_copy_file(p1, p2);
    }
    snprintf(p1, sizeof p1, "%s/vocab.json", dir);
    snprintf(p2, sizeof p2, "%s/vocab.json", target);
    if (st == TP_OK) st = fsutil_copy_file(p1, p2);
    JournalEntry *je = NULL;
    int n = 0, torn = 0;
    if (st == TP_OK) st = journal_read(dir, &je, &n, &torn);
    if (st != TP_OK) {
        free(je);
        session_free(&cur);
        rc = fail(err_wrap(st, "replay: "));
        goto cleanup;
    }
    if (torn) fprintf(stderr, "topiary: replay: warning: the journal's last line was torn (a crash while appending); ignored\n");
    st = session_open(&rep, target, cur.task.data);
    if (st != TP_OK) {
        free(je);
        session_free(&cur);
        rc = fail(st);
        goto cleanup;
    }
    snapshot_take_initial(&rep);
    printf("replaying %d command(s) from the initial state of %s\n", n, dir);
    for (int i = 0; i < n && !rc; i++) {
        CommandResult r;
        st = command_execute(&rep, je[i].command, &r);
        printf("  %ld> %s: %s\n", je[i].step, je[i].command, st == TP_OK ? r.summary : err_msg());
        if (st != TP_OK) rc = exit_code(st);
    }
    free(je);
    if (!rc && (st = session_save(&rep)) != TP_OK) rc = fail(st);
    if (!rc && verify) {
        char why[256];
        if (same_state(&cur, &rep, why, sizeof why)) {
            printf("verify: ok: the replayed session equals %s bit for bit (step %ld)\n", dir, rep.trainer.step);
        } else {
            printf("verify: MISMATCH: %s\n", why);
            rc = EXIT_RUNTIME;
        }
    }
    if (out && !rc) printf("replayed session written to %s\n", out);
    session_free(&rep);
    session_free(&cur);
cleanup:
    if (tmp[0]) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) fprintf(stderr, "topiary: replay: could not remove %s\n", tmp);
    }
    return rc;
}

/* ---- plot --------------------------------------------------------------------------------- */

static int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL, *name = NULL, *out = NULL;
    int ascii = 0, w = 80, h = 24;
    for (int i = 2; i < argc; i++) {
        char junk;
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--chart") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--ascii")) ascii = 1;
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d%c", &w, &h, &junk) != 2 || w < 10 || h < 3 || w > 1000 || h > 500)
                return usage_error("--size: expected WxH (10x3 .. 1000x500), got '%s'", argv[i]);
        } else return usage_error("plot: unknown option '%s'", argv[i]);
    }
    if (!dir || !name)
        return usage_error("plot: usage: topiary plot --session DIR --chart NAME [--out FILE.png|.svg] [--ascii] "
                           "[--size WxH]%s", "");
    SessionChart sc;
    TpStatus st = session_charts_load(&sc, dir, name);
    if (st != TP_OK) return fail(st);
    if (sc.torn) fprintf(stderr, "topiary: plot: warning: the last line of %s was torn (a crash while appending); ignored\n", sc.source);
    int rc = 0;
    if (out) {
        GnuplotFiles gf;
        st = gnuplot_plot(&gf, out, &sc.spec, sc.series, sc.n_series);
        if (st == TP_OK) printf("wrote %s (gnuplot script %s, data %s)\n", gf.out, gf.script, gf.data);
        else rc = fail(st);
    } else {
        CanvasText t;
        sc.spec.mode = ascii ? CANVAS_ASCII : CANVAS_BRAILLE;
        st = chart_render(&t, &sc.spec, sc.series, sc.n_series, w, h);
        if (st == TP_OK)
            for (int r = 0; r < t.h; r++) puts(t.lines[r]);
        else rc = fail(st);
        canvas_text_free(&t);
    }
    session_charts_free(&sc);
    return rc;
}

static int cmd_info(void)
{
    char desc[512];
    backend_set_threads(2);
    backend_describe(desc, sizeof desc);
    printf("topiary: %s\nCUDA compiled in: %s; devices: %d\n", desc, cuda_compiled() ? "yes" : "no", cuda_device_count());
    TpStatus s = backend_select(BACKEND_CUDA);
    if (s != TP_OK) printf("%s\n", err_msg());
    else printf("CUDA backend selected\n");
    return 0;
}

/* ---- tui ---------------------------------------------------------------------------------- */

/* Default session: $XDG_DATA_HOME/topiary/default (or ~/.local/share/topiary/default). */
static void default_session_dir(char *buf, size_t n)
{
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (x && *x) snprintf(buf, n, "%s/topiary/default", x);
    else snprintf(buf, n, "%s/.local/share/topiary/default", home && *home ? home : ".");
}

static int cmd_tui(int argc, char **argv, int first)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        /* before anything is created: a pipe or a cron job gets the headless commands instead */
        fprintf(stderr, "topiary: the interactive workbench needs a terminal; the headless commands are:\n\n");
        fputs(SUBCOMMANDS, stderr);
        return EXIT_USAGE;
    }
    const char *dir = NULL;
    char dflt[4096];
    TuiOptions o = {0, 0};
    int log_every_given = 0;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--ascii")) o.ascii = 1;
        else if (!strcmp(argv[i], "--no-color")) o.no_color = 1;
        else if (is_task_option(argv[i]) && i + 1 < argc) log_every_given |= !strcmp(argv[i], "--log-every"), i++;
        else return usage_error("tui: unknown option '%s'", argv[i]);
    }
    if (!dir) {
        default_session_dir(dflt, sizeof dflt);
        dir = dflt;
    }
    Session s;
    int rc;
    if (!session_exists(dir)) {
        /* live curves: a metrics row every 20 steps unless asked otherwise */
        int n = argc + 2;
        char **av = calloc((size_t)n + 1, sizeof *av);
        if (!av) return EXIT_RUNTIME;
        for (int i = 0; i < argc; i++) av[i] = argv[i];
        if (!log_every_given) {
            av[argc] = (char *)"--log-every";
            av[argc + 1] = (char *)"20";
        } else {
            n = argc;
        }
        if (fsutil_mkdir_p(dir) != TP_OK) {
            free(av);
            return fail(TP_EIO);
        }
        rc = open_or_create(&s, dir, n, av, first, "tui");
        free(av);
    } else {
        rc = open_or_create(&s, dir, argc, argv, first, "tui");
    }
    if (rc) return rc;
    rc = tui_run(&s, &o);
    session_free(&s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "tui";
    if (cmd[0] == '-' && strcmp(cmd, "--help") && strcmp(cmd, "-h")) cmd = "tui";
    if (!strcmp(cmd, "train")) return cmd_train(argc, argv);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
    if (!strcmp(cmd, "replay")) return cmd_replay(argc, argv);
    if (!strcmp(cmd, "plot")) return cmd_plot(argc, argv);
    if (!strcmp(cmd, "export")) return cmd_export(argc, argv);
    if (!strcmp(cmd, "profile")) return profile_cli(argc, argv);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help(argc > 2 ? argv[2] : NULL);
        return 0;
    }
    if (!strcmp(cmd, "tui")) return cmd_tui(argc, argv, argc > 1 && !strcmp(argv[1], "tui") ? 2 : 1);
    return usage_error("unknown command '%s'", cmd);
}
