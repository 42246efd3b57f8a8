/* sessions/manifest: see manifest.h. */
#include "sessions/manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"

/* cJSON prints a double with 15 digits whenever that reads back within an epsilon, which can lose
 * the last bits; trainer state that must resume bit-exactly is written with 17 significant digits. */
void manifest_add_exact(cJSON *o, const char *k, double v)
{
    char b[40];
    snprintf(b, sizeof b, "%.17g", isfinite(v) ? v : 0.0);
    cJSON_AddRawToObject(o, k, b);
}

double manifest_num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* An integer field of `o` within lo..hi (absent: dflt). */
TpStatus manifest_int_in(const cJSON *o, const char *k, double lo, double hi, double dflt, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) {
        *out = dflt;
        return TP_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return err_set(TP_EFORMAT, "%s: expected an integer in %.0f..%.0f", k, lo, hi);
    *out = v->valuedouble;
    return TP_OK;
}

/* ---- the manifest's own CRC32 ------------------------------------------------------------------
 * The last top-level field, "manifest_crc32": "XXXXXXXX", holds the CRC32 (zlib) of the file's bytes
 * with those 8 hex digits read as "00000000".  Working on the bytes (not on a re-printed JSON) makes
 * the check independent of how a number or a string is printed.  The field is found as the last
 * occurrence of the key followed by ':' (inside a JSON string a '"' is escaped, so the key cannot
 * be matched there) and must be the value the parser sees. */

/* The 8 digits of the last MANIFEST_CRC_KEY field of text[0..len), or NULL. */
static char *crc_digits(char *text, size_t len)
{
    static const char key[] = "\"" MANIFEST_CRC_KEY "\":";
    char *hit = NULL;
    for (char *p = text; (size_t)(p - text) + sizeof key - 1 <= len; p++) {
        p = memchr(p, '"', len - (size_t)(p - text));
        if (!p || (size_t)(p - text) + sizeof key - 1 > len) break;
        if (!memcmp(p, key, sizeof key - 1)) hit = p;
    }
    if (!hit) return NULL;
    char *q = hit + sizeof key - 1, *end = text + len;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (end - q < 10 || q[0] != '"' || q[9] != '"') return NULL;
    return q + 1;
}

char *manifest_print(cJSON *man)
{
    cJSON_DeleteItemFromObjectCaseSensitive(man, MANIFEST_CRC_KEY);
    if (!cJSON_AddStringToObject(man, MANIFEST_CRC_KEY, "00000000")) return NULL;
    char *txt = cJSON_Print(man);
    char *d = txt ? crc_digits(txt, strlen(txt)) : NULL;
    if (!d) {
        free(txt);
        return NULL;
    }
    char hex[9];
    snprintf(hex, sizeof hex, "%08" PRIx32, fsutil_crc32(txt, strlen(txt)));
    memcpy(d, hex, 8);
    return txt;
}

TpStatus manifest_check_crc(char *text, size_t len, const cJSON *man, const char *path)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(man, MANIFEST_CRC_KEY);
    if (!f) return TP_OK; /* written before minor 1, or the field removed by hand: unchecked */
    char *d = crc_digits(text, len);
    if (!cJSON_IsString(f) || strlen(f->valuestring) != 8 || !d || memcmp(d, f->valuestring, 8))
        return err_set(TP_EFORMAT, "%s: \"%s\": expected 8 hex digits as the last field", path, MANIFEST_CRC_KEY);
    char want[9], hex[9];
    memcpy(want, d, 8);
    want[8] = '\0';
    memset(d, '0', 8);
    snprintf(hex, sizeof hex, "%08" PRIx32, fsutil_crc32(text, len));
    memcpy(d, want, 8);
    if (strcmp(hex, want))
        return err_set(TP_EFORMAT, "%s: CRC32 %s, its \"%s\" says %s (corrupted or edited; to keep a hand edit, "
                                   "delete the \"%s\" line)", path, hex, MANIFEST_CRC_KEY, want, MANIFEST_CRC_KEY);
    return TP_OK;
}

TpStatus manifest_add_file(cJSON *files, const char *dir, const char *name)
{
    char p[4200];
    uint32_t crc;
    uint64_t bytes;
    TpStatus st = path_join(p, sizeof p, dir, name);
    if (st == TP_OK) st = fsutil_crc32_file(p, &crc, &bytes);
    if (st != TP_OK) return st;
    cJSON *e = cJSON_AddObjectToObject(files, name);
    cJSON_AddNumberToObject(e, "bytes", (double)bytes);
    char hex[16];
    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    cJSON_AddStringToObject(e, "crc32", hex);
    return TP_OK;
}

