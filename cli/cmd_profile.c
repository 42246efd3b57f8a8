/* cli/cmd_profile: the `topiary profile` subcommand (DESIGN 2.1).
 *
 *   topiary profile [--target cpu|cuda|accel[:...]|cmd:NAME] [--backend cpu|cuda|accel] [--sizes A:B:STEP|a,b,c] [--threads N] [--batch B]
 *                   [--seq T] [--input I] [--sparsity S --pattern dense|csr|sell|sell-seg|unstructured|row|block [--block RxC]] [--reps N]
 *                   [--budget-s S] [--margin M] [--seed N] [--accel FILE] [--cell lstm|hlstm]
 *                   [--gate-hidden M] [--out FILE.tsv] [--json] [--table] [--marks FILE.tsv]
 *   topiary profile --analyze FILE.tsv [--analyze FILE2.tsv ...] [--margin M] [--json] [--table]
 *                   [--marks FILE.tsv] [--accel FILE]
 *   topiary profile --session DIR [--layer L] [request options] [--json]
 *
 * Measures (or models) a curve, writes it as TSV (--out, atomically) and prints the analysis: a
 * table of sizes (without --out, or with --table), the Pareto set, dominated sizes, hysteresis
 * points (for the accel model with the tile boundary behind each step) and the largest
 * non-monotonic jumps; --json prints one JSON object per curve instead.  --analyze reads existing
 * curves; curves of the same conditions are compared for repeatability (overlap of their hysteresis
 * points).  --marks writes the first curve's hysteresis points and dominated sizes for gnuplot.
 * --session runs the `profile` verb on the session (journaled, appended to its latency.tsv; a speech
 * session's curve is per second of audio of one bidirectional layer, --layer L) and prints its report,
 * or with --json the curve it appended.  A progress bar goes to stderr when it is a terminal.  Exit codes as the other subcommands:
 * 0 ok, 1 runtime failure (or interrupted), 2 bad usage or bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/signals.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"
#include "sessions/profile.h"

#define MAX_FILES 16

static int fail(TpStatus s) { return cli_fail("profile", s); }

const char *cmd_profile_usage(void)
{
    return "usage: topiary profile [--target cpu|cuda|accel[:K=V,...|:FILE]|cmd:NAME]\n"
           "                       [--backend cpu|cuda|accel] [--sizes A:B:STEP|a,b,c] [--threads N] [--batch B]\n"
           "                       [--seq T] [--input I] [--sparsity S --pattern dense|csr|sell|sell-seg|unstructured|row|block [--block RxC]]\n"
           "                       [--reps N]\n"
           "                       [--budget-s S] [--margin M] [--noise band|margin] [--seed N] [--accel FILE]\n"
           "                       [--cell lstm|hlstm]\n"
           "                       [--gate-hidden M] [--out FILE.tsv] [--json] [--table] [--marks FILE.tsv]\n"
           "       topiary profile --analyze FILE.tsv [--analyze FILE.tsv ...] [--margin M] [--noise band|margin]\n"
           "                       [--json] [--table] [--marks FILE.tsv]\n"
           "       topiary profile --session DIR [--layer L] [--target T] [--sizes A:B:STEP] [--reps N] ... [--json]\n"
           "\n"
           "Latency of one LSTM layer step against its hidden size (default 16:1536:8, batch 1, seq 1, the BLAS\n"
           "thread default), measured in the steady state (the same layer back to back after a warm-up), sizes\n"
           "shuffled every round, median and p10/p90 over the rounds; rounds fill --budget-s (default 60 s)\n"
           "unless --reps is given.  --backend accel predicts the curve with the analytical accelerator model\n"
           "(parameters: --accel FILE; the default is data/accel-default.json, also compiled in) and says\n"
           "which tile boundary makes each step.  Times are per call: the whole window of --seq steps.\n"
           "--sparsity S --pattern csr|sell|sell-seg|unstructured|row|block measures the step with W_ih, W_hh in that sparse layout\n"
           "(engine/sparse; unstructured: the fastest of csr, sell and sell-seg for each matrix, as the runtime picks; each\n"
           "matrix on its fastest vector path; block: BSR with whole --block 16x1|8x1|4x4 blocks, default 16x1, as\n"
           "pattern=block pruning leaves them; the accel model has row only).  --margin is the relative floor of the noise band (default 0.02); --noise margin compares\n"
           "medians with the margin alone (a busy machine stretches p90 far beyond the median's uncertainty).\n"
           "--target measures on a latency target: cpu (topiary's runtime), cuda, accel (the model; accel:rows=64,cols=64\n"
           "or accel:FILE.json) or cmd:NAME (an external runtime: NAME.target in $TOPIARY_TARGETS, ./targets or the\n"
           "repository's targets/; see docs/latency.md); the curve's fingerprint records the target.\n"
           "--analyze reads curves\n"
           "(TSV) and compares sweeps of the same conditions (overlap of hysteresis points).\n"
           "--session DIR runs the profile verb there (journaled; the curve is appended to DIR/latency.tsv).  On a speech\n"
           "session (--task an4) it measures one bidirectional layer (--layer L, default 0) in microseconds per second of\n"
           "audio: 2 directions x one window of 100 / (the convolutions' time strides) frames (--seq), batch 1, on the\n"
           "layer's input width (--input), the session's cell and gate width.  --cell hlstm --gate-hidden M measures an H-LSTM\n"
           "layer (cpu: hlstm_forward, or its fc1/fc2 in a sparse --pattern; accel: the model; not cuda).\n";
}

static int progress(void *ctx, double f, int round, int rounds, double el)
{
    int *tty = ctx;
    if (*tty) {
        char bar[40];
        cli_bar(bar, 30, f);
        double eta = f > 0.06 ? el / f - el : NAN;
        if (round) fprintf(stderr, "\r%s %3.0f%% round %d/%d, %.0f s, ETA %.0f s   ", bar, 100 * f, round, rounds, el, eta);
        else fprintf(stderr, "\r%s %3.0f%% calibrating, %.0f s   ", bar, 100 * f, el);
        fflush(stderr);
    }
    return signals_stop_requested() != 0;
}

/* Print what sessions/profile produced (warnings on stderr first); 0 or the failure's exit code. */
static int print_result(TpStatus st, char *text, char *warn)
{
    for (char *w = warn, *nl; w && *w; w = nl + 1) { /* one "topiary: profile: warning: ..." per line */
        if (!(nl = strchr(w, '\n'))) nl = w + strlen(w) - 1;
        fprintf(stderr, "topiary: profile: %.*s\n", (int)(nl - w + (*nl != '\n')), w);
    }
    if (text) fputs(text, stdout);
    free(text);
    free(warn);
    return st == TP_OK ? 0 : fail(st);
}

