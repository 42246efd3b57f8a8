/* engine/latency (files): the TSV and JSON forms of latency curves (latency.h describes both).  Kept
 * apart from the profiler in latency.c so each file stays readable. */
#include "latency.h"
#include "base/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

/* ==== TSV ======================================================================================= */

static const char *const TSV_COLS[] = {"backend", "threads", "batch", "seq", "hidden", "sparsity", "pattern",
                                       "median_us", "p10_us", "p90_us", "input", "mean_us", "n_samples",
                                       "n_inner", "protocol", "run", "fingerprint"};
#define TSV_REQUIRED 10
#define TSV_ALL ((int)(sizeof TSV_COLS / sizeof TSV_COLS[0]))

const char *latency_tsv_header(void)
{
    static char h[256];
    if (!h[0]) {
        size_t u = 0;
        for (int i = 0; i < TSV_ALL; i++) u += (size_t)snprintf(h + u, sizeof h - u, "%s%s", i ? "\t" : "", TSV_COLS[i]);
        snprintf(h + u, sizeof h - u, "\n");
    }
    return h;
}

TpStatus latency_tsv_format(const LatencyCurve *c, int with_header, char **buf, size_t *len)
{
    size_t need = (with_header ? 256 : 0) + (size_t)c->n * (200 + strlen(c->fingerprint) + strlen(c->run)) + 1;
    char *b = realloc(*buf, *len + need);
    if (!b) return err_set(TP_ENOMEM, "latency TSV: out of memory");
    *buf = b;
    size_t u = *len;
    if (with_header) u += (size_t)snprintf(b + u, need, "%s", latency_tsv_header());
    for (int i = 0; i < c->n; i++)
        u += (size_t)snprintf(b + u, *len + need - u,
                              "%s\t%d\t%d\t%d\t%d\t%.6g\t%s\t%.3f\t%.3f\t%.3f\t%d\t%.3f\t%d\t%d\t%s\t%s\t%s\n",
                              c->backend, c->threads, c->batch, c->seq, c->hidden[i], c->sparsity, c->pattern,
                              c->median_us[i], c->p10_us[i], c->p90_us[i], c->input, c->mean_us[i], c->n_samples[i],
                              c->n_inner[i], c->protocol, c->run[0] ? c->run : "-",
                              c->fingerprint[0] ? c->fingerprint : "-");
    *len = u;
    return TP_OK;
}

static int word_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

static int num_field(const char *s, double *v)
{
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    return *s && !*e && !errno && isfinite(*v);
}

static int int_field(const char *s, long lo, long hi, int *v)
{
    double d;
    if (!num_field(s, &d) || d != floor(d) || d < lo || d > hi) return 0;
    *v = (int)d;
    return 1;
}

/* Parse one data row into a one-point curve `row`; the reason goes to err_msg(). */
static TpStatus parse_row(char **f, const int *col, LatencyCurve *row, int *hidden, double v[4], int ni[2])
{
    latency_curve_init(row);
#define FIELD(k) f[col[k]]
    if (!word_ok(FIELD(0))) return err_set(TP_EFORMAT, "backend '%s': expected a name", FIELD(0));
    snprintf(row->backend, sizeof row->backend, "%s", FIELD(0));
    if (!int_field(FIELD(1), 1, 256, &row->threads)) return err_set(TP_EFORMAT, "threads '%s': expected 1..256", FIELD(1));
    if (!int_field(FIELD(2), 1, 100000, &row->batch)) return err_set(TP_EFORMAT, "batch '%s': expected 1..100000", FIELD(2));
    if (!int_field(FIELD(3), 1, 100000, &row->seq)) return err_set(TP_EFORMAT, "seq '%s': expected 1..100000", FIELD(3));
    if (!int_field(FIELD(4), 1, LATENCY_MAX_HIDDEN, hidden))
        return err_set(TP_EFORMAT, "hidden '%s': expected 1..%d", FIELD(4), LATENCY_MAX_HIDDEN);
    if (!num_field(FIELD(5), &row->sparsity) || row->sparsity < 0 || row->sparsity >= 1)
        return err_set(TP_EFORMAT, "sparsity '%s': expected 0 <= s < 1", FIELD(5));
    if (!latency_pattern_known(FIELD(6))) return err_set(TP_EFORMAT, "pattern '%s': expected " LATENCY_PATTERNS, FIELD(6));
    snprintf(row->pattern, sizeof row->pattern, "%s", FIELD(6));
    static const char *const tn[3] = {"median_us", "p10_us", "p90_us"};
    for (int k = 0; k < 3; k++)
        if (!num_field(FIELD(7 + k), &v[k]) || v[k] <= 0)
            return err_set(TP_EFORMAT, "%s '%s': expected a positive number", tn[k], FIELD(7 + k));
    if (v[1] > v[0] || v[0] > v[2])
        return err_set(TP_EFORMAT, "expected p10_us <= median_us <= p90_us, got %s, %s, %s", FIELD(8), FIELD(7), FIELD(9));
    v[3] = v[0];
    ni[0] = ni[1] = 1;
    if (col[10] >= 0 && !int_field(FIELD(10), 0, LATENCY_MAX_HIDDEN, &row->input))
        return err_set(TP_EFORMAT, "input '%s': expected 0..%d", FIELD(10), LATENCY_MAX_HIDDEN);
    if (col[11] >= 0 && (!num_field(FIELD(11), &v[3]) || v[3] <= 0))
        return err_set(TP_EFORMAT, "mean_us '%s': expected a positive number", FIELD(11));
    if (col[12] >= 0 && !int_field(FIELD(12), 0, 100000000, &ni[0]))
        return err_set(TP_EFORMAT, "n_samples '%s': expected a count", FIELD(12));
    if (col[13] >= 0 && !int_field(FIELD(13), 0, 100000000, &ni[1]))
        return err_set(TP_EFORMAT, "n_inner '%s': expected a count", FIELD(13));
    if (col[14] >= 0) {
        if (!word_ok(FIELD(14))) return err_set(TP_EFORMAT, "protocol '%s': expected a name", FIELD(14));
        snprintf(row->protocol, sizeof row->protocol, "%s", FIELD(14));
    }
    if (col[15] >= 0) snprintf(row->run, sizeof row->run, "%s", FIELD(15));
    if (col[16] >= 0) snprintf(row->fingerprint, sizeof row->fingerprint, "%s", FIELD(16));
#undef FIELD
    return TP_OK;
}

