/* engine/vmath: vectorised elementwise maths over float arrays (exp, sigmoid, tanh, softmax rows).
 *
 * The build targets x86-64-v2, so these functions are compiled several times (AVX-512, AVX2, SSE)
 * with GCC target_clones and the best one is picked at load time.  exp is a Cephes-style polynomial
 * (max relative error about 2 ulp over the clamped range [-87.3, 88.7]); sigmoid and tanh are built on
 * it.  In-place use (y == x) is allowed everywhere.
 */
#ifndef TP_VMATH_H
#define TP_VMATH_H

#include <stddef.h>
#include <stdint.h>

void vmath_exp(float *y, const float *x, size_t n);
void vmath_sigmoid(float *y, const float *x, size_t n);
void vmath_tanh(float *y, const float *x, size_t n);

/* Softmax cross-entropy over the rows of logits [N, V] with integer targets [N].
 * Returns the summed negative log-likelihood in double; *n_correct counts rows whose argmax equals
 * the target (ties go to the lowest index).  If grad_scale != 0, each row is overwritten with
 * grad_scale * (softmax - onehot(target)), the gradient of grad_scale * NLL w.r.t. the logits. */
double vmath_softmax_xent(float *logits, const int32_t *targets, int N, int V, float grad_scale,
                          long *n_correct);

/* Softmax of each row of x [N, V] in place. */
void vmath_softmax_rows(float *x, int N, int V);

#endif
