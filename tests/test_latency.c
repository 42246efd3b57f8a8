/* tests/test_latency: the hysteresis analysis on synthetic curves (exact plateaus, the same plateaus
 * with noise inside the band and a spike, monotone curves that must yield nothing), the
 * recommendation edge cases, the repeatability of two sweeps, TSV and JSON round trips, malformed TSV
 * refused with its line number, size lists, and the profiler itself on three tiny sizes (no timing
 * assertions beyond p10 <= median <= p90: the machine may be busy). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/hysteresis.h"
#include "engine/latency.h"
#include "engine/rng.h"

#define N_MAX 256

typedef struct {
    int n;
    int d[N_MAX];
    double med[N_MAX], p10[N_MAX], p90[N_MAX];
} Curve;

static HystSeries series(const Curve *c) { return (HystSeries){c->n, c->d, c->med, c->p10, c->p90}; }

/* Plateaus of `width` sizes: L = base * ceil(d / width) for d = step..max. */
static void plateaus(Curve *c, int step, int max, int width, double base)
{
    c->n = 0;
    for (int d = step; d <= max; d += step, c->n++) {
        c->d[c->n] = d;
        c->med[c->n] = c->p10[c->n] = c->p90[c->n] = base * ((d + width - 1) / width);
    }
}

/* Multiply medians by 1 + U(-amp, amp) and give every size a band of +-band around its median. */
static void add_noise(Curve *c, double amp, double band, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < c->n; i++) {
        c->med[i] *= 1.0 + rng_range(&r, (float)-amp, (float)amp);
        c->p10[i] = c->med[i] * (1.0 - band);
        c->p90[i] = c->med[i] * (1.0 + band);
    }
}

static int index_of(const Curve *c, int d)
{
    for (int i = 0; i < c->n; i++)
        if (c->d[i] == d) return i;
    return -1;
}

static void expect_points(const Curve *c, const HystAnalysis *a, const int *want, int n_want)
{
    if (a->n_points != n_want) {
        for (int i = 0; i < a->n_points; i++) print_message("got hysteresis point %d\n", c->d[a->points[i].index]);
    }
    assert_int_equal(a->n_points, n_want);
    for (int i = 0; i < n_want; i++) assert_int_equal(c->d[a->points[i].index], want[i]);
}

static void test_exact_plateaus(void **state)
{
    (void)state;
    Curve c;
    plateaus(&c, 8, 128, 32, 10.0); /* 10 10 10 10 | 20 ... | 30 ... | 40 40 40 40 */
    HystSeries s = series(&c);
    HystOptions o = {0.0, 5, 0};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &o), TP_OK);
    const int want[] = {32, 64, 96}; /* 128 ends the measured range: not a hysteresis point */
    expect_points(&c, &a, want, 3);
    assert_int_equal(a.points[0].plateau_from, 0);
    assert_int_equal(c.d[a.points[0].next], 64);
    assert_true(fabs(a.points[0].step - 1.0) < 1e-12);
    /* the plateaus' interiors are dominated by their right edges (equal latency, more capacity) */
    assert_int_equal(a.n_pareto, 4);
    for (int i = 0; i < a.n_pareto; i++) assert_int_equal(c.d[a.pareto[i]], 32 * (i + 1));
    assert_int_equal(a.dominated_by[index_of(&c, 8)], index_of(&c, 16)); /* the nearest that dominates */
    assert_int_equal(a.dominated_by[index_of(&c, 24)], index_of(&c, 32));
    assert_int_equal(a.reach[index_of(&c, 40)], index_of(&c, 64));
    assert_true(a.runmin[0] == 10.0 && a.runmin[c.n - 1] == 40.0);
    assert_int_equal(a.n_jumps, 0); /* non-decreasing: nothing non-monotonic */
    hysteresis_free(&a);
}

