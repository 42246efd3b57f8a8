/* engine/model_asr: the ASR model's part of the parameter registry (model.h, engine/asr.h): its
 * configuration check and tensors.  Names, in registry order (PyTorch-like; `rows x cols`):
 *
 *   conv{c}.weight   [K_c, C_c kt kf]   Conv2d weight [K, C, kt, kf] flattened (C_0 = 1, C_1 = K_0)
 *   conv{c}.bias     [K_c]
 *   per layer l, direction d in {fw, bw} (bw: the time-reversed direction; PyTorch's *_reverse):
 *     LSTM:    l{l}.{d}.w_ih [4H, I]  l{l}.{d}.w_hh [4H, H]  l{l}.{d}.b_ih [4H]  l{l}.{d}.b_hh [4H]
 *     H-LSTM:  l{l}.{d}.fc1.weight [4M, I+H]  .fc1.bias [4M]  .fc2.weight [4H, M]  .fc2.bias [4H]
 *   decoder.weight   [C, H_last]        to the classes (CTC blank = 0)
 *   decoder.bias     [C]
 *
 * I is model_asr_input_width (= n_embed, fixed) for layer 0 and H_{l-1} above: the directions are
 * summed (engine/birnn.h), so a layer is H wide and unit j of layer l owns the rows of both
 * directions' gates and is read by both directions of layer l+1 (or the decoder).  The axes say so,
 * which is all that prune, grow, resize and the masks need.  Names ending in .w_ih / .w_hh get the
 * dual pruning ratios as in the LM.
 */
#include "model.h"

#include <stdio.h>

#include "conv2d.h"

static ModelAxis fixed(int n) { return (ModelAxis){1, 1, {{-1, n}, {-1, 0}}}; }
static ModelAxis units(int layer, int reps) { return (ModelAxis){reps, 1, {{layer, 0}, {-1, 0}}}; }
static ModelAxis input(const ModelConfig *c, int l) { return l == 0 ? fixed(c->n_embed) : units(l - 1, 1); }

/* the convolution stack as conv2d shapes; returns the frame width out of the last one (0: misfit) */
static int conv_shapes(const ModelConfig *c, Conv2dShape *s)
{
    int C = 1, F = c->n_feat;
    for (int k = 0; k < c->n_conv; k++) {
        const ModelConvLayer *v = &c->conv[k];
        s[k] = (Conv2dShape){C, F, v->filters, v->kt, v->kf, v->st, v->sf, v->pt, v->pf};
        if (conv2d_shape_check(&s[k]) != TP_OK) return 0;
        C = v->filters;
        F = conv2d_out_freq(&s[k]);
    }
    return C * F;
}

int model_asr_input_width(const ModelConfig *c)
{
    Conv2dShape s[MODEL_MAX_CONV];
    if (c->n_conv < 1 || c->n_conv > MODEL_MAX_CONV || c->n_feat < 1) return 0;
    return conv_shapes(c, s);
}

