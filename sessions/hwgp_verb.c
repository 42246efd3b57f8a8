/* sessions/hwgp (verb): `schedule hwgp ...`, the loop of hwgp.h driving the gp schedule, train,
 * resize and eval verbs through command_execute_nested. */
#include "sessions/hwgp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "engine/mask.h"
#include "sessions/command.h"
#include "sessions/profile.h"
#include "sessions/target.h"

typedef struct {
    char target[160];
    double budget_us, speedup, tolerance, grow, prune;
    long every;
    int cycles, batches, phases, min_h, max_h;
    char sizes[256], params[128], pattern[16], block[8];
    /* targets= mode: the groups, the ramp's prune events, the GP cycle's retraining, fine-tuning */
    HwgpGroup groups[HWGP_MAX_GROUPS];
    int n_groups, ramp, finetune, average; /* average: steps between weight-averaging samples in the fine-tuning, 0 = none */
    long retrain;
} Cfg;

typedef struct {
    Session *s;
    CommandResult *r;
    Cfg c;
    Target *t;
    HwgpStatus st;
    cJSON *history; /* [{phase, stage, sizes, latency_us, ppl, curve_run}] */
    int ramped;     /* targets= mode: the ramp to the targets is done */
    long st_step0;  /* the step the run started at (its first train keeps an undo point) */
} Run;

static double num(const Command *c, const char *k, double dflt)
{
    const char *v = command_arg(c, k);
    return v ? strtod(v, NULL) : dflt;
}

static void str(const Command *c, const char *k, char *dst, size_t n, const char *dflt)
{
    const char *v = command_arg(c, k);
    snprintf(dst, n, "%s", v ? v : dflt);
}

static TpStatus parse(Cfg *c, const Command *cmd, const Session *s)
{
    memset(c, 0, sizeof *c);
    if (!command_arg(cmd, "target")) return err_set(TP_EINVAL, "schedule hwgp: target= is required (cpu, cuda, accel, cmd:NAME)");
    if (!!command_arg(cmd, "budget_us") == !!command_arg(cmd, "speedup"))
        return err_set(TP_EINVAL, "schedule hwgp: give one of budget_us=X or speedup=R");
    static const char *const AGP_ONLY[] = {"from", "to", "start", "end", "span"};
    for (size_t i = 0; i < sizeof AGP_ONLY / sizeof AGP_ONLY[0]; i++)
        if (command_arg(cmd, AGP_ONLY[i])) return err_set(TP_EINVAL, "schedule hwgp: %s= goes with schedule agp", AGP_ONLY[i]);
    str(cmd, "target", c->target, sizeof c->target, "");
    c->budget_us = num(cmd, "budget_us", 0);
    c->speedup = num(cmd, "speedup", 0);
    c->tolerance = num(cmd, "tolerance", 1.0);
    c->grow = num(cmd, "grow", 0.1);
    c->prune = num(cmd, "prune", 0.1);
    c->every = (long)num(cmd, "every", 200);
    c->cycles = (int)num(cmd, "cycles", 1);
    c->batches = (int)num(cmd, "batches", 20);
    c->phases = (int)num(cmd, "phases", 3);
    int hmax = 0;
    for (int l = 0; l < s->model.cfg.n_layers; l++) hmax = s->model.cfg.hidden[l] > hmax ? s->model.cfg.hidden[l] : hmax;
    c->min_h = (int)num(cmd, "min_hidden", 8);
    c->max_h = (int)num(cmd, "max_hidden", hmax * 2 > 4096 ? 4096 : hmax * 2);
    if (c->min_h > c->max_h) return err_set(TP_EINVAL, "schedule hwgp: min_hidden %d > max_hidden %d", c->min_h, c->max_h);
    char dflt[64];
    snprintf(dflt, sizeof dflt, "%d:%d:8", c->min_h, c->max_h);
    str(cmd, "sizes", c->sizes, sizeof c->sizes, dflt);
    int *sz, n;
    TpStatus st = latency_parse_sizes(c->sizes, &sz, &n);
    if (st != TP_OK) return err_wrap(st, "schedule hwgp: sizes: ");
    free(sz);
    str(cmd, "params", c->params, sizeof c->params, "");
    str(cmd, "pattern", c->pattern, sizeof c->pattern, "unstructured");
    str(cmd, "block", c->block, sizeof c->block, "");
    if (c->block[0] && strcmp(c->pattern, "block")) return err_set(TP_EINVAL, "schedule hwgp: block= needs pattern=block");
    if (!strcmp(c->pattern, "block") && !c->block[0]) snprintf(c->block, sizeof c->block, "16x1");
    c->finetune = (int)num(cmd, "finetune", 0);
    c->average = (int)num(cmd, "average", 0);
    if (c->average > 0 && c->finetune < 1)
        return err_set(TP_EINVAL, "schedule hwgp: average=N averages the weights of the fine-tuning: give finetune=E too");
    const char *tg = command_arg(cmd, "targets");
    if (!tg) {
        static const char *const TG_ONLY[] = {"ramp", "retrain"};
        for (size_t i = 0; i < sizeof TG_ONLY / sizeof TG_ONLY[0]; i++)
            if (command_arg(cmd, TG_ONLY[i])) return err_set(TP_EINVAL, "schedule hwgp: %s= goes with targets=", TG_ONLY[i]);
        return TP_OK;
    }
    static const char *const GROUPED[] = {"params", "pattern", "block", "prune", "cycles"};
    for (size_t i = 0; i < sizeof GROUPED / sizeof GROUPED[0]; i++)
        if (command_arg(cmd, GROUPED[i]))
            return err_set(TP_EINVAL, "schedule hwgp: %s= does not go with targets= (each group carries its params, sparsity "
                                      "and block)", GROUPED[i]);
    if ((st = hwgp_parse_targets(tg, c->groups, &c->n_groups)) != TP_OK) return err_wrap(st, "schedule hwgp: ");
    for (int g = 0; g < c->n_groups; g++)
        if ((st = mask_params_check(&s->model, c->groups[g].params)) != TP_OK)
            return err_wrap(st, "schedule hwgp: targets: %s: ", c->groups[g].params);
    c->grow = num(cmd, "grow", 0.02);
    c->ramp = (int)num(cmd, "ramp", 16);
    c->retrain = (long)num(cmd, "retrain", 2.0 * (double)c->every);
    /* the curve's pattern: that of the recurrent matrices' group (the first group naming an l*) */
    for (int g = 0; g < c->n_groups; g++)
        if (c->groups[g].params[0] == 'l') {
            snprintf(c->pattern, sizeof c->pattern, "%s", c->groups[g].block[0] ? "block" : "unstructured");
            snprintf(c->block, sizeof c->block, "%s", c->groups[g].block);
            break;
        }
    return TP_OK;
}

