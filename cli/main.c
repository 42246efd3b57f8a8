/* cli/main: the `topiary` command line (DESIGN 2.1): picks the subcommand and hands it its arguments
 * (cli/cmd_*.c); `help` and `info` are answered here.  Exit codes: 0 ok, 1 runtime failure, 2 bad
 * usage or bad input (one-line reason on stderr). */
#include <stdio.h>
#include <string.h>

#include "base/spell.h"
#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/command.h"
#include "sessions/runtime.h"
#include "sessions/session_charts.h"

const char CLI_SUBCOMMANDS[] =
    "usage: topiary <command> [options]\n"
    "\n"
    "  tui      [--session DIR] [task options] [--ascii] [--no-color] [--backend cpu|cuda|auto]   the interactive workbench (default)\n"
    "  train    --session DIR [task options] [--backend cpu|cuda|auto]  headless training (progress bar on a TTY)\n"
    "  eval     --session DIR|--model EXPORTDIR [--split valid|test] [--data PATH] [--eval-batch B] [--json]\n"
    "           [--beam W] [--threads N] [--runtime]   a speech (an4) session: WER, CER and CTC loss; --beam: prefix\n"
    "           beam search; --runtime: decode through the batch-1 inference runtime (ms per audio second, kernels)\n"
    "  run      SCRIPT --session DIR [task options] [--keep-going] [--backend cpu|cuda|auto]   execute a command script\n"
    "  profile  [--target cpu|cuda|accel[:...]|cmd:NAME] [--backend cpu|cuda|accel] [--sizes A:B:STEP] [--threads N] [--batch B] ... [--out FILE.tsv]\n"
    "           [--json] | --analyze FILE.tsv ...   latency vs hidden size, hysteresis analysis ('help profile')\n"
    "  dse      --session DIR [--rows LIST] [--cols LIST] [--sram-kib LIST] ... [--out FILE.tsv] [--plot FILE.png]\n"
    "           [--json]   accelerator design-space exploration for the model: latency, area, Pareto set\n"
    "  compress --session DIR --target T --budget-us X|--speedup R [...]   hardware-guided grow-and-prune\n"
    "           (schedule hwgp, headless, journaled; 'help compress')\n"
    "  export   --session DIR --out EXPORTDIR     export the model (PyTorch names, config, vocabulary)\n"
    "  replay   --session DIR (--verify | --out DIR)  re-run the journal from the initial state\n"
    "  plot     --session DIR --chart NAME [--out FILE.png|.svg] [--ascii] [--size WxH]\n"
    "           charts of metrics.tsv/latency.tsv (" SESSION_CHART_NAMES "):\n"
    "           through gnuplot with --out, else as text on stdout\n"
    "  learn    [LESSON] [--session DIR] [--lessons DIR] [--check | --run]   lessons on the bundled task\n"
    "  explain  [TERM]                            short definition of a term the screens show\n"
    "  info                                       build and hardware summary\n"
    "  help     [COMMAND]                         this text, or one command's options\n"
    "\n"
    "Options take their value as --name VALUE or --name=VALUE.\n";

static const char *const SUBCOMMAND_NAMES[] = {"tui", "train", "eval", "run", "profile", "dse", "export",
                                                "replay", "plot", "info", "help", "learn", "explain", "compress"};
#define N_SUBCOMMANDS (sizeof SUBCOMMAND_NAMES / sizeof SUBCOMMAND_NAMES[0])

/* "unknown command 'X'" with the closest subcommand (or, for help, verb) within 2 edits; exit 2. */
static int unknown_command(const char *cmd, int with_verbs)
{
    SpellGuess g = SPELL_GUESS_INIT;
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) spell_consider(&g, cmd, SUBCOMMAND_NAMES[i]);
    for (const char *const *v = with_verbs ? command_verbs() : NULL; v && *v; v++) spell_consider(&g, cmd, *v);
    if (g.best) return cli_usage("unknown command '%s' (did you mean '%s'?)", cmd, g.best);
    return cli_usage("unknown command '%s'", cmd);
}

/* 1 if `help cmd` has something to say: a subcommand or a verb of the command language. */
static int help_known(const char *cmd)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (!strcmp(cmd, SUBCOMMAND_NAMES[i])) return 1;
    return command_help(cmd) != NULL;
}

