/* sessions/gpstate: see gpstate.h. */
#include "sessions/gpstate.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
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

/* A numeric field of a struct, one table for the writer and the reader: kind 'd' a double written
 * exactly, 'p' a double written only when finite (absent: NaN), 'l' a long, 'i' an int, 'g' the
 * GpPhase; lo..hi bound the integers read back (lo == hi: not checked here). */
typedef struct {
    const char *key;
    char kind;
    size_t off;
    double lo, hi;
} Field;

/* integers range-checked before the cast (a value of 2^70 would wrap); the schedule's own checks
 * (gpstate_schedule_set) then see the real values */
#define CF(k, m, kind) {k, kind, offsetof(ScheduleConfig, m), (kind) == 'd' ? 0 : -1, \
                        (kind) == 'd' ? 0 : (kind) == 'l' ? 9007199254740992.0 : (double)INT_MAX}
static const Field CONFIG_FIELDS[] = {
    CF("from", from, 'd'),         CF("to", to, 'd'),           CF("start", start, 'l'),
    CF("end", end, 'l'),           CF("every", every, 'l'),     CF("grow", grow_ratio, 'd'),
    CF("prune", prune_ratio, 'd'), CF("tolerance", tolerance, 'd'), CF("batches", grow_batches, 'i'),
    CF("cycles", cycles, 'i'),     CF("max_prunes", max_prunes, 'i'),
};
#undef CF
/* The schedule's counters (flags follow them), then its perplexities. */
#define SF(m, kind, lo, hi) {#m, kind, offsetof(Schedule, m), lo, hi}
static const Field COUNTER_FIELDS[] = {
    SF(phase, 'g', 0, GP_RETRAIN_PRUNE), SF(mark, 'l', -1, 9e15),       SF(next_due, 'l', -9e15, 9e15),
    SF(cycle, 'i', 0, 1e9),              SF(phase_prunes, 'i', 0, 1e9), SF(n_prunes, 'l', 0, 9e15),
    SF(n_grows, 'l', 0, 9e15),           SF(n_evals, 'l', 0, 9e15),     SF(n_restores, 'l', 0, 9e15),
};
static const Field PPL_FIELDS[] = {SF(best_ppl, 'p', 0, 0), SF(last_ppl, 'p', 0, 0), SF(good_ppl, 'p', 0, 0)};
#undef SF
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static double field_get(const void *base, const Field *f)
{
    const char *at = (const char *)base + f->off;
    switch (f->kind) {
    case 'l': return (double)*(const long *)at;
    case 'i': return *(const int *)at;
    case 'g': return *(const GpPhase *)at;
    default: return *(const double *)at;
    }
}

static void field_set(void *base, const Field *f, double v)
{
    char *at = (char *)base + f->off;
    switch (f->kind) {
    case 'l': *(long *)at = (long)v; break;
    case 'i': *(int *)at = (int)v; break;
    case 'g': *(GpPhase *)at = (GpPhase)v; break;
    default: *(double *)at = v;
    }
}

static void fields_to_json(cJSON *j, const void *base, const Field *f, size_t n)
{
    for (; n > 0; f++, n--) {
        double v = field_get(base, f);
        if (f->kind == 'd' || (f->kind == 'p' && isfinite(v)))
            manifest_add_exact(j, f->key, v);
        else if (f->kind != 'p')
            cJSON_AddNumberToObject(j, f->key, v);
    }
}

/* Integers are checked against lo..hi; numbers read as they are ('p' absent: NaN, else absent keeps
 * the value base holds). */
static TpStatus fields_from_json(void *base, const cJSON *j, const Field *f, size_t n)
{
    for (; n > 0; f++, n--) {
        double v = f->kind == 'p' ? NAN : field_get(base, f);
        if (f->kind == 'd' || f->kind == 'p') {
            v = manifest_num(j, f->key, v);
        } else if (f->lo < f->hi) {
            TpStatus st = manifest_int_in(j, f->key, f->lo, f->hi, v, &v);
            if (st != TP_OK) return st;
        } else {
            v = manifest_num(j, f->key, v);
        }
        field_set(base, f, v);
    }
    return TP_OK;
}

void gpstate_to_json(const GpState *g, size_t n_params, cJSON *man)
{
    const ScheduleConfig *sc = &g->sched.cfg;
    if (sc->kind != SCHEDULE_OFF) {
        cJSON *j = cJSON_AddObjectToObject(man, "schedule");
        cJSON_AddStringToObject(j, "kind", sc->kind == SCHEDULE_AGP ? "agp" : "gp");
        fields_to_json(j, sc, CONFIG_FIELDS, N_OF(CONFIG_FIELDS));
        if (g->params[0]) cJSON_AddStringToObject(j, "params", g->params);
        if (sc->block_r > 0) {
            char b[32];
            snprintf(b, sizeof b, "%dx%d", sc->block_r, sc->block_c);
            cJSON_AddStringToObject(j, "block", b);
        }
        const Schedule *sd = &g->sched;
        cJSON *pr = cJSON_AddObjectToObject(j, "progress");
        fields_to_json(pr, sd, COUNTER_FIELDS, N_OF(COUNTER_FIELDS));
        cJSON_AddNumberToObject(pr, "flags", (sd->awaiting_eval ? 1 : 0) | (sd->restore_pending ? 2 : 0) |
                                                  (sd->done_pending ? 4 : 0) | (sd->finished ? 8 : 0));
        fields_to_json(pr, sd, PPL_FIELDS, N_OF(PPL_FIELDS));
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
    double v[3];
    static const char *const K[3] = {"flags", "accum_batches", "events"};
    const double hi[3] = {15, 1e9, 9e15};
    TpStatus st = fields_from_json(sd, pr, COUNTER_FIELDS, N_OF(COUNTER_FIELDS));
    for (int i = 0; st == TP_OK && i < 3; i++)
        st = manifest_int_in(pr, K[i], 0, hi[i], 0, &v[i]);
    if (st != TP_OK) return st;
    int flags = (int)v[0];
    sd->awaiting_eval = flags & 1;
    sd->restore_pending = (flags >> 1) & 1;
    sd->done_pending = (flags >> 2) & 1;
    sd->finished = (flags >> 3) & 1;
    g->sched_events = (long)v[2];
    fields_from_json(sd, pr, PPL_FIELDS, N_OF(PPL_FIELDS));
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(pr, "last_event");
    if (cJSON_IsString(le)) snprintf(g->last_event, sizeof g->last_event, "%s", le->valuestring);
    int good = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pr, "good_copy"));
    *acc_batches = (int)v[1];
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
        if ((st = fields_from_json(&sc, sj, CONFIG_FIELDS, N_OF(CONFIG_FIELDS))) != TP_OK)
            return err_wrap(st, "%s/manifest.json: schedule.", dir);
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
