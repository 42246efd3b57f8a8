/* tests/test_resize: structural resize of a layer, for LSTM and H-LSTM models.
 *   - shrink, then evaluate == evaluate the original with those units removed by hand (the reduced
 *     network is built here from the equations' index arithmetic, not from the registry's axes);
 *   - grow with init=zero / init=fanin leaves the outputs unchanged;
 *   - weights, gradients, masks, Adam moments and the carried state follow their entries;
 *   - the importance rule scores a hand-built model as documented and keeps the expected units;
 *   - the NeST bridging gradient equals the finite-difference mixed derivative ∂²L/∂ψ∂ω, and an
 *     init=grad growth places its weights at the strongest pairs, in the descent direction;
 *   - a resize inside a running Trainer (Adam) keeps training;
 *   - bad requests are refused and change nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/backend.h"
#include "engine/model.h"
#include "engine/optim.h"
#include "engine/resize.h"
#include "engine/rng.h"
#include "engine/train.h"

enum { V = 7, E = 3, H0 = 5, H1 = 4, GM = 3, T = 4, B = 2 };

static const ModelCell CELLS[2] = {MODEL_CELL_LSTM, MODEL_CELL_HLSTM};

static void make_model(Model *m, ModelCell cell, uint64_t seed)
{
    ModelConfig cfg = {.n_vocab = V, .n_embed = E, .n_layers = 2, .hidden = {H0, H1}, .cell = cell,
                       .gate_hidden = cell == MODEL_CELL_HLSTM ? GM : 0, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, seed);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
    assert_int_equal(model_reserve(m, T, B), TP_OK);
}

static void make_data(int32_t *x, int32_t *y, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < T * B; i++) {
        x[i] = (int32_t)rng_below(&r, V);
        y[i] = (int32_t)rng_below(&r, V);
    }
}

static void random_state(ModelState *s, const Model *m, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    assert_int_equal(model_state_init(s, m, B), TP_OK);
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int k = 0; k < B * m->cfg.hidden[l]; k++) {
            s->h[l][k] = rng_range(&r, -0.5f, 0.5f);
            s->c[l][k] = rng_range(&r, -0.5f, 0.5f);
        }
}

/* evaluation NLL of the window from a copy of s (s itself is left as it was) */
static double nll_from(Model *m, const ModelState *s, const int32_t *x, const int32_t *y)
{
    ModelState w;
    assert_int_equal(model_state_init(&w, m, B), TP_OK);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        memcpy(w.h[l], s->h[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
        memcpy(w.c[l], s->c[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
    }
    double nll = 0.0;
    assert_int_equal(model_forward(m, &w, x, y, T, B, 0, 0.0f, NULL, &nll, NULL), TP_OK);
    model_state_free(&w);
    return nll;
}

static int name_is(const char *name, const char *fmt, int l)
{
    char buf[32];
    snprintf(buf, sizeof buf, fmt, l);
    return strcmp(name, buf) == 0;
}

/* The original network o with layer k reduced to the units keep[0..Hn-1], built by hand: the rows of
 * layer k's gate blocks and the columns that read layer k's h are gathered by index arithmetic. */
static void hand_reduce(Model *r, ModelState *rs, const Model *o, const ModelState *os, int k, const int *keep, int Hn)
{
    ModelConfig cfg = o->cfg;
    const int Ho = o->cfg.hidden[k], I = model_layer_input(o, k), last = k == o->cfg.n_layers - 1;
    cfg.hidden[k] = Hn;
    Rng rng;
    rng_seed(&rng, 99);
    assert_int_equal(model_init(r, &cfg, &rng), TP_OK);
    for (int t = 0; t < r->n_tensors; t++) {
        const ModelParam *rp = &r->p[t], *op = model_param(o, rp->name);
        assert_non_null(op);
        int gate_rows = name_is(rp->name, "l%d.w_ih", k) || name_is(rp->name, "l%d.w_hh", k) ||
                        name_is(rp->name, "l%d.b_ih", k) || name_is(rp->name, "l%d.b_hh", k) ||
                        name_is(rp->name, "l%d.fc2.weight", k) || name_is(rp->name, "l%d.fc2.bias", k);
        for (int rr = 0; rr < rp->rows; rr++)
            for (int cc = 0; cc < rp->cols; cc++) {
                int sr = gate_rows ? (rr / Hn) * Ho + keep[rr % Hn] : rr, sc = cc;
                if (name_is(rp->name, "l%d.w_hh", k)) sc = keep[cc];
                if (name_is(rp->name, "l%d.fc1.weight", k)) sc = cc < I ? cc : I + keep[cc - I];
                if (name_is(rp->name, "l%d.w_ih", k + 1)) sc = keep[cc];
                if (name_is(rp->name, "l%d.fc1.weight", k + 1)) sc = cc < Hn ? keep[cc] : Ho + (cc - Hn);
                if (last && strcmp(rp->name, "decoder.weight") == 0) sc = keep[cc];
                r->w[rp->off + (size_t)rr * rp->cols + cc] = o->w[op->off + (size_t)sr * op->cols + sc];
            }
    }
    assert_int_equal(model_reserve(r, T, B), TP_OK);
    assert_int_equal(model_state_init(rs, r, B), TP_OK);
    for (int l = 0; l < r->cfg.n_layers; l++)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < r->cfg.hidden[l]; j++) {
                int sj = l == k ? keep[j] : j;
                rs->h[l][b * r->cfg.hidden[l] + j] = os->h[l][b * o->cfg.hidden[l] + sj];
                rs->c[l][b * r->cfg.hidden[l] + j] = os->c[l][b * o->cfg.hidden[l] + sj];
            }
}

static void shrink_case(ModelCell cell, int k, int use_scores, uint64_t seed)
{
    Model m, r;
    ModelState s, rs;
    int32_t x[T * B], y[T * B];
    make_model(&m, cell, seed);
    make_data(x, y, seed + 1);
    random_state(&s, &m, seed + 2);
    const int Ho = m.cfg.hidden[k], Hn = Ho - 2;
    float scores[H0];
    int keep[H0];
    if (use_scores) { /* remove units 0 and Ho-2 */
        for (int j = 0; j < Ho; j++) scores[j] = (j == 0 || j == Ho - 2) ? 0.1f * j : 10.0f - j;
        for (int j = 1, n = 0; j < Ho; j++)
            if (j != Ho - 2) keep[n++] = j;
    } else { /* the documented rule, recomputed here: the two smallest L2 norms go */
        assert_int_equal(resize_unit_scores(&m, k, scores), TP_OK);
        int lo1 = 0, lo2;
        for (int j = 1; j < Ho; j++)
            if (scores[j] < scores[lo1]) lo1 = j;
        lo2 = lo1 == 0 ? 1 : 0;
        for (int j = 0; j < Ho; j++)
            if (j != lo1 && scores[j] < scores[lo2]) lo2 = j;
        for (int j = 0, n = 0; j < Ho; j++)
            if (j != lo1 && j != lo2) keep[n++] = j;
    }
    hand_reduce(&r, &rs, &m, &s, k, keep, Hn);
    double want = nll_from(&r, &rs, x, y);
    assert_int_equal(resize_layer(&m, NULL, &s, k, Hn, (ResizeInit){0}, use_scores ? scores : NULL), TP_OK);
    assert_int_equal(m.cfg.hidden[k], Hn);
    assert_int_equal(m.n_params, r.n_params);
    double got = nll_from(&m, &s, x, y);
    assert_true(fabs(got - want) <= 1e-5 * fabs(want));
    /* the same floats, entry for entry, and the same state */
    assert_memory_equal(m.w, r.w, m.n_params * sizeof(float));
    for (int l = 0; l < 2; l++) assert_memory_equal(s.h[l], rs.h[l], (size_t)B * m.cfg.hidden[l] * sizeof(float));
    model_state_free(&s);
    model_state_free(&rs);
    model_free(&m);
    model_free(&r);
}

static void test_shrink_equals_hand_removed(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 2; k++)
            for (int u = 0; u < 2; u++) shrink_case(CELLS[c], k, u, 100 + 10 * c + 4 * k + u);
}

static void test_grow_zero_and_fanin_keep_outputs(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 2; k++)
            for (int kind = RESIZE_INIT_ZERO; kind <= RESIZE_INIT_FANIN; kind++) {
                Model m;
                ModelState s;
                int32_t x[T * B], y[T * B];
                make_model(&m, CELLS[c], 200 + c);
                make_data(x, y, 201);
                random_state(&s, &m, 202);
                double before = nll_from(&m, &s, x, y);
                const int Ho = m.cfg.hidden[k];
                Rng rng;
                rng_seed(&rng, 5);
                ResizeInit init = {.kind = (ResizeInitKind)kind, .rng = &rng};
                assert_int_equal(resize_layer(&m, NULL, &s, k, Ho + 3, init, NULL), TP_OK);
                assert_int_equal(m.cfg.hidden[k], Ho + 3);
                for (int b = 0; b < B; b++)
                    for (int j = Ho; j < Ho + 3; j++) assert_true(s.h[k][b * (Ho + 3) + j] == 0.0f);
                double after = nll_from(&m, &s, x, y);
                assert_true(fabs(after - before) <= 1e-6 * fabs(before));
                /* zero: the new units stay silent; fanin: they are alive (h != 0), yet read by nobody */
                const float *h = lstm_cache_out(model_cell_cache(&m, k), B);
                double act = 0.0;
                for (int r = 0; r < T * B; r++)
                    for (int j = Ho; j < Ho + 3; j++) act += fabs(h[r * (Ho + 3) + j]);
                assert_true(kind == RESIZE_INIT_ZERO ? act == 0.0 : act > 1e-3);
                model_state_free(&s);
                model_free(&m);
            }
}

