/* tests/test_speech: the AN4 speech task in sessions (sessions/speech, task_asr, the verbs on a speech
 * session), on the real AN4 in ../shared/data/an4 with --max-utts 8 (skipped with a message when it
 * is not there): create, train, metrics.tsv's columns, bit-exact resume, replay --verify after prune,
 * grow, resize, schedule, state, snapshot and undo; eval; profile and recommend per second of audio;
 * the LM-only verbs (dse, schedule hwgp) refuse; the task's
 * options and JSON (an old manifest's task loads as the LM). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "sessions/command.h"
#include "sessions/evaluate.h"
#include "sessions/replay.h"
#include "sessions/session.h"
#include "sessions/writer.h"

static const char *an4_dir(void)
{
    const char *p = th_shared_data("an4/etc/an4_test.fileids");
    return p ? th_shared_data("an4") : NULL;
}

static void tiny_task(Task *t, const char *data)
{
    task_defaults(t);
    char *av[] = {"--hidden", "16", "--task", "an4", "--data", (char *)data, "--max-utts", "8", "--batch", "4",
                  "--epochs", "2", "--threads", "1", "--log-every", "1"};
    int n = (int)(sizeof av / sizeof av[0]);
    for (int i = 0; i < n;) {
        int matched = 0;
        assert_int_equal(task_parse_arg(t, n, av, &i, &matched), TP_OK);
        assert_true(matched);
    }
}

static void test_task_options(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    int i = 0, matched = 0;
    char *bad[] = {"--mels", "40"};
    assert_int_equal(task_parse_arg(&t, 2, bad, &i, &matched), TP_EINVAL); /* needs --task an4 first */
    assert_non_null(strstr(err_msg(), "--task an4"));
    char *kind[] = {"--task", "speech"};
    i = 0;
    assert_int_equal(task_parse_arg(&t, 2, kind, &i, &matched), TP_EINVAL);
    /* --task an4 keeps what was given before it (--hidden 16), sets its own defaults on the rest */
    tiny_task(&t, "/nonexistent");
    assert_true(task_is_asr(&t));
    assert_int_equal(t.model.hidden[0], 16);
    assert_int_equal(t.train.optim, OPTIM_ADAM);
    assert_int_equal(t.max_utts, 8);
    assert_float_equal(t.model.dropout, 0.2f, 1e-7); /* the an4 recipe's regularisation */
    assert_float_equal(t.train.lr_decay, 0.95f, 1e-7);
    assert_int_equal(t.train.decay_start, 40);
    assert_int_equal(t.train.epochs, 2); /* given */
    assert_int_equal(task_asr_resolve(&t), TP_OK);
    assert_int_equal(t.model.n_vocab, TASK_AN4_CLASSES);
    /* JSON round trip */
    cJSON *j = task_to_json(&t);
    Task u;
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_OK);
    assert_true(task_is_asr(&u));
    assert_int_equal(u.model.n_conv, t.model.n_conv);
    assert_int_equal(u.model.n_embed, t.model.n_embed);
    assert_int_equal(u.max_utts, 8);
    assert_memory_equal(&u.model.conv[0], &t.model.conv[0], sizeof t.model.conv[0]);
    /* SpecAugment: on by default for an4 (2x8, 2x20), NxW parsed and range-checked, round-tripped */
    assert_int_equal(t.freq_mask[0], 2);
    assert_int_equal(t.freq_mask[1], 8);
    assert_int_equal(u.time_mask[0], 2);
    assert_int_equal(u.time_mask[1], 20);
    char *fm[] = {"--freq-mask", "3x5", "--time-mask", "0x0"};
    for (i = 0; i < 4;) assert_int_equal(task_parse_arg(&t, 4, fm, &i, &matched), TP_OK);
    assert_int_equal(t.freq_mask[0], 3);
    assert_int_equal(t.freq_mask[1], 5);
    assert_int_equal(t.time_mask[0], 0);
    const char *bad_masks[] = {"3", "x5", "3x", "3x5y", "-1x4", "17x4", "2x1001", "axb"};
    for (size_t k = 0; k < sizeof bad_masks / sizeof bad_masks[0]; k++) {
        char *av[] = {"--freq-mask", (char *)bad_masks[k]};
        i = 0;
        assert_int_not_equal(task_parse_arg(&t, 2, av, &i, &matched), TP_OK);
        assert_non_null(strstr(err_msg(), "--freq-mask"));
        assert_int_equal(t.freq_mask[0], 3); /* unchanged */
    }
    cJSON_Delete(j);
    j = task_to_json(&t);
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_OK);
    assert_int_equal(u.freq_mask[0], 3);
    assert_int_equal(u.freq_mask[1], 5);
    assert_int_equal(u.time_mask[0], 0);
    cJSON_ReplaceItemInObject(j, "time_mask", cJSON_CreateString("2x20"));
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "time_mask"));
    cJSON_DeleteItemFromObject(j, "time_mask"); /* a session made before SpecAugment: off */
    cJSON_DeleteItemFromObject(j, "freq_mask");
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_OK);
    assert_int_equal(u.freq_mask[0] + u.time_mask[0], 0);
    /* --padded: 1 for a new an4 session, round-tripped; absent (a session made before it) = 0; a bad
     * value refused, on the command line and in a manifest */
    assert_int_equal(t.padded, 1);
    assert_int_equal(u.padded, 1);
    char *pd[] = {"--padded", "0"};
    i = 0;
    assert_int_equal(task_parse_arg(&t, 2, pd, &i, &matched), TP_OK);
    assert_int_equal(t.padded, 0);
    char *pb[] = {"--padded", "2"};
    i = 0;
    assert_int_equal(task_parse_arg(&t, 2, pb, &i, &matched), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "--padded"));
    Task v;
    task_defaults(&v);
    char *given[] = {"--task", "an4", "--padded", "0", "--task", "an4"}; /* given: a later --task an4 keeps it */
    for (i = 0; i < 6;) assert_int_equal(task_parse_arg(&v, 6, given, &i, &matched), TP_OK);
    assert_int_equal(v.padded, 0);
    cJSON_ReplaceItemInObject(j, "padded", cJSON_CreateNumber(3));
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "task.padded"));
    cJSON_DeleteItemFromObject(j, "padded");
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_OK);
    assert_int_equal(u.padded, 0);
    /* an old manifest's task (no "kind") is the LM */
    cJSON_DeleteItemFromObject(j, "kind");
    task_defaults(&u);
    assert_int_equal(task_from_json(&u, j), TP_OK);
    assert_false(task_is_asr(&u));
    cJSON_Delete(j);
    /* an LM task's JSON has no speech fields */
    task_defaults(&u);
    j = task_to_json(&u);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "kind"));
    cJSON_Delete(j);
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

