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
#include "sparse_pool.h"
#include "train.h"

/* v2: + sell; v3: + bsr, a and b per ISA and thread count; v4: SELL sorted within windows of
 * SPARSE_SELL_SIGMA rows (its threaded costs changed); v5: + sell-seg.  An older file is measured
 * again. */
#define FORMAT_LINE "# topiary sparse break-even v5"

static const SparseKind FIT_KINDS[] = {SPARSE_CSR,     SPARSE_ROW,    SPARSE_STATE,  SPARSE_STATE_CSC, SPARSE_SELL,
                                       SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4,    SPARSE_SELL_SEG};
enum { N_FIT = sizeof FIT_KINDS / sizeof FIT_KINDS[0], N_DENS = 3 };

/* the layouts split across threads (the STATE kinds run whole) */
static int splits(SparseKind k) { return k != SPARSE_STATE && k != SPARSE_STATE_CSC && k != SPARSE_DENSE; }

static void set_all(Breakeven *be, int p, SparseKind k, double a, double b)
{
    for (int i = 0; i < SPARSE_N_ISAS; i++) {
        be->a[p][k][i][0] = a, be->b[p][k][i][0] = b;
        be->a[p][k][i][1] = NAN, be->b[p][k][i][1] = NAN;
    }
}

void breakeven_default(Breakeven *be)
{
    memset(be, 0, sizeof *be);
    be->others_share = NAN;
    /* one point: ratio = a + b d with csr/row/sell 0.05 + 3 d (break-even ~32%), state 0.02 + 1.6 d
     * (~61%), state-csc 0.05 + 4 d, bsr 0.05 + 1.2 d of stored entries (~80%): rough shapes of what
     * bench-sparse measures, on the safe side (sell ties with csr, so without a measurement the
     * runtime keeps csr; bsr wins only where the blocks are nearly all of the non-zeros) */
    be->n = 1;
    be->threads = 1;
    be->hidden[0] = 512;
    be->bytes[0] = 4.0 * 4 * 512 * 512;
    for (int k = 0; k < SPARSE_N_KINDS; k++) set_all(be, 0, (SparseKind)k, 1.0, 0.0);
    set_all(be, 0, SPARSE_CSR, 0.05, 3.0);
    set_all(be, 0, SPARSE_ROW, 0.05, 3.0);
    set_all(be, 0, SPARSE_SELL, 0.05, 3.0);
    set_all(be, 0, SPARSE_SELL_SEG, 0.05, 6.0); /* twice sell's entries (padding) */
    set_all(be, 0, SPARSE_STATE, 0.02, 1.6);
    set_all(be, 0, SPARSE_STATE_CSC, 0.05, 4.0);
    set_all(be, 0, SPARSE_BSR16X1, 0.05, 1.2);
    set_all(be, 0, SPARSE_BSR8X1, 0.05, 1.2);
    set_all(be, 0, SPARSE_BSR4X4, 0.05, 1.2);
    snprintf(be->fingerprint, sizeof be->fingerprint, "built-in default (not measured)");
}

void breakeven_fingerprint(char *buf, size_t n)
{
    char fp[512];
    latency_fingerprint(fp, sizeof fp);
    snprintf(buf, n, "%s; sparse=%s", fp, sparse_isa_name(sparse_isa()));
}

/* ---- measurement ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median time of one product in microseconds (steady state, see breakeven.h), on `pool` (NULL: the
 * calling thread). */
static double time_gemv(SparsePool *pool, const SparseMatrix *m, float *y, const float *x)
{
    int n_inner = 1;
    for (;;) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) sparse_pool_gemv(pool, m, y, x, 0);
        if (clock_now() - t0 >= 100e-6 || n_inner >= (1 << 20)) break;
        n_inner *= 2;
    }
    for (int i = 0; i < n_inner; i++) sparse_pool_gemv(pool, m, y, x, 0);
    double s[9];
    for (int k = 0; k < 9; k++) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) sparse_pool_gemv(pool, m, y, x, 0);
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

