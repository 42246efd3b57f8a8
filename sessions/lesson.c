/* sessions/lesson: see lesson.h. */
#include "sessions/lesson.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/lines.h"
#include "base/paths.h"
#include "base/spell.h"
#include "sessions/command.h"
#include "sessions/lesson_check.h"
#include "sessions/task.h"

#define LESSON_LINE_MAX 4096
#define LESSON_MAX_FILES 64

static const char *extra_dir;

void lesson_set_dir(const char *dir) { extra_dir = dir && *dir ? dir : NULL; }

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int lesson_dirs(char dirs[LESSON_MAX_DIRS][1024])
{
    int n = 0;
    /* bundled: ./lessons (the source tree), else beside the binary */
    snprintf(dirs[n], 1024, "lessons");
    if (!is_dir(dirs[n])) {
        char exe[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) *slash = '\0';
            snprintf(dirs[n], 1024, "%.900s/../lessons", exe);
            if (!is_dir(dirs[n])) snprintf(dirs[n], 1024, "%.900s/../share/topiary/lessons", exe);
        }
    }
    n++;
    const char *env = getenv("TOPIARY_LESSONS");
    if (env && *env) snprintf(dirs[n++], 1024, "%.1000s", env);
    if (extra_dir) snprintf(dirs[n++], 1024, "%.1000s", extra_dir);
    return n;
}

/* ==== one file ================================================================================== */

static const char *const FIELDS[] = {"title", "task", "terms", "step", "look", "exercise", "check"};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* If line is "word: ..." (a lower-case word, a colon): the word's length, else 0. */
static size_t field_word(const char *line)
{
    size_t n = 0;
    while (islower((unsigned char)line[n]) || line[n] == '_') n++;
    return n && line[n] == ':' && (line[n + 1] == ' ' || line[n + 1] == '\0') ? n : 0;
}

static int append(char *dst, size_t cap, const char *sep, const char *s)
{
    size_t used = strlen(dst);
    int w = snprintf(dst + used, cap - used, "%s%s", used ? sep : "", s);
    return w >= 0 && (size_t)w < cap - used;
}

/* The task options of a task: line, as `topiary learn` will give them (TP_EINVAL naming the bad one). */
static TpStatus check_task(const char *val)
{
    char copy[256], *av[64];
    int ac = 0;
    snprintf(copy, sizeof copy, "%.255s", val);
    for (char *t = strtok(copy, " \t"); t && ac < 63; t = strtok(NULL, " \t")) av[ac++] = t;
    Task task;
    task_defaults(&task);
    for (int i = 0; i < ac;) {
        int matched = 0, at = i;
        TpStatus st = task_parse_arg(&task, ac, av, &i, &matched);
        if (st != TP_OK) return st;
        if (!matched) return err_set(TP_EINVAL, "'%s' is not a task option (topiary help train lists them)", av[at]);
        if (i == at) i++;
    }
    return TP_OK;
}

