/* engine/model: see model.h. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "base/fsutil.h"
#include "vmath.h"

TpStatus model_config_check(const ModelConfig *c)
{
    if (c->task == MODEL_TASK_ASR) return model_asr_config_check(c);
    if (c->task != MODEL_TASK_LM) return err_set(TP_EINVAL, "model: unknown task %d", (int)c->task);
    if (c->n_vocab < 2) return err_set(TP_EINVAL, "model: vocabulary of %d tokens (need at least 2)", c->n_vocab);
    if (c->n_embed < 1 || c->n_embed > 65536) return err_set(TP_ERANGE, "--embed: expected 1..65536, got %d", c->n_embed);
    if (c->n_layers < 1 || c->n_layers > MODEL_MAX_LAYERS)
        return err_set(TP_ERANGE, "--layers: expected 1..%d, got %d", MODEL_MAX_LAYERS, c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
        if (c->hidden[l] < 1 || c->hidden[l] > 65536)
            return err_set(TP_ERANGE, "--hidden: layer %d: expected 1..65536, got %d", l, c->hidden[l]);
    if (c->cell == MODEL_CELL_HLSTM) {
        if (c->gate_hidden <= 0)
            return err_set(TP_EINVAL, "--cell hlstm needs --gate-hidden M (width of the hidden layer inside each gate, "
                                      "1..65536), got %d", c->gate_hidden);
        if (c->gate_hidden > 65536)
            return err_set(TP_ERANGE, "--gate-hidden: expected 1..65536, got %d", c->gate_hidden);
    } else if (c->cell != MODEL_CELL_LSTM) {
        return err_set(TP_EINVAL, "--cell: unknown cell %d", (int)c->cell);
    }
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return err_set(TP_ERANGE, "--dropout: expected 0 <= p < 1, got %g", (double)c->dropout);
    if (!(c->init_scale > 0.0f && c->init_scale < 10.0f))
        return err_set(TP_ERANGE, "init scale: expected 0 < s < 10, got %g", (double)c->init_scale);
    if (!(c->state_tau >= 0.0f && c->state_tau <= 1000.0f))
        return err_set(TP_ERANGE, "state tau: expected 0 <= tau <= 1000, got %g", (double)c->state_tau);
    if (c->tie != 0 && c->tie != 1) return err_set(TP_EINVAL, "--tie: expected 0 or 1, got %d", c->tie);
    if (c->tie && c->n_embed != c->hidden[c->n_layers - 1])
        return err_set(TP_EINVAL,
                       "--tie: the tied embedding is also the decoder, so its width (--embed %d) must equal the last "
                       "layer's hidden size (%d)", c->n_embed, c->hidden[c->n_layers - 1]);
    return TP_OK;
}

int model_decoder_index(const ModelConfig *c) { return c->tie ? 0 : 1 + 4 * c->n_layers; }
int model_decoder_bias_index(const ModelConfig *c) { return (c->tie ? 1 : 2) + 4 * c->n_layers; }

int model_layer_input(const Model *m, int l) { return l == 0 ? m->cfg.n_embed : m->cfg.hidden[l - 1]; }

LstmCache *model_cell_cache(Model *m, int l)
{
    return m->cfg.cell == MODEL_CELL_HLSTM ? &m->hcache[l].cell : &m->cache[l];
}

static ModelAxis ax_fixed(int n) { return (ModelAxis){1, 1, {{-1, n}, {-1, 0}}}; }
static ModelAxis ax_units(int layer, int reps) { return (ModelAxis){reps, 1, {{layer, 0}, {-1, 0}}}; }
/* the input of layer l: the embedding (fixed) or layer l-1's units */
static ModelAxis ax_input(const ModelConfig *c, int l) { return l == 0 ? ax_fixed(c->n_embed) : ax_units(l - 1, 1); }

static int seg_len(const ModelAxis *a, const ModelConfig *cfg, int s)
{
    return a->seg[s].layer < 0 ? a->seg[s].n : cfg->hidden[a->seg[s].layer];
}

static int axis_len(const ModelAxis *a, const ModelConfig *cfg)
{
    int n = 0;
    for (int s = 0; s < a->n_seg; s++) n += seg_len(a, cfg, s);
    return a->reps * n;
}

