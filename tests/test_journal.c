/* tests/test_journal: SESSION/journal.txt (DESIGN 2.3), "step<TAB>iso-time<TAB>command<TAB>result".
 *
 * Append/read round trip; tabs and newlines inside a command or result are neutralised so a record
 * stays one line of four fields; a torn last line (no trailing newline: a crash mid-append) is
 * ignored with torn = 1, and the next append does not glue itself onto it; a malformed line is
 * refused with its line number; a missing journal is an empty one.  Lines of any length are read
 * whole; CR and NUL are errors with line and column; a command too long for the journal is refused,
 * never cut.  The commit position (issue 11): journal_read_upto stops at it, journal_truncate cuts
 * the lines beyond it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "base/fsutil.h"
#include "sessions/journal.h"

static int setup(void **state)
{
    char *dir = th_tempdir("journal");
    if (!dir) return -1;
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    th_rmtree(*state);
    free(*state);
    return 0;
}

static void journal_path(char *buf, size_t n, const char *dir)
{
    snprintf(buf, n, "%s/journal.txt", dir);
}

static char *read_all(const char *dir, size_t *len)
{
    char p[4200];
    journal_path(p, sizeof p, dir);
    void *buf = NULL;
    assert_int_equal(fsutil_read_file(p, 1u << 20, &buf, len), TP_OK);
    return buf;
}

static void append_raw(const char *dir, const char *text)
{
    char p[4200];
    journal_path(p, sizeof p, dir);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void write_raw(const char *dir, const char *text)
{
    char p[4200];
    journal_path(p, sizeof p, dir);
    assert_int_equal(th_write_file(p, text, strlen(text)), 0);
}

static void test_missing_is_empty(void **state)
{
    const char *dir = *state;
    JournalEntry *e = (JournalEntry *)1;
    int n = -1, torn = -1;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(torn, 0);
    free(e);
}

static void test_round_trip(void **state)
{
    const char *dir = *state;
    assert_int_equal(journal_append(dir, 0, "train steps=10", "trained 10 step(s)"), TP_OK);
    assert_int_equal(journal_append(dir, 10, "set lr=0.5", "lr = 0.5"), TP_OK);
    assert_int_equal(journal_append(dir, 10, "snapshot name=\"a\"", ""), TP_OK);
    assert_int_equal(journal_append(dir, 123456789012L, "undo", NULL), TP_OK);
    JournalEntry *e = NULL;
    int n = 0, torn = 1;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(torn, 0);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].step, 0);
    assert_string_equal(e[0].command, "train steps=10");
    assert_string_equal(e[0].result, "trained 10 step(s)");
    assert_int_equal(e[1].step, 10);
    assert_string_equal(e[1].command, "set lr=0.5");
    assert_string_equal(e[1].result, "lr = 0.5");
    assert_string_equal(e[2].command, "snapshot name=\"a\"");
    assert_string_equal(e[2].result, "");
    assert_int_equal(e[3].step, 123456789012L);
    assert_string_equal(e[3].command, "undo");
    /* the time is ISO 8601 UTC: YYYY-MM-DDTHH:MM:SSZ */
    for (int i = 0; i < n; i++) {
        assert_int_equal(strlen(e[i].time), 20);
        assert_int_equal(e[i].time[4], '-');
        assert_int_equal(e[i].time[10], 'T');
        assert_int_equal(e[i].time[19], 'Z');
    }
    free(e);
    /* on disk: one line per record, four tab-separated fields */
    size_t len;
    char *text = read_all(dir, &len);
    int lines = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        int tabs = 0;
        for (char *q = line; q < nl; q++) tabs += *q == '\t';
        assert_int_equal(tabs, 3);
        lines++;
        line = nl + 1;
    }
    assert_int_equal(lines, 4);
    free(text);
}

static void test_tabs_and_newlines_neutralised(void **state)
{
    const char *dir = *state;
    assert_int_equal(journal_append(dir, 1, "train\tsteps=1\nquit\r", "two\nlines\tand a tab"), TP_OK);
    assert_int_equal(journal_append(dir, 2, "eval", "ok"), TP_OK);
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].command, "train steps=1 quit ");
    assert_string_equal(e[0].result, "two lines and a tab");
    assert_int_equal(e[1].step, 2);
    assert_string_equal(e[1].command, "eval");
    free(e);
}

