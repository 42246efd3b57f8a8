/* tests/test_infer: the inference runtime (engine/infer), the compact file (engine/compact) and
 * hidden-state thresholding (engine/lstm, DESIGN 3.4).
 *
 *   - trimming removes exactly the units nothing reads (a unit with no reader, a pair that only read
 *     each other), keeps the outputs, and a layer never drops below one unit;
 *   - the compact file round trip: trimmed sizes, the trimmed weights bit for bit, kept-unit lists,
 *     the same evaluation as the dense model within 1e-5; it shrinks with sparsity; damaged files
 *     are refused naming the tensor;
 *   - eval through the runtime equals train_evaluate (the session's evaluation) within 1e-5 relative,
 *     for LSTM and H-LSTM, every forced kernel and the cost-model choice, 1 and 3 streams, with and
 *     without thresholding (then also through the per-step sparse-state kernel);
 *   - the kernel choice from an injected cost table: a slow vector path is not picked, a faster
 *     threaded variant is, with the single-threaded result;
 *   - grouped rows: a matrix pruned in 16x1 blocks over a random row order gets a grouped BSR variant
 *     ("bsr16x1g"), whose products (one vector, accumulating or not; a batch larger than the scratch;
 *     threaded; a near-tie timed) equal the dense product, and a model with such a decoder evaluates
 *     as the dense runtime does; a matrix blocked in natural order, or unstructured, is not grouped;
 *   - the thresholded forward equals a hand computation of the equations;
 *   - the straight-through gradient: what the backward returns with tau > 0 is the exact gradient of
 *     the network h~_t = h_t + d_t with the offsets d_t = h~_t - h_t frozen at this forward (checked by
 *     central differences of a double-precision reference of that network).  It is not the gradient
 *     of the thresholded network (which is 0 through every zeroed unit): that is the estimator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/compact.h"
#include "engine/gradcheck.h"
#include "engine/infer.h"
#include "engine/lstm.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "engine/train.h"
#include "tests/helpers.h"

/* registry names as tensor names (sessions/export gives PyTorch ones; the format does not care) */
static TpStatus reg_names(const Model *m, CompactTensor *t, int *n)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        t[i] = (CompactTensor){"", i, 0, p->rows, p->cols, p->kind == PARAM_BIAS ? 1 : 2};
        snprintf(t[i].name, sizeof t[i].name, "%s", p->name);
    }
    *n = m->n_tensors;
    return TP_OK;
}

static void set_w(Model *m, const char *name, int r, int c, float v)
{
    const ModelParam *p = model_param(m, name);
    assert_non_null(p);
    m->w[p->off + (size_t)r * p->cols + c] = v;
    m->mask[p->off + (size_t)r * p->cols + c] = v != 0.0f;
}

/* Prune a fraction of every weight matrix at random (mask and weight 0). */
static void prune_random(Model *m, double frac, Rng *rng)
{
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        if (p->kind != PARAM_WEIGHT) continue;
        for (size_t i = 0; i < p->n; i++)
            if (rng_uniform(rng) < frac) m->w[p->off + i] = 0.0f, m->mask[p->off + i] = 0;
    }
}

static void make_model(Model *m, ModelCell cell, float tau, double prune, uint64_t seed)
{
    ModelConfig c = {.n_vocab = 23, .n_embed = 7, .n_layers = 2, .hidden = {13, 11}, .cell = cell,
                     .gate_hidden = cell == MODEL_CELL_HLSTM ? 5 : 0, .dropout = 0.0f, .init_scale = 0.5f,
                     .state_tau = tau};
    Rng rng;
    rng_seed(&rng, seed);
    assert_int_equal(model_init(m, &c, &rng), TP_OK);
    if (prune > 0) prune_random(m, prune, &rng);
}

static int32_t *random_ids(size_t n, int V, uint64_t seed)
{
    int32_t *ids = malloc(n * sizeof *ids);
    assert_non_null(ids);
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(rng_uniform(&rng) * V) % V;
    return ids;
}

static double eval_dense(Model *m, const int32_t *ids, size_t n, int streams)
{
    EvalResult r;
    assert_int_equal(train_evaluate(m, ids, n, streams, 64, &r), TP_OK);
    return r.loss;
}

static double eval_runtime(const Model *m, const int32_t *ids, size_t n, int streams, const InferOptions *o, InferModel *keep)
{
    InferModel im;
    EvalResult r;
    assert_int_equal(infer_init(&im, m, o), TP_OK);
    assert_int_equal(infer_evaluate(&im, ids, n, streams, &r), TP_OK);
    if (keep) *keep = im;
    else infer_free(&im);
    return r.loss;
}

static void assert_rel(double a, double b, double tol, const char *what)
{
    if (!(fabs(a - b) <= tol * fabs(b))) {
        print_error("%s: %.9g vs %.9g (relative %.3g)\n", what, a, b, fabs(a - b) / fabs(b));
        fail();
    }
}

/* An injected cost: layout k on `isa` (-1: every ISA), one thread (threaded 0) or be->threads. */
static void set_cost(Breakeven *be, SparseKind k, int isa, int threaded, double a, double b)
{
    for (int i = 0; i < SPARSE_N_ISAS; i++)
        if (isa < 0 || i == isa) be->a[0][k][i][threaded] = a, be->b[0][k][i][threaded] = b;
}

/* ---- trimming ---------------------------------------------------------------------------------- */

