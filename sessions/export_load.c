/* sessions/export_load: see export_load.h. */
#include "export_load.h"

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
#include "base/fsutil.h"
#include "base/paths.h"
#include "sessions/exportsum.h"
#include "sessions/manifest.h"
#include "sessions/modelio.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define VOCAB_MAX_BYTES (1u << 30)
#define IMPLIES "config.json implies"

/* config.json and vocab.json always; either model file may be deleted by a user who ships the other;
 * the first EXPORT_N_CHECKSUMMED are listed in checksums.json, the first EXPORT_N_MANDATORY must exist */
const char *const EXPORT_FILES[EXPORT_N_FILES] = {"config.json", "vocab.json", "model.safetensors",
                                                  "model.compact.safetensors", EXPORTSUM_FILE, "check.safetensors"};

/* The PyTorch names of every registry tensor of m (DESIGN 2.4), in registry order. */
TpStatus export_names(const Model *m, ExportTensor *t, int *n_out)
{
    static const char GATES[4] = {'i', 'f', 'g', 'o'};
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        int k, used = 0;
        char rest[32] = "";
        int ndim = p->kind == PARAM_BIAS ? 1 : 2;
        if (!strcmp(p->name, "embed.weight") || !strcmp(p->name, "decoder.weight") || !strcmp(p->name, "decoder.bias")) {
            t[n] = (ExportTensor){"", i, 0, p->rows, p->cols, ndim};
            snprintf(t[n++].name, sizeof t->name, "%s", p->name);
            continue;
        }
        if (sscanf(p->name, "l%d.%31s%n", &k, rest, &used) != 2 || p->name[used] != '\0')
            return err_set(TP_ENOTAVAIL, "export: tensor %s has no PyTorch name", p->name);
        if (m->cfg.cell == MODEL_CELL_LSTM) {
            static const char *const from[4] = {"w_ih", "w_hh", "b_ih", "b_hh"};
            static const char *const to[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            int j = 0;
            while (j < 4 && strcmp(rest, from[j])) j++;
            if (j == 4) return err_set(TP_ENOTAVAIL, "export: tensor %s has no PyTorch name", p->name);
            t[n] = (ExportTensor){"", i, 0, p->rows, p->cols, ndim};
            snprintf(t[n++].name, sizeof t->name, "lstm.%s_l%d", to[j], k);
        } else if (m->cfg.cell == MODEL_CELL_HLSTM) {
            if ((strcmp(rest, "fc1.weight") && strcmp(rest, "fc1.bias") && strcmp(rest, "fc2.weight") &&
                 strcmp(rest, "fc2.bias")) || p->rows % 4)
                return err_set(TP_ENOTAVAIL, "export: tensor %s has no PyTorch name", p->name);
            int r = p->rows / 4; /* the four gates' DNNs are stacked in gate order i, f, g, o */
            for (int q = 0; q < 4; q++) {
                t[n] = (ExportTensor){"", i, q * r, r, p->cols, ndim};
                snprintf(t[n++].name, sizeof t->name, "hlstm.l%d.%c.%s", k, GATES[q], rest);
            }
        } else {
            return err_set(TP_ENOTAVAIL, "export: cell %d has no export format", (int)m->cfg.cell);
        }
    }
    *n_out = n;
    return TP_OK;
}

/* model.safetensors is read by PyTorch, whose tied model holds both names (its state_dict lists the
 * one matrix as embed.weight and decoder.weight): a tied model's file carries embed.weight under
 * both, and a reader checks that the two are the same.  The compact file stores it once. */
TpStatus export_names_pytorch(const Model *m, ExportTensor *t, int *n_out, int *n_registry)
{
    TpStatus st = export_names(m, t, n_out);
    *n_registry = *n_out;
    if (st != TP_OK || !m->cfg.tie) return st;
    t[*n_out] = t[0]; /* embed.weight, registry index 0 */
    snprintf(t[*n_out].name, sizeof t->name, "decoder.weight");
    (*n_out)++;
    return TP_OK;
}

int export_exists(const char *dir)
{
    char p[4200];
    void *buf = NULL;
    size_t len;
    path_join(p, sizeof p, dir, "config.json");
    if (fsutil_read_file(p, CONFIG_MAX_BYTES, &buf, &len) != TP_OK) {
        err_clear();
        return 0;
    }
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "format");
    int ok = cJSON_IsString(f) && !strcmp(f->valuestring, EXPORT_FORMAT);
    cJSON_Delete(j);
    return ok;
}

/* ==== read ====================================================================================== */