static int split_tabs(char *line, char **f, int max)
{
    int k = 0;
    for (char *p = line;;) {
        if (k == max) return max + 1;
        f[k++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    return k;
}

TpStatus latency_tsv_parse(LatencySet *out, const char *text, int *torn)
{
    memset(out, 0, sizeof *out);
    if (torn) *torn = 0;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) return err_set(TP_ENOMEM, "latency TSV: out of memory");
    memcpy(copy, text, len + 1);
    TpStatus st = TP_OK;
    enum { MAXF = 64 };
    char *f[MAXF];
    int col[TSV_ALL], n_cols = 0, lineno = 0;
    LatencyCurve row;
    latency_curve_init(&row);
    char *p = copy;
    while (*p) {
        char *nl = strchr(p, '\n');
        int last_unterminated = !nl;
        if (nl) *nl = '\0';
        char *line = p;
        p = nl ? nl + 1 : p + strlen(p);
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
        if (lineno == 1) {
            n_cols = split_tabs(line, f, MAXF);
            if (n_cols > MAXF) {
                st = err_set(TP_EFORMAT, "line 1: more than %d columns", MAXF);
                goto fail;
            }
            for (int k = 0; k < TSV_ALL; k++) col[k] = -1;
            for (int i = 0; i < n_cols; i++)
                for (int k = 0; k < TSV_ALL; k++)
                    if (!strcmp(f[i], TSV_COLS[k])) {
                        if (col[k] >= 0) {
                            st = err_set(TP_EFORMAT, "line 1: column '%s' appears twice", TSV_COLS[k]);
                            goto fail;
                        }
                        col[k] = i;
                    }
            for (int k = 0; k < TSV_REQUIRED; k++)
                if (col[k] != k) {
                    st = err_set(TP_EFORMAT, "line 1: expected the header 'backend threads batch seq hidden sparsity "
                                             "pattern median_us p10_us p90_us ...' (tab-separated); column %d is not '%s'",
                                 k + 1, TSV_COLS[k]);
                    goto fail;
                }
            continue;
        }
        int k = split_tabs(line, f, MAXF);
        int hidden = 0, ni[2] = {1, 1};
        double v[4] = {0, 0, 0, 0};
        TpStatus rs = k != n_cols ? err_set(TP_EFORMAT, "%d field(s), the header has %d", k > MAXF ? MAXF : k, n_cols)
                                  : parse_row(f, col, &row, &hidden, v, ni);
        if (rs != TP_OK) {
            if (last_unterminated) { /* a torn append: skip it, say so */
                if (torn) *torn = 1;
                break;
            }
            st = err_wrap(TP_EFORMAT, "line %d: ", lineno);
            goto fail;
        }
        LatencyCurve *cur = out->n ? &out->c[out->n - 1] : NULL;
        int same = cur && latency_curve_same_key(cur, &row) && !strcmp(cur->run, row.run) &&
                   !strcmp(cur->protocol, row.protocol);
        /* a size that does not ascend starts the next sweep (a session appends sweeps; a model curve
         * computed twice carries the same run id) */
        if (same && hidden <= cur->hidden[cur->n - 1]) same = 0;
        if (!same) {
            LatencyCurve *nc = realloc(out->c, sizeof *nc * (size_t)(out->n + 1));
            if (!nc) {
                st = err_set(TP_ENOMEM, "latency TSV: out of memory");
                goto fail;
            }
            out->c = nc;
            cur = &out->c[out->n++];
            *cur = row; /* conditions; no points yet */
        }
        if ((st = latency_curve_push(cur, hidden, v[0], v[1], v[2], v[3], ni[0], ni[1])) != TP_OK) {
            err_wrap(st, "line %d: ", lineno);
            goto fail;
        }
        if (ni[0] > cur->rounds) cur->rounds = ni[0];
    }
    if (lineno == 0) {
        st = err_set(TP_EFORMAT, "line 1: empty file (expected the header line)");
        goto fail;
    }
    free(copy);
    return TP_OK;
fail:
    free(copy);
    latency_set_free(out);
    return st;
}

TpStatus latency_tsv_load(LatencySet *out, const char *path, int *torn)
{
    memset(out, 0, sizeof *out);
    void *data = NULL;
    size_t n = 0;
    TpStatus st = fsutil_read_file(path, (size_t)64 << 20, &data, &n);
    char *buf = data;
    if (st == TP_ERANGE) st = err_set(TP_ERANGE, "%s: larger than 64 MiB", path);
    if (st == TP_OK) {
        if (memchr(buf, '\0', n)) st = err_set(TP_EFORMAT, "%s: binary data (a NUL byte) in a text file", path);
        else if ((st = latency_tsv_parse(out, buf, torn)) != TP_OK) err_wrap(st, "%s: ", path);
    }
    free(buf);
    return st;
}

/* ==== JSON ====================================================================================== */

/* The curve's conditions as JSON keys, one table for the writer and the reader: kind 's' a char
 * array, 'i' an int, 'd' a double; required ones must be present when read. */
typedef struct {
    const char *key;
    char kind;
    int required;
    size_t off, size;
} CondField;

#define C(k, kind, req) {#k, kind, req, offsetof(LatencyCurve, k), sizeof(((LatencyCurve *)0)->k)}
static const CondField COND_FIELDS[] = {
    C(backend, 's', 1),     C(threads, 'i', 1), C(batch, 'i', 1), C(seq, 'i', 1),      C(input, 'i', 0),
    C(sparsity, 'd', 0),    C(pattern, 's', 0), C(protocol, 's', 0), C(run, 's', 0),   C(fingerprint, 's', 0),
    C(rounds, 'i', 0),      C(seconds, 'd', 0),
};
#undef C

/* One point's columns: 'i' int arrays, 'd' double arrays; only hidden and median_us are required
 * (p10/p90/mean default to the median when read, the counts to 0). */
typedef struct {
    const char *key;
    char kind;
    size_t off;
} PointField;

#define P(k, kind) {#k, kind, offsetof(LatencyCurve, k)}
static const PointField POINT_FIELDS[] = {P(hidden, 'i'), P(median_us, 'd'), P(p10_us, 'd'), P(p90_us, 'd'),
                                          P(mean_us, 'd'), P(n_samples, 'i'), P(n_inner, 'i')};
#undef P
enum { N_POINT_FIELDS = (int)(sizeof POINT_FIELDS / sizeof POINT_FIELDS[0]) };

static double point_value(const LatencyCurve *c, const PointField *f, int i)
{
    const void *arr = *(void *const *)((const char *)c + f->off);
    return f->kind == 'i' ? ((const int *)arr)[i] : ((const double *)arr)[i];
}

static int add_cond(cJSON *o, const LatencyCurve *c, const CondField *f)
{
    const char *at = (const char *)c + f->off;
    if (f->kind == 's') return cJSON_AddStringToObject(o, f->key, at) != NULL;
    double v = f->kind == 'i' ? *(const int *)at : *(const double *)at;
    return cJSON_AddNumberToObject(o, f->key, v) != NULL;
}

TpStatus latency_json_format(const LatencyCurve *c, const char *analysis_json, char **buf)
{
    *buf = NULL;
    cJSON *o = cJSON_CreateObject(), *pts = NULL;
    if (!o) goto oom;
    cJSON_AddStringToObject(o, "format", "topiary-latency");
    cJSON_AddNumberToObject(o, "version", 1);
    for (size_t f = 0; f < sizeof COND_FIELDS / sizeof COND_FIELDS[0]; f++)
        if (!add_cond(o, c, &COND_FIELDS[f])) goto oom;
    if (latency_curve_is_audio(c) && !cJSON_AddStringToObject(o, "unit", "us per second of audio")) goto oom;
    if (!(pts = cJSON_AddArrayToObject(o, "points"))) goto oom;
    for (int i = 0; i < c->n; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p || !cJSON_AddItemToArray(pts, p)) goto oom;
        for (int f = 0; f < N_POINT_FIELDS; f++)
            if (!cJSON_AddNumberToObject(p, POINT_FIELDS[f].key, point_value(c, &POINT_FIELDS[f], i))) goto oom;
    }
    if (analysis_json) {
        cJSON *a = cJSON_Parse(analysis_json);
        if (!a) {
            cJSON_Delete(o);
            return err_set(TP_EINVAL, "latency JSON: the analysis is not valid JSON");
        }
        cJSON_AddItemToObject(o, "analysis", a);
    }
    *buf = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*buf) return err_set(TP_ENOMEM, "latency JSON: out of memory");
    return TP_OK;
