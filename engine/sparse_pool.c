/* engine/sparse_pool: see sparse_pool.h. */
#include "sparse_pool.h"
#include "base/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

struct SparsePool {
    int threads, started;
    pthread_t tid[SPARSE_MAX_PARTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;     /* product number: a worker runs when it changes               */
    atomic_int pending;  /* workers still running the current product                    */
    atomic_int stop;
    int sleepers;        /* workers waiting on cv (under mu)                              */
    /* the current job: a task (fn), or a product */
    SparsePoolTask fn;
    void *arg;
    const SparseMatrix *m;
    float *Y;
    const float *X;
    int B, acc;
};

typedef struct {
    SparsePool *p;
    int t;
} Worker;


/* thread t's share of the job: its call of the task, or parts t, t + T, ... of every row of the batch */
static void run_share(SparsePool *p, int t)
{
    if (p->fn) {
        p->fn(p->arg, t);
        return;
    }
    const SparseMatrix *m = p->m;
    for (int b = 0; b < p->B; b++)
        for (int q = t; q < m->n_parts; q += p->threads)
            sparse_gemv_range(m, p->Y + (size_t)b * m->rows, p->X + (size_t)b * m->cols, p->acc, m->part[q], m->part[q + 1]);
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    SparsePool *p = w->p;
    const int t = w->t;
    free(w);
    unsigned seen = 0;
    for (;;) {
        double t0 = clock_now();
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !atomic_load(&p->stop)) {
            CPU_RELAX();
            if (++spins % 256 || (clock_now() - t0) * 1e6 < SPARSE_POOL_SPIN_US) continue;
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
            p->sleepers--;
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        run_share(p, t);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

TpStatus sparse_pool_create(SparsePool **out, int threads)
{
    *out = NULL;
    if (threads < 1 || threads > SPARSE_MAX_PARTS)
        return err_set(TP_EINVAL, "sparse pool: %d threads (1..%d)", threads, SPARSE_MAX_PARTS);
    SparsePool *p = calloc(1, sizeof *p);
    if (!p) return err_set(TP_ENOMEM, "sparse pool: out of memory");
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0u);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    for (int t = 1; t < threads; t++) {
        Worker *w = malloc(sizeof *w);
        if (w) *w = (Worker){p, t};
        if (!w || pthread_create(&p->tid[t], NULL, worker_main, w) != 0) {
            free(w);
            sparse_pool_free(p);
            return err_set(TP_EIO, "sparse pool: cannot start thread %d of %d", t + 1, threads);
        }
        p->started = t;
    }
    *out = p;
    return TP_OK;
}

void sparse_pool_free(SparsePool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t <= p->started; t++) pthread_join(p->tid[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int sparse_pool_threads(const SparsePool *p) { return p ? p->threads : 1; }

/* start the job set in *p on the workers, run thread 0's share, wait for theirs */
static void dispatch(SparsePool *p)
{
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1u, memory_order_release);
    if (p->sleepers) pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) CPU_RELAX();
}

void sparse_pool_gemm(SparsePool *p, const SparseMatrix *m, float *Y, const float *X, int B, int acc)
{
    if (!p || p->threads < 2 || m->n_parts < 2 || m->kind == SPARSE_DENSE) {
        sparse_gemm(m, Y, X, B, acc);
        return;
    }
    p->fn = NULL;
    p->m = m;
    p->Y = Y;
    p->X = X;
    p->B = B;
    p->acc = acc;
    dispatch(p);
}

void sparse_pool_run(SparsePool *p, SparsePoolTask fn, void *arg)
{
    if (!p || p->threads < 2) {
        fn(arg, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    dispatch(p);
    p->fn = NULL;
}

void sparse_pool_gemv(SparsePool *p, const SparseMatrix *m, float *y, const float *x, int acc)
{
    sparse_pool_gemm(p, m, y, x, 1, acc);
}
