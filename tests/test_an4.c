/* tests/test_an4: engine/an4 on small AN4-shaped directories written here (synthetic SPHERE audio, lists
 * sound and damaged), and on the real AN4 in ../shared/data/an4 when it is there (skipped with a message
 * otherwise): split sizes, the speaker-disjoint validation split, transcripts, durations. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/an4.h"
#include "engine/asr_metrics.h"
#include "engine/ctc_decode.h"
#include "engine/sphere.h"
#include "tests/helpers.h"

static void assert_msg_has(const char *needle)
{
    if (!strstr(err_msg(), needle)) fail_msg("message '%s' lacks '%s'", err_msg(), needle);
}

/* ---- a synthetic AN4: 12 speakers s00..s11, 2 utterances each, of 3200 + 400 k samples ---- */

#define N_SPK 12
static const char *const WORDS[] = {"YES", "NO", "RUBOUT", "G M E F", "IT'S TWO", "ENTER"};

static void write_sph(const char *path, const int16_t *x, size_t n, int rate)
{
    char hdr[1024];
    memset(hdr, ' ', sizeof hdr);
    int len = snprintf(hdr, sizeof hdr,
                       "NIST_1A\n   1024\nsample_count -i %zu\nsample_rate -i %d\nsample_n_bytes -i 2\n"
                       "sample_byte_format -s2 01\nchannel_count -i 1\nsample_coding -s3 pcm\n"
                       "sample_checksum -i %u\nend_head\n",
                       n, rate, (unsigned)sphere_checksum(x, n));
    hdr[len] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, sizeof hdr, f), sizeof hdr);
    assert_int_equal(fwrite(x, 2, n, f), n);  /* the test machine is little-endian, like the build */
    assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *d, const char *sub)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", d, sub);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    assert_int_equal(system(cmd), 0);
}

static size_t utt_samples(int s, int u) { return 3200 + 400 * (size_t)((s * 2 + u) % 7); }

/* Write the lists (train transcripts with <s> </s>, as CMU's) and the audio; 'rate' for every file. */
static char *make_an4(int rate)
{
    char *d = th_tempdir("an4");
    mkdirs(d, "etc");
    char ids[8192] = "", tr[8192] = "", p[4200];
    int16_t *x = malloc(16000 * sizeof(int16_t));
    for (int s = 0; s < N_SPK; s++) {
        char sub[64];
        snprintf(sub, sizeof sub, "wav/an4_clstk/s%02d", s);
        mkdirs(d, sub);
        for (int u = 0; u < 2; u++) {
            char id[128];
            snprintf(id, sizeof id, "an4_clstk/s%02d/u%d-s%02d", s, u, s);
            size_t n = utt_samples(s, u);
            for (size_t i = 0; i < n; i++) x[i] = (int16_t)(3000 * sin(0.01 * (double)i * (s + 1) + u));
            snprintf(p, sizeof p, "%s/wav/%s.sph", d, id);
            write_sph(p, x, n, rate);
            snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s\n", id);
            snprintf(tr + strlen(tr), sizeof tr - strlen(tr), "<s> %s </s> (u%d-s%02d)\n", WORDS[(s + u) % 6], u, s);
        }
    }
    free(x);
    snprintf(p, sizeof p, "%s/etc/an4_train.fileids", d);
    assert_int_equal(th_write_file(p, ids, strlen(ids)), 0);
    snprintf(p, sizeof p, "%s/etc/an4_train.transcription", d);
    assert_int_equal(th_write_file(p, tr, strlen(tr)), 0);
    return d;
}

static void put(const char *d, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", d, name);
    assert_int_equal(th_write_file(p, text, strlen(text)), 0);
}

