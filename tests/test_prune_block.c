/* tests/test_prune_block: block sparsity end to end (engine/prune PRUNE_BLOCK, engine/grow blocks,
 * engine/resize, the schedules through sessions/compress, the export and the runtime).
 *
 * For every block shape of the runtime (16x1, 8x1, 4x4) and every mode (ratio, sparsity, threshold),
 * a prune leaves every selected matrix's mask BLOCKED (each block all live or all dormant) and removes
 * exactly the blocks a brute-force ranking by L2 norm picks (ties: the higher block goes); dual ratios
 * count blocks per matrix; global scope ranks all blocks together; the preview predicts the counts;
 * growth activates whole blocks of largest ||G||_2 (never one that was pruned, when not recoverable);
 * the mask stays blocked through training (SGD and Adam) and through resizes (shrink and grow); the
 * AGP and GP schedules prune and grow in blocks and the block survives a save/open; a block-pruned
 * session exports and evaluates through the runtime with the session's loss, the runtime running
 * BSR kernels when they are fastest (forced here), and the compact file round trips bit for bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/grow.h"
#include "engine/infer.h"
#include "engine/mask.h"
#include "engine/prune.h"
#include "engine/resize.h"
#include "engine/sparse.h"
#include "sessions/command.h"
#include "sessions/compress.h"
#include "sessions/evaluate.h"
#include "sessions/export.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "session_fixture.h"

static const int SHAPES[3][2] = {{16, 1}, {8, 1}, {4, 4}};

/* l0.w_ih [64, 12], l0.w_hh [64, 16], decoder.weight [10, 16]: 4x4 leaves no partial block, 16x1 on
 * the decoder does (10 rows) */
static void make_model(Model *m, uint64_t seed)
{
    ModelConfig cfg = {.n_vocab = 10, .n_embed = 12, .n_layers = 1, .hidden = {16}, .init_scale = 0.5f};
    Rng r;
    rng_seed(&r, seed);
    assert_int_equal(model_init(m, &cfg, &r), TP_OK);
}

static void assert_blocked(const Model *m, int R, int C, const char *what)
{
    for (int t = 0; t < m->n_tensors; t++) {
        if (m->p[t].kind != PARAM_WEIGHT) continue;
        size_t bad;
        if (!mask_tensor_blocked(m, t, R, C, &bad)) {
            print_error("%s: %s is not %dx%d-blocked (block %zu)\n", what, m->p[t].name, R, C, bad);
            fail();
        }
    }
}

static float score_of(const Model *m, int t, const MaskBlockGrid *g, size_t b, const float *val, int *live)
{
    const ModelParam *p = &m->p[t];
    int r0, r1, c0, c1;
    mask_block_bounds(g, b, &r0, &r1, &c0, &c1);
    double ss = 0;
    *live = 0;
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            size_t i = p->off + (size_t)r * p->cols + c;
            *live |= m->mask[i];
            ss += (double)val[i] * val[i];
        }
    return (float)sqrt(ss);
}

/* Brute force: per matrix, of the live blocks keep the `keep` of largest L2 (ties: lower block). */
static void reference_keep(const Model *before, const Model *after, int R, int C, double ratio)
{
    for (int t = 0; t < before->n_tensors; t++) {
        if (before->p[t].kind != PARAM_WEIGHT) continue;
        MaskBlockGrid g;
        mask_block_grid(&g, before->p[t].rows, before->p[t].cols, R, C);
        size_t nb = mask_block_count(&g), n_live = 0;
        for (size_t b = 0; b < nb; b++) {
            int l;
            score_of(before, t, &g, b, before->w, &l);
            n_live += l;
        }
        size_t keep = mask_count_ceil((1.0 - ratio) * (double)n_live);
        for (size_t a = 0; a < nb; a++) {
            int la, lb, la_after;
            float sa = score_of(before, t, &g, a, before->w, &la);
            if (!la) continue;
            size_t above = 0;
            for (size_t b = 0; b < nb; b++) {
                float sb = score_of(before, t, &g, b, before->w, &lb);
                above += lb && b != a && (sb > sa || (sb == sa && b < a));
            }
            score_of(after, t, &g, a, after->w, &la_after);
            assert_int_equal(la_after, above < keep);
            int r0, r1, c0, c1;
            mask_block_bounds(&g, a, &r0, &r1, &c0, &c1);
            uint8_t mk = after->mask[after->p[t].off + (size_t)r0 * after->p[t].cols + c0];
            assert_int_equal(mk, above < keep);
        }
    }
}

