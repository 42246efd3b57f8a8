/* sessions/task_asr: the options and JSON of the AN4 speech task (task.h). */
#include "task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/asr.h"

/* bits of Task.given (the index of the option in task_parse_arg's table) */
enum { G_CELL = 2, G_LAYERS = 3, G_HIDDEN = 4, G_BATCH = 8, G_EPOCHS = 9, G_LR = 10, G_LR_DECAY = 11,
       G_DECAY_START = 12, G_CLIP = 13, G_DROPOUT = 14, G_OPTIM = 15, G_LOG_EVERY = 22, G_PADDED = 60 };

int task_is_asr(const Task *t) { return t->model.task == MODEL_TASK_ASR; }

static int given(const Task *t, int bit) { return (t->given >> bit) & 1; }

/* The AN4 defaults on every option not given so far. */
static void an4_defaults(Task *t)
{
    int F = t->model.n_feat > 0 ? t->model.n_feat : 40;
    ModelConfig d = asr_config_default(F, TASK_AN4_CLASSES, 2, 128);
    ModelConfig *m = &t->model;
    m->task = MODEL_TASK_ASR;
    m->n_feat = F;
    m->n_conv = d.n_conv;
    memcpy(m->conv, d.conv, sizeof m->conv);
    if (!given(t, G_LAYERS)) m->n_layers = d.n_layers;
    if (!given(t, G_HIDDEN))
        for (int l = 0; l < MODEL_MAX_LAYERS; l++) m->hidden[l] = 128;
    if (!given(t, G_CELL)) m->cell = MODEL_CELL_LSTM;
    if (!given(t, G_BATCH)) t->train.batch = 16;
    if (!given(t, G_EPOCHS)) t->train.epochs = 100;
    if (!given(t, G_LR)) t->train.lr = 1e-3f;
    if (!given(t, G_OPTIM)) t->train.optim = OPTIM_ADAM;
    if (!given(t, G_LR_DECAY)) t->train.lr_decay = 0.95f;
    if (!given(t, G_DECAY_START)) t->train.decay_start = 40;
    if (!given(t, G_DROPOUT)) t->model.dropout = 0.2f;
    if (!given(t, G_CLIP)) t->train.clip = 5.0f;
    if (!given(t, G_LOG_EVERY)) t->log_every = 20;
    t->freq_mask[0] = 2, t->freq_mask[1] = 8;
    t->time_mask[0] = 2, t->time_mask[1] = 20;
    if (!(t->given >> G_PADDED & 1)) t->padded = 1;
    t->train.bptt = 1; /* unused by the speech task: whole utterances */
}

/* The second convolution of --conv 2: 8 more filters, stride 1 in time (the CTC needs the frames),
 * 2 in frequency. */
static const ModelConvLayer CONV2 = {8, 11, 11, 1, 2, 5, 5};

static TpStatus parse_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end) return err_set(TP_EINVAL, "%s: expected an integer, got '%s'", opt, v);
    if (n < lo || n > hi) return err_set(TP_ERANGE, "%s: expected %ld..%ld, got %ld", opt, lo, hi, n);
    *out = n;
    return TP_OK;
}

TpStatus task_asr_parse_mask(const char *opt, const char *v, int out[2])
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10), w = -1;
    if (!errno && end != v && *end == 'x') {
        const char *p = end + 1;
        w = strtol(p, &end, 10);
        if (errno || end == p || *end) w = -1;
    }
    if (w < 0 || n < 0) return err_set(TP_EINVAL, "%s: expected NxW (masks x widest, e.g. 2x8), got '%s'", opt, v);
    if (n > 16 || w > 1000) return err_set(TP_ERANGE, "%s: expected N 0..16 and W 0..1000, got '%s'", opt, v);
    out[0] = (int)n;
    out[1] = (int)w;
    return TP_OK;
}

TpStatus task_asr_parse_arg(Task *t, const char *opt, const char *v, int *matched)
{
    static const char *const names[] = {"--task", "--mels", "--conv", "--max-utts", "--freq-mask", "--time-mask", "--padded", NULL};
    int k = 0;
    *matched = 0;
    while (names[k] && strcmp(names[k], opt)) k++;
    if (!names[k]) return TP_OK;
    if (!v) return err_set(TP_EINVAL, "%s: missing value", opt);
    *matched = 1;
    long n;
    TpStatus s = TP_OK;
    if (k == 0) {
        if (!strcmp(v, "an4")) an4_defaults(t);
        else if (!strcmp(v, "lm")) {
            if (task_is_asr(t)) return err_set(TP_EINVAL, "--task lm: give it before --task an4, not after");
        } else return err_set(TP_EINVAL, "--task: expected lm or an4, got '%s'", v);
    } else if (!task_is_asr(t)) {
        return err_set(TP_EINVAL, "%s: an option of the speech task; give --task an4 first", opt);
    } else if (k == 1) {
        if ((s = parse_int(opt, v, 8, 256, &n)) == TP_OK) t->model.n_feat = (int)n;
    } else if (k == 2) {
        if ((s = parse_int(opt, v, 1, MODEL_MAX_CONV, &n)) == TP_OK) {
            t->model.n_conv = (int)n;
            if (n == 2) t->model.conv[1] = CONV2;
        }
    } else if (k == 3) {
        if ((s = parse_int(opt, v, 0, 100000000, &n)) == TP_OK) t->max_utts = (int)n;
    } else if (k == 6) {
        if ((s = parse_int(opt, v, 0, 1, &n)) == TP_OK) {
            t->padded = (int)n;
            t->given |= 1ull << G_PADDED;
        }
    } else {
        s = task_asr_parse_mask(opt, v, k == 4 ? t->freq_mask : t->time_mask);
    }
    return s;
}

