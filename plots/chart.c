/* plots/chart: see chart.h.
 *
 * Coordinates: data -> "dot space" of the plot area (2 dots per cell across, 4 down, y down) through
 * frac(), which halves before subtracting so no finite range overflows; dot coordinates are clamped
 * to +-1e7 and segments clipped to the plot box before they become ints, so a point far outside a
 * fixed range neither overflows nor makes Bresenham walk far.
 */
#include "chart.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TICKS 32
#define POINT_GLYPH 0x25C6u /* black diamond */

static const char ASCII_INK[] = "*+ox#%@=&$";
/* the braille series' glyph without colours (series 1..): ASCII_INK shifted so that each differs */
#define MONO_INK(i) ((uint32_t)ASCII_INK[(i) % 10])
#define ASCII_POINT 'O'

static int has_name(const char *s) { return s && *s; }

void chart_spec_init(ChartSpec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->mode = CANVAS_BRAILLE;
    spec->x_min = spec->x_max = spec->y_min = spec->y_max = NAN;
    spec->y_pad = 0.05;
}

/* ---- ticks ----------------------------------------------------------------------------------- */

int chart_ticks(double *ticks, double *step, int cap, double lo, double hi, int max_ticks)
{
    *step = 0;
    if (!isfinite(lo) || !isfinite(hi) || lo > hi || cap < 1) return 0;
    if (max_ticks < 1) max_ticks = 1;
    if (lo == hi) {
        ticks[0] = lo;
        return 1;
    }
    double raw = (hi / 2 - lo / 2) / max_ticks * 2;
    if (!isfinite(raw) || raw <= 0) return 0;
    static const double mult[3] = {1, 2, 5};
    double mag = pow(10, floor(log10(raw))), s = mag, a = 0, b = -1;
    if (!(mag > 0) || !isfinite(mag)) return 0;
    if (mag > raw) mag /= 10; /* log10 rounding */
    for (int k = 0; k < 15; k++) {
        s = mult[k % 3] * mag * pow(10, k / 3);
        if (!isfinite(s)) return 0;
        a = ceil(lo / s - 1e-9);
        b = floor(hi / s + 1e-9);
        if (b - a + 1 <= max_ticks) break;
    }
    *step = s;
    if (b < a) { /* no multiple of the step inside (only with max_ticks 1) */
        ticks[0] = lo;
        return 1;
    }
    int n = (int)fmin(b - a + 1, (double)cap);
    for (int i = 0; i < n; i++) {
        double t = (a + i) * s;
        ticks[i] = fabs(t) < s * 1e-9 ? 0.0 : t;
    }
    return n;
}

