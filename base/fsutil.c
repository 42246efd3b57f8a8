/* base/fsutil: crash-safe file primitives; see fsutil.h.
 *
 * The atomic write follows redis' rdbSave: write a temp file next to the target, fsync it, rename
 * it over the target, then fsync the directory (redis fsyncFileDir), so that after a crash the path
 * holds either the complete old file or the complete new one, never a mix.  The temp file lives in
 * the same directory because rename(2) is only atomic within one file system.
 */
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define TMP_SUFFIX ".tmp.XXXXXX"

/* Directory part of 'path' as a new string ("." when there is no slash); NULL if out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ==== Atomic replacement ==== */

TpStatus fsutil_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        /* Linux never writes more than ~2 GiB per call anyway; keep the request inside ssize_t. */
        size_t chunk = n > (size_t)1 << 30 ? (size_t)1 << 30 : n;
        ssize_t r = write(fd, p, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return err_set(TP_EIO, "write: %s", strerror(errno));
        }
        /* A zero return would loop forever; treat it like a full disk. */
        if (r == 0)
            return err_set(TP_EIO, "write: no progress (0 bytes written)");
        p += r;
        n -= (size_t)r;
    }
    return TP_OK;
}

/* fsync then close *fd (set to -1 either way: never closed twice); errors read
 * "<verb> <path>: fsync: <strerror>" or "...: close: ...". */
static TpStatus sync_close(int *fd, const char *verb, const char *path)
{
    if (fsync(*fd) != 0)
        return err_set(TP_EIO, "%s %s: fsync: %s", verb, path, strerror(errno));
    int cfd = *fd;
    *fd = -1;
    if (close(cfd) != 0)
        return err_set(TP_EIO, "%s %s: close: %s", verb, path, strerror(errno));
    return TP_OK;
}

/* The common tail of a save and an append: fill the open file through fn, fsync and close it
 * (*fd is -1 afterwards unless fn failed); errors read "<verb> <path>: ...". */
static TpStatus fill_sync_close(int *fd, const char *verb, const char *path, FsutilWriteFn fn,
                                void *ctx)
{
    TpStatus rc = fn(*fd, ctx);
    if (rc != TP_OK)
        return err_wrap(rc, "%s %s: ", verb, path);
    /* Without this fsync, a crash after a rename could leave a renamed but empty file. */
    return sync_close(fd, verb, path);
}

/* fsync the directory 'dir' after a file in it appeared; errors read "<verb> <path>: ...". */
static TpStatus sync_dir(const char *dir, const char *verb, const char *path)
{
    if (!dir)
        return err_set(TP_ENOMEM, "%s %s: out of memory", verb, path);
    TpStatus rc = fsutil_fsync_dir(dir);
    return rc == TP_OK ? TP_OK : err_wrap(rc, "%s %s: ", verb, path);
}

struct buf_ctx {
    const void *data;
    size_t n;
};

static TpStatus write_buf(int fd, void *ctx)
{
    const struct buf_ctx *b = ctx;
    return fsutil_write_all(fd, b->data, b->n);
}

