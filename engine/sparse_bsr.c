/* engine/sparse_bsr: the block sparse rows layouts of engine/sparse (SPARSE_BSR16X1, SPARSE_BSR8X1,
 * SPARSE_BSR4X4; see sparse.h): conversion and the scalar, AVX2+FMA and AVX-512 kernels.
 *
 * Kernel shape (per block row, over its stored blocks, in column order):
 *   16x1  one 16-float vector (the block's 16 rows at one column) FMA'd with a broadcast of x[c]:
 *         AVX-512 one zmm FMA per block, AVX2 two ymm; four accumulators (FMA latency), summed at the
 *         end of the block row and stored (masked) to its 16 rows of y.
 *   8x1   the same with one 8-float vector per block (a ymm FMA on both AVX2 and AVX-512).
 *   4x4   the block's 16 values, column-major (4 columns x 4 rows), against x[c..c+3] spread as
 *         x0 x0 x0 x0 x1 ... x3 (one 128-bit load and one permute): AVX-512 one zmm FMA per block,
 *         AVX2 two; the four column groups of the accumulator are summed into the block row's
 *         4 sums at the end.  The last block column of a matrix whose width is not a multiple of 4
 *         loads x masked (never beyond cols).
 * No gathers: x is read by address, one scalar or 128-bit load per block.  The scalar kernels are
 * plain loops on compile-time block shapes (the compiler vectorises them for the base target).
 */
#include "sparse.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BSR_X86 1
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#endif

int sparse_kind_is_bsr(SparseKind k) { return k == SPARSE_BSR16X1 || k == SPARSE_BSR8X1 || k == SPARSE_BSR4X4; }

void sparse_bsr_shape(SparseKind k, int *br, int *bc)
{
    *br = k == SPARSE_BSR16X1 ? 16 : k == SPARSE_BSR8X1 ? 8 : k == SPARSE_BSR4X4 ? 4 : 1;
    *bc = k == SPARSE_BSR4X4 ? 4 : 1;
}

static int block_nonzero(const float *w, int ld, int r0, int c0, int br, int bc, int rows, int cols)
{
    for (int i = r0; i < r0 + br && i < rows; i++)
        for (int j = c0; j < c0 + bc && j < cols; j++)
            if (w[(size_t)i * ld + j] != 0.0f) return 1;
    return 0;
}

double sparse_bsr_fill(const float *w, int rows, int cols, int ld, SparseKind k)
{
    int br, bc;
    sparse_bsr_shape(k, &br, &bc);
    if (rows < 1 || cols < 1) return 0.0;
    size_t n = 0;
    for (int r0 = 0; r0 < rows; r0 += br)
        for (int c0 = 0; c0 < cols; c0 += bc) n += (size_t)block_nonzero(w, ld, r0, c0, br, bc, rows, cols);
    return (double)n * br * bc / ((double)rows * cols);
}

TpStatus sparse_bsr_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld)
{
    int br, bc;
    sparse_bsr_shape(m->kind, &br, &bc);
    const int nbr = (rows + br - 1) / br;
    m->br = br;
    m->bc = bc;
    m->idx16 = cols <= 65536;
    m->ptr = backend_alloc((size_t)nbr + 1, sizeof(int32_t));
    if (!m->ptr) goto oom;
    size_t nb = 0;
    for (int b = 0; b < nbr; b++) {
        m->ptr[b] = (int32_t)nb;
        for (int c0 = 0; c0 < cols; c0 += bc) nb += (size_t)block_nonzero(w, ld, b * br, c0, br, bc, rows, cols);
        if (nb > (size_t)INT32_MAX / 16) {
            sparse_free(m);
            return err_set(TP_ERANGE, "sparse: BSR [%d, %d] has too many blocks", rows, cols);
        }
    }
    m->ptr[nbr] = (int32_t)nb;
    m->nnz = nb * (size_t)(br * bc);
    m->val = backend_alloc(m->nnz + 1, sizeof(float)); /* zeroed: the rows beyond `rows` stay 0 */
    m->idx = backend_alloc(nb + 1, m->idx16 ? 2 : 4);
    if (!m->val || !m->idx) goto oom;
    size_t p = 0;
    for (int b = 0; b < nbr; b++)
        for (int c0 = 0; c0 < cols; c0 += bc) {
            if (!block_nonzero(w, ld, b * br, c0, br, bc, rows, cols)) continue;
            float *v = m->val + p * (size_t)(br * bc);
            for (int j = 0; j < bc && c0 + j < cols; j++)
                for (int i = 0; i < br && b * br + i < rows; i++) v[j * br + i] = w[(size_t)(b * br + i) * ld + c0 + j];
            if (m->idx16) ((uint16_t *)m->idx)[p] = (uint16_t)c0;
            else ((int32_t *)m->idx)[p] = c0;
            p++;
        }
    return TP_OK;
oom:
    sparse_free(m);
    return err_set(TP_ENOMEM, "sparse: out of memory for a %s [%d, %d]", sparse_kind_name(m->kind), rows, cols);
}

