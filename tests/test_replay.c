/* tests/test_replay: sessions/replay.
 *
 * A tiny session (word level, 1 x LSTM(16), Adam, dropout) runs a history with every kind of step
 * (train, snapshot, set, prune, undo, grow, restore, bare train); replay_run into a new directory
 * and into a temporary one reproduces it bit for bit (replay_same_state), reports each entry
 * through the hook, refuses an --out that holds a session, and reports a mismatch when a journal
 * line is missing.  replay_same_state names the first difference.  An --out that is not
 * empty is refused and left untouched.
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
    assert_non_null(strstr(err_msg(), "already exists"));
    /* nor anything else: a directory with an unrelated journal.txt is left as it was (issue 11, case 2) */
    char other[2200], p[2300];
    snprintf(other, sizeof other, "%s-other", dir);
    assert_int_equal(fsutil_mkdir_p(other), TP_OK);
    snprintf(p, sizeof p, "%s/journal.txt", other);
    assert_int_equal(th_write_file(p, "old\n", 4), 0);
    assert_int_equal(replay_run(dir, other, 0, NULL, NULL, &res), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "damaged session"));
    void *txt = NULL;
    size_t n = 0;
    assert_int_equal(fsutil_read_file(p, 1024, &txt, &n), TP_OK);
    assert_string_equal((char *)txt, "old\n");
    free(txt);
    snprintf(p, sizeof p, "%s/lock", other);
    assert_int_not_equal(access(p, F_OK), 0); /* nothing written into it */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_reproduces_the_session),
        cmocka_unit_test(test_replay_reports_a_mismatch),
        cmocka_unit_test(test_same_state_names_the_difference),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
