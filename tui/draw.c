/* tui/draw: see draw.h. */
#include <curses.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/chart.h"
#include "tui/draw.h"
#include "tui/term.h"

/* Print s clipped to w terminal cells (one cell per code point: our text has no wide characters). */
void draw_clipped(int y, int x, int w, const char *s)
{
    if (w <= 0 || y < 0 || y >= LINES) return;
    const char *p = s;
    int cells = 0;
    while (*p && cells < w) {
        uint32_t cp;
        const char *q = utf8_next(p, &cp);
        if (cp == '\n') break;
        p = q;
        cells++;
    }
    mvaddnstr(y, x, s, (int)(p - s));
}

void draw_text(int y, int x, int w, int attr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    attron(attr);
    draw_clipped(y, x, w, buf);
    attroff(attr);
}

void draw_box_title(int y, int x, int h, int w, const char *title)
{
    if (h < 2 || w < 4) return;
    mvhline(y, x + 1, ACS_HLINE, w - 2);
    mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
    mvvline(y + 1, x, ACS_VLINE, h - 2);
    mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
    mvaddch(y, x, ACS_ULCORNER);
    mvaddch(y, x + w - 1, ACS_URCORNER);
    mvaddch(y + h - 1, x, ACS_LLCORNER);
    mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
    if (title && *title) draw_text(y, x + 2, w - 4, term_attr(TERM_C_TITLE) | A_BOLD, " %s ", title);
}

static int tag_attr(uint8_t tag)
{
    if (tag >= CHART_TAG_SERIES) return term_attr(TERM_C_S1 + (tag - CHART_TAG_SERIES) % 4);
    switch (tag) {
    case CHART_TAG_TITLE: return term_attr(TERM_C_TITLE) | A_BOLD;
    case CHART_TAG_MARKER: return term_attr(TERM_C_MARK);
    case CHART_TAG_NODATA: return A_DIM;
    default: return A_NORMAL;
    }
}

/* Print rendered lines with one attribute per run of equal tags. */
static void put_text(const CanvasText *t, int y, int x, int (*attr_of)(uint8_t))
{
    for (int r = 0; r < t->h && y + r < LINES; r++) {
        const char *p = t->lines[r];
        int col = 0;
        while (*p && col < t->w) {
            uint8_t tag = t->tags[(size_t)r * t->w + col];
            const char *start = p;
            int c0 = col;
            while (*p && col < t->w && t->tags[(size_t)r * t->w + col] == tag) {
                uint32_t cp;
                p = utf8_next(p, &cp);
                col++;
            }
            int a = attr_of(tag);
            attron(a);
            mvaddnstr(y + r, x + c0, start, (int)(p - start));
            attroff(a);
        }
    }
}

void draw_chart(const TermCaps *caps, int y, int x, int h, int w, const ChartSpec *spec_in, const char *const *names,
                const double *x_vals, const double *const *y_vals, int n_series, int n_points)
{
    if (h < 3 || w < 10) return;
    ChartSpec spec = *spec_in;
    spec.mode = caps->ascii ? CANVAS_ASCII : CANVAS_BRAILLE;
    spec.mono = !caps->color;
    ChartSeries ser[CHART_MAX_SERIES];
    int ns = 0;
    for (int i = 0; i < n_series && ns < CHART_MAX_SERIES; i++) {
        /* skip series with nothing finite: no legend entry for what was never measured */
        int any = 0;
        for (int k = 0; k < n_points && !any; k++) any = isfinite(y_vals[i][k]);
        if (!any) continue;
        ser[ns].name = names ? names[i] : NULL;
        ser[ns].x = x_vals;
        ser[ns].y = y_vals[i];
        ser[ns].n = (size_t)n_points;
        ns++;
    }
    CanvasText t;
    if (chart_render(&t, &spec, ser, ns, w, h) != TP_OK) {
        draw_text(y, x, w, term_attr(TERM_C_ERR), "chart: %s", err_msg());
        return;
    }
    put_text(&t, y, x, tag_attr);
    canvas_text_free(&t);
}

void draw_lines(int y, int x, int w, int max_rows, const char *text)
{
    const char *p = text;
    for (int r = 0; r < max_rows && *p; r++) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        draw_text(y + r, x, w, (int)A_NORMAL, "%.*s", len, p);
        p = nl ? nl + 1 : p + len;
    }
}
