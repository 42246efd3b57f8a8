/* tests/test_model: the whole language model (embedding → 2 LSTM or H-LSTM layers → dropout →
 * decoder → softmax cross-entropy) against central finite differences, per parameter tensor, with and
 * without dropout; the registry and masks; softmax cross-entropy against a double reference. */
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
#include "engine/model.h"
#include "engine/rng.h"
#include "engine/vmath.h"

enum { V = 7, E = 3, H0 = 4, H1 = 5, T = 4, B = 2 };

typedef struct {
    Model m;
    ModelState st;
    int32_t x[T * B], y[T * B];
    float h0[2][B * H1], c0[2][B * H1];
    uint64_t drop_seed;
} Ctx;

static void ctx_init_cfg(Ctx *c, const ModelConfig *cfgp, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    ModelConfig cfg = *cfgp;
    Rng r;
    rng_seed(&r, seed);
    assert_int_equal(model_init(&c->m, &cfg, &r), TP_OK);
    assert_int_equal(model_reserve(&c->m, T, B), TP_OK);
    assert_int_equal(model_state_init(&c->st, &c->m, B), TP_OK);
    for (int i = 0; i < T * B; i++) {
        c->x[i] = (int32_t)rng_below(&r, V);
        c->y[i] = (int32_t)rng_below(&r, V);
    }
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < B * cfg.hidden[l]; k++) {
            c->h0[l][k] = rng_range(&r, -0.5f, 0.5f);
            c->c0[l][k] = rng_range(&r, -0.5f, 0.5f);
        }
    c->drop_seed = seed * 7 + 1;
}

static void ctx_init(Ctx *c, float dropout, uint64_t seed)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 2, .hidden = {H0, H1}, .dropout = dropout,
                       .init_scale = 0.5f};
    ctx_init_cfg(c, &cfg, seed);
}

static void ctx_free(Ctx *c)
{
    model_state_free(&c->st);
    model_free(&c->m);
}

/* forward from the fixed initial state with the same dropout draw every time */
static double forward(Ctx *c, int train)
{
    for (int l = 0; l < 2; l++) {
        memcpy(c->st.h[l], c->h0[l], (size_t)B * c->m.cfg.hidden[l] * sizeof(float));
        memcpy(c->st.c[l], c->c0[l], (size_t)B * c->m.cfg.hidden[l] * sizeof(float));
    }
    Rng r;
    rng_seed(&r, c->drop_seed);
    double nll = 0.0;
    /* train=1 keeps dropout on; the finite differences need the same masks, hence the fixed seed */
    assert_int_equal(model_forward(&c->m, &c->st, c->x, c->y, T, B, train, 1.0f, &r, &nll, NULL), TP_OK);
    return nll;
}

static double loss_fn(void *ctx) { return forward(ctx, 1); }

static void check_all_tensors(Ctx *c)
{
    model_zero_grad(&c->m);
    forward(c, 1);
    model_backward(&c->m, T, B);
    float *g = malloc(c->m.n_params * sizeof(float));
    memcpy(g, c->m.g, c->m.n_params * sizeof(float));
    for (int t = 0; t < c->m.n_tensors; t++) {
        const ModelParam *p = &c->m.p[t];
        GradcheckResult r;
        TpStatus s = gradcheck_run(c->m.w + p->off, g + p->off, p->n, 1, 1e-2f, 5e-4, 5e-3, loss_fn, c, &r);
        if (s != TP_OK) print_error("%s: %s\n", p->name, err_msg());
        assert_int_equal(s, TP_OK);
    }
    free(g);
}

static void test_gradients_without_dropout(void **state)
{
    (void)state;
    Ctx c;
    ctx_init(&c, 0.0f, 11);
    check_all_tensors(&c);
    ctx_free(&c);
}

static void test_gradients_with_dropout(void **state)
{
    (void)state;
    Ctx c;
    ctx_init(&c, 0.3f, 12);
    check_all_tensors(&c);
    ctx_free(&c);
}

