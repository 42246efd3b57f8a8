/* engine/ctc_decode: turning CTC output into label sequences: greedy (best path) and prefix beam search.
 *
 * Owns the decoding only: the input is log-probabilities logp[T][C] (row-major, one row per output
 * frame, each row a log-softmax over the C classes including the blank), the output a label sequence
 * without blanks.  No language model, no lexicon.  Nothing here prints.
 *
 * CTC (Graves et al. 2006): an alignment is one class per frame; it reads as the label sequence obtained
 * by merging runs of the same class and then dropping blanks, so "a a _ a b b" -> "a a b" and the blank
 * is what separates two equal labels.  P(y) is the sum of the probabilities of all alignments reading y.
 *
 * Greedy: the most probable class of each frame, then merge and drop.  That is the reading of the single
 * best alignment, not the most probable y.
 *
 * Prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous speech recognition
 * using bi-directional recurrent DNNs", without the language model): after frame t every kept prefix y
 * has two probabilities, Pb (alignments of frames 0..t reading y and ending in a blank) and Pnb (ending
 * in y's last label).  Frame t+1 with p = exp(logp[t+1]):
 *     y stays y:          Pb'(y)  += (Pb(y) + Pnb(y)) p[blank],   Pnb'(y) += Pnb(y) p[last(y)]
 *     y becomes y + c:    Pnb'(y+c) += (c == last(y) ? Pb(y) : Pb(y) + Pnb(y)) p[c]      (c != blank)
 * and the 'beam' prefixes with the largest Pb' + Pnb' are kept (ties: the prefix created first).  All in
 * log space (log-sum-exp).  With a beam at least the number of distinct prefixes this is exact: it
 * returns argmax_y P(y) and log P(y), which the tests check against enumerating every alignment.
 * Memory: one trie node per prefix ever extended, at most T * beam * (C - 1) + 1, refused beyond
 * CTC_MAX_NODES.
 */
#ifndef TP_CTC_DECODE_H
#define TP_CTC_DECODE_H

#include "base/status.h"

#define CTC_MAX_NODES (1 << 24)

/* Best-path decoding: out[*L] (out holds at least T ints), labels in [0, C) other than 'blank'.
 * TP_EINVAL on T < 0, C < 2 or a blank outside [0, C). */
TpStatus ctc_greedy(int *out, int *L, const float *logp, int T, int C, int blank);

/* Prefix beam search with 'beam' >= 1 prefixes kept per frame: the most probable prefix at the end into
 * out[*L] (out holds at least T ints) and its log-probability into *score (may be NULL).  T = 0 gives
 * the empty sequence with score 0.  TP_EINVAL on bad sizes, TP_ERANGE when the trie would pass
 * CTC_MAX_NODES, TP_ENOMEM. */
TpStatus ctc_beam(int *out, int *L, float *score, const float *logp, int T, int C, int blank, int beam);

#endif
