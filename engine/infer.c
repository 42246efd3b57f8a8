/* engine/infer: see infer.h.  Compiled with -O3 (the step's elementwise loops). */
#include "infer.h"
#include "base/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "backend.h"
#include "corpus.h"
#include "lstm.h"
#include "vmath.h"

void infer_options_defaults(InferOptions *o)
{
    memset(o, 0, sizeof *o);
    o->trim = 1;
    o->force = -1;
    o->state_kernel = 1;
    o->tie = 0.15;
    o->directions = -1;
}

/* ==== trimming ================================================================================== */

/* For each index of axis a (n entries): the layer and unit it indexes, or layer -1 (a fixed entry). */
static void axis_units(int *layer, int *unit, const ModelAxis *a, const ModelConfig *cfg, int n)
{
    for (int i = 0; i < n; i++) {
        layer[i] = unit[i] = -1;
        for (int l = 0; l < cfg->n_layers && layer[i] < 0; l++) {
            int u = model_axis_unit(a, cfg, i, l);
            if (u >= 0) layer[i] = l, unit[i] = u;
        }
    }
}

/* An independent copy of m's parameters and masks (gradients zero, no activation buffers). */
static TpStatus model_copy(Model *out, const Model *m)
{
    Rng rng;
    rng_seed(&rng, 1);
    TpStatus st = model_init(out, &m->cfg, &rng);
    if (st != TP_OK) return st;
    memcpy(out->w, m->w, m->n_params * sizeof(float));
    memcpy(out->mask, m->mask, m->n_params);
    return TP_OK;
}

TpStatus infer_trim(Model *out, const Model *m, int *kept[MODEL_MAX_LAYERS])
{
    const ModelConfig *cfg = &m->cfg;
    const int L = cfg->n_layers;
    uint8_t *need[MODEL_MAX_LAYERS] = {0};
    int *map[MODEL_MAX_LAYERS] = {0};
    int max_dim = 1;
    for (int t = 0; t < m->n_tensors; t++) {
        max_dim = m->p[t].rows > max_dim ? m->p[t].rows : max_dim;
        max_dim = m->p[t].cols > max_dim ? m->p[t].cols : max_dim;
    }
    int *rl = malloc((size_t)max_dim * sizeof(int)), *ru = malloc((size_t)max_dim * sizeof(int));
    int *cl = malloc((size_t)max_dim * sizeof(int)), *cu = malloc((size_t)max_dim * sizeof(int));
    TpStatus st = TP_OK;
    memset(out, 0, sizeof *out);
    int ok = rl && ru && cl && cu;
    for (int l = 0; l < L && ok; l++) ok = (need[l] = calloc((size_t)cfg->hidden[l], 1)) != NULL;
    if (!ok) {
        st = err_set(TP_ENOMEM, "trim: out of memory");
        goto done;
    }
    /* tied: embed.weight's columns are the last layer's units as the decoder reads them, and its width
     * must stay the last layer's, so every unit of that layer is kept */
    if (cfg->tie) memset(need[L - 1], 1, (size_t)cfg->hidden[L - 1]);
    /* reachability from the decoder: a kept row (fixed, or of a kept unit) makes every unit it reads
     * through a non-zero weight kept; repeat until nothing changes */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int t = 0; t < m->n_tensors; t++) {
            const ModelParam *p = &m->p[t];
            if (p->kind != PARAM_WEIGHT) continue;
            axis_units(rl, ru, &p->axis[0], cfg, p->rows);
            axis_units(cl, cu, &p->axis[1], cfg, p->cols);
            for (int r = 0; r < p->rows; r++) {
                if (rl[r] >= 0 && !need[rl[r]][ru[r]]) continue;
                const float *w = m->w + p->off + (size_t)r * p->cols;
                for (int c = 0; c < p->cols; c++)
                    if (cl[c] >= 0 && !need[cl[c]][cu[c]] && w[c] != 0.0f) need[cl[c]][cu[c]] = changed = 1;
            }
        }
    }
    ModelConfig nc = *cfg;
    for (int l = 0; l < L; l++) {
        int n = 0;
        if (!(map[l] = malloc((size_t)cfg->hidden[l] * sizeof(int)))) {
            st = err_set(TP_ENOMEM, "trim: out of memory");
            goto done;
        }
        for (int j = 0; j < cfg->hidden[l]; j++)
            if (need[l][j]) map[l][n++] = j;
        if (n == 0) map[l][n++] = 0; /* a layer keeps one unit (nothing reads it) */
        nc.hidden[l] = n;
    }
    if ((st = model_copy(out, m)) != TP_OK) goto done;
    if ((st = model_relayout(out, &nc, (const int *const *)map, NULL, 0)) != TP_OK) {
        model_free(out);
        goto done;
    }
    if (kept)
        for (int l = 0; l < L; l++) kept[l] = map[l], map[l] = NULL;
done:
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        free(need[l]);
        free(map[l]);
    }
    free(rl);
    free(ru);
    free(cl);
    free(cu);
    return st;
}

/* ==== building ================================================================================== */

