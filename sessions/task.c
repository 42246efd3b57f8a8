/* sessions/task: see task.h. */
#include "task.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLED "tinyshakespeare.txt"
/* Bound of --seed and --max-steps: cJSON prints numbers with 15 significant digits whenever that
 * reads back within an epsilon, so only integers of up to 15 digits survive the manifest exactly. */
#define TASK_MAX_EXACT 999999999999999L

void task_defaults(Task *t)
{
    memset(t, 0, sizeof *t);
    t->level = CORPUS_CHAR;
    t->model = (ModelConfig){.n_vocab = 0, .n_embed = 64, .n_layers = 2, .hidden = {128, 128},
                             .cell = MODEL_CELL_LSTM, .gate_hidden = 0, .dropout = 0.0f, .init_scale = 0.1f};
    t->train = (TrainConfig){.bptt = 35, .batch = 20, .epochs = 1, .max_steps = 0, .lr = 1.0f, .lr_decay = 0.5f,
                             .decay_start = 4, .clip = 5.0f, .optim = OPTIM_SGD, .seed = 1};
    t->seed = 1;
    t->threads = 2;
    t->eval_batch = 1;
    t->max_vocab = CORPUS_MAX_VOCAB_DEFAULT;
    t->log_every = 100;
    t->undo_confirm = 200;
}

static TpStatus parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return err_set(TP_EINVAL, "%s: expected an integer, got '%s'", opt, s);
    if (v < lo || v > hi) return err_set(TP_ERANGE, "%s: expected %ld..%ld, got %ld", opt, lo, hi, v);
    *out = v;
    return TP_OK;
}

static TpStatus parse_float(const char *opt, const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return err_set(TP_EINVAL, "%s: expected a number, got '%s'", opt, s);
    if (v < lo || v > hi) return err_set(TP_ERANGE, "%s: expected %g..%g, got %g", opt, lo, hi, v);
    *out = (float)v;
    return TP_OK;
}

static TpStatus parse_hidden(Task *t, const char *s)
{
    int n = 0;
    const char *p = s;
    int vals[MODEL_MAX_LAYERS];
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ','))
            return err_set(TP_EINVAL, "--hidden: expected H or H1,H2,..., got '%s'", s);
        if (v < 1 || v > 65536) return err_set(TP_ERANGE, "--hidden: expected 1..65536, got %ld", v);
        if (n == MODEL_MAX_LAYERS) return err_set(TP_ERANGE, "--hidden: at most %d layers", MODEL_MAX_LAYERS);
        vals[n++] = (int)v;
        if (*end == ',' && end[1] == '\0') /* "200," */
            return err_set(TP_EINVAL, "--hidden: expected H or H1,H2,..., got '%s'", s);
        p = *end ? end + 1 : end;
    }
    if (n == 0) return err_set(TP_EINVAL, "--hidden: expected H or H1,H2,..., got '%s'", s);
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) t->model.hidden[l] = vals[l < n ? l : n - 1];
    t->hidden_given = n;
    return TP_OK;
}

