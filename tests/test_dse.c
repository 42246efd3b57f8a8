/* tests/test_dse: design-space exploration of the accelerator model (engine/dse) — the Pareto front of a
 * hand-made set of points (dominated points out, exact ties kept, equal area or equal latency), the
 * swept lists (ranges, and bad lists refused naming the item, the old list kept), the model read from
 * masks (dense, row-balanced, irregular; LSTM and H-LSTM), the sweep's sanity (more PEs never
 * slower; the dense model never faster than its 90 %-sparse version on the same design, and slower
 * on some), and the chosen design. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/status.h"
#include "engine/dse.h"
#include "engine/model.h"
#include "engine/prune.h"

/* ---- Pareto -------------------------------------------------------------------------------------- */

static void test_pareto_hand_made(void **state)
{
    (void)state;
    /*            0    1    2    3    4    5    6    7    8    9 */
    double x[] = {1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0, 5.0, NAN, 0.5};
    double y[] = {9.0, 5.0, 6.0, 5.0, 4.0, 4.0, 1.0, 1.0, 0.1, INFINITY};
    /* 0 smallest area: front.  1 (2,5): front.  2 (2,6): same area, slower than 1: out.
     * 3 (3,5): same latency as 1 at more area: out.  4 (3,4): front.  5 (4,4): out (4 dominates).
     * 6, 7 (5,1) twice: an exact tie, both kept.  8 NaN area, 9 infinite latency: never. */
    int expect[] = {1, 1, 0, 0, 1, 0, 1, 1, 0, 0};
    int front[10];
    assert_int_equal(dse_pareto(x, y, 10, front), 5);
    for (int i = 0; i < 10; i++) assert_int_equal(front[i], expect[i]);
    /* the order of the input does not matter */
    double rx[10], ry[10];
    int rfront[10];
    for (int i = 0; i < 10; i++) rx[i] = x[9 - i], ry[i] = y[9 - i];
    assert_int_equal(dse_pareto(rx, ry, 10, rfront), 5);
    for (int i = 0; i < 10; i++) assert_int_equal(rfront[i], expect[9 - i]);
    /* one point; all points equal: all kept */
    double one = 3.0, e[3] = {2, 2, 2};
    int f1, f3[3];
    assert_int_equal(dse_pareto(&one, &one, 1, &f1), 1);
    assert_int_equal(f1, 1);
    assert_int_equal(dse_pareto(e, e, 3, f3), 3);
    assert_int_equal(dse_pareto(e, e, 0, f3), 0);
}

/* Brute force against the sorted sweep on a grid with many ties. */
static void test_pareto_matches_brute_force(void **state)
{
    (void)state;
    enum { N = 300 };
    double x[N], y[N];
    int f[N];
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (double)((s >> 16) % 17);
        s = s * 1103515245u + 12345u;
        y[i] = (double)((s >> 16) % 13);
    }
    int n = dse_pareto(x, y, N, f), count = 0;
    for (int i = 0; i < N; i++) {
        int dominated = 0;
        for (int j = 0; j < N && !dominated; j++)
            dominated = x[j] <= x[i] && y[j] <= y[i] && (x[j] < x[i] || y[j] < y[i]);
        assert_int_equal(f[i], !dominated);
        count += f[i];
    }
    assert_int_equal(n, count);
}

/* ---- lists --------------------------------------------------------------------------------------- */

