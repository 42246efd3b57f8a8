/* tests/test_backend_ops: the CPU table of operations (engine/backend_ops.h) against plain reference
 * loops written here (double sums, libm), at odd sizes: BLAS, the fused LSTM cell forward and
 * backward (the backward against finite differences of the forward), softmax + cross-entropy,
 * embedding rows, the counter-based dropout (same masks for the same seed and counter, the rate),
 * the masked optimizer updates against engine/optim, the sparse products against the dense one,
 * and the choice of a table by name (here, where no GPU is usable, auto picks the CPU and says why). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend_ops.h"
#include "engine/optim.h"
#include "engine/rng.h"
#include "tests/helpers.h"

static const BackendOps *cpu;

static float *rnd(size_t n, float lo, float hi, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    Rng r;
    rng_seed(&r, seed);
    th_fill_uniform(x, n, lo, hi, &r);
    return x;
}

static void test_sgemm_sgemv_match_loops(void **state)
{
    (void)state;
    const int M = 7, N = 13, K = 5;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *A = rnd((size_t)M * K, -1, 1, 1), *B = rnd((size_t)K * N, -1, 1, 2), *C = rnd((size_t)M * N, -1, 1, 3);
            float *C0 = malloc((size_t)M * N * sizeof *C0);
            memcpy(C0, C, (size_t)M * N * sizeof *C);
            int lda = ta ? M : K, ldb = tb ? K : N;
            assert_int_equal(cpu->sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, N), TP_OK);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
                    assert_true(fabs(C[i * N + j] - (0.5 * s + 0.25 * C0[i * N + j])) < 1e-5);
                }
            free(A);
            free(B);
            free(C);
            free(C0);
        }
    float *A = rnd(7 * 13, -1, 1, 4), *x = rnd(13, -1, 1, 5), y[13] = {0};
    assert_int_equal(cpu->sgemv(0, 7, 13, 1.0f, A, 13, x, 0.0f, y), TP_OK);
    for (int i = 0; i < 7; i++) {
        double s = 0;
        for (int j = 0; j < 13; j++) s += (double)A[i * 13 + j] * x[j];
        assert_true(fabs(y[i] - s) < 1e-5);
    }
    assert_int_equal(cpu->sgemv(1, 7, 13, 1.0f, A, 13, x, 0.0f, y), TP_OK); /* y[13] = A^T x[7] */
    for (int j = 0; j < 13; j++) {
        double s = 0;
        for (int i = 0; i < 7; i++) s += (double)A[i * 13 + j] * x[i];
        assert_true(fabs(y[j] - s) < 1e-5);
    }
    free(A);
    free(x);
}

static double sg(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_lstm_cell_forward_and_backward(void **state)
{
    (void)state;
    const int B = 3, H = 5, G = 20;
    float *a = rnd((size_t)B * G, -2, 2, 7), *a0 = malloc((size_t)B * G * sizeof(float));
    memcpy(a0, a, (size_t)B * G * sizeof(float));
    float *cp = rnd((size_t)B * H, -1, 1, 8), c[15], h[15], tc[15];
    assert_int_equal(cpu->lstm_cell_fwd(a, c, h, tc, cp, B, H), TP_OK);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *r = a0 + b * G;
            double i = sg(r[j]), f = sg(r[H + j]), g = tanh(r[2 * H + j]), o = sg(r[3 * H + j]);
            double cn = f * cp[b * H + j] + i * g;
            assert_true(fabs(a[b * G + j] - i) < 1e-6 && fabs(a[b * G + 2 * H + j] - g) < 1e-6);
            assert_true(fabs(c[b * H + j] - cn) < 1e-6 && fabs(h[b * H + j] - o * tanh(cn)) < 1e-6);
        }
    /* backward: loss = sum dh h + sum dcn c; compare dA to central differences of the forward */
    float *dh = rnd((size_t)B * H, -1, 1, 9), *dcn = rnd((size_t)B * H, -1, 1, 10), dA[60], dcp[15];
    memcpy(dcp, dcn, sizeof dcp);
    assert_int_equal(cpu->lstm_cell_bwd(dA, dcp, dh, a, tc, cp, B, H), TP_OK);
    for (int k = 0; k < B * G; k += 3) {
        double l2[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            float p[60], cc[15], hh[15], tt[15];
            memcpy(p, a0, sizeof p);
            p[k] += sgn ? -1e-2f : 1e-2f;
            cpu->lstm_cell_fwd(p, cc, hh, tt, cp, B, H);
            double L = 0;
            for (int q = 0; q < B * H; q++) L += (double)dh[q] * hh[q] + (double)dcn[q] * cc[q];
            l2[sgn] = L;
        }
        assert_true(fabs((l2[0] - l2[1]) / 2e-2 - dA[k]) < 2e-3);
    }
    free(a);
    free(a0);
    free(cp);
    free(dh);
    free(dcn);
}

