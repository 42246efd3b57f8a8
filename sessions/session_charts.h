/* sessions/session_charts: the named charts of a session directory -- which columns of metrics.tsv and
 * latency.tsv (DESIGN 2.3) make which chart.  Used by `topiary plot` (DESIGN 2.1) and meant for the
 * TUI's chart views; it reads the files with plots/tsv and fills a ChartSpec plus series that
 * plots/chart (text) and plots/gnuplot (PNG/SVG) both take.  No curses here.
 *
 *   ppl       train_ppl and valid_ppl vs step (log y)      lr        lr vs step
 *   loss      train_loss and ln(valid_ppl) vs step          tokens    tokens_per_s vs step
 *   sparsity  in %: model, prunable matrices, hidden state  latency   latency.tsv: median_us vs hidden,
 *   nnz       nnz and params (dense-equivalent) vs step               with p10/p90 for a single curve
 *
 * A metrics series keeps the rows where its value is measured (valid_ppl only at epoch ends), so its
 * points join up; a step going backwards (after an undo) breaks the line.  A second series with no
 * measured value at all is left out.
 */
#ifndef TP_SESSION_CHARTS_H
#define TP_SESSION_CHARTS_H

#include "plots/chart.h"

#define SESSION_CHART_NAMES "ppl, loss, sparsity, nnz, lr, tokens, latency"
/* The sparsity chart's title, the same in the TUI and the PNG. */
#define SESSION_CHART_SPARSITY_TITLE "sparsity (%): model and prunable matrices"

typedef struct {
    ChartSpec spec;
    int n_series;
    ChartSeries series[CHART_MAX_SERIES];
    char title[192], names[CHART_MAX_SERIES][96];
    double *xy[CHART_MAX_SERIES][2];  /* owned x and y arrays of the series */
    char source[4200];                /* the file read                     */
    ChartMarker marks[CHART_MAX_MARKERS]; /* latency: the model's layers, the hysteresis points */
    int torn;                         /* its torn last line was ignored    */
} SessionChart;

/* TP_EINVAL for an unknown name (the message lists the names), TP_ENOENT when the file is missing,
 * TP_EFORMAT for a malformed file or a missing column. */
TpStatus session_charts_load(SessionChart *c, const char *dir, const char *name);
void session_charts_free(SessionChart *c);

#endif
