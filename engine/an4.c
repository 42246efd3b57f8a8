/* engine/an4: the AN4 lists, the split rule and the in-memory dataset (engine/an4.h).  The alphabet and
 * text <-> labels are in an4_text.c. */
#include "engine/an4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/lines.h"
#include "base/paths.h"
#include "engine/sphere.h"

struct An4 {
    An4Split split;
    FeatCfg cfg;
    int F, n, cap;
    char **id, **text, **speaker;       /* [n] owned strings */
    int *T, *L;                         /* [n] */
    size_t *feat_off, *lab_off;         /* [n] offsets into feat (floats) and lab (ints) */
    size_t *audio_off, *n_samples;      /* [n] into audio, when kept */
    float *feat;
    size_t feat_len, feat_cap;
    int *lab;
    size_t lab_len, lab_cap;
    int16_t *audio;
    size_t audio_len, audio_cap;
    FeatExtractor *fx;
    float *wave, *scratch;              /* an4_utt_augmented's buffers */
    size_t wave_cap, scratch_cap;
    size_t total_frames, mem_cap, mem_used;
    int max_frames;
    double seconds;
};

static const char *const SPLIT_NAMES[] = {"train", "valid", "test", "train-all"};

TpStatus an4_split_parse(An4Split *split, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, SPLIT_NAMES[i]) == 0) { *split = (An4Split)i; return TP_OK; }
    return err_set(TP_EINVAL, "AN4 split '%s': expected train, valid, test or train-all", name);
}

const char *an4_split_name(An4Split split) { return (unsigned)split < 4 ? SPLIT_NAMES[split] : "?"; }

/* ---- the two list files ---- */

typedef struct {
    char **line;
    long *lineno;
    int n;
} Lines;

static void lines_list_free(Lines *l)
{
    for (int i = 0; i < l->n; i++) free(l->line[i]);
    free(l->line);
    free(l->lineno);
    memset(l, 0, sizeof *l);
}

/* Every non-blank line of 'path' (named 'shown' in messages), at most AN4_MAX_UTTS. */
static TpStatus read_lines(const char *path, const char *shown, Lines *out)
{
    memset(out, 0, sizeof *out);
    FILE *f;
    TpStatus st = fsutil_fopen_regular(path, &f);
    if (st) return err_wrap(st, "AN4 %s: ", shown);
    LineReader r;
    lines_init(&r, f, shown, AN4_MAX_LINE);
    int cap = 0;
    for (;;) {
        const char *s;
        size_t len;
        if ((st = lines_next(&r, &s, &len))) break;
        if (!s) break;
        size_t k = 0;
        while (k < len && (s[k] == ' ' || s[k] == '\t')) k++;
        if (k == len) continue;
        if (out->n >= AN4_MAX_UTTS) { st = err_set(TP_ERANGE, "%s: more than %d lines", shown, AN4_MAX_UTTS); break; }
        if (out->n == cap) {
            int nc = cap ? cap * 2 : 256;
            char **nl = realloc(out->line, (size_t)nc * sizeof *nl);
            if (nl) out->line = nl;
            long *nn = realloc(out->lineno, (size_t)nc * sizeof *nn);
            if (nn) out->lineno = nn;
            if (!nl || !nn) { st = err_set(TP_ENOMEM, "%s: out of memory", shown); break; }
            cap = nc;
        }
        /* trailing blanks are not part of the line */
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        char *copy = strndup(s, len);
        if (!copy) { st = err_set(TP_ENOMEM, "%s: out of memory", shown); break; }
        out->line[out->n] = copy;
        out->lineno[out->n++] = r.line;
    }
    lines_free(&r);
    fclose(f);
    if (st) lines_list_free(out);
    return st;
}

/* An id "an4_clstk/fash/an251-fash-b": relative, components of [A-Za-z0-9_-.], none "." or "..", at
 * least two (speaker/utt).  *spk and *utt point into it (lengths *spk_len; utt runs to the end). */