oom:
    cJSON_Delete(o);
    return err_set(TP_ENOMEM, "latency JSON: out of memory");
}

static const char *jstr(const cJSON *o, const char *k, char *dst, size_t n, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return required ? k : NULL;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) return k;
    snprintf(dst, n, "%s", v->valuestring);
    return NULL;
}

static const char *jnum(const cJSON *o, const char *k, double *dst, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return required ? k : NULL;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return k;
    *dst = v->valuedouble;
    return NULL;
}

/* Read one condition into the curve; the key's name when missing (and required) or invalid. */
static const char *read_cond(const cJSON *o, LatencyCurve *c, const CondField *f)
{
    char *at = (char *)c + f->off;
    if (f->kind == 's') return jstr(o, f->key, at, f->size, f->required);
    double v = f->kind == 'i' ? *(int *)at : *(double *)at;
    const char *bad = jnum(o, f->key, &v, f->required);
    if (bad) return bad;
    if (f->kind == 'd')
        *(double *)at = v;
    else if (v < INT_MIN || v > INT_MAX)
        return f->key;
    else
        *(int *)at = (int)v;
    return NULL;
}

TpStatus latency_json_parse(LatencyCurve *out, const char *text)
{
    latency_curve_init(out);
    cJSON *o = cJSON_Parse(text);
    if (!o) return err_set(TP_EFORMAT, "latency JSON: not valid JSON");
    TpStatus st = TP_OK;
    char fmt[32] = "";
    double ver = 0;
    const char *bad = jstr(o, "format", fmt, sizeof fmt, 1);
    if (!bad && strcmp(fmt, "topiary-latency")) bad = "format";
    if (!bad) bad = jnum(o, "version", &ver, 1);
    if (!bad && (ver < 1 || ver >= 2)) {
        st = err_set(TP_EFORMAT, "latency JSON: version %g: this reader knows version 1", ver);
        goto done;
    }
    for (size_t f = 0; !bad && f < sizeof COND_FIELDS / sizeof COND_FIELDS[0]; f++)
        bad = read_cond(o, out, &COND_FIELDS[f]);
    if (!bad && (out->threads < 1 || out->batch < 1 || out->seq < 1 || out->input < 0 || out->sparsity < 0 ||
                 out->sparsity >= 1))
        bad = "conditions";
    if (bad) {
        st = err_set(TP_EFORMAT, "latency JSON: \"%s\" missing or invalid", bad);
        goto done;
    }
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(o, "points"), *p;
    if (!cJSON_IsArray(pts)) {
        st = err_set(TP_EFORMAT, "latency JSON: \"points\" missing or not an array");
        goto done;
    }
    int i = 0;
    cJSON_ArrayForEach(p, pts)
    {
        /* v[] follows POINT_FIELDS: hidden, median, p10, p90, mean, n_samples, n_inner. */
        double v[N_POINT_FIELDS] = {0};
        const char *pb = NULL;
        for (int f = 0; !pb && f < N_POINT_FIELDS; f++) {
            if (f == 2) v[2] = v[3] = v[4] = v[1];
            pb = jnum(p, POINT_FIELDS[f].key, &v[f], f < 2);
        }
        double h = v[0];
        if (!pb && (h < 1 || h > LATENCY_MAX_HIDDEN || h != floor(h))) pb = "hidden";
        if (!pb && (v[1] <= 0 || v[2] > v[1] || v[1] > v[3])) pb = "p10_us <= median_us <= p90_us";
        if (pb) {
            st = err_set(TP_EFORMAT, "latency JSON: point %d: \"%s\" missing or invalid", i, pb);
            goto done;
        }
        if ((st = latency_curve_push(out, (int)h, v[1], v[2], v[3], v[4], (int)v[5], (int)v[6])) != TP_OK) {
            err_wrap(TP_EFORMAT, "latency JSON: point %d: ", i);
            st = TP_EFORMAT;
            goto done;
        }
        i++;
    }
done:
    cJSON_Delete(o);
    if (st != TP_OK) latency_curve_free(out);
    return st;
}
