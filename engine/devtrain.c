/* engine/devtrain: see devtrain.h.  Every op's status is checked (TRY); the layouts and the order of
 * operations are engine/model.c's model_forward/model_backward and engine/lstm.c's. */
#include "devtrain.h"

#include <math.h>
#include <string.h>

#define TRY(expr)                                    \
    do {                                             \
        TpStatus st_ = (expr);                       \
        if (st_ != TP_OK) return st_;                \
    } while (0)

static TpStatus dalloc(const BackendOps *ops, void *pp, size_t bytes)
{
    void **p = pp;
    return ops->alloc(p, bytes ? bytes : 1);
}

void devtrain_free(Devtrain *d)
{
    const BackendOps *ops = d->ops;
    if (!ops) return;
    void *all[] = {d->w, d->g, d->m, d->v, d->mask, d->emb, d->logits, d->dtop, d->dx, d->x, d->y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ops->free(all[i]);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        DevtrainLayer *L = &d->L[l];
        void *lay[] = {L->gates, L->h, L->c, L->tc, L->dgates, L->dc_next, L->bias, L->sh, L->sc};
        for (size_t i = 0; i < sizeof lay / sizeof lay[0]; i++) ops->free(lay[i]);
    }
    for (int l = 0; l <= MODEL_MAX_LAYERS; l++) {
        ops->free(d->xin[l]);
        ops->free(d->dmask[l]);
    }
    memset(d, 0, sizeof *d);
}

static int in_width(const Devtrain *d, int l) { return l == 0 ? d->cfg.n_embed : d->cfg.hidden[l - 1]; }

static TpStatus alloc_all(Devtrain *d)
{
    const BackendOps *ops = d->ops;
    const size_t N = (size_t)d->T * d->B, B = (size_t)d->B, F = sizeof(float);
    const int L = d->cfg.n_layers, V = d->cfg.n_vocab, E = d->cfg.n_embed;
    size_t wmax = (size_t)E;
    TRY(dalloc(ops, &d->w, d->n_params * F));
    TRY(dalloc(ops, &d->g, d->n_params * F));
    TRY(dalloc(ops, &d->mask, d->n_params));
    if (d->kind == OPTIM_ADAM) {
        TRY(dalloc(ops, &d->m, d->n_params * F));
        TRY(dalloc(ops, &d->v, d->n_params * F));
    }
    for (int l = 0; l < L; l++) {
        size_t H = (size_t)d->cfg.hidden[l], G = 4 * H;
        DevtrainLayer *y = &d->L[l];
        wmax = H > wmax ? H : wmax;
        TRY(dalloc(ops, &y->gates, N * G * F));
        TRY(dalloc(ops, &y->dgates, N * G * F));
        TRY(dalloc(ops, &y->h, (N + B) * H * F));
        TRY(dalloc(ops, &y->c, (N + B) * H * F));
        TRY(dalloc(ops, &y->tc, N * H * F));
        TRY(dalloc(ops, &y->dc_next, B * H * F));
        TRY(dalloc(ops, &y->bias, G * F));
        TRY(dalloc(ops, &y->sh, B * H * F));
        TRY(dalloc(ops, &y->sc, B * H * F));
        if (d->cfg.dropout > 0.0f) {
            TRY(dalloc(ops, &d->xin[l], N * (size_t)in_width(d, l) * F));
            TRY(dalloc(ops, &d->dmask[l], N * (size_t)in_width(d, l) * F));
        }
    }
    if (d->cfg.dropout > 0.0f) {
        size_t Hl = (size_t)d->cfg.hidden[L - 1];
        TRY(dalloc(ops, &d->xin[MODEL_MAX_LAYERS], N * Hl * F));
        TRY(dalloc(ops, &d->dmask[MODEL_MAX_LAYERS], N * Hl * F));
    }
    TRY(dalloc(ops, &d->emb, N * (size_t)E * F));
    TRY(dalloc(ops, &d->logits, N * (size_t)V * F));
    TRY(dalloc(ops, &d->dtop, N * wmax * F));
    TRY(dalloc(ops, &d->dx, N * wmax * F));
    TRY(dalloc(ops, &d->x, N * sizeof(int32_t)));
    TRY(dalloc(ops, &d->y, N * sizeof(int32_t)));
    return TP_OK;
}

