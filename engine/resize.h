/* engine/resize: structural resize of one layer's hidden size H → H' (DESIGN 2.2 `resize layer=L
 * hidden=H`), for LSTM and H-LSTM layers alike.  Every tensor, mask, Adam moment and the carried
 * recurrent state follow; the model's arena is re-laid out (model_relayout).
 *
 * Shrink removes the H - H' units of least importance and keeps the survivors in their original
 * order.  Importance rule (ours, in the spirit of the magnitude criterion of NeST/H-LSTM pruning):
 * the L2 norm of every weight-matrix entry that touches the unit, i.e. whose row or column is the
 * unit: its 4 gate rows in w_ih and w_hh and its recurrent column of w_hh (H-LSTM: its 4 gate rows of
 * fc2 and its recurrent column of fc1), and its column of the next layer's input matrix (w_ih or
 * fc1) or of decoder.weight.  Biases are not connections and do not count; pruned entries are 0 so
 * they do not count either.  Ties keep the lower index.  A caller may pass its own scores instead
 * (higher = more important).
 *
 * Blocks: a sparse matrix whose mask is blocked under 16x1, 8x1 or 4x4 (block pruning, engine/prune;
 * mask_tensor_block_shape) stays blocked: removing or appending units moves rows and columns across
 * the block grid, so every block the move leaves partly live is completed with w = 0 entries
 * (mask_tensor_complete_blocks: the outputs are unchanged; a few more live entries).
 *
 * Grow appends H' - H units after the existing ones.  Their connections are live (mask 1) and
 * initialised by `init`:
 *   RESIZE_INIT_ZERO   every new weight and bias 0.  The outputs are unchanged, but such a unit is a
 *                      saddle: its h stays 0 and nothing reads it, so every gradient of its
 *                      connections is 0 and neither training nor gradient-based connection growth
 *                      ever wakes it.  For exact no-op edits whose weights the caller sets; prefer
 *                      FANIN or GRAD for units meant to learn.
 *   RESIZE_INIT_FANIN  fan-in (the new units' rows: w_ih/w_hh gate rows, H-LSTM fc2 rows) drawn
 *                      U(-s, s) from init.rng, fan-out (their columns in the matrices of other units)
 *                      0: outputs unchanged exactly, and the unit trains because its h is non-zero
 *                      (the fan-out gradient is δ·h).  s = init.scale, or cfg.init_scale if 0.
 *   RESIZE_INIT_GRAD   NeST neuron growth [Dai, Yin, Jha, "NeST: A Neural Network Synthesis Tool
 *                      Based on a Grow-and-Prune Paradigm", IEEE TC 2019]: a new unit bridges an
 *                      input m of the layer to a target n its output would feed, chosen where the
 *                      bridging gradient B[n,m] = Σ_t,b δ_n · ∂h_new/∂ψ_m is largest in |B|.  Unit
 *                      k (k = 0, 1, ...) takes the k-th largest pair and gets one fan-in weight ψ (on
 *                      its g-gate row, column m) and one fan-out weight ω (column of target n) with
 *                      ψ·ω ∝ -B[n,m], the descent direction of the path; all its other connections
 *                      are 0.  Magnitudes as in NeST: ψ = -sgn(B)·sqrt|B|, ω = sqrt|B|, then all ψ
 *                      (all ω) scaled together so their mean |.| is α (init.scale, 1 if 0) times the
 *                      mean |w| of the live entries of the matrices they join.
 *
 * The bridging gradient (ResizeBridge) is the exact mixed second derivative ∂²L/∂ψ∂ω at ψ = ω = 0 for
 * a new unit whose connections are all 0 (where every first derivative vanishes, see above).  At
 * zero weights the new unit has i = f = o = 1/2, g = tanh(ψ z_m), so ∂h_t/∂ψ = ζ_t with
 * ζ_t = ζ_{t-1}/2 + z_t/4 (ζ_{-1} = 0) — a leaky sum of the inputs, since the cell remembers.  The
 * g-gate input z is [x_t; h_{t-1}] for an LSTM layer and u_g (the g-gate DNN's hidden activations)
 * for an H-LSTM layer.  Targets n: the layer's own gate pre-activations at t+1 (LSTM: a, through a
 * w_hh column; H-LSTM: the fc1 pre-activations, through an fc1 column), then the next layer's (w_ih
 * or fc1 x-column) or the logits (decoder.weight column).  δ is read from the model's caches after
 * a training forward and backward, so a bridge accumulates over any number of minibatches without
 * extra passes.  Dropout on the new unit's output is taken at its mean (factor 1).
 */
#ifndef TP_RESIZE_H
#define TP_RESIZE_H

#include "model.h"
#include "optim.h"
#include "rng.h"
#include "base/status.h"

typedef enum { RESIZE_INIT_ZERO = 0, RESIZE_INIT_FANIN = 1, RESIZE_INIT_GRAD = 2 } ResizeInitKind;

/* Bridging gradients of one layer, accumulated over minibatches. */
typedef struct {
    int layer;
    int H, n_in;       /* layer size when collected; fan-in candidates (I + H, or M)      */
    int n_rec, n_next; /* fan-out candidates: own gates (4H or 4M), next layer or logits   */
    float *g;          /* [n_rec + n_next, n_in]  B[n, m]                                   */
    float *zeta;       /* [T*B, n_in] scratch                                               */
    int T, B;          /* scratch capacity                                                  */
    long n_batches;
} ResizeBridge;

typedef struct {
    ResizeInitKind kind;
    float scale;                /* FANIN: s (0 = cfg.init_scale); GRAD: α (0 = 1)   */
    Rng *rng;                   /* FANIN                                            */
    const ResizeBridge *bridge; /* GRAD: collected on this layer at its current size */
} ResizeInit;

/* scores [H]: the importance rule above for the units of `layer`. */
TpStatus resize_unit_scores(const Model *m, int layer, float *scores);

/* Resize `layer` to new_hidden units (1..65536).  o (may be NULL): its Adam moments follow the
 * weights (removed with their entries, new entries 0) and o->n = m->n_params.  s (may be NULL): the
 * carried state [B, H] of the layer keeps the survivors' columns, new units start at 0.
 * unit_scores (may be NULL, [H]): importance for a shrink instead of the rule.  init: for a grow.
 * All or nothing: on failure nothing changed. */
TpStatus resize_layer(Model *m, Optim *o, ModelState *s, int layer, int new_hidden, ResizeInit init,
                      const float *unit_scores);

/* A bridge for `layer` of m at its current sizes, for windows of up to T steps of batch B. */
TpStatus resize_bridge_init(ResizeBridge *b, const Model *m, int layer, int T, int B);
/* Accumulate one minibatch: call after model_forward(train = 1) and model_backward of Tw steps. */
TpStatus resize_bridge_add(ResizeBridge *b, Model *m, int Tw, int B);
void resize_bridge_free(ResizeBridge *b);

#endif