static void test_noisy_plateaus_and_spike(void **state)
{
    (void)state;
    Curve c;
    plateaus(&c, 8, 128, 32, 100.0);
    add_noise(&c, 0.01, 0.04, 7); /* medians wobble +-1%, bands +-4%: all inside the noise */
    HystSeries s = series(&c);
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_OK);
    const int want[] = {32, 64, 96};
    expect_points(&c, &a, want, 3);
    assert_int_equal(a.n_dominated, 0); /* inside a plateau nothing is faster beyond noise */
    assert_true(a.noise_rel > 0.039 && a.noise_rel < 0.041);
    hysteresis_free(&a);

    /* a spike inside the second plateau: dominated, a jump beyond noise, and no fake step */
    int k = index_of(&c, 48);
    c.med[k] *= 1.3;
    c.p10[k] = c.med[k] * 0.96;
    c.p90[k] = c.med[k] * 1.04;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_OK);
    expect_points(&c, &a, want, 3);
    assert_int_equal(a.n_dominated, 1);
    assert_int_equal(a.dominated_by[k], index_of(&c, 56));
    assert_true(a.n_jumps >= 1);
    assert_int_equal(c.d[a.jumps[0].from], 48);
    assert_true(a.jumps[0].beyond_noise);
    assert_true(a.jumps[0].magnitude > 0.2 && a.jumps[0].magnitude < 0.26);
    assert_true(fabs(a.max_jump_beyond - a.jumps[0].magnitude) < 1e-12);

    /* a busy machine: preemption stretches every p90 to twice the median, so nothing is beyond
     * the p10..p90 band; comparing medians with a relative margin still sees the steps */
    double p90_saved[N_MAX];
    memcpy(p90_saved, c.p90, sizeof p90_saved);
    for (int i = 0; i < c.n; i++) c.p90[i] = 2.0 * c.med[i];
    HystAnalysis wide;
    assert_int_equal(hysteresis_analyze(&wide, &s, NULL), TP_OK);
    assert_int_equal(wide.n_points, 0);
    assert_int_equal(wide.n_dominated, 0);
    hysteresis_free(&wide);
    HystOptions mo = {0.03, 5, 1};
    assert_int_equal(hysteresis_analyze(&wide, &s, &mo), TP_OK);
    expect_points(&c, &wide, want, 3);
    assert_int_equal(wide.n_dominated, 1);
    hysteresis_free(&wide);
    memcpy(c.p90, p90_saved, sizeof p90_saved);

    /* the target already on a spike: the nearest larger size is faster beyond noise */
    HystTargetPick t;
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 48), TP_OK);
    assert_int_equal(c.d[t.nearest], 56);
    assert_true(t.nearest_beyond_noise);
    hysteresis_free(&a);
}

static void test_monotone_curves_yield_nothing(void **state)
{
    (void)state;
    Curve c;
    c.n = 0;
    for (int d = 8; d <= 512; d += 8, c.n++) { /* steep: every step beyond any margin */
        c.d[c.n] = d;
        c.med[c.n] = c.p10[c.n] = c.p90[c.n] = 50.0 + 2.0 * d;
    }
    HystSeries s = series(&c);
    HystOptions exact = {0.0, 5, 0};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &exact), TP_OK);
    assert_int_equal(a.n_points, 0);
    assert_int_equal(a.n_dominated, 0);
    assert_int_equal(a.n_pareto, c.n);
    assert_int_equal(a.n_jumps, 0);
    hysteresis_free(&a);

    /* slow rise (0.8% per size) with medians wobbling inside +-3% bands: no step beyond noise */
    c.n = 0;
    for (int d = 8; d <= 1024; d += 8, c.n++) {
        c.d[c.n] = d;
        c.med[c.n] = 1000.0 + d;
    }
    add_noise(&c, 0.005, 0.03, 11);
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_OK);
    assert_int_equal(a.n_points, 0);
    assert_int_equal(a.n_dominated, 0);
    for (int i = 0; i < a.n_jumps; i++) assert_false(a.jumps[i].beyond_noise);
    hysteresis_free(&a);
}

