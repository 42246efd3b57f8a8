/* sessions/target: latency targets (DESIGN 1 module map "target"; DESIGN 3.3 "Latency targets").  One
 * interface for "the latency of an LSTM layer step of these sizes (and density and pattern) on X",
 * so that the hardware-guided schedule (sessions/hwgp) and `profile target=...` read the latency of
 * the model as it will actually run:
 *
 *   cpu             topiary's own inference runtime (engine/latency's steady protocol: dense, or with
 *                   the sparse kernels of engine/sparse at the query's density and pattern)
 *   cuda            the same on the CUDA backend (no device: TP_ENODEV, a clear error, exit code 2)
 *   accel           the analytical accelerator model (engine/accel); parameters settable:
 *                   `accel:rows=64,cols=64,sram_kib=512` (JSON keys of data/accel-default.json) or
 *                   `accel:FILE.json`
 *   cmd:NAME        an external runtime described by NAME.target (format below), found in
 *                   $TOPIARY_TARGETS (colon-separated directories), SESSION/targets/, ./targets/, then
 *                   the targets/ directory beside the binary's build directory
 *
 * NAME.target (the format is fixed; another engineer writes the bundled ones): lines `key = value`,
 * blank lines and lines starting with `#` ignored (timeout_s and repeat may end in ` # comment`;
 * command and requires go to the shell whole, which reads ` #...` as a comment itself); keys
 *   description  one line for humans
 *   command      a shell command template (run by /bin/sh -c) with the placeholders {hidden} {input}
 *                {batch} {seq} {density} {pattern} {threads}; it prints one number, the microseconds
 *                of one step (the whole window of {seq} steps), on the last line of its stdout
 *   timeout_s    seconds one run may take (default 60); then its process group is killed
 *   repeat       runs per measurement, the median is taken (default 3)
 *   requires     optional: a shell command whose failure means "target unavailable here"
 *                (TP_ENOTAVAIL with its stderr), run once when the target is opened
 * Placeholder values are numbers (density: %.6g; input 0 = hidden; threads 0 = 1) except pattern, a
 * lower-case word (dense, csr, sell, sell-seg, row, block16x1 ...).  A run that exits non-zero, hangs past its
 * timeout or prints anything but a positive number on its last line is an error naming the target,
 * the command and what it printed (TP_EIO).  Measuring changes nothing anywhere.
 *
 * Every curve a target makes carries "target=NAME; " at the head of its fingerprint, so
 * SESSION/latency.tsv records the target on every row (older files, without it, still load:
 * target_of_curve falls back to the backend column).
 */
#ifndef TP_TARGET_H
#define TP_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/accel.h"
#include "engine/latency.h"

typedef enum { TARGET_CPU = 0, TARGET_CUDA, TARGET_ACCEL, TARGET_CMD } TargetKind;

typedef struct {
    int hidden;            /* H                                                         */
    int input;             /* I; 0 = H                                                  */
    int batch, seq;        /* 1, 1                                                      */
    int threads;           /* 0 = the BLAS default (cmd: 1)                             */
    double density;        /* fraction of non-zero weights, 1 = dense                   */
    char pattern[24];      /* dense | csr | sell | sell-seg | unstructured | row | block16x1 | block8x1 | block4x4 */
    char cell[8];          /* lstm | hlstm (measured on cpu, modelled on accel)         */
    int gate_hidden;       /* H-LSTM M (0 = H)                                          */
    int bidir;             /* a bidirectional layer's two windows (cpu: LatencyOptions.bidir;
                            * cmd and accel: one window, counted twice by the caller)   */
} TargetQuery;

/* A dense LSTM query of hidden size h at batch 1, seq 1. */
TargetQuery target_query_default(int hidden);

/* How a curve is swept (cpu, cuda: engine/latency's rounds and budget; cmd: one measurement per
 * size; accel: exact).  progress may be NULL; nonzero from it cancels (TP_ECANCEL). */
typedef struct {
    int rounds;            /* 0 = automatic from budget_s                               */
    double budget_s;       /* cpu/cuda sweep time (default 60)                          */
    uint64_t seed;
    LatencyProgressFn progress;
    void *ctx;
} TargetSweep;
void target_sweep_defaults(TargetSweep *w);

typedef struct Target Target;

/* Open a target by its spec (above).  session_dir (may be NULL) adds SESSION/targets/ to the search
 * path of cmd: targets.  Errors: TP_EINVAL (bad spec: says what specs exist), TP_ENOENT (no such
 * NAME.target: says where it looked), TP_EFORMAT (a bad .target file: file and line), TP_ENODEV
 * (cuda without a device), TP_ENOTAVAIL (a failed `requires`). */
TpStatus target_open(const char *spec, const char *session_dir, Target **out);
void target_close(Target *t);
/* "cpu", "cuda", "accel", "accel:rows=64,cols=64", "cmd:NAME" */
const char *target_name(const Target *t);
TargetKind target_kind(const Target *t);
/* One line: what the target is (the .target file's description and path, the accel parameters). */
void target_describe(const Target *t, char *buf, size_t n);
/* The accelerator parameters of an accel target (NULL for the others). */
const AccelParams *target_accel(const Target *t);

/* Latency of one query: median, p10 and p90 in microseconds per call (the window of seq steps). */
TpStatus target_measure(Target *t, const TargetQuery *q, double *us_median, double *us_p10, double *us_p90);
/* The curve over `sizes` (ascending) with the other conditions of proto (its hidden is ignored). */
TpStatus target_curve(Target *t, const TargetQuery *proto, const int *sizes, int n, const TargetSweep *w,
                      LatencyCurve *out);

/* The target a curve was made on: its fingerprint's "target=NAME" or, for curves without it, the
 * backend column. */
void target_of_curve(const LatencyCurve *c, char *buf, size_t n);

/* ---- cmd: targets (sessions/target_cmd.c) ---- */
typedef struct {
    char name[64];
    char path[4096];
    char description[256];
    char command[1024];
    char requires[1024];
    double timeout_s;
    int repeat;
} TargetCmd;

/* Find NAME.target on the search path and parse it. */
TpStatus target_cmd_load(TargetCmd *c, const char *name, const char *session_dir);
/* Parse the text of a .target file (path: for messages). */
TpStatus target_cmd_parse(TargetCmd *c, const char *name, const char *path, const char *text);
/* The command line for q (placeholders replaced), or TP_EINVAL naming a bad value. */
TpStatus target_cmd_expand(const TargetCmd *c, const TargetQuery *q, char *buf, size_t n);
/* Run `requires` (TP_OK when there is none). */
TpStatus target_cmd_check(const TargetCmd *c);
/* Run the command `repeat` times for q: median, p10, p90 of what it printed. */
TpStatus target_cmd_measure(const TargetCmd *c, const TargetQuery *q, double *med, double *p10, double *p90);

#endif
