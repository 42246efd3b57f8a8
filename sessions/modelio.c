/* sessions/modelio: see modelio.h. */
#include "sessions/modelio.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "sessions/manifest.h"

TpStatus modelio_write_vocab(const Corpus *c, const char *path)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < c->n_vocab; i++) cJSON_AddItemToArray(a, cJSON_CreateString(c->vocab[i]));
    char *txt = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!txt) return err_set(TP_ENOMEM, "%s: out of memory", path);
    TpStatus st = fsutil_write_atomic(path, txt, strlen(txt));
    free(txt);
    return st;
}

void modelio_free_vocab(char **vocab, int n)
{
    if (!vocab) return;
    for (int i = 0; i < n; i++) free(vocab[i]);
    free(vocab);
}

TpStatus modelio_read_vocab(const char *path, size_t max_bytes, char ***vocab, int *n)
{
    *vocab = NULL;
    *n = 0;
    cJSON *a = NULL;
    TpStatus st = manifest_read_json(path, max_bytes, &a);
    if (st != TP_OK && st != TP_EFORMAT) return st;
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return err_set(TP_EFORMAT, "%s: expected a JSON array of token strings", path);
    }
    int k = cJSON_GetArraySize(a), i = 0;
    char **v = calloc((size_t)k + 1, sizeof *v);
    if (!v) st = err_set(TP_ENOMEM, "%s: out of memory", path);
    for (const cJSON *e = a->child; v && e && st == TP_OK; e = e->next, i++) {
        if (!cJSON_IsString(e)) st = err_set(TP_EFORMAT, "%s: entry %d is not a string", path, i);
        else if (!(v[i] = strdup(e->valuestring))) st = err_set(TP_ENOMEM, "%s: out of memory", path);
    }
    cJSON_Delete(a);
    if (st != TP_OK) {
        modelio_free_vocab(v, k);
        return st;
    }
    *vocab = v;
    *n = k;
    return TP_OK;
}

TpStatus modelio_load_tensor(const SafetensorsFile *f, const char *path, const char *name, SafetensorsDtype dt,
                             int ndim, int64_t rows, int64_t cols, const char *source, void *dst)
{
    const SafetensorsTensor *x = safetensors_find(f, name);
    if (!x) return err_set(TP_EFORMAT, "%s: tensor %s missing", path, name);
    if (x->dtype == dt && x->ndim == ndim && x->shape[0] == rows && (ndim == 1 || x->shape[1] == cols)) {
        memcpy(dst, x->data, x->nbytes);
        return TP_OK;
    }
    char got[128] = "", want[48];
    size_t used = 0;
    for (int d = 0; d < x->ndim && used < sizeof got - 24; d++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%" PRId64, d ? "," : "", x->shape[d]);
    if (ndim == 1) snprintf(want, sizeof want, "%" PRId64, rows);
    else snprintf(want, sizeof want, "%" PRId64 ",%" PRId64, rows, cols);
    return err_set(TP_EFORMAT, "%s: tensor %s has the wrong dtype or shape: %s [%s], %s %s [%s]", path, name,
                   safetensors_dtype_name(x->dtype), got, source, safetensors_dtype_name(dt), want);
}