/* Density of the recurrent layers' weight matrices. */
static double layer_density(const Model *m)
{
    size_t live = 0, all = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        if (p->layer < 0 || p->kind != PARAM_WEIGHT) continue;
        for (size_t k = 0; k < p->n; k++) live += m->mask[p->off + k];
        all += p->n;
    }
    return all ? (double)live / (double)all : 1.0;
}

static void save_state(Run *u)
{
    cJSON *j = cJSON_CreateObject();
    HwgpStatus *st = &u->st;
    cJSON_AddStringToObject(j, "target", st->target);
    cJSON_AddStringToObject(j, "stage", st->stage);
    cJSON_AddNumberToObject(j, "phase", st->phase);
    cJSON_AddNumberToObject(j, "phases", st->phases);
    cJSON_AddNumberToObject(j, "budget_us", st->budget_us);
    cJSON_AddNumberToObject(j, "latency_us", st->latency_us);
    cJSON_AddNumberToObject(j, "base_latency_us", st->base_latency_us);
    if (isfinite(st->base_ppl)) cJSON_AddNumberToObject(j, "base_ppl", st->base_ppl);
    if (isfinite(st->ppl)) cJSON_AddNumberToObject(j, "ppl", st->ppl);
    cJSON *sz = cJSON_AddArrayToObject(j, "sizes");
    for (int l = 0; l < u->s->model.cfg.n_layers; l++) cJSON_AddItemToArray(sz, cJSON_CreateNumber(u->s->model.cfg.hidden[l]));
    cJSON_AddNumberToObject(j, "density", layer_density(&u->s->model));
    cJSON_AddStringToObject(j, "curve_run", st->curve_run);
    cJSON_AddStringToObject(j, "last", st->last);
    cJSON_AddItemToObject(j, "history", cJSON_Duplicate(u->history, 1));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char path[4400];
    /* a front end's view: a failure to write it is not the method's failure */
    if (text && path_join(path, sizeof path, u->s->dir, "hwgp.json") == TP_OK) (void)fsutil_write_atomic(path, text, strlen(text));
    free(text);
}

