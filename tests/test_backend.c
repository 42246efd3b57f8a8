/* tests/test_backend: the row-major BLAS wrappers against naive loops for every transpose
 * combination (including the single-row sgemv path), thread settings, and the CUDA backend's
 * behaviour on a machine without a GPU (it must say so and leave the CPU selected). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/cuda/backend_cuda.h"
#include "engine/rng.h"
#include "tests/helpers.h"

static void naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, double *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
            }
            C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
        }
}

static void check_gemm(int ta, int tb, int M, int N, int K)
{
    Rng r;
    rng_seed(&r, (uint64_t)(ta * 1000 + tb * 100 + M * 7 + N * 3 + K));
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    int arows = ta ? K : M, brows = tb ? N : K;
    float *A = malloc(sizeof(float) * arows * lda), *B = malloc(sizeof(float) * brows * ldb);
    float *C = malloc(sizeof(float) * M * ldc);
    double *D = malloc(sizeof(double) * M * ldc);
    th_fill_uniform(A, (size_t)arows * lda, -1, 1, &r);
    th_fill_uniform(B, (size_t)brows * ldb, -1, 1, &r);
    th_fill_uniform(C, (size_t)M * ldc, -1, 1, &r);
    for (int i = 0; i < M * ldc; i++) D[i] = C[i];
    backend_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, ldc);
    naive(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, D, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) assert_true(fabs(C[i * ldc + j] - D[i * ldc + j]) < 1e-4 * (1 + K / 10.0));
    free(A);
    free(B);
    free(C);
    free(D);
}

static void test_sgemm_all_transposes(void **state)
{
    (void)state;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(ta, tb, 7, 5, 9);
            check_gemm(ta, tb, 33, 17, 64);
        }
}

static void test_single_row_uses_gemv_path_correctly(void **state)
{
    (void)state;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) check_gemm(ta, tb, 1, 37, 23);
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(backend_set_threads(1), TP_OK);
    assert_int_equal(backend_threads(), 1);
    assert_int_equal(backend_set_threads(0), TP_ERANGE);
    assert_int_equal(backend_set_threads(257), TP_ERANGE);
    assert_int_equal(backend_threads(), 1);
    char desc[512];
    backend_describe(desc, sizeof desc);
    assert_non_null(strstr(desc, "1 thread"));
}

static void test_cuda_select_says_why_and_products_stay_on_the_cpu(void **state)
{
    (void)state;
    if (cuda_device_count() > 0) {
        /* a GPU is present: selecting it moves no host product to the device */
        assert_int_equal(backend_select(BACKEND_CUDA), TP_OK);
        check_gemm(0, 1, 33, 17, 64);
        assert_int_equal(backend_select(BACKEND_CPU), TP_OK);
        return;
    }
    TpStatus s = backend_select(BACKEND_CUDA);
    assert_true(s == TP_ENODEV || s == TP_ENOTAVAIL);
    assert_non_null(strstr(err_msg(), "CUDA"));
    assert_int_equal(backend_current(), BACKEND_CPU);
    check_gemm(0, 0, 4, 4, 4); /* and the CPU still computes */
}

static void test_alloc_is_aligned_and_zeroed(void **state)
{
    (void)state;
    float *p = backend_alloc(1001, sizeof(float));
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    for (int i = 0; i < 1001; i++) assert_true(p[i] == 0.0f);
    free(p);
    assert_null(backend_alloc(SIZE_MAX / 2, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_all_transposes),
        cmocka_unit_test(test_single_row_uses_gemv_path_correctly),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cuda_select_says_why_and_products_stay_on_the_cpu),
        cmocka_unit_test(test_alloc_is_aligned_and_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
