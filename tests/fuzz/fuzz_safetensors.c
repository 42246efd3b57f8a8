/* tests/fuzz/fuzz_safetensors: libFuzzer target for the strict safetensors reader
 * (engine/safetensors, safetensors_parse).  Any buffer is read or refused with TP_EFORMAT/TP_ERANGE;
 * an accepted file has tensors whose data lies inside the buffer, aligned to the element size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "fuzz_seed.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* a small valid file with every dtype, a scalar, an empty tensor and metadata */
    SafetensorsWriter *w = safetensors_writer_new();
    if (!w) return 0;
    float f[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
    uint8_t u[4] = {0, 1, 1, 0};
    int16_t s16[3] = {-1, 2, 300};
    int32_t s32[2] = {5, -6};
    int64_t s64[1] = {1234567890123LL};
    double d[2] = {0.25, -8};
    int64_t sh23[2] = {2, 3}, sh4[1] = {4}, sh3[1] = {3}, sh2[1] = {2}, sh0[2] = {0, 5};
    safetensors_writer_add(w, "l0.w_ih", SAFETENSORS_F32, 2, sh23, f);
    safetensors_writer_add(w, "mask.l0.w_ih", SAFETENSORS_U8, 1, sh4, u);
    safetensors_writer_add(w, "idx", SAFETENSORS_I16, 1, sh3, s16);
    safetensors_writer_add(w, "row_ptr", SAFETENSORS_I32, 1, sh2, s32);
    safetensors_writer_add(w, "scalar", SAFETENSORS_I64, 0, NULL, s64);
    safetensors_writer_add(w, "dbl", SAFETENSORS_F64, 1, sh2, d);
    safetensors_writer_add(w, "empty", SAFETENSORS_F32, 2, sh0, NULL);
    safetensors_writer_meta(w, "topiary", "{\"format\":\"x\"}");
    void *buf = NULL;
    size_t n = 0;
    if (safetensors_writer_serialize(w, &buf, &n) == TP_OK)
        fuzz_write_seed(fuzz_corpus_dir(*argc, *argv), "seed-all-dtypes", buf, n);
    free(buf);
    safetensors_writer_delete(w);
    return 0;
}

static void check(const SafetensorsFile *f)
{
    const uint8_t *lo = f->buf, *hi = lo + f->buf_size;
    for (int i = 0; i < f->n; i++) {
        const SafetensorsTensor *t = &f->t[i];
        size_t es = safetensors_dtype_size(t->dtype);
        if (!es || t->nbytes != t->n_elems * es) abort();
        if (t->nbytes && ((const uint8_t *)t->data < lo || (const uint8_t *)t->data + t->nbytes > hi)) abort();
        if (t->nbytes && (uintptr_t)t->data % es) abort();
        if (safetensors_find(f, t->name) == NULL) abort();
        volatile uint8_t sum = 0; /* touch every byte: ASan checks the bounds */
        for (size_t k = 0; k < t->nbytes; k++) sum += ((const uint8_t *)t->data)[k];
        (void)sum;
    }
    for (int i = 0; i < f->n_meta; i++)
        if (!safetensors_meta(f, f->meta_keys[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int allow = 0; allow < 2; allow++) {
        void *buf = malloc(size ? size : 1);
        if (!buf) return 0;
        memcpy(buf, data, size);
        SafetensorsFile f;
        memset(&f, 0, sizeof f);
        SafetensorsReadOpts o = {.max_bytes = 1u << 20, .allow_nonfinite = allow};
        TpStatus st = safetensors_parse(&f, buf, size, &o); /* takes buf */
        if (st == TP_OK) check(&f);
        else if (st != TP_EFORMAT && st != TP_ERANGE && st != TP_ENOMEM) abort();
        safetensors_free(&f);
    }
    return 0;
}
