/* sessions/session: see session.h. */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/backend.h"
#include "engine/safetensors_writer.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/tree.h"
#include "sessions/journal.h"
#include "sessions/manifest.h"
#include "sessions/distill.h"
#include "sessions/modelio.h"

#define VOCAB_MAX_BYTES (1u << 30)

int session_exists(const char *dir)
{
    char p[4200];
    path_join(p, sizeof p, dir, "manifest.json");
    return fsutil_exists(p);
}

static TpStatus build(Session *s)
{
    TpStatus st;
    Task *t = &s->task;
    if ((st = backend_set_threads(t->threads)) != TP_OK) return st;
    t->model.n_vocab = s->corpus.n_vocab;
    rng_seed(&s->init_rng, t->seed);
    if ((st = model_init(&s->model, &t->model, &s->init_rng)) != TP_OK) return st;
    if (task_is_asr(t)) {
        st = speech_trainer_init(s->speech, t, &s->model, &s->trainer);
        return st == TP_OK ? gpstate_init(&s->gp, &s->model) : st;
    }
    /* --max-steps limits one run (the CLI counts it), not the session */
    TrainConfig tc = t->train;
    tc.max_steps = 0;
    st = train_init(&s->trainer, &s->model, s->corpus.ids[CORPUS_TRAIN], s->corpus.n_ids[CORPUS_TRAIN], &tc);
    if (st == TP_OK) st = gpstate_init(&s->gp, &s->model);
    return st;
}

/* Names a session keeps in its directory (besides manifest.json): with manifest.json missing, any of
 * them marks a damaged session, which is never re-created over. */
static const char *const SESSION_FILES[] = {"model.safetensors", "model.safetensors.new", "vocab.json", "journal.txt",
                                            "metrics.tsv", "latency.tsv", "snapshots", NULL};

TpStatus session_check_new_dir(const char *dir)
{
    if (session_exists(dir))
        return err_set(TP_EINVAL, "session %s already exists (open it without task options, or pick a new directory)", dir);
    int empty = 0;
    TpStatus st = tree_dir_is_empty(dir, &empty);
    if (st != TP_OK) return err_wrap(st, "--session: a new session needs an empty or absent directory: ");
    if (empty) return TP_OK;
    DIR *d = opendir(dir);
    if (!d) return err_set(TP_EIO, "%s: %s", dir, strerror(errno));
    char found[256] = "", other[256] = "";
    int has_snapshots = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "lock")) continue; /* a creator's lock: ours to take */
        int known = 0;
        for (int i = 0; SESSION_FILES[i] && !known; i++) known = !strcmp(n, SESSION_FILES[i]);
        char *to = known ? found : other;
        size_t len = strlen(to);
        if (len < 180) snprintf(to + len, 256 - len, "%s%.60s", len ? ", " : "", n);
        has_snapshots |= !strcmp(n, "snapshots");
    }
    closedir(d);
    if (found[0])
        return err_set(TP_EINVAL, "%s is a damaged session: manifest.json is missing, but it holds %s; refusing to create a "
                       "new session over them (%s, or start the new session in another directory)", dir, found,
                       has_snapshots ? "to recover, copy manifest.json and model.safetensors of one of snapshots/*/ "
                                       "back into it" : "move those files away");
    if (!other[0]) return TP_OK; /* only a lock file left by a creator that died */
    return err_set(TP_EINVAL, "%s is not empty and is not a session (it holds %s); a new session needs an empty or "
                   "absent directory", dir, other);
}

