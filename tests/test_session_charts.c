/* tests/test_session_charts: the named charts of `topiary plot` from a session directory's metrics.tsv
 * and latency.tsv (DESIGN 2.3): series chosen, sparse columns joined, backwards steps broken, the
 * latency curve(s), and the errors (unknown name, missing file, missing column, torn line). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/helpers.h"
#include "sessions/session_charts.h"

static const char METRICS[] =
    "step\tepoch\tlr\ttrain_loss\ttrain_ppl\tvalid_ppl\tnnz\tparams\tsparsity\tstate_sparsity\tlatency_us\t"
    "tokens_per_s\tseconds\n"
    "100\t1\t1\t3.4\t30\tNaN\t1000\t1000\t0\tNaN\tNaN\t7000\t10\n"
    "200\t1\t1\t2.7\t15\t14\t900\t1000\t0.1\tNaN\tNaN\t7100\t20\n"
    "300\t2\t0.5\t2.4\t11\tNaN\t800\t1000\t0.2\tNaN\tNaN\t7200\t30\n"
    "200\t2\t0.5\t2.5\t12\tNaN\t900\t1000\t0.1\tNaN\tNaN\t7300\t40\n" /* after an undo */
    "400\t2\t0.5\t2.2\t9\t9.5\t700\t1000\t0.3\tNaN\tNaN\t7400\t50\n";

/* Issue 14, item 4: both sparsity figures, named, in % (the TUI draws the same title). */
static const char METRICS_NEW[] =
    "step\tepoch\tlr\ttrain_loss\ttrain_ppl\tvalid_ppl\tnnz\tparams\tsparsity\tstate_sparsity\tlatency_us\t"
    "tokens_per_s\tseconds\tmatrix_sparsity\n"
    "100\t1\t1\t3.4\t30\tNaN\t1000\t1000\t0\tNaN\tNaN\t7000\t10\t0\n"
    "100\t1\t1\tNaN\tNaN\tNaN\t900\t1000\t0.0907\tNaN\tNaN\tNaN\t10\t0.657\n";

static char *make_session(const char *metrics, const char *latency);
static void done(char *dir);

static void test_sparsity_chart_names_both(void **state)
{
    (void)state;
    char *dir = make_session(METRICS_NEW, NULL);
    SessionChart c;
    assert_int_equal(session_charts_load(&c, dir, "sparsity"), TP_OK);
    assert_int_equal(c.n_series, 2);
    assert_string_equal(c.series[0].name, "model");
    assert_string_equal(c.series[1].name, "prunable matrices");
    assert_true(fabs(c.series[0].y[1] - 9.07) < 1e-9 && fabs(c.series[1].y[1] - 65.7) < 1e-9);
    assert_string_equal(c.spec.y_label, "sparsity (%)");
    session_charts_free(&c);
    done(dir);
}

static char *make_session(const char *metrics, const char *latency)
{
    char *dir = th_tempdir("charts"), p[4200];
    if (metrics) {
        snprintf(p, sizeof p, "%s/metrics.tsv", dir);
        assert_int_equal(th_write_file(p, metrics, strlen(metrics)), 0);
    }
    if (latency) {
        snprintf(p, sizeof p, "%s/latency.tsv", dir);
        assert_int_equal(th_write_file(p, latency, strlen(latency)), 0);
    }
    return dir;
}

static void done(char *dir)
{
    th_rmtree(dir);
    free(dir);
}

static void test_metric_charts(void **state)
{
    (void)state;
    char *dir = make_session(METRICS, NULL);
    SessionChart c;
    assert_int_equal(session_charts_load(&c, dir, "ppl"), TP_OK);
    assert_int_equal(c.n_series, 2);
    assert_int_equal(c.spec.log_y, 1);
    assert_string_equal(c.series[0].name, "train_ppl");
    /* train: 5 rows plus one NaN break where the step goes back */
    assert_int_equal(c.series[0].n, 6);
    assert_true(c.series[0].x[2] == 300 && isnan(c.series[0].y[3]) && c.series[0].x[4] == 200);
    /* valid: only the measured rows, joined */
    assert_int_equal(c.series[1].n, 2);
    assert_true(c.series[1].x[0] == 200 && c.series[1].y[1] == 9.5);
    assert_int_equal(c.torn, 0);
    session_charts_free(&c);

    assert_int_equal(session_charts_load(&c, dir, "loss"), TP_OK);
    assert_int_equal(c.n_series, 2);
    assert_true(fabs(c.series[1].y[0] - log(14.0)) < 1e-12);
    session_charts_free(&c);

    /* an older file without matrix_sparsity, state_sparsity never measured: the model's alone, in % */
    assert_int_equal(session_charts_load(&c, dir, "sparsity"), TP_OK);
    assert_int_equal(c.n_series, 1);
    assert_string_equal(c.series[0].name, "model");
    assert_true(fabs(c.series[0].y[1] - 10.0) < 1e-9);
    assert_string_equal(c.spec.y_label, "sparsity (%)");
    assert_string_equal(c.spec.title, SESSION_CHART_SPARSITY_TITLE);
    session_charts_free(&c);

    static const char *const names[] = {"nnz", "lr", "tokens"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(session_charts_load(&c, dir, names[k]), TP_OK);
        assert_true(c.n_series >= 1 && c.series[0].n == 6);
        CanvasText t; /* and it renders */
        assert_int_equal(chart_render(&t, &c.spec, c.series, c.n_series, 60, 15), TP_OK);
        canvas_text_free(&t);
        session_charts_free(&c);
    }
    done(dir);
}

