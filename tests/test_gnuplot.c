/* tests/test_gnuplot: output paths, the written .gp script and .data.tsv compared with golden files,
 * quoting, a real PNG and SVG when gnuplot is installed (skipped otherwise), gnuplot missing from
 * PATH (TP_ENOTAVAIL naming the install command), and gnuplot's own error quoted on failure. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plots/gnuplot.h"
#include "tests/golden.h"
#include "tests/helpers.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char buf[8192], p[8300];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *d = strtok(buf, ":"); d; d = strtok(NULL, ":")) {
        snprintf(p, sizeof p, "%s/gnuplot", d);
        if (access(p, X_OK) == 0) return 1;
    }
    return 0;
}

/* A perplexity chart: two series, a NaN gap, markers of both kinds, a title with quotes. */
static double sx[8] = {0, 100, 200, 300, 400, 500, 600, 700};
static double sy[8] = {300, 200, NAN, NAN, 90, 80, 75, 72};
static double vx[3] = {250, 500, 750}, vy[3] = {150, 95, INFINITY};
static ChartMarker mk[3] = {{CHART_MARK_VLINE, 350, 0, "target", 0},
                            {CHART_MARK_POINT, 500, 80, "hysteresis", 0},
                            {CHART_MARK_VLINE, NAN, 0, "ignored", 0}};

static void spec_ppl(ChartSpec *sp, ChartSeries s[3])
{
    chart_spec_init(sp);
    sp->title = "perplexity \"quoted\" \\ back";
    sp->x_label = "step";
    sp->y_label = "ppl";
    sp->log_y = 1;
    sp->y_min = 10;
    sp->markers = mk;
    sp->n_markers = 3;
    s[0] = (ChartSeries){"train_ppl", sx, sy, 8};
    s[1] = (ChartSeries){"valid_ppl", vx, vy, 3};
    s[2] = (ChartSeries){"never measured", vx, vy, 0};
}

static void test_paths(void **state)
{
    (void)state;
    GnuplotFiles f;
    assert_int_equal(gnuplot_files(&f, "/x/y/ppl.png"), TP_OK);
    assert_int_equal(f.format, GNUPLOT_PNG);
    assert_string_equal(f.out, "/x/y/ppl.png");
    assert_string_equal(f.script, "/x/y/ppl.gp");
    assert_string_equal(f.data, "/x/y/ppl.data.tsv");
    assert_int_equal(gnuplot_files(&f, "a.b/chart.SVG"), TP_OK);
    assert_int_equal(f.format, GNUPLOT_SVG);
    assert_string_equal(f.script, "a.b/chart.gp");
    assert_int_equal(gnuplot_files(&f, "chart.txt"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "FILE.png or FILE.svg"));
    assert_int_equal(gnuplot_files(&f, "png"), TP_EINVAL);
    assert_int_equal(gnuplot_files(&f, "dir.png/x"), TP_EINVAL);
    assert_int_equal(gnuplot_files(&f, "/tmp/.png"), TP_EINVAL);
}

static void test_written_files(void **state)
{
    (void)state;
    char *dir = th_tempdir("gnuplot");
    char out[4200];
    snprintf(out, sizeof out, "%s/ppl.png", dir);
    GnuplotFiles f;
    ChartSpec sp;
    ChartSeries s[3];
    spec_ppl(&sp, s);
    assert_int_equal(gnuplot_files(&f, out), TP_OK);
    assert_int_equal(gnuplot_write(&f, &sp, s, 3), TP_OK);
    char *gp = slurp(f.script), *data = slurp(f.data);
    assert_non_null(gp);
    assert_non_null(data);
    /* the script names its files relatively, so the directory can move */
    assert_null(strstr(gp, dir));
    assert_non_null(strstr(gp, "set title \"perplexity \\\"quoted\\\" \\\\ back\"\n"));
    assert_non_null(strstr(gp, "set logscale y\n"));
    assert_non_null(strstr(gp, "set yrange [10:]\n"));
    assert_non_null(strstr(gp, "pngcairo"));
    /* the NaN gap is a blank line; the infinite point is left out */
    assert_non_null(strstr(data, "100\t200\n\n400\t90\n"));
    assert_null(strstr(data, "inf"));
    int rc = golden_check("gnuplot_ppl.gp", gp) | golden_check("gnuplot_ppl.data.tsv", data);
    free(gp);
    free(data);
    assert_int_equal(rc, 0);

    /* SVG and an empty chart */
    snprintf(out, sizeof out, "%s/empty.svg", dir);
    chart_spec_init(&sp);
    assert_int_equal(gnuplot_files(&f, out), TP_OK);
    assert_int_equal(gnuplot_write(&f, &sp, NULL, 0), TP_OK);
    gp = slurp(f.script);
    assert_non_null(strstr(gp, "set terminal svg"));
    assert_non_null(strstr(gp, "no data"));
    free(gp);
    th_rmtree(dir);
    free(dir);
}

