/* sessions/export: see export.h. */
#include "export.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "engine/backend.h"
#include "engine/compact.h"
#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "sessions/exportsum.h"
#include "sessions/manifest.h"
#include "sessions/modelio.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define VOCAB_MAX_BYTES (1u << 30)
#define IMPLIES "config.json implies"

/* ==== write ===================================================================================== */

static cJSON *config_json(const Session *s)
{
    const Model *m = &s->model;
    const ModelConfig *c = &m->cfg;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", EXPORT_FORMAT);
    cJSON_AddNumberToObject(j, "version", EXPORT_VERSION_MAJOR);
    cJSON_AddNumberToObject(j, "minor", EXPORT_VERSION_MINOR);
    cJSON_AddNumberToObject(j, "vocab", c->n_vocab);
    cJSON_AddNumberToObject(j, "embed", c->n_embed);
    cJSON_AddNumberToObject(j, "layers", c->n_layers);
    cJSON *h = cJSON_AddArrayToObject(j, "hidden");
    for (int l = 0; l < c->n_layers; l++) cJSON_AddItemToArray(h, cJSON_CreateNumber(c->hidden[l]));
    cJSON_AddStringToObject(j, "cell", c->cell == MODEL_CELL_HLSTM ? "hlstm" : "lstm");
    cJSON_AddNumberToObject(j, "gate_hidden", c->cell == MODEL_CELL_HLSTM ? c->gate_hidden : 0);
    cJSON_AddStringToObject(j, "gate_order", "ifgo");
    if (!task_is_asr(&s->task)) cJSON_AddNumberToObject(j, "tie", c->tie); /* 1: decoder.weight IS embed.weight */
    if (task_is_asr(&s->task)) { /* the speech model (export_asr.c) */
        cJSON_AddStringToObject(j, "kind", "an4");
        cJSON_AddNumberToObject(j, "n_feat", c->n_feat);
        cJSON *cv = cJSON_AddArrayToObject(j, "conv");
        for (int k = 0; k < c->n_conv; k++) {
            const ModelConvLayer *L = &c->conv[k];
            int v[7] = {L->filters, L->kt, L->kf, L->st, L->sf, L->pt, L->pf};
            cJSON_AddItemToArray(cv, cJSON_CreateIntArray(v, 7));
        }
        cJSON_AddNumberToObject(j, "blank", 0);
        cJSON_AddNumberToObject(j, "conv_clip", 20);
    }
    /* the task as it is now: its model part is the live architecture (resizes included), and the
     * data path absolute so that `eval --model` works from any directory */
    Task t = s->task;
    t.model = *c;
    char abs[PATH_MAX];
    if (t.data[0] && realpath(t.data, abs) && strlen(abs) < sizeof t.data) snprintf(t.data, sizeof t.data, "%s", abs);
    cJSON_AddItemToObject(j, "task", task_to_json(&t));
    SessionMetrics sm;
    session_metrics_now(s, &sm);
    cJSON *mt = cJSON_AddObjectToObject(j, "metrics");
    cJSON_AddNumberToObject(mt, "step", (double)sm.step);
    cJSON_AddNumberToObject(mt, "epoch", sm.epoch);
    if (isfinite(s->valid_ppl)) cJSON_AddNumberToObject(mt, "valid_ppl", s->valid_ppl);
    else cJSON_AddNullToObject(mt, "valid_ppl");
    if (task_is_asr(&s->task) && isfinite(s->valid_wer)) {
        cJSON_AddNumberToObject(mt, "valid_wer", s->valid_wer);
        cJSON_AddNumberToObject(mt, "valid_cer", s->valid_cer);
    }
    cJSON_AddNumberToObject(mt, "nnz", (double)sm.nnz);
    cJSON_AddNumberToObject(mt, "params", (double)sm.params);
    cJSON_AddNumberToObject(mt, "sparsity", sm.sparsity);
    return j;
}

static TpStatus write_model(const Model *m, const ExportTensor *t, int n, const char *meta, const char *path)
{
    SafetensorsWriter *w = safetensors_writer_new();
    if (!w) return err_set(TP_ENOMEM, "export: out of memory");
    TpStatus st = TP_OK;
    for (int pass = 0; pass < 2 && st == TP_OK; pass++) /* weights, then masks */
        for (int i = 0; i < n && st == TP_OK; i++) {
            const ModelParam *p = &m->p[t[i].param];
            size_t at = p->off + (size_t)t[i].row0 * (size_t)t[i].cols;
            int64_t shape[2] = {t[i].rows, t[i].cols};
            char name[80];
            snprintf(name, sizeof name, "%s%.63s", pass ? "mask." : "", t[i].name);
            st = pass ? safetensors_writer_add(w, name, SAFETENSORS_U8, t[i].ndim, shape, m->mask + at)
                      : safetensors_writer_add(w, name, SAFETENSORS_F32, t[i].ndim, shape, m->w + at);
        }
    if (st == TP_OK) st = safetensors_writer_meta(w, "topiary", meta);
    if (st == TP_OK) st = safetensors_writer_save(w, path);
    safetensors_writer_delete(w);
    return st;
}

/* A file an export writes, or the temp file of one (fsutil: "<name>.tmp.XXXXXX"). */
static int is_export_file(const char *name)
{
    for (size_t i = 0; i < EXPORT_N_FILES; i++) {
        size_t len = strlen(EXPORT_FILES[i]);
        if (!strncmp(name, EXPORT_FILES[i], len) && (name[len] == '\0' || !strncmp(name + len, ".tmp.", 5))) return 1;
    }
    return 0;
}