/* A decision: a line of SESSION/hwgp.log and, unless detail, of the verb's text (whose size is
 * bounded: the GP actions of every stretch go to the log only). */
static void log_line(Run *u, int detail, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void log_line(Run *u, int detail, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!detail) command_say(u->r, "%s\n", line);
    snprintf(u->st.last, sizeof u->st.last, "%.199s", line);
    char path[4400], full[480];
    snprintf(full, sizeof full, "step %ld: %s", u->s->trainer.step, line);
    if (path_join(path, sizeof path, u->s->dir, "hwgp.log") == TP_OK) (void)fsutil_append_line(path, full);
}

/* Execute one verb line as if typed (journaled by command_execute). */
static TpStatus nested(Run *u, CommandResult *res, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static TpStatus nested(Run *u, CommandResult *res, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    TpStatus st = command_execute_nested(u->s, line, res);
    return st == TP_OK ? st : err_wrap(st, "schedule hwgp: `%s`: ", line);
}

static int progress(void *ctx, double f, int round, int rounds, double el)
{
    (void)round, (void)rounds, (void)el;
    return command_progress("hwgp profile", f, ctx, NULL);
}

/* The target's curve at the model's density and pattern now, appended to latency.tsv. */
static TpStatus measure(Run *u, LatencyCurve *c, HystAnalysis *a)
{
    Session *s = u->s;
    int *grid, n;
    TpStatus st = latency_parse_sizes(u->c.sizes, &grid, &n);
    if (st != TP_OK) return st;
    int *sz = malloc(sizeof *sz * (size_t)(n + MODEL_MAX_LAYERS)), m = 0;
    if (!sz) {
        free(grid);
        return err_set(TP_ENOMEM, "out of memory");
    }
    memcpy(sz, grid, sizeof *sz * (size_t)n); /* the grid, and the sizes now inserted in order */
    m = n;
    for (int l = 0; l < s->model.cfg.n_layers; l++) {
        int h = s->model.cfg.hidden[l], k = 0;
        while (k < m && sz[k] < h) k++;
        if (k < m && sz[k] == h) continue;
        memmove(sz + k + 1, sz + k, sizeof *sz * (size_t)(m - k));
        sz[k] = h;
        m++;
    }
    free(grid);
    TargetQuery q = target_query_default(0);
    q.threads = s->task.threads > 0 ? s->task.threads : 0;
    q.density = layer_density(&s->model);
    if (q.density > 0.999) q.density = 1.0;
    if (s->model.cfg.cell == MODEL_CELL_HLSTM) {
        snprintf(q.cell, sizeof q.cell, "hlstm");
        q.gate_hidden = s->model.cfg.gate_hidden;
    }
    /* the accel model has one sparse dataflow (row-balanced), whatever the masks' pattern; on the cpu
     * target unstructured masks run in whichever layout is timed fastest, as the runtime runs them; an
     * external command is told "sell" (the unstructured word of its {pattern} contract) */
    int blocks = !strcmp(u->c.pattern, "block") && target_kind(u->t) != TARGET_ACCEL;
    if (q.density < 1.0)
        snprintf(q.pattern, sizeof q.pattern, "%s%s",
                 blocks                                ? "block"
                 : target_kind(u->t) == TARGET_ACCEL ? "row"
                 : target_kind(u->t) == TARGET_CPU   ? "unstructured" /* the runtime's fastest layout */
                                                     : "sell",
                 blocks ? u->c.block : "");
    TargetSweep w;
    target_sweep_defaults(&w);
    w.budget_s = 20;
    w.progress = progress;
    w.ctx = s;
    st = target_curve(u->t, &q, sz, m, &w, c);
    free(sz);
    if (st != TP_OK) return st;
    if ((st = profile_session_append(s->dir, c)) == TP_OK) st = profile_analyze(a, c, 0.02, 0);
    if (st != TP_OK) {
        latency_curve_free(c);
        return st;
    }
    snprintf(u->st.curve_run, sizeof u->st.curve_run, "%s", c->run);
    return TP_OK;
}

static double model_latency(const LatencyCurve *c, const Session *s)
{
    double t = 0;
    for (int l = 0; l < s->model.cfg.n_layers; l++)
        for (int i = 0; i < c->n; i++)
            if (c->hidden[i] == s->model.cfg.hidden[l]) t += c->median_us[i];
    return t;
}

static void record(Run *u, const char *stage, double lat)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "phase", u->st.phase);
    cJSON_AddStringToObject(e, "stage", stage);
    cJSON *sz = cJSON_AddArrayToObject(e, "sizes");
    for (int l = 0; l < u->s->model.cfg.n_layers; l++) cJSON_AddItemToArray(sz, cJSON_CreateNumber(u->s->model.cfg.hidden[l]));
    cJSON_AddNumberToObject(e, "latency_us", lat);
    if (isfinite(u->s->valid_ppl)) cJSON_AddNumberToObject(e, "ppl", u->s->valid_ppl);
    cJSON_AddStringToObject(e, "curve_run", u->st.curve_run);
    cJSON_AddItemToArray(u->history, e);
}

