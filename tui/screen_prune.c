/* tui/screen_prune: the Grow & prune screen: the form (tui/form: fields generated from the verbs' key
 * specs), a preview of the next prune (a dry run, recomputed only when the form or the model changed),
 * the per-matrix table and the mask heatmap of one matrix.  It implements the global actions g, p, r
 * (grow, prune, resize with the form's settings) from any screen. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "plots/heatmap.h"
#include "tui/draw.h"
#include "tui/form.h"
#include "tui/screens.h"

typedef struct {
    Form form;
    int ok;                    /* the form could be built              */
    int sel, editing;
    char edit_buf[64];
    char preview[2048];        /* dry-run result of the next prune      */
    int preview_dirty;         /* the form changed                      */
    unsigned preview_gen;      /* App.gen[APP_VIEW_MODEL] it was computed at */
    int heat_tensor;           /* tensor shown in the mask heatmap      */
} PruneState;

static void prune_init(App *a, void *st)
{
    PruneState *p = st;
    int hidden[VIEW_MAX_LAYERS];
    int n = view_layers(a->s, hidden);
    p->ok = form_init(&p->form, n, hidden) == TP_OK;
    if (!p->ok) snprintf(p->preview, sizeof p->preview, "form: %s", err_msg());
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
        return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (form_field_is_schedule(p->sel)) {
            run_form(a, p, FORM_CMD_SCHEDULE);
        } else if (f->type == FORM_CHOICE) {
            form_field_step(f, 1);
            p->preview_dirty = 1;
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

static void draw_form(const PruneState *p, int top, int h, int fw)
{
    draw_box_title(top, 0, h, fw, "settings (Enter edits)");
    for (int i = 0; i < p->form.n && i < h - 2; i++) {
        const FormField *f = &p->form.f[i];
        int sel = i == p->sel;
        const char *v = sel && p->editing ? p->edit_buf : f->value;
        int attr = sel ? term_attr(TERM_C_SEL) : (int)A_NORMAL;
        if (!form_field_valid(f, v)) attr |= term_attr(TERM_C_ERR) | (int)A_BOLD;
        draw_text(top + 1 + i, 1, fw - 2, attr, " %-19s %-12s%s", f->label, *v ? v : "-", sel && p->editing ? "_" : "");
    }
}

static void prune_draw(App *a, void *st, int top, int h)
{
    PruneState *p = st;
    int fw = 36;
    draw_form(p, top, h, fw);
    /* preview of the next prune */
    int px = fw, pw = COLS - fw, ph = h / 2;
    draw_box_title(top, px, ph, pw, "next prune (p applies, g grows, r resizes)");
    draw_lines(top + 1, px + 1, pw - 2, ph - 2, p->preview);
    /* per-matrix table (left) and heatmap of the selected matrix (right) */
    int ty = top + ph, th = h - ph, tw = 34;
    draw_box_title(ty, px, th, tw, "matrices");
    draw_text(ty + 1, px + 1, tw - 2, (int)A_BOLD, "%-13s %6s %s", "tensor", "dens.", "live/row");
    int nt = view_n_tensors(a->s);
    if (p->heat_tensor >= nt) p->heat_tensor = 0;
    ViewTensor t;
    for (int i = 0, r = 0; i < nt && r < th - 3; i++) {
        view_tensor(a->s, i, &t);
        if (t.is_bias) continue;
        int attr = i == p->heat_tensor ? (int)A_BOLD | term_attr(TERM_C_S2) : (int)A_NORMAL;
        draw_text(ty + 2 + r, px + 1, tw - 2, attr, "%-13.13s %5.1f%% %d-%d", t.name, 100 * t.density, t.row_nnz_min,
                  t.row_nnz_max);
        r++;
    }
    int hx = px + tw, hw = pw - tw;
    int br, bc;
    char title[64] = "mask ([ ] choose)";
    if (view_tensor_block(a->s, p->heat_tensor, &br, &bc))
        snprintf(title, sizeof title, "mask: %dx%d blocks ([ ] choose)", br, bc);
    draw_box_title(ty, hx, th, hw, title);
    view_tensor(a->s, p->heat_tensor, &t);
    CanvasText ct;
    if (t.name && heatmap_render(&ct, t.name, t.mask, t.rows, t.cols, hw - 2, th - 2,
                                 a->caps.ascii ? CANVAS_ASCII : CANVAS_BRAILLE) == TP_OK) {
        for (int k = 0; k < ct.h; k++) draw_text(ty + 1 + k, hx + 1, hw - 2, (int)A_NORMAL, "%s", ct.lines[k]);
        canvas_text_free(&ct);
    }
}

const Screen SCREEN_PRUNE = {
    .name = "Grow & prune",
    .chart = "ppl",
    .state_size = sizeof(PruneState),
    .init = prune_init,
    .refresh = prune_refresh,
    .draw = prune_draw,
    .key = prune_key,
    .action = prune_action,
    .result = prune_result,
};
