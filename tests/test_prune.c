/* tests/test_prune: magnitude pruning gives exactly the expected masks on hand-made matrices (ratio,
 * threshold, target sparsity, dual ratio, row-balanced), against a brute-force O(n^2) ranking as
 * well; row-balanced rows all have the same nnz; global and per-matrix scope differ as they should;
 * ties go to the lower index; the protection rule; the preview changes nothing and predicts the
 * counts; bad input is refused before anything changes; and after a prune the masked entries (and
 * their Adam moments) stay exactly zero through many steps of SGD and Adam training. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/corpus.h"
#include "engine/mask.h"
#include "engine/model.h"
#include "engine/optim.h"
#include "engine/prune.h"
#include "engine/train.h"

enum { V = 5, E = 6, H = 3 }; /* l0.w_ih [12, 6], l0.w_hh [12, 3], decoder.weight [5, 3] */

static void make_model(Model *m)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 1, .hidden = {H}, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, 3);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

static const ModelParam *P(const Model *m, const char *name)
{
    const ModelParam *p = model_param(m, name);
    assert_non_null(p);
    return p;
}

/* |w| of entry i of tensor `name` = a permutation of 1..n (scaled), signs alternating */
static void set_perm(Model *m, const char *name, float scale)
{
    const ModelParam *p = P(m, name);
    size_t n = p->n, mult = 7;
    while (n % mult == 0 || mult % n == 0) mult += 2; /* coprime with n: a permutation */
    for (size_t i = 0; i < n; i++)
        m->w[p->off + i] = scale * (float)((i * mult) % n + 1) * (i % 2 ? -1.0f : 1.0f);
}

static size_t live(const Model *m, const char *name)
{
    const ModelParam *p = P(m, name);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) k += m->mask[p->off + i];
    return k;
}

/* Brute-force reference: entry i of the group is removed iff fewer than n_remove live entries rank
 * below it, ranking by |w| ascending and, at equal |w|, higher index first. */
static void reference_remove(const Model *m, const size_t *idx, size_t n, size_t n_remove, uint8_t *removed)
{
    for (size_t a = 0; a < n; a++) {
        removed[a] = 0;
        if (!m->mask[idx[a]]) continue;
        float wa = fabsf(m->w[idx[a]]);
        size_t below = 0;
        for (size_t b = 0; b < n; b++) {
            if (!m->mask[idx[b]] || b == a) continue;
            float wb = fabsf(m->w[idx[b]]);
            below += wb < wa || (wb == wa && idx[b] > idx[a]);
        }
        removed[a] = below < n_remove;
    }
}

static void test_ratio_per_matrix_exact(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    set_perm(&m, "l0.w_ih", 0.01f);
    const ModelParam *p = P(&m, "l0.w_ih");
    uint8_t *ever = calloc(m.n_params, 1);
    float *before = malloc(m.n_params * sizeof(float));
    memcpy(before, m.w, m.n_params * sizeof(float));
    PruneConfig c = prune_config_default();
    c.amount = 0.5;
    c.params = "l0.w_ih";
    PruneResult r;
    assert_int_equal(prune_apply(&m, ever, &r, &c), TP_OK);
    assert_int_equal(r.removed, 36);
    /* exactly the entries with |w| <= 36 * 0.01 go */
    for (size_t i = 0; i < p->n; i++) {
        size_t k = p->off + i;
        int expect_live = fabsf(before[k]) > 0.365f;
        assert_int_equal(m.mask[k], expect_live);
        assert_int_equal(ever[k], !expect_live);
        assert_true(m.w[k] == (expect_live ? before[k] : 0.0f));
    }
    /* other tensors untouched */
    assert_int_equal(live(&m, "l0.w_hh"), 36);
    assert_int_equal(live(&m, "decoder.weight"), 15);
    /* ratio is of the LIVE entries: 0.25 of 36 live leaves ceil(27) */
    c.amount = 0.25;
    assert_int_equal(prune_apply(&m, ever, &r, &c), TP_OK);
    assert_int_equal(r.live_before, 36);
    assert_int_equal(r.removed, 9);
    assert_int_equal(live(&m, "l0.w_ih"), 27);
    assert_true(fabs(r.sparsity_after - 45.0 / 72.0) < 1e-12);
    free(before);
    free(ever);
    model_free(&m);
}

