/* cli/cmd_profile: the `topiary profile` subcommand (DESIGN 2.1).
 *
 *   topiary profile [--backend cpu|cuda|accel] [--sizes A:B:STEP|a,b,c] [--threads N] [--batch B]
 *                   [--seq T] [--input I] [--sparsity S --pattern dense|csr|sell|row|block [--block RxC]] [--reps N]
 *                   [--budget-s S] [--margin M] [--seed N] [--accel FILE] [--cell lstm|hlstm]
 *                   [--gate-hidden M] [--out FILE.tsv] [--json] [--table] [--marks FILE.tsv]
 *   topiary profile --analyze FILE.tsv [--analyze FILE2.tsv ...] [--margin M] [--json] [--table]
 *                   [--marks FILE.tsv] [--accel FILE]
 *
 * Measures (or models) a curve, writes it as TSV (--out, atomically) and prints the analysis: a
 * table of sizes (without --out, or with --table), the Pareto set, dominated sizes, hysteresis
 * points (for the accel model with the tile boundary behind each step) and the largest
 * non-monotonic jumps; --json prints one JSON object per curve instead.  --analyze reads existing
 * curves; curves of the same conditions are compared for repeatability (overlap of their hysteresis
 * points).  --marks writes the first curve's hysteresis points and dominated sizes for gnuplot.
 * A progress bar goes to stderr when it is a terminal.  Exit codes as the other subcommands:
 * 0 ok, 1 runtime failure (or interrupted), 2 bad usage or bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/signals.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/profile.h"

#define MAX_FILES 16
#define REPORT_BYTES (1 << 20)

static int fail(TpStatus s) { return cli_fail("profile", s); }

const char *cmd_profile_usage(void)
{
    return "usage: topiary profile [--backend cpu|cuda|accel] [--sizes A:B:STEP|a,b,c] [--threads N] [--batch B]\n"
           "                       [--seq T] [--input I] [--sparsity S --pattern dense|csr|sell|row|block [--block RxC]]\n"
           "                       [--reps N]\n"
           "                       [--budget-s S] [--margin M] [--noise band|margin] [--seed N] [--accel FILE]\n"
           "                       [--cell lstm|hlstm]\n"
           "                       [--gate-hidden M] [--out FILE.tsv] [--json] [--table] [--marks FILE.tsv]\n"
           "       topiary profile --analyze FILE.tsv [--analyze FILE.tsv ...] [--margin M] [--noise band|margin]\n"
           "                       [--json] [--table] [--marks FILE.tsv]\n"
           "\n"
           "Latency of one LSTM layer step against its hidden size (default 16:1536:8, batch 1, seq 1, the BLAS\n"
           "thread default), measured in the steady state (the same layer back to back after a warm-up), sizes\n"
           "shuffled every round, median and p10/p90 over the rounds; rounds fill --budget-s (default 60 s)\n"
           "unless --reps is given.  --backend accel predicts the curve with the analytical accelerator model\n"
           "(parameters: --accel FILE; the default is data/accel-default.json, also compiled in) and says\n"
           "which tile boundary makes each step.  Times are per call: the whole window of --seq steps.\n"
           "--sparsity S --pattern csr|sell|row|block measures the step with W_ih, W_hh in that sparse layout\n"
           "(engine/sparse; block: BSR with whole --block 16x1|8x1|4x4 blocks, default 16x1, as pattern=block pruning\n"
           "leaves them; the accel model has row only).  --margin is the relative floor of the noise band (default 0.02); --noise margin compares\n"
           "medians with the margin alone (a busy machine stretches p90 far beyond the median's uncertainty).\n"
           "--analyze reads curves\n"
           "(TSV) and compares sweeps of the same conditions (overlap of hysteresis points).\n";
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

static TpStatus write_text(const char *path, const char *text)
{
    TpStatus st = fsutil_write_atomic(path, text, strlen(text));
    return st == TP_OK ? st : err_wrap(st, "%s: ", path);
}

/* Print one curve's analysis (JSON line or report). */
static TpStatus show(const LatencyCurve *c, const HystAnalysis *a, const AccelParams *accel, int json, int table,
                     char *report)
{
    if (json) {
        HystSeries s = profile_series(c);
        char *aj = NULL, *j = NULL;
        TpStatus st = hysteresis_json(&s, a, &aj);
        if (st == TP_OK) st = latency_json_format(c, aj, &j);
        if (st == TP_OK) printf("%s\n", j);
        free(aj);
        free(j);
        return st;
    }
    profile_report(report, REPORT_BYTES, c, a, accel, table);
    fputs(report, stdout);
    return TP_OK;
}

