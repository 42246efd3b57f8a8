/* tests/test_command_verbs: the verbs of the command language executed against a session.
 *
 * Execution on a tiny word-level session (a generated corpus, one LSTM layer of 16, Adam, dropout):
 * train advances the step and journals what it ran; eval does not journal; set changes the rate;
 * verbs not built yet answer TP_ENOTAVAIL; undo restores weights, masks, optimizer state, carried
 * state and trainer position bit for bit, one level per undo, with a bounded ring; snapshots and
 * restore; bad names refused; quit.  The parser and the table are tests/test_command.
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
#include "sessions/command.h"
#include "base/fsutil.h"
#include "sessions/journal.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"
#include "sessions/task.h"

/* ==== Execution on a tiny session ==== */

static char *g_root;
static char g_data[1024];
static int g_seq;

static void write_split(const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(g_data, name, n_lines, seed, 18, 6), 0);
}

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("command");
    if (!g_root) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_root);
    if (fsutil_mkdir_p(g_data) != TP_OK) return -1;
    write_split("ptb.train.txt", 120, 1);
    write_split("ptb.valid.txt", 20, 2);
    write_split("ptb.test.txt", 20, 3);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    th_rmtree(g_root);
    free(g_root);
    return 0;
}

/* A new session in its own directory: word level, 1 x LSTM(16), Adam, dropout (so the trainer's
 * random stream matters), bptt 5, batch 4. */
static void new_session(Session *s)
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
    t.train.epochs = 50;
    t.train.optim = OPTIM_ADAM;
    t.train.lr = 0.01f;
    t.threads = 1;
    t.seed = 11;
    t.log_every = 1000;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/s%d", g_root, g_seq++);
    TpStatus st = session_create(s, dir, &t);
    if (st != TP_OK) fail_msg("session_create: %s", err_msg());
}

static TpStatus run(Session *s, const char *line, CommandResult *r)
{
    static CommandResult scratch;
    return command_execute(s, line, r ? r : &scratch);
}

static void run_ok(Session *s, const char *line)
{
    CommandResult r;
    TpStatus st = command_execute(s, line, &r);
    if (st != TP_OK) fail_msg("'%s': %d %s", line, st, err_msg());
}

/* Everything that undo/restore must bring back, copied out of a session. */
typedef struct {
    size_t n;
    float *w, *m, *v, *h, *c;
    uint8_t *mask;
    size_t n_state;
    long step, opt_t, ep_tokens;
    int epoch;
    size_t window;
    double ep_nll;
    float lr;
    Rng rng;
} Saved;

static void save_state(const Session *s, Saved *o)
{
    const Model *m = &s->model;
    const Trainer *t = &s->trainer;
    o->n = m->n_params;
    o->w = malloc(o->n * sizeof(float));
    o->m = malloc(o->n * sizeof(float));
    o->v = malloc(o->n * sizeof(float));
    o->mask = malloc(o->n);
    o->n_state = (size_t)t->state.B * m->cfg.hidden[0];
    o->h = malloc(o->n_state * sizeof(float));
    o->c = malloc(o->n_state * sizeof(float));
    assert_true(o->w && o->m && o->v && o->mask && o->h && o->c);
    assert_non_null(t->opt.m);
    memcpy(o->w, m->w, o->n * sizeof(float));
    memcpy(o->m, t->opt.m, o->n * sizeof(float));
    memcpy(o->v, t->opt.v, o->n * sizeof(float));
    memcpy(o->mask, m->mask, o->n);
    memcpy(o->h, t->state.h[0], o->n_state * sizeof(float));
    memcpy(o->c, t->state.c[0], o->n_state * sizeof(float));
    o->step = t->step;
    o->opt_t = t->opt.t;
    o->ep_tokens = t->ep_tokens;
    o->epoch = t->epoch;
    o->window = t->window;
    o->ep_nll = t->ep_nll;
    o->lr = t->opt.lr;
    o->rng = t->rng;
}

static int same_state(const Session *s, const Saved *o)
{
    const Model *m = &s->model;
    const Trainer *t = &s->trainer;
    return m->n_params == o->n && !memcmp(m->w, o->w, o->n * sizeof(float)) &&
           !memcmp(t->opt.m, o->m, o->n * sizeof(float)) && !memcmp(t->opt.v, o->v, o->n * sizeof(float)) &&
           !memcmp(m->mask, o->mask, o->n) && !memcmp(t->state.h[0], o->h, o->n_state * sizeof(float)) &&
           !memcmp(t->state.c[0], o->c, o->n_state * sizeof(float)) && t->step == o->step && t->opt.t == o->opt_t &&
           t->ep_tokens == o->ep_tokens && t->epoch == o->epoch && t->window == o->window &&
           !memcmp(&t->ep_nll, &o->ep_nll, sizeof o->ep_nll) && !memcmp(&t->opt.lr, &o->lr, sizeof o->lr) &&
           !memcmp(&t->rng, &o->rng, sizeof o->rng);
}