static void test_threshold_exact(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    set_perm(&m, "l0.w_ih", 1.0f);
    set_perm(&m, "l0.w_hh", 1.0f);
    set_perm(&m, "decoder.weight", 1.0f);
    PruneConfig c = prune_config_default();
    c.mode = PRUNE_THRESHOLD;
    c.amount = 5.0; /* |w| < 5: the values 1..4 of every weight matrix */
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 12);
    const char *names[] = {"l0.w_ih", "l0.w_hh", "decoder.weight"};
    for (int t = 0; t < 3; t++) {
        const ModelParam *p = P(&m, names[t]);
        assert_int_equal(r.t[p - m.p].removed, 4);
        for (size_t i = 0; i < p->n; i++) assert_int_equal(m.mask[p->off + i], m.w[p->off + i] != 0.0f);
        assert_int_equal(live(&m, names[t]), p->n - 4);
    }
    model_free(&m);
}

static void test_dual_ratio(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    PruneConfig c = prune_config_default(); /* ratio 0 for everything else */
    c.amount_ih = 0.5;
    c.amount_hh = 0.25;
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(live(&m, "l0.w_ih"), 36);
    assert_int_equal(live(&m, "l0.w_hh"), 27);
    assert_int_equal(live(&m, "decoder.weight"), 15);
    assert_true(r.t[P(&m, "l0.w_ih") - m.p].amount == 0.5);
    assert_true(r.t[P(&m, "l0.w_hh") - m.p].amount == 0.25);
    /* the reference ranking agrees entry by entry (random weights of the seed) */
    Model ref;
    make_model(&ref);
    const ModelParam *p = P(&ref, "l0.w_hh");
    size_t idx[36] = {0};
    uint8_t removed[36];
    for (size_t i = 0; i < p->n; i++) idx[i] = p->off + i;
    reference_remove(&ref, idx, p->n, 9, removed);
    for (size_t i = 0; i < p->n; i++) assert_int_equal(m.mask[idx[i]], !removed[i]);
    model_free(&ref);
    model_free(&m);
}

static void test_sparsity_target(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    PruneConfig c = prune_config_default();
    c.params = "l0.w_ih";
    c.amount = 0.5;
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    c.mode = PRUNE_SPARSITY;
    c.amount = 0.75; /* keep ceil(0.25 * 72) = 18 */
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 18);
    assert_int_equal(live(&m, "l0.w_ih"), 18);
    c.amount = 0.25; /* already sparser: nothing */
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 0);
    model_free(&m);
}

static void check_rows(const Model *m, const uint8_t *mask_before, const char *name, int k)
{
    const ModelParam *p = P(m, name);
    MaskTensorStats st;
    mask_tensor_stats(m, &st, (int)(p - m->p));
    assert_int_equal(st.row_nnz_min, k);
    assert_int_equal(st.row_nnz_max, k);
    /* each row keeps its k largest |w| among the entries live before */
    for (int row = 0; row < p->rows; row++) {
        size_t idx[16] = {0};
        uint8_t removed[16];
        int n_live = 0;
        for (int c = 0; c < p->cols; c++) {
            idx[c] = p->off + (size_t)row * p->cols + c;
            n_live += mask_before[idx[c]];
        }
        Model tmp = *m; /* reference needs the masks from before */
        tmp.mask = (uint8_t *)mask_before;
        reference_remove(&tmp, idx, (size_t)p->cols, (size_t)(n_live - k), removed);
        for (int c = 0; c < p->cols; c++) assert_int_equal(m->mask[idx[c]], mask_before[idx[c]] && !removed[c]);
    }
}

