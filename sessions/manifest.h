/* sessions/manifest: manifest.json of a session directory or snapshot (DESIGN 2.3), as a file.
 *
 * Owns what makes the manifest the commit point of a save: the format name and version, the
 * "files" table (byte size and CRC32 of model.safetensors and vocab.json, checked on reading), the
 * manifest's own CRC32 (its last field, see manifest_print),
 * the two-step commit (the manifest first names model.safetensors.new, the file is renamed, the
 * manifest is rewritten; a crash anywhere leaves a manifest whose files match) and its recovery.
 * It knows nothing of a Session: sessions/session fills the manifest's "task" and "state" and
 * sessions/gpstate its "schedule", with the field helpers below (exact doubles, checked integers).
 */
#ifndef TP_MANIFEST_H
#define TP_MANIFEST_H

#include <stddef.h>

#include <cJSON.h>

#include "base/status.h"

#define MANIFEST_FORMAT "topiary-session"
#define MANIFEST_VERSION_MAJOR 1
#define MANIFEST_VERSION_MINOR 1   /* 1: "manifest_crc32" and "commit" (the journal position) */
#define MANIFEST_CRC_KEY "manifest_crc32"
#define MANIFEST_MAX_BYTES (16u << 20)

/* A new manifest object with format, version, minor and (when not NULL) reason; NULL if out of memory. */
cJSON *manifest_new(const char *reason);

/* Commit 'man' (taken over, also on failure) as dir/manifest.json for the model just written to
 * dir/model.safetensors.new: adds "files" (that file, and dir/vocab.json when present), writes the
 * manifest atomically, renames the model to model.safetensors and writes the manifest again. */
TpStatus manifest_commit(cJSON *man, const char *dir);

/* A save interrupted after its commit leaves a manifest naming model.safetensors.new, which holds the
 * committed state: give that file its final name before a new save overwrites the ".new" name. */
TpStatus manifest_finish_interrupted_save(const char *dir);

/* Read and validate dir/manifest.json: format, version (a newer major is refused), files and state
 * present, model.safetensors matching its entry.  *out is the parsed manifest (cJSON_Delete);
 * model_path gets the model file to load (model.safetensors, or ".new" after an interrupted save). */
TpStatus manifest_read(const char *dir, cJSON **out, char *model_path, size_t n);

/* The manifest as text (malloc'd; NULL if out of memory), its last field MANIFEST_CRC_KEY set to the
 * CRC32 of the text with that field's 8 hex digits read as "00000000" (any previous one is replaced). */
char *manifest_print(cJSON *man);

/* Check text[0..len) (the manifest 'man' was parsed from; restored after use) against its own CRC:
 * TP_EFORMAT naming 'path' on a mismatch.  A manifest without the field (minor 0, or removed by hand
 * to keep an edit) is accepted unchecked. */
TpStatus manifest_check_crc(char *text, size_t len, const cJSON *man, const char *path);

/* Check the file 'name' listed in 'files' (size and CRC32) in dir.  An "X.new" entry whose file was
 * already renamed to "X" is accepted when X matches; 'actual' (may be NULL) gets the path found. */
TpStatus manifest_check_file(const cJSON *files, const char *dir, const char *name, char *actual, size_t n_actual);

/* Add files.<name> = {bytes, crc32} for dir/name. */
TpStatus manifest_add_file(cJSON *files, const char *dir, const char *name);

/* Read the JSON file path (at most max bytes) into *out (NULL on an error); TP_EFORMAT
 * "PATH: not valid JSON", or fsutil_read_file's status. */
TpStatus manifest_read_json(const char *path, size_t max, cJSON **out);

/* Field helpers.  manifest_add_exact writes a double with 17 significant digits (cJSON's 15 may lose
 * the last bits of state that must resume bit-exactly; non-finite is written as 0). */
void manifest_add_exact(cJSON *o, const char *k, double v);
double manifest_num(const cJSON *o, const char *k, double dflt);   /* a number field, else dflt */
/* An integer field of o within lo..hi (absent: dflt); else TP_EFORMAT naming the key. */
TpStatus manifest_int_in(const cJSON *o, const char *k, double lo, double hi, double dflt, double *out);

#endif
