/* tests/test_export: the export directory (DESIGN 2.4) and `eval --model` (sessions/export).
 *
 * A tiny word-level task (a generated PTB-style corpus, 2 LSTM layers of 16 and 8 units, or one
 * H-LSTM layer) is trained a few steps and partly pruned, then exported.  Reading the export back
 * must give the session's weights and masks bit for bit, its evaluation the session's NLL to the
 * last bit, and the file must hold exactly the PyTorch names and shapes of DESIGN 2.4.  Then
 * damaged exports (config.json lying about shapes or the vocabulary, a tensor missing or unknown,
 * a mask value 2, NaN, a pruned entry that is not zero, files missing) must be refused with a
 * message naming the file, and exports into a session or a foreign directory must be refused.
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
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/export.h"
#include "base/fsutil.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/task.h"

static char *g_root;          /* temp dir holding everything below            */
static char g_data[1024];     /* the corpus directory                         */
static char g_sess[1024];     /* the trained, pruned LSTM session             */
static char g_export[1024];   /* its export, copied by the refusal tests      */

static void write_split(const char *dir, const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(dir, name, n_lines, seed, 24, 8), 0);
}

static void tiny_task(Task *t, ModelCell cell)
{
    task_defaults(t);
    snprintf(t->data, sizeof t->data, "%s", g_data);
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

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s/%s", dir, name);
    assert_true(w > 0 && (size_t)w < n);
}

/* Train a few steps and prune every third entry of the recurrent matrices and the decoder, so
 * masks and exact zeros are exercised. */
static void make_session(Session *s, const char *dir, ModelCell cell)
{
    Task t;
    tiny_task(&t, cell);
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

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("export");
    if (!g_root) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_root);
    if (fsutil_mkdir_p(g_data) != TP_OK) return -1;
    write_split(g_data, "ptb.train.txt", 200, 1);
    write_split(g_data, "ptb.valid.txt", 40, 2);
    write_split(g_data, "ptb.test.txt", 40, 3);
    snprintf(g_sess, sizeof g_sess, "%s/session", g_root);
    snprintf(g_export, sizeof g_export, "%s/golden-export", g_root);
    Session s;
    make_session(&s, g_sess, MODEL_CELL_LSTM);
    TpStatus st = session_save(&s);
    if (st == TP_OK) st = export_write(&s, g_export);
    if (st != TP_OK) fprintf(stderr, "setup: %s\n", err_msg());
    session_free(&s);
    return st == TP_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    th_rmtree(g_root);
    free(g_root);
    return 0;
}

/* ==== round trip ==== */

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
    snprintf(sdir, sizeof sdir, "%s/%s-session", g_root, tag);
    snprintf(edir, sizeof edir, "%s/%s-export", g_root, tag);
    Session s;
    make_session(&s, sdir, cell);
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
    path_in(p, sizeof p, g_export, "model.safetensors");
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    Session s;
    assert_int_equal(session_open(&s, g_sess, NULL), TP_OK);
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
    path_in(p, sizeof p, g_export, "config.json");
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
    path_in(p, sizeof p, g_export, "vocab.json");
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
    snprintf(sdir, sizeof sdir, "%s/hnames-session", g_root);
    snprintf(edir, sizeof edir, "%s/hnames-export", g_root);
    Session s;
    make_session(&s, sdir, MODEL_CELL_HLSTM);
    assert_int_equal(export_write(&s, edir), TP_OK);
    path_in(p, sizeof p, edir, "model.safetensors");
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
    snprintf(sdir, sizeof sdir, "%s/%s-session", g_root, tag);
    snprintf(edir, sizeof edir, "%s/%s-export", g_root, tag);
    Session s;
    make_session(&s, sdir, cell);
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