int model_axis_unit(const ModelAxis *a, const ModelConfig *cfg, int idx, int layer)
{
    int per = axis_len(a, cfg) / a->reps;
    idx %= per;
    for (int s = 0; s < a->n_seg; s++) {
        int n = seg_len(a, cfg, s);
        if (idx < n) return a->seg[s].layer == layer ? idx : -1;
        idx -= n;
    }
    return -1;
}

void model_add_param(Model *m, const char *name, ParamKind kind, int layer, ModelAxis rows, ModelAxis cols)
{
    ModelParam *p = &m->p[m->n_tensors++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->layer = layer;
    p->axis[0] = rows;
    p->axis[1] = cols;
    p->rows = axis_len(&rows, &m->cfg);
    p->cols = axis_len(&cols, &m->cfg);
    p->off = m->n_params;
    p->n = (size_t)p->rows * p->cols;
    /* keep every tensor 16-float aligned so kernels may use aligned vector loads */
    m->n_params += (p->n + 15) & ~(size_t)15;
}

/* The registry for m->cfg (names, shapes, axes, offsets); the same for model_init and model_relayout,
 * so a resized model is laid out exactly as a fresh one of its sizes. */
static void build_registry(Model *m)
{
    const ModelConfig *c = &m->cfg;
    int L = c->n_layers;
    char name[32];
    if (c->task == MODEL_TASK_ASR) {
        model_asr_registry(m);
        return;
    }
    /* tied, embed.weight is also the decoder's weight matrix: selected by default as one (mask.h) */
    model_add_param(m, "embed.weight", c->tie ? PARAM_WEIGHT : PARAM_EMBED, -1, ax_fixed(c->n_vocab), ax_fixed(c->n_embed));
    for (int l = 0; l < L; l++) {
        if (c->cell == MODEL_CELL_HLSTM) {
            ModelAxis z = ax_input(c, l); /* fc1 columns: [x; h] */
            z.n_seg = 2;
            z.seg[1].layer = l;
            snprintf(name, sizeof name, "l%d.fc1.weight", l);
            model_add_param(m, name, PARAM_WEIGHT, l, ax_fixed(4 * c->gate_hidden), z);
            snprintf(name, sizeof name, "l%d.fc1.bias", l);
            model_add_param(m, name, PARAM_BIAS, l, ax_fixed(4 * c->gate_hidden), ax_fixed(1));
            snprintf(name, sizeof name, "l%d.fc2.weight", l);
            model_add_param(m, name, PARAM_WEIGHT, l, ax_units(l, 4), ax_fixed(c->gate_hidden));
            snprintf(name, sizeof name, "l%d.fc2.bias", l);
            model_add_param(m, name, PARAM_BIAS, l, ax_units(l, 4), ax_fixed(1));
        } else {
            snprintf(name, sizeof name, "l%d.w_ih", l);
            model_add_param(m, name, PARAM_WEIGHT, l, ax_units(l, 4), ax_input(c, l));
            snprintf(name, sizeof name, "l%d.w_hh", l);
            model_add_param(m, name, PARAM_WEIGHT, l, ax_units(l, 4), ax_units(l, 1));
            snprintf(name, sizeof name, "l%d.b_ih", l);
            model_add_param(m, name, PARAM_BIAS, l, ax_units(l, 4), ax_fixed(1));
            snprintf(name, sizeof name, "l%d.b_hh", l);
            model_add_param(m, name, PARAM_BIAS, l, ax_units(l, 4), ax_fixed(1));
        }
    }
    if (!c->tie) model_add_param(m, "decoder.weight", PARAM_WEIGHT, -1, ax_fixed(c->n_vocab), ax_units(L - 1, 1));
    model_add_param(m, "decoder.bias", PARAM_BIAS, -1, ax_fixed(c->n_vocab), ax_fixed(1));
}

static void bind_views(Model *m)
{
    int L = m->cfg.n_layers;
    if (m->cfg.task == MODEL_TASK_ASR) return; /* engine/asr binds its views from the registry */
    m->embed = m->w + m->p[0].off;
    for (int l = 0; l < L; l++) {
        const ModelParam *p = &m->p[1 + 4 * l];
        int I = model_layer_input(m, l), H = m->cfg.hidden[l];
        if (m->cfg.cell == MODEL_CELL_HLSTM) {
            int M = m->cfg.gate_hidden;
            m->hw[l] = (HlstmWeights){I, H, M, m->w + p[0].off, m->w + p[1].off, m->w + p[2].off, m->w + p[3].off};
            m->hg[l] = (HlstmWeights){I, H, M, m->g + p[0].off, m->g + p[1].off, m->g + p[2].off, m->g + p[3].off};
        } else {
            m->lw[l] = (LstmWeights){I, H, m->w + p[0].off, m->w + p[1].off, m->w + p[2].off, m->w + p[3].off};
            m->lg[l] = (LstmWeights){I, H, m->g + p[0].off, m->g + p[1].off, m->g + p[2].off, m->g + p[3].off};
        }
    }
    m->dec_w = m->w + m->p[model_decoder_index(&m->cfg)].off;
    m->dec_b = m->w + m->p[model_decoder_bias_index(&m->cfg)].off;
}

TpStatus model_init(Model *m, const ModelConfig *cfg, Rng *rng)
{
    memset(m, 0, sizeof *m);
    TpStatus s = model_config_check(cfg);
    if (s != TP_OK) return s;
    m->cfg = *cfg;
    build_registry(m);
    /* weights, gradients (F32) and masks (U8): refuse what this machine cannot hold before touching it */
    size_t n = m->n_params;
    double need = 9.0 * (double)n, mem = (double)fsutil_memory_bytes();
    if (need > mem) {
        memset(m, 0, sizeof *m);
        return err_set(TP_ENOMEM, "model: %zu parameters need %.1f GB (weights, gradients, masks), more than this "
                                  "machine's %.1f GB of memory", n, need / 1e9, mem / 1e9);
    }
    m->w = backend_alloc(n, sizeof(float));
    m->g = backend_alloc(n, sizeof(float));
    m->mask = backend_alloc(n, 1);
    if (!m->w || !m->g || !m->mask) {
        const char *which = !m->w ? "weights" : !m->g ? "gradients" : "masks";
        model_free(m);
        return err_set(TP_ENOMEM, "model: out of memory allocating the %s of %zu parameters (%.1f MB)", which, n,
                       (double)n * (strcmp(which, "masks") ? 4.0 : 1.0) / 1e6);
    }
    /* parameters in registry order, each from the same stream: reproducible for a seed */
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        for (size_t i = 0; i < p->n; i++) {
            m->w[p->off + i] = rng_range(rng, -cfg->init_scale, cfg->init_scale);
            m->mask[p->off + i] = 1;
        }
    }
    bind_views(m);
    return TP_OK;
}

