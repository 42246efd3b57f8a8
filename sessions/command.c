/* sessions/command: see command.h.  One table (VERBS) drives parsing, validation, help text and
 * dispatch, so what `help` says is what the parser accepts. */
#include "command.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/mask.h"
#include "plots/gnuplot.h"
#include "sessions/fsutil.h"
#include "sessions/session_charts.h"
#include "sessions/export.h"
#include "sessions/journal.h"
#include "sessions/profile.h"
#include "sessions/snapshot.h"
#include "sessions/trainloop.h"

/* ==== verb table ================================================================================ */

typedef enum { K_INT, K_NUM, K_STR, K_ENUM } KeyType;

typedef struct {
    const char *key;
    KeyType type;
    double lo, hi;           /* K_INT / K_NUM range                     */
    const char *choices;     /* K_ENUM: "a|b|c"                         */
    const char *help;
} KeySpec;

typedef TpStatus (*VerbFn)(Session *s, const Command *c, CommandResult *r);

typedef struct {
    const char *verb;
    const char *synopsis;
    const char *summary;
    const char *words;       /* allowed positional words "none|agp|gp", or NULL */
    int destructive;         /* undo snapshot before, journal after        */
    int journaled;           /* journal after success                      */
    const char *needs;       /* not built yet: "not available yet: needs ..." */
    VerbFn run;
    KeySpec keys[16];
} VerbSpec;

static TpStatus v_train(Session *, const Command *, CommandResult *);
static TpStatus v_eval(Session *, const Command *, CommandResult *);
static TpStatus v_set(Session *, const Command *, CommandResult *);
static TpStatus v_snapshot(Session *, const Command *, CommandResult *);
static TpStatus v_snapshots(Session *, const Command *, CommandResult *);
static TpStatus v_undo(Session *, const Command *, CommandResult *);
static TpStatus v_restore(Session *, const Command *, CommandResult *);
static TpStatus v_save(Session *, const Command *, CommandResult *);
static TpStatus v_plot(Session *, const Command *, CommandResult *);
static TpStatus v_export(Session *, const Command *, CommandResult *);
static TpStatus v_quit(Session *, const Command *, CommandResult *);
static TpStatus v_help(Session *, const Command *, CommandResult *);
static TpStatus v_status(Session *, const Command *, CommandResult *);
static TpStatus v_profile(Session *, const Command *, CommandResult *);
static TpStatus v_recommend(Session *, const Command *, CommandResult *);
static TpStatus v_grow(Session *, const Command *, CommandResult *);
static TpStatus v_prune(Session *, const Command *, CommandResult *);
static TpStatus v_schedule(Session *, const Command *, CommandResult *);
static TpStatus v_resize(Session *, const Command *, CommandResult *);
static TpStatus v_state(Session *, const Command *, CommandResult *);

