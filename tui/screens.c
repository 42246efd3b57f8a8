/* tui/screens: the five screens (Train, Grow & prune, Latency, Sessions, Help): drawing from a
 * read-only view of the session, and their own keys (form editing, list selection).  Every change
 * they ask for is a command line given to ui_command. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/hysteresis.h"
#include "engine/latency.h"
#include "plots/chart.h"
#include "sessions/profile.h"
#include "engine/mask.h"
#include "plots/heatmap.h"
#include "sessions/command.h"
#include "sessions/compress.h"
#include "sessions/journal.h"
#include "sessions/snapshot.h"
#include "tui/keys.h"
#include "tui/ui.h"

/* ==== Train ==================================================================================== */

void screen_train(App *a, int top, int h)
{
    const Session *s = a->s;
    int log_h = h >= 22 ? 7 : 5;
    int ch = h - log_h - 1;
    int w1 = COLS * 3 / 5, w2 = COLS - w1;
    const double *ppl[2] = {a->m.train_ppl, a->m.valid_ppl};
    const char *names[2] = {"train ppl", "valid ppl"};
    int log_y = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < a->m.n; i++)
        if (isfinite(a->m.train_ppl[i])) lo = fmin(lo, a->m.train_ppl[i]), hi = fmax(hi, a->m.train_ppl[i]);
    if (hi > 8 * lo) log_y = 1;
    draw_chart(a, top, 0, ch, w1, "perplexity vs step", names, a->m.step, ppl, 2, a->m.n, log_y, NULL, NULL, 0);
    const double *sp[1] = {a->m.sparsity};
    const char *sn[1] = {"sparsity %"};
    draw_chart(a, top, w1, ch, w2, "sparsity % vs step", sn, a->m.step, sp, 1, a->m.n, 0, NULL, NULL, 0);
    /* one line of numbers */
    SessionMetrics m;
    session_metrics_now(s, &m);
    char sched[200];
    compress_schedule_describe(s, sched, sizeof sched);
    char sizes[64] = "";
    for (int l = 0; l < s->model.cfg.n_layers; l++) {
        size_t k = strlen(sizes);
        snprintf(sizes + k, sizeof sizes - k, "%s%d", l ? "," : "", s->model.cfg.hidden[l]);
    }
    draw_text(top + ch, 0, COLS, (int)A_BOLD, " lr %.4g | clip %g | nnz %zu/%zu (%.1f%% sparse) | layers %s | schedule %s",
              m.lr, (double)s->trainer.cfg.clip, m.nnz, m.params, 100 * m.sparsity, sizes, sched);
    /* the log of recent commands and events */
    int ly = top + ch + 1;
    draw_box_title(ly, 0, log_h, COLS, "log");
    int first = a->log_n - (log_h - 2);
    if (first < 0) first = 0;
    for (int i = first, r = 0; i < a->log_n; i++, r++) {
        const char *line = a->log[i];
        draw_text(ly + 1 + r, 2, COLS - 4, line[0] == '!' ? term_attr(TERM_C_ERR) : (int)A_NORMAL, "%s", line + 1);
    }
}

/* ==== Grow & prune ============================================================================= */

enum { F_GROW, F_INIT, F_BATCHES, F_PRUNE, F_THRESH, F_IH, F_HH, F_PATTERN, F_SCOPE, F_PARAMS, F_SCHED, F_AGP_TO,
       F_AGP_STEPS, F_GP_TOL, F_TAU, F_TARGET0 };

static void field(App *a, const char *label, const char *key, FieldType t, double lo, double hi, const char *choices,
                  int optional, const char *value)
{
    UiField *f = &a->f[a->n_fields++];
    f->label = label;
    f->key = key;
    f->type = t;
    f->lo = lo;
    f->hi = hi;
    f->choices = choices;
    f->optional = optional;
    snprintf(f->value, sizeof f->value, "%s", value);
    f->valid = 1;
}

