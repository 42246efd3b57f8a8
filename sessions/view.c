/* sessions/view: see view.h. */
#include "sessions/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "engine/backend.h"
#include "sessions/target.h"
#include "sessions/hwgp.h"
#include "engine/hysteresis.h"
#include "engine/latency.h"
#include "engine/mask.h"
#include "engine/safetensors.h"
#include "plots/tsv.h"
#include "sessions/compress.h"
#include "sessions/profile.h"

/* ---- from memory ---------------------------------------------------------------------------- */

long view_step(const Session *s) { return s->trainer.step; }

int view_layers(const Session *s, int *hidden)
{
    int n = s->model.cfg.n_layers;
    for (int l = 0; hidden && l < n && l < VIEW_MAX_LAYERS; l++) hidden[l] = s->model.cfg.hidden[l];
    return n;
}

void view_status(const Session *s, ViewStatus *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", path_basename(s->dir));
    v->step = s->trainer.step;
    v->epoch = s->trainer.epoch;
    v->epochs = s->trainer.cfg.epochs;
    v->valid_ppl = s->valid_ppl;
    v->speech = task_is_asr(&s->task);
    v->valid_wer = s->valid_wer;
    v->valid_cer = s->valid_cer;
    v->level = s->task.level == CORPUS_WORD ? "word" : "char";
    int tied = s->model.cfg.tie; /* one matrix for the embedding and the decoder (the `tie` verb) */
    v->cell = s->model.cfg.cell == MODEL_CELL_HLSTM ? (tied ? "H-LSTM tied" : "H-LSTM") : (tied ? "LSTM tied" : "LSTM");
    v->backend = train_backend_name(&s->trainer); /* cuda while training on the device */
    SessionMetrics m;
    session_metrics_now(s, &m);
    v->lr = m.lr;
    v->clip = (double)s->trainer.cfg.clip;
    v->nnz = m.nnz;
    v->params = m.params;
    v->sparsity = m.sparsity;
    v->matrix_sparsity = m.matrix_sparsity;
    v->n_layers = view_layers(s, v->hidden);
    v->n_vocab = s->corpus.n_vocab;
    compress_schedule_describe(s, v->schedule, sizeof v->schedule);
    v->distill[0] = '\0';
    if (s->task.teacher[0]) {
        const char *base = strrchr(s->task.teacher, '/');
        snprintf(v->distill, sizeof v->distill, "alpha %g from %.60s", (double)s->task.distill_alpha,
                 base && base[1] ? base + 1 : s->task.teacher);
    }
    const TrainAverage *a = &s->trainer.avg;
    v->average[0] = '\0';
    if (a->mean) snprintf(v->average, sizeof v->average, "%ld samples every %d since %ld", a->count, a->every, a->start);
}

void view_progress(const Session *s, ViewProgress *p)
{
    const Trainer *t = &s->trainer;
    p->step = t->step;
    p->epoch = t->epoch;
    p->epochs = t->cfg.epochs;
    p->epoch_fraction = train_epoch_progress(t);
    p->windows_left = (double)(t->n_windows - t->window) + (double)(t->cfg.epochs - t->epoch) * t->n_windows;
    p->lr = t->opt.lr;
    p->finished = train_finished(t);
}

int view_n_tensors(const Session *s) { return s->model.n_tensors; }

void view_tensor(const Session *s, int i, ViewTensor *t)
{
    memset(t, 0, sizeof *t);
    if (i < 0 || i >= s->model.n_tensors) return;
    const ModelParam *p = &s->model.p[i];
    MaskTensorStats ts;
    mask_tensor_stats(&s->model, &ts, i);
    t->name = p->name;
    t->is_bias = p->kind == PARAM_BIAS;
    t->rows = p->rows;
    t->cols = p->cols;
    t->mask = s->model.mask + p->off;
    t->density = ts.density;
    t->row_nnz_min = ts.row_nnz_min;
    t->row_nnz_max = ts.row_nnz_max;
}

int view_tensor_block(const Session *s, int i, int *R, int *C)
{
    *R = *C = 0;
    if (i < 0 || i >= s->model.n_tensors || s->model.p[i].kind == PARAM_BIAS) return 0;
    return mask_tensor_block_shape(&s->model, i, R, C);
}

int view_tensor_find(const Session *s, const char *name)
{
    const ModelParam *p = model_param(&s->model, name);
    return p ? (int)(p - s->model.p) : -1;
}

/* ---- metrics.tsv ---------------------------------------------------------------------------- */