static void test_analysis_rejects_bad_input(void **state)
{
    (void)state;
    Curve c;
    plateaus(&c, 8, 64, 32, 10.0);
    HystSeries s = series(&c);
    HystAnalysis a;
    c.d[3] = c.d[2];
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_EINVAL);
    plateaus(&c, 8, 64, 32, 10.0);
    c.p10[2] = 11.0;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "p10"));
    plateaus(&c, 8, 64, 32, 10.0);
    c.med[1] = NAN;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_EINVAL);
    s.n = 0;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_EINVAL);
}

static void test_recommend_edges(void **state)
{
    (void)state;
    Curve c;
    plateaus(&c, 8, 128, 32, 10.0);
    HystSeries s = series(&c);
    HystOptions o = {0.0, 5, 0};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &o), TP_OK);
    HystPick p;
    /* budget below every size */
    assert_int_equal(hysteresis_recommend_budget(&p, &s, &a, 5.0), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "below every profiled size"));
    assert_int_equal(p.index, -1);
    /* budget above all: the largest measured size, flagged as the end of the range */
    assert_int_equal(hysteresis_recommend_budget(&p, &s, &a, 1e6), TP_OK);
    assert_int_equal(p.hidden, 128);
    assert_true(p.at_range_end);
    /* budget between steps: the right edge of the highest step that fits */
    assert_int_equal(hysteresis_recommend_budget(&p, &s, &a, 25.0), TP_OK);
    assert_int_equal(p.hidden, 64);
    assert_true(p.is_hysteresis);
    assert_false(p.at_range_end);
    assert_int_equal(hysteresis_recommend_budget(&p, &s, &a, 0.0), TP_EINVAL);

    HystTargetPick t;
    /* target already optimal: every larger size is slower */
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 64), TP_OK);
    assert_int_equal(t.nearest, -1);
    assert_int_equal(c.d[t.furthest], 64);
    /* inside a plateau: the nearest larger size costs the same, the plateau's edge is the furthest */
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 40), TP_OK);
    assert_int_equal(c.d[t.nearest], 48);
    assert_false(t.nearest_beyond_noise);
    assert_int_equal(c.d[t.furthest], 64);
    /* a size between grid points is read as the next measured size */
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 36), TP_OK);
    assert_int_equal(c.d[t.target_index], 40);
    /* beyond the range, either side */
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 4096), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "outside the profiled range 8..128"));
    assert_int_equal(hysteresis_recommend_target(&t, &s, &a, 4), TP_ERANGE);
    hysteresis_free(&a);
}

static void test_overlap_of_two_sweeps(void **state)
{
    (void)state;
    Curve c1, c2;
    plateaus(&c1, 8, 256, 32, 100.0);
    plateaus(&c2, 8, 256, 32, 100.0);
    add_noise(&c1, 0.01, 0.04, 1);
    add_noise(&c2, 0.01, 0.04, 2);
    HystSeries s1 = series(&c1), s2 = series(&c2);
    HystAnalysis a1, a2;
    assert_int_equal(hysteresis_analyze(&a1, &s1, NULL), TP_OK);
    assert_int_equal(hysteresis_analyze(&a2, &s2, NULL), TP_OK);
    HystOverlap o;
    assert_int_equal(hysteresis_overlap(&o, &s1, &a1, &s2, &a2), TP_OK);
    assert_int_equal(o.n_a, 7);
    assert_int_equal(o.n_b, 7);
    assert_int_equal(o.n_matched, 7);
    assert_true(o.jaccard == 1.0);
    assert_int_equal(o.n_common, c1.n);
    assert_true(o.median_rel_diff < 0.03);
    hysteresis_free(&a2);

    /* the second sweep misses one step (its plateau 160..192 merged with the next): 6 of 7 agree */
    for (int i = 0; i < c2.n; i++)
        if (c2.d[i] > 160 && c2.d[i] <= 192) {
            c2.med[i] *= 1.2;
            c2.p10[i] = c2.med[i] * 0.96;
            c2.p90[i] = c2.med[i] * 1.04;
        }
    assert_int_equal(hysteresis_analyze(&a2, &s2, NULL), TP_OK);
    assert_int_equal(hysteresis_overlap(&o, &s1, &a1, &s2, &a2), TP_OK);
    assert_int_equal(o.n_a, 7);
    assert_int_equal(o.n_b, 6);
    assert_int_equal(o.n_matched, 6);
    assert_true(fabs(o.jaccard - 6.0 / 7.0) < 1e-12);
    hysteresis_free(&a1);
    hysteresis_free(&a2);
}