static int max_row_nnz(const float *w, int R, int C, int ld)
{
    int k = 0;
    for (int r = 0; r < R; r++) {
        int c = sparse_count_nonzero(w + (size_t)r * ld, C);
        k = c > k ? c : k;
    }
    return k;
}

/* What the time of layout k's kernel is proportional to (breakeven.h): non-zeros; k per row (ROW);
 * for the column-major kernel a dense x (state density 1: measured, it can beat sgemv outright);
 * the stored blocks (BSR). */
static double work_density(int k, const float *w, int R, int C, int ld, double density)
{
    if (k == SPARSE_ROW) return (double)max_row_nnz(w, R, C, ld) / C;
    if (k == SPARSE_STATE) return 1.0;
    if (sparse_kind_is_bsr((SparseKind)k)) return sparse_bsr_fill(w, R, C, ld, (SparseKind)k);
    return density;
}

void infer_kernels_init(InferKernels *k, const InferOptions *o, float tau)
{
    memset(k, 0, sizeof *k);
    if (o && o->cost) k->cost = *o->cost;
    else breakeven_default(&k->cost);
    k->state_kernel = o ? o->state_kernel : 1;
    k->tau = tau;
}

void infer_kernels_free(InferKernels *k)
{
    sparse_pool_free(k->pool);
    k->pool = NULL;
}

/* W in variant c (layout, vector path, row split for its threads; the pool made on first need). */
static TpStatus build_variant(InferKernels *k, SparseMatrix *out, const BreakevenChoice *c, const float *w, int R,
                              int C, int ld)
{
    TpStatus st = sparse_from_dense(out, c->kind, w, R, C, ld);
    if (st == TP_OK && c->kind != SPARSE_DENSE) st = sparse_use_isa(out, c->isa);
    if (st == TP_OK && c->threads > 1) {
        if (!k->pool) st = sparse_pool_create(&k->pool, c->threads);
        if (st == TP_OK) sparse_split(out, c->threads);
    }
    return st;
}

/* ---- grouped rows (infer.h): W' = W[perm], rows of identical support adjacent ---- */

/* The scatter of a grouped variant, in the cost model's unit (the time of dense sgemv of the same
 * matrix, proportional to its R C entries): the scatter reads tmp[i] and perm[i] and read-modify-writes
 * y[perm[i]] once per row, unvectorized (a scattered store), about 1-2 cycles a row with y in cache;
 * dense sgemv streams an entry in about 0.1 (in cache, vector FMAs) to 0.7 cycles (from memory).  So
 * a row's scatter is counted as GROUP_SCATTER_ENTRIES dense entries, the middle of that range:
 * + GROUP_SCATTER_ENTRIES R / (R C) = 8 / C (0.04 for the [10000, 200] decoder it is meant for; 0.2
 * at C = 40, where grouping must save much more to win).  The kernel's own writes of y are in its
 * fit already (its intercept a). */
#define GROUP_SCATTER_ENTRIES 8.0

/* A row's support (bitset of its non-zero columns) and its hash, the sort key of group_rows. */
typedef struct {
    uint64_t hash;
    const uint64_t *bits; /* [nw] */
    int nw;
    int32_t row;
} RowKey;

