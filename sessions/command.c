/* sessions/command: see command.h.  One table (VERBS) drives parsing, validation, help text and
 * dispatch, so what `help` says is what the parser accepts. */
#include "sessions/command.h"

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

/* ==== verb table ================================================================================ */

/* The keys' specs are the public CommandKeySpec (command_key_spec hands them out as they are). */
#define K_INT COMMAND_KEY_INT /* short names for the table below */
#define K_NUM COMMAND_KEY_NUM
#define K_STR COMMAND_KEY_STR
#define K_ENUM COMMAND_KEY_ENUM
typedef CommandKeySpec KeySpec;

typedef TpStatus (*VerbFn)(Session *s, const Command *c, CommandResult *r);

typedef struct {
    const char *verb;
    const char *synopsis;
    const char *summary;
    const char *words;       /* allowed positional words "none|agp|gp", or NULL */
    unsigned policy;         /* VERB_* below: undo snapshot, when, what the journal records */
    int journaled;           /* journal after success                      */
    const char *needs;       /* not built yet: "not available yet: needs ..." */
    VerbFn run;
    KeySpec keys[28];
} VerbSpec;

/* The undo/journal policy of a verb (VerbSpec.policy), applied by command_execute:
 *   VERB_UNDO     an undo snapshot before it runs
 *   VERB_DRY      dry=1 previews: no undo snapshot, no journal entry
 *   VERB_APPLY    changes the session only with apply=1, and only if there is something to apply:
 *                 the verb takes the undo snapshot itself (command_undo_point) right before it changes
 *                 anything, and is journaled only then
 *   VERB_TRAINS   trains: the journal records `train steps=<the steps it really ran>` (so replay
 *                 repeats exactly this, whatever stopped it), nothing when no step ran; a bare
 *                 call on a session whose epochs are complete changes nothing (no undo snapshot)
 *   VERB_RECORDS  the journal records what the verb reported through command_record() (the
 *                 resolved command, e.g. the resize a recommendation made), nothing if it did not */
enum { VERB_UNDO = 1u, VERB_DRY = 2u, VERB_APPLY = 4u, VERB_TRAINS = 8u, VERB_RECORDS = 16u };

