/* engine/latency_device: the steady protocol of engine/latency.h on a device, through the table of
 * operations: what one call runs is devtrain_lstm_forward (the layer step the device training runs)
 * on device-resident weights, and a sample is timed by the table's timer (CUDA events around
 * n_inner calls queued back to back), so neither transfers nor the host's launch loop are timed as
 * gaps.  Calibration (2 untimed calls, then timed until >= 1 ms or 10 calls), n_inner per size,
 * shuffled rounds with n_inner warm-up calls per visit, median / p10 / p90 / mean and the round
 * budget are latency.c's, step for step.  The fingerprint starts with the GPU ("gpu=..."). */
#include "latency.h"
#include "backend_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cuda/backend_cuda.h"
#include "devtrain.h"
#include "rng.h"

typedef struct {
    const BackendOps *ops;
    int batch, seq, input;
    float *w_ih, *w_hh, *b_ih, *b_hh, *x;
    DevtrainLayer y;
} DevBench;

#define TRY(expr)                                    \
    do {                                             \
        TpStatus st_ = (expr);                       \
        if (st_ != TP_OK) return st_;                \
    } while (0)

static void dbench_free(DevBench *b)
{
    const BackendOps *o = b->ops;
    void *all[] = {b->w_ih, b->w_hh, b->b_ih, b->b_hh, b->x, b->y.gates, b->y.h, b->y.c, b->y.tc, b->y.bias};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) o->free(all[i]);
    memset(b, 0, sizeof *b);
}

/* random host data, uploaded */
static TpStatus put_random(const BackendOps *o, float **dst, size_t n, float lo, float hi, Rng *r)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) return err_set(TP_ENOMEM, "profile: out of memory");
    for (size_t i = 0; i < n; i++) h[i] = rng_range(r, lo, hi);
    TpStatus s = o->alloc((void **)dst, (n ? n : 1) * sizeof(float));
    if (s == TP_OK) s = o->upload(*dst, h, n * sizeof(float));
    free(h);
    return s;
}

static TpStatus dbench_init(DevBench *b, const BackendOps *ops, int hmax, int batch, int seq, int input)
{
    memset(b, 0, sizeof *b);
    b->ops = ops;
    b->batch = batch;
    b->seq = seq;
    b->input = input;
    size_t imax = (size_t)(input ? input : hmax), G = 4 * (size_t)hmax, N = (size_t)seq * batch, F = sizeof(float);
    Rng r;
    rng_seed(&r, 12345);
    TRY(put_random(ops, &b->w_ih, G * imax, -0.1f, 0.1f, &r));
    TRY(put_random(ops, &b->w_hh, G * hmax, -0.1f, 0.1f, &r));
    TRY(put_random(ops, &b->b_ih, G, -0.1f, 0.1f, &r));
    TRY(put_random(ops, &b->b_hh, G, -0.1f, 0.1f, &r));
    TRY(put_random(ops, &b->x, N * imax, -1.0f, 1.0f, &r));
    TRY(ops->alloc((void **)&b->y.gates, N * G * F));
    TRY(ops->alloc((void **)&b->y.h, (N + batch) * hmax * F));
    TRY(ops->alloc((void **)&b->y.c, (N + batch) * hmax * F));
    TRY(ops->alloc((void **)&b->y.tc, N * hmax * F));
    TRY(ops->alloc((void **)&b->y.bias, G * F));
    return TP_OK;
}

/* one call at size H: the weights as [4H, I] and [4H, H] views of the largest buffers (as latency.c) */
static TpStatus dbench_call(DevBench *b, int H)
{
    int I = b->input ? b->input : H;
    return devtrain_lstm_forward(b->ops, &b->y, b->w_ih, b->w_hh, b->b_ih, b->b_hh, b->x, I, H, b->seq, b->batch,
                                 0.0f, NULL);
}

