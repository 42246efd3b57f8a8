/* tests/test_target: sessions/target — latency targets.
 *
 * accel: parameters from KEY=VALUE pairs (an unknown key is refused), a deterministic measurement
 * equal to engine/accel's, a curve that records the target in its fingerprint.  cmd:NAME with fake
 * command scripts written here: a good one (placeholders replaced, median of the repeats), one that
 * fails (exit status and stderr in the message), one that hangs past a short timeout (killed, with
 * the children of its shell), one that prints garbage, a `requires` that fails (TP_ENOTAVAIL), a
 * missing target (where it looked), malformed files (file and line).  In a session a failed
 * measurement changes nothing: latency.tsv and the journal stay as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/journal.h"
#include "sessions/target.h"
#include "word_fixture.h"

static char tdir[2048];

static void write_target(const char *name, const char *text)
{
    char p[2200];
    snprintf(p, sizeof p, "%s/%s.target", tdir, name);
    assert_int_equal(th_write_file(p, text, strlen(text)), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (wf_setup("target")) return -1;
    snprintf(tdir, sizeof tdir, "%s/targets", wf_root);
    if (fsutil_mkdir_p(tdir) != TP_OK) return -1;
    setenv("TOPIARY_TARGETS", tdir, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unsetenv("TOPIARY_TARGETS");
    wf_teardown();
    return 0;
}

static void test_accel_target(void **state)
{
    (void)state;
    Target *t;
    assert_int_equal(target_open("accel:rows=16,cols=16", NULL, &t), TP_OK);
    assert_string_equal(target_name(t), "accel:rows=16,cols=16");
    assert_int_equal(target_kind(t), TARGET_ACCEL);
    assert_int_equal(target_accel(t)->rows, 16);
    assert_int_equal(target_accel(t)->cols, 16);
    TargetQuery q = target_query_default(40);
    double med, p10, p90;
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_OK);
    AccelLayer l = {ACCEL_LSTM, 40, 40, 40, 1, 1, 0.0, 0};
    AccelBreakdown b;
    assert_int_equal(accel_layer(&b, target_accel(t), &l), TP_OK);
    assert_true(med == b.us && p10 == med && p90 == med);
    /* a larger array is never slower for the same layer */
    Target *big;
    assert_int_equal(target_open("accel", NULL, &big), TP_OK);
    double med2;
    assert_int_equal(target_measure(big, &q, &med2, &p10, &p90), TP_OK);
    assert_true(med2 > 0);
    int sizes[] = {3, 4, 5, 8};
    LatencyCurve c;
    assert_int_equal(target_curve(t, &q, sizes, 4, NULL, &c), TP_OK);
    assert_int_equal(c.n, 4);
    char name[96];
    target_of_curve(&c, name, sizeof name);
    assert_string_equal(name, "accel:rows=16,cols=16");
    /* 4H gates on 16 columns: H = 3 and 4 fill one tile, H = 5 needs two (a step) */
    assert_true(c.median_us[1] == c.median_us[0]);
    assert_true(c.median_us[2] > c.median_us[1]);
    latency_curve_free(&c);
    /* sparse patterns: the model has row-balanced only */
    q.density = 0.5;
    snprintf(q.pattern, sizeof q.pattern, "csr");
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_ENOTAVAIL);
    snprintf(q.pattern, sizeof q.pattern, "row");
    assert_int_equal(target_measure(t, &q, &med2, &p10, &p90), TP_OK);
    assert_true(med2 <= b.us);
    target_close(t);
    target_close(big);
    assert_int_equal(target_open("accel:rowz=3", NULL, &t), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "rowz"));
    assert_int_equal(target_open("tpu", NULL, &t), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "cmd:NAME"));
    assert_null(t);
}

/* The cpu target measures an H-LSTM layer as one (its gate networks, in the query's sparse layout):
 * what hwgp needs on an H-LSTM session.  The curve records the target and the cell. */