static void assert_same_state(const Session *s, const Saved *o)
{
    const Model *m = &s->model;
    const Trainer *t = &s->trainer;
    assert_int_equal(m->n_params, o->n);
    assert_memory_equal(m->w, o->w, o->n * sizeof(float));
    assert_memory_equal(m->mask, o->mask, o->n);
    assert_memory_equal(t->opt.m, o->m, o->n * sizeof(float));
    assert_memory_equal(t->opt.v, o->v, o->n * sizeof(float));
    assert_memory_equal(t->state.h[0], o->h, o->n_state * sizeof(float));
    assert_memory_equal(t->state.c[0], o->c, o->n_state * sizeof(float));
    assert_int_equal(t->step, o->step);
    assert_int_equal(t->opt.t, o->opt_t);
    assert_int_equal(t->ep_tokens, o->ep_tokens);
    assert_int_equal(t->epoch, o->epoch);
    assert_int_equal(t->window, o->window);
    assert_memory_equal(&t->ep_nll, &o->ep_nll, sizeof o->ep_nll);
    assert_memory_equal(&t->opt.lr, &o->lr, sizeof o->lr);
    assert_memory_equal(&t->rng, &o->rng, sizeof o->rng);
    assert_true(same_state(s, o));
}

static void free_state(Saved *o)
{
    free(o->w);
    free(o->m);
    free(o->v);
    free(o->mask);
    free(o->h);
    free(o->c);
}

static JournalEntry *journal(const Session *s, int *n)
{
    JournalEntry *e = NULL;
    int torn = 0;
    assert_int_equal(journal_read(s->dir, &e, n, &torn), TP_OK);
    assert_int_equal(torn, 0);
    return e;
}

static int count_undo(const Session *s)
{
    SnapshotInfo list[64];
    int n = 0, k = 0;
    assert_int_equal(snapshot_list(s->dir, list, 64, &n), TP_OK);
    for (int i = 0; i < n; i++) k += !strncmp(list[i].name, "undo-", 5);
    return k;
}

static void test_train_advances_and_journals(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    CommandResult r;
    assert_int_equal(run(&s, "train steps=3 # warm-up", &r), TP_OK);
    assert_int_equal(s.trainer.step, 3);
    assert_true(r.changed);
    assert_non_null(strstr(r.text, "trained 3 step(s) to step 3"));
    /* a whole number in any notation the parser accepts means that number */
    assert_int_equal(run(&s, "train steps=1e1", &r), TP_OK);
    assert_int_equal(s.trainer.step, 13);
    assert_int_equal(run(&s, "train steps=0x2", &r), TP_OK);
    assert_int_equal(s.trainer.step, 15);
    int n;
    JournalEntry *e = journal(&s, &n);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].command, "train steps=3");
    assert_int_equal(e[0].step, 0);
    assert_non_null(strstr(e[0].result, "trained 3 step(s)"));
    assert_string_equal(e[1].command, "train steps=10");
    assert_int_equal(e[1].step, 3);
    assert_string_equal(e[2].command, "train steps=2");
    free(e);
    /* train takes at most one of steps= and epochs=; limit= only in the bare form */
    assert_int_equal(run(&s, "train steps=1 epochs=1", NULL), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "one of"));
    assert_int_equal(run(&s, "train steps=1 limit=1", NULL), TP_EINVAL);
    assert_int_equal(s.trainer.step, 15);
    e = journal(&s, &n);
    assert_int_equal(n, 3); /* refused commands are not journaled */
    free(e);
    /* the bare form (topiary train): to the end of the epochs, at most limit= steps; journaled as the
     * steps it ran */
    assert_int_equal(run(&s, "train limit=2", NULL), TP_OK);
    assert_int_equal(s.trainer.step, 17);
    e = journal(&s, &n);
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
    new_session(&s);
    run_ok(&s, "train steps=2");
    CommandResult r;
    assert_int_equal(run(&s, "train epochs=1", &r), TP_OK);
    assert_int_equal(s.trainer.epoch, 2);
    assert_int_equal(s.trainer.window, 0);
    long per_epoch = (long)s.trainer.n_windows;
    assert_int_equal(s.trainer.step, per_epoch);
    assert_true(isfinite(s.valid_ppl));
    assert_non_null(strstr(r.text, "valid ppl"));
    int n;
    JournalEntry *e = journal(&s, &n);
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
    new_session(&s);
    CommandResult r;
    assert_int_equal(run(&s, "eval", &r), TP_OK);
    assert_non_null(strstr(r.text, "valid ppl"));
    assert_true(isfinite(s.valid_ppl));
    assert_int_equal(run(&s, "eval split=test", &r), TP_OK);
    assert_non_null(strstr(r.text, "test ppl"));
    assert_int_equal(run(&s, "status", &r), TP_OK);
    assert_non_null(strstr(r.text, "step 0"));
    assert_int_equal(run(&s, "help", &r), TP_OK);
    assert_non_null(strstr(r.text, "snapshot"));
    assert_int_equal(run(&s, "help set", &r), TP_OK);
    assert_non_null(strstr(r.text, "log_every"));
    assert_int_equal(run(&s, "snapshots", &r), TP_OK);
    assert_non_null(strstr(r.text, "initial"));
    assert_int_equal(run(&s, "save", &r), TP_OK);
    assert_non_null(strstr(r.text, "saved"));
    assert_int_equal(run(&s, "   # nothing", &r), TP_OK);
    assert_int_equal(run(&s, "", &r), TP_OK);
    assert_false(r.changed);
    assert_int_equal(s.trainer.step, 0);
    int n;
    JournalEntry *e = journal(&s, &n);
    assert_int_equal(n, 0);
    free(e);
    session_free(&s);
}

