/* tests/test_schedule: AGP target values (Zhu & Gupta) at given steps and the steps at which it prunes;
 * the GP state machine driven step by step like a training loop: the exact sequence of actions, the
 * evaluation handshake, restoring the last good masks and weights when a reported perplexity
 * exceeds best + tolerance, a rejected growth, several cycles, the max_prunes guard; bad configs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/grow.h"
#include "engine/model.h"
#include "engine/prune.h"
#include "engine/schedule.h"

static void test_agp_values(void **state)
{
    (void)state;
    /* s_i = 0, s_f = 0.8, t0 = 100, n·Δt = 1000 */
    const double eps = 1e-12;
    assert_true(schedule_agp_value(0.0, 0.8, 100, 1000, 0) == 0.0);
    assert_true(schedule_agp_value(0.0, 0.8, 100, 1000, 99) == 0.0);
    assert_true(fabs(schedule_agp_value(0.0, 0.8, 100, 1000, 100) - 0.0) < eps);
    assert_true(fabs(schedule_agp_value(0.0, 0.8, 100, 1000, 350) - 0.4625) < eps); /* 0.8(1 - 0.75^3) */
    assert_true(fabs(schedule_agp_value(0.0, 0.8, 100, 1000, 600) - 0.7) < eps);    /* 0.8(1 - 0.5^3)  */
    assert_true(fabs(schedule_agp_value(0.0, 0.8, 100, 1000, 1100) - 0.8) < eps);
    assert_true(schedule_agp_value(0.0, 0.8, 100, 1000, 1101) == 0.8);
    assert_true(schedule_agp_value(0.0, 0.8, 100, 1000, 100000) == 0.8);
    /* from a non-zero start, and a zero span (a jump at t0) */
    assert_true(fabs(schedule_agp_value(0.5, 0.9, 0, 100, 50) - (0.9 - 0.4 * 0.125)) < eps);
    assert_true(schedule_agp_value(0.5, 0.9, 10, 0, 9) == 0.5);
    assert_true(schedule_agp_value(0.5, 0.9, 10, 0, 10) == 0.9);
    /* monotone between */
    double prev = 0.0;
    for (long t = 100; t <= 1100; t += 10) {
        double v = schedule_agp_value(0.0, 0.8, 100, 1000, t);
        assert_true(v >= prev);
        prev = v;
    }
}

typedef struct {
    long step;
    ScheduleActionKind kind;
    double value;
} Logged;

/* Drive an AGP schedule over steps [0, last]: every action is logged. */
static int drive_agp(Schedule *s, const long *steps, int n_steps, Logged *log, int cap)
{
    int n = 0;
    for (int k = 0; k < n_steps; k++)
        for (;;) {
            ScheduleAction a = schedule_step(s, steps[k]);
            if (a.kind == SCHEDULE_NONE) break;
            assert_true(n < cap);
            log[n++] = (Logged){steps[k], a.kind, a.value};
            if (a.kind == SCHEDULE_PRUNE) assert_int_equal(a.prune_mode, PRUNE_SPARSITY);
            if (a.kind == SCHEDULE_DONE) break;
        }
    return n;
}

static void test_agp_pruning_steps(void **state)
{
    (void)state;
    ScheduleConfig c = schedule_config_default(SCHEDULE_AGP);
    c.from = 0.0, c.to = 0.8, c.start = 100, c.end = 1100, c.every = 300;
    Schedule s;
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    long steps[1500];
    for (int i = 0; i < 1500; i++) steps[i] = i;
    Logged log[16];
    int n = drive_agp(&s, steps, 1500, log, 16);
    /* 100, 400, 700, 1000 and the end itself, then DONE once */
    const long at[] = {100, 400, 700, 1000, 1100};
    assert_int_equal(n, 6);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log[i].step, at[i]);
        assert_int_equal(log[i].kind, SCHEDULE_PRUNE);
        assert_true(fabs(log[i].value - schedule_agp_value(0.0, 0.8, 100, 1000, at[i])) < 1e-12);
    }
    assert_true(log[4].value == 0.8);
    assert_int_equal(log[5].step, 1100);
    assert_int_equal(log[5].kind, SCHEDULE_DONE);
    assert_int_equal(schedule_wants_grad(&s), 0);
    assert_string_equal(schedule_phase_name(&s), "done");
    /* the caller skipped steps: each due pruning happens once, at the step it is called with */
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    long sparse[] = {0, 50, 500, 520, 3000, 3001};
    n = drive_agp(&s, sparse, 6, log, 16);
    assert_int_equal(n, 3);
    assert_true(log[0].step == 500 && log[0].kind == SCHEDULE_PRUNE);
    assert_true(fabs(log[0].value - schedule_agp_value(0.0, 0.8, 100, 1000, 500)) < 1e-12);
    assert_true(log[1].step == 3000 && log[1].kind == SCHEDULE_PRUNE && log[1].value == 0.8);
    assert_true(log[2].step == 3000 && log[2].kind == SCHEDULE_DONE);
    /* no perplexity is ever asked for */
    assert_int_equal(schedule_report_ppl(&s, NULL, 10.0), TP_EINVAL);
    schedule_free(&s);
}

