/* engine/accel: an analytical model of an LSTM accelerator — a weight-stationary R×C systolic array
 * with an on-chip weight buffer, DRAM behind it and a vector unit for the gate maths — that predicts
 * the latency of one LSTM or H-LSTM layer step, dense or row-balanced sparse, before anything is
 * measured.  DESIGN 3.3 [Yu et al., application-driven design-space exploration]: the latency of a
 * GEMM on a tiled array is the sum over tiles of max(compute, memory) plus overheads, and tile
 * padding ceil(d/t)·t makes it a staircase in d.  That staircase is the latency hysteresis of Yin et
 * al. (IEEE TETC 2022) in its cleanest form: every size up to the next tile boundary costs the same,
 * so the right edge of each step is free capacity.  The model also gives the analysis a
 * deterministic curve for tests.
 *
 * The model (all counts in clock cycles; R = rows, C = cols of the array):
 *   A GEMM y[B, N] = W[N, K] x[B, K] is cut into ceil(K/R) × ceil(N/C) tiles; K (the reduction) runs
 *   down the array's rows, N (the outputs) across its columns.  Each tile costs
 *       compute = weight_load_cycles + B + tile_fill_cycles
 *   whether it is full or a padded partial tile (the padding), and
 *       memory  = 0 if the tile's weights are resident in the on-chip buffer, else
 *                 tile_bytes / (dram_gbps / clock)            (the real, unpadded bytes)
 *   and takes max(compute, memory) (double-buffered: loading the next tile overlaps this one).
 *   Residency: the buffer keeps the first sram_kib of the layer's weights, in tile order, pinned for
 *   every step (steady state of sequential inference, as the measured protocol); the rest streams
 *   from DRAM every step.
 *   LSTM step: one GEMM with N = 4H (the gates i, f, g, o stacked, as engine/lstm) and K = I + H
 *   ([x; h] concatenated), then the gate maths on the vector unit:
 *       ceil(B·H / vector_lanes) · vector_cycles, plus step_overhead_cycles.
 *   H-LSTM step (Dai, Yin, Jha): fc1 of the four gate DNNs stacked, N = 4M, K = I + H; fc2 as four
 *   GEMMs N = H, K = M; ReLU over 4M values (ceil(B·4M/lanes) cycles) before the gate maths.
 *   Row-balanced sparsity s (every row keeps k = ceil((1 − s)·K) weights, BRDS): the array reduces
 *   over k instead of K (a gather unit feeds each column its k inputs, which row balance makes equal
 *   across rows), and every weight carries index_bits of column index.
 *   A window of T steps costs T steps (the recurrence serialises them).
 */
#ifndef TP_ACCEL_H
#define TP_ACCEL_H

#include <stddef.h>

#include "latency.h"
#include "base/status.h"

typedef struct {
    char name[96];
    int rows, cols;             /* R × C processing elements                                 */
    double clock_mhz;
    double weight_bytes;        /* bytes per weight (1 = int8)                               */
    int index_bits;             /* bits of column index per weight, row-balanced sparse only */
    double sram_kib;            /* on-chip weight buffer                                     */
    double dram_gbps;           /* DRAM bandwidth, GB/s (1e9 bytes per second)               */
    int weight_load_cycles;     /* per tile: shifting a tile's weights in (0 = overlapped)   */
    int tile_fill_cycles;       /* per tile: pipeline fill and drain                          */
    int vector_lanes;           /* elementwise unit width                                     */
    int vector_cycles;          /* cycles per lane group for the gate maths of one unit       */
    int step_overhead_cycles;   /* per step: control, synchronisation, state write-back       */
} AccelParams;

/* The documented default (the same values as data/accel-default.json). */
void accel_defaults(AccelParams *p);
TpStatus accel_params_validate(const AccelParams *p);
/* Parse JSON: every field optional (defaults fill in), keys starting with '_' are comments,
 * an unknown key is refused (a typo would silently keep a default). */
TpStatus accel_params_parse(AccelParams *p, const char *json);
TpStatus accel_params_load(AccelParams *p, const char *path);
/* "accel=NAME; array=128x128; clock=700MHz; sram=8192KiB; dram=25.6GB/s; ..." */
void accel_describe(const AccelParams *p, char *buf, size_t n);

typedef enum { ACCEL_LSTM = 0, ACCEL_HLSTM = 1 } AccelCell;

typedef struct {
    AccelCell cell;
    int I, H, M;        /* input, hidden, gate hidden (H-LSTM)                     */
    int B, T;           /* batch, steps                                            */
    double sparsity;    /* fraction of zero weights                                */
    int row_balanced;   /* 1: row-balanced sparse; 0: dense (sparsity must be 0)   */
} AccelLayer;

#define ACCEL_MAX_GEMMS 5

typedef struct {
    int N, K, k;                       /* outputs, reduction, kept per row (k = K dense)   */
    int k_tiles, n_tiles;              /* ceil(k/R), ceil(N/C)                             */
    int count;                         /* identical GEMMs (H-LSTM fc2: 4)                  */
    double bytes, streamed_bytes;      /* weights (with indices), part streamed from DRAM  */
    double compute_cycles, memory_cycles, cycles; /* summed over tiles (and count)         */
    int memory_bound_tiles;
} AccelGemm;

typedef struct {
    int n_gemms;
    AccelGemm g[ACCEL_MAX_GEMMS];
    double vector_cycles, overhead_cycles, step_cycles;
    double us;                         /* T steps                                          */
} AccelBreakdown;

TpStatus accel_layer(AccelBreakdown *b, const AccelParams *p, const AccelLayer *l);

/* One or two sentences on why the latency differs between layer a and layer b (which dimension
 * crossed which tile boundary, the weights leaving the buffer, the vector unit), or that nothing
 * changed. */
void accel_explain(char *buf, size_t n, const AccelParams *p, const AccelLayer *la, const AccelBreakdown *a,
                   const AccelLayer *lb, const AccelBreakdown *b);

/* The model's curve over hidden sizes (I = proto->I or the size; M = proto->M or the size), in the
 * same form as a measured one: p10 = median = p90, protocol "model", backend "accel". */
TpStatus accel_curve(LatencyCurve *c, const AccelParams *p, const AccelLayer *proto, const int *sizes, int n);

#endif
