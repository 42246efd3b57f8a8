/* base/clock: the one monotonic clock every layer times with.
 *
 * CLOCK_MONOTONIC seconds as a double (never goes back when the wall clock is set); differences of two
 * calls are elapsed seconds with nanosecond resolution.  The epoch is unspecified: only differences mean
 * anything. */
#ifndef TP_CLOCK_H
#define TP_CLOCK_H

/* Seconds on the monotonic clock. */
double clock_now(void);

#endif