static void test_registry_names_and_shapes(void **state)
{
    (void)state;
    Ctx c;
    ctx_init(&c, 0.0f, 13);
    const char *names[] = {"embed.weight", "l0.w_ih", "l0.w_hh", "l0.b_ih", "l0.b_hh", "l1.w_ih",
                           "l1.w_hh", "l1.b_ih", "l1.b_hh", "decoder.weight", "decoder.bias"};
    const int rows[] = {V, 4 * H0, 4 * H0, 4 * H0, 4 * H0, 4 * H1, 4 * H1, 4 * H1, 4 * H1, V, V};
    const int cols[] = {E, E, H0, 1, 1, H0, H1, 1, 1, H1, 1};
    assert_int_equal(c.m.n_tensors, 11);
    for (int i = 0; i < 11; i++) {
        const ModelParam *p = model_param(&c.m, names[i]);
        assert_non_null(p);
        assert_int_equal(p->rows, rows[i]);
        assert_int_equal(p->cols, cols[i]);
    }
    assert_null(model_param(&c.m, "l2.w_ih"));
    size_t total = 0;
    for (int i = 0; i < 11; i++) total += (size_t)rows[i] * cols[i];
    assert_int_equal(model_nnz(&c.m), total);
    ctx_free(&c);
}

/* ---- weight tying (cfg.tie): embed.weight is also the decoder's weight ---- */
static void ctx_init_tied(Ctx *c, float dropout, uint64_t seed)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = H1, .n_layers = 2, .hidden = {H0, H1}, .dropout = dropout,
                       .init_scale = 0.5f, .tie = 1};
    ctx_init_cfg(c, &cfg, seed);
}

/* one matrix, two uses: the finite differences of embed.weight see the lookup and the decoder at
 * once, so this checks that both gradients land in it */
static void test_tied_gradients(void **state)
{
    (void)state;
    Ctx c;
    ctx_init_tied(&c, 0.0f, 31);
    check_all_tensors(&c);
    ctx_free(&c);
    ctx_init_tied(&c, 0.3f, 32);
    check_all_tensors(&c);
    ctx_free(&c);
}

static void test_tied_registry(void **state)
{
    (void)state;
    Ctx c;
    ctx_init_tied(&c, 0.0f, 33);
    assert_int_equal(c.m.n_tensors, 10);
    assert_null(model_param(&c.m, "decoder.weight"));
    const ModelParam *e = model_param(&c.m, "embed.weight");
    assert_non_null(e);
    assert_int_equal(e->kind, PARAM_WEIGHT); /* the decoder's matrix: pruned by default like one */
    assert_ptr_equal(c.m.dec_w, c.m.embed);
    assert_int_equal(model_decoder_index(&c.m.cfg), 0);
    assert_string_equal(c.m.p[model_decoder_bias_index(&c.m.cfg)].name, "decoder.bias");
    assert_int_equal(model_nnz(&c.m), (size_t)V * H1 + 4 * H0 * (H1 + H0) + 8 * H0 + 4 * H1 * (H0 + H1) + 8 * H1 + V);
    ctx_free(&c);
    /* the width must be the last layer's, and the speech model has nothing to tie */
    ModelConfig bad = {.n_vocab = V, .n_embed = E, .n_layers = 2, .hidden = {H0, H1}, .init_scale = 0.5f, .tie = 1};
    assert_int_equal(model_config_check(&bad), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "--tie"));
}

/* model_tie on a trained-looking untied model gives the model whose one matrix is the chosen one:
 * the same loss as the untied model with both matrices set to it, and its mask */
