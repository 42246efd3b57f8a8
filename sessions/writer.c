/* sessions/writer: see writer.h. */
#include "sessions/writer.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "base/tree.h"
#include "sessions/snapshot.h"

void writer_init(SessionWriter *w)
{
    w->lock.fd = -1;
    w->note[0] = '\0';
}

void writer_close(SessionWriter *w) { lock_release(&w->lock); }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && !strcmp(s + n - k, suffix);
}

/* "<name>.tmp.XXXXXX": the temp file of base/fsutil's atomic save (mkostemp's six letters or digits). */
static int is_atomic_temp(const char *name)
{
    size_t n = strlen(name);
    if (n < 12 || strncmp(name + n - 11, ".tmp.", 5)) return 0;
    for (size_t i = n - 6; i < n; i++)
        if (!isalnum((unsigned char)name[i])) return 0;
    return 1;
}

/* ---- checks ------------------------------------------------------------------------------------ */

static TpStatus refuse_link(const char *dir, const char *what)
{
    return err_set(TP_EINVAL, "%s/%s is a symlink; a session holds no symlinks, and topiary never follows one inside "
                   "a session (remove the link, or put the real file or directory there)", dir, what);
}

/* The entries 'names' of the directory dfd (shown as dir/prefix) must not be symlinks. */
static TpStatus check_names(int dfd, const char *dir, const char *prefix, const char *const *names)
{
    char what[600];
    for (int i = 0; names[i]; i++) {
        struct stat st;
        if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        snprintf(what, sizeof what, "%s%s", prefix, names[i]);
        if (S_ISLNK(st.st_mode)) return refuse_link(dir, what);
    }
    return TP_OK;
}

