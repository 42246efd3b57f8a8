/* sessions/session_metrics: metrics.tsv of a session (session.h). */
#include "session.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"

static const char METRICS_HEADER[] =
    "step\tepoch\tlr\ttrain_loss\ttrain_ppl\tvalid_ppl\tnnz\tparams\tsparsity\tstate_sparsity\tlatency_us"
    "\ttokens_per_s\tseconds\tmatrix_sparsity\n";

/* a speech session's rows carry three more columns (the LM's files read as before) */
static const char METRICS_HEADER_ASR[] =
    "step\tepoch\tlr\ttrain_loss\ttrain_ppl\tvalid_ppl\tnnz\tparams\tsparsity\tstate_sparsity\tlatency_us"
    "\ttokens_per_s\tseconds\tmatrix_sparsity\tvalid_loss\tvalid_wer\tvalid_cer\n";

static size_t true_params(const Model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++) n += m->p[i].n; /* n_params also counts alignment padding */
    return n;
}

const char *session_metrics_header(const Session *s)
{
    return task_is_asr(&s->task) ? METRICS_HEADER_ASR : METRICS_HEADER;
}

/* ---- metrics ------------------------------------------------------------------------------ */

void session_metrics_now(const Session *s, SessionMetrics *m)
{
    memset(m, 0, sizeof *m);
    m->step = s->trainer.step;
    m->epoch = s->trainer.epoch;
    m->lr = s->trainer.opt.lr;
    m->params = true_params(&s->model);
    m->nnz = model_nnz(&s->model);
    m->sparsity = m->params ? 1.0 - (double)m->nnz / (double)m->params : 0.0;
    m->matrix_sparsity = session_matrix_sparsity(&s->model);
    m->train_loss = m->train_ppl = m->valid_ppl = NAN;
    m->state_sparsity = m->latency_us = NAN;
    m->valid_loss = m->valid_wer = m->valid_cer = NAN;
}

double session_matrix_sparsity(const Model *m)
{
    size_t n = 0, nnz = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        if (p->kind != PARAM_WEIGHT) continue;
        n += p->n;
        for (size_t k = 0; k < p->n; k++) nnz += m->mask[p->off + k] != 0;
    }
    return n ? 1.0 - (double)nnz / (double)n : 0.0;
}

/* 1 when metrics.tsv's header names matrix_sparsity (a session created before it has 13 columns:
 * its rows keep that width, so the file stays readable). */
static int has_column(const char *path, const char *col)
{
    char head[1024] = "";
    FILE *f = NULL;
    if (fsutil_fopen_regular(path, &f) != TP_OK) return 1; /* the append then reports the problem */
    if (!fgets(head, sizeof head, f)) head[0] = '\0';
    fclose(f);
    return strstr(head, col) != NULL;
}

static void fmt_num(char *b, size_t n, double v)
{
    if (isfinite(v)) snprintf(b, n, "%.6g", v);
    else snprintf(b, n, "NaN");
}

TpStatus session_log_metrics(Session *s, const SessionMetrics *m)
{
    char f[10][32], line[512], p[4200];
    fmt_num(f[0], 32, m->lr);
    fmt_num(f[1], 32, m->train_loss);
    fmt_num(f[2], 32, m->train_ppl);
    fmt_num(f[3], 32, m->valid_ppl);
    fmt_num(f[4], 32, m->sparsity);
    fmt_num(f[5], 32, m->state_sparsity);
    fmt_num(f[6], 32, m->latency_us);
    fmt_num(f[7], 32, m->tokens_per_s);
    fmt_num(f[8], 32, m->seconds);
    fmt_num(f[9], 32, m->matrix_sparsity);
    path_join(p, sizeof p, s->dir, "metrics.tsv");
    /* a session copied without it (replay --out) or whose log was deleted: the header comes first */
    if (!fsutil_exists(p)) {
        TpStatus st = fsutil_append_line(p, session_metrics_header(s));
        if (st != TP_OK) return st;
    }
    int wide = has_column(p, "\tmatrix_sparsity");
    int n = snprintf(line, sizeof line, "%ld\t%d\t%s\t%s\t%s\t%s\t%zu\t%zu\t%s\t%s\t%s\t%s\t%s%s%s", m->step, m->epoch, f[0],
                     f[1], f[2], f[3], m->nnz, m->params, f[4], f[5], f[6], f[7], f[8], wide ? "\t" : "", wide ? f[9] : "");
    if (has_column(p, "\tvalid_wer")) {
        char a[3][32];
        fmt_num(a[0], 32, m->valid_loss);
        fmt_num(a[1], 32, m->valid_wer);
        fmt_num(a[2], 32, m->valid_cer);
        snprintf(line + n, sizeof line - (size_t)n, "\t%s\t%s\t%s", a[0], a[1], a[2]);
    }
    return fsutil_append_line(p, line);
}