static int add_tick(double *ticks, int n, int cap, double v, double lo, double hi)
{
    if (n < cap && v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks[n++] = v;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int chart_log_ticks(double *ticks, int cap, double lo, double hi, int max_ticks)
{
    if (!(lo > 0) || !isfinite(lo) || !isfinite(hi) || lo > hi || cap < 1) return 0;
    if (max_ticks < 1) max_ticks = 1;
    int e0 = (int)ceil(log10(lo) - 1e-9), e1 = (int)floor(log10(hi) + 1e-9);
    int nd = e1 - e0 + 1, n = 0;
    if (nd >= 2) {
        for (int every = 1; every <= nd; every++) {
            n = 0;
            for (int e = e0; e <= e1; e++)
                if (((e % every) + every) % every == 0) n = add_tick(ticks, n, cap, pow(10, e), lo, hi);
            if (n <= max_ticks) {
                if (every == 1 && 3 * nd <= max_ticks) /* room for the 2s and 5s */
                    for (int e = e0 - 1; e <= e1; e++) {
                        n = add_tick(ticks, n, cap, 2 * pow(10, e), lo, hi);
                        n = add_tick(ticks, n, cap, 5 * pow(10, e), lo, hi);
                    }
                break;
            }
        }
        qsort(ticks, (size_t)n, sizeof *ticks, cmp_double);
        return n;
    }
    double tmp[MAX_TICKS];
    int m = 0;
    for (int e = e0 - 1; e <= e1 + 1 && m < MAX_TICKS - 3; e++)
        for (int k = 0; k < 3; k++) m = add_tick(tmp, m, MAX_TICKS, (k == 0 ? 1 : k == 1 ? 2 : 5) * pow(10, e), lo, hi);
    if (m >= 2 && m <= max_ticks) {
        n = m < cap ? m : cap;
        memcpy(ticks, tmp, (size_t)n * sizeof *ticks);
        return n;
    }
    double step;
    return chart_ticks(ticks, &step, cap, lo, hi, max_ticks);
}

/* ---- tick labels ----------------------------------------------------------------------------- */

/* SI exponent (multiple of 3, -12..12) for the unit, or 99 when out of range. */
static int unit_exp(double m, int plain_zone)
{
    if (m == 0 || (plain_zone && m >= 0.01 && m < 1e4) || (!plain_zone && m >= 1 && m < 1000)) return 0;
    int e3 = (int)floor(log10(m) / 3 + 1e-9);
    if (plain_zone && m >= 1e4 && e3 < 1) e3 = 1;
    return (e3 < -4 || e3 > 4) ? 99 : e3 * 3;
}

static void format_unit(char *buf, size_t n, double v, double step, int e, int ascii)
{
    if (e == 99 || !isfinite(v)) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    static const char *const pre[9] = {"p", "n", "\xC2\xB5", "m", "", "k", "M", "G", "T"};
    double unit = pow(10, e), x = v / unit;
    int d = 3;
    if (step > 0 && isfinite(step / unit)) {
        d = -(int)floor(log10(step / unit) + 1e-9);
        d = d < 0 ? 0 : d > 9 ? 9 : d;
    }
    char num[64];
    snprintf(num, sizeof num, "%.*f", d, x);
    if (strchr(num, '.')) {
        char *p = num + strlen(num) - 1;
        while (*p == '0') *p-- = '\0';
        if (*p == '.') *p = '\0';
    }
    if (!strcmp(num, "-0")) strcpy(num, "0");
    const char *suffix = (e == -6 && ascii) ? "u" : pre[e / 3 + 4];
    snprintf(buf, n, "%s%s", num, strcmp(num, "0") ? suffix : "");
}

void chart_format_tick(char *buf, size_t n, double v, double step, double axis_max, int ascii)
{
    format_unit(buf, n, v, step, unit_exp(fabs(axis_max), 1), ascii);
}

/* Log axes: a unit per tick (1m 10m 100m 1 10 100 1k 10k). */
static void format_log_tick(char *buf, size_t n, double v, int ascii)
{
    int e = unit_exp(v, 0);
    format_unit(buf, n, v, e == 99 ? 0 : v, e, ascii);
}

/* ---- layout and mapping ---------------------------------------------------------------------- */

typedef struct {
    int col0, row0, pw, ph;   /* plot area in cells                         */
    int axis_col;             /* column of the y axis, -1 without           */
    int axis_row;             /* row of the x axis, -1 without              */
    double xlo, xhi, ylo, yhi; /* y in log10 when log_y                     */
    int log_y, ascii;
} Frame;

static double frac(double v, double lo, double hi)
{
    double d = hi / 2 - lo / 2;
    if (!(d > 0)) return 0.5;
    double f = (v / 2 - lo / 2) / d;
    return f > 1e7 ? 1e7 : f < -1e7 ? -1e7 : f;
}

static double dot_x(const Frame *f, double x) { return frac(x, f->xlo, f->xhi) * (2 * f->pw - 1); }

static double dot_y(const Frame *f, double y)
{
    return (1 - frac(f->log_y ? log10(y) : y, f->ylo, f->yhi)) * (4 * f->ph - 1);
}

static int drawable(const Frame *f, double x, double y) { return isfinite(x) && isfinite(y) && (!f->log_y || y > 0); }

static void widen(double *lo, double *hi, int logspace)
{
    if (*hi > *lo) return;
    double v = *lo, d = logspace ? 0.5 : (v == 0 ? 1 : fabs(v) * 0.1);
    *lo = v - d;
    *hi = v + d;
}

/* Automatic or fixed ranges into f; returns 0 when no series has a drawable point. */
static int set_ranges(Frame *f, const ChartSpec *sp, const ChartSeries *s, int ns)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int any = 0;
    for (int i = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++) {
            double x = s[i].x[j], y = s[i].y[j];
            if (!drawable(f, x, y)) continue;
            any = 1;
            double v = f->log_y ? log10(y) : y;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, v), yhi = fmax(yhi, v);
        }
    if (!any) return 0;
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (!isfinite(m->x)) continue;
        xlo = fmin(xlo, m->x), xhi = fmax(xhi, m->x);
        if (m->kind == CHART_MARK_POINT && drawable(f, m->x, m->y)) {
            double v = f->log_y ? log10(m->y) : m->y;
            ylo = fmin(ylo, v), yhi = fmax(yhi, v);
        }
    }
    int data_nonneg = !f->log_y && ylo >= 0;
    if (isfinite(sp->x_min)) xlo = sp->x_min;
    if (isfinite(sp->x_max)) xhi = sp->x_max;
    if (xlo > xhi) xhi = xlo;
    widen(&xlo, &xhi, 0);
    double pad = (isfinite(sp->y_pad) && sp->y_pad > 0 && sp->y_pad < 10) ? sp->y_pad : 0;
    widen(&ylo, &yhi, f->log_y);
    double span = yhi / 2 - ylo / 2, lo2 = ylo - 2 * pad * span, hi2 = yhi + 2 * pad * span;
    if (isfinite(lo2)) ylo = (data_nonneg && lo2 < 0) ? 0 : lo2;
    if (isfinite(hi2)) yhi = hi2;
    if (isfinite(sp->y_min)) ylo = f->log_y ? log10(sp->y_min) : sp->y_min;
    if (isfinite(sp->y_max)) yhi = f->log_y ? log10(sp->y_max) : sp->y_max;
    if (ylo > yhi) yhi = ylo;
    widen(&ylo, &yhi, f->log_y);
    f->xlo = xlo, f->xhi = xhi, f->ylo = ylo, f->yhi = yhi;
    return 1;
}

