/* engine/breakeven: when is a sparse kernel faster than dense sgemv on this machine?  A measured cost
 * model of every engine/sparse layout, cached per hardware fingerprint, from which the inference
 * runtime (engine/infer) picks a kernel per matrix (DESIGN 3.3: "sparse kernels turn sparsity into
 * time only past a break-even density: profile it and let the runtime choose from the measurement").
 *
 * Model: for a matrix of D dense bytes (4 R C), the time of layout k relative to dense sgemv of the
 * same matrix is  t_k / t_dense = a_k + b_k * density,  where density is what the kernel's work is
 * proportional to:
 *   csr, sell  non-zeros / (R C)                   row  k / C (entries per row, padding included)
 *   state      non-zero x / C (the state density)  state-csc  (non-zeros / (R C)) * (non-zero x / C)
 * The break-even density is (1 - a_k) / b_k: below it the layout is faster than dense.  a and b are
 * least-squares fits to the measured ratio at three densities, on matrices [4H, H] for a few H; a
 * matrix of another size uses the fit of the nearest measured sizes, interpolated in log D (the
 * cache level that holds the matrix is what moves the ratios).
 *
 * bsr16x1, bsr8x1, bsr4x4  stored entries / (R C): the blocks holding a non-zero, whole (the density
 *                          of a block-pruned matrix; far above the density for scattered non-zeros).
 *
 * Kernel variants: a and b are measured per layout x vector path (scalar, AVX2, AVX-512: whichever
 * the CPU has) x threads (1, and T = the BLAS thread count when T > 1: the layouts split by rows,
 * run on an engine/sparse_pool of T threads), because which is fastest is a property of the machine,
 * not of CPUID: on AMD Zen 4/5 the AVX-512 gathers of CSR/ROW/SELL lose to scalar loads, on Intel
 * they win.  breakeven_best takes the fastest variant of a layout; a variant not measured (a NaN a)
 * or whose ISA this CPU lacks is never taken.
 *
 * Measurement (breakeven_measure): per H, the same steady-state protocol as the latency profiler
 * (engine/latency.h): warm up, then samples of back-to-back calls lasting >= 100 us each, median of 9;
 * random U(-0.1, 0.1) values at random positions (whole random blocks for BSR).  A few seconds in
 * all, against dense sgemv with the BLAS thread count in force.  The cache file is a small TSV in
 * $XDG_CACHE_HOME/topiary/ (else ~/.cache/topiary/) named by a hash of the fingerprint (CPU, BLAS and
 * its threads, best sparse ISA), so another machine or thread count measures again; delete it to
 * measure again here.  Format v3 (variants); a file of an older version is measured again.
 */
#ifndef TP_BREAKEVEN_H
#define TP_BREAKEVEN_H

#include <stddef.h>

#include "sparse.h"
#include "base/status.h"

#define BREAKEVEN_MAX_POINTS 8

typedef struct {
    int n;                                     /* measured sizes                          */
    int threads;                               /* T of the threaded variants (1: none)     */
    int hidden[BREAKEVEN_MAX_POINTS];          /* H of the [4H, H] matrix                 */
    double bytes[BREAKEVEN_MAX_POINTS];        /* its dense bytes D                       */
    double dense_us[BREAKEVEN_MAX_POINTS];     /* dense sgemv time (informative)          */
    /* [point][layout][isa][0: 1 thread, 1: T threads]; a = NaN: not measured               */
    double a[BREAKEVEN_MAX_POINTS][SPARSE_N_KINDS][SPARSE_N_ISAS][2];
    double b[BREAKEVEN_MAX_POINTS][SPARSE_N_KINDS][SPARSE_N_ISAS][2];
    char fingerprint[640];                     /* latency_fingerprint + sparse ISA        */
    int measured;                              /* 0: the built-in model (breakeven_default) */
    double others_share;                       /* CPUs' worth of other processes' work while it
                                                  was measured (NaN: unknown, or from the cache)  */
} Breakeven;

