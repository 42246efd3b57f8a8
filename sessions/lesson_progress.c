/* sessions/lesson_progress: see lesson_progress.h. */
#include "sessions/lesson_progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"

static TpStatus bad(const char *dir, int line, const char *what)
{
    return err_set(TP_EFORMAT, "%s/" LESSON_PROGRESS_FILE ":%d: %s", dir, line, what);
}

static LessonRecord *find_rec(LessonProgress *p, const char *id)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->r[i].id, id)) return &p->r[i];
    return NULL;
}

const LessonRecord *lesson_progress_find(const LessonProgress *p, const char *id)
{
    return find_rec((LessonProgress *)p, id);
}

/* One "lesson" line's fields after the id. */
static TpStatus parse_fields(LessonRecord *r, char *rest, const char *dir, int ln)
{
    for (char *f = strtok(rest, "\t"); f; f = strtok(NULL, "\t")) {
        char *eq = strchr(f, '=');
        if (!eq) return bad(dir, ln, "expected NAME=VALUE");
        *eq = '\0';
        char *end;
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || errno) return bad(dir, ln, "expected a number");
        if (!strcmp(f, "started")) r->started = (long)v;
        else if (!strcmp(f, "passed")) r->passed = v != 0;
        else if (!strcmp(f, "passed_step")) r->passed_step = (long)v;
        else if (!strncmp(f, "ref.", 4)) {
            if (!lesson_refs_set(&r->refs, f + 4, v)) return bad(dir, ln, "too many ref. values");
        } else return bad(dir, ln, "unknown field");
    }
    return TP_OK;
}

TpStatus lesson_progress_load(LessonProgress *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    char path[4200];
    TpStatus st = path_join(path, sizeof path, dir, LESSON_PROGRESS_FILE);
    if (st != TP_OK) return st;
    void *data;
    size_t n;
    st = fsutil_read_file(path, 1u << 20, &data, &n);
    if (st == TP_ENOENT) return TP_OK;
    if (st != TP_OK) return st;
    int ln = 0;
    /* lines: strtok_r over "\n" skips empty lines, so count them by hand */
    char *text = data;
    for (char *line = text; line && *line; ln++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *next = nl ? nl + 1 : NULL;
        if (line[0] && line[0] != '#') {
            char *tab = strchr(line, '\t');
            if (!tab) { st = bad(dir, ln + 1, "expected KIND<TAB>ID"); break; }
            *tab = '\0';
            char *id = tab + 1, *rest = strchr(id, '\t');
            if (rest) *rest++ = '\0';
            if (!id[0] || strlen(id) >= sizeof p->current) { st = bad(dir, ln + 1, "bad lesson id"); break; }
            if (!strcmp(line, "current")) {
                snprintf(p->current, sizeof p->current, "%s", id);
            } else if (!strcmp(line, "lesson")) {
                if (p->n == LESSON_PROGRESS_MAX || find_rec(p, id)) { st = bad(dir, ln + 1, "too many or repeated lessons"); break; }
                LessonRecord *r = &p->r[p->n++];
                memset(r, 0, sizeof *r);
                r->passed_step = -1;
                snprintf(r->id, sizeof r->id, "%s", id);
                if (rest && (st = parse_fields(r, rest, dir, ln + 1)) != TP_OK) break;
            } else { st = bad(dir, ln + 1, "expected 'current' or 'lesson'"); break; }
        }
        line = next;
    }
    free(data);
    if (st != TP_OK) memset(p, 0, sizeof *p);
    return st;
}

TpStatus lesson_progress_save(const LessonProgress *p, const char *dir)
{
    size_t cap = 4096 + (size_t)p->n * 2048;
    char *buf = malloc(cap);
    if (!buf) return err_set(TP_ENOMEM, "lessons: out of memory");
    size_t used = 0;
#define ADD(...)                                                                          \
    do {                                                                                  \
        int w_ = snprintf(buf + used, cap - used, __VA_ARGS__);                           \
        if (w_ > 0) used = (size_t)w_ < cap - used ? used + (size_t)w_ : cap - 1;         \
    } while (0)
    ADD("# topiary lesson progress (the lesson verb writes it; one record a line, tab-separated)\n");
    if (p->current[0]) ADD("current\t%s\n", p->current);
    for (int i = 0; i < p->n; i++) {
        const LessonRecord *r = &p->r[i];
        ADD("lesson\t%s\tstarted=%ld\tpassed=%d\tpassed_step=%ld", r->id, r->started, r->passed, r->passed_step);
        for (int k = 0; k < r->refs.n; k++) ADD("\tref.%s=%.17g", r->refs.name[k], r->refs.value[k]);
        ADD("\n");
    }
#undef ADD
    char path[4200];
    TpStatus st = path_join(path, sizeof path, dir, LESSON_PROGRESS_FILE);
    if (st == TP_OK) st = fsutil_write_atomic(path, buf, used);
    free(buf);
    return st == TP_OK ? st : err_wrap(st, "lesson progress: ");
}

TpStatus lesson_start(const Session *s, const Lesson *l, LessonProgress *p)
{
    LessonRecord *r = find_rec(p, l->id);
    if (!r) {
        if (p->n == LESSON_PROGRESS_MAX) return err_set(TP_ERANGE, "lessons: more than %d lessons started", LESSON_PROGRESS_MAX);
        r = &p->r[p->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", l->id);
        r->passed_step = -1;
    } else { /* resumed: its reference values stay (lesson mark records them again) */
        snprintf(p->current, sizeof p->current, "%s", l->id);
        return lesson_progress_save(p, s->dir);
    }
    r->started = s->trainer.step;
    lesson_refs_take(&r->refs, s);
    snprintf(p->current, sizeof p->current, "%s", l->id);
    return lesson_progress_save(p, s->dir);
}

TpStatus lesson_mark(const Session *s, LessonProgress *p)
{
    LessonRecord *r = p->current[0] ? find_rec(p, p->current) : NULL;
    if (!r) return err_set(TP_EINVAL, "lesson mark: no lesson started (lesson start name=ID)");
    lesson_refs_take(&r->refs, s);
    return lesson_progress_save(p, s->dir);
}

TpStatus lesson_verdict(const Session *s, const Lesson *l, const LessonRecord *rec, LessonVerdict *v)
{
    memset(v, 0, sizeof *v);
    v->n = l->n_checks;
    v->pass = 1;
    for (int i = 0; i < l->n_checks; i++) {
        TpStatus st = lesson_check_eval(l->checks[i], s, rec ? &rec->refs : NULL, &v->ok[i], v->values[i], sizeof v->values[i]);
        if (st != TP_OK) return err_wrap(st, "%s: check %d: ", l->id, i + 1);
        if (!v->ok[i]) v->pass = 0;
    }
    return TP_OK;
}

TpStatus lesson_check(const Session *s, const Lesson *l, LessonProgress *p, LessonVerdict *v)
{
    LessonRecord *r = find_rec(p, l->id);
    TpStatus st = lesson_verdict(s, l, r, v);
    if (st != TP_OK || !v->pass || !r || r->passed) return st;
    r->passed = 1;
    r->passed_step = s->trainer.step;
    return lesson_progress_save(p, s->dir);
}