TpStatus task_parse_arg(Task *t, int argc, char **argv, int *i, int *matched)
{
    const char *opt = argv[*i];
    *matched = 0;
    static const char *const names[] = {"--data", "--level", "--cell", "--layers", "--hidden", "--embed",
                                        "--gate-hidden", "--bptt", "--batch", "--epochs", "--lr", "--lr-decay",
                                        "--decay-start", "--clip", "--dropout", "--optimizer", "--seed",
                                        "--threads", "--max-steps", "--eval-batch", "--max-vocab", "--init",
                                        "--log-every", "--state-tau", "--tie", NULL};
    int k = 0;
    while (names[k] && strcmp(names[k], opt) != 0) k++;
    if (!names[k]) {
        TpStatus s = task_asr_parse_arg(t, opt, *i + 1 < argc ? argv[*i + 1] : NULL, matched);
        if (*matched) *i += 2;
        return s;
    }
    if (*i + 1 >= argc) return err_set(TP_EINVAL, "%s: missing value", opt);
    const char *v = argv[*i + 1];
    *matched = 1;
    *i += 2;
    long n;
    TpStatus s = TP_OK;
    if (!strcmp(opt, "--data")) {
        if (strlen(v) >= sizeof t->data) return err_set(TP_EINVAL, "--data: path too long");
        snprintf(t->data, sizeof t->data, "%s", v);
    } else if (!strcmp(opt, "--level")) {
        if (!strcmp(v, "word")) t->level = CORPUS_WORD;
        else if (!strcmp(v, "char")) t->level = CORPUS_CHAR;
        else return err_set(TP_EINVAL, "--level: expected word or char, got '%s'", v);
        t->level_set = 1;
    } else if (!strcmp(opt, "--cell")) {
        if (!strcmp(v, "lstm")) t->model.cell = MODEL_CELL_LSTM;
        else if (!strcmp(v, "hlstm")) t->model.cell = MODEL_CELL_HLSTM;
        else return err_set(TP_EINVAL, "--cell: expected lstm or hlstm, got '%s'", v);
    } else if (!strcmp(opt, "--layers")) {
        if ((s = parse_long(opt, v, 1, MODEL_MAX_LAYERS, &n)) == TP_OK) t->model.n_layers = (int)n, t->layers_given = 1;
    } else if (!strcmp(opt, "--hidden")) {
        s = parse_hidden(t, v);
    } else if (!strcmp(opt, "--embed")) {
        if ((s = parse_long(opt, v, 1, 65536, &n)) == TP_OK) t->model.n_embed = (int)n;
    } else if (!strcmp(opt, "--tie")) {
        if ((s = parse_long(opt, v, 0, 1, &n)) == TP_OK) t->model.tie = (int)n;
    } else if (!strcmp(opt, "--gate-hidden")) {
        if ((s = parse_long(opt, v, 1, 65536, &n)) == TP_OK) t->model.gate_hidden = (int)n;
    } else if (!strcmp(opt, "--bptt")) {
        if ((s = parse_long(opt, v, 1, 100000, &n)) == TP_OK) t->train.bptt = (int)n;
    } else if (!strcmp(opt, "--batch")) {
        if ((s = parse_long(opt, v, 1, 100000, &n)) == TP_OK) t->train.batch = (int)n;
    } else if (!strcmp(opt, "--epochs")) {
        if ((s = parse_long(opt, v, 1, 100000, &n)) == TP_OK) t->train.epochs = (int)n;
    } else if (!strcmp(opt, "--max-steps")) {
        if ((s = parse_long(opt, v, 0, TASK_MAX_EXACT, &n)) == TP_OK) t->train.max_steps = n;
    } else if (!strcmp(opt, "--lr")) {
        s = parse_float(opt, v, 1e-9, 1e6, &t->train.lr);
    } else if (!strcmp(opt, "--lr-decay")) {
        s = parse_float(opt, v, 1e-6, 1.0, &t->train.lr_decay);
    } else if (!strcmp(opt, "--decay-start")) {
        if ((s = parse_long(opt, v, 0, 100000, &n)) == TP_OK) t->train.decay_start = (int)n;
    } else if (!strcmp(opt, "--clip")) {
        s = parse_float(opt, v, 0.0, 1e9, &t->train.clip);
    } else if (!strcmp(opt, "--dropout")) {
        s = parse_float(opt, v, 0.0, 0.99, &t->model.dropout);
    } else if (!strcmp(opt, "--init")) {
        s = parse_float(opt, v, 1e-6, 9.0, &t->model.init_scale);
    } else if (!strcmp(opt, "--state-tau")) {
        s = parse_float(opt, v, 0.0, 1000.0, &t->model.state_tau);
    } else if (!strcmp(opt, "--optimizer")) {
        if (!strcmp(v, "sgd")) t->train.optim = OPTIM_SGD;
        else if (!strcmp(v, "adam")) t->train.optim = OPTIM_ADAM;
        else return err_set(TP_EINVAL, "--optimizer: expected sgd or adam, got '%s'", v);
    } else if (!strcmp(opt, "--seed")) {
        if ((s = parse_long(opt, v, 0, TASK_MAX_EXACT, &n)) == TP_OK) t->seed = (uint64_t)n, t->train.seed = (uint64_t)n;
    } else if (!strcmp(opt, "--threads")) {
        if ((s = parse_long(opt, v, 1, 256, &n)) == TP_OK) t->threads = (int)n;
    } else if (!strcmp(opt, "--eval-batch")) {
        if ((s = parse_long(opt, v, 1, 100000, &n)) == TP_OK) t->eval_batch = (int)n;
    } else if (!strcmp(opt, "--max-vocab")) {
        if ((s = parse_long(opt, v, 2, 100000000, &n)) == TP_OK) t->max_vocab = (int)n;
    } else if (!strcmp(opt, "--log-every")) {
        if ((s = parse_long(opt, v, 1, 100000000, &n)) == TP_OK) t->log_every = (int)n;
    }
    if (s == TP_OK) t->given |= (uint64_t)1 << k;
    return s;
}

