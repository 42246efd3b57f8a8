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
#include "engine/cuda/backend_cuda.h"
#include "sessions/session.h"

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

/* Bad input (user's fault) vs runtime failure. */
static int exit_code(TpStatus s)
{
    switch (s) {
    case TP_EINVAL: case TP_ERANGE: case TP_EFORMAT: case TP_ENOENT: case TP_ENOTAVAIL: return EXIT_USAGE;
    default: return EXIT_RUNTIME;
    }
}

static int fail(TpStatus s)
{
    fprintf(stderr, "topiary: %s\n", err_msg()[0] ? err_msg() : tp_strerror(s));
    return exit_code(s);
}

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
    "  tui      [--session DIR] [task options]   interactive workbench (not available yet)\n"
    "  train    --session DIR [task options]      headless training (progress bar on a TTY)\n"
    "  eval     --session DIR --split valid|test [--data PATH] [--eval-batch B] [--json]\n"
    "  run      SCRIPT --session DIR              execute a command script (not available yet)\n"
    "  profile  [--sizes A:B:STEP] ...            latency profile (not available yet)\n"
    "  export   --session DIR --out DIR           export the model (not available yet)\n"
    "  replay   --session DIR [--verify]          re-run the journal (not available yet)\n"
    "  plot     --session DIR --chart NAME --out FILE  (not available yet)\n"
    "  info                                       build and hardware summary\n"
    "  help     [COMMAND]                         this text, or one command's options\n";

