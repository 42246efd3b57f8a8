/* sessions/speech: see speech.h. */
#include "speech.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/an4.h"
#include "engine/asr.h"
#include "engine/asr_metrics.h"
#include "engine/ctc.h"
#include "engine/ctc_decode.h"
#include "engine/features.h"
#include "engine/infer_asr.h"
#include "base/clock.h"

struct SessionSpeech {
    An4 *ds[3];              /* train, valid, test (NULL until loaded) */
    int n[3];                /* utterances used of each split          */
    int *order;              /* [n[0]] train indices, shortest first   */
    AsrNet net;              /* activations for training and evaluation */
    AsrUtterance *batch;     /* [train batch]                          */
    int *perm;               /* [n_windows] this epoch's batch order   */
    int perm_epoch;          /* epoch perm was drawn for (0 = none)    */
    char data[4096];         /* the AN4 directory                      */
    int n_feat, max_utts;
    uint64_t seed;           /* the batch orders' seed (task --seed)   */
    int freq_mask[2], time_mask[2]; /* SpecAugment (task --freq-mask, --time-mask) */
    int padded;              /* task --padded: minibatches as one padded batch */
    float *aug;              /* [aug_cap] the masked features of a training batch */
    size_t aug_cap;
};

TpStatus speech_refuse(const char *what, const char *why)
{
    return err_set(TP_EINVAL, "%s: not available for the speech task (an4 session): %s", what, why);
}

static TpStatus open_split(SessionSpeech *sp, int split)
{
    if (sp->ds[split]) return TP_OK;
    FeatCfg fc;
    features_cfg_default(&fc);
    fc.n_mels = sp->n_feat;
    static const An4Split SPLITS[3] = {AN4_TRAIN, AN4_VALID, AN4_TEST};
    TpStatus st = an4_open(sp->data, SPLITS[split], &fc, &sp->ds[split]);
    if (st != TP_OK) return err_wrap(st, "--data %s: ", sp->data);
    int n = an4_count(sp->ds[split]);
    sp->n[split] = sp->max_utts > 0 && sp->max_utts < n ? sp->max_utts : n;
    return TP_OK;
}

TpStatus speech_load(SessionSpeech **out, const Task *t, Corpus *c)
{
    SessionSpeech *sp = calloc(1, sizeof *sp);
    if (!sp) return err_set(TP_ENOMEM, "an4: out of memory");
    *out = sp;
    snprintf(sp->data, sizeof sp->data, "%s", t->data);
    sp->n_feat = t->model.n_feat;
    sp->max_utts = t->max_utts;
    sp->seed = t->seed;
    memcpy(sp->freq_mask, t->freq_mask, sizeof sp->freq_mask);
    memcpy(sp->time_mask, t->time_mask, sizeof sp->time_mask);
    sp->padded = t->padded;
    TpStatus st = open_split(sp, 0);
    if (st == TP_OK) st = open_split(sp, 1);
    if (st != TP_OK) return st;
    if (sp->n[0] < 1) return err_set(TP_EINVAL, "--data %s: no training utterances", sp->data);
    int n_all = an4_count(sp->ds[0]);
    int *all = malloc((size_t)n_all * sizeof *all);
    sp->order = malloc((size_t)sp->n[0] * sizeof *sp->order);
    c->vocab = calloc(TASK_AN4_CLASSES, sizeof *c->vocab);
    if (!all || !sp->order || !c->vocab) {
        free(all);
        return err_set(TP_ENOMEM, "an4: out of memory");
    }
    an4_sort_by_length(sp->ds[0], all);
    for (int i = 0, k = 0; i < n_all; i++)
        if (all[i] < sp->n[0]) sp->order[k++] = all[i];
    free(all);
    c->level = CORPUS_CHAR;
    c->unk_id = c->eos_id = -1;
    c->vocab_cap = TASK_AN4_CLASSES;
    for (int i = 0; i < TASK_AN4_CLASSES; i++) {
        char ch[2] = {an4_class_char(i), '\0'};
        if (!(c->vocab[i] = strdup(ch))) return err_set(TP_ENOMEM, "an4: out of memory");
        c->n_vocab = i + 1;
    }
    snprintf(c->path, sizeof c->path, "%s", sp->data);
    return TP_OK;
}