/* (1) connections: the GP cycle to its end.  *stopped: the user stopped training. */
static TpStatus connections(Run *u, int *stopped)
{
    Cfg *c = &u->c;
    Session *s = u->s;
    CommandResult res;
    if (c->grow == 0 && c->prune == 0) return TP_OK;
    snprintf(u->st.stage, sizeof u->st.stage, "connections");
    save_state(u);
    char extra[200] = "";
    if (c->params[0]) snprintf(extra, sizeof extra, " params=%s", c->params);
    if (!strcmp(c->pattern, "block"))
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " pattern=block block=%s", c->block);
    TpStatus st = nested(u, &res, "schedule gp grow=%g prune=%g every=%ld tolerance=%g cycles=%d batches=%d%s", c->grow,
                         c->prune, c->every, c->tolerance, c->cycles, c->batches, extra);
    if (st != TP_OK) return st;
    long cap = (long)c->cycles * (c->batches + c->every * (s->gp.sched.cfg.max_prunes + 3)) + c->every, ran = 0;
    size_t nnz0 = 0;
    for (size_t i = 0; i < s->model.n_params; i++) nnz0 += s->model.mask[i];
    long events = s->gp.sched_events;
    while (st == TP_OK && !(s->gp.sched.finished || s->gp.sched.done_pending) && ran < cap) {
        long before = s->trainer.step;
        st = nested(u, &res, "train steps=%ld%s", c->every, ran ? " undo=0" : "");
        ran += s->trainer.step - before;
        if (s->gp.sched_events != events) /* the GP actions of this stretch: the last one, and how many */
            log_line(u, 1, "phase %d connections: %s (%ld GP action%s in steps %ld..%ld)", u->st.phase, s->gp.last_event,
                     s->gp.sched_events - events, s->gp.sched_events - events == 1 ? "" : "s", before, s->trainer.step);
        events = s->gp.sched_events;
        /* short of the steps asked: the end of the session's epochs (the next train extends them) or
         * the user stopped it */
        if (st == TP_OK && s->trainer.step - before < c->every && !train_finished(&s->trainer)) *stopped = 1;
        if (*stopped) break;
    }
    if (st != TP_OK) return st;
    size_t nnz = 0;
    for (size_t i = 0; i < s->model.n_params; i++) nnz += s->model.mask[i];
    log_line(u, 0, "phase %d connections: GP cycle(s) over %ld steps, non-zeros %zu -> %zu (%s)", u->st.phase, ran, nnz0, nnz,
             s->gp.last_event[0] ? s->gp.last_event : "no event");
    return nested(u, &res, "schedule none");
}

static double group_sparsity(const Model *m, const char *params)
{
    size_t live = 0, all = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        if (!mask_param_selected(p, params)) continue;
        for (size_t k = 0; k < p->n; k++) live += m->mask[p->off + k];
        all += p->n;
    }
    return all ? 1.0 - (double)live / (double)all : 0.0;
}

static size_t nonzeros(const Model *m)
{
    size_t nnz = 0;
    for (size_t i = 0; i < m->n_params; i++) nnz += m->mask[i];
    return nnz;
}

