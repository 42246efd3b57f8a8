/* engine/features: log-mel features of speech, per-utterance normalisation, and augmentation (speed
 * perturbation by resampling, additive noise at a signal-to-noise ratio).
 *
 * Owns the feature configuration, the extractor (Hann window, mel filterbank, an FFTW3 plan and its
 * buffers) and the augmentation arithmetic.  Reads no files (engine/sphere does), prints nothing.
 *
 * Log-mel, exactly (tests/ref/an4_features.py computes the same thing in numpy):
 *   x[i]      the samples as floats, pcm16 / 32768 (features_from_pcm16)
 *   W, S, N   window and hop in samples (round(win_ms * sr / 1000), round(hop_ms * sr / 1000)), n_fft
 *   T         frames: 1 + (n - W) / S (integer division) when n >= W, else 1 (the one frame zero-padded)
 *   frame t   samples [t S, t S + W) times the periodic Hann window w[i] = 0.5 - 0.5 cos(2 pi i / W),
 *             zero-padded to N; P[k] = |rfft(frame)[k]|^2 for k = 0..N/2 (no pre-emphasis, no dither)
 *   mel       HTK scale m(f) = 2595 log10(1 + f / 700); F + 2 points equally spaced in mel from
 *             m(f_min) to m(f_max) give corner frequencies h[0..F+1] in Hz; band b (0..F-1) weights
 *             bin k (at f_k = k sr / N) by max(0, min((f_k - h[b]) / (h[b+1] - h[b]),
 *                                                     (h[b+2] - f_k) / (h[b+2] - h[b+1])))
 *   feature   out[t][b] = ln(max(sum_k weight[b][k] P[k], 1e-10))
 *   normalise (cfg.normalize) per feature b over the T frames: (out - mean) / max(std, 1e-5), with the
 *             population std; a single frame gives zeros.
 * The output is row-major [T][F] (F = n_mels), the layout of /tmp/an4_iface (time-major rows).
 *
 * Augmentation (features_augment), drawn from a caller's Rng in a fixed order so a seed replays it:
 *   speed s uniform in [speed_min, speed_max] (skipped when both are 1): the waveform is resampled so
 *     it plays s times faster (pitch and tempo change together, as sox `speed`): m = floor(n / s)
 *     output samples, y[j] = sum_k x[k] h(j s - k), h a Hann-windowed sinc low-passed at
 *     min(1, 1/s) of Nyquist, 16 zero crossings each side (features_resample).
 *   noise with probability noise_prob (skipped when 0): SNR d uniform in [snr_min_db, snr_max_db],
 *     white Gaussian noise of variance mean(x^2) / 10^(d / 10) added (features_add_noise).
 */
#ifndef TP_FEATURES_H
#define TP_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/rng.h"

typedef struct {
    float speed_min, speed_max;     /* speed factor range; 1, 1 = no speed perturbation */
    float noise_prob;               /* chance of adding noise to an utterance; 0 = never */
    float snr_min_db, snr_max_db;   /* SNR range of that noise, dB */
} FeatAugment;

typedef struct {
    int sample_rate;       /* Hz (16000) */
    int n_mels;            /* F, features per frame (40) */
    float win_ms, hop_ms;  /* 25, 10 */
    int n_fft;             /* 512; >= the window in samples */
    float f_min, f_max;    /* band edges in Hz: 0 and sample_rate / 2 */
    int normalize;         /* 1: per-utterance, per-feature zero mean and unit variance */
    FeatAugment aug;       /* off by default; used by features_augment and engine/an4 */
} FeatCfg;

/* The defaults above (16 kHz, 40 bands, 25/10 ms, 512-point FFT, 0..8000 Hz, normalised, no
 * augmentation). */
void features_cfg_default(FeatCfg *c);

/* TP_EINVAL naming the field when a value is out of range (rate 1000..192000, 1..256 bands, window
 * >= 8 samples, hop >= 1, n_fft in [window, 65536], 0 <= f_min < f_max <= rate / 2, speed in
 * [0.5, 2] with min <= max, noise_prob in [0, 1], SNR in [-30, 100] dB with min <= max). */
TpStatus features_cfg_check(const FeatCfg *c);

/* 1 when c->aug asks for anything (a speed range other than 1..1, or noise_prob > 0). */
int features_aug_enabled(const FeatAugment *a);

typedef struct FeatExtractor FeatExtractor;

/* An extractor for 'cfg' (copied).  Creates an FFTW plan (FFTW_ESTIMATE: no timing, deterministic);
 * FFTW's planner is not thread-safe, so create extractors from one thread; each one may then run in its
 * own thread. */
TpStatus features_new(FeatExtractor **out, const FeatCfg *cfg);
void features_delete(FeatExtractor *fx);

int features_dim(const FeatExtractor *fx);                    /* F */
size_t features_n_frames(const FeatExtractor *fx, size_t n);  /* T for n samples (n >= 1) */

/* out[T][F] for the n >= 1 samples x (out holds features_n_frames(n) * F floats), normalised when the
 * configuration says so. */
TpStatus features_compute_into(FeatExtractor *fx, float *out, const float *x, size_t n);

/* The same into a malloc'd array (caller frees), *T its frames. */
TpStatus features_compute(FeatExtractor *fx, float **out, int *T, const float *x, size_t n);

/* Per-feature normalisation of feat[T][F] in place (what cfg.normalize does). */
void features_normalize(float *feat, int T, int F);

/* pcm16 / 32768 into out[n]. */
void features_from_pcm16(float *out, const int16_t *x, size_t n);

/* y = x resampled to play 'speed' times faster (0.5 <= speed <= 2): *y malloc'd, *ny = floor(n / speed)
 * (at least 1).  speed == 1 copies x. */
TpStatus features_resample(float **y, size_t *ny, const float *x, size_t n, float speed);

/* Add white Gaussian noise at snr_db to x[n] in place (nothing when x is all zeros). */
void features_add_noise(float *x, size_t n, float snr_db, Rng *rng);

/* The augmentation of 'a' applied to x[n] into a malloc'd *y[*ny]; with nothing enabled, a copy.
 * Draws from rng only for the parts enabled. */
TpStatus features_augment(float **y, size_t *ny, const FeatAugment *a, Rng *rng, const float *x, size_t n);

/* SpecAugment's masks on normalised features feat[T][F] in place [Park et al., "SpecAugment", 2019]
 * (no time warping): n_freq bands of w ~ U{0..freq_w} consecutive features starting at
 * f0 ~ U{0..F-w}, then n_time spans of w ~ U{0..min(time_w, T/5)} consecutive frames starting at
 * t0 ~ U{0..T-w}, set to 0 (the mean after per-utterance normalisation).  Draws 2 numbers per mask
 * from rng in that order, so a seed replays it; counts of 0 draw nothing.  Masks may overlap. */
void features_spec_augment(float *feat, int T, int F, int n_freq, int freq_w, int n_time, int time_w, Rng *rng);

#endif
