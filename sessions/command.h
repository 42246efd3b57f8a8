/* sessions/command: the command language of DESIGN 2.2 — one command per line, `verb key=value ...`,
 * `#` starts a comment — its parser with precise errors (column, expected keys, allowed ranges), the
 * help text of every verb generated from one table, and command_execute(), the single entry point
 * through which the TUI, `topiary run SCRIPT`, the journal replay and the tests change a session.
 *
 * Verbs whose engine part is not built yet answer TP_ENOTAVAIL "not available yet: needs ...".
 * Executed commands that change the session are appended to its journal; destructive ones (train,
 * grow, prune, resize) take an undo snapshot first.
 */
#ifndef TP_COMMAND_H
#define TP_COMMAND_H

#include "sessions/session.h"
#include "sessions/trainloop.h"

#define COMMAND_MAX_ARGS 16

typedef struct {
    char key[32];
    char value[512];
    int column;                /* 1-based column of the key in the line */
} CommandArg;

typedef struct {
    char verb[24];
    char word[24];             /* optional positional word (schedule none|agp|gp) */
    int n_args;
    CommandArg args[COMMAND_MAX_ARGS];
    int empty;                 /* blank or comment-only line */
} Command;

typedef struct {
    char text[8192];           /* what to show the user (may span lines) */
    char summary[160];         /* one line for the journal                */
    int quit;                  /* `quit` was executed                     */
    int changed;               /* the session state changed               */
    /* Structured facts for front ends (set by command_execute; never match the text above): */
    char verb[24];             /* the verb executed ("" for a blank line) */
    int dry_run;               /* dry=1: a preview, nothing changed       */
    int destructive;           /* an undo snapshot was taken before it    */
    int nan;                   /* stopped on a non-finite loss (TP_ENAN)  */
    unsigned views;            /* COMMAND_VIEW_* whose data it changed    */
    int confirm;               /* refused until confirmed: run it again with force=1 (undo of
                                * more than undo_confirm steps; a front end asks y/n first) */
} CommandResult;

/* What a command may have changed, for views cached by front ends (CommandResult.views). */
enum {
    COMMAND_VIEW_MODEL = 1u << 0,    /* parameters, masks, sizes, settings            */
    COMMAND_VIEW_METRICS = 1u << 1,  /* metrics.tsv rows                              */
    COMMAND_VIEW_LATENCY = 1u << 2,  /* latency.tsv (profile)                         */
    COMMAND_VIEW_HISTORY = 1u << 3,  /* snapshots/ and journal.txt                    */
};

/* One key of a verb as the verb table declares it (ranges, choices, help): forms and completion
 * are generated from it, so there is one source of ranges. */
typedef enum { COMMAND_KEY_INT, COMMAND_KEY_NUM, COMMAND_KEY_STR, COMMAND_KEY_ENUM } CommandKeyType;
typedef struct {
    const char *name;
    CommandKeyType type;
    double lo, hi;             /* INT / NUM range                          */
    const char *choices;       /* ENUM: "a|b|c"                            */
    const char *help;
} CommandKeySpec;

/* Progress/cancel hook for long verbs (train, eval): called between minibatches (row == NULL) and
 * after each metrics row train logs (row != NULL); return nonzero to stop after this minibatch.
 * May be NULL. */
typedef int (*CommandProgressFn)(void *ctx, const char *what, double fraction, const Session *s,
                                 const SessionMetrics *row);

/* Parse one line.  Errors: TP_EINVAL with "column N: ..." in err_msg(). */
TpStatus command_parse(const char *line, Command *cmd);

/* Parse, validate and execute one line against the session; fills *res (text for the user).
 * Journals the command when it changed the session (not during replay: see command_set_journal). */
TpStatus command_execute(Session *s, const char *line, CommandResult *res);

