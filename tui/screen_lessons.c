/* tui/screen_lessons: the lessons (sessions/lesson) and the glossary (sessions/glossary).
 *
 * Three views: the list of lessons with this session's progress (Enter starts or resumes one); a
 * lesson: its text, its steps (Up/Down select one, Enter runs it through app_command, so it is the
 * same journaled command as typed at the `:` prompt), what to look at, the exercise, and the live
 * verdict of its checks (evaluated on the session after every command; c records it with
 * `lesson check`); the glossary (x): terms on the left, the definition on the right.
 * Lessons and glossary are read once; the progress (SESSION/lessons.txt) after every `lesson`
 * command; the verdict after every command and when the model or metrics changed (training). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/glossary.h"
#include "sessions/lesson_verbs.h"
#include "tui/draw.h"
#include "tui/screens.h"

enum { V_LIST, V_LESSON, V_GLOSSARY };
enum { L_TEXT, L_HEAD, L_STEP, L_LOOK, L_CHECK };
#define DOC_MAX 400

typedef struct {
    char s[256];
    int kind, step;
} DocLine;

typedef struct {
    LessonCatalog cat;
    Glossary gl;
    int loaded;
    char err[300];              /* why lessons or glossary could not be read      */
    LessonProgress prog;
    int prog_dirty;
    int view, back;             /* V_*; the view x returns to                       */
    int sel;                    /* lesson selected in the list                      */
    int cur;                    /* lesson open (index into cat), -1 none            */
    int step, scroll;
    int gsel;                   /* glossary term selected                           */
    LessonVerdict verdict;
    int verdict_dirty, verdict_ok;
    unsigned gen_model, gen_metrics; /* App.gen the verdict was computed at (Space training) */
    char verdict_err[200];
    DocLine *doc;               /* the open lesson laid out at doc_w                */
    int n_doc, doc_w, doc_of;
} LessonsState;

/* ---- layout --------------------------------------------------------------------------------- */

static void doc_add(LessonsState *t, int kind, int step, int indent, const char *text, int w)
{
    const char *p = text;
    if (!*p && t->n_doc < DOC_MAX) { /* a blank line */
        t->doc[t->n_doc++] = (DocLine){"", kind, step};
        return;
    }
    while (*p && t->n_doc < DOC_MAX) {
        int avail = w - indent, take = 0;
        while (p[take] && p[take] != '\n') take++;
        if (take > avail) {
            int cut = avail;
            while (cut > 0 && p[cut] != ' ') cut--;
            take = cut ? cut : avail;
        }
        DocLine *d = &t->doc[t->n_doc++];
        snprintf(d->s, sizeof d->s, "%*s%.*s", indent, "", take, p);
        d->kind = kind, d->step = step;
        p += take;
        while (*p == ' ') p++;
        if (*p == '\n') {
            p++;
            if (*p == '\n' && t->n_doc < DOC_MAX) { /* paragraph break */
                t->doc[t->n_doc++] = (DocLine){"", kind, step};
                p++;
            }
        }
    }
}

static void layout(LessonsState *t, int w)
{
    if (t->cur < 0 || (t->doc_w == w && t->doc_of == t->cur)) return;
    const Lesson *l = &t->cat.l[t->cur];
    t->n_doc = 0;
    t->doc_w = w, t->doc_of = t->cur;
    doc_add(t, L_HEAD, -1, 0, l->title, w);
    doc_add(t, L_TEXT, -1, 0, l->text, w);
    doc_add(t, L_TEXT, -1, 0, "", w);
    doc_add(t, L_HEAD, -1, 0, "Steps (Enter runs the selected one; or type it at the : prompt):", w);
    for (int i = 0; i < l->n_steps; i++) {
        char line[600];
        snprintf(line, sizeof line, "%2d. %s", i + 1, l->steps[i].command);
        doc_add(t, L_STEP, i, 2, line, w);
        if (l->steps[i].look[0]) doc_add(t, L_LOOK, i, 6, l->steps[i].look, w);
    }
    doc_add(t, L_TEXT, -1, 0, "", w);
    doc_add(t, L_HEAD, -1, 0, "Exercise:", w);
    doc_add(t, L_TEXT, -1, 2, l->exercise, w);
    for (int i = 0; i < l->n_checks; i++) {
        char line[300];
        snprintf(line, sizeof line, "check: %s", l->checks[i]);
        doc_add(t, L_CHECK, -1, 2, line, w);
    }
    if (l->terms[0]) {
        char line[300];
        snprintf(line, sizeof line, "Terms (x: glossary): %s", l->terms);
        doc_add(t, L_TEXT, -1, 0, "", w);
        doc_add(t, L_TEXT, -1, 0, line, w);
    }
}