/* code each entry's moments, gradient and mask from its weight, then check the codes after a resize */
static uint8_t mask_code(float w)
{
    uint32_t u;
    memcpy(&u, &w, 4);
    return (uint8_t)((u >> 9) & 1);
}

static void test_masks_moments_state_follow(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++)
        for (int grow = 0; grow < 2; grow++) {
            Model m;
            ModelState s;
            Optim o;
            make_model(&m, CELLS[c], 300 + c);
            random_state(&s, &m, 301);
            assert_int_equal(optim_init(&o, OPTIM_ADAM, 0.01f, m.n_params), TP_OK);
            for (size_t i = 0; i < m.n_params; i++) {
                o.m[i] = 2.0f * m.w[i];
                o.v[i] = 3.0f * m.w[i];
                m.g[i] = -m.w[i];
                m.mask[i] = mask_code(m.w[i]);
            }
            const int k = 0, Hn = grow ? H0 + 2 : H0 - 2;
            float keep_h[B * H0];
            memcpy(keep_h, s.h[k], sizeof keep_h);
            assert_int_equal(resize_layer(&m, &o, &s, k, Hn, (ResizeInit){RESIZE_INIT_ZERO, 0, NULL, NULL}, NULL), TP_OK);
            assert_int_equal(o.n, m.n_params);
            size_t n_new = 0;
            for (int t = 0; t < m.n_tensors; t++) {
                const ModelParam *p = &m.p[t];
                for (size_t i = p->off; i < p->off + p->n; i++) {
                    if (m.w[i] == 0.0f) { /* an entry of a new unit */
                        assert_true(grow);
                        assert_true(o.m[i] == 0.0f && o.v[i] == 0.0f && m.g[i] == 0.0f && m.mask[i] == 1);
                        n_new++;
                        continue;
                    }
                    assert_true(o.m[i] == 2.0f * m.w[i]);
                    assert_true(o.v[i] == 3.0f * m.w[i]);
                    assert_true(m.g[i] == -m.w[i]);
                    assert_int_equal(m.mask[i], mask_code(m.w[i]));
                }
            }
            /* 2 new units of layer 0 touch: 4 rows of (E + Hn) in w_ih/w_hh or fc2 rows of GM, the
             * recurrent columns, and layer 1's input columns */
            size_t want = 0;
            if (grow && CELLS[c] == MODEL_CELL_LSTM)
                want = 2 * (4 * E + 4 * Hn + 4 * 1 + 4 * 1) + 2 * (4 * H0) + 2 * (4 * H1);
            if (grow && CELLS[c] == MODEL_CELL_HLSTM) want = 2 * (4 * GM + 4) + 2 * (4 * GM) + 2 * (4 * GM);
            assert_int_equal(n_new, want);
            /* state: [B, Hn], old columns kept in order (grow) */
            for (int b = 0; b < B; b++)
                for (int j = 0; j < Hn; j++)
                    if (grow) assert_true(s.h[k][b * Hn + j] == (j < H0 ? keep_h[b * H0 + j] : 0.0f));
            optim_free(&o);
            model_state_free(&s);
            model_free(&m);
        }
}