#define END {NULL, 0, 0, 0, NULL, NULL}
static const VerbSpec VERBS[] = {
    {"train", "train steps=N | epochs=N", "train for N minibatches or N epochs (validation at each epoch end)",
     NULL, 1, 1, NULL, v_train,
     {{"steps", K_INT, 1, 1e12, NULL, "minibatches"}, {"epochs", K_INT, 1, 1e6, NULL, "epochs"}, END}},
    {"eval", "eval [split=valid|test]", "perplexity of a split (DESIGN 2.5 protocol)", NULL, 0, 0, NULL, v_eval,
     {{"split", K_ENUM, 0, 0, "valid|test|train", "which split (default valid)"}, END}},
    {"grow", "grow ratio=R [params=GLOB] [init=zero|grad] [batches=K] [scope=matrix|global] [recoverable=0|1] [dry=1]",
     "activate the dormant connections with the largest accumulated |gradient| (NeST/RigL)", NULL, 1, 1, NULL, v_grow,
     {{"ratio", K_NUM, 0, 1, NULL, "fraction of dormant entries to activate"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"init", K_ENUM, 0, 0, "zero|grad", "new weights: 0 (RigL) or -lr*G (NeST)"},
      {"batches", K_INT, 1, 1e6, NULL, "minibatches of gradient to score with (default 20)"},
      {"scope", K_ENUM, 0, 0, "matrix|global", "rank per matrix or over all"},
      {"recoverable", K_INT, 0, 1, NULL, "0: entries pruned before never regrow"},
      {"dry", K_INT, 0, 1, NULL, "1: only preview, change nothing"}, END}},
    {"prune", "prune ratio=R | threshold=T | sparsity=S [params=GLOB] [pattern=unstructured|row] [ih=R hh=R] [scope=matrix|global] [dry=1]",
     "remove the live connections of smallest magnitude (dual-ratio and row-balanced: BRDS)", NULL, 1, 1, NULL, v_prune,
     {{"ratio", K_NUM, 0, 1, NULL, "fraction of live entries to remove"},
      {"threshold", K_NUM, 0, 1e9, NULL, "remove |w| below T"},
      {"sparsity", K_NUM, 0, 1, NULL, "prune until this sparsity"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"pattern", K_ENUM, 0, 0, "unstructured|row", "row = equal count per row"},
      {"ih", K_NUM, 0, 1, NULL, "amount for *.w_ih (dual-ratio)"},
      {"hh", K_NUM, 0, 1, NULL, "amount for *.w_hh (dual-ratio)"},
      {"scope", K_ENUM, 0, 0, "matrix|global", "rank per matrix or over all"},
      {"dry", K_INT, 0, 1, NULL, "1: only preview, change nothing"}, END}},
    {"resize", "resize layer=L hidden=H [init=fanin|grad|zero] [batches=K]",
     "change a layer's hidden size: the least important units go; new units grow (NeST with init=grad)", NULL, 1, 1,
     NULL, v_resize,
     {{"layer", K_INT, 0, 7, NULL, "layer index"}, {"hidden", K_INT, 1, 65536, NULL, "new hidden size"},
      {"init", K_ENUM, 0, 0, "fanin|grad|zero", "new units (default fanin)"},
      {"batches", K_INT, 1, 1e6, NULL, "minibatches of bridging gradients for init=grad (default 10)"}, END}},
    {"set", "set KEY=VALUE ...", "change a setting: lr, clip, epochs, threads, log_every, eval_batch, lr_decay, decay_start, state.tau", NULL, 0, 1, NULL,
     v_set,
     {{"lr", K_NUM, 1e-9, 1e6, NULL, "learning rate (current)"}, {"clip", K_NUM, 0, 1e9, NULL, "gradient-norm clip"},
      {"epochs", K_INT, 1, 1e6, NULL, "total epochs of the session"}, {"threads", K_INT, 1, 256, NULL, "BLAS threads"},
      {"log_every", K_INT, 1, 1e8, NULL, "metrics row every N steps"},
      {"eval_batch", K_INT, 1, 1e5, NULL, "evaluation streams (1 = protocol)"},
      {"lr_decay", K_NUM, 1e-6, 1, NULL, "per-epoch factor after decay_start"},
      {"decay_start", K_INT, 0, 1e6, NULL, "last epoch at the base rate (absolute epoch number)"},
      {"state.tau", K_NUM, 0, 1e3, NULL, "hidden-state threshold (as state tau=T)"},
      {"dropout", K_NUM, 0, 0.99, NULL, "Zaremba dropout probability (non-recurrent connections)"}, END}},
    {"schedule", "schedule none | agp from=S to=S start=STEP end=STEP every=N | gp grow=R prune=R every=N tolerance=PPL [batches=K cycles=C]",
     "automatic pruning schedule driven by training (AGP: Zhu & Gupta; GP: grow-and-prune)", "none|agp|gp", 0, 1, NULL,
     v_schedule,
     {{"from", K_NUM, 0, 1, NULL, "AGP initial sparsity"}, {"to", K_NUM, 0, 1, NULL, "AGP final sparsity"},
      {"start", K_INT, 0, 1e12, NULL, "AGP first step (absolute; default: now)"},
      {"end", K_INT, 0, 1e12, NULL, "AGP last step (absolute)"},
      {"span", K_INT, 1, 1e12, NULL, "AGP: end = start + span (instead of end=)"},
      {"every", K_INT, 1, 1e9, NULL, "AGP: steps between prunings; GP: retraining steps"},
      {"grow", K_NUM, 0, 1, NULL, "GP growth ratio"}, {"prune", K_NUM, 0, 1, NULL, "GP pruning ratio per step"},
      {"tolerance", K_NUM, 0, 1e6, NULL, "GP: allowed validation-ppl rise over the best"},
      {"batches", K_INT, 1, 1e6, NULL, "GP: minibatches of gradient per growth"},
      {"cycles", K_INT, 1, 1e6, NULL, "GP: growth+pruning cycles"},
      {"params", K_STR, 0, 0, NULL, "tensors to prune/grow (globs; default: weight matrices)"}, END}},
    {"profile", "profile [backend=cpu|cuda|accel] [sizes=A:B:S] [threads=N] [batch=B] [seq=T] [reps=N] [budget_s=S] ...",
     "measure layer latency against hidden size (appends to latency.tsv)", NULL, 0, 1, NULL, v_profile,
     {{"backend", K_ENUM, 0, 0, "cpu|cuda|accel", "backend"}, {"sizes", K_STR, 0, 0, NULL, "A:B:STEP or a,b,c"},
      {"threads", K_INT, 1, 256, NULL, "threads"}, {"batch", K_INT, 1, 1e5, NULL, "batch"},
      {"seq", K_INT, 1, 1e5, NULL, "sequence length"}, {"input", K_INT, 0, 65536, NULL, "input size (0 = hidden)"},
      {"sparsity", K_NUM, 0, 0.999, NULL, "fraction of zero weights"},
      {"pattern", K_ENUM, 0, 0, "dense|csr|row", "sparsity pattern"}, {"reps", K_INT, 1, 1e5, NULL, "rounds (default: fill budget_s)"},
      {"budget_s", K_NUM, 1, 86400, NULL, "time for the sweep (default 60)"},
      {"accel", K_STR, 0, 0, NULL, "accelerator parameter file (backend=accel)"}, END}},
    {"recommend", "recommend [layer=L] [budget_us=X]", "latency-optimal size for a layer (newest profile)", NULL, 0, 0,
     NULL, v_recommend,
     {{"layer", K_INT, 0, 7, NULL, "layer"}, {"budget_us", K_NUM, 0, 1e12, NULL, "latency budget"}, END}},
    {"state", "state tau=T", "hidden-state thresholding (DESIGN 3.4): h = 0 where |h| <= T (0 = off)", NULL, 0, 1,
     NULL, v_state, {{"tau", K_NUM, 0, 1e3, NULL, "threshold"}, END}},
    {"snapshot", "snapshot [name=NAME]", "save an undo point under a name", NULL, 0, 1, NULL, v_snapshot,
     {{"name", K_STR, 0, 0, NULL, "letters, digits, - and _"}, END}},
    {"snapshots", "snapshots", "list snapshots with step, validation ppl and size", NULL, 0, 0, NULL, v_snapshots,
     {END}},
    {"undo", "undo", "back to the state before the last train/grow/prune/resize", NULL, 0, 1, NULL, v_undo, {END}},
    {"restore", "restore name=NAME", "back to a named snapshot", NULL, 0, 1, NULL, v_restore,
     {{"name", K_STR, 0, 0, NULL, "snapshot name"}, END}},
    {"export", "export out=DIR", "write the model for PyTorch and topiary eval --model", NULL, 0, 0,
     NULL, v_export, {{"out", K_STR, 0, 0, NULL, "export directory"}, END}},
    {"plot", "plot chart=ppl|loss|sparsity|nnz|lr|tokens|latency [out=FILE.png|.svg]",
     "a publication plot through gnuplot (default SESSION/plots/CHART.png; the .gp script is kept)", NULL, 0, 0, NULL,
     v_plot,
     {{"chart", K_ENUM, 0, 0, "ppl|loss|sparsity|nnz|lr|tokens|latency", "which chart"},
      {"out", K_STR, 0, 0, NULL, "output file (.png or .svg)"}, END}},
    {"save", "save", "save the session now (atomic)", NULL, 0, 0, NULL, v_save, {END}},
    {"status", "status", "step, epoch, learning rate, sizes, sparsity, last validation ppl", NULL, 0, 0, NULL, v_status,
     {END}},
    {"help", "help [VERB]", "this list, or one verb's keys", NULL, 0, 0, NULL, v_help, {END}},
    {"quit", "quit", "save and leave", NULL, 0, 0, NULL, v_quit, {END}},
};
#define N_VERBS (sizeof VERBS / sizeof VERBS[0])

