/* tests/test_manifest: sessions/manifest, the commit point of a save.
 *
 * On copies of a tiny trained session (tests/session_fixture): every kind of damage the manifest check
 * promises to catch (truncation, flipped bytes, newer major, bad JSON, wrong format, missing entries, a
 * missing model) must be refused by session_open with a message naming the file, without touching a
 * byte; a newer minor is accepted.  Then the module on its own: commit and read back, and recovery
 * from a save interrupted between the rename and the second manifest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/fsutil.h"
#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "helpers.h"
#include "session_fixture.h"
#include "sessions/manifest.h"

static void test_open_refuses_truncated_model(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "truncated");
    void *orig;
    size_t n;
    sf_read_whole(dir, "model.safetensors", &orig, &n);
    for (int k = 0; k < 16; k++) {
        sf_write_whole(dir, "model.safetensors", orig, n * (size_t)k / 16);
        sf_expect_refused(dir, "model.safetensors", NULL);
    }
    /* truncated, and the manifest updated to match: the safetensors reader must still refuse */
    for (int k = 1; k < 16; k++) {
        sf_write_whole(dir, "model.safetensors", orig, n * (size_t)k / 16);
        sf_manifest_update_file(dir, "model.safetensors");
        sf_expect_refused(dir, "model.safetensors", NULL);
    }
    free(orig);
}

static void test_open_refuses_flipped_byte(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "flipped");
    void *orig;
    size_t n;
    sf_read_whole(dir, "model.safetensors", &orig, &n);
    size_t where[] = {0, 3, 8, 40, n / 2, n - 1};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        unsigned char *b = malloc(n);
        assert_non_null(b);
        memcpy(b, orig, n);
        b[where[i]] ^= 0x10;
        sf_write_whole(dir, "model.safetensors", b, n);
        sf_expect_refused(dir, "model.safetensors", "CRC");
        free(b);
    }
    free(orig);
}

static void test_open_refuses_newer_major(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "v2");
    cJSON *j = sf_manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "version", cJSON_CreateNumber(SESSION_VERSION_MAJOR + 1));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "version");
}

static void test_open_accepts_newer_minor(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "minor");
    cJSON *j = sf_manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "minor", cJSON_CreateNumber(SESSION_VERSION_MINOR + 5));
    cJSON_AddStringToObject(j, "some_future_section", "ignored");
    sf_manifest_store(dir, j);
    Session s;
    TpStatus st = session_open(&s, dir, NULL);
    if (st != TP_OK) fail_msg("newer minor refused: %s", err_msg());
    session_free(&s);
}

static void test_open_refuses_manifest_not_json(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "notjson");
    const char *bad[] = {"", "{", "not json at all", "[1, 2, 3]", "\"topiary-session\"", "{\"format\": }"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sf_write_whole(dir, "manifest.json", bad[i], strlen(bad[i]));
        sf_expect_refused(dir, "manifest.json", NULL);
    }
}

/* The manifest's own CRC32 (issue 11): a flipped digit in a value that no other check would notice
 * (the step) is refused naming the file; an old manifest without the field (minor 0) still opens, and
 * so does a hand edit whose "manifest_crc32" line was deleted. */
static void test_open_refuses_manifest_crc_mismatch(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "selfcrc");
    void *orig;
    size_t n;
    sf_read_whole(dir, "manifest.json", &orig, &n);
    char *txt = orig;
    assert_non_null(strstr(txt, "\"" MANIFEST_CRC_KEY "\""));
    char *step = strstr(txt, "\"step\":");
    assert_non_null(step);
    char *digit = step + strcspn(step, "0123456789");
    *digit = *digit == '9' ? '8' : (char)(*digit + 1); /* still valid JSON, still a valid step */
    sf_write_whole(dir, "manifest.json", txt, n);
    sf_expect_refused(dir, "manifest.json", "CRC32");
    free(orig);

    /* without the field: accepted unchecked (older sessions, or a deliberate hand edit) */
    cJSON *j = sf_manifest_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(j, MANIFEST_CRC_KEY);
    char *plain = cJSON_Print(j);
    cJSON_Delete(j);
    sf_write_whole(dir, "manifest.json", plain, strlen(plain));
    free(plain);
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    session_free(&s);

    /* the field present but not 8 digits, or not last */
    const char *bad[] = {"\"manifest_crc32\": 5", "\"manifest_crc32\": \"abc\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = sf_manifest_load(dir);
        char *t = cJSON_Print(j);
        cJSON_Delete(j);
        char *buf = malloc(strlen(t) + 64);
        size_t k = strlen(t) - 2; /* before "\n}" */
        memcpy(buf, t, k);
        sprintf(buf + k, ",\n\t%s\n}", bad[i]);
        sf_write_whole(dir, "manifest.json", buf, strlen(buf));
        sf_expect_refused(dir, "manifest.json", MANIFEST_CRC_KEY);
        free(buf);
        free(t);
    }
}

