/* tests/cuda/test_cuda: `make test-cuda`, the CUDA table of operations against the CPU table.
 *
 * Where no CUDA device is usable it prints "test-cuda: skipped: no CUDA device (<reason>)" and exits 0.
 * Otherwise:
 *   1. every op of the table on random inputs at odd sizes (nothing a multiple of a warp or a block),
 *      on both tables, compared: exact where the op is exact (dropout masks, threshold, gather,
 *      masked entries), else to a stated tolerance (max |a - b| / (1 + |a|));
 *   2. training runs of a 2-layer LSTM LM: the CPU trainer (engine/train) against the training step on
 *      the device (engine/devtrain), SGD and Adam, then the CPU table against the device table with
 *      dropout (the same counter-based masks); every step's loss must agree to 1e-3 relative and the
 *      weights after the run to 2e-3 absolute (float32 through 30 steps: the device's expf/tanhf and
 *      its summation orders differ from the CPU's in the last bits, and the differences grow slowly),
 *      and the evaluation on the device against the CPU's of the same weights (1e-4 relative);
 *   3. (tests/cuda/sessions.sh, run by the same make target) a session saved after device training
 *      reopens on the CPU and continues, and the other way round.
 * Exit 1 when any check fails, naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend_ops.h"
#include "engine/model.h"
#include "engine/rng.h"
#include "engine/train.h"

static const BackendOps *cpu, *gpu;
static int failures;

#define MUST(expr)                                                                                     \
    do {                                                                                               \
        TpStatus s_ = (expr);                                                                          \
        if (s_ != TP_OK) {                                                                             \
            fprintf(stderr, "test-cuda: %s:%d: %s: %s\n", __FILE__, __LINE__, #expr, err_msg());       \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static void report(const char *what, double err, double tol)
{
    int ok = err <= tol; /* NaN fails */
    printf("  %-4s %-44s max err %.2e (tol %.0e)\n", ok ? "ok" : "FAIL", what, err, tol);
    failures += !ok;
}

static float *rnd(size_t n, float lo, float hi, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = rng_range(&r, lo, hi);
    return x;
}

/* a copy of host data in ops' memory */
static void *put(const BackendOps *o, const void *h, size_t bytes)
{
    void *p;
    MUST(o->alloc(&p, bytes));
    MUST(o->upload(p, h, bytes));
    return p;
}

static float *get(const BackendOps *o, const void *d, size_t n)
{
    float *h = malloc(n * sizeof *h);
    MUST(o->download(h, d, n * sizeof *h));
    return h;
}

static double diff(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (1.0 + fabs(a[i]));
        if (!(e <= w)) w = e; /* NaN propagates */
    }
    return w;
}

/* Run `body` with buffers of both tables: each X_c (CPU) and X_g (device) starts from the same host data. */
static void test_blas(void)
{
    const int M = 37, N = 29, K = 23;
    float *A = rnd((size_t)M * K, -1, 1, 1), *B = rnd((size_t)K * N, -1, 1, 2), *C = rnd((size_t)M * N, -1, 1, 3);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int one = 0; one < 2; one++) { /* one: M = 1, the CPU's sgemv path */
                int m = one ? 1 : M, lda = ta ? m : K, ldb = tb ? K : N;
                float *res[2];
                for (int k = 0; k < 2; k++) {
                    const BackendOps *o = k ? gpu : cpu;
                    float *a = put(o, A, sizeof(float) * M * K), *b = put(o, B, sizeof(float) * K * N),
                          *c = put(o, C, sizeof(float) * M * N);
                    MUST(o->sgemm(ta, tb, m, N, K, 0.7f, a, lda, b, ldb, 0.3f, c, N));
                    res[k] = get(o, c, (size_t)m * N);
                    o->free(a);
                    o->free(b);
                    o->free(c);
                }
                char name[64];
                snprintf(name, sizeof name, "sgemm ta=%d tb=%d M=%d N=%d K=%d", ta, tb, m, N, K);
                report(name, diff(res[0], res[1], (size_t)m * N), 1e-5);
                free(res[0]);
                free(res[1]);
            }
    for (int ta = 0; ta < 2; ta++) {
        int ylen = ta ? K : M;
        float *res[2];
        for (int k = 0; k < 2; k++) {
            const BackendOps *o = k ? gpu : cpu;
            float *a = put(o, A, sizeof(float) * M * K), *x = put(o, B, sizeof(float) * (ta ? M : K)),
                  *y = put(o, C, sizeof(float) * ylen);
            MUST(o->sgemv(ta, M, K, 1.5f, a, K, x, 0.5f, y));
            res[k] = get(o, y, (size_t)ylen);
            o->free(a);
            o->free(x);
            o->free(y);
        }
        report(ta ? "sgemv transposed 37x23" : "sgemv 37x23", diff(res[0], res[1], (size_t)ylen), 1e-5);
        free(res[0]);
        free(res[1]);
    }
    free(A);
    free(B);
    free(C);
}

