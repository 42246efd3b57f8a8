/* engine/train: see train.h. */
#include "train.h"
#include "base/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "corpus.h"
#include "devtrain.h"
#include "vmath.h"


TpStatus train_config_check(const TrainConfig *c)
{
    if (c->bptt < 1 || c->bptt > 100000) return err_set(TP_ERANGE, "--bptt: expected 1..100000, got %d", c->bptt);
    if (c->batch < 1 || c->batch > 100000) return err_set(TP_ERANGE, "--batch: expected 1..100000, got %d", c->batch);
    if (c->epochs < 1) return err_set(TP_ERANGE, "--epochs: expected >= 1, got %d", c->epochs);
    if (c->max_steps < 0) return err_set(TP_ERANGE, "--max-steps: expected >= 0, got %ld", c->max_steps);
    if (!(c->lr > 0.0f) || !isfinite(c->lr)) return err_set(TP_ERANGE, "--lr: expected > 0, got %g", (double)c->lr);
    if (!(c->lr_decay > 0.0f && c->lr_decay <= 1.0f))
        return err_set(TP_ERANGE, "--lr-decay: expected 0 < d <= 1, got %g", (double)c->lr_decay);
    if (c->decay_start < 0) return err_set(TP_ERANGE, "--decay-start: expected >= 0, got %d", c->decay_start);
    if (!(c->clip >= 0.0f) || !isfinite(c->clip)) return err_set(TP_ERANGE, "--clip: expected >= 0, got %g", (double)c->clip);
    return TP_OK;
}

TpStatus train_init(Trainer *t, Model *m, const int32_t *train_ids, size_t n, const TrainConfig *cfg)
{
    memset(t, 0, sizeof *t);
    TpStatus s = train_config_check(cfg);
    if (s != TP_OK) return s;
    t->cfg = *cfg;
    t->model = m;
    s = corpus_batchify(&t->data, &t->L, train_ids, n, cfg->batch);
    if (s != TP_OK) return s;
    if (t->L < 2) {
        train_free(t);
        return err_set(TP_EINVAL, "train split too short: %zu tokens for batch %d", n, cfg->batch);
    }
    t->n_windows = corpus_n_windows(t->L, cfg->bptt);
    t->x = malloc((size_t)cfg->bptt * cfg->batch * sizeof(int32_t));
    t->y = malloc((size_t)cfg->bptt * cfg->batch * sizeof(int32_t));
    if (!t->x || !t->y) {
        train_free(t);
        return err_set(TP_ENOMEM, "train: out of memory");
    }
    if ((s = model_reserve(m, cfg->bptt, cfg->batch)) != TP_OK ||
        (s = model_state_init(&t->state, m, cfg->batch)) != TP_OK ||
        (s = optim_init(&t->opt, cfg->optim, cfg->lr, m->n_params)) != TP_OK) {
        train_free(t);
        return s;
    }
    rng_seed(&t->rng, cfg->seed);
    t->epoch = 1;
    t->opt.lr = optim_schedule_lr(cfg->lr, cfg->lr_decay, cfg->decay_start, 1);
    return TP_OK;
}

void train_free(Trainer *t)
{
    if (t->dev) {
        devtrain_free(t->dev);
        free(t->dev);
    }
    free(t->data);
    free(t->x);
    free(t->y);
    model_state_free(&t->state);
    optim_free(&t->opt);
    free(t->avg.mean);
    memset(t, 0, sizeof *t);
}

int train_finished(const Trainer *t)
{
    return t->epoch > t->cfg.epochs || (t->cfg.max_steps > 0 && t->step >= t->cfg.max_steps);
}

double train_epoch_progress(const Trainer *t)
{
    return t->n_windows ? (double)t->window / (double)t->n_windows : 0.0;
}

