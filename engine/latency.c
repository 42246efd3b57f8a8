/* engine/latency: see latency.h for the protocol and the file formats. */
#include "latency.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "backend.h"
#include "lstm.h"
#include "rng.h"

/* ==== curves ==================================================================================== */

void latency_curve_init(LatencyCurve *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->backend, sizeof c->backend, "cpu");
    snprintf(c->pattern, sizeof c->pattern, "dense");
    snprintf(c->protocol, sizeof c->protocol, "steady");
    c->threads = c->batch = c->seq = 1;
}

void latency_curve_free(LatencyCurve *c)
{
    free(c->hidden);
    free(c->median_us);
    free(c->p10_us);
    free(c->p90_us);
    free(c->mean_us);
    free(c->n_samples);
    free(c->n_inner);
    c->hidden = NULL;
    c->median_us = c->p10_us = c->p90_us = c->mean_us = NULL;
    c->n_samples = c->n_inner = NULL;
    c->n = c->cap = 0;
}

#define GROW(p, cap) realloc((p), sizeof *(p) * (size_t)(cap))

TpStatus latency_curve_push(LatencyCurve *c, int hidden, double median, double p10, double p90, double mean,
                            int n_samples, int n_inner)
{
    if (c->n && hidden <= c->hidden[c->n - 1])
        return err_set(TP_EINVAL, "latency curve: size %d after %d: sizes must ascend", hidden, c->hidden[c->n - 1]);
    if (c->n == LATENCY_MAX_SIZES) return err_set(TP_ERANGE, "latency curve: more than %d sizes", LATENCY_MAX_SIZES);
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        void *p[7] = {GROW(c->hidden, cap), NULL, NULL, NULL, NULL, NULL, NULL};
        if (p[0]) c->hidden = p[0];
        p[1] = GROW(c->median_us, cap);
        if (p[1]) c->median_us = p[1];
        p[2] = GROW(c->p10_us, cap);
        if (p[2]) c->p10_us = p[2];
        p[3] = GROW(c->p90_us, cap);
        if (p[3]) c->p90_us = p[3];
        p[4] = GROW(c->mean_us, cap);
        if (p[4]) c->mean_us = p[4];
        p[5] = GROW(c->n_samples, cap);
        if (p[5]) c->n_samples = p[5];
        p[6] = GROW(c->n_inner, cap);
        if (p[6]) c->n_inner = p[6];
        for (int i = 0; i < 7; i++)
            if (!p[i]) return err_set(TP_ENOMEM, "latency curve: out of memory");
        c->cap = cap;
    }
    int i = c->n++;
    c->hidden[i] = hidden;
    c->median_us[i] = median;
    c->p10_us[i] = p10;
    c->p90_us[i] = p90;
    c->mean_us[i] = mean;
    c->n_samples[i] = n_samples;
    c->n_inner[i] = n_inner;
    return TP_OK;
}

int latency_curve_same_key(const LatencyCurve *a, const LatencyCurve *b)
{
    return !strcmp(a->backend, b->backend) && a->threads == b->threads && a->batch == b->batch && a->seq == b->seq &&
           a->input == b->input && a->sparsity == b->sparsity && !strcmp(a->pattern, b->pattern);
}

void latency_curve_describe(const LatencyCurve *c, char *buf, size_t n)
{
    char sp[48];
    if (!strcmp(c->pattern, "dense")) snprintf(sp, sizeof sp, "dense");
    else snprintf(sp, sizeof sp, "%s sparsity %.3g", c->pattern, c->sparsity);
    char in[32] = "";
    if (c->input) snprintf(in, sizeof in, ", input %d", c->input);
    snprintf(buf, n, "%s, %d thread%s, batch %d, seq %d%s, %s", c->backend, c->threads, c->threads == 1 ? "" : "s",
             c->batch, c->seq, in, sp);
}

void latency_set_free(LatencySet *s)
{
    for (int i = 0; i < s->n; i++) latency_curve_free(&s->c[i]);
    free(s->c);
    s->c = NULL;
    s->n = 0;
}

/* ==== sizes ===================================================================================== */

static int parse_int(const char *s, const char *end, long *v)
{
    if (s == end || end - s > 10) return 0;
    long x = 0;
    for (const char *p = s; p < end; p++) {
        if (!isdigit((unsigned char)*p)) return 0;
        x = x * 10 + (*p - '0');
    }
    *v = x;
    return 1;
}

