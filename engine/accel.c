/* engine/accel: see accel.h for the model. */
#include "accel.h"
#include "base/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

enum { ACCEL_FILE_MAX_BYTES = 65535 }; /* an accelerator description is a few hundred bytes */

TpStatus accel_params_validate(const AccelParams *p)
{
#define NEED(cond, ...) \
    if (!(cond)) return err_set(TP_ERANGE, "accel parameters: " __VA_ARGS__)
    NEED(p->rows >= 1 && p->rows <= 65536, "rows %d: expected 1..65536", p->rows);
    NEED(p->cols >= 1 && p->cols <= 65536, "cols %d: expected 1..65536", p->cols);
    NEED(p->clock_mhz > 0 && p->clock_mhz <= 1e5, "clock_mhz %g: expected 0 < MHz <= 100000", p->clock_mhz);
    NEED(p->weight_bytes > 0 && p->weight_bytes <= 8, "weight_bytes %g: expected 0 < bytes <= 8", p->weight_bytes);
    NEED(p->index_bits >= 0 && p->index_bits <= 32, "index_bits %d: expected 0..32", p->index_bits);
    NEED(p->sram_kib >= 0 && p->sram_kib <= 1e9, "sram_kib %g: expected 0..1e9", p->sram_kib);
    NEED(p->dram_gbps > 0 && p->dram_gbps <= 1e6, "dram_gbps %g: expected 0 < GB/s <= 1e6", p->dram_gbps);
    NEED(p->weight_load_cycles >= 0 && p->weight_load_cycles <= 1000000, "weight_load_cycles %d: expected 0..1e6",
         p->weight_load_cycles);
    NEED(p->tile_fill_cycles >= 0 && p->tile_fill_cycles <= 1000000, "tile_fill_cycles %d: expected 0..1e6",
         p->tile_fill_cycles);
    NEED(p->vector_lanes >= 1 && p->vector_lanes <= 1000000, "vector_lanes %d: expected 1..1e6", p->vector_lanes);
    NEED(p->vector_cycles >= 0 && p->vector_cycles <= 1000000, "vector_cycles %d: expected 0..1e6", p->vector_cycles);
    NEED(p->step_overhead_cycles >= 0 && p->step_overhead_cycles <= 100000000, "step_overhead_cycles %d: expected 0..1e8",
         p->step_overhead_cycles);
#undef NEED
    return TP_OK;
}

/* The numeric parameters: JSON key, whole or not, where, and the default (a 128x128 int8 array). */
typedef struct {
    const char *key;
    int is_int;
    size_t off;
    double dflt;
} Field;

#define F(k, i, d) {#k, i, offsetof(AccelParams, k), d}
static const Field FIELDS[] = {
    F(rows, 1, 128),           F(cols, 1, 128),       F(clock_mhz, 0, 700.0),   F(weight_bytes, 0, 1.0),
    F(index_bits, 1, 8),       F(sram_kib, 0, 8192.0), F(dram_gbps, 0, 25.6),    F(weight_load_cycles, 1, 128),
    F(tile_fill_cycles, 1, 255), F(vector_lanes, 1, 128), F(vector_cycles, 1, 8), F(step_overhead_cycles, 1, 200),
};
#undef F
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

static void set_field(AccelParams *p, const Field *f, double v)
{
    char *dst = (char *)p + f->off;
    if (f->is_int) *(int *)dst = (int)v;
    else *(double *)dst = v;
}

void accel_defaults(AccelParams *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "default 128x128 int8 systolic array");
    for (size_t f = 0; f < N_FIELDS; f++) set_field(p, &FIELDS[f], FIELDS[f].dflt);
}

