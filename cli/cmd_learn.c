/* cli/cmd_learn: `topiary learn [LESSON] [--session DIR] [--lessons DIR] [--check | --run] [task options]`
 * and `topiary explain [TERM ...]`: the lessons and the glossary of sessions/lesson_verbs.
 *
 *   learn                         the lessons (with --session: and that session's progress)
 *   learn LESSON                  the lesson's text, steps and exercise
 *   learn LESSON --session DIR    open DIR (a new DIR is created with the lesson's task options, then
 *                                 yours), start the lesson there unless it is already started, and
 *                                 open the workbench on the Lessons screen (on a terminal; otherwise
 *                                 print the lesson and its check)
 *        --check                  only evaluate the exercise: exit 0 when it passes, 1 when not yet
 *        --run                    run the lesson's steps headless (as `topiary run`), then check */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"
#include "sessions/lesson_verbs.h"
#include "tui/tui.h"

#define LEARN_USAGE "learn: usage: topiary learn [LESSON] [--session DIR] [--lessons DIR] [--check | --run] [task options]"

/* Execute one line, printing it and its text like `topiary run`; 0 or the exit code. */
static int exec_line(Session *s, const char *line, int echo)
{
    CommandResult r;
    if (echo) printf("> %s\n", line);
    TpStatus st = command_execute(s, line, &r);
    if (st != TP_OK) return cli_fail(NULL, st);
    if (r.text[0]) printf("%s%s", r.text, r.text[strlen(r.text) - 1] == '\n' ? "" : "\n");
    fflush(stdout);
    return 0;
}

/* argv for the parser: the subcommand, the lesson's task options (for a new session), then the user's. */
static int build_argv(char **out, int cap, char *task_copy, int argc, char **argv)
{
    int n = 0;
    out[n++] = argv[0];
    for (char *t = strtok(task_copy, " \t"); t && n < cap - 1; t = strtok(NULL, " \t")) out[n++] = t;
    for (int i = 1; i < argc && n < cap - 1; i++) out[n++] = argv[i];
    out[n] = NULL;
    return n;
}

/* The lesson's verdict on s: 0 passed, 1 not yet, or an exit code. */
static int check(Session *s, const Lesson *l)
{
    LessonProgress p;
    LessonVerdict v;
    TpStatus st = lesson_progress_load(&p, s->dir);
    if (st == TP_OK) st = lesson_check(s, l, &p, &v);
    if (st != TP_OK) return cli_fail("learn", st);
    char text[4096];
    lesson_format_verdict(l, &v, text, sizeof text);
    fputs(text, stdout);
    return v.pass ? EXIT_CODE_OK : EXIT_CODE_RUNTIME;
}

static int in_session(const char *dir, const Lesson *l, int argc, char **argv, int do_check, int do_run)
{
    Task task;
    CliParser p;
    int task_given = 0, id, new_session = !session_exists(dir);
    char task_copy[sizeof l->task], *av[128];
    snprintf(task_copy, sizeof task_copy, "%s", new_session ? l->task : "");
    int ac = build_argv(av, 128, task_copy, argc, argv);
    const char *ignored = NULL;
    int flag = 0;
    const CliOption opts[] = {{"session", required_argument, .value = &ignored}, {"lessons", required_argument, .value = &ignored},
                              {"check", no_argument, .flag = &flag}, {"run", no_argument, .flag = &flag}, {NULL}};
    cli_parser_init(&p, "learn", ac, av, opts, &task);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == CLI_TASK) task_given = 1;
    }
    Session s;
    SessionWriter w;
    int rc = cli_open_or_create(&s, &w, dir, &task, task_given, "learn");
    if (rc) return rc;
    char line[160];
    /* a lesson started before is resumed: its reference values stay */
    snprintf(line, sizeof line, "lesson start name=%s", l->id);
    rc = exec_line(&s, line, 0);
    if (!rc && do_run)
        for (int i = 0; i < l->n_steps && !rc; i++) rc = exec_line(&s, l->steps[i].command, 1);
    if (!rc && (do_check || do_run)) {
        rc = check(&s, l);
    } else if (!rc && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        TuiOptions o = {0, 0, "Lessons"};
        rc = tui_run(&s, &o);
    } else if (!rc) {
        char text[16384];
        lesson_format(l, 100, text, sizeof text);
        fputs(text, stdout);
        int c = check(&s, l);
        if (c != EXIT_CODE_OK && c != EXIT_CODE_RUNTIME) rc = c;
    }
    if (session_save(&s) != TP_OK && rc != EXIT_CODE_RUNTIME) rc = cli_fail("learn: save", TP_EIO);
    session_free(&s);
    writer_close(&w);
    return rc;
}

