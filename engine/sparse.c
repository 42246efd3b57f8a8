/* engine/sparse: see sparse.h.  This file holds the layouts (conversion, bytes, dispatch); the vector
 * kernels are in sparse_simd.c. */
#include "sparse.h"
#include "rank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "backend.h"

#define BLK 16 /* rows per block of the ROW and SELL layouts: one AVX-512 vector */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static const char *const KIND_NAMES[SPARSE_N_KINDS] = {"dense", "csr",     "row",    "state",  "state-csc",
                                                        "sell",  "bsr16x1", "bsr8x1", "bsr4x4", "sell-seg"};

const char *sparse_kind_name(SparseKind k) { return (unsigned)k < SPARSE_N_KINDS ? KIND_NAMES[k] : "?"; }

TpStatus sparse_kind_parse(const char *s, SparseKind *k)
{
    for (int i = 0; i < SPARSE_N_KINDS; i++)
        if (!strcmp(s, KIND_NAMES[i])) {
            *k = (SparseKind)i;
            return TP_OK;
        }
    return err_set(TP_EINVAL, "sparse kernel '%s': expected dense, csr, row, state, state-csc, sell, sell-seg, bsr16x1, bsr8x1 or bsr4x4", s);
}

void sparse_free(SparseMatrix *m)
{
    MEM_FREE_ALL(m->val, m->idx, m->ptr, m->scratch, m->perm, m->seglen);
    memset(m, 0, sizeof *m);
}

int sparse_count_nonzero(const float *x, int n)
{
    int c = 0;
#pragma omp simd reduction(+ : c)
    for (int i = 0; i < n; i++) c += x[i] != 0.0f;
    return c;
}

double sparse_density(const float *w, int rows, int cols, int ld)
{
    if (rows <= 0 || cols <= 0) return 0.0;
    size_t nz = 0;
    for (int r = 0; r < rows; r++) nz += (size_t)sparse_count_nonzero(w + (size_t)r * ld, cols);
    return (double)nz / ((double)rows * cols);
}

static void set_idx(void *idx, int idx16, size_t p, int v)
{
    if (idx16) ((uint16_t *)idx)[p] = (uint16_t)v;
    else ((int32_t *)idx)[p] = v;
}

static int get_idx(const void *idx, int idx16, size_t p)
{
    return idx16 ? (int)((const uint16_t *)idx)[p] : ((const int32_t *)idx)[p];
}

static TpStatus check_sizes(int rows, int cols, int ld)
{
    if (rows < 1 || cols < 1 || ld < cols || rows > (1 << 30) / 4 || cols > (1 << 30) / 4)
        return err_set(TP_EINVAL, "sparse: bad matrix shape [%d, %d] (leading dimension %d)", rows, cols, ld);
    if ((double)rows * cols > 2147483647.0)
        return err_set(TP_ERANGE, "sparse: matrix [%d, %d] has more than 2^31 entries", rows, cols);
    return TP_OK;
}

/* CSR / CSC storage of m (kind, rows, cols set) for n entries: values, indices (16-bit when the inner
 * dimension allows), pointers, and CSC's scratch list.  TP_ENOMEM (m partly filled: sparse_free it). */
static TpStatus compressed_alloc(SparseMatrix *m, size_t n)
{
    const int csc = m->kind == SPARSE_STATE_CSC, outer = csc ? m->cols : m->rows;
    m->idx16 = (csc ? m->rows : m->cols) <= 65536;
    m->val = backend_alloc(n ? n : 1, sizeof(float));
    m->idx = backend_alloc(n ? n : 1, m->idx16 ? 2 : 4);
    m->ptr = backend_alloc((size_t)outer + 1, sizeof(int32_t));
    if (csc) m->scratch = backend_alloc((size_t)m->cols, sizeof(int32_t));
    return m->val && m->idx && m->ptr && (!csc || m->scratch) ? TP_OK : TP_ENOMEM;
}

