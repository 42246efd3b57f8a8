/* sessions/runtime: see runtime.h. */
#include "sessions/runtime.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/backend_ops.h"
#include "engine/breakeven.h"
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
    int w = snprintf(buf, n, "topiary: %s\nCUDA compiled in: %s; devices: %d\n%s\n", desc, compiled ? "yes" : "no",
                     devices, s == TP_OK ? "CUDA backend selected" : err_msg());
    if (w < 0 || (size_t)w >= n) return;
    /* the sparse kernels the runtime takes on this machine, from the measured cost model if it is cached
     * (measuring takes seconds: `eval --model` does it once and caches it) */
    char path[4096], fp[640];
    Breakeven *be = malloc(sizeof *be);
    breakeven_fingerprint(fp, sizeof fp);
    if (be && breakeven_cache_path(path, sizeof path, NULL) == TP_OK && breakeven_load(be, path) == TP_OK &&
        !strcmp(be->fingerprint, fp)) {
        int k = snprintf(buf + w, n - (size_t)w, "sparse kernels measured on this machine (%s):\n", path);
        if (k > 0 && (size_t)k < n - (size_t)w) breakeven_describe(be, buf + w + k, n - (size_t)w - (size_t)k);
    } else {
        err_clear();
        snprintf(buf + w, n - (size_t)w, "sparse kernels: not measured yet on this machine (the first `topiary eval "
                                          "--model` measures every layout x ISA x threads and caches it)\n");
    }
    free(be);
}

TpStatus runtime_backend_check(const char *name, char *said, size_t n)
{
    const BackendOps *ops;
    char why[512];
    if (said && n) said[0] = '\0';
    if (!name) name = "cpu";
    TpStatus st = backend_ops_get(name, &ops, why, sizeof why);
    if (st == TP_EINVAL) return st;
    if (st != TP_OK) return err_wrap(st, "--backend %s: ", name);
    if (said && n) {
        char dev[192] = "";
        if (ops->kind == BACKEND_CUDA) cuda_describe(dev, sizeof dev);
        if (!strcmp(name, "auto"))
            snprintf(said, n, "backend auto: %s (%s)", ops->name, ops->kind == BACKEND_CUDA ? dev : why);
        else if (ops->kind == BACKEND_CUDA)
            snprintf(said, n, "backend: cuda (%s)", dev);
    }
    return TP_OK;
}

TpStatus runtime_train_backend(Session *s, const char *name, char *said, size_t n)
{
    TpStatus st = runtime_backend_check(name, said, n);
    if (st != TP_OK) return st;
    const BackendOps *ops;
    backend_ops_get(name ? name : "cpu", &ops, NULL, 0);
    if (ops->kind == BACKEND_CPU) return train_use_backend(&s->trainer, NULL); /* the CPU trainer */
    st = task_is_asr(&s->task) ? err_set(TP_ENOTAVAIL, "the speech task trains on the CPU only (the table has no ASR model)")
                               : train_use_backend(&s->trainer, ops);
    if (st == TP_ENOTAVAIL && !strcmp(name, "auto")) { /* a model the table does not train: the CPU */
        if (said && n) snprintf(said, n, "backend auto: cpu (%s)", err_msg());
        err_clear();
        return TP_OK;
    }
    return st == TP_OK ? TP_OK : err_wrap(st, "--backend %s: ", name);
}

TpStatus runtime_resume_overrides(Session *s, int epochs, int threads, int log_every)
{
    if (epochs > 0) s->task.train.epochs = s->trainer.cfg.epochs = epochs;
    if (log_every > 0) s->task.log_every = log_every;
    return threads > 0 ? runtime_set_threads(s, threads) : TP_OK;
}
