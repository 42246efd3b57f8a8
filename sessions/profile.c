/* sessions/profile: see profile.h. */
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "base/fsutil.h"

void profile_request_defaults(ProfileRequest *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->backend, sizeof r->backend, "cpu");
    snprintf(r->sizes, sizeof r->sizes, "16:1536:8");
    r->batch = r->seq = 1;
    snprintf(r->pattern, sizeof r->pattern, "dense");
    snprintf(r->block, sizeof r->block, "16x1");
    r->budget_s = 60.0;
    r->margin = 0.02;
    snprintf(r->cell, sizeof r->cell, "lstm");
    r->seed = 1;
}

static TpStatus num(const char *key, const char *v, double lo, double hi, int whole, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d) || (whole && d != floor(d)))
        return err_set(TP_EINVAL, "%s '%s': expected a%s number", key, v, whole ? " whole" : "");
    if (d < lo || d > hi) return err_set(TP_ERANGE, "%s %s: out of range (allowed %g..%g)", key, v, lo, hi);
    *out = d;
    return TP_OK;
}

static int is(const char *key, const char *a) { return !strcmp(key, a); }

TpStatus profile_request_set(ProfileRequest *r, const char *key, const char *v, int *known)
{
    char k[32];
    snprintf(k, sizeof k, "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '-') *p = '_';
    *known = 1;
    double d = 0;
    TpStatus st = TP_OK;
    if (is(k, "backend")) {
        if (strcmp(v, "cpu") && strcmp(v, "cuda") && strcmp(v, "accel"))
            return err_set(TP_EINVAL, "backend '%s': expected cpu, cuda or accel", v);
        snprintf(r->backend, sizeof r->backend, "%s", v);
    } else if (is(k, "sizes")) {
        int *sz, n;
        if ((st = latency_parse_sizes(v, &sz, &n)) != TP_OK) return st;
        free(sz);
        if (strlen(v) >= sizeof r->sizes) return err_set(TP_ERANGE, "sizes: longer than %zu characters", sizeof r->sizes - 1);
        snprintf(r->sizes, sizeof r->sizes, "%s", v);
    } else if (is(k, "pattern")) {
        if (strcmp(v, "block") && !latency_pattern_known(v))
            return err_set(TP_EINVAL, "pattern '%s': expected dense, csr, sell, sell-seg, unstructured, row or block (with block=RxC)", v);
        snprintf(r->pattern, sizeof r->pattern, "%s", v);
    } else if (is(k, "block")) {
        if (strcmp(v, "16x1") && strcmp(v, "8x1") && strcmp(v, "4x4"))
            return err_set(TP_EINVAL, "block '%s': expected 16x1, 8x1 or 4x4 (the runtime's block layouts)", v);
        snprintf(r->block, sizeof r->block, "%s", v);
        r->block_set = 1;
    } else if (is(k, "target")) {
        if (!*v || strlen(v) >= sizeof r->target) return err_set(TP_EINVAL, "target: expected cpu, cuda, accel[:...] or cmd:NAME");
        snprintf(r->target, sizeof r->target, "%s", v);
    } else if (is(k, "cell")) {
        if (strcmp(v, "lstm") && strcmp(v, "hlstm")) return err_set(TP_EINVAL, "cell '%s': expected lstm or hlstm", v);
        snprintf(r->cell, sizeof r->cell, "%s", v);
    } else if (is(k, "accel")) {
        if (!*v || strlen(v) >= sizeof r->accel) return err_set(TP_EINVAL, "accel: expected a file name");
        snprintf(r->accel, sizeof r->accel, "%s", v);
    } else if (is(k, "threads")) {
        if ((st = num("threads", v, 1, 256, 1, &d)) == TP_OK) r->threads = (int)d;
    } else if (is(k, "batch")) {
        if ((st = num("batch", v, 1, 100000, 1, &d)) == TP_OK) r->batch = (int)d;
    } else if (is(k, "seq")) {
        if ((st = num("seq", v, 1, 100000, 1, &d)) == TP_OK) r->seq = (int)d;
    } else if (is(k, "input")) {
        if ((st = num("input", v, 0, LATENCY_MAX_HIDDEN, 1, &d)) == TP_OK) r->input = (int)d;
    } else if (is(k, "sparsity")) {
        if ((st = num("sparsity", v, 0, 0.999, 0, &d)) == TP_OK) r->sparsity = d;
    } else if (is(k, "reps")) {
        if ((st = num("reps", v, 1, 100000, 1, &d)) == TP_OK) r->reps = (int)d;
    } else if (is(k, "budget_s")) {
        if ((st = num("budget-s", v, 1, 86400, 0, &d)) == TP_OK) r->budget_s = d;
    } else if (is(k, "margin")) {
        if ((st = num("margin", v, 0, 0.5, 0, &d)) == TP_OK) r->margin = d;
    } else if (is(k, "noise")) {
        if (strcmp(v, "band") && strcmp(v, "margin")) return err_set(TP_EINVAL, "noise '%s': expected band or margin", v);
        r->margin_only = !strcmp(v, "margin");
    } else if (is(k, "gate_hidden")) {
        if ((st = num("gate-hidden", v, 0, LATENCY_MAX_HIDDEN, 1, &d)) == TP_OK) r->gate_hidden = (int)d;
    } else if (is(k, "seed")) {
        if ((st = num("seed", v, 0, 9e15, 1, &d)) == TP_OK) r->seed = (uint64_t)d;
    } else {
        *known = 0;
    }
    return st;
}

/* The curve of r on r->target (sessions/target). */
static TpStatus profile_run_target(LatencyCurve *c, AccelParams *accel, const ProfileRequest *r, const char *pattern,
                                   const int *sizes, int n, LatencyProgressFn fn, void *ctx)
{
    Target *t;
    TpStatus st = target_open(r->target, r->session_dir, &t);
    if (st != TP_OK) return st;
    TargetQuery q = target_query_default(0);
    q.input = r->input, q.batch = r->batch, q.seq = r->seq, q.threads = r->threads, q.gate_hidden = r->gate_hidden;
    q.density = 1.0 - r->sparsity;
    q.bidir = r->bidir;
    snprintf(q.pattern, sizeof q.pattern, "%.15s", pattern);
    snprintf(q.cell, sizeof q.cell, "%s", r->cell);
    TargetSweep w = {r->reps, r->budget_s, r->seed, fn, ctx};
    st = target_curve(t, &q, sizes, n, &w, c);
    if (st == TP_OK && accel && target_accel(t)) *accel = *target_accel(t);
    target_close(t);
    return st;
}

TpStatus profile_run(LatencyCurve *c, AccelParams *accel, const ProfileRequest *r, LatencyProgressFn fn, void *ctx)
{
    latency_curve_init(c);
    int *sizes = NULL, n = 0;
    TpStatus st = latency_parse_sizes(r->sizes, &sizes, &n);
    if (st != TP_OK) return st;
    char pattern[32]; /* pattern block: the layout it measures, block16x1 ... */
    snprintf(pattern, sizeof pattern, "%s%s", r->pattern, strcmp(r->pattern, "block") ? "" : r->block);
    if (r->block_set && strcmp(r->pattern, "block"))
        st = err_set(TP_EINVAL, "profile: block %s needs pattern block", r->block);
    else if (r->sparsity > 0 && !strcmp(r->pattern, "dense"))
        st = err_set(TP_EINVAL, "profile: sparsity %g with pattern dense: give --pattern csr, sell, sell-seg, unstructured, row or block", r->sparsity);
    else if (r->sparsity == 0 && strcmp(r->pattern, "dense"))
        st = err_set(TP_EINVAL, "profile: pattern %s needs --sparsity S > 0", r->pattern);
    else if (r->target[0])
        st = profile_run_target(c, accel, r, pattern, sizes, n, fn, ctx);
    else if (!strcmp(r->backend, "accel")) {
        AccelParams p;
        st = r->accel[0] ? accel_params_load(&p, r->accel) : (accel_defaults(&p), TP_OK);
        if (st == TP_OK && strcmp(r->pattern, "dense") && strcmp(r->pattern, "row"))
            st = err_set(TP_ENOTAVAIL, "the accel model has no %s dataflow: use --pattern row (row-balanced)",
                         r->pattern);
        AccelLayer proto = {!strcmp(r->cell, "hlstm") ? ACCEL_HLSTM : ACCEL_LSTM, r->input, 0, r->gate_hidden,
                            r->batch, r->seq, r->sparsity, !strcmp(r->pattern, "row")};
        if (st == TP_OK) st = accel_curve(c, &p, &proto, sizes, n);
        if (st == TP_OK && accel) *accel = p;
    } else {
        LatencyOptions o;
        latency_options_defaults(&o);
        o.backend = r->backend;
        o.threads = r->threads;
        o.batch = r->batch;
        o.seq = r->seq;
        o.input = r->input;
        o.sparsity = r->sparsity;
        o.pattern = pattern;
        o.cell = r->cell;
        o.gate_hidden = r->gate_hidden;
        o.sizes = sizes;
        o.n_sizes = n;
        o.rounds = r->reps;
        o.budget_s = r->budget_s;
        o.seed = r->seed;
        o.bidir = r->bidir;
        o.progress = fn;
        o.ctx = ctx;
        st = latency_profile(c, &o);
    }
    free(sizes);
    return st;
}

HystSeries profile_series(const LatencyCurve *c) { return (HystSeries){c->n, c->hidden, c->median_us, c->p10_us, c->p90_us}; }

TpStatus profile_analyze(HystAnalysis *a, const LatencyCurve *c, double margin, int margin_only)
{
    HystOptions o;
    hysteresis_options_defaults(&o);
    o.margin = latency_curve_is_model(c) ? 0.0 : margin;
    o.margin_only = margin_only;
    o.max_jumps = 8;
    HystSeries s = profile_series(c);
    return hysteresis_analyze(a, &s, &o);
}

/* ---- reports ---- */

typedef struct {
    char *b;
    size_t n, u;
} Out;

static void say(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(Out *o, const char *fmt, ...)
{
    if (o->u + 1 >= o->n) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->b + o->u, o->n - o->u, fmt, ap);
    va_end(ap);
    if (w > 0) o->u = (size_t)w < o->n - o->u ? o->u + (size_t)w : o->n - 1;
}

static void accel_layer_of(AccelLayer *l, const LatencyCurve *c, int H)
{
    int M = 0;
    if (!strncmp(c->run, "model-hlstm-M", 13)) M = atoi(c->run + 13);
    *l = (AccelLayer){strncmp(c->run, "model-hlstm", 11) ? ACCEL_LSTM : ACCEL_HLSTM, c->input ? c->input : H, H,
                      M ? M : H, c->batch, c->seq, c->sparsity, !strcmp(c->pattern, "row")};
}

#define LIST_MAX 12

void profile_report(char *buf, size_t n, const LatencyCurve *c, const HystAnalysis *a, const AccelParams *accel,
                    int table)
{
    Out o = {buf, n, 0};
    if (n) buf[0] = '\0';
    char desc[160];
    latency_curve_describe(c, desc, sizeof desc);
    say(&o, "latency profile: %s; %d sizes %d..%d; ", desc, c->n, c->hidden[0], c->hidden[c->n - 1]);
    if (latency_curve_is_model(c)) say(&o, "accelerator model (exact, no noise)\n");
    else say(&o, "protocol %s, %d rounds%s", c->protocol, c->rounds, c->seconds > 0 ? "" : "\n");
    if (c->seconds > 0 && !latency_curve_is_model(c)) say(&o, ", %.1f s\n", c->seconds);
    say(&o, "hardware: %s\n", c->fingerprint[0] ? c->fingerprint : "(not recorded)");
    if (c->bidir && c->n_once == 0) /* measured here (the flags are not in files) */
        say(&o, "directions: in turn at every size (at once is tried for sparse patterns at 2+ threads)\n");
    else if (c->bidir)
        say(&o, "directions: at once, one thread each, at %d of %d sizes (timed faster than in turn there)\n",
            c->n_once, c->n);
    if (table) {
        say(&o, "%8s %12s %12s %12s  %s\n", "hidden", "median_us", "p10_us", "p90_us", "note");
        for (int i = 0; i < c->n; i++) {
            say(&o, "%8d %12.3f %12.3f %12.3f  ", c->hidden[i], c->median_us[i], c->p10_us[i], c->p90_us[i]);
            int hp = 0;
            for (int k = 0; k < a->n_points; k++) hp |= a->points[k].index == i;
            if (hp) say(&o, "hysteresis point ");
            if (a->dominated_by[i] >= 0) say(&o, "dominated by %d", c->hidden[a->dominated_by[i]]);
            say(&o, "\n");
        }
    }
    if (!latency_curve_is_model(c))
        say(&o, "noise: typical p10..p90 half-width %.1f%% of the median; comparisons use %s%.0f%%%s\n",
            100.0 * a->noise_rel, a->margin_only ? "medians +-" : "max(band, ", 100.0 * a->margin,
            a->margin_only ? " (--noise margin)" : ")");
    say(&o, "Pareto set: %d of %d sizes; dominated (a larger size is at least as fast%s): %d\n", a->n_pareto, c->n,
        a->margin > 0 || a->noise_rel > 0 ? " beyond noise" : "", a->n_dominated);
    if (a->n_dominated && !latency_curve_is_model(c)) {
        say(&o, "  ");
        for (int i = 0, k = 0; i < c->n && k < LIST_MAX; i++) {
            int j = a->dominated_by[i];
            if (j < 0) continue;
            say(&o, "%s%d (by %d, %.1f%% faster)", k++ ? ", " : "", c->hidden[i], c->hidden[j],
                100.0 * (1.0 - c->median_us[j] / c->median_us[i]));
        }
        say(&o, a->n_dominated > LIST_MAX ? ", ...\n" : "\n");
    }
    say(&o, "hysteresis points (right edges of plateaus): %d\n", a->n_points);
    for (int k = 0; k < a->n_points && k < (accel ? 2 * LIST_MAX : LIST_MAX); k++) {
        const HystPoint *p = &a->points[k];
        say(&o, "  %d: %.3f us, plateau from %d; the step after it: +%.1f%% (next Pareto size %d)", c->hidden[p->index],
            c->median_us[p->index], c->hidden[p->plateau_from], 100.0 * p->step, c->hidden[p->next]);
        if (accel) {
            AccelLayer la, lb;
            AccelBreakdown ba, bb;
            char why[512];
            accel_layer_of(&la, c, c->hidden[p->index]);
            accel_layer_of(&lb, c, c->hidden[p->index + 1]);
            if (accel_layer(&ba, accel, &la) == TP_OK && accel_layer(&bb, accel, &lb) == TP_OK) {
                accel_explain(why, sizeof why, accel, &la, &ba, &lb, &bb);
                say(&o, ": %s", why);
            }
        }
        say(&o, "\n");
    }
    int shown = accel ? 2 * LIST_MAX : LIST_MAX;
    if (a->n_points > shown) say(&o, "  ... and %d more (--json lists all)\n", a->n_points - shown);
    if (a->n_jumps) {
        say(&o, "largest non-monotonic jumps (a larger size is faster):\n");
        for (int k = 0; k < a->n_jumps; k++) {
            const HystJump *j = &a->jumps[k];
            say(&o, "  %d -> %d: %.1f%% faster%s\n", c->hidden[j->from], c->hidden[j->to], 100.0 * j->magnitude,
                j->beyond_noise ? " (beyond noise)" : " (within noise)");
        }
    } else {
        say(&o, "non-monotonic jumps: none (the curve never goes down)\n");
    }
    if (!latency_curve_is_model(c))
        say(&o, "non-monotonic effect beyond noise: %s%.1f%%\n", a->max_jump_beyond > 0 ? "up to " : "",
            100.0 * a->max_jump_beyond);
}

TpStatus profile_report_overlap(char *buf, size_t n, const LatencyCurve *ca, const HystAnalysis *a,
                                const LatencyCurve *cb, const HystAnalysis *b)
{
    HystSeries sa = profile_series(ca), sb = profile_series(cb);
    HystOverlap ov;
    TpStatus st = hysteresis_overlap(&ov, &sa, a, &sb, b);
    if (st != TP_OK) return st;
    Out o = {buf, n, 0};
    if (n) buf[0] = '\0';
    say(&o, "repeatability %s vs %s: hysteresis points %d and %d, %d agree within the noise band (overlap %.0f%%); ",
        ca->run, cb->run, ov.n_a, ov.n_b, ov.n_matched, 100.0 * ov.jaccard);
    say(&o, "dominated sizes %d and %d, %d in both (overlap %.0f%%); median |difference| of the curves %.1f%% over %d sizes\n",
        ov.n_dom_a, ov.n_dom_b, ov.n_dom_both, 100.0 * ov.dom_jaccard, 100.0 * ov.median_rel_diff, ov.n_common);
    return TP_OK;
}

TpStatus profile_marks_tsv(const LatencyCurve *c, const HystAnalysis *a, char **out)
{
    size_t cap = 64 + (size_t)(c->n + a->n_points) * 64;
    char *b = malloc(cap);
    if (!b) return err_set(TP_ENOMEM, "marks: out of memory");
    Out o = {b, cap, 0};
    b[0] = '\0';
    say(&o, "hidden\tmedian_us\tkind\tby\n");
    for (int k = 0; k < a->n_points; k++)
        say(&o, "%d\t%.3f\thysteresis\t%d\n", c->hidden[a->points[k].index], c->median_us[a->points[k].index],
            c->hidden[a->points[k].next]);
    for (int i = 0; i < c->n; i++)
        if (a->dominated_by[i] >= 0) say(&o, "%d\t%.3f\tdominated\t%d\n", c->hidden[i], c->median_us[i], c->hidden[a->dominated_by[i]]);
    *out = b;
    return TP_OK;
}

/* ---- the session's latency.tsv ---- */

TpStatus profile_session_append(const char *dir, const LatencyCurve *c)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/latency.tsv", dir);
    char *buf = NULL;
    size_t len = 0;
    int fresh = !fsutil_exists(path);
    TpStatus st = latency_tsv_format(c, fresh, &buf, &len);
    /* one appended line per row: a crash leaves at worst a torn last line, which readers skip */
    for (char *p = buf, *nl; st == TP_OK && p && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        st = fsutil_append_line(path, p);
    }
    free(buf);
    if (st != TP_OK) err_wrap(st, "latency.tsv: ");
    return st;
}