static TpStatus check_id(const char *id, const char *shown, long lineno, const char **spk, size_t *spk_len,
                         const char **utt)
{
    int comps = 0;
    const char *c = id, *prev = NULL;
    for (const char *p = id;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - c);
            if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                return err_set(TP_EFORMAT, "%s:%ld: id '%s' is not a relative path like an4_clstk/fash/an251-fash-b",
                               shown, lineno, id);
            comps++;
            if (*p == '\0') {
                if (comps < 2)
                    return err_set(TP_EFORMAT, "%s:%ld: id '%s' has no speaker folder (expected SPEAKER/UTT)", shown,
                                   lineno, id);
                *spk = prev;
                *spk_len = (size_t)(c - prev - 1);
                *utt = c;
                return TP_OK;
            }
            prev = c;
            c = p + 1;
            continue;
        }
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.'))
            return err_set(TP_EFORMAT, "%s:%ld: id '%s': character '%c' is not allowed in an id", shown, lineno, id, ch);
    }
}

/* Transcript line -> normalised text (malloc'd), checked against the utterance name 'utt'. */
static TpStatus parse_transcript(const char *line, const char *utt, const char *shown, long lineno, char **out)
{
    *out = NULL;
    size_t len = strlen(line);
    const char *open = strrchr(line, '(');
    if (!open || len == 0 || line[len - 1] != ')')
        return err_set(TP_EFORMAT, "%s:%ld: expected 'TEXT (UTTERANCE-ID)'", shown, lineno);
    size_t id_len = (size_t)(line + len - 1 - (open + 1));
    if (id_len != strlen(utt) || memcmp(open + 1, utt, id_len) != 0)
        return err_set(TP_EFORMAT, "%s:%ld: transcript of '%.*s' where the fileids have '%s' (the files are out of step)",
                       shown, lineno, (int)id_len, open + 1, utt);
    size_t n = (size_t)(open - line);
    char *t = malloc(n + 1);
    if (!t) return err_set(TP_ENOMEM, "%s: out of memory", shown);
    size_t k = 0;
    int first = 1;
    const char *p = line, *end = open;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p >= end) break;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t') p++;
        size_t wl = (size_t)(p - w);
        const char *rest = p;
        while (rest < end && (*rest == ' ' || *rest == '\t')) rest++;
        if (first && wl == 3 && memcmp(w, "<s>", 3) == 0) { first = 0; continue; }
        if (rest == end && wl == 4 && memcmp(w, "</s>", 4) == 0) break;
        first = 0;
        for (size_t i = 0; i < wl; i++) {
            unsigned char ch = (unsigned char)w[i];
            if (an4_char_class(ch) < 0) {
                free(t);
                if (ch >= 0x20 && ch < 0x7f)
                    return err_set(TP_EFORMAT, "%s:%ld:%d: character '%c' is not in the alphabet (A-Z, apostrophe, space)",
                                   shown, lineno, (int)(w + i - line) + 1, ch);
                return err_set(TP_EFORMAT, "%s:%ld:%d: byte 0x%02x is not in the alphabet (A-Z, apostrophe, space)",
                               shown, lineno, (int)(w + i - line) + 1, ch);
            }
        }
        if (k) t[k++] = ' ';
        memcpy(t + k, w, wl);
        k += wl;
    }
    t[k] = '\0';
    if (k == 0) { free(t); return err_set(TP_EFORMAT, "%s:%ld: empty transcript", shown, lineno); }
    *out = t;
    return TP_OK;
}

/* ---- the dataset ---- */

static TpStatus grow(void **buf, size_t *cap, size_t need, size_t elem, An4 *ds, const char *what)
{
    if (need <= *cap) return TP_OK;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need) nc *= 2;
    size_t add = (nc - *cap) * elem;
    if (ds->mem_used + add > ds->mem_cap)
        return err_set(TP_ERANGE, "AN4: the %s would pass %zu MB, half of this machine's memory", what, ds->mem_cap >> 20);
    void *nb = realloc(*buf, nc * elem);
    if (!nb) return err_set(TP_ENOMEM, "AN4: out of memory for the %s", what);
    *buf = nb;
    ds->mem_used += add;
    *cap = nc;
    return TP_OK;
}