/* Issue 11 case 10: integers read from the manifest are range-checked before the cast (a step of 2^70
 * was printed as INT64_MIN); the refusal names the field. */
static void test_open_refuses_out_of_range_integers(void **state)
{
    (void)state;
    char dir[2048];
    const char *fields[] = {"step", "epoch", "window", "adam_t"};
    for (int i = 0; i < 4; i++) {
        sf_copy_golden(dir, sizeof dir, "range");
        cJSON *j = sf_manifest_load(dir);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "state");
        cJSON_DeleteItemFromObjectCaseSensitive(st, fields[i]);
        cJSON_AddRawToObject(st, fields[i], "1180591620717411303424"); /* 2^70 */
        sf_manifest_store(dir, j);
        char want[64];
        snprintf(want, sizeof want, "state.%s: expected an integer", fields[i]);
        sf_expect_refused(dir, "manifest.json", want);
    }
    sf_copy_golden(dir, sizeof dir, "range");
    cJSON *j = sf_manifest_load(dir);
    cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "state");
    cJSON_DeleteItemFromObjectCaseSensitive(st, "step");
    cJSON_AddRawToObject(st, "step", "-3");
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "state.step");
}

/* manifest_print seals, manifest_check_crc verifies byte-exactly, also with the key inside a string */
static void test_manifest_print_and_check(void **state)
{
    (void)state;
    cJSON *m = manifest_new("a \"manifest_crc32\": \"12345678\" in a string");
    char *t = manifest_print(m);
    assert_non_null(t);
    cJSON *pt = cJSON_Parse(t);
    assert_int_equal(manifest_check_crc(t, strlen(t), pt, "m.json"), TP_OK);
    cJSON_Delete(pt);
    char *again = manifest_print(m); /* resealing replaces the field, never adds a second one */
    assert_string_equal(t, again);
    cJSON *p = cJSON_Parse(again);
    assert_int_equal(manifest_check_crc(again, strlen(again), p, "m.json"), TP_OK);
    char *r = strstr(again, "reason");
    r[1] = 'R'; /* "Reason": the text changed, the CRC did not */
    assert_int_equal(manifest_check_crc(again, strlen(again), p, "m.json"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "m.json: CRC32"));
    cJSON_Delete(p);
    cJSON_Delete(m);
    free(t);
    free(again);
}

static void test_open_refuses_manifest_wrong_format(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "format");
    cJSON *j = sf_manifest_load(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "format", cJSON_CreateString("something-else"));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", NULL);
}

static void test_open_refuses_manifest_without_files(void **state)
{
    (void)state;
    char dir[2048];
    sf_copy_golden(dir, sizeof dir, "nofiles");
    cJSON *j = sf_manifest_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "files");
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "files");

    /* files present but one entry missing, or of the wrong type */
    sf_copy_golden(dir, sizeof dir, "nofiles2");
    j = sf_manifest_load(dir);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), "vocab.json");
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "vocab.json");

    sf_copy_golden(dir, sizeof dir, "nofiles3");
    j = sf_manifest_load(dir);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "files"), "model.safetensors");
    cJSON_ReplaceItemInObjectCaseSensitive(e, "crc32", cJSON_CreateNumber(1234));
    sf_manifest_store(dir, j);
    sf_expect_refused(dir, "manifest.json", "model.safetensors");
}

static void test_open_refuses_missing_model(void **state)
{
    (void)state;
    char dir[2048], p[4096];
    sf_copy_golden(dir, sizeof dir, "nomodel");
    sf_path_in(p, sizeof p, dir, "model.safetensors");
    assert_int_equal(remove(p), 0);
    Session s;
    assert_int_not_equal(session_open(&s, dir, NULL), TP_OK);
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    assert_false(fsutil_exists(p));
}



/* ==== the module on its own ==== */

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[4096];
    sf_path_in(p, sizeof p, dir, name);
    assert_int_equal(fsutil_write_atomic(p, text, strlen(text)), TP_OK);
}

static cJSON *new_manifest(void)
{
    cJSON *man = manifest_new("test");
    assert_non_null(man);
    cJSON_AddObjectToObject(man, "state");
    return man;
}

