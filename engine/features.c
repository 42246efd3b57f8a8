/* engine/features: log-mel through FFTW3 (single precision), normalisation, augmentation (features.h). */
#include "engine/features.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_FLOOR 1e-10
#define STD_FLOOR 1e-5
#define SINC_ZEROS 16   /* zero crossings of the resampling kernel on each side */

struct FeatExtractor {
    FeatCfg cfg;
    int W, S, N, F, n_bins;
    float *window;   /* [W] */
    float *fb;       /* [F][n_bins] mel weights */
    int *lo, *hi;    /* [F] first and one-past-last bin with a non-zero weight */
    float *in;       /* [N] fftwf_malloc'd */
    fftwf_complex *spec;  /* [n_bins] */
    float *power;    /* [n_bins] */
    fftwf_plan plan;
};

void features_cfg_default(FeatCfg *c)
{
    memset(c, 0, sizeof *c);
    c->sample_rate = 16000;
    c->n_mels = 40;
    c->win_ms = 25.0f;
    c->hop_ms = 10.0f;
    c->n_fft = 512;
    c->f_min = 0.0f;
    c->f_max = 8000.0f;
    c->normalize = 1;
    c->aug.speed_min = c->aug.speed_max = 1.0f;
    c->aug.noise_prob = 0.0f;
    c->aug.snr_min_db = c->aug.snr_max_db = 20.0f;
}

static int samples_of(float ms, int rate) { return (int)lrint((double)ms * rate / 1000.0); }

int features_aug_enabled(const FeatAugment *a)
{
    return a->speed_min != 1.0f || a->speed_max != 1.0f || a->noise_prob > 0.0f;
}

TpStatus features_cfg_check(const FeatCfg *c)
{
    if (c->sample_rate < 1000 || c->sample_rate > 192000)
        return err_set(TP_EINVAL, "features: sample_rate %d: expected 1000..192000", c->sample_rate);
    if (c->n_mels < 1 || c->n_mels > 256) return err_set(TP_EINVAL, "features: n_mels %d: expected 1..256", c->n_mels);
    if (!(c->win_ms > 0 && c->win_ms <= 1000) || samples_of(c->win_ms, c->sample_rate) < 8)
        return err_set(TP_EINVAL, "features: window %g ms: expected at least 8 samples and at most 1 s", c->win_ms);
    if (!(c->hop_ms > 0 && c->hop_ms <= 1000) || samples_of(c->hop_ms, c->sample_rate) < 1)
        return err_set(TP_EINVAL, "features: hop %g ms: expected at least 1 sample and at most 1 s", c->hop_ms);
    int W = samples_of(c->win_ms, c->sample_rate);
    if (c->n_fft < W || c->n_fft > 65536)
        return err_set(TP_EINVAL, "features: n_fft %d: expected the window (%d samples) up to 65536", c->n_fft, W);
    if (!(c->f_min >= 0 && c->f_min < c->f_max && c->f_max <= c->sample_rate / 2.0f))
        return err_set(TP_EINVAL, "features: band %g..%g Hz: expected 0 <= f_min < f_max <= %g", c->f_min, c->f_max,
                       c->sample_rate / 2.0);
    const FeatAugment *a = &c->aug;
    if (!(a->speed_min >= 0.5f && a->speed_max <= 2.0f && a->speed_min <= a->speed_max))
        return err_set(TP_EINVAL, "features: speed %g..%g: expected 0.5 <= min <= max <= 2", a->speed_min, a->speed_max);
    if (!(a->noise_prob >= 0 && a->noise_prob <= 1))
        return err_set(TP_EINVAL, "features: noise_prob %g: expected 0..1", a->noise_prob);
    if (!(a->snr_min_db >= -30 && a->snr_max_db <= 100 && a->snr_min_db <= a->snr_max_db))
        return err_set(TP_EINVAL, "features: snr %g..%g dB: expected -30 <= min <= max <= 100", a->snr_min_db,
                       a->snr_max_db);
    return TP_OK;
}

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

