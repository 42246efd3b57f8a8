/* sessions/events: see events.h. */
#include "sessions/events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "plots/tsv.h"

static const char EVENTS_HEADER[] =
    "step\tkind\tsource\tnnz_before\tnnz\tsparsity\tmatrix_sparsity\tppl_before\tppl_after\tslice_tokens\tdetail";
static const char *const EVENTS_NUMERIC[] = {"step", "nnz_before", "nnz", "sparsity", "matrix_sparsity", "ppl_before",
                                             "ppl_after", "slice_tokens", NULL};

TpStatus events_slice_ppl(Session *s, double *ppl, long *tokens)
{
    size_t n = s->corpus.n_ids[CORPUS_VALID];
    if (n > EVENTS_SLICE_TOKENS + 1) n = EVENTS_SLICE_TOKENS + 1; /* N tokens predicted from N + 1 */
    *ppl = NAN;
    *tokens = 0;
    if (n < 2) return TP_OK; /* no validation text: nothing to measure */
    EvalResult e;
    TpStatus st = train_evaluate(&s->model, s->corpus.ids[CORPUS_VALID], n, 1, 64, &e);
    if (st != TP_OK) return err_wrap(st, "validation slice: ");
    *ppl = e.ppl;
    *tokens = e.tokens;
    return TP_OK;
}

TpStatus events_begin(Session *s, SessionEvent *e, const char *kind, const char *source)
{
    memset(e, 0, sizeof *e);
    e->step = s->trainer.step;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->source, sizeof e->source, "%s", source);
    e->nnz_before = model_nnz(&s->model);
    e->ppl_after = NAN;
    return events_slice_ppl(s, &e->ppl_before, &e->slice_tokens);
}

static void fmt(char *b, size_t n, double v)
{
    if (isfinite(v)) snprintf(b, n, "%.6g", v);
    else snprintf(b, n, "NaN");
}

static TpStatus queue_note(Session *s, const SessionEvent *e)
{
    if (s->n_notes == s->cap_notes) {
        int cap = s->cap_notes ? 2 * s->cap_notes : 16;
        SessionNote *p = realloc(s->notes, (size_t)cap * sizeof *p);
        if (!p) return err_set(TP_ENOMEM, "schedule event: out of memory");
        s->notes = p;
        s->cap_notes = cap;
    }
    SessionNote *note = &s->notes[s->n_notes++];
    note->step = e->step;
    snprintf(note->kind, sizeof note->kind, "%s", e->kind);
    note->nnz = e->nnz;
    char d[240];
    events_describe(e, d, sizeof d);
    snprintf(note->text, sizeof note->text, "step %ld: %.100s; sparsity: model %.1f %% (prunable matrices %.1f %%); %.120s",
             e->step, e->detail, 100.0 * e->sparsity, 100.0 * e->matrix_sparsity, d);
    return TP_OK;
}

