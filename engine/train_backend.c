/* engine/train_backend: the trainer on a table of operations (train.h's train_use_backend and the
 * pull/push protocol), so engine/train.c keeps the CPU trainer alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

#include "devtrain.h"
#include "train.h"

/* the carried state, host <-> backend (the host's ModelState is the CPU trainer's) */
static TpStatus state_copy(Trainer *t, int to_backend)
{
    Devtrain *d = t->dev;
    for (int l = 0; l < t->model->cfg.n_layers; l++) {
        size_t bytes = (size_t)t->cfg.batch * t->model->cfg.hidden[l] * sizeof(float);
        TpStatus s = to_backend ? d->ops->upload(d->L[l].sh, t->state.h[l], bytes)
                                : d->ops->download(t->state.h[l], d->L[l].sh, bytes);
        if (s == TP_OK)
            s = to_backend ? d->ops->upload(d->L[l].sc, t->state.c[l], bytes)
                           : d->ops->download(t->state.c[l], d->L[l].sc, bytes);
        if (s != TP_OK) return s;
    }
    return TP_OK;
}

TpStatus train_pull(Trainer *t)
{
    if (!t->dev || !t->dev_ahead) return TP_OK;
    TpStatus s = devtrain_pull(t->dev, t->model, &t->opt);
    if (s == TP_OK) s = state_copy(t, 0);
    if (s != TP_OK) return err_wrap(s, "copying the model back from %s: ", t->dev->ops->name);
    t->dev_ahead = 0;
    return TP_OK;
}

/* the model's layout changed on the host (a resize, a restored snapshot of other sizes): rebuild */
static int layout_changed(const Devtrain *d, const Model *m)
{
    if (d->n_params != m->n_params || d->n_tensors != m->n_tensors || d->cfg.n_layers != m->cfg.n_layers) return 1;
    if ((d->cfg.dropout > 0.0f) != (m->cfg.dropout > 0.0f)) return 1; /* dropout buffers exist or not */
    for (int i = 0; i < m->n_tensors; i++)
        if (d->off[i] != m->p[i].off) return 1;
    for (int l = 0; l < m->cfg.n_layers; l++)
        if (d->cfg.hidden[l] != m->cfg.hidden[l]) return 1;
    return 0;
}

TpStatus train_push(Trainer *t)
{
    if (!t->dev) return TP_OK;
    if (layout_changed(t->dev, t->model)) {
        const BackendOps *ops = t->dev->ops;
        devtrain_free(t->dev);
        TpStatus s = devtrain_init(t->dev, ops, t->model, &t->opt, t->cfg.bptt, t->cfg.batch, t->cfg.seed);
        if (s != TP_OK) { /* back to the CPU trainer, whose model is the host's, intact */
            free(t->dev);
            t->dev = NULL;
            t->dev_ahead = 0;
            return err_wrap(s, "re-creating the model on the device after a resize: ");
        }
    }
    t->dev->cfg = t->model->cfg; /* dropout, tau may have been changed by a verb */
    TpStatus s = devtrain_push(t->dev, t->model, &t->opt);
    if (s == TP_OK) s = state_copy(t, 1);
    if (s != TP_OK) return err_wrap(s, "copying the model to %s: ", t->dev->ops->name);
    t->dev_ahead = 0;
    return TP_OK;
}

TpStatus train_use_backend(Trainer *t, const BackendOps *ops)
{
    TpStatus s = train_pull(t);
    if (s != TP_OK) return s;
    if (t->dev) {
        devtrain_free(t->dev);
        free(t->dev);
        t->dev = NULL;
    }
    if (!ops) return TP_OK;
    if (t->avg.mean)
        return err_set(TP_ENOTAVAIL, "a weight average is running: it samples the host's weights, so training stays "
                                     "on the CPU (`average apply` or `average off` first)");
    Devtrain *d = calloc(1, sizeof *d);
    if (!d) return err_set(TP_ENOMEM, "out of memory");
    s = devtrain_init(d, ops, t->model, &t->opt, t->cfg.bptt, t->cfg.batch, t->cfg.seed);
    if (s != TP_OK) {
        free(d);
        return s;
    }
    t->dev = d;
    if ((s = state_copy(t, 1)) != TP_OK) {
        devtrain_free(d);
        free(d);
        t->dev = NULL;
        return s;
    }
    return TP_OK;
}

const char *train_backend_name(const Trainer *t) { return t->dev ? t->dev->ops->name : "cpu"; }

double train_state_sparsity(Trainer *t, int reset)
{
    return t->dev ? devtrain_state_sparsity(t->dev, reset) : model_state_sparsity(t->model, reset);
}

TpStatus train_evaluate_backend(Trainer *t, const int32_t *ids, size_t n, int eval_batch, int window, EvalResult *r,
                                TrainEvalProgress fn, void *ctx)
{
    if (!t->dev) return train_evaluate_progress(t->model, ids, n, eval_batch, window, r, fn, ctx);
    memset(r, 0, sizeof *r);
    double t0 = clock_now(), nll = 0.0;
    long tokens = 0, hits = 0;
    TpStatus s = devtrain_evaluate(t->dev, ids, n, eval_batch, window, fn, ctx, &nll, &tokens, &hits);
    if (s != TP_OK) return s;
    r->tokens = tokens;
    r->loss = nll / (double)tokens;
    r->ppl = exp(r->loss);
    r->accuracy = (double)hits / (double)tokens;
    r->seconds = clock_now() - t0;
    return TP_OK;
}
