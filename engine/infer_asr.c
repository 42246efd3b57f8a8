/* engine/infer_asr: see infer_asr.h.  Compiled with -O3 (the frame loops).  Building and stepping a
 * layer, choosing a kernel and trimming are engine/infer's own (infer_layer_*, infer_matrix_init,
 * infer_trim); this file adds the convolutions, the two directions and the per-frame decoder. */
#include "infer_asr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr.h"
#include "backend.h"
#include "base/clock.h"
#include "base/mem.h"

static float *dup_floats(const float *src, size_t n)
{
    float *p = backend_alloc(n, sizeof(float));
    if (p && src) memcpy(p, src, n * sizeof(float));
    return p;
}

static TpStatus build(InferAsr *r, const Model *m, const InferOptions *o)
{
    const ModelConfig *c = &m->cfg;
    TpStatus st = TP_OK;
    for (int k = 0; k < c->n_conv && st == TP_OK; k++) {
        const ModelParam *p = &m->p[2 * k];
        Conv2dShape sh = asr_conv_shape(c, k);
        if ((st = conv2d_cache_init(&r->conv[k], &sh)) != TP_OK) return st;
        r->conv_w[k] = dup_floats(m->w + p[0].off, (size_t)p[0].rows * p[0].cols);
        r->conv_b[k] = dup_floats(m->w + p[1].off, (size_t)p[1].rows * p[1].cols);
        if (!r->conv_w[k] || !r->conv_b[k]) return err_set(TP_ENOMEM, "runtime: out of memory");
    }
    char prefix[16];
    for (int l = 0; l < c->n_layers; l++) {
        BirnnWeights w;
        asr_layer_views(m, m->w, l, &w);
        for (int d = 0; d < 2; d++) {
            snprintf(prefix, sizeof prefix, "l%d.%s", l, d ? "bw" : "fw");
            st = infer_layer_init(&r->k, &r->dir[l][d], r->mat, &r->n_mat, prefix, model_layer_input(m, l), c->hidden[l],
                                  w.hlstm ? NULL : &w.l[d], w.hlstm ? &w.h[d] : NULL, o);
            if (st != TP_OK) return st;
        }
    }
    const ModelParam *dp = &m->p[asr_decoder_tensor(m)];
    const int H = c->hidden[c->n_layers - 1];
    r->dec = &r->mat[r->n_mat++];
    if ((st = infer_matrix_init(&r->k, r->dec, "decoder.weight", m->w + dp[0].off, c->n_vocab, H, H, o, 0)) != TP_OK)
        return st;
    if (!(r->dec_b = dup_floats(m->w + dp[1].off, (size_t)c->n_vocab))) return err_set(TP_ENOMEM, "runtime: out of memory");
    return TP_OK;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ms per second of audio of each plan on a synthetic utterance (2 s: 200 frames of 10 ms, values
 * in [-1, 1)): a warm-up forward each, then ROUNDS interleaved, the medians. */
static TpStatus time_plans(InferAsr *r, double ms[2])
{
    enum { FRAMES = 200, ROUNDS = 5 };
    const int F = r->cfg.n_feat;
    float *feat = backend_alloc((size_t)FRAMES * F, sizeof(float));
    if (!feat) return err_set(TP_ENOMEM, "runtime: out of memory timing the plans");
    for (size_t i = 0; i < (size_t)FRAMES * F; i++) feat[i] = (float)((i * 7919) % 199) / 99.5f - 1.0f;
    double samples[2][ROUNDS];
    const float *lg;
    int To;
    TpStatus st = TP_OK;
    for (int round = -1; round < ROUNDS && st == TP_OK; round++)
        for (int p = 0; p < 2 && st == TP_OK; p++) {
            r->parallel = p;
            double t0 = clock_now();
            st = infer_asr_forward(r, feat, FRAMES, &lg, &To);
            if (round >= 0) samples[p][round] = (clock_now() - t0) * 1e3 / (FRAMES * 0.01);
        }
    free(feat);
    for (int p = 0; p < 2 && st == TP_OK; p++) {
        qsort(samples[p], ROUNDS, sizeof(double), cmp_dbl);
        ms[p] = samples[p][ROUNDS / 2];
    }
    return st;
}

/* The directions' plan (infer_asr.h, Threads): in turn, at once, or the faster of the two as timed. */
static TpStatus choose_plan(InferAsr *r, const InferOptions *o)
{
    int threads = o->threads > 0 && o->threads < r->k.cost.threads ? o->threads : r->k.cost.threads, blas = 0;
    for (int i = 0; i < r->n_mat; i++) /* every matrix but the decoder is a direction's */
        blas |= &r->mat[i] != r->dec && r->mat[i].w.kind == SPARSE_DENSE;
    if (o->directions == 0) return TP_OK;
    if (threads < 2 || blas) {
        if (o->directions < 0) return TP_OK;
        return err_set(TP_EINVAL, "runtime: the directions cannot run at once: %s",
                       threads < 2 ? "one thread (--threads 2 or more)" : "a direction's matrix is dense (BLAS)");
    }
    TpStatus st = sparse_pool_create(&r->dir_pool, 2);
    if (st != TP_OK) return st;
    r->parallel = 1;
    if (o->directions < 0) {
        if ((st = time_plans(r, r->plan_ms)) != TP_OK) return st;
        r->parallel = r->plan_ms[1] < r->plan_ms[0];
        r->k.steps = r->k.state_zero = r->k.state_n = r->k.state_uses = r->k.rec_products = 0;
    }
    if (!r->parallel) {
        sparse_pool_free(r->dir_pool);
        r->dir_pool = NULL;
        return TP_OK;
    }
    /* a threaded variant of a direction's matrix now runs whole on its direction's thread */
    for (int i = 0; i < r->n_mat; i++)
        if (&r->mat[i] != r->dec) r->mat[i].kernel.threads = 1;
    return TP_OK;
}

TpStatus infer_asr_init(InferAsr *r, const Model *m0, const InferOptions *o)
{
    memset(r, 0, sizeof *r);
    InferOptions def;
    if (m0->cfg.task != MODEL_TASK_ASR)
        return err_set(TP_EINVAL, "runtime: infer_asr runs a speech (ASR) model; a language model runs through infer_init");
    if (infer_options_resolve(&o, &def) != TP_OK) return TP_EINVAL;
    infer_kernels_init(&r->k, o, m0->cfg.state_tau);
    Model trimmed = {0};
    const Model *m = m0;
    TpStatus st = TP_OK;
    if (o->trim) {
        if ((st = infer_trim(&trimmed, m0, NULL)) != TP_OK) return st;
        m = &trimmed;
    }
    r->cfg = m->cfg;
    for (int l = 0; l < m->cfg.n_layers; l++) r->nominal[l] = m0->cfg.hidden[l];
    st = build(r, m, o);
    model_free(&trimmed);
    if (st == TP_OK) st = choose_plan(r, o);
    if (st != TP_OK) infer_asr_free(r);
    return st;
}

static void release_buffers(InferAsr *r)
{
    for (int k = 0; k < MODEL_MAX_CONV; k++) {
        free(r->act[k]);
        r->act[k] = NULL;
    }
    MEM_FREE_ALL(r->y[0], r->y[1], r->yb, r->logits);
    r->y[0] = r->y[1] = r->yb = r->logits = NULL;
    r->T_cap = 0;
}

void infer_asr_free(InferAsr *r)
{
    for (int i = 0; i < r->n_mat; i++) infer_matrix_free(&r->mat[i]);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        infer_layer_free(&r->dir[l][0]);
        infer_layer_free(&r->dir[l][1]);
    }
    for (int k = 0; k < MODEL_MAX_CONV; k++) {
        conv2d_cache_free(&r->conv[k]);
        MEM_FREE_ALL(r->conv_w[k], r->conv_b[k]);
    }
    release_buffers(r);
    free(r->dec_b);
    sparse_pool_free(r->dir_pool);
    infer_kernels_free(&r->k);
    memset(r, 0, sizeof *r);
}

