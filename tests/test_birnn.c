/* tests/test_birnn: the bidirectional layer (birnn.h) with LSTM and H-LSTM cells: its output is the
 * forward direction plus the backward direction's output on the reversed input, reversed back (each
 * direction checked against the one-directional layer run by hand); its backward against central
 * finite differences over both directions' weights and the input; the hidden-state threshold is
 * applied per direction and counted.
 *
 * For the H-LSTM the fixture keeps every fc1 pre-activation away from ReLU's kink: fc1 biases are
 * ±1 (both signs, so both branches occur) and fc1 weights within ±0.1, so |Σ w z| <= 0.7 over the
 * 7 inputs in [-1, 1]; the margin is asserted, so the differences compare derivatives. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/birnn.h"
#include "engine/gradcheck.h"
#include "engine/rng.h"
#include "tests/helpers.h"

enum { I = 3, H = 4, M = 3, T = 5, B = 2, G = 4 * H, Q = 4 * M, Z = I + H, N = T * B };
#define KINK 0.03

typedef struct {
    int hl;
    float w[2][Q * Z + Q + G * M + G + G * I + G * H + 2 * G]; /* room for either cell */
    float g[2][Q * Z + Q + G * M + G + G * I + G * H + 2 * G];
    float x[N * I], dx[N * I], y[N * H], r[N * H];
    BirnnWeights bw, bg;
    BirnnCache c;
} Fixture;

static void bind(BirnnWeights *v, float (*a)[Q * Z + Q + G * M + G + G * I + G * H + 2 * G], int hl)
{
    memset(v, 0, sizeof *v);
    v->hlstm = hl;
    for (int d = 0; d < 2; d++) {
        float *p = a[d];
        if (hl)
            v->h[d] = (HlstmWeights){I, H, M, p, p + Q * Z, p + Q * Z + Q, p + Q * Z + Q + G * M};
        else
            v->l[d] = (LstmWeights){I, H, p, p + G * I, p + G * I + G * H, p + G * I + G * H + G};
    }
}

/* smallest |fc1 pre-activation| of one H-LSTM direction over x (the equations of hlstm.h, no dropout) */
static double fc1_margin(const HlstmWeights *w, const float *x, int reverse)
{
    HlstmCache hc;
    hlstm_cache_init(&hc, I, H, M, T, B);
    memset(hc.cell.h, 0, sizeof(float) * B * H);
    memset(hc.cell.c, 0, sizeof(float) * B * H);
    float xs[N * I];
    for (int t = 0; t < T; t++) memcpy(xs + t * B * I, x + (reverse ? T - 1 - t : t) * B * I, sizeof(float) * B * I);
    hlstm_forward(&hc, w, xs, T, B, 0.0f, NULL);
    double margin = 1e30;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < Q; k++) {
                double s = w->b1[k];
                const float *h = hc.cell.h + (t * B + b) * H; /* h_{t-1} */
                for (int j = 0; j < I; j++) s += (double)w->w1[k * Z + j] * xs[(t * B + b) * I + j];
                for (int j = 0; j < H; j++) s += (double)w->w1[k * Z + I + j] * h[j];
                margin = fmin(margin, fabs(s));
            }
    hlstm_cache_free(&hc);
    return margin;
}

static void setup(Fixture *f, int hl, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->hl = hl;
    Rng rng;
    rng_seed(&rng, seed);
    bind(&f->bw, f->w, hl);
    bind(&f->bg, f->g, hl);
    th_fill_uniform(&f->w[0][0], sizeof f->w / sizeof(float), -0.6f, 0.6f, &rng);
    th_fill_uniform(f->x, N * I, -1.0f, 1.0f, &rng);
    if (hl) {
        for (int d = 0; d < 2; d++) {
            HlstmWeights *w = &f->bw.h[d];
            for (int k = 0; k < Q * Z; k++) w->w1[k] *= 0.1f / 0.6f;
            for (int k = 0; k < Q; k++) w->b1[k] = (k + d) % 3 ? 1.0f : -1.0f;
        }
        assert_true(fc1_margin(&f->bw.h[0], f->x, 0) > KINK && fc1_margin(&f->bw.h[1], f->x, 1) > KINK);
    }
    th_fill_uniform(f->r, N * H, -1.0f, 1.0f, &rng);
    assert_int_equal(birnn_cache_init(&f->c, hl, I, H, M, T, B), TP_OK);
}

static double loss_fn(void *ctx)
{
    Fixture *f = ctx;
    birnn_forward(&f->c, &f->bw, f->x, T, B, f->y, 0.0f, NULL);
    double s = 0.0;
    for (int k = 0; k < N * H; k++) s += (double)f->r[k] * f->y[k];
    return s;
}

