/* sessions/target: see target.h. */
#include "sessions/target.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/backend.h"
#include "engine/backend_ops.h"

struct Target {
    TargetKind kind;
    char name[160];
    AccelParams accel;
    TargetCmd cmd;
};

TargetQuery target_query_default(int hidden)
{
    TargetQuery q;
    memset(&q, 0, sizeof q);
    q.hidden = hidden;
    q.batch = q.seq = 1;
    q.density = 1.0;
    snprintf(q.pattern, sizeof q.pattern, "dense");
    snprintf(q.cell, sizeof q.cell, "lstm");
    return q;
}

void target_sweep_defaults(TargetSweep *w)
{
    memset(w, 0, sizeof *w);
    w->budget_s = 60.0;
    w->seed = 1;
}

/* "rows=64,cols=64" -> the accel parameters (JSON keys of engine/accel, defaults for the rest). */
static TpStatus accel_from_pairs(AccelParams *p, const char *pairs)
{
    char json[1024] = "{", copy[512];
    if (strlen(pairs) >= sizeof copy) return err_set(TP_EINVAL, "target accel:%s: too long", pairs);
    snprintf(copy, sizeof copy, "%s", pairs);
    char *save = NULL;
    int first = 1;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1])
            return err_set(TP_EINVAL, "target accel:%s: expected KEY=VALUE,... (e.g. accel:rows=64,cols=64) or accel:FILE.json",
                           pairs);
        *eq = '\0';
        for (const char *c = kv; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_') return err_set(TP_EINVAL, "target accel: key '%s': expected a name", kv);
        char *end;
        strtod(eq + 1, &end);
        int numeric = !*end;
        for (const char *c = eq + 1; !numeric && *c; c++)
            if (*c == '"' || *c == '\\') return err_set(TP_EINVAL, "target accel: %s: quotes are not allowed", kv);
        size_t u = strlen(json);
        snprintf(json + u, sizeof json - u, "%s\"%s\":%s%s%s", first ? "" : ",", kv, numeric ? "" : "\"", eq + 1,
                 numeric ? "" : "\"");
        first = 0;
    }
    size_t u = strlen(json);
    snprintf(json + u, sizeof json - u, "}");
    TpStatus st = accel_params_parse(p, json);
    return st == TP_OK ? TP_OK : err_wrap(TP_EINVAL, "target accel:%s: ", pairs);
}

TpStatus target_open(const char *spec, const char *session_dir, Target **out)
{
    *out = NULL;
    if (!spec || !*spec) spec = "cpu";
    Target *t = calloc(1, sizeof *t);
    if (!t) return err_set(TP_ENOMEM, "out of memory");
    TpStatus st = TP_OK;
    snprintf(t->name, sizeof t->name, "%s", spec);
    if (strlen(spec) >= sizeof t->name) st = err_set(TP_EINVAL, "target '%.40s...': too long", spec);
    else if (!strcmp(spec, "cpu")) t->kind = TARGET_CPU;
    else if (!strcmp(spec, "cuda")) {
        t->kind = TARGET_CUDA;
        const BackendOps *ops; /* it measures through the CUDA table (engine/latency_device) */
        if ((st = backend_ops_cuda(&ops)) != TP_OK) st = err_wrap(TP_ENODEV, "target cuda: ");
    } else if (!strcmp(spec, "accel")) {
        t->kind = TARGET_ACCEL;
        accel_defaults(&t->accel);
    } else if (!strncmp(spec, "accel:", 6)) {
        t->kind = TARGET_ACCEL;
        const char *a = spec + 6;
        if (!strchr(a, '=')) st = accel_params_load(&t->accel, a);
        else st = accel_from_pairs(&t->accel, a);
    } else if (!strncmp(spec, "cmd:", 4)) {
        t->kind = TARGET_CMD;
        st = target_cmd_load(&t->cmd, spec + 4, session_dir);
        if (st == TP_OK) st = target_cmd_check(&t->cmd);
    } else
        st = err_set(TP_EINVAL, "target '%s': expected cpu, cuda, accel, accel:KEY=VALUE,..., accel:FILE.json or cmd:NAME", spec);
    if (st != TP_OK) {
        free(t);
        return st;
    }
    *out = t;
    return TP_OK;
}

