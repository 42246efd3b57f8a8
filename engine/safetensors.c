/* engine/safetensors: strict safetensors reader and writer; see safetensors.h.
 *
 * The reader parses the JSON header with cJSON and then checks everything the reference
 * implementation checks (dtype, shape, offsets, a contiguous buffer without gaps, overlaps or
 * trailing bytes) plus what topiary relies on: no duplicate names, finite floats, and every tensor
 * aligned to its element size, so that callers can cast 'data' without memcpy.
 */
#include "engine/safetensors.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/fsutil.h"

/* The format is little-endian and we copy tensor bytes as they are in memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "engine/safetensors assumes a little-endian host"
#endif

/* The reference implementation refuses headers above 100 MB; so do we (a header that big is an
 * attack or a corrupt length, never a model). */
#define HEADER_MAX ((uint64_t)100 * 1000 * 1000)
#define DEFAULT_MAX_BYTES ((uint64_t)4 << 30)
/* JSON numbers are doubles: integers are exact only up to 2^53. */
#define JSON_INT_MAX 9007199254740992.0

/* Record the error and leave through the function's single cleanup label. */
#define FAIL(...)                        \
    do {                                 \
        rc = err_set(__VA_ARGS__);       \
        goto fail;                       \
    } while (0)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [SAFETENSORS_F32] = { "F32", 4 }, [SAFETENSORS_U8] = { "U8", 1 },  [SAFETENSORS_I16] = { "I16", 2 },
    [SAFETENSORS_I32] = { "I32", 4 }, [SAFETENSORS_I64] = { "I64", 8 }, [SAFETENSORS_F64] = { "F64", 8 },
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

size_t safetensors_dtype_size(SafetensorsDtype dt)
{
    return (int)dt >= 0 && (int)dt < N_DTYPES ? dtypes[dt].size : 0;
}

const char *safetensors_dtype_name(SafetensorsDtype dt)
{
    return (int)dt >= 0 && (int)dt < N_DTYPES ? dtypes[dt].name : "?";
}

/* ==== Reader ==== */

struct span {
    uint64_t begin, end;
    int idx; /* tensor index in header order */
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A JSON value as an exact non-negative integer.  Returns NULL, or what is wrong with it. */
static const char *json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return "not a number";
    double d = j->valuedouble;
    if (d < 0)
        return "negative";
    if (!(d <= JSON_INT_MAX) || d != (double)(uint64_t)d)
        return "not an integer";
    *out = (uint64_t)d;
    return NULL;
}

/* Name of the first string in sorted 'v[0..n)' that appears twice, or NULL. */
static const char *find_duplicate(char **v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    for (int i = 1; i < n; i++)
        if (strcmp(v[i - 1], v[i]) == 0)
            return v[i];
    return NULL;
}

static TpStatus parse_meta(SafetensorsFile *f, const cJSON *m, const char *label)
{
    TpStatus rc = TP_OK;
    char **keys = NULL;

    if (!cJSON_IsObject(m))
        return err_set(TP_EFORMAT, "%s: __metadata__ is not a JSON object", label);
    int count = cJSON_GetArraySize(m);
    if (count == 0)
        return TP_OK;
    f->meta_keys = calloc((size_t)count, sizeof *f->meta_keys);
    f->meta_vals = calloc((size_t)count, sizeof *f->meta_vals);
    keys = malloc((size_t)count * sizeof *keys);
    if (!f->meta_keys || !f->meta_vals || !keys)
        FAIL(TP_ENOMEM, "%s: out of memory", label);
    for (const cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            FAIL(TP_EFORMAT, "%s: __metadata__ value of '%s' is not a string", label, c->string);
        char *k = strdup(c->string), *v = strdup(c->valuestring);
        if (!k || !v) {
            free(k);
            free(v);
            FAIL(TP_ENOMEM, "%s: out of memory", label);
        }
        keys[f->n_meta] = f->meta_keys[f->n_meta] = k;
        f->meta_vals[f->n_meta++] = v;
    }
    const char *dup = find_duplicate(keys, f->n_meta);
    if (dup)
        FAIL(TP_EFORMAT, "%s: duplicate __metadata__ key '%s'", label, dup);
fail:
    free(keys);
    return rc;
}

