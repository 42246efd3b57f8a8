/* plots/gnuplot: see gnuplot.h. */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

TpStatus gnuplot_files(GnuplotFiles *f, const char *out)
{
    memset(f, 0, sizeof *f);
    size_t n = strlen(out);
    const char *dot = strrchr(out, '.');
    if (!dot || dot < base_name(out) || dot == base_name(out) || (strcasecmp(dot, ".png") && strcasecmp(dot, ".svg")))
        return err_set(TP_EINVAL, "--out %s: expected FILE.png or FILE.svg", out);
    if (n + 16 > sizeof f->out) return err_set(TP_EINVAL, "--out: path too long");
    f->format = strcasecmp(dot, ".svg") ? GNUPLOT_PNG : GNUPLOT_SVG;
    int stem = (int)(dot - out);
    snprintf(f->out, sizeof f->out, "%s", out);
    snprintf(f->script, sizeof f->script, "%.*s.gp", stem, out);
    snprintf(f->data, sizeof f->data, "%.*s.data.tsv", stem, out);
    return TP_OK;
}

/* ---- files ----------------------------------------------------------------------------------- */

/* A gnuplot double-quoted string: backslash and quote escaped, control characters as spaces. */
static void put_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fputc('\\', fp);
        fputc(ch < 0x20 || ch == 0x7F ? ' ' : ch, fp);
    }
    fputc('"', fp);
}

/* Text for a comment line: control characters as spaces. */
static void put_plain(FILE *fp, const char *s, const char *fallback)
{
    if (!s || !*s) s = fallback;
    for (; *s; s++) fputc((unsigned char)*s < 0x20 || *s == 0x7F ? ' ' : *s, fp);
}

static void put_set(FILE *fp, const char *what, const char *s)
{
    if (!s || !*s) return;
    fprintf(fp, "set %s ", what);
    put_str(fp, s);
    fputc('\n', fp);
}

static void put_title(FILE *fp, const char *s)
{
    if (!s || !*s) {
        fputs(" notitle", fp);
        return;
    }
    fputs(" title ", fp);
    put_str(fp, s);
}

static int drawable(const ChartSpec *sp, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!sp->log_y || y > 0);
}

static int series_points(const ChartSpec *sp, const ChartSeries *s)
{
    int n = 0;
    for (size_t j = 0; j < s->n; j++) n += drawable(sp, s->x[j], s->y[j]);
    return n;
}

/* A series with a point that has no drawable neighbour needs point marks, or gnuplot shows nothing. */
static int has_lone_point(const ChartSpec *sp, const ChartSeries *s)
{
    for (size_t j = 0; j < s->n; j++)
        if (drawable(sp, s->x[j], s->y[j]) && !(j > 0 && drawable(sp, s->x[j - 1], s->y[j - 1])) &&
            !(j + 1 < s->n && drawable(sp, s->x[j + 1], s->y[j + 1])))
            return 1;
    return 0;
}

static TpStatus close_checked(FILE *fp, const char *path)
{
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) return err_set(TP_EIO, "write %s: %s", path, strerror(errno ? errno : EIO));
    return TP_OK;
}

static TpStatus write_data(const GnuplotFiles *f, const ChartSpec *sp, const ChartSeries *s, int ns)
{
    FILE *fp = fopen(f->data, "w");
    if (!fp) return err_set(TP_EIO, "write %s: %s", f->data, strerror(errno));
    fprintf(fp, "# topiary chart data for %s: one block per series (gnuplot `index`), x<TAB>y\n", base_name(f->script));
    for (int i = 0; i < ns; i++) {
        if (!series_points(sp, &s[i])) continue;
        fputs("# ", fp);
        put_plain(fp, s[i].name, "(unnamed)");
        fputc('\n', fp);
        int pending_break = 0, started = 0;
        for (size_t j = 0; j < s[i].n; j++) {
            if (!drawable(sp, s[i].x[j], s[i].y[j])) {
                pending_break = started;
                continue;
            }
            if (pending_break) fputc('\n', fp);
            pending_break = 0;
            started = 1;
            fprintf(fp, "%.12g\t%.12g\n", s[i].x[j], s[i].y[j]);
        }
        fputs("\n\n", fp);
    }
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_POINT || !drawable(sp, m->x, m->y)) continue;
        fputs("# marker ", fp);
        put_plain(fp, m->label, "(unnamed)");
        fprintf(fp, "\n%.12g\t%.12g\n\n\n", m->x, m->y);
    }
    return close_checked(fp, f->data);
}