/* ROW storage for `rows` rows of k entries in SELL-16 order; padding rows stay value 0, index 0. */
static TpStatus row_alloc(SparseMatrix *m, int rows, int cols, int k)
{
    size_t n = round16((size_t)rows) * (size_t)k;
    m->isa = sparse_isa();
    m->kind = SPARSE_ROW;
    m->rows = rows;
    m->cols = cols;
    m->k = k;
    m->nnz = (size_t)rows * k;
    m->idx16 = cols <= 65536;
    m->val = backend_alloc(n ? n : 1, sizeof(float));
    m->idx = backend_alloc(n ? n : 1, m->idx16 ? 2 : 4);
    if (!m->val || !m->idx) {
        sparse_free(m);
        return err_set(TP_ENOMEM, "sparse: out of memory for a row-balanced [%d, %d] k=%d", rows, cols, k);
    }
    return TP_OK;
}

static size_t row_pos(int r, int j, int k) { return ((size_t)(r / BLK) * k + j) * BLK + r % BLK; }

typedef struct {
    int n, r;
} RowCount;

#define SELL_SIGMA SPARSE_SELL_SIGMA

/* the window first; in it, more non-zeros first; ties: the lower row (a stable order, so the layout
 * is deterministic) */
static int by_count(const void *pa, const void *pb)
{
    const RowCount *a = pa, *b = pb;
    if (a->r / SELL_SIGMA != b->r / SELL_SIGMA) return a->r / SELL_SIGMA < b->r / SELL_SIGMA ? -1 : 1;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return (a->r > b->r) - (a->r < b->r);
}

/* The SELL row order (sparse.h): rows by non-zero count within windows of SELL_SIGMA rows.  rc [rows]
 * (malloc'ed; NULL when out of memory). */
static RowCount *sell_order(const float *w, int rows, int cols, int ld)
{
    RowCount *rc = malloc((size_t)rows * sizeof *rc);
    if (!rc) return NULL;
    for (int r = 0; r < rows; r++) rc[r] = (RowCount){sparse_count_nonzero(w + (size_t)r * ld, cols), r};
    qsort(rc, (size_t)rows, sizeof *rc, by_count);
    return rc;
}

/* val [n] and idx [n] of idx_bytes each, zeroed (padding reads value 0 at index 0); 0 when out of memory */
static int alloc_slots(SparseMatrix *m, size_t n, size_t idx_bytes)
{
    m->val = backend_alloc(n, sizeof(float));
    m->idx = backend_alloc(n, idx_bytes);
    if (!m->val || !m->idx) return 0;
    memset(m->val, 0, n * sizeof(float));
    memset(m->idx, 0, n * idx_bytes);
    return 1;
}

/* SELL-16-sigma (sparse.h): sort the rows by count, then fill blocks of 16 like ROW. */
static TpStatus sell_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld)
{
    const int nb = (rows + BLK - 1) / BLK;
    RowCount *rc = sell_order(w, rows, cols, ld);
    m->idx16 = cols <= 65536;
    m->ptr = backend_alloc((size_t)nb + 1, sizeof(int32_t));
    m->perm = backend_alloc((size_t)nb * BLK, sizeof(int32_t));
    if (!rc || !m->ptr || !m->perm) goto oom;
    size_t slots = 0;
    for (int b = 0; b < nb; b++) {
        m->ptr[b] = (int32_t)slots;
        slots += (size_t)rc[b * BLK].n; /* the block's longest row: rows are sorted in its window */
        if (slots > (size_t)INT32_MAX / BLK) {
            free(rc);
            sparse_free(m);
            return err_set(TP_ERANGE, "sparse: SELL [%d, %d] has too many entries", rows, cols);
        }
    }
    m->ptr[nb] = (int32_t)slots;
    if (!alloc_slots(m, slots * BLK + 1, m->idx16 ? 2 : 4)) goto oom;
    for (int i = 0; i < nb * BLK; i++) {
        const int b = i / BLK, l = i % BLK, len = m->ptr[b + 1] - m->ptr[b];
        if (i >= rows) { /* a padding lane: repeat a real row; the kernel never writes it */
            m->perm[i] = rc[rows - 1].r;
            continue;
        }
        const int r = rc[i].r;
        m->perm[i] = r;
        int j = 0, last = 0;
        for (int c = 0; c < cols; c++) {
            float v = w[(size_t)r * ld + c];
            if (v == 0.0f) continue;
            size_t q = ((size_t)m->ptr[b] + j++) * BLK + l;
            m->val[q] = v;
            set_idx(m->idx, m->idx16, q, c);
            last = c;
        }
        m->nnz += (size_t)j;
        /* padding of a short row: value 0 at its last column, so indices stay valid (as ROW) */
        for (; j < len; j++) set_idx(m->idx, m->idx16, ((size_t)m->ptr[b] + j) * BLK + l, last);
    }
    free(rc);
    return TP_OK;
oom:
    free(rc);
    sparse_free(m);
    return err_set(TP_ENOMEM, "sparse: out of memory for a sell [%d, %d]", rows, cols);
}