TpStatus model_count_params(const ModelConfig *cfg, size_t *n)
{
    *n = 0;
    TpStatus s = model_config_check(cfg);
    if (s != TP_OK) return s;
    Model *m = calloc(1, sizeof *m);
    if (!m) return err_set(TP_ENOMEM, "model: out of memory");
    m->cfg = *cfg;
    build_registry(m);
    for (int t = 0; t < m->n_tensors; t++) *n += m->p[t].n;
    free(m);
    return TP_OK;
}

static int max_width(const Model *m)
{
    int w = m->cfg.n_embed;
    for (int l = 0; l < m->cfg.n_layers; l++) w = m->cfg.hidden[l] > w ? m->cfg.hidden[l] : w;
    return w;
}

static void release_buffers(Model *m)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        lstm_cache_free(&m->cache[l]);
        hlstm_cache_free(&m->hcache[l]);
    }
    for (int l = 0; l <= MODEL_MAX_LAYERS; l++) {
        free(m->xin[l]);
        free(m->dmask[l]);
        m->xin[l] = m->dmask[l] = NULL;
    }
    free(m->emb);
    free(m->logits);
    free(m->dtop);
    free(m->dx);
    m->emb = m->logits = m->dtop = m->dx = NULL;
    m->T = m->B = 0;
}

/* A lower bound of the activation bytes of a window of N = T B tokens (the buffers below and the
 * layer caches), to refuse a window this machine cannot hold with a clear message instead of
 * letting an overcommitted allocation be killed later when it is touched. */
static double activation_bytes(const Model *m, size_t N)
{
    double per = m->cfg.n_embed + m->cfg.n_vocab + 2.0 * max_width(m);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        double H = m->cfg.hidden[l];
        per += 2.0 * model_layer_input(m, l) + 6.0 * H; /* dropout in/mask; gates, c, h, tanh c */
        if (m->cfg.cell == MODEL_CELL_HLSTM) per += 8.0 * m->cfg.gate_hidden;
    }
    return 4.0 * per * (double)N;
}