static TpStatus add_utt(An4 *ds, const char *utt, const char *spk, size_t spk_len, char *text,
                        const char *wav_path, float **wave, size_t *wave_cap)
{
    TpStatus st;
    if (ds->n == ds->cap) {
        int nc = ds->cap ? ds->cap * 2 : 128;
#define GROW(f)                                                     \
    do {                                                            \
        void *p_ = realloc(ds->f, (size_t)nc * sizeof *ds->f);      \
        if (!p_) { free(text); goto nomem; }                        \
        ds->f = p_;                                                 \
    } while (0)
        GROW(id); GROW(text); GROW(speaker); GROW(T); GROW(L); GROW(feat_off); GROW(lab_off); GROW(audio_off);
        GROW(n_samples);
#undef GROW
        ds->cap = nc;
    }
    int i = ds->n;
    ds->id[i] = strdup(utt);
    ds->speaker[i] = strndup(spk, spk_len);
    ds->text[i] = text;
    ds->n++;  /* from here on an4_close frees them */
    if (!ds->id[i] || !ds->speaker[i]) goto nomem;
    SphereAudio a;
    if ((st = sphere_read(wav_path, AN4_MAX_SAMPLES, &a))) return err_wrap(st, "AN4 utterance %s: ", utt);
    if (a.h.sample_rate != ds->cfg.sample_rate) {
        long rate = a.h.sample_rate;
        sphere_free(&a);
        return err_set(TP_EFORMAT, "%s: sample_rate %ld, but the features are configured for %d Hz", wav_path, rate,
                       ds->cfg.sample_rate);
    }
    if (a.n_samples > *wave_cap) {
        float *nw = realloc(*wave, a.n_samples * sizeof *nw);
        if (!nw) { sphere_free(&a); goto nomem; }
        *wave = nw;
        *wave_cap = a.n_samples;
    }
    features_from_pcm16(*wave, a.samples, a.n_samples);
    size_t T = features_n_frames(ds->fx, a.n_samples);
    ds->n_samples[i] = a.n_samples;
    ds->audio_off[i] = ds->audio_len;
    if (features_aug_enabled(&ds->cfg.aug)) {
        if ((st = grow((void **)&ds->audio, &ds->audio_cap, ds->audio_len + a.n_samples, sizeof(int16_t), ds, "audio"))) {
            sphere_free(&a);
            return st;
        }
        memcpy(ds->audio + ds->audio_len, a.samples, a.n_samples * sizeof(int16_t));
        ds->audio_len += a.n_samples;
    }
    ds->seconds += (double)a.n_samples / a.h.sample_rate;
    sphere_free(&a);
    if ((st = grow((void **)&ds->feat, &ds->feat_cap, ds->feat_len + T * (size_t)ds->F, sizeof(float), ds, "features")))
        return st;
    if ((st = features_compute_into(ds->fx, ds->feat + ds->feat_len, *wave, ds->n_samples[i])))
        return err_wrap(st, "%s: ", wav_path);
    ds->feat_off[i] = ds->feat_len;
    ds->feat_len += T * (size_t)ds->F;
    ds->T[i] = (int)T;
    ds->total_frames += T;
    if ((int)T > ds->max_frames) ds->max_frames = (int)T;
    size_t tl = strlen(text);
    if ((st = grow((void **)&ds->lab, &ds->lab_cap, ds->lab_len + tl, sizeof(int), ds, "labels"))) return st;
    int L;
    if ((st = an4_text_to_labels(ds->lab + ds->lab_len, &L, text, (int)tl))) return err_wrap(st, "AN4 %s: ", utt);
    ds->lab_off[i] = ds->lab_len;
    ds->lab_len += (size_t)L;
    ds->L[i] = L;
    return TP_OK;
nomem:
    return err_set(TP_ENOMEM, "AN4: out of memory");
}