/* SELL-SEG (sparse.h): SELL's row order and blocks of 16, each block's entries cut by column segment
 * of SEG_W columns: segment s holds, for each of the 16 rows, its non-zeros in columns [SEG_W s,
 * SEG_W s + SEG_W) as 8-bit offsets, padded to the block's longest row in that segment
 * (seglen[b * nseg + s] steps of 16). */
static TpStatus seg_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld)
{
    const int nb = (rows + BLK - 1) / BLK, nseg = (cols + SPARSE_SEG_W - 1) / SPARSE_SEG_W;
    RowCount *rc = sell_order(w, rows, cols, ld);
    m->idx16 = 0;
    m->k = nseg;
    m->ptr = backend_alloc((size_t)nb + 1, sizeof(int32_t));
    m->perm = backend_alloc((size_t)nb * BLK, sizeof(int32_t));
    m->seglen = backend_alloc((size_t)nb * nseg, 1);
    if (!rc || !m->ptr || !m->perm || !m->seglen) goto oom;
    for (int i = 0; i < nb * BLK; i++) m->perm[i] = rc[i < rows ? i : rows - 1].r; /* padding lanes: a real row */
    size_t steps = 0;
    for (int b = 0; b < nb; b++) {
        m->ptr[b] = (int32_t)steps;
        for (int s = 0; s < nseg; s++) {
            const int c0 = s * SPARSE_SEG_W, c1 = c0 + SPARSE_SEG_W < cols ? c0 + SPARSE_SEG_W : cols;
            int len = 0;
            for (int l = 0; l < BLK && b * BLK + l < rows; l++) {
                const float *wr = w + (size_t)m->perm[b * BLK + l] * ld;
                int n = sparse_count_nonzero(wr + c0, c1 - c0);
                len = n > len ? n : len;
            }
            m->seglen[(size_t)b * nseg + s] = (uint8_t)len;
            steps += (size_t)len;
        }
        if (steps > (size_t)INT32_MAX / BLK) {
            free(rc);
            sparse_free(m);
            return err_set(TP_ERANGE, "sparse: sell-seg [%d, %d] has too many entries", rows, cols);
        }
    }
    m->ptr[nb] = (int32_t)steps;
    if (!alloc_slots(m, steps * BLK + 1, 1)) goto oom; /* padding: value 0 at offset 0, a column of the segment */
    uint8_t *idx = m->idx;
    for (int b = 0; b < nb; b++) {
        size_t q = (size_t)m->ptr[b];
        for (int s = 0; s < nseg; s++) {
            const int c0 = s * SPARSE_SEG_W, c1 = c0 + SPARSE_SEG_W < cols ? c0 + SPARSE_SEG_W : cols;
            for (int l = 0; l < BLK && b * BLK + l < rows; l++) {
                const float *wr = w + (size_t)m->perm[b * BLK + l] * ld;
                size_t j = q;
                for (int c = c0; c < c1; c++)
                    if (wr[c] != 0.0f) {
                        m->val[j * BLK + l] = wr[c];
                        idx[j * BLK + l] = (uint8_t)(c - c0);
                        j++;
                        m->nnz++;
                    }
            }
            q += m->seglen[(size_t)b * nseg + s];
        }
    }
    free(rc);
    return TP_OK;
oom:
    free(rc);
    sparse_free(m);
    return err_set(TP_ENOMEM, "sparse: out of memory for a sell-seg [%d, %d]", rows, cols);
}

