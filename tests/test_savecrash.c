/* tests/test_savecrash: a crash at any point of a save, followed by a crash at any point of the next
 * save, leaves a session that opens at a complete state (DESIGN 2.3, issue 7: "kill -9 ... the
 * session always opens at a complete state").
 *
 * A save (session_write_state) is a sequence of renames: model.safetensors.new into place (atomic
 * write), the manifest naming it (the commit), model.safetensors.new -> model.safetensors, the
 * manifest again.  `rename` is wrapped (-Wl,--wrap=rename): failing the k-th rename of a save stops
 * it exactly there, leaving on disk what a kill at that point leaves (the temp file of an atomic
 * write is removed on failure, which a kill would not do, but nothing ever reads temp files).
 * For every pair (k, j): save crashing at k, reopen, train, save crashing at j, reopen: each open
 * must succeed and give bit for bit one of the states that were being saved.
 *
 * Also: a damaged size in the manifest ("hidden": [65536]) that its own CRC does not catch (here the
 * manifest is resealed after the edit; a manifest of minor 0 has no CRC) must be
 * refused naming the files before the model it describes is allocated (found by fuzz_manifest: an
 * ASan out-of-memory), by session_open and by a restore, which must leave the session usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "helpers.h"
#include "base/fsutil.h"
#include "sessions/session.h"
#include "sessions/manifest.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"
#include "sessions/task.h"

/* ---- the rename seam ---- */

int __real_rename(const char *from, const char *to);

static int g_fail_at;   /* fail the g_fail_at-th rename from now on (1-based); 0 = never */
static int g_renames;   /* renames attempted since arming */

int __wrap_rename(const char *from, const char *to)
{
    g_renames++;
    if (g_fail_at && g_renames == g_fail_at) {
        errno = EIO;
        return -1; /* the "crash": nothing of this rename happens, nor anything after it */
    }
    return __real_rename(from, to);
}

static void arm(int k)
{
    g_fail_at = k;
    g_renames = 0;
}

/* ---- fixture ---- */

static char *g_root;
static char g_data[1024];
static int g_seq;

static void write_split(const char *name, int n_lines, uint32_t seed)
{
    static const char *const W[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    char buf[8192];
    size_t len = 0;
    uint32_t x = seed;
    for (int i = 0; i < n_lines; i++) {
        for (int k = 0; k < 5; k++) {
            x = x * 1664525u + 1013904223u;
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? " " : "", W[(x >> 16) % 12]);
        }
        buf[len++] = '\n';
    }
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", g_data, name);
    assert_int_equal(th_write_file(p, buf, len), 0);
}

static int group_setup(void **state)
{
    (void)state;
    g_root = th_tempdir("savecrash");
    if (!g_root) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_root);
    if (fsutil_mkdir_p(g_data) != TP_OK) return -1;
    write_split("ptb.train.txt", 60, 1);
    write_split("ptb.valid.txt", 10, 2);
    write_split("ptb.test.txt", 10, 3);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    th_rmtree(g_root);
    free(g_root);
    return 0;
}

static void new_session(Session *s, char *dir, size_t n)
{
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", g_data);
    t.level = CORPUS_WORD;
    t.level_set = 1;
    t.model.n_layers = 1;
    t.model.hidden[0] = 8;
    t.model.n_embed = 4;
    t.train.bptt = 4;
    t.train.batch = 2;
    t.train.epochs = 100;
    t.train.optim = OPTIM_ADAM;
    t.train.lr = 0.01f;
    t.threads = 1;
    t.seed = 3;
    snprintf(dir, n, "%s/s%d", g_root, g_seq++);
    arm(0);
    if (session_new(s, dir, &t) != TP_OK) fail_msg("session_new: %s", err_msg());
}

/* A state to recognise after reopening: step, weights and Adam moments. */
typedef struct {
    long step;
    size_t n;
    float *w, *m;
} Mark;

static void mark(const Session *s, Mark *k)
{
    k->step = s->trainer.step;
    k->n = s->model.n_params;
    k->w = malloc(k->n * sizeof(float));
    k->m = malloc(k->n * sizeof(float));
    assert_true(k->w && k->m);
    memcpy(k->w, s->model.w, k->n * sizeof(float));
    memcpy(k->m, s->trainer.opt.m, k->n * sizeof(float));
}

static int is(const Session *s, const Mark *k)
{
    return s->trainer.step == k->step && s->model.n_params == k->n && !memcmp(s->model.w, k->w, k->n * sizeof(float)) &&
           !memcmp(s->trainer.opt.m, k->m, k->n * sizeof(float));
}

static void unmark(Mark *k)
{
    free(k->w);
    free(k->m);
}

static void train1(Session *s)
{
    TrainStepInfo info;
    assert_int_equal(train_step(&s->trainer, &info), TP_OK);
}