/* Buffers for utterances of up to T input frames. */
static TpStatus reserve(InferAsr *r, int T)
{
    if (T <= r->T_cap) return TP_OK;
    release_buffers(r);
    const ModelConfig *c = &r->cfg;
    int Tk = T, To = asr_out_frames(c, T), Hmax = 1, ok = 1;
    for (int k = 0; k < c->n_conv && ok; k++) {
        const Conv2dShape *sh = &r->conv[k].s;
        Tk = conv2d_out_frames(sh, Tk);
        ok = (r->act[k] = backend_alloc((size_t)Tk * sh->K * conv2d_out_freq(sh), sizeof(float))) != NULL;
    }
    for (int l = 0; l < c->n_layers; l++) Hmax = c->hidden[l] > Hmax ? c->hidden[l] : Hmax;
    ok = ok && (r->y[0] = backend_alloc((size_t)To * Hmax, sizeof(float))) != NULL &&
         (r->y[1] = backend_alloc((size_t)To * Hmax, sizeof(float))) != NULL &&
         (r->yb = backend_alloc((size_t)To * Hmax, sizeof(float))) != NULL &&
         (r->logits = backend_alloc((size_t)To * c->n_vocab, sizeof(float))) != NULL;
    if (!ok) {
        release_buffers(r);
        return err_set(TP_ENOMEM, "runtime: out of memory for an utterance of %d frames", T);
    }
    r->T_cap = T;
    return TP_OK;
}

/* One direction of layer l on pool thread t (0 forward into y, 1 backward into r->yb), with its
 * own counters and no pool: its products run whole on this thread. */
typedef struct {
    InferAsr *r;
    int l, To, I;
    const float *x;
    float *y;
    InferKernels k[2];
} DirectionJob;