TpStatus session_create_prepare(Session *s, const char *dir, const Task *task)
{
    memset(s, 0, sizeof *s);
    s->valid_ppl = s->valid_wer = s->valid_cer = NAN;
    TpStatus st;
    if (strlen(dir) >= sizeof s->dir - 32) return err_set(TP_EINVAL, "--session: path too long");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if ((st = session_check_new_dir(dir)) != TP_OK) return st;
    s->task = *task;
    if ((st = task_resolve(&s->task)) != TP_OK) goto fail;
    if (task_is_asr(&s->task)) st = speech_load(&s->speech, &s->task, &s->corpus);
    else st = corpus_load(&s->corpus, s->task.data, s->task.level, s->task.max_vocab);
    if (st != TP_OK) goto fail;
    if ((st = build(s)) != TP_OK) goto fail;
    s->journal_committed = 0;
    s->journal_recovered = 1;
    return TP_OK;
fail:
    session_free(s);
    return st;
}

TpStatus session_create_write(Session *s)
{
    TpStatus st;
    char p[4200];
    if ((st = fsutil_mkdir_p(s->dir)) != TP_OK) return st;
    if ((st = session_check_new_dir(s->dir)) != TP_OK) return st;
    path_join(p, sizeof p, s->dir, "metrics.tsv");
    const char *head = session_metrics_header(s);
    if ((st = fsutil_write_atomic(p, head, strlen(head))) != TP_OK) return st;
    return session_save(s);
}

TpStatus session_create_files(Session *s, const char *dir, const Task *task)
{
    TpStatus st = session_create_prepare(s, dir, task);
    if (st == TP_OK && (st = session_create_write(s)) != TP_OK) session_free(s);
    return st;
}

/* ---- save --------------------------------------------------------------------------------- */

static TpStatus add_tensor(SafetensorsWriter *w, const char *prefix, const ModelParam *p, const void *data,
                           SafetensorsDtype dt)
{
    char name[96];
    snprintf(name, sizeof name, "%s%s", prefix, p->name);
    int64_t shape[2] = {p->rows, p->cols};
    return safetensors_writer_add(w, name, dt, p->cols == 1 ? 1 : 2, shape, data);
}

static TpStatus write_model(const Session *s, const char *path)
{
    const Model *m = &s->model;
    const Trainer *tr = &s->trainer;
    SafetensorsWriter *w = safetensors_writer_new();
    if (!w) return err_set(TP_ENOMEM, "save: out of memory");
    TpStatus st = TP_OK;
    for (int i = 0; i < m->n_tensors && st == TP_OK; i++) {
        const ModelParam *p = &m->p[i];
        st = add_tensor(w, "", p, m->w + p->off, SAFETENSORS_F32);
        if (st == TP_OK) st = add_tensor(w, "mask.", p, m->mask + p->off, SAFETENSORS_U8);
        if (st == TP_OK && tr->opt.m) st = add_tensor(w, "optim.m.", p, tr->opt.m + p->off, SAFETENSORS_F32);
        if (st == TP_OK && tr->opt.v) st = add_tensor(w, "optim.v.", p, tr->opt.v + p->off, SAFETENSORS_F32);
    }
    /* the pruning history matters only for non-recoverable growth: written when not empty */
    int any_pruned = 0;
    for (size_t i = 0; s->gp.ever_pruned && i < m->n_params && !any_pruned; i++) any_pruned = s->gp.ever_pruned[i];
    for (int i = 0; i < m->n_tensors && st == TP_OK && any_pruned; i++)
        st = add_tensor(w, "ever_pruned.", &m->p[i], s->gp.ever_pruned + m->p[i].off, SAFETENSORS_U8);
    /* a GP schedule in progress: its last good copy and the gradients accumulated for growth, so a
     * reopened session goes on exactly where it stopped (the manifest's schedule.progress says which) */
    const Schedule *sc = &s->gp.sched;
    int has_good = sc->cfg.kind != SCHEDULE_OFF && sc->n_good == m->n_params && sc->good_w && sc->good_mask;
    for (int i = 0; i < m->n_tensors && st == TP_OK && has_good; i++) {
        st = add_tensor(w, "schedule.good.", &m->p[i], sc->good_w + m->p[i].off, SAFETENSORS_F32);
        if (st == TP_OK) st = add_tensor(w, "schedule.good_mask.", &m->p[i], sc->good_mask + m->p[i].off, SAFETENSORS_U8);
    }
    int has_acc = s->gp.acc.n_batches > 0 && s->gp.acc.n == m->n_params && s->gp.acc.sum;
    for (int i = 0; i < m->n_tensors && st == TP_OK && has_acc; i++)
        st = add_tensor(w, "grow.accum.", &m->p[i], s->gp.acc.sum + m->p[i].off, SAFETENSORS_F32);
    /* a weight average in progress (engine/train's TrainAverage): its mean, count in the manifest */
    for (int i = 0; i < m->n_tensors && st == TP_OK && tr->avg.mean && tr->avg.n == m->n_params; i++)
        st = add_tensor(w, "average.", &m->p[i], tr->avg.mean + m->p[i].off, SAFETENSORS_F32);
    for (int l = 0; l < m->cfg.n_layers && st == TP_OK && tr->state.B > 0; l++) { /* the speech task: none */
        char name[32];
        int64_t shape[2] = {tr->state.B, m->cfg.hidden[l]};
        snprintf(name, sizeof name, "state.h.l%d", l);
        st = safetensors_writer_add(w, name, SAFETENSORS_F32, 2, shape, tr->state.h[l]);
        snprintf(name, sizeof name, "state.c.l%d", l);
        if (st == TP_OK) st = safetensors_writer_add(w, name, SAFETENSORS_F32, 2, shape, tr->state.c[l]);
    }
    if (st == TP_OK) {
        cJSON *j = task_to_json(&s->task);
        char *txt = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        st = txt ? safetensors_writer_meta(w, "topiary", txt) : err_set(TP_ENOMEM, "save: out of memory");
        free(txt);
    }
    if (st == TP_OK) st = safetensors_writer_save(w, path);
    safetensors_writer_delete(w);
    return st;
}