TpStatus an4_open(const char *dir, An4Split split, const FeatCfg *cfg, An4 **out)
{
    *out = NULL;
    if ((unsigned)split > AN4_TRAIN_ALL) return err_set(TP_EINVAL, "AN4: unknown split %d", (int)split);
    TpStatus st = features_cfg_check(cfg);
    if (st) return st;
    An4 *ds = calloc(1, sizeof *ds);
    if (!ds) return err_set(TP_ENOMEM, "AN4: out of memory");
    ds->split = split;
    ds->cfg = *cfg;
    ds->F = cfg->n_mels;
    uint64_t mem = fsutil_memory_bytes();
    ds->mem_cap = mem == UINT64_MAX || mem / 2 > SIZE_MAX ? SIZE_MAX / 2 : (size_t)(mem / 2);
    Lines ids = {0}, tr = {0};
    float *wave = NULL;
    size_t wave_cap = 0;
    char *text = NULL;
    if ((st = features_new(&ds->fx, cfg))) goto fail;
    const char *base = split == AN4_TEST ? "an4_test" : "an4_train";
    char ids_shown[64], tr_shown[64], path[4096], wav[4096];
    snprintf(ids_shown, sizeof ids_shown, "etc/%s.fileids", base);
    snprintf(tr_shown, sizeof tr_shown, "etc/%s.transcription", base);
    if ((st = path_join(path, sizeof path, dir, ids_shown))) goto fail;
    if ((st = read_lines(path, ids_shown, &ids))) goto fail;
    if ((st = path_join(path, sizeof path, dir, tr_shown))) goto fail;
    if ((st = read_lines(path, tr_shown, &tr))) goto fail;
    if (ids.n != tr.n) {
        st = err_set(TP_EFORMAT, "AN4 %s: %d transcripts in %s for %d ids in %s", dir, tr.n, tr_shown, ids.n, ids_shown);
        goto fail;
    }
    if (ids.n == 0) { st = err_set(TP_EFORMAT, "AN4 %s: %s lists no utterance", dir, ids_shown); goto fail; }
    /* speakers numbered by first appearance (fileids are grouped by speaker, but do not rely on it) */
    const char *last_spk = NULL;
    size_t last_len = 0;
    int n_spk = 0, spk_no = -1;
    char **spk_seen = calloc((size_t)ids.n, sizeof *spk_seen);
    if (!spk_seen) { st = err_set(TP_ENOMEM, "AN4: out of memory"); goto fail; }
    for (int i = 0; i < ids.n && !st; i++) {
        const char *spk = NULL, *utt = NULL;
        size_t spk_len = 0;
        if ((st = check_id(ids.line[i], ids_shown, ids.lineno[i], &spk, &spk_len, &utt))) break;
        if (!last_spk || spk_len != last_len || memcmp(spk, last_spk, spk_len) != 0) {
            spk_no = -1;
            for (int s = 0; s < n_spk; s++)
                if (strlen(spk_seen[s]) == spk_len && memcmp(spk_seen[s], spk, spk_len) == 0) { spk_no = s; break; }
            if (spk_no < 0) {
                if (!(spk_seen[n_spk] = strndup(spk, spk_len))) { st = err_set(TP_ENOMEM, "AN4: out of memory"); break; }
                spk_no = n_spk++;
            }
            last_spk = spk;
            last_len = spk_len;
        }
        if ((st = parse_transcript(tr.line[i], utt, tr_shown, tr.lineno[i], &text))) break;
        int in_valid = spk_no % AN4_VALID_EVERY == AN4_VALID_EVERY - 1;
        int take = split == AN4_TEST || split == AN4_TRAIN_ALL || (split == AN4_VALID) == in_valid;
        if (!take) { free(text); text = NULL; continue; }
        char rel[AN4_MAX_LINE + 16];
        snprintf(rel, sizeof rel, "wav/%s.sph", ids.line[i]);
        if ((st = path_join(wav, sizeof wav, dir, rel))) break;
        st = add_utt(ds, utt, spk, spk_len, text, wav, &wave, &wave_cap);
        text = NULL;  /* owned by ds now */
    }
    for (int s = 0; s < n_spk; s++) free(spk_seen[s]);
    free(spk_seen);
    if (st) goto fail;
    if (ds->n == 0) { st = err_set(TP_EFORMAT, "AN4 %s: split %s is empty", dir, an4_split_name(split)); goto fail; }
    lines_list_free(&ids);
    lines_list_free(&tr);
    free(wave);
    *out = ds;
    return TP_OK;
fail:
    free(text);
    lines_list_free(&ids);
    lines_list_free(&tr);
    free(wave);
    an4_close(ds);
    return st;
}