static int choice_index(const char *choices, const char *v, int *n_out)
{
    int i = 0, found = -1;
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (strlen(v) == len && !strncmp(p, v, len)) found = i;
        i++;
        if (!bar) break;
        p = bar + 1;
    }
    if (n_out) *n_out = i;
    return found;
}

static void choice_at(const char *choices, int k, char *out, size_t n)
{
    const char *p = choices;
    for (int i = 0; i < k; i++) p = strchr(p, '|') + 1;
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(out, n, "%.*s", (int)len, p);
}

static int field_valid(const UiField *f, const char *v)
{
    if (!*v) return f->optional;
    if (f->type == FIELD_NUM) {
        char *end;
        double d = strtod(v, &end);
        return !*end && isfinite(d) && d >= f->lo && d <= f->hi;
    }
    if (f->type == FIELD_CHOICE) return choice_index(f->choices, v, NULL) >= 0;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"') return 0;
    return 1;
}

void form_init(App *a)
{
    a->n_fields = 0;
    field(a, "grow ratio", "grow ratio=", FIELD_NUM, 0, 1, NULL, 0, "0.1");
    field(a, "grow init", "grow init=", FIELD_CHOICE, 0, 0, "zero|grad", 0, "zero");
    field(a, "grow batches", "grow batches=", FIELD_NUM, 1, 1e5, NULL, 0, "20");
    field(a, "prune ratio", "prune ratio=", FIELD_NUM, 0, 1, NULL, 1, "0.2");
    field(a, "prune threshold", "prune threshold=", FIELD_NUM, 0, 1e9, NULL, 1, "");
    field(a, "ratio ih (dual)", "prune ih=", FIELD_NUM, 0, 1, NULL, 1, "");
    field(a, "ratio hh (dual)", "prune hh=", FIELD_NUM, 0, 1, NULL, 1, "");
    field(a, "pattern", "prune pattern=", FIELD_CHOICE, 0, 0, "unstructured|row", 0, "unstructured");
    field(a, "scope", "scope=", FIELD_CHOICE, 0, 0, "matrix|global", 0, "matrix");
    field(a, "params (glob)", "params=", FIELD_TEXT, 0, 0, NULL, 1, "");
    field(a, "schedule", "schedule", FIELD_CHOICE, 0, 0, "none|agp|gp", 0, "none");
    field(a, "agp final sparsity", "agp to=", FIELD_NUM, 0, 1, NULL, 0, "0.8");
    field(a, "agp over steps", "agp end=", FIELD_NUM, 1, 1e9, NULL, 0, "2000");
    field(a, "gp tolerance (ppl)", "gp tolerance=", FIELD_NUM, 0, 1e6, NULL, 0, "2");
    field(a, "state tau", "state tau=", FIELD_NUM, 0, 1e3, NULL, 1, "");
    static char labels[MODEL_MAX_LAYERS][24];
    for (int l = 0; l < a->s->model.cfg.n_layers && a->n_fields < UI_MAX_FIELDS; l++) {
        char v[16];
        snprintf(labels[l], sizeof labels[l], "target hidden l%d", l);
        snprintf(v, sizeof v, "%d", a->s->model.cfg.hidden[l]);
        field(a, labels[l], "resize hidden=", FIELD_NUM, 1, 65536, NULL, 0, v);
    }
}

static const char *fv(const App *a, int i) { return a->f[i].value; }

