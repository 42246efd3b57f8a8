/* plots/tsv: a tiny reader of tab-separated tables with a header line (DESIGN 2.3: metrics.tsv,
 * latency.tsv): column names -> columns of doubles.
 *
 * Rules: the first line names the columns (tab-separated, unique, non-empty).  Every other line must
 * have exactly as many fields; fields are parsed with strtod ("NaN", "inf" accepted; an empty field
 * is NaN).  The caller names the columns that must hold numbers (numeric, or NULL: all of them); the
 * other columns may hold any text: their fields are also kept as strings, and their doubles are the
 * parsed number or NaN (a reader of a format that grows columns names only the ones it needs).
 * A last line without its '\n' is a torn append (a crash while writing): it is ignored and `torn` is
 * set.  Empty lines are skipped; "\r\n" is accepted.
 * Anything else -- a wrong field count, a non-number in a numeric column -- refuses the file with
 * TP_EFORMAT and a message naming the file, the line number and the column.
 */
#ifndef TP_TSV_H
#define TP_TSV_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    int n_cols;
    size_t n_rows;
    char **names;     /* [n_cols]                                     */
    double **cols;    /* [n_cols][n_rows]                             */
    char ***text;     /* [n_cols] -> [n_rows] strings, or NULL for numeric columns */
    int torn;         /* the torn last line was ignored               */
} Tsv;

/* Parse n bytes of text; `what` names the source in messages.  numeric: NULL-terminated list of the
 * column names that must hold numbers (a listed name missing from the header is not an error), or
 * NULL for all columns. */
TpStatus tsv_parse(Tsv *t, const char *data, size_t n, const char *what, const char *const *numeric);
/* Read a file (at most 256 MB) and parse it; a missing file is TP_ENOENT. */
TpStatus tsv_read(Tsv *t, const char *path, const char *const *numeric);
/* Index of a column, or -1. */
int tsv_find(const Tsv *t, const char *name);
/* Values of a column, or NULL when there is no such column. */
const double *tsv_col(const Tsv *t, const char *name);
/* Strings of a text column, or NULL. */
char *const *tsv_text(const Tsv *t, const char *name);
void tsv_free(Tsv *t);

#endif