TpStatus model_reserve(Model *m, int T, int B)
{
    if (T <= 0 || B <= 0) return err_set(TP_EINVAL, "model: bad window T=%d B=%d", T, B);
    if (m->cfg.task != MODEL_TASK_LM) return err_set(TP_EINVAL, "model: an ASR model runs through engine/asr");
    if (T <= m->T && B <= m->B) return TP_OK;
    if (T < m->T) T = m->T;
    if (B < m->B) B = m->B;
    size_t N = (size_t)T * B;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    double need = activation_bytes(m, N), have = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0.0;
    if (have > 0.0 && need > have)
        return err_set(TP_ENOMEM, "model: a window of %d steps x %d streams needs at least %.1f GiB of activations; "
                       "this machine has %.1f GiB of memory (lower --bptt, --batch or --eval-batch)",
                       T, B, need / 1073741824.0, have / 1073741824.0);
    release_buffers(m);
    int L = m->cfg.n_layers, W = max_width(m);
    int ok = 1;
    for (int l = 0; l < L && ok; l++)
        ok = (m->cfg.cell == MODEL_CELL_HLSTM
                  ? hlstm_cache_init(&m->hcache[l], model_layer_input(m, l), m->cfg.hidden[l], m->cfg.gate_hidden, T, B)
                  : lstm_cache_init(&m->cache[l], model_layer_input(m, l), m->cfg.hidden[l], T, B)) == TP_OK;
    for (int l = 0; l <= L && ok; l++) {
        int in = l < L ? model_layer_input(m, l) : m->cfg.hidden[L - 1];
        int site = l < L ? l : MODEL_MAX_LAYERS;
        m->xin[site] = backend_alloc(N * in, sizeof(float));
        m->dmask[site] = backend_alloc(N * in, sizeof(float));
        ok = m->xin[site] && m->dmask[site];
    }
    m->emb = backend_alloc(N * m->cfg.n_embed, sizeof(float));
    m->logits = backend_alloc(N * m->cfg.n_vocab, sizeof(float));
    m->dtop = backend_alloc(N * W, sizeof(float));
    m->dx = backend_alloc(N * W, sizeof(float));
    if (!ok || !m->emb || !m->logits || !m->dtop || !m->dx) {
        release_buffers(m);
        return err_set(TP_ENOMEM, "model: out of memory for activations of T=%d B=%d", T, B);
    }
    m->T = T;
    m->B = B;
    return TP_OK;
}

void model_free(Model *m)
{
    release_buffers(m);
    free(m->w);
    free(m->g);
    free(m->mask);
    memset(m, 0, sizeof *m);
}

const ModelParam *model_param(const Model *m, const char *name)
{
    for (int t = 0; t < m->n_tensors; t++)
        if (strcmp(m->p[t].name, name) == 0) return &m->p[t];
    return NULL;
}

TpStatus model_state_init(ModelState *s, const Model *m, int B)
{
    memset(s, 0, sizeof *s);
    s->B = B;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        s->h[l] = backend_alloc((size_t)B * m->cfg.hidden[l], sizeof(float));
        s->c[l] = backend_alloc((size_t)B * m->cfg.hidden[l], sizeof(float));
        if (!s->h[l] || !s->c[l]) {
            model_state_free(s);
            return err_set(TP_ENOMEM, "model: out of memory for the recurrent state");
        }
    }
    return TP_OK;
}

void model_state_zero(ModelState *s, const Model *m)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        memset(s->h[l], 0, (size_t)s->B * m->cfg.hidden[l] * sizeof(float));
        memset(s->c[l], 0, (size_t)s->B * m->cfg.hidden[l] * sizeof(float));
    }
}

void model_state_free(ModelState *s)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        free(s->h[l]);
        free(s->c[l]);
    }
    memset(s, 0, sizeof *s);
}

/* Inverted dropout of n values: out = in * mask, mask = 0 or 1/(1-p). */
static void dropout_draw(float *out, float *mask, const float *in, size_t n, float p, Rng *rng)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = rng_uniform(rng) < p ? 0.0f : keep;
        out[i] = in[i] * mask[i];
    }
}

static void mul_inplace(float *x, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= mask[i];
}

/* Embedding and the stacked layers over a window x [Tw*B] from state s (updated to the final one);
 * *top gets the last layer's output (before the decoder's dropout).  y (may be NULL) is range-checked
 * with x. */
