/* tests/test_session: the session directory (DESIGN 2.3).
 *
 * A tiny word-level task (a generated PTB-style corpus of 300 lines, 1-2 LSTM layers of 8-16 units)
 * is trained a few steps, saved and reopened: parameters, masks, optimizer moments, trainer position,
 * dropout stream and carried state must come back bit for bit, and training continued from the
 * reopened session must give exactly the losses of the original.  Then every kind of damage the
 * manifest check promises to catch (truncation, flipped bytes, newer major, bad JSON, missing
 * entries, lying shapes, a short vocabulary) must be refused with a message naming the file, without
 * crashing and without touching a byte of the session.
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

/* ==== Fixture: the corpus and one trained, saved session shared by the refusal tests ==== */

static char *g_root;          /* temp dir holding everything below          */
static char g_data[1024];     /* the corpus directory                       */
static char g_golden[1024];   /* a saved session that the refusal tests copy */

static void write_split(const char *dir, const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(dir, name, n_lines, seed, 24, 8), 0);
}

static void tiny_task(Task *t, int n_layers, OptimKind optim, float dropout)
{
    task_defaults(t);
    snprintf(t->data, sizeof t->data, "%s", g_data);
    t->level = CORPUS_WORD;
    t->level_set = 1;
    t->model.n_layers = n_layers;
    t->model.hidden[0] = 16;
    t->model.hidden[1] = 8;
    t->model.n_embed = 8;
    t->model.dropout = dropout;
    t->train.bptt = 5;
    t->train.batch = 4;
    t->train.epochs = 5;
    t->train.optim = optim;
    t->train.lr = optim == OPTIM_ADAM ? 0.01f : 1.0f;
    t->threads = 1;
    t->seed = 7;
}

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void train_n(Session *s, int n, double *losses)
{
    for (int i = 0; i < n; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&s->trainer, &info), TP_OK);
        if (losses) losses[i] = info.loss;
    }
}

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("session");
    if (!g_root) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_root);
    if (fsutil_mkdir_p(g_data) != TP_OK) return -1;
    write_split(g_data, "ptb.train.txt", 200, 1);
    write_split(g_data, "ptb.valid.txt", 50, 2);
    write_split(g_data, "ptb.test.txt", 50, 3);
    snprintf(g_golden, sizeof g_golden, "%s/golden", g_root);
    Task t;
    tiny_task(&t, 2, OPTIM_ADAM, 0.2f);
    Session s;
    if (session_new(&s, g_golden, &t) != TP_OK) {
        fprintf(stderr, "session_new: %s\n", err_msg());
        return -1;
    }
    train_n(&s, 7, NULL);
    TpStatus st = session_save(&s);
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
    snprintf(dir, sizeof dir, "%s/rt-%d-%d-%d", g_root, n_layers, (int)optim, steps_before);
    Task t;
    tiny_task(&t, n_layers, optim, dropout);
    Session a, b;
    assert_int_equal(session_new(&a, dir, &t), TP_OK);
    train_n(&a, steps_before, NULL);
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
    train_n(&a, more, la);
    train_n(&b, more, lb);
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
    path_in(p, sizeof p, g_golden, "manifest.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &before, &nb), TP_OK);
    Task t;
    tiny_task(&t, 1, OPTIM_SGD, 0.0f);
    Session s;
    assert_int_not_equal(session_new(&s, g_golden, &t), TP_OK);
    assert_non_null(strstr(err_msg(), "already exists"));
    assert_non_null(strstr(err_msg(), g_golden));
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &after, &na), TP_OK);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
}

/* ==== Refusals ==== */

static const char *const FILES[] = {"manifest.json", "model.safetensors", "vocab.json", "metrics.tsv"};
enum { N_FILES = sizeof FILES / sizeof FILES[0] };

typedef struct {
    void *data[N_FILES];
    size_t n[N_FILES];
    int n_entries;
} Snapshot;

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void snapshot_take(Snapshot *s, const char *dir)
{
    char p[4096];
    for (int i = 0; i < N_FILES; i++) {
        path_in(p, sizeof p, dir, FILES[i]);
        assert_int_equal(fsutil_read_file(p, SIZE_MAX, &s->data[i], &s->n[i]), TP_OK);
    }
    s->n_entries = count_entries(dir);
}

static void snapshot_check_free(Snapshot *s, const char *dir)
{
    Snapshot now;
    snapshot_take(&now, dir);
    for (int i = 0; i < N_FILES; i++) {
        if (now.n[i] != s->n[i] || memcmp(now.data[i], s->data[i], s->n[i]) != 0)
            fail_msg("%s/%s was modified by a refused open", dir, FILES[i]);
        free(now.data[i]);
        free(s->data[i]);
    }
    assert_int_equal(now.n_entries, s->n_entries);
}

