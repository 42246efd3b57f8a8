/* sessions/gpstate: see gpstate.h. */
#include "sessions/gpstate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "sessions/manifest.h"

TpStatus gpstate_init(GpState *g, const Model *m)
{
    free(g->ever_pruned);
    g->ever_pruned = backend_alloc(m->n_params, 1);
    if (!g->ever_pruned) return err_set(TP_ENOMEM, "out of memory for the pruning history");
    grow_accum_free(&g->acc);
    return grow_accum_init(&g->acc, m);
}

void gpstate_free(GpState *g)
{
    free(g->ever_pruned);
    g->ever_pruned = NULL;
    grow_accum_free(&g->acc);
    schedule_free(&g->sched);
    memset(g, 0, sizeof *g);
}

TpStatus gpstate_schedule_set(GpState *g, const ScheduleConfig *cfg)
{
    schedule_free(&g->sched);
    memset(&g->sched, 0, sizeof g->sched);
    g->last_event[0] = '\0';
    g->params[0] = '\0';
    if (cfg->kind == SCHEDULE_OFF) return TP_OK;
    TpStatus st = schedule_config_check(cfg);
    if (st != TP_OK) return st;
    grow_accum_reset(&g->acc);
    return schedule_init(&g->sched, cfg);
}

/* ---- manifest.json's "schedule" ------------------------------------------------------------- */

void gpstate_to_json(const GpState *g, size_t n_params, cJSON *man)
{
    const ScheduleConfig *sc = &g->sched.cfg;
    if (sc->kind != SCHEDULE_OFF) {
        cJSON *j = cJSON_AddObjectToObject(man, "schedule");
        cJSON_AddStringToObject(j, "kind", sc->kind == SCHEDULE_AGP ? "agp" : "gp");
        manifest_add_exact(j, "from", sc->from);
        manifest_add_exact(j, "to", sc->to);
        cJSON_AddNumberToObject(j, "start", (double)sc->start);
        cJSON_AddNumberToObject(j, "end", (double)sc->end);
        cJSON_AddNumberToObject(j, "every", (double)sc->every);
        manifest_add_exact(j, "grow", sc->grow_ratio);
        manifest_add_exact(j, "prune", sc->prune_ratio);
        manifest_add_exact(j, "tolerance", sc->tolerance);
        cJSON_AddNumberToObject(j, "batches", sc->grow_batches);
        cJSON_AddNumberToObject(j, "cycles", sc->cycles);
        cJSON_AddNumberToObject(j, "max_prunes", sc->max_prunes);
        if (g->params[0]) cJSON_AddStringToObject(j, "params", g->params);
        if (sc->block_r > 0) {
            char b[32];
            snprintf(b, sizeof b, "%dx%d", sc->block_r, sc->block_c);
            cJSON_AddStringToObject(j, "block", b);
        }
        const Schedule *sd = &g->sched;
        cJSON *pr = cJSON_AddObjectToObject(j, "progress");
        cJSON_AddNumberToObject(pr, "phase", (double)sd->phase);
        cJSON_AddNumberToObject(pr, "mark", (double)sd->mark);
        cJSON_AddNumberToObject(pr, "next_due", (double)sd->next_due);
        cJSON_AddNumberToObject(pr, "cycle", sd->cycle);
        cJSON_AddNumberToObject(pr, "phase_prunes", sd->phase_prunes);
        cJSON_AddNumberToObject(pr, "n_prunes", (double)sd->n_prunes);
        cJSON_AddNumberToObject(pr, "n_grows", (double)sd->n_grows);
        cJSON_AddNumberToObject(pr, "n_evals", (double)sd->n_evals);
        cJSON_AddNumberToObject(pr, "n_restores", (double)sd->n_restores);
        cJSON_AddNumberToObject(pr, "flags", (sd->awaiting_eval ? 1 : 0) | (sd->restore_pending ? 2 : 0) |
                                                  (sd->done_pending ? 4 : 0) | (sd->finished ? 8 : 0));
        if (isfinite(sd->best_ppl)) manifest_add_exact(pr, "best_ppl", sd->best_ppl);
        if (isfinite(sd->last_ppl)) manifest_add_exact(pr, "last_ppl", sd->last_ppl);
        if (isfinite(sd->good_ppl)) manifest_add_exact(pr, "good_ppl", sd->good_ppl);
        cJSON_AddBoolToObject(pr, "good_copy", sd->n_good == n_params && sd->good_w != NULL);
        cJSON_AddNumberToObject(pr, "accum_batches", g->acc.n_batches);
        cJSON_AddNumberToObject(pr, "events", (double)g->sched_events);
        cJSON_AddStringToObject(pr, "last_event", g->last_event);
    }
}

/* The schedule's progress from the manifest (after gpstate_schedule_set made it fresh): phase and
 * counters; room for the last good copy if there is one, and *acc_batches, the minibatches in the
 * growth accumulator.  load_model then reads both from the model file. */
