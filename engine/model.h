/* engine/model: the language model  embedding → stacked LSTM or H-LSTM layers → dropout → decoder →
 * softmax cross-entropy, and its named parameter registry.
 *
 * All parameters live in one flat array `w`, with parallel arrays for the gradients `g` and the
 * masks `mask` (1 = live, 0 = pruned); every tensor in the registry has a mask, so growth and pruning
 * only add policy.  Names follow DESIGN 2.2: embed.weight, l{k}.w_ih, l{k}.w_hh, l{k}.b_ih,
 * l{k}.b_hh, decoder.weight, decoder.bias; an H-LSTM layer (cfg.cell = MODEL_CELL_HLSTM, all layers)
 * has instead l{k}.fc1.weight [4M, I+H], l{k}.fc1.bias [4M], l{k}.fc2.weight [4H, M], l{k}.fc2.bias
 * [4H]: the four gates' DNNs stacked in gate order i, f, g, o (engine/hlstm.h; the export's
 * per-gate tensors are their row blocks).  Every layer has exactly 4 tensors, at registry index
 * 1 + 4k.  Dropout is Zaremba's: on the non-recurrent connections only (embedding → layer 0,
 * between layers, last layer → decoder), inverted scaling; an H-LSTM also drops inside its gate DNNs
 * (DESIGN 3.1) with the same rate.  With cfg.tie the registry has no decoder.weight: the decoder
 * multiplies by embed.weight [V, E = H_last] (one matrix, one mask, counted once), and decoder.bias
 * follows the last layer at index 1 + 4L (model_decoder_index says where the decoder's tensors are).
 *
 * Letters: T steps, B batch, N = T*B rows (time-major), E embed, H hidden, V vocab.
 */
#ifndef TP_MODEL_H
#define TP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "hlstm.h"
#include "lstm.h"
#include "rng.h"
#include "base/status.h"

#define MODEL_MAX_LAYERS 8
#define MODEL_MAX_CONV 2
/* the LM has 3 + 4 L tensors, the ASR model 2 n_conv + 8 L + 2 (engine/asr.h) */
#define MODEL_MAX_TENSORS (2 * MODEL_MAX_CONV + 8 * MODEL_MAX_LAYERS + 2)

typedef enum { MODEL_CELL_LSTM = 0, MODEL_CELL_HLSTM = 1 } ModelCell; /* persisted: append only */
/* What the model does: the language model of this header, or the speech recogniser of engine/asr.h
 * (same registry, masks and relayout; its own tensors, forward and loss). */
typedef enum { MODEL_TASK_LM = 0, MODEL_TASK_ASR = 1 } ModelTask;     /* persisted: append only */

/* One convolution layer of the ASR front end (engine/conv2d.h): filters, kernel time x frequency,
 * strides, zero padding. */
typedef struct {
    int filters, kt, kf, st, sf, pt, pf;
} ModelConvLayer;

typedef struct {
    int n_vocab;                      /* V                                    */
    int n_embed;                      /* E                                    */
    int n_layers;
    int hidden[MODEL_MAX_LAYERS];     /* H of each layer                      */
    ModelCell cell;
    int gate_hidden;                  /* M, H-LSTM only                       */
    float dropout;                    /* probability of dropping, 0 = off    */
    float init_scale;                 /* U(-s, s) initialisation              */
    float state_tau;                  /* hidden-state threshold, 0 = off (DESIGN 3.4, engine/lstm.h):
                                         every layer's h~ = h 1(|h| > tau), training and evaluation */
    ModelTask task;                   /* MODEL_TASK_LM (0) unless set                               */
    int tie;                          /* LM only: 1 = the decoder's weight IS embed.weight (Press & Wolf,
                                         "Using the output embedding to improve language models"):
                                         no decoder.weight tensor; needs E = H_last; the decoder's
                                         gradient and the lookups' both land in embed.weight's        */
    /* ASR only (engine/asr.h): n_vocab is then the class count, n_embed the width of one frame out
     * of the convolutions (model_asr_input_width), the layers bidirectional */
    int n_feat;                       /* F features per input frame                                 */
    int n_conv;                       /* convolution layers, 1..MODEL_MAX_CONV                      */
    ModelConvLayer conv[MODEL_MAX_CONV];
} ModelConfig;

typedef enum { PARAM_EMBED = 0, PARAM_WEIGHT = 1, PARAM_BIAS = 2 } ParamKind;