typedef struct {
    int n;
    double v[MAX_TICKS];
    int pos[MAX_TICKS];     /* row (y) or column (x) of each tick */
    char label[MAX_TICKS][32];
    int width;              /* widest label */
} Ticks;

static void y_ticks(Ticks *t, const Frame *f)
{
    int need = f->ph >= 6 ? 2 : 1;
    for (int mt = f->ph < MAX_TICKS ? f->ph : MAX_TICKS; mt >= 1; mt--) {
        double step = 0;
        if (f->log_y) {
            double lo = pow(10, f->ylo), hi = pow(10, f->yhi);
            t->n = chart_log_ticks(t->v, MAX_TICKS, lo > 0 ? lo : DBL_MIN, isfinite(hi) ? hi : DBL_MAX, mt);
        } else {
            t->n = chart_ticks(t->v, &step, MAX_TICKS, f->ylo, f->yhi, mt);
        }
        double amax = t->n ? fmax(fabs(t->v[0]), fabs(t->v[t->n - 1])) : 0;
        int ok = 1;
        t->width = 0;
        for (int i = 0; i < t->n; i++) {
            t->pos[i] = f->row0 + (int)lround(dot_y(f, t->v[i])) / 4;
            if (i && t->pos[i - 1] - t->pos[i] < need) ok = 0;
            if (f->log_y) format_log_tick(t->label[i], sizeof t->label[i], t->v[i], f->ascii);
            else chart_format_tick(t->label[i], sizeof t->label[i], t->v[i], step, amax, f->ascii);
            int wd = utf8_width(t->label[i]);
            if (wd > t->width) t->width = wd;
        }
        if (ok) return;
    }
    t->n = 0;
    t->width = 0;
}

static void x_ticks(Ticks *t, const Frame *f, int w)
{
    for (int mt = f->pw / 2 < MAX_TICKS ? f->pw / 2 : MAX_TICKS; mt >= 1; mt--) {
        double step;
        t->n = chart_ticks(t->v, &step, MAX_TICKS, f->xlo, f->xhi, mt);
        double amax = t->n ? fmax(fabs(t->v[0]), fabs(t->v[t->n - 1])) : 0;
        int ok = 1, end = -2;
        for (int i = 0; i < t->n && ok; i++) {
            chart_format_tick(t->label[i], sizeof t->label[i], t->v[i], step, amax, f->ascii);
            int col = f->col0 + (int)lround(dot_x(f, t->v[i])) / 2, len = utf8_width(t->label[i]);
            int start = col - (len - 1) / 2;
            if (start + len > w) start = w - len;
            if (start < 0) start = 0;
            if (start <= end + 1 || (len > w)) ok = 0; /* overlap (one blank between) or too wide */
            end = start + len - 1;
            t->pos[i] = col;
        }
        if (ok) return;
    }
    t->n = 0;
}