static void test_row_balanced(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    uint8_t *before = malloc(m.n_params);
    float *wb = malloc(m.n_params * sizeof(float));
    memcpy(before, m.mask, m.n_params);
    memcpy(wb, m.w, m.n_params * sizeof(float));
    PruneConfig c = prune_config_default();
    c.pattern = PRUNE_ROW;
    c.amount = 0.5;
    c.params = "l0.w_ih"; /* [12, 6]: k = ceil(0.5 * 72 / 12) = 3 */
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.t[P(&m, "l0.w_ih") - m.p].row_k, 3);
    assert_int_equal(r.removed, 36);
    {
        Model chk = m;
        chk.w = wb; /* rank by the weights before pruning */
        check_rows(&chk, before, "l0.w_ih", 3);
    }
    /* again at ratio 0.3 of the live: k = ceil(0.7 * 3) = 3: nothing; sparsity 0.8: k = ceil(0.2*6) = 2 */
    c.amount = 0.3;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 0);
    memcpy(before, m.mask, m.n_params);
    memcpy(wb, m.w, m.n_params * sizeof(float));
    c.mode = PRUNE_SPARSITY;
    c.amount = 0.8;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 12);
    {
        Model chk = m;
        chk.w = wb;
        check_rows(&chk, before, "l0.w_ih", 2);
    }
    /* a row with fewer live entries than k keeps them all (the matrix was not balanced) */
    const ModelParam *hh = P(&m, "l0.w_hh"); /* [12, 3] */
    for (int col = 0; col < 3; col++) {
        m.mask[hh->off + col] = 0;
        m.w[hh->off + col] = 0.0f;
    }
    c.mode = PRUNE_RATIO;
    c.amount = 0.0;
    c.amount_hh = 0.25; /* live 33: k = ceil(0.75 * 33 / 12) = 3 -> nothing to remove */
    c.params = "l0.w_hh";
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 0);
    c.mode = PRUNE_SPARSITY;
    c.amount_hh = 0.5; /* k = ceil(1.5) = 2: rows 1..11 drop one, row 0 stays empty */
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 11);
    MaskTensorStats st;
    mask_tensor_stats(&m, &st, (int)(hh - m.p));
    assert_int_equal(st.row_nnz_min, 0);
    assert_int_equal(st.row_nnz_max, 2);
    free(before);
    free(wb);
    model_free(&m);
}

static void test_global_vs_matrix_scope(void **state)
{
    (void)state;
    Model a, b;
    make_model(&a);
    set_perm(&a, "l0.w_ih", 0.001f); /* every |w_ih| below every |w_hh| */
    set_perm(&a, "l0.w_hh", 1.0f);
    make_model(&b);
    memcpy(b.w, a.w, a.n_params * sizeof(float));
    PruneConfig c = prune_config_default();
    c.amount = 0.5;
    c.params = "l0.w_ih,l0.w_hh"; /* 72 + 36 entries */
    PruneResult r;
    assert_int_equal(prune_apply(&a, NULL, &r, &c), TP_OK);
    assert_int_equal(live(&a, "l0.w_ih"), 36);
    assert_int_equal(live(&a, "l0.w_hh"), 18);
    c.scope = MASK_SCOPE_GLOBAL;
    assert_int_equal(prune_apply(&b, NULL, &r, &c), TP_OK);
    assert_int_equal(r.removed, 54); /* the 54 smallest overall are all in w_ih */
    assert_int_equal(live(&b, "l0.w_ih"), 18);
    assert_int_equal(live(&b, "l0.w_hh"), 36);
    assert_int_equal(live(&b, "decoder.weight"), 15);
    /* against the brute-force ranking on random weights over all three weight matrices */
    Model g;
    make_model(&g);
    size_t idx[72 + 36 + 15] = {0}, n = 0;
    uint8_t removed[72 + 36 + 15];
    const char *names[] = {"l0.w_ih", "l0.w_hh", "decoder.weight"};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < P(&g, names[t])->n; i++) idx[n++] = P(&g, names[t])->off + i;
    reference_remove(&g, idx, n, 123 - mask_count_ceil(0.7 * 123), removed);
    c.amount = 0.3;
    c.params = NULL;
    assert_int_equal(prune_apply(&g, NULL, &r, &c), TP_OK);
    for (size_t i = 0; i < n; i++) assert_int_equal(g.mask[idx[i]], !removed[i]);
    model_free(&g);
    model_free(&a);
    model_free(&b);
}

