/* engine/mask: see mask.h. */
#include "mask.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mask_tensor_stats(const Model *m, MaskTensorStats *st, int tensor)
{
    const ModelParam *p = &m->p[tensor];
    const uint8_t *mk = m->mask + p->off;
    const float *w = m->w + p->off;
    memset(st, 0, sizeof *st);
    st->n = p->n;
    st->rows = p->rows;
    st->cols = p->cols;
    st->row_nnz_min = p->cols;
    for (int r = 0; r < p->rows; r++) {
        int live = 0;
        for (int c = 0; c < p->cols; c++) {
            size_t i = (size_t)r * p->cols + c;
            live += mk[i] != 0;
            st->n_zero_live += mk[i] != 0 && w[i] == 0.0f;
        }
        st->nnz += (size_t)live;
        if (live < st->row_nnz_min) st->row_nnz_min = live;
        if (live > st->row_nnz_max) st->row_nnz_max = live;
    }
    if (p->rows == 0) st->row_nnz_min = 0;
    st->density = st->n ? (double)st->nnz / (double)st->n : 0.0;
}

static double sparsity_of(size_t nnz, size_t n) { return n ? 1.0 - (double)nnz / (double)n : 0.0; }

TpStatus mask_stats(const Model *m, MaskStats *st)
{
    memset(st, 0, sizeof *st);
    st->n_tensors = m->n_tensors;
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        MaskTensorStats *ts = &st->t[t];
        mask_tensor_stats(m, ts, t);
        st->n += ts->n;
        st->nnz += ts->nnz;
        if (p->kind == PARAM_WEIGHT) {
            st->weight_n += ts->n;
            st->weight_nnz += ts->nnz;
            if (p->layer >= 0) {
                st->cell_n += ts->n;
                st->cell_nnz += ts->nnz;
            }
        }
    }
    st->sparsity = sparsity_of(st->nnz, st->n);
    st->weight_sparsity = sparsity_of(st->weight_nnz, st->weight_n);
    st->cell_sparsity = sparsity_of(st->cell_nnz, st->cell_n);
    st->n_layers = m->cfg.n_layers;
    int hmax = 1;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        st->hidden[l] = m->cfg.hidden[l];
        if (m->cfg.hidden[l] > hmax) hmax = m->cfg.hidden[l];
    }
    uint8_t *alive = malloc((size_t)hmax);
    if (!alive) return err_set(TP_ENOMEM, "mask stats: out of memory");
    TpStatus s = TP_OK;
    for (int l = 0; l < m->cfg.n_layers && s == TP_OK; l++) s = mask_layer_alive(m, alive, &st->width[l], l);
    free(alive);
    return s;
}

/* map[i] = the unit of `layer` that entry i of axis a indexes, or -1; returns 1 if any does */
static int axis_map(int *map, const ModelAxis *a, const ModelConfig *cfg, int n, int layer)
{
    int any = 0;
    for (int i = 0; i < n; i++) {
        map[i] = model_axis_unit(a, cfg, i, layer);
        any |= map[i] >= 0;
    }
    return any;
}

TpStatus mask_layer_alive(const Model *m, uint8_t *alive, int *width, int layer)
{
    if (layer < 0 || layer >= m->cfg.n_layers)
        return err_set(TP_ERANGE, "layer %d: expected 0..%d", layer, m->cfg.n_layers - 1);
    const int H = m->cfg.hidden[layer];
    int dim = 1;
    for (int t = 0; t < m->n_tensors; t++) {
        if (m->p[t].rows > dim) dim = m->p[t].rows;
        if (m->p[t].cols > dim) dim = m->p[t].cols;
    }
    int *map = malloc((size_t)dim * sizeof(int));
    if (!map) return err_set(TP_ENOMEM, "effective width: out of memory");
    memset(alive, 0, (size_t)H);
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        if (p->kind != PARAM_WEIGHT) continue;
        const uint8_t *mk = m->mask + p->off;
        /* incoming: a row of the unit with any live entry */
        if (axis_map(map, &p->axis[0], &m->cfg, p->rows, layer))
            for (int r = 0; r < p->rows; r++) {
                if (map[r] < 0 || alive[map[r]]) continue;
                const uint8_t *row = mk + (size_t)r * p->cols;
                for (int c = 0; c < p->cols; c++)
                    if (row[c]) {
                        alive[map[r]] = 1;
                        break;
                    }
            }
        /* outgoing: a live entry anywhere in a column that reads the unit */
        if (axis_map(map, &p->axis[1], &m->cfg, p->cols, layer))
            for (int r = 0; r < p->rows; r++) {
                const uint8_t *row = mk + (size_t)r * p->cols;
                for (int c = 0; c < p->cols; c++)
                    if (map[c] >= 0) alive[map[c]] |= row[c] != 0;
            }
    }
    free(map);
    int w = 0;
    for (int j = 0; j < H; j++) w += alive[j];
    *width = w;
    return TP_OK;
}