static void test_long_command_refused_long_result_cut(void **state)
{
    const char *dir = *state;
    char cmd[2000], res[1000];
    memset(cmd, 'c', sizeof cmd - 1);
    cmd[sizeof cmd - 1] = '\0';
    memset(res, 'r', sizeof res - 1);
    res[sizeof res - 1] = '\0';
    /* a command is never cut (replay would run another one): refused */
    assert_int_equal(journal_append(dir, 5, cmd, res), TP_EINVAL);
    cmd[JOURNAL_COMMAND_MAX] = '\0';
    assert_int_equal(journal_append(dir, 5, cmd, res), TP_OK);
    assert_int_equal(journal_append(dir, 6, "eval", "ok"), TP_OK);
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].step, 5);
    assert_int_equal(strlen(e[0].command), JOURNAL_COMMAND_MAX);
    assert_int_equal(strspn(e[0].command, "c"), strlen(e[0].command));
    assert_true(strlen(e[0].result) > 100);
    assert_int_equal(strspn(e[0].result, "r"), strlen(e[0].result));
    assert_string_equal(e[1].command, "eval");
    assert_int_equal(e[1].line, 2);
    free(e);
}

/* Lines of any length are read whole: a 10 KB result does not split its record (fgets 4096 did). */
static void test_long_line_read_whole(void **state)
{
    const char *dir = *state;
    char *line = malloc(12000);
    assert_non_null(line);
    int k = snprintf(line, 12000, "3\t2026-01-01T00:00:00Z\tprune ratio=0.5\t");
    memset(line + k, 'r', 10000);
    strcpy(line + k + 10000, "\n");
    append_raw(dir, line);
    append_raw(dir, "4\t2026-01-01T00:00:00Z\teval\tok\n");
    free(line);
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].command, "prune ratio=0.5");
    assert_string_equal(e[1].command, "eval");
    assert_int_equal(e[1].line, 2);
    free(e);
}

/* A CR or NUL inside a line is an error naming the line and column; an over-long command its line. */
static void test_cr_nul_and_long_command_refused(void **state)
{
    const char *dir = *state;
    static const char text[] = "0\tT\tstatus\tok\n1\tT\tprune ratio=0.5\r dry=1\tok\n";
    JournalEntry *e = (JournalEntry *)1;
    int n = 7, torn = 0;
    assert_int_equal(journal_parse(text, sizeof text - 1, "J", &e, &n, &torn), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "J:2:20"));
    assert_null(e);
    assert_int_equal(n, 0);
    static const char nul[] = "0\tT\tstatus\0x\tok\n";
    assert_int_equal(journal_parse(nul, sizeof nul - 1, "J", &e, &n, &torn), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "J:1:11"));
    char big[JOURNAL_COMMAND_MAX + 64];
    int k = snprintf(big, sizeof big, "0\tT\t");
    memset(big + k, 'x', JOURNAL_COMMAND_MAX + 1);
    strcpy(big + k + JOURNAL_COMMAND_MAX + 1, "\tok\n");
    assert_int_equal(journal_parse(big, strlen(big), "J", &e, &n, &torn), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "J:1: command longer"));
    (void)dir;
}