static void test_ties_lower_index_survives(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    const ModelParam *p = P(&m, "decoder.weight"); /* 15 entries */
    for (size_t i = 0; i < p->n; i++) m.w[p->off + i] = i % 2 ? -0.5f : 0.5f;
    PruneConfig c = prune_config_default();
    c.amount = 0.4; /* keep ceil(9) = 9: indices 0..8 */
    c.params = "decoder.weight";
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    for (size_t i = 0; i < p->n; i++) assert_int_equal(m.mask[p->off + i], i < 9);
    model_free(&m);
}

static void test_protection(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    PruneConfig c = prune_config_default();
    c.amount = 0.5;
    const char *globs[] = {NULL, "*", "l0.*"};
    PruneResult r;
    for (int k = 0; k < 3; k++) {
        c.params = globs[k];
        assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
        assert_int_equal(live(&m, "embed.weight"), V * E);
        assert_int_equal(live(&m, "l0.b_ih"), 4 * H);
        assert_int_equal(live(&m, "l0.b_hh"), 4 * H);
        assert_int_equal(live(&m, "decoder.bias"), V);
    }
    size_t w_live = live(&m, "l0.w_ih");
    c.params = "*.b_*";
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(live(&m, "l0.b_ih"), 6);
    assert_int_equal(live(&m, "decoder.bias"), V); /* "decoder.bias" has no "b_" */
    assert_int_equal(live(&m, "l0.w_ih"), w_live);
    c.params = "embed.weight";
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_int_equal(live(&m, "embed.weight"), V * E / 2);
    model_free(&m);
}

static void test_preview_changes_nothing(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    float *w = malloc(m.n_params * sizeof(float));
    uint8_t *mk = malloc(m.n_params);
    memcpy(w, m.w, m.n_params * sizeof(float));
    memcpy(mk, m.mask, m.n_params);
    PruneConfig cfgs[3] = {prune_config_default(), prune_config_default(), prune_config_default()};
    cfgs[0].amount = 0.6;
    cfgs[0].scope = MASK_SCOPE_GLOBAL;
    cfgs[1].pattern = PRUNE_ROW;
    cfgs[1].amount = 0.3;
    cfgs[1].amount_hh = 0.5;
    cfgs[2].mode = PRUNE_THRESHOLD;
    cfgs[2].amount = 0.2;
    for (int k = 0; k < 3; k++) {
        PruneResult pre, app;
        assert_int_equal(prune_preview(&m, &pre, &cfgs[k]), TP_OK);
        assert_int_equal(pre.applied, 0);
        assert_memory_equal(w, m.w, m.n_params * sizeof(float));
        assert_memory_equal(mk, m.mask, m.n_params);
        Model copy;
        make_model(&copy);
        assert_int_equal(prune_apply(&copy, NULL, &app, &cfgs[k]), TP_OK);
        assert_int_equal(app.applied, 1);
        assert_true(pre.removed > 0);
        assert_int_equal(pre.removed, app.removed);
        for (int t = 0; t < m.n_tensors; t++) assert_int_equal(pre.t[t].removed, app.t[t].removed);
        assert_true(pre.sparsity_after == app.sparsity_after);
        model_free(&copy);
    }
    free(w);
    free(mk);
    model_free(&m);
}

static void test_bad_input_refused_unchanged(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    PruneConfig c = prune_config_default();
    PruneResult r = {.removed = 777};
    c.amount = 1.5;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "ratio"));
    c.amount = NAN;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_ERANGE);
    c = prune_config_default();
    c.amount_ih = NAN;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_ERANGE);
    c = prune_config_default();
    c.mode = PRUNE_THRESHOLD;
    c.pattern = PRUNE_ROW;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_EINVAL);
    c = prune_config_default();
    c.pattern = PRUNE_ROW;
    c.scope = MASK_SCOPE_GLOBAL;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_EINVAL);
    c = prune_config_default();
    c.params = "nothing*";
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_EINVAL);
    c = prune_config_default();
    c.amount = 0.5;
    m.w[P(&m, "l0.w_hh")->off + 4] = NAN;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_ENAN);
    assert_int_equal(model_nnz(&m), live(&m, "embed.weight") + 72 + 36 + 24 + 15 + 5);
    assert_int_equal(r.removed, 777); /* no partial result */
    model_free(&m);
}