int cmd_learn(int argc, char **argv)
{
    const char *dir = NULL, *lessons = NULL, *name = NULL;
    int do_check = 0, do_run = 0, id, task_given = 0;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"lessons", required_argument, .value = &lessons},
                              {"check", no_argument, .flag = &do_check}, {"run", no_argument, .flag = &do_run}, {NULL}};
    Task task;
    CliParser p;
    cli_parser_init(&p, "learn", argc, argv, opts, &task);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == CLI_TASK) task_given = 1;
        else if (id == CLI_ARG && !name) name = p.value;
        else return cli_usage(LEARN_USAGE);
    }
    if ((do_check || do_run || task_given) && (!dir || !name)) return cli_usage(LEARN_USAGE " (--check, --run and task options need LESSON and --session)");
    if (do_check && do_run) return cli_usage("learn: --check or --run, not both");
    lesson_set_dir(lessons);
    LessonCatalog cat;
    TpStatus st = lesson_catalog_load(&cat);
    if (st != TP_OK) return cli_fail("learn", st);
    int rc = EXIT_CODE_OK;
    const Lesson *l = NULL;
    if (name && (st = lesson_find(&cat, name, &l)) != TP_OK) {
        rc = cli_fail("learn", st);
    } else if (!name && !dir) {
        printf("lessons (topiary learn LESSON [--session DIR]; docs/lessons.md):\n");
        for (int i = 0; i < cat.n; i++) printf("  %-22s %s\n", cat.l[i].id, cat.l[i].title);
    } else if (!name) { /* the list with this session's progress */
        Session s;
        SessionWriter w;
        if (!session_exists(dir)) rc = cli_usage("learn: no session in %s (give a LESSON to create one)", dir);
        else if (!(rc = cli_open_or_create(&s, &w, dir, &task, 0, "learn"))) {
            rc = exec_line(&s, "lesson list", 0);
            session_free(&s);
            writer_close(&w);
        }
    } else if (!dir) {
        char text[16384];
        lesson_format(l, 100, text, sizeof text);
        fputs(text, stdout);
        printf("\nstart it: topiary learn %s --session DIR%s%s\n", l->id, l->task[0] ? "   (a new DIR gets: " : "",
               l->task[0] ? l->task : "");
        if (l->task[0]) printf(")\n");
    } else {
        rc = in_session(dir, l, argc, argv, do_check, do_run);
    }
    lesson_catalog_free(&cat);
    return rc;
}

const char *cmd_learn_usage(void)
{
    return "usage: topiary learn [LESSON] [--session DIR] [--lessons DIR] [--check | --run] [task options]\n"
           "       topiary explain [TERM ...]\n\n"
           "  learn                       the lessons (with --session DIR: and that session's progress)\n"
           "  learn LESSON                a lesson's text, steps and exercise (an id, its number or its name)\n"
           "  learn LESSON --session DIR  open DIR (a new one gets the lesson's task options, then yours), start\n"
           "                              or resume the lesson and open the workbench on the Lessons screen\n"
           "    --check                   evaluate the exercise: exit 0 when it passes, 1 when not yet\n"
           "    --run                     run the lesson's steps headless, then check\n"
           "    --lessons DIR             more lessons (also $TOPIARY_LESSONS); docs/lessons.md\n"
           "  explain TERM                the glossary's definition of a term the screens show\n";
}

int cmd_explain(int argc, char **argv)
{
    char term[256] = "";
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') return cli_usage("explain: usage: topiary explain [TERM ...]");
        size_t used = strlen(term);
        snprintf(term + used, sizeof term - used, "%s%.100s", used ? " " : "", argv[i]);
    }
    char text[8192];
    TpStatus st = lesson_explain(term, 78, text, sizeof text);
    if (st != TP_OK) return cli_fail(NULL, st);
    fputs(text, stdout);
    return EXIT_CODE_OK;
}