static void put_range(FILE *fp, const char *axis, double lo, double hi)
{
    if (!isfinite(lo) && !isfinite(hi)) return;
    fprintf(fp, "set %srange [", axis);
    if (isfinite(lo)) fprintf(fp, "%.12g", lo);
    fputc(':', fp);
    if (isfinite(hi)) fprintf(fp, "%.12g", hi);
    fputs("]\n", fp);
}

static TpStatus write_script(const GnuplotFiles *f, const ChartSpec *sp, const ChartSeries *s, int ns)
{
    FILE *fp = fopen(f->script, "w");
    if (!fp) return err_set(TP_EIO, "write %s: %s", f->script, strerror(errno));
    fprintf(fp, "# topiary chart, written by topiary (plots/gnuplot).  Restyle freely, then re-run in this\n"
                "# directory:   gnuplot %s\n", base_name(f->script));
    if (f->format == GNUPLOT_SVG) {
        fprintf(fp, "set terminal svg size %d,%d noenhanced dynamic background rgb \"white\"\n", GNUPLOT_WIDTH,
                GNUPLOT_HEIGHT);
    } else {
        fprintf(fp, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                    "    set terminal pngcairo size %d,%d noenhanced\n"
                    "} else {\n"
                    "    set terminal png size %d,%d noenhanced\n"
                    "}\n", GNUPLOT_WIDTH, GNUPLOT_HEIGHT, GNUPLOT_WIDTH, GNUPLOT_HEIGHT);
    }
    fputs("set output ", fp);
    put_str(fp, base_name(f->out));
    fputs("\nset datafile separator \"\\t\"\nset grid\nset key below\n", fp);
    put_set(fp, "title", sp->title);
    put_set(fp, "xlabel", sp->x_label);
    put_set(fp, "ylabel", sp->y_label);
    if (sp->log_y) fputs("set logscale y\n", fp);
    put_range(fp, "x", sp->x_min, sp->x_max);
    put_range(fp, "y", sp->y_min, sp->y_max);
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_VLINE || !isfinite(m->x)) continue;
        fprintf(fp, "set arrow from %.12g, graph 0 to %.12g, graph 1 nohead dashtype 2 linecolor rgb \"gray40\"\n",
                m->x, m->x);
        if (m->label && *m->label) {
            fputs("set label ", fp);
            put_str(fp, m->label);
            fprintf(fp, " at %.12g, graph 0.97 offset character 0.5, 0 textcolor rgb \"gray30\"\n", m->x);
        }
    }
    for (int i = 0; i < ns; i++)
        if (!series_points(sp, &s[i])) {
            fprintf(fp, "# series %d (", i);
            put_plain(fp, s[i].name, "unnamed");
            fputs(") has no data\n", fp);
        }
    int idx = 0, any = 0;
    for (int i = 0; i < ns; i++) {
        if (!series_points(sp, &s[i])) continue;
        fputs(any ? ", \\\n     " : "plot ", fp);
        if (!any) put_str(fp, base_name(f->data));
        else fputs("''", fp);
        fprintf(fp, " index %d using 1:2 with %s linewidth 2", idx++,
                has_lone_point(sp, &s[i]) ? "linespoints pointtype 7 pointsize 0.8" : "lines");
        put_title(fp, s[i].name);
        any = 1;
    }
    for (int k = 0; k < sp->n_markers; k++) {
        const ChartMarker *m = &sp->markers[k];
        if (m->kind != CHART_MARK_POINT || !drawable(sp, m->x, m->y)) continue;
        fputs(any ? ", \\\n     " : "plot ", fp);
        if (!any) put_str(fp, base_name(f->data));
        else fputs("''", fp);
        fprintf(fp, " index %d using 1:2 with points pointtype 9 pointsize 2.5", idx++);
        put_title(fp, m->label);
        any = 1;
    }
    if (!any)
        fputs("set label \"no data\" at graph 0.5, graph 0.5 center\nunset key\nplot [0:1] [0:1] -1 notitle", fp);
    fputc('\n', fp);
    return close_checked(fp, f->script);
}

