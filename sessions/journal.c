/* sessions/journal: see journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/lines.h"

static void clean(char *dst, size_t n, const char *src)
{
    /* tabs and newlines would break the line format: replace them */
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) dst[i] = (src[i] == '\t' || src[i] == '\n' || src[i] == '\r') ? ' ' : src[i];
    dst[i] = '\0';
}

/* A crash in the middle of an append leaves a last line without its newline.  Readers skip it, but
 * the next append would be glued onto it and make one wrong record ("3<TAB>...<TAB>train ste7<TAB>...")
 * in the middle of the journal: cut the fragment off first. */
static TpStatus drop_torn_tail(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "%s: open: %s", path, strerror(errno));
    TpStatus st = TP_OK;
    char buf[4096];
    off_t end = lseek(fd, 0, SEEK_END), keep = 0;
    if (end < 0 || (end > 0 && pread(fd, buf, 1, end - 1) != 1)) {
        st = err_set(TP_EIO, "%s: read: %s", path, strerror(errno));
    } else if (end > 0 && buf[0] != '\n') {
        for (off_t pos = end; pos > 0 && !keep;) {
            size_t k = pos >= (off_t)sizeof buf ? sizeof buf : (size_t)pos;
            pos -= (off_t)k;
            if (pread(fd, buf, k, pos) != (ssize_t)k) {
                st = err_set(TP_EIO, "%s: read: %s", path, strerror(errno));
                break;
            }
            for (size_t i = k; i-- > 0;)
                if (buf[i] == '\n') {
                    keep = pos + (off_t)i + 1;
                    break;
                }
        }
        if (st == TP_OK && (ftruncate(fd, keep) != 0 || fsync(fd) != 0))
            st = err_set(TP_EIO, "%s: dropping the torn last line: %s", path, strerror(errno));
    }
    close(fd);
    return st;
}

TpStatus journal_append(const char *dir, long step, const char *command, const char *result)
{
    char path[4200], when[32], cmd[JOURNAL_COMMAND_MAX + 1], res[200], line[JOURNAL_COMMAND_MAX + 300];
    if (command && strlen(command) > JOURNAL_COMMAND_MAX)
        return err_set(TP_EINVAL, "journal: command longer than %d characters", JOURNAL_COMMAND_MAX);
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    clean(cmd, sizeof cmd, command);
    clean(res, sizeof res, result);
    snprintf(line, sizeof line, "%ld\t%s\t%s\t%s", step, when, cmd, res);
    TpStatus st = drop_torn_tail(path);
    if (st != TP_OK) return st;
    return fsutil_append_line(path, line);
}

TpStatus journal_parse(const char *text, size_t len, const char *name, JournalEntry **out, int *n, int *torn)
{
    *out = NULL;
    *n = 0;
    *torn = 0;
    if (len == 0) return TP_OK;
    FILE *f = fmemopen((void *)text, len, "r");
    if (!f) return err_set(TP_ENOMEM, "%s: fmemopen: %s", name, strerror(errno));
    LineReader lr;
    lines_init(&lr, f, name, JOURNAL_MAX_BYTES);
    TpStatus st = TP_OK;
    int cap = 0;
    JournalEntry *e = NULL;
    for (;;) {
        const char *cl;
        size_t cl_len;
        if ((st = lines_next(&lr, &cl, &cl_len)) != TP_OK || !cl) break;
        if (!lr.ended_with_newline) {
            *torn = 1; /* the last append was cut short: ignore it */
            break;
        }
        if (!cl_len) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            JournalEntry *ne = realloc(e, (size_t)cap * sizeof *e);
            if (!ne) {
                st = err_set(TP_ENOMEM, "%s: out of memory", name);
                break;
            }
            e = ne;
        }
        char *line = (char *)cl; /* the reader's own buffer, valid until the next call */
        JournalEntry *j = &e[*n];
        memset(j, 0, sizeof *j);
        j->line = lr.line;
        char *f4[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            char *t = f4[k - 1] ? strchr(f4[k - 1], '\t') : NULL;
            if (t) *t = '\0', f4[k] = t + 1;
        }
        char *end;
        errno = 0;
        j->step = strtol(f4[0], &end, 10);
        if (end == f4[0] || *end || errno || !f4[1] || !f4[2]) {
            st = err_set(TP_EFORMAT, "%s:%ld: expected step<TAB>time<TAB>command<TAB>result", name, lr.line);
            break;
        }
        if (strlen(f4[2]) > JOURNAL_COMMAND_MAX) {
            st = err_set(TP_EFORMAT, "%s:%ld: command longer than %d characters", name, lr.line, JOURNAL_COMMAND_MAX);
            break;
        }
        snprintf(j->time, sizeof j->time, "%s", f4[1]);
        snprintf(j->command, sizeof j->command, "%s", f4[2]);
        snprintf(j->result, sizeof j->result, "%s", f4[3] ? f4[3] : "");
        (*n)++;
    }
    lines_free(&lr);
    fclose(f);
    if (st != TP_OK) {
        free(e);
        *n = 0; /* no partial result escapes a failed call */
        *torn = 0;
        return st;
    }
    *out = e;
    return TP_OK;
}