enum { OPT_JSON = 2, OPT_TABLE, OPT_HELP, OPT_OUT, OPT_MARKS, OPT_ANALYZE, OPT_REQUEST, OPT_SESSION, OPT_LAYER };

/* The options of profile_request_set (sessions/profile), as long options; "-" and "_" both work. */
static const CliOption OPTIONS[] = {
    {"json", no_argument, .id = OPT_JSON}, {"table", no_argument, .id = OPT_TABLE}, {"help", no_argument, .id = OPT_HELP},
    {"out", required_argument, .id = OPT_OUT}, {"marks", required_argument, .id = OPT_MARKS},
    {"analyze", required_argument, .id = OPT_ANALYZE},
    {"backend", required_argument, .id = OPT_REQUEST}, {"sizes", required_argument, .id = OPT_REQUEST},
    {"threads", required_argument, .id = OPT_REQUEST}, {"batch", required_argument, .id = OPT_REQUEST},
    {"seq", required_argument, .id = OPT_REQUEST}, {"input", required_argument, .id = OPT_REQUEST},
    {"sparsity", required_argument, .id = OPT_REQUEST}, {"pattern", required_argument, .id = OPT_REQUEST},
    {"block", required_argument, .id = OPT_REQUEST},
    {"reps", required_argument, .id = OPT_REQUEST}, {"budget-s", required_argument, .id = OPT_REQUEST},
    {"budget_s", required_argument, .id = OPT_REQUEST}, {"margin", required_argument, .id = OPT_REQUEST},
    {"noise", required_argument, .id = OPT_REQUEST}, {"accel", required_argument, .id = OPT_REQUEST},
    {"cell", required_argument, .id = OPT_REQUEST}, {"gate-hidden", required_argument, .id = OPT_REQUEST},
    {"gate_hidden", required_argument, .id = OPT_REQUEST}, {"seed", required_argument, .id = OPT_REQUEST},
    {"target", required_argument, .id = OPT_REQUEST}, {"session", required_argument, .id = OPT_SESSION},
    {"layer", required_argument, .id = OPT_LAYER},
    {NULL}};

/* " key=value" of option p (--budget-s -> budget_s) appended to the verb line for --session; what
 * cannot go into a verb line is noted in bad (the first such option), refused only with --session. */
static void add_key(char *line, size_t n, const CliParser *p, char *bad, size_t bn)
{
    size_t u = strlen(line);
    if (strpbrk(p->value, " \t\"#")) {
        if (!bad[0]) snprintf(bad, bn, "%s '%s': spaces, quotes and '#' are not allowed with --session", p->name, p->value);
        return;
    }
    if (snprintf(line + u, n - u, " %s=%s", p->name + 2, p->value) >= (int)(n - u)) {
        line[u] = '\0';
        if (!bad[0]) snprintf(bad, bn, "--session: the options are too long");
        return;
    }
    for (char *k = line + u + 1; *k != '='; k++)
        if (*k == '-') *k = '_';
}

static int session_progress(void *ctx, const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    (void)what, (void)s, (void)row;
    int *tty = ctx;
    if (*tty) {
        char bar[40];
        cli_bar(bar, 30, fraction);
        fprintf(stderr, "\r%s %3.0f%%   ", bar, 100 * fraction);
        fflush(stderr);
    }
    return signals_stop_requested() != 0;
}