/* Fill 't' and 'sp' from one header entry; 'data_size' is the byte-buffer length. */
static TpStatus parse_tensor(SafetensorsTensor *t, struct span *sp, const cJSON *it, uint64_t data_size,
                             const char *label)
{
    const char *name = it->string, *why;
    uint64_t elems = 1, off[2];

    if (!cJSON_IsObject(it))
        return err_set(TP_EFORMAT, "%s: tensor '%s': entry is not a JSON object", label, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!dt || !sh || !of)
        return err_set(TP_EFORMAT, "%s: tensor '%s': missing %s", label, name,
                       !dt ? "dtype" : !sh ? "shape" : "data_offsets");

    if (!cJSON_IsString(dt))
        return err_set(TP_EFORMAT, "%s: tensor '%s': dtype is not a string", label, name);
    int k = 0;
    while (k < N_DTYPES && strcmp(dtypes[k].name, dt->valuestring) != 0)
        k++;
    if (k == N_DTYPES)
        return err_set(TP_EFORMAT, "%s: tensor '%s': unknown dtype '%.16s'", label, name, dt->valuestring);
    t->dtype = (SafetensorsDtype)k;

    if (!cJSON_IsArray(sh))
        return err_set(TP_EFORMAT, "%s: tensor '%s': shape is not an array", label, name);
    t->ndim = cJSON_GetArraySize(sh);
    if (t->ndim > SAFETENSORS_MAX_DIMS)
        return err_set(TP_EFORMAT, "%s: tensor '%s': shape has %d dimensions, at most %d supported", label,
                       name, t->ndim, SAFETENSORS_MAX_DIMS);
    int d = 0;
    for (const cJSON *c = sh->child; c; c = c->next, d++) {
        uint64_t v;
        if ((why = json_uint(c, &v)) != NULL)
            return err_set(TP_EFORMAT, "%s: tensor '%s': shape[%d] is %s", label, name, d, why);
        if (v != 0 && elems > UINT64_MAX / v)
            return err_set(TP_EFORMAT, "%s: tensor '%s': shape is too large", label, name);
        t->shape[d] = (int64_t)v;
        elems *= v;
    }
    size_t esize = dtypes[k].size;
    if (elems > UINT64_MAX / esize)
        return err_set(TP_EFORMAT, "%s: tensor '%s': shape is too large", label, name);

    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || json_uint(of->child, &off[0]) ||
        json_uint(of->child->next, &off[1]))
        return err_set(TP_EFORMAT, "%s: tensor '%s': data_offsets is not an array of 2 integers", label,
                       name);
    if (off[0] > off[1])
        return err_set(TP_EFORMAT, "%s: tensor '%s': data_offsets begin %llu > end %llu", label, name,
                       (unsigned long long)off[0], (unsigned long long)off[1]);
    if (off[1] > data_size)
        return err_set(TP_EFORMAT, "%s: tensor '%s': data_offsets end %llu is beyond the %llu-byte buffer",
                       label, name, (unsigned long long)off[1], (unsigned long long)data_size);
    if (off[1] - off[0] != elems * esize)
        return err_set(TP_EFORMAT, "%s: tensor '%s': has %llu data bytes, its shape and dtype need %llu",
                       label, name, (unsigned long long)(off[1] - off[0]),
                       (unsigned long long)(elems * esize));
    /* Stricter than the format: every writer we know aligns tensors, and callers cast 'data'. */
    if (off[0] % esize != 0)
        return err_set(TP_EFORMAT, "%s: tensor '%s': data offset %llu is not a multiple of its %zu-byte "
                       "element size", label, name, (unsigned long long)off[0], esize);
    t->n_elems = (size_t)elems;
    t->nbytes = (size_t)(elems * esize);
    sp->begin = off[0];
    sp->end = off[1];
    return TP_OK;
}

