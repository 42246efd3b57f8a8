/* sessions/command: see command.h.  One table (sessions/command_table.c) drives parsing, validation, help text and
 * dispatch, so what `help` says is what the parser accepts. */
#include "sessions/command.h"
#include "sessions/distill.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/spell.h"
#include "sessions/journal.h"
#include "sessions/snapshot.h"

/* ==== the verb table (sessions/command_table.c) ================================================= */

#define K_INT COMMAND_KEY_INT
#define K_NUM COMMAND_KEY_NUM
#define K_STR COMMAND_KEY_STR
#define K_ENUM COMMAND_KEY_ENUM
typedef CommandKeySpec KeySpec;
typedef CommandVerbSpec VerbSpec;
#define find_verb command_table_find

/* What each verb's success changes besides the journal (CommandResult.views). */
static unsigned views_of(const VerbSpec *v)
{
    static const struct { const char *verb; unsigned views; } EXTRA[] = {
        {"train", COMMAND_VIEW_MODEL | COMMAND_VIEW_METRICS}, {"profile", COMMAND_VIEW_LATENCY},
        {"snapshot", COMMAND_VIEW_HISTORY}, {"undo", COMMAND_VIEW_MODEL | COMMAND_VIEW_METRICS},
        {"redo", COMMAND_VIEW_MODEL | COMMAND_VIEW_METRICS}, {"restore", COMMAND_VIEW_MODEL},
        {"prune", COMMAND_VIEW_METRICS}, {"grow", COMMAND_VIEW_METRICS}, {"resize", COMMAND_VIEW_METRICS},
        {"tie", COMMAND_VIEW_METRICS},
        {"recommend", COMMAND_VIEW_METRICS},
        {"eval", COMMAND_VIEW_MODEL}, {"schedule", COMMAND_VIEW_METRICS | COMMAND_VIEW_LATENCY},
    };
    unsigned views = ((v->policy & VERB_UNDO) || v->journaled) && !(v->policy & VERB_NOTE)
                         ? COMMAND_VIEW_MODEL | COMMAND_VIEW_HISTORY : 0;
    for (size_t i = 0; i < sizeof EXTRA / sizeof EXTRA[0]; i++)
        if (!strcmp(EXTRA[i].verb, v->verb)) views |= EXTRA[i].views;
    return views;
}

/* ==== parser ==================================================================================== */

static void key_list(const VerbSpec *v, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int k = 0; v->keys[k].name; k++) {
        int w = snprintf(buf + used, n - used, "%s%s", k ? ", " : "", v->keys[k].name);
        if (w < 0 || (size_t)w >= n - used) break;
        used += (size_t)w;
    }
    if (!buf[0]) snprintf(buf, n, "none");
}

static const KeySpec *find_key(const VerbSpec *v, const char *k)
{
    for (int i = 0; v->keys[i].name; i++)
        if (!strcmp(v->keys[i].name, k)) return &v->keys[i];
    return NULL;
}

static int choice_ok(const char *choices, const char *val)
{
    size_t n = strlen(val);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, val, n)) return 1;
        p += len + (bar ? 1 : 0);
        if (!bar) break;
    }
    return 0;
}

static TpStatus check_value(const VerbSpec *v, const KeySpec *k, const CommandArg *a)
{
    char *end;
    switch (k->type) {
    case K_INT:
    case K_NUM: {
        errno = 0;
        double d = strtod(a->value, &end);
        if (errno || end == a->value || *end || !isfinite(d))
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected a %s", a->column, v->verb, k->name, a->value,
                           k->type == K_INT ? "whole number" : "number");
        if (k->type == K_INT && d != floor(d))
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected a whole number", a->column, v->verb, k->name,
                           a->value);
        if (d < k->lo || d > k->hi)
            return err_set(TP_ERANGE, "column %d: %s %s=%s: out of range (allowed %g..%g)", a->column, v->verb, k->name,
                           a->value, k->lo, k->hi);
        return TP_OK;
    }
    case K_ENUM:
        if (!choice_ok(k->choices, a->value))
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected one of %s", a->column, v->verb, k->name, a->value,
                           k->choices);
        return TP_OK;
    case K_STR:
        if (!a->value[0]) return err_set(TP_EINVAL, "column %d: %s %s=: empty value", a->column, v->verb, k->name);
        return TP_OK;
    }
    return TP_OK;
}

