/* engine/resize: see resize.h for the rules.  The tensor surgery itself is model_relayout's (by
 * name, through each tensor's axes); this file chooses the units and initialises new ones. */
#include "resize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mask.h"
#include "rank.h"

/* unit of `layer` indexed by each entry of axis a (sizes of m->cfg), or -1; malloc'd, NULL on OOM */
static int *axis_units(const Model *m, const ModelAxis *a, int len, int layer)
{
    int *u = malloc((size_t)(len > 0 ? len : 1) * sizeof(int));
    if (u)
        for (int i = 0; i < len; i++) u[i] = model_axis_unit(a, &m->cfg, i, layer);
    return u;
}

static int touches(const int *u, int len)
{
    for (int i = 0; i < len; i++)
        if (u[i] >= 0) return 1;
    return 0;
}

static TpStatus check_layer(const Model *m, int layer)
{
    if (layer < 0 || layer >= m->cfg.n_layers)
        return err_set(TP_ERANGE, "resize: layer %d: expected 0..%d", layer, m->cfg.n_layers - 1);
    return TP_OK;
}

TpStatus resize_unit_scores(const Model *m, int layer, float *scores)
{
    TpStatus s = check_layer(m, layer);
    if (s != TP_OK) return s;
    int H = m->cfg.hidden[layer];
    double *acc = calloc((size_t)H, sizeof(double));
    if (!acc) return err_set(TP_ENOMEM, "resize: out of memory");
    for (int t = 0; t < m->n_tensors && s == TP_OK; t++) {
        const ModelParam *p = &m->p[t];
        if (p->kind != PARAM_WEIGHT) continue;
        int *ru = axis_units(m, &p->axis[0], p->rows, layer), *cu = axis_units(m, &p->axis[1], p->cols, layer);
        if (!ru || !cu) {
            s = err_set(TP_ENOMEM, "resize: out of memory");
        } else if (touches(ru, p->rows) || touches(cu, p->cols)) {
            for (int r = 0; r < p->rows; r++) {
                const float *w = m->w + p->off + (size_t)r * p->cols;
                for (int c = 0; c < p->cols; c++) {
                    double w2 = (double)w[c] * w[c];
                    if (ru[r] >= 0) acc[ru[r]] += w2;
                    if (cu[c] >= 0 && cu[c] != ru[r]) acc[cu[c]] += w2; /* w_hh's diagonal counts once */
                }
            }
        }
        free(ru);
        free(cu);
    }
    for (int j = 0; j < H && s == TP_OK; j++) scores[j] = (float)sqrt(acc[j]);
    free(acc);
    return s;
}

/* map[0..keep-1]: the `keep` most important of H units, in their original order */
static TpStatus choose_survivors(int *map, const Model *m, int layer, int keep, const float *given)
{
    int H = m->cfg.hidden[layer];
    RankItem *rk = malloc((size_t)H * sizeof *rk);
    float *sc = given ? NULL : malloc((size_t)H * sizeof(float));
    uint8_t *kept = calloc((size_t)H, 1);
    TpStatus s = TP_OK;
    if (!rk || (!given && !sc) || !kept) {
        s = err_set(TP_ENOMEM, "resize: out of memory");
        goto done;
    }
    if (!given && (s = resize_unit_scores(m, layer, sc)) != TP_OK) goto done;
    const float *score = given ? given : sc;
    for (int j = 0; j < H; j++) {
        if (!isfinite(score[j])) {
            s = err_set(TP_EINVAL, "resize: unit score %d is not finite", j);
            goto done;
        }
        rk[j] = (RankItem){score[j], j};
    }
    qsort(rk, (size_t)H, sizeof *rk, rank_by_score); /* more important first; ties: lower index */
    for (int k = 0; k < keep; k++) kept[rk[k].idx] = 1;
    for (int j = 0, k = 0; j < H; j++)
        if (kept[j]) map[k++] = j;
done:
    free(rk);
    free(sc);
    free(kept);
    return s;
}

/* ---- NeST growth: where the new units connect ---- */

