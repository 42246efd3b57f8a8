/* tests/test_average: weight averaging (engine/train's TrainAverage, sessions/average, the `average`
 * verb and `eval average=1`) on real session files: the mean is the arithmetic mean of the weights
 * after the sampled steps (checked against copies taken by hand), `eval average=1` scores it and
 * leaves the model as it was, apply makes the live weights the mean (pruned ones stay 0) and undo
 * brings the running average back; a save, a reopen and `replay --verify` keep the mean bit for bit;
 * refusals (nothing to apply or drop, no sample yet, keys that do not belong, a device backend)
 * change nothing, and a resize ends the average. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "engine/backend_ops.h"
#include "export_fixture.h"
#include "sessions/command.h"
#include "sessions/replay.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"

static void run_ok(Session *s, const char *line, CommandResult *r)
{
    if (command_execute(s, line, r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

static void fresh(Session *s, char *dir, size_t n, const char *tag)
{
    ef_path_in(dir, n, ef_root, tag);
    Task t;
    ef_tiny_task(&t, MODEL_CELL_LSTM);
    if (session_new(s, dir, &t) != TP_OK) fail_msg("session_new: %s", err_msg());
}

static int n_snapshots(const Session *s)
{
    SnapshotInfo list[64];
    int n = 0;
    assert_int_equal(snapshot_list(s->dir, list, 64, &n), TP_OK);
    return n;
}

static void refused(Session *s, const char *line, const char *says)
{
    CommandResult r;
    size_t np = s->model.n_params;
    float *w = malloc(np * sizeof(float));
    memcpy(w, s->model.w, np * sizeof(float));
    long count = s->trainer.avg.count;
    int on = s->trainer.avg.mean != NULL, snaps = n_snapshots(s);
    assert_int_not_equal(command_execute(s, line, &r), TP_OK);
    if (!strstr(err_msg(), says)) fail_msg("%s: message \"%s\" does not say \"%s\"", line, err_msg(), says);
    assert_memory_equal(w, s->model.w, np * sizeof(float));
    assert_int_equal(on, s->trainer.avg.mean != NULL);
    assert_int_equal(count, s->trainer.avg.count);
    assert_int_equal(snaps, n_snapshots(s)); /* no undo point left behind */
    free(w);
}

static void test_average_is_the_mean(void **state)
{
    (void)state;
    Session s;
    char dir[1024];
    CommandResult r;
    fresh(&s, dir, sizeof dir, "mean");
    run_ok(&s, "train steps=3", &r);
    run_ok(&s, "prune sparsity=0.4", &r);
    int snaps = n_snapshots(&s);
    run_ok(&s, "average", &r); /* the bare form: a status, no undo point */
    assert_non_null(strstr(r.text, "no weight average"));
    assert_int_equal(snaps, n_snapshots(&s));
    run_ok(&s, "average start every=2", &r);
    assert_non_null(strstr(r.text, "every 2-th"));
    const size_t np = s.model.n_params;
    double *sum = calloc(np, sizeof(double));
    for (int k = 1; k <= 6; k++) { /* samples after steps 2, 4, 6 of the average */
        run_ok(&s, "train steps=1", &r);
        if (k % 2 == 0)
            for (size_t i = 0; i < np; i++) sum[i] += s.model.w[i];
    }
    assert_int_equal(s.trainer.avg.count, 3);
    double worst = 0.0;
    for (size_t i = 0; i < np; i++) worst = fmax(worst, fabs(sum[i] / 3.0 - s.trainer.avg.mean[i]));
    assert_true(worst < 1e-6);
    run_ok(&s, "average", &r);
    assert_non_null(strstr(r.text, "3 samples, one every 2 steps since step 3"));
    run_ok(&s, "status", &r);
    assert_non_null(strstr(r.text, "weight average: 3 samples"));

    /* eval average=1 scores the mean and changes nothing: not the weights, not the session's figure */
    float *w = malloc(np * sizeof(float));
    memcpy(w, s.model.w, np * sizeof(float));
    run_ok(&s, "eval", &r);
    double own = s.valid_ppl;
    run_ok(&s, "eval average=1", &r);
    assert_non_null(strstr(r.text, "with the weight average"));
    assert_memory_equal(w, s.model.w, np * sizeof(float));
    assert_true(s.valid_ppl == own);
    double shown = strtod(strstr(r.text, "ppl ") + 4, NULL);
    assert_true(fabs(shown - own) > 1e-3); /* the mean is another model */

    /* apply: live weights = mean, pruned stay exact zeros; the average ends; its ppl is the one shown */
    run_ok(&s, "average apply", &r);
    assert_null(s.trainer.avg.mean);
    for (size_t i = 0; i < np; i++) {
        if (!s.model.mask[i]) assert_true(s.model.w[i] == 0.0f);
        else assert_true(fabsf(s.model.w[i] - (float)(sum[i] / 3.0)) < 1e-6f);
    }
    run_ok(&s, "eval", &r);
    assert_true(fabs(s.valid_ppl - shown) < 0.01);
    /* undo: the weights as trained and the running average of 3 samples */
    run_ok(&s, "undo", &r);
    assert_memory_equal(w, s.model.w, np * sizeof(float));
    assert_non_null(s.trainer.avg.mean);
    assert_int_equal(s.trainer.avg.count, 3);
    free(w);
    free(sum);
    session_free(&s);
}

