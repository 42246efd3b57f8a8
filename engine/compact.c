/* engine/compact: see compact.h. */
#include "compact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "infer.h"
#include "safetensors.h"
#include "safetensors_writer.h"

typedef enum { FORM_DENSE = 0, FORM_CSR = 1, FORM_ROW = 2, FORM_BSR = 3 } Form;
static const char *const FORM_NAMES[] = {"dense", "csr", "row", "bsr"};

/* The block shapes the bsr layout may take (those of engine/sparse's BSR kernels), and the block
 * shape of a bsr tensor's metadata.  A matrix whose non-zeros fill whole blocks (a block-pruned
 * mask) is stored a column index per block instead of one per entry. */
static const int BSR_SHAPES[][2] = {{16, 1}, {8, 1}, {4, 4}};

/* Blocks of br x bc holding any non-zero of a (R x C). */
static size_t bsr_count(const float *a, int R, int C, int br, int bc)
{
    size_t nb = 0;
    for (int r0 = 0; r0 < R; r0 += br)
        for (int c0 = 0; c0 < C; c0 += bc) {
            int any = 0;
            for (int r = r0; r < r0 + br && r < R && !any; r++)
                for (int c = c0; c < c0 + bc && c < C; c++)
                    if (a[(size_t)r * C + c] != 0.0f) {
                        any = 1;
                        break;
                    }
            nb += (size_t)any;
        }
    return nb;
}

/* Write a as bsr br x bc: values F32 [nb, br, bc] (entries past the matrix's edge are 0), col_idx
 * [nb] (block columns, ascending per block row), row_ptr I32 [ceil(R/br) + 1]. */
static TpStatus add_bsr(SafetensorsWriter *w, const CompactTensor *t, const float *a, int br, int bc, size_t nb, int i16)
{
    const int R = t->rows, C = t->cols, nbr = (R + br - 1) / br;
    float *val = calloc((nb + 1) * (size_t)br * bc, sizeof(float)); /* + 1: the scratch block */
    void *idx = malloc((nb ? nb : 1) * (i16 ? 2 : 4));
    int32_t *ptr = malloc(((size_t)nbr + 1) * sizeof(int32_t));
    TpStatus st = TP_OK;
    if (!val || !idx || !ptr) {
        st = err_set(TP_ENOMEM, "compact: out of memory");
        goto done;
    }
    size_t b = 0;
    for (int i = 0; i < nbr; i++) {
        ptr[i] = (int32_t)b;
        for (int c0 = 0; c0 < C; c0 += bc) {
            float *blk = val + b * (size_t)br * bc;
            int any = 0;
            for (int r = 0; r < br && i * br + r < R; r++)
                for (int c = 0; c < bc && c0 + c < C; c++) {
                    float v = a[(size_t)(i * br + r) * C + c0 + c];
                    blk[r * bc + c] = v;
                    any |= v != 0.0f;
                }
            if (!any) {
                memset(blk, 0, (size_t)br * bc * sizeof(float));
                continue;
            }
            if (i16) ((int16_t *)idx)[b] = (int16_t)(c0 / bc);
            else ((int32_t *)idx)[b] = c0 / bc;
            b++;
        }
    }
    ptr[nbr] = (int32_t)b;
    char name[96];
    int64_t sv[3] = {(int64_t)nb, br, bc}, si[1] = {(int64_t)nb}, sp[1] = {(int64_t)nbr + 1};
    snprintf(name, sizeof name, "%.63s.values", t->name);
    st = safetensors_writer_add(w, name, SAFETENSORS_F32, 3, sv, val);
    snprintf(name, sizeof name, "%.63s.col_idx", t->name);
    if (st == TP_OK) st = safetensors_writer_add(w, name, i16 ? SAFETENSORS_I16 : SAFETENSORS_I32, 1, si, idx);
    snprintf(name, sizeof name, "%.63s.row_ptr", t->name);
    if (st == TP_OK) st = safetensors_writer_add(w, name, SAFETENSORS_I32, 1, sp, ptr);
done:
    free(val);
    free(idx);
    free(ptr);
    return st;
}

