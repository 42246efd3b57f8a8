/* tests/test_mask: glob matching and the protection rule of params=GLOB; per-tensor and per-model
 * statistics (nnz, row balance, zero-valued live entries, dense vs non-zero counts); effective width
 * on a hand-pruned model (units whose rows and columns are all pruned are not counted, a single
 * live connection keeps a unit), for the LSTM and the H-LSTM; the k-th-smallest selection against qsort. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/mask.h"
#include "engine/model.h"
#include "engine/rng.h"

enum { V = 6, E = 3, H0 = 4, H1 = 3 };

static void make_model(Model *m)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 2, .hidden = {H0, H1}, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, 5);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

static void cut(Model *m, const char *name, int row, int col)
{
    const ModelParam *p = model_param(m, name);
    assert_non_null(p);
    size_t i = p->off + (size_t)row * p->cols + col;
    m->mask[i] = 0;
    m->w[i] = 0.0f;
}

static void kill_row(Model *m, const char *name, int row)
{
    for (int c = 0; c < model_param(m, name)->cols; c++) cut(m, name, row, c);
}

static void kill_col(Model *m, const char *name, int col)
{
    for (int r = 0; r < model_param(m, name)->rows; r++) cut(m, name, r, col);
}

/* every connection of unit j of layer l except the ones the caller keeps afterwards */
static void kill_unit(Model *m, int l, int j, int H)
{
    char ih[16], hh[16];
    snprintf(ih, sizeof ih, "l%d.w_ih", l);
    snprintf(hh, sizeof hh, "l%d.w_hh", l);
    for (int g = 0; g < 4; g++) {
        kill_row(m, ih, g * H + j);
        kill_row(m, hh, g * H + j);
    }
    kill_col(m, hh, j);
}

static void test_glob_match(void **state)
{
    (void)state;
    assert_true(mask_glob_match("l*.w_ih", "l0.w_ih"));
    assert_true(mask_glob_match("l*.w_ih", "l12.w_ih"));
    assert_false(mask_glob_match("l*.w_ih", "l0.w_hh"));
    assert_true(mask_glob_match("l?.w_*", "l3.w_hh"));
    assert_false(mask_glob_match("l?.w_*", "l10.w_hh"));
    assert_true(mask_glob_match("*", "decoder.weight"));
    assert_true(mask_glob_match("*", ""));
    assert_true(mask_glob_match("", ""));
    assert_false(mask_glob_match("", "x"));
    assert_true(mask_glob_match("a*b*c", "axxbyybzc")); /* needs backtracking */
    assert_false(mask_glob_match("a*b*c", "axxbyybz"));
    assert_false(mask_glob_match("ab", "abc"));
    assert_false(mask_glob_match("abc", "ab"));
    assert_true(mask_glob_match("decoder.**", "decoder.bias"));
}

static void test_selection_and_protection(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    const ModelParam *emb = model_param(&m, "embed.weight"), *ih0 = model_param(&m, "l0.w_ih"),
                     *hh1 = model_param(&m, "l1.w_hh"), *b0 = model_param(&m, "l0.b_ih"),
                     *dw = model_param(&m, "decoder.weight"), *db = model_param(&m, "decoder.bias");
    /* default and '*': weight matrices only */
    const char *weights_only[] = {NULL, "", "*", "l*", "*.*", "decoder.*"};
    for (size_t k = 0; k < sizeof weights_only / sizeof *weights_only; k++) {
        const char *g = weights_only[k];
        assert_false(mask_param_selected(emb, g));
        assert_false(mask_param_selected(b0, g));
        assert_false(mask_param_selected(db, g));
    }
    assert_true(mask_param_selected(ih0, NULL) && mask_param_selected(hh1, NULL) && mask_param_selected(dw, NULL));
    assert_true(mask_param_selected(ih0, "*"));
    assert_true(mask_param_selected(dw, "decoder.*"));
    assert_false(mask_param_selected(ih0, "l1.*"));
    assert_true(mask_param_selected(hh1, "l1.*"));
    /* explicit names reach the protected tensors */
    assert_true(mask_param_selected(b0, "*.b_*"));
    assert_false(mask_param_selected(ih0, "*.b_*"));
    assert_true(mask_param_selected(db, "decoder.bias"));
    assert_true(mask_param_selected(emb, "embed.weight"));
    assert_true(mask_param_selected(emb, "embed*"));
    /* comma lists */
    assert_true(mask_param_selected(ih0, "l0.w_ih,decoder.bias"));
    assert_true(mask_param_selected(db, "l0.w_ih,decoder.bias"));
    assert_false(mask_param_selected(hh1, "l0.w_ih,decoder.bias"));
    assert_int_equal(mask_params_check(&m, "l*.w_ih"), TP_OK);
    assert_int_equal(mask_params_check(&m, "foo*"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "l0.w_hh"));
    model_free(&m);
}

