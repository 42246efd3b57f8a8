/* tests/test_grow: growth activates exactly the dormant entries of highest accumulated |G| (gradients
 * built by hand), with the signed sum over K batches; init zero and -lr·G/K; ties to the lower
 * index; per-matrix vs global scope; non-recoverable mode skips entries ever pruned; protection of
 * the embedding and biases; undoing the trainer's clip; the preview; bad input refused unchanged. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/grow.h"
#include "engine/model.h"
#include "engine/prune.h"

enum { V = 5, E = 6, H = 3 }; /* l0.w_ih [12, 6], l0.w_hh [12, 3], decoder.weight [5, 3] */

static void make_model(Model *m)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 1, .hidden = {H}, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, 3);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
    memset(m->g, 0, m->n_params * sizeof(float));
}

static const ModelParam *P(const Model *m, const char *name)
{
    const ModelParam *p = model_param(m, name);
    assert_non_null(p);
    return p;
}

static void make_dormant(Model *m, const char *name)
{
    const ModelParam *p = P(m, name);
    for (size_t i = 0; i < p->n; i++) {
        m->mask[p->off + i] = 0;
        m->w[p->off + i] = 0.0f;
    }
}

/* g of tensor `name`: |g| a permutation of 1..n times scale, alternating signs */
static void set_grad_perm(Model *m, const char *name, float scale)
{
    const ModelParam *p = P(m, name);
    size_t n = p->n, mult = 7;
    while (n % mult == 0 || mult % n == 0) mult += 2;
    for (size_t i = 0; i < n; i++) m->g[p->off + i] = scale * (float)((i * mult) % n + 1) * (i % 2 ? -1.0f : 1.0f);
}

static size_t live(const Model *m, const char *name)
{
    const ModelParam *p = P(m, name);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) k += m->mask[p->off + i];
    return k;
}

