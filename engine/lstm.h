/* engine/lstm: one LSTM layer over a window of T steps, forward with cached activations and full BPTT
 * backward (PyTorch convention, gate order i, f, g, o):
 *
 *   a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          a = [a_i; a_f; a_g; a_o]   (G = 4H rows)
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g                          h_t = o ⊙ tanh(c_t)
 *
 * Dimension letters: T steps, B batch, I input, H hidden, G = 4H.  Activations are time-major: row
 * t*B + b.  The whole window's input projection is one GEMM; the recurrence is one GEMM per step; the
 * elementwise gate maths is fused into one pass per step (the window loop and the cell update are
 * exported below so engine/hlstm reuses them).  Gradients accumulate (+=) into the
 * gradient struct; activation gradients are written (=).  The gradient w.r.t. the initial state is not
 * propagated (truncated BPTT: the state carried across windows is detached).
 *
 * Hidden-state thresholding [Ardakani, Ji, Gross, "Learning to skip ineffectual recurrent
 * computations in LSTMs", DATE 2019; DESIGN 3.4]: with cache->tau > 0 every h_t is replaced, right
 * after the cell computes it, by h~_t = h_t 1(|h_t| > tau), in place in cache->h; so h~ is what the
 * recurrence (W_hh h~_{t-1}), the next layer and the carried state see, and what the weight
 * gradients multiply.  The backward is straight-through: it passes dLoss/dh~_t unchanged as
 * dLoss/dh_t (the threshold counts as the identity).  Precisely, the gradient it returns is the
 * exact gradient, at the current weights, of the network in which each h_t is followed by the
 * addition of a constant offset d_t, frozen at d_t = h~_t - h_t of this forward (tests/test_infer.c
 * checks that statement by finite differences).  Which entries were zeroed is counted (n_zero) for
 * the state sparsity of the metrics.
 */
#ifndef TP_LSTM_H
#define TP_LSTM_H

#include <stddef.h>

#include "base/status.h"

/* Pointers into the model's flat parameter (or gradient) array. */
typedef struct {
    int I, H;
    float *w_ih; /* [G, I] */
    float *w_hh; /* [G, H] */
    float *b_ih; /* [G]    */
    float *b_hh; /* [G]    */
} LstmWeights;

/* Activation cache of one layer, sized for at most T steps of batch B. */
typedef struct {
    int I, H, T, B;  /* capacity                                              */
    float *gates;    /* [T*B, G]     gate activations i, f, g, o (after σ/tanh) */
    float *h;        /* [(T+1)*B, H] block 0 = initial state h_0, then h_1..h_T  */
    float *c;        /* [(T+1)*B, H] block 0 = initial state c_0, then c_1..c_T  */
    float *tc;       /* [T*B, H]     tanh(c_t)                                   */
    float *dgates;   /* [T*B, G]     backward scratch                            */
    float *dc_next;  /* [B, H]       backward scratch                            */
    float *bias;     /* [G]          b_ih + b_hh (forward), bias gradient (backward) */
    float tau;       /* hidden-state threshold (above); 0 = off                   */
    long n_zero;     /* entries of h~ that are 0 in the last forward (tau > 0)    */
} LstmCache;

TpStatus lstm_cache_init(LstmCache *c, int I, int H, int T, int B);
void lstm_cache_free(LstmCache *c);

/* Forward over Tw <= T steps of batch B <= capacity.  x: [Tw*B, I].  Initial state: the caller
 * writes h_0, c_0 into the first B rows of cache->h / cache->c (lstm_cache_h0/c0).  Outputs h_1..h_Tw
 * are rows B .. (Tw+1)*B of cache->h (lstm_cache_out). */
void lstm_forward(LstmCache *c, const LstmWeights *w, const float *x, int Tw, int B);

/* Backward of the last forward.  dh_out [Tw*B, H]: dLoss/dh_t from above (overwritten).
 * Accumulates dW into dw; writes dx [Tw*B, I] when dx != NULL. */
void lstm_backward(LstmCache *c, LstmWeights *dw, float *dx, const LstmWeights *w, const float *x,
                   float *dh_out, int Tw, int B);

/* ---- The LSTM memory, shared by every cell built on it (engine/hlstm) ----
 * A cell differs from the LSTM only in how it computes the gate pre-activations a_t [B, G] from
 * x_t and h_{t-1}; the activations, the c/h update, the state carried in the cache (h_0, c_0 in
 * block 0), the window loop and truncated BPTT are this one piece of code.  A cell provides:
 *   pre(ctx, a, h_prev, t, B):      complete a (= cache->gates rows of step t) from h_{t-1}; the
 *                                   cell may have pre-filled the whole window's rows (input part).
 *   back(ctx, dh_prev, dA, t, B):   given dA = dLoss/da_t, add dLoss/dh_{t-1} into dh_prev (NULL at
 *                                   t = 0: the carried state is detached) and keep what its weight
 *                                   gradients need.  Called for t = Tw-1 down to 0. */
typedef void (*LstmPreFn)(void *ctx, float *a, const float *h_prev, int t, int B);
typedef void (*LstmBackFn)(void *ctx, float *dh_prev, const float *dA, int t, int B);

void lstm_window_forward(LstmCache *c, LstmPreFn pre, void *ctx, int Tw, int B);
/* Leaves dLoss/da_t in c->dgates (all Tw steps) for the cell's weight gradients. */
void lstm_window_backward(LstmCache *c, LstmBackFn back, void *ctx, float *dh_out, int Tw, int B);

/* One step's elementwise part for B rows: a [B, G] (pre-activations) becomes the activations
 * i, f, g, o; c_out = f c_prev + i g, tc_out = tanh(c_out), h_out = o tc_out. */
void lstm_cell_forward(float *a, float *c_out, float *h_out, float *tc_out, const float *c_prev, int B, int H);
/* Its backward: from dh (dLoss/dh_t) and dc_next (dLoss/dc_t from step t+1) to dA [B, G]
 * (dLoss/da_t); dc_next becomes dLoss/dc_{t-1}. */
void lstm_cell_backward(float *dA, float *dc_next, const float *dh, const float *gates, const float *tc,
                        const float *c_prev, int B, int H);
/* h~ = h 1(|h| > tau) in place over n values; returns how many of them are 0 afterwards. */
long lstm_state_threshold(float *h, size_t n, float tau);
/* db[k] += sum over N rows of D[r, k] (bias gradients); D is [N, ld], k < n. */
void lstm_colsum_add(float *db, const float *D, size_t N, int n, int ld);

static inline float *lstm_cache_out(const LstmCache *c, int B) { return c->h + (size_t)B * c->H; }

#endif
