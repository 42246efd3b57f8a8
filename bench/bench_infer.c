/* bench/bench_infer: per-token batch-1 latency of an exported model through the inference runtime
 * (engine/infer), against the same model run dense, measured in the same run.
 *
 *   dense     model.safetensors, every matrix dense sgemv, no trimming: what a dense runtime does
 *   runtime   model.compact.safetensors (else model.safetensors), kernels chosen by the measured
 *             break-even (engine/breakeven, cached), trimmed sizes
 * Both step through the first --tokens tokens of the test split (after 100 tokens of warm-up); the
 * configurations alternate in blocks of 50 tokens (so drift on a shared machine hits both alike),
 * and a sample is the mean time per token of one block; median, p10, p90 are reported, with the
 * speed-up of the medians and the median of the per-block ratios (a block of each configuration on
 * the same tokens, back to back: the statistic least moved by a shared machine's slow periods).  The perplexity over those tokens is printed for both (equal to 4 digits).
 * With more than one thread, every runtime block waits BLAS_IDLE_S first: after a call OpenBLAS's
 * worker threads spin (~0.1 s by default) before they sleep, and on a 2-core machine that spinning
 * took the core the runtime's own pool needed (runtime medians of 624 us against 111 us with
 * OPENBLAS_THREAD_TIMEOUT=4, the same export, one after the other).  The runtime alone calls no BLAS
 * for a model whose matrices are all sparse, so the idle BLAS is the runtime's real condition.
 * Every block, of either configuration, starts with WARM_REPS untimed products of each of its
 * matrices (infer_warm): after the idle wait the pool's worker sleeps, and on a VM the first product
 * that wakes it took up to 2.8 ms (a halted vCPU; 224 us a product on average over blocks of 50
 * against 44 us without the wait, Intel Xeon VM); a stream's steady state is what a block measures.
 * With hidden-state thresholding (the export's state tau, or --state-tau T to set one), the
 * recurrent products are also timed alone on h~ vectors recorded during the run: the chosen kernel,
 * the sparse-state kernel, and dense sgemv.
 *
 *   usage: bench_infer EXPORTDIR [--tokens N] [--threads N] [--state-tau T] [--data PATH] [--kernel K]
 *                      [--only runtime|dense]
 *   (--kernel: force one layout for every matrix instead of the runtime's choice, to compare;
 *    --only: time one configuration alone in the process, as a deployment runs it: no other model's
 *    BLAS threads and no idle waits between blocks; the ratio is then that of two runs)
 */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "base/clock.h"
#include "engine/breakeven.h"
#include "engine/infer.h"
#include "engine/train.h"
#include "engine/vmath.h"
#include "sessions/export.h"

enum { BLOCK = 50, WARM = 100, N_REC = 200, WARM_REPS = 5 };
#define BLAS_IDLE_S 0.2

