/* sessions/lesson_check: see lesson_check.h.  A recursive-descent evaluator over the text (checks are
 * one line each and evaluated on demand, so there is no compiled form to keep); with no session it
 * only checks syntax and names. */
#include "sessions/lesson_check.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "engine/mask.h"

/* ==== quantities ================================================================================ */

static const char *const REF_NAMES[] = {"valid_ppl", "step", "epoch", "sparsity", "nnz", "layers", "tau"};

int lesson_refs_set(LessonRefs *r, const char *name, double v)
{
    if (strlen(name) >= sizeof r->name[0]) return 0;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->name[i], name)) return r->value[i] = v, 1;
    if (r->n == LESSON_REF_MAX) return 0;
    snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
    r->value[r->n++] = v;
    return 1;
}

int lesson_refs_get(const LessonRefs *r, const char *name, double *v)
{
    for (int i = 0; r && i < r->n; i++)
        if (!strcmp(r->name[i], name)) return *v = r->value[i], 1;
    return 0;
}

/* Over the weight matrices matching globs ("" = all): what = 0 sparsity, 1 density, 2 nnz, 3 row
 * balanced, 4 block-structured.  NaN when nothing matches. */
static double over_weights(const Session *s, const char *globs, int what)
{
    const Model *m = &s->model;
    double n = 0, nnz = 0, all = 1;
    int matched = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        if (p->kind != PARAM_WEIGHT) continue;
        int hit = !globs[0];
        for (const char *g = globs; *g && !hit;) {
            char one[64];
            size_t len = strcspn(g, ",");
            snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), g);
            hit = mask_glob_match(one, p->name);
            g += len + (g[len] == ',');
        }
        if (!hit) continue;
        matched++;
        MaskTensorStats ts;
        mask_tensor_stats(m, &ts, i);
        n += (double)p->n;
        nnz += (double)ts.nnz;
        int R, C;
        if (what == 3 && ts.row_nnz_min != ts.row_nnz_max) all = 0;
        if (what == 4 && !mask_tensor_block_shape(m, i, &R, &C)) all = 0;
    }
    if (!matched) return NAN;
    switch (what) {
    case 0: return 1.0 - nnz / n;
    case 1: return nnz / n;
    case 2: return floor(nnz + 0.5);
    default: return all;
    }
}

static double latency_rows(const Session *s)
{
    char path[4200];
    void *data = NULL;
    size_t n = 0;
    if (path_join(path, sizeof path, s->dir, "latency.tsv") != TP_OK) return 0;
    if (fsutil_read_file(path, 64u << 20, &data, &n) != TP_OK) return 0; /* none yet */
    double rows = 0;
    for (size_t i = 0; i < n; i++)
        if (((char *)data)[i] == '\n') rows++;
    free(data);
    return rows > 0 ? rows - 1 : 0; /* the header */
}

/* The last row's value of a metrics.tsv column (NaN: no file, no such column, no row). */
static double last_metric(const Session *s, const char *column)
{
    char path[4200];
    void *data = NULL;
    size_t n = 0;
    if (path_join(path, sizeof path, s->dir, "metrics.tsv") != TP_OK) return NAN;
    if (fsutil_read_file(path, 256u << 20, &data, &n) != TP_OK) return NAN;
    char *text = data, *nl = strchr(text, '\n');
    int col = -1, i = 0;
    if (nl) *nl = '\0';
    for (char *f = text; f && col < 0; i++) {
        size_t len = strcspn(f, "\t");
        if (len == strlen(column) && !strncmp(f, column, len)) col = i;
        f = f[len] ? f + len + 1 : NULL;
    }
    double v = NAN;
    /* the last complete line */
    char *end = text + n;
    while (col >= 0 && nl && end > nl + 1 && end[-1] == '\n') end--;
    char *line = end;
    while (col >= 0 && nl && line > nl + 1 && line[-1] != '\n') line--;
    if (col >= 0 && nl && line > nl) {
        *end = '\0';
        for (i = 0; i < col && line; i++) {
            line = strchr(line, '\t');
            if (line) line++;
        }
        if (line) v = strtod(line, NULL);
    }
    free(data);
    return v;
}

