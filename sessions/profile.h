/* sessions/profile: what `topiary profile` and the `profile` / `recommend` verbs share — one request
 * type set from either `--key value` or `key=value`, the dispatch to the measured profiler
 * (engine/latency) or the accelerator model (engine/accel), the text report of a curve and its
 * analysis (engine/hysteresis), the session's latency.tsv (DESIGN 2.3: appended whole, header
 * once), and the recommendation text.  Nothing here prints: reports are written into buffers.
 */
#ifndef TP_SESSIONS_PROFILE_H
#define TP_SESSIONS_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/accel.h"
#include "engine/hysteresis.h"
#include "engine/latency.h"
#include "sessions/session.h"
#include "sessions/target.h"

typedef struct {
    char backend[16];       /* cpu | cuda | accel                                       */
    char sizes[256];        /* A:B:STEP or a,b,c (default 16:1536:8)                    */
    int threads;            /* 0 = the BLAS default                                     */
    int batch, seq, input;  /* 1, 1, 0 (= hidden)                                       */
    double sparsity;
    char pattern[24];       /* dense | csr | sell | sell-seg | unstructured | row | block (or block16x1 ...) */
    char block[8];          /* pattern block: 16x1 (default) | 8x1 | 4x4               */
    int block_set;          /* block was given (then the pattern must be block)         */
    int reps;               /* rounds; 0 = automatic from budget_s                      */
    double budget_s;        /* 60                                                       */
    double margin;          /* noise-band floor of the analysis (0.02; 0 for the model) */
    int margin_only;        /* noise=margin: band = median ± margin, ignoring p10/p90   */
    char accel[1024];       /* accelerator parameter file ("" = the default)            */
    char cell[8];           /* lstm | hlstm (cpu and accel; not cuda)                   */
    int gate_hidden;        /* H-LSTM M (0 = M equals the hidden size)                  */
    uint64_t seed;
    int bidir;              /* a bidirectional layer (profile_audio_request): LatencyOptions.bidir */
    char target[160];       /* a latency target (sessions/target: cpu, cuda, accel[:...], cmd:NAME);
                             * "" = the backend above                                    */
    const char *session_dir; /* where cmd: targets are also searched (SESSION/targets/); may be NULL */
} ProfileRequest;

void profile_request_defaults(ProfileRequest *r);
/* Set one option by name (keys as in `profile key=value`; "budget-s" and "budget_s" both work).
 * TP_EINVAL/TP_ERANGE with a message naming the option; *known = 0 for an unknown key. */
TpStatus profile_request_set(ProfileRequest *r, const char *key, const char *value, int *known);

/* Measure (cpu, cuda) or model (accel) the curve.  `accel` receives the parameters used (may be
 * NULL).  Progress as in engine/latency. */
TpStatus profile_run(LatencyCurve *c, AccelParams *accel, const ProfileRequest *r, LatencyProgressFn fn, void *ctx);

/* The analysis with the margin a curve deserves: 0 for model curves (exact), else `margin`;
 * margin_only: compare medians with the margin alone (HystOptions). */
TpStatus profile_analyze(HystAnalysis *a, const LatencyCurve *c, double margin, int margin_only);
HystSeries profile_series(const LatencyCurve *c);

/* Human report of a curve and its analysis.  With accel parameters (model curves) every hysteresis
 * point says which tile boundary makes its step.  table = 1 adds one line per size. */
void profile_report(char *buf, size_t n, const LatencyCurve *c, const HystAnalysis *a, const AccelParams *accel,
                    int table);
/* Repeatability of two sweeps of the same conditions, one paragraph. */
TpStatus profile_report_overlap(char *buf, size_t n, const LatencyCurve *ca, const HystAnalysis *a,
                                const LatencyCurve *cb, const HystAnalysis *b);
/* gnuplot-friendly marks: "hidden median_us kind by" rows for hysteresis points and dominated sizes. */
TpStatus profile_marks_tsv(const LatencyCurve *c, const HystAnalysis *a, char **buf);