const char *task_options_help(void)
{
    return "  --data PATH          directory with ptb.{train,valid,test}.txt-style files, or one text file\n"
           "                       split 90/5/5 by lines (default: the bundled tiny-shakespeare)\n"
           "  --level word|char    tokens (default: word for a directory, char for a file)\n"
           "  --cell lstm|hlstm    cell type (default lstm; hlstm: each gate a hidden layer, needs --gate-hidden)\n"
           "  --layers N           stacked layers (default 2)\n"
           "  --hidden H[,H2...]   hidden size per layer (default 128)\n"
           "  --embed E            embedding size (default 64)\n"
           "  --gate-hidden M      H-LSTM gate hidden width (--cell hlstm)\n"
           "  --bptt T             BPTT window (default 35)\n"
           "  --batch B            streams per minibatch (default 20)\n"
           "  --epochs N           epochs (default 1)\n"
           "  --max-steps N        stop after N minibatches (0 = no limit)\n"
           "  --lr X               learning rate (default 1)\n"
           "  --lr-decay X         per-epoch factor after --decay-start epochs (default 0.5)\n"
           "  --decay-start N      epochs at the initial rate (default 4)\n"
           "  --clip X             global gradient-norm clip (default 5, 0 = off)\n"
           "  --dropout P          Zaremba dropout on non-recurrent connections (default 0)\n"
           "  --init S             initialise weights U(-S, S) (default 0.1)\n"
           "  --tie 0|1            1: one matrix is both the embedding and the decoder (Press & Wolf;\n"
           "                       needs --embed = the last layer's --hidden; default 0)\n"
           "  --state-tau T        hidden-state threshold: h = 0 where |h| <= T (default 0 = off)\n"
           "  --optimizer sgd|adam (default sgd)\n"
           "  --seed S             random seed (default 1)\n"
           "  --threads N          BLAS threads (default 2)\n"
           "  --eval-batch B       evaluate with B streams instead of 1 (faster, says so)\n"
           "  --max-vocab N        refuse a vocabulary larger than N\n"
           "  --log-every N        metrics row every N steps (default 100)\n"
           "  --task lm|an4        the task: a language model (default) or speech recognition on AN4 (--data\n"
           "                       the AN4 directory; sets its defaults: 2x128 bidirectional LSTM, dropout 0.2,\n"
           "                       adam 1e-3, batch 16 utterances, 100 epochs, the rate x0.95 an epoch after\n"
           "                       epoch 40, on options not given before it)\n"
           "  --mels F             an4: log-mel features per frame (default 40)\n"
           "  --conv N             an4: convolution layers in front, 1 or 2 (default 1)\n"
           "  --max-utts N         an4: only the first N utterances of each split (smoke runs; 0 = all)\n"
           "  --padded 1|0         an4: a minibatch's utterances as one padded batch (1, the default of new\n"
           "                       sessions: matrix-matrix products) or one at a time (0: sessions made before it)\n"
           "  --freq-mask NxW      an4: SpecAugment, N bands of up to W features zeroed in each training\n"
           "                       utterance (default 2x8; 0x0 = off)\n"
           "  --time-mask NxW      an4: SpecAugment, N spans of up to W frames (and a fifth of the utterance)\n"
           "                       zeroed in each training utterance (default 2x20; 0x0 = off)\n";
}

