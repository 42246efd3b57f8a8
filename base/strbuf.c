/* base/strbuf: see strbuf.h. */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `more` bytes and a NUL after the current text; 0 (and s->oom) when it cannot be had. */
static int reserve(StrBuf *s, size_t more)
{
    if (s->oom) return 0;
    if (more > (size_t)-1 - s->len - 1) {
        s->oom = 1;
        return 0;
    }
    size_t need = s->len + more + 1;
    if (need <= s->cap) return 1;
    size_t ncap = s->cap ? s->cap : 256;
    while (ncap < need) ncap = ncap > (size_t)-1 / 2 ? need : ncap * 2;
    char *np = realloc(s->p, ncap);
    if (!np) {
        s->oom = 1;
        return 0;
    }
    s->p = np;
    s->cap = ncap;
    return 1;
}

void strbuf_add(StrBuf *s, const void *data, size_t n)
{
    if (!reserve(s, n)) return;
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
}

void strbuf_puts(StrBuf *s, const char *str) { strbuf_add(s, str, strlen(str)); }

void strbuf_printf(StrBuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (w < 0) {
        s->oom = 1;
        return;
    }
    if (!reserve(s, (size_t)w)) return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)w + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)w;
}

void strbuf_json_string(StrBuf *s, const char *str)
{
    strbuf_add(s, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            strbuf_add(s, e, 2);
        } else if (*c < 0x20) {
            strbuf_printf(s, "\\u%04x", *c);
        } else {
            strbuf_add(s, c, 1);
        }
    }
    strbuf_add(s, "\"", 1);
}

void strbuf_free(StrBuf *s)
{
    free(s->p);
    *s = (StrBuf){0};
}
