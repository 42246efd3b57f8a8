/* tests/test_session_new: sessions/session_new, a new session = its files + the initial snapshot.
 *
 * session_new must leave a session that opens and an "initial" snapshot that replay starts from
 * (equal to the state at creation); session_create_files alone takes no snapshot; a directory that
 * already holds a session is refused; session_create is the same function as session_new.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "session_fixture.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"

static int has_initial(const char *dir)
{
    SnapshotInfo info[16];
    int n = 0;
    assert_int_equal(snapshot_list(dir, info, 16, &n), TP_OK);
    for (int i = 0; i < n; i++)
        if (!strcmp(info[i].name, "initial")) return 1;
    return 0;
}

static void test_new_takes_initial_snapshot(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/new", sf_root);
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_equal(session_new(&s, dir, &t), TP_OK);
    assert_true(has_initial(dir));
    /* the initial snapshot is the state at creation */
    sf_train_n(&s, 3, NULL);
    assert_int_equal(snapshot_restore(&s, "initial"), TP_OK);
    assert_int_equal(s.trainer.step, 0);
    session_free(&s);
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    session_free(&s);
    /* a second creation in the same directory is refused */
    assert_int_not_equal(session_new(&s, dir, &t), TP_OK);
    assert_non_null(strstr(err_msg(), "already exists"));
}

static void test_create_files_takes_no_snapshot(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/files-only", sf_root);
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_equal(session_create_files(&s, dir, &t), TP_OK);
    session_free(&s);
    assert_true(session_exists(dir));
    char p[4096];
    sf_path_in(p, sizeof p, dir, "snapshots/initial");
    assert_false(fsutil_exists(p));
}

static void test_create_is_session_new(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/create", sf_root);
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_equal(session_create(&s, dir, &t), TP_OK);
    session_free(&s);
    assert_true(has_initial(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_takes_initial_snapshot),
        cmocka_unit_test(test_create_files_takes_no_snapshot),
        cmocka_unit_test(test_create_is_session_new),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
