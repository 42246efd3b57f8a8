/* plots/tsv: see tsv.h. */
#include "tsv.h"
#include "base/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSV_MAX_BYTES (256u << 20)
#define TSV_MAX_COLS 4096

void tsv_free(Tsv *t)
{
    for (int i = 0; i < t->n_cols; i++) {
        if (t->names) free(t->names[i]);
        if (t->cols) free(t->cols[i]);
        if (t->text && t->text[i]) {
            for (size_t r = 0; r < t->n_rows; r++) free(t->text[i][r]);
            free(t->text[i]);
        }
    }
    free(t->names);
    free(t->cols);
    free(t->text);
    memset(t, 0, sizeof *t);
}

int tsv_find(const Tsv *t, const char *name)
{
    for (int i = 0; i < t->n_cols; i++)
        if (!strcmp(t->names[i], name)) return i;
    return -1;
}

const double *tsv_col(const Tsv *t, const char *name)
{
    int i = tsv_find(t, name);
    return i < 0 ? NULL : t->cols[i];
}

char *const *tsv_text(const Tsv *t, const char *name)
{
    int i = tsv_find(t, name);
    return i < 0 ? NULL : t->text[i];
}

static int listed(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (!strcmp(*list, name)) return 1;
    return 0;
}

/* Line [p, e) split at tabs into at most max fields; returns the field count (max + 1 = too many). */
static int split(const char *p, const char *e, const char **fs, size_t *fl, int max)
{
    int k = 0;
    for (;;) {
        const char *q = memchr(p, '\t', (size_t)(e - p));
        if (!q) q = e;
        if (k == max) return max + 1;
        fs[k] = p;
        fl[k++] = (size_t)(q - p);
        if (q == e) return k;
        p = q + 1;
    }
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Grow every column to hold cap rows. */
static TpStatus reserve(Tsv *t, size_t cap)
{
    for (int i = 0; i < t->n_cols; i++) {
        double *c = realloc(t->cols[i], cap * sizeof *c);
        if (!c) return err_set(TP_ENOMEM, "tsv: out of memory");
        t->cols[i] = c;
        if (t->text[i]) {
            char **s = realloc(t->text[i], cap * sizeof *s);
            if (!s) return err_set(TP_ENOMEM, "tsv: out of memory");
            t->text[i] = s;
        }
    }
    return TP_OK;
}

TpStatus tsv_parse(Tsv *t, const char *data, size_t n, const char *what, const char *const *numeric)
{
    memset(t, 0, sizeof *t);
    const char *p = data, *end = data + n;
    const char *fs[TSV_MAX_COLS];
    size_t fl[TSV_MAX_COLS], cap = 0;
    TpStatus st = TP_OK;
    long lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        lineno++;
        if (!nl && t->names) { /* torn append: ignore */
            t->torn = 1;
            break;
        }
        const char *next = nl ? nl + 1 : end;
        if (e > p && e[-1] == '\r') e--;
        if (e == p) {
            if (!t->names) return err_set(TP_EFORMAT, "%s: line 1: empty header line", what);
            p = next;
            continue;
        }
        int k = split(p, e, fs, fl, TSV_MAX_COLS);
        if (!t->names) { /* header */
            if (k > TSV_MAX_COLS) return err_set(TP_EFORMAT, "%s: line 1: more than %d columns", what, TSV_MAX_COLS);
            t->names = calloc((size_t)k, sizeof *t->names);
            t->cols = calloc((size_t)k, sizeof *t->cols);
            t->text = calloc((size_t)k, sizeof *t->text);
            if (!t->names || !t->cols || !t->text) {
                st = err_set(TP_ENOMEM, "tsv: out of memory");
                goto fail;
            }
            t->n_cols = k;
            for (int i = 0; i < k; i++) {
                if (!(t->names[i] = dup_n(fs[i], fl[i]))) {
                    st = err_set(TP_ENOMEM, "tsv: out of memory");
                    goto fail;
                }
                if (!fl[i]) {
                    st = err_set(TP_EFORMAT, "%s: line 1: column %d has an empty name", what, i + 1);
                    goto fail;
                }
                for (int j = 0; j < i; j++)
                    if (!strcmp(t->names[i], t->names[j])) {
                        st = err_set(TP_EFORMAT, "%s: line 1: column '%s' appears twice", what, t->names[i]);
                        goto fail;
                    }
            }
            for (int i = 0; i < k; i++)
                if (numeric && !listed(t->names[i], numeric) && !(t->text[i] = malloc(sizeof(char *)))) {
                    st = err_set(TP_ENOMEM, "tsv: out of memory");
                    goto fail;
                }
            p = next;
            continue;
        }
        if (k != t->n_cols) {
            if (k > t->n_cols)
                st = err_set(TP_EFORMAT, "%s: line %ld: more than %d fields (the header has %d)", what, lineno,
                             t->n_cols, t->n_cols);
            else
                st = err_set(TP_EFORMAT, "%s: line %ld: %d field(s), expected %d (as in the header)", what, lineno, k,
                             t->n_cols);
            goto fail;
        }
        if (t->n_rows == cap) {
            cap = cap ? cap * 2 : 64;
            if ((st = reserve(t, cap)) != TP_OK) goto fail;
        }
        size_t r = t->n_rows;
        for (int i = 0; i < k; i++) {
            char buf[128], *q;
            double v = NAN;
            int ok = fl[i] == 0;
            if (fl[i] > 0 && fl[i] < sizeof buf) {
                memcpy(buf, fs[i], fl[i]);
                buf[fl[i]] = '\0';
                errno = 0;
                v = strtod(buf, &q);
                ok = q != buf && *q == '\0';
                if (!ok) v = NAN;
            }
            if (t->text[i]) {
                if (!(t->text[i][r] = dup_n(fs[i], fl[i]))) {
                    for (int j = 0; j < i; j++)
                        if (t->text[j]) free(t->text[j][r]);
                    st = err_set(TP_ENOMEM, "tsv: out of memory");
                    goto fail;
                }
            } else if (!ok) {
                for (int j = 0; j < i; j++)
                    if (t->text[j]) free(t->text[j][r]);
                st = err_set(TP_EFORMAT, "%s: line %ld: column '%s': expected a number, got '%.*s'", what, lineno,
                             t->names[i], (int)(fl[i] > 40 ? 40 : fl[i]), fs[i]);
                goto fail;
            }
            t->cols[i][r] = v;
        }
        t->n_rows++;
        p = next;
    }
    if (!t->names) return err_set(TP_EFORMAT, "%s: empty file (expected a header line)", what);
    return TP_OK;
fail:
    tsv_free(t);
    return st;
}

TpStatus tsv_read(Tsv *t, const char *path, const char *const *numeric)
{
    memset(t, 0, sizeof *t);
    void *buf = NULL;
    size_t n = 0;
    TpStatus st = fsutil_read_file(path, TSV_MAX_BYTES, &buf, &n);
    if (st == TP_ERANGE) st = err_set(TP_ERANGE, "%s: larger than %u MB", path, TSV_MAX_BYTES >> 20);
    if (st == TP_OK) st = tsv_parse(t, buf, n, path, numeric);
    free(buf);
    return st;
}
