/* engine/model: the language model  embedding → stacked LSTM layers → dropout → decoder → softmax
 * cross-entropy, and its named parameter registry.
 *
 * All parameters live in one flat array `w`, with parallel arrays for the gradients `g` and the
 * masks `mask` (1 = live, 0 = pruned); every tensor in the registry has a mask, so growth and pruning
 * only add policy.  Names follow DESIGN 2.2: embed.weight, l{k}.w_ih, l{k}.w_hh, l{k}.b_ih,
 * l{k}.b_hh, decoder.weight, decoder.bias.  Dropout is Zaremba's: on the non-recurrent connections
 * only (embedding → layer 0, between layers, last layer → decoder), inverted scaling.
 *
 * Letters: T steps, B batch, N = T*B rows (time-major), E embed, H hidden, V vocab.
 */
#ifndef TP_MODEL_H
#define TP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lstm.h"
#include "rng.h"
#include "status.h"

#define MODEL_MAX_LAYERS 8
#define MODEL_MAX_TENSORS (3 + 4 * MODEL_MAX_LAYERS)

typedef enum { MODEL_CELL_LSTM = 0, MODEL_CELL_HLSTM = 1 } ModelCell; /* persisted: append only */

typedef struct {
    int n_vocab;                      /* V                                    */
    int n_embed;                      /* E                                    */
    int n_layers;
    int hidden[MODEL_MAX_LAYERS];     /* H of each layer                      */
    ModelCell cell;
    int gate_hidden;                  /* M, H-LSTM only                       */
    float dropout;                    /* probability of dropping, 0 = off    */
    float init_scale;                 /* U(-s, s) initialisation              */
} ModelConfig;

typedef enum { PARAM_EMBED = 0, PARAM_WEIGHT = 1, PARAM_BIAS = 2 } ParamKind;

typedef struct {
    char name[32];
    ParamKind kind;
    int layer;          /* -1 for embedding and decoder */
    int rows, cols;     /* cols = 1 for vectors         */
    size_t off;         /* into w / g / mask            */
    size_t n;           /* rows * cols                  */
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
    LstmWeights lw[MODEL_MAX_LAYERS], lg[MODEL_MAX_LAYERS]; /* views of w and g */
    /* activation buffers, sized by model_reserve(T, B) */
    int T, B;
    LstmCache cache[MODEL_MAX_LAYERS];
    float *xin[MODEL_MAX_LAYERS + 1]; /* [N, in_l] dropped input of layer l; [MAX] = decoder input */
    float *dmask[MODEL_MAX_LAYERS + 1]; /* [N, in_l] dropout scale (0 or 1/(1-p)) per site        */
    float *emb;       /* [N, E] embedding rows                          */
    float *logits;    /* [N, V] logits, then dlogits after a train pass */
    float *dtop;      /* [N, max width] gradient scratch                */
    float *dx;        /* [N, max width] gradient scratch                */
    const int32_t *last_x; /* tokens of the last training forward     */
} Model;

/* Check a configuration (sizes > 0, layers 1..MODEL_MAX_LAYERS, 0 <= dropout < 1, ...). */
TpStatus model_config_check(const ModelConfig *cfg);
/* Allocate and initialise U(-init_scale, init_scale) from rng; masks all ones. */
TpStatus model_init(Model *m, const ModelConfig *cfg, Rng *rng);
/* Allocate activation buffers for windows of up to T steps of batch B (idempotent if big enough). */
TpStatus model_reserve(Model *m, int T, int B);
void model_free(Model *m);

const ModelParam *model_param(const Model *m, const char *name);   /* NULL if no such tensor */
int model_layer_input(const Model *m, int l);                       /* E or H_{l-1}          */

TpStatus model_state_init(ModelState *s, const Model *m, int B);   /* zeroed state          */
void model_state_zero(ModelState *s, const Model *m);
void model_state_free(ModelState *s);

/* Forward over a window x, y [Tw*B] (time-major).  The state s is used as the initial state and
 * updated to the final one.  Returns the summed NLL of the N = Tw*B predictions in *nll and adds
 * argmax hits to *n_correct.  train != 0: dropout is drawn from rng, activations are kept, and the
 * logits are replaced by grad_scale * dNLL/dlogits for model_backward. */
TpStatus model_forward(Model *m, ModelState *s, const int32_t *x, const int32_t *y, int Tw, int B,
                       int train, float grad_scale, Rng *rng, double *nll, long *n_correct);
/* Backward of the last training forward: accumulates (+=) into m->g. */
void model_backward(Model *m, int Tw, int B);
void model_zero_grad(Model *m);
/* w ⊙= mask (after every optimizer step or mask change). */
void model_apply_mask(Model *m);
size_t model_nnz(const Model *m);

#endif