static void test_grows_exactly_the_top_gradients(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    make_dormant(&m, "l0.w_hh");
    set_grad_perm(&m, "l0.w_hh", 0.1f);
    set_grad_perm(&m, "l0.w_ih", 100.0f); /* live entries: never "grown", whatever their gradient */
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 0.25; /* floor(0.25 * 36) = 9: |G| in 28..36 */
    GrowResult r;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
    assert_int_equal(r.grown, 9);
    assert_int_equal(r.eligible, 36);
    assert_int_equal(r.n_batches, 1);
    const ModelParam *p = P(&m, "l0.w_hh");
    assert_int_equal(r.t[p - m.p].grown, 9);
    for (size_t i = 0; i < p->n; i++) {
        int expect = fabsf(m.g[p->off + i]) > 2.75f;
        assert_int_equal(m.mask[p->off + i], expect);
        assert_true(m.w[p->off + i] == 0.0f); /* init zero (RigL) */
    }
    assert_int_equal(live(&m, "l0.w_ih"), 72);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_signed_sum_over_batches_and_grad_init(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    make_dormant(&m, "decoder.weight"); /* 15 entries */
    const ModelParam *p = P(&m, "decoder.weight");
    float *g = m.g + p->off;
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    /* entry 0 flips sign (|G| = 0 although each |g| = 1); entry 1 is steady 0.5 (|G| = 1); entry 2
     * is 0.25 then 0.5 (|G| = 0.75); entry 3 is -0.125 twice (|G| = 0.25) */
    g[0] = 1.0f, g[1] = 0.5f, g[2] = 0.25f, g[3] = -0.125f;
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    g[0] = -1.0f, g[1] = 0.5f, g[2] = 0.5f, g[3] = -0.125f;
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 0.2; /* floor(3) = 3 of 15 */
    c.init = GROW_INIT_GRAD;
    c.lr = 0.5f;
    c.params = "decoder.weight";
    GrowResult r;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
    assert_int_equal(r.n_batches, 2);
    assert_int_equal(r.grown, 3);
    assert_int_equal(m.mask[p->off + 0], 0);
    assert_int_equal(m.mask[p->off + 1], 1);
    assert_int_equal(m.mask[p->off + 2], 1);
    assert_int_equal(m.mask[p->off + 3], 1);
    /* w = -lr * G / K */
    assert_true(m.w[p->off + 1] == -0.5f * 1.0f / 2.0f);
    assert_true(m.w[p->off + 2] == -0.5f * 0.75f / 2.0f);
    assert_true(m.w[p->off + 3] == 0.5f * 0.25f / 2.0f);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_ties_lower_index_first(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    make_dormant(&m, "l0.w_hh");
    const ModelParam *p = P(&m, "l0.w_hh");
    for (size_t i = 0; i < p->n; i++) m.g[p->off + i] = i % 2 ? 0.5f : -0.5f;
    m.g[p->off + 30] = 0.75f; /* the one clear winner */
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 0.2; /* floor(7.2) = 7: index 30, then 0..5 */
    GrowResult r;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
    assert_int_equal(r.grown, 7);
    for (size_t i = 0; i < p->n; i++) assert_int_equal(m.mask[p->off + i], i < 6 || i == 30);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_global_vs_matrix_scope(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    GrowResult r;
    GrowConfig c = grow_config_default();
    c.ratio = 0.25;
    for (int scope = 0; scope < 2; scope++) {
        make_model(&m);
        make_dormant(&m, "l0.w_ih");
        make_dormant(&m, "l0.w_hh");
        set_grad_perm(&m, "l0.w_ih", 0.001f); /* all below every w_hh gradient */
        set_grad_perm(&m, "l0.w_hh", 1.0f);
        assert_int_equal(grow_accum_init(&a, &m), TP_OK);
        assert_int_equal(grow_accum_add(&a, &m), TP_OK);
        c.scope = scope ? MASK_SCOPE_GLOBAL : MASK_SCOPE_MATRIX;
        assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
        if (scope) {
            assert_int_equal(r.grown, 27); /* floor(0.25 * 108), all where |G| is largest: w_hh */
            assert_int_equal(live(&m, "l0.w_ih"), 0);
            assert_int_equal(live(&m, "l0.w_hh"), 27);
        } else {
            assert_int_equal(live(&m, "l0.w_ih"), 18);
            assert_int_equal(live(&m, "l0.w_hh"), 9);
        }
        grow_accum_free(&a);
        model_free(&m);
    }
}

static void test_non_recoverable_skips_ever_pruned(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    uint8_t *ever = calloc(m.n_params, 1);
    PruneConfig pc = prune_config_default();
    pc.amount = 0.5;
    pc.params = "decoder.weight"; /* 15 -> keep 8, 7 pruned (recorded in ever) */
    PruneResult pr;
    assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
    assert_int_equal(pr.removed, 7);
    const ModelParam *p = P(&m, "decoder.weight");
    /* two more dormant by hand, never pruned: the only ones non-recoverable growth may use */
    size_t fresh[2], k = 0;
    for (size_t i = 0; i < p->n && k < 2; i++)
        if (m.mask[p->off + i]) {
            m.mask[p->off + i] = 0;
            m.w[p->off + i] = 0.0f;
            fresh[k++] = p->off + i;
        }
    for (size_t i = 0; i < p->n; i++) m.g[p->off + i] = 1.0f + (float)i; /* higher index, larger |G| */
    m.g[fresh[0]] = m.g[fresh[1]] = 0.01f;                                 /* the fresh ones: smallest */
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 1.0;
    c.recoverable = 0;
    c.params = "decoder.weight";
    GrowResult r;
    assert_int_equal(grow_preview(&m, &r, &a, NULL, &c), TP_EINVAL); /* needs the history */
    assert_int_equal(grow_preview(&m, &r, &a, ever, &c), TP_OK);
    assert_int_equal(r.eligible, 2);
    c.recoverable = 1;
    assert_int_equal(grow_preview(&m, &r, &a, ever, &c), TP_OK);
    assert_int_equal(r.eligible, 9);
    c.recoverable = 0;
    assert_int_equal(grow_apply(&m, &r, &a, ever, &c), TP_OK);
    assert_int_equal(r.grown, 2);
    assert_int_equal(m.mask[fresh[0]], 1);
    assert_int_equal(m.mask[fresh[1]], 1);
    assert_int_equal(live(&m, "decoder.weight"), 8);
    for (size_t i = 0; i < p->n; i++) assert_int_equal(m.mask[p->off + i], !ever[p->off + i]);
    free(ever);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_protection(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    make_dormant(&m, "embed.weight");
    make_dormant(&m, "l0.b_ih");
    make_dormant(&m, "decoder.weight");
    set_grad_perm(&m, "embed.weight", 100.0f);
    set_grad_perm(&m, "l0.b_ih", 100.0f);
    set_grad_perm(&m, "decoder.weight", 0.01f);
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 0.5;
    c.scope = MASK_SCOPE_GLOBAL;
    GrowResult r;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
    assert_int_equal(live(&m, "embed.weight"), 0);
    assert_int_equal(live(&m, "l0.b_ih"), 0);
    assert_int_equal(live(&m, "decoder.weight"), 7);
    c.params = "embed.weight,*.b_ih";
    c.scope = MASK_SCOPE_MATRIX;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_OK);
    assert_int_equal(live(&m, "embed.weight"), 15);
    assert_int_equal(live(&m, "l0.b_ih"), 6);
    assert_int_equal(live(&m, "decoder.weight"), 7);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_clipped_accumulation(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    float *x = malloc(m.n_params * sizeof(float));
    for (size_t i = 0; i < m.n_params; i++) x[i] = (float)((int)(i % 13) - 6) * 0.25f;
    /* train_step's clip: norm 10 > clip 5 multiplied g by 0.5; adding undoes it */
    for (size_t i = 0; i < m.n_params; i++) m.g[i] = 0.5f * x[i];
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add_clipped(&a, &m, 10.0, 5.0f), TP_OK);
    assert_memory_equal(a.sum, x, m.n_params * sizeof(float));
    /* below the limit (or no clipping) g was left alone */
    grow_accum_reset(&a);
    assert_int_equal(a.n_batches, 0);
    for (size_t i = 0; i < m.n_params; i++) m.g[i] = x[i];
    assert_int_equal(grow_accum_add_clipped(&a, &m, 3.0, 5.0f), TP_OK);
    assert_int_equal(grow_accum_add_clipped(&a, &m, 30.0, 0.0f), TP_OK);
    for (size_t i = 0; i < m.n_params; i++) assert_true(a.sum[i] == 2.0f * x[i]);
    assert_int_equal(a.n_batches, 2);
    free(x);
    grow_accum_free(&a);
    model_free(&m);
}

static void test_bad_input_refused_unchanged(void **state)
{
    (void)state;
    Model m, other;
    GrowAccum a, b;
    make_model(&m);
    make_dormant(&m, "l0.w_hh");
    set_grad_perm(&m, "l0.w_hh", 1.0f);
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    GrowConfig c = grow_config_default();
    c.ratio = 0.5;
    GrowResult r = {.grown = 555};
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_EINVAL); /* nothing accumulated */
    assert_non_null(strstr(err_msg(), "batches"));
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    c.ratio = 1.5;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_ERANGE);
    c.ratio = 0.5;
    c.init = GROW_INIT_GRAD;
    c.lr = NAN;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_ERANGE);
    c = grow_config_default();
    c.ratio = 0.5;
    c.params = "l9.*";
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_EINVAL);
    c.params = NULL;
    /* an accumulator of another model shape */
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 1, .hidden = {H + 5}, .init_scale = 0.5f};
    Rng rng;
    rng_seed(&rng, 1);
    assert_int_equal(model_init(&other, &cfg, &rng), TP_OK);
    assert_int_equal(grow_accum_init(&b, &other), TP_OK);
    assert_int_equal(grow_accum_add(&b, &m), TP_EINVAL);
    assert_int_equal(grow_apply(&m, &r, &b, NULL, &c), TP_EINVAL);
    /* a non-finite score */
    a.sum[P(&m, "l0.w_hh")->off + 7] = INFINITY;
    assert_int_equal(grow_apply(&m, &r, &a, NULL, &c), TP_ENAN);
    assert_int_equal(live(&m, "l0.w_hh"), 0);
    assert_int_equal(r.grown, 555);
    grow_accum_free(&a);
    grow_accum_free(&b);
    model_free(&other);
    model_free(&m);
}