/* ---- drawing --------------------------------------------------------------------------------- */

static void put_clipped(Canvas *c, int col, int row, const char *s, uint8_t tag, int cmin, int cmax)
{
    uint32_t cp;
    for (int k = col; *s; k++) {
        s = utf8_next(s, &cp);
        if (k >= cmin && k <= cmax) canvas_put(c, k, row, cp, tag);
    }
}

static void draw_axes(Canvas *c, const Frame *f, const Ticks *yt, const Ticks *xt)
{
    int a = f->ascii, w = c->w;
    if (f->axis_col >= 0) {
        for (int r = f->row0; r < f->row0 + f->ph; r++) canvas_put(c, f->axis_col, r, a ? '|' : 0x2502, CHART_TAG_AXIS);
        for (int i = 0; i < yt->n; i++) {
            canvas_put(c, f->axis_col, yt->pos[i], a ? '+' : 0x2524, CHART_TAG_AXIS);
            int len = utf8_width(yt->label[i]);
            put_clipped(c, f->axis_col - len, yt->pos[i], yt->label[i], CHART_TAG_AXIS, 0, f->axis_col - 1);
        }
    }
    if (f->axis_row < 0) return;
    for (int k = f->col0; k < w; k++) canvas_put(c, k, f->axis_row, a ? '-' : 0x2500, CHART_TAG_AXIS);
    if (f->axis_col >= 0) canvas_put(c, f->axis_col, f->axis_row, a ? '+' : 0x2514, CHART_TAG_AXIS);
    for (int i = 0; i < xt->n; i++) {
        canvas_put(c, xt->pos[i], f->axis_row, a ? '+' : 0x252C, CHART_TAG_AXIS);
        if (f->axis_row + 1 >= c->h) continue;
        int len = utf8_width(xt->label[i]), start = xt->pos[i] - (len - 1) / 2;
        if (start + len > w) start = w - len;
        if (start < 0) start = 0;
        put_clipped(c, start, f->axis_row + 1, xt->label[i], CHART_TAG_AXIS, 0, w - 1);
    }
}

/* A segment in plot dot space, clipped to the plot area. */
static void segment(Canvas *c, const Frame *f, double x0, double y0, double x1, double y1, uint8_t tag)
{
    if (!canvas_clip_segment(&x0, &y0, &x1, &y1, 0, 0, 2 * f->pw - 1, 4 * f->ph - 1)) return;
    int ox = f->col0 * 2, oy = f->row0 * 4;
    canvas_line(c, ox + (int)lround(x0), oy + (int)lround(y0), ox + (int)lround(x1), oy + (int)lround(y1), tag);
}

/* A lone point: a 2x2 block of dots (braille) or the series character (ASCII). */
static void lone_point(Canvas *c, const Frame *f, double dx, double dy, uint8_t tag, char ink)
{
    int x = (int)lround(dx), y = (int)lround(dy), W = 2 * f->pw, H = 4 * f->ph;
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    if (f->ascii) {
        canvas_put(c, f->col0 + x / 2, f->row0 + y / 4, (uint32_t)ink, tag);
        return;
    }
    int x2 = x + 1 < W ? x + 1 : x - 1, y2 = y + 1 < H ? y + 1 : y - 1;
    int ox = f->col0 * 2, oy = f->row0 * 4;
    canvas_dot(c, ox + x, oy + y, tag);
    canvas_dot(c, ox + x2, oy + y, tag);
    canvas_dot(c, ox + x, oy + y2, tag);
    canvas_dot(c, ox + x2, oy + y2, tag);
}

static void draw_series(Canvas *c, const Frame *f, const ChartSeries *s, uint8_t tag, char ink)
{
    for (size_t j = 0; j < s->n; j++) {
        if (!drawable(f, s->x[j], s->y[j])) continue;
        double ax = dot_x(f, s->x[j]), ay = dot_y(f, s->y[j]);
        int prev = j > 0 && drawable(f, s->x[j - 1], s->y[j - 1]);
        int next = j + 1 < s->n && drawable(f, s->x[j + 1], s->y[j + 1]);
        if (next) segment(c, f, ax, ay, dot_x(f, s->x[j + 1]), dot_y(f, s->y[j + 1]), tag);
        else if (!prev) lone_point(c, f, ax, ay, tag, ink);
    }
}