TpStatus task_asr_resolve(Task *t)
{
    ModelConfig *m = &t->model;
    m->n_vocab = TASK_AN4_CLASSES;
    m->n_embed = model_asr_input_width(m);
    if (m->n_embed <= 0)
        return err_set(TP_EINVAL, "--conv %d: the convolutions do not fit %d features (--mels)", m->n_conv, m->n_feat);
    TpStatus s = model_asr_config_check(m);
    return s == TP_OK ? TP_OK : err_wrap(s, "--task an4: ");
}

void task_asr_to_json(const Task *t, cJSON *j)
{
    if (!task_is_asr(t)) return;
    cJSON_AddStringToObject(j, "kind", "an4");
    cJSON_AddNumberToObject(j, "n_feat", t->model.n_feat);
    cJSON_AddNumberToObject(j, "max_utts", t->max_utts);
    cJSON_AddItemToObject(j, "freq_mask", cJSON_CreateIntArray(t->freq_mask, 2));
    cJSON_AddItemToObject(j, "time_mask", cJSON_CreateIntArray(t->time_mask, 2));
    cJSON_AddNumberToObject(j, "padded", t->padded);
    cJSON *c = cJSON_AddArrayToObject(j, "conv");
    for (int k = 0; k < t->model.n_conv; k++) {
        const ModelConvLayer *L = &t->model.conv[k];
        int v[7] = {L->filters, L->kt, L->kf, L->st, L->sf, L->pt, L->pf};
        cJSON_AddItemToArray(c, cJSON_CreateIntArray(v, 7));
    }
}

/* A mask pair [N, W]; absent = off (sessions made before SpecAugment). */
static TpStatus mask_from_json(const cJSON *j, const char *key, int out[2])
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
    out[0] = out[1] = 0;
    if (!a) return TP_OK;
    const cJSON *n = cJSON_GetArrayItem(a, 0), *w = cJSON_GetArrayItem(a, 1);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2 || !cJSON_IsNumber(n) || !cJSON_IsNumber(w) ||
        n->valuedouble < 0 || n->valuedouble > 16 || w->valuedouble < 0 || w->valuedouble > 1000)
        return err_set(TP_EFORMAT, "task.%s: expected [N 0..16, W 0..1000]", key);
    out[0] = n->valueint;
    out[1] = w->valueint;
    return TP_OK;
}

TpStatus task_asr_from_json(Task *t, const cJSON *j)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!k) return TP_OK; /* an LM (every manifest before the speech task) */
    if (!cJSON_IsString(k) || (strcmp(k->valuestring, "an4") && strcmp(k->valuestring, "lm")))
        return err_set(TP_EFORMAT, "task.kind: expected \"lm\" or \"an4\"");
    if (!strcmp(k->valuestring, "lm")) return TP_OK;
    t->model.task = MODEL_TASK_ASR;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "n_feat");
    if (!cJSON_IsNumber(v) || v->valuedouble < 8 || v->valuedouble > 256)
        return err_set(TP_EFORMAT, "task.n_feat: expected 8..256");
    t->model.n_feat = v->valueint;
    v = cJSON_GetObjectItemCaseSensitive(j, "max_utts");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e8))
        return err_set(TP_EFORMAT, "task.max_utts: expected 0..100000000");
    t->max_utts = v ? v->valueint : 0;
    TpStatus s = mask_from_json(j, "freq_mask", t->freq_mask);
    if (s == TP_OK) s = mask_from_json(j, "time_mask", t->time_mask);
    if (s != TP_OK) return s;
    v = cJSON_GetObjectItemCaseSensitive(j, "padded"); /* absent: a session made before the padded batch */
    if (v && (!cJSON_IsNumber(v) || (v->valuedouble != 0 && v->valuedouble != 1)))
        return err_set(TP_EFORMAT, "task.padded: expected 0 or 1");
    t->padded = v ? v->valueint : 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "conv");
    int n = cJSON_GetArraySize(c);
    if (!cJSON_IsArray(c) || n < 1 || n > MODEL_MAX_CONV)
        return err_set(TP_EFORMAT, "task.conv: expected 1..%d layers", MODEL_MAX_CONV);
    t->model.n_conv = n;
    for (int i = 0; i < n; i++) {
        const cJSON *L = cJSON_GetArrayItem(c, i);
        int x[7];
        if (!cJSON_IsArray(L) || cJSON_GetArraySize(L) != 7)
            return err_set(TP_EFORMAT, "task.conv[%d]: expected 7 integers", i);
        for (int q = 0; q < 7; q++) {
            const cJSON *e = cJSON_GetArrayItem(L, q);
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 4096)
                return err_set(TP_EFORMAT, "task.conv[%d]: expected integers 0..4096", i);
            x[q] = e->valueint;
        }
        t->model.conv[i] = (ModelConvLayer){x[0], x[1], x[2], x[3], x[4], x[5], x[6]};
    }
    return task_asr_resolve(t);
}
