/* tests/test_hlstm: the H-LSTM layer against a double-precision reference of the equations (forward,
 * with and without gate dropout), and its BPTT backward against central finite differences over a
 * multi-step window for every parameter tensor and the input; negative controls.  Same approach and
 * tolerances as tests/test_lstm.
 *
 * ReLU has a kink at 0: a finite difference that moves a gate pre-activation across it measures a
 * different slope.  The fixture therefore draws until no fc1 pre-activation of the window lies within
 * KINK of 0 (the largest move a ±eps step of any weight or input makes, with margin), so the check
 * compares derivatives, not luck. */
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
#include "engine/hlstm.h"
#include "engine/rng.h"
#include "tests/helpers.h"

enum { I = 3, H = 4, M = 3, G = 4 * H, Q = 4 * M, Z = I + H, T = 5, B = 2 };
#define EPS 1e-2f
#define KINK 0.02

typedef struct {
    float w1[Q * Z], b1[Q], w2[G * M], b2[G];
    float dw1[Q * Z], db1[Q], dw2[G * M], db2[G];
    float x[T * B * I], dx[T * B * I];
    float h0[B * H], c0[B * H];
    float r[T * B * H]; /* loss = sum r ⊙ h */
    float p;            /* gate dropout */
    uint64_t drop_seed;
    HlstmWeights w, dw;
    HlstmCache cache;
} Fixture;

static double sigm(double a) { return 1.0 / (1.0 + exp(-a)); }

/* The equations of hlstm.h in double, with the same dropout stream.  Writes h_1..h_T into out
 * [T*B*H] and returns the smallest |fc1 pre-activation| seen. */
static double reference(const Fixture *f, double *out)
{
    double h[B * H], c[B * H], margin = 1e30;
    for (int k = 0; k < B * H; k++) h[k] = f->h0[k], c[k] = f->c0[k];
    Rng rng;
    rng_seed(&rng, f->drop_seed);
    double keep = f->p > 0.0f ? 1.0 / (1.0 - (double)f->p) : 1.0;
    for (int t = 0; t < T; t++) {
        double u[B * Q];
        for (int b = 0; b < B; b++)
            for (int k = 0; k < Q; k++) {
                double s = f->b1[k];
                for (int j = 0; j < I; j++) s += (double)f->w1[k * Z + j] * f->x[(t * B + b) * I + j];
                for (int j = 0; j < H; j++) s += (double)f->w1[k * Z + I + j] * h[b * H + j];
                margin = fmin(margin, fabs(s));
                u[b * Q + k] = s > 0.0 ? s : 0.0;
            }
        if (f->p > 0.0f)
            for (int k = 0; k < B * Q; k++) u[k] = rng_uniform(&rng) < f->p ? 0.0 : u[k] * keep;
        double hn[B * H], cn[B * H];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) {
                double a[4];
                for (int q = 0; q < 4; q++) {
                    double s = f->b2[q * H + j];
                    for (int k = 0; k < M; k++) s += (double)f->w2[(q * H + j) * M + k] * u[b * Q + q * M + k];
                    a[q] = s;
                }
                double ig = sigm(a[0]), fg = sigm(a[1]), gg = tanh(a[2]), og = sigm(a[3]);
                cn[b * H + j] = fg * c[b * H + j] + ig * gg;
                hn[b * H + j] = og * tanh(cn[b * H + j]);
            }
        memcpy(h, hn, sizeof h);
        memcpy(c, cn, sizeof c);
        memcpy(out + t * B * H, h, sizeof h);
    }
    return margin;
}