TpStatus accel_params_parse(AccelParams *p, const char *json)
{
    accel_defaults(p);
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return err_set(TP_EFORMAT, "accel parameters: expected a JSON object");
    }
    TpStatus st = TP_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        const char *k = it->string;
        if (k[0] == '_') continue; /* documentation */
        if (!strcmp(k, "name")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof p->name) {
                st = err_set(TP_EFORMAT, "accel parameters: \"name\": expected a string under %zu bytes", sizeof p->name);
                break;
            }
            snprintf(p->name, sizeof p->name, "%s", it->valuestring);
            continue;
        }
        size_t f = 0;
        while (f < N_FIELDS && strcmp(FIELDS[f].key, k)) f++;
        if (f == N_FIELDS) {
            st = err_set(TP_EFORMAT, "accel parameters: unknown key \"%s\" (expected name, rows, cols, clock_mhz, "
                                     "weight_bytes, index_bits, sram_kib, dram_gbps, weight_load_cycles, "
                                     "tile_fill_cycles, vector_lanes, vector_cycles, step_overhead_cycles)", k);
            break;
        }
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !isfinite(v) || (FIELDS[f].is_int && (v != floor(v) || fabs(v) > 2e9))) {
            st = err_set(TP_EFORMAT, "accel parameters: \"%s\": expected a%s number", k, FIELDS[f].is_int ? " whole" : "");
            break;
        }
        set_field(p, &FIELDS[f], v);
    }
    cJSON_Delete(o);
    if (st == TP_OK) st = accel_params_validate(p);
    if (st != TP_OK) accel_defaults(p);
    return st;
}

TpStatus accel_params_load(AccelParams *p, const char *path)
{
    accel_defaults(p);
    void *buf;
    size_t n;
    TpStatus st = fsutil_read_file(path, ACCEL_FILE_MAX_BYTES, &buf, &n);
    if (st == TP_ERANGE) return err_set(TP_ERANGE, "%s: larger than 64 KiB: not an accelerator description", path);
    if (st != TP_OK) return st;
    st = accel_params_parse(p, buf);
    if (st != TP_OK) err_wrap(st, "%s: ", path);
    free(buf);
    return st;
}

void accel_describe(const AccelParams *p, char *buf, size_t n)
{
    snprintf(buf, n,
             "accel=%s; array=%dx%d; clock=%gMHz; weight_bytes=%g; sram=%gKiB; dram=%gGB/s; load=%d fill=%d "
             "vector=%dx%d overhead=%d cycles; index_bits=%d",
             p->name, p->rows, p->cols, p->clock_mhz, p->weight_bytes, p->sram_kib, p->dram_gbps, p->weight_load_cycles,
             p->tile_fill_cycles, p->vector_lanes, p->vector_cycles, p->step_overhead_cycles, p->index_bits);
    for (char *s = buf; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '"' || *s == '\\') *s = ' ';
}

static long cdiv(long a, long b) { return (a + b - 1) / b; }

/* One GEMM (count identical copies), tiles in order, pinning weights while *sram_left lasts. */
static void gemm(AccelGemm *g, const AccelParams *p, int N, int K, int k, int count, int B, double bpw,
                 double *sram_left)
{
    memset(g, 0, sizeof *g);
    g->N = N;
    g->K = K;
    g->k = k;
    g->count = count;
    g->k_tiles = (int)cdiv(k, p->rows);
    g->n_tiles = (int)cdiv(N, p->cols);
    const double bytes_per_cycle = p->dram_gbps * 1e3 / p->clock_mhz; /* GB/s / MHz = 1e3 bytes per cycle */
    const double compute = (double)p->weight_load_cycles + B + p->tile_fill_cycles;
    for (int c = 0; c < count; c++)
        for (int nt = 0; nt < g->n_tiles; nt++)
            for (int kt = 0; kt < g->k_tiles; kt++) {
                int rows = k - kt * p->rows < p->rows ? k - kt * p->rows : p->rows;
                int cols = N - nt * p->cols < p->cols ? N - nt * p->cols : p->cols;
                double tb = (double)rows * cols * bpw, mem = 0.0;
                g->bytes += tb;
                if (*sram_left >= tb) *sram_left -= tb;
                else {
                    *sram_left = 0.0; /* a tile is resident whole or not at all */
                    g->streamed_bytes += tb;
                    mem = tb / bytes_per_cycle;
                }
                g->compute_cycles += compute;
                g->memory_cycles += mem;
                g->cycles += fmax(compute, mem);
                g->memory_bound_tiles += mem > compute;
            }
}