static int col_of(const SparseMatrix *m, int32_t p)
{
    return m->idx16 ? (int)((const uint16_t *)m->idx)[p] : ((const int32_t *)m->idx)[p];
}

void sparse_bsr_to_dense(const SparseMatrix *m, float *w)
{
    const int br = m->br, bc = m->bc, nbr = (m->rows + br - 1) / br;
    for (int b = 0; b < nbr; b++)
        for (int32_t p = m->ptr[b]; p < m->ptr[b + 1]; p++) {
            const int c0 = col_of(m, p);
            const float *v = m->val + (size_t)p * (br * bc);
            for (int j = 0; j < bc && c0 + j < m->cols; j++)
                for (int i = 0; i < br && b * br + i < m->rows; i++) w[(size_t)(b * br + i) * m->cols + c0 + j] = v[j * br + i];
        }
}

/* ==== scalar ==================================================================================== */

#define BSR_SCALAR(NAME, IT, BR, BC)                                                                \
    static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)      \
    {                                                                                               \
        const IT *idx = m->idx;                                                                     \
        for (int b = lo; b < hi; b++) {                                                             \
            float s[BR] = {0};                                                                      \
            for (int32_t p = m->ptr[b]; p < m->ptr[b + 1]; p++) {                                   \
                const float *v = m->val + (size_t)p * (BR * BC);                                    \
                const int c0 = (int)idx[p], nj = m->cols - c0 < BC ? m->cols - c0 : BC;             \
                for (int j = 0; j < nj; j++) {                                                      \
                    const float a = x[c0 + j];                                                      \
                    for (int i = 0; i < BR; i++) s[i] += v[j * BR + i] * a;                         \
                }                                                                                   \
            }                                                                                       \
            const int r0 = b * BR, n = m->rows - r0 < BR ? m->rows - r0 : BR;                       \
            for (int i = 0; i < n; i++) y[r0 + i] = acc ? y[r0 + i] + s[i] : s[i];                  \
        }                                                                                           \
    }
BSR_SCALAR(b16x1_16_scalar, uint16_t, 16, 1)
BSR_SCALAR(b16x1_32_scalar, int32_t, 16, 1)
BSR_SCALAR(b8x1_16_scalar, uint16_t, 8, 1)
BSR_SCALAR(b8x1_32_scalar, int32_t, 8, 1)
BSR_SCALAR(b4x4_16_scalar, uint16_t, 4, 4)
BSR_SCALAR(b4x4_32_scalar, int32_t, 4, 4)

#ifdef BSR_X86
/* ==== AVX2 + FMA ================================================================================ */

/* y[r0..r0+n) (+)= t[0..n): the partial block at the bottom edge of W */
static inline void store_rows(float *y, int r0, int n, const float *t, int acc)
{
    for (int i = 0; i < n; i++) y[r0 + i] = acc ? y[r0 + i] + t[i] : t[i];
}

/* the n (<= 8) first lanes of s into y at r0, plain or accumulating */
T256 static inline void store8(float *y, int r0, int n, __m256 s, int acc)
{
    if (n == 8) {
        if (acc) s = _mm256_add_ps(s, _mm256_loadu_ps(y + r0));
        _mm256_storeu_ps(y + r0, s);
        return;
    }
    float t[8];
    _mm256_storeu_ps(t, s);
    store_rows(y, r0, n, t, acc);
}

