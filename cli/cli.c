/* cli/cli: see cli.h. */
#include "cli/cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/spell.h"
#include "sessions/runtime.h"


int cli_fail(const char *who, TpStatus s)
{
    fprintf(stderr, "topiary: %s%s%s\n", who ? who : "", who ? ": " : "", err_msg()[0] ? err_msg() : tp_strerror(s));
    return exitcode_from_status(s);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "topiary: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try 'topiary help')\n");
    va_end(ap);
    return EXIT_CODE_USAGE;
}

/* The task options of sessions/task (task_parse_arg parses their values; tests/test_cli checks that
 * this list and task_options_help() name the same options). */
static const char *const TASK_OPTIONS[] = {"data", "level", "cell", "layers", "hidden", "embed", "gate-hidden", "bptt",
                                           "batch", "epochs", "lr", "lr-decay", "decay-start", "clip", "dropout",
                                           "optimizer", "seed", "threads", "max-steps", "eval-batch", "max-vocab",
                                           "init", "log-every", "state-tau", "tie", "task", "mels", "conv",
                                           "max-utts", "freq-mask", "time-mask", "padded", NULL};

const char *const *cli_task_options(void) { return TASK_OPTIONS; }

void cli_parser_init(CliParser *p, const char *cmd, int argc, char **argv, const CliOption *opts, Task *task)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->opts = opts;
    p->task = task;
    if (task) task_defaults(task);
    int n = 0;
    for (int i = 0; opts && opts[i].name && n < CLI_MAX_OPTIONS; i++, n++)
        p->lo[n] = (struct option){opts[i].name, opts[i].has_arg, NULL,
                                   opts[i].value || opts[i].flag ? CLI_STORED : opts[i].id};
    for (int i = 0; task && TASK_OPTIONS[i] && n < CLI_MAX_OPTIONS; i++, n++)
        p->lo[n] = (struct option){TASK_OPTIONS[i], required_argument, NULL, CLI_TASK + i};
    p->lo[n] = (struct option){NULL, 0, NULL, 0};
    optind = 0; /* a full re-initialisation of getopt for every parse (glibc) */
    opterr = 0;
}

static int error(CliParser *p, const char *fmt, const char *what)
{
    fprintf(stderr, "topiary: %s: ", p->cmd);
    fprintf(stderr, fmt, what);
    if (p->hint) fprintf(stderr, " (see '%s')\n", p->hint);
    else fprintf(stderr, "\n(try 'topiary help')\n");
    p->rc = EXIT_CODE_USAGE;
    return CLI_ERROR;
}

/* The option named by an argument "--name[=value]" (exact or abbreviated, as getopt matched it). */
static const struct option *named(const CliParser *p, const char *arg)
{
    if (strncmp(arg, "--", 2)) return NULL;
    size_t len = strcspn(arg + 2, "=");
    const struct option *hit = NULL;
    for (const struct option *o = p->lo; o->name; o++) {
        if (strlen(o->name) == len && !strncmp(o->name, arg + 2, len)) return o;
        if (!strncmp(o->name, arg + 2, len)) hit = hit ? NULL : o;
    }
    return hit;
}