static size_t true_params(const Model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++) n += m->p[i].n;  /* n_params also counts alignment padding */
    return n;
}

/* Write model.safetensors and manifest.json of the session's current state into dir; the manifest
 * is the commit point (sessions/manifest: a crash at any point leaves a manifest whose files match). */
TpStatus session_write_state(const Session *s, const char *dir, const char *reason)
{
    TpStatus st;
    char pn[4200];
    if ((st = path_join(pn, sizeof pn, dir, "model.safetensors.new")) != TP_OK) return err_wrap(st, "save: ");
    if ((st = manifest_finish_interrupted_save(dir)) != TP_OK) return err_wrap(st, "save %s: ", dir);
    if ((st = write_model(s, pn)) != TP_OK) return err_wrap(st, "save %s: ", dir);
    const Trainer *tr = &s->trainer;
    cJSON *man = manifest_new(reason);
    if (!man) return err_set(TP_ENOMEM, "save: out of memory");
    cJSON_AddItemToObject(man, "task", task_to_json(&s->task));
    cJSON *mo = cJSON_AddObjectToObject(man, "model");
    cJSON_AddNumberToObject(mo, "params", (double)true_params(&s->model));
    cJSON_AddNumberToObject(mo, "nnz", (double)model_nnz(&s->model));
    cJSON *state = cJSON_AddObjectToObject(man, "state");
    cJSON_AddNumberToObject(state, "step", (double)tr->step);
    cJSON_AddNumberToObject(state, "epoch", tr->epoch);
    cJSON_AddNumberToObject(state, "window", (double)tr->window);
    manifest_add_exact(state, "epoch_nll", tr->ep_nll);
    cJSON_AddNumberToObject(state, "epoch_tokens", (double)tr->ep_tokens);
    manifest_add_exact(state, "lr", tr->opt.lr);
    cJSON_AddNumberToObject(state, "adam_t", (double)tr->opt.t);
    manifest_add_exact(state, "valid_ppl", isfinite(s->valid_ppl) ? s->valid_ppl : -1.0);
    manifest_add_exact(state, "wall_seconds", s->wall_seconds);
    if (task_is_asr(&s->task)) {
        manifest_add_exact(state, "valid_wer", isfinite(s->valid_wer) ? s->valid_wer : -1.0);
        manifest_add_exact(state, "valid_cer", isfinite(s->valid_cer) ? s->valid_cer : -1.0);
    }
    cJSON *rng = cJSON_AddArrayToObject(state, "rng");
    for (int i = 0; i < 4; i++) {
        char hex[20];
        snprintf(hex, sizeof hex, "%016" PRIx64, tr->rng.s[i]);
        cJSON_AddItemToArray(rng, cJSON_CreateString(hex));
    }
    if (tr->avg.mean && tr->avg.n == s->model.n_params) {
        cJSON *av = cJSON_AddObjectToObject(state, "average");
        cJSON_AddNumberToObject(av, "start", (double)tr->avg.start);
        cJSON_AddNumberToObject(av, "every", tr->avg.every);
        cJSON_AddNumberToObject(av, "count", (double)tr->avg.count);
    }
    gpstate_to_json(&s->gp, s->model.n_params, man);
    /* the journal's position: its lines up to here are this state (a snapshot records the session's) */
    long jb = 0;
    if ((st = journal_size(s->dir, &jb)) != TP_OK) {
        cJSON_Delete(man);
        return err_wrap(st, "save %s: ", dir);
    }
    cJSON *commit = cJSON_AddObjectToObject(man, "commit");
    cJSON_AddNumberToObject(commit, "journal_bytes", (double)jb);
    if (s->undo_dropped[0] && !strcmp(dir, s->dir)) cJSON_AddStringToObject(commit, "undo_dropped", s->undo_dropped);
    return manifest_commit(man, dir);
}