/* `prune sparsity=S params=G [pattern=block block=RxC]` for every group below S (+1e-6). */
static TpStatus prune_groups(Run *u, const double *to)
{
    TpStatus st = TP_OK;
    for (int g = 0; g < u->c.n_groups && st == TP_OK; g++) {
        const HwgpGroup *x = &u->c.groups[g];
        if (group_sparsity(&u->s->model, x->params) >= to[g] - 1e-6) continue;
        CommandResult res;
        char bl[48] = "";
        if (x->block[0]) snprintf(bl, sizeof bl, " pattern=block block=%s%s", x->block, x->freq_rows ? " rows=freq" : "");
        st = to[g] == x->sparsity ? nested(u, &res, "prune sparsity=%g params=%s%s", to[g], x->params, bl)
                                  : nested(u, &res, "prune sparsity=%.4f params=%s%s", to[g], x->params, bl);
    }
    return st;
}

/* `train steps=N`; *stopped when fewer ran and the session's epochs were not the reason. */
static TpStatus train_for(Run *u, long n, int *stopped)
{
    CommandResult res;
    long before = u->s->trainer.step;
    TpStatus st = nested(u, &res, "train steps=%ld%s", n, u->ramped || before != u->st_step0 ? " undo=0" : "");
    if (st == TP_OK && u->s->trainer.step - before < n && !train_finished(&u->s->trainer)) *stopped = 1;
    return st;
}

/* (1) connections with targets=: the first time, the AGP cubic ramp of every group from its sparsity
 * now to its target (ramp prune events, every steps of training after each); then the GP cycle: grow
 * each group by gradient (ratio grow, batches minibatches of gradient), retrain, prune back to the
 * targets by magnitude.  No tolerance and no restore: the targets are the contract. */
static TpStatus connections_targets(Run *u, int *stopped)
{
    Cfg *c = &u->c;
    Session *s = u->s;
    TpStatus st = TP_OK;
    snprintf(u->st.stage, sizeof u->st.stage, "connections");
    save_state(u);
    size_t nnz0 = nonzeros(&s->model);
    long step0 = s->trainer.step;
    double to[HWGP_MAX_GROUPS], s0[HWGP_MAX_GROUPS];
    if (!u->ramped) {
        for (int g = 0; g < c->n_groups; g++) s0[g] = group_sparsity(&s->model, c->groups[g].params);
        for (int i = 1; i <= c->ramp && st == TP_OK && !*stopped; i++) {
            for (int g = 0; g < c->n_groups; g++) to[g] = i == c->ramp ? c->groups[g].sparsity : hwgp_ramp_value(s0[g], c->groups[g].sparsity, i, c->ramp);
            if ((st = prune_groups(u, to)) == TP_OK) st = train_for(u, c->every, stopped);
        }
        if (st != TP_OK || *stopped) return st;
        u->ramped = 1;
        log_line(u, 0, "phase %d connections: ramped %d group(s) to their targets in %d prunes over %ld steps, non-zeros %zu -> %zu",
                 u->st.phase, c->n_groups, c->ramp, s->trainer.step - step0, nnz0, nonzeros(&s->model));
    }
    if (c->grow > 0) {
        size_t nnz1 = nonzeros(&s->model);
        for (int g = 0; g < c->n_groups && st == TP_OK; g++) {
            const HwgpGroup *x = &c->groups[g];
            CommandResult res;
            char bl[48] = "";
            if (x->block[0]) snprintf(bl, sizeof bl, " pattern=block block=%s%s", x->block, x->freq_rows ? " rows=freq" : "");
            st = nested(u, &res, "grow ratio=%g params=%s batches=%d%s", c->grow, x->params, c->batches, bl);
        }
        size_t grown = nonzeros(&s->model);
        if (st == TP_OK) st = train_for(u, c->retrain, stopped);
        for (int g = 0; g < c->n_groups; g++) to[g] = c->groups[g].sparsity;
        if (st == TP_OK && !*stopped) st = prune_groups(u, to);
        if (st == TP_OK)
            log_line(u, 0, "phase %d connections: GP cycle: grew %zu connections by gradient, retrained %ld steps, pruned back: "
                           "non-zeros %zu",
                     u->st.phase, grown - nnz1, c->retrain, nonzeros(&s->model));
    }
    return st;
}

