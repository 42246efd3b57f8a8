/* tests/test_asr: the ASR model (engine/asr.h, engine/model_asr.c): its registry (names, shapes,
 * the config check), a whole-model gradient check on a tiny configuration (two convolutions, two
 * bidirectional LSTM layers, CTC), a tiny model overfitting a tiny synthetic CTC task with a fixed
 * seed (loss falls by a stated factor and greedy decoding reproduces the labels), log-probabilities
 * for the decoders, infeasible utterances skipped, and the compression machinery on it: prune (dual
 * ratios, row and block patterns) keeps pruned weights at zero through training, growth, resize
 * (the net rebuilds itself) and state thresholding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "engine/asr.h"
#include "engine/backend.h"
#include "engine/gradcheck.h"
#include "engine/grow.h"
#include "engine/prune.h"
#include "engine/resize.h"
#include "engine/rng.h"
#include "tests/helpers.h"

/* tiny: F = 6 features, conv0 2 filters 3x3 stride 2x1 pad 1x1 (F' = 6), conv1 3 filters 3x3 stride
 * 1x2 pad 1x1 (F' = 3): frames of 9 values; two bidirectional layers of 5 and 4; C = 5 classes */
static ModelConfig tiny(ModelCell cell)
{
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.task = MODEL_TASK_ASR;
    c.n_feat = 6;
    c.n_vocab = 5;
    c.n_conv = 2;
    c.conv[0] = (ModelConvLayer){2, 3, 3, 2, 1, 1, 1};
    c.conv[1] = (ModelConvLayer){3, 3, 3, 1, 2, 1, 1};
    c.n_embed = model_asr_input_width(&c);
    c.n_layers = 2;
    c.hidden[0] = 5;
    c.hidden[1] = 4;
    c.cell = cell;
    c.gate_hidden = 3;
    c.init_scale = 0.3f;
    return c;
}