static void print_help(const char *cmd)
{
    if (cmd && (!strcmp(cmd, "train") || !strcmp(cmd, "eval"))) {
        if (!strcmp(cmd, "train"))
            printf("usage: topiary train --session DIR [task options] [--json]\n\n"
                   "Creates the session if DIR is new, otherwise resumes it (then only --epochs, --max-steps,\n"
                   "--threads, --data and --log-every may be given).  Saves atomically at every epoch end and on\n"
                   "SIGINT/SIGTERM/SIGHUP.  --max-steps counts minibatches of this run.\n\ntask options:\n%s",
                   task_options_help());
        else
            printf("usage: topiary eval --session DIR [--split valid|test] [--data PATH] [--eval-batch B] [--json]\n\n"
                   "Perplexity of a split by the DESIGN 2.5 protocol: the split as one stream, batch 1, state\n"
                   "carried through.  --eval-batch B cuts it into B streams (faster; the output says so).\n");
        return;
    }
    fputs(SUBCOMMANDS, stdout);
    printf("\ntask options (train, tui, run):\n%s", task_options_help());
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

static int cmd_train(int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0;
    const char *fixed_opt = NULL; /* first option that cannot change when resuming */
    Task task, cli;
    task_defaults(&task);
    task_defaults(&cli);
    for (int i = 2; i < argc;) {
        if (!strcmp(argv[i], "--session") && i + 1 < argc) { dir = argv[i + 1]; i += 2; continue; }
        if (!strcmp(argv[i], "--json")) { json = 1; i++; continue; }
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
    long run_steps = 0, run_tokens = 0;
    double run_nll = 0.0, run_train_s = 0.0, run_t0 = train_now(), win_nll = 0.0, win_t = 0.0, last_draw = 0.0;
    long win_tok = 0;
    double ema_loss = NAN;
    int rc = 0;
    while (!train_finished(t) && !(max_steps > 0 && run_steps >= max_steps)) {
        if (stop_signal) break;
        TrainStepInfo info;
        st = train_step(t, &info);
        if (st == TP_ENAN) {
            fprintf(stderr, "%stopiary: training diverged at step %ld: %s; the update was not applied. Lower --lr "
                            "or --clip and resume.\n", tty ? "\n" : "", t->step + 1, err_msg());
            rc = EXIT_RUNTIME;
            break;
        }
        if (st != TP_OK) {
            rc = fail(st);
            break;
        }
        run_steps++;
        run_tokens += info.tokens;
        run_nll += info.loss * info.tokens;
        run_train_s += info.seconds;
        s.wall_seconds += info.seconds;
        win_nll += info.loss * info.tokens;
        win_tok += info.tokens;
        win_t += info.seconds;
        ema_loss = isfinite(ema_loss) ? 0.95 * ema_loss + 0.05 * info.loss : info.loss;
        double tok_s = win_t > 0 ? win_tok / win_t : 0.0;
        double now = train_now();
        if (tty && (now - last_draw > 0.2 || info.epoch_done)) {
            double steps_left = (double)(t->n_windows - t->window) + (double)(t->cfg.epochs - t->epoch) * t->n_windows;
            if (info.epoch_done) steps_left = (double)(t->cfg.epochs - t->epoch + 1) * t->n_windows;
            if (max_steps > 0 && max_steps - run_steps < steps_left) steps_left = (double)(max_steps - run_steps);
            progress_bar(&s, ema_loss, tok_s, steps_left * (win_t / (win_tok / (double)(t->cfg.bptt * t->cfg.batch))));
            last_draw = now;
        }
        int log_now = t->step % s.task.log_every == 0;
        if (log_now || info.epoch_done) {
            SessionMetrics m;
            session_metrics_now(&s, &m);
            m.train_loss = win_nll / (double)win_tok;
            m.train_ppl = exp(m.train_loss);
            m.tokens_per_s = tok_s;
            m.seconds = s.wall_seconds;
            if (info.epoch_done) {
                EvalResult ev;
                m.epoch = t->epoch - 1;
                m.train_loss = t->last_epoch_loss;
                m.train_ppl = exp(t->last_epoch_loss);
                st = evaluate_split(&s, CORPUS_VALID, &ev);
                if (st != TP_OK) { rc = fail(st); break; }
                s.valid_ppl = m.valid_ppl = ev.ppl;
                if (json)
                    printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
                           "\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n",
                           t->step, m.epoch, m.lr, m.train_ppl, m.valid_ppl, tok_s, s.wall_seconds);
                else
                    fprintf(stderr, "%sepoch %d: train ppl %.2f, valid ppl %.2f, lr %.4g, %.0f tok/s, %.1f s\n",
                            tty ? "\r\033[K" : "", m.epoch, m.train_ppl, m.valid_ppl, m.lr, tok_s, s.wall_seconds);
                fflush(stdout);
            } else if (!tty && !json) {
                fprintf(stderr, "step %ld epoch %d: loss %.4f ppl %.2f, %.0f tok/s\n", t->step, t->epoch, m.train_loss,
                        m.train_ppl, tok_s);
            }
            if ((st = session_log_metrics(&s, &m)) != TP_OK) { rc = fail(st); break; }
            win_nll = 0.0;
            win_tok = 0;
            win_t = 0.0;
            if (info.epoch_done && (st = session_save(&s)) != TP_OK) { rc = fail(st); break; }
        }
    }
    if (tty) fprintf(stderr, "\r\033[K");
    /* Always save what we have: after a signal, a divergence (weights untouched) or the end. */
    TpStatus sv = session_save(&s);
    if (sv != TP_OK) {
        fprintf(stderr, "topiary: could not save: %s\n", err_msg());
        rc = EXIT_RUNTIME;
    }
    if (stop_signal && rc == 0) {
        fprintf(stderr, "topiary: interrupted by signal %d at step %ld; session saved\n", (int)stop_signal, t->step);
        rc = EXIT_RUNTIME;
    }
    if (rc == 0) {
        double el = train_now() - run_t0;
        if (json)
            /* train_ppl: over this run's minibatches (DESIGN 2.1 asks for it on every line) */
            printf("{\"final\":true,\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"train_ppl\":%.4f,\"valid_ppl\":%.4f,"
                   "\"steps_run\":%ld,\"tokens_per_s\":%.1f,\"seconds\":%.2f}\n", t->step,
                   t->epoch > t->cfg.epochs ? t->cfg.epochs : t->epoch, t->opt.lr,
                   run_tokens > 0 ? exp(run_nll / (double)run_tokens) : -1.0, isfinite(s.valid_ppl) ? s.valid_ppl : -1.0,
                   run_steps, run_train_s > 0 ? run_tokens / run_train_s : 0.0, el);
        else
            fprintf(stderr, "topiary: %ld step(s) in %.1f s; session %s saved at step %ld%s\n", run_steps, el, dir, t->step,
                    train_finished(t) ? " (training complete)" : "");
    }
    session_free(&s);
    return rc;
}

/* ---- eval ---------------------------------------------------------------------------------- */

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
    if (model) {
        err_set(TP_ENOTAVAIL, "eval --model: not available yet: needs export (sessions issue)");
        return fail(TP_ENOTAVAIL);
    }
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
    if (json)
        printf("{\"split\":\"%s\",\"tokens\":%ld,\"loss\":%.6f,\"ppl\":%.4f,\"accuracy\":%.6f,\"eval_batch\":%d,"
               "\"seconds\":%.2f}\n", split_s, r.tokens, r.loss, r.ppl, r.accuracy, s.task.eval_batch, r.seconds);
    else
        printf("%s: ppl %.2f (loss %.4f over %ld tokens, accuracy %.2f%%%s) in %.1f s\n", split_s, r.ppl, r.loss, r.tokens,
               100.0 * r.accuracy, s.task.eval_batch > 1 ? ", NOTE: --eval-batch > 1, not the batch-1 protocol" : "",
               r.seconds);
    session_free(&s);
    return 0;
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

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "tui";
    if (cmd[0] == '-' && strcmp(cmd, "--help") && strcmp(cmd, "-h")) cmd = "tui";
    if (!strcmp(cmd, "train")) return cmd_train(argc, argv);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help(argc > 2 ? argv[2] : NULL);
        return 0;
    }
    if (!strcmp(cmd, "tui")) {
        fprintf(stderr, "topiary: the interactive workbench (TUI) is not built yet; use the headless commands:\n\n");
        fputs(SUBCOMMANDS, stderr);
        return EXIT_USAGE;
    }
    static const char *const later[][2] = {
        {"run", "the command language (sessions issue)"}, {"profile", "the latency profiler (latency issue)"},
        {"export", "export (sessions issue)"}, {"replay", "the journal (sessions issue)"},
        {"plot", "plots (TUI issue)"},
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (!strcmp(cmd, later[i][0])) {
            fprintf(stderr, "topiary: %s: not available yet: needs %s\n", cmd, later[i][1]);
            return EXIT_USAGE;
        }
    return usage_error("unknown command '%s'", cmd);
}