/* Scores of a hand-built LSTM: zero weights but a few known entries. */
static void test_importance_rule_on_hand_built_model(void **state)
{
    (void)state;
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 400);
    memset(m.w, 0, m.n_params * sizeof(float));
    const int H = H0;
    float *w_ih = m.w + model_param(&m, "l0.w_ih")->off, *w_hh = m.w + model_param(&m, "l0.w_hh")->off;
    float *b_ih = m.w + model_param(&m, "l0.b_ih")->off, *nxt = m.w + model_param(&m, "l1.w_ih")->off;
    w_ih[(1 * H + 0) * E + 1] = 3.0f;   /* unit 0: a forget-gate input weight           */
    w_hh[(2 * H + 3) * H + 1] = 0.5f;   /* unit 1 → unit 3's g gate: counts for both     */
    nxt[(3 * H1 + 1) * H + 2] = 4.0f;   /* unit 2: read by layer 1                       */
    w_hh[(3 * H + 3) * H + 3] = 2.0f;   /* unit 3: its own recurrence, counted once      */
    b_ih[1] = 100.0f;                   /* biases are not connections                    */
    float sc[H0];
    assert_int_equal(resize_unit_scores(&m, 0, sc), TP_OK);
    const float want[H0] = {3.0f, 0.5f, 4.0f, sqrtf(4.25f), 0.0f};
    for (int j = 0; j < H; j++) assert_true(fabsf(sc[j] - want[j]) < 1e-6f);
    /* keep 3: units 0, 2, 3 in their order */
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 3, (ResizeInit){0}, NULL), TP_OK);
    nxt = m.w + model_param(&m, "l1.w_ih")->off;
    w_hh = m.w + model_param(&m, "l0.w_hh")->off;
    w_ih = m.w + model_param(&m, "l0.w_ih")->off;
    assert_true(w_ih[(1 * 3 + 0) * E + 1] == 3.0f);
    assert_true(nxt[(3 * H1 + 1) * 3 + 1] == 4.0f);
    assert_true(w_hh[(3 * 3 + 2) * 3 + 2] == 2.0f);
    assert_true(w_hh[(2 * 3 + 2) * 3 + 1] == 0.0f); /* unit 1 went, with its connection */
    /* the last layer: decoder columns count, and ties keep the lower index */
    float *dec = m.w + model_param(&m, "decoder.weight")->off;
    dec[5 * H1 + 2] = -1.0f;
    dec[0 * H1 + 3] = 1.0f;
    assert_int_equal(resize_unit_scores(&m, 1, sc), TP_OK);
    assert_true(sc[0] == 0.0f && sc[1] == 4.0f && sc[2] == 1.0f && sc[3] == 1.0f);
    assert_int_equal(resize_layer(&m, NULL, NULL, 1, 2, (ResizeInit){0}, NULL), TP_OK);
    dec = m.w + model_param(&m, "decoder.weight")->off;
    assert_true(dec[5 * 2 + 1] == -1.0f); /* units 1 and 2 kept */
    model_free(&m);
}