TpStatus sparse_from_dense(SparseMatrix *m, SparseKind kind, const float *w, int rows, int cols, int ld)
{
    memset(m, 0, sizeof *m);
    TpStatus st = check_sizes(rows, cols, ld);
    if (st != TP_OK) return st;
    m->isa = sparse_isa();
    m->kind = kind;
    m->rows = rows;
    m->cols = cols;
    switch (kind) {
    case SPARSE_DENSE:
        m->nnz = (size_t)rows * cols;
        if (!(m->val = backend_alloc(m->nnz, sizeof(float)))) goto oom;
        for (int r = 0; r < rows; r++) memcpy(m->val + (size_t)r * cols, w + (size_t)r * ld, (size_t)cols * sizeof(float));
        return TP_OK;
    case SPARSE_STATE:
        m->nnz = (size_t)rows * cols;
        m->ld = (int)round16((size_t)rows);
        m->val = backend_alloc((size_t)cols * m->ld, sizeof(float));
        m->scratch = backend_alloc((size_t)cols, sizeof(int32_t));
        if (!m->val || !m->scratch) goto oom;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m->val[(size_t)c * m->ld + r] = w[(size_t)r * ld + c];
        return TP_OK;
    case SPARSE_CSR:
    case SPARSE_STATE_CSC: {
        int csc = kind == SPARSE_STATE_CSC, outer = csc ? cols : rows, inner = csc ? rows : cols;
        size_t nz = 0;
        for (int r = 0; r < rows; r++) nz += (size_t)sparse_count_nonzero(w + (size_t)r * ld, cols);
        m->nnz = nz;
        if (compressed_alloc(m, nz) != TP_OK) goto oom;
        size_t p = 0;
        for (int o = 0; o < outer; o++) {
            m->ptr[o] = (int32_t)p;
            for (int i = 0; i < inner; i++) {
                float v = csc ? w[(size_t)i * ld + o] : w[(size_t)o * ld + i];
                if (v == 0.0f) continue;
                m->val[p] = v;
                set_idx(m->idx, m->idx16, p++, i);
            }
        }
        m->ptr[outer] = (int32_t)p;
        return TP_OK;
    }
    case SPARSE_ROW: {
        int k = 0;
        for (int r = 0; r < rows; r++) {
            int c = sparse_count_nonzero(w + (size_t)r * ld, cols);
            k = c > k ? c : k;
        }
        if ((st = row_alloc(m, rows, cols, k)) != TP_OK) return st;
        for (int r = 0; r < rows; r++) {
            int j = 0;
            for (int c = 0; c < cols; c++) {
                float v = w[(size_t)r * ld + c];
                if (v == 0.0f) continue;
                m->val[row_pos(r, j, k)] = v;
                set_idx(m->idx, m->idx16, row_pos(r, j++, k), c);
            }
            /* padding of a short row: value 0 at its last column (or column 0), so indices stay valid */
            int last = j ? get_idx(m->idx, m->idx16, row_pos(r, j - 1, k)) : 0;
            for (; j < k; j++) set_idx(m->idx, m->idx16, row_pos(r, j, k), last);
        }
        return TP_OK;
    }
    case SPARSE_SELL:
        return sell_from_dense(m, w, rows, cols, ld);
    case SPARSE_SELL_SEG:
        return seg_from_dense(m, w, rows, cols, ld);
    case SPARSE_BSR16X1:
    case SPARSE_BSR8X1:
    case SPARSE_BSR4X4:
        return sparse_bsr_from_dense(m, w, rows, cols, ld);
    default:
        break;
    }
    return err_set(TP_EINVAL, "sparse: unknown layout %d", (int)kind);
oom:
    sparse_free(m);
    return err_set(TP_ENOMEM, "sparse: out of memory for a %s [%d, %d]", sparse_kind_name(kind), rows, cols);
}

