/* engine/devtrain: the whole training step of the LSTM language model through a table of operations
 * (engine/backend_ops.h), with everything resident in that backend's memory for the whole run: the
 * weights, gradients, masks, Adam moments, activations and the carried state.  Per step only the
 * token window goes in and the loss and gradient norm come out; devtrain_pull copies the model and
 * the optimizer back in one go (for a save, an evaluation, a prune), devtrain_push the other way.
 *
 * It is engine/model's forward and backward and engine/train's clip and masked update, op for op
 * (the same GEMMs, the same fused cell, the same bias and embedding sums), so on the CPU table its
 * losses agree with engine/train's to float rounding (tests/test_devtrain.c states the tolerance)
 * and on CUDA to the difference of the device's exp/tanh and summation order (tests/cuda).
 *
 * Differences, by design: dropout draws from the counter-based stream of backend_ops.h keyed by
 * (seed, step), not from the trainer's Rng, so a device run is reproducible across a resume but its
 * masks are not the CPU trainer's; the embedding gradient is a scatter-add whose order (CUDA: atomics)
 * is not fixed.  LSTM cells only: an H-LSTM model is refused (TP_ENOTAVAIL).
 */
#ifndef TP_DEVTRAIN_H
#define TP_DEVTRAIN_H

#include <stdint.h>

#include "backend_ops.h"
#include "model.h"
#include "optim.h"

typedef struct {
    float *gates, *h, *c, *tc, *dgates, *dc_next, *bias; /* engine/lstm's LstmCache, in backend memory */
    float *sh, *sc;                                      /* the carried state [B, H]                   */
} DevtrainLayer;

typedef struct Devtrain {
    const BackendOps *ops;
    ModelConfig cfg;
    int T, B, n_tensors;
    size_t n_params, off[MODEL_MAX_TENSORS];
    float *w, *g, *m, *v;        /* [n_params]; m, v only for Adam */
    uint8_t *mask;
    DevtrainLayer L[MODEL_MAX_LAYERS];
    float *xin[MODEL_MAX_LAYERS + 1], *dmask[MODEL_MAX_LAYERS + 1];
    float *emb, *logits, *dtop, *dx;
    int32_t *x, *y;
    OptimKind kind;
    float b1, b2, eps;
    long t;                      /* Adam steps */
    uint64_t seed;
    double state_zero, state_n;  /* h~ zeros / entries since the last devtrain_state_sparsity reset */
} Devtrain;

/* Allocate everything in ops' memory for windows of up to T steps of batch B and upload the model
 * (weights, masks) and the optimizer's moments. */
TpStatus devtrain_init(Devtrain *d, const BackendOps *ops, const Model *m, const Optim *o, int T, int B,
                       uint64_t seed);
void devtrain_free(Devtrain *d);
/* Zero the carried state (the start of an epoch). */
TpStatus devtrain_state_zero(Devtrain *d);
/* One minibatch x, y [Tw*B] (time-major, host): zero the gradients, forward, backward, clip to clip
 * (0 = off), masked update at rate lr.  step keys the dropout stream.  *nll: the window's summed NLL;
 * *grad_norm: before clipping.  A non-finite loss or gradient norm returns TP_ENAN with the weights
 * and the carried state untouched. */
TpStatus devtrain_step(Devtrain *d, const int32_t *x, const int32_t *y, int Tw, float lr, float clip, long step,
                       double *nll, double *grad_norm);
/* Backend -> host: m->w, m->g, o->m, o->v, o->t.  Host -> backend: weights, masks, moments, o->t. */
TpStatus devtrain_pull(Devtrain *d, Model *m, Optim *o);
TpStatus devtrain_push(Devtrain *d, const Model *m, const Optim *o);
/* engine/lstm.c's lstm_forward through ops (the building block of the step, and what the profiler
 * times on a device): gates = x W_ih^T + b_ih + b_hh for the window, then per step the recurrent GEMM
 * and the fused cell; y's buffers as LstmCache (h_0, c_0 in block 0 of h and c), bias as scratch.
 * W_ih [4H, I], W_hh [4H, H] row-major.  tau > 0 thresholds every h_t, adding the zeros to *zeros. */
TpStatus devtrain_lstm_forward(const BackendOps *ops, DevtrainLayer *y, const float *w_ih, const float *w_hh,
                               const float *b_ih, const float *b_hh, const float *x, int I, int H, int Tw, int B,
                               float tau, long *zeros);
/* engine/train's evaluation protocol (train_evaluate) on the resident weights (devtrain_eval.c): the
 * split ids[n] as eval_batch streams, zero state carried through, windows of window_len steps (< 1:
 * 64), no dropout.  Sums the NLL, counts tokens and argmax hits.  fn (may be NULL) gets the fraction
 * done after every window; nonzero stops with TP_ECANCEL. */
typedef int (*DevtrainEvalProgress)(void *ctx, double fraction);
TpStatus devtrain_evaluate(Devtrain *d, const int32_t *ids, size_t n, int eval_batch, int window_len,
                           DevtrainEvalProgress fn, void *ctx, double *nll, long *tokens, long *hits);
/* As model_state_sparsity, over the steps run here. */
double devtrain_state_sparsity(Devtrain *d, int reset);

#endif
