/* sessions/runtime: what the front ends may ask of the process's compute backend, without reaching
 * into engine/: BLAS threads, a one-line description, the `topiary info` report. */
#ifndef TP_RUNTIME_H
#define TP_RUNTIME_H

#include <stddef.h>

#include "sessions/session.h"

/* Use n BLAS threads (1..256) from now on; with a session, also record it in s->task. */
TpStatus runtime_set_threads(Session *s, int n);
/* One line: backend, BLAS library and threads, CPU. */
void runtime_describe(char *buf, size_t n);
/* The `topiary info` report (several lines): backend, whether CUDA is compiled in, its devices, and
 * whether the CUDA backend can be selected (else why not).  Selects CUDA when it can. */
void runtime_info(char *buf, size_t n);

/* Changes `topiary train` may make when it resumes a session (0 = keep): the session's total epochs,
 * BLAS threads, metrics row interval. */
TpStatus runtime_resume_overrides(Session *s, int epochs, int threads, int log_every);

#endif
