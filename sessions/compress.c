/* sessions/compress: see compress.h. */
#include "compress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/corpus.h"
#include "engine/optim.h"
#include "sessions/events.h"
#include "sessions/session.h"

TpStatus compress_init(Session *s) { return gpstate_init(&s->gp, &s->model); }

void compress_free(Session *s) { gpstate_free(&s->gp); }

TpStatus compress_relayout(Session *s)
{
    GpState *c = &s->gp;
    train_average_end(&s->trainer); /* its mean has the old layout */
    ScheduleConfig cfg = c->sched.cfg;
    TpStatus st = compress_init(s);
    if (st != TP_OK) return st;
    if (cfg.kind != SCHEDULE_OFF) {
        schedule_free(&c->sched);
        st = schedule_init(&c->sched, &cfg);
    }
    return st;
}

TpStatus compress_prune(Session *s, const PruneConfig *cfg, int dry, PruneResult *r)
{
    if (dry) return prune_preview(&s->model, r, cfg);
    TpStatus st = prune_apply(&s->model, s->gp.ever_pruned, r, cfg);
    if (st == TP_OK) optim_sync_mask(&s->trainer.opt, s->model.mask);
    return st;
}

TpStatus compress_vocab_order(const Session *s, int32_t **order)
{
    *order = NULL;
    const Corpus *c = &s->corpus;
    if (c->n_ids[CORPUS_TRAIN] == 0 || c->n_vocab < 1)
        return err_set(TP_EINVAL, "rows=freq: the session's training split has no tokens to count (a text task only)");
    int32_t *o = malloc((size_t)c->n_vocab * sizeof *o);
    if (!o) return err_set(TP_ENOMEM, "rows=freq: out of memory");
    TpStatus st = mask_vocab_frequency_order(o, c->n_vocab, c->ids[CORPUS_TRAIN], c->n_ids[CORPUS_TRAIN]);
    if (st != TP_OK) {
        free(o);
        return st;
    }
    *order = o;
    return TP_OK;
}

typedef TpStatus (*PeekFn)(void *ctx, Model *m, int Tw, int B);

static TpStatus add_to_accum(void *ctx, Model *m, int Tw, int B)
{
    (void)Tw;
    (void)B;
    return grow_accum_add(ctx, m);
}

/* Gradients of the next K training windows, without changing the weights or the trainer; fn sees
 * each minibatch after its backward. */
