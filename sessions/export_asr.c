/* sessions/export_asr: the export of a speech (an4) session (export.h):
 *
 *   model.safetensors  every registry tensor under its PyTorch name (engine/asr.h asr_torch_name:
 *                      conv.{c}.weight [K,C,kt,kf], rnn.{l}.weight_ih_l0[_reverse], ..., decoder.*),
 *                      masks "mask.<name>" U8, __metadata__ {"topiary": config.json's text};
 *   check.safetensors  a few validation utterances for checking a re-implementation: feat.{i} F32
 *                      [T,F] (normalised log-mel), labels.{i} I32 [L], and __metadata__ "losses": the
 *                      CTC loss (nats, sum over the utterance) topiary computes for each, as JSON;
 *   config.json        the LM export's fields plus "kind":"an4", "n_feat", "conv" (the task's).
 * tests/e2e/an4_torch_check.py builds the model in PyTorch from these and reproduces the losses. */
#include "sessions/export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/asr.h"
#include "engine/safetensors_writer.h"
#include "base/paths.h"

#define CHECK_UTTS 4

static TpStatus write_model(const Model *m, const char *meta, const char *path)
{
    SafetensorsWriter *w = safetensors_writer_new();
    if (!w) return err_set(TP_ENOMEM, "export: out of memory");
    TpStatus st = TP_OK;
    for (int i = 0; i < m->n_tensors && st == TP_OK; i++) {
        const ModelParam *p = &m->p[i];
        char name[96], mname[112];
        int ndim, dims[4];
        if ((st = asr_torch_name(m, i, name, sizeof name, &ndim, dims)) != TP_OK) break;
        int64_t shape[4];
        for (int d = 0; d < ndim; d++) shape[d] = dims[d];
        snprintf(mname, sizeof mname, "mask.%s", name);
        st = safetensors_writer_add(w, name, SAFETENSORS_F32, ndim, shape, m->w + p->off);
        if (st == TP_OK) st = safetensors_writer_add(w, mname, SAFETENSORS_U8, ndim, shape, m->mask + p->off);
    }
    if (st == TP_OK) st = safetensors_writer_meta(w, "topiary", meta);
    if (st == TP_OK) st = safetensors_writer_save(w, path);
    safetensors_writer_delete(w);
    return st;
}

static TpStatus write_check(const Session *s, const char *path)
{
    SafetensorsWriter *w = safetensors_writer_new();
    if (!w) return err_set(TP_ENOMEM, "export: out of memory");
    char losses[CHECK_UTTS * 40 + 8] = "[";
    TpStatus st = TP_OK;
    int n_utts = 1, kept = 0;
    for (int i = 0; i < n_utts && kept < CHECK_UTTS && st == TP_OK; i++) {
        const float *feat;
        const int *labels;
        int T, L;
        double loss;
        st = speech_utterance(s->speech, (Model *)&s->model, CORPUS_VALID, i, &feat, &T, &labels, &L, &loss, &n_utts);
        if (st != TP_OK || !isfinite(loss)) continue;
        char name[32];
        int64_t fs[2] = {T, s->model.cfg.n_feat}, ls[1] = {L};
        snprintf(name, sizeof name, "feat.%d", kept);
        st = safetensors_writer_add(w, name, SAFETENSORS_F32, 2, fs, feat);
        snprintf(name, sizeof name, "labels.%d", kept);
        if (st == TP_OK && L > 0) st = safetensors_writer_add(w, name, SAFETENSORS_I32, 1, ls, labels);
        size_t n = strlen(losses);
        snprintf(losses + n, sizeof losses - n, "%s%.17g", kept ? "," : "", loss);
        kept++;
    }
    strcat(losses, "]");
    if (st == TP_OK) st = safetensors_writer_meta(w, "losses", losses);
    if (st == TP_OK) st = safetensors_writer_save(w, path);
    safetensors_writer_delete(w);
    return st;
}

TpStatus export_speech_write(const Session *s, const char *outdir, const char *meta)
{
    char p[4200];
    path_join(p, sizeof p, outdir, "model.safetensors");
    TpStatus st = write_model(&s->model, meta, p);
    if (st != TP_OK) return st;
    path_join(p, sizeof p, outdir, "check.safetensors");
    return write_check(s, p);
}