/* A fresh copy of the golden session in <root>/<tag>. */
static void copy_golden(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", g_root, tag);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    char from[4096], to[4096];
    for (int i = 0; i < N_FILES; i++) {
        void *buf;
        size_t len;
        path_in(from, sizeof from, g_golden, FILES[i]);
        path_in(to, sizeof to, dir, FILES[i]);
        assert_int_equal(fsutil_read_file(from, SIZE_MAX, &buf, &len), TP_OK);
        assert_int_equal(fsutil_write_atomic(to, buf, len), TP_OK);
        free(buf);
    }
}

/* session_open must fail, name `file` (and `also`, if given) in its message, and change nothing. */
static void expect_refused(const char *dir, const char *file, const char *also)
{
    Snapshot before;
    snapshot_take(&before, dir);
    err_clear();
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st == TP_OK) {
        session_free(&s);
        fail_msg("%s: damaged session opened (expected a refusal naming %s)", dir, file);
    }
    if (!strstr(err_msg(), file) || (also && !strstr(err_msg(), also)))
        fail_msg("refusal message '%s' does not name '%s'%s%s", err_msg(), file, also ? " and " : "", also ? also : "");
    snapshot_check_free(&before, dir);
}

static cJSON *manifest_load(const char *dir)
{
    char p[4096];
    void *buf;
    size_t n;
    path_in(p, sizeof p, dir, "manifest.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(j);
    return j;
}

static void manifest_store(const char *dir, cJSON *j)
{
    char p[4096];
    char *txt = cJSON_Print(j);
    assert_non_null(txt);
    path_in(p, sizeof p, dir, "manifest.json");
    assert_int_equal(fsutil_write_atomic(p, txt, strlen(txt)), TP_OK);
    free(txt);
    cJSON_Delete(j);
}

/* Make the manifest's files.<name> entry agree with the file as it now is (so only deeper checks
 * can catch the damage). */
static void manifest_update_file(const char *dir, const char *name)
{
    char p[4096], hex[16];
    uint32_t crc;
    uint64_t bytes;
    path_in(p, sizeof p, dir, name);
    assert_int_equal(fsutil_crc32_file(p, &crc, &bytes), TP_OK);
    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    cJSON *j = manifest_load(dir);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), name);
    assert_non_null(e);
    cJSON_ReplaceItemInObjectCaseSensitive(e, "bytes", cJSON_CreateNumber((double)bytes));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "crc32", cJSON_CreateString(hex));
    manifest_store(dir, j);
}

static void read_whole(const char *dir, const char *name, void **buf, size_t *n)
{
    char p[4096];
    path_in(p, sizeof p, dir, name);
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, buf, n), TP_OK);
}

static void write_whole(const char *dir, const char *name, const void *buf, size_t n)
{
    char p[4096];
    path_in(p, sizeof p, dir, name);
    assert_int_equal(th_write_file(p, buf, n), 0);
}

static void test_golden_opens(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "golden-copy");
    Snapshot before;
    snapshot_take(&before, dir);
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st != TP_OK) fail_msg("session_open: %s", err_msg());
    assert_int_equal(s.trainer.step, 7);
    assert_true(isnan(s.valid_ppl)); /* never evaluated */
    size_t n_true = 0;
    for (int i = 0; i < s.model.n_tensors; i++) n_true += s.model.p[i].n;
    session_free(&s);
    cJSON *j = manifest_load(dir);
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(j, "model");
    assert_true(cJSON_GetObjectItemCaseSensitive(mo, "params")->valuedouble == (double)n_true);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "state"), "step")->valueint, 7);
    cJSON_Delete(j);
    snapshot_check_free(&before, dir); /* opening alone writes nothing */
}

static void test_open_refuses_missing_session(void **state)
{
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/nowhere", g_root);
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "manifest.json"));
    assert_false(fsutil_exists(dir));
}

static void test_open_refuses_truncated_model(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "truncated");
    void *orig;
    size_t n;
    read_whole(dir, "model.safetensors", &orig, &n);
    for (int k = 0; k < 16; k++) {
        write_whole(dir, "model.safetensors", orig, n * (size_t)k / 16);
        expect_refused(dir, "model.safetensors", NULL);
    }
    /* truncated, and the manifest updated to match: the safetensors reader must still refuse */
    for (int k = 1; k < 16; k++) {
        write_whole(dir, "model.safetensors", orig, n * (size_t)k / 16);
        manifest_update_file(dir, "model.safetensors");
        expect_refused(dir, "model.safetensors", NULL);
    }
    free(orig);
}

