/* base/paths: see paths.h. */
#include "base/paths.h"

#include <stdio.h>
#include <string.h>

TpStatus path_join(char *buf, size_t n, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    const char *sep = (dl == 0 || dir[dl - 1] == '/') ? "" : "/";
    int w = snprintf(buf, n, "%s%s%s", dir, sep, name);
    if (w < 0 || (size_t)w >= n)
        return err_set(TP_ERANGE, "path too long (%zu bytes at most): %s%s%s", n ? n - 1 : 0, dir, sep, name);
    return TP_OK;
}

const char *path_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
