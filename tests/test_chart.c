/* tests/test_chart: tick generation (1-2-5 steps, log decades, SI labels) as unit tests, and whole
 * charts compared against golden files in tests/golden/ (braille and ASCII, several series with NaN
 * gaps, log y, markers, no data, a single point, lone points, huge ranges, small values, clipping to
 * fixed ranges, tiny boxes), plus a sweep of sizes checking that every line is exactly w cells. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plots/chart.h"
#include "tests/golden.h"

/* ---- ticks ------------------------------------------------------------------------------------- */

static void expect_ticks(double lo, double hi, int max, const double *want, int n_want, double want_step)
{
    double t[64], step;
    int n = chart_ticks(t, &step, 64, lo, hi, max);
    if (n != n_want) fprintf(stderr, "ticks(%g, %g, %d): %d ticks, want %d\n", lo, hi, max, n, n_want);
    assert_int_equal(n, n_want);
    assert_true(fabs(step - want_step) <= 1e-12 * fabs(want_step));
    for (int i = 0; i < n; i++) assert_true(fabs(t[i] - want[i]) <= 1e-9 * fmax(fabs(want_step), 1e-300));
}

static void test_ticks_125(void **state)
{
    (void)state;
    expect_ticks(0, 10, 5, (double[]){0, 5, 10}, 3, 5);
    expect_ticks(0, 10, 6, (double[]){0, 2, 4, 6, 8, 10}, 6, 2);
    expect_ticks(0, 10, 11, (double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 11, 1);
    expect_ticks(0, 1, 6, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6, 0.2);
    expect_ticks(-3, 7, 5, (double[]){-2, 0, 2, 4, 6}, 5, 2);
    expect_ticks(0.6, 1.0, 3, (double[]){0.6, 0.8, 1.0}, 3, 0.2); /* end points exactly on the grid */
    expect_ticks(37, 341, 6, (double[]){50, 100, 150, 200, 250, 300}, 6, 50);
    expect_ticks(37, 341, 5, (double[]){100, 200, 300}, 3, 100);
    expect_ticks(1e-9, 1e12, 6, (double[]){0, 2e11, 4e11, 6e11, 8e11, 1e12}, 6, 2e11);
    expect_ticks(3e-6, 4.1e-6, 4, (double[]){3e-6, 3.5e-6, 4e-6}, 3, 5e-7);
    expect_ticks(5, 5, 4, (double[]){5}, 1, 0); /* lo == hi */
    double t[8], step;
    assert_int_equal(chart_ticks(t, &step, 8, 2, 1, 5), 0);
    assert_int_equal(chart_ticks(t, &step, 8, NAN, 1, 5), 0);
    assert_int_equal(chart_ticks(t, &step, 8, 0, INFINITY, 5), 0);
    /* the whole double range: a handful of ticks, no overflow, no long loop */
    int n = chart_ticks(t, &step, 8, -1e308, 1e308, 5);
    assert_true(n >= 1 && n <= 5 && isfinite(step));
    /* max_ticks 1 and cap are honoured */
    assert_int_equal(chart_ticks(t, &step, 8, 1.1, 1.35, 1), 1);
    assert_int_equal(chart_ticks(t, &step, 2, 0, 10, 11), 2);
}

static void test_log_ticks(void **state)
{
    (void)state;
    double t[64];
    int n = chart_log_ticks(t, 64, 1, 1e6, 8);
    assert_int_equal(n, 7);
    for (int i = 0; i < 7; i++) assert_true(fabs(t[i] - pow(10, i)) < 1e-9 * pow(10, i));
    n = chart_log_ticks(t, 64, 1, 1e6, 4); /* every second decade */
    assert_int_equal(n, 4);
    assert_true(t[0] == 1 && t[1] == 100 && t[2] == 1e4 && t[3] == 1e6);
    n = chart_log_ticks(t, 64, 1, 1000, 12); /* room for the 2s and 5s */
    assert_int_equal(n, 10);
    assert_true(t[1] == 2 && t[2] == 5 && t[3] == 10 && t[9] == 1000);
    n = chart_log_ticks(t, 64, 2, 8, 5); /* inside one decade: 1-2-5 multiples */
    assert_int_equal(n, 2);
    assert_true(t[0] == 2 && t[1] == 5);
    n = chart_log_ticks(t, 64, 3, 4, 5); /* no 1-2-5 multiple twice: linear ticks */
    assert_true(n >= 2 && t[0] >= 3 && t[n - 1] <= 4);
    n = chart_log_ticks(t, 64, 1e-300, 1e300, 6);
    assert_true(n >= 1 && n <= 6);
    assert_int_equal(chart_log_ticks(t, 64, 0, 10, 5), 0);
    assert_int_equal(chart_log_ticks(t, 64, -1, 10, 5), 0);
}

static void expect_label(double v, double step, double amax, int ascii, const char *want)
{
    char b[64];
    chart_format_tick(b, sizeof b, v, step, amax, ascii);
    if (strcmp(b, want)) fprintf(stderr, "label(%g, step %g, max %g) = '%s', want '%s'\n", v, step, amax, b, want);
    assert_string_equal(b, want);
}

static void test_si_labels(void **state)
{
    (void)state;
    expect_label(0, 5000, 20000, 0, "0");
    expect_label(5000, 5000, 20000, 0, "5k");
    expect_label(15000, 5000, 20000, 0, "15k");
    expect_label(1200000, 200000, 1.2e6, 0, "1.2M");
    expect_label(1e6, 200000, 1.2e6, 0, "1M");
    expect_label(3e9, 1e9, 5e9, 0, "3G");
    expect_label(4e11, 2e11, 1e12, 0, "0.4T");
    expect_label(100, 100, 1000, 0, "100");
    expect_label(2000, 1000, 5000, 0, "2000");
    expect_label(0.2, 0.2, 1, 0, "0.2");
    expect_label(0.05, 0.01, 0.05, 0, "0.05");
    expect_label(-2, 2, 10, 0, "-2");
    expect_label(0.0005, 0.0005, 0.002, 0, "0.5m");
    expect_label(0.002, 0.0005, 0.002, 0, "2m");
    expect_label(1.5e-6, 5e-7, 2e-6, 0, "1.5\xC2\xB5");
    expect_label(1.5e-6, 5e-7, 2e-6, 1, "1.5u");
    expect_label(3e-9, 1e-9, 5e-9, 0, "3n");
    expect_label(2e-12, 1e-12, 5e-12, 0, "2p");
    expect_label(1e18, 1e17, 1e18, 0, "1e+18");
    expect_label(1e-15, 1e-16, 1e-15, 0, "1e-15");
    expect_label(-0.0, 0.1, 1, 0, "0");
    expect_label(1.0000000000000002, 0.2, 1, 0, "1");
}

/* ---- golden charts ----------------------------------------------------------------------------- */

enum { NP = 60, NL = 31 };
static double px[NP], train[NP], vx[6], valid[6], lx[NL], lat[NL];

static void make_data(void)
{
    for (int i = 0; i < NP; i++) {
        px[i] = 100.0 * i;
        train[i] = (i == 20 || i == 21) ? NAN : 300 * exp(-i / 12.0) + 40;
    }
    for (int k = 0; k < 6; k++) {
        int i = 9 + 10 * k;
        vx[k] = px[i];
        valid[k] = 320 * exp(-i / 14.0) + 55;
    }
    /* a latency curve with steps (the hysteresis effect): flat runs, then a jump every 256 units */
    for (int i = 0; i < NL; i++) {
        lx[i] = 64 + 32.0 * i;
        lat[i] = 40 + 0.00004 * lx[i] * lx[i] + 60 * floor(lx[i] / 256);
    }
}

static char *render(const ChartSpec *sp, const ChartSeries *s, int ns, int w, int h)
{
    CanvasText t;
    assert_int_equal(chart_render(&t, sp, s, ns, w, h), TP_OK);
    assert_int_equal(t.w, w);
    assert_int_equal(t.h, h);
    for (int r = 0; r < h; r++) assert_int_equal(utf8_width(t.lines[r]), w);
    char *j = canvas_text_join(&t);
    canvas_text_free(&t);
    return j;
}

static void golden(const char *name, const ChartSpec *sp, const ChartSeries *s, int ns, int w, int h)
{
    char *j = render(sp, s, ns, w, h);
    int rc = golden_check(name, j);
    free(j);
    assert_int_equal(rc, 0);
}

static void ppl_spec(ChartSpec *sp, ChartSeries s[2], CanvasMode mode)
{
    make_data();
    chart_spec_init(sp);
    sp->mode = mode;
    sp->title = "perplexity";
    sp->y_label = "ppl";
    sp->x_label = "step";
    s[0] = (ChartSeries){"train_ppl", px, train, NP};
    s[1] = (ChartSeries){"valid_ppl", vx, valid, 6};
}

static void test_golden_ppl(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s[2];
    ppl_spec(&sp, s, CANVAS_BRAILLE);
    golden("chart_ppl_braille.txt", &sp, s, 2, 60, 15);
    sp.mode = CANVAS_ASCII;
    golden("chart_ppl_ascii.txt", &sp, s, 2, 60, 15);
    golden("chart_one_series_ascii.txt", &sp, s, 1, 60, 15);
    sp.mode = CANVAS_BRAILLE;
    sp.log_y = 1;
    golden("chart_ppl_logy.txt", &sp, s, 2, 60, 15);
}

static void test_golden_log_decades(void **state)
{
    (void)state;
    double x[51], y[51], y2[51];
    for (int i = 0; i < 51; i++) {
        x[i] = i;
        y[i] = pow(10, i / 10.0);                /* 1 .. 1e5 */
        y2[i] = i % 7 == 3 ? -1 : 3 * pow(10, i / 14.0); /* non-positive values break a log line */
    }
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.log_y = 1;
    sp.title = "log y";
    ChartSeries s[2] = {{"10^(x/10)", x, y, 51}, {"3*10^(x/14)", x, y2, 51}};
    golden("chart_logy_decades.txt", &sp, s, 2, 50, 16);
}

static void latency_spec(ChartSpec *sp, ChartSeries *s, ChartMarker mk[4], CanvasMode mode)
{
    make_data();
    chart_spec_init(sp);
    sp->mode = mode;
    sp->title = "layer latency";
    sp->y_label = "us";
    sp->x_label = "hidden";
    mk[0] = (ChartMarker){CHART_MARK_VLINE, 650, 0, "current", 0};
    mk[1] = (ChartMarker){CHART_MARK_VLINE, 480, 0, "target", 0};
    mk[2] = (ChartMarker){CHART_MARK_POINT, 224, 40 + 0.00004 * 224 * 224, "hysteresis", 0};
    mk[3] = (ChartMarker){CHART_MARK_POINT, 480, 40 + 0.00004 * 480 * 480 + 60, NULL, 0};
    sp->markers = mk;
    sp->n_markers = 4;
    *s = (ChartSeries){"median_us", lx, lat, NL};
}

static void test_golden_markers(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s;
    ChartMarker mk[4];
    latency_spec(&sp, &s, mk, CANVAS_BRAILLE);
    golden("chart_markers_braille.txt", &sp, &s, 1, 60, 15);
    sp.mode = CANVAS_ASCII;
    golden("chart_markers_ascii.txt", &sp, &s, 1, 60, 15);
}

static void test_golden_no_data(void **state)
{
    (void)state;
    double nan3[3] = {NAN, NAN, NAN}, x3[3] = {1, 2, 3};
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.title = "empty";
    char *a = render(&sp, NULL, 0, 30, 8);
    ChartSeries s[2] = {{"nothing", x3, x3, 0}, {"all NaN", x3, nan3, 3}};
    char *b = render(&sp, s, 2, 30, 8);
    sp.mode = CANVAS_ASCII;
    char *c = render(&sp, s, 2, 30, 8);
    char all[2048];
    snprintf(all, sizeof all, "--- no series\n%s--- empty and all-NaN series\n%s--- ascii\n%s", a, b, c);
    free(a), free(b), free(c);
    assert_int_equal(golden_check("chart_no_data.txt", all), 0);
}

static void test_golden_single_point(void **state)
{
    (void)state;
    double x[1] = {5}, y[1] = {42};
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.title = "one point";
    ChartSeries s = {"valid_ppl", x, y, 1};
    char *a = render(&sp, &s, 1, 30, 9);
    sp.mode = CANVAS_ASCII;
    char *b = render(&sp, &s, 1, 30, 9);
    char all[2048];
    snprintf(all, sizeof all, "%s--- ascii\n%s", a, b);
    free(a), free(b);
    assert_int_equal(golden_check("chart_single_point.txt", all), 0);
}

static void test_golden_nan_points(void **state)
{
    (void)state;
    /* lone points between NaNs, then a run; infinities count as gaps too */
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i;
        y[i] = (i < 10 && i % 2) ? NAN : (i == 14 ? INFINITY : (double)((i * 7) % 11));
    }
    x[17] = NAN;
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.title = "gaps";
    ChartSeries s = {"y", x, y, 20};
    char *a = render(&sp, &s, 1, 40, 10);
    sp.mode = CANVAS_ASCII;
    char *b = render(&sp, &s, 1, 40, 10);
    char all[4096];
    snprintf(all, sizeof all, "%s--- ascii\n%s", a, b);
    free(a), free(b);
    assert_int_equal(golden_check("chart_nan_points.txt", all), 0);
}