static void copy_model(Model *dst, const Model *src)
{
    make_model(dst, 1);
    assert_int_equal(dst->n_params, src->n_params);
    memcpy(dst->w, src->w, src->n_params * sizeof(float));
    memcpy(dst->mask, src->mask, src->n_params);
}

static void test_prune_modes_leave_exact_blocks(void **state)
{
    (void)state;
    for (int s = 0; s < 3; s++)
        for (int mode = 0; mode < 3; mode++) {
            Model m, before;
            make_model(&m, 5 + s);
            PruneConfig c = prune_config_default();
            c.pattern = PRUNE_BLOCK;
            c.block_r = SHAPES[s][0];
            c.block_c = SHAPES[s][1];
            c.mode = (PruneMode)mode;
            c.amount = mode == PRUNE_THRESHOLD ? 0.9 : mode == PRUNE_SPARSITY ? 0.75 : 0.5;
            PruneResult pv, r;
            assert_int_equal(prune_preview(&m, &pv, &c), TP_OK);
            copy_model(&before, &m);
            assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
            assert_int_equal(pv.removed, r.removed);
            assert_true(r.removed > 0);
            assert_blocked(&m, c.block_r, c.block_c, "prune");
            for (size_t i = 0; i < m.n_params; i++)
                if (!m.mask[i]) assert_true(m.w[i] == 0.0f);
            if (mode == PRUNE_RATIO) reference_keep(&before, &m, c.block_r, c.block_c, 0.5);
            for (int t = 0; t < m.n_tensors; t++) {
                const PruneTensorResult *tr = &r.t[t];
                if (!tr->selected) continue;
                if (mode == PRUNE_SPARSITY) /* at most ceil(0.25 N) blocks stay */
                    assert_int_equal(tr->blocks_live - tr->blocks_removed, mask_count_ceil(0.25 * (double)tr->blocks));
                if (mode == PRUNE_THRESHOLD) { /* every survivor scores >= 0.9 */
                    MaskBlockGrid g;
                    mask_block_grid(&g, m.p[t].rows, m.p[t].cols, c.block_r, c.block_c);
                    for (size_t b = 0; b < mask_block_count(&g); b++) {
                        int l;
                        float sc = score_of(&before, t, &g, b, before.w, &l);
                        int la;
                        score_of(&m, t, &g, b, m.w, &la);
                        assert_int_equal(la, sc >= 0.9f);
                    }
                }
            }
            model_free(&before);
            model_free(&m);
        }
}

static void test_dual_ratios_and_global_scope(void **state)
{
    (void)state;
    Model m;
    make_model(&m, 11);
    PruneConfig c = prune_config_default();
    c.pattern = PRUNE_BLOCK;
    c.mode = PRUNE_SPARSITY;
    c.amount = 0.0;
    c.amount_ih = 0.5;
    c.amount_hh = 0.875;
    PruneResult r;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    assert_blocked(&m, 16, 1, "dual");
    int ih = model_param(&m, "l0.w_ih") - m.p, hh = model_param(&m, "l0.w_hh") - m.p;
    assert_int_equal(r.t[ih].blocks, 4 * 12);
    assert_int_equal(r.t[ih].blocks_live - r.t[ih].blocks_removed, 24);
    assert_int_equal(r.t[hh].blocks_live - r.t[hh].blocks_removed, 8);
    assert_int_equal(r.t[hh].removed, 56 * 16);
    /* global: the blocks of all matrices against one cut, still whole blocks */
    c = prune_config_default();
    c.pattern = PRUNE_BLOCK;
    c.block_r = 4;
    c.block_c = 4;
    c.scope = MASK_SCOPE_GLOBAL;
    c.amount = 0.5;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_OK);
    size_t live = 0, removed = 0;
    for (int t = 0; t < m.n_tensors; t++) live += r.t[t].blocks_live, removed += r.t[t].blocks_removed;
    assert_int_equal(removed, live - mask_count_ceil(0.5 * (double)live));
    /* 16x1 blocks were pruned, 4x4 ranks over them: a 4x4 block of a 16x1-blocked matrix is whole */
    assert_blocked(&m, 4, 1, "global");
    /* refusals */
    c.block_r = 0;
    assert_int_equal(prune_apply(&m, NULL, &r, &c), TP_EINVAL);
    c.block_r = 65;
    assert_int_equal(prune_preview(&m, &r, &c), TP_EINVAL);
    model_free(&m);
}

