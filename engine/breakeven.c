/* engine/breakeven: see breakeven.h. */
#include "breakeven.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "base/lines.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "latency.h"
#include "rng.h"
#include "train.h"

#define FORMAT_LINE "# topiary sparse break-even v2" /* v2: + sell; a v1 file is measured again */

static const SparseKind FIT_KINDS[] = {SPARSE_CSR, SPARSE_ROW, SPARSE_STATE, SPARSE_STATE_CSC, SPARSE_SELL};
enum { N_FIT = sizeof FIT_KINDS / sizeof FIT_KINDS[0], N_DENS = 3 };

void breakeven_default(Breakeven *be)
{
    memset(be, 0, sizeof *be);
    /* one point: ratio = a + b d with csr/row/sell 0.05 + 3 d (break-even ~32%), state 0.02 + 1.6 d
     * (~61%), state-csc 0.05 + 4 d: rough shapes of what bench-sparse measures, on the safe side (sell
     * ties with csr, so without a measurement the runtime keeps csr) */
    be->n = 1;
    be->hidden[0] = 512;
    be->bytes[0] = 4.0 * 4 * 512 * 512;
    for (int k = 0; k < SPARSE_N_KINDS; k++) be->a[0][k] = 1.0, be->b[0][k] = 0.0;
    be->a[0][SPARSE_CSR] = 0.05, be->b[0][SPARSE_CSR] = 3.0;
    be->a[0][SPARSE_ROW] = 0.05, be->b[0][SPARSE_ROW] = 3.0;
    be->a[0][SPARSE_SELL] = 0.05, be->b[0][SPARSE_SELL] = 3.0;
    be->a[0][SPARSE_STATE] = 0.02, be->b[0][SPARSE_STATE] = 1.6;
    be->a[0][SPARSE_STATE_CSC] = 0.05, be->b[0][SPARSE_STATE_CSC] = 4.0;
    snprintf(be->fingerprint, sizeof be->fingerprint, "built-in default (not measured)");
}

void breakeven_fingerprint(char *buf, size_t n)
{
    char fp[512];
    latency_fingerprint(fp, sizeof fp);
    snprintf(buf, n, "%s; sparse=%s", fp, sparse_isa_name(sparse_isa()));
}

/* ---- measurement ---- */

typedef struct {
    const SparseMatrix *m;
    float *y;
    const float *x;
} Call;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median time of one product in microseconds (steady state, see breakeven.h). */
static double time_gemv(const SparseMatrix *m, float *y, const float *x)
{
    int n_inner = 1;
    for (;;) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) sparse_gemv(m, y, x, 0);
        if (clock_now() - t0 >= 100e-6 || n_inner >= (1 << 20)) break;
        n_inner *= 2;
    }
    for (int i = 0; i < n_inner; i++) sparse_gemv(m, y, x, 0);
    double s[9];
    for (int k = 0; k < 9; k++) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) sparse_gemv(m, y, x, 0);
        s[k] = (clock_now() - t0) / n_inner * 1e6;
    }
    qsort(s, 9, sizeof s[0], cmp_double);
    return s[4];
}

static void fill(float *w, size_t n, double density, Rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        float v = rng_range(rng, -0.1f, 0.1f);
        w[i] = rng_uniform(rng) < density ? (v == 0.0f ? 0.01f : v) : 0.0f;
    }
}

/* least squares r = a + b d over N_DENS points */
static void fit(const double *d, const double *r, double *a, double *b)
{
    double sd = 0, sr = 0, sdd = 0, sdr = 0;
    for (int i = 0; i < N_DENS; i++) {
        sd += d[i];
        sr += r[i];
        sdd += d[i] * d[i];
        sdr += d[i] * r[i];
    }
    double den = N_DENS * sdd - sd * sd;
    *b = den > 0 ? (N_DENS * sdr - sd * sr) / den : 0.0;
    *a = (sr - *b * sd) / N_DENS;
}

