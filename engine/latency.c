/* engine/latency: curves, sizes, fingerprint and the profiler (see latency.h for the protocol); the
 * TSV and JSON forms are in latency_io.c. */
#include "latency.h"
#include "backend_ops.h"
#include "base/clock.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "backend.h"
#include "lstm.h"
#include "rng.h"
#include "hlstm.h"
#include "sparse.h"
#include "sparse_pool.h"

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
    MEM_FREE_ALL(c->hidden, c->median_us, c->p10_us, c->p90_us, c->mean_us, c->n_samples, c->n_inner);
    c->hidden = NULL;
    c->median_us = c->p10_us = c->p90_us = c->mean_us = NULL;
    c->n_samples = c->n_inner = NULL;
    c->n = c->cap = 0;
}

/* Grow one column of a curve to `cap` entries; a column whose realloc fails keeps its block (so nothing
 * leaks) and clears `ok`. */
#define GROW_COLUMN(col, cap, ok)                                  \
    do {                                                           \
        void *np_ = realloc((col), sizeof *(col) * (size_t)(cap)); \
        if (np_) (col) = np_;                                      \
        else (ok) = 0;                                             \
    } while (0)

TpStatus latency_curve_push(LatencyCurve *c, int hidden, double median, double p10, double p90, double mean,
                            int n_samples, int n_inner)
{
    if (c->n && hidden <= c->hidden[c->n - 1])
        return err_set(TP_EINVAL, "latency curve: size %d after %d: sizes must ascend", hidden, c->hidden[c->n - 1]);
    if (c->n == LATENCY_MAX_SIZES) return err_set(TP_ERANGE, "latency curve: more than %d sizes", LATENCY_MAX_SIZES);
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        int ok = 1;
        GROW_COLUMN(c->hidden, cap, ok);
        GROW_COLUMN(c->median_us, cap, ok);
        GROW_COLUMN(c->p10_us, cap, ok);
        GROW_COLUMN(c->p90_us, cap, ok);
        GROW_COLUMN(c->mean_us, cap, ok);
        GROW_COLUMN(c->n_samples, cap, ok);
        GROW_COLUMN(c->n_inner, cap, ok);
        if (!ok) return err_set(TP_ENOMEM, "latency curve: out of memory");
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

int latency_curve_is_audio(const LatencyCurve *c)
{
    return !strncmp(c->protocol, LATENCY_AUDIO_PREFIX, strlen(LATENCY_AUDIO_PREFIX));
}

const char *latency_curve_base_protocol(const LatencyCurve *c)
{
    return c->protocol + (latency_curve_is_audio(c) ? strlen(LATENCY_AUDIO_PREFIX) : 0);
}

int latency_curve_is_model(const LatencyCurve *c) { return !strcmp(latency_curve_base_protocol(c), "model"); }

void latency_curve_describe(const LatencyCurve *c, char *buf, size_t n)
{
    char sp[48];
    if (!strcmp(c->pattern, "dense")) snprintf(sp, sizeof sp, "dense");
    else snprintf(sp, sizeof sp, "%s sparsity %.3g", c->pattern, c->sparsity);
    char in[32] = "";
    if (c->input) snprintf(in, sizeof in, ", input %d", c->input);
    char cell[40] = "";
    const char *mark = strstr(c->fingerprint, LATENCY_HLSTM_MARK " M=");
    if (mark) snprintf(cell, sizeof cell, ", H-LSTM %.*s", (int)strcspn(mark + strlen(LATENCY_HLSTM_MARK " "), ";"),
                       mark + strlen(LATENCY_HLSTM_MARK " "));
    snprintf(buf, n, "%s, %d thread%s, batch %d, seq %d%s%s, %s%s", c->backend, c->threads, c->threads == 1 ? "" : "s",
             c->batch, c->seq, in, cell, sp, latency_curve_is_audio(c) ? ", us per second of audio (2 directions x seq frames)" : "");
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
                int prev = v[k - 1];
                free(v);
                return err_set(TP_EINVAL, "sizes '%s': %ld after %d: list the sizes in increasing order", spec, d, prev);
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
    char os[256] = "?";
    if (uname(&u) == 0) snprintf(os, sizeof os, "%.60s %.60s %.60s", u.sysname, u.release, u.machine);
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


/* A sparse pattern's weights of one size, in the layout the inference runtime runs (engine/sparse). */
typedef struct {
    SparseMatrix ih, hh; /* LSTM: W_ih [4H, I], W_hh [4H, H]; H-LSTM: fc1's x part [4M, I], h part [4M, H] */
    SparseMatrix w2[4];  /* H-LSTM: each gate's fc2 [H, M]                                              */
} SparseLayer;

/* One layer of every size, on shared buffers sized for the largest; a sparse pattern keeps each
 * size's matrices in its layout (sp[H], the sizes only).  An H-LSTM (hlstm = 1) runs on w1, b1 (fc1),
 * w_hh, b_ih (fc2: sized for [4H, M]) and hcache; w_ih, b_hh and cache go unused. */
typedef struct {
    float *w_ih, *w_hh, *b_ih, *b_hh, *x;
    LstmCache cache;
    int batch, seq, input;
    int hlstm, gate_hidden; /* gate_hidden 0: M = H */
    float *w1, *b1;
    HlstmCache hcache;
    SparseLayer **sp; /* [hmax + 1], NULL for dense */
    int cache_hmax;
} Bench;

/* A sparse layer's products over a pool (NULL: on the calling thread; the matrices are split in
 * the pool's thread count, as engine/infer splits them). */
typedef struct {
    const SparseLayer *l;
    SparsePool *pool;
} SparseStep;

static void sparse_pre(void *ctx, float *a, const float *h_prev, int t, int B)
{
    const SparseStep *s = ctx;
    (void)t;
    sparse_pool_gemm(s->pool, &s->l->hh, a, h_prev, B, 1);
}

/* lstm_forward with the products through the sparse kernels: gates = b_ih + b_hh + W_ih x for the
 * window, then W_hh h per step inside the shared window code. */
static void sparse_forward(LstmCache *c, const SparseLayer *l, SparsePool *pool, const float *b_ih, const float *b_hh,
                           const float *x, int Tw, int B)
{
    const int G = 4 * c->H;
    for (int k = 0; k < G; k++) c->bias[k] = b_ih[k] + b_hh[k];
    for (size_t r = 0; r < (size_t)Tw * B; r++) memcpy(c->gates + r * G, c->bias, (size_t)G * sizeof(float));
    sparse_pool_gemm(pool, &l->ih, c->gates, x, Tw * B, 1);
    SparseStep st = {l, pool};
    lstm_window_forward(c, sparse_pre, &st, Tw, B);
}

/* The H-LSTM's step t with the sparse kernels: U += h_{t-1} W1h^T (U holds b1 + x W1x^T), ReLU,
 * then a = b2 + u_q W2_q^T per gate, as hlstm_pre does densely. */
typedef struct {
    HlstmCache *c;
    const SparseLayer *l;
    SparsePool *pool;
    const float *b2;
    int H, M;
} SparseHlstmStep;

static void sparse_hlstm_pre(void *ctx, float *a, const float *h_prev, int t, int B)
{
    const SparseHlstmStep *s = ctx;
    const int H = s->H, M = s->M, Q = 4 * M, G = 4 * H;
    float *U = s->c->u + (size_t)t * B * Q;
    sparse_pool_gemm(s->pool, &s->l->hh, U, h_prev, B, 1);
    for (size_t k = 0; k < (size_t)B * Q; k++) U[k] = U[k] > 0.0f ? U[k] : 0.0f;
    for (int r = 0; r < B; r++) {
        memcpy(a + (size_t)r * G, s->b2, (size_t)G * sizeof(float));
        for (int q = 0; q < 4; q++)
            sparse_pool_gemv(s->pool, &s->l->w2[q], a + (size_t)r * G + q * H, U + (size_t)r * Q + q * M, 1);
    }
}

static void sparse_hlstm_forward(HlstmCache *c, const SparseLayer *l, SparsePool *pool, const float *b1, const float *b2,
                                 const float *x, int Tw, int B)
{
    const int Q = 4 * c->M;
    for (size_t r = 0; r < (size_t)Tw * B; r++) memcpy(c->u + r * Q, b1, (size_t)Q * sizeof(float));
    sparse_pool_gemm(pool, &l->ih, c->u, x, Tw * B, 1);
    SparseHlstmStep st = {c, l, pool, b2, c->cell.H, c->M};
    lstm_window_forward(&c->cell, sparse_hlstm_pre, &st, Tw, B);
}

/* One window of the layer of size H; a sparse pattern's products over `pool` (NULL: this thread). */
static void bench_window(Bench *b, int H, SparsePool *pool)
{
    if (b->hlstm) {
        HlstmCache hv = b->hcache; /* strides follow H and M; the buffers hold the largest */
        hv.cell.I = b->input ? b->input : H;
        hv.cell.H = H;
        hv.M = b->gate_hidden ? b->gate_hidden : H;
        HlstmWeights hw = {hv.cell.I, H, hv.M, b->w1, b->b1, b->w_hh, b->b_ih};
        if (b->sp) sparse_hlstm_forward(&hv, b->sp[H], pool, b->b1, b->b_ih, b->x, b->seq, b->batch);
        else hlstm_forward(&hv, &hw, b->x, b->seq, b->batch, 0.0f, NULL);
        return;
    }
    LstmWeights w = {b->input ? b->input : H, H, b->w_ih, b->w_hh, b->b_ih, b->b_hh};
    LstmCache view = b->cache; /* strides follow view.H; the buffers hold the largest size */
    view.I = w.I;
    view.H = H;
    if (b->sp) sparse_forward(&view, b->sp[H], pool, b->b_ih, b->b_hh, b->x, b->seq, b->batch);
    else lstm_forward(&view, &w, b->x, b->seq, b->batch);
}

static void bench_free(Bench *b)
{
    free(b->w_ih);
    free(b->w_hh);
    free(b->b_ih);
    free(b->b_hh);
    free(b->x);
    free(b->w1);
    free(b->b1);
    lstm_cache_free(&b->cache);
    if (b->hlstm) hlstm_cache_free(&b->hcache);
    if (b->sp)
        for (int H = 0; H <= b->cache_hmax; H++)
            if (b->sp[H]) {
                sparse_free(&b->sp[H]->ih);
                sparse_free(&b->sp[H]->hh);
                for (int q = 0; q < 4; q++) sparse_free(&b->sp[H]->w2[q]);
                free(b->sp[H]);
            }
    free(b->sp);
    b->sp = NULL;
}

/* The sparse pattern's matrices of every size: random positions at density 1 - sparsity (csr, and
 * sell and sell-seg: the same pattern in the SELL-16-sigma layout, with gathers or with register
 * permutes; unstructured: the same positions in whichever of csr, sell and sell-seg is timed
 * fastest for the matrix), or k = ceil((1 - sparsity) cols) per row (row, as BRDS prunes), or whole
 * blocks; values irrelevant to the timing.  Every matrix runs the vector path timed fastest for it
 * (scalar, AVX2, AVX-512), as the inference runtime chooses: a gather is slower than scalar loads on
 * some CPUs, so the CPU's widest path is not assumed to be its fastest. */
static const struct {
    const char *name;
    SparseKind kind;
} PATTERNS[] = {{"dense", SPARSE_DENSE},         {"csr", SPARSE_CSR},           {"sell", SPARSE_SELL},
                {"sell-seg", SPARSE_SELL_SEG}, {"unstructured", SPARSE_CSR},  {"row", SPARSE_ROW},
                {"block16x1", SPARSE_BSR16X1}, {"block8x1", SPARSE_BSR8X1},   {"block4x4", SPARSE_BSR4X4}};

static int pattern_index(const char *p)
{
    for (size_t i = 0; i < sizeof PATTERNS / sizeof PATTERNS[0]; i++)
        if (!strcmp(p, PATTERNS[i].name)) return (int)i;
    return -1;
}

int latency_pattern_known(const char *pattern) { return pattern_index(pattern) >= 0; }

/* Best of 5 timings of n products y = m x (seconds per product). */
static double time_product(const SparseMatrix *m, float *y, const float *x)
{
    int n = 1;
    for (double t0 = clock_now(); n < (1 << 16); n *= 2) {
        for (int i = 0; i < n; i++) sparse_gemv(m, y, x, 0);
        if (clock_now() - t0 >= 2e-4) break;
        t0 = clock_now();
    }
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        double t0 = clock_now();
        for (int i = 0; i < n; i++) sparse_gemv(m, y, x, 0);
        double t = (clock_now() - t0) / n;
        best = t < best ? t : best;
    }
    return best;
}

/* m (built) runs the vector path timed fastest for it; *secs its time.  TP_ENOMEM. */
static TpStatus fastest_isa(SparseMatrix *m, double *secs)
{
    float *x = backend_alloc((size_t)m->cols, sizeof(float)), *y = backend_alloc((size_t)m->rows, sizeof(float));
    if (!x || !y) {
        MEM_FREE_ALL(x, y);
        return err_set(TP_ENOMEM, "profile: out of memory");
    }
    for (int c = 0; c < m->cols; c++) x[c] = (float)((c * 7919) % 199) / 199.0f - 0.5f;
    SparseIsa best = m->isa;
    *secs = INFINITY;
    for (int isa = SPARSE_ISA_SCALAR; isa < SPARSE_N_ISAS; isa++) {
        if (sparse_use_isa(m, (SparseIsa)isa) != TP_OK) {
            err_clear();
            continue;
        }
        double t = time_product(m, y, x);
        if (t < *secs) *secs = t, best = (SparseIsa)isa;
    }
    m->isa = best;
    MEM_FREE_ALL(x, y);
    return TP_OK;
}

TpStatus latency_pattern_matrix(SparseMatrix *m, const char *pattern, int R, int C, double d, Rng *r)
{
    memset(m, 0, sizeof *m);
    if (!latency_pattern_known(pattern) || !strcmp(pattern, "dense"))
        return err_set(TP_EINVAL, "profile: pattern '%s': expected a sparse one of " LATENCY_PATTERNS, pattern);
    const int unstructured = !strcmp(pattern, "unstructured");
    SparseKind kind = PATTERNS[pattern_index(pattern)].kind;
    TpStatus st = sparse_random(m, kind, R, C, d, r);
    double t;
    if (st != TP_OK || (st = fastest_isa(m, &t)) != TP_OK || !unstructured) return st;
    static const SparseKind OTHERS[] = {SPARSE_SELL, SPARSE_SELL_SEG};
    float *w = backend_alloc((size_t)R * C, sizeof(float));
    if (!w) return err_set(TP_ENOMEM, "profile: out of memory for a [%d, %d] matrix", R, C);
    sparse_to_dense(m, w);
    for (size_t i = 0; i < sizeof OTHERS / sizeof OTHERS[0] && st == TP_OK; i++) {
        SparseMatrix o;
        double to;
        if ((st = sparse_from_dense(&o, OTHERS[i], w, R, C, C)) != TP_OK) break;
        if ((st = fastest_isa(&o, &to)) == TP_OK && to < t) {
            sparse_free(m);
            *m = o;
            t = to;
        } else sparse_free(&o);
    }
    free(w);
    return st;
}

static TpStatus bench_sparse_init(Bench *b, const LatencyOptions *o, int threads, uint64_t seed)
{
    double d = 1.0 - o->sparsity, bytes = 0.0;
    const int hl = o->cell && !strcmp(o->cell, "hlstm");
    for (int i = 0; i < o->n_sizes; i++) {
        double H = o->sizes[i], I = o->input ? o->input : H, M = o->gate_hidden ? o->gate_hidden : H;
        bytes += hl ? 4.0 * M * (I + 2.0 * H) * d * 6.0 + 8.0 * (8.0 * M + 4.0 * H + 4.0)
                    : 4.0 * H * (I + H) * d * 6.0 + 8.0 * (4.0 * H + 1.0);
    }
    if (o->bidir) bytes *= 2.0; /* each direction its own matrices */
    if (bytes > 4.0 * 1073741824.0)
        return err_set(TP_ERANGE, "profile: the %s matrices of these %d sizes need %.1f GiB (at most 4): fewer or smaller "
                       "sizes, or a higher sparsity", o->pattern, o->n_sizes, bytes / 1073741824.0);
    b->cache_hmax = o->sizes[o->n_sizes - 1];
    if (!(b->sp = calloc((size_t)b->cache_hmax + 1, sizeof *b->sp))) return err_set(TP_ENOMEM, "profile: out of memory");
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < o->n_sizes; i++) {
        int H = o->sizes[i], I = o->input ? o->input : H;
        TpStatus st = TP_OK;
        if (!(b->sp[H] = calloc(1, sizeof(SparseLayer)))) return err_set(TP_ENOMEM, "profile: out of memory");
        int R = hl ? 4 * (o->gate_hidden ? o->gate_hidden : H) : 4 * H; /* fc1's 4M rows, or the 4H gates */
        if ((st = latency_pattern_matrix(&b->sp[H]->ih, o->pattern, R, I, d, &r)) != TP_OK ||
            (st = latency_pattern_matrix(&b->sp[H]->hh, o->pattern, R, H, d, &r)) != TP_OK)
            return err_wrap(st, "profile: hidden %d: ", H);
        for (int q = 0; hl && q < 4; q++)
            if ((st = latency_pattern_matrix(&b->sp[H]->w2[q], o->pattern, H, R / 4, d, &r)) != TP_OK)
                return err_wrap(st, "profile: hidden %d: fc2: ", H);
        if (threads > 1) { /* cut for the pool's threads, as the inference runtime cuts them */
            sparse_split(&b->sp[H]->ih, threads);
            sparse_split(&b->sp[H]->hh, threads);
            for (int q = 0; hl && q < 4; q++) sparse_split(&b->sp[H]->w2[q], threads);
        }
    }
    return TP_OK;
}