TpStatus gnuplot_write(const GnuplotFiles *f, const ChartSpec *sp, const ChartSeries *s, int ns)
{
    if (ns < 0 || ns > CHART_MAX_SERIES || (ns && !s) || sp->n_markers < 0 || (sp->n_markers && !sp->markers))
        return err_set(TP_EINVAL, "gnuplot: bad chart (%d series, %d markers)", ns, sp->n_markers);
    for (int i = 0; i < ns; i++)
        if (s[i].n && (!s[i].x || !s[i].y)) return err_set(TP_EINVAL, "gnuplot: series %d has no data arrays", i);
    errno = 0;
    TpStatus st = write_data(f, sp, s, ns);
    if (st == TP_OK) st = write_script(f, sp, s, ns);
    return st;
}

/* ---- running gnuplot --------------------------------------------------------------------------- */

/* gnuplot's output (the failing command, a caret line, the message) as one line: its first 3 lines. */
static void first_lines(char *dst, size_t n, const char *out)
{
    size_t k = 0;
    int lines = 0;
    for (const char *p = out; *p && lines < 3 && k + 1 < n; p++) {
        if (*p == '\n') {
            if (k && dst[k - 1] != ' ') lines++, dst[k++] = ' ';
            continue;
        }
        dst[k++] = *p;
    }
    while (k && dst[k - 1] == ' ') k--;
    dst[k] = '\0';
}

TpStatus gnuplot_run(const GnuplotFiles *f)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", f->script);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    const char *script = base_name(f->script);

    if (unlink(f->out) != 0 && errno != ENOENT) /* so a stale image never passes for a new one */
        return err_set(TP_EIO, "gnuplot: cannot replace %s: %s", f->out, strerror(errno));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return err_set(TP_EIO, "gnuplot: pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    char *argv[] = {(char *)"gnuplot", (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        if (rc == ENOENT)
            return err_set(TP_ENOTAVAIL, "gnuplot is not installed (not found in PATH); install it with: %s -- the "
                                         "script %s is written, run it later with: gnuplot %s",
                           GNUPLOT_INSTALL_HINT, f->script, script);
        return err_set(TP_EIO, "gnuplot: cannot start: %s", strerror(rc));
    }
    char out[4096];
    size_t n = 0;
    for (;;) {
        char tmp[1024];
        ssize_t got = read(fds[0], tmp, sizeof tmp);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t take = (size_t)got < sizeof out - 1 - n ? (size_t)got : sizeof out - 1 - n;
        memcpy(out + n, tmp, take);
        n += take;
    }
    out[n] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return err_set(TP_EIO, "gnuplot: waitpid: %s", strerror(errno));
    char why[600];
    first_lines(why, sizeof why, out);
    if (WIFSIGNALED(status)) return err_set(TP_EIO, "gnuplot killed by signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) == 127 && !why[0])
        return err_set(TP_ENOTAVAIL, "gnuplot could not be run; install it with: %s", GNUPLOT_INSTALL_HINT);
    if (WEXITSTATUS(status) != 0)
        return err_set(TP_EIO, "gnuplot %s failed (exit %d): %s", f->script, WEXITSTATUS(status),
                       why[0] ? why : "no message");
    struct stat sb;
    if (stat(f->out, &sb) != 0 || sb.st_size == 0)
        return err_set(TP_EIO, "gnuplot %s: no image written to %s%s%s", f->script, f->out, why[0] ? ": " : "", why);
    return TP_OK;
}

TpStatus gnuplot_plot(GnuplotFiles *files, const char *out_path, const ChartSpec *spec, const ChartSeries *series,
                      int n_series)
{
    TpStatus st = gnuplot_files(files, out_path);
    if (st == TP_OK) st = gnuplot_write(files, spec, series, n_series);
    if (st == TP_OK) st = gnuplot_run(files);
    return st;
}
