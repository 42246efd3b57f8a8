/* engine/sparse_simd: the vector kernels of engine/sparse (see sparse.h), one function per layout,
 * index width and ISA; sparse_gemv picks one at run time (sparse_isa), so the binary stays
 * x86-64-v2 and still uses AVX-512 where the CPU has it.
 *
 * Shapes, and why:
 *   CSR   per row: gather x at 8 column indices, FMA with the values, two accumulators (a gather's
 *         latency is long; two chains keep two in flight), a masked tail on AVX-512, one horizontal
 *         sum per row.  The gathers bound it (about half a cycle per non-zero), not the bytes.  16-bit indices are widened in registers (vpmovzxwd), so the
 *         index stream costs 2 bytes per non-zero.
 *   ROW   SELL-16 (sparse.h): for a block of 16 rows, step j loads the j-th value of each of the 16
 *         rows (one aligned vector), gathers their 16 x's and FMAs into the 16 row sums: no
 *         horizontal sums at all, which is what equal work per row [BRDS] buys.
 *   SELL  the same block loop over blocks of their own length (rows sorted by count), the sums
 *         scattered to the rows perm names; on AVX-512 a masked scatter (a gather of y first when
 *         accumulating).  Against CSR at short rows (a pruned 10000 x 200 decoder, 17 non-zeros per
 *         row) it removes the per-row loop with its unpredictable trip count and the horizontal sum.
 *   SEG   SELL-SEG (sparse.h): SELL's blocks cut by column segments of 32; per segment the 32 x's sit
 *         in registers (AVX-512: two, one vpermt2ps per 16 entries; AVX2: four, vpermps in each and
 *         two blends), so there is no gather at all.  The sums leave like SELL's.
 *   STATE column-major W: the list of non-zero x_j first, then y += x_j W[:, j] four columns per pass
 *         (one load and store of y per four columns); plain loops the compiler vectorises for each
 *         target (the body is inlined into per-target wrappers).
 *   CSC   per non-zero x_j: y[row] += v x_j over the column's entries; scalar (unrolled) on every
 *         ISA: a 16-wide gather-FMA-scatter measured the same (within 5%, H = 200..1500) here.
 * The scalar versions are the portable fallback and the reference the tests compare each path with.
 */
#include "sparse.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPARSE_X86 1
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#endif

#define INLINE static inline __attribute__((always_inline))

/* ==== the vector path: the CPU's best, or forced; per matrix in m->isa ========================== */

static int detect_isa(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return SPARSE_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SPARSE_ISA_AVX2;
#endif
    return SPARSE_ISA_SCALAR;
}

static int g_best = -1;   /* what the CPU has          */
static int g_forced = -1; /* sparse_isa_set, -1 = none */

int sparse_isa_available(SparseIsa isa)
{
    if (g_best < 0) g_best = detect_isa();
    return (int)isa >= SPARSE_ISA_SCALAR && (int)isa <= g_best;
}

SparseIsa sparse_isa(void)
{
    if (g_best < 0) g_best = detect_isa();
    return (SparseIsa)(g_forced >= 0 ? g_forced : g_best);
}

TpStatus sparse_isa_set(SparseIsa isa)
{
    if (!sparse_isa_available(isa))
        return err_set(TP_ENOTAVAIL, "sparse: this CPU has no %s path (best: %s)", sparse_isa_name(isa),
                       sparse_isa_name(sparse_isa()));
    g_forced = (int)isa;
    return TP_OK;
}

const char *sparse_isa_name(SparseIsa isa)
{
    switch (isa) {
    case SPARSE_ISA_AVX512: return "avx512";
    case SPARSE_ISA_AVX2: return "avx2";
    case SPARSE_ISA_SCALAR: return "scalar";
    }
    return "?";
}

TpStatus sparse_use_isa(SparseMatrix *m, SparseIsa isa)
{
    if (!sparse_isa_available(isa)) return err_set(TP_ENOTAVAIL, "sparse: this CPU has no %s path", sparse_isa_name(isa));
    m->isa = isa;
    return TP_OK;
}


/* ==== scalar (portable) ======================================================================== */