static void test_registry(void **state)
{
    (void)state;
    ModelConfig c = tiny(MODEL_CELL_LSTM);
    assert_int_equal(c.n_embed, 9);
    Model m;
    Rng rng;
    rng_seed(&rng, 1);
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    assert_int_equal(m.n_tensors, 2 * 2 + 8 * 2 + 2);
    const struct { const char *name; int rows, cols; } want[] = {
        {"conv0.weight", 2, 9}, {"conv0.bias", 2, 1}, {"conv1.weight", 3, 18}, {"conv1.bias", 3, 1},
        {"l0.fw.w_ih", 20, 9}, {"l0.fw.w_hh", 20, 5}, {"l0.fw.b_ih", 20, 1}, {"l0.bw.w_ih", 20, 9},
        {"l0.bw.b_hh", 20, 1}, {"l1.fw.w_ih", 16, 5}, {"l1.bw.w_hh", 16, 4}, {"decoder.weight", 5, 4},
        {"decoder.bias", 5, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ModelParam *p = model_param(&m, want[i].name);
        assert_non_null(p);
        assert_int_equal(p->rows, want[i].rows);
        assert_int_equal(p->cols, want[i].cols);
    }
    assert_null(model_param(&m, "embed.weight"));
    /* the LM's entry points refuse it */
    assert_int_equal(model_reserve(&m, 4, 1), TP_EINVAL);
    model_free(&m);
    ModelConfig h = tiny(MODEL_CELL_HLSTM);
    assert_int_equal(model_init(&m, &h, &rng), TP_OK);
    const ModelParam *p = model_param(&m, "l1.bw.fc1.weight");
    assert_non_null(p);
    assert_int_equal(p->rows, 12);
    assert_int_equal(p->cols, 5 + 4);
    model_free(&m);
    /* n_embed must match the convolutions; they must fit the features */
    c.n_embed = 10;
    assert_int_equal(model_config_check(&c), TP_EINVAL);
    c = tiny(MODEL_CELL_LSTM);
    c.conv[0].kf = 9;
    c.conv[0].pf = 1;
    assert_int_equal(model_config_check(&c), TP_EINVAL);
    c = tiny(MODEL_CELL_LSTM);
    c.task = (ModelTask)7;
    assert_int_equal(model_config_check(&c), TP_EINVAL);
    assert_int_equal(asr_out_frames(&h, 9), 5); /* (9 + 2 - 3) / 2 + 1, then (5 + 2 - 3) / 1 + 1 */
    assert_int_equal(asr_out_frames(&h, 1), 1);
    ModelConfig d = asr_config_default(40, 29, 2, 32);
    assert_int_equal(model_config_check(&d), TP_OK);
    assert_int_equal(d.n_embed, 8 * 20);
}

typedef struct {
    Model m;
    AsrNet net;
    float feat[11 * 6];
    int32_t lab[3];
    int train;   /* 1: the loss with dropout drawn from a copy of drop (the same masks every call) */
    Rng drop;
} Fx;

static double loss_fn(void *ctx)
{
    Fx *f = ctx;
    double loss;
    Rng r = f->drop;
    asr_utterance(&f->net, f->feat, 11, f->lab, 3, f->train, f->train ? 1.0f : 0.0f, f->train ? &r : NULL, &loss);
    return loss;
}

/* Every tensor's gradient against central differences.  The convolutions' biases are set to 3 and
 * their weights kept small so every pre-activation lies inside (0, 20), away from the clip's kinks
 * (asserted; the kinks are tested in tests/test_conv2d). */
static void whole_model_gradient(float dropout)
{
    Fx f;
    ModelConfig c = tiny(MODEL_CELL_LSTM);
    c.dropout = dropout;
    f.train = dropout > 0.0f;
    rng_seed(&f.drop, 77);
    Rng rng;
    rng_seed(&rng, 4);
    assert_int_equal(model_init(&f.m, &c, &rng), TP_OK);
    for (int k = 0; k < 2; k++) {
        const ModelParam *w = &f.m.p[2 * k], *b = &f.m.p[2 * k + 1];
        for (size_t i = 0; i < w->n; i++) f.m.w[w->off + i] *= k == 0 ? 0.3f : 0.06f;
        for (size_t i = 0; i < b->n; i++) f.m.w[b->off + i] = 3.0f;
    }
    th_fill_uniform(f.feat, sizeof f.feat / sizeof(float), -1.0f, 1.0f, &rng);
    f.lab[0] = 2, f.lab[1] = 2, f.lab[2] = 4; /* a repeat */
    assert_int_equal(asr_net_init(&f.net, &f.m), TP_OK);
    model_zero_grad(&f.m);
    double loss;
    assert_int_equal(asr_utterance(&f.net, f.feat, 11, f.lab, 3, 0, 0.0f, NULL, &loss), TP_OK);
    for (int k = 0, Tk = 11; k < 2; k++) {
        const Conv2dCache *cc = &f.net.conv[k];
        Tk = conv2d_out_frames(&cc->s, Tk);
        int rows = Tk * conv2d_out_freq(&cc->s);
        for (int i = 0; i < rows * cc->s.K; i++) assert_true(cc->pre[i] > 0.5f && cc->pre[i] < 19.5f);
    }
    Rng dr = f.drop;
    assert_int_equal(asr_utterance(&f.net, f.feat, 11, f.lab, 3, 1, 1.0f, f.train ? &dr : NULL, &loss), TP_OK);
    assert_true(isfinite(loss) && loss > 0.0);
    assert_int_equal(f.net.dropped, f.train);
    if (f.train) { /* some outputs of each layer dropped, the rest scaled by 1/(1-p) */
        for (int l = 0; l < 2; l++) {
            int zero = 0, kept = 0, e = f.net.T_out * c.hidden[l];
            for (int i = 0; i < e; i++) {
                zero += f.net.ymask[l][i] == 0.0f;
                kept += fabsf(f.net.ymask[l][i] - 1.0f / (1.0f - dropout)) < 1e-6f;
            }
            assert_true(zero > 0 && kept > 0 && zero + kept == e);
        }
    }
    float *g = malloc(f.m.n_params * sizeof(float));
    memcpy(g, f.m.g, f.m.n_params * sizeof(float));
    for (int t = 0; t < f.m.n_tensors; t++) {
        const ModelParam *p = &f.m.p[t];
        GradcheckResult r;
        size_t stride = p->n > 40 ? 3 : 1;
        TpStatus s = gradcheck_run(f.m.w + p->off, g + p->off, p->n, stride, 1e-2f, 2e-4, 3e-3, loss_fn, &f, &r);
        if (s != TP_OK) print_message("%s: %s\n", p->name, err_msg());
        assert_int_equal(s, TP_OK);
    }
    /* negative control */
    g[f.m.p[8].off + 2] += 0.05f;
    GradcheckResult r;
    assert_int_equal(gradcheck_run(f.m.w + f.m.p[8].off, g + f.m.p[8].off, f.m.p[8].n, 1, 1e-2f, 2e-4, 3e-3, loss_fn,
                                   &f, &r),
                     TP_ERANGE);
    free(g);
    asr_net_free(&f.net);
    model_free(&f.m);
}

static void test_whole_model_gradient(void **state)
{
    (void)state;
    whole_model_gradient(0.0f);
}

/* The same check through the LSTM layers' output dropout (fixed masks: the loss redraws them from
 * the same stream). */
static void test_gradient_with_dropout(void **state)
{
    (void)state;
    whole_model_gradient(0.3f);
}

/* ---- a tiny synthetic task: label k is a burst of energy in bins 2(k-1), 2(k-1)+1 ---- */

enum { NU = 4, F_SYN = 8, SEG = 6, GAP = 3, MAXT = 64 };
static const int32_t SYN_LAB[NU][3] = {{1, 2, 0}, {3, 1, 4}, {2, 2, 0}, {4, 3, 0}};
static const int SYN_L[NU] = {2, 3, 2, 2};

typedef struct {
    float feat[NU][MAXT * F_SYN];
    AsrUtterance u[NU];
} Syn;

static void make_syn(Syn *s, Rng *rng)
{
    for (int i = 0; i < NU; i++) {
        int T = GAP + SYN_L[i] * (SEG + GAP);
        float *x = s->feat[i];
        th_fill_uniform(x, (size_t)T * F_SYN, -0.2f, 0.2f, rng);
        for (int j = 0; j < SYN_L[i]; j++)
            for (int t = 0; t < SEG; t++) {
                int row = GAP + j * (SEG + GAP) + t, k = SYN_LAB[i][j] - 1;
                x[row * F_SYN + 2 * k] += 2.0f;
                x[row * F_SYN + 2 * k + 1] += 2.0f;
            }
        s->u[i] = (AsrUtterance){x, T, SYN_LAB[i], SYN_L[i]};
    }
}

static ModelConfig syn_config(void)
{
    ModelConfig c = asr_config_default(F_SYN, 5, 1, 12);
    c.conv[0] = (ModelConvLayer){4, 3, 3, 2, 1, 1, 1};
    c.n_embed = model_asr_input_width(&c);
    c.init_scale = 0.2f;
    return c;
}

/* greedy CTC decoding: argmax per frame, merge repeats, drop blanks */
static int greedy(const float *logp, int T, int C, int32_t *out)
{
    int n = 0, prev = -1;
    for (int t = 0; t < T; t++) {
        int best = 0;
        for (int k = 1; k < C; k++)
            if (logp[t * C + k] > logp[t * C + best]) best = k;
        if (best != prev && best != 0) out[n++] = best;
        prev = best;
    }
    return n;
}

/* Adam at 0.02, 150 full-batch steps: the mean loss must fall at least 100-fold (it goes from about
 * 12 to under 0.01), and greedy decoding
 * must give every utterance's labels back. */
static void test_overfits_tiny_task(void **state)
{
    (void)state;
    Syn syn;
    Rng rng;
    rng_seed(&rng, 9);
    make_syn(&syn, &rng);
    ModelConfig c = syn_config();
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    AsrTrainer tr;
    AsrTrainConfig tc = {OPTIM_ADAM, 0.02f, 5.0f, 1, 0};
    assert_int_equal(asr_train_init(&tr, &m, &tc), TP_OK);
    AsrStepInfo info;
    double first = 0.0;
    for (int s = 0; s < 150; s++) {
        assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
        assert_int_equal(info.n_scored, NU);
        if (s == 0) first = info.loss;
    }
    AsrEvalResult ev;
    assert_int_equal(asr_evaluate(&tr.net, syn.u, NU, &ev), TP_OK);
    print_message("asr overfit: loss %.3f -> %.4f (eval %.4f)\n", first, info.loss, ev.loss);
    assert_true(ev.loss * 100.0 < first);
    float logp[MAXT * 5];
    for (int i = 0; i < NU; i++) {
        int To;
        int32_t out[MAXT];
        assert_int_equal(asr_log_probs(&tr.net, syn.u[i].feat, syn.u[i].T, logp, &To), TP_OK);
        assert_int_equal(To, asr_out_frames(&c, syn.u[i].T));
        for (int t = 0; t < To; t++) {
            double z = 0.0;
            for (int k = 0; k < 5; k++) z += exp(logp[t * 5 + k]);
            assert_true(fabs(z - 1.0) < 1e-5);
        }
        int n = greedy(logp, To, 5, out);
        assert_int_equal(n, SYN_L[i]);
        assert_memory_equal(out, SYN_LAB[i], (size_t)n * sizeof(int32_t));
    }
    asr_train_free(&tr);
    model_free(&m);
}

/* an utterance too short for its labels is skipped and counted; one shorter than the kernel errs */
static void test_infeasible_and_short(void **state)
{
    (void)state;
    Syn syn;
    Rng rng;
    rng_seed(&rng, 2);
    make_syn(&syn, &rng);
    ModelConfig c = syn_config();
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    AsrTrainer tr;
    AsrTrainConfig tc = {OPTIM_SGD, 0.1f, 1.0f, 1, 0};
    assert_int_equal(asr_train_init(&tr, &m, &tc), TP_OK);
    AsrUtterance u[2] = {syn.u[1], syn.u[1]};
    u[1].T = 4; /* 2 output frames for 3 labels */
    AsrStepInfo info;
    assert_int_equal(asr_train_step(&tr, u, 2, &info), TP_OK);
    assert_int_equal(info.n_scored, 1);
    assert_int_equal(info.n_skipped, 1);
    assert_true(isfinite(info.loss));
    float *w0 = malloc(m.n_params * sizeof(float));
    memcpy(w0, m.w, m.n_params * sizeof(float));
    assert_int_equal(asr_train_step(&tr, u + 1, 1, &info), TP_OK); /* nothing scored: nothing changes */
    assert_int_equal(info.n_skipped, 1);
    assert_memory_equal(w0, m.w, m.n_params * sizeof(float));
    free(w0);
    double loss;
    assert_int_equal(asr_forward(&tr.net, syn.u[0].feat, 0, 0, NULL), TP_EINVAL);
    int32_t bad[1] = {5};
    assert_int_equal(asr_utterance(&tr.net, syn.u[0].feat, syn.u[0].T, bad, 1, 0, 0.0f, NULL, &loss), TP_EINVAL);
    asr_train_free(&tr);
    model_free(&m);
}

static double max_rel(const float *a, const float *b, size_t n) { return th_max_rel_diff(a, b, n, 1e-6); }

/* asr_batch over utterances of different lengths (two convolutions, two layers, LSTM and H-LSTM,
 * with and without the state threshold) equals asr_utterance on each alone: the losses, every
 * gradient (scaled), the state counters; an infeasible utterance in the batch (more labels than
 * frames: infinite loss) adds nothing; a padded training step moves the weights as the one-at-a-time
 * step does.  No dropout (its draws differ by design). */
static void test_padded_batch(void **state)
{
    (void)state;
    enum { NB = 5 };
    static const int TS[NB] = {11, 17, 9, 23, 13};
    static const int32_t LAB[NB][3] = {{1, 2, 0}, {3, 1, 4}, {2, 0, 0}, {4, 3, 2}, {1, 2, 3}};
    static const int LS[NB] = {2, 3, 1, 3, 3};
    for (int cell = 0; cell < 2; cell++)
        for (int tau_on = 0; tau_on < 2; tau_on++) {
            ModelConfig c = tiny(cell ? MODEL_CELL_HLSTM : MODEL_CELL_LSTM);
            c.state_tau = tau_on ? 0.05f : 0.0f;
            Rng rng;
            rng_seed(&rng, 31 + (uint64_t)(2 * cell + tau_on));
            Model m;
            assert_int_equal(model_init(&m, &c, &rng), TP_OK);
            float *feat[NB];
            const float *fp[NB];
            const int32_t *lp[NB];
            int T[NB], L[NB];
            for (int b = 0; b < NB; b++) {
                feat[b] = malloc((size_t)TS[b] * c.n_feat * sizeof(float));
                th_fill_uniform(feat[b], (size_t)TS[b] * c.n_feat, -1.0f, 1.0f, &rng);
                fp[b] = feat[b], lp[b] = LAB[b], T[b] = TS[b], L[b] = LS[b];
            }
            T[4] = 4; /* 1 output frame for 3 labels: infeasible, infinite loss */
            const size_t P = m.n_params;
            float *g1 = malloc(P * sizeof(float));
            /* one at a time */
            AsrNet one, bat;
            assert_int_equal(asr_net_init(&one, &m), TP_OK);
            assert_int_equal(asr_net_init(&bat, &m), TP_OK);
            model_zero_grad(&m);
            double l1[NB], lb[NB];
            for (int b = 0; b < NB; b++)
                assert_int_equal(asr_utterance(&one, fp[b], T[b], lp[b], L[b], 1, 0.25f, NULL, &l1[b]), TP_OK);
            memcpy(g1, m.g, P * sizeof(float));
            /* as one padded batch, twice (the buffers are reused) */
            for (int rep = 0; rep < 2; rep++) {
                model_zero_grad(&m);
                assert_int_equal(asr_batch(&bat, fp, T, lp, L, NB, 1, 0.25f, NULL, lb), TP_OK);
                for (int b = 0; b < NB; b++) {
                    if (b == 4) {
                        assert_false(isfinite(lb[b]));
                        assert_false(isfinite(l1[b]));
                        continue;
                    }
                    if (!(fabs(lb[b] - l1[b]) <= 1e-5 * fabs(l1[b])))
                        fail_msg("cell %d tau %d utterance %d: loss %.9g batched, %.9g alone", cell, tau_on, b, lb[b], l1[b]);
                }
                double d = max_rel(m.g, g1, P);
                if (!(d <= 1e-5)) fail_msg("cell %d tau %d: gradients differ by %.3g relative", cell, tau_on, d);
            }
            if (tau_on) {
                assert_true(one.state_n > 0.0);
                assert_true(fabs(bat.state_n - 2.0 * one.state_n) < 0.5); /* two batched forwards */
                assert_true(fabs(bat.state_zero - 2.0 * one.state_zero) <= 4.0);
            }
            /* evaluation (train = 0) gives the same losses and touches no gradient */
            model_zero_grad(&m);
            assert_int_equal(asr_batch(&bat, fp, T, lp, L, NB - 1, 0, 0.0f, NULL, lb), TP_OK);
            for (int b = 0; b < NB - 1; b++) assert_true(fabs(lb[b] - l1[b]) <= 1e-5 * fabs(l1[b]));
            for (size_t i = 0; i < P; i++) assert_true(m.g[i] == 0.0f);
            /* a training step, padded and one at a time, from the same weights */
            float *w0 = malloc(P * sizeof(float)), *w1 = malloc(P * sizeof(float));
            memcpy(w0, m.w, P * sizeof(float));
            AsrUtterance u[NB];
            for (int b = 0; b < NB; b++) u[b] = (AsrUtterance){fp[b], T[b], lp[b], L[b]};
            for (int padded = 0; padded < 2; padded++) {
                memcpy(m.w, w0, P * sizeof(float));
                AsrTrainer tr;
                AsrTrainConfig tc = {OPTIM_SGD, 0.1f, 0.0f, 1, padded};
                assert_int_equal(asr_train_init(&tr, &m, &tc), TP_OK);
                AsrStepInfo info;
                assert_int_equal(asr_train_step(&tr, u, NB, &info), TP_OK);
                assert_int_equal(info.n_scored, 4);
                assert_int_equal(info.n_skipped, 1);
                if (!padded) memcpy(w1, m.w, P * sizeof(float));
                else if (!(max_rel(m.w, w1, P) <= 1e-6)) fail_msg("padded step: weights differ by %.3g", max_rel(m.w, w1, P));
                asr_train_free(&tr);
            }
            free(w0);
            free(w1);
            asr_net_free(&one);
            asr_net_free(&bat);
            free(g1);
            for (int b = 0; b < NB; b++) free(feat[b]);
            model_free(&m);
        }
    /* an utterance shorter than the kernel is refused, naming it */
    ModelConfig c = tiny(MODEL_CELL_LSTM);
    Rng rng;
    rng_seed(&rng, 1);
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    AsrNet n;
    assert_int_equal(asr_net_init(&n, &m), TP_OK);
    float x[11 * 6] = {0};
    const float *fp[2] = {x, x};
    const int32_t lab[1] = {1}, *lp[2] = {lab, lab};
    int T[2] = {11, 0}, L[2] = {1, 1};
    double loss[2];
    assert_int_equal(asr_batch(&n, fp, T, lp, L, 2, 0, 0.0f, NULL, loss), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "utterance 1 of the batch"));
    asr_net_free(&n);
    model_free(&m);
}

