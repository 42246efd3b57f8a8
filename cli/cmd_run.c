/* cli/cmd_run: `topiary run SCRIPT` (a command script, headless) and `topiary [tui]` (the interactive
 * workbench through tui/tui.h).  Both open the session, or create it from the task options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/lines.h"
#include "base/signals.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"
#include "sessions/lesson.h"
#include "tui/tui.h"

#define RUN_MAX_LINE (16u << 20) /* a line longer than this is refused, not read */

/* A long verb of the script (train epochs=N, a schedule, eval) stops at its next step when a signal
 * asked to stop: the verbs poll this between steps. */
static int run_progress(void *ctx, const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    (void)ctx, (void)what, (void)fraction, (void)s, (void)row;
    return signals_stop_requested() != 0;
}

/* Execute the lines of f against s; returns the exit code.  Lines are read whole (base/lines): a NUL
 * or CR in a line is an error naming its line and column, and the script stops there. */
static int run_script(Session *s, FILE *f, const char *script, int keep_going)
{
    LineReader lr;
    lines_init(&lr, f, script, RUN_MAX_LINE);
    const char *line = NULL;
    size_t len;
    int errors = 0, quit = 0, rc = 0;
    TpStatus st = TP_OK;
    while (!quit && !signals_stop_requested() && (st = lines_next(&lr, &line, &len)) == TP_OK && line) {
        long lineno = lr.line;
        CommandResult r;
        Command c;
        if (command_parse(line, &c) == TP_OK && c.empty) continue;
        printf("%s:%ld> %s\n", script, lineno, line);
        st = command_execute(s, line, &r);
        if (st != TP_OK) {
            fprintf(stderr, "%s:%ld: %s\n", script, lineno, err_msg());
            errors++;
            if (!rc) rc = exitcode_from_status(st);
            if (!keep_going) break;
            continue;
        }
        if (r.text[0]) printf("%s%s", r.text, r.text[strlen(r.text) - 1] == '\n' ? "" : "\n");
        fflush(stdout);
        quit = r.quit;
    }
    if (st != TP_OK && line == NULL && !rc) { /* the reader refused a line: nothing of it ran */
        fprintf(stderr, "topiary: run: %s\n", err_msg());
        rc = exitcode_from_status(st);
    }
    lines_free(&lr);
    if (errors && keep_going) fprintf(stderr, "topiary: run: %d command(s) failed\n", errors);
    return rc;
}

/* A script file is checked whole before anything runs: a bad byte on its last line stops it before
 * its first command.  (Standard input, pipes and FIFOs are read as they come.) */