static void test_alphabet(void **state)
{
    (void)state;
    assert_int_equal(an4_char_class(' '), AN4_SPACE);
    assert_int_equal(an4_char_class('\''), AN4_APOSTROPHE);
    assert_int_equal(an4_char_class('A'), 3);
    assert_int_equal(an4_char_class('Z'), 28);
    assert_int_equal(an4_char_class('a'), -1);
    assert_int_equal(an4_char_class('_'), -1);
    for (int c = 1; c < AN4_N_CLASSES; c++) assert_int_equal(an4_char_class(an4_class_char(c)), c);
    assert_int_equal(an4_class_char(AN4_BLANK), '_');
    int lab[16], L;
    assert_int_equal(an4_text_to_labels(lab, &L, "IT'S Z", 16), TP_OK);
    const int want[] = {11, 22, 2, 21, 1, 28};
    assert_int_equal(L, 6);
    assert_memory_equal(lab, want, sizeof want);
    char buf[16];
    assert_int_equal(an4_labels_to_text(buf, sizeof buf, lab, L), TP_OK);
    assert_string_equal(buf, "IT'S Z");
    assert_int_equal(an4_text_to_labels(lab, &L, "YES no", 16), TP_EFORMAT);
    assert_msg_has("column 5: character 'n'");
    assert_int_equal(an4_text_to_labels(lab, &L, "YES", 2), TP_ERANGE);
    lab[0] = AN4_BLANK;
    assert_int_equal(an4_labels_to_text(buf, sizeof buf, lab, 1), TP_EINVAL);
    assert_int_equal(an4_labels_to_text(buf, 3, want, 6), TP_ERANGE);
    An4Split sp;
    assert_int_equal(an4_split_parse(&sp, "valid"), TP_OK);
    assert_int_equal(sp, AN4_VALID);
    assert_int_equal(an4_split_parse(&sp, "train-all"), TP_OK);
    assert_int_equal(sp, AN4_TRAIN_ALL);
    assert_int_equal(an4_split_parse(&sp, "dev"), TP_EINVAL);
    assert_string_equal(an4_split_name(AN4_TEST), "test");
}

static void test_synthetic(void **state)
{
    (void)state;
    char *d = make_an4(16000);
    FeatCfg c;
    features_cfg_default(&c);
    An4 *tr, *va, *all;
    assert_int_equal(an4_open(d, AN4_TRAIN, &c, &tr), TP_OK);
    assert_int_equal(an4_open(d, AN4_VALID, &c, &va), TP_OK);
    assert_int_equal(an4_open(d, AN4_TRAIN_ALL, &c, &all), TP_OK);
    assert_int_equal(an4_count(all), 2 * N_SPK);
    assert_int_equal(an4_count(va), 2);  /* speaker 9 only (19 does not exist) */
    assert_int_equal(an4_count(tr), 2 * N_SPK - 2);
    assert_string_equal(an4_speaker(va, 0), "s09");
    assert_string_equal(an4_speaker(va, 1), "s09");
    for (int i = 0; i < an4_count(tr); i++) assert_string_not_equal(an4_speaker(tr, i), "s09");
    assert_int_equal(an4_dim(all), 40);
    /* utterance 3 of train-all: speaker 1, u1; its text without the tags, its labels, its features */
    const float *f;
    const int *lab;
    const char *id;
    int T, L;
    assert_int_equal(an4_utt(all, 3, &f, &T, &lab, &L, &id), TP_OK);
    assert_string_equal(id, "u1-s01");
    assert_string_equal(an4_text(all, 3), WORDS[2]);
    char buf[64];
    assert_int_equal(an4_labels_to_text(buf, sizeof buf, lab, L), TP_OK);
    assert_string_equal(buf, "RUBOUT");
    size_t n = utt_samples(1, 1);
    FeatExtractor *fx;
    assert_int_equal(features_new(&fx, &c), TP_OK);
    assert_int_equal(T, (int)features_n_frames(fx, n));
    int16_t *x16 = malloc(n * sizeof *x16);
    float *x = malloc(n * sizeof *x), *g;
    for (size_t i = 0; i < n; i++) x16[i] = (int16_t)(3000 * sin(0.01 * (double)i * 2 + 1));
    features_from_pcm16(x, x16, n);
    int Tg;
    assert_int_equal(features_compute(fx, &g, &Tg, x, n), TP_OK);
    assert_memory_equal(g, f, (size_t)T * 40 * sizeof(float));
    free(g);
    free(x);
    free(x16);
    features_delete(fx);
    /* totals */
    size_t frames = 0;
    int mx = 0;
    double secs = 0;
    for (int i = 0; i < an4_count(all); i++) {
        assert_int_equal(an4_utt(all, i, NULL, &T, NULL, NULL, NULL), TP_OK);
        frames += (size_t)T;
        if (T > mx) mx = T;
        secs += (double)utt_samples(i / 2, i % 2) / 16000.0;
    }
    assert_int_equal(an4_total_frames(all), frames);
    assert_int_equal(an4_max_frames(all), mx);
    assert_float_equal(an4_seconds(all), secs, 1e-9);
    /* sort by length: non-decreasing, ties by index, a permutation */
    int order[2 * N_SPK], seen[2 * N_SPK] = {0};
    an4_sort_by_length(all, order);
    for (int k = 0; k < 2 * N_SPK; k++) {
        seen[order[k]]++;
        if (k) {
            int Ta, Tb;
            an4_utt(all, order[k - 1], NULL, &Ta, NULL, NULL, NULL);
            an4_utt(all, order[k], NULL, &Tb, NULL, NULL, NULL);
            assert_true(Ta < Tb || (Ta == Tb && order[k - 1] < order[k]));
        }
    }
    for (int k = 0; k < 2 * N_SPK; k++) assert_int_equal(seen[k], 1);
    assert_int_equal(an4_utt(all, 2 * N_SPK, &f, &T, NULL, NULL, NULL), TP_ERANGE);
    assert_null(an4_text(all, -1));
    /* no augmentation asked for */
    Rng r;
    rng_seed(&r, 1);
    assert_int_equal(an4_utt_augmented(all, 0, &r, &f, &T), TP_EINVAL);
    an4_close(tr);
    an4_close(va);
    an4_close(all);
    th_rmtree(d);
    free(d);
}

