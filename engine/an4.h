/* engine/an4: the AN4 speech dataset (CMU "census", 16 kHz SPHERE audio, spelled names, digits and
 * commands): its alphabet, its transcripts, its splits, and every utterance's features in memory.
 *
 * Owns: the alphabet (the class numbers the model, the CTC loss and the decoders share), the parsing of
 * etc/an4_{train,test}.{fileids,transcription}, the split rule, and one dataset object holding all
 * features [T][F] and labels [L] of a split (plus the audio when augmentation is asked for).  Audio
 * comes through engine/sphere, features through engine/features.  Nothing here prints.
 *
 * Alphabet (AN4_N_CLASSES = 29): class 0 = the CTC blank, 1 = space, 2 = apostrophe, 3..28 = 'A'..'Z'.
 * Labels of an utterance are classes 1..28, never the blank.
 *
 * Layout of DIR (shared/data/an4, CMU's an4_sphere distribution):
 *   etc/an4_train.fileids        one id per line: an4_clstk/<speaker>/<utt>   (948 lines)
 *   etc/an4_train.transcription  "<s> TEXT </s> (<utt>)" in the same order
 *   etc/an4_test.fileids, etc/an4_test.transcription   the same for an4test_clstk (130; no <s> tags)
 *   wav/<id>.sph                 the audio of each id
 * Transcript lines: the final "(utt)" must equal the last component of the id on the same line of the
 * fileids (so the two files are checked to be in step), "<s>"/"</s>" are dropped when present, runs of
 * spaces become one space, and every other character must be in the alphabet: anything else (lower case
 * included) is refused with "FILE:LINE:COLUMN".  Blank lines are skipped in both files.
 *
 * Splits: AN4_TEST = the 130 test utterances.  AN4_TRAIN_ALL = the 948 train utterances (CMU's split,
 * on which published AN4 results train).  A validation set is carved from train by speaker, so no voice
 * is in both: speakers are numbered 0, 1, 2, ... in order of first appearance in an4_train.fileids and
 * those with number % AN4_VALID_EVERY == AN4_VALID_EVERY - 1 (9, 19, ..., 69: 7 of the 74) form
 * AN4_VALID; AN4_TRAIN is the rest.  Within a split, utterances keep the fileids order.
 *
 * Bounds (refused with TP_ERANGE naming the file): AN4_MAX_UTTS lines, AN4_MAX_LINE bytes a line,
 * AN4_MAX_SAMPLES samples an utterance (60 s), and the features and kept audio of a split within half
 * the machine's memory.
 */
#ifndef TP_AN4_H
#define TP_AN4_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/features.h"
#include "engine/rng.h"

#define AN4_N_CLASSES 29
#define AN4_BLANK 0
#define AN4_SPACE 1
#define AN4_APOSTROPHE 2
#define AN4_VALID_EVERY 10
#define AN4_MAX_UTTS 100000
#define AN4_MAX_LINE 4096
#define AN4_MAX_SAMPLES (16000 * 60)

typedef enum { AN4_TRAIN = 0, AN4_VALID = 1, AN4_TEST = 2, AN4_TRAIN_ALL = 3 } An4Split;

/* "train", "valid", "test", "train-all" -> *split; anything else TP_EINVAL listing them. */
TpStatus an4_split_parse(An4Split *split, const char *name);
const char *an4_split_name(An4Split split);

/* Class of character ch (' ', '\'', 'A'..'Z'), or -1. */
int an4_char_class(int ch);
/* Character of class c 1..28; '_' for the blank, '?' out of range. */
char an4_class_char(int c);

/* Labels of a normalised text (only the alphabet's characters); *L its length, at most cap.  A character
 * outside the alphabet -> TP_EFORMAT "column N: character 'x' ...", too long -> TP_ERANGE. */
TpStatus an4_text_to_labels(int *labels, int *L, const char *text, int cap);
/* The text of labels[L] into buf (cap bytes, NUL-terminated; TP_ERANGE when it does not fit, TP_EINVAL
 * for a class outside 1..28). */
TpStatus an4_labels_to_text(char *buf, size_t cap, const int *labels, int L);

typedef struct An4 An4;

/* Load split 'split' of the AN4 directory 'dir' with features of 'cfg' (copied; its sample_rate must
 * be every file's rate).  When cfg->aug is enabled the audio is kept too, for an4_utt_augmented.
 * Errors name the file (and line) at fault; nothing is returned on failure (*ds = NULL). */
TpStatus an4_open(const char *dir, An4Split split, const FeatCfg *cfg, An4 **ds);
void an4_close(An4 *ds);

int an4_count(const An4 *ds);               /* utterances */
int an4_dim(const An4 *ds);                 /* F */
An4Split an4_split(const An4 *ds);
size_t an4_total_frames(const An4 *ds);     /* sum of T */
int an4_max_frames(const An4 *ds);          /* largest T */
double an4_seconds(const An4 *ds);          /* audio duration of the split */

/* Utterance i (0 <= i < count): features [T][F] (normalised as the config says), labels [L] (classes
 * 1..28), its id ("an251-fash-b") and transcript ("YES").  Pointers into the dataset, valid until
 * an4_close.  Out-of-range i -> TP_ERANGE.  Any out-pointer may be NULL. */
TpStatus an4_utt(const An4 *ds, int i, const float **feat, int *T, const int **labels, int *L, const char **id);
const char *an4_text(const An4 *ds, int i);   /* NULL when out of range */
const char *an4_speaker(const An4 *ds, int i);  /* "fash"; NULL when out of range */

/* Utterance i's features recomputed from its audio after the config's augmentation (features.h),
 * drawn from rng: *feat is scratch owned by ds, valid until the next call (not thread-safe).
 * TP_EINVAL when the dataset was opened without augmentation. */
TpStatus an4_utt_augmented(An4 *ds, int i, Rng *rng, const float **feat, int *T);

/* order[count]: utterance indices sorted by frames T, shortest first, ties by index (minibatches of
 * similar length waste less padding; DeepSpeech2's SortaGrad takes the first epoch in this order). */
void an4_sort_by_length(const An4 *ds, int *order);

#endif