static float rand_value(Rng *rng)
{
    float v = rng_range(rng, -0.1f, 0.1f);
    return v == 0.0f ? 0.05f : v;
}

/* Next kept position after p (geometric gap for keep probability d; d >= 1: p + 1). */
static long next_pos(long p, double d, Rng *rng)
{
    if (d >= 1.0) return p + 1;
    double u = rng_uniform(rng);
    return p + 1 + (long)floor(log(1.0 - u) / log(1.0 - d));
}

TpStatus sparse_random(SparseMatrix *m, SparseKind kind, int rows, int cols, double density, Rng *rng)
{
    memset(m, 0, sizeof *m);
    TpStatus st = check_sizes(rows, cols, cols);
    if (st != TP_OK) return st;
    if (!(density > 0.0 && density <= 1.0)) return err_set(TP_EINVAL, "sparse: random density %g, expected 0 < d <= 1", density);
    if (kind == SPARSE_ROW) {
        int k = (int)ceil(density * cols - 1e-9);
        k = k < 1 ? 1 : k > cols ? cols : k;
        if ((st = row_alloc(m, rows, cols, k)) != TP_OK) return st;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) { /* one column in each of k equal ranges: distinct, ascending */
                long lo = (long)j * cols / k, hi = (long)(j + 1) * cols / k;
                int c = (int)(lo + (long)(rng_uniform(rng) * (double)(hi - lo)));
                m->val[row_pos(r, j, k)] = rand_value(rng);
                set_idx(m->idx, m->idx16, row_pos(r, j, k), c < hi ? c : (int)hi - 1);
            }
        return TP_OK;
    }
    if (sparse_kind_is_bsr(kind)) { /* whole blocks, each kept with probability `density` */
        int br, bc;
        sparse_bsr_shape(kind, &br, &bc);
        float *w = backend_alloc((size_t)rows * cols, sizeof(float));
        if (!w) return err_set(TP_ENOMEM, "sparse: out of memory for a [%d, %d] matrix", rows, cols);
        for (int r0 = 0; r0 < rows; r0 += br)
            for (int c0 = 0; c0 < cols; c0 += bc)
                if (rng_uniform(rng) < density)
                    for (int i = r0; i < r0 + br && i < rows; i++)
                        for (int j = c0; j < c0 + bc && j < cols; j++) w[(size_t)i * cols + j] = rand_value(rng);
        st = sparse_from_dense(m, kind, w, rows, cols, cols);
        free(w);
        return st;
    }
    if (kind == SPARSE_SELL || kind == SPARSE_SELL_SEG) { /* a random CSR matrix, converted */
        SparseMatrix csr;
        if ((st = sparse_random(&csr, SPARSE_CSR, rows, cols, density, rng)) != TP_OK) return st;
        float *w = backend_alloc((size_t)rows * cols, sizeof(float));
        if (!w) {
            sparse_free(&csr);
            return err_set(TP_ENOMEM, "sparse: out of memory for a [%d, %d] matrix", rows, cols);
        }
        sparse_to_dense(&csr, w);
        sparse_free(&csr);
        st = sparse_from_dense(m, kind, w, rows, cols, cols);
        free(w);
        return st;
    }
    if (kind == SPARSE_CSR || kind == SPARSE_STATE_CSC) {
        int csc = kind == SPARSE_STATE_CSC, outer = csc ? cols : rows, inner = csc ? rows : cols;
        size_t cap = (size_t)((double)rows * cols * density * 1.1) + 64 + (size_t)outer;
        if (cap > (size_t)rows * cols) cap = (size_t)rows * cols;
        m->kind = kind;
        m->rows = rows;
        m->cols = cols;
        m->isa = sparse_isa();
        if (compressed_alloc(m, cap) != TP_OK) goto oom;
        size_t p = 0;
        for (int o = 0; o < outer; o++) {
            m->ptr[o] = (int32_t)p;
            for (long i = next_pos(-1, density, rng); i < inner && p < cap; i = next_pos(i, density, rng)) {
                m->val[p] = rand_value(rng);
                set_idx(m->idx, m->idx16, p++, (int)i);
            }
        }
        m->ptr[outer] = (int32_t)p;
        m->nnz = p;
        return TP_OK;
    }
    float *w = backend_alloc((size_t)rows * cols, sizeof(float));
    if (!w) return err_set(TP_ENOMEM, "sparse: out of memory for a [%d, %d] matrix", rows, cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++) w[i] = rand_value(rng);
    st = sparse_from_dense(m, kind, w, rows, cols, cols);
    free(w);
    return st;
