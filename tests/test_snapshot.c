/* tests/test_snapshot: undo and snapshots (sessions/snapshot) through the verbs on a tiny session.
 *
 * undo restores weights, masks, optimizer state, carried state and trainer position bit for bit,
 * one level per undo, after every structural verb, with a bounded ring; snapshots and restore; bad
 * snapshot names refused.  Issue 14: an undo of more than undo_confirm steps asks first (force=1),
 * rolls metrics.tsv back, redo brings state and rows back, another change ends the redo chain, and
 * replay repeats it.  The sessions and the state copies: tests/verbs_fixture.
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

#include "command_forms.h"
#include "helpers.h"
#include "verbs_fixture.h"
#include "sessions/command.h"
#include "base/fsutil.h"
#include "sessions/journal.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/replay.h"
#include "sessions/snapshot.h"
#include "sessions/view.h"
#include "sessions/task.h"

/* Zero a few entries of the first weight matrix (as a prune would). */
static void knock_out(Session *s, int every)
{
    Model *m = &s->model;
    const ModelParam *p = &m->p[1];
    for (size_t i = 0; i < p->n; i += (size_t)every) {
        m->mask[p->off + i] = 0;
        m->w[p->off + i] = 0.0f;
    }
}

static void test_undo_restores_exactly(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    knock_out(&s, 7);
    vf_run_ok(&s, "train steps=2");
    VfSaved a, b0, b;
    vf_save_state(&s, &a);          /* A: after 2 steps, with mask pattern 1 */
    vf_run_ok(&s, "train steps=3");
    vf_save_state(&s, &b0);         /* after 5 steps */
    knock_out(&s, 3);            /* a different mask, as if pruned since */
    vf_save_state(&s, &b);          /* B: after 5 steps and the knock-out */
    vf_run_ok(&s, "train steps=4");
    assert_int_equal(s.trainer.step, 9);
    assert_false(vf_same_state(&s, &b));

    CommandResult r;
    assert_int_equal(vf_run(&s, "undo", &r), TP_OK);
    assert_true(r.changed);
    assert_non_null(strstr(r.text, "undone: train steps=4"));
    vf_assert_same_state(&s, &b);   /* exact weights, masks, optimizer state, trainer position */
    assert_int_equal(vf_run(&s, "undo", &r), TP_OK);
    assert_non_null(strstr(r.text, "train steps=3"));
    vf_assert_same_state(&s, &a);   /* a second undo goes one step further back */

    /* the state after undo trains on exactly as it did the first time */
    vf_run_ok(&s, "train steps=3");
    vf_assert_same_state(&s, &b0);

    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 6);
    assert_string_equal(e[3].command, "undo");
    assert_string_equal(e[4].command, "undo");
    free(e);
    vf_free_state(&a);
    vf_free_state(&b0);
    vf_free_state(&b);
    session_free(&s);
}

/* Each structural verb (as far as built) is undone exactly: weights, masks, optimizer state,
 * carried state, trainer position, and for resize the architecture. */
static void test_undo_after_structural_verbs(void **state)
{
    (void)state;
    static const char *const lines[] = {"prune ratio=0.5", "grow ratio=0.5 batches=2", "prune ratio=0.3 pattern=row",
                                        "resize layer=0 hidden=12"};
    Session s;
    vf_new_session(&s);
    vf_run_ok(&s, "train steps=2");
    int checked = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char verb[16];
        sscanf(lines[i], "%15s", verb);
        if (strstr(command_help(verb), "(not available yet)")) continue;
        VfSaved a;
        vf_save_state(&s, &a);
        CommandResult r;
        TpStatus st = vf_run(&s, lines[i], &r);
        if (st != TP_OK) fail_msg("'%s': %s", lines[i], err_msg());
        if (vf_same_state(&s, &a)) fail_msg("'%s' changed nothing", lines[i]);
        assert_int_equal(vf_run(&s, "undo", &r), TP_OK);
        vf_assert_same_state(&s, &a);
        assert_int_equal(s.model.cfg.hidden[0], 16);
        vf_free_state(&a);
        if (strncmp(lines[i], "resize", 6)) vf_run_ok(&s, lines[i]); /* go on from the changed state */
        vf_run_ok(&s, "train steps=1");
        checked++;
    }
    print_message("undid %d structural command(s)\n", checked);
    session_free(&s);
}