static TpStatus load_progress(GpState *g, const Model *m, const cJSON *pr, int *acc_batches)
{
    Schedule *sd = &g->sched;
    double v[12];
    static const char *const K[12] = {"phase", "mark", "next_due", "cycle", "phase_prunes", "n_prunes",
                                      "n_grows", "n_evals", "n_restores", "flags", "accum_batches", "events"};
    const double hi[12] = {GP_RETRAIN_PRUNE, 9e15, 9e15, 1e9, 1e9, 9e15, 9e15, 9e15, 9e15, 15, 1e9, 9e15};
    const double lo[12] = {0, -1, -9e15, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const double def[12] = {GP_START, -1, (double)sd->cfg.start, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) {
        TpStatus st = manifest_int_in(pr, K[i], lo[i], hi[i], def[i], &v[i]);
        if (st != TP_OK) return st;
    }
    sd->phase = (GpPhase)v[0];
    sd->mark = (long)v[1];
    sd->next_due = (long)v[2];
    sd->cycle = (int)v[3];
    sd->phase_prunes = (int)v[4];
    sd->n_prunes = (long)v[5];
    sd->n_grows = (long)v[6];
    sd->n_evals = (long)v[7];
    sd->n_restores = (long)v[8];
    int flags = (int)v[9];
    sd->awaiting_eval = flags & 1;
    sd->restore_pending = (flags >> 1) & 1;
    sd->done_pending = (flags >> 2) & 1;
    sd->finished = (flags >> 3) & 1;
    g->sched_events = (long)v[11];
    sd->best_ppl = manifest_num(pr, "best_ppl", NAN);
    sd->last_ppl = manifest_num(pr, "last_ppl", NAN);
    sd->good_ppl = manifest_num(pr, "good_ppl", NAN);
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(pr, "last_event");
    if (cJSON_IsString(le)) snprintf(g->last_event, sizeof g->last_event, "%s", le->valuestring);
    int good = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pr, "good_copy"));
    *acc_batches = (int)v[10];
    if (*acc_batches && g->acc.n != m->n_params) return err_set(TP_EFORMAT, "accum_batches: no accumulator of this model");
    if (good) { /* filled by load_model; zero: the gaps between tensors are never read */
        sd->good_w = calloc(m->n_params, sizeof(float));
        sd->good_mask = calloc(m->n_params, 1);
        if (!sd->good_w || !sd->good_mask) {
            schedule_free(sd);
            return err_set(TP_ENOMEM, "out of memory for the last good copy");
        }
        sd->n_good = m->n_params;
    }
    return TP_OK;
}

TpStatus gpstate_from_json(GpState *g, const Model *m, const cJSON *man, const char *dir, int *acc_batches)
{
    TpStatus st;
    *acc_batches = 0;
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(man, "schedule");
    ScheduleConfig sc = schedule_config_default(SCHEDULE_OFF);
    if (cJSON_IsObject(sj)) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(sj, "kind");
        if (!cJSON_IsString(k) || (strcmp(k->valuestring, "agp") && strcmp(k->valuestring, "gp")))
            return err_set(TP_EFORMAT, "%s/manifest.json: schedule.kind: expected \"agp\" or \"gp\"", dir);
        sc = schedule_config_default(strcmp(k->valuestring, "agp") ? SCHEDULE_GP : SCHEDULE_AGP);
        sc.from = manifest_num(sj, "from", sc.from);
        sc.to = manifest_num(sj, "to", sc.to);
        sc.start = (long)manifest_num(sj, "start", (double)sc.start);
        sc.end = (long)manifest_num(sj, "end", (double)sc.end);
        sc.every = (long)manifest_num(sj, "every", (double)sc.every);
        sc.grow_ratio = manifest_num(sj, "grow", sc.grow_ratio);
        sc.prune_ratio = manifest_num(sj, "prune", sc.prune_ratio);
        sc.tolerance = manifest_num(sj, "tolerance", sc.tolerance);
        sc.grow_batches = (int)manifest_num(sj, "batches", sc.grow_batches);
        sc.cycles = (int)manifest_num(sj, "cycles", sc.cycles);
        sc.max_prunes = (int)manifest_num(sj, "max_prunes", sc.max_prunes);
        const cJSON *bj = cJSON_GetObjectItemCaseSensitive(sj, "block");
        if (bj && (!cJSON_IsString(bj) || mask_block_parse(bj->valuestring, &sc.block_r, &sc.block_c) != TP_OK))
            return err_set(TP_EFORMAT, "%s/manifest.json: schedule.block: expected \"RxC\" (e.g. \"16x1\")", dir);
    }
    if ((st = gpstate_schedule_set(g, &sc)) != TP_OK) return err_wrap(st, "%s/manifest.json: schedule: ", dir);
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(sj, "params");
    if (cJSON_IsString(sp)) snprintf(g->params, sizeof g->params, "%s", sp->valuestring);
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(sj, "progress");
    if (sc.kind != SCHEDULE_OFF && cJSON_IsObject(pr) && (st = load_progress(g, m, pr, acc_batches)) != TP_OK)
        return err_wrap(st, "%s/manifest.json: schedule.progress: ", dir);
    return TP_OK;
}
