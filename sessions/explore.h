/* sessions/explore: the design-space exploration workflow behind `topiary dse` and the `dse` verb
 * (engine/dse does the sweep and the Pareto maths): one request set from `--key value` or
 * `key=value`, the session's model read as it is (sizes, cell, masks), the sweep, the chosen design,
 * and what comes out: a text table (the Pareto front, or every design with all=1; '*' marks the
 * front, '>' the chosen design), one JSON object, a TSV of every design, and a gnuplot figure (every
 * design, the front, the chosen one; through plots/gnuplot, which takes the numbers).  Read-only on
 * the session; nothing here prints.
 */
#ifndef TP_EXPLORE_H
#define TP_EXPLORE_H

#include <stddef.h>

#include "engine/dse.h"
#include "sessions/session.h"

typedef struct {
    DseSpace space;           /* the swept lists (dse_space_defaults)                     */
    DseArea area;             /* the area proxy's weights (dse_area_defaults)             */
    int batch;                /* 1                                                         */
    double budget_us;         /* > 0: choose the smallest design within it                */
    char accel[1024];         /* the other accelerator parameters ("" = the default)       */
    char out[1024];           /* TSV of every design ("" = none)                          */
    char plot[1024];          /* FILE.png / FILE.svg ("" = none)                          */
    int all;                  /* the table lists every design, not only the front         */
    int json;                 /* one JSON object instead of the table                     */
} ExploreRequest;

void explore_request_defaults(ExploreRequest *q);
/* One option by name: rows, cols, sram_kib, dram_gbps, clock_mhz (lists: a,b,c or A:B:STEP), batch,
 * budget_us, accel, area_pe, area_kib, out, plot, all ('-' and '_' both work).  TP_EINVAL naming the
 * option; *known = 0 for an unknown key. */
TpStatus explore_request_set(ExploreRequest *q, const char *key, const char *value, int *known);

/* Run q on the session's model: *text (malloc'd) is the table or the JSON line; files as asked.
 * summary (may be NULL): one line ("300 designs, 12 on the front; chosen 64x64 ..."). */
TpStatus explore_session(const Session *s, const ExploreRequest *q, char **text, char *summary, size_t sn);

/* The TSV of a result (header line first; every design in enumeration order), malloc'd. */
TpStatus explore_tsv(const DseResult *r, char **tsv);

#endif