TpStatus command_parse(const char *line, Command *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    const char *p = line;
    int col = 1;
#define ADV() (p++, col++)
    while (*p == ' ' || *p == '\t') ADV();
    if (!*p || *p == '#' || *p == '\n' || *p == '\r') {
        cmd->empty = 1;
        return TP_OK;
    }
    int vcol = col;
    size_t n = 0;
    while (*p && !isspace((unsigned char)*p) && *p != '#') {
        if (n + 1 >= sizeof cmd->verb) return err_set(TP_EINVAL, "column %d: verb too long", vcol);
        cmd->verb[n++] = *p;
        ADV();
    }
    const VerbSpec *v = find_verb(cmd->verb);
    if (!v) {
        SpellGuess g = SPELL_GUESS_INIT;
        size_t nv;
        const VerbSpec *all = command_table_all(&nv);
        for (size_t i = 0; i < nv; i++) spell_consider(&g, cmd->verb, all[i].verb);
        if (g.best) return err_set(TP_EINVAL, "column %d: unknown verb '%s' (did you mean '%s'?)", vcol, cmd->verb, g.best);
        return err_set(TP_EINVAL, "column %d: unknown verb '%s' (try 'help')", vcol, cmd->verb);
    }
    int wcol = 0; /* where a positional word is expected: the first token after the verb */
    for (;;) {
        while (*p == ' ' || *p == '\t') ADV();
        if (!wcol) wcol = col;
        if (!*p || *p == '#' || *p == '\n' || *p == '\r') break;
        int kcol = col;
        char key[64];
        n = 0;
        while (*p && *p != '=' && !isspace((unsigned char)*p) && *p != '#') {
            if (n + 1 < sizeof key) key[n++] = *p;
            ADV();
        }
        key[n] = '\0';
        if (*p != '=') {
            /* a bare word: the positional word of verbs that take one */
            if (!strcmp(v->verb, "help") && !cmd->word[0]) {
                if (!find_verb(key)) return err_set(TP_EINVAL, "column %d: help: unknown verb '%s'", kcol, key);
                snprintf(cmd->word, sizeof cmd->word, "%.23s", key);
                continue;
            }
            if (!strcmp(v->verb, "explain")) { /* explain hysteresis point: the words joined by '-' */
                size_t used = strlen(cmd->word);
                if (used + (used > 0) + strlen(key) >= sizeof cmd->word)
                    return err_set(TP_EINVAL, "column %d: explain: term too long", kcol);
                if (used) cmd->word[used++] = '-';
                memcpy(cmd->word + used, key, strlen(key) + 1);
                continue;
            }
            if (v->words && !cmd->word[0] && cmd->n_args == 0) {
                if (!choice_ok(v->words, key))
                    return err_set(TP_EINVAL, "column %d: %s %s: expected one of %s", kcol, v->verb, key, v->words);
                snprintf(cmd->word, sizeof cmd->word, "%.23s", key);
                continue;
            }
            char keys[256];
            key_list(v, keys, sizeof keys);
            return err_set(TP_EINVAL, "column %d: %s: expected key=value, got '%s' (keys: %s)", kcol, v->verb, key, keys);
        }
        ADV(); /* '=' */
        const KeySpec *ks = find_key(v, key);
        if (!ks) {
            char keys[256];
            key_list(v, keys, sizeof keys);
            SpellGuess g = SPELL_GUESS_INIT;
            for (int i = 0; v->keys[i].name; i++) spell_consider(&g, key, v->keys[i].name);
            if (g.best)
                return err_set(TP_EINVAL, "column %d: %s: unknown key '%s' (did you mean '%s'? keys: %s)", kcol, v->verb,
                               key, g.best, keys);
            return err_set(TP_EINVAL, "column %d: %s: unknown key '%s' (expected: %s)", kcol, v->verb, key, keys);
        }
        for (int i = 0; i < cmd->n_args; i++)
            if (!strcmp(cmd->args[i].key, key))
                return err_set(TP_EINVAL, "column %d: %s: key '%s' given twice", kcol, v->verb, key);
        if (cmd->n_args == COMMAND_MAX_ARGS) return err_set(TP_EINVAL, "column %d: too many keys", kcol);
        CommandArg *a = &cmd->args[cmd->n_args];
        snprintf(a->key, sizeof a->key, "%.31s", key);
        a->column = kcol;
        n = 0;
        if (*p == '"') {
            int qcol = col;
            ADV();
            while (*p && *p != '"') {
                if (n + 1 >= sizeof a->value) break;
                a->value[n++] = *p;
                ADV();
            }
            if (*p && *p != '"') /* never cut a value (a path) silently */
                return err_set(TP_EINVAL, "column %d: %s %s=: value longer than %zu characters", kcol, v->verb, key,
                               sizeof a->value - 1);
            if (*p != '"') return err_set(TP_EINVAL, "column %d: unterminated quote", qcol);
            ADV();
        } else {
            while (*p && !isspace((unsigned char)*p) && *p != '#') {
                if (n + 1 >= sizeof a->value)
                    return err_set(TP_EINVAL, "column %d: %s %s=: value longer than %zu characters", kcol, v->verb,
                                   key, sizeof a->value - 1);
                a->value[n++] = *p;
                ADV();
            }
        }
        a->value[n] = '\0';
        TpStatus st = check_value(v, ks, a);
        if (st != TP_OK) return st;
        cmd->n_args++;
    }
    if (v->words && !cmd->word[0] && !(v->policy & VERB_WORD_OPTIONAL))
        return err_set(TP_EINVAL, "column %d: %s: expected one of %s first", wcol, v->verb, v->words);
#undef ADV
    return TP_OK;
}

