/* engine/schedule: see schedule.h. */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ScheduleConfig schedule_config_default(ScheduleKind kind)
{
    return (ScheduleConfig){.kind = kind, .from = 0.0, .to = 0.8, .start = 0, .end = 10000,
                            .every = kind == SCHEDULE_GP ? 200 : 100, .grow_ratio = 0.0, .prune_ratio = 0.1,
                            .tolerance = 1.0, .grow_batches = 20, .cycles = 1, .max_prunes = 100};
}

static int is_fraction(double x) { return x >= 0.0 && x <= 1.0; }

static TpStatus check_block(const ScheduleConfig *c)
{
    int none = c->block_r == 0 && c->block_c == 0;
    int ok = c->block_r >= 1 && c->block_r <= MASK_BLOCK_MAX && c->block_c >= 1 && c->block_c <= MASK_BLOCK_MAX;
    if (!none && !ok)
        return err_set(TP_ERANGE, "schedule: block %dx%d: expected R and C in 1..%d", c->block_r, c->block_c, MASK_BLOCK_MAX);
    return TP_OK;
}

TpStatus schedule_config_check(const ScheduleConfig *c)
{
    switch (c->kind) {
    case SCHEDULE_OFF:
        return TP_OK;
    case SCHEDULE_AGP:
        if (!is_fraction(c->from) || !is_fraction(c->to))
            return err_set(TP_ERANGE, "schedule agp: from=%g to=%g: expected sparsities in 0..1", c->from, c->to);
        if (c->start < 0 || c->end < c->start)
            return err_set(TP_ERANGE, "schedule agp: start=%ld end=%ld: expected 0 <= start <= end", c->start,
                           c->end);
        if (c->every < 1) return err_set(TP_ERANGE, "schedule agp: every=%ld: expected >= 1", c->every);
        return check_block(c);
    case SCHEDULE_GP:
        if (!is_fraction(c->grow_ratio))
            return err_set(TP_ERANGE, "schedule gp: grow=%g: expected a fraction in 0..1", c->grow_ratio);
        if (!(c->prune_ratio > 0.0 && c->prune_ratio <= 1.0))
            return err_set(TP_ERANGE, "schedule gp: prune=%g: expected a fraction in (0, 1]", c->prune_ratio);
        if (c->every < 1) return err_set(TP_ERANGE, "schedule gp: every=%ld: expected >= 1", c->every);
        if (!(c->tolerance >= 0.0 && isfinite(c->tolerance)))
            return err_set(TP_ERANGE, "schedule gp: tolerance=%g: expected a perplexity >= 0", c->tolerance);
        if (c->grow_ratio > 0.0 && c->grow_batches < 1)
            return err_set(TP_ERANGE, "schedule gp: batches=%d: expected >= 1", c->grow_batches);
        if (c->cycles < 1) return err_set(TP_ERANGE, "schedule gp: cycles=%d: expected >= 1", c->cycles);
        if (c->max_prunes < 1) return err_set(TP_ERANGE, "schedule gp: max_prunes=%d: expected >= 1", c->max_prunes);
        return check_block(c);
    }
    return err_set(TP_EINVAL, "schedule: unknown kind %d", (int)c->kind);
}

TpStatus schedule_init(Schedule *s, const ScheduleConfig *c)
{
    memset(s, 0, sizeof *s);
    TpStatus st = schedule_config_check(c);
    if (st != TP_OK) return st;
    s->cfg = *c;
    s->next_due = c->start;
    s->phase = GP_START;
    s->mark = -1;
    s->best_ppl = s->last_ppl = s->good_ppl = NAN;
    return TP_OK;
}

void schedule_free(Schedule *s)
{
    free(s->good_w);
    free(s->good_mask);
    s->good_w = NULL;
    s->good_mask = NULL;
    s->n_good = 0;
}

double schedule_agp_value(double s_i, double s_f, long t0, long span, long t)
{
    if (t < t0) return s_i;
    if (span <= 0 || t >= t0 + span) return s_f;
    double r = 1.0 - (double)(t - t0) / (double)span;
    return s_f + (s_i - s_f) * r * r * r;
}

static ScheduleAction act(ScheduleActionKind k, PruneMode mode, double v)
{
    return (ScheduleAction){.kind = k, .prune_mode = mode, .value = v};
}

static ScheduleAction agp_step(Schedule *s, long step)
{
    const ScheduleConfig *c = &s->cfg;
    if (step < s->next_due) return act(SCHEDULE_NONE, PRUNE_RATIO, 0.0);
    double v = schedule_agp_value(c->from, c->to, c->start, c->end - c->start, step);
    if (step >= c->end) s->done_pending = 1; /* the last pruning reaches s_f: then DONE */
    else s->next_due = step + c->every < c->end ? step + c->every : c->end;
    s->n_prunes++;
    return act(SCHEDULE_PRUNE, PRUNE_SPARSITY, v);
}

static void begin_cycle(Schedule *s)
{
    s->phase = s->cfg.grow_ratio > 0.0 ? GP_ACCUM : GP_PRUNE;
    s->phase_prunes = 0;
    s->mark = -1;
}

static void end_cycle(Schedule *s)
{
    s->cycle++;
    if (s->cycle >= s->cfg.cycles) s->done_pending = 1;
    else begin_cycle(s);
}

