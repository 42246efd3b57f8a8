/* engine/infer_asr: the batch-1 inference runtime of a speech model (engine/asr, cfg.task ==
 * MODEL_TASK_ASR): one utterance's features [T][F] -> logits [T'][C], for latency per second of audio.
 *
 *   convolutions   dense, through engine/conv2d (im2col + one sgemm: a few percent of the work)
 *   per layer l    forward direction frame by frame t = 0..T'-1, backward direction t = T'-1..0, each
 *                  a step of engine/infer's layer (infer_layer_step: gates = bias + W_ih x_t +
 *                  W_hh h~_{t-1} through the chosen kernels, engine/lstm's cell, the state threshold
 *                  cfg.state_tau as the training forward applies it); y_t = h~fw_t + h~bw_t
 *   decoder        per frame, logits_t = b + W y_t through its chosen kernel
 *
 * Every matrix (both directions' w_ih and w_hh, or an H-LSTM's fc1 x/h parts and fc2 gates, and the
 * decoder) gets its kernel exactly as the language model's runtime chooses it (infer_matrix_init:
 * the measured cost model, or InferOptions.force for one layout everywhere); threaded variants share
 * one sparse_pool.  W_ih runs per frame as a matrix-vector product, not one sgemm over the
 * utterance: the kernels and their break-evens are measured for batch 1, and a frame-by-frame loop
 * is what a streaming recogniser (a unidirectional model, or a lookahead window) runs; see
 * docs/design-notes.md.
 *
 * Threads (T >= 2): the two directions of a layer are independent until their outputs are summed,
 * so they can run at once, one thread each (each direction's products whole on its thread, through
 * sparse_pool_run; no hand-off per product), or one after the other with each product split over
 * the T threads (sparse_pool, one hand-off and one wait per product: 8 per frame for two layers).
 * Which is faster depends on the machine and the model, so InferOptions.directions = -1 times both
 * on a synthetic utterance at init and keeps the faster (plan_ms says what it measured).  The
 * parallel plan is not offered when a direction's matrix is dense: two BLAS calls at once, each
 * with BLAS's own threads, oversubscribe the cores.  Both plans sum y_t = h~fw_t + h~bw_t in that
 * order, so for the same kernels the logits are bit-identical.
 *
 * Trimming (InferOptions.trim): the model is first cut to the units whose output is read, by
 * engine/infer's infer_trim over the ASR registry's axes.  Unit j of a bidirectional layer is the
 * pair (fw j, bw j) whose outputs are summed, so it goes only when neither direction's h_j is read
 * (by either direction's recurrent rows of a kept unit, the next layer, or the decoder): the axes
 * say exactly that, and the cut is exact.
 *
 * The runtime computes the same function as asr_forward (no dropout: inference); only summation
 * orders differ (tests/test_infer_asr.c: equal within 1e-4 relative for every kernel).
 */
#ifndef TP_INFER_ASR_H
#define TP_INFER_ASR_H

#include <stddef.h>

#include "conv2d.h"
#include "infer.h"
#include "model.h"
#include "base/status.h"

typedef struct {
    ModelConfig cfg;                          /* as run: trimmed hidden sizes                 */
    int nominal[MODEL_MAX_LAYERS];            /* hidden sizes before trimming                 */
    InferKernels k;
    int n_mat;
    InferMatrix mat[1 + 12 * MODEL_MAX_LAYERS];
    float *conv_w[MODEL_MAX_CONV], *conv_b[MODEL_MAX_CONV];
    Conv2dCache conv[MODEL_MAX_CONV];
    InferLayer dir[MODEL_MAX_LAYERS][2];      /* [layer][0 forward, 1 backward]              */
    InferMatrix *dec;                         /* [C, H_last]                                  */
    float *dec_b;                             /* [C]                                          */
    int T_cap;                                /* input frames the buffers below hold          */
    float *act[MODEL_MAX_CONV];               /* [T_k][K_k F_k] convolution outputs            */
    float *y[2];                              /* [T'][max H] layer outputs, alternating        */
    float *logits;                            /* [T'][C] of the last forward                   */
    int T_out;
    int parallel;                             /* the directions of a layer run at once          */
    double plan_ms[2];                        /* timed at init, ms per second of audio: [0] in
                                                 turn, [1] in parallel (0: not timed)            */
    SparsePool *dir_pool;                     /* parallel: the directions' two threads          */
    float *yb;                                /* parallel: [T'][max H] backward outputs         */
} InferAsr;

/* Build the runtime of the ASR model m (which it does not keep).  TP_EINVAL for a language model or
 * an unknown forced kernel; TP_ENOMEM. */
TpStatus infer_asr_init(InferAsr *r, const Model *m, const InferOptions *o);
void infer_asr_free(InferAsr *r);
/* Forward of one utterance feat [T][F]: *logits = [*T_out][C] (valid until the next forward).
 * TP_EINVAL when T is shorter than the front end's kernel (as asr_forward). */
TpStatus infer_asr_forward(InferAsr *r, const float *feat, int T, const float **logits, int *T_out);

/* infer_summary's line ("dense 13; hidden 128/128 128/128 (kept/nominal)") and infer_describe's table
 * (with a last line on how the directions run). */
void infer_asr_summary(const InferAsr *r, char *buf, size_t n);
void infer_asr_describe(const InferAsr *r, char *buf, size_t n);
/* Share of zero h~ entries over the forwards so far (NaN without thresholding). */
double infer_asr_state_sparsity(const InferAsr *r);

#endif
