/* tests/test_session: the session directory (DESIGN 2.3).
 *
 * A tiny word-level task (a generated PTB-style corpus of 300 lines, 1-2 LSTM layers of 8-16 units)
 * is trained a few steps, saved and reopened: parameters, masks, optimizer moments, trainer position,
 * dropout stream and carried state must come back bit for bit, and training continued from the
 * reopened session must give exactly the losses of the original.  Damage that only the session can
 * see (a task lying about the model's shape, a bad mask value, a trainer state out of range) must be
 * refused naming the file without touching a byte (the fixture: tests/session_fixture).  The
 * manifest's own checks are tests/test_manifest, the tensor and vocabulary checks tests/test_modelio.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "helpers.h"
#include "base/fsutil.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/task.h"
#include "session_fixture.h"

/* ==== Round trip and determinism ==== */

static void assert_sessions_equal(const Session *a, const Session *b)
{
    const Model *ma = &a->model, *mb = &b->model;
    assert_int_equal(ma->n_params, mb->n_params);
    assert_int_equal(ma->n_tensors, mb->n_tensors);
    const ModelConfig *ca = &ma->cfg, *cb = &mb->cfg; /* hidden[] past n_layers is not part of the model */
    assert_int_equal(ca->n_vocab, cb->n_vocab);
    assert_int_equal(ca->n_embed, cb->n_embed);
    assert_int_equal(ca->n_layers, cb->n_layers);
    assert_memory_equal(ca->hidden, cb->hidden, (size_t)ca->n_layers * sizeof ca->hidden[0]);
    assert_int_equal(ca->cell, cb->cell);
    assert_int_equal(ca->gate_hidden, cb->gate_hidden);
    assert_memory_equal(&ca->dropout, &cb->dropout, sizeof ca->dropout);
    assert_memory_equal(&ca->init_scale, &cb->init_scale, sizeof ca->init_scale);
    assert_memory_equal(ma->w, mb->w, ma->n_params * sizeof(float));
    assert_memory_equal(ma->mask, mb->mask, ma->n_params);

    const Trainer *ta = &a->trainer, *tb = &b->trainer;
    assert_int_equal(ta->step, tb->step);
    assert_int_equal(ta->epoch, tb->epoch);
    assert_int_equal(ta->window, tb->window);
    assert_int_equal(ta->n_windows, tb->n_windows);
    assert_int_equal(ta->ep_tokens, tb->ep_tokens);
    assert_memory_equal(&ta->ep_nll, &tb->ep_nll, sizeof ta->ep_nll);
    assert_memory_equal(&ta->rng, &tb->rng, sizeof ta->rng);
    assert_memory_equal(&ta->opt.lr, &tb->opt.lr, sizeof ta->opt.lr);
    assert_int_equal(ta->opt.kind, tb->opt.kind);
    assert_int_equal(ta->opt.t, tb->opt.t);
    assert_true((ta->opt.m == NULL) == (tb->opt.m == NULL));
    if (ta->opt.m) {
        assert_memory_equal(ta->opt.m, tb->opt.m, ma->n_params * sizeof(float));
        assert_memory_equal(ta->opt.v, tb->opt.v, ma->n_params * sizeof(float));
    }
    assert_int_equal(ta->state.B, tb->state.B);
    for (int l = 0; l < ma->cfg.n_layers; l++) {
        size_t n = (size_t)ta->state.B * ma->cfg.hidden[l] * sizeof(float);
        assert_memory_equal(ta->state.h[l], tb->state.h[l], n);
        assert_memory_equal(ta->state.c[l], tb->state.c[l], n);
    }
    assert_int_equal(ta->L, tb->L);
    assert_memory_equal(ta->data, tb->data, (size_t)ta->cfg.batch * ta->L * sizeof(int32_t));

    assert_int_equal(a->corpus.n_vocab, b->corpus.n_vocab);
    for (int i = 0; i < a->corpus.n_vocab; i++) assert_string_equal(a->corpus.vocab[i], b->corpus.vocab[i]);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(a->corpus.n_ids[k], b->corpus.n_ids[k]);
        assert_memory_equal(a->corpus.ids[k], b->corpus.ids[k], a->corpus.n_ids[k] * sizeof(int32_t));
    }
}

/* create → train → save → open: bit-identical; then both continue across an epoch boundary and must
 * produce the same losses, bit for bit, and end in the same state. */
