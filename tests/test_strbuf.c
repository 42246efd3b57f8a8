/* tests/test_strbuf: the growing string of base/strbuf: appends of any length, embedded NULs, JSON
 * string escapes, and the out-of-memory flag that makes later appends do nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/strbuf.h"

static void test_appends(void **state)
{
    (void)state;
    StrBuf s = {0};
    strbuf_puts(&s, "{");
    strbuf_printf(&s, "\"n\":%d,\"x\":%.3g", 42, 0.5);
    strbuf_add(&s, "}", 1);
    assert_false(s.oom);
    assert_string_equal(s.p, "{\"n\":42,\"x\":0.5}");
    assert_int_equal(s.len, strlen(s.p));
    strbuf_free(&s);
    assert_null(s.p);
    assert_int_equal(s.len, 0);
}

static void test_long_printf_and_growth(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    StrBuf s = {0};
    strbuf_printf(&s, "<%s>", big); /* longer than any first allocation */
    for (int i = 0; i < 1000; i++) strbuf_puts(&s, "xy");
    assert_false(s.oom);
    assert_int_equal(s.len, 1 + 4999 + 1 + 2000);
    assert_int_equal(s.p[0], '<');
    assert_int_equal(s.p[5000], '>');
    assert_int_equal(s.p[s.len], '\0');
    assert_true(s.cap > s.len);
    strbuf_free(&s);
}

static void test_embedded_nul(void **state)
{
    (void)state;
    StrBuf s = {0};
    strbuf_add(&s, "\0\0\0\0", 4);
    strbuf_puts(&s, "ab");
    assert_int_equal(s.len, 6);
    assert_memory_equal(s.p, "\0\0\0\0ab", 7);
    strbuf_free(&s);
}

static void test_json_string(void **state)
{
    (void)state;
    StrBuf s = {0};
    strbuf_json_string(&s, "a\"b\\c\n\x01 \xc3\xa9");
    assert_string_equal(s.p, "\"a\\\"b\\\\c\\u000a\\u0001 \xc3\xa9\"");
    strbuf_free(&s);
}

static void test_oom_sticks(void **state)
{
    (void)state;
    StrBuf s = {0};
    strbuf_puts(&s, "kept");
    s.oom = 1; /* as after a failed allocation */
    strbuf_puts(&s, "lost");
    strbuf_printf(&s, "%d", 7);
    strbuf_add(&s, "x", 1);
    assert_int_equal(s.len, 4);
    assert_string_equal(s.p, "kept");
    strbuf_free(&s);
    assert_false(s.oom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends),        cmocka_unit_test(test_long_printf_and_growth),
        cmocka_unit_test(test_embedded_nul),   cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_oom_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
