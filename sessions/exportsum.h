/* sessions/exportsum: checksums.json of an export directory, the size and CRC32 (zlib) of every file.
 *
 *   EXPORTDIR/checksums.json  {"format":"topiary-export-checksums", "version":1,
 *                              "files":{"config.json":{"bytes":N,"crc32":"8 hex digits"}, ...}}
 *
 * Written last by an export (atomically, after config.json), checked before `eval --model` reads
 * anything else: a file that was modified, truncated or replaced is refused naming it.  An export
 * written before topiary had this file (config.json minor 0) has none and opens unchecked; the caller
 * says so in a note.  Listed names are plain file names (no '/', not "." or ".."): a checksums.json
 * never makes topiary read outside the export directory.
 */
#ifndef TP_EXPORTSUM_H
#define TP_EXPORTSUM_H

#include "base/status.h"

#define EXPORTSUM_FILE "checksums.json"
#define EXPORTSUM_FORMAT "topiary-export-checksums"
#define EXPORTSUM_MAX_BYTES (1u << 20)

/* Write dir/checksums.json listing the n files names[] of dir (those absent are skipped). */
TpStatus exportsum_write(const char *dir, const char *const *names, int n);

/* Check every file dir/checksums.json lists (size, then CRC32), and that each of the n names[] present
 * in dir is listed.  A listed file that is missing is refused, unless it is one of names[n_mandatory..n)
 * (optional files: an export may ship model.safetensors or model.compact.safetensors alone).  No checksums.json: TP_OK with *checked = 0.  Damage: TP_EFORMAT naming the file
 * ("EXPORTDIR/model.safetensors: CRC32 ..., checksums.json says ... (modified or corrupted)"). */
TpStatus exportsum_check(const char *dir, const char *const *names, int n, int n_mandatory, int *checked);

#endif