TpStatus writer_check(const char *dir)
{
    static const char *const TOP[] = {"manifest.json", "model.safetensors", "model.safetensors.new", "vocab.json",
                                      "journal.txt", "metrics.tsv", "latency.tsv", "lock", "snapshots", NULL};
    static const char *const SNAP[] = {"manifest.json", "model.safetensors", "model.safetensors.new", "vocab.json", NULL};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err_set(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", dir, strerror(errno));
    TpStatus st = check_names(fd, dir, "", TOP);
    int sfd = st == TP_OK ? openat(fd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    close(fd);
    if (st != TP_OK) return st;
    if (sfd < 0) {
        if (errno == ENOENT) return TP_OK;
        return err_set(errno == ENOTDIR ? TP_EINVAL : TP_EIO, "%s/snapshots: %s", dir, strerror(errno));
    }
    DIR *d = fdopendir(sfd);
    if (!d) {
        close(sfd);
        return err_set(TP_EIO, "%s/snapshots: %s", dir, strerror(errno));
    }
    struct dirent *e;
    char what[600];
    while (st == TP_OK && (e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] == '.' || ends_with(n, ".tmp") || ends_with(n, ".old")) continue; /* leftovers: writer_clean */
        struct stat sb;
        if (fstatat(dirfd(d), n, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
        snprintf(what, sizeof what, "snapshots/%s", n);
        if (S_ISLNK(sb.st_mode)) {
            st = refuse_link(dir, what);
        } else if (S_ISDIR(sb.st_mode)) {
            int nfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (nfd < 0) continue;
            snprintf(what, sizeof what, "snapshots/%s/", n);
            st = check_names(nfd, dir, what, SNAP);
            close(nfd);
        }
    }
    closedir(d);
    return st;
}

/* ---- leftovers --------------------------------------------------------------------------------- */

static TpStatus remove_in(const char *dir, const char *name, int *removed)
{
    char p[4400];
    TpStatus st = path_join(p, sizeof p, dir, name);
    if (st == TP_OK) st = tree_remove(p);
    if (st == TP_OK) (*removed)++;
    return st;
}

/* snapshots/: NAME.tmp removed; NAME.old renamed back to NAME when NAME is missing, else removed. */
static TpStatus clean_snapshots(const char *root, int *removed)
{
    if (tree_check_dir(root) != TP_OK) return TP_OK; /* not a real directory: writer_check refuses it */
    DIR *d = opendir(root);
    if (!d) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "%s: %s", root, strerror(errno));
    char names[64][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) /* collected first: the listing changes as they go */
        if (e->d_name[0] != '.' && (ends_with(e->d_name, ".tmp") || ends_with(e->d_name, ".old") || is_atomic_temp(e->d_name)))
            snprintf(names[n++], sizeof names[0], "%.255s", e->d_name);
    closedir(d);
    TpStatus st = TP_OK;
    for (int i = 0; i < n && st == TP_OK; i++) {
        if (ends_with(names[i], ".old")) {
            char old[4400], fin[4400];
            struct stat so, sf;
            if ((st = path_join(old, sizeof old, root, names[i])) != TP_OK) break;
            snprintf(fin, sizeof fin, "%.*s", (int)(strlen(old) - 4), old);
            if (lstat(old, &so) == 0 && S_ISDIR(so.st_mode) && lstat(fin, &sf) != 0 && errno == ENOENT) {
                if (rename(old, fin) != 0) st = err_set(TP_EIO, "recover %s: %s", fin, strerror(errno));
                else (*removed)++;
                continue;
            }
        }
        st = remove_in(root, names[i], removed);
    }
    if (st == TP_OK && n) st = fsutil_fsync_dir(root);
    return st;
}

TpStatus writer_clean(const char *dir, int *removed)
{
    int dummy = 0;
    if (!removed) removed = &dummy;
    *removed = 0;
    DIR *d = opendir(dir);
    if (!d) return err_set(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", dir, strerror(errno));
    char names[64][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (is_atomic_temp(e->d_name)) snprintf(names[n++], sizeof names[0], "%.255s", e->d_name);
    closedir(d);
    TpStatus st = TP_OK;
    for (int i = 0; i < n && st == TP_OK; i++) st = remove_in(dir, names[i], removed);
    char root[4200];
    if (st == TP_OK) st = path_join(root, sizeof root, dir, "snapshots");
    if (st == TP_OK) st = clean_snapshots(root, removed);
    return st == TP_OK ? TP_OK : err_wrap(st, "cleaning up %s: ", dir);
}

/* ---- open and create ---------------------------------------------------------------------------- */

TpStatus writer_open(SessionWriter *w, Session *s, const char *dir, const char *data_override, const char *command)
{
    writer_init(w);
    TpStatus st = lock_acquire(&w->lock, dir, command, w->note, sizeof w->note);
    if (st != TP_OK) return st;
    if ((st = writer_check(dir)) == TP_OK && (st = writer_clean(dir, NULL)) == TP_OK)
        st = session_open(s, dir, data_override);
    if (st == TP_OK) {
        /* a writer's first step: the journal lines and undo snapshots a crash left uncommitted go */
        char note[512];
        if ((st = snapshot_recover(s, note, sizeof note)) != TP_OK) {
            session_free(s);
        } else if (note[0]) {
            size_t used = strlen(w->note);
            snprintf(w->note + used, sizeof w->note - used, "%s%s", used ? "; " : "", note);
        }
    }
    if (st != TP_OK) writer_close(w);
    return st;
}

TpStatus writer_claim_dir(SessionWriter *w, const char *dir, const char *command)
{
    writer_init(w);
    TpStatus st = session_check_new_dir(dir);
    if (st == TP_OK) st = fsutil_mkdir_p(dir);
    if (st == TP_OK) st = lock_acquire(&w->lock, dir, command, w->note, sizeof w->note);
    if (st != TP_OK) return st;
    /* another creator may have been quicker between the check and the lock */
    if ((st = session_check_new_dir(dir)) != TP_OK) writer_close(w);
    return st;
}

/* Remove what a failed creation wrote into dir (it held nothing but maybe a lock file before). */
static void undo_creation(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char names[64][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "lock"))
            snprintf(names[n++], sizeof names[0], "%.255s", e->d_name);
    closedir(d);
    int removed = 0;
    for (int i = 0; i < n; i++) remove_in(dir, names[i], &removed);
}

TpStatus writer_create_commit(SessionWriter *w, Session *s, const char *command)
{
    TpStatus st = writer_claim_dir(w, s->dir, command);
    if (st != TP_OK) {
        session_free(s);
        return st;
    }
    if ((st = session_create_write(s)) == TP_OK && (st = snapshot_take_initial(s)) == TP_OK) return TP_OK;
    char keep[512];
    snprintf(keep, sizeof keep, "%s", err_msg());
    undo_creation(s->dir);
    session_free(s);
    writer_close(w);
    return err_set(st, "%s", keep);
}

TpStatus writer_create(SessionWriter *w, Session *s, const char *dir, const Task *task, const char *command)
{
    writer_init(w);
    TpStatus st = session_create_prepare(s, dir, task);
    return st == TP_OK ? writer_create_commit(w, s, command) : st;
}
