/* sessions/journal: see journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"

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
    char path[4200], when[32], cmd[600], res[200], line[900];
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

TpStatus journal_read(const char *dir, JournalEntry **out, int *n, int *torn)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.txt", dir);
    *out = NULL;
    *n = 0;
    *torn = 0;
    void *buf = NULL;
    size_t len = 0;
    TpStatus st = fsutil_read_file(path, 256u << 20, &buf, &len);
    if (st == TP_ENOENT) return TP_OK;
    if (st != TP_OK) return st;
    char *text = buf;
    int cap = 0;
    JournalEntry *e = NULL;
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl) {
            *torn = 1; /* the last append was cut short: ignore it */
            break;
        }
        *nl = '\0';
        char *line = text + pos;
        pos = (size_t)(nl - text) + 1;
        lineno++;
        if (!*line) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            JournalEntry *ne = realloc(e, (size_t)cap * sizeof *e);
            if (!ne) {
                free(e);
                free(buf);
                *n = 0;
                return err_set(TP_ENOMEM, "%s: out of memory", path);
            }
            e = ne;
        }
        JournalEntry *j = &e[*n];
        memset(j, 0, sizeof *j);
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            char *t = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
            if (t) *t = '\0', f[k] = t + 1;
        }
        char *end;
        j->step = strtol(f[0], &end, 10);
        if (end == f[0] || *end || !f[1] || !f[2]) {
            free(e);
            free(buf);
            *n = 0; /* no partial result escapes a failed call */
            return err_set(TP_EFORMAT, "%s:%d: expected step<TAB>time<TAB>command<TAB>result", path, lineno);
        }
        snprintf(j->time, sizeof j->time, "%s", f[1]);
        snprintf(j->command, sizeof j->command, "%s", f[2]);
        snprintf(j->result, sizeof j->result, "%s", f[3] ? f[3] : "");
        (*n)++;
    }
    free(buf);
    *out = e;
    return TP_OK;
}