static size_t live_where_pruned(const Model *m, const uint8_t *mask0)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_params; i++) n += !mask0[i] && (m->mask[i] || m->w[i] != 0.0f);
    return n;
}

/* prune (dual ratios; row; block), train: pruned weights stay exactly 0; growth; resize both ways
 * with the trainer's optimizer; state thresholding counts zeros */
static void test_compression_on_asr(void **state)
{
    (void)state;
    Syn syn;
    Rng rng;
    rng_seed(&rng, 5);
    make_syn(&syn, &rng);
    ModelConfig c = syn_config();
    c.n_layers = 2;
    c.hidden[1] = 8;
    c.state_tau = 0.02f;
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    AsrTrainer tr;
    AsrTrainConfig tc = {OPTIM_ADAM, 0.01f, 5.0f, 3, 0};
    assert_int_equal(asr_train_init(&tr, &m, &tc), TP_OK);
    AsrStepInfo info;
    assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_true(tr.net.state_n > 0 && tr.net.state_zero > 0);

    uint8_t *ever = calloc(m.n_params, 1);
    PruneConfig pc = prune_config_default();
    pc.mode = PRUNE_RATIO;
    pc.amount = 0.3;
    pc.amount_hh = 0.6;
    PruneResult pr;
    assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
    const ModelParam *hh = model_param(&m, "l0.bw.w_hh");
    int thh = (int)(hh - m.p);
    assert_true(fabs(pr.t[thh].amount - 0.6) < 1e-12);
    assert_true(pr.t[(int)(model_param(&m, "conv0.weight") - m.p)].removed > 0);
    pc = prune_config_default();
    pc.mode = PRUNE_SPARSITY;
    pc.amount = 0.5;
    pc.pattern = PRUNE_ROW;
    pc.params = "l1.*.w_ih";
    assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
    pc.pattern = PRUNE_BLOCK;
    pc.block_r = 4;
    pc.block_c = 1;
    pc.params = "l0.*.w_ih";
    pc.amount = 0.5;
    assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
    optim_sync_mask(&tr.opt, m.mask);
    uint8_t *mask0 = malloc(m.n_params);
    memcpy(mask0, m.mask, m.n_params);
    for (int s = 0; s < 3; s++) assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_int_equal(live_where_pruned(&m, mask0), 0);

    GrowAccum ga;
    assert_int_equal(grow_accum_init(&ga, &m), TP_OK);
    assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_int_equal(grow_accum_add(&ga, &m), TP_OK);
    GrowConfig gc = grow_config_default();
    gc.ratio = 0.5;
    gc.recoverable = 1;
    GrowResult gr;
    assert_int_equal(grow_apply(&m, &gr, &ga, ever, &gc), TP_OK);
    assert_true(gr.grown > 0);
    grow_accum_free(&ga);

    ResizeInit zero = {RESIZE_INIT_ZERO, 0.0f, NULL, NULL}, fan = {RESIZE_INIT_FANIN, 0.0f, &rng, NULL};
    assert_int_equal(resize_layer(&m, &tr.opt, NULL, 0, 9, zero, NULL), TP_OK);
    assert_int_equal(model_param(&m, "l0.fw.w_hh")->cols, 9);
    assert_int_equal(model_param(&m, "l1.bw.w_ih")->cols, 9);
    assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_int_equal(resize_layer(&m, &tr.opt, NULL, 1, 10, fan, NULL), TP_OK);
    assert_int_equal(model_param(&m, "decoder.weight")->cols, 10);
    assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_int_equal(resize_layer(&m, &tr.opt, NULL, 1, 6, zero, NULL), TP_OK);
    assert_int_equal(asr_train_step(&tr, syn.u, NU, &info), TP_OK);
    assert_true(isfinite(info.loss));
    ResizeBridge br;
    assert_int_equal(resize_bridge_init(&br, &m, 0, 8, 1), TP_ENOTAVAIL);
    free(ever);
    free(mask0);
    asr_train_free(&tr);
    model_free(&m);
}

