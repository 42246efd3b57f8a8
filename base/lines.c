/* base/lines: see lines.h. */
#include "base/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lines_init(LineReader *r, FILE *f, const char *name, size_t max_len)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->name = name;
    r->max_len = max_len;
}

TpStatus lines_next(LineReader *r, const char **line, size_t *len)
{
    *line = NULL;
    *len = 0;
    size_t n = 0;
    int c;
    r->line++;
    r->ended_with_newline = 0;
    while ((c = getc(r->f)) != EOF) {
        if (c == '\n') {
            r->ended_with_newline = 1;
            break;
        }
        if (c == '\0')
            return err_set(TP_EFORMAT, "%s:%ld:%zu: NUL byte in the line", r->name, r->line, n + 1);
        if (c == '\r')
            return err_set(TP_EFORMAT, "%s:%ld:%zu: carriage return (\\r) in the line (convert the file to Unix line ends)",
                           r->name, r->line, n + 1);
        if (n >= r->max_len)
            return err_set(TP_EFORMAT, "%s:%ld: line longer than %zu bytes", r->name, r->line, r->max_len);
        if (n + 2 > r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 256;
            char *b = realloc(r->buf, cap);
            if (!b) return err_set(TP_ENOMEM, "%s:%ld: out of memory for a line of %zu bytes", r->name, r->line, cap);
            r->buf = b;
            r->cap = cap;
        }
        r->buf[n++] = (char)c;
    }
    if (c == EOF && ferror(r->f)) return err_set(TP_EIO, "%s:%ld: read: %s", r->name, r->line, strerror(errno));
    if (c == EOF && n == 0) {
        r->line--;
        return TP_OK; /* end of file */
    }
    if (!r->buf) {
        r->buf = malloc(1);
        if (!r->buf) return err_set(TP_ENOMEM, "%s: out of memory", r->name);
        r->cap = 1;
    }
    r->buf[n] = '\0';
    *line = r->buf;
    *len = n;
    return TP_OK;
}

void lines_free(LineReader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}
