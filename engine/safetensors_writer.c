/* engine/safetensors_writer: the safetensors writer; see safetensors_writer.h for the layout. */
#include "engine/safetensors_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/fsutil.h"
#include "base/strbuf.h"

/* JSON numbers are doubles: integers are exact only up to 2^53 (as the reader checks). */
#define JSON_INT_MAX 9007199254740992.0

typedef struct {
    char *name;
    SafetensorsDtype dtype;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t nbytes;
    void *data;      /* our copy */
    uint64_t offset; /* in the byte buffer, set by layout() */
} WTensor;

struct SafetensorsWriter {
    WTensor *t;
    int n, cap;
    char **meta_keys, **meta_vals;
    int n_meta, cap_meta;
};

/* A serialized file minus the tensor bytes: what save and serialize share. */
typedef struct {
    char *hdr;     /* 8-byte length + JSON header padded with spaces */
    size_t hlen;   /* bytes in hdr, a multiple of 8 */
    int *order;    /* tensor indices in buffer order */
    size_t total;  /* file size */
} Layout;

/* Growable string; 'oom' sticks so callers check once at the end. */
/* Assign offsets (widest elements first, insertion order among equals) and build the header. */
static TpStatus layout(SafetensorsWriter *w, Layout *L)
{
    StrBuf s = {0};
    uint64_t pos = 0;
    int k = 0;

    memset(L, 0, sizeof *L);
    L->order = malloc(((size_t)w->n + 1) * sizeof *L->order);
    if (!L->order)
        goto oom;
    for (size_t width = 8; width >= 1; width /= 2)
        for (int i = 0; i < w->n; i++)
            if (safetensors_dtype_size(w->t[i].dtype) == width) {
                w->t[i].offset = pos;
                pos += w->t[i].nbytes;
                L->order[k++] = i;
            }

    strbuf_add(&s, "\0\0\0\0\0\0\0\0", 8); /* length, patched below */
    strbuf_puts(&s, "{");
    if (w->n_meta > 0) {
        strbuf_puts(&s, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i)
                strbuf_puts(&s, ",");
            strbuf_json_string(&s, w->meta_keys[i]);
            strbuf_puts(&s, ":");
            strbuf_json_string(&s, w->meta_vals[i]);
        }
        strbuf_puts(&s, "}");
    }
    for (int i = 0; i < w->n; i++) {
        const WTensor *t = &w->t[i];
        if (i || w->n_meta > 0)
            strbuf_puts(&s, ",");
        strbuf_json_string(&s, t->name);
        strbuf_printf(&s, ":{\"dtype\":\"%s\",\"shape\":[", safetensors_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            strbuf_printf(&s, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        strbuf_printf(&s, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)t->offset,
                  (unsigned long long)(t->offset + t->nbytes));
    }
    strbuf_puts(&s, "}");
    /* Pad with spaces (valid JSON whitespace, as the reference does) so the buffer starts 8-aligned. */
    while (!s.oom && s.len % 8 != 0)
        strbuf_puts(&s, " ");
    if (s.oom)
        goto oom;
    uint64_t n = s.len - 8;
    for (int i = 0; i < 8; i++)
        s.p[i] = (char)(n >> (8 * i) & 0xff);
    L->hdr = s.p;
    L->hlen = s.len;
    L->total = s.len + (size_t)pos;
    return TP_OK;

oom:
    free(s.p);
    free(L->order);
    L->order = NULL;
    return err_set(TP_ENOMEM, "safetensors: out of memory building the header");
}

SafetensorsWriter *safetensors_writer_new(void)
{
    return calloc(1, sizeof(SafetensorsWriter));
}

