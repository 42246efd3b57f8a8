/* sessions/lesson: lessons as data files (docs/lessons.md), so a teacher can write new ones.
 *
 * A lesson is NN-name.lesson, a small line-based format read with base/lines:
 *     # a comment                          title: Perplexity and training curves
 *     task: --hidden 64 --layers 1         (task options for a session `topiary learn` creates)
 *     terms: perplexity, loss              (glossary entries the lesson links to)
 *     plain lines: the text (a blank line ends a paragraph)
 *     step: train steps=100                a command of the command language the student runs
 *     look: Train screen (1): ...          what to look at after the step above
 *     exercise: ...                        the exercise (several lines join)
 *     check: valid_ppl < baseline_valid_ppl   an expression of sessions/lesson_check; all must hold
 * A line that starts with a lower-case word and ':' must be one of these fields.  Every step is
 * parsed against the verb table and every check compiled when the file is read: a malformed file is
 * refused with "FILE:LINE: ..." and nothing of it is used.
 *
 * Lessons are searched in the bundled directory (lessons/ beside data/: ./lessons, then next to the
 * binary ../lessons or ../share/topiary/lessons), then in $TOPIARY_LESSONS, then in the directory
 * given by lesson_set_dir (--lessons DIR); a later directory's lesson with the same id replaces an
 * earlier one.  The id is the file name without ".lesson". */
#ifndef TP_LESSON_H
#define TP_LESSON_H

#include "base/status.h"

#define LESSON_MAX_STEPS 24
#define LESSON_MAX_CHECKS 8
#define LESSON_MAX_DIRS 3

typedef struct {
    char command[512];
    char look[640];
    int line;                  /* in the file, for messages */
} LessonStep;

typedef struct {
    char id[64];               /* "02-pruning"                                  */
    char path[1024];
    char title[160];
    char task[256];            /* task options for a new session, "" for the defaults */
    char terms[256];           /* glossary terms, comma-separated               */
    char text[4096];           /* paragraphs separated by a blank line          */
    int n_steps;
    LessonStep steps[LESSON_MAX_STEPS];
    char exercise[1024];
    int n_checks;
    char checks[LESSON_MAX_CHECKS][256];
} Lesson;

typedef struct {
    int n;
    Lesson *l;                 /* sorted by id */
} LessonCatalog;

/* Read and validate one lesson file; the id comes from the file name. */
TpStatus lesson_read(Lesson *l, const char *path);

/* The extra directory (--lessons DIR); NULL for none. */
void lesson_set_dir(const char *dir);
/* The directories searched, in order (existing or not); returns their count. */
int lesson_dirs(char dirs[LESSON_MAX_DIRS][1024]);
/* Every lesson of the directories (a malformed one is an error naming FILE:LINE). */
TpStatus lesson_catalog_load(LessonCatalog *c);
void lesson_catalog_free(LessonCatalog *c);
/* A lesson by id, by its number ("2" or "02") or by its name without the number ("pruning");
 * TP_ENOENT naming the closest id when there is none. */
TpStatus lesson_find(const LessonCatalog *c, const char *name, const Lesson **out);

#endif
