/* sessions/events: every change of the masks or the sizes -- a prune, grow or resize typed by hand, or
 * one a schedule (AGP, GP) makes while training, and a GP schedule's restore of the last good masks --
 * made visible and measurable.
 *
 * Each event is
 *   - measured: the perplexity of a FIXED VALIDATION SLICE right before and right after it: the first
 *     EVENTS_SLICE_TOKENS tokens of the validation split (all of it when shorter), evaluated by the
 *     DESIGN 2.5 protocol (one stream, batch 1, zero initial state).  Deterministic, and cheap enough
 *     to run at every event; it is not the validation perplexity (a slice, not the split);
 *   - recorded: one row of SESSION/events.tsv (header: step kind source nnz_before nnz sparsity
 *     matrix_sparsity ppl_before ppl_after slice_tokens detail; sparsities as fractions, ppl NaN
 *     when not measured), and one metrics.tsv row at the event's step (train/valid columns NaN), so
 *     that a curve shows the change even when log_every is long;
 *   - said: one line (events_describe) in the command's output, and for a schedule's events in the
 *     train verb's output and `topiary train`'s log;
 *   - journaled when a schedule made it: the journal line of the train that made it is followed by
 *     an annotation `event step=S kind=K nnz=N`, which replay checks against its own events.tsv but
 *     never executes (the train line re-creates it); a hand command is journaled as itself.
 * The TUI reads the events through sessions/view (view_events_load) to mark them on its charts. */
#ifndef TP_EVENTS_H
#define TP_EVENTS_H

#include <stddef.h>

#include "sessions/session.h"

#define EVENTS_SLICE_TOKENS 2000

typedef struct {
    long step;
    char kind[12];              /* prune | grow | resize | restore               */
    char source[12];            /* command | schedule                            */
    size_t nnz_before, nnz;     /* non-zero parameters before and after          */
    double sparsity, matrix_sparsity;  /* after: model, prunable matrices (0..1)  */
    double ppl_before, ppl_after;      /* slice perplexity; NaN when not measured */
    long slice_tokens;
    char detail[160];           /* what happened, one line without tabs          */
} SessionEvent;

/* Perplexity of the fixed validation slice (above); *tokens = the tokens predicted. */
TpStatus events_slice_ppl(Session *s, double *ppl, long *tokens);
/* Before a change: e gets the step, kind, source, non-zeros and the slice perplexity before. */
TpStatus events_begin(Session *s, SessionEvent *e, const char *kind, const char *source);
/* After it: the figures after, the slice perplexity after, the record (events.tsv, the metrics row)
 * and, for source "schedule", the journal annotation queued for the running train. */
TpStatus events_end(Session *s, SessionEvent *e, const char *detail);
/* "slice ppl 21.17 -> 24.50 (+15.7 %, first 2000 validation tokens)" */
void events_describe(const SessionEvent *e, char *buf, size_t n);

/* SESSION/events.tsv, oldest first (*out malloc'd; a missing file is no event). */
TpStatus events_load(const char *dir, SessionEvent **out, int *n);
/* The replay's check of an annotation: TP_OK when dir's events.tsv holds a schedule event at step
 * with kind and nnz; TP_EFORMAT naming what differs otherwise. */
TpStatus events_check(const char *dir, long step, const char *kind, size_t nnz);

#endif