static void test_growth_grows_whole_blocks(void **state)
{
    (void)state;
    for (int s = 0; s < 3; s++) {
        Model m;
        make_model(&m, 21 + s);
        int R = SHAPES[s][0], C = SHAPES[s][1];
        uint8_t *ever = calloc(m.n_params, 1);
        PruneConfig pc = prune_config_default();
        pc.pattern = PRUNE_BLOCK;
        pc.block_r = R;
        pc.block_c = C;
        pc.amount = 0.5;
        PruneResult pr;
        assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
        /* a few dormant blocks were never pruned: made dormant by hand (not in ever) */
        int hh = model_param(&m, "l0.w_hh") - m.p;
        const ModelParam *p = &m.p[hh];
        MaskBlockGrid g;
        mask_block_grid(&g, p->rows, p->cols, R, C);
        GrowAccum a;
        assert_int_equal(grow_accum_init(&a, &m), TP_OK);
        Rng rng;
        rng_seed(&rng, 9);
        for (size_t i = 0; i < a.n; i++) a.sum[i] = (float)(rng_uniform(&rng) - 0.5);
        a.n_batches = 2;
        GrowConfig gc = grow_config_default();
        gc.block_r = R;
        gc.block_c = C;
        gc.ratio = 0.5;
        gc.init = GROW_INIT_GRAD;
        gc.lr = 0.1f;
        GrowResult pv, r;
        assert_int_equal(grow_preview(&m, &pv, &a, ever, &gc), TP_OK);
        Model before;
        copy_model(&before, &m);
        assert_int_equal(grow_apply(&m, &r, &a, ever, &gc), TP_OK);
        assert_int_equal(pv.grown, r.grown);
        assert_true(r.grown > 0);
        assert_blocked(&m, R, C, "grow");
        /* per matrix: the grown blocks are the dormant ones of largest ||G||, each entry -lr G / K */
        for (int t = 0; t < m.n_tensors; t++) {
            if (!r.t[t].selected) continue;
            mask_block_grid(&g, m.p[t].rows, m.p[t].cols, R, C);
            size_t nb = mask_block_count(&g);
            assert_int_equal(r.t[t].blocks_grown, r.t[t].blocks_eligible - mask_count_ceil(0.5 * (double)r.t[t].blocks_eligible));
            float cut_grown = INFINITY, best_left = -1;
            for (size_t b = 0; b < nb; b++) {
                int was, now;
                score_of(&before, t, &g, b, before.w, &was);
                float sc = score_of(&m, t, &g, b, a.sum, &now);
                score_of(&m, t, &g, b, m.w, &now);
                if (was) continue;
                if (now) cut_grown = fminf(cut_grown, sc);
                else best_left = fmaxf(best_left, sc);
            }
            assert_true(cut_grown >= best_left);
        }
        for (size_t i = 0; i < m.n_params; i++)
            if (m.mask[i] && !before.mask[i]) assert_true(m.w[i] == -0.1f * (a.sum[i] / 2.0f));
        /* not recoverable: the pruned blocks never come back */
        model_free(&m);
        copy_model(&m, &before);
        gc.recoverable = 0;
        gc.ratio = 1.0;
        assert_int_equal(grow_apply(&m, &r, &a, ever, &gc), TP_OK);
        assert_int_equal(r.grown, 0);
        gc.recoverable = 1;
        assert_int_equal(grow_apply(&m, &r, &a, ever, &gc), TP_OK);
        for (size_t i = 0; i < m.n_params; i++)
            if (m.p[0].kind == PARAM_WEIGHT && ever[i]) assert_true(m.mask[i]);
        grow_accum_free(&a);
        free(ever);
        model_free(&before);
        model_free(&m);
    }
}

