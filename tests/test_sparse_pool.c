/* tests/test_sparse_pool: threaded sparse products.  Every layout x vector path x thread count
 * (1, 2, 3, 4; parts = threads, and more parts than threads) equals the single-threaded product bit
 * for bit (each row is computed by one thread with the same code) and so the dense product, on odd
 * sizes, with empty rows, at densities 0, one entry, 10% and 100%, plain and accumulating, batch 1
 * and 3; sparse_split cuts into parts of about equal stored entries covering every unit once; a
 * NULL pool or an unsplit matrix runs on the caller; sparse_pool_run calls its task once on each
 * thread (the caller as thread 0), a NULL pool on the caller alone, and products after a task still
 * run as products. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rng.h"
#include "engine/sparse.h"
#include "engine/sparse_pool.h"
#include "tests/helpers.h"

static const int SHAPES[][2] = {{1, 1}, {5, 3}, {37, 53}, {129, 67}, {260, 65}};
static const double DENSITIES[] = {0.0, -1.0 /* one entry */, 0.1, 1.0};

/* W [R, C]: density of U(-1, 1) entries; rows with r % 7 == 3 empty; density < 0: one entry */
static float *make_w(int R, int C, double density, Rng *rng)
{
    float *w = calloc((size_t)R * C, sizeof(float));
    assert_non_null(w);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            if (density > 0.0 && r % 7 != 3 && rng_uniform(rng) < density) w[(size_t)r * C + c] = rng_range(rng, 0.1f, 1.0f);
    if (density < 0.0) w[(size_t)(R / 2) * C + C / 3] = 0.75f;
    return w;
}

static void test_every_layout_isa_thread_count(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 41);
    SparsePool *pools[5] = {NULL};
    for (int t = 1; t <= 4; t++) assert_int_equal(sparse_pool_create(&pools[t], t), TP_OK);
    enum { B = 3 };
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
        for (size_t d = 0; d < sizeof DENSITIES / sizeof DENSITIES[0]; d++) {
            const int R = SHAPES[s][0], C = SHAPES[s][1];
            float *w = make_w(R, C, DENSITIES[d], &rng);
            float *X = malloc((size_t)B * C * sizeof(float)), *Y0 = malloc((size_t)B * R * sizeof(float));
            float *ref = malloc((size_t)B * R * sizeof(float)), *Y = malloc((size_t)B * R * sizeof(float));
            float *refv = malloc((size_t)B * R * sizeof(float));
            assert_true(X && Y0 && ref && Y && refv);
            th_fill_uniform(X, (size_t)B * C, -1.0f, 1.0f, &rng);
            th_fill_uniform(Y0, (size_t)B * R, -1.0f, 1.0f, &rng);
            for (int k = 0; k < SPARSE_N_KINDS; k++)
                for (int isa = SPARSE_ISA_SCALAR; isa < SPARSE_N_ISAS; isa++) {
                    SparseMatrix m;
                    assert_int_equal(sparse_from_dense(&m, (SparseKind)k, w, R, C, C), TP_OK);
                    if (sparse_use_isa(&m, (SparseIsa)isa) != TP_OK) {
                        sparse_free(&m);
                        continue;
                    }
                    for (int acc = 0; acc <= 1; acc++) {
                        memcpy(ref, Y0, (size_t)B * R * sizeof(float));
                        sparse_gemm(&m, ref, X, B, acc);
                        memcpy(refv, Y0, (size_t)B * R * sizeof(float)); /* differs from ref for DENSE only */
                        for (int b = 0; b < B; b++) sparse_gemv(&m, refv + b * R, X + b * C, acc);
                        for (int b = 0; b < B; b++) /* the reference itself is the product */
                            for (int r = 0; r < R; r++) {
                                double e = acc ? Y0[b * R + r] : 0.0, sc = fabs(e);
                                for (int c = 0; c < C; c++) {
                                    e += (double)w[(size_t)r * C + c] * X[b * C + c];
                                    sc += fabs((double)w[(size_t)r * C + c] * X[b * C + c]);
                                }
                                assert_true(fabs(ref[b * R + r] - e) <= 1e-5 * sc + 1e-30);
                            }
                        for (int t = 1; t <= 4; t++)
                            for (int parts = t; parts <= 2 * t + 1; parts += t + 1) {
                                sparse_split(&m, parts);
                                memcpy(Y, Y0, (size_t)B * R * sizeof(float));
                                if (t % 2) sparse_pool_gemm(pools[t], &m, Y, X, B, acc);
                                else
                                    for (int b = 0; b < B; b++) sparse_pool_gemv(pools[t], &m, Y + b * R, X + b * C, acc);
                                if (memcmp(Y, t % 2 ? ref : refv, (size_t)B * R * sizeof(float))) {
                                    print_error("%s isa %s threads %d parts %d [%d, %d] density %g acc %d: not the "
                                                "single-threaded product\n", sparse_kind_name((SparseKind)k),
                                                sparse_isa_name((SparseIsa)isa), t, parts, R, C, DENSITIES[d], acc);
                                    fail();
                                }
                            }
                    }
                    sparse_free(&m);
                }
            free(w);
            free(X);
            free(Y0);
            free(ref);
            free(refv);
            free(Y);
        }
    for (int t = 1; t <= 4; t++) sparse_pool_free(pools[t]);
}