static TpStatus forward_layers(Model *m, ModelState *s, const int32_t *x, const int32_t *y, int Tw, int B, int train,
                               Rng *rng, const float **top)
{
    if (Tw > m->T || B > m->B || m->cfg.task != MODEL_TASK_LM) {
        TpStatus st = model_reserve(m, Tw, B);
        if (st != TP_OK) return st;
    }
    if (s->B != B) return err_set(TP_EINVAL, "model: state has batch %d, window has %d", s->B, B);
    const int L = m->cfg.n_layers, E = m->cfg.n_embed, V = m->cfg.n_vocab;
    const size_t N = (size_t)Tw * B;
    int drop = train && m->cfg.dropout > 0.0f;
    for (size_t r = 0; r < N; r++) {
        if (x[r] < 0 || x[r] >= V || (y && (y[r] < 0 || y[r] >= V)))
            return err_set(TP_EINVAL, "model: token id out of range 0..%d", V - 1);
        memcpy(m->emb + r * E, m->embed + (size_t)x[r] * E, (size_t)E * sizeof(float));
    }
    const float *in = m->emb;
    for (int l = 0; l < L; l++) {
        int I = model_layer_input(m, l), H = m->cfg.hidden[l];
        if (drop) {
            dropout_draw(m->xin[l], m->dmask[l], in, N * I, m->cfg.dropout, rng);
            in = m->xin[l];
        }
        LstmCache *c = model_cell_cache(m, l);
        c->tau = m->cfg.state_tau;
        memcpy(c->h, s->h[l], (size_t)B * H * sizeof(float));
        memcpy(c->c, s->c[l], (size_t)B * H * sizeof(float));
        if (m->cfg.cell == MODEL_CELL_HLSTM)
            hlstm_forward(&m->hcache[l], &m->hw[l], in, Tw, B, drop ? m->cfg.dropout : 0.0f, rng);
        else
            lstm_forward(c, &m->lw[l], in, Tw, B);
        memcpy(s->h[l], c->h + N * H, (size_t)B * H * sizeof(float));
        memcpy(s->c[l], c->c + N * H, (size_t)B * H * sizeof(float));
        if (train && c->tau > 0.0f) {
            m->state_zero += (double)c->n_zero;
            m->state_n += (double)N * H;
        }
        in = lstm_cache_out(c, B);
    }
    *top = in;
    return TP_OK;
}

/* m->logits [N, V] = in [N, H_last] dec_w^T + dec_b */
static void decoder_logits(Model *m, const float *in, size_t N)
{
    const int V = m->cfg.n_vocab, Hl = m->cfg.hidden[m->cfg.n_layers - 1];
    for (size_t r = 0; r < N; r++) memcpy(m->logits + r * V, m->dec_b, (size_t)V * sizeof(float));
    backend_sgemm(0, 1, (int)N, V, Hl, 1.0f, in, Hl, m->dec_w, Hl, 1.0f, m->logits, V);
}

TpStatus model_forward(Model *m, ModelState *s, const int32_t *x, const int32_t *y, int Tw, int B,
                       int train, float grad_scale, Rng *rng, double *nll, long *n_correct)
{
    const float *in = NULL;
    TpStatus st = forward_layers(m, s, x, y, Tw, B, train, rng, &in);
    if (st != TP_OK) return st;
    const int L = m->cfg.n_layers, V = m->cfg.n_vocab;
    const size_t N = (size_t)Tw * B;
    int Hl = m->cfg.hidden[L - 1];
    if (train && m->cfg.dropout > 0.0f) {
        dropout_draw(m->xin[MODEL_MAX_LAYERS], m->dmask[MODEL_MAX_LAYERS], in, N * Hl, m->cfg.dropout, rng);
        in = m->xin[MODEL_MAX_LAYERS];
    }
    decoder_logits(m, in, N);
    *nll = vmath_softmax_xent(m->logits, y, (int)N, V, train ? grad_scale : 0.0f, n_correct);
    if (!isfinite(*nll)) return err_set(TP_ENAN, "model: the loss is not finite (%g)", *nll);
    m->last_x = x;
    return TP_OK;
}

TpStatus model_forward_state(Model *m, ModelState *s, const int32_t *x, int Tw, int B)
{
    const float *top = NULL;
    return forward_layers(m, s, x, NULL, Tw, B, 0, NULL, &top);
}

