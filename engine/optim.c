/* engine/optim: see optim.h. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

TpStatus optim_init(Optim *o, OptimKind kind, float lr, size_t n)
{
    memset(o, 0, sizeof *o);
    if (!(lr > 0.0f && isfinite(lr))) return err_set(TP_ERANGE, "--lr: expected a positive number, got %g", (double)lr);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->n = n;
    if (kind == OPTIM_ADAM) {
        o->m = backend_alloc(n, sizeof(float));
        o->v = backend_alloc(n, sizeof(float));
        if (!o->m || !o->v) {
            optim_free(o);
            return err_set(TP_ENOMEM, "adam: out of memory for %zu moments", n);
        }
    } else if (kind != OPTIM_SGD) {
        return err_set(TP_EINVAL, "unknown optimizer %d", (int)kind);
    }
    return TP_OK;
}

void optim_free(Optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

TpStatus optim_clip(float *g, size_t n, float max_norm, double *norm)
{
    /* four double partial sums: exact enough and vectorisable */
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    double nrm = sqrt(s);
    if (norm) *norm = nrm;
    if (!isfinite(nrm)) return err_set(TP_ENAN, "gradient norm is not finite (%g)", nrm);
    if (max_norm > 0.0f && nrm > max_norm) {
        float k = (float)(max_norm / nrm);
#pragma omp simd
        for (size_t i = 0; i < n; i++) g[i] *= k;
    }
    return TP_OK;
}

void optim_step(Optim *o, float *w, const float *g, const uint8_t *mask)
{
    const size_t n = o->n;
    const float lr = o->lr;
    if (o->kind == OPTIM_SGD) {
        if (mask) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) w[i] = (w[i] - lr * g[i]) * (float)mask[i];
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
        }
        return;
    }
    o->t++;
    const float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    const float c1 = 1.0f / (1.0f - powf(b1, (float)o->t)), c2 = 1.0f / (1.0f - powf(b2, (float)o->t));
    float *m = o->m, *v = o->v;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float live = mask ? (float)mask[i] : 1.0f;
        float gi = g[i] * live;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] = (w[i] - lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps)) * live;
    }
}

void optim_sync_mask(Optim *o, const uint8_t *mask)
{
    if (o->kind != OPTIM_ADAM || !o->m || !o->v) return;
    for (size_t i = 0; i < o->n; i++)
        if (!mask[i]) o->m[i] = o->v[i] = 0.0f;
}

float optim_schedule_lr(float lr0, float decay, int decay_start, int epoch)
{
    int k = epoch - decay_start;
    return k > 0 ? lr0 * powf(decay, (float)k) : lr0;
}

const char *optim_name(OptimKind k) { return k == OPTIM_ADAM ? "adam" : "sgd"; }
