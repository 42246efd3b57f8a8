/* tests/test_tsv: the TSV reader behind `topiary plot` and the TUI charts: header -> columns, NaN and
 * empty fields, text columns, torn last line ignored, malformed lines refused with their line number. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plots/tsv.h"
#include "tests/helpers.h"

static TpStatus parse(Tsv *t, const char *s, const char *const *numeric)
{
    return tsv_parse(t, s, strlen(s), "metrics.tsv", numeric);
}

static void test_columns(void **state)
{
    (void)state;
    Tsv t;
    assert_int_equal(parse(&t, "step\tlr\tvalid_ppl\n100\t1\tNaN\n200\t0.5\t12.5\r\n\n300\t0.25\t\n", NULL), TP_OK);
    assert_int_equal(t.n_cols, 3);
    assert_int_equal(t.n_rows, 3);
    assert_int_equal(t.torn, 0);
    assert_int_equal(tsv_find(&t, "lr"), 1);
    assert_int_equal(tsv_find(&t, "nope"), -1);
    assert_null(tsv_col(&t, "nope"));
    const double *step = tsv_col(&t, "step"), *lr = tsv_col(&t, "lr"), *vp = tsv_col(&t, "valid_ppl");
    assert_true(step[0] == 100 && step[2] == 300 && lr[1] == 0.5 && lr[2] == 0.25);
    assert_true(isnan(vp[0]) && vp[1] == 12.5 && isnan(vp[2])); /* "NaN" and an empty field */
    assert_null(tsv_text(&t, "step"));
    tsv_free(&t);
    /* a header alone is a valid empty table */
    assert_int_equal(parse(&t, "a\tb\n", NULL), TP_OK);
    assert_int_equal(t.n_rows, 0);
    tsv_free(&t);
}

static void test_text_columns(void **state)
{
    (void)state;
    static const char *const numeric[] = {"hidden", "median_us", NULL};
    Tsv t;
    static const char text[] = "backend\thidden\tmedian_us\trun\ncpu\t64\t12.5\tr1\ncuda\t128\t3\t7\n";
    assert_int_equal(parse(&t, text, numeric), TP_OK);
    char *const *b = tsv_text(&t, "backend"), *const *run = tsv_text(&t, "run");
    assert_string_equal(b[0], "cpu");
    assert_string_equal(b[1], "cuda");
    assert_true(isnan(tsv_col(&t, "backend")[0]));
    assert_true(tsv_col(&t, "run")[1] == 7); /* text columns still get their numbers */
    assert_string_equal(run[1], "7");
    assert_null(tsv_text(&t, "hidden"));
    tsv_free(&t);
    /* but a listed column must hold numbers */
    assert_int_equal(parse(&t, "backend\thidden\tmedian_us\ncpu\tbig\t1\n", numeric), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "line 2"));
    assert_non_null(strstr(err_msg(), "'hidden'"));
}

static void test_torn_last_line(void **state)
{
    (void)state;
    Tsv t;
    assert_int_equal(parse(&t, "step\tloss\n1\t2.5\n2\t2.", NULL), TP_OK);
    assert_int_equal(t.n_rows, 1);
    assert_int_equal(t.torn, 1);
    tsv_free(&t);
    /* a torn line even with a wrong field count is only ignored */
    assert_int_equal(parse(&t, "step\tloss\n1\t2.5\n2", NULL), TP_OK);
    assert_int_equal(t.n_rows, 1);
    assert_int_equal(t.torn, 1);
    tsv_free(&t);
}

static void test_malformed(void **state)
{
    (void)state;
    Tsv t;
    assert_int_equal(parse(&t, "step\tloss\n1\t2\n2\n3\t4\n", NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "metrics.tsv: line 3: 1 field(s), expected 2"));
    assert_null(t.names);
    assert_int_equal(parse(&t, "step\tloss\n1\t2\t3\n", NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "line 2: more than 2 fields"));
    assert_int_equal(parse(&t, "step\tloss\n1\t2\nx\t4\n", NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "line 3: column 'step': expected a number, got 'x'"));
    assert_int_equal(parse(&t, "step\tloss\n1\t2 \n", NULL), TP_EFORMAT); /* trailing junk */
    assert_int_equal(parse(&t, "step\tstep\n", NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "appears twice"));
    assert_int_equal(parse(&t, "step\t\tloss\n", NULL), TP_EFORMAT);
    assert_int_equal(parse(&t, "", NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "empty file"));
    assert_int_equal(parse(&t, "\nstep\n", NULL), TP_EFORMAT);
}

static void test_read_file(void **state)
{
    (void)state;
    char *dir = th_tempdir("tsv");
    char p[4200];
    snprintf(p, sizeof p, "%s/metrics.tsv", dir);
    Tsv t;
    assert_int_equal(tsv_read(&t, p, NULL), TP_ENOENT);
    /* enough rows to grow the columns several times */
    size_t cap = 1 << 20, u = 0;
    char *buf = malloc(cap);
    u += (size_t)snprintf(buf + u, cap - u, "step\tloss\n");
    for (int i = 0; i < 5000; i++) u += (size_t)snprintf(buf + u, cap - u, "%d\t%g\n", i, 1.0 / (i + 1));
    assert_int_equal(th_write_file(p, buf, u), 0);
    free(buf);
    assert_int_equal(tsv_read(&t, p, NULL), TP_OK);
    assert_int_equal(t.n_rows, 5000);
    assert_true(tsv_col(&t, "step")[4999] == 4999);
    tsv_free(&t);
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns),   cmocka_unit_test(test_text_columns), cmocka_unit_test(test_torn_last_line),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
