/* sessions/writer: a session's one writer (issue 11), above sessions/session, sessions/snapshot and
 * sessions/lock.
 *
 * Every front end that changes a session (the workbench, `topiary train`, `topiary run`, the output of
 * `topiary replay --out`) opens or creates it here and holds its writer lock (sessions/lock) until it
 * has saved for the last time:
 *
 *   writer_open    takes the lock first (a second writer is refused, TP_EBUSY naming the holder; a dead
 *                  holder's lock is taken over with a note), refuses a symlink wherever the session keeps
 *                  a file or directory, removes what a killed process left (snapshots/NAME.tmp, the
 *                  NAME.old of an interrupted snapshot replacement -- renamed back when NAME is missing --
 *                  and the "*.tmp.XXXXXX" of atomic saves), never following a symlink, then opens.
 *   writer_create  a new session, only in an empty or absent directory (session_check_new_dir): checked
 *                  and built in memory first, then the directory is created, locked at once, checked
 *                  again under the lock, and written (files, first save, initial snapshot).
 *
 * Readers (eval, export, plot, replay --verify) take no lock: every save is atomic, so they read the
 * last complete one.  Nothing here prints; a takeover note is left in SessionWriter.note. */
#ifndef TP_WRITER_H
#define TP_WRITER_H

#include "sessions/lock.h"
#include "sessions/session.h"

typedef struct {
    SessionLock lock;
    char note[1024];   /* "took over the session lock left by ..." when a dead holder's lock was taken, else "" */
} SessionWriter;

/* An idle writer (no lock held); writer_close on it does nothing. */
void writer_init(SessionWriter *w);

/* Open the existing session in dir as its one writer (see above); command names the holder in the
 * lock ("topiary train").  On failure nothing is held and s is freed. */
TpStatus writer_open(SessionWriter *w, Session *s, const char *dir, const char *data_override, const char *command);

/* A new session in dir: session_create_prepare, then writer_create_commit. */
TpStatus writer_create(SessionWriter *w, Session *s, const char *dir, const Task *task, const char *command);

/* Write a session prepared by session_create_prepare (in memory) into s->dir as its one writer:
 * writer_claim_dir, the files and the first save, the initial snapshot.  On failure what it wrote is
 * removed again (the directory held nothing else: it was checked under the lock), nothing is held and
 * s is freed. */
TpStatus writer_create_commit(SessionWriter *w, Session *s, const char *command);

/* Make dir the empty home of a new session held by w: session_check_new_dir, created if absent, the
 * lock taken, checked again under the lock. */
TpStatus writer_claim_dir(SessionWriter *w, const char *dir, const char *command);

/* Release the lock (idempotent). */
void writer_close(SessionWriter *w);

/* TP_EINVAL naming the first symlink (or non-directory) where the session in dir keeps one of its
 * files or directories: manifest.json, model.safetensors, vocab.json, journal.txt, metrics.tsv,
 * latency.tsv, lock, snapshots/, each snapshots/NAME/ and the files in it.  Leftovers of killed
 * processes are not checked (writer_clean removes them without following them). */
TpStatus writer_check(const char *dir);

/* Remove the leftovers of killed processes in the session dir (never following a symlink):
 * "*.tmp.XXXXXX" temp files of atomic saves, snapshots/NAME.tmp, and snapshots/NAME.old (renamed back
 * to NAME when NAME is missing: a kill between the two renames of a snapshot replacement).  Only for a
 * process that holds the lock.  *removed (may be NULL) counts what was removed or renamed. */
TpStatus writer_clean(const char *dir, int *removed);

#endif
