/* sessions/session_new: the workflow that starts a session, above sessions/session and
 * sessions/snapshot (so that neither needs the other).
 *
 * A new session is its files (session_create_files: task, corpus, model, metrics.tsv, first save)
 * plus the "initial" snapshot that `topiary replay` starts from.  Every front end that creates a
 * session calls session_new.
 */
#ifndef TP_SESSION_NEW_H
#define TP_SESSION_NEW_H

#include "sessions/session.h"

/* Create the session in dir (refused if dir already holds one) and take its initial snapshot.  On
 * failure s is freed (what was written to dir stays). */
TpStatus session_new(Session *s, const char *dir, const Task *task);

/* The former name of session_new, kept while front ends move to the new name. */
TpStatus session_create(Session *s, const char *dir, const Task *task);

#endif
