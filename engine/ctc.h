/* engine/ctc: the connectionist temporal classification loss [Graves, Fernández, Gomez, Schmidhuber,
 * "Connectionist temporal classification", ICML 2006], forward and backward in log space.
 *
 * Input: unnormalised logits u [T][C] (row-major, one row per output frame), labels l [L] with
 * classes 1..C-1; class 0 is the blank.  Inside: y = softmax(u) per frame (computed as a
 * log-softmax), the extended label sequence l' = (blank, l_1, blank, l_2, ..., l_L, blank) of
 * S = 2L+1 symbols, and in log space (a ⊕ b = log(e^a + e^b), evaluated as max + log1p(exp(-|a-b|)))
 *
 *   α_0(0) = log y_0(blank), α_0(1) = log y_0(l_1), α_0(s) = -inf otherwise
 *   α_t(s) = [α_{t-1}(s) ⊕ α_{t-1}(s-1) ⊕ α_{t-1}(s-2)·[l'_s ≠ blank and l'_s ≠ l'_{s-2}]] + log y_t(l'_s)
 *   β_{T-1}(S-1) = log y_{T-1}(blank), β_{T-1}(S-2) = log y_{T-1}(l_L)
 *   β_t(s)   = [β_{t+1}(s) ⊕ β_{t+1}(s+1) ⊕ β_{t+1}(s+2)·[l'_s ≠ blank and l'_{s+2} ≠ l'_s]] + log y_t(l'_s)
 *   log p(l|u) = α_{T-1}(S-1) ⊕ α_{T-1}(S-2);  loss = -log p(l|u)
 *
 * Both α and β include the emission of frame t, so α_t(s) β_t(s) / y_t(l'_s) is the probability of
 * the paths through symbol s at frame t, and
 *
 *   d loss / d u_t(k) = y_t(k) - (1/p) Σ_{s: l'_s = k} exp(α_t(s) + β_t(s) - log y_t(l'_s))
 *
 * A repeated label (l_i = l_{i+1}) needs a blank between its two frames, so a labelling is
 * feasible only when T >= L + (number of adjacent repeats).  An infeasible one is not an error: the
 * loss is +inf and the gradient is exactly zero (PyTorch's zero_infinity), so a minibatch can skip
 * it; ctc_min_frames says beforehand.  L = 0 is the all-blank path: loss = -Σ_t log y_t(blank).
 * Everything runs in double; the gradient is written as float.
 */
#ifndef TP_CTC_H
#define TP_CTC_H

#include <stdint.h>

#include "base/status.h"

#define CTC_BLANK 0

/* Frames a labelling needs: L plus one per adjacent repeat. */
int ctc_min_frames(const int32_t *labels, int L);

/* Loss (negative log-likelihood, nats) of labels [L] given logits [T][C] into *loss; when dlogits
 * != NULL, d loss / d logits [T][C] is written (=) there, scaled by `scale`.  TP_EINVAL for T < 1,
 * C < 2, L < 0 or a label outside 1..C-1; TP_ENOMEM; TP_ENAN when a logit is not finite.  An
 * infeasible labelling returns TP_OK with *loss = +inf and a zero gradient (above). */
TpStatus ctc_loss(const float *logits, int T, int C, const int32_t *labels, int L, float scale, double *loss,
                  float *dlogits);

#endif
