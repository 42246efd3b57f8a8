/* engine/ctc: see ctc.h for the recursions. */
#include "ctc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double lse(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

int ctc_min_frames(const int32_t *labels, int L)
{
    int n = L;
    for (int i = 1; i < L; i++) n += labels[i] == labels[i - 1];
    return n;
}

/* the extended sequence: blank, l_1, blank, ..., l_L, blank */
static int ext(const int32_t *labels, int s) { return (s & 1) ? labels[s >> 1] : CTC_BLANK; }

/* may a path skip from s-2 to s (s a label, different from the label two before)? */
static int can_skip(const int32_t *labels, int s) { return (s & 1) && s >= 3 && labels[s >> 1] != labels[(s >> 1) - 1]; }

TpStatus ctc_loss(const float *logits, int T, int C, const int32_t *labels, int L, float scale, double *loss,
                  float *dlogits)
{
    *loss = INFINITY;
    if (T < 1 || C < 2 || L < 0)
        return err_set(TP_EINVAL, "ctc: bad sizes T=%d C=%d L=%d (need T >= 1, C >= 2, L >= 0)", T, C, L);
    for (int i = 0; i < L; i++)
        if (labels[i] < 1 || labels[i] >= C)
            return err_set(TP_EINVAL, "ctc: label %d is %d, expected 1..%d (0 is the blank)", i, (int)labels[i], C - 1);
    for (long i = 0; i < (long)T * C; i++)
        if (!isfinite(logits[i])) return err_set(TP_ENAN, "ctc: logit %ld is not finite", i);
    if (dlogits) memset(dlogits, 0, (size_t)T * C * sizeof(float));
    if (ctc_min_frames(labels, L) > T) return TP_OK; /* infeasible: +inf, zero gradient */

    const int S = 2 * L + 1;
    double *lp = malloc((size_t)T * C * sizeof(double));
    double *a = malloc((size_t)T * S * sizeof(double));
    double *b = malloc((size_t)T * S * sizeof(double));
    if (!lp || !a || !b) {
        free(lp);
        free(a);
        free(b);
        return err_set(TP_ENOMEM, "ctc: out of memory (T=%d, L=%d)", T, L);
    }
    /* log-softmax per frame */
    for (int t = 0; t < T; t++) {
        const float *u = logits + (size_t)t * C;
        double mx = u[0], z = 0.0;
        for (int k = 1; k < C; k++) mx = u[k] > mx ? u[k] : mx;
        for (int k = 0; k < C; k++) z += exp((double)u[k] - mx);
        double lz = mx + log(z);
        for (int k = 0; k < C; k++) lp[(size_t)t * C + k] = (double)u[k] - lz;
    }
    /* α */
    for (int s = 0; s < S; s++) a[s] = s < 2 ? lp[ext(labels, s)] : -INFINITY;
    for (int t = 1; t < T; t++) {
        const double *ap = a + (size_t)(t - 1) * S;
        double *at = a + (size_t)t * S;
        for (int s = 0; s < S; s++) {
            double v = ap[s];
            if (s >= 1) v = lse(v, ap[s - 1]);
            if (can_skip(labels, s)) v = lse(v, ap[s - 2]);
            at[s] = v == -INFINITY ? v : v + lp[(size_t)t * C + ext(labels, s)];
        }
    }
    /* β */
    double *bl = b + (size_t)(T - 1) * S;
    for (int s = 0; s < S; s++) bl[s] = s >= S - 2 ? lp[(size_t)(T - 1) * C + ext(labels, s)] : -INFINITY;
    for (int t = T - 2; t >= 0; t--) {
        const double *bn = b + (size_t)(t + 1) * S;
        double *bt = b + (size_t)t * S;
        for (int s = 0; s < S; s++) {
            double v = bn[s];
            if (s + 1 < S) v = lse(v, bn[s + 1]);
            if (s + 2 < S && can_skip(labels, s + 2)) v = lse(v, bn[s + 2]);
            bt[s] = v == -INFINITY ? v : v + lp[(size_t)t * C + ext(labels, s)];
        }
    }
    const double *al = a + (size_t)(T - 1) * S;
    double logp = S >= 2 ? lse(al[S - 1], al[S - 2]) : al[S - 1];
    *loss = -logp;
    if (dlogits) {
        /* d loss/du_t(k) = y_t(k) - γ_t(k); γ accumulated in the lp row, which is then consumed */
        double *g = malloc((size_t)C * sizeof(double));
        if (!g) {
            free(lp);
            free(a);
            free(b);
            return err_set(TP_ENOMEM, "ctc: out of memory");
        }
        for (int t = 0; t < T; t++) {
            const double *lt = lp + (size_t)t * C;
            for (int k = 0; k < C; k++) g[k] = -INFINITY;
            for (int s = 0; s < S; s++) {
                int k = ext(labels, s);
                double v = a[(size_t)t * S + s] + b[(size_t)t * S + s];
                if (v != -INFINITY) g[k] = lse(g[k], v - lt[k]);
            }
            float *d = dlogits + (size_t)t * C;
            for (int k = 0; k < C; k++) d[k] = (float)(scale * (exp(lt[k]) - exp(g[k] - logp)));
        }
        free(g);
    }
    free(lp);
    free(a);
    free(b);
    return TP_OK;
}