/* (2) dimensions: resize every layer to its chosen size.  *changed: some size changed; *met: the
 * budget is met. */
static TpStatus dimensions(Run *u, int *changed, int *met)
{
    Session *s = u->s;
    snprintf(u->st.stage, sizeof u->st.stage, "dimensions");
    save_state(u);
    LatencyCurve c;
    HystAnalysis a;
    TpStatus st = measure(u, &c, &a);
    if (st != TP_OK) return st;
    int L = s->model.cfg.n_layers, out[MODEL_MAX_LAYERS];
    double now, next;
    HystSeries hs = profile_series(&c);
    st = hwgp_choose(&hs, &a, s->model.cfg.hidden, L, s->model.cfg.tie, u->st.budget_us, u->c.min_h, u->c.max_h, out, &now, &next, met);
    *changed = 0;
    for (int l = 0; l < L && st == TP_OK; l++) {
        int h = s->model.cfg.hidden[l];
        if (out[l] == h) continue;
        CommandResult res;
        if (out[l] > h) st = nested(u, &res, "resize layer=%d hidden=%d init=grad batches=%d", l, out[l], u->c.batches);
        else st = nested(u, &res, "resize layer=%d hidden=%d", l, out[l]);
        if (st == TP_OK)
            log_line(u, 0, "phase %d dimensions: layer %d %d -> %d (%s on %s, curve %s)", u->st.phase, l, h, out[l],
                     out[l] > h ? "grown to the right edge of its plateau" : "shrunk to the step that fits", u->st.target,
                     c.run);
        *changed = 1;
    }
    if (st == TP_OK) {
        u->st.latency_us = model_latency(&c, s);
        log_line(u, 0, "phase %d dimensions: latency on %s %.4g -> %.4g us (budget %.4g us%s)", u->st.phase, u->st.target, now,
                 u->st.latency_us, u->st.budget_us, *met ? ", met" : ", NOT met: no hysteresis point fits");
    }
    hysteresis_free(&a);
    latency_curve_free(&c);
    return st;
}

static TpStatus evaluate(Run *u)
{
    CommandResult res;
    TpStatus st = nested(u, &res, "eval");
    u->st.ppl = u->s->valid_ppl;
    return st;
}