#define CSR_SCALAR(NAME, IT)                                                                        \
    static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)      \
    {                                                                                               \
        const float *val = m->val;                                                                  \
        const IT *idx = m->idx;                                                                     \
        for (int r = lo; r < hi; r++) {                                                             \
            int32_t p = m->ptr[r], e = m->ptr[r + 1];                                               \
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;                                       \
            for (; p + 4 <= e; p += 4) {                                                            \
                s0 += val[p] * x[idx[p]];                                                           \
                s1 += val[p + 1] * x[idx[p + 1]];                                                   \
                s2 += val[p + 2] * x[idx[p + 2]];                                                   \
                s3 += val[p + 3] * x[idx[p + 3]];                                                   \
            }                                                                                       \
            for (; p < e; p++) s0 += val[p] * x[idx[p]];                                            \
            float v = (s0 + s1) + (s2 + s3);                                                        \
            y[r] = acc ? y[r] + v : v;                                                              \
        }                                                                                           \
    }
CSR_SCALAR(csr16_scalar, uint16_t)
CSR_SCALAR(csr32_scalar, int32_t)

/* ROW and SELL share their block: the 16 row sums of k entries stored [k][16] (sparse.h); ROW writes
 * them to 16 consecutive rows, SELL to the rows perm names. */
#define BLOCK_SCALAR(NAME, IT)                                                                      \
    static inline void NAME(float s[16], const float *v, const IT *ix, int k, const float *x)      \
    {                                                                                               \
        for (int l = 0; l < 16; l++) s[l] = 0.0f;                                                   \
        for (int j = 0; j < k; j++)                                                                 \
            for (int l = 0; l < 16; l++) s[l] += v[j * 16 + l] * x[ix[j * 16 + l]];                 \
    }
BLOCK_SCALAR(block16_scalar, uint16_t)
BLOCK_SCALAR(block32_scalar, int32_t)

/* The 16 sums of block b (n of its lanes real) into y: at rows 16b.. (perm NULL) or perm[16b..]. */
static inline void block_store(float *y, const float s[16], const int32_t *perm, int b, int n, int acc)
{
    for (int l = 0; l < n; l++) {
        int r = perm ? perm[b * 16 + l] : b * 16 + l;
        y[r] = acc ? y[r] + s[l] : s[l];
    }
}

#define ROW_SELL(ROWNAME, SELLNAME, IT, BLOCK, ATTR)                                                \
    ATTR static void ROWNAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const int k = m->k;                                                                         \
        float s[16];                                                                                \
        for (int b = lo; b < hi; b++) {                                                             \
            BLOCK(s, m->val + (size_t)b * k * 16, (const IT *)m->idx + (size_t)b * k * 16, k, x);   \
            block_store(y, s, NULL, b, m->rows - b * 16 < 16 ? m->rows - b * 16 : 16, acc);         \
        }                                                                                           \
    }                                                                                               \
    ATTR static void SELLNAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        float s[16];                                                                                \
        for (int b = lo; b < hi; b++) {                                                             \
            const size_t o = (size_t)m->ptr[b] * 16;                                                \
            BLOCK(s, m->val + o, (const IT *)m->idx + o, m->ptr[b + 1] - m->ptr[b], x);             \
            block_store(y, s, m->perm, b, m->rows - b * 16 < 16 ? m->rows - b * 16 : 16, acc);      \
        }                                                                                           \
    }
ROW_SELL(row16_scalar, sell16_scalar, uint16_t, block16_scalar, )
ROW_SELL(row32_scalar, sell32_scalar, int32_t, block32_scalar, )

/* SELL-SEG (sparse.h): block b's steps segment after segment; offsets are relative to the segment. */
static void seg_scalar(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    const uint8_t *idx = m->idx;
    float s[16];
    for (int b = lo; b < hi; b++) {
        for (int l = 0; l < 16; l++) s[l] = 0.0f;
        int32_t j = m->ptr[b];
        for (int g = 0; g < m->k; g++) {
            const float *xs = x + g * SPARSE_SEG_W;
            for (const int32_t e = j + m->seglen[(size_t)b * m->k + g]; j < e; j++)
                for (int l = 0; l < 16; l++) s[l] += m->val[(size_t)j * 16 + l] * xs[idx[(size_t)j * 16 + l]];
        }
        block_store(y, s, m->perm, b, m->rows - b * 16 < 16 ? m->rows - b * 16 : 16, acc);
    }
}