TpStatus latency_parse_sizes(const char *spec, int **sizes, int *n)
{
    *sizes = NULL;
    *n = 0;
    if (!spec || !*spec) return err_set(TP_EINVAL, "sizes: empty (expected A:B:STEP or a,b,c)");
    int *v = malloc(sizeof(int) * LATENCY_MAX_SIZES);
    if (!v) return err_set(TP_ENOMEM, "sizes: out of memory");
    int k = 0;
    if (strchr(spec, ':')) {
        const char *c1 = strchr(spec, ':'), *c2 = strchr(c1 + 1, ':');
        long a, b, step;
        if (!c2 || !parse_int(spec, c1, &a) || !parse_int(c1 + 1, c2, &b) || !parse_int(c2 + 1, c2 + 1 + strlen(c2 + 1), &step)) {
            free(v);
            return err_set(TP_EINVAL, "sizes '%s': expected A:B:STEP with whole numbers (e.g. 16:1536:8)", spec);
        }
        if (a < 1 || b > LATENCY_MAX_HIDDEN || a > b || step < 1) {
            free(v);
            return err_set(TP_ERANGE, "sizes '%s': expected 1 <= A <= B <= %d and STEP >= 1", spec, LATENCY_MAX_HIDDEN);
        }
        if ((b - a) / step + 1 > LATENCY_MAX_SIZES) {
            free(v);
            return err_set(TP_ERANGE, "sizes '%s': %ld sizes, at most %d", spec, (b - a) / step + 1, LATENCY_MAX_SIZES);
        }
        for (long d = a; d <= b; d += step) v[k++] = (int)d;
    } else {
        for (const char *p = spec;;) {
            const char *e = strchr(p, ',');
            if (!e) e = p + strlen(p);
            long d;
            if (!parse_int(p, e, &d) || d < 1 || d > LATENCY_MAX_HIDDEN) {
                free(v);
                return err_set(TP_EINVAL, "sizes '%s': expected whole numbers 1..%d separated by commas", spec,
                               LATENCY_MAX_HIDDEN);
            }
            if (k && d <= v[k - 1]) {
                free(v);
                return err_set(TP_EINVAL, "sizes '%s': %ld after %d: list the sizes in increasing order", spec, d, v[k - 1]);
            }
            if (k == LATENCY_MAX_SIZES) {
                free(v);
                return err_set(TP_ERANGE, "sizes '%s': more than %d sizes", spec, LATENCY_MAX_SIZES);
            }
            v[k++] = (int)d;
            if (!*e) break;
            p = e + 1;
        }
    }
    *sizes = v;
    *n = k;
    return TP_OK;
}

/* ==== fingerprint =============================================================================== */

static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r' || *s == '"' || *s == '\\') *s = ' ';
}

void latency_fingerprint(char *buf, size_t n)
{
    char cpu[160] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) {
                    c++;
                    while (*c == ' ') c++;
                    c[strcspn(c, "\n")] = '\0';
                    snprintf(cpu, sizeof cpu, "%s", c);
                }
                break;
            }
        fclose(f);
    }
    char blas[320];
    backend_describe(blas, sizeof blas);
    struct utsname u;
    char os[96] = "?";
    if (uname(&u) == 0) snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(buf, n, "cpu=%s; cpus=%ld; blas=%s; os=%s", cpu, sysconf(_SC_NPROCESSORS_ONLN), blas, os);
    sanitize(buf);
}

/* ==== profiler ================================================================================== */

