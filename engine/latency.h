/* engine/latency: the latency profiler — L(d), the latency of one LSTM layer step against its hidden
 * size d, measured on this machine — with its hardware fingerprint and its file formats (TSV, JSON).
 * The analysis of a curve (hysteresis points, dominated sizes, recommendation) is engine/hysteresis.
 *
 * Why: latency versus hidden size is not monotonic on real hardware (the latency hysteresis effect,
 * Yin et al., "Hardware-guided symbiotic training for compact, accurate, yet execution-efficient
 * LSTMs", IEEE TETC 2022), so layer sizes are picked from a measured curve, and the curve must be
 * trustworthy: DESIGN 3.3 fixes the protocol below.
 *
 * Protocol "steady" (the default, and the only one measured today).  What one call times is
 * lstm_forward() over a window of `seq` steps at batch `batch` (seq = 1: one step, the recurrent
 * inference case), on weights W_ih [4H, I], W_hh [4H, H] (I = H unless `input` is set), exactly the
 * code training and inference run.  Then:
 *   1. calibration: per size, 2 untimed calls, then calls timed until >= 1 ms or 10 calls give the
 *      call time t(d); n_inner(d) = max(1, ceil(min_sample_us / t(d))), so a sample lasts at least
 *      min_sample_us (200 us) and the clock's resolution and overhead do not matter;
 *   2. rounds: every round visits every size once, in an order shuffled per round (seeded
 *      xoshiro256**), so that slow drift (another job, frequency changes, thermal) spreads over all
 *      sizes instead of biasing a contiguous range;
 *   3. a visit = n_inner untimed warm-up calls of that layer, then n_inner calls back to back timed
 *      with CLOCK_MONOTONIC; the sample is their mean.  The warm-up puts the layer's weights in
 *      whatever cache level holds them, as in sequential inference where the same layer runs step
 *      after step.  Without it (cold: other sizes ran in between) batch-1 latency is several times
 *      higher (../shared/bench/README.md: H = 512, 123 us hot vs 360-430 us cold), so mixing the
 *      two would make a curve of cache accidents;
 *   4. per size: median of the round samples, p10 and p90 (linear interpolation, as numpy), mean.
 * Rounds: `rounds` if given, else as many as fit `budget_s` (default 60 s for the whole sweep,
 * calibration included: about a minute for ~200 sizes), at least 5, at most 1000: rounds go on while
 * the next one (at the mean round time so far) still fits the budget.
 * Every layer shares one set of buffers sized for the largest (64-byte aligned), so memory stays
 * that of one layer; the content is random U(-0.1, 0.1) and irrelevant to dense timing.
 *
 * Files (latency_io.c): TSV with the DESIGN 2.3 columns
 *   backend threads batch seq hidden sparsity pattern median_us p10_us p90_us
 * then input mean_us n_samples n_inner protocol run fingerprint (times in microseconds per call,
 * i.e. for the whole window of seq steps).  One row per size; a file may hold several curves (a
 * session's latency.tsv accumulates them): consecutive rows with the same conditions and run id
 * form one curve.  JSON: one object {"format":"topiary-latency","version":1, conditions, "points":
 * [...], optional "analysis"} (the analysis part is written by the caller through hysteresis).
 *
 * Per second of audio (a speech session's profile, sessions/profile_audio.c): protocol
 * "audio-<base>" (audio-steady, audio-model, audio-command) marks a curve whose times are not per
 * call but per second of audio: 2 directions x one call over the window of seq frames, seq being the
 * frames one second of audio makes.  The columns and the rest of the key are as above, so every
 * reader parses it; the describe text and the JSON ("unit") say it.
 */
#ifndef TP_LATENCY_H
#define TP_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "rng.h"
#include "sparse.h"

#define LATENCY_MAX_SIZES 4096
#define LATENCY_MAX_HIDDEN 65536

/* One curve: the conditions it was measured (or modelled) under, and one point per size, stored
 * column-wise so the analysis takes plain arrays.  Sizes ascend strictly. */
