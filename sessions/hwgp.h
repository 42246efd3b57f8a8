/* sessions/hwgp: hardware-guided grow-and-prune (Yin et al., "Towards execution-efficient LSTMs via
 * hardware-guided grow-and-prune paradigm", IEEE TETC 2022; DESIGN 3.3 "Symbiosis loop"), the
 * `schedule hwgp` verb:
 *
 *   schedule hwgp target=T budget_us=X | speedup=R [tolerance=PPL] [grow=R prune=R every=N cycles=C
 *                 batches=K] [pattern=block block=RxC] [params=GLOB] [phases=P] [min_hidden=A]
 *                 [max_hidden=B] [sizes=A:B:S]
 *
 * Phases alternate, at most P times (default 3):
 *   (1) connections: the GP cycle of `schedule gp` (growth, iterative pruning with retraining,
 *       tolerance and restore of the last good masks), trained until the GP schedule is done;
 *       skipped when grow = prune = 0;
 *   (2) dimensions: the target's latency curve L(d) is measured (or modelled) at the model's density
 *       and pattern, appended to SESSION/latency.tsv, and each layer is resized to the largest
 *       hysteresis point of that curve (the Pareto set when the curve has none) whose latency fits
 *       the layer's share of the budget: shrinking removes the least important units (engine/resize),
 *       growing to the right edge of a plateau (free capacity) uses NeST growth, init=grad.  Once the
 *       budget is met, a layer's share is its own latency now ("no slower than now").
 * It stops when the sizes are stable, the budget is met and the validation perplexity is within
 * tolerance of where it started, or after P phases; after a dimension phase that changed a size in
 * the last phase, one more connection phase retrains at the new sizes.
 *
 * The budget is the latency of one step of the recurrent layers: Σ_l L(h_l), each layer read from the
 * same curve (input size = hidden size).  speedup=R sets it to the model's latency now / R.
 *
 * Journal and replay: the verb drives other verbs through command_execute_nested, so the journal
 * holds what it did — `schedule gp ...`, `train steps=N`, `schedule none`, `resize layer=L hidden=H`
 * — and replay (--verify) repeats it bit for bit without measuring anything.  Every decision is also a
 * line of SESSION/hwgp.log and of the verb's text, and SESSION/hwgp.json holds the run's state for the
 * front ends (phase, budget, latency on the target now, sizes chosen per phase, the latency.tsv run
 * id of each curve a decision used).
 */
#ifndef TP_HWGP_H
#define TP_HWGP_H

#include <stddef.h>

#include "base/status.h"
#include "engine/hysteresis.h"
#include "engine/model.h"

/* The sizes of the dimension update: for each layer of cur[0..L-1] (every size a point of s) the
 * largest candidate size (hysteresis points of a; its Pareto set when it has none) within
 * [min_h, max_h] whose latency fits the layer's share of budget_us (when Σ L(cur) <= budget: L(cur_l)
 * itself).  out[l] = cur[l] when no candidate fits a layer that already meets its share; else the
 * fastest candidate.  *lat_now, *lat_new: Σ L before and after; *met: lat_new <= budget_us.
 * keep_last != 0: the last layer keeps its size (a tied embedding fixes its width, model.h); its
 * latency is taken off the budget before the other layers' shares. */
TpStatus hwgp_choose(const HystSeries *s, const HystAnalysis *a, const int *cur, int L, int keep_last, double budget_us, int min_h,
                     int max_h, int *out, double *lat_now, double *lat_new, int *met);

/* The connection targets of `schedule hwgp targets=...` (dual ratios and patterns per group, the
 * connection update of the paper's GP: reach a density, then grow and prune back):
 *   targets=GLOB:SPARSITY[:RxC[:freq]][+GLOB:SPARSITY[:RxC[:freq]]...]
 * e.g. `l*.w_*:0.9:16x1+embed.weight:0.962+decoder.weight:0.962:4x4`.  GLOB is a params= selection
 * (comma-separated globs, engine/mask's protection rule); SPARSITY in [0, 0.999]; RxC one of the block
 * shapes of the sparse kernels (16x1, 8x1, 4x4): prune and grow that group in whole blocks; freq:
 * a block's rows are vocabulary rows of similar word frequency (`rows=freq` of prune and grow). */
enum { HWGP_MAX_GROUPS = 8 };
typedef struct {
    char params[96];
    double sparsity;
    char block[8]; /* "" = unstructured */
    int freq_rows; /* 1: rows=freq */
} HwgpGroup;
TpStatus hwgp_parse_targets(const char *text, HwgpGroup *g, int *n);
/* Sparsity after prune event i of n (1..n) of the AGP cubic ramp from s0 to sf (Zhu & Gupta):
 * sf + (s0 - sf) (1 - i/n)^3. */
double hwgp_ramp_value(double s0, double sf, int i, int n);

/* The state SESSION/hwgp.json holds for front ends (all zero/empty when there is none). */
typedef struct {
    int have;
    char target[160];
    char stage[16];          /* connections | dimensions | done | stopped | failed */
    int phase, phases;
    double budget_us, latency_us, base_latency_us;
    double base_ppl, ppl;
    int n_layers;
    int sizes[MODEL_MAX_LAYERS];
    char curve_run[32];      /* latency.tsv run id of the last curve a decision used */
    char last[200];          /* the last log line                                   */
} HwgpStatus;

TpStatus hwgp_status_load(const char *session_dir, HwgpStatus *st);
/* One line: "hwgp phase 2/3 (dimensions) on accel: budget 40.0 us, now 52.3 us; sizes 200,128". */
void hwgp_status_line(const HwgpStatus *st, char *buf, size_t n);

#endif