static void test_run_gnuplot(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        fprintf(stderr, "skip: gnuplot is not installed (apt-get install gnuplot-nox)\n");
        skip();
    }
    char *dir = th_tempdir("gnuplot");
    char out[4200];
    ChartSpec sp;
    ChartSeries s[3];
    spec_ppl(&sp, s);
    GnuplotFiles f;
    snprintf(out, sizeof out, "%s/ppl.png", dir);
    TpStatus st = gnuplot_plot(&f, out, &sp, s, 3);
    if (st != TP_OK) fprintf(stderr, "%s\n", err_msg());
    assert_int_equal(st, TP_OK);
    char *png = slurp(out);
    assert_non_null(png);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    free(png);
    struct stat sb;
    assert_int_equal(stat(f.script, &sb), 0); /* the script is kept */

    snprintf(out, sizeof out, "%s/empty.svg", dir);
    chart_spec_init(&sp);
    sp.title = "nothing yet";
    st = gnuplot_plot(&f, out, &sp, NULL, 0);
    if (st != TP_OK) fprintf(stderr, "%s\n", err_msg());
    assert_int_equal(st, TP_OK);
    char *svg = slurp(out);
    assert_non_null(strstr(svg, "<svg"));
    free(svg);

    /* a broken script: gnuplot's complaint comes back in the message */
    static const char bad[] = "set terminal svg\nset output 'x.svg'\nplot sin(x) with nonsense\n";
    assert_int_equal(th_write_file(f.script, bad, strlen(bad)), 0);
    st = gnuplot_run(&f);
    assert_int_equal(st, TP_EIO);
    assert_non_null(strstr(err_msg(), "failed"));
    assert_non_null(strstr(err_msg(), "nonsense"));
    th_rmtree(dir);
    free(dir);
}

static void test_gnuplot_missing(void **state)
{
    (void)state;
    char *dir = th_tempdir("gnuplot");
    char empty[4200], out[4200];
    snprintf(empty, sizeof empty, "%s/emptybin", dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", empty, 1);
    ChartSpec sp;
    ChartSeries s[3];
    spec_ppl(&sp, s);
    GnuplotFiles f;
    snprintf(out, sizeof out, "%s/ppl.png", dir);
    TpStatus st = gnuplot_plot(&f, out, &sp, s, 3);
    if (old) setenv("PATH", old, 1);
    else unsetenv("PATH");
    free(old);
    assert_int_equal(st, TP_ENOTAVAIL);
    assert_non_null(strstr(err_msg(), "apt-get install gnuplot-nox"));
    struct stat sb;
    assert_int_equal(stat(f.script, &sb), 0); /* written anyway, to run later */
    th_rmtree(dir);
    free(dir);
}

static void test_unwritable_directory(void **state)
{
    (void)state;
    ChartSpec sp;
    chart_spec_init(&sp);
    GnuplotFiles f;
    assert_int_equal(gnuplot_plot(&f, "/nonexistent-topiary-dir/x.png", &sp, NULL, 0), TP_EIO);
    assert_non_null(strstr(err_msg(), "/nonexistent-topiary-dir/x.data.tsv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),           cmocka_unit_test(test_written_files),
        cmocka_unit_test(test_run_gnuplot),     cmocka_unit_test(test_gnuplot_missing),
        cmocka_unit_test(test_unwritable_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
