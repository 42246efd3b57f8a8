/* sessions/glossary: see glossary.h. */
#include "sessions/glossary.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/lines.h"
#include "base/paths.h"
#include "base/spell.h"
#include "sessions/lesson.h"

void glossary_normalize(char *out, size_t n, const char *term)
{
    size_t j = 0;
    while (*term == ' ') term++;
    for (; *term && j + 1 < n; term++) {
        unsigned char ch = (unsigned char)*term;
        char c = ch == ' ' || ch == '_' ? '-' : (char)tolower(ch);
        if (c == '-' && j && out[j - 1] == '-') continue;
        out[j++] = c;
    }
    while (j && out[j - 1] == '-') j--;
    out[j] = '\0';
}

static int by_term(const void *a, const void *b)
{
    return strcmp(((const GlossaryEntry *)a)->term, ((const GlossaryEntry *)b)->term);
}

static TpStatus add_entry(Glossary *g, int *cap, const GlossaryEntry *e)
{
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->e[i].term, e->term)) return g->e[i] = *e, TP_OK;
    if (g->n == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        GlossaryEntry *ne = realloc(g->e, (size_t)nc * sizeof *ne);
        if (!ne) return err_set(TP_ENOMEM, "glossary: out of memory");
        g->e = ne, *cap = nc;
    }
    g->e[g->n++] = *e;
    return TP_OK;
}

/* cap: g's capacity as far as known (g->n at the start: a realloc to more is always safe). */
static TpStatus read_file(Glossary *g, const char *path, int *cap)
{
    FILE *f;
    TpStatus st = fsutil_fopen_regular(path, &f);
    if (st != TP_OK) return st;
    LineReader lr;
    lines_init(&lr, f, path, 4096);
    const char *line;
    size_t len;
    GlossaryEntry e;
    int open = 0, ended = 0;
#define BAD(...) (st = err_set(TP_EFORMAT, "%s:%ld: " __VA_ARGS__))
    while ((st = lines_next(&lr, &line, &len)) == TP_OK && line) {
        long ln = lr.line;
        if (line[0] == '#') continue;
        if (!strncmp(line, "term:", 5)) {
            if (open && !e.text[0]) { BAD("%s has no definition", path, ln - 1, e.term); break; }
            if (open && (st = add_entry(g, cap, &e)) != TP_OK) break;
            memset(&e, 0, sizeof e);
            open = 1, ended = 0;
            char norm[64];
            glossary_normalize(norm, sizeof norm, line + 5);
            if (!norm[0]) { BAD("term: is empty", path, ln); break; }
            if (strlen(norm) >= sizeof e.term) { BAD("term '%s' is longer than %zu characters", path, ln, norm, sizeof e.term - 1); break; }
            snprintf(e.term, sizeof e.term, "%s", norm);
            continue;
        }
        const char *t = line;
        while (*t == ' ') t++;
        if (!*t) {
            if (open && e.text[0]) ended = 1;
            continue;
        }
        if (!open) { BAD("text before the first term: line", path, ln); break; }
        if (!strncmp(line, "also:", 5) || !strncmp(line, "see:", 4)) {
            char *dst = line[0] == 'a' ? e.also : e.see;
            const char *v = line + (line[0] == 'a' ? 5 : 4);
            while (*v == ' ') v++;
            if (dst[0] || e.text[0]) { BAD("%.4s: given twice or after the definition", path, ln, line); break; }
            if (strlen(v) >= sizeof e.also) { BAD("%.4s: too long", path, ln, line); break; }
            snprintf(dst, sizeof e.also, "%s", v);
            continue;
        }
        if (ended) { BAD("text after the end of '%s' (a blank line ends an entry; start the next with term:)", path, ln, e.term); break; }
        size_t used = strlen(e.text);
        if (used + strlen(t) + 2 >= sizeof e.text) { BAD("the definition of '%s' is too long", path, ln, e.term); break; }
        snprintf(e.text + used, sizeof e.text - used, "%s%s", used ? " " : "", t);
    }
    if (st == TP_OK && open) {
        if (!e.text[0]) BAD("%s has no definition", path, lr.line, e.term);
        else st = add_entry(g, cap, &e);
    }
#undef BAD
    lines_free(&lr);
    fclose(f);
    return st;
}

TpStatus glossary_read(Glossary *g, const char *path)
{
    int cap = g->n;
    TpStatus st = read_file(g, path, &cap);
    if (st == TP_OK) qsort(g->e, (size_t)g->n, sizeof g->e[0], by_term);
    return st;
}