static void test_tie_converts_an_untied_model(void **state)
{
    (void)state;
    const char *from[2] = {"decoder", "embed"};
    for (int k = 0; k < 2; k++) {
        Ctx c;
        ModelConfig cfg = {.n_vocab = V, .n_embed = H1, .n_layers = 2, .hidden = {H0, H1}, .init_scale = 0.5f};
        ctx_init_cfg(&c, &cfg, 41);
        const ModelParam *pe = model_param(&c.m, "embed.weight"), *pd = model_param(&c.m, "decoder.weight");
        const ModelParam *src = k == 0 ? pd : pe, *dst = k == 0 ? pe : pd;
        c.m.mask[src->off + 3] = 0; /* a pruned entry travels with its matrix */
        c.m.w[src->off + 3] = 0.0f;
        float moment[4096];
        assert_true(c.m.n_params <= 4096);
        for (size_t i = 0; i < c.m.n_params; i++) moment[i] = (float)i;
        float *extra[1] = {malloc(c.m.n_params * sizeof(float))};
        memcpy(extra[0], moment, c.m.n_params * sizeof(float));
        size_t src_off = src->off;
        /* the reference: the untied model with its other matrix overwritten */
        memcpy(c.m.w + dst->off, c.m.w + src->off, src->n * sizeof(float));
        memcpy(c.m.mask + dst->off, c.m.mask + src->off, src->n);
        double want = forward(&c, 0);
        assert_int_equal(model_tie(&c.m, from[k], extra, 1), TP_OK);
        assert_int_equal(c.m.cfg.tie, 1);
        assert_null(model_param(&c.m, "decoder.weight"));
        double got = forward(&c, 0);
        assert_true(fabs(got - want) <= 1e-6 * fabs(want));
        assert_int_equal(c.m.mask[model_param(&c.m, "embed.weight")->off + 3], 0);
        assert_true(extra[0][3] == moment[src_off + 3]); /* the moments follow the kept matrix */
        assert_int_equal(model_tie(&c.m, from[k], extra, 1), TP_EINVAL); /* already tied */
        free(extra[0]);
        ctx_free(&c);
    }
    Ctx c; /* E != H_last: refused, the model unchanged */
    ctx_init(&c, 0.0f, 42);
    size_t n = c.m.n_params;
    assert_int_equal(model_tie(&c.m, "decoder", NULL, 0), TP_EINVAL);
    assert_int_equal(c.m.n_params, n);
    assert_non_null(model_param(&c.m, "decoder.weight"));
    assert_int_equal(model_tie(&c.m, "nowhere", NULL, 0), TP_EINVAL);
    ctx_free(&c);
}

static void test_softmax_xent_matches_double_reference(void **state)
{
    (void)state;
    enum { N = 3, W = 37 };
    float x[N * W];
    int32_t y[N] = {0, 17, 36};
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N * W; i++) x[i] = rng_range(&r, -8.0f, 8.0f);
    float g[N * W];
    memcpy(g, x, sizeof g);
    long correct = 0;
    double nll = vmath_softmax_xent(g, y, N, W, 0.5f, &correct);
    double ref = 0.0;
    long ref_correct = 0;
    for (int n = 0; n < N; n++) {
        double mx = -1e30, s = 0.0;
        int am = 0;
        for (int v = 0; v < W; v++)
            if (x[n * W + v] > mx) mx = x[n * W + v], am = v;
        for (int v = 0; v < W; v++) s += exp((double)x[n * W + v] - mx);
        ref += log(s) + mx - x[n * W + y[n]];
        ref_correct += am == y[n];
        for (int v = 0; v < W; v++) {
            double p = exp((double)x[n * W + v] - mx) / s;
            double want = 0.5 * (p - (v == y[n]));
            assert_true(fabs(g[n * W + v] - want) < 1e-6);
        }
    }
    assert_true(fabs(nll - ref) < 1e-5 * fabs(ref));
    assert_int_equal(correct, ref_correct);
}

static void test_bad_config_refused(void **state)
{
    (void)state;
    ModelConfig cfg = {.n_vocab = 10, .n_embed = 4, .n_layers = 0, .hidden = {4}, .init_scale = 0.1f};
    assert_int_equal(model_config_check(&cfg), TP_ERANGE);
    cfg.n_layers = 1;
    cfg.dropout = 1.0f;
    assert_int_equal(model_config_check(&cfg), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "--dropout"));
    cfg.dropout = 0.0f;
    cfg.hidden[0] = 0;
    assert_int_equal(model_config_check(&cfg), TP_ERANGE);
    cfg.hidden[0] = 4;
    assert_int_equal(model_config_check(&cfg), TP_OK);
}

/* Issue 11: a model larger than the machine's memory is refused before anything is allocated, and the
 * message says what it needs (it said "out of memory for 0 parameters": n_params read after the free). */