TpStatus profile_session_latest(const char *dir, LatencyCurve *c)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/latency.tsv", dir);
    latency_curve_init(c);
    LatencySet set;
    TpStatus st = latency_tsv_load(&set, path, NULL);
    if (st == TP_ENOENT) return err_set(TP_ENOENT, "no latency profile in %s yet: run 'profile' first", dir);
    if (st != TP_OK) return st;
    if (!set.n) {
        latency_set_free(&set);
        return err_set(TP_ENOENT, "%s holds no curve: run 'profile' first", path);
    }
    latency_curve_free(c);
    *c = set.c[set.n - 1]; /* the newest; the others are freed */
    set.n--;
    latency_set_free(&set);
    return TP_OK;
}

TpStatus profile_recommend(char *buf, size_t n, const LatencyCurve *c, const HystAnalysis *a, int layer, int current,
                           double budget_us)
{
    Out o = {buf, n, 0};
    if (n) buf[0] = '\0';
    HystSeries s = profile_series(c);
    char desc[160];
    latency_curve_describe(c, desc, sizeof desc);
    if (budget_us > 0) {
        HystPick p;
        TpStatus st = hysteresis_recommend_budget(&p, &s, a, budget_us);
        if (st != TP_OK) return st;
        say(&o, "layer %d: within %.4g us (%s) the most capacity is hidden %d at %.3f us", layer, budget_us, desc, p.hidden,
            p.median_us);
        say(&o, p.is_hysteresis ? " (a hysteresis point: the next size costs a step more)" : "");
        if (p.at_range_end) say(&o, " (the largest profiled size: larger ones were not measured)");
        if (current) say(&o, "; now %d", current);
        return TP_OK;
    }
    if (!current) return err_set(TP_EINVAL, "recommend: give budget_us=X or a layer");
    HystTargetPick t;
    TpStatus st = hysteresis_recommend_target(&t, &s, a, current);
    if (st != TP_OK) return err_wrap(st, "layer %d (hidden %d): ", layer, current);
    int ti = t.target_index;
    say(&o, "layer %d: hidden %d at %.3f us (%s)", layer, current, c->median_us[ti], desc);
    if (c->hidden[ti] != current) say(&o, " [read as %d, the next profiled size]", c->hidden[ti]);
    /* "free" only when the median is within the relative noise floor; otherwise the % cost is said */
    double cost = t.furthest != ti ? 100.0 * (c->median_us[t.furthest] / c->median_us[ti] - 1.0) : 0.0;
    if (t.furthest != ti)
        say(&o, cost <= 100.0 * a->margin ? "; no slower than now: up to %d (%.3f us, +%d units at no latency cost: median %+.1f %%, "
            "within the noise floor)" : "; no slower than now: up to %d (%.3f us, +%d units for %+.1f %% median latency: inside the "
            "p10-p90 spread of the current size, not free)", c->hidden[t.furthest], c->median_us[t.furthest],
            c->hidden[t.furthest] - current, cost);
    else say(&o, "; no larger size is as fast: already at the edge of its step");
    if (t.nearest >= 0 && t.nearest != t.furthest)
        say(&o, "; nearest larger size at least as fast: %d (%.3f us%s)", c->hidden[t.nearest], c->median_us[t.nearest],
            t.nearest_beyond_noise ? ", faster beyond noise" : "");
    return TP_OK;
}