TpStatus features_new(FeatExtractor **out, const FeatCfg *cfg)
{
    *out = NULL;
    TpStatus st = features_cfg_check(cfg);
    if (st) return st;
    FeatExtractor *fx = calloc(1, sizeof *fx);
    if (!fx) return err_set(TP_ENOMEM, "features: out of memory");
    fx->cfg = *cfg;
    fx->W = samples_of(cfg->win_ms, cfg->sample_rate);
    fx->S = samples_of(cfg->hop_ms, cfg->sample_rate);
    fx->N = cfg->n_fft;
    fx->F = cfg->n_mels;
    fx->n_bins = fx->N / 2 + 1;
    fx->window = malloc((size_t)fx->W * sizeof(float));
    fx->fb = calloc((size_t)fx->F * (size_t)fx->n_bins, sizeof(float));
    fx->lo = malloc((size_t)fx->F * sizeof(int));
    fx->hi = malloc((size_t)fx->F * sizeof(int));
    fx->power = malloc((size_t)fx->n_bins * sizeof(float));
    fx->in = fftwf_malloc((size_t)fx->N * sizeof(float));
    fx->spec = fftwf_malloc((size_t)fx->n_bins * sizeof(fftwf_complex));
    if (!fx->window || !fx->fb || !fx->lo || !fx->hi || !fx->power || !fx->in || !fx->spec) {
        features_delete(fx);
        return err_set(TP_ENOMEM, "features: out of memory");
    }
    for (int i = 0; i < fx->W; i++) fx->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / fx->W));
    double m0 = hz_to_mel(cfg->f_min), m1 = hz_to_mel(cfg->f_max);
    double *h = malloc((size_t)(fx->F + 2) * sizeof(double));
    if (!h) { features_delete(fx); return err_set(TP_ENOMEM, "features: out of memory"); }
    for (int i = 0; i < fx->F + 2; i++) h[i] = mel_to_hz(m0 + (m1 - m0) * i / (fx->F + 1));
    for (int b = 0; b < fx->F; b++) {
        fx->lo[b] = fx->n_bins;
        fx->hi[b] = 0;
        for (int k = 0; k < fx->n_bins; k++) {
            double f = (double)k * cfg->sample_rate / fx->N;
            double up = (f - h[b]) / (h[b + 1] - h[b]), down = (h[b + 2] - f) / (h[b + 2] - h[b + 1]);
            double w = fmax(0.0, fmin(up, down));
            if (w > 0) {
                fx->fb[(size_t)b * fx->n_bins + k] = (float)w;
                if (k < fx->lo[b]) fx->lo[b] = k;
                fx->hi[b] = k + 1;
            }
        }
        if (fx->hi[b] == 0) fx->lo[b] = 0;  /* a band narrower than one bin: always the floor */
    }
    free(h);
    fx->plan = fftwf_plan_dft_r2c_1d(fx->N, fx->in, fx->spec, FFTW_ESTIMATE);
    if (!fx->plan) {
        features_delete(fx);
        return err_set(TP_ENOMEM, "features: FFTW could not plan a %d-point FFT", cfg->n_fft);
    }
    *out = fx;
    return TP_OK;
}

void features_delete(FeatExtractor *fx)
{
    if (!fx) return;
    if (fx->plan) fftwf_destroy_plan(fx->plan);
    if (fx->in) fftwf_free(fx->in);
    if (fx->spec) fftwf_free(fx->spec);
    free(fx->window);
    free(fx->fb);
    free(fx->lo);
    free(fx->hi);
    free(fx->power);
    free(fx);
}

int features_dim(const FeatExtractor *fx) { return fx->F; }

size_t features_n_frames(const FeatExtractor *fx, size_t n)
{
    return n < (size_t)fx->W ? 1 : 1 + (n - (size_t)fx->W) / (size_t)fx->S;
}