static int cmp_rowkey(const void *pa, const void *pb)
{
    const RowKey *a = pa, *b = pb;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    for (int i = 0; i < a->nw; i++)
        if (a->bits[i] != b->bits[i]) return a->bits[i] < b->bits[i] ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* a run of rows of one support in the sorted keys: key[start..start+take) go to the head */
typedef struct {
    int32_t first, start, take;
} RowRun;

static int cmp_rowrun(const void *pa, const void *pb)
{
    const RowRun *a = pa, *b = pb;
    return (a->first > b->first) - (a->first < b->first);
}

/* perm [R]: W's rows grouped by support.  The rows are sorted by (hash of the support, the support
 * compared exactly, row), which makes rows of identical support adjacent (a class); deterministic.  A
 * class of n >= br rows puts floor(n / br) br of them (ascending) at the head, the classes in the order
 * of their first row, so that each fills whole block rows of height br; every other row (a class's
 * remainder, a row whose support is shared by fewer than br rows) follows in natural order, so that a
 * leftover never shifts a later class off the block grid.  *moved = 0 when perm is the identity (no
 * class of br rows, or blocked in natural order already).  TP_ENOMEM. */
static TpStatus group_rows(int32_t *perm, int *moved, const float *w, int R, int C, int ld, int br)
{
    const int nw = (C + 63) / 64;
    uint64_t *bits = calloc((size_t)R * nw, sizeof(uint64_t));
    RowKey *key = malloc((size_t)R * sizeof *key);
    RowRun *run = malloc((size_t)R * sizeof *run);
    uint8_t *head = calloc((size_t)R, 1);
    if (!bits || !key || !run || !head) {
        MEM_FREE_ALL(bits, key, run, head);
        return err_set(TP_ENOMEM, "runtime: out of memory grouping rows");
    }
    for (int r = 0; r < R; r++) {
        uint64_t *b = bits + (size_t)r * nw, h = 1469598103934665603ull;
        const float *row = w + (size_t)r * ld;
        for (int c = 0; c < C; c++)
            if (row[c] != 0.0f) b[c >> 6] |= 1ull << (c & 63);
        for (int i = 0; i < nw; i++) {
            h = (h ^ b[i]) * 1099511628211ull; /* FNV-1a over words, then a shift so high bits mix down */
            h ^= h >> 29;
        }
        key[r] = (RowKey){h, b, nw, r};
    }
    qsort(key, (size_t)R, sizeof *key, cmp_rowkey);
    int n_run = 0;
    for (int i = 0; i < R;) {
        int j = i + 1;
        while (j < R && key[j].hash == key[i].hash && !memcmp(key[j].bits, key[i].bits, (size_t)nw * sizeof(uint64_t))) j++;
        if (j - i >= br) run[n_run++] = (RowRun){key[i].row, i, (j - i) / br * br}; /* key[i]: the class's first row */
        i = j;
    }
    qsort(run, (size_t)n_run, sizeof *run, cmp_rowrun);
    int n = 0;
    for (int q = 0; q < n_run; q++)
        for (int i = run[q].start; i < run[q].start + run[q].take; i++) {
            perm[n++] = key[i].row;
            head[key[i].row] = 1;
        }
    for (int r = 0; r < R; r++)
        if (!head[r]) perm[n++] = r;
    *moved = 0;
    for (int i = 0; i < R && !*moved; i++) *moved = perm[i] != i;
    MEM_FREE_ALL(bits, key, run, head);
    return TP_OK;
}

/* W[perm] as a dense [R, C] (leading dimension C), malloc'd; NULL when out of memory. */
static float *permute_rows(const float *w, const int32_t *perm, int R, int C, int ld)
{
    float *p = malloc((size_t)R * C * sizeof(float));
    if (p)
        for (int i = 0; i < R; i++) memcpy(p + (size_t)i * C, w + (size_t)perm[i] * ld, (size_t)C * sizeof(float));
    return p;
}

/* The grouped variant of BSR layout `kind` as a candidate: *perm (malloc'd) and *c, costed at the fill
 * of W[perm] plus the scatter, when W[perm] fills strictly less than W in natural order (`natural`,
 * its sparse_bsr_fill); else *perm = NULL (the variant would be pointless).  TP_ENOMEM. */
static TpStatus grouped_candidate(BreakevenChoice *c, int32_t **perm, const Breakeven *be, SparseKind kind,
                                  double natural, const float *w, int R, int C, int ld, double dense_bytes)
{
    int br, bc;
    sparse_bsr_shape(kind, &br, &bc);
    *perm = NULL;
    if (R <= br || !(natural > 0.0)) return TP_OK; /* one block row, or nothing stored: nothing to gain */
    int32_t *p = malloc((size_t)R * sizeof *p);
    if (!p) return err_set(TP_ENOMEM, "runtime: out of memory grouping rows");
    int moved = 0;
    TpStatus st = group_rows(p, &moved, w, R, C, ld, br);
    float *wp = st == TP_OK && moved ? permute_rows(w, p, R, C, ld) : NULL;
    if (st == TP_OK && moved && !wp) st = err_set(TP_ENOMEM, "runtime: out of memory grouping rows");
    double fill = wp ? sparse_bsr_fill(wp, R, C, C, kind) : natural;
    free(wp);
    if (st != TP_OK || !(fill < natural)) {
        free(p);
        return st;
    }
    *c = breakeven_best(be, kind, dense_bytes, fill);
    c->cost += GROUP_SCATTER_ENTRIES / C;
    c->grouped = 1;
    *perm = p;
    return TP_OK;
}

/* x's layout in variant c: W itself, or for a grouped variant W[perm] with x's own copy of perm and
 * its scratch.  On failure x holds what was made (infer_matrix_free releases it). */
static TpStatus build_matrix(InferKernels *k, InferMatrix *x, const BreakevenChoice *c, const float *w, int R, int C,
                             int ld, const int32_t *perm)
{
    if (!c->grouped) return build_variant(k, &x->w, c, w, R, C, ld);
    float *wp = permute_rows(w, perm, R, C, ld);
    x->perm = malloc((size_t)R * sizeof(int32_t));
    x->scratch = backend_alloc((size_t)INFER_GROUP_BATCH * R, sizeof(float));
    TpStatus st = wp && x->perm && x->scratch ? TP_OK : err_set(TP_ENOMEM, "runtime: out of memory grouping rows");
    if (st == TP_OK) {
        memcpy(x->perm, perm, (size_t)R * sizeof(int32_t));
        st = build_variant(k, &x->w, c, wp, R, C, C);
    }
    free(wp);
    return st;
}

void infer_matrix_free(InferMatrix *x)
{
    sparse_free(&x->w);
    sparse_free(&x->st);
    MEM_FREE_ALL(x->perm, x->scratch);
    x->perm = NULL;
    x->scratch = NULL;
}

/* y[perm[i]] (=|+=) t[i]: a grouped product's rows back to W's order */
static void scatter(float *y, const float *t, const int32_t *perm, int R, int acc)
{
    if (acc)
        for (int i = 0; i < R; i++) y[perm[i]] += t[i];
    else
        for (int i = 0; i < R; i++) y[perm[i]] = t[i];
}

void infer_matrix_gemv(InferKernels *k, InferMatrix *x, float *y, const float *in, int acc)
{
    if (!x->perm) {
        sparse_pool_gemv(k->pool, &x->w, y, in, acc);
        return;
    }
    sparse_pool_gemv(k->pool, &x->w, x->scratch, in, 0);
    scatter(y, x->scratch, x->perm, x->w.rows, acc);
}

void infer_matrix_gemm(InferKernels *k, InferMatrix *x, float *Y, const float *X, int B, int acc)
{
    if (!x->perm) {
        sparse_pool_gemm(k->pool, &x->w, Y, X, B, acc);
        return;
    }
    const int R = x->w.rows, C = x->w.cols;
    for (int b0 = 0; b0 < B; b0 += INFER_GROUP_BATCH) { /* in chunks the scratch holds */
        int nb = B - b0 < INFER_GROUP_BATCH ? B - b0 : INFER_GROUP_BATCH;
        sparse_pool_gemm(k->pool, &x->w, x->scratch, X + (size_t)b0 * C, nb, 0);
        for (int b = 0; b < nb; b++) scatter(Y + (size_t)(b0 + b) * R, x->scratch + (size_t)b * R, x->perm, R, acc);
    }
}

/* the permutation of choice c among the grouped candidates gperm[0] (bsr16x1), gperm[1] (bsr8x1) */
static const int32_t *group_perm(const BreakevenChoice *c, int32_t *const gperm[2])
{
    return c->grouped ? gperm[c->kind == SPARSE_BSR16X1 ? 0 : 1] : NULL;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The variants of ch predicted within `tie` of *best (at most 4, best first) are built and timed on
 * this matrix: 7 interleaved rounds of ~0.3 ms of products on a fixed x each, the median per call
 * kept; the fastest becomes *best (its cost scaled by the measured ratio).  A cost model is a fit
 * over a few sizes and densities; two layouts it ranks within noise of each other can differ by 2x
 * on a particular matrix (row lengths, block fill, cache), so a near-tie is decided by the clock. */
static TpStatus settle_tie(InferKernels *k, InferMatrix *x, BreakevenChoice *best, const BreakevenChoice *ch, int n_ch,
                           double tie, const float *w, int R, int C, int ld, int32_t *const gperm[2])
{
    enum { MAX_TIED = 4, ROUNDS = 7 };
    BreakevenChoice tied[MAX_TIED];
    int n = 0;
    tied[n++] = *best;
    for (int i = 0; i < n_ch && n < MAX_TIED; i++) {
        const BreakevenChoice *c = &ch[i];
        int same = c->kind == best->kind && c->isa == best->isa && c->threads == best->threads && c->grouped == best->grouped;
        if (!same && isfinite(c->cost) && c->cost <= best->cost * (1.0 + tie)) tied[n++] = *c;
    }
    if (n < 2) return TP_OK;
    InferMatrix mv[MAX_TIED]; /* a grouped variant is timed with its scatter */
    memset(mv, 0, sizeof mv);
    float *xv = backend_alloc((size_t)C, sizeof(float)), *yv = backend_alloc((size_t)R, sizeof(float));
    TpStatus st = xv && yv ? TP_OK : err_set(TP_ENOMEM, "runtime: out of memory timing %s", x->name);
    for (int i = 0; i < n && st == TP_OK; i++) st = build_matrix(k, &mv[i], &tied[i], w, R, C, ld, group_perm(&tied[i], gperm));
    double med[MAX_TIED] = {0};
    if (st == TP_OK) {
        for (int j = 0; j < C; j++) xv[j] = (float)((j * 7919) % 199) / 199.0f - 0.5f;
        double t0 = clock_now();
        for (int i = 0; i < n; i++) infer_matrix_gemv(k, &mv[i], yv, xv, 0); /* warm-up */
        double one = (clock_now() - t0) / n;
        int calls = one > 0 ? (int)(3e-4 / one) : 100;
        calls = calls < 1 ? 1 : calls > 2000 ? 2000 : calls;
        double samples[MAX_TIED][ROUNDS];
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < n; i++) {
                double a = clock_now();
                for (int q = 0; q < calls; q++) infer_matrix_gemv(k, &mv[i], yv, xv, 0);
                samples[i][r] = (clock_now() - a) / calls;
            }
        int fast = 0;
        for (int i = 0; i < n; i++) {
            qsort(samples[i], ROUNDS, sizeof(double), cmp_dbl);
            med[i] = samples[i][ROUNDS / 2];
            if (med[i] < med[fast]) fast = i;
        }
        if (fast != 0 && med[0] > 0) {
            tied[fast].cost = best->cost * med[fast] / med[0];
            *best = tied[fast];
        }
        x->timed = n;
    }
    for (int i = 0; i < n; i++) infer_matrix_free(&mv[i]);
    free(xv);
    free(yv);
    return st;
}

TpStatus infer_matrix_init(InferKernels *k, InferMatrix *x, const char *name, const float *w, int R, int C, int ld,
                           const InferOptions *o, int recurrent)
{
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->density = sparse_density(w, R, C, ld);
    x->dense_bytes = 4.0 * R * C;
    Breakeven be = k->cost;
    if (o->threads > 0 && o->threads < be.threads) be.threads = 1; /* no threaded variant */
    enum { N_CAND = 9, N_GROUPED = 2 };
    static const SparseKind CAND[N_CAND] = {SPARSE_DENSE,   SPARSE_CSR,     SPARSE_SELL,   SPARSE_ROW,    SPARSE_STATE,
                                            SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4, SPARSE_SELL_SEG};
    /* the grouped-row variants of these (gperm[g] in this order; a forced layout is not grouped) */
    static const SparseKind GROUPED[N_GROUPED] = {SPARSE_BSR16X1, SPARSE_BSR8X1};
    BreakevenChoice ch[N_CAND + N_GROUPED];
    double wd[SPARSE_N_KINDS] = {0}; /* work_density of each candidate layout */
    int32_t *gperm[N_GROUPED] = {NULL, NULL};
    int n_ch = 0;
    TpStatus st = TP_OK;
    if (o->force >= 0)
        ch[n_ch++] = breakeven_best(&be, (SparseKind)o->force, x->dense_bytes, work_density(o->force, w, R, C, ld, x->density));
    for (int i = 0; i < N_CAND && o->force < 0; i++) {
        wd[CAND[i]] = CAND[i] == SPARSE_DENSE ? 1.0 : work_density(CAND[i], w, R, C, ld, x->density);
        ch[n_ch++] = breakeven_best(&be, CAND[i], x->dense_bytes, wd[CAND[i]]);
    }
    for (int g = 0; g < N_GROUPED && o->force < 0 && st == TP_OK; g++) {
        st = grouped_candidate(&ch[n_ch], &gperm[g], &be, GROUPED[g], wd[GROUPED[g]], w, R, C, ld, x->dense_bytes);
        n_ch += gperm[g] != NULL;
    }
    BreakevenChoice best = ch[0];
    for (int i = 1; i < n_ch; i++)
        if (ch[i].cost < best.cost) best = ch[i];
    if (st == TP_OK && o->force < 0 && o->tie > 0.0 && be.measured)
        st = settle_tie(k, x, &best, ch, n_ch, o->tie, w, R, C, ld, gperm);
    x->kernel = best;
    x->cost = best.cost;
    if (st == TP_OK) st = build_matrix(k, x, &best, w, R, C, ld, group_perm(&best, gperm));
    MEM_FREE_ALL(gperm[0], gperm[1]);
    int skips = best.kind == SPARSE_STATE || best.kind == SPARSE_STATE_CSC; /* already skips zero inputs */
    /* the sparse-state copy is of W in natural order, whatever the order of x->w */
    if (st == TP_OK && recurrent && k->tau > 0.0f && o->state_kernel && o->force < 0 && !skips)
        st = sparse_from_dense(&x->st, best.kind == SPARSE_DENSE ? SPARSE_STATE : SPARSE_STATE_CSC, w, R, C, ld);
    if (st != TP_OK) return err_wrap(st, "runtime: %s: ", name);
    return TP_OK;
}

static float *dup_floats(const float *src, size_t n)
{
    float *p = backend_alloc(n, sizeof(float));
    if (p && src) memcpy(p, src, n * sizeof(float));
    return p;
}

TpStatus infer_layer_init(InferKernels *k, InferLayer *ly, InferMatrix *slots, int *n_mat, const char *prefix, int I,
                          int H, const LstmWeights *lw, const HlstmWeights *hw, const InferOptions *o)
{
    memset(ly, 0, sizeof *ly);
    const int G = 4 * H;
    char name[40];
    TpStatus st = TP_OK;
    ly->I = I;
    ly->H = H;
#define MAT(dst, nm_fmt, nm_arg, ...)                                                                    \
    do {                                                                                                 \
        snprintf(name, sizeof name, nm_fmt, prefix, nm_arg);                                             \
        if (st == TP_OK) { /* counted before it is built: the owner frees a half-built one */           \
            (dst) = &slots[(*n_mat)++];                                                                  \
            st = infer_matrix_init(k, (dst), name, __VA_ARGS__);                                         \
        }                                                                                                \
    } while (0)
    if (hw) {
        const int M = hw->M, Q = 4 * M, Z = I + H;
        ly->M = M;
        MAT(ly->w_x, "%s.fc1.weight[:, %s]", "x", hw->w1, Q, I, Z, o, 0);
        MAT(ly->w_h, "%s.fc1.weight[:, %s]", "h", hw->w1 + I, Q, H, Z, o, 1);
        for (int q = 0; q < 4; q++) MAT(ly->w2[q], "%s.fc2.weight[%c]", "ifgo"[q], hw->w2 + (size_t)q * H * M, H, M, M, o, 0);
        ly->b1 = dup_floats(hw->b1, (size_t)Q);
        ly->bias = dup_floats(hw->b2, (size_t)G);
        ly->u = backend_alloc((size_t)Q, sizeof(float));
        if (!ly->b1 || !ly->u) goto oom;
    } else {
        MAT(ly->w_x, "%s.%s", "w_ih", lw->w_ih, G, I, I, o, 0);
        MAT(ly->w_h, "%s.%s", "w_hh", lw->w_hh, G, H, H, o, 1);
        if (!(ly->bias = backend_alloc((size_t)G, sizeof(float)))) goto oom;
        for (int j = 0; j < G; j++) ly->bias[j] = lw->b_ih[j] + lw->b_hh[j]; /* as lstm_forward sums them */
    }
#undef MAT
    if (st != TP_OK) return st;
    ly->h = backend_alloc((size_t)H, sizeof(float));
    ly->c = backend_alloc((size_t)H, sizeof(float));
    ly->tc = backend_alloc((size_t)H, sizeof(float));
    ly->a = backend_alloc((size_t)G, sizeof(float));
    if (!ly->bias || !ly->h || !ly->c || !ly->tc || !ly->a) goto oom;
    return TP_OK;
oom:
    return err_set(TP_ENOMEM, "runtime: out of memory");
}

void infer_layer_free(InferLayer *ly)
{
    MEM_FREE_ALL(ly->bias, ly->b1, ly->h, ly->c, ly->tc, ly->a, ly->u);
}

void infer_layer_reset(InferLayer *ly)
{
    memset(ly->h, 0, (size_t)ly->H * sizeof(float));
    memset(ly->c, 0, (size_t)ly->H * sizeof(float));
}

TpStatus infer_options_resolve(const InferOptions **o, InferOptions *def)
{
    if (!*o) {
        infer_options_defaults(def);
        *o = def;
    }
    if ((*o)->force >= SPARSE_N_KINDS) return err_set(TP_EINVAL, "runtime: unknown kernel %d", (*o)->force);
    if ((*o)->directions < -1 || (*o)->directions > 1)
        return err_set(TP_EINVAL, "runtime: directions %d (-1 timed, 0 in turn, 1 in parallel)", (*o)->directions);
    return TP_OK;
}

TpStatus infer_init(InferModel *im, const Model *m0, const InferOptions *o)
{
    memset(im, 0, sizeof *im);
    InferOptions def;
    if (infer_options_resolve(&o, &def) != TP_OK) return TP_EINVAL;
    if (m0->cfg.task == MODEL_TASK_ASR) return err_set(TP_EINVAL, "runtime: a speech (ASR) model runs through infer_asr");
    infer_kernels_init(&im->k, o, m0->cfg.state_tau);
    Model trimmed = {0};
    const Model *m = m0;
    TpStatus st = TP_OK;
    if (o->trim) {
        if ((st = infer_trim(&trimmed, m0, NULL)) != TP_OK) return st;
        m = &trimmed;
    }
    const ModelConfig *c = &m->cfg;
    im->cfg = *c;
    for (int l = 0; l < c->n_layers; l++) im->nominal[l] = m0->cfg.hidden[l];
    const int V = c->n_vocab, E = c->n_embed;
    char prefix[16];
    if (!(im->embed = dup_floats(m->embed, (size_t)V * E))) goto oom;
    for (int l = 0; l < c->n_layers && st == TP_OK; l++) {
        snprintf(prefix, sizeof prefix, "l%d", l);
        int hl = c->cell == MODEL_CELL_HLSTM;
        st = infer_layer_init(&im->k, &im->layer[l], im->mat, &im->n_mat, prefix, model_layer_input(m, l), c->hidden[l],
                              hl ? NULL : &m->lw[l], hl ? &m->hw[l] : NULL, o);
    }
    if (st == TP_OK) {
        im->dec = &im->mat[im->n_mat++];
        st = infer_matrix_init(&im->k, im->dec, "decoder.weight", m->dec_w, V, c->hidden[c->n_layers - 1],
                               c->hidden[c->n_layers - 1], o, 0);
    }
    if (st != TP_OK) goto fail;
    im->dec_b = dup_floats(m->dec_b, (size_t)V);
    im->logits = backend_alloc((size_t)V, sizeof(float));
    if (!im->dec_b || !im->logits) goto oom;
    model_free(&trimmed);
    return TP_OK;
oom:
    st = err_set(TP_ENOMEM, "runtime: out of memory");
fail:
    model_free(&trimmed);
    infer_free(im);
    return st;
}

void infer_free(InferModel *im)
{
    for (int i = 0; i < im->n_mat; i++) infer_matrix_free(&im->mat[i]);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) infer_layer_free(&im->layer[l]);
    MEM_FREE_ALL(im->embed, im->dec_b, im->logits);
    infer_kernels_free(&im->k);
    memset(im, 0, sizeof *im);
}