int mask_glob_match(const char *g, const char *s)
{
    /* iterative wildcard match with one backtrack point: linear in practice, no recursion */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*g == '*') {
            star = g++;
            resume = s;
        } else if (*g == '?' || *g == *s) {
            g++;
            s++;
        } else if (star) {
            g = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*g == '*') g++;
    return *g == '\0';
}

static int contains(const char *s, size_t n, const char *what)
{
    size_t k = strlen(what);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, what, k) == 0) return 1;
    return 0;
}

int mask_param_selected(const ModelParam *p, const char *params)
{
    if (!params || !*params) return p->kind == PARAM_WEIGHT;
    const char *a = params;
    for (;;) {
        const char *end = strchr(a, ',');
        size_t n = end ? (size_t)(end - a) : strlen(a);
        char alt[256];
        if (n > 0 && n < sizeof alt) {
            memcpy(alt, a, n);
            alt[n] = '\0';
            int allowed = p->kind == PARAM_WEIGHT || (p->kind == PARAM_EMBED && contains(alt, n, "embed")) ||
                          (p->kind == PARAM_BIAS && (contains(alt, n, "bias") || contains(alt, n, "b_")));
            if (allowed && mask_glob_match(alt, p->name)) return 1;
        }
        if (!end) return 0;
        a = end + 1;
    }
}

TpStatus mask_params_check(const Model *m, const char *params)
{
    for (int t = 0; t < m->n_tensors; t++)
        if (mask_param_selected(&m->p[t], params)) return TP_OK;
    char names[512];
    size_t k = 0;
    names[0] = '\0';
    for (int t = 0; t < m->n_tensors && k + 40 < sizeof names; t++)
        k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", t ? " " : "", m->p[t].name);
    return err_set(TP_EINVAL, "params=%s: matches no parameter (names: %s; the embedding and biases must be named "
                              "explicitly)", params ? params : "", names);
}

