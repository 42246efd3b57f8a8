/* tests/test_ctc_decode: greedy and prefix beam search on hand-made posteriors (one where the two
 * disagree, worked out by hand), and the beam search against enumerating every alignment of small
 * random posteriors (with a wide enough beam it must find the most probable labelling and its exact
 * log-probability). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/ctc_decode.h"
#include "engine/rng.h"

/* rows of probabilities -> log */
static void logs(float *lp, const float *p, int n)
{
    for (int i = 0; i < n; i++) lp[i] = logf(p[i]);
}

static void test_greedy(void **state)
{
    (void)state;
    /* argmax path: a a _ a b b _ c  (blank = 0, a = 1, b = 2, c = 3) -> a a b c */
    const int path[] = {1, 1, 0, 1, 2, 2, 0, 3};
    enum { T = 8, C = 4 };
    float lp[T * C];
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) lp[t * C + c] = logf(c == path[t] ? 0.7f : 0.1f);
    int out[T], L;
    assert_int_equal(ctc_greedy(out, &L, lp, T, C, 0), TP_OK);
    const int want[] = {1, 1, 2, 3};
    assert_int_equal(L, 4);
    assert_memory_equal(out, want, sizeof want);
    /* another blank index: class 3 is the blank now, so the path reads a a b (0s are labels) */
    assert_int_equal(ctc_greedy(out, &L, lp, T, C, 3), TP_OK);
    const int want3[] = {1, 0, 1, 2, 0};
    assert_int_equal(L, 5);
    assert_memory_equal(out, want3, sizeof want3);
    assert_int_equal(ctc_greedy(out, &L, lp, 0, C, 0), TP_OK);
    assert_int_equal(L, 0);
    assert_int_equal(ctc_greedy(out, &L, lp, T, 1, 0), TP_EINVAL);
    assert_int_equal(ctc_greedy(out, &L, lp, T, C, 4), TP_EINVAL);
}

/* Two frames, p(blank) = 0.6 and p(a) = 0.4 in each.  Greedy reads "" (the path _ _, probability
 * 0.36), but P("a") = P(a a) + P(a _) + P(_ a) = 0.16 + 0.24 + 0.24 = 0.64. */
static void test_beam_beats_greedy(void **state)
{
    (void)state;
    const float p[] = {0.6f, 0.4f, 0.6f, 0.4f};
    float lp[4];
    logs(lp, p, 4);
    int out[2], L;
    float score;
    assert_int_equal(ctc_greedy(out, &L, lp, 2, 2, 0), TP_OK);
    assert_int_equal(L, 0);
    assert_int_equal(ctc_beam(out, &L, &score, lp, 2, 2, 0, 4), TP_OK);
    assert_int_equal(L, 1);
    assert_int_equal(out[0], 1);
    assert_float_equal(score, logf(0.64f), 1e-5);
    /* three classes: frames (blank, a, b) = (0.5, 0.3, 0.2), (0.5, 0.2, 0.3), (0.5, 0.25, 0.25).
     * Greedy: _ _ _ -> "".  P("") = 0.125; the labellings of one label collect more mass. */
    const float q[] = {0.5f, 0.3f, 0.2f, 0.5f, 0.2f, 0.3f, 0.5f, 0.25f, 0.25f};
    float lq[9];
    logs(lq, q, 9);
    int o3[3];
    assert_int_equal(ctc_greedy(o3, &L, lq, 3, 3, 0), TP_OK);
    assert_int_equal(L, 0);
    assert_int_equal(ctc_beam(o3, &L, &score, lq, 3, 3, 0, 8), TP_OK);
    /* P(a) = sum over the alignments reading "a" (a_a reads "a a", so it is not one):
     * a__ .3*.5*.5=.075, _a_ .5*.2*.5=.05, __a .5*.5*.25=.0625, aa_ .3*.2*.5=.03, _aa .5*.2*.25=.025,
     * aaa .3*.2*.25=.015 -> 0.2575; P(b): b__ .05, _b_ .075, __b .0625,
     * bb_ .03, _bb .0375, bbb .015 -> 0.27.  So "b" wins. */
    assert_int_equal(L, 1);
    assert_int_equal(o3[0], 2);
    assert_float_equal(score, logf(0.27f), 1e-5);
    /* T = 0 */
    assert_int_equal(ctc_beam(o3, &L, &score, lq, 0, 3, 0, 8), TP_OK);
    assert_int_equal(L, 0);
    assert_float_equal(score, 0.0f, 0.0f);
    assert_int_equal(ctc_beam(o3, &L, &score, lq, 3, 3, 0, 0), TP_EINVAL);
}