/* y_t = fw(x)_t + bw(reverse x)_{T-1-t}, each direction run by hand with the one-directional layer */
static void check_composition(int hl)
{
    Fixture f;
    setup(&f, hl, 21);
    birnn_forward(&f.c, &f.bw, f.x, T, B, f.y, 0.0f, NULL);
    float out[2][N * H], xs[N * I];
    for (int d = 0; d < 2; d++) {
        for (int t = 0; t < T; t++)
            memcpy(xs + t * B * I, f.x + (d ? T - 1 - t : t) * B * I, sizeof(float) * B * I);
        LstmCache lc;
        HlstmCache hc;
        LstmCache *mem = hl ? &hc.cell : &lc;
        if (hl)
            assert_int_equal(hlstm_cache_init(&hc, I, H, M, T, B), TP_OK);
        else
            assert_int_equal(lstm_cache_init(&lc, I, H, T, B), TP_OK);
        if (hl)
            hlstm_forward(&hc, &f.bw.h[d], xs, T, B, 0.0f, NULL);
        else
            lstm_forward(&lc, &f.bw.l[d], xs, T, B);
        memcpy(out[d], lstm_cache_out(mem, B), sizeof out[d]);
        if (hl)
            hlstm_cache_free(&hc);
        else
            lstm_cache_free(&lc);
    }
    for (int t = 0; t < T; t++)
        for (int k = 0; k < B * H; k++)
            assert_true(fabsf(f.y[t * B * H + k] - (out[0][t * B * H + k] + out[1][(T - 1 - t) * B * H + k])) < 1e-6f);
    birnn_cache_free(&f.c);
}

static void test_output_is_sum_of_directions_lstm(void **state) { (void)state; check_composition(0); }
static void test_output_is_sum_of_directions_hlstm(void **state) { (void)state; check_composition(1); }

static void check_gradients(int hl)
{
    Fixture f;
    setup(&f, hl, 7);
    loss_fn(&f);
    float dy[N * H];
    memcpy(dy, f.r, sizeof dy);
    birnn_backward(&f.c, &f.bg, f.dx, &f.bw, f.x, dy, T, B);
    assert_memory_equal(dy, f.r, sizeof dy); /* dy is read only */
    GradcheckResult r;
    size_t n = hl ? Q * Z + Q + G * M + G : G * I + G * H + 2 * G;
    for (int d = 0; d < 2; d++) {
        assert_int_equal(gradcheck_run(f.w[d], f.g[d], n, 1, 1e-2f, 1e-4, 2e-3, loss_fn, &f, &r), TP_OK);
        assert_int_equal((int)r.n_checked, (int)n);
    }
    assert_int_equal(gradcheck_run(f.x, f.dx, N * I, 1, 1e-2f, 1e-4, 2e-3, loss_fn, &f, &r), TP_OK);
    /* negative control: the backward direction's gradient, perturbed, is caught */
    f.g[1][3] += 0.05f;
    assert_int_equal(gradcheck_run(f.w[1], f.g[1], n, 1, 1e-2f, 1e-4, 2e-3, loss_fn, &f, &r), TP_ERANGE);
    birnn_cache_free(&f.c);
}

static void test_gradient_lstm(void **state) { (void)state; check_gradients(0); }
static void test_gradient_hlstm(void **state) { (void)state; check_gradients(1); }

static void test_state_threshold_both_directions(void **state)
{
    (void)state;
    Fixture f;
    setup(&f, 0, 21);
    f.c.tau = 0.05f;
    birnn_forward(&f.c, &f.bw, f.x, T, B, f.y, 0.0f, NULL);
    long zf = birnn_dir_cache(&f.c, BIRNN_FW)->n_zero, zb = birnn_dir_cache(&f.c, BIRNN_BW)->n_zero;
    assert_true(zf > 0 && zb > 0);
    assert_int_equal(f.c.n_zero, zf + zb);
    for (int d = 0; d < 2; d++) {
        const float *h = lstm_cache_out(birnn_dir_cache(&f.c, d), B);
        for (int k = 0; k < N * H; k++) assert_true(h[k] == 0.0f || fabsf(h[k]) > 0.05f);
    }
    birnn_cache_free(&f.c);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_is_sum_of_directions_lstm),
        cmocka_unit_test(test_output_is_sum_of_directions_hlstm),
        cmocka_unit_test(test_gradient_lstm),
        cmocka_unit_test(test_gradient_hlstm),
        cmocka_unit_test(test_state_threshold_both_directions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
