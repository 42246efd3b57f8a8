/* sessions/command_history: the verbs that move a session through its history -- undo, redo,
 * restore -- and the journal's `event` annotation (part of the command module: see command.h; the
 * verb table in command.c names them).
 *
 * undo of more than the session's undo_confirm training steps (default 200, `set undo_confirm=N`)
 * is refused unless force=1 (CommandResult.confirm tells a front end to ask first; the TUI asks y/n);
 * replay runs the journal's undo as it was confirmed then.  undo keeps what it undoes as a redo point;
 * redo goes forward again; any other change drops the redo points (command_execute).  Both put back
 * the metrics.tsv and events.tsv of the state they restore (snapshot_restore_logs), so the curves
 * never run back in steps. */
#include "sessions/command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/events.h"
#include "sessions/snapshot.h"

/* Save the restored state with the journal line, then its logs, then drop the snapshot it came from:
 * a crash before the save leaves the state before; after it, the logs are at worst a step behind. */
static TpStatus commit_restored(Session *s, CommandResult *r)
{
    char from[64];
    snprintf(from, sizeof from, "%s", s->undo_dropped);
    TpStatus st = command_commit(s, r->text);
    if (st == TP_OK) st = snapshot_restore_logs(s, from);
    if (st == TP_OK) st = snapshot_drop_undone(s);
    return st;
}

TpStatus command_verb_undo(Session *s, const Command *c, CommandResult *r)
{
    SnapshotInfo info;
    if (snapshot_newest(s->dir, "undo-", &info) != TP_OK) return err_set(TP_ENOENT, "nothing to undo (no undo snapshots)");
    long steps = s->trainer.step - info.step;
    const char *force = command_arg(c, "force");
    if (steps > s->task.undo_confirm && !(force && !strcmp(force, "1")) && !command_replaying()) {
        r->confirm = 1;
        return err_set(TP_EINVAL, "undo: this goes back %ld training steps (step %ld -> %ld, before '%s'): 'undo force=1' "
                       "does it ('redo' brings them back); undos of more than %d steps ask first (set undo_confirm=N)",
                       steps, s->trainer.step, info.step, info.reason[0] ? info.reason : info.name, s->task.undo_confirm);
    }
    char what[256];
    TpStatus st = snapshot_undo(s, what, sizeof what);
    if (st != TP_OK) return st;
    r->changed = 1;
    command_say(r, "undone: %s; back at step %ld ('redo' goes forward again)", what, s->trainer.step);
    return commit_restored(s, r);
}

TpStatus command_verb_redo(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    char what[256];
    TpStatus st = snapshot_redo(s, what, sizeof what);
    if (st != TP_OK) return st;
    r->changed = 1;
    command_say(r, "redone: %s; at step %ld ('undo' goes back again)", what, s->trainer.step);
    return commit_restored(s, r);
}

TpStatus command_verb_restore(Session *s, const Command *c, CommandResult *r)
{
    const char *n = command_arg(c, "name");
    if (!n) return err_set(TP_EINVAL, "restore: name=NAME is required (see 'snapshots')");
    TpStatus st = snapshot_restore(s, n);
    if (st != TP_OK) return st;
    r->changed = 1;
    command_say(r, "restored %s: step %ld", n, s->trainer.step);
    return command_commit(s, r->text); /* saved with its journal line */
}

TpStatus command_verb_event(Session *s, const Command *c, CommandResult *r)
{
    if (!command_replaying())
        return err_set(TP_EINVAL, "event: a journal annotation (a schedule's prune/grow, written after the train that made "
                       "it and checked by replay), not a command");
    const char *step = command_arg(c, "step"), *kind = command_arg(c, "kind"), *nnz = command_arg(c, "nnz");
    if (!step || !kind || !nnz) return err_set(TP_EINVAL, "event: step=, kind= and nnz= are required");
    TpStatus st = events_check(s->dir, strtol(step, NULL, 10), kind, (size_t)strtod(nnz, NULL));
    if (st != TP_OK) return err_wrap(st, "event: ");
    command_say(r, "checked: the schedule's %s at step %s (%s non-zeros)", kind, step, nnz);
    return TP_OK;
}