void form_command(App *a, int action, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < a->n_fields; i++)
        if (!field_valid(&a->f[i], a->f[i].value)) {
            ui_message(a, 1, "%s: invalid value '%s'", a->f[i].label, a->f[i].value);
            return;
        }
    char params[96] = "";
    if (*fv(a, F_PARAMS)) snprintf(params, sizeof params, " params=%s", fv(a, F_PARAMS));
    switch (action) {
    case ACT_GROW:
        snprintf(buf, n, "grow ratio=%s init=%s batches=%s scope=%s%s", fv(a, F_GROW), fv(a, F_INIT), fv(a, F_BATCHES),
                 fv(a, F_SCOPE), params);
        break;
    case ACT_PRUNE: {
        char amount[96] = "";
        if (*fv(a, F_THRESH)) snprintf(amount, sizeof amount, "threshold=%s", fv(a, F_THRESH));
        else if (*fv(a, F_PRUNE)) snprintf(amount, sizeof amount, "ratio=%s", fv(a, F_PRUNE));
        char dual[96] = "";
        if (*fv(a, F_IH)) snprintf(dual, sizeof dual, " ih=%s", fv(a, F_IH));
        if (*fv(a, F_HH)) snprintf(dual + strlen(dual), sizeof dual - strlen(dual), " hh=%s", fv(a, F_HH));
        if (!amount[0] && !dual[0]) {
            ui_message(a, 1, "prune: set a ratio, a threshold or the dual ratios");
            return;
        }
        snprintf(buf, n, "prune %s%s pattern=%s scope=%s%s", amount, dual, fv(a, F_PATTERN), fv(a, F_SCOPE), params);
        break;
    }
    case ACT_RESIZE: {
        /* one command per layer whose target differs; all but the last are issued here */
        int issued = 0;
        for (int l = 0; l < a->s->model.cfg.n_layers; l++) {
            int want = atoi(fv(a, F_TARGET0 + l));
            if (want == a->s->model.cfg.hidden[l]) continue;
            char line[96];
            snprintf(line, sizeof line, "resize layer=%d hidden=%d", l, want);
            ui_command(a, line);
            issued++;
        }
        if (!issued) ui_message(a, 0, "every layer is at its target size (edit the targets on screen 2)");
        break;
    }
    case ACT_PROFILE:
        /* a shorter budget than the CLI's minute: the screen shows progress and Esc cancels */
        snprintf(buf, n, "profile budget_s=30");
        break;
    case ACT_APPLY_REC:
        screen_latency_key(a, 'a');
        break;
    default:
        break;
    }
}

/* The schedule fields become a `schedule` command when applied (Enter on one of them). */
static void apply_schedule(App *a)
{
    char line[256];
    const char *k = fv(a, F_SCHED);
    if (!strcmp(k, "agp"))
        snprintf(line, sizeof line, "schedule agp from=0 to=%s start=%ld end=%ld every=%ld", fv(a, F_AGP_TO),
                 a->s->trainer.step, a->s->trainer.step + atol(fv(a, F_AGP_STEPS)),
                 atol(fv(a, F_AGP_STEPS)) / 20 > 0 ? atol(fv(a, F_AGP_STEPS)) / 20 : 1);
    else if (!strcmp(k, "gp"))
        snprintf(line, sizeof line, "schedule gp grow=%s prune=%s every=200 tolerance=%s", fv(a, F_GROW),
                 *fv(a, F_PRUNE) ? fv(a, F_PRUNE) : "0.2", fv(a, F_GP_TOL));
    else
        snprintf(line, sizeof line, "schedule none");
    ui_command(a, line);
}

