/* tests/fuzz/fuzz_sphere: libFuzzer target for engine/sphere, the reader of NIST SPHERE audio (AN4).
 *
 * Each input is parsed as a header (sphere_parse_header on the bytes) and read as a file (written to a
 * temp file, then sphere_read with a cap of 1 << 20 samples).  Invariants: a header that parses declares
 * a size within the input, a positive count and rate; a file that reads has exactly header + 2 x count
 * bytes, its samples sum to the checksum when there is one, and the count is within the cap; a refusal is
 * one of TP_EFORMAT / TP_ERANGE with a message starting with the file's name, and leaves nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/sphere.h"
#include "fuzz_seed.h"

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(path, sizeof path, "/tmp/fuzz_sphere_%d.sph", (int)getpid());
    const char *dir = fuzz_corpus_dir(*argc, *argv);
    static char seed[1024 + 8];
    memset(seed, ' ', 1024);
    int len = snprintf(seed, 1024,
                       "NIST_1A\n   1024\nsample_count -i 4\nsample_rate -i 16000\nsample_n_bytes -i 2\n"
                       "sample_byte_format -s2 01\nchannel_count -i 1\nsample_coding -s3 pcm\n"
                       "sample_checksum -i 10\nend_head\n");
    seed[len] = ' ';
    const int16_t x[4] = {1, 2, 3, 4};
    memcpy(seed + 1024, x, 8);
    fuzz_write_seed(dir, "seed-00", seed, sizeof seed);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SphereHeader h;
    if (sphere_parse_header((const char *)data, size, "F", &h) == TP_OK) {
        if (h.header_bytes < 16 || (size_t)h.header_bytes > size || h.sample_count <= 0 || h.sample_rate <= 0) abort();
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size && fwrite(data, 1, size, f) != size) { fclose(f); return 0; }
    if (fclose(f) != 0) return 0;
    SphereAudio a;
    TpStatus st = sphere_read(path, 1u << 20, &a);
    if (st == TP_OK) {
        if (a.n_samples == 0 || a.n_samples > (1u << 20) || (size_t)a.h.header_bytes + 2 * a.n_samples != size) abort();
        if (a.h.has_checksum && sphere_checksum(a.samples, a.n_samples) != (uint16_t)a.h.checksum) abort();
        sphere_free(&a);
    } else {
        if (st != TP_EFORMAT && st != TP_ERANGE) abort();
        if (a.samples || a.n_samples) abort();
        if (strncmp(err_msg(), path, strlen(path)) != 0) abort();
    }
    unlink(path);
    return 0;
}
