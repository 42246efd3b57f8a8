/* tests/test_ctc: the CTC loss on hand-worked examples (probabilities chosen so every path can be
 * summed by hand), its gradient against central finite differences, the infeasible and empty
 * labellings, bad input, and agreement with torch.nn.functional.ctc_loss (through /usr/bin/python3;
 * skipped with a message when torch is absent). */
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

#include "engine/ctc.h"
#include "engine/gradcheck.h"
#include "engine/rng.h"
#include "tests/helpers.h"

/* logits = log p: their log-softmax is log p itself when each row of p sums to 1 */
static void logits_of(float *u, const double *p, int n)
{
    for (int i = 0; i < n; i++) u[i] = (float)log(p[i]);
}

/* T = 2, C = 3 (blank, a, b), labels [a].
 *   y_0 = (.5, .3, .2), y_1 = (.6, .1, .3)
 *   paths collapsing to "a": (a,a) .3*.1 = .03, (a,-) .3*.6 = .18, (-,a) .5*.1 = .05; p = .26
 *   loss = -ln .26 = 1.347074
 *   gradient: d/du_t(k) = y_t(k) - γ_t(k), γ = posterior of the paths through k at t:
 *   t = 0: γ(a) = (.03+.18)/.26, γ(-) = .05/.26, γ(b) = 0
 *   t = 1: γ(a) = (.03+.05)/.26, γ(-) = .18/.26, γ(b) = 0 */
static void test_hand_worked_single_label(void **state)
{
    (void)state;
    const double p[] = {.5, .3, .2, .6, .1, .3};
    float u[6], d[6];
    logits_of(u, p, 6);
    int32_t lab[] = {1};
    double loss;
    assert_int_equal(ctc_loss(u, 2, 3, lab, 1, 1.0f, &loss, d), TP_OK);
    assert_true(fabs(loss - -log(.26)) < 1e-6);
    const double want[6] = {.5 - .05 / .26, .3 - .21 / .26, .2, .6 - .18 / .26, .1 - .08 / .26, .3};
    for (int i = 0; i < 6; i++) assert_true(fabs(d[i] - want[i]) < 1e-6);
    /* the gradient of each frame sums to 0 (softmax minus a distribution) */
    assert_true(fabs(d[0] + d[1] + d[2]) < 1e-6 && fabs(d[3] + d[4] + d[5]) < 1e-6);
}

/* labels [a, a]: the repeat needs a blank between.  T = 2 cannot: +inf, zero gradient.  T = 3 with
 *   y_0 = (.5, .3, .2), y_1 = (.6, .1, .3), y_2 = (.2, .7, .1): the only path is (a, -, a) =
 *   .3 * .6 * .7 = .126; loss = -ln .126.  Labels [a, b] at T = 3: (a,b,b) .3*.3*.1 = .009,
 *   (a,a,b) .3*.1*.1 = .003, (a,-,b) .3*.6*.1 = .018, (-,a,b) .5*.1*.1 = .005, (a,b,-) .3*.3*.2 = .018; p = .053. */
static void test_hand_worked_repeats(void **state)
{
    (void)state;
    const double p[] = {.5, .3, .2, .6, .1, .3, .2, .7, .1};
    float u[9], d[9];
    logits_of(u, p, 9);
    int32_t aa[] = {1, 1}, ab[] = {1, 2};
    double loss;
    assert_int_equal(ctc_min_frames(aa, 2), 3);
    assert_int_equal(ctc_min_frames(ab, 2), 2);
    for (int i = 0; i < 9; i++) d[i] = 7.0f;
    assert_int_equal(ctc_loss(u, 2, 3, aa, 2, 1.0f, &loss, d), TP_OK);
    assert_true(isinf(loss) && loss > 0);
    for (int i = 0; i < 6; i++) assert_true(d[i] == 0.0f);
    assert_int_equal(ctc_loss(u, 3, 3, aa, 2, 1.0f, &loss, d), TP_OK);
    assert_true(fabs(loss - -log(.126)) < 1e-6);
    /* the single path takes all the posterior: γ is one-hot on (a, -, a) */
    assert_true(fabs(d[1] - (.3 - 1.0)) < 1e-6 && fabs(d[3] - (.6 - 1.0)) < 1e-6 && fabs(d[7] - (.7 - 1.0)) < 1e-6);
    assert_int_equal(ctc_loss(u, 3, 3, ab, 2, 1.0f, &loss, NULL), TP_OK);
    assert_true(fabs(loss - -log(.053)) < 1e-6);
}