int screen_prune_key(App *a, int ch)
{
    UiField *f = &a->f[a->sel];
    if (a->editing) {
        size_t len = strlen(a->edit_buf);
        if (ch == 27) {
            a->editing = 0;
        } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            if (field_valid(f, a->edit_buf)) {
                snprintf(f->value, sizeof f->value, "%s", a->edit_buf);
                a->editing = 0;
                a->preview_dirty = 1;
                if (a->sel == F_TAU && *f->value) {
                    char line[64];
                    snprintf(line, sizeof line, "state tau=%s", f->value);
                    ui_command(a, line);
                }
            } else {
                ui_message(a, 1, "%s: '%s' is not valid", f->label, a->edit_buf);
            }
        } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len) {
            a->edit_buf[len - 1] = '\0';
        } else if (ch >= 32 && ch < 127 && len + 1 < sizeof a->edit_buf) {
            a->edit_buf[len] = (char)ch;
            a->edit_buf[len + 1] = '\0';
        }
        return 1;
    }
    switch (ch) {
    case KEY_UP:
    case 'k':
        a->sel = (a->sel + a->n_fields - 1) % a->n_fields;
        return 1;
    case KEY_DOWN:
    case 'j':
        a->sel = (a->sel + 1) % a->n_fields;
        return 1;
    case KEY_LEFT:
    case KEY_RIGHT:
        if (f->type == FIELD_CHOICE) {
            int n, k = choice_index(f->choices, f->value, &n);
            k = (k + (ch == KEY_RIGHT ? 1 : n - 1)) % n;
            choice_at(f->choices, k, f->value, sizeof f->value);
            a->preview_dirty = 1;
        } else if (f->type == FIELD_NUM && *f->value) {
            /* nudge numbers: ratios by 0.05, sizes by 8 (a typical hysteresis step) */
            double v = strtod(f->value, NULL), d = f->hi <= 1 ? 0.05 : 8;
            v += ch == KEY_RIGHT ? d : -d;
            v = fmin(f->hi, fmax(f->lo, v));
            if (f->hi <= 1) snprintf(f->value, sizeof f->value, "%.2f", v);
            else snprintf(f->value, sizeof f->value, "%.0f", v);
            a->preview_dirty = 1;
        }
        return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (a->sel >= F_SCHED && a->sel <= F_GP_TOL) {
            apply_schedule(a);
        } else if (f->type == FIELD_CHOICE) {
            int n, k = choice_index(f->choices, f->value, &n);
            choice_at(f->choices, (k + 1) % n, f->value, sizeof f->value);
            a->preview_dirty = 1;
        } else {
            a->editing = 1;
            snprintf(a->edit_buf, sizeof a->edit_buf, "%s", f->value);
        }
        return 1;
    case '[':
        a->heat_tensor = (a->heat_tensor + a->s->model.n_tensors - 1) % a->s->model.n_tensors;
        return 1;
    case ']':
        a->heat_tensor = (a->heat_tensor + 1) % a->s->model.n_tensors;
        return 1;
    default:
        return 0;
    }
}

void screen_prune(App *a, int top, int h)
{
    const Session *s = a->s;
    int fw = 36;
    draw_box_title(top, 0, h, fw, "settings (Enter edits)");
    for (int i = 0; i < a->n_fields && i < h - 2; i++) {
        const UiField *f = &a->f[i];
        int sel = i == a->sel;
        const char *v = sel && a->editing ? a->edit_buf : f->value;
        int ok = field_valid(f, v);
        int attr = sel ? term_attr(TERM_C_SEL) : (int)A_NORMAL;
        if (!ok) attr |= term_attr(TERM_C_ERR) | (int)A_BOLD;
        draw_text(top + 1 + i, 1, fw - 2, attr, " %-19s %-12s%s", f->label, *v ? v : "-", sel && a->editing ? "_" : "");
    }
    /* preview of the next prune, and the per-matrix table */
    int px = fw, pw = COLS - fw;
    int ph = h / 2;
    draw_box_title(top, px, ph, pw, "next prune (p applies, g grows, r resizes)");
    const char *p = a->preview;
    for (int r = 0; r < ph - 2 && *p; r++) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        draw_text(top + 1 + r, px + 1, pw - 2, (int)A_NORMAL, "%.*s", len, p);
        p = nl ? nl + 1 : p + len;
    }
    /* per-matrix table (left) and heatmap of the selected matrix (right) */
    int ty = top + ph, th = h - ph;
    int tw = 34;
    draw_box_title(ty, px, th, tw, "matrices");
    draw_text(ty + 1, px + 1, tw - 2, (int)A_BOLD, "%-13s %6s %s", "tensor", "dens.", "live/row");
    int r = 0;
    for (int i = 0; i < s->model.n_tensors && r < th - 3; i++) {
        if (s->model.p[i].kind == PARAM_BIAS) continue;
        MaskTensorStats ts;
        mask_tensor_stats(&s->model, &ts, i);
        int attr = i == a->heat_tensor ? (int)A_BOLD | term_attr(TERM_C_S2) : (int)A_NORMAL;
        draw_text(ty + 2 + r, px + 1, tw - 2, attr, "%-13.13s %5.1f%% %d-%d", s->model.p[i].name, 100 * ts.density,
                  ts.row_nnz_min, ts.row_nnz_max);
        r++;
    }
    const ModelParam *hp = &s->model.p[a->heat_tensor];
    CanvasText t;
    int hx = px + tw, hw = pw - tw;
    draw_box_title(ty, hx, th, hw, "mask ([ ] choose)");
    if (heatmap_render(&t, hp->name, s->model.mask + hp->off, hp->rows, hp->cols, hw - 2, th - 2,
                       a->caps.ascii ? CANVAS_ASCII : CANVAS_BRAILLE) == TP_OK) {
        for (int k = 0; k < t.h; k++) draw_text(ty + 1 + k, hx + 1, hw - 2, (int)A_NORMAL, "%s", t.lines[k]);
        canvas_text_free(&t);
    }
}

