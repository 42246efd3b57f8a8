/* sessions/lesson_verbs: the `lesson` and `explain` verbs of the command language (the verb table in
 * sessions/command.c names them; command.h declares them) and the texts they print, which
 * `topiary learn` and `topiary explain` print too. */
#ifndef TP_LESSON_VERBS_H
#define TP_LESSON_VERBS_H

#include <stddef.h>

#include "sessions/lesson_progress.h"

/* A lesson as text: title, paragraphs wrapped at width, numbered steps with what to look at, the
 * exercise and its checks. */
void lesson_format(const Lesson *l, int width, char *out, size_t n);
/* A verdict as text: "check: PASSED" or "check: not yet", then one line per check with its values. */
void lesson_format_verdict(const Lesson *l, const LessonVerdict *v, char *out, size_t n);
/* The `explain` text of term (an unknown term: TP_ENOENT with the nearest term; "" lists them). */
TpStatus lesson_explain(const char *term, int width, char *out, size_t n);

#endif