typedef struct {
    int n, m;     /* bridge row (target), column (input) */
    long pos;     /* n * n_in + m                        */
    float b;      /* B[n, m]                             */
} Pick;

/* is x a stronger candidate than y (|B| larger, ties: lower position)? */
static int stronger(const Pick *x, const Pick *y)
{
    float ax = fabsf(x->b), ay = fabsf(y->b);
    if (ax != ay) return ax > ay;
    return x->pos < y->pos;
}

static int by_strength(const void *a, const void *b)
{
    return stronger(a, b) ? -1 : stronger(b, a) ? 1 : 0;
}

/* the k strongest entries of the bridge (k <= its size), strongest first: one pass with a min-heap
 * of size k, then a sort of the k */
static void top_pairs(Pick *top, int k, const ResizeBridge *br)
{
    int n_in = br->n_in, filled = 0;
    long total = (long)(br->n_rec + br->n_next) * n_in;
    for (long e = 0; e < total; e++) {
        Pick c = {(int)(e / n_in), (int)(e % n_in), e, br->g[e]};
        if (filled == k && !stronger(&c, &top[0])) continue;
        int i;
        if (filled < k) {
            i = filled++; /* sift up */
            while (i > 0 && stronger(&top[(i - 1) / 2], &c)) top[i] = top[(i - 1) / 2], i = (i - 1) / 2;
        } else {
            i = 0; /* replace the weakest, sift down */
            for (;;) {
                int l = 2 * i + 1, r = l + 1, w = i;
                const Pick *wp = &c;
                if (l < k && stronger(wp, &top[l])) w = l, wp = &top[l];
                if (r < k && stronger(wp, &top[r])) w = r;
                if (w == i) break;
                top[i] = top[w];
                i = w;
            }
        }
        top[i] = c;
    }
    qsort(top, (size_t)filled, sizeof *top, by_strength);
}

/* mean |w| over the live entries of the weight matrices whose rows (side 0) or columns (side 1)
 * are units of `layer` */
static double mean_live(const Model *m, int layer, int side)
{
    double sum = 0.0;
    size_t n = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        int len = side ? p->cols : p->rows, hit = 0;
        if (p->kind != PARAM_WEIGHT) continue;
        for (int i = 0; i < len && !hit; i++) hit = model_axis_unit(&p->axis[side], &m->cfg, i, layer) >= 0;
        if (!hit) continue;
        for (size_t i = 0; i < p->n; i++)
            if (m->mask[p->off + i]) sum += fabsf(m->w[p->off + i]), n++;
    }
    return n ? sum / (double)n : 0.0;
}

static float *entry(Model *m, const char *fmt, int l, int row, int col)
{
    char name[32];
    snprintf(name, sizeof name, fmt, l);
    const ModelParam *p = model_param(m, name);
    return m->w + p->off + (size_t)row * p->cols + col;
}

/* Place pick k as new unit j = H_old + k (layout of the resized model, see resize.h). */
static void place(Model *m, int layer, int H_old, int k, const Pick *pk, float psi, float omega,
                  const ResizeBridge *br)
{
    const int H = m->cfg.hidden[layer], j = H_old + k, L = m->cfg.n_layers, I = model_layer_input(m, layer);
    const int hl = m->cfg.cell == MODEL_CELL_HLSTM;
    /* fan-in: the g-gate row of unit j */
    if (hl)
        *entry(m, "l%d.fc2.weight", layer, 2 * H + j, pk->m) = psi;
    else if (pk->m < I)
        *entry(m, "l%d.w_ih", layer, 2 * H + j, pk->m) = psi;
    else
        *entry(m, "l%d.w_hh", layer, 2 * H + j, pk->m - I) = psi;
    /* fan-out: column j of the target's matrix */
    if (pk->n < br->n_rec) {
        if (hl)
            *entry(m, "l%d.fc1.weight", layer, pk->n, I + j) = omega;
        else
            *entry(m, "l%d.w_hh", layer, (pk->n / H_old) * H + pk->n % H_old, j) = omega;
    } else if (layer + 1 < L) {
        *entry(m, hl ? "l%d.fc1.weight" : "l%d.w_ih", layer + 1, pk->n - br->n_rec, j) = omega;
    } else {
        *entry(m, "decoder.weight", 0, pk->n - br->n_rec, j) = omega;
    }
}

