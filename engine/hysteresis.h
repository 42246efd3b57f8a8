/* engine/hysteresis: analysis of a latency curve L(d) (DESIGN 3.3): running minimum, dominated sizes,
 * the Pareto set, hysteresis points, non-monotonic jumps, the repeatability of two sweeps, and the
 * size recommendations built on them.  Pure functions: arrays in, results out, no clock, no I/O, so
 * every rule is tested on synthetic curves (tests/test_latency.c) and on the accelerator model.
 *
 * The seed paper (Yin et al., IEEE TETC 2022) observes that measured latency is a staircase with
 * spikes rather than a smooth function of the hidden size, and that a layer should sit at the right
 * edge of a step: there it has the most capacity for its latency.  Measured curves are noisy, so
 * every comparison below is made against a noise band, never on bare medians:
 *
 *   band(d) = [lo, hi],  lo = min(p10, med·(1 − margin)),  hi = max(p90, med·(1 + margin))
 *
 * (p10/p90 over the sweep's rounds; margin is a relative floor, default 2% for measured curves and
 * 0 for the deterministic accelerator model, whose band is then the single value L(d)).
 *
 *   dominated     d is dominated when a larger d' is faster beyond noise: hi(d') <= lo(d).  With a
 *                 zero band this is L(d') <= L(d) (DESIGN 3.3: equal latency with more capacity
 *                 dominates too, which makes the interior of an exact plateau dominated).
 *   Pareto set    the sizes not dominated.
 *   running min   runmin(d) = min over d' >= d of med(d'): the least latency that buys at least d.
 *   hysteresis    k is a hysteresis point (the right edge of a plateau: the largest size reachable
 *   point         at no latency cost) when all of
 *                   (a) k is Pareto;
 *                   (b) the plateau: the size below k (skipping spikes: sizes with a strictly
 *                       faster larger size beyond noise) has med(k) inside its band, so growing to
 *                       k is free; the plateau extends down as long as that holds (contiguous: a
 *                       single noisy size far below k cannot make a plateau of a steep stretch);
 *                   (c) the step: the next Pareto size p > k is slower beyond noise, lo(p) > hi(k).
 *                 Consequences the tests pin down: a strictly increasing curve has none (no plateau);
 *                 a smooth, slowly rising noisy curve has none (no step beyond noise); a spike does
 *                 not fake a step (the spike is dominated, so it is skipped by (c)); the last size
 *                 is never one (whether the plateau goes on is not measured).
 *   jump          for a size d, the fastest larger size d*: magnitude 1 − med(d*)/med(d) when
 *                 positive (how much faster the larger size is); "beyond noise" when d is dominated.
 */
#ifndef TP_HYSTERESIS_H
#define TP_HYSTERESIS_H

#include <stddef.h>

#include "base/status.h"

/* A curve as plain arrays (sizes ascending strictly; p10/p90 may be NULL = no band). */
typedef struct {
    int n;
    const int *hidden;
    const double *median, *p10, *p90;
} HystSeries;

typedef struct {
    double margin;   /* relative floor of the noise band (default 0.02; 0 for exact models) */
    int max_jumps;   /* how many of the largest jumps to keep (default 5)                      */
    int margin_only; /* 1: band = med·(1 ± margin), ignoring p10/p90 (DESIGN 3.3 "or a relative
                      * margin"): for a busy machine, where preemption widens p90 far beyond the
                      * uncertainty of a median over many rounds                                */
} HystOptions;

void hysteresis_options_defaults(HystOptions *o);

typedef struct {
    int index;          /* k                                                                   */
    int plateau_from;   /* the plateau's left end (b)                                         */
    int next;           /* p: the next Pareto size after the step                              */
    double step;        /* med(p)/med(k) − 1                                                   */
} HystPoint;

typedef struct {
    int from, to;       /* indices: d and its fastest larger size d*                           */
    double magnitude;   /* 1 − med(d*)/med(d), > 0                                             */
    int beyond_noise;   /* d is dominated                                                      */
} HystJump;