static void test_tensor_stats_row_balance(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    const ModelParam *p = model_param(&m, "l0.w_hh"); /* [16, 4] */
    int t = (int)(p - m.p);
    kill_row(&m, "l0.w_hh", 0);
    cut(&m, "l0.w_hh", 1, 2);
    m.w[p->off + 5 * p->cols + 1] = 0.0f; /* live but zero */
    MaskTensorStats st;
    mask_tensor_stats(&m, &st, t);
    assert_int_equal(st.n, 64);
    assert_int_equal(st.nnz, 64 - 4 - 1);
    assert_int_equal(st.n_zero_live, 1);
    assert_int_equal(st.row_nnz_min, 0);
    assert_int_equal(st.row_nnz_max, 4);
    assert_true(fabs(st.density - 59.0 / 64.0) < 1e-12);
    assert_int_equal(st.rows, 16);
    assert_int_equal(st.cols, 4);
    model_free(&m);
}

static void test_model_stats_counts(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    kill_row(&m, "l1.w_ih", 3);        /* 4 entries */
    cut(&m, "decoder.weight", 0, 0);  /* 1 */
    cut(&m, "l0.b_hh", 2, 0);         /* 1 (a bias, by hand) */
    MaskStats s;
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    size_t cell = 4 * H0 * E + 4 * H0 * H0 + 4 * H1 * H0 + 4 * H1 * H1;
    size_t weights = cell + (size_t)V * H1;
    size_t all = weights + (size_t)V * E + 2 * 4 * H0 + 2 * 4 * H1 + V;
    assert_int_equal(s.n, all); /* dense-equivalent: no alignment padding */
    assert_true(s.n < m.n_params);
    assert_int_equal(s.nnz, all - 6);
    assert_int_equal(s.weight_n, weights);
    assert_int_equal(s.weight_nnz, weights - 5);
    assert_int_equal(s.cell_n, cell);
    assert_int_equal(s.cell_nnz, cell - 4);
    assert_true(fabs(s.cell_sparsity - 4.0 / cell) < 1e-12);
    assert_int_equal(s.nnz, model_nnz(&m));
    assert_int_equal(s.width[0], H0);
    assert_int_equal(s.width[1], H1);
    model_free(&m);
}