static void test_trim_removes_unread_units(void **state)
{
    (void)state;
    Model m, t;
    make_model(&m, MODEL_CELL_LSTM, 0.0f, 0.3, 5);
    /* layer 0 unit 3: nobody reads it (its column in l0.w_hh and l1.w_ih) */
    for (int r = 0; r < 4 * 13; r++) set_w(&m, "l0.w_hh", r, 3, 0.0f);
    for (int r = 0; r < 4 * 11; r++) set_w(&m, "l1.w_ih", r, 3, 0.0f);
    /* layer 1 units 2 and 5 read only each other: no path to the decoder */
    for (int v = 0; v < 23; v++) set_w(&m, "decoder.weight", v, 2, 0.0f), set_w(&m, "decoder.weight", v, 5, 0.0f);
    for (int r = 0; r < 4 * 11; r++) {
        int unit = r % 11;
        if (unit != 5) set_w(&m, "l1.w_hh", r, 2, 0.0f);
        if (unit != 2) set_w(&m, "l1.w_hh", r, 5, 0.0f);
    }
    set_w(&m, "l1.w_hh", 5, 2, 0.3f); /* row of unit 5 (gate i) reads unit 2 */
    set_w(&m, "l1.w_hh", 2, 5, -0.4f);
    int *kept[MODEL_MAX_LAYERS] = {0};
    assert_int_equal(infer_trim(&t, &m, kept), TP_OK);
    assert_int_equal(t.cfg.hidden[0], 12);
    assert_int_equal(t.cfg.hidden[1], 9);
    for (int j = 0, k = 0; j < 13; j++)
        if (j != 3) assert_int_equal(kept[0][k++], j);
    for (int j = 0; j < 9; j++) assert_true(kept[1][j] != 2 && kept[1][j] != 5);
    /* the same outputs */
    int32_t *ids = random_ids(400, 23, 9);
    assert_rel(eval_dense(&t, ids, 400, 1), eval_dense(&m, ids, 400, 1), 1e-5, "trimmed vs full");
    /* idempotent */
    Model t2;
    assert_int_equal(infer_trim(&t2, &t, NULL), TP_OK);
    assert_int_equal(t2.cfg.hidden[0], 12);
    assert_int_equal(t2.cfg.hidden[1], 9);
    model_free(&t2);
    /* a layer nobody reads keeps one unit */
    const ModelParam *dec = model_param(&m, "decoder.weight");
    memset(m.w + dec->off, 0, dec->n * sizeof(float));
    assert_int_equal(infer_trim(&t2, &m, NULL), TP_OK);
    assert_int_equal(t2.cfg.hidden[1], 1);
    assert_int_equal(t2.cfg.hidden[0], 1);
    model_free(&t2);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) free(kept[l]);
    free(ids);
    model_free(&t);
    model_free(&m);
}

/* ---- compact file -------------------------------------------------------------------------------- */

/* Bytes of tensor data in a safetensors file (the size minus the 8-byte length and the JSON header). */
static long data_size(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    unsigned char b[8];
    assert_int_equal(fread(b, 1, 8, f), 8);
    fclose(f);
    long h = 0;
    for (int i = 7; i >= 0; i--) h = h * 256 + b[i];
    return (long)sb.st_size - 8 - h;
}

static void test_compact_round_trip(void **state)
{
    (void)state;
    char *dir = th_tempdir("compact");
    char p[4096];
    snprintf(p, sizeof p, "%s/model.compact.safetensors", dir);
    int32_t *ids = random_ids(500, 23, 3);
    for (int cell = 0; cell < 2; cell++) {
        Model m, t, back;
        make_model(&m, (ModelCell)cell, 0.0f, 0.0, 17);
        for (int r = 0; r < 4 * 11; r++) set_w(&m, "decoder.weight", r % 23, 4, 0.0f); /* layer 1 unit 4 unread */
        if (cell == MODEL_CELL_HLSTM)
            for (int r = 0; r < 20; r++) set_w(&m, "l1.fc1.weight", r, 13 + 4, 0.0f);
        else
            for (int r = 0; r < 44; r++) set_w(&m, "l1.w_hh", r, 4, 0.0f);
        long prev = 0, size0 = 0;
        static const double SP[] = {0.0, 0.5, 0.9};
        Rng rng;
        rng_seed(&rng, 77);
        for (int s = 0; s < 3; s++) {
            if (SP[s] > 0) prune_random(&m, SP[s] == 0.5 ? 0.5 : 0.8, &rng); /* cumulative: 0, 50, 90% */
            CompactInfo ci, ri;
            assert_int_equal(compact_write(&m, reg_names, "{\"test\":1}", p, &ci), TP_OK);
            assert_int_equal(compact_read(&back, &m.cfg, reg_names, p, &ri), TP_OK);
            assert_int_equal(infer_trim(&t, &m, NULL), TP_OK);
            for (int l = 0; l < 2; l++) {
                assert_int_equal(back.cfg.hidden[l], t.cfg.hidden[l]);
                assert_int_equal(ri.hidden[l], ci.hidden[l]);
            }
            if (s == 0) assert_int_equal(back.cfg.hidden[1], 10);
            assert_int_equal(ri.stored, ci.stored);
            assert_int_equal(back.n_params, t.n_params);
            assert_memory_equal(back.w, t.w, t.n_params * sizeof(float)); /* bit for bit */
            assert_rel(eval_dense(&back, ids, 500, 1), eval_dense(&m, ids, 500, 1), 1e-5, "compact vs dense");
            long sz = data_size(p);
            if (s == 0) size0 = sz;
            if (s > 0) assert_true(sz < prev); /* shrinks with sparsity */
            if (s == 2) assert_true(ci.n_csr + ci.n_row > 0);
            prev = sz;
            model_free(&t);
            model_free(&back);
        }
        /* at 90% sparsity of the weight matrices the data is under 40% of the unpruned model's: the
         * embedding and biases stay dense, and with under one non-zero per row in matrices this
         * small, row_ptr is a third of it (the measured 5x of a real model is in the report) */
        assert_true((double)prev < 0.4 * (double)size0);
        model_free(&m);
    }
    free(ids);
    th_rmtree(dir);
    free(dir);
}

