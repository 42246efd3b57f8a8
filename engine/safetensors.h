/* engine/safetensors: the strict reader of the safetensors format (the writer is
 * engine/safetensors_writer).
 *
 * Owns the on-disk tensor format of model.safetensors (sessions) and of exports (DESIGN 2.3, 2.4):
 *   8 bytes   N, the header length, little-endian u64
 *   N bytes   JSON header {"name":{"dtype":"F32","shape":[..],"data_offsets":[begin,end]}, ...,
 *                          "__metadata__":{"key":"value", ...}}   (padded with spaces)
 *   rest      the byte buffer; offsets are relative to its start; little-endian values.
 * Files load in PyTorch with safetensors.torch.load_file.  The reader trusts nothing: every
 * malformed file is refused with TP_EFORMAT and a message naming the file and the problem.
 */
#ifndef TP_SAFETENSORS_H
#define TP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* In-memory codes (stable numbers); on disk the dtype is the string "F32", "U8", ... */
typedef enum {
    SAFETENSORS_F32 = 0,
    SAFETENSORS_U8 = 1,
    SAFETENSORS_I16 = 2,
    SAFETENSORS_I32 = 3,
    SAFETENSORS_I64 = 4,
    SAFETENSORS_F64 = 5,
} SafetensorsDtype;

#define SAFETENSORS_MAX_DIMS 8

typedef struct {
    char *name;
    SafetensorsDtype dtype;
    int ndim;                             /* 0 = scalar (one element) */
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t n_elems, nbytes;
    /* Points into the file buffer (valid until safetensors_free) and is always aligned to the
     * element size (the reader guarantees it), so it may be cast to float *, int32_t *, ... */
    const void *data;
} SafetensorsTensor;

typedef struct {
    int n;                 /* tensors, in the order of the header (= insertion order for our files) */
    SafetensorsTensor *t;
    char **meta_keys, **meta_vals;
    int n_meta;
    void *buf;             /* the whole file; tensor data points into it */
    size_t buf_size;
} SafetensorsFile;

typedef struct {
    uint64_t max_bytes;    /* refuse bigger files with TP_ERANGE; 0 = 4 GiB */
    int allow_nonfinite;   /* accept NaN/Inf in F32/F64 data (refused by default) */
} SafetensorsReadOpts;     /* NULL opts = defaults */

/* Read and validate the file at 'path' into 'f' (caller calls safetensors_free).  Missing file ->
 * TP_ENOENT, too big -> TP_ERANGE, malformed -> TP_EFORMAT; on failure 'f' is left empty. */
TpStatus safetensors_read(SafetensorsFile *f, const char *path, const SafetensorsReadOpts *o);

/* Same on a buffer of 'n' bytes.  Takes ownership of the malloc'd 'buf', also on failure
 * (the fuzzer's entry point).  The buffer may be rearranged in place. */
TpStatus safetensors_parse(SafetensorsFile *f, void *buf, size_t n, const SafetensorsReadOpts *o);

/* Tensor 'name' or NULL. */
const SafetensorsTensor *safetensors_find(const SafetensorsFile *f, const char *name);

/* Value of metadata 'key' or NULL if absent. */
const char *safetensors_meta(const SafetensorsFile *f, const char *key);

/* Release everything 'f' holds and leave it empty; safe on an empty or failed file. */
void safetensors_free(SafetensorsFile *f);

/* Size in bytes of one element of 'dt' (0 for an invalid code) and its on-disk name ("F32"). */
size_t safetensors_dtype_size(SafetensorsDtype dt);
const char *safetensors_dtype_name(SafetensorsDtype dt);

#endif
