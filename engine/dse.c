/* engine/dse: see dse.h for the model, the area proxy and the Pareto rule. */
#include "dse.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== the space =================================================================================== */

static const struct {
    const char *name;
    int whole;
    double lo, hi;     /* inclusive, except lo_open */
    int lo_open;
    double dflt[8];
    int n_dflt;
} AXES[DSE_N_AXES] = {
    {"rows", 1, 1, 65536, 0, {16, 32, 64, 128, 256}, 5},
    {"cols", 1, 1, 65536, 0, {16, 32, 64, 128, 256}, 5},
    {"sram_kib", 0, 0, 1e9, 0, {128, 512, 2048, 8192}, 4},
    {"dram_gbps", 0, 0, 1e6, 1, {12.8, 25.6, 51.2}, 3},
    {"clock_mhz", 0, 0, 1e5, 1, {700}, 1},
};

void dse_space_defaults(DseSpace *s)
{
    memset(s, 0, sizeof *s);
    for (int a = 0; a < DSE_N_AXES; a++) {
        s->n[a] = AXES[a].n_dflt;
        for (int i = 0; i < AXES[a].n_dflt; i++) s->v[a][i] = AXES[a].dflt[i];
    }
}

const char *dse_axis_name(DseAxis a) { return a >= 0 && a < DSE_N_AXES ? AXES[a].name : "?"; }

int dse_axis_find(const char *name)
{
    for (int a = 0; a < DSE_N_AXES; a++) {
        const char *x = AXES[a].name, *y = name;
        while (*x && (*x == *y || (*x == '_' && *y == '-'))) x++, y++;
        if (!*x && !*y) return a;
    }
    return -1;
}

/* One number of an item; TP_EINVAL naming it. */
static TpStatus number(const char *axis, const char *item, size_t len, double *v)
{
    char tmp[64];
    if (len == 0) return err_set(TP_EINVAL, "%s: empty item in the list (expected a,b,c or A:B:STEP)", axis);
    if (len >= sizeof tmp) return err_set(TP_EINVAL, "%s: item '%.20s...' is too long", axis, item);
    memcpy(tmp, item, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double x = strtod(tmp, &end);
    if (end == tmp || *end || errno || !isfinite(x))
        return err_set(TP_EINVAL, "%s: '%s' is not a number (expected a,b,c or A:B:STEP)", axis, tmp);
    *v = x;
    return TP_OK;
}

static TpStatus in_range(int a, double x)
{
    const char *axis = AXES[a].name;
    if (AXES[a].whole && x != floor(x)) return err_set(TP_EINVAL, "%s: %g is not a whole number", axis, x);
    if (x > AXES[a].hi || x < AXES[a].lo || (AXES[a].lo_open && x <= AXES[a].lo))
        return err_set(TP_EINVAL, "%s: %g is out of range (expected %s%g..%g)", axis, x, AXES[a].lo_open ? "> " : "",
                       AXES[a].lo, AXES[a].hi);
    return TP_OK;
}

static TpStatus push(int a, double *vals, int *n, double x)
{
    TpStatus st = in_range(a, x);
    if (st != TP_OK) return st;
    for (int i = 0; i < *n; i++)
        if (vals[i] == x) return err_set(TP_EINVAL, "%s: %g appears twice in the list", AXES[a].name, x);
    if (*n == DSE_MAX_VALUES) return err_set(TP_EINVAL, "%s: more than %d values", AXES[a].name, DSE_MAX_VALUES);
    vals[(*n)++] = x;
    return TP_OK;
}

TpStatus dse_space_parse(DseSpace *s, DseAxis a, const char *text)
{
    if (a < 0 || a >= DSE_N_AXES) return err_set(TP_EINVAL, "dse: unknown parameter");
    const char *axis = AXES[a].name;
    if (!text || !*text) return err_set(TP_EINVAL, "%s: empty list (expected a,b,c or A:B:STEP)", axis);
    double vals[DSE_MAX_VALUES];
    int n = 0;
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *c1 = memchr(p, ':', len);
        TpStatus st;
        if (!c1) {
            double x;
            if ((st = number(axis, p, len, &x)) != TP_OK || (st = push(a, vals, &n, x)) != TP_OK) return st;
        } else {
            const char *c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p));
            if (!c2) return err_set(TP_EINVAL, "%s: '%.*s': a range is A:B:STEP", axis, (int)len, p);
            double lo, hi, step;
            if ((st = number(axis, p, (size_t)(c1 - p), &lo)) != TP_OK ||
                (st = number(axis, c1 + 1, (size_t)(c2 - c1 - 1), &hi)) != TP_OK ||
                (st = number(axis, c2 + 1, len - (size_t)(c2 + 1 - p), &step)) != TP_OK)
                return st;
            if (!(step > 0) || hi < lo)
                return err_set(TP_EINVAL, "%s: range %g:%g:%g: expected A <= B and STEP > 0", axis, lo, hi, step);
            if ((hi - lo) / step >= DSE_MAX_VALUES)
                return err_set(TP_EINVAL, "%s: range %g:%g:%g has more than %d values", axis, lo, hi, step, DSE_MAX_VALUES);
            for (int i = 0; lo + i * step <= hi * (1 + 1e-12); i++)
                if ((st = push(a, vals, &n, lo + i * step)) != TP_OK) return st;
        }
        if (!comma) break;
        p = comma + 1;
    }
    s->n[a] = n;
    memcpy(s->v[a], vals, (size_t)n * sizeof vals[0]);
    return TP_OK;
}