TpStatus devtrain_init(Devtrain *d, const BackendOps *ops, const Model *m, const Optim *o, int T, int B,
                       uint64_t seed)
{
    memset(d, 0, sizeof *d);
    if (m->cfg.cell != MODEL_CELL_LSTM)
        return err_set(TP_ENOTAVAIL, "%s training: the table's training step runs LSTM cells; this model's "
                                     "H-LSTM gate DNNs train on the CPU (--backend cpu)", ops->name);
    if (T < 1 || B < 1) return err_set(TP_EINVAL, "devtrain: bad window %d x %d", T, B);
    if (o->n != m->n_params) return err_set(TP_EINVAL, "devtrain: optimizer of %zu, model of %zu", o->n, m->n_params);
    d->ops = ops;
    d->cfg = m->cfg;
    d->T = T;
    d->B = B;
    d->n_params = m->n_params;
    d->n_tensors = m->n_tensors;
    for (int t = 0; t < m->n_tensors; t++) d->off[t] = m->p[t].off;
    d->kind = o->kind;
    d->b1 = o->beta1;
    d->b2 = o->beta2;
    d->eps = o->eps;
    d->seed = seed;
    TpStatus s = alloc_all(d);
    if (s == TP_OK) s = devtrain_push(d, m, o);
    if (s != TP_OK) {
        TpStatus keep = s;
        char msg[512];
        strncpy(msg, err_msg(), sizeof msg - 1);
        msg[sizeof msg - 1] = '\0';
        devtrain_free(d);
        return err_set(keep, "%s training: %s", ops->name, msg);
    }
    return TP_OK;
}

TpStatus devtrain_push(Devtrain *d, const Model *m, const Optim *o)
{
    const BackendOps *ops = d->ops;
    if (m->n_params != d->n_params) return err_set(TP_EINVAL, "devtrain: the model was resized; start again");
    TRY(ops->upload(d->w, m->w, d->n_params * sizeof(float)));
    TRY(ops->upload(d->g, m->g, d->n_params * sizeof(float)));
    TRY(ops->upload(d->mask, m->mask, d->n_params));
    if (d->kind == OPTIM_ADAM && o->m && o->v) {
        TRY(ops->upload(d->m, o->m, d->n_params * sizeof(float)));
        TRY(ops->upload(d->v, o->v, d->n_params * sizeof(float)));
    }
    d->t = o->t;
    return TP_OK;
}

TpStatus devtrain_pull(Devtrain *d, Model *m, Optim *o)
{
    const BackendOps *ops = d->ops;
    if (m->n_params != d->n_params) return err_set(TP_EINVAL, "devtrain: the model was resized; start again");
    TRY(ops->download(m->w, d->w, d->n_params * sizeof(float)));
    TRY(ops->download(m->g, d->g, d->n_params * sizeof(float)));
    if (d->kind == OPTIM_ADAM && o->m && o->v) {
        TRY(ops->download(o->m, d->m, d->n_params * sizeof(float)));
        TRY(ops->download(o->v, d->v, d->n_params * sizeof(float)));
    }
    o->t = d->t;
    return TP_OK;
}

TpStatus devtrain_state_zero(Devtrain *d)
{
    for (int l = 0; l < d->cfg.n_layers; l++) {
        size_t bytes = (size_t)d->B * d->cfg.hidden[l] * sizeof(float);
        TRY(d->ops->zero(d->L[l].sh, bytes));
        TRY(d->ops->zero(d->L[l].sc, bytes));
    }
    return TP_OK;
}

double devtrain_state_sparsity(Devtrain *d, int reset)
{
    double v = d->state_n > 0 ? d->state_zero / d->state_n : NAN;
    if (reset) d->state_zero = d->state_n = 0.0;
    return v;
}

/* registry tensors (model.h): 0 embed; 1 + 4l .. 4 + 4l layer l's w_ih, w_hh, b_ih, b_hh; then decoder
 * (model_decoder_index: embed.weight itself when tied) */
static float *P(const Devtrain *d, float *base, int t) { return base + d->off[t]; }

TpStatus devtrain_lstm_forward(const BackendOps *ops, DevtrainLayer *y, const float *w_ih, const float *w_hh,
                               const float *b_ih, const float *b_hh, const float *x, int I, int H, int Tw, int B,
                               float tau, long *zeros)
{
    const int G = 4 * H, N = Tw * B;
    const size_t BH = (size_t)B * H, BG = 4 * BH;
    TRY(ops->copy(y->bias, b_ih, (size_t)G * sizeof(float)));
    TRY(ops->axpy(y->bias, 1.0f, b_hh, (size_t)G));
    TRY(ops->rows_set(y->gates, y->bias, N, G));
    TRY(ops->sgemm(0, 1, N, G, I, 1.0f, x, I, w_ih, I, 1.0f, y->gates, G));
    for (int t = 0; t < Tw; t++) {
        float *a = y->gates + t * BG;
        TRY(ops->sgemm(0, 1, B, G, H, 1.0f, y->h + t * BH, H, w_hh, H, 1.0f, a, G));
        TRY(ops->lstm_cell_fwd(a, y->c + (t + 1) * BH, y->h + (t + 1) * BH, y->tc + t * BH, y->c + t * BH, B, H));
        if (tau > 0.0f) {
            long z = 0;
            TRY(ops->threshold(y->h + (t + 1) * BH, BH, tau, &z));
            *zeros += z;
        }
    }
    return TP_OK;
}

