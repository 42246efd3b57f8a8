/* sessions/exportsum: see exportsum.h. */
#include "sessions/exportsum.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "sessions/manifest.h"

TpStatus exportsum_write(const char *dir, const char *const *names, int n)
{
    char p[4200];
    TpStatus st = TP_OK;
    cJSON *j = cJSON_CreateObject();
    cJSON *files = j ? cJSON_AddObjectToObject(j, "files") : NULL;
    if (!files) {
        cJSON_Delete(j);
        return err_set(TP_ENOMEM, "%s: out of memory", EXPORTSUM_FILE);
    }
    cJSON_AddStringToObject(j, "format", EXPORTSUM_FORMAT);
    cJSON_AddNumberToObject(j, "version", 1);
    for (int i = 0; i < n && st == TP_OK; i++) {
        if ((st = path_join(p, sizeof p, dir, names[i])) != TP_OK) break;
        if (fsutil_exists(p)) st = manifest_add_file(files, dir, names[i]);
    }
    char *txt = st == TP_OK ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (st != TP_OK) return st;
    if (!txt) return err_set(TP_ENOMEM, "%s: out of memory", EXPORTSUM_FILE);
    if ((st = path_join(p, sizeof p, dir, EXPORTSUM_FILE)) == TP_OK) st = fsutil_write_atomic(p, txt, strlen(txt));
    free(txt);
    return st;
}

/* A plain file name of the directory itself: never a path out of it. */
static int plain_name(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") && strlen(s) < 256;
}

static TpStatus check_one(const char *dir, const char *sums, const cJSON *e, int optional)
{
    char p[4200];
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "bytes");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "crc32");
    if (!plain_name(e->string))
        return err_set(TP_EFORMAT, "%s: \"%s\" is not a file name of the export directory", sums, e->string);
    if (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 9.0e15 || b->valuedouble != floor(b->valuedouble) ||
        !cJSON_IsString(c) || strlen(c->valuestring) != 8 || strspn(c->valuestring, "0123456789abcdef") != 8)
        return err_set(TP_EFORMAT, "%s: files.%s: expected {\"bytes\": N, \"crc32\": 8 hex digits}", sums, e->string);
    TpStatus st = path_join(p, sizeof p, dir, e->string);
    uint32_t crc;
    uint64_t bytes;
    if (st == TP_OK) st = fsutil_crc32_file(p, &crc, &bytes);
    if (st == TP_ENOENT && optional) {
        err_clear();
        return TP_OK;
    }
    if (st == TP_ENOENT) return err_set(TP_EFORMAT, "%s: missing (listed in %s)", p, EXPORTSUM_FILE);
    if (st != TP_OK) return st;
    if ((double)bytes != b->valuedouble)
        return err_set(TP_EFORMAT, "%s: %" PRIu64 " bytes, %s says %.0f (truncated or replaced)", p, bytes,
                       EXPORTSUM_FILE, b->valuedouble);
    char hex[16];
    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    if (strcmp(hex, c->valuestring))
        return err_set(TP_EFORMAT, "%s: CRC32 %s, %s says %s (modified or corrupted)", p, hex, EXPORTSUM_FILE,
                       c->valuestring);
    return TP_OK;
}

TpStatus exportsum_check(const char *dir, const char *const *names, int n, int n_mandatory, int *checked)
{
    char sums[4200], p[4200];
    void *buf = NULL;
    size_t len;
    *checked = 0;
    TpStatus st = path_join(sums, sizeof sums, dir, EXPORTSUM_FILE);
    if (st != TP_OK) return st;
    st = fsutil_read_file(sums, EXPORTSUM_MAX_BYTES, &buf, &len);
    if (st == TP_ENOENT) {
        err_clear();
        return TP_OK;
    }
    if (st != TP_OK) return st;
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, EXPORTSUM_FORMAT) || !cJSON_IsNumber(ver) ||
        !cJSON_IsObject(files))
        st = err_set(TP_EFORMAT, "%s: not a %s file (format, version, files expected)", sums, EXPORTSUM_FORMAT);
    else if (ver->valuedouble > 1)
        st = err_set(TP_EFORMAT, "%s: version %.0f is newer than this topiary (1); upgrade topiary", sums,
                     ver->valuedouble);
    for (const cJSON *e = files ? files->child : NULL; e && st == TP_OK; e = e->next) {
        int optional = 0;
        for (int i = n_mandatory; i < n && !optional; i++) optional = e->string && !strcmp(e->string, names[i]);
        st = check_one(dir, sums, e, optional);
    }
    for (int i = 0; i < n && st == TP_OK; i++) {
        if ((st = path_join(p, sizeof p, dir, names[i])) != TP_OK) break;
        if (fsutil_exists(p) && !cJSON_GetObjectItemCaseSensitive(files, names[i]))
            st = err_set(TP_EFORMAT, "%s: not listed in %s (added after the export?)", p, EXPORTSUM_FILE);
    }
    cJSON_Delete(j);
    if (st == TP_OK) *checked = 1;
    return st;
}
