/* engine/backend_ops: choosing a table, and the sparse matrices built for one (see backend_ops.h). */
#include "backend_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/backend_cuda.h"

TpStatus backend_ops_cuda(const BackendOps **out)
{
    *out = NULL;
    return cuda_ops(out);
}

TpStatus backend_ops_get(const char *name, const BackendOps **out, char *why, size_t why_n)
{
    *out = NULL;
    if (why && why_n) why[0] = '\0';
    if (!name || !strcmp(name, "cpu")) {
        *out = backend_ops_cpu();
        return TP_OK;
    }
    if (!strcmp(name, "cuda")) return backend_ops_cuda(out);
    if (!strcmp(name, "auto")) {
        if (backend_ops_cuda(out) == TP_OK) return TP_OK;
        if (why && why_n) snprintf(why, why_n, "%s", err_msg());
        err_clear();
        *out = backend_ops_cpu();
        return TP_OK;
    }
    return err_set(TP_EINVAL, "--backend: expected cpu, cuda or auto, got '%s'", name);
}

/* Upload n bytes of host data into a fresh buffer of ops. */
static TpStatus put(const BackendOps *ops, void **dst, const void *src, size_t bytes)
{
    *dst = NULL;
    TpStatus s = ops->alloc(dst, bytes ? bytes : 1);
    if (s == TP_OK && bytes) s = ops->upload(*dst, src, bytes);
    if (s != TP_OK && *dst) {
        ops->free(*dst);
        *dst = NULL;
    }
    return s;
}

TpStatus backend_ops_csr_from_dense(const BackendOps *ops, BackendCsr *out, const float *W, int rows, int cols)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0) return err_set(TP_EINVAL, "csr: bad shape %d x %d", rows, cols);
    size_t nnz = 0, total = (size_t)rows * cols;
    for (size_t i = 0; i < total; i++) nnz += W[i] != 0.0f;
    if (nnz > INT32_MAX) return err_set(TP_ERANGE, "csr: %zu non-zeros (at most %d)", nnz, INT32_MAX);
    int32_t *rp = malloc((size_t)(rows + 1) * sizeof *rp), *col = malloc((nnz ? nnz : 1) * sizeof *col);
    float *val = malloc((nnz ? nnz : 1) * sizeof *val);
    TpStatus s = TP_OK;
    if (!rp || !col || !val) {
        s = err_set(TP_ENOMEM, "csr: out of memory");
        goto done;
    }
    size_t k = 0;
    for (int r = 0; r < rows; r++) {
        rp[r] = (int32_t)k;
        for (int c = 0; c < cols; c++) {
            float v = W[(size_t)r * cols + c];
            if (v == 0.0f) continue;
            col[k] = c;
            val[k++] = v;
        }
    }
    rp[rows] = (int32_t)k;
    out->rows = rows;
    out->cols = cols;
    out->nnz = (int)nnz;
    if ((s = put(ops, (void **)&out->row_ptr, rp, (size_t)(rows + 1) * sizeof *rp)) != TP_OK ||
        (s = put(ops, (void **)&out->col, col, nnz * sizeof *col)) != TP_OK ||
        (s = put(ops, (void **)&out->val, val, nnz * sizeof *val)) != TP_OK)
        backend_ops_csr_free(ops, out);
done:
    free(rp);
    free(col);
    free(val);
    return s;
}

TpStatus backend_ops_bsr_from_dense(const BackendOps *ops, BackendBsr *out, const float *W, int rows, int cols,
                                    int R, int C)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0 || R <= 0 || C <= 0 || R > 64 || C > 64)
        return err_set(TP_EINVAL, "bsr: bad shape %d x %d in %d x %d blocks", rows, cols, R, C);
    int nbr = (rows + R - 1) / R, nbc = (cols + C - 1) / C;
    size_t cap = (size_t)nbr * nbc, RC = (size_t)R * C;
    int32_t *bp = malloc((size_t)(nbr + 1) * sizeof *bp), *bc = malloc(cap * sizeof *bc);
    float *val = calloc(cap * RC, sizeof *val);
    TpStatus s = TP_OK;
    if (!bp || !bc || !val) {
        s = err_set(TP_ENOMEM, "bsr: out of memory");
        goto done;
    }
    size_t nb = 0;
    for (int br = 0; br < nbr; br++) {
        bp[br] = (int32_t)nb;
        for (int bcl = 0; bcl < nbc; bcl++) {
            int any = 0;
            for (int r = br * R; r < br * R + R && r < rows && !any; r++)
                for (int c = bcl * C; c < bcl * C + C && c < cols; c++)
                    if (W[(size_t)r * cols + c] != 0.0f) any = 1;
            if (!any) continue;
            bc[nb] = bcl * C;
            for (int c = 0; c < C; c++)
                for (int r = 0; r < R; r++) {
                    int rr = br * R + r, cc = bcl * C + c;
                    val[nb * RC + (size_t)c * R + r] = rr < rows && cc < cols ? W[(size_t)rr * cols + cc] : 0.0f;
                }
            nb++;
        }
    }
    bp[nbr] = (int32_t)nb;
    *out = (BackendBsr){.rows = rows, .cols = cols, .R = R, .C = C, .n_brows = nbr, .n_blocks = (int)nb};
    if ((s = put(ops, (void **)&out->bptr, bp, (size_t)(nbr + 1) * sizeof *bp)) != TP_OK ||
        (s = put(ops, (void **)&out->bcol, bc, nb * sizeof *bc)) != TP_OK ||
        (s = put(ops, (void **)&out->val, val, nb * RC * sizeof *val)) != TP_OK)
        backend_ops_bsr_free(ops, out);
done:
    free(bp);
    free(bc);
    free(val);
    return s;
}

void backend_ops_csr_free(const BackendOps *ops, BackendCsr *a)
{
    ops->free(a->row_ptr);
    ops->free(a->col);
    ops->free(a->val);
    memset(a, 0, sizeof *a);
}

void backend_ops_bsr_free(const BackendOps *ops, BackendBsr *a)
{
    ops->free(a->bptr);
    ops->free(a->bcol);
    ops->free(a->val);
    memset(a, 0, sizeof *a);
}