/* The same network in PyTorch, loaded from the names of asr_torch_name (load_state_dict strict):
 * logits and CTC loss must agree.  Skipped with a message when /usr/bin/python3 has no torch. */
static const char *PY =
    "import sys\n"
    "try:\n"
    "    import torch\n"
    "    from torch import nn\n"
    "except Exception:\n"
    "    sys.exit(77)\n"
    "lines = open(sys.argv[1]).read().split('\\n')\n"
    "cfg = [int(v) for v in lines[0].split()]\n"
    "F, C, nconv, L = cfg[:4]\n"
    "convs = [cfg[4 + 7 * k: 11 + 7 * k] for k in range(nconv)]\n"
    "hidden = cfg[4 + 7 * nconv:4 + 7 * nconv + L]\n"
    "class Net(nn.Module):\n"
    "    def __init__(s):\n"
    "        super().__init__()\n"
    "        ch, f, mods = 1, F, []\n"
    "        for K, kt, kf, st, sf, pt, pf in convs:\n"
    "            mods.append(nn.Conv2d(ch, K, (kt, kf), (st, sf), (pt, pf)))\n"
    "            ch, f = K, (f + 2 * pf - kf) // sf + 1\n"
    "        s.conv = nn.ModuleList(mods)\n"
    "        I, rnn = ch * f, []\n"
    "        for H in hidden:\n"
    "            rnn.append(nn.LSTM(I, H, bidirectional=True))\n"
    "            I = H\n"
    "        s.rnn = nn.ModuleList(rnn)\n"
    "        s.decoder = nn.Linear(I, C)\n"
    "    def forward(s, x):\n"
    "        x = x[None, None]\n"
    "        for c in s.conv:\n"
    "            x = torch.clamp(c(x), 0, 20)\n"
    "        n, k, t, f = x.shape\n"
    "        x = x.permute(2, 0, 1, 3).reshape(t, 1, k * f)\n"
    "        for r in s.rnn:\n"
    "            y, _ = r(x)\n"
    "            H = y.shape[2] // 2\n"
    "            x = y[:, :, :H] + y[:, :, H:]\n"
    "        return s.decoder(x)[:, 0, :]\n"
    "net = Net().double()\n"
    "sd = {}\n"
    "i = 1\n"
    "while lines[i].split()[0] != 'feat':\n"
    "    v = lines[i].split()\n"
    "    nd = int(v[1])\n"
    "    dims = [int(d) for d in v[2:2 + nd]]\n"
    "    sd[v[0]] = torch.tensor([float(z) for z in v[2 + nd:]], dtype=torch.float64).reshape(dims)\n"
    "    i += 1\n"
    "net.load_state_dict(sd, strict=True)\n"
    "v = lines[i].split()\n"
    "T = int(v[1])\n"
    "x = torch.tensor([float(z) for z in v[2:]], dtype=torch.float64).reshape(T, F)\n"
    "lab = [int(z) for z in lines[i + 1].split()[1:]]\n"
    "u = net(x)\n"
    "lp = torch.log_softmax(u, 1)[:, None, :]\n"
    "loss = nn.functional.ctc_loss(lp, torch.tensor([lab]), [u.shape[0]], [len(lab)], reduction='sum')\n"
    "out = open(sys.argv[2], 'w')\n"
    "out.write('%d %r\\n' % (u.shape[0], loss.item()))\n"
    "out.write(' '.join(repr(z) for z in u.reshape(-1).tolist()) + '\\n')\n";