static void test_importance_rule_hlstm(void **state)
{
    (void)state;
    Model m;
    make_model(&m, MODEL_CELL_HLSTM, 401);
    memset(m.w, 0, m.n_params * sizeof(float));
    float *fc1 = m.w + model_param(&m, "l0.fc1.weight")->off, *fc2 = m.w + model_param(&m, "l0.fc2.weight")->off;
    float *nxt = m.w + model_param(&m, "l1.fc1.weight")->off, *b2 = m.w + model_param(&m, "l0.fc2.bias")->off;
    fc2[(2 * H0 + 4) * GM + 1] = 2.0f;  /* unit 4: its g-gate row         */
    fc1[7 * (E + H0) + E + 1] = 3.0f;   /* unit 1: its recurrent column    */
    nxt[5 * (H0 + H1) + 0] = 1.0f;      /* unit 0: read by layer 1         */
    nxt[5 * (H0 + H1) + H0 + 0] = 50.0f; /* layer 1's own unit 0: not ours  */
    b2[3] = 100.0f;
    float sc[H0];
    assert_int_equal(resize_unit_scores(&m, 0, sc), TP_OK);
    const float want[H0] = {1.0f, 3.0f, 0.0f, 0.0f, 2.0f};
    for (int j = 0; j < H0; j++) assert_true(fabsf(sc[j] - want[j]) < 1e-6f);
    model_free(&m);
}

