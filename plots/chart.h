/* plots/chart: line charts of several series into w x h cells of text (DESIGN 1: arrays in, lines out).
 *
 * Layout, top to bottom: a title row (y label at the left, title centred over the plot; when h >= 5),
 * the plot area with the y axis and its tick labels on the left, the x axis, the x tick labels
 * (h >= 4), and a legend row (series names, labelled point markers, the x label at the right; h >= 7).
 * Rows and the y labels are dropped in that order of priority as the box shrinks; down to 1 x 1
 * nothing is ever written outside the box.
 *
 * Data: a point (x[i], y[i]) is drawn when both are finite (and y > 0 on a log axis); any other
 * point breaks the line.  A point with no drawable neighbour is drawn as a small mark.  Ranges are
 * automatic unless fixed in the spec: x spans the data (and the markers), y spans the data padded by
 * y_pad of its span on each side (not below 0 when the data is >= 0); a zero span is widened.  All
 * arithmetic is done so that any finite range (1e-9 .. 1e12, or -1e300 .. 1e300) neither overflows
 * nor loops long.  With no drawable point the plot area says "no data".
 *
 * Ticks are at 1-2-5 steps (log axis: decades, thinned or completed with 2 and 5), labelled with SI
 * suffixes (chart_format_tick).  Markers: vertical lines (dotted, label at the top; current and target
 * size) drawn under the series, and point glyphs (hysteresis points) drawn over them.
 *
 * Tags (CanvasText.tags, one per cell) tell the TUI what each cell shows: CHART_TAG_* below, series i
 * being CHART_TAG_SERIES + i.  In ASCII mode one series is drawn with the shape of its dots
 * ('-.`/\|), several with one character each (* + o x # % @ = & $, as gnuplot's dumb terminal).
 * Without colours (ChartSpec.mono, for NO_COLOR) the braille series would look alike: the first keeps
 * its braille line and every other one is drawn with a glyph of its own (+ o x # % @ = & $ *), which
 * its legend entry shows.
 */
#ifndef TP_CHART_H
#define TP_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "plots/canvas.h"

#define CHART_MAX_SERIES 16
#define CHART_MAX_MARKERS 64

enum {
    CHART_TAG_PLAIN = 0,
    CHART_TAG_AXIS = 1,     /* axis lines, ticks and tick labels */
    CHART_TAG_TITLE = 2,    /* title, axis names                 */
    CHART_TAG_MARKER = 3,   /* marker lines, glyphs and labels   */
    CHART_TAG_NODATA = 4,   /* the "no data" message             */
    CHART_TAG_SERIES = 8,   /* + series index                    */
};

typedef struct {
    const char *name;        /* legend text; NULL or "" = not in the legend */
    const double *x, *y;     /* [n] */
    size_t n;
} ChartSeries;

typedef enum { CHART_MARK_VLINE = 0, CHART_MARK_POINT = 1 } ChartMarkKind;

typedef struct {
    ChartMarkKind kind;
    double x, y;             /* y only for CHART_MARK_POINT                               */
    const char *label;       /* VLINE: written at the top of the line; POINT: in the legend */
    uint32_t glyph;          /* POINT: code point; 0 = U+25C6 (ASCII mode: 'O')           */
} ChartMarker;

typedef struct {
    const char *title, *x_label, *y_label; /* each may be NULL */
    CanvasMode mode;
    int log_y;
    int mono;                /* no colours: series 2.. get a glyph each (braille mode)      */
    double x_min, x_max;     /* NaN = automatic */
    double y_min, y_max;     /* NaN = automatic (log_y: must be > 0 when given) */
    double y_pad;            /* fraction of the y span added on each side when automatic */
    const ChartMarker *markers;
    int n_markers;
} ChartSpec;

/* Defaults: no labels, braille, linear, automatic ranges, y_pad 0.05, no markers. */
void chart_spec_init(ChartSpec *spec);

/* Render n_series series (0 allowed: "no data") into w x h cells; out is freed with canvas_text_free.
 * TP_EINVAL for a bad size, too many series or markers, or a series with n > 0 and no arrays. */
TpStatus chart_render(CanvasText *out, const ChartSpec *spec, const ChartSeries *series, int n_series, int w, int h);

/* Ticks at multiples of the smallest 1-2-5 step (1, 2, 5 x 10^k) giving at most max_ticks ticks in
 * [lo, hi] (at least one); writes up to cap of them ascending, returns their number and the step.
 * lo == hi gives the single tick lo; non-finite input or lo > hi gives 0. */
int chart_ticks(double *ticks, double *step, int cap, double lo, double hi, int max_ticks);
/* Log axis ticks in [lo, hi] (0 < lo <= hi): powers of ten (every k-th decade if too many, with 2x
 * and 5x added if there is room), or 1-2-5 multiples within a short range, else chart_ticks. */
int chart_log_ticks(double *ticks, int cap, double lo, double hi, int max_ticks);

/* Label of tick v on an axis whose step is `step` and whose largest |tick| is axis_max:
 * one SI unit for the whole axis (k M G T when axis_max >= 1e4; m u n p when axis_max < 0.01; none
 * in between), just enough decimals to tell ticks `step` apart, trailing zeros dropped:
 *   0 5k 10k 15k | 0 0.2 0.4 | 0 0.5m 1m 1.5m | 0 0.2T 0.4T | 100 200 300.
 * micro is U+00B5 (or 'u' when ascii).  Beyond 1e15 or below 1e-12: "%.3g". */
void chart_format_tick(char *buf, size_t n, double v, double step, double axis_max, int ascii);

#endif