static void test_model_larger_than_memory_refused(void **state)
{
    (void)state;
    ModelConfig cfg = {.n_vocab = 100000000, .n_embed = 65536, .n_layers = 1, .hidden = {65536}, .init_scale = 0.1f};
    size_t n = 0;
    assert_int_equal(model_count_params(&cfg, &n), TP_OK);
    assert_true(n > (size_t)13000000000000); /* 100M x 64K x 2 + 4 x 64K x 128K */
    Model m;
    assert_int_equal(model_init(&m, &cfg, NULL), TP_ENOMEM);
    assert_null(m.w);
    assert_non_null(strstr(err_msg(), "parameters need"));
    assert_non_null(strstr(err_msg(), "more than this machine's"));
    assert_null(strstr(err_msg(), " 0 parameters"));
    ModelConfig small = {.n_vocab = 10, .n_embed = 4, .n_layers = 1, .hidden = {3}, .init_scale = 0.1f};
    assert_int_equal(model_count_params(&small, &n), TP_OK);
    assert_int_equal(n, 10 * 4 + 12 * 4 + 12 * 3 + 12 + 12 + 10 * 3 + 10);
}

static void test_out_of_range_token_refused(void **state)
{
    (void)state;
    Ctx c;
    ctx_init(&c, 0.0f, 14);
    c.x[3] = V;
    double nll;
    assert_int_equal(model_forward(&c.m, &c.st, c.x, c.y, T, B, 0, 0.0f, NULL, &nll, NULL), TP_EINVAL);
    ctx_free(&c);
}

/* A window larger than the machine's memory is refused with the sizes named, and the model keeps
 * its buffers (the next forward still works). */
static void test_window_larger_than_memory_refused(void **state)
{
    (void)state;
    Ctx c;
    ctx_init(&c, 0.0f, 15);
    assert_int_equal(model_reserve(&c.m, 100000, 100000), TP_ENOMEM);
    assert_non_null(strstr(err_msg(), "100000 steps x 100000 streams"));
    assert_non_null(strstr(err_msg(), "GiB of memory"));
    double nll;
    assert_int_equal(model_forward(&c.m, &c.st, c.x, c.y, T, B, 0, 0.0f, NULL, &nll, NULL), TP_OK);
    assert_true(isfinite(nll));
    ctx_free(&c);
}

/* ---- H-LSTM ---- */

enum { GM = 2 }; /* gate hidden width */
#define KINK 0.02

/* Smallest |fc1 pre-activation| of the last training forward over every H-LSTM layer, recomputed
 * in double from the cached layer inputs and states: a finite difference must not step a ReLU
 * across its kink (see tests/test_hlstm). */
static double kink_margin(Ctx *c)
{
    Model *m = &c->m;
    int drop = m->cfg.dropout > 0.0f;
    double margin = 1e30;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const HlstmWeights *w = &m->hw[l];
        const float *in = drop ? m->xin[l] : l == 0 ? m->emb : lstm_cache_out(model_cell_cache(m, l - 1), B);
        const float *h = model_cell_cache(m, l)->h;
        for (int r = 0; r < T * B; r++)
            for (int k = 0; k < 4 * w->M; k++) {
                const float *wk = w->w1 + (size_t)k * (w->I + w->H);
                double s = w->b1[k];
                for (int j = 0; j < w->I; j++) s += (double)wk[j] * in[r * w->I + j];
                for (int j = 0; j < w->H; j++) s += (double)wk[w->I + j] * h[r * w->H + j];
                margin = fmin(margin, fabs(s));
            }
    }
    return margin;
}

static void ctx_init_hlstm(Ctx *c, float dropout, uint64_t seed)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 2, .hidden = {H0, H1}, .dropout = dropout,
                       .init_scale = 0.5f, .cell = MODEL_CELL_HLSTM, .gate_hidden = GM};
    for (;; seed += 1000) {
        ctx_init_cfg(c, &cfg, seed);
        forward(c, 1);
        if (kink_margin(c) > KINK) return;
        ctx_free(c);
    }
}

static void test_hlstm_gradients_without_dropout(void **state)
{
    (void)state;
    Ctx c;
    ctx_init_hlstm(&c, 0.0f, 21);
    check_all_tensors(&c);
    ctx_free(&c);
}