/* one layer of the model over the window, from the carried state */
static TpStatus layer_forward(Devtrain *d, int l, const float *in, int Tw, long *zeros)
{
    DevtrainLayer *y = &d->L[l];
    const int H = d->cfg.hidden[l];
    const size_t BH = (size_t)d->B * H;
    TRY(d->ops->copy(y->h, y->sh, BH * sizeof(float)));
    TRY(d->ops->copy(y->c, y->sc, BH * sizeof(float)));
    return devtrain_lstm_forward(d->ops, y, P(d, d->w, 1 + 4 * l), P(d, d->w, 2 + 4 * l), P(d, d->w, 3 + 4 * l),
                                 P(d, d->w, 4 + 4 * l), in, in_width(d, l), H, Tw, d->B, d->cfg.state_tau, zeros);
}

/* engine/lstm.c's lstm_backward: dh [N, H] from above (overwritten), dx [N, I] written. */
static TpStatus layer_backward(Devtrain *d, int l, const float *in, float *dh, float *dx, int Tw)
{
    const BackendOps *ops = d->ops;
    DevtrainLayer *y = &d->L[l];
    const int B = d->B, H = d->cfg.hidden[l], G = 4 * H, I = in_width(d, l), N = Tw * B;
    const size_t BH = (size_t)B * H, BG = 4 * BH;
    const float *w_ih = P(d, d->w, 1 + 4 * l), *w_hh = P(d, d->w, 2 + 4 * l);
    TRY(ops->zero(y->dc_next, BH * sizeof(float)));
    for (int t = Tw - 1; t >= 0; t--) {
        TRY(ops->lstm_cell_bwd(y->dgates + t * BG, y->dc_next, dh + t * BH, y->gates + t * BG, y->tc + t * BH,
                               y->c + t * BH, B, H));
        if (t > 0) TRY(ops->sgemm(0, 0, B, H, G, 1.0f, y->dgates + t * BG, G, w_hh, H, 1.0f, dh + (t - 1) * BH, H));
    }
    TRY(ops->sgemm(1, 0, G, H, N, 1.0f, y->dgates, G, y->h, H, 1.0f, P(d, d->g, 2 + 4 * l), H));
    TRY(ops->sgemm(1, 0, G, I, N, 1.0f, y->dgates, G, in, I, 1.0f, P(d, d->g, 1 + 4 * l), I));
    TRY(ops->zero(y->bias, (size_t)G * sizeof(float)));
    TRY(ops->colsum_add(y->bias, y->dgates, N, G, G));
    TRY(ops->axpy(P(d, d->g, 3 + 4 * l), 1.0f, y->bias, (size_t)G));
    TRY(ops->axpy(P(d, d->g, 4 + 4 * l), 1.0f, y->bias, (size_t)G));
    return ops->sgemm(0, 0, N, I, G, 1.0f, y->dgates, G, w_ih, I, 0.0f, dx, I);
}

/* The dropout stream of one step: its own seed, the counter running over the step's draws in order. */
static uint64_t step_seed(uint64_t seed, long step)
{
    return seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(step + 1));
}

static TpStatus forward(Devtrain *d, int Tw, long step, double *nll)
{
    const BackendOps *ops = d->ops;
    const int L = d->cfg.n_layers, E = d->cfg.n_embed, V = d->cfg.n_vocab, B = d->B, N = Tw * B;
    const int Hl = d->cfg.hidden[L - 1];
    const int drop = d->cfg.dropout > 0.0f;
    const uint64_t seed = step_seed(d->seed, step);
    uint64_t counter = 0;
    TRY(ops->gather_rows(d->emb, P(d, d->w, 0), d->x, N, E));
    const float *in = d->emb;
    long zeros = 0;
    for (int l = 0; l < L; l++) {
        size_t n = (size_t)N * in_width(d, l);
        if (drop) {
            TRY(ops->dropout(d->xin[l], d->dmask[l], in, n, d->cfg.dropout, seed, counter));
            counter += n;
            in = d->xin[l];
        }
        TRY(layer_forward(d, l, in, Tw, &zeros));
        if (d->cfg.state_tau > 0.0f) d->state_n += (double)N * d->cfg.hidden[l];
        in = d->L[l].h + (size_t)B * d->cfg.hidden[l];
    }
    d->state_zero += (double)zeros;
    if (drop) {
        TRY(ops->dropout(d->xin[MODEL_MAX_LAYERS], d->dmask[MODEL_MAX_LAYERS], in, (size_t)N * Hl, d->cfg.dropout,
                         seed, counter));
        in = d->xin[MODEL_MAX_LAYERS];
    }
    TRY(ops->rows_set(d->logits, P(d, d->w, model_decoder_bias_index(&d->cfg)), N, V));
    TRY(ops->sgemm(0, 1, N, V, Hl, 1.0f, in, Hl, P(d, d->w, model_decoder_index(&d->cfg)), Hl, 1.0f, d->logits, V));
    return ops->softmax_xent(d->logits, d->y, N, V, 1.0f / (float)B, nll, NULL);
}

