/* tests/test_devtrain: the training step through the table of operations (engine/devtrain) on the CPU
 * table against engine/train's CPU trainer.  The stated tolerance: without dropout, every step's loss
 * agrees to 1e-5 relative and the weights after the run to 1e-4 absolute (the two compute the same
 * operations in the same order; what differs is summation order inside the CPU kernels and the clip
 * norm's vector reduction), for SGD and Adam, with pruned entries (which stay exactly 0), with the
 * hidden-state threshold, and across an epoch boundary and a pull to the host and back to the CPU
 * trainer.  Dropout is the table's counter-based stream: reproducible, and not the CPU trainer's.
 * The evaluation on the resident weights equals engine/train's evaluation of the pulled model.
 * A non-finite step is refused with the weights untouched; an H-LSTM model is refused. */
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
#include "engine/corpus.h"
#include "engine/devtrain.h"
#include "engine/model.h"
#include "engine/resize.h"
#include "engine/train.h"

static Corpus corpus;

static int setup(void **state)
{
    (void)state;
    size_t cap = 8000, n = 0;
    char *text = malloc(cap);
    const char *words[] = {"the ", "hedge ", "grows ", "and ", "is ", "pruned ", "by ", "a ", "gardener "};
    unsigned x = 12345;
    while (n < cap - 32) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 9];
        size_t k = strlen(w);
        memcpy(text + n, w, k);
        n += k;
        if ((x >> 8) % 7 == 0) text[n++] = '\n';
    }
    TpStatus s = corpus_load_text(&corpus, "mem", text, n, CORPUS_CHAR, 0, NULL, 0);
    free(text);
    return s == TP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    corpus_free(&corpus);
    return 0;
}

typedef struct {
    float dropout, tau;
    OptimKind opt;
    int prune;      /* prune every third weight before training */
    int batch, bptt;
} Setup;

static void make_model(Model *m, const Setup *u)
{
    ModelConfig cfg = {.n_vocab = corpus.n_vocab, .n_embed = 7, .n_layers = 2, .hidden = {13, 11},
                       .dropout = u->dropout, .init_scale = 0.1f, .state_tau = u->tau};
    Rng r;
    rng_seed(&r, 42);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
    if (u->prune)
        for (size_t i = 0; i < m->n_params; i += 3) m->mask[i] = 0;
    model_apply_mask(m);
}

static void start(Model *m, Trainer *t, const Setup *u, int table)
{
    make_model(m, u);
    TrainConfig c = {.bptt = u->bptt, .batch = u->batch, .epochs = 5, .lr = u->opt == OPTIM_ADAM ? 0.01f : 1.0f,
                     .lr_decay = 0.5f, .decay_start = 1, .clip = 0.5f, .optim = u->opt, .seed = 9};
    assert_int_equal(train_init(t, m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    if (table) assert_int_equal(train_use_backend(t, backend_ops_cpu()), TP_OK);
}

/* n steps on the CPU trainer and through the CPU table: losses, norms and weights agree */
static void compare(const Setup *u, int n)
{
    Model ma, mb;
    Trainer ta, tb;
    start(&ma, &ta, u, 0);
    start(&mb, &tb, u, 1);
    assert_string_equal(train_backend_name(&tb), "cpu");
    assert_non_null(tb.dev);
    int epochs = 0;
    for (int i = 0; i < n; i++) {
        TrainStepInfo a, b;
        assert_int_equal(train_step(&ta, &a), TP_OK);
        assert_int_equal(train_step(&tb, &b), TP_OK);
        assert_true(fabs(a.loss - b.loss) <= 1e-5 * fabs(a.loss));
        assert_true(fabs(a.grad_norm - b.grad_norm) <= 1e-4 * a.grad_norm + 1e-6);
        assert_int_equal(a.epoch_done, b.epoch_done);
        epochs += a.epoch_done;
    }
    if (u->bptt * u->batch * n > (int)corpus.n_ids[CORPUS_TRAIN]) assert_true(epochs >= 1);
    assert_int_equal(train_pull(&tb), TP_OK);
    double worst = 0;
    for (size_t i = 0; i < ma.n_params; i++) {
        double e = fabs(ma.w[i] - mb.w[i]);
        worst = e > worst ? e : worst;
        if (!mb.mask[i]) assert_true(mb.w[i] == 0.0f);
    }
    assert_true(worst < 1e-4);
    if (u->opt == OPTIM_ADAM) assert_int_equal(ta.opt.t, tb.opt.t);
    if (u->tau > 0.0f) {
        double sa = train_state_sparsity(&ta, 1), sb = train_state_sparsity(&tb, 1);
        assert_true(sa > 0.0 && fabs(sa - sb) < 1e-3);
    }
    train_free(&ta);
    train_free(&tb);
    model_free(&ma);
    model_free(&mb);
}

static void test_sgd_matches_cpu_trainer(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_SGD, .batch = 3, .bptt = 9};
    compare(&u, 8);
}

static void test_adam_with_pruned_entries_matches(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_ADAM, .prune = 1, .batch = 5, .bptt = 7};
    compare(&u, 8);
}

