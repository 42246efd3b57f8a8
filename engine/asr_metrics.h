/* engine/asr_metrics: word and character error rates of speech recognition (WER, CER).
 *
 * Owns the edit distance (Levenshtein: substitutions, insertions and deletions, each costing 1) between
 * a reference and a hypothesis, over words or characters, and the corpus totals.  Nothing here prints.
 *
 * Definitions (those of deepspeech.pytorch, whose DeepSpeech2-on-AN4 numbers are the comparison):
 *   words       the text split on runs of spaces (leading/trailing spaces ignored)
 *   characters  the bytes of the text with every space removed (AN4 text is ASCII)
 *   WER         sum over utterances of word edits / sum of reference words
 *   CER         sum over utterances of character edits / sum of reference characters
 * Totals are sums of edits over sums of lengths, not a mean of per-utterance rates, so long utterances
 * weigh more.  An empty reference adds its hypothesis' length in edits and nothing to the length; a
 * corpus of empty references has rate 0 when nothing was inserted and +infinity otherwise.
 * Texts of more than ASR_MAX_TOKENS words or characters are refused (TP_ERANGE): the distance costs
 * O(n m) time and O(m) memory.
 */
#ifndef TP_ASR_METRICS_H
#define TP_ASR_METRICS_H

#include <stddef.h>

#include "base/status.h"

#define ASR_MAX_TOKENS 100000

/* Edit distance between two int sequences. */
TpStatus asr_edit_distance(long *dist, const int *ref, int n_ref, const int *hyp, int n_hyp);

/* Word edits between ref and hyp, and the number of reference words. */
TpStatus asr_word_errors(long *edits, long *ref_words, const char *ref, const char *hyp);
/* Character edits (spaces removed) and the number of reference characters. */
TpStatus asr_char_errors(long *edits, long *ref_chars, const char *ref, const char *hyp);

typedef struct {
    long utts;
    long word_edits, words;
    long char_edits, chars;
    long exact;              /* utterances decoded without any word error */
} AsrTotals;

void asr_totals_init(AsrTotals *t);
/* Add one utterance's reference and hypothesis. */
TpStatus asr_totals_add(AsrTotals *t, const char *ref, const char *hyp);
double asr_wer(const AsrTotals *t);   /* a fraction: 0.1 = 10 % */
double asr_cer(const AsrTotals *t);

#endif
