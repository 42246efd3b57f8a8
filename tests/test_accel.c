/* tests/test_accel: the analytical accelerator model — its staircase has its steps exactly at the tile
 * boundaries chosen, is flat inside a tile, and the hysteresis analysis finds exactly those edges; the
 * tile and cycle counts; row-balanced sparsity below dense; weights leaving the on-chip buffer; the
 * explanations; H-LSTM; the parameter file (the shipped default equals the compiled-in one, unknown
 * keys and bad values are refused). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/accel.h"
#include "engine/hysteresis.h"
#include "engine/latency.h"

/* 64x64 array, 64 vector lanes, everything resident: LSTM with I = H = d has
 * ceil(2d/64) row tiles, ceil(4d/64) column tiles and ceil(d/64) vector groups, all constant on
 * (16(m-1), 16m]: the steps come right after every multiple of 16. */
static void small_params(AccelParams *p)
{
    accel_defaults(p);
    p->rows = p->cols = 64;
    p->vector_lanes = 64;
    p->vector_cycles = 1;
    p->sram_kib = 1e6;
    p->weight_load_cycles = 64;
    p->tile_fill_cycles = 127;
    p->step_overhead_cycles = 100;
}

static double lstm_us(const AccelParams *p, int d, double sparsity, int row)
{
    AccelLayer l = {ACCEL_LSTM, d, d, 0, 1, 1, sparsity, row};
    AccelBreakdown b;
    assert_int_equal(accel_layer(&b, p, &l), TP_OK);
    return b.us;
}

static void test_steps_at_tile_boundaries(void **state)
{
    (void)state;
    AccelParams p;
    small_params(&p);
    for (int d = 8; d <= 256; d += 4) {
        double prev = lstm_us(&p, d - 4, 0, 0), cur = lstm_us(&p, d, 0, 0);
        if ((d - 4) % 16 == 0) assert_true(cur > prev); /* crossing a boundary: a step up  */
        else assert_true(cur == prev);                  /* inside a tile: flat             */
    }
    int sizes[64], n = 0;
    for (int d = 4; d <= 256; d += 4) sizes[n++] = d;
    AccelLayer proto = {ACCEL_LSTM, 0, 0, 0, 1, 1, 0, 0};
    LatencyCurve c;
    assert_int_equal(accel_curve(&c, &p, &proto, sizes, n), TP_OK);
    assert_string_equal(c.protocol, "model");
    assert_string_equal(c.backend, "accel");
    HystSeries s = {c.n, c.hidden, c.median_us, c.p10_us, c.p90_us};
    HystOptions o = {0.0, 5, 0};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &o), TP_OK);
    assert_int_equal(a.n_points, 15); /* 16, 32, ..., 240; 256 ends the range */
    for (int i = 0; i < a.n_points; i++) assert_int_equal(c.hidden[a.points[i].index], 16 * (i + 1));
    assert_int_equal(a.n_jumps, 0); /* a staircase: never non-monotonic */
    for (int i = 1; i < c.n; i++) assert_true(c.median_us[i] >= c.median_us[i - 1]);
    hysteresis_free(&a);
    latency_curve_free(&c);
}

static void test_tile_counts_and_cycles(void **state)
{
    (void)state;
    AccelParams p;
    small_params(&p);
    AccelLayer l = {ACCEL_LSTM, 100, 100, 0, 3, 2, 0, 0};
    AccelBreakdown b;
    assert_int_equal(accel_layer(&b, &p, &l), TP_OK);
    assert_int_equal(b.n_gemms, 1);
    assert_int_equal(b.g[0].N, 400);
    assert_int_equal(b.g[0].K, 200);
    assert_int_equal(b.g[0].k_tiles, 4); /* ceil(200/64) */
    assert_int_equal(b.g[0].n_tiles, 7); /* ceil(400/64) */
    assert_true(b.g[0].compute_cycles == 28.0 * (64 + 3 + 127));
    assert_true(b.g[0].memory_cycles == 0.0);
    assert_true(b.g[0].bytes == 400.0 * 200.0);
    assert_true(b.vector_cycles == 5.0); /* ceil(3*100/64) groups, 1 cycle each */
    double step = 28.0 * (64 + 3 + 127) + 5.0 + 100.0;
    assert_true(b.step_cycles == step);
    assert_true(fabs(b.us - 2 * step / p.clock_mhz) < 1e-9); /* T = 2 steps */
    l.H = 0;
    assert_int_equal(accel_layer(&b, &p, &l), TP_EINVAL);
    l.H = 100;
    l.sparsity = 0.5; /* unstructured sparsity is not modelled */
    assert_int_equal(accel_layer(&b, &p, &l), TP_ENOTAVAIL);
}

static void test_row_balanced_below_dense(void **state)
{
    (void)state;
    AccelParams p;
    accel_defaults(&p);
    for (int d = 16; d <= 1536; d += 8) {
        double dense = lstm_us(&p, d, 0, 0), sparse = lstm_us(&p, d, 0.75, 1);
        assert_true(sparse <= dense);
        if (2 * d > p.rows) assert_true(sparse < dense); /* fewer row tiles once the dense K needs several */
    }
    /* k = ceil(0.25 * 2d) weights per row, each with an 8-bit index */
    AccelLayer l = {ACCEL_LSTM, 512, 512, 0, 1, 1, 0.75, 1};
    AccelBreakdown b;
    assert_int_equal(accel_layer(&b, &p, &l), TP_OK);
    assert_int_equal(b.g[0].k, 256);
    assert_int_equal(b.g[0].k_tiles, 2);
    assert_true(b.g[0].bytes == 2048.0 * 256 * 2.0);
}