oom:
    sparse_free(m);
    return err_set(TP_ENOMEM, "sparse: out of memory for a %s [%d, %d]", sparse_kind_name(kind), rows, cols);
}

TpStatus sparse_row_from_dense(SparseMatrix *m, const float *w, int rows, int cols, int ld, int k)
{
    memset(m, 0, sizeof *m);
    TpStatus st = check_sizes(rows, cols, ld);
    if (st != TP_OK) return st;
    if (k < 1 || k > cols) return err_set(TP_EINVAL, "sparse: row-balanced k=%d, expected 1..%d", k, cols);
    RankItem *rk = malloc((size_t)cols * sizeof *rk);
    if (!rk) return err_set(TP_ENOMEM, "sparse: out of memory");
    if ((st = row_alloc(m, rows, cols, k)) != TP_OK) {
        free(rk);
        return st;
    }
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) rk[c] = (RankItem){fabsf(w[(size_t)r * ld + c]), c};
        qsort(rk, (size_t)cols, sizeof *rk, rank_by_score); /* larger |w| first; ties: lower column first */
        qsort(rk, (size_t)k, sizeof *rk, rank_by_index); /* the kept k in column order: x is read forwards */
        for (int j = 0; j < k; j++) {
            m->val[row_pos(r, j, k)] = w[(size_t)r * ld + rk[j].idx];
            set_idx(m->idx, m->idx16, row_pos(r, j, k), rk[j].idx);
        }
    }
    free(rk);
    return TP_OK;
}