TpStatus events_end(Session *s, SessionEvent *e, const char *detail)
{
    snprintf(e->detail, sizeof e->detail, "%s", detail);
    for (char *p = e->detail; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
    SessionMetrics m;
    session_metrics_now(s, &m);
    e->nnz = m.nnz;
    e->sparsity = m.sparsity;
    e->matrix_sparsity = m.matrix_sparsity;
    TpStatus st = events_slice_ppl(s, &e->ppl_after, &e->slice_tokens);
    if (st != TP_OK) return st;
    char f[5][32], line[512], path[4200];
    fmt(f[0], 32, e->sparsity);
    fmt(f[1], 32, e->matrix_sparsity);
    fmt(f[2], 32, e->ppl_before);
    fmt(f[3], 32, e->ppl_after);
    snprintf(line, sizeof line, "%ld\t%s\t%s\t%zu\t%zu\t%s\t%s\t%s\t%s\t%ld\t%s", e->step, e->kind, e->source, e->nnz_before,
             e->nnz, f[0], f[1], f[2], f[3], e->slice_tokens, e->detail[0] ? e->detail : "-");
    if ((st = path_join(path, sizeof path, s->dir, "events.tsv")) != TP_OK) return st;
    if (!fsutil_exists(path) && (st = fsutil_append_line(path, EVENTS_HEADER)) != TP_OK) return st;
    if ((st = fsutil_append_line(path, line)) != TP_OK) return err_wrap(st, "events.tsv: ");
    m.lr = s->trainer.opt.lr;
    m.seconds = s->wall_seconds;
    if ((st = session_log_metrics(s, &m)) != TP_OK) return err_wrap(st, "metrics.tsv: ");
    return strcmp(e->source, "schedule") ? TP_OK : queue_note(s, e);
}

void events_describe(const SessionEvent *e, char *buf, size_t n)
{
    if (isfinite(e->ppl_before) && isfinite(e->ppl_after))
        snprintf(buf, n, "slice ppl %.2f -> %.2f (%+.1f %%, first %ld validation tokens)", e->ppl_before, e->ppl_after,
                 100.0 * (e->ppl_after / e->ppl_before - 1.0), e->slice_tokens);
    else
        snprintf(buf, n, "slice ppl not measured (no validation text; a speech session is measured by its valid WER "
                         "at epoch ends)");
}

TpStatus events_load(const char *dir, SessionEvent **out, int *n)
{
    *out = NULL;
    *n = 0;
    char path[4200];
    TpStatus st = path_join(path, sizeof path, dir, "events.tsv");
    if (st != TP_OK) return st;
    if (!fsutil_exists(path)) return TP_OK;
    Tsv t;
    if ((st = tsv_read(&t, path, EVENTS_NUMERIC)) != TP_OK) return err_wrap(st, "events.tsv: ");
    if (!t.n_rows) { /* the header alone */
        tsv_free(&t);
        return TP_OK;
    }
    const double *step = tsv_col(&t, "step"), *nb = tsv_col(&t, "nnz_before"), *nz = tsv_col(&t, "nnz"),
                 *sp = tsv_col(&t, "sparsity"), *ms = tsv_col(&t, "matrix_sparsity"), *pb = tsv_col(&t, "ppl_before"),
                 *pa = tsv_col(&t, "ppl_after"), *sl = tsv_col(&t, "slice_tokens");
    char *const *kind = tsv_text(&t, "kind"), *const *src = tsv_text(&t, "source"), *const *det = tsv_text(&t, "detail");
    if (!step || !nb || !nz || !sp || !ms || !pb || !pa || !sl || !kind || !src || !det) {
        tsv_free(&t);
        return err_set(TP_EFORMAT, "%s: expected the columns %s", path, "step, kind, source, nnz_before, nnz, ... detail");
    }
    SessionEvent *ev = t.n_rows ? calloc(t.n_rows, sizeof *ev) : NULL;
    if (t.n_rows && !ev) {
        tsv_free(&t);
        return err_set(TP_ENOMEM, "events.tsv: out of memory");
    }
    for (size_t i = 0; i < t.n_rows; i++) {
        SessionEvent *e = &ev[i];
        e->step = (long)step[i];
        snprintf(e->kind, sizeof e->kind, "%s", kind[i]);
        snprintf(e->source, sizeof e->source, "%s", src[i]);
        e->nnz_before = isfinite(nb[i]) ? (size_t)nb[i] : 0;
        e->nnz = isfinite(nz[i]) ? (size_t)nz[i] : 0;
        e->sparsity = sp[i];
        e->matrix_sparsity = ms[i];
        e->ppl_before = pb[i];
        e->ppl_after = pa[i];
        e->slice_tokens = isfinite(sl[i]) ? (long)sl[i] : 0;
        snprintf(e->detail, sizeof e->detail, "%s", det[i]);
    }
    *out = ev;
    *n = (int)t.n_rows;
    tsv_free(&t);
    return TP_OK;
}

TpStatus events_check(const char *dir, long step, const char *kind, size_t nnz)
{
    SessionEvent *ev;
    int n;
    TpStatus st = events_load(dir, &ev, &n);
    if (st != TP_OK) return st;
    int found = -1, near = -1;
    for (int i = 0; i < n; i++) {
        if (ev[i].step != step || strcmp(ev[i].source, "schedule") || strcmp(ev[i].kind, kind)) continue;
        near = i;
        if (ev[i].nnz == nnz) found = i;
    }
    if (found < 0 && near >= 0)
        st = err_set(TP_EFORMAT, "the schedule's %s at step %ld left %zu non-zeros in the replay, the journal says %zu", kind,
                     step, ev[near].nnz, nnz);
    else if (found < 0)
        st = err_set(TP_EFORMAT, "the schedule made no %s at step %ld in the replay (the journal says it did)", kind, step);
    free(ev);
    return st;
}
