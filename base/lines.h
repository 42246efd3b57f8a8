/* base/lines: reading a text file line by line, whole lines of any length, with bad bytes refused.
 *
 * Scripts and journals are read through this: a line is never split (fgets with a fixed buffer ran the
 * tail of a long comment as a command), and a NUL or a carriage return inside a line is an error naming
 * the line and column (a NUL used to end the line early, so `prune ratio=0.5\r dry=1` pruned for real).
 * Memory is bounded by 'max_len', a line longer than that is refused rather than read. */
#ifndef TP_LINES_H
#define TP_LINES_H

#include <stddef.h>
#include <stdio.h>

#include "base/status.h"

typedef struct {
    FILE *f;
    const char *name;     /* for messages: "script.tp:12:7: ..." */
    size_t max_len;
    char *buf;
    size_t cap;
    long line;            /* number of the line last returned (1-based) */
    int ended_with_newline;  /* the line last returned ended with '\n' (0: the file ended first) */
} LineReader;

/* Read lines of 'f' (not closed by the reader); 'name' must outlive the reader. */
void lines_init(LineReader *r, FILE *f, const char *name, size_t max_len);

/* The next line, without its '\n', NUL-terminated, in *line (valid until the next call); *len its
 * length.  At end of file *line is NULL and TP_OK is returned.  Errors (TP_EFORMAT with
 * "NAME:LINE:COLUMN: ..."): a NUL byte, a carriage return, a line over max_len bytes; TP_EIO on a read
 * error; TP_ENOMEM. */
TpStatus lines_next(LineReader *r, const char **line, size_t *len);

void lines_free(LineReader *r);

#endif