/* ---- `topiary profile`: measure or analyze, then what to print ---- */

#define REPORT_BYTES (1 << 20)

typedef struct {
    char *p;
    size_t len, cap;
} Text;

static TpStatus text_add(Text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) return err_set(TP_ENOMEM, "profile: out of memory");
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
    return TP_OK;
}

/* One curve's analysis into t: a JSON line, or the report (report: REPORT_BYTES of scratch). */
static TpStatus show(Text *t, const LatencyCurve *c, const HystAnalysis *a, const AccelParams *accel, int json,
                     int table, char *report)
{
    if (!json) {
        profile_report(report, REPORT_BYTES, c, a, accel, table);
        return text_add(t, report);
    }
    HystSeries s = profile_series(c);
    char *aj = NULL, *j = NULL;
    TpStatus st = hysteresis_json(&s, a, &aj);
    if (st == TP_OK) st = latency_json_format(c, aj, &j);
    if (st == TP_OK) st = text_add(t, j);
    if (st == TP_OK) st = text_add(t, "\n");
    free(aj);
    free(j);
    return st;
}

static TpStatus write_marks(const char *path, const LatencyCurve *c, const HystAnalysis *a)
{
    char *m = NULL;
    TpStatus st = profile_marks_tsv(c, a, &m);
    if (st == TP_OK && (st = fsutil_write_atomic(path, m, strlen(m))) != TP_OK) err_wrap(st, "%s: ", path);
    free(m);
    return st;
}