/* A compact file with one thing wrong, rewritten from a good one. */
static TpStatus read_damaged(const Model *m, const char *p, const char *victim, int what)
{
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    SafetensorsWriter *w = safetensors_writer_new();
    for (int i = 0; i < f.n; i++) {
        const SafetensorsTensor *x = &f.t[i];
        if (what == 0 && !strcmp(x->name, victim)) continue; /* missing */
        void *data = malloc(x->nbytes ? x->nbytes : 1);
        memcpy(data, x->data, x->nbytes);
        if (what == 1 && !strcmp(x->name, victim)) ((int16_t *)data)[0] = 9999;             /* index out of range */
        if (what == 2 && !strcmp(x->name, victim)) ((int32_t *)data)[1] = -1;               /* row_ptr decreasing */
        assert_int_equal(safetensors_writer_add(w, x->name, x->dtype, x->ndim, x->shape, data), TP_OK);
        free(data);
    }
    if (what == 3) assert_int_equal(safetensors_writer_add(w, "extra", SAFETENSORS_F32, 1, (int64_t[]){1}, (float[]){1}), TP_OK);
    for (int k = 0; k < f.n_meta; k++) safetensors_writer_meta(w, f.meta_keys[k], f.meta_vals[k]);
    char q[4200];
    snprintf(q, sizeof q, "%s.bad", p);
    assert_int_equal(safetensors_writer_save(w, q), TP_OK);
    safetensors_writer_delete(w);
    safetensors_free(&f);
    Model back;
    TpStatus st = compact_read(&back, &m->cfg, reg_names, q, NULL);
    if (st == TP_OK) model_free(&back);
    return st;
}

static void test_compact_refuses_damage(void **state)
{
    (void)state;
    char *dir = th_tempdir("compact-bad");
    char p[4096];
    snprintf(p, sizeof p, "%s/model.compact.safetensors", dir);
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 0.0f, 0.9, 4);
    CompactInfo ci;
    assert_int_equal(compact_write(&m, reg_names, NULL, p, &ci), TP_OK);
    assert_true(ci.n_csr > 0);
    /* find a CSR matrix */
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    char base[64] = "";
    for (int i = 0; i < f.n && !base[0]; i++) {
        const char *d = strstr(f.t[i].name, ".row_ptr");
        if (d) snprintf(base, sizeof base, "%.*s", (int)(d - f.t[i].name), f.t[i].name);
    }
    safetensors_free(&f);
    assert_true(base[0] != '\0');
    char v[96];
    snprintf(v, sizeof v, "%s.values", base);
    assert_int_equal(read_damaged(&m, p, v, 0), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), v));
    snprintf(v, sizeof v, "%s.col_idx", base);
    assert_int_equal(read_damaged(&m, p, v, 1), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "column index"));
    snprintf(v, sizeof v, "%s.row_ptr", base);
    assert_int_equal(read_damaged(&m, p, v, 2), TP_EFORMAT);
    assert_int_equal(read_damaged(&m, p, "", 3), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "extra"));
    Model back;
    snprintf(v, sizeof v, "%s/none.safetensors", dir);
    assert_int_equal(compact_read(&back, &m.cfg, reg_names, v, NULL), TP_ENOENT);
    model_free(&m);
    th_rmtree(dir);
    free(dir);
}

/* ---- runtime equals the session's evaluation ------------------------------------------------------ */

static void test_runtime_equals_train_evaluate(void **state)
{
    (void)state;
    int32_t *ids = random_ids(700, 23, 21);
    for (int cell = 0; cell < 2; cell++)
        for (int tau_on = 0; tau_on < 2; tau_on++) {
            Model m;
            make_model(&m, (ModelCell)cell, tau_on ? 0.08f : 0.0f, 0.6, 31 + cell);
            for (int streams = 1; streams <= 3; streams += 2) {
                double ref = eval_dense(&m, ids, 700, streams);
                char what[96];
                for (int k = -1; k < SPARSE_N_KINDS; k++) {
                    InferOptions o;
                    infer_options_defaults(&o);
                    o.force = k;
                    snprintf(what, sizeof what, "cell %d tau %d streams %d kernel %s", cell, tau_on, streams,
                             k < 0 ? "auto" : sparse_kind_name((SparseKind)k));
                    assert_rel(eval_runtime(&m, ids, 700, streams, &o, NULL), ref, 1e-5, what);
                    o.trim = 0;
                    assert_rel(eval_runtime(&m, ids, 700, streams, &o, NULL), ref, 1e-5, what);
                }
                if (tau_on) {
                    /* a cost model under which the sparse-state copy always wins: every recurrent
                     * product goes through it, and the state sparsity equals the session's */
                    Breakeven be;
                    breakeven_default(&be);
                    set_cost(&be, SPARSE_STATE, -1, 0, 0.0, 1e-4);
                    set_cost(&be, SPARSE_STATE_CSC, -1, 0, 0.0, 1e-4);
                    set_cost(&be, SPARSE_CSR, -1, 0, 0.5, 0.5); /* so W_hh is csr, state copy csc */
                    InferOptions o;
                    infer_options_defaults(&o);
                    o.cost = &be;
                    InferModel im;
                    assert_rel(eval_runtime(&m, ids, 700, streams, &o, &im), ref, 1e-5, "per-step state kernel");
                    assert_true(infer_state_kernel_share(&im) == 1.0);
                    double sp = infer_state_sparsity(&im);
                    assert_true(sp > 0.05 && sp < 0.95);
                    infer_free(&im);
                }
            }
            model_free(&m);
        }
    free(ids);
}

/* The kernel choice by measurement, from an injected cost table: a vector path measured slow (the
 * gathers of AMD Zen 4/5) is not picked, a faster threaded variant is, and runs on the runtime's
 * pool with the same result as one thread; the kernel names show layout/ISA[/threads]. */
