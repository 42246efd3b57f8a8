/* tests/test_modelio: sessions/modelio, the vocab.json and tensor checks shared by sessions and exports.
 *
 * On copies of a tiny trained session (tests/session_fixture): a wrong-shaped tensor and a vocabulary
 * of the wrong size are refused naming the file; then the module on its own: vocab.json round trip,
 * a vocabulary entry that is not a string, and the message of a tensor of the wrong shape.
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
#include "sessions/modelio.h"

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
            sf_copy_golden(dir, sizeof dir, tag);
            sf_rewrite_model(dir, victims[i], mode);
            sf_expect_refused(dir, "model.safetensors", victims[i]);
        }
    }
    /* a matrix stored flat */
    sf_copy_golden(dir, sizeof dir, "flat");
    sf_rewrite_model(dir, "l0.w_hh", 3);
    sf_expect_refused(dir, "model.safetensors", "l0.w_hh");
}

static void test_open_refuses_vocab_wrong_count(void **state)
{
    (void)state;
    char dir[2048];
    for (int fix_crc = 0; fix_crc < 2; fix_crc++) {
        sf_copy_golden(dir, sizeof dir, fix_crc ? "vocab-crc" : "vocab");
        void *buf;
        size_t n;
        sf_read_whole(dir, "vocab.json", &buf, &n);
        cJSON *a = cJSON_ParseWithLength(buf, n);
        free(buf);
        assert_true(cJSON_IsArray(a));
        cJSON_DeleteItemFromArray(a, cJSON_GetArraySize(a) - 1);
        char *txt = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        sf_write_whole(dir, "vocab.json", txt, strlen(txt));
        free(txt);
        if (fix_crc) sf_manifest_update_file(dir, "vocab.json");
        sf_expect_refused(dir, "vocab.json", NULL);
    }
    /* not an array; an entry that is not a string (CRC fixed, so the parser must catch it) */
    const char *bad[] = {"{\"a\": 1}", "[\"a\", 2]", "[", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sf_copy_golden(dir, sizeof dir, "vocab-bad");
        sf_write_whole(dir, "vocab.json", bad[i], strlen(bad[i]));
        sf_manifest_update_file(dir, "vocab.json");
        sf_expect_refused(dir, "vocab.json", NULL);
    }
}



/* ==== the module on its own ==== */

static void test_vocab_round_trip(void **state)
{
    (void)state;
    char dir[2048], p[4096];
    snprintf(dir, sizeof dir, "%s/vocab", sf_root);
    assert_int_equal(fsutil_mkdir_p(dir), TP_OK);
    sf_path_in(p, sizeof p, dir, "vocab.json");
    char *words[] = {"<unk>", "the", "caf\xc3\xa9", "a \"quoted\" one"};
    Corpus c;
    memset(&c, 0, sizeof c);
    c.vocab = words;
    c.n_vocab = 4;
    assert_int_equal(modelio_write_vocab(&c, p), TP_OK);
    char **v = NULL;
    int n = 0;
    assert_int_equal(modelio_read_vocab(p, 1 << 20, &v, &n), TP_OK);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) assert_string_equal(v[i], words[i]);
    assert_null(v[n]);
    modelio_free_vocab(v, n);
    /* an entry that is not a string, and a file that is not an array */
    assert_int_equal(th_write_file(p, "[\"a\", 3]", 8), 0);
    assert_int_equal(modelio_read_vocab(p, 1 << 20, &v, &n), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "entry 1 is not a string"));
    assert_null(v);
    assert_int_equal(th_write_file(p, "{}", 2), 0);
    assert_int_equal(modelio_read_vocab(p, 1 << 20, &v, &n), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "vocab.json"));
}

static void test_load_tensor_checks(void **state)
{
    (void)state;
    char p[4096];
    snprintf(p, sizeof p, "%s/t.safetensors", sf_root);
    float w[6] = {1, 2, 3, 4, 5, 6}, out[6] = {0};
    int64_t shape[2] = {2, 3};
    SafetensorsWriter *wr = safetensors_writer_new();
    assert_int_equal(safetensors_writer_add(wr, "w", SAFETENSORS_F32, 2, shape, w), TP_OK);
    assert_int_equal(safetensors_writer_save(wr, p), TP_OK);
    safetensors_writer_delete(wr);
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    assert_int_equal(modelio_load_tensor(&f, p, "w", SAFETENSORS_F32, 2, 2, 3, "expected", out), TP_OK);
    assert_memory_equal(out, w, sizeof w);
    assert_int_equal(modelio_load_tensor(&f, p, "w", SAFETENSORS_F32, 2, 3, 2, "config.json implies", out), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "tensor w has the wrong dtype or shape: F32 [2,3], config.json implies F32 [3,2]"));
    assert_int_equal(modelio_load_tensor(&f, p, "w", SAFETENSORS_U8, 2, 2, 3, "expected", out), TP_EFORMAT);
    assert_int_equal(modelio_load_tensor(&f, p, "w", SAFETENSORS_F32, 1, 6, 1, "expected", out), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "expected F32 [6]"));
    assert_int_equal(modelio_load_tensor(&f, p, "nope", SAFETENSORS_F32, 1, 6, 1, "expected", out), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "tensor nope missing"));
    safetensors_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refuses_wrong_shaped_tensor),
        cmocka_unit_test(test_open_refuses_vocab_wrong_count),
        cmocka_unit_test(test_vocab_round_trip),
        cmocka_unit_test(test_load_tensor_checks),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