static void direction_run(void *arg, int t)
{
    DirectionJob *j = arg;
    if (t > 1) return;
    InferLayer *ly = &j->r->dir[j->l][t];
    const int H = ly->H;
    float *out = t ? j->r->yb : j->y;
    infer_layer_reset(ly);
    for (int q = 0; q < j->To; q++) {
        int f = t ? j->To - 1 - q : q;
        memcpy(out + (size_t)f * H, infer_layer_step(&j->k[t], ly, j->x + (size_t)f * j->I), (size_t)H * sizeof(float));
    }
}

static void directions_at_once(InferAsr *r, int l, int To, const float *x, int I, float *y)
{
    DirectionJob j = {.r = r, .l = l, .To = To, .I = I, .x = x, .y = y};
    for (int d = 0; d < 2; d++) {
        j.k[d] = r->k;
        j.k[d].pool = NULL;
        j.k[d].state_zero = j.k[d].state_n = j.k[d].state_uses = j.k[d].rec_products = 0;
    }
    sparse_pool_run(r->dir_pool, direction_run, &j);
    const size_t n = (size_t)To * r->dir[l][0].H;
    const float *yb = r->yb;
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] += yb[i]; /* h~fw + h~bw, as the sequential plan sums */
    for (int d = 0; d < 2; d++) {
        r->k.state_zero += j.k[d].state_zero;
        r->k.state_n += j.k[d].state_n;
        r->k.state_uses += j.k[d].state_uses;
        r->k.rec_products += j.k[d].rec_products;
    }
}

TpStatus infer_asr_forward(InferAsr *r, const float *feat, int T, const float **logits, int *T_out)
{
    const ModelConfig *c = &r->cfg;
    const int To = asr_out_frames(c, T), C = c->n_vocab;
    if (T < 1 || To < 1)
        return err_set(TP_EINVAL, "asr: an utterance of %d frames is shorter than the front end's kernel", T);
    TpStatus st = reserve(r, T);
    if (st != TP_OK) return st;
    const float *x = feat;
    int Tk = T;
    for (int k = 0; k < c->n_conv; k++) { /* dense: im2col and one sgemm */
        if ((st = conv2d_forward(&r->conv[k], r->conv_w[k], r->conv_b[k], x, Tk, r->act[k])) != TP_OK) return st;
        Tk = conv2d_out_frames(&r->conv[k].s, Tk);
        x = r->act[k];
    }
    int I = c->n_embed, H = I;
    for (int l = 0; l < c->n_layers; l++) {
        float *y = r->y[l % 2];
        InferLayer *fw = &r->dir[l][0], *bw = &r->dir[l][1];
        H = c->hidden[l];
        if (r->parallel) {
            directions_at_once(r, l, To, x, I, y);
            r->k.steps += To;
            x = y;
            I = H;
            continue;
        }
        infer_layer_reset(fw);
        for (int t = 0; t < To; t++) memcpy(y + (size_t)t * H, infer_layer_step(&r->k, fw, x + (size_t)t * I), (size_t)H * sizeof(float));
        infer_layer_reset(bw);
        for (int t = To - 1; t >= 0; t--) {
            const float *h = infer_layer_step(&r->k, bw, x + (size_t)t * I);
            float *o = y + (size_t)t * H;
#pragma omp simd
            for (int j = 0; j < H; j++) o[j] += h[j];
        }
        r->k.steps += To;
        x = y;
        I = H;
    }
    for (int t = 0; t < To; t++) {
        float *z = r->logits + (size_t)t * C;
        memcpy(z, r->dec_b, (size_t)C * sizeof(float));
        infer_matrix_gemv(&r->k, r->dec, z, x + (size_t)t * H, 1);
    }
    r->T_out = To;
    *logits = r->logits;
    *T_out = To;
    return TP_OK;
}

void infer_asr_summary(const InferAsr *r, char *buf, size_t n)
{
    infer_matrices_summary(r->mat, r->n_mat, r->cfg.hidden, r->nominal, r->cfg.n_layers, buf, n);
    size_t used = strlen(buf);
    if (r->parallel && used < n) snprintf(buf + used, n - used, "; directions at once");
}

void infer_asr_describe(const InferAsr *r, char *buf, size_t n)
{
    infer_matrices_describe(r->mat, r->n_mat, r->cfg.hidden, r->nominal, r->cfg.n_layers, r->k.cost.measured, buf, n);
    size_t used = strlen(buf);
    if (used >= n) return;
    if (r->plan_ms[0] > 0)
        snprintf(buf + used, n - used, "directions: %s (timed at init: %.3f ms per second of audio in turn, %.3f at once)\n",
                 r->parallel ? "at once, one thread each" : "in turn, products over the threads", r->plan_ms[0], r->plan_ms[1]);
    else
        snprintf(buf + used, n - used, "directions: %s\n", r->parallel ? "at once, one thread each" : "in turn");
}

double infer_asr_state_sparsity(const InferAsr *r) { return r->k.state_n > 0 ? r->k.state_zero / r->k.state_n : NAN; }