static TpStatus match_file(const char *p, double bytes_want, const char *crc_want)
{
    uint32_t crc;
    uint64_t bytes;
    TpStatus st = fsutil_crc32_file(p, &crc, &bytes);
    if (st != TP_OK) return st;
    if ((double)bytes != bytes_want)
        return err_set(TP_EFORMAT, "%s: size %" PRIu64 " bytes, manifest says %.0f (truncated or replaced)", p, bytes,
                       bytes_want);
    char hex[16];
    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    if (strcmp(hex, crc_want) != 0)
        return err_set(TP_EFORMAT, "%s: CRC32 %s, manifest says %s (corrupted)", p, hex, crc_want);
    return TP_OK;
}

TpStatus manifest_check_file(const cJSON *files, const char *dir, const char *name, char *actual, size_t n_actual)
{
    char listed[128];
    snprintf(listed, sizeof listed, "%s", name);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(files, name);
    if (!e) {
        snprintf(listed, sizeof listed, "%s.new", name);
        e = cJSON_GetObjectItemCaseSensitive(files, listed);
    }
    const cJSON *b = e ? cJSON_GetObjectItemCaseSensitive(e, "bytes") : NULL;
    const cJSON *c = e ? cJSON_GetObjectItemCaseSensitive(e, "crc32") : NULL;
    if (!cJSON_IsNumber(b) || !cJSON_IsString(c))
        return err_set(TP_EFORMAT, "%s/manifest.json: files.%s: expected {bytes, crc32}", dir, name);
    /* For "X.new", X is a candidate too: the file may have been renamed already, or "X.new" may have
     * been rewritten since by a save that was interrupted before its commit. */
    int tries = strcmp(listed, name) ? 2 : 1;
    char p[4200], first_err[512] = "";
    TpStatus st = TP_OK, first_st = TP_OK;
    for (int i = 0; i < tries; i++) {
        path_join(p, sizeof p, dir, i == 0 ? listed : name);
        if (i == 0 && tries == 2 && !fsutil_exists(p)) continue;
        st = match_file(p, b->valuedouble, c->valuestring);
        if (st == TP_OK) {
            if (actual) snprintf(actual, n_actual, "%s", p);
            return TP_OK;
        }
        if (!first_err[0]) {
            first_st = st;
            snprintf(first_err, sizeof first_err, "%s", err_msg());
        }
    }
    return err_set(first_st, "%s", first_err);
}

/* A save interrupted after its commit leaves a manifest naming model.safetensors.new, and that file
 * holds the committed state.  This save is about to overwrite that name: give the committed file its
 * final name first (manifest_check_file still finds it there), or a second interruption would lose it. */
TpStatus manifest_read_json(const char *path, size_t max, cJSON **out)
{
    void *buf = NULL;
    size_t len;
    *out = NULL;
    TpStatus st = fsutil_read_file(path, max, &buf, &len);
    if (st != TP_OK) return st;
    *out = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!*out) return err_set(TP_EFORMAT, "%s: not valid JSON", path);
    return TP_OK;
}

TpStatus manifest_finish_interrupted_save(const char *dir)
{
    char p[4200], pn[4200], actual[4200];
    TpStatus st;
    if ((st = path_join(pn, sizeof pn, dir, "model.safetensors.new")) != TP_OK ||
        (st = path_join(p, sizeof p, dir, "manifest.json")) != TP_OK)
        return st;
    void *buf = NULL;
    size_t len;
    if (!fsutil_exists(pn) || fsutil_read_file(p, MANIFEST_MAX_BYTES, &buf, &len) != TP_OK) return TP_OK;
    cJSON *man = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(man, "files");
    if (cJSON_GetObjectItemCaseSensitive(files, "model.safetensors.new") &&
        manifest_check_file(files, dir, "model.safetensors", actual, sizeof actual) == TP_OK && !strcmp(actual, pn)) {
        st = path_join(p, sizeof p, dir, "model.safetensors");
        if (st == TP_OK && rename(pn, p) != 0) st = err_set(TP_EIO, "rename model.safetensors.new: %s", strerror(errno));
        else if (st == TP_OK) st = fsutil_fsync_dir(dir);
    }
    cJSON_Delete(man);
    return st;
}

