/* tests/test_lines: whole lines of any length; NUL and CR refused with line and column (issue 11,
 * case 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lines.h"

static FILE *mem(const char *data, size_t n)
{
    FILE *f = fmemopen((void *)data, n, "r");
    assert_non_null(f);
    return f;
}

static void test_plain_lines(void **state)
{
    (void)state;
    static const char text[] = "train steps=2\n\n# comment\nprune ratio=0.5";
    FILE *f = mem(text, sizeof text - 1);
    LineReader r;
    lines_init(&r, f, "s.tp", 1 << 20);
    const char *l;
    size_t n;
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_string_equal(l, "train steps=2");
    assert_int_equal(r.ended_with_newline, 1);
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_string_equal(l, "");
    assert_int_equal(n, 0);
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_string_equal(l, "# comment");
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_string_equal(l, "prune ratio=0.5");
    assert_int_equal(r.ended_with_newline, 0);
    assert_int_equal(r.line, 4);
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_null(l);
    lines_free(&r);
    fclose(f);
}

/* A comment longer than the old 4096-byte buffer stays one line: its tail is not a command. */
static void test_long_line_is_one_line(void **state)
{
    (void)state;
    size_t len = 10000;
    char *text = malloc(len + 32);
    memset(text, 'x', len);
    text[0] = '#';
    memcpy(text + 4090, " prune ratio=0.9", 16);
    strcpy(text + len, "\neval\n");
    FILE *f = mem(text, strlen(text));
    LineReader r;
    lines_init(&r, f, "s.tp", 1 << 20);
    const char *l;
    size_t n;
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_int_equal(n, len);
    assert_int_equal(l[0], '#');
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_string_equal(l, "eval");
    assert_int_equal(r.line, 2);
    lines_free(&r);
    fclose(f);
    free(text);
}

static void test_cr_refused(void **state)
{
    (void)state;
    static const char text[] = "eval\nprune ratio=0.5\r dry=1\n";
    FILE *f = mem(text, sizeof text - 1);
    LineReader r;
    lines_init(&r, f, "s.tp", 1 << 20);
    const char *l;
    size_t n;
    assert_int_equal(lines_next(&r, &l, &n), TP_OK);
    assert_int_equal(lines_next(&r, &l, &n), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "s.tp:2:16:"));
    assert_non_null(strstr(err_msg(), "carriage return"));
    lines_free(&r);
    fclose(f);
}

static void test_nul_refused(void **state)
{
    (void)state;
    static const char text[] = "prune ratio=0.5\0 dry=1\n";
    FILE *f = mem(text, sizeof text - 1);
    LineReader r;
    lines_init(&r, f, "j.txt", 1 << 20);
    const char *l;
    size_t n;
    assert_int_equal(lines_next(&r, &l, &n), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "j.txt:1:16: NUL"));
    lines_free(&r);
    fclose(f);
}

static void test_limit(void **state)
{
    (void)state;
    static const char text[] = "0123456789\n";
    FILE *f = mem(text, sizeof text - 1);
    LineReader r;
    lines_init(&r, f, "big", 5);
    const char *l;
    size_t n;
    assert_int_equal(lines_next(&r, &l, &n), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "longer than 5 bytes"));
    lines_free(&r);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines),
        cmocka_unit_test(test_long_line_is_one_line),
        cmocka_unit_test(test_cr_refused),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
