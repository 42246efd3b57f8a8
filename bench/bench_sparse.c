/* bench/bench_sparse: batch-1 W_hh·h of an LSTM layer ([4H, H]) with every kernel of engine/sparse,
 * against dense OpenBLAS sgemv and against the machine's memory bandwidth, measured in the same run.
 *
 *   for H in {200, 650, 1500}, weight density in {100, 50, 20, 10, 5}% (random positions; for the
 *   row-balanced kernel a row-balanced matrix of the same density, k = ceil(density H) per row; for
 *   the BSR kernels 16x1, 8x1, 4x4 a block-pruned one, whole blocks kept at random), every sparse
 *   kernel on every vector path the CPU has (the `isa` column; dense is OpenBLAS's own):
 *     median time of one product (steady state: the same matrix back to back after a warm-up, as
 *     in sequential inference; DESIGN 3.3), p10/p90 over the samples, speed-up over dense sgemv of
 *     the same H in this run, bytes read (sparse_bytes: matrix data + x), and the achieved
 *     bytes/time as a fraction of a STREAM-like copy bandwidth measured in this run, twice:
 *       %copy  copy of a buffer of the kernel's own footprint (so the same cache level feeds both:
 *              the bound the kernel can actually reach), counted as STREAM counts (read + write);
 *       %dram  copy of 2 x 256 MiB (beyond every cache: the DRAM bound of classic STREAM).
 *   then a threaded table: at densities {20, 10, 5}% the row-split kernels on a sparse_pool of N
 *   threads (--threaded N, default 2) against dense sgemv on N BLAS threads, and against the same
 *   kernel on one thread;
 *   then the sparse-state kernels at state density {100, 50, 20, 10}% (h~ thresholded, DESIGN 3.4)
 *   on a dense and on a 10%-dense W_hh, against dense sgemv on the full h.
 *
 * Options: --threads N (BLAS threads of the dense reference of the first table, default 1),
 * --threaded N, --threaded-only, --sizes a,b,c, --samples N (default 31), --isa scalar|avx2|avx512
 * (only that path), --quick.
 * The machine's load average is printed before and after: on a shared machine, compare ratios.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "base/clock.h"
#include "engine/latency.h"
#include "engine/rng.h"
#include "engine/sparse.h"
#include "engine/sparse_pool.h"
#include "engine/train.h"

static int g_samples = 31;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double med, p10, p90;
} Timing;

typedef void (*Fn)(void *ctx);

/* Steady state: calibrate n_inner so a sample lasts >= 200 us, warm up, then g_samples samples. */
static Timing time_fn(Fn f, void *ctx)
{
    int n_inner = 1;
    for (;;) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) f(ctx);
        double dt = clock_now() - t0;
        if (dt >= 200e-6 || n_inner >= (1 << 24)) break;
        n_inner *= 2;
    }
    for (int i = 0; i < 2 * n_inner; i++) f(ctx);
    double *s = malloc((size_t)g_samples * sizeof(double));
    for (int k = 0; k < g_samples; k++) {
        double t0 = clock_now();
        for (int i = 0; i < n_inner; i++) f(ctx);
        s[k] = (clock_now() - t0) / n_inner * 1e6;
    }
    qsort(s, (size_t)g_samples, sizeof *s, cmp_double);
    Timing t = {s[g_samples / 2], s[g_samples / 10], s[g_samples - 1 - g_samples / 10]};
    free(s);
    return t;
}

typedef struct {
    const SparseMatrix *m;
    float *y;
    const float *x;
    SparsePool *pool; /* NULL: the calling thread */
} Gemv;

static void run_gemv(void *ctx)
{
    Gemv *g = ctx;
    sparse_pool_gemv(g->pool, g->m, g->y, g->x, 0);
    __asm__ volatile("" ::"r"(g->y) : "memory");
}

typedef struct {
    float *a, *b;
    size_t n;
} Copy;

static void run_copy(void *ctx)
{
    Copy *c = ctx;
    memcpy(c->b, c->a, c->n * sizeof(float));
    __asm__ volatile("" ::"r"(c->b) : "memory");
}

/* STREAM-like copy bandwidth (bytes read + written per second) over buffers of `bytes` each. */
static double copy_bandwidth(double bytes)
{
    size_t n = (size_t)(bytes / 4.0);
    if (n < 1024) n = 1024;
    Copy c = {backend_alloc(n, 4), backend_alloc(n, 4), n};
    for (size_t i = 0; i < n; i++) c.a[i] = (float)i;
    Timing t = time_fn(run_copy, &c);
    free(c.a);
    free(c.b);
    return 2.0 * 4.0 * (double)n / (t.med * 1e-6);
}

