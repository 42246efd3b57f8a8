/* tui/screen_train: the dashboard: perplexity and sparsity charts of the metric series (App.m, from
 * metrics.tsv at start, then live), one line of numbers, and the log of commands and events. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sessions/session_charts.h"
#include "tui/draw.h"
#include "tui/screens.h"

static void train_draw(App *a, void *st, int top, int h)
{
    (void)st;
    const ViewSeries *m = &a->m;
    int log_h = h >= 22 ? 7 : 5;
    int ch = h - log_h - 1;
    int w1 = COLS * 3 / 5, w2 = COLS - w1;
    const double *ppl[2] = {m->train_ppl, m->valid_ppl};
    const char *names[2] = {"train ppl", "valid ppl"};
    int log_y = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < m->n; i++)
        if (isfinite(m->train_ppl[i])) lo = fmin(lo, m->train_ppl[i]), hi = fmax(hi, m->train_ppl[i]);
    if (hi > 8 * lo) log_y = 1;
    /* the two sparsity figures by their names (sessions/session.h); every prune/grow/resize marked */
    ChartMarker marks[CHART_MAX_MARKERS];
    int nm = 0;
    for (int i = m->n_events > CHART_MAX_MARKERS ? m->n_events - CHART_MAX_MARKERS : 0; i < m->n_events; i++, nm++) {
        memset(&marks[nm], 0, sizeof marks[nm]);
        marks[nm].kind = CHART_MARK_VLINE;
        marks[nm].x = (double)m->events[i].step;
        marks[nm].label = m->events[i].kind;
    }
    ChartSpec spec;
    chart_spec_init(&spec);
    spec.title = "perplexity vs step";
    spec.log_y = log_y;
    spec.markers = marks;
    spec.n_markers = nm;
    if (m->speech) { /* the speech task: CTC loss above, valid WER and CER below, where perplexity was */
        const double *loss[2] = {m->train_loss, m->valid_loss}, *er[2] = {m->valid_wer, m->valid_cer};
        const char *ln[2] = {"train CTC loss", "valid CTC loss"}, *en[2] = {"valid WER %", "valid CER %"};
        int h1 = ch / 2;
        spec.title = "CTC loss (nats per utterance) vs step";
        spec.log_y = 0;
        draw_chart(&a->caps, top, 0, h1, w1, &spec, ln, m->step, loss, 2, m->n);
        spec.title = "valid error rates (greedy) vs step";
        draw_chart(&a->caps, top + h1, 0, ch - h1, w1, &spec, en, m->step, er, 2, m->n);
    } else {
        draw_chart(&a->caps, top, 0, ch, w1, &spec, names, m->step, ppl, 2, m->n);
    }
    const double *sp[2] = {m->sparsity, m->matrix_sparsity};
    const char *sn[2] = {"model", "prunable matrices"};
    chart_spec_init(&spec);
    spec.title = SESSION_CHART_SPARSITY_TITLE;
    spec.markers = marks;
    spec.n_markers = nm;
    draw_chart(&a->caps, top, w1, ch, w2, &spec, sn, m->step, sp, 2, m->n);
    /* one line of numbers (from memory) */
    ViewStatus v;
    view_status(a->s, &v);
    char sizes[64] = "";
    for (int l = 0; l < v.n_layers; l++) {
        size_t k = strlen(sizes);
        snprintf(sizes + k, sizeof sizes - k, "%s%d", l ? "," : "", v.hidden[l]);
    }
    char last[96] = "";
    if (m->n_events) { /* the newest change and what it did to the fixed validation slice */
        const SessionEvent *e = &m->events[m->n_events - 1];
        if (isfinite(e->ppl_before) && isfinite(e->ppl_after))
            snprintf(last, sizeof last, " | last %s @%ld: slice ppl %.2f -> %.2f", e->kind, e->step, e->ppl_before, e->ppl_after);
    }
    char wer[64] = "";
    if (v.speech && isfinite(v.valid_wer))
        snprintf(wer, sizeof wer, "valid WER %.1f %%, CER %.1f %% | ", 100 * v.valid_wer, 100 * v.valid_cer);
    char dist[112] = "";
    if (v.distill[0]) snprintf(dist, sizeof dist, " | distill %s", v.distill);
    char avg[80] = "";
    if (v.average[0]) snprintf(avg, sizeof avg, " | average %s", v.average);
    draw_text(top + ch, 0, COLS, (int)A_BOLD, " %slr %.4g | clip %g | nnz %zu/%zu, sparsity: model %.1f %% (prunable matrices "
              "%.1f %%) | layers %s%s | schedule %s%s%s", wer, v.lr, v.clip, v.nnz, v.params, 100 * v.sparsity, 100 * v.matrix_sparsity,
              sizes, last, v.schedule, dist, avg);
    /* the log of recent commands and events */
    int ly = top + ch + 1;
    draw_box_title(ly, 0, log_h, COLS, "log");
    int first = a->log_n - (log_h - 2);
    if (first < 0) first = 0;
    for (int i = first, r = 0; i < a->log_n; i++, r++) {
        const char *line = a->log[i];
        draw_text(ly + 1 + r, 2, COLS - 4, line[0] == '!' ? term_attr(TERM_C_ERR) : (int)A_NORMAL, "%s", line + 1);
    }
}

const Screen SCREEN_TRAIN = {
    .name = "Train",
    .chart = "ppl",
    .draw = train_draw,
};
