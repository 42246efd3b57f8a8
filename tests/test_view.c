/* tests/test_view: sessions/view, the read-only views of a session, and the structured fields of
 * CommandResult that tell a front end which views to refresh.
 *
 * On a tiny word-level session: view_status and view_layers report what the session holds; every
 * tensor's view matches its name lookup and has a mask; metrics.tsv's rows come back as series in
 * order (a missing file is empty); a session without latency.tsv has no latency view, and after a
 * modelled profile the view has the curve and one recommendation per layer; the history view lists
 * the snapshots and the journal; a snapshot's non-zeros are those of the model when it was taken
 * (before and after a prune), and a missing snapshot is an error, not a number.  CommandResult: train marks model, metrics and history and names its
 * verb; a dry-run prune is flagged and marks nothing; a real prune is destructive; profile marks the
 * latency view; a parse error marks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/session_new.h"
#include "sessions/task.h"
#include "sessions/view.h"

static char *g_root;
static Session g_s;

static int setup(void **state)
{
    (void)state;
    g_root = th_tempdir("view");
    if (!g_root) return -1;
    char data[1024], dir[1100];
    snprintf(data, sizeof data, "%s/data", g_root);
    if (fsutil_mkdir_p(data) != TP_OK) return -1;
    if (th_write_words(data, "ptb.train.txt", 100, 1, 18, 6) || th_write_words(data, "ptb.valid.txt", 20, 2, 18, 6) ||
        th_write_words(data, "ptb.test.txt", 20, 3, 18, 6))
        return -1;
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", data);
    t.level = CORPUS_WORD;
    t.level_set = 1;
    t.model.n_layers = 2;
    t.model.hidden[0] = 16;
    t.model.hidden[1] = 24;
    t.model.n_embed = 8;
    t.train.bptt = 5;
    t.train.batch = 4;
    t.threads = 1;
    t.seed = 3;
    t.log_every = 2;
    snprintf(dir, sizeof dir, "%s/s", g_root);
    return session_create(&g_s, dir, &t) == TP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    session_free(&g_s);
    th_rmtree(g_root);
    free(g_root);
    return 0;
}

static void run_ok(const char *line, CommandResult *r)
{
    if (command_execute(&g_s, line, r) != TP_OK) fail_msg("'%s': %s", line, err_msg());
}

static void test_status_and_tensors(void **state)
{
    (void)state;
    ViewStatus v;
    view_status(&g_s, &v);
    assert_int_equal(v.n_layers, 2);
    assert_int_equal(v.hidden[0], 16);
    assert_int_equal(v.hidden[1], 24);
    assert_string_equal(v.name, "s");
    assert_string_equal(v.level, "word");
    assert_string_equal(v.cell, "LSTM");
    assert_non_null(v.backend);
    assert_true(v.params > 0 && v.nnz <= v.params);
    assert_int_equal(v.step, view_step(&g_s));
    assert_int_equal(v.n_vocab, g_s.corpus.n_vocab);
    assert_string_equal(v.distill, ""); /* no teacher; with one the Train screen names it */
    snprintf(g_s.task.teacher, sizeof g_s.task.teacher, "/runs/dense-export");
    g_s.task.distill_alpha = 0.5f;
    view_status(&g_s, &v);
    assert_string_equal(v.distill, "alpha 0.5 from dense-export");
    g_s.task.teacher[0] = '\0';
    g_s.task.distill_alpha = 0.0f;
    assert_string_equal(v.average, ""); /* no weight average; with one the Train screen shows its samples */
    assert_int_equal(train_average_begin(&g_s.trainer, 5), TP_OK);
    g_s.trainer.avg.count = 3;
    view_status(&g_s, &v);
    assert_string_equal(v.average, "3 samples every 5 since 0");
    train_average_end(&g_s.trainer);
    ViewProgress pr;
    view_progress(&g_s, &pr);
    assert_int_equal(pr.step, v.step);
    assert_int_equal(pr.epoch, v.epoch);
    assert_int_equal(pr.epochs, v.epochs);
    assert_true(pr.epoch_fraction >= 0 && pr.epoch_fraction <= 1);
    assert_true(pr.windows_left > 0);
    assert_false(pr.finished);
    assert_true(pr.lr == v.lr);
    int hidden[VIEW_MAX_LAYERS];
    assert_int_equal(view_layers(&g_s, hidden), 2);
    assert_int_equal(hidden[1], 24);
    int n = view_n_tensors(&g_s), weights = 0;
    assert_true(n > 4);
    for (int i = 0; i < n; i++) {
        ViewTensor t;
        view_tensor(&g_s, i, &t);
        assert_non_null(t.name);
        assert_int_equal(view_tensor_find(&g_s, t.name), i);
        assert_non_null(t.mask);
        assert_true(t.rows > 0 && t.cols > 0);
        assert_true(t.density >= 0 && t.density <= 1);
        weights += !t.is_bias;
    }
    assert_true(weights > 0);
    assert_int_equal(view_tensor_find(&g_s, "no.such"), -1);
}

