/* tests/test_conv2d: the strided, padded 2-D convolution with its clipped ReLU against a direct
 * double-precision evaluation of the formula in conv2d.h, its backward against central finite
 * differences (weights, biases, input), output lengths and bad shapes.
 *
 * The clip has kinks at 0 and 20: the fixture scales the draw so some outputs saturate at 20 and
 * some are cut at 0, then redraws until no pre-activation lies within KINK of either kink, so the
 * finite differences measure the same branch. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/conv2d.h"
#include "engine/gradcheck.h"
#include "engine/rng.h"
#include "tests/helpers.h"

enum { C = 2, F = 7, K = 3, KH = 3, KW = 4, T = 8 };
#define KINK 0.05

static const Conv2dShape SHAPE = {C, F, K, KH, KW, 2, 2, 1, 1}; /* strides 2x2, padding 1x1 */

typedef struct {
    float w[K * C * KH * KW], b[K], x[T * C * F];
    float dw[K * C * KH * KW], db[K], dx[T * C * F];
    float *y, *r; /* [T'][K][F'], loss = Σ r ⊙ y */
    int To, Fo;
    Conv2dCache cache;
} Fixture;

/* the formula of conv2d.h in double; returns the smallest distance of a pre-activation to a kink */
static double reference(const Fixture *f, double *out)
{
    const Conv2dShape *s = &SHAPE;
    double margin = 1e30;
    for (int t = 0; t < f->To; t++)
        for (int k = 0; k < K; k++)
            for (int fo = 0; fo < f->Fo; fo++) {
                double z = f->b[k];
                for (int ch = 0; ch < C; ch++)
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ti = t * s->st + i - s->pt, fj = fo * s->sf + j - s->pf;
                            if (ti < 0 || ti >= T || fj < 0 || fj >= F) continue;
                            z += (double)f->w[((k * C + ch) * KH + i) * KW + j] * f->x[(ti * C + ch) * F + fj];
                        }
                margin = fmin(margin, fmin(fabs(z), fabs(z - 20.0)));
                out[(t * K + k) * f->Fo + fo] = fmin(fmax(z, 0.0), 20.0);
            }
    return margin;
}

static void setup(Fixture *f)
{
    memset(f, 0, sizeof *f);
    f->To = conv2d_out_frames(&SHAPE, T);
    f->Fo = conv2d_out_freq(&SHAPE);
    size_t ny = (size_t)f->To * K * f->Fo;
    f->y = calloc(ny, sizeof(float));
    f->r = calloc(ny, sizeof(float));
    double *ref = calloc(ny, sizeof(double));
    Rng rng;
    rng_seed(&rng, 3);
    int saturated = 0, cut = 0;
    for (int tries = 0; tries < 1000; tries++) {
        th_fill_uniform(f->w, sizeof f->w / sizeof(float), -1.5f, 1.5f, &rng);
        th_fill_uniform(f->b, K, 2.0f, 6.0f, &rng);
        th_fill_uniform(f->x, sizeof f->x / sizeof(float), -4.0f, 4.0f, &rng);
        if (reference(f, ref) < KINK) continue;
        saturated = cut = 0;
        for (size_t i = 0; i < ny; i++) saturated += ref[i] == 20.0, cut += ref[i] == 0.0;
        if (saturated && cut) break;
    }
    assert_true(saturated > 0 && cut > 0 && reference(f, ref) >= KINK);
    th_fill_uniform(f->r, ny, -1.0f, 1.0f, &rng);
    free(ref);
    assert_int_equal(conv2d_cache_init(&f->cache, &SHAPE), TP_OK);
}

static void teardown(Fixture *f)
{
    conv2d_cache_free(&f->cache);
    free(f->y);
    free(f->r);
}

static double loss_fn(void *ctx)
{
    Fixture *f = ctx;
    conv2d_forward(&f->cache, f->w, f->b, f->x, T, f->y);
    double s = 0.0;
    for (int i = 0; i < f->To * K * f->Fo; i++) s += (double)f->r[i] * f->y[i];
    return s;
}

static void test_lengths_and_shapes(void **state)
{
    (void)state;
    assert_int_equal(conv2d_out_len(8, 3, 2, 1), 4);   /* (8 + 2 - 3) / 2 + 1 */
    assert_int_equal(conv2d_out_len(7, 4, 2, 1), 3);   /* (7 + 2 - 4) / 2 + 1 */
    assert_int_equal(conv2d_out_len(2, 5, 1, 1), 0);
    Conv2dShape s = SHAPE;
    assert_int_equal(conv2d_shape_check(&s), TP_OK);
    s.st = 0;
    assert_int_equal(conv2d_shape_check(&s), TP_EINVAL);
    s = SHAPE;
    s.pf = KW;
    assert_int_equal(conv2d_shape_check(&s), TP_EINVAL);
    s = SHAPE;
    s.kw = 12;
    s.pf = 0;
    assert_int_equal(conv2d_shape_check(&s), TP_EINVAL);
    /* too few frames for the kernel: an error, not an empty output */
    Conv2dCache c;
    s = SHAPE;
    s.pt = 0;
    assert_int_equal(conv2d_cache_init(&c, &s), TP_OK);
    float x[2 * C * F] = {0}, y[64], w[K * C * KH * KW] = {0}, b[K] = {0};
    assert_int_equal(conv2d_forward(&c, w, b, x, 2, y), TP_EINVAL);
    conv2d_cache_free(&c);
}

static void test_forward_matches_reference(void **state)
{
    (void)state;
    Fixture f;
    setup(&f);
    size_t ny = (size_t)f.To * K * f.Fo;
    double *ref = calloc(ny, sizeof(double));
    reference(&f, ref);
    assert_int_equal(conv2d_forward(&f.cache, f.w, f.b, f.x, T, f.y), TP_OK);
    for (size_t i = 0; i < ny; i++) assert_true(fabs(f.y[i] - ref[i]) <= 1e-5 * fmax(1.0, fabs(ref[i])));
    free(ref);
    teardown(&f);
}

static void test_gradients(void **state)
{
    (void)state;
    Fixture f;
    setup(&f);
    loss_fn(&f);
    conv2d_backward(&f.cache, f.w, f.dw, f.db, f.r, T, f.dx);
    GradcheckResult r;
    assert_int_equal(gradcheck_run(f.w, f.dw, sizeof f.w / sizeof(float), 1, 1e-2f, 1e-4, 1e-3, loss_fn, &f, &r), TP_OK);
    assert_int_equal(gradcheck_run(f.b, f.db, K, 1, 1e-2f, 1e-4, 1e-3, loss_fn, &f, &r), TP_OK);
    assert_int_equal(gradcheck_run(f.x, f.dx, sizeof f.x / sizeof(float), 1, 1e-2f, 1e-4, 1e-3, loss_fn, &f, &r), TP_OK);
    /* negative control */
    f.dx[5] += 0.1f;
    assert_int_equal(gradcheck_run(f.x, f.dx, sizeof f.x / sizeof(float), 1, 1e-2f, 1e-4, 1e-3, loss_fn, &f, &r),
                     TP_ERANGE);
    teardown(&f);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_shapes),
        cmocka_unit_test(test_forward_matches_reference),
        cmocka_unit_test(test_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
