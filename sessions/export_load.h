/* sessions/export_load: the reading half of sessions/export (the format is described in export.h):
 * an export directory checked and loaded into a Model, for `topiary eval --model`, a distillation
 * teacher (sessions/distill) and the tests; and the tensor names both halves share.  It knows no
 * Session, so the modules below sessions/session can read exports. */
#ifndef TP_EXPORT_LOAD_H
#define TP_EXPORT_LOAD_H

#include <stddef.h>

#include "engine/compact.h"
#include "engine/corpus.h"
#include "engine/model.h"
#include "sessions/task.h"

#define EXPORT_FORMAT "topiary-export"
#define EXPORT_VERSION_MAJOR 1
#define EXPORT_VERSION_MINOR 1 /* 1: checksums.json (sessions/exportsum) */

/* What config.json and vocab.json say besides the weights. */
typedef struct {
    Task task;          /* the task (defaults where config.json has none); task.model = the architecture */
    char **vocab;       /* [n_vocab] token strings (owned), id = index */
    int n_vocab;
    long step;          /* metrics at export time (-1 / NaN when absent) */
    int epoch;
    double valid_ppl;
    double sparsity;
    size_t nnz, params;
    int checked;        /* 1: every file matched checksums.json; 0: the export has none (older topiary) */
} ExportInfo;

/* An export loaded for evaluation: model, its info, and the corpus tokenised with its vocabulary. */
typedef struct {
    ExportInfo info;
    Model model;
    Corpus corpus;
} ExportModel;

/* One exported tensor: rows [row0, row0 + rows) of registry tensor `param` (PyTorch name, ndim 1 for
 * biases).  The compact file (engine/compact) names its tensors with the same function. */
typedef CompactTensor ExportTensor;
#define EXPORT_MAX_TENSORS (3 + 16 * MODEL_MAX_LAYERS)

/* The files of an export: config.json, vocab.json, model.safetensors, model.compact.safetensors,
 * checksums.json, check.safetensors.  The first EXPORT_N_CHECKSUMMED are listed in checksums.json, the
 * first EXPORT_N_MANDATORY must exist. */
#define EXPORT_N_FILES 6
#define EXPORT_N_CHECKSUMMED 4
#define EXPORT_N_MANDATORY 2
extern const char *const EXPORT_FILES[EXPORT_N_FILES];

/* The PyTorch names of every registry tensor of m (DESIGN 2.4), in registry order. */
TpStatus export_names(const Model *m, ExportTensor *t, int *n_out);
/* The same with a tied model's second name (decoder.weight, the same matrix as embed.weight) after
 * the *n_registry registry names: what model.safetensors holds. */
TpStatus export_names_pytorch(const Model *m, ExportTensor *t, int *n_out, int *n_registry);

/* Read the export in dir into m (model_init'ed here; model_free it) and *info (export_info_free).
 * On failure both are left empty and err_msg() names the file and the problem (TP_EFORMAT,
 * TP_ENOENT for a missing file). */
TpStatus export_load(Model *m, ExportInfo *info, const char *dir);
void export_info_free(ExportInfo *info);

/* export_load, then the corpus of config.json's task.data (or data_override, may be NULL) loaded
 * with the exported vocabulary; BLAS threads as the task says (the session's evaluation). */
TpStatus export_open(ExportModel *e, const char *dir, const char *data_override);
/* The same from model.compact.safetensors (TP_ENOENT when the export has none): e->model has the
 * trimmed hidden sizes; e->info.task.model keeps the nominal ones of config.json. */
TpStatus export_open_compact(ExportModel *e, const char *dir, const char *data_override);
int export_has_compact(const char *dir);
void export_close(ExportModel *e);

/* 1 if dir holds a config.json of format topiary-export. */
int export_exists(const char *dir);

#endif
