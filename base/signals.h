/* base/signals: the stop signals every long-running front end honours, set up once.
 *
 * SIGINT, SIGTERM and SIGHUP only record which signal arrived (a sig_atomic_t; STYLE.md 10.10).  The
 * program polls signals_stop_requested() between units of work (a minibatch, a command line, a latency
 * sample), saves what it has through the atomic save, and exits with signals_exit_code().  No SA_RESTART:
 * a blocking read returns EINTR so the loop sees the request at once. */
#ifndef TP_SIGNALS_H
#define TP_SIGNALS_H

/* Install the handlers (idempotent) and clear any earlier request. */
void signals_catch_stop(void);

/* The number of the first stop signal received since signals_catch_stop(), or 0. */
int signals_stop_requested(void);

/* The conventional exit code for a process stopped by 'sig': 128 + sig (e.g. 129 for SIGHUP, 143 for
 * SIGTERM), so a supervisor can tell a clean stop on a signal from success. */
int signals_exit_code(int sig);

#endif