static void test_split_is_balanced(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 43);
    const int R = 1000, C = 300;
    float *w = calloc((size_t)R * C, sizeof(float));
    assert_non_null(w);
    for (int r = 0; r < R; r++) /* the first rows 10x denser than the rest */
        for (int c = 0; c < C; c++)
            if (rng_uniform(&rng) < (r < 200 ? 0.5 : 0.05)) w[(size_t)r * C + c] = 1.0f;
    const SparseKind KS[] = {SPARSE_CSR, SPARSE_SELL, SPARSE_BSR16X1, SPARSE_BSR4X4};
    for (size_t i = 0; i < sizeof KS / sizeof KS[0]; i++) {
        SparseMatrix m;
        assert_int_equal(sparse_from_dense(&m, KS[i], w, R, C, C), TP_OK);
        assert_int_equal(sparse_split(&m, 4), 4);
        assert_int_equal(m.part[0], 0);
        assert_int_equal(m.part[4], sparse_units(&m));
        for (int p = 0; p < 4; p++) {
            assert_true(m.part[p + 1] > m.part[p]);
            /* each part within 1/4 +- 10% of the stored entries (and of the rows where CSR) */
            double before = 0.0, total = (double)m.nnz;
            if (KS[i] == SPARSE_CSR) before = m.ptr[m.part[p + 1]] - m.ptr[m.part[p]];
            else if (KS[i] == SPARSE_SELL) before = 16.0 * (m.ptr[m.part[p + 1]] - m.ptr[m.part[p]]), total = 16.0 * m.ptr[sparse_units(&m)];
            else before = (double)(m.ptr[m.part[p + 1]] - m.ptr[m.part[p]]) * m.br * m.bc;
            assert_true(fabs(before / total - 0.25) < 0.1);
        }
        assert_int_equal(sparse_split(&m, 1), 1);
        sparse_free(&m);
        assert_int_equal(sparse_from_dense(&m, SPARSE_STATE, w, R, C, C), TP_OK);
        assert_int_equal(sparse_split(&m, 4), 1); /* runs whole */
        sparse_free(&m);
    }
    SparseMatrix m;
    assert_int_equal(sparse_from_dense(&m, SPARSE_CSR, w, 3, C, C), TP_OK);
    assert_int_equal(sparse_split(&m, 8), 3); /* no more parts than rows */
    sparse_free(&m);
    SparsePool *p;
    assert_int_equal(sparse_pool_create(&p, 0), TP_EINVAL);
    assert_int_equal(sparse_pool_threads(NULL), 1);
    free(w);
}

typedef struct {
    int calls[8];
    pthread_t who[8];
} TaskLog;

static void log_task(void *arg, int t)
{
    TaskLog *l = arg;
    l->calls[t]++;
    l->who[t] = pthread_self();
}

static void test_run_task(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        SparsePool *p = NULL;
        assert_int_equal(sparse_pool_create(&p, threads), TP_OK);
        for (int rep = 0; rep < 3; rep++) {
            TaskLog l;
            memset(&l, 0, sizeof l);
            sparse_pool_run(p, log_task, &l);
            for (int t = 0; t < 8; t++) assert_int_equal(l.calls[t], t < threads ? 1 : 0);
            assert_true(pthread_equal(l.who[0], pthread_self()));
            for (int t = 1; t < threads; t++) assert_false(pthread_equal(l.who[t], pthread_self()));
        }
        /* a product after a task */
        Rng rng;
        rng_seed(&rng, 9);
        float *w = make_w(37, 53, 0.3, &rng), x[53], y[37], y1[37];
        for (int j = 0; j < 53; j++) x[j] = rng_uniform(&rng) - 0.5f;
        SparseMatrix m;
        assert_int_equal(sparse_from_dense(&m, SPARSE_CSR, w, 37, 53, 53), TP_OK);
        sparse_gemv(&m, y1, x, 0);
        sparse_split(&m, threads);
        sparse_pool_gemv(p, &m, y, x, 0);
        assert_memory_equal(y, y1, sizeof y);
        sparse_free(&m);
        free(w);
        sparse_pool_free(p);
    }
    TaskLog l;
    memset(&l, 0, sizeof l);
    sparse_pool_run(NULL, log_task, &l);
    assert_int_equal(l.calls[0], 1);
    assert_int_equal(l.calls[1], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_layout_isa_thread_count),
        cmocka_unit_test(test_split_is_balanced),
        cmocka_unit_test(test_run_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