static void fixture_init(Fixture *f, uint64_t seed, float p)
{
    double out[T * B * H];
    for (;; seed += 1000) {
        memset(f, 0, sizeof *f);
        Rng rng;
        rng_seed(&rng, seed);
        th_fill_uniform(f->w1, Q * Z, -0.6f, 0.6f, &rng);
        th_fill_uniform(f->b1, Q, -0.3f, 0.3f, &rng);
        th_fill_uniform(f->w2, G * M, -0.6f, 0.6f, &rng);
        th_fill_uniform(f->b2, G, -0.3f, 0.3f, &rng);
        th_fill_uniform(f->x, T * B * I, -1.0f, 1.0f, &rng);
        th_fill_uniform(f->h0, B * H, -0.5f, 0.5f, &rng);
        th_fill_uniform(f->c0, B * H, -0.5f, 0.5f, &rng);
        th_fill_uniform(f->r, T * B * H, -1.0f, 1.0f, &rng);
        f->p = p;
        f->drop_seed = seed * 7 + 3;
        if (reference(f, out) > KINK) break;
    }
    f->w = (HlstmWeights){I, H, M, f->w1, f->b1, f->w2, f->b2};
    f->dw = (HlstmWeights){I, H, M, f->dw1, f->db1, f->dw2, f->db2};
    assert_int_equal(hlstm_cache_init(&f->cache, I, H, M, T, B), TP_OK);
}

static void run_forward(Fixture *f)
{
    memcpy(f->cache.cell.h, f->h0, sizeof f->h0);
    memcpy(f->cache.cell.c, f->c0, sizeof f->c0);
    Rng rng;
    rng_seed(&rng, f->drop_seed);
    hlstm_forward(&f->cache, &f->w, f->x, T, B, f->p, &rng);
}

static double loss_fn(void *ctx)
{
    Fixture *f = ctx;
    run_forward(f);
    const float *h = lstm_cache_out(&f->cache.cell, B);
    double s = 0.0;
    for (int k = 0; k < T * B * H; k++) s += (double)f->r[k] * h[k];
    return s;
}

static void run_backward(Fixture *f)
{
    float dh[T * B * H];
    run_forward(f);
    memcpy(dh, f->r, sizeof dh);
    memset(f->dw1, 0, sizeof f->dw1);
    memset(f->db1, 0, sizeof f->db1);
    memset(f->dw2, 0, sizeof f->dw2);
    memset(f->db2, 0, sizeof f->db2);
    hlstm_backward(&f->cache, &f->dw, f->dx, &f->w, f->x, dh, T, B);
}

static void forward_matches(float p, uint64_t seed)
{
    Fixture f;
    fixture_init(&f, seed, p);
    run_forward(&f);
    double ref[T * B * H];
    reference(&f, ref);
    const float *out = lstm_cache_out(&f.cache.cell, B);
    double maxdiff = 0.0;
    for (int k = 0; k < T * B * H; k++) maxdiff = fmax(maxdiff, fabs(out[k] - ref[k]));
    hlstm_cache_free(&f.cache);
    assert_true(maxdiff < 2e-6);
}

static void test_forward_matches_reference_equations(void **state)
{
    (void)state;
    forward_matches(0.0f, 1);
}

static void test_forward_with_dropout_matches_reference(void **state)
{
    (void)state;
    forward_matches(0.4f, 2);
}

static void check(Fixture *f, float *p, const float *g, size_t n)
{
    GradcheckResult r;
    TpStatus s = gradcheck_run(p, g, n, 1, EPS, 5e-4, 5e-3, loss_fn, f, &r);
    if (s != TP_OK) print_error("%s\n", err_msg());
    assert_int_equal(s, TP_OK);
    assert_int_equal(r.n_checked, n);
}

static void check_everything(float p, uint64_t seed)
{
    Fixture f;
    fixture_init(&f, seed, p);
    run_backward(&f);
    check(&f, f.w1, f.dw1, Q * Z);
    check(&f, f.b1, f.db1, Q);
    check(&f, f.w2, f.dw2, G * M);
    check(&f, f.b2, f.db2, G);
    check(&f, f.x, f.dx, T * B * I);
    hlstm_cache_free(&f.cache);
}

static void test_gradients_all_tensors_and_input(void **state)
{
    (void)state;
    check_everything(0.0f, 3);
}