/* ==== write ===================================================================================== */

static TpStatus add_matrix(SafetensorsWriter *w, const CompactTensor *t, const float *a, cJSON *tensors,
                           CompactInfo *info)
{
    const int R = t->rows, C = t->cols;
    size_t nnz = 0;
    int k = -1, balanced = 1;
    for (int r = 0; r < R; r++) {
        int c = 0;
        for (int j = 0; j < C; j++) c += a[(size_t)r * C + j] != 0.0f;
        nnz += (size_t)c;
        if (k < 0) k = c;
        else if (c != k) balanced = 0;
    }
    const int i16 = C <= 32768;
    const double ib = i16 ? 2.0 : 4.0;
    double bytes[4] = {4.0 * R * C, (4.0 + ib) * (double)nnz + 4.0 * (R + 1), balanced ? (4.0 + ib) * (double)nnz : 1e300,
                       1e300};
    /* bsr: the smallest of the block shapes; its column index is per block, so it wins only when the
     * non-zeros fill their blocks (a block-pruned mask), never on scattered entries. */
    int bs = -1;
    size_t nb_best = 0;
    for (int s = 0; s < (int)(sizeof BSR_SHAPES / sizeof BSR_SHAPES[0]); s++) {
        const int br = BSR_SHAPES[s][0], bc = BSR_SHAPES[s][1];
        const int bi16 = (C + bc - 1) / bc <= 32768;
        size_t nb = bsr_count(a, R, C, br, bc);
        double by = (4.0 * br * bc + (bi16 ? 2.0 : 4.0)) * (double)nb + 4.0 * ((R + br - 1) / br + 1);
        if (by < bytes[FORM_BSR]) {
            bytes[FORM_BSR] = by;
            bs = s;
            nb_best = nb;
        }
    }
    Form f = FORM_DENSE;
    if (bytes[FORM_ROW] < bytes[f]) f = FORM_ROW;
    if (bytes[FORM_CSR] < bytes[f]) f = FORM_CSR;
    if (bytes[FORM_BSR] < bytes[f]) f = FORM_BSR;
    cJSON *d = cJSON_AddObjectToObject(tensors, t->name);
    cJSON_AddStringToObject(d, "layout", FORM_NAMES[f]);
    cJSON *sh = cJSON_AddArrayToObject(d, "shape");
    cJSON_AddItemToArray(sh, cJSON_CreateNumber(R));
    cJSON_AddItemToArray(sh, cJSON_CreateNumber(C));
    char name[96];
    if (f == FORM_BSR) {
        const int br = BSR_SHAPES[bs][0], bc = BSR_SHAPES[bs][1];
        cJSON *blk = cJSON_AddArrayToObject(d, "block");
        cJSON_AddItemToArray(blk, cJSON_CreateNumber(br));
        cJSON_AddItemToArray(blk, cJSON_CreateNumber(bc));
        info->n_bsr++;
        info->stored += nnz;
        return add_bsr(w, t, a, br, bc, nb_best, (C + bc - 1) / bc <= 32768);
    }
    if (f == FORM_DENSE) {
        info->n_dense++;
        info->stored += (size_t)R * C;
        return safetensors_writer_add(w, t->name, SAFETENSORS_F32, 2, (int64_t[]){R, C}, a);
    }
    float *val = malloc((nnz ? nnz : 1) * sizeof(float));
    void *idx = malloc((nnz ? nnz : 1) * (i16 ? 2 : 4));
    int32_t *ptr = malloc(((size_t)R + 1) * sizeof(int32_t));
    TpStatus st = TP_OK;
    if (!val || !idx || !ptr) {
        st = err_set(TP_ENOMEM, "compact: out of memory");
        goto done;
    }
    size_t p = 0;
    for (int r = 0; r < R; r++) {
        ptr[r] = (int32_t)p;
        for (int j = 0; j < C; j++) {
            float v = a[(size_t)r * C + j];
            if (v == 0.0f) continue;
            val[p] = v;
            if (i16) ((int16_t *)idx)[p] = (int16_t)j;
            else ((int32_t *)idx)[p] = j;
            p++;
        }
    }
    ptr[R] = (int32_t)p;
    SafetensorsDtype it = i16 ? SAFETENSORS_I16 : SAFETENSORS_I32;
    if (f == FORM_ROW) {
        info->n_row++;
        int64_t shape[2] = {R, k};
        snprintf(name, sizeof name, "%.63s.values", t->name);
        st = safetensors_writer_add(w, name, SAFETENSORS_F32, 2, shape, val);
        snprintf(name, sizeof name, "%.63s.col_idx", t->name);
        if (st == TP_OK) st = safetensors_writer_add(w, name, it, 2, shape, idx);
    } else {
        info->n_csr++;
        int64_t n1[1] = {(int64_t)nnz}, n2[1] = {(int64_t)R + 1};
        snprintf(name, sizeof name, "%.63s.values", t->name);
        st = safetensors_writer_add(w, name, SAFETENSORS_F32, 1, n1, val);
        snprintf(name, sizeof name, "%.63s.col_idx", t->name);
        if (st == TP_OK) st = safetensors_writer_add(w, name, it, 1, n1, idx);
        snprintf(name, sizeof name, "%.63s.row_ptr", t->name);
        if (st == TP_OK) st = safetensors_writer_add(w, name, SAFETENSORS_I32, 1, n2, ptr);
    }
    info->stored += nnz;
done:
    free(val);
    free(idx);
    free(ptr);
    return st;
}

