/* engine/asr_train: the ASR model's training step and evaluation (asr.h).  The optimizer, the
 * clipping and the masked update are engine/optim's, as for the LM. */
#include "asr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc.h"
#include "base/clock.h"

TpStatus asr_train_init(AsrTrainer *t, Model *m, const AsrTrainConfig *cfg)
{
    memset(t, 0, sizeof *t);
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr)) return err_set(TP_ERANGE, "--lr: expected > 0, got %g", (double)cfg->lr);
    if (!(cfg->clip >= 0.0f) || !isfinite(cfg->clip))
        return err_set(TP_ERANGE, "--clip: expected >= 0, got %g", (double)cfg->clip);
    TpStatus s = asr_net_init(&t->net, m);
    if (s != TP_OK) return s;
    if ((s = optim_init(&t->opt, cfg->optim, cfg->lr, m->n_params)) != TP_OK) {
        asr_net_free(&t->net);
        return s;
    }
    t->cfg = *cfg;
    t->model = m;
    rng_seed(&t->rng, cfg->seed);
    return TP_OK;
}

void asr_train_free(AsrTrainer *t)
{
    asr_net_free(&t->net);
    optim_free(&t->opt);
    memset(t, 0, sizeof *t);
}

/* is utterance u scorable: long enough for the kernels and for its labels? */
static int feasible(const ModelConfig *c, const AsrUtterance *u)
{
    int To = asr_out_frames(c, u->T);
    return To >= 1 && ctc_min_frames(u->labels, u->L) <= To;
}

/* The scorable utterances of a minibatch as one padded batch (asr_batch): summed loss and output frames. */
static TpStatus padded_step(AsrTrainer *t, const AsrUtterance *batch, int n, int scored, double *sum, long *frames)
{
    const float **feat = malloc((size_t)scored * sizeof *feat);
    const int32_t **labels = malloc((size_t)scored * sizeof *labels);
    int *T = malloc((size_t)scored * sizeof *T), *L = malloc((size_t)scored * sizeof *L);
    double *loss = malloc((size_t)scored * sizeof *loss);
    TpStatus s = feat && labels && T && L && loss ? TP_OK : err_set(TP_ENOMEM, "asr: out of memory for a minibatch");
    int k = 0;
    for (int i = 0; i < n && s == TP_OK; i++) {
        if (!feasible(&t->model->cfg, &batch[i])) continue;
        feat[k] = batch[i].feat, T[k] = batch[i].T, labels[k] = batch[i].labels, L[k] = batch[i].L;
        k++;
    }
    if (s == TP_OK) s = asr_batch(&t->net, feat, T, labels, L, scored, 1, 1.0f / (float)scored, &t->rng, loss);
    for (int i = 0; i < scored && s == TP_OK; i++) {
        if (!isfinite(loss[i])) s = err_set(TP_ENAN, "asr: utterance %d: the loss is not finite", i);
        *sum += loss[i];
        *frames += asr_out_frames(&t->model->cfg, T[i]);
    }
    free(feat);
    free(labels);
    free(T);
    free(L);
    free(loss);
    return s;
}

TpStatus asr_train_step(AsrTrainer *t, const AsrUtterance *batch, int n, AsrStepInfo *info)
{
    Model *m = t->model;
    double t0 = clock_now();
    memset(info, 0, sizeof *info);
    if (n < 1) return err_set(TP_EINVAL, "asr: an empty minibatch");
    if (t->opt.n != m->n_params)
        return err_set(TP_EINVAL, "asr: the optimizer holds %zu entries, the model %zu (resize with the trainer's "
                                  "optimizer)", t->opt.n, m->n_params);
    int scored = 0;
    for (int i = 0; i < n; i++) scored += feasible(&m->cfg, &batch[i]);
    info->n_skipped = n - scored;
    if (scored == 0) return TP_OK;
    Rng saved = t->rng; /* a failed step leaves the dropout stream as it was */
    model_zero_grad(m);
    double sum = 0.0;
    long frames = 0;
    TpStatus s = TP_OK;
    if (t->cfg.padded) s = padded_step(t, batch, n, scored, &sum, &frames);
    for (int i = 0; i < n && s == TP_OK && !t->cfg.padded; i++) {
        if (!feasible(&m->cfg, &batch[i])) continue;
        double loss;
        s = asr_utterance(&t->net, batch[i].feat, batch[i].T, batch[i].labels, batch[i].L, 1, 1.0f / (float)scored,
                          &t->rng, &loss);
        if (s == TP_OK && !isfinite(loss)) s = err_set(TP_ENAN, "asr: utterance %d: the loss is not finite", i);
        sum += loss;
        frames += t->net.T_out;
    }
    if (s == TP_OK) s = optim_clip(m->g, m->n_params, t->cfg.clip, &info->grad_norm);
    if (s != TP_OK) {
        t->rng = saved;
        return s;
    }
    optim_step(&t->opt, m->w, m->g, m->mask);
    t->step++;
    info->n_scored = scored;
    info->loss = sum / scored;
    info->loss_per_frame = sum / (double)frames;
    info->seconds = clock_now() - t0;
    return TP_OK;
}

TpStatus asr_evaluate(AsrNet *net, const AsrUtterance *u, int n, AsrEvalResult *r)
{
    double t0 = clock_now(), sum = 0.0;
    long frames = 0;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < n; i++) {
        if (!feasible(&net->m->cfg, &u[i])) {
            r->n_skipped++;
            continue;
        }
        double loss;
        TpStatus s = asr_utterance(net, u[i].feat, u[i].T, u[i].labels, u[i].L, 0, 0.0f, NULL, &loss);
        if (s != TP_OK) return err_wrap(s, "asr evaluate: utterance %d", i);
        sum += loss;
        frames += net->T_out;
        r->n_scored++;
    }
    r->loss = r->n_scored ? sum / r->n_scored : NAN;
    r->loss_per_frame = frames ? sum / (double)frames : NAN;
    r->seconds = clock_now() - t0;
    return TP_OK;
}