/* The ratios of layout k at its N_DENS densities for every variant, fitted into be's point p. */
static TpStatus measure_kind(Breakeven *be, int p, SparseKind k, float *w, float *x, float *xs, float *y, int R, int C,
                             double t_dense, SparsePool *pool, Rng *rng)
{
    static const double WD[N_DENS] = {0.05, 0.15, 0.4}, SD[N_DENS] = {0.1, 0.3, 0.6};
    const size_t n = (size_t)R * C;
    double dens[N_DENS], ratio[SPARSE_N_ISAS][2][N_DENS];
    for (int i = 0; i < N_DENS; i++) {
        SparseMatrix m;
        const float *xin = x;
        TpStatus st;
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
        } else if (sparse_kind_is_bsr(k)) {
            st = sparse_random(&m, k, R, C, WD[i], rng);
            dens[i] = st == TP_OK ? (double)m.nnz / (double)n : 0.0;
        } else {
            fill(w, n, WD[i], rng);
            dens[i] = sparse_density(w, R, C, C);
            st = sparse_from_dense(&m, k, w, R, C, C);
        }
        if (st != TP_OK) return st;
        for (int isa = 0; isa < SPARSE_N_ISAS; isa++) {
            ratio[isa][0][i] = ratio[isa][1][i] = NAN;
            if (sparse_use_isa(&m, (SparseIsa)isa) != TP_OK) {
                err_clear();
                continue;
            }
            sparse_split(&m, 1);
            ratio[isa][0][i] = time_gemv(NULL, &m, y, xin) / t_dense;
            if (pool && splits(k) && sparse_split(&m, be->threads) > 1)
                ratio[isa][1][i] = time_gemv(pool, &m, y, xin) / t_dense;
        }
        sparse_free(&m);
    }
    for (int isa = 0; isa < SPARSE_N_ISAS; isa++)
        for (int t = 0; t < 2; t++) {
            if (isnan(ratio[isa][t][0])) {
                be->a[p][k][isa][t] = be->b[p][k][isa][t] = NAN;
                continue;
            }
            fit(dens, ratio[isa][t], &be->a[p][k][isa][t], &be->b[p][k][isa][t]);
        }
    return TP_OK;
}

static TpStatus measure_point(Breakeven *be, int p, int H, SparsePool *pool, Rng *rng)
{
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
    double t_dense = time_gemv(NULL, &m, y, x);
    sparse_free(&m);
    be->hidden[p] = H;
    be->bytes[p] = 4.0 * (double)n;
    be->dense_us[p] = t_dense;
    set_all(be, p, SPARSE_DENSE, 1.0, 0.0);
    for (int f = 0; f < N_FIT && st == TP_OK; f++) st = measure_kind(be, p, FIT_KINDS[f], w, x, xs, y, R, C, t_dense, pool, rng);
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
    be->others_share = NAN;
    Rng rng;
    rng_seed(&rng, 1234);
    SparsePool *pool = NULL;
    be->threads = backend_threads() > SPARSE_MAX_PARTS ? SPARSE_MAX_PARTS : backend_threads();
    if (be->threads > 1 && sparse_pool_create(&pool, be->threads) != TP_OK) return err_wrap(TP_EIO, "break-even: ");
    for (int i = 0; i < n; i++) {
        TpStatus st = measure_point(be, i, hidden[i], pool, &rng);
        if (st != TP_OK) {
            sparse_pool_free(pool);
            return st;
        }
    }
    sparse_pool_free(pool);
    be->n = n;
    be->measured = 1;
    breakeven_fingerprint(be->fingerprint, sizeof be->fingerprint);
    return TP_OK;
}

/* ---- model ---- */

