/* tui/frame: see frame.h. */
#include "frame.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/keys.h"
#include "tui/screens.h"

static void status_bar(App *a)
{
    ViewStatus v;
    view_status(a->s, &v);
    attron(term_attr(TERM_C_BAR));
    mvhline(0, 0, ' ', COLS);
    double tok = a->m.n ? a->m.tok_s[a->m.n - 1] : NAN;
    char ppl[32] = "-", speed[32] = "-", left[512];
    if (isfinite(v.valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", v.valid_ppl);
    if (isfinite(tok)) snprintf(speed, sizeof speed, "%.0f", tok);
    /* most important first: what a narrow terminal clips is the least needed */
    snprintf(left, sizeof left, " %s | step %ld ep %d/%d | valid %s | %s tok/s | %.24s | %s %s %s | topiary",
             a->running ? "RUNNING" : "paused", v.step, v.epoch, v.epochs, ppl, speed, v.name, v.level, v.cell, v.backend);
    draw_clipped(0, 0, COLS, left);
    attroff(term_attr(TERM_C_BAR));
    /* screen tabs on the right when they fit */
    int n;
    const Screen *const *scr = screens_table(&n);
    int x = COLS - 1;
    for (int i = n - 1; i >= 0 && x > (int)strlen(left) + 12; i--) {
        char tab[64];
        snprintf(tab, sizeof tab, "%d %s", i + 1, scr[i]->name);
        int len = (int)strlen(tab) + 2;
        x -= len;
        if (x <= (int)strlen(left)) break;
        int attr = i == a->screen ? term_attr(TERM_C_SEL) | (int)A_BOLD : term_attr(TERM_C_BAR);
        draw_text(0, x, len, attr, " %s ", tab);
    }
}

static void key_bar(void)
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
    screens_draw(a, 1, LINES - 3);
    message_line(a);
    key_bar();
    if (a->prompt_on) {
        const Prompt *p = &a->prompt;
        int w = COLS - 2, off = p->cur >= w ? p->cur - w + 1 : 0;
        move(LINES - 2, 1 + p->cur - off);
    }
    refresh();
}