/* L = 0: only the all-blank path; T = 1 with a single label: p = y_0(l). */
static void test_empty_and_single_frame(void **state)
{
    (void)state;
    const double p[] = {.5, .3, .2, .6, .1, .3};
    float u[6], d[6];
    logits_of(u, p, 6);
    double loss;
    assert_int_equal(ctc_loss(u, 2, 3, NULL, 0, 1.0f, &loss, d), TP_OK);
    assert_true(fabs(loss - -log(.5 * .6)) < 1e-6);
    assert_true(fabs(d[0] - (.5 - 1.0)) < 1e-6 && fabs(d[1] - .3) < 1e-6);
    int32_t b[] = {2};
    assert_int_equal(ctc_loss(u, 1, 3, b, 1, 1.0f, &loss, d), TP_OK);
    assert_true(fabs(loss - -log(.2)) < 1e-6);
}

static void test_bad_input(void **state)
{
    (void)state;
    float u[6] = {0};
    double loss;
    int32_t blank[] = {0}, big[] = {3};
    assert_int_equal(ctc_loss(u, 2, 3, blank, 1, 1.0f, &loss, NULL), TP_EINVAL);
    assert_int_equal(ctc_loss(u, 2, 3, big, 1, 1.0f, &loss, NULL), TP_EINVAL);
    assert_int_equal(ctc_loss(u, 0, 3, NULL, 0, 1.0f, &loss, NULL), TP_EINVAL);
    assert_int_equal(ctc_loss(u, 2, 1, NULL, 0, 1.0f, &loss, NULL), TP_EINVAL);
    u[4] = NAN;
    assert_int_equal(ctc_loss(u, 2, 3, NULL, 0, 1.0f, &loss, NULL), TP_ENAN);
}

typedef struct {
    float *u;
    int T, C, L;
    const int32_t *lab;
} Ctx;

static double loss_fn(void *ctx)
{
    Ctx *c = ctx;
    double loss;
    ctc_loss(c->u, c->T, c->C, c->lab, c->L, 1.0f, &loss, NULL);
    return loss;
}

/* random logits, labels with a repeat, T with room to spare; also the scale argument */
static void test_gradient_check(void **state)
{
    (void)state;
    enum { T = 9, C = 5, L = 4 };
    int32_t lab[L] = {2, 2, 4, 1};
    float u[T * C], d[T * C], d2[T * C];
    Rng r;
    rng_seed(&r, 11);
    th_fill_uniform(u, T * C, -2.0f, 2.0f, &r);
    double loss;
    assert_int_equal(ctc_loss(u, T, C, lab, L, 1.0f, &loss, d), TP_OK);
    assert_true(isfinite(loss) && loss > 0);
    Ctx c = {u, T, C, L, lab};
    GradcheckResult res;
    assert_int_equal(gradcheck_run(u, d, T * C, 1, 1e-2f, 1e-4, 1e-3, loss_fn, &c, &res), TP_OK);
    assert_int_equal((int)res.n_checked, T * C);
    /* negative control: a wrong entry is caught */
    d[7] += 0.05f;
    assert_int_equal(gradcheck_run(u, d, T * C, 1, 1e-2f, 1e-4, 1e-3, loss_fn, &c, &res), TP_ERANGE);
    assert_int_equal(ctc_loss(u, T, C, lab, L, 0.25f, &loss, d2), TP_OK);
    d[7] -= 0.05f;
    for (int i = 0; i < T * C; i++) assert_true(fabsf(d2[i] - 0.25f * d[i]) < 1e-7f);
}

