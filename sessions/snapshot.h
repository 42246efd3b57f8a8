/* sessions/snapshot: undo points on disk, SESSION/snapshots/NAME/ (manifest.json + model.safetensors
 * in the session format).  Named snapshots stay until overwritten; "undo-<seq>" snapshots, taken
 * before every destructive command, form a ring of SNAPSHOT_UNDO_DEPTH; "initial" is the state at
 * creation (replay starts from it).  Snapshots are written into NAME.tmp and renamed into place, so
 * a crash never leaves a half-written one under its name. */
#ifndef TP_SNAPSHOT_H
#define TP_SNAPSHOT_H

#include <stdint.h>

#include "sessions/session.h"

#define SNAPSHOT_UNDO_DEPTH 5

typedef struct {
    char name[64];
    long step;
    double valid_ppl;      /* NaN if never measured */
    uint64_t bytes;
    char reason[160];      /* the command it was taken before, or "" */
    long journal_bytes;    /* the session's journal position when it was taken; -1 if not recorded */
} SnapshotInfo;

/* Names: 1-48 characters of [A-Za-z0-9_-], not starting with '-'; "undo-*" is reserved. */
TpStatus snapshot_name_check(const char *name);
TpStatus snapshot_take(const Session *s, const char *name);
TpStatus snapshot_take_undo(const Session *s, const char *reason);
/* Restore the newest undo snapshot; *what gets the command that is undone.  The snapshot stays until
 * the restored state is saved: its name goes to s->undo_dropped (recorded by that save), and
 * snapshot_drop_undone removes it afterwards; a crash in between loses neither. */
TpStatus snapshot_undo(Session *s, char *what, size_t n);
/* Remove the undo snapshot named in s->undo_dropped (after the save), and clear the name. */
TpStatus snapshot_drop_undone(Session *s);
/* A writer's recovery after a crash, before it changes anything: the journal is cut to the last save's
 * position (session_recover_journal), and undo snapshots that save does not know of are removed: those
 * taken for commands whose state was never saved (journal position at or beyond the save's) and the
 * one an undo restored and saved (s->undo_dropped).  *note (may be NULL) says what was dropped, or "". */
TpStatus snapshot_recover(Session *s, char *note, size_t n);
TpStatus snapshot_restore(Session *s, const char *name);
/* Remove the newest undo snapshot: the one taken before a command that then failed having changed
 * nothing (sessions/command), so that `undo` goes back over the last change, not over a refusal. */
TpStatus snapshot_drop_newest_undo(const Session *s);
/* Redo (sessions/command_history): snapshot_undo also keeps the state it undoes as "redo-<seq>"
 * (reason: the command undone); snapshot_redo restores the newest redo point, after taking an undo
 * snapshot of the current state (so undo goes back again), and names it in s->undo_dropped (removed
 * by snapshot_drop_undone after the save, as an undo's).  Any other change drops every redo point
 * (snapshot_drop_redo).  A crash before the save drops the redo point it took (snapshot_recover). */
TpStatus snapshot_redo(Session *s, char *what, size_t n);
TpStatus snapshot_drop_redo(Session *s);
/* The newest snapshot named PREFIX<seq> ("undo-", "redo-"); TP_ENOENT when there is none. */
TpStatus snapshot_newest(const char *dir, const char *prefix, SnapshotInfo *info);
/* Every snapshot keeps the session's metrics.tsv and events.tsv as they were when it was taken;
 * undo and redo put back those of the snapshot NAME they restored (each file replaced atomically),
 * so the curves never go back in steps.  A snapshot from before this (no logs): the rows beyond the
 * restored step are cut. */
TpStatus snapshot_restore_logs(Session *s, const char *name);
/* Snapshots of a session directory, oldest first (by step, then name). */
TpStatus snapshot_list(const char *session_dir, SnapshotInfo *out, int max, int *n);
/* Write the state at creation (used by session_create's caller and replay). */
TpStatus snapshot_take_initial(const Session *s);

#endif
