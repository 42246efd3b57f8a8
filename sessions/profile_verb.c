/* sessions/profile (verbs): the `profile` and `recommend` verbs of the command language (profile.h). */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- verbs ---- */

typedef struct {
    ProfileCancelFn fn;
    void *ctx;
} Cancel;

static int verb_progress(void *ctx, double f, int round, int rounds, double el)
{
    (void)round, (void)rounds, (void)el;
    const Cancel *c = ctx;
    return c->fn ? c->fn(c->ctx, f) : 0;
}

TpStatus profile_verb(Session *s, int n, const char *const *keys, const char *const *values, ProfileCancelFn cancel,
                      void *ctx, char *text, size_t tn, char *summary, size_t sn)
{
    ProfileRequest q;
    profile_request_defaults(&q);
    q.threads = s->task.threads > 0 ? s->task.threads : 0;
    q.session_dir = s->dir;
    int asr = task_is_asr(&s->task), layer = 0, seq_given = 0, input_given = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(keys[i], "layer")) { /* the speech session's layer (the command parser range-checked it) */
            if (!asr) return err_set(TP_EINVAL, "profile: layer=L is for a speech session (the LM's profile takes input=I)");
            layer = atoi(values[i]);
            continue;
        }
        int known;
        TpStatus st = profile_request_set(&q, keys[i], values[i], &known);
        if (st != TP_OK) return err_wrap(st, "profile: ");
        if (!known) return err_set(TP_EINVAL, "profile: unknown key '%s'", keys[i]);
        seq_given |= !strcmp(keys[i], "seq");
        input_given |= !strcmp(keys[i], "input");
    }
    TpStatus st = asr ? profile_audio_request(&q, &s->model.cfg, layer, seq_given, input_given) : TP_OK;
    if (st != TP_OK) return st;
    LatencyCurve c;
    AccelParams ap;
    HystAnalysis a;
    Cancel cc = {cancel, ctx};
    st = profile_run(&c, &ap, &q, verb_progress, &cc);
    if (st == TP_OK && asr) st = profile_audio_scale(&c);
    if (st != TP_OK) {
        latency_curve_free(&c);
        return st;
    }
    if ((st = profile_analyze(&a, &c, q.margin, q.margin_only)) == TP_OK) {
        if ((st = profile_session_append(s->dir, &c)) == TP_OK) {
            profile_report(text, tn, &c, &a, !latency_curve_is_model(&c) ? NULL : &ap, 0);
            char tn_[96];
            target_of_curve(&c, tn_, sizeof tn_);
            snprintf(summary, sn, "%s: %d sizes %d..%d, %d hysteresis point(s), %d dominated; run %s%s", tn_, c.n,
                     c.hidden[0], c.hidden[c.n - 1], a.n_points, a.n_dominated, c.run,
                     asr ? "; us per second of audio" : "");
        }
        hysteresis_free(&a);
    }
    latency_curve_free(&c);
    return st;
}

TpStatus profile_verb_recommend(const Session *s, int layer, double budget_us, char *text, size_t tn)
{
    if (layer < 0 || layer >= s->model.cfg.n_layers)
        return err_set(TP_ERANGE, "recommend: layer %d: the model has %d layer(s)", layer, s->model.cfg.n_layers);
    LatencyCurve c;
    HystAnalysis a;
    TpStatus st = profile_session_latest(s->dir, &c);
    if (st != TP_OK) return st;
    if (latency_curve_is_audio(&c) != task_is_asr(&s->task)) /* budgets per call and per audio second do not mix */
        st = err_set(TP_EINVAL, "recommend: the newest curve of latency.tsv is %s, this session's is %s: run 'profile' here first",
                     latency_curve_is_audio(&c) ? "per second of audio" : "per call", task_is_asr(&s->task) ? "per second of audio" : "per call");
    else if (task_is_asr(&s->task) && c.input != model_layer_input(&s->model, layer)) /* a curve is one layer's */
        st = err_set(TP_EINVAL, "recommend: the newest curve is for input width %d, layer %d's input is %d: run 'profile "
                                "layer=%d' first", c.input, layer, model_layer_input(&s->model, layer), layer);
    else if ((st = profile_analyze(&a, &c, 0.02, 0)) == TP_OK) {
        st = profile_recommend(text, tn, &c, &a, layer, s->model.cfg.hidden[layer], budget_us);
        hysteresis_free(&a);
    }
    latency_curve_free(&c);
    return st;
}

TpStatus profile_session_latest_json(const char *dir, double margin, int margin_only, char **json)
{
    *json = NULL;
    LatencyCurve c;
    HystAnalysis a;
    TpStatus st = profile_session_latest(dir, &c);
    if (st != TP_OK) return st;
    if ((st = profile_analyze(&a, &c, margin, margin_only)) == TP_OK) {
        HystSeries ser = profile_series(&c);
        char *aj = NULL;
        if ((st = hysteresis_json(&ser, &a, &aj)) == TP_OK) st = latency_json_format(&c, aj, json);
        free(aj);
        hysteresis_free(&a);
    }
    latency_curve_free(&c);
    return st;
}