static int analyze_files(const char **files, int n_files, ProfileRequest *q, int json, int table, const char *marks)
{
    LatencyCurve *cs = NULL;
    int n = 0, rc = 0;
    for (int f = 0; f < n_files && !rc; f++) {
        LatencySet set;
        int torn = 0;
        TpStatus st = latency_tsv_load(&set, files[f], &torn);
        if (st != TP_OK) return fail(st);
        if (torn) fprintf(stderr, "topiary: profile: warning: %s: the last line was torn (an interrupted append); ignored\n", files[f]);
        LatencyCurve *nc = realloc(cs, sizeof *cs * (size_t)(n + set.n));
        if (!nc) {
            latency_set_free(&set);
            rc = fail(err_set(TP_ENOMEM, "out of memory"));
            break;
        }
        cs = nc;
        for (int i = 0; i < set.n; i++) cs[n++] = set.c[i];
        free(set.c);
    }
    AccelParams ap, *accel = NULL;
    if (!rc && q->accel[0]) {
        TpStatus st = accel_params_load(&ap, q->accel);
        if (st != TP_OK) rc = fail(st);
        accel = &ap;
    } else if (!rc) {
        accel_defaults(&ap);
    }
    HystAnalysis *as = calloc((size_t)n + 1, sizeof *as);
    char *report = malloc(REPORT_BYTES);
    if (!rc && (!as || !report)) rc = fail(err_set(TP_ENOMEM, "out of memory"));
    for (int i = 0; i < n && !rc; i++) {
        TpStatus st = profile_analyze(&as[i], &cs[i], q->margin, q->margin_only);
        if (st == TP_OK) st = show(&cs[i], &as[i], !strcmp(cs[i].protocol, "model") ? (accel ? accel : &ap) : NULL, json,
                                   table, report);
        if (st != TP_OK) rc = fail(st);
        else if (!json && i + 1 < n) printf("\n");
    }
    /* repeatability: every later curve of the same conditions against the first */
    for (int i = 0; i < n && !rc && !json; i++)
        for (int j = i + 1; j < n && !rc; j++) {
            int first = 1;
            for (int k = 0; k < i; k++) first &= !latency_curve_same_key(&cs[k], &cs[i]);
            if (!first || !latency_curve_same_key(&cs[i], &cs[j]) || strcmp(cs[i].protocol, cs[j].protocol)) continue;
            TpStatus st = profile_report_overlap(report, REPORT_BYTES, &cs[i], &as[i], &cs[j], &as[j]);
            if (st != TP_OK) rc = fail(st);
            else printf("\n%s", report);
        }
    if (!rc && marks && n) {
        char *m = NULL;
        TpStatus st = profile_marks_tsv(&cs[0], &as[0], &m);
        if (st == TP_OK) st = write_text(marks, m);
        free(m);
        if (st != TP_OK) rc = fail(st);
    }
    for (int i = 0; i < n; i++) {
        if (as) hysteresis_free(&as[i]);
        latency_curve_free(&cs[i]);
    }
    free(as);
    free(cs);
    free(report);
    return rc;
}

enum { OPT_JSON = 2, OPT_TABLE, OPT_HELP, OPT_OUT, OPT_MARKS, OPT_ANALYZE, OPT_REQUEST };

