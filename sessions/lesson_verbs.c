/* sessions/lesson_verbs: see lesson_verbs.h.
 *
 *   lesson list                 the lessons, with this session's progress
 *   lesson show [name=ID]       a lesson's text, steps and exercise (default: the current lesson)
 *   lesson start name=ID        start it: the reference values (baseline_*) are recorded now (a lesson
 *                               started before is resumed with its values)
 *   lesson mark                 record the current lesson's reference values again
 *   lesson check [name=ID]      evaluate the exercise's checks on the session (a pass is recorded)
 *   explain [TERM]              the glossary's definition of TERM (no term: the list of terms)
 * They change only SESSION/lessons.txt, never the model: they are not journaled. */
#include "sessions/lesson_verbs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sessions/command.h"
#include "sessions/glossary.h"

/* printf into out[used..n), used advanced (never past n - 1). */
static void addf(char *out, size_t n, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void addf(char *out, size_t n, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out + *used, n - *used, fmt, ap);
    va_end(ap);
    if (w > 0) *used = (size_t)w < n - *used ? *used + (size_t)w : n - 1;
}
#define ADD(...) addf(out, n, &used, __VA_ARGS__)

/* Append text wrapped at width with an indent. */
static size_t wrap(char *out, size_t n, size_t used, const char *text, int width, int indent)
{
    const char *p = text;
    while (*p) {
        if (*p == '\n') { /* a paragraph break */
            ADD("\n");
            p++;
            continue;
        }
        int avail = width - indent, take = 0;
        while (p[take] && p[take] != '\n') take++;
        if (take > avail) {
            int cut = avail;
            while (cut > 0 && p[cut] != ' ') cut--;
            take = cut ? cut : avail;
        }
        ADD("%*s%.*s\n", indent, "", take, p);
        p += take;
        while (*p == ' ') p++;
        if (*p == '\n') p++; /* the line's own end */
    }
    return used;
}

void lesson_format(const Lesson *l, int width, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    ADD("%s: %s\n\n", l->id, l->title);
    used = wrap(out, n, used, l->text, width, 0);
    ADD("\nsteps (run each: press Enter on the Lessons screen, type it at the : prompt, or put it in a script):\n");
    for (int i = 0; i < l->n_steps; i++) {
        ADD("  %d. %s\n", i + 1, l->steps[i].command);
        if (l->steps[i].look[0]) used = wrap(out, n, used, l->steps[i].look, width, 6);
    }
    ADD("\nexercise:\n");
    used = wrap(out, n, used, l->exercise, width, 2);
    for (int i = 0; i < l->n_checks; i++) ADD("  check: %s\n", l->checks[i]);
    if (l->terms[0]) ADD("\nterms (explain TERM): %s\n", l->terms);
}

void lesson_format_verdict(const Lesson *l, const LessonVerdict *v, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    ADD("%s check: %s\n", l->id, v->pass ? "PASSED" : "not yet");
    for (int i = 0; i < v->n; i++) ADD("  [%s] %s   (%s)\n", v->ok[i] ? "ok" : "  ", l->checks[i], v->values[i]);
}

TpStatus lesson_explain(const char *term, int width, char *out, size_t n)
{
    Glossary g;
    TpStatus st = glossary_load(&g);
    if (st != TP_OK) return st;
    size_t used = 0;
    out[0] = '\0';
    if (!term || !*term) {
        ADD("terms (explain TERM):\n");
        int col = 0;
        for (int i = 0; i < g.n; i++) {
            int len = (int)strlen(g.e[i].term) + 2;
            if (col + len > width) {
                ADD("\n");
                col = 0;
            }
            ADD("  %s", g.e[i].term);
            col += len;
        }
        ADD("\n");
    } else {
        const GlossaryEntry *e = glossary_find(&g, term);
        if (e) {
            glossary_format(e, width, out, n);
        } else {
            const char *near = glossary_suggest(&g, term);
            st = near ? err_set(TP_ENOENT, "explain: no term '%s' (did you mean '%s'?)", term, near)
                      : err_set(TP_ENOENT, "explain: no term '%s' (`explain` lists them)", term);
        }
    }
    glossary_free(&g);
    return st;
}

/* ==== verbs ===================================================================================== */

TpStatus command_verb_explain(Session *s, const Command *c, CommandResult *r)
{
    (void)s;
    const char *term = c->word[0] ? c->word : command_arg(c, "term");
    return lesson_explain(term, 76, r->text, sizeof r->text);
}

static TpStatus list(const Session *s, const LessonCatalog *cat, const LessonProgress *p, CommandResult *r)
{
    command_say(r, "lessons (lesson start name=ID; in the TUI: the Lessons screen, key 6):\n");
    for (int i = 0; i < cat->n; i++) {
        const LessonRecord *rec = lesson_progress_find(p, cat->l[i].id);
        command_say(r, " %c %-22s %-8s %s\n", !strcmp(p->current, cat->l[i].id) ? '>' : ' ', cat->l[i].id,
                    rec ? (rec->passed ? "passed" : "started") : "", cat->l[i].title);
    }
    (void)s;
    return TP_OK;
}

TpStatus command_verb_lesson(Session *s, const Command *c, CommandResult *r)
{
    LessonCatalog cat;
    TpStatus st = lesson_catalog_load(&cat);
    if (st != TP_OK) return st;
    LessonProgress p;
    if ((st = lesson_progress_load(&p, s->dir)) != TP_OK) goto done;
    const char *w = c->word, *name = command_arg(c, "name");
    if (!strcmp(w, "list")) {
        st = list(s, &cat, &p, r);
        goto done;
    }
    if (!strcmp(w, "mark")) {
        if ((st = lesson_mark(s, &p)) == TP_OK)
            command_say(r, "%s: reference values recorded at step %ld (baseline_valid_ppl %.2f)", p.current,
                        s->trainer.step, s->valid_ppl);
        goto done;
    }
    if (!name && !strcmp(w, "start")) {
        st = err_set(TP_EINVAL, "lesson start: expected name=ID (lesson list shows them)");
        goto done;
    }
    if (!name && !p.current[0]) {
        st = err_set(TP_EINVAL, "lesson %s: no lesson started; give name=ID", w);
        goto done;
    }
    const Lesson *l;
    if ((st = lesson_find(&cat, name ? name : p.current, &l)) != TP_OK) goto done;
    char text[sizeof r->text];
    if (!strcmp(w, "show")) {
        lesson_format(l, 76, r->text, sizeof r->text);
    } else if (!strcmp(w, "start")) {
        const LessonRecord *before = lesson_progress_find(&p, l->id);
        long since = before ? before->started : s->trainer.step;
        if ((st = lesson_start(s, l, &p)) != TP_OK) goto done;
        command_say(r, "lesson %s %s at step %ld: %s (%d steps; `lesson show` prints it, `lesson check` checks the "
                       "exercise%s)", l->id, before ? "resumed, started" : "started", since, l->title, l->n_steps,
                    before ? ", `lesson mark` records its reference values again" : "");
        if (l->task[0]) command_say(r, "\n  made for a session like: topiary learn %s --session NEWDIR (task %s)", l->id, l->task);
    } else { /* check */
        LessonVerdict v;
        if ((st = lesson_check(s, l, &p, &v)) != TP_OK) goto done;
        lesson_format_verdict(l, &v, text, sizeof text);
        command_say(r, "%s", text);
    }
done:
    lesson_catalog_free(&cat);
    return st;
}