/* Open dir (no crash injected) and check it is `a` or `b`; returns 0 for a, 1 for b. */
static int reopen(Session *s, const char *dir, const Mark *a, const Mark *b, int k, int j)
{
    arm(0);
    TpStatus st = session_open(s, dir, NULL);
    if (st != TP_OK) fail_msg("crash at rename %d then %d: the session does not open: %s", k, j, err_msg());
    if (is(s, a)) return 0;
    if (is(s, b)) return 1;
    fail_msg("crash at rename %d then %d: the session opened at step %ld, neither %ld nor %ld", k, j,
             s->trainer.step, a->step, b->step);
    return -1;
}

static void test_crash_pairs(void **state)
{
    (void)state;
    enum { MAXK = 6 };  /* more than the renames of one save: the last value means "no crash" */
    int max_renames = 0;
    for (int k = 1; k <= MAXK; k++) {
        for (int j = 1; j <= MAXK; j++) {
            char dir[2048];
            Session s;
            new_session(&s, dir, sizeof dir);
            Mark m0, m1, m2;
            mark(&s, &m0);               /* as created and saved */
            train1(&s);
            train1(&s);
            mark(&s, &m1);
            arm(k);
            TpStatus st = session_save(&s);
            if (g_renames > max_renames) max_renames = g_renames;
            assert_true((st == TP_OK) == (g_renames < k));
            session_free(&s);

            Session t;
            int which = reopen(&t, dir, &m0, &m1, k, 0);
            Mark at_open;
            mark(&t, &at_open);
            train1(&t);
            mark(&t, &m2);
            arm(j);
            st = session_save(&t);
            assert_true((st == TP_OK) == (g_renames < j));
            session_free(&t);

            Session u;
            reopen(&u, dir, &at_open, &m2, k, j);
            /* and a save without a crash from there ends the story cleanly */
            train1(&u);
            Mark m3;
            mark(&u, &m3);
            arm(0);
            assert_int_equal(session_save(&u), TP_OK);
            session_free(&u);
            Session v;
            reopen(&v, dir, &m3, &m3, k, j);
            session_free(&v);
            (void)which;
            unmark(&m0);
            unmark(&m1);
            unmark(&m2);
            unmark(&m3);
            unmark(&at_open);
        }
    }
    /* the matrix covered every rename of a save */
    assert_true(max_renames >= 4);
    assert_true(max_renames < MAXK);
}

/* A save that fails before its commit leaves the previous state; after its commit, the new one. */
static void test_single_crash_points(void **state)
{
    (void)state;
    for (int k = 1; k <= 4; k++) {
        char dir[2048];
        Session s;
        new_session(&s, dir, sizeof dir);
        Mark m0, m1;
        mark(&s, &m0);
        train1(&s);
        mark(&s, &m1);
        arm(k);
        assert_int_not_equal(session_save(&s), TP_OK);
        session_free(&s);
        Session t;
        int which = reopen(&t, dir, &m0, &m1, k, 0);
        /* renames 1 (model.safetensors.new) and 2 (the manifest: the commit point) */
        assert_int_equal(which, k >= 3 ? 1 : 0);
        session_free(&t);
        unmark(&m0);
        unmark(&m1);
    }
}

/* Set task.hidden[0] of dir/manifest.json to h. */
static void lie_about_hidden(const char *dir, int h)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    void *buf = NULL;
    size_t n = 0;
    assert_int_equal(fsutil_read_file(p, 1u << 20, &buf, &n), TP_OK);
    cJSON *m = cJSON_ParseWithLength(buf, n);
    free(buf);
    cJSON *hid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "task"), "hidden");
    assert_true(cJSON_IsArray(hid));
    cJSON_ReplaceItemInArray(hid, 0, cJSON_CreateNumber(h));
    char *txt = manifest_print(m); /* resealed: this lie must be caught by the deeper checks */
    assert_int_equal(fsutil_write_atomic(p, txt, strlen(txt)), TP_OK);
    free(txt);
    cJSON_Delete(m);
}

static void test_manifest_size_lie_refused(void **state)
{
    (void)state;
    char dir[2048];
    Session s;
    new_session(&s, dir, sizeof dir);
    session_free(&s);
    lie_about_hidden(dir, 65536); /* 4 x 65536 x 65536 floats: 64 GiB for w_hh alone */
    TpStatus st = session_open(&s, dir, NULL);
    assert_int_equal(st, TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "manifest.json"));
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    lie_about_hidden(dir, 9); /* a small lie is caught by the shape check */
    assert_int_equal(session_open(&s, dir, NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "wrong dtype or shape"));
    lie_about_hidden(dir, 8);
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);

    /* the same lie in a snapshot: restore refuses it and the session stays whole */
    char snap[4200];
    snprintf(snap, sizeof snap, "%s/snapshots/initial", dir);
    lie_about_hidden(snap, 65536);
    assert_int_equal(snapshot_restore(&s, "initial"), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    assert_int_equal(s.model.cfg.hidden[0], 8);
    train1(&s);
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_crash_points),
        cmocka_unit_test(test_crash_pairs),
        cmocka_unit_test(test_manifest_size_lie_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