/* ==== Latency ================================================================================== */

/* The newest curve of SESSION/latency.tsv and its analysis; 0 if there is none. */
static int latest_curve(const App *a, LatencyCurve *c, HystAnalysis *h)
{
    latency_curve_init(c);
    memset(h, 0, sizeof *h);
    if (profile_session_latest(a->s->dir, c) != TP_OK || c->n < 1) {
        latency_curve_free(c);
        return 0;
    }
    if (profile_analyze(h, c, 0.02, 0) != TP_OK) {
        latency_curve_free(c);
        return 0;
    }
    return 1;
}

int screen_latency_key(App *a, int ch)
{
    int L = a->s->model.cfg.n_layers;
    if (ch == KEY_UP || ch == KEY_LEFT) {
        a->lat_layer = (a->lat_layer + L - 1) % L;
        return 1;
    }
    if (ch == KEY_DOWN || ch == KEY_RIGHT) {
        a->lat_layer = (a->lat_layer + 1) % L;
        return 1;
    }
    if (ch == 'a') {
        /* apply "no slower than now": the largest size reachable at no latency cost */
        LatencyCurve c;
        HystAnalysis h;
        if (!latest_curve(a, &c, &h)) {
            ui_message(a, 1, "no latency profile yet: press l first");
            return 1;
        }
        HystSeries ser = profile_series(&c);
        HystTargetPick pick;
        int cur = a->s->model.cfg.hidden[a->lat_layer];
        if (hysteresis_recommend_target(&pick, &ser, &h, cur) != TP_OK) {
            ui_message(a, 1, "layer %d: %s", a->lat_layer, err_msg());
        } else if (c.hidden[pick.furthest] == cur || pick.furthest == pick.target_index) {
            ui_message(a, 0, "layer %d: %d is already the largest size at its latency", a->lat_layer, cur);
        } else {
            char line[96];
            snprintf(line, sizeof line, "resize layer=%d hidden=%d", a->lat_layer, c.hidden[pick.furthest]);
            ui_command(a, line);
        }
        hysteresis_free(&h);
        latency_curve_free(&c);
        return 1;
    }
    return 0;
}