/* ---- masked training after a prune ---- */

static Corpus corpus;

static int setup(void **state)
{
    (void)state;
    const char *text = "the hedge grows and is pruned by a gardener\nthe gardener grows a hedge\n";
    size_t n = strlen(text), reps = 300;
    char *buf = malloc(n * reps);
    for (size_t k = 0; k < reps; k++) memcpy(buf + k * n, text, n);
    TpStatus s = corpus_load_text(&corpus, "mem", buf, n * reps, CORPUS_CHAR, 0, NULL, 0);
    free(buf);
    return s == TP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    corpus_free(&corpus);
    return 0;
}

static void train_pruned(OptimKind kind)
{
    Model m;
    ModelConfig cfg = {.n_vocab = corpus.n_vocab, .n_embed = 8, .n_layers = 2, .hidden = {12, 10},
                       .dropout = 0.1f, .init_scale = 0.1f};
    Rng rng;
    rng_seed(&rng, 4);
    assert_int_equal(model_init(&m, &cfg, &rng), TP_OK);
    TrainConfig tc = {.bptt = 8, .batch = 4, .epochs = 100, .lr = kind == OPTIM_ADAM ? 0.01f : 1.0f,
                      .lr_decay = 1.0f, .decay_start = 100, .clip = 5.0f, .optim = kind, .seed = 1};
    Trainer t;
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &tc), TP_OK);
    TrainStepInfo info;
    for (int i = 0; i < 20; i++) assert_int_equal(train_step(&t, &info), TP_OK); /* moments non-zero */
    PruneConfig c = prune_config_default();
    c.amount = 0.5;
    c.amount_hh = 0.7;
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    optim_sync_mask(&t.opt, m.mask);
    uint8_t *mk = malloc(m.n_params);
    memcpy(mk, m.mask, m.n_params);
    int dense_grad = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(train_step(&t, &info), TP_OK);
        for (size_t k = 0; k < m.n_params; k++) dense_grad |= !mk[k] && m.g[k] != 0.0f;
    }
    assert_true(dense_grad); /* the backward pass scores pruned entries too */
    assert_memory_equal(mk, m.mask, m.n_params);
    size_t zeros = 0;
    for (size_t k = 0; k < m.n_params; k++) {
        if (mk[k]) continue;
        zeros++;
        assert_true(m.w[k] == 0.0f);
        if (kind == OPTIM_ADAM) assert_true(t.opt.m[k] == 0.0f && t.opt.v[k] == 0.0f);
    }
    assert_true(zeros >= r.removed);
    free(mk);
    train_free(&t);
    model_free(&m);
}

static void test_masked_entries_stay_zero_sgd(void **state)
{
    (void)state;
    train_pruned(OPTIM_SGD);
}

static void test_masked_entries_stay_zero_adam(void **state)
{
    (void)state;
    train_pruned(OPTIM_ADAM);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratio_per_matrix_exact),
        cmocka_unit_test(test_threshold_exact),
        cmocka_unit_test(test_dual_ratio),
        cmocka_unit_test(test_sparsity_target),
        cmocka_unit_test(test_row_balanced),
        cmocka_unit_test(test_global_vs_matrix_scope),
        cmocka_unit_test(test_ties_lower_index_survives),
        cmocka_unit_test(test_protection),
        cmocka_unit_test(test_preview_changes_nothing),
        cmocka_unit_test(test_bad_input_refused_unchanged),
        cmocka_unit_test(test_masked_entries_stay_zero_sgd),
        cmocka_unit_test(test_masked_entries_stay_zero_adam),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
