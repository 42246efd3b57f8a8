/* engine/birnn: a bidirectional recurrent layer (LSTM or H-LSTM cells) over B sequences of the same
 * length T [Schuster, Paliwal, "Bidirectional recurrent neural networks", 1997].
 *
 * The forward direction is the cell's own layer (lstm_forward / hlstm_forward) over x_0..x_{T-1};
 * the backward direction is the same code, with its own weights, over the time-reversed sequence
 * x_{T-1}..x_0: there is no second copy of the window loop (engine/lstm's lstm_window_forward /
 * backward serve both).  The two outputs are SUMMED, as DeepSpeech2 does (Amodei et al. 2016, §3.2):
 *
 *   y_t = h^fw_t + h^bw_{T-1-t}          (h^bw_s: the backward direction's output at its step s)
 *
 * so the layer is H wide (not 2H), the next layer's input and a unit's identity are the same as in
 * a one-directional stack, and unit j of the layer is the pair (fw unit j, bw unit j): structural
 * resizing removes or adds both.  Both directions start from a zero state at every call (a whole
 * utterance is one window: nothing is carried).  The hidden-state threshold (tau, lstm.h) applies
 * to each direction's h before the sum.  Activations are time-major (row t*B + b) as in lstm.h.
 */
#ifndef TP_BIRNN_H
#define TP_BIRNN_H

#include "hlstm.h"
#include "lstm.h"
#include "rng.h"
#include "base/status.h"

enum { BIRNN_FW = 0, BIRNN_BW = 1 };

/* Pointers into the model's flat parameter (or gradient) array, one set per direction; `hlstm`
 * chooses which of the two is used. */
typedef struct {
    int hlstm;
    LstmWeights l[2];
    HlstmWeights h[2];
} BirnnWeights;

typedef struct {
    int hlstm, I, H, M;  /* M: gate hidden width (H-LSTM only)       */
    int T, B;            /* capacity                                  */
    float tau;           /* hidden-state threshold, 0 = off           */
    long n_zero;         /* zero entries of h~ in the last forward (both directions) */
    LstmCache lc[2];     /* LSTM cells: the directions' memories      */
    HlstmCache hc[2];    /* H-LSTM cells                              */
    float *xr;           /* [T*B, I] the reversed input               */
    float *dr;           /* [T*B, max(I, H)] backward scratch         */
    float *dh;           /* [T*B, H] backward scratch                 */
    int *len;            /* [B] the last forward's sequence lengths   */
} BirnnCache;

TpStatus birnn_cache_init(BirnnCache *c, int hlstm, int I, int H, int M, int T, int B);
void birnn_cache_free(BirnnCache *c);
/* One direction's LSTM memory (outputs: lstm_cache_out(..., B), in that direction's time order). */
LstmCache *birnn_dir_cache(BirnnCache *c, int dir);

/* Forward over x [T*B, I] into y [T*B, H] (=).  T, B within the capacity.  p_drop > 0 with rng: the
 * H-LSTM's gate dropout (forward direction first, then backward). */
void birnn_forward(BirnnCache *c, const BirnnWeights *w, const float *x, int T, int B, float *y, float p_drop,
                   Rng *rng);
/* Backward of the last forward: dy [T*B, H] (read only); gradients accumulate into dw; dx [T*B, I]
 * written (=) when not NULL. */
void birnn_backward(BirnnCache *c, BirnnWeights *dw, float *dx, const BirnnWeights *w, const float *x,
                    const float *dy, int T, int B);

/* The same over B sequences of lengths len[b] <= T, padded to T (a minibatch of utterances): the
 * backward direction of sequence b starts at its own last frame len[b] - 1 (it reads x_{len-1}..x_0,
 * then the padding), so
 *
 *   y_t,b = h^fw_t,b + h^bw_{len_b-1-t},b   (t < len_b),   y_t,b = 0 (t >= len_b)
 *
 * and each sequence's outputs equal those of a call with B = 1 on it alone (the forward direction
 * runs past its end into the padding, whose outputs nothing reads).  n_zero counts the valid
 * positions only.  The backward reads dy only at valid positions and writes dx = 0 at the padding,
 * so the padding contributes nothing to any gradient.  len == NULL: every sequence has length T
 * (birnn_forward / birnn_backward).  The lengths are copied; the backward uses the forward's. */
void birnn_forward_len(BirnnCache *c, const BirnnWeights *w, const float *x, int T, int B, const int *len, float *y,
                       float p_drop, Rng *rng);
void birnn_backward_len(BirnnCache *c, BirnnWeights *dw, float *dx, const BirnnWeights *w, const float *x,
                        const float *dy, int T, int B);

#endif