static void test_augmented(void **state)
{
    (void)state;
    char *d = make_an4(16000);
    FeatCfg c;
    features_cfg_default(&c);
    c.aug.speed_min = 0.9f;
    c.aug.speed_max = 1.1f;
    c.aug.noise_prob = 1.0f;
    c.aug.snr_min_db = c.aug.snr_max_db = 15.0f;
    An4 *ds;
    assert_int_equal(an4_open(d, AN4_TRAIN_ALL, &c, &ds), TP_OK);
    const float *clean, *f;
    int Tc, T1, T2;
    assert_int_equal(an4_utt(ds, 5, &clean, &Tc, NULL, NULL, NULL), TP_OK);
    Rng r;
    rng_seed(&r, 99);
    assert_int_equal(an4_utt_augmented(ds, 5, &r, &f, &T1), TP_OK);
    float *first = malloc((size_t)T1 * 40 * sizeof(float));
    memcpy(first, f, (size_t)T1 * 40 * sizeof(float));
    rng_seed(&r, 99);
    assert_int_equal(an4_utt_augmented(ds, 5, &r, &f, &T2), TP_OK);
    assert_int_equal(T1, T2);
    assert_memory_equal(first, f, (size_t)T1 * 40 * sizeof(float));
    assert_true(abs(T1 - Tc) <= Tc / 9 + 1);
    assert_true(T1 != Tc || memcmp(first, clean, (size_t)T1 * 40 * sizeof(float)) != 0);
    free(first);
    an4_close(ds);
    th_rmtree(d);
    free(d);
}

static void expect_open_fails(const char *d, An4Split split, TpStatus code, const char *a, const char *b)
{
    FeatCfg c;
    features_cfg_default(&c);
    An4 *ds = (An4 *)1;
    TpStatus st = an4_open(d, split, &c, &ds);
    if (st != code) fail_msg("got %d (%s), expected %d", st, err_msg(), code);
    assert_null(ds);
    assert_msg_has(a);
    if (b) assert_msg_has(b);
}

