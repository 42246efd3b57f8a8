/* tests/test_sparse: every kernel of engine/sparse, on every vector path this CPU has (scalar, AVX2,
 * AVX-512), equals the dense product computed in double within 1e-5 of sum_j |W_ij x_j| (the
 * float-rounding scale of the row: a relative bound on y itself is meaningless under cancellation),
 * on random matrices of odd sizes at densities 0, tiny (one entry), 10%, 50% and 100%, with both
 * index widths; y (+)= works; layouts convert back to the same dense matrix; the row-balanced
 * conversion keeps exactly k entries per row, the k largest |w|; the sparse-state kernels skip any
 * pattern of zeros in x and still give the product; random layouts have the promised density; BSR
 * stores whole blocks (zeros of a partly zero block included) and stays within x and y.  No
 * timing here (bench/bench_sparse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rng.h"
#include "engine/sparse.h"
#include "tests/helpers.h"

static const int SHAPES[][2] = {{1, 1}, {1, 7}, {5, 1}, {37, 53}, {17, 300}, {129, 67}, {33, 16}, {260, 65}};
enum { N_SHAPES = sizeof SHAPES / sizeof SHAPES[0] };
static const double DENSITIES[] = {0.0, -1.0 /* one entry */, 0.1, 0.5, 1.0};
enum { N_DENS = sizeof DENSITIES / sizeof DENSITIES[0] };

/* W [R, C] in a buffer of leading dimension ld, `density` of its entries U(-1, 1), the rest 0
 * (density < 0: exactly one entry). */
static float *random_matrix(int R, int C, int ld, double density, Rng *rng)
{
    float *w = calloc((size_t)R * ld, sizeof(float));
    assert_non_null(w);
    for (size_t i = 0; i < (size_t)R * ld; i++) w[i] = 1e30f; /* the gap beyond cols must never be read */
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float v = rng_range(rng, -1.0f, 1.0f);
            w[(size_t)r * ld + c] = (density >= 0.0 && rng_uniform(rng) < density) ? (v == 0.0f ? 0.5f : v) : 0.0f;
        }
    if (density < 0.0) w[(size_t)(R / 2) * ld + C / 3] = 0.75f;
    return w;
}

static void check_product(const float *w, int R, int C, int ld, const float *x, const float *y0, const float *y,
                          const char *what)
{
    for (int r = 0; r < R; r++) {
        double ref = y0 ? y0[r] : 0.0, scale = y0 ? fabs(y0[r]) : 0.0;
        for (int c = 0; c < C; c++) {
            double t = (double)w[(size_t)r * ld + c] * x[c];
            ref += t;
            scale += fabs(t);
        }
        if (!(fabs(y[r] - ref) <= 1e-5 * scale + 1e-30)) {
            print_error("%s: row %d of [%d, %d]: got %.9g, expected %.9g (scale %.3g)\n", what, r, R, C, (double)y[r],
                        ref, scale);
            fail();
        }
    }
}

/* Every kind on matrix w and input x, plain and accumulating, on the current ISA. */
static void check_all_kinds(const float *w, int R, int C, int ld, const float *x, Rng *rng, const char *tag)
{
    float *y = malloc((size_t)R * sizeof(float)), *y0 = malloc((size_t)R * sizeof(float));
    float *back = malloc((size_t)R * C * sizeof(float));
    assert_true(y && y0 && back);
    for (int k = 0; k < SPARSE_N_KINDS; k++) {
        SparseMatrix m;
        assert_int_equal(sparse_from_dense(&m, (SparseKind)k, w, R, C, ld), TP_OK);
        char what[160];
        snprintf(what, sizeof what, "%s %s isa=%s idx%d", tag, sparse_kind_name((SparseKind)k),
                 sparse_isa_name(sparse_isa()), m.idx16 ? 16 : 32);
        for (int i = 0; i < R; i++) y[i] = 1e30f; /* must be overwritten */
        sparse_gemv(&m, y, x, 0);
        check_product(w, R, C, ld, x, NULL, y, what);
        th_fill_uniform(y0, (size_t)R, -2.0f, 2.0f, rng);
        memcpy(y, y0, (size_t)R * sizeof(float));
        sparse_gemv(&m, y, x, 1);
        check_product(w, R, C, ld, x, y0, y, what);
        /* the layout holds exactly W */
        sparse_to_dense(&m, back);
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) assert_true(back[(size_t)r * C + c] == w[(size_t)r * ld + c]);
        sparse_free(&m);
    }
    free(y);
    free(y0);
    free(back);
}