/* Steps of SESSION/metrics.tsv's rows (at most max), in file order. */
static int metric_steps(const Session *s, long *steps, int max)
{
    ViewSeries m = {0};
    assert_int_equal(view_metrics_load(&m, s->dir), TP_OK);
    int n = m.n < max ? m.n : max;
    for (int i = 0; i < n; i++) steps[i] = (long)m.step[i];
    view_metrics_free(&m);
    return n;
}

static int count_prefix(const Session *s, const char *prefix)
{
    SnapshotInfo list[64];
    int n = 0, k = 0;
    assert_int_equal(snapshot_list(s->dir, list, 64, &n), TP_OK);
    for (int i = 0; i < n; i++) k += !strncmp(list[i].name, prefix, strlen(prefix));
    return k;
}

/* Issue 14, item 1: an undo of more than undo_confirm steps asks first (refused, CommandResult.confirm,
 * nothing changed or journaled) and goes ahead with force=1; it rolls metrics.tsv back to the restored
 * step and redo brings both the state and the rows back; a new change ends the redo chain; replay
 * --verify repeats it all bit for bit. */
static void test_undo_confirm_redo_and_metrics(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(s.task.undo_confirm, 200); /* the default */
    vf_run_ok(&s, "set log_every=2 undo_confirm=5");
    vf_run_ok(&s, "train steps=4");
    vf_run_ok(&s, "train steps=8");
    VfSaved after;
    vf_save_state(&s, &after);
    long steps[64];
    assert_int_equal(metric_steps(&s, steps, 64), 6);   /* 2, 4, ..., 12 */
    int n_journal;
    free(vf_journal(&s, &n_journal));

    assert_int_equal(vf_run(&s, "undo", &r), TP_EINVAL);  /* 8 steps > 5: asks first */
    assert_true(r.confirm);
    assert_non_null(strstr(err_msg(), "goes back 8 training steps"));
    assert_non_null(strstr(err_msg(), "undo force=1"));
    vf_assert_same_state(&s, &after);
    int n;
    free(vf_journal(&s, &n));
    assert_int_equal(n, n_journal);

    assert_int_equal(vf_run(&s, "undo force=1", &r), TP_OK);
    assert_int_equal(s.trainer.step, 4);
    assert_true(r.views & COMMAND_VIEW_METRICS);
    int k = metric_steps(&s, steps, 64);
    assert_int_equal(k, 2);                  /* the rows of the undone steps are gone */
    assert_int_equal(steps[k - 1], 4);
    assert_int_equal(count_prefix(&s, "redo-"), 1);

    assert_int_equal(vf_run(&s, "redo", &r), TP_OK);
    assert_non_null(strstr(r.text, "redone: train steps=8"));
    vf_assert_same_state(&s, &after);
    assert_int_equal(metric_steps(&s, steps, 64), 6);   /* and its rows are back */
    assert_int_equal(count_prefix(&s, "redo-"), 0);
    /* redo left an undo point: undo goes back again (within the limit here: 4 steps) */
    vf_run_ok(&s, "set undo_confirm=200");
    assert_int_equal(vf_run(&s, "undo", &r), TP_OK);
    assert_int_equal(s.trainer.step, 4);
    /* any other change ends the redo chain */
    vf_run_ok(&s, "prune ratio=0.2");
    assert_int_equal(count_prefix(&s, "redo-"), 0);
    assert_int_equal(vf_run(&s, "redo", &r), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "nothing to redo"));
    k = metric_steps(&s, steps, 64);
    for (int i = 1; i < k; i++) assert_true(steps[i] >= steps[i - 1]); /* never back in steps */

    JournalEntry *e = vf_journal(&s, &n);
    int forced = 0, redos = 0;
    for (int i = 0; i < n; i++) forced += !strcmp(e[i].command, "undo force=1"), redos += !strcmp(e[i].command, "redo");
    assert_int_equal(forced, 1);
    assert_int_equal(redos, 1);
    free(e);
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    assert_int_equal(replay_run(s.dir, NULL, 1, NULL, NULL, &res), TP_OK);
    if (!res.verified) fail_msg("replay: %s", res.mismatch);
    vf_free_state(&after);
    session_free(&s);
}