static void test_agrees_with_torch(void **state)
{
    (void)state;
    ModelConfig c = tiny(MODEL_CELL_LSTM);
    Model m;
    Rng rng;
    rng_seed(&rng, 8);
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    float feat[11 * 6];
    th_fill_uniform(feat, sizeof feat / sizeof(float), -1.5f, 1.5f, &rng);
    int32_t lab[3] = {1, 3, 3};
    char *dir = th_tempdir("asr");
    char in[512], out[512], py[512], cmd[2048];
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(py, sizeof py, "%s/asr.py", dir);
    assert_int_equal(th_write_file(py, PY, strlen(PY)), 0);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fprintf(f, "%d %d %d %d", c.n_feat, c.n_vocab, c.n_conv, c.n_layers);
    for (int k = 0; k < c.n_conv; k++)
        fprintf(f, " %d %d %d %d %d %d %d", c.conv[k].filters, c.conv[k].kt, c.conv[k].kf, c.conv[k].st, c.conv[k].sf,
                c.conv[k].pt, c.conv[k].pf);
    for (int l = 0; l < c.n_layers; l++) fprintf(f, " %d", c.hidden[l]);
    fprintf(f, "\n");
    for (int t = 0; t < m.n_tensors; t++) {
        char name[64];
        int nd, dims[4];
        assert_int_equal(asr_torch_name(&m, t, name, sizeof name, &nd, dims), TP_OK);
        fprintf(f, "%s %d", name, nd);
        for (int k = 0; k < nd; k++) fprintf(f, " %d", dims[k]);
        for (size_t i = 0; i < m.p[t].n; i++) fprintf(f, " %.9g", (double)m.w[m.p[t].off + i]);
        fprintf(f, "\n");
    }
    fprintf(f, "feat 11");
    for (int i = 0; i < 11 * 6; i++) fprintf(f, " %.9g", (double)feat[i]);
    fprintf(f, "\nlabels 1 3 3\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", py, in, out);
    int rc = system(cmd);
    /* exit 77: no torch (skip); any other failure of the script is a failure of the test */
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 77);
    if (rc != 0) {
        th_rmtree(dir);
        free(dir);
        model_free(&m);
        print_message("skipped: /usr/bin/python3 with torch is not available (exit %d)\n", rc);
        skip();
    }
    AsrNet net;
    assert_int_equal(asr_net_init(&net, &m), TP_OK);
    double loss, want;
    assert_int_equal(asr_utterance(&net, feat, 11, lab, 3, 0, 0.0f, NULL, &loss), TP_OK);
    f = fopen(out, "r");
    assert_non_null(f);
    int To;
    assert_int_equal(fscanf(f, "%d %lf", &To, &want), 2);
    assert_int_equal(To, net.T_out);
    assert_true(fabs(loss - want) < 1e-4 * fmax(1.0, fabs(want)));
    for (int i = 0; i < To * c.n_vocab; i++) {
        double u;
        assert_int_equal(fscanf(f, "%lf", &u), 1);
        assert_true(fabs(net.logits[i] - u) < 1e-5);
    }
    fclose(f);
    asr_net_free(&net);
    th_rmtree(dir);
    free(dir);
    model_free(&m);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_whole_model_gradient),
        cmocka_unit_test(test_gradient_with_dropout),
        cmocka_unit_test(test_overfits_tiny_task),
        cmocka_unit_test(test_infeasible_and_short),
        cmocka_unit_test(test_padded_batch),
        cmocka_unit_test(test_compression_on_asr),
        cmocka_unit_test(test_agrees_with_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
