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

/* The trainer's backend by name (`topiary train --backend`): "cpu" the CPU trainer; "cuda" the training
 * step on the GPU with the model resident there (engine/devtrain), or TP_ENODEV / TP_ENOMEM /
 * TP_ENOTAVAIL / TP_EDEVICE with the reason (no device, driver too old, out of memory, not compiled
 * in, an H-LSTM model) and the CPU trainer kept; "auto" CUDA when usable, else the CPU.  *said gets
 * the line to show ("backend: cuda (NVIDIA ...)", "backend auto: cpu (CUDA: no device ...)"). */
TpStatus runtime_train_backend(Session *s, const char *name, char *said, size_t n);
/* The same check without a session (before anything is opened or created). */
TpStatus runtime_backend_check(const char *name, char *said, size_t n);

/* Changes `topiary train` may make when it resumes a session (0 = keep): the session's total epochs,
 * BLAS threads, metrics row interval. */
TpStatus runtime_resume_overrides(Session *s, int epochs, int threads, int log_every);

#endif
