/* engine/devtrain_eval: the evaluation protocol of engine/train (DESIGN 2.5) on the weights resident in
 * a Devtrain's backend: the split as eval_batch contiguous streams, zero initial state carried
 * through, windows of `window` steps, no dropout; only the window's tokens go in and its summed NLL
 * and hits come out.  Its activation buffers are allocated for the call and freed after. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "devtrain.h"

typedef struct {
    DevtrainLayer L[MODEL_MAX_LAYERS];
    float *emb, *logits;
    int32_t *x, *y;
} EvalBufs;

static void bufs_free(const BackendOps *o, EvalBufs *b)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        void *lay[] = {b->L[l].gates, b->L[l].h, b->L[l].c, b->L[l].tc, b->L[l].bias};
        for (size_t i = 0; i < sizeof lay / sizeof lay[0]; i++) o->free(lay[i]);
    }
    o->free(b->emb);
    o->free(b->logits);
    o->free(b->x);
    o->free(b->y);
    memset(b, 0, sizeof *b);
}

static TpStatus bufs_init(const BackendOps *o, EvalBufs *b, const ModelConfig *c, int W, int B)
{
    memset(b, 0, sizeof *b);
    const size_t N = (size_t)W * B, F = sizeof(float);
    TpStatus s = TP_OK;
    for (int l = 0; l < c->n_layers && s == TP_OK; l++) {
        size_t H = (size_t)c->hidden[l], G = 4 * H;
        DevtrainLayer *y = &b->L[l];
        if ((s = o->alloc((void **)&y->gates, N * G * F)) == TP_OK && (s = o->alloc((void **)&y->h, (N + B) * H * F)) == TP_OK &&
            (s = o->alloc((void **)&y->c, (N + B) * H * F)) == TP_OK && (s = o->alloc((void **)&y->tc, N * H * F)) == TP_OK)
            s = o->alloc((void **)&y->bias, G * F);
    }
    if (s == TP_OK) s = o->alloc((void **)&b->emb, N * (size_t)c->n_embed * F);
    if (s == TP_OK) s = o->alloc((void **)&b->logits, N * (size_t)c->n_vocab * F);
    if (s == TP_OK) s = o->alloc((void **)&b->x, N * sizeof(int32_t));
    if (s == TP_OK) s = o->alloc((void **)&b->y, N * sizeof(int32_t));
    if (s != TP_OK) bufs_free(o, b);
    return s;
}

/* one window: forward from the state in block 0 of every layer, then carry the final state there */
static TpStatus window(Devtrain *d, EvalBufs *b, int Tw, int B, double *nll, long *hits)
{
    const BackendOps *o = d->ops;
    const ModelConfig *c = &d->cfg;
    const int L = c->n_layers, N = Tw * B;
    TpStatus s = o->gather_rows(b->emb, d->w + d->off[0], b->x, N, c->n_embed);
    const float *in = b->emb;
    long zeros = 0;
    for (int l = 0; l < L && s == TP_OK; l++) {
        const int H = c->hidden[l], I = l ? c->hidden[l - 1] : c->n_embed;
        const size_t BH = (size_t)B * H;
        DevtrainLayer *y = &b->L[l];
        s = devtrain_lstm_forward(o, y, d->w + d->off[1 + 4 * l], d->w + d->off[2 + 4 * l], d->w + d->off[3 + 4 * l],
                                  d->w + d->off[4 + 4 * l], in, I, H, Tw, B, c->state_tau, &zeros);
        in = y->h + BH;
    }
    const int Hl = c->hidden[L - 1], V = c->n_vocab;
    if (s == TP_OK) s = o->rows_set(b->logits, d->w + d->off[model_decoder_bias_index(&d->cfg)], N, V);
    if (s == TP_OK) s = o->sgemm(0, 1, N, V, Hl, 1.0f, in, Hl, d->w + d->off[model_decoder_index(&d->cfg)], Hl, 1.0f, b->logits, V);
    if (s == TP_OK) s = o->softmax_xent(b->logits, b->y, N, V, 0.0f, nll, hits);
    for (int l = 0; l < L && s == TP_OK; l++) {
        const size_t BH = (size_t)B * c->hidden[l];
        DevtrainLayer *y = &b->L[l];
        if ((s = o->copy(y->h, y->h + (size_t)Tw * BH, BH * sizeof(float))) == TP_OK)
            s = o->copy(y->c, y->c + (size_t)Tw * BH, BH * sizeof(float));
    }
    return s;
}

TpStatus devtrain_evaluate(Devtrain *d, const int32_t *ids, size_t n, int eval_batch, int window_len,
                           DevtrainEvalProgress fn, void *ctx, double *nll, long *tokens, long *hits)
{
    *nll = 0.0;
    *tokens = *hits = 0;
    if (eval_batch < 1) return err_set(TP_ERANGE, "--eval-batch: expected >= 1, got %d", eval_batch);
    if (window_len < 1) window_len = 64;
    const int V = d->cfg.n_vocab;
    int32_t *data = NULL, *x = NULL, *y = NULL;
    size_t L = 0;
    EvalBufs b;
    int have_bufs = 0;
    TpStatus s = corpus_batchify(&data, &L, ids, n, eval_batch);
    if (s != TP_OK) return s;
    if (L < 2) {
        free(data);
        return err_set(TP_EINVAL, "evaluation split too short: %zu tokens for %d stream(s)", n, eval_batch);
    }
    x = malloc((size_t)window_len * eval_batch * sizeof(int32_t));
    y = malloc((size_t)window_len * eval_batch * sizeof(int32_t));
    if (!x || !y) {
        s = err_set(TP_ENOMEM, "eval: out of memory");
        goto done;
    }
    if ((s = bufs_init(d->ops, &b, &d->cfg, window_len, eval_batch)) != TP_OK) goto done;
    have_bufs = 1;
    size_t nw = corpus_n_windows(L, window_len);
    for (size_t w = 0; w < nw && s == TP_OK; w++) {
        int Tw;
        double part = 0.0;
        long h = 0;
        corpus_window(x, y, &Tw, data, eval_batch, L, window_len, w);
        size_t N = (size_t)Tw * eval_batch;
        for (size_t r = 0; r < N; r++)
            if (x[r] < 0 || x[r] >= V || y[r] < 0 || y[r] >= V) {
                s = err_set(TP_EINVAL, "model: token id out of range 0..%d", V - 1);
                goto done;
            }
        if ((s = d->ops->upload(b.x, x, N * sizeof(int32_t))) != TP_OK ||
            (s = d->ops->upload(b.y, y, N * sizeof(int32_t))) != TP_OK || (s = window(d, &b, Tw, eval_batch, &part, &h)) != TP_OK)
            goto done;
        *nll += part;
        *hits += h;
        *tokens += (long)N;
        if (fn && fn(ctx, (double)(w + 1) / (double)nw)) s = err_set(TP_ECANCEL, "evaluation cancelled");
    }
done:
    if (have_bufs) bufs_free(d->ops, &b);
    free(data);
    free(x);
    free(y);
    return s;
}
