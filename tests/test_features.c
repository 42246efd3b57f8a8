/* tests/test_features: engine/features against an independent numpy reference on a real AN4 file
 * (tests/ref/an4_features.py run with /usr/bin/python3; skipped with a message when numpy or AN4 is
 * absent), plus checks that need neither: frame counts, a pure tone's band, normalisation, the
 * configuration's ranges, resampling a sine, noise at a measured SNR, and seeded augmentation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/features.h"
#include "engine/sphere.h"
#include "tests/helpers.h"

#define REAL "an4/wav/an4_clstk/fash/an251-fash-b.sph"
#define PY "/usr/bin/python3"
/* Stated tolerance of the C log-mel (FFTW, single precision) against numpy's float64: the largest
 * absolute difference over all T x F values, in nats for the raw log-mel, in standard deviations for the
 * normalised one. */
#define TOL_RAW 1e-4
#define TOL_NORM 1e-4

static int have_numpy(void) { return access(PY, X_OK) == 0 && system(PY " -c 'import numpy' 2>/dev/null") == 0; }

/* Read the reference file: "T F", T rows raw, T rows normalised. */
static void read_ref(const char *path, int *T, int *F, float **raw, float **norm)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d %d", T, F), 2);
    size_t n = (size_t)*T * (size_t)*F;
    *raw = malloc(n * sizeof(float));
    *norm = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) assert_int_equal(fscanf(f, "%f", &(*raw)[i]), 1);
    for (size_t i = 0; i < n; i++) assert_int_equal(fscanf(f, "%f", &(*norm)[i]), 1);
    fclose(f);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void compare_with_numpy(const char *sph, const FeatCfg *base, const char *extra_args)
{
    char *d = th_tempdir("feat");
    char out[4200], cmd[9000];
    snprintf(out, sizeof out, "%s/ref.txt", d);
    snprintf(cmd, sizeof cmd, PY " tests/ref/an4_features.py '%s' '%s' %s", sph, out, extra_args);
    assert_int_equal(system(cmd), 0);
    int T, F;
    float *raw, *norm;
    read_ref(out, &T, &F, &raw, &norm);
    SphereAudio a;
    assert_int_equal(sphere_read(sph, 0, &a), TP_OK);
    float *x = malloc(a.n_samples * sizeof(float));
    features_from_pcm16(x, a.samples, a.n_samples);
    for (int normalize = 0; normalize <= 1; normalize++) {
        FeatCfg c = *base;
        c.normalize = normalize;
        FeatExtractor *fx;
        assert_int_equal(features_new(&fx, &c), TP_OK);
        float *feat;
        int Tc;
        assert_int_equal(features_compute(fx, &feat, &Tc, x, a.n_samples), TP_OK);
        assert_int_equal(Tc, T);
        assert_int_equal(features_dim(fx), F);
        double diff = max_abs_diff(feat, normalize ? norm : raw, (size_t)T * F);
        print_message("%s F=%d T=%d %s: max |C - numpy| = %.2e\n", sph, F, T, normalize ? "normalised" : "raw", diff);
        assert_true(diff <= (normalize ? TOL_NORM : TOL_RAW));
        free(feat);
        features_delete(fx);
    }
    free(x);
    free(raw);
    free(norm);
    sphere_free(&a);
    th_rmtree(d);
    free(d);
}

