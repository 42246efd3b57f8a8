/* engine/rng: explicit-state deterministic random numbers (xoshiro256**, seeded by splitmix64).
 *
 * No globals: every user owns an Rng and can save/restore its four words (sessions store them in the
 * manifest) so training resumes on exactly the same random stream.
 */
#ifndef TP_RNG_H
#define TP_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void     rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);                   /* 64 random bits                     */
float    rng_uniform(Rng *r);                /* [0, 1), 24 random bits             */
float    rng_range(Rng *r, float lo, float hi);
uint32_t rng_below(Rng *r, uint32_t n);      /* uniform in [0, n), unbiased; n > 0 */

#endif