/* Index of the first non-finite element of an F32/F64 tensor, or -1. */
static long long first_nonfinite(const SafetensorsTensor *t)
{
    const unsigned char *p = t->data;
    for (size_t i = 0; i < t->n_elems; i++) {
        /* Exponent bits all ones means Inf or NaN; a bit test works under any -ffast-math. */
        if (t->dtype == SAFETENSORS_F32) {
            uint32_t u;
            memcpy(&u, p + 4 * i, 4);
            if ((u & 0x7f800000u) == 0x7f800000u)
                return (long long)i;
        } else {
            uint64_t u;
            memcpy(&u, p + 8 * i, 8);
            if ((u & 0x7ff0000000000000ull) == 0x7ff0000000000000ull)
                return (long long)i;
        }
    }
    return -1;
}

static TpStatus parse_labeled(SafetensorsFile *f, void *buf, size_t n, const SafetensorsReadOpts *o,
                              const char *label)
{
    TpStatus rc = TP_OK;
    char *hdr = NULL, **names = NULL;
    cJSON *root = NULL;
    struct span *spans = NULL;
    const cJSON *meta = NULL;

    memset(f, 0, sizeof *f);
    f->buf = buf; /* owned from here on: safetensors_free releases it on failure */
    f->buf_size = n;
    uint64_t max = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    int allow_nonfinite = o ? o->allow_nonfinite : 0;

    if ((uint64_t)n > max)
        FAIL(TP_ERANGE, "%s: file is %zu bytes, more than the limit of %llu", label, n,
             (unsigned long long)max);
    if (n < 8)
        FAIL(TP_EFORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", label, n);
    const unsigned char *b = buf;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    if (hlen > HEADER_MAX)
        FAIL(TP_EFORMAT, "%s: header length %llu is over the limit of %llu bytes", label,
             (unsigned long long)hlen, (unsigned long long)HEADER_MAX);
    if (hlen > n - 8)
        FAIL(TP_EFORMAT, "%s: header length %llu exceeds the file size (%zu bytes)", label,
             (unsigned long long)hlen, n);
    uint64_t data_size = n - 8 - hlen;

    /* cJSON gets a private NUL-terminated copy: no read past the header can reach outside it, and
     * the data can later move over the original header bytes. */
    hdr = calloc(hlen + 8, 1);
    if (!hdr)
        FAIL(TP_ENOMEM, "%s: out of memory (header of %llu bytes)", label, (unsigned long long)hlen);
    memcpy(hdr, b + 8, hlen);
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(hdr, hlen, &end, 0);
    if (!root)
        FAIL(TP_EFORMAT, "%s: header is not valid JSON (near byte %lld of %llu)", label,
             end ? (long long)(end - hdr) : -1LL, (unsigned long long)hlen);
    /* Only whitespace (the writer's space padding) may follow the JSON value. */
    while (end < hdr + hlen && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != hdr + hlen)
        FAIL(TP_EFORMAT, "%s: header has garbage after the JSON value (byte %lld)", label,
             (long long)(end - hdr));
    if (!cJSON_IsObject(root))
        FAIL(TP_EFORMAT, "%s: header is not a JSON object", label);

    int count = cJSON_GetArraySize(root);
    f->t = calloc((size_t)count + 1, sizeof *f->t);
    spans = calloc((size_t)count + 1, sizeof *spans);
    names = calloc((size_t)count + 1, sizeof *names);
    if (!f->t || !spans || !names)
        FAIL(TP_ENOMEM, "%s: out of memory (%d header entries)", label, count);
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (meta)
                FAIL(TP_EFORMAT, "%s: duplicate name '__metadata__'", label);
            meta = it;
            rc = parse_meta(f, it, label);
            if (rc != TP_OK)
                goto fail;
            continue;
        }
        SafetensorsTensor *t = &f->t[f->n];
        t->name = strdup(it->string);
        if (!t->name)
            FAIL(TP_ENOMEM, "%s: out of memory", label);
        names[f->n] = t->name;
        spans[f->n].idx = f->n;
        f->n++;
        rc = parse_tensor(t, &spans[f->n - 1], it, data_size, label);
        if (rc != TP_OK)
            goto fail;
    }
    const char *dup = find_duplicate(names, f->n);
    if (dup)
        FAIL(TP_EFORMAT, "%s: duplicate tensor name '%s'", label, dup);

    /* The buffer must be tiled exactly: sorted by offset, each tensor starts where the previous
     * one ended and the last one ends at the end of the file. */
    qsort(spans, (size_t)f->n, sizeof *spans, cmp_span);
    uint64_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        if (spans[i].begin < pos)
            FAIL(TP_EFORMAT, "%s: tensors '%s' and '%s' overlap", label, f->t[spans[i - 1].idx].name,
                 f->t[spans[i].idx].name);
        if (spans[i].begin > pos)
            FAIL(TP_EFORMAT, "%s: gap of %llu unowned bytes before tensor '%s'", label,
                 (unsigned long long)(spans[i].begin - pos), f->t[spans[i].idx].name);
        pos = spans[i].end;
    }
    if (pos != data_size)
        FAIL(TP_EFORMAT, "%s: %llu trailing bytes after the last tensor", label,
             (unsigned long long)(data_size - pos));

    /* Files from other writers may have a header length that is not a multiple of 8; move the data
     * down to an 8-aligned address (over header bytes we no longer need) so that the per-tensor
     * alignment checked above is also an alignment in memory. */
    unsigned char *data = (unsigned char *)buf + 8 + hlen;
    size_t mis = (size_t)((uintptr_t)data % 8);
    if (mis) {
        memmove(data - mis, data, (size_t)data_size);
        data -= mis;
    }
    for (int i = 0; i < f->n; i++) {
        SafetensorsTensor *t = &f->t[spans[i].idx];
        t->data = data + spans[i].begin;
        if (!allow_nonfinite && (t->dtype == SAFETENSORS_F32 || t->dtype == SAFETENSORS_F64)) {
            long long bad = first_nonfinite(t);
            if (bad >= 0)
                FAIL(TP_EFORMAT, "%s: tensor '%s': element %lld is NaN or infinite", label, t->name, bad);
        }
    }

