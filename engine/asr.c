/* engine/asr: see asr.h.  The forward and backward of one utterance through the registry's
 * tensors; the convolutions, the bidirectional layers and the loss are their own modules. */
#include "asr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ctc.h"
#include "base/mem.h"

ModelConfig asr_config_default(int n_feat, int n_classes, int n_layers, int hidden)
{
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.task = MODEL_TASK_ASR;
    c.n_feat = n_feat;
    c.n_vocab = n_classes;
    c.n_conv = 1;
    c.conv[0] = (ModelConvLayer){8, 11, 11, 2, 2, 5, 5};
    c.n_embed = model_asr_input_width(&c);
    c.n_layers = n_layers;
    for (int l = 0; l < n_layers && l < MODEL_MAX_LAYERS; l++) c.hidden[l] = hidden;
    c.cell = MODEL_CELL_LSTM;
    c.init_scale = 0.1f;
    return c;
}

Conv2dShape asr_conv_shape(const ModelConfig *c, int k)
{
    int C = 1, F = c->n_feat;
    for (int j = 0; j < k; j++) {
        Conv2dShape s = {C, F, c->conv[j].filters, c->conv[j].kt, c->conv[j].kf, c->conv[j].st, c->conv[j].sf,
                         c->conv[j].pt, c->conv[j].pf};
        C = s.K;
        F = conv2d_out_freq(&s);
    }
    const ModelConvLayer *v = &c->conv[k];
    return (Conv2dShape){C, F, v->filters, v->kt, v->kf, v->st, v->sf, v->pt, v->pf};
}

int asr_out_frames(const ModelConfig *c, int T)
{
    for (int k = 0; k < c->n_conv && T > 0; k++) {
        Conv2dShape s = asr_conv_shape(c, k);
        T = conv2d_out_frames(&s, T);
    }
    return T;
}

TpStatus asr_torch_name(const Model *m, int t, char *name, size_t n, int *ndim, int dims[4])
{
    if (m->cfg.task != MODEL_TASK_ASR || t < 0 || t >= m->n_tensors)
        return err_set(TP_EINVAL, "asr: no ASR tensor %d", t);
    const ModelParam *p = &m->p[t];
    int c, l, used = 0;
    char d[3] = "", rest[32] = "";
    *ndim = p->kind == PARAM_BIAS ? 1 : 2;
    dims[0] = p->rows;
    dims[1] = p->cols;
    if (sscanf(p->name, "conv%d.%31s", &c, rest) == 2) {
        snprintf(name, n, "conv.%d.%s", c, rest);
        if (p->kind == PARAM_WEIGHT) {
            const ModelConvLayer *v = &m->cfg.conv[c];
            *ndim = 4;
            dims[1] = p->cols / (v->kt * v->kf);
            dims[2] = v->kt;
            dims[3] = v->kf;
        }
    } else if (sscanf(p->name, "l%d.%2[fbw].%31s%n", &l, d, rest, &used) == 3 && m->cfg.cell == MODEL_CELL_LSTM) {
        static const char *const from[4] = {"w_ih", "w_hh", "b_ih", "b_hh"};
        static const char *const to[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        int j = 0;
        while (j < 4 && strcmp(rest, from[j])) j++;
        if (j == 4) return err_set(TP_EINVAL, "asr: tensor %s has no PyTorch name", p->name);
        snprintf(name, n, "rnn.%d.%s_l0%s", l, to[j], strcmp(d, "bw") ? "" : "_reverse");
    } else if (p->name[0] == 'l') {
        snprintf(name, n, "hlstm.%s", p->name);
    } else {
        snprintf(name, n, "%s", p->name);
    }
    return TP_OK;
}

/* ---- views of the registry (model_asr.c's order) ---- */

static int t_layer(const Model *m, int l) { return 2 * m->cfg.n_conv + 8 * l; }
int asr_decoder_tensor(const Model *m) { return 2 * m->cfg.n_conv + 8 * m->cfg.n_layers; }

void asr_layer_views(const Model *m, float *base, int l, BirnnWeights *w)
{
    const ModelConfig *c = &m->cfg;
    int I = model_layer_input(m, l), H = c->hidden[l], M = c->gate_hidden;
    memset(w, 0, sizeof *w);
    w->hlstm = c->cell == MODEL_CELL_HLSTM;
    for (int d = 0; d < 2; d++) {
        const ModelParam *p = &m->p[t_layer(m, l) + 4 * d];
        float *a = base + p[0].off, *b = base + p[1].off, *e = base + p[2].off, *f = base + p[3].off;
        if (w->hlstm)
            w->h[d] = (HlstmWeights){I, H, M, a, b, e, f};
        else
            w->l[d] = (LstmWeights){I, H, a, b, e, f};
    }
}

/* ---- buffers ---- */

static void release(AsrNet *n)
{
    for (int k = 0; k < MODEL_MAX_CONV; k++) {
        conv2d_cache_free(&n->conv[k]);
        free(n->act[k]);
        n->act[k] = NULL;
    }
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        birnn_cache_free(&n->rnn[l]);
        free(n->y[l]);
        free(n->ymask[l]);
        n->y[l] = n->ymask[l] = NULL;
    }
    free(n->logits);
    free(n->dlogits);
    free(n->s0);
    free(n->s1);
    n->logits = n->dlogits = n->s0 = n->s1 = NULL;
    n->T_cap = 0;
}

