/* sessions/speech: the AN4 speech task inside a session (task kind an4, engine/asr.h): its data
 * (engine/an4: train and valid loaded with the session, test on first use), the training step over
 * length-sorted minibatches, and evaluation with greedy or beam CTC decoding into WER and CER.
 *
 * The session keeps its one Trainer (engine/train.h) for the bookkeeping every verb reads: step,
 * epoch, window (the minibatch within the epoch), n_windows, the optimizer (opt, its moments and
 * lr), the dropout stream rng and the epoch sums (ep_nll = summed CTC loss, ep_tokens = scored
 * utterances).  A speech session has no carried recurrent state (trainer.state.B = 0) and no token
 * stream; its corpus holds only the vocabulary: the 29 classes of engine/an4 ("_" = blank), which is
 * what vocab.json records.
 *
 * Minibatches: the train utterances (the first --max-utts of them) sorted by length, cut into
 * batches of --batch; epoch 1 takes them shortest first (SortaGrad, Amodei et al. 2016), later
 * epochs in an order drawn from the seed and the epoch number alone, so a resumed or replayed
 * session draws the same batches.  Training batches get SpecAugment's masks (task --freq-mask,
 * --time-mask; engine/features) on a copy of their features, drawn from the seed and the step alone;
 * the gradient of speech_gradient (growth) and every evaluation read the features unmasked.
 */
#ifndef TP_SPEECH_H
#define TP_SPEECH_H

#include "engine/corpus.h"
#include "engine/infer.h"
#include "engine/train.h"
#include "base/status.h"
#include "sessions/task.h"

typedef struct SessionSpeech SessionSpeech;

/* Load the AN4 splits of task t (train, valid) into a new *out (speech_free), and the class
 * vocabulary into the empty corpus c (the session's). */
TpStatus speech_load(SessionSpeech **out, const Task *t, Corpus *c);
/* The session's Trainer tr for the speech task and the model m (built): optimizer, lr schedule,
 * batches (t->train; its max_steps is not the trainer's). */
TpStatus speech_trainer_init(SessionSpeech *sp, const Task *t, Model *m, Trainer *tr);
/* One minibatch (train_step's contract: TP_ENAN leaves the weights unchanged; info->tokens = the
 * utterances scored, info->loss their mean CTC loss, info->epoch_done at an epoch's end). */
TpStatus speech_train_step(SessionSpeech *sp, Trainer *tr, TrainStepInfo *info);
/* SpecAugment's masks of the next training batches (task --freq-mask, --time-mask; `set`). */
void speech_set_masks(SessionSpeech *sp, const int freq_mask[2], const int time_mask[2]);
/* Mean loss and summed gradient of one minibatch of the train split (for growth: gradients only,
 * no update); gradients accumulate into the model's g after a zero. */
TpStatus speech_gradient(SessionSpeech *sp, Trainer *tr, long batch_index, double *loss);

typedef struct {
    int utterances;          /* evaluated (every utterance of the split, or the first --max-utts) */
    int skipped;             /* too short for their labels: no loss, decoded as given            */
    double loss;             /* mean CTC loss per scored utterance (nats)                         */
    double wer, cer;         /* fractions: 0.1 = 10 %                                             */
    double seconds;          /* wall time                                                         */
    double audio_seconds;    /* audio of the utterances evaluated                                  */
    double ms_per_audio_s;   /* wall time of the forwards and decodings (batch 1, one utterance at a
                                time; not the features, not the loss) per second of audio, in ms      */
    int runtime;             /* 1: through the inference runtime (speech_evaluate_runtime)            */
    char kernels[256];       /* runtime: the kernels chosen (engine/infer's summary line)             */
} SpeechEval;

/* Progress: fraction done; nonzero stops (TP_ECANCEL). */
typedef int (*SpeechProgress)(void *ctx, double fraction);
/* Evaluate split 0 train, 1 valid, 2 test (corpus numbering) with greedy decoding (beam <= 1) or
 * prefix beam search of width beam. */
TpStatus speech_evaluate(SessionSpeech *sp, Model *m, int split, int beam, SpeechEval *r, SpeechProgress fn, void *ctx);
/* The same through the batch-1 inference runtime (engine/infer_asr) built from m with options o
 * (NULL: defaults, the built-in cost model): the same WER/CER up to summation order; r->kernels says
 * which kernel each matrix got.  TP_EINVAL from the runtime (an unknown forced kernel). */
TpStatus speech_evaluate_runtime(SessionSpeech *sp, Model *m, int split, int beam, const InferOptions *o, SpeechEval *r,
                                 SpeechProgress fn, void *ctx);
void speech_free(SessionSpeech *sp);
/* Utterance i of a split (the first --max-utts count): features [T][F], labels [L], and the model's
 * CTC loss of it (infinite when too short for its labels); *n_utts gets the split's count. */
TpStatus speech_utterance(SessionSpeech *sp, Model *m, int split, int i, const float **feat, int *T, const int **labels,
                          int *L, double *loss, int *n_utts);

/* An LM-only feature asked of a speech session: TP_EINVAL "WHAT: not available for the speech
 * task (an4 session): WHY". */
TpStatus speech_refuse(const char *what, const char *why);

#endif