static const VerbSpec *find_verb(const char *v)
{
    for (size_t i = 0; i < N_VERBS; i++)
        if (!strcmp(VERBS[i].verb, v)) return &VERBS[i];
    return NULL;
}

const char *const *command_verbs(void)
{
    static const char *names[N_VERBS + 1];
    for (size_t i = 0; i < N_VERBS; i++) names[i] = VERBS[i].verb;
    names[N_VERBS] = NULL;
    return names;
}

const char *const *command_keys(const char *verb)
{
    static const char *names[16];
    const VerbSpec *v = find_verb(verb);
    if (!v) return NULL;
    int k = 0;
    for (; v->keys[k].key && k < 15; k++) names[k] = v->keys[k].key;
    names[k] = NULL;
    return names;
}

/* ==== parser ==================================================================================== */

static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 30 || lb > 30) return 99;
    int d[32][32];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

static void key_list(const VerbSpec *v, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int k = 0; v->keys[k].key; k++) {
        int w = snprintf(buf + used, n - used, "%s%s", k ? ", " : "", v->keys[k].key);
        if (w < 0 || (size_t)w >= n - used) break;
        used += (size_t)w;
    }
    if (!buf[0]) snprintf(buf, n, "none");
}

static const KeySpec *find_key(const VerbSpec *v, const char *k)
{
    for (int i = 0; v->keys[i].key; i++)
        if (!strcmp(v->keys[i].key, k)) return &v->keys[i];
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
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected a %s", a->column, v->verb, k->key, a->value,
                           k->type == K_INT ? "whole number" : "number");
        if (k->type == K_INT && d != floor(d))
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected a whole number", a->column, v->verb, k->key,
                           a->value);
        if (d < k->lo || d > k->hi)
            return err_set(TP_ERANGE, "column %d: %s %s=%s: out of range (allowed %g..%g)", a->column, v->verb, k->key,
                           a->value, k->lo, k->hi);
        return TP_OK;
    }
    case K_ENUM:
        if (!choice_ok(k->choices, a->value))
            return err_set(TP_EINVAL, "column %d: %s %s=%s: expected one of %s", a->column, v->verb, k->key, a->value,
                           k->choices);
        return TP_OK;
    case K_STR:
        if (!a->value[0]) return err_set(TP_EINVAL, "column %d: %s %s=: empty value", a->column, v->verb, k->key);
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
        const char *best = NULL;
        int bd = 3;
        for (size_t i = 0; i < N_VERBS; i++) {
            int d = edit_distance(cmd->verb, VERBS[i].verb);
            if (d < bd) bd = d, best = VERBS[i].verb;
        }
        if (best) return err_set(TP_EINVAL, "column %d: unknown verb '%s' (did you mean '%s'?)", vcol, cmd->verb, best);
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
    if (v->words && !cmd->word[0])
        return err_set(TP_EINVAL, "column %d: %s: expected one of %s first", wcol, v->verb, v->words);
