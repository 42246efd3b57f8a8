/* tests/test_profile_speech: the latency profile of a speech session, per second of audio
 * (sessions/profile_audio, the profile and recommend verbs on an an4 session, engine/latency's
 * "audio-" protocol marking): the factor 2 on a synthetic curve, the request a layer makes (seq = F
 * frames per second of audio, input = the layer's input width, the session's cell), the TSV/JSON
 * round trip; then on the real AN4 (../shared/data/an4, --max-utts 8; skipped when absent) tiny sweeps
 * through the verbs: the curve latency.tsv holds, the factor 2 against the accel model's own per-call
 * curve, recommend and apply=1, the H-LSTM refusal, what stays refused (dse, schedule hwgp). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "engine/asr.h"
#include "sessions/command.h"
#include "sessions/profile.h"
#include "sessions/session.h"
#include "sessions/writer.h"

static void test_scale(void **state)
{
    (void)state;
    LatencyCurve c;
    latency_curve_init(&c);
    snprintf(c.backend, sizeof c.backend, "cpu");
    snprintf(c.pattern, sizeof c.pattern, "dense");
    snprintf(c.protocol, sizeof c.protocol, "steady");
    snprintf(c.run, sizeof c.run, "r1");
    c.threads = c.batch = 1;
    c.seq = 50;
    c.input = 160;
    assert_int_equal(latency_curve_push(&c, 8, 10.0, 9.0, 12.5, 10.25, 3, 4), TP_OK);
    assert_int_equal(latency_curve_push(&c, 16, 20.0, 19.0, 21.0, 20.5, 3, 2), TP_OK);
    assert_false(latency_curve_is_audio(&c));
    assert_int_equal(profile_audio_scale(&c), TP_OK);
    assert_true(latency_curve_is_audio(&c));
    assert_string_equal(c.protocol, "audio-steady");
    assert_string_equal(latency_curve_base_protocol(&c), "steady");
    assert_false(latency_curve_is_model(&c));
    const double want[2][4] = {{20.0, 18.0, 25.0, 20.5}, {40.0, 38.0, 42.0, 41.0}};
    for (int i = 0; i < 2; i++) {
        assert_float_equal(c.median_us[i], want[i][0], 1e-12);
        assert_float_equal(c.p10_us[i], want[i][1], 1e-12);
        assert_float_equal(c.p90_us[i], want[i][2], 1e-12);
        assert_float_equal(c.mean_us[i], want[i][3], 1e-12);
    }
    assert_int_equal(c.n_inner[0], 4); /* counts are not times */
    assert_int_equal(profile_audio_scale(&c), TP_EINVAL); /* never twice */
    assert_float_equal(c.median_us[0], 20.0, 1e-12);
    char d[256];
    latency_curve_describe(&c, d, sizeof d);
    assert_non_null(strstr(d, "seq 50, input 160, dense, us per second of audio"));
    /* TSV: the same columns (a valid file for every reader), the protocol carries the unit */
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(latency_tsv_format(&c, 1, &buf, &len), TP_OK);
    LatencySet set;
    assert_int_equal(latency_tsv_parse(&set, buf, NULL), TP_OK);
    assert_int_equal(set.n, 1);
    assert_true(latency_curve_is_audio(&set.c[0]));
    assert_int_equal(set.c[0].seq, 50);
    assert_float_equal(set.c[0].median_us[1], 40.0, 1e-9);
    latency_set_free(&set);
    free(buf);
    /* JSON says the unit; an LM curve's JSON has no unit key (unchanged) */
    char *j = NULL;
    assert_int_equal(latency_json_format(&c, NULL, &j), TP_OK);
    assert_non_null(strstr(j, "\"unit\":\"us per second of audio\""));
    free(j);
    snprintf(c.protocol, sizeof c.protocol, "steady");
    assert_int_equal(latency_json_format(&c, NULL, &j), TP_OK);
    assert_null(strstr(j, "\"unit\""));
    free(j);
    /* a model curve stays exact (margin 0) once marked */
    snprintf(c.protocol, sizeof c.protocol, "model");
    assert_int_equal(profile_audio_scale(&c), TP_OK);
    assert_string_equal(c.protocol, "audio-model");
    assert_true(latency_curve_is_model(&c));
    HystAnalysis a;
    assert_int_equal(profile_analyze(&a, &c, 0.02, 0), TP_OK);
    assert_float_equal(a.margin, 0.0, 0);
    hysteresis_free(&a);
    latency_curve_free(&c);
}