TpStatus train_teacher_init(TrainTeacher *tt, Model *teacher, const Model *student, int T, int B, float alpha)
{
    memset(tt, 0, sizeof *tt);
    if (teacher->cfg.task != MODEL_TASK_LM || student->cfg.task != MODEL_TASK_LM)
        return err_set(TP_EINVAL, "distill: teacher and student must be language models");
    if (teacher->cfg.n_vocab != student->cfg.n_vocab)
        return err_set(TP_EINVAL, "distill: the teacher has %d words, the student %d: they must share the vocabulary",
                       teacher->cfg.n_vocab, student->cfg.n_vocab);
    if (!(alpha >= 0.0f && alpha <= 1.0f)) return err_set(TP_ERANGE, "distill: alpha %g is not in 0..1", (double)alpha);
    if (T < 1 || B < 1) return err_set(TP_EINVAL, "distill: window %d x %d", T, B);
    TpStatus st = model_reserve(teacher, T, B);
    if (st == TP_OK) st = model_state_init(&tt->state, teacher, B);
    if (st == TP_OK && !(tt->prev = malloc(2 * (size_t)T * B * sizeof(int32_t))))
        st = err_set(TP_ENOMEM, "distill: out of memory");
    if (st != TP_OK) {
        train_teacher_free(tt);
        return st;
    }
    tt->model = teacher;
    tt->alpha = alpha;
    return TP_OK;
}

void train_teacher_free(TrainTeacher *tt)
{
    model_state_free(&tt->state);
    free(tt->prev);
    memset(tt, 0, sizeof *tt);
}

void train_distill_grad(float *dlogits, float *tlogits, const int32_t *y, int N, int V, float alpha, float grad_scale)
{
    const float a = alpha * grad_scale;
    for (int r = 0; r < N; r++) {
        float *q = tlogits + (size_t)r * V, *d = dlogits + (size_t)r * V;
        vmath_softmax_rows(q, 1, V);
        /* d = gs (p - onehot) on entry; + gs alpha (onehot - q) */
        for (int v = 0; v < V; v++) d[v] -= a * q[v];
        d[y[r]] += a;
    }
}

double train_distill_loss(const float *slogits, const float *tlogits, const int32_t *y, int N, int V, float alpha)
{
    double loss = 0.0;
    for (int r = 0; r < N; r++) {
        const float *z = slogits + (size_t)r * V, *u = tlogits + (size_t)r * V;
        double zm = z[0], um = u[0], zs = 0.0, us = 0.0;
        for (int v = 1; v < V; v++) {
            if (z[v] > zm) zm = z[v];
            if (u[v] > um) um = u[v];
        }
        for (int v = 0; v < V; v++) {
            zs += exp(z[v] - zm);
            us += exp(u[v] - um);
        }
        double lse = zm + log(zs), soft = 0.0;
        for (int v = 0; v < V; v++) soft += exp(u[v] - um) / us * (z[v] - lse);
        loss += -(1.0 - alpha) * (z[y[r]] - lse) - alpha * soft;
    }
    return loss;
}

/* The teacher's logits for the current window (t->x) in its activation buffers: its state rebuilt
 * from zero over the previous window (none at the first window of an epoch), then the window. */
static TpStatus teacher_window(Trainer *t, TrainTeacher *tt, int Tw)
{
    const int B = t->cfg.batch;
    model_state_zero(&tt->state, tt->model);
    TpStatus s = TP_OK;
    if (t->window > 0) {
        int Tp = 0;
        int32_t *px = tt->prev, *py = tt->prev + (size_t)t->cfg.bptt * B;
        corpus_window(px, py, &Tp, t->data, B, t->L, t->cfg.bptt, t->window - 1);
        if ((s = model_forward_state(tt->model, &tt->state, px, Tp, B)) != TP_OK) return s;
    }
    return model_forward_logits(tt->model, &tt->state, t->x, Tw, B);
}