TpStatus journal_read_upto(const char *dir, long committed, JournalEntry **out, int *n, int *torn, int *uncommitted)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    *out = NULL;
    *n = 0;
    *torn = 0;
    if (uncommitted) *uncommitted = 0;
    void *buf = NULL;
    size_t len = 0;
    TpStatus st = fsutil_read_file(path, JOURNAL_MAX_BYTES, &buf, &len);
    if (st == TP_ENOENT) {
        return committed > 0 ? err_set(TP_EFORMAT, "%s: missing, but the manifest records %ld bytes of it", path,
                                       committed)
                             : TP_OK;
    }
    if (st != TP_OK) return st;
    if (committed >= 0) {
        if ((size_t)committed > len) {
            free(buf);
            return err_set(TP_EFORMAT, "%s: %zu bytes, but the manifest records %ld (lines of saved state are missing)",
                           path, len, committed);
        }
        if (uncommitted)
            for (size_t i = (size_t)committed; i < len; i++) *uncommitted += ((char *)buf)[i] == '\n';
        len = (size_t)committed;
    }
    st = journal_parse(buf, len, path, out, n, torn);
    free(buf);
    return st;
}

TpStatus journal_read(const char *dir, JournalEntry **out, int *n, int *torn)
{
    return journal_read_upto(dir, -1, out, n, torn, NULL);
}

TpStatus journal_size(const char *dir, long *bytes)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    struct stat sb;
    *bytes = 0;
    if (stat(path, &sb) != 0) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "%s: %s", path, strerror(errno));
    *bytes = (long)sb.st_size;
    return TP_OK;
}

TpStatus journal_truncate(const char *dir, long committed, int *dropped)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    *dropped = 0;
    if (committed < 0) {
        long before = 0, after = 0;
        TpStatus st = journal_size(dir, &before);
        if (st == TP_OK) st = drop_torn_tail(path);
        if (st == TP_OK) st = journal_size(dir, &after);
        if (st == TP_OK && after < before) *dropped = 1;
        return st;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return committed > 0 ? err_set(TP_EFORMAT, "%s: missing, but the manifest records %ld bytes of it", path,
                                           committed)
                                 : TP_OK;
        return err_set(TP_EIO, "%s: open: %s", path, strerror(errno));
    }
    TpStatus st = TP_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = err_set(TP_EIO, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = err_set(TP_EFORMAT, "%s: not a regular file", path);
    } else if (sb.st_size < committed) {
        st = err_set(TP_EFORMAT, "%s: %lld bytes, but the manifest records %ld (lines of saved state are missing)", path,
                     (long long)sb.st_size, committed);
    } else if (sb.st_size > committed) {
        char buf[4096];
        int last_nl = 1;
        for (off_t pos = committed; pos < sb.st_size && st == TP_OK;) {
            size_t k = sb.st_size - pos >= (off_t)sizeof buf ? sizeof buf : (size_t)(sb.st_size - pos);
            if (pread(fd, buf, k, pos) != (ssize_t)k) st = err_set(TP_EIO, "%s: read: %s", path, strerror(errno));
            for (size_t i = 0; i < k && st == TP_OK; i++) *dropped += buf[i] == '\n';
            if (k) last_nl = buf[k - 1] == '\n';
            pos += (off_t)k;
        }
        if (!last_nl) (*dropped)++; /* a torn fragment */
        if (st == TP_OK && (ftruncate(fd, committed) != 0 || fsync(fd) != 0))
            st = err_set(TP_EIO, "%s: cutting the uncommitted lines: %s", path, strerror(errno));
    }
    close(fd);
    return st;
}
