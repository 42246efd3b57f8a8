/* tests/test_events: sessions/events (issue 14, items 2 and 3) on a tiny session (tests/verbs_fixture).
 *
 * The fixed validation slice's perplexity is deterministic and covers min(EVENTS_SLICE_TOKENS, the
 * split) tokens.  An AGP schedule's prunings are events: a line each in the train verb's output, a
 * row of events.tsv with the slice perplexity before and after, a metrics row at each event's step
 * (log_every is 1000 here, so without them a short run has no point at all), and an annotation in
 * the journal after the train that made them; replay --verify checks the annotations and stays bit
 * exact; a tampered annotation makes replay fail naming it; typed by hand, `event` is refused.  A hand
 * prune, grow and resize are events too (source "command"), said in their output, and undo/redo take
 * them with the state.  A GP schedule's growths and prunings are events and replay bit for bit.
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

#include "helpers.h"
#include "verbs_fixture.h"
#include "base/fsutil.h"
#include "sessions/command.h"
#include "sessions/events.h"
#include "sessions/journal.h"
#include "sessions/replay.h"
#include "sessions/session.h"
#include "sessions/view.h"

static void test_slice_is_fixed(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    double a, b;
    long ta, tb;
    assert_int_equal(events_slice_ppl(&s, &a, &ta), TP_OK);
    assert_int_equal(events_slice_ppl(&s, &b, &tb), TP_OK);
    assert_true(isfinite(a) && a > 1.0);
    assert_true(a == b && ta == tb); /* deterministic: same tokens, same state, same number */
    size_t nv = s.corpus.n_ids[CORPUS_VALID];
    assert_int_equal(ta, (long)(nv - 1 < EVENTS_SLICE_TOKENS ? nv - 1 : EVENTS_SLICE_TOKENS));
    session_free(&s);
}

static int journal_count(const Session *s, const char *prefix)
{
    int n, k = 0;
    JournalEntry *e = vf_journal(s, &n);
    for (int i = 0; i < n; i++) k += !strncmp(e[i].command, prefix, strlen(prefix));
    free(e);
    return k;
}

static void test_schedule_events(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    vf_run_ok(&s, "schedule agp from=0.2 to=0.6 start=0 end=12 every=4");
    assert_int_equal(vf_run(&s, "train steps=16", &r), TP_OK);
    /* each pruning is a line of the train's output */
    assert_non_null(strstr(r.text, "\n  schedule: step 0: pruned "));
    assert_non_null(strstr(r.text, "\n  schedule: step 12: pruned "));
    assert_non_null(strstr(r.text, "slice ppl "));
    SessionEvent *ev;
    int n;
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    assert_int_equal(n, 4); /* steps 0, 4, 8, 12 */
    for (int i = 0; i < n; i++) {
        assert_int_equal(ev[i].step, 4 * i);
        assert_string_equal(ev[i].kind, "prune");
        assert_string_equal(ev[i].source, "schedule");
        assert_true(ev[i].nnz < ev[i].nnz_before);
        assert_true(isfinite(ev[i].ppl_before) && isfinite(ev[i].ppl_after));
        assert_true(ev[i].matrix_sparsity > ev[i].sparsity);
    }
    assert_true(fabs(ev[3].matrix_sparsity - 0.6) < 0.01); /* AGP's target is the prunable matrices' */
    /* a metrics row at each event, though log_every is 1000 */
    ViewSeries m = {0};
    assert_int_equal(view_metrics_load(&m, s.dir), TP_OK);
    assert_int_equal(m.n, 4);
    assert_int_equal(m.n_events, 4);
    for (int i = 0; i < 4; i++) assert_true(m.step[i] == 4.0 * i && fabs(m.matrix_sparsity[i] - 100 * ev[i].matrix_sparsity) < 1e-3);
    view_metrics_free(&m);
    /* the journal: the train, then an annotation per event */
    int nj;
    JournalEntry *e = vf_journal(&s, &nj);
    assert_int_equal(nj, 6);
    assert_string_equal(e[1].command, "train steps=16");
    char want[96];
    snprintf(want, sizeof want, "event step=12 kind=prune nnz=%zu", ev[3].nnz);
    assert_string_equal(e[5].command, want);
    free(e);
    free(ev);
    /* typed by hand, an annotation is refused and not journaled */
    assert_int_equal(vf_run(&s, "event step=12 kind=prune nnz=1", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "journal annotation"));
    assert_int_equal(journal_count(&s, "event "), 4);
    /* replay re-creates the events, checks the annotations and stays bit exact */
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    assert_int_equal(replay_run(s.dir, NULL, 1, NULL, NULL, &res), TP_OK);
    if (!res.verified) fail_msg("replay: %s", res.mismatch);
    /* a journal that claims another outcome is caught */
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.txt", s.dir);
    void *buf;
    size_t len;
    assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, &len), TP_OK);
    char *text = calloc(1, len + 16), *at;
    memcpy(text, buf, len);
    free(buf);
    assert_non_null(at = strstr(text, "event step=12 kind=prune nnz="));
    at += strlen("event step=12 kind=prune nnz=");
    *at = *at == '9' ? '8' : '9';            /* same length: the committed position stays right */
    assert_int_equal(fsutil_write_atomic(path, text, len), TP_OK);
    free(text);
    assert_int_equal(replay_run(s.dir, NULL, 1, NULL, NULL, &res), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "the schedule's prune at step 12 left"));
    assert_true(res.command_failed);
    session_free(&s);
}