static void test_kernel_choice_by_measurement(void **state)
{
    (void)state;
    int32_t *ids = random_ids(400, 23, 5);
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 0.0f, 0.9, 77);
    double ref = eval_dense(&m, ids, 400, 1);
    Breakeven be;
    breakeven_default(&be);
    for (int k = 1; k < SPARSE_N_KINDS; k++) set_cost(&be, (SparseKind)k, -1, 0, 2.0, 0.0); /* all slow ... */
    set_cost(&be, SPARSE_SELL, SPARSE_ISA_SCALAR, 0, 0.01, 0.5);                             /* but scalar sell */
    set_cost(&be, SPARSE_CSR, SPARSE_ISA_SCALAR, 0, 0.02, 0.5);
    set_cost(&be, SPARSE_SELL, SPARSE_ISA_AVX512, 0, 0.9, 5.0); /* the gathers: slower than scalar */
    set_cost(&be, SPARSE_SELL, SPARSE_ISA_AVX2, 0, 0.9, 5.0);
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferModel im;
    double one = eval_runtime(&m, ids, 400, 1, &o, &im);
    assert_rel(one, ref, 1e-5, "scalar sell");
    int sparse = 0;
    for (int i = 0; i < im.n_mat; i++) {
        const InferMatrix *x = &im.mat[i];
        if (x->w.kind == SPARSE_DENSE) continue;
        sparse++;
        assert_int_equal(x->w.kind, SPARSE_SELL);
        assert_int_equal(x->w.isa, SPARSE_ISA_SCALAR);
        assert_int_equal(x->kernel.threads, 1);
    }
    assert_true(sparse >= 4);
    assert_null(im.k.pool);
    char sum[256];
    infer_summary(&im, sum, sizeof sum);
    assert_non_null(strstr(sum, "sell/scalar "));
    infer_free(&im);
    /* a threaded variant measured faster: taken, on the runtime's pool, with the same result */
    be.threads = 2;
    set_cost(&be, SPARSE_SELL, SPARSE_ISA_SCALAR, 1, 0.005, 0.2);
    assert_true(eval_runtime(&m, ids, 400, 1, &o, &im) == one);
    assert_non_null(im.k.pool);
    assert_int_equal(im.mat[1].kernel.threads, 2);
    assert_int_equal(im.mat[1].w.n_parts, 2);
    infer_summary(&im, sum, sizeof sum);
    assert_non_null(strstr(sum, "sell/scalar/2t "));
    infer_free(&im);
    o.threads = 1; /* limited to one thread: the threaded variant is not taken */
    assert_true(eval_runtime(&m, ids, 400, 1, &o, &im) == one);
    assert_null(im.k.pool);
    infer_free(&im);
    model_free(&m);
    free(ids);
}

/* A measured cost model that ranks layouts within `tie` of each other: they are timed on the matrix
 * itself, one of them is kept (whichever the clock says), the product still equals the dense one; with
 * tie = 0, or a model that was not measured, the prediction alone decides (nothing timed). */
static void test_near_tie_timed(void **state)
{
    (void)state;
    enum { R = 256, C = 128 };
    float *w = calloc((size_t)R * C, sizeof(float)), x[C], y0[R], y1[R];
    Rng rng;
    rng_seed(&rng, 31);
    for (int i = 0; i < R * C; i++)
        if (rng_uniform(&rng) < 0.1f) w[i] = rng_range(&rng, -1.0f, 1.0f);
    for (int j = 0; j < C; j++) x[j] = rng_range(&rng, -1.0f, 1.0f);
    for (int r = 0; r < R; r++) {
        double a = 0;
        for (int j = 0; j < C; j++) a += (double)w[r * C + j] * x[j];
        y0[r] = (float)a;
    }
    Breakeven be;
    breakeven_default(&be); /* csr = sell (0.05 + 3 d): a tie; the blocks far behind at 10 % */
    be.measured = 1;
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferKernels k;
    InferMatrix m;
    infer_kernels_init(&k, &o, 0.0f);
    assert_int_equal(infer_matrix_init(&k, &m, "w", w, R, C, C, &o, 0), TP_OK);
    assert_true(m.timed >= 2);
    assert_true(m.w.kind == SPARSE_CSR || m.w.kind == SPARSE_SELL || m.w.kind == SPARSE_ROW);
    sparse_pool_gemv(k.pool, &m.w, y1, x, 0);
    for (int r = 0; r < R; r++) assert_true(fabsf(y1[r] - y0[r]) <= 1e-4f * (1.0f + fabsf(y0[r])));
    char sum[256];
    infer_matrices_summary(&m, 1, NULL, NULL, 0, sum, sizeof sum);
    assert_non_null(strstr(sum, "1 near-tie(s) timed"));
    infer_matrix_free(&m);
    /* tie = 0: the first of the tied in the candidates' order (csr), nothing timed */
    o.tie = 0.0;
    assert_int_equal(infer_matrix_init(&k, &m, "w", w, R, C, C, &o, 0), TP_OK);
    assert_int_equal(m.timed, 0);
    assert_int_equal(m.w.kind, SPARSE_CSR);
    infer_matrix_free(&m);
    /* a model not measured (the built-in default): predictions only */
    o.tie = 0.15;
    be.measured = 0;
    infer_kernels_free(&k);
    infer_kernels_init(&k, &o, 0.0f);
    assert_int_equal(infer_matrix_init(&k, &m, "w", w, R, C, C, &o, 0), TP_OK);
    assert_int_equal(m.timed, 0);
    infer_matrix_free(&m);
    infer_kernels_free(&k);
    free(w);
}

/* ---- grouped rows ---------------------------------------------------------------------------------- */

/* W [R, C] (R a multiple of 16) pruned in 16x1 blocks over a row order: rows ord[16g .. 16g+15] share
 * one support, each column live with probability p (at least one), drawn from n_pat patterns (0: each
 * group its own); ord is a random permutation (shuffle) or the natural order.  Values U(-1, 1), never 0. */