TpStatus session_recover_journal(Session *s, int *dropped)
{
    int d = 0;
    if (dropped) *dropped = 0;
    if (s->journal_recovered) return TP_OK;
    TpStatus st = journal_truncate(s->dir, s->journal_committed, &d);
    if (st != TP_OK) return st;
    s->journal_recovered = 1;
    if (dropped) *dropped = d;
    return TP_OK;
}

TpStatus session_save(Session *s)
{
    char p[4200];
    TpStatus st;
    path_join(p, sizeof p, s->dir, "vocab.json");
    if (!fsutil_exists(p) && (st = modelio_write_vocab(&s->corpus, p)) != TP_OK) return err_wrap(st, "save %s: ", s->dir);
    if ((st = session_recover_journal(s, NULL)) != TP_OK) return err_wrap(st, "save %s: ", s->dir);
    long jb = 0;
    if ((st = journal_size(s->dir, &jb)) != TP_OK) return err_wrap(st, "save %s: ", s->dir);
    if ((st = session_write_state(s, s->dir, NULL)) != TP_OK) return st;
    s->journal_committed = jb;
    return TP_OK;
}

/* ---- open --------------------------------------------------------------------------------- */

/* A registry tensor as add_tensor writes it: 1-D when it has one column. */
static TpStatus load_param(const SafetensorsFile *f, const char *path, const char *name, SafetensorsDtype dt,
                           const ModelParam *p, void *dst)
{
    return modelio_load_tensor(f, path, name, dt, p->cols == 1 ? 1 : 2, p->rows, p->cols, "expected", dst);
}

static TpStatus load_state_tensor(const SafetensorsFile *f, const char *path, const char *name, int B, int H, float *dst)
{
    return modelio_load_tensor(f, path, name, SAFETENSORS_F32, 2, B, H, "expected", dst);
}

/* The model file into s; with a schedule in progress (gpstate_from_json ran first) also its
 * last good copy (when room was made for it) and acc_batches minibatches of growth accumulator. */
