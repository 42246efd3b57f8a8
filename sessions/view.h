/* sessions/view: read-only views of a session for front ends (the TUI), so that they never reach
 * into engine/ or a Session's model, trainer or files themselves.
 *
 * Two kinds of accessors:
 *   - from memory (view_status, view_tensor, view_layers): cheap, no file is touched;
 *   - from the session directory (view_metrics_load, view_latency_load, view_history_load): they read
 *     metrics.tsv, latency.tsv, snapshots/ and journal.txt.  Front ends call them only when the data
 *     changed (CommandResult.views says which) and draw the result from memory.
 * Nothing here changes the session; every change goes through command_execute(). */
#ifndef TP_VIEW_H
#define TP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "sessions/events.h"
#include "sessions/journal.h"
#include "sessions/session.h"
#include "sessions/snapshot.h"

#define VIEW_MAX_LAYERS MODEL_MAX_LAYERS
#define VIEW_MAX_SNAPSHOTS 64

/* The status line and the Train screen's numbers. */
typedef struct {
    char name[64];             /* the session directory's last component          */
    long step;
    int epoch, epochs;
    double valid_ppl;          /* NaN before the first validation                 */
    const char *level;         /* "word" | "char"                                 */
    const char *cell;          /* "LSTM" | "H-LSTM", " tied" appended when tied   */
    const char *backend;       /* the compute backend in use                      */
    double lr, clip;
    size_t nnz, params;
    double sparsity;           /* "model" sparsity, 0..1 (sessions/session.h)     */
    double matrix_sparsity;    /* "prunable matrices" sparsity, 0..1              */
    int n_layers;
    int hidden[VIEW_MAX_LAYERS];
    int n_vocab;               /* the corpus' vocabulary                          */
    char schedule[200];        /* the pruning schedule, described                 */
    char distill[96];          /* "alpha 0.5 from NAME" while distilling (the `distill` verb), else "" */
    char average[64];          /* "12 samples every 10 since 4000" while averaging (`average start`), else "" */
    int speech;                /* the speech task (AN4): CTC loss, WER, CER instead of perplexity */
    double valid_wer, valid_cer; /* speech: last validation, fractions; NaN before the first     */
} ViewStatus;

void view_status(const Session *s, ViewStatus *v);

/* Where training stands, for a progress bar (cheap: no mask is counted). */
typedef struct {
    long step;
    int epoch, epochs;         /* epoch runs past epochs once training is complete      */
    double epoch_fraction;     /* of the current epoch, 0..1                            */
    double windows_left;       /* minibatches to the end of the last epoch              */
    double lr;                 /* the optimizer's current rate                          */
    int finished;              /* the epochs (or the step limit) are done               */
} ViewProgress;

void view_progress(const Session *s, ViewProgress *p);

/* The session's step (minibatches trained). */
long view_step(const Session *s);
/* Number of layers and their hidden sizes (a cheap subset of view_status). */
int view_layers(const Session *s, int *hidden);

/* One parameter tensor of the model, with its mask statistics. */
typedef struct {
    const char *name;
    int is_bias;
    int rows, cols;
    const uint8_t *mask;       /* rows*cols, 1 = live (points into the session: read only) */
    double density;
    int row_nnz_min, row_nnz_max;
} ViewTensor;

int view_n_tensors(const Session *s);
void view_tensor(const Session *s, int i, ViewTensor *t);
/* The block shape tensor i's mask follows (16x1, 8x1 or 4x4: mask_tensor_block_shape): 1 and *R x *C,
 * or 0 for an unstructured or dense mask. */
int view_tensor_block(const Session *s, int i, int *R, int *C);
/* Index of the tensor named `name`, or -1. */
int view_tensor_find(const Session *s, const char *name);

/* Metric series for charts: metrics.tsv loaded once, then rows pushed live as training logs them. */
typedef struct {
    int n, cap;
    double *step, *train_ppl, *valid_ppl, *sparsity, *nnz, *tok_s;   /* sparsity in percent */
    double *matrix_sparsity;   /* "prunable matrices", in percent (NaN in rows of older sessions) */
    /* the speech task: CTC loss per utterance (train, valid) and valid WER, CER in percent (NaN in
     * rows without them); speech = 1 when the series is a speech session's (the Train screen then
     * draws these where perplexity was) */
    double *train_loss, *valid_loss, *valid_wer, *valid_cer;
    int speech;
    /* SESSION/events.tsv (sessions/events): every prune, grow, resize and schedule restore, with its
     * slice perplexity before and after; for markers on the charts.  Owned. */
    SessionEvent *events;
    int n_events;
} ViewSeries;

/* Append SESSION/metrics.tsv's rows (a missing file is an empty one) and (re)load its events. */
TpStatus view_metrics_load(ViewSeries *m, const char *dir);
TpStatus view_metrics_push(ViewSeries *m, const SessionMetrics *r);
void view_metrics_free(ViewSeries *m);

/* The newest latency curve of SESSION/latency.tsv, its analysis, and per layer the recommendation. */
typedef struct {
    int have;                  /* 0: no profile yet (nothing else is set)                 */
    int n;
    double *hidden, *median_us, *p10_us, *p90_us;   /* owned, n each                       */
    char backend[16];
    char target[96];           /* the target it was measured on (sessions/target: cpu, accel..., cmd:NAME) */
    int threads, batch;
    int n_points, n_dominated;
    double *point_hidden;      /* hidden size of each hysteresis point (n_points)         */
    int n_layers;
    int current[VIEW_MAX_LAYERS];   /* the layer's size when this view was computed       */
    char rec[VIEW_MAX_LAYERS][512]; /* one line: the `recommend` text                      */
    /* "no slower than now": the largest size at no latency cost, or 0 when the layer is already
     * the largest at its latency; rec_err when the analysis has no answer for the layer. */
    int rec_hidden[VIEW_MAX_LAYERS];
    char rec_err[VIEW_MAX_LAYERS][160];
    char hwgp[320];            /* the last `schedule hwgp` run (SESSION/hwgp.json), one line; "" = none */
} ViewLatency;

TpStatus view_latency_load(ViewLatency *v, const Session *s);
void view_latency_free(ViewLatency *v);

/* Snapshots (oldest first) and the journal. */
typedef struct {
    SnapshotInfo snaps[VIEW_MAX_SNAPSHOTS];
    int n_snaps;
    JournalEntry *journal;     /* owned */
    int n_journal;
} ViewHistory;

TpStatus view_history_load(ViewHistory *h, const char *dir);
void view_history_free(ViewHistory *h);

/* Live (non-zero) entries and all entries of the masks in snapshot `name` of the session at dir
 * (snapshots/NAME/model.safetensors; every parameter's mask, as the status line counts them).
 * Reads the snapshot's model file: call it when the user asks (a compare), not per frame.  TP_ENOENT
 * or TP_EFORMAT naming the file when it cannot say. */
TpStatus view_snapshot_nnz(const char *dir, const char *name, size_t *nnz, size_t *params);

#endif
