/* sessions/glossary: short definitions of the terms the screens show (`explain TERM`), one data file
 * (glossary.txt in the lesson directories of sessions/lesson; a later directory's entry with the same
 * term replaces an earlier one).  Format (docs/lessons.md), read with base/lines:
 *     term: hysteresis-point                 the name: lower case, words joined by '-'
 *     also: hysteresis, plateau edge         other names it is found by (comma-separated)
 *     see: latency-profile, resize           related terms (each must be a term of the glossary)
 *     plain lines: the definition; a blank line or the next term: ends the entry
 * A malformed file is refused with "FILE:LINE: ...".  Lookups ignore case and treat spaces and '_'
 * as '-'. */
#ifndef TP_GLOSSARY_H
#define TP_GLOSSARY_H

#include <stddef.h>

#include "base/status.h"

#define GLOSSARY_TERM_MAX 24      /* fits the command language's positional word */

typedef struct {
    char term[GLOSSARY_TERM_MAX];
    char also[200];
    char see[200];
    char text[1600];
} GlossaryEntry;

typedef struct {
    int n;
    GlossaryEntry *e;            /* sorted by term */
} Glossary;

TpStatus glossary_read(Glossary *g, const char *path);   /* adds to g */
/* glossary.txt of every lesson directory (sessions/lesson: lesson_dirs). */
TpStatus glossary_load(Glossary *g);
void glossary_free(Glossary *g);
/* The entry of a term or of one of its other names, or NULL. */
const GlossaryEntry *glossary_find(const Glossary *g, const char *term);
/* The nearest term to an unknown one (a term it starts or is contained in, else within a few edits),
 * or NULL. */
const char *glossary_suggest(const Glossary *g, const char *term);
/* term in the lookup form: lower case, ' ' and '_' -> '-'. */
void glossary_normalize(char *out, size_t n, const char *term);
/* `explain` text of an entry: "TERM (also ...)\n  definition (wrapped at width)\n  see: ...". */
void glossary_format(const GlossaryEntry *e, int width, char *out, size_t n);

#endif