static void test_golden_huge_and_small(void **state)
{
    (void)state;
    double x[49], y[49], lr[49];
    for (int i = 0; i < 49; i++) {
        x[i] = pow(10, i / 4.0);                 /* 1 .. 1e12 */
        y[i] = 1e-9 * pow(10, i * 21.0 / 48.0);  /* 1e-9 .. 1e12 */
        lr[i] = 1e-3 * pow(0.5, i / 10.0);       /* 1e-3 .. 3.5e-5 */
    }
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.title = "huge ranges";
    ChartSeries s = {"y", x, y, 49};
    char *a = render(&sp, &s, 1, 50, 12);
    sp.log_y = 1;
    char *b = render(&sp, &s, 1, 50, 12);
    sp.log_y = 0;
    sp.title = "learning rate";
    for (int i = 0; i < 49; i++) x[i] = 1000.0 * i;
    ChartSeries l = {"lr", x, lr, 49};
    char *c = render(&sp, &l, 1, 50, 12);
    sp.mode = CANVAS_ASCII;
    char *d = render(&sp, &l, 1, 50, 12);
    char all[8192];
    snprintf(all, sizeof all, "%s--- log y\n%s--- small values\n%s--- ascii\n%s", a, b, c, d);
    free(a), free(b), free(c), free(d);
    assert_int_equal(golden_check("chart_huge_small.txt", all), 0);
    /* beyond any sensible range: still w cells per line, no hang */
    double big[3] = {-1e308, 0, 1e308}, xs[3] = {-1e308, 1, 1e308};
    ChartSeries bs = {"big", xs, big, 3};
    free(render(&sp, &bs, 1, 30, 8));
    sp.mode = CANVAS_BRAILLE;
    free(render(&sp, &bs, 1, 30, 8));
}