static void release_batch(AsrNet *n)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        birnn_cache_free(&n->brnn[l]);
        MEM_FREE_ALL(n->by[l], n->bymask[l]);
        n->by[l] = n->bymask[l] = NULL;
    }
    MEM_FREE_ALL(n->bx, n->blogits, n->bdlogits, n->bs0, n->bs1, n->blen);
    n->bx = n->blogits = n->bdlogits = n->bs0 = n->bs1 = NULL;
    n->blen = NULL;
    n->B_cap = n->To_cap = 0;
}

TpStatus asr_net_init(AsrNet *n, Model *m)
{
    memset(n, 0, sizeof *n);
    if (m->cfg.task != MODEL_TASK_ASR) return err_set(TP_EINVAL, "asr: the model is not an ASR model");
    n->m = m;
    return TP_OK;
}

void asr_net_free(AsrNet *n)
{
    release(n);
    release_batch(n);
    memset(n, 0, sizeof *n);
}

static int same_sizes(const AsrNet *n)
{
    for (int l = 0; l < n->m->cfg.n_layers; l++)
        if (n->hidden[l] != n->m->cfg.hidden[l]) return 0;
    return 1;
}

static TpStatus reserve(AsrNet *n, int T)
{
    if (T <= n->T_cap && same_sizes(n)) return TP_OK;
    const Model *m = n->m;
    const ModelConfig *c = &m->cfg;
    if (T < n->T_cap) T = n->T_cap;
    release(n);
    int Tk = T, To = asr_out_frames(c, T), ok = 1;
    size_t big = (size_t)T * c->n_feat;
    TpStatus s = TP_OK;
    for (int k = 0; k < c->n_conv && s == TP_OK; k++) {
        Conv2dShape sh = asr_conv_shape(c, k);
        if ((s = conv2d_cache_init(&n->conv[k], &sh)) != TP_OK || (s = conv2d_reserve(&n->conv[k], Tk)) != TP_OK) break;
        Tk = conv2d_out_frames(&sh, Tk);
        size_t sz = (size_t)Tk * sh.K * conv2d_out_freq(&sh);
        big = sz > big ? sz : big;
        ok = ok && (n->act[k] = backend_alloc(sz, sizeof(float))) != NULL;
    }
    for (int l = 0; l < c->n_layers && s == TP_OK && ok; l++) {
        int I = model_layer_input(m, l), H = c->hidden[l];
        if ((s = birnn_cache_init(&n->rnn[l], c->cell == MODEL_CELL_HLSTM, I, H, c->gate_hidden, To, 1)) != TP_OK)
            break;
        ok = (n->y[l] = backend_alloc((size_t)To * H, sizeof(float))) != NULL &&
             (n->ymask[l] = backend_alloc((size_t)To * H, sizeof(float))) != NULL;
        size_t sz = (size_t)To * (I > H ? I : H);
        big = sz > big ? sz : big;
        n->hidden[l] = H;
    }
    if (s == TP_OK && ok) {
        n->logits = backend_alloc((size_t)To * c->n_vocab, sizeof(float));
        n->dlogits = backend_alloc((size_t)To * c->n_vocab, sizeof(float));
        n->s0 = backend_alloc(big, sizeof(float));
        n->s1 = backend_alloc(big, sizeof(float));
        ok = n->logits && n->dlogits && n->s0 && n->s1;
    }
    if (s == TP_OK && !ok) s = err_set(TP_ENOMEM, "asr: out of memory for the activations of %d frames", T);
    if (s != TP_OK) {
        release(n);
        memset(n->hidden, 0, sizeof n->hidden);
        return s;
    }
    n->T_cap = T;
    return TP_OK;
}

