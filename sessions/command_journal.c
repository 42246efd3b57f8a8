/* sessions/command_journal: the journal records of the command being executed (part of the command
 * module: see command.h).  Journal and state are committed together (sessions/journal.h): a record
 * is appended after the state it describes is in memory, and a save in the middle of a command
 * (an epoch end of train; undo, restore and snapshot right away) first journals the work since the
 * command's last record, so the save's journal position covers exactly its state. */
#include "sessions/command.h"

#include <stdio.h>
#include <string.h>

#include "sessions/journal.h"

static CommandExecFrame exec;
static long all_records; /* records made by any command of this process */

void command_exec_save(CommandExecFrame *f)
{
    *f = exec;
    f->total_at_save = all_records;
    memset(&exec, 0, sizeof exec);
}

void command_exec_resume(const CommandExecFrame *f)
{
    long inner = all_records - f->total_at_save;
    exec = *f;
    exec.records += (int)inner;
    if (exec.s) exec.record_step = exec.s->trainer.step;
}

void command_exec_begin(Session *s, const char *line, int trains, int journaled, int undo_taken)
{
    exec.s = s;
    exec.line = line;
    exec.trains = trains;
    exec.journaled = journaled;
    exec.undo_taken = undo_taken;
    exec.record_step = s->trainer.step;
    exec.records = 0;
}

void command_exec_end(void)
{
    if (exec.s) exec.s->n_notes = 0; /* journaled by now, or not journaled at all (replay) */
    memset(&exec, 0, sizeof exec);
}

int command_exec_records(void) { return exec.records; }

TpStatus command_exec_record(const char *rec, long step, const char *summary)
{
    char buf[JOURNAL_COMMAND_MAX + 1];
    snprintf(buf, sizeof buf, "%s", rec);
    buf[strcspn(buf, "\r\n#")] = '\0';
    if (!buf[0] || !exec.s) return TP_OK;
    TpStatus st = journal_append(exec.s->dir, step, buf, summary);
    if (st == TP_OK) exec.records++, all_records++;
    return st;
}

/* "train steps=K" for the steps since the last record, with undo=0 unless it is the first record of a
 * train that took an undo snapshot: replay then takes the same undo points. */
TpStatus command_journal_progress_as(const char *summary)
{
    if (!exec.s || !exec.trains) return TP_OK;
    long ran = exec.s->trainer.step - exec.record_step;
    if (ran <= 0) return TP_OK;
    char rec[96];
    snprintf(rec, sizeof rec, "train steps=%ld%s", ran, exec.records || !exec.undo_taken ? " undo=0" : "");
    TpStatus st = command_exec_record(rec, exec.record_step, summary);
    if (st == TP_OK) exec.record_step = exec.s->trainer.step;
    /* the schedule's events of these steps follow as annotations replay checks (sessions/events.h) */
    Session *s = exec.s;
    for (int i = 0; i < s->n_notes && st == TP_OK; i++) {
        snprintf(rec, sizeof rec, "event step=%ld kind=%s nnz=%zu", s->notes[i].step, s->notes[i].kind, s->notes[i].nnz);
        st = command_exec_record(rec, s->notes[i].step, s->notes[i].text);
    }
    if (st == TP_OK) s->n_notes = 0;
    return st;
}

TpStatus command_journal_progress(void)
{
    if (!exec.s || !exec.trains) return TP_OK;
    char summary[96];
    snprintf(summary, sizeof summary, "trained to step %ld (epoch %d)", exec.s->trainer.step, exec.s->trainer.epoch);
    return command_journal_progress_as(summary);
}

TpStatus command_commit(Session *s, const char *summary)
{
    if (!exec.s || s != exec.s) return err_set(TP_EINVAL, "command_commit: no command is executing");
    TpStatus st = TP_OK;
    if (exec.journaled && !exec.records) st = command_exec_record(exec.line, exec.record_step, summary);
    return st == TP_OK ? session_save(s) : st;
}