TpStatus model_asr_config_check(const ModelConfig *c)
{
    if (c->n_vocab < 2) return err_set(TP_EINVAL, "asr model: %d classes (need the blank and at least one)", c->n_vocab);
    if (c->tie) return err_set(TP_EINVAL, "--tie: the speech model has no embedding to tie to its decoder");
    if (c->n_feat < 1 || c->n_feat > 4096) return err_set(TP_ERANGE, "asr model: features: expected 1..4096, got %d", c->n_feat);
    if (c->n_conv < 1 || c->n_conv > MODEL_MAX_CONV)
        return err_set(TP_ERANGE, "asr model: convolution layers: expected 1..%d, got %d", MODEL_MAX_CONV, c->n_conv);
    Conv2dShape s[MODEL_MAX_CONV];
    int C = 1, F = c->n_feat;
    for (int k = 0; k < c->n_conv; k++) {
        const ModelConvLayer *v = &c->conv[k];
        s[k] = (Conv2dShape){C, F, v->filters, v->kt, v->kf, v->st, v->sf, v->pt, v->pf};
        if (v->filters > 4096) return err_set(TP_ERANGE, "asr model: conv %d: %d filters (at most 4096)", k, v->filters);
        TpStatus st = conv2d_shape_check(&s[k]);
        if (st != TP_OK) return err_wrap(st, "asr model: conv %d", k);
        C = v->filters;
        F = conv2d_out_freq(&s[k]);
    }
    if (c->n_embed != C * F)
        return err_set(TP_EINVAL, "asr model: the convolutions give frames of %d values (%d filters x %d bins), "
                                  "but the first layer's input is %d", C * F, C, F, c->n_embed);
    if (c->n_layers < 1 || c->n_layers > MODEL_MAX_LAYERS)
        return err_set(TP_ERANGE, "--layers: expected 1..%d, got %d", MODEL_MAX_LAYERS, c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
        if (c->hidden[l] < 1 || c->hidden[l] > 65536)
            return err_set(TP_ERANGE, "--hidden: layer %d: expected 1..65536, got %d", l, c->hidden[l]);
    if (c->cell == MODEL_CELL_HLSTM ? c->gate_hidden < 1 || c->gate_hidden > 65536 : c->cell != MODEL_CELL_LSTM)
        return err_set(TP_EINVAL, "asr model: cell %d with gate hidden %d (H-LSTM needs 1..65536)", (int)c->cell,
                       c->gate_hidden);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return err_set(TP_ERANGE, "--dropout: expected 0 <= p < 1, got %g", (double)c->dropout);
    if (!(c->init_scale > 0.0f && c->init_scale < 10.0f))
        return err_set(TP_ERANGE, "init scale: expected 0 < s < 10, got %g", (double)c->init_scale);
    if (!(c->state_tau >= 0.0f && c->state_tau <= 1000.0f))
        return err_set(TP_ERANGE, "state tau: expected 0 <= tau <= 1000, got %g", (double)c->state_tau);
    return TP_OK;
}

void model_asr_registry(Model *m)
{
    const ModelConfig *c = &m->cfg;
    static const char *const dir[2] = {"fw", "bw"};
    char name[32];
    int C = 1;
    for (int k = 0; k < c->n_conv; k++) {
        const ModelConvLayer *v = &c->conv[k];
        snprintf(name, sizeof name, "conv%d.weight", k);
        model_add_param(m, name, PARAM_WEIGHT, -1, fixed(v->filters), fixed(C * v->kt * v->kf));
        snprintf(name, sizeof name, "conv%d.bias", k);
        model_add_param(m, name, PARAM_BIAS, -1, fixed(v->filters), fixed(1));
        C = v->filters;
    }
    for (int l = 0; l < c->n_layers; l++)
        for (int d = 0; d < 2; d++) {
            if (c->cell == MODEL_CELL_HLSTM) {
                ModelAxis z = input(c, l); /* fc1 columns: [x; h] */
                z.n_seg = 2;
                z.seg[1].layer = l;
                int M = c->gate_hidden;
                snprintf(name, sizeof name, "l%d.%s.fc1.weight", l, dir[d]);
                model_add_param(m, name, PARAM_WEIGHT, l, fixed(4 * M), z);
                snprintf(name, sizeof name, "l%d.%s.fc1.bias", l, dir[d]);
                model_add_param(m, name, PARAM_BIAS, l, fixed(4 * M), fixed(1));
                snprintf(name, sizeof name, "l%d.%s.fc2.weight", l, dir[d]);
                model_add_param(m, name, PARAM_WEIGHT, l, units(l, 4), fixed(M));
                snprintf(name, sizeof name, "l%d.%s.fc2.bias", l, dir[d]);
                model_add_param(m, name, PARAM_BIAS, l, units(l, 4), fixed(1));
            } else {
                snprintf(name, sizeof name, "l%d.%s.w_ih", l, dir[d]);
                model_add_param(m, name, PARAM_WEIGHT, l, units(l, 4), input(c, l));
                snprintf(name, sizeof name, "l%d.%s.w_hh", l, dir[d]);
                model_add_param(m, name, PARAM_WEIGHT, l, units(l, 4), units(l, 1));
                snprintf(name, sizeof name, "l%d.%s.b_ih", l, dir[d]);
                model_add_param(m, name, PARAM_BIAS, l, units(l, 4), fixed(1));
                snprintf(name, sizeof name, "l%d.%s.b_hh", l, dir[d]);
                model_add_param(m, name, PARAM_BIAS, l, units(l, 4), fixed(1));
            }
        }
    model_add_param(m, "decoder.weight", PARAM_WEIGHT, -1, fixed(c->n_vocab), units(c->n_layers - 1, 1));
    model_add_param(m, "decoder.bias", PARAM_BIAS, -1, fixed(c->n_vocab), fixed(1));
}
