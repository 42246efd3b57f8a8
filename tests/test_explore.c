/* tests/test_explore: sessions/explore and the `dse` verb on a small session (one LSTM layer of 40,
 * pruned 90 % row-balanced): the model is read as it is (sizes, row-balanced masks), the verb is
 * read-only (nothing journaled, the model unchanged), the TSV has a row per design with the Pareto
 * and chosen columns, the JSON line, a long table cut with a note, and bad lists and keys refused
 * with the option named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "word_fixture.h"
#include "sessions/command.h"
#include "sessions/explore.h"
#include "sessions/session.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("explore");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static long file_size(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static void run_ok(Session *s, const char *line, CommandResult *r)
{
    if (command_execute(s, line, r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

static void test_dse_verb(void **state)
{
    (void)state;
    Session s;
    char dir[1024];
    wf_new_session(&s, dir, sizeof dir, 40);
    CommandResult r;
    run_ok(&s, "prune sparsity=0.9 pattern=row params=l0.*", &r);
    long journal = file_size(dir, "journal.txt");
    size_t nnz = model_nnz(&s.model);
    run_ok(&s, "dse rows=16,32 cols=16,32 sram_kib=4,64 dram_gbps=25.6", &r);
    assert_false(r.changed);
    assert_string_equal(r.verb, "dse");
    assert_non_null(strstr(r.text, "layer 0: LSTM I=8 H=40: density"));
    if (!strstr(r.text, "row-balanced: 5 of 48 per row")) fail_msg("%s", r.text); /* 1 of 8 + 4 of 40 */
    assert_non_null(strstr(r.text, "of 8 designs"));
    assert_non_null(strstr(r.text, "chosen: "));
    assert_int_equal(file_size(dir, "journal.txt"), journal); /* read-only: nothing journaled */
    assert_int_equal(model_nnz(&s.model), nnz);
    assert_false(command_is_journaled("dse"));

    char out[1200];
    snprintf(out, sizeof out, "%s/../dse.tsv", dir);
    char line[1400];
    snprintf(line, sizeof line, "dse rows=16,32 cols=16 sram_kib=64 dram_gbps=25.6 budget_us=1e9 out=%s", out);
    run_ok(&s, line, &r);
    void *buf;
    size_t n;
    assert_int_equal(fsutil_read_file(out, 1 << 20, &buf, &n), TP_OK);
    const char *t = buf;
    assert_true(!strncmp(t, "rows\tcols\tsram_kib\tdram_gbps\tclock_mhz\tarea_mm2\tlatency_us\t", 58));
    int lines = 0, chosen = 0;
    for (const char *p = t; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 3);
    /* budget 1e9 us: the smallest area, the 16x16 design (the first row), is chosen and on the front */
    const char *row1 = strchr(t, '\n') + 1;
    assert_true(!strncmp(row1, "16\t16\t64\t25.6\t700\t", 18));
    chosen = row1[strcspn(row1, "\n") - 1] == '1';
    assert_true(chosen);
    free(buf);

    /* refusals name the option and change nothing */
    assert_int_equal(command_execute(&s, "dse rows=16,0", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "dse: rows: 0 is out of range"));
    assert_int_equal(command_execute(&s, "dse sram_kib=64,,128", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "sram_kib: empty item"));
    assert_int_equal(command_execute(&s, "dse plot=figure.pdf", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "expected FILE.png or FILE.svg"));
    assert_int_equal(command_execute(&s, "dse colls=16", &r), TP_EINVAL);
    assert_int_equal(file_size(dir, "journal.txt"), journal);

    /* every design of the default sweep does not fit the 8 KiB result: cut at a line, with a note */
    run_ok(&s, "dse all=1", &r);
    assert_non_null(strstr(r.text, "more line(s): out=FILE.tsv keeps every design"));
    assert_true(strlen(r.text) < sizeof r.text - 1);
    session_free(&s);
}

static void test_explore_json_and_request(void **state)
{
    (void)state;
    Session s;
    char dir[1024];
    wf_new_session(&s, dir, sizeof dir, 24);
    ExploreRequest q;
    explore_request_defaults(&q);
    int known;
    assert_int_equal(explore_request_set(&q, "rows", "32,64", &known), TP_OK);
    assert_int_equal(known, 1);
    assert_int_equal(explore_request_set(&q, "sram-kib", "8:24:8", &known), TP_OK);
    assert_int_equal(explore_request_set(&q, "batch", "2.5", &known), TP_EINVAL);
    assert_int_equal(explore_request_set(&q, "batch", "4", &known), TP_OK);
    assert_int_equal(explore_request_set(&q, "area_pe", "-1", &known), TP_EINVAL);
    assert_int_equal(explore_request_set(&q, "nonsense", "1", &known), TP_OK);
    assert_int_equal(known, 0);
    q.json = 1;
    char *text, summary[160];
    assert_int_equal(explore_session(&s, &q, &text, summary, sizeof summary), TP_OK);
    /* 2 rows x 5 cols x 3 sram x 3 dram x 1 clock */
    assert_non_null(strstr(text, "{\"format\":\"topiary-dse\""));
    assert_non_null(strstr(text, "\"batch\":4"));
    assert_non_null(strstr(text, "\"pattern\":\"dense\""));
    int designs = 0;
    for (const char *p = text; (p = strstr(p, "\"rows\":")); p++) designs++;
    assert_int_equal(designs, 2 * 5 * 3 * 3);
    assert_non_null(strstr(summary, "90 designs"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_null(strchr(text, '\n') + 1 == text + strlen(text) ? NULL : "more than one line");
    free(text);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dse_verb),
        cmocka_unit_test(test_explore_json_and_request),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
