/* base/clock: the one monotonic clock every layer times with.
 *
 * CLOCK_MONOTONIC seconds as a double (never goes back when the wall clock is set); differences of two
 * calls are elapsed seconds with nanosecond resolution.  The epoch is unspecified: only differences mean
 * anything. */
#ifndef TP_CLOCK_H
#define TP_CLOCK_H

/* Seconds on the monotonic clock. */
double clock_now(void);

/* CPU seconds other processes have used: the machine's busy time (Linux /proc/stat: user, nice,
 * system, irq, softirq, steal) less this process's own (getrusage, all its threads).  Only the
 * difference of two calls means anything: how much other work ran beside a measurement (0.5 over
 * one second: half a CPU busy elsewhere).  NaN where /proc/stat cannot be read. */
double clock_others_cpu_s(void);

#endif
