/* engine/grow: see grow.h. */
#include "grow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TpStatus grow_accum_init(GrowAccum *a, const Model *m)
{
    memset(a, 0, sizeof *a);
    a->sum = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    if (!a->sum) return err_set(TP_ENOMEM, "grow: out of memory for %zu gradient sums", m->n_params);
    a->n = m->n_params;
    return TP_OK;
}

void grow_accum_free(GrowAccum *a)
{
    free(a->sum);
    memset(a, 0, sizeof *a);
}

void grow_accum_reset(GrowAccum *a)
{
    if (a->sum) memset(a->sum, 0, a->n * sizeof(float));
    a->n_batches = 0;
}

static TpStatus check_shape(const GrowAccum *a, const Model *m)
{
    if (!a->sum || a->n != m->n_params)
        return err_set(TP_EINVAL, "grow: gradient accumulator made for %zu parameters, model has %zu (resized?)",
                       a->n, m->n_params);
    return TP_OK;
}

static TpStatus add_scaled(GrowAccum *a, const Model *m, float k)
{
    TpStatus s = check_shape(a, m);
    if (s != TP_OK) return s;
    float *sum = a->sum;
    const float *g = m->g;
#pragma omp simd
    for (size_t i = 0; i < a->n; i++) sum[i] += k * g[i];
    a->n_batches++;
    return TP_OK;
}

TpStatus grow_accum_add(GrowAccum *a, const Model *m) { return add_scaled(a, m, 1.0f); }

TpStatus grow_accum_add_clipped(GrowAccum *a, const Model *m, double grad_norm, float clip)
{
    /* optim_clip multiplied g by clip/norm exactly when clip > 0 and norm > clip */
    float k = clip > 0.0f && grad_norm > clip ? (float)(grad_norm / clip) : 1.0f;
    if (!isfinite(k)) return err_set(TP_ENAN, "grow: gradient norm %g is not finite", grad_norm);
    return add_scaled(a, m, k);
}

GrowConfig grow_config_default(void)
{
    return (GrowConfig){.ratio = 0.0, .scope = MASK_SCOPE_MATRIX, .init = GROW_INIT_ZERO, .lr = 0.0f,
                        .recoverable = 1, .params = NULL, .block_r = 1, .block_c = 1};
}

TpStatus grow_config_check(const GrowConfig *c)
{
    if (!(c->ratio >= 0.0 && c->ratio <= 1.0))
        return err_set(TP_ERANGE, "grow ratio=%g: expected a fraction in 0..1", c->ratio);
    if (c->scope != MASK_SCOPE_MATRIX && c->scope != MASK_SCOPE_GLOBAL)
        return err_set(TP_EINVAL, "grow scope: unknown scope %d", (int)c->scope);
    if (c->init != GROW_INIT_ZERO && c->init != GROW_INIT_GRAD)
        return err_set(TP_EINVAL, "grow init: unknown initialisation %d", (int)c->init);
    if (c->init == GROW_INIT_GRAD && !(c->lr >= 0.0f && isfinite(c->lr)))
        return err_set(TP_ERANGE, "grow init=grad: learning rate %g is not a number >= 0", (double)c->lr);
    if (c->block_r < 1 || c->block_r > MASK_BLOCK_MAX || c->block_c < 1 || c->block_c > MASK_BLOCK_MAX)
        return err_set(TP_EINVAL, "grow block %dx%d: expected R and C in 1..%d", c->block_r, c->block_c, MASK_BLOCK_MAX);
    return TP_OK;
}

typedef struct {
    const Model *m;
    Model *mut;              /* NULL: preview */
    const GrowAccum *a;
    const uint8_t *ever;     /* NULL: recoverable */
    const GrowConfig *c;
    GrowResult *r;
    float *scratch;
} Run;

static int eligible(const Run *x, size_t i) { return !x->m->mask[i] && !(x->ever && x->ever[i]); }

/* Unit b of tensor t: an entry (1x1, b its index in the tensor) or an R x C block of the grid of
 * engine/mask.  Its score is |G| of the entry, the L2 norm of G over the block (the same number for
 * 1x1); it is eligible when all its entries are, and *n = its entries. */
static float unit_score(const Run *x, int t, const MaskBlockGrid *g, size_t b, int *elig, size_t *n)
{
    const ModelParam *p = &x->m->p[t];
    if (g->R == 1 && g->C == 1) {
        size_t i = p->off + b;
        *elig = eligible(x, i);
        *n = 1;
        return fabsf(x->a->sum[i]);
    }
    MaskBlockIter it;
    size_t i;
    double ss = 0.0;
    *elig = 1;
    *n = 0;
    for (mask_block_begin(&it, g, b, p->off); mask_block_next(&it, &i); ++*n) {
        *elig &= eligible(x, i);
        ss += (double)x->a->sum[i] * x->a->sum[i];
    }
    return (float)sqrt(ss);
}

static void grid_of(const Run *x, int t, MaskBlockGrid *g)
{
    mask_block_grid(g, x->m->p[t].rows, x->m->p[t].cols, x->c->block_r, x->c->block_c);
    if (x->c->vocab_order && x->c->block_r > 1 && mask_param_vocab_rows(x->m, &x->m->p[t]))
        mask_block_grid_order(g, x->c->vocab_order);
}