static void test_average_persists_and_replays(void **state)
{
    (void)state;
    Session s;
    char dir[1024];
    CommandResult r;
    fresh(&s, dir, sizeof dir, "persist");
    run_ok(&s, "train steps=2", &r);
    run_ok(&s, "average start every=3", &r);
    run_ok(&s, "train steps=7", &r);
    assert_int_equal(session_save(&s), TP_OK);
    const size_t np = s.model.n_params;
    float *mean = malloc(np * sizeof(float));
    memcpy(mean, s.trainer.avg.mean, np * sizeof(float));
    session_free(&s);
    /* reopened: the same mean, count, start and interval, and it goes on sampling on schedule */
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    assert_non_null(s.trainer.avg.mean);
    assert_int_equal(s.trainer.avg.count, 2);
    assert_int_equal(s.trainer.avg.start, 2);
    assert_int_equal(s.trainer.avg.every, 3);
    assert_memory_equal(mean, s.trainer.avg.mean, np * sizeof(float));
    run_ok(&s, "train steps=2", &r);
    assert_int_equal(s.trainer.avg.count, 3); /* step 11 = 2 + 3 * 3 */
    run_ok(&s, "average apply", &r);
    run_ok(&s, "train steps=1", &r);
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    /* the journal says what replay repeats, and --verify reproduces every bit */
    char path[1100];
    void *buf;
    size_t n;
    ef_path_in(path, sizeof path, dir, "journal.txt");
    assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, &n), TP_OK);
    assert_non_null(strstr(buf, "average start every=3"));
    assert_non_null(strstr(buf, "average apply"));
    free(buf);
    ReplayResult res;
    if (replay_run(dir, NULL, 1, NULL, NULL, &res) != TP_OK) fail_msg("replay: %s", err_msg());
    /* a second session stopped while averaging: replay --verify checks the mean too */
    char dir2[1024];
    fresh(&s, dir2, sizeof dir2, "persist-open");
    run_ok(&s, "average start every=1", &r);
    run_ok(&s, "train steps=4", &r);
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    if (replay_run(dir2, NULL, 1, NULL, NULL, &res) != TP_OK) fail_msg("replay: %s", err_msg());
    /* off: journaled, and the manifest forgets the average */
    assert_int_equal(session_open(&s, dir2, NULL), TP_OK);
    run_ok(&s, "average off", &r);
    assert_non_null(strstr(r.text, "4 samples dropped"));
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    assert_int_equal(session_open(&s, dir2, NULL), TP_OK);
    assert_null(s.trainer.avg.mean);
    session_free(&s);
    free(mean);
}

static void test_average_refusals(void **state)
{
    (void)state;
    Session s;
    char dir[1024];
    CommandResult r;
    fresh(&s, dir, sizeof dir, "refusals");
    run_ok(&s, "train steps=2", &r);
    refused(&s, "average apply", "no weight average is running");
    refused(&s, "average off", "no weight average is running");
    refused(&s, "eval average=1", "no weight average is running");
    refused(&s, "average start every=0", "every");
    refused(&s, "average every=3", "every= goes with `average start`");
    refused(&s, "average sideways", "average");
    run_ok(&s, "average start", &r);
    assert_int_equal(s.trainer.avg.every, 10);
    refused(&s, "average apply", "no sample yet");
    refused(&s, "average apply every=2", "takes no keys");
    /* a device backend keeps the weights: averaging stays on the CPU trainer, both ways round */
    /* TP_ENOTAVAIL: `--backend auto` then trains on the CPU (sessions/runtime) */
    assert_int_equal(train_use_backend(&s.trainer, backend_ops_cpu()), TP_ENOTAVAIL);
    assert_non_null(strstr(err_msg(), "weight average is running"));
    assert_null(s.trainer.dev);
    run_ok(&s, "average off", &r);
    assert_int_equal(train_use_backend(&s.trainer, backend_ops_cpu()), TP_OK);
    refused(&s, "average start", "CPU trainer");
    assert_int_equal(train_use_backend(&s.trainer, NULL), TP_OK);
    /* a resize changes the layout: the average ends, and says so */
    run_ok(&s, "average start every=1", &r);
    run_ok(&s, "train steps=1", &r);
    run_ok(&s, "resize layer=0 hidden=6", &r);
    assert_non_null(strstr(r.text, "the weight average ended"));
    assert_null(s.trainer.avg.mean);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_average_is_the_mean),
        cmocka_unit_test(test_average_persists_and_replays),
        cmocka_unit_test(test_average_refusals),
    };
    return cmocka_run_group_tests(tests, ef_group_setup, ef_group_teardown);
}