static TpStatus load_model(Session *s, const char *path, int acc_batches)
{
    SafetensorsFile f = {0};
    TpStatus st = safetensors_read(&f, path, NULL);
    if (st != TP_OK) return st;
    Model *m = &s->model;
    Trainer *tr = &s->trainer;
    char name[96];
    for (int i = 0; i < m->n_tensors && st == TP_OK; i++) {
        const ModelParam *p = &m->p[i];
        st = load_param(&f, path, p->name, SAFETENSORS_F32, p, m->w + p->off);
        snprintf(name, sizeof name, "mask.%s", p->name);
        if (st == TP_OK) st = load_param(&f, path, name, SAFETENSORS_U8, p, m->mask + p->off);
        snprintf(name, sizeof name, "optim.m.%s", p->name);
        if (st == TP_OK && tr->opt.m) st = load_param(&f, path, name, SAFETENSORS_F32, p, tr->opt.m + p->off);
        snprintf(name, sizeof name, "optim.v.%s", p->name);
        if (st == TP_OK && tr->opt.v) st = load_param(&f, path, name, SAFETENSORS_F32, p, tr->opt.v + p->off);
    }
    for (int i = 0; i < m->n_tensors && st == TP_OK && tr->avg.mean; i++) {
        const ModelParam *p = &m->p[i];
        snprintf(name, sizeof name, "average.%s", p->name);
        st = load_param(&f, path, name, SAFETENSORS_F32, p, tr->avg.mean + p->off);
    }
    for (int l = 0; l < m->cfg.n_layers && st == TP_OK && tr->state.B > 0; l++) {
        snprintf(name, sizeof name, "state.h.l%d", l);
        st = load_state_tensor(&f, path, name, tr->state.B, m->cfg.hidden[l], tr->state.h[l]);
        snprintf(name, sizeof name, "state.c.l%d", l);
        if (st == TP_OK) st = load_state_tensor(&f, path, name, tr->state.B, m->cfg.hidden[l], tr->state.c[l]);
    }
    for (int i = 0; i < m->n_tensors && st == TP_OK; i++) {
        const ModelParam *p = &m->p[i];
        snprintf(name, sizeof name, "ever_pruned.%s", p->name);
        if (safetensors_find(&f, name))
            st = load_param(&f, path, name, SAFETENSORS_U8, p, s->gp.ever_pruned + p->off);
        else
            memset(s->gp.ever_pruned + p->off, 0, p->n);
    }
    Schedule *sd = &s->gp.sched;
    for (int i = 0; i < m->n_tensors && st == TP_OK && (sd->good_w || acc_batches); i++) {
        const ModelParam *p = &m->p[i];
        if (sd->good_w) {
            snprintf(name, sizeof name, "schedule.good.%s", p->name);
            st = load_param(&f, path, name, SAFETENSORS_F32, p, sd->good_w + p->off);
            snprintf(name, sizeof name, "schedule.good_mask.%s", p->name);
            if (st == TP_OK) st = load_param(&f, path, name, SAFETENSORS_U8, p, sd->good_mask + p->off);
        }
        if (acc_batches && st == TP_OK) {
            snprintf(name, sizeof name, "grow.accum.%s", p->name);
            st = load_param(&f, path, name, SAFETENSORS_F32, p, s->gp.acc.sum + p->off);
        }
    }
    if (st == TP_OK) s->gp.acc.n_batches = acc_batches;
    for (size_t i = 0; i < m->n_params && st == TP_OK; i++)
        if (m->mask[i] > 1 || (sd->good_mask && sd->good_mask[i] > 1))
            st = err_set(TP_EFORMAT, "%s: mask value %u is not 0 or 1", path, m->mask[i] > 1 ? m->mask[i] : sd->good_mask[i]);
    if (st != TP_OK) schedule_free(sd);
    safetensors_free(&f);
    return st;
}

/* The manifest's state.average (a weight average in progress): the trainer's average begun with its
 * start, every and count (the mean is read by load_model), or ended when the state has none. */
