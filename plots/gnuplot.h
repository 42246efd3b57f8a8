/* plots/gnuplot: a chart (the same ChartSpec and series as plots/chart) as a PNG or SVG through gnuplot.
 *
 * For an output FILE.png (or FILE.svg) next to it are written
 *   FILE.data.tsv   the series (and point markers) as gnuplot data blocks: one block per series,
 *                   "x<TAB>y" lines, a blank line where a NaN breaks the line, blocks separated by two
 *                   blank lines and numbered by `index` in order, each headed by a "# <name>" comment;
 *   FILE.gp         the script, referring to both files by their base names; kept so users can restyle
 *                   it and re-run `cd DIR && gnuplot FILE.gp`.
 * gnuplot then runs in DIR (posix_spawnp, never system()); it picks pngcairo when the build has it,
 * else png.  gnuplot missing from PATH -> TP_ENOTAVAIL with the install command in the message.
 * Nothing here prints; gnuplot's own output is captured and quoted in the error message on failure.
 */
#ifndef TP_GNUPLOT_H
#define TP_GNUPLOT_H

#include "plots/chart.h"

#define GNUPLOT_INSTALL_HINT "sudo apt-get install gnuplot-nox"
#define GNUPLOT_WIDTH 960 /* pixels */
#define GNUPLOT_HEIGHT 540

typedef enum { GNUPLOT_PNG = 0, GNUPLOT_SVG = 1 } GnuplotFormat;

typedef struct {
    GnuplotFormat format;
    char out[4096];      /* the image                     */
    char script[4096];   /* FILE.gp                       */
    char data[4096];     /* FILE.data.tsv                 */
} GnuplotFiles;

/* Paths for an output FILE.png / FILE.svg (extension case-insensitive), else TP_EINVAL. */
TpStatus gnuplot_files(GnuplotFiles *files, const char *out_path);
/* Write the data and script files for the chart (spec->mode and glyphs are ignored). */
TpStatus gnuplot_write(const GnuplotFiles *files, const ChartSpec *spec, const ChartSeries *series, int n_series);
/* Run gnuplot on the written script; checks that a non-empty image came out. */
TpStatus gnuplot_run(const GnuplotFiles *files);
/* gnuplot_files + gnuplot_write + gnuplot_run. */
TpStatus gnuplot_plot(GnuplotFiles *files, const char *out_path, const ChartSpec *spec, const ChartSeries *series,
                      int n_series);

#endif