#define END {NULL, 0, 0, 0, NULL, NULL}
static const VerbSpec VERBS[] = {
    {"train", "train steps=N | epochs=N | train [limit=N] [undo=0]",
     "train for N minibatches or N epochs, or (bare) to the end of the session's epochs (validation at each epoch end)",
     NULL, VERB_UNDO | VERB_TRAINS, 1, NULL, command_verb_train,
     {{"steps", K_INT, 1, 1e12, NULL, "minibatches"}, {"epochs", K_INT, 1, 1e6, NULL, "epochs"},
      {"limit", K_INT, 1, 1e12, NULL, "bare form: stop after N minibatches"},
      {"undo", K_INT, 0, 1, NULL, "0: no undo point (the journal's later records of one train)"}, END}},
    {"eval", "eval [split=valid|test]", "perplexity of a split (DESIGN 2.5 protocol)", NULL, 0, 0, NULL, command_verb_eval,
     {{"split", K_ENUM, 0, 0, "valid|test|train", "which split (default valid)"}, END}},
    {"grow", "grow ratio=R [params=GLOB] [init=zero|grad] [batches=K] [scope=matrix|global] [recoverable=0|1] [pattern=block block=RxC] [dry=1]",
     "activate the dormant connections with the largest accumulated |gradient| (NeST/RigL)", NULL, VERB_UNDO | VERB_DRY, 1, NULL, command_verb_grow,
     {{"ratio", K_NUM, 0, 1, NULL, "fraction of dormant entries to activate"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"init", K_ENUM, 0, 0, "zero|grad", "new weights: 0 (RigL) or -lr*G (NeST)"},
      {"batches", K_INT, 1, 1e6, NULL, "minibatches of gradient to score with (default 20)"},
      {"scope", K_ENUM, 0, 0, "matrix|global", "rank per matrix or over all"},
      {"recoverable", K_INT, 0, 1, NULL, "0: entries pruned before never regrow"},
      {"pattern", K_ENUM, 0, 0, "unstructured|block", "block = grow whole RxC blocks (block-summed gradient)"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "block shape, rows x columns (pattern=block; default 16x1)"},
      {"dry", K_INT, 0, 1, NULL, "1: only preview, change nothing"}, END}},
    {"prune", "prune ratio=R | threshold=T | sparsity=S [params=GLOB] [pattern=unstructured|row|block [block=RxC]] [ih=R hh=R] [scope=matrix|global] [dry=1]",
     "remove the live connections of smallest magnitude (dual-ratio and row-balanced: BRDS; block: whole RxC blocks by L2 norm)", NULL, VERB_UNDO | VERB_DRY, 1, NULL, command_verb_prune,
     {{"ratio", K_NUM, 0, 1, NULL, "fraction of live entries to remove"},
      {"threshold", K_NUM, 0, 1e9, NULL, "remove |w| below T"},
      {"sparsity", K_NUM, 0, 1, NULL, "prune until this sparsity"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"pattern", K_ENUM, 0, 0, "unstructured|row|block", "row = equal count per row; block = whole RxC blocks"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "block shape, rows x columns (pattern=block; default 16x1)"},
      {"ih", K_NUM, 0, 1, NULL, "amount for *.w_ih (dual-ratio)"},
      {"hh", K_NUM, 0, 1, NULL, "amount for *.w_hh (dual-ratio)"},
      {"scope", K_ENUM, 0, 0, "matrix|global", "rank per matrix or over all"},
      {"dry", K_INT, 0, 1, NULL, "1: only preview, change nothing"}, END}},
    {"resize", "resize layer=L hidden=H [init=fanin|grad|zero] [batches=K]",
     "change a layer's hidden size: the least important units go; new units grow (NeST with init=grad)", NULL, VERB_UNDO, 1,
     NULL, command_verb_resize,
     {{"layer", K_INT, 0, 7, NULL, "layer index"}, {"hidden", K_INT, 1, 65536, NULL, "new hidden size"},
      {"init", K_ENUM, 0, 0, "fanin|grad|zero", "new units (default fanin)"},
      {"batches", K_INT, 1, 1e6, NULL, "minibatches of bridging gradients for init=grad (default 10)"}, END}},
    {"set", "set KEY=VALUE ...", "change a setting: lr, clip, epochs, threads, log_every, eval_batch, lr_decay, decay_start, state.tau", NULL, 0, 1, NULL,
     command_verb_set,
     {{"lr", K_NUM, 1e-9, 1e6, NULL, "learning rate (current)"}, {"clip", K_NUM, 0, 1e9, NULL, "gradient-norm clip"},
      {"epochs", K_INT, 1, 1e6, NULL, "total epochs of the session"}, {"threads", K_INT, 1, 256, NULL, "BLAS threads"},
      {"log_every", K_INT, 1, 1e8, NULL, "metrics row every N steps"},
      {"eval_batch", K_INT, 1, 1e5, NULL, "evaluation streams (1 = protocol)"},
      {"lr_decay", K_NUM, 1e-6, 1, NULL, "per-epoch factor after decay_start"},
      {"decay_start", K_INT, 0, 1e6, NULL, "last epoch at the base rate (absolute epoch number)"},
      {"state.tau", K_NUM, 0, 1e3, NULL, "hidden-state threshold (as state tau=T)"},
      {"dropout", K_NUM, 0, 0.99, NULL, "Zaremba dropout probability (non-recurrent connections)"}, END}},
    {"schedule", "schedule none | agp from=S to=S start=STEP end=STEP every=N | gp grow=R prune=R every=N tolerance=PPL [batches=K cycles=C] [pattern=block block=RxC]"
                 " | hwgp target=T budget_us=X|speedup=R [tolerance=PPL] [grow=R prune=R every=N cycles=C] [phases=P] [min_hidden=A max_hidden=B] [sizes=A:B:S]",
     "automatic pruning schedule driven by training (AGP: Zhu & Gupta; GP: grow-and-prune; hwgp: hardware-guided grow-and-prune, Yin et al.: "
     "GP phases alternate with resizes to the target's hysteresis points, run now)", "none|agp|gp|hwgp", 0, 1, NULL,
     command_verb_schedule,
     {{"from", K_NUM, 0, 1, NULL, "AGP initial sparsity"}, {"to", K_NUM, 0, 1, NULL, "AGP final sparsity"},
      {"start", K_INT, 0, 1e12, NULL, "AGP first step (absolute; default: now)"},
      {"end", K_INT, 0, 1e12, NULL, "AGP last step (absolute)"},
      {"span", K_INT, 1, 1e12, NULL, "AGP: end = start + span (instead of end=)"},
      {"every", K_INT, 1, 1e9, NULL, "AGP: steps between prunings; GP: retraining steps"},
      {"grow", K_NUM, 0, 1, NULL, "GP growth ratio"}, {"prune", K_NUM, 0, 1, NULL, "GP pruning ratio per step"},
      {"tolerance", K_NUM, 0, 1e6, NULL, "GP: allowed validation-ppl rise over the best"},
      {"batches", K_INT, 1, 1e6, NULL, "GP: minibatches of gradient per growth"},
      {"cycles", K_INT, 1, 1e6, NULL, "GP: growth+pruning cycles"},
      {"params", K_STR, 0, 0, NULL, "tensors to prune/grow (globs; default: weight matrices)"},
      {"pattern", K_ENUM, 0, 0, "unstructured|block", "block = prune and grow whole RxC blocks"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "block shape (pattern=block; default 16x1)"},
      {"target", K_STR, 0, 0, NULL, "hwgp: latency target (cpu, cuda, accel[:rows=R,cols=C], cmd:NAME)"},
      {"budget_us", K_NUM, 1e-6, 1e12, NULL, "hwgp: latency budget of one step of the recurrent layers (us)"},
      {"speedup", K_NUM, 1, 1e6, NULL, "hwgp: budget = the model's latency now / R"},
      {"phases", K_INT, 1, 100, NULL, "hwgp: connection+dimension phases at most (default 3)"},
      {"min_hidden", K_INT, 1, 65536, NULL, "hwgp: smallest layer size (default 8)"},
      {"max_hidden", K_INT, 1, 65536, NULL, "hwgp: largest layer size (default 2x the largest now)"},
      {"sizes", K_STR, 0, 0, NULL, "hwgp: sizes profiled (default min_hidden:max_hidden:8)"}, END}},
    {"profile", "profile [target=cpu|cuda|accel[:K=V,...]|cmd:NAME] [backend=cpu|cuda|accel] [sizes=A:B:S] [threads=N] [batch=B] [seq=T] [reps=N] [budget_s=S] ...",
     "measure layer latency against hidden size (appends to latency.tsv)", NULL, 0, 1, NULL, command_verb_profile,
     {{"backend", K_ENUM, 0, 0, "cpu|cuda|accel", "backend"}, {"sizes", K_STR, 0, 0, NULL, "A:B:STEP or a,b,c"},
      {"threads", K_INT, 1, 256, NULL, "threads"}, {"batch", K_INT, 1, 1e5, NULL, "batch"},
      {"seq", K_INT, 1, 1e5, NULL, "sequence length"}, {"input", K_INT, 0, 65536, NULL, "input size (0 = hidden)"},
      {"sparsity", K_NUM, 0, 0.999, NULL, "fraction of zero weights"},
      {"pattern", K_ENUM, 0, 0, "dense|csr|sell|row|block", "sparsity pattern (layout)"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "pattern=block: block shape (default 16x1)"}, {"reps", K_INT, 1, 1e5, NULL, "rounds (default: fill budget_s)"},
      {"budget_s", K_NUM, 1, 86400, NULL, "time for the sweep (default 60)"},
      {"accel", K_STR, 0, 0, NULL, "accelerator parameter file (backend=accel)"},
      {"target", K_STR, 0, 0, NULL, "latency target: cpu, cuda, accel[:rows=R,cols=C|:FILE], cmd:NAME"}, END}},
    {"recommend", "recommend [layer=L] [budget_us=X] [apply=1]",
     "latency-optimal size for a layer (newest profile); apply=1 resizes the layer to it (journaled as that resize, undoable)",
     NULL, VERB_UNDO | VERB_APPLY | VERB_RECORDS, 1, NULL, command_verb_recommend,
     {{"layer", K_INT, 0, 7, NULL, "layer"}, {"budget_us", K_NUM, 0, 1e12, NULL, "latency budget"},
      {"apply", K_INT, 0, 1, NULL, "1: resize the layer to the recommended size"}, END}},
    {"state", "state tau=T", "hidden-state thresholding (DESIGN 3.4): h = 0 where |h| <= T (0 = off)", NULL, 0, 1,
     NULL, command_verb_state, {{"tau", K_NUM, 0, 1e3, NULL, "threshold"}, END}},
    {"snapshot", "snapshot [name=NAME]", "save an undo point under a name", NULL, 0, 1, NULL, command_verb_snapshot,
     {{"name", K_STR, 0, 0, NULL, "letters, digits, - and _"}, END}},
    {"snapshots", "snapshots", "list snapshots with step, validation ppl and size", NULL, 0, 0, NULL, command_verb_snapshots,
     {END}},
    {"undo", "undo", "back to the state before the last train/grow/prune/resize", NULL, 0, 1, NULL, command_verb_undo, {END}},
    {"restore", "restore name=NAME", "back to a named snapshot", NULL, 0, 1, NULL, command_verb_restore,
     {{"name", K_STR, 0, 0, NULL, "snapshot name"}, END}},
    {"export", "export out=DIR", "write the model for PyTorch and topiary eval --model", NULL, 0, 0,
     NULL, command_verb_export, {{"out", K_STR, 0, 0, NULL, "export directory"}, END}},
    {"plot", "plot chart=ppl|loss|sparsity|nnz|lr|tokens|latency [out=FILE.png|.svg]",
     "a publication plot through gnuplot (default SESSION/plots/CHART.png; the .gp script is kept)", NULL, 0, 0, NULL,
     command_verb_plot,
     {{"chart", K_ENUM, 0, 0, "ppl|loss|sparsity|nnz|lr|tokens|latency", "which chart"},
      {"out", K_STR, 0, 0, NULL, "output file (.png or .svg)"}, END}},
    {"save", "save", "save the session now (atomic)", NULL, 0, 0, NULL, command_verb_save, {END}},
    {"status", "status", "step, epoch, learning rate, sizes, sparsity, last validation ppl", NULL, 0, 0, NULL, command_verb_status,
     {END}},
    {"help", "help [VERB]", "this list, or one verb's keys", NULL, 0, 0, NULL, command_verb_help, {END}},
    {"quit", "quit", "save and leave", NULL, 0, 0, NULL, command_verb_quit, {END}},
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
    static const char *names[28];
    const VerbSpec *v = find_verb(verb);
    if (!v) return NULL;
    int k = 0;
    for (; v->keys[k].name && k < 27; k++) names[k] = v->keys[k].name;
    names[k] = NULL;
    return names;
}

