/* tests/test_command_verbs: the verbs of the command language executed against a session.
 *
 * Execution on a tiny word-level session (a generated corpus, one LSTM layer of 16, Adam, dropout):
 * train advances the step and journals what it ran; eval does not journal; set changes the rate;
 * verbs not built yet answer TP_ENOTAVAIL; a GP schedule resumes bit for bit after save and reopen;
 * quit.  The parser and the table are tests/test_command; undo and snapshots tests/test_snapshot;
 * the sessions and the state copies tests/verbs_fixture.
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
#include "sessions/snapshot.h"
#include "sessions/task.h"

/* ==== Execution on a tiny session ==== */

static void test_train_advances_and_journals(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "train steps=3 # warm-up", &r), TP_OK);
    assert_int_equal(s.trainer.step, 3);
    assert_true(r.changed);
    assert_non_null(strstr(r.text, "trained 3 step(s) to step 3"));
    /* a whole number in any notation the parser accepts means that number */
    assert_int_equal(vf_run(&s, "train steps=1e1", &r), TP_OK);
    assert_int_equal(s.trainer.step, 13);
    assert_int_equal(vf_run(&s, "train steps=0x2", &r), TP_OK);
    assert_int_equal(s.trainer.step, 15);
    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].command, "train steps=3");
    assert_int_equal(e[0].step, 0);
    assert_non_null(strstr(e[0].result, "trained 3 step(s)"));
    assert_string_equal(e[1].command, "train steps=10");
    assert_int_equal(e[1].step, 3);
    assert_string_equal(e[2].command, "train steps=2");
    free(e);
    /* train takes at most one of steps= and epochs=; limit= only in the bare form */
    assert_int_equal(vf_run(&s, "train steps=1 epochs=1", NULL), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "one of"));
    assert_int_equal(vf_run(&s, "train steps=1 limit=1", NULL), TP_EINVAL);
    assert_int_equal(s.trainer.step, 15);
    e = vf_journal(&s, &n);
    assert_int_equal(n, 3); /* refused commands are not journaled */
    free(e);
    /* the bare form (topiary train): to the end of the epochs, at most limit= steps; journaled as the
     * steps it ran */
    assert_int_equal(vf_run(&s, "train limit=2", NULL), TP_OK);
    assert_int_equal(s.trainer.step, 17);
    e = vf_journal(&s, &n);
    assert_int_equal(n, 4);
    assert_string_equal(e[3].command, "train steps=2");
    free(e);
    session_free(&s);
}

/* train epochs=1 runs to the end of the epoch, validates, and journals the steps it really ran. */
static void test_train_epochs_journals_steps(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    vf_run_ok(&s, "train steps=2");
    CommandResult r;
    assert_int_equal(vf_run(&s, "train epochs=1", &r), TP_OK);
    assert_int_equal(s.trainer.epoch, 2);
    assert_int_equal(s.trainer.window, 0);
    long per_epoch = (long)s.trainer.n_windows;
    assert_int_equal(s.trainer.step, per_epoch);
    assert_true(isfinite(s.valid_ppl));
    assert_non_null(strstr(r.text, "valid ppl"));
    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 2);
    char want[64];
    snprintf(want, sizeof want, "train steps=%ld", per_epoch - 2);
    assert_string_equal(e[1].command, want);
    free(e);
    session_free(&s);
}

static void test_read_only_verbs_do_not_journal(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "eval", &r), TP_OK);
    assert_non_null(strstr(r.text, "valid ppl"));
    assert_true(isfinite(s.valid_ppl));
    assert_int_equal(vf_run(&s, "eval split=test", &r), TP_OK);
    assert_non_null(strstr(r.text, "test ppl"));
    assert_int_equal(vf_run(&s, "status", &r), TP_OK);
    assert_non_null(strstr(r.text, "step 0"));
    assert_int_equal(vf_run(&s, "help", &r), TP_OK);
    assert_non_null(strstr(r.text, "snapshot"));
    assert_int_equal(vf_run(&s, "help set", &r), TP_OK);
    assert_non_null(strstr(r.text, "log_every"));
    assert_int_equal(vf_run(&s, "snapshots", &r), TP_OK);
    assert_non_null(strstr(r.text, "initial"));
    assert_int_equal(vf_run(&s, "save", &r), TP_OK);
    assert_non_null(strstr(r.text, "saved"));
    assert_int_equal(vf_run(&s, "   # nothing", &r), TP_OK);
    assert_int_equal(vf_run(&s, "", &r), TP_OK);
    assert_false(r.changed);
    assert_int_equal(s.trainer.step, 0);
    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 0);
    free(e);
    session_free(&s);
}

