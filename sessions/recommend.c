/* sessions/recommend: see recommend.h. */
#include "sessions/recommend.h"

#include <string.h>

#include "sessions/profile.h"

TpStatus recommend_pick(const Session *s, int layer, double budget_us, RecommendPick *p)
{
    memset(p, 0, sizeof *p);
    if (layer < 0 || layer >= s->model.cfg.n_layers)
        return err_set(TP_ERANGE, "recommend: layer %d: the model has %d layer(s)", layer, s->model.cfg.n_layers);
    p->layer = layer;
    p->current = p->target = s->model.cfg.hidden[layer];
    LatencyCurve c;
    HystAnalysis a;
    TpStatus st = profile_session_latest(s->dir, &c);
    if (st != TP_OK) return st;
    if ((st = profile_analyze(&a, &c, 0.02, 0)) != TP_OK) {
        latency_curve_free(&c);
        return st;
    }
    HystSeries ser = profile_series(&c);
    if (budget_us > 0) {
        HystPick b;
        st = hysteresis_recommend_budget(&b, &ser, &a, budget_us);
        if (st == TP_OK) p->target = b.hidden, p->target_us = b.median_us;
    } else {
        HystTargetPick t;
        st = hysteresis_recommend_target(&t, &ser, &a, p->current);
        if (st != TP_OK) {
            st = err_wrap(st, "layer %d (hidden %d): ", layer, p->current);
        } else {
            int i = t.furthest;
            p->target_us = c.median_us[i];
            if (i != t.target_index && c.hidden[i] > p->current) p->target = c.hidden[i];
        }
    }
    hysteresis_free(&a);
    latency_curve_free(&c);
    return st;
}
