/* sessions/command_impl: what the two halves of the command module share (command.c: the verb table,
 * parser, help and command_execute; command_verbs.c: the verbs' implementations).  Internal: only
 * those two files include it. */
#ifndef TP_COMMAND_IMPL_H
#define TP_COMMAND_IMPL_H

#include "sessions/command.h"

/* Value of key in a parsed command, or NULL. */
const char *command_arg(const Command *c, const char *key);
/* Append printf text to a result. */
void command_say(CommandResult *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forward to the progress hook set by command_set_progress (0 when none). */
int command_progress(const char *what, double fraction, const Session *s, const SessionMetrics *row);

TpStatus command_verb_train(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_eval(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_set(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_snapshot(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_snapshots(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_undo(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_restore(Session *s, const Command *c, CommandResult *r);
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
TpStatus command_verb_resize(Session *s, const Command *c, CommandResult *r);
TpStatus command_verb_state(Session *s, const Command *c, CommandResult *r);

#endif