/* One quantity of s (arg: the text in parentheses, or NULL).  *known = 0 for an unknown name. */
static double quantity(const Session *s, const LessonRefs *refs, const char *name, const char *arg, int *known)
{
    *known = 1;
    const Model *m = &s->model;
    static const char *const GLOB_FN[] = {"sparsity", "density", "nnz", "row_balanced", "block"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, GLOB_FN[i])) return over_weights(s, arg ? arg : "", i);
    if (!strcmp(name, "hidden")) {
        int l = arg ? atoi(arg) : 0;
        return l >= 0 && l < m->cfg.n_layers ? m->cfg.hidden[l] : NAN;
    }
    if (arg) return *known = 0, NAN;
    if (!strcmp(name, "valid_ppl")) return s->valid_ppl;
    if (!strcmp(name, "step")) return (double)s->trainer.step;
    if (!strcmp(name, "epoch")) return (double)s->trainer.epoch;
    if (!strcmp(name, "layers")) return m->cfg.n_layers;
    if (!strcmp(name, "tau")) return m->cfg.state_tau;
    if (!strcmp(name, "state_sparsity")) /* since the last metrics row, else that row's */
        return m->state_n > 0 ? m->state_zero / m->state_n : last_metric(s, "state_sparsity");
    if (!strcmp(name, "hlstm")) return m->cfg.cell == MODEL_CELL_HLSTM;
    if (!strcmp(name, "schedule")) return (double)s->gp.sched.cfg.kind;
    if (!strcmp(name, "profiled")) return latency_rows(s);
    if (!strncmp(name, "baseline_", 9)) {
        double v;
        return lesson_refs_get(refs, name + 9, &v) ? v : NAN;
    }
    return *known = 0, NAN;
}

void lesson_refs_take(LessonRefs *r, const Session *s)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < sizeof REF_NAMES / sizeof REF_NAMES[0]; i++) {
        int known;
        lesson_refs_set(r, REF_NAMES[i], quantity(s, NULL, REF_NAMES[i], NULL, &known));
    }
    for (int l = 0; l < s->model.cfg.n_layers; l++) {
        char name[16];
        snprintf(name, sizeof name, "hidden%d", l);
        lesson_refs_set(r, name, s->model.cfg.hidden[l]);
    }
}

/* A name is known without a session (compile): the names above, baseline_ of a recorded one. */
static int name_known(const char *name, int has_arg)
{
    static const char *const WITH_ARG[] = {"sparsity", "density", "nnz", "row_balanced", "block", "hidden"};
    static const char *const PLAIN[] = {"valid_ppl", "step", "epoch", "layers", "tau", "state_sparsity",
                                        "hlstm", "schedule", "profiled", "sparsity", "density", "nnz"};
    for (size_t i = 0; i < sizeof WITH_ARG / sizeof WITH_ARG[0]; i++)
        if (has_arg && !strcmp(name, WITH_ARG[i])) return 1;
    for (size_t i = 0; i < sizeof PLAIN / sizeof PLAIN[0]; i++)
        if (!has_arg && !strcmp(name, PLAIN[i])) return 1;
    if (!has_arg && !strncmp(name, "baseline_", 9)) {
        const char *b = name + 9;
        for (size_t i = 0; i < sizeof REF_NAMES / sizeof REF_NAMES[0]; i++)
            if (!strcmp(b, REF_NAMES[i])) return 1;
        if (!strncmp(b, "hidden", 6) && b[6] >= '0' && b[6] <= '7' && !b[7]) return 1;
    }
    return 0;
}

/* ==== parser and evaluator ====================================================================== */

typedef struct {
    const char *src, *p;
    const Session *s;          /* NULL: compile only */
    const LessonRefs *refs;
    char *values;
    size_t n;
    TpStatus st;
} Ev;