/* 1 when tensor t's mask is blocked on grid g (its order followed): every block all live or all dormant. */
static int blocked_on(const Model *m, int t, const MaskBlockGrid *g)
{
    for (size_t b = 0; b < mask_block_count(g); b++) {
        MaskBlockIter it;
        size_t i, n = 0, live = 0;
        for (mask_block_begin(&it, g, b, m->p[t].off); mask_block_next(&it, &i); n++) live += m->mask[i] != 0;
        if (live && live != n) return 0;
    }
    return 1;
}

/* Blocks over the vocabulary's rows in another order (vocab_order): prune and grow keep the
 * embedding and the decoder blocked on the ordered grid, not on the natural one, and leave the
 * other matrices on the natural grid. */
static void test_vocab_ordered_blocks(void **state)
{
    (void)state;
    enum { V = 32, R = 8 };
    ModelConfig cfg = {.n_vocab = V, .n_embed = 12, .n_layers = 1, .hidden = {16}, .init_scale = 0.5f};
    Rng rng;
    rng_seed(&rng, 77);
    Model m;
    assert_int_equal(model_init(&m, &cfg, &rng), TP_OK);
    int32_t order[V];
    for (int k = 0; k < V; k++) order[k] = (k * 7) % V; /* 7 is prime to 32: a permutation */
    PruneConfig pc = prune_config_default();
    pc.pattern = PRUNE_BLOCK;
    pc.block_r = R;
    pc.block_c = 1;
    pc.amount = 0.5;
    pc.vocab_order = order;
    pc.params = "embed.weight,decoder.weight,l0.w_ih";
    uint8_t *ever = calloc(m.n_params, 1);
    PruneResult pr;
    assert_int_equal(prune_apply(&m, ever, &pr, &pc), TP_OK);
    const int t_emb = (int)(model_param(&m, "embed.weight") - m.p), t_dec = (int)(model_param(&m, "decoder.weight") - m.p);
    const int t_ih = (int)(model_param(&m, "l0.w_ih") - m.p);
    MaskBlockGrid g;
    for (int k = 0; k < 2; k++) {
        int t = k ? t_dec : t_emb;
        mask_block_grid(&g, m.p[t].rows, m.p[t].cols, R, 1);
        mask_block_grid_order(&g, order);
        assert_true(blocked_on(&m, t, &g));
        assert_false(mask_tensor_blocked(&m, t, R, 1, NULL)); /* rows 0, 7, 14, ... are not adjacent */
        assert_int_equal(pr.t[t].blocks_removed, pr.t[t].blocks / 2);
    }
    assert_true(mask_tensor_blocked(&m, t_ih, R, 1, NULL)); /* 4H rows: the natural grid */
    /* growth on the same ordered grid */
    GrowAccum a;
    assert_int_equal(grow_accum_init(&a, &m), TP_OK);
    for (size_t i = 0; i < a.n; i++) a.sum[i] = (float)(rng_uniform(&rng) - 0.5);
    a.n_batches = 1;
    GrowConfig gc = grow_config_default();
    gc.block_r = R;
    gc.block_c = 1;
    gc.ratio = 0.5;
    gc.vocab_order = order;
    gc.params = pc.params;
    GrowResult gr;
    assert_int_equal(grow_apply(&m, &gr, &a, ever, &gc), TP_OK);
    assert_true(gr.t[t_emb].blocks_grown > 0 && gr.t[t_dec].blocks_grown > 0);
    for (int k = 0; k < 2; k++) {
        int t = k ? t_dec : t_emb;
        mask_block_grid(&g, m.p[t].rows, m.p[t].cols, R, 1);
        mask_block_grid_order(&g, order);
        assert_true(blocked_on(&m, t, &g));
    }
    assert_true(mask_tensor_blocked(&m, t_ih, R, 1, NULL));
    grow_accum_free(&a);
    free(ever);
    model_free(&m);
}

/* ---- sessions: training, resize, schedules, export ------------------------------------------- */

static int block_of_session(Session *s, int *R, int *C)
{
    int any = 0;
    for (int t = 0; t < s->model.n_tensors; t++) {
        if (s->model.p[t].kind != PARAM_WEIGHT || s->model.p[t].layer < 0) continue;
        int r, c;
        if (!mask_tensor_block_shape(&s->model, t, &r, &c)) return 0;
        if (any && (r != *R || c != *C)) return 0;
        *R = r, *C = c, any = 1;
    }
    return any;
}