TpStatus fsutil_write_atomic_fn(const char *path, FsutilWriteFn fn, void *ctx)
{
    TpStatus rc;
    char *tmp = NULL, *dir = NULL;
    int fd = -1, tmp_exists = 0;

    if (!path || !*path || !fn)
        return err_set(TP_EINVAL, "save: missing path or content");
    size_t len = strlen(path);
    tmp = malloc(len + sizeof TMP_SUFFIX);
    dir = dir_of(path);
    if (!tmp || !dir) {
        rc = err_set(TP_ENOMEM, "save %s: out of memory", path);
        goto out;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, TMP_SUFFIX, sizeof TMP_SUFFIX);

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = err_set(TP_EIO, "save %s: create temp file: %s", path, strerror(errno));
        goto out;
    }
    tmp_exists = 1;
    /* mkstemp creates 0600; session files are ordinary user files that others may read. */
    if (fchmod(fd, 0644) != 0) {
        rc = err_set(TP_EIO, "save %s: chmod: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = fill_sync_close(&fd, "save", path, fn, ctx)) != TP_OK)
        goto out;
    if (rename(tmp, path) != 0) {
        rc = err_set(TP_EIO, "save %s: rename: %s", path, strerror(errno));
        goto out;
    }
    tmp_exists = 0;
    /* The new file is in place; this makes the rename survive a power cut.  A failure here is
     * still reported (as redis does), though the old content is already gone. */
    rc = sync_dir(dir, "save", path);

out:
    if (fd >= 0)
        close(fd); /* only when failing: the first error is the one worth reporting */
    if (tmp_exists)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

TpStatus fsutil_write_atomic(const char *path, const void *data, size_t n)
{
    struct buf_ctx b = { data, n };
    return fsutil_write_atomic_fn(path, write_buf, &b);
}

/* ==== Reading and checksums ==== */

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    return "not a regular file";
}

TpStatus fsutil_open_regular(const char *path, int flags, const char *what, int *fd_out, uint64_t *bytes)
{
    struct stat st;
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (flags & FSUTIL_NOFOLLOW ? O_NOFOLLOW : 0));
    if (fd < 0) {
        if (errno == ELOOP && (flags & FSUTIL_NOFOLLOW))
            return err_set(TP_EINVAL, "%s %s: a symbolic link, where a regular file is expected", what, path);
        return err_set(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s %s: %s", what, path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        TpStatus rc = err_set(TP_EIO, "%s %s: stat: %s", what, path, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(TP_EINVAL, "%s %s: %s, where a regular file is expected", what, path, file_kind(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        TpStatus rc = err_set(TP_EIO, "%s %s: fcntl: %s", what, path, strerror(errno));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    if (bytes) *bytes = (uint64_t)st.st_size;
    return TP_OK;
}

TpStatus fsutil_fopen_regular(const char *path, FILE **out)
{
    int fd;
    *out = NULL;
    TpStatus rc = fsutil_open_regular(path, 0, "read", &fd, NULL);
    if (rc != TP_OK) return rc;
    *out = fdopen(fd, "r");
    if (!*out) {
        rc = err_set(TP_EIO, "read %s: %s", path, strerror(errno));
        close(fd);
    }
    return rc;
}

uint64_t fsutil_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0) return UINT64_MAX;
    return (uint64_t)pages * (uint64_t)size;
}

/* read(2), retried when a signal interrupts it: bytes read, 0 at the end, -1 with errno set. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

TpStatus fsutil_read_file(const char *path, size_t max_bytes, void **data, size_t *n)
{
    TpStatus rc;
    char *buf = NULL;
    size_t len = 0, cap;
    uint64_t size;
    int fd;

    *data = NULL;
    *n = 0;
    if ((rc = fsutil_open_regular(path, 0, "read", &fd, &size)) != TP_OK)
        return rc;
    /* a regular file never holds more than the machine can store: cap the limit by its memory */
    uint64_t mem = fsutil_memory_bytes();
    if (mem < (uint64_t)max_bytes)
        max_bytes = (size_t)mem;
    if (size > (uint64_t)max_bytes) {
        rc = err_set(TP_ERANGE, "read %s: file is %llu bytes, more than the limit of %zu%s", path,
                     (unsigned long long)size, max_bytes, max_bytes == mem ? " (this machine's memory)" : "");
        goto fail;
    }
    /* st_size is a hint (files in /proc say 0, a file may grow while we read); +1 for the NUL. */
    cap = (size > 0 ? (size_t)size : 4096) + 1;
    buf = malloc(cap);
    if (!buf) {
        rc = err_set(TP_ENOMEM, "read %s: out of memory (%zu bytes)", path, cap);
        goto fail;
    }
    for (;;) {
        /* Full: peek one byte before doubling, so a file of exactly st_size bytes costs no
         * reallocation. */
        int peek = len + 1 == cap;
        char extra;
        ssize_t r = peek ? read_retry(fd, &extra, 1) : read_retry(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            rc = err_set(TP_EIO, "read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        if (len + (size_t)r > max_bytes) {
            rc = err_set(TP_ERANGE, "read %s: file is more than the limit of %zu bytes", path,
                         max_bytes);
            goto fail;
        }
        if (peek) {
            size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = err_set(TP_ENOMEM, "read %s: out of memory (%zu bytes)", path, ncap);
                goto fail;
            }
            buf = nb;
            cap = ncap;
            buf[len] = extra;
        }
        len += (size_t)r;
    }
    close(fd); /* read-only descriptor: nothing to lose if close complains */
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return TP_OK;

