/* tests/fuzz/fuzz_export: libFuzzer target for the export loader (`eval --model`) with the checks of
 * issue 11: checksums.json (sessions/exportsum), the model size against config.json before the model
 * is allocated, regular files only.  LLVMFuzzerInitialize trains nothing: it creates a tiny session
 * (generated word corpus, one LSTM layer of 4) and exports it to a temp directory.  Each input's first
 * byte picks the file it replaces (bits 0-2: config.json, model.safetensors, vocab.json,
 * model.compact.safetensors, checksums.json) and whether checksums.json stays (bit 3; without it the
 * loader parses the damaged file instead of refusing it by its CRC); the rest is the file's new
 * content.  export_load and export_open_compact (corpus pinned with data_override) must load it or
 * refuse it with a message; nothing crashes, leaks or allocates beyond libFuzzer's RSS limit.  The
 * files are restored after each input.  Seeds: each file of the export, with and without checksums. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_seed.h"
#include "base/fsutil.h"
#include "sessions/export.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/task.h"

static const char *const FILES[] = {"config.json", "model.safetensors", "vocab.json", "model.compact.safetensors",
                                    "checksums.json"};
enum { N_FILES = 5 };
static char g_root[64], g_data[4096], g_export[4200];
static void *g_orig[N_FILES];
static size_t g_len[N_FILES];

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

static void put(int i, const void *data, size_t n)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", g_export, FILES[i]);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

static void cleanup(void)
{
    char cmd[128];
    if (!strncmp(g_root, "/tmp/topiary-fuzz-export-", 25)) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
        if (system(cmd) != 0) fprintf(stderr, "fuzz_export: could not remove %s\n", g_root);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char root[] = "/tmp/topiary-fuzz-export-XXXXXX", dir[4200];
    if (!mkdtemp(root)) abort();
    snprintf(g_root, sizeof g_root, "%s", root);
    atexit(cleanup);
    snprintf(g_data, sizeof g_data, "/tmp/topiary-fuzz-export-data"); /* fixed: config.json names it */
    snprintf(dir, sizeof dir, "%s/session", root);
    snprintf(g_export, sizeof g_export, "%s/export", root);
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
    t.threads = 1;
    Session s;
    if (session_new(&s, dir, &t) != TP_OK || export_write(&s, g_export) != TP_OK) {
        fprintf(stderr, "fuzz_export: setup: %s\n", err_msg());
        abort();
    }
    session_free(&s);
    const char *corpus = fuzz_corpus_dir(*argc, *argv);
    for (int i = 0; i < N_FILES; i++) {
        char p[4400], name[64];
        snprintf(p, sizeof p, "%s/%s", g_export, FILES[i]);
        if (fsutil_read_file(p, 1u << 24, &g_orig[i], &g_len[i]) != TP_OK) abort();
        unsigned char *seed = malloc(g_len[i] + 1);
        for (int keep = 0; keep < 2; keep++) {
            seed[0] = (unsigned char)(i | (keep << 3));
            memcpy(seed + 1, g_orig[i], g_len[i]);
            snprintf(name, sizeof name, "seed-%s-%d", FILES[i], keep);
            fuzz_write_seed(corpus, name, seed, g_len[i] + 1);
        }
        free(seed);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int which = data[0] & 7, keep_sums = data[0] >> 3 & 1;
    if (which >= N_FILES) return 0;
    put(which, data + 1, size - 1);
    if (!keep_sums && which != 4) {
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", g_export, FILES[4]);
        unlink(p);
    }
    Model m;
    ExportInfo info;
    TpStatus st = export_load(&m, &info, g_export);
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "export_load: %s\n", st == TP_OK ? "ok" : err_msg());
    if (st == TP_OK) {
        model_free(&m);
        export_info_free(&info);
    } else if (!err_msg()[0]) {
        abort(); /* a refusal always says why */
    }
    ExportModel e;
    st = export_open_compact(&e, g_export, g_data);
    if (st == TP_OK) export_close(&e);
    else if (!err_msg()[0]) abort();
    for (int i = 0; i < N_FILES; i++) put(i, g_orig[i], g_len[i]);
    return 0;
}