static void test_request(void **state)
{
    (void)state;
    ModelConfig cfg = asr_config_default(40, 29, 2, 24);
    cfg.hidden[1] = 32;
    int F = profile_audio_frames(&cfg);
    assert_int_equal(F, asr_out_frames(&cfg, 100));
    assert_int_equal(F, 50); /* time stride 2 */
    ProfileRequest q;
    profile_request_defaults(&q);
    assert_int_equal(profile_audio_request(&q, &cfg, 0, 0, 0), TP_OK);
    assert_int_equal(q.seq, F);
    assert_int_equal(q.input, cfg.n_embed);
    assert_int_equal(q.batch, 1);
    assert_string_equal(q.cell, "lstm");
    assert_int_equal(q.bidir, 1); /* both directions timed, as the runtime runs them */
    profile_request_defaults(&q);
    assert_int_equal(q.bidir, 0); /* an LM's layer: one window */
    assert_int_equal(profile_audio_request(&q, &cfg, 1, 0, 0), TP_OK);
    assert_int_equal(q.input, 24);
    profile_request_defaults(&q);
    q.input = 7;
    q.seq = F;
    assert_int_equal(profile_audio_request(&q, &cfg, 1, 1, 1), TP_OK); /* given: kept */
    assert_int_equal(q.input, 7);
    q.seq = 10;
    assert_int_equal(profile_audio_request(&q, &cfg, 0, 1, 0), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "per second of audio"));
    assert_int_equal(profile_audio_request(&q, &cfg, 2, 0, 0), TP_ERANGE);
    cfg.conv[0].st = 4; /* a coarser front end: fewer frames per second */
    assert_int_equal(profile_audio_frames(&cfg), asr_out_frames(&cfg, 100));
    assert_true(profile_audio_frames(&cfg) < F);
    cfg.cell = MODEL_CELL_HLSTM;
    cfg.gate_hidden = 12;
    profile_request_defaults(&q);
    assert_int_equal(profile_audio_request(&q, &cfg, 0, 0, 0), TP_OK);
    assert_string_equal(q.cell, "hlstm");
    assert_int_equal(q.gate_hidden, 12);
}

/* ---- on the real AN4 ---- */

static const char *an4_dir(void)
{
    const char *p = th_shared_data("an4/etc/an4_test.fileids");
    return p ? th_shared_data("an4") : NULL;
}

static void speech_task(Task *t, const char *data, const char *cell)
{
    task_defaults(t);
    char *av[] = {"--cell", (char *)cell, "--gate-hidden", "8", "--hidden", "16", "--task", "an4", "--data", (char *)data,
                  "--max-utts", "8", "--batch", "4", "--epochs", "1", "--threads", "1"};
    int n = (int)(sizeof av / sizeof av[0]);
    for (int i = 0; i < n;) {
        int matched = 0;
        assert_int_equal(task_parse_arg(t, n, av, &i, &matched), TP_OK);
        assert_true(matched);
    }
}

static void run_ok(Session *s, const char *line, const char *expect)
{
    CommandResult r;
    TpStatus st = command_execute(s, line, &r);
    if (st != TP_OK) fail_msg("%s: %s", line, err_msg());
    if (expect && !strstr(r.text, expect)) fail_msg("%s: '%s' lacks '%s'", line, r.text, expect);
}

static void run_refused(Session *s, const char *line, const char *expect)
{
    CommandResult r;
    TpStatus st = command_execute(s, line, &r);
    if (st == TP_OK) fail_msg("%s: accepted on a speech session", line);
    if (!strstr(err_msg(), expect)) fail_msg("%s: '%s' lacks '%s'", line, err_msg(), expect);
}

static void newest(const char *dir, LatencyCurve *c)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/latency.tsv", dir);
    LatencySet set;
    if (latency_tsv_load(&set, p, NULL) != TP_OK) fail_msg("%s: %s", p, err_msg());
    assert_true(set.n >= 1);
    *c = set.c[set.n - 1];
    set.n--;
    latency_set_free(&set);
}

