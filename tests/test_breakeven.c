/* tests/test_breakeven: the measured cost model (engine/breakeven).  breakeven_best takes the fastest
 * variant (layout x vector path x threads) of an injected table, never an unmeasured one (NaN) nor
 * a threaded one without threads, ties to the better ISA; the cache file round-trips (format v3:
 * per ISA and thread count) and an older format is refused (so it is measured again); a real
 * measurement at one small size fills every variant this CPU has and saves/loads; a measurement
 * beside two processes that spin (real ones) is used but not cached, and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/breakeven.h"
#include "tests/helpers.h"

static void test_best_variant(void **state)
{
    (void)state;
    Breakeven be;
    breakeven_default(&be);
    const double D = be.bytes[0];
    BreakevenChoice c = breakeven_best(&be, SPARSE_CSR, D, 0.1);
    assert_int_equal(c.isa, sparse_isa()); /* all alike: the CPU's best, one thread */
    assert_int_equal(c.threads, 1);
    assert_true(fabs(c.cost - 0.35) < 1e-9);
    /* the best path measured slow: scalar taken */
    for (int i = 1; i < SPARSE_N_ISAS; i++) be.a[0][SPARSE_CSR][i][0] = 0.9, be.b[0][SPARSE_CSR][i][0] = 5.0;
    c = breakeven_best(&be, SPARSE_CSR, D, 0.1);
    assert_int_equal(c.isa, SPARSE_ISA_SCALAR);
    assert_true(fabs(breakeven_cost(&be, SPARSE_CSR, D, 0.1) - 0.35) < 1e-9);
    /* a threaded variant, not usable without threads, then taken */
    be.a[0][SPARSE_CSR][SPARSE_ISA_SCALAR][1] = 0.01, be.b[0][SPARSE_CSR][SPARSE_ISA_SCALAR][1] = 0.5;
    assert_int_equal(breakeven_best(&be, SPARSE_CSR, D, 0.1).threads, 1);
    be.threads = 3;
    c = breakeven_best(&be, SPARSE_CSR, D, 0.1);
    assert_int_equal(c.threads, 3);
    char name[64];
    breakeven_choice_name(&c, name, sizeof name);
    assert_string_equal(name, "csr/scalar/3t");
    /* a fit whose time falls as density rises (a measurement spoiled by load) is never picked, even
     * where it predicts almost nothing: at 100 % density it said "0.00x dense" */
    be.a[0][SPARSE_CSR][SPARSE_ISA_SCALAR][1] = 8.8, be.b[0][SPARSE_CSR][SPARSE_ISA_SCALAR][1] = -19.0;
    assert_true(breakeven_variant_cost(&be, SPARSE_CSR, SPARSE_ISA_SCALAR, 1, D, 1.0) == INFINITY);
    c = breakeven_best(&be, SPARSE_CSR, D, 1.0);
    assert_int_equal(c.threads, 1);
    assert_true(c.cost > 1.0); /* so a dense matrix stays dense */
    /* unmeasured: never */
    be.a[0][SPARSE_CSR][SPARSE_ISA_SCALAR][1] = NAN;
    be.a[0][SPARSE_CSR][SPARSE_ISA_SCALAR][0] = NAN;
    c = breakeven_best(&be, SPARSE_CSR, D, 0.1);
    assert_int_not_equal(c.isa, SPARSE_ISA_SCALAR);
    assert_true(breakeven_variant_cost(&be, SPARSE_CSR, SPARSE_ISA_SCALAR, 0, D, 0.1) == INFINITY);
    assert_true(breakeven_cost(&be, SPARSE_DENSE, D, 0.1) == 1.0);
    char buf[2048];
    breakeven_describe(&be, buf, sizeof buf);
    assert_non_null(strstr(buf, "bsr16x1"));
}

static void test_cache_round_trip_and_measure(void **state)
{
    (void)state;
    char *dir = th_tempdir("breakeven");
    char path[4200];
    snprintf(path, sizeof path, "%s/be.tsv", dir);
    Breakeven be, back;
    static const int H[] = {32};
    assert_int_equal(breakeven_measure(&be, H, 1), TP_OK);
    assert_int_equal(be.measured, 1);
    for (int isa = 0; isa < SPARSE_N_ISAS; isa++) /* every path the CPU has, for every layout */
        for (int k = 1; k < SPARSE_N_KINDS; k++)
            assert_true(isfinite(be.a[0][k][isa][0]) == sparse_isa_available((SparseIsa)isa));
    assert_int_equal(breakeven_save(&be, path), TP_OK);
    assert_int_equal(breakeven_load(&back, path), TP_OK);
    assert_int_equal(back.threads, be.threads);
    assert_string_equal(back.fingerprint, be.fingerprint);
    for (int isa = 0; isa < SPARSE_N_ISAS; isa++)
        for (int k = 1; k < SPARSE_N_KINDS; k++)
            for (int t = 0; t < 2; t++)
                if (isfinite(be.a[0][k][isa][t])) assert_true(fabs(back.a[0][k][isa][t] - be.a[0][k][isa][t]) <= 1e-5 * fabs(be.a[0][k][isa][t]) + 1e-9);
                else assert_true(isnan(back.a[0][k][isa][t]));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# topiary sparse break-even v2\nfingerprint\tx\n32\t16384\t1.0\tcsr\t0.1\t3\t0.3\n", f);
    fclose(f);
    assert_int_equal(breakeven_load(&back, path), TP_EFORMAT); /* older format: measured again */
    th_rmtree(dir);
    free(dir);
}

/* The cache is shared by every later run on the machine: a model measured while other work ran
 * (found after a PTB training beside it had cached dense sgemv 230x slower than alone) must not
 * be saved. */
static void test_busy_measurement_not_cached(void **state)
{
    (void)state;
    if (isnan(clock_others_cpu_s())) skip(); /* no /proc/stat: nothing to tell busy from quiet */
    char *dir = th_tempdir("breakeven-busy");
    pid_t kid[2];
    for (int i = 0; i < 2; i++) {
        kid[i] = fork();
        assert_true(kid[i] >= 0);
        if (kid[i] == 0) { /* spin until killed (at most a minute) */
            alarm(60);
            volatile unsigned long x = 0;
            for (;;) x++;
        }
    }
    Breakeven be;
    int cached = 1;
    TpStatus st = breakeven_get(&be, dir, &cached);
    for (int i = 0; i < 2; i++) {
        kill(kid[i], SIGKILL);
        waitpid(kid[i], NULL, 0);
    }
    assert_int_equal(st, TP_OK);
    assert_int_equal(cached, 0);
    assert_int_equal(be.measured, 1);
    assert_true(be.others_share > BREAKEVEN_BUSY_SHARE);
    char path[4200], src[256];
    assert_int_equal(breakeven_cache_path(path, sizeof path, dir), TP_OK);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing cached */
    assert_non_null(strstr(breakeven_source(&be, 0, src, sizeof src), "not cached"));
    assert_string_equal(breakeven_source(&be, 1, src, sizeof src), "from the cache");
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_variant),
        cmocka_unit_test(test_cache_round_trip_and_measure),
        cmocka_unit_test(test_busy_measurement_not_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
