/* tests/test_export: writing the export directory (DESIGN 2.4, sessions/export).
 *
 * A tiny word-level task (a generated PTB-style corpus, 2 LSTM layers of 16 and 8 units, or one
 * H-LSTM layer; tests/export_fixture.c) is trained a few steps and partly pruned, then exported.
 * Reading the export back must give the session's weights and masks bit for bit, its evaluation the
 * session's NLL to the last bit, and the file must hold exactly the PyTorch names and shapes of
 * DESIGN 2.4; exports into a session or a foreign directory must be refused.  Reading damaged
 * exports: tests/test_export_open.c.
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
#include <unistd.h>

#include <cJSON.h>

#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "export_fixture.h"
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/export.h"
#include "base/fsutil.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/task.h"

/* Weights and masks of every registry tensor bit-identical; same architecture. */
static void assert_models_equal(const Model *a, const Model *b)
{
    assert_int_equal(a->n_tensors, b->n_tensors);
    assert_int_equal(a->cfg.n_vocab, b->cfg.n_vocab);
    assert_int_equal(a->cfg.n_embed, b->cfg.n_embed);
    assert_int_equal(a->cfg.n_layers, b->cfg.n_layers);
    assert_int_equal(a->cfg.cell, b->cfg.cell);
    assert_int_equal(a->cfg.gate_hidden, b->cfg.gate_hidden);
    for (int l = 0; l < a->cfg.n_layers; l++) assert_int_equal(a->cfg.hidden[l], b->cfg.hidden[l]);
    for (int i = 0; i < a->n_tensors; i++) {
        const ModelParam *p = &a->p[i], *q = &b->p[i];
        assert_string_equal(p->name, q->name);
        assert_int_equal(p->n, q->n);
        if (memcmp(a->w + p->off, b->w + q->off, p->n * sizeof(float))) fail_msg("weights of %s differ", p->name);
        if (memcmp(a->mask + p->off, b->mask + q->off, p->n)) fail_msg("mask of %s differs", p->name);
    }
}

static void check_roundtrip(ModelCell cell, const char *tag)
{
    char sdir[2048], edir[2048];
    snprintf(sdir, sizeof sdir, "%s/%s-session", ef_root, tag);
    snprintf(edir, sizeof edir, "%s/%s-export", ef_root, tag);
    Session s;
    ef_make_session(&s, sdir, cell);
    TpStatus st = export_write(&s, edir);
    if (st != TP_OK) fail_msg("export_write: %s", err_msg());
    Model m;
    ExportInfo info;
    st = export_load(&m, &info, edir);
    if (st != TP_OK) fail_msg("export_load: %s", err_msg());
    assert_models_equal(&s.model, &m);
    assert_int_equal(info.n_vocab, s.corpus.n_vocab);
    for (int i = 0; i < info.n_vocab; i++) assert_string_equal(info.vocab[i], s.corpus.vocab[i]);
    assert_int_equal(info.step, s.trainer.step);
    assert_int_equal(info.epoch, s.trainer.epoch);
    assert_int_equal(info.nnz, model_nnz(&s.model));
    assert_true(fabs(info.valid_ppl - s.valid_ppl) <= 1e-12 * s.valid_ppl);
    assert_true(info.sparsity > 0.2);
    assert_int_equal(info.task.level, CORPUS_WORD);
    assert_int_equal(info.task.threads, 1);
    model_free(&m);
    export_info_free(&info);
    session_free(&s);
}

static void test_roundtrip_lstm(void **state)
{
    (void)state;
    check_roundtrip(MODEL_CELL_LSTM, "lstm");
}

static void test_roundtrip_hlstm(void **state)
{
    (void)state;
    check_roundtrip(MODEL_CELL_HLSTM, "hlstm");
}

/* The file holds exactly the PyTorch names and shapes of DESIGN 2.4, F32 weights and U8 masks,
 * and __metadata__.topiary is config.json. */
