/* cli/cmd_plot: `topiary plot`: a chart of a session's metrics.tsv/latency.tsv through gnuplot
 * (--out), or as text on stdout. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "plots/gnuplot.h"
#include "sessions/session_charts.h"

enum { OPT_SIZE = 2 };

int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL, *name = NULL, *out = NULL;
    int ascii = 0, w = 80, h = 24, id;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"chart", required_argument, .value = &name},
                              {"out", required_argument, .value = &out},     {"ascii", no_argument, .flag = &ascii},
                              {"size", required_argument, .id = OPT_SIZE},         {NULL}};
    CliParser p;
    cli_parser_init(&p, "plot", argc, argv, opts, NULL);
    while ((id = cli_next(&p)) != CLI_END) {
        char junk;
        if (id == CLI_ERROR) return p.rc;
        if (id == OPT_SIZE) {
            if (sscanf(p.value, "%dx%d%c", &w, &h, &junk) != 2 || w < 10 || h < 3 || w > 1000 || h > 500)
                return cli_usage("--size: expected WxH (10x3 .. 1000x500), got '%s'", p.value);
        } else return cli_usage("plot: unknown option '%s'", p.value);
    }
    if (!dir || !name)
        return cli_usage("plot: usage: topiary plot --session DIR --chart NAME [--out FILE.png|.svg] [--ascii] [--size WxH]");
    SessionChart sc;
    TpStatus st = session_charts_load(&sc, dir, name);
    if (st != TP_OK) return cli_fail(NULL, st);
    if (sc.torn) fprintf(stderr, "topiary: plot: warning: the last line of %s was torn (a crash while appending); ignored\n", sc.source);
    int rc = 0;
    if (out) {
        GnuplotFiles gf;
        st = gnuplot_plot(&gf, out, &sc.spec, sc.series, sc.n_series);
        if (st == TP_OK) printf("wrote %s (gnuplot script %s, data %s)\n", gf.out, gf.script, gf.data);
        else rc = cli_fail(NULL, st);
    } else {
        CanvasText t;
        sc.spec.mode = ascii ? CANVAS_ASCII : CANVAS_BRAILLE;
        st = chart_render(&t, &sc.spec, sc.series, sc.n_series, w, h);
        if (st == TP_OK)
            for (int r = 0; r < t.h; r++) puts(t.lines[r]);
        else rc = cli_fail(NULL, st);
        canvas_text_free(&t);
    }
    session_charts_free(&sc);
    return rc;
}
