/* bench/bench_sparse: batch-1 W_hh·h of an LSTM layer ([4H, H]) with every kernel of engine/sparse,
 * against dense OpenBLAS sgemv and against the machine's memory bandwidth, measured in the same run.
 *
 *   for H in {200, 650, 1500}, weight density in {100, 50, 20, 10, 5}% (random positions; for the
 *   row-balanced kernel a row-balanced matrix of the same density, k = ceil(density H) per row):
 *     median time of one product (steady state: the same matrix back to back after a warm-up, as
 *     in sequential inference; DESIGN 3.3), p10/p90 over the samples, speed-up over dense sgemv of
 *     the same H in this run, bytes read (sparse_bytes: matrix data + x), and the achieved
 *     bytes/time as a fraction of a STREAM-like copy bandwidth measured in this run, twice:
 *       %copy  copy of a buffer of the kernel's own footprint (so the same cache level feeds both:
 *              the bound the kernel can actually reach), counted as STREAM counts (read + write);
 *       %dram  copy of 2 x 256 MiB (beyond every cache: the DRAM bound of classic STREAM).
 *   then the sparse-state kernels at state density {100, 50, 20, 10}% (h~ thresholded, DESIGN 3.4)
 *   on a dense and on a 10%-dense W_hh, against dense sgemv on the full h.
 *
 * Options: --threads N (BLAS threads of the dense reference, default 1: the sparse kernels are
 * single-threaded), --sizes a,b,c, --samples N (default 31), --isa scalar|avx2|avx512, --quick.
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
} Gemv;

static void run_gemv(void *ctx)
{
    Gemv *g = ctx;
    sparse_gemv(g->m, g->y, g->x, 0);
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

int main(int argc, char **argv)
{
    int threads = 1, sizes[8] = {200, 650, 1500}, n_sizes = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc) g_samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) g_samples = 9;
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
        } else {
            fprintf(stderr, "usage: bench_sparse [--threads N] [--sizes a,b,c] [--samples N] [--quick] "
                            "[--isa scalar|avx2|avx512]\n");
            return 2;
        }
    }
    if (g_samples < 3) g_samples = 3;
    if (backend_set_threads(threads) != TP_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err_msg());
        return 2;
    }
    char fp[512], la[128], blas[256];
    latency_fingerprint(fp, sizeof fp);
    backend_describe(blas, sizeof blas);
    loadavg(la, sizeof la);
    printf("bench-sparse: batch-1 y = W_hh h, W_hh [4H, H] (steady state, median of %d samples)\n", g_samples);
    printf("machine: %s\nBLAS: %s; sparse kernels: %s, 1 thread\nload average before: %s\n", fp, blas,
           sparse_isa_name(sparse_isa()), la);
    double dram = copy_bandwidth(256.0 * 1048576.0);
    printf("STREAM-like copy, 2 x 256 MiB: %.1f GB/s (the DRAM bound)\n\n", dram * 1e-9);

    static const double DENS[] = {1.0, 0.5, 0.2, 0.1, 0.05};
    static const SparseKind KINDS[] = {SPARSE_DENSE, SPARSE_CSR, SPARSE_SELL, SPARSE_ROW, SPARSE_STATE_CSC};
    Rng rng;
    rng_seed(&rng, 42);
    printf("%5s %7s %-9s %9s %9s %9s %9s %8s %7s %6s %6s\n", "H", "density", "kernel", "KB read", "median_us",
           "p10_us", "p90_us", "speedup", "GB/s", "%copy", "%dram");
    for (int s = 0; s < n_sizes; s++) {
        const int H = sizes[s], R = 4 * H, C = H;
        float *x = backend_alloc((size_t)C, sizeof(float)), *y = backend_alloc((size_t)R, sizeof(float));
        for (int c = 0; c < C; c++) x[c] = rng_range(&rng, -1.0f, 1.0f);
        double dense_us = 0.0;
        float *full = random_w(R, C, 1.0, &rng);
        for (size_t d = 0; d < sizeof DENS / sizeof DENS[0]; d++) {
            float *w = random_w(R, C, DENS[d], &rng);
            for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
                if (KINDS[k] == SPARSE_DENSE && d > 0) continue; /* dense time does not depend on zeros */
                SparseMatrix m;
                /* the row-balanced kernel runs on what it is for: a BRDS-pruned matrix, k per row */
                TpStatus st = KINDS[k] == SPARSE_ROW ? sparse_row_from_dense(&m, full, R, C, C, (int)ceil(DENS[d] * C))
                                                     : sparse_from_dense(&m, KINDS[k], w, R, C, C);
                if (st != TP_OK) {
                    fprintf(stderr, "bench_sparse: %s\n", err_msg());
                    return 1;
                }
                Gemv g = {&m, y, x};
                Timing t = time_fn(run_gemv, &g);
                if (KINDS[k] == SPARSE_DENSE) dense_us = t.med;
                double bytes = sparse_bytes(&m, x), bw = bytes / (t.med * 1e-6);
                double cb = copy_bandwidth(bytes / 2.0); /* src + dst = the kernel's footprint */
                printf("%5d %6.0f%% %-9s %9.1f %9.2f %9.2f %9.2f %7.2fx %7.1f %5.0f%% %5.0f%%\n", H, 100.0 * DENS[d],
                       sparse_kind_name(KINDS[k]), bytes / 1024.0, t.med, t.p10, t.p90, dense_us / t.med, bw * 1e-9,
                       100.0 * bw / cb, 100.0 * bw / dram);
                fflush(stdout);
                sparse_free(&m);
            }
            free(w);
        }
        free(full);
        free(x);
        free(y);
        printf("\n");
    }

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
                Gemv gd = {&dm, y, x}, gs = {&sm, y, x};
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
