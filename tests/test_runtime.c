/* tests/test_runtime: sessions/runtime.
 *
 * Threads are set (and recorded in the session's task) within 1..256 and refused outside; the
 * description and the info report are non-empty one-line/several-line texts; the resume overrides
 * change the session's epochs, threads and metrics interval, and 0 keeps each.
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

#include "base/fsutil.h"
#include "helpers.h"
#include "word_fixture.h"
#include "sessions/runtime.h"
#include "sessions/session.h"
#include "sessions/session_new.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("runtime");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static void new_session(Session *s, char *dir, size_t n) { wf_new_session(s, dir, n, 16); }

static void test_threads_and_texts(void **state)
{
    (void)state;
    assert_int_equal(runtime_set_threads(NULL, 1), TP_OK);
    assert_int_not_equal(runtime_set_threads(NULL, 0), TP_OK);
    assert_int_not_equal(runtime_set_threads(NULL, 257), TP_OK);
    char d[512], info[2048];
    runtime_describe(d, sizeof d);
    assert_true(strlen(d) > 5);
    assert_null(strchr(d, '\n'));
    runtime_info(info, sizeof info);
    assert_non_null(strstr(info, "CUDA compiled in: "));
    assert_int_equal(strncmp(info, "topiary: ", 9), 0);
    assert_int_equal(runtime_set_threads(NULL, 1), TP_OK);
}

static void test_resume_overrides(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    new_session(&s, dir, sizeof dir);
    int epochs = s.task.train.epochs, every = s.task.log_every;
    assert_int_equal(runtime_resume_overrides(&s, 0, 0, 0), TP_OK);
    assert_int_equal(s.task.train.epochs, epochs);
    assert_int_equal(s.task.log_every, every);
    assert_int_equal(runtime_resume_overrides(&s, 9, 2, 7), TP_OK);
    assert_int_equal(s.task.train.epochs, 9);
    assert_int_equal(s.trainer.cfg.epochs, 9);
    assert_int_equal(s.task.threads, 2);
    assert_int_equal(s.task.log_every, 7);
    assert_int_not_equal(runtime_resume_overrides(&s, 0, 999, 0), TP_OK);
    assert_int_equal(s.task.threads, 2);
    assert_int_equal(runtime_set_threads(&s, 1), TP_OK);
    assert_int_equal(s.task.threads, 1);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_texts),
        cmocka_unit_test(test_resume_overrides),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