static void roundtrip(int n_layers, OptimKind optim, float dropout, int steps_before)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/rt-%d-%d-%d", sf_root, n_layers, (int)optim, steps_before);
    Task t;
    sf_tiny_task(&t, n_layers, optim, dropout);
    Session a, b;
    assert_int_equal(session_new(&a, dir, &t), TP_OK);
    sf_train_n(&a, steps_before, NULL);
    a.valid_ppl = exp(4.123456789012345); /* doubles that 15 digits do not round-trip */
    a.wall_seconds = 1.0 / 3.0;
    assert_int_equal(session_save(&a), TP_OK);

    TpStatus st = session_open(&b, dir, NULL);
    if (st != TP_OK) fail_msg("session_open: %s", err_msg());
    assert_sessions_equal(&a, &b);
    assert_memory_equal(&a.valid_ppl, &b.valid_ppl, sizeof a.valid_ppl);
    assert_memory_equal(&a.wall_seconds, &b.wall_seconds, sizeof a.wall_seconds);

    /* continue both: past the end of the epoch (the state reset and lr schedule run too) */
    int more = (int)a.trainer.n_windows + 3;
    assert_true(a.trainer.epoch + 1 <= a.trainer.cfg.epochs);
    double *la = malloc((size_t)more * sizeof *la), *lb = malloc((size_t)more * sizeof *lb);
    assert_non_null(la);
    assert_non_null(lb);
    sf_train_n(&a, more, la);
    sf_train_n(&b, more, lb);
    assert_memory_equal(la, lb, (size_t)more * sizeof *la);
    assert_sessions_equal(&a, &b);
    free(la);
    free(lb);

    /* a second save/open of the continued copy is still the same */
    assert_int_equal(session_save(&b), TP_OK);
    Session c;
    assert_int_equal(session_open(&c, dir, NULL), TP_OK);
    assert_sessions_equal(&a, &c);
    session_free(&c);
    session_free(&b);
    session_free(&a);
}

static void test_roundtrip_sgd_one_layer(void **state)
{
    (void)state;
    roundtrip(1, OPTIM_SGD, 0.0f, 5);
}

static void test_roundtrip_adam_dropout_two_layers(void **state)
{
    (void)state;
    roundtrip(2, OPTIM_ADAM, 0.3f, 11);
}

static void test_roundtrip_fresh_session(void **state)
{
    (void)state;
    roundtrip(2, OPTIM_SGD, 0.1f, 0); /* saved by session_create, never trained */
}

static void test_create_refuses_existing_session(void **state)
{
    (void)state;
    char p[4096];
    void *before, *after;
    size_t nb, na;
    sf_path_in(p, sizeof p, sf_golden, "manifest.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &before, &nb), TP_OK);
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_not_equal(session_new(&s, sf_golden, &t), TP_OK);
    assert_non_null(strstr(err_msg(), "already exists"));
    assert_non_null(strstr(err_msg(), sf_golden));
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &after, &na), TP_OK);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
}

static void test_golden_opens(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "golden-copy");
    SfSnapshot before;
    sf_snapshot_take(&before, dir);
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st != TP_OK) fail_msg("session_open: %s", err_msg());
    assert_int_equal(s.trainer.step, 7);
    assert_true(isnan(s.valid_ppl)); /* never evaluated */
    size_t n_true = 0;
    for (int i = 0; i < s.model.n_tensors; i++) n_true += s.model.p[i].n;
    session_free(&s);
    cJSON *j = sf_manifest_load(dir);
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(j, "model");
    assert_true(cJSON_GetObjectItemCaseSensitive(mo, "params")->valuedouble == (double)n_true);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "state"), "step")->valueint, 7);
    cJSON_Delete(j);
    sf_snapshot_check_free(&before, dir); /* opening alone writes nothing */
}

static void test_open_refuses_missing_session(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/nowhere", sf_root);
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "manifest.json"));
    assert_false(fsutil_exists(dir));
}