typedef struct {
    char backend[16];      /* cpu | cuda | accel | any name a foreign curve brings (torch)     */
    int threads, batch, seq;
    int input;             /* input size I; 0 = I equals the hidden size                      */
    double sparsity;       /* fraction of zero weights (0 = dense)                             */
    char pattern[24];      /* dense | csr | sell | sell-seg | unstructured | row | block16x1 ... */
    char protocol[16];     /* steady (measured, see above) | model (engine/accel)              */
    char run[32];          /* sweep id: UTC start time, pid, seed; model-lstm / model-hlstm-M<M> */
    char fingerprint[512]; /* hardware: "cpu=...; cpus=N; blas=...; os=..." or the accel model */
    int rounds;            /* samples per size (TSV: n_samples)                                */
    double seconds;        /* wall time of the sweep (JSON only; 0 = unknown)                  */
    int bidir;             /* measured as a bidirectional layer (LatencyOptions.bidir; not in files) */
    int n_once;            /* of those sizes, how many ran their directions at once (not in files) */
    int n, cap;
    int *hidden;
    double *median_us, *p10_us, *p90_us, *mean_us;
    int *n_samples, *n_inner;
} LatencyCurve;

void latency_curve_init(LatencyCurve *c);
void latency_curve_free(LatencyCurve *c);
/* Append one point (sizes must ascend strictly). */
TpStatus latency_curve_push(LatencyCurve *c, int hidden, double median, double p10, double p90, double mean,
                            int n_samples, int n_inner);
/* Conditions only (no points), e.g. to compare two curves' keys. */
int latency_curve_same_key(const LatencyCurve *a, const LatencyCurve *b);
/* The audio marking above: 1 when c's times are per second of audio; the protocol without its
 * "audio-" prefix; 1 when that base is "model" (an exact model curve: no noise). */
#define LATENCY_AUDIO_PREFIX "audio-"
int latency_curve_is_audio(const LatencyCurve *c);
const char *latency_curve_base_protocol(const LatencyCurve *c);
int latency_curve_is_model(const LatencyCurve *c);
/* "cpu, 2 threads, batch 20, seq 1, dense" (audio curves: ", us per second of audio" after it) */
void latency_curve_describe(const LatencyCurve *c, char *buf, size_t n);

/* A list of curves (what a TSV file holds). */
typedef struct {
    int n;
    LatencyCurve *c;
} LatencySet;
void latency_set_free(LatencySet *s);

/* "A:B:STEP" (inclusive) or "a,b,c" (strictly increasing) -> malloc'd sizes, 1..LATENCY_MAX_HIDDEN,
 * at most LATENCY_MAX_SIZES.  Errors name what was expected. */
TpStatus latency_parse_sizes(const char *spec, int **sizes, int *n);

/* Hardware fingerprint of this process now: CPU model, online CPUs, BLAS description (backend,
 * threads, CUDA device), OS release; tabs and newlines removed. */
void latency_fingerprint(char *buf, size_t n);

typedef int (*LatencyProgressFn)(void *ctx, double fraction, int round, int rounds, double elapsed_s);

typedef struct {
    const char *backend;      /* "cpu" (default) or "cuda"; accel curves come from engine/accel  */
    int threads;              /* 0 = leave the BLAS thread count as it is                       */
    int batch, seq, input;    /* defaults 1, 1, 0 (= hidden)                                    */
    double sparsity;          /* fraction of zero weights: 0 for dense, 0 < s < 1 for csr and row  */
    const char *pattern;      /* NULL/"dense", "csr", "sell", "sell-seg", "unstructured", "row", "block16x1", "block8x1" or
                               * "block4x4" (sparse kernels, see below)                            */
    const char *cell;         /* NULL/"lstm", or "hlstm": an H-LSTM layer (engine/hlstm), its gates
                               * each a hidden layer of gate_hidden units; CPU only              */
    int gate_hidden;          /* the H-LSTM's M; 0 = M equals the hidden size                    */
    const int *sizes;
    int n_sizes;
    int rounds;               /* 0 = automatic from budget_s                                     */
    double budget_s;          /* default 60                                                      */
    double min_sample_us;     /* default 200                                                     */
    uint64_t seed;            /* shuffle order; default 1                                        */
    int bidir;                /* 1: a bidirectional layer (below); 0: one window per call        */
    int directions;           /* bidir's plan: 0 the faster per size, 1 in turn, 2 at once       */
    LatencyProgressFn progress; /* called during calibration and after every round; nonzero = cancel */
    void *ctx;
} LatencyOptions;

void latency_options_defaults(LatencyOptions *o);