void features_normalize(float *feat, int T, int F)
{
    for (int b = 0; b < F; b++) {
        double sum = 0;
        for (int t = 0; t < T; t++) sum += feat[(size_t)t * F + b];
        double mean = sum / T, ss = 0;
        for (int t = 0; t < T; t++) {
            double d = feat[(size_t)t * F + b] - mean;
            ss += d * d;
        }
        double sd = sqrt(ss / T);
        if (sd < STD_FLOOR) sd = STD_FLOOR;
        for (int t = 0; t < T; t++) feat[(size_t)t * F + b] = (float)((feat[(size_t)t * F + b] - mean) / sd);
    }
}

TpStatus features_compute_into(FeatExtractor *fx, float *out, const float *x, size_t n)
{
    if (n == 0) return err_set(TP_EINVAL, "features: no samples");
    size_t T = features_n_frames(fx, n);
    if (T > (size_t)INT32_MAX / (size_t)fx->F) return err_set(TP_ERANGE, "features: %zu frames is too many", T);
    for (size_t t = 0; t < T; t++) {
        size_t s0 = t * (size_t)fx->S;
        for (int i = 0; i < fx->W; i++) fx->in[i] = s0 + (size_t)i < n ? x[s0 + (size_t)i] * fx->window[i] : 0.0f;
        for (int i = fx->W; i < fx->N; i++) fx->in[i] = 0.0f;
        fftwf_execute(fx->plan);
        for (int k = 0; k < fx->n_bins; k++) {
            float re = fx->spec[k][0], im = fx->spec[k][1];
            fx->power[k] = re * re + im * im;
        }
        float *row = out + t * (size_t)fx->F;
        for (int b = 0; b < fx->F; b++) {
            const float *w = fx->fb + (size_t)b * fx->n_bins;
            double e = 0;
            for (int k = fx->lo[b]; k < fx->hi[b]; k++) e += (double)w[k] * fx->power[k];
            row[b] = (float)log(e > LOG_FLOOR ? e : LOG_FLOOR);
        }
    }
    if (fx->cfg.normalize) features_normalize(out, (int)T, fx->F);
    return TP_OK;
}

TpStatus features_compute(FeatExtractor *fx, float **out, int *T, const float *x, size_t n)
{
    *out = NULL;
    *T = 0;
    if (n == 0) return err_set(TP_EINVAL, "features: no samples");
    size_t nt = features_n_frames(fx, n);
    if (nt > (size_t)INT32_MAX / (size_t)fx->F) return err_set(TP_ERANGE, "features: %zu frames is too many", nt);
    float *f = malloc(nt * (size_t)fx->F * sizeof(float));
    if (!f) return err_set(TP_ENOMEM, "features: out of memory for %zu frames", nt);
    TpStatus st = features_compute_into(fx, f, x, n);
    if (st) { free(f); return st; }
    *out = f;
    *T = (int)nt;
    return TP_OK;
}

void features_from_pcm16(float *out, const int16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)x[i] / 32768.0f;
}

