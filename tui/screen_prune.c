/* tui/screen_prune: the Grow & prune screen: the form (tui/form: fields generated from the verbs' key
 * specs; its settings are kept in SESSION/tui.txt, written atomically when one changes and read when the
 * TUI opens, so they survive a restart), a preview of the next prune (a dry run, recomputed only when the form or the model changed),
 * the per-matrix table and the mask heatmap of one matrix.  It implements the global actions g, p, r
 * (grow, prune, resize with the form's settings) from any screen. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "plots/heatmap.h"
#include "tui/draw.h"
#include "tui/form.h"
#include "tui/layout.h"
#include "tui/screens.h"

#define STATE_FILE "tui.txt"   /* the form's settings, inside the session directory */
#define STATE_MAX 4096

typedef struct {
    Form form;
    int ok;                    /* the form could be built              */
    int sel, editing;
    char edit_buf[64];
    char preview[2048];        /* dry-run result of the next prune      */
    int preview_dirty;         /* the form changed                      */
    unsigned preview_gen;      /* App.gen[APP_VIEW_MODEL] it was computed at */
    int heat_tensor;           /* tensor shown in the mask heatmap      */
    char saved[STATE_MAX];     /* the settings as last read or written  */
} PruneState;

/* The settings of an earlier run of the TUI on this session, if any (read once, at start; a symlink
 * or anything but a regular file is refused: a session holds no symlinks). */
static void load_settings(App *a, PruneState *p)
{
    char path[4200], buf[STATE_MAX];
    int fd = -1;
    uint64_t bytes = 0;
    form_state_text(&p->form, p->saved, sizeof p->saved);
    if (path_join(path, sizeof path, a->s->dir, STATE_FILE) != TP_OK) return;
    TpStatus st = fsutil_open_regular(path, FSUTIL_NOFOLLOW, "read", &fd, &bytes);
    if (st == TP_ENOENT) return;
    if (st != TP_OK) {
        app_log(a, 1, "%s", err_msg());
        return;
    }
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
    close(fd);
    buf[n] = '\0';
    int applied = form_state_load(&p->form, buf);
    if (applied)
        app_log(a, 0, "Grow & prune: %d setting%s of the last run restored (%s)", applied, applied == 1 ? "" : "s", STATE_FILE);
    form_state_text(&p->form, p->saved, sizeof p->saved);
}

/* Keep the settings for the next run when they changed (atomic write; a failure is logged). */
static void save_settings(App *a, PruneState *p)
{
    char text[STATE_MAX], path[4200];
    form_state_text(&p->form, text, sizeof text);
    if (!strcmp(text, p->saved) || path_join(path, sizeof path, a->s->dir, STATE_FILE) != TP_OK) return;
    if (fsutil_write_atomic(path, text, strlen(text)) != TP_OK) {
        app_log(a, 1, "%s: %s", STATE_FILE, err_msg());
        return;
    }
    snprintf(p->saved, sizeof p->saved, "%s", text);
}

static void prune_init(App *a, void *st)
{
    PruneState *p = st;
    int hidden[VIEW_MAX_LAYERS];
    int n = view_layers(a->s, hidden);
    p->ok = form_init(&p->form, n, hidden) == TP_OK;
    if (!p->ok) snprintf(p->preview, sizeof p->preview, "form: %s", err_msg());
    else load_settings(a, p);
    p->preview_dirty = 1;
    p->heat_tensor = view_tensor_find(a->s, "l0.w_ih");
    if (p->heat_tensor < 0) p->heat_tensor = view_tensor_find(a->s, "l0.fc1.weight");
    if (p->heat_tensor < 0) p->heat_tensor = 0;
}

/* Run the form's command lines (messages for an invalid form or nothing to do). */
static void run_form(App *a, PruneState *p, FormCommand c)
{
    char lines[FORM_MAX_LAYERS][FORM_LINE_MAX];
    int hidden[VIEW_MAX_LAYERS], n = 0;
    view_layers(a->s, hidden);
    if (!p->ok) {
        app_message(a, 1, "%s", p->preview);
        return;
    }
    if (form_commands(&p->form, c, view_step(a->s), hidden, lines, FORM_MAX_LAYERS, &n) != TP_OK) {
        app_message(a, 1, "%s", err_msg());
        return;
    }
    if (!n && c == FORM_CMD_RESIZE) app_message(a, 0, "every layer is at its target size (edit the targets on screen 2)");
    for (int i = 0; i < n; i++) app_command(a, lines[i]);
}

