/* tui/frame: see frame.h. */
#include "frame.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/keys.h"
#include "tui/layout.h"
#include "tui/screens.h"

static void status_bar(App *a)
{
    ViewStatus v;
    view_status(a->s, &v);
    /* the screen tabs at the right (shortened as needed), the status text in what they leave */
    int n;
    const Screen *const *scr = screens_table(&n);
    const char *names[APP_MAX_SCREENS], *shorts[APP_MAX_SCREENS];
    char tabs[APP_MAX_SCREENS][40];
    for (int i = 0; i < n; i++) names[i] = scr[i]->name, shorts[i] = scr[i]->tab;
    int tw = layout_tabs(names, shorts, n, a->screen, COLS, tabs);
    attron(term_attr(TERM_C_BAR));
    mvhline(0, 0, ' ', COLS);
    double tok = a->m.n ? a->m.tok_s[a->m.n - 1] : NAN;
    char ppl[32] = "-", speed[32] = "-", left[512];
    if (isfinite(v.valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", v.valid_ppl);
    if (v.speech) snprintf(ppl, sizeof ppl, isfinite(v.valid_wer) ? "WER %.1f%%" : "WER -", 100.0 * v.valid_wer);
    if (isfinite(tok)) snprintf(speed, sizeof speed, "%.0f", tok);
    /* most important first: what a narrow terminal clips is the least needed */
    snprintf(left, sizeof left, " %s | step %ld ep %d/%d | valid %s | %s %s | %.24s | %s %s %s | topiary",
             a->running ? "RUNNING" : "paused", v.step, v.epoch, v.epochs, ppl, speed, v.speech ? "utt/s" : "tok/s", v.name,
             v.speech ? "an4" : v.level, v.cell, v.backend);
    /* cut at a field boundary rather than in the middle of a number */
    int room = COLS - tw - 1;
    if ((int)strlen(left) > room && room > 0) {
        char *bar = NULL;
        for (char *q = strstr(left, " |"); q && q - left <= room; q = strstr(q + 1, " |")) bar = q;
        if (bar) *bar = '\0';
    }
    draw_clipped(0, 0, room, left);
    attroff(term_attr(TERM_C_BAR));
    int x = COLS - tw;
    for (int i = 0; i < n; i++) {
        if (!tabs[i][0]) continue;
        int len = (int)strlen(tabs[i]) + 2;
        int attr = i == a->screen ? term_attr(TERM_C_SEL) | (int)A_BOLD : term_attr(TERM_C_BAR);
        draw_text(0, x, len, attr, " %s ", tabs[i]);
        x += len;
    }
}

static void key_bar(void)
{
    int n;
    const KeyBinding *k = keys_table(&n);
    int shown[LAYOUT_MAX_ITEMS] = {0};
    if (n > LAYOUT_MAX_ITEMS) n = LAYOUT_MAX_ITEMS;
    layout_key_bar(k, n, COLS, shown);
    int x = 0, y = LINES - 1;
    move(y, 0);
    clrtoeol();
    for (int i = 0; i < n && x < COLS; i++) {
        if (!shown[i]) continue;
        int kl = (int)strlen(k[i].name), bl = (int)strlen(k[i].bar);
        draw_text(y, x, kl, term_attr(TERM_C_KEY) | A_BOLD, "%s", k[i].name);
        x += kl;
        draw_text(y, x, COLS - x, term_attr(TERM_C_BAR), " %s ", k[i].bar);
        x += bl + 2;
    }
    if (x < COLS) {
        attron(term_attr(TERM_C_BAR));
        mvhline(y, x, ' ', COLS - x);
        attroff(term_attr(TERM_C_BAR));
    }
}

int frame_pager_rows(void) { return LINES - 3 - 2; }

/* The output pane of a `:` command, over the screen. */
static void pager_draw(App *a, int top, int h)
{
    Pager *p = &a->pager;
    int rows = h - 2, w = COLS - 4;
    int n = pager_layout(p, w);
    pager_clamp(p, rows);
    char title[256];
    if (n > rows)
        snprintf(title, sizeof title, "%.120s  [%d-%d of %d: Up/Down j/k PgUp/PgDn scroll, q closes]", p->title, p->top + 1,
                 p->top + rows < n ? p->top + rows : n, n);
    else
        snprintf(title, sizeof title, "%.120s  [q closes]", p->title);
    draw_box_title(top, 0, h, COLS, title);
    for (int r = 0; r < rows && p->top + r < n; r++)
        draw_text(top + 1 + r, 2, w, (int)A_NORMAL, "%.*s", p->row_len[p->top + r], p->text + p->row_off[p->top + r]);
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

void frame_draw(App *a)
{
    erase();
    if (term_too_small()) {
        /* below the minimum: say so and nothing else; training goes on if it was running */
        char m[96];
        snprintf(m, sizeof m, "terminal too small: need %dx%d (now %dx%d)", TERM_MIN_COLS, TERM_MIN_ROWS, COLS, LINES);
        int len = (int)strlen(m);
        mvaddnstr(LINES / 2, COLS > len ? (COLS - len) / 2 : 0, m, COLS);
        refresh();
        return;
    }
    status_bar(a);
    if (a->pager.on) pager_draw(a, 1, LINES - 3);
    else screens_draw(a, 1, LINES - 3);
    message_line(a);
    key_bar();
    if (a->prompt_on) {
        const Prompt *p = &a->prompt;
        int w = COLS - 2, off = p->cur >= w ? p->cur - w + 1 : 0;
        move(LINES - 2, 1 + p->cur - off);
    }
    refresh();
}