void an4_close(An4 *ds)
{
    if (!ds) return;
    for (int i = 0; i < ds->n; i++) {
        free(ds->id[i]);
        free(ds->text[i]);
        free(ds->speaker[i]);
    }
    free(ds->id);
    free(ds->text);
    free(ds->speaker);
    free(ds->T);
    free(ds->L);
    free(ds->feat_off);
    free(ds->lab_off);
    free(ds->audio_off);
    free(ds->n_samples);
    free(ds->feat);
    free(ds->lab);
    free(ds->audio);
    free(ds->wave);
    free(ds->scratch);
    features_delete(ds->fx);
    free(ds);
}

int an4_count(const An4 *ds) { return ds->n; }
int an4_dim(const An4 *ds) { return ds->F; }
An4Split an4_split(const An4 *ds) { return ds->split; }
size_t an4_total_frames(const An4 *ds) { return ds->total_frames; }
int an4_max_frames(const An4 *ds) { return ds->max_frames; }
double an4_seconds(const An4 *ds) { return ds->seconds; }

TpStatus an4_utt(const An4 *ds, int i, const float **feat, int *T, const int **labels, int *L, const char **id)
{
    if (i < 0 || i >= ds->n) return err_set(TP_ERANGE, "AN4 %s: utterance %d of %d", an4_split_name(ds->split), i, ds->n);
    if (feat) *feat = ds->feat + ds->feat_off[i];
    if (T) *T = ds->T[i];
    if (labels) *labels = ds->lab + ds->lab_off[i];
    if (L) *L = ds->L[i];
    if (id) *id = ds->id[i];
    return TP_OK;
}

const char *an4_text(const An4 *ds, int i) { return i >= 0 && i < ds->n ? ds->text[i] : NULL; }
const char *an4_speaker(const An4 *ds, int i) { return i >= 0 && i < ds->n ? ds->speaker[i] : NULL; }

TpStatus an4_utt_augmented(An4 *ds, int i, Rng *rng, const float **feat, int *T)
{
    if (i < 0 || i >= ds->n) return err_set(TP_ERANGE, "AN4 %s: utterance %d of %d", an4_split_name(ds->split), i, ds->n);
    if (!features_aug_enabled(&ds->cfg.aug))
        return err_set(TP_EINVAL, "AN4: augmentation asked for, but the dataset was opened without it");
    size_t n = ds->n_samples[i];
    if (n > ds->wave_cap) {
        float *nw = realloc(ds->wave, n * sizeof *nw);
        if (!nw) return err_set(TP_ENOMEM, "AN4: out of memory");
        ds->wave = nw;
        ds->wave_cap = n;
    }
    features_from_pcm16(ds->wave, ds->audio + ds->audio_off[i], n);
    float *y;
    size_t ny;
    TpStatus st = features_augment(&y, &ny, &ds->cfg.aug, rng, ds->wave, n);
    if (st) return st;
    size_t nt = features_n_frames(ds->fx, ny), need = nt * (size_t)ds->F;
    if (need > ds->scratch_cap) {
        float *ns = realloc(ds->scratch, need * sizeof *ns);
        if (!ns) { free(y); return err_set(TP_ENOMEM, "AN4: out of memory"); }
        ds->scratch = ns;
        ds->scratch_cap = need;
    }
    st = features_compute_into(ds->fx, ds->scratch, y, ny);
    free(y);
    if (st) return st;
    *feat = ds->scratch;
    *T = (int)nt;
    return TP_OK;
}

static int by_length(const void *a, const void *b, void *ctx)
{
    const An4 *ds = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (ds->T[i] != ds->T[j]) return ds->T[i] < ds->T[j] ? -1 : 1;
    return (i > j) - (i < j);
}

void an4_sort_by_length(const An4 *ds, int *order)
{
    for (int i = 0; i < ds->n; i++) order[i] = i;
    qsort_r(order, (size_t)ds->n, sizeof *order, by_length, (void *)ds);
}