static void test_pytorch_names_lstm(void **state)
{
    (void)state;
    char p[4096];
    ef_path_in(p, sizeof p, ef_export, "model.safetensors");
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    Session s;
    assert_int_equal(session_open(&s, ef_sess, NULL), TP_OK);
    const int V = s.corpus.n_vocab;
    const struct { const char *name; int ndim; int64_t r, c; } want[] = {
        {"embed.weight", 2, V, 8},
        {"lstm.weight_ih_l0", 2, 64, 8}, {"lstm.weight_hh_l0", 2, 64, 16},
        {"lstm.bias_ih_l0", 1, 64, 0}, {"lstm.bias_hh_l0", 1, 64, 0},
        {"lstm.weight_ih_l1", 2, 32, 16}, {"lstm.weight_hh_l1", 2, 32, 8},
        {"lstm.bias_ih_l1", 1, 32, 0}, {"lstm.bias_hh_l1", 1, 32, 0},
        {"decoder.weight", 2, V, 8}, {"decoder.bias", 1, V, 0},
    };
    const int n_want = (int)(sizeof want / sizeof want[0]);
    assert_int_equal(f.n, 2 * n_want);
    static const char *const reg[] = {"embed.weight", "l0.w_ih", "l0.w_hh", "l0.b_ih", "l0.b_hh", "l1.w_ih",
                                      "l1.w_hh", "l1.b_ih", "l1.b_hh", "decoder.weight", "decoder.bias"};
    for (int i = 0; i < n_want; i++) {
        for (int mask = 0; mask < 2; mask++) {
            char name[96];
            snprintf(name, sizeof name, "%s%s", mask ? "mask." : "", want[i].name);
            const SafetensorsTensor *t = safetensors_find(&f, name);
            if (!t) fail_msg("%s missing from the export", name);
            assert_int_equal(t->dtype, mask ? SAFETENSORS_U8 : SAFETENSORS_F32);
            assert_int_equal(t->ndim, want[i].ndim);
            assert_int_equal(t->shape[0], want[i].r);
            if (want[i].ndim == 2) assert_int_equal(t->shape[1], want[i].c);
            const ModelParam *pp = model_param(&s.model, reg[i]);
            assert_non_null(pp);
            const void *src = mask ? (const void *)(s.model.mask + pp->off) : (const void *)(s.model.w + pp->off);
            assert_int_equal(t->nbytes, pp->n * (mask ? 1 : 4));
            if (memcmp(t->data, src, t->nbytes)) fail_msg("%s differs from the session's %s", name, reg[i]);
        }
    }
    /* pruned entries are exact zeros */
    const SafetensorsTensor *w = safetensors_find(&f, "lstm.weight_hh_l0"), *mk = safetensors_find(&f, "mask.lstm.weight_hh_l0");
    size_t zeros = 0;
    for (size_t k = 0; k < w->n_elems; k++)
        if (!((const uint8_t *)mk->data)[k]) {
            assert_true(((const float *)w->data)[k] == 0.0f);
            zeros++;
        }
    assert_true(zeros > 0);
    /* metadata = config.json */
    const char *meta = safetensors_meta(&f, "topiary");
    assert_non_null(meta);
    cJSON *a = cJSON_Parse(meta);
    void *buf;
    size_t n;
    ef_path_in(p, sizeof p, ef_export, "config.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *b = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(cJSON_Compare(a, b, 1));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "format")->valuestring, "topiary-export");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(b, "vocab")->valueint, V);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "hidden")), 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "cell")->valuestring, "lstm");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "task"), "data"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "step")->valueint, 6);
    cJSON_Delete(a);
    cJSON_Delete(b);
    /* vocab.json = the session's vocabulary */
    ef_path_in(p, sizeof p, ef_export, "vocab.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *v = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_int_equal(cJSON_GetArraySize(v), V);
    for (int i = 0; i < V; i++) assert_string_equal(cJSON_GetArrayItem(v, i)->valuestring, s.corpus.vocab[i]);
    cJSON_Delete(v);
    safetensors_free(&f);
    session_free(&s);
}

/* H-LSTM: hlstm.l{k}.{i,f,g,o}.fc{1,2}.{weight,bias} are the row blocks of the stacked tensors. */
static void test_pytorch_names_hlstm(void **state)
{
    (void)state;
    char sdir[2048], edir[2048], p[4200];
    snprintf(sdir, sizeof sdir, "%s/hnames-session", ef_root);
    snprintf(edir, sizeof edir, "%s/hnames-export", ef_root);
    Session s;
    ef_make_session(&s, sdir, MODEL_CELL_HLSTM);
    assert_int_equal(export_write(&s, edir), TP_OK);
    ef_path_in(p, sizeof p, edir, "model.safetensors");
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    assert_int_equal(f.n, 2 * (3 + 16));
    const int I = 8, H = 16, M = 6;
    static const char gates[] = "ifgo";
    for (int q = 0; q < 4; q++) {
        const struct { const char *part, *reg; int rows, cols; } parts[] = {
            {"fc1.weight", "l0.fc1.weight", M, I + H}, {"fc1.bias", "l0.fc1.bias", M, 1},
            {"fc2.weight", "l0.fc2.weight", H, M}, {"fc2.bias", "l0.fc2.bias", H, 1}};
        for (int k = 0; k < 4; k++) {
            char name[96];
            snprintf(name, sizeof name, "hlstm.l0.%c.%s", gates[q], parts[k].part);
            const SafetensorsTensor *t = safetensors_find(&f, name);
            if (!t) fail_msg("%s missing", name);
            int is_bias = parts[k].cols == 1;
            assert_int_equal(t->ndim, is_bias ? 1 : 2);
            assert_int_equal(t->shape[0], parts[k].rows);
            if (!is_bias) assert_int_equal(t->shape[1], parts[k].cols);
            const ModelParam *pp = model_param(&s.model, parts[k].reg);
            assert_non_null(pp);
            size_t at = pp->off + (size_t)q * parts[k].rows * parts[k].cols;
            if (memcmp(t->data, s.model.w + at, t->nbytes)) fail_msg("%s is not gate %c's row block", name, gates[q]);
            snprintf(name, sizeof name, "mask.hlstm.l0.%c.%s", gates[q], parts[k].part);
            t = safetensors_find(&f, name);
            if (!t) fail_msg("%s missing", name);
            assert_int_equal(t->dtype, SAFETENSORS_U8);
            if (memcmp(t->data, s.model.mask + at, t->nbytes)) fail_msg("%s differs", name);
        }
    }
    safetensors_free(&f);
    session_free(&s);
}

/* eval of the loaded export = the session's own eval, to the last bit, for several windows. */
static void check_eval_equal(ModelCell cell, const char *tag)
{
    char sdir[2048], edir[2048];
    snprintf(sdir, sizeof sdir, "%s/%s-session", ef_root, tag);
    snprintf(edir, sizeof edir, "%s/%s-export", ef_root, tag);
    Session s;
    ef_make_session(&s, sdir, cell);
    assert_int_equal(export_write(&s, edir), TP_OK);
    ExportModel e;
    TpStatus st = export_open(&e, edir, NULL);
    if (st != TP_OK) fail_msg("export_open: %s", err_msg());
    for (int split = CORPUS_VALID; split <= CORPUS_TEST; split++) {
        assert_int_equal(e.corpus.n_ids[split], s.corpus.n_ids[split]);
        assert_memory_equal(e.corpus.ids[split], s.corpus.ids[split], s.corpus.n_ids[split] * sizeof(int32_t));
        const int windows[] = {64, 7};
        for (int w = 0; w < 2; w++) {
            EvalResult a, b;
            assert_int_equal(train_evaluate(&s.model, s.corpus.ids[split], s.corpus.n_ids[split], 1, windows[w], &a), TP_OK);
            assert_int_equal(train_evaluate(&e.model, e.corpus.ids[split], e.corpus.n_ids[split], 1, windows[w], &b), TP_OK);
            assert_int_equal(a.tokens, b.tokens);
            if (memcmp(&a.loss, &b.loss, sizeof a.loss))
                fail_msg("%s split %d window %d: loss %.17g (session) vs %.17g (export)", tag, split, windows[w], a.loss,
                         b.loss);
            assert_true(a.accuracy == b.accuracy);
        }
    }
    export_close(&e);
    session_free(&s);
}

static void test_eval_equal_lstm(void **state)
{
    (void)state;
    check_eval_equal(MODEL_CELL_LSTM, "evl");
}

static void test_eval_equal_hlstm(void **state)
{
    (void)state;
    check_eval_equal(MODEL_CELL_HLSTM, "evh");
}

/* A tied model (task tie = 1: embed.weight is the decoder's weight): model.safetensors carries the
 * matrix under both PyTorch names, config.json says "tie": 1, and both files read back to the
 * session's model and its evaluation bit for bit. */
static void test_tied_roundtrip(void **state)
{
    (void)state;
    char sdir[2048], edir[2048], p[4200];
    snprintf(sdir, sizeof sdir, "%s/tied-session", ef_root);
    snprintf(edir, sizeof edir, "%s/tied-export", ef_root);
    Task t;
    ef_tiny_task(&t, MODEL_CELL_LSTM);
    t.model.tie = 1; /* embed 8 = the last layer's 8 */
    Session s;
    if (session_new(&s, sdir, &t) != TP_OK) fail_msg("session_new: %s", err_msg());
    for (int i = 0; i < 6; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&s.trainer, &info), TP_OK);
    }
    CommandResult r;
    if (command_execute(&s, "prune sparsity=0.5", &r) != TP_OK) fail_msg("prune: %s", err_msg());
    assert_null(model_param(&s.model, "decoder.weight"));
    assert_int_equal(export_write(&s, edir), TP_OK);
    ef_path_in(p, sizeof p, edir, "model.safetensors");
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    const SafetensorsTensor *te = safetensors_find(&f, "embed.weight"), *td = safetensors_find(&f, "decoder.weight");
    assert_non_null(te);
    assert_non_null(td);
    assert_int_equal(te->nbytes, td->nbytes);
    assert_memory_equal(te->data, td->data, te->nbytes);
    safetensors_free(&f);
    Model m;
    ExportInfo info;
    if (export_load(&m, &info, edir) != TP_OK) fail_msg("export_load: %s", err_msg());
    assert_int_equal(m.cfg.tie, 1);
    assert_models_equal(&s.model, &m);
    model_free(&m);
    export_info_free(&info);
    for (int compact = 0; compact < 2; compact++) {
        ExportModel e;
        TpStatus st = compact ? export_open_compact(&e, edir, NULL) : export_open(&e, edir, NULL);
        if (st != TP_OK) fail_msg("export_open%s: %s", compact ? "_compact" : "", err_msg());
        EvalResult a, b;
        const int32_t *ids = s.corpus.ids[CORPUS_VALID];
        assert_int_equal(train_evaluate(&s.model, ids, s.corpus.n_ids[CORPUS_VALID], 1, 64, &a), TP_OK);
        assert_int_equal(train_evaluate(&e.model, ids, s.corpus.n_ids[CORPUS_VALID], 1, 64, &b), TP_OK);
        if (memcmp(&a.loss, &b.loss, sizeof a.loss)) fail_msg("tied, compact %d: loss %.17g vs %.17g", compact, a.loss, b.loss);
        export_close(&e);
    }
    session_free(&s);
}