/* Let BLAS's spinning workers go to sleep before a runtime block (threads > 1; see the header). */
static void blas_idle(int threads)
{
    if (threads <= 1) return;
    struct timespec ts = {0, (long)(BLAS_IDLE_S * 1e9)};
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(double *s, int n, double *med, double *p10, double *p90)
{
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *med = s[n / 2];
    *p10 = s[n / 10];
    *p90 = s[n - 1 - n / 10];
}

/* Steps over tokens [from, to) of ids, after infer_warm; returns seconds; adds the NLL of the
 * predictions. */
static double run_block(InferModel *im, const int32_t *ids, size_t from, size_t to, double *nll)
{
    if (infer_warm(im, WARM_REPS) != TP_OK) return NAN;
    double t0 = clock_now();
    for (size_t t = from; t < to; t++) {
        float *lg = (float *)infer_step(im, ids[t]);
        if (nll) *nll += vmath_softmax_xent(lg, ids + t + 1, 1, im->cfg.n_vocab, 0.0f, NULL);
    }
    return clock_now() - t0;
}

static double time_products(const SparseMatrix *m, float *y, float *const *h, int n)
{
    double best = 1e30;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = clock_now();
        for (int i = 0; i < n; i++) sparse_gemv(m, y, h[i], 0);
        double t = (clock_now() - t0) / n * 1e6;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *data = NULL;
    int tokens = 3000, threads = 0, force = -1, only = 0; /* only: 1 runtime, 2 dense */
    double tau = -1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--state-tau") && i + 1 < argc) tau = atof(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = !strcmp(argv[++i], "runtime") ? 1 : !strcmp(argv[i], "dense") ? 2 : -1;
            if (only < 0) {
                fprintf(stderr, "bench_infer: --only runtime|dense, not '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) {
            SparseKind k;
            if (strcmp(argv[++i], "auto") && sparse_kind_parse(argv[i], &k) != TP_OK) {
                fprintf(stderr, "bench_infer: %s\n", err_msg());
                return 2;
            }
            force = strcmp(argv[i], "auto") ? (int)k : -1;
        }
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "usage: bench_infer EXPORTDIR [--tokens N] [--threads N] [--state-tau T] [--data PATH]\n"
                            "                   [--kernel auto|dense|csr|sell|sell-seg|row|state|state-csc] [--only runtime|dense]\n");
            return 2;
        }
    }
    if (!dir || tokens < WARM + 2 * BLOCK) {
        fprintf(stderr, "usage: bench_infer EXPORTDIR [--tokens N >= %d] [--threads N] [--state-tau T]\n", WARM + 2 * BLOCK);
        return 2;
    }
    ExportModel ed, ec;
    int has_compact = export_has_compact(dir);
    if (export_open(&ed, dir, data) != TP_OK ||
        (has_compact ? export_open_compact(&ec, dir, data) : export_open(&ec, dir, data)) != TP_OK) {
        fprintf(stderr, "bench_infer: %s\n", err_msg());
        return 1;
    }
    if (threads > 0) backend_set_threads(threads);
    if (tau >= 0.0) ed.model.cfg.state_tau = ec.model.cfg.state_tau = (float)tau;
    Breakeven be;
    int cached = 0;
    if (breakeven_get(&be, NULL, &cached) != TP_OK) {
        fprintf(stderr, "bench_infer: %s\n", err_msg());
        return 1;
    }
    InferOptions od, oc;
    infer_options_defaults(&od);
    od.force = SPARSE_DENSE;
    od.trim = 0;
    infer_options_defaults(&oc);
    oc.cost = &be;
    oc.force = force; /* -1: the runtime's choice from the measured break-even */
    InferModel rd, rc;
    if (infer_init(&rd, &ed.model, &od) != TP_OK || infer_init(&rc, &ec.model, &oc) != TP_OK) {
        fprintf(stderr, "bench_infer: %s\n", err_msg());
        return 1;
    }
    const int32_t *ids = ed.corpus.ids[CORPUS_TEST];
    size_t n = ed.corpus.n_ids[CORPUS_TEST];
    if ((size_t)tokens + 1 > n) tokens = (int)n - 1;
    int nb = (tokens - WARM) / BLOCK;
    char desc[8192], blas[256], src[256];
    infer_describe(&rc, desc, sizeof desc);
    backend_describe(blas, sizeof blas);
    printf("bench-infer: %s (%s), %d tokens of the test split, batch 1\nBLAS: %s; sparse: %s; break-even %s\n", dir,
           has_compact ? "model.compact.safetensors" : "model.safetensors", tokens, blas, sparse_isa_name(sparse_isa()),
           breakeven_source(&be, cached, src, sizeof src));
    printf("runtime kernels:\n%s", desc);

    double *sd = malloc(sizeof(double) * (size_t)nb), *sc = malloc(sizeof(double) * (size_t)nb);
    double nll_d = 0.0, nll_c = 0.0;
    infer_reset(&rd);
    infer_reset(&rc);
    if (only != 1) run_block(&rd, ids, 0, WARM, &nll_d);
    if (!only) blas_idle(backend_threads());
    if (only != 2) run_block(&rc, ids, 0, WARM, &nll_c);
    infer_stats_reset(&rc);
    /* record h~ of the last layer's recurrent input for the product timings */
    int L = rc.cfg.n_layers, H = rc.layer[L - 1].H;
    float **hrec = calloc(N_REC, sizeof *hrec);
    int n_rec = 0;
    for (int b = 0; b < nb; b++) {
        size_t from = WARM + (size_t)b * BLOCK, to = from + BLOCK;
        int first = b % 2; /* alternate which runs first */
        if (only) { /* one configuration alone in this process: no other's threads, no idle waits */
            double *dst = only == 1 ? sc : sd;
            dst[b] = run_block(only == 1 ? &rc : &rd, ids, from, to, only == 1 ? &nll_c : &nll_d) / BLOCK * 1e6;
            (only == 1 ? sd : sc)[b] = dst[b];
        } else {
            if (first) sd[b] = run_block(&rd, ids, from, to, &nll_d) / BLOCK * 1e6;
            blas_idle(backend_threads());
            sc[b] = run_block(&rc, ids, from, to, &nll_c) / BLOCK * 1e6;
            if (!first) sd[b] = run_block(&rd, ids, from, to, &nll_d) / BLOCK * 1e6;
        }
        if (n_rec < N_REC) {
            hrec[n_rec] = backend_alloc((size_t)H, sizeof(float));
            memcpy(hrec[n_rec++], rc.layer[L - 1].h, (size_t)H * sizeof(float));
        }
    }
    for (int b = 0; b < nb; b++)
        if (isnan(sd[b]) || isnan(sc[b])) {
            fprintf(stderr, "bench_infer: %s\n", err_msg());
            return 1;
        }
    /* the paired ratio: each block's dense time over the runtime's of the same tokens, measured
     * back to back, so a slow period of a shared or virtual machine hits both sides of one ratio */
    double *pr = malloc(sizeof(double) * (size_t)nb), pm, p10r, p90r;
    for (int b = 0; b < nb; b++) pr[b] = sd[b] / sc[b];
    stats(pr, nb, &pm, &p10r, &p90r);
    free(pr);
    double md, d10, d90, mc, c10, c90;
    double ss = infer_state_sparsity(&rc), share = infer_state_kernel_share(&rc);
    stats(sd, nb, &md, &d10, &d90);
    stats(sc, nb, &mc, &c10, &c90);
    long np = (long)nb * BLOCK + WARM;
    printf("\n%-8s %10s %10s %10s %10s\n", "", "median_us", "p10_us", "p90_us", "ppl");
    if (only != 1) printf("%-8s %10.2f %10.2f %10.2f %10.4f\n", "dense", md, d10, d90, exp(nll_d / np));
    if (only != 2) printf("%-8s %10.2f %10.2f %10.2f %10.4f\n", "runtime", mc, c10, c90, exp(nll_c / np));
    if (only) printf("(--only %s: the other configuration did not run in this process; compare two runs)\n",
                     only == 1 ? "runtime" : "dense");
    else {
        printf("per-token speed-up: %.2fx (median over %d blocks of %d tokens)\n", md / mc, nb, BLOCK);
        printf("paired speed-up: %.2fx median of the per-block ratios dense/runtime (p10 %.2fx, p90 %.2fx)\n", pm, p10r, p90r);
    }
    if (isfinite(ss))
        printf("state tau %g: state sparsity %.1f%%, sparse-state kernel used for %.0f%% of the recurrent products\n",
               (double)rc.cfg.state_tau, 100.0 * ss, 100.0 * share);

    /* the recurrent product of the last layer alone, on the recorded h~ */
    const InferMatrix *wh = rc.layer[L - 1].w_h;
    float *y = backend_alloc((size_t)wh->w.rows, sizeof(float));
    SparseMatrix dm;
    float *dense = backend_alloc((size_t)wh->w.rows * wh->w.cols, sizeof(float));
    sparse_to_dense(&wh->w, dense);
    if (sparse_from_dense(&dm, SPARSE_DENSE, dense, wh->w.rows, wh->w.cols, wh->w.cols) == TP_OK && n_rec > 0) {
        double nzs = 0;
        for (int i = 0; i < n_rec; i++) nzs += sparse_count_nonzero(hrec[i], H);
        double t_dense = time_products(&dm, y, hrec, n_rec), t_w = time_products(&wh->w, y, hrec, n_rec);
        printf("\nrecurrent product %s [%d, %d] (density %.1f%%) on %d recorded h~ (%.1f%% zero):\n", wh->name, wh->w.rows,
               wh->w.cols, 100.0 * wh->density, n_rec, 100.0 - 100.0 * nzs / ((double)n_rec * H));
        printf("  dense sgemv          %8.2f us\n", t_dense);
        printf("  %-20s %8.2f us  %.2fx%s\n", sparse_kind_name(wh->w.kind), t_w, t_dense / t_w,
               wh->perm ? " (rows grouped: the output's scatter not included)" : "");
        SparseMatrix st;
        SparseKind sk = wh->w.kind == SPARSE_DENSE || wh->w.kind == SPARSE_STATE ? SPARSE_STATE : SPARSE_STATE_CSC;
        if (sparse_from_dense(&st, sk, dense, wh->w.rows, wh->w.cols, wh->w.cols) == TP_OK) {
            double t_s = time_products(&st, y, hrec, n_rec);
            printf("  %-20s %8.2f us  %.2fx (skips the zero columns of h~)\n", sparse_kind_name(sk), t_s, t_dense / t_s);
            sparse_free(&st);
        }
        sparse_free(&dm);
    }
    return 0;
}
