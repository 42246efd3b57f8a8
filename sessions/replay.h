/* sessions/replay: re-run a session's journal from its initial state (DESIGN 2.1 `topiary replay`),
 * and the bit-for-bit comparison of two sessions that `--verify` and the tests use.
 *
 * The replay copies SESSION/snapshots/initial (manifest.json, model.safetensors) and vocab.json into a
 * new directory, opens it on the original's data, and executes every journal entry through
 * command_execute (so the replayed session gets its own journal).  With out == NULL the directory is
 * private and temporary ($TMPDIR or /tmp), removed afterwards without following symbolic links.
 */
#ifndef TP_REPLAY_H
#define TP_REPLAY_H

#include <stddef.h>

#include "sessions/journal.h"
#include "sessions/session.h"

typedef struct {
    int n_commands;        /* journal entries to replay                                  */
    int torn;              /* the journal's last line was torn (a crash while appending)  */
    int uncommitted;       /* lines beyond the last save's position (never saved): skipped */
    int short_journal;     /* the journal is shorter than the last save recorded (lines lost)  */
    int done;              /* entries replayed successfully                              */
    int command_failed;    /* a journal entry failed (already reported through the hook)  */
    long step;             /* step of the replayed session                               */
    int verified;          /* verify: 1 = equal bit for bit, 0 = see mismatch            */
    char mismatch[256];    /* verify: the first difference                               */
} ReplayResult;

/* Called once before the first entry (e == NULL; res->n_commands and res->torn are set), then after
 * every entry with its status and the command's summary (or err_msg() when st != TP_OK). */
typedef void (*ReplayFn)(void *ctx, const ReplayResult *res, const JournalEntry *e, TpStatus st, const char *text);

/* Replay the journal of the session in `dir` into `out` (an empty or absent directory, held with the
 * writer lock of sessions/writer while written; NULL = a temporary one, removed at the end).  verify = 1 compares the result with the session in dir
 * (res->verified, res->mismatch).  A failing entry stops the replay and returns its status with
 * res->command_failed = 1.  fn may be NULL. */
TpStatus replay_run(const char *dir, const char *out, int verify, ReplayFn fn, void *ctx, ReplayResult *res);

/* Every entry must be a command of a journaled verb (command_is_journaled), checked before anything
 * runs: else TP_EFORMAT naming DIR/journal.txt:LINE. */
TpStatus replay_check_journal(const char *dir, const JournalEntry *e, int n);

/* 1 when two sessions hold the same state bit for bit (architecture, weights, masks, trainer
 * position and RNG, Adam moments); else 0 with the first difference described in why. */
int replay_same_state(const Session *a, const Session *b, char *why, size_t n);

#endif