static void test_threshold_and_epoch_boundary_match(void **state)
{
    (void)state;
    /* 8000 chars in 20 streams of ~400: windows of 50, 8 windows an epoch, the last one short */
    Setup u = {.opt = OPTIM_SGD, .tau = 0.02f, .batch = 20, .bptt = 50};
    compare(&u, 10);
}

static void test_pull_then_cpu_trainer_continues(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_ADAM, .batch = 4, .bptt = 10};
    Model ma, mb;
    Trainer ta, tb;
    start(&ma, &ta, &u, 0);
    start(&mb, &tb, &u, 1);
    TrainStepInfo a, b;
    for (int i = 0; i < 6; i++) {
        if (i == 3) assert_int_equal(train_use_backend(&tb, NULL), TP_OK); /* pulls, then the CPU trainer */
        assert_int_equal(train_step(&ta, &a), TP_OK);
        assert_int_equal(train_step(&tb, &b), TP_OK);
        assert_true(fabs(a.loss - b.loss) <= 1e-5 * fabs(a.loss));
    }
    assert_null(tb.dev);
    assert_string_equal(train_backend_name(&tb), "cpu");
    /* push: a host-side change (a prune) reaches the table */
    assert_int_equal(train_use_backend(&tb, backend_ops_cpu()), TP_OK);
    for (size_t i = 0; i < mb.n_params; i += 2) mb.mask[i] = 0;
    model_apply_mask(&mb);
    assert_int_equal(train_push(&tb), TP_OK);
    assert_int_equal(train_step(&tb, &b), TP_OK);
    assert_int_equal(train_pull(&tb), TP_OK);
    for (size_t i = 0; i < mb.n_params; i += 2) assert_true(mb.w[i] == 0.0f);
    train_free(&ta);
    train_free(&tb);
    model_free(&ma);
    model_free(&mb);
}

/* evaluation on the resident weights = engine/train's evaluation of the pulled model */
static void test_evaluation_on_the_table_matches(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        Setup u = {.opt = OPTIM_ADAM, .tau = k ? 0.02f : 0.0f, .dropout = 0.2f, .batch = 4, .bptt = 10};
        Model m;
        Trainer t;
        start(&m, &t, &u, 1);
        TrainStepInfo info;
        for (int i = 0; i < 4; i++) assert_int_equal(train_step(&t, &info), TP_OK);
        EvalResult a, b;
        assert_int_equal(train_evaluate_backend(&t, corpus.ids[CORPUS_VALID], corpus.n_ids[CORPUS_VALID], 3, 17, &a,
                                                NULL, NULL), TP_OK);
        assert_true(t.dev_ahead); /* nothing was copied back */
        assert_int_equal(train_pull(&t), TP_OK);
        assert_int_equal(train_evaluate(&m, corpus.ids[CORPUS_VALID], corpus.n_ids[CORPUS_VALID], 3, 17, &b), TP_OK);
        assert_int_equal(a.tokens, b.tokens);
        assert_true(fabs(a.loss - b.loss) <= 1e-6 * b.loss);
        assert_true(fabs(a.accuracy - b.accuracy) < 1e-12);
        assert_true(b.loss > 0.5 && b.loss < 5.0);
        train_free(&t);
        model_free(&m);
    }
}

