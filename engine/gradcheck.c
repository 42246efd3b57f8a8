/* engine/gradcheck: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <string.h>

TpStatus gradcheck_run(float *params, const float *analytic, size_t n, size_t stride, float eps, double atol,
                       double rtol, GradcheckLoss f, void *ctx, GradcheckResult *r)
{
    memset(r, 0, sizeof *r);
    if (stride == 0) stride = 1;
    for (size_t i = 0; i < n; i += stride) {
        float saved = params[i];
        params[i] = saved + eps;
        double lp = f(ctx);
        params[i] = saved - eps;
        double lm = f(ctx);
        params[i] = saved;
        /* divide by the step actually taken in float, not the nominal 2 eps */
        double h = (double)(saved + eps) - (double)(saved - eps);
        double num = (lp - lm) / h, a = analytic[i];
        double bound = atol + rtol * fmax(fabs(a), fabs(num));
        double ratio = fabs(a - num) / bound;
        r->n_checked++;
        if (!(ratio <= 1.0)) r->n_failed++;
        if (!(ratio <= r->max_ratio)) {
            r->max_ratio = ratio;
            r->worst = i;
            r->worst_analytic = a;
            r->worst_numeric = num;
        }
    }
    if (r->n_failed)
        return err_set(TP_ERANGE, "gradcheck: %zu of %zu entries differ; worst [%zu]: analytic %.6g numeric %.6g",
                       r->n_failed, r->n_checked, r->worst, r->worst_analytic, r->worst_numeric);
    return TP_OK;
}