#undef ADV
    return TP_OK;
}

static const char *arg(const Command *c, const char *key)
{
    for (int i = 0; i < c->n_args; i++)
        if (!strcmp(c->args[i].key, key)) return c->args[i].value;
    return NULL;
}

/* ==== execution ================================================================================= */

static CommandProgressFn progress_fn;
static void *progress_ctx;
static int journal_on = 1;

void command_set_progress(CommandProgressFn fn, void *ctx)
{
    progress_fn = fn;
    progress_ctx = ctx;
}

void command_set_journal(int on) { journal_on = on; }

static void say(CommandResult *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(CommandResult *r, const char *fmt, ...)
{
    size_t used = strlen(r->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + used, sizeof r->text - used, fmt, ap);
    va_end(ap);
}

TpStatus command_execute(Session *s, const char *line, CommandResult *res)
{
    memset(res, 0, sizeof *res);
    Command c;
    TpStatus st = command_parse(line, &c);
    if (st != TP_OK || c.empty) return st;
    const VerbSpec *v = find_verb(c.verb);
    if (v->needs) return err_set(TP_ENOTAVAIL, "%s: not available yet: needs %s", v->verb, v->needs);
    const char *dry = arg(&c, "dry");
    int is_dry = dry && !strcmp(dry, "1");
    if (v->destructive && !is_dry && (st = snapshot_take_undo(s, line)) != TP_OK)
        return err_wrap(st, "%s: undo snapshot: ", v->verb);
    long step_before = s->trainer.step;
    st = v->run(s, &c, res);
    if (!res->summary[0]) {
        /* first line of the text as the journal's short result */
        snprintf(res->summary, sizeof res->summary, "%.159s", res->text);
        char *nl = strchr(res->summary, '\n');
        if (nl) *nl = '\0';
    }
    if (st == TP_OK && v->journaled && journal_on && !is_dry) {
        /* train records the steps it really ran, so that replay repeats exactly this */
        char rec[600];
        if (!strcmp(v->verb, "train"))
            snprintf(rec, sizeof rec, "train steps=%ld", s->trainer.step - step_before);
        else
            snprintf(rec, sizeof rec, "%s", line);
        char *nl = strpbrk(rec, "\r\n#");
        if (nl) *nl = '\0';
        TpStatus js = journal_append(s->dir, step_before, rec, res->summary);
        if (js != TP_OK) return err_wrap(js, "%s done, but the journal could not be written: ", v->verb);
    }
    return st;
}

/* ---- verbs ---- */

typedef struct {
    Session *s;
    long total;
} TrainCtx;

static int train_progress(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run,
                          const SessionMetrics *row)
{
    TrainCtx *tc = ctx;
    if (!progress_fn) return 0;
    double f = tc->total > 0 ? (double)run->steps_done / (double)tc->total : train_epoch_progress(&s->trainer);
    return progress_fn(progress_ctx, ev == TRAINLOOP_EPOCH ? "epoch" : "train", f, s, row);
}

static TpStatus v_train(Session *s, const Command *c, CommandResult *r)
{
    const char *steps = arg(c, "steps"), *epochs = arg(c, "epochs");
    if (!!steps == !!epochs) return err_set(TP_EINVAL, "train: give exactly one of steps=N or epochs=N");
    /* the parser accepted any whole number strtod reads ("1e3", "0x10"): convert it the same way */
    long n_steps = steps ? (long)strtod(steps, NULL) : 0;
    int n_epochs = epochs ? (int)strtod(epochs, NULL) : 0;
    /* an explicit request may go past the session's --epochs: extend it */
    Trainer *t = &s->trainer;
    if (n_epochs && t->epoch + n_epochs - 1 > t->cfg.epochs) t->cfg.epochs = s->task.train.epochs = t->epoch + n_epochs - 1;
    if (n_steps && train_finished(t)) t->cfg.epochs = s->task.train.epochs = t->epoch;
    TrainCtx tc = {s, n_steps};
    TrainRun run;
    TpStatus st = trainloop_run(s, n_steps, n_epochs, train_progress, &tc, &run);
    r->changed = run.steps_done > 0;
    if (st != TP_OK) return st;
    say(r, "trained %ld step(s) to step %ld (epoch %d): loss %.4f (ppl %.2f), %.0f tok/s", run.steps_done, t->step,
        t->epoch, run.window_loss, exp(run.window_loss), run.steps_done ? run.tokens / run.train_seconds : 0.0);
    if (isfinite(run.last_valid_ppl)) say(r, ", valid ppl %.2f", run.last_valid_ppl);
    if (run.stopped) say(r, " (stopped)");
    return TP_OK;
}

static TpStatus v_eval(Session *s, const Command *c, CommandResult *r)
{
    const char *sp = arg(c, "split");
    int split = !sp || !strcmp(sp, "valid") ? CORPUS_VALID : !strcmp(sp, "test") ? CORPUS_TEST : CORPUS_TRAIN;
    EvalResult e;
    TpStatus st = train_evaluate(&s->model, s->corpus.ids[split], s->corpus.n_ids[split], s->task.eval_batch, 64, &e);
    if (st != TP_OK) return st;
    if (split == CORPUS_VALID) s->valid_ppl = e.ppl;
    say(r, "%s ppl %.2f (loss %.4f, %ld tokens, accuracy %.2f%%%s)", corpus_split_name(split), e.ppl, e.loss, e.tokens,
        100.0 * e.accuracy, s->task.eval_batch > 1 ? ", eval_batch > 1: not the batch-1 protocol" : "");
    return TP_OK;
}

static TpStatus v_set(Session *s, const Command *c, CommandResult *r)
{
    if (c->n_args == 0) return err_set(TP_EINVAL, "set: expected KEY=VALUE (keys: lr, clip, epochs, threads, log_every, eval_batch)");
    for (int i = 0; i < c->n_args; i++) {
        const char *k = c->args[i].key;
        double v = strtod(c->args[i].value, NULL);
        if (!strcmp(k, "lr")) s->trainer.opt.lr = s->trainer.cfg.lr = s->task.train.lr = (float)v;
        else if (!strcmp(k, "clip")) s->trainer.cfg.clip = s->task.train.clip = (float)v;
        else if (!strcmp(k, "epochs")) s->trainer.cfg.epochs = s->task.train.epochs = (int)v;
        else if (!strcmp(k, "threads")) {
            TpStatus st = backend_set_threads((int)v);
            if (st != TP_OK) return st;
            s->task.threads = (int)v;
        } else if (!strcmp(k, "log_every")) s->task.log_every = (int)v;
        else if (!strcmp(k, "eval_batch")) s->task.eval_batch = (int)v;
        else if (!strcmp(k, "lr_decay")) s->trainer.cfg.lr_decay = s->task.train.lr_decay = (float)v;
        else if (!strcmp(k, "decay_start")) s->trainer.cfg.decay_start = s->task.train.decay_start = (int)v;
        else if (!strcmp(k, "dropout")) s->model.cfg.dropout = s->task.model.dropout = (float)v;
        else if (!strcmp(k, "state.tau")) s->model.cfg.state_tau = s->task.model.state_tau = (float)v;
        say(r, "%s%s = %s", i ? ", " : "", k, c->args[i].value);
    }
    r->changed = 1;
    return TP_OK;
}

/* Hidden-state thresholding [Ardakani et al.; DESIGN 3.4]: from now on every forward (training,
 * evaluation, export) uses h~ = h 1(|h| > tau); the backward is straight-through (engine/lstm.h). */
static TpStatus v_state(Session *s, const Command *c, CommandResult *r)
{
    const char *t = arg(c, "tau");
    if (!t) return err_set(TP_EINVAL, "state: expected tau=T (T > 0 zeroes |h| <= T; 0 turns it off)");
    float tau = (float)strtod(t, NULL);
    s->model.cfg.state_tau = s->task.model.state_tau = tau;
    model_state_sparsity(&s->model, 1);
    if (tau > 0.0f)
        say(r, "state tau=%g: h = 0 where |h| <= %g, in training and evaluation (straight-through backward); "
               "state sparsity goes to metrics.tsv", (double)tau, (double)tau);
    else
        say(r, "state tau=0: hidden-state thresholding off");
    r->changed = 1;
    return TP_OK;
}

static TpStatus v_snapshot(Session *s, const Command *c, CommandResult *r)
{
    char name[64];
    const char *n = arg(c, "name");
    if (n) snprintf(name, sizeof name, "%s", n);
    else snprintf(name, sizeof name, "step-%ld", s->trainer.step);
    TpStatus st = snapshot_take(s, name);
    if (st != TP_OK) return st;
    say(r, "snapshot %s at step %ld", name, s->trainer.step);
    return TP_OK;
}

static TpStatus v_snapshots(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    SnapshotInfo list[64];
    int n = 0;
    TpStatus st = snapshot_list(s->dir, list, 64, &n);
    if (st != TP_OK) return st;
    say(r, "%-24s %10s %12s %10s  %s\n", "name", "step", "valid ppl", "size", "taken before");
    for (int i = 0; i < n; i++) {
        char ppl[32];
        if (isfinite(list[i].valid_ppl)) snprintf(ppl, sizeof ppl, "%.2f", list[i].valid_ppl);
        else snprintf(ppl, sizeof ppl, "-");
        say(r, "%-24s %10ld %12s %9.1fM  %s\n", list[i].name, list[i].step, ppl, list[i].bytes / 1048576.0,
            list[i].reason);
    }
    if (!n) say(r, "(no snapshots)\n");
    snprintf(r->summary, sizeof r->summary, "%d snapshot(s)", n);
    return TP_OK;
}

static TpStatus v_undo(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    char what[256];
    TpStatus st = snapshot_undo(s, what, sizeof what);
    if (st != TP_OK) return st;
    r->changed = 1;
    say(r, "undone: %s; back at step %ld", what, s->trainer.step);
    return TP_OK;
}

static TpStatus v_restore(Session *s, const Command *c, CommandResult *r)
{
    const char *n = arg(c, "name");
    if (!n) return err_set(TP_EINVAL, "restore: name=NAME is required (see 'snapshots')");
    TpStatus st = snapshot_restore(s, n);
    if (st != TP_OK) return st;
    r->changed = 1;
    say(r, "restored %s: step %ld", n, s->trainer.step);
    return TP_OK;
}

static TpStatus v_plot(Session *s, const Command *c, CommandResult *r)
{
    const char *chart = arg(c, "chart") ? arg(c, "chart") : "ppl";
    char out[4400];
    if (arg(c, "out")) {
        snprintf(out, sizeof out, "%s", arg(c, "out"));
    } else {
        snprintf(out, sizeof out, "%s/plots", s->dir);
        TpStatus mk = fsutil_mkdir_p(out);
        if (mk != TP_OK) return mk;
        snprintf(out, sizeof out, "%s/plots/%s.png", s->dir, chart);
    }
    SessionChart sc;
    TpStatus st = session_charts_load(&sc, s->dir, chart);
    if (st != TP_OK) return st;
    GnuplotFiles gf;
    st = gnuplot_plot(&gf, out, &sc.spec, sc.series, sc.n_series);
    session_charts_free(&sc);
    if (st != TP_OK) return st;
    say(r, "wrote %s (script %s)", out, gf.script);
    return TP_OK;
}

static TpStatus v_save(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    TpStatus st = session_save(s);
    if (st != TP_OK) return st;
    say(r, "saved %s at step %ld", s->dir, s->trainer.step);
    return TP_OK;
}

static TpStatus v_export(Session *s, const Command *c, CommandResult *r)
{
    const char *out = arg(c, "out");
    if (!out) return err_set(TP_EINVAL, "export: out=DIR is required");
    TpStatus st = export_write(s, out);
    if (st != TP_OK) return st;
    say(r, "exported step %ld to %s (model.safetensors, model.compact.safetensors, config.json, vocab.json)", s->trainer.step, out);
    return TP_OK;
}

static TpStatus v_quit(Session *s, const Command *c, CommandResult *r)
{
    TpStatus st = v_save(s, c, r);
    if (st != TP_OK) return st;
    r->quit = 1;
    return TP_OK;
}


static double num(const Command *c, const char *key, double dflt)
{
    const char *v = arg(c, key);
    return v ? strtod(v, NULL) : dflt;
}

static void say_tensor_table(CommandResult *r, const Session *s, const size_t *before, const size_t *after,
                             const int *selected)
{
    say(r, "\n  %-16s %10s %10s %9s\n", "tensor", "live", "of", "density");
    for (int i = 0; i < s->model.n_tensors; i++) {
        if (!selected[i]) continue;
        const ModelParam *p = &s->model.p[i];
        say(r, "  %-16s %10zu %10zu %8.1f%%%s\n", p->name, after[i], p->n, 100.0 * after[i] / (double)p->n,
            before[i] != after[i] ? "" : " (unchanged)");
    }
}

static TpStatus v_prune(Session *s, const Command *c, CommandResult *r)
{
    PruneConfig p = prune_config_default();
    int modes = !!arg(c, "ratio") + !!arg(c, "threshold") + !!arg(c, "sparsity");
    if (modes > 1) return err_set(TP_EINVAL, "prune: give one of ratio=, threshold= or sparsity=");
    if (!modes && !arg(c, "ih") && !arg(c, "hh"))
        return err_set(TP_EINVAL, "prune: give ratio=R, threshold=T, sparsity=S or ih=R/hh=R");
    p.mode = arg(c, "threshold") ? PRUNE_THRESHOLD : arg(c, "sparsity") ? PRUNE_SPARSITY : PRUNE_RATIO;
    p.amount = num(c, p.mode == PRUNE_THRESHOLD ? "threshold" : p.mode == PRUNE_SPARSITY ? "sparsity" : "ratio", 0.0);
    p.amount_ih = num(c, "ih", -1.0);
    p.amount_hh = num(c, "hh", -1.0);
    if (arg(c, "pattern") && !strcmp(arg(c, "pattern"), "row")) p.pattern = PRUNE_ROW;
    if (arg(c, "scope") && !strcmp(arg(c, "scope"), "global")) p.scope = MASK_SCOPE_GLOBAL;
    p.params = arg(c, "params");
    int dry = num(c, "dry", 0) == 1;
    PruneResult res;
    TpStatus st = compress_prune(s, &p, dry, &res);
    if (st != TP_OK) return st;
    r->changed = !dry && res.removed > 0;
    say(r, "%s %zu of %zu live connections: sparsity of the selected matrices %.2f%% -> %.2f%%",
        dry ? "would prune" : "pruned", res.removed, res.live_before, 100 * res.sparsity_before, 100 * res.sparsity_after);
    snprintf(r->summary, sizeof r->summary, "%s %zu: sparsity %.2f%% -> %.2f%%", dry ? "would prune" : "pruned", res.removed,
             100 * res.sparsity_before, 100 * res.sparsity_after);
    size_t before[MODEL_MAX_TENSORS], after[MODEL_MAX_TENSORS];
    int sel[MODEL_MAX_TENSORS];
    for (int i = 0; i < res.n_tensors; i++) {
        sel[i] = res.t[i].selected;
        before[i] = res.t[i].live_before;
        after[i] = res.t[i].live_before - res.t[i].removed;
    }
    say_tensor_table(r, s, before, after, sel);
    return TP_OK;
}

static TpStatus v_grow(Session *s, const Command *c, CommandResult *r)
{
    if (!arg(c, "ratio")) return err_set(TP_EINVAL, "grow: ratio=R is required");
    GrowConfig g = grow_config_default();
    g.ratio = num(c, "ratio", 0);
    if (arg(c, "init") && !strcmp(arg(c, "init"), "grad")) g.init = GROW_INIT_GRAD;
    if (arg(c, "scope") && !strcmp(arg(c, "scope"), "global")) g.scope = MASK_SCOPE_GLOBAL;
    g.recoverable = (int)num(c, "recoverable", 1);
    g.params = arg(c, "params");
    int dry = num(c, "dry", 0) == 1;
    GrowResult res;
    TpStatus st = compress_grow(s, &g, (int)num(c, "batches", 20), dry, &res);
    if (st != TP_OK) return st;
    r->changed = !dry && res.grown > 0;
    say(r, "%s %zu of %zu dormant connections (scored over %d minibatch%s)", dry ? "would grow" : "grew", res.grown,
        res.eligible, res.n_batches, res.n_batches == 1 ? "" : "es");
    snprintf(r->summary, sizeof r->summary, "%s %zu of %zu", dry ? "would grow" : "grew", res.grown, res.eligible);
    size_t before[MODEL_MAX_TENSORS], after[MODEL_MAX_TENSORS];
    int sel[MODEL_MAX_TENSORS];
    for (int i = 0; i < res.n_tensors; i++) {
        MaskTensorStats ts;
        mask_tensor_stats(&s->model, &ts, i);
        sel[i] = res.t[i].selected;
        after[i] = ts.nnz + (dry ? res.t[i].grown : 0);
        before[i] = after[i] - res.t[i].grown;
    }
    say_tensor_table(r, s, before, after, sel);
    return TP_OK;
}

static TpStatus v_resize(Session *s, const Command *c, CommandResult *r)
{
    if (!arg(c, "layer") || !arg(c, "hidden")) return err_set(TP_EINVAL, "resize: layer=L and hidden=H are required");
    const char *in = arg(c, "init");
    ResizeInitKind k = !in || !strcmp(in, "fanin") ? RESIZE_INIT_FANIN : !strcmp(in, "grad") ? RESIZE_INIT_GRAD
                                                                                                : RESIZE_INIT_ZERO;
    char what[200];
    TpStatus st = compress_resize(s, (int)num(c, "layer", 0), (int)num(c, "hidden", 1), k, (int)num(c, "batches", 10),
                                  what, sizeof what);
    if (st != TP_OK) return st;
    r->changed = 1;
    SessionMetrics m;
    session_metrics_now(s, &m);
    say(r, "resized %s; %zu non-zeros of %zu parameters", what, m.nnz, m.params);
    return TP_OK;
}

static TpStatus st_check_params(const Session *s, const char *glob) { return mask_params_check(&s->model, glob); }

static TpStatus v_schedule(Session *s, const Command *c, CommandResult *r)
{
    ScheduleKind k = !strcmp(c->word, "agp") ? SCHEDULE_AGP : !strcmp(c->word, "gp") ? SCHEDULE_GP : SCHEDULE_OFF;
    ScheduleConfig sc = schedule_config_default(k);
    if (k == SCHEDULE_AGP) {
        sc.from = num(c, "from", sc.from);
        sc.to = num(c, "to", sc.to);
        /* steps are absolute; without start= the schedule starts now */
        sc.start = (long)num(c, "start", (double)s->trainer.step);
        if (arg(c, "end") && arg(c, "span")) return err_set(TP_EINVAL, "schedule agp: give end= or span=, not both");
        sc.end = arg(c, "end") ? (long)num(c, "end", 0) : sc.start + (long)num(c, "span", (double)sc.end);
        sc.every = (long)num(c, "every", (double)sc.every);
    } else if (k == SCHEDULE_GP) {
        sc.grow_ratio = num(c, "grow", sc.grow_ratio);
        sc.prune_ratio = num(c, "prune", sc.prune_ratio);
        sc.every = (long)num(c, "every", (double)sc.every);
        sc.tolerance = num(c, "tolerance", sc.tolerance);
        sc.grow_batches = (int)num(c, "batches", sc.grow_batches);
        sc.cycles = (int)num(c, "cycles", sc.cycles);
    } else if (c->n_args) {
        return err_set(TP_EINVAL, "schedule none takes no keys");
    }
    const char *pg = arg(c, "params");
    if (pg && (st_check_params(s, pg)) != TP_OK) return err_wrap(TP_EINVAL, "schedule: ");
    TpStatus st = compress_schedule_set(s, &sc);
    if (st != TP_OK) return st;
    snprintf(s->gp.params, sizeof s->gp.params, "%s", pg ? pg : "");
    char d[256];
    say(r, "schedule %s", compress_schedule_describe(s, d, sizeof d));
    r->changed = 1;
    return TP_OK;
}

static TpStatus v_status(Session *s, const Command *c, CommandResult *r)
{
    (void)c;
    SessionMetrics m;
    session_metrics_now(s, &m);
    int done = train_finished(&s->trainer);
    say(r, "session %s: step %ld, epoch %d/%d%s, lr %.4g, clip %g; ", s->dir, m.step, done ? s->trainer.cfg.epochs : m.epoch,
        s->trainer.cfg.epochs, done ? " (done)" : "", m.lr, (double)s->trainer.cfg.clip);
    say(r, "layers");
    for (int l = 0; l < s->model.cfg.n_layers; l++) say(r, " %d", s->model.cfg.hidden[l]);
    say(r, ", %zu non-zeros of %zu (sparsity %.1f%%", m.nnz, m.params, 100.0 * m.sparsity);
    MaskStats ms;
    if (mask_stats(&s->model, &ms) == TP_OK) say(r, "; recurrent matrices %.1f%%", 100.0 * ms.cell_sparsity);
    say(r, ")");
    if (isfinite(s->valid_ppl)) say(r, ", valid ppl %.2f", s->valid_ppl);
    char d[256];
    say(r, "; schedule %s", compress_schedule_describe(s, d, sizeof d));
    if (s->gp.last_event[0]) say(r, "; last: %s", s->gp.last_event);
    return TP_OK;
}

static int profile_cancel(void *ctx, double fraction)
{
    return progress_fn ? progress_fn(progress_ctx, "profile", fraction, ctx, NULL) : 0;
}

static TpStatus v_profile(Session *s, const Command *c, CommandResult *r)
{
    const char *k[COMMAND_MAX_ARGS], *v[COMMAND_MAX_ARGS];
    for (int i = 0; i < c->n_args; i++) k[i] = c->args[i].key, v[i] = c->args[i].value;
    return profile_verb(s, c->n_args, k, v, profile_cancel, s, r->text, sizeof r->text, r->summary, sizeof r->summary);
}

static TpStatus v_recommend(Session *s, const Command *c, CommandResult *r)
{
    const char *l = arg(c, "layer"), *b = arg(c, "budget_us");
    /* strtod, as the parser read it: "layer=1e0" is layer 1 */
    return profile_verb_recommend(s, l ? (int)strtod(l, NULL) : 0, b ? strtod(b, NULL) : 0.0, r->text, sizeof r->text);
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
        for (int k = 0; v->keys[k].key; k++) {
            const KeySpec *ks = &v->keys[k];
            char range[96];
            if (ks->type == K_ENUM) snprintf(range, sizeof range, "%s", ks->choices);
            else if (ks->type == K_STR) snprintf(range, sizeof range, "text");
            else snprintf(range, sizeof range, "%g..%g", ks->lo, ks->hi);
            ADD("  %-10s %-22s %s\n", ks->key, range, ks->help);
        }
        return buf;
    }
    ADD("commands (one per line, verb key=value ..., # starts a comment):\n");
    for (size_t i = 0; i < N_VERBS; i++)
        ADD("  %-10s %s%s\n", VERBS[i].verb, VERBS[i].summary, VERBS[i].needs ? " (not available yet)" : "");
#undef ADD
    return buf;
}

static TpStatus v_help(Session *s, const Command *c, CommandResult *r)
{
    (void)s;
    say(r, "%s", command_help(c->word[0] ? c->word : NULL));
    snprintf(r->summary, sizeof r->summary, "help");
    return TP_OK;
}