/* task.hidden says 12 where the file holds 16 units: the CRC is fine, the shape check must catch it. */
static void test_open_refuses_manifest_lying_about_shape(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "lying");
    cJSON *j = sf_manifest_load(dir);
    cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "hidden");
    assert_true(cJSON_IsArray(h));
    cJSON_ReplaceItemInArray(h, 0, cJSON_CreateNumber(12));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "model.safetensors", "shape");

    /* the embedding size too */
    sf_copy_golden(dir, sizeof dir, "lying2");
    j = sf_manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "embed", cJSON_CreateNumber(9));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "model.safetensors", "embed.weight");

    /* one layer fewer than the file holds is also a lie the shapes reveal (l0's output feeds the decoder) */
    sf_copy_golden(dir, sizeof dir, "lying3");
    j = sf_manifest_load(dir);
    cJSON *task = cJSON_GetObjectItemCaseSensitive(j, "task");
    cJSON_ReplaceItemInObjectCaseSensitive(task, "layers", cJSON_CreateNumber(1));
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(task, "hidden"), 1);
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "model.safetensors", "decoder.weight");
}

static void test_open_refuses_bad_mask_value(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "mask2");
    sf_rewrite_model(dir, "mask.decoder.bias", 2);
    sf_expect_refused(dir, "model.safetensors", "mask");
}

static void test_open_refuses_state_out_of_range(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "badstate");
    cJSON *j = sf_manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "state"), "window",
                                           cJSON_CreateNumber(1e6));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "window");
}

/* ==== metrics.tsv ==== */

static int count_fields(const char *line, size_t n)
{
    int k = 1;
    for (size_t i = 0; i < n; i++) k += line[i] == '\t';
    return k;
}

static void test_metrics_rows_match_header(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/metrics", sf_root);
    Task t;
    sf_tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_equal(session_new(&s, dir, &t), TP_OK);
    SessionMetrics m;
    session_metrics_now(&s, &m);
    size_t n_true = 0;
    for (int i = 0; i < s.model.n_tensors; i++) n_true += s.model.p[i].n;
    assert_int_equal(m.params, n_true);
    assert_int_equal(m.nnz, n_true);
    assert_true(m.sparsity == 0.0);
    assert_int_equal(session_log_metrics(&s, &m), TP_OK); /* mostly NaN */
    sf_train_n(&s, 3, NULL);
    session_metrics_now(&s, &m);
    m.train_loss = 3.25;
    m.train_ppl = exp(3.25);
    m.valid_ppl = 1e300;
    m.latency_us = -0.0;
    m.tokens_per_s = INFINITY;
    m.seconds = 1e-300;
    m.step = 9000000000000L;
    assert_int_equal(session_log_metrics(&s, &m), TP_OK);
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    /* after reopening, rows still append to the same file */
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    session_metrics_now(&s, &m);
    assert_int_equal(m.step, 3);
    assert_int_equal(session_log_metrics(&s, &m), TP_OK);
    session_free(&s);

    void *buf;
    size_t n;
    sf_read_whole(dir, "metrics.tsv", &buf, &n);
    const char *txt = buf;
    assert_true(n > 0 && txt[n - 1] == '\n');
    const char *nl = memchr(txt, '\n', n);
    int cols = count_fields(txt, (size_t)(nl - txt));
    assert_true(cols >= 11);
    static const char want[] = "step\tepoch\tlr\ttrain_loss\ttrain_ppl\tvalid_ppl\tnnz\tparams\tsparsity"
                               "\tstate_sparsity\tlatency_us";
    assert_int_equal(strncmp(txt, want, sizeof want - 1), 0);
    int rows = 0;
    for (const char *line = nl + 1; line < txt + n;) {
        const char *end = memchr(line, '\n', (size_t)(txt + n - line));
        assert_non_null(end);
        if (count_fields(line, (size_t)(end - line)) != cols)
            fail_msg("metrics row %d has %d columns, header %d: %.*s", rows + 1, count_fields(line, (size_t)(end - line)),
                     cols, (int)(end - line), line);
        rows++;
        line = end + 1;
    }
    assert_int_equal(rows, 3);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sgd_one_layer),
        cmocka_unit_test(test_roundtrip_adam_dropout_two_layers),
        cmocka_unit_test(test_roundtrip_fresh_session),
        cmocka_unit_test(test_create_refuses_existing_session),
        cmocka_unit_test(test_golden_opens),
        cmocka_unit_test(test_open_refuses_missing_session),
        cmocka_unit_test(test_open_refuses_manifest_lying_about_shape),
        cmocka_unit_test(test_open_refuses_bad_mask_value),
        cmocka_unit_test(test_open_refuses_state_out_of_range),
        cmocka_unit_test(test_metrics_rows_match_header),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