static void grow_unit(Run *x, int t, const MaskBlockGrid *g, size_t b)
{
    MaskBlockIter it;
    size_t i;
    x->r->t[t].blocks_grown++;
    for (mask_block_begin(&it, g, b, x->m->p[t].off); mask_block_next(&it, &i);) {
        x->r->t[t].grown++;
        if (!x->mut) continue;
        x->mut->mask[i] = 1;
        x->mut->w[i] = x->c->init == GROW_INIT_GRAD ? -x->c->lr * (x->a->sum[i] / (float)x->a->n_batches) : 0.0f;
    }
}

/* Grow the n_grow eligible units of largest score among tensors [t0, t1) that are selected: the
 * cut v is the n_grow-th largest score; all above v grow, and of those equal to v the lowest units
 * (tensor, then unit number = flat index for entries) first. */
static void grow_largest(Run *x, int t0, int t1, size_t n_elig, size_t n_grow)
{
    if (n_grow == 0) return;
    MaskBlockGrid g;
    size_t k = 0, n;
    int el;
    for (int t = t0; t < t1; t++) {
        if (!x->r->t[t].selected) continue;
        grid_of(x, t, &g);
        for (size_t b = 0; b < mask_block_count(&g); b++) {
            float s = unit_score(x, t, &g, b, &el, &n);
            if (el) x->scratch[k++] = s;
        }
    }
    float v = mask_select_kth(x->scratch, n_elig, n_elig - n_grow);
    size_t above = 0;
    for (size_t i = 0; i < n_elig; i++) above += x->scratch[i] > v;
    size_t ties = n_grow - above;
    for (int t = t0; t < t1; t++) {
        if (!x->r->t[t].selected) continue;
        grid_of(x, t, &g);
        for (size_t b = 0; b < mask_block_count(&g); b++) {
            float s = unit_score(x, t, &g, b, &el, &n); /* read before this pass changes the mask: disjoint units */
            if (!el) continue;
            if (s > v || (s == v && ties > 0)) {
                if (s == v) ties--;
                grow_unit(x, t, &g, b);
            }
        }
    }
}

static size_t grow_count(double ratio, size_t n) { return n - mask_count_ceil((1.0 - ratio) * (double)n); }

static TpStatus run(const Model *m, Model *mut, GrowResult *out, const GrowAccum *a, const uint8_t *ever,
                    const GrowConfig *c)
{
    TpStatus s = grow_config_check(c);
    if (s != TP_OK) return s;
    if ((s = check_shape(a, m)) != TP_OK) return s;
    if (a->n_batches < 1) return err_set(TP_EINVAL, "grow: no gradients accumulated yet (batches=0)");
    if (!c->recoverable && !ever)
        return err_set(TP_EINVAL, "grow: non-recoverable growth needs the pruning history");
    if ((s = mask_params_check(m, c->params)) != TP_OK) return err_wrap(s, "grow: ");
    Run x = {m, mut, a, c->recoverable ? NULL : ever, c, calloc(1, sizeof(GrowResult)), NULL};
    GrowResult *r = x.r;
    if (!r) return err_set(TP_ENOMEM, "grow: out of memory");
    r->applied = mut != NULL;
    r->n_batches = a->n_batches;
    r->n_tensors = m->n_tensors;
    size_t units = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        GrowTensorResult *tr = &r->t[t];
        tr->selected = mask_param_selected(p, c->params);
        if (!tr->selected) continue;
        for (size_t i = p->off; i < p->off + p->n; i++) {
            if (eligible(&x, i) && !isfinite(a->sum[i])) {
                s = err_set(TP_ENAN, "grow: accumulated gradient of %s[%zu] is not finite", p->name, i - p->off);
                goto done;
            }
        }
        MaskBlockGrid g;
        grid_of(&x, t, &g);
        for (size_t b = 0; b < mask_block_count(&g); b++) {
            int el;
            size_t n;
            unit_score(&x, t, &g, b, &el, &n);
            if (!el) continue;
            tr->blocks_eligible++;
            tr->eligible += n;
        }
        r->eligible += tr->eligible;
        units += tr->blocks_eligible;
    }
    if (!(x.scratch = malloc((units + 1) * sizeof(float)))) {
        s = err_set(TP_ENOMEM, "grow: out of memory for %zu scores", units);
        goto done;
    }
    /* Nothing below can fail: the model changes only from here on. */
    if (c->scope == MASK_SCOPE_GLOBAL) {
        grow_largest(&x, 0, m->n_tensors, units, grow_count(c->ratio, units));
    } else {
        for (int t = 0; t < m->n_tensors; t++)
            if (r->t[t].selected)
                grow_largest(&x, t, t + 1, r->t[t].blocks_eligible, grow_count(c->ratio, r->t[t].blocks_eligible));
    }
    for (int t = 0; t < m->n_tensors; t++) r->grown += r->t[t].grown;
    *out = *r;
    s = TP_OK;
done: /* the one cleanup point; *out is written only on success */
    free(x.scratch);
    free(r);
    return s;
}

TpStatus grow_apply(Model *m, GrowResult *r, const GrowAccum *a, const uint8_t *ever_pruned, const GrowConfig *cfg)
{
    return run(m, m, r, a, ever_pruned, cfg);
}

TpStatus grow_preview(const Model *m, GrowResult *r, const GrowAccum *a, const uint8_t *ever_pruned,
                      const GrowConfig *cfg)
{
    return run(m, NULL, r, a, ever_pruned, cfg);
}