static TpStatus load_average(Session *s, const cJSON *state, const char *dir)
{
    Trainer *tr = &s->trainer;
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(state, "average");
    train_average_end(tr);
    if (!av) return TP_OK;
    const double BIG = 9007199254740992.0;
    double start, every, count;
    TpStatus st = manifest_int_in(av, "start", 0, BIG, -1, &start);
    if (st == TP_OK) st = manifest_int_in(av, "every", 1, 1e9, -1, &every);
    if (st == TP_OK) st = manifest_int_in(av, "count", 0, BIG, -1, &count);
    if (st != TP_OK) return err_wrap(st, "%s/manifest.json: state.average.", dir);
    if (start < 0 || every < 1 || count < 0)
        return err_set(TP_EFORMAT, "%s/manifest.json: state.average needs start, every and count", dir);
    if ((st = train_average_begin(tr, (int)every)) != TP_OK) return st;
    tr->avg.start = (long)start;
    tr->avg.count = (long)count;
    return TP_OK;
}

static int same_architecture(const ModelConfig *a, const ModelConfig *b)
{
    if (a->n_vocab != b->n_vocab || a->n_embed != b->n_embed || a->n_layers != b->n_layers || a->cell != b->cell ||
        a->gate_hidden != b->gate_hidden || a->tie != b->tie)
        return 0;
    for (int l = 0; l < a->n_layers; l++)
        if (a->hidden[l] != b->hidden[l]) return 0;
    return 1;
}

/* The manifest has no checksum of its own: before allocating the model its task describes, check
 * that model.safetensors (size and CRC just verified) is big enough to hold that model's weights, so
 * that a damaged size ("hidden": [65536]) is refused naming the file instead of exhausting memory.
 * The count mirrors engine/model's registry (embedding, per layer LSTM w_ih w_hh b_ih b_hh or H-LSTM
 * fc1/fc2 with biases, decoder); the 4 bytes per weight alone leave room for small differences. */
static TpStatus check_model_fits(const ModelConfig *c, const char *dir, const char *model_path)
{
    double n = (double)c->n_vocab * c->n_embed, in = c->n_embed;
    for (int l = 0; l < c->n_layers; l++) {
        double H = c->hidden[l], M = c->gate_hidden;
        n += c->cell == MODEL_CELL_HLSTM ? 4 * M * (in + H) + 4 * M + 4 * H * M + 4 * H : 4 * H * (in + H) + 8 * H;
        in = H;
    }
    n += (double)c->n_vocab * (c->tie ? 1 : in + 1); /* tied: the decoder's weight is the embedding */
    size_t na = 0; /* the speech model: its own count (no embedding, two directions, convolutions) */
    if (c->task == MODEL_TASK_ASR) n = model_count_params(c, &na) == TP_OK ? (double)na : 0.0;
    struct stat sb;
    if (stat(model_path, &sb) != 0) return err_set(TP_EIO, "%s: %s", model_path, strerror(errno));
    if (4.0 * n > (double)sb.st_size)
        return err_set(TP_EFORMAT, "%s/manifest.json: the task describes a model of %.0f parameters, but %s holds only "
                       "%lld bytes", dir, n, model_path, (long long)sb.st_size);
    return TP_OK;
}

/* Load weights, masks, optimizer, carried state and trainer position from a manifest whose files
 * were checked.  The architecture may differ from the session's (a snapshot taken before a resize):
 * the model and trainer are then rebuilt to the recorded one first. */