/* Integer field k of o in lo..hi; absent: *v = dflt, or an error when dflt < lo (required). */
static TpStatus get_int(const cJSON *o, const char *k, int lo, int hi, int dflt, int *v, const char *path)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!e && dflt >= lo) {
        *v = dflt;
        return TP_OK;
    }
    if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < lo || e->valuedouble > hi)
        return err_set(TP_EFORMAT, "%s: \"%s\": expected a whole number in %d..%d", path, k, lo, hi);
    *v = (int)e->valuedouble;
    return TP_OK;
}

static TpStatus parse_architecture(const cJSON *j, ModelConfig *c, const char *path)
{
    TpStatus st;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, EXPORT_FORMAT) || !cJSON_IsNumber(v))
        return err_set(TP_EFORMAT, "%s: not a topiary export (\"format\": \"%s\" and \"version\" expected)", path,
                       EXPORT_FORMAT);
    if (v->valueint > EXPORT_VERSION_MAJOR)
        return err_set(TP_EFORMAT, "%s: export format version %d is newer than this topiary (%d); upgrade topiary",
                       path, v->valueint, EXPORT_VERSION_MAJOR);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "an4"))
        return err_set(TP_EINVAL, "%s: a speech (an4) export: the inference runtime serves language models; evaluate "
                                  "its session (topiary eval --session DIR) or load it in PyTorch", path);
    if ((st = get_int(j, "vocab", 2, 100000000, -1, &c->n_vocab, path)) != TP_OK ||
        (st = get_int(j, "embed", 1, 65536, -1, &c->n_embed, path)) != TP_OK ||
        (st = get_int(j, "layers", 1, MODEL_MAX_LAYERS, -1, &c->n_layers, path)) != TP_OK)
        return st;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hidden");
    if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != c->n_layers)
        return err_set(TP_EFORMAT, "%s: \"hidden\": expected an array of %d sizes (one per layer)", path, c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        const cJSON *e = cJSON_GetArrayItem(h, l);
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 1 || e->valuedouble > 65536)
            return err_set(TP_EFORMAT, "%s: \"hidden\"[%d]: expected a whole number in 1..65536", path, l);
        c->hidden[l] = (int)e->valuedouble;
    }
    const cJSON *cell = cJSON_GetObjectItemCaseSensitive(j, "cell");
    if (!cJSON_IsString(cell) || (strcmp(cell->valuestring, "lstm") && strcmp(cell->valuestring, "hlstm")))
        return err_set(TP_EFORMAT, "%s: \"cell\": expected \"lstm\" or \"hlstm\"", path);
    c->cell = strcmp(cell->valuestring, "lstm") ? MODEL_CELL_HLSTM : MODEL_CELL_LSTM;
    if ((st = get_int(j, "tie", 0, 1, 0, &c->tie, path)) != TP_OK) return st; /* absent: untied (older exports) */
    if (c->cell == MODEL_CELL_HLSTM) return get_int(j, "gate_hidden", 1, 65536, -1, &c->gate_hidden, path);
    return get_int(j, "gate_hidden", 0, 65536, 0, &c->gate_hidden, path);
}

static TpStatus parse_vocab(ExportInfo *info, const char *path, int expect)
{
    char **v = NULL;
    int k = 0;
    TpStatus st = modelio_read_vocab(path, VOCAB_MAX_BYTES, &v, &k);
    if (st != TP_OK) return st;
    if (k != expect) {
        modelio_free_vocab(v, k);
        return err_set(TP_EFORMAT, "%s: %d tokens, config.json says vocab %d", path, k, expect);
    }
    info->vocab = v;
    info->n_vocab = k;
    return TP_OK;
}

static void parse_metrics(ExportInfo *info, const cJSON *mt)
{
    const cJSON *e;
    info->step = -1;
    info->epoch = -1;
    info->valid_ppl = info->sparsity = NAN;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "step")) && cJSON_IsNumber(e)) info->step = (long)e->valuedouble;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "epoch")) && cJSON_IsNumber(e)) info->epoch = e->valueint;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "valid_ppl")) && cJSON_IsNumber(e)) info->valid_ppl = e->valuedouble;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "sparsity")) && cJSON_IsNumber(e)) info->sparsity = e->valuedouble;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "nnz")) && cJSON_IsNumber(e) && e->valuedouble >= 0)
        info->nnz = (size_t)e->valuedouble;
    if ((e = cJSON_GetObjectItemCaseSensitive(mt, "params")) && cJSON_IsNumber(e) && e->valuedouble >= 0)
        info->params = (size_t)e->valuedouble;
}