/* ---- NeST ---- */

typedef struct {
    int layer, m, n; /* bridge column (input) and row (target) */
} Pair;

/* weight positions of a fan-in ψ (g-gate row of new unit j) and fan-out ω, by hand */
static float *fanin_at(Model *m, int k, int j, int in)
{
    const int H = m->cfg.hidden[k], I = model_layer_input(m, k);
    char name[32];
    if (m->cfg.cell == MODEL_CELL_HLSTM) {
        snprintf(name, sizeof name, "l%d.fc2.weight", k);
        return m->w + model_param(m, name)->off + (size_t)(2 * H + j) * GM + in;
    }
    snprintf(name, sizeof name, in < I ? "l%d.w_ih" : "l%d.w_hh", k);
    const ModelParam *p = model_param(m, name);
    return m->w + p->off + (size_t)(2 * H + j) * p->cols + (in < I ? in : in - I);
}

static float *fanout_at(Model *m, int k, int j, int n, int Ho, int n_rec)
{
    const int H = m->cfg.hidden[k], I = model_layer_input(m, k), hl = m->cfg.cell == MODEL_CELL_HLSTM;
    char name[32];
    const ModelParam *p;
    if (n < n_rec) {
        snprintf(name, sizeof name, hl ? "l%d.fc1.weight" : "l%d.w_hh", k);
        p = model_param(m, name);
        int row = hl ? n : (n / Ho) * H + n % Ho;
        return m->w + p->off + (size_t)row * p->cols + (hl ? I + j : j);
    }
    if (k + 1 < m->cfg.n_layers) snprintf(name, sizeof name, hl ? "l%d.fc1.weight" : "l%d.w_ih", k + 1);
    else snprintf(name, sizeof name, "decoder.weight");
    p = model_param(m, name);
    return m->w + p->off + (size_t)(n - n_rec) * p->cols + j;
}

