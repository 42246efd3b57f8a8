/* sessions/replay: see replay.h. */
#include "sessions/replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "base/tree.h"
#include "sessions/command.h"
#include "sessions/snapshot.h"
#include "sessions/writer.h"

int replay_same_state(const Session *a, const Session *b, char *why, size_t n)
{
    const Model *x = &a->model, *y = &b->model;
    if (x->n_params != y->n_params || x->n_tensors != y->n_tensors) {
        snprintf(why, n, "architectures differ");
        return 0;
    }
    for (int i = 0; i < x->n_tensors; i++) {
        const ModelParam *p = &x->p[i];
        if (memcmp(x->w + p->off, y->w + p->off, p->n * sizeof(float))) {
            double md = 0;
            for (size_t k = 0; k < p->n; k++) md = fmax(md, fabs((double)x->w[p->off + k] - y->w[p->off + k]));
            snprintf(why, n, "weights of %s differ (max |diff| %.3g)", p->name, md);
            return 0;
        }
        if (memcmp(x->mask + p->off, y->mask + p->off, p->n)) {
            snprintf(why, n, "mask of %s differs", p->name);
            return 0;
        }
    }
    const Trainer *s = &a->trainer, *t = &b->trainer;
    if (s->step != t->step || s->epoch != t->epoch || s->window != t->window || memcmp(&s->rng, &t->rng, sizeof s->rng)) {
        snprintf(why, n, "trainer position differs (step %ld vs %ld)", s->step, t->step);
        return 0;
    }
    if (!!s->avg.mean != !!t->avg.mean || s->avg.count != t->avg.count || s->avg.start != t->avg.start ||
        s->avg.every != t->avg.every || (s->avg.mean && memcmp(s->avg.mean, t->avg.mean, x->n_params * 4))) {
        snprintf(why, n, "weight averages differ (%ld vs %ld samples)", s->avg.count, t->avg.count);
        return 0;
    }
    if (!!s->opt.m != !!t->opt.m) {
        snprintf(why, n, "optimizers differ");
        return 0;
    }
    if (s->opt.m && (memcmp(s->opt.m, t->opt.m, x->n_params * 4) || memcmp(s->opt.v, t->opt.v, x->n_params * 4))) {
        snprintf(why, n, "Adam moments differ");
        return 0;
    }
    return 1;
}

/* The initial state of dir (and its vocabulary) as a session in target. */
static TpStatus copy_initial(const char *dir, const char *target)
{
    static const char *const names[] = {"snapshots/initial/manifest.json", "snapshots/initial/model.safetensors",
                                        "vocab.json"};
    TpStatus st = fsutil_mkdir_p(target);
    for (int i = 0; i < 3 && st == TP_OK; i++) {
        char from[4400], to[4400];
        st = path_join(from, sizeof from, dir, names[i]);
        if (st == TP_OK) st = path_join(to, sizeof to, target, path_basename(names[i]));
        if (st == TP_OK) st = fsutil_copy_file(from, to);
    }
    return st;
}

TpStatus replay_check_journal(const char *dir, const JournalEntry *e, int n)
{
    for (int i = 0; i < n; i++) {
        Command c;
        TpStatus st = command_parse(e[i].command, &c);
        if (st != TP_OK)
            return err_set(TP_EFORMAT, "%s/journal.txt:%ld: journal line %ld: %s", dir, e[i].line, e[i].line, err_msg());
        if (c.empty || !command_is_journaled(c.verb))
            return err_set(TP_EFORMAT, "%s/journal.txt:%ld: '%s' is never journaled (journal line %ld): refusing to replay "
                           "this journal", dir, e[i].line, c.empty ? "(empty command)" : c.verb, e[i].line);
    }
    return TP_OK;
}

static TpStatus replay_into(const Session *cur, const char *dir, const char *target, int verify, ReplayFn fn, void *ctx,
                            ReplayResult *res)
{
    JournalEntry *je = NULL;
    /* only the lines the last save committed: beyond them, a crash left commands never saved */
    long size = 0, upto = cur->journal_committed;
    TpStatus st = journal_size(dir, &size);
    if (st == TP_OK && upto > size) {
        res->short_journal = 1; /* lines of saved state are missing: replay what there is (verify differs) */
        upto = -1;
    }
    /* every line is checked, the uncommitted ones too: a verb that is never journaled means that the
     * journal was written by something else than topiary */
    int n_all = 0, torn_all = 0;
    if (st == TP_OK) st = journal_read(dir, &je, &n_all, &torn_all);
    if (st == TP_OK) st = replay_check_journal(dir, je, n_all);
    free(je);
    je = NULL;
    if (st == TP_OK) st = journal_read_upto(dir, upto, &je, &res->n_commands, &res->torn, &res->uncommitted);
    if (st == TP_OK) st = copy_initial(dir, target);
    if (st != TP_OK) {
        free(je);
        return err_wrap(st, "replay: ");
    }
    Session rep;
    if ((st = session_open(&rep, target, cur->task.data)) != TP_OK) {
        free(je);
        return st;
    }
    rep.journal_committed = 0; /* a new session: its own journal starts empty */
    rep.journal_recovered = 1;
    if ((st = snapshot_take_initial(&rep)) != TP_OK) st = err_wrap(st, "replay: initial snapshot: ");
    if (st == TP_OK && fn) fn(ctx, res, NULL, TP_OK, NULL);
    command_set_replay(1); /* the journal's lines as confirmed then; its `event` annotations checked */
    for (int i = 0; i < res->n_commands && st == TP_OK; i++) {
        CommandResult r;
        st = command_execute(&rep, je[i].command, &r);
        if (st == TP_OK) res->done++;
        else res->command_failed = 1;
        if (fn) fn(ctx, res, &je[i], st, st == TP_OK ? r.summary : err_msg());
    }
    command_set_replay(0);
    free(je);
    if (st == TP_OK) st = session_save(&rep);
    res->step = rep.trainer.step;
    if (st == TP_OK && verify) res->verified = replay_same_state(cur, &rep, res->mismatch, sizeof res->mismatch);
    session_free(&rep);
    return st;
}

TpStatus replay_run(const char *dir, const char *out, int verify, ReplayFn fn, void *ctx, ReplayResult *res)
{
    memset(res, 0, sizeof *res);
    Session cur;
    TpStatus st = session_open(&cur, dir, NULL);
    if (st != TP_OK) return st;
    char tmp[4200] = "";
    const char *target = out;
    SessionWriter w; /* --out: a new session, with its writer lock while the replay writes it */
    writer_init(&w);
    if (out && (st = writer_claim_dir(&w, out, "topiary replay --out")) != TP_OK) {
        session_free(&cur);
        return err_wrap(st, "replay: --out: ");
    }
    if (!out) {
        const char *base = getenv("TMPDIR");
        if (path_join(tmp, sizeof tmp, base && *base ? base : "/tmp", "topiary-replay-XXXXXX") != TP_OK || !mkdtemp(tmp)) {
            st = err_set(TP_EIO, "replay: mkdtemp %s: %s", tmp, strerror(errno));
            session_free(&cur);
            return st;
        }
        target = tmp;
    }
    st = replay_into(&cur, dir, target, verify, fn, ctx, res);
    session_free(&cur);
    writer_close(&w);
    if (tmp[0]) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", err_msg()); /* the replay's error outlives the cleanup */
        TpStatus rm = tree_remove(tmp);
        if (st == TP_OK) st = rm;
        else err_set(st, "%s", keep);
    }
    return st;
}