/* m calls back to back, timed on the device: seconds per call */
static TpStatus dbench_time(DevBench *b, int H, int m, double *per_call)
{
    void *t;
    double s = 0.0;
    TRY(b->ops->timer_start(&t));
    for (int k = 0; k < m; k++) {
        TpStatus st = dbench_call(b, H);
        if (st != TP_OK) {
            double ignored;
            b->ops->timer_stop(t, &ignored);
            return st;
        }
    }
    TRY(b->ops->timer_stop(t, &s));
    *per_call = s / m;
    return TP_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double quantile(const double *sorted, int m, double q)
{
    double pos = q * (m - 1);
    int lo = (int)floor(pos);
    if (lo >= m - 1) return sorted[m - 1];
    return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

static TpStatus sweep(DevBench *b, LatencyCurve *out, const LatencyOptions *o, double t_start)
{
    const int n = o->n_sizes;
    double *t_call = malloc(sizeof(double) * (size_t)n), *samples = NULL, *tmp = NULL;
    int *n_inner = malloc(sizeof(int) * (size_t)n), *order = malloc(sizeof(int) * (size_t)n);
    TpStatus st = TP_OK;
    int rounds = 0, done = 0;
    if (!t_call || !n_inner || !order) {
        st = err_set(TP_ENOMEM, "profile: out of memory");
        goto done;
    }
    double round_cost = 0.0;
    for (int i = 0; i < n && st == TP_OK; i++) { /* 1. calibration */
        int H = o->sizes[i], k = 0;
        double el = 0.0, one;
        if ((st = dbench_call(b, H)) != TP_OK || (st = dbench_call(b, H)) != TP_OK) break;
        do {
            if ((st = dbench_time(b, H, 1, &one)) != TP_OK) break;
            el += one;
            k++;
        } while (k < 10 && el < 1e-3);
        if (st != TP_OK) break;
        t_call[i] = el / k;
        double ni = ceil(o->min_sample_us * 1e-6 / fmax(t_call[i], 1e-9));
        n_inner[i] = ni < 1 ? 1 : ni > 1e6 ? 1000000 : (int)ni;
        round_cost += 2.0 * n_inner[i] * t_call[i];
        if (o->progress && (i % 16 == 15 || i == n - 1) && o->progress(o->ctx, 0.05 * (i + 1) / n, 0, 0, clock_now() - t_start))
            st = err_set(TP_ECANCEL, "profile: cancelled");
    }
    if (st != TP_OK) goto done;
    const double t_rounds = clock_now();
    int auto_rounds = o->rounds == 0;
    rounds = o->rounds;
    if (auto_rounds) {
        double r = 3.0 * floor((o->budget_s - (t_rounds - t_start)) / fmax(round_cost, 1e-9));
        rounds = r < 5 ? 5 : r > 1000 ? 1000 : (int)r;
    }
    samples = malloc(sizeof(double) * (size_t)n * (size_t)rounds);
    tmp = malloc(sizeof(double) * (size_t)rounds);
    if (!samples || !tmp) {
        st = err_set(TP_ENOMEM, "profile: out of memory for %d x %d samples", n, rounds);
        goto done;
    }
    Rng rng; /* 2.-3. shuffled rounds: warm-up, then n_inner calls timed by device events */
    rng_seed(&rng, o->seed);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int r = 0; r < rounds && st == TP_OK; r++) {
        for (int i = n - 1; i > 0; i--) {
            int j = (int)rng_below(&rng, (uint32_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int v = 0; v < n && st == TP_OK; v++) {
            int i = order[v], H = o->sizes[i], m = n_inner[i];
            double per;
            for (int k = 0; k < m && st == TP_OK; k++) st = dbench_call(b, H);
            if (st == TP_OK && (st = dbench_time(b, H, m, &per)) == TP_OK) samples[(size_t)i * rounds + r] = per * 1e6;
        }
        if (st != TP_OK) break;
        done = r + 1;
        double el = clock_now() - t_start;
        if (o->progress && o->progress(o->ctx, 0.05 + 0.95 * done / rounds, done, rounds, el)) {
            st = err_set(TP_ECANCEL, "profile: cancelled after %d round(s)", done);
            break;
        }
        double per_round = (clock_now() - t_rounds) / done;
        if (auto_rounds && done >= 5 && el + per_round > o->budget_s) break;
    }
    for (int i = 0; i < n && st == TP_OK; i++) { /* 4. statistics */
        double sum = 0.0;
        for (int r = 0; r < done; r++) sum += tmp[r] = samples[(size_t)i * rounds + r];
        qsort(tmp, (size_t)done, sizeof *tmp, cmp_double);
        st = latency_curve_push(out, o->sizes[i], quantile(tmp, done, 0.5), quantile(tmp, done, 0.1),
                                quantile(tmp, done, 0.9), sum / done, done, n_inner[i]);
    }
    out->rounds = done;
done:
    free(t_call);
    free(samples);
    free(tmp);
    free(n_inner);
    free(order);
    return st;
}

TpStatus latency_profile_device(LatencyCurve *out, const LatencyOptions *o, const BackendOps *ops)
{
    const double t_start = clock_now();
    const int n = o->n_sizes, hmax = o->sizes[n - 1];
    DevBench b;
    TpStatus st = dbench_init(&b, ops, hmax, o->batch, o->seq, o->input);
    if (st == TP_OK) st = sweep(&b, out, o, t_start);
    dbench_free(&b);
    if (st != TP_OK) return st == TP_ECANCEL ? st : err_wrap(st, "profile on %s: ", ops->name);
    snprintf(out->backend, sizeof out->backend, "%s", ops->name);
    out->threads = 1; /* one device stream */
    out->batch = o->batch;
    out->seq = o->seq;
    out->input = o->input;
    out->sparsity = 0.0;
    snprintf(out->pattern, sizeof out->pattern, "dense");
    char gpu[192], rest[512];
    cuda_describe(gpu, sizeof gpu);
    latency_fingerprint(rest, sizeof rest);
    snprintf(out->fingerprint, sizeof out->fingerprint, "gpu=%.160s; %.330s", gpu, rest);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[24];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out->run, sizeof out->run, "%.16s-p%d-s%llu", ts, (int)(getpid() % 100000),
             (unsigned long long)(o->seed % 1000));
    out->seconds = clock_now() - t_start;
    return TP_OK;
}