TpStatus view_metrics_push(ViewSeries *m, const SessionMetrics *r)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 256;
        double **cols[11] = {&m->step, &m->train_ppl, &m->valid_ppl, &m->sparsity, &m->nnz, &m->tok_s, &m->matrix_sparsity,
                             &m->train_loss, &m->valid_loss, &m->valid_wer, &m->valid_cer};
        for (int i = 0; i < 11; i++) {
            double *p = realloc(*cols[i], (size_t)cap * sizeof(double));
            if (!p) return err_set(TP_ENOMEM, "metrics: out of memory");
            *cols[i] = p;
        }
        m->cap = cap;
    }
    m->step[m->n] = (double)r->step;
    m->train_ppl[m->n] = r->train_ppl;
    m->valid_ppl[m->n] = r->valid_ppl;
    m->sparsity[m->n] = 100.0 * r->sparsity;
    m->matrix_sparsity[m->n] = 100.0 * r->matrix_sparsity;
    m->nnz[m->n] = (double)r->nnz;
    m->tok_s[m->n] = r->tokens_per_s;
    m->train_loss[m->n] = r->train_loss;
    m->valid_loss[m->n] = r->valid_loss;
    m->valid_wer[m->n] = 100.0 * r->valid_wer;
    m->valid_cer[m->n] = 100.0 * r->valid_cer;
    m->n++;
    return TP_OK;
}

void view_metrics_free(ViewSeries *m)
{
    MEM_FREE_ALL(m->step, m->train_ppl, m->valid_ppl, m->sparsity, m->nnz, m->tok_s, m->matrix_sparsity, m->events);
    MEM_FREE_ALL(m->train_loss, m->valid_loss, m->valid_wer, m->valid_cer);
    memset(m, 0, sizeof *m);
}

TpStatus view_metrics_load(ViewSeries *m, const char *dir)
{
    char path[4200];
    free(m->events);
    m->events = NULL;
    m->n_events = 0;
    TpStatus est = events_load(dir, &m->events, &m->n_events);
    if (est != TP_OK) return est;
    path_join(path, sizeof path, dir, "metrics.tsv");
    if (!fsutil_exists(path)) return TP_OK;
    Tsv t;
    TpStatus st = tsv_read(&t, path, NULL);
    if (st != TP_OK) return err_wrap(st, "metrics.tsv: ");
    const double *step = tsv_col(&t, "step"), *tp = tsv_col(&t, "train_ppl"), *vp = tsv_col(&t, "valid_ppl"),
                 *sp = tsv_col(&t, "sparsity"), *nz = tsv_col(&t, "nnz"), *ts = tsv_col(&t, "tokens_per_s"),
                 *ms = tsv_col(&t, "matrix_sparsity"), *tl = tsv_col(&t, "train_loss"), *vl = tsv_col(&t, "valid_loss"),
                 *vw = tsv_col(&t, "valid_wer"), *vc = tsv_col(&t, "valid_cer");
    if (vw) m->speech = 1; /* a speech session's log (its header has the column from the start) */
    for (size_t i = 0; step && i < t.n_rows && st == TP_OK; i++) {
        SessionMetrics r = {0};
        r.step = (long)step[i];
        r.train_ppl = tp ? tp[i] : NAN;
        r.valid_ppl = vp ? vp[i] : NAN;
        r.sparsity = sp ? sp[i] : NAN;
        r.matrix_sparsity = ms ? ms[i] : NAN;
        r.nnz = nz && isfinite(nz[i]) ? (size_t)nz[i] : 0;
        r.tokens_per_s = ts ? ts[i] : NAN;
        r.train_loss = tl ? tl[i] : NAN;
        r.valid_loss = vl ? vl[i] : NAN;
        r.valid_wer = vw ? vw[i] : NAN;
        r.valid_cer = vc ? vc[i] : NAN;
        st = view_metrics_push(m, &r);
    }
    tsv_free(&t);
    return st;
}

/* ---- latency.tsv ---------------------------------------------------------------------------- */

void view_latency_free(ViewLatency *v)
{
    MEM_FREE_ALL(v->hidden, v->median_us, v->p10_us, v->p90_us, v->point_hidden);
    memset(v, 0, sizeof *v);
}

static double *copy_doubles(const double *src, int n)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; d && i < n; i++) d[i] = src[i];
    return d;
}

/* The layer's "no slower than now" size (0: none larger) and the recommendation line. */
static void recommend_layer(ViewLatency *v, const LatencyCurve *c, const HystAnalysis *an, int l)
{
    int cur = v->current[l];
    char *rec = v->rec[l];
    if (profile_recommend(rec, sizeof v->rec[l], c, an, l, cur, 0.0) != TP_OK)
        snprintf(rec, sizeof v->rec[l], "%s", err_msg());
    char *nl = strchr(rec, '\n');
    if (nl) *nl = '\0';
    HystSeries ser = profile_series(c);
    HystTargetPick pick;
    if (hysteresis_recommend_target(&pick, &ser, an, cur) != TP_OK) {
        snprintf(v->rec_err[l], sizeof v->rec_err[l], "%s", err_msg());
        return;
    }
    if (c->hidden[pick.furthest] != cur && pick.furthest != pick.target_index) v->rec_hidden[l] = c->hidden[pick.furthest];
}