static void test_matches_numpy(void **state)
{
    (void)state;
    const char *p = th_shared_data(REAL);
    if (!p) { print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n"); skip(); return; }
    if (!have_numpy()) { print_message(PY " with numpy not found: skipping the reference comparison\n"); skip(); return; }
    if (access("tests/ref/an4_features.py", R_OK) != 0) { print_message("run from the repository root: skipping\n"); skip(); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s", p);
    FeatCfg c;
    features_cfg_default(&c);
    compare_with_numpy(path, &c, "");
    /* another configuration: 80 bands, 20/12.5 ms, 1024-point FFT, 100..7000 Hz */
    c.n_mels = 80;
    c.win_ms = 20.0f;
    c.hop_ms = 12.5f;
    c.n_fft = 1024;
    c.f_min = 100.0f;
    c.f_max = 7000.0f;
    compare_with_numpy(path, &c, "80 20 12.5 1024 100 7000");
}

static void test_frames_and_tone(void **state)
{
    (void)state;
    FeatCfg c;
    features_cfg_default(&c);
    c.normalize = 0;
    FeatExtractor *fx;
    assert_int_equal(features_new(&fx, &c), TP_OK);
    assert_int_equal(features_n_frames(fx, 1), 1);
    assert_int_equal(features_n_frames(fx, 399), 1);
    assert_int_equal(features_n_frames(fx, 400), 1);
    assert_int_equal(features_n_frames(fx, 559), 1);
    assert_int_equal(features_n_frames(fx, 560), 2);
    assert_int_equal(features_n_frames(fx, 16000), 98);
    /* a 1 kHz tone: the loudest band is the one whose centre (mel-spaced) is nearest 1 kHz */
    size_t n = 4000;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * (float)sin(2 * M_PI * 1000.0 * i / 16000.0);
    float *feat;
    int T;
    assert_int_equal(features_compute(fx, &feat, &T, x, n), TP_OK);
    assert_int_equal(T, 23);
    double m1 = 2595.0 * log10(1 + 8000.0 / 700.0), best = 1e9;
    int want = -1;
    for (int b = 0; b < 40; b++) {
        double centre = 700.0 * (pow(10.0, m1 * (b + 1) / 41.0 / 2595.0) - 1.0);
        if (fabs(centre - 1000.0) < best) { best = fabs(centre - 1000.0); want = b; }
    }
    for (int t = 0; t < T; t++) {
        int arg = 0;
        for (int b = 1; b < 40; b++) if (feat[t * 40 + b] > feat[t * 40 + arg]) arg = b;
        assert_int_equal(arg, want);
    }
    free(feat);
    /* silence: every value at the floor, ln(1e-10) */
    memset(x, 0, n * sizeof(float));
    assert_int_equal(features_compute(fx, &feat, &T, x, n), TP_OK);
    for (int i = 0; i < T * 40; i++) assert_float_equal(feat[i], log(1e-10), 1e-4);
    free(feat);
    assert_int_equal(features_compute(fx, &feat, &T, x, 0), TP_EINVAL);
    assert_null(feat);
    free(x);
    features_delete(fx);
}

static void test_normalize(void **state)
{
    (void)state;
    enum { T = 50, F = 3 };
    float f[T * F];
    Rng r;
    rng_seed(&r, 7);
    for (int t = 0; t < T; t++) {
        f[t * F + 0] = rng_range(&r, -20, -5);
        f[t * F + 1] = 3.0f * t;
        f[t * F + 2] = 4.0f;  /* constant: becomes 0 */
    }
    features_normalize(f, T, F);
    for (int b = 0; b < F; b++) {
        double s = 0, ss = 0;
        for (int t = 0; t < T; t++) { s += f[t * F + b]; ss += (double)f[t * F + b] * f[t * F + b]; }
        assert_true(fabs(s / T) < 1e-5);
        if (b < 2) assert_true(fabs(ss / T - 1.0) < 1e-4);
        else assert_true(ss == 0.0);
    }
}

static void test_cfg_check(void **state)
{
    (void)state;
    FeatCfg c;
    FeatExtractor *fx = (FeatExtractor *)1;
#define BAD(field, value, word)                                             \
    features_cfg_default(&c);                                               \
    c.field = value;                                                        \
    assert_int_equal(features_new(&fx, &c), TP_EINVAL);                     \
    assert_null(fx);                                                        \
    if (!strstr(err_msg(), word)) fail_msg("'%s' lacks '%s'", err_msg(), word);
    BAD(sample_rate, 100, "sample_rate")
    BAD(n_mels, 0, "n_mels")
    BAD(n_mels, 1000, "n_mels")
    BAD(win_ms, 0.1f, "window")
    BAD(hop_ms, 0.0f, "hop")
    BAD(n_fft, 256, "n_fft")
    BAD(f_max, 9000.0f, "band")
    BAD(f_min, 8000.0f, "band")
    BAD(aug.speed_min, 0.1f, "speed")
    BAD(aug.speed_max, 0.9f, "speed")
    BAD(aug.noise_prob, 1.5f, "noise_prob")
    BAD(aug.snr_min_db, 50.0f, "snr")
#undef BAD
    features_cfg_default(&c);
    assert_int_equal(features_cfg_check(&c), TP_OK);
    assert_false(features_aug_enabled(&c.aug));
    c.aug.noise_prob = 0.5f;
    assert_true(features_aug_enabled(&c.aug));
}

/* A 440 Hz sine played 1.25 times faster is a 550 Hz sine (0.8 times: 352 Hz), away from the ends. */
static void check_speed(float speed)
{
    size_t n = 8000;
    float *x = malloc(n * sizeof(float)), *y;
    size_t ny;
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * (float)sin(2 * M_PI * 440.0 * i / 16000.0);
    assert_int_equal(features_resample(&y, &ny, x, n, speed), TP_OK);
    assert_int_equal(ny, (size_t)floor(n / (double)speed));
    double worst = 0;
    for (size_t j = 200; j + 200 < ny; j++) {
        double want = 0.5 * sin(2 * M_PI * 440.0 * speed * j / 16000.0);
        worst = fmax(worst, fabs(y[j] - want));
    }
    print_message("speed %.2f: max error %.2e\n", speed, worst);
    assert_true(worst < 2e-4);
    free(x);
    free(y);
}

static void test_resample(void **state)
{
    (void)state;
    check_speed(1.25f);
    check_speed(0.8f);
    check_speed(1.1f);
    float x[5] = {1, 2, 3, 4, 5}, *y;
    size_t ny;
    assert_int_equal(features_resample(&y, &ny, x, 5, 1.0f), TP_OK);
    assert_int_equal(ny, 5);
    assert_memory_equal(x, y, sizeof x);
    free(y);
    assert_int_equal(features_resample(&y, &ny, x, 5, 3.0f), TP_EINVAL);
    assert_null(y);
    /* a tone above the new Nyquist is removed when speeding up: 7 kHz at 1.5x would alias */
    size_t n = 8000;
    float *hi = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) hi[i] = (float)sin(2 * M_PI * 7000.0 * i / 16000.0);
    assert_int_equal(features_resample(&y, &ny, hi, n, 1.5f), TP_OK);
    double e = 0;
    for (size_t j = 200; j + 200 < ny; j++) e += (double)y[j] * y[j];
    assert_true(e / (double)(ny - 400) < 1e-3);  /* the input's power is 0.5 */
    free(y);
    free(hi);
}

static void test_noise(void **state)
{
    (void)state;
    size_t n = 64000;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *z = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = 0.3f * (float)sin(2 * M_PI * 300.0 * i / 16000.0);
    for (float snr = -5.0f; snr <= 30.0f; snr += 17.5f) {
        memcpy(y, x, n * sizeof(float));
        Rng r;
        rng_seed(&r, 42);
        features_add_noise(y, n, snr, &r);
        double ps = 0, pn = 0, mean = 0;
        for (size_t i = 0; i < n; i++) { ps += (double)x[i] * x[i]; pn += (double)(y[i] - x[i]) * (y[i] - x[i]); mean += y[i] - x[i]; }
        double got = 10 * log10(ps / pn);
        print_message("snr %.1f dB: measured %.2f dB\n", snr, got);
        assert_true(fabs(got - snr) < 0.15);
        assert_true(fabs(mean / n) < 0.05 * sqrt(pn / n));
        /* the same seed gives the same noise, another seed other noise */
        memcpy(z, x, n * sizeof(float));
        rng_seed(&r, 42);
        features_add_noise(z, n, snr, &r);
        assert_memory_equal(y, z, n * sizeof(float));
        memcpy(z, x, n * sizeof(float));
        rng_seed(&r, 43);
        features_add_noise(z, n, snr, &r);
        assert_memory_not_equal(y, z, n * sizeof(float));
    }
    memset(y, 0, n * sizeof(float));
    Rng r;
    rng_seed(&r, 1);
    features_add_noise(y, n, 10.0f, &r);
    for (size_t i = 0; i < n; i++) assert_true(y[i] == 0.0f);
    free(x);
    free(y);
    free(z);
}

static void test_augment(void **state)
{
    (void)state;
    size_t n = 3200;
    float *x = malloc(n * sizeof(float)), *y1, *y2;
    size_t n1, n2;
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(i * 0.05);
    FeatAugment off = {1.0f, 1.0f, 0.0f, 20.0f, 20.0f};
    Rng r, before;
    rng_seed(&r, 5);
    before = r;
    assert_int_equal(features_augment(&y1, &n1, &off, &r, x, n), TP_OK);
    assert_int_equal(n1, n);
    assert_memory_equal(y1, x, n * sizeof(float));
    assert_memory_equal(&r, &before, sizeof r);  /* nothing drawn */
    free(y1);
    FeatAugment on = {0.9f, 1.1f, 1.0f, 10.0f, 20.0f};
    rng_seed(&r, 5);
    assert_int_equal(features_augment(&y1, &n1, &on, &r, x, n), TP_OK);
    rng_seed(&r, 5);
    assert_int_equal(features_augment(&y2, &n2, &on, &r, x, n), TP_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(y1, y2, n1 * sizeof(float));
    assert_true(n1 >= (size_t)(n / 1.1) && n1 <= (size_t)(n / 0.9) + 1);
    free(y2);
    /* another seed: another draw (different length or different noise) */
    rng_seed(&r, 6);
    assert_int_equal(features_augment(&y2, &n2, &on, &r, x, n), TP_OK);
    assert_true(n1 != n2 || memcmp(y1, y2, n1 * sizeof(float)) != 0);
    free(y1);
    free(y2);
    free(x);
}

/* SpecAugment: every zeroed feature lies in whole bands (all frames of a feature) or whole frames
 * (all features of a frame); widths within their limits; a seed replays it; counts of 0 draw nothing. */
static void test_spec_augment(void **state)
{
    (void)state;
    enum { T = 100, F = 40 };
    float *x = malloc(T * F * sizeof(float)), *y = malloc(T * F * sizeof(float));
    for (int i = 0; i < T * F; i++) x[i] = 1.0f + (float)(i % 7);
    Rng r, before;
    rng_seed(&r, 9);
    before = r;
    memcpy(y, x, T * F * sizeof(float));
    features_spec_augment(y, T, F, 0, 8, 0, 30, &r);
    assert_memory_equal(y, x, T * F * sizeof(float));
    assert_memory_equal(&r, &before, sizeof r);
    int seen_f = 0, seen_t = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        memcpy(y, x, T * F * sizeof(float));
        rng_seed(&r, seed);
        features_spec_augment(y, T, F, 2, 8, 2, 30, &r);
        int fz[F] = {0}, tz[T] = {0};
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++)
                if (y[t * F + f] == 0.0f) fz[f]++, tz[t]++;
                else assert_true(y[t * F + f] == x[t * F + f]);
        int nf = 0, nt = 0;
        for (int f = 0; f < F; f++) nf += fz[f] == T;
        for (int t = 0; t < T; t++) nt += tz[t] == F;
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++)
                if (y[t * F + f] == 0.0f) assert_true(fz[f] == T || tz[t] == F);
        assert_true(nf <= 2 * 8);
        assert_true(nt <= 2 * (T / 5)); /* the time limit is min(30, T/5) = 20 per mask */
        seen_f += nf > 0;
        seen_t += nt > 0;
        /* replay */
        float *z = malloc(T * F * sizeof(float));
        memcpy(z, x, T * F * sizeof(float));
        rng_seed(&r, seed);
        features_spec_augment(z, T, F, 2, 8, 2, 30, &r);
        assert_memory_equal(z, y, T * F * sizeof(float));
        free(z);
    }
    assert_true(seen_f > 20 && seen_t > 20);
    /* a 3-frame utterance gets no time mask (T/5 = 0): unchanged */
    memcpy(y, x, 3 * F * sizeof(float));
    rng_seed(&r, 2);
    features_spec_augment(y, 3, F, 0, 8, 3, 30, &r);
    assert_memory_equal(y, x, 3 * F * sizeof(float));
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_numpy),
        cmocka_unit_test(test_frames_and_tone),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_cfg_check),
        cmocka_unit_test(test_resample),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_augment),
        cmocka_unit_test(test_spec_augment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