const char *command_arg(const Command *c, const char *key)
{
    for (int i = 0; i < c->n_args; i++)
        if (!strcmp(c->args[i].key, key)) return c->args[i].value;
    return NULL;
}

/* ==== execution ================================================================================= */

static CommandProgressFn progress_fn;
static void *progress_ctx;

int command_progress(const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    return progress_fn ? progress_fn(progress_ctx, what, fraction, s, row) : 0;
}
static int journal_on = 1;
static TrainloopFn train_hook;
static void *train_hook_ctx;

void command_set_train_hook(TrainloopFn fn, void *ctx)
{
    train_hook = fn;
    train_hook_ctx = ctx;
}

int command_train_event(TrainloopEvent ev, const Session *s, const TrainRun *run, const SessionMetrics *row)
{
    return train_hook ? train_hook(train_hook_ctx, ev, s, run, row) : 0;
}

void command_set_progress(CommandProgressFn fn, void *ctx)
{
    progress_fn = fn;
    progress_ctx = ctx;
}

void command_set_journal(int on) { journal_on = on; }

static int replaying;

void command_set_replay(int on) { replaying = on; }

int command_replaying(void) { return replaying; }

void command_say(CommandResult *r, const char *fmt, ...)
{
    size_t used = strlen(r->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + used, sizeof r->text - used, fmt, ap);
    va_end(ap);
}

static const char *undo_line, *undo_verb;

TpStatus command_undo_point(const Session *s)
{
    TpStatus st = snapshot_take_undo(s, undo_line ? undo_line : "");
    return st == TP_OK ? st : err_wrap(st, "%s: undo snapshot: ", undo_verb ? undo_verb : "command");
}

static char record_line[600];
static int record_set;

