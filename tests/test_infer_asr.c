/* tests/test_infer_asr: the speech model's batch-1 inference runtime (engine/infer_asr).
 *
 *   - its logits equal asr_forward's (the training code's forward) within 1e-4 relative, for the
 *     cost model's choice and for every forced kernel (SparseKind), LSTM and H-LSTM, with and without
 *     state thresholding, trimmed and not, on masks pruned unstructured and in 4x4 and 16x1 blocks,
 *     over several utterance lengths (the buffers grow and are reused);
 *   - trimming cuts a unit nothing reads (from both directions) and keeps the logits;
 *   - a language model, an unknown kernel and a too-short utterance are refused with the reason;
 *   - the two directions of a layer run at once (one thread each) give bit-identical logits and the
 *     same state counters as run in turn, for LSTM and H-LSTM, with and without thresholding; the
 *     timed choice records both timings and keeps the faster; at once is refused with one thread or a
 *     dense direction matrix;
 *   - on real AN4 features (../shared/data/an4, skipped when absent): the default speech model,
 *     pruned, through the cost model's kernels and forced CSR, equals asr_forward.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/an4.h"
#include "engine/asr.h"
#include "engine/backend.h"
#include "engine/breakeven.h"
#include "engine/features.h"
#include "engine/infer_asr.h"
#include "engine/model.h"
#include "engine/rng.h"
#include "tests/helpers.h"

/* tests/test_asr.c's tiny() front end (two convolutions, frames of 9 values), wider layers so that
 * the block layouts have whole blocks: two bidirectional layers of 20 and 12 units, C = 7 classes */
static ModelConfig small(ModelCell cell, float tau)
{
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.task = MODEL_TASK_ASR;
    c.n_feat = 6;
    c.n_vocab = 7;
    c.n_conv = 2;
    c.conv[0] = (ModelConvLayer){2, 3, 3, 2, 1, 1, 1};
    c.conv[1] = (ModelConvLayer){3, 3, 3, 1, 2, 1, 1};
    c.n_embed = model_asr_input_width(&c);
    c.n_layers = 2;
    c.hidden[0] = 20;
    c.hidden[1] = 12;
    c.cell = cell;
    c.gate_hidden = 6;
    c.init_scale = 0.4f;
    c.state_tau = tau;
    return c;
}

static void zero(Model *m, size_t i) { m->w[i] = 0.0f, m->mask[i] = 0; }

/* pattern 0: unstructured (each weight of a matrix with probability frac); 1: 4x4 blocks; 2: 16x1 */
static void prune(Model *m, int pattern, double frac, Rng *rng)
{
    static const int BR[3] = {1, 4, 16}, BC[3] = {1, 4, 1};
    for (int t = 0; t < m->n_tensors; t++) {
        const ModelParam *p = &m->p[t];
        if (p->kind != PARAM_WEIGHT || !strncmp(p->name, "conv", 4)) continue;
        const int br = BR[pattern], bc = BC[pattern];
        for (int r0 = 0; r0 < p->rows; r0 += br)
            for (int c0 = 0; c0 < p->cols; c0 += bc) {
                if (rng_uniform(rng) >= frac) continue;
                for (int r = r0; r < r0 + br && r < p->rows; r++)
                    for (int c = c0; c < c0 + bc && c < p->cols; c++) zero(m, p->off + (size_t)r * p->cols + c);
            }
    }
}

static float *random_feat(int T, int F, Rng *rng)
{
    float *f = malloc((size_t)T * F * sizeof *f);
    assert_non_null(f);
    for (int i = 0; i < T * F; i++) f[i] = 2.0f * rng_uniform(rng) - 1.0f;
    return f;
}

/* max |a - b| / max(max |b|, 1e-3) over n values */
static double rel_diff(const float *a, const float *b, size_t n) { return th_max_rel_diff(a, b, n, 1e-3); }