void latency_options_defaults(LatencyOptions *o)
{
    memset(o, 0, sizeof *o);
    o->backend = "cpu";
    o->batch = o->seq = 1;
    o->budget_s = 60.0;
    o->min_sample_us = 200.0;
    o->seed = 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One layer of every size, on shared buffers sized for the largest. */
typedef struct {
    float *w_ih, *w_hh, *b_ih, *b_hh, *x;
    LstmCache cache;
    int batch, seq, input;
} Bench;

static void bench_call(Bench *b, int H)
{
    LstmWeights w = {b->input ? b->input : H, H, b->w_ih, b->w_hh, b->b_ih, b->b_hh};
    LstmCache view = b->cache; /* strides follow view.H; the buffers hold the largest size */
    view.I = w.I;
    view.H = H;
    lstm_forward(&view, &w, b->x, b->seq, b->batch);
}

static void bench_free(Bench *b)
{
    free(b->w_ih);
    free(b->w_hh);
    free(b->b_ih);
    free(b->b_hh);
    free(b->x);
    lstm_cache_free(&b->cache);
}

static TpStatus bench_init(Bench *b, int hmax, int batch, int seq, int input)
{
    memset(b, 0, sizeof *b);
    int imax = input ? input : hmax;
    double G = 4.0 * hmax;
    double bytes = 4.0 * (G * imax + G * hmax + (double)seq * batch * (imax + 6.0 * G));
    if (bytes > 8.0 * 1073741824.0)
        return err_set(TP_ERANGE, "profile: the largest layer (hidden %d, input %d, batch %d, seq %d) needs %.1f GiB; at most 8",
                       hmax, imax, batch, seq, bytes / 1073741824.0);
    b->batch = batch;
    b->seq = seq;
    b->input = input;
    b->w_ih = backend_alloc((size_t)G * imax, sizeof(float));
    b->w_hh = backend_alloc((size_t)G * hmax, sizeof(float));
    b->b_ih = backend_alloc((size_t)G, sizeof(float));
    b->b_hh = backend_alloc((size_t)G, sizeof(float));
    b->x = backend_alloc((size_t)seq * batch * imax, sizeof(float));
    TpStatus st = TP_OK;
    if (!b->w_ih || !b->w_hh || !b->b_ih || !b->b_hh || !b->x) st = err_set(TP_ENOMEM, "profile: out of memory for the weights");
    if (st == TP_OK) st = lstm_cache_init(&b->cache, imax, hmax, seq, batch);
    if (st != TP_OK) {
        bench_free(b);
        return st;
    }
    Rng r;
    rng_seed(&r, 12345);
    for (size_t i = 0; i < (size_t)G * imax; i++) b->w_ih[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)G * hmax; i++) b->w_hh[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)G; i++) b->b_ih[i] = b->b_hh[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)seq * batch * imax; i++) b->x[i] = rng_range(&r, -1.0f, 1.0f);
    return TP_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Linear interpolation between order statistics (numpy's default). */
static double quantile(const double *sorted, int m, double q)
{
    double pos = q * (m - 1);
    int lo = (int)floor(pos);
    if (lo >= m - 1) return sorted[m - 1];
    return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

static TpStatus check_options(const LatencyOptions *o, BackendKind *kind)
{
    const char *be = o->backend ? o->backend : "cpu";
    if (!strcmp(be, "cpu")) *kind = BACKEND_CPU;
    else if (!strcmp(be, "cuda")) *kind = BACKEND_CUDA;
    else if (!strcmp(be, "accel"))
        return err_set(TP_EINVAL, "profile: the accel backend is a model: use accel_curve() (engine/accel)");
    else return err_set(TP_EINVAL, "profile: backend '%s': expected cpu, cuda or accel", be);
    if (o->sparsity != 0.0 || (o->pattern && strcmp(o->pattern, "dense")))
        return err_set(TP_ENOTAVAIL, "profile: sparsity %g, pattern %s: not available yet: needs the sparse kernels "
                       "(the accel model does row-balanced sparsity: --backend accel --pattern row)",
                       o->sparsity, o->pattern ? o->pattern : "dense");
    if (o->batch < 1 || o->seq < 1 || o->input < 0)
        return err_set(TP_EINVAL, "profile: batch %d, seq %d, input %d: expected batch, seq >= 1, input >= 0", o->batch, o->seq,
                       o->input);
    if (o->n_sizes < 1 || !o->sizes) return err_set(TP_EINVAL, "profile: no sizes");
    for (int i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] < 1 || o->sizes[i] > LATENCY_MAX_HIDDEN || (i && o->sizes[i] <= o->sizes[i - 1]))
            return err_set(TP_EINVAL, "profile: sizes must ascend within 1..%d", LATENCY_MAX_HIDDEN);
    if (o->rounds < 0 || o->rounds > 100000) return err_set(TP_ERANGE, "profile: reps %d: expected 1..100000", o->rounds);
    if (!(o->budget_s > 0) || o->budget_s > 86400) return err_set(TP_ERANGE, "profile: budget %g s: expected 0 < s <= 86400", o->budget_s);
    if (!(o->min_sample_us > 0) || o->min_sample_us > 1e6)
        return err_set(TP_ERANGE, "profile: minimum sample %g us: expected 0 < us <= 1e6", o->min_sample_us);
    return TP_OK;
}

TpStatus latency_profile(LatencyCurve *out, const LatencyOptions *o)
{
    latency_curve_init(out);
    BackendKind kind;
    TpStatus st = check_options(o, &kind);
    if (st != TP_OK) return st;
    const int n = o->n_sizes;
    const double t_start = now_s();
    int saved_threads = backend_threads();
    BackendKind saved_kind = backend_current();
    Bench b;
    double *t_call = NULL, *samples = NULL, *tmp = NULL;
    int *n_inner = NULL, *order = NULL;
    int bench_ok = 0, rounds = 0, done = 0;
    if (o->threads > 0 && (st = backend_set_threads(o->threads)) != TP_OK) return st;
    if (kind != saved_kind && (st = backend_select(kind)) != TP_OK) {
        err_wrap(st, "profile: ");
        goto fail;
    }
    if ((st = bench_init(&b, o->sizes[n - 1], o->batch, o->seq, o->input)) != TP_OK) goto fail;
    bench_ok = 1;
    t_call = malloc(sizeof(double) * (size_t)n);
    n_inner = malloc(sizeof(int) * (size_t)n);
    order = malloc(sizeof(int) * (size_t)n);
    if (!t_call || !n_inner || !order) {
        st = err_set(TP_ENOMEM, "profile: out of memory");
        goto fail;
    }

    /* 1. calibration */
    double round_cost = 0.0;
    for (int i = 0; i < n; i++) {
        int H = o->sizes[i];
        bench_call(&b, H);
        bench_call(&b, H);
        int k = 0;
        double t0 = now_s(), el;
        do {
            bench_call(&b, H);
            k++;
            el = now_s() - t0;
        } while (k < 10 && el < 1e-3);
        t_call[i] = el / k;
        double ni = ceil(o->min_sample_us * 1e-6 / fmax(t_call[i], 1e-9));
        n_inner[i] = ni < 1 ? 1 : ni > 1e6 ? 1000000 : (int)ni;
        round_cost += 2.0 * n_inner[i] * t_call[i];
        if (o->progress && (i % 16 == 15 || i == n - 1) &&
            o->progress(o->ctx, 0.05 * (i + 1) / n, 0, 0, now_s() - t_start)) {
            st = err_set(TP_ECANCEL, "profile: cancelled");
            goto fail;
        }
    }
    const double t_rounds = now_s();
    int auto_rounds = o->rounds == 0;
    rounds = o->rounds;
    if (auto_rounds) {
        double r = floor((o->budget_s - (t_rounds - t_start)) / fmax(round_cost, 1e-9));
        rounds = r < 5 ? 5 : r > 1000 ? 1000 : (int)r;
    }
    samples = malloc(sizeof(double) * (size_t)n * (size_t)rounds);
    tmp = malloc(sizeof(double) * (size_t)rounds);
    if (!samples || !tmp) {
        st = err_set(TP_ENOMEM, "profile: out of memory for %d x %d samples", n, rounds);
        goto fail;
    }

    /* 2.-3. rounds of shuffled visits: warm-up, then n_inner calls back to back, timed */
    Rng rng;
    rng_seed(&rng, o->seed);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int r = 0; r < rounds; r++) {
        for (int i = n - 1; i > 0; i--) {
            int j = (int)rng_below(&rng, (uint32_t)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int v = 0; v < n; v++) {
            int i = order[v], H = o->sizes[i], m = n_inner[i];
            for (int k = 0; k < m; k++) bench_call(&b, H);
            double t0 = now_s();
            for (int k = 0; k < m; k++) bench_call(&b, H);
            samples[(size_t)i * rounds + r] = (now_s() - t0) / m * 1e6;
        }
        done = r + 1;
        double el = now_s() - t_start;
        if (o->progress && o->progress(o->ctx, 0.05 + 0.95 * done / rounds, done, rounds, el)) {
            st = err_set(TP_ECANCEL, "profile: cancelled after %d round(s)", done);
            goto fail;
        }
        /* the machine may be slower than calibrated (another job started): keep to the budget */
        double per_round = (now_s() - t_rounds) / done;
        if (auto_rounds && done >= 5 && el + per_round > o->budget_s) break;
    }

    /* 4. statistics */
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int r = 0; r < done; r++) sum += tmp[r] = samples[(size_t)i * rounds + r];
        qsort(tmp, (size_t)done, sizeof *tmp, cmp_double);
        st = latency_curve_push(out, o->sizes[i], quantile(tmp, done, 0.5), quantile(tmp, done, 0.1),
                                quantile(tmp, done, 0.9), sum / done, done, n_inner[i]);
        if (st != TP_OK) goto fail;
    }
    snprintf(out->backend, sizeof out->backend, "%s", kind == BACKEND_CUDA ? "cuda" : "cpu");
    out->threads = backend_threads();
    out->batch = o->batch;
    out->seq = o->seq;
    out->input = o->input;
    out->rounds = done;
    latency_fingerprint(out->fingerprint, sizeof out->fingerprint);
    {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char ts[24];
        strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(out->run, sizeof out->run, "%s-s%llu", ts, (unsigned long long)(o->seed % 100000));
    }
    out->seconds = now_s() - t_start;
    st = TP_OK;