void target_close(Target *t) { free(t); }
const char *target_name(const Target *t) { return t->name; }
TargetKind target_kind(const Target *t) { return t->kind; }
const AccelParams *target_accel(const Target *t) { return t->kind == TARGET_ACCEL ? &t->accel : NULL; }

void target_describe(const Target *t, char *buf, size_t n)
{
    char d[600];
    switch (t->kind) {
    case TARGET_CPU: snprintf(buf, n, "cpu: topiary's inference runtime on this CPU (dense or sparse kernels)"); return;
    case TARGET_CUDA: snprintf(buf, n, "cuda: topiary's runtime on the CUDA backend"); return;
    case TARGET_ACCEL:
        accel_describe(&t->accel, d, sizeof d);
        snprintf(buf, n, "%s: the analytical accelerator model (%s)", t->name, d);
        return;
    case TARGET_CMD:
        snprintf(buf, n, "%s: %s (%s)", t->name, t->cmd.description[0] ? t->cmd.description : "external runtime", t->cmd.path);
        return;
    }
}

static TpStatus check_query(const Target *t, const TargetQuery *q)
{
    if (q->batch < 1 || q->seq < 1 || q->input < 0 || q->threads < 0 || !(q->density > 0 && q->density <= 1))
        return err_set(TP_EINVAL, "target %s: batch %d, seq %d, input %d, threads %d, density %g: out of range", t->name,
                       q->batch, q->seq, q->input, q->threads, q->density);
    int dense = !strcmp(q->pattern, "dense");
    if (q->density < 1 && dense)
        return err_set(TP_EINVAL, "target %s: density %g with pattern dense: give a sparse pattern (%s)", t->name,
                       q->density, LATENCY_PATTERNS);
    if (t->kind != TARGET_CMD && !latency_pattern_known(q->pattern))
        return err_set(TP_EINVAL, "target %s: pattern '%s': expected %s", t->name, q->pattern, LATENCY_PATTERNS);
    if (t->kind == TARGET_ACCEL && !dense && strcmp(q->pattern, "row"))
        return err_set(TP_ENOTAVAIL, "target %s: the accel model has no %s dataflow (row-balanced only: pattern row)", t->name,
                       q->pattern);
    if (t->kind == TARGET_CUDA && strcmp(q->cell, "lstm"))
        return err_set(TP_ENOTAVAIL, "target %s: measuring an H-LSTM layer is not available on the GPU (the cpu and accel "
                                     "targets measure or model one)", t->name);
    return TP_OK;
}

static AccelLayer accel_layer_of(const TargetQuery *q, int H)
{
    int dense = !strcmp(q->pattern, "dense");
    return (AccelLayer){strcmp(q->cell, "hlstm") ? ACCEL_LSTM : ACCEL_HLSTM, q->input, H, q->gate_hidden, q->batch, q->seq,
                        dense ? 0.0 : 1.0 - q->density, !dense};
}