TpStatus speech_trainer_init(SessionSpeech *sp, const Task *task, Model *m, Trainer *t)
{
    TrainConfig tc = task->train;
    tc.max_steps = 0; /* --max-steps limits one run (the CLI counts it), not the session */
    TpStatus st = train_config_check(&tc);
    if (st != TP_OK) return st;
    memset(t, 0, sizeof *t);
    t->cfg = tc;
    t->model = m;
    t->n_windows = (size_t)((sp->n[0] + tc.batch - 1) / tc.batch);
    free(sp->batch);
    free(sp->perm);
    sp->batch = malloc((size_t)tc.batch * sizeof *sp->batch);
    sp->perm = malloc(t->n_windows * sizeof *sp->perm);
    sp->perm_epoch = 0;
    if (!sp->batch || !sp->perm) return err_set(TP_ENOMEM, "an4: out of memory");
    asr_net_free(&sp->net);
    if ((st = asr_net_init(&sp->net, m)) != TP_OK) return st;
    if ((st = optim_init(&t->opt, tc.optim, tc.lr, m->n_params)) != TP_OK) return st;
    rng_seed(&t->rng, tc.seed);
    t->epoch = 1;
    t->opt.lr = optim_schedule_lr(tc.lr, tc.lr_decay, tc.decay_start, 1);
    return TP_OK;
}

/* The batch order of epoch e: in length order for the first, then a permutation drawn from the seed
 * and e alone. */
static void epoch_perm(SessionSpeech *sp, const Trainer *t, int e)
{
    int n = (int)t->n_windows;
    if (sp->perm_epoch == e) return;
    for (int i = 0; i < n; i++) sp->perm[i] = i;
    if (e > 1) {
        Rng r;
        rng_seed(&r, sp->seed * 0x9E3779B97F4A7C15ull + (uint64_t)e);
        for (int i = n - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint32_t)i + 1), x = sp->perm[i];
            sp->perm[i] = sp->perm[j];
            sp->perm[j] = x;
        }
    }
    sp->perm_epoch = e;
}

/* Minibatch b (in length order) into sp->batch; *n its utterances.  augment: the training copy,
 * with SpecAugment's masks drawn from the seed and the step alone (a replay draws the same). */
static TpStatus fill_batch(SessionSpeech *sp, const Trainer *t, int b, int *n, int augment)
{
    int B = t->cfg.batch, lo = b * B, hi = lo + B < sp->n[0] ? lo + B : sp->n[0];
    size_t need = 0;
    for (int i = lo; i < hi; i++) {
        AsrUtterance *u = &sp->batch[i - lo];
        const int *labels;
        TpStatus st = an4_utt(sp->ds[0], sp->order[i], &u->feat, &u->T, &labels, &u->L, NULL);
        if (st != TP_OK) return st;
        u->labels = (const int32_t *)labels;
        need += (size_t)u->T * sp->n_feat;
    }
    *n = hi - lo;
    if (!augment || (sp->freq_mask[0] == 0 && sp->time_mask[0] == 0)) return TP_OK;
    if (need > sp->aug_cap) {
        float *a = realloc(sp->aug, need * sizeof *a);
        if (!a) return err_set(TP_ENOMEM, "an4: out of memory for a batch's augmented features");
        sp->aug = a;
        sp->aug_cap = need;
    }
    Rng r;
    rng_seed(&r, (sp->seed + 0x5bd1e995ull) * 0x9E3779B97F4A7C15ull ^ (uint64_t)t->step);
    float *dst = sp->aug;
    for (int i = 0; i < *n; i++) {
        AsrUtterance *u = &sp->batch[i];
        size_t e = (size_t)u->T * sp->n_feat;
        memcpy(dst, u->feat, e * sizeof *dst);
        features_spec_augment(dst, u->T, sp->n_feat, sp->freq_mask[0], sp->freq_mask[1], sp->time_mask[0],
                              sp->time_mask[1], &r);
        u->feat = dst;
        dst += e;
    }
    return TP_OK;
}

