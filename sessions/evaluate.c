/* sessions/evaluate: see evaluate.h. */
#include "sessions/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "engine/breakeven.h"
#include "engine/infer.h"
#include "sessions/export.h"

int evaluate_split_index(const char *name)
{
    return !strcmp(name, "valid") ? CORPUS_VALID : !strcmp(name, "test") ? CORPUS_TEST
         : !strcmp(name, "train") ? CORPUS_TRAIN : -1;
}

int evaluate_is_speech(const Session *s) { return task_is_asr(&s->task); }

TpStatus evaluate_speech(Session *s, int split, int beam, SpeechEval *r)
{
    if (!task_is_asr(&s->task)) return err_set(TP_EINVAL, "eval: WER and CER are for a speech (an4) session");
    TpStatus st = speech_evaluate(s->speech, &s->model, split, beam, r, NULL, NULL);
    if (st == TP_OK && split == CORPUS_VALID && beam <= 1) {
        s->valid_wer = r->wer;
        s->valid_cer = r->cer;
    }
    return st;
}

TpStatus evaluate_session(Session *s, int split, EvalResult *r)
{
    if (split < 0 || split > 2) return err_set(TP_EINVAL, "eval: no split %d", split);
    if (task_is_asr(&s->task)) return err_set(TP_EINVAL, "eval: a speech session has no perplexity (evaluate_speech)");
    return train_evaluate(&s->model, s->corpus.ids[split], s->corpus.n_ids[split], s->task.eval_batch, 64, r);
}

/* The machine's sparse break-even: cached, measured now (said in note), or the built-in model. */
static void get_breakeven(Breakeven *be, char *note, size_t n)
{
    int cached = 0;
    double t0 = clock_now();
    note[0] = '\0';
    if (breakeven_get(be, NULL, &cached) != TP_OK) {
        snprintf(note, n, "sparse break-even not measured (%s); using the built-in model", err_msg());
        err_clear();
        breakeven_default(be);
    } else if (!cached) {
        char path[4200] = "", src[256];
        if (breakeven_cache_path(path, sizeof path, NULL) != TP_OK) err_clear();
        if (breakeven_busy(be))
            snprintf(note, n, "sparse-kernel break-even %s", breakeven_source(be, 0, src, sizeof src));
        else
            snprintf(note, n, "measured the sparse-kernel break-even on this machine in %.1f s (cached in %.400s)",
                     clock_now() - t0, path);
    }
}

TpStatus evaluate_speech_runtime(Session *s, int split, int beam, SpeechEval *r, char *note, size_t n, SpeechProgress fn,
                                 void *ctx)
{
    memset(r, 0, sizeof *r);
    if (!task_is_asr(&s->task)) return err_set(TP_EINVAL, "eval: runtime=1 decodes a speech (an4) session; a language "
                                                          "model runs through the runtime with eval --model EXPORTDIR");
    Breakeven be;
    get_breakeven(&be, note, n);
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    return speech_evaluate_runtime(s->speech, &s->model, split, beam, &o, r, fn, ctx);
}

TpStatus evaluate_export(const char *dir, const char *data, int split, int eval_batch, ExportEval *out)
{
    memset(out, 0, sizeof *out);
    out->state_sparsity = NAN;
    if (split < 0 || split > 2) return err_set(TP_EINVAL, "eval: no split %d", split);
    ExportModel e;
    int compact = export_has_compact(dir);
    TpStatus st = compact ? export_open_compact(&e, dir, data) : export_open(&e, dir, data);
    if (st != TP_OK) return st;
    if (eval_batch) e.info.task.eval_batch = eval_batch;
    out->eval_batch = e.info.task.eval_batch;
    out->file = compact ? "model.compact.safetensors" : "model.safetensors";
    Breakeven be;
    get_breakeven(&be, out->note, sizeof out->note);
    if (!e.info.checked) {
        size_t k = strlen(out->note);
        snprintf(out->note + k, sizeof out->note - k, "%s%s has no checksums.json (exported by an older topiary): "
                 "its files were not checked", k ? "\ntopiary: " : "", dir);
    }
    InferOptions o;
    infer_options_defaults(&o);
    o.cost = &be;
    InferModel im;
    if ((st = infer_init(&im, &e.model, &o)) != TP_OK) {
        export_close(&e);
        return st;
    }
    st = infer_evaluate(&im, e.corpus.ids[split], e.corpus.n_ids[split], e.info.task.eval_batch, &out->r);
    if (st == TP_OK) {
        infer_summary(&im, out->kernels, sizeof out->kernels);
        out->state_sparsity = infer_state_sparsity(&im);
    }
    infer_free(&im);
    export_close(&e);
    return st;
}
