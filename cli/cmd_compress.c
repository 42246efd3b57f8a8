/* cli/cmd_compress: `topiary compress`, the hardware-guided grow-and-prune method (sessions/hwgp)
 * headless on a trained session:
 *
 *   topiary compress --session DIR --target T (--budget-us X | --speedup R) [--tolerance PPL]
 *                    [--grow R] [--prune R] [--every N] [--cycles C] [--batches K] [--phases P]
 *                    [--min-hidden A] [--max-hidden B] [--sizes A:B:S] [--pattern unstructured|block]
 *                    [--block RxC] [--params GLOB]
 *                    [--targets GLOB:S[:RxC[:freq]]+... [--ramp N] [--retrain N]] [--finetune E [--average N]]
 *                    [--distill EXPORTDIR[:ALPHA]]
 *
 * With --distill it first executes `distill teacher=EXPORTDIR alpha=ALPHA`, so every step the method
 * trains learns from that teacher too (sessions/distill).  It executes the verb `schedule hwgp ...` built from the options through command_execute, so
 * the session journals what the method did exactly as if the line had been typed in the TUI, and
 * `topiary replay --verify` reproduces it.  Progress (phase, training steps) goes to stderr on a
 * terminal; the method's log lines to stdout.  Exit codes: 0 ok, 1 runtime failure or interrupted,
 * 2 bad usage or bad input (an unknown target, a cuda target without a device, a target whose
 * `requires` fails).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/signals.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"

const char *cmd_compress_usage(void)
{
    return "usage: topiary compress --session DIR --target T (--budget-us X | --speedup R) [--tolerance PPL]\n"
           "                        [--grow R] [--prune R] [--every N] [--cycles C] [--batches K] [--phases P]\n"
           "                        [--min-hidden A] [--max-hidden B] [--sizes A:B:S]\n"
           "                        [--pattern unstructured|block [--block RxC]] [--params GLOB]\n"
           "                        [--targets GLOB:S[:RxC[:freq]]+... [--ramp N] [--retrain N]] [--finetune E [--average N]]\n"
           "                        [--distill EXPORTDIR[:ALPHA]]\n"
           "\n"
           "Hardware-guided grow-and-prune (Yin et al.) on a trained session: phases alternate grow-and-prune\n"
           "of the connections (the GP cycle with its tolerance) and resizes of every layer to the hysteresis\n"
           "points of the target's latency curve that meet the budget (the latency of one step of the\n"
           "recurrent layers; --speedup R: the latency now / R), until the sizes are stable, the budget is\n"
           "met and the validation perplexity is within --tolerance (default 1), or --phases (default 3) ran.\n"
           "With --targets the connection update reaches given sparsities instead: an AGP cubic ramp of each\n"
           "group (--ramp prunes, --every steps apart), then grow by gradient (--grow, default 0.02), retrain\n"
           "(--retrain steps) and prune back, e.g. --targets 'l*.w_*:0.9:16x1+embed.weight:0.962+decoder.weight:0.962:4x4'.\n"
           "--finetune E trains E epochs at the end; with --average N the weights are averaged over those epochs\n"
           "(a sample every N steps) and the mean becomes the model (weight averaging: `average`).\n"
           "--distill EXPORTDIR[:ALPHA] (default alpha 0.5) first runs\n"
           "`distill teacher=EXPORTDIR alpha=ALPHA`: every step the method trains then also learns the teacher's\n"
           "word distributions (an export of a model over the same vocabulary, e.g. the dense control).\n"
           "Targets: cpu, cuda, accel[:rows=R,cols=C,...|:FILE.json], cmd:NAME (NAME.target).  This runs the\n"
           "verb `schedule hwgp ...` (see 'topiary help schedule'); the journal holds every train, resize\n"
           "and schedule it made, SESSION/hwgp.log its decisions, SESSION/hwgp.json its state.\n";
}

static int tty;

static int progress(void *ctx, const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    (void)ctx, (void)row;
    if (tty && s) {
        char bar[40];
        cli_bar(bar, 30, fraction);
        fprintf(stderr, "\r%s %3.0f%% %-14s step %ld   ", bar, 100 * fraction, what, s->trainer.step);
        fflush(stderr);
    }
    return signals_stop_requested() != 0;
}

int cmd_compress(int argc, char **argv)
{
    static const char *const KEYS[][2] = {
        {"target", "target"},       {"budget-us", "budget_us"}, {"speedup", "speedup"},       {"tolerance", "tolerance"},
        {"grow", "grow"},           {"prune", "prune"},         {"every", "every"},           {"cycles", "cycles"},
        {"batches", "batches"},     {"phases", "phases"},       {"min-hidden", "min_hidden"}, {"max-hidden", "max_hidden"},
        {"sizes", "sizes"},         {"pattern", "pattern"},     {"block", "block"},           {"params", "params"},
        {"targets", "targets"},     {"ramp", "ramp"},           {"retrain", "retrain"},       {"finetune", "finetune"},
        {"average", "average"},
    };
    enum { N = sizeof KEYS / sizeof KEYS[0] };
    const char *vals[N] = {0}, *dir = NULL, *distill = NULL;
    int help = 0;
    CliOption opts[N + 4];
    for (int i = 0; i < N; i++) opts[i] = (CliOption){KEYS[i][0], required_argument, 0, &vals[i], NULL};
    opts[N] = (CliOption){"session", required_argument, 0, &dir, NULL};
    opts[N + 1] = (CliOption){"help", no_argument, 0, NULL, &help};
    opts[N + 2] = (CliOption){"distill", required_argument, 0, &distill, NULL};
    opts[N + 3] = (CliOption){NULL, 0, 0, NULL, NULL};
    int rc = cli_parse_options("compress", argc, argv, opts);
    if (rc) return rc;
    if (help) {
        fputs(cmd_compress_usage(), stdout);
        return 0;
    }
    if (!dir) return cli_usage("compress: --session DIR is required (a trained session)");
    if (!vals[0]) return cli_usage("compress: --target T is required (cpu, cuda, accel[:...], cmd:NAME)");
    if (!vals[1] == !vals[2]) return cli_usage("compress: give one of --budget-us X or --speedup R");
    char line[2048] = "schedule hwgp";
    for (int i = 0; i < N; i++) {
        if (!vals[i]) continue;
        if (strpbrk(vals[i], " \t\"#")) return cli_usage("compress: --%s '%s': spaces, quotes and '#' are not allowed", KEYS[i][0], vals[i]);
        size_t u = strlen(line);
        if (snprintf(line + u, sizeof line - u, " %s=%s", KEYS[i][1], vals[i]) >= (int)(sizeof line - u))
            return cli_usage("compress: the options are too long");
    }
    char dline[700] = "";
    if (distill) { /* EXPORTDIR[:ALPHA]: the alpha after the last ':' when it reads as a number */
        char path[600];
        const char *colon = strrchr(distill, ':');
        char *end = NULL;
        double a = colon ? strtod(colon + 1, &end) : 0.5;
        int has_alpha = colon && end && end != colon + 1 && *end == '\0';
        size_t plen = has_alpha ? (size_t)(colon - distill) : strlen(distill);
        if (!has_alpha) a = 0.5;
        if (plen == 0 || plen >= sizeof path) return cli_usage("compress: --distill EXPORTDIR[:ALPHA]: bad path");
        memcpy(path, distill, plen);
        path[plen] = '\0';
        if (strpbrk(path, "\"\n")) return cli_usage("compress: --distill '%s': quotes are not allowed", path);
        if (!(a >= 0.0 && a <= 1.0)) return cli_usage("compress: --distill: alpha %g is not in 0..1", a);
        snprintf(dline, sizeof dline, "distill teacher=\"%s\" alpha=%g", path, a);
    }
    Session s;
    SessionWriter w;
    Task task;
    task_defaults(&task);
    if (!session_exists(dir)) return cli_fail("compress", err_set(TP_ENOENT, "%s: no session there (train one first)", dir));
    if ((rc = cli_open_or_create(&s, &w, dir, &task, 0, "compress")) != 0) return rc;
    signals_catch_stop();
    tty = isatty(STDERR_FILENO);
    command_set_progress(progress, NULL);
    CommandResult r;
    TpStatus st = TP_OK;
    if (dline[0]) {
        printf("%s\n", dline);
        st = command_execute(&s, dline, &r);
        if (st == TP_OK) printf("%s\n", r.text);
    }
    if (st == TP_OK) {
        printf("%s\n", line);
        st = command_execute(&s, line, &r);
    }
    if (tty) fprintf(stderr, "\r\033[K");
    command_set_progress(NULL, NULL);
    if (r.text[0]) printf("%s%s", r.text, r.text[strlen(r.text) - 1] == '\n' ? "" : "\n");
    rc = st == TP_OK ? 0 : cli_fail("compress", st);
    if (session_save(&s) != TP_OK && !rc) rc = cli_fail("compress", TP_EIO);
    int sig = signals_stop_requested();
    if (sig) {
        fprintf(stderr, "topiary: compress: interrupted by signal %d; the session holds what was done (journaled)\n", sig);
        if (!rc) rc = EXIT_CODE_RUNTIME;
    }
    session_free(&s);
    writer_close(&w);
    return rc;
}