void dse_space_format(const DseSpace *s, DseAxis a, char *buf, size_t n)
{
    size_t u = 0;
    if (n) buf[0] = '\0';
    for (int i = 0; i < s->n[a] && u + 1 < n; i++) {
        int w = snprintf(buf + u, n - u, "%s%g", i ? "," : "", s->v[a][i]);
        if (w < 0) break;
        u += (size_t)w < n - u ? (size_t)w : n - u - 1;
    }
}

size_t dse_space_designs(const DseSpace *s)
{
    size_t n = 1;
    for (int a = 0; a < DSE_N_AXES; a++) n *= (size_t)s->n[a];
    return n;
}

/* ==== area ======================================================================================== */

void dse_area_defaults(DseArea *a)
{
    a->pe_mm2 = 0.00121;          /* TPU v1: 24 % of 331 mm² / 65536 MACs        */
    a->sram_mm2_per_kib = 0.0039; /* TPU v1: 29 % of 331 mm² / 24576 KiB buffer  */
}

TpStatus dse_area_validate(const DseArea *a)
{
    if (!(a->pe_mm2 >= 0 && a->pe_mm2 <= 1e6))
        return err_set(TP_EINVAL, "area per PE %g: expected 0..1e6 mm2", a->pe_mm2);
    if (!(a->sram_mm2_per_kib >= 0 && a->sram_mm2_per_kib <= 1e6))
        return err_set(TP_EINVAL, "area per KiB of SRAM %g: expected 0..1e6 mm2", a->sram_mm2_per_kib);
    if (a->pe_mm2 == 0 && a->sram_mm2_per_kib == 0)
        return err_set(TP_EINVAL, "area proxy: the weights of PEs and SRAM are both 0 (nothing to trade latency against)");
    return TP_OK;
}

double dse_area(const DseArea *a, const AccelParams *p)
{
    return a->pe_mm2 * (double)p->rows * p->cols + a->sram_mm2_per_kib * p->sram_kib;
}

/* ==== the model as the accelerator sees it ======================================================== */

const char *dse_pattern_name(DsePattern p)
{
    return p == DSE_DENSE ? "dense" : p == DSE_ROW ? "row" : "irregular";
}

/* Live entries of row r of tensor t (mask), or 0 when t is NULL. */
static int row_live(const Model *m, const ModelParam *t, int r)
{
    if (!t) return 0;
    const uint8_t *mk = m->mask + t->off + (size_t)r * t->cols;
    int n = 0;
    for (int j = 0; j < t->cols; j++) n += mk[j] != 0;
    return n;
}

/* Row counts of the GEMM whose rows are the rows of a (and b, concatenated along the columns). */
static void gemm_rows(const Model *m, const ModelParam *a, const ModelParam *b, int *kmin, int *kmax, size_t *live)
{
    *kmin = INT32_MAX;
    *kmax = 0;
    *live = 0;
    for (int r = 0; r < a->rows; r++) {
        int k = row_live(m, a, r) + row_live(m, b, r);
        *kmin = k < *kmin ? k : *kmin;
        *kmax = k > *kmax ? k : *kmax;
        *live += (size_t)k;
    }
}