/* the runtime of m under o against asr_forward on utterances of the given lengths */
static void check_equal(Model *m, const InferOptions *o, const int *lens, int n_lens, uint64_t seed, const char *what)
{
    AsrNet net;
    assert_int_equal(asr_net_init(&net, m), TP_OK);
    InferAsr r;
    if (infer_asr_init(&r, m, o) != TP_OK) fail_msg("%s: %s", what, err_msg());
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < n_lens; i++) {
        float *feat = random_feat(lens[i], m->cfg.n_feat, &rng);
        assert_int_equal(asr_forward(&net, feat, lens[i], 0, NULL), TP_OK);
        const float *lg;
        int To = 0;
        assert_int_equal(infer_asr_forward(&r, feat, lens[i], &lg, &To), TP_OK);
        assert_int_equal(To, net.T_out);
        double d = rel_diff(lg, net.logits, (size_t)To * m->cfg.n_vocab);
        if (!(d <= 1e-4)) fail_msg("%s, T = %d: logits differ by %.3g relative", what, lens[i], d);
        free(feat);
    }
    infer_asr_free(&r);
    asr_net_free(&net);
}

static void test_equals_asr_forward(void **state)
{
    (void)state;
    static const int LENS[] = {9, 31, 4, 57, 20};
    for (int cell = 0; cell < 2; cell++)
        for (int tau_on = 0; tau_on < 2; tau_on++)
            for (int pattern = 0; pattern < 3; pattern++) {
                ModelConfig c = small((ModelCell)cell, tau_on ? 0.05f : 0.0f);
                Rng rng;
                rng_seed(&rng, 17 + (uint64_t)(cell * 7 + tau_on * 3 + pattern));
                Model m;
                assert_int_equal(model_init(&m, &c, &rng), TP_OK);
                prune(&m, pattern, pattern ? 0.5 : 0.7, &rng);
                for (int k = -1; k < SPARSE_N_KINDS; k++)
                    for (int trim = 0; trim < 2; trim++) {
                        InferOptions o;
                        infer_options_defaults(&o);
                        o.force = k;
                        o.trim = trim;
                        char what[128];
                        snprintf(what, sizeof what, "%s tau %d pattern %d kernel %s trim %d", cell ? "H-LSTM" : "LSTM",
                                 tau_on, pattern, k < 0 ? "auto" : sparse_kind_name((SparseKind)k), trim);
                        check_equal(&m, &o, LENS, 5, 5 + (uint64_t)k, what);
                    }
                model_free(&m);
            }
}

/* unit 3 of layer 0 read by nothing: its columns in both directions' W_hh of layer 0 and W_ih of
 * layer 1 are zero -> trimmed to 19 units, same logits; the summary says so */
static void test_trim_dead_unit(void **state)
{
    (void)state;
    ModelConfig c = small(MODEL_CELL_LSTM, 0.0f);
    Rng rng;
    rng_seed(&rng, 3);
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    static const char *const READERS[] = {"l0.fw.w_hh", "l0.bw.w_hh", "l1.fw.w_ih", "l1.bw.w_ih"};
    for (int i = 0; i < 4; i++) {
        const ModelParam *p = model_param(&m, READERS[i]);
        assert_non_null(p);
        for (int r = 0; r < p->rows; r++) zero(&m, p->off + (size_t)r * p->cols + 3);
    }
    InferOptions o;
    infer_options_defaults(&o);
    InferAsr r;
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_OK);
    assert_int_equal(r.cfg.hidden[0], 19);
    assert_int_equal(r.cfg.hidden[1], 12);
    assert_int_equal(r.n_mat, 9); /* 2 layers x 2 directions x (w_ih, w_hh) + decoder */
    char sum[512];
    infer_asr_summary(&r, sum, sizeof sum);
    assert_non_null(strstr(sum, "hidden 19/20 12/12"));
    infer_asr_free(&r);
    static const int LENS[] = {15, 40};
    check_equal(&m, &o, LENS, 2, 9, "trimmed dead unit");
    model_free(&m);
}