/* Read and validate dir/manifest.json: format, version, files (size + CRC).  *man is the parsed
 * manifest; model_path gets the model file to load. */
TpStatus manifest_read(const char *dir, cJSON **out, char *model_path, size_t n)
{
    char p[4200];
    void *buf = NULL;
    size_t len;
    *out = NULL;
    TpStatus st = path_join(p, sizeof p, dir, "manifest.json");
    if (st != TP_OK) return st;
    /* the raw bytes, not manifest_read_json: the manifest's own CRC is over its text */
    st = fsutil_read_file(p, MANIFEST_MAX_BYTES, &buf, &len);
    if (st == TP_ENOENT) return err_set(TP_ENOENT, "%s: not a topiary session (no manifest.json)", dir);
    if (st != TP_OK) return st;
    cJSON *man = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(man)) {
        free(buf);
        cJSON_Delete(man);
        return err_set(TP_EFORMAT, "%s: not valid JSON", p);
    }
    st = manifest_check_crc(buf, len, man, p);
    free(buf);
    if (st != TP_OK) {
        cJSON_Delete(man);
        return st;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(man, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(man, "version");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(man, "files");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(man, "state");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, MANIFEST_FORMAT) != 0 || !cJSON_IsNumber(ver))
        st = err_set(TP_EFORMAT, "%s: not a topiary-session manifest (format/version missing)", p);
    else if (ver->valueint > MANIFEST_VERSION_MAJOR)
        st = err_set(TP_EFORMAT, "%s: format version %d is newer than this topiary (%d); upgrade topiary", p,
                     ver->valueint, MANIFEST_VERSION_MAJOR);
    else if (!cJSON_IsObject(files) || !cJSON_IsObject(state))
        st = err_set(TP_EFORMAT, "%s: files or state missing", p);
    else
        st = manifest_check_file(files, dir, "model.safetensors", model_path, n);
    if (st != TP_OK) {
        cJSON_Delete(man);
        return st;
    }
    *out = man;
    return TP_OK;
}

cJSON *manifest_new(const char *reason)
{
    cJSON *man = cJSON_CreateObject();
    if (!man) return NULL;
    cJSON_AddStringToObject(man, "format", MANIFEST_FORMAT);
    cJSON_AddNumberToObject(man, "version", MANIFEST_VERSION_MAJOR);
    cJSON_AddNumberToObject(man, "minor", MANIFEST_VERSION_MINOR);
    if (reason) cJSON_AddStringToObject(man, "reason", reason);
    return man;
}

TpStatus manifest_commit(cJSON *man, const char *dir)
{
    char p[4200], pn[4200];
    TpStatus st;
    if ((st = path_join(pn, sizeof pn, dir, "model.safetensors.new")) != TP_OK ||
        (st = path_join(p, sizeof p, dir, "model.safetensors")) != TP_OK) {
        cJSON_Delete(man);
        return err_wrap(st, "save %s: ", dir);
    }
    cJSON *files = cJSON_AddObjectToObject(man, "files");
    char vp[4200];
    path_join(vp, sizeof vp, dir, "vocab.json");
    if ((st = manifest_add_file(files, dir, "model.safetensors.new")) != TP_OK ||
        (fsutil_exists(vp) && (st = manifest_add_file(files, dir, "vocab.json")) != TP_OK)) {
        cJSON_Delete(man);
        return err_wrap(st, "save %s: ", dir);
    }
    path_join(vp, sizeof vp, dir, "manifest.json");
    for (int pass = 0; pass < 2; pass++) {
        char *txt = manifest_print(man);
        if (!txt) {
            cJSON_Delete(man);
            return err_set(TP_ENOMEM, "save: out of memory");
        }
        st = fsutil_write_atomic(vp, txt, strlen(txt));
        free(txt);
        if (st != TP_OK) break;
        if (pass == 1) break;
        /* committed; now give the model its final name and say so */
        if (rename(pn, p) != 0) {
            st = err_set(TP_EIO, "save %s: rename model.safetensors.new: %s", dir, strerror(errno));
            break;
        }
        if ((st = fsutil_fsync_dir(dir)) != TP_OK) break;
        cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(files, "model.safetensors.new");
        cJSON_AddItemToObject(files, "model.safetensors", e);
    }
    cJSON_Delete(man);
    return st == TP_OK ? TP_OK : err_wrap(st, "save %s: ", dir);
}