/* ---- state ---------------------------------------------------------------------------------- */

static void open_lesson(LessonsState *t, int i)
{
    t->cur = i;
    t->sel = i;
    t->step = 0;
    t->scroll = 0;
    t->doc_w = 0;
    t->view = V_LESSON;
    t->verdict_dirty = 1;
}

static void lessons_init(App *a, void *st)
{
    (void)a;
    LessonsState *t = st;
    t->cur = -1;
    t->prog_dirty = t->verdict_dirty = 1;
    t->doc = calloc(DOC_MAX, sizeof *t->doc);
}

static void lessons_fini(App *a, void *st)
{
    (void)a;
    LessonsState *t = st;
    lesson_catalog_free(&t->cat);
    glossary_free(&t->gl);
    free(t->doc);
}

static void lessons_refresh(App *a, void *st)
{
    LessonsState *t = st;
    if (!t->loaded) {
        t->loaded = 1;
        if (lesson_catalog_load(&t->cat) != TP_OK) snprintf(t->err, sizeof t->err, "%s", err_msg());
        if (glossary_load(&t->gl) != TP_OK && !t->err[0]) snprintf(t->err, sizeof t->err, "%s", err_msg());
    }
    if (t->prog_dirty) {
        t->prog_dirty = 0;
        if (lesson_progress_load(&t->prog, a->s->dir) != TP_OK) app_log(a, 1, "lessons: %s", err_msg());
        /* the session's current lesson opens by itself the first time */
        const Lesson *l;
        if (t->cur < 0 && t->prog.current[0] && lesson_find(&t->cat, t->prog.current, &l) == TP_OK)
            open_lesson(t, (int)(l - t->cat.l));
    }
    if (t->gen_model != a->gen[APP_VIEW_MODEL] || t->gen_metrics != a->gen[APP_VIEW_METRICS]) t->verdict_dirty = 1;
    if (t->verdict_dirty && t->cur >= 0) {
        t->verdict_dirty = 0;
        t->gen_model = a->gen[APP_VIEW_MODEL];
        t->gen_metrics = a->gen[APP_VIEW_METRICS];
        const Lesson *l = &t->cat.l[t->cur];
        t->verdict_ok = lesson_verdict(a->s, l, lesson_progress_find(&t->prog, l->id), &t->verdict) == TP_OK;
        if (!t->verdict_ok) snprintf(t->verdict_err, sizeof t->verdict_err, "%s", err_msg());
    }
}

static void lessons_result(App *a, void *st, const CommandResult *r)
{
    (void)a;
    LessonsState *t = st;
    t->verdict_dirty = 1;
    if (!strcmp(r->verb, "lesson")) t->prog_dirty = 1;
}

/* ---- keys ----------------------------------------------------------------------------------- */

static void open_glossary(LessonsState *t)
{
    t->back = t->view;
    t->view = V_GLOSSARY;
    if (t->back == V_LESSON && t->cur >= 0) { /* at the lesson's first term */
        char first[64];
        const char *terms = t->cat.l[t->cur].terms;
        snprintf(first, sizeof first, "%.*s", (int)strcspn(terms, ","), terms);
        const GlossaryEntry *e = glossary_find(&t->gl, first);
        if (e) t->gsel = (int)(e - t->gl.e);
    }
}

static int key_list(App *a, LessonsState *t, int ch)
{
    int n = t->cat.n;
    char line[160];
    switch (ch) {
    case KEY_UP: if (n) t->sel = (t->sel + n - 1) % n; return 1;
    case KEY_DOWN: if (n) t->sel = (t->sel + 1) % n; return 1;
    case '\n': case '\r': case KEY_ENTER:
        if (t->sel >= n) return 1;
        snprintf(line, sizeof line, "lesson start name=%s", t->cat.l[t->sel].id);
        app_command(a, line);
        if (!a->msg_err) open_lesson(t, t->sel);
        return 1;
    default: return 0;
    }
}