static void test_every_kernel_equals_dense(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 7);
    for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
        if (!sparse_isa_available((SparseIsa)isa)) continue;
        assert_int_equal(sparse_isa_set((SparseIsa)isa), TP_OK);
        for (int s = 0; s < N_SHAPES; s++)
            for (int d = 0; d < N_DENS; d++) {
                int R = SHAPES[s][0], C = SHAPES[s][1], ld = C + (s % 3);
                float *w = random_matrix(R, C, ld, DENSITIES[d], &rng);
                float *x = malloc((size_t)C * sizeof(float));
                assert_non_null(x);
                th_fill_uniform(x, (size_t)C, -1.0f, 1.0f, &rng);
                char tag[64];
                snprintf(tag, sizeof tag, "density %g", DENSITIES[d]);
                check_all_kinds(w, R, C, ld, x, &rng, tag);
                free(w);
                free(x);
            }
    }
    assert_int_equal(sparse_isa_set(SPARSE_ISA_SCALAR), TP_OK);
}

/* cols > 65536: 32-bit column indices (CSR, ROW); rows > 65536: 32-bit row indices (CSC). */
static void test_wide_and_tall_use_32bit_indices(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 11);
    static const int WT[][2] = {{3, 70001}, {70003, 2}};
    for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
        if (!sparse_isa_available((SparseIsa)isa)) continue;
        assert_int_equal(sparse_isa_set((SparseIsa)isa), TP_OK);
        for (int s = 0; s < 2; s++) {
            int R = WT[s][0], C = WT[s][1];
            float *w = random_matrix(R, C, C, 0.02, &rng);
            float *x = malloc((size_t)C * sizeof(float));
            assert_non_null(x);
            th_fill_uniform(x, (size_t)C, -1.0f, 1.0f, &rng);
            SparseMatrix m;
            assert_int_equal(sparse_from_dense(&m, s == 0 ? SPARSE_CSR : SPARSE_STATE_CSC, w, R, C, C), TP_OK);
            assert_int_equal(m.idx16, 0);
            sparse_free(&m);
            check_all_kinds(w, R, C, C, x, &rng, s == 0 ? "wide" : "tall");
            free(w);
            free(x);
        }
    }
    assert_int_equal(sparse_isa_set(SPARSE_ISA_SCALAR), TP_OK);
    SparseMatrix m;
    float w1[4] = {1, 0, 0, 2};
    assert_int_equal(sparse_from_dense(&m, SPARSE_CSR, w1, 2, 2, 2), TP_OK);
    assert_int_equal(m.idx16, 1);
    assert_int_equal((int)m.nnz, 2);
    sparse_free(&m);
}

static void test_row_balanced_keeps_exactly_k(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 3);
    const int R = 45, C = 71;
    float *w = random_matrix(R, C, C, 1.0, &rng);
    w[3 * C + 5] = 0.0f; /* a few zeros: a row may hold fewer non-zeros than k */
    for (int c = 0; c < C - 2; c++) w[7 * C + c] = 0.0f;
    float *back = malloc((size_t)R * C * sizeof(float)), *x = malloc((size_t)C * sizeof(float));
    float *y = malloc((size_t)R * sizeof(float));
    assert_true(back && x && y);
    th_fill_uniform(x, (size_t)C, -1.0f, 1.0f, &rng);
    const int KS[] = {1, 7, 16, 33, C};
    for (size_t t = 0; t < sizeof KS / sizeof KS[0]; t++) {
        int k = KS[t];
        SparseMatrix m;
        assert_int_equal(sparse_row_from_dense(&m, w, R, C, C, k), TP_OK);
        assert_int_equal(m.k, k);
        assert_int_equal((int)m.nnz, R * k);
        sparse_to_dense(&m, back);
        for (int r = 0; r < R; r++) {
            int live = 0;
            float kept_min = INFINITY, dropped_max = 0.0f;
            for (int c = 0; c < C; c++) {
                float b = back[(size_t)r * C + c], a = w[(size_t)r * C + c];
                if (b != 0.0f) {
                    assert_true(b == a); /* kept entries keep their value */
                    live++;
                    kept_min = fminf(kept_min, fabsf(a));
                } else {
                    dropped_max = fmaxf(dropped_max, fabsf(a));
                }
            }
            int nz = sparse_count_nonzero(w + (size_t)r * C, C);
            assert_int_equal(live, nz < k ? nz : k); /* k slots; zeros fill a short row */
            if (live == k && k < nz) assert_true(kept_min >= dropped_max);
        }
        for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
            if (!sparse_isa_available((SparseIsa)isa)) continue;
            assert_int_equal(sparse_isa_set((SparseIsa)isa), TP_OK);
            sparse_gemv(&m, y, x, 0);
            check_product(back, R, C, C, x, NULL, y, "row-balanced k");
        }
        sparse_free(&m);
    }
    SparseMatrix m;
    assert_int_equal(sparse_row_from_dense(&m, w, R, C, C, 0), TP_EINVAL);
    assert_int_equal(sparse_row_from_dense(&m, w, R, C, C, C + 1), TP_EINVAL);
    assert_int_equal(sparse_isa_set(SPARSE_ISA_SCALAR), TP_OK);
    free(w);
    free(back);
    free(x);
    free(y);
}

