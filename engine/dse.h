/* engine/dse: design-space exploration of the analytical accelerator (engine/accel) for one model as
 * it is [Yu et al., application-driven accelerator design-space exploration]: sweep the array shape
 * (rows x cols), the on-chip weight buffer (sram_kib), the DRAM bandwidth (dram_gbps) and the clock
 * (clock_mhz); for every design predict the latency of one step of all the model's recurrent layers
 * and an area proxy; mark the designs on the Pareto front of (area, latency).
 *
 * The model as the accelerator sees it (dse_model_from): every recurrent layer with its sizes, its
 * cell (LSTM: one gate GEMM N = 4H, K = I + H; H-LSTM: fc1 and the four fc2), and its masks:
 *   dense      every entry live: the dense dataflow;
 *   row        every row of the layer's GEMM ([W_ih W_hh] for an LSTM, fc1 and fc2 each for an H-LSTM)
 *              keeps the same count k: accel's row-balanced dataflow reduces over exactly k;
 *   irregular  unstructured or block sparsity: the rows keep different counts.  The array has no
 *              unstructured dataflow (its columns run in lock step), so the layer is modelled on the
 *              row-balanced dataflow padded to its densest row: k = the largest count of any row.
 * accel applies one kept fraction to both GEMMs of an H-LSTM; the larger of fc1's and fc2's
 * (densest-row) fractions is used, which never under-counts.  A sparse layer runs on the sparse
 * dataflow only where that is faster on the design (the column indices, index_bits a weight, can
 * outweigh a low sparsity); DseDesign.sparse_layers counts the layers that do.  The embedding
 * lookup and the decoder are not modelled (accel models recurrent layers).
 *
 * Area proxy (mm², settable): pe_mm2 per processing element + sram_mm2_per_kib per KiB of weight
 * buffer.  The defaults come from the TPU v1 floor plan (Jouppi et al., ISCA 2017; 28 nm, die
 * <= 331 mm²): the 256x256 int8 MAC array is 24 % of the die (0.00121 mm² a MAC) and the 24 MiB
 * unified buffer 29 % (0.0039 mm² a KiB).  Clock and DRAM bandwidth cost no area in the proxy, so
 * among designs of equal area the front keeps the fastest.
 *
 * Pareto front: a design is dominated when another has area <= and latency <= with one of them
 * strictly smaller; exact ties (same area, same latency) are all kept.  Everything is deterministic:
 * designs are enumerated rows, then cols, sram_kib, dram_gbps, clock_mhz, each in list order.
 */
#ifndef TP_DSE_H
#define TP_DSE_H

#include <stddef.h>

#include "accel.h"
#include "model.h"
#include "base/status.h"

#define DSE_MAX_VALUES 64        /* values of one swept parameter */
#define DSE_MAX_DESIGNS 200000   /* designs of one sweep          */

typedef enum { DSE_ROWS = 0, DSE_COLS, DSE_SRAM_KIB, DSE_DRAM_GBPS, DSE_CLOCK_MHZ, DSE_N_AXES } DseAxis;

typedef struct {
    int n[DSE_N_AXES];
    double v[DSE_N_AXES][DSE_MAX_VALUES];
} DseSpace;

/* rows, cols 16,32,64,128,256; sram_kib 128,512,2048,8192; dram_gbps 12.8,25.6,51.2; clock_mhz 700. */
void dse_space_defaults(DseSpace *s);
/* "rows", "cols", "sram_kib", "dram_gbps", "clock_mhz". */
const char *dse_axis_name(DseAxis a);
/* The axis of a name ("sram-kib" and "sram_kib" both work), or -1. */
int dse_axis_find(const char *name);
/* One axis from "a,b,c" or "A:B:STEP" (or a mix, comma-separated): values in the axis's range
 * (rows/cols whole 1..65536, sram_kib 0..1e9, dram_gbps and clock_mhz > 0), no duplicates, at most
 * DSE_MAX_VALUES; kept in the order given.  TP_EINVAL naming the axis and the bad item; the axis is
 * unchanged on failure. */
TpStatus dse_space_parse(DseSpace *s, DseAxis a, const char *text);
/* "16,32,64" (shortest %g) of one axis. */
void dse_space_format(const DseSpace *s, DseAxis a, char *buf, size_t n);
size_t dse_space_designs(const DseSpace *s);

typedef struct {
    double pe_mm2;            /* per processing element             */
    double sram_mm2_per_kib;  /* per KiB of on-chip weight buffer   */
} DseArea;

void dse_area_defaults(DseArea *a);
TpStatus dse_area_validate(const DseArea *a);
double dse_area(const DseArea *a, const AccelParams *p);

typedef enum { DSE_DENSE = 0, DSE_ROW = 1, DSE_IRREGULAR = 2 } DsePattern;

typedef struct {
    AccelLayer dense;         /* the layer on the dense dataflow (sparsity 0)                   */
    AccelLayer sparse;        /* on the row-balanced dataflow at `kept` (valid when not DENSE)   */
    DsePattern pattern;
    double density;           /* live / all entries of the layer's weight matrices              */
    double kept;              /* kept fraction per row the sparse dataflow runs (densest row)    */
    int k_max, k_min, K;      /* live entries of the densest and sparsest row, row length
                                 (H-LSTM: of the GEMM whose densest-row fraction is larger)     */
} DseLayer;

typedef struct {
    int n_layers;
    int batch;
    DseLayer l[MODEL_MAX_LAYERS];
} DseModel;

const char *dse_pattern_name(DsePattern p);   /* "dense", "row", "irregular" */

/* The recurrent layers of m with their masks as above, batch B, one step (T = 1). */
TpStatus dse_model_from(DseModel *dm, const Model *m, int batch);

typedef struct {
    AccelParams p;            /* the design (the base with the swept fields set)        */
    double area;              /* mm² (area proxy)                                       */
    double latency_us;        /* one step of all recurrent layers, batch B              */
    double streamed_bytes;    /* weight bytes read from DRAM per step                    */
    int sparse_layers;        /* layers run on the sparse dataflow                        */
    int pareto;               /* 1: on the Pareto front                                   */
} DseDesign;

typedef struct {
    int n;
    DseDesign *d;             /* [n], in enumeration order                               */
    int n_pareto;
    int chosen;               /* dse_choose's pick, or -1                                */
} DseResult;

/* Every design of the space on base's other parameters; Pareto front marked; chosen = -1. */
TpStatus dse_sweep(DseResult *r, const AccelParams *base, const DseSpace *s, const DseArea *a, const DseModel *m);
void dse_result_free(DseResult *r);
/* The latency of one step of all layers of m on design p (the faster dataflow per sparse layer). */
TpStatus dse_latency(const AccelParams *p, const DseModel *m, double *us, double *streamed_bytes, int *sparse_layers);

/* on_front[i] = 1 for the points (x[i], y[i]) no other point dominates (rule above), else 0; points
 * with a non-finite coordinate are never on the front and dominate nothing.  Returns the count, or
 * -1 when out of memory. */
int dse_pareto(const double *x, const double *y, int n, int *on_front);

/* The chosen design: budget_us > 0: the smallest area whose latency is within the budget (ties: the
 * lower latency, then the first); else the design on the front with the smallest area x latency.
 * -1 when none meets the budget. */
int dse_choose(const DseResult *r, double budget_us);

#endif