TpStatus task_bundled_corpus(char *buf, size_t n)
{
    struct stat st;
    const char *env = getenv("TOPIARY_DATA");
    if (env && *env) {
        snprintf(buf, n, "%s/" BUNDLED, env);
        if (stat(buf, &st) == 0) return TP_OK;
    }
    snprintf(buf, n, "data/" BUNDLED);
    if (stat(buf, &st) == 0) return TP_OK;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(buf, n, "%s/../data/" BUNDLED, exe);
        if (stat(buf, &st) == 0) return TP_OK;
        snprintf(buf, n, "%s/../share/topiary/" BUNDLED, exe);
        if (stat(buf, &st) == 0) return TP_OK;
    }
    return err_set(TP_ENOENT, "bundled corpus %s not found (set TOPIARY_DATA or pass --data)", BUNDLED);
}

TpStatus task_resolve(Task *t)
{
    if (!t->data[0]) {
        TpStatus s = task_bundled_corpus(t->data, sizeof t->data);
        if (s != TP_OK) return s;
    }
    struct stat st;
    if (stat(t->data, &st) != 0) return err_set(TP_ENOENT, "--data %s: %s", t->data, strerror(errno));
    if (!t->level_set) t->level = S_ISDIR(st.st_mode) ? CORPUS_WORD : CORPUS_CHAR;
    /* --hidden 650,650,650 alone means three layers; with --layers the counts must agree */
    if (t->hidden_given > 1) {
        if (!t->layers_given) t->model.n_layers = t->hidden_given;
        else if (t->hidden_given != t->model.n_layers)
            return err_set(TP_EINVAL, "--hidden lists %d sizes but --layers is %d", t->hidden_given, t->model.n_layers);
    }
    t->train.seed = t->seed;
    return task_is_asr(t) ? task_asr_resolve(t) : TP_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

cJSON *task_to_json(const Task *t)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "data", t->data);
    cJSON_AddStringToObject(j, "level", t->level == CORPUS_WORD ? "word" : "char");
    cJSON_AddStringToObject(j, "cell", t->model.cell == MODEL_CELL_HLSTM ? "hlstm" : "lstm");
    cJSON_AddNumberToObject(j, "layers", t->model.n_layers);
    cJSON *h = cJSON_AddArrayToObject(j, "hidden");
    for (int l = 0; l < t->model.n_layers; l++) cJSON_AddItemToArray(h, cJSON_CreateNumber(t->model.hidden[l]));
    cJSON_AddNumberToObject(j, "embed", t->model.n_embed);
    cJSON_AddNumberToObject(j, "vocab", t->model.n_vocab);
    cJSON_AddNumberToObject(j, "gate_hidden", t->model.gate_hidden);
    cJSON_AddNumberToObject(j, "tie", t->model.tie);
    cJSON_AddNumberToObject(j, "dropout", t->model.dropout);
    cJSON_AddNumberToObject(j, "init", t->model.init_scale);
    cJSON_AddNumberToObject(j, "state_tau", t->model.state_tau);
    cJSON_AddNumberToObject(j, "bptt", t->train.bptt);
    cJSON_AddNumberToObject(j, "batch", t->train.batch);
    cJSON_AddNumberToObject(j, "epochs", t->train.epochs);
    cJSON_AddNumberToObject(j, "max_steps", (double)t->train.max_steps);
    cJSON_AddNumberToObject(j, "lr", t->train.lr);
    cJSON_AddNumberToObject(j, "lr_decay", t->train.lr_decay);
    cJSON_AddNumberToObject(j, "decay_start", t->train.decay_start);
    cJSON_AddNumberToObject(j, "clip", t->train.clip);
    cJSON_AddStringToObject(j, "optimizer", optim_name(t->train.optim));
    cJSON_AddNumberToObject(j, "seed", (double)t->seed);
    cJSON_AddNumberToObject(j, "threads", t->threads);
    cJSON_AddNumberToObject(j, "eval_batch", t->eval_batch);
    cJSON_AddNumberToObject(j, "max_vocab", t->max_vocab);
    cJSON_AddNumberToObject(j, "log_every", t->log_every);
    cJSON_AddNumberToObject(j, "undo_confirm", t->undo_confirm);
    task_asr_to_json(t, j);
    if (t->teacher[0]) {
        cJSON *d = cJSON_AddObjectToObject(j, "distill");
        char crc[16];
        snprintf(crc, sizeof crc, "%08x", (unsigned)t->teacher_crc);
        cJSON_AddStringToObject(d, "teacher", t->teacher);
        cJSON_AddNumberToObject(d, "alpha", t->distill_alpha);
        cJSON_AddStringToObject(d, "crc32", crc);
    }
    return j;
}

