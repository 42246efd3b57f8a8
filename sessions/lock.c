/* sessions/lock: see lock.h. */
#include "sessions/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/paths.h"

static int open_lock_file(const char *dir, int create, char *path, size_t path_n)
{
    if (path_join(path, path_n, dir, "lock") != TP_OK) return -2;
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* The holder text in the file (trimmed), "" if none. */
static void read_holder(int fd, char *buf, size_t n)
{
    buf[0] = '\0';
    if (n < 2) return;
    ssize_t k = pread(fd, buf, n - 1, 0);
    if (k <= 0) return;
    buf[k] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
}

TpStatus lock_acquire(SessionLock *l, const char *dir, const char *command, char *note, size_t note_n)
{
    char path[4200];
    l->fd = -1;
    if (note && note_n) note[0] = '\0';
    int fd = open_lock_file(dir, 1, path, sizeof path);
    if (fd == -2) return err_wrap(TP_ERANGE, "lock: ");
    if (fd < 0) {
        if (errno == ELOOP) return err_set(TP_EINVAL, "%s is a symlink; refusing to use it as the session lock", path);
        if (errno == EINVAL) return err_set(TP_EINVAL, "%s is not a regular file; refusing to use it as the session lock", path);
        return err_set(TP_EIO, "lock %s: %s", path, strerror(errno));
    }
    char holder[512];
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        read_holder(fd, holder, sizeof holder);
        close(fd);
        if (e == EWOULDBLOCK)
            return err_set(TP_EBUSY, "session %s is in use by %s; close that first (one writer per session)", dir,
                           holder[0] ? holder : "another process");
        return err_set(TP_EIO, "lock %s: %s", path, strerror(e));
    }
    read_holder(fd, holder, sizeof holder);
    if (holder[0] && note && note_n) snprintf(note, note_n, "took over the session lock left by %s (no longer running)", holder);
    char text[512];
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int w = snprintf(text, sizeof text, "pid %ld, %s, since %s\n", (long)getpid(), command, when);
    if (w < 0 || (size_t)w >= sizeof text) w = (int)strlen(text);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)w, 0) != (ssize_t)w) {
        int e = errno;
        close(fd);
        return err_set(TP_EIO, "lock %s: write: %s", path, strerror(e));
    }
    l->fd = fd;
    return TP_OK;
}

void lock_release(SessionLock *l)
{
    if (l->fd < 0) return;
    if (ftruncate(l->fd, 0) != 0) { /* the text is only a note; the lock itself goes with close() */
    }
    close(l->fd);
    l->fd = -1;
}

int lock_is_held(const char *dir, char *holder, size_t holder_n)
{
    char path[4200];
    if (holder && holder_n) holder[0] = '\0';
    int fd = open_lock_file(dir, 0, path, sizeof path);
    if (fd < 0) return 0;
    int held = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        held = errno == EWOULDBLOCK;
        if (held && holder && holder_n) read_holder(fd, holder, holder_n);
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return held;
}