void command_set_progress(CommandProgressFn fn, void *ctx);
void command_set_journal(int on);          /* default on; replay turns it off */
/* Replay (sessions/replay) runs a journal's lines between command_set_replay(1) and (0): what the
 * journal holds was confirmed when it was typed (undo force), and its annotations (event) are checked. */
void command_set_replay(int on);
int command_replaying(void);
/* The train verb's training events (sessions/trainloop: every step, metrics rows, validation, epoch
 * ends, with the run's counters) for a front end that draws its own progress (`topiary train`);
 * called besides the progress hook; nonzero stops after this step.  fn may be NULL. */
void command_set_train_hook(TrainloopFn fn, void *ctx);

/* 1 when the verb's executions are journaled (the verb table's flag): the only verbs a journal may
 * hold and replay may run. */
int command_is_journaled(const char *verb);

/* Help: all verbs (verb == NULL) or one verb; NULL if the verb is unknown. */
const char *command_help(const char *verb);
/* Verb names in table order (NULL-terminated), for completion. */
const char *const *command_verbs(void);
/* Key names of a verb (NULL-terminated; NULL if the verb is unknown), for completion. */
const char *const *command_keys(const char *verb);
/* The spec of verb's key; TP_EINVAL naming what is unknown. */
TpStatus command_key_spec(const char *verb, const char *key, CommandKeySpec *out);
/* A verb's positional words ("none|agp|gp"), or NULL if it takes none or is unknown. */
const char *command_words(const char *verb);

/* ---- for the verbs' implementations (sessions/command_verbs.c; the verb table in command.c names
 * them).  Declared here rather than in a header of their own so that command.c and command_verbs.c
 * include only this header (no module include cycle).  Front ends call command_execute(), which
 * adds the undo snapshot and the journal entry the table asks for; never a verb directly. ---- */