/* The sparse-state kernels with random zero patterns in x, from all-zero to dense. */
static void test_state_kernels_skip_zero_inputs(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 19);
    const int R = 4 * 37, C = 37;
    static const double XD[] = {0.0, -1.0, 0.05, 0.3, 0.7, 1.0};
    float *x = malloc((size_t)C * sizeof(float)), *y = malloc((size_t)R * sizeof(float));
    assert_true(x && y);
    for (int wd = 0; wd < 3; wd++) {
        float *w = random_matrix(R, C, C, wd == 0 ? 1.0 : wd == 1 ? 0.2 : -1.0, &rng);
        for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
            if (!sparse_isa_available((SparseIsa)isa)) continue;
            assert_int_equal(sparse_isa_set((SparseIsa)isa), TP_OK);
            for (size_t d = 0; d < sizeof XD / sizeof XD[0]; d++)
                for (int rep = 0; rep < 5; rep++) {
                    for (int c = 0; c < C; c++) {
                        float v = rng_range(&rng, -1.0f, 1.0f);
                        x[c] = XD[d] >= 0 && rng_uniform(&rng) < XD[d] ? v : 0.0f;
                    }
                    if (XD[d] < 0) x[rep % C] = -0.5f;
                    for (int k = SPARSE_STATE; k <= SPARSE_STATE_CSC; k++) {
                        SparseMatrix m;
                        assert_int_equal(sparse_from_dense(&m, (SparseKind)k, w, R, C, C), TP_OK);
                        sparse_gemv(&m, y, x, 0);
                        check_product(w, R, C, C, x, NULL, y, sparse_kind_name((SparseKind)k));
                        /* it touches only the columns of non-zero x */
                        double macs = sparse_macs(&m, x), want = 0.0;
                        for (int c = 0; c < C; c++)
                            if (x[c] != 0.0f)
                                for (int r = 0; r < R; r++) want += k == SPARSE_STATE || w[(size_t)r * C + c] != 0.0f;
                        assert_true(macs == want);
                        sparse_free(&m);
                    }
                }
        }
        free(w);
    }
    assert_int_equal(sparse_isa_set(SPARSE_ISA_SCALAR), TP_OK);
    free(x);
    free(y);
}

static void test_batch_and_bytes(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 23);
    const int R = 29, C = 41, B = 3;
    float *w = random_matrix(R, C, C, 0.3, &rng);
    float X[3 * 41], Y[3 * 29], y[29];
    th_fill_uniform(X, sizeof X / sizeof X[0], -1.0f, 1.0f, &rng);
    for (int k = 0; k < SPARSE_N_KINDS; k++) {
        SparseMatrix m;
        assert_int_equal(sparse_from_dense(&m, (SparseKind)k, w, R, C, C), TP_OK);
        sparse_gemm(&m, Y, X, B, 0);
        for (int b = 0; b < B; b++) {
            sparse_gemv(&m, y, X + b * C, 0);
            for (int r = 0; r < R; r++) assert_true(fabsf(Y[b * R + r] - y[r]) <= 1e-5f * (1.0f + fabsf(y[r])));
        }
        double bytes = sparse_bytes(&m, NULL);
        if (k == SPARSE_DENSE) assert_true(bytes == 4.0 * R * C + 4.0 * C);
        if (k == SPARSE_CSR) assert_true(bytes == 6.0 * (double)m.nnz + 4.0 * (R + 1) + 4.0 * C);
        sparse_free(&m);
    }
    SparseKind kk;
    assert_int_equal(sparse_kind_parse("state-csc", &kk), TP_OK);
    assert_int_equal(kk, SPARSE_STATE_CSC);
    assert_int_equal(sparse_kind_parse("coo", &kk), TP_EINVAL);
    SparseMatrix m;
    assert_int_equal(sparse_from_dense(&m, SPARSE_CSR, w, 0, C, C), TP_EINVAL);
    assert_int_equal(sparse_from_dense(&m, SPARSE_CSR, w, R, C, C - 1), TP_EINVAL);
    free(w);
}