/* The batch buffers for B utterances of up to To output frames (kept when they fit and the layer
 * sizes are those they were built for). */
static TpStatus reserve_batch(AsrNet *n, int B, int To)
{
    const ModelConfig *c = &n->m->cfg;
    int fits = B <= n->B_cap && To <= n->To_cap;
    for (int l = 0; l < c->n_layers && fits; l++) fits = n->brnn[l].H == c->hidden[l];
    if (fits) return TP_OK;
    if (B < n->B_cap) B = n->B_cap;
    if (To < n->To_cap) To = n->To_cap;
    release_batch(n);
    const size_t N = (size_t)To * B;
    size_t wide = (size_t)c->n_embed;
    TpStatus s = TP_OK;
    int ok = (n->blen = malloc((size_t)B * sizeof(int))) != NULL && (n->bx = backend_alloc(N * c->n_embed, sizeof(float))) != NULL;
    for (int l = 0; l < c->n_layers && ok && s == TP_OK; l++) {
        int I = model_layer_input(n->m, l), H = c->hidden[l];
        if ((s = birnn_cache_init(&n->brnn[l], c->cell == MODEL_CELL_HLSTM, I, H, c->gate_hidden, To, B)) != TP_OK) break;
        ok = (n->by[l] = backend_alloc(N * H, sizeof(float))) != NULL &&
             (n->bymask[l] = backend_alloc(N * H, sizeof(float))) != NULL;
        wide = (size_t)(I > H ? I : H) > wide ? (size_t)(I > H ? I : H) : wide;
    }
    if (s == TP_OK && ok)
        ok = (n->blogits = backend_alloc(N * c->n_vocab, sizeof(float))) != NULL &&
             (n->bdlogits = backend_alloc(N * c->n_vocab, sizeof(float))) != NULL &&
             (n->bs0 = backend_alloc(N * wide, sizeof(float))) != NULL && (n->bs1 = backend_alloc(N * wide, sizeof(float))) != NULL;
    if (s == TP_OK && !ok) s = err_set(TP_ENOMEM, "asr: out of memory for a batch of %d utterances of %d frames", B, To);
    if (s != TP_OK) {
        release_batch(n);
        return s;
    }
    n->B_cap = B;
    n->To_cap = To;
    return TP_OK;
}

/* ---- forward / backward ---- */

/* A layer's output dropout: mk[i] = 1/p_keep with probability p_keep, else 0; y[i] *= mk[i]. */
static void drop_outputs(float *y, float *mk, size_t e, float p_keep, Rng *rng)
{
    const float keep = 1.0f / p_keep;
    for (size_t i = 0; i < e; i++) {
        mk[i] = rng_uniform(rng) < p_keep ? keep : 0.0f;
        y[i] *= mk[i];
    }
}