/* ---- GP ---- */

static void make_model(Model *m)
{
    ModelConfig cfg = {.n_vocab = 5, .n_embed = 4, .n_layers = 1, .hidden = {3}, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, 9);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

typedef struct {
    Model m;
    GrowAccum acc;
    Rng rng;
    const double *ppl;     /* scripted validation perplexities, in order */
    int n_ppl, next_ppl;
    double keep_at;        /* take a copy of the model when this ppl is reported */
    float *kept_w;
    uint8_t *kept_mask;
    Logged log[64];
    int n_log;
    int grad_steps;        /* minibatches during which the schedule wanted gradients */
} Gp;

/* "training": perturb the live weights and leave a gradient everywhere */
static void fake_train(Gp *g)
{
    for (size_t i = 0; i < g->m.n_params; i++) {
        g->m.g[i] = rng_range(&g->rng, -1.0f, 1.0f);
        g->m.w[i] = (g->m.w[i] + 0.01f * g->m.g[i]) * g->m.mask[i];
    }
}

static void drive_gp(Gp *g, Schedule *s, long last)
{
    for (long step = 0; step <= last; step++) {
        for (;;) {
            ScheduleAction a = schedule_step(s, step);
            if (a.kind == SCHEDULE_NONE) break;
            assert_true(g->n_log < 64);
            g->log[g->n_log++] = (Logged){step, a.kind, a.value};
            if (a.kind == SCHEDULE_DONE) return;
            if (a.kind == SCHEDULE_EVAL_NEEDED) {
                /* asked again until answered */
                assert_int_equal(schedule_step(s, step).kind, SCHEDULE_EVAL_NEEDED);
                assert_true(g->next_ppl < g->n_ppl);
                double p = g->ppl[g->next_ppl++];
                assert_int_equal(schedule_report_ppl(s, &g->m, p), TP_OK);
                if (p == g->keep_at) {
                    memcpy(g->kept_w, g->m.w, g->m.n_params * sizeof(float));
                    memcpy(g->kept_mask, g->m.mask, g->m.n_params);
                }
            } else if (a.kind == SCHEDULE_PRUNE) {
                PruneConfig c = prune_config_default();
                c.mode = a.prune_mode;
                c.amount = a.value;
                PruneResult r;
                assert_int_equal(prune_apply(&g->m, NULL, &r, &c), TP_OK);
                assert_true(r.removed > 0);
            } else if (a.kind == SCHEDULE_GROW) {
                GrowConfig c = grow_config_default();
                c.ratio = a.value;
                GrowResult r;
                assert_int_equal(grow_apply(&g->m, &r, &g->acc, NULL, &c), TP_OK);
                grow_accum_reset(&g->acc);
            } else if (a.kind == SCHEDULE_RESTORE_LAST_GOOD) {
                assert_int_equal(schedule_restore(s, &g->m), TP_OK);
            }
        }
        fake_train(g);
        if (schedule_wants_grad(s)) {
            assert_int_equal(grow_accum_add(&g->acc, &g->m), TP_OK);
            g->grad_steps++;
        }
    }
}

static void gp_init(Gp *g, const double *ppl, int n_ppl, double keep_at)
{
    memset(g, 0, sizeof *g);
    make_model(&g->m);
    assert_int_equal(grow_accum_init(&g->acc, &g->m), TP_OK);
    rng_seed(&g->rng, 5);
    g->ppl = ppl;
    g->n_ppl = n_ppl;
    g->keep_at = keep_at;
    g->kept_w = malloc(g->m.n_params * sizeof(float));
    g->kept_mask = malloc(g->m.n_params);
}

static void gp_free(Gp *g)
{
    free(g->kept_w);
    free(g->kept_mask);
    grow_accum_free(&g->acc);
    model_free(&g->m);
}

static void expect_log(const Gp *g, const Logged *want, int n)
{
    for (int i = 0; i < n && i < g->n_log; i++) {
        if (g->log[i].step != want[i].step || g->log[i].kind != want[i].kind)
            fail_msg("action %d: got %s at step %ld, expected %s at step %ld", i, schedule_action_name(g->log[i].kind),
                     g->log[i].step, schedule_action_name(want[i].kind), want[i].step);
    }
    assert_int_equal(g->n_log, n);
}

static void test_gp_restores_last_good(void **state)
{
    (void)state;
    ScheduleConfig c = schedule_config_default(SCHEDULE_GP);
    c.grow_ratio = 0.1, c.prune_ratio = 0.2, c.every = 3, c.tolerance = 1.0, c.grow_batches = 2, c.cycles = 1;
    Schedule s;
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    assert_int_equal(schedule_report_ppl(&s, NULL, 5.0), TP_EINVAL); /* nothing asked yet */
    /* baseline 100; after growth 99 (best); prunes at 99.8 and 99.9 pass (<= 100); 100.2 does not */
    const double ppl[] = {100.0, 99.0, 99.8, 99.9, 100.2};
    Gp g;
    gp_init(&g, ppl, 5, 99.9);
    drive_gp(&g, &s, 100);
    const Logged want[] = {
        {0, SCHEDULE_EVAL_NEEDED, 0},  {2, SCHEDULE_GROW, 0},  {5, SCHEDULE_EVAL_NEEDED, 0},
        {5, SCHEDULE_PRUNE, 0},        {8, SCHEDULE_EVAL_NEEDED, 0}, {8, SCHEDULE_PRUNE, 0},
        {11, SCHEDULE_EVAL_NEEDED, 0}, {11, SCHEDULE_PRUNE, 0}, {14, SCHEDULE_EVAL_NEEDED, 0},
        {14, SCHEDULE_RESTORE_LAST_GOOD, 0}, {14, SCHEDULE_DONE, 0},
    };
    expect_log(&g, want, 11);
    assert_true(g.log[1].value == 0.1 && g.log[3].value == 0.2);
    assert_int_equal(g.grad_steps, 2); /* the K = 2 minibatches before the growth */
    /* the model is exactly the one that scored 99.9: masks and weights */
    assert_memory_equal(g.kept_mask, g.m.mask, g.m.n_params);
    assert_memory_equal(g.kept_w, g.m.w, g.m.n_params * sizeof(float));
    assert_true(s.best_ppl == 99.0 && s.good_ppl == 99.9 && s.last_ppl == 100.2);
    assert_int_equal(s.n_restores, 1);
    assert_int_equal(s.n_prunes, 3);
    assert_int_equal(s.n_grows, 1);
    assert_int_equal(s.n_evals, 5);
    /* after DONE: nothing more */
    assert_int_equal(schedule_step(&s, 1000).kind, SCHEDULE_NONE);
    schedule_free(&s);
    gp_free(&g);
}

static void test_gp_rejected_growth_and_cycles(void **state)
{
    (void)state;
    ScheduleConfig c = schedule_config_default(SCHEDULE_GP);
    c.grow_ratio = 0.1, c.prune_ratio = 0.1, c.every = 2, c.tolerance = 1.0, c.grow_batches = 1, c.cycles = 2;
    Schedule s;
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    /* cycle 1: growth hurts (52 > 51): restored, pruning goes on; 50.5 passes; NaN is rejected.
     * cycle 2: growth helps (49); 50.5 > 50 is rejected. */
    const double ppl[] = {50.0, 52.0, 50.5, NAN, 49.0, 50.5};
    Gp g;
    gp_init(&g, ppl, 6, 49.0);
    drive_gp(&g, &s, 200);
    const Logged want[] = {
        {0, SCHEDULE_EVAL_NEEDED, 0},  {1, SCHEDULE_GROW, 0},   {3, SCHEDULE_EVAL_NEEDED, 0},
        {3, SCHEDULE_RESTORE_LAST_GOOD, 0}, {3, SCHEDULE_PRUNE, 0}, {5, SCHEDULE_EVAL_NEEDED, 0},
        {5, SCHEDULE_PRUNE, 0},        {7, SCHEDULE_EVAL_NEEDED, 0}, {7, SCHEDULE_RESTORE_LAST_GOOD, 0},
        {8, SCHEDULE_GROW, 0},         {10, SCHEDULE_EVAL_NEEDED, 0}, {10, SCHEDULE_PRUNE, 0},
        {12, SCHEDULE_EVAL_NEEDED, 0}, {12, SCHEDULE_RESTORE_LAST_GOOD, 0}, {12, SCHEDULE_DONE, 0},
    };
    expect_log(&g, want, 15);
    assert_memory_equal(g.kept_mask, g.m.mask, g.m.n_params);
    assert_memory_equal(g.kept_w, g.m.w, g.m.n_params * sizeof(float));
    assert_true(s.best_ppl == 49.0);
    assert_int_equal(s.n_restores, 3);
    assert_int_equal(s.n_grows, 2);
    assert_int_equal(s.cycle, 2);
    schedule_free(&s);
    gp_free(&g);
}

static void test_gp_prune_only_and_max_prunes(void **state)
{
    (void)state;
    ScheduleConfig c = schedule_config_default(SCHEDULE_GP);
    c.grow_ratio = 0.0, c.prune_ratio = 0.1, c.every = 4, c.tolerance = 0.5, c.max_prunes = 2;
    Schedule s;
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    const double ppl[] = {10.0, 10.1, 10.2};
    Gp g;
    gp_init(&g, ppl, 3, 10.2);
    drive_gp(&g, &s, 100);
    const Logged want[] = {
        {0, SCHEDULE_EVAL_NEEDED, 0}, {0, SCHEDULE_PRUNE, 0}, {4, SCHEDULE_EVAL_NEEDED, 0},
        {4, SCHEDULE_PRUNE, 0},       {8, SCHEDULE_EVAL_NEEDED, 0}, {8, SCHEDULE_DONE, 0},
    };
    expect_log(&g, want, 6);
    assert_int_equal(g.grad_steps, 0);
    assert_int_equal(s.n_restores, 0);
    assert_memory_equal(g.kept_mask, g.m.mask, g.m.n_params);
    schedule_free(&s);
    gp_free(&g);
}

static void test_gp_baseline_must_be_finite(void **state)
{
    (void)state;
    ScheduleConfig c = schedule_config_default(SCHEDULE_GP);
    Schedule s;
    Model m;
    make_model(&m);
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    assert_int_equal(schedule_step(&s, 0).kind, SCHEDULE_EVAL_NEEDED);
    assert_int_equal(schedule_report_ppl(&s, &m, INFINITY), TP_ENAN);
    assert_int_equal(schedule_step(&s, 0).kind, SCHEDULE_EVAL_NEEDED); /* still waiting */
    assert_int_equal(schedule_restore(&s, &m), TP_EINVAL);             /* nothing good yet */
    assert_int_equal(schedule_report_ppl(&s, &m, 80.0), TP_OK);
    assert_int_equal(schedule_step(&s, 0).kind, SCHEDULE_PRUNE);
    assert_string_equal(schedule_phase_name(&s), "retrain after pruning");
    schedule_free(&s);
    model_free(&m);
}

static void test_bad_configs(void **state)
{
    (void)state;
    Schedule s;
    ScheduleConfig c = schedule_config_default(SCHEDULE_AGP);
    c.to = 1.2;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_AGP);
    c.end = c.start - 1;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_AGP);
    c.every = 0;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_GP);
    c.prune_ratio = 0.0;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_GP);
    c.tolerance = NAN;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_GP);
    c.grow_ratio = 0.2;
    c.grow_batches = 0;
    assert_int_equal(schedule_init(&s, &c), TP_ERANGE);
    c = schedule_config_default(SCHEDULE_OFF);
    assert_int_equal(schedule_init(&s, &c), TP_OK);
    assert_int_equal(schedule_step(&s, 5).kind, SCHEDULE_NONE);
    schedule_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agp_values),
        cmocka_unit_test(test_agp_pruning_steps),
        cmocka_unit_test(test_gp_restores_last_good),
        cmocka_unit_test(test_gp_rejected_growth_and_cycles),
        cmocka_unit_test(test_gp_prune_only_and_max_prunes),
        cmocka_unit_test(test_gp_baseline_must_be_finite),
        cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
