/* tests/test_writer: sessions/writer, a session's one writer (issue 11, cases 1, 2, 6 and the
 * snapshot leftovers of case 10), with real processes for the lock.
 *
 * A session created by writer_create holds the lock: another process's writer_open is refused with
 * TP_EBUSY naming the holder, and gets it after writer_close.  Creation needs an empty or absent
 * directory: an unrelated non-empty one, a damaged session (no manifest.json) and a symlink are
 * refused and left as they were; a lone lock file (a creator that died) is fine.  writer_check refuses
 * symlinks where the session keeps files; writer_clean removes the leftovers of killed processes
 * without following symlinks and renames a hidden NAME.old back.  The deletes of sessions/snapshot
 * (the undo ring's rotation, replacing a snapshot) never follow a symlink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/tree.h"
#include "helpers.h"
#include "session_fixture.h"
#include "sessions/snapshot.h"
#include "sessions/writer.h"

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", sf_root, name); }

/* dir/V/precious.txt, the target that planted symlinks point to */
static void make_precious(char *target, size_t n, const char *tag)
{
    char p[4300];
    snprintf(target, n, "%s/precious-%s", sf_root, tag);
    assert_int_equal(fsutil_mkdir_p(target), TP_OK);
    snprintf(p, sizeof p, "%s/precious.txt", target);
    assert_int_equal(th_write_file(p, "x\n", 2), 0);
}

static void assert_precious(const char *target)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/precious.txt", target);
    struct stat st;
    if (stat(p, &st) != 0) fail_msg("%s was deleted through a symlink", p);
}

static int lexists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* In a child: writer_open of dir; exit 0 if refused with TP_EBUSY naming 'expect', 2 if it opened. */
static int child_open(const char *dir, const char *expect)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        SessionWriter w;
        Session s;
        TpStatus st = writer_open(&w, &s, dir, NULL, "topiary child");
        if (st == TP_OK) {
            session_free(&s);
            writer_close(&w);
            _exit(2);
        }
        _exit(st == TP_EBUSY && strstr(err_msg(), expect) && strstr(err_msg(), "in use") ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_one_writer(void **state)
{
    (void)state;
    char dir[4096];
    path_in(dir, sizeof dir, "one-writer");
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    SessionWriter w;
    Session s;
    assert_int_equal(writer_create(&w, &s, dir, &t, "topiary train"), TP_OK);
    assert_string_equal(w.note, "");
    char expect[64];
    snprintf(expect, sizeof expect, "pid %ld, topiary train", (long)getpid());
    assert_int_equal(child_open(dir, expect), 0);
    session_free(&s);
    writer_close(&w);
    writer_close(&w); /* idempotent */
    assert_int_equal(child_open(dir, expect), 2);
    /* the lock file beside the session disturbs neither opening nor a second creation's refusal */
    assert_int_equal(writer_open(&w, &s, dir, NULL, "topiary run"), TP_OK);
    session_free(&s);
    writer_close(&w);
    assert_int_equal(writer_create(&w, &s, dir, &t, "x"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "already exists"));
}

static void test_create_needs_empty_dir(void **state)
{
    (void)state;
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    SessionWriter w;
    Session s;
    char dir[4096], p[4300];
    /* an unrelated directory: refused, nothing added */
    path_in(dir, sizeof dir, "unrelated");
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    assert_int_equal(th_write_file(p, "mine\n", 5), 0);
    assert_int_equal(writer_create(&w, &s, dir, &t, "x"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "not empty and is not a session"));
    assert_non_null(strstr(err_msg(), "notes.txt"));
    snprintf(p, sizeof p, "%s/lock", dir);
    assert_false(lexists(p));
    snprintf(p, sizeof p, "%s/metrics.tsv", dir);
    assert_false(lexists(p));
    /* a damaged session (manifest.json gone): refused, with the way to recover */
    sf_copy_golden(dir, sizeof dir, "damaged");
    sf_path_in(p, sizeof p, dir, "manifest.json");
    assert_int_equal(unlink(p), 0);
    void *before, *after;
    size_t nb, na;
    sf_read_whole(dir, "model.safetensors", &before, &nb);
    assert_int_equal(writer_create(&w, &s, dir, &t, "x"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "damaged session"));
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    sf_read_whole(dir, "model.safetensors", &after, &na);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
    sf_path_in(p, sizeof p, dir, "lock");
    assert_false(lexists(p));
    /* a symlink to an empty directory is not used as one */
    char target[4096], link[4096];
    path_in(target, sizeof target, "empty-target");
    path_in(link, sizeof link, "link-to-empty");
    assert_int_equal(fsutil_mkdir_p(target), TP_OK);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(writer_create(&w, &s, link, &t, "x"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "symlink"));
    int empty = 0;
    assert_int_equal(tree_dir_is_empty(target, &empty), TP_OK);
    assert_true(empty);
    /* a lock file alone (a creator killed before writing anything) is an empty directory */
    path_in(dir, sizeof dir, "lock-only");
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    snprintf(p, sizeof p, "%s/lock", dir);
    assert_int_equal(th_write_file(p, "pid 1, topiary train, since then\n", 33), 0);
    assert_int_equal(writer_create(&w, &s, dir, &t, "x"), TP_OK);
    assert_non_null(strstr(w.note, "took over"));
    session_free(&s);
    writer_close(&w);
    /* a bad task writes nothing */
    path_in(dir, sizeof dir, "bad-data");
    Task bad = t;
    snprintf(bad.data, sizeof bad.data, "%s/no-such-corpus", sf_root);
    assert_int_not_equal(writer_create(&w, &s, dir, &bad, "x"), TP_OK);
    assert_false(lexists(dir));
}

static void test_check_refuses_symlinks(void **state)
{
    (void)state;
    char dir[4096], p[4300], target[4096];
    make_precious(target, sizeof target, "check");
    sf_copy_golden(dir, sizeof dir, "check");
    assert_int_equal(writer_check(dir), TP_OK);
    snprintf(p, sizeof p, "%s/snapshots/a", dir);
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    assert_int_equal(writer_check(dir), TP_OK);
    assert_int_equal(rmdir(p), 0);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(writer_check(dir), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "snapshots/a is a symlink"));
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/journal.txt", dir);
    char t2[4300];
    snprintf(t2, sizeof t2, "%s/precious.txt", target);
    assert_int_equal(symlink(t2, p), 0);
    assert_int_equal(writer_check(dir), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "journal.txt is a symlink"));
    /* a writer refuses such a session, holding nothing afterwards */
    SessionWriter w;
    Session s;
    assert_int_equal(writer_open(&w, &s, dir, NULL, "x"), TP_EINVAL);
    assert_int_equal(w.lock.fd, -1);
    assert_precious(target);
}

