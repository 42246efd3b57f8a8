/* tui/screen_latency: the newest latency curve of the session (latency.tsv) with its hysteresis
 * points and the layers' sizes marked, and per layer the recommendation.  The curve and its analysis
 * are a cached view (sessions/view), reloaded only when a command changed latency.tsv or the model.
 * The x axis shows the sizes around the model's layers (tui/layout: layout_latency_range); f toggles
 * the whole measured range.  It implements the global action a (apply the selected layer's "no slower than now" size). */
#include <curses.h>
#include <math.h>
#include <stdio.h>

#include "plots/chart.h"
#include "tui/draw.h"
#include "tui/layout.h"
#include "tui/screens.h"

typedef struct {
    ViewLatency v;
    int loaded;
    unsigned gen_latency, gen_model;   /* App.gen the view was computed at */
    int layer;                         /* selected layer                   */
    int full;                          /* f: the whole measured range      */
} LatencyState;

static void latency_refresh(App *a, void *st)
{
    LatencyState *l = st;
    if (l->loaded && l->gen_latency == a->gen[APP_VIEW_LATENCY] && l->gen_model == a->gen[APP_VIEW_MODEL]) return;
    view_latency_free(&l->v);
    if (view_latency_load(&l->v, a->s) != TP_OK) app_log(a, 1, "latency.tsv: %s", err_msg());
    l->loaded = 1;
    l->gen_latency = a->gen[APP_VIEW_LATENCY];
    l->gen_model = a->gen[APP_VIEW_MODEL];
}

static void latency_fini(App *a, void *st)
{
    (void)a;
    LatencyState *l = st;
    view_latency_free(&l->v);
}

static int latency_action(App *a, void *st, KeyAction act)
{
    LatencyState *l = st;
    if (act != ACT_APPLY_REC) return 0;
    /* apply "no slower than now": the largest size reachable at no latency cost */
    latency_refresh(a, l);
    const ViewLatency *v = &l->v;
    int cur[VIEW_MAX_LAYERS];
    view_layers(a->s, cur);
    if (!v->have) app_message(a, 1, "no latency profile yet: press l first");
    else if (l->layer >= v->n_layers) app_message(a, 1, "layer %d: no such layer", l->layer);
    else if (v->rec_err[l->layer][0]) app_message(a, 1, "layer %d: %s", l->layer, v->rec_err[l->layer]);
    else if (!v->rec_hidden[l->layer])
        app_message(a, 0, "layer %d: %d is already the largest size at its latency", l->layer, cur[l->layer]);
    else {
        char line[96];
        snprintf(line, sizeof line, "resize layer=%d hidden=%d", l->layer, v->rec_hidden[l->layer]);
        app_command(a, line);
    }
    return 1;
}

static int latency_key(App *a, void *st, int ch)
{
    LatencyState *l = st;
    int L = view_layers(a->s, NULL);
    if (L < 1) return 0;
    if (ch == KEY_UP || ch == KEY_LEFT) {
        l->layer = (l->layer + L - 1) % L;
        return 1;
    }
    if (ch == KEY_DOWN || ch == KEY_RIGHT) {
        l->layer = (l->layer + 1) % L;
        return 1;
    }
    if (ch == 'f') {
        l->full = !l->full;
        app_message(a, 0, l->full ? "latency: the whole measured range" : "latency: the sizes around the model's layers");
        return 1;
    }
    return 0;
}

