/* engine/asr: the speech recogniser, DeepSpeech2's shape at a size that trains on two cores
 * [Amodei et al., "Deep Speech 2", 2016]:
 *
 *   features [T][F] -> 1 or 2 strided 2-D convolutions with clipped ReLU (engine/conv2d)
 *                   -> frames [T'][K F'] -> N bidirectional LSTM or H-LSTM layers, directions summed
 *                      (engine/birnn) -> linear to C classes -> logits [T'][C] -> CTC (engine/ctc)
 *
 * The parameters are an ordinary Model (model.h) with cfg.task = MODEL_TASK_ASR: one flat array
 * with gradients and masks, a registry of named tensors with axes (engine/model_asr.c lists the
 * names), so prune, grow, resize (zero and fan-in initialisation), the schedules, state
 * thresholding (cfg.state_tau, each direction's h before the sum) and the masks work on it as on
 * the LM.  What the LM keeps inside Model (activations, forward, loss) is here: an AsrNet holds the
 * activations of one utterance and runs forward and backward on the model it borrows.
 *
 * One utterance at a time (batch 1 inside the layers): a minibatch is a loop over its utterances
 * with the gradients accumulated, so utterances of different lengths need no padding, no masking
 * and no reversal of padded sequences, and the result does not depend on how they are grouped.
 * Dropout (cfg.dropout, training only): inside the H-LSTM's gates (hlstm.h) for an H-LSTM; on each
 * LSTM layer's output (the next layer's or the decoder's input, Zaremba's non-recurrent connections)
 * for an LSTM, inverted (kept entries scaled by 1/(1-p)), drawn from the caller's rng layer by layer.
 *
 * Frames: T' = the convolutions' output frames (conv2d_out_frames through the stack, asr_out_frames);
 * an utterance shorter than the front end's kernel is an error (TP_EINVAL); one with fewer frames
 * T' than its labels need (ctc_min_frames) has an infinite loss and is skipped by training (counted).
 */
#ifndef TP_ASR_H
#define TP_ASR_H

#include <stddef.h>
#include <stdint.h>

#include "birnn.h"
#include "conv2d.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "base/status.h"

/* A sensible small configuration: n_feat features, n_classes classes, n_layers bidirectional LSTM
 * layers of `hidden` units, one convolution of 8 filters, kernel 11 x 11 (time x frequency), strides
 * 2 x 2, padding 5 x 5 (DeepSpeech2's first layer, narrower); n_embed set to match. */
ModelConfig asr_config_default(int n_feat, int n_classes, int n_layers, int hidden);
/* Output frames for an utterance of T input frames (0 when it is shorter than the kernels). */
int asr_out_frames(const ModelConfig *cfg, int T);

/* The PyTorch name and shape of registry tensor t of an ASR model, for exports: the state_dict of
 *   conv    = nn.ModuleList of nn.Conv2d(C, K, (kt, kf), (st, sf), (pt, pf))  input (N, C, T, F)
 *   rnn     = nn.ModuleList of nn.LSTM(I, H, bidirectional=True), one per layer (the directions are
 *             summed between layers, which a single multi-layer nn.LSTM cannot do)
 *   decoder = nn.Linear(H_last, C)
 * i.e. conv{c}.weight -> conv.{c}.weight [K, C, kt, kf] (ndim 4), l{l}.fw.w_ih -> rnn.{l}.weight_ih_l0,
 * l{l}.bw.w_hh -> rnn.{l}.weight_hh_l0_reverse, b_ih / b_hh -> bias_ih / bias_hh, decoder.* as is.
 * H-LSTM layers have no PyTorch module: their tensors keep the registry name under "hlstm."
 * (hlstm.l{l}.fw.fc1.weight ...; the four gates' DNNs stacked as in hlstm.h).  ndim 1 for biases.
 * TP_EINVAL for an LM or an index out of range. */
TpStatus asr_torch_name(const Model *m, int t, char *name, size_t n, int *ndim, int dims[4]);

/* Views of the registry (engine/model_asr.c's order), for the forward here and the runtime
 * (engine/infer_asr): convolution k's shape; layer l's weights of both directions as pointers into
 * base (m->w, or m->g for gradients); the registry index of decoder.weight (decoder.bias follows). */
Conv2dShape asr_conv_shape(const ModelConfig *cfg, int k);
void asr_layer_views(const Model *m, float *base, int l, BirnnWeights *w);
int asr_decoder_tensor(const Model *m);

typedef struct {
    Model *m;                          /* borrowed; cfg.task == MODEL_TASK_ASR              */
    int hidden[MODEL_MAX_LAYERS];      /* the layer sizes the buffers were built for         */
    int T_cap;                         /* input frames the buffers hold                      */
    Conv2dCache conv[MODEL_MAX_CONV];
    float *act[MODEL_MAX_CONV];        /* [T_k+1][K_k F_k] output of convolution k           */
    BirnnCache rnn[MODEL_MAX_LAYERS];
    float *y[MODEL_MAX_LAYERS];        /* [T'][H_l] output of layer l (after dropout)          */
    float *ymask[MODEL_MAX_LAYERS];    /* [T'][H_l] its dropout factors: 0 or 1/(1-p)          */
    int dropped;                       /* the last forward applied the output dropout         */
    float *logits;                     /* [T'][C] of the last forward                         */
    float *dlogits;                    /* [T'][C]                                             */
    float *s0, *s1;                    /* backward scratch                                    */
    int T_in, T_out;                   /* frames of the last forward: input, output            */
    double state_zero, state_n;        /* zero h~ entries / entries over training forwards      */
    /* asr_batch: B utterances as one padded, time-major batch (row t*B + b) through the layers */
    int B_cap, To_cap;                 /* utterances and output frames the batch buffers hold  */
    BirnnCache brnn[MODEL_MAX_LAYERS];
    float *bx;                         /* [To][B][I_0] the convolutions' outputs, 0 past each end */
    float *by[MODEL_MAX_LAYERS];       /* [To][B][H_l] layer outputs (after dropout)           */
    float *bymask[MODEL_MAX_LAYERS];   /* [To][B][H_l] their dropout factors                   */
    float *blogits, *bdlogits;         /* [To][B][C]                                           */
    float *bs0, *bs1;                  /* [To][B][max width] backward scratch                 */
    int *blen;                         /* [B] output frames of each utterance                 */
} AsrNet;