/* SELL: rows sorted by count into blocks padded to their longest row; perm is a permutation of the
 * rows; the kernels write exactly the R rows (nothing past them), on every ISA, plain and accumulating. */
static void test_sell_sorts_rows_and_writes_only_its_rows(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 31);
    const int R = 45, C = 70;
    float *w = calloc((size_t)R * C, sizeof(float));
    assert_non_null(w);
    for (int r = 0; r < R; r++) /* row r holds (7 r) mod 71 entries: 0 to 70, shuffled over the rows */
        for (int j = 0, n = (7 * r) % 71; j < n; j++) w[(size_t)r * C + (j * 13 + r) % C] = rng_range(&rng, 0.1f, 1.0f);
    SparseMatrix m;
    assert_int_equal(sparse_from_dense(&m, SPARSE_SELL, w, R, C, C), TP_OK);
    size_t nz = 0;
    for (int r = 0; r < R; r++) nz += (size_t)sparse_count_nonzero(w + (size_t)r * C, C);
    assert_int_equal(m.nnz, nz);
    int seen[45] = {0};
    for (int i = 0; i < R; i++) {
        assert_true(m.perm[i] >= 0 && m.perm[i] < R);
        seen[m.perm[i]]++;
        if (i) /* sorted: more non-zeros first */
            assert_true(sparse_count_nonzero(w + (size_t)m.perm[i] * C, C) <=
                        sparse_count_nonzero(w + (size_t)m.perm[i - 1] * C, C));
    }
    for (int r = 0; r < R; r++) assert_int_equal(seen[r], 1);
    for (int b = 0; b < 3; b++) /* each block as long as its first (longest) row */
        assert_int_equal(m.ptr[b + 1] - m.ptr[b], sparse_count_nonzero(w + (size_t)m.perm[16 * b] * C, C));
    assert_true(sparse_macs(&m, NULL) == 16.0 * m.ptr[3]);
    float x[70], y[45 + 16], y0[45 + 16];
    th_fill_uniform(x, 70, -1.0f, 1.0f, &rng);
    for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
        if (!sparse_isa_available((SparseIsa)isa)) continue;
        assert_int_equal(sparse_isa_set((SparseIsa)isa), TP_OK);
        for (int acc = 0; acc <= 1; acc++) {
            th_fill_uniform(y0, 45 + 16, -2.0f, 2.0f, &rng);
            memcpy(y, y0, sizeof y);
            sparse_gemv(&m, y, x, acc);
            check_product(w, R, C, C, x, acc ? y0 : NULL, y, "sell");
            for (int i = R; i < R + 16; i++) assert_true(y[i] == y0[i]); /* past the rows: untouched */
        }
    }
    assert_int_equal(sparse_isa_set(SPARSE_ISA_SCALAR), TP_OK);
    SparseKind kk;
    assert_int_equal(sparse_kind_parse("sell", &kk), TP_OK);
    assert_int_equal(kk, SPARSE_SELL);
    sparse_free(&m);
    free(w);
}

/* SELL-SEG: SELL's row order; each block's segment s as long as the longest of its rows' counts in
 * columns [32 s, 32 s + 32), offsets < 32 (and inside the matrix); on every ISA (the AVX-512 permute,
 * the AVX2 permute-and-blend, the scalar reads) plain and accumulating, with a last segment that is
 * partial and rows whose non-zeros sit in a single segment; the kernels write exactly the R rows. */