void infer_reset(InferModel *im)
{
    for (int l = 0; l < im->cfg.n_layers; l++) infer_layer_reset(&im->layer[l]);
}

TpStatus infer_warm(InferModel *im, int reps)
{
    int rows = 1, cols = 1;
    for (int i = 0; i < im->n_mat; i++) {
        rows = im->mat[i].w.rows > rows ? im->mat[i].w.rows : rows;
        cols = im->mat[i].w.cols > cols ? im->mat[i].w.cols : cols;
    }
    float *x = backend_alloc((size_t)cols, sizeof(float)), *y = backend_alloc((size_t)rows, sizeof(float));
    if (!x || !y) {
        free(x);
        free(y);
        return err_set(TP_ENOMEM, "infer: out of memory for the warm-up");
    }
    for (int j = 0; j < cols; j++) x[j] = 1.0f; /* no zero: a sparse-state kernel would skip it */
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < im->n_mat; i++) infer_matrix_gemv(&im->k, &im->mat[i], y, x, 0);
    free(x);
    free(y);
    return TP_OK;
}

void infer_stats_reset(InferModel *im) { im->k.steps = im->k.state_zero = im->k.state_n = im->k.state_uses = im->k.rec_products = 0; }

/* y += W h~ for the recurrent matrix: the sparse-state copy when this h~'s density predicts it faster */
static void recurrent_product(InferKernels *k, InferMatrix *x, float *y, const float *h, int H)
{
    k->rec_products++;
    if (x->w.kind == SPARSE_STATE || x->w.kind == SPARSE_STATE_CSC) k->state_uses++;
    if (x->st.val && k->state_kernel) {
        double s = (double)sparse_count_nonzero(h, H) / H;
        double d = x->st.kind == SPARSE_STATE ? s : x->density * s;
        if (breakeven_cost(&k->cost, x->st.kind, x->dense_bytes, d) < x->cost) {
            sparse_gemv(&x->st, y, h, 1);
            k->state_uses++;
            return;
        }
    }
    infer_matrix_gemv(k, x, y, h, 1);
}