/* the `export out=DIR` verb; re-export over a previous export; a stale compact file goes */
static void test_verb_and_reexport(void **state)
{
    (void)state;
    char sdir[2048], edir[2048], p[4200];
    snprintf(sdir, sizeof sdir, "%s/verb-session", g_root);
    snprintf(edir, sizeof edir, "%s/verb-export", g_root);
    Session s;
    make_session(&s, sdir, MODEL_CELL_LSTM);
    char line[4200];
    snprintf(line, sizeof line, "export out=%s", edir);
    CommandResult r;
    TpStatus st = command_execute(&s, line, &r);
    if (st != TP_OK) fail_msg("export verb: %s", err_msg());
    assert_non_null(strstr(r.text, edir));
    assert_true(export_exists(edir));
    /* train on, export again into the same directory: the new weights */
    path_in(p, sizeof p, edir, "model.compact.safetensors");
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
    path_in(p, sizeof p, edir, "config.json");
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
    assert_int_equal(session_open(&s, g_sess, NULL), TP_OK);
    char before[4200], p[4200];
    path_in(p, sizeof p, g_sess, "model.safetensors");
    uint32_t crc0, crc1;
    uint64_t n0, n1;
    assert_int_equal(fsutil_crc32_file(p, &crc0, &n0), TP_OK);
    expect_write_refused(&s, g_sess, "session");
    assert_int_equal(fsutil_crc32_file(p, &crc1, &n1), TP_OK);
    assert_true(crc0 == crc1 && n0 == n1);
    /* a directory with other files */
    snprintf(before, sizeof before, "%s/foreign", g_root);
    assert_int_equal(fsutil_mkdir_p(before), TP_OK);
    path_in(p, sizeof p, before, "notes.txt");
    assert_int_equal(th_write_file(p, "mine", 4), 0);
    expect_write_refused(&s, before, "notes.txt");
    /* a config.json of some other tool */
    snprintf(before, sizeof before, "%s/foreign2", g_root);
    assert_int_equal(fsutil_mkdir_p(before), TP_OK);
    path_in(p, sizeof p, before, "config.json");
    assert_int_equal(th_write_file(p, "{\"model_type\":\"gpt2\"}", 22), 0);
    expect_write_refused(&s, before, "config.json");
    /* a file */
    expect_write_refused(&s, p, "not a directory");
    session_free(&s);
}

/* ==== refusals ==== */

static const char *const FILES[] = {"config.json", "model.safetensors", "vocab.json"};

static void copy_export(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", g_root, tag);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    for (int i = 0; i < 3; i++) {
        char from[4200], to[4200];
        path_in(from, sizeof from, g_export, FILES[i]);
        path_in(to, sizeof to, dir, FILES[i]);
        assert_int_equal(fsutil_copy_file(from, to), TP_OK);
    }
}

/* export_load and export_open must fail naming `file` (and `also`) and leave nothing allocated. */
static void expect_refused(const char *dir, TpStatus code, const char *file, const char *also)
{
    err_clear();
    Model m;
    ExportInfo info;
    TpStatus st = export_load(&m, &info, dir);
    if (st == TP_OK) {
        model_free(&m);
        export_info_free(&info);
        fail_msg("%s: damaged export loaded (expected a refusal naming %s)", dir, file);
    }
    if (getenv("TOPIARY_TEST_VERBOSE")) fprintf(stderr, "  refused: %s\n", err_msg());
    if (code) assert_int_equal(st, code);
    if (!strstr(err_msg(), file) || (also && !strstr(err_msg(), also)))
        fail_msg("refusal message '%s' does not name '%s'%s%s", err_msg(), file, also ? " and " : "", also ? also : "");
    assert_null(m.w);
    assert_null(info.vocab);
    ExportModel e;
    assert_int_equal(export_open(&e, dir, NULL), st);
    assert_null(e.model.w);
}

static cJSON *config_load(const char *dir)
{
    char p[4200];
    void *buf;
    size_t n;
    path_in(p, sizeof p, dir, "config.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(j);
    return j;
}

static void config_store(const char *dir, cJSON *j)
{
    char p[4200];
    path_in(p, sizeof p, dir, "config.json");
    char *txt = cJSON_Print(j);
    assert_int_equal(fsutil_write_atomic(p, txt, strlen(txt)), TP_OK);
    free(txt);
    cJSON_Delete(j);
}

static void test_golden_loads(void **state)
{
    (void)state;
    char dir[2048];
    copy_export(dir, sizeof dir, "golden-copy");
    Model m;
    ExportInfo info;
    TpStatus st = export_load(&m, &info, dir);
    if (st != TP_OK) fail_msg("export_load: %s", err_msg());
    model_free(&m);
    export_info_free(&info);
}

static void test_refuses_config_lying_about_shapes(void **state)
{
    (void)state;
    char dir[2048];
    /* hidden 16 -> 15: every layer-0 tensor has the wrong shape */
    copy_export(dir, sizeof dir, "lie-hidden");
    cJSON *j = config_load(dir);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(j, "hidden"), 0, cJSON_CreateNumber(15));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", "lstm.weight_ih_l0");
    /* embed 8 -> 9 */
    copy_export(dir, sizeof dir, "lie-embed");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "embed", cJSON_CreateNumber(9));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", "embed.weight");
    /* one layer only: layer 1's tensors are unexpected */
    copy_export(dir, sizeof dir, "lie-layers");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "layers", cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "hidden", cJSON_CreateIntArray((const int[]){16}, 1));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", NULL); /* decoder.weight [V,8] vs [V,16] */
    /* the cell */
    copy_export(dir, sizeof dir, "lie-cell");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "cell", cJSON_CreateString("hlstm"));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "gate_hidden", cJSON_CreateNumber(4));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", "hlstm.l0.i.fc1.weight");
    /* hidden list of the wrong length, a field of the wrong type, a missing field */
    copy_export(dir, sizeof dir, "lie-list");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "hidden", cJSON_CreateIntArray((const int[]){16, 8, 8}, 3));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "hidden");
    copy_export(dir, sizeof dir, "type-vocab");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "vocab", cJSON_CreateString("many"));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "vocab");
    copy_export(dir, sizeof dir, "no-embed");
    j = config_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "embed");
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "embed");
}