static void swapf(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

static float median3(float a, float b, float c)
{
    if (a > b) swapf(&a, &b);
    if (b > c) b = c;
    return a > b ? a : b;
}

float mask_select_kth(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;                  /* the answer lies in a[lo, hi) */
    while (hi - lo > 1) {
        float p = median3(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
        size_t lt = lo, i = lo, gt = hi;    /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
        while (i < gt) {
            if (a[i] < p) swapf(&a[lt++], &a[i++]);
            else if (a[i] > p) swapf(&a[i], &a[--gt]);
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return p;
    }
    return a[lo];
}

size_t mask_count_ceil(double x)
{
    /* 1e-6 absorbs the rounding of (1 - s) * n for n up to ~1e9 */
    double c = ceil(x - 1e-6);
    return c > 0.0 ? (size_t)c : 0;
}

/* ---- block grid --------------------------------------------------------------------------------- */

void mask_block_grid(MaskBlockGrid *g, int rows, int cols, int R, int C)
{
    *g = (MaskBlockGrid){rows, cols, R, C, (rows + R - 1) / R, (cols + C - 1) / C, NULL};
}

void mask_block_grid_order(MaskBlockGrid *g, const int32_t *order) { g->order = order; }

typedef struct {
    size_t count;
    int32_t id;
} IdCount;

static int by_count_desc(const void *pa, const void *pb)
{
    const IdCount *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

TpStatus mask_vocab_frequency_order(int32_t *order, int n_vocab, const int32_t *ids, size_t n_ids)
{
    IdCount *c = calloc((size_t)(n_vocab > 0 ? n_vocab : 1), sizeof *c);
    if (!c) return err_set(TP_ENOMEM, "vocabulary order: out of memory for %d counts", n_vocab);
    for (int v = 0; v < n_vocab; v++) c[v].id = v;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] >= 0 && ids[i] < n_vocab) c[ids[i]].count++;
    qsort(c, (size_t)n_vocab, sizeof *c, by_count_desc);
    for (int v = 0; v < n_vocab; v++) order[v] = c[v].id;
    free(c);
    return TP_OK;
}

int mask_param_vocab_rows(const Model *m, const ModelParam *p)
{
    return p->layer < 0 && p->rows == m->cfg.n_vocab && p->axis[0].n_seg == 1 && p->axis[0].seg[0].layer < 0;
}

size_t mask_block_count(const MaskBlockGrid *g) { return (size_t)g->nbr * (size_t)g->nbc; }

void mask_block_bounds(const MaskBlockGrid *g, size_t b, int *r0, int *r1, int *c0, int *c1)
{
    *r0 = (int)(b / (size_t)g->nbc) * g->R;
    *c0 = (int)(b % (size_t)g->nbc) * g->C;
    *r1 = *r0 + g->R < g->rows ? *r0 + g->R : g->rows;
    *c1 = *c0 + g->C < g->cols ? *c0 + g->C : g->cols;
}

void mask_block_begin(MaskBlockIter *it, const MaskBlockGrid *g, size_t b, size_t off)
{
    it->off = off;
    it->cols = g->cols;
    it->order = g->order;
    mask_block_bounds(g, b, &it->r, &it->r1, &it->c0, &it->c1);
    it->c = it->c0;
}

int mask_block_next(MaskBlockIter *it, size_t *i)
{
    if (it->c == it->c1) {
        it->r++;
        it->c = it->c0;
    }
    if (it->r >= it->r1 || it->c0 >= it->c1) return 0;
    *i = it->off + (size_t)(it->order ? it->order[it->r] : it->r) * it->cols + it->c++;
    return 1;
}

TpStatus mask_block_parse(const char *text, int *R, int *C)
{
    char *end;
    long r = strtol(text, &end, 10), c = 0;
    int ok = end != text && (*end == 'x' || *end == 'X');
    if (ok) {
        const char *q = end + 1;
        c = strtol(q, &end, 10);
        ok = end != q && !*end;
    }
    if (!ok || r < 1 || r > MASK_BLOCK_MAX || c < 1 || c > MASK_BLOCK_MAX)
        return err_set(TP_EINVAL, "block '%s': expected RxC with R and C in 1..%d (e.g. 16x1, 8x1, 4x4)", text,
                       MASK_BLOCK_MAX);
    *R = (int)r;
    *C = (int)c;
    return TP_OK;
}

int mask_tensor_blocked(const Model *m, int tensor, int R, int C, size_t *bad)
{
    const ModelParam *p = &m->p[tensor];
    const uint8_t *mk = m->mask + p->off;
    MaskBlockGrid g;
    mask_block_grid(&g, p->rows, p->cols, R, C);
    if (bad) *bad = (size_t)-1;
    for (size_t b = 0; b < mask_block_count(&g); b++) {
        int r0, r1, c0, c1;
        mask_block_bounds(&g, b, &r0, &r1, &c0, &c1);
        size_t live = 0;
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) live += mk[(size_t)r * p->cols + c] != 0;
        if (live && live != (size_t)(r1 - r0) * (size_t)(c1 - c0)) {
            if (bad) *bad = b;
            return 0;
        }
    }
    return 1;
}

int mask_tensor_block_shape(const Model *m, int tensor, int *R, int *C)
{
    static const int SHAPES[3][2] = {{16, 1}, {8, 1}, {4, 4}};
    const ModelParam *p = &m->p[tensor];
    *R = *C = 0;
    if (!memchr(m->mask + p->off, 0, p->n)) return 0;
    for (int k = 0; k < 3; k++)
        if (mask_tensor_blocked(m, tensor, SHAPES[k][0], SHAPES[k][1], NULL)) {
            *R = SHAPES[k][0];
            *C = SHAPES[k][1];
            return 1;
        }
    return 0;
}

size_t mask_tensor_complete_blocks(Model *m, int tensor, int R, int C)
{
    const ModelParam *p = &m->p[tensor];
    uint8_t *mk = m->mask + p->off;
    float *w = m->w + p->off;
    MaskBlockGrid g;
    mask_block_grid(&g, p->rows, p->cols, R, C);
    size_t added = 0;
    for (size_t b = 0; b < mask_block_count(&g); b++) {
        int r0, r1, c0, c1, live = 0;
        mask_block_bounds(&g, b, &r0, &r1, &c0, &c1);
        for (int r = r0; r < r1 && !live; r++)
            for (int c = c0; c < c1; c++) live |= mk[(size_t)r * p->cols + c] != 0;
        if (!live) continue;
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) {
                size_t i = (size_t)r * p->cols + c;
                if (mk[i]) continue;
                mk[i] = 1;
                w[i] = 0.0f;
                added++;
            }
    }
    return added;
}