static ScheduleAction gp_step(Schedule *s, long step)
{
    const ScheduleConfig *c = &s->cfg;
    if (s->mark < 0) s->mark = step;
    switch (s->phase) {
    case GP_START:
        s->awaiting_eval = 1;
        return act(SCHEDULE_EVAL_NEEDED, PRUNE_RATIO, 0.0);
    case GP_ACCUM:
        if (step - s->mark < c->grow_batches) break;
        s->phase = GP_RETRAIN_GROW;
        s->mark = step;
        s->n_grows++;
        return act(SCHEDULE_GROW, PRUNE_RATIO, c->grow_ratio);
    case GP_RETRAIN_GROW:
    case GP_RETRAIN_PRUNE:
        if (step - s->mark < c->every) break;
        s->awaiting_eval = 1;
        return act(SCHEDULE_EVAL_NEEDED, PRUNE_RATIO, 0.0);
    case GP_PRUNE:
        s->phase = GP_RETRAIN_PRUNE;
        s->mark = step;
        s->phase_prunes++;
        s->n_prunes++;
        return act(SCHEDULE_PRUNE, PRUNE_RATIO, c->prune_ratio);
    }
    return act(SCHEDULE_NONE, PRUNE_RATIO, 0.0);
}

ScheduleAction schedule_step(Schedule *s, long step)
{
    if (s->cfg.kind == SCHEDULE_OFF || s->finished) return act(SCHEDULE_NONE, PRUNE_RATIO, 0.0);
    if (s->awaiting_eval) return act(SCHEDULE_EVAL_NEEDED, PRUNE_RATIO, 0.0);
    if (s->restore_pending) {
        s->restore_pending = 0;
        s->n_restores++;
        return act(SCHEDULE_RESTORE_LAST_GOOD, PRUNE_RATIO, 0.0);
    }
    if (s->done_pending) {
        s->done_pending = 0;
        s->finished = 1;
        return act(SCHEDULE_DONE, PRUNE_RATIO, 0.0);
    }
    return s->cfg.kind == SCHEDULE_AGP ? agp_step(s, step) : gp_step(s, step);
}

static TpStatus save_good(Schedule *s, const Model *m)
{
    if (s->n_good != m->n_params) {
        float *w = malloc(m->n_params * sizeof(float));
        uint8_t *mk = malloc(m->n_params);
        if (!w || !mk) {
            free(w);
            free(mk);
            return err_set(TP_ENOMEM, "schedule: out of memory for the last good copy (%zu parameters)", m->n_params);
        }
        schedule_free(s);
        s->good_w = w;
        s->good_mask = mk;
        s->n_good = m->n_params;
    }
    memcpy(s->good_w, m->w, m->n_params * sizeof(float));
    memcpy(s->good_mask, m->mask, m->n_params);
    return TP_OK;
}

TpStatus schedule_report_ppl(Schedule *s, const Model *m, double ppl)
{
    if (!s->awaiting_eval) return err_set(TP_EINVAL, "schedule: no perplexity was asked for");
    const int first = s->phase == GP_START;
    if (first && !isfinite(ppl)) return err_set(TP_ENAN, "schedule gp: baseline perplexity is not finite (%g)", ppl);
    /* the comparison is false for NaN: a non-finite ppl is rejected */
    const int good = first || (isfinite(ppl) && ppl <= s->best_ppl + s->cfg.tolerance);
    if (good) {
        TpStatus st = save_good(s, m);
        if (st != TP_OK) return st;
        s->good_ppl = ppl;
        if (first || ppl < s->best_ppl) s->best_ppl = ppl;
    }
    s->awaiting_eval = 0;
    s->last_ppl = ppl;
    s->n_evals++;
    switch (s->phase) {
    case GP_START:
        begin_cycle(s);
        break;
    case GP_RETRAIN_GROW:
        /* growth that hurt is undone; pruning then starts from the last good model */
        s->restore_pending = !good;
        s->phase = GP_PRUNE;
        s->phase_prunes = 0;
        s->mark = -1;
        break;
    case GP_RETRAIN_PRUNE:
        s->restore_pending = !good;
        if (!good || s->phase_prunes >= s->cfg.max_prunes) {
            end_cycle(s);
        } else {
            s->phase = GP_PRUNE;
            s->mark = -1;
        }
        break;
    case GP_ACCUM:
    case GP_PRUNE:
        break; /* never awaiting an evaluation there */
    }
    return TP_OK;
}

TpStatus schedule_restore(Schedule *s, Model *m)
{
    if (!s->n_good) return err_set(TP_EINVAL, "schedule: no last good model to restore");
    if (s->n_good != m->n_params)
        return err_set(TP_EINVAL, "schedule: the last good copy has %zu parameters, the model %zu (resized?)",
                       s->n_good, m->n_params);
    memcpy(m->w, s->good_w, m->n_params * sizeof(float));
    memcpy(m->mask, s->good_mask, m->n_params);
    return TP_OK;
}

int schedule_wants_grad(const Schedule *s)
{
    return s->cfg.kind == SCHEDULE_GP && !s->finished && !s->done_pending && !s->awaiting_eval &&
           !s->restore_pending && s->phase == GP_ACCUM;
}

const char *schedule_action_name(ScheduleActionKind k)
{
    static const char *names[] = {"none", "prune", "grow", "eval", "restore", "done"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *schedule_phase_name(const Schedule *s)
{
    if (s->cfg.kind == SCHEDULE_OFF) return "off";
    if (s->finished || s->done_pending) return "done";
    if (s->cfg.kind == SCHEDULE_AGP) return "agp";
    if (s->awaiting_eval) return "evaluating";
    switch (s->phase) {
    case GP_START: return "baseline";
    case GP_ACCUM: return "growth";
    case GP_RETRAIN_GROW: return "retrain after growth";
    case GP_PRUNE: return "pruning";
    case GP_RETRAIN_PRUNE: return "retrain after pruning";
    }
    return "?";
}
