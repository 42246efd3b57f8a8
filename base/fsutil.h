/* base/fsutil: crash-safe file primitives.
 *
 * Owns every way topiary puts bytes on disk that must survive a crash: atomic replacement of a
 * whole file (temp file + fsync + rename + directory fsync, as redis saves its RDB), whole-line
 * appends for the journal and .tsv logs, reading a whole file with a size limit, CRC32 (zlib)
 * for the manifest, mkdir -p.  Nothing here prints; failures return a TpStatus and leave a
 * message such as "save model.safetensors: fsync: No space left on device" in err_msg().
 */
#ifndef TP_FSUTIL_H
#define TP_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

/* Replace 'path' by 'n' bytes of 'data', atomically: a temp file "<path>.tmp.XXXXXX" in the same
 * directory (mode 0644) is written in full, fsync'ed, closed, renamed over 'path', and the directory
 * is fsync'ed so the rename itself is durable.  On any failure before the rename the temp file is
 * unlinked and the old file at 'path' is untouched.  Returns TP_OK, or TP_EIO with the errno text. */
TpStatus fsutil_write_atomic(const char *path, const void *data, size_t n);

/* Streams the content into 'fd' (with fsutil_write_all); returns TP_OK or an error with a message. */
typedef TpStatus (*FsutilWriteFn)(int fd, void *ctx);

/* Like fsutil_write_atomic, but the content comes from 'fn(fd, ctx)', so big files need not be built
 * in memory first.  An error from 'fn' is returned unchanged (with "save <path>: " prefixed). */
TpStatus fsutil_write_atomic_fn(const char *path, FsutilWriteFn fn, void *ctx);

/* Write all 'n' bytes, retrying on EINTR and short writes.  ENOSPC and friends -> TP_EIO
 * with message "write: <strerror>". */
TpStatus fsutil_write_all(int fd, const void *data, size_t n);

/* Open 'path' read-only where a regular file is expected: a device (/dev/zero), a FIFO, a socket or a
 * directory is refused with TP_EINVAL ("read PATH: not a regular file (a character device)") instead
 * of being read until memory runs out or blocking for a writer (the open itself never blocks: it uses
 * O_NONBLOCK, cleared again on success).  FSUTIL_NOFOLLOW also refuses a symlink as the last path
 * component (O_NOFOLLOW).  'what' starts the messages ("read", "crc32").  Returns the descriptor in
 * *fd and, when 'bytes' is not NULL, the file's size; missing file -> TP_ENOENT, else TP_EIO. */
#define FSUTIL_NOFOLLOW 1
TpStatus fsutil_open_regular(const char *path, int flags, const char *what, int *fd, uint64_t *bytes);

/* fopen(path, "r") through fsutil_open_regular (symlinks followed): for text read with stdio. */
TpStatus fsutil_fopen_regular(const char *path, FILE **out);

/* Bytes of physical memory of this machine (sysconf), or UINT64_MAX when unknown.  Sizes read from a
 * file are checked against it before anything that large is allocated. */
uint64_t fsutil_memory_bytes(void);

/* Read the whole file into a malloc'd buffer '*data' (caller frees) of '*n' bytes, followed by one
 * extra NUL byte so text can be parsed in place.  A file larger than 'max_bytes' is refused with
 * TP_ERANGE (pass SIZE_MAX for no limit), and so is a file larger than the machine's memory; a
 * missing file is TP_ENOENT; a device, FIFO or directory TP_EINVAL (fsutil_open_regular); other
 * failures TP_EIO.  On failure '*data' is NULL and '*n' is 0. */
TpStatus fsutil_read_file(const char *path, size_t max_bytes, void **data, size_t *n);

/* CRC-32 (zlib, the same as gzip and PNG) of a buffer; crc32("123456789") = 0xCBF43926. */
uint32_t fsutil_crc32(const void *data, size_t n);

/* CRC-32 and size of a whole regular file, read in chunks (a device such as /dev/zero would never
 * end: refused with TP_EINVAL). Missing file -> TP_ENOENT, else TP_EIO. */
TpStatus fsutil_crc32_file(const char *path, uint32_t *crc, uint64_t *bytes);

/* Append 'line' plus '\n' (unless it already ends with one) to 'path' (created 0644 if absent)
 * with O_APPEND in a single write(2), then fsync, so a crash leaves at worst a torn last line that
 * readers skip.  A newline inside 'line' is refused with TP_EINVAL: it would split the record. */
TpStatus fsutil_append_line(const char *path, const char *line);

/* Create 'path' and its missing parents (mode 0755), like mkdir -p. Existing directories are fine. */
TpStatus fsutil_mkdir_p(const char *path);

/* fsync a directory, making renames and creations inside it durable. */
TpStatus fsutil_fsync_dir(const char *dir);

/* 1 if something exists at 'path' (file, directory, ...), else 0. */
int fsutil_exists(const char *path);

/* Copy a whole file (at most 16 GiB) to `to`, atomically. */
TpStatus fsutil_copy_file(const char *from, const char *to);

#endif