/* ---- files ---- */

static void make_curve(LatencyCurve *c, int threads)
{
    latency_curve_init(c);
    c->threads = threads;
    c->batch = 20;
    snprintf(c->run, sizeof c->run, "20250101T000000Z-s%d", threads);
    snprintf(c->fingerprint, sizeof c->fingerprint, "cpu=Test CPU @ 2.0GHz; cpus=2; blas=OpenBLAS 0.3.21 (SkylakeX)");
    c->rounds = 9;
    c->seconds = 1.5;
    for (int d = 16; d <= 64; d += 8)
        assert_int_equal(latency_curve_push(c, d, 10.0 + d * 0.125, 9.5 + d * 0.125, 11.0 + d * 0.125, 10.2 + d * 0.125, 9,
                                            d / 8),
                         TP_OK);
}

static void same_points(const LatencyCurve *a, const LatencyCurve *b, double tol)
{
    assert_int_equal(a->n, b->n);
    assert_string_equal(a->backend, b->backend);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->seq, b->seq);
    assert_string_equal(a->pattern, b->pattern);
    assert_string_equal(a->run, b->run);
    assert_string_equal(a->fingerprint, b->fingerprint);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->hidden[i], b->hidden[i]);
        assert_true(fabs(a->median_us[i] - b->median_us[i]) <= tol);
        assert_true(fabs(a->p10_us[i] - b->p10_us[i]) <= tol);
        assert_true(fabs(a->p90_us[i] - b->p90_us[i]) <= tol);
        assert_true(fabs(a->mean_us[i] - b->mean_us[i]) <= tol);
        assert_int_equal(a->n_samples[i], b->n_samples[i]);
        assert_int_equal(a->n_inner[i], b->n_inner[i]);
    }
}

static void test_tsv_round_trip(void **state)
{
    (void)state;
    LatencyCurve c1, c2;
    make_curve(&c1, 1);
    make_curve(&c2, 2);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(latency_tsv_format(&c1, 1, &buf, &len), TP_OK);
    assert_int_equal(latency_tsv_format(&c2, 0, &buf, &len), TP_OK);
    assert_true(!strncmp(buf, "backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us", 72));
    LatencySet set;
    int torn = -1;
    assert_int_equal(latency_tsv_parse(&set, buf, &torn), TP_OK);
    assert_int_equal(torn, 0);
    assert_int_equal(set.n, 2);
    same_points(&c1, &set.c[0], 1e-9);
    same_points(&c2, &set.c[1], 1e-9);
    assert_int_equal(set.c[0].rounds, 9);
    latency_set_free(&set);

    /* only the ten DESIGN 2.3 columns (a foreign curve), two sweeps back to back: split at the repeat */
    const char *minimal = "backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us\n"
                          "torch\t1\t1\t1\t16\t0\tdense\t30\t29\t31\n"
                          "torch\t1\t1\t1\t24\t0\tdense\t31\t30\t33\n"
                          "torch\t1\t1\t1\t16\t0\tdense\t30.5\t29\t31\n";
    assert_int_equal(latency_tsv_parse(&set, minimal, NULL), TP_OK);
    assert_int_equal(set.n, 2);
    assert_int_equal(set.c[0].n, 2);
    assert_string_equal(set.c[0].backend, "torch");
    assert_true(set.c[1].median_us[0] == 30.5);
    latency_set_free(&set);
    free(buf);
    latency_curve_free(&c1);
    latency_curve_free(&c2);
}

