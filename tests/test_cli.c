/* tests/test_cli: the command line's shared parser (cli/cli, getopt_long).
 *
 * `--name VALUE` and `--name=VALUE` give the same result, for a subcommand's own options and for
 * the task options (which land in the Task, parsed by sessions/task); positional arguments come back
 * in order ("-" included, and everything after "--"); an unknown option, a missing value, a value
 * given to a flag and a bad task value are CLI_ERROR with exit code 2.  The task option table of
 * cli.c and task_options_help() name the same options, and task_parse_arg accepts every one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

enum { OPT_SESSION = 2, OPT_JSON };
static const CliOption OPTS[] = {{"session", required_argument, .id = OPT_SESSION}, {"json", no_argument, .id = OPT_JSON}, {NULL}};

typedef struct {
    const char *session;
    int json, n_task, n_args;
    const char *args[4];
    Task task;
    int last, rc;
} Parsed;

static void parse(Parsed *r, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    task_defaults(&r->task);
    CliParser p;
    cli_parser_init(&p, "test", argc, argv, OPTS, &r->task);
    int id;
    while ((id = cli_next(&p)) > 0) {
        if (id == OPT_SESSION) r->session = p.value;
        else if (id == OPT_JSON) r->json = 1;
        else if (id == CLI_TASK) r->n_task++;
        else if (id == CLI_ARG && r->n_args < 4) r->args[r->n_args++] = p.value;
    }
    r->last = id;
    r->rc = p.rc;
}

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(r, ...) parse(r, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_both_forms(void **state)
{
    (void)state;
    Parsed a, b;
    PARSE(&a, "train", "--session", "dir", "--hidden", "200", "--lr", "0.5", "--json");
    PARSE(&b, "train", "--session=dir", "--hidden=200", "--lr=0.5", "--json");
    for (Parsed *r = &a; r; r = r == &a ? &b : NULL) {
        assert_int_equal(r->last, CLI_END);
        assert_string_equal(r->session, "dir");
        assert_int_equal(r->json, 1);
        assert_int_equal(r->n_task, 2);
        assert_int_equal(r->task.model.hidden[0], 200);
        assert_int_equal(r->task.hidden_given, 1);
        assert_true(r->task.train.lr > 0.49f && r->task.train.lr < 0.51f);
    }
    /* an abbreviation, as GNU tools allow, when it is unambiguous */
    PARSE(&a, "train", "--sess=d", "--max-s", "7");
    assert_int_equal(a.last, CLI_END);
    assert_string_equal(a.session, "d");
    assert_int_equal(a.task.train.max_steps, 7);
}

static void test_positional_arguments(void **state)
{
    (void)state;
    Parsed r;
    PARSE(&r, "run", "script.tp", "--session", "d", "-", "--", "--json", "x");
    assert_int_equal(r.last, CLI_END);
    assert_int_equal(r.n_args, 4);
    assert_string_equal(r.args[0], "script.tp");
    assert_string_equal(r.args[1], "-");
    assert_string_equal(r.args[2], "--json"); /* after "--": not an option */
    assert_string_equal(r.args[3], "x");
    assert_int_equal(r.json, 0);
}

static void test_errors(void **state)
{
    (void)state;
    Parsed r;
    PARSE(&r, "train", "--frobnicate", "3");
    assert_int_equal(r.last, CLI_ERROR);
    assert_int_equal(r.rc, 2);
    PARSE(&r, "train", "--session");
    assert_int_equal(r.last, CLI_ERROR);
    assert_int_equal(r.rc, 2);
    PARSE(&r, "train", "--json=1");
    assert_int_equal(r.last, CLI_ERROR);
    assert_int_equal(r.rc, 2);
    PARSE(&r, "train", "--hidden=0");
    assert_int_equal(r.last, CLI_ERROR);
    assert_int_equal(r.rc, 2);
    PARSE(&r, "train", "--l", "1"); /* ambiguous: --layers, --lr, --level, ... */
    assert_int_equal(r.last, CLI_ERROR);
    /* without a Task the task options are unknown */
    CliParser p;
    char *av[] = {"eval", "--hidden", "3", NULL};
    cli_parser_init(&p, "eval", 3, av, OPTS, NULL);
    assert_int_equal(cli_next(&p), CLI_ERROR);
    assert_int_equal(p.rc, 2);
}

static void test_task_options_match_sessions_task(void **state)
{
    (void)state;
    const char *help = task_options_help();
    int n = 0;
    for (const char *const *o = cli_task_options(); *o; o++, n++) {
        char want[64];
        snprintf(want, sizeof want, "  --%s ", *o);
        if (!strstr(help, want)) fail_msg("task_options_help() does not list --%s", *o);
        Task t;
        task_defaults(&t);
        char name[64];
        snprintf(name, sizeof name, "--%s", *o);
        char *av[] = {name, "1", NULL};
        int i = 0, matched = 0;
        task_parse_arg(&t, 2, av, &i, &matched);
        err_clear();
        if (!matched) fail_msg("task_parse_arg does not know --%s", *o);
    }
    /* and every option the help lists is in the table: one "  --name" line start per option */
    int listed = 0;
    for (const char *line = help; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line))
        listed += !strncmp(line, "  --", 4);
    assert_int_equal(listed, n);
}

/* Options with a target are stored by the parser, never returned; cli_parse_all refuses a positional. */
static void test_targets(void **state)
{
    (void)state;
    const char *dir = NULL;
    int verify = 0;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"verify", no_argument, .flag = &verify},
                              {NULL}};
    CliParser p;
    cli_parser_init(&p, "test", ARGC("replay", "--verify", "--session=d1"), ARGV("replay", "--verify", "--session=d1"),
                    opts, NULL);
    assert_int_equal(cli_parse_all(&p), 0);
    assert_string_equal(dir, "d1");
    assert_int_equal(verify, 1);
    cli_parser_init(&p, "test", ARGC("replay", "--session", "d2", "extra"), ARGV("replay", "--session", "d2", "extra"),
                    opts, NULL);
    assert_int_equal(cli_next(&p), CLI_ARG); /* the stored option is skipped */
    assert_string_equal(dir, "d2");
    assert_string_equal(p.value, "extra");
    cli_parser_init(&p, "test", ARGC("replay", "extra"), ARGV("replay", "extra"), opts, NULL);
    assert_int_equal(cli_parse_all(&p), EXIT_CODE_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_both_forms),
        cmocka_unit_test(test_positional_arguments),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_task_options_match_sessions_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