static void test_cpu_target_hlstm(void **state)
{
    (void)state;
    Target *t;
    assert_int_equal(target_open("cpu", NULL, &t), TP_OK);
    TargetQuery q = target_query_default(24);
    snprintf(q.cell, sizeof q.cell, "hlstm");
    q.gate_hidden = 16;
    q.threads = 1;
    q.density = 0.25;
    snprintf(q.pattern, sizeof q.pattern, "sell");
    TargetSweep w;
    target_sweep_defaults(&w);
    w.rounds = 3;
    w.budget_s = 5;
    int sizes[] = {16, 24};
    LatencyCurve c;
    assert_int_equal(target_curve(t, &q, sizes, 2, &w, &c), TP_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.pattern, "sell");
    assert_true(c.median_us[0] > 0 && c.median_us[1] > 0);
    assert_true(!strncmp(c.fingerprint, "target=cpu; ", 12));
    assert_non_null(strstr(c.fingerprint, "cell=hlstm M=16; "));
    latency_curve_free(&c);
    target_close(t);
}

static void test_cmd_good(void **state)
{
    (void)state;
    write_target("good", "# a fake runtime: the time is hidden/8 + batch\n"
                         "description = fake\n"
                         "command = echo warming up; echo $(( {hidden} / 8 + {batch} ))\n"
                         "repeat = 3   # runs, median taken\n");
    write_target("echo", "command = echo {hidden} {input} {batch} {seq} {density} {pattern} {threads}\n");
    Target *t;
    assert_int_equal(target_open("cmd:good", NULL, &t), TP_OK);
    char d[512];
    target_describe(t, d, sizeof d);
    assert_non_null(strstr(d, "fake"));
    TargetQuery q = target_query_default(80);
    q.batch = 2;
    double med, p10, p90;
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_OK);
    assert_true(med == 12.0 && p10 == 12.0 && p90 == 12.0);
    int sizes[] = {16, 64};
    LatencyCurve c;
    assert_int_equal(target_curve(t, &q, sizes, 2, NULL, &c), TP_OK);
    assert_true(c.median_us[0] == 4.0 && c.median_us[1] == 10.0);
    assert_string_equal(c.backend, "cmd");
    char name[96];
    target_of_curve(&c, name, sizeof name);
    assert_string_equal(name, "cmd:good");
    latency_curve_free(&c);
    target_close(t);
    /* every placeholder */
    TargetCmd tc;
    assert_int_equal(target_cmd_load(&tc, "echo", NULL), TP_OK);
    TargetQuery e = target_query_default(32);
    e.input = 16, e.seq = 5, e.density = 0.25, e.threads = 2;
    snprintf(e.pattern, sizeof e.pattern, "sell");
    char line[256];
    assert_int_equal(target_cmd_expand(&tc, &e, line, sizeof line), TP_OK);
    assert_string_equal(line, "echo 32 16 1 5 0.25 sell 2");
    snprintf(e.pattern, sizeof e.pattern, "x;rm");
    assert_int_equal(target_cmd_expand(&tc, &e, line, sizeof line), TP_EINVAL);
    /* {dir}: the target file's directory, single-quoted for the shell (a quote in it escaped) */
    snprintf(e.pattern, sizeof e.pattern, "dense");
    assert_int_equal(target_cmd_parse(&tc, "d", "/opt/it's here/d.target", "command = sh {dir}/run.sh {hidden}\n"), TP_OK);
    assert_int_equal(target_cmd_expand(&tc, &e, line, sizeof line), TP_OK);
    assert_string_equal(line, "sh '/opt/it'\\''s here'/run.sh 32");
    assert_int_equal(target_cmd_parse(&tc, "d", "d.target", "command = sh {dir}/run.sh\n"), TP_OK);
    assert_int_equal(target_cmd_expand(&tc, &e, line, sizeof line), TP_OK);
    assert_string_equal(line, "sh '.'/run.sh");
    assert_int_equal(target_cmd_parse(&tc, "d", "d.target", "command = sh {dirs}/run.sh\n"), TP_EFORMAT);
}