fail:
    if (bench_ok) bench_free(&b);
    free(t_call);
    free(samples);
    free(tmp);
    free(n_inner);
    free(order);
    if (backend_current() != saved_kind) backend_select(saved_kind);
    if (o->threads > 0) backend_set_threads(saved_threads);
    if (st != TP_OK) latency_curve_free(out);
    return st;
}

/* ==== TSV ======================================================================================= */

static const char *const TSV_COLS[] = {"backend", "threads", "batch", "seq", "hidden", "sparsity", "pattern",
                                       "median_us", "p10_us", "p90_us", "input", "mean_us", "n_samples",
                                       "n_inner", "protocol", "run", "fingerprint"};
#define TSV_REQUIRED 10
#define TSV_ALL ((int)(sizeof TSV_COLS / sizeof TSV_COLS[0]))

const char *latency_tsv_header(void)
{
    static char h[256];
    if (!h[0]) {
        size_t u = 0;
        for (int i = 0; i < TSV_ALL; i++) u += (size_t)snprintf(h + u, sizeof h - u, "%s%s", i ? "\t" : "", TSV_COLS[i]);
        snprintf(h + u, sizeof h - u, "\n");
    }
    return h;
}

TpStatus latency_tsv_format(const LatencyCurve *c, int with_header, char **buf, size_t *len)
{
    size_t need = (with_header ? 256 : 0) + (size_t)c->n * (200 + strlen(c->fingerprint) + strlen(c->run)) + 1;
    char *b = realloc(*buf, *len + need);
    if (!b) return err_set(TP_ENOMEM, "latency TSV: out of memory");
    *buf = b;
    size_t u = *len;
    if (with_header) u += (size_t)snprintf(b + u, need, "%s", latency_tsv_header());
    for (int i = 0; i < c->n; i++)
        u += (size_t)snprintf(b + u, *len + need - u,
                              "%s\t%d\t%d\t%d\t%d\t%.6g\t%s\t%.3f\t%.3f\t%.3f\t%d\t%.3f\t%d\t%d\t%s\t%s\t%s\n",
                              c->backend, c->threads, c->batch, c->seq, c->hidden[i], c->sparsity, c->pattern,
                              c->median_us[i], c->p10_us[i], c->p90_us[i], c->input, c->mean_us[i], c->n_samples[i],
                              c->n_inner[i], c->protocol, c->run[0] ? c->run : "-",
                              c->fingerprint[0] ? c->fingerprint : "-");
    *len = u;
    return TP_OK;
}