static void test_golden_clipping(void **state)
{
    (void)state;
    double x[101], y[101];
    for (int i = 0; i <= 100; i++) {
        x[i] = i / 10.0;
        y[i] = 3 * sin(x[i]);
    }
    ChartSpec sp;
    chart_spec_init(&sp);
    sp.title = "fixed ranges";
    sp.x_min = 2, sp.x_max = 8, sp.y_min = -1, sp.y_max = 1;
    ChartMarker mk[2] = {{CHART_MARK_VLINE, 1, 0, "off", 0}, {CHART_MARK_POINT, 5, 5, "off", 0}}; /* outside */
    sp.markers = mk;
    sp.n_markers = 2;
    ChartSeries s = {"3 sin x", x, y, 101};
    golden("chart_clipping.txt", &sp, &s, 1, 40, 12);
}

static void test_golden_tiny(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s[2];
    ppl_spec(&sp, s, CANVAS_BRAILLE);
    ChartMarker mk[2] = {{CHART_MARK_VLINE, 2000, 0, "target", 0}, {CHART_MARK_POINT, 3000, 100, "best", 0}};
    sp.markers = mk;
    sp.n_markers = 2;
    static const int sizes[][2] = {{10, 3}, {1, 1}, {2, 2}, {5, 4}, {12, 5}, {20, 7}};
    char all[8192] = "";
    size_t u = 0;
    for (int m = 0; m < 2; m++) {
        sp.mode = m ? CANVAS_ASCII : CANVAS_BRAILLE;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char *j = render(&sp, s, 2, sizes[k][0], sizes[k][1]);
            u += (size_t)snprintf(all + u, sizeof all - u, "--- %dx%d %s\n%s", sizes[k][0], sizes[k][1],
                                  m ? "ascii" : "braille", j);
            free(j);
        }
    }
    assert_true(u < sizeof all);
    assert_int_equal(golden_check("chart_tiny.txt", all), 0);
}

