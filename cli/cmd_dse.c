/* cli/cmd_dse: `topiary dse`, design-space exploration of the accelerator model for a session's model
 * as it is (sessions/explore; the `dse` verb runs the same).
 *
 *   topiary dse --session DIR [--rows LIST] [--cols LIST] [--sram-kib LIST] [--dram-gbps LIST]
 *               [--clock-mhz LIST] [--batch B] [--budget-us X] [--area-pe MM2] [--area-kib MM2]
 *               [--accel FILE] [--out FILE.tsv] [--plot FILE.png|.svg] [--all] [--json] [--data PATH]
 *
 * Reads the session (no lock: nothing in it changes).  Exit codes: 0 ok, 1 runtime failure, 2 bad
 * usage or bad input (a bad list names the option and the item).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/explore.h"

const char *cmd_dse_usage(void)
{
    return "usage: topiary dse --session DIR [--rows LIST] [--cols LIST] [--sram-kib LIST] [--dram-gbps LIST]\n"
           "                   [--clock-mhz LIST] [--batch B] [--budget-us X] [--area-pe MM2] [--area-kib MM2]\n"
           "                   [--accel FILE] [--out FILE.tsv] [--plot FILE.png|.svg] [--all] [--json] [--data PATH]\n"
           "\n"
           "Design-space exploration [Yu et al.]: sweeps the analytical accelerator model's array (rows x cols),\n"
           "weight buffer (SRAM KiB), DRAM bandwidth (GB/s) and clock (MHz) for the session's model as it is\n"
           "(layer sizes, LSTM or H-LSTM, the masks' density and pattern) and reports for every design the\n"
           "latency of one step of all recurrent layers and an area proxy, marking the Pareto front (latency vs\n"
           "area).  A LIST is a,b,c or A:B:STEP; defaults: rows and cols 16,32,64,128,256; sram 128,512,2048,8192;\n"
           "dram 12.8,25.6,51.2; clock 700.  Area proxy = --area-pe mm2 per PE (default 0.00121) + --area-kib\n"
           "mm2 per KiB (default 0.0039), from the TPU v1 floor plan (28 nm).  Row-balanced masks run on the\n"
           "model's row-balanced dataflow; unstructured and block masks are padded to their densest row; a\n"
           "sparse layer uses the sparse dataflow only where it is faster.  The chosen design: with --budget-us,\n"
           "the smallest area within it; else the smallest area x latency on the front.  --out writes every\n"
           "design as TSV, --plot a gnuplot figure (every design, the front, the chosen one), --json one JSON\n"
           "object; the table shows the front (--all: every design).  Other accelerator parameters: --accel\n"
           "FILE (as profile --backend accel).\n";
}

int cmd_dse(int argc, char **argv)
{
    enum { OPT_REQ = 2 };
    const char *dir = NULL, *data = NULL;
    int json = 0, all = 0, help = 0, id;
    ExploreRequest q;
    explore_request_defaults(&q);
    const CliOption opts[] = {
        {"session", required_argument, .value = &dir}, {"data", required_argument, .value = &data},
        {"json", no_argument, .flag = &json}, {"all", no_argument, .flag = &all}, {"help", no_argument, .flag = &help},
        {"rows", required_argument, .id = OPT_REQ}, {"cols", required_argument, .id = OPT_REQ},
        {"sram-kib", required_argument, .id = OPT_REQ}, {"dram-gbps", required_argument, .id = OPT_REQ},
        {"clock-mhz", required_argument, .id = OPT_REQ}, {"batch", required_argument, .id = OPT_REQ},
        {"budget-us", required_argument, .id = OPT_REQ}, {"area-pe", required_argument, .id = OPT_REQ},
        {"area-kib", required_argument, .id = OPT_REQ}, {"accel", required_argument, .id = OPT_REQ},
        {"out", required_argument, .id = OPT_REQ}, {"plot", required_argument, .id = OPT_REQ}, {NULL}};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h")) help = 1;
    CliParser p;
    cli_parser_init(&p, "dse", argc, argv, opts, NULL);
    p.hint = "topiary dse --help";
    while (!help && (id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id != OPT_REQ) return cli_usage("dse: unknown argument '%s' (see 'topiary dse --help')", p.value);
        int known;
        TpStatus st = explore_request_set(&q, p.name + 2, p.value, &known);
        if (st != TP_OK) return cli_fail("dse", err_wrap(st, "--"));
    }
    if (help) {
        fputs(cmd_dse_usage(), stdout);
        return EXIT_CODE_OK;
    }
    if (!dir) return cli_usage("dse: --session DIR is required (see 'topiary dse --help')");
    q.json = json;
    q.all = all;
    Session s;
    TpStatus st = session_open(&s, dir, data);
    if (st != TP_OK) return cli_fail("dse", st);
    char *text = NULL;
    st = explore_session(&s, &q, &text, NULL, 0);
    session_free(&s);
    if (st != TP_OK) return cli_fail("dse", st);
    fputs(text, stdout);
    free(text);
    return EXIT_CODE_OK;
}
