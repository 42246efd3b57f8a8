/* sessions/journal: the append-only journal of executed commands, SESSION/journal.txt, one line each:
 *   step<TAB>iso-time<TAB>command<TAB>short result
 * Lines are appended whole (one write) and fsync'ed; a torn last line (no newline) is ignored on read
 * with a warning.  Replay re-executes the commands in order from the initial snapshot.
 *
 * Committed together with the state: every save of a session records the journal's length in its
 * manifest ("commit": {"journal_bytes": N}).  Lines beyond that position were appended by commands
 * whose state was never saved (a crash before the save): readers stop at the recorded position
 * (journal_read_upto) and a writer cuts them off when it opens the session (journal_truncate). */
#ifndef TP_JOURNAL_H
#define TP_JOURNAL_H

#include <stddef.h>

#include "base/status.h"

#define JOURNAL_COMMAND_MAX 1023   /* longest command a journal line holds */
#define JOURNAL_MAX_BYTES (256u << 20)

typedef struct {
    long step;
    char time[32];
    char command[JOURNAL_COMMAND_MAX + 1];
    char result[200];
    long line;              /* line number in journal.txt (1-based) */
} JournalEntry;

TpStatus journal_append(const char *session_dir, long step, const char *command, const char *result);
/* Read all entries (malloc'd array in *out, count in *n).  *torn is set when a torn last line was
 * skipped.  A missing journal is an empty one. */
TpStatus journal_read(const char *session_dir, JournalEntry **out, int *n, int *torn);
/* The same, reading only the first 'committed' bytes (the position a manifest records; -1 = all);
 * *uncommitted (may be NULL) gets the number of complete lines beyond it.  A journal shorter than
 * 'committed' is TP_EFORMAT (lines of saved state are missing).  Lines are read whole, of any length;
 * a NUL or CR, or a command over JOURNAL_COMMAND_MAX characters, is TP_EFORMAT with PATH:LINE[:COL]. */
TpStatus journal_read_upto(const char *session_dir, long committed, JournalEntry **out, int *n, int *torn,
                           int *uncommitted);
/* Parse journal text (len bytes; need not be NUL-terminated) named 'name' in messages: the reader
 * behind journal_read_upto, also for the fuzzer. */
TpStatus journal_parse(const char *text, size_t len, const char *name, JournalEntry **out, int *n, int *torn);
/* The journal's length in bytes (0 when there is none). */
TpStatus journal_size(const char *session_dir, long *bytes);
/* Cut the journal to 'committed' bytes (the lines of commands whose state was never saved), fsync'ed;
 * *dropped gets the number of lines cut (a torn fragment counts as one).  committed == -1 (a session
 * saved before positions were recorded) only drops a torn last line.  TP_EFORMAT when the journal is
 * shorter than 'committed'. */
TpStatus journal_truncate(const char *session_dir, long committed, int *dropped);

#endif