TpStatus compact_write(const Model *m, CompactNamesFn names, const char *meta, const char *path, CompactInfo *info_out)
{
    CompactInfo info;
    memset(&info, 0, sizeof info);
    Model t = {0};
    int *kept[MODEL_MAX_LAYERS] = {0};
    CompactTensor list[COMPACT_MAX_TENSORS];
    int n = 0;
    SafetensorsWriter *w = NULL;
    cJSON *cm = NULL;
    char *cm_txt = NULL;
    TpStatus st = infer_trim(&t, m, kept);
    if (st != TP_OK) return st;
    if ((st = names(&t, list, &n)) != TP_OK) goto done;
    w = safetensors_writer_new();
    cm = cJSON_CreateObject();
    if (!w || !cm) {
        st = err_set(TP_ENOMEM, "compact: out of memory");
        goto done;
    }
    cJSON_AddStringToObject(cm, "format", COMPACT_FORMAT);
    cJSON_AddNumberToObject(cm, "version", COMPACT_VERSION);
    cJSON *hid = cJSON_AddArrayToObject(cm, "hidden");
    for (int l = 0; l < t.cfg.n_layers; l++) {
        info.hidden[l] = t.cfg.hidden[l];
        cJSON_AddItemToArray(hid, cJSON_CreateNumber(t.cfg.hidden[l]));
    }
    cJSON *tensors = cJSON_AddObjectToObject(cm, "tensors");
    for (int i = 0; i < n && st == TP_OK; i++) {
        const ModelParam *p = &t.p[list[i].param];
        const float *a = t.w + p->off + (size_t)list[i].row0 * (size_t)list[i].cols;
        info.n_tensors++;
        if (list[i].ndim == 1) {
            int64_t shape[1] = {list[i].rows};
            st = safetensors_writer_add(w, list[i].name, SAFETENSORS_F32, 1, shape, a);
        } else {
            st = add_matrix(w, &list[i], a, tensors, &info);
        }
    }
    for (int l = 0; l < t.cfg.n_layers && st == TP_OK; l++) {
        char name[32];
        int64_t shape[1] = {t.cfg.hidden[l]};
        snprintf(name, sizeof name, "units.l%d", l);
        st = safetensors_writer_add(w, name, SAFETENSORS_I32, 1, shape, kept[l]);
    }
    if (st == TP_OK && !(cm_txt = cJSON_PrintUnformatted(cm))) st = err_set(TP_ENOMEM, "compact: out of memory");
    if (st == TP_OK && meta) st = safetensors_writer_meta(w, "topiary", meta);
    if (st == TP_OK) st = safetensors_writer_meta(w, "topiary_compact", cm_txt);
    if (st == TP_OK) st = safetensors_writer_save(w, path);
done:
    free(cm_txt);
    cJSON_Delete(cm);
    safetensors_writer_delete(w);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) free(kept[l]);
    model_free(&t);
    if (st == TP_OK && info_out) *info_out = info;
    return st;
}