/* The sparse-state body, inlined into one wrapper per target so each is vectorised for it. */
INLINE void state_body(const SparseMatrix *m, float *restrict y, const float *restrict x, int acc)
{
    const int R = m->rows, C = m->cols;
    const size_t ld = (size_t)m->ld;
    int32_t *nz = m->scratch;
    int n = 0;
    for (int j = 0; j < C; j++)
        if (x[j] != 0.0f) nz[n++] = j;
    if (!acc) memset(y, 0, (size_t)R * sizeof(float));
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *restrict c0 = m->val + nz[i] * ld, *restrict c1 = m->val + nz[i + 1] * ld;
        const float *restrict c2 = m->val + nz[i + 2] * ld, *restrict c3 = m->val + nz[i + 3] * ld;
        const float a0 = x[nz[i]], a1 = x[nz[i + 1]], a2 = x[nz[i + 2]], a3 = x[nz[i + 3]];
#pragma omp simd
        for (int r = 0; r < R; r++) y[r] += (a0 * c0[r] + a1 * c1[r]) + (a2 * c2[r] + a3 * c3[r]);
    }
    for (; i < n; i++) {
        const float *restrict c0 = m->val + nz[i] * ld;
        const float a0 = x[nz[i]];
#pragma omp simd
        for (int r = 0; r < R; r++) y[r] += a0 * c0[r];
    }
}

static void state_scalar(const SparseMatrix *m, float *y, const float *x, int acc) { state_body(m, y, x, acc); }

#define CSC_BODY(IT)                                                                                \
    do {                                                                                            \
        const IT *idx = m->idx;                                                                     \
        if (!acc) memset(y, 0, (size_t)m->rows * sizeof(float));                                    \
        for (int j = 0; j < m->cols; j++) {                                                         \
            const float a = x[j];                                                                   \
            if (a == 0.0f) continue;                                                                \
            int32_t p = m->ptr[j], e = m->ptr[j + 1];                                               \
            for (; p + 4 <= e; p += 4) { /* distinct rows within a column: no dependence */         \
                y[idx[p]] += a * m->val[p];                                                         \
                y[idx[p + 1]] += a * m->val[p + 1];                                                 \
                y[idx[p + 2]] += a * m->val[p + 2];                                                 \
                y[idx[p + 3]] += a * m->val[p + 3];                                                 \
            }                                                                                       \
            for (; p < e; p++) y[idx[p]] += a * m->val[p];                                          \
        }                                                                                           \
    } while (0)

static void csc16_scalar(const SparseMatrix *m, float *y, const float *x, int acc) { CSC_BODY(uint16_t); }
static void csc32_scalar(const SparseMatrix *m, float *y, const float *x, int acc) { CSC_BODY(int32_t); }

#ifdef SPARSE_X86
/* ==== AVX2 ===================================================================================== */

T256 static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

T256 static inline __m256i idx8_u16(const uint16_t *p) { return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)); }
T256 static inline __m256i idx8_i32(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* CSR with 8-wide gathers, two accumulator chains; TAIL (a statement) may finish the last < 8 entries
 * in vector form (AVX-512VL masks), whatever it leaves runs scalar after the horizontal sum. */
#define CSR_GATHER8(NAME, IT, LOADIDX, ATTR, TAIL)                                                  \
    ATTR static void NAME(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const float *val = m->val;                                                                  \
        const IT *idx = m->idx;                                                                     \
        for (int r = lo; r < hi; r++) {                                                             \
            int32_t p = m->ptr[r], e = m->ptr[r + 1];                                               \
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                              \
            for (; p + 16 <= e; p += 16) {                                                          \
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(val + p), _mm256_i32gather_ps(x, LOADIDX(idx + p), 4), s0); \
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(val + p + 8), _mm256_i32gather_ps(x, LOADIDX(idx + p + 8), 4), s1); \
            }                                                                                       \
            if (p + 8 <= e) {                                                                       \
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(val + p), _mm256_i32gather_ps(x, LOADIDX(idx + p), 4), s0); \
                p += 8;                                                                             \
            }                                                                                       \
            TAIL                                                                                    \
            float v = hsum256(_mm256_add_ps(s0, s1));                                               \
            for (; p < e; p++) v += val[p] * x[idx[p]];                                             \
            y[r] = acc ? y[r] + v : v;                                                              \
        }                                                                                           \
    }
CSR_GATHER8(csr16_avx2, uint16_t, idx8_u16, T256, )
CSR_GATHER8(csr32_avx2, int32_t, idx8_i32, T256, )