TpStatus speech_train_step(SessionSpeech *sp, Trainer *t, TrainStepInfo *info)
{
    double t0 = clock_now();
    memset(info, 0, sizeof *info);
    epoch_perm(sp, t, t->epoch);
    int n;
    TpStatus st = fill_batch(sp, t, sp->perm[t->window], &n, 1);
    if (st != TP_OK) return st;
    /* the engine's trainer over the session's optimizer, dropout stream and step */
    AsrTrainer at;
    memset(&at, 0, sizeof at);
    at.cfg = (AsrTrainConfig){t->cfg.optim, t->opt.lr, t->cfg.clip, t->cfg.seed, sp->padded};
    at.model = t->model;
    at.net = sp->net;
    at.opt = t->opt;
    at.rng = t->rng;
    at.step = t->step;
    AsrStepInfo ai;
    st = asr_train_step(&at, sp->batch, n, &ai);
    sp->net = at.net; /* its buffers may have grown */
    if (st != TP_OK) return st;
    t->opt = at.opt;
    t->rng = at.rng;
    info->loss = ai.n_scored ? ai.loss : 0.0;
    info->tokens = ai.n_scored;
    info->grad_norm = ai.grad_norm;
    train_advance(t, info, ai.loss * ai.n_scored, ai.n_scored, t0);
    return TP_OK;
}

void speech_set_masks(SessionSpeech *sp, const int freq_mask[2], const int time_mask[2])
{
    memcpy(sp->freq_mask, freq_mask, sizeof sp->freq_mask);
    memcpy(sp->time_mask, time_mask, sizeof sp->time_mask);
}

TpStatus speech_gradient(SessionSpeech *sp, Trainer *t, long batch_index, double *loss)
{
    int n, nw = (int)t->n_windows;
    TpStatus st = fill_batch(sp, t, (int)(batch_index % nw), &n, 0);
    if (st != TP_OK) return st;
    const ModelConfig *cfg = &t->model->cfg;
    model_zero_grad(t->model);
    double sum = 0.0;
    int scored = 0;
    for (int i = 0; i < n; i++) {
        const AsrUtterance *u = &sp->batch[i];
        int To = asr_out_frames(cfg, u->T);
        scored += To >= 1 && ctc_min_frames(u->labels, u->L) <= To;
    }
    for (int i = 0; i < n && scored; i++) {
        const AsrUtterance *u = &sp->batch[i];
        int To = asr_out_frames(cfg, u->T);
        if (To < 1 || ctc_min_frames(u->labels, u->L) > To) continue;
        double l;
        Rng r = t->rng; /* a copy: the training stream stays as it was */
        if ((st = asr_utterance(&sp->net, u->feat, u->T, u->labels, u->L, 1, 1.0f / (float)scored, &r, &l)) != TP_OK)
            return st;
        sum += l;
    }
    *loss = scored ? sum / scored : NAN;
    return TP_OK;
}

/* The logits [*To][C] of one utterance: the training code's forward (rt NULL) or the runtime's. */
static TpStatus forward(SessionSpeech *sp, InferAsr *rt, const float *feat, int T, const float **logits, int *To)
{
    if (rt) return infer_asr_forward(rt, feat, T, logits, To);
    TpStatus st = asr_forward(&sp->net, feat, T, 0, NULL);
    *logits = sp->net.logits;
    *To = sp->net.T_out;
    return st;
}

