/* tests/test_runtime: sessions/runtime.
 *
 * Threads are set (and recorded in the session's task) within 1..256 and refused outside; the
 * description and the info report are non-empty one-line/several-line texts; the resume overrides
 * change the session's epochs, threads and metrics interval, and 0 keeps each.  The trainer's backend:
 * an unknown name is refused, cuda without a usable device says why and keeps the CPU trainer, auto
 * says what it chose; a session training through a table of operations (the CPU table stands in for a
 * device) keeps pace with the CPU trainer through train / prune / resize / train verbs, since every
 * train run starts by sending the host's model and ends by copying it back.
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
#include "engine/backend_ops.h"
#include "sessions/command.h"
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

static void test_train_backend_choice(void **state)
{
    (void)state;
    Session s;
    char dir[2048], said[640];
    new_session(&s, dir, sizeof dir);
    assert_int_equal(runtime_train_backend(&s, "gpu", said, sizeof said), TP_EINVAL);
    const BackendOps *cuda;
    TpStatus c = backend_ops_cuda(&cuda);
    if (c != TP_OK) {
        assert_int_equal(runtime_train_backend(&s, "cuda", said, sizeof said), c);
        assert_non_null(strstr(err_msg(), "--backend cuda: CUDA"));
        assert_null(s.trainer.dev);
        assert_int_equal(runtime_train_backend(&s, "auto", said, sizeof said), TP_OK);
        assert_non_null(strstr(said, "backend auto: cpu (CUDA"));
        assert_string_equal(train_backend_name(&s.trainer), "cpu");
    }
    assert_int_equal(runtime_train_backend(&s, "cpu", said, sizeof said), TP_OK);
    assert_null(s.trainer.dev);
    session_free(&s);
}

static void test_verbs_between_runs_on_a_table(void **state)
{
    (void)state;
    Session a, b;
    char da[2048], db[2048];
    new_session(&a, da, sizeof da);
    new_session(&b, db, sizeof db);
    a.model.cfg.dropout = b.model.cfg.dropout = 0.0f; /* the table's dropout stream is its own */
    assert_int_equal(train_use_backend(&b.trainer, backend_ops_cpu()), TP_OK);
    const char *script[] = {"train steps=3", "prune sparsity=0.5", "train steps=3", "resize layer=0 hidden=11",
                            "train steps=2"};
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        CommandResult ra, rb;
        assert_int_equal(command_execute(&a, script[i], &ra), TP_OK);
        assert_int_equal(command_execute(&b, script[i], &rb), TP_OK);
    }
    assert_non_null(b.trainer.dev);
    assert_false(b.trainer.dev_ahead); /* the run copied the model back */
    assert_int_equal(a.model.n_params, b.model.n_params);
    assert_int_equal(b.model.cfg.hidden[0], 11);
    double worst = 0;
    size_t pruned = 0;
    for (size_t i = 0; i < a.model.n_params; i++) {
        double e = fabs(a.model.w[i] - b.model.w[i]);
        worst = e > worst ? e : worst;
        if (!b.model.mask[i]) {
            pruned++;
            assert_true(b.model.w[i] == 0.0f);
        }
    }
    assert_true(pruned > 0);
    assert_true(worst < 1e-4);
    session_free(&a);
    session_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_texts),
        cmocka_unit_test(test_resume_overrides),
        cmocka_unit_test(test_train_backend_choice),
        cmocka_unit_test(test_verbs_between_runs_on_a_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
