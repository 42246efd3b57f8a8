/* tui/screen_sessions: the session's snapshots (Enter restores, n takes one, m marks one to compare)
 * and, below, the comparison of the marked and the selected snapshot, or the journal.  Snapshots and
 * journal are a cached view (sessions/view), reloaded only when a command changed them. */
#include <curses.h>
#include <math.h>
#include <stdio.h>

#include "tui/draw.h"
#include "tui/screens.h"

typedef struct {
    ViewHistory v;
    int loaded;
    unsigned gen;              /* App.gen[APP_VIEW_HISTORY] it was loaded at          */
    int sel, mark;             /* selection; the one marked for compare (index + 1)    */
} SessionsState;

static void sessions_refresh(App *a, void *st)
{
    SessionsState *t = st;
    if (t->loaded && t->gen == a->gen[APP_VIEW_HISTORY]) return;
    view_history_free(&t->v);
    if (view_history_load(&t->v, a->s->dir) != TP_OK) app_log(a, 1, "snapshots: %s", err_msg());
    t->loaded = 1;
    t->gen = a->gen[APP_VIEW_HISTORY];
    if (t->sel >= t->v.n_snaps) t->sel = t->v.n_snaps ? t->v.n_snaps - 1 : 0;
    if (t->mark > t->v.n_snaps) t->mark = 0;
}

static void sessions_fini(App *a, void *st)
{
    (void)a;
    view_history_free(&((SessionsState *)st)->v);
}

static int sessions_key(App *a, void *st, int ch)
{
    SessionsState *t = st;
    sessions_refresh(a, t);
    int n = t->v.n_snaps;
    if (!n) return 0;
    char line[128];
    switch (ch) {
    case KEY_UP: t->sel = (t->sel + n - 1) % n; return 1;
    case KEY_DOWN: t->sel = (t->sel + 1) % n; return 1;
    case 'm': t->mark = t->mark == t->sel + 1 ? 0 : t->sel + 1; return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (t->sel < n) {
            snprintf(line, sizeof line, "restore name=%s", t->v.snaps[t->sel].name);
            app_command(a, line);
        }
        return 1;
    case 'n':
        snprintf(line, sizeof line, "snapshot name=step-%ld", view_step(a->s));
        app_command(a, line);
        return 1;
    default: return 0;
    }
}

static void draw_compare(const SnapshotInfo *x, const SnapshotInfo *y, int cy, int chh)
{
    draw_box_title(cy, 0, chh, COLS, "compare");
    draw_text(cy + 1, 2, COLS - 4, (int)A_BOLD, "%-14s %20s %20s", "", x->name, y->name);
    draw_text(cy + 2, 2, COLS - 4, (int)A_NORMAL, "%-14s %20ld %20ld", "step", x->step, y->step);
    draw_text(cy + 3, 2, COLS - 4, (int)A_NORMAL, "%-14s %20.2f %20.2f", "valid ppl", x->valid_ppl, y->valid_ppl);
    draw_text(cy + 4, 2, COLS - 4, (int)A_NORMAL, "%-14s %19.1fM %19.1fM", "size", x->bytes / 1048576.0,
              y->bytes / 1048576.0);
    draw_text(cy + 5, 2, COLS - 4, (int)A_NORMAL, "%-14s %20.20s %20.20s", "before", x->reason, y->reason);
}

static void sessions_draw(App *a, void *st, int top, int h)
{
    (void)a;
    SessionsState *t = st;
    const SnapshotInfo *list = t->v.snaps;
    int n = t->v.n_snaps;
    int lh = h / 2 + 2;
    draw_box_title(top, 0, lh, COLS, "snapshots (Enter restores, n takes one, m marks for compare, u undoes)");
    draw_text(top + 1, 2, COLS - 4, (int)A_BOLD, "%-22s %9s %10s %9s  %s", "name", "step", "valid ppl", "size", "taken before");
    int first = t->sel - (lh - 4) + 1;
    if (first < 0) first = 0;
    for (int i = first, r = 0; i < n && r < lh - 3; i++, r++) {
        char ppl[24] = "-";
        if (isfinite(list[i].valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", list[i].valid_ppl);
        int attr = i == t->sel ? term_attr(TERM_C_SEL) : (t->mark == i + 1 ? (int)A_BOLD : (int)A_NORMAL);
        draw_text(top + 2 + r, 2, COLS - 4, attr, "%c%-21s %9ld %10s %8.1fM  %s", t->mark == i + 1 ? '*' : ' ',
                  list[i].name, list[i].step, ppl, list[i].bytes / 1048576.0, list[i].reason);
    }
    /* compare: the marked snapshot against the selected one, or the journal */
    int cy = top + lh, chh = h - lh;
    if (t->mark && t->mark - 1 < n && t->sel < n) {
        draw_compare(&list[t->mark - 1], &list[t->sel], cy, chh);
        return;
    }
    draw_box_title(cy, 0, chh, COLS, "journal");
    int f = t->v.n_journal - (chh - 2);
    if (f < 0) f = 0;
    for (int i = f, r = 0; i < t->v.n_journal; i++, r++)
        draw_text(cy + 1 + r, 2, COLS - 4, (int)A_NORMAL, "%7ld  %s  %s", t->v.journal[i].step, t->v.journal[i].command,
                  t->v.journal[i].result);
}

const Screen SCREEN_SESSIONS = {
    .name = "Sessions",
    .tab = "Sess",
    .chart = "ppl",
    .state_size = sizeof(SessionsState),
    .fini = sessions_fini,
    .refresh = sessions_refresh,
    .draw = sessions_draw,
    .key = sessions_key,
};