#define BLOCK_AVX2(NAME, IT, LOADIDX)                                                               \
    T256 static inline void NAME(float s[16], const float *v, const IT *ix, int k, const float *x)  \
    {                                                                                               \
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();                                  \
        for (int j = 0; j < k; j++) {                                                               \
            lo = _mm256_fmadd_ps(_mm256_load_ps(v + j * 16), _mm256_i32gather_ps(x, LOADIDX(ix + j * 16), 4), lo); \
            hi = _mm256_fmadd_ps(_mm256_load_ps(v + j * 16 + 8), _mm256_i32gather_ps(x, LOADIDX(ix + j * 16 + 8), 4), hi); \
        }                                                                                           \
        _mm256_storeu_ps(s, lo);                                                                    \
        _mm256_storeu_ps(s + 8, hi);                                                                \
    }
BLOCK_AVX2(block16_avx2, uint16_t, idx8_u16)
BLOCK_AVX2(block32_avx2, int32_t, idx8_i32)
ROW_SELL(row16_avx2, sell16_avx2, uint16_t, block16_avx2, T256)
ROW_SELL(row32_avx2, sell32_avx2, int32_t, block32_avx2, T256)

T256 static void state_avx2(const SparseMatrix *m, float *y, const float *x, int acc) { state_body(m, y, x, acc); }

/* The 8 columns c0.. of x (c0 < cols), zeros past the end: one table of a segment. */
T256 static inline __m256 seg_table8(const float *x, int c0, int cols)
{
    if (c0 + 8 <= cols) return _mm256_loadu_ps(x + c0);
    if (c0 >= cols) return _mm256_setzero_ps();
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(x + c0, _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - c0), lane));
}

/* x at 8 segment offsets i (0..31) from the segment's four 8-float tables: vpermps in each, then
 * offset bits 3 and 4 (moved to the sign bit) pick the table. */
T256 static inline __m256 seg_look8(__m256i i, __m256 t0, __m256 t1, __m256 t2, __m256 t3)
{
    const __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(i, 28)), b4 = _mm256_castsi256_ps(_mm256_slli_epi32(i, 27));
    const __m256 a = _mm256_blendv_ps(_mm256_permutevar8x32_ps(t0, i), _mm256_permutevar8x32_ps(t1, i), b3);
    const __m256 c = _mm256_blendv_ps(_mm256_permutevar8x32_ps(t2, i), _mm256_permutevar8x32_ps(t3, i), b3);
    return _mm256_blendv_ps(a, c, b4);
}

T256 static void seg_avx2(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    const uint8_t *idx = m->idx;
    float s[16];
    for (int b = lo; b < hi; b++) {
        __m256 lo8 = _mm256_setzero_ps(), hi8 = _mm256_setzero_ps();
        int32_t j = m->ptr[b];
        for (int g = 0; g < m->k; g++) {
            const int len = m->seglen[(size_t)b * m->k + g], c0 = g * SPARSE_SEG_W;
            if (!len) continue;
            const __m256 t0 = seg_table8(x, c0, m->cols), t1 = seg_table8(x, c0 + 8, m->cols);
            const __m256 t2 = seg_table8(x, c0 + 16, m->cols), t3 = seg_table8(x, c0 + 24, m->cols);
            for (const int32_t e = j + len; j < e; j++) {
                const float *v = m->val + (size_t)j * 16;
                const uint8_t *o = idx + (size_t)j * 16;
                const __m256i i0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)o));
                const __m256i i1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(o + 8)));
                lo8 = _mm256_fmadd_ps(_mm256_load_ps(v), seg_look8(i0, t0, t1, t2, t3), lo8);
                hi8 = _mm256_fmadd_ps(_mm256_load_ps(v + 8), seg_look8(i1, t0, t1, t2, t3), hi8);
            }
        }
        _mm256_storeu_ps(s, lo8);
        _mm256_storeu_ps(s + 8, hi8);
        block_store(y, s, m->perm, b, m->rows - b * 16 < 16 ? m->rows - b * 16 : 16, acc);
    }
}

/* ==== AVX-512 ================================================================================== */

T512 static inline __m512i idx16_u16(const uint16_t *p) { return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)); }
T512 static inline __m512i idx16_i32(const int32_t *p) { return _mm512_loadu_si512((const void *)p); }

/* CSR on AVX-512 CPUs: 8-wide gathers (measured on the Xeon this was written on: 0.56 cycles per
 * non-zero against 0.70 for 16-wide gathers, H = 650, 10%), with the AVX-512VL masked tail instead
 * of a scalar one. */
T512 static inline __m256i idx8_u16_mask(const uint16_t *p, __mmask8 k) { return _mm256_cvtepu16_epi32(_mm_maskz_loadu_epi16(k, p)); }
T512 static inline __m256i idx8_i32_mask(const int32_t *p, __mmask8 k) { return _mm256_maskz_loadu_epi32(k, p); }

