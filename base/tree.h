/* base/tree: removing and inspecting directories without ever following a symlink.
 *
 * A session deletes snapshots, temp directories and replay outputs.  A symlink planted where one of those
 * was expected must not make topiary delete what it points to: tree_remove() works below an open
 * directory descriptor (openat with O_NOFOLLOW | O_DIRECTORY, unlinkat), so a symlink anywhere in the
 * tree, at the top included, is removed as a link and its target is never entered.  Bind mounts and
 * other file systems below the tree are not crossed (st_dev is checked), and the depth is bounded. */
#ifndef TP_TREE_H
#define TP_TREE_H

#include "base/status.h"

/* Remove 'path' and, when it is a real directory, everything below it.  A symlink (anywhere) is unlinked
 * itself, never followed.  A missing 'path' is fine (TP_OK).  Errors: TP_EIO naming the entry and the
 * errno text; TP_ERANGE for a tree deeper than 64 levels or on another file system. */
TpStatus tree_remove(const char *path);

/* *empty = 1 when 'path' is absent or an empty directory (a real one, not a symlink to one), 0 when it is
 * a directory with entries.  A symlink, a regular file or any other non-directory at 'path' is
 * TP_EINVAL ("... is not a directory"). */
TpStatus tree_dir_is_empty(const char *path, int *empty);

/* TP_OK when 'path' is absent or a real directory; a symlink or another kind of file is TP_EINVAL with
 * a message naming it ("<path> is a symlink; refusing to use it as a directory"). */
TpStatus tree_check_dir(const char *path);

#endif
