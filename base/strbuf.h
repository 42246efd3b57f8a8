/* base/strbuf: a growing, NUL-terminated string in memory (JSON documents, file headers).
 *
 * Start from StrBuf s = {0}.  Appends never fail loudly: the first allocation failure sets s.oom and
 * every later append does nothing, so a builder appends freely and checks s.oom once at the end.
 * After any successful append s.p holds s.len bytes and a NUL after them (the bytes may hold NULs of
 * their own when strbuf_add was given them).  The caller owns s.p: free it, or hand it on. */
#ifndef TP_STRBUF_H
#define TP_STRBUF_H

#include <stddef.h>

typedef struct {
    char *p;        /* the text, NUL-terminated; NULL until the first append */
    size_t len;     /* bytes before the terminating NUL */
    size_t cap;     /* bytes allocated at p */
    int oom;        /* 1 once an allocation failed: the content is incomplete */
} StrBuf;

/* Append n bytes of data (any bytes, NUL included). */
void strbuf_add(StrBuf *s, const void *data, size_t n);
/* Append a C string. */
void strbuf_puts(StrBuf *s, const char *str);
/* Append printf-formatted text, of any length. */
void strbuf_printf(StrBuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append str as a JSON string literal: quotes, backslashes and control bytes escaped (\u00XX);
 * other bytes, UTF-8 included, pass through. */
void strbuf_json_string(StrBuf *s, const char *str);
/* Free the text and reset s to {0}. */
void strbuf_free(StrBuf *s);

#endif
