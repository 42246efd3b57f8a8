/* tests/test_lock: one writer per session, with real processes (issue 11, case 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "sessions/lock.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = th_tempdir("lock");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    th_rmtree(dir);
    free(dir);
    return 0;
}

/* In a child process: try to take the lock; exit 0 if refused with TP_EBUSY naming 'expect', 1 otherwise. */
static int child_try(const char *expect)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        SessionLock l;
        TpStatus st = lock_acquire(&l, dir, "topiary test-child", NULL, 0);
        _exit(st == TP_EBUSY && strstr(err_msg(), expect) && strstr(err_msg(), "in use") ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_second_writer_refused(void **state)
{
    (void)state;
    SessionLock l;
    char note[256];
    assert_int_equal(lock_acquire(&l, dir, "topiary train", note, sizeof note), TP_OK);
    assert_string_equal(note, "");
    char expect[64];
    snprintf(expect, sizeof expect, "pid %ld, topiary train", (long)getpid());
    assert_int_equal(child_try(expect), 0);
    char holder[256];
    assert_int_equal(lock_is_held(dir, holder, sizeof holder), 1);
    assert_non_null(strstr(holder, expect));
    lock_release(&l);
    assert_int_equal(lock_is_held(dir, NULL, 0), 0);
    /* released: another process may take it now */
    pid_t pid = fork();
    if (pid == 0) {
        SessionLock c;
        _exit(lock_acquire(&c, dir, "child", NULL, 0) == TP_OK ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A holder killed with SIGKILL: its lock goes with it; the next writer takes over and says so. */
static void test_dead_holder_taken_over(void **state)
{
    (void)state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        SessionLock c;
        if (lock_acquire(&c, dir, "topiary run", NULL, 0) != TP_OK) _exit(1);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);
    assert_int_equal(lock_is_held(dir, NULL, 0), 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    SessionLock l;
    char note[256];
    assert_int_equal(lock_acquire(&l, dir, "topiary train", note, sizeof note), TP_OK);
    assert_non_null(strstr(note, "took over"));
    assert_non_null(strstr(note, "topiary run"));
    lock_release(&l);
    close(ready[0]);
    close(ready[1]);
}

static void test_symlink_lock_refused(void **state)
{
    (void)state;
    char p[4200], t[4200];
    snprintf(t, sizeof t, "%s/elsewhere", dir);
    assert_int_equal(th_write_file(t, "keep\n", 5), 0);
    snprintf(p, sizeof p, "%s/lock", dir);
    assert_int_equal(symlink(t, p), 0);
    SessionLock l;
    assert_int_equal(lock_acquire(&l, dir, "x", NULL, 0), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "symlink"));
    FILE *f = fopen(t, "r");
    char buf[16] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "keep\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_writer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_holder_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_lock_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
