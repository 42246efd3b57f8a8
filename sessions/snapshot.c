/* sessions/snapshot: see snapshot.h. */
#include "snapshot.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/tree.h"

TpStatus snapshot_name_check(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 48 || name[0] == '-' || name[0] == '.')
        return err_set(TP_EINVAL, "snapshot name '%s': expected 1-48 characters of letters, digits, - and _", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return err_set(TP_EINVAL, "snapshot name '%s': '%c' not allowed (letters, digits, - and _)", name, c);
    }
    return TP_OK;
}

/* Remove a snapshot directory: renamed to NAME.tmp first, so that a kill midway leaves no half-removed
 * snapshot under its name (the next writer removes NAME.tmp: sessions/writer), then removed without
 * ever following a symlink (base/tree), the top included. */
static TpStatus remove_flat_dir(const char *dir)
{
    size_t n = strlen(dir);
    if (n > 4 && (!strcmp(dir + n - 4, ".tmp") || !strcmp(dir + n - 4, ".old"))) return tree_remove(dir);
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    TpStatus st = tree_remove(tmp);
    if (st != TP_OK) return st;
    if (rename(dir, tmp) != 0) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "remove %s: %s", dir, strerror(errno));
    return tree_remove(tmp);
}

static int lexists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Put the complete snapshot tmp in the place of fin.  When fin exists the two are swapped atomically
 * (RENAME_EXCHANGE) and the old one, now at tmp, is removed: fin always names a complete snapshot.
 * A file system without the exchange gets two renames (fin -> old, tmp -> fin); a kill between them
 * leaves old without fin, which the next writer renames back (sessions/writer). */
static TpStatus publish_snapshot(const char *root, const char *tmp, const char *fin, const char *old)
{
    TpStatus st;
    if (!lexists(fin)) {
        if (rename(tmp, fin) != 0) return err_set(TP_EIO, "rename %s: %s", fin, strerror(errno));
        return fsutil_fsync_dir(root);
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, fin, RENAME_EXCHANGE) == 0) {
        if ((st = fsutil_fsync_dir(root)) != TP_OK) return st;
        return tree_remove(tmp);
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return err_set(TP_EIO, "rename %s: %s", fin, strerror(errno));
    if ((st = tree_remove(old)) != TP_OK) return st;
    if (rename(fin, old) != 0) return err_set(TP_EIO, "rename %s: %s", fin, strerror(errno));
    if (rename(tmp, fin) != 0) return err_set(TP_EIO, "rename %s: %s", fin, strerror(errno));
    if ((st = fsutil_fsync_dir(root)) != TP_OK) return st;
    return tree_remove(old);
}

static TpStatus write_snapshot(const Session *s, const char *name, const char *reason)
{
    char root[4200], tmp[4300], fin[4300], old[4300];
    snprintf(root, sizeof root, "%s/snapshots", s->dir);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", root, name);
    snprintf(fin, sizeof fin, "%s/%s", root, name);
    snprintf(old, sizeof old, "%s/%s.old", root, name);
    TpStatus st;
    /* snapshots/ is written into only as a real directory of the session, never through a symlink */
    if ((st = tree_check_dir(root)) != TP_OK) return err_wrap(st, "snapshot %s: ", name);
    if ((st = remove_flat_dir(tmp)) != TP_OK || (st = fsutil_mkdir_p(tmp)) != TP_OK) return st;
    /* a snapshot is a complete session directory: it can be opened, exported or replayed alone */
    char vsrc[4300], vdst[4400];
    snprintf(vsrc, sizeof vsrc, "%s/vocab.json", s->dir);
    snprintf(vdst, sizeof vdst, "%s/vocab.json", tmp);
    if ((st = fsutil_copy_file(vsrc, vdst)) != TP_OK) {
        remove_flat_dir(tmp);
        return err_wrap(st, "snapshot %s: ", name);
    }
    /* the logs as they were, so that undo and redo can put them back (snapshot_restore_logs) */
    static const char *const logs[] = {"metrics.tsv", "events.tsv"};
    for (int i = 0; i < 2; i++) {
        snprintf(vsrc, sizeof vsrc, "%s/%s", s->dir, logs[i]);
        snprintf(vdst, sizeof vdst, "%s/%s", tmp, logs[i]);
        if (fsutil_exists(vsrc) && (st = fsutil_copy_file(vsrc, vdst)) != TP_OK) {
            remove_flat_dir(tmp);
            return err_wrap(st, "snapshot %s: ", name);
        }
    }
    if ((st = session_write_state(s, tmp, reason)) != TP_OK) {
        remove_flat_dir(tmp);
        return err_wrap(st, "snapshot %s: ", name);
    }
    if ((st = publish_snapshot(root, tmp, fin, old)) != TP_OK) return err_wrap(st, "snapshot %s: ", name);
    return TP_OK;
}