static void test_session(void **state)
{
    (void)state;
    const char *data = an4_dir();
    if (!data) { print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n"); skip(); return; }
    char *root = th_tempdir("profsp");
    char dir[4200], hdir[4200];
    snprintf(dir, sizeof dir, "%s/s", root);
    snprintf(hdir, sizeof hdir, "%s/h", root);
    Task t;
    speech_task(&t, data, "lstm");
    Session s;
    SessionWriter w;
    assert_int_equal(writer_create(&w, &s, dir, &t, "test"), TP_OK);
    const ModelConfig *cfg = &s.model.cfg;
    int F = profile_audio_frames(cfg);
    assert_true(F > 0);
    /* measured: a tiny sweep, one round */
    run_ok(&s, "profile sizes=8:16:8 reps=1 budget_s=1", "us per second of audio");
    LatencyCurve c;
    newest(dir, &c);
    assert_string_equal(c.protocol, "audio-steady");
    assert_string_equal(c.backend, "cpu");
    assert_int_equal(c.seq, F);
    assert_int_equal(c.input, cfg->n_embed);
    assert_int_equal(c.batch, 1);
    assert_int_equal(c.n, 2);
    assert_true(c.median_us[0] > 0 && c.median_us[1] > 0);
    latency_curve_free(&c);
    /* the factor 2: the accel model is exact, so the session's curve is 2 x its per-call curve of the
     * same window (TSV keeps 3 decimals) */
    run_ok(&s, "profile backend=accel sizes=8:64:8", "accelerator model");
    newest(dir, &c);
    assert_string_equal(c.protocol, "audio-model");
    AccelParams ap;
    accel_defaults(&ap);
    int sizes[8];
    for (int i = 0; i < 8; i++) sizes[i] = 8 * (i + 1);
    AccelLayer proto = {ACCEL_LSTM, cfg->n_embed, 0, 0, 1, F, 0.0, 0};
    LatencyCurve one;
    assert_int_equal(accel_curve(&one, &ap, &proto, sizes, 8), TP_OK);
    assert_int_equal(c.n, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(c.hidden[i], one.hidden[i]);
        if (fabs(c.median_us[i] - PROFILE_AUDIO_DIRECTIONS * one.median_us[i]) > 6e-4)
            fail_msg("size %d: %.4f us per second of audio, per call %.4f", c.hidden[i], c.median_us[i], one.median_us[i]);
    }
    assert_int_equal(PROFILE_AUDIO_DIRECTIONS, 2);
    double at16 = c.median_us[1];
    latency_curve_free(&one);
    latency_curve_free(&c);
    /* layer 1: its input is layer 0's output */
    run_ok(&s, "profile backend=accel sizes=8:16:8 layer=1", NULL);
    newest(dir, &c);
    assert_int_equal(c.input, cfg->hidden[0]);
    latency_curve_free(&c);
    run_refused(&s, "recommend layer=0", "run 'profile layer=0' first"); /* the newest curve is layer 1's */
    run_ok(&s, "recommend layer=1", "us per second of audio");
    run_refused(&s, "profile backend=accel sizes=8:16:8 seq=7", "per second of audio");
    run_refused(&s, "profile backend=accel sizes=8:16:8 layer=5", "layer 5");
    /* recommend on the newest curve (layer 1's), budget per second of audio; apply=1 resizes (fan-in) */
    run_ok(&s, "profile backend=accel sizes=8:64:8", NULL);
    char line[128];
    snprintf(line, sizeof line, "recommend layer=0 budget_us=%.3f", at16 + 0.01);
    run_ok(&s, line, "us per second of audio");
    snprintf(line, sizeof line, "recommend layer=0 budget_us=%.3f apply=1", 1e9);
    run_ok(&s, line, "applied");
    assert_int_equal(s.model.cfg.hidden[0], 64);
    run_ok(&s, "undo", NULL);
    assert_int_equal(s.model.cfg.hidden[0], 16);
    /* what stays refused */
    run_refused(&s, "dse rows=16 cols=16", "convolutions are not in the accelerator model");
    run_refused(&s, "schedule hwgp targets=l*:0.5 every=2", "per second of audio");
    session_free(&s);
    writer_close(&w);
    /* an H-LSTM session: its layer measured as an H-LSTM of its gate width on the cpu, modelled on accel */
    speech_task(&t, data, "hlstm");
    assert_int_equal(writer_create(&w, &s, hdir, &t, "test"), TP_OK);
    run_ok(&s, "profile sizes=8:16:8 reps=1 budget_s=1", "us per second of audio");
    newest(hdir, &c);
    assert_string_equal(c.protocol, "audio-steady");
    assert_true(!strncmp(c.fingerprint, "cell=hlstm M=8; ", 16));
    latency_curve_free(&c);
    run_ok(&s, "profile backend=accel sizes=8:16:8", "us per second of audio");
    newest(hdir, &c);
    assert_string_equal(c.run, "model-hlstm-M8");
    latency_curve_free(&c);
    session_free(&s);
    writer_close(&w);
    th_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