static void test_commit_then_read(void **state)
{
    (void)state;
    char dir[2048], mp[4096], p[4096];
    snprintf(dir, sizeof dir, "%s/commit", sf_root);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    write_text(dir, "model.safetensors.new", "not really a model");
    write_text(dir, "vocab.json", "[\"a\",\"b\"]");
    assert_int_equal(manifest_commit(new_manifest(), dir), TP_OK);
    sf_path_in(p, sizeof p, dir, "model.safetensors.new");
    assert_false(fsutil_exists(p)); /* renamed to its final name */
    cJSON *man = NULL;
    assert_int_equal(manifest_read(dir, &man, mp, sizeof mp), TP_OK);
    sf_path_in(p, sizeof p, dir, "model.safetensors");
    assert_string_equal(mp, p);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(man, "files");
    assert_int_equal(manifest_check_file(files, dir, "vocab.json", NULL, 0), TP_OK);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(man, "reason")->valuestring, "test");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(man, "version")->valueint, MANIFEST_VERSION_MAJOR);
    cJSON_Delete(man);
    /* a changed vocabulary no longer matches its entry */
    write_text(dir, "vocab.json", "[\"a\",\"c\"]");
    assert_int_equal(manifest_read(dir, &man, mp, sizeof mp), TP_OK);
    assert_int_equal(manifest_check_file(cJSON_GetObjectItemCaseSensitive(man, "files"), dir, "vocab.json", NULL, 0),
                     TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "vocab.json: CRC32"));
    cJSON_Delete(man);
}

/* A crash between the first manifest (naming model.safetensors.new) and the rename: the ".new" file is
 * the committed state; the next save first gives it its final name. */
static void test_interrupted_save_recovers(void **state)
{
    (void)state;
    char dir[2048], mp[4096], p[4096];
    snprintf(dir, sizeof dir, "%s/interrupted", sf_root);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    write_text(dir, "model.safetensors.new", "committed bytes");
    cJSON *man = new_manifest();
    cJSON *files = cJSON_AddObjectToObject(man, "files");
    assert_int_equal(manifest_add_file(files, dir, "model.safetensors.new"), TP_OK);
    char *txt = cJSON_Print(man);
    cJSON_Delete(man);
    write_text(dir, "manifest.json", txt);
    free(txt);
    assert_int_equal(manifest_read(dir, &man, mp, sizeof mp), TP_OK);
    cJSON_Delete(man);
    sf_path_in(p, sizeof p, dir, "model.safetensors.new");
    assert_string_equal(mp, p);
    assert_int_equal(manifest_finish_interrupted_save(dir), TP_OK);
    assert_false(fsutil_exists(p));
    assert_int_equal(manifest_read(dir, &man, mp, sizeof mp), TP_OK);
    cJSON_Delete(man);
    sf_path_in(p, sizeof p, dir, "model.safetensors");
    assert_string_equal(mp, p);
}

static void test_field_helpers(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    manifest_add_exact(o, "x", 0.1 + 0.2);
    cJSON_AddNumberToObject(o, "n", 7);
    cJSON_AddNumberToObject(o, "half", 2.5);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON *back = cJSON_Parse(txt);
    assert_true(manifest_num(back, "x", 0) == 0.1 + 0.2); /* bit-exact through 17 digits */
    assert_true(manifest_num(back, "missing", 3.0) == 3.0);
    double v;
    assert_int_equal(manifest_int_in(back, "n", 0, 10, 0, &v), TP_OK);
    assert_true(v == 7);
    assert_int_equal(manifest_int_in(back, "absent", 0, 10, 4, &v), TP_OK);
    assert_true(v == 4);
    assert_int_equal(manifest_int_in(back, "n", 0, 5, 0, &v), TP_EFORMAT);
    assert_int_equal(manifest_int_in(back, "half", 0, 10, 0, &v), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "half"));
    free(txt);
    cJSON_Delete(o);
    cJSON_Delete(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refuses_truncated_model),
        cmocka_unit_test(test_open_refuses_flipped_byte),
        cmocka_unit_test(test_open_refuses_newer_major),
        cmocka_unit_test(test_open_accepts_newer_minor),
        cmocka_unit_test(test_open_refuses_manifest_not_json),
        cmocka_unit_test(test_open_refuses_manifest_wrong_format),
        cmocka_unit_test(test_open_refuses_manifest_crc_mismatch),
        cmocka_unit_test(test_manifest_print_and_check),
        cmocka_unit_test(test_open_refuses_out_of_range_integers),
        cmocka_unit_test(test_open_refuses_manifest_without_files),
        cmocka_unit_test(test_open_refuses_missing_model),
        cmocka_unit_test(test_commit_then_read),
        cmocka_unit_test(test_interrupted_save_recovers),
        cmocka_unit_test(test_field_helpers),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
