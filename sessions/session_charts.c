/* sessions/session_charts: see session_charts.h. */
#include "session_charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/tsv.h"
#include "engine/hysteresis.h"
#include "sessions/manifest.h"
#include <cJSON.h>

typedef struct {
    const char *name, *title, *y_label;
    int log_y;
    const char *col[3];      /* y columns; "ln:valid_ppl" = natural log of that column */
    const char *label[3];    /* legend names */
    double scale;            /* y = scale * column (sparsity: fractions drawn in %) */
} MetricChart;

/* The sparsity chart names its figures as every other place does (sessions/session.h): the whole
 * model and the prunable matrices, in %, with the same title in the TUI and the PNG. */
static const MetricChart METRIC_CHARTS[] = {
    {"ppl", "perplexity", "ppl", 1, {"train_ppl", "valid_ppl"}, {"train_ppl", "valid_ppl"}, 1},
    {"loss", "loss (nats per token)", "loss", 0, {"train_loss", "ln:valid_ppl"}, {"train_loss", "valid_loss"}, 1},
    {"sparsity", SESSION_CHART_SPARSITY_TITLE, "sparsity (%)", 0, {"sparsity", "matrix_sparsity", "state_sparsity"},
     {"model", "prunable matrices", "hidden state"}, 100},
    {"nnz", "non-zero parameters", "parameters", 0, {"nnz", "params"}, {"nnz", "params (dense)"}, 1},
    {"lr", "learning rate", "lr", 0, {"lr", NULL}, {"lr", NULL}, 1},
    {"tokens", "training throughput", "tokens/s", 0, {"tokens_per_s", NULL}, {"tokens_per_s", NULL}, 1},
    /* the speech task (sessions/speech): its metrics.tsv's own columns */
    {"ctc", "CTC loss (nats per utterance)", "loss", 0, {"train_loss", "valid_loss"}, {"train", "valid"}, 1},
    {"wer", "valid error rates (greedy decoding)", "%", 0, {"valid_wer", "valid_cer"}, {"WER", "CER"}, 100},
};

/* DESIGN 2.3: the metrics.tsv columns that hold numbers (others, if any, may hold text). */
static const char *const METRIC_COLS[] = {"step", "epoch", "lr", "train_loss", "train_ppl", "valid_ppl", "nnz",
                                          "params", "sparsity", "state_sparsity", "latency_us", "tokens_per_s",
                                          "seconds", "matrix_sparsity", "valid_loss", "valid_wer", "valid_cer", NULL};
static const char *const LATENCY_COLS[] = {"threads", "batch", "seq", "hidden", "sparsity", "median_us", "p10_us",
                                           "p90_us", NULL};

void session_charts_free(SessionChart *c)
{
    for (int i = 0; i < CHART_MAX_SERIES; i++) free(c->xy[i][0]), free(c->xy[i][1]);
    memset(c, 0, sizeof *c);
}

/* Append series i: rows where x and y are finite; a backwards step inserts a NaN break. */
static TpStatus add_series(SessionChart *c, const char *name, const double *x, const double *y, const int *rows,
                           size_t n, int log_of_y, double scale)
{
    int i = c->n_series;
    if (i >= CHART_MAX_SERIES) return TP_OK;
    double *xs = malloc((2 * n + 1) * sizeof *xs), *ys = malloc((2 * n + 1) * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        return err_set(TP_ENOMEM, "plot: out of memory");
    }
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        size_t r = rows ? (size_t)rows[j] : j;
        double v = log_of_y ? (y[r] > 0 ? log(y[r]) : NAN) : scale * y[r];
        if (!isfinite(x[r]) || !isfinite(v)) continue;
        if (k && x[r] < xs[k - 1]) xs[k] = x[r], ys[k++] = NAN;
        xs[k] = x[r], ys[k++] = v;
    }
    c->xy[i][0] = xs, c->xy[i][1] = ys;
    snprintf(c->names[i], sizeof c->names[i], "%s", name);
    c->series[i] = (ChartSeries){c->names[i], xs, ys, k};
    c->n_series++;
    return TP_OK;
}

