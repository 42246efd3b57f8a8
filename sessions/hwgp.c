/* sessions/hwgp: the dimension decision and SESSION/hwgp.json (hwgp.h); the verb is hwgp_verb.c. */
#include "sessions/hwgp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/fsutil.h"
#include "base/paths.h"

static int index_of(const HystSeries *s, int h)
{
    for (int i = 0; i < s->n; i++)
        if (s->hidden[i] == h) return i;
    return -1;
}

TpStatus hwgp_choose(const HystSeries *s, const HystAnalysis *a, const int *cur, int L, int keep_last, double budget_us, int min_h,
                     int max_h, int *out, double *lat_now, double *lat_new, int *met)
{
    double now = 0, lat[MODEL_MAX_LAYERS];
    if (L < 1 || L > MODEL_MAX_LAYERS) return err_set(TP_EINVAL, "hwgp: %d layers", L);
    for (int l = 0; l < L; l++) {
        int i = index_of(s, cur[l]);
        if (i < 0) return err_set(TP_EINVAL, "hwgp: layer %d's size %d is not on the curve", l, cur[l]);
        lat[l] = s->median[i];
        now += lat[l];
    }
    /* candidates: the hysteresis points, else the Pareto set */
    int nc = a->n_points ? a->n_points : a->n_pareto;
    double total = 0, fixed = keep_last ? lat[L - 1] : 0.0;
    for (int l = 0; l < L; l++) {
        if (keep_last && l == L - 1) {
            out[l] = cur[l];
            total += lat[l];
            continue;
        }
        double free_now = now - fixed, free_budget = budget_us - fixed;
        double share = now <= budget_us ? lat[l] : free_budget > 0 && free_now > 0 ? free_budget * lat[l] / free_now : 0.0;
        int best = -1, fastest = -1;
        for (int k = 0; k < nc; k++) {
            int i = a->n_points ? a->points[k].index : a->pareto[k];
            int h = s->hidden[i];
            if (h < min_h || h > max_h) continue;
            if (fastest < 0 || s->median[i] < s->median[fastest]) fastest = i;
            if (s->median[i] <= share && (best < 0 || h > s->hidden[best])) best = i;
        }
        int pick = best >= 0 ? best : now <= budget_us ? index_of(s, cur[l]) : fastest;
        if (pick < 0) pick = index_of(s, cur[l]);
        out[l] = s->hidden[pick];
        total += s->median[pick];
    }
    *lat_now = now;
    *lat_new = total;
    *met = total <= budget_us * (1 + 1e-12);
    return TP_OK;
}

TpStatus hwgp_status_load(const char *dir, HwgpStatus *st)
{
    memset(st, 0, sizeof *st);
    char path[4400];
    TpStatus rc = path_join(path, sizeof path, dir, "hwgp.json");
    if (rc != TP_OK || !fsutil_exists(path)) return rc;
    void *data = NULL;
    size_t n = 0;
    if ((rc = fsutil_read_file(path, 1 << 20, &data, &n)) != TP_OK) return rc;
    cJSON *j = cJSON_ParseWithLength(data, n);
    free(data);
    if (!j) return err_set(TP_EFORMAT, "%s: not JSON", path);
#define STR(k, dst)                                                                    \
    do {                                                                               \
        const cJSON *x_ = cJSON_GetObjectItemCaseSensitive(j, k);                      \
        if (cJSON_IsString(x_)) snprintf(dst, sizeof dst, "%s", x_->valuestring);      \
    } while (0)
#define NUM(k, dst)                                                                    \
    do {                                                                               \
        const cJSON *x_ = cJSON_GetObjectItemCaseSensitive(j, k);                      \
        if (cJSON_IsNumber(x_)) dst = x_->valuedouble;                                 \
        else dst = NAN;                                                                \
    } while (0)
    STR("target", st->target);
    STR("stage", st->stage);
    STR("curve_run", st->curve_run);
    STR("last", st->last);
    double d;
    NUM("phase", d);
    st->phase = isfinite(d) ? (int)d : 0;
    NUM("phases", d);
    st->phases = isfinite(d) ? (int)d : 0;
    NUM("budget_us", st->budget_us);
    NUM("latency_us", st->latency_us);
    NUM("base_latency_us", st->base_latency_us);
    NUM("base_ppl", st->base_ppl);
    NUM("ppl", st->ppl);
#undef STR
#undef NUM
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(j, "sizes");
    const cJSON *e;
    cJSON_ArrayForEach(e, sz)
    {
        if (st->n_layers < MODEL_MAX_LAYERS && cJSON_IsNumber(e)) st->sizes[st->n_layers++] = e->valueint;
    }
    cJSON_Delete(j);
    st->have = 1;
    return TP_OK;
}