/* What one axis (rows or columns) of a tensor indexes, so structural edits (engine/resize) and
 * per-unit statistics find a hidden unit's rows and columns without knowing the cell: `reps`
 * repetitions of the segments in order; a segment is either the hidden units of layer `layer`
 * (hidden[layer] of them) or `n` fixed entries (layer = -1).  E.g. l1.w_ih rows: 4 x [units of
 * layer 1]; l1.fc1.weight columns: 1 x [units of layer 0, units of layer 1]. */
typedef struct {
    int reps, n_seg;
    struct { int layer, n; } seg[2];
} ModelAxis;

typedef struct {
    char name[32];
    ParamKind kind;
    int layer;          /* -1 for embedding and decoder */
    int rows, cols;     /* cols = 1 for vectors         */
    size_t off;         /* into w / g / mask            */
    size_t n;           /* rows * cols                  */
    ModelAxis axis[2];  /* [0] rows, [1] columns        */
} ModelParam;

typedef struct {
    int B;
    float *h[MODEL_MAX_LAYERS]; /* [B, H_l] */
    float *c[MODEL_MAX_LAYERS]; /* [B, H_l] */
} ModelState;

typedef struct {
    ModelConfig cfg;
    int n_tensors;
    ModelParam p[MODEL_MAX_TENSORS];
    size_t n_params;
    float *w;         /* [n_params] parameters (pruned entries are exact zeros) */
    float *g;         /* [n_params] gradients (dense: masked entries too)       */
    uint8_t *mask;    /* [n_params] 1 live, 0 pruned                            */
    float *embed;     /* [V, E] */
    float *dec_w;     /* [V, H_last] */
    float *dec_b;     /* [V] */
    LstmWeights lw[MODEL_MAX_LAYERS], lg[MODEL_MAX_LAYERS];   /* views of w and g (LSTM)   */
    HlstmWeights hw[MODEL_MAX_LAYERS], hg[MODEL_MAX_LAYERS];  /* views of w and g (H-LSTM) */
    /* activation buffers, sized by model_reserve(T, B) */
    int T, B;
    LstmCache cache[MODEL_MAX_LAYERS];   /* LSTM layers                                    */
    HlstmCache hcache[MODEL_MAX_LAYERS]; /* H-LSTM layers; model_cell_cache() gives either's memory */
    float *xin[MODEL_MAX_LAYERS + 1]; /* [N, in_l] dropped input of layer l; [MAX] = decoder input */
    float *dmask[MODEL_MAX_LAYERS + 1]; /* [N, in_l] dropout scale (0 or 1/(1-p)) per site        */
    float *emb;       /* [N, E] embedding rows                          */
    float *logits;    /* [N, V] logits, then dlogits after a train pass */
    float *dtop;      /* [N, max width] gradient scratch                */
    float *dx;        /* [N, max width] gradient scratch                */
    const int32_t *last_x; /* tokens of the last training forward     */
    double state_zero, state_n; /* zero entries of h~ / entries, over training forwards with tau > 0 */
} Model;

/* Check a configuration (sizes > 0, layers 1..MODEL_MAX_LAYERS, 0 <= dropout < 1, ...). */
TpStatus model_config_check(const ModelConfig *cfg);

/* ---- For the registry builders (model.c, model_asr.c) ---- */
/* Append tensor `name` with the given axes at the next aligned offset of m->n_params. */
void model_add_param(Model *m, const char *name, ParamKind kind, int layer, ModelAxis rows, ModelAxis cols);
/* The ASR parts (engine/model_asr.c): configuration check, the frame width out of the convolutions
 * (0 when they do not fit n_feat), the registry. */
TpStatus model_asr_config_check(const ModelConfig *cfg);
int model_asr_input_width(const ModelConfig *cfg);
void model_asr_registry(Model *m);
/* The number of parameters (entries of all tensors, no padding) a model of cfg has; nothing allocated. */
TpStatus model_count_params(const ModelConfig *cfg, size_t *n);
/* Allocate and initialise U(-init_scale, init_scale) from rng; masks all ones.  A model larger than
 * this machine's memory is refused (TP_ENOMEM) before anything is allocated. */
TpStatus model_init(Model *m, const ModelConfig *cfg, Rng *rng);
/* Allocate activation buffers for windows of up to T steps of batch B (idempotent if big enough).
 * LM only: an ASR model's activations live in engine/asr's AsrNet (TP_EINVAL here). */
TpStatus model_reserve(Model *m, int T, int B);
void model_free(Model *m);

