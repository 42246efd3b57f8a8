/* tests/test_hwgp: sessions/hwgp — the hardware-guided grow-and-prune schedule.
 *
 * hwgp_choose on a synthetic staircase: shrink to the largest hysteresis point within a layer's share
 * of the budget, grow to the right edge of the plateau when the budget is met, the fastest point when
 * nothing fits.  On the accel target (deterministic) `schedule hwgp` on a tiny session ends with every
 * layer at a hysteresis point of the curve its last decision used, within the budget; the journal
 * holds what it drove (never the hwgp line itself) and replay --verify reproduces it bit for bit.
 * With targets= (the connection update to given sparsities: an AGP ramp per group, then grow and prune
 * back, then fine-tuning) every group ends at its sparsity, the block groups in whole blocks, and replay
 * --verify reproduces it.  Bad usage is refused before anything changes.
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

#include "helpers.h"
#include "sessions/command.h"
#include "sessions/hwgp.h"
#include "sessions/journal.h"
#include "sessions/profile.h"
#include "sessions/replay.h"
#include "sessions/target.h"
#include "sessions/view.h"
#include "word_fixture.h"
#include "engine/mask.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("hwgp");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static void test_choose_on_a_staircase(void **state)
{
    (void)state;
    int h[8] = {8, 16, 24, 32, 40, 48, 56, 64};
    double med[8] = {1, 1, 2, 2, 3, 3, 4, 4};
    HystSeries s = {8, h, med, NULL, NULL};
    HystOptions o;
    hysteresis_options_defaults(&o);
    o.margin = 0;
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &o), TP_OK);
    assert_int_equal(a.n_points, 3); /* 16, 32, 48 */
    int cur[2], out[2], met;
    double now, next;
    cur[0] = 40; /* over budget: the step below that fits */
    assert_int_equal(hwgp_choose(&s, &a, cur, 1, 0, 2.5, 8, 64, out, &now, &next, &met), TP_OK);
    assert_int_equal(out[0], 32);
    assert_true(now == 3 && next == 2 && met);
    cur[0] = cur[1] = 40; /* two layers share the budget */
    assert_int_equal(hwgp_choose(&s, &a, cur, 2, 0, 4, 8, 64, out, &now, &next, &met), TP_OK);
    assert_true(out[0] == 32 && out[1] == 32 && next == 4 && met);
    cur[0] = 24; /* within budget: grow to the plateau's right edge, at no cost */
    assert_int_equal(hwgp_choose(&s, &a, cur, 1, 0, 10, 8, 64, out, &now, &next, &met), TP_OK);
    assert_true(out[0] == 32 && next == now && met);
    assert_int_equal(hwgp_choose(&s, &a, cur, 1, 0, 10, 8, 24, out, &now, &next, &met), TP_OK);
    assert_int_equal(out[0], 16); /* max_hidden: the largest point below it at no more latency */
    cur[0] = 8; /* nothing fits: the fastest point, budget not met */
    assert_int_equal(hwgp_choose(&s, &a, cur, 1, 0, 0.5, 8, 64, out, &now, &next, &met), TP_OK);
    assert_true(out[0] == 16 && !met);
    cur[0] = 48; /* a tied last layer keeps its size; the first takes what the budget leaves */
    cur[1] = 40;
    assert_int_equal(hwgp_choose(&s, &a, cur, 2, 1, 4, 8, 64, out, &now, &next, &met), TP_OK);
    assert_true(out[1] == 40 && out[0] == 16 && now == 6 && next == 4 && met);
    cur[0] = 20; /* a size off the curve */
    assert_int_equal(hwgp_choose(&s, &a, cur, 1, 0, 1, 8, 64, out, &now, &next, &met), TP_EINVAL);
    hysteresis_free(&a);
}