void hwgp_status_line(const HwgpStatus *st, char *buf, size_t n)
{
    if (!st->have) {
        snprintf(buf, n, "hwgp: not run");
        return;
    }
    char sizes[128] = "";
    for (int l = 0; l < st->n_layers; l++) {
        size_t u = strlen(sizes);
        snprintf(sizes + u, sizeof sizes - u, "%s%d", l ? "," : "", st->sizes[l]);
    }
    snprintf(buf, n, "hwgp phase %d/%d (%s) on %s: budget %.4g us, now %.4g us (was %.4g); sizes %s; valid ppl %.2f",
             st->phase, st->phases, st->stage, st->target, st->budget_us, st->latency_us, st->base_latency_us, sizes,
             st->ppl);
}

TpStatus hwgp_parse_targets(const char *text, HwgpGroup *g, int *n)
{
    *n = 0;
    const char *p = text;
    if (!*p) return err_set(TP_EINVAL, "targets: empty (GLOB:SPARSITY[:RxC[:freq]]+...)");
    while (*p) {
        const char *end = strchr(p, '+');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char part[160];
        if (len == 0 || len >= sizeof part) return err_set(TP_EINVAL, "targets: group %d is %s", *n + 1, len ? "too long" : "empty");
        if (*n == HWGP_MAX_GROUPS) return err_set(TP_EINVAL, "targets: more than %d groups", HWGP_MAX_GROUPS);
        memcpy(part, p, len);
        part[len] = 0;
        HwgpGroup *x = &g[*n];
        memset(x, 0, sizeof *x);
        char *c1 = strchr(part, ':');
        if (!c1) return err_set(TP_EINVAL, "targets: '%s': expected GLOB:SPARSITY[:RxC[:freq]]", part);
        *c1++ = 0;
        char *c2 = strchr(c1, ':');
        if (c2) *c2++ = 0;
        if (!part[0] || strlen(part) >= sizeof x->params) return err_set(TP_EINVAL, "targets: group %d: a bad parameter glob", *n + 1);
        snprintf(x->params, sizeof x->params, "%s", part);
        char *e;
        x->sparsity = strtod(c1, &e);
        if (e == c1 || *e || !(x->sparsity >= 0 && x->sparsity <= 0.999))
            return err_set(TP_EINVAL, "targets: %s: sparsity '%s' is not a number in [0, 0.999]", x->params, c1);
        char *c3 = c2 ? strchr(c2, ':') : NULL;
        if (c3) *c3++ = 0;
        if (c3) {
            if (strcmp(c3, "freq"))
                return err_set(TP_EINVAL, "targets: %s: '%s' after the block shape: expected freq (rows by word frequency)",
                               part, c3);
            x->freq_rows = 1;
        }
        if (c2) {
            if (strcmp(c2, "16x1") && strcmp(c2, "8x1") && strcmp(c2, "4x4"))
                return err_set(TP_EINVAL, "targets: %s: block '%s' is not one of 16x1, 8x1, 4x4", x->params, c2);
            snprintf(x->block, sizeof x->block, "%s", c2);
        }
        (*n)++;
        p = end ? end + 1 : p + len;
        if (end && !*p) return err_set(TP_EINVAL, "targets: a trailing '+'");
    }
    return TP_OK;
}

double hwgp_ramp_value(double s0, double sf, int i, int n)
{
    double r = 1.0 - (double)i / (double)n;
    return sf + (s0 - sf) * r * r * r;
}
