/* sessions/recommend: the size a latency recommendation points to, for the `recommend ... apply=1`
 * verb (and any front end that wants the number rather than the text of sessions/profile).
 *
 * On the newest curve of SESSION/latency.tsv (analysed with the 2% noise floor, as `recommend`):
 *   budget_us > 0: the largest profiled size within the budget;
 *   otherwise:     "no slower than now": the largest size reachable from the layer's current size
 *                  within its noise band (median <= the current size's p90; the current size when none
 *                  is).  sessions/profile's text calls it free only when its median is within the 2 %
 *                  floor, and states the % cost otherwise.
 */
#ifndef TP_RECOMMEND_H
#define TP_RECOMMEND_H

#include "sessions/session.h"

typedef struct {
    int layer;
    int current;        /* the layer's hidden size now                        */
    int target;         /* the recommended size; == current: nothing better   */
    double target_us;   /* median latency of the target on the curve          */
} RecommendPick;

/* TP_ERANGE for a layer the model does not have; TP_ENOENT without a profile (from profile). */
TpStatus recommend_pick(const Session *s, int layer, double budget_us, RecommendPick *p);

#endif