double breakeven_variant_cost(const Breakeven *be, SparseKind k, SparseIsa isa, int threaded, double dense_bytes,
                              double density)
{
    if (k == SPARSE_DENSE || be->n < 1 || (unsigned)k >= SPARSE_N_KINDS) return 1.0;
    if ((unsigned)isa >= SPARSE_N_ISAS || !sparse_isa_available(isa) || (threaded && be->threads < 2)) return INFINITY;
    const int t = threaded ? 1 : 0;
    int i = 0;
    while (i + 1 < be->n && be->bytes[i + 1] <= dense_bytes) i++;
    double a = be->a[i][k][isa][t], b = be->b[i][k][isa][t];
    /* a sparse kernel's time grows with the entries it reads: a fit whose slope is not positive is a
     * measurement spoiled by other load (seen: 2-thread fits of -19 per unit density on a busy machine,
     * which predicted "0.00x dense" at 100 % and made the runtime 4x slower).  Such a variant is not
     * trusted, so never picked. */
    if (!(b > 0) || (i + 1 < be->n && dense_bytes > be->bytes[i] && !(be->b[i + 1][k][isa][t] > 0))) return INFINITY;
    if (i + 1 < be->n && dense_bytes > be->bytes[i]) {
        double f = log(dense_bytes / be->bytes[i]) / log(be->bytes[i + 1] / be->bytes[i]);
        a += f * (be->a[i + 1][k][isa][t] - a);
        b += f * (be->b[i + 1][k][isa][t] - b);
    }
    if (!isfinite(a) || !isfinite(b)) return INFINITY;
    double c = a + b * density;
    return c > 1e-3 ? c : 1e-3;
}

BreakevenChoice breakeven_best(const Breakeven *be, SparseKind k, double dense_bytes, double density)
{
    BreakevenChoice best = {k, sparse_isa(), 1, INFINITY, 0};
    if (k == SPARSE_DENSE) {
        best.cost = 1.0;
        return best;
    }
    for (int isa = SPARSE_N_ISAS - 1; isa >= 0; isa--)
        for (int t = 0; t < 2; t++) {
            double c = breakeven_variant_cost(be, k, (SparseIsa)isa, t, dense_bytes, density);
            if (c < best.cost) best = (BreakevenChoice){k, (SparseIsa)isa, t ? be->threads : 1, c, 0};
        }
    return best;
}

double breakeven_cost(const Breakeven *be, SparseKind k, double dense_bytes, double density)
{
    return breakeven_best(be, k, dense_bytes, density).cost;
}

void breakeven_choice_name(const BreakevenChoice *c, char *buf, size_t n)
{
    const char *g = c->grouped ? "g" : ""; /* rows grouped by support (engine/infer) */
    if (c->kind == SPARSE_DENSE) snprintf(buf, n, "dense");
    else if (c->threads > 1) snprintf(buf, n, "%s%s/%s/%dt", sparse_kind_name(c->kind), g, sparse_isa_name(c->isa), c->threads);
    else snprintf(buf, n, "%s%s/%s", sparse_kind_name(c->kind), g, sparse_isa_name(c->isa));
}

/* the density below which one variant is predicted faster than dense (0..1) */
static double variant_density(const Breakeven *be, SparseKind k, SparseIsa isa, int t, double dense_bytes)
{
    double a = breakeven_variant_cost(be, k, isa, t, dense_bytes, 0.0), one = breakeven_variant_cost(be, k, isa, t, dense_bytes, 1.0);
    if (!isfinite(a) || !isfinite(one)) return 0.0;
    if (one <= a) return a < 1.0 ? 1.0 : 0.0; /* flat or falling fit: all or nothing */
    double d = (1.0 - a) / (one - a);
    return d < 0.0 ? 0.0 : d > 1.0 ? 1.0 : d;
}

double breakeven_density(const Breakeven *be, SparseKind k, double dense_bytes)
{
    if (k == SPARSE_DENSE) return 1.0;
    double d = 0.0;
    for (int isa = 0; isa < SPARSE_N_ISAS; isa++)
        for (int t = 0; t < 2; t++) {
            double v = variant_density(be, k, (SparseIsa)isa, t, dense_bytes);
            d = v > d ? v : d;
        }
    return d;
}