static void expect_refused(const char *text, const char *where)
{
    LatencySet set;
    assert_int_equal(latency_tsv_parse(&set, text, NULL), TP_EFORMAT);
    if (!strstr(err_msg(), where)) print_message("message: %s\n", err_msg());
    assert_non_null(strstr(err_msg(), where));
    assert_int_equal(set.n, 0);
}

static void test_tsv_malformed(void **state)
{
    (void)state;
    const char *H = "backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us\n";
    const char *ok = "cpu\t1\t1\t1\t16\t0\tdense\t30\t29\t31\n";
    char t[1024];
    expect_refused("", "line 1");
    expect_refused("hidden\tbackend\n", "line 1");
    snprintf(t, sizeof t, "%s%scpu\t1\t1\t1\t24\t0\tdense\t30\t29\n%s", H, ok, ok);
    expect_refused(t, "line 3: 9 field(s)");
    snprintf(t, sizeof t, "%scpu\t1\t1\t1\t24\t0\tdense\t30\t31\t32\n", H);
    expect_refused(t, "line 2: expected p10_us <= median_us <= p90_us");
    snprintf(t, sizeof t, "%s%s%scpu\t1\t1\t1\t40\t0\tdense\tfast\t29\t31\n", H, ok,
             "cpu\t1\t1\t1\t32\t0\tdense\t30\t29\t31\n");
    expect_refused(t, "line 4: median_us 'fast'");
    snprintf(t, sizeof t, "%scpu\t1\t1\t1\t24\t0\tsparse\t30\t29\t31\n", H);
    expect_refused(t, "line 2: pattern");
    snprintf(t, sizeof t, "%scpu\t0\t1\t1\t24\t0\tdense\t30\t29\t31\n", H);
    expect_refused(t, "line 2: threads");
    snprintf(t, sizeof t, "%s\n%s", H, ok);
    expect_refused(t, "line 2");
    /* the same run id twice (a model curve computed again): a size that does not ascend starts a curve */
    snprintf(t, sizeof t, "%s\trun\ncpu\t1\t1\t1\t24\t0\tdense\t30\t29\t31\tr1\ncpu\t1\t1\t1\t16\t0\tdense\t30\t29\t31\tr1\n",
             "backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us");
    LatencySet set;
    assert_int_equal(latency_tsv_parse(&set, t, NULL), TP_OK);
    assert_int_equal(set.n, 2);
    latency_set_free(&set);

    /* a torn last line (no newline, cut mid-row) is skipped and reported, not fatal */
    snprintf(t, sizeof t, "%s%scpu\t1\t1\t1\t24\t0\tde", H, ok);
    int torn = 0;
    assert_int_equal(latency_tsv_parse(&set, t, &torn), TP_OK);
    assert_int_equal(torn, 1);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.c[0].n, 1);
    latency_set_free(&set);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    LatencyCurve c, back;
    make_curve(&c, 2);
    c.median_us[2] = 1.0 / 3.0 + 14; /* inside its band 13.5..15 */ /* a value that only an exact round trip keeps */
    HystSeries s = {c.n, c.hidden, c.median_us, c.p10_us, c.p90_us};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, NULL), TP_OK);
    char *aj = NULL, *j = NULL;
    assert_int_equal(hysteresis_json(&s, &a, &aj), TP_OK);
    assert_int_equal(latency_json_format(&c, aj, &j), TP_OK);
    assert_null(strchr(j, '\n'));
    assert_non_null(strstr(j, "\"analysis\":{\"margin\""));
    assert_int_equal(latency_json_parse(&back, j), TP_OK);
    same_points(&c, &back, 0.0);
    assert_true(back.seconds == c.seconds);
    assert_int_equal(back.rounds, c.rounds);
    latency_curve_free(&back);
    assert_int_equal(latency_json_parse(&back, "{\"format\":\"other\"}"), TP_EFORMAT);
    assert_int_equal(latency_json_parse(&back, "{\"format\":\"topiary-latency\",\"version\":2}"), TP_EFORMAT);
    assert_int_equal(latency_json_parse(&back, "not json"), TP_EFORMAT);
    free(aj);
    free(j);
    hysteresis_free(&a);
    latency_curve_free(&c);
}