static int key_lesson(App *a, LessonsState *t, int ch)
{
    const Lesson *l = &t->cat.l[t->cur];
    switch (ch) {
    case KEY_UP: t->step = (t->step + l->n_steps - 1) % l->n_steps; t->scroll = -1; return 1;
    case KEY_DOWN: t->step = (t->step + 1) % l->n_steps; t->scroll = -1; return 1;
    case KEY_PPAGE: t->scroll = (t->scroll < 0 ? 0 : t->scroll) - 8; if (t->scroll < 0) t->scroll = 0; return 1;
    case KEY_NPAGE: t->scroll = (t->scroll < 0 ? 0 : t->scroll) + 8; return 1;
    case '\n': case '\r': case KEY_ENTER:
        app_command(a, l->steps[t->step].command);
        if (!a->msg_err && t->step + 1 < l->n_steps) t->step++, t->scroll = -1;
        return 1;
    case 'c': app_command(a, "lesson check"); return 1;
    case 'm': app_command(a, "lesson mark"); return 1;
    case 'b': case KEY_LEFT: case KEY_BACKSPACE: t->view = V_LIST; return 1;
    default: return 0;
    }
}

static int key_glossary(LessonsState *t, int ch)
{
    int n = t->gl.n;
    switch (ch) {
    case KEY_UP: if (n) t->gsel = (t->gsel + n - 1) % n; return 1;
    case KEY_DOWN: if (n) t->gsel = (t->gsel + 1) % n; return 1;
    case KEY_PPAGE: t->gsel = t->gsel > 10 ? t->gsel - 10 : 0; return 1;
    case KEY_NPAGE: t->gsel = t->gsel + 10 < n ? t->gsel + 10 : (n ? n - 1 : 0); return 1;
    case 'x': case 'b': case 27: case KEY_LEFT: case KEY_BACKSPACE: t->view = t->back; return 1;
    default: return 0;
    }
}

static int lessons_key(App *a, void *st, int ch)
{
    LessonsState *t = st;
    lessons_refresh(a, t);
    if (t->view == V_GLOSSARY) return key_glossary(t, ch);
    if (ch == 'x' && t->gl.n) {
        open_glossary(t);
        return 1;
    }
    if (t->view == V_LESSON && t->cur >= 0) return key_lesson(a, t, ch);
    return t->cat.n ? key_list(a, t, ch) : 0;
}

/* ---- drawing -------------------------------------------------------------------------------- */

static void draw_list(LessonsState *t, int top, int h)
{
    int lh = t->cat.n + 3 < h - 4 ? t->cat.n + 3 : h - 4;
    draw_box_title(top, 0, lh, COLS, "lessons (Up/Down select, Enter starts or resumes, x glossary)");
    int first = t->sel - (lh - 3) + 1;
    if (first < 0) first = 0;
    for (int i = first, r = 0; i < t->cat.n && r < lh - 2; i++, r++) {
        const Lesson *l = &t->cat.l[i];
        const LessonRecord *rec = lesson_progress_find(&t->prog, l->id);
        int attr = i == t->sel ? term_attr(TERM_C_SEL) : (int)A_NORMAL;
        draw_text(top + 1 + r, 2, COLS - 4, attr, "%c %-22s %-8s %s", !strcmp(t->prog.current, l->id) ? '>' : ' ', l->id,
                  rec ? (rec->passed ? "passed" : "started") : "", l->title);
    }
    int py = top + lh, ph = h - lh;
    if (ph < 3 || t->sel >= t->cat.n) return;
    const Lesson *l = &t->cat.l[t->sel];
    draw_box_title(py, 0, ph, COLS, l->title);
    char para[1200];
    snprintf(para, sizeof para, "%.*s", (int)strcspn(l->text, "\n"), l->text);
    /* the first paragraph, wrapped */
    const char *p = para;
    int w = COLS - 4;
    for (int r = 0; r < ph - 2 && *p; r++) {
        int take = (int)strlen(p);
        if (take > w) {
            take = w;
            while (take > 0 && p[take] != ' ') take--;
            if (!take) take = w;
        }
        draw_text(py + 1 + r, 2, w, (int)A_NORMAL, "%.*s", take, p);
        p += take;
        while (*p == ' ') p++;
    }
}

/* The verdict in two lines: the state, then the first check that does not hold with its values. */
static void verdict_line(LessonsState *t, const Lesson *l, char *out, size_t n, char *out2, size_t n2, int *attr)
{
    out2[0] = '\0';
    if (!t->verdict_ok) {
        snprintf(out, n, "check: %s", t->verdict_err);
        *attr = term_attr(TERM_C_ERR);
        return;
    }
    const LessonVerdict *v = &t->verdict;
    int held = 0, first_bad = -1;
    for (int i = 0; i < v->n; i++)
        if (v->ok[i]) held++;
        else if (first_bad < 0) first_bad = i;
    const LessonRecord *rec = lesson_progress_find(&t->prog, l->id);
    if (v->pass) {
        snprintf(out, n, "check: PASSED%s (%d of %d hold)", rec && rec->passed ? " and recorded" : " -- press c to record it",
                 held, v->n);
        *attr = term_attr(TERM_C_OK) | (int)A_BOLD;
    } else {
        snprintf(out, n, "check: not yet (%d of %d hold; c records a pass)", held, v->n);
        snprintf(out2, n2, "  %s   [%s]", l->checks[first_bad], v->values[first_bad]);
        *attr = (int)A_BOLD;
    }
}