void command_record(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(record_line, sizeof record_line, fmt, ap);
    va_end(ap);
    record_set = 1;
}

/* Whether this call of the verb can change the session: the undo and journal policy apply only then. */
static int changes_session(const VerbSpec *v, const Session *s, const Command *c)
{
    const char *dry = command_arg(c, "dry"), *apply = command_arg(c, "apply");
    if (v->policy & VERB_NOTE) return 0;
    if ((v->policy & VERB_WORD_OPTIONAL) && !c->word[0] && c->n_args == 0) return 0; /* the bare form: a status */
    if ((v->policy & VERB_DRY) && dry && !strcmp(dry, "1")) return 0;
    if ((v->policy & VERB_APPLY) && !(apply && !strcmp(apply, "1"))) return 0;
    if ((v->policy & VERB_TRAINS) && !command_arg(c, "steps") && !command_arg(c, "epochs") && train_finished(&s->trainer))
        return 0;
    return 1;
}

int command_is_journaled(const char *verb)
{
    const VerbSpec *v = find_verb(verb);
    return v && v->journaled;
}

TpStatus command_execute(Session *s, const char *line, CommandResult *res)
{
    memset(res, 0, sizeof *res);
    Command c;
    TpStatus st = command_parse(line, &c);
    if (st != TP_OK || c.empty) return st;
    const VerbSpec *v = find_verb(c.verb);
    if (v->needs) return err_set(TP_ENOTAVAIL, "%s: not available yet: needs %s", v->verb, v->needs);
    if ((v->policy & VERB_LM) && task_is_asr(&s->task))
        return speech_refuse(v->verb, "it sweeps the accelerator model over the language model's whole step (embedding, "
                                      "unidirectional layers, decoder); the speech model's convolutions are not in the "
                                      "accelerator model (profile and recommend work, per second of audio)");
    int changes = changes_session(v, s, &c);
    if (v->journaled && changes && strcspn(line, "\r\n#") > JOURNAL_COMMAND_MAX) /* the journal keeps no comment */
        return err_set(TP_EINVAL, "%s: command longer than %d characters (the journal's limit)", v->verb, JOURNAL_COMMAND_MAX);
    /* a writer's first change: cut what an interrupted run left uncommitted (sessions/snapshot.h) */
    if (changes && (st = snapshot_recover(s, NULL, 0)) != TP_OK) return st;
    const char *no_undo = command_arg(&c, "undo");
    int take_undo = (v->policy & VERB_UNDO) && !(v->policy & VERB_APPLY) && changes && !(no_undo && !strcmp(no_undo, "0"));
    const char *dry = command_arg(&c, "dry");
    int is_dry = (v->policy & VERB_DRY) && dry && !strcmp(dry, "1");
    snprintf(res->verb, sizeof res->verb, "%s", v->verb);
    res->dry_run = is_dry;
    res->destructive = (v->policy & VERB_UNDO) && changes;
    /* a train whose distillation teacher cannot be used is refused before its undo point */
    if ((v->policy & VERB_TRAINS) && changes && !task_is_asr(&s->task) && s->task.teacher[0]) {
        DistillSlot d = session_distill_slot(s);
        if ((st = distill_attach(&d)) != TP_OK) return st;
    }
    if (take_undo && (st = snapshot_take_undo(s, line)) != TP_OK) return err_wrap(st, "%s: undo snapshot: ", v->verb);
    undo_line = line;
    undo_verb = v->verb;
    long step_before = s->trainer.step;
    record_set = 0;
    command_exec_begin(s, line, (v->policy & VERB_TRAINS) && v->journaled && journal_on,
                       v->journaled && journal_on, take_undo);
    st = v->run(s, &c, res);
    res->nan = st == TP_ENAN;
    /* refused before changing anything (every verb but a train is all or nothing, and one that journals
     * its own nested commands has changed something): its undo point would only make `undo` go back
     * over the refusal */
    if (st != TP_OK && take_undo && !(v->policy & VERB_TRAINS) && !command_exec_records()) {
        TpStatus ds = snapshot_drop_newest_undo(s);
        if (ds != TP_OK) st = err_wrap(ds, "%s failed (%s), and its undo point could not be removed: ", v->verb, err_msg());
    }
    /* a failed train may have run steps (and a NaN rolls back): views refresh after any outcome */
    if (!is_dry) res->views = views_of(v);
    if (!res->summary[0]) {
        /* first line of the text as the journal's short result */
        snprintf(res->summary, sizeof res->summary, "%.159s", res->text);
        char *nl = strchr(res->summary, '\n');
        if (nl) *nl = '\0';
    }
    /* a verb that trains journals the steps it ran even when it then failed (a NaN), as they stay */
    if ((st == TP_OK || (v->policy & VERB_TRAINS)) && v->journaled && journal_on && changes) {
        TpStatus js = TP_OK;
        if (v->policy & VERB_TRAINS) js = command_journal_progress_as(res->summary);
        else if (command_exec_records()) js = TP_OK; /* committed by the verb itself (command_commit) */
        else if (v->policy & VERB_RECORDS) js = record_set ? command_exec_record(record_line, step_before, res->summary) : TP_OK;
        else js = command_exec_record(line, step_before, res->summary);
        if (js != TP_OK && st == TP_OK) st = err_wrap(js, "%s done, but the journal could not be written: ", v->verb);
    }
    /* a new change ends the redo chain (undo, redo and snapshot keep it) */
    if (changes && v->journaled && !(v->policy & VERB_HISTORY) && (st == TP_OK || (v->policy & VERB_TRAINS))) {
        TpStatus rs = snapshot_drop_redo(s);
        if (rs != TP_OK && st == TP_OK) st = err_wrap(rs, "%s done, but the redo points could not be removed: ", v->verb);
    }
    command_exec_end();
    return st;
}