/* Parse one line into l; TP_EFORMAT with "FILE:LINE: ..." on a bad one. */
static TpStatus take_line(Lesson *l, const char *path, long ln, const char *line, int *blank_pending)
{
#define BAD(...) err_set(TP_EFORMAT, "%s:%ld: " __VA_ARGS__)
    if (line[0] == '#') return TP_OK;
    size_t fw = field_word(line);
    if (!fw) { /* text */
        const char *t = line;
        while (*t == ' ' || *t == '\t') t++;
        if (!*t) {
            *blank_pending = 1;
            return TP_OK;
        }
        if (l->n_steps || l->exercise[0]) return BAD("text after the steps: put the text before the first step:", path, ln);
        if (!append(l->text, sizeof l->text, *blank_pending ? "\n\n" : " ", t))
            return BAD("the text is longer than %zu bytes", path, ln, sizeof l->text - 1);
        *blank_pending = 0;
        return TP_OK;
    }
    char key[16];
    snprintf(key, sizeof key, "%.*s", (int)(fw < 15 ? fw : 15), line);
    const char *val = line + fw + 1;
    while (*val == ' ') val++;
    size_t k = 0;
    for (; k < N_FIELDS && strcmp(key, FIELDS[k]); k++) {}
    if (k == N_FIELDS) {
        SpellGuess g = SPELL_GUESS_INIT;
        for (size_t i = 0; i < N_FIELDS; i++) spell_consider(&g, key, FIELDS[i]);
        if (g.best) return BAD("unknown field '%s:' (did you mean '%s:'?)", path, ln, key, g.best);
        return BAD("unknown field '%s:' (fields: title, task, terms, step, look, exercise, check)", path, ln, key);
    }
    if (!*val) return BAD("%s: is empty", path, ln, key);
    char *dst = NULL;
    size_t cap = 0;
    if (!strcmp(key, "title") || !strcmp(key, "task") || !strcmp(key, "terms")) {
        dst = !strcmp(key, "title") ? l->title : !strcmp(key, "task") ? l->task : l->terms;
        cap = !strcmp(key, "title") ? sizeof l->title : !strcmp(key, "task") ? sizeof l->task : sizeof l->terms;
        if (dst[0]) return BAD("%s: given twice", path, ln, key);
    } else if (!strcmp(key, "step")) {
        if (l->exercise[0] || l->n_checks) return BAD("step: after the exercise", path, ln);
        if (l->n_steps == LESSON_MAX_STEPS) return BAD("more than %d steps", path, ln, LESSON_MAX_STEPS);
        Command c;
        if (command_parse(val, &c) != TP_OK) return err_wrap(TP_EFORMAT, "%s:%ld: step: ", path, ln);
        if (c.empty) return BAD("step: no command", path, ln);
        LessonStep *s = &l->steps[l->n_steps++];
        s->line = (int)ln;
        dst = s->command, cap = sizeof s->command;
    } else if (!strcmp(key, "look")) {
        if (!l->n_steps) return BAD("look: before the first step (it says what to look at after a step)", path, ln);
        dst = l->steps[l->n_steps - 1].look, cap = sizeof l->steps[0].look;
        if (!append(dst, cap, " ", val)) return BAD("look: too long", path, ln);
        return TP_OK;
    } else if (!strcmp(key, "exercise")) {
        if (!append(l->exercise, sizeof l->exercise, " ", val)) return BAD("exercise: too long", path, ln);
        return TP_OK;
    } else { /* check */
        if (l->n_checks == LESSON_MAX_CHECKS) return BAD("more than %d checks", path, ln, LESSON_MAX_CHECKS);
        if (lesson_check_compile(val) != TP_OK) return err_wrap(TP_EFORMAT, "%s:%ld: check: ", path, ln);
        dst = l->checks[l->n_checks++], cap = sizeof l->checks[0];
    }
    if (strlen(val) >= cap) return BAD("%s: longer than %zu characters", path, ln, key, cap - 1);
    if (!strcmp(key, "task") && check_task(val) != TP_OK) return err_wrap(TP_EFORMAT, "%s:%ld: task: ", path, ln);
    snprintf(dst, cap, "%s", val);
    return TP_OK;
#undef BAD
}

TpStatus lesson_read(Lesson *l, const char *path)
{
    memset(l, 0, sizeof *l);
    const char *base = path_basename(path);
    size_t blen = strlen(base);
    if (blen <= 7 || strcmp(base + blen - 7, ".lesson") || blen - 7 >= sizeof l->id)
        return err_set(TP_EINVAL, "%s: a lesson file is named ID.lesson (ID under %zu characters)", path, sizeof l->id);
    snprintf(l->id, sizeof l->id, "%.*s", (int)(blen - 7), base);
    snprintf(l->path, sizeof l->path, "%.1023s", path);
    FILE *f;
    TpStatus st = fsutil_fopen_regular(path, &f);
    if (st != TP_OK) return st;
    LineReader lr;
    lines_init(&lr, f, l->path, LESSON_LINE_MAX);
    const char *line;
    size_t len;
    int blank = 0;
    while ((st = lines_next(&lr, &line, &len)) == TP_OK && line)
        if ((st = take_line(l, l->path, lr.line, line, &blank)) != TP_OK) break;
    long last = lr.line;
    lines_free(&lr);
    fclose(f);
    if (st != TP_OK) return st;
    if (!l->title[0]) return err_set(TP_EFORMAT, "%s:%ld: no title: line", path, last);
    if (!l->n_steps) return err_set(TP_EFORMAT, "%s:%ld: no step: line", path, last);
    if (!l->exercise[0]) return err_set(TP_EFORMAT, "%s:%ld: no exercise: line", path, last);
    if (!l->n_checks) return err_set(TP_EFORMAT, "%s:%ld: no check: line (the exercise needs one)", path, last);
    return TP_OK;
}

