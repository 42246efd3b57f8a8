/* tui/profile_cli: the `topiary profile` subcommand (DESIGN 2.1), kept out of tui/main.c for size.
 *
 *   topiary profile [--backend cpu|cuda|accel] [--sizes A:B:STEP|a,b,c] [--threads N] [--batch B]
 *                   [--seq T] [--input I] [--sparsity S --pattern dense|csr|sell|row] [--reps N]
 *                   [--budget-s S] [--margin M] [--seed N] [--accel FILE] [--cell lstm|hlstm]
 *                   [--gate-hidden M] [--out FILE.tsv] [--json] [--table] [--marks FILE.tsv]
 *   topiary profile --analyze FILE.tsv [--analyze FILE2.tsv ...] [--margin M] [--json] [--table]
 *                   [--marks FILE.tsv] [--accel FILE]
 *
 * Measures (or models) a curve, writes it as TSV (--out, atomically) and prints the analysis: a
 * table of sizes (without --out, or with --table), the Pareto set, dominated sizes, hysteresis
 * points (for the accel model with the tile boundary behind each step) and the largest
 * non-monotonic jumps; --json prints one JSON object per curve instead.  --analyze reads existing
 * curves; curves of the same conditions are compared for repeatability (overlap of their hysteresis
 * points).  --marks writes the first curve's hysteresis points and dominated sizes for gnuplot.
 * A progress bar goes to stderr when it is a terminal.  Exit codes as the other subcommands:
 * 0 ok, 1 runtime failure (or interrupted), 2 bad usage or bad input.
 */
#ifndef TP_TUI_PROFILE_CLI_H
#define TP_TUI_PROFILE_CLI_H

int profile_cli(int argc, char **argv);
/* Usage text of the subcommand. */
const char *profile_cli_usage(void);

#endif