static void test_elementwise(void)
{
    const size_t n = 100003;
    const int N = 13, W = 29, LD = 31;
    float *X = rnd(n, -2, 2, 4), *Y = rnd(n, -2, 2, 5), *R[2][6];
    double ss[2];
    for (int k = 0; k < 2; k++) {
        const BackendOps *o = k ? gpu : cpu;
        float *x = put(o, X, n * 4), *y = put(o, Y, n * 4), *z = put(o, Y, n * 4), *rows, *db = put(o, X, W * 4);
        MUST(o->alloc((void **)&rows, (size_t)N * W * 4));
        MUST(o->axpy(y, -0.37f, x, n));
        MUST(o->mul(z, x, n));
        MUST(o->scale(x, 1.75f, n));
        MUST(o->sumsq(x, n, &ss[k]));
        MUST(o->rows_set(rows, z, N, W));
        MUST(o->colsum_add(db, y, N, W, LD));
        R[k][0] = get(o, y, n);
        R[k][1] = get(o, z, n);
        R[k][2] = get(o, x, n);
        R[k][3] = get(o, rows, (size_t)N * W);
        R[k][4] = get(o, db, W);
        o->free(x);
        o->free(y);
        o->free(z);
        o->free(rows);
        o->free(db);
    }
    report("axpy n=100003", diff(R[0][0], R[1][0], n), 1e-6);
    report("mul n=100003", diff(R[0][1], R[1][1], n), 0);
    report("scale n=100003", diff(R[0][2], R[1][2], n), 0);
    report("sumsq n=100003 (relative)", fabs(ss[0] - ss[1]) / ss[0], 1e-9);
    report("rows_set 13x29", diff(R[0][3], R[1][3], (size_t)N * W), 0);
    report("colsum_add 13x29 ld=31", diff(R[0][4], R[1][4], W), 1e-6);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 5; j++) free(R[k][j]);
    free(X);
    free(Y);
}

static void test_lstm_cell(void)
{
    const int B = 3, H = 37, G = 4 * H;
    const size_t BH = (size_t)B * H, BG = (size_t)B * G;
    float *A = rnd(BG, -3, 3, 6), *CP = rnd(BH, -1, 1, 7), *DH = rnd(BH, -1, 1, 8), *DC = rnd(BH, -1, 1, 9);
    float *R[2][7];
    long zeros[2];
    for (int k = 0; k < 2; k++) {
        const BackendOps *o = k ? gpu : cpu;
        float *a = put(o, A, BG * 4), *cp = put(o, CP, BH * 4), *dh = put(o, DH, BH * 4), *dc = put(o, DC, BH * 4);
        float *c, *h, *tc, *dA;
        MUST(o->alloc((void **)&c, BH * 4));
        MUST(o->alloc((void **)&h, BH * 4));
        MUST(o->alloc((void **)&tc, BH * 4));
        MUST(o->alloc((void **)&dA, BG * 4));
        MUST(o->lstm_cell_fwd(a, c, h, tc, cp, B, H));
        MUST(o->lstm_cell_bwd(dA, dc, dh, a, tc, cp, B, H));
        R[k][0] = get(o, a, BG);
        R[k][1] = get(o, c, BH);
        R[k][2] = get(o, h, BH);
        R[k][3] = get(o, tc, BH);
        R[k][4] = get(o, dA, BG);
        R[k][5] = get(o, dc, BH);
        MUST(o->upload(h, CP, BH * 4)); /* the threshold on fixed inputs: exact */
        MUST(o->threshold(h, BH, 0.3f, &zeros[k]));
        R[k][6] = get(o, h, BH);
        void *all[] = {a, cp, dh, dc, c, h, tc, dA};
        for (int i = 0; i < 8; i++) o->free(all[i]);
    }
    const char *names[] = {"lstm_cell_fwd gates B=3 H=37", "lstm_cell_fwd c", "lstm_cell_fwd h", "lstm_cell_fwd tanh(c)",
                           "lstm_cell_bwd dA", "lstm_cell_bwd dc_next", "threshold tau=0.3"};
    for (int j = 0; j < 7; j++) report(names[j], diff(R[0][j], R[1][j], j == 0 || j == 4 ? BG : BH), j == 6 ? 0 : 1e-5);
    report("threshold zero count", (double)labs(zeros[0] - zeros[1]), 0);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 7; j++) free(R[k][j]);
    free(A);
    free(CP);
    free(DH);
    free(DC);
}

