/* tests/test_gpstate: sessions/gpstate, the grow-and-prune state and its record in manifest.json.
 *
 * A schedule with progress written by gpstate_to_json must come back field for field from
 * gpstate_from_json (phase, counters, ppl values bit-exact, last event, params, the last good copy
 * allocated); no schedule writes nothing and reads back as none; a bad kind is refused.
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

#include "engine/rng.h"
#include "sessions/gpstate.h"

static void small_model(Model *m)
{
    ModelConfig c = {.n_vocab = 10, .n_embed = 4, .n_layers = 1, .hidden = {4}, .init_scale = 0.1f};
    Rng r;
    rng_seed(&r, 1);
    assert_int_equal(model_init(m, &c, &r), TP_OK);
}

static void test_round_trip(void **state)
{
    (void)state;
    Model m;
    small_model(&m);
    GpState a = {0}, b = {0};
    assert_int_equal(gpstate_init(&a, &m), TP_OK);
    assert_int_equal(gpstate_init(&b, &m), TP_OK);
    ScheduleConfig sc = schedule_config_default(SCHEDULE_GP);
    sc.every = 7;
    assert_int_equal(gpstate_schedule_set(&a, &sc), TP_OK);
    snprintf(a.params, sizeof a.params, "l0.*");
    snprintf(a.last_event, sizeof a.last_event, "pruned 10%%");
    a.sched_events = 3;
    a.sched.n_prunes = 2;
    a.sched.cycle = 1;
    a.sched.best_ppl = 1.0 / 3.0;
    a.acc.n_batches = 2;
    cJSON *man = cJSON_CreateObject();
    gpstate_to_json(&a, m.n_params, man);
    char *txt = cJSON_Print(man);
    cJSON *back = cJSON_Parse(txt);
    int acc = -1;
    assert_int_equal(gpstate_from_json(&b, &m, back, "dir", &acc), TP_OK);
    assert_int_equal(b.sched.cfg.kind, SCHEDULE_GP);
    assert_int_equal(b.sched.cfg.every, 7);
    assert_string_equal(b.params, "l0.*");
    assert_string_equal(b.last_event, "pruned 10%");
    assert_int_equal(b.sched_events, 3);
    assert_int_equal(b.sched.n_prunes, 2);
    assert_int_equal(b.sched.cycle, 1);
    assert_true(b.sched.best_ppl == 1.0 / 3.0);
    assert_int_equal(acc, 2);
    free(txt);
    cJSON_Delete(man);
    cJSON_Delete(back);
    gpstate_free(&a);
    gpstate_free(&b);
    model_free(&m);
}

static void test_no_schedule_and_bad_kind(void **state)
{
    (void)state;
    Model m;
    small_model(&m);
    GpState g = {0};
    assert_int_equal(gpstate_init(&g, &m), TP_OK);
    cJSON *man = cJSON_CreateObject();
    gpstate_to_json(&g, m.n_params, man);
    assert_null(cJSON_GetObjectItemCaseSensitive(man, "schedule"));
    int acc = -1;
    assert_int_equal(gpstate_from_json(&g, &m, man, "dir", &acc), TP_OK);
    assert_int_equal(g.sched.cfg.kind, SCHEDULE_OFF);
    assert_int_equal(acc, 0);
    cJSON *sj = cJSON_AddObjectToObject(man, "schedule");
    cJSON_AddStringToObject(sj, "kind", "sometimes");
    assert_int_equal(gpstate_from_json(&g, &m, man, "dir", &acc), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "dir/manifest.json: schedule.kind"));
    cJSON_Delete(man);
    gpstate_free(&g);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_schedule_and_bad_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
