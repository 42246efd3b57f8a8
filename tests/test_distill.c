/* tests/test_distill: the `distill` verb and sessions/distill on real files: a teacher chosen from an
 * export is journaled with its CRC32, persists in the manifest, trains the student differently from
 * plain training, and `replay --verify` reproduces the run; refusals (no such directory, a session
 * instead of an export, another vocabulary, a damaged export, a wrong crc32=) change nothing; a
 * teacher changed after it was chosen does not stop the session from opening, only training, with
 * the way out (`distill off`) in the message. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "export_fixture.h"
#include "sessions/command.h"
#include "sessions/export.h"
#include "sessions/exportsum.h"
#include "sessions/replay.h"
#include "sessions/session_new.h"

static void run_ok(Session *s, const char *line, CommandResult *r)
{
    if (command_execute(s, line, r) != TP_OK) fail_msg("%s: %s", line, err_msg());
}

static void student(Session *s, char *dir, size_t n, const char *tag)
{
    ef_path_in(dir, n, ef_root, tag);
    Task t;
    ef_tiny_task(&t, MODEL_CELL_LSTM);
    t.model.hidden[0] = t.model.hidden[1] = 6; /* smaller than the teacher */
    if (session_new(s, dir, &t) != TP_OK) fail_msg("session_new: %s", err_msg());
}

static void refused(Session *s, const char *line, const char *says)
{
    CommandResult r;
    char before[512];
    snprintf(before, sizeof before, "%s", s->task.teacher);
    assert_int_not_equal(command_execute(s, line, &r), TP_OK);
    if (!strstr(err_msg(), says)) fail_msg("%s: message \"%s\" does not say \"%s\"", line, err_msg(), says);
    assert_string_equal(s->task.teacher, before);
}

static void test_distill_journal_persist_replay(void **state)
{
    (void)state;
    Session s, p;
    char dir[1024], pdir[1024], line[1400];
    CommandResult r;
    student(&s, dir, sizeof dir, "student");
    student(&p, pdir, sizeof pdir, "plain");
    run_ok(&s, "distill", &r);
    assert_non_null(strstr(r.text, "no teacher"));
    snprintf(line, sizeof line, "distill teacher=%s alpha=0.7", ef_export);
    run_ok(&s, line, &r);
    assert_non_null(strstr(r.text, "distilling from"));
    assert_true(s.task.teacher[0] == '/');
    assert_true(s.task.distill_alpha == 0.7f);
    run_ok(&s, "train steps=5", &r);
    run_ok(&p, "train steps=5", &r);
    /* the teacher changed what was learnt */
    assert_true(memcmp(s.model.w, p.model.w, s.model.n_params * sizeof(float)) != 0);
    run_ok(&s, "status", &r);
    assert_non_null(strstr(r.text, "distilling from"));
    assert_int_equal(session_save(&s), TP_OK);
    /* the journal line names the teacher by its absolute path and CRC32 */
    void *buf;
    size_t n;
    ef_path_in(line, sizeof line, dir, "journal.txt");
    assert_int_equal(fsutil_read_file(line, 1 << 20, &buf, &n), TP_OK);
    char crc[32];
    snprintf(crc, sizeof crc, "crc32=%08x", (unsigned)s.task.teacher_crc);
    assert_non_null(strstr(buf, crc));
    assert_non_null(strstr(buf, "alpha=0.7"));
    free(buf);
    session_free(&s);
    session_free(&p);
    /* reopened: still distilling; replay --verify reproduces the run bit for bit */
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    assert_true(s.task.teacher[0] == '/' && s.task.distill_alpha == 0.7f);
    session_free(&s);
    ReplayResult res;
    if (replay_run(dir, NULL, 1, NULL, NULL, &res) != TP_OK) fail_msg("replay: %s", err_msg());
    /* off: journaled, and the manifest forgets the teacher */
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    run_ok(&s, "distill off", &r);
    assert_int_equal(s.task.teacher[0], '\0');
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    assert_int_equal(s.task.teacher[0], '\0');
    session_free(&s);
}