/* The curves of the files, appended to *cs (*n of them); a warning in w for a torn last line. */
static TpStatus load_curves(const char *const *files, int n_files, LatencyCurve **cs, int *n, Text *w)
{
    for (int f = 0; f < n_files; f++) {
        LatencySet set;
        int torn = 0;
        TpStatus st = latency_tsv_load(&set, files[f], &torn);
        if (st != TP_OK) return st;
        char note[4400];
        snprintf(note, sizeof note, "warning: %s: the last line was torn (an interrupted append); ignored\n", files[f]);
        LatencyCurve *nc = realloc(*cs, sizeof **cs * (size_t)(*n + set.n));
        if (!nc || (torn && text_add(w, note) != TP_OK)) {
            if (nc) *cs = nc;
            latency_set_free(&set);
            return err_set(TP_ENOMEM, "out of memory");
        }
        *cs = nc;
        for (int i = 0; i < set.n; i++) (*cs)[(*n)++] = set.c[i];
        free(set.c);
    }
    return TP_OK;
}

/* Repeatability: every later curve of the same conditions against the first of them. */
static TpStatus show_overlaps(Text *t, const LatencyCurve *cs, const HystAnalysis *as, int n, char *report)
{
    TpStatus st = TP_OK;
    for (int i = 0; i < n && st == TP_OK; i++)
        for (int j = i + 1; j < n && st == TP_OK; j++) {
            int first = 1;
            for (int k = 0; k < i; k++) first &= !latency_curve_same_key(&cs[k], &cs[i]);
            if (!first || !latency_curve_same_key(&cs[i], &cs[j]) || strcmp(cs[i].protocol, cs[j].protocol)) continue;
            st = profile_report_overlap(report, REPORT_BYTES, &cs[i], &as[i], &cs[j], &as[j]);
            if (st == TP_OK) st = text_add(t, "\n");
            if (st == TP_OK) st = text_add(t, report);
        }
    return st;
}