static TpStatus load_state(Session *s, const cJSON *man, const char *dir, const char *model_path)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(man, "state");
    Task t = s->task;
    TpStatus st = task_from_json(&t, cJSON_GetObjectItemCaseSensitive(man, "task"));
    if (st != TP_OK) return err_wrap(st, "%s/manifest.json: ", dir);
    t.model.n_vocab = s->corpus.n_vocab;
    if (!same_architecture(&t.model, &s->model.cfg) || t.train.batch != s->trainer.cfg.batch ||
        t.train.bptt != s->trainer.cfg.bptt || t.train.optim != s->trainer.cfg.optim) {
        if ((st = check_model_fits(&t.model, dir, model_path)) != TP_OK) return st;
        train_free(&s->trainer);
        model_free(&s->model);
        /* the teacher is a setting of the session, not of the state restored (sessions/distill) */
        memcpy(t.teacher, s->task.teacher, sizeof t.teacher);
        t.distill_alpha = s->task.distill_alpha;
        t.teacher_crc = s->task.teacher_crc;
        s->task = t;
        if ((st = build(s)) != TP_OK) return st;
    }
    /* the threshold is a setting of the state, not of the architecture: it follows undo/restore */
    s->task.model.state_tau = s->model.cfg.state_tau = t.model.state_tau;
    /* a schedule in progress goes on where it stopped: its progress from the manifest, its good copy
     * and the growth accumulator from the model file (load_schedule_progress, then load_model) */
    int acc_batches = 0;
    if ((st = gpstate_from_json(&s->gp, &s->model, man, dir, &acc_batches)) != TP_OK) return st;
    if ((st = load_average(s, state, dir)) != TP_OK) return st;
    if ((st = load_model(s, model_path, acc_batches)) != TP_OK) return st;
    Trainer *tr = &s->trainer;
    /* integers range-checked before the cast: a step of 2^70 was read as INT64_MIN */
    static const char *const IK[5] = {"step", "epoch", "window", "epoch_tokens", "adam_t"};
    const double BIG = 9007199254740992.0; /* 2^53: every integer up to it is exact in a double */
    double iv[5];
    for (int i = 0; i < 5; i++)
        if ((st = manifest_int_in(state, IK[i], i == 1, i == 1 ? INT_MAX : BIG, i == 1, &iv[i])) != TP_OK)
            return err_wrap(st, "%s/manifest.json: state.", dir);
    tr->step = (long)iv[0];
    tr->epoch = (int)iv[1];
    tr->window = (size_t)iv[2];
    tr->ep_nll = manifest_num(state, "epoch_nll", 0);
    tr->ep_tokens = (long)iv[3];
    tr->opt.lr = (float)manifest_num(state, "lr", tr->opt.lr);
    tr->opt.t = (long)iv[4];
    s->valid_ppl = manifest_num(state, "valid_ppl", -1);
    if (s->valid_ppl < 0) s->valid_ppl = NAN;
    s->wall_seconds = manifest_num(state, "wall_seconds", 0);
    s->valid_wer = manifest_num(state, "valid_wer", -1);
    s->valid_cer = manifest_num(state, "valid_cer", -1);
    if (!(s->valid_wer >= 0)) s->valid_wer = NAN;
    if (!(s->valid_cer >= 0)) s->valid_cer = NAN;
    if (tr->step < 0 || tr->epoch < 1 || tr->window > tr->n_windows)
        return err_set(TP_EFORMAT, "%s/manifest.json: state (step %ld, epoch %d, window %zu) does not fit the task", dir,
                       tr->step, tr->epoch, tr->window);
    const cJSON *rng = cJSON_GetObjectItemCaseSensitive(state, "rng");
    if (cJSON_GetArraySize(rng) == 4) {
        for (int i = 0; i < 4; i++) {
            const cJSON *e = cJSON_GetArrayItem(rng, i);
            if (cJSON_IsString(e)) tr->rng.s[i] = strtoull(e->valuestring, NULL, 16);
        }
    }
    /* the session-level settings a snapshot records (epochs, clip, ...) come back with it */
    s->task.train.epochs = tr->cfg.epochs = t.train.epochs;
    s->task.train.clip = tr->cfg.clip = t.train.clip;
    return TP_OK;
}

/* The commit record of a session's manifest: the journal position of the save, and an undo snapshot
 * the save restored (its removal may not have happened).  A manifest older than minor version 1 has
 * none: position unknown (-1), nothing is cut. */
