/* sessions/evaluate: `topiary eval` as one call each for a session and for an export.
 *
 * A session is evaluated with the training code's forward (the DESIGN 2.5 protocol: the split as one
 * stream, batch 1, state carried through; task.eval_batch > 1 cuts it into that many streams).  An
 * export is evaluated through the batch-1 inference runtime (engine/infer) on config.json's data (or
 * `data`), from model.compact.safetensors when the export has one, else model.safetensors (trimmed in
 * memory), with a kernel per matrix chosen from the sparse break-even measured once per machine
 * (engine/breakeven, cached in $XDG_CACHE_HOME/topiary).  Nothing here prints.
 */
#ifndef TP_EVALUATE_H
#define TP_EVALUATE_H

#include "sessions/session.h"

/* "valid", "test" or "train" -> CORPUS_VALID/TEST/TRAIN; -1 for anything else. */
int evaluate_split_index(const char *name);

/* Perplexity of a split of the session (s->task.eval_batch streams). */
TpStatus evaluate_session(Session *s, int split, EvalResult *r);
/* 1 for a speech (AN4) session: evaluate it with evaluate_speech, not evaluate_session. */
int evaluate_is_speech(const Session *s);
/* WER, CER and CTC loss of a split of a speech session: greedy decoding (beam <= 1) or prefix beam
 * search of width beam; the valid split's figures become the session's (s->valid_wer, valid_cer). */
TpStatus evaluate_speech(Session *s, int split, int beam, SpeechEval *r);

/* The same through the batch-1 inference runtime (engine/infer_asr), kernels chosen from the machine's
 * measured sparse break-even (measured now when not cached; note, n bytes, says so, else ""), at the
 * BLAS threads in force: WER/CER equal evaluate_speech's, plus r->ms_per_audio_s and r->kernels.
 * The session's valid WER is not updated (the dense evaluation stays the session's figure).
 * fn (may be NULL): progress, as speech_evaluate. */
TpStatus evaluate_speech_runtime(Session *s, int split, int beam, SpeechEval *r, char *note, size_t n, SpeechProgress fn,
                                 void *ctx);

typedef struct {
    EvalResult r;
    int eval_batch;             /* streams used (the export's, or the override)               */
    const char *file;           /* "model.compact.safetensors" or "model.safetensors"         */
    char kernels[256];          /* the kernel chosen per matrix (engine/infer's summary)       */
    double state_sparsity;      /* share of zero hidden-state entries; NaN without thresholding */
    char note[600];             /* how the break-even was obtained, when worth saying ("" else) */
} ExportEval;

/* Evaluate the export in dir on a split; data (may be NULL) replaces config.json's data path;
 * eval_batch 0 keeps the export's. */
TpStatus evaluate_export(const char *dir, const char *data, int split, int eval_batch, ExportEval *out);

#endif