/* H-LSTM curves (cell "hlstm"): one call is hlstm_forward() over the window, weights fc1 [4M, I+H]
 * and fc2 [4H, M] (four gates); a sparse pattern puts fc1's x and h parts and each gate's fc2 in that
 * layout, as the inference runtime runs them.  The curve's fingerprint starts "cell=hlstm M=<M>; "
 * ("M=H" for gate_hidden 0), so its record says what it measured. */
#define LATENCY_HLSTM_MARK "cell=hlstm"
/* Measure a curve by the steady protocol above.  The BLAS thread count and backend are restored
 * afterwards.  Pattern csr, sell or row: the same layer step with W_ih and W_hh in that engine/sparse
 * layout (csr, sell: random positions at density 1 - sparsity; row: k = ceil((1 - sparsity) cols) per
 * row; blockRxC: BSR, whole R x C blocks kept with probability 1 - sparsity, as block pruning leaves
 * them), products through sparse_gemm inside the shared window code (what engine/infer runs), every
 * size's matrices built once up front (at most 4 GiB).  At T >= 2 threads a sparse pattern's
 * products run over a pool of T threads (engine/sparse_pool), each matrix cut in T parts, as the
 * inference runtime runs them (BLAS threads the dense pattern).
 * bidir (a speech model's bidirectional layer, sessions/profile_audio): one call runs the layer's
 * two directions, each with weights of its own, and a sample is that call's time / 2, the time per
 * window, so the per-call columns keep their meaning.  The two run in turn, or for a sparse pattern
 * at T >= 2 at once, one thread each, when that is faster: each size is calibrated both ways (five
 * interleaved samples each, medians) and keeps the faster plan, as engine/infer_asr chooses at init;
 * out->n_once counts the sizes that ran at once.  `directions` 1 or 2 forces one plan (at once is
 * refused with TP_EINVAL below 2 threads or for the dense pattern, as the runtime refuses it).
 * TP_ENOTAVAIL for sparse patterns on cuda, TP_ENODEV for cuda without a device, TP_ECANCEL when
 * progress asked to stop, TP_ENOMEM/TP_ERANGE for sizes too big. */
TpStatus latency_profile(LatencyCurve *out, const LatencyOptions *o);
/* The steady protocol on a device through a table of operations (latency_device.c): one call is
 * devtrain_lstm_forward on device-resident weights, samples are timed by the table's timer (CUDA
 * events around the n_inner calls), calibration, rounds and statistics as above; the fingerprint
 * starts with "gpu=".  latency_profile calls it for backend "cuda"; o must be checked (dense). */
struct BackendOps;
TpStatus latency_profile_device(LatencyCurve *out, const LatencyOptions *o, const struct BackendOps *ops);
/* 1 if `pattern` is one of the patterns above ("dense" included). */
int latency_pattern_known(const char *pattern);
/* The matrix [R, C] a sparse pattern's profile times, at density d (random positions from r): in
 * the pattern's layout (unstructured: whichever of csr, sell and sell-seg is timed fastest for it,
 * the positions the same), on the vector path timed fastest for it.  The profiler's own builder,
 * public for tests.  TP_EINVAL for an unknown or dense pattern, TP_ENOMEM. */
TpStatus latency_pattern_matrix(SparseMatrix *m, const char *pattern, int R, int C, double d, Rng *r);
#define LATENCY_PATTERNS "dense, csr, sell, sell-seg, unstructured, row, block16x1, block8x1 or block4x4"

/* TSV: the header line (with '\n'), and one curve's rows appended to a growing malloc'd buffer. */
const char *latency_tsv_header(void);
TpStatus latency_tsv_format(const LatencyCurve *c, int with_header, char **buf, size_t *len);
/* Parse a TSV text (NUL-terminated).  Refuses a malformed file with TP_EFORMAT and
 * "line N: ..." in err_msg(); a last line without its newline that does not parse (a torn append,
 * DESIGN 2.3) is skipped and *torn set to 1 (torn may be NULL). */
TpStatus latency_tsv_parse(LatencySet *out, const char *text, int *torn);
/* Read and parse a file (at most 64 MiB); errors are prefixed with the path. */
TpStatus latency_tsv_load(LatencySet *out, const char *path, int *torn);

/* JSON of a curve as one line (no trailing newline); `analysis_json` (may be NULL) is inserted
 * verbatim as the value of "analysis" (hysteresis_json() makes it). */
TpStatus latency_json_format(const LatencyCurve *c, const char *analysis_json, char **buf);
TpStatus latency_json_parse(LatencyCurve *out, const char *text);

#endif