static TpStatus check_bridge(const Model *m, int layer, int k_new, const ResizeBridge *b)
{
    if (!b || !b->g) return err_set(TP_EINVAL, "resize init=grad: no bridging gradient collected");
    if (b->layer != layer || b->H != m->cfg.hidden[layer])
        return err_set(TP_EINVAL, "resize init=grad: the bridging gradient was collected for layer %d at %d units, "
                                  "not layer %d at %d", b->layer, b->H, layer, m->cfg.hidden[layer]);
    if (b->n_batches < 1) return err_set(TP_EINVAL, "resize init=grad: no minibatch accumulated into the bridge");
    if ((long)k_new > (long)(b->n_rec + b->n_next) * b->n_in)
        return err_set(TP_ERANGE, "resize init=grad: %d new units but only %ld candidate connections", k_new,
                       (long)(b->n_rec + b->n_next) * b->n_in);
    return TP_OK;
}

/* ---- resize ---- */

static void remap_state(float *dst, const float *src, const int *map, int B, int Hn, int Ho)
{
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Hn; j++) dst[(size_t)b * Hn + j] = map[j] >= 0 ? src[(size_t)b * Ho + map[j]] : 0.0f;
}

static void init_fanin(Model *m, int layer, int H_old, float scale, Rng *rng)
{
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        if (p->kind != PARAM_WEIGHT) continue;
        for (int r = 0; r < p->rows; r++)
            if (model_axis_unit(&p->axis[0], &m->cfg, r, layer) >= H_old)
                for (int c = 0; c < p->cols; c++) m->w[p->off + (size_t)r * p->cols + c] = rng_range(rng, -scale, scale);
    }
}