static void test_sell_seg_segments(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 37);
    const int R = 53, C = 75; /* 3 segments: 32 + 32 + 11 */
    float *w = calloc((size_t)R * C, sizeof(float));
    assert_non_null(w);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            const int seg = c / SPARSE_SEG_W;
            /* rows 0..9 only in the last segment, rows 10..19 only in the first, the rest anywhere */
            const int keep = r < 10 ? seg == 2 : r < 20 ? seg == 0 : rng_uniform(&rng) < 0.2;
            if (keep && (r >= 20 || rng_uniform(&rng) < 0.5)) w[(size_t)r * C + c] = rng_range(&rng, 0.1f, 1.0f);
        }
    SparseMatrix m;
    assert_int_equal(sparse_from_dense(&m, SPARSE_SELL_SEG, w, R, C, C), TP_OK);
    assert_int_equal(m.k, 3);
    size_t nz = 0;
    for (int r = 0; r < R; r++) nz += (size_t)sparse_count_nonzero(w + (size_t)r * C, C);
    assert_int_equal(m.nnz, nz);
    SparseMatrix sell;
    assert_int_equal(sparse_from_dense(&sell, SPARSE_SELL, w, R, C, C), TP_OK);
    const int nb = (R + 15) / 16;
    int steps = 0;
    for (int b = 0; b < nb; b++) {
        for (int l = 0; l < 16; l++) assert_int_equal(m.perm[16 * b + l], sell.perm[16 * b + l]); /* SELL's order */
        for (int g = 0; g < m.k; g++) {
            int longest = 0;
            for (int l = 0; l < 16 && 16 * b + l < R; l++) {
                const int c0 = g * SPARSE_SEG_W, n = C - c0 < SPARSE_SEG_W ? C - c0 : SPARSE_SEG_W;
                int c = sparse_count_nonzero(w + (size_t)m.perm[16 * b + l] * C + c0, n);
                longest = c > longest ? c : longest;
            }
            assert_int_equal(m.seglen[b * m.k + g], longest);
            steps += longest;
        }
        assert_int_equal(m.ptr[b + 1] - m.ptr[b], m.seglen[b * m.k] + m.seglen[b * m.k + 1] + m.seglen[b * m.k + 2]);
    }
    assert_int_equal(m.ptr[nb], steps);
    const uint8_t *off = m.idx;
    for (int i = 0; i < 16 * steps; i++) assert_true(off[i] < SPARSE_SEG_W);
    assert_true(sparse_macs(&m, NULL) == 16.0 * steps);
    assert_true(sparse_bytes(&m, NULL) == 5.0 * 16 * steps + 4.0 * (nb + 1) + nb * 3.0 + 4.0 * 64 + 4.0 * C);
    float x[75], y[53 + 16], y0[53 + 16];
    th_fill_uniform(x, 75, -1.0f, 1.0f, &rng);
    for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
        if (!sparse_isa_available((SparseIsa)isa)) continue;
        assert_int_equal(sparse_use_isa(&m, (SparseIsa)isa), TP_OK);
        for (int acc = 0; acc <= 1; acc++) {
            th_fill_uniform(y0, 53 + 16, -2.0f, 2.0f, &rng);
            memcpy(y, y0, sizeof y);
            sparse_gemv(&m, y, x, acc);
            check_product(w, R, C, C, x, acc ? y0 : NULL, y, "sell-seg");
            for (int i = R; i < R + 16; i++) assert_true(y[i] == y0[i]); /* past the rows: untouched */
        }
    }
    SparseKind kk;
    assert_int_equal(sparse_kind_parse("sell-seg", &kk), TP_OK);
    assert_int_equal(kk, SPARSE_SELL_SEG);
    sparse_free(&m);
    sparse_free(&sell);
    free(w);
}

/* SELL sorts within windows of SPARSE_SELL_SIGMA rows: every block's rows lie in one window (sorted
 * there), so the two halves of a 2-part split write rows of y that share no cache line but those of
 * the one window at the cut (what made the 2-thread product slower than it should be: false sharing). */