static int word_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

static int num_field(const char *s, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    return *s && !*e && !errno && isfinite(*v);
}

static int int_field(const char *s, long lo, long hi, int *v)
{
    double d;
    if (!num_field(s, &d) || d != floor(d) || d < lo || d > hi) return 0;
    *v = (int)d;
    return 1;
}

/* Parse one data row into a one-point curve `row`; the reason goes to err_msg(). */
static TpStatus parse_row(char **f, const int *col, LatencyCurve *row, int *hidden, double v[4], int ni[2])
{
    latency_curve_init(row);
#define FIELD(k) f[col[k]]
    if (!word_ok(FIELD(0))) return err_set(TP_EFORMAT, "backend '%s': expected a name", FIELD(0));
    snprintf(row->backend, sizeof row->backend, "%s", FIELD(0));
    if (!int_field(FIELD(1), 1, 256, &row->threads)) return err_set(TP_EFORMAT, "threads '%s': expected 1..256", FIELD(1));
    if (!int_field(FIELD(2), 1, 100000, &row->batch)) return err_set(TP_EFORMAT, "batch '%s': expected 1..100000", FIELD(2));
    if (!int_field(FIELD(3), 1, 100000, &row->seq)) return err_set(TP_EFORMAT, "seq '%s': expected 1..100000", FIELD(3));
    if (!int_field(FIELD(4), 1, LATENCY_MAX_HIDDEN, hidden))
        return err_set(TP_EFORMAT, "hidden '%s': expected 1..%d", FIELD(4), LATENCY_MAX_HIDDEN);
    if (!num_field(FIELD(5), &row->sparsity) || row->sparsity < 0 || row->sparsity >= 1)
        return err_set(TP_EFORMAT, "sparsity '%s': expected 0 <= s < 1", FIELD(5));
    if (strcmp(FIELD(6), "dense") && strcmp(FIELD(6), "csr") && strcmp(FIELD(6), "row"))
        return err_set(TP_EFORMAT, "pattern '%s': expected dense, csr or row", FIELD(6));
    snprintf(row->pattern, sizeof row->pattern, "%s", FIELD(6));
    static const char *const tn[3] = {"median_us", "p10_us", "p90_us"};
    for (int k = 0; k < 3; k++)
        if (!num_field(FIELD(7 + k), &v[k]) || v[k] <= 0)
            return err_set(TP_EFORMAT, "%s '%s': expected a positive number", tn[k], FIELD(7 + k));
    if (v[1] > v[0] || v[0] > v[2])
        return err_set(TP_EFORMAT, "expected p10_us <= median_us <= p90_us, got %s, %s, %s", FIELD(8), FIELD(7), FIELD(9));
    v[3] = v[0];
    ni[0] = ni[1] = 1;
    if (col[10] >= 0 && !int_field(FIELD(10), 0, LATENCY_MAX_HIDDEN, &row->input))
        return err_set(TP_EFORMAT, "input '%s': expected 0..%d", FIELD(10), LATENCY_MAX_HIDDEN);
    if (col[11] >= 0 && (!num_field(FIELD(11), &v[3]) || v[3] <= 0))
        return err_set(TP_EFORMAT, "mean_us '%s': expected a positive number", FIELD(11));
    if (col[12] >= 0 && !int_field(FIELD(12), 0, 100000000, &ni[0]))
        return err_set(TP_EFORMAT, "n_samples '%s': expected a count", FIELD(12));
    if (col[13] >= 0 && !int_field(FIELD(13), 0, 100000000, &ni[1]))
        return err_set(TP_EFORMAT, "n_inner '%s': expected a count", FIELD(13));
    if (col[14] >= 0) {
        if (!word_ok(FIELD(14))) return err_set(TP_EFORMAT, "protocol '%s': expected a name", FIELD(14));
        snprintf(row->protocol, sizeof row->protocol, "%s", FIELD(14));
    }
    if (col[15] >= 0) snprintf(row->run, sizeof row->run, "%s", FIELD(15));
    if (col[16] >= 0) snprintf(row->fingerprint, sizeof row->fingerprint, "%s", FIELD(16));
#undef FIELD
    return TP_OK;
}