static void test_open_refuses_flipped_byte(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "flipped");
    void *orig;
    size_t n;
    read_whole(dir, "model.safetensors", &orig, &n);
    size_t where[] = {0, 3, 8, 40, n / 2, n - 1};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        unsigned char *b = malloc(n);
        assert_non_null(b);
        memcpy(b, orig, n);
        b[where[i]] ^= 0x10;
        write_whole(dir, "model.safetensors", b, n);
        expect_refused(dir, "model.safetensors", "CRC");
        free(b);
    }
    free(orig);
}

static void test_open_refuses_newer_major(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "v2");
    cJSON *j = manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "version", cJSON_CreateNumber(SESSION_VERSION_MAJOR + 1));
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", "version");
}

static void test_open_accepts_newer_minor(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "minor");
    cJSON *j = manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "minor", cJSON_CreateNumber(SESSION_VERSION_MINOR + 5));
    cJSON_AddStringToObject(j, "some_future_section", "ignored");
    manifest_store(dir, j);
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st != TP_OK) fail_msg("newer minor refused: %s", err_msg());
    session_free(&s);
}

static void test_open_refuses_manifest_not_json(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "notjson");
    const char *bad[] = {"", "{", "not json at all", "[1, 2, 3]", "\"topiary-session\"", "{\"format\": }"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_whole(dir, "manifest.json", bad[i], strlen(bad[i]));
        expect_refused(dir, "manifest.json", NULL);
    }
}

static void test_open_refuses_manifest_wrong_format(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "format");
    cJSON *j = manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "format", cJSON_CreateString("something-else"));
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", NULL);
}

static void test_open_refuses_manifest_without_files(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "nofiles");
    cJSON *j = manifest_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "files");
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", "files");

    /* files present but one entry missing, or of the wrong type */
    copy_golden(dir, sizeof dir, "nofiles2");
    j = manifest_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), "vocab.json");
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", "vocab.json");

    copy_golden(dir, sizeof dir, "nofiles3");
    j = manifest_load(dir);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), "model.safetensors");
    cJSON_ReplaceItemInObjectCaseSensitive(e, "crc32", cJSON_CreateNumber(1234));
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", "model.safetensors");
}

/* task.hidden says 12 where the file holds 16 units: the CRC is fine, the shape check must catch it. */
static void test_open_refuses_manifest_lying_about_shape(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "lying");
    cJSON *j = manifest_load(dir);
    cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "hidden");
    assert_true(cJSON_IsArray(h));
    cJSON_ReplaceItemInArray(h, 0, cJSON_CreateNumber(12));
    manifest_store(dir, j);
    expect_refused(dir, "model.safetensors", "shape");

    /* the embedding size too */
    copy_golden(dir, sizeof dir, "lying2");
    j = manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "task"), "embed", cJSON_CreateNumber(9));
    manifest_store(dir, j);
    expect_refused(dir, "model.safetensors", "embed.weight");

    /* one layer fewer than the file holds is also a lie the shapes reveal (l0's output feeds the decoder) */
    copy_golden(dir, sizeof dir, "lying3");
    j = manifest_load(dir);
    cJSON *task = cJSON_GetObjectItemCaseSensitive(j, "task");
    cJSON_ReplaceItemInObjectCaseSensitive(task, "layers", cJSON_CreateNumber(1));
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(task, "hidden"), 1);
    manifest_store(dir, j);
    expect_refused(dir, "model.safetensors", "decoder.weight");
}

/* Rewrite model.safetensors with `victim` reshaped (or given a bad value), and fix the manifest's
 * bytes/crc32 so that only the tensor checks can catch it. */
static void rewrite_model(const char *dir, const char *victim, int mode)
{
    char p[4096];
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
        void *data = calloc(t->n_elems + 1, 8); /* room for any dtype of the same element count */
        assert_non_null(data);
        memcpy(data, t->data, t->nbytes);
        if (!strcmp(t->name, victim)) {
            found = 1;
            if (mode == 0) shape[ndim - 1] -= 1;            /* one column (or element) fewer   */
            else if (mode == 1) dt = dt == SAFETENSORS_F32 ? SAFETENSORS_I32 : SAFETENSORS_F32; /* wrong dtype */
            else if (mode == 2) ((uint8_t *)data)[0] = 2;   /* a mask value that is not 0 or 1  */
            else if (mode == 3) ndim = 1, shape[0] = t->n_elems; /* flattened               */
        }
        assert_int_equal(safetensors_writer_add(w, t->name, dt, ndim, shape, data), TP_OK);
        free(data);
    }
    assert_true(found);
    for (int i = 0; i < f.n_meta; i++) assert_int_equal(safetensors_writer_meta(w, f.meta_keys[i], f.meta_vals[i]), TP_OK);
    assert_int_equal(safetensors_writer_save(w, p), TP_OK);
    safetensors_writer_delete(w);
    safetensors_free(&f);
    manifest_update_file(dir, "model.safetensors");
}