/* `topiary profile`: what to produce besides the text to print. */
typedef struct {
    int json;             /* one JSON line per curve instead of the report                  */
    int table;            /* a line per size in the report (measuring: also without out)    */
    const char *out;      /* measuring: write the curve there as TSV (NULL: don't)           */
    const char *marks;    /* the first curve's hysteresis marks as TSV (NULL: don't)         */
} ProfileOutput;

/* `topiary profile --analyze FILE...`: load the curves (TSV), analyze each with q's margin and accel
 * parameters, write o->marks, and put what to print in *text (malloc'd, NULL if nothing): every
 * curve's report or JSON line, then the repeatability of sweeps of the same conditions.  *warn
 * (malloc'd or NULL): warnings such as a torn last line.  On an error *text holds what came before. */
TpStatus profile_analyze_files(const ProfileRequest *q, const char *const *files, int n_files, const ProfileOutput *o,
                               char **text, char **warn);
/* `topiary profile`: measure or model the curve of q (progress as in profile_run; TP_ECANCEL when
 * fn cancels), write o->out and o->marks, and put the report or JSON line in *text (malloc'd);
 * *n_sizes: the curve's sizes. */
TpStatus profile_measure(const ProfileRequest *q, const ProfileOutput *o, LatencyProgressFn fn, void *ctx, char **text,
                         int *n_sizes);

/* SESSION/latency.tsv: append a curve (header first when the file is new); load the last curve. */
TpStatus profile_session_append(const char *dir, const LatencyCurve *c);
TpStatus profile_session_latest(const char *dir, LatencyCurve *c);

/* `recommend`: for a layer of size `current` (0 = none), with budget_us > 0 (else "no slower than
 * now"), the recommendation as text. */
TpStatus profile_recommend(char *buf, size_t n, const LatencyCurve *c, const HystAnalysis *a, int layer, int current,
                           double budget_us);

/* The verbs behind command_execute (sessions/command keeps parsing and journaling):
 *   profile key=value ...   (keys of profile_request_set; threads default to the session's) runs the
 *                           profile, appends it to SESSION/latency.tsv and reports it;
 *   recommend [layer=L] [budget_us=X]  on the newest curve of SESSION/latency.tsv.
 * cancel (may be NULL) is polled between rounds: nonzero stops the sweep (TP_ECANCEL). */
typedef int (*ProfileCancelFn)(void *ctx, double fraction);
TpStatus profile_verb(Session *s, int n, const char *const *keys, const char *const *values, ProfileCancelFn cancel,
                      void *ctx, char *text, size_t tn, char *summary, size_t sn);
TpStatus profile_verb_recommend(const Session *s, int layer, double budget_us, char *text, size_t tn);
/* The newest curve of SESSION/latency.tsv with its analysis as one JSON line (malloc'd), as
 * `topiary profile --json` prints a curve. */
TpStatus profile_session_latest_json(const char *dir, double margin, int margin_only, char **json);

/* ---- a speech session: per second of audio (profile_audio.c) ----
 * One bidirectional layer costs, per second of audio, PROFILE_AUDIO_DIRECTIONS calls over a window of
 * F = profile_audio_frames(cfg) frames (asr_out_frames of 100 input frames, the 10 ms hop) at batch 1.
 * profile_audio_request: the request of `profile layer=L` on that model: seq = F (a given seq other
 * than F is refused), input = the layer's input width unless given (layer 0: cfg->n_embed, else
 * hidden[L-1]), the session's cell and gate_hidden (an H-LSTM: measured on the cpu, modelled on the accel
 * target, as on the LM).  profile_audio_scale: the measured per-call curve -> microseconds per second
 * of audio (x PROFILE_AUDIO_DIRECTIONS, the one place the factor is applied), protocol "audio-<base>";
 * refuses a curve that is already per second of audio. */
#define PROFILE_AUDIO_DIRECTIONS 2
int profile_audio_frames(const ModelConfig *cfg);
TpStatus profile_audio_request(ProfileRequest *q, const ModelConfig *cfg, int layer, int seq_given, int input_given);
TpStatus profile_audio_scale(LatencyCurve *c);

#endif