/* Every term named by a see: must exist. */
static TpStatus check_links(const Glossary *g)
{
    for (int i = 0; i < g->n; i++) {
        const char *p = g->e[i].see;
        while (*p) {
            char one[64], norm[64];
            size_t len = strcspn(p, ",");
            snprintf(one, sizeof one, "%.*s", (int)(len < 63 ? len : 63), p);
            glossary_normalize(norm, sizeof norm, one);
            if (norm[0] && !glossary_find(g, norm))
                return err_set(TP_EFORMAT, "glossary: '%s' says see: %s, which is no term", g->e[i].term, norm);
            p += len + (p[len] == ',');
        }
    }
    return TP_OK;
}

TpStatus glossary_load(Glossary *g)
{
    memset(g, 0, sizeof *g);
    char dirs[LESSON_MAX_DIRS][1024];
    int nd = lesson_dirs(dirs);
    for (int i = 0; i < nd; i++) {
        char path[1200];
        TpStatus st = path_join(path, sizeof path, dirs[i], "glossary.txt");
        if (st == TP_OK) {
            FILE *probe = fopen(path, "r");
            if (!probe) continue; /* a directory without a glossary */
            fclose(probe);
            st = glossary_read(g, path);
        }
        if (st != TP_OK) {
            glossary_free(g);
            return st;
        }
    }
    if (!g->n) return err_set(TP_ENOENT, "no glossary found (looked for %s/glossary.txt)", dirs[0]);
    TpStatus st = check_links(g);
    if (st != TP_OK) glossary_free(g);
    return st;
}

void glossary_free(Glossary *g)
{
    free(g->e);
    g->e = NULL;
    g->n = 0;
}

/* 1 if norm is one of the comma-separated names of list (normalized). */
static int in_list(const char *list, const char *norm)
{
    for (const char *p = list; *p;) {
        char one[64], n2[64];
        size_t len = strcspn(p, ",");
        snprintf(one, sizeof one, "%.*s", (int)(len < 63 ? len : 63), p);
        glossary_normalize(n2, sizeof n2, one);
        if (!strcmp(n2, norm)) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

const GlossaryEntry *glossary_find(const Glossary *g, const char *term)
{
    char norm[64];
    glossary_normalize(norm, sizeof norm, term);
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->e[i].term, norm)) return &g->e[i];
    for (int i = 0; i < g->n; i++)
        if (in_list(g->e[i].also, norm)) return &g->e[i];
    return NULL;
}

const char *glossary_suggest(const Glossary *g, const char *term)
{
    char norm[64];
    glossary_normalize(norm, sizeof norm, term);
    if (!norm[0]) return NULL;
    for (int i = 0; i < g->n; i++) /* "hysteresis" -> "hysteresis-point" */
        if (strstr(g->e[i].term, norm) && strlen(norm) >= 3) return g->e[i].term;
    /* within a few edits of a term, of one of its other names, or of its first word */
    const char *best = NULL;
    int limit = (int)strlen(norm) / 4 + 1; /* "zzz" is near nothing */
    int best_d = (limit < SPELL_MAX_EDITS ? limit : SPELL_MAX_EDITS) + 1;
    for (int i = 0; i < g->n; i++) {
        char first[GLOSSARY_TERM_MAX];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(g->e[i].term, "-"), g->e[i].term);
        int d = spell_distance(norm, g->e[i].term), d2 = spell_distance(norm, first);
        if (d2 < d) d = d2;
        for (const char *p = g->e[i].also; *p;) {
            char one[64], n2[64];
            size_t len = strcspn(p, ",");
            snprintf(one, sizeof one, "%.*s", (int)(len < 63 ? len : 63), p);
            glossary_normalize(n2, sizeof n2, one);
            if ((d2 = spell_distance(norm, n2)) < d) d = d2;
            p += len + (p[len] == ',');
        }
        if (d < best_d) best = g->e[i].term, best_d = d;
    }
    return best;
}

void glossary_format(const GlossaryEntry *e, int width, char *out, size_t n)
{
    if (width < 20) width = 20;
    size_t used = 0;
#define ADD(...)                                                                           \
    do {                                                                                   \
        int w_ = snprintf(out + used, n - used, __VA_ARGS__);                              \
        if (w_ > 0) used = (size_t)w_ < n - used ? used + (size_t)w_ : n - 1;              \
    } while (0)
    out[0] = '\0';
    ADD("%s%s%s%s\n", e->term, e->also[0] ? " (also: " : "", e->also, e->also[0] ? ")" : "");
    /* the definition wrapped at width, indented by two */
    const char *p = e->text;
    while (*p) {
        int take = (int)strlen(p);
        if (take > width - 2) {
            take = width - 2;
            while (take > 0 && p[take] != ' ') take--;
            if (!take) take = width - 2;
        }
        ADD("  %.*s\n", take, p);
        p += take;
        while (*p == ' ') p++;
    }
    if (e->see[0]) ADD("  see: %s\n", e->see);
#undef ADD
}