static const ModelParam *named(const Model *m, int l, const char *what)
{
    char name[32];
    snprintf(name, sizeof name, "l%d.%s", l, what);
    return model_param(m, name);
}

TpStatus dse_model_from(DseModel *dm, const Model *m, int batch)
{
    memset(dm, 0, sizeof *dm);
    if (batch < 1 || batch > 1 << 20) return err_set(TP_EINVAL, "dse: batch %d: expected 1..1048576", batch);
    int hl = m->cfg.cell == MODEL_CELL_HLSTM;
    dm->n_layers = m->cfg.n_layers;
    dm->batch = batch;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        DseLayer *d = &dm->l[l];
        const ModelParam *a = named(m, l, hl ? "fc1.weight" : "w_ih"), *b = named(m, l, hl ? "fc2.weight" : "w_hh");
        if (!a || !b) return err_set(TP_EINVAL, "dse: layer %d has no %s weights", l, hl ? "fc1/fc2" : "w_ih/w_hh");
        AccelLayer base = {hl ? ACCEL_HLSTM : ACCEL_LSTM, model_layer_input(m, l), m->cfg.hidden[l],
                           hl ? m->cfg.gate_hidden : 0, batch, 1, 0.0, 0};
        d->dense = base;
        int kmin, kmax, balanced;
        size_t live, n_all = a->n + b->n;
        if (!hl) {
            gemm_rows(m, a, b, &kmin, &kmax, &live);
            d->K = a->cols + b->cols;
            balanced = kmin == kmax;
        } else { /* fc1 [4M, I+H] and fc2 [4H, M]: the larger densest-row fraction */
            int kmin2, kmax2;
            size_t live2;
            gemm_rows(m, a, NULL, &kmin, &kmax, &live);
            gemm_rows(m, b, NULL, &kmin2, &kmax2, &live2);
            balanced = kmin == kmax && kmin2 == kmax2;
            d->K = a->cols;
            if ((double)kmax2 / b->cols > (double)kmax / a->cols) kmin = kmin2, kmax = kmax2, d->K = b->cols;
            live += live2;
        }
        d->k_max = kmax;
        d->k_min = kmin;
        d->density = n_all ? (double)live / (double)n_all : 1.0;
        d->pattern = live == n_all ? DSE_DENSE : balanced ? DSE_ROW : DSE_IRREGULAR;
        int keep = kmax < 1 ? 1 : kmax; /* a layer with every entry pruned still runs one column */
        d->kept = (double)keep / d->K;
        d->sparse = base;
        if (d->pattern != DSE_DENSE) {
            d->sparse.row_balanced = 1;
            d->sparse.sparsity = 1.0 - d->kept;
        }
    }
    return TP_OK;
}

/* ==== the sweep =================================================================================== */

TpStatus dse_latency(const AccelParams *p, const DseModel *m, double *us, double *streamed, int *sparse_layers)
{
    *us = 0.0;
    *streamed = 0.0;
    *sparse_layers = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const DseLayer *d = &m->l[l];
        AccelBreakdown bd, bs;
        TpStatus st = accel_layer(&bd, p, &d->dense);
        if (st != TP_OK) return err_wrap(st, "layer %d: ", l);
        const AccelBreakdown *b = &bd;
        if (d->pattern != DSE_DENSE && d->sparse.sparsity > 0) {
            if ((st = accel_layer(&bs, p, &d->sparse)) != TP_OK) return err_wrap(st, "layer %d: ", l);
            if (bs.us < bd.us) {
                b = &bs;
                ++*sparse_layers;
            }
        }
        *us += b->us;
        for (int g = 0; g < b->n_gemms; g++) *streamed += b->g[g].streamed_bytes * b->g[g].count;
    }
    return TP_OK;
}

void dse_result_free(DseResult *r)
{
    free(r->d);
    memset(r, 0, sizeof *r);
    r->chosen = -1;
}