TpStatus resize_layer(Model *m, Optim *o, ModelState *s, int layer, int new_hidden, ResizeInit init,
                      const float *unit_scores)
{
    TpStatus st = check_layer(m, layer);
    if (st != TP_OK) return st;
    const int Ho = m->cfg.hidden[layer], Hn = new_hidden;
    if (Hn < 1 || Hn > 65536) return err_set(TP_ERANGE, "resize: hidden: expected 1..65536, got %d", Hn);
    if (o && o->n != m->n_params)
        return err_set(TP_EINVAL, "resize: the optimizer holds %zu entries, the model %zu", o->n, m->n_params);
    if (o && o->kind == OPTIM_ADAM && (!o->m || !o->v)) return err_set(TP_EINVAL, "resize: Adam without moments");
    if (s && (s->B < 1 || !s->h[layer] || !s->c[layer])) return err_set(TP_EINVAL, "resize: no state for layer %d", layer);
    if (Hn == Ho) return TP_OK;
    if (m->cfg.tie && layer == m->cfg.n_layers - 1)
        return err_set(TP_EINVAL, "resize: layer %d is the last one and the embedding is tied to the decoder "
                                  "(tie=1): its width is the embedding's, %d", layer, Ho);
    const int grow = Hn > Ho, k_new = grow ? Hn - Ho : 0;
    if (grow && init.kind == RESIZE_INIT_FANIN && !init.rng) return err_set(TP_EINVAL, "resize init=fanin: no rng");
    if (grow && init.kind == RESIZE_INIT_GRAD && (st = check_bridge(m, layer, k_new, init.bridge)) != TP_OK) return st;
    if (grow && (init.kind < RESIZE_INIT_ZERO || init.kind > RESIZE_INIT_GRAD))
        return err_set(TP_EINVAL, "resize: unknown init %d", (int)init.kind);

    int *map = malloc((size_t)Hn * sizeof(int));
    Pick *picks = NULL;
    float *sh = NULL, *sc = NULL;
    double in_mean = 0.0, out_mean = 0.0;
    if (!map) return err_set(TP_ENOMEM, "resize: out of memory");
    if (s) {
        sh = backend_alloc((size_t)s->B * Hn, sizeof(float));
        sc = backend_alloc((size_t)s->B * Hn, sizeof(float));
        if (!sh || !sc) {
            st = err_set(TP_ENOMEM, "resize: out of memory for the state");
            goto fail;
        }
    }
    if (grow) {
        for (int j = 0; j < Hn; j++) map[j] = j < Ho ? j : -1;
    } else if ((st = choose_survivors(map, m, layer, Hn, unit_scores)) != TP_OK) {
        goto fail;
    }
    if (grow && init.kind == RESIZE_INIT_GRAD) {
        /* chosen on the model as it is, before the relayout */
        if (!(picks = malloc((size_t)k_new * sizeof *picks))) {
            st = err_set(TP_ENOMEM, "resize: out of memory");
            goto fail;
        }
        top_pairs(picks, k_new, init.bridge);
        if (picks[0].b == 0.0f) {
            st = err_set(TP_EINVAL, "resize init=grad: the bridging gradient is zero");
            goto fail;
        }
        in_mean = mean_live(m, layer, 0);
        out_mean = mean_live(m, layer, 1);
    }

    ModelConfig cfg = m->cfg;
    cfg.hidden[layer] = Hn;
    const int *maps[MODEL_MAX_LAYERS] = {0};
    maps[layer] = map;
    float *extra[2] = {0};
    int n_extra = 0;
    if (o && o->kind == OPTIM_ADAM) {
        extra[0] = o->m;
        extra[1] = o->v;
        n_extra = 2;
    }
    int blk[MODEL_MAX_TENSORS][2];   /* block-pruned matrices keep their blocks (resize.h) */
    for (int t = 0; t < m->n_tensors; t++) mask_tensor_block_shape(m, t, &blk[t][0], &blk[t][1]);
    if ((st = model_relayout(m, &cfg, maps, extra, n_extra)) != TP_OK) goto fail;
    /* from here on nothing can fail */
    if (o) {
        if (n_extra) o->m = extra[0], o->v = extra[1];
        o->n = m->n_params;
    }
    if (s) {
        remap_state(sh, s->h[layer], map, s->B, Hn, Ho);
        remap_state(sc, s->c[layer], map, s->B, Hn, Ho);
        free(s->h[layer]);
        free(s->c[layer]);
        s->h[layer] = sh;
        s->c[layer] = sc;
    }
    if (grow && init.kind == RESIZE_INIT_FANIN)
        init_fanin(m, layer, Ho, init.scale > 0.0f ? init.scale : m->cfg.init_scale, init.rng);
    if (grow && init.kind == RESIZE_INIT_GRAD) {
        double mean = 0.0;
        for (int k = 0; k < k_new; k++) mean += sqrt(fabs((double)picks[k].b));
        mean /= k_new; /* mean |ψ| = mean |ω| before scaling */
        double alpha = init.scale > 0.0f ? init.scale : 1.0;
        for (int k = 0; k < k_new; k++) {
            double r = sqrt(fabs((double)picks[k].b)) / mean;
            float psi = (float)(-(picks[k].b > 0.0f ? 1.0 : -1.0) * r * alpha * in_mean);
            float omega = (float)(r * alpha * out_mean);
            place(m, layer, Ho, k, &picks[k], psi, omega, init.bridge);
        }
    }
    for (int t = 0; t < m->n_tensors; t++)
        if (blk[t][0]) mask_tensor_complete_blocks(m, t, blk[t][0], blk[t][1]);
    free(map);
    free(picks);
    return TP_OK;
fail:
    free(map);
    free(picks);
    free(sh);
    free(sc);
    return st;
}

/* ---- bridging gradient ---- */