static void blocked_rows(float *w, int R, int C, double p, int shuffle, int n_pat, Rng *rng)
{
    int *ord = malloc((size_t)R * sizeof(int));
    uint8_t *pat = calloc((size_t)(R / 16) * C, 1);
    assert_true(ord && pat);
    for (int r = 0; r < R; r++) ord[r] = r;
    for (int r = R - 1; r > 0 && shuffle; r--) {
        int j = (int)rng_below(rng, (uint32_t)r + 1), t = ord[r];
        ord[r] = ord[j], ord[j] = t;
    }
    const int n_sup = n_pat > 0 ? n_pat : R / 16;
    for (int g = 0; g < n_sup; g++) {
        uint8_t *sp = pat + (size_t)g * C;
        for (int c = 0; c < C; c++) sp[c] = rng_uniform(rng) < p;
        sp[rng_below(rng, (uint32_t)C)] = 1;
    }
    memset(w, 0, (size_t)R * C * sizeof(float));
    for (int g = 0; g < R / 16; g++) {
        const uint8_t *sp = pat + (size_t)(n_pat > 0 ? (int)rng_below(rng, (uint32_t)n_pat) : g) * C;
        for (int i = 0; i < 16; i++)
            for (int c = 0; c < C; c++)
                if (sp[c]) {
                    float v = rng_range(rng, -1.0f, 1.0f);
                    w[(size_t)ord[16 * g + i] * C + c] = v != 0.0f ? v : 0.5f;
                }
    }
    free(ord);
    free(pat);
}

/* Y [B, R] = X [B, C] W^T in double */
static void dense_products(float *Y, const float *w, const float *X, int R, int C, int B)
{
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            double a = 0;
            for (int j = 0; j < C; j++) a += (double)w[(size_t)r * C + j] * X[(size_t)b * C + j];
            Y[(size_t)b * R + r] = (float)a;
        }
}

static void assert_close(const float *y, const float *ref, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!(fabsf(y[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])))) {
            print_error("%s: entry %d: %.9g vs %.9g\n", what, i, (double)y[i], (double)ref[i]);
            fail();
        }
}

/* A cost model under which the choice is between block layouts: the built-in default with the row
 * layouts (csr, sell, row) slow.  At C = 40 the default would keep csr (0.05 + 3 d = 0.35 at 10 %)
 * over the grouped blocks (0.05 + 1.2 d + a scatter of 8 / C = 0.37). */
static void blocks_cost(Breakeven *be)
{
    breakeven_default(be);
    set_cost(be, SPARSE_CSR, -1, 0, 0.05, 6.0);
    set_cost(be, SPARSE_SELL, -1, 0, 0.05, 6.0);
    set_cost(be, SPARSE_ROW, -1, 0, 0.05, 6.0);
}

/* Every product of x (one vector, acc 0 and 1; a batch of 20 > INFER_GROUP_BATCH, acc 0 and 1) equals
 * the dense one; y0 [R] receives the first vector's product (acc 0). */
static void check_products(InferKernels *k, InferMatrix *x, const float *w, int R, int C, float *y0, const char *what)
{
    enum { B = 20 };
    float *X = malloc((size_t)B * C * sizeof(float)), *ref = malloc((size_t)B * R * sizeof(float));
    float *Y = malloc((size_t)B * R * sizeof(float)), *base = malloc((size_t)B * R * sizeof(float));
    assert_true(X && ref && Y && base);
    Rng rng;
    rng_seed(&rng, 99);
    for (int i = 0; i < B * C; i++) X[i] = rng_range(&rng, -1.0f, 1.0f);
    for (int i = 0; i < B * R; i++) base[i] = rng_range(&rng, -1.0f, 1.0f);
    dense_products(ref, w, X, R, C, B);
    char msg[96];
    snprintf(msg, sizeof msg, "%s gemv", what);
    infer_matrix_gemv(k, x, Y, X, 0);
    assert_close(Y, ref, R, msg);
    memcpy(y0, Y, (size_t)R * sizeof(float));
    memcpy(Y, base, (size_t)R * sizeof(float));
    infer_matrix_gemv(k, x, Y, X, 1);
    for (int i = 0; i < R; i++) Y[i] -= base[i];
    snprintf(msg, sizeof msg, "%s gemv acc", what);
    assert_close(Y, ref, R, msg);
    infer_matrix_gemm(k, x, Y, X, B, 0);
    snprintf(msg, sizeof msg, "%s gemm", what);
    assert_close(Y, ref, B * R, msg);
    memcpy(Y, base, (size_t)B * R * sizeof(float));
    infer_matrix_gemm(k, x, Y, X, B, 1);
    for (int i = 0; i < B * R; i++) Y[i] -= base[i];
    snprintf(msg, sizeof msg, "%s gemm acc", what);
    assert_close(Y, ref, B * R, msg);
    free(X);
    free(ref);
    free(Y);
    free(base);
}

/* A [320, 40] matrix pruned in 16x1 blocks over a random row order (about 10 % of the block columns
 * live): in natural order bsr16x1 would store most of it as zeros; the runtime groups the rows by
 * support and takes "bsr16x1g" (a tie with bsr8x1g, same fill: the first candidate), whose products
 * equal the dense ones; threaded, the same bits as one thread; timed as a near-tie (a measured model)
 * with its scatter, still the dense product. */