static void test_rows_softmax_dropout(void)
{
    const int N = 17, E = 13, V = 1001, NS = 7;
    const size_t n = 100003;
    int32_t idx[17], y[7] = {0, 1000, 5, 500, 999, 3, 3};
    for (int r = 0; r < N; r++) idx[r] = (r * 7) % 11; /* repeats: the scatter-add adds */
    float *T = rnd((size_t)11 * E, -1, 1, 10), *S = rnd((size_t)N * E, -1, 1, 11), *L = rnd((size_t)NS * V, -4, 4, 12);
    float *X = rnd(n, -1, 1, 13), *R[2][6];
    double nll[2][2];
    long hits[2][2];
    for (int k = 0; k < 2; k++) {
        const BackendOps *o = k ? gpu : cpu;
        float *t = put(o, T, 11 * E * 4), *s = put(o, S, (size_t)N * E * 4), *l = put(o, L, (size_t)NS * V * 4);
        float *l2 = put(o, L, (size_t)NS * V * 4), *x = put(o, X, n * 4), *dst, *out, *mask;
        int32_t *di = put(o, idx, sizeof idx), *dy = put(o, y, sizeof y);
        MUST(o->alloc((void **)&dst, (size_t)N * E * 4));
        MUST(o->alloc((void **)&out, n * 4));
        MUST(o->alloc((void **)&mask, n * 4));
        MUST(o->gather_rows(dst, t, di, N, E));
        MUST(o->scatter_add_rows(t, s, di, N, E));
        MUST(o->softmax_xent(l, dy, NS, V, 0.25f, &nll[k][0], &hits[k][0]));
        MUST(o->softmax_xent(l2, dy, NS, V, 0.0f, &nll[k][1], &hits[k][1]));
        MUST(o->dropout(out, mask, x, n, 0.35f, 1234, 5678));
        R[k][0] = get(o, dst, (size_t)N * E);
        R[k][1] = get(o, t, (size_t)11 * E);
        R[k][2] = get(o, l, (size_t)NS * V);
        R[k][3] = get(o, l2, (size_t)NS * V);
        R[k][4] = get(o, mask, n);
        R[k][5] = get(o, out, n);
        void *all[] = {t, s, l, l2, x, dst, out, mask, di, dy};
        for (int i = 0; i < 10; i++) o->free(all[i]);
    }
    report("gather_rows N=17 E=13", diff(R[0][0], R[1][0], (size_t)N * E), 0);
    report("scatter_add_rows N=17 E=13 (repeated rows)", diff(R[0][1], R[1][1], (size_t)11 * E), 1e-6);
    report("softmax_xent gradient N=7 V=1001", diff(R[0][2], R[1][2], (size_t)NS * V), 1e-6);
    report("softmax_xent logits untouched (grad_scale 0)", diff(R[0][3], R[1][3], (size_t)NS * V), 0);
    for (int j = 0; j < 2; j++) {
        report(j ? "softmax_xent nll (no gradient)" : "softmax_xent nll", fabs(nll[0][j] - nll[1][j]) / nll[0][j], 1e-5);
        report(j ? "softmax_xent hits (no gradient)" : "softmax_xent hits", (double)labs(hits[0][j] - hits[1][j]), 0);
    }
    report("dropout masks n=100003 (bit for bit)", diff(R[0][4], R[1][4], n), 0);
    report("dropout outputs", diff(R[0][5], R[1][5], n), 0);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 6; j++) free(R[k][j]);
    free(T);
    free(S);
    free(L);
    free(X);
}