static void test_set_changes_the_rate(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    CommandResult r;
    assert_int_equal(run(&s, "set lr=0.003 clip=0.5 # slower", &r), TP_OK);
    assert_true(r.changed);
    assert_true(s.trainer.opt.lr == 0.003f);
    assert_true(s.trainer.cfg.lr == 0.003f);
    assert_true(s.task.train.lr == 0.003f);
    assert_true(s.trainer.cfg.clip == 0.5f);
    assert_int_equal(run(&s, "set log_every=7 eval_batch=2 epochs=9", &r), TP_OK);
    assert_int_equal(s.task.log_every, 7);
    assert_int_equal(s.task.eval_batch, 2);
    assert_int_equal(s.trainer.cfg.epochs, 9);
    assert_int_equal(run(&s, "set", &r), TP_EINVAL);
    assert_int_equal(run(&s, "set lr=0", &r), TP_ERANGE);
    assert_true(s.trainer.opt.lr == 0.003f);
    /* the rate is used by the next step and survives save/open */
    run_ok(&s, "train steps=1");
    assert_true(s.trainer.opt.lr == 0.003f);
    run_ok(&s, "save");
    Session b;
    assert_int_equal(session_open(&b, s.dir, NULL), TP_OK);
    assert_true(b.trainer.opt.lr == 0.003f);
    assert_true(b.trainer.cfg.clip == 0.5f);
    session_free(&b);
    int n;
    JournalEntry *e = journal(&s, &n);
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
    new_session(&s);
    int checked = 0;
    for (const char *const *v = command_verbs(); *v; v++) {
        const char *h = command_help(*v);
        if (!strstr(h, "(not available yet)")) continue;
        const char *line = NULL;
        for (int i = 0; i < N_VALID && !line; i++)
            if (!strcmp(VALID[i].verb, *v)) line = VALID[i].line;
        assert_non_null(line);
        CommandResult r;
        TpStatus st = run(&s, line, &r);
        if (st != TP_ENOTAVAIL) fail_msg("'%s': %d (%s), expected TP_ENOTAVAIL", line, st, err_msg());
        assert_non_null(strstr(err_msg(), "not available yet: needs "));
        checked++;
    }
    print_message("checked %d verb(s) that are not available yet\n", checked);
    /* nothing was journaled, no undo point taken, no state changed */
    assert_int_equal(s.trainer.step, 0);
    assert_int_equal(count_undo(&s), 0);
    int n;
    JournalEntry *e = journal(&s, &n);
    assert_int_equal(n, 0);
    free(e);
    session_free(&s);
}

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
    new_session(&s);
    knock_out(&s, 7);
    run_ok(&s, "train steps=2");
    Saved a, b0, b;
    save_state(&s, &a);          /* A: after 2 steps, with mask pattern 1 */
    run_ok(&s, "train steps=3");
    save_state(&s, &b0);         /* after 5 steps */
    knock_out(&s, 3);            /* a different mask, as if pruned since */
    save_state(&s, &b);          /* B: after 5 steps and the knock-out */
    run_ok(&s, "train steps=4");
    assert_int_equal(s.trainer.step, 9);
    assert_false(same_state(&s, &b));

    CommandResult r;
    assert_int_equal(run(&s, "undo", &r), TP_OK);
    assert_true(r.changed);
    assert_non_null(strstr(r.text, "undone: train steps=4"));
    assert_same_state(&s, &b);   /* exact weights, masks, optimizer state, trainer position */
    assert_int_equal(run(&s, "undo", &r), TP_OK);
    assert_non_null(strstr(r.text, "train steps=3"));
    assert_same_state(&s, &a);   /* a second undo goes one step further back */

    /* the state after undo trains on exactly as it did the first time */
    run_ok(&s, "train steps=3");
    assert_same_state(&s, &b0);

    int n;
    JournalEntry *e = journal(&s, &n);
    assert_int_equal(n, 6);
    assert_string_equal(e[3].command, "undo");
    assert_string_equal(e[4].command, "undo");
    free(e);
    free_state(&a);
    free_state(&b0);
    free_state(&b);
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
    new_session(&s);
    run_ok(&s, "train steps=2");
    int checked = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char verb[16];
        sscanf(lines[i], "%15s", verb);
        if (strstr(command_help(verb), "(not available yet)")) continue;
        Saved a;
        save_state(&s, &a);
        CommandResult r;
        TpStatus st = run(&s, lines[i], &r);
        if (st != TP_OK) fail_msg("'%s': %s", lines[i], err_msg());
        if (same_state(&s, &a)) fail_msg("'%s' changed nothing", lines[i]);
        assert_int_equal(run(&s, "undo", &r), TP_OK);
        assert_same_state(&s, &a);
        assert_int_equal(s.model.cfg.hidden[0], 16);
        free_state(&a);
        if (strncmp(lines[i], "resize", 6)) run_ok(&s, lines[i]); /* go on from the changed state */
        run_ok(&s, "train steps=1");
        checked++;
    }
    print_message("undid %d structural command(s)\n", checked);
    session_free(&s);
}