void sparse_to_dense(const SparseMatrix *m, float *w)
{
    const int R = m->rows, C = m->cols;
    memset(w, 0, (size_t)R * C * sizeof(float));
    switch (m->kind) {
    case SPARSE_DENSE:
        memcpy(w, m->val, (size_t)R * C * sizeof(float));
        break;
    case SPARSE_STATE:
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) w[(size_t)r * C + c] = m->val[(size_t)c * m->ld + r];
        break;
    case SPARSE_CSR:
        for (int r = 0; r < R; r++)
            for (int32_t p = m->ptr[r]; p < m->ptr[r + 1]; p++) w[(size_t)r * C + get_idx(m->idx, m->idx16, p)] = m->val[p];
        break;
    case SPARSE_STATE_CSC:
        for (int c = 0; c < C; c++)
            for (int32_t p = m->ptr[c]; p < m->ptr[c + 1]; p++) w[(size_t)get_idx(m->idx, m->idx16, p) * C + c] = m->val[p];
        break;
    case SPARSE_ROW:
        for (int r = 0; r < R; r++)
            for (int j = 0; j < m->k; j++) /* += : a padding zero may share its row's last column */
                w[(size_t)r * C + get_idx(m->idx, m->idx16, row_pos(r, j, m->k))] += m->val[row_pos(r, j, m->k)];
        break;
    case SPARSE_SELL:
        for (int i = 0; i < R; i++) {
            const int b = i / BLK, l = i % BLK, r = m->perm[i];
            for (int32_t j = m->ptr[b]; j < m->ptr[b + 1]; j++) /* += : padding zeros share a column */
                w[(size_t)r * C + get_idx(m->idx, m->idx16, (size_t)j * BLK + l)] += m->val[(size_t)j * BLK + l];
        }
        break;
    case SPARSE_SELL_SEG:
        for (int i = 0; i < R; i++) {
            const int b = i / BLK, l = i % BLK, r = m->perm[i];
            int32_t j = m->ptr[b];
            for (int s = 0; s < m->k; s++) /* += : padding zeros share a column */
                for (int e = j + m->seglen[(size_t)b * m->k + s]; j < e; j++)
                    w[(size_t)r * C + s * SPARSE_SEG_W + ((const uint8_t *)m->idx)[(size_t)j * BLK + l]] += m->val[(size_t)j * BLK + l];
        }
        break;
    case SPARSE_BSR16X1:
    case SPARSE_BSR8X1:
    case SPARSE_BSR4X4:
        sparse_bsr_to_dense(m, w);
        break;
    default:
        break;
    }
}

int sparse_units(const SparseMatrix *m)
{
    switch (m->kind) {
    case SPARSE_CSR: return m->rows;
    case SPARSE_ROW:
    case SPARSE_SELL:
    case SPARSE_SELL_SEG: return (m->rows + BLK - 1) / BLK;
    case SPARSE_BSR16X1:
    case SPARSE_BSR8X1:
    case SPARSE_BSR4X4: return (m->rows + m->br - 1) / m->br;
    default: return 1;
    }
}

/* Stored entries before split unit u (its work: padding and block zeros included). */
static double units_before(const SparseMatrix *m, int u)
{
    switch (m->kind) {
    case SPARSE_CSR: return m->ptr[u];
    case SPARSE_ROW: return (double)u * m->k;
    case SPARSE_SELL: return m->ptr[u];
    case SPARSE_SELL_SEG: return m->ptr[u] + 0.25 * u * m->k; /* + a quarter step per segment visited */
    default: return sparse_kind_is_bsr(m->kind) ? (double)m->ptr[u] + u : 0.0; /* + u: a block row's cost */
    }
}

int sparse_split(SparseMatrix *m, int parts)
{
    const int n = sparse_units(m);
    parts = parts < 1 ? 1 : parts > SPARSE_MAX_PARTS ? SPARSE_MAX_PARTS : parts;
    if (n < 2 || m->kind == SPARSE_DENSE) parts = 1;
    parts = parts > n ? n : parts;
    const double total = units_before(m, n);
    m->part[0] = 0;
    int u = 0;
    for (int p = 1; p < parts; p++) { /* the first unit where the work before reaches p/parts of it */
        const double goal = total * p / parts;
        while (u < n && units_before(m, u) < goal) u++;
        m->part[p] = u;
    }
    m->part[parts] = n;
    m->n_parts = parts;
    return parts;
}

void sparse_gemv_range(const SparseMatrix *m, float *y, const float *x, int acc, int lo, int hi)
{
    const SparseIsa isa = m->isa;
    switch (m->kind) {
    case SPARSE_DENSE:
        backend_sgemv(0, m->rows, m->cols, 1.0f, m->val, m->cols, x, acc ? 1.0f : 0.0f, y);
        break;
    case SPARSE_CSR:
        sparse_csr_kernel(isa, m, y, x, acc, lo, hi);
        break;
    case SPARSE_ROW:
        sparse_row_kernel(isa, m, y, x, acc, lo, hi);
        break;
    case SPARSE_STATE:
        sparse_state_kernel(isa, m, y, x, acc);
        break;
    case SPARSE_STATE_CSC:
        sparse_csc_kernel(isa, m, y, x, acc);
        break;
    case SPARSE_SELL:
        sparse_sell_kernel(isa, m, y, x, acc, lo, hi);
        break;
    case SPARSE_SELL_SEG:
        sparse_seg_kernel(isa, m, y, x, acc, lo, hi);
        break;
    case SPARSE_BSR16X1:
    case SPARSE_BSR8X1:
    case SPARSE_BSR4X4:
        sparse_bsr_kernel(isa, m, y, x, acc, lo, hi);
        break;
    default:
        break;
    }
}