typedef struct {
    int n;
    double margin;
    int margin_only;
    double noise_rel;        /* median over sizes of (p90 − p10) / (2 med): the typical band    */
    double *lo, *hi;         /* [n] the bands                                                  */
    double *runmin;          /* [n]                                                            */
    int *dominated_by;       /* [n] nearest larger size dominating d, −1 if none               */
    int *reach;              /* [n] largest d' >= d with med(d') <= hi(d): no latency cost     */
    int *pareto, n_pareto;   /* indices, ascending                                             */
    int n_dominated;
    HystPoint *points;
    int n_points;
    HystJump *jumps;         /* largest first                                                  */
    int n_jumps;
    double max_jump_beyond;  /* largest magnitude among jumps beyond noise (0 if none)          */
} HystAnalysis;

/* Analyse a curve.  TP_EINVAL for n < 1, sizes not ascending, a non-finite or non-positive median,
 * or p10 > median > p90 (beyond rounding). */
TpStatus hysteresis_analyze(HystAnalysis *a, const HystSeries *s, const HystOptions *o);
void hysteresis_free(HystAnalysis *a);

/* Repeatability of two sweeps of the same conditions.  A hysteresis point of A is matched by one of B
 * when they are the same size, or when every size from one to the other (inclusive) lies inside the
 * first one's band in its own curve (the same flat stretch, so the difference is noise); matches are
 * one-to-one, nearest first.  jaccard = matched / (n_a + n_b − matched), 1 when both are empty. */
typedef struct {
    int n_a, n_b, n_matched;
    double jaccard;
    int n_dom_a, n_dom_b, n_dom_both; /* dominated sizes (same size in both), on common sizes      */
    double dom_jaccard;
    int n_common;                     /* sizes measured in both                                   */
    double median_rel_diff;           /* median over common sizes of |med_a − med_b| / med_a       */
} HystOverlap;

TpStatus hysteresis_overlap(HystOverlap *o, const HystSeries *sa, const HystAnalysis *a, const HystSeries *sb,
                            const HystAnalysis *b);

/* Recommendation for a latency budget: the size with the most capacity whose median is within the
 * budget.  That size is always Pareto, and on a staircase it is the right edge of the highest step
 * that fits, i.e. the hysteresis point with the most capacity (is_hysteresis says whether it is one;
 * it need not be on a smooth stretch).  TP_ERANGE when the budget is below every size (the message
 * names the fastest size); at_range_end = 1 when the budget admits the largest measured size (the
 * curve may go on: larger sizes were not measured). */
typedef struct {
    int index, hidden;
    double median_us;
    int is_hysteresis, at_range_end;
} HystPick;

TpStatus hysteresis_recommend_budget(HystPick *p, const HystSeries *s, const HystAnalysis *a, double budget_us);

/* Recommendation for a size the user typed (or a layer's current size): the target's latency is that
 * of the smallest measured size >= target (TP_ERANGE outside the measured range).  nearest: the
 * nearest larger size whose median is <= the target's (at least as fast), −1 if none (the target
 * is already optimal: every larger size is slower); nearest_beyond_noise: it is strictly faster beyond
 * noise (hi(nearest) < lo(target); an equal latency is no gain).
 * furthest: the largest size reachable at no latency cost within noise (reach), i.e. the answer to
 * "no slower than now"; equal to the target's index when none is. */
typedef struct {
    int target_index;
    int nearest, nearest_beyond_noise;
    int furthest;
} HystTargetPick;

TpStatus hysteresis_recommend_target(HystTargetPick *p, const HystSeries *s, const HystAnalysis *a, int target);

/* The analysis as a JSON object (one line, malloc'd): sizes, not indices. */
TpStatus hysteresis_json(const HystSeries *s, const HystAnalysis *a, char **buf);

#endif