static void test_session(void **state)
{
    (void)state;
    const char *data = an4_dir();
    if (!data) { print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n"); skip(); return; }
    char *root = th_tempdir("speech");
    char dir[4200], half[4200];
    snprintf(dir, sizeof dir, "%s/s", root);
    snprintf(half, sizeof half, "%s/h", root);
    Task t;
    tiny_task(&t, data);
    /* two sessions: one trained 2 epochs at once, one 1 epoch then reopened for the second */
    Session s, h;
    SessionWriter w, wh;
    assert_int_equal(writer_create(&w, &s, dir, &t, "test"), TP_OK);
    assert_non_null(s.speech);
    assert_int_equal(s.corpus.n_vocab, TASK_AN4_CLASSES);
    assert_int_equal((int)s.trainer.n_windows, 2);
    run_ok(&s, "train", "CTC loss");
    assert_int_equal(s.trainer.step, 4);
    assert_true(isfinite(s.valid_wer) && isfinite(s.valid_cer));
    assert_int_equal(writer_create(&wh, &h, half, &t, "test"), TP_OK);
    run_ok(&h, "train epochs=1", NULL);
    assert_int_equal(session_save(&h), TP_OK);
    session_free(&h);
    writer_close(&wh);
    assert_int_equal(writer_open(&wh, &h, half, NULL, "test"), TP_OK);
    assert_true(isfinite(h.valid_wer));
    run_ok(&h, "train", NULL);
    char why[256];
    if (!replay_same_state(&s, &h, why, sizeof why)) fail_msg("resume is not bit-exact: %s", why);
    session_free(&h);
    writer_close(&wh);
    /* metrics.tsv: the LM's columns, then the speech task's three */
    char p[4300], line[1024];
    snprintf(p, sizeof p, "%s/metrics.tsv", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\tmatrix_sparsity\tvalid_loss\tvalid_wer\tvalid_cer\n"));
    fclose(f);
    /* the verbs, then replay --verify */
    run_ok(&s, "prune sparsity=0.5", NULL);
    run_ok(&s, "prune sparsity=0.6 pattern=row", NULL);
    run_ok(&s, "snapshot name=pruned", NULL);
    run_ok(&s, "grow ratio=0.1 batches=2", "grew");
    run_ok(&s, "state tau=0.01", NULL);
    run_ok(&s, "train steps=2", NULL);
    run_ok(&s, "undo", "undone");
    run_ok(&s, "resize layer=1 hidden=12", "16 -> 12");
    run_ok(&s, "resize layer=1 hidden=14 init=fanin", "12 -> 14");
    run_refused(&s, "resize layer=1 hidden=16 init=grad", "speech task");
    run_ok(&s, "schedule agp from=0.6 to=0.8 start=6 end=9 every=1", NULL);
    run_ok(&s, "train steps=3", NULL);
    run_ok(&s, "schedule none", NULL);
    run_refused(&s, "set lr=0.01 freq_mask=2x", "NxW");
    assert_int_equal(s.task.freq_mask[0], 2); /* nothing changed, lr included */
    assert_true(s.trainer.opt.lr != 0.01f);
    run_ok(&s, "set freq_mask=1x4 time_mask=0x0", "time_mask = 0x0");
    assert_int_equal(s.task.freq_mask[0], 1);
    assert_int_equal(s.task.freq_mask[1], 4);
    assert_int_equal(s.task.time_mask[0], 0);
    run_ok(&s, "train steps=1", NULL);
    run_ok(&s, "eval split=valid", "WER");
    run_ok(&s, "eval split=test beam=3", "beam search");
    /* profile and recommend work per second of audio (tests/test_profile_speech); dse and hwgp refuse */
    run_ok(&s, "profile sizes=8:16:8 reps=1 budget_s=1", "us per second of audio");
    run_ok(&s, "recommend layer=0", "us per second of audio");
    run_refused(&s, "dse rows=16 cols=16", "not available for the speech task");
    run_refused(&s, "schedule hwgp targets=l*:0.5 every=2", "not available for the speech task");
    SpeechEval e;
    assert_int_equal(evaluate_speech(&s, CORPUS_TEST, 1, &e), TP_OK);
    assert_int_equal(e.utterances, 8);
    assert_true(e.wer >= 0.0 && e.cer >= 0.0 && isfinite(e.loss));
    EvalResult er;
    assert_int_equal(evaluate_session(&s, CORPUS_TEST, &er), TP_EINVAL);
    assert_int_equal(session_save(&s), TP_OK);
    ReplayResult res;
    TpStatus st = replay_run(dir, NULL, 1, NULL, NULL, &res);
    if (st != TP_OK || !res.verified) fail_msg("replay --verify: %s %s", err_msg(), res.mismatch);
    session_free(&s);
    writer_close(&w);
    th_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_options),
        cmocka_unit_test(test_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
