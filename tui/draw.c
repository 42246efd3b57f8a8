/* tui/draw: what every screen shares: clipped UTF-8 text, boxes, charts from plots/ with colours
 * from their cell tags, the status bar, the message/prompt line and the key bar; and draw_all,
 * which lays the frame out and calls the current screen.  One refresh per frame (no flicker). */
#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "plots/chart.h"
#include "tui/keys.h"
#include "tui/ui.h"

/* Print s clipped to w terminal cells (one cell per code point: our text has no wide characters). */
static void put_clipped(int y, int x, int w, const char *s)
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
    put_clipped(y, x, w, buf);
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

void draw_chart(App *a, int y, int x, int h, int w, const char *title, const char *const *names, const double *x_vals,
                const double *const *y_vals, int n_series, int n_points, int log_y, const double *marks_x,
                const char *const *mark_labels, int n_marks)
{
    if (h < 3 || w < 10) return;
    ChartSpec spec;
    chart_spec_init(&spec);
    spec.title = title;
    spec.mode = a->caps.ascii ? CANVAS_ASCII : CANVAS_BRAILLE;
    spec.log_y = log_y;
    ChartMarker marks[CHART_MAX_MARKERS];
    int nm = n_marks < CHART_MAX_MARKERS ? n_marks : CHART_MAX_MARKERS;
    for (int i = 0; i < nm; i++) {
        memset(&marks[i], 0, sizeof marks[i]);
        marks[i].kind = CHART_MARK_VLINE;
        marks[i].x = marks_x[i];
        marks[i].label = mark_labels ? mark_labels[i] : NULL;
    }
    spec.markers = marks;
    spec.n_markers = nm;
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

/* ---- frame ---------------------------------------------------------------------------------- */

static const char *const SCREEN_NAMES[SCR_COUNT] = {"1 Train", "2 Grow & prune", "3 Latency", "4 Sessions", "5 Help"};

static void status_bar(App *a)
{
    const Session *s = a->s;
    const Trainer *t = &s->trainer;
    attron(term_attr(TERM_C_BAR));
    mvhline(0, 0, ' ', COLS);
    double tok = a->m.n ? a->m.tok_s[a->m.n - 1] : NAN;
    char ppl[32] = "-";
    if (isfinite(s->valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", s->valid_ppl);
    const char *slash = strrchr(s->dir, '/');
    char left[512], speed[32] = "-";
    if (isfinite(tok)) snprintf(speed, sizeof speed, "%.0f", tok);
    /* most important first: what a narrow terminal clips is the least needed */
    snprintf(left, sizeof left, " %s | step %ld ep %d/%d | valid %s | %s tok/s | %.24s | %s %s %s | topiary",
             a->running ? "RUNNING" : "paused", t->step, t->epoch, t->cfg.epochs, ppl, speed,
             slash && slash[1] ? slash + 1 : s->dir, s->task.level == CORPUS_WORD ? "word" : "char",
             s->model.cfg.cell == MODEL_CELL_HLSTM ? "H-LSTM" : "LSTM", backend_name(backend_current()));
    put_clipped(0, 0, COLS, left);
    attroff(term_attr(TERM_C_BAR));
    /* screen tabs on the right when they fit */
    int x = COLS - 1;
    for (int i = SCR_COUNT - 1; i >= 0 && x > (int)strlen(left) + 12; i--) {
        int len = (int)strlen(SCREEN_NAMES[i]) + 2;
        x -= len;
        if (x <= (int)strlen(left)) break;
        int attr = i == (int)a->screen ? term_attr(TERM_C_SEL) | (int)A_BOLD : term_attr(TERM_C_BAR);
        draw_text(0, x, len, attr, " %s ", SCREEN_NAMES[i]);
    }
}

static void key_bar(App *a)
{
    int n;
    const KeyBinding *k = keys_table(&n);
    int x = 0, y = LINES - 1;
    move(y, 0);
    clrtoeol();
    for (int i = 0; i < n && x < COLS; i++) {
        if (!k[i].bar) continue;
        int kl = (int)strlen(k[i].name), bl = (int)strlen(k[i].bar);
        if (x + kl + bl + 2 > COLS) break;
        draw_text(y, x, kl, term_attr(TERM_C_KEY) | A_BOLD, "%s", k[i].name);
        x += kl;
        draw_text(y, x, bl + 2, term_attr(TERM_C_BAR), " %s ", k[i].bar);
        x += bl + 2;
    }
    (void)a;
    if (x < COLS) {
        attron(term_attr(TERM_C_BAR));
        mvhline(y, x, ' ', COLS - x);
        attroff(term_attr(TERM_C_BAR));
    }
}

static void message_line(App *a)
{
    int y = LINES - 2;
    move(y, 0);
    clrtoeol();
    if (a->prompt_on) {
        const Prompt *p = &a->prompt;
        int w = COLS - 2, off = p->cur >= w ? p->cur - w + 1 : 0;
        draw_text(y, 0, 1, A_BOLD, ":");
        draw_text(y, 1, w, A_NORMAL, "%s", p->buf + off);
        if (p->hint[0] && (int)strlen(p->buf) + 4 < w)
            draw_text(y, 2 + p->len - off, w - p->len - 2, A_DIM, "  [%s]", p->hint);
        move(y, 1 + p->cur - off);
        curs_set(1);
        return;
    }
    curs_set(0);
    if (a->msg[0]) draw_text(y, 0, COLS, a->msg_err ? term_attr(TERM_C_ERR) | A_BOLD : A_NORMAL, "%s", a->msg);
}

void draw_all(App *a)
{
    erase();
    if (COLS < TERM_MIN_COLS || LINES < TERM_MIN_ROWS) {
        /* below the minimum: say so and nothing else; training goes on if it was running */
        char m[96];
        snprintf(m, sizeof m, "terminal too small: need %dx%d (now %dx%d)", TERM_MIN_COLS, TERM_MIN_ROWS, COLS, LINES);
        int len = (int)strlen(m);
        mvaddnstr(LINES / 2, COLS > len ? (COLS - len) / 2 : 0, m, COLS);
        refresh();
        return;
    }
    status_bar(a);
    int top = 1, h = LINES - 3;
    switch (a->screen) {
    case SCR_TRAIN: screen_train(a, top, h); break;
    case SCR_PRUNE: screen_prune(a, top, h); break;
    case SCR_LATENCY: screen_latency(a, top, h); break;
    case SCR_SESSIONS: screen_sessions(a, top, h); break;
    case SCR_HELP: screen_help(a, top, h); break;
    default: break;
    }
    message_line(a);
    key_bar(a);
    if (a->prompt_on) {
        const Prompt *p = &a->prompt;
        int w = COLS - 2, off = p->cur >= w ? p->cur - w + 1 : 0;
        move(LINES - 2, 1 + p->cur - off);
    }
    refresh();
}