static void test_gradients_with_gate_dropout(void **state)
{
    (void)state;
    check_everything(0.3f, 4);
}

/* Negative control 1: the checker must reject a gradient with one entry off by 5%. */
static void test_gradcheck_detects_a_wrong_entry(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 5, 0.0f);
    run_backward(&f);
    int k = 0;
    for (int i = 1; i < Q * Z; i++)
        if (fabsf(f.dw1[i]) > fabsf(f.dw1[k])) k = i;
    f.dw1[k] *= 1.05f;
    GradcheckResult r;
    TpStatus s = gradcheck_run(f.w1, f.dw1, Q * Z, 1, EPS, 5e-4, 5e-3, loss_fn, &f, &r);
    assert_int_equal(s, TP_ERANGE);
    assert_int_equal(r.n_failed, 1);
    assert_int_equal(r.worst, (size_t)k);
    hlstm_cache_free(&f.cache);
}

/* Negative control 2: break one term of the backward (the 1/(1-p) dropout scale through u) and the
 * check of fc1 must fail, so the passing checks above do exercise that term. */
static void test_gradcheck_detects_a_broken_term(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 6, 0.3f);
    float dh[T * B * H];
    run_forward(&f);
    f.cache.keep = 1.0f; /* the broken term */
    memcpy(dh, f.r, sizeof dh);
    hlstm_backward(&f.cache, &f.dw, f.dx, &f.w, f.x, dh, T, B);
    GradcheckResult r;
    TpStatus s = gradcheck_run(f.w1, f.dw1, Q * Z, 1, EPS, 5e-4, 5e-3, loss_fn, &f, &r);
    assert_int_equal(s, TP_ERANGE);
    assert_true(r.n_failed > (size_t)Q * Z / 4);
    hlstm_cache_free(&f.cache);
}

/* Backward accumulates into the weight gradients (+=): two passes give twice the gradient. */
static void test_backward_accumulates(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 7, 0.2f);
    run_backward(&f);
    float once1[Q * Z], once2[G * M];
    memcpy(once1, f.dw1, sizeof once1);
    memcpy(once2, f.dw2, sizeof once2);
    float dh[T * B * H];
    run_forward(&f);
    memcpy(dh, f.r, sizeof dh);
    hlstm_backward(&f.cache, &f.dw, f.dx, &f.w, f.x, dh, T, B);
    for (int i = 0; i < Q * Z; i++) assert_true(fabsf(f.dw1[i] - 2.0f * once1[i]) <= 1e-6f + 1e-5f * fabsf(once1[i]));
    for (int i = 0; i < G * M; i++) assert_true(fabsf(f.dw2[i] - 2.0f * once2[i]) <= 1e-6f + 1e-5f * fabsf(once2[i]));
    hlstm_cache_free(&f.cache);
}

/* Same seed, same dropout draws: two forwards give bit-identical outputs; another seed differs. */
static void test_dropout_is_deterministic(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, 8, 0.5f);
    float a[T * B * H], b[T * B * H];
    run_forward(&f);
    memcpy(a, lstm_cache_out(&f.cache.cell, B), sizeof a);
    run_forward(&f);
    memcpy(b, lstm_cache_out(&f.cache.cell, B), sizeof b);
    assert_memory_equal(a, b, sizeof a);
    f.drop_seed++;
    run_forward(&f);
    assert_true(memcmp(a, lstm_cache_out(&f.cache.cell, B), sizeof a) != 0);
    hlstm_cache_free(&f.cache);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_reference_equations),
        cmocka_unit_test(test_forward_with_dropout_matches_reference),
        cmocka_unit_test(test_gradients_all_tensors_and_input),
        cmocka_unit_test(test_gradients_with_gate_dropout),
        cmocka_unit_test(test_gradcheck_detects_a_wrong_entry),
        cmocka_unit_test(test_gradcheck_detects_a_broken_term),
        cmocka_unit_test(test_backward_accumulates),
        cmocka_unit_test(test_dropout_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