static void test_distill_refusals(void **state)
{
    (void)state;
    Session s;
    char dir[1024], line[1400], other[1024];
    student(&s, dir, sizeof dir, "refusals");
    refused(&s, "distill teacher=/nonexistent/teacher", "no such directory");
    snprintf(line, sizeof line, "distill teacher=%s", ef_sess); /* a session, not an export */
    refused(&s, line, "export");
    snprintf(line, sizeof line, "distill teacher=%s crc32=00000000", ef_export);
    refused(&s, line, "changed");
    snprintf(line, sizeof line, "distill teacher=%s crc32=xyz", ef_export);
    refused(&s, line, "8 hex digits");
    snprintf(line, sizeof line, "distill teacher=%s alpha=1.5", ef_export);
    refused(&s, line, "alpha");
    refused(&s, "distill off teacher=x", "no keys");
    /* another vocabulary: the same export with one word changed (and its checksums made to agree) */
    ef_path_in(other, sizeof other, ef_root, "other-vocab");
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", ef_export, other);
    assert_int_equal(system(cmd), 0);
    ef_path_in(line, sizeof line, other, "vocab.json");
    void *buf;
    size_t n;
    assert_int_equal(fsutil_read_file(line, 1 << 20, &buf, &n), TP_OK);
    char *q = strchr((char *)buf + 2, '"'); /* the end of the first word: "<word>" -> "<wore>" */
    assert_non_null(q);
    q[-1] = q[-1] == 'Q' ? 'R' : 'Q';
    assert_int_equal(fsutil_write_atomic(line, buf, n), TP_OK);
    free(buf);
    snprintf(line, sizeof line, "distill teacher=%s", other);
    refused(&s, line, "checksums"); /* checksums.json catches the edit first */
    static const char *const NAMES[] = {"config.json", "vocab.json", "model.safetensors", "model.compact.safetensors"};
    assert_int_equal(exportsum_write(other, NAMES, 4), TP_OK);
    refused(&s, line, "vocabulary");
    session_free(&s);
}

static void test_changed_teacher_stops_training_only(void **state)
{
    (void)state;
    Session s;
    char dir[1024], teacher[1024], line[1400], cmd[3000];
    CommandResult r;
    ef_path_in(teacher, sizeof teacher, ef_root, "moving-teacher");
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", ef_export, teacher);
    assert_int_equal(system(cmd), 0);
    student(&s, dir, sizeof dir, "changed");
    snprintf(line, sizeof line, "distill teacher=%s alpha=0.5", teacher);
    run_ok(&s, line, &r);
    run_ok(&s, "train steps=2", &r);
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    /* the teacher is re-exported from another model into the same directory */
    Session o;
    char odir[1024];
    student(&o, odir, sizeof odir, "changed-other");
    run_ok(&o, "train steps=3", &r);
    assert_int_equal(export_write(&o, teacher), TP_OK);
    session_free(&o);
    assert_int_equal(session_open(&s, dir, NULL), TP_OK); /* opens, evaluates */
    run_ok(&s, "eval", &r);
    long step = s.trainer.step;
    assert_int_not_equal(command_execute(&s, "train steps=2", &r), TP_OK);
    assert_non_null(strstr(err_msg(), "distill off"));
    assert_non_null(strstr(err_msg(), "CRC32"));
    assert_int_equal(s.trainer.step, step);
    run_ok(&s, "distill off", &r);
    run_ok(&s, "train steps=2", &r);
    assert_int_equal(s.trainer.step, step + 2);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distill_journal_persist_replay),
        cmocka_unit_test(test_distill_refusals),
        cmocka_unit_test(test_changed_teacher_stops_training_only),
    };
    return cmocka_run_group_tests(tests, ef_group_setup, ef_group_teardown);
}