static void test_refuses_bad_config(void **state)
{
    (void)state;
    char dir[2048], p[4200];
    copy_export(dir, sizeof dir, "cfg-notjson");
    path_in(p, sizeof p, dir, "config.json");
    assert_int_equal(th_write_file(p, "{\"format\": ", 11), 0);
    expect_refused(dir, TP_EFORMAT, "config.json", "JSON");
    copy_export(dir, sizeof dir, "cfg-format");
    cJSON *j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "format", cJSON_CreateString("topiary-session"));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "not a topiary export");
    copy_export(dir, sizeof dir, "cfg-newer");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "version", cJSON_CreateNumber(2));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "newer");
    copy_export(dir, sizeof dir, "cfg-task");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "level", cJSON_CreateNumber(3));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "config.json", "task.level");
    copy_export(dir, sizeof dir, "cfg-missing");
    path_in(p, sizeof p, dir, "config.json");
    assert_int_equal(unlink(p), 0);
    expect_refused(dir, TP_ENOENT, dir, "config.json");
}

static void test_refuses_vocab_mismatch(void **state)
{
    (void)state;
    char dir[2048], p[4200];
    /* config says one token more than vocab.json has */
    copy_export(dir, sizeof dir, "voc-config");
    cJSON *j = config_load(dir);
    int V = cJSON_GetObjectItemCaseSensitive(j, "vocab")->valueint;
    cJSON_ReplaceItemInObjectCaseSensitive(j, "vocab", cJSON_CreateNumber(V + 1));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "vocab.json", NULL);
    /* vocab.json one token short */
    copy_export(dir, sizeof dir, "voc-short");
    path_in(p, sizeof p, dir, "vocab.json");
    void *buf;
    size_t n;
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *a = cJSON_ParseWithLength(buf, n);
    free(buf);
    cJSON_DeleteItemFromArray(a, cJSON_GetArraySize(a) - 1);
    char *txt = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    assert_int_equal(th_write_file(p, txt, strlen(txt)), 0);
    free(txt);
    expect_refused(dir, TP_EFORMAT, "vocab.json", "config.json says");
    /* not strings; not an array; missing */
    copy_export(dir, sizeof dir, "voc-type");
    path_in(p, sizeof p, dir, "vocab.json");
    assert_int_equal(th_write_file(p, "{\"a\":1}", 7), 0);
    expect_refused(dir, TP_EFORMAT, "vocab.json", NULL);
    copy_export(dir, sizeof dir, "voc-missing");
    path_in(p, sizeof p, dir, "vocab.json");
    assert_int_equal(unlink(p), 0);
    expect_refused(dir, TP_ENOENT, "vocab.json", NULL);
}

enum { DROP, MASK2, NAN_W, EXTRA, PRUNED_NONZERO, RESHAPE, RETYPE };

