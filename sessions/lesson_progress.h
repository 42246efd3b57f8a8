/* sessions/lesson_progress: a student's progress through the lessons, kept inside the session
 * directory (SESSION/lessons.txt, written atomically; nothing outside the session is written), and
 * the lesson workflows the `lesson` verb runs: start (record the reference values the checks compare
 * with), mark (record them again), check (evaluate the exercise on the session's real state).
 *
 * lessons.txt, one record a line, fields separated by tabs:
 *     current <TAB> ID
 *     lesson <TAB> ID <TAB> started=STEP <TAB> passed=0|1 <TAB> passed_step=STEP <TAB> ref.NAME=VALUE ...
 * A damaged file is refused naming lessons.txt:LINE (the session itself is not affected). */
#ifndef TP_LESSON_PROGRESS_H
#define TP_LESSON_PROGRESS_H

#include "sessions/lesson.h"
#include "sessions/lesson_check.h"
#include "sessions/session.h"

#define LESSON_PROGRESS_FILE "lessons.txt"
#define LESSON_PROGRESS_MAX 64

typedef struct {
    char id[64];
    long started;              /* step when the lesson started      */
    int passed;
    long passed_step;          /* step of the first passing check, -1 */
    LessonRefs refs;           /* baseline_NAME of the checks        */
} LessonRecord;

typedef struct {
    char current[64];          /* "" before the first lesson */
    int n;
    LessonRecord r[LESSON_PROGRESS_MAX];
} LessonProgress;

/* One evaluation of a lesson's checks. */
typedef struct {
    int pass;                  /* every check holds */
    int n;
    int ok[LESSON_MAX_CHECKS];
    char values[LESSON_MAX_CHECKS][400];   /* the quantities each check read */
} LessonVerdict;

/* SESSION/lessons.txt (a missing file: no progress). */
TpStatus lesson_progress_load(LessonProgress *p, const char *dir);
TpStatus lesson_progress_save(const LessonProgress *p, const char *dir);
/* The record of a lesson, or NULL. */
const LessonRecord *lesson_progress_find(const LessonProgress *p, const char *id);

/* Start lesson l in s: its reference values now (a lesson started before keeps its values: resumed);
 * it becomes the current lesson; saved. */
TpStatus lesson_start(const Session *s, const Lesson *l, LessonProgress *p);
/* Record the reference values of the current lesson again (after training the dense model, say). */
TpStatus lesson_mark(const Session *s, LessonProgress *p);
/* Evaluate l's checks on s against rec's references (rec may be NULL: no baseline values). */
TpStatus lesson_verdict(const Session *s, const Lesson *l, const LessonRecord *rec, LessonVerdict *v);
/* lesson_verdict, and a pass recorded in p (saved) the first time. */
TpStatus lesson_check(const Session *s, const Lesson *l, LessonProgress *p, LessonVerdict *v);

#endif