static void print_help(const char *cmd)
{
    if (cmd && !strcmp(cmd, "profile")) { /* the subcommand, then the verb of the same name */
        printf("%s\nin a session (command language):\n", cmd_profile_usage());
    }
    if (cmd && !strcmp(cmd, "dse")) printf("%s\nin a session (command language):\n", cmd_dse_usage());
    if (cmd && !strcmp(cmd, "learn")) {
        fputs(cmd_learn_usage(), stdout);
        return;
    }
    if (cmd && !strcmp(cmd, "compress")) {
        fputs(cmd_compress_usage(), stdout);
        return;
    }
    if (cmd && command_help(cmd)) { /* a verb of the command language */
        fputs(command_help(cmd), stdout);
        return;
    }
    if (cmd && (!strcmp(cmd, "train") || !strcmp(cmd, "eval"))) {
        if (!strcmp(cmd, "train"))
            printf("usage: topiary train --session DIR [task options] [--schedule 'agp|gp KEY=VALUE ...'] [--backend cpu|cuda|auto] [--json]\n\n"
                   "Creates the session if DIR is new, otherwise resumes it (then only --epochs, --max-steps,\n"
                   "--threads, --data and --log-every may be given).  Saves atomically at every epoch end and on\n"
                   "SIGINT/SIGTERM/SIGHUP.  --max-steps counts minibatches of this run.  Runs the `train` verb\n"
                   "(journaled as the steps it ran, with an undo point before).\n"
                   "--backend cuda trains on the GPU with the model resident there (LSTM cells; only the loss comes\n"
                   "back per step; the session is saved by one copy back); without a usable device it exits 2 and\n"
                   "says why (no device, driver too old, out of memory).  auto takes CUDA when usable, else the CPU,\n"
                   "and says which.  Default: cpu.\n\ntask options:\n%s",
                   task_options_help());
        else
            printf("usage: topiary eval --session DIR|--model EXPORTDIR [--split valid|test] [--data PATH] [--eval-batch B] [--json]\n\n"
                   "Perplexity of a split (default valid; the test split only with --split test) by the DESIGN 2.5\n"
                   "protocol: the split as one stream, batch 1, state\n"
                   "carried through.  --eval-batch B cuts it into B streams (faster; the output says so).\n"
                   "--model runs the batch-1 inference runtime (engine/infer) on model.compact.safetensors when the\n"
                   "export has one, else on model.safetensors, with a kernel per matrix chosen from the sparse\n"
                   "break-even measured once per machine (cached in $XDG_CACHE_HOME/topiary); it prints which.\n\n"
                   "A speech (--task an4) session: WER, CER and the CTC loss, greedy decoding (--beam W: prefix beam\n"
                   "search), and the wall time of forward and decoding per second of audio (batch 1).  --runtime\n"
                   "decodes through the batch-1 inference runtime (engine/infer_asr: a kernel per matrix of each\n"
                   "direction from the measured break-even, as --model) instead of the training code's forward:\n"
                   "the same WER and CER, its ms per audio second and the kernels chosen.  --threads N: BLAS and\n"
                   "runtime threads.\n");
        return;
    }
    fputs(CLI_SUBCOMMANDS, stdout);
    printf("\ntask options (train, tui, run):\n%s\n%s", task_options_help(), command_help(NULL));
}

static int cmd_info(void)
{
    char buf[8192];
    runtime_info(buf, sizeof buf);
    fputs(buf, stdout);
    return EXIT_CODE_OK;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "tui";
    if (cmd[0] == '-' && strcmp(cmd, "--help") && strcmp(cmd, "-h")) cmd = "tui";
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } SUB[] = {{"train", cmd_train}, {"eval", cmd_eval},       {"run", cmd_run},         {"replay", cmd_replay},
               {"plot", cmd_plot},   {"export", cmd_export},   {"profile", cmd_profile},
               {"dse", cmd_dse}, {"learn", cmd_learn},  {"explain", cmd_explain},
               {"compress", cmd_compress}};
    for (size_t i = 0; i < sizeof SUB / sizeof SUB[0]; i++)
        if (!strcmp(cmd, SUB[i].name)) return SUB[i].run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2 && !help_known(argv[2])) return unknown_command(argv[2], 1);
        print_help(argc > 2 ? argv[2] : NULL);
        return EXIT_CODE_OK;
    }
    if (!strcmp(cmd, "tui")) return argc > 1 && !strcmp(argv[1], "tui") ? cmd_tui(argc - 1, argv + 1) : cmd_tui(argc, argv);
    return unknown_command(cmd, 0);
}
