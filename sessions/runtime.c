/* sessions/runtime: see runtime.h. */
#include "sessions/runtime.h"

#include <stdio.h>

#include "engine/backend.h"
#include "engine/cuda/backend_cuda.h"

TpStatus runtime_set_threads(Session *s, int n)
{
    TpStatus st = backend_set_threads(n);
    if (st == TP_OK && s) s->task.threads = n;
    return st;
}

void runtime_describe(char *buf, size_t n) { backend_describe(buf, n); }

void runtime_info(char *buf, size_t n)
{
    char desc[512];
    backend_set_threads(2);
    backend_describe(desc, sizeof desc);
    int compiled = cuda_compiled(), devices = cuda_device_count();
    TpStatus s = backend_select(BACKEND_CUDA);
    snprintf(buf, n, "topiary: %s\nCUDA compiled in: %s; devices: %d\n%s\n", desc, compiled ? "yes" : "no", devices,
             s == TP_OK ? "CUDA backend selected" : err_msg());
}

TpStatus runtime_resume_overrides(Session *s, int epochs, int threads, int log_every)
{
    if (epochs > 0) s->task.train.epochs = s->trainer.cfg.epochs = epochs;
    if (log_every > 0) s->task.log_every = log_every;
    return threads > 0 ? runtime_set_threads(s, threads) : TP_OK;
}