void screen_latency(App *a, int top, int h)
{
    const Session *s = a->s;
    LatencyCurve c;
    HystAnalysis an;
    int have = latest_curve(a, &c, &an);
    int info_h = 7, ch = h - info_h;
    if (!have) {
        draw_box_title(top, 0, ch, COLS, "latency vs hidden size");
        draw_text(top + ch / 2, 4, COLS - 8, (int)A_BOLD, "no latency profile yet: press l to measure this machine");
    } else {
        double *x = malloc(sizeof(double) * (size_t)c.n);
        for (int i = 0; x && i < c.n; i++) x[i] = c.hidden[i];
        const double *ys[3] = {c.median_us, c.p10_us, c.p90_us};
        const char *names[3] = {"median us", "p10", "p90"};
        double mx[CHART_MAX_MARKERS];
        const char *ml[CHART_MAX_MARKERS];
        static char labels[MODEL_MAX_LAYERS][16];
        int nm = 0;
        for (int l = 0; l < s->model.cfg.n_layers && nm < CHART_MAX_MARKERS; l++) {
            snprintf(labels[l], sizeof labels[l], "l%d", l);
            mx[nm] = s->model.cfg.hidden[l];
            ml[nm++] = labels[l];
        }
        for (int i = 0; i < an.n_points && nm < CHART_MAX_MARKERS; i++) {
            mx[nm] = c.hidden[an.points[i].index];
            ml[nm++] = "h";
        }
        char title[200];
        snprintf(title, sizeof title, "%s %d thr batch %d: %d hysteresis point%s (h), %d dominated sizes",
                 c.backend, c.threads, c.batch, an.n_points, an.n_points == 1 ? "" : "s", an.n_dominated);
        if (x) draw_chart(a, top, 0, ch, COLS, title, names, x, ys, 3, c.n, 0, mx, ml, nm);
        free(x);
    }
    int iy = top + ch;
    draw_box_title(iy, 0, info_h, COLS, "layers (Up/Down select, l profiles, a applies the recommendation)");
    for (int l = 0; l < s->model.cfg.n_layers && l < info_h - 2; l++) {
        char rec[512] = "";
        if (have) {
            profile_recommend(rec, sizeof rec, &c, &an, l, s->model.cfg.hidden[l], 0.0);
            char *nl = strchr(rec, '\n');
            if (nl) *nl = '\0';
        }
        draw_text(iy + 1 + l, 2, COLS - 4, l == a->lat_layer ? term_attr(TERM_C_SEL) : (int)A_NORMAL, "layer %d (%d): %s",
                  l, s->model.cfg.hidden[l], have ? rec : "-");
    }
    if (have) {
        hysteresis_free(&an);
        latency_curve_free(&c);
    }
}

/* ==== Sessions ================================================================================= */

int screen_sessions_key(App *a, int ch)
{
    SnapshotInfo list[64];
    int n = 0;
    snapshot_list(a->s->dir, list, 64, &n);
    if (!n) return 0;
    char line[128];
    switch (ch) {
    case KEY_UP: a->snap_sel = (a->snap_sel + n - 1) % n; return 1;
    case KEY_DOWN: a->snap_sel = (a->snap_sel + 1) % n; return 1;
    case 'm': a->snap_mark = a->snap_mark == a->snap_sel + 1 ? 0 : a->snap_sel + 1; return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (a->snap_sel < n) {
            snprintf(line, sizeof line, "restore name=%s", list[a->snap_sel].name);
            ui_command(a, line);
        }
        return 1;
    case 'n':
        snprintf(line, sizeof line, "snapshot name=step-%ld", a->s->trainer.step);
        ui_command(a, line);
        return 1;
    default: return 0;
    }
}

