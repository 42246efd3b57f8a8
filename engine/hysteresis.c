/* engine/hysteresis: see hysteresis.h for the definitions (noise band, dominated, Pareto, hysteresis
 * points, jumps).  Every loop here is over the sizes of one curve (n <= LATENCY_MAX_SIZES), so the
 * quadratic scans stay well under a millisecond. */
#include "hysteresis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/strbuf.h"

void hysteresis_options_defaults(HystOptions *o)
{
    o->margin = 0.02;
    o->max_jumps = 5;
    o->margin_only = 0;
}

void hysteresis_free(HystAnalysis *a)
{
    MEM_FREE_ALL(a->lo, a->hi, a->runmin, a->dominated_by, a->reach, a->pareto, a->points, a->jumps);
    memset(a, 0, sizeof *a);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int cmp_jump(const void *x, const void *y)
{
    const HystJump *a = x, *b = y;
    if (a->magnitude != b->magnitude) return a->magnitude < b->magnitude ? 1 : -1;
    return a->from - b->from;
}

static double median_of(double *v, int n)
{
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static TpStatus check_series(const HystSeries *s)
{
    if (!s || s->n < 1 || !s->hidden || !s->median) return err_set(TP_EINVAL, "latency analysis: empty curve");
    for (int i = 0; i < s->n; i++) {
        double m = s->median[i];
        if (i && s->hidden[i] <= s->hidden[i - 1])
            return err_set(TP_EINVAL, "latency analysis: sizes must ascend (%d after %d)", s->hidden[i], s->hidden[i - 1]);
        if (!isfinite(m) || m <= 0)
            return err_set(TP_EINVAL, "latency analysis: size %d: median %g is not a positive number", s->hidden[i], m);
        /* 1e-9 relative: values printed with limited digits and read back may cross by rounding */
        double tol = 1e-9 * m + 1e-9;
        if (s->p10 && (!isfinite(s->p10[i]) || s->p10[i] > m + tol))
            return err_set(TP_EINVAL, "latency analysis: size %d: p10 %g above the median %g", s->hidden[i], s->p10[i], m);
        if (s->p90 && (!isfinite(s->p90[i]) || s->p90[i] < m - tol))
            return err_set(TP_EINVAL, "latency analysis: size %d: p90 %g below the median %g", s->hidden[i], s->p90[i], m);
    }
    return TP_OK;
}

TpStatus hysteresis_analyze(HystAnalysis *a, const HystSeries *s, const HystOptions *opt)
{
    memset(a, 0, sizeof *a);
    HystOptions def;
    hysteresis_options_defaults(&def);
    if (!opt) opt = &def;
    TpStatus st = check_series(s);
    if (st != TP_OK) return st;
    if (!(opt->margin >= 0 && opt->margin < 1))
        return err_set(TP_EINVAL, "latency analysis: margin %g: expected 0 <= margin < 1", opt->margin);
    const int n = s->n;
    const double *med = s->median;
    a->n = n;
    a->margin = opt->margin;
    a->margin_only = opt->margin_only;
    a->lo = malloc(sizeof(double) * (size_t)n);
    a->hi = malloc(sizeof(double) * (size_t)n);
    a->runmin = malloc(sizeof(double) * (size_t)n);
    a->dominated_by = malloc(sizeof(int) * (size_t)n);
    a->reach = malloc(sizeof(int) * (size_t)n);
    a->pareto = malloc(sizeof(int) * (size_t)n);
    a->points = malloc(sizeof(HystPoint) * (size_t)n);
    a->jumps = malloc(sizeof(HystJump) * (size_t)n);
    double *tmp = malloc(sizeof(double) * (size_t)n);
    if (!a->lo || !a->hi || !a->runmin || !a->dominated_by || !a->reach || !a->pareto || !a->points || !a->jumps ||
        !tmp) {
        st = err_set(TP_ENOMEM, "latency analysis: out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        double p10 = s->p10 && !opt->margin_only ? s->p10[i] : med[i];
        double p90 = s->p90 && !opt->margin_only ? s->p90[i] : med[i];
        a->lo[i] = fmin(p10, med[i] * (1.0 - opt->margin));
        a->hi[i] = fmax(p90, med[i] * (1.0 + opt->margin));
        tmp[i] = s->p10 && s->p90 ? (s->p90[i] - s->p10[i]) / (2.0 * med[i]) : 0.0;
    }
    a->noise_rel = median_of(tmp, n);
    a->runmin[n - 1] = med[n - 1];
    for (int i = n - 2; i >= 0; i--) a->runmin[i] = fmin(med[i], a->runmin[i + 1]);

    /* dominated: nearest larger size faster beyond noise */
    for (int i = 0; i < n; i++) {
        a->dominated_by[i] = -1;
        for (int j = i + 1; j < n; j++)
            if (a->hi[j] <= a->lo[i]) {
                a->dominated_by[i] = j;
                break;
            }
        if (a->dominated_by[i] < 0) a->pareto[a->n_pareto++] = i;
        else a->n_dominated++;
        a->reach[i] = i;
        for (int j = n - 1; j > i; j--)
            if (med[j] <= a->hi[i]) {
                a->reach[i] = j;
                break;
            }
    }

    /* hysteresis points: (a) Pareto, (b) a plateau behind, (c) a step beyond noise to the next Pareto size.
     * The plateau is contiguous: walking down from k over the sizes that are not spikes (strictly
     * faster sizes above them, hi(j) < lo(i)), med(k) stays inside their bands; one noisy size far
     * below cannot make a plateau of a steep stretch. */
    for (int q = 0; q + 1 < a->n_pareto; q++) {
        int k = a->pareto[q], p = a->pareto[q + 1];
        if (!(a->lo[p] > a->hi[k])) continue;
        int from = k;
        for (int i = k - 1; i >= 0; i--) {
            int spike = 0;
            for (int j = i + 1; j < n && !spike; j++) spike = a->hi[j] < a->lo[i];
            if (spike) continue;
            if (med[k] > a->hi[i] || med[k] < a->lo[i]) break;
            from = i;
        }
        if (from == k) continue;
        a->points[a->n_points++] = (HystPoint){k, from, p, med[p] / med[k] - 1.0};
    }

    /* jumps: for each size the fastest larger one, if faster */
    int n_j = 0;
    int best = n - 1; /* index of the minimum over j > i, the smallest such index on ties */
    for (int i = n - 2; i >= 0; i--) {
        if (med[i + 1] <= med[best]) best = i + 1;
        if (med[best] < med[i])
            a->jumps[n_j++] = (HystJump){i, best, 1.0 - med[best] / med[i], a->dominated_by[i] >= 0};
    }
    qsort(a->jumps, (size_t)n_j, sizeof *a->jumps, cmp_jump);
    for (int i = 0; i < n_j; i++)
        if (a->jumps[i].beyond_noise && a->jumps[i].magnitude > a->max_jump_beyond) a->max_jump_beyond = a->jumps[i].magnitude;
    a->n_jumps = n_j < opt->max_jumps ? n_j : (opt->max_jumps > 0 ? opt->max_jumps : 0);
    free(tmp);
    return TP_OK;
fail:
    free(tmp);
    hysteresis_free(a);
    return st;
}

/* ---- repeatability ---------------------------------------------------------------------------- */

static int index_of(const HystSeries *s, int hidden)
{
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->hidden[mid] == hidden) return mid;
        if (s->hidden[mid] < hidden) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Every size of s between hidden sizes x and y (inclusive) has its median inside band(x) of a. */
static int flat_between(const HystSeries *s, const HystAnalysis *a, int ix, int y)
{
    int x = s->hidden[ix];
    int lo = x < y ? x : y, hi = x < y ? y : x, any_y = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->hidden[i] < lo || s->hidden[i] > hi) continue;
        if (s->hidden[i] == y) any_y = 1;
        if (s->median[i] < a->lo[ix] || s->median[i] > a->hi[ix]) return 0;
    }
    return any_y;
}

static int matches(const HystSeries *sa, const HystAnalysis *a, int ka, const HystSeries *sb, const HystAnalysis *b,
                   int kb)
{
    int da = sa->hidden[ka], db = sb->hidden[kb];
    return da == db || flat_between(sa, a, ka, db) || flat_between(sb, b, kb, da);
}

TpStatus hysteresis_overlap(HystOverlap *o, const HystSeries *sa, const HystAnalysis *a, const HystSeries *sb,
                            const HystAnalysis *b)
{
    memset(o, 0, sizeof *o);
    if (a->n != sa->n || b->n != sb->n) return err_set(TP_EINVAL, "latency overlap: analysis does not match its curve");
    o->n_a = a->n_points;
    o->n_b = b->n_points;
    unsigned char *used = calloc((size_t)(b->n_points + 1), 1);
    double *diff = malloc(sizeof(double) * (size_t)(sa->n + 1));
    if (!used || !diff) {
        free(used);
        free(diff);
        return err_set(TP_ENOMEM, "latency overlap: out of memory");
    }
    /* one-to-one, nearest first: for each point of A the nearest unused matching point of B */
    for (int i = 0; i < a->n_points; i++) {
        int ka = a->points[i].index, best = -1, bestd = 0;
        for (int j = 0; j < b->n_points; j++) {
            if (used[j]) continue;
            int kb = b->points[j].index;
            int d = abs(sa->hidden[ka] - sb->hidden[kb]);
            if ((best < 0 || d < bestd) && matches(sa, a, ka, sb, b, kb)) best = j, bestd = d;
        }
        if (best >= 0) {
            used[best] = 1;
            o->n_matched++;
        }
    }
    int uni = o->n_a + o->n_b - o->n_matched;
    o->jaccard = uni ? (double)o->n_matched / uni : 1.0;
    for (int i = 0; i < sa->n; i++) {
        int j = index_of(sb, sa->hidden[i]);
        if (j < 0) continue;
        diff[o->n_common++] = fabs(sa->median[i] - sb->median[j]) / sa->median[i];
        int da = a->dominated_by[i] >= 0, db = b->dominated_by[j] >= 0;
        o->n_dom_a += da;
        o->n_dom_b += db;
        o->n_dom_both += da && db;
    }
    int du = o->n_dom_a + o->n_dom_b - o->n_dom_both;
    o->dom_jaccard = du ? (double)o->n_dom_both / du : 1.0;
    o->median_rel_diff = median_of(diff, o->n_common);
    free(used);
    free(diff);
    return TP_OK;
}

/* ---- recommendations -------------------------------------------------------------------------- */

static int is_point(const HystAnalysis *a, int k)
{
    for (int i = 0; i < a->n_points; i++)
        if (a->points[i].index == k) return 1;
    return 0;
}

TpStatus hysteresis_recommend_budget(HystPick *p, const HystSeries *s, const HystAnalysis *a, double budget_us)
{
    memset(p, 0, sizeof *p);
    p->index = -1;
    if (a->n != s->n || s->n < 1) return err_set(TP_EINVAL, "recommend: analysis does not match its curve");
    if (!(budget_us > 0) || !isfinite(budget_us))
        return err_set(TP_EINVAL, "recommend: budget %g us: expected a positive number", budget_us);
    int k = -1;
    for (int i = s->n - 1; i >= 0; i--)
        if (s->median[i] <= budget_us) {
            k = i;
            break;
        }
    if (k < 0) {
        int f = 0;
        for (int i = 1; i < s->n; i++)
            if (s->median[i] < s->median[f]) f = i;
        return err_set(TP_ERANGE, "recommend: a budget of %.4g us is below every profiled size (the fastest is %d at %.4g us)",
                       budget_us, s->hidden[f], s->median[f]);
    }
    p->index = k;
    p->hidden = s->hidden[k];
    p->median_us = s->median[k];
    p->is_hysteresis = is_point(a, k);
    p->at_range_end = k == s->n - 1;
    return TP_OK;
}

TpStatus hysteresis_recommend_target(HystTargetPick *p, const HystSeries *s, const HystAnalysis *a, int target)
{
    memset(p, 0, sizeof *p);
    p->target_index = p->nearest = p->furthest = -1;
    if (a->n != s->n || s->n < 1) return err_set(TP_EINVAL, "recommend: analysis does not match its curve");
    if (target < s->hidden[0] || target > s->hidden[s->n - 1])
        return err_set(TP_ERANGE, "recommend: size %d is outside the profiled range %d..%d", target, s->hidden[0],
                       s->hidden[s->n - 1]);
    int t = 0;
    while (s->hidden[t] < target) t++;
    p->target_index = t;
    for (int j = t + 1; j < s->n; j++)
        if (s->median[j] <= s->median[t]) {
            p->nearest = j;
            p->nearest_beyond_noise = a->hi[j] < a->lo[t]; /* strictly faster: equal is not a gain */
            break;
        }
    p->furthest = a->reach[t];
    return TP_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

TpStatus hysteresis_json(const HystSeries *s, const HystAnalysis *a, char **out)
{
    *out = NULL;
    StrBuf b = {0};
    strbuf_printf(&b, "{\"margin\":%.4g,\"margin_only\":%s,\"noise_rel\":%.4g,\"n_pareto\":%d,\"n_dominated\":%d,\"max_jump_beyond\":%.4g,",
        a->margin, a->margin_only ? "true" : "false", a->noise_rel, a->n_pareto, a->n_dominated, a->max_jump_beyond);
    strbuf_puts(&b, "\"hysteresis\":[");
    for (int i = 0; i < a->n_points; i++) {
        const HystPoint *p = &a->points[i];
        strbuf_printf(&b, "%s{\"hidden\":%d,\"median_us\":%.6g,\"plateau_from\":%d,\"next\":%d,\"step\":%.4g}", i ? "," : "",
            s->hidden[p->index], s->median[p->index], s->hidden[p->plateau_from], s->hidden[p->next], p->step);
    }
    strbuf_puts(&b, "],\"dominated\":[");
    for (int i = 0, first = 1; i < a->n; i++) {
        int j = a->dominated_by[i];
        if (j < 0) continue;
        strbuf_printf(&b, "%s{\"hidden\":%d,\"by\":%d,\"faster\":%.4g}", first ? "" : ",", s->hidden[i], s->hidden[j],
            1.0 - s->median[j] / s->median[i]);
        first = 0;
    }
    strbuf_puts(&b, "],\"jumps\":[");
    for (int i = 0; i < a->n_jumps; i++) {
        const HystJump *j = &a->jumps[i];
        strbuf_printf(&b, "%s{\"from\":%d,\"to\":%d,\"magnitude\":%.4g,\"beyond_noise\":%s}", i ? "," : "", s->hidden[j->from],
            s->hidden[j->to], j->magnitude, j->beyond_noise ? "true" : "false");
    }
    strbuf_puts(&b, "],\"pareto\":[");
    for (int i = 0; i < a->n_pareto; i++) strbuf_printf(&b, "%s%d", i ? "," : "", s->hidden[a->pareto[i]]);
    strbuf_puts(&b, "]}");
    if (b.oom) {
        strbuf_free(&b);
        return err_set(TP_ENOMEM, "latency analysis JSON: out of memory");
    }
    *out = b.p;
    return TP_OK;
}