#define CSR_MASKED_TAIL(LOADIDXM)                                                                   \
    if (p < e) {                                                                                    \
        __mmask8 k = (__mmask8)((1u << (e - p)) - 1u);                                              \
        __m256 g = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), k, LOADIDXM(idx + p, k), x, 4);   \
        s1 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(k, val + p), g, s1);                             \
        p = e;                                                                                      \
    }
CSR_GATHER8(csr16_512, uint16_t, idx8_u16, T512, CSR_MASKED_TAIL(idx8_u16_mask))
CSR_GATHER8(csr32_512, int32_t, idx8_i32, T512, CSR_MASKED_TAIL(idx8_i32_mask))

/* ROW and SELL on AVX-512: one block's 16 sums stay in a register; ROW stores them to 16 consecutive
 * rows, SELL scatters them through perm (a gather of y first when accumulating). */
#define BLOCK_512(NAME, IT, LOADIDX)                                                                \
    T512 static inline __m512 NAME(const float *v, const IT *ix, int k, const float *x)            \
    {                                                                                               \
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();                                  \
        int j = 0;                                                                                  \
        for (; j + 2 <= k; j += 2) {                                                                \
            s0 = _mm512_fmadd_ps(_mm512_load_ps(v + j * 16), _mm512_i32gather_ps(LOADIDX(ix + j * 16), x, 4), s0); \
            s1 = _mm512_fmadd_ps(_mm512_load_ps(v + j * 16 + 16), _mm512_i32gather_ps(LOADIDX(ix + j * 16 + 16), x, 4), s1); \
        }                                                                                           \
        if (j < k) s0 = _mm512_fmadd_ps(_mm512_load_ps(v + j * 16), _mm512_i32gather_ps(LOADIDX(ix + j * 16), x, 4), s0); \
        return _mm512_add_ps(s0, s1);                                                               \
    }                                                                                               \
    T512 static void NAME##_row(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        const int k = m->k;                                                                         \
        for (int b = lo; b < hi; b++) {                                                             \
            __m512 s = NAME(m->val + (size_t)b * k * 16, (const IT *)m->idx + (size_t)b * k * 16, k, x); \
            int n = m->rows - b * 16 < 16 ? m->rows - b * 16 : 16;                                  \
            __mmask16 mk = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1u);                         \
            if (acc) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, y + b * 16));                   \
            _mm512_mask_storeu_ps(y + b * 16, mk, s);                                               \
        }                                                                                           \
    }                                                                                               \
    T512 static void NAME##_sell(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi) \
    {                                                                                               \
        for (int b = lo; b < hi; b++) {                                                             \
            const size_t o = (size_t)m->ptr[b] * 16;                                                \
            __m512 s = NAME(m->val + o, (const IT *)m->idx + o, m->ptr[b + 1] - m->ptr[b], x);      \
            int n = m->rows - b * 16 < 16 ? m->rows - b * 16 : 16;                                  \
            __mmask16 mk = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1u);                         \
            __m512i p = _mm512_load_si512((const void *)(m->perm + b * 16));                       \
            if (acc) s = _mm512_add_ps(s, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, p, y, 4)); \
            _mm512_mask_i32scatter_ps(y, mk, p, s, 4);                                              \
        }                                                                                           \
    }
BLOCK_512(block16_512, uint16_t, idx16_u16)
BLOCK_512(block32_512, int32_t, idx16_i32)

T512 static void state_512(const SparseMatrix *m, float *y, const float *x, int acc) { state_body(m, y, x, acc); }

/* SELL-SEG on AVX-512: the segment's 32 x's in two registers (masked loads past the last column),
 * one vpermt2ps per step of 16 offsets, two FMA chains.  The 16 sums are scattered through perm
 * (when accumulating, added to y lane by lane: a gather of y is what this layout avoids). */