TpStatus view_latency_load(ViewLatency *v, const Session *s)
{
    memset(v, 0, sizeof *v);
    char path[4200];
    path_join(path, sizeof path, s->dir, "latency.tsv");
    if (!fsutil_exists(path)) return TP_OK;
    LatencyCurve c;
    HystAnalysis an;
    latency_curve_init(&c);
    memset(&an, 0, sizeof an);
    TpStatus st = profile_session_latest(s->dir, &c);
    if (st != TP_OK || c.n < 1) goto done;
    st = profile_analyze(&an, &c, 0.02, 0);
    if (st != TP_OK) goto done;
    v->n = c.n;
    v->hidden = malloc(sizeof(double) * (size_t)c.n);
    v->median_us = copy_doubles(c.median_us, c.n);
    v->p10_us = copy_doubles(c.p10_us, c.n);
    v->p90_us = copy_doubles(c.p90_us, c.n);
    v->point_hidden = malloc(sizeof(double) * (size_t)(an.n_points > 0 ? an.n_points : 1));
    if (!v->hidden || !v->median_us || !v->p10_us || !v->p90_us || !v->point_hidden) {
        st = err_set(TP_ENOMEM, "latency view: out of memory");
        goto done;
    }
    for (int i = 0; i < c.n; i++) v->hidden[i] = c.hidden[i];
    for (int i = 0; i < an.n_points; i++) v->point_hidden[i] = c.hidden[an.points[i].index];
    snprintf(v->backend, sizeof v->backend, "%s", c.backend);
    target_of_curve(&c, v->target, sizeof v->target);
    v->threads = c.threads;
    v->batch = c.batch;
    v->n_points = an.n_points;
    v->n_dominated = an.n_dominated;
    v->n_layers = view_layers(s, v->current);
    for (int l = 0; l < v->n_layers; l++) recommend_layer(v, &c, &an, l);
    v->have = 1;
    HwgpStatus hs; /* for display only: an unreadable hwgp.json shows nothing */
    if (hwgp_status_load(s->dir, &hs) == TP_OK && hs.have) hwgp_status_line(&hs, v->hwgp, sizeof v->hwgp);
done:
    hysteresis_free(&an);
    latency_curve_free(&c);
    if (!v->have) view_latency_free(v);
    return st;
}

/* ---- snapshots and journal ------------------------------------------------------------------ */

TpStatus view_history_load(ViewHistory *h, const char *dir)
{
    memset(h, 0, sizeof *h);
    TpStatus st = snapshot_list(dir, h->snaps, VIEW_MAX_SNAPSHOTS, &h->n_snaps);
    if (st != TP_OK) h->n_snaps = 0;
    int torn = 0;
    TpStatus js = journal_read(dir, &h->journal, &h->n_journal, &torn);
    if (js != TP_OK) {
        h->journal = NULL;
        h->n_journal = 0;
    }
    return st != TP_OK ? st : js;
}

void view_history_free(ViewHistory *h)
{
    free(h->journal);
    h->journal = NULL;
    h->n_journal = 0;
    h->n_snaps = 0;
}

TpStatus view_snapshot_nnz(const char *dir, const char *name, size_t *nnz, size_t *params)
{
    *nnz = *params = 0;
    TpStatus st = snapshot_name_check(name);
    if (st != TP_OK) return st;
    char snaps[4200], snap[4300], path[4400];
    if ((st = path_join(snaps, sizeof snaps, dir, "snapshots")) != TP_OK ||
        (st = path_join(snap, sizeof snap, snaps, name)) != TP_OK ||
        (st = path_join(path, sizeof path, snap, "model.safetensors")) != TP_OK)
        return st;
    SafetensorsFile f;
    if ((st = safetensors_read(&f, path, NULL)) != TP_OK) return st;
    int masks = 0;
    for (int i = 0; i < f.n; i++) {
        const SafetensorsTensor *t = &f.t[i];
        if (strncmp(t->name, "mask.", 5) || t->dtype != SAFETENSORS_U8) continue;
        const uint8_t *m = t->data;
        for (size_t k = 0; k < t->n_elems; k++) *nnz += m[k] != 0;
        *params += t->n_elems;
        masks++;
    }
    safetensors_free(&f);
    if (!masks) return err_set(TP_EFORMAT, "%s: no masks", path);
    return TP_OK;
}