static float *random_w(int R, int C, double density, Rng *rng)
{
    float *w = backend_alloc((size_t)R * C, sizeof(float));
    for (size_t i = 0; i < (size_t)R * C; i++) {
        float v = rng_range(rng, -0.1f, 0.1f);
        w[i] = rng_uniform(rng) < density ? (v == 0.0f ? 0.01f : v) : 0.0f;
    }
    return w;
}

static void loadavg(char *buf, size_t n)
{
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = '\0';
    if (f) {
        if (!fgets(buf, (int)n, f)) buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
}

static int g_isa = -1; /* --isa: only that path; -1: every path the CPU has */

static int isa_wanted(SparseIsa isa) { return sparse_isa_available(isa) && (g_isa < 0 || g_isa == (int)isa); }

/* The matrix of a row: ROW on a row-balanced matrix of the density (k = ceil(density H) per row, as
 * BRDS prunes), BSR on a block-pruned one (whole blocks kept at random, as `prune pattern=block`
 * leaves), every other layout on w (random positions). */
static TpStatus make_matrix(SparseMatrix *m, SparseKind k, const float *w, const float *full, int R, int C, double dens,
                            Rng *rng)
{
    if (k == SPARSE_ROW) return sparse_row_from_dense(m, full, R, C, C, (int)ceil(dens * C));
    if (sparse_kind_is_bsr(k)) return sparse_random(m, k, R, C, dens, rng);
    return sparse_from_dense(m, k, w, R, C, C);
}

/* the buffers of one matrix size, and the blank line that ends its table block */
static void end_size(float *full, float *x, float *y)
{
    free(full);
    free(x);
    free(y);
    printf("\n");
}

/* The threaded table: T threads (sparse_pool, rows split by stored entries) against T-thread dense
 * sgemv, and against the same kernel on one thread. */
static int threaded_table(const int *sizes, int n_sizes, int T, Rng *rng)
{
    static const double DENS[] = {0.2, 0.1, 0.05};
    static const SparseKind KINDS[] = {SPARSE_CSR,     SPARSE_SELL,   SPARSE_SELL_SEG, SPARSE_ROW,
                                       SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4};
    SparsePool *pool;
    if (backend_set_threads(T) != TP_OK || sparse_pool_create(&pool, T) != TP_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err_msg());
        return 1;
    }
    printf("%d threads: dense sgemv on %d BLAS threads; sparse kernels on a %d-thread sparse_pool:\n", T, T, T);
    printf("%5s %7s %-9s %-6s %9s %9s %9s %9s %10s\n", "H", "density", "kernel", "isa", "median_us", "p10_us", "p90_us",
           "speedup", "vs 1 thr");
    for (int s = 0; s < n_sizes; s++) {
        const int H = sizes[s], R = 4 * H, C = H;
        float *x = backend_alloc((size_t)C, sizeof(float)), *y = backend_alloc((size_t)R, sizeof(float));
        for (int c = 0; c < C; c++) x[c] = rng_range(rng, -1.0f, 1.0f);
        float *full = random_w(R, C, 1.0, rng);
        SparseMatrix dm;
        if (sparse_from_dense(&dm, SPARSE_DENSE, full, R, C, C) != TP_OK) return 1;
        Gemv gd = {&dm, y, x, NULL};
        Timing td = time_fn(run_gemv, &gd);
        printf("%5d %6.0f%% %-9s %-6s %9.2f %9.2f %9.2f\n", H, 100.0, "dense", "blas", td.med, td.p10, td.p90);
        sparse_free(&dm);
        for (size_t d = 0; d < sizeof DENS / sizeof DENS[0]; d++) {
            float *w = random_w(R, C, DENS[d], rng);
            for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++)
                for (int isa = SPARSE_N_ISAS - 1; isa >= 0; isa--) {
                    if (!isa_wanted((SparseIsa)isa)) continue;
                    SparseMatrix m;
                    if (make_matrix(&m, KINDS[k], w, full, R, C, DENS[d], rng) != TP_OK) return 1;
                    sparse_use_isa(&m, (SparseIsa)isa);
                    Gemv g1 = {&m, y, x, NULL}, gt = {&m, y, x, pool};
                    Timing t1 = time_fn(run_gemv, &g1);
                    sparse_split(&m, T);
                    Timing t = time_fn(run_gemv, &gt);
                    printf("%5d %6.0f%% %-9s %-6s %9.2f %9.2f %9.2f %8.2fx %9.2fx\n", H, 100.0 * DENS[d],
                           sparse_kind_name(KINDS[k]), sparse_isa_name(m.isa), t.med, t.p10, t.p90, td.med / t.med,
                           t1.med / t.med);
                    fflush(stdout);
                    sparse_free(&m);
                }
            free(w);
        }
        end_size(full, x, y);
    }
    sparse_pool_free(pool);
    return backend_set_threads(1) == TP_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    int threads = 1, threads2 = 2, sizes[8] = {200, 650, 1500}, n_sizes = 3, main_table = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc) g_samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) g_samples = 9;
        else if (!strcmp(argv[i], "--threaded") && i + 1 < argc) threads2 = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threaded-only")) main_table = 0;
        else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            n_sizes = 0;
            for (char *p = strtok(argv[++i], ","); p && n_sizes < 8; p = strtok(NULL, ",")) sizes[n_sizes++] = atoi(p);
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            const char *v = argv[++i];
            SparseIsa isa = !strcmp(v, "avx512") ? SPARSE_ISA_AVX512 : !strcmp(v, "avx2") ? SPARSE_ISA_AVX2 : SPARSE_ISA_SCALAR;
            if (sparse_isa_set(isa) != TP_OK) {
                fprintf(stderr, "bench_sparse: %s\n", err_msg());
                return 2;
            }
            g_isa = (int)isa;
        } else {
            fprintf(stderr, "usage: bench_sparse [--threads N] [--sizes a,b,c] [--samples N] [--quick] "
                            "[--isa scalar|avx2|avx512] [--threaded N] [--threaded-only]\n");
            return 2;
        }
    }
    if (g_samples < 3) g_samples = 3;
    if (threads2 < 2 || threads2 > SPARSE_MAX_PARTS) threads2 = 2;
    if (backend_set_threads(threads) != TP_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err_msg());
        return 2;
    }
    char fp[512], la[128], blas[256];
    latency_fingerprint(fp, sizeof fp);
    backend_describe(blas, sizeof blas);
    loadavg(la, sizeof la);
    printf("bench-sparse: batch-1 y = W_hh h, W_hh [4H, H] (steady state, median of %d samples)\n", g_samples);
    printf("machine: %s\nBLAS: %s; sparse kernels: every vector path this CPU has (best: %s), 1 thread\n"
           "load average before: %s\n", fp, blas, sparse_isa_name(sparse_isa()), la);
    if (!main_table) {
        Rng r2;
        rng_seed(&r2, 42);
        return threaded_table(sizes, n_sizes, threads2, &r2);
    }
    double dram = copy_bandwidth(256.0 * 1048576.0);
    printf("STREAM-like copy, 2 x 256 MiB: %.1f GB/s (the DRAM bound)\n\n", dram * 1e-9);

    static const double DENS[] = {1.0, 0.5, 0.2, 0.1, 0.05};
    static const SparseKind KINDS[] = {SPARSE_DENSE,   SPARSE_CSR,    SPARSE_SELL,   SPARSE_SELL_SEG, SPARSE_ROW,
                                       SPARSE_BSR16X1, SPARSE_BSR8X1, SPARSE_BSR4X4, SPARSE_STATE_CSC};
    const size_t NK = sizeof KINDS / sizeof KINDS[0];
    Rng rng;
    rng_seed(&rng, 42);
    printf("%5s %7s %-9s %-6s %9s %9s %9s %9s %8s %7s %6s %6s\n", "H", "density", "kernel", "isa", "KB read",
           "median_us", "p10_us", "p90_us", "speedup", "GB/s", "%copy", "%dram");
    for (int s = 0; s < n_sizes; s++) {
        const int H = sizes[s], R = 4 * H, C = H;
        float *x = backend_alloc((size_t)C, sizeof(float)), *y = backend_alloc((size_t)R, sizeof(float));
        for (int c = 0; c < C; c++) x[c] = rng_range(&rng, -1.0f, 1.0f);
        double dense_us = 0.0;
        float *full = random_w(R, C, 1.0, &rng);
        for (size_t d = 0; d < sizeof DENS / sizeof DENS[0]; d++) {
            float *w = random_w(R, C, DENS[d], &rng);
            for (size_t k = 0; k < NK; k++) {
                if (KINDS[k] == SPARSE_DENSE && d > 0) continue; /* dense time does not depend on zeros */
                for (int isa = SPARSE_N_ISAS - 1; isa >= 0; isa--) {
                    if (KINDS[k] == SPARSE_DENSE ? isa != SPARSE_N_ISAS - 1 : !isa_wanted((SparseIsa)isa)) continue;
                    SparseMatrix m;
                    if (make_matrix(&m, KINDS[k], w, full, R, C, DENS[d], &rng) != TP_OK) {
                        fprintf(stderr, "bench_sparse: %s\n", err_msg());
                        return 1;
                    }
                    if (KINDS[k] != SPARSE_DENSE) sparse_use_isa(&m, (SparseIsa)isa);
                    Gemv g = {&m, y, x, NULL};
                    Timing t = time_fn(run_gemv, &g);
                    if (KINDS[k] == SPARSE_DENSE) dense_us = t.med;
                    double bytes = sparse_bytes(&m, x), bw = bytes / (t.med * 1e-6);
                    double cb = copy_bandwidth(bytes / 2.0); /* src + dst = the kernel's footprint */
                    printf("%5d %6.0f%% %-9s %-6s %9.1f %9.2f %9.2f %9.2f %7.2fx %7.1f %5.0f%% %5.0f%%\n", H,
                           100.0 * DENS[d], sparse_kind_name(KINDS[k]), KINDS[k] == SPARSE_DENSE ? "blas" : sparse_isa_name(m.isa),
                           bytes / 1024.0, t.med, t.p10, t.p90, dense_us / t.med, bw * 1e-9, 100.0 * bw / cb, 100.0 * bw / dram);
                    fflush(stdout);
                    sparse_free(&m);
                }
            }
            free(w);
        }
        end_size(full, x, y);
    }
    if (threaded_table(sizes, n_sizes, threads2, &rng) != 0) return 1;

    /* the sparse-state kernels against the state density (thresholded h~) */
    static const double SD[] = {1.0, 0.5, 0.2, 0.1};
    printf("sparse-state kernels (W_hh h~ from the columns of non-zero h~ only), vs dense sgemv on h~:\n");
    printf("%5s %7s %7s %-9s %9s %8s %7s %6s\n", "H", "W dens", "h~ dens", "kernel", "median_us", "speedup", "GB/s",
           "%copy");
    for (int s = 0; s < n_sizes; s++) {
        const int H = sizes[s], R = 4 * H, C = H;
        float *x = backend_alloc((size_t)C, sizeof(float)), *y = backend_alloc((size_t)R, sizeof(float));
        for (int wd = 0; wd < 2; wd++) {
            float *w = random_w(R, C, wd ? 0.1 : 1.0, &rng);
            SparseMatrix dm, sm;
            if (sparse_from_dense(&dm, SPARSE_DENSE, w, R, C, C) != TP_OK ||
                sparse_from_dense(&sm, wd ? SPARSE_STATE_CSC : SPARSE_STATE, w, R, C, C) != TP_OK) {
                fprintf(stderr, "bench_sparse: %s\n", err_msg());
                return 1;
            }
            for (size_t d = 0; d < sizeof SD / sizeof SD[0]; d++) {
                for (int c = 0; c < C; c++) x[c] = rng_uniform(&rng) < SD[d] ? rng_range(&rng, -1.0f, 1.0f) : 0.0f;
                Gemv gd = {&dm, y, x, NULL}, gs = {&sm, y, x, NULL};
                Timing td = time_fn(run_gemv, &gd), ts = time_fn(run_gemv, &gs);
                double bytes = sparse_bytes(&sm, x), bw = bytes / (ts.med * 1e-6), cb = copy_bandwidth(bytes / 2.0);
                printf("%5d %6.0f%% %6.0f%% %-9s %9.2f %7.2fx %7.1f %5.0f%%\n", H, wd ? 10.0 : 100.0, 100.0 * SD[d],
                       sparse_kind_name(sm.kind), ts.med, td.med / ts.med, bw * 1e-9, 100.0 * bw / cb);
                fflush(stdout);
            }
            sparse_free(&dm);
            sparse_free(&sm);
            free(w);
        }
        free(x);
        free(y);
    }
    loadavg(la, sizeof la);
    printf("\nload average after: %s\n", la);
    return 0;
}