/* directions in turn vs at once: the same kernels (forced CSR, forced SELL-SEG), so the
 * logits must agree bit for bit (at two BLAS threads, as a deployment at --threads 2 runs) */
static void test_directions_at_once(void **state)
{
    (void)state;
    static const int LENS[] = {9, 31, 4, 57};
    Breakeven be;
    breakeven_default(&be);
    be.threads = 2; /* two threads available; no threaded variant measured */
    const int blas = backend_threads();
    assert_int_equal(backend_set_threads(2), TP_OK);
    for (int cell = 0; cell < 2; cell++)
        for (int tau_on = 0; tau_on < 2; tau_on++)
            for (int f = 0; f < 2; f++) {
                const int force = f ? SPARSE_SELL_SEG : SPARSE_CSR;
                ModelConfig c = small((ModelCell)cell, tau_on ? 0.05f : 0.0f);
                Rng rng;
                rng_seed(&rng, 41 + (uint64_t)(cell * 2 + tau_on));
                Model m;
                assert_int_equal(model_init(&m, &c, &rng), TP_OK);
                prune(&m, 0, 0.7, &rng);
                InferAsr r[3];
                for (int d = 0; d < 3; d++) {
                    InferOptions o;
                    infer_options_defaults(&o);
                    o.cost = &be;
                    o.force = force;
                    o.directions = d - 1; /* r[0] timed, r[1] in turn, r[2] at once */
                    if (infer_asr_init(&r[d], &m, &o) != TP_OK) fail_msg("directions %d: %s", d - 1, err_msg());
                }
                assert_int_equal(r[1].parallel, 0);
                assert_int_equal(r[2].parallel, 1);
                assert_true(r[0].plan_ms[0] > 0.0 && r[0].plan_ms[1] > 0.0);
                assert_int_equal(r[0].parallel, r[0].plan_ms[1] < r[0].plan_ms[0]);
                assert_true(r[1].plan_ms[0] == 0.0 && r[2].plan_ms[0] == 0.0);
                char buf[4096];
                infer_asr_describe(&r[2], buf, sizeof buf);
                assert_non_null(strstr(buf, "directions: at once, one thread each"));
                infer_asr_summary(&r[2], buf, sizeof buf);
                assert_non_null(strstr(buf, "directions at once"));
                Rng fr;
                rng_seed(&fr, 5);
                for (int i = 0; i < 4; i++) {
                    float *feat = random_feat(LENS[i], c.n_feat, &fr);
                    const float *lg[3];
                    int To[3];
                    for (int d = 0; d < 3; d++) assert_int_equal(infer_asr_forward(&r[d], feat, LENS[i], &lg[d], &To[d]), TP_OK);
                    for (int d = 0; d < 3; d++) assert_int_equal(To[d], To[1]);
                    for (int d = 0; d < 3; d += 2)
                        if (memcmp(lg[d], lg[1], (size_t)To[1] * c.n_vocab * sizeof(float)))
                            fail_msg("%s tau %d kernel %d T %d: plan %d's logits differ from in turn", cell ? "H-LSTM" : "LSTM",
                                     tau_on, force, LENS[i], d - 1);
                    free(feat);
                }
                if (tau_on) {
                    assert_true(infer_asr_state_sparsity(&r[1]) > 0.0);
                    assert_true(infer_asr_state_sparsity(&r[2]) == infer_asr_state_sparsity(&r[1]));
                    assert_true(r[2].k.rec_products == r[1].k.rec_products);
                }
                for (int d = 0; d < 3; d++) infer_asr_free(&r[d]);
                model_free(&m);
            }
    /* refusals: one thread; a dense direction matrix; an unknown plan */
    ModelConfig c = small(MODEL_CELL_LSTM, 0.0f);
    Rng rng;
    rng_seed(&rng, 2);
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    o.directions = 1;
    o.threads = 1;
    InferAsr r;
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "one thread"));
    o.threads = 0;
    o.force = SPARSE_DENSE;
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "dense (BLAS)"));
    o.directions = -1; /* timed: a dense model simply runs in turn */
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_OK);
    assert_int_equal(r.parallel, 0);
    assert_true(r.plan_ms[0] == 0.0);
    infer_asr_free(&r);
    o.directions = 2;
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "directions 2"));
    model_free(&m);
    assert_int_equal(backend_set_threads(blas), TP_OK);
}