/* the `export out=DIR` verb; re-export over a previous export; a stale compact file goes */
static void test_verb_and_reexport(void **state)
{
    (void)state;
    char sdir[2048], edir[2048], p[4200];
    snprintf(sdir, sizeof sdir, "%s/verb-session", ef_root);
    snprintf(edir, sizeof edir, "%s/verb-export", ef_root);
    Session s;
    ef_make_session(&s, sdir, MODEL_CELL_LSTM);
    char line[4200];
    snprintf(line, sizeof line, "export out=%s", edir);
    CommandResult r;
    TpStatus st = command_execute(&s, line, &r);
    if (st != TP_OK) fail_msg("export verb: %s", err_msg());
    assert_non_null(strstr(r.text, edir));
    assert_true(export_exists(edir));
    /* train on, export again into the same directory: the new weights */
    ef_path_in(p, sizeof p, edir, "model.compact.safetensors");
    assert_int_equal(th_write_file(p, "stale", 5), 0);
    TrainStepInfo info;
    assert_int_equal(train_step(&s.trainer, &info), TP_OK);
    assert_int_equal(command_execute(&s, line, &r), TP_OK);
    { /* the stale compact file is replaced by this export's (engine/compact) */
        SafetensorsFile cf = {0};
        assert_int_equal(safetensors_read(&cf, p, NULL), TP_OK);
        assert_non_null(safetensors_meta(&cf, "topiary_compact"));
        safetensors_free(&cf);
    }
    Model m;
    ExportInfo ei;
    assert_int_equal(export_load(&m, &ei, edir), TP_OK);
    assert_models_equal(&s.model, &m);
    assert_int_equal(ei.step, 7);
    model_free(&m);
    export_info_free(&ei);
    /* an interrupted export (no config.json yet) may be overwritten too */
    ef_path_in(p, sizeof p, edir, "config.json");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(export_write(&s, edir), TP_OK);
    /* the verb's errors */
    err_clear();
    assert_int_equal(command_execute(&s, "export", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "out="));
    session_free(&s);
}