static TpStatus peek_gradients(Session *s, int K, PeekFn fn, void *ctx)
{
    Trainer *t = &s->trainer;
    Model *m = &s->model;
    const int B = t->cfg.batch;
    if (task_is_asr(&s->task)) { /* the speech task: whole utterances, no carried state */
        TpStatus rc = TP_OK;
        for (int k = 0; k < K && rc == TP_OK; k++) {
            double loss;
            rc = speech_gradient(s->speech, t, (long)t->window + k, &loss);
            if (rc == TP_OK) rc = fn(ctx, m, 0, 0);
        }
        return rc;
    }
    ModelState st;
    TpStatus rc = model_state_init(&st, m, B);
    if (rc != TP_OK) return rc;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        memcpy(st.h[l], t->state.h[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
        memcpy(st.c[l], t->state.c[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
    }
    Rng rng = t->rng;
    size_t w = t->window;
    for (int k = 0; k < K && rc == TP_OK; k++, w++) {
        if (w >= t->n_windows) {
            w = 0;
            model_state_zero(&st, m);
        }
        int Tw;
        double nll;
        corpus_window(t->x, t->y, &Tw, t->data, B, t->L, t->cfg.bptt, w);
        model_zero_grad(m);
        rc = model_forward(m, &st, t->x, t->y, Tw, B, 1, 1.0f / (float)B, &rng, &nll, NULL);
        if (rc != TP_OK) break;
        model_backward(m, Tw, B);
        rc = fn(ctx, m, Tw, B);
    }
    model_state_free(&st);
    return rc;
}

TpStatus compress_grow(Session *s, const GrowConfig *cfg, int batches, int dry, GrowResult *r)
{
    GpState *c = &s->gp;
    if (batches < 1) batches = 1;
    TpStatus st = TP_OK;
    if (c->acc.n_batches < batches) st = peek_gradients(s, batches - c->acc.n_batches, add_to_accum, &c->acc);
    if (st != TP_OK) return st;
    GrowConfig g = *cfg;
    if (g.lr <= 0.0f) g.lr = s->trainer.opt.lr;
    if (dry) return grow_preview(&s->model, r, &c->acc, c->ever_pruned, &g);
    st = grow_apply(&s->model, r, &c->acc, c->ever_pruned, &g);
    if (st == TP_OK) grow_accum_reset(&c->acc);
    return st;
}

TpStatus compress_schedule_set(Session *s, const ScheduleConfig *cfg) { return gpstate_schedule_set(&s->gp, cfg); }

TpStatus compress_schedule_tick(Session *s, int *changed)
{
    GpState *c = &s->gp;
    *changed = 0;
    if (c->sched.cfg.kind == SCHEDULE_OFF) return TP_OK;
    long step = s->trainer.step;
    for (int guard = 0; guard < 16; guard++) {
        ScheduleAction a = schedule_step(&c->sched, step);
        TpStatus st = TP_OK;
        /* a change of the masks is an event (sessions/events): measured before and after, recorded, said */
        int is_change = a.kind == SCHEDULE_PRUNE || a.kind == SCHEDULE_GROW || a.kind == SCHEDULE_RESTORE_LAST_GOOD;
        SessionEvent ev;
        if (is_change && (st = events_begin(s, &ev, a.kind == SCHEDULE_PRUNE ? "prune" : a.kind == SCHEDULE_GROW ? "grow"
                                                   : "restore", "schedule")) != TP_OK)
            return err_wrap(st, "schedule at step %ld: ", step);
        switch (a.kind) {
        case SCHEDULE_NONE:
            return TP_OK;
        case SCHEDULE_DONE:
            snprintf(c->last_event, sizeof c->last_event, "step %ld: schedule done", step);
            return TP_OK;
        case SCHEDULE_PRUNE: {
            PruneConfig p = prune_config_default();
            p.params = c->params[0] ? c->params : NULL;
            p.mode = a.prune_mode;
            p.amount = a.value;
            if (c->sched.cfg.block_r > 0) {
                p.pattern = PRUNE_BLOCK;
                p.block_r = c->sched.cfg.block_r;
                p.block_c = c->sched.cfg.block_c;
            }
            PruneResult r;
            st = compress_prune(s, &p, 0, &r);
            if (st == TP_OK)
                snprintf(c->last_event, sizeof c->last_event, "step %ld: pruned %zu (selected matrices %.1f %% -> %.1f %% sparse)", step,
                         r.removed, 100 * r.sparsity_before, 100 * r.sparsity_after);
            *changed = 1;
            break;
        }
        case SCHEDULE_GROW: {
            GrowConfig g = grow_config_default();
            g.params = c->params[0] ? c->params : NULL;
            g.ratio = a.value;
            g.lr = s->trainer.opt.lr;
            if (c->sched.cfg.block_r > 0) {
                g.block_r = c->sched.cfg.block_r;
                g.block_c = c->sched.cfg.block_c;
            }
            GrowResult r;
            st = grow_apply(&s->model, &r, &c->acc, c->ever_pruned, &g);
            grow_accum_reset(&c->acc);
            if (st == TP_OK)
                snprintf(c->last_event, sizeof c->last_event, "step %ld: grew %zu connections", step, r.grown);
            *changed = 1;
            break;
        }
        case SCHEDULE_EVAL_NEEDED: {
            if (task_is_asr(&s->task)) { /* the speech task's figure: the valid CTC loss per utterance */
                SpeechEval e;
                st = speech_evaluate(s->speech, &s->model, CORPUS_VALID, 1, &e, NULL, NULL);
                if (st == TP_OK) st = schedule_report_ppl(&c->sched, &s->model, e.loss);
                if (st == TP_OK) {
                    s->valid_wer = e.wer;
                    s->valid_cer = e.cer;
                    snprintf(c->last_event, sizeof c->last_event, "step %ld: valid loss %.3f (best %.3f), WER %.1f %%",
                             step, e.loss, c->sched.best_ppl, 100.0 * e.wer);
                }
                break;
            }
            EvalResult e;
            st = train_evaluate(&s->model, s->corpus.ids[CORPUS_VALID], s->corpus.n_ids[CORPUS_VALID],
                                s->task.eval_batch, 64, &e);
            if (st == TP_OK) st = schedule_report_ppl(&c->sched, &s->model, e.ppl);
            if (st == TP_OK) {
                s->valid_ppl = e.ppl;
                snprintf(c->last_event, sizeof c->last_event, "step %ld: valid ppl %.2f (best %.2f)", step, e.ppl,
                         c->sched.best_ppl);
            }
            break;
        }
        case SCHEDULE_RESTORE_LAST_GOOD:
            st = schedule_restore(&c->sched, &s->model);
            if (st == TP_OK) {
                optim_sync_mask(&s->trainer.opt, s->model.mask);
                snprintf(c->last_event, sizeof c->last_event, "step %ld: ppl above tolerance, restored the last good masks",
                         step);
            }
            *changed = 1;
            break;
        }
        /* a prune or growth that changed nothing (AGP already at its target) is no event */
        if (st == TP_OK && is_change && (a.kind == SCHEDULE_RESTORE_LAST_GOOD || model_nnz(&s->model) != ev.nnz_before)) {
            const char *what = strchr(c->last_event, ':'); /* "step S: what" */
            st = events_end(s, &ev, what ? what + 2 : c->last_event);
            if (st == TP_OK && s->n_notes) snprintf(c->last_event, sizeof c->last_event, "%.199s", s->notes[s->n_notes - 1].text);
        }
        if (st != TP_OK) return err_wrap(st, "schedule at step %ld: ", step);
        c->sched_events++;
    }
    return TP_OK;
}

TpStatus compress_after_step(Session *s, const TrainStepInfo *info)
{
    GpState *c = &s->gp;
    if (c->sched.cfg.kind == SCHEDULE_OFF || !schedule_wants_grad(&c->sched)) return TP_OK;
    return grow_accum_add_clipped(&c->acc, &s->model, info->grad_norm, s->trainer.cfg.clip);
}

const char *compress_schedule_describe(const Session *s, char *buf, size_t n)
{
    const Schedule *sc = &s->gp.sched;
    const ScheduleConfig *c = &sc->cfg;
    char extra[160] = "";
    if (s->gp.params[0] && c->kind == SCHEDULE_AGP) snprintf(extra, sizeof extra, " params=%s", s->gp.params);
    if (c->kind != SCHEDULE_OFF && c->block_r > 0)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " pattern=block block=%dx%d", c->block_r, c->block_c);
    if (c->kind == SCHEDULE_OFF) snprintf(buf, n, "none");
    else if (c->kind == SCHEDULE_AGP)
        snprintf(buf, n, "agp from=%g to=%g start=%ld end=%ld every=%ld%s (%s)", c->from, c->to, c->start, c->end,
                 c->every, extra, schedule_phase_name(sc));
    else
        snprintf(buf, n, "gp grow=%g prune=%g every=%ld tolerance=%g%s (%s, cycle %d)", c->grow_ratio, c->prune_ratio,
                 c->every, c->tolerance, extra, schedule_phase_name(sc), sc->cycle);
    return buf;
}

static TpStatus add_to_bridge(void *ctx, Model *m, int Tw, int B) { return resize_bridge_add(ctx, m, Tw, B); }

TpStatus compress_tie(Session *s, const char *from, char *what, size_t n)
{
    Model *m = &s->model;
    Optim *o = &s->trainer.opt;
    if (task_is_asr(&s->task)) return speech_refuse("tie", "the speech model has no embedding to tie to its decoder");
    size_t before = model_nnz(m);
    float *extra[2] = {o->m, o->v};
    int n_extra = o->kind == OPTIM_ADAM && o->m && o->v ? 2 : 0;
    TpStatus st = model_tie(m, from, extra, n_extra);
    if (st != TP_OK) return st;
    if (n_extra) o->m = extra[0], o->v = extra[1];
    o->n = m->n_params;
    s->task.model.tie = 1;
    int averaged = s->trainer.avg.mean != NULL;
    if ((st = compress_relayout(s)) != TP_OK) return st;
    snprintf(what, n, "embed.weight is now also the decoder's weight (taken from %s.weight): %zu -> %zu non-zeros, "
             "%zu parameters%s", from, before, model_nnz(m), m->n_params,
             averaged ? "; the weight average ended (the layout changed)" : "");
    return TP_OK;
}

TpStatus compress_resize(Session *s, int layer, int hidden, ResizeInitKind kind, int batches, char *what, size_t n)
{
    Model *m = &s->model;
    if (layer < 0 || layer >= m->cfg.n_layers)
        return err_set(TP_ERANGE, "resize: layer=%d: the model has layers 0..%d", layer, m->cfg.n_layers - 1);
    int old = m->cfg.hidden[layer];
    if (hidden == old) {
        snprintf(what, n, "layer %d already has %d units", layer, old);
        return TP_OK;
    }
    ResizeBridge bridge;
    memset(&bridge, 0, sizeof bridge);
    Rng rng = s->trainer.rng; /* a copy: the dropout stream of training stays as it was */
    ResizeInit init = {.kind = kind, .scale = 0.0f, .rng = &rng, .bridge = NULL};
    TpStatus st = TP_OK;
    int asr = task_is_asr(&s->task);
    if (hidden > old && kind == RESIZE_INIT_GRAD && asr)
        return speech_refuse("resize init=grad", "the gradient bridge follows the LM's windows; use init=zero or fanin");
    if (hidden > old && kind == RESIZE_INIT_GRAD) {
        st = resize_bridge_init(&bridge, m, layer, s->trainer.cfg.bptt, s->trainer.cfg.batch);
        if (st == TP_OK) st = peek_gradients(s, batches < 1 ? 1 : batches, add_to_bridge, &bridge);
        init.bridge = &bridge;
    }
    if (st == TP_OK) st = resize_layer(m, &s->trainer.opt, asr ? NULL : &s->trainer.state, layer, hidden, init, NULL);
    resize_bridge_free(&bridge);
    if (st != TP_OK) return st;
    s->task.model.hidden[layer] = hidden;
    int averaged = s->trainer.avg.mean != NULL;
    if ((st = compress_relayout(s)) != TP_OK) return st;
    snprintf(what, n, "layer %d: %d -> %d units (%s)%s", layer, old, hidden,
             hidden < old ? "least important removed" : kind == RESIZE_INIT_GRAD ? "NeST growth from gradients"
                                                      : kind == RESIZE_INIT_FANIN ? "new units: random fan-in, zero fan-out"
                                                                                  : "new units: zero",
             averaged ? "; the weight average ended (the layout changed)" : "");
    return TP_OK;
}
