/* tests/export_fixture: the corpus, the trained and pruned LSTM session and its export that
 * tests/test_export.c and tests/test_export_open.c share (see export_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "export_fixture.h"
#include "helpers.h"
#include "base/fsutil.h"
#include "sessions/export.h"
#include "sessions/session_new.h"

char *ef_root;          /* temp dir holding everything below            */
char ef_data[1024];     /* the corpus directory                         */
char ef_sess[1024];     /* the trained, pruned LSTM session             */
char ef_export[1024];   /* its export, copied by the refusal tests      */

static void write_split(const char *dir, const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(dir, name, n_lines, seed, 24, 8), 0);
}

void ef_tiny_task(Task *t, ModelCell cell)
{
    task_defaults(t);
    snprintf(t->data, sizeof t->data, "%s", ef_data);
    t->level = CORPUS_WORD;
    t->level_set = 1;
    t->model.cell = cell;
    t->model.n_layers = cell == MODEL_CELL_HLSTM ? 1 : 2;
    t->model.hidden[0] = 16;
    t->model.hidden[1] = 8;
    t->model.n_embed = 8;
    t->model.gate_hidden = cell == MODEL_CELL_HLSTM ? 6 : 0;
    t->model.dropout = 0.1f;
    t->train.bptt = 5;
    t->train.batch = 4;
    t->train.epochs = 5;
    t->train.optim = OPTIM_ADAM;
    t->train.lr = 0.01f;
    t->threads = 1;
    t->seed = 11;
}

void ef_path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s/%s", dir, name);
    assert_true(w > 0 && (size_t)w < n);
}

/* Train a few steps and prune every third entry of the recurrent matrices and the decoder, so
 * masks and exact zeros are exercised. */
void ef_make_session(Session *s, const char *dir, ModelCell cell)
{
    Task t;
    ef_tiny_task(&t, cell);
    TpStatus st = session_new(s, dir, &t);
    if (st != TP_OK) fail_msg("session_new: %s", err_msg());
    for (int i = 0; i < 6; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&s->trainer, &info), TP_OK);
    }
    Model *m = &s->model;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        if (p->kind != PARAM_WEIGHT) continue;
        for (size_t k = 0; k < p->n; k += 3) m->mask[p->off + k] = 0;
    }
    model_apply_mask(m);
    EvalResult e;
    assert_int_equal(train_evaluate(m, s->corpus.ids[CORPUS_VALID], s->corpus.n_ids[CORPUS_VALID], 1, 64, &e), TP_OK);
    s->valid_ppl = e.ppl;
}

int ef_group_setup(void **state)
{
    (void)state;
    ef_root = th_tempdir("export");
    if (!ef_root) return -1;
    snprintf(ef_data, sizeof ef_data, "%s/data", ef_root);
    if (fsutil_mkdir_p(ef_data) != TP_OK) return -1;
    write_split(ef_data, "ptb.train.txt", 200, 1);
    write_split(ef_data, "ptb.valid.txt", 40, 2);
    write_split(ef_data, "ptb.test.txt", 40, 3);
    snprintf(ef_sess, sizeof ef_sess, "%s/session", ef_root);
    snprintf(ef_export, sizeof ef_export, "%s/golden-export", ef_root);
    Session s;
    ef_make_session(&s, ef_sess, MODEL_CELL_LSTM);
    TpStatus st = session_save(&s);
    if (st == TP_OK) st = export_write(&s, ef_export);
    if (st != TP_OK) fprintf(stderr, "setup: %s\n", err_msg());
    session_free(&s);
    return st == TP_OK ? 0 : -1;
}

int ef_group_teardown(void **state)
{
    (void)state;
    th_rmtree(ef_root);
    free(ef_root);
    return 0;
}

/* ==== round trip ==== */