/* ==== read ====================================================================================== */

/* Tensor `name` with dtype dt and shape d0 (d1 >= 0: 2-D [d0, d1]), else TP_EFORMAT. */
static TpStatus need(const SafetensorsFile *f, const char *path, const char *name, SafetensorsDtype dt, int64_t d0,
                     int64_t d1, const SafetensorsTensor **out)
{
    const SafetensorsTensor *x = safetensors_find(f, name);
    if (!x) return err_set(TP_EFORMAT, "%s: tensor %s missing", path, name);
    int ok = x->dtype == dt && x->ndim == (d1 >= 0 ? 2 : 1) && x->shape[0] == d0 && (d1 < 0 || x->shape[1] == d1);
    if (!ok && d1 >= 0)
        return err_set(TP_EFORMAT, "%s: tensor %s: expected %s [%lld, %lld]", path, name, safetensors_dtype_name(dt),
                       (long long)d0, (long long)d1);
    if (!ok)
        return err_set(TP_EFORMAT, "%s: tensor %s: expected %s [%lld]", path, name, safetensors_dtype_name(dt),
                       (long long)d0);
    *out = x;
    return TP_OK;
}

static TpStatus need_idx(const SafetensorsFile *f, const char *path, const char *name, int cols, int64_t d0, int64_t d1,
                         const SafetensorsTensor **out)
{
    return need(f, path, name, cols <= 32768 ? SAFETENSORS_I16 : SAFETENSORS_I32, d0, d1, out);
}

static int idx_at(const SafetensorsTensor *x, size_t p)
{
    return x->dtype == SAFETENSORS_I16 ? ((const int16_t *)x->data)[p] : ((const int32_t *)x->data)[p];
}

/* Scatter row r's entries [p, e) into a (a row of C), checking indices. */
static TpStatus scatter_row(float *a, uint8_t *mk, const float *val, const SafetensorsTensor *ix, size_t p, size_t e, int C,
                            const char *path, const char *name, int r)
{
    int prev = -1;
    for (; p < e; p++) {
        int c = idx_at(ix, p);
        if (c <= prev || c >= C)
            return err_set(TP_EFORMAT, "%s: %s: row %d: column index %d out of range or not ascending", path, name, r, c);
        a[c] = val[p];
        mk[c] = 1;
        prev = c;
    }
    return TP_OK;
}

/* bsr: blocks br x bc (the metadata's "block"), checked like csr, entries past the edge must be 0; the
 * mask marks the block entries that are non-zero (so the round trip keeps the non-zero pattern). */