static void test_parse_sizes(void **state)
{
    (void)state;
    int *v, n;
    assert_int_equal(latency_parse_sizes("16:1536:8", &v, &n), TP_OK);
    assert_int_equal(n, 191);
    assert_int_equal(v[0], 16);
    assert_int_equal(v[190], 1536);
    free(v);
    assert_int_equal(latency_parse_sizes("8,16,100", &v, &n), TP_OK);
    assert_int_equal(n, 3);
    assert_int_equal(v[2], 100);
    free(v);
    const char *bad[] = {"", "16:8:8", "a:b:c", "8,8", "16:32", "0:8:1", "8,,16", "1:100000:1", "16:32:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(latency_parse_sizes(bad[i], &v, &n), TP_OK);
        assert_null(v);
    }
}

/* ---- the profiler itself ---- */

static int cancel_at_once(void *ctx, double f, int r, int rounds, double el)
{
    (void)ctx, (void)f, (void)r, (void)rounds, (void)el;
    return 1;
}

/* a one-thread sweep over a few sizes: the profiler's own defaults, shortened */
static void small_sweep(LatencyOptions *o, int *sizes, int n, int rounds, double min_sample_us)
{
    latency_options_defaults(o);
    o->sizes = sizes;
    o->n_sizes = n;
    o->rounds = rounds;
    o->threads = 1;
    o->min_sample_us = min_sample_us;
}

static void test_profiler_tiny(void **state)
{
    (void)state;
    int sizes[] = {8, 16, 24};
    LatencyOptions o;
    small_sweep(&o, sizes, 3, 5, 20);
    o.batch = 2;
    LatencyCurve c;
    assert_int_equal(latency_profile(&c, &o), TP_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.threads, 1);
    assert_int_equal(c.rounds, 5);
    assert_string_equal(c.protocol, "steady");
    assert_non_null(strstr(c.fingerprint, "cpu="));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.hidden[i], sizes[i]);
        assert_true(c.median_us[i] > 0);
        assert_true(c.p10_us[i] <= c.median_us[i] && c.median_us[i] <= c.p90_us[i]);
        assert_int_equal(c.n_samples[i], 5);
        assert_true(c.n_inner[i] >= 1);
    }
    latency_curve_free(&c);

    /* sparse patterns run the sparse kernels (engine/sparse) and say so in the curve; a pattern
     * without sparsity is refused; a cancelled sweep says so */
    static const char *const PATS[] = {"row", "csr", "sell", "sell-seg", "unstructured", "block16x1", "block8x1", "block4x4"};
    for (int p = 0; p < 8; p++) {
        o.pattern = PATS[p];
        o.sparsity = 0.9;
        assert_int_equal(latency_profile(&c, &o), TP_OK);
        assert_string_equal(c.pattern, PATS[p]);
        assert_true(c.sparsity == 0.9);
        assert_int_equal(c.n, 3);
        for (int i = 0; i < 3; i++) assert_true(c.median_us[i] > 0);
        latency_curve_free(&c);
    }
    o.sparsity = 0;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL);
    o.pattern = "block";   /* the engine takes the layout; "block" alone is the front end's */
    o.sparsity = 0.9;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "block16x1"));
    o.pattern = "dense";
    o.sparsity = 0;
    o.progress = cancel_at_once;
    assert_int_equal(latency_profile(&c, &o), TP_ECANCEL);
    assert_int_equal(c.n, 0);
}

/* The matrices a sparse profile times: the pattern's layout (unstructured: one of csr, sell and
 * sell-seg, holding the same positions as the csr pattern from the same seed), on a vector path
 * this CPU has, and exact (the product equals the dense one). */