TpStatus snapshot_take(const Session *s, const char *name)
{
    TpStatus st = snapshot_name_check(name);
    if (st != TP_OK) return st;
    if (!strncmp(name, "undo-", 5))
        return err_set(TP_EINVAL, "snapshot name '%s': names starting with undo- are reserved", name);
    if (!strcmp(name, "initial"))
        return err_set(TP_EINVAL, "snapshot name 'initial' is reserved: it is the state at creation, where replay "
                       "starts (restore name=initial still works; pick another name)");
    return write_snapshot(s, name, "snapshot");
}

TpStatus snapshot_take_initial(const Session *s) { return write_snapshot(s, "initial", "created"); }

static int cmp_info(const void *a, const void *b)
{
    const SnapshotInfo *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    /* undo-N sort numerically among themselves */
    if (!strncmp(x->name, "undo-", 5) && !strncmp(y->name, "undo-", 5)) {
        long p = atol(x->name + 5), q = atol(y->name + 5);
        return p < q ? -1 : p > q;
    }
    return strcmp(x->name, y->name);
}

static void read_info(const char *root, const char *name, SnapshotInfo *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);
    info->valid_ppl = NAN;
    info->journal_bytes = -1;
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/manifest.json", root, name);
    void *buf = NULL;
    size_t len;
    struct stat stt;
    if (stat(p, &stt) == 0) info->bytes += (uint64_t)stt.st_size;
    if (fsutil_read_file(p, 16u << 20, &buf, &len) == TP_OK) {
        cJSON *m = cJSON_ParseWithLength(buf, len);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "state");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "step");
        if (cJSON_IsNumber(v)) info->step = (long)v->valuedouble;
        v = cJSON_GetObjectItemCaseSensitive(st, "valid_ppl");
        if (cJSON_IsNumber(v) && v->valuedouble >= 0) info->valid_ppl = v->valuedouble;
        v = cJSON_GetObjectItemCaseSensitive(m, "reason");
        if (cJSON_IsString(v)) snprintf(info->reason, sizeof info->reason, "%s", v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "commit"), "journal_bytes");
        if (cJSON_IsNumber(v) && v->valuedouble >= 0) info->journal_bytes = (long)v->valuedouble;
        cJSON_Delete(m);
        free(buf);
    }
    snprintf(p, sizeof p, "%s/%s/model.safetensors", root, name);
    if (stat(p, &stt) == 0) info->bytes += (uint64_t)stt.st_size;
}

TpStatus snapshot_list(const char *session_dir, SnapshotInfo *out, int max, int *n)
{
    char root[4200];
    snprintf(root, sizeof root, "%s/snapshots", session_dir);
    *n = 0;
    DIR *d = opendir(root);
    if (!d) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "%s: %s", root, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) && *n < max) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (nm[0] == '.' || (len > 4 && !strcmp(nm + len - 4, ".tmp")) || (len > 4 && !strcmp(nm + len - 4, ".old")))
            continue;
        read_info(root, nm, &out[(*n)++]);
    }
    closedir(d);
    qsort(out, (size_t)*n, sizeof *out, cmp_info);
    return TP_OK;
}

/* PREFIX<seq> names present ("undo-", "redo-"), newest last */
static int seq_list(const char *dir, const char *prefix, long *seqs, int max)
{
    SnapshotInfo all[256];
    int n = 0, k = 0;
    size_t pl = strlen(prefix);
    if (snapshot_list(dir, all, 256, &n) != TP_OK) return 0;
    for (int i = 0; i < n && k < max; i++)
        if (!strncmp(all[i].name, prefix, pl)) seqs[k++] = atol(all[i].name + pl);
    for (int i = 1; i < k; i++) /* insertion sort by sequence number */
        for (int j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
            long t = seqs[j];
            seqs[j] = seqs[j - 1];
            seqs[j - 1] = t;
        }
    return k;
}