static TpStatus evaluate(SessionSpeech *sp, Model *m, InferAsr *rt, int split, int beam, SpeechEval *r, SpeechProgress fn,
                         void *ctx)
{
    memset(r, 0, sizeof *r);
    if (split < 0 || split > 2) return err_set(TP_EINVAL, "evaluate: no split %d", split);
    TpStatus st = open_split(sp, split);
    if (st != TP_OK) return st;
    if (sp->net.m != m) return err_set(TP_EINVAL, "evaluate: the speech data serves another model");
    const An4 *ds = sp->ds[split];
    const int C = m->cfg.n_vocab, n = sp->n[split];
    double t0 = clock_now(), sum = 0.0, busy = 0.0;
    AsrTotals tot;
    asr_totals_init(&tot);
    float *logp = NULL;
    int *hyp = NULL, cap = 0;
    char text[AN4_MAX_LINE];
    for (int i = 0; i < n && st == TP_OK; i++) {
        const float *feat, *z0;
        const int *labels;
        int T, L, To = 0, H = 0;
        if ((st = an4_utt(ds, i, &feat, &T, &labels, &L, NULL)) != TP_OK) break;
        int out = asr_out_frames(&m->cfg, T);
        if (out > cap) {
            free(logp);
            free(hyp);
            cap = out;
            logp = malloc((size_t)cap * C * sizeof *logp);
            hyp = malloc((size_t)cap * sizeof *hyp);
            if (!logp || !hyp) {
                st = err_set(TP_ENOMEM, "evaluate: out of memory");
                break;
            }
        }
        text[0] = '\0';
        if (out >= 1) {
            double loss, t1 = clock_now(); /* timed: forward and decoding (batch 1), not the loss */
            if ((st = forward(sp, rt, feat, T, &z0, &To)) != TP_OK) break;
            double t2 = clock_now();
            if ((st = ctc_loss(z0, To, C, (const int32_t *)labels, L, 0.0f, &loss, NULL)) != TP_OK) {
                st = err_wrap(st, "asr");
                break;
            }
            if (isfinite(loss)) {
                sum += loss;
                r->utterances++;
            } else {
                r->skipped++;
            }
            double t3 = clock_now();
            for (int f = 0; f < To; f++) { /* log-softmax of the logits just computed */
                const float *z = z0 + (size_t)f * C;
                float *o = logp + (size_t)f * C, mx = z[0];
                for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
                double e = 0.0;
                for (int c = 0; c < C; c++) e += exp((double)(z[c] - mx));
                float lse = mx + (float)log(e);
                for (int c = 0; c < C; c++) o[c] = z[c] - lse;
            }
            float score;
            st = beam > 1 ? ctc_beam(hyp, &H, &score, logp, To, C, AN4_BLANK, beam)
                          : ctc_greedy(hyp, &H, logp, To, C, AN4_BLANK);
            busy += (t2 - t1) + (clock_now() - t3);
            if (st == TP_OK) st = an4_labels_to_text(text, sizeof text, hyp, H);
            if (st != TP_OK) break;
        } else {
            r->skipped++;
        }
        if ((st = asr_totals_add(&tot, an4_text(ds, i), text)) != TP_OK) break;
        r->audio_seconds += (double)T * 0.01; /* 10 ms frames (features.h) */
        if (fn && fn(ctx, (double)(i + 1) / n)) st = err_set(TP_ECANCEL, "evaluation cancelled");
    }
    free(logp);
    free(hyp);
    if (st != TP_OK) return st;
    r->utterances += r->skipped;
    int scored = r->utterances - r->skipped;
    r->loss = scored ? sum / scored : NAN;
    r->wer = asr_wer(&tot);
    r->cer = asr_cer(&tot);
    r->seconds = clock_now() - t0;
    r->ms_per_audio_s = r->audio_seconds > 0 ? 1000.0 * busy / r->audio_seconds : NAN;
    return TP_OK;
}

TpStatus speech_evaluate(SessionSpeech *sp, Model *m, int split, int beam, SpeechEval *r, SpeechProgress fn, void *ctx)
{
    return evaluate(sp, m, NULL, split, beam, r, fn, ctx);
}

TpStatus speech_evaluate_runtime(SessionSpeech *sp, Model *m, int split, int beam, const InferOptions *o, SpeechEval *r,
                                 SpeechProgress fn, void *ctx)
{
    memset(r, 0, sizeof *r);
    InferAsr rt;
    TpStatus st = infer_asr_init(&rt, m, o);
    if (st != TP_OK) return st;
    st = evaluate(sp, m, &rt, split, beam, r, fn, ctx);
    if (st == TP_OK) {
        infer_asr_summary(&rt, r->kernels, sizeof r->kernels);
        r->runtime = 1;
    }
    infer_asr_free(&rt);
    return st;
}

void speech_free(SessionSpeech *sp)
{
    if (!sp) return;
    for (int i = 0; i < 3; i++) an4_close(sp->ds[i]);
    asr_net_free(&sp->net);
    free(sp->order);
    free(sp->aug);
    free(sp->batch);
    free(sp->perm);
    free(sp);
}

TpStatus speech_utterance(SessionSpeech *sp, Model *m, int split, int i, const float **feat, int *T, const int **labels,
                          int *L, double *loss, int *n_utts)
{
    if (split < 0 || split > 2) return err_set(TP_EINVAL, "speech: no split %d", split);
    TpStatus st = open_split(sp, split);
    if (st != TP_OK) return st;
    *n_utts = sp->n[split];
    if (i < 0 || i >= sp->n[split]) return err_set(TP_ERANGE, "speech: no utterance %d", i);
    if ((st = an4_utt(sp->ds[split], i, feat, T, labels, L, NULL)) != TP_OK) return st;
    *loss = INFINITY;
    if (asr_out_frames(&m->cfg, *T) < 1) return TP_OK;
    return asr_utterance(&sp->net, *feat, *T, (const int32_t *)*labels, *L, 0, 0.0f, NULL, loss);
}