const ModelParam *model_param(const Model *m, const char *name);   /* NULL if no such tensor */
/* LM: the registry index of the decoder's weight (0, embed.weight, when cfg.tie) and of its bias. */
int model_decoder_index(const ModelConfig *c);
int model_decoder_bias_index(const ModelConfig *c);
/* Tie an untied LM (cfg.tie = 0, E = H_last): embed.weight becomes the one matrix of both the lookup
 * and the decoder, taken from `from` ("decoder": decoder.weight, the output embedding, which Press &
 * Wolf find the better of the two; "embed": embed.weight as it is), with that tensor's weights,
 * gradients and mask; decoder.weight leaves the registry.  extra[0..n_extra-1] (Adam moments) are
 * mapped the same way into new backend_alloc'd arrays.  All or nothing, as model_relayout. */
TpStatus model_tie(Model *m, const char *from, float **extra, int n_extra);
int model_layer_input(const Model *m, int l);                       /* E or H_{l-1}          */
/* Layer l's LSTM memory (h with h_0 in block 0, c, gates, dgates) whatever the cell: its outputs
 * are lstm_cache_out(model_cell_cache(m, l), B). */
LstmCache *model_cell_cache(Model *m, int l);
/* Unit of layer `layer` that entry `idx` of axis `a` indexes, or -1 (a fixed entry or another
 * layer's unit), for sizes cfg. */
int model_axis_unit(const ModelAxis *a, const ModelConfig *cfg, int idx, int layer);

/* Re-lay out the model for cfg, which may differ from m->cfg only in hidden sizes (structural
 * resize).  unit_map[l] lists, for each unit of layer l in cfg, the old unit it continues, or -1
 * for a new unit; an old unit may appear at most once.  unit_map[l] = NULL: unit j continues old
 * unit j while j < the old size, later units are new (identity, truncation or appending).  Every tensor is rebuilt by name with its rows and columns mapped through its axes:
 * surviving entries keep their weight, gradient and mask; entries of new units get weight 0,
 * gradient 0, mask 1 (live).  extra[0..n_extra-1] are further arrays parallel to w (Adam moments):
 * each is replaced by a new malloc'd (backend_alloc) array mapped the same way, new entries 0.  The
 * activation buffers are re-reserved for the same T, B.  All or nothing: on failure m and extra
 * are unchanged.  Pointers into the old registry (ModelParam *, offsets) are invalid afterwards. */
TpStatus model_relayout(Model *m, const ModelConfig *cfg, const int *const unit_map[MODEL_MAX_LAYERS],
                        float **extra, int n_extra);

TpStatus model_state_init(ModelState *s, const Model *m, int B);   /* zeroed state          */
void model_state_zero(ModelState *s, const Model *m);
void model_state_free(ModelState *s);

/* LM only (TP_EINVAL for an ASR model).  Forward over a window x, y [Tw*B] (time-major).  The state s is used as the initial state and
 * updated to the final one.  Returns the summed NLL of the N = Tw*B predictions in *nll and adds
 * argmax hits to *n_correct.  train != 0: dropout is drawn from rng, activations are kept, and the
 * logits are replaced by grad_scale * dNLL/dlogits for model_backward. */
TpStatus model_forward(Model *m, ModelState *s, const int32_t *x, const int32_t *y, int Tw, int B,
                       int train, float grad_scale, Rng *rng, double *nll, long *n_correct);
/* The state only: embedding and layers over x [Tw*B] without dropout, s updated to the final state,
 * no decoder (a teacher's burn-in, engine/train.h).  Overwrites the activation buffers. */
TpStatus model_forward_state(Model *m, ModelState *s, const int32_t *x, int Tw, int B);
/* Evaluation logits only: the same without dropout, m->logits [Tw*B, V] left raw, no loss computed
 * (a teacher's scores, engine/train.h). */
TpStatus model_forward_logits(Model *m, ModelState *s, const int32_t *x, int Tw, int B);
/* Backward of the last training forward: accumulates (+=) into m->g. */
void model_backward(Model *m, int Tw, int B);
void model_zero_grad(Model *m);
/* w ⊙= mask (after every optimizer step or mask change). */
void model_apply_mask(Model *m);
size_t model_nnz(const Model *m);
/* State sparsity (fraction of zero h~ entries, all layers) over the training forwards since the
 * last reset; NaN when none ran with cfg.state_tau > 0.  reset != 0 starts a new count. */
double model_state_sparsity(Model *m, int reset);

#endif