static void test_sell_sorts_within_windows(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 37);
    const int R = 3 * SPARSE_SELL_SIGMA + 40, C = 50; /* three whole windows and a short one */
    float *w = calloc((size_t)R * C, sizeof(float));
    assert_non_null(w);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            if (rng_uniform(&rng) < 0.02 + 0.3 * ((r * 7919) % 13) / 13.0) w[(size_t)r * C + c] = rng_range(&rng, 0.1f, 1.0f);
    SparseMatrix m;
    assert_int_equal(sparse_from_dense(&m, SPARSE_SELL, w, R, C, C), TP_OK);
    const int nb = (R + 15) / 16;
    for (int b = 0; b < nb; b++)
        for (int i = 1; i < 16 && 16 * b + i < R; i++) {
            const int r = m.perm[16 * b + i], p = m.perm[16 * b + i - 1];
            assert_int_equal(r / SPARSE_SELL_SIGMA, m.perm[16 * b] / SPARSE_SELL_SIGMA);
            assert_true(sparse_count_nonzero(w + (size_t)r * C, C) <= sparse_count_nonzero(w + (size_t)p * C, C));
        }
    assert_int_equal(sparse_split(&m, 2), 2);
    int lo0 = R, hi0 = -1, lo1 = R, hi1 = -1; /* the rows each part writes */
    for (int q = 0; q < 2; q++)
        for (int b = m.part[q]; b < m.part[q + 1]; b++)
            for (int i = 0; i < 16 && 16 * b + i < R; i++) {
                const int r = m.perm[16 * b + i];
                if (q == 0) lo0 = r < lo0 ? r : lo0, hi0 = r > hi0 ? r : hi0;
                else lo1 = r < lo1 ? r : lo1, hi1 = r > hi1 ? r : hi1;
            }
    assert_true(hi0 < lo1 + SPARSE_SELL_SIGMA); /* they overlap in one window at most */
    assert_true(lo0 == 0 && hi1 == R - 1);
    float x[50], y[3 * SPARSE_SELL_SIGMA + 40];
    th_fill_uniform(x, C, -1.0f, 1.0f, &rng);
    sparse_gemv(&m, y, x, 0);
    check_product(w, R, C, C, x, NULL, y, "sell, windows");
    sparse_free(&m);
    free(w);
}

/* BSR: whole blocks of a block-pruned matrix, partly zero blocks stored with their zeros, empty block
 * rows; the kernels never read x past cols (NaN there) nor write y past rows, on every ISA. */
static void test_bsr_blocks(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 37);
    const int R = 45, C = 70; /* neither a multiple of 16, 8 nor 4 */
    const SparseKind KS[] = {SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4};
    float *w = malloc((size_t)R * C * sizeof(float)), *back = malloc((size_t)R * C * sizeof(float));
    float x[70 + 8], y[45 + 16], y0[45 + 16];
    assert_true(w && back);
    th_fill_uniform(x, 70, -1.0f, 1.0f, &rng);
    for (int i = C; i < C + 8; i++) x[i] = NAN; /* never read */
    for (int s = 0; s < 3; s++) {
        int br, bc;
        sparse_bsr_shape(KS[s], &br, &bc);
        memset(w, 0, (size_t)R * C * sizeof(float));
        int blocks = 0, partial = 0;
        for (int r0 = 0; r0 < R; r0 += br) {
            if (r0 == br) continue; /* block row 1 stays empty */
            for (int c0 = 0; c0 < C; c0 += bc) {
                if (rng_uniform(&rng) >= 0.3) continue;
                blocks++;
                for (int i = r0; i < r0 + br && i < R; i++)
                    for (int j = c0; j < c0 + bc && j < C; j++) w[(size_t)i * C + j] = rng_range(&rng, 0.1f, 1.0f);
                if (blocks % 3 == 0) w[(size_t)r0 * C + c0] = 0.0f, partial++; /* a partly zero block */
            }
        }
        assert_true(blocks > 5 && partial > 0);
        SparseMatrix m;
        assert_int_equal(sparse_from_dense(&m, KS[s], w, R, C, C), TP_OK);
        assert_int_equal(m.br, br);
        assert_int_equal(m.bc, bc);
        assert_int_equal((int)m.nnz, blocks * br * bc);
        assert_int_equal(m.ptr[2], m.ptr[1]); /* the empty block row */
        assert_true(fabs(sparse_bsr_fill(w, R, C, C, KS[s]) - (double)blocks * br * bc / (R * C)) < 1e-12);
        for (int b = 0; b < sparse_units(&m); b++)
            for (int32_t p = m.ptr[b]; p < m.ptr[b + 1]; p++) {
                int c0 = ((const uint16_t *)m.idx)[p];
                assert_true(c0 % bc == 0 && c0 < C);
                if (p > m.ptr[b]) assert_true(c0 > ((const uint16_t *)m.idx)[p - 1]);
            }
        sparse_to_dense(&m, back);
        assert_memory_equal(back, w, (size_t)R * C * sizeof(float));
        double nb = (double)m.nnz / (br * bc);
        assert_true(sparse_bytes(&m, NULL) == 4.0 * m.nnz + 2.0 * nb + 4.0 * (sparse_units(&m) + 1) + 4.0 * C);
        for (int isa = SPARSE_ISA_SCALAR; isa <= SPARSE_ISA_AVX512; isa++) {
            if (sparse_use_isa(&m, (SparseIsa)isa) != TP_OK) continue;
            for (int acc = 0; acc <= 1; acc++) {
                th_fill_uniform(y0, 45 + 16, -2.0f, 2.0f, &rng);
                memcpy(y, y0, sizeof y);
                sparse_gemv(&m, y, x, acc);
                check_product(w, R, C, C, x, acc ? y0 : NULL, y, sparse_kind_name(KS[s]));
                for (int i = R; i < R + 16; i++) assert_true(y[i] == y0[i]);
            }
        }
        sparse_free(&m);
        /* random BSR: whole blocks at the density asked */
        assert_int_equal(sparse_random(&m, KS[s], 400, 256, 0.1, &rng), TP_OK);
        double f = (double)m.nnz / (400.0 * 256.0);
        assert_true(f > 0.08 && f < 0.12);
        sparse_free(&m);
    }
    SparseKind kk;
    assert_int_equal(sparse_kind_parse("bsr4x4", &kk), TP_OK);
    assert_int_equal(kk, SPARSE_BSR4X4);
    free(w);
    free(back);
}

