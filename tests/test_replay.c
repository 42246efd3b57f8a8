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
#include "word_fixture.h"
#include "sessions/command.h"
#include "sessions/replay.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("replay");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static void new_session(Session *s, char *dir, size_t n) { wf_new_session(s, dir, n, 16); }

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

/* `tie` (engine/model's model_tie through the command language): undone like any structural edit,
 * the tied last layer cannot be resized, the session reopens tied, and replay reproduces it */
static void test_tie_undo_and_replay(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    wf_new_session(&s, dir, sizeof dir, 8); /* embed 8 = hidden 8 */
    run_ok(&s, "train steps=4");
    run_ok(&s, "prune sparsity=0.3");
    size_t untied = s.model.n_params;
    run_ok(&s, "tie");
    assert_int_equal(s.model.cfg.tie, 1);
    assert_int_equal(s.task.model.tie, 1);
    assert_null(model_param(&s.model, "decoder.weight"));
    assert_true(s.model.n_params < untied);
    assert_int_equal(s.trainer.opt.n, s.model.n_params);
    run_ok(&s, "train steps=3");
    CommandResult r;
    assert_int_equal(command_execute(&s, "resize layer=0 hidden=6", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "tied"));
    assert_int_equal(command_execute(&s, "tie", &r), TP_EINVAL); /* already tied */
    run_ok(&s, "undo"); /* the train */
    run_ok(&s, "undo"); /* the tie */
    assert_int_equal(s.model.cfg.tie, 0);
    assert_int_equal(s.model.n_params, untied);
    assert_non_null(model_param(&s.model, "decoder.weight"));
    run_ok(&s, "tie from=embed");
    run_ok(&s, "train steps=2");
    assert_int_equal(session_save(&s), TP_OK);
    Session o;
    assert_int_equal(session_open(&o, dir, NULL), TP_OK);
    char why[256];
    assert_int_equal(o.model.cfg.tie, 1);
    assert_true(replay_same_state(&s, &o, why, sizeof why));
    session_free(&o);
    ReplayResult res;
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

static int count_undo(const char *dir)
{
    SnapshotInfo list[64];
    int n = 0, k = 0;
    assert_int_equal(snapshot_list(dir, list, 64, &n), TP_OK);
    for (int i = 0; i < n; i++) k += !strncmp(list[i].name, "undo-", 5);
    return k;
}

static long committed_bytes(const char *dir)
{
    Session o;
    assert_int_equal(session_open(&o, dir, NULL), TP_OK);
    long c = o.journal_committed;
    session_free(&o);
    return c;
}

/* Issue 11 case 9: a train's epoch-end saves journal the steps they commit ("train steps=K", the later
 * records with undo=0: one undo point as before); the split records replay bit for bit. */
static void test_epoch_end_records_replay(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    new_session(&s, dir, sizeof dir);
    run_ok(&s, "train");
    int n = 0, torn = 0;
    JournalEntry *e = NULL;
    assert_int_equal(journal_read(dir, &e, &n, &torn), TP_OK);
    assert_int_equal(n, 2); /* one record per epoch-end save, nothing after the last one */
    assert_int_equal(strncmp(e[0].command, "train steps=", 12), 0);
    assert_null(strstr(e[0].command, "undo=0"));
    assert_non_null(strstr(e[1].command, " undo=0"));
    assert_int_equal(e[1].step, atol(e[0].command + 12));
    free(e);
    assert_int_equal(count_undo(dir), 1);
    /* the last epoch-end save committed everything: no save needed */
    long size = 0;
    assert_int_equal(journal_size(dir, &size), TP_OK);
    assert_int_equal(committed_bytes(dir), size);
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_true(res.verified);
    session_free(&s);
}

/* Issue 11 case 9: a command journaled but never saved (a crash before the save): replay ignores its
 * line; a writer's open cuts it and drops its undo snapshot, with a note. */
static void test_uncommitted_tail_is_cut(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    new_session(&s, dir, sizeof dir);
    run_ok(&s, "train steps=3");
    assert_int_equal(session_save(&s), TP_OK);
    run_ok(&s, "prune ratio=0.5");
    assert_int_equal(count_undo(dir), 2);
    session_free(&s); /* "killed": the prune was journaled, never saved */
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_int_equal(res.n_commands, 1);
    assert_int_equal(res.uncommitted, 1);
    assert_true(res.verified);
    Session w;
    assert_int_equal(session_open(&w, dir, NULL), TP_OK);
    char note[512];
    assert_int_equal(snapshot_recover(&w, note, sizeof note), TP_OK);
    assert_non_null(strstr(note, "1 journal line(s)"));
    assert_non_null(strstr(note, "1 undo snapshot(s)"));
    long size = 0;
    assert_int_equal(journal_size(dir, &size), TP_OK);
    assert_int_equal(size, w.journal_committed);
    assert_int_equal(count_undo(dir), 1);
    run_ok(&w, "train steps=2");
    assert_int_equal(session_save(&w), TP_OK);
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_true(res.verified);
    assert_int_equal(res.n_commands, 2);
    session_free(&w);
}

/* Issue 11 case 3: undo saves the restored state (with its journal line) before its snapshot goes: the
 * session reopened without another save is the undone one; restore likewise. */
static void test_undo_and_restore_are_saved(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    new_session(&s, dir, sizeof dir);
    run_ok(&s, "train steps=2");
    run_ok(&s, "prune ratio=0.5");
    size_t nnz = model_nnz(&s.model);
    run_ok(&s, "undo");
    assert_true(model_nnz(&s.model) > nnz);
    assert_int_equal(count_undo(dir), 1);
    assert_string_equal(s.undo_dropped, "");
    Session o;
    assert_int_equal(session_open(&o, dir, NULL), TP_OK); /* no save after the undo */
    char why[256];
    assert_true(replay_same_state(&s, &o, why, sizeof why));
    session_free(&o);
    run_ok(&s, "restore name=initial");
    assert_int_equal(session_open(&o, dir, NULL), TP_OK);
    assert_int_equal(o.trainer.step, 0);
    session_free(&o);
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_true(res.verified);
    /* the undo's save names the snapshot it restored: one left behind by a crash goes on open */
    char p2[2200], p7[2200];
    snprintf(p2, sizeof p2, "%s/snapshots/undo-2", dir);
    snprintf(p7, sizeof p7, "%s/snapshots/undo-7", dir);
    assert_int_equal(snapshot_take_undo(&s, "x"), TP_OK); /* undo-2, the newest */
    assert_int_equal(rename(p2, p7), 0);
    snprintf(s.undo_dropped, sizeof s.undo_dropped, "undo-7");
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    assert_int_equal(session_open(&o, dir, NULL), TP_OK);
    assert_string_equal(o.undo_dropped, "undo-7");
    assert_int_equal(snapshot_recover(&o, NULL, 0), TP_OK);
    struct stat sb;
    assert_int_not_equal(stat(p7, &sb), 0);
    session_free(&o);
}

/* Issue 11 case 4: replay runs only journaled verbs: a planted export is refused naming its line,
 * before anything runs. */
static void test_replay_refuses_unjournaled_verbs(void **state)
{
    (void)state;
    Session s;
    char dir[2048], out[2200], line[2600], p[2200];
    new_session(&s, dir, sizeof dir);
    run_ok(&s, "train steps=2");
    snprintf(out, sizeof out, "%s-export", dir);
    snprintf(line, sizeof line, "2\t2026-01-01T00:00:00Z\texport out=%s\tplanted", out);
    snprintf(p, sizeof p, "%s/journal.txt", dir);
    assert_int_equal(fsutil_append_line(p, line), TP_OK);
    assert_int_equal(session_save(&s), TP_OK); /* committed with it */
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "journal.txt:2: 'export' is never journaled"));
    assert_int_equal(res.done, 0);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    assert_true(command_is_journaled("prune"));
    assert_false(command_is_journaled("export"));
    assert_false(command_is_journaled("bogus"));
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_reproduces_the_session),
        cmocka_unit_test(test_tie_undo_and_replay),
        cmocka_unit_test(test_epoch_end_records_replay),
        cmocka_unit_test(test_uncommitted_tail_is_cut),
        cmocka_unit_test(test_undo_and_restore_are_saved),
        cmocka_unit_test(test_replay_refuses_unjournaled_verbs),
        cmocka_unit_test(test_replay_reports_a_mismatch),
        cmocka_unit_test(test_same_state_names_the_difference),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