const float *infer_layer_step(InferKernels *k, InferLayer *ly, const float *x)
{
    const int H = ly->H, G = 4 * H;
    if (ly->M > 0) { /* H-LSTM */
        const int M = ly->M, Q = 4 * M;
        memcpy(ly->u, ly->b1, (size_t)Q * sizeof(float));
        infer_matrix_gemv(k, ly->w_x, ly->u, x, 1);
        recurrent_product(k, ly->w_h, ly->u, ly->h, H);
#pragma omp simd
        for (int j = 0; j < Q; j++) ly->u[j] = ly->u[j] > 0.0f ? ly->u[j] : 0.0f;
        memcpy(ly->a, ly->bias, (size_t)G * sizeof(float));
        for (int q = 0; q < 4; q++) infer_matrix_gemv(k, ly->w2[q], ly->a + q * H, ly->u + q * M, 1);
    } else {
        memcpy(ly->a, ly->bias, (size_t)G * sizeof(float));
        infer_matrix_gemv(k, ly->w_x, ly->a, x, 1);
        recurrent_product(k, ly->w_h, ly->a, ly->h, H);
    }
    /* engine/lstm's cell (c is updated in place: each entry reads only its own old value) */
    lstm_cell_forward(ly->a, ly->c, ly->h, ly->tc, ly->c, 1, H);
    if (k->tau > 0.0f) {
        k->state_zero += (double)lstm_state_threshold(ly->h, (size_t)H, k->tau);
        k->state_n += H;
    }
    return ly->h;
}

