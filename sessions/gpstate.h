/* sessions/gpstate: the grow-and-prune state a session carries (GpState, Session.gp).
 *
 * Owns the "ever pruned" history (non-recoverable growth), the gradient accumulator that scores
 * dormant connections, the active schedule (AGP or GP) with its progress and last event: their
 * allocation for a model, and their record in manifest.json ("schedule", with "progress") so that a
 * reopened session goes on exactly where it stopped.  The tensors (history, last good copy,
 * accumulator) go into model.safetensors with the rest of the state (sessions/session).  The
 * behaviour on a session (prune, grow, schedule ticks) is sessions/compress, above this module.
 */
#ifndef TP_GPSTATE_H
#define TP_GPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "engine/grow.h"
#include "engine/model.h"
#include "engine/schedule.h"

typedef struct {
    uint8_t *ever_pruned;   /* [n_params] 1 = pruned at least once                 */
    GrowAccum acc;          /* Σ dense gradients since the last growth            */
    Schedule sched;         /* sched.cfg.kind == SCHEDULE_OFF: no schedule        */
    long sched_events;      /* actions carried out, for the log                   */
    char last_event[200];   /* what the schedule did last (shown by status / TUI) */
    char params[128];       /* tensors the schedule prunes/grows ("" = weight matrices) */
} GpState;

/* (Re)allocate history (zeroed) and accumulator for model m; the schedule is kept. */
TpStatus gpstate_init(GpState *g, const Model *m);
void gpstate_free(GpState *g);
/* Replace the schedule by a fresh one of cfg (kind OFF = none); params and last event are cleared. */
TpStatus gpstate_schedule_set(GpState *g, const ScheduleConfig *cfg);

/* Add "schedule" (config and progress) to the manifest 'man' when a schedule is active. */
void gpstate_to_json(const GpState *g, size_t n_params, cJSON *man);
/* Set the schedule recorded in the manifest 'man' of dir (none: no schedule) with its progress; room
 * for the last good copy is allocated when it was recorded, and *acc_batches gets the minibatches in
 * the growth accumulator: both are then read from the model file.  Errors name dir/manifest.json. */
TpStatus gpstate_from_json(GpState *g, const Model *m, const cJSON *man, const char *dir, int *acc_batches);

#endif
