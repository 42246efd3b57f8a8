/* base/tree: see tree.h. */
#include "base/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TREE_MAX_DEPTH 64

/* Remove the entry 'name' of the directory 'dfd' (device 'dev'), recursively; never follows symlinks. */
static TpStatus remove_at(int dfd, const char *name, const char *top, dev_t dev, int depth, int pass)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? TP_OK : err_set(TP_EIO, "remove %s: stat %s: %s", top, name, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
            return err_set(TP_EIO, "remove %s: unlink %s: %s", top, name, strerror(errno));
        return TP_OK;
    }
    if (st.st_dev != dev) return err_set(TP_ERANGE, "remove %s: %s is on another file system; not crossing", top, name);
    if (depth >= TREE_MAX_DEPTH) return err_set(TP_ERANGE, "remove %s: deeper than %d levels", top, TREE_MAX_DEPTH);
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return err_set(TP_EIO, "remove %s: open %s: %s", top, name, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_set(TP_EIO, "remove %s: opendir %s: %s", top, name, strerror(errno));
    }
    TpStatus rc = TP_OK;
    struct dirent *e;
    while (rc == TP_OK && (errno = 0, e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        rc = remove_at(fd, e->d_name, top, dev, depth + 1, 0);
    }
    if (rc == TP_OK && errno != 0) rc = err_set(TP_EIO, "remove %s: readdir %s: %s", top, name, strerror(errno));
    closedir(d);
    if (rc != TP_OK) return rc;
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return TP_OK;
    /* entries created meanwhile (or skipped by a listing that changed under us): one more pass */
    if (errno == ENOTEMPTY && pass < 3) return remove_at(dfd, name, top, dev, depth, pass + 1);
    return err_set(TP_EIO, "remove %s: rmdir %s: %s", top, name, strerror(errno));
}

TpStatus tree_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "remove %s: %s", path, strerror(errno));
    return remove_at(AT_FDCWD, path, path, st.st_dev, 0, 0);
}

TpStatus tree_check_dir(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "%s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode)) return err_set(TP_EINVAL, "%s is a symlink; refusing to use it as a directory", path);
    if (!S_ISDIR(st.st_mode)) return err_set(TP_EINVAL, "%s is not a directory", path);
    return TP_OK;
}

TpStatus tree_dir_is_empty(const char *path, int *empty)
{
    *empty = 0;
    TpStatus rc = tree_check_dir(path);
    if (rc != TP_OK) return rc;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *empty = 1;
            return TP_OK;
        }
        return err_set(TP_EIO, "%s: %s", path, strerror(errno));
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_set(TP_EIO, "%s: %s", path, strerror(errno));
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    *empty = n == 0;
    return TP_OK;
}