static TpStatus read_bsr(const SafetensorsFile *f, const char *path, const CompactTensor *t, const cJSON *block, float *a,
                         uint8_t *mk)
{
    const int R = t->rows, C = t->cols;
    int br = 0, bc = 0;
    if (cJSON_IsArray(block) && cJSON_GetArraySize(block) == 2) {
        br = cJSON_GetArrayItem(block, 0)->valueint;
        bc = cJSON_GetArrayItem(block, 1)->valueint;
    }
    int shape_ok = 0;
    for (int s = 0; s < (int)(sizeof BSR_SHAPES / sizeof BSR_SHAPES[0]); s++)
        shape_ok |= br == BSR_SHAPES[s][0] && bc == BSR_SHAPES[s][1];
    if (!shape_ok) return err_set(TP_EFORMAT, "%s: %s: bsr needs \"block\": [16, 1], [8, 1] or [4, 4]", path, t->name);
    const int nbr = (R + br - 1) / br, nbc = (C + bc - 1) / bc;
    char n1[96], n2[96], n3[96];
    snprintf(n1, sizeof n1, "%.63s.values", t->name);
    snprintf(n2, sizeof n2, "%.63s.col_idx", t->name);
    snprintf(n3, sizeof n3, "%.63s.row_ptr", t->name);
    const SafetensorsTensor *v = safetensors_find(f, n1), *ix, *rp;
    int64_t nb = v && v->ndim == 3 ? v->shape[0] : -1;
    if (nb < 0 || nb > (int64_t)nbr * nbc || v->dtype != SAFETENSORS_F32 || v->shape[1] != br || v->shape[2] != bc)
        return err_set(TP_EFORMAT, "%s: tensor %s: expected F32 [nb <= %lld, %d, %d]", path, n1, (long long)nbr * nbc, br, bc);
    TpStatus st;
    if ((st = need(f, path, n2, nbc <= 32768 ? SAFETENSORS_I16 : SAFETENSORS_I32, nb, -1, &ix)) != TP_OK ||
        (st = need(f, path, n3, SAFETENSORS_I32, (int64_t)nbr + 1, -1, &rp)) != TP_OK)
        return st;
    const int32_t *ptr = rp->data;
    const float *val = v->data;
    if (ptr[0] != 0 || ptr[nbr] != nb) return err_set(TP_EFORMAT, "%s: %s: must run from 0 to %lld", path, n3, (long long)nb);
    for (int i = 0; i < nbr; i++) {
        if (ptr[i + 1] < ptr[i]) return err_set(TP_EFORMAT, "%s: %s: decreases at block row %d", path, n3, i);
        int prev = -1;
        for (int32_t b = ptr[i]; b < ptr[i + 1]; b++) {
            int cb = idx_at(ix, (size_t)b);
            if (cb <= prev || cb >= nbc)
                return err_set(TP_EFORMAT, "%s: %s: block row %d: block column %d out of range or not ascending", path, n2, i, cb);
            prev = cb;
            for (int r = 0; r < br; r++)
                for (int c = 0; c < bc; c++) {
                    float x = val[(size_t)b * br * bc + (size_t)r * bc + c];
                    int rr = i * br + r, cc = cb * bc + c;
                    if (rr >= R || cc >= C) {
                        if (x != 0.0f)
                            return err_set(TP_EFORMAT, "%s: %s: block %d: a non-zero past the matrix's edge", path, n1, (int)b);
                        continue;
                    }
                    a[(size_t)rr * C + cc] = x;
                    mk[(size_t)rr * C + cc] = x != 0.0f;
                }
        }
    }
    return TP_OK;
}

static TpStatus read_matrix(const SafetensorsFile *f, const char *path, const CompactTensor *t, const char *form,
                            const cJSON *block, float *a, uint8_t *mk)
{
    if (!strcmp(form, "bsr")) return read_bsr(f, path, t, block, a, mk);
    const int R = t->rows, C = t->cols;
    const SafetensorsTensor *v, *ix, *rp;
    char n1[96], n2[96], n3[96];
    TpStatus st;
    snprintf(n1, sizeof n1, "%.63s.values", t->name);
    snprintf(n2, sizeof n2, "%.63s.col_idx", t->name);
    snprintf(n3, sizeof n3, "%.63s.row_ptr", t->name);
    if (!strcmp(form, "dense")) {
        if ((st = need(f, path, t->name, SAFETENSORS_F32, R, C, &v)) != TP_OK) return st;
        memcpy(a, v->data, v->nbytes);
        memset(mk, 1, (size_t)R * C);
        return TP_OK;
    }
    if (!strcmp(form, "row")) {
        const SafetensorsTensor *x = safetensors_find(f, n1);
        int64_t k = x && x->ndim == 2 ? x->shape[1] : -1;
        if (k < 0 || k > C) return err_set(TP_EFORMAT, "%s: tensor %s: expected F32 [%d, k] with k <= %d", path, n1, R, C);
        if ((st = need(f, path, n1, SAFETENSORS_F32, R, k, &v)) != TP_OK ||
            (st = need_idx(f, path, n2, C, R, k, &ix)) != TP_OK)
            return st;
        for (int r = 0; r < R; r++)
            if ((st = scatter_row(a + (size_t)r * C, mk + (size_t)r * C, v->data, ix, (size_t)r * k, (size_t)(r + 1) * k, C,
                                  path, n2, r)) != TP_OK)
                return st;
        return TP_OK;
    }
    if (strcmp(form, "csr")) return err_set(TP_EFORMAT, "%s: %s: unknown layout \"%s\"", path, t->name, form);
    const SafetensorsTensor *x = safetensors_find(f, n1);
    int64_t nnz = x && x->ndim == 1 ? x->shape[0] : -1;
    if (nnz < 0 || nnz > (int64_t)R * C) return err_set(TP_EFORMAT, "%s: tensor %s: expected F32 [nnz <= %lld]", path, n1, (long long)R * C);
    if ((st = need(f, path, n1, SAFETENSORS_F32, nnz, -1, &v)) != TP_OK ||
        (st = need_idx(f, path, n2, C, nnz, -1, &ix)) != TP_OK ||
        (st = need(f, path, n3, SAFETENSORS_I32, (int64_t)R + 1, -1, &rp)) != TP_OK)
        return st;
    const int32_t *ptr = rp->data;
    if (ptr[0] != 0 || ptr[R] != nnz) return err_set(TP_EFORMAT, "%s: %s: must run from 0 to %lld", path, n3, (long long)nnz);
    for (int r = 0; r < R; r++) {
        if (ptr[r + 1] < ptr[r]) return err_set(TP_EFORMAT, "%s: %s: decreases at row %d", path, n3, r);
        if ((st = scatter_row(a + (size_t)r * C, mk + (size_t)r * C, v->data, ix, (size_t)ptr[r], (size_t)ptr[r + 1], C, path,
                              n2, r)) != TP_OK)
            return st;
    }
    return TP_OK;
}

