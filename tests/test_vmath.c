/* tests/test_vmath: the vectorised exp, sigmoid and tanh against libm in double over their range,
 * including the clamped ends, odd lengths (vector tails) and in-place use. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/vmath.h"

enum { N = 20001 };

static float xs[N], ys[N];

static void fill(float lo, float hi)
{
    for (int i = 0; i < N; i++) xs[i] = lo + (hi - lo) * (float)i / (N - 1);
}

static void test_exp_relative_error(void **state)
{
    (void)state;
    fill(-87.0f, 88.0f);
    vmath_exp(ys, xs, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(ys[i] - exp((double)xs[i])) / exp((double)xs[i]));
    assert_true(worst < 5e-7);
}

static void test_exp_clamps_instead_of_overflowing(void **state)
{
    (void)state;
    float x[3] = {-1000.0f, 1000.0f, 0.0f}, y[3];
    vmath_exp(y, x, 3);
    assert_true(y[0] >= 0.0f && y[0] < 1e-37f);
    assert_true(isfinite(y[1]) && y[1] > 1e38f);
    assert_true(y[2] == 1.0f);
}

static void test_sigmoid_and_tanh_absolute_error(void **state)
{
    (void)state;
    fill(-20.0f, 20.0f);
    vmath_sigmoid(ys, xs, N);
    double ws = 0, wt = 0;
    for (int i = 0; i < N; i++) ws = fmax(ws, fabs(ys[i] - 1.0 / (1.0 + exp(-(double)xs[i]))));
    vmath_tanh(ys, xs, N);
    for (int i = 0; i < N; i++) wt = fmax(wt, fabs(ys[i] - tanh((double)xs[i])));
    assert_true(ws < 2e-7);
    assert_true(wt < 3e-7);
}

static void test_in_place_and_odd_tail(void **state)
{
    (void)state;
    float a[13];
    for (int i = 0; i < 13; i++) a[i] = (float)i - 6.0f;
    vmath_tanh(a, a, 13);
    for (int i = 0; i < 13; i++) assert_true(fabs(a[i] - tanh(i - 6.0)) < 3e-7);
}

static void test_softmax_nan_row_does_not_run_off(void **state)
{
    (void)state;
    float x[2 * 5] = {NAN, NAN, NAN, NAN, NAN, 1, 2, 3, 4, 5};
    int32_t y[2] = {1, 4};
    long correct = 0;
    double nll = vmath_softmax_xent(x, y, 2, 5, 0.0f, &correct);
    assert_true(isnan(nll));
    assert_int_equal(correct, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_relative_error),
        cmocka_unit_test(test_exp_clamps_instead_of_overflowing),
        cmocka_unit_test(test_sigmoid_and_tanh_absolute_error),
        cmocka_unit_test(test_in_place_and_odd_tail),
        cmocka_unit_test(test_softmax_nan_row_does_not_run_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
