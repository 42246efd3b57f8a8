/* bench/bench_infer_asr: batch-1 latency per second of audio of a speech (an4) session's model through
 * the inference runtime (engine/infer_asr), against the same model run dense, measured in the same run.
 *
 *   dense     every matrix dense sgemv (InferOptions.force = SPARSE_DENSE), no trimming: what a dense
 *             runtime does (the convolutions are dense in both)
 *   runtime   kernels chosen by the measured break-even (engine/breakeven, cached), trimmed sizes (or
 *             --kernel K for one layout everywhere)
 * Both run the forward (features -> logits; the features are computed before) of each of the first
 * --utts utterances of the test split, --reps times; per utterance the two alternate (which goes
 * first alternates too, so drift on a shared machine hits both alike), after one warm-up pass over
 * the first few.  A sample is one utterance's time per second of its audio; median, p10, p90 of the
 * samples are reported, the aggregate (all time / all audio), the speed-up of the medians, and the
 * largest relative difference between the two's logits (summation order only).
 *
 *   usage: bench_infer_asr SESSION [--utts N] [--reps R] [--threads N] [--data PATH] [--kernel K] [--json]
 *   (--json: one JSON line at the end with the figures, for bench/bench_an4.sh)
 * The session is only read.  A speech export is for PyTorch (topiary does not load it): give the session.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/asr.h"
#include "engine/backend.h"
#include "engine/breakeven.h"
#include "engine/infer_asr.h"
#include "sessions/session.h"
#include "sessions/speech.h"

enum { WARM = 4 };

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

/* seconds of one forward; the logits stay in r */
static double timed(InferAsr *r, const float *feat, int T)
{
    const float *lg;
    int To;
    double t0 = clock_now();
    if (infer_asr_forward(r, feat, T, &lg, &To) != TP_OK) {
        fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
        exit(1);
    }
    return clock_now() - t0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_infer_asr SESSION [--utts N] [--reps R] [--threads N] [--data PATH]\n"
                    "                       [--kernel auto|dense|csr|sell|sell-seg|row|bsr16x1|bsr8x1|bsr4x4|state]\n"
                    "                       [--directions auto|turn|once] [--only runtime|dense] [--json]\n"
                    "  --directions: the two directions of a layer in turn (products split over the threads), at\n"
                    "  once (one thread each), or auto: the faster of the two as timed at init\n"
                    "  --only: time one configuration alone in the process (no other configuration's BLAS or\n"
                    "  pool threads awake beside it, as a deployment runs it); the other's column reads 0\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *data = NULL;
    int utts = 40, reps = 3, threads = 0, force = -1, json = 0, directions = -1, only = 0; /* only: 1 runtime, 2 dense */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--utts") && i + 1 < argc) utts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = !strcmp(argv[++i], "runtime") ? 1 : !strcmp(argv[i], "dense") ? 2 : -1;
            if (only < 0) {
                fprintf(stderr, "bench_infer_asr: --only runtime|dense, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--directions") && i + 1 < argc) {
            const char *v = argv[++i];
            directions = !strcmp(v, "auto") ? -1 : !strcmp(v, "turn") ? 0 : !strcmp(v, "once") ? 1 : -2;
            if (directions == -2) {
                fprintf(stderr, "bench_infer_asr: --directions: expected auto, turn or once, got '%s'\n", v);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) {
            SparseKind k;
            if (strcmp(argv[++i], "auto") && sparse_kind_parse(argv[i], &k) != TP_OK) {
                fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
                return 2;
            }
            force = strcmp(argv[i], "auto") ? (int)k : -1;
        } else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else return usage();
    }
    if (!dir || utts < 1 || reps < 1 || threads < 0) return usage();
    Session s;
    if (session_open(&s, dir, data) != TP_OK) {
        fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
        return 1;
    }
    if (s.model.cfg.task != MODEL_TASK_ASR) {
        fprintf(stderr, "bench_infer_asr: %s is not a speech (an4) session (bench_infer measures a language model's export)\n", dir);
        return 1;
    }
    if (threads > 0 && backend_set_threads(threads) != TP_OK) {
        fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
        return 1;
    }
    Breakeven be;
    int cached = 0;
    if (breakeven_get(&be, NULL, &cached) != TP_OK) {
        fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
        return 1;
    }
    InferOptions od, oc;
    infer_options_defaults(&od);
    od.force = SPARSE_DENSE;
    od.trim = 0;
    infer_options_defaults(&oc);
    oc.cost = &be;
    oc.force = force;
    oc.directions = directions;
    InferAsr rd, rc;
    memset(&rd, 0, sizeof rd);
    memset(&rc, 0, sizeof rc);
    if ((only != 1 && infer_asr_init(&rd, &s.model, &od) != TP_OK) || (only != 2 && infer_asr_init(&rc, &s.model, &oc) != TP_OK)) {
        fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
        return 1;
    }
    /* the utterances: features as the session computes them (the test split, its --max-utts) */
    const float **feat = calloc((size_t)utts, sizeof *feat);
    int *T = calloc((size_t)utts, sizeof *T), n = 0, n_split = 0;
    double audio = 0.0;
    for (int i = 0; i < utts; i++) {
        const int *labels;
        int L;
        double loss;
        if (speech_utterance(s.speech, &s.model, 2, i, &feat[n], &T[n], &labels, &L, &loss, &n_split) != TP_OK) {
            if (i > 0 && i >= n_split) break; /* fewer utterances than asked */
            fprintf(stderr, "bench_infer_asr: %s\n", err_msg());
            return 1;
        }
        if (asr_out_frames(&s.model.cfg, T[n]) < 1) continue;
        audio += T[n] * 0.01; /* 10 ms frames */
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "bench_infer_asr: no test utterance long enough for the front end\n");
        return 1;
    }
    char desc[16384], blas[256], sum[256], src[256];
    InferAsr *shown = only == 2 ? &rd : &rc;
    infer_asr_describe(shown, desc, sizeof desc);
    infer_asr_summary(shown, sum, sizeof sum);
    backend_describe(blas, sizeof blas);
    printf("bench-infer-asr: %s, %d test utterances (%.1f s of audio) x %d reps, batch 1\n"
           "BLAS: %s; sparse: %s; break-even %s\nruntime kernels:\n%s", dir, n, audio, reps, blas,
           sparse_isa_name(sparse_isa()), breakeven_source(&be, cached, src, sizeof src), desc);

    double maxrel = 0.0;
    for (int i = 0; i < n && i < WARM; i++) {
        if (only != 1) timed(&rd, feat[i], T[i]);
        if (only != 2) timed(&rc, feat[i], T[i]);
    }
    int ns = n * reps;
    double *sd = malloc(sizeof(double) * (size_t)ns), *sc = malloc(sizeof(double) * (size_t)ns), td = 0.0, tc = 0.0;
    for (int rep = 0, k = 0; rep < reps; rep++)
        for (int i = 0; i < n; i++, k++) {
            double a = T[i] * 0.01, d, c;
            if (only) /* one configuration alone: its time in both columns */
                d = c = timed(only == 1 ? &rc : &rd, feat[i], T[i]);
            else if (k % 2) d = timed(&rd, feat[i], T[i]), c = timed(&rc, feat[i], T[i]);
            else c = timed(&rc, feat[i], T[i]), d = timed(&rd, feat[i], T[i]);
            sd[k] = 1000.0 * d / a;
            sc[k] = 1000.0 * c / a;
            td += d;
            tc += c;
            if (rep == 0 && !only) { /* both logits are still there */
                size_t e = (size_t)rd.T_out * rd.cfg.n_vocab;
                double diff = 0.0, scale = 1e-3;
                for (size_t j = 0; j < e; j++) {
                    double x = fabs((double)rd.logits[j] - rc.logits[j]);
                    diff = x > diff ? x : diff;
                    scale = fabs((double)rd.logits[j]) > scale ? fabs((double)rd.logits[j]) : scale;
                }
                maxrel = diff / scale > maxrel ? diff / scale : maxrel;
            }
        }
    double md, d10, d90, mc, c10, c90;
    stats(sd, ns, &md, &d10, &d90);
    stats(sc, ns, &mc, &c10, &c90);
    double ad = 1000.0 * td / (audio * reps), ac = 1000.0 * tc / (audio * reps);
    printf("\nms per second of audio  %10s %10s %10s %10s\n", "median", "p10", "p90", "aggregate");
    if (only != 1) printf("%-23s  %10.3f %10.3f %10.3f %10.3f\n", "dense", md, d10, d90, ad);
    if (only != 2) printf("%-23s  %10.3f %10.3f %10.3f %10.3f\n", "runtime", mc, c10, c90, ac);
    if (only)
        printf("(--only %s: the other configuration did not run in this process; compare two runs)\n",
               only == 1 ? "runtime" : "dense");
    else
        printf("speed-up: %.2fx (medians), %.2fx (aggregate); logits agree within %.2g relative\n", md / mc, ad / ac, maxrel);
    if (json)
        printf("{\"utterances\":%d,\"reps\":%d,\"audio_seconds\":%.2f,\"threads\":%d,\"dense_ms_per_audio_s\":%.4f,"
               "\"runtime_ms_per_audio_s\":%.4f,\"dense_p10\":%.4f,\"dense_p90\":%.4f,\"runtime_p10\":%.4f,"
               "\"runtime_p90\":%.4f,\"speedup\":%.4f,\"max_rel_diff\":%.3g,\"kernels\":\"%s\",\"directions\":\"%s\","
               "\"plan_ms_turn\":%.4f,\"plan_ms_once\":%.4f}\n", n, reps, audio,
               backend_threads(), only == 1 ? 0.0 : md, only == 2 ? 0.0 : mc, d10, d90, c10, c90, only ? 0.0 : md / mc, maxrel,
               sum, shown->parallel ? "once" : "turn", shown->plan_ms[0], shown->plan_ms[1]);
    free(sd);
    free(sc);
    free(feat);
    free(T);
    if (only != 1) infer_asr_free(&rd);
    if (only != 2) infer_asr_free(&rc);
    session_free(&s);
    return maxrel <= 1e-3 ? 0 : 1;
}