/* 1 if tensor `x` of the file is one that the names in list (or units.l<k>) account for. */
static int known(const char *x, const CompactTensor *list, int n, int L)
{
    for (int l = 0; l < L; l++) {
        char u[32];
        snprintf(u, sizeof u, "units.l%d", l);
        if (!strcmp(x, u)) return 1;
    }
    static const char *const SUF[] = {"", ".values", ".col_idx", ".row_ptr"};
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list[i].name);
        if (strncmp(x, list[i].name, len)) continue;
        for (int s = 0; s < 4; s++)
            if (!strcmp(x + len, SUF[s])) return 1;
    }
    return 0;
}

TpStatus compact_read(Model *out, const ModelConfig *nominal, CompactNamesFn names, const char *path, CompactInfo *info_out)
{
    memset(out, 0, sizeof *out);
    CompactInfo info;
    memset(&info, 0, sizeof info);
    SafetensorsFile f = {0};
    cJSON *cm = NULL;
    CompactTensor list[COMPACT_MAX_TENSORS];
    int n = 0;
    TpStatus st = safetensors_read(&f, path, NULL);
    if (st != TP_OK) return st;
    const char *txt = safetensors_meta(&f, "topiary_compact");
    const cJSON *fmt, *hid, *tensors;
    if (!txt || !(cm = cJSON_Parse(txt)) || !cJSON_IsString(fmt = cJSON_GetObjectItemCaseSensitive(cm, "format")) ||
        strcmp(fmt->valuestring, COMPACT_FORMAT) || !cJSON_IsArray(hid = cJSON_GetObjectItemCaseSensitive(cm, "hidden")) ||
        !cJSON_IsObject(tensors = cJSON_GetObjectItemCaseSensitive(cm, "tensors"))) {
        st = err_set(TP_EFORMAT, "%s: no valid \"topiary_compact\" metadata (format, hidden, tensors)", path);
        goto fail;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(cm, "version");
    if (!cJSON_IsNumber(ver) || ver->valueint > COMPACT_VERSION) {
        st = err_set(TP_EFORMAT, "%s: compact format version newer than this topiary (%d)", path, COMPACT_VERSION);
        goto fail;
    }
    ModelConfig cfg = *nominal;
    if (cJSON_GetArraySize(hid) != cfg.n_layers) {
        st = err_set(TP_EFORMAT, "%s: \"hidden\" lists %d sizes, the architecture has %d layers", path,
                     cJSON_GetArraySize(hid), cfg.n_layers);
        goto fail;
    }
    for (int l = 0; l < cfg.n_layers; l++) {
        const cJSON *e = cJSON_GetArrayItem(hid, l);
        if (!cJSON_IsNumber(e) || e->valueint < 1 || e->valueint > nominal->hidden[l] || e->valuedouble != e->valueint) {
            st = err_set(TP_EFORMAT, "%s: \"hidden\"[%d]: expected 1..%d", path, l, nominal->hidden[l]);
            goto fail;
        }
        cfg.hidden[l] = info.hidden[l] = e->valueint;
    }
    Rng rng;
    rng_seed(&rng, 1);
    if ((st = model_init(out, &cfg, &rng)) != TP_OK) goto fail;
    memset(out->w, 0, out->n_params * sizeof(float));
    memset(out->mask, 0, out->n_params);
    if ((st = names(out, list, &n)) != TP_OK) goto fail;
    for (int i = 0; i < n && st == TP_OK; i++) {
        const ModelParam *p = &out->p[list[i].param];
        size_t at = p->off + (size_t)list[i].row0 * (size_t)list[i].cols;
        const SafetensorsTensor *x;
        info.n_tensors++;
        if (list[i].ndim == 1) {
            if ((st = need(&f, path, list[i].name, SAFETENSORS_F32, list[i].rows, -1, &x)) == TP_OK) {
                memcpy(out->w + at, x->data, x->nbytes);
                memset(out->mask + at, 1, (size_t)list[i].rows);
            }
            continue;
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(tensors, list[i].name);
        const cJSON *lay = cJSON_GetObjectItemCaseSensitive(d, "layout"), *sh = cJSON_GetObjectItemCaseSensitive(d, "shape");
        if (!cJSON_IsString(lay) || !cJSON_IsArray(sh) || cJSON_GetArraySize(sh) != 2 ||
            cJSON_GetArrayItem(sh, 0)->valuedouble != list[i].rows || cJSON_GetArrayItem(sh, 1)->valuedouble != list[i].cols) {
            st = err_set(TP_EFORMAT, "%s: tensor %s: metadata must give layout and shape [%d, %d]", path, list[i].name,
                         list[i].rows, list[i].cols);
            break;
        }
        st = read_matrix(&f, path, &list[i], lay->valuestring, cJSON_GetObjectItemCaseSensitive(d, "block"), out->w + at,
                         out->mask + at);
        if (st == TP_OK) {
            info.n_dense += !strcmp(lay->valuestring, "dense");
            info.n_csr += !strcmp(lay->valuestring, "csr");
            info.n_row += !strcmp(lay->valuestring, "row");
            info.n_bsr += !strcmp(lay->valuestring, "bsr");
            for (size_t q = 0; q < (size_t)list[i].rows * list[i].cols; q++) info.stored += out->mask[at + q];
        }
    }
    for (int l = 0; l < cfg.n_layers && st == TP_OK; l++) {
        char name[32];
        const SafetensorsTensor *u;
        snprintf(name, sizeof name, "units.l%d", l);
        if ((st = need(&f, path, name, SAFETENSORS_I32, cfg.hidden[l], -1, &u)) != TP_OK) break;
        const int32_t *v = u->data;
        for (int j = 0; j < cfg.hidden[l] && st == TP_OK; j++)
            if (v[j] < 0 || v[j] >= nominal->hidden[l] || (j && v[j] <= v[j - 1]))
                st = err_set(TP_EFORMAT, "%s: %s: unit %d is %d (expected ascending in 0..%d)", path, name, j, v[j],
                             nominal->hidden[l] - 1);
    }
    for (int i = 0; i < f.n && st == TP_OK; i++)
        if (!known(f.t[i].name, list, n, cfg.n_layers))
            st = err_set(TP_EFORMAT, "%s: unexpected tensor %s (not part of the architecture)", path, f.t[i].name);
    if (st != TP_OK) goto fail;
    cJSON_Delete(cm);
    safetensors_free(&f);
    if (info_out) *info_out = info;
    return TP_OK;
fail:
    cJSON_Delete(cm);
    safetensors_free(&f);
    model_free(out);
    return st;
}