static double fail(Ev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double fail(Ev *e, const char *fmt, ...)
{
    if (e->st != TP_OK) return NAN;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->st = err_set(TP_EINVAL, "column %d: %s", (int)(e->p - e->src) + 1, msg);
    return NAN;
}

static void skip(Ev *e)
{
    while (*e->p == ' ' || *e->p == '\t') e->p++;
}

static int eat(Ev *e, const char *tok)
{
    skip(e);
    size_t n = strlen(tok);
    if (strncmp(e->p, tok, n)) return 0;
    if (isalpha((unsigned char)tok[0]) && (isalnum((unsigned char)e->p[n]) || e->p[n] == '_')) return 0;
    e->p += n;
    return 1;
}

static void note_value(Ev *e, const char *name, const char *arg, double v)
{
    if (!e->values || !e->s) return;
    char one[200];
    if (arg) snprintf(one, sizeof one, "%.39s(%.127s) = %.4g", name, arg, v);
    else snprintf(one, sizeof one, "%s = %.4g", name, v);
    if (strstr(e->values, one)) return;
    size_t used = strlen(e->values);
    snprintf(e->values + used, e->n - used, "%s%s", used ? ", " : "", one);
}

static double expr_or(Ev *e);

static double atom(Ev *e)
{
    skip(e);
    if (eat(e, "(")) {
        double v = expr_or(e);
        if (!eat(e, ")")) return fail(e, "expected ')'");
        return v;
    }
    if (isdigit((unsigned char)*e->p) || *e->p == '.') {
        char *end;
        double v = strtod(e->p, &end);
        if (end == e->p) return fail(e, "expected a number");
        e->p = end;
        return v;
    }
    if (!isalpha((unsigned char)*e->p)) return fail(e, *e->p ? "unexpected '%c'" : "expression ends early", *e->p);
    char name[40], arg[128];
    size_t n = 0;
    while (isalnum((unsigned char)*e->p) || *e->p == '_')
        if (n + 1 < sizeof name) name[n++] = *e->p++;
        else return fail(e, "name too long");
    name[n] = '\0';
    int has_arg = 0;
    skip(e);
    if (*e->p == '(') {
        const char *close = strchr(e->p, ')');
        if (!close) return fail(e, "%s(: expected ')'", name);
        size_t len = (size_t)(close - e->p - 1);
        if (len >= sizeof arg) return fail(e, "%s(...): argument too long", name);
        memcpy(arg, e->p + 1, len);
        arg[len] = '\0';
        e->p = close + 1;
        has_arg = 1;
    }
    if (!name_known(name, has_arg))
        return fail(e, "unknown quantity '%s%s' (known: %s)", name, has_arg ? "(...)" : "", LESSON_CHECK_NAMES);
    if (!e->s) return 1.0;
    int known;
    double v = quantity(e->s, e->refs, name, has_arg ? arg : NULL, &known);
    note_value(e, name, has_arg ? arg : NULL, v);
    return v;
}

static double unary(Ev *e)
{
    if (eat(e, "-")) return -unary(e);
    return atom(e);
}

static double prod(Ev *e)
{
    double v = unary(e);
    for (;;) {
        if (eat(e, "*")) v *= unary(e);
        else if (eat(e, "/")) v /= unary(e);
        else return v;
    }
}

static double sum(Ev *e)
{
    double v = prod(e);
    for (;;) {
        if (eat(e, "+")) v += prod(e);
        else if (eat(e, "-")) v -= prod(e);
        else return v;
    }
}

static double cmp(Ev *e)
{
    double a = sum(e);
    /* two-character operators first */
    if (eat(e, "<=")) { double b = sum(e); return a <= b; }
    if (eat(e, ">=")) { double b = sum(e); return a >= b; }
    if (eat(e, "==")) { double b = sum(e); return a == b; }
    if (eat(e, "!=")) { double b = sum(e); return !isnan(a) && !isnan(b) && a != b; }
    if (eat(e, "<")) { double b = sum(e); return a < b; }
    if (eat(e, ">")) { double b = sum(e); return a > b; }
    return a;
}

static double expr_not(Ev *e)
{
    if (eat(e, "not")) {
        double v = expr_not(e);
        return !(v != 0 && !isnan(v));
    }
    return cmp(e);
}

static int truth(double v) { return v != 0 && !isnan(v); }

static double expr_and(Ev *e)
{
    double v = expr_not(e);
    while (eat(e, "and")) {
        double w = expr_not(e); /* evaluated either way: every value is reported */
        v = truth(v) && truth(w);
    }
    return v;
}

static double expr_or(Ev *e)
{
    double v = expr_and(e);
    while (eat(e, "or")) {
        double w = expr_and(e);
        v = truth(v) || truth(w);
    }
    return v;
}

static TpStatus run(Ev *e, double *out)
{
    skip(e);
    if (!*e->p) return err_set(TP_EINVAL, "column 1: empty check");
    double v = expr_or(e);
    skip(e);
    if (e->st == TP_OK && *e->p) fail(e, "unexpected '%s'", e->p);
    *out = v;
    return e->st;
}

TpStatus lesson_check_compile(const char *expr)
{
    Ev e = {expr, expr, NULL, NULL, NULL, 0, TP_OK};
    double v;
    return run(&e, &v);
}

TpStatus lesson_check_eval(const char *expr, const Session *s, const LessonRefs *refs, int *pass, char *values, size_t n)
{
    if (values && n) values[0] = '\0';
    Ev e = {expr, expr, s, refs, values, n, TP_OK};
    double v;
    TpStatus st = run(&e, &v);
    *pass = st == TP_OK && truth(v);
    return st;
}