static int check_script(FILE *f, const char *script)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    LineReader lr;
    lines_init(&lr, f, script, RUN_MAX_LINE);
    const char *line;
    size_t len;
    TpStatus st;
    while ((st = lines_next(&lr, &line, &len)) == TP_OK && line) {}
    lines_free(&lr);
    if (st != TP_OK) {
        fprintf(stderr, "topiary: run: %s\n", err_msg());
        return exitcode_from_status(st);
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "topiary: run: %s: %s\n", script, strerror(errno));
        return EXIT_CODE_USAGE;
    }
    clearerr(f);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    const char *script = NULL, *dir = NULL, *backend = NULL;
    int keep_going = 0, task_given = 0, id;
    const CliOption opts[] = {{"session", required_argument, .value = &dir},
                              {"keep-going", no_argument, .flag = &keep_going},
                              {"backend", required_argument, .value = &backend}, {NULL}};
    Task task;
    CliParser p;
    cli_parser_init(&p, "run", argc, argv, opts, &task);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == CLI_TASK) task_given = 1;
        else if (id == CLI_ARG && !script) script = p.value;
        else return cli_usage("run: unknown option '%s'", p.value);
    }
    if (!script || !dir)
        return cli_usage("run: usage: topiary run SCRIPT --session DIR [task options] [--keep-going] [--backend cpu|cuda|auto]");
    if (cli_backend_check(backend)) return EXIT_CODE_USAGE;
    FILE *f = stdin; /* a device or FIFO would never end or block: a pipe comes in as `run -` */
    TpStatus fst = strcmp(script, "-") ? fsutil_fopen_regular(script, &f) : TP_OK;
    if (fst != TP_OK) {
        fprintf(stderr, "topiary: run: %s%s\n", err_msg(), fst == TP_EINVAL ? " (to read a script from a pipe: topiary run -)" : "");
        return EXIT_CODE_USAGE;
    }
    int rc = check_script(f, script);
    if (rc) {
        if (f != stdin) fclose(f);
        return rc;
    }
    Session s;
    SessionWriter w;
    rc = cli_open_or_create(&s, &w, dir, &task, task_given, "run");
    if (!rc && (rc = cli_backend_apply(&s, backend)) != 0) {
        session_free(&s);
        writer_close(&w);
    }
    if (rc) {
        if (f != stdin) fclose(f);
        return rc;
    }
    signals_catch_stop();
    command_set_progress(run_progress, NULL);
    rc = run_script(&s, f, script, keep_going);
    command_set_progress(NULL, NULL);
    if (f != stdin) fclose(f);
    if (session_save(&s) != TP_OK) {
        fprintf(stderr, "topiary: could not save: %s\n", err_msg());
        rc = EXIT_CODE_RUNTIME;
    }
    int sig = signals_stop_requested();
    if (sig) {
        fprintf(stderr, "topiary: interrupted by signal %d; session saved\n", sig);
        if (!rc) rc = EXIT_CODE_RUNTIME;
    }
    session_free(&s);
    writer_close(&w);
    return rc;
}

/* Default session: $XDG_DATA_HOME/topiary/default (or ~/.local/share/topiary/default). */
static void default_session_dir(char *buf, size_t n)
{
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (x && *x) snprintf(buf, n, "%s/topiary/default", x);
    else snprintf(buf, n, "%s/.local/share/topiary/default", home && *home ? home : ".");
}

int cmd_tui(int argc, char **argv)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        /* before anything is created: a pipe or a cron job gets the headless commands instead */
        fprintf(stderr, "topiary: the interactive workbench needs a terminal; the headless commands are:\n\n");
        fputs(CLI_SUBCOMMANDS, stderr);
        return EXIT_CODE_USAGE;
    }
    const char *dir = NULL, *backend = NULL;
    char dflt[4096];
    TuiOptions o = {0, 0, NULL};
    const char *lessons = NULL;
    int task_given = 0, log_every_given = 0, id;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"ascii", no_argument, .flag = &o.ascii},
                              {"no-color", no_argument, .flag = &o.no_color},
                              {"lessons", required_argument, .value = &lessons},
                              {"backend", required_argument, .value = &backend}, {NULL}};
    Task task;
    CliParser p;
    cli_parser_init(&p, "tui", argc, argv, opts, &task);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == CLI_TASK) task_given = 1, log_every_given |= !strcmp(p.name, "--log-every");
        else return cli_usage("tui: unknown option '%s'", p.value);
    }
    if (cli_backend_check(backend)) return EXIT_CODE_USAGE;
    lesson_set_dir(lessons); /* the Lessons screen's extra directory */
    if (!dir) {
        default_session_dir(dflt, sizeof dflt);
        dir = dflt;
    }
    /* live curves for a new session: a metrics row every 20 steps unless asked otherwise */
    if (!session_exists(dir) && !log_every_given) task.log_every = 20;
    Session s;
    SessionWriter w; /* the workbench is the session's writer for its whole run */
    int rc = cli_open_or_create(&s, &w, dir, &task, task_given, "tui");
    if (rc) return rc;
    if ((rc = cli_backend_apply(&s, backend)) == 0) rc = tui_run(&s, &o);
    session_free(&s);
    writer_close(&w);
    return rc;
}
