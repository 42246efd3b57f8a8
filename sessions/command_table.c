/* sessions/command_table: THE VERB TABLE of the command language (see command.h): every verb's
 * synopsis, summary, positional words, undo/journal policy, keys with their ranges, and the function
 * that runs it.  One table drives parsing, validation, help text and dispatch (sessions/command.c),
 * so what `help` says is what the parser accepts. */
#include <string.h>

#include "sessions/command.h"

/* The keys' specs are the public CommandKeySpec (command_key_spec hands them out as they are). */
#define K_INT COMMAND_KEY_INT /* short names for the table below */
#define K_NUM COMMAND_KEY_NUM
#define K_STR COMMAND_KEY_STR
#define K_ENUM COMMAND_KEY_ENUM
typedef CommandKeySpec KeySpec;

#define END {NULL, 0, 0, 0, NULL, NULL}
static const CommandVerbSpec VERBS[] = {
    {"train", "train steps=N | epochs=N | train [limit=N] [undo=0]",
     "train for N minibatches or N epochs, or (bare) to the end of the session's epochs (validation at each epoch end)",
     NULL, VERB_UNDO | VERB_TRAINS, 1, NULL, command_verb_train,
     {{"steps", K_INT, 1, 1e12, NULL, "minibatches"}, {"epochs", K_INT, 1, 1e6, NULL, "epochs"},
      {"limit", K_INT, 1, 1e12, NULL, "bare form: stop after N minibatches"},
      {"undo", K_INT, 0, 1, NULL, "0: no undo point (the journal's later records of one train)"}, END}},
    {"eval", "eval [split=valid|test] [beam=W] [runtime=1] [average=1]", "perplexity of a split (DESIGN 2.5 protocol); WER and CER for a speech session",
     NULL, 0, 0, NULL, command_verb_eval,
     {{"split", K_ENUM, 0, 0, "valid|test|train", "which split (default valid)"},
      {"beam", K_INT, 1, 1000, NULL, "speech: CTC prefix beam search of width W (default 1 = greedy)"},
      {"runtime", K_INT, 0, 1, NULL, "speech: 1 = decode through the batch-1 inference runtime (ms per audio second, kernels)"},
      {"average", K_INT, 0, 1, NULL, "1: score the running weight average (`average start`) instead of the weights"}, END}},
    {"grow", "grow ratio=R [params=GLOB] [init=zero|grad] [batches=K] [scope=matrix|global] [recoverable=0|1] [pattern=block block=RxC [rows=freq]] [dry=1]",
     "activate the dormant connections with the largest accumulated |gradient| (NeST/RigL)", NULL, VERB_UNDO | VERB_DRY, 1, NULL, command_verb_grow,
     {{"ratio", K_NUM, 0, 1, NULL, "fraction of dormant entries to activate"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"init", K_ENUM, 0, 0, "zero|grad", "new weights: 0 (RigL) or -lr*G (NeST)"},
      {"batches", K_INT, 1, 1e6, NULL, "minibatches of gradient to score with (default 20)"},
      {"scope", K_ENUM, 0, 0, "matrix|global", "rank per matrix or over all"},
      {"recoverable", K_INT, 0, 1, NULL, "0: entries pruned before never regrow"},
      {"pattern", K_ENUM, 0, 0, "unstructured|block", "block = grow whole RxC blocks (block-summed gradient)"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "block shape, rows x columns (pattern=block; default 16x1)"},
      {"rows", K_ENUM, 0, 0, "natural|freq", "pattern=block: freq = a block's rows are vocabulary rows of similar word frequency (embedding, decoder), natural = consecutive rows"},
      {"dry", K_INT, 0, 1, NULL, "1: only preview, change nothing"}, END}},
    {"prune", "prune ratio=R | threshold=T | sparsity=S [params=GLOB] [pattern=unstructured|row|block [block=RxC] [rows=freq]] [ih=R hh=R] [scope=matrix|global] [dry=1]",
     "remove the live connections of smallest magnitude (dual-ratio and row-balanced: BRDS; block: whole RxC blocks by L2 norm)", NULL, VERB_UNDO | VERB_DRY, 1, NULL, command_verb_prune,
     {{"ratio", K_NUM, 0, 1, NULL, "remove this fraction of the LIVE weights (0.5 twice: 50 %, then 75 % sparse)"},
      {"threshold", K_NUM, 0, 1e9, NULL, "remove |w| below T"},
      {"sparsity", K_NUM, 0, 1, NULL, "prune the selected matrices TO this sparsity"},
      {"params", K_STR, 0, 0, NULL, "parameter-name globs, comma-separated (default: weight matrices)"},
      {"pattern", K_ENUM, 0, 0, "unstructured|row|block", "row = equal count per row; block = whole RxC blocks"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "block shape, rows x columns (pattern=block; default 16x1)"},
      {"rows", K_ENUM, 0, 0, "natural|freq", "pattern=block: freq = a block's rows are vocabulary rows of similar word frequency (embedding, decoder), natural = consecutive rows"},
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
    {"tie", "tie [from=decoder|embed]",
     "one matrix for the embedding and the decoder (Press & Wolf): embed.weight takes decoder.weight's values and "
     "mask (or keeps its own), decoder.weight goes; needs embed = the last layer's hidden size", NULL,
     VERB_UNDO | VERB_LM, 1, NULL, command_verb_tie,
     {{"from", K_ENUM, 0, 0, "decoder|embed", "the matrix kept (default decoder: the output embedding)"}, END}},
    {"set", "set KEY=VALUE ...", "change a setting: lr, clip, epochs, threads, log_every, eval_batch, lr_decay, decay_start, state.tau, dropout, undo_confirm; an4: freq_mask, time_mask", NULL, 0, 1, NULL,
     command_verb_set,
     {{"lr", K_NUM, 1e-9, 1e6, NULL, "learning rate (current)"}, {"clip", K_NUM, 0, 1e9, NULL, "gradient-norm clip"},
      {"epochs", K_INT, 1, 1e6, NULL, "total epochs of the session"}, {"threads", K_INT, 1, 256, NULL, "BLAS threads"},
      {"log_every", K_INT, 1, 1e8, NULL, "metrics row every N steps"},
      {"eval_batch", K_INT, 1, 1e5, NULL, "evaluation streams (1 = protocol)"},
      {"lr_decay", K_NUM, 1e-6, 1, NULL, "per-epoch factor after decay_start"},
      {"decay_start", K_INT, 0, 1e6, NULL, "last epoch at the base rate (absolute epoch number)"},
      {"state.tau", K_NUM, 0, 1e3, NULL, "hidden-state threshold (as state tau=T)"},
      {"dropout", K_NUM, 0, 0.99, NULL, "Zaremba dropout probability (non-recurrent connections)"},
      {"undo_confirm", K_INT, 0, 1e9, NULL, "undo of more training steps asks for force=1 (default 200)"},
      {"freq_mask", K_STR, 0, 0, NULL, "an4: SpecAugment bands NxW (N masks of up to W features; 0x0 = off)"},
      {"time_mask", K_STR, 0, 0, NULL, "an4: SpecAugment spans NxW (N masks of up to W frames; 0x0 = off)"}, END}},
    {"distill", "distill teacher=EXPORTDIR [alpha=A] | distill off | distill",
     "learn from a trained teacher's word distributions as well as from the text (knowledge distillation, Hinton et al.; "
     "Kim & Rush): each word's target becomes (1-A) the next word + A the teacher's softmax; bare: the current teacher",
     "off", VERB_RECORDS | VERB_LM | VERB_WORD_OPTIONAL, 1, NULL, command_verb_distill,
     {{"teacher", K_STR, 0, 0, NULL, "an export of a model over the same vocabulary (topiary export --out DIR)"},
      {"alpha", K_NUM, 0, 1, NULL, "weight of the teacher's distribution in the target (default 0.5)"},
      {"crc32", K_STR, 0, 0, NULL, "the teacher's model.safetensors CRC32 (the journal records it; replay checks it)"}, END}},
    {"average", "average start [every=N] | average apply | average off | average",
     "weight averaging (Polyak; the averaged SGD of AWD-LSTM; SWA): from now on every N-th training step adds the weights to "
     "a running mean; apply makes the mean the model (pruned weights stay 0); `eval average=1` scores it first; bare: the "
     "average's state", "start|apply|off", VERB_UNDO | VERB_RECORDS | VERB_WORD_OPTIONAL, 1, NULL, command_verb_average,
     {{"every", K_INT, 1, 1e9, NULL, "start: training steps between samples (default 10)"}, END}},
    {"schedule", "schedule none | agp from=S to=S start=STEP end=STEP every=N | gp grow=R prune=R every=N tolerance=PPL [batches=K cycles=C] [pattern=block block=RxC]"
                 " | hwgp target=T budget_us=X|speedup=R [tolerance=PPL] [grow=R prune=R every=N cycles=C | targets=GLOB:S[:RxC[:freq]]+... ramp=N every=N grow=R retrain=N]"
                 " [phases=P] [finetune=E [average=N]] [min_hidden=A max_hidden=B] [sizes=A:B:S]",
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
      {"sizes", K_STR, 0, 0, NULL, "hwgp: sizes profiled (default min_hidden:max_hidden:8)"},
      {"targets", K_STR, 0, 0, NULL, "hwgp: connection targets GLOB:SPARSITY[:RxC[:freq]] joined by + (ramp, then grow and prune back; freq: vocabulary rows by word frequency)"},
      {"ramp", K_INT, 1, 10000, NULL, "hwgp targets: prune events of the AGP ramp to the targets (default 16)"},
      {"retrain", K_INT, 1, 1e9, NULL, "hwgp targets: steps of training between growth and pruning back (default 2x every)"},
      {"finetune", K_INT, 1, 1000, NULL, "hwgp: epochs of fine-tuning after the last phase"},
      {"average", K_INT, 1, 1e9, NULL, "hwgp: average the fine-tuning's weights every N steps; the mean is the model at its end"}, END}},
    {"profile", "profile [target=cpu|cuda|accel[:K=V,...]|cmd:NAME] [backend=cpu|cuda|accel] [sizes=A:B:S] [threads=N] [batch=B] [seq=T] [reps=N] [budget_s=S] [layer=L] ...",
     "measure layer latency against hidden size (appends to latency.tsv); on a speech session one bidirectional layer "
     "(layer=L) in us per second of audio: 2 directions x a window of seq = 100 / the convolutions' time strides frames, "
     "input = the layer's input width", NULL, 0, 1, NULL, command_verb_profile,
     {{"backend", K_ENUM, 0, 0, "cpu|cuda|accel", "backend"}, {"sizes", K_STR, 0, 0, NULL, "A:B:STEP or a,b,c"},
      {"layer", K_INT, 0, 7, NULL, "speech session: the layer measured (its input width; default 0)"},
      {"threads", K_INT, 1, 256, NULL, "threads"}, {"batch", K_INT, 1, 1e5, NULL, "batch"},
      {"seq", K_INT, 1, 1e5, NULL, "sequence length"}, {"input", K_INT, 0, 65536, NULL, "input size (0 = hidden)"},
      {"sparsity", K_NUM, 0, 0.999, NULL, "fraction of zero weights"},
      {"pattern", K_ENUM, 0, 0, "dense|csr|sell|sell-seg|unstructured|row|block", "sparsity pattern (layout)"},
      {"block", K_ENUM, 0, 0, "16x1|8x1|4x4", "pattern=block: block shape (default 16x1)"}, {"reps", K_INT, 1, 1e5, NULL, "rounds (default: fill budget_s)"},
      {"budget_s", K_NUM, 1, 86400, NULL, "time for the sweep (default 60)"},
      {"accel", K_STR, 0, 0, NULL, "accelerator parameter file (backend=accel)"},
      {"target", K_STR, 0, 0, NULL, "latency target: cpu, cuda, accel[:rows=R,cols=C|:FILE], cmd:NAME"}, END}},
    {"recommend", "recommend [layer=L] [budget_us=X] [apply=1]",
     "latency-optimal size for a layer (newest profile); apply=1 resizes the layer to it (journaled as that resize, undoable); "
     "on a speech session the budget is in us per second of audio",
     NULL, VERB_UNDO | VERB_APPLY | VERB_RECORDS, 1, NULL, command_verb_recommend,
     {{"layer", K_INT, 0, 7, NULL, "layer"}, {"budget_us", K_NUM, 0, 1e12, NULL, "latency budget (speech: us per second of audio)"},
      {"apply", K_INT, 0, 1, NULL, "1: resize the layer to the recommended size"}, END}},
    {"dse", "dse [rows=LIST] [cols=LIST] [sram_kib=LIST] [dram_gbps=LIST] [clock_mhz=LIST] [batch=B] [budget_us=X] [out=FILE.tsv] [plot=FILE.png] ...",
     "design-space exploration: sweep the accelerator model's array, SRAM, bandwidth and clock for this model (sizes, masks) and mark the Pareto set of latency vs area (read-only)",
     NULL, VERB_LM, 0, NULL, command_verb_dse,
     {{"rows", K_STR, 0, 0, NULL, "array rows: a,b,c or A:B:STEP (default 16,32,64,128,256)"},
      {"cols", K_STR, 0, 0, NULL, "array columns (default 16,32,64,128,256)"},
      {"sram_kib", K_STR, 0, 0, NULL, "weight buffer, KiB (default 128,512,2048,8192)"},
      {"dram_gbps", K_STR, 0, 0, NULL, "DRAM bandwidth, GB/s (default 12.8,25.6,51.2)"},
      {"clock_mhz", K_STR, 0, 0, NULL, "clock, MHz (default 700)"},
      {"batch", K_INT, 1, 1e5, NULL, "streams per step (default 1)"},
      {"budget_us", K_NUM, 0, 1e12, NULL, "choose the smallest design within this latency per step"},
      {"area_pe", K_NUM, 0, 1e6, NULL, "area proxy: mm2 per PE (default 0.00121, TPU v1)"},
      {"area_kib", K_NUM, 0, 1e6, NULL, "area proxy: mm2 per KiB of SRAM (default 0.0039, TPU v1)"},
      {"accel", K_STR, 0, 0, NULL, "the other accelerator parameters (JSON file; default built in)"},
      {"out", K_STR, 0, 0, NULL, "TSV of every design"}, {"plot", K_STR, 0, 0, NULL, "figure FILE.png or FILE.svg (gnuplot)"},
      {"all", K_INT, 0, 1, NULL, "1: list every design, not only the Pareto front"}, END}},
    {"state", "state tau=T", "hidden-state thresholding (DESIGN 3.4): h = 0 where |h| <= T (0 = off)", NULL, 0, 1,
     NULL, command_verb_state, {{"tau", K_NUM, 0, 1e3, NULL, "threshold"}, END}},
    {"snapshot", "snapshot [name=NAME]", "save an undo point under a name", NULL, VERB_HISTORY, 1, NULL, command_verb_snapshot,
     {{"name", K_STR, 0, 0, NULL, "letters, digits, - and _"}, END}},
    {"snapshots", "snapshots", "list snapshots with step, validation ppl and size", NULL, 0, 0, NULL, command_verb_snapshots,
     {END}},
    {"undo", "undo [force=1]", "back to the state before the last train/grow/prune/resize (more than undo_confirm steps: asks for force=1)",
     NULL, VERB_HISTORY, 1, NULL, command_verb_undo,
     {{"force", K_INT, 1, 1, NULL, "1: go ahead although it undoes more than undo_confirm training steps"}, END}},
    {"redo", "redo", "forward again to the state the last undo left (until another change)", NULL, VERB_HISTORY, 1, NULL,
     command_verb_redo, {END}},
    {"event", "event step=S kind=prune|grow|restore nnz=N",
     "journal only: a schedule's change, checked by replay against its own events.tsv, never executed", NULL, VERB_NOTE, 1,
     NULL, command_verb_event,
     {{"step", K_INT, 0, 1e15, NULL, "the step of the change"}, {"kind", K_ENUM, 0, 0, "prune|grow|restore", "what it was"},
      {"nnz", K_INT, 0, 1e15, NULL, "non-zeros after it"}, END}},
    {"restore", "restore name=NAME", "back to a named snapshot", NULL, 0, 1, NULL, command_verb_restore,
     {{"name", K_STR, 0, 0, NULL, "snapshot name"}, END}},
    {"export", "export out=DIR", "write the model for PyTorch and topiary eval --model", NULL, 0, 0,
     NULL, command_verb_export, {{"out", K_STR, 0, 0, NULL, "export directory"}, END}},
    {"plot", "plot chart=ppl|loss|sparsity|nnz|lr|tokens|latency|ctc|wer [out=FILE.png|.svg]",
     "a publication plot through gnuplot (default SESSION/plots/CHART.png; the .gp script is kept)", NULL, 0, 0, NULL,
     command_verb_plot,
     {{"chart", K_ENUM, 0, 0, "ppl|loss|sparsity|nnz|lr|tokens|latency|ctc|wer", "which chart (ctc, wer: speech sessions)"},
      {"out", K_STR, 0, 0, NULL, "output file (.png or .svg)"}, END}},
    {"save", "save", "save the session now (atomic)", NULL, 0, 0, NULL, command_verb_save, {END}},
    {"status", "status", "step, epoch, learning rate, sizes, sparsity, last validation ppl", NULL, 0, 0, NULL, command_verb_status,
     {END}},
    {"lesson", "lesson list | show [name=ID] | start name=ID | mark | check [name=ID]",
     "lessons on the bundled task: start one (records its reference values), check its exercise on this session",
     "list|show|start|mark|check", 0, 0, NULL, command_verb_lesson,
     {{"name", K_STR, 0, 0, NULL, "lesson id, number or name (lesson list shows them)"}, END}},
    {"explain", "explain [TERM]", "short definition of a term the screens show (no term: the list of terms)", NULL, 0, 0,
     NULL, command_verb_explain, {{"term", K_STR, 0, 0, NULL, "the term, as explain TERM (quote several words)"}, END}},
    {"help", "help [VERB]", "this list, or one verb's keys", NULL, 0, 0, NULL, command_verb_help, {END}},
    {"quit", "quit", "save and leave", NULL, 0, 0, NULL, command_verb_quit, {END}},
};
#define N_VERBS (sizeof VERBS / sizeof VERBS[0])

const CommandVerbSpec *command_table_find(const char *v)
{
    for (size_t i = 0; i < N_VERBS; i++)
        if (!strcmp(VERBS[i].verb, v)) return &VERBS[i];
    return NULL;
}

const CommandVerbSpec *command_table_all(size_t *n)
{
    *n = N_VERBS;
    return VERBS;
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
    static const char *names[COMMAND_MAX_KEYS];
    const CommandVerbSpec *v = command_table_find(verb);
    if (!v) return NULL;
    int k = 0;
    for (; v->keys[k].name && k < COMMAND_MAX_KEYS - 1; k++) names[k] = v->keys[k].name;
    names[k] = NULL;
    return names;
}

TpStatus command_key_spec(const char *verb, const char *key, CommandKeySpec *out)
{
    const CommandVerbSpec *v = command_table_find(verb);
    if (!v) return err_set(TP_EINVAL, "unknown verb '%s'", verb);
    for (int k = 0; v->keys[k].name; k++) {
        const CommandKeySpec *ks = &v->keys[k];
        if (strcmp(ks->name, key)) continue;
        *out = *ks;
        return TP_OK;
    }
    return err_set(TP_EINVAL, "%s: unknown key '%s'", verb, key);
}

const char *command_words(const char *verb)
{
    const CommandVerbSpec *v = command_table_find(verb);
    return v ? v->words : NULL;
}