/* Copy tensor `name` (dtype dt, the shape of t) into dst; refuse it missing or shaped otherwise. */
static TpStatus load_weights(Model *m, const char *path)
{
    ExportTensor t[EXPORT_MAX_TENSORS];
    int n = 0, n_registry = 0;
    TpStatus st = export_names_pytorch(m, t, &n, &n_registry);
    if (st != TP_OK) return st;
    SafetensorsFile f = {0};
    if ((st = safetensors_read(&f, path, NULL)) != TP_OK) return st;
    char name[80];
    for (int i = 0; i < n_registry && st == TP_OK; i++) {
        const ModelParam *p = &m->p[t[i].param];
        size_t at = p->off + (size_t)t[i].row0 * (size_t)t[i].cols, cnt = (size_t)t[i].rows * (size_t)t[i].cols;
        st = modelio_load_tensor(&f, path, t[i].name, SAFETENSORS_F32, t[i].ndim, t[i].rows, t[i].cols, IMPLIES, m->w + at);
        snprintf(name, sizeof name, "mask.%.63s", t[i].name);
        if (st == TP_OK)
            st = modelio_load_tensor(&f, path, name, SAFETENSORS_U8, t[i].ndim, t[i].rows, t[i].cols, IMPLIES, m->mask + at);
        for (size_t k = 0; k < cnt && st == TP_OK; k++) {
            if (m->mask[at + k] > 1)
                st = err_set(TP_EFORMAT, "%s: tensor %s: mask value %u at entry %zu is not 0 or 1", path, name,
                             m->mask[at + k], k);
            else if (!m->mask[at + k] && m->w[at + k] != 0.0f)
                st = err_set(TP_EFORMAT, "%s: tensor %s: entry %zu is pruned (mask 0) but holds %g; pruned entries "
                                         "must be exact zeros", path, t[i].name, k, (double)m->w[at + k]);
        }
    }
    for (int i = n_registry; i < n && st == TP_OK; i++) { /* a tied model's second name: the same matrix */
        const ModelParam *p = &m->p[t[i].param];
        float *w = malloc(p->n * sizeof(float));
        uint8_t *k = malloc(p->n);
        if (!w || !k) st = err_set(TP_ENOMEM, "%s: out of memory", path);
        if (st == TP_OK)
            st = modelio_load_tensor(&f, path, t[i].name, SAFETENSORS_F32, t[i].ndim, t[i].rows, t[i].cols, IMPLIES, w);
        snprintf(name, sizeof name, "mask.%.63s", t[i].name);
        if (st == TP_OK)
            st = modelio_load_tensor(&f, path, name, SAFETENSORS_U8, t[i].ndim, t[i].rows, t[i].cols, IMPLIES, k);
        if (st == TP_OK && (memcmp(w, m->w + p->off, p->n * sizeof(float)) || memcmp(k, m->mask + p->off, p->n)))
            st = err_set(TP_EFORMAT, "%s: config.json says the embedding and the decoder are tied (\"tie\": 1), but "
                                     "decoder.weight or its mask differs from embed.weight", path);
        free(w);
        free(k);
    }
    /* every tensor of the file must be one of these: a longer file describes another model */
    for (int i = 0; i < f.n && st == TP_OK; i++) {
        const char *x = f.t[i].name;
        if (!strncmp(x, "mask.", 5)) x += 5;
        int known = 0;
        for (int k = 0; k < n && !known; k++) known = !strcmp(x, t[k].name);
        if (!known)
            st = err_set(TP_EFORMAT, "%s: unexpected tensor %s (not part of the architecture in config.json)", path,
                         f.t[i].name);
    }
    safetensors_free(&f);
    return st;
}

/* Before the model of config.json is allocated: model.safetensors holds every weight (F32) and mask (U8)
 * of it, so a file smaller than 5 bytes a parameter describes another (smaller) model. */
static TpStatus check_model_size(const ModelConfig *c, const char *path)
{
    size_t n;
    uint64_t bytes;
    int fd;
    TpStatus st = model_count_params(c, &n);
    if (st == TP_OK) st = fsutil_open_regular(path, 0, "read", &fd, &bytes);
    if (st != TP_OK) return st;
    close(fd);
    if ((double)n * 5.0 > (double)bytes)
        return err_set(TP_EFORMAT, "%s: %" PRIu64 " bytes, but the architecture in config.json has %zu parameters "
                                   "(at least %.0f bytes of weights and masks); config.json and the model do not match",
                       path, bytes, n, (double)n * 5.0);
    return TP_OK;
}

void export_info_free(ExportInfo *info)
{
    if (info->vocab)
        for (int i = 0; i < info->n_vocab; i++) free(info->vocab[i]);
    free(info->vocab);
    memset(info, 0, sizeof *info);
}

static TpStatus load_impl(Model *m, ExportInfo *info, const char *dir, int from_compact);

TpStatus export_load(Model *m, ExportInfo *info, const char *dir) { return load_impl(m, info, dir, 0); }

int export_has_compact(const char *dir)
{
    char p[4200];
    if (strlen(dir) > 4000) return 0;
    path_join(p, sizeof p, dir, "model.compact.safetensors");
    return fsutil_exists(p);
}