static void expect_write_refused(const Session *s, const char *dir, const char *needle)
{
    err_clear();
    TpStatus st = export_write(s, dir);
    if (st == TP_OK) fail_msg("export into %s was accepted", dir);
    assert_int_equal(st, TP_EINVAL);
    if (!strstr(err_msg(), dir) || !strstr(err_msg(), needle))
        fail_msg("refusal '%s' does not name %s and '%s'", err_msg(), dir, needle);
}

static void test_write_refuses_session_and_foreign_dirs(void **state)
{
    (void)state;
    Session s;
    assert_int_equal(session_open(&s, ef_sess, NULL), TP_OK);
    char before[4200], p[4200];
    ef_path_in(p, sizeof p, ef_sess, "model.safetensors");
    uint32_t crc0, crc1;
    uint64_t n0, n1;
    assert_int_equal(fsutil_crc32_file(p, &crc0, &n0), TP_OK);
    expect_write_refused(&s, ef_sess, "session");
    assert_int_equal(fsutil_crc32_file(p, &crc1, &n1), TP_OK);
    assert_true(crc0 == crc1 && n0 == n1);
    /* a directory with other files */
    snprintf(before, sizeof before, "%s/foreign", ef_root);
    assert_int_equal(fsutil_mkdir_p(before), TP_OK);
    ef_path_in(p, sizeof p, before, "notes.txt");
    assert_int_equal(th_write_file(p, "mine", 4), 0);
    expect_write_refused(&s, before, "notes.txt");
    /* a config.json of some other tool */
    snprintf(before, sizeof before, "%s/foreign2", ef_root);
    assert_int_equal(fsutil_mkdir_p(before), TP_OK);
    ef_path_in(p, sizeof p, before, "config.json");
    assert_int_equal(th_write_file(p, "{\"model_type\":\"gpt2\"}", 22), 0);
    expect_write_refused(&s, before, "config.json");
    /* a file */
    expect_write_refused(&s, p, "not a directory");
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_lstm),
        cmocka_unit_test(test_roundtrip_hlstm),
        cmocka_unit_test(test_pytorch_names_lstm),
        cmocka_unit_test(test_pytorch_names_hlstm),
        cmocka_unit_test(test_eval_equal_lstm),
        cmocka_unit_test(test_eval_equal_hlstm),
        cmocka_unit_test(test_verb_and_reexport),
        cmocka_unit_test(test_tied_roundtrip),
        cmocka_unit_test(test_write_refuses_session_and_foreign_dirs),
    };
    return cmocka_run_group_tests(tests, ef_group_setup, ef_group_teardown);
}
