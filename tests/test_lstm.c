/* tests/test_lstm: the LSTM layer against a double-precision reference of the equations (forward),
 * and its BPTT backward against central finite differences over a multi-step window. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/gradcheck.h"
#include "engine/lstm.h"
#include "engine/rng.h"
#include "tests/helpers.h"

enum { I = 3, H = 4, G = 16, T = 5, B = 2 };

typedef struct {
    float w_ih[G * I], w_hh[G * H], b_ih[G], b_hh[G];
    float dw_ih[G * I], dw_hh[G * H], db_ih[G], db_hh[G];
    float x[T * B * I], dx[T * B * I];
    float h0[B * H], c0[B * H];
    float r[T * B * H]; /* loss = sum r ⊙ h */
    LstmWeights w, dw;
    LstmCache cache;
} Fixture;

static void fixture_init(Fixture *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    Rng rng;
    rng_seed(&rng, seed);
    th_fill_uniform(f->w_ih, G * I, -0.6f, 0.6f, &rng);
    th_fill_uniform(f->w_hh, G * H, -0.6f, 0.6f, &rng);
    th_fill_uniform(f->b_ih, G, -0.3f, 0.3f, &rng);
    th_fill_uniform(f->b_hh, G, -0.3f, 0.3f, &rng);
    th_fill_uniform(f->x, T * B * I, -1.0f, 1.0f, &rng);
    th_fill_uniform(f->h0, B * H, -0.5f, 0.5f, &rng);
    th_fill_uniform(f->c0, B * H, -0.5f, 0.5f, &rng);
    th_fill_uniform(f->r, T * B * H, -1.0f, 1.0f, &rng);
    f->w = (LstmWeights){I, H, f->w_ih, f->w_hh, f->b_ih, f->b_hh};
    f->dw = (LstmWeights){I, H, f->dw_ih, f->dw_hh, f->db_ih, f->db_hh};
    assert_int_equal(lstm_cache_init(&f->cache, I, H, T, B), TP_OK);
}

static void run_forward(Fixture *f)
{
    memcpy(f->cache.h, f->h0, sizeof f->h0);
    memcpy(f->cache.c, f->c0, sizeof f->c0);
    lstm_forward(&f->cache, &f->w, f->x, T, B);
}

static double loss_fn(void *ctx)
{
    Fixture *f = ctx;
    run_forward(f);
    const float *h = lstm_cache_out(&f->cache, B);
    double s = 0.0;
    for (int k = 0; k < T * B * H; k++) s += (double)f->r[k] * h[k];
    return s;
}

static void run_backward(Fixture *f)
{
    float dh[T * B * H];
    run_forward(f);
    memcpy(dh, f->r, sizeof dh);
    memset(f->dw_ih, 0, sizeof f->dw_ih);
    memset(f->dw_hh, 0, sizeof f->dw_hh);
    memset(f->db_ih, 0, sizeof f->db_ih);
    memset(f->db_hh, 0, sizeof f->db_hh);
    lstm_backward(&f->cache, &f->dw, f->dx, &f->w, f->x, dh, T, B);
}

static double sigm(double a) { return 1.0 / (1.0 + exp(-a)); }