static void test_undo_ring_is_bounded(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "undo", &r), TP_ENOENT); /* nothing yet */
    assert_non_null(strstr(err_msg(), "nothing to undo"));
    int total = SNAPSHOT_UNDO_DEPTH + 3;
    for (int i = 0; i < total; i++) {
        vf_run_ok(&s, "train steps=1");
        assert_true(vf_count_undo(&s) <= SNAPSHOT_UNDO_DEPTH);
    }
    assert_int_equal(vf_count_undo(&s), SNAPSHOT_UNDO_DEPTH);
    for (int i = 0; i < SNAPSHOT_UNDO_DEPTH; i++) {
        assert_int_equal(vf_run(&s, "undo", &r), TP_OK);
        assert_int_equal(s.trainer.step, total - 1 - i);
    }
    assert_int_equal(vf_count_undo(&s), 0);
    assert_int_equal(vf_run(&s, "undo", &r), TP_ENOENT);
    assert_int_equal(s.trainer.step, total - SNAPSHOT_UNDO_DEPTH);
    session_free(&s);
}

static void test_snapshot_and_restore(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    vf_run_ok(&s, "train steps=2");
    VfSaved a;
    vf_save_state(&s, &a);
    CommandResult r;
    assert_int_equal(vf_run(&s, "snapshot name=best", &r), TP_OK);
    assert_non_null(strstr(r.text, "snapshot best at step 2"));
    assert_int_equal(vf_run(&s, "snapshot", &r), TP_OK); /* default name: step-<step> */
    assert_non_null(strstr(r.text, "step-2"));
    knock_out(&s, 5);
    vf_run_ok(&s, "train steps=3");
    vf_run_ok(&s, "set lr=0.5");
    assert_int_equal(vf_run(&s, "snapshots", &r), TP_OK);
    assert_non_null(strstr(r.text, "best"));
    assert_non_null(strstr(r.text, "step-2"));
    assert_non_null(strstr(r.text, "initial"));
    assert_non_null(strstr(r.summary, "snapshot(s)"));

    assert_int_equal(vf_run(&s, "restore name=best", &r), TP_OK);
    assert_non_null(strstr(r.text, "restored best: step 2"));
    vf_assert_same_state(&s, &a);
    /* the snapshot survives a restore and can be restored again */
    vf_run_ok(&s, "train steps=1");
    vf_run_ok(&s, "restore name=best");
    vf_assert_same_state(&s, &a);
    /* overwriting a name replaces it */
    vf_run_ok(&s, "train steps=1");
    vf_run_ok(&s, "snapshot name=best");
    vf_run_ok(&s, "restore name=initial");
    assert_int_equal(s.trainer.step, 0);
    vf_run_ok(&s, "restore name=best");
    assert_int_equal(s.trainer.step, 3);

    assert_int_equal(vf_run(&s, "restore name=nosuch", &r), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "no snapshot named 'nosuch'"));
    assert_int_equal(s.trainer.step, 3);
    vf_free_state(&a);
    session_free(&s);
}

static void test_snapshot_names_refused(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    const char *bad[] = {"snapshot name=\"a b\"", "snapshot name=../escape", "snapshot name=a/b", "snapshot name=-x",
                         "snapshot name=.hidden", "snapshot name=undo-3", "snapshot name=initial", "snapshot name=caf\xc3\xa9",
                         "snapshot name=0123456789012345678901234567890123456789012345678",
                         "restore name=../../etc", "restore name=\"\"", "restore name=a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CommandResult r;
        TpStatus st = vf_run(&s, bad[i], &r);
        if (st != TP_EINVAL) fail_msg("'%s': %d (%s), expected TP_EINVAL", bad[i], st, err_msg());
    }
    /* 48 characters is the longest name */
    vf_run_ok(&s, "snapshot name=012345678901234567890123456789012345678901234567");
    SnapshotInfo list[16];
    int n = 0;
    assert_int_equal(snapshot_list(s.dir, list, 16, &n), TP_OK);
    assert_int_equal(n, 2); /* initial and the 48-character one; nothing escaped */
    char p[4200];
    snprintf(p, sizeof p, "%s/escape", vf_root);
    assert_false(fsutil_exists(p));
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undo_restores_exactly),
        cmocka_unit_test(test_undo_after_structural_verbs),
        cmocka_unit_test(test_undo_ring_is_bounded),
        cmocka_unit_test(test_undo_confirm_redo_and_metrics),
        cmocka_unit_test(test_snapshot_and_restore),
        cmocka_unit_test(test_snapshot_names_refused),
    };
    return cmocka_run_group_tests(tests, vf_group_setup, vf_group_teardown);
}