static TpStatus measure_point(Breakeven *be, int p, int H, Rng *rng)
{
    static const double WD[N_DENS] = {0.05, 0.15, 0.4}, SD[N_DENS] = {0.1, 0.3, 0.6};
    const int R = 4 * H, C = H;
    size_t n = (size_t)R * C;
    float *w = backend_alloc(n, sizeof(float)), *x = backend_alloc((size_t)C, sizeof(float));
    float *xs = backend_alloc((size_t)C, sizeof(float)), *y = backend_alloc((size_t)R, sizeof(float));
    SparseMatrix m = {0};
    TpStatus st = TP_OK;
    if (!w || !x || !xs || !y) {
        st = err_set(TP_ENOMEM, "break-even: out of memory for H=%d", H);
        goto done;
    }
    for (int c = 0; c < C; c++) x[c] = rng_range(rng, -1.0f, 1.0f);
    fill(w, n, 1.0, rng);
    if ((st = sparse_from_dense(&m, SPARSE_DENSE, w, R, C, C)) != TP_OK) goto done;
    double t_dense = time_gemv(&m, y, x);
    sparse_free(&m);
    be->hidden[p] = H;
    be->bytes[p] = 4.0 * (double)n;
    be->dense_us[p] = t_dense;
    be->a[p][SPARSE_DENSE] = 1.0;
    be->b[p][SPARSE_DENSE] = 0.0;
    for (int f = 0; f < N_FIT; f++) {
        SparseKind k = FIT_KINDS[f];
        double dens[N_DENS], ratio[N_DENS];
        for (int i = 0; i < N_DENS; i++) {
            const float *xin = x;
            if (k == SPARSE_STATE || k == SPARSE_STATE_CSC) {
                fill(w, n, k == SPARSE_STATE ? 1.0 : 0.2, rng);
                fill(xs, (size_t)C, SD[i], rng);
                xs[0] = 0.5f; /* never all zero */
                xin = xs;
                double sd = (double)sparse_count_nonzero(xs, C) / C;
                dens[i] = k == SPARSE_STATE ? sd : sparse_density(w, R, C, C) * sd;
                st = sparse_from_dense(&m, k, w, R, C, C);
            } else if (k == SPARSE_ROW) {
                int kk = (int)ceil(WD[i] * C);
                fill(w, n, 1.0, rng);
                dens[i] = (double)kk / C;
                st = sparse_row_from_dense(&m, w, R, C, C, kk);
            } else {
                fill(w, n, WD[i], rng);
                dens[i] = sparse_density(w, R, C, C);
                st = sparse_from_dense(&m, k, w, R, C, C);
            }
            if (st != TP_OK) goto done;
            ratio[i] = time_gemv(&m, y, xin) / t_dense;
            sparse_free(&m);
        }
        fit(dens, ratio, &be->a[p][k], &be->b[p][k]);
    }
done:
    sparse_free(&m);
    free(w);
    free(x);
    free(xs);
    free(y);
    return st;
}

TpStatus breakeven_measure(Breakeven *be, const int *hidden, int n)
{
    static const int DEF[] = {128, 384, 1024};
    if (!hidden) hidden = DEF, n = 3;
    if (n < 1 || n > BREAKEVEN_MAX_POINTS) return err_set(TP_EINVAL, "break-even: %d sizes (1..%d)", n, BREAKEVEN_MAX_POINTS);
    for (int i = 0; i < n; i++)
        if (hidden[i] < 8 || hidden[i] > 8192 || (i && hidden[i] <= hidden[i - 1]))
            return err_set(TP_EINVAL, "break-even: sizes must ascend within 8..8192");
    memset(be, 0, sizeof *be);
    Rng rng;
    rng_seed(&rng, 1234);
    for (int i = 0; i < n; i++) {
        TpStatus st = measure_point(be, i, hidden[i], &rng);
        if (st != TP_OK) return st;
    }
    be->n = n;
    be->measured = 1;
    breakeven_fingerprint(be->fingerprint, sizeof be->fingerprint);
    return TP_OK;
}

/* ---- model ---- */

double breakeven_cost(const Breakeven *be, SparseKind k, double dense_bytes, double density)
{
    if (k == SPARSE_DENSE || be->n < 1 || (unsigned)k >= SPARSE_N_KINDS) return 1.0;
    int i = 0;
    while (i + 1 < be->n && be->bytes[i + 1] <= dense_bytes) i++;
    double a = be->a[i][k], b = be->b[i][k];
    if (i + 1 < be->n && dense_bytes > be->bytes[i]) {
        double f = log(dense_bytes / be->bytes[i]) / log(be->bytes[i + 1] / be->bytes[i]);
        a += f * (be->a[i + 1][k] - a);
        b += f * (be->b[i + 1][k] - b);
    }
    double c = a + b * density;
    return c > 1e-3 ? c : 1e-3;
}

double breakeven_density(const Breakeven *be, SparseKind k, double dense_bytes)
{
    double a = breakeven_cost(be, k, dense_bytes, 0.0), one = breakeven_cost(be, k, dense_bytes, 1.0);
    if (k == SPARSE_DENSE) return 1.0;
    if (one <= a) return a < 1.0 ? 1.0 : 0.0; /* flat or falling fit: all or nothing */
    double d = (1.0 - a) / (one - a);
    return d < 0.0 ? 0.0 : d > 1.0 ? 1.0 : d;
}

/* ---- cache file ---- */