TpStatus asr_forward(AsrNet *n, const float *feat, int T, int train, Rng *rng)
{
    Model *m = n->m;
    const ModelConfig *c = &m->cfg;
    const int To = asr_out_frames(c, T), C = c->n_vocab;
    if (T < 1 || To < 1)
        return err_set(TP_EINVAL, "asr: an utterance of %d frames is shorter than the front end's kernel", T);
    TpStatus s = reserve(n, T);
    if (s != TP_OK) return s;
    const float *x = feat;
    int Tk = T;
    for (int k = 0; k < c->n_conv; k++) {
        const ModelParam *p = &m->p[2 * k];
        if ((s = conv2d_forward(&n->conv[k], m->w + p[0].off, m->w + p[1].off, x, Tk, n->act[k])) != TP_OK) return s;
        Tk = conv2d_out_frames(&n->conv[k].s, Tk);
        x = n->act[k];
    }
    int hl_drop = train && rng && c->cell == MODEL_CELL_HLSTM && c->dropout > 0.0f;
    n->dropped = train && rng && c->cell == MODEL_CELL_LSTM && c->dropout > 0.0f;
    const float p_keep = 1.0f - c->dropout;
    for (int l = 0; l < c->n_layers; l++) {
        BirnnWeights w;
        asr_layer_views(m, m->w, l, &w);
        n->rnn[l].tau = c->state_tau;
        birnn_forward(&n->rnn[l], &w, x, To, 1, n->y[l], hl_drop ? c->dropout : 0.0f, hl_drop ? rng : NULL);
        if (train && c->state_tau > 0.0f) {
            n->state_zero += (double)n->rnn[l].n_zero;
            n->state_n += 2.0 * To * c->hidden[l];
        }
        if (n->dropped) drop_outputs(n->y[l], n->ymask[l], (size_t)To * c->hidden[l], p_keep, rng);
        x = n->y[l];
    }
    const ModelParam *d = &m->p[asr_decoder_tensor(m)];
    int H = c->hidden[c->n_layers - 1];
    for (int t = 0; t < To; t++) memcpy(n->logits + (size_t)t * C, m->w + d[1].off, (size_t)C * sizeof(float));
    backend_sgemm(0, 1, To, C, H, 1.0f, x, H, m->w + d[0].off, H, 1.0f, n->logits, C);
    n->T_in = T;
    n->T_out = To;
    return TP_OK;
}

/* The convolutions' forward of one utterance feat [T][F] into n->act (the last: [T'][I_0]). */
static TpStatus conv_forward(AsrNet *n, const float *feat, int T)
{
    const Model *m = n->m;
    const float *x = feat;
    int Tk = T;
    for (int k = 0; k < m->cfg.n_conv; k++) {
        const ModelParam *p = &m->p[2 * k];
        TpStatus s = conv2d_forward(&n->conv[k], m->w + p[0].off, m->w + p[1].off, x, Tk, n->act[k]);
        if (s != TP_OK) return s;
        Tk = conv2d_out_frames(&n->conv[k].s, Tk);
        x = n->act[k];
    }
    return TP_OK;
}

/* The convolutions' backward of the utterance of T input frames they last ran forward: dy =
 * dLoss/d(output of the last convolution) [T'][I_0]; dy and dx are scratch of the widest
 * activation, both overwritten. */
static void conv_backward(AsrNet *n, float *dy, float *dx, int T)
{
    Model *m = n->m;
    const ModelConfig *c = &m->cfg;
    int Tk[MODEL_MAX_CONV + 1];
    Tk[0] = T;
    for (int k = 0; k < c->n_conv; k++) Tk[k + 1] = conv2d_out_frames(&n->conv[k].s, Tk[k]);
    for (int k = c->n_conv - 1; k >= 0; k--) {
        const ModelParam *p = &m->p[2 * k];
        conv2d_backward(&n->conv[k], m->w + p[0].off, m->g + p[0].off, m->g + p[1].off, dy, Tk[k], k > 0 ? dx : NULL);
        float *t = dy;
        dy = dx;
        dx = t;
    }
}

void asr_backward(AsrNet *n, const float *dlogits)
{
    Model *m = n->m;
    const ModelConfig *c = &m->cfg;
    const int To = n->T_out, C = c->n_vocab, L = c->n_layers, H = c->hidden[L - 1];
    const ModelParam *d = &m->p[asr_decoder_tensor(m)];
    float *gw = m->g + d[0].off, *gb = m->g + d[1].off;
    backend_sgemm(1, 0, C, H, To, 1.0f, dlogits, C, n->y[L - 1], H, 1.0f, gw, H);
    for (int t = 0; t < To; t++)
        for (int k = 0; k < C; k++) gb[k] += dlogits[(size_t)t * C + k];
    float *dy = n->s0, *dx = n->s1;
    backend_sgemm(0, 0, To, H, C, 1.0f, dlogits, C, m->w + d[0].off, H, 0.0f, dy, H);
    for (int l = L - 1; l >= 0; l--) {
        BirnnWeights w, g;
        asr_layer_views(m, m->w, l, &w);
        asr_layer_views(m, m->g, l, &g);
        const float *in = l > 0 ? n->y[l - 1] : n->act[c->n_conv - 1];
        if (n->dropped) /* through the output dropout of layer l */
            for (size_t i = 0, e = (size_t)To * c->hidden[l]; i < e; i++) dy[i] *= n->ymask[l][i];
        birnn_backward(&n->rnn[l], &g, dx, &w, in, dy, To, 1);
        float *t = dy;
        dy = dx;
        dx = t;
    }
    conv_backward(n, dy, dx, n->T_in);
}