void sparse_gemv(const SparseMatrix *m, float *y, const float *x, int acc)
{
    sparse_gemv_range(m, y, x, acc, 0, sparse_units(m));
}

void sparse_gemm(const SparseMatrix *m, float *Y, const float *X, int B, int acc)
{
    if (m->kind == SPARSE_DENSE && B > 1) {
        backend_sgemm(0, 1, B, m->rows, m->cols, 1.0f, X, m->cols, m->val, m->cols, acc ? 1.0f : 0.0f, Y, m->rows);
        return;
    }
    /* sparse layouts: one product per row of the batch; each reads the matrix again, but at the
     * small batches of inference the matrix stays in cache after the first */
    for (int b = 0; b < B; b++) sparse_gemv(m, Y + (size_t)b * m->rows, X + (size_t)b * m->cols, acc);
}

/* Matrix entries a product touches: all, or for the STATE kinds those of the columns of x's non-zeros. */
static double touched(const SparseMatrix *m, const float *x)
{
    if (m->kind == SPARSE_ROW) return (double)round16((size_t)m->rows) * m->k;
    if (m->kind == SPARSE_SELL || m->kind == SPARSE_SELL_SEG)
        return (double)m->ptr[(m->rows + BLK - 1) / BLK] * BLK; /* padding included */
    if (sparse_kind_is_bsr(m->kind)) return (double)m->nnz; /* block zeros included */
    if (m->kind != SPARSE_STATE && m->kind != SPARSE_STATE_CSC) return (double)m->nnz;
    double n = 0.0;
    for (int c = 0; c < m->cols; c++)
        if (!x || x[c] != 0.0f) n += m->kind == SPARSE_STATE ? (double)m->rows : (double)(m->ptr[c + 1] - m->ptr[c]);
    return n;
}

double sparse_bytes(const SparseMatrix *m, const float *x)
{
    double ib = m->idx16 ? 2.0 : 4.0, xb = 4.0 * m->cols, n = touched(m, x);
    switch (m->kind) {
    case SPARSE_DENSE:
    case SPARSE_STATE: return 4.0 * n + xb;
    case SPARSE_CSR: return (4.0 + ib) * n + 4.0 * (m->rows + 1) + xb;
    case SPARSE_ROW: return (4.0 + ib) * n + xb;
    case SPARSE_SELL: return (4.0 + ib) * n + 4.0 * ((m->rows + BLK - 1) / BLK + 1) + 4.0 * round16((size_t)m->rows) + xb;
    case SPARSE_SELL_SEG: /* 1-byte offsets, the block starts, the segment lengths, perm */
        return 5.0 * n + 4.0 * (sparse_units(m) + 1) + (double)sparse_units(m) * m->k + 4.0 * round16((size_t)m->rows) + xb;
    case SPARSE_STATE_CSC: return (4.0 + ib) * n + 4.0 * (m->cols + 1) + xb;
    case SPARSE_BSR16X1:
    case SPARSE_BSR8X1:
    case SPARSE_BSR4X4: return 4.0 * n + ib * n / (m->br * m->bc) + 4.0 * (sparse_units(m) + 1) + xb;
    default: return 0.0;
    }
}

double sparse_macs(const SparseMatrix *m, const float *x) { return touched(m, x); }