static void test_open_refuses_wrong_shaped_tensor(void **state)
{
    (void)state;
    static const char *const victims[] = {"embed.weight", "l0.w_ih", "l1.w_hh", "l1.b_hh", "decoder.weight",
                                          "decoder.bias", "mask.l0.w_hh", "optim.m.l0.b_ih", "optim.v.decoder.weight",
                                          "state.h.l0", "state.c.l1"};
    char dir[2048], tag[64];
    for (size_t i = 0; i < sizeof victims / sizeof victims[0]; i++) {
        for (int mode = 0; mode < 2; mode++) {
            snprintf(tag, sizeof tag, "shape-%zu-%d", i, mode);
            copy_golden(dir, sizeof dir, tag);
            rewrite_model(dir, victims[i], mode);
            expect_refused(dir, "model.safetensors", victims[i]);
        }
    }
    /* a matrix stored flat */
    copy_golden(dir, sizeof dir, "flat");
    rewrite_model(dir, "l0.w_hh", 3);
    expect_refused(dir, "model.safetensors", "l0.w_hh");
}

static void test_open_refuses_bad_mask_value(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "mask2");
    rewrite_model(dir, "mask.decoder.bias", 2);
    expect_refused(dir, "model.safetensors", "mask");
}

static void test_open_refuses_vocab_wrong_count(void **state)
{
    (void)state;
    char dir[2048];
    for (int fix_crc = 0; fix_crc < 2; fix_crc++) {
        copy_golden(dir, sizeof dir, fix_crc ? "vocab-crc" : "vocab");
        void *buf;
        size_t n;
        read_whole(dir, "vocab.json", &buf, &n);
        cJSON *a = cJSON_ParseWithLength(buf, n);
        free(buf);
        assert_true(cJSON_IsArray(a));
        cJSON_DeleteItemFromArray(a, cJSON_GetArraySize(a) - 1);
        char *txt = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        write_whole(dir, "vocab.json", txt, strlen(txt));
        free(txt);
        if (fix_crc) manifest_update_file(dir, "vocab.json");
        expect_refused(dir, "vocab.json", NULL);
    }
    /* not an array; an entry that is not a string (CRC fixed, so the parser must catch it) */
    const char *bad[] = {"{\"a\": 1}", "[\"a\", 2]", "[", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        copy_golden(dir, sizeof dir, "vocab-bad");
        write_whole(dir, "vocab.json", bad[i], strlen(bad[i]));
        manifest_update_file(dir, "vocab.json");
        expect_refused(dir, "vocab.json", NULL);
    }
}

static void test_open_refuses_missing_model(void **state)
{
    (void)state;
    char dir[2048], p[4096];
    copy_golden(dir, sizeof dir, "nomodel");
    path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(remove(p), 0);
    Session s;
    assert_int_not_equal(session_open(&s, dir, NULL), TP_OK);
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    assert_false(fsutil_exists(p));
}

static void test_open_refuses_state_out_of_range(void **state)
{
    (void)state;
    char dir[2048];
    copy_golden(dir, sizeof dir, "badstate");
    cJSON *j = manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "state"), "window",
                                           cJSON_CreateNumber(1e6));
    manifest_store(dir, j);
    expect_refused(dir, "manifest.json", "window");
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
    snprintf(dir, sizeof dir, "%s/metrics", g_root);
    Task t;
    tiny_task(&t, 1, OPTIM_SGD, 0.0f);
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
    train_n(&s, 3, NULL);
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
    read_whole(dir, "metrics.tsv", &buf, &n);
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
        cmocka_unit_test(test_open_refuses_truncated_model),
        cmocka_unit_test(test_open_refuses_flipped_byte),
        cmocka_unit_test(test_open_refuses_newer_major),
        cmocka_unit_test(test_open_accepts_newer_minor),
        cmocka_unit_test(test_open_refuses_manifest_not_json),
        cmocka_unit_test(test_open_refuses_manifest_wrong_format),
        cmocka_unit_test(test_open_refuses_manifest_without_files),
        cmocka_unit_test(test_open_refuses_manifest_lying_about_shape),
        cmocka_unit_test(test_open_refuses_wrong_shaped_tensor),
        cmocka_unit_test(test_open_refuses_bad_mask_value),
        cmocka_unit_test(test_open_refuses_vocab_wrong_count),
        cmocka_unit_test(test_open_refuses_missing_model),
        cmocka_unit_test(test_open_refuses_state_out_of_range),
        cmocka_unit_test(test_metrics_rows_match_header),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