/* The commit position: readers stop there, a writer cuts beyond it; a shorter journal is refused. */
static void test_read_upto_and_truncate(void **state)
{
    const char *dir = *state;
    assert_int_equal(journal_append(dir, 0, "train steps=3", "ok"), TP_OK);
    long committed = 0;
    assert_int_equal(journal_size(dir, &committed), TP_OK);
    assert_true(committed > 0);
    assert_int_equal(journal_append(dir, 3, "prune ratio=0.5", "unsaved"), TP_OK);
    append_raw(dir, "4\tT\tgrow ra"); /* and a torn fragment */
    JournalEntry *e = NULL;
    int n = 0, torn = 0, unc = 0;
    assert_int_equal(journal_read_upto(dir, committed, &e, &n, &torn, &unc), TP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(unc, 1);
    assert_int_equal(torn, 0);
    assert_string_equal(e[0].command, "train steps=3");
    free(e);
    int dropped = 0;
    assert_int_equal(journal_truncate(dir, committed, &dropped), TP_OK);
    assert_int_equal(dropped, 2);
    long now = 0;
    assert_int_equal(journal_size(dir, &now), TP_OK);
    assert_int_equal(now, committed);
    assert_int_equal(journal_truncate(dir, committed, &dropped), TP_OK);
    assert_int_equal(dropped, 0);
    /* shorter than recorded: lines of saved state are missing */
    assert_int_equal(journal_truncate(dir, committed + 10, &dropped), TP_EFORMAT);
    assert_int_equal(journal_read_upto(dir, committed + 10, &e, &n, &torn, NULL), TP_EFORMAT);
    /* an older session (no position): only a torn fragment goes */
    append_raw(dir, "9\tT\tgr");
    assert_int_equal(journal_truncate(dir, -1, &dropped), TP_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(journal_size(dir, &now), TP_OK);
    assert_int_equal(now, committed);
}

static void test_torn_last_line_ignored(void **state)
{
    const char *dir = *state;
    assert_int_equal(journal_append(dir, 0, "train steps=3", "ok"), TP_OK);
    assert_int_equal(journal_append(dir, 3, "set lr=0.1", "ok"), TP_OK);
    append_raw(dir, "3\t2024-01-01T00:00:00Z\ttrain ste"); /* the crash cut this one */
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(torn, 1);
    assert_int_equal(n, 2);
    assert_string_equal(e[1].command, "set lr=0.1");
    free(e);
    /* a torn line that is only a few bytes of the step */
    write_raw(dir, "0\t2024-01-01T00:00:00Z\tundo\tok\n1");
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(torn, 1);
    assert_int_equal(n, 1);
    free(e);
}

/* After a torn line, the next append must not glue its record onto the fragment (that would give
 * one line "3<TAB>...<TAB>train ste7<TAB>..." = a wrong command, or an error in the middle of the
 * journal): the fragment is dropped and the new record is a line of its own. */
static void test_append_after_torn_line(void **state)
{
    const char *dir = *state;
    assert_int_equal(journal_append(dir, 0, "train steps=3", "ok"), TP_OK);
    append_raw(dir, "3\t2024-01-01T00:00:00Z\ttrain ste");
    assert_int_equal(journal_append(dir, 7, "eval", "fine"), TP_OK);
    JournalEntry *e = NULL;
    int n = 0, torn = 1;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(torn, 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].command, "train steps=3");
    assert_int_equal(e[1].step, 7);
    assert_string_equal(e[1].command, "eval");
    assert_string_equal(e[1].result, "fine");
    free(e);
    /* also when the whole journal is one fragment */
    write_raw(dir, "12\t2024");
    assert_int_equal(journal_append(dir, 1, "undo", "ok"), TP_OK);
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(torn, 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].step, 1);
    assert_string_equal(e[0].command, "undo");
    free(e);
}

static void expect_malformed(const char *dir, const char *text, int lineno)
{
    write_raw(dir, text);
    JournalEntry *e = (JournalEntry *)1;
    int n = -1, torn = 0;
    err_clear();
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "journal.txt:%d: ", lineno);
    if (!strstr(err_msg(), want)) fail_msg("'%s' does not name line %d", err_msg(), lineno);
    assert_non_null(strstr(err_msg(), "expected step<TAB>time<TAB>command"));
    assert_null(e);
    assert_int_equal(n, 0);
}

static void test_malformed_line_refused(void **state)
{
    const char *dir = *state;
    const char *good = "0\t2024-01-01T00:00:00Z\ttrain steps=1\tok\n";
    char text[512];
    /* not a number as step */
    snprintf(text, sizeof text, "%s%sx1\t2024-01-01T00:00:00Z\teval\tok\n", good, good);
    expect_malformed(dir, text, 3);
    /* a step with trailing garbage */
    snprintf(text, sizeof text, "%s5z\tT\teval\tok\n", good);
    expect_malformed(dir, text, 2);
    /* an empty step */
    snprintf(text, sizeof text, "%s\t2024-01-01T00:00:00Z\teval\tok\n", good);
    expect_malformed(dir, text, 2);
    /* no tabs at all */
    snprintf(text, sizeof text, "just some words\n%s", good);
    expect_malformed(dir, text, 1);
    /* step and time but no command */
    snprintf(text, sizeof text, "%s4\t2024-01-01T00:00:00Z\n", good);
    expect_malformed(dir, text, 2);
    /* blank lines count for the line number but are skipped */
    snprintf(text, sizeof text, "%s\n\nbad\n", good);
    expect_malformed(dir, text, 4);
}

static void test_blank_lines_and_missing_result(void **state)
{
    const char *dir = *state;
    write_raw(dir, "\n0\tT\ttrain steps=1\tok\n\n2\tT\teval\n");
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(torn, 0);
    assert_string_equal(e[1].command, "eval");
    assert_string_equal(e[1].result, "");
    free(e);
}

static void test_many_entries(void **state)
{
    const char *dir = *state;
    for (int i = 0; i < 200; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "train steps=%d", i + 1);
        assert_int_equal(journal_append(dir, i, cmd, "ok"), TP_OK);
    }
    JournalEntry *e = NULL;
    int n = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 200);
    for (int i = 0; i < n; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "train steps=%d", i + 1);
        assert_int_equal(e[i].step, i);
        assert_string_equal(e[i].command, cmd);
    }
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tabs_and_newlines_neutralised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_command_refused_long_result_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_read_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cr_nul_and_long_command_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_upto_and_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_line_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_after_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_line_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines_and_missing_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_entries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
