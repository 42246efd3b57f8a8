/* tests/test_recommend: sessions/recommend and the `recommend ... apply=1` verb.
 *
 * On a session with one LSTM layer of 40 and an accelerator-model profile (16:256:8, exact, so the
 * numbers are the same on every machine): recommend_pick finds the largest size at no latency cost
 * (64, as tests/e2e/cli_profile.sh says in text) and the budget pick; bad layers and a session
 * without a profile are refused.  `recommend apply=1` resizes the layer, journals the resolved
 * `resize layer=0 hidden=64` (so replay needs no latency.tsv), is undone by `undo`, and replays
 * bit for bit; without apply=1 nothing changes and nothing is journaled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "word_fixture.h"
#include "sessions/command.h"
#include "sessions/journal.h"
#include "sessions/recommend.h"
#include "sessions/replay.h"
#include "sessions/session.h"
#include "sessions/session_new.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("recommend");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static void new_session(Session *s, char *dir, size_t n) { wf_new_session(s, dir, n, 40); }

static void run_ok(Session *s, const char *line)
{
    CommandResult r;
    if (command_execute(s, line, &r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

static int journal_count(const char *dir, char *last, size_t n)
{
    JournalEntry *e = NULL;
    int k = 0, torn = 0;
    assert_int_equal(journal_read(dir, &e, &k, &torn), TP_OK);
    if (last && k) snprintf(last, n, "%s", e[k - 1].command);
    free(e);
    return k;
}

static void test_pick_and_apply(void **state)
{
    (void)state;
    Session s;
    char dir[2048];
    new_session(&s, dir, sizeof dir);
    RecommendPick p;
    assert_int_not_equal(recommend_pick(&s, 0, 0.0, &p), TP_OK); /* no profile yet */
    run_ok(&s, "profile backend=accel sizes=16:256:8");
    assert_int_equal(recommend_pick(&s, 0, 0.0, &p), TP_OK);
    assert_int_equal(p.current, 40);
    assert_int_equal(p.target, 64);
    assert_true(p.target_us > 0);
    assert_int_equal(recommend_pick(&s, 0, 3.0, &p), TP_OK);
    assert_int_equal(p.target, 64);
    assert_int_equal(recommend_pick(&s, 1, 0.0, &p), TP_ERANGE);
    int n0 = journal_count(dir, NULL, 0);
    /* without apply=1: text only */
    CommandResult r;
    assert_int_equal(command_execute(&s, "recommend layer=0", &r), TP_OK);
    assert_non_null(strstr(r.text, "up to 64"));
    assert_int_equal(s.model.cfg.hidden[0], 40);
    assert_int_equal(journal_count(dir, NULL, 0), n0);
    /* apply=1: resized, journaled as the resize it made */
    assert_int_equal(command_execute(&s, "recommend layer=0 apply=1", &r), TP_OK);
    assert_int_equal(s.model.cfg.hidden[0], 64);
    assert_true(r.changed);
    assert_non_null(strstr(r.text, "applied"));
    char last[JOURNAL_COMMAND_MAX + 1];
    assert_int_equal(journal_count(dir, last, sizeof last), n0 + 1);
    assert_string_equal(last, "resize layer=0 hidden=64");
    /* again: already there, nothing to apply, nothing journaled */
    assert_int_equal(command_execute(&s, "recommend apply=1", &r), TP_OK);
    assert_non_null(strstr(r.text, "nothing to apply"));
    assert_int_equal(journal_count(dir, NULL, 0), n0 + 1);
    assert_int_equal(session_save(&s), TP_OK);
    /* replay repeats the resize without the profile */
    ReplayResult res;
    assert_int_equal(replay_run(dir, NULL, 1, NULL, NULL, &res), TP_OK);
    assert_true(res.verified);
    /* undo goes back to 40 */
    assert_int_equal(command_execute(&s, "undo", &r), TP_OK);
    assert_int_equal(s.model.cfg.hidden[0], 40);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_and_apply),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