static void draw_lesson(LessonsState *t, int top, int h)
{
    const Lesson *l = &t->cat.l[t->cur];
    int w = COLS - 4, rows = h - 4;
    layout(t, w);
    char title[300];
    snprintf(title, sizeof title, "lesson %s (Up/Down step, Enter runs it, c check, x terms, b list)", l->id);
    draw_box_title(top, 0, h - 2, COLS, title);
    /* keep the selected step in sight unless the user scrolled */
    if (t->scroll < 0) {
        int at = 0;
        for (int i = 0; i < t->n_doc; i++)
            if (t->doc[i].kind == L_STEP && t->doc[i].step == t->step) { at = i; break; }
        int last = at;
        while (last + 1 < t->n_doc && t->doc[last + 1].step == t->step && t->doc[last + 1].kind == L_LOOK) last++;
        t->scroll = last - rows + 2 > 0 ? last - rows + 2 : 0;
        if (at < t->scroll) t->scroll = at;
    }
    if (t->scroll > t->n_doc - rows) t->scroll = t->n_doc - rows > 0 ? t->n_doc - rows : 0;
    for (int r = 0; r < rows && t->scroll + r < t->n_doc; r++) {
        const DocLine *d = &t->doc[t->scroll + r];
        int attr = d->kind == L_HEAD ? (int)A_BOLD : d->kind == L_LOOK ? (int)A_DIM : (int)A_NORMAL;
        if (d->kind == L_STEP && d->step == t->step) attr = term_attr(TERM_C_SEL) | (int)A_BOLD;
        int sel = d->kind == L_STEP && d->step == t->step && d->s[0] == ' '; /* the step's first line */
        draw_text(top + 1 + r, 2, w, attr, "%s%s", sel ? ">" : "", d->s + sel);
    }
    char v[700], v2[700];
    int attr;
    verdict_line(t, l, v, sizeof v, v2, sizeof v2, &attr);
    draw_text(top + h - 2, 1, COLS - 2, attr, "%s", v);
    draw_text(top + h - 1, 1, COLS - 2, (int)A_NORMAL, "%s", v2);
}

static void draw_glossary(LessonsState *t, int top, int h)
{
    int lw = 26, rows = h - 2;
    draw_box_title(top, 0, h, lw, "terms (x back)");
    int first = t->gsel - rows + 1 > 0 ? t->gsel - rows + 1 : 0;
    for (int i = first, r = 0; i < t->gl.n && r < rows; i++, r++)
        draw_text(top + 1 + r, 1, lw - 2, i == t->gsel ? term_attr(TERM_C_SEL) : (int)A_NORMAL, " %s", t->gl.e[i].term);
    if (t->gsel >= t->gl.n) return;
    draw_box_title(top, lw, h, COLS - lw, "explain (the glossary: lessons/glossary.txt)");
    char text[4096];
    glossary_format(&t->gl.e[t->gsel], COLS - lw - 4, text, sizeof text);
    draw_lines(top + 1, lw + 2, COLS - lw - 4, rows, text);
}

static void lessons_draw(App *a, void *st, int top, int h)
{
    (void)a;
    LessonsState *t = st;
    if (t->err[0] && !t->cat.n) {
        draw_box_title(top, 0, h, COLS, "lessons");
        draw_lines(top + 1, 2, COLS - 4, h - 2, t->err);
        return;
    }
    if (t->view == V_GLOSSARY) draw_glossary(t, top, h);
    else if (t->view == V_LESSON && t->cur >= 0) draw_lesson(t, top, h);
    else draw_list(t, top, h);
}

const Screen SCREEN_LESSONS = {
    .name = "Lessons",
    .tab = "Learn",
    .chart = "ppl",
    .state_size = sizeof(LessonsState),
    .init = lessons_init,
    .fini = lessons_fini,
    .refresh = lessons_refresh,
    .draw = lessons_draw,
    .key = lessons_key,
    .result = lessons_result,
};