static void test_bad_lists(void **state)
{
    (void)state;
    char *d = make_an4(16000);
    /* no test lists at all */
    expect_open_fails(d, AN4_TEST, TP_ENOENT, "etc/an4_test.fileids", NULL);
    /* out of step: line 2 names another utterance */
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\n<s> NO </s> (u0-s01)\n");
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\nan4_clstk/s00/u1-s00\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "etc/an4_train.transcription:2:", "out of step");
    /* a character outside the alphabet, with its line and column */
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\n<s> NO, </s> (u1-s00)\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "etc/an4_train.transcription:2:7:", "character ','");
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\nyes (u1-s00)\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "transcription:2:1:", "'y'");
    /* counts differ */
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "1 transcripts", "2 ids");
    /* no (id) */
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\nYES\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "transcription:2:", "TEXT (UTTERANCE-ID)");
    /* empty text */
    put(d, "etc/an4_train.transcription", "<s> YES </s> (u0-s00)\n<s> </s> (u1-s00)\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "transcription:2:", "empty transcript");
    /* ids that climb out or have no speaker */
    put(d, "etc/an4_train.transcription", "YES (u0-s00)\nNO (u1-s00)\n");
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\n../s00/u1-s00\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "etc/an4_train.fileids:2:", "relative path");
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\nu1-s00\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "fileids:2:", "no speaker folder");
    /* a missing audio file is named */
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\nan4_clstk/s00/u9-s00\n");
    put(d, "etc/an4_train.transcription", "YES (u0-s00)\nNO (u9-s00)\n");
    expect_open_fails(d, AN4_TRAIN_ALL, TP_ENOENT, "u9-s00", NULL);
    /* a damaged audio file is named with the reason */
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\n\nan4_clstk/s00/u1-s00\n");
    put(d, "etc/an4_train.transcription", "YES (u0-s00)\nNO (u1-s00)\n");
    char p[4200];
    snprintf(p, sizeof p, "%s/wav/an4_clstk/s00/u1-s00.sph", d);
    assert_int_equal(truncate(p, 2000), 0);
    expect_open_fails(d, AN4_TRAIN_ALL, TP_EFORMAT, "u1-s00.sph", "truncated");
    /* only the good one: opens (a blank line is skipped), and the valid split is then empty */
    put(d, "etc/an4_train.fileids", "an4_clstk/s00/u0-s00\n\n");
    put(d, "etc/an4_train.transcription", "\nYES (u0-s00)\n");
    FeatCfg c;
    features_cfg_default(&c);
    An4 *ds;
    assert_int_equal(an4_open(d, AN4_TRAIN_ALL, &c, &ds), TP_OK);
    assert_int_equal(an4_count(ds), 1);
    an4_close(ds);
    expect_open_fails(d, AN4_VALID, TP_EFORMAT, "split valid is empty", NULL);
    th_rmtree(d);
    free(d);
    /* audio at another rate than the configuration's */
    d = make_an4(8000);
    expect_open_fails(d, AN4_TRAIN, TP_EFORMAT, "sample_rate 8000", "16000 Hz");
    th_rmtree(d);
    free(d);
}