static void test_optim_sparse_timer(void)
{
    const size_t n = 10007;
    float *W = rnd(n, -1, 1, 14), *G = rnd(n, -1, 1, 15), *R[2][4];
    uint8_t *mask = malloc(n);
    for (size_t i = 0; i < n; i++) {
        mask[i] = i % 5 != 0;
        if (!mask[i]) W[i] = 0.0f;
    }
    const int rows = 37, cols = 29;
    float *D = rnd((size_t)rows * cols, -1, 1, 16), *x = rnd(cols, -1, 1, 17), *y0 = rnd(rows, -1, 1, 18);
    for (int i = 0; i < rows * cols; i++)
        if (i % 3 == 1) D[i] = 0.0f;
    float *SP[2][4];
    for (int k = 0; k < 2; k++) {
        const BackendOps *o = k ? gpu : cpu;
        float *w = put(o, W, n * 4), *w2 = put(o, W, n * 4), *g = put(o, G, n * 4), *m, *v;
        uint8_t *mk = put(o, mask, n);
        MUST(o->alloc((void **)&m, n * 4));
        MUST(o->alloc((void **)&v, n * 4));
        for (int t = 1; t <= 3; t++) {
            MUST(o->sgd_step(w, g, mk, n, 0.1f));
            MUST(o->adam_step(w2, g, m, v, mk, n, 0.01f, 0.9f, 0.999f, 1e-8f, 1.0f / (1.0f - powf(0.9f, t)),
                              1.0f / (1.0f - powf(0.999f, t))));
        }
        R[k][0] = get(o, w, n);
        R[k][1] = get(o, w2, n);
        R[k][2] = get(o, m, n);
        R[k][3] = get(o, v, n);
        void *all[] = {w, w2, g, m, v, mk};
        for (int i = 0; i < 6; i++) o->free(all[i]);
        float *dx = put(o, x, cols * 4), *dy = put(o, y0, rows * 4);
        BackendCsr a;
        MUST(backend_ops_csr_from_dense(o, &a, D, rows, cols));
        MUST(o->csr_spmv(&a, 1.25f, dx, 0.5f, dy));
        SP[k][0] = get(o, dy, rows);
        backend_ops_csr_free(o, &a);
        const int shapes[3][2] = {{16, 1}, {8, 1}, {4, 4}};
        for (int s = 0; s < 3; s++) {
            BackendBsr b;
            MUST(o->upload(dy, y0, rows * 4));
            MUST(backend_ops_bsr_from_dense(o, &b, D, rows, cols, shapes[s][0], shapes[s][1]));
            MUST(o->bsr_spmv(&b, 1.25f, dx, 0.5f, dy));
            SP[k][1 + s] = get(o, dy, rows);
            backend_ops_bsr_free(o, &b);
        }
        o->free(dx);
        o->free(dy);
    }
    report("sgd_step masked x3 n=10007", diff(R[0][0], R[1][0], n), 1e-6);
    report("adam_step masked x3 (weights)", diff(R[0][1], R[1][1], n), 1e-6);
    report("adam_step moments m", diff(R[0][2], R[1][2], n), 1e-6);
    report("adam_step moments v", diff(R[0][3], R[1][3], n), 1e-6);
    double masked = 0;
    for (size_t i = 0; i < n; i++)
        if (!mask[i]) masked += fabs(R[1][0][i]) + fabs(R[1][1][i]) + fabs(R[1][2][i]);
    report("masked entries stay exactly 0 on the device", masked, 0);
    const char *names[] = {"csr_spmv 37x29 (cuSPARSE)", "bsr_spmv 16x1 37x29", "bsr_spmv 8x1 37x29", "bsr_spmv 4x4 37x29"};
    for (int s = 0; s < 4; s++) report(names[s], diff(SP[0][s], SP[1][s], rows), 1e-5);
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 4; j++) free(R[k][j]);
        for (int j = 0; j < 4; j++) free(SP[k][j]);
    }
    void *tm;
    double sec = -1;
    MUST(gpu->timer_start(&tm));
    MUST(gpu->timer_stop(tm, &sec));
    report("event timer: 0 <= seconds < 1 for an empty interval", sec >= 0 && sec < 1 ? 0 : 1, 0);
    free(W);
    free(G);
    free(mask);
    free(D);
    free(x);
    free(y0);
}