#define BSR16X1_AVX2(NAME, IT)                                                                      \
    T256 static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const IT *idx = m->idx;                                                                     \
        for (int b = lo; b < hi; b++) {                                                             \
            int32_t p = m->ptr[b], e = m->ptr[b + 1];                                               \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, c0 = a0, c1 = a0;                             \
            for (; p + 2 <= e; p += 2) {                                                            \
                const float *v = m->val + (size_t)p * 16;                                           \
                __m256 x0 = _mm256_broadcast_ss(x + idx[p]), x1 = _mm256_broadcast_ss(x + idx[p + 1]); \
                a0 = _mm256_fmadd_ps(_mm256_load_ps(v), x0, a0);                                    \
                a1 = _mm256_fmadd_ps(_mm256_load_ps(v + 8), x0, a1);                                \
                c0 = _mm256_fmadd_ps(_mm256_load_ps(v + 16), x1, c0);                               \
                c1 = _mm256_fmadd_ps(_mm256_load_ps(v + 24), x1, c1);                               \
            }                                                                                       \
            if (p < e) {                                                                            \
                const float *v = m->val + (size_t)p * 16;                                           \
                __m256 x0 = _mm256_broadcast_ss(x + idx[p]);                                        \
                a0 = _mm256_fmadd_ps(_mm256_load_ps(v), x0, a0);                                    \
                a1 = _mm256_fmadd_ps(_mm256_load_ps(v + 8), x0, a1);                                \
            }                                                                                       \
            const int r0 = b * 16, n = m->rows - r0 < 16 ? m->rows - r0 : 16;                       \
            store8(y, r0, n < 8 ? n : 8, _mm256_add_ps(a0, c0), acc);                               \
            if (n > 8) store8(y, r0 + 8, n - 8, _mm256_add_ps(a1, c1), acc);                        \
        }                                                                                           \
    }
BSR16X1_AVX2(b16x1_16_avx2, uint16_t)
BSR16X1_AVX2(b16x1_32_avx2, int32_t)

/* A block of W rows in one register (8x1 on AVX2 and AVX-512 alike: one ymm; 16x1 on AVX-512: one zmm):
 * four accumulators over the block row's blocks, each one load of the block times a broadcast x. */
#define BSR_COLUMN(NAME, IT, ATTR, V, W, ZERO, FMA, LOAD, BCAST, ADD, STORE)                       \
    ATTR static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const IT *idx = m->idx;                                                                     \
        for (int b = lo; b < hi; b++) {                                                             \
            int32_t p = m->ptr[b], e = m->ptr[b + 1];                                               \
            V a0 = ZERO(), a1 = a0, a2 = a0, a3 = a0;                                               \
            for (; p + 4 <= e; p += 4) {                                                            \
                const float *v = m->val + (size_t)p * W;                                            \
                a0 = FMA(LOAD(v), BCAST(x + idx[p]), a0);                                           \
                a1 = FMA(LOAD(v + W), BCAST(x + idx[p + 1]), a1);                                   \
                a2 = FMA(LOAD(v + 2 * W), BCAST(x + idx[p + 2]), a2);                               \
                a3 = FMA(LOAD(v + 3 * W), BCAST(x + idx[p + 3]), a3);                               \
            }                                                                                       \
            for (; p < e; p++) a0 = FMA(LOAD(m->val + (size_t)p * W), BCAST(x + idx[p]), a0);       \
            const int r0 = b * W, n = m->rows - r0 < W ? m->rows - r0 : W;                          \
            STORE(y, r0, n, ADD(ADD(a0, a1), ADD(a2, a3)), acc);                                    \
        }                                                                                           \
    }
#define BCAST256(p) _mm256_broadcast_ss(p)
BSR_COLUMN(b8x1_16_avx2, uint16_t, T256, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_load_ps, BCAST256,
           _mm256_add_ps, store8)
BSR_COLUMN(b8x1_32_avx2, int32_t, T256, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_load_ps, BCAST256,
           _mm256_add_ps, store8)

/* x[c..c+3] (masked past cols) */
T256 static inline __m128 x4_load(const float *x, int c0, int cols)
{
    if (c0 + 4 <= cols) return _mm_loadu_ps(x + c0);
    const int n = cols - c0;
    __m128i k = _mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3));
    return _mm_maskload_ps(x + c0, k);
}

T256 static inline void store4(float *y, int r0, int n, __m128 s, int acc)
{
    float t[4];
    _mm_storeu_ps(t, s);
    store_rows(y, r0, n, t, acc);
}

#define BSR4X4_AVX2(NAME, IT)                                                                       \
    T256 static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const IT *idx = m->idx;                                                                     \
        const __m256i P01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), P23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3); \
        for (int b = lo; b < hi; b++) {                                                             \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                               \
            for (int32_t p = m->ptr[b]; p < m->ptr[b + 1]; p++) {                                   \
                const float *v = m->val + (size_t)p * 16;                                           \
                __m128 x4 = x4_load(x, (int)idx[p], m->cols);                                       \
                __m256 xx = _mm256_insertf128_ps(_mm256_castps128_ps256(x4), x4, 1);                \
                a0 = _mm256_fmadd_ps(_mm256_load_ps(v), _mm256_permutevar8x32_ps(xx, P01), a0);    \
                a1 = _mm256_fmadd_ps(_mm256_load_ps(v + 8), _mm256_permutevar8x32_ps(xx, P23), a1); \
            }                                                                                       \
            __m256 s = _mm256_add_ps(a0, a1);                                                       \
            const int r0 = b * 4, n = m->rows - r0 < 4 ? m->rows - r0 : 4;                          \
            store4(y, r0, n, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)), acc); \
        }                                                                                           \
    }