TpStatus breakeven_cache_path(char *buf, size_t n, const char *dir)
{
    char fp[640], base[4096];
    breakeven_fingerprint(fp, sizeof fp);
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = fp; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    if (dir) snprintf(base, sizeof base, "%s", dir);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        snprintf(base, sizeof base, "%s/topiary", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        snprintf(base, sizeof base, "%s/.cache/topiary", getenv("HOME"));
    else
        return err_set(TP_ENOENT, "break-even: neither XDG_CACHE_HOME nor HOME is set");
    if ((size_t)snprintf(buf, n, "%s/sparse-breakeven-%016llx.tsv", base, (unsigned long long)h) >= n)
        return err_set(TP_EINVAL, "break-even: cache path too long");
    return TP_OK;
}

/* Written whole with fsutil_write_atomic (temp + fsync + rename + directory fsync): a crash
 * leaves the old cache or the new one, never a torn file. */
TpStatus breakeven_save(const Breakeven *be, const char *path)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
        return err_set(TP_EINVAL, "break-even: cache path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        TpStatus st = fsutil_mkdir_p(dir);
        if (st != TP_OK) return st;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return err_set(TP_ENOMEM, "save %s: out of memory", path);
    fprintf(f, "%s\nfingerprint\t%s\nhidden\tbytes\tdense_us\tkind\ta\tb\tbreakeven\n", FORMAT_LINE, be->fingerprint);
    for (int i = 0; i < be->n; i++)
        for (int f2 = 0; f2 < N_FIT; f2++) {
            SparseKind k = FIT_KINDS[f2];
            fprintf(f, "%d\t%.0f\t%.3f\t%s\t%.6g\t%.6g\t%.4f\n", be->hidden[i], be->bytes[i], be->dense_us[i],
                    sparse_kind_name(k), be->a[i][k], be->b[i][k], breakeven_density(be, k, be->bytes[i]));
        }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return err_set(TP_ENOMEM, "save %s: out of memory", path);
    }
    TpStatus st = fsutil_write_atomic(path, text, len);
    free(text);
    return st;
}

TpStatus breakeven_load(Breakeven *be, const char *path)
{
    memset(be, 0, sizeof *be);
    FILE *f = fopen(path, "r");
    if (!f) return err_set(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", path, strerror(errno));
    /* whole lines (base/lines): a long line is refused, never split into two records */
    LineReader lr;
    lines_init(&lr, f, path, 4096);
    const char *line;
    size_t line_len;
    int ln = 0;
    TpStatus st = TP_OK;
    while (st == TP_OK && (st = lines_next(&lr, &line, &line_len)) == TP_OK && line) {
        ln++;
        if (ln == 1) {
            if (strcmp(line, FORMAT_LINE)) st = err_set(TP_EFORMAT, "%s: line 1: not a break-even cache file", path);
            continue;
        }
        if (!strncmp(line, "fingerprint\t", 12)) {
            snprintf(be->fingerprint, sizeof be->fingerprint, "%.639s", line + 12);
            continue;
        }
        if (!strncmp(line, "hidden\t", 7)) continue;
        int H;
        double bytes, dus, a, b, d;
        char kind[16];
        SparseKind k;
        if (sscanf(line, "%d\t%lf\t%lf\t%15s\t%lf\t%lf\t%lf", &H, &bytes, &dus, kind, &a, &b, &d) != 7 ||
            sparse_kind_parse(kind, &k) != TP_OK || !isfinite(a) || !isfinite(b) || bytes <= 0) {
            st = err_set(TP_EFORMAT, "%s: line %d: expected hidden bytes dense_us kind a b breakeven", path, ln);
            break;
        }
        int i = be->n - 1;
        if (i < 0 || be->hidden[i] != H) {
            if (be->n == BREAKEVEN_MAX_POINTS || (i >= 0 && (H <= be->hidden[i] || bytes <= be->bytes[i]))) {
                st = err_set(TP_EFORMAT, "%s: line %d: sizes must ascend (at most %d)", path, ln, BREAKEVEN_MAX_POINTS);
                break;
            }
            i = be->n++;
            be->hidden[i] = H;
            be->bytes[i] = bytes;
            be->dense_us[i] = dus;
            for (int q = 0; q < SPARSE_N_KINDS; q++) be->a[i][q] = 1.0, be->b[i][q] = 0.0;
        }
        be->a[i][k] = a;
        be->b[i][k] = b;
    }
    lines_free(&lr);
    fclose(f);
    if (st == TP_OK && be->n == 0) st = err_set(TP_EFORMAT, "%s: no measurements", path);
    if (st != TP_OK) memset(be, 0, sizeof *be);
    else be->measured = 1;
    return st;
}

TpStatus breakeven_get(Breakeven *be, const char *dir, int *from_cache)
{
    char path[4200], fp[640];
    if (from_cache) *from_cache = 0;
    TpStatus st = breakeven_cache_path(path, sizeof path, dir);
    breakeven_fingerprint(fp, sizeof fp);
    if (st == TP_OK && breakeven_load(be, path) == TP_OK && !strcmp(be->fingerprint, fp)) {
        if (from_cache) *from_cache = 1;
        return TP_OK;
    }
    err_clear();
    if ((st = breakeven_measure(be, NULL, 0)) != TP_OK) return st;
    if (breakeven_cache_path(path, sizeof path, dir) == TP_OK && breakeven_save(be, path) != TP_OK) err_clear();
    return TP_OK;
}