fail:
    cJSON_Delete(root);
    free(hdr);
    free(spans);
    free(names);
    if (rc != TP_OK)
        safetensors_free(f);
    return rc;
}

TpStatus safetensors_parse(SafetensorsFile *f, void *buf, size_t n, const SafetensorsReadOpts *o)
{
    return parse_labeled(f, buf, n, o, "safetensors buffer");
}

TpStatus safetensors_read(SafetensorsFile *f, const char *path, const SafetensorsReadOpts *o)
{
    void *buf;
    size_t n;
    memset(f, 0, sizeof *f);
    uint64_t max = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    TpStatus rc = fsutil_read_file(path, max > SIZE_MAX ? SIZE_MAX : (size_t)max, &buf, &n);
    if (rc != TP_OK)
        return rc; /* "read PATH: No such file or directory" (TP_ENOENT) or "... limit" (TP_ERANGE) */
    return parse_labeled(f, buf, n, o, path);
}

const SafetensorsTensor *safetensors_find(const SafetensorsFile *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *safetensors_meta(const SafetensorsFile *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_vals[i];
    return NULL;
}

void safetensors_free(SafetensorsFile *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->t[i].name);
    free(f->t);
    mem_free_strings(f->meta_keys, f->n_meta);
    mem_free_strings(f->meta_vals, f->n_meta);
    free(f->buf);
    memset(f, 0, sizeof *f);
}