/* Agreement with PyTorch (reduction='sum', blank 0) on random inputs of several shapes. */
static const char *PY =
    "import sys\n"
    "try:\n"
    "    import torch\n"
    "except Exception:\n"
    "    sys.exit(77)\n"
    "torch.set_default_dtype(torch.float64)\n"
    "out = open(sys.argv[2], 'w')\n"
    "for line in open(sys.argv[1]):\n"
    "    v = line.split()\n"
    "    T, C, L = int(v[0]), int(v[1]), int(v[2])\n"
    "    lab = [int(x) for x in v[3:3 + L]]\n"
    "    u = torch.tensor([float(x) for x in v[3 + L:]]).reshape(T, 1, C).requires_grad_()\n"
    "    lp = torch.log_softmax(u, 2)\n"
    "    loss = torch.nn.functional.ctc_loss(lp, torch.tensor([lab], dtype=torch.long), [T], [L],\n"
    "                                        blank=0, reduction='sum')\n"
    "    loss.backward()\n"
    "    out.write(repr(loss.item()) + ' ' + ' '.join(repr(g) for g in u.grad.reshape(-1).tolist()) + '\\n')\n";

static void test_agrees_with_torch(void **state)
{
    (void)state;
    enum { N = 4 };
    const int shapes[N][3] = {{12, 6, 4}, {30, 29, 10}, {5, 4, 0}, {7, 3, 6}}; /* T, C, L */
    char *dir = th_tempdir("ctc");
    char in[512], out[512], py[512], cmd[2048];
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(py, sizeof py, "%s/ctc.py", dir);
    assert_int_equal(th_write_file(py, PY, strlen(PY)), 0);
    Rng r;
    rng_seed(&r, 5);
    float *u[N];
    int32_t lab[N][16];
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (int k = 0; k < N; k++) {
        int T = shapes[k][0], C = shapes[k][1], L = shapes[k][2];
        u[k] = malloc((size_t)T * C * sizeof(float));
        th_fill_uniform(u[k], (size_t)T * C, -3.0f, 3.0f, &r);
        for (int i = 0; i < L; i++) lab[k][i] = 1 + (int32_t)(rng_uniform(&r) * (float)(C - 1)) % (C - 1);
        if (k == 3) lab[k][1] = lab[k][0]; /* a repeat: needs 7 frames, exactly T */
        fprintf(f, "%d %d %d", T, C, L);
        for (int i = 0; i < L; i++) fprintf(f, " %d", (int)lab[k][i]);
        for (int i = 0; i < T * C; i++) fprintf(f, " %.9g", (double)u[k][i]);
        fprintf(f, "\n");
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", py, in, out);
    int rc = system(cmd);
    /* exit 77: no torch (skip); any other failure of the script is a failure of the test */
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 77);
    if (rc != 0) {
        for (int k = 0; k < N; k++) free(u[k]);
        th_rmtree(dir);
        free(dir);
        print_message("skipped: /usr/bin/python3 with torch is not available (exit %d)\n", rc);
        skip();
    }
    f = fopen(out, "r");
    assert_non_null(f);
    for (int k = 0; k < N; k++) {
        int T = shapes[k][0], C = shapes[k][1], L = shapes[k][2];
        float *d = malloc((size_t)T * C * sizeof(float));
        double loss, want;
        assert_int_equal(ctc_loss(u[k], T, C, lab[k], L, 1.0f, &loss, d), TP_OK);
        assert_int_equal(fscanf(f, "%lf", &want), 1);
        if (isinf(want)) {
            assert_true(isinf(loss));
        } else {
            assert_true(fabs(loss - want) <= 1e-5 * fmax(1.0, fabs(want)));
        }
        for (int i = 0; i < T * C; i++) {
            double g;
            assert_int_equal(fscanf(f, "%lf", &g), 1);
            if (isfinite(want)) assert_true(fabs(d[i] - g) < 1e-5);
        }
        free(d);
        free(u[k]);
    }
    fclose(f);
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked_single_label),
        cmocka_unit_test(test_hand_worked_repeats),
        cmocka_unit_test(test_empty_and_single_frame),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_gradient_check),
        cmocka_unit_test(test_agrees_with_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
