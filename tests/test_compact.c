/* tests/test_compact: the bsr layout of the compact file (engine/compact; the dense, csr and row
 * layouts and the trimming are in tests/test_infer.c).
 *
 *   - a model whose recurrent matrices were pruned in 16x1, 8x1 and 4x4 blocks (prune_apply,
 *     PRUNE_BLOCK, on sizes that are not multiples of the block: edge blocks) is written in bsr with that block
 *     shape, reads back bit for bit with the same non-zero pattern, and is smaller than the same
 *     non-zeros in csr would be;
 *   - scattered (unstructured) non-zeros never take bsr;
 *   - damaged bsr files are refused naming the tensor: a block column out of range, a non-zero past
 *     the matrix's edge, a missing or wrong "block" shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/compact.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "engine/prune.h"
#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "tests/helpers.h"

static TpStatus reg_names(const Model *m, CompactTensor *t, int *n)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelParam *p = &m->p[i];
        t[i] = (CompactTensor){"", i, 0, p->rows, p->cols, p->kind == PARAM_BIAS ? 1 : 2};
        snprintf(t[i].name, sizeof t[i].name, "%s", p->name);
    }
    *n = m->n_tensors;
    return TP_OK;
}

/* 2 layers of 37 and 29 units (4H = 148 and 116 rows: not multiples of 16), vocab 41, embed 11. */
static void make_model(Model *m, uint64_t seed)
{
    ModelConfig c = {.n_vocab = 41, .n_embed = 11, .n_layers = 2, .hidden = {37, 29}, .cell = MODEL_CELL_LSTM,
                     .init_scale = 0.5f};
    Rng rng;
    rng_seed(&rng, seed);
    assert_int_equal(model_init(m, &c, &rng), TP_OK);
}

static void prune_blocks(Model *m, int br, int bc, double sparsity)
{
    PruneConfig pc = prune_config_default();
    pc.mode = PRUNE_SPARSITY;
    pc.amount = sparsity;
    pc.pattern = PRUNE_BLOCK;
    pc.block_r = br;
    pc.block_c = bc;
    pc.params = "l*.w_hh";   /* l*.w_ih and the decoder dense: every unit stays read, nothing is trimmed */
    PruneResult r;
    assert_int_equal(prune_apply(m, NULL, &r, &pc), TP_OK);
}

static const char *layout_of(const char *path, const char *tensor, int *br, int *bc)
{
    static char lay[16];
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, path, NULL), TP_OK);
    const char *txt = safetensors_meta(&f, "topiary_compact");
    assert_non_null(txt);
    char key[96];
    snprintf(key, sizeof key, "\"%s\":{\"layout\":\"", tensor);
    const char *p = strstr(txt, key);
    assert_non_null(p);
    p += strlen(key);
    size_t n = strcspn(p, "\"");
    snprintf(lay, sizeof lay, "%.*s", (int)n, p);
    *br = *bc = 0;
    const char *b = strstr(p, "\"block\":[");
    const char *end = strchr(p, '}');
    if (b && b < end) sscanf(b, "\"block\":[%d,%d]", br, bc);
    safetensors_free(&f);
    return lay;
}

static void test_bsr_round_trip(void **state)
{
    (void)state;
    char *dir = th_tempdir("compact-bsr");
    char p[4096];
    snprintf(p, sizeof p, "%s/model.compact.safetensors", dir);
    static const int SH[][2] = {{16, 1}, {8, 1}, {4, 4}};
    for (int s = 0; s < 3; s++) {
        Model m, t, back;
        make_model(&m, 11 + (uint64_t)s);
        prune_blocks(&m, SH[s][0], SH[s][1], 0.8);
        CompactInfo ci, ri;
        assert_int_equal(compact_write(&m, reg_names, NULL, p, &ci), TP_OK);
        assert_int_equal(ci.n_bsr, 2);   /* l0.w_hh, l1.w_hh */
        int br, bc;
        assert_string_equal(layout_of(p, "l0.w_hh", &br, &bc), "bsr");
        /* 4x4 blocks also tile as 8x1 or 16x1 only when their columns line up; the writer takes the
         * smallest, which for a 16x1 or 8x1 mask is its own shape */
        if (s < 2) {
            assert_int_equal(br, SH[s][0]);
            assert_int_equal(bc, SH[s][1]);
        }
        assert_int_equal(compact_read(&back, &m.cfg, reg_names, p, &ri), TP_OK);
        assert_int_equal(ri.n_bsr, ci.n_bsr);
        assert_int_equal(ri.stored, ci.stored);
        assert_int_equal(infer_trim(&t, &m, NULL), TP_OK);
        assert_int_equal(back.n_params, t.n_params);
        assert_memory_equal(back.w, t.w, t.n_params * sizeof(float));
        for (size_t i = 0; i < t.n_params; i++) assert_int_equal(back.mask[i] != 0, t.w[i] != 0.0f);
        /* each bsr matrix is smaller than its non-zeros in csr: (4 + 2) bytes an entry + row_ptr */
        SafetensorsFile f = {0};
        assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
        int checked = 0;
        for (int k = 0; k < t.n_tensors; k++) {
            const ModelParam *q = &t.p[k];
            if (q->kind != PARAM_WEIGHT || strcmp(layout_of(p, q->name, &br, &bc), "bsr")) continue;
            size_t nnz = 0, bytes = 0;
            for (size_t i = 0; i < q->n; i++) nnz += t.w[q->off + i] != 0.0f;
            static const char *const SUF[] = {".values", ".col_idx", ".row_ptr"};
            for (int j = 0; j < 3; j++) {
                char name[96];
                snprintf(name, sizeof name, "%s%s", q->name, SUF[j]);
                const SafetensorsTensor *x = safetensors_find(&f, name);
                assert_non_null(x);
                bytes += x->nbytes;
            }
            assert_true(bytes < 6 * nnz + 4 * ((size_t)q->rows + 1));
            checked++;
        }
        assert_int_equal(checked, 2);
        safetensors_free(&f);
        model_free(&t);
        model_free(&back);
        model_free(&m);
    }
    /* scattered non-zeros: csr or row, never bsr */
    Model m;
    make_model(&m, 5);
    Rng rng;
    rng_seed(&rng, 9);
    for (size_t i = 0; i < m.n_params; i++)
        if (m.p[0].n <= i && rng_uniform(&rng) < 0.8) m.w[i] = 0.0f, m.mask[i] = 0;
    CompactInfo ci;
    assert_int_equal(compact_write(&m, reg_names, NULL, p, &ci), TP_OK);
    assert_int_equal(ci.n_bsr, 0);
    model_free(&m);
    th_rmtree(dir);
    free(dir);
}