/* The target must be new, empty, a previous export, or hold only export files (an interrupted one). */
static TpStatus check_outdir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno == ENOENT) return TP_OK;
        return err_set(TP_EIO, "export: %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) return err_set(TP_EINVAL, "export: %s exists and is not a directory", dir);
    if (session_exists(dir))
        return err_set(TP_EINVAL, "export: %s holds a topiary session (manifest.json); export into another directory",
                       dir);
    if (export_exists(dir)) return TP_OK;
    char p[4200];
    path_join(p, sizeof p, dir, "config.json");
    if (fsutil_exists(p))
        return err_set(TP_EINVAL, "export: %s holds a config.json that is not a topiary export's; choose a new or "
                                  "empty directory", dir);
    DIR *d = opendir(dir);
    if (!d) return err_set(TP_EIO, "export: %s: %s", dir, strerror(errno));
    TpStatus st = TP_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || is_export_file(e->d_name)) continue;
        st = err_set(TP_EINVAL, "export: %s is not empty and not a topiary export (it holds %s); choose a new or "
                                "empty directory", dir, e->d_name);
        break;
    }
    closedir(d);
    return st;
}

static TpStatus remove_file(const char *dir, const char *name)
{
    char p[4200];
    path_join(p, sizeof p, dir, name);
    if (unlink(p) != 0 && errno != ENOENT) return err_set(TP_EIO, "export: remove %s: %s", p, strerror(errno));
    return TP_OK;
}

/* The temp files an interrupted export left in dir ("model.safetensors.tmp.XXXXXX", up to the model's
 * size): only those names, only in dir itself (unlink removes a symlink, never its target). */
static TpStatus remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? TP_OK : err_set(TP_EIO, "export: %s: %s", dir, strerror(errno));
    TpStatus st = TP_OK;
    struct dirent *e;
    while ((e = readdir(d)) && st == TP_OK)
        if (is_export_file(e->d_name) && strstr(e->d_name, ".tmp.")) st = remove_file(dir, e->d_name);
    closedir(d);
    return st;
}

TpStatus export_write(const Session *s, const char *outdir)
{
    if (!outdir || !*outdir) return err_set(TP_EINVAL, "export: an output directory is required");
    if (strlen(outdir) > 4000) return err_set(TP_EINVAL, "export: path too long");
    if (s->corpus.n_vocab != s->model.cfg.n_vocab)
        return err_set(TP_EINVAL, "export: vocabulary of %d tokens but the model has %d", s->corpus.n_vocab,
                       s->model.cfg.n_vocab);
    ExportTensor t[EXPORT_MAX_TENSORS];
    int n = 0;
    char *pretty = NULL, *compact = NULL;
    char p[4200];
    int asr = task_is_asr(&s->task);
    int n_registry = 0;
    TpStatus st = asr ? TP_OK : export_names_pytorch(&s->model, t, &n, &n_registry);
    if (st != TP_OK) return st;
    if ((st = check_outdir(outdir)) != TP_OK) return st;
    if ((st = remove_stale_temps(outdir)) != TP_OK) return st;
    if ((st = fsutil_mkdir_p(outdir)) != TP_OK) return err_wrap(st, "export %s: ", outdir);
    cJSON *cfg = config_json(s);
    pretty = cfg ? cJSON_Print(cfg) : NULL;
    compact = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    cJSON_Delete(cfg);
    if (!pretty || !compact) {
        st = err_set(TP_ENOMEM, "export: out of memory");
        goto fail;
    }
    /* config.json marks a complete export and checksums.json a checked one: drop the old ones first,
     * write the new ones last */
    if ((st = remove_file(outdir, EXPORTSUM_FILE)) != TP_OK) goto fail;
    if ((st = remove_file(outdir, "config.json")) != TP_OK) goto fail;
    if ((st = remove_file(outdir, "model.compact.safetensors")) != TP_OK) goto fail; /* would be stale */
    if ((st = fsutil_fsync_dir(outdir)) != TP_OK) goto fail;
    path_join(p, sizeof p, outdir, "vocab.json");
    if ((st = modelio_write_vocab(&s->corpus, p)) != TP_OK) goto fail;
    path_join(p, sizeof p, outdir, "model.safetensors");
    if (asr) { /* the speech model: PyTorch names and a check set, no compact runtime file (export_asr.c) */
        static const char *const ASR_FILES[] = {"config.json", "vocab.json", "model.safetensors", "check.safetensors"};
        if ((st = export_speech_write(s, outdir, compact)) != TP_OK) goto fail;
        path_join(p, sizeof p, outdir, "config.json");
        if ((st = fsutil_write_atomic(p, pretty, strlen(pretty))) != TP_OK) goto fail;
        st = exportsum_write(outdir, ASR_FILES, 4);
        goto fail;
    }
    if ((st = write_model(&s->model, t, n, compact, p)) != TP_OK) goto fail;
    path_join(p, sizeof p, outdir, "model.compact.safetensors"); /* trimmed, sparse layouts (engine/compact) */
    if ((st = compact_write(&s->model, export_names, compact, p, NULL)) != TP_OK) goto fail;
    path_join(p, sizeof p, outdir, "config.json");
    if ((st = fsutil_write_atomic(p, pretty, strlen(pretty))) != TP_OK) goto fail;
    st = exportsum_write(outdir, EXPORT_FILES, EXPORT_N_CHECKSUMMED);
fail:
    free(pretty);
    free(compact);
    return st == TP_OK ? TP_OK : err_wrap(st, "export %s: ", outdir);
}