/* A GP schedule's growths are events too; its run replays bit for bit with the annotations. */
static void test_gp_events(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    vf_run_ok(&s, "prune ratio=0.5");
    vf_run_ok(&s, "schedule gp grow=0.2 prune=0.2 every=4 tolerance=1000 batches=2 cycles=2");
    assert_int_equal(vf_run(&s, "train steps=40", &r), TP_OK);
    SessionEvent *ev;
    int n, grows = 0, prunes = 0;
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    for (int i = 0; i < n; i++) {
        if (strcmp(ev[i].source, "schedule")) continue;
        grows += !strcmp(ev[i].kind, "grow");
        prunes += !strcmp(ev[i].kind, "prune");
        if (!strcmp(ev[i].kind, "grow")) assert_true(ev[i].nnz > ev[i].nnz_before);
    }
    free(ev);
    if (!grows || !prunes) fail_msg("GP made %d growth and %d pruning events:\n%s", grows, prunes, r.text);
    assert_true(journal_count(&s, "event ") >= grows + prunes); /* a GP restore is one too */
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    assert_int_equal(replay_run(s.dir, NULL, 1, NULL, NULL, &res), TP_OK);
    if (!res.verified) fail_msg("replay: %s", res.mismatch);
    session_free(&s);
}

static void test_hand_events(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    vf_run_ok(&s, "train steps=3");
    assert_int_equal(vf_run(&s, "prune ratio=0.5 dry=1", &r), TP_OK);
    assert_null(strstr(r.text, "slice ppl")); /* a preview measures nothing, records nothing */
    assert_int_equal(vf_run(&s, "prune ratio=0.5", &r), TP_OK);
    assert_non_null(strstr(r.text, "pruned 50.0 % of the live weights"));
    assert_non_null(strstr(r.text, "slice ppl "));
    assert_int_equal(vf_run(&s, "prune ratio=0.5", &r), TP_OK);
    /* ratio= is a share of what is live: the output says so when it is not the sparsity reached */
    assert_non_null(strstr(r.text, "their sparsity 50.00 % -> 75.00 %"));
    assert_non_null(strstr(r.text, "sparsity=S prunes to S"));
    assert_int_equal(vf_run(&s, "grow ratio=0.1 batches=2", &r), TP_OK);
    assert_non_null(strstr(r.text, "slice ppl "));
    assert_int_equal(vf_run(&s, "resize layer=0 hidden=12", &r), TP_OK);
    assert_non_null(strstr(r.text, "slice ppl "));
    SessionEvent *ev;
    int n;
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    assert_int_equal(n, 4);
    const char *kinds[] = {"prune", "prune", "grow", "resize"};
    for (int i = 0; i < n; i++) {
        assert_string_equal(ev[i].kind, kinds[i]);
        assert_string_equal(ev[i].source, "command");
        assert_int_equal(ev[i].step, 3);
    }
    assert_true(ev[1].ppl_before == ev[0].ppl_after); /* the same slice, the same model in between */
    free(ev);
    assert_int_equal(journal_count(&s, "event "), 0); /* a hand command is journaled as itself */
    /* undo and redo take the events with the state: back to before the first, none is left */
    vf_run_ok(&s, "undo");
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    free(ev);
    assert_int_equal(n, 3);
    vf_run_ok(&s, "redo");
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    free(ev);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) vf_run_ok(&s, "undo");
    assert_int_equal(events_load(s.dir, &ev, &n), TP_OK);
    assert_int_equal(n, 0);
    ViewSeries m = {0};
    assert_int_equal(view_metrics_load(&m, s.dir), TP_OK);
    assert_int_equal(m.n_events, 0);
    view_metrics_free(&m);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_is_fixed),
        cmocka_unit_test(test_schedule_events),
        cmocka_unit_test(test_gp_events),
        cmocka_unit_test(test_hand_events),
    };
    return cmocka_run_group_tests_name("sessions events", tests, vf_group_setup, vf_group_teardown);
}