TpStatus train_step(Trainer *t, TrainStepInfo *info)
{
    Model *m = t->model;
    const int B = t->cfg.batch;
    double t0 = clock_now();
    int Tw;
    memset(info, 0, sizeof *info);
    if (t->window == 0) model_state_zero(&t->state, m);
    corpus_window(t->x, t->y, &Tw, t->data, B, t->L, t->cfg.bptt, t->window);
    /* Keep the state and dropout stream as they were if this step fails, so it can be retried. */
    double nll = 0.0;
    TpStatus s;
    if (t->dev && t->teacher)
        return err_set(TP_EINVAL, "train: distillation runs on the CPU trainer (the %s backend has no teacher); "
                                  "`distill off` or train on the CPU", train_backend_name(t));
    if (t->dev && t->avg.mean)
        return err_set(TP_EINVAL, "train: weight averaging runs on the CPU trainer (its samples are the host's "
                                  "weights); `average off` or train on the CPU");
    if (t->dev) {
        if (t->window == 0 && (s = devtrain_state_zero(t->dev)) != TP_OK) return s;
        s = devtrain_step(t->dev, t->x, t->y, Tw, t->opt.lr, t->cfg.clip, t->step, &nll, &info->grad_norm);
        if (s != TP_OK) return s;
        t->dev_ahead = 1;
    } else {
        TrainTeacher *tt = t->teacher;
        if (tt && (s = teacher_window(t, tt, Tw)) != TP_OK) return s;
        model_zero_grad(m);
        s = model_forward(m, &t->state, t->x, t->y, Tw, B, 1, 1.0f / (float)B, &t->rng, &nll, NULL);
        if (s != TP_OK) return s;
        if (tt) train_distill_grad(m->logits, tt->model->logits, t->y, Tw * B, m->cfg.n_vocab, tt->alpha, 1.0f / (float)B);
        model_backward(m, Tw, B);
        s = optim_clip(m->g, m->n_params, t->cfg.clip, &info->grad_norm);
        if (s != TP_OK) return s;
        optim_step(&t->opt, m->w, m->g, m->mask);
    }
    int N = Tw * B;
    info->loss = nll / N;
    info->tokens = N;
    train_advance(t, info, nll, N, t0);
    return TP_OK;
}

void train_advance(Trainer *t, TrainStepInfo *info, double nll, long units, double t0)
{
    t->ep_nll += nll;
    t->ep_tokens += units;
    t->step++;
    t->window++;
    if (t->avg.mean && (t->step - t->avg.start) % t->avg.every == 0) train_average_sample(t);
    if (t->window >= t->n_windows) {
        info->epoch_done = 1;
        t->last_epoch_loss = t->ep_tokens ? t->ep_nll / (double)t->ep_tokens : NAN;
        t->window = 0;
        t->epoch++;
        t->ep_nll = 0.0;
        t->ep_tokens = 0;
        t->ep_seconds = 0.0;
        t->opt.lr = optim_schedule_lr(t->cfg.lr, t->cfg.lr_decay, t->cfg.decay_start, t->epoch);
    }
    info->seconds = clock_now() - t0;
    t->ep_seconds += info->seconds;
}

TpStatus train_average_begin(Trainer *t, int every)
{
    if (every < 1) return err_set(TP_ERANGE, "average: every=%d: expected >= 1 steps between samples", every);
    if (t->dev)
        return err_set(TP_EINVAL, "average: weight averaging runs on the CPU trainer (the %s backend keeps the "
                                  "weights); train on the CPU", train_backend_name(t));
    float *mean = calloc(t->model->n_params, sizeof(float));
    if (!mean) return err_set(TP_ENOMEM, "average: out of memory (%zu parameters)", t->model->n_params);
    train_average_end(t);
    t->avg = (TrainAverage){mean, t->model->n_params, 0, t->step, every};
    return TP_OK;
}

void train_average_end(Trainer *t)
{
    free(t->avg.mean);
    memset(&t->avg, 0, sizeof t->avg);
}

void train_average_sample(Trainer *t)
{
    TrainAverage *a = &t->avg;
    if (!a->mean || a->n != t->model->n_params) return;
    const float *w = t->model->w;
    const float k = 1.0f / (float)(a->count + 1);
    for (size_t i = 0; i < a->n; i++) a->mean[i] += (w[i] - a->mean[i]) * k;
    a->count++;
}