/* a resize on the host between runs: the push rebuilds the table's model and both trainers go on alike */
static void test_resize_between_runs_rebuilds(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_ADAM, .batch = 4, .bptt = 10};
    Model ma, mb;
    Trainer ta, tb;
    start(&ma, &ta, &u, 0);
    start(&mb, &tb, &u, 1);
    TrainStepInfo a, b;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(train_step(&ta, &a), TP_OK);
        assert_int_equal(train_step(&tb, &b), TP_OK);
    }
    assert_int_equal(train_pull(&tb), TP_OK);
    ResizeInit none = {0};
    assert_int_equal(resize_layer(&ma, &ta.opt, &ta.state, 0, 17, none, NULL), TP_OK);
    assert_int_equal(resize_layer(&mb, &tb.opt, &tb.state, 0, 17, none, NULL), TP_OK);
    assert_int_equal(train_push(&tb), TP_OK);
    assert_int_equal(tb.dev->n_params, mb.n_params);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(train_step(&ta, &a), TP_OK);
        assert_int_equal(train_step(&tb, &b), TP_OK);
        assert_true(fabs(a.loss - b.loss) <= 1e-5 * fabs(a.loss));
    }
    train_free(&ta);
    train_free(&tb);
    model_free(&ma);
    model_free(&mb);
}

static void test_dropout_stream_reproducible(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_SGD, .dropout = 0.3f, .batch = 3, .bptt = 8};
    Setup nd = u;
    nd.dropout = 0.0f;
    double l[3][4];
    for (int run = 0; run < 3; run++) {
        Model m;
        Trainer t;
        start(&m, &t, run == 2 ? &nd : &u, 1);
        for (int i = 0; i < 4; i++) {
            TrainStepInfo info;
            assert_int_equal(train_step(&t, &info), TP_OK);
            assert_true(isfinite(info.loss));
            l[run][i] = info.loss;
        }
        train_free(&t);
        model_free(&m);
    }
    assert_memory_equal(l[0], l[1], sizeof l[0]);
    assert_true(l[0][1] != l[2][1]);
}

static void test_nonfinite_step_refused_weights_untouched(void **state)
{
    (void)state;
    Setup u = {.opt = OPTIM_SGD, .batch = 3, .bptt = 8};
    Model m;
    Trainer t;
    start(&m, &t, &u, 0);
    const ModelParam *dec = model_param(&m, "decoder.bias");
    m.w[dec->off] = INFINITY; /* every logit row reads it: the loss is not finite */
    assert_int_equal(train_use_backend(&t, backend_ops_cpu()), TP_OK);
    float *before = malloc(m.n_params * sizeof(float));
    memcpy(before, m.w, m.n_params * sizeof(float));
    TrainStepInfo info;
    assert_int_equal(train_step(&t, &info), TP_ENAN);
    t.dev_ahead = 1; /* force the copy back: the table's weights must be the ones uploaded */
    assert_int_equal(train_pull(&t), TP_OK);
    assert_memory_equal(before, m.w, m.n_params * sizeof(float));
    free(before);
    train_free(&t);
    model_free(&m);
}

static void test_hlstm_refused(void **state)
{
    (void)state;
    ModelConfig cfg = {.n_vocab = corpus.n_vocab, .n_embed = 7, .n_layers = 1, .hidden = {9}, .cell = MODEL_CELL_HLSTM,
                       .gate_hidden = 5, .init_scale = 0.1f};
    Model m;
    Rng r;
    rng_seed(&r, 1);
    assert_int_equal(model_init(&m, &cfg, &r), TP_OK);
    Trainer t;
    TrainConfig c = {.bptt = 5, .batch = 2, .epochs = 1, .lr = 1.0f, .lr_decay = 1.0f, .clip = 1.0f, .seed = 1};
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    assert_int_equal(train_use_backend(&t, backend_ops_cpu()), TP_ENOTAVAIL);
    assert_non_null(strstr(err_msg(), "H-LSTM"));
    assert_null(t.dev);
    train_free(&t);
    model_free(&m);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_cpu_trainer),
        cmocka_unit_test(test_adam_with_pruned_entries_matches),
        cmocka_unit_test(test_threshold_and_epoch_boundary_match),
        cmocka_unit_test(test_pull_then_cpu_trainer_continues),
        cmocka_unit_test(test_evaluation_on_the_table_matches),
        cmocka_unit_test(test_resize_between_runs_rebuilds),
        cmocka_unit_test(test_dropout_stream_reproducible),
        cmocka_unit_test(test_nonfinite_step_refused_weights_untouched),
        cmocka_unit_test(test_hlstm_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