/* Zaremba dropout between layers and dropout inside the gate DNNs, both from the model's rng */
static void test_hlstm_gradients_with_dropout(void **state)
{
    (void)state;
    Ctx c;
    ctx_init_hlstm(&c, 0.3f, 22);
    check_all_tensors(&c);
    ctx_free(&c);
}

static void test_hlstm_registry_names_and_shapes(void **state)
{
    (void)state;
    Ctx c;
    ctx_init_hlstm(&c, 0.0f, 23);
    const char *names[] = {"embed.weight", "l0.fc1.weight", "l0.fc1.bias", "l0.fc2.weight", "l0.fc2.bias",
                           "l1.fc1.weight", "l1.fc1.bias", "l1.fc2.weight", "l1.fc2.bias", "decoder.weight",
                           "decoder.bias"};
    const int rows[] = {V, 4 * GM, 4 * GM, 4 * H0, 4 * H0, 4 * GM, 4 * GM, 4 * H1, 4 * H1, V, V};
    const int cols[] = {E, E + H0, 1, GM, 1, H0 + H1, 1, GM, 1, H1, 1};
    assert_int_equal(c.m.n_tensors, 11);
    size_t total = 0;
    for (int i = 0; i < 11; i++) {
        const ModelParam *p = model_param(&c.m, names[i]);
        assert_non_null(p);
        assert_int_equal(p->rows, rows[i]);
        assert_int_equal(p->cols, cols[i]);
        total += (size_t)rows[i] * cols[i];
    }
    assert_null(model_param(&c.m, "l0.w_ih"));
    assert_int_equal(model_nnz(&c.m), total);
    /* axes: l1.fc1.weight column H0 + 2 is layer 1's unit 2 (recurrent), column 1 is layer 0's unit 1 */
    const ModelParam *p = model_param(&c.m, "l1.fc1.weight");
    assert_int_equal(model_axis_unit(&p->axis[1], &c.m.cfg, H0 + 2, 1), 2);
    assert_int_equal(model_axis_unit(&p->axis[1], &c.m.cfg, 1, 0), 1);
    assert_int_equal(model_axis_unit(&p->axis[1], &c.m.cfg, 1, 1), -1);
    p = model_param(&c.m, "l0.fc2.weight");
    assert_int_equal(model_axis_unit(&p->axis[0], &c.m.cfg, 2 * H0 + 3, 0), 3);
    ctx_free(&c);
}

static void test_hlstm_config_needs_gate_hidden(void **state)
{
    (void)state;
    ModelConfig cfg = {.n_vocab = 10, .n_embed = 4, .n_layers = 1, .hidden = {4}, .init_scale = 0.1f,
                       .cell = MODEL_CELL_HLSTM};
    assert_int_equal(model_config_check(&cfg), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "--gate-hidden"));
    cfg.gate_hidden = 65537;
    assert_int_equal(model_config_check(&cfg), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "--gate-hidden"));
    cfg.gate_hidden = 65536;
    assert_int_equal(model_config_check(&cfg), TP_OK);
    cfg.gate_hidden = 1;
    assert_int_equal(model_config_check(&cfg), TP_OK);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_without_dropout),
        cmocka_unit_test(test_model_larger_than_memory_refused),
        cmocka_unit_test(test_gradients_with_dropout),
        cmocka_unit_test(test_registry_names_and_shapes),
        cmocka_unit_test(test_softmax_xent_matches_double_reference),
        cmocka_unit_test(test_bad_config_refused),
        cmocka_unit_test(test_out_of_range_token_refused),
        cmocka_unit_test(test_window_larger_than_memory_refused),
        cmocka_unit_test(test_hlstm_gradients_without_dropout),
        cmocka_unit_test(test_hlstm_gradients_with_dropout),
        cmocka_unit_test(test_hlstm_registry_names_and_shapes),
        cmocka_unit_test(test_hlstm_config_needs_gate_hidden),
        cmocka_unit_test(test_tied_gradients),
        cmocka_unit_test(test_tied_registry),
        cmocka_unit_test(test_tie_converts_an_untied_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