static void test_real_an4(void **state)
{
    (void)state;
    const char *p = th_shared_data("an4/etc/an4_test.fileids");
    if (!p) { print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n"); skip(); return; }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", th_shared_data("an4"));
    FeatCfg c;
    features_cfg_default(&c);
    An4 *te, *tr, *va;
    assert_int_equal(an4_open(dir, AN4_TEST, &c, &te), TP_OK);
    assert_int_equal(an4_count(te), 130);
    const char *id;
    const int *lab;
    int L, T;
    assert_int_equal(an4_utt(te, 0, NULL, &T, &lab, &L, &id), TP_OK);
    assert_string_equal(id, "an406-fcaw-b");
    assert_string_equal(an4_text(te, 0), "RUBOUT G M E F THREE NINE");
    assert_int_equal(L, 25);
    assert_true(fabs(an4_seconds(te) - 0.099 * 3600) < 0.0005 * 3600 + 1);  /* README: 5.9 min, 0.099 h */
    assert_int_equal(an4_open(dir, AN4_TRAIN, &c, &tr), TP_OK);
    assert_int_equal(an4_open(dir, AN4_VALID, &c, &va), TP_OK);
    assert_int_equal(an4_count(tr) + an4_count(va), 948);
    assert_true(fabs(an4_seconds(tr) + an4_seconds(va) - 0.707 * 3600) < 0.0005 * 3600 + 1);  /* 0.707 h */
    /* 7 validation speakers, none of them in train */
    int n_spk = 0;
    const char *spk[16];
    for (int i = 0; i < an4_count(va); i++) {
        int k = 0;
        while (k < n_spk && strcmp(spk[k], an4_speaker(va, i)) != 0) k++;
        if (k == n_spk) { assert_true(n_spk < 16); spk[n_spk++] = an4_speaker(va, i); }
    }
    assert_int_equal(n_spk, 7);
    for (int i = 0; i < an4_count(tr); i++)
        for (int k = 0; k < n_spk; k++) assert_string_not_equal(an4_speaker(tr, i), spk[k]);
    size_t chars = 0;
    for (int i = 0; i < an4_count(tr); i++) { an4_utt(tr, i, NULL, NULL, NULL, &L, NULL); chars += (size_t)L; }
    for (int i = 0; i < an4_count(va); i++) { an4_utt(va, i, NULL, NULL, NULL, &L, NULL); chars += (size_t)L; }
    assert_int_equal(chars, 17854);  /* README: chars of text in train */
    print_message("AN4: train %d (%.1f min), valid %d (%.1f min, 7 speakers), test %d; longest %d frames\n",
                  an4_count(tr), an4_seconds(tr) / 60, an4_count(va), an4_seconds(va) / 60, an4_count(te),
                  an4_max_frames(tr));
    /* every test transcript survives labels -> CTC posteriors (one frame per label, a blank between
     * equal neighbours) -> both decoders -> text, with WER and CER 0; and a decoded text missing its
     * last label counts as errors.  The shortest utterance against its labels is printed: a model with
     * stride s needs about T / s >= L + repeats. */
    AsrTotals ok, cut;
    asr_totals_init(&ok);
    asr_totals_init(&cut);
    double worst = 1e9;
    for (int i = 0; i < an4_count(te); i++) {
        assert_int_equal(an4_utt(te, i, NULL, &T, &lab, &L, NULL), TP_OK);
        int Tp = 0, rep = 0;
        float *lp = malloc((size_t)(2 * L) * AN4_N_CLASSES * sizeof(float));
        for (int k = 0; k < L; k++) {
            if (k && lab[k] == lab[k - 1]) {
                rep++;
                for (int k2 = 0; k2 < AN4_N_CLASSES; k2++) lp[Tp * AN4_N_CLASSES + k2] = k2 == AN4_BLANK ? -0.01f : -9.0f;
                Tp++;
            }
            for (int k2 = 0; k2 < AN4_N_CLASSES; k2++) lp[Tp * AN4_N_CLASSES + k2] = k2 == lab[k] ? -0.01f : -9.0f;
            Tp++;
        }
        if ((double)T / (L + rep) < worst) worst = (double)T / (L + rep);
        int out[256], Lo;
        char text[256];
        assert_int_equal(ctc_greedy(out, &Lo, lp, Tp, AN4_N_CLASSES, AN4_BLANK), TP_OK);
        assert_int_equal(an4_labels_to_text(text, sizeof text, out, Lo), TP_OK);
        assert_string_equal(text, an4_text(te, i));
        assert_int_equal(ctc_beam(out, &Lo, NULL, lp, Tp, AN4_N_CLASSES, AN4_BLANK, 8), TP_OK);
        assert_int_equal(an4_labels_to_text(text, sizeof text, out, Lo), TP_OK);
        assert_int_equal(asr_totals_add(&ok, an4_text(te, i), text), TP_OK);
        assert_int_equal(an4_labels_to_text(text, sizeof text, out, Lo - 1), TP_OK);
        assert_int_equal(asr_totals_add(&cut, an4_text(te, i), text), TP_OK);
        free(lp);
    }
    assert_float_equal(asr_wer(&ok), 0.0, 0.0);
    assert_float_equal(asr_cer(&ok), 0.0, 0.0);
    assert_int_equal(cut.char_edits, 130);  /* one character lost per utterance */
    assert_true(cut.word_edits == 130 && asr_wer(&cut) > 0.1);
    print_message("AN4 test: smallest frames / (labels + repeats) = %.2f\n", worst);
    an4_close(te);
    an4_close(tr);
    an4_close(va);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabet),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_augmented),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_real_an4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