static void collect_bridge(ResizeBridge *br, Model *m, const ModelState *s0, const int32_t *x, const int32_t *y, int k)
{
    ModelState s;
    assert_int_equal(model_state_init(&s, m, B), TP_OK);
    for (int l = 0; l < 2; l++) {
        memcpy(s.h[l], s0->h[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
        memcpy(s.c[l], s0->c[l], (size_t)B * m->cfg.hidden[l] * sizeof(float));
    }
    double nll;
    model_zero_grad(m);
    assert_int_equal(model_forward(m, &s, x, y, T, B, 1, 1.0f, NULL, &nll, NULL), TP_OK);
    model_backward(m, T, B);
    assert_int_equal(resize_bridge_init(br, m, k, T, B), TP_OK);
    assert_int_equal(resize_bridge_add(br, m, T, B), TP_OK);
    model_state_free(&s);
}

/* B[n, m] = ∂²L/∂ψ∂ω at 0 for a new unit with only ψ at input m and ω at target n */
static void test_bridge_is_the_mixed_derivative(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 2; k++) {
            Model m, g;
            ModelState s, sg;
            int32_t x[T * B], y[T * B];
            make_model(&m, CELLS[c], 500 + c);
            make_data(x, y, 501);
            random_state(&s, &m, 502);
            ResizeBridge br;
            collect_bridge(&br, &m, &s, x, y, k);
            make_model(&g, CELLS[c], 500 + c); /* the same network, grown by one silent unit */
            random_state(&sg, &g, 502);
            const int Ho = g.cfg.hidden[k];
            assert_int_equal(resize_layer(&g, NULL, &sg, k, Ho + 1, (ResizeInit){0}, NULL), TP_OK);
            /* the strongest pair of each target kind, and one ordinary entry */
            Pair pairs[3];
            int np = 0;
            for (int part = 0; part < 2; part++) {
                int n0 = part ? br.n_rec : 0, n1 = part ? br.n_rec + br.n_next : br.n_rec, bn = n0, bm = 0;
                for (int n = n0; n < n1; n++)
                    for (int i = 0; i < br.n_in; i++)
                        if (fabsf(br.g[(size_t)n * br.n_in + i]) > fabsf(br.g[(size_t)bn * br.n_in + bm])) bn = n, bm = i;
                pairs[np++] = (Pair){k, bm, bn};
            }
            /* an ordinary entry: the first from the middle of the next-layer/logit rows that is not 0
             * (a gate-DNN unit that is off for the whole window has exactly 0) */
            size_t mid = (size_t)(br.n_rec + br.n_next / 2) * br.n_in + br.n_in / 2;
            while (br.g[mid] == 0.0f) mid++;
            pairs[np++] = (Pair){k, (int)(mid % br.n_in), (int)(mid / br.n_in)};
            for (int q = 0; q < np; q++) {
                float *psi = fanin_at(&g, k, Ho, pairs[q].m), *om = fanout_at(&g, k, Ho, pairs[q].n, Ho, br.n_rec);
                const float e = 0.1f; /* the mixed difference divides by 4e²: noise ~ 1e-6 / 0.04 */
                double L[4];
                for (int sgn = 0; sgn < 4; sgn++) {
                    *psi = (sgn & 1) ? -e : e;
                    *om = (sgn & 2) ? -e : e;
                    L[sgn] = nll_from(&g, &sg, x, y);
                }
                *psi = *om = 0.0f;
                double fd = (L[0] - L[1] - L[2] + L[3]) / (4.0 * (double)e * e);
                double an = br.g[(size_t)pairs[q].n * br.n_in + pairs[q].m];
                if (!(fabs(fd - an) <= 5e-5 + 2e-2 * fabs(an)))
                    print_error("cell %d layer %d pair %d (n=%d m=%d): bridge %.6g, finite difference %.6g\n", c, k, q,
                                pairs[q].n, pairs[q].m, an, fd);
                assert_true(fabs(fd - an) <= 5e-5 + 2e-2 * fabs(an));
                assert_true(fabs(an) > 2e-4); /* large enough for the bound to mean something */
            }
            resize_bridge_free(&br);
            model_state_free(&s);
            model_state_free(&sg);
            model_free(&m);
            model_free(&g);
        }
}

static void test_grow_grad_places_nest_weights(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 2; k++) {
            Model m;
            ModelState s;
            int32_t x[T * B], y[T * B];
            make_model(&m, CELLS[c], 600 + c);
            make_data(x, y, 601);
            random_state(&s, &m, 602);
            ResizeBridge br;
            collect_bridge(&br, &m, &s, x, y, k);
            /* the KG strongest pairs, by repeated plain scans (ties: lower position) */
            enum { KG = 6 };
            size_t nb = (size_t)(br.n_rec + br.n_next) * br.n_in, best[KG];
            for (int u = 0; u < KG; u++) {
                size_t bi = SIZE_MAX;
                for (size_t e = 0; e < nb; e++) {
                    int used = 0;
                    for (int v = 0; v < u; v++) used |= best[v] == e;
                    if (!used && (bi == SIZE_MAX || fabsf(br.g[e]) > fabsf(br.g[bi]))) bi = e;
                }
                best[u] = bi;
            }
            double before = nll_from(&m, &s, x, y);
            const int Ho = m.cfg.hidden[k];
            ResizeInit init = {.kind = RESIZE_INIT_GRAD, .scale = 0.5f, .bridge = &br};
            assert_int_equal(resize_layer(&m, NULL, &s, k, Ho + KG, init, NULL), TP_OK);
            for (int u = 0; u < KG; u++) {
                int n = (int)(best[u] / br.n_in), i = (int)(best[u] % br.n_in);
                float *psi = fanin_at(&m, k, Ho + u, i), *om = fanout_at(&m, k, Ho + u, n, Ho, br.n_rec);
                assert_true(*psi != 0.0f && *om > 0.0f);
                assert_true((*psi * *om) * br.g[best[u]] < 0.0f); /* descent direction */
            }
            /* exactly two non-zero entries per new unit */
            size_t nz = 0;
            for (size_t i = 0; i < m.n_params; i++) nz += m.w[i] != 0.0f;
            size_t nz_old = 0;
            Model o;
            make_model(&o, CELLS[c], 600 + c);
            for (size_t i = 0; i < o.n_params; i++) nz_old += o.w[i] != 0.0f;
            assert_int_equal(nz, nz_old + 2 * KG);
            double after = nll_from(&m, &s, x, y);
            assert_true(after < before);
            model_free(&o);
            resize_bridge_free(&br);
            model_state_free(&s);
            model_free(&m);
        }
}