static int split_tabs(char *line, char **f, int max)
{
    int k = 0;
    for (char *p = line;;) {
        if (k == max) return max + 1;
        f[k++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    return k;
}

TpStatus latency_tsv_parse(LatencySet *out, const char *text, int *torn)
{
    memset(out, 0, sizeof *out);
    if (torn) *torn = 0;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) return err_set(TP_ENOMEM, "latency TSV: out of memory");
    memcpy(copy, text, len + 1);
    TpStatus st = TP_OK;
    enum { MAXF = 64 };
    char *f[MAXF];
    int col[TSV_ALL], n_cols = 0, lineno = 0;
    LatencyCurve row;
    latency_curve_init(&row);
    char *p = copy;
    while (*p) {
        char *nl = strchr(p, '\n');
        int last_unterminated = !nl;
        if (nl) *nl = '\0';
        char *line = p;
        p = nl ? nl + 1 : p + strlen(p);
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
        if (lineno == 1) {
            n_cols = split_tabs(line, f, MAXF);
            if (n_cols > MAXF) {
                st = err_set(TP_EFORMAT, "line 1: more than %d columns", MAXF);
                goto fail;
            }
            for (int k = 0; k < TSV_ALL; k++) col[k] = -1;
            for (int i = 0; i < n_cols; i++)
                for (int k = 0; k < TSV_ALL; k++)
                    if (!strcmp(f[i], TSV_COLS[k])) {
                        if (col[k] >= 0) {
                            st = err_set(TP_EFORMAT, "line 1: column '%s' appears twice", TSV_COLS[k]);
                            goto fail;
                        }
                        col[k] = i;
                    }
            for (int k = 0; k < TSV_REQUIRED; k++)
                if (col[k] != k) {
                    st = err_set(TP_EFORMAT, "line 1: expected the header 'backend threads batch seq hidden sparsity "
                                             "pattern median_us p10_us p90_us ...' (tab-separated); column %d is not '%s'",
                                 k + 1, TSV_COLS[k]);
                    goto fail;
                }
            continue;
        }
        int k = split_tabs(line, f, MAXF);
        int hidden, ni[2];
        double v[4];
        TpStatus rs = k != n_cols ? err_set(TP_EFORMAT, "%d field(s), the header has %d", k > MAXF ? MAXF : k, n_cols)
                                  : parse_row(f, col, &row, &hidden, v, ni);
        if (rs != TP_OK) {
            if (last_unterminated) { /* a torn append: skip it, say so */
                if (torn) *torn = 1;
                break;
            }
            st = err_wrap(TP_EFORMAT, "line %d: ", lineno);
            goto fail;
        }
        LatencyCurve *cur = out->n ? &out->c[out->n - 1] : NULL;
        int same = cur && latency_curve_same_key(cur, &row) && !strcmp(cur->run, row.run) &&
                   !strcmp(cur->protocol, row.protocol);
        if (same && hidden <= cur->hidden[cur->n - 1]) {
            if (col[15] >= 0 && strcmp(row.run, "-")) {
                st = err_set(TP_EFORMAT, "line %d: size %d after %d in the same run '%s': sizes must ascend", lineno, hidden,
                             cur->hidden[cur->n - 1], row.run);
                goto fail;
            }
            same = 0; /* no run ids: a repeated size starts the next sweep */
        }
        if (!same) {
            LatencyCurve *nc = realloc(out->c, sizeof *nc * (size_t)(out->n + 1));
            if (!nc) {
                st = err_set(TP_ENOMEM, "latency TSV: out of memory");
                goto fail;
            }
            out->c = nc;
            cur = &out->c[out->n++];
            *cur = row; /* conditions; no points yet */
        }
        if ((st = latency_curve_push(cur, hidden, v[0], v[1], v[2], v[3], ni[0], ni[1])) != TP_OK) {
            err_wrap(st, "line %d: ", lineno);
            goto fail;
        }
        if (ni[0] > cur->rounds) cur->rounds = ni[0];
    }
    if (lineno == 0) {
        st = err_set(TP_EFORMAT, "line 1: empty file (expected the header line)");
        goto fail;
    }
    free(copy);
    return TP_OK;
fail:
    free(copy);
    latency_set_free(out);
    return st;
}

TpStatus latency_tsv_load(LatencySet *out, const char *path, int *torn)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    TpStatus st = TP_OK;
    for (;;) {
        if (cap - n < 65536) {
            if (cap > (64u << 20)) {
                st = err_set(TP_ERANGE, "%s: larger than 64 MiB", path);
                break;
            }
            char *nb = realloc(buf, cap = cap * 2 + 65536 + 1);
            if (!nb) {
                st = err_set(TP_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) st = err_set(TP_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == TP_OK) {
        buf[n] = '\0';
        if (memchr(buf, '\0', n)) st = err_set(TP_EFORMAT, "%s: binary data (a NUL byte) in a text file", path);
        else if ((st = latency_tsv_parse(out, buf, torn)) != TP_OK) err_wrap(st, "%s: ", path);
    }
    free(buf);
    return st;
}

/* ==== JSON ====================================================================================== */

TpStatus latency_json_format(const LatencyCurve *c, const char *analysis_json, char **buf)
{
    *buf = NULL;
    cJSON *o = cJSON_CreateObject(), *pts = NULL;
    if (!o) goto oom;
    cJSON_AddStringToObject(o, "format", "topiary-latency");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "backend", c->backend);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "seq", c->seq);
    cJSON_AddNumberToObject(o, "input", c->input);
    cJSON_AddNumberToObject(o, "sparsity", c->sparsity);
    cJSON_AddStringToObject(o, "pattern", c->pattern);
    cJSON_AddStringToObject(o, "protocol", c->protocol);
    cJSON_AddStringToObject(o, "run", c->run);
    cJSON_AddStringToObject(o, "fingerprint", c->fingerprint);
    cJSON_AddNumberToObject(o, "rounds", c->rounds);
    cJSON_AddNumberToObject(o, "seconds", c->seconds);
    if (!(pts = cJSON_AddArrayToObject(o, "points"))) goto oom;
    for (int i = 0; i < c->n; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p || !cJSON_AddItemToArray(pts, p)) goto oom;
        cJSON_AddNumberToObject(p, "hidden", c->hidden[i]);
        cJSON_AddNumberToObject(p, "median_us", c->median_us[i]);
        cJSON_AddNumberToObject(p, "p10_us", c->p10_us[i]);
        cJSON_AddNumberToObject(p, "p90_us", c->p90_us[i]);
        cJSON_AddNumberToObject(p, "mean_us", c->mean_us[i]);
        cJSON_AddNumberToObject(p, "n_samples", c->n_samples[i]);
        cJSON_AddNumberToObject(p, "n_inner", c->n_inner[i]);
    }
    if (analysis_json) {
        cJSON *a = cJSON_Parse(analysis_json);
        if (!a) {
            cJSON_Delete(o);
            return err_set(TP_EINVAL, "latency JSON: the analysis is not valid JSON");
        }
        cJSON_AddItemToObject(o, "analysis", a);
    }
    *buf = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*buf) return err_set(TP_ENOMEM, "latency JSON: out of memory");
    return TP_OK;