static void run(Session *s, const char *line)
{
    CommandResult r;
    if (command_execute(s, line, &r) != TP_OK) fail_msg("'%s': %s", line, err_msg());
}

static void test_training_and_resize_keep_blocks(void **state)
{
    (void)state;
    for (int optim = 0; optim < 2; optim++) {
        char dir[1024];
        sf_copy_golden(dir, sizeof dir, optim ? "blk-adam" : "blk-sgd");
        Session s;
        assert_int_equal(session_open(&s, dir, NULL), TP_OK);
        if (!optim) run(&s, "set lr=0.5");
        run(&s, "prune ratio=0.5 params=l*.w_* pattern=block block=8x1");
        int R = 0, C = 0;
        assert_true(block_of_session(&s, &R, &C));
        assert_int_equal(R, 8);
        uint8_t *mk = malloc(s.model.n_params);
        memcpy(mk, s.model.mask, s.model.n_params);
        run(&s, "train steps=12");
        assert_memory_equal(mk, s.model.mask, s.model.n_params); /* the mask is applied per entry */
        free(mk);
        run(&s, "grow ratio=0.3 batches=2 params=l*.w_* pattern=block block=8x1");
        assert_true(block_of_session(&s, &R, &C) && R == 8);
        run(&s, "resize layer=0 hidden=13");   /* removes 3 units: rows move across the grid */
        assert_true(block_of_session(&s, &R, &C) && R == 8);
        run(&s, "resize layer=1 hidden=12");   /* adds 4 live units */
        assert_true(block_of_session(&s, &R, &C) && R == 8);
        run(&s, "train steps=5");
        assert_true(block_of_session(&s, &R, &C) && R == 8);
        session_free(&s);
    }
}

static void test_schedules_in_blocks(void **state)
{
    (void)state;
    char dir[1024];
    sf_copy_golden(dir, sizeof dir, "blk-agp");
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    run(&s, "schedule agp from=0 to=0.75 span=8 every=4 params=l*.w_* pattern=block block=4x4");
    run(&s, "train steps=4");
    assert_int_equal(session_save(&s), TP_OK);
    session_free(&s);
    assert_int_equal(session_open(&s, dir, NULL), TP_OK); /* the block is in the manifest */
    CommandResult r;
    assert_int_equal(command_execute(&s, "status", &r), TP_OK);
    assert_non_null(strstr(r.text, "pattern=block block=4x4"));
    run(&s, "train steps=6");
    int R = 0, C = 0;
    assert_true(block_of_session(&s, &R, &C));
    assert_int_equal(R * 10 + C, 44);
    MaskStats ms;
    assert_int_equal(mask_stats(&s.model, &ms), TP_OK);
    assert_true(fabs(ms.cell_sparsity - 0.75) < 0.02);
    session_free(&s);
    /* GP: growth and pruning in 16x1 blocks */
    sf_copy_golden(dir, sizeof dir, "blk-gp");
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    run(&s, "schedule gp grow=0.2 prune=0.2 every=2 tolerance=1000 batches=2 params=l*.w_* pattern=block block=16x1");
    run(&s, "prune sparsity=0.5 params=l*.w_* pattern=block block=16x1");
    run(&s, "train steps=14");
    assert_true(s.gp.sched.n_grows >= 1 && s.gp.sched.n_prunes >= 1);
    assert_true(block_of_session(&s, &R, &C));
    assert_int_equal(R, 16);
    /* rows=freq: the embedding's blocks are words of similar frequency in the training split */
    run(&s, "prune sparsity=0.5 params=embed.weight pattern=block block=8x1 rows=freq");
    int32_t *order = NULL;
    assert_int_equal(compress_vocab_order(&s, &order), TP_OK);
    for (int k = 1; k < s.corpus.n_vocab; k++) { /* descending counts */
        size_t ca = 0, cb = 0;
        for (size_t i = 0; i < s.corpus.n_ids[CORPUS_TRAIN]; i++)
            ca += s.corpus.ids[CORPUS_TRAIN][i] == order[k - 1], cb += s.corpus.ids[CORPUS_TRAIN][i] == order[k];
        assert_true(ca >= cb);
    }
    int te = (int)(model_param(&s.model, "embed.weight") - s.model.p);
    MaskBlockGrid g;
    mask_block_grid(&g, s.model.p[te].rows, s.model.p[te].cols, 8, 1);
    mask_block_grid_order(&g, order);
    assert_true(blocked_on(&s.model, te, &g));
    free(order);
    assert_int_equal(command_execute(&s, "prune ratio=0.1 rows=freq", &r), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "needs pattern=block"));
    assert_int_equal(command_execute(&s, "grow ratio=0.1 rows=freq", &r), TP_EINVAL);
    assert_int_equal(command_execute(&s, "prune ratio=0.1 pattern=block rows=alphabetical", &r), TP_EINVAL);
    /* refused: block without pattern=block, an unknown shape */
    assert_int_equal(command_execute(&s, "schedule agp to=0.5 span=4 block=4x4", &r), TP_EINVAL);
    assert_int_equal(command_execute(&s, "prune ratio=0.1 pattern=block block=3x3", &r), TP_EINVAL);
    assert_int_equal(command_execute(&s, "grow ratio=0.1 block=8x1", &r), TP_EINVAL);
    session_free(&s);
}