TpStatus dse_sweep(DseResult *r, const AccelParams *base, const DseSpace *s, const DseArea *a, const DseModel *m)
{
    memset(r, 0, sizeof *r);
    r->chosen = -1;
    TpStatus st = dse_area_validate(a);
    if (st != TP_OK) return st;
    if (m->n_layers < 1) return err_set(TP_EINVAL, "dse: the model has no recurrent layer");
    size_t n = dse_space_designs(s);
    if (n == 0) return err_set(TP_EINVAL, "dse: an empty list leaves no design to sweep");
    if (n > DSE_MAX_DESIGNS)
        return err_set(TP_EINVAL, "dse: %zu designs (the product of the list lengths): at most %d", n, DSE_MAX_DESIGNS);
    DseDesign *d = calloc(n, sizeof *d);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    int *front = malloc(n * sizeof *front);
    if (!d || !x || !y || !front) {
        st = err_set(TP_ENOMEM, "dse: out of memory for %zu designs", n);
        goto fail;
    }
    size_t k = 0;
    for (int i0 = 0; i0 < s->n[DSE_ROWS]; i0++)
        for (int i1 = 0; i1 < s->n[DSE_COLS]; i1++)
            for (int i2 = 0; i2 < s->n[DSE_SRAM_KIB]; i2++)
                for (int i3 = 0; i3 < s->n[DSE_DRAM_GBPS]; i3++)
                    for (int i4 = 0; i4 < s->n[DSE_CLOCK_MHZ]; i4++, k++) {
                        AccelParams p = *base;
                        p.rows = (int)s->v[DSE_ROWS][i0];
                        p.cols = (int)s->v[DSE_COLS][i1];
                        p.sram_kib = s->v[DSE_SRAM_KIB][i2];
                        p.dram_gbps = s->v[DSE_DRAM_GBPS][i3];
                        p.clock_mhz = s->v[DSE_CLOCK_MHZ][i4];
                        snprintf(p.name, sizeof p.name, "%dx%d %gKiB %gGB/s %gMHz", p.rows, p.cols, p.sram_kib,
                                 p.dram_gbps, p.clock_mhz);
                        d[k].p = p;
                        d[k].area = x[k] = dse_area(a, &p);
                        st = dse_latency(&p, m, &d[k].latency_us, &d[k].streamed_bytes, &d[k].sparse_layers);
                        if (st != TP_OK) {
                            err_wrap(st, "design %s: ", p.name);
                            goto fail;
                        }
                        y[k] = d[k].latency_us;
                    }
    int np = dse_pareto(x, y, (int)n, front);
    if (np < 0) {
        st = err_set(TP_ENOMEM, "dse: out of memory for the Pareto front");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) d[i].pareto = front[i];
    r->d = d;
    r->n = (int)n;
    r->n_pareto = np;
    d = NULL;
fail:
    free(d);
    free(x);
    free(y);
    free(front);
    return st;
}

/* ==== Pareto front and the choice ================================================================ */

typedef struct {
    double x, y;
    int i;
} Pt;

static int by_x_then_y(const void *pa, const void *pb)
{
    const Pt *a = pa, *b = pb;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    if (a->y != b->y) return a->y < b->y ? -1 : 1;
    return a->i - b->i;
}

int dse_pareto(const double *x, const double *y, int n, int *on_front)
{
    if (n <= 0) return 0;
    Pt *p = malloc((size_t)n * sizeof *p);
    if (!p) return -1;
    int m = 0;
    for (int i = 0; i < n; i++) {
        on_front[i] = 0;
        if (isfinite(x[i]) && isfinite(y[i])) p[m++] = (Pt){x[i], y[i], i};
    }
    qsort(p, (size_t)m, sizeof *p, by_x_then_y);
    /* Groups of equal x in ascending x: within a group only the lowest y can survive (a point of the
     * same x and lower y dominates the others), and it survives when every point of strictly smaller
     * x has a strictly larger y. */
    double best_before = INFINITY;
    int count = 0;
    for (int g = 0; g < m;) {
        int e = g;
        while (e < m && p[e].x == p[g].x) e++;
        double y0 = p[g].y;
        for (int j = g; j < e && p[j].y == y0; j++)
            if (y0 < best_before) on_front[p[j].i] = 1, count++;
        if (y0 < best_before) best_before = y0;
        g = e;
    }
    free(p);
    return count;
}

int dse_choose(const DseResult *r, double budget_us)
{
    int best = -1;
    for (int i = 0; i < r->n; i++) {
        const DseDesign *d = &r->d[i];
        if (budget_us > 0) {
            if (!(d->latency_us <= budget_us)) continue;
            if (best < 0 || d->area < r->d[best].area ||
                (d->area == r->d[best].area && d->latency_us < r->d[best].latency_us))
                best = i;
        } else if (d->pareto) {
            if (best < 0 || d->area * d->latency_us < r->d[best].area * r->d[best].latency_us) best = i;
        }
    }
    return best;
}