/* Other processes using more than this share of one CPU while the model is measured make it a
 * measurement of a busy machine: used for this run, never cached (breakeven_get). */
#define BREAKEVEN_BUSY_SHARE 0.1

/* A kernel variant and its predicted time relative to dense sgemv. */
typedef struct {
    SparseKind kind;
    SparseIsa isa;
    int threads;                               /* 1 or Breakeven.threads                  */
    double cost;
    int grouped;                               /* 1: a BSR over the rows sorted by support, its
                                                  output scattered back (engine/infer's grouped
                                                  variant, named "bsr16x1g"); breakeven_best
                                                  never sets it: the caller adds the scatter   */
} BreakevenChoice;

/* A fixed, conservative model (csr/row break-even near 30%, state near 60%, bsr near 80% of stored
 * entries) for when nothing is measured: tests, and runs that must not spend time measuring; every
 * ISA alike (ties go to the CPU's best, as CPUID would choose), one thread.  Marked measured = 0. */
void breakeven_default(Breakeven *be);

/* Measure at the sizes hidden[0..n) (ascending, n <= BREAKEVEN_MAX_POINTS; NULL: 128, 384, 1024). */
TpStatus breakeven_measure(Breakeven *be, const int *hidden, int n);

/* The current machine's fingerprint (what a cache file must match). */
void breakeven_fingerprint(char *buf, size_t n);

/* The cache file of this fingerprint: dir (NULL: $XDG_CACHE_HOME/topiary or ~/.cache/topiary)
 * + "/sparse-breakeven-<hash>.tsv". */
TpStatus breakeven_cache_path(char *buf, size_t n, const char *dir);

TpStatus breakeven_save(const Breakeven *be, const char *path);
/* TP_ENOENT if absent, TP_EFORMAT if malformed (message names the line). */
TpStatus breakeven_load(Breakeven *be, const char *path);

/* The model for this machine: the cache file if its fingerprint matches, else measure and save it
 * (a failure to save is ignored: it is a cache).  *from_cache (may be NULL) tells which.  A
 * measurement beside other work (be->others_share > BREAKEVEN_BUSY_SHARE: a training, a build) is
 * used but not saved: its ratios would mislead every later run on this machine (two threads of
 * OpenBLAS beside two busy cores once measured dense sgemv 230x slower than alone). */
TpStatus breakeven_get(Breakeven *be, const char *dir, int *from_cache);
/* 1 when be was measured beside other work (others_share > BREAKEVEN_BUSY_SHARE): not cached. */
int breakeven_busy(const Breakeven *be);
/* Where the model came from, for the user: "from the cache", "measured now", or "measured now beside
 * other work (...; not cached: ...)".  Returns buf. */
const char *breakeven_source(const Breakeven *be, int from_cache, char *buf, size_t n);

/* Predicted time of one variant relative to dense sgemv, for a matrix of dense_bytes at `density`
 * (as defined above; 1 for SPARSE_DENSE); INFINITY when not measured or the CPU lacks the ISA. */
double breakeven_variant_cost(const Breakeven *be, SparseKind k, SparseIsa isa, int threaded, double dense_bytes,
                              double density);
/* The fastest variant of layout k (ties: the better ISA, then one thread); DENSE: cost 1, BLAS. */
BreakevenChoice breakeven_best(const Breakeven *be, SparseKind k, double dense_bytes, double density);
/* breakeven_best(...).cost */
double breakeven_cost(const Breakeven *be, SparseKind k, double dense_bytes, double density);
/* "bsr16x1/avx512", "sell/scalar/2t", "dense", "bsr16x1g/avx512" (grouped rows) (n >= 32). */
void breakeven_choice_name(const BreakevenChoice *c, char *buf, size_t n);
/* One line per layout: its fastest variant at 10% density on the largest measured size, with the
 * predicted time relative to dense (for `topiary info`). */
void breakeven_describe(const Breakeven *be, char *buf, size_t n);
/* The density below which layout k is predicted faster than dense (0..1). */
double breakeven_density(const Breakeven *be, SparseKind k, double dense_bytes);

#endif