static int prune_action(App *a, void *st, KeyAction act)
{
    PruneState *p = st;
    switch (act) {
    case ACT_GROW: run_form(a, p, FORM_CMD_GROW); return 1;
    case ACT_PRUNE: run_form(a, p, FORM_CMD_PRUNE); return 1;
    case ACT_RESIZE: run_form(a, p, FORM_CMD_RESIZE); return 1;
    default: return 0;
    }
}

static void prune_refresh(App *a, void *st)
{
    PruneState *p = st;
    if (!p->ok || a->running || (!p->preview_dirty && p->preview_gen == a->gen[APP_VIEW_MODEL])) return;
    p->preview_dirty = 0;
    p->preview_gen = a->gen[APP_VIEW_MODEL];
    char lines[1][FORM_LINE_MAX];
    int n = 0;
    if (form_commands(&p->form, FORM_CMD_PRUNE, 0, NULL, lines, 1, &n) != TP_OK || !n) {
        snprintf(p->preview, sizeof p->preview, "preview: %s", err_msg());
        return;
    }
    char dry[FORM_LINE_MAX + 8];
    snprintf(dry, sizeof dry, "%s dry=1", lines[0]);
    CommandResult r;
    if (command_execute(a->s, dry, &r) == TP_OK) snprintf(p->preview, sizeof p->preview, "%.2047s", r.text);
    else snprintf(p->preview, sizeof p->preview, "preview: %s", err_msg());
}

/* A dry run typed at the prompt shows in the preview too. */
static void prune_result(App *a, void *st, const CommandResult *r)
{
    PruneState *p = st;
    if (r->dry_run && !strcmp(r->verb, "prune")) {
        snprintf(p->preview, sizeof p->preview, "%.2047s", r->text);
        p->preview_dirty = 0;
        p->preview_gen = a->gen[APP_VIEW_MODEL];
    }
}

static int edit_key(App *a, PruneState *p, int ch)
{
    FormField *f = &p->form.f[p->sel];
    size_t len = strlen(p->edit_buf);
    if (ch == 27) {
        p->editing = 0;
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        if (form_field_valid(f, p->edit_buf)) {
            snprintf(f->value, sizeof f->value, "%s", p->edit_buf);
            p->editing = 0;
            p->preview_dirty = 1;
            save_settings(a, p);
            if (p->sel == FORM_TAU && *f->value) run_form(a, p, FORM_CMD_STATE);
        } else {
            app_message(a, 1, "%s: '%s' is not valid", f->label, p->edit_buf);
        }
    } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len) {
        p->edit_buf[len - 1] = '\0';
    } else if (ch >= 32 && ch < 127 && len + 1 < sizeof p->edit_buf) {
        p->edit_buf[len] = (char)ch;
        p->edit_buf[len + 1] = '\0';
    }
    return 1;
}

static int prune_key(App *a, void *st, int ch)
{
    PruneState *p = st;
    if (!p->ok) return 0;
    if (p->editing) return edit_key(a, p, ch);
    FormField *f = &p->form.f[p->sel];
    int nt = view_n_tensors(a->s);
    switch (ch) {
    case KEY_UP:
    case 'k':
        p->sel = (p->sel + p->form.n - 1) % p->form.n;
        return 1;
    case KEY_DOWN:
    case 'j':
        p->sel = (p->sel + 1) % p->form.n;
        return 1;
    case KEY_LEFT:
    case KEY_RIGHT:
        form_field_step(f, ch == KEY_RIGHT ? 1 : -1);
        p->preview_dirty = 1;
        save_settings(a, p);
        return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (form_field_is_schedule(p->sel)) {
            run_form(a, p, FORM_CMD_SCHEDULE);
        } else if (f->type == FORM_CHOICE) {
            form_field_step(f, 1);
            p->preview_dirty = 1;
            save_settings(a, p);
        } else {
            p->editing = 1;
            snprintf(p->edit_buf, sizeof p->edit_buf, "%s", f->value);
        }
        return 1;
    case '[':
        if (nt) p->heat_tensor = (p->heat_tensor + nt - 1) % nt;
        return 1;
    case ']':
        if (nt) p->heat_tensor = (p->heat_tensor + 1) % nt;
        return 1;
    default:
        return 0;
    }
}

