/* engine/safetensors_writer: writes safetensors files (format: engine/safetensors.h) that the strict
 * reader and PyTorch's safetensors.torch.load_file accept.
 *
 * Owns building a file from named tensors and metadata, its byte layout (every tensor aligned to its
 * element size) and the atomic save (base/fsutil).
 */
#ifndef TP_SAFETENSORS_WRITER_H
#define TP_SAFETENSORS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/safetensors.h"

/* Collect tensors and metadata, then save or serialize.  safetensors_writer_add COPIES the data,
 * so the caller may free or reuse its buffer right away.
 *
 * Layout: the header lists tensors in insertion order.  The byte buffer stores them contiguously
 * (the reference reader rejects gaps), ordered by element size, widest first, and in insertion
 * order among equal widths (the reference implementation does the same).  With the header padded
 * with spaces to a multiple of 8, every tensor then starts at a multiple of its element size:
 * 8-byte types at multiples of 8, F32/I32 at multiples of 4. */
typedef struct SafetensorsWriter SafetensorsWriter;

SafetensorsWriter *safetensors_writer_new(void);   /* NULL if out of memory */

/* Add tensor 'name' (unique, not "__metadata__") of 'ndim' <= 8 dimensions 'shape' (each >= 0);
 * 'data' holds product(shape) elements (may be NULL when that is 0).  TP_EINVAL on bad input. */
TpStatus safetensors_writer_add(SafetensorsWriter *w, const char *name, SafetensorsDtype dt, int ndim,
                                const int64_t *shape, const void *data);

/* Set metadata 'key' to 'value' (both copied); setting a key again replaces its value. */
TpStatus safetensors_writer_meta(SafetensorsWriter *w, const char *key, const char *value);

/* Write the file atomically (fsutil_write_atomic_fn): the old file survives any failure. */
TpStatus safetensors_writer_save(SafetensorsWriter *w, const char *path);

/* The whole file as one malloc'd buffer '*buf' of '*n' bytes (caller frees). */
TpStatus safetensors_writer_serialize(SafetensorsWriter *w, void **buf, size_t *n);

void safetensors_writer_delete(SafetensorsWriter *w);

#endif