static void test_preview_matches_apply(void **state)
{
    (void)state;
    Model m;
    GrowAccum a;
    make_model(&m);
    make_dormant(&m, "l0.w_ih");
    make_dormant(&m, "decoder.weight");
    set_grad_perm(&m, "l0.w_ih", 1.0f);
    set_grad_perm(&m, "decoder.weight", 3.0f);
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    assert_int_equal(grow_accum_add(&a, &m), TP_OK);
    uint8_t *mk = malloc(m.n_params);
    memcpy(mk, m.mask, m.n_params);
    GrowConfig c = grow_config_default();
    c.ratio = 0.3;
    c.scope = MASK_SCOPE_GLOBAL;
    GrowResult pre, app;
    assert_int_equal(grow_preview(&m, &pre, &a, NULL, &c), TP_OK);
    assert_memory_equal(mk, m.mask, m.n_params);
    assert_int_equal(pre.applied, 0);
    assert_int_equal(grow_apply(&m, &app, &a, NULL, &c), TP_OK);
    assert_int_equal(pre.grown, app.grown);
    assert_int_equal(app.grown, 26); /* floor(0.3 * 87) */
    for (int t = 0; t < m.n_tensors; t++) assert_int_equal(pre.t[t].grown, app.t[t].grown);
    free(mk);
    grow_accum_free(&a);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_exactly_the_top_gradients),
        cmocka_unit_test(test_signed_sum_over_batches_and_grad_init),
        cmocka_unit_test(test_ties_lower_index_first),
        cmocka_unit_test(test_global_vs_matrix_scope),
        cmocka_unit_test(test_non_recoverable_skips_ever_pruned),
        cmocka_unit_test(test_protection),
        cmocka_unit_test(test_clipped_accumulation),
        cmocka_unit_test(test_bad_input_refused_unchanged),
        cmocka_unit_test(test_preview_matches_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