/* The recurrent part of a step: returns the top layer's h~ [H_last]. */
static const float *step_hidden(InferModel *im, int32_t tok)
{
    const float *x = im->embed + (size_t)tok * im->cfg.n_embed;
    for (int l = 0; l < im->cfg.n_layers; l++) x = infer_layer_step(&im->k, &im->layer[l], x);
    im->k.steps++;
    return x;
}

const float *infer_step(InferModel *im, int32_t tok)
{
    const float *x = step_hidden(im, tok);
    memcpy(im->logits, im->dec_b, (size_t)im->cfg.n_vocab * sizeof(float));
    infer_matrix_gemv(&im->k, im->dec, im->logits, x, 1);
    return im->logits;
}

TpStatus infer_evaluate(InferModel *im, const int32_t *ids, size_t n, int streams, EvalResult *r)
{
    memset(r, 0, sizeof *r);
    if (streams < 1) return err_set(TP_ERANGE, "--eval-batch: expected >= 1, got %d", streams);
    double t0 = clock_now();
    int32_t *data = NULL;
    size_t L = 0;
    TpStatus st = corpus_batchify(&data, &L, ids, n, streams);
    if (st != TP_OK) return st;
    if (L < 2) {
        free(data);
        return err_set(TP_EINVAL, "evaluation split too short: %zu tokens for %d stream(s)", n, streams);
    }
    const int V = im->cfg.n_vocab, H = im->cfg.hidden[im->cfg.n_layers - 1], W = 64;
    for (size_t i = 0; i < (size_t)streams * L; i++)
        if (data[i] < 0 || data[i] >= V) {
            free(data);
            return err_set(TP_EINVAL, "runtime: token id out of range 0..%d", V - 1);
        }
    /* the recurrence step by step; the decoder (whose logits feed nothing back) over W steps at once */
    float *top = backend_alloc((size_t)W * H, sizeof(float)), *lg = backend_alloc((size_t)W * V, sizeof(float));
    if (!top || !lg) st = err_set(TP_ENOMEM, "runtime: out of memory");
    double nll = 0.0;
    long correct = 0;
    for (int b = 0; b < streams && st == TP_OK; b++) {
        const int32_t *s = data + (size_t)b * L;
        infer_reset(im);
        for (size_t p = 0; p + 1 < L; p += W) {
            int w = L - 1 - p < (size_t)W ? (int)(L - 1 - p) : W;
            for (int i = 0; i < w; i++) memcpy(top + (size_t)i * H, step_hidden(im, s[p + i]), (size_t)H * sizeof(float));
            for (int i = 0; i < w; i++) memcpy(lg + (size_t)i * V, im->dec_b, (size_t)V * sizeof(float));
            infer_matrix_gemm(&im->k, im->dec, lg, top, w, 1);
            nll += vmath_softmax_xent(lg, s + p + 1, w, V, 0.0f, &correct);
        }
    }
    free(top);
    free(lg);
    free(data);
    if (st != TP_OK) return st;
    if (!isfinite(nll)) return err_set(TP_ENAN, "runtime: the loss is not finite (%g)", nll);
    r->tokens = (long)((L - 1) * (size_t)streams);
    r->loss = nll / (double)r->tokens;
    r->ppl = exp(r->loss);
    r->accuracy = (double)correct / (double)r->tokens;
    r->seconds = clock_now() - t0;
    return TP_OK;
}