static void test_forward_matches_reference_equations(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 1);
    run_forward(&f);
    double h[B * H], c[B * H];
    for (int k = 0; k < B * H; k++) h[k] = f.h0[k], c[k] = f.c0[k];
    double maxdiff = 0.0;
    for (int t = 0; t < T; t++) {
        double hn[B * H], cn[B * H];
        for (int b = 0; b < B; b++) {
            for (int j = 0; j < H; j++) {
                double a[4];
                for (int q = 0; q < 4; q++) {
                    int row = q * H + j;
                    double s = f.b_ih[row] + f.b_hh[row];
                    for (int k = 0; k < I; k++) s += (double)f.w_ih[row * I + k] * f.x[(t * B + b) * I + k];
                    for (int k = 0; k < H; k++) s += (double)f.w_hh[row * H + k] * h[b * H + k];
                    a[q] = s;
                }
                double ig = sigm(a[0]), fg = sigm(a[1]), gg = tanh(a[2]), og = sigm(a[3]);
                cn[b * H + j] = fg * c[b * H + j] + ig * gg;
                hn[b * H + j] = og * tanh(cn[b * H + j]);
            }
        }
        memcpy(h, hn, sizeof h);
        memcpy(c, cn, sizeof c);
        const float *out = lstm_cache_out(&f.cache, B) + (size_t)t * B * H;
        for (int k = 0; k < B * H; k++) maxdiff = fmax(maxdiff, fabs(out[k] - h[k]));
    }
    lstm_cache_free(&f.cache);
    assert_true(maxdiff < 2e-6);
}

static void check(Fixture *f, float *p, const float *g, size_t n)
{
    GradcheckResult r;
    TpStatus s = gradcheck_run(p, g, n, 1, 1e-2f, 5e-4, 5e-3, loss_fn, f, &r);
    if (s != TP_OK) print_error("%s\n", err_msg());
    assert_int_equal(s, TP_OK);
    assert_int_equal(r.n_checked, n);
}

static void test_gradient_w_ih(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 2);
    run_backward(&f);
    check(&f, f.w_ih, f.dw_ih, G * I);
    lstm_cache_free(&f.cache);
}

static void test_gradient_w_hh(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 3);
    run_backward(&f);
    check(&f, f.w_hh, f.dw_hh, G * H);
    lstm_cache_free(&f.cache);
}

static void test_gradient_biases(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 4);
    run_backward(&f);
    check(&f, f.b_ih, f.db_ih, G);
    check(&f, f.b_hh, f.db_hh, G);
    lstm_cache_free(&f.cache);
}

static void test_gradient_input(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 5);
    run_backward(&f);
    check(&f, f.x, f.dx, T * B * I);
    lstm_cache_free(&f.cache);
}

/* Negative control: the checker must reject a gradient with one entry off by 5%. */
static void test_gradcheck_detects_a_wrong_entry(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 6);
    run_backward(&f);
    int k = 0;
    for (int i = 1; i < G * H; i++)
        if (fabsf(f.dw_hh[i]) > fabsf(f.dw_hh[k])) k = i;
    f.dw_hh[k] *= 1.05f;
    GradcheckResult r;
    TpStatus s = gradcheck_run(f.w_hh, f.dw_hh, G * H, 1, 1e-2f, 5e-4, 5e-3, loss_fn, &f, &r);
    assert_int_equal(s, TP_ERANGE);
    assert_int_equal(r.n_failed, 1);
    assert_int_equal(r.worst, (size_t)k);
    lstm_cache_free(&f.cache);
}

/* Backward accumulates into the weight gradients (+=): two passes give twice the gradient. */
static void test_backward_accumulates(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 7);
    run_backward(&f);
    float once[G * H];
    memcpy(once, f.dw_hh, sizeof once);
    float dh[T * B * H];
    run_forward(&f);
    memcpy(dh, f.r, sizeof dh);
    lstm_backward(&f.cache, &f.dw, f.dx, &f.w, f.x, dh, T, B);
    for (int i = 0; i < G * H; i++) assert_true(fabsf(f.dw_hh[i] - 2.0f * once[i]) <= 1e-6f + 1e-5f * fabsf(once[i]));
    lstm_cache_free(&f.cache);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_reference_equations),
        cmocka_unit_test(test_gradient_w_ih),
        cmocka_unit_test(test_gradient_w_hh),
        cmocka_unit_test(test_gradient_biases),
        cmocka_unit_test(test_gradient_input),
        cmocka_unit_test(test_gradcheck_detects_a_wrong_entry),
        cmocka_unit_test(test_backward_accumulates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