static void test_errors(void **state)
{
    (void)state;
    SessionChart c;
    char *dir = make_session(NULL, NULL);
    assert_int_equal(session_charts_load(&c, dir, "accuracy"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "ppl, loss, sparsity, nnz, lr, tokens, latency"));
    assert_int_equal(session_charts_load(&c, dir, "ppl"), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "metrics.tsv"));
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "latency.tsv"));
    done(dir);

    dir = make_session("step\tloss\n1\t2\n", "backend\thidden\n");
    assert_int_equal(session_charts_load(&c, dir, "ppl"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "no column 'train_ppl'"));
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "no column 'threads'"));
    done(dir);

    dir = make_session("step\ttrain_ppl\n1\t2\n2\tbad\n", NULL);
    assert_int_equal(session_charts_load(&c, dir, "ppl"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "line 3"));
    done(dir);

    dir = make_session("step\ttrain_ppl\n1\t2\n2\t1.", NULL); /* torn: ignored, reported */
    assert_int_equal(session_charts_load(&c, dir, "ppl"), TP_OK);
    assert_int_equal(c.torn, 1);
    assert_int_equal(c.series[0].n, 1);
    session_charts_free(&c);
    done(dir);
}

#define LAT_HEAD "backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us\tinput\trun\n"

static void test_latency(void **state)
{
    (void)state;
    /* one curve, rows out of order and one size measured twice (the later row wins) */
    char *dir = make_session(NULL, LAT_HEAD "cpu\t2\t1\t1\t128\t0\tdense\t20\t18\t25\t0\tr1\n"
                                           "cpu\t2\t1\t1\t64\t0\tdense\t10\t9\t12\t0\tr1\n"
                                           "cpu\t2\t1\t1\t128\t0\tdense\t21\t19\t26\t0\tr2\n");
    SessionChart c;
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_OK);
    assert_int_equal(c.n_series, 3);
    assert_string_equal(c.series[0].name, "median");
    assert_int_equal(c.series[0].n, 2);
    assert_true(c.series[0].x[0] == 64 && c.series[0].x[1] == 128 && c.series[0].y[1] == 21);
    assert_true(c.series[1].y[0] == 9 && c.series[2].y[1] == 26);
    assert_non_null(strstr(c.title, "cpu"));
    session_charts_free(&c);
    done(dir);

    /* two conditions: one median curve each */
    dir = make_session(NULL, LAT_HEAD "cpu\t2\t1\t1\t64\t0\tdense\t10\t9\t12\t0\tr1\n"
                                      "cpu\t2\t1\t1\t64\t0.9\tcsr\t4\t3\t5\t0\tr1\n"
                                      "cpu\t2\t1\t1\t128\t0.9\tcsr\t6\t5\t7\t0\tr1\n");
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_OK);
    assert_int_equal(c.n_series, 2);
    assert_int_equal(c.series[1].n, 2);
    assert_non_null(strstr(c.series[1].name, "csr"));
    session_charts_free(&c);
    done(dir);

    /* marks: the model's layers (task.hidden of the manifest) and the hysteresis point of a staircase
     * (64: the right edge of the plateau before the step to 80), as the Latency screen shows them */
    dir = make_session(NULL, LAT_HEAD "cpu\t1\t1\t1\t32\t0\tdense\t10\t9.9\t10.1\t0\tr1\n"
                                      "cpu\t1\t1\t1\t48\t0\tdense\t10.05\t9.95\t10.15\t0\tr1\n"
                                      "cpu\t1\t1\t1\t64\t0\tdense\t10.1\t10\t10.2\t0\tr1\n"
                                      "cpu\t1\t1\t1\t80\t0\tdense\t20\t19.8\t20.2\t0\tr1\n"
                                      "cpu\t1\t1\t1\t96\t0\tdense\t20.1\t19.9\t20.3\t0\tr1\n");
    char mp[4200];
    snprintf(mp, sizeof mp, "%s/manifest.json", dir);
    const char *man = "{\"task\": {\"hidden\": [60, 90]}}";
    assert_int_equal(th_write_file(mp, man, strlen(man)), 0);
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_OK);
    int layers = 0, points = 0;
    for (int i = 0; i < c.spec.n_markers; i++) {
        const ChartMarker *m = &c.spec.markers[i];
        if (m->kind == CHART_MARK_VLINE) {
            assert_true(m->x == (layers == 0 ? 60 : 90));
            assert_string_equal(m->label, layers == 0 ? "l0" : "l1");
            layers++;
        } else {
            assert_true(m->x == 64 && m->y == 10.1);
            points++;
        }
    }
    assert_int_equal(layers, 2);
    assert_int_equal(points, 1);
    session_charts_free(&c);
    done(dir);

    /* a header alone: a chart with no data */
    dir = make_session(NULL, LAT_HEAD);
    assert_int_equal(session_charts_load(&c, dir, "latency"), TP_OK);
    assert_int_equal(c.n_series, 0);
    session_charts_free(&c);
    done(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_charts),
        cmocka_unit_test(test_sparsity_chart_names_both),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_latency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