TpStatus resize_bridge_init(ResizeBridge *b, const Model *m, int layer, int T, int B)
{
    memset(b, 0, sizeof *b);
    TpStatus s = check_layer(m, layer);
    if (s != TP_OK) return s;
    if (m->cfg.task != MODEL_TASK_LM)
        return err_set(TP_ENOTAVAIL, "resize init=grad: the bridging gradient reads the language model's activations; "
                                     "an ASR model grows units with init=zero or init=fanin");
    if (T < 1 || B < 1) return err_set(TP_EINVAL, "resize: bridge for a bad window T=%d B=%d", T, B);
    const ModelConfig *c = &m->cfg;
    const int hl = c->cell == MODEL_CELL_HLSTM, H = c->hidden[layer], L = c->n_layers;
    b->layer = layer;
    b->H = H;
    b->T = T;
    b->B = B;
    b->n_in = hl ? c->gate_hidden : model_layer_input(m, layer) + H;
    b->n_rec = hl ? 4 * c->gate_hidden : 4 * H;
    b->n_next = layer + 1 < L ? (hl ? 4 * c->gate_hidden : 4 * c->hidden[layer + 1]) : c->n_vocab;
    b->g = backend_alloc((size_t)(b->n_rec + b->n_next) * b->n_in, sizeof(float));
    b->zeta = backend_alloc((size_t)T * B * b->n_in, sizeof(float));
    if (!b->g || !b->zeta) {
        resize_bridge_free(b);
        return err_set(TP_ENOMEM, "resize: out of memory for a bridging gradient");
    }
    return TP_OK;
}

void resize_bridge_free(ResizeBridge *b)
{
    free(b->g);
    free(b->zeta);
    memset(b, 0, sizeof *b);
}

TpStatus resize_bridge_add(ResizeBridge *br, Model *m, int Tw, int B)
{
    const ModelConfig *c = &m->cfg;
    const int l = br->layer, hl = c->cell == MODEL_CELL_HLSTM;
    if (!br->g || l >= c->n_layers || c->hidden[l] != br->H)
        return err_set(TP_EINVAL, "resize: the bridge no longer matches layer %d of the model", l);
    if (Tw < 1 || B < 1 || Tw > br->T || B > br->B || Tw > m->T || B > m->B)
        return err_set(TP_EINVAL, "resize: bridge window T=%d B=%d exceeds its capacity", Tw, B);
    const int n_in = br->n_in, I = model_layer_input(m, l), H = c->hidden[l], M = c->gate_hidden;
    const size_t N = (size_t)Tw * B;
    LstmCache *cell = model_cell_cache(m, l);
    const float *x = c->dropout > 0.0f ? m->xin[l] : l == 0 ? m->emb : lstm_cache_out(model_cell_cache(m, l - 1), B);
    /* ζ_t = ζ_{t-1}/2 + z_t/4: ∂h_new/∂ψ of a new unit at zero weights (resize.h) */
    for (size_t r = 0; r < N; r++) {
        float *zt = br->zeta + r * n_in;
        const float *prev = r >= (size_t)B ? zt - (size_t)B * n_in : NULL;
        if (hl) {
            const float *u = m->hcache[l].u + r * 4 * M + 2 * M; /* u_g */
            for (int k = 0; k < M; k++) zt[k] = 0.25f * u[k];
        } else {
            for (int k = 0; k < I; k++) zt[k] = 0.25f * x[r * I + k];
            for (int k = 0; k < H; k++) zt[I + k] = 0.25f * cell->h[r * H + k]; /* h_{t-1} */
        }
        if (prev)
            for (int k = 0; k < n_in; k++) zt[k] += 0.5f * prev[k];
    }
    /* own gates at t+1 <- ζ_t */
    const float *drec = hl ? m->hcache[l].du : cell->dgates;
    if (Tw > 1)
        backend_sgemm(1, 0, br->n_rec, n_in, (int)(N - B), 1.0f, drec + (size_t)B * br->n_rec, br->n_rec, br->zeta,
                      n_in, 1.0f, br->g, n_in);
    /* the next layer's gates, or the logits, at t <- ζ_t */
    const float *dnext = l + 1 < c->n_layers ? (hl ? m->hcache[l + 1].du : m->cache[l + 1].dgates) : m->logits;
    backend_sgemm(1, 0, br->n_next, n_in, (int)N, 1.0f, dnext, br->n_next, br->zeta, n_in, 1.0f,
                  br->g + (size_t)br->n_rec * n_in, n_in);
    br->n_batches++;
    return TP_OK;
}