static void test_clean_leftovers(void **state)
{
    (void)state;
    char dir[4096], p[4300], q[4300], target[4096];
    make_precious(target, sizeof target, "clean");
    sf_copy_golden(dir, sizeof dir, "clean");
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    assert_int_equal(snapshot_take(&s, "a"), TP_OK);
    assert_int_equal(snapshot_take(&s, "b"), TP_OK);
    session_free(&s);
    /* a: killed between the two renames (a.old, no a); b: a stale b.old beside b */
    snprintf(p, sizeof p, "%s/snapshots/a", dir);
    snprintf(q, sizeof q, "%s/snapshots/a.old", dir);
    assert_int_equal(rename(p, q), 0);
    snprintf(p, sizeof p, "%s/snapshots/b.old", dir);
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    snprintf(p, sizeof p, "%s/snapshots/c.tmp/x", dir); /* a half-written snapshot */
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    snprintf(p, sizeof p, "%s/snapshots/d.tmp", dir);   /* a planted link with a leftover's name */
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/model.safetensors.tmp.Ab12Cd", dir);
    assert_int_equal(th_write_file(p, "partial", 7), 0);
    snprintf(p, sizeof p, "%s/notes.tmp.txt", dir); /* not a temp name of ours */
    assert_int_equal(th_write_file(p, "keep", 4), 0);
    int removed = 0;
    assert_int_equal(writer_clean(dir, &removed), TP_OK);
    assert_int_equal(removed, 5);
    assert_precious(target);
    static const char *const gone[] = {"snapshots/a.old", "snapshots/b.old", "snapshots/c.tmp", "snapshots/d.tmp",
                                       "model.safetensors.tmp.Ab12Cd"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        sf_path_in(p, sizeof p, dir, gone[i]);
        if (lexists(p)) fail_msg("%s survived writer_clean", gone[i]);
    }
    static const char *const kept[] = {"snapshots/a", "snapshots/b", "notes.tmp.txt"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        sf_path_in(p, sizeof p, dir, kept[i]);
        if (!lexists(p)) fail_msg("%s is missing after writer_clean", kept[i]);
    }
    /* the recovered snapshot restores */
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    assert_int_equal(snapshot_restore(&s, "a"), TP_OK);
    session_free(&s);
    assert_int_equal(writer_clean(dir, &removed), TP_OK);
    assert_int_equal(removed, 0);
}

/* sessions/snapshot's deletes: the undo ring's rotation and replacing a snapshot never follow links. */
static void test_snapshot_deletes_never_follow_links(void **state)
{
    (void)state;
    char dir[4096], p[4300], target[4096];
    make_precious(target, sizeof target, "ring");
    sf_copy_golden(dir, sizeof dir, "ring");
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    for (int i = 0; i < SNAPSHOT_UNDO_DEPTH; i++) assert_int_equal(snapshot_take_undo(&s, "test"), TP_OK);
    /* the oldest undo snapshot is a link now: the next one rotates it out */
    snprintf(p, sizeof p, "%s/snapshots/undo-1", dir);
    char real[4300];
    snprintf(real, sizeof real, "%s/undo-1.real", dir);
    assert_int_equal(rename(p, real), 0);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(snapshot_take_undo(&s, "test"), TP_OK);
    assert_precious(target);
    assert_false(lexists(p));
    /* replacing a snapshot whose name is a link */
    snprintf(p, sizeof p, "%s/snapshots/a", dir);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(snapshot_take(&s, "a"), TP_OK);
    assert_precious(target);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* and replacing a real one leaves only the new one, no .old or .tmp */
    sf_train_n(&s, 1, NULL);
    assert_int_equal(snapshot_take(&s, "a"), TP_OK);
    snprintf(p, sizeof p, "%s/snapshots/a.old", dir);
    assert_false(lexists(p));
    snprintf(p, sizeof p, "%s/snapshots/a.tmp", dir);
    assert_false(lexists(p));
    /* the creation snapshot cannot be overwritten (case 7) */
    assert_int_equal(snapshot_take(&s, "initial"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "reserved"));
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_writer),
        cmocka_unit_test(test_create_needs_empty_dir),
        cmocka_unit_test(test_check_refuses_symlinks),
        cmocka_unit_test(test_clean_leftovers),
        cmocka_unit_test(test_snapshot_deletes_never_follow_links),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
