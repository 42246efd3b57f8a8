/* sessions/average: weight averaging of a session (engine/train's TrainAverage: the averaged SGD of
 * AWD-LSTM, SWA) as the command language's `average` verb and `eval average=1` use it.
 *
 * The mean lives in the trainer; a save writes it into model.safetensors ("average.<name>") with its
 * start step, sampling interval and sample count in the manifest (state.average), so a resume, an undo
 * or a replay goes on with the same mean.  Nothing here prints.
 */
#ifndef TP_AVERAGE_H
#define TP_AVERAGE_H

#include <stddef.h>

#include "sessions/session.h"

#define AVERAGE_EVERY_DEFAULT 10

/* One line on the average: "weight average: 42 samples, one every 10 steps since step 1200", or ""
 * when none is running. */
void average_status(const Session *s, char *buf, size_t n);
/* Begin a new average now (replacing a running one); what (n bytes) says what happened. */
TpStatus average_start(Session *s, int every, char *what, size_t n);
/* The live weights become the mean (pruned weights stay 0) and averaging ends. */
TpStatus average_apply(Session *s, char *what, size_t n);
/* Drop the average (TP_EINVAL when none runs). */
TpStatus average_off(Session *s, char *what, size_t n);
/* Evaluate a split with the mean in place of the weights (both restored after; the session's valid
 * perplexity stays the model's).  For a speech session sp gets WER, CER and loss; for an LM r. */
TpStatus average_evaluate(Session *s, int split, EvalResult *r, SpeechEval *sp, TrainEvalProgress fn, void *ctx);

#endif