static int undo_list(const char *dir, long *seqs, int max) { return seq_list(dir, "undo-", seqs, max); }

TpStatus snapshot_take_undo(const Session *s, const char *reason)
{
    long seqs[256];
    int k = undo_list(s->dir, seqs, 256);
    char name[64], r[160];
    snprintf(name, sizeof name, "undo-%ld", k ? seqs[k - 1] + 1 : 1);
    snprintf(r, sizeof r, "%s", reason ? reason : "");
    TpStatus st = write_snapshot(s, name, r);
    if (st != TP_OK) return st;
    /* keep the ring bounded: drop the oldest beyond the depth */
    for (int i = 0; i + SNAPSHOT_UNDO_DEPTH < k + 1; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/snapshots/undo-%ld", s->dir, seqs[i]);
        remove_flat_dir(p);
    }
    return TP_OK;
}

TpStatus snapshot_drop_newest_undo(const Session *s)
{
    long seqs[256];
    int k = undo_list(s->dir, seqs, 256);
    if (k == 0) return TP_OK;
    char p[4300];
    snprintf(p, sizeof p, "%s/snapshots/undo-%ld", s->dir, seqs[k - 1]);
    return remove_flat_dir(p);
}

TpStatus snapshot_restore(Session *s, const char *name)
{
    TpStatus st = snapshot_name_check(name);
    if (st != TP_OK) return st;
    char p[4300];
    snprintf(p, sizeof p, "%s/snapshots/%s", s->dir, name);
    if (!fsutil_exists(p)) return err_set(TP_ENOENT, "no snapshot named '%s' (see 'snapshots')", name);
    return session_read_state(s, p);
}

TpStatus snapshot_undo(Session *s, char *what, size_t n)
{
    long seqs[256];
    int k = undo_list(s->dir, seqs, 256);
    if (!k) return err_set(TP_ENOENT, "nothing to undo (no undo snapshots)");
    char name[64], root[4200];
    snprintf(name, sizeof name, "undo-%ld", seqs[k - 1]);
    snprintf(root, sizeof root, "%s/snapshots", s->dir);
    SnapshotInfo info;
    read_info(root, name, &info);
    /* the state undone becomes a redo point (named after the command it redoes) */
    long rseq[256];
    int rk = seq_list(s->dir, "redo-", rseq, 256);
    char redo[64];
    snprintf(redo, sizeof redo, "redo-%ld", rk ? rseq[rk - 1] + 1 : 1);
    TpStatus st = write_snapshot(s, redo, info.reason[0] ? info.reason : name);
    if (st == TP_OK) st = snapshot_restore(s, name);
    if (st != TP_OK) return st;
    snprintf(what, n, "%s", info.reason[0] ? info.reason : name);
    /* removed only once the restored state is saved (snapshot_drop_undone): see snapshot.h */
    snprintf(s->undo_dropped, sizeof s->undo_dropped, "%s", name);
    return TP_OK;
}

TpStatus snapshot_drop_undone(Session *s)
{
    if (!s->undo_dropped[0]) return TP_OK;
    char p[4300];
    snprintf(p, sizeof p, "%s/snapshots/%s", s->dir, s->undo_dropped);
    TpStatus st = remove_flat_dir(p);
    if (st == TP_OK) s->undo_dropped[0] = '\0';
    return st;
}

TpStatus snapshot_recover(Session *s, char *note, size_t n)
{
    if (note && n) note[0] = '\0';
    if (s->journal_recovered) return TP_OK;
    int lines = 0, dropped = 0;
    TpStatus st = session_recover_journal(s, &lines);
    if (st != TP_OK) return st;
    long committed = s->journal_committed;
    if (committed >= 0) {
        SnapshotInfo all[256];
        int k = 0;
        if ((st = snapshot_list(s->dir, all, 256, &k)) != TP_OK) return st;
        for (int i = 0; i < k && st == TP_OK; i++) {
            if (strncmp(all[i].name, "undo-", 5) && strncmp(all[i].name, "redo-", 5)) continue;
            if (all[i].journal_bytes >= committed || !strcmp(all[i].name, s->undo_dropped)) {
                char p[4400];
                snprintf(p, sizeof p, "%.4095s/snapshots/%.63s", s->dir, all[i].name);
                st = remove_flat_dir(p);
                dropped++;
            }
        }
    }
    if (st == TP_OK) s->undo_dropped[0] = '\0';
    if (note && n && (lines || dropped))
        snprintf(note, n, "%s: recovered from an interrupted run: %d journal line(s) of unsaved work cut, %d undo "
                 "snapshot(s) dropped", s->dir, lines, dropped);
    return st;
}