/* ---- brute force: every alignment of T frames over C classes ---- */

#define BT 5
#define BC 3

typedef struct {
    int lab[BT];
    int n;
    double p;
} Reading;

static void brute(const float *lp, int T, int C, Reading *best)
{
    static Reading r[512];
    int nr = 0;
    int total = 1;
    for (int t = 0; t < T; t++) total *= C;
    for (int a = 0; a < total; a++) {
        int path[BT], x = a;
        double lpsum = 0;
        for (int t = 0; t < T; t++) { path[t] = x % C; x /= C; lpsum += lp[t * C + path[t]]; }
        Reading y = {{0}, 0, 0};
        int prev = -1;
        for (int t = 0; t < T; t++) {
            if (path[t] != 0 && path[t] != prev) y.lab[y.n++] = path[t];
            prev = path[t];
        }
        int k = 0;
        while (k < nr && !(r[k].n == y.n && memcmp(r[k].lab, y.lab, sizeof(int) * (size_t)y.n) == 0)) k++;
        if (k == nr) { r[nr] = y; r[nr++].p = 0; }
        r[k].p += exp(lpsum);
    }
    *best = r[0];
    for (int k = 1; k < nr; k++) if (r[k].p > best->p) *best = r[k];
}

static void test_beam_exact(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 2024);
    int greedy_wrong = 0;
    for (int trial = 0; trial < 200; trial++) {
        float lp[BT * BC];
        for (int t = 0; t < BT; t++) {
            /* blank-heavy rows, as trained CTC models produce */
            float z[BC], m = -1e30f, s = 0;
            for (int c = 0; c < BC; c++) { z[c] = rng_range(&rng, -2, 2) + (c == 0 ? 1.0f : 0.0f); m = fmaxf(m, z[c]); }
            for (int c = 0; c < BC; c++) s += expf(z[c] - m);
            for (int c = 0; c < BC; c++) lp[t * BC + c] = z[c] - m - logf(s);
        }
        Reading best;
        brute(lp, BT, BC, &best);
        int out[BT], L;
        float score;
        assert_int_equal(ctc_beam(out, &L, &score, lp, BT, BC, 0, 64), TP_OK);
        assert_float_equal(score, log(best.p), 1e-4);
        /* the labelling found has the best probability (ties between labellings are possible in
         * principle; the probabilities must then agree, which the score check already says) */
        if (L == best.n && memcmp(out, best.lab, sizeof(int) * (size_t)L) != 0)
            assert_float_equal(score, log(best.p), 1e-6);
        int g[BT], Lg;
        assert_int_equal(ctc_greedy(g, &Lg, lp, BT, BC, 0), TP_OK);
        greedy_wrong += !(Lg == L && memcmp(g, out, sizeof(int) * (size_t)L) == 0);
        /* a narrow beam never scores above the exact best */
        assert_int_equal(ctc_beam(out, &L, &score, lp, BT, BC, 0, 2), TP_OK);
        assert_true(score <= log(best.p) + 1e-5);
    }
    /* greedy is not the same decoder: on these posteriors it misses the best labelling sometimes */
    print_message("greedy differs from the exact best labelling in %d of 200 trials\n", greedy_wrong);
    assert_true(greedy_wrong > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_beam_beats_greedy),
        cmocka_unit_test(test_beam_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