static void test_grouped_rows_blocked_over_any_order(void **state)
{
    (void)state;
    enum { R = 320, C = 40 };
    float *w = malloc((size_t)R * C * sizeof(float)), y1[R], y2[R];
    Rng rng;
    rng_seed(&rng, 2024);
    blocked_rows(w, R, C, 0.1, 1, 0, &rng);
    assert_true(sparse_bsr_fill(w, R, C, C, SPARSE_BSR16X1) > 0.5); /* natural order: mostly zeros */
    Breakeven be;
    blocks_cost(&be);
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferKernels k;
    InferMatrix m;
    infer_kernels_init(&k, &o, 0.0f);
    assert_int_equal(infer_matrix_init(&k, &m, "decoder.weight", w, R, C, C, &o, 0), TP_OK);
    assert_int_equal(m.w.kind, SPARSE_BSR16X1);
    assert_true(m.kernel.grouped);
    assert_non_null(m.perm);
    assert_true((double)m.w.nnz <= 0.25 * R * C); /* the blocks of W', no padding to speak of */
    int seen[R] = {0};                             /* perm is a permutation */
    for (int i = 0; i < R; i++) assert_true(m.perm[i] >= 0 && m.perm[i] < R && !seen[m.perm[i]]++);
    check_products(&k, &m, w, R, C, y1, "bsr16x1g");
    char name[64], desc[1024];
    infer_kernel_name(&m, name, sizeof name);
    assert_true(!strncmp(name, "bsr16x1g/", 9));
    infer_matrices_summary(&m, 1, NULL, NULL, 0, desc, sizeof desc);
    assert_non_null(strstr(desc, "bsr16x1g/"));
    infer_matrices_describe(&m, 1, NULL, NULL, 0, 0, desc, sizeof desc);
    assert_non_null(strstr(desc, "bsr16x1g/"));
    assert_non_null(strstr(desc, "rows grouped by support"));
    infer_matrix_free(&m);
    infer_kernels_free(&k);

    /* a threaded variant measured faster: on the pool, scattered once, the same bits */
    be.threads = 2;
    set_cost(&be, SPARSE_BSR16X1, -1, 1, 0.01, 0.5);
    infer_kernels_init(&k, &o, 0.0f);
    assert_int_equal(infer_matrix_init(&k, &m, "decoder.weight", w, R, C, C, &o, 0), TP_OK);
    assert_true(m.kernel.grouped && m.kernel.threads == 2 && m.w.n_parts == 2);
    assert_non_null(k.pool);
    check_products(&k, &m, w, R, C, y2, "bsr16x1g/2t");
    assert_memory_equal(y1, y2, sizeof y1);
    infer_kernel_name(&m, name, sizeof name);
    assert_true(!strncmp(name, "bsr16x1g/", 9));
    assert_non_null(strstr(name, "/2t"));
    infer_matrix_free(&m);
    infer_kernels_free(&k);

    /* measured: bsr16x1g and bsr8x1g tie and are timed on the matrix (with their scatter) */
    blocks_cost(&be);
    be.measured = 1;
    infer_kernels_init(&k, &o, 0.0f);
    assert_int_equal(infer_matrix_init(&k, &m, "decoder.weight", w, R, C, C, &o, 0), TP_OK);
    assert_true(m.timed >= 2);
    assert_true(m.kernel.grouped && (m.w.kind == SPARSE_BSR16X1 || m.w.kind == SPARSE_BSR8X1));
    check_products(&k, &m, w, R, C, y2, "timed");
    infer_matrix_free(&m);
    infer_kernels_free(&k);
    free(w);
}

/* No grouped variant where it is pointless: blocked in natural order (each group its own support, or
 * groups sharing a few supports, so that sorting moves rows but fills the same), or unstructured. */
static void test_grouped_rows_only_when_they_help(void **state)
{
    (void)state;
    enum { R = 320, C = 40 };
    float *w = malloc((size_t)R * C * sizeof(float)), y[R];
    Rng rng;
    rng_seed(&rng, 7);
    Breakeven be;
    blocks_cost(&be);
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferKernels k;
    InferMatrix m;
    infer_kernels_init(&k, &o, 0.0f);
    for (int n_pat = 0; n_pat <= 3; n_pat += 3) {
        blocked_rows(w, R, C, 0.1, 0, n_pat, &rng);
        assert_true(sparse_bsr_fill(w, R, C, C, SPARSE_BSR16X1) < 0.25);
        assert_int_equal(infer_matrix_init(&k, &m, "natural", w, R, C, C, &o, 0), TP_OK);
        assert_int_equal(m.w.kind, SPARSE_BSR16X1);
        assert_false(m.kernel.grouped);
        assert_null(m.perm);
        check_products(&k, &m, w, R, C, y, "natural blocks");
        infer_matrix_free(&m);
    }
    /* unstructured: 10 % of the entries at random */
    for (int i = 0; i < R * C; i++) w[i] = rng_uniform(&rng) < 0.1f ? rng_range(&rng, 0.1f, 1.0f) : 0.0f;
    for (int cost = 0; cost < 2; cost++) { /* the default model, and one where only blocks are fast */
        breakeven_default(&be);
        if (cost) set_cost(&be, SPARSE_BSR16X1, -1, 0, 0.01, 0.1), set_cost(&be, SPARSE_BSR8X1, -1, 0, 0.01, 0.1);
        infer_kernels_free(&k);
        infer_kernels_init(&k, &o, 0.0f); /* k keeps a copy of the cost model */
        assert_int_equal(infer_matrix_init(&k, &m, "random", w, R, C, C, &o, 0), TP_OK);
        assert_false(m.kernel.grouped);
        assert_null(m.perm);
        if (cost) assert_true(m.w.kind == SPARSE_BSR16X1 || m.w.kind == SPARSE_BSR8X1);
        check_products(&k, &m, w, R, C, y, "unstructured");
        infer_matrix_free(&m);
    }
    infer_kernels_free(&k);
    free(w);
}

/* A model whose decoder [96, 20] is pruned in 16x1 blocks over a random word order: the runtime groups
 * its rows, and infer_evaluate (the decoder in batches of up to 64 steps) and infer_step (one vector)
 * give what the dense runtime gives, to the printed digits of the perplexity. */