static void test_pattern_matrix(void **state)
{
    (void)state;
    static const char *const PATS[] = {"csr", "sell", "sell-seg", "unstructured", "row", "block16x1"};
    static const SparseKind KIND[] = {SPARSE_CSR, SPARSE_SELL, SPARSE_SELL_SEG, SPARSE_CSR, SPARSE_ROW, SPARSE_BSR16X1};
    const int R = 96, C = 70;
    float *w = malloc((size_t)R * C * sizeof(float)), *ref = malloc((size_t)R * C * sizeof(float));
    float x[70], y[96];
    assert_true(w && ref);
    for (int c = 0; c < C; c++) x[c] = (float)(c % 7) - 3.0f;
    for (int p = 0; p < 6; p++) {
        SparseMatrix m;
        Rng r;
        rng_seed(&r, 99);
        assert_int_equal(latency_pattern_matrix(&m, PATS[p], R, C, 0.2, &r), TP_OK);
        if (p == 3)
            assert_true(m.kind == SPARSE_CSR || m.kind == SPARSE_SELL || m.kind == SPARSE_SELL_SEG);
        else
            assert_int_equal(m.kind, KIND[p]);
        assert_true(sparse_isa_available(m.isa));
        sparse_to_dense(&m, w);
        if (p == 0) memcpy(ref, w, (size_t)R * C * sizeof(float));
        if (p <= 3) /* the unstructured layouts: the same positions and values from the same seed */
            for (size_t i = 0; i < (size_t)R * C; i++) assert_true(w[i] == ref[i]);
        sparse_gemv(&m, y, x, 0);
        for (int i = 0; i < R; i++) {
            double e = 0.0, sc = 0.0;
            for (int c = 0; c < C; c++) e += (double)w[(size_t)i * C + c] * x[c], sc += fabs((double)w[(size_t)i * C + c] * x[c]);
            assert_true(fabs(y[i] - e) <= 1e-5 * sc + 1e-30);
        }
        sparse_free(&m);
    }
    SparseMatrix m;
    Rng r;
    rng_seed(&r, 1);
    assert_int_equal(latency_pattern_matrix(&m, "dense", R, C, 0.2, &r), TP_EINVAL);
    assert_int_equal(latency_pattern_matrix(&m, "diagonal", R, C, 0.2, &r), TP_EINVAL);
    free(w);
    free(ref);
}

/* An H-LSTM layer on the CPU: hlstm_forward (or its fc1/fc2 through a sparse layout) is what is timed,
 * the fingerprint says so, and the describe text too.  With gates 16x wider than the LSTM's
 * (M = 512 against 4H = 128 rows) the H-LSTM step costs several times the LSTM's of the same size:
 * a curve that did not run the gate networks would not. */
static void test_profiler_hlstm(void **state)
{
    (void)state;
    int sizes[] = {16, 32};
    LatencyOptions o;
    small_sweep(&o, sizes, 2, 7, 50);
    LatencyCurve lstm, hl;
    assert_int_equal(latency_profile(&lstm, &o), TP_OK);
    o.cell = "hlstm";
    o.gate_hidden = 512;
    assert_int_equal(latency_profile(&hl, &o), TP_OK);
    assert_int_equal(hl.n, 2);
    assert_true(!strncmp(hl.fingerprint, "cell=hlstm M=512; cpu=", 22));
    assert_null(strstr(lstm.fingerprint, "cell=hlstm"));
    char d[256];
    latency_curve_describe(&hl, d, sizeof d);
    assert_non_null(strstr(d, ", H-LSTM M=512, dense"));
    print_message("H = 32: LSTM %.2f us, H-LSTM (M = 512) %.2f us\n", lstm.median_us[1], hl.median_us[1]);
    assert_true(hl.median_us[1] > 2.0 * lstm.median_us[1]);
    latency_curve_free(&lstm);
    latency_curve_free(&hl);

    /* M = H (gate_hidden 0), with an input width, and every sparse layout */
    o.gate_hidden = 0;
    o.input = 24;
    o.batch = 2;
    o.seq = 3;
    assert_int_equal(latency_profile(&hl, &o), TP_OK);
    assert_true(!strncmp(hl.fingerprint, "cell=hlstm M=H; ", 16));
    latency_curve_free(&hl);
    static const char *const PATS[] = {"row", "csr", "sell", "sell-seg", "unstructured", "block16x1", "block8x1", "block4x4"};
    for (int p = 0; p < 8; p++) {
        o.pattern = PATS[p];
        o.sparsity = 0.8;
        assert_int_equal(latency_profile(&hl, &o), TP_OK);
        assert_string_equal(hl.pattern, PATS[p]);
        for (int i = 0; i < 2; i++) assert_true(hl.median_us[i] > 0);
        latency_curve_free(&hl);
    }
    /* refused: an unknown cell, a negative gate width */
    o.pattern = "dense";
    o.sparsity = 0;
    o.cell = "gru";
    assert_int_equal(latency_profile(&hl, &o), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "expected lstm or hlstm"));
    o.cell = "hlstm";
    o.gate_hidden = -1;
    assert_int_equal(latency_profile(&hl, &o), TP_EINVAL);
}

