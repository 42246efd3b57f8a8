/* sessions/session: the live workbench state (task, corpus, model, trainer) and its directory
 * (DESIGN 2.3): create, open with validation, atomic save, metrics log.
 *
 * Files: manifest.json (written last), model.safetensors (parameters, masks "mask.<name>" U8,
 * optimizer moments "optim.m.<name>"/"optim.v.<name>", carried recurrent state "state.h.l<k>" /
 * "state.c.l<k>"), vocab.json (token strings, id = index), metrics.tsv (append-only).  The
 * manifest records the byte size and CRC32 of model.safetensors and vocab.json; opening checks them
 * and every tensor shape against the architecture, and refuses a bad file naming it.
 */
#ifndef TP_SESSION_H
#define TP_SESSION_H

#include "engine/corpus.h"
#include "engine/model.h"
#include "engine/train.h"
#include "sessions/distill.h"
#include "sessions/gpstate.h"
#include "sessions/manifest.h"
#include "sessions/speech.h"
#include "sessions/task.h"

#define SESSION_FORMAT MANIFEST_FORMAT
#define SESSION_VERSION_MAJOR MANIFEST_VERSION_MAJOR
#define SESSION_VERSION_MINOR MANIFEST_VERSION_MINOR

/* The two sparsity figures, one definition each, shown under these names everywhere (status bar,
 * `status`, prune/grow output, metrics.tsv, the charts and their PNGs, all in %):
 *   model             sparsity = 1 - nnz / params over every parameter (embedding and biases too);
 *   prunable matrices matrix_sparsity = the same over the weight matrices (PARAM_WEIGHT: each layer's
 *                     input and recurrent matrices, decoder.weight): what prune and grow select by
 *                     default, so `prune sparsity=0.5` brings this figure to 50 %. */
typedef struct {
    long step;
    int epoch;
    double lr, train_loss, train_ppl, valid_ppl;   /* NaN when not measured at this row */
    size_t nnz, params;
    double sparsity, state_sparsity, latency_us;   /* NaN until those features measure them */
    double tokens_per_s, seconds;
    double matrix_sparsity;                        /* "prunable matrices" (above)          */
    /* the speech task (sessions/speech): valid CTC loss per utterance, greedy WER and CER as fractions,
     * at epoch ends; columns of its metrics.tsv only (train_loss is then the CTC loss per utterance,
     * train_ppl and valid_ppl NaN, tokens_per_s utterances per second) */
    double valid_loss, valid_wer, valid_cer;
} SessionMetrics;

/* A schedule's event (sessions/events) whose journal annotation waits for the record of the train
 * that made it; text is the event's log line. */
typedef struct {
    long step;
    char kind[12];
    size_t nnz;
    char text[320];
} SessionNote;

typedef struct Session {
    char dir[4096];
    Task task;
    Corpus corpus;
    Model model;
    Trainer trainer;
    Rng init_rng;
    double valid_ppl;       /* last validation perplexity (NaN before the first) */
    double wall_seconds;    /* training time accumulated over all runs           */
    GpState gp;             /* grow-and-prune state: history, accumulator, schedule */
    /* Journal and state committed together (sessions/journal.h): */
    long journal_committed; /* journal bytes the last save recorded; -1: an older session, unknown */
    int journal_recovered;  /* this writer has cut the journal to journal_committed (see below) */
    char undo_dropped[64];  /* an undo snapshot restored, to be removed once the restore is saved */
    SessionNote *notes;     /* schedule events not journaled yet (owned; see sessions/events.h) */
    int n_notes, cap_notes;
    SessionSpeech *speech;       /* the speech task's data and activations (sessions/speech); NULL for an LM */
    double valid_wer, valid_cer;  /* speech: last validation WER, CER (NaN before the first) */
    struct SessionDistill *distill; /* the distillation teacher, loaded while training needs it (sessions/distill) */
} Session;

/* New session in dir (created if needed; refused unless session_check_new_dir allows dir): the task
 * resolved, corpus and model built, metrics.tsv started and the first save written.  It takes no
 * snapshot: a new session's callers want session_new (sessions/session_new.h), which also takes
 * the "initial" snapshot that replay starts from. */
TpStatus session_create_files(Session *s, const char *dir, const Task *task);
/* session_create_files in two steps, so that a front end can check more (a --schedule) before anything
 * is written: _prepare checks the directory (session_check_new_dir), resolves the task, loads the
 * corpus and builds the model, in memory only (on failure s is freed); _write creates the directory
 * and writes the files (on failure s stays allocated: the caller frees it). */
TpStatus session_create_prepare(Session *s, const char *dir, const Task *task);
TpStatus session_create_write(Session *s);
/* TP_OK when dir may hold a new session: absent, or a real (not symlinked) directory that is empty or
 * holds only a "lock" file (sessions/lock: a creator that died).  Refused with TP_EINVAL: an existing
 * session ("already exists"), a damaged one (session files but no manifest.json: the message names
 * them and how to recover), and any other non-empty directory ("not empty and is not a session"). */
TpStatus session_check_new_dir(const char *dir);
/* Open an existing session; data_override (may be NULL) replaces the recorded --data path. */
TpStatus session_open(Session *s, const char *dir, const char *data_override);
int session_exists(const char *dir);
/* Save the session's state with the journal's length as its commit position (manifest "commit").
 * The first save of a writer first cuts the journal to the last committed position
 * (session_recover_journal). */
TpStatus session_save(Session *s);
/* A writer's first step on an opened session: cut the journal lines beyond the position the last
 * save recorded (their commands' state was never saved: a crash); *dropped (may be NULL) gets the
 * number of lines cut.  Done once per Session; later calls do nothing. */
TpStatus session_recover_journal(Session *s, int *dropped);
/* Write the current state (model.safetensors + manifest.json, crash-safe) into another directory
 * (snapshots); reason is recorded in the manifest (may be NULL). */
TpStatus session_write_state(const Session *s, const char *dir, const char *reason);
/* Replace the current state by the one saved in dir (validated like session_open; the model is
 * rebuilt if the recorded architecture differs). */
TpStatus session_read_state(Session *s, const char *dir);
TpStatus session_log_metrics(Session *s, const SessionMetrics *m);
/* metrics.tsv's header line for this session's task (the speech task's has valid_loss/wer/cer). */
const char *session_metrics_header(const Session *s);
void session_metrics_now(const Session *s, SessionMetrics *m); /* step/epoch/lr/nnz/params, both sparsities */
/* The "prunable matrices" sparsity (above) of a model. */
double session_matrix_sparsity(const Model *m);
void session_free(Session *s);
/* The session's pieces that sessions/distill works on (its teacher setting and loaded teacher). */
DistillSlot session_distill_slot(Session *s);

#endif