static void run_ok(Session *s, const char *line, CommandResult *r)
{
    if (command_execute(s, line, r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

static void test_hwgp_on_accel_replays(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    wf_new_session(&s, dir, sizeof dir, 40);
    CommandResult r;
    run_ok(&s, "train steps=20", &r);
    /* the budget: 0.3 x the dense layer's latency on a 64x64 array (steps every 16 units) */
    Target *t;
    assert_int_equal(target_open("accel:rows=64,cols=64", NULL, &t), TP_OK);
    TargetQuery q = target_query_default(40);
    double l40, p10, p90;
    assert_int_equal(target_measure(t, &q, &l40, &p10, &p90), TP_OK);
    target_close(t);
    double budget = 0.3 * l40; /* below what pruning alone reaches: a resize is needed */
    char line[400];
    snprintf(line, sizeof line,
             "schedule hwgp target=accel:rows=64,cols=64 budget_us=%.6f grow=0.1 prune=0.2 every=5 cycles=1 batches=2 "
             "phases=3 sizes=8:96:8 tolerance=0.5",
             budget);
    run_ok(&s, line, &r);
    if (!strstr(r.text, "hwgp done")) fail_msg("%s", r.text);
    /* every layer at a hysteresis point of the curve the last decision used, within the budget */
    LatencyCurve c;
    HystAnalysis a;
    assert_int_equal(profile_session_latest(dir, &c), TP_OK);
    char name[96];
    target_of_curve(&c, name, sizeof name);
    assert_string_equal(name, "accel:rows=64,cols=64");
    assert_int_equal(profile_analyze(&a, &c, 0.02, 0), TP_OK);
    double total = 0;
    for (int l = 0; l < s.model.cfg.n_layers; l++) {
        int h = s.model.cfg.hidden[l], at = 0;
        if (h >= 40) fail_msg("layer %d still %d: %s", l, h, r.text);
        for (int k = 0; k < a.n_points; k++)
            if (c.hidden[a.points[k].index] == h) at = 1, total += c.median_us[a.points[k].index];
        if (!at) fail_msg("layer %d: %d is not a hysteresis point of the curve: %s", l, h, r.text);
    }
    assert_true(total <= budget);
    hysteresis_free(&a);
    latency_curve_free(&c);
    HwgpStatus hs;
    assert_int_equal(hwgp_status_load(dir, &hs), TP_OK);
    assert_true(hs.have && !strcmp(hs.stage, "done") && fabs(hs.budget_us - budget) < 1e-5);
    assert_int_equal(hs.sizes[0], s.model.cfg.hidden[0]);
    /* the Latency screen's view: the target's curve, and the run's phase, budget and latency now */
    ViewLatency v;
    assert_int_equal(view_latency_load(&v, &s), TP_OK);
    assert_true(v.have);
    assert_string_equal(v.target, "accel:rows=64,cols=64");
    assert_non_null(strstr(v.hwgp, "hwgp phase"));
    assert_non_null(strstr(v.hwgp, "(done) on accel:rows=64,cols=64: budget"));
    view_latency_free(&v);
    /* the journal holds what it drove: resizes, trains, the gp schedule; not the hwgp line */
    JournalEntry *je;
    int n, torn, resizes = 0, gps = 0;
    assert_int_equal(journal_read(dir, &je, &n, &torn), TP_OK);
    for (int i = 0; i < n; i++) {
        assert_null(strstr(je[i].command, "hwgp"));
        resizes += !strncmp(je[i].command, "resize layer=0", 14);
        gps += !strncmp(je[i].command, "schedule gp", 11);
    }
    free(je);
    assert_true(resizes >= 1 && gps >= 1);
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    if (!res.verified) fail_msg("replay: %s", res.mismatch);
    session_free(&s);
}

static void test_targets_parse(void **state)
{
    (void)state;
    HwgpGroup g[HWGP_MAX_GROUPS];
    int n;
    assert_int_equal(hwgp_parse_targets("l*.w_*:0.9:16x1+embed.weight:0.962+decoder.weight:0.95:4x4", g, &n), TP_OK);
    assert_int_equal(n, 3);
    assert_string_equal(g[0].params, "l*.w_*");
    assert_true(fabs(g[0].sparsity - 0.9) < 1e-12);
    assert_string_equal(g[0].block, "16x1");
    assert_string_equal(g[1].block, "");
    assert_string_equal(g[2].block, "4x4");
    assert_int_equal(hwgp_parse_targets("l0.w_hh,l1.w_hh:0.5", g, &n), TP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(g[0].params, "l0.w_hh,l1.w_hh");
    assert_int_equal(g[0].freq_rows, 0);
    assert_int_equal(hwgp_parse_targets("l*.w_*:0.9:16x1+embed.weight:0.924:16x1:freq", g, &n), TP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].freq_rows, 0);
    assert_int_equal(g[1].freq_rows, 1);
    assert_string_equal(g[1].block, "16x1");
    static const char *const bad[] = {"", "l*.w_*", "l*.w_*:", "l*.w_*:x", "l*.w_*:1.5", "l*.w_*:0.9:3x3", "l*.w_*:0.9+",
                                      "embed.weight:0.9:16x1:alpha", "embed.weight:0.9:16x1:", "embed.weight:0.9::freq",
                                      "+l*.w_*:0.9", ":0.9", "a:0.1+b:0.1+c:0.1+d:0.1+e:0.1+f:0.1+g:0.1+h:0.1+i:0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hwgp_parse_targets(bad[i], g, &n) == TP_OK) fail_msg("accepted targets '%s'", bad[i]);
    /* the AGP cubic ramp: from s0 at 0 to sf at n, fastest first */
    assert_true(fabs(hwgp_ramp_value(0, 0.9, 0, 20)) < 1e-12);
    assert_true(fabs(hwgp_ramp_value(0, 0.9, 20, 20) - 0.9) < 1e-12);
    assert_true(fabs(hwgp_ramp_value(0, 0.9, 1, 20) - 0.9 * (1 - pow(0.95, 3))) < 1e-12);
    assert_true(fabs(hwgp_ramp_value(0.5, 0.9, 10, 20) - (0.9 - 0.4 * 0.125)) < 1e-12);
}

static double sparsity_of(const Model *m, const char *params)
{
    size_t live = 0, all = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        if (!mask_param_selected(&m->p[i], params)) continue;
        for (size_t k = 0; k < m->p[i].n; k++) live += m->mask[m->p[i].off + k];
        all += m->p[i].n;
    }
    return 1.0 - (double)live / (double)all;
}

static void test_targets_reach_their_sparsity_and_replay(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    wf_new_session(&s, dir, sizeof dir, 32);
    CommandResult r;
    run_ok(&s, "train steps=10", &r);
    long step0 = s.trainer.step;
    run_ok(&s,
           "schedule hwgp target=accel:rows=16,cols=16 speedup=1.2 targets=l*.w_*:0.75:16x1+embed.weight:0.9+decoder.weight:0.8:4x4 "
           "ramp=4 every=3 retrain=4 batches=2 phases=1 sizes=8:48:8 max_hidden=32 finetune=1 average=2",
           &r);
    if (!strstr(r.text, "ramped 3 group(s)") || !strstr(r.text, "GP cycle: grew") || !strstr(r.text, "finetune: 1 epoch") ||
        !strstr(r.text, "the weights averaged over "))
        fail_msg("%s", r.text);
    assert_null(s.trainer.avg.mean); /* the mean was applied: averaging ended */
    /* every group at its target (a group with blocks may sit a block's share above it) */
    double l = sparsity_of(&s.model, "l*.w_*"), e = sparsity_of(&s.model, "embed.weight"), d = sparsity_of(&s.model, "decoder.weight");
    if (l < 0.75 - 1e-6 || l > 0.80 || fabs(e - 0.9) > 0.002 || d < 0.8 - 1e-6 || d > 0.83)
        fail_msg("sparsity l %.4f embed %.4f decoder %.4f: %s", l, e, d, r.text);
    for (int i = 0; i < s.model.n_tensors; i++) {
        const char *nm = s.model.p[i].name;
        if (mask_param_selected(&s.model.p[i], "l*.w_*") && !mask_tensor_blocked(&s.model, i, 16, 1, NULL)) fail_msg("%s not in 16x1 blocks", nm);
        if (!strcmp(nm, "decoder.weight") && !mask_tensor_blocked(&s.model, i, 4, 4, NULL)) fail_msg("%s not in 4x4 blocks", nm);
    }
    /* ramp (4 x 3) + retrain (4) + the fine-tuning epoch */
    assert_true(s.trainer.step > step0 + 16);
    JournalEntry *je;
    int n, torn, prunes = 0, grows = 0, avg_start = 0, avg_apply = 0;
    assert_int_equal(journal_read(dir, &je, &n, &torn), TP_OK);
    for (int i = 0; i < n; i++) {
        prunes += !strncmp(je[i].command, "prune sparsity=", 15);
        grows += !strncmp(je[i].command, "grow ratio=0.02", 15);
        avg_start += !strcmp(je[i].command, "average start every=2");
        avg_apply += !strcmp(je[i].command, "average apply");
    }
    free(je);
    assert_int_equal(avg_start, 1); /* the fine-tuning's averaging, as lines replay repeats */
    assert_int_equal(avg_apply, 1);
    assert_int_equal(grows, 3);
    assert_true(prunes >= 4 * 3);
    HwgpStatus hs;
    assert_int_equal(hwgp_status_load(dir, &hs), TP_OK);
    assert_string_equal(hs.stage, "done");
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    if (!res.verified) fail_msg("replay: %s", res.mismatch);
    session_free(&s);
}

static void test_bad_usage_changes_nothing(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    wf_new_session(&s, dir, sizeof dir, 16);
    CommandResult r;
    static const char *const bad[] = {
        "schedule hwgp budget_us=3",                              /* no target */
        "schedule hwgp target=accel",                             /* no budget */
        "schedule hwgp target=accel budget_us=3 speedup=2",       /* both */
        "schedule hwgp target=accel speedup=2 min_hidden=64 max_hidden=32",
        "schedule hwgp target=accel speedup=2 from=0.1",          /* an agp key */
        "schedule gp grow=0.1 target=accel",                      /* an hwgp key on gp */
        "schedule hwgp target=tpu speedup=2",                     /* no such target */
        "schedule hwgp target=accel speedup=2 sizes=9:3:1",       /* bad sizes */
        "schedule hwgp target=accel speedup=2 targets=l*.w_*:2",  /* bad targets */
        "schedule hwgp target=accel speedup=2 targets=nope.*:0.5",         /* selects nothing */
        "schedule hwgp target=accel speedup=2 targets=l*.w_*:0.5 prune=0.1", /* per group */
        "schedule hwgp target=accel speedup=2 ramp=4",            /* ramp without targets */
        "schedule hwgp target=accel speedup=2 average=5",         /* averaging without fine-tuning */
        "schedule gp grow=0.1 prune=0.1 every=5 average=5",       /* an hwgp key on gp */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (command_execute(&s, bad[i], &r) == TP_OK) fail_msg("accepted: %s", bad[i]);
    JournalEntry *je;
    int n, torn;
    assert_int_equal(journal_read(dir, &je, &n, &torn), TP_OK);
    free(je);
    assert_int_equal(n, 0);
    assert_int_equal(s.gp.sched.cfg.kind, SCHEDULE_OFF);
    HwgpStatus hs;
    assert_int_equal(hwgp_status_load(dir, &hs), TP_OK);
    assert_false(hs.have);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose_on_a_staircase),
        cmocka_unit_test(test_hwgp_on_accel_replays),
        cmocka_unit_test(test_targets_parse),
        cmocka_unit_test(test_targets_reach_their_sparsity_and_replay),
        cmocka_unit_test(test_bad_usage_changes_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