TpStatus model_forward_logits(Model *m, ModelState *s, const int32_t *x, int Tw, int B)
{
    const float *top = NULL;
    TpStatus st = forward_layers(m, s, x, NULL, Tw, B, 0, NULL, &top);
    if (st == TP_OK) decoder_logits(m, top, (size_t)Tw * B);
    return st;
}

void model_backward(Model *m, int Tw, int B)
{
    const int L = m->cfg.n_layers, E = m->cfg.n_embed, V = m->cfg.n_vocab, Hl = m->cfg.hidden[L - 1];
    const size_t N = (size_t)Tw * B;
    int drop = m->cfg.dropout > 0.0f;
    const float *top = drop ? m->xin[MODEL_MAX_LAYERS] : lstm_cache_out(model_cell_cache(m, L - 1), B);
    float *gdec_w = m->g + m->p[model_decoder_index(&m->cfg)].off, *gdec_b = m->g + m->p[model_decoder_bias_index(&m->cfg)].off;
    /* decoder: dW += dlogits^T top, db += column sums, dtop = dlogits W (tied: dW lands in embed.weight's
     * gradient, to which the lookups' rows are added below) */
    backend_sgemm(1, 0, V, Hl, (int)N, 1.0f, m->logits, V, top, Hl, 1.0f, gdec_w, Hl);
    for (size_t r = 0; r < N; r++) {
        const float *d = m->logits + r * V;
#pragma omp simd
        for (int v = 0; v < V; v++) gdec_b[v] += d[v];
    }
    backend_sgemm(0, 0, (int)N, Hl, V, 1.0f, m->logits, V, m->dec_w, Hl, 0.0f, m->dtop, Hl);
    if (drop) mul_inplace(m->dtop, m->dmask[MODEL_MAX_LAYERS], N * Hl);
    float *dh = m->dtop, *dx = m->dx;
    for (int l = L - 1; l >= 0; l--) {
        int I = model_layer_input(m, l);
        const float *in = l == 0 ? m->emb : lstm_cache_out(model_cell_cache(m, l - 1), B);
        if (drop) in = m->xin[l];
        if (m->cfg.cell == MODEL_CELL_HLSTM)
            hlstm_backward(&m->hcache[l], &m->hg[l], dx, &m->hw[l], in, dh, Tw, B);
        else
            lstm_backward(&m->cache[l], &m->lg[l], dx, &m->lw[l], in, dh, Tw, B);
        if (drop) mul_inplace(dx, m->dmask[l], N * I);
        float *t = dh;
        dh = dx;
        dx = t;
    }
    /* dh now holds dLoss/d(embedding rows) */
    float *gemb = m->g + m->p[0].off;
    for (size_t r = 0; r < N; r++) {
        float *ge = gemb + (size_t)m->last_x[r] * E;
        const float *d = dh + r * E;
        for (int e = 0; e < E; e++) ge[e] += d[e];
    }
}

void model_zero_grad(Model *m) { memset(m->g, 0, m->n_params * sizeof(float)); }

void model_apply_mask(Model *m)
{
    for (size_t i = 0; i < m->n_params; i++) m->w[i] *= (float)m->mask[i];
}

size_t model_nnz(const Model *m)
{
    size_t n = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        for (size_t i = 0; i < p->n; i++) n += m->mask[p->off + i] != 0;
    }
    return n;
}

double model_state_sparsity(Model *m, int reset)
{
    double v = m->state_n > 0 ? m->state_zero / m->state_n : NAN;
    if (reset) m->state_zero = m->state_n = 0.0;
    return v;
}

/* For each index along axis a with sizes nc: the index with sizes oc it continues, or -1 (new unit). */
static void axis_map(int *out, const ModelAxis *a, const ModelConfig *oc, const ModelConfig *nc,
                     const int *const um[MODEL_MAX_LAYERS])
{
    int k = 0, old = 0;
    for (int r = 0; r < a->reps; r++)
        for (int s = 0; s < a->n_seg; s++) {
            int l = a->seg[s].layer, nn = seg_len(a, nc, s), no = seg_len(a, oc, s);
            for (int j = 0; j < nn; j++) {
                int src = l < 0 ? j : um[l] ? um[l][j] : j < no ? j : -1;
                out[k++] = src < 0 ? -1 : old + src;
            }
            old += no;
        }
}