/* A bidirectional layer (a speech model's, bidir): a call runs both directions, the samples are per
 * window; at 2 threads a sparse pattern's two directions run in turn over the pool or at once, one
 * thread each, whichever each size times faster (forced here both ways); one thread, or the dense
 * pattern, runs them in turn and refuses at once. */
static void test_profiler_bidir(void **state)
{
    (void)state;
    int sizes[] = {16, 48};
    LatencyOptions o;
    small_sweep(&o, sizes, 2, 5, 50);
    o.seq = 4;
    o.input = 20;
    o.bidir = 1;
    LatencyCurve c;
    assert_int_equal(latency_profile(&c, &o), TP_OK); /* dense, 1 thread: in turn */
    assert_true(c.bidir && c.n_once == 0 && c.n == 2);
    latency_curve_free(&c);
    o.pattern = "sell-seg";
    o.sparsity = 0.8;
    assert_int_equal(latency_profile(&c, &o), TP_OK);
    assert_int_equal(c.n_once, 0);
    latency_curve_free(&c);
    o.directions = 2;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL); /* at once at one thread */
    assert_non_null(strstr(err_msg(), "2 or more threads"));
    o.threads = 2;
    for (int d = 0; d <= 2; d++) {
        o.directions = d;
        assert_int_equal(latency_profile(&c, &o), TP_OK);
        assert_int_equal(c.threads, 2);
        assert_true(c.n_once >= 0 && c.n_once <= 2);
        if (d) assert_int_equal(c.n_once, d == 2 ? 2 : 0);
        for (int i = 0; i < 2; i++) assert_true(c.median_us[i] > 0);
        latency_curve_free(&c);
    }
    o.cell = "hlstm"; /* the H-LSTM's gate networks at once too */
    assert_int_equal(latency_profile(&c, &o), TP_OK);
    assert_int_equal(c.n_once, 2);
    latency_curve_free(&c);
    o.cell = NULL;
    o.pattern = "dense";
    o.sparsity = 0;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL); /* BLAS threads the dense pattern */
    o.directions = 3;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL);
    o.directions = 1;
    o.bidir = 0;
    assert_int_equal(latency_profile(&c, &o), TP_EINVAL); /* a plan without two directions */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_plateaus),
        cmocka_unit_test(test_noisy_plateaus_and_spike),
        cmocka_unit_test(test_monotone_curves_yield_nothing),
        cmocka_unit_test(test_analysis_rejects_bad_input),
        cmocka_unit_test(test_recommend_edges),
        cmocka_unit_test(test_overlap_of_two_sweeps),
        cmocka_unit_test(test_tsv_round_trip),
        cmocka_unit_test(test_tsv_malformed),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_parse_sizes),
        cmocka_unit_test(test_profiler_tiny),
        cmocka_unit_test(test_pattern_matrix),
        cmocka_unit_test(test_profiler_hlstm),
        cmocka_unit_test(test_profiler_bidir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