TpStatus accel_layer(AccelBreakdown *b, const AccelParams *p, const AccelLayer *l)
{
    memset(b, 0, sizeof *b);
    TpStatus st = accel_params_validate(p);
    if (st != TP_OK) return st;
    if (l->I < 1 || l->H < 1 || l->B < 1 || l->T < 1 || (l->cell == ACCEL_HLSTM && l->M < 1) || l->I > 1 << 20 ||
        l->H > 1 << 20 || l->M > 1 << 20 || l->B > 1 << 20 || l->T > 1 << 20)
        return err_set(TP_EINVAL, "accel: bad layer I=%d H=%d M=%d B=%d T=%d", l->I, l->H, l->M, l->B, l->T);
    if (!(l->sparsity >= 0 && l->sparsity < 1)) return err_set(TP_EINVAL, "accel: sparsity %g: expected 0 <= s < 1", l->sparsity);
    if (l->sparsity > 0 && !l->row_balanced)
        return err_set(TP_ENOTAVAIL, "accel: sparsity %g needs pattern row (the model has no unstructured sparse dataflow)",
                       l->sparsity);
    double bpw = p->weight_bytes + (l->row_balanced ? p->index_bits / 8.0 : 0.0);
    double sram = p->sram_kib * 1024.0;
#define KEPT(K) (l->row_balanced ? (int)ceil((1.0 - l->sparsity) * (K)-1e-9) : (K))
    int K1 = l->I + l->H;
    if (l->cell == ACCEL_LSTM) {
        gemm(&b->g[0], p, 4 * l->H, K1, KEPT(K1), 1, l->B, bpw, &sram);
        b->n_gemms = 1;
    } else {
        gemm(&b->g[0], p, 4 * l->M, K1, KEPT(K1), 1, l->B, bpw, &sram);
        gemm(&b->g[1], p, l->H, l->M, KEPT(l->M), 4, l->B, bpw, &sram);
        b->n_gemms = 2;
        b->vector_cycles += (double)cdiv((long)l->B * 4 * l->M, p->vector_lanes); /* ReLU */
    }
#undef KEPT
    b->vector_cycles += (double)cdiv((long)l->B * l->H, p->vector_lanes) * p->vector_cycles;
    b->overhead_cycles = p->step_overhead_cycles;
    b->step_cycles = b->vector_cycles + b->overhead_cycles;
    for (int i = 0; i < b->n_gemms; i++) b->step_cycles += b->g[i].cycles;
    b->us = b->step_cycles * l->T / p->clock_mhz;
    return TP_OK;
}

/* Append to buf (used so far: *u). */
#define ADD(...)                                                                  \
    do {                                                                          \
        if (*u < n) {                                                             \
            int w_ = snprintf(buf + *u, n - *u, __VA_ARGS__);                     \
            if (w_ > 0) *u = (size_t)w_ < n - *u ? *u + (size_t)w_ : n - 1;        \
        }                                                                         \
    } while (0)