static TpStatus check_unit_maps(const ModelConfig *oc, const ModelConfig *nc, const int *const um[MODEL_MAX_LAYERS])
{
    for (int l = 0; l < nc->n_layers; l++) {
        if (!um[l]) continue;
        uint8_t *seen = calloc((size_t)oc->hidden[l], 1);
        if (!seen) return err_set(TP_ENOMEM, "model: out of memory");
        TpStatus s = TP_OK;
        for (int j = 0; j < nc->hidden[l] && s == TP_OK; j++) {
            int u = um[l][j];
            if (u < -1 || u >= oc->hidden[l])
                s = err_set(TP_EINVAL, "model: layer %d: unit map entry %d is %d, expected -1..%d", l, j, u,
                            oc->hidden[l] - 1);
            else if (u >= 0 && seen[u]++)
                s = err_set(TP_EINVAL, "model: layer %d: old unit %d mapped twice", l, u);
        }
        free(seen);
        if (s != TP_OK) return s;
    }
    return TP_OK;
}

#define RELAYOUT_MAX_EXTRA 8

/* The arrays of a new layout nm (registry built): weights, gradients, masks and n_extra parallel
 * arrays nx.  On failure the caller frees nm and nx. */
static TpStatus alloc_layout(Model *nm, float **nx, int n_extra)
{
    nm->w = backend_alloc(nm->n_params, sizeof(float));
    nm->g = backend_alloc(nm->n_params, sizeof(float));
    nm->mask = backend_alloc(nm->n_params, 1);
    int ok = nm->w && nm->g && nm->mask;
    for (int e = 0; e < n_extra && ok; e++) ok = (nx[e] = backend_alloc(nm->n_params, sizeof(float))) != NULL;
    return ok ? TP_OK : err_set(TP_ENOMEM, "model: out of memory for a new layout of %zu parameters", nm->n_params);
}

/* m becomes nm (filled): views bound, activations reserved for m's T and B, extra[] replaced by nx[].
 * On failure nothing of m changed and the caller frees nm and nx. */
static TpStatus adopt_layout(Model *m, Model *nm, float **extra, float **nx, int n_extra)
{
    bind_views(nm);
    TpStatus st = m->T > 0 ? model_reserve(nm, m->T, m->B) : TP_OK;
    if (st != TP_OK) return st;
    nm->last_x = m->last_x;
    model_free(m);
    *m = *nm;
    for (int e = 0; e < n_extra; e++) {
        free(extra[e]);
        extra[e] = nx[e];
    }
    return TP_OK;
}

TpStatus model_relayout(Model *m, const ModelConfig *cfg, const int *const unit_map[MODEL_MAX_LAYERS],
                        float **extra, int n_extra)
{
    const ModelConfig *oc = &m->cfg;
    TpStatus st = model_config_check(cfg);
    if (st != TP_OK) return st;
    if (cfg->n_layers != oc->n_layers || cfg->n_vocab != oc->n_vocab || cfg->n_embed != oc->n_embed ||
        cfg->cell != oc->cell || (cfg->cell == MODEL_CELL_HLSTM && cfg->gate_hidden != oc->gate_hidden) ||
        cfg->task != oc->task || cfg->tie != oc->tie || cfg->n_feat != oc->n_feat || cfg->n_conv != oc->n_conv ||
        memcmp(cfg->conv, oc->conv, sizeof cfg->conv) != 0)
        return err_set(TP_EINVAL, "model: a relayout may change only the hidden sizes");
    if (n_extra < 0 || n_extra > RELAYOUT_MAX_EXTRA)
        return err_set(TP_EINVAL, "model: relayout of %d extra arrays (at most %d)", n_extra, RELAYOUT_MAX_EXTRA);
    if ((st = check_unit_maps(oc, cfg, unit_map)) != TP_OK) return st;

    Model nm;
    memset(&nm, 0, sizeof nm);
    nm.cfg = *oc;
    for (int l = 0; l < cfg->n_layers; l++) nm.cfg.hidden[l] = cfg->hidden[l];
    build_registry(&nm);
    float *nx[RELAYOUT_MAX_EXTRA] = {0};
    int max_dim = 1;
    for (int t = 0; t < nm.n_tensors; t++) {
        max_dim = nm.p[t].rows > max_dim ? nm.p[t].rows : max_dim;
        max_dim = nm.p[t].cols > max_dim ? nm.p[t].cols : max_dim;
    }
    int *rmap = malloc((size_t)max_dim * sizeof(int)), *cmap = malloc((size_t)max_dim * sizeof(int));
    if (!rmap || !cmap) {
        st = err_set(TP_ENOMEM, "model: out of memory for a relayout to %zu parameters", nm.n_params);
        goto fail;
    }
    if ((st = alloc_layout(&nm, nx, n_extra)) != TP_OK) goto fail;
    for (int t = 0; t < nm.n_tensors; t++) {
        const ModelParam *np = &nm.p[t], *op = &m->p[t];
        axis_map(rmap, &np->axis[0], oc, cfg, unit_map);
        axis_map(cmap, &np->axis[1], oc, cfg, unit_map);
        for (int r = 0; r < np->rows; r++)
            for (int c = 0; c < np->cols; c++) {
                size_t d = np->off + (size_t)r * np->cols + c;
                if (rmap[r] < 0 || cmap[c] < 0) {
                    nm.mask[d] = 1; /* a new unit's connections are live, weight 0 (callers initialise) */
                    continue;
                }
                size_t src = op->off + (size_t)rmap[r] * op->cols + cmap[c];
                nm.w[d] = m->w[src];
                nm.g[d] = m->g[src];
                nm.mask[d] = m->mask[src];
                for (int e = 0; e < n_extra; e++) nx[e][d] = extra[e][src];
            }
    }
    if ((st = adopt_layout(m, &nm, extra, nx, n_extra)) != TP_OK) goto fail;
    free(rmap);
    free(cmap);
    return TP_OK;
fail:
    free(rmap);
    free(cmap);
    model_free(&nm);
    for (int e = 0; e < n_extra; e++) free(nx[e]);
    return st;
}