static void draw_curve(App *a, const LatencyState *l, int top, int ch)
{
    const ViewLatency *v = &l->v;
    int hidden[VIEW_MAX_LAYERS];
    int L = view_layers(a->s, hidden);
    const double *ys[3] = {v->median_us, v->p10_us, v->p90_us};
    const char *names[3] = {"median us", "p10", "p90"};
    ChartMarker mk[CHART_MAX_MARKERS];
    static const char *const LAYER_LABELS[] = {"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7"};
    int nm = 0;
    /* the model's layers: dotted vertical lines labelled l0, l1, ... */
    for (int k = 0; k < L && k < 8 && nm < CHART_MAX_MARKERS; k++)
        mk[nm++] = (ChartMarker){.kind = CHART_MARK_VLINE, .x = hidden[k], .y = 0, .label = LAYER_LABELS[k]};
    /* the hysteresis points: a glyph on the median curve, one legend entry */
    for (int i = 0; i < v->n_points && nm < CHART_MAX_MARKERS; i++)
        for (int j = 0; j < v->n; j++)
            if (v->hidden[j] == v->point_hidden[i]) {
                mk[nm++] = (ChartMarker){.kind = CHART_MARK_POINT, .x = v->hidden[j], .y = v->median_us[j],
                                         .label = i == 0 ? "hysteresis point" : NULL};
                break;
            }
    ChartSpec spec;
    chart_spec_init(&spec);
    spec.markers = mk;
    spec.n_markers = nm;
    double lo, hi;
    int zoomable = layout_latency_range(v->hidden, v->n, hidden, L, &lo, &hi), zoom = zoomable && !l->full;
    char range[64];
    if (zoom) {
        spec.x_min = lo, spec.x_max = hi;
        /* y spans what is visible, not the whole profile */
        double ymax = 0;
        for (int j = 0; j < v->n; j++)
            if (v->hidden[j] >= lo && v->hidden[j] <= hi)
                for (int k = 0; k < 3; k++)
                    if (isfinite(ys[k][j]) && ys[k][j] > ymax) ymax = ys[k][j];
        if (ymax > 0) spec.y_min = 0, spec.y_max = ymax * 1.05;
        snprintf(range, sizeof range, "sizes %.0f-%.0f (f: all)", lo, hi);
    } else {
        snprintf(range, sizeof range, "all sizes%s", zoomable ? " (f: zoom)" : "");
    }
    char title[240];
    snprintf(title, sizeof title, "%s %d thr batch %d: %d hysteresis point%s, %d dominated; %s", v->target, v->threads,
             v->batch, v->n_points, v->n_points == 1 ? "" : "s", v->n_dominated, range);
    spec.title = title;
    spec.x_label = "hidden size";
    draw_chart(&a->caps, top, 0, ch, COLS, &spec, names, v->hidden, ys, 3, v->n);
}

static void latency_draw(App *a, void *st, int top, int h)
{
    LatencyState *l = st;
    const ViewLatency *v = &l->v;
    int info_h = 7, ch = h - info_h;
    if (!v->have) {
        draw_box_title(top, 0, ch, COLS, "latency vs hidden size");
        draw_text(top + ch / 2, 4, COLS - 8, (int)A_BOLD, "no latency profile yet: press l to measure this machine");
    } else {
        draw_curve(a, l, top, ch);
    }
    int iy = top + ch;
    int hidden[VIEW_MAX_LAYERS];
    int L = view_layers(a->s, hidden);
    if (l->layer >= L) l->layer = 0;
    draw_box_title(iy, 0, info_h, COLS, "layers (Up/Down select, l profiles, a applies the recommendation, f zooms)");
    for (int k = 0; k < L && k < info_h - 2; k++)
        draw_text(iy + 1 + k, 2, COLS - 4, k == l->layer ? term_attr(TERM_C_SEL) : (int)A_NORMAL, "layer %d (%d): %s", k,
                  hidden[k], v->have && k < v->n_layers ? v->rec[k] : "-");
    if (v->have && v->hwgp[0]) /* the hardware-guided schedule: phase, budget, latency now, sizes */
        draw_text(iy + 1 + (L < info_h - 3 ? L : info_h - 3), 2, COLS - 4, (int)A_BOLD, "%s", v->hwgp);
}

const Screen SCREEN_LATENCY = {
    .name = "Latency",
    .tab = "Lat",
    .chart = "latency",
    .state_size = sizeof(LatencyState),
    .fini = latency_fini,
    .refresh = latency_refresh,
    .draw = latency_draw,
    .key = latency_key,
    .action = latency_action,
};