static void test_grouped_decoder_evaluates_as_dense(void **state)
{
    (void)state;
    ModelConfig c = {.n_vocab = 96, .n_embed = 8, .n_layers = 2, .hidden = {12, 20}, .cell = MODEL_CELL_LSTM,
                     .dropout = 0.0f, .init_scale = 0.5f};
    Model m;
    Rng rng;
    rng_seed(&rng, 11);
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    const ModelParam *p = model_param(&m, "decoder.weight");
    assert_non_null(p);
    assert_true(p->rows == 96 && p->cols == 20);
    float *dw = malloc((size_t)96 * 20 * sizeof(float));
    assert_non_null(dw);
    blocked_rows(dw, 96, 20, 0.15, 1, 0, &rng);
    for (int i = 0; i < 96 * 20; i++) {
        m.w[p->off + i] = dw[i] * 0.5f;
        m.mask[p->off + i] = dw[i] != 0.0f;
    }
    free(dw);
    int32_t *ids = random_ids(700, 96, 3);
    Breakeven be;
    blocks_cost(&be);
    for (int streams = 1; streams <= 3; streams += 2) {
        InferOptions o, od;
        infer_options_defaults(&o);
        o.cost = &be;
        infer_options_defaults(&od);
        od.force = SPARSE_DENSE;
        /* built here, not by eval_runtime: a copied InferModel's matrix pointers are the copy's source's */
        InferModel im, idn;
        EvalResult rg, rd;
        assert_int_equal(infer_init(&im, &m, &o), TP_OK);
        assert_int_equal(infer_init(&idn, &m, &od), TP_OK);
        assert_true(im.dec->kernel.grouped);
        assert_non_null(im.dec->perm);
        assert_false(idn.dec->kernel.grouped);
        assert_int_equal(infer_evaluate(&im, ids, 700, streams, &rg), TP_OK);
        assert_int_equal(infer_evaluate(&idn, ids, 700, streams, &rd), TP_OK);
        char a[32], b[32], sum[512];
        snprintf(a, sizeof a, "%.4f", rg.ppl);
        snprintf(b, sizeof b, "%.4f", rd.ppl);
        assert_string_equal(a, b);
        assert_rel(rg.loss, rd.loss, 1e-5, "grouped decoder vs dense runtime");
        assert_rel(rg.loss, eval_dense(&m, ids, 700, streams), 1e-5, "grouped decoder vs train_evaluate");
        infer_summary(&im, sum, sizeof sum);
        assert_true(strstr(sum, "bsr16x1g/") || strstr(sum, "bsr8x1g/"));
        /* step by step: the logits of every step */
        infer_reset(&im);
        infer_reset(&idn);
        for (int t = 0; t < 50; t++) {
            float l1[96];
            memcpy(l1, infer_step(&im, ids[t]), sizeof l1);
            assert_close(l1, infer_step(&idn, ids[t]), 96, "step logits");
        }
        infer_free(&im);
        infer_free(&idn);
    }
    free(ids);
    model_free(&m);
}

/* ---- thresholding --------------------------------------------------------------------------------- */

static double sg(double a) { return 1.0 / (1.0 + exp(-a)); }

static void test_threshold_forward_by_hand(void **state)
{
    (void)state;
    enum { I = 1, H = 2, G = 8 };
    /* rows: i0 i1 f0 f1 g0 g1 o0 o1; unit 1's output gate is nearly shut, so |h_1| < tau */
    float w_ih[G] = {0.5f, -0.3f, 0.2f, 0.1f, 0.9f, 0.7f, 0.4f, 0.2f};
    float w_hh[G * H] = {0.1f, 0.8f, -0.2f, 0.6f, 0.3f, 0.5f, 0.1f, -0.4f,
                         0.7f, 0.9f, -0.5f, 0.3f, 0.2f, -0.6f, 0.4f, 0.2f};
    float b_ih[G] = {0, 0, 1, 1, 0, 0, 0, -6.0f}, b_hh[G] = {0};
    float x[2] = {1.0f, -0.5f};
    const double tau = 0.05;
    LstmWeights w = {I, H, w_ih, w_hh, b_ih, b_hh};
    LstmCache c;
    assert_int_equal(lstm_cache_init(&c, I, H, 2, 1), TP_OK);
    c.tau = (float)tau;
    lstm_forward(&c, &w, x, 2, 1);
    /* by hand: step 1 from h = c = 0 */
    double h[H] = {0, 0}, cs[H] = {0, 0}, ht[2][H];
    for (int t = 0; t < 2; t++) {
        double a[G];
        for (int r = 0; r < G; r++) a[r] = w_ih[r] * x[t] + b_ih[r] + b_hh[r] + w_hh[2 * r] * h[0] + w_hh[2 * r + 1] * h[1];
        for (int j = 0; j < H; j++) {
            cs[j] = sg(a[2 + j]) * cs[j] + sg(a[j]) * tanh(a[4 + j]);
            double hv = sg(a[6 + j]) * tanh(cs[j]);
            ht[t][j] = fabs(hv) > tau ? hv : 0.0; /* h~ = h 1(|h| > tau) */
        }
        h[0] = ht[t][0], h[1] = ht[t][1];
    }
    assert_true(ht[0][1] == 0.0 && fabs(ht[0][0]) > tau); /* the case this test is about */
    const float *out = lstm_cache_out(&c, 1);
    for (int t = 0; t < 2; t++)
        for (int j = 0; j < H; j++) assert_true(fabs(out[t * H + j] - ht[t][j]) < 1e-6);
    assert_int_equal(c.n_zero, 1 + (ht[1][0] == 0.0) + (ht[1][1] == 0.0));
    /* and it mattered: without the threshold step 2 differs */
    c.tau = 0.0f;
    lstm_forward(&c, &w, x, 2, 1);
    assert_true(fabs(lstm_cache_out(&c, 1)[H] - ht[1][0]) > 1e-6);
    lstm_cache_free(&c);
}

/* The straight-through gradient (see the file comment). */
enum { SI = 3, SH = 4, SG = 16, ST = 5, SB = 2, SN = ST * SB * SH };

typedef struct {
    float w_ih[SG * SI], w_hh[SG * SH], b_ih[SG], b_hh[SG];
    float x[ST * SB * SI], r[SN];
    double d[SN];    /* frozen offsets h~ - h */
    double hraw[SN]; /* h before the threshold (record mode) */
    double tau;
    int record;      /* 1: threshold, record d and h; 0: add the frozen d instead */
} StFix;