void breakeven_describe(const Breakeven *be, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    const double bytes = be->bytes[be->n > 0 ? be->n - 1 : 0];
    used += (size_t)snprintf(buf, n, "sparse kernels (%s; fastest variant at 10%% density, [%d, %d]):\n",
                             be->measured ? "measured" : "built-in default", 4 * be->hidden[be->n > 0 ? be->n - 1 : 0],
                             be->hidden[be->n > 0 ? be->n - 1 : 0]);
    for (int f = 0; f < N_FIT && used < n; f++) {
        BreakevenChoice c = breakeven_best(be, FIT_KINDS[f], bytes, 0.1);
        char name[64];
        breakeven_choice_name(&c, name, sizeof name);
        used += (size_t)snprintf(buf + used, n - used, "  %-10s %-24s %.3fx dense time\n", sparse_kind_name(FIT_KINDS[f]),
                                 name, c.cost);
    }
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

/* the file's text after its format line (breakeven_load reads it back) */
static void write_table(FILE *f, const Breakeven *be)
{
    fprintf(f, "%s\nfingerprint\t%s\nthreads\t%d\nhidden\tbytes\tdense_us\tkind\tisa\tthreads\ta\tb\tbreakeven\n",
            FORMAT_LINE, be->fingerprint, be->threads);
    for (int i = 0; i < be->n; i++)
        for (int f2 = 0; f2 < N_FIT; f2++)
            for (int isa = 0; isa < SPARSE_N_ISAS; isa++)
                for (int t = 0; t < 2; t++) {
                    SparseKind k = FIT_KINDS[f2];
                    if (isnan(be->a[i][k][isa][t])) continue;
                    fprintf(f, "%d\t%.0f\t%.3f\t%s\t%s\t%d\t%.6g\t%.6g\t%.4f\n", be->hidden[i], be->bytes[i],
                            be->dense_us[i], sparse_kind_name(k), sparse_isa_name((SparseIsa)isa), t ? be->threads : 1,
                            be->a[i][k][isa][t], be->b[i][k][isa][t], variant_density(be, k, (SparseIsa)isa, t, be->bytes[i]));
                }
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
    write_table(f, be);
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
    be->others_share = NAN;
    be->threads = 1;
    FILE *f;
    TpStatus ost = fsutil_fopen_regular(path, &f); /* a device or FIFO here would never end or block */
    if (ost != TP_OK) return ost;
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
        if (!strncmp(line, "threads\t", 8)) {
            be->threads = atoi(line + 8);
            if (be->threads < 1 || be->threads > SPARSE_MAX_PARTS) st = err_set(TP_EFORMAT, "%s: line %d: bad threads", path, ln);
            continue;
        }
        int H, thr, isa = -1;
        double bytes, dus, a, b, d;
        char kind[16], isa_s[16];
        SparseKind k;
        if (sscanf(line, "%d\t%lf\t%lf\t%15s\t%15s\t%d\t%lf\t%lf\t%lf", &H, &bytes, &dus, kind, isa_s, &thr, &a, &b, &d) == 9)
            for (int q = 0; q < SPARSE_N_ISAS; q++)
                if (!strcmp(isa_s, sparse_isa_name((SparseIsa)q))) isa = q;
        if (isa < 0 || sparse_kind_parse(kind, &k) != TP_OK || !isfinite(a) || !isfinite(b) || bytes <= 0 ||
            (thr != 1 && thr != be->threads)) {
            st = err_set(TP_EFORMAT, "%s: line %d: expected hidden bytes dense_us kind isa threads a b breakeven", path, ln);
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
            for (int q = 0; q < SPARSE_N_KINDS; q++) set_all(be, i, (SparseKind)q, q == SPARSE_DENSE ? 1.0 : NAN, 0.0);
        }
        be->a[i][k][isa][thr > 1] = a;
        be->b[i][k][isa][thr > 1] = b;
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
    double others0 = clock_others_cpu_s(), t0 = clock_now();
    if ((st = breakeven_measure(be, NULL, 0)) != TP_OK) return st;
    double wall = clock_now() - t0;
    be->others_share = wall > 0 ? (clock_others_cpu_s() - others0) / wall : NAN;
    if (breakeven_busy(be)) return TP_OK; /* not cached */
    if (breakeven_cache_path(path, sizeof path, dir) == TP_OK && breakeven_save(be, path) != TP_OK) err_clear();
    return TP_OK;
}

int breakeven_busy(const Breakeven *be) { return isfinite(be->others_share) && be->others_share > BREAKEVEN_BUSY_SHARE; }

const char *breakeven_source(const Breakeven *be, int from_cache, char *buf, size_t n)
{
    if (from_cache) snprintf(buf, n, "from the cache");
    else if (breakeven_busy(be))
        snprintf(buf, n, "measured now beside other work (other processes used %.2f CPUs meanwhile; not cached: the "
                         "kernel choice may be off, measure again on a quiet machine)", be->others_share);
    else snprintf(buf, n, "measured now");
    return buf;
}
