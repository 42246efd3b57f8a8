/* tests/test_exportsum: checksums.json of an export (sessions/exportsum) and the export's hostile-file
 * checks (issue 11).
 *
 * The golden session of tests/session_fixture is exported once; each test works on a copy.  A file
 * modified, truncated, missing or added after the export is refused naming it; names in checksums.json
 * that leave the directory are refused; an export without checksums.json (older topiary) loads with
 * info.checked = 0.  Also: config.json claiming a model far larger than model.safetensors is refused
 * before the model is allocated (case 8), and the temp files of a killed export are removed by the
 * next export into the directory, and only those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/fsutil.h"
#include "session_fixture.h"
#include "sessions/export.h"
#include "sessions/exportsum.h"

static char g_export[1200];
static const char *const FILES[] = {"config.json", "model.safetensors", "vocab.json", "model.compact.safetensors",
                                    "checksums.json"};
enum { N_FILES = 5 };

static int setup(void **state)
{
    if (sf_group_setup(state)) return -1;
    Session s;
    if (session_open(&s, sf_golden, NULL) != TP_OK) return -1;
    snprintf(g_export, sizeof g_export, "%s/export", sf_root);
    TpStatus st = export_write(&s, g_export);
    session_free(&s);
    return st == TP_OK ? 0 : -1;
}

static void copy_export(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", sf_root, tag);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    for (int i = 0; i < N_FILES; i++) {
        char from[4200], to[4200];
        sf_path_in(from, sizeof from, g_export, FILES[i]);
        sf_path_in(to, sizeof to, dir, FILES[i]);
        assert_int_equal(fsutil_copy_file(from, to), TP_OK);
    }
}

static TpStatus load(const char *dir, int *checked)
{
    Model m;
    ExportInfo info;
    TpStatus st = export_load(&m, &info, dir);
    if (getenv("TOPIARY_TEST_VERBOSE")) fprintf(stderr, "  %s: %s\n", dir, st ? err_msg() : "loaded");
    if (st == TP_OK) {
        *checked = info.checked;
        model_free(&m);
        export_info_free(&info);
    } else {
        assert_null(m.w);
    }
    return st;
}

static void expect_refused(const char *dir, const char *file, const char *also)
{
    int checked;
    assert_int_equal(load(dir, &checked), TP_EFORMAT);
    if (!strstr(err_msg(), file) || (also && !strstr(err_msg(), also)))
        fail_msg("refusal '%s' does not name '%s' %s", err_msg(), file, also ? also : "");
}

static void test_export_has_checksums(void **state)
{
    (void)state;
    char dir[2048];
    int checked = 0;
    copy_export(dir, sizeof dir, "plain");
    assert_int_equal(load(dir, &checked), TP_OK);
    assert_int_equal(checked, 1);
    cJSON *j;
    void *buf;
    size_t n;
    sf_read_whole(dir, "checksums.json", &buf, &n);
    j = cJSON_ParseWithLength(buf, n);
    free(buf);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    for (int i = 0; i < 4; i++) assert_non_null(cJSON_GetObjectItemCaseSensitive(files, FILES[i]));
    cJSON_Delete(j);
    sf_read_whole(dir, "config.json", &buf, &n);
    assert_non_null(strstr(buf, "\"minor\":\t1"));
    free(buf);
}

/* one flipped byte, a truncation, a missing file, in each of the four files: refused naming it */
static void test_modified_files_refused(void **state)
{
    (void)state;
    char dir[2048];
    for (int i = 0; i < 4; i++) {
        void *orig;
        size_t n;
        copy_export(dir, sizeof dir, "damaged");
        sf_read_whole(dir, FILES[i], &orig, &n);
        ((unsigned char *)orig)[n / 2] ^= 0x01;
        sf_write_whole(dir, FILES[i], orig, n);
        expect_refused(dir, FILES[i], "CRC32");
        ((unsigned char *)orig)[n / 2] ^= 0x01;
        sf_write_whole(dir, FILES[i], orig, n - 1);
        expect_refused(dir, FILES[i], "truncated");
        free(orig);
        char p[4200];
        sf_path_in(p, sizeof p, dir, FILES[i]);
        assert_int_equal(unlink(p), 0);
        int checked = 0;
        if (i == 0 || i == 2) { /* config.json, vocab.json: mandatory */
            expect_refused(dir, FILES[i], i == 0 ? NULL : "missing");
        } else if (i == 1) { /* model.safetensors may be left out (compact-only), but export_load reads it */
            assert_int_equal(load(dir, &checked), TP_ENOENT);
            assert_non_null(strstr(err_msg(), "model.safetensors"));
        } else { /* the compact file may be deleted: the dense model is read, checked */
            assert_int_equal(load(dir, &checked), TP_OK);
            assert_int_equal(checked, 1);
        }
    }
}