TpStatus profile_analyze_files(const ProfileRequest *q, const char *const *files, int n_files, const ProfileOutput *o,
                               char **text, char **warn)
{
    Text t = {0}, w = {0};
    LatencyCurve *cs = NULL;
    HystAnalysis *as = NULL;
    int n = 0;
    AccelParams ap;
    char *report = malloc(REPORT_BYTES);
    TpStatus st = report ? TP_OK : err_set(TP_ENOMEM, "out of memory");
    if (st == TP_OK) st = load_curves(files, n_files, &cs, &n, &w);
    if (st == TP_OK) st = q->accel[0] ? accel_params_load(&ap, q->accel) : (accel_defaults(&ap), TP_OK);
    if (st == TP_OK && !(as = calloc((size_t)n + 1, sizeof *as))) st = err_set(TP_ENOMEM, "out of memory");
    for (int i = 0; i < n && st == TP_OK; i++) {
        st = profile_analyze(&as[i], &cs[i], q->margin, q->margin_only);
        if (st == TP_OK) st = show(&t, &cs[i], &as[i], !latency_curve_is_model(&cs[i]) ? NULL : &ap, o->json, o->table, report);
        if (st == TP_OK && !o->json && i + 1 < n) st = text_add(&t, "\n");
    }
    if (st == TP_OK && !o->json) st = show_overlaps(&t, cs, as, n, report);
    if (st == TP_OK && o->marks && n) st = write_marks(o->marks, &cs[0], &as[0]);
    for (int i = 0; i < n; i++) {
        if (as) hysteresis_free(&as[i]);
        latency_curve_free(&cs[i]);
    }
    free(as);
    free(cs);
    free(report);
    *text = t.p;
    *warn = w.p;
    return st;
}

