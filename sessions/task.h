/* sessions/task: the task options of DESIGN 2.1 (data, model, training), their defaults, parsing
 * from the command line, and their JSON form in manifest.json / config.json.
 *
 * Defaults are the bundled task: char-level tiny-shakespeare (data/tinyshakespeare.txt), a 2x128
 * LSTM.  A data directory defaults to word level (the PTB layout), a single file to char level.
 */
#ifndef TP_TASK_H
#define TP_TASK_H

#include <stdint.h>

#include <cJSON.h>

#include "engine/corpus.h"
#include "engine/model.h"
#include "engine/train.h"

typedef struct {
    char data[4096];        /* --data PATH ("" = the bundled corpus)             */
    CorpusLevel level;      /* --level word|char                                 */
    int level_set;          /* 0: chosen from the data (dir = word, file = char) */
    ModelConfig model;      /* --cell --layers --hidden --embed --gate-hidden --dropout --init */
    TrainConfig train;      /* --bptt --batch --epochs --max-steps --lr --lr-decay --decay-start --clip --optimizer */
    uint64_t seed;          /* --seed: model init and dropout streams             */
    int threads;            /* --threads                                          */
    int eval_batch;         /* --eval-batch (1 = the DESIGN 2.5 protocol)         */
    int max_vocab;          /* --max-vocab                                        */
    int log_every;          /* --log-every: metrics row every N steps             */
    int undo_confirm;       /* `undo` of more training steps than this asks first (set undo_confirm=N) */
    int layers_given;       /* --layers was given                                 */
    int hidden_given;       /* sizes listed by --hidden (0 = not given)           */
    /* The task kind is model.task (MODEL_TASK_LM, MODEL_TASK_ASR = "--task an4"); the speech model's
     * front end is model.n_feat (--mels) and model.conv (--conv), sessions/task_asr.c */
    int max_utts;           /* --max-utts N: only the first N utterances of each AN4 split (0 = all) */
    int freq_mask[2];       /* --freq-mask NxW: SpecAugment bands per training utterance, widest (0x0 = off) */
    int time_mask[2];       /* --time-mask NxW: SpecAugment spans of frames, widest (0x0 = off) */
    int padded;             /* --padded 1|0: a training minibatch's utterances run as one padded batch
                               (1: new sessions) or one at a time (0: sessions made before it) */
    uint64_t given;         /* bit k: option k of task_parse_arg was given (AN4 defaults skip those) */
    /* distillation (sessions/distill, the `distill` verb): the teacher export ("" = none), the weight
     * of its distribution in the target, and the CRC32 of its model.safetensors when it was chosen;
     * manifest task "distill": {"teacher", "alpha", "crc32"} (absent when there is no teacher) */
    char teacher[512];
    float distill_alpha;
    uint32_t teacher_crc;
} Task;

void task_defaults(Task *t);
/* If argv[*i] is a task option, consume it (and its value) and advance *i; returns TP_OK with
 * *matched = 1.  Unknown options leave *matched = 0.  Bad values: TP_EINVAL/TP_ERANGE naming the
 * option and what was expected. */
TpStatus task_parse_arg(Task *t, int argc, char **argv, int *i, int *matched);
/* Resolve defaults that depend on the data (bundled corpus path, level). */
TpStatus task_resolve(Task *t);
/* Help text of every task option (one per line). */
const char *task_options_help(void);

cJSON *task_to_json(const Task *t);
TpStatus task_from_json(Task *t, const cJSON *j);   /* missing fields keep their defaults */

/* ---- the AN4 speech task (sessions/task_asr.c) ---- */
#define TASK_AN4_CLASSES 29   /* engine/an4's alphabet: blank, space, apostrophe, A..Z */
/* 1 when t is the speech task. */
int task_is_asr(const Task *t);
/* "--task lm|an4", "--mels F", "--conv N", "--max-utts N", "--freq-mask NxW", "--time-mask NxW": like
 * task_parse_arg.  --task an4 sets the
 * AN4 defaults (a 2x128 bidirectional LSTM over one convolution, dropout 0.2 on its layers' outputs,
 * Adam 1e-3, batch 16, 100 epochs, lr x0.95 an epoch after epoch 40, SpecAugment 2x8 bands and 2x20
 * frames) on every option not given before it. */
TpStatus task_asr_parse_arg(Task *t, const char *opt, const char *v, int *matched);
/* "NxW" of --freq-mask / --time-mask (and `set freq_mask=`): N masks (0..16) of up to W (0..1000)
 * features or frames into out[2]; TP_EINVAL/TP_ERANGE naming opt, out unchanged. */
TpStatus task_asr_parse_mask(const char *opt, const char *v, int out[2]);
/* The speech model's configuration from the task's options (n_embed = the convolutions' output
 * width); TP_EINVAL when they do not fit. */
TpStatus task_asr_resolve(Task *t);
/* The AN4 fields into / from a task's JSON (nothing for an LM: its JSON is as before). */
void task_asr_to_json(const Task *t, cJSON *j);
TpStatus task_asr_from_json(Task *t, const cJSON *j);

/* Where the bundled corpus is: $TOPIARY_DATA, ./data, or next to the binary (../data). */
TpStatus task_bundled_corpus(char *buf, size_t n);

#endif