static int marker_col(const Frame *f, const ChartMarker *m, int *col)
{
    if (!isfinite(m->x)) return 0;
    double dx = dot_x(f, m->x);
    if (dx < -0.5 || dx > 2 * f->pw - 0.5) return 0;
    *col = f->col0 + (int)lround(dx) / 2;
    return 1;
}

/* A label goes where all its cells are blank, inside the plot area; else it is left out. */
static int blank_run(const Canvas *c, int col, int row, int len, int cmin, int cmax)
{
    if (col < cmin || col + len - 1 > cmax) return 0;
    for (int k = col; k < col + len; k++)
        if (canvas_cell(c, k, row) != ' ') return 0;
    return 1;
}

/* Vertical lines (under the series), their labels at the top row right or left of the line. */
static void draw_vlines(Canvas *c, const Frame *f, const ChartSpec *sp)
{
    int right = f->col0 + f->pw - 1, col;
    for (int k = 0; k < sp->n_markers; k++)
        if (sp->markers[k].kind == CHART_MARK_VLINE && marker_col(f, &sp->markers[k], &col))
            for (int r = f->row0; r < f->row0 + f->ph; r++)
                canvas_put(c, col, r, f->ascii ? ':' : 0x250A, CHART_TAG_MARKER);
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_VLINE || !has_name(m->label) || !marker_col(f, m, &col)) continue;
        int len = utf8_width(m->label), at = col + 1;
        if (!blank_run(c, at, f->row0, len, f->col0, right)) at = col - len;
        if (blank_run(c, at, f->row0, len, f->col0, right)) canvas_puts(c, at, f->row0, m->label, CHART_TAG_MARKER);
    }
}

/* Point glyphs, over the series. */
static void draw_points(Canvas *c, const Frame *f, const ChartSpec *sp)
{
    int col;
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_POINT || !drawable(f, m->x, m->y) || !marker_col(f, m, &col)) continue;
        double dy = dot_y(f, m->y);
        if (dy < -0.5 || dy > 4 * f->ph - 0.5) continue;
        canvas_put(c, col, f->row0 + (int)lround(dy) / 4, m->glyph ? m->glyph : f->ascii ? ASCII_POINT : POINT_GLYPH,
                   CHART_TAG_MARKER);
    }
}

static void draw_legend(Canvas *c, const ChartSpec *sp, const ChartSeries *s, int ns, int row)
{
    int col = 0, a = sp->mode == CANVAS_ASCII;
    for (int i = 0; i < ns; i++) {
        if (!has_name(s[i].name)) continue;
        uint8_t tag = (uint8_t)(CHART_TAG_SERIES + i);
        uint32_t sample = a ? (uint32_t)(ns > 1 ? ASCII_INK[i % 10] : '-') : c->glyph_ink[tag] ? c->glyph_ink[tag] : 0x2812;
        canvas_put(c, col, row, sample, tag);
        canvas_put(c, col + 1, row, sample, tag);
        col += 3 + canvas_puts(c, col + 3, row, s[i].name, CHART_TAG_PLAIN) + 2;
    }
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_POINT || !has_name(m->label)) continue;
        canvas_put(c, col, row, m->glyph ? m->glyph : a ? ASCII_POINT : POINT_GLYPH, CHART_TAG_MARKER);
        col += 2 + canvas_puts(c, col + 2, row, m->label, CHART_TAG_PLAIN) + 2;
    }
    if (has_name(sp->x_label)) {
        int len = utf8_width(sp->x_label);
        if (col + len <= c->w) canvas_puts(c, c->w - len, row, sp->x_label, CHART_TAG_TITLE);
    }
}

