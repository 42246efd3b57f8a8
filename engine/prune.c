/* engine/prune: see prune.h. */
#include "prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

PruneConfig prune_config_default(void)
{
    return (PruneConfig){.mode = PRUNE_RATIO, .amount = 0.0, .amount_ih = -1.0, .amount_hh = -1.0,
                         .pattern = PRUNE_UNSTRUCTURED, .block_r = 16, .block_c = 1, .scope = MASK_SCOPE_MATRIX, .params = NULL};
}

static const char *mode_key(PruneMode m)
{
    return m == PRUNE_THRESHOLD ? "threshold" : m == PRUNE_SPARSITY ? "sparsity" : "ratio";
}

static TpStatus check_amount(PruneMode mode, const char *key, double a)
{
    if (mode == PRUNE_THRESHOLD) {
        if (!(a >= 0.0 && isfinite(a))) return err_set(TP_ERANGE, "prune %s=%g: expected a threshold >= 0", key, a);
    } else if (!(a >= 0.0 && a <= 1.0)) {
        return err_set(TP_ERANGE, "prune %s=%g: expected a fraction in 0..1", key, a);
    }
    return TP_OK;
}

TpStatus prune_config_check(const PruneConfig *c)
{
    if (c->mode != PRUNE_RATIO && c->mode != PRUNE_THRESHOLD && c->mode != PRUNE_SPARSITY)
        return err_set(TP_EINVAL, "prune: unknown mode %d", (int)c->mode);
    if (c->pattern != PRUNE_UNSTRUCTURED && c->pattern != PRUNE_ROW && c->pattern != PRUNE_BLOCK)
        return err_set(TP_EINVAL, "prune pattern: unknown pattern %d", (int)c->pattern);
    if (c->pattern == PRUNE_BLOCK &&
        (c->block_r < 1 || c->block_r > MASK_BLOCK_MAX || c->block_c < 1 || c->block_c > MASK_BLOCK_MAX))
        return err_set(TP_EINVAL, "prune pattern=block: block %dx%d: expected R and C in 1..%d", c->block_r, c->block_c,
                       MASK_BLOCK_MAX);
    if (c->scope != MASK_SCOPE_MATRIX && c->scope != MASK_SCOPE_GLOBAL)
        return err_set(TP_EINVAL, "prune scope: unknown scope %d", (int)c->scope);
    TpStatus s = check_amount(c->mode, mode_key(c->mode), c->amount);
    if (s != TP_OK) return s;
    if (isnan(c->amount_ih) || (c->amount_ih >= 0.0 && (s = check_amount(c->mode, "ih", c->amount_ih)) != TP_OK))
        return s != TP_OK ? s : err_set(TP_ERANGE, "prune ih: not a number");
    if (isnan(c->amount_hh) || (c->amount_hh >= 0.0 && (s = check_amount(c->mode, "hh", c->amount_hh)) != TP_OK))
        return s != TP_OK ? s : err_set(TP_ERANGE, "prune hh: not a number");
    if (c->pattern == PRUNE_ROW && c->mode == PRUNE_THRESHOLD)
        return err_set(TP_EINVAL, "prune pattern=row: needs ratio= (or a target sparsity), not threshold=");
    if (c->pattern == PRUNE_ROW && c->scope == MASK_SCOPE_GLOBAL)
        return err_set(TP_EINVAL, "prune pattern=row: row balance is per matrix; use scope=matrix");
    return TP_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static double amount_for(const PruneConfig *c, const ModelParam *p)
{
    if (c->amount_ih >= 0.0 && ends_with(p->name, ".w_ih")) return c->amount_ih;
    if (c->amount_hh >= 0.0 && ends_with(p->name, ".w_hh")) return c->amount_hh;
    return c->amount;
}

/* One run of pruning: `mut` is the model to change (NULL for a preview, else the same as m). */
typedef struct {
    const Model *m;
    Model *mut;
    uint8_t *ever;
    PruneResult *r;
    float *scratch;
} Run;

typedef struct {
    size_t off, len;   /* flat range [off, off+len) of m->w / m->mask */
    int tensor;
} Seg;

static void remove_entry(Run *x, size_t i, int tensor)
{
    x->r->t[tensor].removed++;
    if (!x->mut) return;
    x->mut->mask[i] = 0;
    x->mut->w[i] = 0.0f;
    if (x->ever) x->ever[i] = 1;
}

/* Remove the n_remove live entries of smallest |w| within the segments (n_live live entries in all).
 * The cut value v is the n_remove-th smallest |w|; everything below v goes, and of the entries equal
 * to v the ones of highest flat index go first (so lower indices win ties, as in growth). */
static void remove_smallest(Run *x, const Seg *seg, int n_seg, size_t n_live, size_t n_remove)
{
    if (n_remove == 0) return;
    const float *w = x->m->w;
    const uint8_t *mk = x->m->mask;
    size_t k = 0;
    for (int s = 0; s < n_seg; s++)
        for (size_t i = seg[s].off; i < seg[s].off + seg[s].len; i++)
            if (mk[i]) x->scratch[k++] = fabsf(w[i]);
    float v = mask_select_kth(x->scratch, n_live, n_remove - 1);
    size_t below = 0;
    for (size_t i = 0; i < n_live; i++) below += x->scratch[i] < v;
    size_t ties = n_remove - below;
    for (int s = n_seg - 1; s >= 0; s--)
        for (size_t i = seg[s].off + seg[s].len; i-- > seg[s].off;) {
            if (!mk[i]) continue;
            float a = fabsf(w[i]);
            if (a < v || (a == v && ties > 0)) {
                if (a == v) ties--;
                remove_entry(x, i, seg[s].tensor);
            }
        }
}

static size_t live_in(const Model *m, size_t off, size_t len)
{
    size_t n = 0;
    for (size_t i = off; i < off + len; i++) n += m->mask[i] != 0;
    return n;
}

static void prune_rows(Run *x, const PruneConfig *c, int t)
{
    const ModelParam *p = &x->m->p[t];
    PruneTensorResult *tr = &x->r->t[t];
    size_t k = c->mode == PRUNE_SPARSITY ? mask_count_ceil((1.0 - tr->amount) * p->cols)
                                         : mask_count_ceil((1.0 - tr->amount) * (double)tr->live_before / p->rows);
    if (k > (size_t)p->cols) k = (size_t)p->cols;
    tr->row_k = (int)k;
    for (int row = 0; row < p->rows; row++) {
        Seg s = {p->off + (size_t)row * p->cols, (size_t)p->cols, t};
        size_t live = live_in(x->m, s.off, s.len);
        if (live > k) remove_smallest(x, &s, 1, live, live - k);
    }
}

/* ---- blocks ---- */

/* L2 norm of the live entries of block b of tensor t; *live = their count. */
static float block_score(const Model *m, int t, const MaskBlockGrid *g, size_t b, size_t *live)
{
    MaskBlockIter it;
    size_t i;
    double ss = 0.0;
    *live = 0;
    for (mask_block_begin(&it, g, b, m->p[t].off); mask_block_next(&it, &i);) {
        if (!m->mask[i]) continue;
        ss += (double)m->w[i] * m->w[i];
        ++*live;
    }
    return (float)sqrt(ss);
}

static void remove_block(Run *x, int t, const MaskBlockGrid *g, size_t b)
{
    MaskBlockIter it;
    size_t i;
    x->r->t[t].blocks_removed++;
    for (mask_block_begin(&it, g, b, x->m->p[t].off); mask_block_next(&it, &i);)
        if (x->m->mask[i]) remove_entry(x, i, t);
}

static void grid_of(const PruneConfig *c, const Model *m, const ModelParam *p, MaskBlockGrid *g)
{
    mask_block_grid(g, p->rows, p->cols, c->block_r, c->block_c);
    if (c->vocab_order && c->block_r > 1 && mask_param_vocab_rows(m, p)) mask_block_grid_order(g, c->vocab_order);
}

/* Remove the n_remove live blocks of smallest score in the segments (n_live live blocks in all), or
 * with thr >= 0 every live block scoring below thr.  Cut and ties as remove_smallest. */
static void remove_blocks(Run *x, const PruneConfig *c, const Seg *seg, int n_seg, size_t n_live, size_t n_remove,
                          double thr)
{
    MaskBlockGrid g;
    size_t live;
    float v = (float)thr;
    size_t ties = 0;
    if (thr < 0.0) {
        if (n_remove == 0) return;
        size_t k = 0;
        for (int s = 0; s < n_seg; s++) {
            grid_of(c, x->m, &x->m->p[seg[s].tensor], &g);
            for (size_t b = 0; b < mask_block_count(&g); b++) {
                float sc = block_score(x->m, seg[s].tensor, &g, b, &live);
                if (live) x->scratch[k++] = sc;
            }
        }
        v = mask_select_kth(x->scratch, n_live, n_remove - 1);
        size_t below = 0;
        for (size_t i = 0; i < n_live; i++) below += x->scratch[i] < v;
        ties = n_remove - below;
    }
    for (int s = n_seg - 1; s >= 0; s--) {
        int t = seg[s].tensor;
        grid_of(c, x->m, &x->m->p[t], &g);
        for (size_t b = mask_block_count(&g); b-- > 0;) {
            /* read before this pass changes the mask: blocks are disjoint */
            float sc = block_score(x->m, t, &g, b, &live);
            if (!live) continue;
            if (sc < v || (sc == v && ties > 0)) {
                if (sc == v) ties--;
                remove_block(x, t, &g, b);
            }
        }
    }
}

/* Live blocks of tensor t (and the grid's count into the result). */
static size_t count_blocks(Run *x, const PruneConfig *c, int t)
{
    MaskBlockGrid g;
    grid_of(c, x->m, &x->m->p[t], &g);
    size_t n_live = 0, live;
    for (size_t b = 0; b < mask_block_count(&g); b++) {
        block_score(x->m, t, &g, b, &live);
        n_live += live != 0;
    }
    x->r->t[t].blocks = mask_block_count(&g);
    x->r->t[t].blocks_live = n_live;
    return n_live;
}

static void prune_threshold(Run *x, int t)
{
    const ModelParam *p = &x->m->p[t];
    const float thr = (float)x->r->t[t].amount;
    for (size_t i = p->off; i < p->off + p->n; i++)
        if (x->m->mask[i] && fabsf(x->m->w[i]) < thr) remove_entry(x, i, t);
}

static TpStatus run(const Model *m, Model *mut, uint8_t *ever, PruneResult *out, const PruneConfig *c)
{
    TpStatus s = prune_config_check(c);
    if (s != TP_OK) return s;
    if ((s = mask_params_check(m, c->params)) != TP_OK) return err_wrap(s, "prune: ");
    PruneResult *r = calloc(1, sizeof *r);
    Seg *seg = calloc(MODEL_MAX_TENSORS, sizeof *seg);
    Run x = {m, mut, ever, r, NULL};
    if (!r || !seg) {
        s = err_set(TP_ENOMEM, "prune: out of memory");
        goto done;
    }
    r->applied = mut != NULL;
    r->n_tensors = m->n_tensors;
    size_t scratch_n = 1;
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        PruneTensorResult *tr = &r->t[t];
        tr->n = p->n;
        tr->row_k = -1;
        tr->live_before = live_in(m, p->off, p->n);
        tr->selected = mask_param_selected(p, c->params);
        if (!tr->selected) continue;
        tr->amount = amount_for(c, p);
        for (size_t i = p->off; i < p->off + p->n; i++)
            if (m->mask[i] && !isfinite(m->w[i])) {
                s = err_set(TP_ENAN, "prune: %s[%zu] is not finite", p->name, i - p->off);
                goto done;
            }
        r->n_selected += p->n;
        r->live_before += tr->live_before;
        scratch_n += tr->live_before;
        if (c->pattern == PRUNE_BLOCK) count_blocks(&x, c, t);
    }
    if (c->mode != PRUNE_THRESHOLD && !(x.scratch = malloc(scratch_n * sizeof(float)))) {
        s = err_set(TP_ENOMEM, "prune: out of memory for %zu keys", scratch_n);
        goto done;
    }

    /* Nothing below can fail: the model changes only from here on. */
    int grouped[MODEL_MAX_TENSORS] = {0};
    for (int t = 0; t < m->n_tensors; t++) {
        if (!r->t[t].selected || grouped[t]) continue;
        if (c->mode == PRUNE_THRESHOLD && c->pattern == PRUNE_BLOCK) {
            Seg one = {m->p[t].off, m->p[t].n, t};
            remove_blocks(&x, c, &one, 1, 0, 0, r->t[t].amount);
            continue;
        }
        if (c->mode == PRUNE_THRESHOLD) {
            prune_threshold(&x, t);
            continue;
        }
        if (c->pattern == PRUNE_ROW) {
            prune_rows(&x, c, t);
            continue;
        }
        /* the group ranked together: this tensor, and under global scope every later selected
         * tensor with the same amount */
        double a = r->t[t].amount;
        int n_seg = 0;
        size_t live = 0, n = 0;
        for (int u = t; u < m->n_tensors; u++) {
            if (u != t && (c->scope != MASK_SCOPE_GLOBAL || !r->t[u].selected || grouped[u] || r->t[u].amount != a))
                continue;
            grouped[u] = 1;
            seg[n_seg++] = (Seg){m->p[u].off, m->p[u].n, u};
            live += c->pattern == PRUNE_BLOCK ? r->t[u].blocks_live : r->t[u].live_before;
            n += c->pattern == PRUNE_BLOCK ? r->t[u].blocks : m->p[u].n;
        }
        size_t keep = c->mode == PRUNE_RATIO ? mask_count_ceil((1.0 - a) * (double)live)
                                             : mask_count_ceil((1.0 - a) * (double)n);
        if (keep >= live) continue;
        if (c->pattern == PRUNE_BLOCK) remove_blocks(&x, c, seg, n_seg, live, live - keep, -1.0);
        else remove_smallest(&x, seg, n_seg, live, live - keep);
    }
    for (int t = 0; t < m->n_tensors; t++) r->removed += r->t[t].removed;
    if (r->n_selected) {
        r->sparsity_before = 1.0 - (double)r->live_before / (double)r->n_selected;
        r->sparsity_after = 1.0 - (double)(r->live_before - r->removed) / (double)r->n_selected;
    }
    *out = *r;
    s = TP_OK;
done: /* the one cleanup point, success or failure; *out is written only on success */
    free(x.scratch);
    free(seg);
    free(r);
    return s;
}

TpStatus prune_preview(const Model *m, PruneResult *r, const PruneConfig *cfg) { return run(m, NULL, NULL, r, cfg); }

TpStatus prune_apply(Model *m, uint8_t *ever_pruned, PruneResult *r, const PruneConfig *cfg)
{
    return run(m, m, ever_pruned, r, cfg);
}