static void test_softmax_xent_matches_reference(void **state)
{
    (void)state;
    const int N = 5, V = 37;
    float *x = rnd((size_t)N * V, -3, 3, 11), *x0 = malloc((size_t)N * V * sizeof(float));
    memcpy(x0, x, (size_t)N * V * sizeof(float));
    int32_t y[5] = {0, 36, 5, 17, 17};
    x[2 * V + 5] = 9.0f; /* row 2: a hit */
    x0[2 * V + 5] = 9.0f;
    double nll;
    long hits;
    assert_int_equal(cpu->softmax_xent(x, y, N, V, 0.5f, &nll, &hits), TP_OK);
    double ref = 0;
    long rh = 0;
    for (int r = 0; r < N; r++) {
        const float *row = x0 + r * V;
        int am = 0;
        for (int v = 1; v < V; v++) am = row[v] > row[am] ? v : am;
        rh += am == y[r];
        double m = row[am], s = 0;
        for (int v = 0; v < V; v++) s += exp(row[v] - m);
        ref += log(s) - (row[y[r]] - m);
        for (int v = 0; v < V; v++)
            assert_true(fabs(x[r * V + v] - 0.5 * (exp(row[v] - m) / s - (v == y[r]))) < 1e-6);
    }
    assert_true(fabs(nll - ref) < 1e-4);
    assert_int_equal(hits, rh);
    assert_true(hits >= 1);
    free(x);
    free(x0);
}

static void test_dropout_is_counter_based(void **state)
{
    (void)state;
    const size_t n = 10001;
    float *in = rnd(n, 0.5f, 1.5f, 12), *o1 = malloc(n * 4), *m1 = malloc(n * 4), *o2 = malloc(n * 4),
          *m2 = malloc(n * 4);
    assert_int_equal(cpu->dropout(o1, m1, in, n, 0.3f, 77, 1000), TP_OK);
    /* a draw starting later in the same stream is the tail of the first */
    assert_int_equal(cpu->dropout(o2, m2, in + 17, n - 17, 0.3f, 77, 1017), TP_OK);
    assert_memory_equal(m1 + 17, m2, (n - 17) * 4);
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(m1[i] == 0.0f || m1[i] == 1.0f / 0.7f);
        assert_true(o1[i] == in[i] * m1[i]);
        zeros += m1[i] == 0.0f;
    }
    assert_true(zeros > n * 0.27 && zeros < n * 0.33);
    assert_int_equal(cpu->dropout(o2, m2, in, n, 0.3f, 78, 1000), TP_OK); /* another seed, other masks */
    assert_true(memcmp(m1, m2, n * 4) != 0);
    free(in);
    free(o1);
    free(m1);
    free(o2);
    free(m2);
}

static void test_optimizer_steps_match_engine_optim(void **state)
{
    (void)state;
    const size_t n = 131;
    for (int kind = 0; kind < 2; kind++) {
        float *w = rnd(n, -1, 1, 13), *g = rnd(n, -1, 1, 14), *w2 = malloc(n * 4), m[131] = {0}, v[131] = {0};
        uint8_t mask[131];
        for (size_t i = 0; i < n; i++) {
            mask[i] = i % 4 != 0;
            if (!mask[i]) w[i] = 0.0f;
        }
        memcpy(w2, w, n * 4);
        Optim o;
        assert_int_equal(optim_init(&o, kind ? OPTIM_ADAM : OPTIM_SGD, 0.05f, n), TP_OK);
        for (int step = 1; step <= 3; step++) {
            optim_step(&o, w, g, mask);
            if (kind)
                cpu->adam_step(w2, g, m, v, mask, n, 0.05f, 0.9f, 0.999f, 1e-8f, 1.0f / (1.0f - powf(0.9f, step)),
                               1.0f / (1.0f - powf(0.999f, step)));
            else
                cpu->sgd_step(w2, g, mask, n, 0.05f);
        }
        assert_memory_equal(w, w2, n * 4);
        for (size_t i = 0; i < n; i++)
            if (!mask[i]) assert_true(w2[i] == 0.0f && m[i] == 0.0f);
        optim_free(&o);
        free(w);
        free(g);
        free(w2);
    }
    float x[5] = {1, -2, 3, 0, 2};
    double ss;
    cpu->sumsq(x, 5, &ss);
    assert_true(ss == 18.0);
}

