/* tests/test_export_open: reading an export back (export_load, export_open of sessions/export):
 * damaged exports (config.json lying about shapes or the vocabulary, a tensor missing or unknown,
 * a mask value 2, NaN, a pruned entry that is not zero, files missing) must be refused with a
 * message naming the file.  The golden export comes from tests/export_fixture.c.
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


/* ==== refusals ==== */

static const char *const FILES[] = {"config.json", "model.safetensors", "vocab.json"};

static void copy_export(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", ef_root, tag);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    for (int i = 0; i < 3; i++) {
        char from[4200], to[4200];
        ef_path_in(from, sizeof from, ef_export, FILES[i]);
        ef_path_in(to, sizeof to, dir, FILES[i]);
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
    ef_path_in(p, sizeof p, dir, "config.json");
    assert_int_equal(fsutil_read_file(p, SIZE_MAX, &buf, &n), TP_OK);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(j);
    return j;
}

static void config_store(const char *dir, cJSON *j)
{
    char p[4200];
    ef_path_in(p, sizeof p, dir, "config.json");
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
    /* "tie": 1 on an untied model (embed 8 = the last layer's 8): its decoder.weight is not embed.weight */
    copy_export(dir, sizeof dir, "lie-tie");
    j = config_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "tie", cJSON_CreateNumber(1));
    config_store(dir, j);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", "tied");
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
    ef_path_in(p, sizeof p, dir, "config.json");
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
    ef_path_in(p, sizeof p, dir, "config.json");
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
    ef_path_in(p, sizeof p, dir, "vocab.json");
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
    ef_path_in(p, sizeof p, dir, "vocab.json");
    assert_int_equal(th_write_file(p, "{\"a\":1}", 7), 0);
    expect_refused(dir, TP_EFORMAT, "vocab.json", NULL);
    copy_export(dir, sizeof dir, "voc-missing");
    ef_path_in(p, sizeof p, dir, "vocab.json");
    assert_int_equal(unlink(p), 0);
    expect_refused(dir, TP_ENOENT, "vocab.json", NULL);
}

enum { DROP, MASK2, NAN_W, EXTRA, PRUNED_NONZERO, RESHAPE, RETYPE };

/* Rewrite model.safetensors with `victim` damaged in one way. */
static void rewrite_model(const char *dir, const char *victim, int mode)
{
    char p[4200];
    ef_path_in(p, sizeof p, dir, "model.safetensors");
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
    ef_path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(truncate(p, 1000), 0);
    expect_refused(dir, TP_EFORMAT, "model.safetensors", NULL);
    copy_export(dir, sizeof dir, "model-missing");
    ef_path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(unlink(p), 0);
    expect_refused(dir, TP_ENOENT, "model.safetensors", NULL);
}

static void test_open_refuses_missing_data(void **state)
{
    (void)state;
    err_clear();
    ExportModel e;
    TpStatus st = export_open(&e, ef_export, "/nonexistent/corpus");
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
    st = export_open(&e, dir, ef_data);
    if (st != TP_OK) fail_msg("export_open --data: %s", err_msg());
    export_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_loads),
        cmocka_unit_test(test_refuses_config_lying_about_shapes),
        cmocka_unit_test(test_refuses_bad_config),
        cmocka_unit_test(test_refuses_vocab_mismatch),
        cmocka_unit_test(test_refuses_damaged_model),
        cmocka_unit_test(test_open_refuses_missing_data),
    };
    return cmocka_run_group_tests(tests, ef_group_setup, ef_group_teardown);
}
