/* sessions/lock: one writer per session (issue 11).
 *
 * A process that changes a session holds an exclusive advisory lock on SESSION/lock (flock(2)) for as
 * long as it may write: the workbench for its whole run, `train`, `run` and `replay --out` for theirs.
 * The file names the holder ("pid 1234, topiary train, since 2026-12-02T05:01:02Z"), so a second writer
 * is refused at once with that text (TP_EBUSY, exit 2) instead of racing the first and losing steps.
 * The kernel releases the lock when the holder dies, even by kill -9, so a dead holder's lock is simply
 * taken over; the stale text it left is reported as a note.  Readers (eval, export, plot) take no lock:
 * every save is atomic, so they read the last complete one.  The lock file is never followed through a
 * symlink and must be a regular file. */
#ifndef TP_LOCK_H
#define TP_LOCK_H

#include <stddef.h>

#include "base/status.h"

typedef struct {
    int fd;  /* -1 when not held */
} SessionLock;

/* Take the writer lock of the existing session directory 'dir' for 'command' (a short description such
 * as "topiary train").  TP_EBUSY naming the holder when another process has it.  When the previous
 * holder died without releasing it, 'note' (if not NULL) receives "took over the lock left by pid N
 * (...)"; otherwise note[0] = '\0'. */
TpStatus lock_acquire(SessionLock *l, const char *dir, const char *command, char *note, size_t note_n);

/* Release (idempotent): the holder text is cleared, then the lock dropped. */
void lock_release(SessionLock *l);

/* 1 if some process holds the writer lock of 'dir' now (and its text in 'holder', if not NULL). */
int lock_is_held(const char *dir, char *holder, size_t holder_n);

#endif