/* ==== catalog =================================================================================== */

static int by_id(const void *a, const void *b) { return strcmp(((const Lesson *)a)->id, ((const Lesson *)b)->id); }

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Add the lessons of dir (a missing directory adds nothing). */
static TpStatus load_dir(LessonCatalog *c, const char *dir, int *cap)
{
    DIR *d = opendir(dir);
    if (!d) return TP_OK;
    char *names[LESSON_MAX_FILES];
    int n = 0;
    struct dirent *e;
    TpStatus st = TP_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 7 || strcmp(e->d_name + len - 7, ".lesson") || e->d_name[0] == '.') continue;
        if (n == LESSON_MAX_FILES) {
            st = err_set(TP_ERANGE, "%s: more than %d lessons", dir, LESSON_MAX_FILES);
            break;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = err_set(TP_ENOMEM, "lessons: out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], name_cmp);
    for (int i = 0; i < n && st == TP_OK; i++) {
        char path[1200];
        Lesson *l;
        if ((st = path_join(path, sizeof path, dir, names[i])) != TP_OK) break;
        if (c->n == *cap) {
            int nc = *cap ? 2 * *cap : 16;
            Lesson *nl = realloc(c->l, (size_t)nc * sizeof *nl);
            if (!nl) {
                st = err_set(TP_ENOMEM, "lessons: out of memory");
                break;
            }
            c->l = nl, *cap = nc;
        }
        l = &c->l[c->n];
        if ((st = lesson_read(l, path)) != TP_OK) break;
        int j = 0;
        while (j < c->n && strcmp(c->l[j].id, l->id)) j++;
        if (j < c->n) c->l[j] = *l; /* a later directory replaces the lesson */
        else c->n++;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    return st;
}

TpStatus lesson_catalog_load(LessonCatalog *c)
{
    memset(c, 0, sizeof *c);
    char dirs[LESSON_MAX_DIRS][1024];
    int nd = lesson_dirs(dirs), cap = 0;
    for (int i = 0; i < nd; i++) {
        TpStatus st = load_dir(c, dirs[i], &cap);
        if (st != TP_OK) {
            lesson_catalog_free(c);
            return st;
        }
    }
    if (!c->n) return err_set(TP_ENOENT, "no lessons found (looked in %s; set TOPIARY_LESSONS or pass --lessons DIR)", dirs[0]);
    qsort(c->l, (size_t)c->n, sizeof c->l[0], by_id);
    return TP_OK;
}

void lesson_catalog_free(LessonCatalog *c)
{
    free(c->l);
    c->l = NULL;
    c->n = 0;
}

/* "02-pruning" -> number 2 and name "pruning" (number -1 when the id has no leading digits). */
static const char *id_name(const char *id, int *number)
{
    char *end;
    long v = strtol(id, &end, 10);
    *number = end != id ? (int)v : -1;
    return end != id && *end == '-' ? end + 1 : id;
}

TpStatus lesson_find(const LessonCatalog *c, const char *name, const Lesson **out)
{
    *out = NULL;
    char *end;
    long want = strtol(name, &end, 10);
    int numeric = end != name && !*end;
    for (int i = 0; i < c->n; i++) {
        int num;
        const char *nm = id_name(c->l[i].id, &num);
        if (!strcmp(c->l[i].id, name) || !strcmp(nm, name) || (numeric && num == want)) {
            *out = &c->l[i];
            return TP_OK;
        }
    }
    SpellGuess g = SPELL_GUESS_INIT;
    for (int i = 0; i < c->n; i++) {
        int num;
        spell_consider(&g, name, c->l[i].id);
        spell_consider(&g, name, id_name(c->l[i].id, &num));
    }
    if (g.best) return err_set(TP_ENOENT, "no lesson '%s' (did you mean '%s'?)", name, g.best);
    return err_set(TP_ENOENT, "no lesson '%s' (`learn` lists them)", name);
}