/* "target=NAME; " + fp, tabs and newlines removed. */
static void mark_fingerprint(LatencyCurve *c, const Target *t, const char *extra)
{
    char fp[512];
    snprintf(fp, sizeof fp, "%s", c->fingerprint);
    if (snprintf(c->fingerprint, sizeof c->fingerprint, "target=%s; %s%s", t->name, extra, fp) < 0) c->fingerprint[0] = '\0';
    for (char *p = c->fingerprint; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
}

static TpStatus measured_curve(Target *t, const TargetQuery *q, const int *sizes, int n, const TargetSweep *w,
                               LatencyCurve *out)
{
    LatencyOptions o;
    latency_options_defaults(&o);
    o.backend = t->kind == TARGET_CUDA ? "cuda" : "cpu";
    o.threads = q->threads;
    o.batch = q->batch;
    o.seq = q->seq;
    o.input = q->input;
    o.sparsity = !strcmp(q->pattern, "dense") ? 0.0 : 1.0 - q->density;
    o.pattern = q->pattern;
    o.cell = q->cell;
    o.gate_hidden = q->gate_hidden;
    o.sizes = sizes;
    o.n_sizes = n;
    o.rounds = w->rounds;
    o.budget_s = w->budget_s;
    o.seed = w->seed;
    o.bidir = q->bidir;
    o.progress = w->progress;
    o.ctx = w->ctx;
    return latency_profile(out, &o);
}

static TpStatus cmd_curve(Target *t, const TargetQuery *q, const int *sizes, int n, const TargetSweep *w, LatencyCurve *c)
{
    latency_curve_init(c);
    snprintf(c->backend, sizeof c->backend, "cmd");
    c->threads = q->threads > 0 ? q->threads : 1;
    c->batch = q->batch;
    c->seq = q->seq;
    c->input = q->input;
    c->sparsity = !strcmp(q->pattern, "dense") ? 0.0 : 1.0 - q->density;
    snprintf(c->pattern, sizeof c->pattern, "%s", q->pattern);
    snprintf(c->protocol, sizeof c->protocol, "command");
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if (snprintf(c->run, sizeof c->run, "%.20s-%ld", stamp, (long)getpid() % 1000000) < 0) c->run[0] = '\0';
    latency_fingerprint(c->fingerprint, sizeof c->fingerprint);
    c->rounds = t->cmd.repeat;
    TpStatus st = TP_OK;
    for (int i = 0; i < n && st == TP_OK; i++) {
        TargetQuery qi = *q;
        qi.hidden = sizes[i];
        double med, p10, p90;
        st = target_cmd_measure(&t->cmd, &qi, &med, &p10, &p90);
        if (st == TP_OK) st = latency_curve_push(c, sizes[i], med, p10, p90, med, t->cmd.repeat, 1);
        if (st == TP_OK && w->progress && w->progress(w->ctx, (i + 1.0) / n, i + 1, n, 0.0))
            st = err_set(TP_ECANCEL, "target %s: cancelled", t->name);
    }
    if (st != TP_OK) latency_curve_free(c);
    return st;
}

TpStatus target_curve(Target *t, const TargetQuery *proto, const int *sizes, int n, const TargetSweep *w,
                      LatencyCurve *out)
{
    latency_curve_init(out);
    TargetSweep def;
    if (!w) target_sweep_defaults(&def), w = &def;
    TpStatus st = check_query(t, proto);
    if (st != TP_OK) return st;
    if (n < 1) return err_set(TP_EINVAL, "target %s: no sizes", t->name);
    char extra[1200] = "";
    switch (t->kind) {
    case TARGET_CPU:
    case TARGET_CUDA: st = measured_curve(t, proto, sizes, n, w, out); break;
    case TARGET_ACCEL: {
        AccelLayer l = accel_layer_of(proto, 0);
        st = accel_curve(out, &t->accel, &l, sizes, n);
        break;
    }
    case TARGET_CMD:
        st = cmd_curve(t, proto, sizes, n, w, out);
        snprintf(extra, sizeof extra, "command=%s; ", t->cmd.command);
        break;
    }
    if (st != TP_OK) return st;
    mark_fingerprint(out, t, extra);
    return TP_OK;
}

TpStatus target_measure(Target *t, const TargetQuery *q, double *us_median, double *us_p10, double *us_p90)
{
    TpStatus st = check_query(t, q);
    if (st != TP_OK) return st;
    if (q->hidden < 1 || q->hidden > LATENCY_MAX_HIDDEN)
        return err_set(TP_ERANGE, "target %s: hidden %d: expected 1..%d", t->name, q->hidden, LATENCY_MAX_HIDDEN);
    if (t->kind == TARGET_CMD) return target_cmd_measure(&t->cmd, q, us_median, us_p10, us_p90);
    if (t->kind == TARGET_ACCEL) {
        AccelLayer l = accel_layer_of(q, q->hidden);
        if (!l.I) l.I = q->hidden;
        if (!l.M) l.M = q->hidden;
        AccelBreakdown b;
        if ((st = accel_layer(&b, &t->accel, &l)) != TP_OK) return st;
        *us_median = *us_p10 = *us_p90 = b.us;
        return TP_OK;
    }
    TargetSweep w;
    target_sweep_defaults(&w);
    w.rounds = 15;
    LatencyCurve c;
    if ((st = measured_curve(t, q, &q->hidden, 1, &w, &c)) != TP_OK) return st;
    *us_median = c.median_us[0];
    *us_p10 = c.p10_us[0];
    *us_p90 = c.p90_us[0];
    latency_curve_free(&c);
    return TP_OK;
}

void target_of_curve(const LatencyCurve *c, char *buf, size_t n)
{
    if (!strncmp(c->fingerprint, "target=", 7)) {
        const char *p = c->fingerprint + 7;
        size_t k = strcspn(p, ";");
        snprintf(buf, n, "%.*s", (int)k, p);
        return;
    }
    snprintf(buf, n, "%s", c->backend);
}