T512 static void seg_512(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    const uint8_t *idx = m->idx;
    for (int b = lo; b < hi; b++) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        int32_t j = m->ptr[b];
        for (int g = 0; g < m->k; g++) {
            const int len = m->seglen[(size_t)b * m->k + g], c0 = g * SPARSE_SEG_W, rem = m->cols - c0;
            if (!len) continue;
            const __mmask16 ka = (__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u);
            const __mmask16 kb = (__mmask16)(rem >= 32 ? 0xFFFFu : rem <= 16 ? 0u : (1u << (rem - 16)) - 1u);
            const __m512 ta = _mm512_maskz_loadu_ps(ka, x + c0), tb = _mm512_maskz_loadu_ps(kb, x + c0 + 16);
            const float *v = m->val + (size_t)j * 16;
            const uint8_t *o = idx + (size_t)j * 16;
            int t = 0;
            for (; t + 2 <= len; t += 2) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o + t * 16)));
                const __m512i i1 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o + t * 16 + 16)));
                s0 = _mm512_fmadd_ps(_mm512_load_ps(v + t * 16), _mm512_permutex2var_ps(ta, i0, tb), s0);
                s1 = _mm512_fmadd_ps(_mm512_load_ps(v + t * 16 + 16), _mm512_permutex2var_ps(ta, i1, tb), s1);
            }
            if (t < len) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o + t * 16)));
                s0 = _mm512_fmadd_ps(_mm512_load_ps(v + t * 16), _mm512_permutex2var_ps(ta, i0, tb), s0);
            }
            j += len;
        }
        const __m512 sum = _mm512_add_ps(s0, s1);
        const int n = m->rows - b * 16 < 16 ? m->rows - b * 16 : 16;
        if (acc) {
            float s[16];
            _mm512_storeu_ps(s, sum);
            block_store(y, s, m->perm, b, n, 1);
        } else {
            const __mmask16 mk = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1u);
            _mm512_mask_i32scatter_ps(y, mk, _mm512_load_si512((const void *)(m->perm + b * 16)), sum, 4);
        }
    }
}
#endif /* SPARSE_X86 */

/* ==== dispatch ================================================================================= */

typedef void (*KernelFn)(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi);
typedef void (*WholeFn)(const SparseMatrix *m, float *y, const float *x, int acc);

/* [isa][0 = 16-bit indices, 1 = 32-bit]: the variants built for this target; an ISA whose variants
 * are not compiled in falls back to the scalar ones. */
#ifdef SPARSE_X86
static const KernelFn CSR[3][2] = {{csr16_scalar, csr32_scalar}, {csr16_avx2, csr32_avx2}, {csr16_512, csr32_512}};
static const KernelFn ROW[3][2] = {{row16_scalar, row32_scalar}, {row16_avx2, row32_avx2}, {block16_512_row, block32_512_row}};
static const KernelFn SELL[3][2] = {{sell16_scalar, sell32_scalar}, {sell16_avx2, sell32_avx2}, {block16_512_sell, block32_512_sell}};
static const WholeFn STATE[3] = {state_scalar, state_avx2, state_512};
static const KernelFn SEG[3] = {seg_scalar, seg_avx2, seg_512};
#else
static const KernelFn CSR[3][2] = {{csr16_scalar, csr32_scalar}, {csr16_scalar, csr32_scalar}, {csr16_scalar, csr32_scalar}};
static const KernelFn ROW[3][2] = {{row16_scalar, row32_scalar}, {row16_scalar, row32_scalar}, {row16_scalar, row32_scalar}};
static const KernelFn SELL[3][2] = {{sell16_scalar, sell32_scalar}, {sell16_scalar, sell32_scalar}, {sell16_scalar, sell32_scalar}};
static const WholeFn STATE[3] = {state_scalar, state_scalar, state_scalar};
static const KernelFn SEG[3] = {seg_scalar, seg_scalar, seg_scalar};
#endif

static int isa_index(SparseIsa isa) { return isa == SPARSE_ISA_AVX512 ? 2 : isa == SPARSE_ISA_AVX2 ? 1 : 0; }

void sparse_csr_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    CSR[isa_index(isa)][m->idx16 ? 0 : 1](m, y, x, acc, lo, hi);
}

void sparse_row_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    ROW[isa_index(isa)][m->idx16 ? 0 : 1](m, y, x, acc, lo, hi);
}

void sparse_sell_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    SELL[isa_index(isa)][m->idx16 ? 0 : 1](m, y, x, acc, lo, hi);
}

void sparse_seg_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    SEG[isa_index(isa)](m, y, x, acc, lo, hi);
}

void sparse_state_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc)
{
    STATE[isa_index(isa)](m, y, x, acc);
}

void sparse_csc_kernel(SparseIsa isa, const SparseMatrix *m, float *y, const float *x, int acc)
{
    (void)isa;
    (m->idx16 ? csc16_scalar : csc32_scalar)(m, y, x, acc);
}