static TpStatus load_metrics(SessionChart *c, const MetricChart *d)
{
    Tsv t;
    TpStatus st = tsv_read(&t, c->source, METRIC_COLS);
    if (st == TP_ENOENT) return err_set(st, "%s: no such file (train the session first)", c->source);
    if (st != TP_OK) return st;
    c->torn = t.torn;
    const double *x = tsv_col(&t, "step");
    if (!x) {
        tsv_free(&t);
        return err_set(TP_EFORMAT, "%s: no column 'step'", c->source);
    }
    for (int k = 0; k < 3 && d->col[k] && st == TP_OK; k++) {
        int ln = !strncmp(d->col[k], "ln:", 3);
        const char *col = d->col[k] + (ln ? 3 : 0);
        const double *y = tsv_col(&t, col);
        if (!y) {
            if (k) continue; /* an optional second series */
            st = err_set(TP_EFORMAT, "%s: no column '%s'", c->source, col);
            break;
        }
        st = add_series(c, d->label[k], x, y, NULL, t.n_rows, ln, d->scale);
        if (st == TP_OK && k && c->series[c->n_series - 1].n == 0) c->n_series--; /* never measured: leave out */
    }
    tsv_free(&t);
    if (st != TP_OK) return st;
    snprintf(c->title, sizeof c->title, "%s", d->title);
    c->spec.title = c->title;
    c->spec.x_label = "step";
    c->spec.y_label = d->y_label;
    c->spec.log_y = d->log_y;
    return TP_OK;
}

/* ---- latency ----------------------------------------------------------------------------------- */

typedef struct {
    char key[160], label[96];
    int n, *rows;
} Group;

static const double *hidden_for_sort;

static int cmp_rows(const void *a, const void *b)
{
    double x = hidden_for_sort[*(const int *)a], y = hidden_for_sort[*(const int *)b];
    return (x > y) - (x < y);
}


/* The marks of a single latency curve, as the Latency screen draws them: the model's layer sizes
 * (task.hidden of dir/manifest.json; none when it cannot be read) as labelled vertical lines, and the
 * hysteresis points of the curve (engine/hysteresis, 2 % noise floor) as points on the median. */
static void latency_marks(SessionChart *c, const char *dir, const int *rows, int n, const double *hid, const double *med,
                          const double *p10, const double *p90)
{
    static const char *const LAYER[] = {"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7"};
    int nm = 0;
    char path[4200];
    cJSON *man = NULL;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (manifest_read_json(path, 1 << 20, &man) == TP_OK) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(man, "task"), "hidden");
        for (int l = 0; l < cJSON_GetArraySize(h) && l < 8 && nm < CHART_MAX_MARKERS; l++) {
            const cJSON *e = cJSON_GetArrayItem(h, l);
            if (cJSON_IsNumber(e)) c->marks[nm++] = (ChartMarker){.kind = CHART_MARK_VLINE, .x = e->valuedouble, .label = LAYER[l]};
        }
        cJSON_Delete(man);
    }
    int *hi = malloc((size_t)(n > 0 ? n : 1) * sizeof *hi);
    double *m = malloc((size_t)(n > 0 ? n : 1) * 3 * sizeof *m);
    HystAnalysis an;
    memset(&an, 0, sizeof an);
    if (hi && m && n > 0) {
        for (int i = 0; i < n; i++) hi[i] = (int)hid[rows[i]], m[i] = med[rows[i]], m[n + i] = p10[rows[i]], m[2 * n + i] = p90[rows[i]];
        HystSeries hs = {n, hi, m, m + n, m + 2 * n};
        HystOptions o;
        hysteresis_options_defaults(&o);
        if (hysteresis_analyze(&an, &hs, &o) == TP_OK)
            for (int i = 0; i < an.n_points && nm < CHART_MAX_MARKERS; i++)
                c->marks[nm++] = (ChartMarker){.kind = CHART_MARK_POINT, .x = hi[an.points[i].index], .y = m[an.points[i].index],
                                               .label = i == 0 ? "hysteresis point" : NULL};
        hysteresis_free(&an);
    }
    free(hi);
    free(m);
    c->spec.markers = c->marks;
    c->spec.n_markers = nm;
}

