/* bench/bench_an4_features: throughput of the AN4 data layer on a whole split (default train-all, the
 * 948 utterances of CMU's train list), stage by stage, in one run:
 *   read      sphere_read of every file (header checks, checksum), from the page cache after a warm-up
 *   log-mel   engine/features on the samples already in memory (FFTW plan made once)
 *   augment   the same after speed perturbation (0.9..1.1) and noise (SNR 10..30 dB, always), seeded
 *   open      an4_open as the trainer calls it (lists + read + log-mel + labels)
 * Each stage: the best of --reps runs (default 3), seconds, utterances/s, frames/s and the real-time
 * factor (seconds of audio processed per second: how much faster than real time).
 *
 * usage: bench_an4_features [--dir DIR] [--split train|valid|test|train-all] [--reps N] [--mels F]
 * DIR defaults to ../shared/data/an4.  Prints the machine's load average first: on a shared machine
 * compare the stages with each other rather than across runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/an4.h"
#include "engine/features.h"
#include "engine/sphere.h"

typedef struct {
    char **path;
    int n;
} Files;

/* The .sph paths of a split, as an4_open finds them (through its lists and speaker split). */
static int list_files(Files *fl, const char *dir, An4Split split)
{
    const char *base = split == AN4_TEST ? "an4_test" : "an4_train";
    char p[4096];
    snprintf(p, sizeof p, "%s/etc/%s.fileids", dir, base);
    FILE *f = fopen(p, "r");
    if (!f) { fprintf(stderr, "bench_an4_features: %s: cannot open\n", p); return -1; }
    char line[4096], last_spk[256] = "";
    int spk_no = -1;
    fl->path = NULL;
    fl->n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line) continue;
        char spk[256] = "";
        const char *a = strchr(line, '/'), *b = a ? strchr(a + 1, '/') : NULL;
        if (a && b && (size_t)(b - a - 1) < sizeof spk) memcpy(spk, a + 1, (size_t)(b - a - 1)), spk[b - a - 1] = '\0';
        if (strcmp(spk, last_spk) != 0) { spk_no++; strcpy(last_spk, spk); }
        int valid = spk_no % AN4_VALID_EVERY == AN4_VALID_EVERY - 1;
        if ((split == AN4_TRAIN && valid) || (split == AN4_VALID && !valid)) continue;
        char **np = realloc(fl->path, (size_t)(fl->n + 1) * sizeof *np);
        if (!np) { fclose(f); return -1; }
        fl->path = np;
        char wav[8300];
        snprintf(wav, sizeof wav, "%s/wav/%s.sph", dir, line);
        fl->path[fl->n++] = strdup(wav);
    }
    fclose(f);
    return 0;
}

static void row(const char *stage, double s, int n, size_t frames, double audio_s)
{
    printf("%-8s %8.3f s %9.0f utt/s %11.0f frames/s %8.0fx real time\n", stage, s, n / s, (double)frames / s,
           audio_s / s);
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/data/an4";
    An4Split split = AN4_TRAIN_ALL;
    int reps = 3, mels = 40;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            if (an4_split_parse(&split, argv[++i])) { fprintf(stderr, "bench_an4_features: %s\n", err_msg()); return 2; }
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mels") && i + 1 < argc) mels = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_an4_features [--dir DIR] [--split train|valid|test|train-all] [--reps N] [--mels F]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    double load[3] = {0};
    if (getloadavg(load, 3) == 3) printf("# load average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    Files fl;
    if (list_files(&fl, dir, split)) return 1;
    FeatCfg cfg;
    features_cfg_default(&cfg);
    cfg.n_mels = mels;
    FeatExtractor *fx;
    if (features_new(&fx, &cfg)) { fprintf(stderr, "bench_an4_features: %s\n", err_msg()); return 1; }
    /* read everything once (warm-up, and the samples the feature stages use) */
    SphereAudio *au = calloc((size_t)fl.n, sizeof *au);
    float **x = calloc((size_t)fl.n, sizeof *x);
    double audio_s = 0;
    size_t frames = 0, max_n = 0;
    for (int i = 0; i < fl.n; i++) {
        if (sphere_read(fl.path[i], 0, &au[i])) { fprintf(stderr, "bench_an4_features: %s\n", err_msg()); return 1; }
        x[i] = malloc(au[i].n_samples * sizeof(float));
        features_from_pcm16(x[i], au[i].samples, au[i].n_samples);
        audio_s += (double)au[i].n_samples / au[i].h.sample_rate;
        frames += features_n_frames(fx, au[i].n_samples);
        if (au[i].n_samples > max_n) max_n = au[i].n_samples;
    }
    printf("# %s: %d utterances, %.1f min of audio, %zu frames of %d log-mel features, best of %d\n",
           an4_split_name(split), fl.n, audio_s / 60, frames, mels, reps);
    float *out = malloc(features_n_frames(fx, 2 * max_n) * (size_t)mels * sizeof(float));
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    size_t aug_frames = 0;
    double aug_audio = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = clock_now();
        for (int i = 0; i < fl.n; i++) {
            SphereAudio a;
            if (sphere_read(fl.path[i], 0, &a)) return 1;
            sphere_free(&a);
        }
        double t1 = clock_now();
        for (int i = 0; i < fl.n; i++)
            if (features_compute_into(fx, out, x[i], au[i].n_samples)) return 1;
        double t2 = clock_now();
        Rng rng;
        rng_seed(&rng, 1);
        FeatAugment aug = {0.9f, 1.1f, 1.0f, 10.0f, 30.0f};
        aug_frames = 0;
        aug_audio = 0;
        for (int i = 0; i < fl.n; i++) {
            float *y;
            size_t ny;
            if (features_augment(&y, &ny, &aug, &rng, x[i], au[i].n_samples)) return 1;
            if (features_compute_into(fx, out, y, ny)) return 1;
            aug_frames += features_n_frames(fx, ny);
            aug_audio += (double)au[i].n_samples / au[i].h.sample_rate;
            free(y);
        }
        double t3 = clock_now();
        An4 *ds;
        if (an4_open(dir, split, &cfg, &ds)) { fprintf(stderr, "bench_an4_features: %s\n", err_msg()); return 1; }
        double t4 = clock_now();
        an4_close(ds);
        double s[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int k = 0; k < 4; k++) if (s[k] < best[k]) best[k] = s[k];
    }
    row("read", best[0], fl.n, frames, audio_s);
    row("log-mel", best[1], fl.n, frames, audio_s);
    row("augment", best[2], fl.n, aug_frames, aug_audio);
    row("open", best[3], fl.n, frames, audio_s);
    for (int i = 0; i < fl.n; i++) { sphere_free(&au[i]); free(x[i]); free(fl.path[i]); }
    free(au);
    free(x);
    free(fl.path);
    free(out);
    features_delete(fx);
    return 0;
}
