/* tests/verbs_fixture: the tiny word-level sessions that tests/test_command_verbs.c and
 * tests/test_snapshot.c run verbs on, and the copy of everything undo must bring back (see .h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "verbs_fixture.h"
#include "base/fsutil.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"

char *vf_root;
char vf_data[1024];
int vf_seq;

static void write_split(const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(vf_data, name, n_lines, seed, 18, 6), 0);
}

int vf_group_setup(void **state)
{
    (void)state;
    vf_root = th_tempdir("command");
    if (!vf_root) return -1;
    snprintf(vf_data, sizeof vf_data, "%s/data", vf_root);
    if (fsutil_mkdir_p(vf_data) != TP_OK) return -1;
    write_split("ptb.train.txt", 120, 1);
    write_split("ptb.valid.txt", 20, 2);
    write_split("ptb.test.txt", 20, 3);
    return 0;
}

int vf_group_teardown(void **state)
{
    (void)state;
    th_rmtree(vf_root);
    free(vf_root);
    return 0;
}

/* A new session in its own directory: word level, 1 x LSTM(16), Adam, dropout (so the trainer's
 * random stream matters), bptt 5, batch 4. */
void vf_new_session(Session *s)
{
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", vf_data);
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
    snprintf(dir, sizeof dir, "%s/s%d", vf_root, vf_seq++);
    TpStatus st = session_create(s, dir, &t);
    if (st != TP_OK) fail_msg("session_create: %s", err_msg());
}

TpStatus vf_run(Session *s, const char *line, CommandResult *r)
{
    static CommandResult scratch;
    return command_execute(s, line, r ? r : &scratch);
}

void vf_run_ok(Session *s, const char *line)
{
    CommandResult r;
    TpStatus st = command_execute(s, line, &r);
    if (st != TP_OK) fail_msg("'%s': %d %s", line, st, err_msg());
}


void vf_save_state(const Session *s, VfSaved *o)
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

int vf_same_state(const Session *s, const VfSaved *o)
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

void vf_assert_same_state(const Session *s, const VfSaved *o)
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
    assert_true(vf_same_state(s, o));
}

void vf_free_state(VfSaved *o)
{
    free(o->w);
    free(o->m);
    free(o->v);
    free(o->mask);
    free(o->h);
    free(o->c);
}

JournalEntry *vf_journal(const Session *s, int *n)
{
    JournalEntry *e = NULL;
    int torn = 0;
    assert_int_equal(journal_read(s->dir, &e, n, &torn), TP_OK);
    assert_int_equal(torn, 0);
    return e;
}

int vf_count_undo(const Session *s)
{
    SnapshotInfo list[64];
    int n = 0, k = 0;
    assert_int_equal(snapshot_list(s->dir, list, 64, &n), TP_OK);
    for (int i = 0; i < n; i++) k += !strncmp(list[i].name, "undo-", 5);
    return k;
}