static void test_export_and_runtime(void **state)
{
    (void)state;
    char dir[1024], out[1200];
    sf_copy_golden(dir, sizeof dir, "blk-export");
    snprintf(out, sizeof out, "%s-export", dir);
    Session s;
    assert_int_equal(session_open(&s, dir, NULL), TP_OK);
    run(&s, "prune sparsity=0.8 params=l*.w_* pattern=block block=16x1");
    run(&s, "prune sparsity=0.8 params=decoder.weight pattern=block block=4x4");
    EvalResult ref;
    assert_int_equal(evaluate_session(&s, CORPUS_TEST, &ref), TP_OK);
    assert_int_equal(export_write(&s, out), TP_OK);
    ExportEval e;
    assert_int_equal(evaluate_export(out, NULL, CORPUS_TEST, 1, &e), TP_OK);
    assert_string_equal(e.file, "model.compact.safetensors");
    assert_true(fabs(e.r.loss - ref.loss) <= 1e-5 * fabs(ref.loss));
    /* the compact file reads back to the session's trimmed weights: blocks intact unless trimming
     * removed a unit (its rows leave the grid; BSR then stores a few explicit zeros) */
    ExportModel em;
    assert_int_equal(export_open_compact(&em, out, NULL), TP_OK);
    int trimmed = 0;
    for (int l = 0; l < em.model.cfg.n_layers; l++) trimmed |= em.model.cfg.hidden[l] != s.model.cfg.hidden[l];
    for (int t = 0; t < em.model.n_tensors && !trimmed; t++)
        if (em.model.p[t].kind == PARAM_WEIGHT && em.model.p[t].layer >= 0)
            assert_true(mask_tensor_blocked(&em.model, t, 16, 1, NULL));
    /* every BSR layout the runtime may pick gives the session's loss */
    for (int k = SPARSE_BSR16X1; k <= SPARSE_BSR4X4; k++) {
        InferOptions o;
        infer_options_defaults(&o);
        o.force = k;
        InferModel im;
        EvalResult r;
        assert_int_equal(infer_init(&im, &em.model, &o), TP_OK);
        assert_int_equal(infer_evaluate(&im, em.corpus.ids[CORPUS_TEST], em.corpus.n_ids[CORPUS_TEST], 1, &r), TP_OK);
        char sum[512];
        infer_summary(&im, sum, sizeof sum);
        assert_non_null(strstr(sum, sparse_kind_name((SparseKind)k)));
        infer_free(&im);
        assert_true(fabs(r.loss - ref.loss) <= 1e-5 * fabs(ref.loss));
    }
    export_close(&em);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest engine[] = {
        cmocka_unit_test(test_prune_modes_leave_exact_blocks),
        cmocka_unit_test(test_dual_ratios_and_global_scope),
        cmocka_unit_test(test_growth_grows_whole_blocks),
        cmocka_unit_test(test_vocab_ordered_blocks),
    };
    const struct CMUnitTest sessions[] = {
        cmocka_unit_test(test_training_and_resize_keep_blocks),
        cmocka_unit_test(test_schedules_in_blocks),
        cmocka_unit_test(test_export_and_runtime),
    };
    int rc = cmocka_run_group_tests_name("engine", engine, NULL, NULL);
    return rc | cmocka_run_group_tests_name("sessions", sessions, sf_group_setup, sf_group_teardown);
}
