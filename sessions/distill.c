/* sessions/distill: a session's distillation teacher (see distill.h). */
#include "sessions/distill.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/paths.h"
#include "sessions/export_load.h"
#include "sessions/task.h"

/* Load and check the export in dir (an absolute path) as a teacher for s: *out is malloc'd. */
static TpStatus load_teacher(const DistillSlot *s, const char *dir, float alpha, int have_crc, uint32_t want_crc, SessionDistill **out)
{
    *out = NULL;
    char mp[600];
    TpStatus st = path_join(mp, sizeof mp, dir, "model.safetensors");
    if (st != TP_OK) return err_wrap(st, "distill: ");
    uint32_t crc = 0;
    uint64_t bytes = 0;
    if ((st = fsutil_crc32_file(mp, &crc, &bytes)) != TP_OK)
        return err_wrap(st, "distill: the teacher must be an export directory (topiary export --out DIR): ");
    if (have_crc && crc != want_crc)
        return err_set(TP_EFORMAT, "distill: %s has CRC32 %08x, but this session chose the teacher when it was %08x: "
                       "the teacher changed (re-export it elsewhere and `distill teacher=` that, or `distill off`)",
                       mp, (unsigned)crc, (unsigned)want_crc);
    SessionDistill *d = calloc(1, sizeof *d);
    if (!d) return err_set(TP_ENOMEM, "distill: out of memory");
    ExportInfo info;
    if ((st = export_load(&d->model, &info, dir)) != TP_OK) {
        free(d);
        return err_wrap(st, "distill: ");
    }
    if (!info.checked)
        st = err_set(TP_EFORMAT, "distill: %s has no checksums.json (an older export): export the teacher again", dir);
    else if (d->model.cfg.task != MODEL_TASK_LM)
        st = err_set(TP_EINVAL, "distill: %s is a speech model; the teacher must be a language model", dir);
    else if (info.n_vocab != s->corpus->n_vocab)
        st = err_set(TP_EINVAL, "distill: %s has %d words, this session %d: teacher and student must share the vocabulary",
                     dir, info.n_vocab, s->corpus->n_vocab);
    for (int i = 0; st == TP_OK && i < info.n_vocab; i++)
        if (strcmp(info.vocab[i], s->corpus->vocab[i]))
            st = err_set(TP_EINVAL, "distill: %s/vocab.json: word %d is \"%.40s\", this session's is \"%.40s\": teacher and "
                         "student must share the vocabulary", dir, i, info.vocab[i], s->corpus->vocab[i]);
    if (st == TP_OK)
        st = train_teacher_init(&d->tt, &d->model, s->student, s->trainer->cfg.bptt, s->trainer->cfg.batch, alpha);
    if (st != TP_OK) {
        export_info_free(&info);
        model_free(&d->model);
        free(d);
        return st;
    }
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->crc = crc;
    const ModelConfig *c = &d->model.cfg;
    char sizes[64] = "", ppl[48] = "";
    for (int l = 0, o = 0; l < c->n_layers && o < (int)sizeof sizes - 8; l++)
        o += snprintf(sizes + o, sizeof sizes - (size_t)o, "%s%d", l ? "x" : "", c->hidden[l]);
    if (isfinite(info.valid_ppl)) snprintf(ppl, sizeof ppl, ", valid ppl %.2f", info.valid_ppl);
    snprintf(d->describe, sizeof d->describe, "%d layer(s) %s %s, %zu non-zeros%s", c->n_layers, sizes,
             c->cell == MODEL_CELL_HLSTM ? "hlstm" : "lstm", info.nnz, ppl);
    export_info_free(&info);
    *out = d;
    return TP_OK;
}

void distill_free(SessionDistill **loaded, Trainer *trainer)
{
    SessionDistill *d = *loaded;
    if (!d) return;
    if (trainer && trainer->teacher == &d->tt) trainer->teacher = NULL;
    train_teacher_free(&d->tt);
    model_free(&d->model);
    free(d);
    *loaded = NULL;
}

TpStatus distill_choose(const DistillSlot *s, const char *dir, float alpha, const char *crc_hex, char *said, size_t n)
{
    if (task_is_asr(s->task)) return err_set(TP_EINVAL, "distill: the speech (an4) task has no teacher (a language model's)");
    if (!(alpha >= 0.0f && alpha <= 1.0f)) return err_set(TP_ERANGE, "distill: alpha=%g is not in 0..1", (double)alpha);
    for (const char *p = dir; *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20)
            return err_set(TP_EINVAL, "distill: teacher=: a path with a quote or a control character cannot be journaled");
    char abs[PATH_MAX];
    if (!realpath(dir, abs)) return err_set(TP_ENOENT, "distill: teacher=%s: no such directory", dir);
    if (strlen(abs) >= sizeof s->task->teacher - 16)
        return err_set(TP_EINVAL, "distill: teacher=%s: the path is longer than %zu characters", abs, sizeof s->task->teacher - 16);
    uint32_t want = 0;
    int have = crc_hex && *crc_hex;
    if (have) {
        char *end = NULL;
        unsigned long v = strtoul(crc_hex, &end, 16);
        if (strlen(crc_hex) != 8 || *end) return err_set(TP_EINVAL, "distill: crc32=%s: expected 8 hex digits", crc_hex);
        want = (uint32_t)v;
    }
    SessionDistill *d = NULL;
    TpStatus st = load_teacher(s, abs, alpha, have, want, &d);
    if (st != TP_OK) return st;
    distill_free(s->loaded, s->trainer);
    *s->loaded = d;
    snprintf(s->task->teacher, sizeof s->task->teacher, "%s", abs);
    s->task->distill_alpha = alpha;
    s->task->teacher_crc = d->crc;
    snprintf(said, n, "distilling from %s (%s), alpha %g: each word's target is %g x the next word + %g x the teacher's "
             "distribution, from the next train on", abs, d->describe, (double)alpha, 1.0 - alpha, (double)alpha);
    return TP_OK;
}

void distill_off(const DistillSlot *s)
{
    distill_free(s->loaded, s->trainer);
    s->task->teacher[0] = '\0';
    s->task->distill_alpha = 0.0f;
    s->task->teacher_crc = 0;
}

TpStatus distill_attach(const DistillSlot *s)
{
    s->trainer->teacher = NULL;
    if (!s->task->teacher[0]) {
        distill_free(s->loaded, s->trainer);
        return TP_OK;
    }
    if (*s->loaded && (strcmp((*s->loaded)->dir, s->task->teacher) || (*s->loaded)->crc != s->task->teacher_crc)) distill_free(s->loaded, s->trainer);
    if (!*s->loaded) {
        SessionDistill *d = NULL;
        TpStatus st = load_teacher(s, s->task->teacher, s->task->distill_alpha, 1, s->task->teacher_crc, &d);
        if (st != TP_OK) return err_wrap(st, "training stopped: its teacher cannot be used (`distill off` trains without it): ");
        *s->loaded = d;
    }
    (*s->loaded)->tt.alpha = s->task->distill_alpha;
    s->trainer->teacher = &(*s->loaded)->tt;
    return TP_OK;
}

void distill_status(const Task *task, char *buf, size_t n)
{
    if (!task->teacher[0]) {
        if (n) buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "distilling from %s (alpha %g)", task->teacher, (double)task->distill_alpha);
}