/* Value of key in a parsed command, or NULL. */
const char *command_arg(const Command *c, const char *key);
/* Append printf text to a result. */
void command_say(CommandResult *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forward to the progress hook set by command_set_progress (0 when none). */
int command_progress(const char *what, double fraction, const Session *s, const SessionMetrics *row);
/* Forward to the hook set by command_set_train_hook (0 when none). */
int command_train_event(TrainloopEvent ev, const Session *s, const TrainRun *run, const SessionMetrics *row);
/* For verbs whose journal entry is what they did (VERB_RECORDS in the table): the command line the
 * journal records for this execution (replay runs it instead of the line typed). */
void command_record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For verbs that change the session only when there is something to apply (VERB_APPLY): take the
 * undo snapshot of the command being executed, right before changing anything. */
TpStatus command_undo_point(const Session *s);
/* Journal and state committed together, in the middle of a command: command_journal_progress journals
 * the steps the executing train has run since its last record ("train steps=K [undo=0]"; called right
 * before a save in the middle of a train), and command_commit journals the executing command now and
 * saves the session (undo, restore: their state is saved before the undo snapshot goes). */
TpStatus command_journal_progress(void);
TpStatus command_commit(Session *s, const char *summary);
/* The executing command's records (sessions/command_journal.c; command_execute drives them): begin
 * with what its table entry says (a train's steps, journaled at all, an undo point taken), a record
 * (its '#' comment cut), the train steps since the last record with `summary`, the count so far. */
void command_exec_begin(Session *s, const char *line, int trains, int journaled, int undo_taken);
void command_exec_end(void);
TpStatus command_exec_record(const char *rec, long step, const char *summary);
TpStatus command_journal_progress_as(const char *summary);
int command_exec_records(void);
/* The executing command's record state, saved around a nested command_execute (a verb that drives
 * other verbs: schedule hwgp).  command_exec_resume adds the records the nested commands made, so a
 * driving verb that made any is not journaled itself (its journal is what it drove). */
typedef struct {
    Session *s;
    const char *line;
    int trains, journaled, undo_taken;
    long record_step; /* trainer step at the command's last record */
    int records;      /* records the command has made             */
    long total_at_save;
} CommandExecFrame;
void command_exec_save(CommandExecFrame *f);
void command_exec_resume(const CommandExecFrame *f);
/* command_execute from inside a verb: each nested command is undone, journaled and saved as if
 * typed, then the executing command's state is restored. */
TpStatus command_execute_nested(Session *s, const char *line, CommandResult *res);

TpStatus command_verb_train(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_eval(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_set(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_snapshot(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_snapshots(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_undo(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_restore(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_redo(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_event(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_save(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_plot(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_export(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_quit(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_help(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_status(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_profile(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_recommend(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_grow(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_prune(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_schedule(Session *s, const Command *c, CommandResult *r);
/* `schedule hwgp ...` (sessions/hwgp.c): the hardware-guided grow-and-prune loop, which drives the
 * verbs gp schedule, train, resize and eval through command_execute_nested. */
TpStatus command_verb_hwgp(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_resize(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_tie(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_state(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_distill(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_average(Session *s, const Command *c, CommandResult *r);
/* sessions/command_dse.c */
TpStatus command_verb_dse(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_lesson(Session *s, const Command *c, CommandResult *r);   /* sessions/lesson_verbs.c */
TpStatus command_verb_explain(Session *s, const Command *c, CommandResult *r);


/* ---- internal: the verb table (sessions/command_table.c), read by the parser, the dispatch and the
 * help of sessions/command.c ---- */
enum { COMMAND_MAX_KEYS = 28 };
typedef TpStatus (*CommandVerbFn)(Session *s, const Command *c, CommandResult *r);

typedef struct {
    const char *verb;
    const char *synopsis;
    const char *summary;
    const char *words;       /* allowed positional words "none|agp|gp", or NULL */
    unsigned policy;         /* VERB_* below: undo snapshot, when, what the journal records */
    int journaled;           /* journal after success                      */
    const char *needs;       /* not built yet: "not available yet: needs ..." */
    CommandVerbFn run;
    CommandKeySpec keys[COMMAND_MAX_KEYS];
} CommandVerbSpec;

/* The undo/journal policy of a verb (CommandVerbSpec.policy), applied by command_execute:
 *   VERB_UNDO     an undo snapshot before it runs
 *   VERB_DRY      dry=1 previews: no undo snapshot, no journal entry
 *   VERB_APPLY    changes the session only with apply=1, and only if there is something to apply:
 *                 the verb takes the undo snapshot itself (command_undo_point) right before it changes
 *                 anything, and is journaled only then
 *   VERB_TRAINS   trains: the journal records `train steps=<the steps it really ran>` (so replay
 *                 repeats exactly this, whatever stopped it), nothing when no step ran; a bare
 *                 call on a session whose epochs are complete changes nothing (no undo snapshot)
 *   VERB_RECORDS  the journal records what the verb reported through command_record() (the
 *                 resolved command, e.g. the resize a recommendation made), nothing if it did not
 *   VERB_NOTE     a journal annotation (`event`): changes nothing, never journaled again
 *   VERB_HISTORY  moves through the history (undo, redo, snapshot): keeps the redo points, which
 *                 any other change drops
 *   VERB_LM       the language model only (dse: the accelerator model of the LM's whole step): a
 *                 speech (an4) session refuses it, saying why
 *   VERB_WORD_OPTIONAL  the positional word may be left out (`distill off` | `distill teacher=...`);
 *                 the verb alone, no word and no keys, is a status query: no undo point, no journal */
enum { VERB_UNDO = 1u, VERB_DRY = 2u, VERB_APPLY = 4u, VERB_TRAINS = 8u, VERB_RECORDS = 16u, VERB_NOTE = 32u,
       VERB_HISTORY = 64u, VERB_LM = 128u, VERB_WORD_OPTIONAL = 256u };

/* The verb's row, or NULL; the whole table (n rows). */
const CommandVerbSpec *command_table_find(const char *verb);
const CommandVerbSpec *command_table_all(size_t *n);

#endif