oom:
    cJSON_Delete(o);
    return err_set(TP_ENOMEM, "latency JSON: out of memory");
}

static const char *jstr(const cJSON *o, const char *k, char *dst, size_t n, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return required ? k : NULL;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) return k;
    snprintf(dst, n, "%s", v->valuestring);
    return NULL;
}

static const char *jnum(const cJSON *o, const char *k, double *dst, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return required ? k : NULL;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return k;
    *dst = v->valuedouble;
    return NULL;
}

TpStatus latency_json_parse(LatencyCurve *out, const char *text)
{
    latency_curve_init(out);
    cJSON *o = cJSON_Parse(text);
    if (!o) return err_set(TP_EFORMAT, "latency JSON: not valid JSON");
    TpStatus st = TP_OK;
    char fmt[32] = "";
    double ver = 0, thr = 1, bat = 1, seq = 1, inp = 0, rounds = 0;
    const char *bad = jstr(o, "format", fmt, sizeof fmt, 1);
    if (!bad && strcmp(fmt, "topiary-latency")) bad = "format";
    if (!bad) bad = jnum(o, "version", &ver, 1);
    if (!bad && (ver < 1 || ver >= 2)) {
        st = err_set(TP_EFORMAT, "latency JSON: version %g: this reader knows version 1", ver);
        goto done;
    }
    if (!bad) bad = jstr(o, "backend", out->backend, sizeof out->backend, 1);
    if (!bad) bad = jnum(o, "threads", &thr, 1);
    if (!bad) bad = jnum(o, "batch", &bat, 1);
    if (!bad) bad = jnum(o, "seq", &seq, 1);
    if (!bad) bad = jnum(o, "input", &inp, 0);
    if (!bad) bad = jnum(o, "sparsity", &out->sparsity, 0);
    if (!bad) bad = jstr(o, "pattern", out->pattern, sizeof out->pattern, 0);
    if (!bad) bad = jstr(o, "protocol", out->protocol, sizeof out->protocol, 0);
    if (!bad) bad = jstr(o, "run", out->run, sizeof out->run, 0);
    if (!bad) bad = jstr(o, "fingerprint", out->fingerprint, sizeof out->fingerprint, 0);
    if (!bad) bad = jnum(o, "rounds", &rounds, 0);
    if (!bad) bad = jnum(o, "seconds", &out->seconds, 0);
    if (!bad && (thr < 1 || bat < 1 || seq < 1 || inp < 0 || out->sparsity < 0 || out->sparsity >= 1)) bad = "conditions";
    if (bad) {
        st = err_set(TP_EFORMAT, "latency JSON: \"%s\" missing or invalid", bad);
        goto done;
    }
    out->threads = (int)thr;
    out->batch = (int)bat;
    out->seq = (int)seq;
    out->input = (int)inp;
    out->rounds = (int)rounds;
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(o, "points"), *p;
    if (!cJSON_IsArray(pts)) {
        st = err_set(TP_EFORMAT, "latency JSON: \"points\" missing or not an array");
        goto done;
    }
    int i = 0;
    cJSON_ArrayForEach(p, pts)
    {
        double h = 0, v[4] = {0, 0, 0, 0}, ns = 0, ni = 0;
        const char *pb = jnum(p, "hidden", &h, 1);
        if (!pb) pb = jnum(p, "median_us", &v[0], 1);
        v[1] = v[2] = v[3] = v[0];
        if (!pb) pb = jnum(p, "p10_us", &v[1], 0);
        if (!pb) pb = jnum(p, "p90_us", &v[2], 0);
        if (!pb) pb = jnum(p, "mean_us", &v[3], 0);
        if (!pb) pb = jnum(p, "n_samples", &ns, 0);
        if (!pb) pb = jnum(p, "n_inner", &ni, 0);
        if (!pb && (h < 1 || h > LATENCY_MAX_HIDDEN || h != floor(h))) pb = "hidden";
        if (!pb && (v[0] <= 0 || v[1] > v[0] || v[0] > v[2])) pb = "p10_us <= median_us <= p90_us";
        if (pb) {
            st = err_set(TP_EFORMAT, "latency JSON: point %d: \"%s\" missing or invalid", i, pb);
            goto done;
        }
        if ((st = latency_curve_push(out, (int)h, v[0], v[1], v[2], v[3], (int)ns, (int)ni)) != TP_OK) {
            err_wrap(TP_EFORMAT, "latency JSON: point %d: ", i);
            st = TP_EFORMAT;
            goto done;
        }
        i++;
    }
done:
    cJSON_Delete(o);
    if (st != TP_OK) latency_curve_free(out);
    return st;
}
