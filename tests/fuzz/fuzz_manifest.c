/* tests/fuzz/fuzz_manifest: libFuzzer target for the manifest loader.  LLVMFuzzerInitialize builds a
 * tiny real session (generated word corpus, one LSTM layer of 4) in a temp directory; every input
 * is written there as manifest.json and the session opened with session_open (the corpus path is
 * pinned with data_override, so a mutated "data" cannot send the loader to /dev/zero).  Any
 * manifest opens or is refused with an error naming a file; nothing crashes, and the directory's
 * other files are never modified.  The seed is the session's own manifest.  FUZZ_VERBOSE=1 prints
 * what session_open says about each input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed.h"
#include "base/fsutil.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/task.h"

static char g_dir[4096], g_data[4096], g_manifest[4200];

static void write_split(const char *name, int lines, unsigned seed)
{
    static const char *const W[] = {"a", "b", "c", "d", "e", "f"};
    char buf[4096], p[4200];
    size_t n = 0;
    for (int i = 0; i < lines; i++) {
        for (int k = 0; k < 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", k ? " " : "", W[(seed >> 16) % 6]);
        }
        buf[n++] = '\n';
    }
    snprintf(p, sizeof p, "%s/%s", g_data, name);
    if (fsutil_write_atomic(p, buf, n) != TP_OK) abort();
}

static char g_root[64];
static uint32_t g_crc[2];

/* CRC32 of model.safetensors and vocab.json: opening must never change them */
static void files_crc(uint32_t crc[2])
{
    const char *names[2] = {"model.safetensors", "vocab.json"};
    for (int i = 0; i < 2; i++) {
        char p[4200];
        uint64_t n;
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        if (fsutil_crc32_file(p, &crc[i], &n) != TP_OK) abort();
    }
}

static void cleanup(void)
{
    char cmd[128];
    if (!strncmp(g_root, "/tmp/topiary-fuzz-manifest-", 27)) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
        if (system(cmd) != 0) fprintf(stderr, "fuzz_manifest: could not remove %s\n", g_root);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char root[] = "/tmp/topiary-fuzz-manifest-XXXXXX";
    if (!mkdtemp(root)) abort();
    /* the corpus path is recorded in the model file's metadata: a fixed one keeps its CRC, and so the
     * seeds of earlier runs, valid from run to run */
    snprintf(g_data, sizeof g_data, "/tmp/topiary-fuzz-manifest-data");
    snprintf(g_dir, sizeof g_dir, "%s/session", root);
    snprintf(g_manifest, sizeof g_manifest, "%s/manifest.json", g_dir);
    if (fsutil_mkdir_p(g_data) != TP_OK) abort();
    write_split("ptb.train.txt", 30, 1);
    write_split("ptb.valid.txt", 6, 2);
    write_split("ptb.test.txt", 6, 3);
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", g_data);
    t.level = CORPUS_WORD;
    t.level_set = 1;
    t.model.n_layers = 1;
    t.model.hidden[0] = 4;
    t.model.n_embed = 4;
    t.train.bptt = 3;
    t.train.batch = 2;
    t.train.optim = OPTIM_ADAM;
    t.threads = 1;
    Session s;
    if (session_new(&s, g_dir, &t) != TP_OK) {
        fprintf(stderr, "fuzz_manifest: session_create: %s\n", err_msg());
        abort();
    }
    session_free(&s);
    void *buf = NULL;
    size_t n = 0;
    if (fsutil_read_file(g_manifest, 1u << 20, &buf, &n) != TP_OK) abort();
    fuzz_write_seed(fuzz_corpus_dir(*argc, *argv), "seed-manifest.json", buf, n);
    files_crc(g_crc);
    free(buf);
    snprintf(g_root, sizeof g_root, "%s", root);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_manifest, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    Session s;
    TpStatus st = session_open(&s, g_dir, g_data);
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "session_open: %s\n", st == TP_OK ? "ok" : err_msg());
    if (st == TP_OK) session_free(&s);
    else if (!err_msg()[0]) abort(); /* a refusal always says why */
    uint32_t crc[2];
    files_crc(crc);
    if (memcmp(crc, g_crc, sizeof crc)) abort();
    return 0;
}