static void test_effective_width(void **state)
{
    (void)state;
    Model m;
    make_model(&m);
    /* layer 0 unit 2: everything, including its column in the next layer's w_ih: dead */
    kill_unit(&m, 0, 2, H0);
    kill_col(&m, "l1.w_ih", 2);
    /* layer 0 unit 1: all but one entry of its column in l1.w_ih: alive (it still feeds layer 1) */
    kill_unit(&m, 0, 1, H0);
    kill_col(&m, "l1.w_ih", 1);
    const ModelParam *p = model_param(&m, "l1.w_ih");
    m.mask[p->off + 7 * p->cols + 1] = 1;
    m.w[p->off + 7 * p->cols + 1] = 0.25f;
    /* layer 1 (last) unit 0: incoming and recurrent gone but the decoder still reads it: alive */
    kill_unit(&m, 1, 0, H1);
    /* layer 1 unit 2: gone, decoder column too: dead */
    kill_unit(&m, 1, 2, H1);
    kill_col(&m, "decoder.weight", 2);
    MaskStats s;
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    assert_int_equal(s.width[0], H0 - 1);
    assert_int_equal(s.width[1], H1 - 1);
    uint8_t alive[H0];
    int w;
    assert_int_equal(mask_layer_alive(&m, alive, &w, 0), TP_OK);
    assert_int_equal(w, 3);
    assert_true(alive[0] && alive[1] && !alive[2] && alive[3]);
    assert_int_equal(mask_layer_alive(&m, alive, &w, 1), TP_OK);
    assert_true(alive[0] && alive[1] && !alive[2]);
    /* a single live incoming entry (one gate row of w_hh) revives layer-1 unit 2 */
    const ModelParam *hh = model_param(&m, "l1.w_hh");
    m.mask[hh->off + (2 * H1 + 2) * hh->cols + 0] = 1;
    assert_int_equal(mask_layer_alive(&m, alive, &w, 1), TP_OK);
    assert_int_equal(w, H1);
    assert_int_equal(mask_layer_alive(&m, alive, &w, 2), TP_ERANGE);
    model_free(&m);
}

static void test_effective_width_hlstm(void **state)
{
    (void)state;
    /* one H-LSTM layer, H = 3, M = 2, I = E = 3: fc1 [8, 6] over [x; h], fc2 [12, 2] */
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 1, .hidden = {3}, .cell = MODEL_CELL_HLSTM,
                       .gate_hidden = 2, .init_scale = 0.5f};
    Model m;
    Rng r;
    rng_seed(&r, 2);
    assert_int_equal(model_init(&m, &cfg, &r), TP_OK);
    MaskStats s;
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    assert_int_equal(s.width[0], 3);
    /* unit 1: its four fc2 rows and its h column of fc1 (column E + 1): only the decoder reads it */
    for (int g = 0; g < 4; g++) kill_row(&m, "l0.fc2.weight", g * 3 + 1);
    kill_col(&m, "l0.fc1.weight", E + 1);
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    assert_int_equal(s.width[0], 3);
    kill_col(&m, "decoder.weight", 1);
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    assert_int_equal(s.width[0], 2);
    /* the x columns of fc1 are the embedding's, not a unit's: killing column 1 changes nothing */
    kill_col(&m, "l0.fc1.weight", 1);
    assert_int_equal(mask_stats(&m, &s), TP_OK);
    assert_int_equal(s.width[0], 2);
    model_free(&m);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_select_kth_matches_sort(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 11);
    enum { N = 1000 };
    float a[N], sorted[N], work[N];
    for (int trial = 0; trial < 40; trial++) {
        int n = 1 + (int)rng_below(&r, N);
        int levels = trial % 3 == 0 ? 3 : 1000000; /* many duplicates in a third of the trials */
        for (int i = 0; i < n; i++) a[i] = (float)rng_below(&r, (uint32_t)levels) / 7.0f;
        if (trial == 5)
            for (int i = 0; i < n; i++) a[i] = (float)i; /* sorted input */
        memcpy(sorted, a, n * sizeof(float));
        qsort(sorted, (size_t)n, sizeof(float), cmp_float);
        for (int k = 0; k < n; k += 1 + n / 17) {
            memcpy(work, a, n * sizeof(float));
            assert_true(mask_select_kth(work, (size_t)n, (size_t)k) == sorted[k]);
        }
    }
}

static void test_count_ceil_forgives_rounding(void **state)
{
    (void)state;
    assert_int_equal(mask_count_ceil((1.0 - 0.8) * 10), 2);
    assert_int_equal(mask_count_ceil((1.0 - 0.7) * 10), 3);
    assert_int_equal(mask_count_ceil(2.5), 3);
    assert_int_equal(mask_count_ceil(0.0), 0);
    assert_int_equal(mask_count_ceil(-1.0), 0);
}