/* --session DIR: the `profile` verb on the session with the options of `line`; the report, or with
 * json the curve it appended. */
static int profile_session(const char *dir, const char *line, int json, const ProfileRequest *q)
{
    Session s;
    SessionWriter w;
    Task task;
    task_defaults(&task);
    if (!session_exists(dir)) return fail(err_set(TP_ENOENT, "%s: no session there (train one first)", dir));
    int rc = cli_open_or_create(&s, &w, dir, &task, 0, "profile");
    if (rc) return rc;
    signals_catch_stop();
    int tty = isatty(STDERR_FILENO);
    command_set_progress(session_progress, &tty);
    CommandResult r;
    TpStatus st = command_execute(&s, line, &r);
    if (tty) fprintf(stderr, "\r\033[K");
    command_set_progress(NULL, NULL);
    char *j = NULL;
    if (st == TP_OK && json) st = profile_session_latest_json(dir, q->margin, q->margin_only, &j);
    const char *say = j ? j : r.text;
    if (st == TP_OK) printf("%s%s", say, *say && say[strlen(say) - 1] == '\n' ? "" : "\n");
    free(j);
    rc = st == TP_ECANCEL ? (fprintf(stderr, "topiary: profile: interrupted; nothing appended\n"), EXIT_CODE_RUNTIME)
         : st == TP_OK ? 0 : fail(st);
    if (session_save(&s) != TP_OK && !rc) rc = fail(TP_EIO);
    session_free(&s);
    writer_close(&w);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    ProfileRequest q;
    profile_request_defaults(&q);
    const char *out = NULL, *marks = NULL, *files[MAX_FILES], *session = NULL;
    int json = 0, table = 0, n_files = 0, id;
    char line[2048] = "profile", bad[300] = "";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h")) {
            fputs(cmd_profile_usage(), stdout);
            return 0;
        }
    CliParser p;
    cli_parser_init(&p, "profile", argc, argv, OPTIONS, NULL);
    p.hint = "topiary profile --help";
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == OPT_JSON) json = 1;
        else if (id == OPT_TABLE) table = 1;
        else if (id == OPT_HELP) {
            fputs(cmd_profile_usage(), stdout);
            return 0;
        } else if (id == OPT_OUT) out = p.value;
        else if (id == OPT_MARKS) marks = p.value;
        else if (id == OPT_SESSION) session = p.value;
        else if (id == OPT_LAYER) {
            add_key(line, sizeof line, &p, bad, sizeof bad);
        } else if (id == OPT_ANALYZE) {
            if (n_files == MAX_FILES) return fail(err_set(TP_EINVAL, "--analyze: at most %d files", MAX_FILES));
            files[n_files++] = p.value;
        } else if (id == OPT_REQUEST) {
            int known;
            TpStatus st = profile_request_set(&q, p.name + 2, p.value, &known);
            if (st != TP_OK) return fail(err_wrap(st, "%s: ", p.name));
            if (!known) return fail(err_set(TP_EINVAL, "unknown option '%s' (see 'topiary profile --help')", p.name));
            add_key(line, sizeof line, &p, bad, sizeof bad);
        } else {
            return fail(err_set(TP_EINVAL, "unknown option '%s' (see 'topiary profile --help')", p.value));
        }
    }
    ProfileOutput po = {json, table, out, marks};
    if (session) {
        if (n_files || out || marks || table)
            return fail(err_set(TP_EINVAL, "--session with --analyze, --out, --marks or --table: the curve goes to the "
                                           "session's latency.tsv (give --json for it)"));
        if (bad[0]) return fail(err_set(TP_EINVAL, "%s", bad));
        return profile_session(session, line, json, &q);
    }
    if (strstr(line, " layer=")) return fail(err_set(TP_EINVAL, "--layer goes with --session (a speech session's layer)"));
    if (n_files) {
        if (out) return fail(err_set(TP_EINVAL, "--out with --analyze: the curves are already files"));
        char *text = NULL, *warn = NULL;
        TpStatus st = profile_analyze_files(&q, files, n_files, &po, &text, &warn);
        return print_result(st, text, warn);
    }
    signals_catch_stop();
    int tty = isatty(STDERR_FILENO), n_sizes = 0;
    char *text = NULL;
    TpStatus st = profile_measure(&q, &po, progress, &tty, &text, &n_sizes);
    if (tty) fprintf(stderr, "\r\033[K");
    if (st == TP_ECANCEL) {
        fprintf(stderr, "topiary: profile: interrupted by signal %d; nothing written\n", signals_stop_requested());
        free(text);
        return EXIT_CODE_RUNTIME;
    }
    int rc = print_result(st, text, NULL);
    if (rc == 0 && out && !json) fprintf(stderr, "topiary: profile: %d sizes written to %s\n", n_sizes, out);
    return rc;
}