static TpStatus check_args(const ChartSpec *sp, const ChartSeries *s, int ns, int w, int h)
{
    if (w < 1 || h < 1 || (long long)w * h > CANVAS_MAX_CELLS) return err_set(TP_EINVAL, "chart: bad size %dx%d", w, h);
    if (ns < 0 || ns > CHART_MAX_SERIES || (ns && !s))
        return err_set(TP_EINVAL, "chart: %d series (at most %d)", ns, CHART_MAX_SERIES);
    if (sp->n_markers < 0 || sp->n_markers > CHART_MAX_MARKERS || (sp->n_markers && !sp->markers))
        return err_set(TP_EINVAL, "chart: %d markers (at most %d)", sp->n_markers, CHART_MAX_MARKERS);
    for (int i = 0; i < ns; i++)
        if (s[i].n && (!s[i].x || !s[i].y)) return err_set(TP_EINVAL, "chart: series %d has no data arrays", i);
    if (sp->log_y && ((isfinite(sp->y_min) && sp->y_min <= 0) || (isfinite(sp->y_max) && sp->y_max <= 0)))
        return err_set(TP_EINVAL, "chart: a log y axis needs a range above 0");
    return TP_OK;
}

TpStatus chart_render(CanvasText *out, const ChartSpec *sp, const ChartSeries *s, int ns, int w, int h)
{
    memset(out, 0, sizeof *out);
    TpStatus st = check_args(sp, s, ns, w, h);
    if (st != TP_OK) return st;
    Canvas c;
    if ((st = canvas_init(&c, w, h, sp->mode)) != TP_OK) return st;
    if (ns > 1)
        for (int i = 0; i < ns; i++) c.ascii_ink[CHART_TAG_SERIES + i] = ASCII_INK[i % 10];
    if (ns > 1 && sp->mono && sp->mode == CANVAS_BRAILLE)
        for (int i = 1; i < ns; i++) c.glyph_ink[CHART_TAG_SERIES + i] = MONO_INK(i);

    int legend = has_name(sp->x_label);
    for (int i = 0; i < ns; i++) legend |= has_name(s[i].name);
    for (int k = 0; k < sp->n_markers; k++)
        legend |= sp->markers[k].kind == CHART_MARK_POINT && has_name(sp->markers[k].label);
    int title = (has_name(sp->title) || has_name(sp->y_label)) && h >= 5;
    legend = legend && h >= 7;
    int xaxis = h >= 3, xlabels = h >= 4;

    Frame f = {.row0 = title, .log_y = sp->log_y, .ascii = sp->mode == CANVAS_ASCII};
    f.ph = h - title - legend - xaxis - xlabels;
    f.axis_row = xaxis ? f.row0 + f.ph : -1;
    int have = set_ranges(&f, sp, s, ns);
    Ticks yt = {0}, xt = {0};
    if (have) y_ticks(&yt, &f);
    /* y labels only when they leave at least 4 plot columns; the axis alone from w >= 3 */
    if (have && yt.n && yt.width + 1 + 4 <= w) {
        f.axis_col = yt.width;
    } else {
        f.axis_col = w >= 3 ? 0 : -1;
        yt.n = 0;
    }
    f.col0 = f.axis_col + 1;
    f.pw = w - f.col0;
    if (have && xlabels) x_ticks(&xt, &f, w);

    if (title) {
        int ylen = has_name(sp->y_label) ? canvas_puts(&c, 0, 0, sp->y_label, CHART_TAG_TITLE) : 0;
        if (has_name(sp->title)) {
            int len = utf8_width(sp->title), start = f.col0 + (f.pw - len) / 2;
            if (ylen && start < ylen + 2) start = ylen + 2;
            if (start + len > w) start = w - len;
            if (start < (ylen ? ylen + 2 : 0)) start = ylen ? ylen + 2 : 0;
            canvas_puts(&c, start, 0, sp->title, CHART_TAG_TITLE);
        }
    }
    draw_axes(&c, &f, &yt, &xt);
    if (have) {
        draw_vlines(&c, &f, sp);
        for (int i = 0; i < ns; i++)
            draw_series(&c, &f, &s[i], (uint8_t)(CHART_TAG_SERIES + i), ns > 1 ? ASCII_INK[i % 10] : '*');
        draw_points(&c, &f, sp);
    } else {
        static const char msg[] = "no data";
        int len = (int)sizeof msg - 1, start = f.col0 + (f.pw - len) / 2;
        put_clipped(&c, start < f.col0 ? f.col0 : start, f.row0 + (f.ph - 1) / 2, msg, CHART_TAG_NODATA, f.col0, w - 1);
    }
    if (legend) draw_legend(&c, sp, s, ns, h - 1);
    st = canvas_render(&c, out);
    canvas_free(&c);
    return st;
}