static TpStatus load_commit(Session *s, const cJSON *man, const char *dir)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(man, "commit");
    double jb = -1;
    s->journal_committed = -1;
    s->undo_dropped[0] = '\0';
    if (!c) return TP_OK;
    TpStatus st = manifest_int_in(c, "journal_bytes", 0, 9007199254740992.0, -1, &jb);
    if (st != TP_OK) return err_wrap(st, "%s/manifest.json: commit.", dir);
    s->journal_committed = (long)jb;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "undo_dropped");
    if (cJSON_IsString(u) && strlen(u->valuestring) < sizeof s->undo_dropped)
        snprintf(s->undo_dropped, sizeof s->undo_dropped, "%s", u->valuestring);
    return TP_OK;
}

TpStatus session_read_state(Session *s, const char *dir)
{
    cJSON *man = NULL;
    char mp[4200];
    TpStatus st = manifest_read(dir, &man, mp, sizeof mp);
    if (st != TP_OK) return st;
    st = load_state(s, man, dir, mp);
    cJSON_Delete(man);
    return st;
}

TpStatus session_open(Session *s, const char *dir, const char *data_override)
{
    memset(s, 0, sizeof *s);
    s->valid_ppl = s->valid_wer = s->valid_cer = NAN;
    if (strlen(dir) >= sizeof s->dir - 32) return err_set(TP_EINVAL, "--session: path too long");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char **vocab = NULL, mp[4200], vp[4200];
    int n_vocab = 0;
    cJSON *man = NULL;
    TpStatus st = manifest_read(dir, &man, mp, sizeof mp);
    if (st != TP_OK) goto fail;
    if ((st = manifest_check_file(cJSON_GetObjectItemCaseSensitive(man, "files"), dir, "vocab.json", NULL, 0)) != TP_OK)
        goto fail;
    task_defaults(&s->task);
    if ((st = task_from_json(&s->task, cJSON_GetObjectItemCaseSensitive(man, "task"))) != TP_OK) {
        err_wrap(st, "%s/manifest.json: ", dir);
        goto fail;
    }
    if (data_override && *data_override) snprintf(s->task.data, sizeof s->task.data, "%s", data_override);
    path_join(vp, sizeof vp, dir, "vocab.json");
    if ((st = modelio_read_vocab(vp, VOCAB_MAX_BYTES, &vocab, &n_vocab)) != TP_OK) goto fail;
    if (n_vocab != s->task.model.n_vocab) {
        st = err_set(TP_EFORMAT, "%s/vocab.json: %d tokens, manifest says %d", dir, n_vocab, s->task.model.n_vocab);
        goto fail;
    }
    if ((st = task_resolve(&s->task)) != TP_OK) goto fail;
    if (task_is_asr(&s->task)) st = speech_load(&s->speech, &s->task, &s->corpus);
    else st = corpus_load_with_vocab(&s->corpus, s->task.data, s->task.level, vocab, n_vocab);
    if (st != TP_OK) goto fail;
    s->task.model.n_vocab = s->corpus.n_vocab;
    if ((st = check_model_fits(&s->task.model, dir, mp)) != TP_OK) goto fail;
    if ((st = build(s)) != TP_OK) goto fail;
    if ((st = load_state(s, man, dir, mp)) != TP_OK) goto fail;
    if ((st = load_commit(s, man, dir)) != TP_OK) goto fail;
    modelio_free_vocab(vocab, n_vocab);
    cJSON_Delete(man);
    return TP_OK;
fail:
    modelio_free_vocab(vocab, n_vocab);
    cJSON_Delete(man);
    session_free(s);
    return st;
}

void session_free(Session *s)
{
    free(s->notes);
    s->notes = NULL;
    s->n_notes = s->cap_notes = 0;
    gpstate_free(&s->gp);
    train_free(&s->trainer);
    model_free(&s->model);
    corpus_free(&s->corpus);
    speech_free(s->speech);
    s->speech = NULL;
    distill_free(&s->distill, NULL);
}

DistillSlot session_distill_slot(Session *s)
{
    return (DistillSlot){&s->task, &s->corpus, &s->model, &s->trainer, &s->distill};
}