static TpStatus average_usable(const Trainer *t)
{
    const TrainAverage *a = &t->avg;
    if (!a->mean) return err_set(TP_EINVAL, "average: no weight average is running (`average start`)");
    if (a->n != t->model->n_params)
        return err_set(TP_EINVAL, "average: the model's layout changed since averaging began (%zu -> %zu parameters)",
                       a->n, t->model->n_params);
    if (a->count < 1)
        return err_set(TP_EINVAL, "average: no sample yet (one every %d steps from step %ld; now at step %ld)", a->every,
                       a->start, t->step);
    return TP_OK;
}

/* the live weights take the mean; pruned ones stay exact zeros */
static void put_mean(Model *m, const float *mean)
{
    for (size_t i = 0; i < m->n_params; i++) m->w[i] = m->mask[i] ? mean[i] : 0.0f;
}

TpStatus train_average_apply(Trainer *t)
{
    TpStatus st = average_usable(t);
    if (st != TP_OK) return st;
    put_mean(t->model, t->avg.mean);
    train_average_end(t);
    return TP_OK;
}

TpStatus train_average_lend(Trainer *t, float **saved)
{
    *saved = NULL;
    TpStatus st = average_usable(t);
    if (st != TP_OK) return st;
    Model *m = t->model;
    float *w = malloc(m->n_params * sizeof(float));
    if (!w) return err_set(TP_ENOMEM, "average: out of memory (%zu parameters)", m->n_params);
    memcpy(w, m->w, m->n_params * sizeof(float));
    put_mean(m, t->avg.mean);
    *saved = w;
    return TP_OK;
}

void train_average_return(Trainer *t, float *saved)
{
    if (!saved) return;
    memcpy(t->model->w, saved, t->model->n_params * sizeof(float));
    free(saved);
}

TpStatus train_evaluate(Model *m, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r)
{
    return train_evaluate_progress(m, ids, n, eval_batch, window, r, NULL, NULL);
}

TpStatus train_evaluate_progress(Model *m, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r,
                                 TrainEvalProgress fn, void *ctx)
{
    memset(r, 0, sizeof *r);
    if (eval_batch < 1) return err_set(TP_ERANGE, "--eval-batch: expected >= 1, got %d", eval_batch);
    if (window < 1) window = 64;
    double t0 = clock_now();
    int32_t *data = NULL, *x = NULL, *y = NULL;
    size_t L = 0;
    ModelState st = {0};
    TpStatus s = corpus_batchify(&data, &L, ids, n, eval_batch);
    if (s != TP_OK) return s;
    if (L < 2) {
        free(data);
        return err_set(TP_EINVAL, "evaluation split too short: %zu tokens for %d stream(s)", n, eval_batch);
    }
    x = malloc((size_t)window * eval_batch * sizeof(int32_t));
    y = malloc((size_t)window * eval_batch * sizeof(int32_t));
    if (!x || !y) {
        s = err_set(TP_ENOMEM, "eval: out of memory");
        goto done;
    }
    if ((s = model_reserve(m, window, eval_batch)) != TP_OK) goto done;
    if ((s = model_state_init(&st, m, eval_batch)) != TP_OK) goto done;
    double nll = 0.0;
    long correct = 0, tokens = 0;
    size_t nw = corpus_n_windows(L, window);
    for (size_t w = 0; w < nw; w++) {
        int Tw;
        double part = 0.0;
        corpus_window(x, y, &Tw, data, eval_batch, L, window, w);
        s = model_forward(m, &st, x, y, Tw, eval_batch, 0, 0.0f, NULL, &part, &correct);
        if (s != TP_OK) goto done;
        nll += part;
        tokens += (long)Tw * eval_batch;
        if (fn && fn(ctx, (double)(w + 1) / (double)nw)) {
            s = err_set(TP_ECANCEL, "evaluation cancelled");
            goto done;
        }
    }
    r->tokens = tokens;
    r->loss = nll / (double)tokens;
    r->ppl = exp(r->loss);
    r->accuracy = (double)correct / (double)tokens;
    r->seconds = clock_now() - t0;
done:
    model_state_free(&st);
    free(data);
    free(x);
    free(y);
    return s;
}