TpStatus asr_utterance(AsrNet *n, const float *feat, int T, const int32_t *labels, int L, int train, float scale,
                       Rng *rng, double *loss)
{
    TpStatus s = asr_forward(n, feat, T, train, rng);
    if (s != TP_OK) return s;
    s = ctc_loss(n->logits, n->T_out, n->m->cfg.n_vocab, labels, L, scale, loss, train ? n->dlogits : NULL);
    if (s != TP_OK) return err_wrap(s, "asr");
    if (train && isfinite(*loss)) asr_backward(n, n->dlogits);
    return TP_OK;
}

TpStatus asr_batch(AsrNet *n, const float *const *feat, const int *T, const int32_t *const *labels, const int *L,
                   int B, int train, float scale, Rng *rng, double *loss)
{
    Model *m = n->m;
    const ModelConfig *c = &m->cfg;
    const int C = c->n_vocab, I0 = c->n_embed, NL = c->n_layers;
    if (B < 1) return err_set(TP_EINVAL, "asr: an empty batch");
    int T_max = 0, To = 0;
    for (int b = 0; b < B; b++) {
        int o = asr_out_frames(c, T[b]);
        if (T[b] < 1 || o < 1)
            return err_set(TP_EINVAL, "asr: utterance %d of the batch: %d frames is shorter than the front end's kernel", b,
                           T[b]);
        T_max = T[b] > T_max ? T[b] : T_max;
        To = o > To ? o : To;
    }
    TpStatus s = reserve(n, T_max);
    if (s == TP_OK) s = reserve_batch(n, B, To);
    if (s != TP_OK) return s;
    const size_t N = (size_t)To * B;
    /* the convolutions, one utterance at a time, into the padded batch */
    for (int b = 0; b < B; b++) {
        if ((s = conv_forward(n, feat[b], T[b])) != TP_OK) return s;
        n->blen[b] = asr_out_frames(c, T[b]);
        const float *a = n->act[c->n_conv - 1];
        for (int t = 0; t < To; t++) {
            float *o = n->bx + ((size_t)t * B + b) * I0;
            if (t < n->blen[b]) memcpy(o, a + (size_t)t * I0, (size_t)I0 * sizeof(float));
            else memset(o, 0, (size_t)I0 * sizeof(float));
        }
    }
    /* the layers and the decoder over the batch */
    int hl_drop = train && rng && c->cell == MODEL_CELL_HLSTM && c->dropout > 0.0f;
    const int dropped = train && rng && c->cell == MODEL_CELL_LSTM && c->dropout > 0.0f;
    const float p_keep = 1.0f - c->dropout;
    long valid = 0;
    for (int b = 0; b < B; b++) valid += n->blen[b];
    const float *x = n->bx;
    for (int l = 0; l < NL; l++) {
        BirnnWeights w;
        asr_layer_views(m, m->w, l, &w);
        n->brnn[l].tau = c->state_tau;
        birnn_forward_len(&n->brnn[l], &w, x, To, B, n->blen, n->by[l], hl_drop ? c->dropout : 0.0f, hl_drop ? rng : NULL);
        if (train && c->state_tau > 0.0f) {
            n->state_zero += (double)n->brnn[l].n_zero;
            n->state_n += 2.0 * valid * c->hidden[l];
        }
        if (dropped) drop_outputs(n->by[l], n->bymask[l], N * c->hidden[l], p_keep, rng);
        x = n->by[l];
    }
    const ModelParam *d = &m->p[asr_decoder_tensor(m)];
    const int H = c->hidden[NL - 1];
    for (size_t r = 0; r < N; r++) memcpy(n->blogits + r * C, m->w + d[1].off, (size_t)C * sizeof(float));
    backend_sgemm(0, 1, (int)N, C, H, 1.0f, x, H, m->w + d[0].off, H, 1.0f, n->blogits, C);
    /* the CTC loss of each utterance on its own frames (n->logits / n->dlogits: one utterance's) */
    if (train) memset(n->bdlogits, 0, N * C * sizeof(float));
    int any = 0;
    for (int b = 0; b < B; b++) {
        const int Tb = n->blen[b];
        for (int t = 0; t < Tb; t++)
            memcpy(n->logits + (size_t)t * C, n->blogits + ((size_t)t * B + b) * C, (size_t)C * sizeof(float));
        s = ctc_loss(n->logits, Tb, C, labels[b], L[b], scale, &loss[b], train ? n->dlogits : NULL);
        if (s != TP_OK) return err_wrap(s, "asr: utterance %d of the batch", b);
        if (!train || !isfinite(loss[b])) continue;
        any = 1;
        for (int t = 0; t < Tb; t++)
            memcpy(n->bdlogits + ((size_t)t * B + b) * C, n->dlogits + (size_t)t * C, (size_t)C * sizeof(float));
    }
    n->T_in = T[B - 1];
    n->T_out = n->blen[B - 1];
    if (!train || !any) return TP_OK;
    /* backward: the decoder, the layers (padding rows carry zeros), then each utterance's convolutions */
    float *gw = m->g + d[0].off, *gb = m->g + d[1].off;
    backend_sgemm(1, 0, C, H, (int)N, 1.0f, n->bdlogits, C, x, H, 1.0f, gw, H);
    for (size_t r = 0; r < N; r++)
        for (int k = 0; k < C; k++) gb[k] += n->bdlogits[r * C + k];
    float *dy = n->bs0, *dx = n->bs1;
    backend_sgemm(0, 0, (int)N, H, C, 1.0f, n->bdlogits, C, m->w + d[0].off, H, 0.0f, dy, H);
    for (int l = NL - 1; l >= 0; l--) {
        BirnnWeights w, g;
        asr_layer_views(m, m->w, l, &w);
        asr_layer_views(m, m->g, l, &g);
        const float *in = l > 0 ? n->by[l - 1] : n->bx;
        if (dropped)
            for (size_t i = 0, e = N * c->hidden[l]; i < e; i++) dy[i] *= n->bymask[l][i];
        birnn_backward_len(&n->brnn[l], &g, dx, &w, in, dy, To, B);
        float *t = dy;
        dy = dx;
        dx = t;
    }
    /* dy: [To][B][I_0], dLoss/d(the convolutions' outputs) */
    for (int b = 0; b < B; b++) {
        if (!isfinite(loss[b])) continue;
        if ((s = conv_forward(n, feat[b], T[b])) != TP_OK) return s; /* the caches are the last utterance's */
        for (int t = 0; t < n->blen[b]; t++)
            memcpy(n->s0 + (size_t)t * I0, dy + ((size_t)t * B + b) * I0, (size_t)I0 * sizeof(float));
        conv_backward(n, n->s0, n->s1, T[b]);
    }
    return TP_OK;
}

TpStatus asr_log_probs(AsrNet *n, const float *feat, int T, float *logp, int *T_out)
{
    TpStatus s = asr_forward(n, feat, T, 0, NULL);
    if (s != TP_OK) return s;
    const int C = n->m->cfg.n_vocab;
    for (int t = 0; t < n->T_out; t++) {
        const float *u = n->logits + (size_t)t * C;
        float *o = logp + (size_t)t * C;
        double mx = u[0], z = 0.0;
        for (int k = 1; k < C; k++) mx = u[k] > mx ? u[k] : mx;
        for (int k = 0; k < C; k++) z += exp((double)u[k] - mx);
        double lz = mx + log(z);
        for (int k = 0; k < C; k++) o[k] = (float)((double)u[k] - lz);
    }
    *T_out = n->T_out;
    return TP_OK;
}
