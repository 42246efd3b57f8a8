/* tests/test_optim: SGD and Adam updates, masked training (pruned entries stay exactly zero,
 * Adam moments of masked entries stay zero, gradients are left for growth), clipping, schedule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/optim.h"
#include "engine/rng.h"
#include "tests/helpers.h"

enum { N = 257 };

static void test_sgd_step_is_w_minus_lr_g(void **state)
{
    (void)state;
    Optim o;
    float w[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, 1.0f, -4.0f};
    assert_int_equal(optim_init(&o, OPTIM_SGD, 0.1f, 3), TP_OK);
    optim_step(&o, w, g, NULL);
    assert_true(w[0] == 1.0f - 0.1f * 0.5f && w[1] == -2.0f - 0.1f && w[2] == 0.5f + 0.1f * 4.0f);
    optim_free(&o);
}

static void run_masked(OptimKind kind)
{
    Optim o;
    Rng r;
    rng_seed(&r, 3);
    float w[N], g[N], gsave[N];
    uint8_t mask[N];
    for (int i = 0; i < N; i++) {
        mask[i] = (i % 3) != 0;
        w[i] = mask[i] ? rng_range(&r, -1, 1) : 0.0f;
    }
    assert_int_equal(optim_init(&o, kind, 0.01f, N), TP_OK);
    for (int step = 0; step < 500; step++) {
        th_fill_uniform(g, N, -1, 1, &r);
        memcpy(gsave, g, sizeof g);
        optim_step(&o, w, g, mask);
        assert_memory_equal(g, gsave, sizeof g); /* gradients of pruned entries kept for growth */
    }
    for (int i = 0; i < N; i++) {
        if (!mask[i]) {
            assert_true(w[i] == 0.0f); /* exactly zero */
            if (kind == OPTIM_ADAM) assert_true(o.m[i] == 0.0f && o.v[i] == 0.0f);
        } else {
            assert_true(w[i] != 0.0f);
        }
    }
    optim_free(&o);
}

static void test_sgd_masked_entries_stay_zero(void **state)
{
    (void)state;
    run_masked(OPTIM_SGD);
}

static void test_adam_masked_entries_and_moments_stay_zero(void **state)
{
    (void)state;
    run_masked(OPTIM_ADAM);
}

static void test_adam_first_step_is_lr_sign(void **state)
{
    (void)state;
    /* bias-corrected Adam: the first step moves each weight by lr * g/|g| (up to eps) */
    Optim o;
    float w[2] = {0.0f, 0.0f}, g[2] = {3.0f, -0.25f};
    assert_int_equal(optim_init(&o, OPTIM_ADAM, 0.01f, 2), TP_OK);
    optim_step(&o, w, g, NULL);
    assert_true(fabsf(w[0] + 0.01f) < 1e-6f && fabsf(w[1] - 0.01f) < 1e-6f);
    optim_free(&o);
}

static void test_clip_scales_to_max_norm(void **state)
{
    (void)state;
    float g[4] = {3.0f, 4.0f, 0.0f, 0.0f};
    double norm;
    assert_int_equal(optim_clip(g, 4, 1.0f, &norm), TP_OK);
    assert_true(fabs(norm - 5.0) < 1e-9);
    assert_true(fabsf(g[0] - 0.6f) < 1e-6f && fabsf(g[1] - 0.8f) < 1e-6f);
    float h[2] = {0.3f, 0.4f};
    assert_int_equal(optim_clip(h, 2, 1.0f, &norm), TP_OK);
    assert_true(h[0] == 0.3f && h[1] == 0.4f); /* below the limit: untouched */
}

static void test_clip_refuses_nan(void **state)
{
    (void)state;
    float g[3] = {1.0f, NAN, 2.0f};
    double norm;
    assert_int_equal(optim_clip(g, 3, 5.0f, &norm), TP_ENAN);
    assert_true(g[0] == 1.0f && g[2] == 2.0f);
}

static void test_zaremba_schedule(void **state)
{
    (void)state;
    /* lr 1 for epochs 1-4, then halved each epoch (Zaremba small) */
    assert_true(optim_schedule_lr(1.0f, 0.5f, 4, 1) == 1.0f);
    assert_true(optim_schedule_lr(1.0f, 0.5f, 4, 4) == 1.0f);
    assert_true(optim_schedule_lr(1.0f, 0.5f, 4, 5) == 0.5f);
    assert_true(optim_schedule_lr(1.0f, 0.5f, 4, 13) == 1.0f / 512.0f);
}

static void test_bad_lr_refused(void **state)
{
    (void)state;
    Optim o;
    assert_int_equal(optim_init(&o, OPTIM_SGD, 0.0f, 4), TP_ERANGE);
    assert_int_equal(optim_init(&o, OPTIM_SGD, NAN, 4), TP_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_step_is_w_minus_lr_g),
        cmocka_unit_test(test_sgd_masked_entries_stay_zero),
        cmocka_unit_test(test_adam_masked_entries_and_moments_stay_zero),
        cmocka_unit_test(test_adam_first_step_is_lr_sign),
        cmocka_unit_test(test_clip_scales_to_max_norm),
        cmocka_unit_test(test_clip_refuses_nan),
        cmocka_unit_test(test_zaremba_schedule),
        cmocka_unit_test(test_bad_lr_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