/* Two trainers on the same model and data: a (CPU trainer, or the table ta) and b (the table tb). */
static void train_pair(const char *name, const BackendOps *ta, const BackendOps *tb, OptimKind opt, float dropout)
{
    enum { NTOK = 12000, STEPS = 30 };
    int32_t *ids = malloc(NTOK * sizeof *ids);
    uint32_t s = 7;
    for (int i = 0; i < NTOK; i++) { /* a learnable stream: a noisy walk over 61 symbols */
        s = s * 1103515245u + 12345u;
        ids[i] = i ? (ids[i - 1] + 1 + (int32_t)((s >> 16) % 3)) % 61 : 0;
    }
    ModelConfig cfg = {.n_vocab = 61, .n_embed = 19, .n_layers = 2, .hidden = {45, 33}, .dropout = dropout,
                       .init_scale = 0.1f};
    TrainConfig tc = {.bptt = 21, .batch = 11, .epochs = 2, .lr = opt == OPTIM_ADAM ? 0.005f : 1.0f,
                      .lr_decay = 0.5f, .decay_start = 1, .clip = 5.0f, .optim = opt, .seed = 3};
    Model m[2];
    Trainer t[2];
    for (int k = 0; k < 2; k++) {
        Rng r;
        rng_seed(&r, 11);
        MUST(model_init(&m[k], &cfg, &r));
        for (size_t i = 0; i < m[k].n_params; i += 7) m[k].mask[i] = 0;
        model_apply_mask(&m[k]);
        MUST(train_init(&t[k], &m[k], ids, NTOK, &tc));
        const BackendOps *o = k ? tb : ta;
        if (o) MUST(train_use_backend(&t[k], o));
    }
    double worst = 0, first = 0, last = 0;
    for (int i = 0; i < STEPS; i++) {
        TrainStepInfo a, b;
        MUST(train_step(&t[0], &a));
        MUST(train_step(&t[1], &b));
        double e = fabs(a.loss - b.loss) / a.loss;
        worst = e > worst || e != e ? e : worst;
        if (!i) first = a.loss;
        last = a.loss;
    }
    EvalResult ed, ec; /* evaluation on the resident weights vs the CPU's on the weights copied back */
    MUST(train_evaluate_backend(&t[1], ids + NTOK / 2, NTOK / 2, 3, 37, &ed, NULL, NULL));
    MUST(train_pull(&t[0]));
    MUST(train_pull(&t[1]));
    MUST(train_evaluate(&m[1], ids + NTOK / 2, NTOK / 2, 3, 37, &ec));
    double wd = 0;
    int masked_ok = 1;
    for (size_t i = 0; i < m[0].n_params; i++) {
        double e = fabs(m[0].w[i] - m[1].w[i]);
        wd = e > wd || e != e ? e : wd;
        masked_ok &= m[1].mask[i] || m[1].w[i] == 0.0f;
    }
    char line[128];
    snprintf(line, sizeof line, "%s: 30 losses (%.3f -> %.3f)", name, first, last);
    report(line, worst, 1e-3);
    snprintf(line, sizeof line, "%s: weights after 30 steps", name);
    report(line, wd, 2e-3);
    snprintf(line, sizeof line, "%s: pruned weights stay 0", name);
    report(line, masked_ok ? 0 : 1, 0);
    snprintf(line, sizeof line, "%s: evaluation on the device vs cpu", name);
    report(line, fabs(ed.loss - ec.loss) / ec.loss + fabs(ed.accuracy - ec.accuracy), 1e-4);
    for (int k = 0; k < 2; k++) {
        train_free(&t[k]);
        model_free(&m[k]);
    }
    free(ids);
}

int main(void)
{
    cpu = backend_ops_cpu();
    /* TOPIARY_TEST_CUDA_SELF=1: the CPU table stands in for the device, a check of this harness itself
     * on a machine without one (every comparison must then pass); it says so in every line's header */
    const char *self = getenv("TOPIARY_TEST_CUDA_SELF");
    if (self && !strcmp(self, "1")) {
        gpu = cpu;
        printf("test-cuda: HARNESS SELF-CHECK: the CPU table stands in for the device (no GPU involved)\n");
    } else if (backend_ops_cuda(&gpu) != TP_OK) {
        printf("test-cuda: skipped: no CUDA device (%s)\n", err_msg());
        return 0;
    }
    backend_set_threads(2);
    printf("test-cuda: every op of the CUDA table against the CPU table\n");
    test_blas();
    test_elementwise();
    test_lstm_cell();
    test_rows_softmax_dropout();
    test_optim_sparse_timer();
    printf("test-cuda: training on the device against the CPU\n");
    train_pair("sgd, cpu trainer vs cuda", NULL, gpu, OPTIM_SGD, 0.0f);
    train_pair("adam, cpu trainer vs cuda", NULL, gpu, OPTIM_ADAM, 0.0f);
    train_pair("sgd + dropout 0.3, cpu table vs cuda", cpu, gpu, OPTIM_SGD, 0.3f);
    printf("test-cuda: %s (%d failure%s)\n", failures ? "FAILED" : "all passed", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