static void test_command_results_say_what_changed(void **state)
{
    (void)state;
    CommandResult r;
    run_ok("train steps=6", &r);
    assert_string_equal(r.verb, "train");
    assert_true(r.destructive);
    assert_false(r.dry_run);
    assert_false(r.nan);
    assert_true(r.views & COMMAND_VIEW_MODEL);
    assert_true(r.views & COMMAND_VIEW_METRICS);
    assert_true(r.views & COMMAND_VIEW_HISTORY);
    assert_false(r.views & COMMAND_VIEW_LATENCY);
    run_ok("prune ratio=0.5 dry=1", &r);
    assert_string_equal(r.verb, "prune");
    assert_true(r.dry_run);
    assert_false(r.destructive);
    assert_int_equal(r.views, 0);
    run_ok("prune ratio=0.1", &r);
    assert_true(r.destructive);
    assert_true(r.views & COMMAND_VIEW_MODEL);
    assert_true(r.views & COMMAND_VIEW_METRICS); /* its event row */
    assert_non_null(strstr(r.text, "pruned 10.0 % of the live weights"));
    assert_non_null(strstr(r.text, "sparsity: model 0.0 % -> "));
    assert_non_null(strstr(r.text, "(prunable matrices 0.0 % -> 10.0 %)"));
    assert_non_null(strstr(r.text, "slice ppl "));
    ViewStatus v;
    view_status(&g_s, &v);
    assert_true(fabs(v.matrix_sparsity - 0.1) < 0.002 && v.sparsity < v.matrix_sparsity);
    run_ok("status", &r);
    assert_string_equal(r.verb, "status");
    assert_int_equal(r.views, 0);
    assert_int_equal(command_execute(&g_s, "prnue ratio=0.1", &r), TP_EINVAL);
    assert_int_equal(r.views, 0);
    assert_string_equal(r.verb, "");
}

static void test_metrics_series(void **state)
{
    (void)state;
    ViewSeries m = {0};
    assert_int_equal(view_metrics_load(&m, g_s.dir), TP_OK);
    assert_true(m.n >= 4);   /* log_every 2 over 6 steps, and the row of the prune at step 6 */
    /* never back in steps; the prune's row shares the step of the training row before it */
    for (int i = 1; i < m.n; i++) assert_true(m.step[i] >= m.step[i - 1]);
    assert_true(isfinite(m.train_ppl[m.n - 2]));
    assert_true(isnan(m.train_ppl[m.n - 1]) && m.step[m.n - 1] == 6);
    assert_true(m.matrix_sparsity[m.n - 1] > m.sparsity[m.n - 1]); /* 10 % of the matrices; less of the model */
    /* the prune is an event, with the fixed validation slice's perplexity before and after */
    assert_int_equal(m.n_events, 1);
    assert_string_equal(m.events[0].kind, "prune");
    assert_string_equal(m.events[0].source, "command");
    assert_int_equal(m.events[0].step, 6);
    assert_true(m.events[0].nnz < m.events[0].nnz_before);
    assert_true(isfinite(m.events[0].ppl_before) && isfinite(m.events[0].ppl_after));
    assert_true(m.events[0].slice_tokens > 0 && m.events[0].slice_tokens <= EVENTS_SLICE_TOKENS);
    assert_true(fabs(100.0 * m.events[0].matrix_sparsity - m.matrix_sparsity[m.n - 1]) < 1e-3);
    int n = m.n;
    SessionMetrics row;
    session_metrics_now(&g_s, &row);
    row.sparsity = 0.25;
    assert_int_equal(view_metrics_push(&m, &row), TP_OK);
    assert_int_equal(m.n, n + 1);
    assert_true(fabs(m.sparsity[n] - 25.0) < 1e-9);
    view_metrics_free(&m);
    assert_int_equal(m.n, 0);
    char empty[1200];
    snprintf(empty, sizeof empty, "%s/data", g_root);
    assert_int_equal(view_metrics_load(&m, empty), TP_OK);
    assert_int_equal(m.n, 0);
}