static void test_undo_ring_is_bounded(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    CommandResult r;
    assert_int_equal(run(&s, "undo", &r), TP_ENOENT); /* nothing yet */
    assert_non_null(strstr(err_msg(), "nothing to undo"));
    int total = SNAPSHOT_UNDO_DEPTH + 3;
    for (int i = 0; i < total; i++) {
        run_ok(&s, "train steps=1");
        assert_true(count_undo(&s) <= SNAPSHOT_UNDO_DEPTH);
    }
    assert_int_equal(count_undo(&s), SNAPSHOT_UNDO_DEPTH);
    for (int i = 0; i < SNAPSHOT_UNDO_DEPTH; i++) {
        assert_int_equal(run(&s, "undo", &r), TP_OK);
        assert_int_equal(s.trainer.step, total - 1 - i);
    }
    assert_int_equal(count_undo(&s), 0);
    assert_int_equal(run(&s, "undo", &r), TP_ENOENT);
    assert_int_equal(s.trainer.step, total - SNAPSHOT_UNDO_DEPTH);
    session_free(&s);
}

static void test_snapshot_and_restore(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    run_ok(&s, "train steps=2");
    Saved a;
    save_state(&s, &a);
    CommandResult r;
    assert_int_equal(run(&s, "snapshot name=best", &r), TP_OK);
    assert_non_null(strstr(r.text, "snapshot best at step 2"));
    assert_int_equal(run(&s, "snapshot", &r), TP_OK); /* default name: step-<step> */
    assert_non_null(strstr(r.text, "step-2"));
    knock_out(&s, 5);
    run_ok(&s, "train steps=3");
    run_ok(&s, "set lr=0.5");
    assert_int_equal(run(&s, "snapshots", &r), TP_OK);
    assert_non_null(strstr(r.text, "best"));
    assert_non_null(strstr(r.text, "step-2"));
    assert_non_null(strstr(r.text, "initial"));
    assert_non_null(strstr(r.summary, "snapshot(s)"));

    assert_int_equal(run(&s, "restore name=best", &r), TP_OK);
    assert_non_null(strstr(r.text, "restored best: step 2"));
    assert_same_state(&s, &a);
    /* the snapshot survives a restore and can be restored again */
    run_ok(&s, "train steps=1");
    run_ok(&s, "restore name=best");
    assert_same_state(&s, &a);
    /* overwriting a name replaces it */
    run_ok(&s, "train steps=1");
    run_ok(&s, "snapshot name=best");
    run_ok(&s, "restore name=initial");
    assert_int_equal(s.trainer.step, 0);
    run_ok(&s, "restore name=best");
    assert_int_equal(s.trainer.step, 3);

    assert_int_equal(run(&s, "restore name=nosuch", &r), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "no snapshot named 'nosuch'"));
    assert_int_equal(s.trainer.step, 3);
    free_state(&a);
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
    new_session(&a);
    run_ok(&a, "schedule gp grow=0.2 prune=0.2 every=5 tolerance=1000 batches=4 cycles=3");
    run_ok(&a, "train steps=3"); /* baseline eval at step 0, then growth: 3 of 4 batches accumulated */
    assert_int_equal(a.gp.sched.phase, GP_ACCUM);
    assert_true(a.gp.acc.n_batches > 0);
    long stops[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(session_save(&a), TP_OK);
        TpStatus st = session_open(&b, a.dir, NULL);
        if (st != TP_OK) fail_msg("session_open: %s", err_msg());
        assert_same_schedule(&a, &b);
        stops[round] = a.gp.sched.phase;
        run_ok(&a, "train steps=17");
        run_ok(&b, "train steps=17");
        Saved sa;
        save_state(&a, &sa);
        assert_same_state(&b, &sa);
        assert_same_schedule(&a, &b);
        free_state(&sa);
        session_free(&b);
    }
    assert_int_equal(stops[0], GP_ACCUM);
    assert_true(stops[1] == GP_PRUNE || stops[1] == GP_RETRAIN_PRUNE); /* pruning, with a good copy */
    assert_true(a.gp.sched.n_good > 0 && a.gp.sched.n_prunes > 0 && a.gp.sched.n_grows > 0);
    session_free(&a);
}

