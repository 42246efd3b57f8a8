/* tui/draw: what every screen shares: clipped UTF-8 text, boxes, multi-line text, and charts from
 * plots/ with colours from their cell tags.  Drawing only: no session, no files. */
#ifndef TP_DRAW_H
#define TP_DRAW_H

#include "plots/chart.h"
#include "tui/term.h"

/* s clipped to w terminal cells at (y, x); stops at a newline. */
void draw_clipped(int y, int x, int w, const char *s);
void draw_text(int y, int x, int w, int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void draw_box_title(int y, int x, int h, int w, const char *title);
/* Lines of text (split at newlines), at most max_rows of them. */
void draw_lines(int y, int x, int w, int max_rows, const char *text);
/* A chart of series into a region, colours from the cells' tags.  spec (chart_spec_init, then title,
 * log_y, markers, ranges) gets its mode from caps (ASCII: no braille) and, without colours, a glyph
 * per series (ChartSpec.mono).  Series with no finite value are left out (no legend entry). */
void draw_chart(const TermCaps *caps, int y, int x, int h, int w, const ChartSpec *spec, const char *const *names,
                const double *x_vals, const double *const *y_vals, int n_series, int n_points);

#endif
