/* engine/hlstm: one H-LSTM layer over a window of T steps, forward with cached activations and full
 * BPTT backward.  H-LSTM [Dai, Yin, Jha, "Grow and Prune Compact, Fast, and Accurate LSTMs", 2018]:
 * every control gate is a small DNN with one hidden layer of width M over z_t = [x_t; h_{t-1}]:
 *
 *   u_q = ReLU(W1_q z_t + b1_q)  (then dropout)        q in {i, f, g, o}, u_q in R^M
 *   a_q = W2_q u_q + b2_q                              a = [a_i; a_f; a_g; a_o]  (G = 4H rows)
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g                          h_t = o ⊙ tanh(c_t)
 *
 * Everything from a onwards (activations, c/h update, state carry, window loop, truncated BPTT) is
 * the LSTM's own code (lstm_window_forward/backward in engine/lstm): this file adds only the gate DNNs.
 *
 * Layout (letters: T steps, B batch, I input, H hidden, M gate hidden, Q = 4M, Z = I + H, G = 4H):
 * the four gates are stacked in gate order i, f, g, o, so the export's per-gate tensors
 * hlstm.l{k}.{q}.fc1.weight [M, Z] etc. (DESIGN 2.4) are row blocks of these:
 *   w1 [Q, Z]  fc1 weights; columns 0..I-1 act on x_t, columns I..Z-1 on h_{t-1}
 *   b1 [Q]     fc1 biases
 *   w2 [G, M]  fc2 weights; rows q*H .. q*H+H-1 are W2_q
 *   b2 [G]     fc2 biases
 * Stacking makes the x-part of all four fc1 layers for the whole window one GEMM ([T*B, I] x [I, Q])
 * and the h-part one GEMM per step; fc2 is four [B, M] x [M, H] GEMMs per step (one block-diagonal
 * GEMM would do 4x the flops on zeros).
 *
 * Dropout inside the gate DNN (DESIGN 3.1) acts on u, inverted (kept values scaled by 1/(1-p)),
 * drawn per step from the caller's rng in a fixed order (steps, rows, then Q units) so a seed
 * reproduces it.  No mask is stored: u > 0 exactly when the unit was both active and kept, so the
 * backward recovers dReLU·mask as (u > 0) / (1-p).
 *
 * Gradients accumulate (+=) into the gradient struct; dx is written (=).
 */
#ifndef TP_HLSTM_H
#define TP_HLSTM_H

#include <stddef.h>

#include "lstm.h"
#include "rng.h"
#include "base/status.h"

/* Pointers into the model's flat parameter (or gradient) array. */
typedef struct {
    int I, H, M;
    float *w1; /* [Q, I+H] */
    float *b1; /* [Q]      */
    float *w2; /* [G, M]   */
    float *b2; /* [G]      */
} HlstmWeights;

/* Activation cache of one layer, sized for at most T steps of batch B. */
typedef struct {
    LstmCache cell; /* gates, h (h_0 in block 0), c, tc, dgates, dc_next: the shared LSTM memory */
    int M;
    float keep;     /* 1/(1-p) of the last forward's dropout (1 without)                     */
    float *u;       /* [T*B, Q] gate hidden activations after ReLU and dropout (fc2 inputs)  */
    float *du;      /* [T*B, Q] backward: dLoss/d(fc1 pre-activations)                        */
} HlstmCache;

TpStatus hlstm_cache_init(HlstmCache *c, int I, int H, int M, int T, int B);
void hlstm_cache_free(HlstmCache *c);

/* Forward over Tw <= T steps of batch B <= capacity.  x: [Tw*B, I].  The caller writes h_0, c_0 into
 * the first B rows of cache->cell.h / .c; outputs are lstm_cache_out(&cache->cell, B).  p_drop > 0
 * with rng != NULL applies dropout to u (training); otherwise none (evaluation). */
void hlstm_forward(HlstmCache *c, const HlstmWeights *w, const float *x, int Tw, int B, float p_drop, Rng *rng);

/* Backward of the last forward.  dh_out [Tw*B, H]: dLoss/dh_t from above (overwritten).
 * Accumulates dW into dw; writes dx [Tw*B, I] when dx != NULL. */
void hlstm_backward(HlstmCache *c, HlstmWeights *dw, float *dx, const HlstmWeights *w, const float *x,
                    float *dh_out, int Tw, int B);

#endif
