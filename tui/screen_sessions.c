/* tui/screen_sessions: the session's snapshots (Enter restores, n takes one, m marks one to compare)
 * and, below, the comparison of the marked and the selected snapshot, or the journal.  Snapshots and
 * journal are a cached view (sessions/view), reloaded only when a command changed them. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/screens.h"

/* The non-zeros of a snapshot in the compare panel, read once per snapshot when it is compared. */
typedef struct {
    char name[64];
    int ok;
    size_t nnz, params;
    char why[96];              /* when not ok: why the count is missing */
} SnapNnz;

typedef struct {
    ViewHistory v;
    SnapNnz nz[2];             /* the marked and the selected snapshot      */
    int loaded;
    unsigned gen;              /* App.gen[APP_VIEW_HISTORY] it was loaded at          */
    int sel, mark;             /* selection; the one marked for compare (index + 1)    */
} SessionsState;

static void count_nnz(App *a, SnapNnz *z, const char *name)
{
    if (z->name[0] && !strcmp(z->name, name)) return;
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "%s", name);
    TpStatus st = view_snapshot_nnz(a->s->dir, name, &z->nnz, &z->params);
    z->ok = st == TP_OK;
    if (!z->ok) snprintf(z->why, sizeof z->why, "%s", st == TP_ENOENT ? "its model file is missing" : err_msg());
}

static void sessions_refresh(App *a, void *st)
{
    SessionsState *t = st;
    if (!t->loaded || t->gen != a->gen[APP_VIEW_HISTORY]) {
        view_history_free(&t->v);
        if (view_history_load(&t->v, a->s->dir) != TP_OK) app_log(a, 1, "snapshots: %s", err_msg());
        t->loaded = 1;
        t->gen = a->gen[APP_VIEW_HISTORY];
        if (t->sel >= t->v.n_snaps) t->sel = t->v.n_snaps ? t->v.n_snaps - 1 : 0;
        if (t->mark > t->v.n_snaps) t->mark = 0;
        /* a snapshot may have been taken again under the same name: count again */
        memset(t->nz, 0, sizeof t->nz);
    }
    /* the non-zeros of the two compared snapshots: read when the pair changes */
    if (t->mark && t->mark - 1 < t->v.n_snaps && t->sel < t->v.n_snaps) {
        count_nnz(a, &t->nz[0], t->v.snaps[t->mark - 1].name);
        count_nnz(a, &t->nz[1], t->v.snaps[t->sel].name);
    }
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

static void fmt_ppl(char *b, size_t n, double v)
{
    if (isfinite(v)) snprintf(b, n, "%.2f", v);
    else snprintf(b, n, "- (not validated)");
}

static void fmt_nnz(char *b, size_t n, const SnapNnz *z, int sparsity)
{
    if (!z->ok || !z->params) snprintf(b, n, "-");
    else if (sparsity) snprintf(b, n, "%.1f%%", 100.0 * (1.0 - (double)z->nnz / (double)z->params));
    else snprintf(b, n, "%zu/%zu", z->nnz, z->params);
}

/* The marked snapshot against the selected one; a missing value is "-" with the reason below. */
static void draw_compare(const SnapshotInfo *x, const SnapshotInfo *y, const SnapNnz *nz, int cy, int chh)
{
    draw_box_title(cy, 0, chh, COLS, "compare (m on another row moves the mark, m on the marked row clears it)");
    char a[2][48], b[2][48];
    int r = cy + 1, end = cy + chh - 1, w = COLS - 4;
    draw_text(r++, 2, w, (int)A_BOLD, "%-12s %24.24s %24.24s", "", x->name, y->name);
    if (r < end) draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %24ld %24ld", "step", x->step, y->step);
    fmt_ppl(a[0], sizeof a[0], x->valid_ppl);
    fmt_ppl(a[1], sizeof a[1], y->valid_ppl);
    if (r < end) draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %24s %24s", "valid ppl", a[0], a[1]);
    fmt_nnz(a[0], sizeof a[0], &nz[0], 0);
    fmt_nnz(a[1], sizeof a[1], &nz[1], 0);
    if (r < end) draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %24s %24s", "non-zeros", a[0], a[1]);
    fmt_nnz(b[0], sizeof b[0], &nz[0], 1);
    fmt_nnz(b[1], sizeof b[1], &nz[1], 1);
    if (r < end) draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %24s %24s", "sparsity", b[0], b[1]);
    if (r < end)
        draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %23.1fM %23.1fM", "size", x->bytes / 1048576.0, y->bytes / 1048576.0);
    if (r < end)
        draw_text(r++, 2, w, (int)A_NORMAL, "%-12s %24.24s %24.24s", "taken before", x->reason[0] ? x->reason : "-",
                  y->reason[0] ? y->reason : "-");
    for (int k = 0; k < 2 && r < end; k++)
        if (!nz[k].ok && nz[k].name[0]) draw_text(r++, 2, w, term_attr(TERM_C_ERR), "non-zeros of %s: %s", nz[k].name, nz[k].why);
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
        draw_compare(&list[t->mark - 1], &list[t->sel], t->nz, cy, chh);
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