/* Rewrite the file with one change to tensor `victim` (what 1: first block column 9999, 2: a
 * non-zero in the padding of the last block) or to the metadata (3: the block shape 3x3). */
static TpStatus read_damaged(const Model *m, const char *p, const char *victim, int what)
{
    SafetensorsFile f = {0};
    assert_int_equal(safetensors_read(&f, p, NULL), TP_OK);
    SafetensorsWriter *w = safetensors_writer_new();
    for (int i = 0; i < f.n; i++) {
        const SafetensorsTensor *x = &f.t[i];
        void *data = malloc(x->nbytes ? x->nbytes : 1);
        memcpy(data, x->data, x->nbytes);
        if (!strcmp(x->name, victim) && what == 1) ((int16_t *)data)[0] = 9999;
        if (!strcmp(x->name, victim) && what == 2) ((float *)data)[x->nbytes / sizeof(float) - 1] = 1.0f;
        assert_int_equal(safetensors_writer_add(w, x->name, x->dtype, x->ndim, x->shape, data), TP_OK);
        free(data);
    }
    for (int k = 0; k < f.n_meta; k++) {
        char *v = strdup(f.meta_vals[k]);
        char *b = what == 3 ? strstr(v, "\"block\":[16,1]") : NULL;
        if (b) memcpy(b, "\"block\":[13,1]", 14);
        safetensors_writer_meta(w, f.meta_keys[k], v);
        free(v);
    }
    char q[4200];
    snprintf(q, sizeof q, "%s.bad", p);
    assert_int_equal(safetensors_writer_save(w, q), TP_OK);
    safetensors_writer_delete(w);
    safetensors_free(&f);
    Model back;
    TpStatus st = compact_read(&back, &m->cfg, reg_names, q, NULL);
    if (st == TP_OK) model_free(&back);
    return st;
}

static void test_bsr_refuses_damage(void **state)
{
    (void)state;
    char *dir = th_tempdir("compact-bsr-bad");
    char p[4096];
    snprintf(p, sizeof p, "%s/model.compact.safetensors", dir);
    Model m;
    make_model(&m, 3);
    prune_blocks(&m, 16, 1, 0.7);
    /* keep the last 16x1 block of l0.w_hh's column 0 (rows 144..147 of 148 are real, 148..159 padding) */
    const ModelParam *hh = model_param(&m, "l0.w_hh");
    for (int r = 144; r < 148; r++) m.w[hh->off + (size_t)r * hh->cols + hh->cols - 1] = 0.25f,
                                    m.mask[hh->off + (size_t)r * hh->cols + hh->cols - 1] = 1;
    assert_int_equal(compact_write(&m, reg_names, NULL, p, NULL), TP_OK);
    int br, bc;
    assert_string_equal(layout_of(p, "l0.w_hh", &br, &bc), "bsr");
    assert_int_equal(read_damaged(&m, p, "l0.w_hh.col_idx", 1), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "l0.w_hh.col_idx"));
    assert_int_equal(read_damaged(&m, p, "l0.w_hh.values", 2), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "edge"));
    assert_int_equal(read_damaged(&m, p, "", 3), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "block"));
    model_free(&m);
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bsr_round_trip),
        cmocka_unit_test(test_bsr_refuses_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