static void draw_form(const PruneState *p, int top, int h, const LayoutPrune *L)
{
    draw_box_title(top, 0, h, L->fw, "settings (Enter edits)");
    for (int i = 0; i < p->form.n && i < h - 2; i++) {
        const FormField *f = &p->form.f[i];
        int sel = i == p->sel;
        const char *v = sel && p->editing ? p->edit_buf : f->value;
        int attr = sel ? term_attr(TERM_C_SEL) : (int)A_NORMAL;
        if (!form_field_valid(f, v)) attr |= term_attr(TERM_C_ERR) | (int)A_BOLD;
        draw_text(top + 1 + i, 1, L->fw - 2, attr, " %-*.*s %-*s%s", L->label_w, L->label_w, f->label, L->value_w,
                  *v ? v : "-", sel && p->editing ? "_" : "");
    }
}

/* The mask of the selected matrix: its name and shape in the title, the shades, their legend. */
static void draw_mask(App *a, const PruneState *p, int y, int x, int h, int w)
{
    ViewTensor t;
    view_tensor(a->s, p->heat_tensor, &t);
    int br, bc;
    char title[128], blocks[32] = "";
    if (view_tensor_block(a->s, p->heat_tensor, &br, &bc)) snprintf(blocks, sizeof blocks, ", %dx%d blocks", br, bc);
    snprintf(title, sizeof title, "mask %s %dx%d%s ([ ])", t.name ? t.name : "-", t.rows, t.cols, blocks);
    draw_box_title(y, x, h, w, title);
    if (!t.name || h < 4) return;
    /* the legend takes the last row inside the box */
    int mh = h - 3, mode = a->caps.ascii ? CANVAS_ASCII : CANVAS_BRAILLE;
    CanvasText ct;
    if (heatmap_render(&ct, t.name, t.mask, t.rows, t.cols, w - 2, mh, mode) == TP_OK) {
        for (int k = 0; k < ct.h; k++) draw_text(y + 1 + k, x + 1, w - 2, (int)A_NORMAL, "%s", ct.lines[k]);
        canvas_text_free(&ct);
    }
    char legend[256];
    heatmap_legend(legend, sizeof legend, t.rows, t.cols, w - 2, mh, mode, w - 2);
    draw_text(y + h - 2, x + 1, w - 2, (int)A_DIM, "%s", legend);
}

static void prune_draw(App *a, void *st, int top, int h)
{
    PruneState *p = st;
    LayoutPrune L;
    layout_prune(COLS, &L);
    draw_form(p, top, h, &L);
    /* preview of the next prune */
    int px = L.fw, pw = COLS - L.fw, ph = h / 2;
    draw_box_title(top, px, ph, pw, "next prune (p applies, g grows, r resizes)");
    draw_lines(top + 1, px + 1, pw - 2, ph - 2, p->preview);
    /* per-matrix table (left) and heatmap of the selected matrix (right) */
    int ty = top + ph, th = h - ph, tw = L.tw, nw = L.name_w;
    draw_box_title(ty, px, th, tw, "matrices");
    if (L.row_counts) draw_text(ty + 1, px + 1, tw - 2, (int)A_BOLD, "%-*s %6s %s", nw, "tensor", "dens.", "live/row");
    else draw_text(ty + 1, px + 1, tw - 2, (int)A_BOLD, "%-*s %6s", nw, "tensor", "dens.");
    int nt = view_n_tensors(a->s);
    if (p->heat_tensor >= nt) p->heat_tensor = 0;
    ViewTensor t;
    for (int i = 0, r = 0; i < nt && r < th - 3; i++) {
        view_tensor(a->s, i, &t);
        if (t.is_bias) continue;
        int attr = i == p->heat_tensor ? (int)A_BOLD | term_attr(TERM_C_S2) : (int)A_NORMAL;
        if (L.row_counts)
            draw_text(ty + 2 + r, px + 1, tw - 2, attr, "%-*.*s %5.1f%% %d-%d", nw, nw, t.name, 100 * t.density,
                      t.row_nnz_min, t.row_nnz_max);
        else
            draw_text(ty + 2 + r, px + 1, tw - 2, attr, "%-*.*s %5.1f%%", nw, nw, t.name, 100 * t.density);
        r++;
    }
    draw_mask(a, p, ty, px + tw, th, L.hw);
}

const Screen SCREEN_PRUNE = {
    .name = "Grow & prune",
    .tab = "Prune",
    .chart = "ppl",
    .state_size = sizeof(PruneState),
    .init = prune_init,
    .refresh = prune_refresh,
    .draw = prune_draw,
    .key = prune_key,
    .action = prune_action,
    .result = prune_result,
};