TpStatus command_key_spec(const char *verb, const char *key, CommandKeySpec *out)
{
    const VerbSpec *v = find_verb(verb);
    if (!v) return err_set(TP_EINVAL, "unknown verb '%s'", verb);
    for (int k = 0; v->keys[k].name; k++) {
        const KeySpec *ks = &v->keys[k];
        if (strcmp(ks->name, key)) continue;
        *out = *ks;
        return TP_OK;
    }
    return err_set(TP_EINVAL, "%s: unknown key '%s'", verb, key);
}

const char *command_words(const char *verb)
{
    const VerbSpec *v = find_verb(verb);
    return v ? v->words : NULL;
}

/* What each verb's success changes besides the journal (CommandResult.views). */
static unsigned views_of(const VerbSpec *v)
{
    static const struct { const char *verb; unsigned views; } EXTRA[] = {
        {"train", COMMAND_VIEW_MODEL | COMMAND_VIEW_METRICS}, {"profile", COMMAND_VIEW_LATENCY},
        {"snapshot", COMMAND_VIEW_HISTORY}, {"undo", COMMAND_VIEW_MODEL}, {"restore", COMMAND_VIEW_MODEL},
        {"eval", COMMAND_VIEW_MODEL}, {"schedule", COMMAND_VIEW_METRICS | COMMAND_VIEW_LATENCY},
    };
    unsigned views = (v->policy & VERB_UNDO) || v->journaled ? COMMAND_VIEW_MODEL | COMMAND_VIEW_HISTORY : 0;
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
        for (size_t i = 0; i < N_VERBS; i++) spell_consider(&g, cmd->verb, VERBS[i].verb);
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
    if (take_undo && (st = snapshot_take_undo(s, line)) != TP_OK) return err_wrap(st, "%s: undo snapshot: ", v->verb);
    undo_line = line;
    undo_verb = v->verb;
    long step_before = s->trainer.step;
    record_set = 0;
    command_exec_begin(s, line, (v->policy & VERB_TRAINS) && v->journaled && journal_on,
                       v->journaled && journal_on, take_undo);
    st = v->run(s, &c, res);
    res->nan = st == TP_ENAN;
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
    for (size_t i = 0; i < N_VERBS; i++)
        ADD("  %-10s %s%s\n", VERBS[i].verb, VERBS[i].summary, VERBS[i].needs ? " (not available yet)" : "");
#undef ADD
    return buf;
}

