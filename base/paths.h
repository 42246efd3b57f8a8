/* base/paths: building file names, checked.
 *
 * Every path topiary builds goes through path_join, so a name too long for its buffer is an error
 * naming the path ("path too long: /very/long/dir/manifest.json") rather than a silently truncated file
 * name that would read or write the wrong file. */
#ifndef TP_PATHS_H
#define TP_PATHS_H

#include <stddef.h>

#include "base/status.h"

/* buf = dir + "/" + name (no doubled '/' when dir ends with one; dir "" gives name).  Returns TP_OK, or
 * TP_ERANGE with a message when the result does not fit in n bytes (buf then holds a truncated,
 * NUL-terminated prefix that must not be used). */
TpStatus path_join(char *buf, size_t n, const char *dir, const char *name);

/* The last component of 'path' (after the last '/'; the whole string if none). Never NULL. */
const char *path_basename(const char *path);

#endif