static TpStatus bench_init(Bench *b, int hmax, int batch, int seq, int input, int hlstm, int gate_hidden)
{
    memset(b, 0, sizeof *b);
    int imax = input ? input : hmax, mmax = gate_hidden ? gate_hidden : hmax;
    double G = 4.0 * hmax, Q = 4.0 * mmax;
    double bytes = 4.0 * (G * imax + G * hmax + (double)seq * batch * (imax + 6.0 * G));
    if (hlstm) bytes += 4.0 * (Q * (imax + hmax) + G * mmax + (double)seq * batch * 2.0 * Q);
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
    /* an H-LSTM's fc2 [4H, M] lives in w_hh (sized for it), its bias in b_ih */
    if (hlstm && (size_t)G * mmax > (size_t)G * hmax) {
        free(b->w_hh);
        b->w_hh = backend_alloc((size_t)G * mmax, sizeof(float));
    }
    b->hlstm = hlstm;
    b->gate_hidden = gate_hidden;
    if (hlstm) {
        b->w1 = backend_alloc((size_t)Q * (imax + hmax), sizeof(float));
        b->b1 = backend_alloc((size_t)Q, sizeof(float));
    }
    TpStatus st = TP_OK;
    if (!b->w_ih || !b->w_hh || !b->b_ih || !b->b_hh || !b->x || (hlstm && (!b->w1 || !b->b1)))
        st = err_set(TP_ENOMEM, "profile: out of memory for the weights");
    if (st == TP_OK)
        st = hlstm ? hlstm_cache_init(&b->hcache, imax, hmax, mmax, seq, batch) : lstm_cache_init(&b->cache, imax, hmax, seq, batch);
    if (st != TP_OK) {
        bench_free(b);
        return st;
    }
    Rng r;
    rng_seed(&r, 12345);
    for (size_t i = 0; i < (size_t)G * imax; i++) b->w_ih[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)G * (hlstm && mmax > hmax ? mmax : hmax); i++) b->w_hh[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; hlstm && i < (size_t)Q * (imax + hmax); i++) b->w1[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; hlstm && i < (size_t)Q; i++) b->b1[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)G; i++) b->b_ih[i] = b->b_hh[i] = rng_range(&r, -0.1f, 0.1f);
    for (size_t i = 0; i < (size_t)seq * batch * imax; i++) b->x[i] = rng_range(&r, -1.0f, 1.0f);
    return TP_OK;
}

