/* engine/compact: model.compact.safetensors (DESIGN 2.4), the export for inference: hidden sizes
 * trimmed to the units whose output is read (infer_trim), and every weight matrix in the smallest of
 * three forms, so that the file shrinks with sparsity:
 *
 *   dense  <name>                 F32 [rows, cols]              4 R C bytes
 *   csr    <name>.values          F32 [nnz]                     (4 + i) nnz + 4 (R + 1) bytes
 *          <name>.col_idx         I16 | I32 [nnz]               (i = 2 when cols <= 32768, else 4:
 *          <name>.row_ptr         I32 [rows + 1]                 I16 is signed, and readers such as
 *                                                                PyTorch must see the true column)
 *   row    <name>.values          F32 [rows, k]                 (4 + i) R k bytes: chosen when every
 *          <name>.col_idx         I16 | I32 [rows, k]           row holds the same count k (a BRDS
 *                                                                row-balanced matrix), no row_ptr
 *   bsr    <name>.values          F32 [nb, br, bc]              (4 br bc + i) nb + 4 (ceil(R/br) + 1)
 *          <name>.col_idx         I16 | I32 [nb]                bytes: block sparse rows, chosen when
 *          <name>.row_ptr         I32 [ceil(R/br) + 1]          the non-zeros fill whole br x bc blocks
 *                                                                (a block-pruned mask; shapes 16x1, 8x1,
 *                                                                4x4, "block":[br, bc] in the metadata);
 *                                                                col_idx counts block columns, ascending
 *                                                                per block row; entries past the edge are 0
 * Trimming removes the rows of unread units from the gate matrices, which can shift a block-pruned
 * mask off the block grid; such a matrix is then stored in whichever layout is smallest.
 * Column indices ascend within a row; the stored entries are the non-zeros (pruned entries are exact
 * zeros in the dense export, and a live zero adds nothing).  Biases are always dense.  <name> is the
 * PyTorch name of the dense export (sessions/export), given by the caller's naming function, so a
 * reader can rebuild torch tensors with the trimmed sizes.  Besides:
 *   units.l<k>  I32 [H'_k]  the original index of each kept unit of layer k (ascending)
 *   __metadata__ "topiary": the export's config.json text (nominal architecture);
 *                "topiary_compact": {"format":"topiary-compact","version":1,"hidden":[H'_0,...],
 *                                    "tensors":{"<name>":{"layout":"dense|csr|row|bsr","shape":[R,C]
 *                                               [,"block":[br,bc]]},...}}
 * Reading back gives a dense in-memory Model of the trimmed sizes whose outputs equal the original's
 * (exactly the same weights; tests/test_infer.c).  The reader trusts nothing: shapes against the
 * metadata and the nominal architecture, row_ptr monotone from 0 to nnz, indices in range and
 * strictly ascending per row, unknown or missing tensors: TP_EFORMAT naming the file and tensor.
 */
#ifndef TP_COMPACT_H
#define TP_COMPACT_H

#include <stddef.h>

#include "model.h"
#include "base/status.h"

#define COMPACT_FORMAT "topiary-compact"
#define COMPACT_VERSION 1
#define COMPACT_MAX_TENSORS (3 + 16 * MODEL_MAX_LAYERS)

/* One named tensor: rows [row0, row0 + rows) of registry tensor `param` (H-LSTM export tensors are
 * per-gate row blocks); ndim 1 for biases. */
typedef struct {
    char name[64];
    int param;
    int row0, rows, cols;
    int ndim;
} CompactTensor;

/* The names of every registry tensor of m, in registry order (sessions/export's PyTorch names). */
typedef TpStatus (*CompactNamesFn)(const Model *m, CompactTensor *t, int *n);

typedef struct {
    int n_tensors, n_dense, n_csr, n_row, n_bsr; /* 2-D weights by form; biases not counted */
    int hidden[MODEL_MAX_LAYERS];           /* trimmed sizes                           */
    size_t stored;                          /* weight entries stored (non-zeros, or all for dense) */
} CompactInfo;

/* Trim m and write it to path (atomically); meta = the export's config JSON text.  info may be NULL. */
TpStatus compact_write(const Model *m, CompactNamesFn names, const char *meta, const char *path, CompactInfo *info);

/* Read path into out (model_init'ed here with nominal's architecture and the file's trimmed sizes;
 * model_free it).  TP_ENOENT for a missing file, TP_EFORMAT for a malformed one.  info may be NULL. */
TpStatus compact_read(Model *out, const ModelConfig *nominal, CompactNamesFn names, const char *path,
                      CompactInfo *info);

#endif