TpStatus features_resample(float **y, size_t *ny, const float *x, size_t n, float speed)
{
    *y = NULL;
    *ny = 0;
    if (!(speed >= 0.5f && speed <= 2.0f)) return err_set(TP_EINVAL, "features: speed %g: expected 0.5..2", speed);
    if (n == 0) return err_set(TP_EINVAL, "features: no samples");
    size_t m = (size_t)floor((double)n / speed);
    if (m == 0) m = 1;
    float *o = malloc(m * sizeof *o);
    if (!o) return err_set(TP_ENOMEM, "features: out of memory for %zu samples", m);
    if (speed == 1.0f) {
        memcpy(o, x, n * sizeof *o);
    } else {
        double fc = speed > 1.0f ? 1.0 / speed : 1.0;  /* cutoff, a fraction of Nyquist */
        double half = SINC_ZEROS / fc;                  /* kernel half-width in input samples */
        /* Stepping k by one moves both angles (pi fc t of the sinc, pi t / half of the window) by a
         * constant, so their sines and cosines follow by the angle-difference rotation: four libm calls
         * per output sample instead of two per tap. */
        double dA = M_PI * fc, cdA = cos(dA), sdA = sin(dA), dW = M_PI / half, cdW = cos(dW), sdW = sin(dW);
        for (size_t j = 0; j < m; j++) {
            double c = (double)j * speed;
            long k0 = (long)ceil(c - half), k1 = (long)floor(c + half);
            if (k0 < 0) k0 = 0;
            if (k1 > (long)n - 1) k1 = (long)n - 1;
            double t0 = c - (double)k0, sa = sin(M_PI * fc * t0), ca = cos(M_PI * fc * t0);
            double sw = sin(M_PI * t0 / half), cw = cos(M_PI * t0 / half), acc = 0;
            for (long k = k0; k <= k1; k++) {
                double a = M_PI * fc * (c - (double)k);
                double sinc = fabs(a) < 1e-6 ? 1.0 : sa / a;
                acc += x[k] * sinc * (0.5 + 0.5 * cw);
                double s2 = sa * cdA - ca * sdA, w2 = sw * cdW - cw * sdW;
                ca = ca * cdA + sa * sdA;
                sa = s2;
                cw = cw * cdW + sw * sdW;
                sw = w2;
            }
            o[j] = (float)(fc * acc);
        }
    }
    *y = o;
    *ny = m;
    return TP_OK;
}

/* A standard normal deviate (Box-Muller; one of the pair is dropped, which keeps the stream simple). */
static double gauss(Rng *r)
{
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) / 9007199254740993.0;  /* (0, 1] */
    double u2 = (double)(rng_next(r) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void features_add_noise(float *x, size_t n, float snr_db, Rng *rng)
{
    double p = 0;
    for (size_t i = 0; i < n; i++) p += (double)x[i] * x[i];
    if (n == 0 || p == 0) return;
    p /= (double)n;
    double sd = sqrt(p / pow(10.0, snr_db / 10.0));
    for (size_t i = 0; i < n; i++) x[i] += (float)(sd * gauss(rng));
}

TpStatus features_augment(float **y, size_t *ny, const FeatAugment *a, Rng *rng, const float *x, size_t n)
{
    float speed = 1.0f;
    if (a->speed_min != 1.0f || a->speed_max != 1.0f) speed = rng_range(rng, a->speed_min, a->speed_max);
    TpStatus st = features_resample(y, ny, x, n, speed);
    if (st) return st;
    if (a->noise_prob > 0.0f) {
        float coin = rng_uniform(rng), snr = rng_range(rng, a->snr_min_db, a->snr_max_db);
        if (coin < a->noise_prob) features_add_noise(*y, *ny, snr, rng);
    }
    return TP_OK;
}

void features_spec_augment(float *feat, int T, int F, int n_freq, int freq_w, int n_time, int time_w, Rng *rng)
{
    if (T < 1 || F < 1) return;
    for (int k = 0; k < n_freq; k++) {
        int wmax = freq_w < F ? freq_w : F;
        int w = (int)rng_below(rng, (uint32_t)wmax + 1);
        int f0 = (int)rng_below(rng, (uint32_t)(F - w) + 1);
        for (int t = 0; t < T; t++) memset(feat + (size_t)t * F + f0, 0, (size_t)w * sizeof *feat);
    }
    int tmax = time_w < T / 5 ? time_w : T / 5;
    for (int k = 0; k < n_time; k++) {
        int w = (int)rng_below(rng, (uint32_t)tmax + 1);
        int t0 = (int)rng_below(rng, (uint32_t)(T - w) + 1);
        memset(feat + (size_t)t0 * F, 0, (size_t)w * F * sizeof *feat);
    }
}