TpStatus model_tie(Model *m, const char *from, float **extra, int n_extra)
{
    const ModelConfig *oc = &m->cfg;
    if (oc->task != MODEL_TASK_LM) return err_set(TP_EINVAL, "tie: only a language model has an embedding to tie");
    if (oc->tie) return err_set(TP_EINVAL, "tie: the embedding and the decoder are already tied");
    if (!from || (strcmp(from, "decoder") && strcmp(from, "embed")))
        return err_set(TP_EINVAL, "tie: from=%s: expected decoder or embed", from ? from : "(null)");
    if (n_extra < 0 || n_extra > RELAYOUT_MAX_EXTRA)
        return err_set(TP_EINVAL, "model: tie with %d extra arrays (at most %d)", n_extra, RELAYOUT_MAX_EXTRA);
    ModelConfig cfg = *oc;
    cfg.tie = 1;
    TpStatus st = model_config_check(&cfg);
    if (st != TP_OK) return st;
    const ModelParam *src_tied = model_param(m, !strcmp(from, "decoder") ? "decoder.weight" : "embed.weight");
    if (!src_tied) return err_set(TP_EINVAL, "tie: the model has no %s.weight", from);

    Model nm;
    memset(&nm, 0, sizeof nm);
    nm.cfg = cfg;
    build_registry(&nm);
    float *nx[RELAYOUT_MAX_EXTRA] = {0};
    if ((st = alloc_layout(&nm, nx, n_extra)) != TP_OK) goto fail;
    for (int t = 0; t < nm.n_tensors; t++) {
        const ModelParam *np = &nm.p[t], *op = t == 0 ? src_tied : model_param(m, np->name);
        if (!op || op->n != np->n) { /* cannot happen: the same sizes, one tensor fewer */
            st = err_set(TP_EINVAL, "tie: no tensor %s of %zu entries in the untied model", np->name, np->n);
            goto fail;
        }
        memcpy(nm.w + np->off, m->w + op->off, np->n * sizeof(float));
        memcpy(nm.g + np->off, m->g + op->off, np->n * sizeof(float));
        memcpy(nm.mask + np->off, m->mask + op->off, np->n);
        for (int e = 0; e < n_extra; e++) memcpy(nx[e] + np->off, extra[e] + op->off, np->n * sizeof(float));
    }
    nm.state_zero = m->state_zero;
    nm.state_n = m->state_n;
    if ((st = adopt_layout(m, &nm, extra, nx, n_extra)) != TP_OK) goto fail;
    return TP_OK;
fail:
    model_free(&nm);
    for (int e = 0; e < n_extra; e++) free(nx[e]);
    return st;
}