void screen_sessions(App *a, int top, int h)
{
    SnapshotInfo list[64];
    int n = 0;
    snapshot_list(a->s->dir, list, 64, &n);
    if (a->snap_sel >= n) a->snap_sel = n ? n - 1 : 0;
    int lh = h / 2 + 2;
    draw_box_title(top, 0, lh, COLS, "snapshots (Enter restores, n takes one, m marks for compare, u undoes)");
    draw_text(top + 1, 2, COLS - 4, (int)A_BOLD, "%-22s %9s %10s %9s  %s", "name", "step", "valid ppl", "size", "taken before");
    int first = a->snap_sel - (lh - 4) + 1;
    if (first < 0) first = 0;
    for (int i = first, r = 0; i < n && r < lh - 3; i++, r++) {
        char ppl[24] = "-";
        if (isfinite(list[i].valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", list[i].valid_ppl);
        int attr = i == a->snap_sel ? term_attr(TERM_C_SEL) : (a->snap_mark == i + 1 ? (int)A_BOLD : (int)A_NORMAL);
        draw_text(top + 2 + r, 2, COLS - 4, attr, "%c%-21s %9ld %10s %8.1fM  %s", a->snap_mark == i + 1 ? '*' : ' ',
                  list[i].name, list[i].step, ppl, list[i].bytes / 1048576.0, list[i].reason);
    }
    /* compare: the marked snapshot against the selected one, or the journal */
    int cy = top + lh, chh = h - lh;
    if (a->snap_mark && a->snap_mark - 1 < n && a->snap_sel < n) {
        const SnapshotInfo *x = &list[a->snap_mark - 1], *y = &list[a->snap_sel];
        draw_box_title(cy, 0, chh, COLS, "compare");
        draw_text(cy + 1, 2, COLS - 4, (int)A_BOLD, "%-14s %20s %20s", "", x->name, y->name);
        draw_text(cy + 2, 2, COLS - 4, (int)A_NORMAL, "%-14s %20ld %20ld", "step", x->step, y->step);
        draw_text(cy + 3, 2, COLS - 4, (int)A_NORMAL, "%-14s %20.2f %20.2f", "valid ppl", x->valid_ppl, y->valid_ppl);
        draw_text(cy + 4, 2, COLS - 4, (int)A_NORMAL, "%-14s %19.1fM %19.1fM", "size", x->bytes / 1048576.0,
                  y->bytes / 1048576.0);
        draw_text(cy + 5, 2, COLS - 4, (int)A_NORMAL, "%-14s %20.20s %20.20s", "before", x->reason, y->reason);
        return;
    }
    draw_box_title(cy, 0, chh, COLS, "journal");
    JournalEntry *je = NULL;
    int nj = 0, torn = 0;
    if (journal_read(a->s->dir, &je, &nj, &torn) == TP_OK) {
        int f = nj - (chh - 2);
        if (f < 0) f = 0;
        for (int i = f, r = 0; i < nj; i++, r++)
            draw_text(cy + 1 + r, 2, COLS - 4, (int)A_NORMAL, "%7ld  %s  %s", je[i].step, je[i].command, je[i].result);
    }
    free(je);
}

/* ==== Help ===================================================================================== */

/* The help text: the key table, then the command table; full width, scrolled with Up/Down/PgUp/PgDn. */
static int help_lines(char lines[][256], int cap)
{
    int n = 0, nk;
    const KeyBinding *k = keys_table(&nk);
    snprintf(lines[n++], 256, "KEYS");
    for (int i = 0; i < nk && n < cap; i++) snprintf(lines[n++], 256, "  %-6s %s", k[i].name, k[i].help);
    if (n < cap) lines[n++][0] = '\0';
    const char *p = command_help(NULL);
    while (p && *p && n < cap) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        snprintf(lines[n++], 256, "%.*s", len, p);
        p = nl ? nl + 1 : p + len;
    }
    if (n < cap) lines[n++][0] = '\0';
    if (n < cap) snprintf(lines[n++], 256, "`topiary help VERB` or `:help VERB` shows a verb's keys and their ranges.");
    return n;
}

int screen_help_key(App *a, int ch)
{
    switch (ch) {
    case KEY_UP: a->help_scroll--; break;
    case KEY_DOWN: a->help_scroll++; break;
    case KEY_PPAGE: a->help_scroll -= 10; break;
    case KEY_NPAGE: a->help_scroll += 10; break;
    case KEY_HOME: a->help_scroll = 0; break;
    default: return 0;
    }
    if (a->help_scroll < 0) a->help_scroll = 0;
    return 1;
}

void screen_help(App *a, int top, int h)
{
    static char lines[96][256];
    int n = help_lines(lines, 96);
    int rows = h - 2;
    if (a->help_scroll > n - rows) a->help_scroll = n - rows > 0 ? n - rows : 0;
    draw_box_title(top, 0, h, COLS, n > rows ? "help (Up/Down/PgUp/PgDn scroll)" : "help");
    for (int r = 0; r < rows && a->help_scroll + r < n; r++) {
        const char *l = lines[a->help_scroll + r];
        int bold = !strcmp(l, "KEYS") || !strncmp(l, "commands", 8);
        draw_text(top + 1 + r, 2, COLS - 4, bold ? (int)A_BOLD : (int)A_NORMAL, "%s", l);
    }
}