/* sparse_random (benchmarks, the latency profiler): the density it promises and a correct layout. */
static void test_random_layouts(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 29);
    const int R = 300, C = 129;
    float *w = malloc((size_t)R * C * sizeof(float)), *x = malloc((size_t)C * sizeof(float));
    float *y = malloc((size_t)R * sizeof(float));
    assert_true(w && x && y);
    th_fill_uniform(x, (size_t)C, -1.0f, 1.0f, &rng);
    for (int k = 0; k < SPARSE_N_KINDS; k++) {
        SparseMatrix m;
        assert_int_equal(sparse_random(&m, (SparseKind)k, R, C, 0.1, &rng), TP_OK);
        sparse_to_dense(&m, w);
        size_t nz = 0;
        for (int r = 0; r < R; r++) {
            int c = sparse_count_nonzero(w + (size_t)r * C, C);
            if (k == SPARSE_ROW) assert_int_equal(c, 13); /* ceil(0.1 * 129), distinct columns */
            nz += (size_t)c;
        }
        double d = (double)nz / ((double)R * C);
        if (k == SPARSE_CSR || k == SPARSE_STATE_CSC || k == SPARSE_SELL || k == SPARSE_SELL_SEG) assert_true(d > 0.09 && d < 0.11);
        if (k == SPARSE_DENSE || k == SPARSE_STATE) assert_true(d == 1.0);
        sparse_gemv(&m, y, x, 0);
        check_product(w, R, C, C, x, NULL, y, sparse_kind_name((SparseKind)k));
        sparse_free(&m);
    }
    SparseMatrix m;
    assert_int_equal(sparse_random(&m, SPARSE_CSR, R, C, 0.0, &rng), TP_EINVAL);
    assert_int_equal(sparse_random(&m, SPARSE_CSR, R, C, 1.0, &rng), TP_OK);
    assert_int_equal((int)m.nnz, R * C);
    sparse_free(&m);
    free(w);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kernel_equals_dense),
        cmocka_unit_test(test_wide_and_tall_use_32bit_indices),
        cmocka_unit_test(test_row_balanced_keeps_exactly_k),
        cmocka_unit_test(test_state_kernels_skip_zero_inputs),
        cmocka_unit_test(test_batch_and_bytes),
        cmocka_unit_test(test_sell_sorts_rows_and_writes_only_its_rows),
        cmocka_unit_test(test_sell_sorts_within_windows),
        cmocka_unit_test(test_sell_seg_segments),
        cmocka_unit_test(test_random_layouts),
        cmocka_unit_test(test_bsr_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