static void test_buffer_and_explanations(void **state)
{
    (void)state;
    AccelParams p;
    accel_defaults(&p); /* 8 MiB buffer: an int8 LSTM of 8 d^2 bytes fits up to d = 1024 */
    AccelLayer la = {ACCEL_LSTM, 1024, 1024, 0, 1, 1, 0, 0}, lb = la;
    lb.I = lb.H = 1032;
    AccelBreakdown a, b;
    assert_int_equal(accel_layer(&a, &p, &la), TP_OK);
    assert_int_equal(accel_layer(&b, &p, &lb), TP_OK);
    assert_true(a.g[0].streamed_bytes == 0.0);
    assert_true(b.g[0].streamed_bytes > 0.0);
    assert_true(b.g[0].memory_bound_tiles > 0);
    char why[512];
    accel_explain(why, sizeof why, &p, &la, &a, &lb, &b);
    assert_non_null(strstr(why, "no longer fit"));
    assert_non_null(strstr(why, "columns")); /* 4H 4096 -> 4128 crosses 32 x 128 too */

    /* 32 -> 40: 4H = 128 -> 160 crosses the 128 columns; 40 -> 48: inside the tile */
    la.I = la.H = 32;
    lb.I = lb.H = 40;
    assert_int_equal(accel_layer(&a, &p, &la), TP_OK);
    assert_int_equal(accel_layer(&b, &p, &lb), TP_OK);
    accel_explain(why, sizeof why, &p, &la, &a, &lb, &b);
    assert_non_null(strstr(why, "outputs N 128 -> 160 cross a multiple of the 128 columns: column tiles 1 -> 2"));
    la = lb;
    lb.I = lb.H = 48;
    assert_int_equal(accel_layer(&a, &p, &la), TP_OK);
    assert_int_equal(accel_layer(&b, &p, &lb), TP_OK);
    assert_true(a.us == b.us);
    accel_explain(why, sizeof why, &p, &la, &a, &lb, &b);
    assert_non_null(strstr(why, "inside one tile"));
}

static void test_hlstm_steps(void **state)
{
    (void)state;
    AccelParams p;
    small_params(&p);
    /* M = 64 fixed: fc1 K = 2d steps every 32, fc2 N = d and the gate maths every 64 */
    int sizes[64], n = 0;
    for (int d = 4; d <= 256; d += 4) sizes[n++] = d;
    AccelLayer proto = {ACCEL_HLSTM, 0, 0, 64, 1, 1, 0, 0};
    LatencyCurve c;
    assert_int_equal(accel_curve(&c, &p, &proto, sizes, n), TP_OK);
    assert_string_equal(c.run, "model-hlstm-M64");
    HystSeries s = {c.n, c.hidden, c.median_us, c.p10_us, c.p90_us};
    HystOptions o = {0.0, 5, 0};
    HystAnalysis a;
    assert_int_equal(hysteresis_analyze(&a, &s, &o), TP_OK);
    assert_int_equal(a.n_points, 7);
    for (int i = 0; i < a.n_points; i++) assert_int_equal(c.hidden[a.points[i].index], 32 * (i + 1));
    hysteresis_free(&a);
    latency_curve_free(&c);
    AccelLayer l = {ACCEL_HLSTM, 100, 100, 0, 1, 1, 0, 0};
    AccelBreakdown b;
    assert_int_equal(accel_layer(&b, &p, &l), TP_EINVAL); /* M = 0 */
}

static void test_params_file(void **state)
{
    (void)state;
    AccelParams def, p;
    accel_defaults(&def);
    /* the shipped default file equals the compiled-in default (tests run from the repository root) */
    assert_int_equal(accel_params_load(&p, "data/accel-default.json"), TP_OK);
    assert_memory_equal(&p, &def, sizeof p);
    assert_int_equal(accel_params_parse(&p, "{\"rows\": 32, \"_note\": \"ignored\", \"dram_gbps\": 12.8}"), TP_OK);
    assert_int_equal(p.rows, 32);
    assert_true(p.dram_gbps == 12.8);
    assert_int_equal(p.cols, def.cols);
    assert_int_equal(accel_params_parse(&p, "{\"rowz\": 32}"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "unknown key \"rowz\""));
    assert_int_equal(accel_params_parse(&p, "{\"rows\": 32.5}"), TP_EFORMAT);
    assert_int_equal(accel_params_parse(&p, "{\"rows\": 0}"), TP_ERANGE);
    assert_int_equal(accel_params_parse(&p, "[1,2]"), TP_EFORMAT);
    assert_int_equal(accel_params_load(&p, "/nonexistent/accel.json"), TP_ENOENT);
    char d[600];
    accel_describe(&def, d, sizeof d);
    assert_non_null(strstr(d, "array=128x128"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_at_tile_boundaries),
        cmocka_unit_test(test_tile_counts_and_cycles),
        cmocka_unit_test(test_row_balanced_below_dense),
        cmocka_unit_test(test_buffer_and_explanations),
        cmocka_unit_test(test_hlstm_steps),
        cmocka_unit_test(test_params_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