/* ---- properties -------------------------------------------------------------------------------- */

static void test_every_size_stays_in_the_box(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s[2];
    ChartMarker mk[4];
    for (int m = 0; m < 2; m++)
        for (int w = 1; w <= 40; w++)
            for (int h = 1; h <= 14; h++) {
                ppl_spec(&sp, s, m ? CANVAS_ASCII : CANVAS_BRAILLE);
                free(render(&sp, s, 2, w, h)); /* render() checks h lines of exactly w cells */
                ChartSeries l;
                latency_spec(&sp, &l, mk, m ? CANVAS_ASCII : CANVAS_BRAILLE);
                free(render(&sp, &l, 1, w, h));
            }
}

static void test_tags(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s[2];
    ppl_spec(&sp, s, CANVAS_BRAILLE);
    CanvasText t;
    assert_int_equal(chart_render(&t, &sp, s, 2, 60, 15), TP_OK);
    int seen[256] = {0};
    for (int i = 0; i < 60 * 15; i++) seen[t.tags[i]]++;
    assert_true(seen[CHART_TAG_SERIES] > 20 && seen[CHART_TAG_SERIES + 1] > 5);
    assert_true(seen[CHART_TAG_AXIS] > 60 && seen[CHART_TAG_TITLE] > 5);
    /* a braille cell tagged with a series shows dots; the legend samples are tagged too */
    for (int r = 0; r < 15; r++) {
        const char *p = t.lines[r];
        for (int k = 0; k < 60; k++) {
            uint32_t cp;
            p = utf8_next(p, &cp);
            if (t.tags[r * 60 + k] >= CHART_TAG_SERIES) assert_true(cp >= 0x2800 && cp <= 0x28FF);
        }
    }
    canvas_text_free(&t);
}