fail:
    close(fd);
    free(buf);
    return rc;
}

uint32_t fsutil_crc32(const void *data, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    /* zlib takes a uInt length: feed big buffers in pieces. */
    while (n > 0) {
        uInt k = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

TpStatus fsutil_crc32_file(const char *path, uint32_t *crc, uint64_t *bytes)
{
    TpStatus rc;
    unsigned char chunk[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;

    int fd;
    if ((rc = fsutil_open_regular(path, 0, "crc32", &fd, NULL)) != TP_OK)
        return rc;
    for (;;) {
        ssize_t r = read_retry(fd, chunk, sizeof chunk);
        if (r < 0) {
            rc = err_set(TP_EIO, "crc32 %s: read: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        c = crc32(c, chunk, (uInt)r);
        total += (uint64_t)r;
    }
    close(fd);
    *crc = (uint32_t)c;
    *bytes = total;
    return TP_OK;

fail:
    close(fd);
    return rc;
}

/* ==== Appending and directories ==== */

TpStatus fsutil_append_line(const char *path, const char *line)
{
    TpStatus rc;
    char *buf = NULL, *dir = NULL;
    int fd = -1, created = 0;

    size_t len = strlen(line);
    size_t body = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
    if (memchr(line, '\n', body))
        return err_set(TP_EINVAL, "append %s: line contains a newline", path);
    /* Build the whole record first: one write(2) with O_APPEND lands in one piece. */
    buf = malloc(body + 1);
    if (!buf) {
        rc = err_set(TP_ENOMEM, "append %s: out of memory", path);
        goto out;
    }
    memcpy(buf, line, body);
    buf[body] = '\n';

    /* O_EXCL first tells us whether we created the file: only then must the directory be synced. */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0)
        created = 1;
    else if (errno == EEXIST)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        rc = err_set(TP_EIO, "append %s: open: %s", path, strerror(errno));
        goto out;
    }
    struct buf_ctx b = { buf, body + 1 };
    if ((rc = fill_sync_close(&fd, "append", path, write_buf, &b)) != TP_OK)
        goto out;
    if (created) {
        dir = dir_of(path);
        rc = sync_dir(dir, "append", path);
    }

out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(dir);
    return rc;
}

TpStatus fsutil_mkdir_p(const char *path)
{
    TpStatus rc;
    struct stat st;

    if (!path || !*path)
        return err_set(TP_EINVAL, "mkdir: empty path");
    char *p = strdup(path);
    if (!p)
        return err_set(TP_ENOMEM, "mkdir %s: out of memory", path);
    /* Create each prefix ending at a '/' and then the whole path; the leading '/' is skipped. */
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0) {
            if (errno != EEXIST) {
                rc = err_set(TP_EIO, "mkdir %s: %s", p, strerror(errno));
                goto fail;
            }
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                rc = err_set(TP_EIO, "mkdir %s: %s", p, strerror(ENOTDIR));
                goto fail;
            }
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return TP_OK;

fail:
    free(p);
    return rc;
}

TpStatus fsutil_fsync_dir(const char *dir)
{
    TpStatus rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(TP_EIO, "fsync directory %s: %s", dir, strerror(errno));
    /* Some file systems cannot fsync a directory and say EINVAL (or EBADF); redis ignores those
     * too, since there is nothing better to do there. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EBADF) {
        rc = err_set(TP_EIO, "fsync directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0)
        return err_set(TP_EIO, "fsync directory %s: close: %s", dir, strerror(errno));
    return TP_OK;

fail:
    close(fd);
    return rc;
}

int fsutil_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

TpStatus fsutil_copy_file(const char *from, const char *to)
{
    void *buf = NULL;
    size_t n = 0;
    TpStatus st = fsutil_read_file(from, (size_t)1 << 34, &buf, &n);
    if (st != TP_OK) return st;
    st = fsutil_write_atomic(to, buf, n);
    free(buf);
    return st;
}