TpStatus asr_net_init(AsrNet *n, Model *m);
void asr_net_free(AsrNet *n);

/* Forward of one utterance feat [T][F] (F = cfg.n_feat); logits in n->logits [n->T_out][C].
 * train != 0 with rng: dropout (H-LSTM gates, or LSTM layer outputs); train != 0: state sparsity counted.  (Re)builds the buffers when
 * the utterance is longer than any before or the model was resized. */
TpStatus asr_forward(AsrNet *n, const float *feat, int T, int train, Rng *rng);
/* Backward of the last forward from dlogits [T_out][C]: gradients accumulate (+=) into m->g. */
void asr_backward(AsrNet *n, const float *dlogits);
/* Forward, CTC loss of labels [L] (classes 1..C-1) into *loss; train != 0 also runs the backward
 * with the loss gradient scaled by `scale` (skipped when the loss is infinite: infeasible). */
TpStatus asr_utterance(AsrNet *n, const float *feat, int T, const int32_t *labels, int L, int train, float scale,
                       Rng *rng, double *loss);
/* The forward, CTC loss and (train != 0) backward of B utterances feat[b] [T[b]][F] at once, each
 * loss into loss[b] and its gradient scaled by `scale` accumulated into m->g.  The convolutions run
 * per utterance (they are a few percent of the work; the backward recomputes each utterance's before
 * its own backward); the layers and the decoder run once over the padded batch [max T'][B], so every
 * recurrent product is a matrix-matrix product over B rows instead of B matrix-vector products.
 * Each utterance's loss and gradient equal asr_utterance's on it alone up to summation order
 * (birnn_forward_len: the padding contributes nothing); dropout draws differ (one mask over the
 * padded batch).  An utterance whose loss is infinite (infeasible) contributes no gradient.
 * TP_EINVAL when an utterance is shorter than the front end's kernel; TP_ENOMEM. */
TpStatus asr_batch(AsrNet *n, const float *const *feat, const int *T, const int32_t *const *labels, const int *L,
                   int B, int train, float scale, Rng *rng, double *loss);
/* Evaluation: log-probabilities (log-softmax of the logits) [T'][C] into logp, which holds at least
 * asr_out_frames(cfg, T) * C floats; *T_out gets T'.  What the decoders of engine/ctc_decode read. */
TpStatus asr_log_probs(AsrNet *n, const float *feat, int T, float *logp, int *T_out);

/* ---- training (engine/asr_train.c) ---- */

typedef struct {
    const float *feat;       /* [T][F] normalised features */
    int T;
    const int32_t *labels;   /* [L] classes 1..C-1          */
    int L;
} AsrUtterance;

typedef struct {
    OptimKind optim;
    float lr;
    float clip;              /* global gradient-norm limit, 0 = off */
    uint64_t seed;           /* the dropout stream                   */
    int padded;              /* 1: a minibatch's utterances as one padded batch (asr_batch); 0: one
                                at a time (asr_utterance; sessions made before the padded batch)  */
} AsrTrainConfig;

typedef struct {
    AsrTrainConfig cfg;
    Model *model;            /* borrowed */
    AsrNet net;
    Optim opt;               /* resize_layer(model, &opt, NULL, ...) keeps it in step */
    Rng rng;
    long step;
} AsrTrainer;

typedef struct {
    double loss;             /* mean CTC loss per scored utterance (nats)    */
    double loss_per_frame;   /* summed loss / summed output frames, scored    */
    int n_scored, n_skipped; /* skipped: fewer frames than the kernels or the
                                labels need (ctc_min_frames), never run       */
    double grad_norm;        /* before clipping                               */
    double seconds;
} AsrStepInfo;

typedef struct {
    int n_scored, n_skipped;
    double loss;             /* mean CTC loss per scored utterance */
    double loss_per_frame;
    double seconds;
} AsrEvalResult;

TpStatus asr_train_init(AsrTrainer *t, Model *m, const AsrTrainConfig *cfg);
void asr_train_free(AsrTrainer *t);
/* One minibatch of n utterances: forward, CTC, backward for each (the gradient of the MEAN loss over
 * the scored utterances), global-norm clip, masked optimizer step.  No scored utterance: nothing
 * changes (info says so).  A non-finite gradient returns TP_ENAN with the weights and the dropout
 * stream unchanged. */
TpStatus asr_train_step(AsrTrainer *t, const AsrUtterance *batch, int n, AsrStepInfo *info);
/* Mean CTC loss over n utterances (no dropout, no gradients). */
TpStatus asr_evaluate(AsrNet *net, const AsrUtterance *u, int n, AsrEvalResult *r);

#endif