static void explain_gemm(char *buf, size_t n, size_t *u, const AccelParams *p, const char *what, const char *kname,
                         const AccelGemm *a, const AccelGemm *b)
{
    if (a->n_tiles != b->n_tiles)
        ADD("%s%s outputs N %d -> %d cross a multiple of the %d columns: column tiles %d -> %d (N padded to %ld)", *u ? "; " : "",
            what, a->N, b->N, p->cols, a->n_tiles, b->n_tiles, (long)b->n_tiles * p->cols);
    if (a->k_tiles != b->k_tiles)
        ADD("%s%s reduction %s %d -> %d cross a multiple of the %d rows: row tiles %d -> %d (padded to %ld)", *u ? "; " : "",
            what, kname, a->k, b->k, p->rows, a->k_tiles, b->k_tiles, (long)b->k_tiles * p->rows);
    if ((a->streamed_bytes == 0) != (b->streamed_bytes == 0))
        ADD("%s%s weights %s the %g KiB buffer (%.2f MiB streamed per step)", *u ? "; " : "", what,
            b->streamed_bytes > 0 ? "no longer fit" : "now fit", p->sram_kib, b->streamed_bytes / 1048576.0);
    else if (a->streamed_bytes != b->streamed_bytes && a->n_tiles == b->n_tiles && a->k_tiles == b->k_tiles)
        ADD("%s%s streams %.2f -> %.2f MiB from DRAM (%d memory-bound tiles)", *u ? "; " : "", what,
            a->streamed_bytes / 1048576.0, b->streamed_bytes / 1048576.0, b->memory_bound_tiles);
}

void accel_explain(char *buf, size_t n, const AccelParams *p, const AccelLayer *la, const AccelBreakdown *a,
                   const AccelLayer *lb, const AccelBreakdown *b)
{
    size_t used = 0, *u = &used;
    if (!n) return;
    buf[0] = '\0';
    const char *kname = "I+H";
    if (la->cell == ACCEL_LSTM) explain_gemm(buf, n, u, p, "gates", kname, &a->g[0], &b->g[0]);
    else {
        explain_gemm(buf, n, u, p, "fc1", kname, &a->g[0], &b->g[0]);
        explain_gemm(buf, n, u, p, "fc2", "M", &a->g[1], &b->g[1]);
    }
    if (a->vector_cycles != b->vector_cycles)
        ADD("%sgate maths B*H %d -> %d crosses a multiple of the %d vector lanes", used ? "; " : "", la->B * la->H,
            lb->B * lb->H, p->vector_lanes);
    if (!used) ADD("%s", a->step_cycles == b->step_cycles ? "same tiles, same cycles (inside one tile)" : "no boundary crossed");
}
#undef ADD

TpStatus accel_curve(LatencyCurve *c, const AccelParams *p, const AccelLayer *proto, const int *sizes, int n)
{
    latency_curve_init(c);
    for (int i = 0; i < n; i++) {
        AccelLayer l = *proto;
        l.H = sizes[i];
        if (!proto->I) l.I = sizes[i];
        if (!proto->M) l.M = sizes[i];
        AccelBreakdown b;
        TpStatus st = accel_layer(&b, p, &l);
        if (st == TP_OK) st = latency_curve_push(c, sizes[i], b.us, b.us, b.us, b.us, 1, 0);
        if (st != TP_OK) {
            latency_curve_free(c);
            return st;
        }
    }
    snprintf(c->backend, sizeof c->backend, "accel");
    c->threads = 1;
    c->batch = proto->B;
    c->seq = proto->T;
    c->input = proto->I;
    c->sparsity = proto->row_balanced ? proto->sparsity : 0.0;
    snprintf(c->pattern, sizeof c->pattern, "%s", proto->row_balanced ? "row" : "dense");
    snprintf(c->protocol, sizeof c->protocol, "model");
    /* the cell and its gate width are not TSV columns: the run id carries them */
    if (proto->cell == ACCEL_HLSTM && proto->M) snprintf(c->run, sizeof c->run, "model-hlstm-M%d", proto->M);
    else snprintf(c->run, sizeof c->run, "%s", proto->cell == ACCEL_HLSTM ? "model-hlstm-M=H" : "model-lstm");
    accel_describe(p, c->fingerprint, sizeof c->fingerprint);
    c->rounds = 1;
    return TP_OK;
}
