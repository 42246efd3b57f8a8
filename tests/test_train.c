/* tests/test_train: the training loop and the evaluation protocol: same seed gives the same losses
 * bit for bit; training lowers the loss; the evaluation result does not depend on the window
 * length (the state is carried); epochs and the learning-rate schedule advance; NaN is refused
 * without touching the weights; distillation: its gradient against finite differences of its loss,
 * alpha = 0 is plain training bit for bit, a teacher over another vocabulary is refused. */
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
#include "engine/gradcheck.h"
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

/* ---- distillation ---- */
typedef struct {
    Model *m;
    const int32_t *x, *y;
    const float *tlogits; /* the teacher's raw logits of the window */
    int T, B;
    float alpha;
} DistillCtx;

static double distill_loss_fn(void *ctx)
{
    DistillCtx *c = ctx;
    ModelState st;
    assert_int_equal(model_state_init(&st, c->m, c->B), TP_OK);
    double nll = 0.0;
    assert_int_equal(model_forward(c->m, &st, c->x, c->y, c->T, c->B, 0, 0.0f, NULL, &nll, NULL), TP_OK);
    model_state_free(&st);
    return train_distill_loss(c->m->logits, c->tlogits, c->y, c->T * c->B, c->m->cfg.n_vocab, c->alpha);
}

static void teacher_logits(Model *t, const int32_t *x, const int32_t *y, int T, int B, float *out)
{
    ModelState st;
    assert_int_equal(model_state_init(&st, t, B), TP_OK);
    double nll = 0.0;
    assert_int_equal(model_forward(t, &st, x, y, T, B, 0, 0.0f, NULL, &nll, NULL), TP_OK);
    memcpy(out, t->logits, (size_t)T * B * t->cfg.n_vocab * sizeof(float));
    model_state_free(&st);
}

/* The gradient train_step uses (vmath's NLL gradient + train_distill_grad, through model_backward)
 * against central differences of train_distill_loss, at alpha 0.6 and 1, on every tensor. */
static void test_distill_gradient_check(void **state)
{
    (void)state;
    enum { T = 5, B = 3 };
    Model m, t;
    make_model(&m, 11, 0.0f);
    ModelConfig tc = {.n_vocab = corpus.n_vocab, .n_embed = 6, .n_layers = 1, .hidden = {10}, .init_scale = 0.8f};
    Rng r;
    rng_seed(&r, 5);
    assert_int_equal(model_init(&t, &tc, &r), TP_OK);
    int32_t x[T * B], y[T * B];
    for (int i = 0; i < T * B; i++) x[i] = corpus.ids[CORPUS_TRAIN][3 * i], y[i] = corpus.ids[CORPUS_TRAIN][3 * i + 1];
    const int V = corpus.n_vocab;
    float *tl = malloc((size_t)T * B * V * sizeof(float)), *tq = malloc((size_t)T * B * V * sizeof(float));
    float *g = malloc(m.n_params * sizeof(float));
    teacher_logits(&t, x, y, T, B, tl);
    const float alphas[2] = {0.6f, 1.0f};
    for (int a = 0; a < 2; a++) {
        ModelState st;
        assert_int_equal(model_state_init(&st, &m, B), TP_OK);
        model_zero_grad(&m);
        double nll = 0.0;
        assert_int_equal(model_forward(&m, &st, x, y, T, B, 1, 1.0f, NULL, &nll, NULL), TP_OK);
        memcpy(tq, tl, (size_t)T * B * V * sizeof(float));
        train_distill_grad(m.logits, tq, y, T * B, V, alphas[a], 1.0f);
        model_backward(&m, T, B);
        memcpy(g, m.g, m.n_params * sizeof(float));
        model_state_free(&st);
        DistillCtx c = {&m, x, y, tl, T, B, alphas[a]};
        for (int i = 0; i < m.n_tensors; i++) {
            const ModelParam *p = &m.p[i];
            GradcheckResult res;
            TpStatus s = gradcheck_run(m.w + p->off, g + p->off, p->n, p->n > 60 ? 7 : 1, 1e-2f, 5e-4, 5e-3,
                                       distill_loss_fn, &c, &res);
            if (s != TP_OK) printf("alpha %.1f %s: %s\n", (double)alphas[a], p->name, err_msg());
            assert_int_equal(s, TP_OK);
            assert_true(res.n_checked > 0);
        }
    }
    /* the teacher's softmax replaced its logits, rows summing to 1 */
    double sum = 0.0;
    for (int v = 0; v < V; v++) sum += tq[v];
    assert_true(fabs(sum - 1.0) < 1e-5);
    free(tl);
    free(tq);
    free(g);
    model_free(&t);
    model_free(&m);
}