BSR4X4_AVX2(b4x4_16_avx2, uint16_t)
BSR4X4_AVX2(b4x4_32_avx2, int32_t)

/* ==== AVX-512 =================================================================================== */

/* y[r0..r0+n) (+)= s, n <= 16, masked */
T512 static inline void store16(float *y, int r0, int n, __m512 s, int acc)
{
    __mmask16 k = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1u);
    if (acc) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, y + r0));
    _mm512_mask_storeu_ps(y + r0, k, s);
}

#define BCAST512(p) _mm512_set1_ps(*(p))
BSR_COLUMN(b16x1_16_512, uint16_t, T512, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_load_ps, BCAST512,
           _mm512_add_ps, store16)
BSR_COLUMN(b16x1_32_512, int32_t, T512, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_load_ps, BCAST512,
           _mm512_add_ps, store16)

#define BSR4X4_512(NAME, IT)                                                                        \
    T512 static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const IT *idx = m->idx;                                                                     \
        const __m512i P = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);        \
        for (int b = lo; b < hi; b++) {                                                             \
            int32_t p = m->ptr[b], e = m->ptr[b + 1];                                               \
            __m512 a0 = _mm512_setzero_ps(), a1 = a0;                                               \
            for (; p < e; p++) {                                                                    \
                const int c0 = (int)idx[p];                                                         \
                __m128 x4 = c0 + 4 <= m->cols ? _mm_loadu_ps(x + c0)                                \
                                              : _mm_maskz_loadu_ps((__mmask8)((1u << (m->cols - c0)) - 1u), x + c0); \
                __m512 xx = _mm512_permutexvar_ps(P, _mm512_castps128_ps512(x4));                   \
                if ((p & 1) == 0) a0 = _mm512_fmadd_ps(_mm512_load_ps(m->val + (size_t)p * 16), xx, a0); \
                else a1 = _mm512_fmadd_ps(_mm512_load_ps(m->val + (size_t)p * 16), xx, a1);         \
            }                                                                                       \
            __m512 s = _mm512_add_ps(a0, a1);                                                       \
            __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));      \
            const int r0 = b * 4, n = m->rows - r0 < 4 ? m->rows - r0 : 4;                          \
            store4(y, r0, n, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)), acc); \
        }                                                                                           \
    }
BSR4X4_512(b4x4_16_512, uint16_t)
BSR4X4_512(b4x4_32_512, int32_t)
#endif /* BSR_X86 */

typedef void (*BsrFn)(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);

/* [shape 16x1, 8x1, 4x4][isa][16-bit, 32-bit indices] */
#ifdef BSR_X86
static const BsrFn BSR[3][3][2] = {
    {{b16x1_16_scalar, b16x1_32_scalar}, {b16x1_16_avx2, b16x1_32_avx2}, {b16x1_16_512, b16x1_32_512}},
    {{b8x1_16_scalar, b8x1_32_scalar}, {b8x1_16_avx2, b8x1_32_avx2}, {b8x1_16_avx2, b8x1_32_avx2}},
    {{b4x4_16_scalar, b4x4_32_scalar}, {b4x4_16_avx2, b4x4_32_avx2}, {b4x4_16_512, b4x4_32_512}},
};
#else
static const BsrFn BSR[3][3][2] = {
    {{b16x1_16_scalar, b16x1_32_scalar}, {b16x1_16_scalar, b16x1_32_scalar}, {b16x1_16_scalar, b16x1_32_scalar}},
    {{b8x1_16_scalar, b8x1_32_scalar}, {b8x1_16_scalar, b8x1_32_scalar}, {b8x1_16_scalar, b8x1_32_scalar}},
    {{b4x4_16_scalar, b4x4_32_scalar}, {b4x4_16_scalar, b4x4_32_scalar}, {b4x4_16_scalar, b4x4_32_scalar}},
};
#endif

void sparse_bsr_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    const int shape = m->kind == SPARSE_BSR16X1 ? 0 : m->kind == SPARSE_BSR8X1 ? 1 : 2;
    const int i = isa == SPARSE_ISA_AVX512 ? 2 : isa == SPARSE_ISA_AVX2 ? 1 : 0;
    BSR[shape][i][m->idx16 ? 0 : 1](m, y, x, acc, lo, hi);
}