TpStatus command_execute_nested(Session *s, const char *line, CommandResult *res)
{
    CommandExecFrame f;
    const char *ul = undo_line, *uv = undo_verb;
    char rl[sizeof record_line];
    memcpy(rl, record_line, sizeof rl);
    int rs = record_set;
    command_exec_save(&f);
    TpStatus st = command_execute(s, line, res);
    command_exec_resume(&f);
    undo_line = ul, undo_verb = uv;
    memcpy(record_line, rl, sizeof rl);
    record_set = rs;
    return st;
}

const char *command_help(const char *verb)
{
    static char buf[16384];
    buf[0] = '\0';
    size_t used = 0;
#define ADD(...)                                                                            \
    do {                                                                                    \
        int w_ = snprintf(buf + used, sizeof buf - used, __VA_ARGS__);                      \
        if (w_ > 0) used = (size_t)w_ < sizeof buf - used ? used + (size_t)w_ : sizeof buf - 1; \
    } while (0)
    if (verb && *verb) {
        const VerbSpec *v = find_verb(verb);
        if (!v) return NULL;
        ADD("%s\n  %s%s\n", v->synopsis, v->summary, v->needs ? " (not available yet)" : "");
        for (int k = 0; v->keys[k].name; k++) {
            const KeySpec *ks = &v->keys[k];
            char range[96];
            if (ks->type == K_ENUM) snprintf(range, sizeof range, "%s", ks->choices);
            else if (ks->type == K_STR) snprintf(range, sizeof range, "text");
            else snprintf(range, sizeof range, "%g..%g", ks->lo, ks->hi);
            ADD("  %-10s %-22s %s\n", ks->name, range, ks->help);
        }
        return buf;
    }
    ADD("commands (one per line, verb key=value ..., # starts a comment):\n");
    size_t nv;
    const VerbSpec *all = command_table_all(&nv);
    for (size_t i = 0; i < nv; i++)
        ADD("  %-10s %s%s\n", all[i].verb, all[i].summary, all[i].needs ? " (not available yet)" : "");
#undef ADD
    return buf;
}