int cli_next(CliParser *p)
{
    p->name[0] = '\0';
    p->value = NULL;
    if (p->rest) { /* after "--": everything is positional */
        if (p->rest >= p->argc) return CLI_END;
        p->value = p->argv[p->rest++];
        return CLI_ARG;
    }
    int idx = -1;
    int c = getopt_long(p->argc, p->argv, "-:", p->lo, &idx);
    if (c == -1) {
        if (optind < p->argc) { /* stopped at "--" */
            p->rest = optind;
            return cli_next(p);
        }
        return CLI_END;
    }
    const char *arg = p->argv[optind - 1];
    if (c == 1) {
        p->value = optarg;
        return CLI_ARG;
    }
    if (c == ':') {
        const struct option *o = named(p, arg);
        return error(p, "option --%s needs a value", o ? o->name : arg + 2);
    }
    if (c == '?') {
        const struct option *o = named(p, arg);
        if (o && o->has_arg == no_argument && strchr(arg, '=')) return error(p, "option --%s takes no value", o->name);
        /* "did you mean" among this subcommand's options (base/spell) */
        SpellGuess g = SPELL_GUESS_INIT;
        char typed[64];
        snprintf(typed, sizeof typed, "%.*s", (int)strcspn(arg + (strncmp(arg, "--", 2) ? 0 : 2), "="),
                 arg + (strncmp(arg, "--", 2) ? 0 : 2));
        for (const struct option *lo = p->lo; lo->name; lo++) spell_consider(&g, typed, lo->name);
        if (g.best) {
            char what[200];
            snprintf(what, sizeof what, "%.60s' (did you mean '--%s'?", arg, g.best);
            return error(p, "unknown option '%s)", what);
        }
        return error(p, "unknown option '%s'", arg);
    }
    snprintf(p->name, sizeof p->name, "--%s", idx >= 0 ? p->lo[idx].name : "?");
    p->value = optarg;
    if (c == CLI_STORED) { /* the options come first in lo[], in the order of opts */
        const CliOption *o = &p->opts[idx];
        if (o->value) *o->value = optarg;
        if (o->flag) *o->flag = 1;
        return cli_next(p);
    }
    if (c >= CLI_TASK) {
        char *av[3] = {p->name, optarg, NULL};
        int i = 0, matched = 0;
        TpStatus st = task_parse_arg(p->task, 2, av, &i, &matched);
        if (st != TP_OK) {
            p->rc = cli_fail(NULL, st);
            return CLI_ERROR;
        }
        return CLI_TASK;
    }
    return c;
}

int cli_parse_all(CliParser *p)
{
    int id;
    while ((id = cli_next(p)) != CLI_END) {
        if (id == CLI_ERROR) return p->rc;
        return cli_usage("%s: unknown option '%s'", p->cmd, p->value);
    }
    return 0;
}

int cli_parse_options(const char *cmd, int argc, char **argv, const CliOption *opts)
{
    CliParser p;
    cli_parser_init(&p, cmd, argc, argv, opts, NULL);
    return cli_parse_all(&p);
}

void cli_writer_note(const SessionWriter *w, const char *verb)
{
    if (w->note[0]) fprintf(stderr, "topiary: %s: note: %s\n", verb, w->note);
}

int cli_open_or_create(Session *s, SessionWriter *w, const char *dir, const Task *task, int task_given, const char *verb)
{
    TpStatus st;
    char who[64];
    snprintf(who, sizeof who, "topiary %s", verb);
    writer_init(w);
    if (session_exists(dir)) {
        if (task_given && !task->data[0]) {
            fprintf(stderr, "topiary: %s: session %s exists; task options only create new sessions\n", verb, dir);
            return EXIT_CODE_USAGE;
        }
        st = writer_open(w, s, dir, task->data[0] ? task->data : NULL, who);
    } else {
        st = writer_create(w, s, dir, task, who);
    }
    if (st != TP_OK) return cli_fail(NULL, st);
    cli_writer_note(w, verb);
    return 0;
}

int cli_backend_check(const char *name)
{
    if (!name) return 0;
    if (runtime_backend_check(name, NULL, 0) == TP_OK) return 0;
    fprintf(stderr, "topiary: %s\n", err_msg());
    return EXIT_CODE_USAGE;
}

int cli_backend_apply(Session *s, const char *name)
{
    char said[640] = "";
    if (!name) return 0;
    if (runtime_train_backend(s, name, said, sizeof said) != TP_OK) {
        fprintf(stderr, "topiary: %s\n", err_msg());
        return EXIT_CODE_USAGE;
    }
    if (said[0]) fprintf(stderr, "topiary: %s\n", said);
    return 0;
}

void cli_bar(char *buf, int width, double frac)
{
    int fill = (int)(frac * width + 0.5);
    buf[0] = '[';
    for (int i = 0; i < width; i++) buf[1 + i] = i < fill ? '#' : '.';
    buf[width + 1] = ']';
    buf[width + 2] = '\0';
}

void cli_duration(char *b, size_t n, double s)
{
    if (!isfinite(s) || s < 0) snprintf(b, n, "--");
    else if (s < 60) snprintf(b, n, "%.0fs", s);
    else if (s < 3600) snprintf(b, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(b, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}