static TpStatus drive(Run *u)
{
    Session *s = u->s;
    TpStatus st = TP_OK;
    if (!isfinite(s->valid_ppl)) st = evaluate(u);
    if (st != TP_OK) return st;
    u->st.base_ppl = u->st.ppl = s->valid_ppl;
    LatencyCurve c;
    HystAnalysis a;
    if ((st = measure(u, &c, &a)) != TP_OK) return st;
    u->st.base_latency_us = u->st.latency_us = model_latency(&c, s);
    u->st.budget_us = u->c.budget_us > 0 ? u->c.budget_us : u->st.base_latency_us / u->c.speedup;
    hysteresis_free(&a);
    latency_curve_free(&c);
    log_line(u, 0, "hwgp on %s: latency now %.4g us, budget %.4g us, valid ppl %.2f (tolerance %g)", u->st.target,
             u->st.base_latency_us, u->st.budget_us, u->st.base_ppl, u->c.tolerance);
    record(u, "start", u->st.latency_us);
    int stopped = 0, changed = 0, met = 0, done = 0;
    for (int p = 1; p <= u->c.phases && st == TP_OK && !stopped && !done; p++) {
        u->st.phase = p;
        if ((st = u->c.n_groups ? connections_targets(u, &stopped) : connections(u, &stopped)) != TP_OK || stopped) break;
        if ((st = dimensions(u, &changed, &met)) != TP_OK) break;
        if ((st = evaluate(u)) != TP_OK) break;
        record(u, "phase", u->st.latency_us);
        int ok = u->st.ppl <= u->st.base_ppl + u->c.tolerance;
        done = !changed && met && ok;
        log_line(u, 0, "phase %d: sizes %s, budget %s, valid ppl %.2f (%s)", p, changed ? "changed" : "stable",
                 met ? "met" : "not met", u->st.ppl, ok ? "within tolerance" : "above tolerance");
    }
    if (st == TP_OK && !stopped && !done && changed) { /* retrain at the sizes the last phase chose */
        u->st.phase++;
        if ((st = u->c.n_groups ? connections_targets(u, &stopped) : connections(u, &stopped)) == TP_OK && !stopped &&
            (st = evaluate(u)) == TP_OK)
            record(u, "final", u->st.latency_us);
    }
    if (st == TP_OK && !stopped && u->c.finetune > 0) { /* fine-tuning at the final sizes and masks */
        CommandResult res;
        snprintf(u->st.stage, sizeof u->st.stage, "finetune");
        save_state(u);
        long before = s->trainer.step, samples = 0;
        /* with average=N, the fine-tuning's weights are averaged (sessions/average) and the mean is the
         * model at its end: journaled as the `average` lines, so replay repeats it */
        if (u->c.average > 0) st = nested(u, &res, "average start every=%d", u->c.average);
        if (st == TP_OK) st = nested(u, &res, "train epochs=%d undo=0", u->c.finetune);
        if (st == TP_OK && u->c.average > 0) {
            samples = s->trainer.avg.count;
            st = samples > 0 ? nested(u, &res, "average apply") : nested(u, &res, "average off");
        }
        if (st == TP_OK && (st = evaluate(u)) == TP_OK) {
            record(u, "finetune", u->st.latency_us);
            char avg[96] = "";
            if (u->c.average > 0) snprintf(avg, sizeof avg, ", the weights averaged over %ld samples", samples);
            log_line(u, 0, "finetune: %d epoch(s), %ld steps%s, valid ppl %.2f", u->c.finetune, s->trainer.step - before, avg,
                     u->st.ppl);
        }
    }
    if (st != TP_OK) return st;
    snprintf(u->st.stage, sizeof u->st.stage, "%s", stopped ? "stopped" : "done");
    log_line(u, 0, "hwgp %s: sizes stable %s, latency %.4g us on %s (budget %.4g, was %.4g), valid ppl %.2f (was %.2f)",
             stopped ? "stopped" : "done", done ? "yes" : "no", u->st.latency_us, u->st.target, u->st.budget_us,
             u->st.base_latency_us, u->st.ppl, u->st.base_ppl);
    return TP_OK;
}

TpStatus command_verb_hwgp(Session *s, const Command *cmd, CommandResult *r)
{
    Run u;
    memset(&u, 0, sizeof u);
    u.s = s;
    u.r = r;
    TpStatus st = parse(&u.c, cmd, s);
    if (st != TP_OK) return st;
    if ((st = target_open(u.c.target, s->dir, &u.t)) != TP_OK) return err_wrap(st, "schedule hwgp: ");
    if (!(u.history = cJSON_CreateArray())) {
        target_close(u.t);
        return err_set(TP_ENOMEM, "out of memory");
    }
    snprintf(u.st.target, sizeof u.st.target, "%s", target_name(u.t));
    u.st.phases = u.c.phases;
    u.st.base_ppl = u.st.ppl = NAN;
    u.st_step0 = s->trainer.step;
    snprintf(u.st.stage, sizeof u.st.stage, "start");
    st = drive(&u);
    char why[512];
    snprintf(why, sizeof why, "%s", st != TP_OK ? err_msg() : "");
    /* a failure before anything was journaled (an unusable target, a failed measurement): nothing
     * changed, nothing is written */
    int touched = command_exec_records() > 0;
    if (st == TP_OK || touched) {
        /* end with no schedule left; when nothing was journaled, this is also the record that keeps
         * the hwgp line itself out of the journal (replay never measures) */
        if (s->gp.sched.cfg.kind != SCHEDULE_OFF || !touched) {
            CommandResult res;
            TpStatus cs = nested(&u, &res, "schedule none");
            if (st == TP_OK) st = cs;
            else err_set(st, "%s", why);
        }
        if (st != TP_OK) {
            snprintf(u.st.stage, sizeof u.st.stage, "failed");
            snprintf(u.st.last, sizeof u.st.last, "%.199s", err_msg());
        }
        save_state(&u);
    }
    cJSON_Delete(u.history);
    target_close(u.t);
    r->changed = 1;
    snprintf(r->summary, sizeof r->summary, "hwgp on %.40s: %.4g -> %.4g us (budget %.4g), valid ppl %.2f", u.st.target,
             u.st.base_latency_us, u.st.latency_us, u.st.budget_us, u.st.ppl);
    return st;
}
