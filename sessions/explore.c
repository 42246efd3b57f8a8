/* sessions/explore: see explore.h. */
#include "sessions/explore.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/strbuf.h"
#include "plots/gnuplot.h"

void explore_request_defaults(ExploreRequest *q)
{
    memset(q, 0, sizeof *q);
    dse_space_defaults(&q->space);
    dse_area_defaults(&q->area);
    q->batch = 1;
}

static TpStatus parse_num(const char *key, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x)) return err_set(TP_EINVAL, "%s '%s': expected a number", key, v);
    if (x < lo || x > hi) return err_set(TP_EINVAL, "%s %g: expected %g..%g", key, x, lo, hi);
    *out = x;
    return TP_OK;
}

static TpStatus set_path(char *dst, size_t n, const char *key, const char *v)
{
    if (!*v) return err_set(TP_EINVAL, "%s: empty path", key);
    if (strlen(v) >= n) return err_set(TP_EINVAL, "%s: path longer than %zu characters", key, n - 1);
    snprintf(dst, n, "%s", v);
    return TP_OK;
}

TpStatus explore_request_set(ExploreRequest *q, const char *key, const char *v, int *known)
{
    char k[32];
    snprintf(k, sizeof k, "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '-') *p = '_';
    *known = 1;
    double x;
    TpStatus st;
    int axis = dse_axis_find(k);
    if (axis >= 0) return dse_space_parse(&q->space, (DseAxis)axis, v);
    if (!strcmp(k, "batch")) {
        if ((st = parse_num(k, v, 1, 100000, &x)) != TP_OK) return st;
        if (x != floor(x)) return err_set(TP_EINVAL, "batch %g: expected a whole number", x);
        q->batch = (int)x;
    } else if (!strcmp(k, "budget_us")) {
        if ((st = parse_num(k, v, 0, 1e12, &x)) != TP_OK) return st;
        q->budget_us = x;
    } else if (!strcmp(k, "area_pe")) {
        if ((st = parse_num(k, v, 0, 1e6, &x)) != TP_OK) return st;
        q->area.pe_mm2 = x;
    } else if (!strcmp(k, "area_kib")) {
        if ((st = parse_num(k, v, 0, 1e6, &x)) != TP_OK) return st;
        q->area.sram_mm2_per_kib = x;
    } else if (!strcmp(k, "all")) {
        if (strcmp(v, "0") && strcmp(v, "1")) return err_set(TP_EINVAL, "all '%s': expected 0 or 1", v);
        q->all = v[0] == '1';
    } else if (!strcmp(k, "accel")) {
        return set_path(q->accel, sizeof q->accel, k, v);
    } else if (!strcmp(k, "out")) {
        return set_path(q->out, sizeof q->out, k, v);
    } else if (!strcmp(k, "plot")) {
        if ((st = set_path(q->plot, sizeof q->plot, k, v)) != TP_OK) return st;
        GnuplotFiles gf;
        if (gnuplot_files(&gf, v) != TP_OK) {
            q->plot[0] = '\0';
            return err_set(TP_EINVAL, "plot %s: expected FILE.png or FILE.svg", v);
        }
    } else {
        *known = 0;
    }
    return TP_OK;
}

/* ==== outputs ===================================================================================== */

TpStatus explore_tsv(const DseResult *r, char **tsv)
{
    StrBuf b = {0};
    strbuf_puts(&b, "rows\tcols\tsram_kib\tdram_gbps\tclock_mhz\tarea_mm2\tlatency_us\ttokens_per_s\tstreamed_kib\t"
                    "sparse_layers\tpareto\tchosen\n");
    for (int i = 0; i < r->n; i++) {
        const DseDesign *d = &r->d[i];
        strbuf_printf(&b, "%d\t%d\t%g\t%g\t%g\t%.6g\t%.6g\t%.6g\t%.6g\t%d\t%d\t%d\n", d->p.rows, d->p.cols, d->p.sram_kib,
                      d->p.dram_gbps, d->p.clock_mhz, d->area, d->latency_us, 1e6 / d->latency_us,
                      d->streamed_bytes / 1024.0, d->sparse_layers, d->pareto, i == r->chosen);
    }
    if (b.oom) {
        strbuf_free(&b);
        return err_set(TP_ENOMEM, "dse: out of memory for the TSV");
    }
    *tsv = b.p;
    return TP_OK;
}

static const char *cell_name(const DseLayer *l) { return l->dense.cell == ACCEL_HLSTM ? "H-LSTM" : "LSTM"; }

static void describe_layer(StrBuf *b, int i, const DseLayer *l)
{
    strbuf_printf(b, "  layer %d: %s I=%d H=%d", i, cell_name(l), l->dense.I, l->dense.H);
    if (l->dense.cell == ACCEL_HLSTM) strbuf_printf(b, " M=%d", l->dense.M);
    if (l->pattern == DSE_DENSE) strbuf_puts(b, ": dense\n");
    else if (l->pattern == DSE_ROW)
        strbuf_printf(b, ": density %.1f %%, row-balanced: %d of %d per row\n", 100 * l->density, l->k_max, l->K);
    else
        strbuf_printf(b, ": density %.1f %%, irregular (unstructured or block): rows keep %d..%d of %d; "
                         "modelled row-balanced at %d (the densest row)\n",
                      100 * l->density, l->k_min, l->k_max, l->K, l->k_max);
}

static void design_line(StrBuf *b, const DseResult *r, int i, int n_layers)
{
    const DseDesign *d = &r->d[i];
    strbuf_printf(b, " %c%c %5d %5d %9g %10g %10g %10.4g %11.4g %10.0f %13.1f %4d/%d\n", i == r->chosen ? '>' : ' ',
                  d->pareto ? '*' : ' ', d->p.rows, d->p.cols, d->p.sram_kib, d->p.dram_gbps, d->p.clock_mhz, d->area,
                  d->latency_us, 1e6 / d->latency_us, d->streamed_bytes / 1024.0, d->sparse_layers, n_layers);
}

/* Designs by area, then latency, then enumeration order. */
static const DseResult *sort_r;
static int by_area(const void *pa, const void *pb)
{
    const DseDesign *a = &sort_r->d[*(const int *)pa], *b = &sort_r->d[*(const int *)pb];
    if (a->area != b->area) return a->area < b->area ? -1 : 1;
    if (a->latency_us != b->latency_us) return a->latency_us < b->latency_us ? -1 : 1;
    return *(const int *)pa - *(const int *)pb;
}

static int *sorted_order(const DseResult *r)
{
    int *ord = malloc((size_t)r->n * sizeof *ord);
    if (!ord) return NULL;
    for (int i = 0; i < r->n; i++) ord[i] = i;
    sort_r = r;
    qsort(ord, (size_t)r->n, sizeof *ord, by_area);
    return ord;
}

static void chosen_line(StrBuf *b, const DseResult *r, double budget_us)
{
    if (r->chosen < 0) {
        double best = INFINITY;
        for (int i = 0; i < r->n; i++) best = fmin(best, r->d[i].latency_us);
        strbuf_printf(b, "chosen: none: no design meets the budget of %g us (the fastest takes %.4g us)\n", budget_us, best);
        return;
    }
    const DseDesign *d = &r->d[r->chosen];
    strbuf_printf(b, "chosen: %dx%d, %g KiB, %g GB/s, %g MHz: %.4g us per step, %.4g mm2 (%s)\n", d->p.rows, d->p.cols,
                  d->p.sram_kib, d->p.dram_gbps, d->p.clock_mhz, d->latency_us, d->area,
                  budget_us > 0 ? "the smallest area within the budget" : "the smallest area x latency on the front");
}

static TpStatus table_text(StrBuf *b, const Session *s, const ExploreRequest *q, const DseModel *dm,
                           const AccelParams *base, const DseResult *r)
{
    strbuf_printf(b, "design-space exploration (accelerator model) of %s at step %ld: %d %s layer(s), batch %d\n", s->dir,
                  s->trainer.step, dm->n_layers, cell_name(&dm->l[0]), dm->batch);
    for (int l = 0; l < dm->n_layers; l++) describe_layer(b, l, &dm->l[l]);
    strbuf_puts(b, "swept:");
    for (int a = 0; a < DSE_N_AXES; a++) {
        char list[512];
        dse_space_format(&q->space, (DseAxis)a, list, sizeof list);
        strbuf_printf(b, "%s %s %s", a ? ";" : "", dse_axis_name((DseAxis)a), list);
    }
    strbuf_printf(b, "\nother parameters (%s): weight_bytes=%g index_bits=%d; per tile load=%d fill=%d cycles; "
                     "vector unit %d lanes x %d cycles; %d cycles a step\n",
                  q->accel[0] ? q->accel : "built-in default", base->weight_bytes, base->index_bits,
                  base->weight_load_cycles, base->tile_fill_cycles, base->vector_lanes, base->vector_cycles,
                  base->step_overhead_cycles);
    strbuf_printf(b, "area proxy: %g mm2 per PE + %g mm2 per KiB SRAM; latency: one step of every recurrent layer "
                     "(embedding and decoder not modelled)\n", q->area.pe_mm2, q->area.sram_mm2_per_kib);
    strbuf_printf(b, "Pareto front: %d of %d designs (* on the front, > chosen)%s\n\n", r->n_pareto, r->n,
                  q->all ? "" : "; all=1 (--all) lists every design");
    strbuf_puts(b, "     rows  cols  sram_KiB  dram_GB/s  clock_MHz   area_mm2  latency_us   tokens/s  streamed_KiB  sparse\n");
    int *ord = sorted_order(r);
    if (!ord) return err_set(TP_ENOMEM, "dse: out of memory for the table");
    for (int k = 0; k < r->n; k++)
        if (q->all || r->d[ord[k]].pareto || ord[k] == r->chosen) design_line(b, r, ord[k], dm->n_layers);
    free(ord);
    strbuf_puts(b, "\n");
    chosen_line(b, r, q->budget_us);
    return TP_OK;
}

static void json_text(StrBuf *b, const Session *s, const ExploreRequest *q, const DseModel *dm, const DseResult *r)
{
    strbuf_puts(b, "{\"format\":\"topiary-dse\",\"session\":");
    strbuf_json_string(b, s->dir);
    strbuf_printf(b, ",\"step\":%ld,\"batch\":%d,\"budget_us\":%.17g,\"area\":{\"pe_mm2\":%.17g,\"sram_mm2_per_kib\":%.17g},"
                     "\"layers\":[", s->trainer.step, dm->batch, q->budget_us, q->area.pe_mm2, q->area.sram_mm2_per_kib);
    for (int l = 0; l < dm->n_layers; l++) {
        const DseLayer *d = &dm->l[l];
        strbuf_printf(b, "%s{\"cell\":\"%s\",\"input\":%d,\"hidden\":%d,\"gate_hidden\":%d,\"density\":%.6f,\"pattern\":\"%s\","
                         "\"row_kept_min\":%d,\"row_kept_max\":%d,\"row_length\":%d}", l ? "," : "",
                      d->dense.cell == ACCEL_HLSTM ? "hlstm" : "lstm", d->dense.I, d->dense.H, d->dense.M, d->density,
                      dse_pattern_name(d->pattern), d->k_min, d->k_max, d->K);
    }
    strbuf_puts(b, "],\"designs\":[");
    for (int i = 0; i < r->n; i++) {
        const DseDesign *d = &r->d[i];
        strbuf_printf(b, "%s{\"rows\":%d,\"cols\":%d,\"sram_kib\":%.17g,\"dram_gbps\":%.17g,\"clock_mhz\":%.17g,"
                         "\"area_mm2\":%.10g,\"latency_us\":%.10g,\"streamed_kib\":%.10g,\"sparse_layers\":%d,\"pareto\":%d}",
                      i ? "," : "", d->p.rows, d->p.cols, d->p.sram_kib, d->p.dram_gbps, d->p.clock_mhz, d->area,
                      d->latency_us, d->streamed_bytes / 1024.0, d->sparse_layers, d->pareto);
    }
    strbuf_printf(b, "],\"n_pareto\":%d,\"chosen\":%d}\n", r->n_pareto, r->chosen);
}

/* The figure: every design as points (NaN between them: no lines), the front as a line by area, the
 * chosen design as a marker. */
static TpStatus write_plot(const char *path, const DseResult *r)
{
    int n = r->n;
    double *ax = malloc(2 * (size_t)n * sizeof *ax), *ay = malloc(2 * (size_t)n * sizeof *ay);
    double *fx = malloc((size_t)n * sizeof *fx), *fy = malloc((size_t)n * sizeof *fy);
    int *ord = sorted_order(r);
    TpStatus st = TP_OK;
    if (!ax || !ay || !fx || !fy || !ord) {
        st = err_set(TP_ENOMEM, "dse: out of memory for the plot");
        goto done;
    }
    size_t nf = 0;
    for (int k = 0; k < n; k++) {
        const DseDesign *d = &r->d[ord[k]];
        ax[2 * k] = d->area;
        ay[2 * k] = d->latency_us;
        ax[2 * k + 1] = ay[2 * k + 1] = NAN;
        if (d->pareto) fx[nf] = d->area, fy[nf++] = d->latency_us;
    }
    char all_name[64], title[96], mark_label[128];
    snprintf(all_name, sizeof all_name, "all designs (%d)", n);
    snprintf(title, sizeof title, "design space: latency vs area proxy (%d on the Pareto front)", r->n_pareto);
    ChartSeries series[2] = {{all_name, ax, ay, 2 * (size_t)n}, {"Pareto front", fx, fy, nf}};
    ChartSpec spec;
    chart_spec_init(&spec);
    spec.title = title;
    spec.x_label = "area proxy (mm2: PEs + SRAM)";
    spec.y_label = "latency per step (us)";
    spec.log_y = 1;
    ChartMarker mark;
    if (r->chosen >= 0) {
        const DseDesign *d = &r->d[r->chosen];
        snprintf(mark_label, sizeof mark_label, "chosen: %dx%d, %g KiB, %g GB/s, %g MHz", d->p.rows, d->p.cols,
                 d->p.sram_kib, d->p.dram_gbps, d->p.clock_mhz);
        mark = (ChartMarker){CHART_MARK_POINT, d->area, d->latency_us, mark_label, 0};
        spec.markers = &mark;
        spec.n_markers = 1;
    }
    GnuplotFiles gf;
    st = gnuplot_plot(&gf, path, &spec, series, 2);
done:
    free(ax);
    free(ay);
    free(fx);
    free(fy);
    free(ord);
    return st;
}

TpStatus explore_session(const Session *s, const ExploreRequest *q, char **text, char *summary, size_t sn)
{
    *text = NULL;
    AccelParams base;
    TpStatus st = q->accel[0] ? accel_params_load(&base, q->accel) : (accel_defaults(&base), TP_OK);
    if (st != TP_OK) return st;
    DseModel dm;
    if ((st = dse_model_from(&dm, &s->model, q->batch)) != TP_OK) return st;
    DseResult r;
    if ((st = dse_sweep(&r, &base, &q->space, &q->area, &dm)) != TP_OK) return st;
    r.chosen = dse_choose(&r, q->budget_us);
    StrBuf b = {0};
    char *tsv = NULL;
    if (q->out[0]) {
        if ((st = explore_tsv(&r, &tsv)) != TP_OK) goto done;
        if ((st = fsutil_write_atomic(q->out, tsv, strlen(tsv))) != TP_OK) goto done;
    }
    if (q->plot[0] && (st = write_plot(q->plot, &r)) != TP_OK) goto done;
    if (q->json) json_text(&b, s, q, &dm, &r);
    else if ((st = table_text(&b, s, q, &dm, &base, &r)) != TP_OK) goto done;
    if (!q->json && q->out[0]) strbuf_printf(&b, "wrote %s (%d designs)\n", q->out, r.n);
    if (!q->json && q->plot[0]) strbuf_printf(&b, "wrote %s\n", q->plot);
    if (b.oom) {
        st = err_set(TP_ENOMEM, "dse: out of memory for the report");
        goto done;
    }
    if (summary && sn) {
        if (r.chosen >= 0)
            snprintf(summary, sn, "%d designs, %d on the front; chosen %dx%d %g KiB %g GB/s %g MHz: %.4g us, %.4g mm2", r.n,
                     r.n_pareto, r.d[r.chosen].p.rows, r.d[r.chosen].p.cols, r.d[r.chosen].p.sram_kib,
                     r.d[r.chosen].p.dram_gbps, r.d[r.chosen].p.clock_mhz, r.d[r.chosen].latency_us, r.d[r.chosen].area);
        else snprintf(summary, sn, "%d designs, %d on the front; none within %g us", r.n, r.n_pareto, q->budget_us);
    }
    *text = b.p;
    b.p = NULL;
done:
    strbuf_free(&b);
    free(tsv);
    dse_result_free(&r);
    return st;
}