TpStatus safetensors_writer_add(SafetensorsWriter *w, const char *name, SafetensorsDtype dt, int ndim,
                                const int64_t *shape, const void *data)
{
    WTensor t = { 0 };
    uint64_t elems = 1;

    if (!w || !name || !*name)
        return err_set(TP_EINVAL, "safetensors: tensor without a name");
    if (strcmp(name, "__metadata__") == 0)
        return err_set(TP_EINVAL, "safetensors: '__metadata__' is reserved, not a tensor name");
    if (safetensors_dtype_size(dt) == 0)
        return err_set(TP_EINVAL, "safetensors: tensor '%s': invalid dtype %d", name, (int)dt);
    if (ndim < 0 || ndim > SAFETENSORS_MAX_DIMS || (ndim > 0 && !shape))
        return err_set(TP_EINVAL, "safetensors: tensor '%s': %d dimensions (0..%d allowed)", name, ndim,
                       SAFETENSORS_MAX_DIMS);
    for (int d = 0; d < ndim; d++) {
        uint64_t v = (uint64_t)shape[d];
        if (shape[d] < 0 || (double)shape[d] > JSON_INT_MAX || (v != 0 && elems > (UINT64_MAX / 8) / v))
            return err_set(TP_EINVAL, "safetensors: tensor '%s': bad shape[%d] = %lld", name, d,
                           (long long)shape[d]);
        elems *= v;
        t.shape[d] = shape[d];
    }
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return err_set(TP_EINVAL, "safetensors: duplicate tensor name '%s'", name);
    t.dtype = dt;
    t.ndim = ndim;
    t.nbytes = (size_t)(elems * safetensors_dtype_size(dt));
    if (t.nbytes > 0 && !data)
        return err_set(TP_EINVAL, "safetensors: tensor '%s': no data", name);

    if (w->n == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 16;
        WTensor *nt = realloc(w->t, (size_t)ncap * sizeof *nt);
        if (!nt)
            goto oom;
        w->t = nt;
        w->cap = ncap;
    }
    t.name = strdup(name);
    t.data = malloc(t.nbytes ? t.nbytes : 1);
    if (!t.name || !t.data)
        goto oom;
    if (t.nbytes)
        memcpy(t.data, data, t.nbytes);
    w->t[w->n++] = t;
    return TP_OK;

oom:
    free(t.name);
    free(t.data);
    return err_set(TP_ENOMEM, "safetensors: tensor '%s': out of memory (%zu bytes)", name, t.nbytes);
}

TpStatus safetensors_writer_meta(SafetensorsWriter *w, const char *key, const char *value)
{
    if (!w || !key || !value)
        return err_set(TP_EINVAL, "safetensors: metadata needs a key and a value");
    char *v = strdup(value);
    if (!v)
        return err_set(TP_ENOMEM, "safetensors: metadata '%s': out of memory", key);
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta_keys[i], key) == 0) {
            free(w->meta_vals[i]);
            w->meta_vals[i] = v;
            return TP_OK;
        }
    char *k = NULL;
    if (w->n_meta == w->cap_meta) {
        int ncap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **nk = realloc(w->meta_keys, (size_t)ncap * sizeof *nk);
        if (!nk)
            goto oom;
        w->meta_keys = nk;
        char **nv = realloc(w->meta_vals, (size_t)ncap * sizeof *nv);
        if (!nv)
            goto oom;
        w->meta_vals = nv;
        w->cap_meta = ncap;
    }
    k = strdup(key);
    if (!k)
        goto oom;
    w->meta_keys[w->n_meta] = k;
    w->meta_vals[w->n_meta] = v;
    w->n_meta++;
    return TP_OK;

oom:
    free(v);
    free(k);
    return err_set(TP_ENOMEM, "safetensors: metadata '%s': out of memory", key);
}

struct save_ctx {
    const SafetensorsWriter *w;
    const Layout *L;
};

/* Streams header and tensors straight into the temp file: no second copy of the model in memory. */
static TpStatus write_file(int fd, void *ctx)
{
    const struct save_ctx *c = ctx;
    TpStatus rc = fsutil_write_all(fd, c->L->hdr, c->L->hlen);
    for (int i = 0; rc == TP_OK && i < c->w->n; i++) {
        const WTensor *t = &c->w->t[c->L->order[i]];
        rc = fsutil_write_all(fd, t->data, t->nbytes);
    }
    return rc;
}

TpStatus safetensors_writer_save(SafetensorsWriter *w, const char *path)
{
    Layout L;
    TpStatus rc = layout(w, &L);
    if (rc != TP_OK)
        return err_wrap(rc, "save %s: ", path);
    struct save_ctx c = { w, &L };
    rc = fsutil_write_atomic_fn(path, write_file, &c);
    free(L.hdr);
    free(L.order);
    return rc;
}

TpStatus safetensors_writer_serialize(SafetensorsWriter *w, void **buf, size_t *n)
{
    Layout L;
    *buf = NULL;
    *n = 0;
    TpStatus rc = layout(w, &L);
    if (rc != TP_OK)
        return rc;
    unsigned char *out = malloc(L.total ? L.total : 1);
    if (!out) {
        rc = err_set(TP_ENOMEM, "safetensors: out of memory (%zu bytes)", L.total);
        goto fail;
    }
    memcpy(out, L.hdr, L.hlen);
    for (int i = 0; i < w->n; i++) {
        const WTensor *t = &w->t[L.order[i]];
        if (t->nbytes)
            memcpy(out + L.hlen + t->offset, t->data, t->nbytes);
    }
    *buf = out;
    *n = L.total;
fail:
    free(L.hdr);
    free(L.order);
    return rc;
}

void safetensors_writer_delete(SafetensorsWriter *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    mem_free_strings(w->meta_keys, w->n_meta);
    mem_free_strings(w->meta_vals, w->n_meta);
    free(w);
}