static TpStatus load_latency(SessionChart *c, const char *dir)
{
    Tsv t;
    TpStatus st = tsv_read(&t, c->source, LATENCY_COLS);
    if (st == TP_ENOENT) return err_set(st, "%s: no such file (run a latency profile in the session first)", c->source);
    if (st != TP_OK) return st;
    c->torn = t.torn;
    static const char *const need[] = {"backend", "threads", "batch", "seq", "hidden", "sparsity", "pattern",
                                       "median_us", "p10_us", "p90_us"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
        if (tsv_find(&t, need[k]) < 0) {
            st = err_set(TP_EFORMAT, "%s: no column '%s'", c->source, need[k]);
            tsv_free(&t);
            return st;
        }
    char *const *backend = tsv_text(&t, "backend"), *const *pattern = tsv_text(&t, "pattern");
    const double *thr = tsv_col(&t, "threads"), *bat = tsv_col(&t, "batch"), *seq = tsv_col(&t, "seq");
    const double *sp = tsv_col(&t, "sparsity"), *hid = tsv_col(&t, "hidden");
    Group g[CHART_MAX_SERIES];
    int ng = 0, dropped = 0;
    int *rows = malloc((t.n_rows + 1) * CHART_MAX_SERIES * sizeof *rows);
    if (!rows) {
        tsv_free(&t);
        return err_set(TP_ENOMEM, "plot: out of memory");
    }
    /* one curve per measuring condition; a size measured again replaces the older row */
    for (size_t r = 0; r < t.n_rows; r++) {
        char key[160];
        snprintf(key, sizeof key, "%s|%g|%g|%g|%g|%s", backend[r], thr[r], bat[r], seq[r], sp[r], pattern[r]);
        int i = 0;
        while (i < ng && strcmp(g[i].key, key)) i++;
        if (i == ng) {
            if (ng == CHART_MAX_SERIES) {
                dropped++;
                continue;
            }
            snprintf(g[i].key, sizeof g[i].key, "%s", key);
            snprintf(g[i].label, sizeof g[i].label, "%s %s%.0f%% t%g b%g seq%g", backend[r], pattern[r],
                     100.0 * sp[r], thr[r], bat[r], seq[r]);
            g[i].rows = rows + (size_t)i * (t.n_rows + 1);
            g[i].n = 0;
            ng++;
        }
        int j = 0;
        while (j < g[i].n && hid[g[i].rows[j]] != hid[r]) j++;
        g[i].rows[j] = (int)r;
        if (j == g[i].n) g[i].n++;
    }
    hidden_for_sort = hid;
    for (int i = 0; i < ng; i++) qsort(g[i].rows, (size_t)g[i].n, sizeof *g[i].rows, cmp_rows);
    const double *med = tsv_col(&t, "median_us"), *p10 = tsv_col(&t, "p10_us"), *p90 = tsv_col(&t, "p90_us");
    if (ng == 1) {
        st = add_series(c, "median", hid, med, g[0].rows, (size_t)g[0].n, 0, 1);
        if (st == TP_OK) st = add_series(c, "p10", hid, p10, g[0].rows, (size_t)g[0].n, 0, 1);
        if (st == TP_OK) st = add_series(c, "p90", hid, p90, g[0].rows, (size_t)g[0].n, 0, 1);
        int r = g[0].rows[0];
        char sparse[32] = "";
        if (sp[r] > 0) snprintf(sparse, sizeof sparse, " %.0f%% sparse", 100.0 * sp[r]);
        snprintf(c->title, sizeof c->title, "latency (%s %s%s, %g threads, batch %g, seq %g)", backend[r], pattern[r],
                 sparse, thr[r], bat[r], seq[r]);
        if (st == TP_OK) latency_marks(c, dir, g[0].rows, g[0].n, hid, med, p10, p90);
    } else {
        for (int i = 0; i < ng && st == TP_OK; i++)
            st = add_series(c, g[i].label, hid, med, g[i].rows, (size_t)g[i].n, 0, 1);
        snprintf(c->title, sizeof c->title, "latency per call (median)%s", dropped ? " (first 16 curves)" : "");
    }
    free(rows);
    tsv_free(&t);
    if (st != TP_OK) return st;
    c->spec.title = c->title;
    c->spec.x_label = "hidden size";
    c->spec.y_label = "us";
    return TP_OK;
}

TpStatus session_charts_load(SessionChart *c, const char *dir, const char *name)
{
    memset(c, 0, sizeof *c);
    chart_spec_init(&c->spec);
    const MetricChart *d = NULL;
    for (size_t k = 0; k < sizeof METRIC_CHARTS / sizeof METRIC_CHARTS[0]; k++)
        if (!strcmp(name, METRIC_CHARTS[k].name)) d = &METRIC_CHARTS[k];
    if (!d && strcmp(name, "latency"))
        return err_set(TP_EINVAL, "--chart: unknown chart '%s' (expected one of: %s)", name, SESSION_CHART_NAMES);
    if (strlen(dir) > 4000) return err_set(TP_EINVAL, "--session: path too long");
    snprintf(c->source, sizeof c->source, "%s/%s", dir, d ? "metrics.tsv" : "latency.tsv");
    TpStatus st = d ? load_metrics(c, d) : load_latency(c, dir);
    if (st != TP_OK) session_charts_free(c);
    return st;
}