/* task "distill": {"teacher": path, "alpha": 0..1, "crc32": 8 hex digits}; absent = no teacher */
static TpStatus distill_from_json(Task *t, const cJSON *j)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "distill");
    t->teacher[0] = '\0';
    t->distill_alpha = 0.0f;
    t->teacher_crc = 0;
    if (!d) return TP_OK;
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(d, "teacher"), *a = cJSON_GetObjectItemCaseSensitive(d, "alpha"),
                *c = cJSON_GetObjectItemCaseSensitive(d, "crc32");
    char *end = NULL;
    if (!cJSON_IsObject(d) || !cJSON_IsString(te) || !te->valuestring[0] || strlen(te->valuestring) >= sizeof t->teacher ||
        !cJSON_IsNumber(a) || !(a->valuedouble >= 0.0 && a->valuedouble <= 1.0) || !cJSON_IsString(c) ||
        strlen(c->valuestring) != 8 || (strtoul(c->valuestring, &end, 16), *end != '\0'))
        return err_set(TP_EFORMAT, "task.distill: expected {\"teacher\": a path, \"alpha\": 0..1, \"crc32\": 8 hex digits}");
    snprintf(t->teacher, sizeof t->teacher, "%s", te->valuestring);
    t->distill_alpha = (float)a->valuedouble;
    t->teacher_crc = (uint32_t)strtoul(c->valuestring, NULL, 16);
    return TP_OK;
}

static int get_num(const cJSON *j, const char *k, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) return -1;
    *out = v->valuedouble;
    return 1;
}