static TpStatus backward(Devtrain *d, int Tw)
{
    const BackendOps *ops = d->ops;
    const int L = d->cfg.n_layers, E = d->cfg.n_embed, V = d->cfg.n_vocab, B = d->B, N = Tw * B;
    const int Hl = d->cfg.hidden[L - 1];
    const int drop = d->cfg.dropout > 0.0f;
    const float *top = drop ? d->xin[MODEL_MAX_LAYERS] : d->L[L - 1].h + (size_t)B * Hl;
    TRY(ops->sgemm(1, 0, V, Hl, N, 1.0f, d->logits, V, top, Hl, 1.0f, P(d, d->g, model_decoder_index(&d->cfg)), Hl));
    TRY(ops->colsum_add(P(d, d->g, model_decoder_bias_index(&d->cfg)), d->logits, N, V, V));
    TRY(ops->sgemm(0, 0, N, Hl, V, 1.0f, d->logits, V, P(d, d->w, model_decoder_index(&d->cfg)), Hl, 0.0f, d->dtop, Hl));
    if (drop) TRY(ops->mul(d->dtop, d->dmask[MODEL_MAX_LAYERS], (size_t)N * Hl));
    float *dh = d->dtop, *dx = d->dx;
    for (int l = L - 1; l >= 0; l--) {
        const float *in = l == 0 ? d->emb : d->L[l - 1].h + (size_t)B * d->cfg.hidden[l - 1];
        if (drop) in = d->xin[l];
        TRY(layer_backward(d, l, in, dh, dx, Tw));
        if (drop) TRY(ops->mul(dx, d->dmask[l], (size_t)N * in_width(d, l)));
        float *t = dh;
        dh = dx;
        dx = t;
    }
    return ops->scatter_add_rows(P(d, d->g, 0), dh, d->x, N, E);
}

TpStatus devtrain_step(Devtrain *d, const int32_t *x, const int32_t *y, int Tw, float lr, float clip, long step,
                       double *nll, double *grad_norm)
{
    const BackendOps *ops = d->ops;
    const int B = d->B, V = d->cfg.n_vocab, N = Tw * B;
    *nll = 0.0;
    if (grad_norm) *grad_norm = 0.0;
    if (Tw < 1 || Tw > d->T) return err_set(TP_EINVAL, "devtrain: window of %d steps (reserved %d)", Tw, d->T);
    for (int r = 0; r < N; r++)
        if (x[r] < 0 || x[r] >= V || y[r] < 0 || y[r] >= V)
            return err_set(TP_EINVAL, "model: token id out of range 0..%d", V - 1);
    TRY(ops->upload(d->x, x, (size_t)N * sizeof(int32_t)));
    TRY(ops->upload(d->y, y, (size_t)N * sizeof(int32_t)));
    TRY(ops->zero(d->g, d->n_params * sizeof(float)));
    TRY(forward(d, Tw, step, nll));
    if (!isfinite(*nll)) return err_set(TP_ENAN, "model: the loss is not finite (%g)", *nll);
    TRY(backward(d, Tw));
    double ss = 0.0;
    TRY(ops->sumsq(d->g, d->n_params, &ss));
    double nrm = sqrt(ss);
    if (grad_norm) *grad_norm = nrm;
    if (!isfinite(nrm)) return err_set(TP_ENAN, "gradient norm is not finite (%g)", nrm);
    if (clip > 0.0f && nrm > clip) TRY(ops->scale(d->g, (float)(clip / nrm), d->n_params));
    if (d->kind == OPTIM_SGD) {
        TRY(ops->sgd_step(d->w, d->g, d->mask, d->n_params, lr));
    } else {
        long t = d->t + 1;
        float c1 = 1.0f / (1.0f - powf(d->b1, (float)t)), c2 = 1.0f / (1.0f - powf(d->b2, (float)t));
        TRY(ops->adam_step(d->w, d->g, d->m, d->v, d->mask, d->n_params, lr, d->b1, d->b2, d->eps, c1, c2));
        d->t = t;
    }
    /* the step is in: carry the final state to the next window */
    for (int l = 0; l < d->cfg.n_layers; l++) {
        size_t BH = (size_t)B * d->cfg.hidden[l];
        TRY(ops->copy(d->L[l].sh, d->L[l].h + (size_t)Tw * BH, BH * sizeof(float)));
        TRY(ops->copy(d->L[l].sc, d->L[l].c + (size_t)Tw * BH, BH * sizeof(float)));
    }
    return TP_OK;
}
