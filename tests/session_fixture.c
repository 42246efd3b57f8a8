/* tests/session_fixture: the tiny session that test_session, test_manifest and test_modelio share.
 *
 * A generated PTB-style corpus (300 lines), a 2-layer LSTM session trained 7 steps and saved (the
 * "golden" session), and the tools of the refusal tests: copy the golden session, damage a file,
 * check that session_open refuses naming the file and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "session_fixture.h"
#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "sessions/manifest.h"
#include "sessions/session_new.h"

char *sf_root;          /* temp dir holding everything below          */
char sf_data[1024];     /* the corpus directory                       */
char sf_golden[1024];   /* a saved session that the refusal tests copy */

static void sf_write_split(const char *dir, const char *name, int n_lines, uint32_t seed)
{
    assert_int_equal(th_write_words(dir, name, n_lines, seed, 24, 8), 0);
}

void sf_tiny_task(Task *t, int n_layers, OptimKind optim, float dropout)
{
    task_defaults(t);
    snprintf(t->data, sizeof t->data, "%s", sf_data);
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

void sf_path_in(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

void sf_train_n(Session *s, int n, double *losses)
{
    for (int i = 0; i < n; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&s->trainer, &info), TP_OK);
        if (losses) losses[i] = info.loss;
    }
}

int sf_group_setup(void **state)
{
    (void)state;
    sf_root = th_tempdir("session");
    if (!sf_root) return -1;
    snprintf(sf_data, sizeof sf_data, "%s/data", sf_root);
    if (fsutil_mkdir_p(sf_data) != TP_OK) return -1;
    sf_write_split(sf_data, "ptb.train.txt", 200, 1);
    sf_write_split(sf_data, "ptb.valid.txt", 50, 2);
    sf_write_split(sf_data, "ptb.test.txt", 50, 3);
    snprintf(sf_golden, sizeof sf_golden, "%s/golden", sf_root);
    Task t;
    sf_tiny_task(&t, 2, OPTIM_ADAM, 0.2f);
    Session s;
    if (session_new(&s, sf_golden, &t) != TP_OK) {
        fprintf(stderr, "session_new: %s\n", err_msg());
        return -1;
    }
    sf_train_n(&s, 7, NULL);
    TpStatus st = session_save(&s);
    session_free(&s);
    return st == TP_OK ? 0 : -1;
}

int sf_group_teardown(void **state)
{
    (void)state;
    th_rmtree(sf_root);
    free(sf_root);
    return 0;
}

/* ==== Refusals ==== */

const char *const SF_FILES[] = {"manifest.json", "model.safetensors", "vocab.json", "metrics.tsv"};

static int sf_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

void sf_snapshot_take(SfSnapshot *s, const char *dir)
{
    char p[4096];
    for (int i = 0; i < SF_N_FILES; i++) {
        sf_path_in(p, sizeof p, dir, SF_FILES[i]);
        assert_int_equal(fsutil_read_file(p, SIZE_MAX, &s->data[i], &s->n[i]), TP_OK);
    }
    s->n_entries = sf_count_entries(dir);
}

void sf_snapshot_check_free(SfSnapshot *s, const char *dir)
{
    SfSnapshot now;
    sf_snapshot_take(&now, dir);
    for (int i = 0; i < SF_N_FILES; i++) {
        if (now.n[i] != s->n[i] || memcmp(now.data[i], s->data[i], s->n[i]) != 0)
            fail_msg("%s/%s was modified by a refused open", dir, SF_FILES[i]);
        free(now.data[i]);
        free(s->data[i]);
    }
    assert_int_equal(now.n_entries, s->n_entries);
}

/* A fresh copy of the golden session in <root>/<tag>. */
void sf_copy_golden(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", sf_root, tag);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    char from[4096], to[4096];
    for (int i = 0; i < SF_N_FILES; i++) {
        void *buf;
        size_t len;
        sf_path_in(from, sizeof from, sf_golden, SF_FILES[i]);
        sf_path_in(to, sizeof to, dir, SF_FILES[i]);
        assert_int_equal(fsutil_read_file(from, SIZE_MAX, &buf, &len), TP_OK);
        assert_int_equal(fsutil_write_atomic(to, buf, len), TP_OK);
        free(buf);
    }
}

/* session_open must fail, name `file` (and `also`, if given) in its message, and change nothing. */
void sf_expect_refused(const char *dir, const char *file, const char *also)
{
    SfSnapshot before;
    sf_snapshot_take(&before, dir);
    err_clear();
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st == TP_OK) {
        session_free(&s);
        fail_msg("%s: damaged session opened (expected a refusal naming %s)", dir, file);
    }
    if (!strstr(err_msg(), file) || (also && !strstr(err_msg(), also)))
        fail_msg("refusal message '%s' does not name '%s'%s%s", err_msg(), file, also ? " and " : "", also ? also : "");
    sf_snapshot_check_free(&before, dir);
}

cJSON *sf_manifest_load(const char *dir)
{
    char p[4096];
    void *buf;
    size_t n;
    sf_path_in(p, sizeof p, dir, "manifest.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(j);
    return j;
}

void sf_manifest_store(const char *dir, cJSON *j)
{
    char p[4096];
    char *txt = manifest_print(j); /* resealed: the tests damage what lies behind the manifest's own CRC */
    assert_non_null(txt);
    sf_path_in(p, sizeof p, dir, "manifest.json");
    assert_int_equal(fsutil_write_atomic(p, txt, strlen(txt)), TP_OK);
    free(txt);
    cJSON_Delete(j);
}

/* Make the manifest's files.<name> entry agree with the file as it now is (so only deeper checks
 * can catch the damage). */
void sf_manifest_update_file(const char *dir, const char *name)
{
    char p[4096], hex[16];
    uint32_t crc;
    uint64_t bytes;
    sf_path_in(p, sizeof p, dir, name);
    assert_int_equal(fsutil_crc32_file(p, &crc, &bytes), TP_OK);
    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    cJSON *j = sf_manifest_load(dir);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), name);
    assert_non_null(e);
    cJSON_ReplaceItemInObjectCaseSensitive(e, "bytes", cJSON_CreateNumber((double)bytes));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "crc32", cJSON_CreateString(hex));
    sf_manifest_store(dir, j);
}

void sf_read_whole(const char *dir, const char *name, void **buf, size_t *n)
{
    char p[4096];
    sf_path_in(p, sizeof p, dir, name);
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, buf, n), TP_OK);
}

void sf_write_whole(const char *dir, const char *name, const void *buf, size_t n)
{
    char p[4096];
    sf_path_in(p, sizeof p, dir, name);
    assert_int_equal(th_write_file(p, buf, n), 0);
}

/* Rewrite model.safetensors with `victim` reshaped (or given a bad value), and fix the manifest's
 * bytes/crc32 so that only the tensor checks can catch it. */
void sf_rewrite_model(const char *dir, const char *victim, int mode)
{
    char p[4096];
    sf_path_in(p, sizeof p, dir, "model.safetensors");
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
    sf_manifest_update_file(dir, "model.safetensors");
}
