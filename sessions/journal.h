/* sessions/journal: the append-only journal of executed commands, SESSION/journal.txt, one line each:
 *   step<TAB>iso-time<TAB>command<TAB>short result
 * Lines are appended whole (one write) and fsync'ed; a torn last line (no newline) is ignored on read
 * with a warning.  Replay re-executes the commands in order from the initial snapshot. */
#ifndef TP_JOURNAL_H
#define TP_JOURNAL_H

#include "base/status.h"

typedef struct {
    long step;
    char time[32];
    char command[600];
    char result[200];
} JournalEntry;

TpStatus journal_append(const char *session_dir, long step, const char *command, const char *result);
/* Read all entries (malloc'd array in *out, count in *n).  *torn is set when a torn last line was
 * skipped.  A missing journal is an empty one. */
TpStatus journal_read(const char *session_dir, JournalEntry **out, int *n, int *torn);

#endif
