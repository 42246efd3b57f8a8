/* tests/test_train: the training loop and the evaluation protocol: same seed gives the same losses
 * bit for bit; training lowers the loss; the evaluation result does not depend on the window
 * length (the state is carried); epochs and the learning-rate schedule advance; NaN is refused
 * without touching the weights. */
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
#include "engine/model.h"
#include "engine/train.h"

static Corpus corpus;

static int setup(void **state)
{
    (void)state;
    /* a small deterministic char-level text with structure to learn */
    size_t cap = 60000, n = 0;
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

static void make_model(Model *m, uint64_t seed, float dropout)
{
    ModelConfig cfg = {.n_vocab = corpus.n_vocab, .n_embed = 8, .n_layers = 2, .hidden = {16, 12},
                       .dropout = dropout, .init_scale = 0.1f};
    Rng r;
    rng_seed(&r, seed);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

static TrainConfig small_cfg(void)
{
    return (TrainConfig){.bptt = 10, .batch = 4, .epochs = 3, .lr = 1.0f, .lr_decay = 0.5f, .decay_start = 1,
                         .clip = 5.0f, .optim = OPTIM_SGD, .seed = 9};
}

static void run_steps(double *losses, int n, float dropout, OptimKind opt)
{
    Model m;
    Trainer t;
    make_model(&m, 42, dropout);
    TrainConfig c = small_cfg();
    c.optim = opt;
    if (opt == OPTIM_ADAM) c.lr = 0.01f;
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    for (int i = 0; i < n; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&t, &info), TP_OK);
        losses[i] = info.loss;
    }
    train_free(&t);
    model_free(&m);
}

static void test_same_seed_same_losses_bit_for_bit(void **state)
{
    (void)state;
    double a[40], b[40];
    run_steps(a, 40, 0.2f, OPTIM_SGD);
    run_steps(b, 40, 0.2f, OPTIM_SGD);
    assert_memory_equal(a, b, sizeof a);
    run_steps(a, 20, 0.0f, OPTIM_ADAM);
    run_steps(b, 20, 0.0f, OPTIM_ADAM);
    assert_memory_equal(a, b, 20 * sizeof(double));
}

static void test_training_lowers_the_loss(void **state)
{
    (void)state;
    double l[300];
    run_steps(l, 300, 0.0f, OPTIM_ADAM);
    double first = 0, last = 0;
    for (int i = 0; i < 20; i++) first += l[i], last += l[280 + i];
    /* uniform guess is log(V) ~ 2.9 nats; the text is very regular */
    printf("mean loss of the first 20 steps %.3f, of the last 20 %.3f\n", first / 20, last / 20);
    assert_true(last / 20 < 0.75 * (first / 20));
}

static void test_eval_independent_of_window(void **state)
{
    (void)state;
    Model m;
    make_model(&m, 7, 0.0f);
    EvalResult a, b, c;
    const int32_t *ids = corpus.ids[CORPUS_VALID];
    size_t n = corpus.n_ids[CORPUS_VALID];
    assert_int_equal(train_evaluate(&m, ids, n, 1, 7, &a), TP_OK);
    assert_int_equal(train_evaluate(&m, ids, n, 1, 64, &b), TP_OK);
    assert_int_equal(a.tokens, (long)n - 1); /* predictions for tokens 1..N-1 */
    assert_int_equal(b.tokens, (long)n - 1);
    assert_true(fabs(a.loss - b.loss) < 1e-5 * a.loss);
    /* B streams: fewer scored tokens (remainder dropped, one fewer prediction per stream) */
    assert_int_equal(train_evaluate(&m, ids, n, 4, 16, &c), TP_OK);
    assert_int_equal(c.tokens, (long)(n / 4 - 1) * 4);
    model_free(&m);
}

static void test_epochs_and_schedule_advance(void **state)
{
    (void)state;
    Model m;
    Trainer t;
    make_model(&m, 1, 0.0f);
    TrainConfig c = small_cfg();
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    size_t per_epoch = t.n_windows;
    assert_true(per_epoch > 10);
    long done = 0;
    int epoch_ends = 0;
    while (!train_finished(&t)) {
        TrainStepInfo info;
        assert_int_equal(train_step(&t, &info), TP_OK);
        done++;
        epoch_ends += info.epoch_done;
        if (info.epoch_done) assert_true(t.opt.lr == optim_schedule_lr(1.0f, 0.5f, 1, t.epoch));
    }
    assert_int_equal(epoch_ends, 3);
    assert_int_equal(done, (long)(3 * per_epoch));
    assert_true(t.opt.lr == 0.125f); /* already at epoch 4's rate: 0.5^3 */
    train_free(&t);
    model_free(&m);
}

static void test_nan_is_refused_and_weights_untouched(void **state)
{
    (void)state;
    Model m;
    Trainer t;
    make_model(&m, 2, 0.0f);
    TrainConfig c = small_cfg();
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    const ModelParam *p = model_param(&m, "l1.w_hh");
    m.w[p->off + 3] = NAN;
    float *before = malloc(m.n_params * sizeof(float));
    memcpy(before, m.w, m.n_params * sizeof(float));
    TrainStepInfo info;
    assert_int_equal(train_step(&t, &info), TP_ENAN);
    assert_memory_equal(before, m.w, m.n_params * sizeof(float));
    assert_int_equal(t.step, 0);
    free(before);
    train_free(&t);
    model_free(&m);
}

static void test_bad_train_config_refused(void **state)
{
    (void)state;
    Model m;
    Trainer t;
    make_model(&m, 3, 0.0f);
    TrainConfig c = small_cfg();
    c.batch = (int)corpus.n_ids[CORPUS_TRAIN]; /* streams of length 1: nothing to predict */
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_EINVAL);
    c = small_cfg();
    c.bptt = 0;
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "--bptt"));
    model_free(&m);
}

int main(void)
{
    backend_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_losses_bit_for_bit),
        cmocka_unit_test(test_training_lowers_the_loss),
        cmocka_unit_test(test_eval_independent_of_window),
        cmocka_unit_test(test_epochs_and_schedule_advance),
        cmocka_unit_test(test_nan_is_refused_and_weights_untouched),
        cmocka_unit_test(test_bad_train_config_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