/* ==== reporting ================================================================================= */

double infer_state_sparsity(const InferModel *im) { return im->k.state_n > 0 ? im->k.state_zero / im->k.state_n : NAN; }

double infer_state_kernel_share(const InferModel *im)
{
    return im->k.rec_products > 0 ? im->k.state_uses / im->k.rec_products : 0.0;
}

void infer_matrices_describe(const InferMatrix *mat, int n_mat, const int *hidden, const int *nominal, int n_layers,
                             int measured, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
#define ADD(...) (used += used < n ? (size_t)snprintf(buf + used, n - used, __VA_ARGS__) : 0)
    ADD("hidden");
    for (int l = 0; l < n_layers; l++) ADD(" %d/%d", hidden[l], nominal[l]);
    ADD(" (kept/nominal units); cost model: %s\n", measured ? "measured" : "built-in default");
    for (int i = 0; i < n_mat; i++) {
        const InferMatrix *x = &mat[i];
        char kn[64];
        infer_kernel_name(x, kn, sizeof kn);
        ADD("  %-22s [%d, %d] density %5.1f%%  %-18s predicted %.2fx dense time%s%s%s\n", x->name, x->w.rows, x->w.cols,
            100.0 * x->density, kn, x->cost, x->perm ? ", rows grouped by support" : "", x->st.val ? ", sparse-state: " : "",
            x->st.val ? sparse_kind_name(x->st.kind) : "");
    }
#undef ADD
}

