/* engine/gradcheck: central finite-difference check of an analytic gradient (used by the tests of
 * every backward pass, and available to anyone adding a cell).
 *
 * For each checked entry i: numeric = (f(w + eps e_i) - f(w - eps e_i)) / (2 eps), and the entry
 * fails when |analytic - numeric| > atol + rtol * max(|analytic|, |numeric|).  The loss function
 * should accumulate in double so that the float rounding of the forward stays below the bound.
 */
#ifndef TP_GRADCHECK_H
#define TP_GRADCHECK_H

#include <stddef.h>

#include "base/status.h"

typedef double (*GradcheckLoss)(void *ctx);

typedef struct {
    size_t n_checked, n_failed;
    size_t worst;               /* index with the largest violation ratio */
    double worst_analytic, worst_numeric;
    double max_ratio;           /* max |a-n| / (atol + rtol max(|a|,|n|)); <= 1 passes */
} GradcheckResult;

/* Check entries 0, stride, 2*stride, ... of params (n entries) against analytic.  params are
 * restored exactly.  Returns TP_OK when every entry passed, TP_ERANGE otherwise (message names the
 * worst entry). */
TpStatus gradcheck_run(float *params, const float *analytic, size_t n, size_t stride, float eps, double atol,
                       double rtol, GradcheckLoss f, void *ctx, GradcheckResult *r);

#endif