static void test_snapshot_names_refused(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    const char *bad[] = {"snapshot name=\"a b\"", "snapshot name=../escape", "snapshot name=a/b", "snapshot name=-x",
                         "snapshot name=.hidden", "snapshot name=undo-3", "snapshot name=initial", "snapshot name=caf\xc3\xa9",
                         "snapshot name=0123456789012345678901234567890123456789012345678",
                         "restore name=../../etc", "restore name=\"\"", "restore name=a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CommandResult r;
        TpStatus st = run(&s, bad[i], &r);
        if (st != TP_EINVAL) fail_msg("'%s': %d (%s), expected TP_EINVAL", bad[i], st, err_msg());
    }
    /* 48 characters is the longest name */
    run_ok(&s, "snapshot name=012345678901234567890123456789012345678901234567");
    SnapshotInfo list[16];
    int n = 0;
    assert_int_equal(snapshot_list(s.dir, list, 16, &n), TP_OK);
    assert_int_equal(n, 2); /* initial and the 48-character one; nothing escaped */
    char p[4200];
    snprintf(p, sizeof p, "%s/escape", g_root);
    assert_false(fsutil_exists(p));
    session_free(&s);
}

static void test_quit_sets_quit(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    run_ok(&s, "train steps=1");
    CommandResult r;
    assert_int_equal(run(&s, "quit", &r), TP_OK);
    assert_true(r.quit);
    /* quit saved: the session opens at step 1 */
    Session b;
    assert_int_equal(session_open(&b, s.dir, NULL), TP_OK);
    assert_int_equal(b.trainer.step, 1);
    session_free(&b);
    assert_int_equal(run(&s, "status", &r), TP_OK);
    assert_false(r.quit);
    session_free(&s);
}

static void test_parse_errors_through_execute(void **state)
{
    (void)state;
    Session s;
    new_session(&s);
    CommandResult r;
    assert_int_equal(run(&s, "trian steps=1", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "did you mean 'train'?"));
    assert_int_equal(run(&s, "train steps=0", &r), TP_ERANGE);
    assert_int_equal(s.trainer.step, 0);
    assert_int_equal(count_undo(&s), 0);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest exec[] = {
        cmocka_unit_test(test_train_advances_and_journals),
        cmocka_unit_test(test_train_epochs_journals_steps),
        cmocka_unit_test(test_read_only_verbs_do_not_journal),
        cmocka_unit_test(test_set_changes_the_rate),
        cmocka_unit_test(test_not_available_verbs),
        cmocka_unit_test(test_undo_restores_exactly),
        cmocka_unit_test(test_undo_after_structural_verbs),
        cmocka_unit_test(test_undo_ring_is_bounded),
        cmocka_unit_test(test_snapshot_and_restore),
        cmocka_unit_test(test_snapshot_names_refused),
        cmocka_unit_test(test_gp_schedule_resumes_exactly),
        cmocka_unit_test(test_quit_sets_quit),
        cmocka_unit_test(test_parse_errors_through_execute),
    };
    return cmocka_run_group_tests_name("command execution", exec, group_setup, group_teardown);
}