TpStatus task_from_json(Task *t, const cJSON *j)
{
    if (!cJSON_IsObject(j)) return err_set(TP_EFORMAT, "task: expected a JSON object");
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "data"))) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof t->data)
            return err_set(TP_EFORMAT, "task.data: expected a path string");
        snprintf(t->data, sizeof t->data, "%s", v->valuestring);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "level"))) {
        if (!cJSON_IsString(v) || (strcmp(v->valuestring, "word") && strcmp(v->valuestring, "char")))
            return err_set(TP_EFORMAT, "task.level: expected \"word\" or \"char\"");
        t->level = strcmp(v->valuestring, "word") ? CORPUS_CHAR : CORPUS_WORD;
        t->level_set = 1;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "cell"))) {
        if (!cJSON_IsString(v) || (strcmp(v->valuestring, "lstm") && strcmp(v->valuestring, "hlstm")))
            return err_set(TP_EFORMAT, "task.cell: expected \"lstm\" or \"hlstm\"");
        t->model.cell = strcmp(v->valuestring, "lstm") ? MODEL_CELL_HLSTM : MODEL_CELL_LSTM;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "optimizer"))) {
        if (!cJSON_IsString(v) || (strcmp(v->valuestring, "sgd") && strcmp(v->valuestring, "adam")))
            return err_set(TP_EFORMAT, "task.optimizer: expected \"sgd\" or \"adam\"");
        t->train.optim = strcmp(v->valuestring, "sgd") ? OPTIM_ADAM : OPTIM_SGD;
    }
    struct { const char *k; double lo, hi; int kind; void *p; } f[] = {
        {"layers", 1, MODEL_MAX_LAYERS, 0, &t->model.n_layers}, {"embed", 1, 65536, 0, &t->model.n_embed},
        {"vocab", 0, 1e8, 0, &t->model.n_vocab}, {"gate_hidden", 0, 65536, 0, &t->model.gate_hidden},
        {"tie", 0, 1, 0, &t->model.tie},
        {"dropout", 0, 0.99, 1, &t->model.dropout}, {"init", 1e-6, 9, 1, &t->model.init_scale},
        {"state_tau", 0, 1000, 1, &t->model.state_tau},
        {"bptt", 1, 100000, 0, &t->train.bptt}, {"batch", 1, 100000, 0, &t->train.batch},
        {"epochs", 1, 100000, 0, &t->train.epochs}, {"max_steps", 0, 9e15, 2, &t->train.max_steps},
        {"lr", 1e-9, 1e6, 1, &t->train.lr}, {"lr_decay", 1e-6, 1, 1, &t->train.lr_decay},
        {"decay_start", 0, 100000, 0, &t->train.decay_start}, {"clip", 0, 1e9, 1, &t->train.clip},
        {"threads", 1, 256, 0, &t->threads}, {"eval_batch", 1, 100000, 0, &t->eval_batch},
        {"max_vocab", 2, 1e8, 0, &t->max_vocab}, {"log_every", 1, 1e8, 0, &t->log_every},
        {"undo_confirm", 0, 1e9, 0, &t->undo_confirm},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        double d, lo = f[i].lo, hi = f[i].hi;
        if (f[i].kind == 1) lo = (float)lo, hi = (float)hi; /* the float the CLI stored, e.g. 0.99f > 0.99 */
        int r = get_num(j, f[i].k, lo, hi, &d);
        if (r < 0) return err_set(TP_EFORMAT, "task.%s: expected a number in %g..%g", f[i].k, f[i].lo, f[i].hi);
        if (r == 0) continue;
        if (f[i].kind == 0) *(int *)f[i].p = (int)d;
        else if (f[i].kind == 1) *(float *)f[i].p = (float)d;
        else *(long *)f[i].p = (long)d;
    }
    double d;
    int r = get_num(j, "seed", 0, 9.2e18, &d);
    if (r < 0) return err_set(TP_EFORMAT, "task.seed: expected a non-negative number");
    if (r > 0) t->seed = t->train.seed = (uint64_t)d;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "hidden"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != t->model.n_layers)
            return err_set(TP_EFORMAT, "task.hidden: expected an array of %d sizes", t->model.n_layers);
        for (int l = 0; l < t->model.n_layers; l++) {
            const cJSON *e = cJSON_GetArrayItem(v, l);
            if (!cJSON_IsNumber(e) || e->valuedouble < 1 || e->valuedouble > 65536)
                return err_set(TP_EFORMAT, "task.hidden[%d]: expected 1..65536", l);
            t->model.hidden[l] = e->valueint;
        }
    }
    TpStatus st = distill_from_json(t, j);
    return st != TP_OK ? st : task_asr_from_json(t, j);
}
