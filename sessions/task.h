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

/* Where the bundled corpus is: $TOPIARY_DATA, ./data, or next to the binary (../data). */
TpStatus task_bundled_corpus(char *buf, size_t n);

#endif