static void run_distilled(float *w_out, double *losses, int n, float alpha, int with_teacher)
{
    Model m, teacher;
    Trainer t;
    TrainTeacher tt;
    make_model(&m, 42, 0.1f);
    make_model(&teacher, 77, 0.0f);
    TrainConfig c = small_cfg();
    assert_int_equal(train_init(&t, &m, corpus.ids[CORPUS_TRAIN], corpus.n_ids[CORPUS_TRAIN], &c), TP_OK);
    if (with_teacher) {
        assert_int_equal(train_teacher_init(&tt, &teacher, &m, c.bptt, c.batch, alpha), TP_OK);
        t.teacher = &tt;
    }
    for (int i = 0; i < n; i++) {
        TrainStepInfo info;
        assert_int_equal(train_step(&t, &info), TP_OK);
        losses[i] = info.loss;
    }
    memcpy(w_out, m.w, m.n_params * sizeof(float));
    if (with_teacher) train_teacher_free(&tt);
    train_free(&t);
    model_free(&teacher);
    model_free(&m);
}

/* alpha = 0 with a teacher is plain training bit for bit (the teacher's forward changes nothing it
 * should not); alpha = 0.5 trains another model; the same teacher run twice is the same run. */
static void test_distill_alpha_zero_is_plain_training(void **state)
{
    (void)state;
    Model probe;
    make_model(&probe, 42, 0.1f);
    size_t n = probe.n_params;
    model_free(&probe);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float));
    double la[25], lb[25], lc[25];
    run_distilled(a, la, 25, 0.0f, 0);
    run_distilled(b, lb, 25, 0.0f, 1);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_memory_equal(la, lb, sizeof la);
    run_distilled(b, lb, 25, 0.5f, 1);
    run_distilled(c, lc, 25, 0.5f, 1);
    assert_memory_equal(b, c, n * sizeof(float));
    assert_true(memcmp(a, b, n * sizeof(float)) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_distill_teacher_refused(void **state)
{
    (void)state;
    Model m, t;
    TrainTeacher tt;
    make_model(&m, 1, 0.0f);
    ModelConfig tc = {.n_vocab = corpus.n_vocab + 1, .n_embed = 4, .n_layers = 1, .hidden = {4}, .init_scale = 0.1f};
    Rng r;
    rng_seed(&r, 5);
    assert_int_equal(model_init(&t, &tc, &r), TP_OK);
    assert_int_equal(train_teacher_init(&tt, &t, &m, 10, 4, 0.5f), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "vocabulary"));
    model_free(&t);
    tc.n_vocab = corpus.n_vocab;
    assert_int_equal(model_init(&t, &tc, &r), TP_OK);
    assert_int_equal(train_teacher_init(&tt, &t, &m, 10, 4, 1.5f), TP_ERANGE);
    assert_int_equal(train_teacher_init(&tt, &t, &m, 10, 4, 1.0f), TP_OK);
    train_teacher_free(&tt);
    model_free(&t);
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
        cmocka_unit_test(test_distill_gradient_check),
        cmocka_unit_test(test_distill_alpha_zero_is_plain_training),
        cmocka_unit_test(test_distill_teacher_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