static void test_cmd_failures(void **state)
{
    (void)state;
    write_target("bad", "command = echo partial; echo 'no model here' >&2; exit 3\n");
    write_target("hang", "command = sleep 30 & sleep 30; echo 5\ntimeout_s = 0.5\nrepeat = 1\n");
    write_target("garbage", "command = echo 12 apples\n");
    write_target("req", "command = echo 5\nrequires = echo 'no torch' >&2; exit 1\n");
    Target *t;
    TargetQuery q = target_query_default(40);
    double med = -1, p10, p90;
    assert_int_equal(target_open("cmd:bad", NULL, &t), TP_OK);
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_EIO);
    assert_non_null(strstr(err_msg(), "cmd:bad"));
    assert_non_null(strstr(err_msg(), "exit status 3"));
    assert_non_null(strstr(err_msg(), "no model here"));
    assert_non_null(strstr(err_msg(), "echo partial"));
    assert_true(med == -1);
    target_close(t);
    assert_int_equal(target_open("cmd:hang", NULL, &t), TP_OK);
    double t0 = clock_now();
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_EIO);
    assert_true(clock_now() - t0 < 10);
    assert_non_null(strstr(err_msg(), "did not finish within 0.5 s"));
    target_close(t);
    /* one that closes its outputs and goes on running is killed at its timeout too */
    write_target("quiet", "command = exec >&- 2>&-; sleep 30\ntimeout_s = 0.5\nrepeat = 1\n");
    assert_int_equal(target_open("cmd:quiet", NULL, &t), TP_OK);
    t0 = clock_now();
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_EIO);
    assert_true(clock_now() - t0 < 10);
    assert_non_null(strstr(err_msg(), "did not finish within 0.5 s"));
    target_close(t);
    assert_int_equal(target_open("cmd:garbage", NULL, &t), TP_OK);
    assert_int_equal(target_measure(t, &q, &med, &p10, &p90), TP_EIO);
    assert_non_null(strstr(err_msg(), "'12 apples'"));
    target_close(t);
    assert_int_equal(target_open("cmd:req", NULL, &t), TP_ENOTAVAIL);
    assert_non_null(strstr(err_msg(), "no torch"));
    assert_int_equal(target_open("cmd:absent", NULL, &t), TP_ENOENT);
    assert_non_null(strstr(err_msg(), tdir));
    assert_int_equal(target_open("cmd:../x", NULL, &t), TP_EINVAL);
    /* malformed files name the file and line */
    write_target("typo", "description = x\ncomand = echo 1\n");
    assert_int_equal(target_open("cmd:typo", NULL, &t), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "typo.target:2"));
    write_target("ph", "command = echo {hiden}\n");
    assert_int_equal(target_open("cmd:ph", NULL, &t), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "placeholder"));
    write_target("nocmd", "description = nothing to run\n");
    assert_int_equal(target_open("cmd:nocmd", NULL, &t), TP_EFORMAT);
    write_target("rep", "command = echo 1\nrepeat = 0\n");
    assert_int_equal(target_open("cmd:rep", NULL, &t), TP_EFORMAT);
}

/* A failed measurement in a session changes nothing: no latency.tsv row, no journal line, same model. */
static void test_session_loses_nothing(void **state)
{
    (void)state;
    Session s;
    char dir[2048], lat[2200];
    wf_new_session(&s, dir, sizeof dir, 16);
    CommandResult r;
    assert_int_equal(command_execute(&s, "profile target=cmd:good sizes=8,16", &r), TP_OK);
    snprintf(lat, sizeof lat, "%s/latency.tsv", dir);
    void *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    assert_int_equal(fsutil_read_file(lat, 1 << 20, &before, &nb), TP_OK);
    assert_non_null(strstr(before, "target=cmd:good"));
    JournalEntry *je;
    int n0, n1, torn;
    assert_int_equal(journal_read(dir, &je, &n0, &torn), TP_OK);
    free(je);
    float w0 = s.model.w[0];
    static const char *const bad[] = {"profile target=cmd:bad sizes=8,16", "profile target=cmd:hang sizes=8",
                                      "profile target=cmd:garbage sizes=8", "profile target=cmd:req sizes=8",
                                      "schedule hwgp target=cmd:garbage speedup=2 sizes=8,16"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(command_execute(&s, bad[i], &r), TP_OK);
        assert_non_null(strstr(err_msg(), "target cmd:"));
    }
    assert_int_equal(fsutil_read_file(lat, 1 << 20, &after, &na), TP_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb);
    assert_int_equal(journal_read(dir, &je, &n1, &torn), TP_OK);
    free(je);
    assert_int_equal(n1, n0);
    assert_true(s.model.w[0] == w0);
    assert_int_equal(s.gp.sched.cfg.kind, SCHEDULE_OFF);
    free(before);
    free(after);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accel_target),
        cmocka_unit_test(test_cpu_target_hlstm),
        cmocka_unit_test(test_cmd_good),
        cmocka_unit_test(test_cmd_failures),
        cmocka_unit_test(test_session_loses_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