/* A resize between steps of a running Trainer (Adam): the trainer's state and moments follow. */
static void test_resize_inside_training(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        Model m;
        make_model(&m, CELLS[c], 700 + c);
        int32_t ids[400];
        Rng r;
        rng_seed(&r, 701);
        for (int i = 0; i < 400; i++) ids[i] = (int32_t)rng_below(&r, V);
        TrainConfig tc = {.bptt = T, .batch = B, .epochs = 10, .lr = 0.01f, .lr_decay = 1.0f, .clip = 5.0f,
                          .optim = OPTIM_ADAM, .seed = 3};
        Trainer t;
        assert_int_equal(train_init(&t, &m, ids, 400, &tc), TP_OK);
        TrainStepInfo info;
        for (int i = 0; i < 5; i++) assert_int_equal(train_step(&t, &info), TP_OK);
        Rng g;
        rng_seed(&g, 9);
        assert_int_equal(resize_layer(&m, &t.opt, &t.state, 0, 8, (ResizeInit){RESIZE_INIT_FANIN, 0, &g, NULL}, NULL),
                         TP_OK);
        assert_int_equal(resize_layer(&m, &t.opt, &t.state, 1, 2, (ResizeInit){0}, NULL), TP_OK);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(train_step(&t, &info), TP_OK);
            assert_true(isfinite(info.loss));
        }
        assert_int_equal(t.opt.n, m.n_params);
        train_free(&t);
        model_free(&m);
    }
}

static void test_bad_requests_change_nothing(void **state)
{
    (void)state;
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 800);
    size_t n = m.n_params;
    assert_int_equal(resize_layer(&m, NULL, NULL, 2, 3, (ResizeInit){0}, NULL), TP_ERANGE);
    assert_int_equal(resize_layer(&m, NULL, NULL, -1, 3, (ResizeInit){0}, NULL), TP_ERANGE);
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 0, (ResizeInit){0}, NULL), TP_ERANGE);
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 9, (ResizeInit){RESIZE_INIT_GRAD, 0, NULL, NULL}, NULL), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "init=grad"));
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 9, (ResizeInit){RESIZE_INIT_FANIN, 0, NULL, NULL}, NULL), TP_EINVAL);
    ResizeBridge br;
    assert_int_equal(resize_bridge_init(&br, &m, 1, T, B), TP_OK);
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 9, (ResizeInit){RESIZE_INIT_GRAD, 0, NULL, &br}, NULL), TP_EINVAL);
    resize_bridge_free(&br);
    Optim o;
    assert_int_equal(optim_init(&o, OPTIM_ADAM, 0.1f, n + 1), TP_OK);
    assert_int_equal(resize_layer(&m, &o, NULL, 0, 3, (ResizeInit){0}, NULL), TP_EINVAL);
    optim_free(&o);
    float bad[H0] = {1, 2, NAN, 4, 5};
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, 3, (ResizeInit){0}, bad), TP_EINVAL);
    assert_int_equal(m.n_params, n);
    assert_int_equal(m.cfg.hidden[0], H0);
    assert_int_equal(resize_layer(&m, NULL, NULL, 0, H0, (ResizeInit){0}, NULL), TP_OK); /* no-op */
    model_free(&m);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shrink_equals_hand_removed),
        cmocka_unit_test(test_grow_zero_and_fanin_keep_outputs),
        cmocka_unit_test(test_masks_moments_state_follow),
        cmocka_unit_test(test_importance_rule_on_hand_built_model),
        cmocka_unit_test(test_importance_rule_hlstm),
        cmocka_unit_test(test_bridge_is_the_mixed_derivative),
        cmocka_unit_test(test_grow_grad_places_nest_weights),
        cmocka_unit_test(test_resize_inside_training),
        cmocka_unit_test(test_bad_requests_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