TpStatus profile_measure(const ProfileRequest *q, const ProfileOutput *o, LatencyProgressFn fn, void *ctx, char **text,
                         int *n_sizes)
{
    Text t = {0};
    LatencyCurve c;
    AccelParams ap;
    HystAnalysis a;
    memset(&a, 0, sizeof a);
    *text = NULL;
    *n_sizes = 0;
    TpStatus st = profile_run(&c, &ap, q, fn, ctx);
    if (st != TP_OK) return st;
    char *buf = NULL, *report = malloc(REPORT_BYTES);
    size_t len = 0;
    if (!report) st = err_set(TP_ENOMEM, "out of memory");
    if (st == TP_OK && o->out) {
        st = latency_tsv_format(&c, 1, &buf, &len);
        if (st == TP_OK) st = fsutil_write_atomic(o->out, buf, len);
        if (st != TP_OK) err_wrap(st, "%s: ", o->out);
    }
    if (st == TP_OK) st = profile_analyze(&a, &c, q->margin, q->margin_only);
    if (st == TP_OK) st = show(&t, &c, &a, !latency_curve_is_model(&c) ? NULL : &ap, o->json, o->table || !o->out, report);
    if (st == TP_OK && o->marks) st = write_marks(o->marks, &c, &a);
    *n_sizes = c.n;
    hysteresis_free(&a);
    latency_curve_free(&c);
    free(buf);
    free(report);
    *text = t.p;
    return st;
}