/* One timed call, the steady protocol's unit: one window of the layer; for a bidirectional layer
 * (b2 set: the second direction, with weights of its own) both directions' windows, in turn (each
 * product over the pool, as engine/infer_asr's sequential plan) or at once (one thread each, the
 * pool's first two, as its parallel plan). */
typedef struct {
    Bench *b[2];
    int H;
} DirTask;

static void dir_task(void *arg, int t)
{
    DirTask *d = arg;
    if (t < 2) bench_window(d->b[t], d->H, NULL);
}

static void profile_call(Bench *b, Bench *b2, SparsePool *pool, int H, int once)
{
    if (once) {
        DirTask d = {{b, b2}, H};
        sparse_pool_run(pool, dir_task, &d);
        return;
    }
    bench_window(b, H, pool);
    if (b2) bench_window(b2, H, pool);
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
    const char *pat = o->pattern ? o->pattern : "dense";
    if (!latency_pattern_known(pat)) return err_set(TP_EINVAL, "profile: pattern '%s': expected " LATENCY_PATTERNS, pat);
    if (!(o->sparsity >= 0.0 && o->sparsity < 1.0) || (o->sparsity > 0.0) != (strcmp(pat, "dense") != 0))
        return err_set(TP_EINVAL, "profile: sparsity %g with pattern %s: sparse patterns need 0 < sparsity < 1, dense needs 0",
                       o->sparsity, pat);
    if (o->cell && strcmp(o->cell, "lstm") && strcmp(o->cell, "hlstm"))
        return err_set(TP_EINVAL, "profile: cell '%s': expected lstm or hlstm", o->cell);
    if (o->gate_hidden < 0 || o->gate_hidden > LATENCY_MAX_HIDDEN)
        return err_set(TP_EINVAL, "profile: gate hidden %d: expected 0 (= the hidden size) .. %d", o->gate_hidden,
                       LATENCY_MAX_HIDDEN);
    if (o->cell && !strcmp(o->cell, "hlstm") && *kind == BACKEND_CUDA)
        return err_set(TP_ENOTAVAIL, "profile: an H-LSTM layer is measured on the CPU only (the accel model predicts one "
                                     "elsewhere)");
    if (strcmp(pat, "dense") && *kind == BACKEND_CUDA)
        return err_set(TP_ENOTAVAIL, "profile: sparse patterns are CPU kernels (engine/sparse); use --backend cpu");
    if (o->batch < 1 || o->seq < 1 || o->input < 0)
        return err_set(TP_EINVAL, "profile: batch %d, seq %d, input %d: expected batch, seq >= 1, input >= 0", o->batch, o->seq,
                       o->input);
    if (o->directions < 0 || o->directions > 2 || (o->directions && !o->bidir))
        return err_set(TP_EINVAL, "profile: directions %d: expected 0 (timed), 1 (in turn) or 2 (at once), for a "
                                  "bidirectional layer", o->directions);
    if (o->directions == 2 && (!strcmp(pat, "dense") || *kind != BACKEND_CPU))
        return err_set(TP_EINVAL, "profile: the directions at once run sparse kernels one thread each: not for the "
                                  "dense pattern (BLAS threads it)");
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
    BackendKind kind = BACKEND_CPU;
    TpStatus st = check_options(o, &kind);
    if (st != TP_OK) return st;
    if (kind == BACKEND_CUDA) { /* on the device, through the table (engine/latency_device) */
        const BackendOps *ops;
        if ((st = backend_ops_cuda(&ops)) != TP_OK) return st;
        st = latency_profile_device(out, o, ops);
        if (st != TP_OK) latency_curve_free(out);
        return st;
    }
    const int n = o->n_sizes;
    const double t_start = clock_now();
    int saved_threads = backend_threads();
    BackendKind saved_kind = backend_current();
    Bench b, b2;
    SparsePool *pool = NULL;
    double *t_call = NULL, *samples = NULL, *tmp = NULL;
    int *n_inner = NULL, *order = NULL, *once = NULL;
    int bench_ok = 0, bench2_ok = 0, rounds = 0, done = 0;
    if (o->threads > 0 && (st = backend_set_threads(o->threads)) != TP_OK) return st;
    if (kind != saved_kind && (st = backend_select(kind)) != TP_OK) {
        err_wrap(st, "profile: ");
        goto fail;
    }
    const int hlstm = o->cell && !strcmp(o->cell, "hlstm");
    const int sparse = o->sparsity > 0.0,
              threads = backend_threads() > SPARSE_MAX_PARTS ? SPARSE_MAX_PARTS : backend_threads();
    if ((st = bench_init(&b, o->sizes[n - 1], o->batch, o->seq, o->input, hlstm, o->gate_hidden)) != TP_OK) goto fail;
    bench_ok = 1;
    if (sparse && (st = bench_sparse_init(&b, o, threads, 54321)) != TP_OK) goto fail;
    if (o->bidir) { /* the second direction: the same shapes, weights of its own */
        if ((st = bench_init(&b2, o->sizes[n - 1], o->batch, o->seq, o->input, hlstm, o->gate_hidden)) != TP_OK) goto fail;
        bench2_ok = 1;
        if (sparse && (st = bench_sparse_init(&b2, o, threads, 54322)) != TP_OK) goto fail;
    }
    if (sparse && threads > 1 && (st = sparse_pool_create(&pool, threads)) != TP_OK) {
        err_wrap(st, "profile: ");
        goto fail;
    }
    Bench *dir2 = o->bidir ? &b2 : NULL;
    const int can_once = o->bidir && pool && o->directions != 1; /* the runtime's parallel plan: sparse, 2+ threads */
    if (o->directions == 2 && !pool) {
        st = err_set(TP_EINVAL, "profile: the directions at once need 2 or more threads (this sweep has %d)", threads);
        goto fail;
    }
    t_call = malloc(sizeof(double) * (size_t)n);
    n_inner = malloc(sizeof(int) * (size_t)n);
    order = malloc(sizeof(int) * (size_t)n);
    once = calloc((size_t)n, sizeof(int));
    if (!t_call || !n_inner || !order || !once) {
        st = err_set(TP_ENOMEM, "profile: out of memory");
        goto fail;
    }

    /* 1. calibration (a bidirectional layer: each size's faster plan, in turn or at once) */
    double round_cost = 0.0;
    int n_once = 0;
    for (int i = 0; i < n; i++) {
        int H = o->sizes[i];
        profile_call(&b, dir2, pool, H, 0);
        profile_call(&b, dir2, pool, H, 0);
        int k = 0;
        double t0 = clock_now(), el;
        do {
            profile_call(&b, dir2, pool, H, 0);
            k++;
            el = clock_now() - t0;
        } while (k < 10 && el < 1e-3);
        t_call[i] = el / k;
        double ni = ceil(o->min_sample_us * 1e-6 / fmax(t_call[i], 1e-9));
        n_inner[i] = ni < 1 ? 1 : ni > 1e6 ? 1000000 : (int)ni;
        if (can_once) { /* five interleaved samples of each plan, medians */
            double tp[2][5];
            for (int r = 0; r < 5; r++)
                for (int p = 0; p < 2; p++) {
                    profile_call(&b, dir2, pool, H, p);
                    double s0 = clock_now();
                    for (int q = 0; q < n_inner[i]; q++) profile_call(&b, dir2, pool, H, p);
                    tp[p][r] = (clock_now() - s0) / n_inner[i];
                }
            qsort(tp[0], 5, sizeof(double), cmp_double);
            qsort(tp[1], 5, sizeof(double), cmp_double);
            once[i] = o->directions == 2 || (o->directions == 0 && tp[1][2] < tp[0][2]);
            n_once += once[i];
            t_call[i] = tp[once[i]][2];
            ni = ceil(o->min_sample_us * 1e-6 / fmax(t_call[i], 1e-9));
            n_inner[i] = ni < 1 ? 1 : ni > 1e6 ? 1000000 : (int)ni;
        }
        round_cost += 2.0 * n_inner[i] * t_call[i];
        if (o->progress && (i % 16 == 15 || i == n - 1) &&
            o->progress(o->ctx, 0.05 * (i + 1) / n, 0, 0, clock_now() - t_start)) {
            st = err_set(TP_ECANCEL, "profile: cancelled");
            goto fail;
        }
    }
    const double t_rounds = clock_now();
    int auto_rounds = o->rounds == 0;
    rounds = o->rounds;
    if (auto_rounds) {
        /* room for 3x the estimate: calibration runs colder than the rounds, so the estimate is
         * pessimistic; the loop below stops when the budget is spent */
        double r = 3.0 * floor((o->budget_s - (t_rounds - t_start)) / fmax(round_cost, 1e-9));
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
            for (int k = 0; k < m; k++) profile_call(&b, dir2, pool, H, once[i]);
            double t0 = clock_now();
            for (int k = 0; k < m; k++) profile_call(&b, dir2, pool, H, once[i]);
            samples[(size_t)i * rounds + r] = (clock_now() - t0) / m * 1e6 / (o->bidir ? 2.0 : 1.0); /* per window */
        }
        done = r + 1;
        double el = clock_now() - t_start;
        if (o->progress && o->progress(o->ctx, 0.05 + 0.95 * done / rounds, done, rounds, el)) {
            st = err_set(TP_ECANCEL, "profile: cancelled after %d round(s)", done);
            goto fail;
        }
        /* the machine may be slower than calibrated (another job started): keep to the budget */
        double per_round = (clock_now() - t_rounds) / done;
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
    out->sparsity = o->sparsity;
    snprintf(out->pattern, sizeof out->pattern, "%s", o->pattern ? o->pattern : "dense");
    out->rounds = done;
    out->bidir = o->bidir != 0;
    out->n_once = n_once;
    latency_fingerprint(out->fingerprint, sizeof out->fingerprint);
    if (hlstm) {
        char fp[sizeof out->fingerprint], m[24] = "H";
        if (o->gate_hidden) snprintf(m, sizeof m, "%d", o->gate_hidden);
        snprintf(fp, sizeof fp, "%s", out->fingerprint);
        if (snprintf(out->fingerprint, sizeof out->fingerprint, LATENCY_HLSTM_MARK " M=%s; %s", m, fp) < 0)
            out->fingerprint[0] = '\0';
    }
    {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char ts[24];
        strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(out->run, sizeof out->run, "%.16s-p%d-s%llu", ts, (int)(getpid() % 100000),
                 (unsigned long long)(o->seed % 1000));
    }
    out->seconds = clock_now() - t_start;
    st = TP_OK;
fail:
    sparse_pool_free(pool);
    if (bench_ok) bench_free(&b);
    if (bench2_ok) bench_free(&b2);
    free(once);
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