/* The block iterator visits a block's entries row-major, the last (short) block included. */
static void test_block_iter(void **state)
{
    (void)state;
    MaskBlockGrid g;
    mask_block_grid(&g, 5, 5, 2, 3); /* 3 block rows x 2 block columns */
    MaskBlockIter it;
    size_t i, got[8], n = 0;
    for (mask_block_begin(&it, &g, 1, 100); mask_block_next(&it, &i);) got[n++] = i; /* rows 0-1, cols 3-4 */
    assert_int_equal(n, 4);
    const size_t want1[] = {103, 104, 108, 109};
    assert_memory_equal(got, want1, sizeof want1);
    n = 0;
    for (mask_block_begin(&it, &g, 4, 0); mask_block_next(&it, &i);) got[n++] = i; /* row 4, cols 0-2 */
    assert_int_equal(n, 3);
    const size_t want4[] = {20, 21, 22};
    assert_memory_equal(got, want4, sizeof want4);
}

/* An ordered grid: block b's rows are positions of the order, not adjacent rows. */
static void test_block_iter_ordered(void **state)
{
    (void)state;
    MaskBlockGrid g;
    mask_block_grid(&g, 5, 2, 2, 1);
    const int32_t order[5] = {3, 0, 4, 1, 2};
    mask_block_grid_order(&g, order);
    MaskBlockIter it;
    size_t i, got[8], n = 0;
    for (mask_block_begin(&it, &g, 1, 10); mask_block_next(&it, &i);) got[n++] = i; /* rows 3, 0; column 1 */
    const size_t want1[] = {10 + 3 * 2 + 1, 10 + 0 * 2 + 1};
    assert_int_equal(n, 2);
    assert_memory_equal(got, want1, sizeof want1);
    n = 0;
    for (mask_block_begin(&it, &g, 4, 0); mask_block_next(&it, &i);) got[n++] = i; /* position 4 = row 2, column 0 */
    assert_int_equal(n, 1);
    assert_int_equal(got[0], 2 * 2 + 0);
}

/* Descending count, ties by the lower id, unseen ids last, out-of-range ids ignored. */
static void test_vocab_frequency_order(void **state)
{
    (void)state;
    const int32_t ids[] = {2, 4, 2, 1, 4, 2, 9, -1, 0};
    int32_t order[6];
    assert_int_equal(mask_vocab_frequency_order(order, 6, ids, sizeof ids / sizeof ids[0]), TP_OK);
    const int32_t want[6] = {2, 4, 0, 1, 3, 5};
    assert_memory_equal(order, want, sizeof want);
    Model m;
    make_model(&m);
    assert_true(mask_param_vocab_rows(&m, model_param(&m, "embed.weight")));
    assert_true(mask_param_vocab_rows(&m, model_param(&m, "decoder.weight")));
    assert_true(mask_param_vocab_rows(&m, model_param(&m, "decoder.bias")));
    assert_false(mask_param_vocab_rows(&m, model_param(&m, "l0.w_ih")));
    assert_false(mask_param_vocab_rows(&m, model_param(&m, "l1.w_hh")));
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_match),
        cmocka_unit_test(test_selection_and_protection),
        cmocka_unit_test(test_tensor_stats_row_balance),
        cmocka_unit_test(test_model_stats_counts),
        cmocka_unit_test(test_effective_width),
        cmocka_unit_test(test_effective_width_hlstm),
        cmocka_unit_test(test_select_kth_matches_sort),
        cmocka_unit_test(test_count_ceil_forgives_rounding),
        cmocka_unit_test(test_block_iter),
        cmocka_unit_test(test_block_iter_ordered),
        cmocka_unit_test(test_vocab_frequency_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