static void test_space_lists(void **state)
{
    (void)state;
    DseSpace s;
    dse_space_defaults(&s);
    assert_int_equal(dse_space_designs(&s), 5 * 5 * 4 * 3 * 1);
    assert_int_equal(dse_axis_find("sram-kib"), DSE_SRAM_KIB);
    assert_int_equal(dse_axis_find("clock_mhz"), DSE_CLOCK_MHZ);
    assert_int_equal(dse_axis_find("clock"), -1);
    assert_int_equal(dse_space_parse(&s, DSE_ROWS, "8,16:64:16,100"), TP_OK);
    double want[] = {8, 16, 32, 48, 64, 100};
    assert_int_equal(s.n[DSE_ROWS], 6);
    for (int i = 0; i < 6; i++) assert_true(s.v[DSE_ROWS][i] == want[i]);
    char buf[128];
    dse_space_format(&s, DSE_ROWS, buf, sizeof buf);
    assert_string_equal(buf, "8,16,32,48,64,100");
    assert_int_equal(dse_space_parse(&s, DSE_DRAM_GBPS, "12.8,25.6"), TP_OK);
    assert_int_equal(s.n[DSE_DRAM_GBPS], 2);
    assert_int_equal(dse_space_parse(&s, DSE_SRAM_KIB, "0"), TP_OK); /* no buffer: everything streams */

    static const struct {
        DseAxis a;
        const char *text, *msg;
    } BAD[] = {
        {DSE_ROWS, "", "rows: empty list"},
        {DSE_ROWS, "16,,32", "rows: empty item"},
        {DSE_ROWS, "16,", "rows: empty item"},
        {DSE_COLS, "sixteen", "cols: 'sixteen' is not a number"},
        {DSE_COLS, "0", "cols: 0 is out of range (expected 1..65536)"},
        {DSE_COLS, "16.5", "cols: 16.5 is not a whole number"},
        {DSE_ROWS, "16,32,16", "rows: 16 appears twice in the list"},
        {DSE_DRAM_GBPS, "0", "dram_gbps: 0 is out of range (expected > 0..1e+06)"},
        {DSE_CLOCK_MHZ, "-700", "clock_mhz: -700 is out of range"},
        {DSE_SRAM_KIB, "64:16:8", "sram_kib: range 64:16:8: expected A <= B and STEP > 0"},
        {DSE_SRAM_KIB, "16:64", "sram_kib: '16:64': a range is A:B:STEP"},
        {DSE_ROWS, "1:1000:1", "rows: range 1:1000:1 has more than 64 values"},
        {DSE_ROWS, "nan", "rows: 'nan' is not a number"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        DseSpace before = s;
        assert_int_equal(dse_space_parse(&s, BAD[i].a, BAD[i].text), TP_EINVAL);
        if (!strstr(err_msg(), BAD[i].msg)) fail_msg("'%s': got '%s', expected '%s'", BAD[i].text, err_msg(), BAD[i].msg);
        assert_memory_equal(&before, &s, sizeof s); /* nothing changed */
    }
}

/* ---- the model from its masks ------------------------------------------------------------------- */

static void make_model(Model *m, ModelCell cell, int H0, int H1)
{
    ModelConfig cfg = {.n_vocab = 12, .n_embed = 40, .n_layers = 2, .hidden = {H0, H1}, .init_scale = 0.3f,
                       .cell = cell, .gate_hidden = cell == MODEL_CELL_HLSTM ? 48 : 0};
    Rng r;
    rng_seed(&r, 7);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

static void prune(Model *m, PrunePattern pattern, double sparsity)
{
    PruneConfig c = prune_config_default();
    c.mode = PRUNE_SPARSITY;
    c.amount = sparsity;
    c.pattern = pattern;
    c.params = "l*";
    PruneResult r;
    assert_int_equal(prune_apply(m, NULL, &r, &c), TP_OK);
}

static void test_model_patterns(void **state)
{
    (void)state;
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 96, 80);
    DseModel dm;
    assert_int_equal(dse_model_from(&dm, &m, 1), TP_OK);
    assert_int_equal(dm.n_layers, 2);
    assert_int_equal(dm.l[0].pattern, DSE_DENSE);
    assert_int_equal(dm.l[0].dense.I, 40);
    assert_int_equal(dm.l[1].dense.I, 96);
    assert_int_equal(dm.l[1].dense.H, 80);
    assert_int_equal(dm.l[1].K, 96 + 80);
    assert_true(dm.l[1].density == 1.0);

    prune(&m, PRUNE_ROW, 0.9);
    assert_int_equal(dse_model_from(&dm, &m, 4), TP_OK);
    assert_int_equal(dm.batch, 4);
    for (int l = 0; l < 2; l++) {
        const DseLayer *d = &dm.l[l];
        assert_int_equal(d->pattern, DSE_ROW);
        assert_int_equal(d->k_min, d->k_max);
        /* w_ih and w_hh keep ceil(0.1 cols) each per row */
        int I = l ? 96 : 40, H = l ? 80 : 96;
        assert_int_equal(d->k_max, (I + 9) / 10 + (H + 9) / 10);
        assert_true(d->sparse.row_balanced);
        assert_true(fabs(d->sparse.sparsity - (1.0 - (double)d->k_max / d->K)) < 1e-12);
        assert_true(d->density < 0.12 && d->density > 0.09);
    }
    model_free(&m);

    make_model(&m, MODEL_CELL_LSTM, 96, 80);
    prune(&m, PRUNE_UNSTRUCTURED, 0.9);
    assert_int_equal(dse_model_from(&dm, &m, 1), TP_OK);
    for (int l = 0; l < 2; l++) {
        assert_int_equal(dm.l[l].pattern, DSE_IRREGULAR);
        assert_true(dm.l[l].k_min < dm.l[l].k_max);
        assert_true(dm.l[l].kept >= 1.0 - 0.9); /* padded to the densest row: never below the density */
    }
    model_free(&m);

    make_model(&m, MODEL_CELL_HLSTM, 64, 64);
    assert_int_equal(dse_model_from(&dm, &m, 1), TP_OK);
    assert_int_equal(dm.l[0].dense.cell, ACCEL_HLSTM);
    assert_int_equal(dm.l[0].dense.M, 48);
    assert_int_equal(dm.l[0].pattern, DSE_DENSE);
    prune(&m, PRUNE_ROW, 0.75);
    assert_int_equal(dse_model_from(&dm, &m, 1), TP_OK);
    assert_int_equal(dm.l[1].pattern, DSE_ROW);
    /* fc1 keeps ceil(0.25 * 128) = 32 of I + H = 128, fc2 ceil(0.25 * 48) = 12 of M = 48: equal fractions */
    assert_true(fabs(dm.l[1].kept - 0.25) < 1e-12);
    model_free(&m);
    assert_int_equal(dse_model_from(&dm, &m, 0), TP_EINVAL);
}

/* ---- the sweep ----------------------------------------------------------------------------------- */

static void sweep(DseResult *r, const DseSpace *s, const Model *m)
{
    AccelParams base;
    accel_defaults(&base);
    DseArea a;
    dse_area_defaults(&a);
    DseModel dm;
    assert_int_equal(dse_model_from(&dm, m, 1), TP_OK);
    assert_int_equal(dse_sweep(r, &base, s, &a, &dm), TP_OK);
    assert_int_equal((size_t)r->n, dse_space_designs(s));
}

/* Index of the design with these values (the enumeration order of dse.h). */
static int index_of(const DseSpace *s, const int idx[DSE_N_AXES])
{
    int k = 0;
    for (int a = 0; a < DSE_N_AXES; a++) k = k * s->n[a] + idx[a];
    return k;
}

/* For every design and every axis a in {rows, cols}: the next larger value is never slower, unless it
 * streams more weight bytes (counted in *exceptions); with no buffer or a buffer holding every
 * weight, never slower at all. */
static void check_more_pes_never_slower(const DseSpace *s, const DseResult *r, int *exceptions)
{
    int idx[DSE_N_AXES];
    for (int k = 0; k < r->n; k++) {
        int rest = k;
        for (int a = DSE_N_AXES - 1; a >= 0; a--) idx[a] = rest % s->n[a], rest /= s->n[a];
        for (int a = DSE_ROWS; a <= DSE_COLS; a++) {
            if (idx[a] + 1 >= s->n[a]) continue;
            int j[DSE_N_AXES];
            memcpy(j, idx, sizeof j);
            j[a]++;
            const DseDesign *small = &r->d[k], *big = &r->d[index_of(s, j)];
            assert_true(big->p.rows * big->p.cols > small->p.rows * small->p.cols);
            /* The one exception the model has: its buffer holds whole tiles, so a larger tile can leave
             * more weights streaming from DRAM (16 KiB holds one 256x64 int8 tile, no 256x128 one). */
            if (big->latency_us > small->latency_us && !(big->streamed_bytes > small->streamed_bytes))
                fail_msg("%s: %.6g us > %s: %.6g us", big->p.name, big->latency_us, small->p.name, small->latency_us);
            if (small->p.sram_kib == 0 || small->p.sram_kib >= 2048) /* all streamed, or all resident */
                assert_true(big->latency_us <= small->latency_us);
            *exceptions += big->latency_us > small->latency_us;
        }
    }
}

static void test_sweep_sanity(void **state)
{
    (void)state;
    DseSpace s;
    dse_space_defaults(&s);
    assert_int_equal(dse_space_parse(&s, DSE_SRAM_KIB, "0,16,64,128,2048"), TP_OK); /* partly resident too */
    Model dense, sparse;
    make_model(&dense, MODEL_CELL_LSTM, 200, 200);
    make_model(&sparse, MODEL_CELL_LSTM, 200, 200);
    prune(&sparse, PRUNE_ROW, 0.9);
    DseResult rd, rs;
    sweep(&rd, &s, &dense);
    sweep(&rs, &s, &sparse);
    int exceptions = 0;
    check_more_pes_never_slower(&s, &rd, &exceptions);
    check_more_pes_never_slower(&s, &rs, &exceptions);
    assert_true(exceptions > 0); /* the whole-tile buffer makes some: the check above is not vacuous */
    int faster = 0, sparse_used = 0;
    for (int i = 0; i < rd.n; i++) {
        assert_string_equal(rd.d[i].p.name, rs.d[i].p.name);
        assert_true(rd.d[i].area == rs.d[i].area);
        assert_true(rs.d[i].latency_us <= rd.d[i].latency_us); /* the dense model is never faster */
        faster += rs.d[i].latency_us < rd.d[i].latency_us;
        sparse_used += rs.d[i].sparse_layers > 0;
        assert_int_equal(rd.d[i].sparse_layers, 0);
    }
    assert_true(faster > rd.n / 2); /* and 90 % row-balanced sparsity pays on most designs */
    assert_true(sparse_used > 0);
    /* deterministic */
    DseResult again;
    sweep(&again, &s, &sparse);
    for (int i = 0; i < rs.n; i++) {
        assert_true(again.d[i].latency_us == rs.d[i].latency_us);
        assert_int_equal(again.d[i].pareto, rs.d[i].pareto);
    }
    /* H-LSTM too */
    Model h;
    make_model(&h, MODEL_CELL_HLSTM, 120, 120);
    DseResult rh;
    sweep(&rh, &s, &h);
    check_more_pes_never_slower(&s, &rh, &exceptions);
    dse_result_free(&rh);
    model_free(&h);
    dse_result_free(&again);
    dse_result_free(&rd);
    dse_result_free(&rs);
    model_free(&dense);
    model_free(&sparse);
}

static void test_choose_and_refusals(void **state)
{
    (void)state;
    DseSpace s;
    dse_space_defaults(&s);
    Model m;
    make_model(&m, MODEL_CELL_LSTM, 128, 128);
    DseResult r;
    sweep(&r, &s, &m);
    int c = dse_choose(&r, 0);
    assert_true(c >= 0 && r.d[c].pareto);
    for (int i = 0; i < r.n; i++)
        if (r.d[i].pareto) assert_true(r.d[c].area * r.d[c].latency_us <= r.d[i].area * r.d[i].latency_us);
    double budget = r.d[c].latency_us * 3;
    int b = dse_choose(&r, budget);
    assert_true(b >= 0 && r.d[b].latency_us <= budget && r.d[b].pareto);
    for (int i = 0; i < r.n; i++)
        if (r.d[i].latency_us <= budget) assert_true(r.d[b].area <= r.d[i].area);
    assert_int_equal(dse_choose(&r, 1e-6), -1); /* nothing that fast */
    dse_result_free(&r);

    AccelParams base;
    accel_defaults(&base);
    DseArea a;
    dse_area_defaults(&a);
    DseModel dm;
    assert_int_equal(dse_model_from(&dm, &m, 1), TP_OK);
    a.pe_mm2 = a.sram_mm2_per_kib = 0;
    assert_int_equal(dse_sweep(&r, &base, &s, &a, &dm), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "both 0"));
    dse_area_defaults(&a);
    assert_int_equal(dse_space_parse(&s, DSE_ROWS, "1:64:1"), TP_OK);
    assert_int_equal(dse_space_parse(&s, DSE_COLS, "1:64:1"), TP_OK);
    assert_int_equal(dse_space_parse(&s, DSE_SRAM_KIB, "1:64:1"), TP_OK);
    assert_int_equal(dse_sweep(&r, &base, &s, &a, &dm), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "at most"));
    assert_null(r.d);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pareto_hand_made),   cmocka_unit_test(test_pareto_matches_brute_force),
        cmocka_unit_test(test_space_lists),        cmocka_unit_test(test_model_patterns),
        cmocka_unit_test(test_sweep_sanity),       cmocka_unit_test(test_choose_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
