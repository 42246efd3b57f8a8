/* sessions/lesson_check: the exercise checks of lessons (sessions/lesson), expressions over named
 * quantities of a session's real state, evaluated by the workbench.
 *
 * Grammar (one expression; a lesson may hold several `check:` lines, all of which must hold):
 *     expr   := or
 *     or     := and ("or" and)*          and := not ("and" not)*        not := "not" not | cmp
 *     cmp    := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
 *     sum    := prod (("+" | "-") prod)*  prod := unary (("*" | "/") unary)*
 *     unary  := "-" unary | atom          atom := NUMBER | NAME | NAME "(" ARG ")" | "(" expr ")"
 * A comparison is 1 or 0; anything compared with an unknown value (NaN: no validation yet) is false.
 * Quantities (LESSON_CHECK_NAMES lists them for the docs and messages):
 *     valid_ppl          the session's last validation perplexity (NaN before the first `eval`)
 *     step, epoch        minibatches trained, current epoch
 *     sparsity(GLOB)     fraction of pruned entries over the weight matrices whose names match GLOB
 *                        (comma-separated globs; no argument: every weight matrix); density(GLOB),
 *                        nnz(GLOB) likewise (live fraction, live count)
 *     row_balanced(GLOB) 1 when every matched matrix has the same live count in every row
 *     block(GLOB)        1 when every matched matrix's mask is made of whole blocks (16x1, 8x1, 4x4)
 *     hidden(L), layers  hidden size of layer L, number of layers
 *     tau                the hidden-state threshold; state_sparsity: fraction of zero h~ entries
 *                        over the training forwards since the last metrics row, else the last
 *                        row's (metrics.tsv; NaN when none measured it)
 *     hlstm              1 when the cell is the H-LSTM
 *     schedule           0 none, 1 AGP, 2 grow-and-prune
 *     profiled           rows in SESSION/latency.tsv (latency profiles measured)
 *     baseline_NAME      NAME's value when the lesson started or at the last `lesson mark`
 *                        (valid_ppl, step, epoch, sparsity, nnz, layers, hidden0..hidden7, tau) */
#ifndef TP_LESSON_CHECK_H
#define TP_LESSON_CHECK_H

#include <stddef.h>

#include "sessions/session.h"

#define LESSON_REF_MAX 20
#define LESSON_CHECK_NAMES                                                                                 \
    "valid_ppl, step, epoch, sparsity(GLOB), density(GLOB), nnz(GLOB), row_balanced(GLOB), block(GLOB), " \
    "hidden(L), layers, tau, state_sparsity, hlstm, schedule, profiled, baseline_NAME"

/* The reference values a lesson records when it starts (baseline_NAME in checks). */
typedef struct {
    int n;
    char name[LESSON_REF_MAX][16];
    double value[LESSON_REF_MAX];
} LessonRefs;

/* Record the reference values of s now. */
void lesson_refs_take(LessonRefs *r, const Session *s);
/* A reference by name (without "baseline_"): 1 and *v, or 0. */
int lesson_refs_get(const LessonRefs *r, const char *name, double *v);
/* Set (or add) one reference; 0 when the table is full or the name too long. */
int lesson_refs_set(LessonRefs *r, const char *name, double v);

/* Check an expression's syntax and names without a session (TP_EINVAL "column N: ..."). */
TpStatus lesson_check_compile(const char *expr);
/* Evaluate expr on s: *pass = 1 when it holds; `values` (may be NULL) gets the quantities it read,
 * "valid_ppl = 17.20, baseline_valid_ppl = 16.90".  Errors as lesson_check_compile. */
TpStatus lesson_check_eval(const char *expr, const Session *s, const LessonRefs *refs, int *pass, char *values,
                           size_t n);

#endif