static void test_set_changes_the_rate(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "set lr=0.003 clip=0.5 # slower", &r), TP_OK);
    assert_true(r.changed);
    assert_true(s.trainer.opt.lr == 0.003f);
    assert_true(s.trainer.cfg.lr == 0.003f);
    assert_true(s.task.train.lr == 0.003f);
    assert_true(s.trainer.cfg.clip == 0.5f);
    assert_int_equal(vf_run(&s, "set log_every=7 eval_batch=2 epochs=9", &r), TP_OK);
    assert_int_equal(s.task.log_every, 7);
    assert_int_equal(s.task.eval_batch, 2);
    assert_int_equal(s.trainer.cfg.epochs, 9);
    assert_int_equal(vf_run(&s, "set", &r), TP_EINVAL);
    assert_int_equal(vf_run(&s, "set lr=0", &r), TP_ERANGE);
    assert_true(s.trainer.opt.lr == 0.003f);
    assert_int_equal(vf_run(&s, "set lr=0.1 freq_mask=2x8", &r), TP_EINVAL); /* a speech session's setting */
    assert_non_null(strstr(err_msg(), "speech"));
    assert_true(s.trainer.opt.lr == 0.003f);
    /* the rate is used by the next step and survives save/open */
    vf_run_ok(&s, "train steps=1");
    assert_true(s.trainer.opt.lr == 0.003f);
    vf_run_ok(&s, "save");
    Session b;
    assert_int_equal(session_open(&b, s.dir, NULL), TP_OK);
    assert_true(b.trainer.opt.lr == 0.003f);
    assert_true(b.trainer.cfg.clip == 0.5f);
    session_free(&b);
    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 3);
    /* the comment is not part of the journaled command */
    assert_int_equal(strncmp(e[0].command, "set lr=0.003 clip=0.5", 21), 0);
    assert_null(strchr(e[0].command, '#'));
    assert_string_equal(e[1].command, "set log_every=7 eval_batch=2 epochs=9");
    free(e);
    session_free(&s);
}

/* Verbs whose engine part is not built yet say so (help marks them "(not available yet)"). */
static void test_not_available_verbs(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    int checked = 0;
    for (const char *const *v = command_verbs(); *v; v++) {
        const char *h = command_help(*v);
        if (!strstr(h, "(not available yet)")) continue;
        const char *line = NULL;
        for (int i = 0; i < N_VALID && !line; i++)
            if (!strcmp(VALID[i].verb, *v)) line = VALID[i].line;
        assert_non_null(line);
        CommandResult r;
        TpStatus st = vf_run(&s, line, &r);
        if (st != TP_ENOTAVAIL) fail_msg("'%s': %d (%s), expected TP_ENOTAVAIL", line, st, err_msg());
        assert_non_null(strstr(err_msg(), "not available yet: needs "));
        checked++;
    }
    print_message("checked %d verb(s) that are not available yet\n", checked);
    /* nothing was journaled, no undo point taken, no state changed */
    assert_int_equal(s.trainer.step, 0);
    assert_int_equal(vf_count_undo(&s), 0);
    int n;
    JournalEntry *e = vf_journal(&s, &n);
    assert_int_equal(n, 0);
    free(e);
    session_free(&s);
}

/* The schedule's progress of b equals a's (phase, counters, ppls, good copy, growth accumulator). */
static void assert_same_schedule(const Session *a, const Session *b)
{
    const Schedule *x = &a->gp.sched, *y = &b->gp.sched;
    assert_int_equal(x->phase, y->phase);
    assert_int_equal(x->mark, y->mark);
    assert_int_equal(x->cycle, y->cycle);
    assert_int_equal(x->phase_prunes, y->phase_prunes);
    assert_int_equal(x->n_prunes, y->n_prunes);
    assert_int_equal(x->n_grows, y->n_grows);
    assert_int_equal(x->n_evals, y->n_evals);
    assert_int_equal(x->awaiting_eval, y->awaiting_eval);
    assert_int_equal(x->restore_pending, y->restore_pending);
    assert_int_equal(x->done_pending, y->done_pending);
    assert_int_equal(x->finished, y->finished);
    assert_memory_equal(&x->best_ppl, &y->best_ppl, sizeof x->best_ppl);
    assert_memory_equal(&x->good_ppl, &y->good_ppl, sizeof x->good_ppl);
    assert_int_equal(x->n_good, y->n_good);
    if (x->n_good) {
        assert_memory_equal(x->good_w, y->good_w, x->n_good * sizeof(float));
        assert_memory_equal(x->good_mask, y->good_mask, x->n_good);
    }
    assert_int_equal(a->gp.acc.n_batches, b->gp.acc.n_batches);
    if (a->gp.acc.n_batches) assert_memory_equal(a->gp.acc.sum, b->gp.acc.sum, a->gp.acc.n * sizeof(float));
}