/* an export of topiary before checksums.json: loads, unchecked */
static void test_old_export_without_checksums_opens(void **state)
{
    (void)state;
    char dir[2048], p[4200];
    int checked = 1;
    copy_export(dir, sizeof dir, "old");
    sf_path_in(p, sizeof p, dir, "checksums.json");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(load(dir, &checked), TP_OK);
    assert_int_equal(checked, 0);
}

static void write_sums(const char *dir, const char *files_json)
{
    char txt[2048];
    snprintf(txt, sizeof txt, "{\"format\":\"topiary-export-checksums\",\"version\":1,\"files\":%s}", files_json);
    sf_write_whole(dir, "checksums.json", txt, strlen(txt));
}

/* hostile checksums.json: names out of the directory, bad entries, a file left out, a newer version */
static void test_hostile_checksums_refused(void **state)
{
    (void)state;
    char dir[2048];
    copy_export(dir, sizeof dir, "hostile");
    write_sums(dir, "{\"../export/config.json\":{\"bytes\":1,\"crc32\":\"00000000\"}}");
    expect_refused(dir, "checksums.json", "not a file name");
    write_sums(dir, "{\"/dev/zero\":{\"bytes\":1,\"crc32\":\"00000000\"}}");
    expect_refused(dir, "checksums.json", "not a file name");
    write_sums(dir, "{\"config.json\":{\"bytes\":-1,\"crc32\":\"00000000\"}}");
    expect_refused(dir, "checksums.json", "files.config.json");
    write_sums(dir, "{\"config.json\":{\"bytes\":1,\"crc32\":\"xyz\"}}");
    expect_refused(dir, "checksums.json", "files.config.json");
    write_sums(dir, "{}");
    expect_refused(dir, "config.json", "not listed");
    sf_write_whole(dir, "checksums.json", "[1]", 3);
    expect_refused(dir, "checksums.json", "format");
    sf_write_whole(dir, "checksums.json", "{\"format\":\"topiary-export-checksums\",\"version\":2,\"files\":{}}", 60);
    expect_refused(dir, "checksums.json", "newer");
}

/* Case 8: config.json says hidden 16384 for a model file of a few KB.  Refused by the size check,
 * which runs before model_init (that allocated ~10 GB and took 80 s before the refusal). */
static void test_config_larger_than_model_refused_before_allocating(void **state)
{
    (void)state;
    char dir[2048], p[4200];
    copy_export(dir, sizeof dir, "huge");
    sf_path_in(p, sizeof p, dir, "checksums.json");
    assert_int_equal(unlink(p), 0); /* an old export: only the size check stands in the way */
    sf_path_in(p, sizeof p, dir, "model.compact.safetensors");
    assert_int_equal(unlink(p), 0);
    void *buf;
    size_t n;
    sf_read_whole(dir, "config.json", &buf, &n);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hidden");
    for (int l = 0; l < cJSON_GetArraySize(h); l++) cJSON_ReplaceItemInArray(h, l, cJSON_CreateNumber(16384));
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    sf_write_whole(dir, "config.json", txt, strlen(txt));
    free(txt);
    expect_refused(dir, "model.safetensors", "config.json and the model do not match");
}

/* A killed export leaves "<file>.tmp.XXXXXX" files; the next export removes them, and nothing else. */
static void test_stale_temps_removed_by_next_export(void **state)
{
    (void)state;
    char dir[2048], p[4200], keep[4200];
    copy_export(dir, sizeof dir, "stale");
    sf_path_in(p, sizeof p, dir, "model.safetensors.tmp.Ab12Cd");
    sf_write_whole(dir, "model.safetensors.tmp.Ab12Cd", "partial", 7);
    snprintf(keep, sizeof keep, "%s/victim.txt", sf_root);
    assert_int_equal(fsutil_write_atomic(keep, "keep", 4), TP_OK);
    char lnk[4200];
    sf_path_in(lnk, sizeof lnk, dir, "vocab.json.tmp.XyZ123");
    assert_int_equal(symlink(keep, lnk), 0);
    Session s;
    assert_int_equal(session_open(&s, sf_golden, NULL), TP_OK);
    assert_int_equal(export_write(&s, dir), TP_OK);
    session_free(&s);
    assert_false(fsutil_exists(p));
    assert_int_equal(access(lnk, F_OK), -1);
    assert_true(fsutil_exists(keep)); /* the symlink went, never its target */
    int checked = 0;
    assert_int_equal(load(dir, &checked), TP_OK);
    assert_int_equal(checked, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_has_checksums),
        cmocka_unit_test(test_modified_files_refused),
        cmocka_unit_test(test_old_export_without_checksums_opens),
        cmocka_unit_test(test_hostile_checksums_refused),
        cmocka_unit_test(test_config_larger_than_model_refused_before_allocating),
        cmocka_unit_test(test_stale_temps_removed_by_next_export),
    };
    return cmocka_run_group_tests(tests, setup, sf_group_teardown);
}