static void test_refusals(void **state)
{
    (void)state;
    ModelConfig lm = {.n_vocab = 11, .n_embed = 5, .n_layers = 1, .hidden = {6}, .cell = MODEL_CELL_LSTM, .init_scale = 0.5f};
    Rng rng;
    rng_seed(&rng, 1);
    Model m;
    assert_int_equal(model_init(&m, &lm, &rng), TP_OK);
    InferAsr r;
    assert_int_equal(infer_asr_init(&r, &m, NULL), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "speech (ASR) model"));
    model_free(&m);

    ModelConfig c = small(MODEL_CELL_LSTM, 0.0f);
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    InferOptions o;
    infer_options_defaults(&o);
    o.force = SPARSE_N_KINDS;
    assert_int_equal(infer_asr_init(&r, &m, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "unknown kernel"));
    assert_int_equal(infer_asr_init(&r, &m, NULL), TP_OK);
    float feat[6] = {0};
    const float *lg;
    int To;
    assert_int_equal(infer_asr_forward(&r, feat, 0, &lg, &To), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "shorter than the front end's kernel"));
    infer_asr_free(&r);
    model_free(&m);
}

static const char *an4_dir(void)
{
    const char *p = th_shared_data("an4/etc/an4_test.fileids");
    return p ? th_shared_data("an4") : NULL;
}

static void test_real_an4_utterances(void **state)
{
    (void)state;
    const char *dir = an4_dir();
    if (!dir) {
        print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n");
        skip();
        return;
    }
    FeatCfg fc;
    features_cfg_default(&fc);
    An4 *ds = NULL;
    if (an4_open(dir, AN4_TEST, &fc, &ds) != TP_OK) fail_msg("an4_open: %s", err_msg());
    ModelConfig c = asr_config_default(an4_dim(ds), 29, 2, 32);
    Rng rng;
    rng_seed(&rng, 11);
    Model m;
    assert_int_equal(model_init(&m, &c, &rng), TP_OK);
    prune(&m, 0, 0.8, &rng);
    AsrNet net;
    assert_int_equal(asr_net_init(&net, &m), TP_OK);
    for (int pass = 0; pass < 2; pass++) {
        InferOptions o;
        infer_options_defaults(&o);
        o.force = pass ? SPARSE_CSR : -1;
        InferAsr r;
        assert_int_equal(infer_asr_init(&r, &m, &o), TP_OK);
        for (int i = 0; i < 3; i++) {
            const float *feat, *lg;
            int T, To;
            assert_int_equal(an4_utt(ds, i, &feat, &T, NULL, NULL, NULL), TP_OK);
            assert_int_equal(asr_forward(&net, feat, T, 0, NULL), TP_OK);
            assert_int_equal(infer_asr_forward(&r, feat, T, &lg, &To), TP_OK);
            assert_int_equal(To, net.T_out);
            double d = rel_diff(lg, net.logits, (size_t)To * c.n_vocab);
            if (!(d <= 1e-4)) fail_msg("AN4 test utterance %d (%d frames), pass %d: %.3g relative", i, T, pass, d);
        }
        infer_asr_free(&r);
    }
    asr_net_free(&net);
    model_free(&m);
    an4_close(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equals_asr_forward),
        cmocka_unit_test(test_trim_dead_unit),
        cmocka_unit_test(test_directions_at_once),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_real_an4_utterances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