static void test_rows_gather_scatter_colsum(void **state)
{
    (void)state;
    float table[4 * 3] = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, dst[5 * 3];
    int32_t idx[5] = {3, 0, 3, 2, 1};
    cpu->gather_rows(dst, table, idx, 5, 3);
    for (int r = 0; r < 5; r++)
        for (int e = 0; e < 3; e++) assert_true(dst[r * 3 + e] == table[idx[r] * 3 + e]);
    float acc[12] = {0};
    cpu->scatter_add_rows(acc, dst, idx, 5, 3);
    assert_true(acc[9] == 60.0f && acc[10] == 62.0f && acc[0] == 0.0f && acc[3] == 10.0f);
    float row[3] = {1, 2, 3}, R[4 * 3];
    cpu->rows_set(R, row, 4, 3);
    float db[2] = {1, 1};
    cpu->colsum_add(db, R, 4, 2, 3); /* the first 2 of 3 columns */
    assert_true(db[0] == 5.0f && db[1] == 9.0f);
}

static void test_sparse_products_match_dense(void **state)
{
    (void)state;
    const int rows = 37, cols = 29;
    float *W = rnd((size_t)rows * cols, -1, 1, 15), *x = rnd(cols, -1, 1, 16), y[37], y0[37];
    for (int i = 0; i < rows * cols; i++)
        if (i % 3) W[i] = 0.0f;
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += (double)W[r * cols + c] * x[c];
        y0[r] = (float)s;
    }
    BackendCsr a;
    assert_int_equal(backend_ops_csr_from_dense(cpu, &a, W, rows, cols), TP_OK);
    for (int r = 0; r < rows; r++) y[r] = 1.0f;
    cpu->csr_spmv(&a, 2.0f, x, 0.5f, y);
    for (int r = 0; r < rows; r++) assert_true(fabs(y[r] - (2.0 * y0[r] + 0.5)) < 1e-5);
    backend_ops_csr_free(cpu, &a);
    const int shapes[3][2] = {{16, 1}, {8, 1}, {4, 4}};
    for (int k = 0; k < 3; k++) {
        BackendBsr b;
        assert_int_equal(backend_ops_bsr_from_dense(cpu, &b, W, rows, cols, shapes[k][0], shapes[k][1]), TP_OK);
        cpu->bsr_spmv(&b, 1.0f, x, 0.0f, y);
        for (int r = 0; r < rows; r++) assert_true(fabs(y[r] - y0[r]) < 1e-5);
        backend_ops_bsr_free(cpu, &b);
    }
    free(W);
    free(x);
}

static void test_table_by_name(void **state)
{
    (void)state;
    const BackendOps *o;
    char why[256];
    assert_int_equal(backend_ops_get("cpu", &o, why, sizeof why), TP_OK);
    assert_ptr_equal(o, cpu);
    assert_int_equal(backend_ops_get("gpu", &o, why, sizeof why), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "cpu, cuda or auto"));
    TpStatus s = backend_ops_cuda(&o);
    assert_int_equal(backend_ops_get("auto", &o, why, sizeof why), TP_OK);
    if (s == TP_OK) {
        assert_string_equal(o->name, "cuda");
        assert_string_equal(why, "");
    } else {
        /* no usable device: a reason, never a silent CPU */
        assert_true(s == TP_ENODEV || s == TP_ENOTAVAIL || s == TP_ENOMEM || s == TP_EDEVICE);
        assert_ptr_equal(o, cpu);
        assert_true(strlen(why) > 0);
        assert_int_equal(backend_ops_get("cuda", &o, why, sizeof why), s);
        assert_null(o);
        assert_non_null(strstr(err_msg(), "CUDA"));
    }
}

int main(void)
{
    cpu = backend_ops_cpu();
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_sgemv_match_loops),
        cmocka_unit_test(test_lstm_cell_forward_and_backward),
        cmocka_unit_test(test_softmax_xent_matches_reference),
        cmocka_unit_test(test_dropout_is_counter_based),
        cmocka_unit_test(test_optimizer_steps_match_engine_optim),
        cmocka_unit_test(test_rows_gather_scatter_colsum),
        cmocka_unit_test(test_sparse_products_match_dense),
        cmocka_unit_test(test_table_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