static void test_latency_view(void **state)
{
    (void)state;
    ViewLatency v;
    assert_int_equal(view_latency_load(&v, &g_s), TP_OK);
    assert_false(v.have);
    CommandResult r;
    run_ok("profile backend=accel sizes=8:64:8", &r);
    assert_true(r.views & COMMAND_VIEW_LATENCY);
    assert_int_equal(view_latency_load(&v, &g_s), TP_OK);
    assert_true(v.have);
    assert_int_equal(v.n, 8);
    assert_true(v.hidden[0] == 8 && v.hidden[7] == 64);
    assert_string_equal(v.backend, "accel");
    assert_int_equal(v.n_layers, 2);
    for (int l = 0; l < 2; l++) {
        assert_true(strlen(v.rec[l]) > 0);
        assert_null(strchr(v.rec[l], '\n'));
        assert_true(v.rec_hidden[l] == 0 || v.rec_hidden[l] >= v.current[l]);
    }
    view_latency_free(&v);
    assert_false(v.have);
}

static void test_history_view(void **state)
{
    (void)state;
    CommandResult r;
    run_ok("snapshot name=mine", &r);
    assert_true(r.views & COMMAND_VIEW_HISTORY);
    ViewHistory h;
    assert_int_equal(view_history_load(&h, g_s.dir), TP_OK);
    int found = 0;
    for (int i = 0; i < h.n_snaps; i++) found += !strcmp(h.snaps[i].name, "mine");
    assert_int_equal(found, 1);
    assert_true(h.n_journal >= 3);
    assert_non_null(strstr(h.journal[h.n_journal - 1].command, "snapshot name=mine"));
    view_history_free(&h);
    assert_null(h.journal);
}

static void test_snapshot_nnz(void **state)
{
    (void)state;
    CommandResult r;
    ViewStatus before, after;
    view_status(&g_s, &before);
    run_ok("snapshot name=dense", &r);
    run_ok("prune ratio=0.5", &r);
    run_ok("snapshot name=halved", &r);
    view_status(&g_s, &after);
    assert_true(after.nnz < before.nnz);
    size_t nnz = 0, params = 0;
    assert_int_equal(view_snapshot_nnz(g_s.dir, "dense", &nnz, &params), TP_OK);
    assert_int_equal(nnz, before.nnz);
    assert_int_equal(params, before.params);
    assert_int_equal(view_snapshot_nnz(g_s.dir, "halved", &nnz, &params), TP_OK);
    assert_int_equal(nnz, after.nnz);
    assert_int_equal(params, after.params);
    assert_int_not_equal(view_snapshot_nnz(g_s.dir, "nosuch", &nnz, &params), TP_OK);
    assert_int_equal(nnz, 0);
    assert_int_not_equal(view_snapshot_nnz(g_s.dir, "../s", &nnz, &params), TP_OK);
    run_ok("undo", &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_tensors),
        cmocka_unit_test(test_command_results_say_what_changed),
        cmocka_unit_test(test_metrics_series),
        cmocka_unit_test(test_latency_view),
        cmocka_unit_test(test_history_view),
        cmocka_unit_test(test_snapshot_nnz),
    };
    return cmocka_run_group_tests_name("sessions view", tests, setup, teardown);
}