TpStatus snapshot_newest(const char *dir, const char *prefix, SnapshotInfo *info)
{
    long seqs[256];
    int k = seq_list(dir, prefix, seqs, 256);
    if (!k) return err_set(TP_ENOENT, "no %s snapshot", prefix);
    char name[64], root[4200];
    snprintf(name, sizeof name, "%s%ld", prefix, seqs[k - 1]);
    snprintf(root, sizeof root, "%s/snapshots", dir);
    read_info(root, name, info);
    return TP_OK;
}

TpStatus snapshot_redo(Session *s, char *what, size_t n)
{
    SnapshotInfo info;
    if (snapshot_newest(s->dir, "redo-", &info) != TP_OK)
        return err_set(TP_ENOENT, "nothing to redo (redo follows an undo, before any other change)");
    /* the state before the redone command is an undo point again */
    TpStatus st = snapshot_take_undo(s, info.reason);
    if (st == TP_OK) st = snapshot_restore(s, info.name);
    if (st != TP_OK) return st;
    snprintf(what, n, "%s", info.reason[0] ? info.reason : info.name);
    snprintf(s->undo_dropped, sizeof s->undo_dropped, "%s", info.name); /* removed after the save, as undo's */
    return TP_OK;
}

TpStatus snapshot_drop_redo(Session *s)
{
    long seqs[256];
    int k = seq_list(s->dir, "redo-", seqs, 256);
    TpStatus st = TP_OK;
    for (int i = 0; i < k && st == TP_OK; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/snapshots/redo-%ld", s->dir, seqs[i]);
        st = remove_flat_dir(p);
    }
    return st;
}

/* Rows of a .tsv text whose first field (the step) is at most `step`; the header stays. */
static TpStatus cut_rows(const char *path, long step)
{
    void *buf = NULL;
    size_t len = 0;
    TpStatus st = fsutil_read_file(path, 256u << 20, &buf, &len);
    if (st == TP_ENOENT) return TP_OK;
    if (st != TP_OK) return st;
    char *text = buf, *out = malloc(len + 1);
    size_t o = 0;
    if (!out) {
        free(buf);
        return err_set(TP_ENOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0, line = 0; i < len; line++) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        if (e == len) break; /* a torn last line goes */
        if (!line || strtol(text + i, NULL, 10) <= step) memcpy(out + o, text + i, e + 1 - i), o += e + 1 - i;
        i = e + 1;
    }
    st = fsutil_write_atomic(path, out, o);
    free(out);
    free(buf);
    return st;
}

TpStatus snapshot_restore_logs(Session *s, const char *name)
{
    static const char *const logs[] = {"metrics.tsv", "events.tsv"};
    TpStatus st = TP_OK;
    for (int i = 0; i < 2 && st == TP_OK; i++) {
        char kept[4400], cur[4400];
        snprintf(kept, sizeof kept, "%s/snapshots/%s/%s", s->dir, name, logs[i]);
        snprintf(cur, sizeof cur, "%s/%s", s->dir, logs[i]);
        if (fsutil_exists(kept)) {
            /* base/fsutil's atomic save: the log is replaced whole or not at all */
            void *buf = NULL;
            size_t len = 0;
            st = fsutil_read_file(kept, 256u << 20, &buf, &len);
            if (st == TP_OK) st = fsutil_write_atomic(cur, buf, len);
            free(buf);
        } else if (!strcmp(logs[i], "events.tsv")) {
            /* a snapshot without events.tsv: the session had no event yet when it was taken (an older
             * topiary wrote none at all) */
            if (unlink(cur) != 0 && errno != ENOENT) st = err_set(TP_EIO, "remove %s: %s", cur, strerror(errno));
            else st = fsutil_fsync_dir(s->dir);
        } else {
            st = cut_rows(cur, s->trainer.step); /* an older snapshot without its logs */
        }
    }
    return st == TP_OK ? st : err_wrap(st, "undo: logs: ");
}