/* config.json and vocab.json, then the weights from model.safetensors or model.compact.safetensors */
static TpStatus load_impl(Model *m, ExportInfo *info, const char *dir, int from_compact)
{
    memset(m, 0, sizeof *m);
    memset(info, 0, sizeof *info);
    char p[4200];
    cJSON *j = NULL;
    ModelConfig arch = {0};
    if (strlen(dir) > 4000) return err_set(TP_EINVAL, "--model: path too long");
    /* every file against checksums.json first: nothing damaged is parsed or sized from */
    TpStatus st = exportsum_check(dir, EXPORT_FILES, EXPORT_N_CHECKSUMMED, EXPORT_N_MANDATORY, &info->checked);
    if (st != TP_OK) goto fail;
    path_join(p, sizeof p, dir, "config.json");
    st = manifest_read_json(p, CONFIG_MAX_BYTES, &j);
    if (st == TP_ENOENT) st = err_set(TP_ENOENT, "%s: not a topiary export (no config.json)", dir);
    if (st != TP_OK) goto fail;
    if (!cJSON_IsObject(j)) {
        st = err_set(TP_EFORMAT, "%s: expected a JSON object", p);
        goto fail;
    }
    if ((st = parse_architecture(j, &arch, p)) != TP_OK) goto fail;
    task_defaults(&info->task);
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(j, "task");
    if (task && (st = task_from_json(&info->task, task)) != TP_OK) {
        err_wrap(st, "%s: ", p);
        goto fail;
    }
    ModelConfig *c = &info->task.model;
    c->n_vocab = arch.n_vocab;
    c->n_embed = arch.n_embed;
    c->n_layers = arch.n_layers;
    memcpy(c->hidden, arch.hidden, sizeof c->hidden);
    c->cell = arch.cell;
    c->gate_hidden = arch.gate_hidden;
    c->tie = arch.tie;
    if ((st = model_config_check(c)) != TP_OK) {
        err_wrap(st, "%s: ", p);
        goto fail;
    }
    parse_metrics(info, cJSON_GetObjectItemCaseSensitive(j, "metrics"));
    path_join(p, sizeof p, dir, "vocab.json");
    if ((st = parse_vocab(info, p, arch.n_vocab)) != TP_OK) goto fail;
    if (from_compact) {
        path_join(p, sizeof p, dir, "model.compact.safetensors");
        if ((st = compact_read(m, c, export_names, p, NULL)) != TP_OK) goto fail;
        cJSON_Delete(j);
        return TP_OK;
    }
    Rng rng;
    rng_seed(&rng, info->task.seed);
    path_join(p, sizeof p, dir, "model.safetensors");
    if ((st = check_model_size(c, p)) != TP_OK) goto fail;
    if ((st = model_init(m, c, &rng)) != TP_OK) goto fail;
    if ((st = load_weights(m, p)) != TP_OK) goto fail;
    cJSON_Delete(j);
    return TP_OK;
fail:
    cJSON_Delete(j);
    model_free(m);
    export_info_free(info);
    return st;
}

static TpStatus open_impl(ExportModel *e, const char *dir, const char *data_override, int from_compact);

TpStatus export_open(ExportModel *e, const char *dir, const char *data_override)
{
    return open_impl(e, dir, data_override, 0);
}

TpStatus export_open_compact(ExportModel *e, const char *dir, const char *data_override)
{
    return open_impl(e, dir, data_override, 1);
}

static TpStatus open_impl(ExportModel *e, const char *dir, const char *data_override, int from_compact)
{
    memset(e, 0, sizeof *e);
    TpStatus st = load_impl(&e->model, &e->info, dir, from_compact);
    if (st != TP_OK) return st;
    Task *t = &e->info.task;
    int from_config = !(data_override && *data_override);
    if (!from_config) {
        if (strlen(data_override) >= sizeof t->data) {
            st = err_set(TP_EINVAL, "--data: path too long");
            goto fail;
        }
        snprintf(t->data, sizeof t->data, "%s", data_override);
    }
    st = task_resolve(t);
    if (st == TP_OK) st = corpus_load_with_vocab(&e->corpus, t->data, t->level, e->info.vocab, e->info.n_vocab);
    if (st != TP_OK) {
        if (from_config) err_wrap(st, "%s/config.json names the data (pass --data PATH for another copy): ", dir);
        goto fail;
    }
    if ((st = backend_set_threads(t->threads)) != TP_OK) goto fail;
    return TP_OK;
fail:
    export_close(e);
    return st;
}

void export_close(ExportModel *e)
{
    corpus_free(&e->corpus);
    model_free(&e->model);
    export_info_free(&e->info);
    memset(e, 0, sizeof *e);
}