/* loss = sum r . h~ of a double-precision reference of one LSTM layer, h0 = c0 = 0 */
static double st_loss(void *ctx)
{
    StFix *f = ctx;
    double h[SB * SH] = {0}, c[SB * SH] = {0}, loss = 0.0;
    for (int t = 0; t < ST; t++) {
        double hn[SB * SH];
        for (int b = 0; b < SB; b++) {
            double a[SG];
            for (int r = 0; r < SG; r++) {
                a[r] = (double)f->b_ih[r] + f->b_hh[r];
                for (int i = 0; i < SI; i++) a[r] += (double)f->w_ih[r * SI + i] * f->x[(t * SB + b) * SI + i];
                for (int j = 0; j < SH; j++) a[r] += (double)f->w_hh[r * SH + j] * h[b * SH + j];
            }
            for (int j = 0; j < SH; j++) {
                int k = b * SH + j, q = (t * SB + b) * SH + j;
                c[k] = sg(a[SH + j]) * c[k] + sg(a[j]) * tanh(a[2 * SH + j]);
                double hv = sg(a[3 * SH + j]) * tanh(c[k]);
                if (f->record) {
                    f->hraw[q] = hv;
                    f->d[q] = (fabs(hv) > f->tau ? hv : 0.0) - hv;
                }
                hn[k] = hv + f->d[q];
                loss += f->r[q] * hn[k];
            }
        }
        memcpy(h, hn, sizeof h);
    }
    return loss;
}

static void test_straight_through_gradient(void **state)
{
    (void)state;
    StFix f;
    memset(&f, 0, sizeof f);
    Rng rng;
    rng_seed(&rng, 99);
    th_fill_uniform(f.w_ih, SG * SI, -0.8f, 0.8f, &rng);
    th_fill_uniform(f.w_hh, SG * SH, -0.8f, 0.8f, &rng);
    th_fill_uniform(f.b_ih, SG, -0.3f, 0.3f, &rng);
    th_fill_uniform(f.x, ST * SB * SI, -1.0f, 1.0f, &rng);
    th_fill_uniform(f.r, SN, -1.0f, 1.0f, &rng);
    /* tau: the candidate whose nearest |h| is farthest from it (float and double then agree on every
     * decision), among those zeroing between 6 and SN - 6 entries */
    double best_gap = 0.0, best_tau = 0.0;
    f.record = 1;
    for (int trial = 1; trial <= 60; trial++) {
        f.tau = 0.005 * trial;
        st_loss(&f);
        double gap = 1.0;
        int zeros = 0;
        for (int q = 0; q < SN; q++) {
            gap = fmin(gap, fabs(fabs(f.hraw[q]) - f.tau));
            zeros += fabs(f.hraw[q]) <= f.tau;
        }
        if (zeros >= 6 && zeros <= SN - 6 && gap > best_gap) best_gap = gap, best_tau = f.tau;
    }
    assert_true(best_gap > 1e-4);
    f.tau = best_tau;
    st_loss(&f); /* the offsets d of this forward, frozen from here on */
    f.record = 0;
    /* engine: forward with tau (the same entries zeroed), backward of loss = sum r h~ */
    LstmWeights w = {SI, SH, f.w_ih, f.w_hh, f.b_ih, f.b_hh};
    LstmCache c;
    assert_int_equal(lstm_cache_init(&c, SI, SH, ST, SB), TP_OK);
    c.tau = (float)f.tau;
    lstm_forward(&c, &w, f.x, ST, SB);
    int zeros = 0;
    for (int q = 0; q < SN; q++) {
        double hd = lstm_cache_out(&c, SB)[q];
        assert_true((hd == 0.0) == (fabs(f.hraw[q]) <= f.tau));
        assert_true(fabs(hd - (f.hraw[q] + f.d[q])) < 1e-5);
        zeros += hd == 0.0;
    }
    assert_int_equal(c.n_zero, zeros);
    float dh[SN], gw_ih[SG * SI] = {0}, gw_hh[SG * SH] = {0}, gb_ih[SG] = {0}, gb_hh[SG] = {0};
    memcpy(dh, f.r, sizeof dh);
    LstmWeights dw = {SI, SH, gw_ih, gw_hh, gb_ih, gb_hh};
    lstm_backward(&c, &dw, NULL, &w, f.x, dh, ST, SB);
    /* central differences of the offset network, d frozen */
    GradcheckResult gr;
    TpStatus st = gradcheck_run(f.w_hh, gw_hh, SG * SH, 1, 1e-3f, 1e-5, 2e-3, st_loss, &f, &gr);
    if (st != TP_OK) fail_msg("w_hh: %s", err_msg());
    st = gradcheck_run(f.w_ih, gw_ih, SG * SI, 1, 1e-3f, 1e-5, 2e-3, st_loss, &f, &gr);
    if (st != TP_OK) fail_msg("w_ih: %s", err_msg());
    st = gradcheck_run(f.b_ih, gb_ih, SG, 1, 1e-3f, 1e-5, 2e-3, st_loss, &f, &gr);
    if (st != TP_OK) fail_msg("b_ih: %s", err_msg());
    /* and it is not the gradient of the thresholded network itself: re-thresholding while perturbing
     * makes some w_hh entries' numeric gradient differ (the zeroed units pass nothing back) */
    f.record = 1;
    GradcheckResult gt;
    st = gradcheck_run(f.w_hh, gw_hh, SG * SH, 1, 1e-4f, 1e-5, 2e-3, st_loss, &f, &gt);
    assert_int_equal(st, TP_ERANGE);
    err_clear();
    lstm_cache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_removes_unread_units),
        cmocka_unit_test(test_compact_round_trip),
        cmocka_unit_test(test_compact_refuses_damage),
        cmocka_unit_test(test_runtime_equals_train_evaluate),
        cmocka_unit_test(test_kernel_choice_by_measurement),
        cmocka_unit_test(test_near_tie_timed),
        cmocka_unit_test(test_grouped_rows_blocked_over_any_order),
        cmocka_unit_test(test_grouped_rows_only_when_they_help),
        cmocka_unit_test(test_grouped_decoder_evaluates_as_dense),
        cmocka_unit_test(test_threshold_forward_by_hand),
        cmocka_unit_test(test_straight_through_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