/* A GP schedule in progress survives save and reopen: stopped in the middle of its growth phase (a
 * partial gradient accumulator) and again in its pruning phase (a last good copy), the reopened
 * session goes on bit for bit like the uninterrupted one. */
static void test_gp_schedule_resumes_exactly(void **state)
{
    (void)state;
    Session a, b;
    vf_new_session(&a);
    vf_run_ok(&a, "schedule gp grow=0.2 prune=0.2 every=5 tolerance=1000 batches=4 cycles=3");
    vf_run_ok(&a, "train steps=3"); /* baseline eval at step 0, then growth: 3 of 4 batches accumulated */
    assert_int_equal(a.gp.sched.phase, GP_ACCUM);
    assert_true(a.gp.acc.n_batches > 0);
    long stops[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(session_save(&a), TP_OK);
        TpStatus st = session_open(&b, a.dir, NULL);
        if (st != TP_OK) fail_msg("session_open: %s", err_msg());
        assert_same_schedule(&a, &b);
        stops[round] = a.gp.sched.phase;
        vf_run_ok(&a, "train steps=17");
        vf_run_ok(&b, "train steps=17");
        VfSaved sa;
        vf_save_state(&a, &sa);
        vf_assert_same_state(&b, &sa);
        assert_same_schedule(&a, &b);
        vf_free_state(&sa);
        session_free(&b);
    }
    assert_int_equal(stops[0], GP_ACCUM);
    assert_true(stops[1] == GP_PRUNE || stops[1] == GP_RETRAIN_PRUNE); /* pruning, with a good copy */
    assert_true(a.gp.sched.n_good > 0 && a.gp.sched.n_prunes > 0 && a.gp.sched.n_grows > 0);
    session_free(&a);
}

static void test_quit_sets_quit(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    vf_run_ok(&s, "train steps=1");
    CommandResult r;
    assert_int_equal(vf_run(&s, "quit", &r), TP_OK);
    assert_true(r.quit);
    /* quit saved: the session opens at step 1 */
    Session b;
    assert_int_equal(session_open(&b, s.dir, NULL), TP_OK);
    assert_int_equal(b.trainer.step, 1);
    session_free(&b);
    assert_int_equal(vf_run(&s, "status", &r), TP_OK);
    assert_false(r.quit);
    session_free(&s);
}

static void test_parse_errors_through_execute(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "trian steps=1", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "did you mean 'train'?"));
    assert_int_equal(vf_run(&s, "train steps=0", &r), TP_ERANGE);
    assert_int_equal(s.trainer.step, 0);
    assert_int_equal(vf_count_undo(&s), 0);
    session_free(&s);
}

/* A verb refused after its undo point was taken leaves none: `undo` then goes back over the last
 * change, not over the refusal (found with `tie` refused on a tied model, then two undos). */
static void test_refused_verbs_leave_no_undo_point(void **state)
{
    (void)state;
    Session s;
    vf_new_session(&s); /* embed 8, hidden 16: nothing to tie */
    vf_run_ok(&s, "train steps=2");
    int before = vf_count_undo(&s);
    CommandResult r;
    assert_int_equal(vf_run(&s, "prune sparsity=0.5 params=nothing*", &r), TP_EINVAL);
    assert_int_equal(vf_run(&s, "tie", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "--embed 8"));
    assert_int_equal(vf_run(&s, "resize layer=3 hidden=4", &r), TP_ERANGE);
    assert_int_equal(vf_count_undo(&s), before);
    vf_run_ok(&s, "undo"); /* the train */
    assert_int_equal(s.trainer.step, 0);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_advances_and_journals),
        cmocka_unit_test(test_train_epochs_journals_steps),
        cmocka_unit_test(test_read_only_verbs_do_not_journal),
        cmocka_unit_test(test_set_changes_the_rate),
        cmocka_unit_test(test_not_available_verbs),
        cmocka_unit_test(test_gp_schedule_resumes_exactly),
        cmocka_unit_test(test_quit_sets_quit),
        cmocka_unit_test(test_parse_errors_through_execute),
        cmocka_unit_test(test_refused_verbs_leave_no_undo_point),
    };
    return cmocka_run_group_tests(tests, vf_group_setup, vf_group_teardown);
}
