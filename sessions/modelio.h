/* sessions/modelio: the pieces of model files that a session directory and an export share.
 *
 * Owns vocab.json (a JSON array of the token strings, id = index: written atomically, read back
 * with every entry checked) and the checked load of one tensor from a safetensors file (name,
 * dtype and shape as the caller expects, or an error naming the file and the tensor).
 * sessions/session and sessions/export both use it, so the two formats cannot drift apart.
 */
#ifndef TP_MODELIO_H
#define TP_MODELIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/corpus.h"
#include "engine/safetensors.h"

/* Write the corpus' vocabulary to 'path' (fsutil_write_atomic). */
TpStatus modelio_write_vocab(const Corpus *c, const char *path);

/* Read vocab.json at 'path' (at most 'max_bytes'): *vocab gets n malloc'd strings (free with
 * modelio_free_vocab; the array has one NULL entry past the end).  Not an array of strings ->
 * TP_EFORMAT naming the file (and the entry). */
TpStatus modelio_read_vocab(const char *path, size_t max_bytes, char ***vocab, int *n);
void modelio_free_vocab(char **vocab, int n);

/* Copy the tensor 'name' of 'f' (read from 'path') to 'dst' after checking that it is of dtype 'dt'
 * and shape [rows] (ndim 1) or [rows, cols] (ndim 2).  Missing or different -> TP_EFORMAT, e.g.
 * "PATH: tensor NAME has the wrong dtype or shape: F32 [4,3], <source> F32 [4,5]", where 'source' says
 * what the expectation comes from ("expected", "config.json implies"). */
TpStatus modelio_load_tensor(const SafetensorsFile *f, const char *path, const char *name, SafetensorsDtype dt,
                             int ndim, int64_t rows, int64_t cols, const char *source, void *dst);

#endif
