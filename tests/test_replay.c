/* tests/test_replay: sessions/replay.
 *
 * A tiny session (word level, 1 x LSTM(16), Adam, dropout) runs a history with every kind of step
 * (train, snapshot, set, prune, undo, grow, restore, bare train); replay_run into a new directory
 * and into a temporary one reproduces it bit for bit (replay_same_state), reports each entry
 * through the hook, refuses an --out that holds a session, and reports a mismatch when a journal
 * line is missing.  replay_same_state names the first difference.  replay_remove_tree removes a
 * tree and never follows a symbolic link out of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/replay.h"
#include "sessions/session.h"
#include "sessions/session_new.h"

static char *g_root;
static char g_data[1024];
static int g_seq;

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("replay");
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

static void run_ok(Session *s, const char *line)
{
    CommandResult r;
    if (command_execute(s, line, &r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

typedef struct {
    int starts, entries;
} Seen;

static void on_entry(void *ctx, const ReplayResult *res, const JournalEntry *e, TpStatus st, const char *text)
{
    Seen *seen = ctx;
    assert_non_null(res);
    if (!e) {
        seen->starts++;
        return;
    }
    assert_int_equal(st, TP_OK);
    assert_non_null(text);
    seen->entries++;
}

/* The history of tests/e2e/crash_kill9's replay check, through the command language. */
static void make_history(Session *s)
{
    static const char *const lines[] = {"train steps=4", "snapshot name=a", "set lr=0.02", "train steps=3",
                                        "prune ratio=0.3", "train steps=2", "undo", "grow ratio=0.1 batches=2",
                                        "restore name=a", "train limit=3"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) run_ok(s, lines[i]);
    assert_int_equal(session_save(s), TP_OK);
}

static void test_replay_reproduces_the_session(void **state)
{
    (void)state;
    Session s;
    char dir[2048], out[2100];
    new_session(&s, dir, sizeof dir);
    make_history(&s);
    snprintf(out, sizeof out, "%s-replayed", dir);
    Seen seen = {0, 0};
    ReplayResult res;
    assert_int_equal(replay_run(dir, out, 1, on_entry, &seen, &res), TP_OK);
    assert_int_equal(seen.starts, 1);
    assert_int_equal(seen.entries, res.n_commands);
    assert_true(res.n_commands >= 9);
    assert_int_equal(res.done, res.n_commands);
    assert_true(res.verified);
    assert_int_equal(res.step, s.trainer.step);
    assert_true(session_exists(out));
    /* the replayed session opens and equals the original */
    Session r;
    assert_int_equal(session_open(&r, out, NULL), TP_OK);
    char why[256];
    assert_true(replay_same_state(&s, &r, why, sizeof why));
    session_free(&r);
    /* --out must not hold a session already */
    assert_int_equal(replay_run(dir, out, 0, NULL, NULL, &res), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "already holds a session"));
    /* without out: a temporary directory, gone afterwards */
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_true(res.verified);
    session_free(&s);
}

static void test_replay_reports_a_mismatch(void **state)
{
    (void)state;
    Session s;
    char dir[2048], path[2200];
    new_session(&s, dir, sizeof dir);
    run_ok(&s, "train steps=3");
    run_ok(&s, "train steps=2");
    assert_int_equal(session_save(&s), TP_OK);
    /* drop the journal's last line */
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    void *buf;
    size_t n;
    assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, &n), TP_OK);
    char *text = buf;
    assert_true(n > 1);
    text[n - 1] = '\0';
    char *last = strrchr(text, '\n');
    assert_non_null(last);
    assert_int_equal(fsutil_write_atomic(path, text, (size_t)(last - text) + 1), TP_OK);
    free(buf);
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_int_equal(res.n_commands, 1);
    assert_false(res.verified);
    assert_non_null(strstr(res.mismatch, "differ"));
    session_free(&s);
}

static void test_same_state_names_the_difference(void **state)
{
    (void)state;
    Session a, b;
    char da[2048], db[2048];
    new_session(&a, da, sizeof da);
    new_session(&b, db, sizeof db);
    char why[256] = "";
    assert_true(replay_same_state(&a, &b, why, sizeof why)); /* same task and seed */
    float w0 = b.model.w[b.model.p[1].off];
    b.model.w[b.model.p[1].off] = w0 + 1.0f;
    assert_false(replay_same_state(&a, &b, why, sizeof why));
    assert_non_null(strstr(why, "weights of"));
    b.model.w[b.model.p[1].off] = w0;
    b.model.mask[b.model.p[1].off] ^= 1;
    assert_false(replay_same_state(&a, &b, why, sizeof why));
    assert_non_null(strstr(why, "mask of"));
    b.model.mask[b.model.p[1].off] ^= 1;
    b.trainer.step++;
    assert_false(replay_same_state(&a, &b, why, sizeof why));
    assert_non_null(strstr(why, "trainer position"));
    session_free(&a);
    session_free(&b);
}

static void test_remove_tree_never_follows_links(void **state)
{
    (void)state;
    char tree[2048], outside[2048], p[2200];
    snprintf(tree, sizeof tree, "%s/tree", g_root);
    snprintf(outside, sizeof outside, "%s/outside", g_root);
    snprintf(p, sizeof p, "%s/a/b", tree);
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    assert_int_equal(fsutil_mkdir_p(outside), TP_OK);
    snprintf(p, sizeof p, "%s/keep.txt", outside);
    assert_int_equal(th_write_file(p, "keep", 4), 0);
    snprintf(p, sizeof p, "%s/a/b/f.txt", tree);
    assert_int_equal(th_write_file(p, "x", 1), 0);
    snprintf(p, sizeof p, "%s/a/link", tree);
    assert_int_equal(symlink(outside, p), 0);
    assert_int_equal(replay_remove_tree(tree), TP_OK);
    struct stat st;
    assert_int_not_equal(lstat(tree, &st), 0);
    snprintf(p, sizeof p, "%s/keep.txt", outside);
    assert_int_equal(stat(p, &st), 0); /* the link's target and its file stay */
    assert_int_equal(replay_remove_tree(tree), TP_OK); /* missing: not an error */
    /* a link given as the path itself is removed, not its target */
    snprintf(p, sizeof p, "%s/link2", g_root);
    assert_int_equal(symlink(outside, p), 0);
    assert_int_equal(replay_remove_tree(p), TP_OK);
    assert_int_not_equal(lstat(p, &st), 0);
    assert_int_equal(stat(outside, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_reproduces_the_session),
        cmocka_unit_test(test_replay_reports_a_mismatch),
        cmocka_unit_test(test_same_state_names_the_difference),
        cmocka_unit_test(test_remove_tree_never_follows_links),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