/* Rewrite model.safetensors with `victim` damaged in one way. */
static void rewrite_model(const char *dir, const char *victim, int mode)
{
    char p[4200];
    path_in(p, sizeof p, dir, "model.safetensors");
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    SafetensorsWriter *w = safetensors_writer_new();
    assert_non_null(w);
    int found = 0;
    for (int i = 0; i < f.n; i++) {
        const SafetensorsTensor *t = &f.t[i];
        int64_t shape[SAFETENSORS_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        int ndim = t->ndim;
        SafetensorsDtype dt = t->dtype;
        void *data = calloc(t->n_elems + 1, 8);
        assert_non_null(data);
        memcpy(data, t->data, t->nbytes);
        if (!strcmp(t->name, victim)) {
            found = 1;
            if (mode == DROP) {
                free(data);
                continue;
            }
            if (mode == MASK2) ((uint8_t *)data)[t->n_elems / 2] = 2;
            if (mode == NAN_W) ((float *)data)[1] = NAN;
            if (mode == RESHAPE) shape[0] -= 1;
            if (mode == RETYPE) dt = SAFETENSORS_I32;
            if (mode == PRUNED_NONZERO) {
                char mn[96];
                snprintf(mn, sizeof mn, "mask.%s", victim);
                const SafetensorsTensor *mk = safetensors_find(&f, mn);
                assert_non_null(mk);
                size_t k = 0;
                while (k < mk->n_elems && ((const uint8_t *)mk->data)[k]) k++;
                assert_true(k < mk->n_elems);
                ((float *)data)[k] = 0.5f;
            }
        }
        assert_int_equal(safetensors_writer_add(w, t->name, dt, ndim, shape, data), TP_OK);
        free(data);
    }
    if (mode == EXTRA) {
        found = 1;
        float x[4] = {1, 2, 3, 4};
        int64_t shape[1] = {4};
        assert_int_equal(safetensors_writer_add(w, victim, SAFETENSORS_F32, 1, shape, x), TP_OK);
    }
    assert_true(found);
    for (int i = 0; i < f.n_meta; i++) assert_int_equal(safetensors_writer_meta(w, f.meta_keys[i], f.meta_vals[i]), TP_OK);
    assert_int_equal(safetensors_writer_save(w, p), TP_OK);
    safetensors_writer_delete(w);
    safetensors_free(&f);
}

static void test_refuses_damaged_model(void **state)
{
    (void)state;
    const struct { const char *victim; int mode; const char *also; } cases[] = {
        {"lstm.bias_hh_l1", DROP, "lstm.bias_hh_l1"},
        {"embed.weight", DROP, "embed.weight"},
        {"mask.decoder.weight", DROP, "mask.decoder.weight"},
        {"mask.lstm.weight_hh_l0", MASK2, "mask value 2"},
        {"mask.decoder.bias", MASK2, "mask.decoder.bias"},
        {"lstm.weight_ih_l1", NAN_W, "lstm.weight_ih_l1"},
        {"lstm.weight_ih_l2", EXTRA, "lstm.weight_ih_l2"},
        {"lstm.weight_hh_l0", PRUNED_NONZERO, "lstm.weight_hh_l0"},
        {"decoder.weight", RESHAPE, "decoder.weight"},
        {"mask.lstm.bias_ih_l0", RETYPE, "mask.lstm.bias_ih_l0"},
        {"lstm.weight_hh_l1", RETYPE, "lstm.weight_hh_l1"},
    };
    char dir[2048], tag[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(tag, sizeof tag, "model-%zu", i);
        copy_export(dir, sizeof dir, tag);
        rewrite_model(dir, cases[i].victim, cases[i].mode);
        expect_refused(dir, TP_EFORMAT, "model.safetensors", cases[i].also);
    }
    /* truncated and missing */
    char p[4200];
    copy_export(dir, sizeof dir, "model-trunc");
    path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(truncate(p, 1000), 0);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", NULL);
    copy_export(dir, sizeof dir, "model-missing");
    path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(unlink(p), 0);
    expect_refused(dir, TP_ENOENT, "model.safetensors", NULL);
}

static void test_open_refuses_missing_data(void **state)
{
    (void)state;
    err_clear();
    ExportModel e;
    TpStatus st = export_open(&e, g_export, "/nonexistent/corpus");
    assert_int_equal(st, TP_ENOENT);
    assert_non_null(strstr(err_msg(), "/nonexistent/corpus"));
    /* the recorded path gone: the message says where it came from */
    char dir[2048];
    copy_export(dir, sizeof dir, "data-gone");
    cJSON *j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "data",
                                           cJSON_CreateString("/nonexistent/ptb"));
    config_store(dir, j);
    err_clear();
    assert_int_equal(export_open(&e, dir, NULL), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "config.json"));
    assert_non_null(strstr(err_msg(), "--data"));
    /* --data to the real corpus works */
    st = export_open(&e, dir, g_data);
    if (st != TP_OK) fail_msg("export_open --data: %s", err_msg());
    export_close(&e);
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
        cmocka_unit_test(test_write_refuses_session_and_foreign_dirs),
        cmocka_unit_test(test_golden_loads),
        cmocka_unit_test(test_refuses_config_lying_about_shapes),
        cmocka_unit_test(test_refuses_bad_config),
        cmocka_unit_test(test_refuses_vocab_mismatch),
        cmocka_unit_test(test_refuses_damaged_model),
        cmocka_unit_test(test_open_refuses_missing_data),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