/* The options of profile_request_set (sessions/profile), as long options; "-" and "_" both work. */
static const CliOption OPTIONS[] = {
    {"json", no_argument, OPT_JSON}, {"table", no_argument, OPT_TABLE}, {"help", no_argument, OPT_HELP},
    {"out", required_argument, OPT_OUT}, {"marks", required_argument, OPT_MARKS},
    {"analyze", required_argument, OPT_ANALYZE},
    {"backend", required_argument, OPT_REQUEST}, {"sizes", required_argument, OPT_REQUEST},
    {"threads", required_argument, OPT_REQUEST}, {"batch", required_argument, OPT_REQUEST},
    {"seq", required_argument, OPT_REQUEST}, {"input", required_argument, OPT_REQUEST},
    {"sparsity", required_argument, OPT_REQUEST}, {"pattern", required_argument, OPT_REQUEST},
    {"block", required_argument, OPT_REQUEST},
    {"reps", required_argument, OPT_REQUEST}, {"budget-s", required_argument, OPT_REQUEST},
    {"budget_s", required_argument, OPT_REQUEST}, {"margin", required_argument, OPT_REQUEST},
    {"noise", required_argument, OPT_REQUEST}, {"accel", required_argument, OPT_REQUEST},
    {"cell", required_argument, OPT_REQUEST}, {"gate-hidden", required_argument, OPT_REQUEST},
    {"gate_hidden", required_argument, OPT_REQUEST}, {"seed", required_argument, OPT_REQUEST},
    {NULL, 0, 0}};

int cmd_profile(int argc, char **argv)
{
    ProfileRequest q;
    profile_request_defaults(&q);
    const char *out = NULL, *marks = NULL, *files[MAX_FILES];
    int json = 0, table = 0, n_files = 0, id;
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
        else if (id == OPT_ANALYZE) {
            if (n_files == MAX_FILES) return fail(err_set(TP_EINVAL, "--analyze: at most %d files", MAX_FILES));
            files[n_files++] = p.value;
        } else if (id == OPT_REQUEST) {
            int known;
            TpStatus st = profile_request_set(&q, p.name + 2, p.value, &known);
            if (st != TP_OK) return fail(err_wrap(st, "%s: ", p.name));
            if (!known) return fail(err_set(TP_EINVAL, "unknown option '%s' (see 'topiary profile --help')", p.name));
        } else {
            return fail(err_set(TP_EINVAL, "unknown option '%s' (see 'topiary profile --help')", p.value));
        }
    }
    if (n_files) {
        if (out) return fail(err_set(TP_EINVAL, "--out with --analyze: the curves are already files"));
        return analyze_files(files, n_files, &q, json, table, marks);
    }
    signals_catch_stop();
    int tty = isatty(STDERR_FILENO);
    LatencyCurve c;
    AccelParams ap;
    TpStatus st = profile_run(&c, &ap, &q, progress, &tty);
    if (tty) fprintf(stderr, "\r\033[K");
    if (st == TP_ECANCEL) {
        fprintf(stderr, "topiary: profile: interrupted by signal %d; nothing written\n", signals_stop_requested());
        return EXIT_CODE_RUNTIME;
    }
    if (st != TP_OK) return fail(st);
    int rc = 0;
    char *buf = NULL, *report = malloc(REPORT_BYTES);
    size_t len = 0;
    HystAnalysis a;
    memset(&a, 0, sizeof a);
    if (!report) st = err_set(TP_ENOMEM, "out of memory");
    if (st == TP_OK && out) {
        st = latency_tsv_format(&c, 1, &buf, &len);
        if (st == TP_OK) st = write_text(out, buf);
    }
    if (st == TP_OK) st = profile_analyze(&a, &c, q.margin, q.margin_only);
    if (st == TP_OK) st = show(&c, &a, strcmp(c.protocol, "model") ? NULL : &ap, json, table || !out, report);
    if (st == TP_OK && marks) {
        char *m = NULL;
        st = profile_marks_tsv(&c, &a, &m);
        if (st == TP_OK) st = write_text(marks, m);
        free(m);
    }
    if (st == TP_OK && out && !json) fprintf(stderr, "topiary: profile: %d sizes written to %s\n", c.n, out);
    if (st != TP_OK) rc = fail(st);
    hysteresis_free(&a);
    latency_curve_free(&c);
    free(buf);
    free(report);
    return rc;
}