void infer_describe(const InferModel *im, char *buf, size_t n)
{
    infer_matrices_describe(im->mat, im->n_mat, im->cfg.hidden, im->nominal, im->cfg.n_layers, im->k.cost.measured, buf, n);
}

void infer_kernel_name(const InferMatrix *x, char *buf, size_t n) { breakeven_choice_name(&x->kernel, buf, n); }

void infer_matrices_summary(const InferMatrix *mat, int n_mat, const int *hidden, const int *nominal, int n_layers,
                            char *buf, size_t n)
{
    char a[64], b[64];
    int st = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n_mat && used < n; i++) { /* "name count" in order of first use */
        st += mat[i].st.val != NULL;
        infer_kernel_name(&mat[i], a, sizeof a);
        int seen = 0, cnt = 0;
        for (int j = 0; j < i && !seen; j++) {
            infer_kernel_name(&mat[j], b, sizeof b);
            seen = !strcmp(a, b);
        }
        if (seen) continue;
        for (int j = i; j < n_mat; j++) {
            infer_kernel_name(&mat[j], b, sizeof b);
            cnt += !strcmp(a, b);
        }
        used += (size_t)snprintf(buf + used, n - used, "%s%s %d", used ? ", " : "", a, cnt);
    }
    if (st && used < n) used += (size_t)snprintf(buf + used, n - used, ", sparse-state on %d", st);
    int timed = 0;
    for (int i = 0; i < n_mat; i++) timed += mat[i].timed > 1;
    if (timed && used < n) used += (size_t)snprintf(buf + used, n - used, "; %d near-tie(s) timed", timed);
    if (used < n) used += (size_t)snprintf(buf + used, n - used, "; hidden");
    for (int l = 0; l < n_layers && used < n; l++) used += (size_t)snprintf(buf + used, n - used, " %d/%d", hidden[l], nominal[l]);
    if (used < n) snprintf(buf + used, n - used, " (kept/nominal)");
}

void infer_summary(const InferModel *im, char *buf, size_t n)
{
    infer_matrices_summary(im->mat, im->n_mat, im->cfg.hidden, im->nominal, im->cfg.n_layers, buf, n);
}
