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
#include "sessions/runtime.h"
#include "sessions/session.h"
#include "sessions/session_new.h"

static char *g_root;
static char g_data[1024];
static int g_seq;

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("runtime");
    if (!g_root) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_root);
    if (fsutil_mkdir_p(g_data) != TP_OK) return -1;
    if (th_write_words(g_data, "ptb.train.txt", 120, 1, 18, 6) || th_write_words(g_data, "ptb.valid.txt", 20, 2, 18, 6) ||
        th_write_words(g_data, "ptb.test.txt", 20, 3, 18, 6))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    th_rmtree(g_root);
    free(g_root);
    return 0;
}

static void new_session(Session *s, char *dir, size_t n)
{
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", g_data);
    t.level = CORPUS_WORD;
    t.level_set = 1;
    t.model.n_layers = 1;
    t.model.hidden[0] = 16;
    t.model.n_embed = 8;
    t.model.dropout = 0.2f;
    t.train.bptt = 5;
    t.train.batch = 4;
    t.train.epochs = 2;
    t.train.optim = OPTIM_ADAM;
    t.train.lr = 0.01f;
    t.threads = 1;
    t.seed = 11;
    t.log_every = 1000;
    snprintf(dir, n, "%s/s%d", g_root, g_seq++);
    if (session_create(s, dir, &t) != TP_OK) fail_msg("session_create: %s", err_msg());
}

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
