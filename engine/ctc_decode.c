/* engine/ctc_decode: greedy and prefix beam search decoding of CTC log-probabilities (ctc_decode.h). */
#include "engine/ctc_decode.h"

#include <math.h>
#include <stdlib.h>

static TpStatus check(int T, int C, int blank)
{
    if (T < 0) return err_set(TP_EINVAL, "ctc decode: %d frames", T);
    if (C < 2) return err_set(TP_EINVAL, "ctc decode: %d classes (at least the blank and one label)", C);
    if (blank < 0 || blank >= C) return err_set(TP_EINVAL, "ctc decode: blank %d outside 0..%d", blank, C - 1);
    return TP_OK;
}

TpStatus ctc_greedy(int *out, int *L, const float *logp, int T, int C, int blank)
{
    *L = 0;
    TpStatus st = check(T, C, blank);
    if (st) return st;
    int n = 0, prev = -1;
    for (int t = 0; t < T; t++) {
        const float *row = logp + (size_t)t * C;
        int best = 0;
        for (int c = 1; c < C; c++) if (row[c] > row[best]) best = c;
        if (best != blank && best != prev) out[n++] = best;
        prev = best;
    }
    *L = n;
    return TP_OK;
}

/* ---- prefix beam search over a trie of prefixes ---- */

typedef struct {
    int parent, label, depth;   /* root: parent -1, label -1, depth 0 */
    int child, sibling;         /* first child, next sibling (-1 = none) */
    double pb, pnb;             /* log Pb, log Pnb after the current frame (kept prefixes only) */
    double nb, nnb;             /* the same for the next frame, being summed */
    int stamp;                  /* frame whose nb/nnb are valid (-1 = none) */
} Node;

typedef struct {
    Node *node;
    int n, cap;
    int *touched;
    int n_touched;
} Trie;

static double lse(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

static int new_node(Trie *tr, int parent, int label)
{
    if (tr->n == tr->cap) {
        if (tr->cap >= CTC_MAX_NODES) return -2;
        int nc = tr->cap * 2;
        Node *nn = realloc(tr->node, (size_t)nc * sizeof *nn);
        if (!nn) return -1;
        tr->node = nn;
        tr->cap = nc;
    }
    int id = tr->n++;
    Node *x = &tr->node[id];
    x->parent = parent;
    x->label = label;
    x->depth = parent >= 0 ? tr->node[parent].depth + 1 : 0;
    x->child = -1;
    x->sibling = -1;
    x->pb = x->pnb = x->nb = x->nnb = -INFINITY;
    x->stamp = -1;
    if (parent >= 0) {
        x->sibling = tr->node[parent].child;
        tr->node[parent].child = id;
    }
    return id;
}

static int find_child(const Trie *tr, int parent, int label)
{
    for (int k = tr->node[parent].child; k >= 0; k = tr->node[k].sibling)
        if (tr->node[k].label == label) return k;
    return -1;
}

static void touch(Trie *tr, int id, int t)
{
    Node *x = &tr->node[id];
    if (x->stamp == t) return;
    x->stamp = t;
    x->nb = x->nnb = -INFINITY;
    tr->touched[tr->n_touched++] = id;
}

static int by_score(const void *a, const void *b, void *ctx)
{
    const Node *node = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    double si = lse(node[i].nb, node[i].nnb), sj = lse(node[j].nb, node[j].nnb);
    if (si != sj) return si > sj ? -1 : 1;
    return (i > j) - (i < j);
}

TpStatus ctc_beam(int *out, int *L, float *score, const float *logp, int T, int C, int blank, int beam)
{
    *L = 0;
    if (score) *score = 0.0f;
    TpStatus st = check(T, C, blank);
    if (st) return st;
    if (beam < 1) return err_set(TP_EINVAL, "ctc beam search: beam width %d (at least 1)", beam);
    if ((size_t)beam * (size_t)C > (size_t)CTC_MAX_NODES)
        return err_set(TP_ERANGE, "ctc beam search: beam %d x %d classes is too large", beam, C);
    Trie tr = {0};
    int *cur = NULL;
    tr.cap = 1024;
    tr.node = malloc((size_t)tr.cap * sizeof *tr.node);
    tr.touched = malloc((size_t)beam * (size_t)C * sizeof *tr.touched);
    cur = malloc((size_t)beam * sizeof *cur);
    if (!tr.node || !tr.touched || !cur) { st = err_set(TP_ENOMEM, "ctc beam search: out of memory"); goto done; }
    int root = new_node(&tr, -1, -1), n_cur = 1;
    tr.node[root].pb = 0.0;
    cur[0] = root;
    for (int t = 0; t < T; t++) {
        const float *lp = logp + (size_t)t * C;
        tr.n_touched = 0;
        for (int k = 0; k < n_cur; k++) {
            int y = cur[k];
            double pb = tr.node[y].pb, pnb = tr.node[y].pnb, p = lse(pb, pnb);
            int last = tr.node[y].label;
            touch(&tr, y, t);
            tr.node[y].nb = lse(tr.node[y].nb, p + lp[blank]);
            if (last >= 0) tr.node[y].nnb = lse(tr.node[y].nnb, pnb + lp[last]);
            for (int c = 0; c < C; c++) {
                if (c == blank) continue;
                int ch = find_child(&tr, y, c);
                if (ch < 0) {
                    ch = new_node(&tr, y, c);
                    if (ch == -2) {
                        st = err_set(TP_ERANGE, "ctc beam search: more than %d prefixes (T %d, beam %d)", CTC_MAX_NODES, T, beam);
                        goto done;
                    }
                    if (ch < 0) { st = err_set(TP_ENOMEM, "ctc beam search: out of memory"); goto done; }
                }
                touch(&tr, ch, t);
                double from = c == last ? pb : p;
                tr.node[ch].nnb = lse(tr.node[ch].nnb, from + lp[c]);
            }
        }
        qsort_r(tr.touched, (size_t)tr.n_touched, sizeof *tr.touched, by_score, tr.node);
        n_cur = tr.n_touched < beam ? tr.n_touched : beam;
        for (int k = 0; k < n_cur; k++) {
            Node *x = &tr.node[tr.touched[k]];
            x->pb = x->nb;
            x->pnb = x->nnb;
            cur[k] = tr.touched[k];
        }
    }
    /* cur is sorted best first after any frame; with T = 0 it is the root alone */
    int best = cur[0];
    int n = tr.node[best].depth;
    for (int id = best, i = n - 1; id > 0; id = tr.node[id].parent, i--) out[i] = tr.node[id].label;
    *L = n;
    if (score) *score = (float)lse(tr.node[best].pb, tr.node[best].pnb);
done:
    free(tr.node);
    free(tr.touched);
    free(cur);
    return st;
}