/* Without colours (mono) the second series of a braille chart has its own glyph, in the plot and in
 * its legend sample; the first keeps its braille line; with colours nothing changes. */
static void test_mono_glyph_per_series(void **state)
{
    (void)state;
    ChartSpec sp;
    ChartSeries s[2];
    ppl_spec(&sp, s, CANVAS_BRAILLE);
    CanvasText colour, mono;
    assert_int_equal(chart_render(&colour, &sp, s, 2, 60, 15), TP_OK);
    sp.mono = 1;
    assert_int_equal(chart_render(&mono, &sp, s, 2, 60, 15), TP_OK);
    int glyph1 = 0, braille0 = 0, glyph_in_colour = 0;
    for (int r = 0; r < 14; r++) { /* the plot, not the legend row */
        const char *p = mono.lines[r], *q = colour.lines[r];
        for (int k = 0; k < 60; k++) {
            uint32_t cp, cq;
            p = utf8_next(p, &cp);
            q = utf8_next(q, &cq);
            uint8_t tag = mono.tags[r * 60 + k];
            if (tag == CHART_TAG_SERIES + 1) {
                assert_int_equal(cp, '+');
                glyph1++;
            }
            if (tag == CHART_TAG_SERIES) {
                assert_true(cp >= 0x2800 && cp <= 0x28FF);
                braille0++;
            }
            glyph_in_colour += colour.tags[r * 60 + k] >= CHART_TAG_SERIES && !(cq >= 0x2800 && cq <= 0x28FF);
        }
    }
    assert_true(glyph1 > 5 && braille0 > 20);
    assert_int_equal(glyph_in_colour, 0);
    /* the legend: a braille sample for the first series, "++" for the second */
    char want[64];
    snprintf(want, sizeof want, "++ %s", s[1].name);
    assert_non_null(strstr(mono.lines[14], want));
    assert_non_null(strstr(mono.lines[14], "\u2812\u2812"));
    assert_null(strstr(colour.lines[14], want));
    canvas_text_free(&colour);
    canvas_text_free(&mono);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ChartSpec sp;
    chart_spec_init(&sp);
    CanvasText t;
    double x[2] = {1, 2};
    ChartSeries s = {"a", x, NULL, 2};
    assert_int_equal(chart_render(&t, &sp, NULL, 0, 0, 5), TP_EINVAL);
    assert_int_equal(chart_render(&t, &sp, &s, 1, 10, 5), TP_EINVAL);
    assert_int_equal(chart_render(&t, &sp, &s, CHART_MAX_SERIES + 1, 10, 5), TP_EINVAL);
    sp.log_y = 1;
    sp.y_min = 0;
    s.y = x;
    assert_int_equal(chart_render(&t, &sp, &s, 1, 10, 5), TP_EINVAL);
    assert_null(t.lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_125),          cmocka_unit_test(test_log_ticks),
        cmocka_unit_test(test_si_labels),          cmocka_unit_test(test_golden_ppl),
        cmocka_unit_test(test_golden_log_decades), cmocka_unit_test(test_golden_markers),
        cmocka_unit_test(test_golden_no_data),     cmocka_unit_test(test_golden_single_point),
        cmocka_unit_test(test_golden_nan_points),  cmocka_unit_test(test_golden_huge_and_small),
        cmocka_unit_test(test_golden_clipping),    cmocka_unit_test(test_golden_tiny),
        cmocka_unit_test(test_every_size_stays_in_the_box), cmocka_unit_test(test_tags),
        cmocka_unit_test(test_bad_arguments),      cmocka_unit_test(test_mono_glyph_per_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
